"""The run's Tideways event: what is posted, where, once a run, and what a failed attempt says.

Real runs post to the API stand-in's ``POST /api/events`` (``tests/tideways_api.py``) or to an
endpoint of this file that takes the connection and never answers; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import threading
from types import SimpleNamespace

import pytest

from tests.conftest import (
    API_KEY,
    SCENARIO,
    SHORT,
    all_of,
    locust_env,
    run_locust,
    run_master_and_workers,
    run_scenario,
    scenario_done,
)
from tideways_locust.event import RunEvent, event_body
from tideways_locust.options import (
    DEFAULT_EVENTS_URL,
    Settings,
    parse_event_type,
    parse_events_url,
    parse_service,
)
from tideways_locust.tracelog import TraceReport

RUN_ID = "event-test-1"
EVENT_LINE = re.compile(r"Tideways: event \w+ ")


def event_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if EVENT_LINE.search(line)]


def body_of(host: str = "http://shop.test", service: str = "", project: str = "acme/shop", **options) -> dict:
    parsed = SimpleNamespace(
        tideways_apikey=API_KEY,
        tideways_run=RUN_ID,
        tideways_project=project,
        tideways_environment="staging",
        num_users=7,
        host=host,
        **options,
    )
    environment = SimpleNamespace(parsed_options=parsed, host=host, runner=None)
    settings = Settings(parsed)
    report = TraceReport(environment)
    report.settings = settings
    return event_body(environment, settings, report, "marker", service)


def test_the_body_names_the_run_and_holds_the_key_in_api_key_only():
    body = body_of(host="http://loadtest:s3cr3t-pw@shop.test:8080", service="api")
    assert set(body) == {"apiKey", "type", "name", "description", "environment", "service"}
    assert body["apiKey"] == API_KEY
    assert (body["type"], body["name"], body["environment"], body["service"]) == (
        "marker",
        f"Load test {RUN_ID}",
        "staging",
        "api",
    )
    assert "7 users" in body["description"] and "http://shop.test:8080" in body["description"]
    assert f"https://app.tideways.io/o/acme/shop/traces?cid={RUN_ID}" in body["description"]
    rest = json.dumps({name: value for name, value in body.items() if name != "apiKey"}, ensure_ascii=False)
    assert API_KEY not in rest and "s3cr3t-pw" not in rest, "neither the key nor the host's password"


def test_the_body_has_no_service_without_one_and_no_link_without_a_project():
    body = body_of(project="")
    assert "service" not in body, "Tideways' default service"
    assert "traces:" not in body["description"]


@pytest.mark.parametrize(
    ("parse", "bad", "allowed"),
    [
        (parse_event_type, "deploy", "marker"),
        (parse_event_type, "", "release"),
        (parse_events_url, "app.tideways.io/api/events", "http:// or https://"),
        (parse_events_url, "ftp://127.0.0.1/api/events", DEFAULT_EVENTS_URL),
        (parse_events_url, "https://", "https://"),
        (parse_service, "web service", "service name"),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(parse, bad, allowed):
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        parse(bad)
    assert repr(bad) in str(raised.value) and allowed in str(raised.value)


def test_a_bad_events_url_is_named_without_its_password():
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        parse_events_url("ftp://user:pw-9d1@127.0.0.1/api/events")
    assert "pw-9d1" not in str(raised.value) and "127.0.0.1/api/events" in str(raised.value)


def test_the_values_allowed_are_read_as_given():
    assert parse_event_type(" Release ") == "release" and parse_event_type("none") == "none"
    assert parse_events_url("http://127.0.0.1:8080/api/events") == "http://127.0.0.1:8080/api/events"
    assert parse_service("") == "" and parse_service("worker") == "worker"


def test_no_key_or_none_posts_nothing():
    assert RunEvent("marker", DEFAULT_EVENTS_URL, None).as_dict() == {"type": "marker", "posted": None}


@pytest.mark.parametrize("source", ["flag", "env"])
def test_a_bad_event_type_stops_locust_with_one_line(source, start_target):
    target = start_target()
    env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY)
    args = ["-f", str(SCENARIO), "--host", target.url, *SHORT, "-t", "5s", "HttpScenario"]
    if source == "flag":
        args += ["--tideways-event", "deploy"]
    else:
        env["LOCUST_TIDEWAYS_EVENT"] = "deploy"
    result = run_locust(*args, env=env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "'deploy' is not allowed" in line]
    assert len(lines) == 1 and "marker" in lines[0] and "none" in lines[0], result.stderr
    assert target.records() == []


def event_calls(stand_in) -> list[dict]:
    return [call for call in stand_in.calls() if call["path"] == "/api/events"]


def posted(stand_in, count: int = 1):
    def enough() -> bool:
        return len(event_calls(stand_in)) >= count

    enough.__doc__ = f"{count} event(s) posted to {stand_in.events_url}"
    return enough


def test_a_run_posts_its_event_to_the_events_endpoint(start_target, start_tideways_api):
    target, other = start_target(), start_target()
    api = start_tideways_api(api_key=API_KEY)
    result = run_scenario(
        "HttpScenario",
        target,
        other,
        until=all_of(scenario_done(other, times=3), posted(api)),
        LOCUST_TIDEWAYS_EVENT="release",
        LOCUST_TIDEWAYS_EVENTS_URL=api.events_url,
        LOCUST_TIDEWAYS_PROJECT="acme/shop",
        LOCUST_TIDEWAYS_ENVIRONMENT="staging",
        LOCUST_TIDEWAYS_SERVICE="api",
        LOCUST_TIDEWAYS_RUN_ID=RUN_ID,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [call] = event_calls(api)
    assert (call["method"], call["authorized"], call["status"]) == ("POST", True, 201), "the project's key, accepted"
    event = call["event"]
    assert {name: event.get(name) for name in ("type", "name", "environment", "service")} == {
        "type": "release",
        "name": f"Load test {RUN_ID}",
        "environment": "staging",
        "service": "api",
    }
    assert "3 users" in event["description"] and target.url in event["description"]
    assert f"https://app.tideways.io/o/acme/shop/traces?cid={RUN_ID}" in event["description"]
    [line] = event_lines(result.stderr)
    assert "INFO" in line and f"event release 'Load test {RUN_ID}' posted to {api.events_url}" in line
    assert API_KEY not in result.stdout + result.stderr


def test_a_refused_event_is_one_warning_and_the_run_goes_on(start_target, start_tideways_api):
    target, other = start_target(), start_target()
    api = start_tideways_api(script={"events": [{"status": 503}]})
    result = run_scenario(
        "HttpScenario",
        target,
        other,
        until=all_of(scenario_done(other, times=3), posted(api)),
        LOCUST_TIDEWAYS_EVENT="marker",
        LOCUST_TIDEWAYS_EVENTS_URL=api.events_url,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = event_lines(result.stderr)
    assert "WARNING" in line and f"not posted to {api.events_url}: HTTP 503" in line
    assert API_KEY not in result.stdout + result.stderr


@pytest.fixture
def silent_endpoint():
    """An events endpoint on 127.0.0.1 that takes each connection and never answers; it notes
    each connection it took and each the client closed."""
    server = socket.create_server(("127.0.0.1", 0))
    seen = SimpleNamespace(url=f"http://127.0.0.1:{server.getsockname()[1]}/api/events", taken=0, closed=0)

    def hold(connection: socket.socket) -> None:
        with connection:
            while connection.recv(65536):  # read whatever comes; answer nothing
                pass
        seen.closed += 1

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed at the end of the test
                return
            seen.taken += 1
            threading.Thread(target=hold, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield seen
    server.close()


def test_an_endpoint_that_never_answers_is_given_up_with_one_warning(start_target, silent_endpoint):
    target, other = start_target(), start_target()

    def hung_up() -> bool:
        return silent_endpoint.closed >= 1

    hung_up.__doc__ = "the client gave up on the silent endpoint"
    result = run_scenario(
        "FastHttpScenario",
        target,
        other,
        until=all_of(scenario_done(other, times=3), hung_up),
        LOCUST_TIDEWAYS_EVENT="marker",  # the tests' default is none
        LOCUST_TIDEWAYS_EVENTS_URL=silent_endpoint.url.replace("http://", "http://user:pw-4c2@"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = event_lines(result.stderr)
    assert "WARNING" in line and f"not posted to {silent_endpoint.url}: no answer within 3 s" in line
    assert silent_endpoint.taken == 1, "one attempt, no retry"
    assert "pw-4c2" not in result.stderr and API_KEY not in result.stdout + result.stderr


def test_a_run_that_ends_while_its_event_is_out_ends_it(start_target, silent_endpoint):
    """Stopped as soon as the endpoint took the connection: the attempt ends at quit at the latest,
    with its one line, and the run exits as usual."""
    target, other = start_target(), start_target()

    def taken() -> bool:
        return silent_endpoint.taken >= 1

    taken.__doc__ = "the silent endpoint took the connection"
    result = run_scenario(
        "HttpScenario",
        target,
        other,
        until=taken,
        LOCUST_TIDEWAYS_EVENT="marker",
        LOCUST_TIDEWAYS_EVENTS_URL=silent_endpoint.url,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = event_lines(result.stderr)
    assert "WARNING" in line and f"not posted to {silent_endpoint.url}: " in line


def test_no_key_posts_no_event(start_target, silent_endpoint):
    target, other = start_target(), start_target()
    result = run_scenario(
        "HttpScenario",
        target,
        other,
        "--tideways-trace-rate",
        "0",
        key="",
        LOCUST_TIDEWAYS_EVENT="marker",
        LOCUST_TIDEWAYS_EVENTS_URL=silent_endpoint.url,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert silent_endpoint.taken == 0 and event_lines(result.stderr) == []


def test_a_distributed_run_posts_once_from_the_master(start_target, start_tideways_api):
    target, other = start_target(), start_target()
    api = start_tideways_api(api_key=API_KEY)
    events = {"LOCUST_TIDEWAYS_EVENT": "marker", "LOCUST_TIDEWAYS_EVENTS_URL": api.events_url}
    result = run_master_and_workers(
        SCENARIO,
        ["--host", target.url, *SHORT, "HttpScenario"],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url, **events),
        [],
        # The workers could post too (a key, the stand-in's URL), yet must not.
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url, **events),
        until=all_of(scenario_done(other, times=3), posted(api)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [call] = event_calls(api)
    assert call["status"] == 201 and call["event"]["type"] == "marker"
    assert len(event_lines(result.stderr)) == 1
