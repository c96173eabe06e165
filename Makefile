# Two commands matter: `make run` (the demo on embedded SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := constraints.txt
# Test processes: the suite mostly waits on servers, processes and browsers, so three workers
# keep two cores busy; idle workers take queued tests from busy ones (worksteal), and the long
# tests start first (tests/conftest.py).
TEST_WORKERS ?= 3

.PHONY: run test test-fast lint bench clean messages

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
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

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

# The dashboard's and the email pages' words: extract what the code marks, then bring every
# language's catalog up to date (new msgids arrive untranslated; removed ones are dropped).
# Translate the new entries in the .po files; tests/api/dashboard/test_page_catalogs.py checks.
BABEL_DOMAINS := dashboard:api/dashboard/locale pages:notifications/locale \
  validator:cycle_engine/spec/locale
messages: $(VENV)/.test-installed
	@for pair in $(BABEL_DOMAINS); do \
	  domain=$${pair%%:*}; dir=$${pair#*:}; \
	  $(BIN)/pybabel extract -F babel-$$domain.cfg -k N_ --no-location --sort-output -w 100 \
	    --omit-header -o $$dir/$$domain.pot . && \
	  for lang in es fr; do \
	    $(BIN)/pybabel update -i $$dir/$$domain.pot -d $$dir -D $$domain -l $$lang \
	      --init-missing --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date \
	      -w 100 || exit 1; \
	  done; \
	done
