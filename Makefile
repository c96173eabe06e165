# Two commands matter: `make run` (the demo on embedded SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := constraints.txt
# Test processes: the suite mostly waits on servers, processes and browsers, so three workers
# keep two cores busy.
TEST_WORKERS ?= 3

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[test]'
	touch $@ $(VENV)/.run-installed

# `make run PORT=8080`: one setting for the server and every link it prints.
PORT ?= 8000
HOST ?= 127.0.0.1

run: $(VENV)/.run-installed
	$(BIN)/cycle-engine init
	$(BIN)/cycle-engine demo
	$(BIN)/cycle-engine signin-link --manager --secret-file data/secret.key --base-url http://$(HOST):$(PORT)
	$(BIN)/cycle-engine key create --name make-run-admin --role admin --replace
	$(BIN)/cycle-engine serve --secret-file data/secret.key --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(TEST_WORKERS)

# The quick loop while developing: no browser, no processes, no scale runs (about a minute).
test-fast: $(VENV)/.test-installed
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "not (browser or process or slow)"

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
