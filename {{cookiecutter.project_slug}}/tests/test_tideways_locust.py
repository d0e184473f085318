"""The runtime package in-process: the signer, the options, the sampling rules."""

from __future__ import annotations

import argparse
import itertools
import random
import time
from types import SimpleNamespace

import pytest
from locust.argument_parser import get_parser

import tideways_locust
from tests.conftest import in_process_user
from tests.target import verdict
from tideways_locust import PROFILER_HEADER, REF_HEADER, TidewaysSigner, parse_trace_rate, signing, tracing
from tideways_locust.options import parse_run_id, parse_seed, parse_trace_log, parse_ttl
from tideways_locust.signing import DEFAULT_TTL
from tideways_locust.tracing import _Tracer

pytestmark = pytest.mark.locust_hooks  # run against every supported Locust (README: Locust versions)

# Test vectors from Tideways' server-side check, computed with Python's hmac and openssl.
VECTORS = [
    ("foo", 1700000000, "", "e87f26865d55501918b1fdd44e44b4bc29644b5669427023963d41187c110748"),
    ("foo", 1700000000, "usr", "7ffc615e8cb38d6ad19330e9d9cda22759cc126ea969327d23df6811007026a8"),
    ("abc123", 2000000000, "", "d262eccf9aa78ceeec6e5493db750fa6183930e769fa35fe8b0ef96dbccbe264"),
    (
        "s3cr3t-Key_\u00c4\u00d6",
        1800000000,
        "locust",
        "e2fa0f691cb9a93fb1a9944312689ae3418ff2aa58ca965003f6bbdb79ed2677",
    ),
]


@pytest.mark.parametrize(("key", "expires", "user", "digest"), VECTORS)
def test_signer_matches_the_vectors(key, expires, user, digest):
    assert TidewaysSigner(key).header(expires, user=user) == f"method=&time={expires}&user={user}&hash={digest}"


def test_full_header_of_the_first_vector():
    assert TidewaysSigner("foo").header(1700000000) == (
        "method=&time=1700000000&user=&hash=e87f26865d55501918b1fdd44e44b4bc29644b5669427023963d41187c110748"
    )


def test_fresh_header_is_valid_for_the_window():
    before = int(time.time())
    header = TidewaysSigner("foo").fresh_header()
    expires = int(header.split("&")[1].removeprefix("time="))
    assert before + DEFAULT_TTL <= expires <= int(time.time()) + DEFAULT_TTL
    assert verdict(header, "foo", time.time()) == "accepted"
    assert verdict(header, "bar", time.time()) == "invalid hash"
    assert verdict(header, "foo", expires + 1) == "too old"


@pytest.mark.parametrize(("text", "rate"), [("0", 0.0), ("0.5", 0.5), ("1", 1.0), ("100", 100.0), (" 25 ", 25.0)])
def test_trace_rate_accepts_percentages(text, rate):
    assert parse_trace_rate(text) == rate


@pytest.mark.parametrize("text", ["-1", "100.01", "150", "abc", "", "nan", "inf", "1%"])
def test_trace_rate_rejects_the_rest_naming_value_and_range(text):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        parse_trace_rate(text)
    assert repr(text) in str(error.value)
    assert "0 to 100" in str(error.value)


def parse(args: list[str], env: dict[str, str] | None = None, monkeypatch=None):
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    return get_parser(default_config_files=[]).parse_args(args)


def test_options_default_to_no_key_and_one_percent(monkeypatch):
    monkeypatch.delenv("LOCUST_TIDEWAYS_APIKEY", raising=False)
    monkeypatch.delenv("LOCUST_TIDEWAYS_TRACE_RATE", raising=False)
    options = parse([])
    assert options.tideways_apikey == ""
    assert options.tideways_trace_rate == 1.0


def test_options_come_from_env_and_flags_win(monkeypatch):
    env = {"LOCUST_TIDEWAYS_APIKEY": "from-env", "LOCUST_TIDEWAYS_TRACE_RATE": "0.5"}
    assert parse([], env, monkeypatch).tideways_trace_rate == 0.5
    assert parse([], env, monkeypatch).tideways_apikey == "from-env"
    assert parse(["--tideways-trace-rate", "7"], env, monkeypatch).tideways_trace_rate == 7.0


def test_the_key_is_kept_out_of_the_web_ui():
    parser = get_parser()
    assert "tideways_apikey" not in parser.args_included_in_web_ui
    assert "tideways_trace_rate" in parser.args_included_in_web_ui


def options(key: str = "foo", rate: float = 100.0) -> SimpleNamespace:
    return SimpleNamespace(tideways_apikey=key, tideways_trace_rate=rate)


HOST = "https://shop.example.com"


def headers_for(tracer: _Tracer, url, headers):
    """The headers a request is sent with."""
    sent, added, _ref = tracer.prepare(url, headers)
    return {**(sent or {}), **added} if added else sent


def test_traced_request_gets_a_valid_header_and_keeps_caller_headers():
    caller = {"X-Caller": "kept"}
    headers = headers_for(_Tracer(options(), HOST), "/path", caller)
    assert headers["X-Caller"] == "kept"
    assert verdict(headers[PROFILER_HEADER], "foo", time.time()) == "accepted"
    assert caller == {"X-Caller": "kept"}, "the caller's dict is not changed"


@pytest.mark.parametrize(
    "url",
    ["/relative", "https://shop.example.com/x", "HTTPS://SHOP.example.com:443/x", b"/bytes-path"],
)
def test_same_origin_is_traced(url):
    assert PROFILER_HEADER in headers_for(_Tracer(options(), HOST), url, None)


@pytest.mark.parametrize(
    "url",
    ["http://shop.example.com/x", "https://shop.example.com:8443/x", "https://cdn.example.com/x", "https://evil.test"],
)
def test_other_origins_get_no_header_even_when_passed_explicitly(url):
    tracer = _Tracer(options(), HOST)
    assert headers_for(tracer, url, None) is None
    explicit = {**tracer.explicit_headers(), "X-Caller": "kept"}
    assert headers_for(tracer, url, explicit) == {"X-Caller": "kept"}


def test_explicit_header_is_not_signed_twice():
    tracer = _Tracer(options(), HOST)
    explicit = tracer.explicit_headers()
    assert headers_for(tracer, "/x", {**explicit})[PROFILER_HEADER] == explicit[PROFILER_HEADER]
    signed_elsewhere = {PROFILER_HEADER.lower(): explicit[PROFILER_HEADER]}
    sent = headers_for(tracer, "/x", signed_elsewhere)
    ref = sent[REF_HEADER]
    assert sent[PROFILER_HEADER.lower()] == explicit[PROFILER_HEADER]
    assert sent[REF_HEADER] == ref, "a header signed elsewhere still gets an id to find it by"


def test_explicit_sampling_is_the_only_sampling_of_its_request():
    """Code from the Tideways docs samples via tidewaysProfilingHeaders(); the rate stays the rate."""
    random.seed(1234)
    tracer = _Tracer(options(rate=50.0), HOST)
    traced = 0
    for _ in range(2000):
        explicit = tracer.explicit_headers()
        sent = headers_for(tracer, "/x", explicit) or {}
        assert (PROFILER_HEADER in sent) == bool(explicit)
        traced += PROFILER_HEADER in sent
    assert 850 <= traced <= 1150  # 50 % of 2000, about 7 standard deviations either way


@pytest.mark.parametrize(("key", "rate"), [("", 100.0), ("   ", 100.0), ("foo", 0.0)])
def test_no_key_or_rate_zero_sends_nothing(key, rate):
    tracer = _Tracer(options(key, rate), HOST)
    assert all(headers_for(tracer, "/x", None) is None for _ in range(200))
    assert tracer.explicit_headers() == {}


def test_a_bad_rate_set_later_is_refused():
    with pytest.raises(argparse.ArgumentTypeError, match="0 to 100"):
        _Tracer(options(rate=150.0), HOST)


def test_in_request_mode_each_traced_request_carries_its_own_id_that_starts_with_the_run_id():
    tracer = _Tracer(SimpleNamespace(**vars(options()), tideways_run="run-42", tideways_ref_mode="request"), HOST)
    refs = []
    for _ in range(100):
        _sent, added, ref = tracer.prepare("/x", None)
        assert added[REF_HEADER] == ref
        refs.append(ref)
    assert len(set(refs)) == 100
    assert all(ref.startswith("run-42-") for ref in refs)


def test_untraced_requests_carry_neither_header():
    sent, added, ref = _Tracer(options(rate=0.0), HOST).prepare("/x", {"X-Caller": "kept"})
    assert sent == {"X-Caller": "kept"} and added is None and ref is None


def test_ttl_sets_how_long_the_signature_stays_valid():
    tracer = _Tracer(SimpleNamespace(**vars(options()), tideways_trace_ttl=30), HOST)
    before = int(time.time())
    header = headers_for(tracer, "/x", None)[PROFILER_HEADER]
    expires = int(header.split("&")[1].removeprefix("time="))
    assert before + 30 <= expires <= int(time.time()) + 30


def traced_pattern(seed, monkeypatch, count=300) -> list[bool]:
    monkeypatch.setattr(tracing, "_USER_NUMBERS", itertools.count(1))
    tracer = _Tracer(SimpleNamespace(**vars(options(rate=20.0)), tideways_trace_seed=seed), HOST)
    return [tracer.prepare("/x", None)[2] is not None for _ in range(count)]


def test_a_seed_reproduces_which_requests_are_traced(monkeypatch):
    first = traced_pattern(7, monkeypatch)
    assert traced_pattern(7, monkeypatch) == first
    assert traced_pattern(8, monkeypatch) != first
    assert 20 <= sum(first) <= 100  # 20 % of 300, give or take five standard deviations


@pytest.mark.parametrize(
    ("parse", "good", "value"),
    [
        (parse_ttl, "60", 60),
        (parse_seed, "", None),
        (parse_seed, "-3", -3),
        (parse_run_id, "ci-1234.5", "ci-1234.5"),
        (parse_run_id, "", ""),
    ],
)
def test_new_options_accept_good_values(parse, good, value):
    assert parse(good) == value


@pytest.mark.parametrize(
    ("parse", "bad", "allowed"),
    [
        (parse_ttl, "0", "1 to 86400"),
        (parse_ttl, "1.5", "1 to 86400"),
        (parse_ttl, "86401", "1 to 86400"),
        (parse_seed, "x", "whole number"),
        (parse_run_id, "a b", "letters, digits"),
        (parse_run_id, "x" * 65, "1 to 64"),
        (parse_trace_log, "/no/such/folder/traces.jsonl", "folder that exists"),
        (parse_trace_log, "/tmp", "folder that exists"),
    ],
)
def test_new_options_refuse_bad_values_naming_them(parse, bad, allowed):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        parse(bad)
    assert repr(bad) in str(error.value) and allowed in str(error.value)


def test_fresh_header_equals_signing_at_that_second(monkeypatch):
    signer = TidewaysSigner("foo")
    for now in (1700000000.1, 1700000000.9, 1700000001.0, 1700000500.5):
        monkeypatch.setattr(signing.time, "time", lambda now=now: now)
        assert signer.fresh_header(30) == TidewaysSigner("foo").header(int(now) + 30)


def test_the_module_imports_first_in_a_fresh_interpreter():
    """Scripts may import it before Locust: it must not import requests before Locust patches ssl."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-c", "import tideways_locust"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("base", ["HttpTidewaysUser", "FastHttpTidewaysUser"])
def test_every_traced_request_is_counted_once_when_done(base, start_target):
    target = start_target()
    user, report = in_process_user(getattr(tideways_locust, base), target.url, 100.0)
    user.client.get("/a")
    user.client.post("/b", data="x", headers={"X-Caller": "kept"})
    with user.client.get("/c", catch_response=True) as response:
        response.success()
    user.client.get("/d", headers=user.tidewaysProfilingHeaders())
    records = target.records()
    assert [r["verdict"] for r in records] == ["accepted"] * 4
    assert report.counted == 4 and report.traced == 4
    assert not report.keep_records, "no trace log: no request listener, no records"


def test_requests_session_gets_the_headers_for_a_traced_request_only(start_target):
    """HttpUser's trace headers go on requests' prepared request, for the traced request
    only: a request prepared later, or sent to another origin, carries none."""
    import requests

    target, other = start_target(), start_target()
    user, _report = in_process_user(tideways_locust.HttpTidewaysUser, target.url, 100.0)
    user.client.get("/traced")
    prepared = user.client.prepare_request(requests.Request("GET", f"{target.url}/by-hand"))
    assert PROFILER_HEADER not in prepared.headers and REF_HEADER not in prepared.headers
    user.client.get(f"{other.url}/untraced")  # another origin: never traced
    assert [r["verdict"] for r in target.records()] == ["accepted"]
    assert [r["profiler"] for r in other.records()] == [None]


def test_in_run_mode_every_traced_request_carries_the_run_id():
    tracer = _Tracer(SimpleNamespace(**vars(options()), tideways_run="run-42"), HOST)
    refs = {tracer.prepare("/x", None)[2] for _ in range(50)}
    assert refs == {"run-42"}
    signed_elsewhere = {PROFILER_HEADER: tracer.explicit_headers()[PROFILER_HEADER]}
    assert headers_for(tracer, "/x", {k.lower(): v for k, v in signed_elsewhere.items()})[REF_HEADER] == "run-42"


def test_a_user_stopped_while_its_traced_request_is_out_gets_an_unanswered_record(start_target):
    """Locust reports nothing of a request whose user is killed mid-flight; the application got it."""
    import gevent

    target = start_target()
    user, report = in_process_user(tideways_locust.HttpTidewaysUser, target.url, 100.0)
    report.keep_records = True
    records = []
    report.add = records.extend
    sent = time.monotonic()
    held = gevent.spawn(user.client.get, "/held?hold=1")  # the target holds it until it stops
    for _ in range(300):  # until the target has it: 30 s at most
        if target.records():
            break
        gevent.sleep(0.1)
    held.kill(block=True)
    waited_ms = (time.monotonic() - sent) * 1000
    assert report.counted == 1
    [record] = records
    assert record["answered"] is False and record["status"] is None
    assert record["path"] == "/held?hold=1" and record["method"] == "GET" and record["ref"]
    assert 0 < record["response_time_ms"] <= waited_ms, "the time until the user was stopped"
    assert [r["verdict"] for r in target.records()] == ["accepted"], "the application did receive it"
