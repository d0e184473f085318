"""What the benchmark measures: the Locust configurations, the pairs run side by side, and the goals.

A configuration is one Locust process: a client (``HttpUser`` or ``FastHttpUser``), plain or on
``tideways_locust`` at a trace rate, perhaps logged in, perhaps sending headers of its own. A pair is
two configurations at once on Locust's core; the goals are read from the pairs' ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CLIENTS = (("HttpUser", "http"), ("FastHttpUser", "fast"))
# A static bearer token (``--app-login bearer``, LOGIN_TOKEN): made up, nginx does not check it.
BEARER_TOKEN = "bench-bearer-token-not-a-real-one-0123456789abcdef"


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

    @property
    def expected_traced(self) -> float | None:
        """The percentage of responses that should say ``traced``."""
        return 100.0 if self.headers == "trace" else self.trace_rate

    @property
    def alone(self) -> bool:
        """Also run alone; the header and login configurations only run beside plain Locust."""
        return not self.headers and not self.login


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
# (their floor), a bearer login traced at 1, and the bearer token alone (that login's floor).
PAIR_KINDS = ("aa", "1", "100", "headers", "bearer", "authorization")
PAIRS = [
    Pair(f"{short}_{what}", f"{short}_plain", f"{short}_{'plain' if what == 'aa' else what}")
    for _, short in CLIENTS
    for what in PAIR_KINDS
]
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
    Goal("header", "cost of one signed header", "<=", 5.0, " µs"),
    Goal("memory", "memory of a 1,000-user run with tracing / without", "<=", 1.05),
]
