"""The benchmark's results as Markdown: the goals, the pairs, the runs alone, the header, the profiles,
what the figures say, the comparison with the previous results, and the machine (``results.md``)."""

from __future__ import annotations

from bench.configs import BUDGET, CLIENTS, CONFIG_BY_KEY, COVERAGE, GOALS, PAIR_BY_KEY
from bench.measuring import MIN_QUIET_SECONDS, QUIET_LIMIT
from bench.processes import LOCUST_CORE, TARGET_CORE
from bench.profiles import RUNTIME_PACKAGE
from scripts.processes import LOOPBACK

LIBRARIES = {"http": "requests, urllib3 and http.client", "fast": "geventhttpclient"}
TRACED_NAMES = {"http": "HttpTidewaysUser", "fast": "FastHttpTidewaysUser"}
HEADER_CASES = {
    "signer": "`TidewaysSigner(key).fresh_header()`: MD5-keyed HMAC-SHA256 and the header string",
    "decision_100": "`_Tracer.{method}()` at trace rate 100: sample, check the origin, sign, new headers dict",
    "decision_1": "`_Tracer.{method}()` at trace rate 1 (one request in 100 signs)",
    "request_100": "the `client.request` wrapper at trace rate 100, less an unwrapped call",
    "request_1": "the `client.request` wrapper at trace rate 1, less an unwrapped call",
}


def number(value: float | None, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def format_measured(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}{unit}" if unit else f"{value:.3f}"


def verdict(passed: bool | None) -> str:
    return {True: "pass", False: "**MISSED**", None: "not measured"}[passed]


def table(head: list[str], align: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; ``align`` holds ``---`` or ``---:`` for each column."""
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def goals_table(rows: list[dict]) -> str:
    return table(
        ["measure", "goal", "measured", "result", "each round", "runs alone"],
        ["---"] * 6,
        [
            [
                row["measure"],
                row["goal"],
                format_measured(row["measured"], row["unit"]),
                verdict(row["passed"]),
                ", ".join(f"{value:.3f}" for value in row.get("rounds") or []) or "-",
                "-" if row.get("alone") is None else f"{row['alone']:.3f}",
            ]
            for row in rows
        ],
    )


def _share(value: float | None) -> str:
    return number(None if value is None else value * 100, ".0f", " %")


def runs_table(configs: dict) -> str:
    rows = []
    for data in configs.values():
        rss = data["peak_rss_kib"]
        rows.append(
            [
                data["label"],
                str(data["users"]),
                number(data["rps"], ",.0f"),
                ", ".join(number(rps, ",.0f") for rps in data["rps_rounds"]),
                _share(data["locust_cpu"]),
                number(data["cpu_us_per_request"], ".1f"),
                _share(data["target_cpu"]),
                f"{data['traced'] / data['requests']:.2%}" if data["requests"] else "n/a",
                str(data["failures"]),
                number(None if rss is None else rss / 1024, ".1f", " MiB"),
                f"{data['quiet_s']}/{data['window_s']}",
                _share(data["foreign_load"]),
            ]
        )
    head = ["configuration", "users", "requests/s (median)", "each round", "Locust CPU", "CPU µs/request"]
    head += ["nginx CPU", "traced", "failed", "peak RSS", "quiet seconds", "others' load"]
    return table(head, ["---", "---:", "---:", "---", *["---:"] * 8], rows)


def pairs_table(pairs: dict) -> str:
    rows = [
        [
            data["label"],
            number(data["ratio"], ".3f"),
            ", ".join(number(ratio, ".3f") for ratio in data["ratios"]),
            f"{number(data['base_rps'], ',.0f')} / {number(data['other_rps'], ',.0f')}",
            f"{number(data['base_cpu_us'], '.1f')} / {number(data['other_cpu_us'], '.1f')}",
            f"{data['quiet_s']}/{data['window_s']}",
        ]
        for data in pairs.values()
    ]
    head = ["side by side", "ratio (median)", "each round", "requests/s, baseline / other"]
    head += ["CPU µs/request, baseline / other", "quiet seconds"]
    return table(head, ["---", "---:", "---", "---", "---", "---:"], rows)


def header_table(header: dict) -> str:
    rows = []
    for key, template in HEADER_CASES.items():
        text = template.format(method=header.get("decision_method") or "prepare")
        data = header.get(key, {})
        if "error" in data:
            rows.append([text, f"not timed: {data['error']}", ""])
        else:
            rows.append([text, number(data.get("best_us"), ".2f"), number(data.get("median_us"), ".2f")])
    return table(["what is timed", "µs per call (best round)", "median round"], ["---", "---:", "---:"], rows)


def comparison_table(comparison: dict) -> list[str]:
    spread = comparison["resolution"]
    kind = "a --quick run" if comparison["quick"] else "a full run"
    lines = [
        f"Against `{comparison['source']}` ({kind} of {comparison['date']}, commit {comparison['commit']}). "
        + (
            f"This run's A/A pairs came out within {spread:.3f} of 1: a change of a ratio side by side within "
            "that is noise on this machine, not a change of the runtime. Memory is judged by its rounds."
            if spread is not None
            else "This run measured no A/A pair, so no change can be told from noise."
        ),
        "",
    ]
    rows = [
        [row["label"], number(row["before"], ".3f"), number(row["now"], ".3f"), number(row["change"], "+.3f"),
         row["verdict"]]
        for row in comparison["rows"]
    ]  # fmt: skip
    return [*lines, table(["side by side", "before", "now", "change", "verdict"], ["---", *["---:"] * 3, "---"], rows)]


def remaining_cost(configs: dict, pairs: dict, header: dict) -> list[str]:
    """What tracing still costs per request (side by side), against what the runtime's code takes alone."""
    notes = []
    for _, client in CLIENTS:
        for what, timed_key in (("1", "request_1"), ("100", "request_100"), ("bearer", None), ("coverage", None)):
            data = pairs.get(f"{client}_{what}", {})
            a, b = data.get("base_cpu_us"), data.get("other_cpu_us")
            if a is None or b is None or data.get("ratio") is None:
                continue
            timed = header.get(timed_key, {}).get("best_us") if timed_key else None
            explained = (
                f"; the wrapper with its decision and header, timed alone, takes {timed:.2f} µs" if timed else ""
            )
            name = {
                "bearer": f"{TRACED_NAMES[client]} at 1 logged in with a bearer token",
                "coverage": f"{TRACED_NAMES[client]} at 1 with coverage and budget",
            }.get(what, f"{TRACED_NAMES[client]} at {what}")
            notes.append(
                f"- {name}: {data['ratio']:.3f} of plain Locust's requests/s side by side. "
                f"CPU per request {a:.1f} -> {b:.1f} µs ({b - a:+.1f} µs, {(b - a) / a:+.1%}){explained}."
            )
    for _, client in CLIENTS:
        plain, traced = configs.get(f"mem_{client}_plain", {}), configs.get(f"mem_{client}_100", {})
        a, b = plain.get("peak_rss_kib"), traced.get("peak_rss_kib")
        if a and b:
            notes.append(
                f"- {TRACED_NAMES[client]} at 100 with {traced['users']:,} users: peak RSS "
                f"{a / 1024:.1f} -> {b / 1024:.1f} MiB, {(b - a) / traced['users']:+.2f} KiB per user (the user's "
                "tracer and wrapper, the deeper stack each waiting greenlet keeps, the headers of requests in flight)."
            )
    return notes


def _login_analysis(pairs: dict, client: str, name: str) -> str | None:
    """A bearer login at rate 1 against its floor (the token alone) and tracing at 1 without a login."""
    bearer = pairs.get(f"{client}_bearer", {}).get("ratio")
    floor = pairs.get(f"{client}_authorization", {}).get("ratio")
    traced = pairs.get(f"{client}_1", {}).get("ratio")
    if bearer is None or floor is None or traced is None:
        return None
    code = max(floor + traced - 1 - bearer, 0)
    return (
        f"- {name} logged in with a bearer token (`--app-login bearer`) and traced at 1: {bearer:.3f} of plain "
        f"{name}. The `Authorization` header alone, sent by plain {name} as its session's own header, reaches "
        f"{floor:.3f}: {1 - floor:.1%} is what one more header costs {LIBRARIES[client]}, whoever adds it. Traced "
        f"at 1 without a login: {traced:.3f}. What is left, about {code:.1%}, is the login's own code on each "
        "request (adding the header, looking at each answer for a lost login)."
    )


def _coverage_analysis(pairs: dict, client: str, name: str) -> str | None:
    """Coverage and budget at rate 1 beside today's sampler at 1 (the direct pair), and each beside plain."""
    key = f"{client}_coverage_vs_1"
    data = pairs.get(key, {})
    direct, a, b = data.get("ratio"), data.get("base_cpu_us"), data.get("other_cpu_us")
    if direct is None:
        return None
    traced = TRACED_NAMES[client]
    goal = next((goal for goal in GOALS if goal.key == key), None)
    text = (
        f"- {traced} at 1 with `--tideways-trace-coverage {COVERAGE} --tideways-trace-budget {BUDGET}` (traced "
        "requests a minute: rate 1 stays far below it here, so its check runs on every traced request and never "
        "caps): "
        f"{direct:.3f} of {traced} at 1 without them, side by side" + (f" (goal {goal.text()})" if goal else "")
    )
    if a is not None and b is not None:
        text += f"; CPU per request {a:.1f} -> {b:.1f} µs ({b - a:+.1f} µs)"
    with_them, without = pairs.get(f"{client}_coverage", {}).get("ratio"), pairs.get(f"{client}_1", {}).get("ratio")
    if with_them is not None and without is not None:
        text += (
            f". Beside plain {name}: {with_them:.3f} with them, {without:.3f} without (two other pairs, each with "
            "its own noise: the direct pair is the measure)"
        )
    return text + "."


def analysis(pairs: dict, header: dict, goals: list[dict]) -> list[str]:
    """The measured cost, split into what the headers cost Locust's HTTP library (plain Locust
    sending them itself) and what the runtime's code adds."""
    lines = []
    controls = []
    for client, name in ((short, full) for full, short in CLIENTS):
        ratios = [ratio for ratio in pairs.get(f"{client}_aa", {}).get("ratios", []) if ratio is not None]
        if ratios:
            controls.append(f"plain {name} beside itself {min(ratios):.3f} to {max(ratios):.3f}")
        floor = pairs.get(f"{client}_headers", {}).get("ratio")
        if floor is not None:
            lines.append(
                f"- {name}, the headers alone: plain {name} sending the same two headers on every request as "
                f"its session's own headers (the cheapest way it offers), with no runtime, reaches {floor:.3f} "
                f"of plain {name}. That is what two more headers cost in Locust and {LIBRARIES[client]} "
                "(merging, checking and sending them), whoever adds them: every traced request pays it."
            )
        for rate in ("1", "100"):
            data = pairs.get(f"{client}_{rate}", {})
            base, ratio = data.get("base_cpu_us"), data.get("ratio")
            timed = header.get(f"request_{rate}", {}).get("best_us")
            if base is None or ratio is None or timed is None:
                continue
            text = (
                f"- {name} at {rate}: the runtime's code timed alone ({timed:.2f} µs a request) predicts "
                f"{base / (base + timed):.3f} without the headers' own cost; measured {ratio:.3f}."
            )
            if floor is not None:
                headers_share = (1 - floor) * float(rate) / 100  # at rate r, r % of the requests pay the headers
                text += (
                    f" The headers account for {headers_share:.1%} of requests/s at this rate, the runtime's "
                    f"code for about {max(1 - ratio - headers_share, 0):.1%} (the same code runs slower under "
                    "load than timed alone: cold caches)."
                )
            lines.append(text)
        if login := _login_analysis(pairs, client, name):
            lines.append(login)
        if coverage := _coverage_analysis(pairs, client, name):
            lines.append(coverage)
    if controls:
        lines.insert(0, f"- resolution: {'; '.join(controls)} (A/A, per round).")
    missed = [row["measure"] for row in goals if row["passed"] is False]
    if missed:
        lines.append("- missed: " + "; ".join(missed) + ".")
    return lines


def profile_section(profiles: list[dict]) -> list[str]:
    lines = []
    for profile in profiles:
        pair = PAIR_BY_KEY[profile["pair"]]
        label = pair.label
        plain_base = CONFIG_BY_KEY[pair.base].trace_rate is None
        base_name, other_name = ("plain", "traced") if plain_base else ("baseline", "other")
        beside = "plain Locust" if plain_base else "the baseline"
        if "error" in profile:
            lines += [f"- {label}: {profile['error']}", ""]
            continue
        a, b = profile["base_us"], profile["other_us"]
        lines += [
            f"### {label}",
            "",
            f"CPU per request in the profiled seconds: {a:.1f} µs {base_name}, {b:.1f} µs {other_name} "
            f"({b - a:+.1f} µs). The runtime's own code is {profile['runtime_share']:.1%} of the {other_name} "
            f"process's {profile['samples']:,} py-spy samples, about {profile['runtime_share'] * b:.1f} µs per request "
            f"({profile['wrapped_share']:.1%} are Locust's request under its wrapper). The runtime's lines "
            "(py-spy's line numbers can be one off):",
            "",
        ]
        rows = [
            [row["function"], f"{row['module']}:{row['line']}", "`" + row["code"].replace("|", "\\|") + "`",
             row["calls"] or "(itself, C calls)", f"{row['share'] * b:.2f}"]
            for row in profile["lines"]
        ]  # fmt: skip
        lines += [table(["function", "module:line", "code", "calling", "µs per request"], ["---"] * 4 + ["---:"], rows)]
        for intro, key, what in (
            (f"Where Locust and its libraries spend more per request beside {beside}, including what they "
             "call (one profile: differences under about 3 µs are sampling noise):", "growth", "function"),
            ("The lines whose own time grows most (the line that was running):", "own_growth", "line"),
        ):  # fmt: skip
            rows = [
                [f"`{row['function']}`", f"{row['base_us']:.1f}", f"{row['other_us']:.1f}",
                 f"{row['other_us'] - row['base_us']:+.1f}"]
                for row in profile[key]
            ]  # fmt: skip
            head = [what, f"{base_name} µs/request", f"{other_name} µs/request", "more"]
            lines += ["", intro, "", table(head, ["---", "---:", "---:", "---:"], rows)]
        lines.append("")
    return lines


def control_range(pairs: dict) -> str:
    """How far apart the same configuration beside itself came out: the resolution of a ratio."""
    ratios = [r for _, c in CLIENTS for r in pairs.get(f"{c}_aa", {}).get("ratios", []) if r is not None]
    return f"came out between {min(ratios):.3f} and {max(ratios):.3f}" if ratios else "was not measured"


def results_markdown(results: dict) -> str:
    s = results["settings"]
    m = results["machine"]
    pairs = results.get("pairs", {})
    title = "# Benchmark results" + (" (--quick: a developer's check, not for publishing)" if s["quick"] else "")
    lines = [
        title,
        "",
        f"`python -m bench.run{' --quick' if s['quick'] else ''}` on {m['date']}, {results['duration_s'] / 60:.1f} "
        f"min: {s['rounds']} round(s), each running every configuration once in alternating order, "
        f"{s['run_time_s']} s a run, {s['users']} users with no wait requesting `/` from nginx on {LOOPBACK} "
        f"(core {TARGET_CORE}); Locust on core {LOCUST_CORE}. requests/s counts whole seconds after a "
        f"{s['warmup_s']} s warm-up. Memory runs: {s['memory_users']:,} users, {s['memory_run_time_s']} s.",
        "",
        "The ratios are measured side by side: the traced and the plain Locust run at the same time, both on "
        f"core {LOCUST_CORE}, which the scheduler shares between them, so both meet the same machine at the same "
        "moments. Runs alone (last column) swing by up to ±20 % from run to run on this shared virtual machine, "
        "far more than the goals' margins; side by side, the same configuration beside itself "
        f"{control_range(pairs)} (the A/A rows below): differences smaller than that are not measurable here.",
        "",
        goals_table(results["goals"]),
        "",
        "![requests/s, ratios and header cost](chart.png)",
        "",
        "## Side by side",
        "",
        pairs_table(pairs) if pairs else "Not run.",
        "",
    ]
    if results.get("comparison"):
        lines += ["## Against the previous results", "", *comparison_table(results["comparison"]), ""]
    lines += [
        "## Runs alone",
        "",
        runs_table(results["configs"]) if results["configs"] else "Not run.",
        "",
        ("Only the memory runs ran alone (--quick). " if not s.get("alone", True) else "")
        + "Locust CPU is the share of its core Locust used while measured: near 100 % means the load generator, "
        "not nginx, sets the pace. CPU µs/request is that CPU time per completed request. Traced is the share "
        "of responses that said nginx saw an `X-Tideways-Profiler` header. Peak RSS is the Locust process's "
        "maximum resident set. Quiet seconds: the measured seconds in which other processes (other developers' "
        f"tests on this shared machine) took less than {QUIET_LIMIT:.0%} of Locust's or nginx's core; requests/s "
        f"counts only those when there are at least {MIN_QUIET_SECONDS} in a run. Others' load: their median "
        "share of the busier of the two cores during a run.",
        "",
        "## Cost of one header",
        "",
        "Timed with `timeit` in the baked project's virtualenv, pinned to core 0, before the load runs. "
        "The goal takes the decision at rate 100 (the whole cost of a signed header) and the best round, as "
        "Python's documentation advises: slower rounds are other processes.",
        "",
        header_table(results["header_cost"]),
        "",
        "## Remaining cost",
        "",
        *(remaining_cost(results["configs"], pairs, results["header_cost"]) or ["- not measured"]),
        "",
    ]
    if results.get("analysis"):
        lines += ["## Why", "", *results["analysis"], ""]
    if results.get("profiles"):
        lines += ["## Profiles", "", *profile_section(results["profiles"])]
    lines += [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; {m['memory']}; Linux {m['kernel']}",
        f"- Python {m['python']}, Locust {m['locust']} (requests {m['requests']}, geventhttpclient "
        f"{m['geventhttpclient']}, gevent {m['gevent']}); {m['nginx']}",
        f"- template commit {m['commit']}; the `{RUNTIME_PACKAGE}` package measured has sha256 "
        f"{m['runtime_sha256']}... (its modules, in order)",
        f"- load average when the run started: {m['loadavg']}",
        "",
    ]
    if results["problems"]:
        lines += ["## Problems", "", *[f"- {problem}" for problem in results["problems"]], ""]
    return "\n".join(lines)
