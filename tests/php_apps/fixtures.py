"""pytest fixtures for the real PHP applications; a plugin that tests/conftest.py registers (pytest_plugins).

- ``php_apps_mariadb`` (session): the test session's one MariaDB.
- ``php_apps`` (session): ``php_apps.get(name)`` sets up and starts an application once per session.
- ``php_app`` (per test, by name through indirect parametrization)::

      @pytest.mark.parametrize("php_app", ["wordpress", "phpmyadmin", "adminer"], indirect=True)
      def test_something(php_app): ...

  a started application whose request log is empty, whose sessions are all dropped (Adminer: and its
  failed-login count forgotten): ``.url``,
  ``.login_page``, ``.protected_pages`` / ``.pages_for(username)``, ``.accounts``, ``.records()``,
  ``.wait_for_records(n)``, ``.drop_sessions()``, ``.api_key``.

Each skips when this machine lacks PHP, MariaDB or the application, and fails in CI: ``make php-apps``
installs them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.php_apps.apps import APPS, PhpApp, missing
from tests.php_apps.mariadb import MariaDB, missing_programs

INSTALL_HINT = "run `make php-apps` (as root, with apt-get)"


def skip_unless_available(name: str | None = None) -> None:
    """Skip when this machine lacks what the applications need; in CI (``CI`` set), fail instead:
    there ``make test`` installs them, and a run that skipped them would prove nothing."""
    lacking = missing(name) if name else [f"{program} (apt: mariadb-server)" for program in missing_programs()]
    if lacking:
        what = f"the real-app test ({name})" if name else "the real-app tests"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{what} need {', '.join(lacking)}: {INSTALL_HINT}")


class PhpApps:
    """The session's applications, each set up and started when a test first asks for it."""

    def __init__(self, mariadb: MariaDB, base: Path) -> None:
        self.mariadb = mariadb
        self.base = base
        self.started: dict[str, PhpApp] = {}
        self.timings: dict[str, float] = {}

    def get(self, name: str) -> PhpApp:
        if name not in APPS:
            raise ValueError(f"no PHP app {name!r}: one of {sorted(APPS)}")
        skip_unless_available(name)
        if name not in self.started:
            began = time.monotonic()
            self.started[name] = APPS[name](self.mariadb, self.base).start()
            self.timings[name] = time.monotonic() - began
        return self.started[name]

    def stop(self) -> None:
        for app in self.started.values():
            app.stop()
        self.started.clear()


@pytest.fixture(scope="session")
def php_apps_mariadb():
    skip_unless_available()
    server = MariaDB().start()  # in a short temporary directory of its own: its socket's path is limited
    yield server
    server.stop()


@pytest.fixture(scope="session")
def php_apps(php_apps_mariadb, tmp_path_factory):
    registry = PhpApps(php_apps_mariadb, tmp_path_factory.mktemp("php-apps"))
    yield registry
    registry.stop()


@pytest.fixture
def php_app(request, php_apps) -> PhpApp:
    """The application named by the test's indirect parameter, started, its log empty, no one logged in."""
    name = getattr(request, "param", None)
    if name is None:
        raise pytest.UsageError(
            'php_app needs a name: @pytest.mark.parametrize("php_app", ["wordpress"], indirect=True)'
        )
    app = php_apps.get(name)
    app.reset()
    return app
