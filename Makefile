# Steward: `make run` starts the app with a consumer; `make test` runs lint and the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run serve test lint typecheck imports format migrate seed worker bench load fault clean js-tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp files re-install only when a requirements file changes.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

migrate: $(VENV)/.runtime
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo

# The address printed is the one the Procfile's web line listens on (PORT, default 5000).
# `exec` makes honcho the recipe's process itself: make passes a SIGTERM on to its child, so
# honcho receives it and stops web and worker (a shell in between would die alone and leave
# them running). Ctrl-C reaches honcho directly, as part of the terminal's process group.
define START
	@echo "Steward on http://127.0.0.1:$${PORT:-5000} (web + one Huey consumer). Ctrl-C stops both."
	@echo "Log in as admin@example.org with the password steward-demo-pass (README: Demo logins)."
	exec env PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile
endef

run: seed
	$(START)

# The same start without install, migrate or seed: for a database that is already set up.
serve:
	$(START)

worker: $(VENV)/.runtime
	$(BIN)/flask worker

# Style, then types over governance/, then the import contracts (layers, the closed engine;
# see ARCHITECTURE.md). All configured in pyproject.toml.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Types over governance/ (configured in pyproject.toml).
typecheck: $(VENV)/.dev
	$(BIN)/mypy

# The layers and the engine's independence from features (contracts in pyproject.toml).
imports: $(VENV)/.dev
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Two worker processes (pytest-xdist; tests/conftest.py gives each its own database, Redis
# database, queue and instance directory), then the tests marked serial on their own.
TEST_WORKERS ?= 2
test: lint js-tools
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal -m "not serial"
	$(BIN)/pytest -m serial

# axe-core for the accessibility browser test, from tests/js/package-lock.json (npm ci), again
# only when the lock changes. Without npm the step is left out and that test skips (CI installs
# npm and sets STEWARD_REQUIRE_SERVICES=1, where a skip fails).
JS_TOOLS := tests/js/node_modules/.installed
$(JS_TOOLS): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund
	touch $@

js-tools:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(JS_TOOLS); \
	else echo "npm not found: tests/js is not installed, the accessibility test will skip"; fi

# Prints engine figures (raw Huey vs Steward, latency), then page figures at 1k and 100k policies
# (server time, SQL statements, the ratio between the sizes) on the local Redis and PostgreSQL.
bench: $(VENV)/.dev
	$(BIN)/python -m bench.engine
	$(BIN)/python -m bench.pages

# The production layout on loopback under load for 60 s, then the database's invariants
# (needs the PostgreSQL and Redis above; see bench/README.md).
load: $(VENV)/.dev
	$(BIN)/python -m bench.load --seconds 60

# The same layout while a consumer is killed and Redis and PostgreSQL restart (on their own
# scratch servers); no 500, and the same invariants afterwards.
fault: $(VENV)/.dev
	$(BIN)/python -m bench.fault

# Screenshots of the main pages at 1366 and 390 px into static/screenshots/, on a fresh demo
# database (tests/browser/screenshots.py; ARGS="inbox --dark" for some pages or the dark scheme).
.PHONY: screenshots
screenshots: $(VENV)/.dev
	$(BIN)/python -m tests.browser.screenshots $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
