# The two commands of the README: `make run` and `make test`. Both create and reuse .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test lint parity install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m gateway serve

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/python -m gateway lint
	$(BIN)/python -m gateway parity --database-url sqlite+aiosqlite:///var/parity.db
	$(BIN)/python -m gateway parity --database-url $(POSTGRES_URL)

lint: $(STAMP)
	$(BIN)/python -m gateway lint
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var
