"""Locust tasks from a generated module: one a operation, or one flow of a recording."""

from __future__ import annotations

from types import ModuleType


def _send(operation: dict):
    method, path, name = operation["method"], operation["path"], operation["name"]
    extra = {key: operation[key] for key in ("params", "headers", "json", "data") if key in operation}

    def task(user) -> None:
        user.client.request(method, path, name=name, **extra)

    task.__name__ = task.__qualname__ = operation["task"]
    return task


def api_tasks(
    generated: ModuleType, weights: dict[str, int] | None = None, authenticated: bool = False, deprecated: bool = False
) -> dict:
    """Locust's ``tasks`` of a generated module: ``{task: weight}``.

    Every operation weighs 1 unless ``weights`` (by operation id or task name) says otherwise;
    a weight of 0 leaves one out. Operations that need authentication or are deprecated are
    left out unless asked for. A recording is one task that sends its requests in order.
    """
    operations = generated.OPERATIONS
    if generated.KIND == "har":

        def flow(user) -> None:
            for step in steps:
                step(user)

        steps = [_send(step) for step in operations]
        return {flow: 1}
    weights = dict(weights or {})
    known = {o["id"] for o in operations} | {o["task"] for o in operations}
    unknown = sorted(set(weights) - known)
    if unknown:
        raise ValueError(f"weights for operations the description does not have: {', '.join(map(repr, unknown))}")
    bad = {k: v for k, v in weights.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0}
    if bad:
        raise ValueError(f"weights must be whole numbers from 0: {bad}")
    chosen = {}
    for operation in operations:
        if (operation.get("auth") and not authenticated) or (operation.get("deprecated") and not deprecated):
            continue
        weight = weights.get(operation["id"], weights.get(operation["task"], 1))
        if weight:
            chosen[_send(operation)] = weight
    if not chosen:
        raise ValueError("no operation left for the users' tasks (README: API users)")
    return chosen
