"""A MariaDB server of the test's own: a data directory in a temporary directory, a Unix socket, no port.

Started without a service manager, as /work/shared/reference/real-php-apps.md shows: ``mariadb-install-db``
once, then ``mariadbd`` in its own session; ready when the socket accepts a connection. SQL goes through
Debian's ``mariadb`` client on that socket as root (whose password is empty: the socket is the only way in).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from scripts import processes

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
# Small and fast for tests: nothing here must survive a crash.
SERVER_OPTIONS = (
    "--skip-networking",
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--skip-log-bin",
)


def missing_programs() -> list[str]:
    return [name for name in ("mariadb-install-db", "mariadbd", "mariadb") if shutil.which(name) is None]


def quote(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class MariaDB:
    """``start()``, then ``sql(...)``, ``create_database(...)``, ``create_user(...)``; ``stop()`` removes it all."""

    def __init__(self, base: Path | None = None) -> None:
        # A short path: a Unix socket's path must stay under 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="mariadb-", dir=base))
        self.data = self.dir / "data"
        self.socket = self.dir / "sock"
        self.error_log = self.dir / "error.log"
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None

    def _user_option(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> MariaDB:
        started = time.monotonic()
        install = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                *self._user_option(),
                f"--datadir={self.data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--innodb-log-file-size=8M",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if install.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{install.stdout}\n{install.stderr}")
        self.process = processes.start(
            [
                "mariadbd",
                "--no-defaults",
                *self._user_option(),
                f"--datadir={self.data}",
                f"--socket={self.socket}",
                f"--pid-file={self.dir / 'pid'}",
                f"--log-error={self.error_log}",
                f"--tmpdir={self.dir}",
                *SERVER_OPTIONS,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self) -> None:
        """Until the socket accepts a connection, the server has exited, or READY_TIMEOUT has passed."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.socket.exists():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    try:
                        probe.connect(str(self.socket))
                        return
                    except OSError:
                        pass
            try:
                # Doubles as the pause between two looks: returns at once if mariadbd has exited.
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{self.log_tail()}")
        raise RuntimeError(f"mariadbd's socket did not accept a connection in {READY_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"

    def sql(self, statements: str, database: str | None = None) -> str:
        """Run SQL as root; the result rows tab-separated, without column names."""
        command = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "--batch", "--skip-column-names"]
        if database:
            command.append(database)
        result = subprocess.run(command, input=statements, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"SQL failed ({result.returncode}): {result.stderr.strip()}\n{statements}")
        return result.stdout

    def create_database(self, name: str) -> None:
        self.sql(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;")

    def create_user(self, user: str, password: str, database: str) -> None:
        """A user at localhost (the socket) with every privilege on one database."""
        self.sql(
            f"CREATE OR REPLACE USER {quote(user)}@'localhost' IDENTIFIED BY {quote(password)};\n"
            f"GRANT ALL PRIVILEGES ON `{database}`.* TO {quote(user)}@'localhost';"
        )

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process, STOP_TIMEOUT)
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> MariaDB:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
