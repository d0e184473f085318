"""Real PHP applications from Debian's packages, each on PHP's built-in server on 127.0.0.1.

WordPress (``wordpress``), phpMyAdmin (``phpmyadmin``) and Adminer (``adminer``): nobody here wrote them.
Each gets a directory of its own (configuration, PHP sessions, temporary files, the request log) and the
test's MariaDB (:mod:`tests.php_apps.mariadb`); nothing is written outside that directory and MariaDB's.

Where an application insists on reading ``/etc/<name>/...``, the router script (``router.php``) defines the
constant that the application itself only defines when it is not yet defined, naming a tree of symlinks to
Debian's files in the app's directory with the test's own configuration file in it:

- WordPress: ``ABSPATH`` -> the tree, whose ``wp-config.php`` is the test's (Debian's reads
  ``/etc/wordpress/config-<host>.php``); ``wp-content`` is a directory of the tree.
- phpMyAdmin: ``ROOT_PATH`` -> the tree, whose ``libraries/vendor_config.php`` is Debian's with
  ``configFile`` and ``tempDir`` in the app's directory (Debian's names ``/etc/phpmyadmin/config.inc.php``).
- Adminer reads no configuration: the document root is Debian's ``/usr/share/adminer``; the router gives it
  an ``adminer_object()`` (Adminer's extension point) that only remembers its own login() decision.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from scripts import processes
from scripts.processes import free_port, whole_lines
from tests.php_apps.mariadb import MariaDB, missing_programs

HERE = Path(__file__).resolve().parent
ROUTER = HERE / "router.php"
WP_INSTALL = HERE / "wp_install.php"

# The same accounts as the baked project's tests ({{cookiecutter.project_slug}}/tests/conftest.py ACCOUNTS).
ACCOUNTS = {"alice": "pw-alice-7f3a", "bob": "pw-bob-91c2", "carol": "pw-carol-0d4e", "dave": "pw-dave-55e1"}
WORKERS = 4
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 5
PHP_EXTENSIONS = ("mysqli", "mbstring", "xml", "session", "json")
SALTS = (
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
)


def php_missing() -> list[str]:
    """What PHP itself lacks for these applications: the program or extensions."""
    if shutil.which("php") is None:
        return ["php (php-cli)"]
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, timeout=30).stdout.lower().split()
    return [f"PHP extension {name}" for name in PHP_EXTENSIONS if name not in modules]


def symlink_tree(source: Path, target: Path, own: dict[str, Callable[[Path], None]]) -> None:
    """``target`` as a directory of symlinks to ``source``'s entries; ``own`` paths (relative) are made by the
    given function instead, and each of their parent directories is a real directory of symlinks."""
    target.mkdir(parents=True, exist_ok=True)
    inner: dict[str, dict[str, Callable[[Path], None]]] = {}
    for relative, make in own.items():
        head, _, rest = relative.partition("/")
        if rest:
            inner.setdefault(head, {})[rest] = make
    for entry in sorted(source.iterdir()):
        if entry.name in own or entry.name in inner:
            continue
        (target / entry.name).symlink_to(entry)
    for name, nested in inner.items():
        symlink_tree(source / name, target / name, nested)
    for relative, make in own.items():
        if "/" not in relative:
            make(target / relative)


class PhpApp:
    """One application: ``setup()`` once, ``start()``; then ``url``, ``records()``, ``drop_sessions()``."""

    name = ""
    package_dir = Path("/")
    entry = ""  # a file of the package that must exist
    login_page = "/"
    # Paths a logged-in user loads; "{username}" stands for the account's name (Adminer's URLs name it).
    protected_pages: tuple[str, ...] = ()
    # Whether the login page is itself protected: phpMyAdmin shows its login form in place of any page.
    login_page_protected = False

    def __init__(self, mariadb: MariaDB, base: Path, accounts: dict[str, str] | None = None, api_key: str = ""):
        self.mariadb = mariadb
        self.dir = base / self.name
        self.accounts = dict(accounts or ACCOUNTS)
        self.api_key = api_key or f"php-apps-{secrets.token_hex(6)}"
        self.root = self.dir / "root"
        self.sessions = self.dir / "sessions"
        self.tmp = self.dir / "tmp"
        self.log = self.dir / "requests.jsonl"
        self.errors = self.dir / "php-errors.log"
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.output = self.dir / "server-output.log"
        self.setup_seconds: float | None = None
        self.start_seconds: float | None = None
        self._set_up = False

    # -- what a test uses -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{self.name} is not started")
        return f"http://127.0.0.1:{self.port}"

    def pages_for(self, username: str) -> list[str]:
        """``protected_pages`` for one account."""
        return [page.format(username=username) for page in self.protected_pages]

    def records(self, since: int = 0) -> list[dict]:
        """The request log's records (one per request the application answered), from number ``since`` on."""
        return [json.loads(line) for line in whole_lines(self.log)[since:] if line.strip()]

    def mark(self) -> int:
        """How many records there are now: ``records(since=mark)`` are the ones after it."""
        return len(whole_lines(self.log))

    def wait_for_records(self, count: int, since: int = 0, timeout: float = 10.0) -> list[dict]:
        """The records after ``since`` once there are at least ``count`` of them (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.records(since)
            if len(records) >= count:
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {len(records)} of {count} records after {timeout} s: {records}")
            self._pause()

    def clear_records(self) -> None:
        self.log.write_text("")

    def drop_sessions(self) -> None:
        """Every logged-in session invalid at once: PHP's session files are deleted."""
        for path in self.sessions.iterdir():
            path.unlink(missing_ok=True)

    def reset(self) -> None:
        """As after start: no record in the log, nobody logged in (what the per-test fixture does)."""
        self.drop_sessions()
        self.clear_records()

    def php_errors(self) -> str:
        return self.errors.read_text(errors="replace") if self.errors.exists() else ""

    # -- setting up and serving --------------------------------------------------------------------------
    @classmethod
    def missing(cls) -> list[str]:
        """What this machine lacks to run the application (empty: nothing)."""
        return [] if (cls.package_dir / cls.entry).is_file() else [f"{cls.package_dir / cls.entry} (apt: {cls.name})"]

    def setup(self) -> None:
        """The application's configuration and its database/users; once, before the first start."""
        started = time.monotonic()
        for directory in (self.dir, self.sessions, self.tmp):
            directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.configure()
        self._set_up = True
        self.setup_seconds = time.monotonic() - started

    def configure(self) -> None:
        raise NotImplementedError

    def on_port(self, port: int) -> None:
        """The application learns its address (before each start)."""

    def docroot(self) -> Path:
        return self.root

    def php_options(self) -> list[str]:
        socket_path = str(self.mariadb.socket)
        options = {
            "session.save_path": str(self.sessions),
            "upload_tmp_dir": str(self.tmp),
            "sys_temp_dir": str(self.tmp),
            "mysqli.default_socket": socket_path,
            "pdo_mysql.default_socket": socket_path,
            "opcache.enable_cli": "1",
            "display_errors": "0",
            "log_errors": "1",
            "error_log": str(self.errors),
            "sendmail_path": "/bin/true",
        }
        return [arg for name, value in options.items() for arg in ("-d", f"{name}={value}")]

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "PHP_CLI_SERVER_WORKERS": str(WORKERS),
            "PHP_APPS_APP": self.name,
            "PHP_APPS_ROOT": str(self.docroot()),
            "PHP_APPS_LOG": str(self.log),
            "PHP_APPS_API_KEY": self.api_key,
        }

    def start(self) -> PhpApp:
        if not self._set_up:
            self.setup()
        started = time.monotonic()
        for attempt in range(PORT_ATTEMPTS):
            if attempt:
                self.port = free_port()  # another process took the one chosen: the server could not bind it
            self.on_port(self.port)
            output_from = self.output.stat().st_size if self.output.exists() else 0
            with open(self.output, "ab") as output:
                self.process = processes.start(
                    [
                        "php",
                        *self.php_options(),
                        "-S",
                        f"127.0.0.1:{self.port}",
                        "-t",
                        str(self.docroot()),
                        str(ROUTER),
                    ],
                    cwd=self.dir,
                    env=self.environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_ready(output_from):
                self.clear_records()  # the readiness probes
                self.start_seconds = time.monotonic() - started
                return self
        raise RuntimeError(f"{self.name}: PHP's server did not start on a free port:\n{self.server_output()[-4000:]}")

    def server_output(self, start: int = 0) -> str:
        """What PHP's server printed (from byte ``start`` on): one line per request, errors of its own."""
        if not self.output.exists():
            return ""
        with open(self.output, "rb") as output:
            output.seek(start)
            return output.read().decode(errors="replace")

    def _pause(self) -> None:
        """The pause between two looks at a condition; returns at once when the server has exited."""
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.02)
        else:
            time.sleep(0.02)

    def _wait_ready(self, output_from: int) -> bool:
        """True once the server says it listens and the login page answers 200; False when it could not bind
        its port (another process took it since free_port() chose it), so that start() tries another one."""
        deadline = time.monotonic() + READY_TIMEOUT
        listening = f"Development Server (http://127.0.0.1:{self.port}) started"
        while time.monotonic() < deadline:
            output = self.server_output(output_from)
            if listening in output:  # printed once bound: what answers on the port is this server
                status = self._probe()
                if status == 200:
                    return True
                if status is not None:
                    raise RuntimeError(
                        f"{self.name}: {self.login_page} answered {status}:\n{self.php_errors()[-4000:]}"
                    )
            self._pause()
            if self.process.poll() is not None:
                if "Address already in use" in self.server_output(output_from):
                    return False
                raise RuntimeError(f"{self.name}: PHP's server exited with {self.process.returncode}:\n{output}")
        self.stop()
        raise RuntimeError(f"{self.name}: no answer from {self.url}{self.login_page} in {READY_TIMEOUT} s")

    def _probe(self) -> int | None:
        """The status of GET login_page, or None when nothing answers yet."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
                request = f"GET {self.login_page} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nConnection: close\r\n\r\n"
                connection.sendall(request.encode())
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
        except OSError:
            return None
        try:
            return int(answer.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return None

    def stop(self) -> None:
        """Stops the server and its workers (one process group, started by start())."""
        if self.process is not None:
            processes.stop(self.process, STOP_TIMEOUT)
        self.process = None


class WordPress(PhpApp):
    """WordPress 6.1 (Debian's ``wordpress``), installed by ``wp_install.php`` with WordPress's own functions.

    The first account is the administrator, the others are subscribers. A session is a row of the user's
    ``session_tokens`` usermeta (checked on every request), so drop_sessions() deletes those rows.
    """

    name = "wordpress"
    package_dir = Path("/usr/share/wordpress")
    entry = "wp-login.php"
    login_page = "/wp-login.php"
    protected_pages = ("/wp-admin/", "/wp-admin/profile.php")
    database = "wordpress"
    table_prefix = "wp_"

    def configure(self) -> None:
        self.db_password = f"wp-db-{secrets.token_hex(8)}"
        self.mariadb.create_database(self.database)
        self.mariadb.create_user("wordpress", self.db_password, self.database)
        self.salts = {name: secrets.token_hex(32) for name in SALTS}
        symlink_tree(self.package_dir, self.root, {"wp-config.php": lambda path: None, "wp-content": self._content})
        self._write_config(self.port)
        environment = {
            **self.environment(),
            "PHP_APPS_URL": f"http://127.0.0.1:{self.port}",
            "PHP_APPS_ACCOUNTS": json.dumps(self.accounts),
        }
        installed = subprocess.run(
            ["php", *self.php_options(), str(WP_INSTALL)],
            cwd=self.dir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if installed.returncode != 0:
            raise RuntimeError(
                f"WordPress install failed:\n{installed.stdout}\n{installed.stderr}\n{self.php_errors()}"
            )
        self.user_ids = json.loads(installed.stdout.strip().splitlines()[-1])

    def _content(self, path: Path) -> None:
        """wp-content: WordPress's plugins index, no plugin, no theme (login and admin screens need none)."""
        for name in ("plugins", "themes", "uploads", "languages"):
            (path / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(self.package_dir / "wp-content" / "plugins" / "index.php", path / "index.php")

    def on_port(self, port: int) -> None:
        self._write_config(port)

    def _write_config(self, port: int) -> None:
        salts = "".join(f"define({quote_php(name)}, {quote_php(value)});\n" for name, value in self.salts.items())
        url = f"http://127.0.0.1:{port}"
        (self.root / "wp-config.php").write_text(
            "<?php\n"
            "// Written by tests/php_apps/apps.py: this test's WordPress (the router defines ABSPATH as this tree).\n"
            f"define('DB_NAME', {quote_php(self.database)});\n"
            "define('DB_USER', 'wordpress');\n"
            f"define('DB_PASSWORD', {quote_php(self.db_password)});\n"
            f"define('DB_HOST', {quote_php('localhost:' + str(self.mariadb.socket))});\n"
            "define('DB_CHARSET', 'utf8mb4');\n"
            "define('DB_COLLATE', '');\n"
            f"{salts}"
            f"$table_prefix = {quote_php(self.table_prefix)};\n"
            f"define('WP_HOME', {quote_php(url)});\n"
            f"define('WP_SITEURL', {quote_php(url)});\n"
            "define('WP_CONTENT_DIR', ABSPATH . 'wp-content');\n"
            "// Only loopback here: no update checks, no cron requests to itself, no calls out.\n"
            "define('WP_HTTP_BLOCK_EXTERNAL', true);\n"
            "define('DISABLE_WP_CRON', true);\n"
            "define('AUTOMATIC_UPDATER_DISABLED', true);\n"
            "define('WP_AUTO_UPDATE_CORE', false);\n"
            "define('WP_DEBUG', false);\n"
            "require_once ABSPATH . 'wp-settings.php';\n"
        )

    def drop_sessions(self) -> None:
        super().drop_sessions()
        self.mariadb.sql(f"DELETE FROM `{self.table_prefix}usermeta` WHERE meta_key = 'session_tokens';", self.database)


class PhpMyAdmin(PhpApp):
    """phpMyAdmin 5.2 (Debian's ``phpmyadmin``), cookie authentication: the accounts are MariaDB users.

    A login is the PHP session (the key that decrypts the pmaAuth-1 cookie lives in it): drop_sessions()
    deletes the session files.
    """

    name = "phpmyadmin"
    package_dir = Path("/usr/share/phpmyadmin")
    entry = "index.php"
    login_page = "/index.php"
    protected_pages = ("/index.php?route=/", "/index.php?route=/database/structure&db=appdb")
    login_page_protected = True
    database = "appdb"

    def configure(self) -> None:
        create_app_database(self.mariadb, self.database, self.accounts)
        config = self.dir / "config.inc.php"
        vendor = self.package_dir / "libraries" / "vendor_config.php"
        symlink_tree(
            self.package_dir,
            self.root,
            {
                "libraries/vendor_config.php": lambda path: path.write_text(
                    "<?php\n"
                    "// Written by tests/php_apps/apps.py: Debian's vendor settings, this test's config and temp dir.\n"
                    f"$vendor = require {quote_php(str(vendor))};\n"
                    f"$vendor['configFile'] = {quote_php(str(config))};\n"
                    f"$vendor['tempDir'] = {quote_php(str(self.tmp) + '/')};\n"
                    "return $vendor;\n"
                ),
            },
        )
        config.write_text(
            "<?php\n"
            "// Written by tests/php_apps/apps.py: one server, this test's MariaDB, on its socket.\n"
            f"$cfg['blowfish_secret'] = {quote_php(secrets.token_hex(16))};\n"
            "$cfg['Servers'][1]['auth_type'] = 'cookie';\n"
            "$cfg['Servers'][1]['host'] = 'localhost';\n"
            "$cfg['Servers'][1]['connect_type'] = 'socket';\n"
            f"$cfg['Servers'][1]['socket'] = {quote_php(str(self.mariadb.socket))};\n"
            "$cfg['Servers'][1]['AllowNoPassword'] = false;\n"
            f"$cfg['TempDir'] = {quote_php(str(self.tmp))};\n"
            "$cfg['VersionCheck'] = false;\n"
            "$cfg['SendErrorReports'] = 'never';\n"
            "$cfg['UploadDir'] = '';\n"
            "$cfg['SaveDir'] = '';\n"
        )


class Adminer(PhpApp):
    """Adminer 4.8 (Debian's ``adminer``, its single-file ``adminer.php``): the accounts are MariaDB users.

    A login is the password kept in the PHP session (``$_SESSION['pwds']``), for the user the URL names:
    every page of a logged-in user has ``?username=<name>``. drop_sessions() deletes the session files.
    Adminer also locks an address out after 30 failed logins in 30 minutes (``adminer.invalid`` in its
    temporary directory): forget_failed_logins() deletes that file.
    """

    name = "adminer"
    package_dir = Path("/usr/share/adminer")
    entry = "adminer.php"
    login_page = "/adminer.php"
    protected_pages = ("/adminer.php?username={username}", "/adminer.php?username={username}&db=appdb")
    database = "appdb"

    def configure(self) -> None:
        create_app_database(self.mariadb, self.database, self.accounts)

    def docroot(self) -> Path:
        return self.package_dir  # Debian's own "standalone" way (README.Debian); nothing to configure

    def forget_failed_logins(self) -> None:
        (self.tmp / "adminer.invalid").unlink(missing_ok=True)

    def reset(self) -> None:
        super().reset()
        self.forget_failed_logins()


def quote_php(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_app_database(mariadb: MariaDB, database: str, accounts: dict[str, str]) -> None:
    """The database the MariaDB accounts share (once per MariaDB), with a table to look at."""
    mariadb.create_database(database)
    mariadb.sql(
        "CREATE TABLE IF NOT EXISTS notes (id INT PRIMARY KEY AUTO_INCREMENT, body VARCHAR(200) NOT NULL);\n"
        "INSERT INTO notes (body) SELECT 'a note' FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM notes);",
        database,
    )
    for user, password in accounts.items():
        mariadb.create_user(user, password, database)


APPS: dict[str, type[PhpApp]] = {app.name: app for app in (WordPress, PhpMyAdmin, Adminer)}


def missing(name: str) -> list[str]:
    """What this machine lacks for one application, MariaDB and PHP included (empty: it can run)."""
    return [
        *php_missing(),
        *(f"{program} (apt: mariadb-server)" for program in missing_programs()),
        *APPS[name].missing(),
    ]
