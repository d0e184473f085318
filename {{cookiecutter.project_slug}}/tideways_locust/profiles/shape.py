"""``LoadProfile``: the Locust shape that runs ``--load-profile`` (on the master, or the only process).

Locust uses a shape class that the locustfile holds; the baked locustfile
imports this one. With ``constant`` the runtime takes it away again when Locust
starts (``run.LoadRun.check``), so Locust runs ``--users`` for ``--run-time`` as
it always does, and its web UI asks for users as ever.
"""

from __future__ import annotations

from locust import LoadTestShape


class LoadProfile(LoadTestShape):
    """Users (or the pool of a rate) for each second of the run, from the run's profile."""

    # Keeps Locust from saying --users and --run-time are ignored: with ``constant`` they are
    # Locust's own; another profile sets this to False on the instance, and says what it uses.
    use_common_options = True

    def tick(self):
        load = getattr(self.runner.environment, "tideways_load", None) if self.runner else None
        profile = load.profile if load is not None else None
        if profile is None or (load.record is not None and load.record.broke is not None):
            return None
        found = profile.stage_at(self.get_run_time())
        if found is None:
            return None
        index = found[0]
        stage = profile.stages[index]
        if profile.is_rate:  # the pool runs from the start; the pacer sets how often each user sends
            return profile.pool, float(max(profile.pool, 1))
        if stage.is_hold:  # a step: its users start within a second (or at --spawn-rate, when faster)
            before = profile.stages[index - 1].end if index else 0.0
            return round(stage.end), max(profile.spawn_rate, abs(stage.end - before), 1.0)
        return round(stage.end), abs(stage.end - stage.start) / stage.seconds  # a ramp: reached at its end
