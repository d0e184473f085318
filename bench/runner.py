"""Running Locust for the benchmark: one configuration alone, or two side by side, and the header's timing.

Each run is ``locust --headless`` in the baked project's virtualenv, with the baked ``tideways_locust``
on ``PYTHONPATH``, pinned to ``LOCUST_CORE``, against the target on 127.0.0.1 only, from an empty
folder (no ``locust.conf`` is read). Every process is bounded in time and stopped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.configs import BEARER_TOKEN, CONFIG_BY_KEY, Config, Pair
from bench.measuring import PairRun, Run, check_traced, measure_window, read_stats, shared_seconds
from bench.processes import LOCUST_CORE, BenchError, Children, Sample, pinned, sampler, wait_all
from bench.settings import BENCH, LOCUSTFILES, Settings
from bench.target import Target, traced_count
from scripts.processes import LOOPBACK

API_KEY = "bench-throwaway-key-not-a-real-one"
RUN_GRACE = 60  # seconds a Locust run may take past its --run-time (start-up, shutdown)


def locust_env(project: Path, config: Config | None) -> dict[str, str]:
    """This environment without Locust's, Python's or the logins' settings, and what ``config`` needs."""
    dropped = ("LOCUST_", "PYTHON", "VIRTUAL_ENV", "LOGIN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["PYTHONPATH"] = str(project)
    if config is not None and config.trace_rate is not None:
        env["LOCUST_TIDEWAYS_APIKEY"] = API_KEY  # throwaway: nginx does not check it
        env["LOCUST_TIDEWAYS_EVENT"] = "none"  # the requests are measured, and only loopback answers
    if config is not None and (config.login == "bearer" or config.headers == "authorization"):
        env["LOGIN_TOKEN"] = BEARER_TOKEN
    return env


def tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Runner:
    settings: Settings
    python: Path
    project: Path
    work: Path
    target: Target
    children: Children

    def locust_command(self, config: Config, users: int, run_time: int, stem: Path) -> list[str]:
        if not self.target.url.startswith(f"http://{LOOPBACK}:"):
            raise BenchError(f"refusing to load {self.target.url}: only {LOOPBACK}")
        command = [str(self.python), "-m", "locust", "-f", str(LOCUSTFILES / config.locustfile), "--headless"]
        command += ["--only-summary", "--host", self.target.url, "--users", str(users), "--spawn-rate", str(users)]
        command += ["--run-time", f"{run_time}s", "--json-file", str(stem)]
        if config.trace_rate is not None:
            command += ["--tideways-trace-rate", f"{config.trace_rate:g}"]
        if config.login:
            command += ["--app-login", config.login]
        if config.trace_coverage:
            command += ["--tideways-trace-coverage", str(config.trace_coverage)]
        if config.trace_budget:
            command += ["--tideways-trace-budget", str(config.trace_budget)]
        return pinned(LOCUST_CORE, [*command, config.user_class])

    def start_locust(self, config: Config, users: int, run_time: int, stem: Path) -> subprocess.Popen:
        run_dir = self.work / "runs"  # empty: no locust.conf or pyproject.toml is read from it
        run_dir.mkdir(exist_ok=True)
        with open(f"{stem}.log", "wb") as log:
            return self.children.start(
                self.locust_command(config, users, run_time, stem),
                cwd=run_dir,
                env=locust_env(self.project, config),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def sampler(self, started: list[subprocess.Popen], samples: list[list[Sample]]):
        return sampler(started, self.target.process.pid, samples)

    def collect(self, run: Run, config: Config, stem: Path, usage, samples: list[Sample], bounds=None) -> Run:
        """Fill ``run`` from Locust's stats file and the samples; note what makes it invalid."""
        run.peak_rss_kib = usage.ru_maxrss
        memory = config.kind == "memory"
        if run.returncode != 0:
            run.problems.append(f"Locust exited with {run.returncode} (log: {stem}.log)")
        json_file = Path(f"{stem}.json")
        if not json_file.exists():
            run.problems.append(f"Locust wrote no stats (log: {stem}.log): {tail(Path(f'{stem}.log'))}")
            return run
        run.requests, run.failures, content, per_second = read_stats(json_file)
        run.traced = traced_count(run.requests, content)
        if run.failures:
            run.problems.append(f"{run.failures} of {run.requests} requests failed")
        if problem := check_traced(config.expected_traced, run.requests, run.traced, config.always_traced):
            run.problems.append(problem)
        if config.trace_budget and run.traced >= config.trace_budget:  # fewer in the whole run: never capped
            run.problems.append(f"{run.traced} traced requests reached the trace budget of {config.trace_budget}")
        window = measure_window(per_second, samples, 0 if memory else self.settings.warmup, bounds)
        if window is None:
            if not memory:
                run.problems.append("the run was too short to measure requests/s after the warm-up")
            return run
        for name, value in window.items():
            setattr(run, name, value)
        return run

    def run(self, config: Config, round_no: int) -> Run:
        """One Locust process alone on its core."""
        memory = config.kind == "memory"
        users = self.settings.memory_users if memory else self.settings.users
        run_time = self.settings.memory_run_time if memory else self.settings.run_time
        stem = self.work / "runs" / f"{config.key}-round{round_no}"
        stem.parent.mkdir(exist_ok=True)
        process = self.start_locust(config, users, run_time, stem)
        samples: list[Sample] = []
        [(returncode, usage)] = wait_all([process], run_time + RUN_GRACE, self.sampler([process], [samples]))
        return self.collect(Run(config.key, round_no, users, run_time, returncode), config, stem, usage, samples)

    def start_pair(self, pair: Pair, round_no: int, run_time: int, tag: str) -> tuple[list, list[Path]]:
        configs = [CONFIG_BY_KEY[pair.base], CONFIG_BY_KEY[pair.other]]
        if round_no % 2 == 0:  # who starts first alternates too
            configs.reverse()
        stems = [self.work / "runs" / f"{pair.key}-{tag}-{side}-{c.key}" for side, c in zip("ab", configs, strict=True)]
        stems[0].parent.mkdir(exist_ok=True)
        started = [
            self.start_locust(config, self.settings.users, run_time, stem)
            for config, stem in zip(configs, stems, strict=True)
        ]
        return list(zip(configs, started, strict=True)), stems

    def run_pair(self, pair: Pair, round_no: int) -> PairRun:
        """``pair.base`` and ``pair.other`` at once, both on Locust's core, over one shared window."""
        run_time = self.settings.run_time
        started, stems = self.start_pair(pair, round_no, run_time, f"round{round_no}")
        running = [process for _, process in started]
        samples: list[list[Sample]] = [[], []]
        results = wait_all(running, run_time + RUN_GRACE, self.sampler(running, samples))
        per_seconds = []
        for stem in stems:
            with contextlib.suppress(OSError, ValueError, KeyError):
                per_seconds.append(read_stats(Path(f"{stem}.json"))[3])
        bounds = shared_seconds(per_seconds) if len(per_seconds) == 2 else None
        runs = {}
        for (config, _), stem, (returncode, usage), series in zip(started, stems, results, samples, strict=True):
            run = Run(config.key, round_no, self.settings.users, run_time, returncode)
            side = "base" if config.key == pair.base and "base" not in runs else "other"
            runs[side] = self.collect(run, config, stem, usage, series, bounds)
        return PairRun(pair.key, round_no, runs["base"], runs["other"])

    def header_cost(self) -> dict:
        """``bench/header_cost.py`` in the baked project's virtualenv: what one header costs."""
        command = [str(self.python), str(BENCH / "header_cost.py"), "--repeat", str(self.settings.timeit_repeat)]
        command += ["--min-time", str(self.settings.timeit_min_time)]
        result = subprocess.run(
            pinned(LOCUST_CORE, command),
            cwd=self.work,
            env=locust_env(self.project, None),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise BenchError(f"bench/header_cost.py failed: {result.stderr.strip()[-800:]}")
        return json.loads(result.stdout)
