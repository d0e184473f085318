"""api_import: the users' tasks from the generated module, values from schemas, and the regenerate command."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from api_import import api_tasks, openapi
from api_import.refs import Resolver
from api_import.samples import MISSING, NoValueError, Sampler
from generated import api_users
from tests.conftest import ROOT

pytestmark = pytest.mark.project  # the users generated into this project, and its copy of the description


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


LIST = {"type": "array", "items": {"type": "integer"}}
THING = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "tags": LIST}}


@pytest.mark.parametrize(
    ("value", "schema", "fits"),
    [
        ({"id": 1, "tags": [2]}, THING, True),
        ('{"id": 1}', THING, False),
        ({"tags": [2]}, THING, False),
        ({"id": 1, "tags": ["2"]}, THING, False),
        ({"id": True}, THING, False),
        ({"id": 1, "more": "x"}, {**THING, "additionalProperties": False}, False),
        ({"id": 1, "more": "x"}, {**THING, "additionalProperties": {"type": "integer"}}, False),
        (None, {"type": "object", "nullable": True}, True),
        (None, {"type": ["string", "null"]}, True),
        (2.5, {"type": "integer"}, False),
        (float("nan"), {"type": "number"}, False),
        ("c", {"type": "string", "enum": ["a", "b"]}, False),
        (1, {"oneOf": [{"type": "string"}, {"type": "integer"}]}, True),
        ({"id": 1}, {"allOf": [{"$ref": "#/components/schemas/Thing"}, {"required": ["tags"]}]}, False),
        ("anything", {}, True),
        ("x", {"minLength": 5}, True),  # lengths, limits and patterns are not checked
    ],
)
def test_a_value_fits_a_schema_by_its_types_required_properties_and_enum(value, schema, fits):
    sampler = Sampler(Resolver("doc", {"components": {"schemas": {"Thing": THING}}}))
    assert sampler.fits(value, schema, "#/x") is fits


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({**THING, "example": '{"id": 5, "tags": [1, 2]}'}, {"id": 5, "tags": [1, 2]}),
        ({**LIST, "example": "[3, 4]"}, [3, 4]),
        ({**THING, "example": '{"id": "5"}'}, {"id": 1}),
        ({**THING, "example": "{'id': 5}"}, {"id": 1}),
        ({"type": "string", "example": '{"id": 5}'}, '{"id": 5}'),
        ({"type": "integer", "example": "7"}, 7),
        ({"type": "string", "example": 12}, "12"),
        ({"type": "boolean", "example": "yes", "default": False}, False),
        ({"type": "string", "format": "date", "example": datetime.date(2024, 5, 1)}, "2024-05-01"),
        ({"type": "integer", "examples": ["one", 2]}, 2),
        ({"type": "integer", "default": "", "enum": [3, 4]}, 3),
    ],
)
def test_an_example_is_used_as_the_value_it_holds_when_that_fits_or_else_the_schema_builds_one(schema, value):
    assert sample(schema) == value


def test_examples_of_parameters_and_bodies_are_checked_against_their_schemas():
    sampler = Sampler(Resolver("doc", {}))
    assert sampler.fitting(["x", "[1]", [2]], LIST, "#/x") == [1]
    assert sampler.fitting(["x", "{}"], LIST, "#/x") is MISSING
    document = {
        "swagger": "2.0",
        "paths": {
            "/things/{id}": {
                "post": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "type": "integer", "example": "a"},
                        {"name": "body", "in": "body", "schema": {**THING, "example": '{"id": 9}'}},
                    ]
                }
            }
        },
    }
    (found,), _ = openapi.operations("doc", "swagger2", document)
    assert (found["path"], found["json"]) == ("/things/1", {"id": 9})
    media = {
        "schema": {"$ref": "#/components/schemas/Thing"},
        "examples": {"a": {"value": "[]"}, "b": {"value": '{"id": 2}'}},
    }
    document = {
        "openapi": "3.1.0",
        "components": {"schemas": {"Thing": THING}},
        "paths": {"/things": {"put": {"requestBody": {"content": {"application/json": media}}}}},
    }
    (found,), _ = openapi.operations("doc", "openapi3", document)
    assert found["json"] == {"id": 2}


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
