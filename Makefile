# Village e-Line — the two commands: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PKGS := shop stock catalog ledger orders stations tourism institutions invoices reviews favourites search county admin demo

.PHONY: install install-dev run test test-pg lint format bench translations clean

# `make test-pg`: the local PostgreSQL and Redis (override e.g. `make test-pg PGPORT=5433 TEST_PG_DB=mine`)
PGHOST ?= 127.0.0.1
PGPORT ?= 5432
PGUSER ?= postgres
TEST_PG_DB ?= test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist: the suite in this many processes, a test file's tests together (each process has its own
# databases: tests/conftest.py); `make test TEST_WORKERS=0` runs it in one process
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python ## virtualenv + runtime dependencies + front-end assets + compiled translations
	$(BIN)/pip install -q -r requirements.txt
	sh scripts/assets.sh
	$(MAKE) translations

install-dev: $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	sh scripts/assets.sh
	$(MAKE) translations

translations:
	@for p in $(PKGS); do \
	  if [ -d $$p/translations ]; then $(BIN)/pybabel -q compile -f -d $$p/translations || exit 1; fi; \
	done

run: install ## migrate, load demo data, serve on http://127.0.0.1:5000
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install-dev ## the whole suite (PostgreSQL when TEST_DATABASE_URL is set, else SQLite)
	$(PYTEST) $(PYTEST_ARGS)

test-pg: install-dev ## the suite against the local PostgreSQL and Redis, PostgreSQL-only tests included
	@psql -h $(PGHOST) -p $(PGPORT) -U $(PGUSER) -d postgres -tAc \
	  "SELECT 1 FROM pg_database WHERE datname = '$(TEST_PG_DB)'" | grep -q 1 \
	  || psql -h $(PGHOST) -p $(PGPORT) -U $(PGUSER) -d postgres -qc 'CREATE DATABASE "$(TEST_PG_DB)"'
	TEST_DATABASE_URL=postgresql+psycopg://$(PGUSER)@$(PGHOST):$(PGPORT)/$(TEST_PG_DB) \
	TEST_REDIS_URL=$(TEST_REDIS_URL) \
	  $(PYTEST) $(PYTEST_ARGS)

lint: install-dev ## ruff (pyflakes, the no-private-names rule, the house format), mypy over the services packages, the import contracts (layers, no circles): pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: ## rewrite the code in the house format (ruff format, pyproject.toml)
	$(BIN)/ruff format .

bench: install-dev ## benchmark figures (see bench/README.md)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance .pytest_cache
