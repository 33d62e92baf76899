# Tailor: `make run` to start it, `make test` to test it. Both work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
ADDR ?= 127.0.0.1:8000
export HF_HUB_OFFLINE := 1

.PHONY: run test test-embedded test-real test-perturbed test-torch bench worker worker-cpu worker-gpu scheduler migrate clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --no-input -v0

## Start the platform on embedded defaults (SQLite, in-process jobs, local media), seeded with a demo.
run: migrate
	$(PY) manage.py load_generation_data
	$(PY) manage.py seed_demo
	$(PY) manage.py plan_renders --everyone --budget 6
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve $(ADDR)

## The whole suite on embedded defaults; with CI=true (or TAILOR_TEST_REAL=1) again on
## PostgreSQL, Redis and SeaweedFS S3.
test: $(VENV)/.installed-dev
	$(MAKE) --no-print-directory test-embedded
	@if [ "$${CI:-}" = "true" ] || [ "$${TAILOR_TEST_REAL:-}" = "1" ]; then $(MAKE) --no-print-directory test-real; fi
	@if [ "$${CI:-}" = "true" ] || [ "$${TAILOR_TEST_PERTURBED:-}" = "1" ]; then $(MAKE) --no-print-directory test-perturbed; fi

# The suite renders on the tiny random-weight pipelines (fast, and the diffusers path is what they
# prove); tests of the storyboard renderer, and the `make run` test, ask for it by name.
test test-embedded test-real test-perturbed test-torch: export TAILOR_RENDER_MODEL ?= tiny-wan

test-embedded: $(VENV)/.installed-dev
	env -u DATABASE_URL -u DRAMATIQ_BROKER_URL -u USE_S3 $(PY) -m pytest $(PYTEST_ARGS)

## The suite again with every embedding moved to cosine 0.98 of itself: the int8 embedder's drift
## between CPUs (VNNI, AVX-512, AVX2) is ~0.99, so a test that holds here holds on any x86-64.
test-perturbed: $(VENV)/.installed-dev
	env -u DATABASE_URL -u DRAMATIQ_BROKER_URL -u USE_S3 TAILOR_EMBEDDER_PERTURB=0.98 $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

## The suite on the fp32 torch embedder instead of int8 ONNX Runtime.
test-torch: $(VENV)/.installed-dev
	env -u DATABASE_URL -u DRAMATIQ_BROKER_URL -u USE_S3 TAILOR_EMBEDDER_BACKEND=torch $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

test-real: $(VENV)/.installed-dev
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tailor} \
	DRAMATIQ_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/15} \
	USE_S3=true AWS_S3_ENDPOINT_URL=$${TEST_S3_ENDPOINT:-http://127.0.0.1:8333} \
	AWS_ACCESS_KEY_ID=tailor-test AWS_SECRET_ACCESS_KEY=tailor-test-secret AWS_STORAGE_BUCKET_NAME=tailor-test \
	TAILOR_TEST_REQUIRE_SERVICES=1 $(PY) -m pytest $(PYTEST_ARGS)

## Benchmarks: one JSON object per line, also written to bench/results/NAME.json.
bench: $(VENV)/.installed-dev
	$(PY) -m bench

## Dramatiq workers against a real broker (set DRAMATIQ_BROKER_URL).
worker: worker-cpu

worker-cpu: $(VENV)/.installed
	@test -n "$${DRAMATIQ_BROKER_URL:-}" || { echo "Set DRAMATIQ_BROKER_URL (redis:// or amqp://) to run workers"; exit 1; }
	$(PY) manage.py rundramatiq --processes $${WORKER_PROCESSES:-2} --threads $${WORKER_THREADS:-2} --queues cpu

## One GPU worker; MODELS=wan2.1-t2v-1.3b keeps that model warm and serves its own queue.
worker-gpu: $(VENV)/.installed
	@test -n "$${DRAMATIQ_BROKER_URL:-}" || { echo "Set DRAMATIQ_BROKER_URL (redis:// or amqp://) to run workers"; exit 1; }
	TAILOR_WORKER_MODELS=$${MODELS:-$${TAILOR_WORKER_MODELS:-}} dramatiq_queue_prefetch=$${dramatiq_queue_prefetch:-1} \
		dramatiq_worker_timeout=$${dramatiq_worker_timeout:-100} \
		$(PY) manage.py rundramatiq --processes 1 --threads 1 --queues gpu

clean:
	rm -rf var bench/results test-artifacts
