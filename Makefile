# Mask Studio: `make run` starts the app, `make test` runs every test. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
export MASK_STUDIO_WORKSPACE ?= $(CURDIR)/workspace
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format venv test-deps chromium bench starter screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.app-deps: requirements.txt requirements-nodeps.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

$(VENV)/.test-deps: requirements-test.txt $(VENV)/.app-deps
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.app-deps

test-deps: $(VENV)/.test-deps chromium

chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

run: $(VENV)/.app-deps
	mkdir -p "$(MASK_STUDIO_WORKSPACE)"
	$(BIN)/streamlit run home.py --server.address 127.0.0.1 --server.port $(PORT)

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Two pytest-xdist workers (a test file stays on one worker, so its module fixtures, a trained
# model or an app server, are made once); `make test PYTEST_XDIST=` runs in one process.
PYTEST_XDIST ?= -n 2 --dist loadfile

test: test-deps lint
	$(BIN)/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# benchmarks/live.py drives Chromium through Playwright (the test extras); common.py is a library.
bench: test-deps
	@for f in $(filter-out benchmarks/common.py,$(wildcard benchmarks/*.py)); do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Remake models/starter/ from ../shared/data (2-3 minutes on 2 cores); see models/starter/card.md.
starter: $(VENV)/.app-deps
	$(BIN)/python -m core.training.starter_build $(STARTER_ARGS)

# Remake docs/img/ (the README's screenshots) from the running app on a temporary workspace:
# trains four short runs, then drives headless Chromium (about 3 minutes); tests/e2e/screenshots.py.
screenshots: test-deps
	$(BIN)/python -m tests.e2e.screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
