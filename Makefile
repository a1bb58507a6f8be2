# Linli: `make run` starts the service, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The time-travel canary: the fast tests (no subprocesses, no browser; SQLite) again at
# instants where date code breaks — the last half hour of a year and the first minutes of the
# next in China, a night of the Spring Festival holiday, and a 调休 working Saturday.
CANARY_INSTANTS := 2026-12-31T23:30:00+08:00 2027-01-01T00:10:00+08:00 \
	2027-02-10T03:00:00+08:00 2026-10-10T10:00:00+08:00

.PHONY: run test canary check bench clean

run: $(STAMP)
	$(BIN)/linli serve

test: $(STAMP)
	$(BIN)/pytest

canary: $(STAMP)
	@for instant in $(CANARY_INSTANTS); do \
		echo "== time-travel canary: the fast tests as if it were $$instant"; \
		LINLI_TEST_TRAVEL=$$instant LINLI_TEST_DATABASE_URL= $(BIN)/pytest -q -m "not slow" \
			|| exit 1; \
	done

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Linli needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
