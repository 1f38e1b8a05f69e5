# Sanke: two commands on a fresh Debian machine with Python 3.11.
#   make demo   set up .venv and start the demo county
#   make test   set up .venv with dev tools, make sure Redis and PostgreSQL run, run every check
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STAMP_DEV := $(VENV)/.installed-dev

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

pytest: $(STAMP_DEV) services
	$(BIN)/pytest

check: lint typecheck layers

test: check pytest

bench: $(STAMP_DEV)
	$(BIN)/sanke bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
