# Maillon — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
# The virtualenv's interpreter: the system's python3 (Debian's is built with profile-guided
# and link-time optimisation) when it is 3.11 or newer and can make a virtualenv (Debian's
# python3-venv), else python3 from PATH. A CPython built from source without those
# optimisations, as pyenv builds it, runs the simulation slower (bench/README.md, "The
# interpreter", measured side by side). `make PYTHON=python3.12 ...` chooses another.
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11) or not ensurepip.version())' >/dev/null 2>&1 && echo $(SYSTEM_PYTHON) || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := app

.PHONY: run test install install-test install-bench translations extract-messages migrate seed lint bench simulate clean lock

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# pyproject.toml keeps the ranges; requirements.lock pins the versions installed here
# (`make lock` renews it from the ranges in a fresh environment).
LOCK := requirements.lock

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/activate
	$(BIN)/pip install -q -c $(LOCK) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(LOCK) $(VENV)/.installed
	$(BIN)/pip install -q -c $(LOCK) -e '.[test]'
	touch $@

# The benchmarks' extra (locust, for bench/web.py); `make test` does not need it.
$(VENV)/.installed-bench: pyproject.toml $(LOCK) $(VENV)/.installed-test
	$(BIN)/pip install -q -c $(LOCK) -e '.[test,bench]'
	touch $@

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q --upgrade pip
	.lock-venv/bin/pip install -q -e '.[test,bench]'
	.lock-venv/bin/pip freeze --exclude-editable > $(LOCK)
	rm -rf .lock-venv

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-bench: $(VENV)/.installed-bench

translations: install
	$(BIN)/pybabel -q compile -d translations

extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -N -i translations/messages.pot -d translations

migrate: translations
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask demo seed --if-empty

## Serve the demo region on http://$(HOST):$(PORT) with the scheduler in this process;
## seeds it if empty, then says where to go and which demo accounts sign in.
run: migrate
	$(BIN)/flask demo seed --if-empty --hello http://$(HOST):$(PORT)
	SCHEDULER_ENABLED=1 $(BIN)/flask run --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy matching

## The whole suite: lint, types, then every test on SQLite and PostgreSQL and in Chromium.
test: install-test translations lint
	$(BIN)/pytest -n auto --dist worksteal --durations=15

bench: install-bench translations
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/web.py

# A simulated period of a province's surplus under three policies, side by side
# (bench/README.md, "Simulation"). `make simulate SIM_DAYS=28` for a short run,
# `SIM_ARGS=--national` to add the month of Belgium's FSE+ network.
SIM_PROVINCE ?= namur
SIM_SEED ?= 1
SIM_DAYS ?= 365
SIM_ARGS ?=
simulate: translations
	$(BIN)/python bench/simulate.py --province $(SIM_PROVINCE) --seed $(SIM_SEED) --days $(SIM_DAYS) $(SIM_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
