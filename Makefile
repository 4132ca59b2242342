# The two commands people run: `make demo` and `make test`. Both set up first (idempotently).
.PHONY: setup demo test test-slow test-all lint format typecheck bench schema clean

VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest

setup:
	./scripts/setup

demo: setup
	$(VENV)/bin/signet demo

test: setup
	$(PYTEST) -q

test-slow: setup
	$(PYTEST) -q -m slow

test-all: setup
	$(PYTEST) -q -m "not gpu and not jetson"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: setup
	$(VENV)/bin/mypy

bench: setup
	for b in bench/*.py; do $(PY) $$b || exit 1; done

schema: setup
	$(VENV)/bin/signet contract schema --out docs/contract

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
