# The README's two commands: `make run` (the local stack) and `make test` (everything CI runs).
# Each sets itself up on a fresh machine: virtual environments from pinned requirements, made on first use.
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

.PHONY: run test lint unit integration e2e check-template bench-engine bench-load clean chaos check-conservation

$(VENV)/.installed: requirements/dev.txt layers/shared/requirements.txt functions/api/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q -r requirements/sam.txt
	touch $@

# `make run` keeps its market in LOCAL_STATE_DIR (default .local/state; set it empty to keep nothing)
STATE_ENV = LOCAL_STATE_DIR="$${LOCAL_STATE_DIR-$(CURDIR)/.local/state}"

run: $(VENV)/.installed
	$(STATE_ENV) $(PY) -m local_stack

# empties make run's LOCAL_STATE_DIR: the next start is an empty market
.PHONY: reset
reset: $(VENV)/.installed
	$(STATE_ENV) $(PY) -m local_stack reset

# Three pytest processes: moto keeps its state per process, and the integration tier's mock_aws
# resets it, so the tier that runs the local stack (e2e + security) gets a process of its own; the
# short chaos run starts a stack of its own (with faults) as a child process.
test: $(VENV)/.installed $(SAM_VENV)/.installed lint check-template
	$(PY) -m pytest tests/unit tests/integration
	$(PY) -m pytest tests/e2e tests/security
	$(PY) -m pytest tests/chaos

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m mypy

check-template: $(VENV)/.installed $(SAM_VENV)/.installed
	bash tools/check_template.sh

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed
	$(PY) -m pytest tests/integration

e2e: $(VENV)/.installed
	$(PY) -m pytest tests/e2e tests/security

# A chaos run: its own local stack with every fault at 3%, traders over HTTP and WebSocket, then the
# conservation and WebSocket checks. ARGS="--orders 5000 --traders 30 --stocks 3 --seed 1 --faults ..."
chaos: $(VENV)/.installed
	$(PY) -m tools.chaos $(ARGS)

# The money rules on a running local stack's table: MOTO_PORT=<port printed by make run>, or
# ARGS="--endpoint http://127.0.0.1:<port>"
check-conservation: $(VENV)/.installed
	$(PY) -m tools.conservation $(ARGS)

bench-engine: $(VENV)/.installed
	$(PY) benchmarks/run_engine_bench.py $(ARGS)

# The load benchmark: its own local stack, 20 traders over HTTP + WebSocket on 4 stocks, at a fixed
# rate and at saturation; AWS calls per order. ARGS="--help", e.g. ARGS="--preload 100000 --json out.json"
bench-load: $(VENV)/.installed
	$(PY) -m benchmarks.bench_load $(ARGS)

clean:
	rm -rf .aws-sam .hypothesis .pytest_cache .ruff_cache .mypy_cache
