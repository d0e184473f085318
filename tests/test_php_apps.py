"""The real-application harness (tests/php_apps/) itself, with plain HTTP: WordPress, phpMyAdmin and Adminer
from Debian's packages on PHP's built-in server log which account they served each request as, and the
Tideways header's verdict. Skipped where the packages are missing (``make php-apps`` installs them)."""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.php_apps.apps import ACCOUNTS, HERE, php_missing
from tests.php_apps.forms import follow, submit_login

APPS = ["wordpress", "phpmyadmin", "adminer"]
each_app = pytest.mark.parametrize("php_app", APPS, indirect=True)
TIMEOUT = 30

# /work/shared/reference/tideways-header.md: API key, md5 key, message, hash.
VECTORS = [
    (
        "foo",
        "acbd18db4cc2f85cedef654fccc4a4d8",
        "method=&time=1700000000&user=",
        "e87f26865d55501918b1fdd44e44b4bc29644b5669427023963d41187c110748",
    ),
    (
        "foo",
        "acbd18db4cc2f85cedef654fccc4a4d8",
        "method=&time=1700000000&user=usr",
        "7ffc615e8cb38d6ad19330e9d9cda22759cc126ea969327d23df6811007026a8",
    ),
    (
        "abc123",
        "e99a18c428cb38d5f260853678922e03",
        "method=&time=2000000000&user=",
        "d262eccf9aa78ceeec6e5493db750fa6183930e769fa35fe8b0ef96dbccbe264",
    ),
    (
        "s3cr3t-Key_ÄÖ",
        "60483b5dd1e61e0fd45c6090e571db8e",
        "method=&time=1800000000&user=locust",
        "e2fa0f691cb9a93fb1a9944312689ae3418ff2aa58ca965003f6bbdb79ed2677",
    ),
]
# The login form, as each application shows it: the password field's name.
PASSWORD_FIELD = {"wordpress": 'name="pwd"', "phpmyadmin": 'name="pma_password"', "adminer": 'name="auth[password]"'}


def sign(api_key: str, expires: int, method: str = "", user: str = "") -> str:
    """The X-Tideways-Profiler header, built as the reference states it."""
    key = hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")
    message = f"method={method}&time={expires}&user={user}"
    return message + "&hash=" + hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def logged_in(app, username: str) -> requests.Session:
    """A session logged in by submitting the form, its redirects followed; asserts where it lands."""
    session = requests.Session()
    login = submit_login(app, session, username, ACCOUNTS[username])
    assert login.answer.status_code == 302, (login.answer.status_code, login.answer.text[-2000:])
    final = follow(session, login.answer)[-1]
    assert final.status_code == 200, final.status_code
    assert PASSWORD_FIELD[app.name] not in final.text  # not the login form again
    return session


def served(app, session: requests.Session, path: str, **kwargs) -> tuple[requests.Response, dict]:
    """GET one path (no redirect followed) and its record in the application's log."""
    mark = app.mark()
    answer = session.get(app.url + path, allow_redirects=False, timeout=TIMEOUT, **kwargs)
    (record,) = app.wait_for_records(1, since=mark)
    return answer, record


def test_the_accounts_are_the_baked_tests_accounts():
    conftest = Path(__file__).parents[1] / "{{cookiecutter.project_slug}}" / "tests" / "conftest.py"
    match = re.search(r"^ACCOUNTS = (\{.*?\})$", conftest.read_text(encoding="utf-8"), re.M)
    if match is None:
        pytest.skip(f"no ACCOUNTS = {{...}} line in {conftest}")
    assert ast.literal_eval(match.group(1)) == ACCOUNTS


# -- the header check, in PHP, against the reference --------------------------------------------------------


def test_python_signing_matches_the_reference_vectors():
    for api_key, md5_key, message, digest in VECTORS:
        assert hashlib.md5(api_key.encode("utf-8")).hexdigest() == md5_key
        expires = int(re.search(r"time=(\d+)", message).group(1))
        user = message.rsplit("user=", 1)[1]
        assert sign(api_key, expires, user=user) == f"{message}&hash={digest}"


def run_php_checks(cases: list[dict]) -> list[dict]:
    if php_missing():
        pytest.skip(f"needs {', '.join(php_missing())}: run `make php-apps`")
    script = (
        f"require {json.dumps(str(HERE / 'tideways_header.php'))};"
        "$out = [];"
        "foreach (json_decode(stream_get_contents(STDIN), true) as $c) {"
        "  $out[] = ['md5' => md5($c['key']), 'hash' => php_apps_profiler_hash($c['message'], $c['key']),"
        "            'verdict' => php_apps_profiler_verdict($c['header'], $c['key'], $c['now'])];"
        "}"
        "echo json_encode($out);"
    )
    result = subprocess.run(["php", "-r", script], input=json.dumps(cases), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_router_judges_the_reference_vectors_like_tideways():
    cases, expected = [], []
    for api_key, md5_key, message, digest in VECTORS:
        expires = int(re.search(r"time=(\d+)", message).group(1))
        header = f"{message}&hash={digest}"
        for header_sent, key, now, verdict in [
            (header, api_key, expires - 1, "accepted"),
            (header, api_key, expires, "accepted"),  # time not in the past
            (header, api_key, expires + 1, "too old"),
            (header, api_key + "x", expires - 1, "invalid hash"),
            (header[:-1] + ("0" if header[-1] != "0" else "1"), api_key, expires - 1, "invalid hash"),
            (message, api_key, expires - 1, "malformed"),  # no hash
            (f"{header}&user=other", api_key, expires - 1, "malformed"),  # a field twice
            (None, api_key, expires - 1, "absent"),
        ]:
            cases.append({"key": key, "message": message, "header": header_sent, "now": now})
            expected.append((md5_key if key == api_key else None, digest if key == api_key else None, verdict))
    for (md5_key, digest, verdict), result in zip(expected, run_php_checks(cases), strict=True):
        if md5_key:
            assert (result["md5"], result["hash"]) == (md5_key, digest)
        assert result["verdict"] == verdict


# -- the applications --------------------------------------------------------------------------------------


@each_app
def test_a_good_login_serves_the_protected_pages_as_that_account(php_app):
    session = logged_in(php_app, "alice")
    login_records = php_app.records()
    assert login_records[0]["path"] == php_app.login_page and login_records[0]["account"] is None
    for path in php_app.pages_for("alice"):
        answer, record = served(php_app, session, path)
        assert answer.status_code == 200, (path, answer.status_code)
        assert (record["account"], record["protected"], record["status"]) == ("alice", True, 200), record
    # Each account is its own.
    bob = logged_in(php_app, "bob")
    _, record = served(php_app, bob, php_app.pages_for("bob")[0])
    assert record["account"] == "bob"


@each_app
def test_a_wrong_password_serves_nobody_and_shows_the_login_form_again(php_app):
    session = requests.Session()
    login = submit_login(php_app, session, "alice", "pw-alice-wrong")
    answers = [login.answer, *follow(session, login.answer)]  # Adminer redirects a failure too
    assert PASSWORD_FIELD[php_app.name] in answers[-1].text
    records = php_app.wait_for_records(1 + len(answers))
    assert [record["account"] for record in records] == [None] * len(records), records
    _, record = served(php_app, session, php_app.pages_for("alice")[0])
    assert (record["account"], record["protected"]) == (None, True)


@each_app
def test_anonymous_requests_and_static_files_serve_nobody(php_app):
    static = {
        "wordpress": "/wp-includes/css/buttons.min.css",
        "phpmyadmin": "/favicon.ico",
        "adminer": "/adminer.php?file=default.css&version=4.8.1",
    }[php_app.name]
    session = requests.Session()
    for path in [php_app.login_page, static, php_app.pages_for("alice")[0]]:
        answer, record = served(php_app, session, path)
        assert record["account"] is None, record
        assert record["status"] == answer.status_code
        protected = path == php_app.pages_for("alice")[0] or (
            path == php_app.login_page and php_app.login_page_protected
        )
        assert record["protected"] == protected, record


@each_app
def test_drop_sessions_makes_the_next_protected_request_anonymous(php_app):
    alice, bob = logged_in(php_app, "alice"), logged_in(php_app, "bob")
    page = php_app.pages_for("alice")[0]
    assert served(php_app, alice, page)[1]["account"] == "alice"
    php_app.drop_sessions()
    answer, record = served(php_app, alice, page)
    assert (record["account"], record["protected"]) == (None, True), record
    # The application asks for a login again: the form (phpMyAdmin, Adminer) or a redirect to it (WordPress).
    shown = (
        answer.text if not answer.is_redirect else session_get(alice, urljoin(answer.url, answer.headers["Location"]))
    )
    assert PASSWORD_FIELD[php_app.name] in shown
    assert served(php_app, bob, php_app.pages_for("bob")[0])[1]["account"] is None
    # And a new login works again.
    again = logged_in(php_app, "alice")
    assert served(php_app, again, page)[1]["account"] == "alice"


def session_get(session: requests.Session, url: str) -> str:
    return session.get(url, timeout=TIMEOUT).text


@each_app
def test_the_profiler_header_is_judged_per_request(php_app):
    session = logged_in(php_app, "alice")
    page = php_app.pages_for("alice")[0]
    now = int(time.time())
    for header, verdict in [
        (sign(php_app.api_key, now + 120), "accepted"),
        (sign(php_app.api_key, now + 120, user="alice"), "accepted"),
        (sign(php_app.api_key + "-other", now + 120), "invalid hash"),
        (sign(php_app.api_key, now - 10), "too old"),
        ("method=&time=1&user=", "malformed"),
        (None, "absent"),
    ]:
        headers = {"X-Tideways-Profiler": header, "X-Tideways-Ref": "ref-1"} if header else {}
        answer, record = served(php_app, session, page, headers=headers)
        assert answer.status_code == 200
        # The header changes nothing the application does.
        assert (record["profiler"], record["account"]) == (verdict, "alice"), record
        assert record["ref"] == ("ref-1" if header else None)


@each_app
def test_concurrent_requests_each_leave_one_whole_record(php_app):
    paths = [php_app.login_page] * 12
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda path: requests.get(php_app.url + path, timeout=TIMEOUT).status_code, paths))
    assert statuses == [200] * len(paths)
    records = php_app.wait_for_records(len(paths))
    assert len(records) == len(paths)
    assert {record["path"] for record in records} == {php_app.login_page}
