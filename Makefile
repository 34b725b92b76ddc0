# Both entry points build .venv from nothing, so a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit clean bench proto

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/alertwire serve

lint: $(STAMP)
	$(BIN)/ruff check alertwire tests bench
	$(BIN)/mypy alertwire bench

test: $(STAMP) lint
	bash scripts/ensure-system-deps
	$(BIN)/pytest -q --durations=15

# SPEC §10, side by side in one run: installs nginx, Alertmanager and wrk when missing.
bench: $(STAMP)
	bash bench/ensure-deps
	$(BIN)/python -m pip install --quiet 'py-spy==0.4.3'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Regenerate the checked-in gRPC modules from alertwire/sources/proto/kubearmor.proto.
proto: $(STAMP)
	bash scripts/gen-proto

clean:
	rm -rf $(VENV) .alertwire
