# The two commands: `make run` (the whole system, embedded defaults) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser run test test-fast chaos lint migrate histories bench bench-waits clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# A local .env (DEBUG=1, generated secrets), written once, so that every documented command works in any new shell.
.env:
	$(PYTHON) ordersite/local_env.py

run: install .env
	$(BIN)/python manage.py run_stack

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here): installed when missing
# and this runs as root with apt-get; otherwise the one command to run is named.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "Chromium is missing: run 'sudo apt-get install chromium', then make test again" >&2; exit 1; }

test: install browser
	$(BIN)/pytest

# The chaos suite (docs/reliability.md): workers, the Temporal server, web workers and PostgreSQL killed or
# stopped under load, each scenario ending with the audit and `manage.py reconcile`. Stops and starts the local
# PostgreSQL cluster, so it needs PostgreSQL in DATABASE_URL and the rights to run pg_ctlcluster.
chaos: install
	$(BIN)/pytest -m chaos tests/chaos

# Everything but the end-to-end tests.
test-fast: install
	$(BIN)/pytest -m "not e2e"

# Throughput and latency through the REST API beside a bare Temporal skeleton (docs/performance.md);
# PostgreSQL when DATABASE_URL points at it. BENCH_ARGS passes options, e.g. BENCH_ARGS="--orders 100".
bench: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py bench $(BENCH_ARGS)

# Long polls beside everything else (docs/performance.md): 500 concurrent GET /orders/{id}/status?wait=60 on 500
# unfinished orders from 10 clients, on the default 2 web processes, while /healthz, the admin's order page and
# GET /orders/{id}/ are probed. BENCH_ARGS passes options, e.g. BENCH_ARGS="--wait 20".
bench-waits: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py bench_waits $(BENCH_ARGS)

# What scoring one order with the risk rules costs against a shop's history of a million orders
# (docs/performance.md): fills a PostgreSQL database of its own once (RISK_BENCH_DATABASE_URL, never DATABASE_URL's
# database; about 2 minutes), then scores 500 orders. BENCH_ARGS passes options to the scoring, e.g.
# BENCH_ARGS="--orders 1000 --explain".
RISK_BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/orders_million
RISK_BENCH_ORDERS ?= 1000000
.PHONY: bench-risk
bench-risk: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py fill_orders --database-url $(RISK_BENCH_DATABASE_URL) --orders $(RISK_BENCH_ORDERS)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py bench_risk --database-url $(RISK_BENCH_DATABASE_URL) $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

# Refresh the current release's committed workflow histories (tests/histories/release-N) that
# tests/workflows/test_replay.py replays; earlier releases' histories are never rewritten.
histories: install
	RECORD_HISTORIES=1 $(BIN)/pytest tests/workflows

clean:
	rm -rf $(VENV) var staticfiles
