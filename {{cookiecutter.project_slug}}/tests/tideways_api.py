"""A stand-in for the Tideways REST API, for the tests and the demo.

It serves ``GET traces`` and ``GET performance`` of one organization/project
under ``/apps/api`` and derives their figures from the request log that
``tests/target.py`` writes, so a test can check what Tideways would show for a
load test. It mimics only the documented shapes (support.tideways.com,
documentation/reference/api, and what public clients read); the numbers are
computed here, not by Tideways. The facts it relies on:

- ``{base}/{organization}/{project}/{endpoint}``, the real base being
  ``https://app.tideways.io/apps/api``; header ``Authorization: Bearer TOKEN``.
- ``traces``: ``env``, ``s``, ``has_callgraph``, ``min_date`` and ``max_date``
  (UTC ``Y-m-d H:i``, both or neither: one alone is ignored), ``sort_by``
  (``response_time`` or ``memory``), ``min_response_time_ms``, ``transaction_name``
  (exactly the transaction's name), ``limit`` (at
  most about 30); answers ``{"traces": [...]}``. An unknown ``env`` falls back
  to the default environment, so every trace here has ``--environment``.
- ``performance``: ``ts`` is the last minute of the window, ``m`` the minutes
  (1 to 1440): the window is ``ts-m+1 .. ts``. Answers ``{"application":
  {"by_time", "by_transactions" (at most 20), "criteria", "total"}}``, in ms.
- 401 ``{"error": ...}`` for a missing or rejected token, 403 ``{"status": 403,
  "msg": ...}`` for a token without the scope or project, 404 ``{"status": 404,
  "msg": "Not Found"}``; ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``
  (epoch seconds of the next full hour) on every answer, 429 past the limit.

    python tests/tideways_api.py --project ORG/PROJECT [--token TOKEN]
        [--target-log requests.jsonl] [--script script.json] [--calls calls.jsonl]
        [--rate-limit 1000] [--port 0] [--environment production]

The token defaults to ``$TIDEWAYS_API_TOKEN``; it is never printed nor logged.
It prints ``listening on http://127.0.0.1:PORT/apps/api`` first and, when
stopped with SIGTERM or Ctrl-C, a summary line.

Choices of this stand-in (the real API may differ where its documentation is
silent): checks run in the order path outside ``/apps/api`` (404), token (401),
rate limit (429; only authorized calls count), organization/project/endpoint
(404), method (405), parameters (400), then the script, then derived data.
Parameters are checked more strictly than needed: a ``min_date`` or
``max_date`` alone is ignored but must still be well formed, ``sort_by`` must
be one of the two values, ``limit`` at least 1 (above 30 it is cut to 30);
``env``, ``s`` and ``has_callgraph`` are accepted and ignored (everything is
service ``web`` of ``--environment`` and has a callgraph); an empty parameter
counts as absent. ``performance`` without ``ts`` ends at the current minute,
without ``m`` covers 60 minutes; ``by_time`` holds only minutes with requests;
``response_time`` (total and per transaction) is the 95th percentile
(nearest rank), ``median`` the usual median, ``error_rate`` a percentage,
``memory`` the average in KB; ``criteria`` start and end are the first and
last minute of the window.

``--script`` is a JSON file of canned answers per endpoint, used in order
before the derived ones by the calls that pass every check above:
``{"performance": [{"status": 503}, {"status": 200, "body": {...}},
{"status": 200, "raw": "not json"}, {"delay": 5}, {"empty_until_call": 3}],
"traces": [{"status": 429, "headers": {"X-RateLimit-Reset": "0"}}]}``.
``status`` of 400 or more without ``body`` or ``raw`` gets the documented error
body; ``raw`` is sent as it is; ``headers`` replace the default ones; ``delay``
sleeps (at most 30 s) before answering, with the derived answer when nothing
else is given. ``{"empty_until_call": N}`` answers the endpoint's calls
numbered below N (counted from the start, scripted ones included) with no data
(Tideways still ingesting) and is used up by call N.

``POST /api/events`` (outside ``/apps/api``, as Tideways' events endpoint
``https://app.tideways.io/api/events``) takes a JSON event: ``apiKey`` (the
project's API key; it must be ``$TIDEWAYS_APIKEY`` when that is set, else any
non-empty one), ``name``, ``type`` (``release``, ``marker`` or
``maintenance``), optional ``description``, ``environment``, ``service`` (strings)
and ``compareAfterMinutes`` (5 to 90). No token. Its answers are choices of this
stand-in (Tideways documents none): 201 ``{}``, 401 for a missing or other key,
400 ``{"error": ...}`` for a bad body, 405 for another method; ``"events"`` in
``--script`` cans them as for the other endpoints.

``--calls`` gets one JSON line per call: ``time``, ``method``, ``path``,
``query``, ``authorized``, ``status``; never the token. An event's line also
has ``event``: its body without ``apiKey``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import re
import signal
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

BASE_PATH = "/apps/api"
ENDPOINTS = ("traces", "performance")
EVENTS_PATH = "/api/events"
EVENT_TYPES = ("release", "marker", "maintenance")
SCRIPTED = (*ENDPOINTS, "events")
MINUTE_FORMAT = "%Y-%m-%d %H:%M"
MINUTE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}")
MAX_WINDOW = 1440
DEFAULT_WINDOW = 60
DEFAULT_LIMIT = 20
MAX_LIMIT = 30
TOP_TRANSACTIONS = 20
MAX_DELAY = 30.0
SERVICE = "web"
SERVER = "standin"
SORT_KEYS = ("response_time", "memory")
SCRIPT_KEYS = {"status", "body", "raw", "headers", "delay", "empty_until_call"}
REDACTED = "[redacted]"


class InvalidParameterError(Exception):
    """A parameter the real API would refuse; the message goes into the 400 body."""


def error_body(status: int) -> dict:
    """The documented error body for ``status``; other statuses get ``{"error": phrase}``."""
    if status == 401:
        return {"error": "Unauthorized"}
    if status == 403:
        return {"status": 403, "msg": "Forbidden: the token lacks the scope or access to this project"}
    if status == 404:
        return {"status": 404, "msg": "Not Found"}
    if status == 429:
        return {"error": "Rate limit exceeded"}
    try:
        return {"error": HTTPStatus(status).phrase}
    except ValueError:
        return {"error": "Error"}


# --- the target's log, seen as the requests Tideways monitored ---------------------------------


def stable_hash(text: str) -> int:
    """The same number for the same text in every process (``hash()`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def minute_of(epoch: float) -> int:
    return int(epoch // 60) * 60


def format_minute(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(MINUTE_FORMAT)


def parse_minute(name: str, text: str) -> int:
    """Epoch seconds of a UTC ``Y-m-d H:i`` minute, or :class:`InvalidParameterError`."""
    try:
        if not MINUTE_PATTERN.fullmatch(text):
            raise ValueError
        return int(datetime.strptime(text, MINUTE_FORMAT).replace(tzinfo=UTC).timestamp())
    except ValueError:
        raise InvalidParameterError(f"{name} must be a UTC date and time like 2024-05-06 10:02 (Y-m-d H:i)") from None


def transaction_name(method: str, path: str) -> str:
    """``GET /products/{id}``: the path without query, all-digit segments replaced by ``{id}``."""
    segments = urlsplit(path).path.split("/")
    return f"{method} " + "/".join("{id}" if re.fullmatch(r"[0-9]+", s) else s for s in segments)


@dataclass
class Request:
    """One request of the target's log with the figures Tideways would have for it."""

    time: float
    method: str
    path: str  # without the query
    name: str
    response_time_ms: float
    memory_kb: int
    status: int
    host: str
    accepted: bool  # carried a valid profiler header, so Tideways took a callgraph trace
    ref: str | None
    key: str  # identifies the request, for a stable trace id

    @property
    def error(self) -> bool:
        return self.status >= 500


def to_request(record: dict) -> Request:
    full_path = str(record.get("path", "/"))
    method = str(record.get("method", "GET"))
    headers = record.get("headers") or {}
    duration = record.get("duration_ms")
    if not isinstance(duration, int | float) or isinstance(duration, bool):
        # A stand-in value: the log has no server time, so a deterministic one from the request.
        duration = 5 + stable_hash(f"{method} {full_path}") % 40
    memory = record.get("memory_kb")
    if not isinstance(memory, int) or isinstance(memory, bool):
        memory = 2048 + stable_hash(f"memory {method} {full_path}") % 6144  # a stand-in value too
    status = record.get("status")
    return Request(
        time=float(record.get("time", 0)),
        method=method,
        path=urlsplit(full_path).path,
        name=transaction_name(method, full_path),
        response_time_ms=float(duration),
        memory_kb=memory,
        status=status if isinstance(status, int) else 200,
        host=str(headers.get("host", "127.0.0.1")),
        accepted=record.get("verdict") == "accepted",
        ref=headers.get("x-tideways-ref"),
        key=f"{record.get('time')!r} {method} {full_path} {headers.get('x-tideways-ref')}",
    )


def read_requests(path: str | None) -> list[Request]:
    """The requests of the target's log, read afresh; a missing log or a half-written line is skipped."""
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as log:
            lines = log.read().splitlines()
    except FileNotFoundError:
        return []
    requests = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            requests.append(to_request(record))
    return requests


# --- performance --------------------------------------------------------------------------------


def percentile_95(values: list[float]) -> float:
    """Nearest rank: the smallest value with at least 95 % of the values at or below it."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def ms(value: float) -> float:
    return round(value, 2)


def minute_stats(requests: list[Request]) -> dict:
    times = [r.response_time_ms for r in requests]
    return {
        "requests": len(requests),
        "errors": sum(r.error for r in requests),
        "percentile_95p": ms(percentile_95(times)),
        "median": ms(statistics.median(times)),
        "average": ms(statistics.fmean(times)),
    }


def performance(requests: list[Request], end: int, minutes: int, environment: str) -> dict:
    """The ``performance`` answer for the minutes ``end-minutes+1 .. end`` (epoch seconds of minutes)."""
    start = end - (minutes - 1) * 60
    inside = [r for r in requests if start <= minute_of(r.time) <= end]
    by_minute: dict[int, list[Request]] = defaultdict(list)
    by_name: dict[str, list[Request]] = defaultdict(list)
    for request in inside:
        by_minute[minute_of(request.time)].append(request)
        by_name[request.name].append(request)
    transactions = [
        {
            "name": name,
            "requests": len(group),
            "response_time": ms(percentile_95([r.response_time_ms for r in group])),
            "response_time_average": ms(statistics.fmean(r.response_time_ms for r in group)),
            "memory": round(statistics.fmean(r.memory_kb for r in group)),
            "errors": sum(r.error for r in group),
        }
        for name, group in by_name.items()
    ]
    transactions.sort(key=lambda t: (-t["requests"], t["name"]))
    if inside:
        stats = minute_stats(inside)
        total = {
            "requests": stats["requests"],
            "response_time": stats["percentile_95p"],
            "error_rate": round(100 * stats["errors"] / stats["requests"], 2),
            "average": stats["average"],
            "median": stats["median"],
        }
    else:
        total = {"requests": 0, "response_time": 0, "error_rate": 0, "average": 0, "median": 0}
    return {
        "application": {
            "by_time": {format_minute(m): minute_stats(by_minute[m]) for m in sorted(by_minute)},
            "by_transactions": transactions[:TOP_TRANSACTIONS],
            "criteria": {
                "start": format_minute(start),
                "end": format_minute(end),
                "service": SERVICE,
                "environment": environment,
            },
            "total": total,
        }
    }


# --- traces -------------------------------------------------------------------------------------


def trace_id(request: Request, index: int) -> str:
    """Stable for a request; every third one starts with ``-``, as real ids may."""
    text = base64.urlsafe_b64encode(hashlib.sha256(request.key.encode("utf-8")).digest()[:12]).decode("ascii")
    return ("-" if index % 3 == 0 else "x" if text[0] == "-" else text[0]) + text[1:]


def layers(request: Request) -> tuple[list[dict], list[str]]:
    """Stand-in layers (sql, and http for some requests) and the bottlenecks they suggest."""
    h = stable_hash(f"layers {request.key}")
    total = request.response_time_ms or 1.0
    result = []
    sql_count = 1 + h % 8
    sql_sum = total * (10 + (h >> 8) % 60) / 100
    result.append(
        {
            "name": "sql",
            "count": sql_count,
            "latency_sum_ms": ms(sql_sum),
            "latency_max_ms": ms(sql_sum if sql_count == 1 else sql_sum * 0.6),
            "perc": round(100 * sql_sum / total, 1),
        }
    )
    http_count = (h >> 16) % 3
    if http_count:
        http_sum = total * (5 + (h >> 24) % 20) / 100
        perc = round(100 * http_sum / total, 1)
        result.append({"name": "http", "count": http_count, "latency_sum_ms": ms(http_sum), "perc": perc})
    bottlenecks = [f"{sql_count} SQL queries take {result[0]['perc']} % of the time"]
    if sql_count >= 6:
        bottlenecks.append(f"N+1 queries: {sql_count} similar SQL statements")
    return result, bottlenecks


def trace(request: Request, index: int, organization: str, project: str, environment: str) -> dict:
    """One trace; ``index`` is the request's place among all traced requests of the log."""
    identifier = trace_id(request, index)
    layer_list, bottlenecks = layers(request)
    result = {
        "id": identifier,
        "date": format_minute(request.time),
        "environment": environment,
        "service": SERVICE,
        "server": SERVER,
        "has_callgraph": True,
        # Every fifth trace has no HTTP details, as for CLI or unparsed requests.
        "http": None
        if index % 5 == 4
        else {"method": request.method, "status_code": request.status, "url": request.host + request.path},
        "_links": {
            "html_url": (
                f"https://app.tideways.io/o/{quote(organization, safe='')}/{quote(project, safe='')}"
                f"/trace/{quote(identifier, safe='')}/quick?s={SERVICE}&env={quote(environment, safe='')}"
            )
        },
        "memory_kb": request.memory_kb,
        "response_time_ms": round(request.response_time_ms),
        "transaction_name": request.name,
        "layers": layer_list,
        "bottlenecks": bottlenecks,
        # NOT part of the real API: the request's X-Tideways-Ref, so tests can see which run's
        # request Tideways traced. Clients must not depend on it.
        "tw_ref": request.ref,
    }
    if index % 7 == 6:  # every seventh trace has no link: [], missing and null in turn
        kind = (index // 7) % 3
        if kind == 0:
            result["_links"] = []
        elif kind == 1:
            del result["_links"]
        else:
            result["_links"] = None
    return result


def traces(requests: list[Request], query: dict, organization: str, project: str, environment: str) -> dict:
    numbered = list(enumerate(r for r in requests if r.accepted))
    low, high = query.get("min_date"), query.get("max_date")
    if low is not None and high is not None:
        numbered = [(i, r) for i, r in numbered if low <= minute_of(r.time) <= high]
    if query.get("min_response_time_ms") is not None:
        numbered = [(i, r) for i, r in numbered if r.response_time_ms >= query["min_response_time_ms"]]
    if query.get("transaction_name") is not None:
        numbered = [(i, r) for i, r in numbered if r.name == query["transaction_name"]]
    sort_by = query.get("sort_by")
    if sort_by == "response_time":
        numbered.sort(key=lambda pair: (-pair[1].response_time_ms, -pair[1].time, -pair[0]))
    elif sort_by == "memory":
        numbered.sort(key=lambda pair: (-pair[1].memory_kb, -pair[1].time, -pair[0]))
    else:
        numbered.sort(key=lambda pair: (-pair[1].time, -pair[0]))
    limit = query.get("limit", DEFAULT_LIMIT)
    return {"traces": [trace(r, i, organization, project, environment) for i, r in numbered[:limit]]}


# --- parameters ---------------------------------------------------------------------------------


def traces_query(params: dict[str, str]) -> dict:
    query: dict = {}
    for name in ("min_date", "max_date"):
        if name in params:
            query[name] = parse_minute(name, params[name])
    if "min_date" not in query or "max_date" not in query:  # both or neither: one alone is ignored
        query.pop("min_date", None)
        query.pop("max_date", None)
    if "sort_by" in params:
        if params["sort_by"] not in SORT_KEYS:
            raise InvalidParameterError("sort_by must be response_time or memory")
        query["sort_by"] = params["sort_by"]
    if "limit" in params:
        if not re.fullmatch(r"[0-9]+", params["limit"]) or int(params["limit"]) < 1:
            raise InvalidParameterError("limit must be a positive integer")
        query["limit"] = min(int(params["limit"]), MAX_LIMIT)
    if "min_response_time_ms" in params:
        try:
            value = float(params["min_response_time_ms"])
        except ValueError:
            raise InvalidParameterError("min_response_time_ms must be a number") from None
        if not math.isfinite(value):
            raise InvalidParameterError("min_response_time_ms must be a number")
        query["min_response_time_ms"] = value
    if params.get("transaction_name"):
        query["transaction_name"] = params["transaction_name"]
    return query


def performance_query(params: dict[str, str], now: float) -> dict:
    end = parse_minute("ts", params["ts"]) if "ts" in params else minute_of(now)
    minutes = DEFAULT_WINDOW
    if "m" in params:
        if not re.fullmatch(r"[0-9]+", params["m"]) or not 1 <= int(params["m"]) <= MAX_WINDOW:
            raise InvalidParameterError(f"m must be an integer from 1 to {MAX_WINDOW}")
        minutes = int(params["m"])
    return {"end": end, "minutes": minutes}


# --- script -------------------------------------------------------------------------------------


def load_script(path: str) -> dict[str, list[dict]]:
    """The canned answers per endpoint; ValueError says what is wrong with the file."""
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    if not isinstance(data, dict) or not set(data) <= set(SCRIPTED):
        raise ValueError(f"the script must be an object with the keys {', '.join(SCRIPTED)}")
    script = {}
    for endpoint, entries in data.items():
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise ValueError(f"{endpoint}: a list of answers")
        for entry in entries:
            if not isinstance(entry, dict) or not set(entry) <= SCRIPT_KEYS:
                raise ValueError(f"{endpoint}: each answer is an object with keys among {sorted(SCRIPT_KEYS)}")
            if "status" in entry and not (isinstance(entry["status"], int) and 100 <= entry["status"] <= 599):
                raise ValueError(f"{endpoint}: status must be an HTTP status code")
            if "raw" in entry and not isinstance(entry["raw"], str):
                raise ValueError(f"{endpoint}: raw must be a string")
            if "headers" in entry and not isinstance(entry["headers"], dict):
                raise ValueError(f"{endpoint}: headers must be an object")
            if "delay" in entry and not (isinstance(entry["delay"], int | float) and entry["delay"] >= 0):
                raise ValueError(f"{endpoint}: delay must be a number of seconds")
            if "empty_until_call" in entry and not (
                isinstance(entry["empty_until_call"], int) and entry["empty_until_call"] >= 1 and len(entry) == 1
            ):
                raise ValueError(f"{endpoint}: empty_until_call is a call number, alone in its object")
        script[endpoint] = list(entries)
    return script


# --- events -------------------------------------------------------------------------------------


def event_problem(event: dict) -> str:
    """What is wrong with an event's body (without ``apiKey``), or ""."""
    if not isinstance(event.get("name"), str) or not event["name"].strip():
        return "name is required"
    if event.get("type") not in EVENT_TYPES:
        return f"type must be one of {', '.join(EVENT_TYPES)}"
    for name in ("description", "environment", "service"):
        if name in event and not isinstance(event[name], str):
            return f"{name} must be a string"
    minutes = event.get("compareAfterMinutes")
    if minutes is not None and not (isinstance(minutes, int) and not isinstance(minutes, bool) and 5 <= minutes <= 90):
        return "compareAfterMinutes must be an integer from 5 to 90"
    return ""


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def json_answer(status: int, body: object) -> Answer:
    return Answer(status, json.dumps(body).encode("utf-8"))


class TidewaysApi(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        port: int,
        token: str,
        project: str,
        environment: str = "production",
        target_log: str | None = None,
        script: dict[str, list[dict]] | None = None,
        calls_path: str | None = None,
        rate_limit: int = 1000,
    ) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.token = token
        self.api_key = os.environ.get("TIDEWAYS_APIKEY", "")  # the project's key, for events
        self.organization, self.project = project.split("/", 1)
        self.environment = environment
        self.target_log = target_log
        self.script = script or {}
        self.rate_limit = rate_limit
        self.calls = open(calls_path, "a", encoding="utf-8") if calls_path else None  # noqa: SIM115 - see stop()
        self.lock = threading.Lock()
        self.hour = 0
        self.used = 0  # authorized calls in this hour
        self.endpoint_calls: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def authorized(self, header: str | None) -> bool:
        scheme, _, credentials = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode("utf-8"), self.token.encode("utf-8")
        )

    def count_call(self, authorized: bool, now: float) -> tuple[dict[str, str], bool]:
        """The rate-limit headers of this answer, and whether this call is past the limit."""
        with self.lock:
            hour = int(now // 3600)
            if hour != self.hour:
                self.hour, self.used = hour, 0
            if authorized:
                self.used += 1
            headers = {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(max(0, self.rate_limit - self.used)),
                "X-RateLimit-Reset": str((hour + 1) * 3600),
            }
            return headers, self.used > self.rate_limit

    def next_scripted(self, endpoint: str) -> dict | None:
        """The canned answer for this call of ``endpoint``, ``{"empty": True}``, or None for derived data."""
        with self.lock:
            self.endpoint_calls[endpoint] += 1
            number = self.endpoint_calls[endpoint]
            queue = self.script.get(endpoint, [])
            while queue:
                entry = queue[0]
                if "empty_until_call" not in entry:
                    return queue.pop(0)
                if number < entry["empty_until_call"]:
                    return {"empty": True}
                queue.pop(0)
            return None

    def respond(self, method: str, target: str, authorization: str | None, now: float) -> tuple[Answer, bool]:
        """The answer to one call, and whether the call was authorized."""
        url = urlsplit(target)
        raw_segments = url.path.split("/")
        if url.path.endswith("/") and len(raw_segments) > 1:
            raw_segments.pop()
        segments = [unquote(s) for s in raw_segments]
        authorized = self.authorized(authorization)
        headers, limited = self.count_call(authorized, now)
        answer = self.route(method, segments, url.query, authorized, limited, now)
        answer.headers = {"Content-Type": "application/json", **headers, **answer.headers}
        return answer, authorized

    def route(self, method: str, segments: list[str], query: str, authorized: bool, limited: bool, now) -> Answer:
        if segments[:3] != ["", "apps", "api"]:
            return json_answer(404, error_body(404))
        if not authorized:
            return json_answer(401, error_body(401))
        if limited:
            return json_answer(429, error_body(429))
        if segments[3:5] != [self.organization, self.project] or len(segments) != 6 or segments[5] not in ENDPOINTS:
            return json_answer(404, error_body(404))
        if method != "GET":
            answer = json_answer(405, error_body(405))
            answer.headers["Allow"] = "GET"
            return answer
        endpoint = segments[5]
        params = {name: value for name, value in parse_qsl(query, keep_blank_values=True) if value != ""}
        try:
            parsed = traces_query(params) if endpoint == "traces" else performance_query(params, now)
        except InvalidParameterError as error:
            return json_answer(400, {"error": str(error)})
        scripted = self.next_scripted(endpoint)
        if scripted is None:
            return self.derived(endpoint, parsed)
        if scripted.get("empty"):
            return self.derived(endpoint, parsed, empty=True)
        status = scripted.get("status", 200)
        if "raw" in scripted:
            answer = Answer(status, scripted["raw"].encode("utf-8"))
        elif "body" in scripted:
            answer = json_answer(status, scripted["body"])
        elif status >= 400:
            answer = json_answer(status, error_body(status))
        else:
            answer = self.derived(endpoint, parsed)
            answer.status = status
        answer.headers = {str(k): str(v) for k, v in scripted.get("headers", {}).items()}
        answer.delay = min(float(scripted.get("delay", 0)), MAX_DELAY)
        return answer

    def derived(self, endpoint: str, query: dict, empty: bool = False) -> Answer:
        requests = [] if empty else read_requests(self.target_log)
        if endpoint == "traces":
            return json_answer(200, traces(requests, query, self.organization, self.project, self.environment))
        return json_answer(200, performance(requests, query["end"], query["minutes"], self.environment))

    def post_event(self, method: str, body: bytes) -> tuple[Answer, bool, dict | None]:
        """The answer to a call of the events endpoint, whether its key was right, and the
        event without ``apiKey`` (None when the body is not a JSON object)."""
        if method != "POST":
            answer = json_answer(405, error_body(405))
            answer.headers["Allow"] = "POST"
            return answer, False, None
        try:
            data = json.loads(body.decode("utf-8"))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return json_answer(400, {"error": "the body must be a JSON object"}), False, None
        key = data.get("apiKey")
        event = {name: value for name, value in data.items() if name != "apiKey"}
        authorized = isinstance(key, str) and bool(key)
        if authorized and self.api_key:
            authorized = hmac.compare_digest(key.encode("utf-8"), self.api_key.encode("utf-8"))
        if not authorized:
            return json_answer(401, {"error": "Unauthorized: no project has this API key"}), False, event
        problem = event_problem(event)
        if problem:
            return json_answer(400, {"error": problem}), True, event
        scripted = self.next_scripted("events")
        if scripted is None:
            return json_answer(201, {}), True, event
        status = scripted.get("status", 201)
        if "raw" in scripted:
            answer = Answer(status, scripted["raw"].encode("utf-8"))
        else:
            answer = json_answer(status, scripted.get("body", error_body(status) if status >= 400 else {}))
        answer.headers = {str(k): str(v) for k, v in scripted.get("headers", {}).items()}
        answer.delay = min(float(scripted.get("delay", 0)), MAX_DELAY)
        return answer, True, event

    def record_call(
        self, now: float, method: str, target: str, authorized: bool, status: int, event: dict | None = None
    ) -> None:
        url = urlsplit(target)

        def redact(text: str) -> str:
            return text.replace(self.token, REDACTED) if self.token else text

        entry = {
            "time": now,
            "method": method,
            "path": redact(url.path),
            "query": {redact(k): redact(v) for k, v in parse_qsl(url.query, keep_blank_values=True)},
            "authorized": authorized,
            "status": status,
        }
        if event is not None:
            entry["event"] = event
        with self.lock:
            self.statuses[status] += 1
            if self.calls is not None and not self.calls.closed:
                self.calls.write(json.dumps(entry) + "\n")
                self.calls.flush()

    def stop(self) -> None:
        self.server_close()
        with self.lock:
            if self.calls is not None:
                self.calls.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: TidewaysApi

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ConnectionError:  # the client gave up, e.g. on a scripted delay
            self.close_connection = True

    def answer(self) -> None:
        now = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        event = None
        if urlsplit(self.path).path.rstrip("/") == EVENTS_PATH:
            answer, authorized, event = self.server.post_event(self.command, body)
            answer.headers = {"Content-Type": "application/json", **answer.headers}
        else:
            answer, authorized = self.server.respond(self.command, self.path, self.headers.get("Authorization"), now)
        self.server.record_call(now, self.command, self.path, authorized, answer.status, event)
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = answer  # noqa: N815 - stdlib names

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", help="the API token clients must send (default: $TIDEWAYS_API_TOKEN)")
    parser.add_argument("--project", required=True, help="ORGANIZATION/PROJECT as in the API's URLs")
    parser.add_argument("--target-log", help="JSON Lines written by tests/target.py; read at each call")
    parser.add_argument("--script", help="JSON file of canned answers, served before the derived ones")
    parser.add_argument("--calls", help="JSON Lines file, one line per call (without the token)")
    parser.add_argument("--rate-limit", type=int, default=1000, help="calls per hour before 429 (default 1000)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--environment", default="production", help="the environment of every trace")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("TIDEWAYS_API_TOKEN")
    if not token:
        parser.error("give the API token with --token or TIDEWAYS_API_TOKEN")
    organization, slash, project = args.project.partition("/")
    if not (organization and slash and project) or "/" in project:
        parser.error("--project must be ORGANIZATION/PROJECT")
    if args.rate_limit < 0:
        parser.error("--rate-limit must not be negative")
    script = None
    if args.script:
        try:
            script = load_script(args.script)
        except (OSError, ValueError) as error:
            parser.error(f"--script {args.script}: {error}")

    api = TidewaysApi(
        args.port, token, args.project, args.environment, args.target_log, script, args.calls, args.rate_limit
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=api.shutdown).start())
    print(f"listening on http://127.0.0.1:{api.server_address[1]}{BASE_PATH}", flush=True)
    try:
        api.serve_forever(poll_interval=0.05)  # a quick stop: tests start and stop many
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()
    calls = sum(api.statuses.values())
    statuses = ", ".join(f"{n} x {status}" for status, n in sorted(api.statuses.items()))
    print(f"tideways api stand-in: {calls} calls" + (f" ({statuses})" if statuses else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
