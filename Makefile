# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
WEB_CONCURRENCY ?= 2
PY := $(VENV)/bin/python
NPM ?= npm
ST2CLIENT_VENV ?= .venv-st2client

.PHONY: run test lint

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The front-end packages (Bootstrap, htmx), as pinned in package-lock.json: `npm ci` installs
# exactly those versions and checks each against the lock file's integrity hash; no package
# runs install scripts. Served from node_modules/ as /static/vendor/ (portal/settings.py).
node_modules/.installed: package.json package-lock.json
	$(NPM) ci --ignore-scripts --no-audit --no-fund
	touch $@

# The official st2 CLI pins its own dependencies, so it lives in a virtualenv of its own.
$(ST2CLIENT_VENV)/.installed:
	$(PYTHON) -m venv $(ST2CLIENT_VENV)
	$(ST2CLIENT_VENV)/bin/pip install --quiet --disable-pip-version-check st2client==3.9.0
	touch $@

run: $(VENV)/.installed node_modules/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py register_packs
	$(PY) manage.py ensure_admin
	PORT=$(PORT) WEB_CONCURRENCY=$(WEB_CONCURRENCY) exec $(PY) manage.py serve

# The import contracts and ruff (`make lint`), then the whole suite on SQLite, then the API,
# worker, bench (tiny scale, each bench on a database of its own) and API-level security suites
# on a throwaway PostgreSQL cluster (scripts/with-postgres installs Debian's server if it can;
# no PostgreSQL fails the run, unless SKIP_POSTGRES=1, which CI never sets).
test: $(VENV)/.installed node_modules/.installed $(ST2CLIENT_VENV)/.installed
	@echo "==== make test: import contracts (pyproject.toml), ruff format and lint ===="
	$(MAKE) --no-print-directory lint
	scripts/ensure-chromium
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	@echo "==== make test: the whole suite on SQLite ===="
	DATABASE_URL= ST2_CLI=$(CURDIR)/$(ST2CLIENT_VENV)/bin/st2 $(VENV)/bin/pytest
	@echo "==== make test: the API, worker and bench suites on PostgreSQL (scripts/with-postgres) ===="
	scripts/with-postgres $(VENV)/bin/pytest -q -m "not cli" tests/test_api_*.py tests/test_worker*.py tests/test_retention.py \
		tests/test_bench_*.py \
		tests/security/test_launch.py tests/security/test_rules_boundary.py \
		tests/security/test_trigger_data.py
	@echo "==== make test: schemathesis against a live server (scripts/fuzz-api) ===="
	$(PY) scripts/fuzz-api

# The layers held by a test: the import contracts of pyproject.toml (the portal imports only the
# client and the pure modules, ...), then ruff's formatting and lint rules.
lint: $(VENV)/.installed
	@# No symbolic link is committed: one to a local virtualenv or node_modules breaks a clone.
	@test -z "$$(git ls-files -s 2>/dev/null | awk '$$1 == "120000" {print $$4}')" || \
		{ echo "symbolic links committed:"; git ls-files -s | awk '$$1 == "120000" {print $$4}'; exit 1; }
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
