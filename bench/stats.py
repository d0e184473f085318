"""From runs to figures: medians over rounds, ratios, the goals' verdicts, and the comparison with
an earlier run of the benchmark. Numbers only; :mod:`bench.report` writes them out."""

from __future__ import annotations

import statistics

from bench.configs import CLIENTS, CONFIGS, GOALS, PAIR_BY_KEY, PAIRS
from bench.measuring import PairRun, Run


def median_or_none(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def aggregate(runs: list[Run]) -> dict[str, dict]:
    """Each configuration's runs alone: the median over the rounds, and the sums."""
    configs: dict[str, dict] = {}
    for config in CONFIGS:
        mine = [run for run in runs if run.config == config.key]
        if not mine:
            continue
        foreign = [
            max(run.foreign_locust_core, run.foreign_target_core)
            for run in mine
            if run.foreign_locust_core is not None and run.foreign_target_core is not None
        ]
        configs[config.key] = {
            "label": config.label,
            "client": config.client,
            "trace_rate": config.trace_rate,
            "kind": config.kind,
            "users": mine[0].users,
            "rps": median_or_none([run.rps for run in mine]),
            "rps_rounds": [run.rps for run in mine],
            "cpu_us_per_request": median_or_none([run.cpu_us_per_request for run in mine]),
            "locust_cpu": median_or_none([run.locust_cpu for run in mine]),
            "target_cpu": median_or_none([run.target_cpu for run in mine]),
            "peak_rss_kib": median_or_none([run.peak_rss_kib for run in mine]),
            "quiet_s": sum(run.quiet_s for run in mine),
            "window_s": sum(run.window_s for run in mine),
            "noisy_runs": sum(run.noisy for run in mine),
            "foreign_load": median_or_none(foreign),
            "requests": sum(run.requests for run in mine),
            "traced": sum(run.traced for run in mine),
            "failures": sum(run.failures for run in mine),
        }
    return configs


def ratio_of(configs: dict, top: str, bottom: str, field_name: str) -> float | None:
    a, b = configs.get(top, {}).get(field_name), configs.get(bottom, {}).get(field_name)
    return a / b if a is not None and b else None


def round_ratios(runs: list[Run], top: str, bottom: str, field_name: str) -> list[float]:
    """``top / bottom`` within each round: runs close in time, so slow drifts of the machine cancel."""
    by_round: dict[int, dict[str, float]] = {}
    for run in runs:
        value = getattr(run, field_name)
        if run.config in (top, bottom) and value:
            by_round.setdefault(run.round, {})[run.config] = value
    return [pair[top] / pair[bottom] for _, pair in sorted(by_round.items()) if len(pair) == 2]


def aggregate_pairs(pair_runs: list[PairRun]) -> dict[str, dict]:
    """Each pair's ratio: the median over the rounds, each round's, and both sides' figures."""
    pairs: dict[str, dict] = {}
    for pair in PAIRS:
        mine = [run for run in pair_runs if run.pair == pair.key]
        if not mine:
            continue
        pairs[pair.key] = {
            "label": pair.label,
            "base": pair.base,
            "other": pair.other,
            "ratio": median_or_none([run.ratio for run in mine]),
            "ratios": [run.ratio for run in mine],
            "cpu_ratio": median_or_none([run.cpu_ratio for run in mine]),
            "base_rps": median_or_none([run.base.rps for run in mine]),
            "other_rps": median_or_none([run.other.rps for run in mine]),
            "base_cpu_us": median_or_none([run.base.cpu_us_per_request for run in mine]),
            "other_cpu_us": median_or_none([run.other.cpu_us_per_request for run in mine]),
            "quiet_s": sum(run.base.quiet_s for run in mine),
            "window_s": sum(run.base.window_s for run in mine),
        }
    return pairs


def measure_goals(
    configs: dict, header: dict, runs: list[Run] | None = None, pairs: dict[str, dict] | None = None
) -> list[dict]:
    """The goals' table: ratios side by side (``pairs``), each round's, and the ratio of runs alone."""
    runs, pairs = runs or [], pairs or {}
    measured: dict[str, float | None] = {}
    rounds: dict[str, list[float]] = {}
    alone: dict[str, float | None] = {}
    for goal in GOALS:  # a goal named after a pair reads that pair's ratio
        if pair := PAIR_BY_KEY.get(goal.key):
            measured[goal.key] = pairs.get(goal.key, {}).get("ratio")
            rounds[goal.key] = [ratio for ratio in pairs.get(goal.key, {}).get("ratios", []) if ratio is not None]
            alone[goal.key] = ratio_of(configs, pair.other, pair.base, "rps")
    signed = header.get("decision_100", {})
    if "best_us" not in signed:  # the runtime no longer offers the decision path: the signer alone
        signed = header.get("signer", {})
    # timeit's best round, as Python's documentation advises: slower rounds are other processes.
    measured["header"] = signed.get("best_us")
    clients = [client for _, client in CLIENTS]
    memory = [ratio_of(configs, f"mem_{c}_100", f"mem_{c}_plain", "peak_rss_kib") for c in clients]
    memory = [value for value in memory if value is not None]
    measured["memory"] = max(memory) if memory else None
    per_client = [round_ratios(runs, f"mem_{c}_100", f"mem_{c}_plain", "peak_rss_kib") for c in clients]
    measured_clients = [ratios for ratios in per_client if ratios]
    rounds["memory"] = [max(pair) for pair in zip(*measured_clients, strict=False)] if measured_clients else []
    rows = []
    for goal in GOALS:
        value = measured.get(goal.key)
        rows.append(
            {
                "key": goal.key,
                "measure": goal.measure,
                "goal": goal.text(),
                "measured": value,
                "unit": goal.unit,
                "passed": goal.met(value),
                "rounds": rounds.get(goal.key, []),
                "alone": alone.get(goal.key),
            }
        )
    return rows


def resolution(pairs: dict) -> float | None:
    """How far from 1 the same configuration beside itself came out (A/A): a ratio's noise in this run."""
    ratios = [r for _, client in CLIENTS for r in pairs.get(f"{client}_aa", {}).get("ratios", []) if r is not None]
    return max(abs(ratio - 1) for ratio in ratios) if ratios else None


def _memory_row(baseline: dict, goals: list[dict]) -> dict | None:
    """The memory ratio before and now, judged by its rounds: a change within the wider spread of the
    two runs' rounds is noise."""
    now = next((row for row in goals if row["key"] == "memory"), {})
    was = next((row for row in baseline.get("goals", []) if row.get("key") == "memory"), {})
    if now.get("measured") is None:
        return None
    row = {"pair": "memory", "label": now["measure"], "before": was.get("measured"), "now": now["measured"]}
    if row["before"] is None:
        return row | {"change": None, "verdict": "new"}
    spread = max((max(r) - min(r) for r in (was.get("rounds") or [], now.get("rounds") or []) if r), default=0.0)
    change = row["now"] - row["before"]
    verdict = "within the rounds' spread" if abs(change) <= spread else "outside the rounds' spread"
    return row | {"change": change, "verdict": verdict}


def compare(baseline: dict, pairs: dict, goals: list[dict], source: str) -> dict:
    """This run's pair ratios against ``baseline`` (an earlier ``results.json``), each judged by this
    run's :func:`resolution`: a change within it is not measurable on this machine; and the memory
    ratio, judged by its rounds."""
    spread = resolution(pairs)
    before = baseline.get("pairs", {})
    rows = []
    for key, data in pairs.items():
        if key.endswith("_aa") or data.get("ratio") is None:
            continue
        was = before.get(key, {}).get("ratio")
        change = None if was is None else data["ratio"] - was
        if change is None:
            verdict = "new"
        elif spread is None:
            verdict = "no A/A to tell"
        else:
            verdict = "within the A/A spread" if abs(change) <= spread else "outside the A/A spread"
        rows.append({"pair": key, "label": PAIR_BY_KEY[key].label, "before": was, "now": data["ratio"],
                     "change": change, "verdict": verdict})  # fmt: skip
    if memory := _memory_row(baseline, goals):
        rows.append(memory)
    return {
        "source": source,
        "date": baseline.get("machine", {}).get("date", "unknown"),
        "commit": baseline.get("machine", {}).get("commit", "unknown"),
        "quick": bool(baseline.get("settings", {}).get("quick")),
        "resolution": spread,
        "rows": rows,
    }
