"""What the benchmark measures: the Locust configurations, the pairs run side by side, and the goals.

A configuration is one Locust process: a client (``HttpUser`` or ``FastHttpUser``), plain or on
``tideways_locust`` at a trace rate, perhaps with trace coverage and a trace budget, perhaps logged in,
perhaps sending headers of its own. A pair is two configurations at once on Locust's core; the goals
are read from the pairs' ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CLIENTS = (("HttpUser", "http"), ("FastHttpUser", "fast"))
# A static bearer token (``--app-login bearer``, LOGIN_TOKEN): made up, nginx does not check it.
BEARER_TOKEN = "bench-bearer-token-not-a-real-one-0123456789abcdef"
# The endpoints (Locust's request names) of bench/locustfiles/traced.py: one, "/".
TRACED_ENDPOINTS = 1
# --tideways-trace-coverage and --tideways-trace-budget of the coverage configurations: the first
# request of each endpoint traced, then the rate; and a budget of traced requests a minute far above
# what rate 1 traces here (1 % of at most a few thousand requests/s: a few thousand a minute), so that
# its check runs on every traced request and never caps.
COVERAGE = 1
BUDGET = 60_000


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    client: str  # HttpUser or FastHttpUser
    user_class: str
    locustfile: str
    trace_rate: float | None  # None: tideways_locust is not imported (or does not trace)
    kind: str = "throughput"  # or "memory"
    headers: str = ""  # plain Locust sending headers as its session's own: "trace" or "authorization"
    login: str = ""  # tideways_locust's --app-login, e.g. "bearer"
    trace_coverage: int = 0  # tideways_locust's --tideways-trace-coverage; 0: not given (off)
    trace_budget: int = 0  # tideways_locust's --tideways-trace-budget; 0: not given (off)

    @property
    def expected_traced(self) -> float | None:
        """The percentage of responses that should say ``traced``, past :attr:`always_traced`."""
        return 100.0 if self.headers == "trace" else self.trace_rate

    @property
    def always_traced(self) -> int:
        """The requests traced whatever the rate: the coverage's first requests of each endpoint."""
        return self.trace_coverage * TRACED_ENDPOINTS

    @property
    def alone(self) -> bool:
        """Also run alone; the header, login and coverage configurations only run side by side."""
        return not self.headers and not self.login and not self.trace_coverage and not self.trace_budget


def _configs() -> list[Config]:
    configs = []
    for kind, prefix in (("throughput", ""), ("memory", "mem_")):
        for client, short in CLIENTS:
            traced = client.replace("HttpUser", "HttpTidewaysUser")
            rates = (None, 1.0, 100.0) if kind == "throughput" else (None, 100.0)
            for rate in rates:
                if rate is None:
                    configs.append(
                        Config(
                            f"{prefix}{short}_plain",
                            f"plain {client}",
                            client,
                            f"Plain{client}",
                            "plain.py",
                            None,
                            kind,
                        )
                    )
                else:
                    configs.append(
                        Config(
                            f"{prefix}{short}_{rate:g}",
                            f"{traced} at {rate:g}",
                            client,
                            f"Traced{client}",
                            "traced.py",
                            rate,
                            kind,
                        )
                    )
    for client, short in CLIENTS:
        traced = client.replace("HttpUser", "HttpTidewaysUser")
        configs += [
            Config(
                f"{short}_headers",
                f"plain {client} with the two headers as session headers",
                client,
                f"Headers{client}",
                "headers.py",
                None,
                headers="trace",
            ),
            Config(
                f"{short}_bearer",
                f"{traced} at 1 with --app-login bearer",
                client,
                f"Traced{client}",
                "traced.py",
                1.0,
                login="bearer",
            ),
            Config(
                f"{short}_authorization",
                f"plain {client} with the bearer token as a session header",
                client,
                f"Authorization{client}",
                "headers.py",
                None,
                headers="authorization",
            ),
            Config(
                f"{short}_coverage",
                f"{traced} at 1 with coverage {COVERAGE} and budget",
                client,
                f"Traced{client}",
                "traced.py",
                1.0,
                trace_coverage=COVERAGE,
                trace_budget=BUDGET,
            ),
        ]
    return configs


CONFIGS = _configs()
CONFIG_BY_KEY = {config.key: config for config in CONFIGS}
ALONE = [config for config in CONFIGS if config.alone]


@dataclass(frozen=True)
class Pair:
    """Two Locust processes at once on Locust's core: the scheduler gives each half of it, and
    both meet the same machine at the same moments, so their ratio is free of its drifts."""

    key: str
    base: str
    other: str

    @property
    def label(self) -> str:
        base, other = CONFIG_BY_KEY[self.base], CONFIG_BY_KEY[self.other]
        return f"{other.label} beside {base.label}" if self.base != self.other else f"{base.label} beside itself"


# Beside plain Locust: itself (A/A, the resolution), traced at 1 and 100, the two trace headers alone
# (their floor), a bearer login traced at 1, the bearer token alone (that login's floor), and traced
# at 1 with coverage and budget.
PAIR_KINDS = ("aa", "1", "100", "headers", "bearer", "authorization", "coverage")
# Beside another traced configuration: (pair, base, other). Coverage and budget beside today's sampler
# at the same rate, the direct comparison: the two differ only in the options.
TRACED_PAIRS = (("coverage_vs_1", "1", "coverage"),)


def _pairs() -> list[Pair]:
    pairs = []
    for _, short in CLIENTS:
        for what in PAIR_KINDS:
            pairs.append(Pair(f"{short}_{what}", f"{short}_plain", f"{short}_{'plain' if what == 'aa' else what}"))
        for what, base, other in TRACED_PAIRS:
            pairs.append(Pair(f"{short}_{what}", f"{short}_{base}", f"{short}_{other}"))
    return pairs


PAIRS = _pairs()
PAIR_BY_KEY = {pair.key: pair for pair in PAIRS}


@dataclass(frozen=True)
class Goal:
    key: str
    measure: str
    op: str  # ">=" or "<="
    target: float
    unit: str = ""

    def text(self) -> str:
        return f"{self.op} {self.target:g}{self.unit}"

    def met(self, measured: float | None) -> bool | None:
        if measured is None or math.isnan(measured):
            return None
        return measured >= self.target if self.op == ">=" else measured <= self.target


GOALS = [
    Goal("http_1", "requests/s, HttpTidewaysUser at trace rate 1 / plain HttpUser", ">=", 0.99),
    Goal("http_100", "requests/s, HttpTidewaysUser at trace rate 100 / plain HttpUser", ">=", 0.97),
    Goal("fast_1", "requests/s, FastHttpTidewaysUser at 1 / plain FastHttpUser", ">=", 0.98),
    Goal("fast_100", "requests/s, FastHttpTidewaysUser at 100 / plain FastHttpUser", ">=", 0.95),
    # "within 0.5 point of today's": the same rate with coverage and budget on, beside it without them
    Goal(
        "http_coverage_vs_1",
        "requests/s, HttpTidewaysUser at 1 with coverage and budget / at 1 without them",
        ">=",
        0.995,
    ),
    Goal(
        "fast_coverage_vs_1",
        "requests/s, FastHttpTidewaysUser at 1 with coverage and budget / at 1 without them",
        ">=",
        0.995,
    ),
    Goal("header", "cost of one signed header", "<=", 5.0, " µs"),
    Goal("memory", "memory of a 1,000-user run with tracing / without", "<=", 1.05),
]
