# The two commands a newcomer runs: `make run` and `make test` (see README.md).
# Both install whatever Debian packages are missing, then configure and build with CMake + Ninja.

BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
DATA_DIR ?= data
# A fresh clone at another path still hits the machine's ccache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
export CCACHE_MAXSIZE ?= 5G

.PHONY: all deps build run test bench demo fuzz clean format

all: build

JS_DIR := tests/e2e/js

deps: $(JS_DIR)/node_modules/.installed
	@scripts/install-deps.sh build test

# Real JS clients for the e2e tests, pinned by the committed lockfile.
$(JS_DIR)/node_modules/.installed: $(JS_DIR)/package-lock.json
	@scripts/install-deps.sh build test
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p $(DATA_DIR)
	$(BUILD_DIR)/oriel serve --data-dir $(DATA_DIR)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Peer systems side by side on this machine; writes BENCHMARKS.md (BENCH_FLAGS=--quick: under 3 min).
bench: build
	scripts/install-deps.sh bench && python3 bench/run.py --build-dir $(BUILD_DIR) $(BENCH_FLAGS)

# Oriel on its default ports with a load generator feeding it; Ctrl-C stops both.
demo: build
	BUILD_DIR=$(BUILD_DIR) bench/demo.sh

clean:
	rm -rf $(BUILD_DIR)

format:
	find src tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

# Fuzz every *_fuzz target with libFuzzer for FUZZ_SECONDS each (clang, ASan/UBSan).
FUZZ_SECONDS ?= 30
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORIEL_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS) --target $$(cmake --build build-fuzz --target help | sed -n 's/^\([a-z_]*_fuzz\):.*/\1/p')
	for t in $$(find build-fuzz -name '*_fuzz' -type f -executable); do \
	  n=$$(basename $$t); mkdir -p build-fuzz/corpus/$$n; \
	  $$t -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$n fuzz/$$n || exit 1; done
