# Neo Events — `make help` lists the targets. Needs only python3 (3.11+) and make:
# uv is bootstrapped into .tools/ and installs everything else from uv.lock.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install run test check-browser vendor-web container-test lint fmt migrate bench soak fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Two stamps: serving needs only the production dependencies (`--no-dev`; `--inexact` leaves
# the test and lint tools alone when `make test` put them there first), the tools need the
# whole lock file (an exact sync, which also covers what serving needs, so it stamps both).
$(VENV)/.installed-serve: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --no-dev --inexact --python $(PYTHON)
	@touch $@

$(VENV)/.installed-dev: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@ $(VENV)/.installed-serve

install: $(VENV)/.installed-dev ## install the service and its test and lint tools from the lock file into .venv

migrate: $(VENV)/.installed-serve ## apply database migrations (DATABASE_URL, default SQLite in ./data)
	$(BIN)/neo-events migrate

run: migrate ## install what serving needs, migrate and serve on http://127.0.0.1:8000 (HOST, PORT, WORKERS change it)
	$(BIN)/neo-events serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

# The suite runs in TEST_WORKERS processes (pytest-xdist): most of its time is spent waiting on
# server processes, browsers and databases, so 4 beat 2 even on a two-core machine (14 minutes
# against 48 in one process here). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 4

test: install check-browser ## the whole suite (SQLite; also PostgreSQL/Redis when TEST_DATABASE_URL/TEST_REDIS_URL are set)
	$(BIN)/pytest -n $(TEST_WORKERS)

# The browser tests (tests/browser) drive Debian's Chromium; they never skip. Without it
# `make test` stops here and says how to get it (.ci/run installs it the same way).
check-browser:
	@test -x "$(CHROMIUM)" || { \
	  echo "make test: the web client's browser tests need Chromium at $(CHROMIUM)." >&2; \
	  echo "  Debian/Ubuntu: sudo apt-get install chromium   (or CHROMIUM=/path/to/chromium make test)" >&2; \
	  echo "  Without them: .venv/bin/pytest --ignore=tests/browser" >&2; \
	  exit 1; }

vendor-web: ## refresh the web client's vendored FullCalendar from the npm registry (needs npm)
	bash scripts/vendor-web.sh

container-test: install ## build the image and test compose.yaml's stack end to end (root; docs/development.md)
	bash tests/container/run.sh

lint: install ## ruff, formatting, mypy, and alembic check (models and migrations agree)
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/mypy
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  DATABASE_URL="sqlite+aiosqlite:///$$tmp/check.db" $(BIN)/neo-events migrate && \
	  DATABASE_URL="sqlite+aiosqlite:///$$tmp/check.db" $(BIN)/alembic check

fmt: install ## format and auto-fix
	$(BIN)/ruff format src tests migrations bench
	$(BIN)/ruff check --fix src tests migrations bench

fuzz: install ## a longer schemathesis run (FUZZ_EXAMPLES per operation, default 200)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/pytest -q tests/test_fuzz.py

bench: install ## load benchmarks: datasets, wrk runs, report (BENCH_SIZES="10k 100k 1m"; see BENCHMARKS.md)
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL-$${TEST_DATABASE_URL-}} $(BIN)/python -m bench all

soak: install ## 10 minutes of mixed load on 2 workers (BENCH_SIZE, default 100k; not in CI)
	$(BIN)/python -m bench soak --size $${BENCH_SIZE:-100k}

clean: ## remove the virtualenvs (keeps ./data)
	rm -rf $(VENV) $(TOOLS)
