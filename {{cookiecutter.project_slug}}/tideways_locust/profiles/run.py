"""The run's load profile on one process: checked when Locust starts, the pacer on the users, the stages."""

from __future__ import annotations

import logging
import math
import sys

from .pacing import Paced
from .shape import LoadProfile
from .spec import Profile, ProfileError, build
from .stages import StageRecord

logger = logging.getLogger(__name__)

COMMON = ("num_users", "spawn_rate", "run_time")
"""Locust's own options a profile reads: a worker gets them from the master's test start."""
EXIT_BAD_PROFILE = 2
"""A profile that cannot run stops Locust with the exit code of a bad option."""


class LoadRun:
    """On every process: the profile and the pacer; on the master or the only process, the stages too."""

    def __init__(self, environment) -> None:
        self.environment = environment
        self.profile: Profile | None = None
        self.record: StageRecord | None = None
        self.paced = Paced()

    def check(self) -> None:
        """When Locust starts (not on a worker): the profile can run, and the shape is Locust's or ours."""
        environment = self.environment
        options = environment.parsed_options
        try:
            profile = build(options)
        except ProfileError as error:
            logger.error("Load profile: %s", error)
            sys.exit(EXIT_BAD_PROFILE)
        shape = environment.shape_class
        ours = isinstance(shape, LoadProfile)
        if profile is None or profile.name == "constant":
            if ours:
                environment.shape_class = None  # Locust's own run of --users for --run-time
        elif not ours:
            logger.error(
                "Load profile: --load-profile %s needs the locustfile to import the shape: "
                "from tideways_locust import LoadProfile",
                profile.name,
            )
            sys.exit(EXIT_BAD_PROFILE)
        else:
            shape.use_common_options = False  # the web UI asks for no users: the profile sets them
        self.profile = profile
        if profile is not None:
            logger.info("Load profile %s%s", profile.describe(), _unused(profile, options))

    def on_test_start(self, environment, is_master: bool, **_kwargs) -> None:
        """A worker has the master's options now; every process paces its own users."""
        options = environment.parsed_options
        if is_master and options is not None:
            # Sent to the workers with the custom options (Locust's own stay behind).
            options.load_common = {name: getattr(options, name, None) for name in COMMON}
        try:
            self.profile = build(environment.parsed_options)
        except ProfileError:
            self.profile = None  # the master refused it when it started
        self.paced.apply(environment.user_classes, self.profile)
        if is_master and self.profile is not None:
            if self.record is not None:
                self.record.stop()
            self.record = StageRecord(environment, self.profile)
            self.record.start()

    def on_test_stop(self, **_kwargs) -> None:
        if self.record is not None:
            self.record.stop()

    def as_dict(self) -> dict | None:
        return self.record.as_dict() if self.record is not None else None

    def settle(self) -> None:
        if self.record is not None:
            self.record.settle()

    def summary(self) -> str | None:
        return self.record.summary() if self.record is not None else None

    def live(self) -> dict:
        if self.record is None:
            return {"load_profile": "constant", "asked_rate": "(users, not a rate)", "not_sent": "(users, not a rate)"}
        return self.record.live()

    def seconds(self) -> float | None:
        """The profile's length, when it sets one."""
        if self.profile is None or math.isinf(self.profile.seconds):
            return None
        return self.profile.seconds


def _unused(profile: Profile, options) -> str:
    """Which of Locust's own options the profile does not use, said once."""
    unused = []
    if profile.name in ("ramp", "steps", "breakpoint") and getattr(options, "run_time", None):
        unused.append("--run-time (the stages set the length)")
    if not profile.is_rate and profile.name != "soak" and getattr(options, "num_users", None):
        unused.append("--users (the profile sets them)")
    return f"; not used: {', '.join(unused)}" if unused else ""
