"""Logged-in users: each flow with both clients against a target that has logins, in real runs.

The target (``tests/target.py --accounts``) answers 401 under /private without a valid
session, token or basic login, and records the account of every request.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.conftest import (
    ACCOUNTS,
    ACCOUNTS_CSV,
    API_KEY,
    LOGIN_ENV,
    LOGIN_TARGET,
    ROOT,
    SECRETS,
    arrived,
    free_port,
    locust_env,
    run_locust,
    run_master_and_workers,
    wait_until,
    web_ui,
    web_ui_page,
)

RUN_TIME_ENDED = "--run-time limit reached"

LOGINS = ROOT / "tests" / "locustfiles" / "logins.py"
SHORT = ["-u", "3", "-r", "10", "--stop-timeout", "5"]
FLOWS = {
    "form": ["--app-login", "form", "--app-login-page", "/login"],
    "form-laravel": ["--app-login", "form", "--app-login-page", "/login?style=laravel"],
    "form-shop": ["--app-login", "form", "--app-login-page", "/login?style=shop"],
    "form-elsewhere": ["--app-login", "form", "--app-login-page", "/login?style=elsewhere"],
    "form-query": ["--app-login", "form", "--app-login-page", "/login?style=query"],
    "token": ["--app-login", "token", "--app-login-page", "/api/login"],
    "bearer": ["--app-login", "bearer"],
    "basic": ["--app-login", "basic"],
}


def login_run(target, flow: list[str], user_class: str, *args: str, until=None, **env: str):
    """A run of the login users; with ``until`` it stops when that holds, else ARGS give a run time."""
    variables = {**LOGIN_ENV, **env}
    return run_locust(
        "-f", str(LOGINS), "--host", target.url, "--tideways-trace-rate", "50", *SHORT, *flow, *args, user_class,
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, **variables), until=until,
    )  # fmt: skip


def private(records: list[dict]) -> list[dict]:
    return [r for r in records if r["private"]]


def is_token_login(record: dict) -> bool:
    return record["path"] == "/api/login"


def logged_in_as(target, accounts: set[str]):
    """A condition: a private page was loaded logged in as each of ``accounts``."""

    def seen() -> bool:
        return {r["account"] for r in private(target.records())} >= accounts

    seen.__doc__ = f"a private page loaded as each of {sorted(accounts)}"
    return seen


# The two marked locust_hooks run against every supported Locust: a form and a token, both clients.
@pytest.mark.parametrize(
    ("flow", "user_class"),
    [
        pytest.param("form", "HttpLoginUser", marks=pytest.mark.locust_hooks),
        ("form-laravel", "FastHttpLoginUser"),
        ("form-shop", "HttpLoginUser"),
        ("form-shop", "FastHttpLoginUser"),
        ("form-elsewhere", "FastHttpLoginUser"),
        ("form-query", "HttpLoginUser"),
        ("token", "HttpLoginUser"),
        pytest.param("token", "FastHttpLoginUser", marks=pytest.mark.locust_hooks),
        ("bearer", "HttpLoginUser"),
        ("bearer", "FastHttpLoginUser"),
        ("basic", "HttpLoginUser"),
        ("basic", "FastHttpLoginUser"),
    ],
)
def test_every_private_page_is_loaded_logged_in_with_an_account_a_user(start_target, tmp_path, flow, user_class):
    target = start_target(API_KEY, *LOGIN_TARGET)
    expected = {"bearer"} if flow == "bearer" else {"alice", "bob", "carol"}
    result = login_run(
        target, FLOWS[flow], user_class, "--html", str(tmp_path / "report.html"), until=logged_in_as(target, expected)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    pages = private(target.records())
    assert pages and all(r["account"] for r in pages), "no private page without a valid login"
    assert {r["account"] for r in pages} == expected, "one account a user"
    assert all(r["verdict"] == "accepted" for r in target.records() if r["profiler"]), "traced like any request"
    if flow.startswith("form"):
        posted = "/session" if flow == "form-elsewhere" else "/login"
        assert "login: GET /login" in result.stderr and f"login: POST {posted}" in result.stderr, "named apart"
    kind = flow.split("-")[0]
    counted = f"logins: {len(expected)} users logged in ({kind}) with {len(expected)} accounts, 0 re-logins, 0 failed"
    assert counted in result.stderr if kind != "bearer" else "with 1 account, 0 re-logins" in result.stderr
    shown = result.stdout + result.stderr + (tmp_path / "report.html").read_text()
    assert not any(secret in shown for secret in SECRETS)


def test_an_expiring_token_is_renewed_before_it_expires(start_target):
    # Renewed at 0.8 of its 4 s: a request sent just before that has 0.8 s to arrive.
    target = start_target(API_KEY, *LOGIN_TARGET, "--token-ttl", "4")
    renewed = arrived(target, 3 * 2, is_token_login, "token logins")
    result = login_run(target, FLOWS["token"], "HttpLoginUser", until=renewed)
    assert result.returncode == 0, result.stderr[-3000:]
    records = target.records()
    assert all(r["account"] for r in private(records)), "no request with an expired token"
    logins = [r["time"] for r in records if is_token_login(r)]
    assert max(logins) - min(logins) >= 0.8 * 4, "the second logins renewed the tokens, 3.2 s after the first"


def test_a_token_that_expired_unannounced_is_renewed_after_its_401(start_target):
    target = start_target(API_KEY, *LOGIN_TARGET, "--token-ttl", "1", "--no-expires-in")

    def renewed_after_a_401() -> bool:
        """a 401, then a private page loaded with a token got after it"""
        records = target.records()
        refused = [r["time"] for r in private(records) if r["account"] is None]
        renewed = [r["time"] for r in records if is_token_login(r) and refused and r["time"] > min(refused)]
        return bool(renewed) and any(r["account"] and r["time"] > min(renewed) for r in private(records))

    result = login_run(
        target, FLOWS["token"], "FastHttpLoginUser", "--max-fail-percent", "0", until=renewed_after_a_401
    )
    records = target.records()
    refused = [r for r in private(records) if r["account"] is None]
    logins = sum(map(is_token_login, records))
    assert refused and logins > 3, "the tokens expired unannounced, and users logged in again"
    # A user's 401 renews its token before its next request: one 401 a login at most.
    assert len(refused) <= logins, (len(refused), logins)
    assert result.returncode == 3 and "401" in result.stderr, "the 401s are failures in Locust's statistics"
    assert "logins: 3 users logged in (token) with 3 accounts" in result.stderr


@pytest.mark.locust_hooks  # the master hands out accounts with Locust's custom messages
def test_users_on_two_workers_take_distinct_accounts(start_target, tmp_path):
    target = start_target(API_KEY, *LOGIN_TARGET)
    log, run_file = tmp_path / "traces.jsonl", tmp_path / "run.json"
    result = run_master_and_workers(
        LOGINS,
        ["--host", target.url, "-u", "4", "-r", "10", "--tideways-trace-log", str(log),
         *FLOWS["form"], "HttpLoginUser"],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        [],
        locust_env(LOGIN_ACCOUNTS=ACCOUNTS_CSV),
        until=logged_in_as(target, set(ACCOUNTS)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    pages = private(target.records())
    assert pages and all(r["account"] for r in pages)
    assert {r["account"] for r in pages} == set(ACCOUNTS), "four users, four accounts, across both workers"
    assert "logins: 4 users logged in (form) with 4 accounts, 0 re-logins, 0 failed" in result.stderr, "counted"
    assert json.loads(run_file.read_text())["logins"] == {
        "kind": "form", "users_logged_in": 4, "accounts": 4, "relogins": 0, "failed": 0, "first_failure": None,
    }  # fmt: skip
    assert not any(secret in log.read_text() + result.stderr for secret in SECRETS)


@pytest.mark.parametrize(
    ("flow", "extra", "env", "reason"),
    [
        ("form", [], {"LOGIN_ACCOUNTS": "alice,wrong"}, "POST /login answered with the login form again: wrong"),
        ("form-shop", [], {"LOGIN_ACCOUNTS": "alice,wrong"}, "POST /login?style=shop answered with the login form"),
        ("form-elsewhere", [], {"LOGIN_ACCOUNTS": "alice,wrong"}, "POST /session answered with the login form again"),
        ("form-query", [], {"LOGIN_ACCOUNTS": "alice,wrong"}, "POST /login?style=query answered with the login form"),
        (
            "form",
            ["--app-login-page", "/login?style=nocsrf", "--app-login-csrf-field", "_csrf_token"],
            {},
            "no '_csrf_token' field in the login form on /login?style=nocsrf",
        ),
        # These two land on a private page after the post: it is not what a task loads.
        ("form", ["--app-login-success", "Log out"], {}, "'Log out' is not on the page after the login"),
        ("form", ["--app-login-check", "/login?style=symfony"], {}, "the check page /login?style=symfony shows a"),
        ("token", ["--app-login-token-field", "access_token"], {}, "no 'access_token' field in the answer of"),
        ("token", [], {"LOGIN_ACCOUNTS": "alice,wrong"}, "the token endpoint answered 401"),
    ],
)
def test_when_every_login_fails_the_run_stops_early_with_one_line(start_target, flow, extra, env, reason):
    target = start_target(API_KEY, *LOGIN_TARGET)
    result = login_run(target, FLOWS[flow], "HttpLoginUser", *extra, "-t", "60s", **env)
    assert RUN_TIME_ENDED not in result.stderr, "stopped by the logins, not by its run time"
    assert result.returncode == 1, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "every login failed" in line]
    assert len(lines) == 1 and f"the first because {reason}" in lines[0], result.stderr[-3000:]
    landed = [r for r in private(target.records()) if r["path"] == "/private/account" and r["method"] == "GET"]
    assert len(landed) == len(private(target.records())) <= 3, "no private page but where a login post landed"
    assert reason in result.stderr, "Locust's failures say why"
    # Every login failed: exit 1, though the failed logins break --max-fail-percent (exit 3) too.
    assert "over --max-fail-percent 1 (exit code 1)" in result.stderr


def test_when_every_login_on_two_workers_fails_the_master_stops_the_run(start_target):
    target = start_target(API_KEY, *LOGIN_TARGET)
    result = run_master_and_workers(
        LOGINS,
        ["--host", target.url, "-u", "4", "-r", "10", "-t", "60s", *FLOWS["form"], "HttpLoginUser"],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY),
        [],
        locust_env(LOGIN_ACCOUNTS="alice,wrong"),
    )  # fmt: skip
    assert RUN_TIME_ENDED not in result.stderr, "stopped by the logins, not by its run time"
    assert result.returncode == 1
    assert "Tideways: every login failed (4 of 4), the first because POST /login answered with" in result.stderr
    assert private(target.records()) == []


def test_an_unreachable_login_page_says_so():
    class Nowhere:
        url = f"http://127.0.0.1:{free_port()}"

    result = login_run(Nowhere, FLOWS["form"], "FastHttpLoginUser", "-t", "60s")
    assert result.returncode == 1
    assert "the first because the login page is unreachable" in result.stderr


@pytest.mark.parametrize("flow", ["form", "bearer"])
def test_no_accounts_stops_locust_before_any_request(start_target, flow):
    target = start_target(API_KEY, *LOGIN_TARGET)
    result = login_run(target, FLOWS[flow], "HttpLoginUser", "-t", "5s", LOGIN_ACCOUNTS="", LOGIN_TOKEN="")
    assert result.returncode == 2
    assert ("needs LOGIN_TOKEN" if flow == "bearer" else "needs accounts: accounts.csv") in result.stderr
    assert target.records() == []


def test_accounts_given_as_the_file_name_by_mistake_are_never_shown(start_target):
    target = start_target(API_KEY, *LOGIN_TARGET)
    result = login_run(
        target, FLOWS["form"], "HttpLoginUser", "-t", "5s", LOGIN_ACCOUNTS="", LOGIN_ACCOUNTS_FILE=ACCOUNTS_CSV
    )
    assert (
        result.returncode == 2
        and "its value is no file's name: the CSV itself belongs in LOGIN_ACCOUNTS" in result.stderr
    )
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)


def test_more_users_than_accounts_share_them_with_one_warning(start_target):
    target = start_target(API_KEY, *LOGIN_TARGET)
    result = login_run(
        target,
        FLOWS["basic"],
        "HttpLoginUser",
        "-u",
        "5",
        LOGIN_ACCOUNTS="alice,pw-alice-7f3a\nbob,pw-bob-91c2",
        until=logged_in_as(target, {"alice", "bob"}),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("more users than the 2 accounts") == 1
    assert {r["account"] for r in private(target.records())} == {"alice", "bob"}


def test_the_login_options_are_refused_when_bad():
    result = run_locust("-f", str(LOGINS), "--app-login", "oauth", "-t", "1s", env=locust_env())
    assert result.returncode != 0 and "'oauth' is not allowed: one of none, form, token, bearer, basic" in result.stderr


def test_accounts_come_from_the_csv_file(start_target, tmp_path):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS_CSV)
    target = start_target(API_KEY, *LOGIN_TARGET)
    result = login_run(
        target,
        FLOWS["form"],
        "HttpLoginUser",
        LOGIN_ACCOUNTS="",
        LOGIN_ACCOUNTS_FILE=str(accounts),
        until=logged_in_as(target, {"alice", "bob", "carol"}),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len({r["account"] for r in private(target.records())}) == 3
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)


def test_the_web_ui_page_shows_no_account():
    env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, **LOGIN_ENV)
    html = web_ui_page(LOGINS, *FLOWS["form"], env=env)
    assert "tideways_trace_rate" in html, "the page lists the custom options"
    assert not any(secret in html for secret in [*SECRETS, "alice", "LOGIN_ACCOUNTS"])


def drop_sessions(target) -> None:
    """End every session of the target at once, as an application restart does."""
    urllib.request.urlopen(urllib.request.Request(f"{target.url}/_control/drop-sessions", method="POST"), timeout=5)


def logged_in_again_after_a_drop(target, accounts: set[str]):
    """A condition: once each account loaded a private page, the sessions are dropped; then it holds
    when each account loaded a private page again, logged in anew."""
    dropped: list[float] = []

    def again() -> bool:
        if not dropped:
            if not logged_in_as(target, accounts)():
                return False
            drop_sessions(target)
            dropped.append(time.time())  # after: a request that arrives later finds no session of before
        after = {r["account"] for r in private(target.records()) if r["time"] > dropped[0]}
        return after >= accounts

    again.__doc__ = f"a private page loaded as each of {sorted(accounts)} after their sessions were dropped"
    return again


@pytest.mark.parametrize(
    ("logged_out", "user_class", "extra"),
    [
        ("401", "HttpLoginUser", []),
        ("redirect", "FastHttpLoginUser", []),  # to the login page: its form tells
        ("redirect", "HttpLoginUser", []),
        # A 200 page without a form: only the success text, looked for every half second, tells.
        ("page", "HttpLoginUser", ["--app-login-success", '"ok": true', "--app-login-check-every", "0.5"]),
    ],
)
def test_users_log_in_again_when_the_application_drops_their_sessions(start_target, logged_out, user_class, extra):
    target = start_target(API_KEY, *LOGIN_TARGET, "--logged-out", logged_out)
    accounts = {"alice", "bob", "carol"}
    result = login_run(target, FLOWS["form"], user_class, *extra, until=logged_in_again_after_a_drop(target, accounts))
    counted = "logins: 3 users logged in (form) with 3 accounts, 3 re-logins, 0 failed"
    assert counted in result.stderr, result.stderr[-3000:]
    logins = [r for r in target.records() if r["path"] == "/login" and r["method"] == "POST"]
    assert len(logins) == 6, "each user logged in twice: when it started, and once after the drop"


def test_a_user_whose_logins_again_keep_failing_stops_with_the_reason(start_target):
    target = start_target(API_KEY, *LOGIN_TARGET)
    result = login_run(target, FLOWS["form"], "ForbiddenUser", "-t", "60s")
    assert RUN_TIME_ENDED not in result.stderr, "stopped when every user had stopped"
    assert result.returncode == 1, result.stderr[-3000:]
    assert "every user stopped: 3 logged in, then their logins again failed, the first because an answer was 403 " \
        "after 3 logins again in a row" in result.stderr  # fmt: skip
    forbidden = [r for r in target.records() if r["path"] == "/private/forbidden"]
    assert len(forbidden) == 3 * 4, "each user: its first login, then 3 more, each followed by one 403"


def test_the_web_ui_tab_counts_the_logins(start_target):
    target = start_target(API_KEY, *LOGIN_TARGET)
    env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, **LOGIN_ENV)
    with web_ui(LOGINS, "--autostart", *SHORT, *FLOWS["form"], "FastHttpLoginUser", env=env, host=target.url) as fetch:

        def counted() -> str | None:
            stats = fetch("/stats/requests")
            tables = {t["key"]: t["data"] for t in json.loads(stats).get("extended_stats", [])} if stats else {}
            logins = (tables.get("tideways") or [{}])[0].get("logins", "")
            return logins if "3 users logged in" in logins else None

        logins = wait_until(counted, timeout=30)
        page = fetch("/")
    assert logins == "3 users logged in (form) with 3 accounts, 0 re-logins, 0 failed"
    assert '"Logins"' in page and not any(secret in page for secret in SECRETS)
