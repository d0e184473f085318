"""The two runs of a comparison: each a run file and, when the report was made, its report's JSON.

A run is given as its run file or as the folder that holds it
(``tideways-run.json``, beside it ``tideways-report.json`` and the trace log
when they were written). ``differences`` says why two runs cannot be compared:
they did not ask the same load of the same host.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..report.collect import RunFileError, load_run

RUN_FILE = "tideways-run.json"
REPORT_FILE = "tideways-report.json"

REFUSED = {
    "host": "host",
    "users": "users",
    "spawn_rate": "spawn rate",
    "run_time_s": "run time (s)",
    "user_classes": "user classes, tasks, weights and wait times",
    "tags": "--tags",
    "exclude_tags": "--exclude-tags",
    "login": "login",
    "load_profile": "load profile",
}
"""Settings that change the load asked of the host: runs that differ in one are not comparable."""
NOTED = {
    "trace_rate": "trace rate",
    "trace_coverage": "trace coverage (--tideways-trace-coverage)",
    "trace_budget": "trace budget a minute (--tideways-trace-budget)",
    "ref_mode": "X-Tideways-Ref mode",
    "locust": "Locust version",
    "runtime": "tideways_locust runtime",
    "workers": "workers",
}
"""Settings that may move the figures a little: said, never refused."""
DEFAULTS = {"load_profile": "constant", "trace_coverage": 0, "trace_budget": 0}
"""What a run file written before a setting was kept ran with."""


class RunError(Exception):
    """A run that cannot be compared; the message names the path and what to do."""


@dataclass
class Run:
    path: Path  # the run file
    data: dict
    report: dict | None = None  # the report's JSON, when it is of this run
    trace_log: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def settings(self) -> dict:
        return self.data.get("settings") or {}

    @property
    def endpoints(self) -> dict[str, dict]:
        return {_key(e): e for e in self.data.get("endpoints") or [] if isinstance(e, dict)}

    @property
    def transactions(self) -> dict[str, dict]:
        server = (self.report or {}).get("server") or {}
        return {str(t.get("name")): t for t in server.get("transactions") or [] if isinstance(t, dict)}

    def as_dict(self) -> dict:
        run = self.data
        return {
            "path": str(self.path),
            "run_id": run.get("run_id"),
            "start": run.get("start"),
            "end": run.get("end"),
            "commit": self.settings.get("commit"),
            "project": (run.get("tideways") or {}).get("project"),
            "traces_link": (run.get("tideways") or {}).get("traces_link"),
            "report": self.report is not None,
        }


def _key(entry: dict) -> str:
    method = entry.get("method") or ""
    return f"{method} {entry.get('name')}" if method else str(entry.get("name"))


def run_file_of(path: str | Path) -> Path:
    path = Path(path)
    return path / RUN_FILE if path.is_dir() else path


def exists(path: str | Path) -> bool:
    return run_file_of(path).is_file()


def load(path: str | Path, what: str, current: bool = False) -> Run:
    """The run at ``path`` (a run file or its folder); ``what`` names it in messages. Its trace log is
    the file of the logged name beside the run file, or for the ``current`` run, at the logged path."""
    run_file = run_file_of(path)
    if not run_file.is_file():
        raise RunError(
            f"{what}: no run file at {path}: give a run file or a folder holding {RUN_FILE} (the load test "
            "writes it where --tideways-run-file, set in locust.conf, says)"
        )
    try:
        data = load_run(str(run_file))
    except RunFileError as error:
        raise RunError(f"{what}: {error}") from None
    if "settings" not in data or not all("histogram" in e for e in data["endpoints"] if isinstance(e, dict)):
        raise RunError(
            f"{what}: {run_file} was written by an older tideways_locust, without the settings and histograms "
            "a comparison needs: run that load test again (or save a newer run as the baseline)"
        )
    run = Run(run_file, data)
    report_file = run_file.with_name(REPORT_FILE)
    if report_file.is_file():
        try:
            report = json.loads(report_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            run.problems.append(f"{what}: {report_file} cannot be read ({error}): its server side is left out")
        else:
            report_id = ((report or {}).get("run") or {}).get("id") if isinstance(report, dict) else None
            if report_id == data["run_id"]:
                run.report = report
            else:
                run.problems.append(
                    f"{what}: {report_file} is the report of run {report_id}, not of {data['run_id']}: its server "
                    "side is left out (run python -m tideways_locust.report again)"
                )
    log = (data.get("tideways") or {}).get("trace_log")
    if log:
        candidates = [run_file.with_name(Path(log).name)] + ([Path(log)] if current else [])
        for candidate in candidates:
            if candidate.is_file():
                run.trace_log = candidate
                break
    return run


def differences(baseline: Run, current: Run) -> tuple[list[str], list[str]]:
    """What makes the runs not comparable (one line each), and what only may move their figures."""
    refused, noted = [], []
    for names, lines in ((REFUSED, refused), (NOTED, noted)):
        for key, title in names.items():
            was, now = baseline.settings.get(key, DEFAULTS.get(key)), current.settings.get(key, DEFAULTS.get(key))
            if was != now:
                lines.append(f"{title}: baseline {_show(was)}, this run {_show(now)}")
    return refused, noted


def _show(value) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return "none" if value is None else str(value)


def save_baseline(reports: str | Path, folder: str | Path) -> list[Path]:
    """Copy the current run's files (run file, report JSON, trace log) into ``folder``, whole."""
    run = load(reports, "--reports")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunError(f"--save-baseline {str(folder)!r} is not allowed: give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    sources = [run.path]
    if run.path.with_name(REPORT_FILE).is_file() and run.report is not None:
        sources.append(run.path.with_name(REPORT_FILE))
    if run.trace_log is not None:
        sources.append(run.trace_log)
    written = []
    for source in sources:
        name = RUN_FILE if source == run.path else source.name
        target = folder / name
        temporary = target.with_name(f".{name}.tmp")
        shutil.copyfile(source, temporary)
        temporary.replace(target)
        written.append(target)
    return written
