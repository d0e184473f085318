"""Form logins against real PHP applications that nobody here wrote (slow: real Locust runs).

WordPress, phpMyAdmin and Adminer, from Debian's packages, served by PHP's built-in server on
127.0.0.1 with a MariaDB of the test session (``tests/php_apps``). A baked project's users log
in with only ``--app-login-page`` and the accounts set, as a new user would. Together the
applications have a token field of their own name (phpMyAdmin's ``token``), no token at all
(WordPress, Adminer), a login that lands on its own path with another query (Adminer), and a
form that posts to another path than its page's (phpMyAdmin's ``/``). The application's router
records whom the application itself served each request as, and judges every profiling header
as Tideways does.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import bake_ok
from tests.locust_runs import run_locust

pytestmark = pytest.mark.slow

ACCOUNTS = {"alice": "pw-alice-7f3a", "bob": "pw-bob-91c2", "carol": "pw-carol-0d4e", "dave": "pw-dave-55e1"}
# The application, and the login page a user would set: phpMyAdmin's "/" posts to /index.php.
LOGIN_PAGES = {"wordpress": "/wp-login.php", "phpmyadmin": "/", "adminer": "/adminer.php"}
USERS = '''"""Users that load an application's pages that need a login; "{username}" is the user's account."""

import os

from locust import constant

from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser

PAGES = os.environ["PHP_APP_PAGES"].split()


def pages(user):
    for page in PAGES:
        user.client.get(page.format(username=user.login.username))


class HttpAppUser(HttpTidewaysUser):
    tasks = [pages]
    wait_time = constant(0.05)


class FastHttpAppUser(FastHttpTidewaysUser):
    tasks = [pages]
    wait_time = constant(0.05)
'''
# Where each application's login form posts to.
LOGIN_POSTS = {"wordpress": "/wp-login.php", "phpmyadmin": "/index.php", "adminer": "/adminer.php"}
CLIENTS = ["HttpAppUser", "FastHttpAppUser"]
APPS = [pytest.param(name, id=name) for name in LOGIN_PAGES]


@pytest.fixture(scope="module")
def project(cookies_session):
    """One baked project: the runtime that logs in is the same in every kind of project."""
    baked = bake_ok(cookies_session, project_name="PHP apps load test")
    (baked.path / "app_users.py").write_text(USERS)
    return baked


def log_in_run(project, python, app, user_class: str, *args: str, accounts: dict[str, str] = ACCOUNTS, until=None):
    csv = "username,password\n" + "".join(f"{name},{password}\n" for name, password in accounts.items())
    if hasattr(app, "forget_failed_logins"):
        app.forget_failed_logins()  # Adminer locks an address out after 30 failed logins
    env = {"LOGIN_ACCOUNTS": csv, "LOCUST_TIDEWAYS_APIKEY": app.api_key, "PHP_APP_PAGES": " ".join(app.protected_pages)}
    return run_locust(
        project.path, python, "app_users.py", "--host", app.url, "--app-login", "form",
        "--app-login-page", LOGIN_PAGES[app.name], "-u", str(len(ACCOUNTS)), "-r", "10",
        "--tideways-trace-rate", "50", *args, user_class, until=until, env=env,
    )  # fmt: skip


def task_pages(app, records: list[dict]) -> list[dict]:
    """The records of the pages the users' task loads (not the login's requests)."""
    wanted = {page.format(username=name) for page in app.protected_pages for name in ACCOUNTS}
    return [r for r in records if r["method"] == "GET" and target_of(r) in wanted]


def target_of(record: dict) -> str:
    return record["path"] + (f"?{record['query']}" if record.get("query") else "")


def served_as_each(app, since: int = 0):
    """A condition: the application served a task page to each account, from record ``since`` on."""

    def served() -> bool:
        return {r["account"] for r in task_pages(app, app.records(since))} >= set(ACCOUNTS)

    served.__doc__ = f"{app.name} served a page that needs a login to each of {sorted(ACCOUNTS)}"
    return served


def no_secret_in(text: str) -> bool:
    return not any(password in text for password in ACCOUNTS.values())


@pytest.mark.parametrize("php_app", APPS, indirect=True)
@pytest.mark.parametrize("user_class", CLIENTS)
def test_every_user_logs_in_as_its_own_account_with_only_the_login_page_set(php_app, baked_python, project, user_class):
    run = log_in_run(project, baked_python, php_app, user_class, until=served_as_each(php_app))
    assert run.returncode == 0, run.stderr[-4000:]
    records = php_app.records()
    pages = task_pages(php_app, records)
    assert pages and all(r["account"] and r["status"] < 400 for r in pages), "no page served anonymously"
    if "{username}" in " ".join(php_app.protected_pages):  # Adminer's URLs name the account: each loads its own
        assert all(f"username={r['account']}" in target_of(r) for r in pages)
    assert "logins: 4 users logged in (form) with 4 accounts, 0 re-logins, 0 failed" in run.stderr
    traced = [r for r in records if r["profiler"] != "absent"]
    assert traced and all(r["profiler"] == "accepted" for r in traced), {r["profiler"] for r in traced}
    # The login's POST is answered with a redirect within the application: its hop carries no header,
    # so the summary counts what the application took, one trace a request.
    summary = re.search(r"Tideways: \d+ requests sent, (\d+) traced", run.stderr)
    assert summary and int(summary[1]) == len(traced), (summary and summary[0], len(traced))
    assert no_secret_in(run.stderr)


@pytest.mark.parametrize("php_app", APPS, indirect=True)
@pytest.mark.parametrize("user_class", CLIENTS)
def test_a_wrong_password_fails_with_its_reason_and_exits_1(php_app, baked_python, project, user_class):
    wrong = {name: f"{password}-wrong" for name, password in ACCOUNTS.items()}
    run = log_in_run(project, baked_python, php_app, user_class, accounts=wrong)
    assert run.returncode == 1, run.stderr[-4000:]
    assert "every login failed (4 of 4), the first because " in run.stderr, run.stderr[-4000:]
    assert "with the login form again: wrong username or password?" in run.stderr
    assert all(r["account"] is None for r in php_app.records()), "the application served no one logged in"
    assert no_secret_in(run.stderr) and "-wrong" not in run.stderr


@pytest.mark.parametrize("php_app", APPS, indirect=True)
@pytest.mark.parametrize("user_class", CLIENTS)
def test_sessions_the_application_drops_are_noticed_and_the_users_log_in_again(
    php_app, baked_python, project, user_class
):
    dropped: list[int] = []

    def served_again_after_a_drop() -> bool:
        if not dropped:
            if not served_as_each(php_app)():
                return False
            dropped.append(php_app.mark())
            php_app.drop_sessions()
        # A page served after the drop may have been asked before it: wait for the four logins again.
        records = php_app.records(dropped[0])
        posts = [n for n, r in enumerate(records) if r["method"] == "POST" and r["path"] == LOGIN_POSTS[php_app.name]]
        return len(posts) >= len(ACCOUNTS) and served_as_each(php_app, since=dropped[0] + posts[len(ACCOUNTS) - 1])()

    served_again_after_a_drop.__doc__ = f"{php_app.name} served each account again after dropping its sessions"
    run = log_in_run(project, baked_python, php_app, user_class, until=served_again_after_a_drop)
    # The answer that showed each user it was logged out: Adminer's is a 403, a failure in Locust's statistics.
    refused = [r for r in task_pages(php_app, php_app.records(dropped[0])) if r["status"] >= 400]
    assert len(refused) <= len(ACCOUNTS), "one refused page a user, then it logged in again"
    assert run.returncode == (1 if refused else 0), run.stderr[-4000:]
    assert "logins: 4 users logged in (form) with 4 accounts, 4 re-logins, 0 failed" in run.stderr, run.stderr[-3000:]
    assert no_secret_in(run.stderr)
