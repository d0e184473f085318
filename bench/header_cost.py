"""What one profiling header costs, timed with ``timeit`` in the baked project's virtualenv.

Run by ``bench/run.py`` as ``python bench/header_cost.py`` with the baked project on
``PYTHONPATH``; prints one JSON object: for each case the median and best time of one
call in microseconds, over ``--repeat`` rounds of as many calls as fill ``--min-time``.

- ``signer``: ``TidewaysSigner(key).fresh_header()``, the HMAC and the string;
- ``decision_100`` / ``decision_1``: ``_Tracer.prepare("/", None)`` (``headers_for`` in
  earlier versions), the whole per-request decision at trace rate 100 (every call
  signs) and 1;
- ``request_100`` / ``request_1``: a request through the wrapper that
  ``HttpTidewaysUser`` puts on ``client.request``, less the same call unwrapped.

A case the runtime no longer offers (``_Tracer`` is private) is reported with its error.
``decision_method`` says which method was timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
import types

KEY = "bench-key-not-a-real-one-0123456789"
HOST = "http://127.0.0.1:8080"


def time_call(function, repeat: int, min_time: float) -> dict[str, float]:
    timer = timeit.Timer(function)
    number = 1
    while True:  # like Timer.autorange, but to min_time; bounded by the doubling
        if timer.timeit(number) >= min_time or number >= 1 << 24:
            break
        number *= 2
    per_call = [seconds / number * 1e6 for seconds in timer.repeat(repeat=repeat, number=number)]
    return {"median_us": statistics.median(per_call), "best_us": min(per_call), "calls": number, "repeat": repeat}


def _send(method, url, *args, headers=None, **kwargs):
    return headers


class _Client:
    """Stands in for Locust's client: its request() does nothing but return the headers."""

    request = staticmethod(_send)


DECISION_METHODS = ("prepare", "headers_for")  # the newest name first


def cases() -> dict:
    import tideways_locust as runtime

    found: dict = {"signer": runtime.TidewaysSigner(KEY).fresh_header}
    # The runtime is a package since the report came; before, one module held the tracer.
    tracing = getattr(runtime, "tracing", runtime)
    tracer_class = getattr(tracing, "_Tracer", None)
    for rate in (100, 1):
        try:
            tracer = tracer_class(types.SimpleNamespace(tideways_apikey=KEY, tideways_trace_rate=float(rate)), HOST)
            method = next(name for name in DECISION_METHODS if hasattr(tracer, name))
            found["decision_method"] = method
            decide = getattr(tracer, method)
            found[f"decision_{rate}"] = lambda decide=decide: decide("/", None)
            client = _Client()
            tracer.install(client)
            found[f"request_{rate}"] = lambda client=client: client.request("GET", "/")
        except Exception as error:  # reported; the other cases still run
            found[f"decision_{rate}"] = found[f"request_{rate}"] = f"{type(error).__name__}: {error}"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds of calls per round")
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    bare = time_call(lambda: _send("GET", "/"), args.repeat, args.min_time)
    found = cases()
    method = found.pop("decision_method", None)
    for name, case in found.items():
        if isinstance(case, str):
            results[name] = {"error": case}
            continue
        results[name] = time_call(case, args.repeat, args.min_time)
        if name.startswith("request_"):  # only what the wrapper adds
            for field in ("median_us", "best_us"):
                results[name][field] = max(0.0, results[name][field] - bare[field])
    results["bare_call"] = bare
    results["decision_method"] = method
    json.dump(results, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
