"""Each application's login form, submitted by hand: the field names written out, as a browser fills them.

This is the harness's own knowledge (tests/test_php_apps.py and the capture below use it), not the product's
form reader. ``python -m tests.php_apps.forms [DIR]`` starts the three applications and saves what they answer
(login page, wrong password, good login and where it lands) in DIR (default /tmp/php_forms).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

from tests.php_apps.apps import PhpApp

TIMEOUT = 30


def hidden_value(page: str, name: str) -> str:
    """The value of the first ``<input ... name="NAME" ... value="...">`` of a page."""
    for tag in re.findall(r"<input\b[^>]*>", page, re.I):
        if re.search(rf"""\bname=["']{re.escape(name)}["']""", tag):
            value = re.search(r"""\bvalue=(["'])(.*?)\1""", tag, re.S)
            return html.unescape(value.group(2)) if value else ""
    raise AssertionError(f"no input named {name!r} in the page")


def login_form(page: str, marker: str) -> str:
    """The ``<form>`` element that contains ``marker`` (a field name)."""
    for form in re.findall(r"<form\b.*?</form>", page, re.I | re.S):
        if marker in form:
            return form
    raise AssertionError(f"no form with {marker!r} in the page")


def form_action(form: str) -> str:
    match = re.search(r"""<form\b[^>]*\baction=(["'])(.*?)\1""", form, re.I | re.S)
    return html.unescape(match.group(2)) if match else ""


@dataclass
class Login:
    """One login by hand: the page's answer, the form posted, and the answer to it (redirects not followed)."""

    page: requests.Response
    form: str
    action_url: str
    fields: dict[str, str]
    answer: requests.Response
    history: list[requests.Response] = field(default_factory=list)


def submit_login(app: PhpApp, session: requests.Session, username: str, password: str) -> Login:
    """GET the login page, POST its login form with these credentials; the answer's redirect is not followed."""
    page = session.get(app.url + app.login_page, timeout=TIMEOUT)
    assert page.status_code == 200, page.status_code
    if app.name == "wordpress":
        form = login_form(page.text, 'name="log"')
        fields = {
            "log": username,
            "pwd": password,
            "wp-submit": hidden_value(form, "wp-submit"),  # the submit button's value, "Log In"
            "redirect_to": hidden_value(form, "redirect_to"),
            "testcookie": hidden_value(form, "testcookie"),
        }
    elif app.name == "phpmyadmin":
        form = login_form(page.text, 'name="pma_username"')
        fields = {
            "route": hidden_value(form, "route"),
            "lang": hidden_value(form, "lang"),
            "token": hidden_value(form, "token"),
            "set_session": hidden_value(form, "set_session"),
            "pma_username": username,
            "pma_password": password,
            "server": hidden_value(form, "server"),
        }
    elif app.name == "adminer":
        form = login_form(page.text, "auth[username]")
        fields = {
            "auth[driver]": "server",  # the selected option, MySQL
            "auth[server]": hidden_value(form, "auth[server]"),
            "auth[username]": username,
            "auth[password]": password,
            "auth[db]": hidden_value(form, "auth[db]"),
        }
    else:
        raise ValueError(app.name)
    action_url = urljoin(page.url, form_action(form))  # Adminer's action is "": the page's own URL
    answer = session.post(action_url, data=fields, allow_redirects=False, timeout=TIMEOUT)
    return Login(page, form, action_url, fields, answer)


def follow(session: requests.Session, answer: requests.Response, limit: int = 10) -> list[requests.Response]:
    """The redirects of an answer, followed by GET one at a time; the last is the final page."""
    chain = []
    while answer.is_redirect and len(chain) < limit:
        answer = session.get(urljoin(answer.url, answer.headers["Location"]), allow_redirects=False, timeout=TIMEOUT)
        chain.append(answer)
    return chain


def capture(directory: str = "/tmp/php_forms") -> None:  # pragma: no cover - a tool, run by hand
    import json
    import shutil
    import tempfile
    from pathlib import Path

    from tests.php_apps.apps import ACCOUNTS, APPS
    from tests.php_apps.mariadb import MariaDB

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="php-apps-"))
    with MariaDB() as mariadb:
        for name, cls in APPS.items():
            app = cls(mariadb, base).start()
            try:
                summary: dict = {"url": app.url, "login_page": app.login_page}
                wrong_session = requests.Session()
                wrong = submit_login(app, wrong_session, "alice", "not-alices-password")
                (out / f"{name}-login.html").write_text(wrong.page.text)
                (out / f"{name}-wrong-password.html").write_text(wrong.answer.text)
                wrong_chain = follow(wrong_session, wrong.answer)
                for number, answer in enumerate(wrong_chain, 1):
                    (out / f"{name}-wrong-password-redirect{number}.html").write_text(answer.text)
                summary["wrong"] = {
                    "action": wrong.action_url,
                    "fields": wrong.fields,
                    "status": wrong.answer.status_code,
                    "location": wrong.answer.headers.get("Location"),
                    "set-cookie": wrong.answer.headers.get("Set-Cookie"),
                    "redirects": [(r.status_code, r.url, r.headers.get("Location")) for r in wrong_chain],
                }
                session = requests.Session()
                good = submit_login(app, session, "alice", ACCOUNTS["alice"])
                chain = follow(session, good.answer)
                (out / f"{name}-good-login-answer.html").write_text(good.answer.text)
                final = chain[-1] if chain else good.answer
                (out / f"{name}-after-login.html").write_text(final.text)
                summary["good"] = {
                    "status": good.answer.status_code,
                    "location": good.answer.headers.get("Location"),
                    "set-cookie": good.answer.headers.get("Set-Cookie"),
                    "redirects": [(r.status_code, r.url, r.headers.get("Location")) for r in chain],
                    "final_url": final.url,
                    "final_status": final.status_code,
                }
                summary["records"] = app.records()
                (out / f"{name}-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            finally:
                app.stop()
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    import sys

    capture(*sys.argv[1:2])
