# Careline developer entry points. Every target installs what it needs into the repository
# (.venv, node_modules) by itself, so a fresh clone needs only Python >= 3.11, Node 20 and npm.
#
#   make local   run Careline locally (moto, FHIR dev server, gateway on http://127.0.0.1:8080)
#   make test    lint, type-check, and run every test and scenario (what CI runs)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
FHIR_STAMP := local/fhir-dev-server/node_modules/.installed

.PHONY: install local test lint typecheck unit integration infra e2e scenarios synth bench chromium clean

install: $(PY_STAMP) $(NODE_STAMP) $(FHIR_STAMP)

$(PY_STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/dev.lock -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(FHIR_STAMP): local/fhir-dev-server/package.json local/fhir-dev-server/package-lock.json
	npm ci --prefix local/fhir-dev-server --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium and its driver, for the browser tests (installed only when missing).
chromium:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing chromium and chromium-driver"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

local: install
	$(BIN)/careline local --port $(PORT)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy layers functions

# The scenarios run inside pytest (tests/test_scenarios.py); `make scenarios` prints their own tally.
test: install chromium lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup

unit: $(PY_STAMP)
	$(BIN)/python -m pytest tests/unit

integration: install
	$(BIN)/python -m pytest tests/integration

infra: install
	$(BIN)/python -m pytest tests/infra

e2e: install chromium
	$(BIN)/python -m pytest tests/e2e

scenarios: install
	$(BIN)/careline scenario run tests/scenarios

synth: install
	npx cdk synth --quiet

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) node_modules local/fhir-dev-server/node_modules cdk.out build .careline .pytest_cache .mypy_cache .ruff_cache
