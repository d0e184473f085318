"""py-spy profiles: where a traced Locust spends its time per request, beside plain Locust.

:func:`profile` records both sides of a pair at once, in an extra run that is not counted;
:func:`summarize_profile` finds the runtime's own lines in the traced side's samples, and
:func:`diff_profiles` the functions whose time per request grows from the plain side to the traced.
Both read py-spy's ``--format raw`` output: one line a stack, ``frame;frame;... count``.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.configs import Pair
from bench.measuring import read_stats
from bench.processes import TARGET_CORE, Children, cpu_seconds, pinned, wait_all
from bench.runner import RUN_GRACE, Runner

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")
# The runtime package: a frame in any of its modules is the runtime's own work.
RUNTIME_PACKAGE = "tideways_locust"
_RUNTIME_FILE = re.compile(r"(^|/)tideways_locust/(?P<module>[\w/]+\.py)$")
_LOCUST_FILE = re.compile(r"(^|/)locust/")


def find_py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _runtime_module(file: str) -> str | None:
    """``tracing.py`` for a frame of the runtime package's ``tracing`` module, else None."""
    match = _RUNTIME_FILE.search(file)
    return match["module"] if match else None


def runtime_files(project: Path) -> list[Path]:
    return sorted(path for path in (project / RUNTIME_PACKAGE).rglob("*.py") if "__pycache__" not in path.parts)


def runtime_source(project: Path) -> dict[str, list[str]]:
    """The lines of each module of the runtime package, by its path inside the package."""
    root = project / RUNTIME_PACKAGE
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8").splitlines() for path in runtime_files(project)
    }


def _frames(line: str) -> tuple[list[re.Match], int]:
    """The frames of one raw line, outermost first, and its sample count; ``([], 0)`` for another line."""
    stack, _, count_text = line.rpartition(" ")
    if not count_text.isdigit():
        return [], 0
    return [match for frame in stack.split(";") if (match := _FRAME.match(frame.strip()))], int(count_text)


def summarize_profile(raw: str, source: dict[str, list[str]], top: int = 8) -> dict:
    """Where the runtime's own time goes.

    Every request runs under the runtime's ``client.request`` wrapper, so a sample whose
    deepest frame in the runtime package is calling into Locust is Locust's own work
    (``wrapped_share``), not the runtime's. The others are the runtime's cost
    (``runtime_share``), reported by the runtime's line that was running and what
    that line had called (C calls such as ``hmac`` or ``time.time`` show as the line itself).
    """
    total = in_runtime = wrapped = 0
    by_line: Counter[tuple[str, str, int, str]] = Counter()
    by_function: Counter[str] = Counter()
    for line in raw.splitlines():
        frames, count = _frames(line)
        total += count
        runtime = [i for i, frame in enumerate(frames) if _runtime_module(frame["file"])]
        if not runtime:
            continue
        deepest = frames[runtime[-1]]
        below = frames[runtime[-1] + 1] if runtime[-1] + 1 < len(frames) else None
        if below is not None and _LOCUST_FILE.search(below["file"]):
            wrapped += count
            continue
        in_runtime += count
        for function in {frames[i]["function"] for i in runtime}:
            by_function[function] += count
        callee = f"{below['function']} ({Path(below['file']).name})" if below is not None else ""
        module = _runtime_module(deepest["file"]) or ""
        by_line[(module, deepest["function"], int(deepest["line"] or 0), callee)] += count
    lines = []
    for (module, function, number, callee), count in by_line.most_common(top):
        lines_of = source.get(module, [])
        code = lines_of[number - 1].strip() if 0 < number <= len(lines_of) else ""
        share = count / total if total else 0
        lines.append(
            {"module": module, "function": function, "line": number, "code": code, "calls": callee, "share": share}
        )
    return {
        "samples": total,
        "runtime_share": in_runtime / total if total else 0.0,
        "wrapped_share": wrapped / total if total else 0.0,
        "functions": {name: count / total for name, count in by_function.most_common(top)} if total else {},
        "lines": lines,
    }


def _time_by_function(raw: str) -> tuple[int, Counter[str], Counter[str], set[str]]:
    """Samples in all, by function (inclusive, and self: the line that was running), and the
    functions that call the runtime (above its first frame in a stack)."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    callers: set[str] = set()
    for line in raw.splitlines():
        frames, count = _frames(line)
        total += count
        if not frames:
            continue
        names = [f"{frame['function']} ({frame['file']})" for frame in frames]
        for name in set(names):
            inclusive[name] += count
        runtime = [i for i, frame in enumerate(frames) if _runtime_module(frame["file"])]
        callers.update(names[: runtime[0]] if runtime else [])
        leaf = frames[-1]
        own[f"{leaf['function']} ({leaf['file']}:{leaf['line']})"] += count
    return total, inclusive, own, callers


def diff_profiles(base_raw: str, other_raw: str, base_us: float, other_us: float, top: int = 10) -> dict:
    """Where the CPU time per request grows from ``base`` to ``other``.

    A function's share of the samples times the CPU per request is its time per request.
    The inclusive list leaves out the runtime (its own lines are in :func:`summarize_profile`)
    and what calls it (the task loop, the locustfile, ``client.get``), whose growth is the
    whole difference.
    """
    base_total, base_inclusive, base_own, _ = _time_by_function(base_raw)
    other_total, other_inclusive, other_own, callers = _time_by_function(other_raw)
    if not base_total or not other_total or math.isnan(base_us) or math.isnan(other_us):
        return {"base_us": base_us, "other_us": other_us, "growth": [], "own_growth": []}

    def growth(base: Counter[str], other: Counter[str], skip_whole: bool) -> list[dict]:
        rows = []
        for name in set(base) | set(other):
            a, b = base[name] / base_total, other[name] / other_total
            if skip_whole and (name in callers or f"{RUNTIME_PACKAGE}/" in name):
                continue
            rows.append({"function": name, "base_us": a * base_us, "other_us": b * other_us})
        rows.sort(key=lambda row: row["other_us"] - row["base_us"], reverse=True)
        return rows[:top]

    return {
        "base_us": base_us,
        "other_us": other_us,
        "samples_base": base_total,
        "growth": growth(base_inclusive, other_inclusive, skip_whole=True),
        "own_growth": growth(base_own, other_own, skip_whole=False),
    }


def profile(runner: Runner, pair: Pair, py_spy: str) -> dict:
    """py-spy on both sides of ``pair`` at once: the runtime's own lines and what grows beside the baseline."""
    settings = runner.settings
    run_time = settings.warmup + settings.profile_time + 3
    started, stems = runner.start_pair(pair, 1, run_time, "profile")
    running = [process for _, process in started]
    raws = [Path(f"{stem}.pyspy.txt") for stem in stems]
    spies: list[subprocess.Popen] = []
    errors = []
    try:
        time.sleep(settings.warmup)  # a warm-up is a length of time; the runs themselves are bounded by wait_all
        before, t0 = [cpu_seconds(process.pid) for process in running], time.time()
        for process, raw in zip(running, raws, strict=True):
            # on the target's core, so that sampling takes as little as possible from Locust
            command = [py_spy, "record", "--pid", str(process.pid), "--duration", str(settings.profile_time)]
            command += ["--rate", "300", "--nonblocking", "--format", "raw", "-o", str(raw)]
            spies.append(
                runner.children.start(
                    pinned(TARGET_CORE, command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
                )
            )
        for spy in spies:
            _, error = spy.communicate(timeout=settings.profile_time + 60)
            if spy.returncode != 0:
                errors.append(error.strip()[-300:])
        after, t1 = [cpu_seconds(process.pid) for process in running], time.time()
    finally:
        for spy in spies:
            Children.stop(spy)
        wait_all(running, run_time + RUN_GRACE)
    if errors or not all(raw.exists() for raw in raws) or None in before or None in after:
        return {"pair": pair.key, "error": f"py-spy failed: {' '.join(errors) or 'no output'}"}
    per_request = []
    for stem, a, b in zip(stems, before, after, strict=True):
        per_second = read_stats(Path(f"{stem}.json"))[3]
        inside = [per_second.get(second, 0) for second in range(math.ceil(t0), math.floor(t1))]
        rate = sum(inside) / len(inside) if inside else 0
        per_request.append((b - a) * 1e6 / (rate * (t1 - t0)) if rate else math.nan)
    sides = [config.key for config, _ in started]
    base_index = sides.index(pair.base) if pair.base != pair.other else 0
    other_index = 1 - base_index
    base_raw, other_raw = (raws[i].read_text(errors="replace") for i in (base_index, other_index))
    summary = summarize_profile(other_raw, runtime_source(runner.project))
    summary |= diff_profiles(base_raw, other_raw, per_request[base_index], per_request[other_index])
    summary["pair"] = pair.key
    return summary
