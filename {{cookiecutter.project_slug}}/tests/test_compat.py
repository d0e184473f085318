"""A Locust older than supported, or lacking what the runtime hooks, stops with one line before any request."""

from __future__ import annotations

import subprocess
import sys

import locust
import pytest

from tests.conftest import API_KEY, SCENARIO, SHORT, locust_env, run_process, scenario_done, told_to_stop
from tideways_locust import compat

# Locust started after a change: one thing the runtime hooks taken away, as a release might move it,
# or another version.
LAUNCHER = """
import sys
import locust  # first: it patches ssl with gevent before requests is imported
{remove}
from locust.main import main
sys.argv[0] = "locust"
main()
"""


@pytest.mark.locust_hooks  # run against every supported Locust (README: Locust versions)
def test_this_locust_has_everything():
    assert compat.missing() == []


@pytest.mark.locust_hooks
@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("import requests; del requests.sessions.SessionRedirectMixin.rebuild_auth", "HttpSession.rebuild_auth()"),
        (
            # wherever it is defined: HttpSession has its own since a late 2.42 release
            "import requests, locust.clients\n"
            "for kind in (locust.clients.HttpSession, requests.Session):\n"
            "    if 'prepare_request' in vars(kind): delattr(kind, 'prepare_request')",
            "HttpSession.prepare_request()",
        ),
        ("from geventhttpclient.useragent import CompatRequest; del CompatRequest.redirect", "redirect() method"),
        ("from locust import events; del events.report_to_master", "the report_to_master event"),
        (
            # a Locust whose HttpSession prepares requests itself: prepare_request() would add nothing
            "import requests; requests.Session.request = "
            "lambda self, method, url, **kw: self.send(requests.Request(method, url).prepare())",
            "HttpSession sending the request its prepare_request() returns",
        ),
    ],
)
def test_a_missing_hook_stops_the_run_before_any_request(start_target, tmp_path, remove, named):
    target = start_target()
    result = run_launched_locust(tmp_path, remove, target)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-3000:]
    assert f"Tideways: Locust {locust.__version__} lacks what tideways_locust hooks: " in lines[0]
    assert named in lines[0] and f"tested with Locust {compat.TESTED}" in lines[0]
    assert f"supports Locust {compat.RANGE}" in lines[0]
    assert target.records() == [], "not one request was sent"


def test_a_locust_older_than_supported_stops_the_run_before_any_request(start_target, tmp_path):
    target = start_target()
    major, minor = compat.minor_line(compat.SUPPORTED[0])
    older = f"{major}.{minor - 1}.3"
    result = run_launched_locust(tmp_path, f"locust.__version__ = {older!r}", target)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"Tideways: Locust {older} is older than tideways_locust supports ({compat.RANGE}): "
        f"pin locust=={compat.TESTED} in requirements.txt (README: Locust versions)"
    ]
    assert target.records() == [], "not one request was sent"


@pytest.mark.parametrize("version", ["3.0.0", "2.99.0.dev4", "unknown"])
def test_a_locust_newer_than_tested_runs_with_one_warning(start_target, tmp_path, version):
    target, other = start_target(), start_target()
    result = run_launched_locust(tmp_path, f"locust.__version__ = {version!r}", target, other)
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if "is not one tideways_locust is tested with" in line]
    assert len(warnings) == 1 and f"Locust {version} is not one" in warnings[0], result.stderr[-3000:]
    assert f"({compat.RANGE})" in warnings[0] and "python -m pytest -m locust_hooks" in warnings[0]
    records = target.records()
    assert records and all(r["verdict"] == "accepted" for r in records), "it traces as usual"
    assert other.records() and all(r["verdict"] is None for r in other.records()), "no header off the origin"


@pytest.mark.parametrize(
    ("version", "line"), [("2.47.1.dev5", (2, 47)), ("10.0", (10, 0)), ("0.0.0", (0, 0)), ("unknown", None)]
)
def test_minor_lines(version, line):
    assert compat.minor_line(version) == line


def test_a_python_older_than_supported_is_named_with_the_oldest_supported():
    assert compat.python_problem((3, 10, 13)) == (
        "Tideways: Python 3.10 is older than tideways_locust supports (3.11 or newer): "
        "install the project on a newer Python (README: Locust versions)"
    )
    assert compat.python_problem((3, 11, 0)) is None and compat.python_problem((4, 0)) is None


def test_the_range_is_oldest_to_newest_and_the_pin_is_in_it():
    oldest, newest = (compat.minor_line(v) for v in compat.SUPPORTED)
    assert oldest <= newest and compat.minor_line(compat.TESTED) == newest


def run_launched_locust(tmp_path, change: str, target, other=None) -> subprocess.CompletedProcess:
    """A headless run, every request traced, of Locust started after ``change``: a hook taken away, another version.

    ``other`` is the origin that must get no header (the scenario sends to it too); with it,
    the run goes on until the scenario went through three times, else at most five seconds.
    """
    launcher = tmp_path / "changed_locust.py"
    launcher.write_text(LAUNCHER.format(remove=change))
    args = ["-f", str(SCENARIO), "--headless", "--host", target.url, *SHORT, "--only-summary",
            "--tideways-trace-rate", "100", "HttpScenario"]  # fmt: skip
    until = scenario_done(other, times=3) if other else None
    return run_process(
        [sys.executable, str(launcher), *(told_to_stop(args) if until else [*args, "-t", "5s"])],
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, **({"OTHER_ORIGIN": other.url} if other else {})),
        until=until,
    )
