# Two commands set a fresh machine up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Local runs are development runs unless the caller says otherwise.
export DEBUG ?= 1

.PHONY: run test lint install install-dev messages browsers clean migrate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiled translations are build output: made from the .po files on every run and test.
messages: | $(BIN)/python
	@command -v msgfmt >/dev/null 2>&1 || { echo "installing gettext (msgfmt)"; \
	  (apt-get update -qq && apt-get install -y -qq gettext) >/dev/null; }
	$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0

migrate: install messages
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C stops)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Headless Chromium from Debian for the browser tests (no browser download from the internet).
browsers:
	@test -x /usr/bin/chromium || { echo "installing Debian chromium"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || \
	  echo "chromium could not be installed: browser tests will fail"; }

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Both cores (pytest-xdist); tests that start a real Celery worker share one test process.
# --no-loadscope-reorder: keep pytest-django's order (transactional tests last). Reordering
# would run that group, the largest, first, and its flushes would empty the rows data
# migrations made before the ordinary tests that rely on them.
PYTEST_ARGS ?= -n 2 --dist loadgroup --no-loadscope-reorder

test: install-dev messages browsers
	DEBUG=0 SECURE_SSL_REDIRECT=0 SECRET_KEY=test-secret-key-not-for-production-0123456789abcdef \
	  $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
