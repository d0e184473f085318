"""Real PHP applications from Debian's packages (WordPress, phpMyAdmin, Adminer) for the tests that log in.

- :mod:`tests.php_apps.mariadb`: a MariaDB of the test's own (temporary directory, socket only).
- :mod:`tests.php_apps.apps`: one class per application, on PHP's built-in server with ``router.php``,
  which logs one JSON line per request (account served, protected page, Tideways header verdict).
- :mod:`tests.php_apps.fixtures`: the pytest fixtures (registered by tests/conftest.py).
- :mod:`tests.php_apps.forms`: each login form submitted by hand; ``python -m tests.php_apps.forms`` saves
  the forms and answers in /tmp/php_forms.

``make php-apps`` installs the packages; without them the tests skip.
"""
