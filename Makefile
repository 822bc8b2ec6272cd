# Leadflow: the two commands are `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
LOCAL_STAMP := $(VENV)/.installed-local
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: dev test bench lint schema clean package

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# `make dev` needs the product and the local stack only; `make test` adds the test tools.
$(LOCAL_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(LOCAL_STAMP)

## Start the local stack (moto server + gateway + queue pollers + schedules) with demo data.
dev: $(LOCAL_STAMP)
	PORT=$(PORT) $(BIN)/leadflow dev --port $(PORT)

## Run the whole test suite (unit, integration on moto, end-to-end on the local stack).
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## Benchmarks: DynamoDB requests per operation, cold-start imports, CPU per lead (not timed tests).
bench: $(DEV_STAMP)
	$(BIN)/python -m tests.bench.run

lint: $(DEV_STAMP)
	$(BIN)/ruff check leadflow functions infra tests scripts/build_function.py

## Re-export graphql/schema.graphql from the code (a test fails when they drift).
schema: $(LOCAL_STAMP)
	LEADFLOW_STAGE=dev $(BIN)/python -c "from leadflow.api.schema import schema; print(schema.as_str())" > graphql/schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .leadflow

## The Lambda artifacts: `sam build` (Metadata BuildMethod: makefile) calls build-<LogicalId> with
## ARTIFACTS_DIR; `make package` builds every function into .aws-sam/package/<LogicalId>.
build-%:
	$(PYTHON) scripts/build_function.py $* "$(ARTIFACTS_DIR)"

package:
	rm -rf .aws-sam/package
	$(PYTHON) scripts/build_function.py --all .aws-sam/package
