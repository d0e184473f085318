"""A Locust that lacks something the runtime hooks stops with one line, before any request."""

from __future__ import annotations

import subprocess
import sys

import locust
import pytest

from tests.conftest import API_KEY, ROOT, RUN_TIMEOUT, SCENARIO, SHORT, locust_env
from tideways_locust import compat

# Locust started after one thing the runtime hooks was taken away, as a release might move it.
LAUNCHER = """
import sys
import locust  # first: it patches ssl with gevent before requests is imported
{remove}
from locust.main import main
sys.argv[0] = "locust"
main()
"""


def test_this_locust_has_everything():
    assert compat.missing() == []


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("import requests; del requests.sessions.SessionRedirectMixin.rebuild_auth", "HttpSession.rebuild_auth()"),
        (
            "import requests, locust.clients; del locust.clients.HttpSession.prepare_request, "
            "requests.Session.prepare_request",
            "HttpSession.prepare_request()",
        ),
        ("from geventhttpclient.useragent import CompatRequest; del CompatRequest.redirect", "redirect() method"),
        ("from locust import events; del events.report_to_master", "the report_to_master event"),
    ],
)
def test_a_missing_hook_stops_the_run_before_any_request(start_target, tmp_path, remove, named):
    target = start_target()
    launcher = tmp_path / "locust_without_a_hook.py"
    launcher.write_text(LAUNCHER.format(remove=remove))
    result = subprocess.run(
        [
            sys.executable,
            str(launcher),
            "-f",
            str(SCENARIO),
            "--headless",
            "--host",
            target.url,
            *SHORT,
            "HttpScenario",
        ],
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-3000:]
    assert f"Tideways: Locust {locust.__version__} lacks what tideways_locust hooks: " in lines[0]
    assert named in lines[0] and f"tested with Locust {compat.TESTED}" in lines[0]
    assert target.records() == [], "not one request was sent"
