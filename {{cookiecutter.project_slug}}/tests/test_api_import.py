"""api_import: the users' tasks from the generated module, values from schemas, and the regenerate command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from api_import import api_tasks
from api_import.refs import Resolver
from api_import.samples import NoValueError, Sampler
from generated import api_users
from tests.conftest import ROOT


class Client:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def request(self, method, path, **kwargs) -> None:
        self.sent.append((method, path, kwargs))


def operation(key: str, **extra) -> dict:
    return {"id": key, "task": key.lower(), "method": "GET", "path": f"/{key}", "name": f"/{key}", "auth": [],
            "deprecated": False, **extra}  # fmt: skip


OPERATIONS = SimpleNamespace(
    KIND="openapi3",
    OPERATIONS=[
        operation("A", params=[("q", "1")]),
        operation("B", method="POST", json={"x": 1}),
        operation("Secret", auth=["bearer"]),
        operation("Old", deprecated=True),
    ],
)


def names(tasks: dict) -> dict[str, int]:
    return {task.__name__: weight for task, weight in tasks.items()}


def test_each_operation_is_a_task_of_weight_one_without_auth_or_deprecated():
    assert names(api_tasks(OPERATIONS)) == {"a": 1, "b": 1}
    assert names(api_tasks(OPERATIONS, authenticated=True, deprecated=True)) == {"a": 1, "b": 1, "secret": 1, "old": 1}


def test_weights_by_operation_id_or_task_name_and_zero_leaves_one_out():
    assert names(api_tasks(OPERATIONS, weights={"A": 5, "b": 0})) == {"a": 5}


@pytest.mark.parametrize(
    ("weights", "message"),
    [({"Nope": 2}, "weights for operations the description does not have: 'Nope'"), ({"A": -1}, "whole numbers")],
)
def test_bad_weights_are_refused_naming_them(weights, message):
    with pytest.raises(ValueError, match=message):
        api_tasks(OPERATIONS, weights=weights)


def test_a_task_sends_its_request_named_by_the_path_template():
    user = SimpleNamespace(client=Client())
    for task in api_tasks(OPERATIONS):
        task(user)
    assert user.client.sent == [
        ("GET", "/A", {"name": "/A", "params": [("q", "1")]}),
        ("POST", "/B", {"name": "/B", "json": {"x": 1}}),
    ]


def test_a_recording_is_one_task_sending_its_requests_in_order():
    recording = SimpleNamespace(KIND="har", OPERATIONS=[operation("One"), operation("Two", method="POST", data="a=1")])
    (flow,) = api_tasks(recording)
    user = SimpleNamespace(client=Client())
    flow(user)
    assert [(m, p) for m, p, _ in user.client.sent] == [("GET", "/One"), ("POST", "/Two")]


def test_the_generated_users_of_this_project_build():
    operations = api_users.OPERATIONS
    assert operations and all({"id", "task", "method", "path", "name"} <= set(o) for o in operations)
    assert api_tasks(api_users, authenticated=True, deprecated=True)


def sample(schema: dict, components: dict | None = None) -> object:
    document = {"components": {"schemas": components or {}}}
    return Sampler(Resolver("doc", document)).value(schema, "#/x")


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"}, "ZZ-111"),
        ({"type": "string", "format": "date", "example": "2020-02-02"}, "2020-02-02"),
        ({"type": "string", "minLength": 8}, "samplexx"),
        ({"type": "integer", "minimum": 10, "multipleOf": 4}, 12),
        ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, 0.5),
        ({"type": "integer", "maximum": -3}, -3),
        ({"type": ["null", "boolean"]}, True),
        ({"type": "string", "nullable": True, "enum": [None, "x"]}, "x"),
        (
            {"allOf": [{"$ref": "#/components/schemas/A"}, {"required": ["b"], "properties": {"b": {"const": 2}}}]},
            {"a": 1, "b": 2},
        ),  # fmt: skip
        ({"oneOf": [{"type": "string", "pattern": "(?=x)"}, {"type": "integer"}]}, 1),
        ({"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "integer"}}, [1, 2]),
        ({"$ref": "#/components/schemas/Tree"}, {"children": []}),
    ],
)
def test_values_the_schema_allows(schema, value):
    components = {
        "A": {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 1}}},
        "Tree": {
            "type": "object",
            "required": ["children"],
            "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}},
        },  # fmt: skip
    }
    assert sample(schema, components) == value


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "integer", "minimum": 5, "maximum": 4}, "no integer within its limits"),
        ({"type": "string", "pattern": "^(a)\\1$"}, "is not simple enough: give the schema an example"),
        ({"$ref": "#/components/schemas/Loop"}, "a recursive schema"),
    ],
)
def test_schemas_no_value_satisfies_say_why(schema, reason):
    loop = {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/components/schemas/Loop"}}}
    with pytest.raises(NoValueError, match=reason):
        sample(schema, {"Loop": loop})


def test_the_command_rewrites_only_the_generated_module(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", "__pycache__", "reports", ".env"))
    document = tmp_path / "tiny.json"
    document.write_text(json.dumps({"openapi": "3.1.0", "paths": {"/ping": {"get": {"operationId": "ping"}}}}))
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    run = subprocess.run(
        [sys.executable, "-m", "api_import", str(document)], cwd=project, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    changed = {
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file() and before.get(p) != p.read_bytes()
    }
    assert changed <= {"generated/api_users.py", "api/openapi.json"}
    assert "'ping'" in (project / "generated" / "api_users.py").read_text()

    broken = tmp_path / "broken.json"
    broken.write_text('{"openapi": "3.1.0", "paths": {"/x": {"get": {"parameters": [{"$ref": "#/nope"}]}}}}')
    failed = subprocess.run(
        [sys.executable, "-m", "api_import", str(broken)], cwd=project, capture_output=True, text=True
    )
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [
        f"api_import: {broken}: #/paths/~1x/get/parameters/0/$ref: $ref '#/nope' points to nothing in the document"
    ]
