# Leadflow: the two commands are `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: dev test bench lint schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Start the local stack (moto server + gateway + queue pollers + schedules) with demo data.
dev: $(STAMP)
	PORT=$(PORT) $(BIN)/leadflow dev --port $(PORT)

## Run the whole test suite (unit, integration on moto, end-to-end on the local stack).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## Benchmarks: DynamoDB requests per operation, cold-start imports, CPU per lead (not timed tests).
bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

lint: $(STAMP)
	$(BIN)/ruff check leadflow functions infra tests

## Re-export graphql/schema.graphql from the code (a test fails when they drift).
schema: $(STAMP)
	LEADFLOW_STAGE=dev $(BIN)/python -c "from leadflow.api.schema import schema; print(schema.as_str())" > graphql/schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .leadflow
