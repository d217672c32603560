# The README's two commands: `make run` (the local stack) and `make test` (everything CI runs).
# Each sets itself up on a fresh machine: virtual environments from pinned requirements, made on first use.
# `make run` installs only what running needs (requirements/run.txt); `make test` and the other dev
# targets add the tools (requirements/dev.txt). `make help` lists every target: the `## ` comments.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
# `sam build` for python3.12 finds it through pyenv; the app itself also runs on 3.11.
export PYENV_VERSION ?= 3.11.7:3.12.1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.DEFAULT_GOAL := help
.PHONY: help run test lint unit integration e2e browser install-chromium check-template bench-engine bench-load clean chaos check-conservation

# one marker per set of requirements: `make run` then `make test` adds the dev tools to the same venv
RUN_REQUIREMENTS := requirements/run.txt layers/shared/requirements.txt functions/api/requirements.txt
RUN_READY := $(VENV)/.installed-run
DEV_READY := $(VENV)/.installed-dev

# pip's own output is a page per package: show one line per package collected, then the count
define pip_install
	@set -o pipefail; started=$$SECONDS; \
	$(1) -m pip install --progress-bar off -r $(2) \
	  | awk '/^Collecting / {printf "    %s\n", $$2; fflush()} \
	         /^Successfully installed/ {printf "    installed %d packages", NF - 2}' \
	&& echo " in $$((SECONDS - started)) s"
endef

$(RUN_READY): $(RUN_REQUIREMENTS)
	@echo "Setting up $(VENV) for make run (requirements/run.txt; the first time takes a minute or so)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(call pip_install,$(PY),requirements/run.txt)
	touch $@

$(DEV_READY): $(RUN_READY) requirements/dev.txt
	@echo "Adding the tests' and linters' tools to $(VENV) (requirements/dev.txt)"
	$(call pip_install,$(PY),requirements/dev.txt)
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	@echo "Setting up $(SAM_VENV) for the SAM CLI (requirements/sam.txt)"
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(call pip_install,$(SAM_VENV)/bin/python,requirements/sam.txt)
	touch $@

help: ## this list: every target, one line each
	@echo "make <target>; settings such as API_PORT or STARTING_CASH: the README's Configuration"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-zA-Z0-9_-]*:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# `make run` keeps its market in LOCAL_STATE_DIR (default .local/state; set it empty to keep nothing)
STATE_ENV = LOCAL_STATE_DIR="$${LOCAL_STATE_DIR-$(CURDIR)/.local/state}"

run: $(RUN_READY) ## the whole system on loopback (REST :8000, WebSocket :8001); keeps its state
	$(STATE_ENV) $(PY) -m local_stack

# empties make run's LOCAL_STATE_DIR: the next start is an empty market
.PHONY: reset
reset: $(RUN_READY) ## empty make run's state folder: the next start is an empty market
	$(STATE_ENV) $(PY) -m local_stack reset

# Three pytest processes: moto keeps its state per process, and the integration tier's mock_aws
# resets it, so the tier that runs the local stack (e2e + security) gets a process of its own; the
# short chaos run starts a stack of its own (with faults) as a child process.
# The browser tier (the trading screen in headless Chromium) has a process and a local stack of its own.
test: $(DEV_READY) $(SAM_VENV)/.installed install-chromium lint check-template ## everything CI runs: lint, mypy, template checks, every test tier
	$(PY) -m pytest tests/unit tests/integration
	$(PY) -m pytest tests/e2e tests/security
	$(PY) -m pytest tests/browser
	$(PY) -m pytest tests/chaos

lint: $(DEV_READY) ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m mypy

check-template: $(DEV_READY) $(SAM_VENV)/.installed ## template.yaml: sam validate, cfn-lint, the deploy rehearsal
	bash tools/check_template.sh

unit: $(DEV_READY) ## the unit tests
	$(PY) -m pytest tests/unit

integration: $(DEV_READY) ## the integration tests (moto in-process)
	$(PY) -m pytest tests/integration

e2e: $(DEV_READY) ## the e2e and security tests (over HTTP and WebSocket against a local stack)
	$(PY) -m pytest tests/e2e tests/security

browser: $(DEV_READY) install-chromium ## the trading screen's tests in headless Chromium (against a local stack)
	$(PY) -m pytest tests/browser

# Debian's chromium for the browser tests, when it is missing: apt-get as root, or with sudo when that
# needs no password. Where it cannot be had, make goes on and the browser tests skip with the reason.
CHROMIUM ?= /usr/bin/chromium
install-chromium: ## Debian's chromium for the browser tests, when missing (apt-get, as root or with sudo)
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "WARNING: no apt-get here: no chromium, the browser tests will be skipped"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "WARNING: not root and no sudo: no chromium, the browser tests will be skipped"; exit 0; fi; \
	echo "Installing Debian's chromium for the browser tests (apt-get install -y chromium)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y -q chromium >/dev/null 2>&1 \
	  || { $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q chromium >/dev/null; } \
	  || echo "WARNING: apt-get could not install chromium: the browser tests will be skipped"; \
	test -x "$(CHROMIUM)" && echo "    $$($(CHROMIUM) --version 2>/dev/null)" || true

# A chaos run: its own local stack with every fault at 3%, traders over HTTP and WebSocket, then the
# conservation and WebSocket checks. ARGS="--orders 5000 --traders 30 --stocks 3 --seed 1 --faults ..."
chaos: $(DEV_READY) ## a fault-injected load run, then the conservation and WebSocket checks (ARGS=...)
	$(PY) -m tools.chaos $(ARGS)

# The money rules on a running local stack's table: MOTO_PORT=<port printed by make run>, or
# ARGS="--endpoint http://127.0.0.1:<port>"
check-conservation: $(DEV_READY) ## the money rules on a running stack's table (MOTO_PORT=... or ARGS=...)
	$(PY) -m tools.conservation $(ARGS)

bench-engine: $(DEV_READY) ## the matching engine's benchmark (ARGS=...)
	$(PY) benchmarks/run_engine_bench.py $(ARGS)

# The load benchmark: its own local stack, 20 traders over HTTP + WebSocket on 4 stocks, at a fixed
# rate and at saturation; AWS calls per order. ARGS="--help", e.g. ARGS="--preload 100000 --json out.json"
bench-load: $(DEV_READY) ## the load benchmark on its own local stack (ARGS="--help")
	$(PY) -m benchmarks.bench_load $(ARGS)

clean: ## remove build and tool caches (.aws-sam, .pytest_cache, ...); the venvs stay
	rm -rf .aws-sam .hypothesis .pytest_cache .ruff_cache .mypy_cache
