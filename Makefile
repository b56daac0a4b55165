# assistantd — the two commands of the README.
#   make run    install what is missing, build, start the service on ./data (SQLite)
#   make test   install what is missing, build, start the throwaway services (PostgreSQL,
#               Redis, SMTP sink…), run every test (ctest), stop what it started, then the
#               gates: line coverage >= 90% and clang-tidy on the last commit's sources
#   make demo   offline demo: assistantd syncing to vapi-sim (no internet, no Vapi account)
#   make fuzz   run the libFuzzer targets (FUZZ_SECONDS each, default 60; FUZZ_TARGET=one)
#   make security  the attack suite (sqlmap, slowhttptest, floods) against a throwaway
#               instance, with a report (a few minutes; SECURITY_QUICK=1 for a shorter run)
# Other targets: build, dev-test (ASan+UBSan), bench, coverage, clean.

SHELL := /bin/bash
PRESET ?= ci
BUILD_DIR := build
LISTEN ?= 127.0.0.1:8080
JOBS ?= $(shell nproc)

.PHONY: run demo test build deps test-deps dev-test bench coverage fuzz fuzzers security clean

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --test

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

run: build
	@./scripts/run.sh $(LISTEN)

demo: build
	@./scripts/demo.sh

# The fuzz targets (clang 14, ASan + UBSan) in build-fuzz/; make test replays their corpora.
fuzzers: test-deps
	@cmake --preset fuzz >/dev/null
	@cmake --build build-fuzz --target fuzzers -j $(JOBS)

fuzz: fuzzers
	@./scripts/fuzz.sh

security: build
	@./scripts/install-deps.sh --security
	@python3 scripts/security.py $(CURDIR)/$(BUILD_DIR)/assistantd

# The coverage preset (build-coverage/): every test, then the line-coverage (>= 90%) and
# clang-tidy gates (scripts/test.sh); ctest's summary line comes last.
test: test-deps fuzzers
	@npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error >/dev/null
	@JOBS=$(JOBS) FUZZERS=$(CURDIR)/build-fuzz/fuzz ./scripts/test.sh

dev-test: test-deps
	@npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error >/dev/null
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)
	@./scripts/with-test-services.sh bash -c 'cd build-dev && ctest -j $(JOBS) --output-on-failure'

bench: deps
	@./bench/run.sh

# The per-file figures of the last make test (build-coverage/coverage.txt and .html).
coverage:
	@./scripts/coverage.sh

clean:
	rm -rf build build-dev build-coverage build-fuzz
