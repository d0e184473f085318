"""Real Locust runs against a local target that checks every profiling header.

``start_target`` starts ``tests/target.py`` on 127.0.0.1, ``start_tideways_api``
the stand-in of Tideways' REST API (``tests/tideways_api.py``); ``run_locust`` runs
``locust`` in a subprocess with a clean environment: no ``LOCUST_*`` variable
of yours leaks in, and each run is bounded in time.

No test waits for a run time to land somewhere: a run that must contain something
(requests, a login, a request still out) is given ``until=``, a condition on what the
target received, and is stopped when the condition holds, the way its run time would
stop it (``tests/locustfiles/stop_when_told.py``). Runs of the test users start in a
folder without the project's ``locust.conf``: its settings (a login, limits) are the team's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import pytest

from tests.target import read_log, summarize

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILES = ROOT / "tests" / "locustfiles"
SCENARIO = LOCUSTFILES / "scenario.py"
STOP_WHEN_TOLD = LOCUSTFILES / "stop_when_told.py"
STOP_SIGNAL = signal.SIGUSR1  # the one stop_when_told.py listens for
# Where runs of the test users start: no locust.conf or pyproject.toml there.
RUN_DIR = LOCUSTFILES
API_KEY = "test-key-\u00e4\u00f6-not-a-real-one"
RUN_TIMEOUT = 90
# How long a run given until= may take to show what it waits for; its own --run-time bounds it too.
UNTIL_TIMEOUT = 60
SCENARIOS = ["HttpScenario", "FastHttpScenario"]
# Users for a run stopped by a condition (until=); they finish the task they are in when
# the run stops, so no request is cut off unreported.
SHORT = ["-u", "3", "-r", "3", "--stop-timeout", "10"]
WORKERS = 2
# Made-up accounts of the target's logins (tests/target.py --accounts); a test brings its own,
# never the team's accounts.csv or .env.
ACCOUNTS = {"alice": "pw-alice-7f3a", "bob": "pw-bob-91c2", "carol": "pw-carol-0d4e", "dave": "pw-dave-55e1"}
ACCOUNTS_CSV = "username,password\n" + "".join(f"{name},{password}\n" for name, password in ACCOUNTS.items())
BEARER = "static-bearer-3b9"
LOGIN_TARGET = ("--accounts", ",".join(f"{n}:{p}" for n, p in ACCOUNTS.items()), "--bearer", BEARER)
LOGIN_ENV = {"LOGIN_ACCOUNTS": ACCOUNTS_CSV, "LOGIN_TOKEN": BEARER}
SECRETS = [*ACCOUNTS.values(), BEARER]


@dataclass
class Target:
    url: str
    log: Path
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        return read_log(self.log)

    def summary(self) -> dict[str, int]:
        return summarize(self.records())

    def stop(self) -> None:
        self.output.extend(stop_server(self.process).splitlines())


def stop_server(process: subprocess.Popen) -> str:
    """Stop a helper server or Locust with SIGTERM (a server prints its summary line then), killed after 20 s;
    its output, when it is a pipe."""
    if process.poll() is not None:
        return ""
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        process.kill()
        raise RuntimeError("the target did not start in time")
    return process.stdout.readline()


@pytest.fixture
def start_target(tmp_path):
    """``start_target(key, *options)`` starts a checking target (``--accounts`` ...) and returns a :class:`Target`."""
    started: list[Target] = []

    def start(key: str = API_KEY, *options: str) -> Target:
        log = tmp_path / f"target-{len(started)}.jsonl"
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "target.py"), "--key", key, "--log", str(log), *options],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = _read_line(process, timeout=30)
        assert line.startswith("listening on "), line
        target = Target(url=line.split()[-1], log=log, process=process)
        started.append(target)
        return target

    yield start
    for target in started:
        target.stop()


@dataclass
class StandIn:
    """The Tideways API stand-in (``tests/tideways_api.py``) and the calls it recorded."""

    url: str  # the API's base, http://127.0.0.1:PORT/apps/api
    token: str
    calls_log: Path
    process: subprocess.Popen
    output: str = ""

    def endpoint(self, name: str, project: str = "acme/shop", **query) -> str:
        organization, _, project_name = project.partition("/")
        url = f"{self.url}/{quote(organization, safe='')}/{quote(project_name, safe='')}/{name}"
        return url + ("?" + urlencode(query) if query else "")

    @property
    def events_url(self) -> str:
        """Its events endpoint, as Tideways' is ``https://app.tideways.io/api/events``."""
        return self.url.removesuffix("/apps/api") + "/api/events"

    def calls(self) -> list[dict]:
        return read_log(self.calls_log) if self.calls_log.exists() else []

    def stop(self) -> str:
        self.output += stop_server(self.process)
        return self.output


@pytest.fixture
def start_tideways_api(tmp_path):
    """``start_tideways_api(project, *args, target_log=None, script=None, token=None, api_key=None)`` starts
    the API stand-in on 127.0.0.1; the token (made up unless given) reaches it through the environment,
    and so does ``api_key``, the project's key its events endpoint then asks for (else any key)."""
    started: list[StandIn] = []

    def start(
        project: str = "acme/shop",
        *args: str,
        target_log: Path | None = None,
        script: dict | None = None,
        token: str | None = None,
        api_key: str | None = None,
    ) -> StandIn:
        token = token or f"api-token-{os.urandom(8).hex()}"
        calls = tmp_path / f"api-calls-{len(started)}.jsonl"
        command = [sys.executable, str(ROOT / "tests" / "tideways_api.py"), "--project", project, "--calls", str(calls)]
        if target_log is not None:
            command += ["--target-log", str(target_log)]
        if script is not None:
            script_file = tmp_path / f"api-script-{len(started)}.json"
            script_file.write_text(json.dumps(script))
            command += ["--script", str(script_file)]
        env = {**os.environ, "TIDEWAYS_API_TOKEN": token}  # never on a command line
        env.pop("TIDEWAYS_APIKEY", None)
        if api_key is not None:
            env["TIDEWAYS_APIKEY"] = api_key
        process = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, text=True, env=env)
        line = _read_line(process, timeout=30)
        assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+/apps/api\n", line), line
        stand_in = StandIn(url=line.split()[-1], token=token, calls_log=calls, process=process)
        started.append(stand_in)
        return stand_in

    yield start
    for stand_in in started:
        stand_in.stop()


def locust_env(**variables: str) -> dict[str, str]:
    """The environment without LOCUST_*, TIDEWAYS_* or LOGIN_* variables, plus ``variables``:
    a test brings its own key and accounts, never the team's.

    No run file unless a test asks for one (``locust.conf`` names one in ``reports/``), and no
    Tideways event (nothing but 127.0.0.1 is reachable here): a test of events asks for one and
    points ``LOCUST_TIDEWAYS_EVENTS_URL`` at a stand-in.
    """
    prefixes = ("LOCUST_", "TIDEWAYS_", "LOGIN_")
    env = {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    env["PYTHONPATH"] = str(ROOT)
    env["LOCUST_TIDEWAYS_RUN_FILE"] = ""
    env["LOCUST_TIDEWAYS_EVENT"] = "none"
    env.update(variables)
    return env


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", *args]


def told_to_stop(args: tuple[str, ...] | list[str]) -> list[str]:
    """``args`` with ``stop_when_told.py`` beside the locustfile (``locustfile.py`` when none is
    given) and a run time that bounds the run should the test never tell it to stop."""
    args = list(args)
    if "-f" in args:
        at = args.index("-f") + 1
        args[at] = f"{args[at]},{STOP_WHEN_TOLD}"
    else:
        args = ["-f", f"locustfile.py,{STOP_WHEN_TOLD}", *args]
    return [*args, "-t", f"{RUN_TIMEOUT}s"]


def stop_when(process: subprocess.Popen, until, err) -> None:
    """Poll ``until()`` while ``process`` runs; when it holds, stop the run as its run time would.

    Raises, with the end of the process's output ``err`` (a file), when the run ends first or
    the condition does not hold within ``UNTIL_TIMEOUT``."""
    deadline = time.monotonic() + UNTIL_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if until():
            process.send_signal(STOP_SIGNAL)
            return
        time.sleep(0.05)
    ended = process.poll() is not None
    if not ended:
        process.kill()
    process.wait(timeout=20)
    when = "before" if ended else f"within {UNTIL_TIMEOUT} s,"
    raise AssertionError(f"locust ended {when} the run showed {until.__doc__ or until}\n{_output(err)[-3000:]}")


def _output(file) -> str:
    file.seek(0)
    return file.read().decode("utf-8", "replace")


def run_process(command: list[str], env: dict[str, str], cwd: Path = RUN_DIR, until=None):
    """Run ``command`` (a Locust) to its end, bounded by ``RUN_TIMEOUT`` seconds.

    With ``until`` (a condition, its docstring says what it waits for), the run is stopped
    once ``until()`` holds, the way its run time would stop it."""
    if until is None:
        return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    # Files, not pipes: the output is read once the run is over, however much there is.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
        try:
            stop_when(process, until, err)
            process.wait(timeout=RUN_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=20)
        return subprocess.CompletedProcess(command, process.returncode, _output(out), _output(err))


def run_locust(
    *args: str, env: dict[str, str] | None = None, cwd: Path = RUN_DIR, until=None
) -> subprocess.CompletedProcess:
    """``locust --headless ARGS``, bounded by ``RUN_TIMEOUT`` seconds; ``until`` as for
    :func:`run_process` (ARGS give no run time then)."""
    command = locust_command("--headless", "--only-summary", *(told_to_stop(args) if until else args))
    return run_process(command, env if env is not None else locust_env(), cwd, until)


def run_scenario(user_class: str, target: Target, other: Target, *args: str, key: str = API_KEY, until=None, **env):
    """A short run of ``tests/locustfiles/scenario.py``; ``other`` is the origin that must get no header.

    It stops once the scenario went through three times, or when ``until()`` holds."""
    return run_locust(
        "-f",
        str(SCENARIO),
        "--host",
        target.url,
        *SHORT,
        *args,
        user_class,
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=key, OTHER_ORIGIN=other.url, **env),
        until=until or scenario_done(other, times=3),
    )


def scenario_done(other: Target, times: int):
    """A condition: the scenario's last request, to the other origin, arrived ``times`` times."""
    return arrived(other, times, lambda record: record["path"] == "/elsewhere-explicit", "scenario ends")


def all_of(*conditions):
    """A condition: every one of ``conditions``."""

    def every() -> bool:
        return all(condition() for condition in conditions)

    every.__doc__ = " and ".join(condition.__doc__ or str(condition) for condition in conditions)
    return every


def arrived(target: Target, count: int, matching=lambda record: True, what: str = "requests"):
    """A condition: ``target`` received at least ``count`` requests ``matching`` (``what`` they are)."""

    def enough() -> bool:
        return sum(1 for record in target.records() if matching(record)) >= count

    enough.__doc__ = f"{count} {what} at {target.url}"
    return enough


def run_master_and_workers(
    locustfile: Path,
    master_args: list[str],
    master_env: dict,
    worker_args: list[str],
    worker_env: dict,
    until=None,
    started: dict | None = None,
) -> subprocess.CompletedProcess:
    """A headless master on 127.0.0.1 with ``WORKERS`` workers; every process is bounded in time.

    With ``until``, the master is stopped once ``until()`` holds, as its run time would stop it;
    ``started`` gets the workers' processes (a test may kill one) under ``workers``, and the
    master's output so far under ``output`` (a function)."""
    port = free_port()
    master_args = ["-f", str(locustfile), *master_args]
    if until is not None:
        master_args = told_to_stop(master_args)
    with tempfile.TemporaryFile() as err:
        master = subprocess.Popen(
            locust_command(
                *master_args,
                "--headless",
                "--only-summary",
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(port),
                "--expect-workers",
                str(WORKERS),
                "--expect-workers-max-wait",
                "30",
            ),
            env=master_env,
            cwd=RUN_DIR,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        workers = [
            subprocess.Popen(
                locust_command(
                    "-f", str(locustfile), "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)
                )
                + worker_args,
                env=worker_env,
                cwd=RUN_DIR,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(WORKERS)
        ]
        if started is not None:
            started.update(workers=workers, output=lambda: _output(err))
        try:
            if until is not None:
                stop_when(master, until, err)
            master.wait(timeout=RUN_TIMEOUT)
        finally:
            for process in [master, *workers]:
                if process.poll() is None:
                    process.kill()
                process.wait(timeout=20)
        return subprocess.CompletedProcess(master.args, master.returncode, "", _output(err))


def project_setting(name: str, project: Path = ROOT) -> str:
    """The value of ``name`` in the project's ``locust.conf`` ("" when it is not set there)."""
    for line in (project / "locust.conf").read_text(encoding="utf-8").splitlines():
        key, equals, value = line.partition("=")
        if equals and key.strip() == name:
            return value.strip()
    return ""


def in_process_user(base, url: str, rate: float):
    """A user of ``base`` in this process, its report, and nothing of Locust's runner."""
    from locust import events
    from locust.env import Environment

    from tideways_locust.tracelog import TraceReport

    options = SimpleNamespace(tideways_apikey=API_KEY, tideways_trace_rate=rate)
    environment = Environment(events=events, parsed_options=options, host=url)
    environment.tideways_report = TraceReport(environment)
    user_class = type("InProcessUser", (base,), {"host": url, "abstract": False})
    return user_class(environment), environment.tideways_report


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str) -> str:
    """The body at ``url`` on 127.0.0.1, or "" while nothing answers there yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def wait_until(condition, timeout: float, interval: float = 0.2):
    """Poll ``condition`` until it returns something true; at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")


@contextlib.contextmanager
def web_ui(locustfile: Path, *args: str, env: dict[str, str], host: str = "http://127.0.0.1:9"):
    """Locust with its web UI on 127.0.0.1 (``args``: ``--autostart``, users ...), stopped at the end;
    yields ``fetch(path)``, the body at that path of the web UI ("" while nothing answers yet)."""
    port = free_port()
    command = ["-f", str(locustfile), "--host", host, "--web-host", "127.0.0.1", "--web-port", str(port), *args]
    process = subprocess.Popen(
        locust_command(*command), env=env, cwd=RUN_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield lambda path: http_get(f"http://127.0.0.1:{port}{path}")
    finally:
        stop_server(process)


def web_ui_page(locustfile: Path, *args: str, env: dict[str, str]) -> str:
    """The HTML of the web UI's page, as a browser first gets it, of Locust started with ``args``."""
    with web_ui(locustfile, *args, env=env) as fetch:
        return wait_until(lambda: fetch("/"), timeout=30)
