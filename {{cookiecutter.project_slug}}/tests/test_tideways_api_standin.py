"""The Tideways API stand-in itself: its answers, errors, window math, script and call log."""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import StandIn

STANDIN = Path(__file__).resolve().parent / "tideways_api.py"
TOKEN = "standin-token-not-a-real-one"
ORG = "acme org"  # a space, so the URL must be encoded and the stand-in must decode it
PROJECT = "shop"
BASE = int(datetime(2024, 5, 6, 10, 0, tzinfo=UTC).timestamp())  # 2024-05-06 10:00 UTC
MINUTES = ["2024-05-06 10:00", "2024-05-06 10:01", "2024-05-06 10:02"]
PER_MINUTE = 15
TIMEOUT = 10
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
TRACE_KEYS = {
    "id",
    "date",
    "environment",
    "service",
    "server",
    "has_callgraph",
    "http",
    "memory_kb",
    "response_time_ms",
    "transaction_name",
    "layers",
    "bottlenecks",
    "tw_ref",
}


# --- a hand-written target log ------------------------------------------------------------------


def path_of(i: int) -> tuple[str, str]:
    """Weights 3:2:1, so the transactions have different request counts."""
    if i % 6 < 3:
        return "GET", f"/products/{i}?sleep=0"
    if i % 6 < 5:
        return "POST", "/cart"
    return "GET", "/"


def record(i: int, **extra) -> dict:
    """Request ``i``: minute ``i // 15`` after 10:00, ``10 + i`` ms; every fifth one carried no header."""
    method, path = path_of(i)
    accepted = i % 5 != 4
    headers = {"host": "127.0.0.1:8080"}
    if accepted:
        headers["x-tideways-ref"] = f"run1-{i}"
    entry = {
        "time": BASE + (i // PER_MINUTE) * 60 + (i % PER_MINUTE) * 3 + 0.5,
        "duration_ms": 10.0 + i,
        "method": method,
        "path": path,
        "headers": headers,
        "profiler": "method=&time=1&user=&hash=x" if accepted else None,
        "verdict": "accepted" if accepted else None,
    }
    if i == 16:
        entry["status"] = 500
    entry.update(extra)
    return entry


RECORDS = [record(i) for i in range(3 * PER_MINUTE)]
ACCEPTED_REFS = [r["headers"]["x-tideways-ref"] for r in RECORDS if r["verdict"] == "accepted"]


def write_log(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# --- starting and asking the stand-in -----------------------------------------------------------


def address(standin: StandIn, name: str, org: str = ORG, project: str = PROJECT, **query) -> str:
    return standin.endpoint(name, f"{org}/{project}", **query)


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def call(url: str, token: str | None = TOKEN, method: str = "GET", timeout: float = TIMEOUT, **headers) -> Reply:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, dict(error.headers), error.read())


def env_with_token(token: str | None = TOKEN) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "TIDEWAYS_API_TOKEN"}
    if token is not None:
        env["TIDEWAYS_API_TOKEN"] = token
    return env


@pytest.fixture
def start(start_tideways_api, tmp_path):
    """``start(*args, log=RECORDS, script=None)`` starts the stand-in for ``ORG/PROJECT`` with ``TOKEN``."""
    logs = iter(range(1000))

    def run(*args: str, log: list[dict] | None = RECORDS, script: dict | None = None) -> StandIn:
        target_log = write_log(tmp_path / f"target-{next(logs)}.jsonl", log) if log is not None else None
        return start_tideways_api(f"{ORG}/{PROJECT}", *args, target_log=target_log, script=script, token=TOKEN)

    return run


def assert_rate_headers(reply: Reply, limit: int = 1000) -> None:
    assert reply.headers["X-RateLimit-Limit"] == str(limit)
    assert 0 <= int(reply.headers["X-RateLimit-Remaining"]) <= limit
    reset = int(reply.headers["X-RateLimit-Reset"])
    assert reset % 3600 == 0 and time.time() - 5 < reset <= time.time() + 3600


# --- starting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (["--project", "acme/shop"], None, "TIDEWAYS_API_TOKEN"),
        (["--project", "shop"], TOKEN, "ORGANIZATION/PROJECT"),
        (["--project", "acme/shop", "--script", "/nonexistent/script.json"], TOKEN, "--script"),
    ],
)
def test_refuses_to_start_without_what_it_needs(args, token, message):
    result = subprocess.run(
        [sys.executable, str(STANDIN), *args], env=env_with_token(token), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_refuses_a_malformed_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"performance": [{"stauts": 503}]}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(STANDIN), "--project", "a/b", "--script", str(script)],
        env=env_with_token(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--script" in result.stderr


def test_token_on_the_command_line_works_too(tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(STANDIN), "--project", "a/b", "--token", "other-token"],
        env=env_with_token(None),
        stdout=subprocess.PIPE,
        text=True,
    )
    standin = StandIn(url="", token="other-token", calls_log=tmp_path / "none", process=process)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready
        standin.url = process.stdout.readline().split()[-1]
        assert call(address(standin, "traces", org="a", project="b"), token="other-token").status == 200
        assert call(address(standin, "traces", org="a", project="b")).status == 401
    finally:
        output = standin.stop()
    assert "other-token" not in output
    assert "calls" in output


# --- errors -------------------------------------------------------------------------------------


def test_missing_or_wrong_token_is_401(start):
    standin = start()
    for token, extra in [(None, {}), ("wrong", {}), (TOKEN + "x", {}), (None, {"Authorization": f"Basic {TOKEN}"})]:
        reply = call(address(standin, "traces"), token=token, **extra)
        assert reply.status == 401, (token, extra)
        assert reply.json() == {"error": "Unauthorized"}
        assert reply.headers["Content-Type"] == "application/json"
        assert_rate_headers(reply)
    assert call(address(standin, "traces"), token=None, Authorization=f"bearer {TOKEN}").status == 200


def test_other_project_organization_or_path_is_404(start):
    standin = start()
    for url in [
        address(standin, "traces", project="other"),
        address(standin, "performance", org="acme"),
        address(standin, "errors"),
        address(standin, "traces/more"),
        standin.url + "/" + quote(ORG),
        standin.url.replace("/apps/api", "/somewhere"),
    ]:
        reply = call(url)
        assert reply.status == 404, url
        assert reply.json() == {"status": 404, "msg": "Not Found"}
        assert_rate_headers(reply)
    assert call(address(standin, "traces") + "/").status == 200, "a trailing slash is tolerated"


def test_only_get(start):
    standin = start()
    reply = call(address(standin, "traces"), method="POST")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    ("endpoint", "query"),
    [
        ("traces", {"min_date": "2024-05-06T10:01", "max_date": "2024-05-06 10:02"}),
        ("traces", {"min_date": "2024-05-06 10:01:00", "max_date": "2024-05-06 10:02"}),
        ("traces", {"max_date": "06.05.2024 10:02"}),
        ("traces", {"min_date": "2024-13-06 10:01", "max_date": "2024-05-06 10:02"}),
        ("traces", {"sort_by": "date"}),
        ("traces", {"limit": "0"}),
        ("traces", {"limit": "ten"}),
        ("traces", {"min_response_time_ms": "fast"}),
        ("performance", {"ts": "2024-05-06 10:02:00", "m": "2"}),
        ("performance", {"ts": "1714989720", "m": "2"}),
        ("performance", {"ts": "2024-05-06 10:02", "m": "0"}),
        ("performance", {"ts": "2024-05-06 10:02", "m": "1441"}),
        ("performance", {"ts": "2024-05-06 10:02", "m": "1.5"}),
    ],
)
def test_malformed_parameters_are_400(start, endpoint, query):
    standin = start()
    reply = call(address(standin, endpoint, **query))
    assert reply.status == 400
    assert isinstance(reply.json()["error"], str)
    assert_rate_headers(reply)


def test_rate_limit(start):
    standin = start("--rate-limit", "2")
    first, second = call(address(standin, "traces")), call(address(standin, "performance"))
    assert (first.status, first.headers["X-RateLimit-Remaining"]) == (200, "1")
    assert (second.status, second.headers["X-RateLimit-Remaining"]) == (200, "0")
    unauthorized = call(address(standin, "traces"), token="wrong")
    assert unauthorized.status == 401, "the token is checked before the limit, and such calls do not count"
    for _ in range(2):
        reply = call(address(standin, "traces"))
        assert reply.status == 429
        assert reply.json() == {"error": "Rate limit exceeded"}
        assert reply.headers["X-RateLimit-Remaining"] == "0"
        assert_rate_headers(reply, limit=2)


# --- performance --------------------------------------------------------------------------------


def test_performance_window_is_the_m_minutes_ending_at_ts(start):
    standin = start()
    reply = call(address(standin, "performance", ts=MINUTES[2], m="2", env="production", s="web"))
    assert reply.status == 200
    assert_rate_headers(reply)
    application = reply.json()["application"]
    assert set(application) == {"by_time", "by_transactions", "criteria", "total"}
    assert list(application["by_time"]) == MINUTES[1:]
    # 10:01 holds requests 15..29 at 25..39 ms; request 16 answered 500.
    assert application["by_time"][MINUTES[1]] == {
        "requests": 15,
        "errors": 1,
        "percentile_95p": 39,  # nearest rank: the 15th of 15
        "median": 32,
        "average": 32,
    }
    assert application["by_time"][MINUTES[2]]["requests"] == 15
    assert application["by_time"][MINUTES[2]]["errors"] == 0
    assert application["criteria"] == {
        "start": MINUTES[1],
        "end": MINUTES[2],
        "service": "web",
        "environment": "production",
    }
    # 30 requests at 25..54 ms: the 29th is 53 ms.
    assert application["total"] == {
        "requests": 30,
        "response_time": 53,
        "error_rate": round(100 / 30, 2),
        "average": 39.5,
        "median": 39.5,
    }
    transactions = application["by_transactions"]
    assert [(t["name"], t["requests"]) for t in transactions] == [
        ("GET /products/{id}", 15),
        ("POST /cart", 10),
        ("GET /", 5),
    ]
    assert {"name", "requests", "response_time", "response_time_average", "memory", "errors"} == set(transactions[0])
    assert transactions[1]["errors"] == 1


@pytest.mark.parametrize(("ts", "m", "minutes"), [(2, 1, [2]), (2, 3, [0, 1, 2]), (1, 1440, [0, 1]), (0, 1, [0])])
def test_performance_window_edges(start, ts, m, minutes):
    standin = start()
    application = call(address(standin, "performance", ts=MINUTES[ts], m=str(m))).json()["application"]
    assert list(application["by_time"]) == [MINUTES[i] for i in minutes]
    assert application["total"]["requests"] == PER_MINUTE * len(minutes)


def test_performance_outside_the_log_is_empty_and_well_formed(start):
    standin = start()
    application = call(address(standin, "performance", ts="2024-05-06 09:59", m="60")).json()["application"]
    assert application["by_time"] == {}
    assert application["by_transactions"] == []
    assert application["total"] == {"requests": 0, "response_time": 0, "error_rate": 0, "average": 0, "median": 0}
    assert application["criteria"]["start"] == "2024-05-06 09:00"


def test_performance_lists_at_most_20_transactions_busiest_first(start):
    log = [dict(record(0), path=f"/page-{chr(97 + i)}", time=BASE + i) for i in range(25) for _ in range(i + 1)]
    standin = start(log=log)
    transactions = call(address(standin, "performance", ts=MINUTES[0], m="1")).json()["application"]["by_transactions"]
    assert len(transactions) == 20
    assert [t["requests"] for t in transactions] == list(range(25, 5, -1))
    assert transactions[0]["name"] == "GET /page-y"


# --- traces -------------------------------------------------------------------------------------


def index_of(trace: dict) -> int:
    """The trace's place among the traced requests of the log."""
    return ACCEPTED_REFS.index(trace["tw_ref"])


def test_traces_are_the_accepted_requests_newest_first(start):
    standin = start()
    reply = call(address(standin, "traces", env="production", s="web", has_callgraph="true"))
    assert reply.status == 200
    assert_rate_headers(reply)
    traces = reply.json()["traces"]
    assert len(traces) == 20, "the default limit"
    assert [t["tw_ref"] for t in traces] == ACCEPTED_REFS[::-1][:20]
    first = traces[0]
    assert TRACE_KEYS <= set(first) <= TRACE_KEYS | {"_links"}
    assert first["date"] == MINUTES[2]
    assert (first["environment"], first["service"], first["server"], first["has_callgraph"]) == (
        "production",
        "web",
        "standin",
        True,
    )
    assert first["transaction_name"] == "GET /products/{id}"  # request 43
    assert first["response_time_ms"] == 53
    assert isinstance(first["memory_kb"], int)
    assert first["http"] == {"method": "GET", "status_code": 200, "url": "127.0.0.1:8080/products/43"}
    assert all(isinstance(b, str) for b in first["bottlenecks"])
    for layer in first["layers"]:
        assert {"name", "count", "latency_sum_ms", "perc"} <= set(layer)


def test_traces_limit_is_capped_at_30(start):
    standin = start()
    assert len(call(address(standin, "traces", limit="5")).json()["traces"]) == 5
    assert len(call(address(standin, "traces", limit="100")).json()["traces"]) == 30


def test_traces_window_needs_both_dates(start):
    standin = start()
    traces = call(address(standin, "traces", min_date=MINUTES[1], max_date=MINUTES[1], limit="30")).json()["traces"]
    assert {t["date"] for t in traces} == {MINUTES[1]}
    assert sorted(t["tw_ref"] for t in traces) == sorted(
        r["headers"]["x-tideways-ref"] for r in RECORDS[15:30] if r["verdict"] == "accepted"
    )
    both = call(address(standin, "traces", min_date=MINUTES[0], max_date=MINUTES[1], limit="30")).json()["traces"]
    assert {t["date"] for t in both} == set(MINUTES[:2])
    alone = call(address(standin, "traces", min_date=MINUTES[1], limit="30")).json()["traces"]
    assert len(alone) == 30 and MINUTES[0] in {t["date"] for t in alone}, "one date alone is ignored"
    before = call(address(standin, "traces", min_date="2024-05-06 09:00", max_date="2024-05-06 09:59")).json()
    assert before == {"traces": []}


def test_traces_sorted_by_response_time_or_memory(start):
    standin = start()
    slowest = call(address(standin, "traces", sort_by="response_time", limit="5")).json()["traces"]
    assert [t["response_time_ms"] for t in slowest] == [53, 52, 51, 50, 48]
    biggest = call(address(standin, "traces", sort_by="memory", limit="30")).json()["traces"]
    memory = [t["memory_kb"] for t in biggest]
    assert memory == sorted(memory, reverse=True)
    fast = call(address(standin, "traces", min_response_time_ms="50", limit="30")).json()["traces"]
    assert sorted(t["response_time_ms"] for t in fast) == [50, 51, 52, 53]


def test_traces_have_the_awkward_cases_clients_must_handle(start):
    standin = start()
    traces = call(address(standin, "traces", limit="30")).json()["traces"]
    assert len({t["id"] for t in traces}) == 30
    links = {}
    for trace in traces:
        index = index_of(trace)
        assert trace["id"].startswith("-") == (index % 3 == 0), trace["id"]
        assert (trace["http"] is None) == (index % 5 == 4)
        if index % 7 == 6:
            links[index] = trace.get("_links", "missing")
        else:
            assert trace["_links"] == {
                "html_url": f"https://app.tideways.io/o/acme%20org/shop/trace/{quote(trace['id'], safe='')}"
                "/quick?s=web&env=production"
            }
    assert links == {6: [], 13: "missing", 20: None, 27: [], 34: "missing"}
    again = call(address(standin, "traces", limit="30")).json()["traces"]
    assert [t["id"] for t in again] == [t["id"] for t in traces], "ids are stable"


def test_traces_ignore_env_and_use_the_configured_environment(start):
    standin = start("--environment", "staging")
    traces = call(address(standin, "traces", env="nonexistent", limit="30")).json()["traces"]
    assert {t["environment"] for t in traces} == {"staging"}
    links = [t["_links"]["html_url"] for t in traces if t.get("_links")]
    assert all(link.endswith("?s=web&env=staging") for link in links)
    performance = call(address(standin, "performance", ts=MINUTES[2], m="3", env="nonexistent")).json()
    assert performance["application"]["criteria"]["environment"] == "staging"


def test_without_duration_a_stable_stand_in_time_is_used(start):
    log = [{k: v for k, v in record(i).items() if k != "duration_ms"} for i in (0, 1, 2)] + [
        {k: v for k, v in record(0).items() if k != "duration_ms"}
    ]
    standin = start(log=log)
    traces = call(address(standin, "traces")).json()["traces"]
    assert len(traces) == 4
    assert all(5 <= t["response_time_ms"] < 45 for t in traces)
    same = [t["response_time_ms"] for t in traces if t["tw_ref"] == "run1-0"]
    assert len(same) == 2 and same[0] == same[1]
    total = call(address(standin, "performance", ts=MINUTES[0], m="1")).json()["application"]["total"]
    assert total["requests"] == 4 and 5 <= total["median"] < 45


def test_log_is_read_at_each_call_and_may_be_missing(start, tmp_path):
    standin = start(log=None)
    assert call(address(standin, "traces")).json() == {"traces": []}
    assert call(address(standin, "performance", ts=MINUTES[2], m="3")).json()["application"]["total"]["requests"] == 0


def test_log_growing_while_serving(start):
    standin = start(log=RECORDS[:15])
    log = Path(standin.process.args[standin.process.args.index("--target-log") + 1])
    assert len(call(address(standin, "traces", limit="30")).json()["traces"]) == 12
    with log.open("a", encoding="utf-8") as file:
        file.write(json.dumps(RECORDS[15]) + "\n" + '{"time": 17149')  # a line half written
    assert len(call(address(standin, "traces", limit="30")).json()["traces"]) == 13


# --- script -------------------------------------------------------------------------------------


def test_script_answers_come_first_in_order(start):
    script = {
        "performance": [
            {"status": 503},
            {"status": 200, "body": {"application": {"custom": True}}},
            {"status": 200, "raw": "not json"},
            {"status": 403},
        ],
        "traces": [{"status": 429, "headers": {"X-RateLimit-Reset": "123", "X-RateLimit-Remaining": "0"}}],
    }
    standin = start(script=script)
    performance = address(standin, "performance", ts=MINUTES[2], m="3")
    first = call(performance)
    assert first.status == 503 and isinstance(first.json()["error"], str)
    assert_rate_headers(first)
    assert call(performance).json() == {"application": {"custom": True}}
    raw = call(performance)
    assert (raw.status, raw.body) == (200, b"not json")
    forbidden = call(performance)
    assert forbidden.status == 403
    assert forbidden.json()["status"] == 403 and isinstance(forbidden.json()["msg"], str)
    assert call(performance).json()["application"]["total"]["requests"] == 45, "then the derived answers"

    limited = call(address(standin, "traces"))
    assert limited.status == 429
    assert limited.json() == {"error": "Rate limit exceeded"}
    assert limited.headers["X-RateLimit-Reset"] == "123"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert len(call(address(standin, "traces")).json()["traces"]) == 20


def test_script_is_not_used_up_by_rejected_calls(start):
    standin = start(script={"traces": [{"status": 503}]})
    assert call(address(standin, "traces"), token="wrong").status == 401
    assert call(address(standin, "traces", limit="0")).status == 400
    assert call(address(standin, "traces", project="other")).status == 404
    assert call(address(standin, "traces")).status == 503
    assert call(address(standin, "traces")).status == 200


def test_script_delay_lets_a_client_time_out(start):
    standin = start(script={"traces": [{"delay": 3}]})
    with pytest.raises((TimeoutError, urllib.error.URLError)):  # no answer within 0.5 s
        call(address(standin, "traces"), timeout=0.5)
    reply = call(address(standin, "traces"), timeout=2)
    assert reply.status == 200, "other calls are answered meanwhile, with derived data"
    assert len(reply.json()["traces"]) == 20


def test_script_delay_then_the_derived_answer(start):
    standin = start(script={"performance": [{"delay": 1}]})
    began = time.monotonic()
    reply = call(address(standin, "performance", ts=MINUTES[2], m="1"), timeout=5)
    assert time.monotonic() - began >= 0.9
    assert reply.json()["application"]["total"]["requests"] == 15


@pytest.mark.parametrize("entries", [[{"empty_until_call": 3}], {"empty_until_call": 3}])
def test_empty_until_call(start, entries):
    standin = start(script={"performance": entries})
    url = address(standin, "performance", ts=MINUTES[2], m="3")
    for _ in range(2):
        reply = call(url)
        assert reply.status == 200
        application = reply.json()["application"]
        assert application["by_time"] == {}
        assert application["by_transactions"] == []
        assert application["total"]["requests"] == 0
        assert application["criteria"]["end"] == MINUTES[2]
    application = call(url).json()["application"]
    assert application["total"]["requests"] == 45
    assert len(call(address(standin, "traces")).json()["traces"]) == 20, "traces are not held back"


def test_empty_until_call_counts_scripted_calls(start):
    standin = start(script={"performance": [{"status": 503}, {"empty_until_call": 3}, {"status": 502}]})
    url = address(standin, "performance", ts=MINUTES[2], m="3")
    assert call(url).status == 503
    assert call(url).json()["application"]["total"]["requests"] == 0
    assert call(url).status == 502
    assert call(url).json()["application"]["total"]["requests"] == 45


# --- the call log -------------------------------------------------------------------------------


def test_calls_are_logged_without_the_token(start):
    standin = start()
    call(address(standin, "traces", limit="3"))
    call(address(standin, "performance", ts=MINUTES[2], m="2"), token="wrong")
    call(address(standin, "traces", token=TOKEN))  # a client that leaks it into the query
    call(address(standin, "traces", project="other"))
    output = standin.stop()
    text = standin.calls_log.read_text(encoding="utf-8")
    assert TOKEN not in text and quote(TOKEN) not in text
    assert TOKEN not in output
    entries = [json.loads(line) for line in text.splitlines()]
    assert [set(e) for e in entries] == [{"time", "method", "path", "query", "authorized", "status"}] * 4
    assert [(e["authorized"], e["status"]) for e in entries] == [(True, 200), (False, 401), (True, 200), (True, 404)]
    assert entries[0]["path"] == "/apps/api/acme%20org/shop/traces"
    assert entries[0]["query"] == {"limit": "3"}
    assert entries[1]["query"] == {"ts": MINUTES[2], "m": "2"}
    assert entries[2]["query"] == {"token": "[redacted]"}
    assert all(math.isfinite(e["time"]) and e["method"] == "GET" for e in entries)
    assert "4 calls" in output
