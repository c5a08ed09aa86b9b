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

.PHONY: setup test test-all test-anvil test-brownie demo bench bench-simulate snapshots check-snapshots \
	check-snapshots-ci lock abi clean browser webapp web screenshots

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

test: setup browser
	$(BIN)/pytest -q -m "not anvil"
	$(BIN)/pytest -q -m anvil
	$(MAKE) --no-print-directory test-brownie
	$(MAKE) --no-print-directory check-snapshots-ci
	$(MAKE) --no-print-directory slither

# brownie's development network (anvil) listens on a free port, not 8545 (which may be taken): its
# network config lives in a private HOME (build/brownie-home), so the user's ~/.brownie is untouched
BROWNIE_HOME = $(CURDIR)/build/brownie-home
test-brownie: setup
	mkdir -p $(BROWNIE_HOME)
	HOME=$(BROWNIE_HOME) $(BIN)/brownie networks modify development \
		port=$$($(BIN)/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') >/dev/null
	HOME=$(BROWNIE_HOME) $(BIN)/brownie test tests/brownie

demo: setup
	$(BIN)/gridshare demo

bench: setup
	$(BIN)/python benchmarks/readings.py
	$(BIN)/python benchmarks/guarantees.py
	$(BIN)/python benchmarks/self_consumption.py
	$(BIN)/python benchmarks/market.py
	$(BIN)/python benchmarks/solidarity.py
	$(BIN)/python benchmarks/treasury.py

# gridshare simulate for 10, 50 and 100 households, 1 and 7 days, on embedded and anvil
bench-simulate: setup
	$(BIN)/python benchmarks/simulate.py --households 10,50,100 --days 1,7 --network anvil,embedded

# Gas snapshots: each gas benchmark measures once and writes benchmarks/snapshots/<name>.md (for
# people) and <name>.json (case -> gas, sorted: a change's diff shows what it costs), and rewrites the
# docs' generated gas blocks (benchmarks/docs_blocks.py). `make snapshots` writes them all (~9.5 min
# on this 2-core machine, simulate's 8 runs ~5 of it); `make check-snapshots` measures the same again
# (~8 min) and fails, with a table (case, committed, now, delta, %), on any difference, new or missing
# case. `make test` runs check-snapshots-ci (~3.7 min; ~5 when another job shares the cores): every
# benchmark in full (readings 21 s, guarantees 22, market 11, self_consumption 106, the month of 50
# meters on anvil 27-33), but simulate on 2 of its 8 runs (embedded 10 households 1 day, anvil 10
# households 7 days: 29 s); its 50-household and other runs (~4.8 min) are checked by
# `make check-snapshots` only. Wall times are never compared.
# tests/test_gas_snapshots.py (no EVM) checks the JSON against the markdown and the docs' blocks.
SNAPSHOTS := readings guarantees market solidarity treasury self_consumption self_consumption_month simulate
SNAPSHOT_ARGS_simulate := --households 10,50 --days 1,7 --network anvil,embedded
CI_SNAPSHOT_ARGS_simulate := --runs embedded:10:1,anvil:10:7
# $(call check_snapshots,ARGS-VARIABLE-PREFIX): check every benchmark with its arguments (falling back
# to SNAPSHOT_ARGS_<name>), report every difference, fail if any
# (a passing benchmark shows its last line, a failing one all its output with the diff table)
check_snapshots = status=0; log=$$(mktemp); $(foreach b,$(SNAPSHOTS),\
	echo "== benchmarks/$(b).py --check $(or $($(1)$(b)),$(SNAPSHOT_ARGS_$(b)))"; \
	$(BIN)/python benchmarks/$(b).py --check $(or $($(1)$(b)),$(SNAPSHOT_ARGS_$(b))) > $$log 2>&1 \
	&& tail -n 1 $$log || { status=1; cat $$log; };) rm -f $$log; exit $$status

snapshots: setup
	set -e; $(foreach b,$(SNAPSHOTS),$(BIN)/python benchmarks/$(b).py --write $(SNAPSHOT_ARGS_$(b));)

check-snapshots: setup
	@$(call check_snapshots,SNAPSHOT_ARGS_)

check-snapshots-ci: setup
	@$(call check_snapshots,CI_SNAPSHOT_ARGS_)

# Slither, static analysis of contracts/, in its own pinned environment .venv-slither
# (requirements-slither.lock, from tools/slither.in; `make lock-slither` refreshes it): apart from
# .venv so that its dependencies never move requirements.lock's pins, and so that the `solc` shim of
# solc-select (a dependency) stays off PATH. scripts/slither_check.py compiles contracts/ with the
# project's solc wrapper and compiler.py's settings, and fails on any finding of impact Medium or
# higher (SLITHER_IMPACT=high|low|...) not explained in docs/slither-triage.md (~30 s; its results
# are cached in build/slither/ until the sources, settings or tools change).
SLITHER_VENV := .venv-slither
SLITHER_IMPACT ?= medium
.PHONY: slither lock-slither invariants

# The one-claim invariant campaign on a real anvil (tests/test_invariants.py): hypothesis rules over
# readings, sharing, market, transfers, claims and certificates, the ledger checked after every
# step. `make test` runs it at its default size (>= 10,000 calls, ~3 min, in `pytest -m anvil`);
# this target runs a longer one (INVARIANT_EXAMPLES / INVARIANT_STEPS to choose;
# PLANT_BUG=settle|certify to see it catch a planted bug).
INVARIANT_EXAMPLES ?= 1000
invariants: setup
	INVARIANT_EXAMPLES=$(INVARIANT_EXAMPLES) $(BIN)/pytest -q -s tests/test_invariants.py

$(SLITHER_VENV)/.installed: requirements-slither.lock | $(VENV)/.installed
	test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(BIN)/uv pip sync -q --python $(SLITHER_VENV)/bin/python requirements-slither.lock
	touch $@

slither: setup $(SLITHER_VENV)/.installed
	$(SLITHER_VENV)/bin/python scripts/slither_check.py --impact $(SLITHER_IMPACT)

lock-slither: | $(VENV)/.installed
	$(BIN)/uv pip compile tools/slither.in -p 3.11 --generate-hashes -q -o requirements-slither.lock

abi: setup
	$(BIN)/gridshare compile --write-abi

# The members' web app (webapp/, docs/webapp.md): `make webapp` builds it into webapp/dist (esbuild,
# ~1 s); `make web` serves it for the devnet's community (run `gridshare devnet start` first, in
# another terminal). Its browser test (tests/test_webapp.py, in `make test`) drives Debian's
# Chromium (no browser download): `make browser` installs the package when it is missing (as root,
# or through sudo). `make screenshots` rewrites docs/webapp-*.png from that test.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

webapp: setup
	node webapp/build.mjs

web: webapp
	$(BIN)/gridshare --network anvil web --no-build

screenshots: setup browser
	GRIDSHARE_SCREENSHOTS=$(CURDIR)/docs $(BIN)/pytest -q tests/test_webapp.py

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 --generate-hashes -q -o requirements.lock

clean:
	rm -rf $(VENV) $(SLITHER_VENV) node_modules .solcx build
