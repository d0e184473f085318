"""What the logins of a run did, counted where the run is run: in this process, or on the master.

Users that logged in, with how many distinct accounts, re-logins and failures: for the
summary line, the web UI's Tideways tab and the run file. When every user the run asked
for was stopped by its login, the run stops with one line; a run in which logins failed
and none worked exits 1, whatever its thresholds say.
"""

from __future__ import annotations

import logging

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

logger = logging.getLogger("tideways_locust")

RESULT_MESSAGE = "tideways_login_result"
EXIT_LOGINS_FAILED = 1


class LoginCounts:
    def __init__(self) -> None:
        self.kind = "none"
        self.reset()

    def reset(self) -> None:
        self.users = 0  # users whose first login worked
        self.accounts: set[int] = set()  # the numbers of the accounts they logged in with
        self.relogins = 0  # logins again after a session was lost, that worked
        self.failed = 0  # logins and re-logins that failed
        self.stopped = 0  # users stopped because they could not log in
        self.first_reason = ""
        self.stopping = False

    @property
    def all_failed(self) -> bool:
        return self.users == 0 and self.failed > 0

    def add(self, data: dict) -> None:
        what = data["what"]
        if what == "login":
            self.users += 1
            self.accounts.add(int(data["account"]))
        elif what == "relogin":
            self.relogins += 1
        else:
            self.failed += 1
            self.first_reason = self.first_reason or data["reason"]
            self.stopped += bool(data.get("stopped"))

    def as_dict(self) -> dict | None:
        if self.kind == "none":
            return None
        return {
            "kind": self.kind,
            "users_logged_in": self.users,
            "accounts": len(self.accounts),
            "relogins": self.relogins,
            "failed": self.failed,
            "first_failure": self.first_reason or None,
        }

    def text(self) -> str:
        if self.kind == "none":
            return ""
        users = f"{self.users} user{'' if self.users == 1 else 's'}"
        accounts = f"{len(self.accounts)} account{'' if len(self.accounts) == 1 else 's'}"
        relogins = f"{self.relogins} re-login{'' if self.relogins == 1 else 's'}"
        return f"{users} logged in ({self.kind}) with {accounts}, {relogins}, {self.failed} failed"


COUNTS = LoginCounts()


def note(environment, what: str, account: int | None = None, reason: str = "", stopped: bool = False) -> None:
    """A login's outcome (``login``, ``relogin`` or ``failed``), sent to where the run is counted."""
    data = {"what": what, "account": account, "reason": reason, "stopped": stopped}
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(RESULT_MESSAGE, data)
    else:
        _count(environment, data)


def _count(environment, data: dict) -> None:
    COUNTS.add(data)
    wanted = max(getattr(environment.runner, "target_user_count", 0) or 0, 1)
    if COUNTS.stopped < wanted or COUNTS.stopping:
        return
    if COUNTS.users == 0:
        line = f"every login failed ({COUNTS.failed} of {COUNTS.failed})"
    else:
        line = f"every user stopped: {COUNTS.users} logged in, then their logins again failed"
    _stop_run(environment, f"Tideways: {line}, the first because {COUNTS.first_reason}; the run stops (README: Logins)")


def _stop_run(environment, line: str) -> None:
    COUNTS.stopping = True
    logger.error(line)
    environment.process_exit_code = EXIT_LOGINS_FAILED
    gevent.spawn_later(0, environment.runner.quit)


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    COUNTS.kind = getattr(environment.parsed_options, "app_login", "none") or "none"
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(
            RESULT_MESSAGE, lambda environment, msg, **_kwargs: _count(environment, msg.data)
        )


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    COUNTS.kind = getattr(environment.parsed_options, "app_login", "none") or "none"
    COUNTS.reset()


@events.quitting.add_listener
def _on_quitting(environment, **_kwargs) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    if COUNTS.stopping or COUNTS.all_failed:  # before or after the thresholds' verdict: this one wins
        if not COUNTS.stopping:
            logger.error("Tideways: no login worked (%d failed): the run fails (exit 1)", COUNTS.failed)
        environment.process_exit_code = EXIT_LOGINS_FAILED
