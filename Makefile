# Two commands for a fresh clone: `make run` (the scenario suite against the embedded
# environment) and `make test` (the project's tests). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run run-compose test lint up down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/harness run scenarios

run-compose: $(STAMP)
	bash scripts/ci-docker.sh
	$(BIN)/harness images build
	$(BIN)/harness run scenarios --env compose

# The independent relay the tests run the pack against (tests/relays/node), when npm is there.
NODE_RELAY := tests/relays/node
NODE_STAMP := $(NODE_RELAY)/node_modules/.package-lock.json

$(NODE_STAMP): $(NODE_RELAY)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(NODE_RELAY) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the independent-relay test will be skipped"; fi

# The real socket.io-client the fidelity tests drive (tests/clients/js), when npm is there.
JS_CLIENTS := tests/clients/js
JS_STAMP := $(JS_CLIENTS)/node_modules/.package-lock.json

$(JS_STAMP): $(JS_CLIENTS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(JS_CLIENTS) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the socket.io-client fidelity tests will be skipped"; fi

test: $(STAMP) $(NODE_STAMP) $(JS_STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check harness seed fixtures tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

up: $(STAMP)
	$(BIN)/harness up --detach

down: $(STAMP)
	$(BIN)/harness down

clean:
	rm -rf $(VENV) .harness .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache $(NODE_RELAY)/node_modules $(JS_CLIENTS)/node_modules
