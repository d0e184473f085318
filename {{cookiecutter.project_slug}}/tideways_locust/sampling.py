"""Which requests a run traces beyond the rate: the first N of each endpoint, within a budget a minute.

``--tideways-trace-coverage N`` traces the first N requests of every endpoint (Locust's
request name and method) of a run, whatever the rate; later requests are sampled at the
rate. With workers, N is the run's, not each worker's: the master keeps the count, and a
worker asks it before it traces a request for coverage (one round trip, only until the
master says the endpoint has its N).

``--tideways-trace-budget M`` lets at most M requests a minute carry a profiling header,
across all users and workers: Tideways' daemon keeps only so many traces a minute (its
plan's limit), and each callgraph costs the application time. Each process gets a share of
M (the master splits it among the workers a run starts with) and keeps to it over any
window of ``BUDGET_WINDOW`` seconds, so the shares never add up to more than M in a minute
however the requests are spread. The requests that the coverage or the rate chose and the
budget left untraced are counted: the summary says when the budget capped the rate.

One :class:`Sampler` a process (``environment.tideways_sampler``), shared by its users.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections import deque

import gevent
from gevent.event import AsyncResult

logger = logging.getLogger("tideways_locust")

BUDGET_WINDOW = 61.0
"""A budget share holds over any 61 s of decisions: the extra second covers a request's time
on its way, so that the application receives at most M in any 60 s."""
CLAIM_TIMEOUT = 1.0
"""How long a worker's user waits for the master's answer to a coverage claim; past it, the
request is sampled at the rate."""
CLAIM = "tideways_coverage_claim"
GRANT = "tideways_coverage_grant"
SHARES = "tideways_budget_shares"
"""The option in which the master hands each worker its share of the budget, by client id."""


class Budget:
    """At most ``limit`` traces in any ``BUDGET_WINDOW`` seconds on this process: the times of the last ``limit``."""

    __slots__ = ("_times", "capped", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._times: deque[float] = deque(maxlen=limit or 1)
        self.capped = 0  # requests chosen for a trace that the budget left untraced

    def take(self) -> float:
        """The moment taken from the budget (true), or 0.0 when it is spent."""
        times = self._times
        if self.limit:
            now = time.monotonic()
            if len(times) < self.limit or now - times[0] >= BUDGET_WINDOW:
                times.append(now)
                return now
        self.capped += 1
        return 0.0

    def give_back(self, taken: float) -> None:
        """Undo a ``take()`` whose request is not traced after all (other users may have taken since)."""
        with contextlib.suppress(ValueError):  # already out of the window's deque
            self._times.remove(taken)


class Coverage:
    """The first ``first`` requests of each endpoint; on a worker, as the master grants them."""

    __slots__ = ("_ask", "counts", "done", "first")

    def __init__(self, first: int, ask=None) -> None:
        self.first = first
        self.counts: dict[str, int] = {}  # traced for coverage, by endpoint: this process's or, on a master, the run's
        self.done: set[str] = set()  # endpoints known to have their ``first``
        self._ask = ask  # a worker's way to ask the master; None: this process keeps the count

    def grant(self, key: str) -> bool:
        """Count one more request of ``key`` traced for coverage, if it has fewer than ``first``."""
        count = self.counts.get(key, 0)
        if count >= self.first:
            self.done.add(key)
            return False
        self.counts[key] = count + 1
        if count + 1 >= self.first:
            self.done.add(key)
        return True

    def claim(self, key: str) -> bool:
        if self._ask is None:
            return self.grant(key)
        granted = self._ask(key)
        if granted:
            self.counts[key] = self.counts.get(key, 0) + 1
        return granted


class Sampler:
    """The coverage and the budget of one process; ``None`` parts are off."""

    __slots__ = ("budget", "coverage")

    def __init__(self, coverage: Coverage | None, budget: Budget | None) -> None:
        self.coverage = coverage
        self.budget = budget

    def choose(self, key: str, hit: bool) -> bool:
        """Whether a request of endpoint ``key`` is traced; ``hit``: the rate's draw chose it."""
        coverage, budget = self.coverage, self.budget
        if coverage is not None and key not in coverage.done:
            taken = budget.take() if budget is not None else 1.0
            if not taken:
                return False
            if coverage.claim(key):  # on a worker, a round trip to the master: other users run meanwhile
                return True
            if not hit and budget is not None:
                budget.give_back(taken)
            return hit
        if not hit:
            return False
        return budget is None or bool(budget.take())

    def take_explicit(self) -> bool:
        """The budget's word on a request that ``tidewaysProfilingHeaders()`` sampled at the rate."""
        return self.budget is None or bool(self.budget.take())


def budget_shares(budget: int, workers: list[str]) -> dict[str, int]:
    """``budget`` split among ``workers`` (client ids), the remainder one each to the first ones."""
    if not workers:
        return {}
    each, left = divmod(budget, len(workers))
    return {worker: each + (1 if number < left else 0) for number, worker in enumerate(sorted(workers))}


class SamplerSetup:
    """Makes each run's :class:`Sampler` from its options and, with workers, carries the coverage
    claims and the budget's shares between the master and the workers."""

    def __init__(self, environment, is_worker: bool) -> None:
        self.environment = environment
        self.is_worker = is_worker
        self.sampler: Sampler | None = None
        self._waiting: dict[int, AsyncResult] = {}
        self._numbers = itertools.count(1)
        self._registered = False

    def register(self) -> None:
        """Listen for the other side's messages (a distributed run only)."""
        runner = self.environment.runner
        if self._registered or runner is None or not hasattr(runner, "register_message"):
            return
        if self.is_worker:
            runner.register_message(GRANT, self._on_grant)
        elif hasattr(runner, "clients"):  # a master
            runner.register_message(CLAIM, self._on_claim)
        self._registered = True

    def on_test_start(self, environment, **_kwargs) -> None:
        from .options import Settings

        options = environment.parsed_options
        settings = Settings(options)
        runner = environment.runner
        if not self.is_worker and hasattr(runner, "clients") and settings.budget:
            workers = [node.id for node in runner.clients.values() if node.state != "missing"]
            setattr(options, SHARES, budget_shares(settings.budget, workers))  # to the workers with the spawn
        coverage = None
        if settings.coverage:
            ask = self._ask if self.is_worker else None
            coverage = Coverage(settings.coverage, ask)
        budget = None
        if settings.budget:
            share = settings.budget
            if self.is_worker:
                share = (getattr(options, SHARES, None) or {}).get(runner.client_id, 0)
                if not share:
                    logger.warning(
                        "Tideways: this worker joined after the run started or the budget (%d a minute) has no "
                        "share left for it, so its users trace nothing",
                        settings.budget,
                    )
            budget = Budget(share)
        self.sampler = Sampler(coverage, budget) if coverage or budget else None

    # -- coverage claims, worker side --

    def _ask(self, key: str) -> bool:
        number = next(self._numbers)
        answer = self._waiting[number] = AsyncResult()
        try:
            self.environment.runner.send_message(CLAIM, {"id": number, "key": key})
            granted, done = answer.get(timeout=CLAIM_TIMEOUT)
        except gevent.Timeout:
            granted, done = False, False
        finally:
            self._waiting.pop(number, None)
        if done and self.sampler is not None and self.sampler.coverage is not None:
            self.sampler.coverage.done.add(key)
        return granted

    def _on_grant(self, environment, msg, **_kwargs) -> None:
        answer = self._waiting.get(msg.data["id"])
        if answer is not None:
            answer.set((msg.data["granted"], msg.data["done"]))

    # -- coverage claims, master side --

    def _on_claim(self, environment, msg, **_kwargs) -> None:
        coverage = self.sampler.coverage if self.sampler is not None else None
        key = msg.data["key"]
        granted = coverage.grant(key) if coverage is not None else False
        done = coverage is None or key in coverage.done
        environment.runner.send_message(GRANT, {"id": msg.data["id"], "granted": granted, "done": done}, msg.node_id)

    # -- figures --

    def figures(self) -> dict:
        sampler = self.sampler
        coverage = sampler.coverage if sampler else None
        budget = sampler.budget if sampler else None
        return {
            "coverage": coverage.first if coverage else 0,
            "budget": budget.limit if budget else 0,
            "budget_capped": budget.capped if budget else 0,
        }
