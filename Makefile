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

.PHONY: dev
dev: $(VENV)/.installed ## Run the whole platform locally on http://127.0.0.1:3000 (PORT overrides)
	$(PY) -m local

.PHONY: test
test: $(VENV)/.installed $(SAM_VENV)/.installed ## Run every test suite, the reliability and security ones in their bounded form
	$(PY) -m scripts.openapi --check
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope -m "not slow" tests

.PHONY: verify
verify: $(VENV)/.installed $(SAM_VENV)/.installed ## Run every suite, with the long fuzzing, fault-injection, chaos and load runs
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope tests

.PHONY: lint
lint: $(VENV)/.installed $(SAM_VENV)/.installed ## ruff, mypy, cfn-lint, sam validate --lint and the dependency audit
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --region $(AWS_DEFAULT_REGION)
	$(PY) -m scripts.openapi --check
	$(MAKE) --no-print-directory audit

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
openapi: $(VENV)/.installed ## Regenerate shared/atelier/api/openapi.json from the route code
	$(PY) -m scripts.openapi

.PHONY: bench
bench: $(VENV)/.installed ## Run the benchmarks under bench/ and print their figures
	@# The built-artifact figures need `make build`; without a build they are reported as pending.
	$(MAKE) --no-print-directory build || echo "bench: make build failed; the built-artifact figures will say so"
	$(PY) -m bench.report $(BENCH_ARGS)

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build for arm64
	$(SAM_VENV)/bin/sam build
	@# SAM's zips date every file 1980, so timestamp-checked .pyc would be stale on every cold start.
	$(PYTHON) scripts/build_bytecode.py .aws-sam/build

.PHONY: clean
clean: ## Remove build output and caches (keeps the virtual environments)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path "./.venv*" -prune -exec rm -rf {} +

.PHONY: deploy
deploy: build ## Build and deploy one stage (STAGE=dev|staging|prod), then upload the web studio if it has a target
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|staging|prod" >&2; exit 1; }
	$(SAM_VENV)/bin/sam deploy --config-env $(STAGE)
	@# The web studio's upload, where the Makefile has one.
	@if grep -qE '^deploy-web:' $(MAKEFILE_LIST); then $(MAKE) --no-print-directory deploy-web STAGE=$(STAGE); fi

.PHONY: redrive
redrive: $(VENV)/.installed ## Move a dead-letter queue's messages back (QUEUE=generation|export|policy-notice STAGE=...; ARGS=--dry-run)
	@test -n "$(QUEUE)" || { echo "usage: make redrive QUEUE=generation STAGE=prod [ARGS=--dry-run|--limit N]" >&2; exit 1; }
	$(PY) -m scripts.redrive $(QUEUE) --stage $(or $(STAGE),dev) $(ARGS)
