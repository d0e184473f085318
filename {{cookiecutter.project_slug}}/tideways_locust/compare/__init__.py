"""``python -m tideways_locust.compare``: did this run get slower than its baseline, client and server side?

- ``options``: the Locust options a run records for its comparison (tolerances, the commit);
- ``runs``: the two runs (run file, report JSON, trace log), whether they are comparable, saving a baseline;
- ``stats``: percentiles and their confidence intervals from Locust's histograms, the failure test;
- ``verdicts``: each endpoint and transaction before and now, and its verdict;
- ``evidence``: the slowest traces of each regression, and the per-minute series for the charts;
- ``render``: the comparison as Markdown and as one self-contained HTML page;
- ``__main__``: the command.

Only ``options`` is imported while Locust runs.
"""
