# The two commands a user needs: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3.11
UV_VERSION ?= 0.13.9
VENV := .venv
BIN := $(VENV)/bin
# What a deployment installs (requirements.lock: no test tools, no tracing): benchmarks run on it.
RUNTIME_VENV := .venv-runtime
# uv lives in its own venv: `uv pip sync` removes what the lock does not list, uv included.
UV := .uv/bin/uv
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: run test lint typecheck unit scaleout-test schemathesis bench clean install promtool nginx bytecode

run: $(VENV)/.synced bytecode
	mkdir -p var
	$(BIN)/linkedin-posts serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(VENV)/.synced lint typecheck unit

install: $(VENV)/.synced

lint: $(VENV)/.synced
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: $(VENV)/.synced
	$(BIN)/mypy

# Two test processes (pytest-xdist): each has its own databases; TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2

unit: $(VENV)/.synced promtool nginx bytecode
	$(BIN)/pytest -n $(TEST_WORKERS) --cov --cov-report=term --cov-fail-under=90 --durations=30 $(PYTEST_ARGS)

# The scale-out shape on this machine (tests/scaleout; `make test` runs it too): two API
# processes and a job worker behind nginx, on this machine's PostgreSQL and Redis (the
# LP_TEST_* URLs, else the defaults of ARCHITECTURE.md). As in CI, a service that does not
# answer fails the run rather than skipping it.
TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
scaleout-test: $(VENV)/.synced nginx bytecode
	CI=true LP_TEST_DATABASE_URL="$${LP_TEST_DATABASE_URL:-$(TEST_DATABASE_URL)}" \
		LP_TEST_REDIS_URL="$${LP_TEST_REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(BIN)/pytest tests/scaleout $(PYTEST_ARGS)

bench: $(RUNTIME_VENV)/.synced bytecode
	command -v wrk >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }
	command -v valgrind >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind; }
	$(RUNTIME_VENV)/bin/python bench/run.py $(BENCH_ARGS)

# The project's own modules (installed editable); compileall skips those already compiled.
bytecode:
	$(PYTHON) -m compileall -q src >/dev/null

# promtool checks deploy/prometheus in the tests; it comes with Debian's `prometheus` package.
promtool:
	command -v promtool >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }

# nginx checks deploy/nginx.conf in the tests (`nginx -t`); Debian's package. Installing it must
# not start Debian's own nginx on port 80: a policy-rc.d that refuses service starts is put in
# place for the install when the machine has none (Docker-built machines do), and a server
# started all the same is stopped.
nginx:
	{ command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 || { \
		made=; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made=1; fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx; \
		status=$$?; if [ -n "$$made" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		if [ -s /run/nginx.pid ]; then /usr/sbin/nginx -s quit; fi; \
		exit $$status; }

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One environment for run and test: the dev lock is a superset of the runtime lock. Bytecode is
# compiled once here (uv does not by default), as a deployment would: a process that compiles
# every module from source at start takes twice as long to start and ~10 MB more memory.
$(VENV)/.synced: requirements-dev.lock pyproject.toml | $(UV) $(BIN)/python
	$(UV) pip sync --compile-bytecode --python $(BIN)/python --require-hashes requirements-dev.lock
	$(UV) pip install --python $(BIN)/python --no-deps --editable .
	touch $@

$(RUNTIME_VENV)/bin/python:
	$(PYTHON) -m venv $(RUNTIME_VENV)

$(RUNTIME_VENV)/.synced: requirements.lock pyproject.toml | $(UV) $(RUNTIME_VENV)/bin/python
	$(UV) pip sync --compile-bytecode --python $(RUNTIME_VENV)/bin/python --require-hashes requirements.lock
	$(UV) pip install --python $(RUNTIME_VENV)/bin/python --no-deps --editable .
	touch $@

# Regenerate the locks after a change to pyproject.toml (versions and hashes, no addresses).
lock: | $(UV)
	$(UV) pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock
	$(UV) pip compile pyproject.toml --extra dev --extra otel --python-version 3.11 --generate-hashes -o requirements-dev.lock

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) .uv .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
