# The two commands of the README: `make run` and `make test`. Both create and reuse .venv,
# installed from the lock file (requirements/README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Runtime, bench, test and dev pins: what install, run, test, bench and fuzz all use.
LOCK := requirements/dev.txt
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint parity install lock browser pgbouncer bench bench-quick fuzz clean

# Every pinned version from the lock, then the project itself with nothing left to resolve;
# a changed lock reinstalls.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -r $(LOCK)
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m gateway serve --host $(HOST) --port $(PORT)

# Rewrites requirements/dev.txt and requirements/runtime.txt (the image's) from pyproject.toml
# with uv: every other pin stays unless UPGRADE=1 (all to the newest allowed versions) or
# UPGRADE_PACKAGE=name (that one). runtime.txt takes dev.txt's versions, so the image runs
# what the suite tested.
UV_VERSION := 0.13.9
UV := $(VENV)/uv-$(UV_VERSION)/bin/uv
UV_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) \
  $(if $(UPGRADE_PACKAGE),--upgrade-package $(UPGRADE_PACKAGE))

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --target $(VENV)/uv-$(UV_VERSION) uv==$(UV_VERSION)

lock: $(UV)
	$(UV_COMPILE) pyproject.toml --extra dev -o requirements/dev.txt
	$(UV_COMPILE) pyproject.toml -c requirements/dev.txt -o requirements/runtime.txt

# The dashboard test drives Debian's Chromium: installed here when this user can (root with
# apt-get); otherwise that test skips locally and fails under CI=true.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian package) for the dashboard test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed: the dashboard browser test will be skipped"; fi; }

# The transaction-pooling tests (tests/pgbouncer/) drive Debian's PgBouncer, installed the
# same way.
pgbouncer:
	@sh scripts/install-pgbouncer.sh

# Two pytest workers: most of the suite waits on sockets and databases, not on the CPU
# (a third does not shorten it: the fuzz run and the benchmark smoke test set the pace).
# The static gates first (seconds), then the suite, then parity on SQLite, on PostgreSQL and
# through a private PgBouncer in transaction mode (as Supabase's pooled port 6543 is).
test: $(STAMP) browser pgbouncer
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -n 2 --durations=15
	$(BIN)/python -m gateway parity --database-url sqlite+aiosqlite:///var/parity.db
	$(BIN)/python -m gateway parity --database-url $(POSTGRES_URL)
	$(BIN)/python -m tests.support.pgbouncer --backend $(POSTGRES_URL) -- \
	  $(BIN)/python -m gateway parity --database-url '{url}'

# The benchmark (docs/benchmarks.md): wrk from Debian when it can be installed, else the
# harness's own Python load generator.
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
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

# The manifest lint, ruff (rules and formatting) and mypy: also the pre-commit hooks
# (.pre-commit-config.yaml).
lint: $(STAMP)
	$(BIN)/python -m gateway lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var
