"""What the runtime does at Locust's init, test start and quit, on each kind of process."""

from __future__ import annotations

import logging

from locust import events
from locust.runners import WorkerRunner

from .event import post_run_event
from .options import Settings, new_run_id
from .profiles import LoadRun
from .runrecord import RunRecord
from .sampling import SamplerSetup
from .tracelog import REPORT_KEY, TraceReport
from .webui import extend_web_ui

logger = logging.getLogger("tideways_locust")


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    report = environment.tideways_report = TraceReport(environment)
    sampling = environment.tideways_sampling = SamplerSetup(environment, is_worker=report.is_worker)
    report.sampling = sampling
    sampling.register()
    load = environment.tideways_load = LoadRun(environment)
    environment.events.test_start.add_listener(report.on_test_start)
    environment.events.test_start.add_listener(sampling.on_test_start)
    environment.events.test_start.add_listener(
        lambda environment, **kwargs: load.on_test_start(environment, is_master=not report.is_worker)
    )
    if report.is_worker:
        environment.events.report_to_master.add_listener(report.on_report_to_master)
        environment.events.test_stop.add_listener(report.on_test_stop)
        environment.events.quit.add_listener(lambda **_: report.close())
        return
    if environment.parsed_options is not None:
        load.check()  # a profile that cannot run stops Locust here, before any request
    environment.events.test_stop.add_listener(load.on_test_stop)
    run = environment.tideways_run_record = RunRecord(environment, report)
    environment.tideways_event = None  # the run's Tideways event (event.RunEvent), from test start
    environment.events.worker_report.add_listener(report.on_worker_report)
    if hasattr(environment.runner, "clients"):  # a master: the workers' hand-overs between their reports
        environment.runner.register_message(REPORT_KEY, report.on_worker_message)
    environment.events.reset_stats.add_listener(report.on_reset_stats)
    environment.events.test_start.add_listener(run.on_test_start)
    options = environment.parsed_options
    report.open_log(
        getattr(options, "tideways_trace_log", "") if options else "",
        getattr(options, "tideways_trace_log_max_mb", 0) if options else 0,
    )

    def on_quit(**_kwargs) -> None:
        # Locust fires quit once its users have stopped and, on a master, the workers' last
        # reports are in (quitting comes before that when a run is stopped by a signal),
        # so the summary, the log and the run file hold every request Locust reported.
        event = getattr(environment, "tideways_event", None)
        if event is not None:
            event.stop()  # an attempt still out ends with its warning line, before the summary
        load.on_test_stop()  # the stage the run was in, when a signal stopped it before test_stop
        load.settle()  # the workers' last reports are in now
        report.note_missing(quitting=True)  # the workers that quit are gone from Locust's list now
        if environment.parsed_options is not None:
            run.on_quit()
            if run.start is not None:
                logger.info(report.summary())
                for line in report.sampling_summary():
                    logger.info(line)
                if line := load.summary():
                    logger.info(line)
        report.close()

    environment.events.quit.add_listener(on_quit)
    if environment.web_ui:
        extend_web_ui(environment, report, load)


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    # Workers receive the master's options, the run id among them, when the run starts.
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    options = environment.parsed_options
    options.tideways_run = getattr(options, "tideways_run_id", "") or new_run_id()
    settings = Settings(options)
    report = getattr(environment, "tideways_report", None)
    if report is not None:
        report.settings = settings
    if settings.rate > 0 and not settings.api_key:
        logger.warning(
            "Tideways: no API key (--tideways-apikey or LOCUST_TIDEWAYS_APIKEY), "
            "so no request carries a profiling header"
        )
    previous = getattr(environment, "tideways_event", None)
    if previous is not None:
        previous.stop()
    environment.tideways_event = post_run_event(environment, settings, report)
