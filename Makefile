# One task runner for people, hooks and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
TASKS_VENV := .tools/tasks-emulator
TASKS_EMULATOR_VERSION := 0.6.2

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

$(TASKS_VENV)/.installed:
	$(PYTHON) -m venv $(TASKS_VENV)
	$(TASKS_VENV)/bin/pip install --quiet --disable-pip-version-check gcloud-tasks-emulator==$(TASKS_EMULATOR_VERSION)
	@touch $@

.PHONY: setup
setup: $(VENV)/.synced $(TASKS_VENV)/.installed ## Create the virtualenvs (the app's and the Tasks emulator's)

.PHONY: browser
browser: ## Headless Chromium (Debian's package) for the test that renders the report email as a person sees it
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the report rendering test..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "chromium is missing: install it (e.g. sudo apt-get install chromium) to run the report rendering test" >&2; \
	    exit 1; \
	  fi; \
	}

.PHONY: lint
lint: setup ## ruff (lint + format check) and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared functions devstack

.PHONY: test
test: setup browser lint ## Everything CI runs: lint, types, unit, integration, rules and end-to-end tests
	$(VENV)/bin/pytest

.PHONY: run
run: setup ## Run the whole platform locally on real emulators (Ctrl-C stops everything)
	$(PY) -m devstack.runner

.PHONY: token
token: setup ## Print a local-mode user token: make token EMAIL=alice@example.com
	@test -n "$(EMAIL)" || (echo "usage: make token EMAIL=someone@example.com" >&2; exit 2)
	@PYTHONPATH=. $(PY) -m devstack.tokens "$(EMAIL)" $$( [ -f .local/stack.json ] && $(PY) -c 'import json;print("--project", json.load(open(".local/stack.json"))["project_id"])')

.PHONY: trigger
trigger: setup ## Fire a scheduled job on the running local stack now: make trigger JOB=daily-sync
	@test -n "$(JOB)" || (echo "usage: make trigger JOB=<name> (see infra/jobs.json)" >&2; exit 2)
	@PYTHONPATH=. $(PY) -m devstack.scheduler trigger "$(JOB)"

.PHONY: bench
bench: setup ## Performance report: sync fan-out, worker time vs floor, I/O per enterprise-day, benchmark aggregation, API load, capacity model
	PYTHONPATH=. $(PY) -m devstack.bench_sync
	PYTHONPATH=. $(PY) -m devstack.bench_benchmarks
	PYTHONPATH=. $(PY) -m devstack.bench_usage_api
	PYTHONPATH=. $(PY) -m devstack.bench_api_load
	PYTHONPATH=. $(PY) -m devstack.bench_capacity

ENV ?= example

.PHONY: bundles
bundles: setup ## Build the deployable function bundles (build/bundles/*.zip)
	PYTHONPATH=. $(PY) -m devstack.bundle --all --out build/bundles

.PHONY: deploy
deploy: bundles ## Deploy to Google Cloud with Terraform: make deploy ENV=prod (prerequisites: infra/README.md)
	terraform -chdir=infra/terraform/environments/$(ENV) init -input=false
	terraform -chdir=infra/terraform/environments/$(ENV) plan -input=false -out=tfplan
	terraform -chdir=infra/terraform/environments/$(ENV) apply -input=false tfplan

.PHONY: fmt
fmt: setup ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
