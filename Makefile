# trainplat: `make demo` runs the demo, `make test` runs every test. Both install what they
# need first (Swift build, Python venv); `make services` starts PostgreSQL for the
# PostgreSQL half of the Swift tests (CI does this in .ci/run).
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

VENV        ?= .venv
PYTHON      ?= python3
SCRATCH     ?= .build
TORCH_WHEEL := /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
BIN         := $(abspath $(SCRATCH))/debug/trainplat
VENV_STAMP  := $(VENV)/.installed

.PHONY: demo test build release venv lint test-swift test-python test-e2e services clean

demo: build venv
	TRAINPLAT_PYTHON=$(CURDIR)/$(VENV)/bin/python $(BIN) demo $(DEMO_FLAGS)

test: build venv lint test-swift test-python test-e2e

build:
	swift build --build-tests --scratch-path $(SCRATCH)

# The build to deploy and to benchmark ($(SCRATCH)/release/trainplat; benchmarks/ pick up
# .build/release/trainplat, or TRAINPLAT_BIN): optimized, with Swift's runtime linked in and
# jemalloc as the allocator, as Swift server images are built, its heaps on huge pages
# (Sources/CAllocatorSettings). What each is worth: docs/scheduling.md, "The CLI's validation"
# and "The spec's fast reader".
release:
	scripts/ensure-packages.sh libjemalloc-dev
	swift build -c release --static-swift-stdlib -Xlinker -ljemalloc --product trainplat --scratch-path $(SCRATCH)

venv: $(VENV_STAMP)

# mysqlclient, the Doris connector's MySQL-protocol driver, has no Linux wheel on PyPI: it
# compiles against libmariadb's headers, found with pkg-config.
$(VENV_STAMP): python/pyproject.toml
	scripts/ensure-packages.sh libmariadb-dev pkg-config gcc
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	if [ -f $(TORCH_WHEEL) ]; then $(VENV)/bin/pip install --quiet $(TORCH_WHEEL); fi
	$(VENV)/bin/pip install --quiet -e 'python[dev]'
	touch $@

lint: venv
	cd python && ../$(VENV)/bin/ruff check . && ../$(VENV)/bin/ruff format --check . && ../$(VENV)/bin/mypy --strict src tests

# Swift tests run twice: on SQLite, then on PostgreSQL when TRAINPLAT_TEST_POSTGRES_URL is set.
test-swift: build
	swift test --skip-build --scratch-path $(SCRATCH)
	@if [ -n "$$TRAINPLAT_TEST_POSTGRES_URL" ]; then \
		echo "== Swift tests again on PostgreSQL"; \
		TRAINPLAT_TEST_DATABASE=postgres swift test --skip-build --scratch-path $(SCRATCH) --filter TrainplatAppTests; \
	elif [ "$$CI" = "true" ]; then \
		echo "TRAINPLAT_TEST_POSTGRES_URL is not set: CI must test on PostgreSQL (run scripts/services.sh)"; exit 1; \
	else \
		echo "SKIPPED: Swift tests on PostgreSQL (no TRAINPLAT_TEST_POSTGRES_URL; run 'eval \$$(scripts/services.sh)')"; \
	fi

# Unit and integration tests of the data plane (integration runs the pipeline's task programs).
test-python: venv
	cd python && ../$(VENV)/bin/pytest -q -m "not e2e and not gpu"

# End to end: the real binary runs the demo and serves the API (python/tests/e2e).
test-e2e: build venv
	cd python && TRAINPLAT_BIN=$(BIN) ../$(VENV)/bin/pytest -q -m e2e tests/e2e

services:
	@scripts/services.sh

clean:
	rm -rf $(SCRATCH) $(VENV) var
