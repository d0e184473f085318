"""The login flows (a form, a token endpoint, a static bearer token, HTTP basic) and how a login is judged.

A form login is judged by what the application answers, never by the path it lands on:
after the post and its redirects, a 4xx or 5xx, an answer that still shows a login form,
or (when set) an answer without ``--app-login-success``, is a failed login; a
``--app-login-check`` page then must answer 2xx without a login form. Login requests are
named apart (``login: POST /login``) in Locust's statistics, and a failed one is a Locust
failure with its reason.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode, urljoin, urlsplit

from .accounts import BOOK, LoginError
from .counts import note
from .forms import LoginForm, read_login_form, shows_login_form

RENEW_AT = 0.8  # of a token's announced lifetime: renewed before it expires


def status_of(response) -> int:
    return int(getattr(response, "status_code", 0) or 0)


def answered(response, what: str):
    status = status_of(response)
    if status == 0:
        raise LoginError(f"the {what} is unreachable")
    if status >= 400:
        raise LoginError(f"the {what} answered {status}")
    return response


def _json_answer(response) -> object:
    answered(response, "token endpoint")
    try:
        return response.json()
    except ValueError:
        raise LoginError("the token endpoint's answer is not JSON") from None


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class Login:
    """One user's login: its account, and the header or cookie that proves it."""

    def __init__(self, user, options) -> None:
        self.user, self.options = user, options
        self.kind = options.app_login
        self.number: int | None = None  # the account's place in the list
        self.account: tuple[str, str] = ("", "")
        self.header: str | None = None  # the Authorization value every request carries
        self.renew_at = float("inf")
        self.logged_in = False
        self.busy = False  # while logging in: its own answers are not taken for a lost session
        self._landed = ""
        self.password_field = ""  # form: the login form's, which tells it from other forms with a password

    @property
    def environment(self):
        return self.user.environment

    @property
    def username(self) -> str:
        """The user's account name, for pages whose URL names it (never its password)."""
        return self.account[0]

    @property
    def landed(self) -> str:
        """form: the URL the last login's answer came from, after its redirects."""
        return self._landed

    def start(self) -> bool:
        """The user's first login; False when it failed (and the user stops)."""
        try:
            self.number, self.account = BOOK.take(self.kind)
            self.log_in()
        except LoginError as reason:
            note(self.environment, "failed", reason=str(reason), stopped=True)
            return False
        note(self.environment, "login", account=self.number)
        return True

    def log_in(self) -> None:
        self.busy = True
        try:
            username, password = self.account
            if self.kind == "bearer":
                self.header = f"Bearer {password}"
            elif self.kind == "basic":
                self.header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
            elif self.kind == "form":
                self._form()
            elif self.kind == "token":
                self._token()
        finally:
            self.busy = False
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

    # -- a form --

    def _form(self) -> None:
        options = self.options
        page = options.app_login_page
        form = self._send("GET", page, self._read_form)
        fields = form.filled(*self.account)
        parts = urlsplit(form.action)
        headers = {"Origin": f"{parts.scheme}://{parts.netloc}", "Referer": self.landed}
        if form.method == "GET":
            kwargs = {"params": fields}
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            kwargs = {"data": urlencode(fields)}
        self._send(form.method, form.action, lambda answer: self._judge_answer(answer, form), headers=headers, **kwargs)
        if options.app_login_check:
            self._send("GET", options.app_login_check, lambda response: self._judge_page(response, "check page"))

    def _page_url(self, response, asked: str) -> str:
        url = str(getattr(response, "url", "") or "")
        return url if url.startswith(("http://", "https://")) else urljoin(self.user.host or "", asked)

    def _read_form(self, response) -> LoginForm:
        options = self.options
        page = options.app_login_page
        answered(response, "login page")
        self._landed = self._page_url(response, page)
        try:
            form = read_login_form(
                response.content or b"", self.landed, options.app_login_user_field, options.app_login_password_field
            )
        except LoginError as reason:
            raise LoginError(f"{reason} on {page}") from None
        required = options.app_login_csrf_field
        if required and required.lower() != "none" and required not in {name for name, _ in form.fields}:
            raise LoginError(f"no {required!r} field in the login form on {page}")
        return form

    def _judge_answer(self, response, form: LoginForm):
        """The answer to the login post, after its redirects."""
        url = self._page_url(response, form.action)
        self.password_field = form.password_field
        if status_of(response) and self.shows_login_form(response):
            status = status_of(response)
            raise LoginError(
                f"{form.method} {_path(form.action)} answered{f' {status}' if status >= 400 else ''} with the login "
                "form again: wrong username or password?"
            )
        answered(response, "login form")
        sign = self.options.app_login_success
        if sign and sign not in (response.text or ""):
            raise LoginError(f"{sign!r} is not on the page after the login: wrong username or password?")
        self._landed = url
        return response

    def _judge_page(self, response, what: str):
        """A page only a logged-in user sees: 2xx, no login form, and the success text when set."""
        answered(response, what)
        url = self._page_url(response, self.options.app_login_check or self.landed)
        if self.shows_login_form(response):
            raise LoginError(f"the {what} {_path(url)} shows a login form")
        sign = self.options.app_login_success
        if sign and sign not in (response.text or ""):
            raise LoginError(f"{sign!r} is not on the {what} {_path(url)}")
        return response

    def shows_login_form(self, response) -> bool:
        """Whether an answer shows this login's form (a page to set a new password does not)."""
        return shows_login_form(getattr(response, "content", None), self.password_field)

    def look(self) -> str | None:
        """Whether the session still holds, looked at on the check page or where the login landed:
        None when it does, else why not. The look itself is not a failure."""
        page = self.options.app_login_check or self.landed
        if not page:
            return None
        self.busy = True
        try:
            with self.user.client.request(
                "GET", page, name=f"login: look GET {urlsplit(page).path}", catch_response=True
            ) as response:
                try:
                    self._judge_page(response, "check page" if self.options.app_login_check else "page after the login")
                except LoginError as reason:
                    return str(reason)
                finally:
                    response.success()
        finally:
            self.busy = False
        return None

    # -- a token --

    def _token(self) -> None:
        user_field = self.options.app_login_user_field or "username"
        password_field = self.options.app_login_password_field or "password"
        username, password = self.account
        credentials = {user_field: username, password_field: password}
        self._send("POST", self.options.app_login_page, self._read_token, json=credentials)

    def _read_token(self, response) -> None:
        answer = _json_answer(response)
        token = answer
        for part in self.options.app_login_token_field.split("."):
            token = token.get(part) if isinstance(token, dict) else None
        if not isinstance(token, str) or not token:
            raise LoginError(
                f"no {self.options.app_login_token_field!r} field in the answer of {self.options.app_login_page}"
            )
        self.header = f"Bearer {token}"
        expires = answer.get("expires_in") if isinstance(answer, dict) else None
        if isinstance(expires, int | float) and expires > 0:
            self.renew_at = time.monotonic() + expires * RENEW_AT
        else:
            self.renew_at = float("inf")
