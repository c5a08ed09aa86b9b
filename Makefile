# gridshare: `make test` and `make demo` set up everything they need, idempotently, from pinned
# versions (requirements.lock for Python, package-lock.json for npm), then run.
PYTHON ?= python3.11
VENV := .venv
BIN := $(abspath $(VENV)/bin)
UV_VERSION := 0.13.8
# The Solidity compiler comes from node_modules (solc as WebAssembly) through a solc-compatible
# wrapper that py-solc-x and brownie both call; anvil comes from node_modules too.
export SOLCX_BINARY_PATH := $(abspath .solcx)
export PATH := $(BIN):$(abspath node_modules/.bin):$(PATH)

.PHONY: setup test test-all test-anvil test-brownie demo bench bench-simulate lock abi clean

setup: $(VENV)/.installed node_modules/.installed .solcx/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync -q --python $(VENV)/bin/python requirements.lock
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python --no-deps -e .
	touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

.solcx/.installed: gridshare/toolchain/solc node_modules/.installed
	mkdir -p .solcx
	ln -sf ../gridshare/toolchain/solc .solcx/solc-v$$(node -p 'require("./node_modules/solc/package.json").version')
	touch $@

test: setup
	$(BIN)/pytest -q -m "not anvil"
	$(BIN)/pytest -q -m anvil
	$(MAKE) --no-print-directory test-brownie

test-brownie: setup
	$(BIN)/brownie test tests/brownie

demo: setup
	$(BIN)/gridshare demo

bench: setup
	$(BIN)/python benchmarks/readings.py
	$(BIN)/python benchmarks/guarantees.py
	$(BIN)/python benchmarks/self_consumption.py
	$(BIN)/python benchmarks/market.py

# gridshare simulate for 10, 50 and 100 households, 1 and 7 days, on embedded and anvil
bench-simulate: setup
	$(BIN)/python benchmarks/simulate.py --households 10,50,100 --days 1,7 --network anvil,embedded

abi: setup
	$(BIN)/gridshare compile --write-abi

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 --generate-hashes -q -o requirements.lock

clean:
	rm -rf $(VENV) node_modules .solcx build
