# The two commands of the README: `make run` and `make test`. Everything else they need is
# installed from here: a virtualenv from the pinned requirements, Debian packages for tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
PORT ?= 5000

.PHONY: run test install install-runtime system-packages translations bench screenshots clean help

help:
	@echo "make run      install, migrate, seed demo data and serve on http://127.0.0.1:$(PORT) (SQLite)"
	@echo "make test     install what the tests need and run them (SQLite and PostgreSQL, Chromium)"
	@echo "make install  only install (idempotent)"
	@echo "make bench    run the benchmarks (see docs/BENCHMARKS.md)"
	@echo "make screenshots  redraw docs/screenshots/ (demo data on a temporary SQLite, Chromium)"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

translations/en/LC_MESSAGES/messages.mo: translations/en/LC_MESSAGES/messages.po $(VENV)/.runtime
	$(VENV)/bin/pybabel compile -d translations -f

translations: translations/en/LC_MESSAGES/messages.mo

# axe-core for the accessibility checks of the browser tests (package.json pins it; npm comes
# with Debian's nodejs, which scripts/install-system-packages.sh installs).
node_modules/axe-core/axe.min.js: package.json package-lock.json | system-packages
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install-runtime: $(VENV)/.runtime translations

system-packages:
	@scripts/install-system-packages.sh

install: install-runtime $(VENV)/.dev system-packages node_modules/axe-core/axe.min.js

run: install-runtime
	$(FLASK) db upgrade
	$(FLASK) seed
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(PY) -m pytest

bench: install
	@scripts/install-system-packages.sh wrk
	$(PY) bench/bench_vietqr.py
	$(PY) bench/bench_card.py
	$(PY) bench/bench_payment_requests.py
	$(PY) bench/bench_matcher.py
	$(PY) bench/bench_statement_parse.py --sizes 10000 100000 1000000
	$(PY) bench/bench_statement_import.py --sizes 10000 100000 1000000
	$(PY) bench/bench_statement_run.py --sizes 10000 100000 1000000
	$(PY) bench/bench_callbacks.py
	$(PY) bench/crash_test.py --transfers 1000 --kills 4
	$(PY) bench/bench_reports.py

screenshots: install
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis node_modules
