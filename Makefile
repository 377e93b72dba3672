# The two commands: `make run` (the whole system, embedded defaults) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast chaos lint migrate histories bench clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# A local .env (DEBUG=1, generated secrets), written once, so that README commands work in any new shell.
.env:
	$(PYTHON) ordersite/local_env.py

run: install .env
	$(BIN)/python manage.py run_stack

test: install
	$(BIN)/pytest

# The chaos suite (README "Reliability"): workers, the Temporal server, web workers and PostgreSQL killed or
# stopped under load, each scenario ending with the audit and `manage.py reconcile`. Stops and starts the local
# PostgreSQL cluster, so it needs PostgreSQL in DATABASE_URL and the rights to run pg_ctlcluster.
chaos: install
	$(BIN)/pytest -m chaos tests/chaos

# Everything but the end-to-end tests.
test-fast: install
	$(BIN)/pytest -m "not e2e"

# Throughput and latency through the REST API beside a bare Temporal skeleton (README "Performance");
# PostgreSQL when DATABASE_URL points at it. BENCH_ARGS passes options, e.g. BENCH_ARGS="--orders 100".
bench: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

# Refresh the current release's committed workflow histories (tests/histories/release-N) that
# tests/test_replay.py replays; earlier releases' histories are never rewritten.
histories: install
	RECORD_HISTORIES=1 $(BIN)/pytest tests/test_workflows.py tests/test_workflow_races.py tests/test_review_workflow.py

clean:
	rm -rf $(VENV) var staticfiles
