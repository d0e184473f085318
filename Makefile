# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

demo: $(BIN)/installed  ## bake a project, load a local target, show what was traced
	$(BIN)/python -m scripts.demo

test: $(BIN)/installed  ## every test: the template's and each baked project's own
	$(BIN)/python -m pytest

lint: $(BIN)/installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .cache
