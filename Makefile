# The two commands a new machine needs (see README): `make run` and `make test`.
# `make quick` is the fast loop: no real Asterisk, no browser.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test quick lint lab-deps report clean

run: $(VENV)/.deps
	$(PY) dashboard.py

test: $(VENV)/.deps-dev lab-deps lint
	scripts/in-netns $(PY) -m pytest

quick: $(VENV)/.deps-dev lint
	$(PY) -m pytest -m "not asterisk and not browser"

# The manager notebooks, executed on the Parquet export and rendered to HTML in reports/.
# Parameters: make report REPORT_ARGS="-p start 2026-11-01 -p end 2026-11-08 -p dataset data/export"
REPORT_ARGS ?=
report: $(VENV)/.deps-dev
	mkdir -p reports
	for nb in weekly_review staffing; do \
		$(PY) -m papermill --cwd notebooks -k python3 --no-progress-bar $(REPORT_ARGS) \
			notebooks/$$nb.ipynb reports/$$nb.ipynb && \
		$(PY) -m nbconvert --to html --no-input reports/$$nb.ipynb --output-dir reports || exit 1; \
	done

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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts reports
