# Front door. `make run` and `make test` work on a fresh Debian 12 machine: both install
# the dependencies (idempotent), configure with Ninja + ccache, build, then act.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# Let ccache hit across clones in different folders (CI builds in a fresh clone).
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: all deps configure build run test test-all bench clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DPython3_EXECUTABLE=/usr/bin/python3 $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/tools/tessera/tessera explore --out out/explore

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

test-all: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# SIMBENCH_FLAGS: e.g. --quick, or --designs systolic16 --cycles 1000,100000 (see
# `tessera-simbench --help`).
SIMBENCH_FLAGS ?=
bench: build
	$(BUILD)/bench/tessera-bench
	$(BUILD)/bench/tessera-simbench --work $(BUILD)/simbench --md docs/sim-benchmark.md \
	  --json docs/sim-benchmark.json $(SIMBENCH_FLAGS)
	$(BUILD)/bench/tessera-hlsbench --work $(BUILD)/hlsbench --synth-timeout 240 --md docs/hls-results.md \
	  --json docs/hls-results.json

clean:
	rm -rf $(BUILD)
