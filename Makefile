# Skills Registry — every task in one place. `make help` lists them.
# Works on a machine with only Python 3.11 and pip: uv is installed on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen
export UV_LINK_MODE ?= copy

.PHONY: help uv install browser run test test-fast fuzz lint typecheck fmt migrate migration purge backup restore bench bench-load images traefik-config clean

# Seconds of fuzzing: `make fuzz` runs FUZZ_SECONDS, `make test` (CI) a short FUZZ_TEST_SECONDS.
FUZZ_SECONDS ?= 300
FUZZ_TEST_SECONDS ?= 60
# Test processes for `make test` (pytest-xdist): one per core of the 2-core CI machine;
# `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2
# CI fuzzes with a fixed seed so a red run is one that can be replayed; `make fuzz` explores anew.
FUZZ_TEST_SEED ?= 20261202

help: ## List every target with what it does
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

uv: ## Install uv with pip when it is not on PATH
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

install: uv ## Create .venv with every package and dev tool, exactly as uv.lock says
	@$(UV) sync --frozen --all-packages

run: install ## Start the registry on http://127.0.0.1:8000 (SQLite, in-process queue)
	$(RUN) python -m skreg_gateway

migrate: install ## Upgrade the database at DATABASE_URL to the latest schema (explicit step in prod)
	$(RUN) python -m skreg_common.migrate upgrade

migration: install ## New Alembic revision of a service from its models: SERVICE=catalog MESSAGE="add labels"
	@test -n "$(SERVICE)" -a -n "$(MESSAGE)" || { echo 'usage: make migration SERVICE=catalog MESSAGE="what changes"' >&2; exit 2; }
	$(RUN) python -m skreg_common.migrate revision "$(SERVICE)" -m "$(MESSAGE)" $(ARGS)

purge: install ## Drop content of skills deleted over PURGE_AFTER_DAYS ago (ARGS=--dry-run previews)
	$(RUN) python -m skreg_catalog.purge $(ARGS)

backup: install ## Archive the database at DATABASE_URL (bundles included) into BACKUP_DIR (./backups)
	$(RUN) python -m skreg_common.backup create --dir "$(or $(BACKUP_DIR),backups)" $(ARGS)

restore: install ## Restore BACKUP=archive into DATABASE_URL (ARGS=--force replaces a non-empty one)
	@test -n "$(BACKUP)" || { echo 'usage: make restore BACKUP=backups/skreg-....tar [ARGS=--force]' >&2; exit 2; }
	$(RUN) python -m skreg_common.backup restore "$(BACKUP)" $(ARGS)

lint: install ## ruff lint + format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install ## mypy (strict) over every package
	$(RUN) mypy proto/src services/common/src services/catalog/src services/auth/src services/importer/src gateway/src cli/src

fmt: install ## Format and auto-fix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

browser: ## Install Debian's headless Chromium for the browser tests when missing (root)
	@bash scripts/ensure-chromium.sh

test: lint typecheck browser ## Lint, type-check, the whole suite on SQLite and PostgreSQL with Redis, a short fuzz
	$(RUN) python -m tests.fuzz --seconds $(FUZZ_TEST_SECONDS) --seed $(FUZZ_TEST_SEED)
	$(RUN) pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25

test-fast: install ## The suite on SQLite without Redis, PostgreSQL or Chromium (needs Python and git only)
	SKREG_TEST_BACKENDS=sqlite $(RUN) pytest -x -q -m "not redis and not postgresql and not chromium"

fuzz: install ## Fuzz every OpenAPI operation of a throwaway registry on loopback for FUZZ_SECONDS (300)
	$(RUN) python -m tests.fuzz --seconds $(FUZZ_SECONDS)

bench: install ## Run the benchmarks under bench/ and print their figures (bench-load apart; REDIS_URL=… adds the split search one)
	@for b in bench/bench_*.py; do \
		case $$b in \
		bench/bench_load_edge.py) continue ;; \
		bench/bench_search_split.py) \
			if [ -z "$(REDIS_URL)" ]; then echo "== $$b: not run, it needs REDIS_URL=redis://127.0.0.1:…"; continue; fi; \
			echo "== $$b"; $(RUN) python $$b --redis-url "$(REDIS_URL)" || exit 1; continue ;; \
		esac; \
		echo "== $$b"; $(RUN) python $$b || exit 1; done

# `make bench-load`: the split deployment under load through Traefik, then a soak of SOAK_SECONDS.
SOAK_SECONDS ?= 600

bench-load: install ## Load + soak the split deployment over HTTPS via Traefik (REDIS_URL=redis://127.0.0.1:…)
	@test -n "$(REDIS_URL)" || { echo 'usage: make bench-load REDIS_URL=redis://127.0.0.1:6379/13 [SOAK_SECONDS=600]' >&2; exit 2; }
	$(RUN) python bench/bench_load_edge.py --redis-url "$(REDIS_URL)" --soak-seconds "$(SOAK_SECONDS)"

images: ## Build the multi-arch image (linux/amd64 + linux/arm64) with docker buildx bake
	docker buildx bake -f docker-bake.hcl

traefik-config: install ## Regenerate deploy/traefik/dynamic/routes.yml from the gateway route table
	$(RUN) python -m skreg_gateway.traefik

clean: ## Remove caches and the local SQLite database
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis skills_registry.db* .skreg-secrets.json
