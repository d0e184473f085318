"""Login forms, read as a browser reads them (HTML's form submission rules, with lxml.html).

Of the page's forms, the one with a password input. It submits what a browser would:
every named input as the page gave it (hidden tokens whatever their name), checkboxes
and radio buttons only when checked, a select's selected option (else its first), and
the default submit button's name and value when it has a name; to the form's action
(relative, absolute, or missing: the page's own URL with its query), with its method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from .accounts import LoginError

# A cheap look for a password input, before a page is parsed: most answers have none.
_PASSWORD_INPUT = re.compile(rb"<input\b[^>]*\btype\s*=\s*[\"']?password\b", re.IGNORECASE)
_SUBMIT_INPUTS = ("submit", "image")
_NOT_SENT = ("submit", "image", "reset", "file", "button")
_TEXT_TYPES = ("", "text")


@dataclass
class LoginForm:
    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    user_field: str = ""
    password_field: str = ""

    def filled(self, username: str, password: str) -> list[tuple[str, str]]:
        """The fields to send, with the account's username and password in theirs."""
        values = {self.user_field: username, self.password_field: password}
        sent = [(name, values.pop(name) if name in values else value) for name, value in self.fields]
        return sent + [(name, value) for name, value in values.items() if name]


def has_password_input(content: bytes | str | None) -> bool:
    """Whether a page shows a password input (a login form), without parsing most pages."""
    if not content:
        return False
    if isinstance(content, str):
        content = content.encode("utf-8", "replace")
    return _PASSWORD_INPUT.search(content) is not None


def _type(element) -> str:
    return (element.get("type") or "").strip().lower()


def _is_password(element) -> bool:
    return element.tag == "input" and _type(element) == "password"


def login_forms(content: bytes | str, page_url: str) -> list:
    """The page's forms that hold a password input."""
    if not has_password_input(content):
        return []
    # Imported with the first page that has a password input: a run without form logins never loads lxml,
    # which would add about 4 MiB to every Locust process (make bench: memory).
    from lxml import etree
    from lxml import html as lxml_html

    try:
        document = lxml_html.document_fromstring(content, base_url=page_url)
    except (etree.ParserError, ValueError):
        return []
    return [form for form in document.forms if any(_is_password(element) for element in form.inputs)]


def shows_login_form(content: bytes | str | None, password_field: str = "") -> bool:
    """Whether a page shows the login form again: a form whose password input has the login form's
    name (``password_field``; any name when not known). A form to set a new password is no login form."""
    if not content or not has_password_input(content):
        return False
    for form in login_forms(content, "http://page.invalid/"):
        names = {element.name for element in form.inputs if _is_password(element)}
        if not password_field or password_field in names:
            return True
    return False


def read_login_form(content: bytes | str, page_url: str, user_field: str = "", password_field: str = "") -> LoginForm:
    """The login form of a page at ``page_url``; ``user_field``/``password_field`` override what is read."""
    forms = login_forms(content, page_url)
    if not forms:
        raise LoginError("no form with a password field")
    form = forms[0]
    inputs = [element for element in form.inputs if element.name and "disabled" not in element.attrib]
    password = password_field or next((e.name for e in inputs if _is_password(e)), "")
    user = user_field or _username_field(inputs)
    if not user:
        raise LoginError("no username field in the login form: set --app-login-user-field")
    fields = []
    for element in inputs:
        if element.tag == "select":
            value = element.value
            if element.multiple:
                fields.extend((element.name, chosen) for chosen in value)
            elif value is not None:
                fields.append((element.name, value))
        elif element.tag == "textarea":
            fields.append((element.name, element.value or ""))
        elif element.tag == "input":
            kind = _type(element)
            if kind in _NOT_SENT or (element.checkable and not element.checked):
                continue
            value = element.get("value")
            fields.append((element.name, value if value is not None else ("on" if element.checkable else "")))
    button = _default_button(form)
    if button is not None:
        fields.append(button)
    action = (form.get("action") or "").strip()
    return LoginForm(
        method=form.method if form.method in ("GET", "POST") else "POST",
        action=urljoin(page_url, action) if action else page_url,
        fields=fields,
        user_field=user,
        password_field=password,
    )


def _username_field(inputs: list) -> str:
    """Marked as a username or an email, else the text input nearest before the password."""
    for element in inputs:
        if element.tag == "input":
            marks = (element.get("autocomplete") or "").lower().split()
            if "username" in marks or _type(element) == "email":
                return element.name
    before = ""
    for element in inputs:
        if _is_password(element):
            return before
        if element.tag == "input" and _type(element) in _TEXT_TYPES:
            before = element.name
    return before


def _default_button(form) -> tuple[str, str] | None:
    """The form's first submit button, which pressing Enter clicks: its name and value when it has a name."""
    for element in form.iter("button", "input"):
        kind = _type(element)
        if (element.tag == "button" and kind in ("", "submit")) or (element.tag == "input" and kind in _SUBMIT_INPUTS):
            name = element.get("name")
            return (name, element.get("value") or "") if name and "disabled" not in element.attrib else None
    return None
