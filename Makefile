# Both entry points build .venv from nothing, so a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/alertwire serve

lint: $(STAMP)
	$(BIN)/ruff check alertwire tests
	$(BIN)/mypy alertwire

test: $(STAMP) lint
	bash scripts/ensure-system-deps
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .alertwire
