"""The ``--app-login*`` options: how users log in, never with what (the secrets come from the environment).

``--login`` belongs to locust-cloud, which Locust up to 2.46 brings, hence the ``app-`` prefix.
"""

from __future__ import annotations

import argparse

from locust import events

from ..options import bounded_number

KINDS = ("none", "form", "token", "bearer", "basic")


def parse_kind(value: object) -> str:
    text = str(value or "none").strip().lower()
    if text not in KINDS:
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: one of {', '.join(KINDS)}")
    return text


def parse_page(value: object) -> str:
    """A path of the application (``/login``, ``/wp-login.php``, ``/?route=/``) or an absolute http(s) URL."""
    text = str(value or "").strip()
    if text and not text.startswith(("/", "http://", "https://")):
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: a path that starts with / or an http(s) URL")
    return text


OPTIONS = [
    ("--app-login", parse_kind, "none", "How users log in: none, form, token, bearer or basic (README: Logins)."),
    ("--app-login-page", parse_page, "/login", "form: the page with the login form; token: the endpoint to post to."),
    ("--app-login-user-field", str, "", "The username field (form: read from the form; token: username)."),
    ("--app-login-password-field", str, "", "The password field (form: the password input; token: password)."),
    ("--app-login-csrf-field", str, "", "form: a field the login form must hold (else: whatever the form holds)."),
    ("--app-login-success", str, "", "form: a text on every page a logged-in user sees (else: no login form)."),
    ("--app-login-check", parse_page, "", "form: a page that needs a login, loaded after each login to confirm it."),
    (
        "--app-login-check-every",
        bounded_number(0, 86400, "seconds from 0 (off) to 86400"),
        60.0,
        "form: with --app-login-check or --app-login-success, look again this often, in seconds (0: off).",
    ),
    ("--app-login-token-field", str, "token", "token: the answer's field that holds the token (a.b for nested)."),
]


@events.init_command_line_parser.add_listener
def _add_login_arguments(parser) -> None:
    for flag, kind, default, text in OPTIONS:
        env = "LOCUST_" + flag.strip("-").upper().replace("-", "_")
        parser.add_argument(flag, type=kind, env_var=env, default=default, include_in_web_ui=False, help=text)
