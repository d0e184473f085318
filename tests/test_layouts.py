"""Locust started from exactly the files and environment that Kubernetes and Docker Compose give it.

Neither runs here, so each test lays out what the platform would. Kubernetes: the README's
ConfigMaps and Secrets (made by its kubectl commands, ``run_readme_kubectl``) where the
deliveryhero chart 0.33 mounts them, and each pod's arguments and environment as the chart's
templates make them from ``kubernetes/values.yaml``. Compose: the image's copy of the project
(``.dockerignore`` applied) in a folder that stands for /home/locust, each service's
``environment`` from ``docker-compose.yml`` with ``${VAR}`` taken from a test .env and the
shell, its secrets as files under /run/secrets, and the master's bind mount of reports/. Then a
master and a worker start there, headless, against the baked project's checking target, and the
tests read back what locust.conf says (users, spawn rate and run time, the login and its page,
the trace rate, the Tideways project and environment, the run file where the report looks), and
which secrets each process had.

What differs from a cluster or an engine: the processes reach the master on 127.0.0.1 and a
free port, not by its Service or service name on port 5557; the host under test is the target.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port
from tests.locust_runs import STOP_WHEN_TOLD
from tests.test_deployment import (
    ACCOUNT_LOGINS,
    ACCOUNTS,
    API_TOKEN,
    DOCUMENTS,
    OUTER_VARIABLES,
    SECRET_VALUES,
    compose_variables,
    logged_in_as,
    login_target,
    pod_layout,
    run_readme_kubectl,
    target_records,
)

# locust.conf's run settings, each unlike its default, read back from the master's log.
RUN_ANSWERS = {"users": "2", "spawn_rate": "4", "run_time": "7m", "trace_rate": "100", "wait_time": "0.2-0.5"}
RAMPING = "Sending spawn jobs of 2 users at 4.00 spawn rate"  # the master, to its workers
RUN_TIME = "Run time limit set to 420 seconds"
PROJECT = {"tideways_project": "acme/shop", "tideways_environment": "staging"}
OPENAPI = {"api_description": str(DOCUMENTS / "catalog-3.1.json")}
LOGIN_PAGES = {"form": ("POST", "/login"), "token": ("POST", "/api/login")}
# Where the target's form login redirects (tests/target.py): a hop that Locust follows, not a request it sends.
LOGIN_LANDINGS = {"/private/account", "/login?style=query&page=account"}
WITHIN = 60.0
CHART_WORKDIR = "/home/locust"  # WORKDIR of Locust's official image; neither file changes it


def sessions(log: Path) -> set[str]:
    """The logged-in sessions that sent a request: a session cookie or a token each, one user's."""
    found = set()
    for record in target_records(log):
        if record["account"]:
            headers = record["headers"]
            cookie = SimpleCookie(headers.get("cookie", "")).get("SID")
            found.add(cookie.value if cookie else headers.get("authorization", ""))
    return found


@dataclass
class Process:
    """One Locust process as the platform starts it: its arguments, working directory, environment."""

    args: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass
class Ran:
    master: int
    worker: int
    master_output: str
    worker_output: str


@contextmanager
def master_and_worker(locust: Path, master: Process, worker: Process, logs: Path):
    """Both started, each with the environment the platform gives it on top of this machine's
    without the outer run's variables (``OUTER_VARIABLES``); killed if still running at the end."""
    outer = {k: v for k, v in os.environ.items() if not k.startswith(OUTER_VARIABLES)}
    logs.mkdir(exist_ok=True)
    started = {}
    try:
        for name, process in (("master", master), ("worker", worker)):
            with (logs / f"{name}.log").open("w") as output:
                started[name] = subprocess.Popen([str(locust), *process.args], cwd=process.cwd,
                                                 env=outer | process.env, stdout=output, stderr=output)  # fmt: skip
        yield started["master"], started["worker"]
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=20)


def run_master_and_worker(locust: Path, master: Process, worker: Process, done, stop: int, logs: Path) -> Ran:
    """Start both; once ``done()`` holds, send the master ``stop`` and await both. The worker ends
    when its master quits."""
    with master_and_worker(locust, master, worker, logs) as started:
        deadline, seen = time.monotonic() + WITHIN, False
        while not seen and all(p.poll() is None for p in started) and time.monotonic() < deadline:
            seen = done()
            time.sleep(0.05)
        alive = all(p.poll() is None for p in started)
        if alive:
            started[0].send_signal(stop)
        codes = [started[0].wait(timeout=60), started[1].wait(timeout=30)]
    ran = Ran(*codes, (logs / "master.log").read_text(), (logs / "worker.log").read_text())
    outputs = f"{ran.master_output[-3000:]}\n{ran.worker_output[-3000:]}"
    assert alive and seen, f"not within {WITHIN:g} s: {done.__doc__}\n{outputs}"
    return ran


def waiting_for(log: Path, accounts: set[str], users: int):
    """A condition: every account logged in, and ``users`` sessions sent a request after their login.
    All users share the one bearer token: then four requests sent with it; without a login, four."""
    if accounts <= {"bearer"}:

        def done() -> bool:
            return len([record for record in target_records(log) if record["account"] or not accounts]) >= 4

        done.__doc__ = f"four requests{' with the bearer token' if accounts else ''}"
        return done

    def done() -> bool:
        return logged_in_as(log) >= accounts and len(sessions(log)) >= users

    done.__doc__ = f"{users} users logged in as {sorted(accounts)}, each with a request after it"
    return done


def assert_run_reads_locust_conf(ran: Ran, log: Path, login: str, accounts: set[str], run_file: Path, answers):
    """What locust.conf says, read back from the master's log, the target's and the run file."""
    assert RAMPING in ran.master_output and RUN_TIME in ran.master_output, ran.master_output[-3000:]
    assert logged_in_as(log) == accounts, "the users logged in as each account"
    method, page = LOGIN_PAGES.get(login, (None, None))
    received = target_records(log)
    if page:
        assert [r for r in received if (r["method"], r["path"]) == (method, page)], f"app-login-page {page}"
    # tideways-trace-rate = 100, and the key: every request Locust sends carries a valid profiling header;
    # the hop of a redirect it follows (a form login's landing) carries none, so it is not traced twice.
    hops = [r for r in received if r["profiler"] is None]
    sent = [r for r in received if r["profiler"] is not None]
    assert sent and all(r["verdict"] == "accepted" for r in sent), {r["verdict"] for r in sent}
    assert all(r["method"] == "GET" and r["path"] in LOGIN_LANDINGS for r in hops), hops[:3]
    assert len(hops) <= sum((r["method"], r["path"]) == LOGIN_PAGES.get(login) for r in received)
    run = json.loads(run_file.read_text())
    assert run["users"] == 2 and run["trace_rate"]["asked"] == 100
    if login == "none":
        assert run["logins"] is None
    else:
        assert run["logins"]["kind"] == login, run["logins"]
        # Each session the target saw is a user that logged in; the one bearer token shows one at least.
        logged_in = run["logins"]["users_logged_in"]
        assert 1 <= logged_in <= 2 if login == "bearer" else logged_in == 2, run["logins"]
    tideways = run["tideways"]
    if answers.get("tideways_project"):
        link = f"https://app.tideways.io/o/acme/shop/traces?cid={run['run_id']}"
        assert (tideways["project"], tideways["environment"], tideways["traces_link"]) == ("acme/shop", "staging", link)
        assert f"traces: {link}" in ran.master_output, "the summary links to the run's traces"
    else:
        assert (tideways["project"], tideways["environment"], tideways["traces_link"]) == (None, "production", None)
    for output in (ran.master_output, ran.worker_output):
        assert not [secret for secret in (*SECRET_VALUES.values(), API_TOKEN) if secret in output], "a secret shown"
    return run


def report_finds_the_run(project, python: Path, run: dict, command: list[str] | None = None, env=None) -> None:
    """``python -m tideways_locust.report`` (or the README's block) on the host, in the project,
    without a token: it reads reports/tideways-run.json and writes the report of that run."""
    outer = {k: v for k, v in os.environ.items() if not k.startswith(OUTER_VARIABLES)}
    # An empty token wins over .env's: no API call; and none could leave this machine.
    host = outer | {"TIDEWAYS_API_TOKEN": "", "TIDEWAYS_API_URL": "http://127.0.0.1:9"} | (env or {})
    command = command or [str(python), "-m", "tideways_locust.report"]
    ran = subprocess.run(command, cwd=project.path, env=host, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert run["run_id"] in (project.path / "reports" / "tideways-report.md").read_text()


# -- Kubernetes -------------------------------------------------------------------------------


def in_pod(value: str, filesystem: Path) -> str:
    """A pod path (alone, or an option's value after =) under the folder that stands for the pod's /."""
    if value.startswith("/"):
        return f"{filesystem}{value}"
    return re.sub(r"^(--[\w-]+=)/", rf"\g<1>{filesystem}/", value)


def chart_pod(values: dict, role: str, configmaps: Path, secrets: Path, filesystem: Path, port: int) -> Process:
    """The master's or a worker's container as the chart's templates make it: the ConfigMaps and
    Secrets mounted (``pod_layout``), the master's extraVolumes (emptyDir) at their mounts, the
    image's working directory; ``--master`` or ``--worker`` with ``master.args``/``worker.args``
    (and ``--headless`` from ``loadtest.headless``), as the chart's entrypoint execs ``locust``;
    the environment of ``envs_include_default``, then ``ROLE.environment``, ``loadtest.environment``
    and the Secrets' variables."""
    loadtest, pod = values["loadtest"], values.get(role, {})
    environment = pod_layout(loadtest, configmaps, secrets, filesystem)
    mounts = {mount["name"]: mount["mountPath"] for mount in pod.get("extraVolumeMounts", [])}
    for volume in pod.get("extraVolumes", []):
        assert set(volume) == {"name", "emptyDir"}, f"a volume this test does not lay out: {volume}"
        (filesystem / mounts[volume["name"]].lstrip("/")).mkdir(parents=True)
    workdir = filesystem / CHART_WORKDIR.lstrip("/")
    workdir.mkdir(parents=True, exist_ok=True)
    defaults = {
        "LOCUST_HOST": loadtest["locust_host"],
        "LOCUST_LOGLEVEL": "INFO",
        "LOCUST_LOCUSTFILE": f"{filesystem}{loadtest['locust_locustfile_path']}/{loadtest['locust_locustfile']}",
    }
    if role == "worker":  # in a cluster: the master's Service, on port 5557
        defaults |= {"LOCUST_MASTER_NODE_HOST": "127.0.0.1", "LOCUST_MASTER_NODE_PORT": str(port)}
    own = pod.get("environment", {})
    assert not set(own) & set(environment), "a variable set twice"
    assert not [value for value in own.values() if str(value).startswith("/")], "a pod path: re-root it"
    args = [f"--{role}", *(in_pod(arg, filesystem) for arg in pod.get("args", []))]
    if role == "master":
        args += ["--headless"] if loadtest["headless"] else []
        args += ["--master-bind-host=127.0.0.1", f"--master-bind-port={port}"]
    return Process(args, workdir, defaults | {k: str(v) for k, v in own.items()} | environment)


KUBECTL_REPORTS_STUB = '''\
"""kubectl for the README's steps that fetch the reports: `get pod -l ...` names the master's pod,
`cp POD:PATH FILE` copies from the folder that stands for its /; anything else fails."""
import os
import shutil
import sys

args = sys.argv[1:]
if args[:2] == ["get", "pod"]:
    labels = dict(pair.split("=") for pair in args[args.index("-l") + 1].split(","))
    assert labels == {"component": "master", "app.kubernetes.io/instance": os.environ["RELEASE"]}, labels
    assert args[args.index("-o") + 1] == "jsonpath={.items[0].metadata.name}"
    print(os.environ["RELEASE"] + "-master-7d4b9c-x2x7q", end="")
elif args[0] == "cp" and len(args) == 3:
    pod, _, path = args[1].partition(":")
    assert pod == os.environ["RELEASE"] + "-master-7d4b9c-x2x7q", pod
    shutil.copyfile(os.environ["MASTER_POD"] + path, args[2])
else:
    sys.exit(f"kubectl stub: {args} is not understood")
'''


def readme_block(readme: str, section: str, needle: str) -> str:
    """The shell block of a README section that holds ``needle``."""
    text = readme.split(f"\n### {section}\n", 1)[1].split("\n### ", 1)[0]
    [block] = [block for block in re.findall(r"^```sh\n(.*?)^```$", text, re.M | re.S) if needle in block]
    return block


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({"login": "form", **PROJECT}, id="form-login-tideways-project"),
        pytest.param({"login": "token", **OPENAPI}, id="openapi-token-login"),
        pytest.param({"login": "bearer"}, id="bearer-token"),
        pytest.param({"login": "none", **PROJECT}, id="no-login"),
    ],
)
def test_the_pods_run_with_every_setting_of_locust_conf(bake, baked_python, tmp_path, answers):
    """A headless master and a worker, each in its pod's layout: locust.conf from the ConfigMap
    sets the users, spawn rate and run time, the login (each user logs in as its own account of
    the Secret, on locust.conf's login page), the trace rate, the project's links and the run
    file, which lands in the master's reports/ volume; the README's kubectl cp takes it to the
    host, where the report finds it. The workers write nothing."""
    project = bake(deployment="kubernetes", **RUN_ANSWERS, **answers)
    login = answers["login"]
    configmaps, secrets, _outer, _accounts = run_readme_kubectl(project, login, baked_python, tmp_path)
    values = yaml.safe_load(project.read("kubernetes/values.yaml"))
    values["loadtest"]["headless"] = True  # helm install ... --set loadtest.headless=true
    log, port = tmp_path / "target.jsonl", free_port()
    stop = project.path / STOP_WHEN_TOLD  # SIGUSR1 ends the run as its run time would
    master_pod, worker_pod = tmp_path / "master-pod", tmp_path / "worker-pod"
    accounts = {name for name, _ in ACCOUNTS} if login in ACCOUNT_LOGINS else {"bearer"} if login == "bearer" else set()
    with login_target(baked_python, log) as url:
        values["loadtest"]["locust_host"] = url  # the host under test: --set loadtest.locust_host=URL
        master = chart_pod(values, "master", configmaps, secrets, master_pod, port)
        worker = chart_pod(values, "worker", configmaps, secrets, worker_pod, port)
        master.args += ["-f", f"{master.env['LOCUST_LOCUSTFILE']},{stop}"]
        ran = run_master_and_worker(baked_python.parent / "locust", master, worker,
                                    waiting_for(log, accounts, 2), signal.SIGUSR1, tmp_path / "logs")  # fmt: skip
    assert (ran.master, ran.worker) == (0, 0), ran.master_output[-3000:] + ran.worker_output[-3000:]
    reports = master_pod / CHART_WORKDIR.lstrip("/") / "reports"
    run = assert_run_reads_locust_conf(ran, log, login, accounts, reports / "tideways-run.json", answers)
    assert (reports / "report.html").is_file(), "master.environment's LOCUST_HTML"
    assert not (worker_pod / CHART_WORKDIR.lstrip("/") / "reports").exists(), "a worker writes no reports"
    settings = set(values["loadtest"]["environment"]) | set(values["master"].get("environment", {}))
    assert settings <= {"PYTHONPATH", "LOGIN_ACCOUNTS_FILE", "LOCUST_HTML"}, "nothing of locust.conf twice"

    # The README's steps that fetch the reports, with a kubectl that copies from the master's pod.
    block = readme_block(project.read("README.md"), "Kubernetes", "kubectl cp ")
    stubs = tmp_path / "reports-bin"
    stubs.mkdir()
    (stubs / "kubectl").write_text(f"#!{sys.executable}\n{KUBECTL_REPORTS_STUB}")
    (stubs / "kubectl").chmod(0o755)
    path = os.pathsep.join([str(stubs), str(baked_python.parent), os.environ["PATH"]])
    env = {"PATH": path, "RELEASE": values["loadtest"]["name"], "MASTER_POD": str(master_pod)}
    report_finds_the_run(project, baked_python, run, ["bash", "-euo", "pipefail", "-c", block], env)
    assert (project.path / "reports" / "report.html").read_bytes() == (reports / "report.html").read_bytes()


# -- Docker Compose ---------------------------------------------------------------------------


def dockerignore_patterns(text: str) -> list[re.Pattern]:
    """``.dockerignore``'s patterns as Docker reads them (moby's patternmatcher): a path relative
    to the context, ``*`` and ``?`` within one name, ``**`` across folders; this test knows no
    ``!`` exceptions and no character classes, and the file uses none."""
    patterns = []
    for line in text.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        assert not re.search(r"[!\[\]\\]", pattern), f"{pattern}: more than this test reads"
        pattern = os.path.normpath(pattern).lstrip("/")
        regex = ""
        for part in re.split(r"(\*\*/|/\*\*$|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "/**": "(?:/.*)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        patterns.append(re.compile(regex + r"\Z"))
    return patterns


def ignored(relative: str, patterns: list[re.Pattern]) -> bool:
    """A path is left out when a pattern matches it or a folder it is in."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(pattern.match(prefix) for pattern in patterns for prefix in prefixes)


def test_the_dockerignore_reading_matches_dockers():
    patterns = dockerignore_patterns("# a comment\ntests\n**/__pycache__\n/reports\n*.pyc\n.env\n")
    assert ignored("tests", patterns) and ignored("tests/target.py", patterns)
    assert not ignored("tideways_locust/tests/x.py", patterns), "a pattern without ** is at the root"
    assert ignored("__pycache__/a.pyc", patterns) and ignored("a/b/__pycache__/c.pyc", patterns)
    assert ignored("reports/run.json", patterns) and ignored("x.pyc", patterns)
    assert not ignored("a/x.pyc", patterns), "* stays within one name"
    assert not ignored(".env.example", patterns) and not ignored("testsuite.py", patterns)


def image_layout(project, home: Path) -> list[str]:
    """The project as the Dockerfile copies it into the image (``COPY --chown=locust . ./`` in the
    base image's working directory, /home/locust), .dockerignore applied; the files copied."""
    lines = [line.strip() for line in project.read("Dockerfile").splitlines()]
    instructions = [line.split()[0] for line in lines if line and not line.startswith("#")]
    assert not {"WORKDIR", "USER", "ENTRYPOINT", "CMD"} & set(instructions), "the base image's stand"
    assert instructions[-1] == "COPY" and lines[-1] == "COPY --chown=locust . ./"
    patterns = dockerignore_patterns(project.read(".dockerignore"))
    copied = []
    for path in sorted(project.path.rglob("*")):
        relative = path.relative_to(project.path).as_posix()
        if path.is_file() and not ignored(relative, patterns):
            (home / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, home / relative)
            copied.append(relative)
    return copied


_VARIABLE = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<name>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}|(?P<bare>\w+))")


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's interpolation: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``."""
    assert not re.search(r"\$\{\w+:?[?+]", text), f"{text}: more than this test reads"

    def value(match: re.Match) -> str:
        if match["dollar"]:
            return "$"
        name = match["name"] or match["bare"]
        found = variables.get(name)
        if match["op"] == ":-":
            return found or match["default"]
        if match["op"] == "-":
            return match["default"] if found is None else found
        return found or ""

    return _VARIABLE.sub(value, text)


def read_dotenv(path: Path) -> dict[str, str]:
    """The test's .env (NAME=value lines, no quotes), as Compose and python-dotenv both read it."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def compose_container(project, compose: dict, name: str, image: Path, root: Path, variables: dict) -> Process:
    """The container of service ``name``: the image's files under ``root`` (its /), the service's
    secrets at /run/secrets/NAME, its bind mounts (host folders that must exist: Docker would make
    root's), its ``environment`` interpolated from ``variables`` (a NAME alone: passed on when
    set), and its ``command`` after the image's ENTRYPOINT, ``locust``, in /home/locust."""
    service = compose["services"][name]
    assert not {"env_file", "entrypoint", "working_dir", "user"} & set(service), "more than this test lays out"
    home = root / "home" / "locust"
    shutil.copytree(image, home)
    for secret in service.get("secrets", []):
        assert isinstance(secret, str), "the short syntax: the file at /run/secrets/NAME"
        source = project.path / interpolate(compose["secrets"][secret]["file"], variables)
        assert source.is_file(), f"Compose starts no {name} without {source}"
        (root / "run" / "secrets").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / "run" / "secrets" / secret)
    for volume in service.get("volumes", []):
        host, target = volume.split(":")[:2]
        assert host.startswith("./") and (project.path / host).is_dir(), f"{host}: made by root if missing"
        mount = root / target.lstrip("/")
        assert not mount.exists(), f"{target} is in the image"
        mount.symlink_to(project.path / host)
    environment = {}
    for variable, value in compose_variables(service).items():
        if value is None:
            if variable in variables:
                environment[variable] = variables[variable]
            continue
        value = interpolate(value, variables)
        environment[variable] = f"{root}{value}" if value.startswith("/") else value
    return Process(shlex.split(service["command"]), home, environment)


def compose_run(project, python: Path, tmp_path: Path, dotenv: str, accounts_csv: str | None, until):
    """The README's headless Compose run (LOCUST_HEADLESS=true LOCUST_EXPECT_WORKERS=1 from the
    shell), one worker, against the baked target, stopped as ``docker compose stop`` stops the
    master (its stop_signal) once ``until(log)`` holds. The containers, the run and the log."""
    (project.path / ".env").write_text(dotenv)
    if accounts_csv is not None:
        (project.path / "accounts.csv").write_text(accounts_csv)
    readme = project.read("README.md")
    assert "mkdir -p reports" in readme_block(readme, "Docker Compose", "docker compose up")
    (project.path / "reports").mkdir()
    compose = yaml.safe_load(project.read("docker-compose.yml"))
    shell = {"LOCUST_HEADLESS": "true", "LOCUST_EXPECT_WORKERS": "1"}
    variables = read_dotenv(project.path / ".env") | shell  # the shell wins over .env
    log, port = tmp_path / "target.jsonl", free_port()
    with login_target(python, log) as url:
        image = tmp_path / "image"
        copied = image_layout(project, image)
        assert not {".env", "accounts.csv"} & set(copied) and not [p for p in copied if p.startswith("reports/")]
        conf = image / "locust.conf"  # the host under test, as locust.conf in the image would say
        conf.write_text(re.sub(r"^host = .*$", f"host = {url}", conf.read_text(), flags=re.M))
        master = compose_container(project, compose, "master", image, tmp_path / "master", variables)
        worker = compose_container(project, compose, "worker", image, tmp_path / "worker", variables)
        master.args += ["--master-bind-host=127.0.0.1", f"--master-bind-port={port}"]
        assert worker.args[-2:] == ["--master-host", "master"]  # the master's service name, port 5557
        worker.args[-1:] = ["127.0.0.1", f"--master-port={port}"]
        stop = getattr(signal, compose["services"]["master"].get("stop_signal", "SIGTERM"))
        ran = run_master_and_worker(python.parent / "locust", master, worker, until(log), stop, tmp_path / "logs")
    return master, worker, ran, log


COMPOSE_KINDS = [
    pytest.param({"login": "form", **PROJECT}, "accounts.csv", id="form-login-accounts-file-tideways-project"),
    pytest.param({"login": "token", **OPENAPI}, "env", id="openapi-token-login-accounts-in-env"),
    pytest.param({"login": "bearer"}, "token", id="bearer-token"),
    pytest.param({"login": "none", **PROJECT}, None, id="no-login"),
]


@pytest.mark.parametrize(("answers", "accounts_from"), COMPOSE_KINDS)
def test_compose_gives_each_container_its_secrets_and_the_host_the_reports(
    bake, baked_python, tmp_path, answers, accounts_from
):
    """The master has the API key and no login secret; the workers have the logins' secrets and
    neither the key nor the report's token, yet every request is traced with a valid header (the
    master hands the key over); the users log in as locust.conf says; the other LOCUST_* of .env
    reach no container; the run file, Locust's HTML and CSV land in the host's reports/, where the
    report finds the run."""
    project = bake(deployment="docker", **RUN_ANSWERS, **answers)
    login = answers["login"]
    dotenv = f"LOCUST_TIDEWAYS_APIKEY={SECRET_VALUES['key']}\nTIDEWAYS_API_TOKEN={API_TOKEN}\n"
    dotenv += "LOCUST_TIDEWAYS_TRACE_RATE=0\n"  # a local run's: no container gets it
    accounts_csv = None
    if accounts_from == "accounts.csv":
        accounts_csv, accounts = "".join(f"{n},{p}\n" for n, p in ACCOUNTS), {n for n, _ in ACCOUNTS}
    elif accounts_from == "env":  # the accounts in .env, and accounts.csv empty, as the README says
        accounts_csv, (name, password) = "", ACCOUNTS[0]
        dotenv += f"LOGIN_USERNAME={name}\nLOGIN_PASSWORD={password}\n"
        accounts = {name}
    elif accounts_from == "token":
        dotenv += f"LOGIN_TOKEN={SECRET_VALUES['token']}\n"
        accounts = {"bearer"}
    else:
        accounts = set()
    master, worker, ran, log = compose_run(project, baked_python, tmp_path, dotenv, accounts_csv,
                                           lambda log: waiting_for(log, accounts, 2))  # fmt: skip
    assert (ran.master, ran.worker) == (0, 0), ran.master_output[-3000:] + ran.worker_output[-3000:]

    assert master.env == {
        "LOCUST_TIDEWAYS_APIKEY": SECRET_VALUES["key"],
        "LOCUST_HTML": "reports/report.html",
        "LOCUST_CSV": "reports/stats",
        "LOCUST_HEADLESS": "true",
        "LOCUST_EXPECT_WORKERS": "1",
    }, "the master: the key, no login secret, no report token"
    assert not [name for name in worker.env if not name.startswith("LOGIN_")], "the workers: the logins' only"
    if login in ACCOUNT_LOGINS:
        assert worker.env["LOGIN_ACCOUNTS_FILE"] == f"{tmp_path / 'worker'}/run/secrets/accounts.csv"
        assert Path(worker.env["LOGIN_ACCOUNTS_FILE"]).read_text() == accounts_csv
    else:
        assert worker.env == ({"LOGIN_TOKEN": SECRET_VALUES["token"]} if login == "bearer" else {})

    reports = project.path / "reports"
    run = assert_run_reads_locust_conf(ran, log, login, accounts, reports / "tideways-run.json", answers)
    assert (reports / "report.html").is_file() and (reports / "stats_stats.csv").is_file(), sorted(reports.iterdir())
    assert not (tmp_path / "worker" / "home" / "locust" / "reports").exists(), "a worker writes no reports"
    report_finds_the_run(project, baked_python, run)


def test_compose_hands_the_master_a_load_profile_from_the_shell_and_env_and_the_worker_follows(
    bake, baked_python, tmp_path
):
    """LOCUST_LOAD_PROFILE from the shell and another LOCUST_LOAD_* from .env reach the master alone
    (docker-compose.yml names them); it runs that profile with them and the settings locust.conf holds
    for it, though the bake answered constant, its worker sends the users, and the run ends when the
    stages do (run-time, 7m, not used)."""
    project = bake(deployment="docker", **RUN_ANSWERS)  # constant; locust.conf holds steps of 2 users up to 10
    (project.path / "reports").mkdir()
    (project.path / ".env").write_text(f"LOCUST_TIDEWAYS_APIKEY={SECRET_VALUES['key']}\nLOCUST_LOAD_STEP_TIME=2s\n")
    compose = yaml.safe_load(project.read("docker-compose.yml"))
    shell = {"LOCUST_HEADLESS": "true", "LOCUST_EXPECT_WORKERS": "1", "LOCUST_LOAD_PROFILE": "steps",
             "LOCUST_LOAD_MAX": "4"}  # fmt: skip
    variables = read_dotenv(project.path / ".env") | shell
    log, port, logs = tmp_path / "target.jsonl", free_port(), tmp_path / "logs"
    with login_target(baked_python, log) as url:
        image = tmp_path / "image"
        image_layout(project, image)
        conf = image / "locust.conf"
        conf.write_text(re.sub(r"^host = .*$", f"host = {url}", conf.read_text(), flags=re.M))
        master = compose_container(project, compose, "master", image, tmp_path / "master", variables)
        worker = compose_container(project, compose, "worker", image, tmp_path / "worker", variables)
        master.args += ["--master-bind-host=127.0.0.1", f"--master-bind-port={port}"]
        worker.args[-1:] = ["127.0.0.1", f"--master-port={port}"]
        with master_and_worker(baked_python.parent / "locust", master, worker, logs) as started:
            codes = (started[0].wait(timeout=WITHIN), started[1].wait(timeout=30))
    output = (logs / "master.log").read_text()[-3000:] + (logs / "worker.log").read_text()[-3000:]
    assert codes == (0, 0), output
    profile = {name: value for name, value in master.env.items() if name.startswith("LOCUST_LOAD_")}
    assert profile == {"LOCUST_LOAD_PROFILE": "steps", "LOCUST_LOAD_MAX": "4", "LOCUST_LOAD_STEP_TIME": "2s"}
    assert not [name for name in worker.env if name.startswith("LOCUST_")], "the worker gets them from the master"
    load = json.loads((project.path / "reports" / "tideways-run.json").read_text())["load"]
    assert load["profile"] == "steps" and [stage["label"] for stage in load["stages"]] == ["2", "4"], load
    assert target_records(log), "the worker's users sent requests"


def test_compose_workers_without_the_accounts_file_stop(bake, baked_python, tmp_path):
    """Compose needs accounts.csv to start the workers; an older Compose makes a folder for the
    missing file and mounts that: the worker then stops at once with exit code 2, saying what it
    needs, while the master waits for workers."""
    project = bake(deployment="docker", login="form", **RUN_ANSWERS)
    (project.path / ".env").write_text(f"LOCUST_TIDEWAYS_APIKEY={SECRET_VALUES['key']}\n")
    (project.path / "reports").mkdir()
    compose = yaml.safe_load(project.read("docker-compose.yml"))
    variables = read_dotenv(project.path / ".env") | {"LOCUST_HEADLESS": "true", "LOCUST_EXPECT_WORKERS": "1"}
    image = tmp_path / "image"
    image_layout(project, image)
    with pytest.raises(AssertionError, match="Compose starts no worker"):
        compose_container(project, compose, "worker", image, tmp_path / "refused", variables)
    port = free_port()
    master = compose_container(project, compose, "master", image, tmp_path / "master", variables)
    master.args += ["--master-bind-host=127.0.0.1", f"--master-bind-port={port}"]
    (project.path / "accounts.csv").write_text("")
    worker = compose_container(project, compose, "worker", image, tmp_path / "worker", variables)
    worker.args[-1:] = ["127.0.0.1", f"--master-port={port}"]
    secret = Path(worker.env["LOGIN_ACCOUNTS_FILE"])
    secret.unlink()
    secret.mkdir()  # what an older Compose mounts for a missing file: the empty folder it made
    logs = tmp_path / "logs"
    with master_and_worker(baked_python.parent / "locust", master, worker, logs) as (master_process, worker_process):
        code = worker_process.wait(timeout=WITHIN)
        assert master_process.poll() is None, "the master waits for workers"
    output = (logs / "worker.log").read_text()
    assert code == 2, output[-3000:]
    assert f"--app-login form needs accounts: {secret}" in output, output[-3000:]
