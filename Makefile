# The two commands a new user needs:
#   make run    installs what is missing and starts the platform on http://127.0.0.1:8000
#   make test   installs what is missing and runs the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
WEB_DIST := src/datacollect/web_dist/index.html
WEB_SOURCES := $(shell [ -d web ] && find web -path web/node_modules -prune -o -path web/src/client/schema.d.ts -prune -o -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' -o -name '*.html' -o -name 'package*.json' -o -name '*.config.*' -o -name '*.mjs' \) -print 2>/dev/null) $(wildcard src/datacollect/api/*.py src/datacollect/api/routers/*.py)

.PHONY: run test install web services browser lint bench clean

run: install web
	$(BIN)/datacollect up

test: install web services browser
	cd web && npm test
	@# the browser tests drive Playwright's own event loop, so they run in a pytest of their own
	$(BIN)/pytest -n 2 --ignore=tests/e2e -m "not faults" $(PYTEST_ARGS)
	@# the fault tests restart the shared PostgreSQL and Redis: one at a time, nothing else running
	$(BIN)/pytest -n 0 -m faults tests/distributed $(PYTEST_ARGS)
	$(BIN)/pytest -n 2 tests/e2e $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

web: $(WEB_DIST)

$(WEB_DIST): $(WEB_SOURCES) | install
	$(BIN)/datacollect openapi > web/openapi.json
	cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build
	@touch $@

services:
	@scripts/services.sh
	@scripts/imap.sh

browser:
	@scripts/browser.sh

lint: install
	$(BIN)/ruff check src tests bench

bench: install web services
	@scripts/wrk.sh
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) src/datacollect/web_dist web/node_modules
