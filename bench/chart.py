"""``chart.png``: requests/s of the runs alone, the ratios side by side against the goals, the header's cost."""

from __future__ import annotations

from pathlib import Path

from bench.configs import CLIENTS, CONFIG_BY_KEY


def _runs_alone(axes, results: dict) -> None:
    configs = {k: v for k, v in results["configs"].items() if v["kind"] == "throughput"}
    colors = {"HttpUser": "#4c72b0", "FastHttpUser": "#dd8452"}
    for index, (key, data) in enumerate(configs.items()):
        traced = CONFIG_BY_KEY[key].trace_rate is not None
        axes.bar(index, data["rps"] or 0, color=colors[data["client"]], alpha=0.55 if traced else 1.0)
        rounds = [rps for rps in data["rps_rounds"] if rps is not None]
        axes.plot([index] * len(rounds), rounds, "k.", markersize=5)
    axes.set_xticks(range(len(configs)))
    axes.set_xticklabels(
        [
            f"{data['client'].removesuffix('User')}\n"
            + ("plain" if data["trace_rate"] is None else f"traced {data['trace_rate']:g} %")
            for data in configs.values()
        ],
        fontsize=8,
    )
    axes.set_ylabel("requests/s (median of rounds; dots: each round)")
    axes.set_title("Locust alone on one core (these swing ±20 % run to run)" if configs else "No runs alone (--quick)")


def _ratio_bars(results: dict) -> list[tuple[str, float | None, list, dict | None]]:
    """(label, ratio, each round's, goal row or None) for each bar of the middle chart."""
    goals = {row["key"]: row for row in results["goals"]}
    pairs = results.get("pairs", {})
    bars = []
    for full, client in CLIENTS:
        name = full.removesuffix("User")
        for key, label in (("aa", "A/A"), ("headers", "headers\nalone"), ("authorization", "bearer\nheader\nalone"),
                           ("bearer", "bearer\nlogin, 1 %")):  # fmt: skip
            data = pairs.get(f"{client}_{key}", {})
            if data:
                bars.append((f"{name}\n{label}", data.get("ratio"), data.get("ratios", []), None))
        for rate in ("1", "100"):
            row = goals.get(f"{client}_{rate}", {})
            bars.append((f"{name} {rate} %\n{row.get('goal', '')}", row.get("measured"), row.get("rounds", []), row))
        data = pairs.get(f"{client}_coverage", {})
        if data:
            bars.append((f"{name}\ncoverage\n+budget, 1 %", data.get("ratio"), data.get("ratios", []), None))
        row = goals.get(f"{client}_coverage_vs_1", {})
        if row:  # beside rate 1 without them, not beside plain
            label = f"{name} cov.\n+budget\n/ 1 %\n{row.get('goal', '')}"
            bars.append((label, row.get("measured"), row.get("rounds", []), row))
    memory = goals.get("memory", {})
    label = f"memory,\n{results['settings']['memory_users']:,} users\n{memory.get('goal', '')}"
    bars.append((label, memory.get("measured"), memory.get("rounds", []), memory))
    return bars


def _ratios(axes, results: dict) -> None:
    bars = _ratio_bars(results)
    values = [v for _, value, rounds, _ in bars for v in [value, *rounds] if v is not None]
    for index, (_, value, rounds, row) in enumerate(bars):
        passed = None if row is None else row.get("passed")
        color = "#999999" if row is None else {True: "#55a868", False: "#c44e52", None: "#dddddd"}[passed]
        axes.bar(index, value or 0, color=color)
        present = [ratio for ratio in rounds if ratio is not None]
        axes.plot([index] * len(present), present, "k.", markersize=4)
        if row is not None and row.get("goal"):
            target = float(row["goal"].split()[1])
            axes.hlines(target, index - 0.4, index + 0.4, colors="black", linestyles="dashed")
        if value is not None:
            axes.text(index, max([value, *present]), f"{value:.3f}", ha="center", va="bottom", fontsize=7)
    axes.set_xticks(range(len(bars)))
    axes.set_xticklabels([label for label, *_ in bars], fontsize=6.5)
    axes.set_ylim(min([0.85, *values]) - 0.03, max([1.1, *values]) + 0.03)
    axes.set_ylabel("other / plain, side by side (dashed: goal; dots: rounds)")
    axes.set_title(
        "Ratios against the goals (A/A: plain beside plain; alone: the headers, no runtime; "
        "/ 1 %: beside traced at 1, not plain)"
    )


def _header(axes, results: dict) -> None:
    header = results["header_cost"]
    keys = [
        key
        for key in ("signer", "decision_100", "request_100", "decision_1", "request_1")
        if "best_us" in header.get(key, {})
    ]
    axes.bar(range(len(keys)), [header[key]["best_us"] for key in keys], color="#8172b2")
    axes.axhline(5.0, color="black", linestyle="dashed")
    axes.set_xticks(range(len(keys)))
    axes.set_xticklabels([key.replace("_", "\n") for key in keys], fontsize=8)
    axes.set_ylabel("µs per call, best round (dashed: 5 µs goal)")
    axes.set_title("One header (timeit)")


def write_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(
        1, 3, figsize=(22, 5.8), gridspec_kw={"width_ratios": [2.4, 4.8, 1.4]}, layout="constrained"
    )
    _runs_alone(left, results)
    _ratios(middle, results)
    _header(right, results)
    figure.suptitle(
        f"tideways_locust vs plain Locust {results['machine']['locust']}, {results['machine']['date']}"
        + (" (--quick)" if results["settings"]["quick"] else ""),
        fontsize=11,
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)
