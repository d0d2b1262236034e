# `make demo`, `make test` and `make dev` each create .venv and install into it when needed, at the exact
# versions of requirements.lock (the versions the whole suite passed with; `make lock` refreshes it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LOCK := requirements.lock
UV := uv==0.13.9

export NYC_RENTAL_HOME ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster
# The UI listens on this machine only. UI_HOST=0.0.0.0 exposes it: it has no authentication of its own.
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
MLFLOW_PORT ?= 5000
SERVE_PORT ?= 5001
DOCS_PORT ?= 8000
# `dg` compares the active virtual environment with the project's .venv: make runs it as if .venv were activated.
DG := VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg

.PHONY: install lock demo test test-all dev prod prod-status prod-stop validate report promote clean-data mlflow-ui serve docs docs-serve \
	bench-startup bench-e2e bench-profile bench-backfill bench-production bench-warehouse bench-pool-wait bench-scale bench-quality bench-range bench-year bench-backlog

# uv (from PyPI, into the venv) installs the lock in a fraction of pip's time; plain pip is the fallback.
$(INSTALLED): pyproject.toml setup.py $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "nyc-rental needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if $(BIN)/python -m pip install --quiet "$(UV)"; then \
		$(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -c $(LOCK) -e ".[dev]"; \
	else \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev]"; \
	fi
	touch $@

# `dg dev`, `dg check defs` and `dagster dev` run in this folder read .env (Dagster loads it): the instance and
# data of `make dev`, unless the environment sets DAGSTER_HOME or NYC_RENTAL_HOME. Written when missing (make
# install, dev, validate): delete it after moving this folder (it holds its absolute path: DAGSTER_HOME must be).
.env:
	printf '%s\n' 'DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster}' 'NYC_RENTAL_HOME=$${NYC_RENTAL_HOME:-$(CURDIR)/data}' > $@

install: $(INSTALLED) .env

demo: $(INSTALLED)
	$(BIN)/nyc-rental demo --weeks 2 --rows 20000

# Everything that needs no `dagster dev` process but the real-data model comparison (two minutes), in two
# processes (pytest-xdist: each test has its own home and instance). test-all (CI runs it) runs every test that
# is not an integration test the same way, then the integration tests in one process (they start servers and
# time what they drive); it fails when either part fails, after running both.
test: $(INSTALLED)
	$(BIN)/python -m pytest -m "not integration and not slow" -n 2

test-all: $(INSTALLED)
	$(BIN)/python -m pytest -m "not integration" -n 2 --durations=10; unit=$$?; \
	$(BIN)/python -m pytest -m integration --durations=25; integration=$$?; \
	[ $$unit -eq 0 ] && [ $$integration -eq 0 ]

# Resolve the newest versions pyproject.toml allows into requirements.lock; run `make test-all` before committing it.
lock: $(INSTALLED)
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --upgrade --no-annotate \
		--custom-compile-command "make lock" -o $(LOCK)

# Dagster's `dg dev` (webserver, daemon and code server) on the project of pyproject.toml's [tool.dg]; the same
# instance and data as `dagster dev -w workspace.yaml`, which keeps working.
dev: $(INSTALLED) .env
	$(DG) dev --host $(UI_HOST) --port $(UI_PORT)

# The production profile as separate services supervised by supervisord (deploy/supervisord.conf;
# docs/production.md): Postgres behind Dagster's instance, the warehouse and MLflow's server, steps on Celery
# workers over RabbitMQ. The defaults suit this machine's local servers (Postgres with trust auth, RabbitMQ's
# guest account: no password in a URL); set any of these in the environment to point elsewhere. Ctrl-C stops
# every service; `make prod-status` and `make prod-stop` work from another terminal.
PG_SERVER ?= postgresql://postgres@127.0.0.1:5432
PROD_ENV := prod prod-status prod-stop
$(PROD_ENV): export NYC_RENTAL_PROD_HOME := $(abspath $(or $(NYC_RENTAL_PROD_HOME),.prod))
$(PROD_ENV): export DAGSTER_HOME := $(abspath $(or $(NYC_RENTAL_PROD_HOME),.prod))/dagster
prod: export NYC_RENTAL_PROD_HOST ?= 127.0.0.1
prod: export CODE_SERVER_PORT ?= 4000
prod: export UI_PORT := $(UI_PORT)
prod: export MLFLOW_PORT := $(MLFLOW_PORT)
prod: export MLFLOW_TRACKING_URI ?= http://$(or $(NYC_RENTAL_PROD_HOST),127.0.0.1):$(MLFLOW_PORT)
prod: export DAGSTER_PG_URL ?= $(PG_SERVER)/nyc_rental_dagster
prod: export NYC_RENTAL_WAREHOUSE_URL ?= $(PG_SERVER)/nyc_rental_warehouse
prod: export MLFLOW_BACKEND_STORE_URI ?= $(PG_SERVER)/nyc_rental_mlflow
prod: export NYC_RENTAL_CELERY_BROKER ?= pyamqp://127.0.0.1:5672//
prod: export NYC_RENTAL_CELERY_WORKERS ?= 2
prod: export NYC_RENTAL_EXECUTOR ?= celery
prod: export PATH := $(CURDIR)/$(BIN):$(PATH)
prod: $(INSTALLED)
	$(BIN)/python deploy/prepare.py
	exec $(BIN)/supervisord -c deploy/supervisord.conf

prod-status: $(INSTALLED)
	$(BIN)/supervisorctl -c deploy/supervisord.conf status

prod-stop: $(INSTALLED)
	$(BIN)/supervisorctl -c deploy/supervisord.conf shutdown

validate: $(INSTALLED) .env
	$(DG) check defs
	$(BIN)/dagster definitions validate -w workspace.yaml

# Every week in the warehouse side by side: rows kept, the model's test MAE, promotions.
report: $(INSTALLED)
	$(BIN)/nyc-rental report

# Make a registered version the champion by hand (the job promote_model, recorded in the instance).
promote: $(INSTALLED)
	@test -n "$(VERSION)" || (echo "usage: make promote VERSION=<registered version of nyc_rental_price>" && exit 2)
	$(BIN)/nyc-rental promote $(VERSION)

clean-data:
	rm -rf data/warehouse.duckdb data/warehouse.duckdb.wal

# The MLflow UI on the platform's store (runs, plots, the model registry); first prints the address of the
# experiment's runs (MLflow 3.17's UI opens experiments on its GenAI view unless the address says otherwise).
mlflow-ui: $(INSTALLED)
	-@$(BIN)/python -c 'from nyc_rental.ml.tracking import runs_page; \
		print("the runs of experiment nyc_rental:", runs_page("sqlite:///$(NYC_RENTAL_HOME)/mlflow.db", "http://127.0.0.1:$(MLFLOW_PORT)"))'
	$(BIN)/mlflow ui --backend-store-uri "sqlite:///$(NYC_RENTAL_HOME)/mlflow.db" --host 127.0.0.1 --port $(MLFLOW_PORT)

# The champion as a REST service: POST rows in the delivery format to /invocations (from MLFLOW_TRACKING_URI's
# registry when it is set, e.g. the production profile's MLflow server).
serve: $(INSTALLED)
	PATH="$(CURDIR)/$(BIN):$$PATH" MLFLOW_TRACKING_URI="$${MLFLOW_TRACKING_URI:-sqlite:///$(NYC_RENTAL_HOME)/mlflow.db}" \
		$(BIN)/mlflow models serve -m "models:/nyc_rental_price@champion" --env-manager local --host 127.0.0.1 --port $(SERVE_PORT)

# The documentation site (MkDocs Material, docs/ and mkdocs.yml): `make docs` builds it into site/, strictly
# (a broken link or a page missing from the navigation fails); `make docs-serve` serves it while you edit.
docs: export NO_MKDOCS_2_WARNING = 1
docs: $(INSTALLED)
	$(BIN)/mkdocs build --strict

docs-serve: export NO_MKDOCS_2_WARNING = 1
docs-serve: $(INSTALLED)
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

# Benchmarks: each prints JSON figures (docs/performance.md); none is a test. They read the real deliveries
# from NYC_RENTAL_SAMPLES (default ../shared/data/nyc_airbnb) or use the synthetic generator.
bench-startup: $(INSTALLED)
	$(BIN)/python benchmarks/startup.py

bench-e2e: $(INSTALLED)
	$(BIN)/python benchmarks/e2e.py

bench-profile: $(INSTALLED)
	$(BIN)/python benchmarks/profile_week.py

bench-backfill: $(INSTALLED)
	$(BIN)/python benchmarks/backfill.py

# 52 weekly deliveries backfilled on the embedded default against the bare loop over the same files (about 16 min).
bench-year: $(INSTALLED)
	$(BIN)/python benchmarks/year.py

# Six real weeks (cut from sample2 in NYC_RENTAL_SAMPLES) dropped at once, run by the sensor and by an asset
# backfill, against the bare loop over the same files (about 6 min).
bench-backlog: $(INSTALLED)
	$(BIN)/python benchmarks/backlog.py

# Needs this machine's Postgres and RabbitMQ (each profile gets databases and a virtual host of its own).
bench-production: $(INSTALLED)
	$(BIN)/python benchmarks/production_backfill.py

bench-warehouse: $(INSTALLED)
	$(BIN)/python benchmarks/warehouse_write.py

bench-pool-wait: $(INSTALLED)
	$(BIN)/python benchmarks/pool_wait.py

bench-scale: $(INSTALLED)
	$(BIN)/python benchmarks/scale.py

bench-quality: $(INSTALLED)
	$(BIN)/python benchmarks/model_quality.py

bench-range: $(INSTALLED)
	$(BIN)/python benchmarks/price_range.py
