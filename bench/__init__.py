"""``make bench``: tracing's cost next to plain Locust (see ``bench/run.py``)."""
