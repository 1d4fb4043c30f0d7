# Every target installs what it needs into .venv first; only python3 and make are assumed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export LEADFLOW_DEV ?= 1
export DEBUG ?= 1

.PHONY: install demo test test-fast bench lint format serve-prod browsers clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_schedules
	$(PY) manage.py demo --if-empty
	$(PY) manage.py runall

browsers: $(STAMP)
	@sh scripts/ensure-chromium.sh

# Two workers (the machine has two cores); a module's tests stay on one worker.
test: $(STAMP) browsers
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -x -q -m "not browser and not heavy" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Production-like: needs SECRET_KEY (and usually DATABASE_URL, REDIS_URL) in the environment.
serve-prod: $(STAMP)
	LEADFLOW_DEV= DEBUG=0 $(PY) manage.py collectstatic --no-input -v0
	LEADFLOW_DEV= DEBUG=0 $(PY) manage.py migrate --no-input
	LEADFLOW_DEV= DEBUG=0 $(PY) manage.py setup_schedules
	LEADFLOW_DEV= DEBUG=0 $(PY) manage.py runall --prod --workers 2

clean:
	rm -rf $(VENV) leadflow.sqlite3* .pytest_cache
