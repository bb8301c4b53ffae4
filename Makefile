# citybase — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PYTEST_ARGS ?=
XDIST ?= -n 2

.PHONY: setup demo test test-sqlite test-postgres bench lint system-deps serve clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed

# PostgreSQL, Chromium and Mosquitto from Debian's packages, only when missing.
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	fc-list 2>/dev/null | grep -qi 'cjk\|wqy' || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: setup
	$(VENV)/bin/citybase demo

serve: setup
	$(VENV)/bin/citybase serve

test: setup system-deps
	$(MAKE) test-sqlite test-postgres

test-sqlite:
	CITYBASE_TEST_DB=sqlite $(PY) -m pytest $(XDIST) $(PYTEST_ARGS) tests

test-postgres:
	CITYBASE_TEST_DB=postgres $(PY) -m pytest $(XDIST) $(PYTEST_ARGS) tests

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks migrations tools
	$(VENV)/bin/lint-imports

bench: setup system-deps
	@command -v wrk >/dev/null 2>&1 || { echo "installing Debian package: wrk"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) node_modules var test-artifacts .pytest_cache
