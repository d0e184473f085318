"""The report after a run: Locust's figures beside Tideways' for the same window.

- ``api``: the calls to Tideways' REST API, and one line for each way they fail;
- ``collect``: the report dict, from the run file and the API;
- ``stages``: a load profile's stages beside Tideways' minutes, and the capacity;
- ``render``: the report as Markdown and as one self-contained HTML page;
- ``stages_render``: the page's and the Markdown's "Load profile" section;
- ``coverage`` and ``coverage_render``: each endpoint's traced requests and its slowest one, the
  coverage and budget settings and the lost workers, and the reports' "Coverage" section and warning;
- ``text`` and ``chart``: figures, safe Markdown and links, and inline SVG charts, for both reports;
- ``__main__``: the command, ``python -m tideways_locust.report``.
"""
