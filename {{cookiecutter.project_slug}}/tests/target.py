"""A stand-in for the PHP application that checks profiling headers as Tideways does.

It answers every request with a small JSON body (after ``?sleep=SECONDS``,
at most 5, when the path asks for it, and up to ``--work-ms`` milliseconds of
made-up application time, the same for each method and path, plus ``--delay
PREFIX=MS`` milliseconds for each path that starts with ``PREFIX``, plus a random
0 to ``--jitter-ms``, then ``--capacity WORKERS:MS``: a wait for one of a fixed pool of
workers and its milliseconds of work, so the target answers at most a known number of
requests a second), or with a
redirect for ``?redirect=CODE&to=LOCATION``. A request with ``?hold=1`` is held
unanswered until the target is stopped (a minute at most): in the log from the
moment it arrived, it tells a test that the request is out. It checks each
``X-Tideways-Profiler`` header the way Tideways' server does (``Tideways.php``,
``decideProfiling()``: all four fields, the HMAC, and a time not in the past)
and writes one JSON line per request to the log. This module does not import
``tideways_locust``: it checks the signer independently.

    python tests/target.py --log requests.jsonl [--key KEY] [--port 0] [--work-ms 0] [--status 503]
                           [--delay /products=100 ...] [--jitter-ms 0] [--capacity WORKERS:MS]
                           [--accounts alice:pw1,bob:pw2 [--token-ttl 60] [--bearer TOKEN]]

With ``--accounts`` it also has logins, as a PHP application does: ``GET /login``, a
form with a CSRF token in a session cookie (``?style=`` picks one of ``LOGIN_FORMS``:
Symfony's and Laravel's field names, no token, a shop's form with a token of its own
name and the fields a browser sends, a form that posts to ``/session``, one whose login
lands on ``/login?page=account``), ``POST /login`` (a redirect to ``/private/account``
when the login worked, else the form again with an error), ``POST /api/login`` (JSON
credentials, a token that expires after ``--token-ttl`` seconds), and HTTP basic. Paths
under ``/private`` answer a request without a valid session, token or basic login with a
401 (``--logged-out`` also: a redirect to the login page, or a 200 page without a form);
``POST /_control/drop-sessions`` ends every session at once. Each record names the
account a request was logged in as.

It prints ``listening on http://127.0.0.1:PORT`` first and, when stopped with
SIGTERM or Ctrl-C, a summary line.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import signal
import sys
import threading
import time
import zlib
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

PROFILER = "x-tideways-profiler"
FIELDS = ("method", "time", "user", "hash")
MAX_SLEEP = 5.0
MAX_HOLD = 60.0
REDIRECTS = ("301", "302", "303", "307", "308")


def verdict(header: str, api_key: str, now: float) -> str:
    """``accepted``, or why Tideways would refuse the header and not monitor the request."""
    fields = parse_qs(header, keep_blank_values=True)
    if any(len(fields.get(name, [])) != 1 for name in FIELDS):
        return "malformed"
    method, expires, user, digest = (fields[name][0] for name in FIELDS)
    key = hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")
    message = f"method={method}&time={expires}&user={user}".encode()
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest):
        return "invalid hash"
    if not expires.isdigit() or int(expires) < now:
        return "too old"
    return "accepted"


def login_landing(record: dict) -> bool:
    """A GET of a page that this target's ``POST /login`` redirects to (the account's page, or the form
    with its error): the hop of a redirect the client follows, which carries no profiling header."""
    path = record["path"]
    landing = path == "/private/account" or (
        path.startswith("/login?") and ("page=account" in path or "error=1" in path)
    )
    return record["method"] == "GET" and landing


def summarize(records: list[dict]) -> dict[str, int]:
    traced = [r for r in records if r["profiler"] is not None]
    return {
        "requests": len(records),
        "traced": len(traced),
        "accepted": sum(r["verdict"] == "accepted" for r in traced),
        "rejected": sum(r["verdict"] != "accepted" for r in traced),
    }


def whole_lines(path) -> list[str]:
    """The lines of a log that may still be written: a line counts once it is whole."""
    with open(path, encoding="utf-8") as log:
        return log.read().split("\n")[:-1]


def read_log(path) -> list[dict]:
    """The records of a JSON Lines log that may still be written."""
    return [json.loads(line) for line in whole_lines(path) if line.strip()]


# style -> username field, password field, token field (None: no token), the form's action.
LOGIN_FORMS = {
    "symfony": ("_username", "_password", "_csrf_token", "/login"),
    "laravel": ("email", "password", "_token", "/login"),
    "nocsrf": ("_username", "_password", None, "/login"),
    # What a browser sends: a token of its own name, an email, a checked and an unchecked
    # checkbox, a select, the submit button's value; an empty action: the page's own URL.
    "shop": ("login[email]", "login[password]", "form_key", ""),
    "elsewhere": ("user", "pass", "token", "/session"),  # posts to another path than the page's
    "query": ("_username", "_password", "_csrf_token", "/login?style=query"),  # lands on /login?page=account
}
# The shop form's other fields, as a browser submits them: checked, selected, clicked, empty.
SHOP_FIELDS = {"remember": "1", "lang": "de", "send": "login", "coupon": ""}
SHOP_EXTRAS = (
    '<input name="coupon"><input type="checkbox" name="remember" value="1" checked>'
    '<input type="checkbox" name="newsletter" value="1"><input name="legacy" value="x" disabled>'
    '<select name="lang"><option value="en">English</option><option value="de" selected>Deutsch</option></select>'
    '<button type="button" name="show" value="1">Show</button><button type="submit" name="send" value="login">'
    "Log in</button>"
)


class Logins:
    """The application's accounts, sessions and tokens."""

    def __init__(self, accounts: dict[str, str], token_ttl: float, bearer: str, tell_expiry: bool = True) -> None:
        self.accounts, self.token_ttl, self.bearer = accounts, token_ttl, bearer
        self.tell_expiry = tell_expiry
        self.sessions: dict[str, dict] = {}  # session id -> {"csrf": ..., "account": ..., "style": ...}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (account, expiry)
        self.lock = threading.Lock()

    def account_of(self, headers, cookie: str | None) -> str | None:
        """Who a request is logged in as: a bearer token, HTTP basic or the session cookie."""
        authorization = headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization[7:]
            if self.bearer and token == self.bearer:
                return "bearer"
            account, expiry = self.tokens.get(token, ("", 0.0))
            return account if expiry > time.time() else None
        if authorization.startswith("Basic "):
            try:
                name, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                return None
            return name if self.accounts.get(name) == password else None
        session = self.sessions.get(cookie or "")
        return session["account"] if session else None

    def drop_sessions(self) -> None:
        """Every session ends at once, as when the application restarts."""
        with self.lock:
            self.sessions.clear()

    def form(self, style: str, session_id: str | None, error: bool = False) -> tuple[str, str | None]:
        """The login page, and a new session id when the request had none."""
        style = style if style in LOGIN_FORMS else "symfony"
        user, password, csrf, action = LOGIN_FORMS[style]
        token = os.urandom(8).hex()
        with self.lock:
            session = self.sessions.get(session_id or "")
            new = None
            if session is None:
                new = os.urandom(8).hex()
                session = self.sessions[new] = {"account": None}
            session.update(csrf=token, style=style)
        hidden = f'<input type="hidden" name="{csrf}" value="{token}">' if csrf else ""
        if style == "shop":
            fields = f'{hidden}<input type="email" name="{user}"><input type="password" name="{password}">{SHOP_EXTRAS}'
            before = '<form action="/search"><input name="q"></form>'  # a form without a password comes first
        else:
            fields = f'{hidden}<input name="{user}"><input type="password" name="{password}"><button>Log in</button>'
            before = ""
        page = (
            f"<html><body>{'<p>Wrong username or password</p>' if error else ''}{before}"
            f'<form method="post" action="{action}">{fields}</form></body></html>'
        )
        return page, new

    def log_in(self, session_id: str | None, body: str) -> bool:
        fields = dict(parse_qsl(body, keep_blank_values=True))
        with self.lock:
            session = self.sessions.get(session_id or "")
            if session is None:
                return False
            user, password, csrf, _action = LOGIN_FORMS[session["style"]]
            if csrf and fields.get(csrf) != session["csrf"]:
                return False
            if session["style"] == "shop":
                sent_as_a_browser = {name: fields.get(name) for name in SHOP_FIELDS} == SHOP_FIELDS
                if not sent_as_a_browser or {"newsletter", "legacy", "show"} & fields.keys():
                    return False
            name = fields.get(user, "")
            if self.accounts.get(name) != fields.get(password):
                return False
            session["account"] = name
            return True

    def token(self, body: str) -> str | None:
        try:
            credentials = json.loads(body)
        except ValueError:
            return None
        name = str(credentials.get("username", ""))
        if self.accounts.get(name) != credentials.get("password"):
            return None
        token = os.urandom(12).hex()
        with self.lock:
            self.tokens[token] = (name, time.time() + self.token_ttl)
        return token


class Target(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many users connect at once; the default 5 drops their SYNs

    def __init__(
        self,
        port: int,
        api_key: str,
        log_path: str,
        work_ms: int = 0,
        logins: Logins | None = None,
        status: int = 0,
        logged_out: str = "401",
        delays: dict[str, float] | None = None,
        jitter_ms: float = 0.0,
        capacity: tuple[int, float] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        # --capacity WORKERS:MS: each request holds one of WORKERS for MS of work, so at most
        # WORKERS / MS * 1000 requests a second are answered; more wait in line.
        self.pool = threading.BoundedSemaphore(capacity[0]) if capacity else None
        self.pool_work = capacity[1] / 1000 if capacity else 0.0
        self.delays = delays or {}  # path prefix: seconds of made-up application time
        self.jitter = jitter_ms / 1000  # up to this many seconds more, at random
        self.logged_out = logged_out  # how a page that needs a login answers without one
        self.api_key = api_key
        self.status = status  # every answer's status when set: an application that is down
        self.logins = logins
        self.work_ms = work_ms
        self.log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.records: list[dict] = []
        self.lock = threading.Lock()
        self.released = threading.Event()  # set when the target stops: held requests are answered

    def record(self, entry: dict) -> None:
        with self.lock:
            self.records.append(entry)
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()

    def stop(self) -> None:
        self.released.set()
        self.server_close()
        self.log.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: Target

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ConnectionError:  # the load generator hung up at the end of its run
            self.close_connection = True

    def answer(self) -> None:
        started = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length) if length else b""
        try:
            sleep = float(parse_qs(urlsplit(self.path).query).get("sleep", ["0"])[0])
        except ValueError:
            sleep = 0.0
        sleep = min(sleep, MAX_SLEEP) if sleep > 0 else 0.0  # nan is not > 0
        if self.server.work_ms:
            route = f"{self.command} {urlsplit(self.path).path}".encode()
            sleep += (zlib.crc32(route) % (self.server.work_ms + 1)) / 1000
        sleep += sum(
            seconds for prefix, seconds in self.server.delays.items() if urlsplit(self.path).path.startswith(prefix)
        )
        if self.server.jitter:
            sleep += random.uniform(0, self.server.jitter)
        profiler = self.headers.get(PROFILER)
        path = urlsplit(self.path).path
        cookie = SimpleCookie(self.headers.get("Cookie", "")).get("SID")
        session_id = cookie.value if cookie else None
        logins = self.server.logins
        account = logins.account_of(self.headers, session_id) if logins else None
        # Recorded on arrival, so a request the load generator gives up on is in the log too.
        self.server.record(
            {
                "account": account,
                "private": path.startswith("/private") or (path == "/login" and "page=account" in self.path),
                "time": started,
                "duration_ms": round((time.time() - started + sleep) * 1000, 3),
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": received[:2000].decode("utf-8", "replace"),
                "profiler": profiler,
                "verdict": None if profiler is None else verdict(profiler, self.server.api_key, time.time()),
            }
        )
        time.sleep(sleep)
        if self.server.pool is not None:  # a fixed pool of workers: a request waits for a free one
            with self.server.pool:
                time.sleep(self.server.pool_work)
        query = parse_qs(urlsplit(self.path).query)
        if query.get("hold") == ["1"]:
            self.server.released.wait(MAX_HOLD)
        code, location = query.get("redirect", [""])[0], query.get("to", [""])[0]
        body, kind = b'{"ok": true}', "application/json"
        if logins and self.login_route(logins, path, query, session_id, received.decode("utf-8", "replace")):
            return
        if self.server.status:
            self.send_response(self.server.status)
        elif code in REDIRECTS and location:
            self.send_response(int(code))
            self.send_header("Location", location)
        elif path.startswith("/private") and logins and account is None:
            self.send_logged_out()
            return
        elif path == "/private/forbidden":  # refused to every account, as a page of another role
            self.send_response(403)
        else:
            self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_logged_out(self) -> None:
        """A page that needs a login, asked without one: as the application was told to answer."""
        how = self.server.logged_out
        status, body, headers = 401, b'{"error": "login required"}', {"Content-Type": "application/json"}
        if how == "redirect":
            status, body, headers = 302, b"", {"Location": "/login", "Content-Type": "text/html"}
        elif how == "page":  # a page that says so, with no form and a 200, as some applications answer
            status, body, headers = 200, b"<html><body>Login required</body></html>", {"Content-Type": "text/html"}
        self.send_answer(status, body, headers)

    def send_answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def login_route(self, logins: Logins, path: str, query: dict, session_id: str | None, received: str) -> bool:
        """Answer a login request; False for any other."""
        html = {"Content-Type": "text/html"}
        style = query.get("style", ["symfony"])[0]
        if path == "/login" and self.command == "GET" and query.get("page") == ["account"]:
            account = logins.account_of(self.headers, session_id)
            if account is None:
                self.send_logged_out()
            else:
                self.send_answer(200, json.dumps({"account": account}).encode(), {"Content-Type": "application/json"})
        elif path == "/login" and self.command == "GET":
            page, new_session = logins.form(style, session_id, error=query.get("error") == ["1"])
            cookie = {"Set-Cookie": f"SID={new_session}; Path=/; HttpOnly"} if new_session else {}
            self.send_answer(200, page.encode(), {**html, **cookie})
        elif path in ("/login", "/session") and self.command == "POST":
            style = (logins.sessions.get(session_id or "") or {}).get("style", "symfony")
            if logins.log_in(session_id, received):
                landing = "/login?style=query&page=account" if style == "query" else "/private/account"
                self.send_answer(302, b"", {**html, "Location": landing})
            elif style in ("shop", "elsewhere"):  # the form again, with an error, at the path posted to
                self.send_answer(200, logins.form(style, session_id, error=True)[0].encode(), html)
            else:  # back to the login page, which says what went wrong
                self.send_answer(302, b"", {**html, "Location": f"/login?style={style}&error=1"})
        elif path == "/_control/drop-sessions" and self.command == "POST":
            logins.drop_sessions()
            self.send_answer(204, b"", {})
        elif path == "/api/login" and self.command == "POST":
            token = logins.token(received)
            answer = {"token": token, "expires_in": logins.token_ttl} if token else {"error": "bad credentials"}
            if token and not logins.tell_expiry:
                del answer["expires_in"]
            self.send_answer(
                401 if not token else 200, json.dumps(answer).encode(), {"Content-Type": "application/json"}
            )
        else:
            return False
        return True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = answer  # noqa: N815 - stdlib names

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--key",
        default=os.environ.get("LOCUST_TIDEWAYS_APIKEY"),
        help="the API key the load test signs with (default: $LOCUST_TIDEWAYS_APIKEY)",
    )
    parser.add_argument("--log", required=True, help="JSON Lines file, one line per request")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--work-ms", type=int, default=0, help="made-up application time, 0 to this many ms a method and path"
    )
    parser.add_argument(
        "--delay",
        action="append",
        default=[],
        help="PREFIX=MS: paths starting with PREFIX take MS ms more (repeatable)",
    )
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="a random 0 to this many ms more a request")
    parser.add_argument(
        "--capacity",
        default="",
        help="WORKERS:MS, a fixed pool of WORKERS, each request MS of work: WORKERS / MS * 1000 requests a second",
    )
    parser.add_argument("--status", type=int, default=0, help="answer every request with this status, like 503")
    parser.add_argument("--accounts", default="", help="name:password,... : the application has logins")
    parser.add_argument("--token-ttl", type=float, default=60.0, help="seconds a token of POST /api/login lasts")
    parser.add_argument("--bearer", default="", help="a static bearer token the application takes")
    parser.add_argument("--no-expires-in", action="store_true", help="a token's answer does not say when it expires")
    parser.add_argument(
        "--logged-out",
        choices=("401", "redirect", "page"),
        default="401",
        help="how /private answers without a login: 401, a redirect to /login, or a 200 page without a form",
    )
    args = parser.parse_args(argv)
    delays = {}
    for given in args.delay:
        prefix, _, ms = given.rpartition("=")
        try:
            delays[prefix] = float(ms) / 1000
        except ValueError:
            delays[prefix] = -1.0
        if not prefix.startswith("/") or not 0 <= delays[prefix] <= MAX_SLEEP:
            parser.error(f"--delay {given!r} is not allowed: give PREFIX=MS, a path prefix and 0 to 5000 ms")
    if not args.key:
        parser.error("give the API key with --key or LOCUST_TIDEWAYS_APIKEY")
    if not 0 <= args.work_ms <= 5000:
        parser.error(f"--work-ms {args.work_ms!r} is not allowed: give milliseconds from 0 to 5000")

    accounts = dict(pair.split(":", 1) for pair in args.accounts.split(",") if ":" in pair)
    logins = Logins(accounts, args.token_ttl, args.bearer, not args.no_expires_in) if accounts or args.bearer else None
    if args.status and not 200 <= args.status <= 599:
        parser.error(f"--status {args.status!r} is not allowed: give an HTTP status from 200 to 599")
    if not 0 <= args.jitter_ms <= 1000:
        parser.error(f"--jitter-ms {args.jitter_ms!r} is not allowed: give milliseconds from 0 to 1000")
    capacity = None
    if args.capacity:
        workers, _, ms = args.capacity.partition(":")
        if not (workers.isdigit() and 1 <= int(workers) <= 1000 and ms.isdigit() and 1 <= int(ms) <= 5000):
            parser.error(f"--capacity {args.capacity!r} is not allowed: give WORKERS:MS, 1 to 1000 and 1 to 5000 ms")
        capacity = (int(workers), float(ms))
    target = Target(
        args.port,
        args.key,
        args.log,
        args.work_ms,
        logins,
        args.status,
        args.logged_out,
        delays,
        args.jitter_ms,
        capacity,
    )

    def on_sigterm(*_) -> None:
        target.released.set()
        threading.Thread(target=target.shutdown).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    print(f"listening on http://127.0.0.1:{target.server_address[1]}", flush=True)
    try:
        target.serve_forever(poll_interval=0.05)  # a quick stop: tests start and stop many
    except KeyboardInterrupt:
        pass
    finally:
        target.stop()
    counts = summarize(target.records)
    print("target: " + ", ".join(f"{n} {what}" for what, n in counts.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
