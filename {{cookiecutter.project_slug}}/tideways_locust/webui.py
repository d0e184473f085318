"""A Tideways tab in Locust's web UI: the live figures and the link to the run's traces."""

from __future__ import annotations

import json

from .links import APP_URL
from .profiles import LoadRun
from .tracelog import TraceReport

COLUMNS = [
    ("requests", "Requests sent"),
    ("traced", "Traced"),
    ("rate_reached", "Rate reached %"),
    ("rate_asked", "Rate asked %"),
    ("run_id", "Run id (X-Tideways-Ref)"),
    ("traces", "Traces in Tideways"),
    ("trace_log", "Trace log"),
    ("logins", "Logins"),
    ("endpoints_traced", "Endpoints traced"),
    ("no_callgraph", "No callgraph yet"),
    ("budget", "Trace budget"),
    ("lost_workers", "Lost workers"),
    ("load_profile", "Load profile"),
    ("asked_rate", "Asked rate"),
    ("not_sent", "Asked, not sent"),
]

# Locust's extended tables show text only, so cells that hold a link into the Tideways
# app are drawn as links (inline styles, which React leaves alone) and a click opens them.
_OPEN_LINKS = """<script>
(function () {
  function isLink(cell) {
    var text = (cell.textContent || "").trim();
    return text.indexOf(APP) === 0 && !/\\s/.test(text) ? text : null;
  }
  function mark() {
    document.querySelectorAll("td").forEach(function (cell) {
      var link = isLink(cell);
      cell.style.color = link ? "#1565c0" : "";
      cell.style.textDecoration = link ? "underline" : "";
      cell.style.cursor = link ? "pointer" : "";
      cell.title = link ? "Open in Tideways" : "";
    });
  }
  new MutationObserver(mark).observe(document.body, {childList: true, subtree: true, characterData: true});
  document.addEventListener("click", function (event) {
    var cell = event.target.closest ? event.target.closest("td") : null;
    var link = cell ? isLink(cell) : null;
    if (link) { window.open(link, "_blank", "noopener"); }
  });
})();
</script>""".replace("APP", json.dumps(APP_URL + "/"))


def extend_web_ui(environment, report: TraceReport, load: LoadRun) -> None:
    """Add the tab; its figures ride on Locust's own /stats/requests answers."""
    from flask import request as flask_request

    web_ui = environment.web_ui
    web_ui.template_args["extended_tabs"] = [{"title": "Tideways", "key": "tideways"}]
    web_ui.template_args["extended_tables"] = [
        {"key": "tideways", "structure": [{"key": key, "title": title} for key, title in COLUMNS]}
    ]

    @web_ui.app.after_request
    def _add_tideways_figures(response):
        if flask_request.path.endswith("/stats/requests") and response.is_json:
            data = response.get_json()
            figures = report.figures()
            if not figures["traced_exact"]:
                figures["traced"] = f"at least {figures['traced']}"
            data["extended_stats"] = [{"key": "tideways", "data": [{**figures, **load.live()}]}]
            response.set_data(json.dumps(data))
        elif response.mimetype == "text/html" and flask_request.path.endswith("/") and not response.direct_passthrough:
            page = response.get_data(as_text=True)
            if "</body>" in page:
                response.set_data(page.replace("</body>", _OPEN_LINKS + "</body>", 1))
        return response
