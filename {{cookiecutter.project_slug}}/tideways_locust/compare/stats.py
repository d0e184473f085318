"""The statistics of a comparison, from Locust's response-time histograms.

A percentile's 95 % confidence interval is distribution-free: of ``n``
independent response times, the ``p`` quantile lies between the order
statistics of ranks ``n p - z s`` and ``n p + z s + 1`` (``s = sqrt(n p (1 - p))``,
``z = 1.96``) with 95 % probability (the normal approximation of the binomial
count of response times below it; see e.g. Conover, *Practical Nonparametric
Statistics*, on confidence intervals for quantiles). When the upper rank falls
past ``n`` the sample cannot bound the percentile: "not enough data".

A p95 is *significantly* slower when the lower end of the new interval is above
the upper end of the baseline's: two 95 % intervals that do not overlap. A
failure rate is significantly higher by a one-sided two-proportion z-test at
97.5 %. Both then still have to pass the tolerance (``options``), which absorbs
what the intervals cannot know: response times of one run are not independent
(a slow minute slows many requests), and two runs meet different machines.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

Z = 1.96


class Histogram:
    """Response times as Locust keeps them: ``{ms: requests}``."""

    def __init__(self, counts: dict) -> None:
        pairs = sorted((float(ms), int(n)) for ms, n in (counts or {}).items() if int(n) > 0)
        self.values = [ms for ms, _ in pairs]
        self.cumulative: list[int] = []
        total = 0
        for _, n in pairs:
            total += n
            self.cumulative.append(total)
        self.count = total

    def at_rank(self, rank: int) -> float:
        """The ``rank``-th smallest response time, 1-based."""
        return self.values[bisect_left(self.cumulative, rank)]

    def percentile(self, p: float) -> float | None:
        """As Locust computes it (``calculate_response_time_percentile``): rank ``int(n p) + 1``."""
        if not self.count:
            return None
        return self.at_rank(min(self.count, int(self.count * p) + 1))

    def interval(self, p: float) -> tuple[float, float] | None:
        """The 95 % interval of the ``p`` quantile, or None when there are too few response times."""
        n = self.count
        spread = Z * math.sqrt(n * p * (1 - p))
        low, high = math.floor(n * p - spread), math.ceil(n * p + spread) + 1
        if n == 0 or low < 1 or high > n:
            return None
        return self.at_rank(low), self.at_rank(high)


def minimum_requests(p: float) -> int:
    """The fewest response times whose ``p`` quantile has an interval (110 for p95, 563 for p99)."""
    n = 1
    while Histogram({1: n}).interval(p) is None:
        n += 1
    return n


@dataclass
class Shift:
    """A percentile before and now, and whether it moved past chance."""

    before: float | None
    now: float | None
    slower: bool = False  # significantly: the intervals do not overlap
    faster: bool = False
    enough: bool = True

    @property
    def ratio(self) -> float | None:
        if self.before is None or self.now is None or self.before <= 0:
            return None
        return self.now / self.before


def shift(before: Histogram, now: Histogram, p: float) -> Shift:
    result = Shift(before.percentile(p), now.percentile(p))
    was, is_ = before.interval(p), now.interval(p)
    if was is None or is_ is None:
        result.enough = False
        return result
    result.slower = is_[0] > was[1]
    result.faster = is_[1] < was[0]
    return result


def failures_rose(before_failures: int, before_requests: int, now_failures: int, now_requests: int) -> bool:
    """A higher failure rate that chance does not explain: one-sided two-proportion z-test, 97.5 %."""
    if before_requests <= 0 or now_requests <= 0:
        return False
    p1, p2 = before_failures / before_requests, now_failures / now_requests
    pooled = (before_failures + now_failures) / (before_requests + now_requests)
    se = math.sqrt(pooled * (1 - pooled) * (1 / before_requests + 1 / now_requests))
    if se == 0:
        return p2 > p1
    return (p2 - p1) / se > Z
