"""Logged-in users: a form, a token endpoint, a static bearer token or HTTP basic, one account a user.

Secrets come only from the environment (``.env`` included) or a git-ignored accounts
file: ``LOGIN_ACCOUNTS_FILE`` (default ``accounts.csv``: ``username,password`` lines),
``LOGIN_ACCOUNTS`` (the same CSV as text, for CI secrets), or ``LOGIN_USERNAME`` and
``LOGIN_PASSWORD`` for one account; ``LOGIN_TOKEN`` for a static bearer token. The
``--app-login*`` options say how to log in, never with what (``--login`` belongs to
locust-cloud, which Locust up to 2.46 brings). Each user takes its own account (a
distributed master hands them out), logs in when it starts, and keeps
its session cookie or token; a token with ``expires_in`` is renewed before it
expires and after a 401. A failed login is a Locust failure with a reason, and when
every user's login fails the run stops with one line.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import itertools
import logging
import os
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import gevent
from gevent.event import AsyncResult
from locust import events
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

logger = logging.getLogger("tideways_locust")

KINDS = ("none", "form", "token", "bearer", "basic")
CSRF_FIELDS = ("_csrf_token", "_token")  # Symfony's and Laravel's
FORM_USER_FIELDS = ("_username", "email", "username", "login")
FORM_PASSWORD_FIELDS = ("_password", "password")
ACCOUNT_MESSAGE = "tideways_login_account"
RESULT_MESSAGE = "tideways_login_result"


class LoginError(Exception):
    """Why a login did not work, in words a person understands, without any secret."""


def parse_kind(value: object) -> str:
    text = str(value or "none").strip().lower()
    if text not in KINDS:
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: one of {', '.join(KINDS)}")
    return text


@events.init_command_line_parser.add_listener
def _add_login_arguments(parser) -> None:
    options = [
        ("--app-login", parse_kind, "none", "How users log in: none, form, token, bearer or basic (README: Logins)."),
        ("--app-login-page", str, "/login", "form: the page with the login form; token: the endpoint to post to."),
        ("--app-login-user-field", str, "", "The username field (form: _username, email, username; token: username)."),
        ("--app-login-password-field", str, "", "The password field (form: _password, password; token: password)."),
        ("--app-login-csrf-field", str, "", "form: the CSRF field (_csrf_token or _token; none: the form has none)."),
        ("--app-login-success", str, "", "form: a text on the page after a login that worked (else: left the page)."),
        ("--app-login-token-field", str, "token", "token: the answer's field that holds the token (a.b for nested)."),
    ]
    for flag, kind, default, text in options:
        env = "LOCUST_" + flag.strip("-").upper().replace("-", "_")
        parser.add_argument(flag, type=kind, env_var=env, default=default, include_in_web_ui=False, help=text)


def load_accounts(kind: str) -> list[tuple[str, str]]:
    """``[(username, password), ...]`` from the environment or the accounts file; bearer: ``[("", token)]``."""
    if kind == "bearer":
        token = os.environ.get("LOGIN_TOKEN", "")
        return [("", token)] if token else []
    text = os.environ.get("LOGIN_ACCOUNTS", "")
    path = os.environ.get("LOGIN_ACCOUNTS_FILE", "accounts.csv")
    if not text and os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            text = file.read()
    accounts = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and row[0].strip() and row[0].strip().lower() != "username":
            accounts.append((row[0].strip(), row[1]))
    if not accounts and os.environ.get("LOGIN_USERNAME") and os.environ.get("LOGIN_PASSWORD") is not None:
        accounts.append((os.environ["LOGIN_USERNAME"], os.environ.get("LOGIN_PASSWORD", "")))
    return accounts


def missing_accounts_line(kind: str) -> str:
    if kind == "bearer":
        return "Tideways: --app-login bearer needs LOGIN_TOKEN in the environment or .env (README: Logins)"
    return (
        f"Tideways: --app-login {kind} needs accounts: {os.environ.get('LOGIN_ACCOUNTS_FILE', 'accounts.csv')} "
        "(username,password lines), LOGIN_ACCOUNTS, or LOGIN_USERNAME and LOGIN_PASSWORD (README: Logins)"
    )


class _Book:
    """Hands out account numbers: in order in one process, from the master across workers."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.pending: dict[str, AsyncResult] = {}
        self.runner = None
        self.succeeded = self.failed = 0
        self.first_reason = ""
        self.stopping = False
        self.shared_warned = False
        self.accounts: list[tuple[str, str]] | None = None  # read once a run, not once a user

    def accounts_for(self, kind: str) -> list[tuple[str, str]]:
        if self.accounts is None:
            self.accounts = load_accounts(kind)
        return self.accounts

    def next_number(self) -> int:
        if isinstance(self.runner, WorkerRunner):
            ask = uuid.uuid4().hex
            self.pending[ask] = AsyncResult()
            self.runner.send_message(ACCOUNT_MESSAGE, {"ask": ask})
            try:
                return int(self.pending[ask].get(timeout=30))
            except gevent.Timeout:
                raise LoginError("the master handed out no account within 30 s") from None
            finally:
                del self.pending[ask]
        return next(self.counter)


BOOK = _Book()


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    runner = environment.runner
    BOOK.runner = runner
    if isinstance(runner, MasterRunner):

        def hand_out(environment, msg, **_kwargs) -> None:
            answer = {"ask": msg.data["ask"], "number": next(BOOK.counter)}
            runner.send_message(ACCOUNT_MESSAGE, answer, client_id=msg.node_id)

        def result(environment, msg, **_kwargs) -> None:
            _count(environment, msg.data["ok"], msg.data["reason"])

        runner.register_message(ACCOUNT_MESSAGE, hand_out)
        runner.register_message(RESULT_MESSAGE, result)
    elif isinstance(runner, WorkerRunner):

        def answered(environment, msg, **_kwargs) -> None:
            waiting = BOOK.pending.get(msg.data["ask"])
            if waiting is not None:
                waiting.set(msg.data["number"])

        runner.register_message(ACCOUNT_MESSAGE, answered)
    kind = getattr(environment.parsed_options, "app_login", "none")
    if kind != "none" and not isinstance(runner, MasterRunner) and not load_accounts(kind):
        logger.error(missing_accounts_line(kind))
        raise SystemExit(2)


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    BOOK.counter = itertools.count()
    BOOK.succeeded = BOOK.failed = 0
    BOOK.first_reason = ""
    BOOK.stopping = BOOK.shared_warned = False
    BOOK.accounts = None


def _stop_run(environment, line: str) -> None:
    if BOOK.stopping:
        return
    BOOK.stopping = True
    logger.error(line)
    environment.process_exit_code = 1
    gevent.spawn_later(0, environment.runner.quit)


def _outcome(user, ok: bool, reason: str = "") -> None:
    """A login's outcome, counted where the run is run: in this process, or on the master."""
    runner = user.environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(RESULT_MESSAGE, {"ok": ok, "reason": reason})
    else:
        _count(user.environment, ok, reason)


def _count(environment, ok: bool, reason: str) -> None:
    """Stop the run once every user it asked for failed to log in, and none logged in."""
    if ok:
        BOOK.succeeded += 1
        return
    BOOK.failed += 1
    BOOK.first_reason = BOOK.first_reason or reason
    runner = environment.runner
    wanted = max(getattr(runner, "target_user_count", 0) or 0, 1)
    if BOOK.succeeded == 0 and BOOK.failed >= wanted:
        _stop_run(
            environment,
            f"Tideways: every login failed ({BOOK.failed} of {BOOK.failed}), the first because {BOOK.first_reason}; "
            "the run stops (README: Logins)",
        )


class _FormFinder(HTMLParser):
    """The first form with a password field: its action and its inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = {"action": attributes.get("action", ""), "inputs": {}, "password": False}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attributes.get("name"):
            self._current["inputs"][attributes["name"]] = attributes.get("value", "")
            self._current["password"] |= attributes.get("type", "").lower() == "password"

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self._current = None


def _stop_user(user) -> None:
    raise StopUser()


def _status(response) -> int:
    return int(getattr(response, "status_code", 0) or 0)


class Login:
    """One user's login: its account, and the header or cookie that proves it."""

    def __init__(self, user, options) -> None:
        self.user, self.options = user, options
        self.kind = options.app_login
        self.account: tuple[str, str] = ("", "")
        self.header: str | None = None  # the Authorization value every request carries
        self.renew_at = float("inf")
        self.logged_in = False

    def start(self) -> bool:
        accounts = BOOK.accounts_for(self.kind)
        try:
            if not accounts:
                raise LoginError(missing_accounts_line(self.kind).removeprefix("Tideways: "))
            number = BOOK.next_number()
            if number >= len(accounts) and not BOOK.shared_warned:
                BOOK.shared_warned = True
                logger.warning(
                    "Tideways: more users than the %d accounts, so users share accounts from user %d on "
                    "(README: Logins)",
                    len(accounts),
                    number + 1,
                )
            self.account = accounts[number % len(accounts)]
            self.log_in()
        except LoginError as reason:
            _outcome(self.user, False, str(reason))
            # Stopped from its first task: Locust logs a traceback for any exception of on_start.
            self.user.tasks = [_stop_user]
            return False
        _outcome(self.user, True)
        return True

    def log_in(self) -> None:
        username, password = self.account
        if self.kind == "bearer":
            self.header = f"Bearer {password}"
        elif self.kind == "basic":
            self.header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        elif self.kind == "form":
            self._form()
        elif self.kind == "token":
            self._token()
        self.logged_in = True

    def _send(self, method: str, url: str, check, **kwargs):
        """A login request, named apart in Locust's statistics; ``check(response)`` failing fails it."""
        name = f"login: {method} {urlsplit(url).path or url}"
        with self.user.client.request(method, url, name=name, catch_response=True, **kwargs) as response:
            try:
                return check(response)
            except LoginError as reason:
                response.failure(str(reason))
                raise

    def _form(self) -> None:
        page = self.options.app_login_page
        html = self._send("GET", page, lambda response: _answered(response, "login page").text or "")
        finder = _FormFinder()
        finder.feed(html)
        form = next((f for f in finder.forms if f["password"]), None)
        if form is None:
            raise LoginError(f"no form with a password field on {page}")
        inputs = dict(form["inputs"])
        csrf = self.options.app_login_csrf_field
        if csrf.lower() != "none":
            names = [csrf] if csrf else list(CSRF_FIELDS)
            if not any(name in inputs for name in names):
                raise LoginError(f"no CSRF field ({' or '.join(names)}) in the login form on {page}")
        options = self.options
        user_field = options.app_login_user_field or next((n for n in FORM_USER_FIELDS if n in inputs), "")
        password_field = options.app_login_password_field or next((n for n in FORM_PASSWORD_FIELDS if n in inputs), "")
        if not user_field or not password_field:
            raise LoginError(f"no username or password field in the login form on {page}: set --app-login-user-field")
        inputs[user_field], inputs[password_field] = self.account
        action = urljoin(page, form["action"]) if form["action"] else page
        self._send("POST", action, lambda response: self._landed(response, page), data=inputs)

    def _landed(self, response, page: str):
        _answered(response, "login form")
        sign = self.options.app_login_success
        if sign:
            if sign not in (response.text or ""):
                raise LoginError(f"{sign!r} is not on the page after the login: wrong username or password?")
        elif urlsplit(str(getattr(response, "url", "") or "")).path == urlsplit(page).path:
            raise LoginError(f"still on {page} after the login: wrong username or password?")
        return response

    def _token(self) -> None:
        user_field = self.options.app_login_user_field or "username"
        password_field = self.options.app_login_password_field or "password"
        username, password = self.account
        endpoint = self.options.app_login_page
        answer = self._send("POST", endpoint, _json_answer, json={user_field: username, password_field: password})
        token = answer
        for part in self.options.app_login_token_field.split("."):
            token = token.get(part) if isinstance(token, dict) else None
        if not isinstance(token, str) or not token:
            raise LoginError(f"no {self.options.app_login_token_field!r} field in the answer of {endpoint}")
        self.header = f"Bearer {token}"
        expires = answer.get("expires_in") if isinstance(answer, dict) else None
        if isinstance(expires, int | float) and expires > 0:
            self.renew_at = time.monotonic() + expires * 0.8  # renewed before it expires

    def headers(self) -> dict[str, str] | None:
        """The Authorization header for the next request, renewing an expiring token first."""
        if self.kind == "token" and time.monotonic() >= self.renew_at:
            self.renew()
        return {"Authorization": self.header} if self.header else None

    def renew(self) -> None:
        self.renew_at = float("inf")
        try:
            self._token()
        except LoginError as reason:
            logger.warning("Tideways: renewing a login failed: %s", reason)


def _answered(response, what: str):
    status = _status(response)
    if status == 0:
        raise LoginError(f"the {what} is unreachable")
    if status >= 400:
        raise LoginError(f"the {what} answered {status}")
    return response


def _json_answer(response) -> object:
    _answered(response, "token endpoint")
    try:
        return response.json()
    except ValueError:
        raise LoginError("the token endpoint's answer is not JSON") from None


def install(user) -> Login | None:
    """Log ``user`` in when it starts and send its credentials with every request; None without logins."""
    options = user.environment.parsed_options
    if getattr(options, "app_login", "none") in ("none", None):
        return None
    login = Login(user, options)
    send = user.client.request

    def request(method, url, *args, headers=None, **kwargs):
        added = login.headers()
        if added:
            headers = {**added, **headers} if headers else added
        response = send(method, url, *args, headers=headers, **kwargs)
        if login.kind == "token" and login.logged_in and _status(response) == 401:
            login.renew()  # the token expired: the next requests carry a new one
        return response

    user.client.request = request
    started = user.on_start

    def on_start() -> None:
        if login.start():
            started()

    user.on_start = on_start
    return login
