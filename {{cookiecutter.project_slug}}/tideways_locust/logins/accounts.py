"""The accounts users log in with, and their hand-out: one account a user, across workers too.

Secrets come only from the environment (``.env`` included) or a git-ignored accounts
file: ``LOGIN_ACCOUNTS_FILE`` (default ``accounts.csv``: ``username,password`` lines),
``LOGIN_ACCOUNTS`` (the same CSV as text, for CI secrets), or ``LOGIN_USERNAME`` and
``LOGIN_PASSWORD`` for one account; ``LOGIN_TOKEN`` for a static bearer token.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
import uuid

import gevent
from gevent.event import AsyncResult
from locust import events
from locust.runners import MasterRunner, WorkerRunner

logger = logging.getLogger("tideways_locust")

ACCOUNT_MESSAGE = "tideways_login_account"


class LoginError(Exception):
    """Why a login did not work, in words a person understands, without any secret."""


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


def _accounts_file_shown() -> str:
    """The accounts file's name for a message; never a value that looks like the accounts themselves."""
    path = os.environ.get("LOGIN_ACCOUNTS_FILE", "accounts.csv")
    if "," in path or "\n" in path or len(path) > 255:  # the CSV given as LOGIN_ACCOUNTS_FILE by mistake
        return "LOGIN_ACCOUNTS_FILE (its value is no file's name: the CSV itself belongs in LOGIN_ACCOUNTS)"
    return path


def missing_accounts_line(kind: str) -> str:
    if kind == "bearer":
        return "Tideways: --app-login bearer needs LOGIN_TOKEN in the environment or .env (README: Logins)"
    return (
        f"Tideways: --app-login {kind} needs accounts: {_accounts_file_shown()} "
        "(username,password lines), LOGIN_ACCOUNTS, or LOGIN_USERNAME and LOGIN_PASSWORD (README: Logins)"
    )


class AccountBook:
    """Hands out account numbers: in order in one process, from the master across workers."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.pending: dict[str, AsyncResult] = {}
        self.runner = None
        self.shared_warned = False
        self.accounts: list[tuple[str, str]] | None = None  # read once a run, not once a user

    def reset(self) -> None:
        self.counter = itertools.count()
        self.shared_warned = False
        self.accounts = None

    def accounts_for(self, kind: str) -> list[tuple[str, str]]:
        if self.accounts is None:
            self.accounts = load_accounts(kind)
        return self.accounts

    def take(self, kind: str) -> tuple[int, tuple[str, str]]:
        """The next user's account and its number in the list, warning once when users share them."""
        accounts = self.accounts_for(kind)
        if not accounts:
            raise LoginError(missing_accounts_line(kind).removeprefix("Tideways: "))
        number = self._next_number()
        if number >= len(accounts) and not self.shared_warned:
            self.shared_warned = True
            logger.warning(
                "Tideways: more users than the %d accounts, so users share accounts from user %d on (README: Logins)",
                len(accounts),
                number + 1,
            )
        return number % len(accounts), accounts[number % len(accounts)]

    def _next_number(self) -> int:
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


BOOK = AccountBook()


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    runner = environment.runner
    BOOK.runner = runner
    if isinstance(runner, MasterRunner):

        def hand_out(environment, msg, **_kwargs) -> None:
            answer = {"ask": msg.data["ask"], "number": next(BOOK.counter)}
            runner.send_message(ACCOUNT_MESSAGE, answer, client_id=msg.node_id)

        runner.register_message(ACCOUNT_MESSAGE, hand_out)
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
def _on_test_start(**_kwargs) -> None:
    BOOK.reset()
