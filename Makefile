# Atelier: one entry point for every task. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The functions run on python3.13: the virtual environments use the same minor version, found on PATH
# or, when pyenv is installed, among its versions.
PYTHON ?= $(shell for candidate in python3.13 \
	$$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
	"$$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && command -v "$$candidate" && break; done)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
PIP_INSTALL := $(PY) -m pip install --disable-pip-version-check -q
export PYTHONPATH := $(CURDIR):$(CURDIR)/shared
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
# Workers for the parallel test run; the machines this runs on have two cores.
TEST_WORKERS ?= 2

.PHONY: python
python:
	@test -n "$(PYTHON)" || { echo "Python 3.13 is needed: install python3.13 (python.org, your package manager, or 'pyenv install 3.13') or run with PYTHON=/path/to/python3.13" >&2; exit 1; }

$(VENV)/.installed: requirements-dev.txt layers/dependencies/requirements.txt constraints.txt | python
	@# A virtual environment left by an older Python is made again on the runtime's version.
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -r requirements-dev.txt -c constraints.txt
	@touch $@

$(SAM_VENV)/.installed: requirements-sam.txt | python
	@$(SAM_VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || { rm -rf $(SAM_VENV); $(PYTHON) -m venv $(SAM_VENV); }
	$(SAM_VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements-sam.txt
	@touch $@

.PHONY: help
help: ## List the tasks
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

.PHONY: venv
venv: $(VENV)/.installed ## Create the virtual environment (.venv) with every dependency

# The web studio (web/): Node 20+ and npm. node_modules is installed again when the lock file changes;
# the app is built again when one of its sources changes.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json
NPM := npm --prefix web --no-audit --no-fund

web/node_modules/.installed: web/package-lock.json
	@command -v npm >/dev/null || { echo "Node 20+ and npm are needed for the web studio (nodejs.org)" >&2; exit 1; }
	@# The browser for the journeys is the system's (or Playwright's own, when installed separately).
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(NPM) ci
	@touch $@

web/dist/index.html: $(WEB_SOURCES) web/node_modules/.installed
	$(NPM) run build
	@touch $@

.PHONY: web
web: web/dist/index.html ## Build the web studio (web/dist) when its sources changed

.PHONY: dev
dev: $(VENV)/.installed web/dist/index.html ## Run the whole platform locally on http://127.0.0.1:3000 (PORT overrides), the studio at /
	$(PY) -m local

.PHONY: test
test: $(VENV)/.installed $(SAM_VENV)/.installed web/node_modules/.installed ## Run every test suite, the reliability and security ones in their bounded form, and the browser journeys
	$(PY) -m scripts.openapi --check
	$(NPM) run --silent openapi:check
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope -m "not slow" --cov --cov-report=term:skip-covered tests
	$(MAKE) --no-print-directory web-test

.PHONY: unit
unit: $(VENV)/.installed ## The domain tests alone (tests/domain): money rules and use cases, pricing, keys, purge steps, export format; no emulator
	@# No conftest: the suite-wide one starts the log guard and imports the local runtime, which these never need.
	$(PY) -m pytest --noconftest -p no:cacheprovider -n 0 -q tests/domain

.PHONY: web-test
web-test: $(VENV)/.installed web/dist/index.html ## The studio's Vitest tests, then its Playwright journeys and axe scans in Chromium
	$(NPM) run --silent test
	$(NPM) run --silent e2e

.PHONY: verify
verify: $(VENV)/.installed $(SAM_VENV)/.installed ## Run every suite, with the long fuzzing, fault-injection, chaos and load runs
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope tests

.PHONY: lint
lint: $(VENV)/.installed $(SAM_VENV)/.installed ## ruff, mypy (the client's strict), cfn-lint, sam validate --lint and the dependency audit
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# The Python client (clients/python) is typed strictly, against its own configuration.
	cd clients/python && $(CURDIR)/$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --region $(AWS_DEFAULT_REGION)
	$(PY) -m scripts.openapi --check
	$(MAKE) --no-print-directory web-lint
	$(MAKE) --no-print-directory audit

.PHONY: web-lint
web-lint: web/node_modules/.installed ## ESLint, Prettier and tsc on the studio; its API types match openapi.json
	$(NPM) run --silent openapi:check
	cd web && npx eslint . && npx prettier --check . && npx tsc --noEmit

.PHONY: audit
audit: $(VENV)/.installed ## pip-audit every pinned dependency (the runtime layer, the tools, the SAM CLI)
	@# constraints.txt pins the whole resolved environment, so --no-deps still covers transitive packages.
	$(VENV)/bin/pip-audit --progress-spinner off --no-deps --disable-pip \
		-r layers/dependencies/requirements.txt -r constraints.txt -r requirements-sam.txt

.PHONY: format
format: $(VENV)/.installed ## Format and fix what ruff can
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: openapi
openapi: $(VENV)/.installed web/node_modules/.installed ## Regenerate shared/atelier/api/openapi.json from the route code, and the studio's types from it
	$(PY) -m scripts.openapi
	$(NPM) run --silent openapi

.PHONY: bench
bench: $(VENV)/.installed web/dist/index.html ## Run the benchmarks under bench/ and print their figures
	@# The built-artifact figures need `make build`; without a build they are reported as pending.
	$(MAKE) --no-print-directory build || echo "bench: make build failed; the built-artifact figures will say so"
	$(PY) -m bench.report $(BENCH_ARGS)

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build for arm64
	@# sam build resolves the layer with the runtime's `python3.13` from PATH: the one found above comes first.
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM_VENV)/bin/sam build
	@# SAM's zips date every file 1980, so timestamp-checked .pyc would be stale on every cold start.
	$(PYTHON) scripts/build_bytecode.py .aws-sam/build

.PHONY: deploy-web
deploy-web: $(VENV)/.installed ## Build the web studio and upload it to a deployed stage (STAGE=dev|staging|prod)
	@test -n "$(STAGE)" || { echo "usage: make deploy-web STAGE=dev" >&2; exit 1; }
	$(PY) -m scripts.deploy_web --stack $${STACK:-atelier-$(STAGE)} $(DEPLOY_WEB_ARGS)

.PHONY: clean
clean: ## Remove build output and caches (keeps the virtual environments)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache web/dist web/test-results web/playwright-report
	find . -name __pycache__ -not -path "./.venv*" -prune -exec rm -rf {} +

.PHONY: deploy
deploy: build ## Build and deploy one stage (STAGE=dev|staging|prod), then upload the web studio
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|staging|prod" >&2; exit 1; }
	$(SAM_VENV)/bin/sam deploy --config-env $(STAGE)
	$(MAKE) --no-print-directory deploy-web STAGE=$(STAGE)

.PHONY: redrive
redrive: $(VENV)/.installed ## Move a dead-letter queue's messages back (QUEUE=generation|export|policy-notice STAGE=...; ARGS=--dry-run)
	@test -n "$(QUEUE)" || { echo "usage: make redrive QUEUE=generation STAGE=prod [ARGS=--dry-run|--limit N]" >&2; exit 1; }
	$(PY) -m scripts.redrive $(QUEUE) --stage $(or $(STAGE),dev) $(ARGS)
