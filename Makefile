# The documented entry points: make run, make test, make lint, make bench.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run worker test lint bench migrate secret-key clean up down

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# A random DJANGO_SECRET_KEY in the git-ignored .env, the first time only:
# with DEBUG off no process starts on the development default (ucloud.E010).
secret-key:
	@grep -qs '^DJANGO_SECRET_KEY=.' .env || { umask 077; \
	  [ ! -s .env ] || [ -z "$$(tail -c1 .env)" ] || echo >> .env; \
	  $(PYTHON) -c 'import secrets; print("DJANGO_SECRET_KEY=" + secrets.token_urlsafe(50))' >> .env; \
	  echo "wrote a random DJANGO_SECRET_KEY to .env"; }

migrate: $(VENV)/.runtime secret-key
	$(PY) manage.py ucloud_migrate  # every database alias of the served services

run: migrate
	$(PY) manage.py runserver --insecure 127.0.0.1:$(PORT)  # --insecure: serve admin CSS with DEBUG off

# Celery worker with beat for the event processors of the served services;
# needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0).
worker: migrate
	$(PY) manage.py ucloud_worker --beat

# Every unit of config/topology.toml as its own processes (gunicorn, Celery
# worker and beat) behind nginx on http://127.0.0.1:8080 (GATEWAY_PORT); each unit
# on its own database of DATABASE_URL's server; REDIS_URL for events.
# The kit's commands: a project built on the kit runs them the same way.
up: $(VENV)/.runtime secret-key
	$(PY) manage.py ucloud_up

down:
	$(PY) manage.py ucloud_down

test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(PY) manage.py ucloud_contracts --check  # contracts.lock: no unaccepted breaking change

bench: $(VENV)/.dev
	bash bench/setup.sh
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .mypy_cache .ruff_cache
