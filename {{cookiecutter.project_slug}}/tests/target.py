"""A stand-in for the PHP application that checks profiling headers as Tideways does.

It answers every request with a small JSON body (after ``?sleep=SECONDS``,
at most 5, when the path asks for it, and up to ``--work-ms`` milliseconds of
made-up application time, the same for each method and path), or with a
redirect for ``?redirect=CODE&to=LOCATION``, checks each
``X-Tideways-Profiler`` header the way Tideways' server does (``Tideways.php``,
``decideProfiling()``: all four fields, the HMAC, and a time not in the past)
and writes one JSON line per request to the log. This module does not import
``tideways_locust``: it checks the signer independently.

    python tests/target.py --log requests.jsonl [--key KEY] [--port 0] [--work-ms 0]

It prints ``listening on http://127.0.0.1:PORT`` first and, when stopped with
SIGTERM or Ctrl-C, a summary line.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PROFILER = "x-tideways-profiler"
FIELDS = ("method", "time", "user", "hash")
MAX_SLEEP = 5.0
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


def summarize(records: list[dict]) -> dict[str, int]:
    traced = [r for r in records if r["profiler"] is not None]
    return {
        "requests": len(records),
        "traced": len(traced),
        "accepted": sum(r["verdict"] == "accepted" for r in traced),
        "rejected": sum(r["verdict"] != "accepted" for r in traced),
    }


def read_log(path) -> list[dict]:
    with open(path, encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]


class Target(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many users connect at once; the default 5 drops their SYNs

    def __init__(self, port: int, api_key: str, log_path: str, work_ms: int = 0) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.api_key = api_key
        self.work_ms = work_ms
        self.log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.records: list[dict] = []
        self.lock = threading.Lock()

    def record(self, entry: dict) -> None:
        with self.lock:
            self.records.append(entry)
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()

    def stop(self) -> None:
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
        profiler = self.headers.get(PROFILER)
        # Recorded on arrival, so a request the load generator gives up on is in the log too.
        self.server.record(
            {
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
        query = parse_qs(urlsplit(self.path).query)
        code, location = query.get("redirect", [""])[0], query.get("to", [""])[0]
        body = b'{"ok": true}'
        if code in REDIRECTS and location:
            self.send_response(int(code))
            self.send_header("Location", location)
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

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
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("give the API key with --key or LOCUST_TIDEWAYS_APIKEY")
    if not 0 <= args.work_ms <= 5000:
        parser.error(f"--work-ms {args.work_ms!r} is not allowed: give milliseconds from 0 to 5000")

    target = Target(args.port, args.key, args.log, args.work_ms)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=target.shutdown).start())
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
