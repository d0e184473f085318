"""Users baked from an API description: OpenAPI 3.0 and 3.1, Swagger 2.0, or a HAR recording.

The slow tests run the baked users with real ``locust --headless`` against a target that
checks every request against the same document with openapi-core
(``tests/tools/openapi_target.py``; a Swagger 2.0 document is converted to OpenAPI 3 for
it with swagger2openapi), and assert that no request was invalid and every operation the
users keep was called. The documents are in ``tests/api_documents/``, written for these tests.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from scripts import processes
from scripts.demo import load_target_module
from tests.conftest import REPO, BakedProject, bake_ok
from tests.locust_runs import run_distributed, run_locust

DOCUMENTS = REPO / "tests" / "api_documents"
TOOLS = REPO / "tests" / "tools"
HAR_SECRETS = ("har-session-cookie-value", "har-bearer-token-value", "har-password-value", "har-csrf-value",
               "har-query-token-value", "har-api-key-value", "har-json-token-value")  # fmt: skip


def generated(project: BakedProject) -> dict:
    """The generated module's names, read as Python without importing the project."""
    names: dict = {}
    exec(compile(project.read("generated/api_users.py"), "api_users.py", "exec"), names)  # noqa: S102 - our own file
    return names


def logged(project: BakedProject, log: Path) -> list[dict]:
    """The target's records, read with the baked target's ``read_log`` (whole lines only)."""
    return load_target_module(project.path).read_log(log)


def run_users(project: BakedProject, python: Path, url: str, log: Path, until, users: int = 4) -> list[dict]:
    """A headless run of the baked users (every request traced), stopped once ``until(records)`` holds
    for what the target logged; Locust's entries per endpoint."""
    (project.path / ".env").write_text(
        "LOCUST_TIDEWAYS_APIKEY=api-import-test-key\nLOCUST_TIDEWAYS_TRACE_RATE=100\nLOGIN_TOKEN=api-import-bearer\n"
    )
    stats = log.with_name("stats")
    read_log = load_target_module(project.path).read_log

    def seen() -> bool:
        return until(read_log(log))

    seen.__doc__ = until.__doc__
    run = run_locust(
        project.path, python, "locustfile.py", "-u", str(users), "-r", str(users), "--host", url,
        "--json-file", str(stats), until=seen,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    return [entry for entry in json.loads(stats.with_suffix(".json").read_text()) if entry["num_requests"]]


def every_operation(operations: list[dict]):
    """A condition on the target's records: a request of each of ``operations`` arrived."""
    patterns = [
        (o["method"], re.compile(re.sub(r"\\{[^}]*\\}", "[^/?]+", re.escape(o["name"])) + r"(\?.*)?"))
        for o in operations
    ]

    def called(records: list[dict]) -> bool:
        return all(any(r["method"] == m and p.fullmatch(r["path"]) for r in records) for m, p in patterns)

    called.__doc__ = f"a request of each of {len(operations)} operations"
    return called


def openapi3_copy(project: BakedProject, tmp_path: Path) -> Path:
    """The document the baked project keeps, as OpenAPI 3 (swagger2openapi converts a Swagger 2.0 one)."""
    copy = next((project.path / "api").iterdir())
    if "swagger" not in copy.read_text():
        return copy
    converter = REPO / "node_modules" / ".bin" / "swagger2openapi"
    if shutil.which("node") is None or not converter.exists():
        pytest.skip("swagger2openapi (npm) is not installed: run `make test`")
    converted = tmp_path / "converted.yaml"
    subprocess.run([str(converter), str(copy), "--yaml", "--outfile", str(converted)], check=True, capture_output=True)
    return converted


@pytest.mark.slow
@pytest.mark.parametrize(
    ("document", "client", "login", "left_out"),
    [
        (
            "shop-3.0.yaml",
            "HttpUser",
            "none",
            {"deleteProduct": "auth", "legacySearch": "deprecated", "uploadImage": "image/png"},
        ),
        ("shop-3.0.yaml", "FastHttpUser", "bearer", {"legacySearch": "deprecated"}),
        ("catalog-3.1.json", "FastHttpUser", "none", {}),
        ("pets-swagger-2.0.yaml", "HttpUser", "none", {"deletePet": "auth", "uploadPhoto": "uploads a file"}),
        ("faq-string-examples-3.0.yaml", "HttpUser", "none", {}),
        ("faq-string-examples-3.0.yaml", "FastHttpUser", "none", {}),
    ],
)
def test_every_request_is_valid_for_the_document_and_every_operation_is_called(
    cookies, baked_python, tmp_path, document, client, login, left_out
):
    answers = {"api_description": str(DOCUMENTS / document), "http_client": client, "wait_time": "0", "login": login}
    project = bake_ok(cookies, **answers)
    names = generated(project)
    # With a login the operations that need one are in the tasks: openapi-core checks their header.
    kept = [o for o in names["OPERATIONS"] if (login != "none" or not o["auth"]) and not o["deprecated"]]
    assert {o["id"] for o in names["OPERATIONS"]} | {s["id"] for s in names["SKIPPED"]} >= set(left_out)
    for operation_id, why in left_out.items():
        if why == "auth" and login != "none":
            continue
        found = [o for o in names["OPERATIONS"] if o["id"] == operation_id]
        skipped = [s for s in names["SKIPPED"] if s["id"] == operation_id]
        assert found and found[0][why] if why in ("auth", "deprecated") else why in skipped[0]["reason"], operation_id

    log = tmp_path / "requests.jsonl"
    spec = openapi3_copy(project, tmp_path)
    command = [sys.executable, str(TOOLS / "openapi_target.py"), "--spec", str(spec), "--log", str(log)]
    target, url = processes.start_server(command, cwd=tmp_path)
    try:
        entries = run_users(project, baked_python, url, log, until=every_operation(kept))
    finally:
        processes.stop(target)
    received = logged(project, log)
    invalid = [r for r in received if not r["valid"]]
    assert received and not invalid, invalid[:3]
    called = {(e["method"], e["name"]) for e in entries}
    assert called == {(o["method"], o["name"]) for o in kept}, "every operation the users keep, and only those"
    reported = sum(e["num_requests"] for e in entries)
    assert reported <= len(received) <= reported + 4, "and those still out when the run stopped, one a user at most"
    assert all(e["num_failures"] == 0 for e in entries)


@pytest.mark.slow
def test_coverage_gives_every_operation_a_callgraph_and_the_budget_holds_across_workers(
    cookies, baked_python, tmp_path
):
    """The baked defaults (rate 1, coverage 1) on the document with the most operations: the first
    request of each operation is traced; with workers and a budget of 30 a minute, the checking
    target accepts 30 traces of a run inside a minute, and the summary says the budget capped it."""
    key = "api-coverage-test-key"
    project = bake_ok(
        cookies, api_description=str(DOCUMENTS / "shop-3.0.yaml"), http_client="FastHttpUser", wait_time="0"
    )
    assert re.search(r"^tideways-trace-rate = 1$", project.read("locust.conf"), re.M)
    assert re.search(r"^tideways-trace-coverage = 1$", project.read("locust.conf"), re.M)
    kept = [o for o in generated(project)["OPERATIONS"] if not o["auth"] and not o["deprecated"]]
    (project.path / ".env").write_text(f"LOCUST_TIDEWAYS_APIKEY={key}\n")
    read_log = load_target_module(project.path).read_log
    log = tmp_path / "target.jsonl"
    serve = [sys.executable, str(project.path / "tests" / "target.py"), "--key", key, "--log", str(log)]
    target, url = processes.start_server(serve, cwd=tmp_path)
    try:
        called = every_operation(kept)

        def every_operation_called() -> bool:
            return called(read_log(log))

        every_operation_called.__doc__ = called.__doc__
        run = run_locust(project.path, baked_python, "locustfile.py", "-u", "4", "-r", "4", "--host", url,
                         until=every_operation_called)  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        records = read_log(log)
        for operation in kept:
            taken = [r for r in records if every_operation([operation])([r]) and r["verdict"] == "accepted"]
            assert taken, f"no callgraph of {operation['method']} {operation['name']}"
        assert not [r for r in records if r["profiler"] and r["verdict"] != "accepted"]
        assert f"{len(kept)} of {len(kept)} endpoints traced" in run.stderr

        before = len(records)

        def three_hundred_more() -> bool:
            return len(read_log(log)) >= before + 300

        three_hundred_more.__doc__ = "300 more requests at the target"
        budget = ["--tideways-trace-rate", "100", "--tideways-trace-budget", "30"]
        run = run_distributed(project.path, baked_python, "locustfile.py", "-u", "4", "-r", "4", "--host", url,
                              *budget, until=three_hundred_more)  # fmt: skip
    finally:
        processes.stop(target)
    assert run.returncode == 0, run.stderr[-3000:]
    records = read_log(log)[before:]
    taken = [r for r in records if r["verdict"] == "accepted"]
    assert records[-1]["time"] - records[0]["time"] < 60, "a run inside one minute: 30 in all"
    assert len(taken) == 30 and len(records) > 300
    assert "Tideways budget: 30 traced requests a minute capped the rate" in run.stderr


@pytest.mark.slow
def test_a_recording_is_one_flow_to_the_host_without_credentials(cookies, baked_python, tmp_path):
    har = DOCUMENTS / "session.har"
    project = bake_ok(cookies, api_description=str(har), host="https://shop.example.com", wait_time="0")
    for path in project.files():
        text = path.read_text(errors="replace")
        assert not any(secret in text for secret in HAR_SECRETS), path
    assert not (project.path / "api").exists(), "a recording holds cookies: it is never copied"
    flow = generated(project)["OPERATIONS"]
    assert [(s["method"], s["path"]) for s in flow] == [
        ("GET", "/"),
        ("GET", "/search?q=lamp&page=2"),
        ("POST", "/login"),
        ("GET", "/api/cart?access_token="),
        ("POST", "/api/cart/items"),
        ("PUT", "/api/cart/items/LAMP-1"),
        ("DELETE", "/api/cart/items/LAMP-1"),
        ("GET", "/checkout"),
    ], "the host's requests in the recorded order: no other origin, no asset"

    log = tmp_path / "target.jsonl"
    serve = [sys.executable, str(project.path / "tests" / "target.py"), "--key", "api-import-test-key"]
    target, url = processes.start_server([*serve, "--log", str(log)], cwd=tmp_path)

    def whole_flow(records: list[dict]) -> bool:
        """the recorded flow once"""
        return len(records) >= len(flow)

    try:
        run_users(project, baked_python, url, log, until=whole_flow, users=1)
    finally:
        processes.stop(target)
    received = logged(project, log)
    first = received[: len(flow)]
    assert [(r["method"], r["path"]) for r in first] == [(s["method"], s["path"]) for s in flow]
    assert all("cookie" not in r["headers"] and "authorization" not in r["headers"] for r in received)
    assert first[2]["body"] == "_username=jane%40example.com&_password=&_csrf_token="
    assert json.loads(first[4]["body"]) == {"sku": "LAMP-1", "quantity": 2, "meta": {"sessionToken": ""}}
    assert all(r["verdict"] == "accepted" for r in received), "the flow is traced like any user"


def test_examples_are_sent_only_as_values_that_fit_their_schemas(bake):
    """swagger-php writes object examples as JSON text (phpMyFAQ's document): parsed when that fits."""
    project = bake(api_description=str(DOCUMENTS / "faq-string-examples-3.0.yaml"))
    sent = {o["id"]: o for o in generated(project)["OPERATIONS"]}
    assert sent["createQuestion"]["json"] == {
        "category-id": 3, "question": "Is this the world we created?", "author": "Freddie Mercury", "is-visible": False
    }, "JSON text for an object: parsed"  # fmt: skip
    assert sent["replaceTags"]["json"] == ["php", "faq", "queen"], "JSON text for an array: parsed"
    assert sent["replaceTags"]["path"] == "/api/v4.0/faqs/1/tags", "'first' is no integer: the schema's value"
    assert sent["updateFaq"]["json"] == {"faq-id": 1, "answer": "sample", "is-active": True}, "not JSON: built"
    assert sent["updateFaq"]["path"] == "/api/v4.0/faqs/42", "'42' holds an integer"
    assert sent["createCategory"]["json"] == {
        "parent-id": 7, "name": "12", "is-active": True, "published": "2024-05-01", "meta": {"color": "red"}
    }, "JSON of the wrong types: built, from the properties' examples where they fit"  # fmt: skip
    assert sent["search"]["params"] == [("page", "2"), ("languages", "de"), ("languages", "en"),
                                        ("q", '{"not": "parsed"}')]  # fmt: skip
    assert sent["createUser"]["json"] == {
        "username": "ada", "email": "ada@example.org", "is-visible": False, "groups": [1, 2]
    }, "the first example that fits, as it is"  # fmt: skip
    assert sent["putNote"]["json"] == '{"note": "kept as text"}', "the schema wants a string: the text is sent"


BAD_DOCUMENTS = [
    ("broken.json", '{"openapi": "3.0.3",\n  "paths": [', "broken.json: line 2, column 13: invalid JSON: "),
    ("broken.yaml", "openapi: 3.0.3\npaths: [1, 2\n", "broken.yaml: line 3, column 1: invalid YAML: "),
    ("other.json", '{"hello": "world"}', "other.json: is not an OpenAPI 3.0 or 3.1, Swagger 2.0 or HAR 1.2 document"),
    ("old.yaml", "openapi: 2.5.0\npaths: {}\n", "old.yaml: #/openapi: OpenAPI '2.5.0' is not supported: 3.0 or 3.1"),
    ("empty.yaml", "openapi: 3.1.0\npaths: {}\n", "empty.yaml: #/paths: no operations: the document describes no"),
    (
        "dangling.yaml",
        "openapi: 3.0.3\npaths:\n  /x:\n    post:\n      requestBody: {$ref: '#/components/requestBodies/Gone'}\n",
        "dangling.yaml: #/paths/~1x/post/requestBody/$ref: $ref '#/components/requestBodies/Gone' points to nothing",
    ),
    (
        "external.yaml",
        "openapi: 3.0.3\npaths:\n  /x:\n    get:\n      parameters: [{$ref: 'common.yaml#/Id'}]\n",
        "external.yaml: #/paths/~1x/get/parameters/0/$ref: $ref 'common.yaml#/Id' points outside this document",
    ),
    (
        "no-host.har",
        json.dumps(
            {"log": {"version": "1.2", "entries": [{"request": {"method": "GET", "url": "https://other.example/"}}]}}
        ),
        "no-host.har: #/log/entries: no request to https://staging.example.com in the recording",
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_DOCUMENTS, ids=[d[0] for d in BAD_DOCUMENTS])
def test_a_bad_document_fails_the_bake_with_one_line_and_leaves_nothing(cookies, capfd, tmp_path, name, text, expected):
    document = tmp_path / name
    document.write_text(text)
    result = cookies.bake(extra_context={"api_description": str(document)})
    assert result.exit_code == -1 and isinstance(result.exception, FailedHookException)
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: api_description: {document.parent}/{expected}"), errors
    assert not [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()], "nothing is left on disk"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/no/such/openapi.yaml", "no such file"), ("https://", "a readable file or an http(s) URL")],
)
def test_a_missing_file_or_bad_url_is_refused_before_anything_is_written(cookies, capfd, tmp_path, value, expected):
    result = cookies.bake(extra_context={"api_description": value})
    assert result.exit_code == -1
    err = capfd.readouterr().err
    assert f"ERROR: api_description: {value!r} is not allowed: " in err and expected in err
    assert not [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()]


def test_an_unreachable_url_names_it_and_why(cookies, capfd, tmp_path):
    url = "http://127.0.0.1:9/openapi.json"  # the discard port: nothing listens
    result = cookies.bake(extra_context={"api_description": url})
    assert result.exit_code == -1
    assert f"ERROR: api_description: {url}: cannot be read: " in capfd.readouterr().err
    assert not [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()]


HOSTILE = """
openapi: 3.0.3
paths:
  "/a'''b\\"\\"\\"/{id}":
    post:
      operationId: "x\\"\\"\\"\\nimport os; os.system('touch /tmp/pwned')  # {{ cookiecutter }}"
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, example: "'); __import__('os').system('id"}}
      requestBody:
        required: true
        content:
          application/json:
            example: {"{% raw %}": "\\u2028\\"\\"\\"", "x": "{{ 7 * 7 }}"}
      responses: {"200": {description: ok}}
"""


def test_hostile_strings_are_baked_as_data(bake, tmp_path):
    document = tmp_path / "hostile.yaml"
    document.write_text(HOSTILE)
    project = bake(api_description=str(document))
    operation = generated(project)["OPERATIONS"][0]
    assert operation["id"] == 'x"""\nimport os; os.system(\'touch /tmp/pwned\')  # {{ cookiecutter }}'
    assert operation["name"] == "/a'''b\"\"\"/{id}"
    assert operation["path"] == "/a'''b\"\"\"/%27%29%3B%20__import__%28%27os%27%29.system%28%27id"
    assert operation["json"] == {"{% raw %}": '\u2028"""', "x": "{{ 7 * 7 }}"}
    assert operation["task"].isidentifier()


def test_the_regenerate_command_rewrites_only_the_generated_users(bake):
    project = bake(api_description=str(DOCUMENTS / "shop-3.0.yaml"))
    locustfile = project.path / "locustfile.py"
    edited = locustfile.read_text().replace("weights={}", 'weights={"listProducts": 5}') + (
        "\n\nclass HandWrittenUser(ShopLoadTestUser):  # noqa: F821 - the team's own user\n    weight = 2\n"
    )
    locustfile.write_text(edited)
    (project.path / "hand_written.py").write_text("TEAM = 'ours'\n")
    copy = project.path / "api" / "openapi.yaml"
    health = "  /health:\n    get:\n      operationId: health\n      responses: {'200': {description: ok}}\n"
    copy.write_text(copy.read_text().replace("  /legacy/search:", health + "  /legacy/search:"))
    run = project.run(sys.executable, "-m", "api_import")
    assert run.returncode == 0, run.stderr
    assert "wrote generated/api_users.py" in run.stdout and "13 operations" in run.stdout
    assert "health" in {o["id"] for o in generated(project)["OPERATIONS"]}
    assert locustfile.read_text() == edited and (project.path / "hand_written.py").read_text() == "TEAM = 'ours'\n"

    before = project.read("generated/api_users.py")
    failed = project.run(sys.executable, "-m", "api_import", "missing.yaml")
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.startswith("api_import: ") and "missing.yaml: cannot be read: " in failed.stderr
    assert len(failed.stderr.splitlines()) == 1
    assert project.read("generated/api_users.py") == before, "a failed import changes nothing"


def test_without_a_description_nothing_of_the_importer_is_baked(bake):
    project = bake()
    assert not any(project.has_file(p) for p in ("api_import/__init__.py", "generated/api_users.py"))
    assert not (project.path / "api").exists()


def test_a_url_is_fetched_and_the_document_kept_beside_the_users(bake, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(DOCUMENTS / "catalog-3.1.json", served / "openapi.json")
    server = processes.start(
        [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(served)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = server.stdout.readline().split("port ")[1].split()[0]
        url = f"http://127.0.0.1:{port}/openapi.json?version=2"
        project = bake(api_description=url)
    finally:
        processes.stop(server)
    assert generated(project)["SOURCE"] == url, "python -m api_import fetches it again"
    assert (project.path / "api" / "openapi.json").read_text() == (DOCUMENTS / "catalog-3.1.json").read_text()
    assert "`http://127.0.0.1:" in project.read("README.md") and "?version" not in project.read("README.md")


def test_the_importer_needs_only_what_cookiecutter_brings():
    """Baking runs it with cookiecutter's dependencies: the standard library and PyYAML."""
    package = REPO / "{{cookiecutter.project_slug}}" / "api_import"
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"yaml"}
