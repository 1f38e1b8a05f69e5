# Sanke: two commands on a fresh Debian machine with Python 3.11.
#   make demo   set up .venv and start the demo county
#   make test   set up .venv with dev tools, make sure Redis and PostgreSQL run, run every check
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STAMP_DEV := $(VENV)/.installed-dev
STAMP_NODE := node_modules/.installed

.PHONY: demo serve test check lint typecheck layers pytest services bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { echo "Install Python 3.11 with venv (apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP) $@

# From the npm registry: livekit-client (pages, LiveKit backend) and s3rver (storage tests).
$(STAMP_NODE): package.json package-lock.json
	command -v npm >/dev/null || { echo "Install Node.js and npm (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(STAMP)
	$(BIN)/sanke demo

serve: $(STAMP)
	$(BIN)/sanke serve

services:
	bash scripts/ensure-services.sh

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

layers: $(STAMP_DEV)
	$(BIN)/lint-imports

pytest: $(STAMP_DEV) $(STAMP_NODE) services
	$(BIN)/pytest

check: lint typecheck layers

test: check pytest

bench: $(STAMP_DEV)
	$(BIN)/sanke bench

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
