"""How long baking takes from a large API description: 2,000 operations.

    .venv/bin/python -m bench.api_import [--operations 2000] [--rounds 3]

Writes a made-up OpenAPI 3.1 document with that many operations (path and query
parameters, JSON bodies through ``$ref``, ``allOf`` and ``oneOf``), then, in
alternating order each round, bakes the template with it and without a description
(cookiecutter, in this process), and times the import alone. The figures are the
median of the rounds, the bake with a description also as a ratio to the bake
without, measured side by side. Results: ``bench/results/api-import.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

from bench import settings

REPO = settings.REPO
RESULTS = settings.RESULTS / "api-import.md"


def document(operations: int) -> dict:
    """An OpenAPI 3.1 document with ``operations`` operations, four a resource."""
    money = {"amount": {"type": "number", "minimum": 0.01}, "currency": {"enum": ["EUR", "USD"]}}
    kind = {"oneOf": [{"type": "string", "pattern": "^[a-z]{4}$"}, {"type": "integer"}]}
    base = {"name": {"type": "string", "minLength": 3}, "tags": {"type": "array", "items": {"type": "string"}}}
    priced = {"price": {"$ref": "#/components/schemas/Money"}, "kind": kind}
    schemas = {
        "Money": {"type": "object", "required": ["amount", "currency"], "properties": money},
        "Base": {"type": "object", "required": ["name", "tags"], "properties": base},
        "Item": {
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"type": "object", "required": ["price", "kind"], "properties": priced},
            ]
        },
    }
    paths: dict = {}
    for index in range(operations // 4):
        item = {"$ref": "#/components/schemas/Item"}
        body = {"required": True, "content": {"application/json": {"schema": item}}}
        identifier = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
        page = {"name": "page", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}}
        paths[f"/resource{index}"] = {
            "get": {"operationId": f"list{index}", "parameters": [page]},
            "post": {"operationId": f"create{index}", "requestBody": body},
        }
        paths[f"/resource{index}/{{id}}"] = {
            "parameters": [identifier],
            "get": {"operationId": f"get{index}"},
            "put": {"operationId": f"replace{index}", "requestBody": body},
        }
    return {"openapi": "3.1.0", "info": {"title": "bench", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}}  # fmt: skip


def bake(work: Path, description: str) -> float:
    started = time.perf_counter()
    extra = {"api_description": description} if description else {}
    cookiecutter(str(REPO), no_input=True, output_dir=str(work), overwrite_if_exists=True, extra_context=extra)
    return time.perf_counter() - started


def import_alone(project: Path, source: str) -> float:
    sys.path.insert(0, str(project))
    try:
        from api_import.generate import imported

        started = time.perf_counter()
        result = imported(source, "https://staging.example.com")
        elapsed = time.perf_counter() - started
    finally:
        sys.path.remove(str(project))
    assert len(result["operations"]) > 0
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_import", description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-api-import-") as folder:
        work = Path(folder)
        source = work / "large.json"
        source.write_text(json.dumps(document(args.operations)))
        with_description, without, alone = [], [], []
        for round_number in range(args.rounds):
            pair = [("with", str(source)), ("without", "")]
            for name, description in pair if round_number % 2 == 0 else reversed(pair):
                (with_description if name == "with" else without).append(bake(work / name, description))
            alone.append(import_alone(work / "with" / "shop_load_test", str(source)))
        module = work / "with" / "shop_load_test" / "generated" / "api_users.py"
        size = module.stat().st_size
    median = statistics.median
    lines = [
        "# Baking from a large API description",
        "",
        f"`python -m bench.api_import --operations {args.operations} --rounds {args.rounds}`; "
        f"medians of {args.rounds} rounds, bakes with and without a description alternating.",
        "",
        "| what | seconds |",
        "| --- | --- |",
        f"| bake without a description | {median(without):.2f} |",
        f"| bake with {args.operations} operations | {median(with_description):.2f} |",
        f"| the import alone (read, resolve, sample) | {median(alone):.2f} |",
        "",
        f"The description adds {median(with_description) - median(without):.2f} s to a bake "
        f"({median(with_description) / median(without):.1f} times the bake without); "
        f"the generated module is {size / 1024:.0f} KiB.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
