# The two commands of the README: `make run` and `make test`. Both create and reuse .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test lint parity install browser bench bench-quick fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m gateway serve

# The dashboard test drives Debian's Chromium: installed here when this user can (root with
# apt-get); otherwise that test skips locally and fails under CI=true.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian package) for the dashboard test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed: the dashboard browser test will be skipped"; fi; }

# Two pytest workers: most of the suite waits on sockets and databases, not on the CPU
# (a third does not shorten it: the fuzz run and the benchmark smoke test set the pace).
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --durations=15
	$(BIN)/python -m gateway lint
	$(BIN)/python -m gateway parity --database-url sqlite+aiosqlite:///var/parity.db
	$(BIN)/python -m gateway parity --database-url $(POSTGRES_URL)

# The benchmark (docs/benchmarks.md): wrk from Debian when it can be installed, else the
# harness's own Python load generator.
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || true
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench --full

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench --quick

# The suite's schemathesis run (tests/fuzz), with many more examples per operation and a new
# seed each time (FUZZ_SEED=<the report's seed> replays one).
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$${FUZZ_SEED:-random} \
	  $(BIN)/python -m pytest tests/fuzz -n 2 -p no:cacheprovider --timeout 0

lint: $(STAMP)
	$(BIN)/python -m gateway lint
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var
