# The two commands a new machine needs (see README): `make run` and `make test`.
# `make quick` is the fast loop: no real Asterisk, no browser.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test quick lint lab-deps clean

run: $(VENV)/.deps
	$(PY) dashboard.py

test: $(VENV)/.deps-dev lab-deps lint
	scripts/in-netns $(PY) -m pytest

quick: $(VENV)/.deps-dev lint
	$(PY) -m pytest -m "not asterisk and not browser"

lint: $(VENV)/.deps-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

# Asterisk 16 and sipp for the real-PBX tests, Debian's chromium for the browser tests;
# installed when missing and we are root.
lab-deps:
	scripts/install-asterisk.sh
	scripts/install-browser.sh

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.deps: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.deps-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.deps

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
