"""The report after a run: Locust's figures beside Tideways' for the same window.

- ``api``: the calls to Tideways' REST API, and one line for each way they fail;
- ``collect``: the report dict, from the run file and the API;
- ``render``: the report as Markdown and as one self-contained HTML page;
- ``__main__``: the command, ``python -m tideways_locust.report``.
"""
