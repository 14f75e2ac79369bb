# Event Sourced Bank: `make run` serves the bank, `make test` checks everything.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What the site needs to run (requirements.txt), and that plus the tools of
# tests, checks and benchmarks (requirements-dev.txt). Both are compiled from
# their .in files, every package pinned with its hashes (make requirements).
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev
# What the browser tests load into each page (axe-core), from the npm
# registry: package.json pins it, package-lock.json locks it, npm ci installs
# exactly that into node_modules/.
NODE_INSTALLED := node_modules/.installed
# Local development only: DEBUG on, the well-known development key.
DEV_ENV := DJANGO_DEBUG=1

.PHONY: install install-dev requirements run serve test lint screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(INSTALLED): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $(INSTALLED)

$(DEV_INSTALLED): requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(INSTALLED) $(DEV_INSTALLED)

$(NODE_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_INSTALLED)

install: $(INSTALLED)
install-dev: $(DEV_INSTALLED) $(NODE_INSTALLED)

## requirements: compile requirements.txt and requirements-dev.txt again from
##               their .in files (pip-compile: pinned, with hashes)
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
  --strip-extras --no-emit-index-url --no-emit-find-links
requirements: $(DEV_INSTALLED)
	$(PIP_COMPILE) requirements.in
	$(PIP_COMPILE) requirements-dev.in

## audit: re-add every event of the local bank (make run's) and check the books
.PHONY: audit
audit: install
	$(DEV_ENV) $(BIN)/python manage.py bank_audit

## run: migrate, add demo data if the bank is empty, serve http://127.0.0.1:8000
run: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py number_accounts
	$(DEV_ENV) $(BIN)/python manage.py bank_demo
	$(DEV_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

## serve: on PostgreSQL (DATABASE_URL=postgres://...): migrate, then gunicorn
##        with WEB_CONCURRENCY workers on BIND; web processes run no follower,
##        `manage.py run_processors` does (docs/DEPLOYMENT.md)
WEB_CONCURRENCY ?= 3
BIND ?= 127.0.0.1:8000
# Sync workers serve one request at a time: one connection per pool, the
# settings' default (docs/DEPLOYMENT.md, "Connection budget").
# Plain HTTP on BIND unless DJANGO_HTTPS=1 (behind a proxy that ends TLS).
WEB_ENV := ESBANK_PROCESS_INLINE=0 ESBANK_POLL_INTERVAL=0 \
  DJANGO_HTTPS=$${DJANGO_HTTPS:-0}
# No control socket: gunicorn's default is one path for every instance on
# the machine (~/.gunicorn/gunicorn.ctl), and nothing here uses it. No access
# log of gunicorn's: the site logs each request, with its id and the client's
# address (esbank_site/web/request_ids.py).
serve: install
	@case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; \
	  *) echo "make serve needs DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/NAME" \
	       "(see docs/DEPLOYMENT.md); make run is the SQLite bank."; exit 2;; esac
	$(WEB_ENV) $(BIN)/python manage.py migrate --noinput
	$(WEB_ENV) $(BIN)/gunicorn esbank_site.wsgi --workers $(WEB_CONCURRENCY) \
	  --bind $(BIND) --graceful-timeout 10 --no-control-socket

## lint: style, types, and imports that point one way (docs/ARCHITECTURE.md)
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

## test: lint, then the whole pytest suite (PostgreSQL cases need 127.0.0.1:5432)
##       on PYTEST_WORKERS processes (pytest-xdist; 0 runs it in this one)
PYTEST_WORKERS ?= 2
test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS)

## screenshots: retake the README's screenshots (docs/screenshots) in Chromium
screenshots: install-dev
	ESBANK_TEST_BROWSER=1 ESBANK_SCREENSHOTS=1 $(BIN)/pytest -q tests/browser/test_dashboard.py \
	  tests/browser/test_transfer_by_number.py tests/browser/test_event_stream.py

## bench: the benchmark suite, on PostgreSQL at 127.0.0.1:5432 (user postgres;
##        ESBANK_BENCH_POSTGRES_URL for another); makes and drops its own
##        databases, rewrites docs/BENCHMARKS.md and docs/benchmarks/*.png
.PHONY: bench
bench: install-dev
	$(BIN)/python -m bench
