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

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check harness seed fixtures tests
	$(BIN)/mypy

up: $(STAMP)
	$(BIN)/harness up --detach

down: $(STAMP)
	$(BIN)/harness down

clean:
	rm -rf $(VENV) .harness .pytest_cache .mypy_cache .ruff_cache
