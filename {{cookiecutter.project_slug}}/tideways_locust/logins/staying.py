"""Staying logged in for the whole run.

PHP's sessions end (``session.gc_maxlifetime`` is 24 minutes by default) and an
application restart can drop them all; from then on every request would measure the
login page. So a form login's user logs in again, once, when an answer shows it was
logged out: a 401 or 403, or the login form (which is where a redirect to the login page
ends). Where an application answers neither (a 200 "login required" page), the check page
or the success text, looked at every ``--app-login-check-every`` seconds, tells. A token is
renewed before it expires, and after a 401. Re-logins are bounded: a user whose re-logins
keep failing stops with the reason.
"""

from __future__ import annotations

import logging
import time

from locust.exception import StopUser

from .accounts import LoginError
from .counts import note
from .flows import Login, status_of

logger = logging.getLogger("tideways_locust")

MAX_RELOGINS_IN_A_ROW = 3
LOGGED_OUT = (401, 403)


def _stop_user(user) -> None:
    raise StopUser()


def _is_html(response) -> bool:
    headers = getattr(response, "headers", None)
    kind = (headers.get("Content-Type") or headers.get("content-type") or "") if headers else ""
    return not kind or "html" in kind.lower()


class Keeper:
    """Keeps one user logged in: looks at each answer, and logs in again when the session was lost."""

    def __init__(self, login: Login) -> None:
        self.login = login
        options = login.options
        self.form = login.kind == "form"
        every = float(getattr(options, "app_login_check_every", 0) or 0)
        looks = self.form and every > 0 and bool(options.app_login_check or options.app_login_success)
        self.every = every if looks else 0.0
        self.next_look = float("inf")
        self.in_a_row = 0  # re-logins since the last answer that showed the user logged in

    def started(self) -> None:
        if self.every:
            self.next_look = time.monotonic() + self.every

    def before(self) -> None:
        login = self.login
        if login.kind == "token" and time.monotonic() >= login.renew_at:
            self.renew_token()
        elif self.every and time.monotonic() >= self.next_look:
            self.next_look = time.monotonic() + self.every
            reason = login.look()
            if reason:
                self.log_in_again(reason)

    def after(self, response, streamed: bool) -> None:
        status = status_of(response)
        if self.login.kind == "token":
            if status == 401:
                self.log_in_again("an answer was 401")
            else:
                self.in_a_row = 0
        elif self.form:
            if status in LOGGED_OUT:
                self.log_in_again(f"an answer was {status}")
            elif not streamed and _is_html(response) and self.login.shows_login_form(response):
                self.log_in_again("an answer showed the login form")
            else:
                self.in_a_row = 0

    def renew_token(self) -> None:
        try:
            self.login.log_in()
        except LoginError as reason:
            note(self.login.environment, "failed", reason=f"renewing a token failed: {reason}")
            logger.warning("Tideways: renewing a login failed: %s", reason)

    def log_in_again(self, why: str) -> None:
        """The session was lost: log in again, or stop the user when that keeps failing."""
        login = self.login
        self.in_a_row += 1
        if self.in_a_row > MAX_RELOGINS_IN_A_ROW:
            self._give_up(f"{why} after {MAX_RELOGINS_IN_A_ROW} logins again in a row")
        client = login.user.client
        jar = client.cookies if hasattr(client, "cookies") else getattr(client, "cookiejar", None)
        if login.kind == "form" and jar is not None:
            jar.clear()  # a new session, as a browser that was logged out starts one
        try:
            login.log_in()
        except LoginError as reason:
            self._give_up(f"logging in again ({why}) failed: {reason}")
        note(login.environment, "relogin", account=login.number)
        if self.every:
            self.next_look = time.monotonic() + self.every

    def _give_up(self, reason: str) -> None:
        note(self.login.environment, "failed", reason=reason, stopped=True)
        logger.warning("Tideways: a user stops: %s", reason)
        raise StopUser()


def install(user) -> Login | None:
    """Log ``user`` in when it starts and send its credentials with every request; None without logins."""
    options = user.environment.parsed_options
    if getattr(options, "app_login", "none") in ("none", None):
        return None
    login = Login(user, options)
    keeper = Keeper(login)
    send = user.client.request

    def request(method, url, *args, headers=None, **kwargs):
        watched = login.logged_in and not login.busy
        if watched:
            keeper.before()
        if login.header:
            added = {"Authorization": login.header}
            headers = {**added, **headers} if headers else added
        response = send(method, url, *args, headers=headers, **kwargs)
        if watched and login.logged_in:
            keeper.after(response, bool(kwargs.get("stream")))
        return response

    user.client.request = request
    started = user.on_start

    def on_start() -> None:
        if login.start():
            keeper.started()
            started()
        else:
            # Stopped from its first task: Locust logs a traceback for any exception of on_start.
            user.tasks = [_stop_user]

    user.on_start = on_start
    return login
