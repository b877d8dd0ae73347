# The front door. Each target installs what it needs into .venv by itself.
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: catalogues run test test-sqlite test-postgres test-citus citus-up citus-down check lint typecheck contracts migrations bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

$(BIN)/carnet: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --quiet
	@touch $@

## run: the service on its embedded defaults (SQLite + files under ./var), with demo data
run: $(BIN)/carnet
	$(BIN)/carnet serve --demo --data-dir var

## test: every check and every test, on SQLite, and on PostgreSQL when one answers
test: $(BIN)/carnet
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	else echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL run skipped"; fi

# The gate, the decision and the trail are covered in full (issue 12), measured on the SQLite run.
COVERED := --cov=carnet.access.rules --cov=carnet.access.gate --cov=carnet.audit.trail \
	--cov-report=term-missing:skip-covered --cov-fail-under=100

test-sqlite: $(BIN)/carnet
	$(BIN)/pytest -q -p no:cacheprovider $(COVERED)

test-postgres: $(BIN)/carnet
	CARNET_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -p no:cacheprovider

## test-citus: the whole PostgreSQL tier on a local Citus cluster (scripts/citus.sh builds Citus
## from ../shared/vendor if missing and starts a coordinator and two workers): ~10 minutes here,
## each test emptying every shard. CITUS_TESTS names a subset, e.g. CITUS_TESTS="tests/access
## tests/audit" for the quick round; CITUS_PORT moves the cluster (CI uses its own).
CITUS_PORT ?= 9700
export CITUS_PORT
CITUS_URL ?= postgresql://postgres@127.0.0.1:$(CITUS_PORT)/postgres
CITUS_TESTS ?= tests
test-citus: $(BIN)/carnet citus-up
	CARNET_TEST_DATABASE_URL=$(CITUS_URL) CARNET_TEST_CITUS=1 \
		$(BIN)/pytest -q -p no:cacheprovider $(CITUS_TESTS)

citus-up:
	scripts/citus.sh up

citus-down:
	scripts/citus.sh down

## catalogues: extract the pages' texts (babel.cfg) and update the fr and en catalogues
catalogues: $(BIN)/carnet
	$(BIN)/python scripts/catalogues.py

## check: ruff, ruff format, mypy --strict, import-linter contracts, alembic check
check: lint typecheck contracts migrations

lint: $(BIN)/carnet
	$(BIN)/ruff check carnet tests bench
	$(BIN)/ruff format --check carnet tests bench

typecheck: $(BIN)/carnet
	$(BIN)/mypy carnet tests bench

contracts: $(BIN)/carnet
	$(BIN)/lint-imports

migrations: $(BIN)/carnet
	@rm -rf .check-db && CARNET_DATA_DIR=.check-db $(BIN)/python -m carnet.db.migrate check && rm -rf .check-db

## bench: every benchmark in full (long); BENCH_ARGS=--quick for a smoke run
bench: $(BIN)/carnet
	for b in bench/[!_]*.py; do $(BIN)/python $$b $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) .tools var .check-db .mypy_cache .ruff_cache
