# Two commands (README says what each needs; make test installs chromium and postgresql with apt-get):
#   make build   set up .venv (if needed), dbt build on the embedded sample, then write the report
#   make test    same set-up, then the linter (ruff) and the whole test suite
# Other targets: make lint | score-changes | report | docs | fuzz | bench | bench-transactions | bench-postgres | spark-build | test-spark | readers | sample | clean | help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VARS   ?=
N      ?= 10000,40000,50000,100000,1000000,10000000
TX_N   ?= 10m,100m
SPARK_N ?= 1m,10m
PG_N   ?= 1m

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

DBT_VARS := $(if $(VARS),--vars '$(VARS)',)

.PHONY: help setup setup-test setup-spark build run score-changes report docs lint test fuzz test-spark spark-build browser readers postgres-server bench bench-transactions bench-postgres sample clean

help:
	@sed -n '1,4p' Makefile

# --- environment -----------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.runtime-installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

setup: $(VENV)/.runtime-installed

setup-test: $(VENV)/.test-installed browser readers postgres-server

# Older DuckDB releases the tests open the serving database with, as BI tools bundle them:
# one virtual environment each, .venv-readers/duckdb-<version> (requirements-readers.txt).
READER_DUCKDB := 0.10.3 1.4.4
READERS := .venv-readers

$(READERS)/duckdb-%/.installed: requirements-readers.txt
	rm -rf $(READERS)/duckdb-$*
	$(PYTHON) -m venv $(READERS)/duckdb-$*
	$(READERS)/duckdb-$*/bin/python -m pip install --quiet --disable-pip-version-check duckdb==$* -r requirements-readers.txt
	touch $@

readers: $(foreach v,$(READER_DUCKDB),$(READERS)/duckdb-$(v)/.installed)

# Headless Chromium for the report check (Debian's package); installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser test..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL server for the PostgreSQL tests (they start their own with initdb and
# pg_ctl in a temporary folder); installed when missing.
postgres-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  echo "Installing Debian's postgresql for the PostgreSQL tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# --- the main job ----------------------------------------------------------------
build: setup
	@$(BIN)/dbt build $(DBT_VARS); status=$$?; \
	if [ $$status -eq 0 ]; then $(BIN)/python -m custseg.report || status=$$?; fi; \
	$(BIN)/python -m custseg.serving status; exit $$status

run: build

# The nightly run after a published build: score only the customers whose input changed
# (segment_mode score_changes; README "Running it every day"). Its own target path keeps
# dbt's parse warm from one night to the next.
comma := ,
CHANGES_VARS := $(if $(VARS),$(patsubst {%,{segment_mode: score_changes$(comma) %,$(VARS)),{segment_mode: score_changes})
score-changes: setup
	@$(BIN)/dbt build --selector score_changes --target-path target/score_changes --vars '$(CHANGES_VARS)'; status=$$?; \
	$(BIN)/python -m custseg.serving status; exit $$status

report: setup
	$(BIN)/python -m custseg.report

docs: setup
	$(BIN)/dbt docs generate $(DBT_VARS)
	@echo "Serve with: $(BIN)/dbt docs serve"

# --- tests -----------------------------------------------------------------------
# ruff (pinned in requirements-test.txt, configured in pyproject.toml) over src, scripts, tests, python_models.
lint: $(VENV)/.test-installed
	$(BIN)/ruff check .

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Property-based hostile input, many examples with a fresh seed (make test runs a few, fixed).
FUZZ_EXAMPLES ?= 200
fuzz: setup-test
	CUSTSEG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/python/test_fuzz.py -n 0 -p no:cacheprovider

# --- benchmark -------------------------------------------------------------------
bench: setup $(if $(SPARK_N),setup-spark)
	$(BIN)/python scripts/bench.py --sizes $(N) --spark-sizes $(SPARK_N)

# --- the spark target (needs Java 17+; installs the Spark extras on first use) --------
$(VENV)/.spark-installed: requirements-spark.txt $(VENV)/.runtime-installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.txt -r requirements-spark.txt
	touch $@

setup-spark: $(VENV)/.spark-installed

spark-build: setup-spark
	$(BIN)/python scripts/spark_build.py $(if $(VARS),--vars '$(VARS)')

test-spark: setup-test setup-spark
	$(BIN)/python -m pytest tests/spark -n 0 -W ignore::FutureWarning -W ignore::DeprecationWarning

bench-transactions: setup
	$(BIN)/python scripts/bench_transactions.py --sizes $(TX_N)

# PostgreSQL in and out at 1M customers (a throw-away server: needs `make postgres-server`).
bench-postgres: setup postgres-server
	$(BIN)/python scripts/bench_postgres.py --sizes $(PG_N)

# --- the embedded sample (committed; regenerate only when the generator changes) ---
sample: setup
	$(BIN)/python -m custseg.sample --rows 9000 --out seeds/custseg_sample_customers.csv

clean:
	rm -rf target logs dbt_packages reports customer_segmentation.duckdb customer_segmentation.duckdb.wal \
	       customer_segmentation.serving.duckdb customer_segmentation.duckdb.input-profile.json \
	       customer_segmentation.serving.parquet customer_segmentation.serving.parquet.*
