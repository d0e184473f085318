"""Arrival rates, the open model: each user of the pool paced to send its share of the asked rate.

In a rate profile every user of the pool (``--users``) starts a task every
``pool / rate`` seconds, the rate read from the profile at the moment: Locust's
``constant_throughput`` pacing (the time between the starts of two tasks, not
the wait after one), with two changes it needs here. A user looks at the rate
again while it waits, so a stage that asks more is sent from its first second,
not after the waits the slower stage set; and each user starts at a random point
of its first interval, so a pool that Locust starts at once does not send in bursts.

Each process paces its own users from its own start (a worker gets the master's
options when the run starts), so no message crosses the network. A user whose
task takes longer than its interval starts the next one at once and never
catches up with a burst (as ``constant_throughput``): when the users cannot keep
up, fewer requests go out than asked, and :mod:`stages` counts them.
"""

from __future__ import annotations

import random
import time

import gevent

from .spec import Profile

IDLE_CHECK = 1.0
"""Seconds a user waits before it looks again while the asked rate is 0."""
SLICE = 0.1
"""A user waiting for its next task looks at the asked rate again this often (seconds)."""


class Pacer:
    """The wait time of every user in a rate profile."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.started = time.monotonic()

    def interval(self) -> float | None:
        """Seconds from one task's start to the next, for each user now; None once the profile is over,
        0 while it asks for nothing."""
        level = self.profile.level_at(time.monotonic() - self.started)
        if level is None:
            return None
        return max(self.profile.pool, 1) / level if level > 0 else 0.0

    def phase(self) -> None:
        """Wait a random share of the first interval, before a user's first task (and its login). The
        interval is read again while it waits: a ramp from 0 asks for nothing at first, then more and more."""
        share, began = random.random(), time.perf_counter()
        while True:
            interval = self.interval()
            if interval is None or (interval > 0 and time.perf_counter() - began >= share * interval):
                return
            gevent.sleep(SLICE)

    def __call__(self, user) -> float:
        """Sleep until the user's next task is due and return 0, or the last sliver of the wait."""
        started = getattr(user, "_tideways_task_started", None)
        while True:
            interval = self.interval()
            if interval is None:
                return IDLE_CHECK  # the profile is over: the shape stops the users
            if interval == 0:  # nothing asked now: send nothing, look again
                gevent.sleep(IDLE_CHECK)
                started = None
                continue
            now = time.perf_counter()
            due = now if started is None else started + interval
            if due - now <= SLICE:
                wait = max(0.0, due - now)
                user._tideways_task_started = now + wait
                return wait
            gevent.sleep(SLICE)


class Paced:
    """Sets and takes back the pacer on the run's user classes (their own wait_time is kept aside)."""

    def __init__(self) -> None:
        self._kept: dict[type, object] = {}

    def apply(self, user_classes, profile: Profile | None) -> None:
        self.restore()
        if profile is None or not profile.is_rate:
            return
        pacer = Pacer(profile)
        for user_class in user_classes:
            self._kept[user_class] = user_class.__dict__.get("wait_time")
            user_class.wait_time = _bound(pacer)

    def restore(self) -> None:
        for user_class, wait_time in self._kept.items():
            if wait_time is None:
                del user_class.wait_time
            else:
                user_class.wait_time = wait_time
        self._kept = {}


def _bound(pacer: Pacer):
    """A plain function, so Locust calls it as a method of the user (``self.wait_time()``)."""

    def wait_time(user) -> float:
        return pacer(user)

    wait_time.pacer = pacer  # lets a user find it for its phase, and a test for its rate
    return wait_time


def phase_first(user) -> None:
    """On a paced user: wait a random part of the first interval before ``on_start`` (a login) and the
    first task."""
    pacer = getattr(getattr(type(user), "wait_time", None), "pacer", None)
    if pacer is None:
        return
    started = user.on_start

    def on_start() -> None:
        pacer.phase()
        user._tideways_task_started = time.perf_counter()
        started()

    user.on_start = on_start
