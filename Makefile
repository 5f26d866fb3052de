# Mask Studio: `make run` starts the app, `make test` runs every test. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
export MASK_STUDIO_WORKSPACE ?= $(CURDIR)/workspace
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck format venv test-deps chromium bench starter screenshots clean ray-head ray-stop

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

# Ray core for the cluster executor (core/training/ray_executor.py): the tests and `make ray-head`
# need it, the app does not. Constrained by requirements.txt so it moves no pinned version.
$(VENV)/.ray-deps: requirements-ray.txt $(VENV)/.app-deps
	$(BIN)/pip install --quiet -r requirements-ray.txt -c requirements.txt
	touch $@

venv: $(VENV)/.app-deps

test-deps: $(VENV)/.test-deps $(VENV)/.ray-deps chromium

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

# mypy over core/ and models/ (the files and settings are in pyproject.toml [tool.mypy]).
typecheck: $(VENV)/.test-deps
	$(BIN)/python -m mypy

# Two pytest-xdist workers (a test file stays on one worker, so its module fixtures, a trained
# model or an app server, are made once); `make test PYTEST_XDIST=` runs in one process.
PYTEST_XDIST ?= -n 2 --dist loadfile

test: test-deps lint typecheck
	$(BIN)/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# Every benchmark runs as `python -m benchmarks.<name>` from the root. Modules without a
# `__main__` block (common, frames, classifier_checks, scene_scoring) are libraries: skipped.
# live and annotate drive Chromium through Playwright (the test extras).
bench: test-deps
	@for f in benchmarks/*.py; do grep -q '^if __name__ == "__main__":' $$f || continue; \
	  name=$$(basename $$f .py); echo "== benchmarks.$$name"; $(BIN)/python -m benchmarks.$$name || exit 1; done

# Remake models/starter/ from ../shared/data (2-3 minutes on 2 cores); see models/starter/card.md.
starter: $(VENV)/.app-deps
	$(BIN)/python -m core.training.starter_build $(STARTER_ARGS)

# Remake docs/img/ (the README's screenshots) from the running app on a temporary workspace:
# trains four short runs, then drives headless Chromium (about 3 minutes); tests/e2e/screenshots.py.
screenshots: test-deps
	$(BIN)/python -m tests.e2e.screenshots

# A local Ray head to try the Ray executor: loopback only, 2 CPUs, no dashboard, token auth, its
# files in .ray-local/ (the token in .ray-local/auth_token). Then, in the shell that runs the app:
#   export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=$(CURDIR)/.ray-local/auth_token \
#          RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 MASK_STUDIO_RAY_ADDRESS=$$(cat .ray-local/address)
RAY_LOCAL := $(CURDIR)/.ray-local
RAY_ENV := RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=$(RAY_LOCAL)/auth_token RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
ray-head: $(VENV)/.ray-deps
	mkdir -p $(RAY_LOCAL) && chmod 700 $(RAY_LOCAL)
	test -s $(RAY_LOCAL)/auth_token || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $(RAY_LOCAL)/auth_token)
	tmp=$$(mktemp -d /tmp/ms-ray-head-XXXXXX) && echo $$tmp > $(RAY_LOCAL)/temp_dir && \
	$(RAY_ENV) $(BIN)/ray start --head --node-ip-address=127.0.0.1 --port=6379 --num-cpus=2 --num-gpus=0 \
		--include-dashboard=false --temp-dir=$$tmp --disable-usage-stats
	echo 127.0.0.1:6379 > $(RAY_LOCAL)/address
	@echo "Ray head on 127.0.0.1:6379. Point the app at it: see the comment above ray-head in the Makefile."

ray-stop:
	$(RAY_ENV) $(BIN)/ray stop
	test ! -s $(RAY_LOCAL)/temp_dir || rm -rf "$$(cat $(RAY_LOCAL)/temp_dir)"
	rm -f $(RAY_LOCAL)/temp_dir $(RAY_LOCAL)/address

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
