"""Links from a run to its traces in the Tideways app, and the host as a run shows it.

Tideways stores ``X-Tideways-Ref`` as the trace's correlation id (custom
variable ``tw.ref``) and lists the traces of one id at
``https://app.tideways.io/o/{organization}/{project}/traces?cid={id}``, the
form Tideways' own tracepoint CLI prints.
"""

from __future__ import annotations

import argparse
import re
from typing import NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

APP_URL = "https://app.tideways.io"
HOW_TO_LINK = "set --tideways-project ORGANIZATION/PROJECT (LOCUST_TIDEWAYS_PROJECT) for links to the traces"


def without_userinfo(url: str | None) -> str | None:
    """``url`` without a ``user:password@`` part: wherever a run writes or shows its host
    (the run file, the report), the credentials of a ``--host`` never go with it."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL Locust could have used: keep no part that may be a secret
        return url.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,98}[A-Za-z0-9._-])?$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PROJECT_ALLOWED = (
    "give ORGANIZATION/PROJECT as in the Tideways app's URLs, like acme/shop "
    "(letters, digits, '.', '_', '-' and inner spaces), or nothing"
)
ENVIRONMENT_ALLOWED = "give a Tideways environment name like production or staging (letters, digits, '.', '_', '-')"


class TidewaysProject(NamedTuple):
    organization: str
    name: str

    def __str__(self) -> str:
        return f"{self.organization}/{self.name}"

    def traces_link(self, ref: str) -> str:
        """The app's list of the traces whose correlation id is ``ref``."""
        return f"{APP_URL}/o/{self.api_path()}/traces?cid={quote(ref, safe='')}"

    def api_path(self) -> str:
        """``{organization}/{project}`` as the REST API's URLs hold it."""
        return f"{quote(self.organization, safe='')}/{quote(self.name, safe='')}"


def parse_project(value: object) -> TidewaysProject | None:
    """Read ``organization/project``; empty means not known (no links)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    organization, slash, name = text.partition("/")
    if not slash or not _NAME.match(organization) or not _NAME.match(name):
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: {PROJECT_ALLOWED}")
    return TidewaysProject(organization, name)


def parse_environment(value: object) -> str:
    text = "" if value is None else str(value).strip()
    if not _ENVIRONMENT.match(text):
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: {ENVIRONMENT_ALLOWED}")
    return text
