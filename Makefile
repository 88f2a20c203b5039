# The course's commands. Students: `make lab`. Everyone else: `make test`.
# Every target that needs Python first runs `setup`, which is quick when nothing changed.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The Pythons the locks are checked for (`make platforms`, README "Students"). Without PYTHON=, the
# first of python3, python3.13, python3.12, python3.11 on PATH that is one of them is used.
SUPPORTED_PYTHONS := 3.11 3.12 3.13
SUPPORTED_CHECK = 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v in "$(SUPPORTED_PYTHONS)".split() \
  else f"make setup: Python {v} ({sys.executable}) is not supported; the course works with Python \
$(subst $() ,$(comma) ,$(SUPPORTED_PYTHONS)). Install one (python.org, brew install python@3.12, \
apt install python3.12, or uv python install 3.12) and run: make setup PYTHON=python3.12")'
comma := ,
ifeq ($(origin PYTHON),undefined)
PYTHON := $(or $(shell for p in python3 $(addprefix python,$(SUPPORTED_PYTHONS)); do \
  $$p -c $(SUPPORTED_CHECK) >/dev/null 2>&1 && { echo $$p; break; }; done),python3)
endif
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
LOCKS := requirements/course.lock requirements/dev.lock
STAMP := $(VENV)/.setup-done
# checkov cannot share the course's pins (it needs packaging<24), so it lives in its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.setup-done
KERNEL_NAME := mlops-course

PORT ?= 8888
HOST ?= 127.0.0.1
LAB_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

# ONNX Runtime records usage telemetry unless this is set before it is imported; every target
# (JupyterLab and its kernels, the tests, the server) inherits it. The package sets it too.
export ORT_DISABLE_TELEMETRY := 1

NOTEBOOK_DIRS := notebooks solutions
NBVAL_ARGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# make test's pytest-xdist workers: one per core, at most 4 (each may hold a 1.5 GB notebook).
# The root conftest.py groups what must share a worker; TEST_WORKERS=0 runs all in one process.
TEST_WORKERS ?= $(shell n=$$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))

.PHONY: help setup lab test test-one-core test-fast execute labs labs-check bench model edgetpu serve docker-build docker-test docker-arm64 \
  lint format lock platforms drift clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@$(PYTHON) -c $(SUPPORTED_CHECK)
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) $(LOCKS) pyproject.toml
	@$(PY) -c $(SUPPORTED_CHECK) || { echo "make setup: $(VENV) was made with that Python; remove it (make clean)" >&2; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync --quiet --python $(PY) $(LOCKS)
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --user --name $(KERNEL_NAME) --display-name "Python (mlops-course)" \
	  --env ORT_DISABLE_TELEMETRY 1 >/dev/null
	@touch $@
	@echo "setup: $(VENV) matches requirements/*.lock; kernel '$(KERNEL_NAME)' registered"

$(CHECKOV_STAMP): $(PY) requirements/checkov.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV) pip sync --quiet --python $(CHECKOV_VENV)/bin/python requirements/checkov.lock
	@touch $@

setup: $(STAMP) $(CHECKOV_STAMP) ## Create .venv (and .venv-checkov) from the locks (idempotent)

lab: setup ## Start JupyterLab on the course (PORT=8888)
	$(VENV)/bin/jupyter lab --no-browser --ip=$(HOST) --port=$(PORT) $(ALLOW_ROOT) \
	  --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks/00_course_tour.ipynb $(LAB_ARGS)

test: setup labs-check ## Every check: unit tests, notebooks (nbval), labs; then test-one-core
	$(PY) -m pytest $(NBVAL_ARGS) -n $(TEST_WORKERS) --dist loadgroup --durations=15 -m "not serial"
	$(PY) -m pytest tests -m serial
	$(MAKE) --no-print-directory test-one-core

# The notebooks that train or convert models, run again on one core: their stored outputs must
# not depend on the core count (nor on the CPU), so a run with other threading must pass too.
test-one-core: setup ## nbval on the notebooks that train or convert models, pinned to one core
	@if ! command -v taskset >/dev/null; then \
	  echo "test-one-core: skipped: taskset (util-linux, Linux only) is not installed here"; exit 0; fi; \
	notebooks=$$($(PY) -m mlops_course.notebooks model-notebooks); \
	echo "test-one-core: taskset -c 0 nbval on" $$notebooks; \
	taskset -c 0 $(PY) -m pytest $(NBVAL_ARGS) $$notebooks

test-fast: setup ## Unit tests only: no notebooks, no Docker, nothing marked slow
	$(PY) -m pytest tests -m "not slow and not docker"

execute: setup ## Re-run notebooks in place to refresh their stored outputs (NB=path for one)
	$(PY) -m mlops_course.notebooks execute $(or $(NB),$(NOTEBOOK_DIRS))

labs: setup ## Regenerate labs/ from solutions/
	$(PY) -m mlops_course.labs generate

labs-check: setup ## Fail when labs/ is stale or was edited by hand
	$(PY) -m mlops_course.labs check

bench: setup ## Every benchmark in benchmarks/; JSON and plots go to benchmarks/results/
	for script in benchmarks/*.py; do $(PY) "$$script"; done

model: setup ## Rebuild models/ (trained artifacts and their cards) from code
	$(PY) -m mlops_course.export all --out models

# Exits 0 without a compiler (x86-64 only; it says why in one line), 1 if the compile fails.
edgetpu: setup ## Convert the digits model for the Edge TPU into build/edgetpu/; compile it where edgetpu_compiler exists
	$(PY) -m mlops_course.edgetpu build --out build/edgetpu

# `make serve` listens on 8000 unless PORT is given (`make serve PORT=9000` or `PORT=9000 make serve`);
# PORT's Makefile default (8888) belongs to `make lab`.
SERVE_PORT = $(if $(filter file,$(origin PORT)),8000,$(PORT))
MODEL_REPOSITORY ?= models

serve: setup ## Run the model server under gunicorn on HOST:PORT (127.0.0.1:8000), MODEL_REPOSITORY=models
	MODEL_REPOSITORY="$(MODEL_REPOSITORY)" $(VENV)/bin/gunicorn -c python:mlops_course.serving.gunicorn_conf \
	  --bind $(HOST):$(SERVE_PORT) mlops_course.serving.wsgi:app

# Images are tagged with the course version; BuildKit reads docker/serving/Dockerfile.dockerignore.
# The client is the package's choice (one that can build with BuildKit; DOCKER=/path to name one),
# or a one-line error saying how to get one. Choosing imports nothing outside the standard library,
# so it runs from src/ with any python3: building the images needs no .venv.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DOCKER_CLIENT = PYTHONPATH=src $(PYTHON) -m mlops_course.containers client
DOCKER_BUILD = DOCKER_BUILDKIT=1 "$$docker" build --network=host \
  --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION)

docker-build: ## Build the serving and course images: mlops-course/{serving,course}:VERSION
	docker=$$($(DOCKER_CLIENT)); echo "docker-build: building with $$docker"; \
	$(DOCKER_BUILD) -f docker/serving/Dockerfile -t mlops-course/serving:$(VERSION) .; \
	$(DOCKER_BUILD) -f docker/course/Dockerfile -t mlops-course/course:$(VERSION) .; \
	"$$docker" images mlops-course/serving:$(VERSION)

# The serving image for linux/arm64 under QEMU user emulation, on an arm64 stand-in base: a second
# architecture, run for real. Not part of `make test` from scratch: bootstrapping the base under QEMU
# takes about ten minutes (after that, tests/test_docker_arm64.py runs in `make test` too, cached).
docker-arm64: setup ## Build the serving image for linux/arm64 under QEMU, run it, check a prediction (root)
	@command -v qemu-aarch64-static >/dev/null || { echo "docker-arm64: needs qemu-user-static and \
	  binfmt-support (apt-get install qemu-user-static binfmt-support)" >&2; exit 1; }
	.ci/arm64-base build
	REQUIRE_DOCKER=1 $(PY) -m pytest tests/test_docker_arm64.py -v -rs

docker-test: setup ## Lint, build, run (read-only too), layer reuse, publish, course image (tini, pip, port, nbval)
	$(PY) -m pytest tests/test_docker.py tests/test_docker_images.py tests/test_docker_course.py -v -rs

lint: setup ## ruff on the package, tests and notebooks; hadolint on the Dockerfiles
	$(VENV)/bin/hadolint docker/*/Dockerfile docker/*/Dockerfile.gpu
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check src tests benchmarks

format: setup ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format src tests benchmarks

# One universal lock per .in: environment markers say where a package differs by platform or Python
# (tensorflow-cpu on Linux x86_64 and Windows, tensorflow elsewhere). "fewest" keeps one version of a
# package for every Python where it can; `make platforms` checks that each lock installs everywhere.
lock: $(PY) ## Re-resolve requirements/*.lock from *.in (every platform), then environment.yml and binder/
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	cd requirements && for name in course dev serving checkov; do \
	  MACOSX_DEPLOYMENT_TARGET=14.0 ../$(UV) pip compile $$name.in -o $$name.lock --universal \
	    --fork-strategy fewest --python-version 3.11 --no-header --quiet; done
	$(PY) tools/sync_environments.py write

platforms: $(PY) ## Check that every lock resolves for each platform x Python the README supports (needs the index)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	PYTHONPATH=src $(PY) tools/check_platforms.py --uv $(UV)

drift: ## Install the newest releases in .venv-latest and run the tests (weekly CI job)
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/pip install --quiet uv==$(UV_VERSION)
	sed -E 's/==[^;]*//' requirements/course.in requirements/dev.in | grep -v '^-c' > .venv-latest/unpinned.txt
	.venv-latest/bin/uv pip install --quiet --python .venv-latest/bin/python -r .venv-latest/unpinned.txt -e .
	.venv-latest/bin/python -m pytest $(NBVAL_ARGS)

clean: ## Remove the venv and caches (keeps notebooks and models)
	rm -rf $(VENV) $(CHECKOV_VENV) .venv-latest .pytest_cache .ruff_cache .hypothesis build src/*.egg-info
