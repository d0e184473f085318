"""tideways_locust.logins.forms: a login form read as a browser reads it, on small pages written here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tideways_locust.logins import LoginError
from tideways_locust.logins.forms import has_password_input, login_forms, read_login_form, shows_login_form

PAGE = "https://shop.example.com/account/login?next=%2Fcart"


def form(inner: str, attributes: str = 'method="post" action="/account/login-post"', before: str = "") -> str:
    return f"<!doctype html><html><body>{before}<form {attributes}>{inner}</form></body></html>"


def test_a_form_sends_what_a_browser_sends():
    page = form(
        '<input type="hidden" name="form_key" value="k-123">'
        '<input type="email" name="login[email]" autocomplete="off">'
        '<input type="password" name="login[password]">'
        '<input type="checkbox" name="remember" value="1" checked>'
        '<input type="checkbox" name="newsletter" value="1">'
        '<input type="checkbox" name="terms" checked>'
        '<input type="radio" name="mode" value="fast"><input type="radio" name="mode" value="safe" checked>'
        '<input name="legacy" value="x" disabled>'
        '<input name="coupon">'
        '<select name="lang"><option value="en">English</option><option value="de" selected>Deutsch</option></select>'
        '<select name="shop"><option value="eu">EU</option><option value="us">US</option></select>'
        '<textarea name="note">hi</textarea>'
        '<input type="reset" name="reset" value="r"><input type="file" name="avatar">'
        '<button type="button" name="show" value="1">Show</button>'
        '<button name="send" value="login">Log in</button><button name="other" value="2">Other</button>'
    )
    login = read_login_form(page, PAGE)
    assert (login.method, login.action) == ("POST", "https://shop.example.com/account/login-post")
    assert (login.user_field, login.password_field) == ("login[email]", "login[password]")
    assert login.filled("alice", "pw") == [
        ("form_key", "k-123"),
        ("login[email]", "alice"),
        ("login[password]", "pw"),
        ("remember", "1"),
        ("terms", "on"),
        ("mode", "safe"),
        ("coupon", ""),
        ("lang", "de"),
        ("shop", "eu"),  # none selected: the first option, as a browser sends
        ("note", "hi"),
        ("send", "login"),  # the first submit button is the one Enter clicks
    ]


@pytest.mark.parametrize(
    ("attributes", "action", "method"),
    [
        ('method="post" action="session"', "https://shop.example.com/account/session", "POST"),
        ('method="POST" action="https://login.example.com/sso"', "https://login.example.com/sso", "POST"),
        ('method="post" action=""', PAGE, "POST"),  # empty: the page's own URL, its query too
        ('method="post"', PAGE, "POST"),
        ('action="?route=/"', "https://shop.example.com/account/login?route=/", "GET"),  # a form's default method
    ],
)
def test_the_action_and_method_are_the_forms(attributes, action, method):
    login = read_login_form(form('<input name="user"><input type="password" name="pw">', attributes), PAGE)
    assert (login.action, login.method) == (action, method)


@pytest.mark.parametrize(
    ("inputs", "user_field"),
    [
        ('<input name="server" value="db"><input name="login" autocomplete="username"><input type=password name=p>',
         "login"),
        ('<input name="server"><input type="email" name="mail"><input type=password name=p>', "mail"),
        ('<input name="server"><input type="text" name="log"><input type=password name=p>', "log"),  # nearest before
        ('<input type="hidden" name="token" value="t"><input name="u"><input type="password" name="p">', "u"),
    ],
)  # fmt: skip
def test_the_username_is_the_marked_field_else_the_text_field_before_the_password(inputs, user_field):
    assert read_login_form(form(inputs), PAGE).user_field == user_field


def test_the_field_options_override_what_is_read():
    page = form('<input name="a"><input name="b"><input type="password" name="p">')
    login = read_login_form(page, PAGE, user_field="a", password_field="secret")
    assert login.filled("alice", "pw") == [("a", "alice"), ("b", ""), ("p", ""), ("secret", "pw")]


def test_of_several_forms_the_one_with_a_password():
    search = '<form action="/search"><input name="q"><button name="go">Go</button></form>'
    login = read_login_form(form('<input name="u"><input type="password" name="p">', before=search), PAGE)
    assert login.user_field == "u" and login.action.endswith("/account/login-post")


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("<html><body><form><input name=q></form></body></html>", "no form with a password field"),
        ('{"error": "login required"}', "no form with a password field"),
        ("", "no form with a password field"),
        (form('<input type="password" name="p">'), "no username field in the login form"),
    ],
)
def test_a_page_without_a_login_form_says_so(page, reason):
    with pytest.raises(LoginError, match=reason):
        read_login_form(page, PAGE)


@pytest.mark.parametrize(
    ("page", "shows"),
    [
        ('<input type="password" name="p">', True),
        ("<INPUT NAME=p TYPE=PASSWORD>", True),
        ("<input name='p' type = 'password' >", True),
        ('<input type="passwordless" name="p">', False),
        ("<p>Forgot your password?</p>", False),
        (b'{"password_changed": true}', False),
        (None, False),
    ],
)
def test_a_password_input_is_found_without_parsing_most_pages(page, shows):
    assert has_password_input(page) is shows


def test_a_password_input_outside_any_form_is_no_login_form():
    assert has_password_input('<input type="password">') and login_forms('<input type="password">', PAGE) == []


def test_a_form_to_set_a_new_password_is_not_the_login_form_again():
    login = form('<input name="log"><input type="password" name="pwd">')
    profile = form(
        '<input name="first_name"><input type="password" name="pass1" autocomplete="new-password">'
        '<input type="password" name="pass2" autocomplete="new-password">'
    )
    assert shows_login_form(login, "pwd") and shows_login_form(login.encode())
    assert not shows_login_form(profile, "pwd") and shows_login_form(profile), "any password form, name unknown"
    assert not shows_login_form("<p>Log out</p>", "pwd") and not shows_login_form(None)


def test_lxml_is_loaded_only_by_a_page_with_a_password_input():
    """Every Locust process imports the runtime; only a form login needs lxml (4 MiB a process)."""
    script = (
        "import sys, tideways_locust\n"
        "from tideways_locust.logins.forms import shows_login_form\n"
        "before = 'lxml' in sys.modules\n"
        "shows_login_form('<p>no form</p>')\n"
        "plain = 'lxml' in sys.modules\n"
        "shows_login_form('<form><input type=password name=pw></form>')\n"
        "print(before, plain, 'lxml' in sys.modules)"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert found.stdout.split() == ["False", "False", "True"]
