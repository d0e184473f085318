"""Baking: the files, their contents, and the answers that are refused."""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from tests.conftest import REPO

EXPECTED_FILES = {
    ".dockerignore",
    ".env.example",
    ".github/workflows/load-test.yml",
    ".gitignore",
    "Dockerfile",
    "ci/compare.sh",
    "ci/load-test.sh",
    "ci/template-check.sh",
    "ci/tideways-report.sh",
    "README.md",
    "docker-compose.yml",
    "locust.conf",
    "locustfile.py",
    "pyproject.toml",
    "requirements-dev.txt",
    "requirements.txt",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/locustfiles/compare.py",
    "tests/locustfiles/logins.py",
    "tests/locustfiles/one_percent_failures.py",
    "tests/locustfiles/scenario.py",
    "tests/locustfiles/stop_when_told.py",
    "tests/locustfiles/held.py",
    "tests/locustfiles/profiles.py",
    "tests/target.py",
    "tests/test_compare.py",
    "tests/test_compat.py",
    "tests/test_distributed.py",
    "tests/test_event.py",
    "tests/test_links.py",
    "tests/test_load_test.py",
    "tests/test_login_forms.py",
    "tests/test_load_profiles.py",
    "tests/test_logins.py",
    "tests/test_redirects.py",
    "tests/test_sampling.py",
    "tests/test_report.py",
    "tests/test_report_render.py",
    "tests/test_profiles.py",
    "tests/test_thresholds.py",
    "tests/test_tideways_api_standin.py",
    "tests/test_tideways_locust.py",
    "tests/test_trace_log.py",
    "tests/tideways_api.py",
    "thresholds.py",
    "tideways_locust/__init__.py",
    "tideways_locust/compat.py",
    "tideways_locust/compare/__init__.py",
    "tideways_locust/compare/__main__.py",
    "tideways_locust/compare/evidence.py",
    "tideways_locust/compare/options.py",
    "tideways_locust/compare/page.html.j2",
    "tideways_locust/compare/render.py",
    "tideways_locust/compare/runs.py",
    "tideways_locust/compare/stats.py",
    "tideways_locust/compare/verdicts.py",
    "tideways_locust/event.py",
    "tideways_locust/lifecycle.py",
    "tideways_locust/links.py",
    "tideways_locust/logins/__init__.py",
    "tideways_locust/logins/accounts.py",
    "tideways_locust/logins/counts.py",
    "tideways_locust/logins/flows.py",
    "tideways_locust/logins/forms.py",
    "tideways_locust/logins/settings.py",
    "tideways_locust/logins/staying.py",
    "tideways_locust/options.py",
    "tideways_locust/profiles/__init__.py",
    "tideways_locust/profiles/options.py",
    "tideways_locust/profiles/pacing.py",
    "tideways_locust/profiles/run.py",
    "tideways_locust/profiles/shape.py",
    "tideways_locust/profiles/spec.py",
    "tideways_locust/profiles/stages.py",
    "tideways_locust/report/__init__.py",
    "tideways_locust/report/__main__.py",
    "tideways_locust/report/api.py",
    "tideways_locust/report/chart.py",
    "tideways_locust/report/collect.py",
    "tideways_locust/report/load.html.j2",
    "tideways_locust/report/page.html.j2",
    "tideways_locust/report/render.py",
    "tideways_locust/report/stages.py",
    "tideways_locust/report/stages_render.py",
    "tideways_locust/report/coverage.py",
    "tideways_locust/report/coverage_render.py",
    "tideways_locust/report/coverage.html.j2",
    "tideways_locust/report/text.py",
    "tideways_locust/runrecord.py",
    "tideways_locust/signing.py",
    "tideways_locust/tracelog.py",
    "tideways_locust/sampling.py",
    "tideways_locust/tracing.py",
    "tideways_locust/webui.py",
}

COMBINATIONS = [
    pytest.param({}, id="defaults"),
    pytest.param({"http_client": "FastHttpUser"}, id="fasthttp"),
    pytest.param({"trace_rate": "0.5", "wait_time": "2", "run_time": "90"}, id="half-percent-constant-wait"),
    pytest.param({"trace_rate": "0", "users": "500", "spawn_rate": "0.5", "run_time": "20m"}, id="tracing-off"),
    pytest.param(
        {"endpoints": "GET /api/v1/users/{user_id}/orders/{order_id}?expand=items x10, PATCH /me, HEAD /health"},
        id="placeholders-and-query",
    ),
    pytest.param({"host": "http://127.0.0.1:8080/shop/", "project_name": "Caf\u00e9 Shop"}, id="path-host-unicode"),
    pytest.param(
        {"api_description": str(REPO / "tests" / "api_documents" / "shop-3.0.yaml"), "http_client": "FastHttpUser"},
        id="openapi-description",
    ),
    pytest.param({"login": "form"}, id="form-login"),
    pytest.param(
        {"login": "bearer", "api_description": str(REPO / "tests" / "api_documents" / "shop-3.0.yaml")},
        id="bearer-login-openapi",
    ),  # fmt: skip
]

# Baked with an API description only: the importer, what it generated, and the document's copy.
API_FILES = {
    "api/openapi.yaml",
    "api_import/__init__.py",
    "api_import/__main__.py",
    "api_import/documents.py",
    "api_import/generate.py",
    "api_import/har.py",
    "api_import/openapi.py",
    "api_import/problems.py",
    "api_import/refs.py",
    "api_import/samples.py",
    "api_import/tasks.py",
    "generated/__init__.py",
    "generated/api_users.py",
    "tests/test_api_import.py",
}

HOSTILE_ENDPOINTS = (
    "GET /a'b\"c\\d/{id}, "
    'POST /x"""+__import__(\'os\').system(\'touch${IFS}PWNED\')+""", '
    "PUT /'''+open('PWNED'+'').write('x')+''', "
    "GET /\u00e9t\u00e9/\U0001f680/\\x00/{id}"
)


GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")


def baked_text_files(project) -> list[Path]:
    return [
        p
        for p in project.files()
        if p.suffix in {".py", ".md", ".txt", ".toml", ".conf", ".example", ".sh", ".yml", ".yaml", ""}
    ]


@pytest.mark.parametrize("answers", COMBINATIONS)
def test_bakes_every_file_fully_rendered(bake, answers):
    project = bake(**answers)
    expected = EXPECTED_FILES | (API_FILES if answers.get("api_description") else set())
    assert {str(p.relative_to(project.path)) for p in project.files()} == expected
    for path in baked_text_files(project):
        text = path.read_text(encoding="utf-8")
        if ".github" in path.parts:
            text = GITHUB_EXPRESSION.sub("", text)  # ${{ ... }} is GitHub's own syntax
        assert not re.search(r"{{|{%|cookiecutter\.", text), f"template syntax left in {path.name}"


@pytest.mark.parametrize("answers", COMBINATIONS)
def test_baked_python_compiles_and_passes_ruff(bake, answers):
    project = bake(**answers)
    for path in project.path.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=project.path,
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_answers_reach_the_settings(bake):
    project = bake(
        host="https://shop.example.com/", users="25", spawn_rate="5", run_time="2m", trace_rate="0.5", wait_time="2-4"
    )
    conf = project.read("locust.conf")
    for line in [
        "host = https://shop.example.com",
        "users = 25",
        "spawn-rate = 5",
        "run-time = 2m",
        "tideways-trace-rate = 0.5",
        "locustfile = locustfile.py",
    ]:
        assert line in conf.splitlines()
    assert "wait_time = between(2, 4)" in project.read("locustfile.py")
    assert project.read("requirements.txt").splitlines()[0] == "locust==2.47.0"


def user_classes(source: str) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}


@pytest.mark.parametrize(
    ("client", "base"), [("HttpUser", "HttpTidewaysUser"), ("FastHttpUser", "FastHttpTidewaysUser")]
)
def test_users_inherit_the_runtime_class_of_the_chosen_client(bake, client, base):
    project = bake(http_client=client, project_name="Shop load test")
    classes = user_classes(project.read("locustfile.py"))
    assert [b.id for b in classes["ShopLoadTestUser"].bases] == [base]


def test_one_task_per_endpoint_with_weight_and_grouped_name(bake):
    project = bake(endpoints="GET /, GET /products/{id} x3, POST /cart")
    source = project.read("locustfile.py")
    tasks = {
        node.name: node for node in user_classes(source)["ShopLoadTestUser"].body if isinstance(node, ast.FunctionDef)
    }
    assert list(tasks) == ["get_root", "get_products_id", "post_cart"]
    weights = [node.decorator_list[0].args[0].value for node in tasks.values()]
    assert weights == [1, 3, 1]
    assert 'path = "/products/{id}"\n        self.client.get(fill(path), name=path)' in source
    assert 'self.client.post("/cart")' in source


def test_hostile_endpoints_are_baked_as_data(bake):
    project = bake(endpoints=HOSTILE_ENDPOINTS)
    source = project.read("locustfile.py")
    strings = {node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)}
    for item in HOSTILE_ENDPOINTS.split(", "):
        path = item.split(" ", 1)[1]
        assert path in strings, path
    assert not list(project.path.rglob("PWNED"))
    # Importing the baked users runs nothing from the answers either.
    check = subprocess.run(
        [sys.executable, "-c", "import ast, sys; ast.parse(open('locustfile.py').read())"],
        cwd=project.path,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0
    assert not list(project.path.rglob("PWNED"))


def test_hostile_project_name_is_only_text_in_the_readme(bake):
    name = "Shop \"quoted\" 'single' \\back \u00e9 $(touch PWNED)"
    project = bake(project_name=name)
    assert project.path.name == "shop_quoted_single_back_e_touch_pwned"
    assert f"# {name}" in project.read("README.md")
    assert name not in project.read("locustfile.py")


def test_the_api_key_is_never_a_question():
    context = json.loads((REPO / "cookiecutter.json").read_text())
    assert not [name for name in context if "key" in name.lower() or "secret" in name.lower()]


@pytest.mark.parametrize("profile", ["constant", "ramp", "steps", "spike", "soak", "breakpoint"])
def test_each_profiles_locust_conf_is_one_locust_reads_and_runs(bake, baked_python, profile):
    project = bake(load_profile=profile, ci="both")
    conf = project.read("locust.conf")
    assert f"load-profile = {profile}\n" in conf
    # Locust's own parser reads locust.conf, the runtime builds the profile from what it read.
    read = project.run(
        str(baked_python), "-c",
        "import thresholds, tideways_locust\n"
        "from locust.argument_parser import parse_options\n"
        "from tideways_locust.profiles import build\n"
        "p = build(parse_options(args=[]))\n"
        "print(p.describe() if p else 'constant', p.seconds if p else 60)",
    )  # fmt: skip
    assert read.returncode == 0, read.stderr
    described, seconds = read.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert described.startswith(profile)
    minutes = max(30, -(-int(float(seconds)) // 60) + 20)
    assert f"timeout-minutes: {minutes}\n" in project.read(".github/workflows/load-test.yml")
    assert f"timeout: {minutes} minutes" in project.read(".gitlab-ci.yml")
    workflow = project.read(".github/workflows/load-test.yml")
    assert f'default: "{profile}"' in workflow and "LOAD_TEST_PROFILE: ${{ inputs.load_profile }}" in workflow


BAD_ANSWERS = [
    ("host", "ftp://example.com"),
    ("endpoints", "FETCH /x"),
    ("trace_rate", "150"),
    ("project_slug", "9lives"),
    ("users", "none"),
    ("run_time", "forever"),
    ("wait_time", "5-1"),
    ("run_time", "2s", {"load_profile": "spike"}),
]


@pytest.mark.parametrize("bad", BAD_ANSWERS)
def test_bad_answer_fails_with_its_message_and_leaves_nothing(cookies, capfd, tmp_path, bad):
    name, value, *others = bad
    others = others[0] if others else {}
    result = cookies.bake(extra_context={name: value, **others})
    assert result.exit_code == -1
    assert isinstance(result.exception, FailedHookException)
    err = capfd.readouterr().err
    named, said = next(iter(others.items())) if others else (name, value)
    assert f"ERROR: {named}: {said!r} is not allowed" in err
    assert not [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()], "nothing is left on disk"


def test_cookiecutter_cli_refuses_bad_answers_one_line_each(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "-o",
            str(out),
            str(REPO),
            "host=example.com",
            "trace_rate=abc",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ") and "is not allowed" in line]
    assert errors == [
        "ERROR: host: 'example.com' is not allowed: an http:// or https:// URL of the application under test, "
        "like https://staging.example.com",
        "ERROR: trace_rate: 'abc' is not allowed: a number from 0 to 100: percent of requests to trace, "
        "decimals like 0.5 allowed",
    ]
    assert not out.exists() or not any(out.rglob("*"))


def test_cookiecutter_cli_prints_next_steps(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "cd shop_load_test" in result.stdout
    assert "pip install -r requirements.txt" in result.stdout
    assert (tmp_path / "shop_load_test" / "locustfile.py").is_file()


# A URL answer with credentials: refused, and its password kept nowhere. Cookiecutter writes its
# replay file (replay_dir of its user config, <template>.json) before the pre-generate hook runs.
PASSWORD = f"s3cret-{secrets.token_hex(6)}"
CREDENTIAL_ANSWERS = {
    "host": (f"https://jane:{PASSWORD}@staging.example.com", "https://staging.example.com"),
    "api_description": (
        f"https://jane:{PASSWORD}@docs.example.com/openapi.yaml",
        "https://docs.example.com/openapi.yaml",
    ),
}


def isolated_user(tmp_path: Path) -> dict[str, str]:
    """An environment whose home, temporary folder and cookiecutter config are the test's own."""
    home, temporary = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temporary.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("COOKIECUTTER_CONFIG", "VIRTUAL_ENV")}
    return env | {"HOME": str(home), "TMPDIR": str(temporary)}


def files_holding(text: str, *folders: Path) -> list[Path]:
    """The files under any of ``folders`` that hold ``text``."""
    files = {path for folder in folders for path in folder.rglob("*") if path.is_file()}
    return sorted(path for path in files if text.encode() in path.read_bytes())


@pytest.mark.parametrize("answer", sorted(CREDENTIAL_ANSWERS))
@pytest.mark.parametrize("config", ["default", "COOKIECUTTER_CONFIG", "--config-file"])
def test_a_url_with_a_password_is_refused_and_taken_out_of_the_replay_file(tmp_path, answer, config):
    """The bake stops with its one line, without echoing the password, and the pre-generate hook
    rewrites the replay file cookiecutter already wrote: the URL without user:password@, every other
    answer kept. Other replay files stay as they are, and the password is nowhere else either: not
    in the output, not in the rendered hooks cookiecutter leaves in the temporary folder."""
    value, without = CREDENTIAL_ANSWERS[answer]
    env = isolated_user(tmp_path)
    home, out = Path(env["HOME"]), tmp_path / "out"
    options = []
    if config == "default":
        replay = home / ".cookiecutter_replay"
    else:
        replay = tmp_path / "replay"
        settings = tmp_path / "cookiecutter.yaml"
        settings.write_text(json.dumps({"replay_dir": str(replay), "cookiecutters_dir": str(tmp_path / "cutters")}))
        if config == "COOKIECUTTER_CONFIG":
            env["COOKIECUTTER_CONFIG"] = str(settings)
        else:
            options = ["--config-file", str(settings)]
    replay.mkdir()
    # Another template's replay file with the same answer, and an older one of this template with
    # another password: neither is this bake's, and neither is touched.
    others = {
        replay / "other-template.json": {
            "cookiecutter": {answer: value, "_repo_dir": str(tmp_path / "other-template")}
        },
        replay / f"{REPO.name}-older.json": {
            "cookiecutter": {answer: value.replace(PASSWORD, "an-older-one"), "_repo_dir": str(REPO)}
        },
    }
    for path, data in others.items():
        path.write_text(json.dumps(data, indent=2))
    before = {path: path.read_bytes() for path in others}

    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", *options, "-o", str(out), str(REPO),
         f"{answer}={value}", "project_name=Scrubbed shop"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"ERROR: {answer}: a URL with user:password@ is not allowed" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    replay_file = replay / f"{REPO.name}.json"
    assert f"{answer}: user:password@ taken out of cookiecutter's replay file {replay_file}" in result.stderr
    answers = json.loads(replay_file.read_text())
    assert answers["cookiecutter"][answer] == answers["_cookiecutter"][answer] == without
    assert answers["cookiecutter"]["project_name"] == "Scrubbed shop", "the other answers stay"
    assert answers["cookiecutter"]["_repo_dir"] == str(REPO)
    assert {path: path.read_bytes() for path in others} == before
    assert sorted(p.name for p in replay.iterdir()) == sorted([replay_file.name, *(p.name for p in others)]), (
        "no temporary file left behind"
    )
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()], "nothing baked"
    places = [home, Path(env["TMPDIR"]), replay, *([out] if out.exists() else [])]
    assert files_holding(PASSWORD, *places) == [replay / "other-template.json"], "only another template's"


def test_cruft_refuses_a_host_with_a_password_and_keeps_it_nowhere(tmp_path):
    """cruft bakes with cookiecutter's generate_files and writes .cruft.json, no replay file: the
    refused bake leaves neither, and the password is in no file."""
    value, _ = CREDENTIAL_ANSWERS["host"]
    template = tmp_path / "template"
    shutil.copytree(REPO, template, ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "node_modules", "*.pyc"))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the template"]):
        subprocess.run([*git, *command], cwd=template, check=True, capture_output=True)
    env, out = isolated_user(tmp_path), tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "cruft", "create", "--no-input", "--output-dir", str(out),
         "--extra-context", json.dumps({"host": value}), str(template)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ERROR: host: a URL with user:password@ is not allowed" in result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not list(out.rglob(".cruft.json")) if out.exists() else True
    places = [Path(env["HOME"]), Path(env["TMPDIR"]), *([out] if out.exists() else [])]
    assert files_holding(PASSWORD, *places) == []
