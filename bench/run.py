"""``make bench`` (``python -m bench.run``): what tracing costs next to plain Locust, on this machine.

1. bakes the template with its default answers into a temporary folder and uses the baked
   ``tideways_locust`` from there (``PYTHONPATH``), in the shared baked-project virtualenv
   (``scripts/baked_venv.py``);
2. starts nginx as the target (:mod:`bench.target`) on 127.0.0.1, pinned to core 1;
3. times one profiling header with ``timeit`` (``bench/header_cost.py``);
4. runs each configuration (:mod:`bench.configs`) as ``locust --headless`` pinned to core 0, in
   alternating order over several rounds (:mod:`bench.runner`): plain ``HttpUser`` and ``FastHttpUser``
   against ``HttpTidewaysUser`` and ``FastHttpTidewaysUser`` at trace rates 1 and 100, each user
   requesting ``/`` with no wait; the same clients with 1,000 users for peak memory; and, in the same
   rounds, pairs side by side on core 0: each traced configuration beside its plain baseline, each
   plain one beside itself (A/A), plain Locust sending the two trace headers as its session's own
   (their floor), a bearer login traced at 1, plain Locust sending the same ``Authorization``
   header (that login's floor), and tracing at 1 with ``--tideways-trace-coverage 1
   --tideways-trace-budget 60000`` (a budget a minute that rate 1 stays far below here, so its
   check runs on every traced request and never caps) twice: beside plain Locust, and beside
   today's sampler at 1 without those options (the direct comparison, whose ratio has the goal
   >= 0.995: within 0.5 point of today's). The header, login and coverage configurations only run
   side by side;
5. profiles with py-spy the pairs that missed a goal, both sides at once (:mod:`bench.profiles`): a
   traced configuration beside plain Locust, or coverage and budget beside today's sampler at 1;
6. writes ``results.md`` (:mod:`bench.report`), ``results.json`` and ``chart.png`` (:mod:`bench.chart`)
   to ``bench/results/`` (``bench/results/quick/`` for ``--quick``), compares the ratios with the
   committed results (:func:`bench.stats.compare`) and prints the goals' table.

Why side by side: on a shared virtual machine a run alone swings by ±20 % from one run to the next,
far more than the goals' margins. Two Locust processes on one core share it through the scheduler
and meet the machine at the same moments, so their ratio keeps within about ±1 % (the A/A pairs
show it). The goals' ratios come from those pairs; the ratios of the runs alone are reported beside.

The coverage goal's 0.5 point is finer than one round's noise (the A/A pairs come out within about
±1 %): it reads the median over the rounds, with each round beside it, and a miss by less than this
run's A/A spread is not a measured regression.

Exit status: 0 when every run was valid (goals missed are reported, not failed), 1 when a run failed,
had failed requests or traced the wrong share (with coverage, the first request of each endpoint is
traced on top of the rate), 2 on bad options.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.chart import write_chart
from bench.configs import ALONE, CONFIG_BY_KEY, PAIR_BY_KEY, PAIRS, Config, Pair
from bench.machine import machine_info
from bench.measuring import PairRun, Run
from bench.processes import LOCUST_CORE, TARGET_CORE, BenchError, Children, check_machine
from bench.profiles import find_py_spy, profile
from bench.report import analysis, goals_table, results_markdown
from bench.runner import Runner
from bench.settings import REPO, Settings, parse_args
from bench.stats import aggregate, aggregate_pairs, compare, measure_goals
from bench.target import ensure_nginx, start_nginx


def bake(work: Path) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(REPO), no_input=True, output_dir=str(work / "bake")))


def schedule(settings: Settings) -> Iterator[tuple[int, Config | Pair]]:
    """Every configuration alone and every pair once a round, forwards in odd rounds, backwards in even ones.
    Without runs alone (``--quick``), only the memory runs run alone."""
    alone = ALONE if settings.alone else [config for config in ALONE if config.kind == "memory"]
    everything: list[Config | Pair] = [*alone, *PAIRS]
    for round_no in range(1, settings.rounds + 1):
        for item in everything if round_no % 2 else list(reversed(everything)):
            yield round_no, item


def measure(runner: Runner, settings: Settings) -> tuple[list[Run], list[PairRun]]:
    """Every run of the schedule, each said in one line as it ends."""
    runs: list[Run] = []
    pair_runs: list[PairRun] = []
    planned = list(schedule(settings))
    for index, (round_no, item) in enumerate(planned, start=1):
        prefix = f"[{index}/{len(planned)}] round {round_no}: {item.label}"
        if isinstance(item, Pair):
            pair_run = runner.run_pair(item, round_no)
            pair_runs.append(pair_run)
            base, other = pair_run.base, pair_run.other
            ratio = "n/a" if pair_run.ratio is None else f"{pair_run.ratio:.3f}"
            rates = f"{base.rps or 0:,.0f} / {other.rps or 0:,.0f} requests/s"
            problems = base.problems + other.problems
            print(f"{prefix}: {ratio} ({rates}, {base.quiet_s}/{base.window_s} s quiet)", end="")
        else:
            run = runner.run(item, round_no)
            runs.append(run)
            rps = "" if run.rps is None else f"{run.rps:,.0f} requests/s ({run.quiet_s}/{run.window_s} s quiet), "
            problems = run.problems
            print(f"{prefix}, {run.users} users: {rps}peak {run.peak_rss_kib / 1024:.0f} MiB", end="")
        print(f"  PROBLEM: {'; '.join(problems)}" if problems else "", flush=True)
    return runs, pair_runs


def profiles_for(runner: Runner, settings: Settings, goals: list[dict]) -> list[dict]:
    if settings.profile == "always":
        keys = [pair.key for pair in PAIRS if pair.base != pair.other]
    elif settings.profile == "auto":
        keys = [row["key"] for row in goals if row["passed"] is False and row["key"] in PAIR_BY_KEY]
    else:
        keys = []
    py_spy = find_py_spy() if keys else None
    if keys and py_spy is None:
        print("py-spy is missing (pip install -r bench/requirements.txt): no profiles")
        return []
    found = []
    for key in keys:
        print(f"Profiling {PAIR_BY_KEY[key].label} with py-spy ...", flush=True)
        found.append(profile(runner, PAIR_BY_KEY[key], py_spy))
    return found


def problems_of(runs: list[Run], pair_runs: list[PairRun]) -> list[str]:
    found = [f"{CONFIG_BY_KEY[run.config].label}, round {run.round}: {p}" for run in runs for p in run.problems]
    for pair_run in pair_runs:
        label = PAIR_BY_KEY[pair_run.pair].label
        found += [f"{label}, round {pair_run.round}: {p}" for p in pair_run.base.problems + pair_run.other.problems]
    return found


def read_baseline(settings: Settings) -> tuple[dict | None, str]:
    """The earlier results to compare with, read before this run writes over them."""
    if settings.baseline is None:
        return None, ""
    try:
        return json.loads(settings.baseline.read_text()), os.path.relpath(settings.baseline, REPO)
    except (OSError, ValueError) as error:
        print(f"Not compared with {settings.baseline}: {error}")
        return None, ""


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    baseline, baseline_source = read_baseline(settings)
    children = Children()
    work = Path(tempfile.mkdtemp(prefix="tideways-locust-bench-"))
    try:
        check_machine()
        nginx = ensure_nginx()
        from scripts.baked_venv import ensure_baked_venv

        python = ensure_baked_venv()
        project = bake(work)
        print(f"Baked the default answers into {project}; Locust runs {python}")
        os.sched_setaffinity(0, {TARGET_CORE})  # this process only waits and samples /proc: off Locust's core
        target = start_nginx(nginx, work, children)
        print(f"nginx ({nginx}) serves {target.url} on core {TARGET_CORE}; Locust runs on core {LOCUST_CORE}")
        runner = Runner(settings, python, project, work, target, children)
        print("Timing one header with timeit ...", flush=True)
        header = runner.header_cost()
        runs, pair_runs = measure(runner, settings)
        configs, pairs = aggregate(runs), aggregate_pairs(pair_runs)
        goals = measure_goals(configs, header, runs, pairs)
        results = {
            "settings": settings.summary(),
            "machine": machine_info(python, nginx, project),
            "goals": goals,
            "configs": configs,
            "header_cost": header,
            "pairs": pairs,
            "comparison": compare(baseline, pairs, goals, baseline_source) if baseline else None,
            "runs": [run.__dict__ for run in runs],
            "pair_runs": [pair_run.as_dict() for pair_run in pair_runs],
            "profiles": profiles_for(runner, settings, goals),
            "analysis": analysis(pairs, header, goals),
            "problems": problems_of(runs, pair_runs),
            "duration_s": time.monotonic() - started,
        }
    except BenchError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    finally:
        children.stop_all()
        if settings.keep:
            print(f"The temporary folder stays in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    settings.output.mkdir(parents=True, exist_ok=True)
    (settings.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (settings.output / "results.md").write_text(results_markdown(results))
    write_chart(results, settings.output / "chart.png")
    print()
    print(goals_table(goals))
    minutes = results["duration_s"] / 60
    print(f"\nResults: {settings.output / 'results.md'}, results.json and chart.png ({minutes:.1f} min)")
    if results["problems"]:
        print("Some runs are not valid:\n  " + "\n  ".join(results["problems"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
