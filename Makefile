# Thin wrapper around CMake (README.md quick start).
#   make demo   install what is missing, build, run the demo on a shipped example
#   make test   build and run the whole test suite through ctest
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build test test-sanitize test-tsan fuzz fuzz-smoke demo clean conformance-fixtures

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The sanitizer suite (docs/reliability.md): an ASan + UBSan build
# (-fno-sanitize-recover=all) in $(BUILD_SAN), running the tests labelled
# "sanitize" (every input path: front end, safetensors, .npy, JIT, runtime).
BUILD_SAN ?= build-sanitize
test-sanitize: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DACTC_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_SAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  ctest --test-dir $(BUILD_SAN) -L sanitize --output-on-failure -j $(JOBS)

# ThreadSanitizer (docs/reliability.md): clang-19, OpenMP off, the tests
# labelled "tsan" (a plain C driver: Criterion does not survive TSan).
BUILD_TSAN ?= build-tsan
test-tsan: deps
	CC=clang-19 cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTC_TSAN=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target tsan_concurrency
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir $(BUILD_TSAN) -L tsan --output-on-failure

# Fuzzing (docs/reliability.md): clang-19 libFuzzer + ASan/UBSan build in
# build-fuzz, each harness for FUZZ_SECONDS; findings in tests/fuzz/findings.
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run_fuzz.sh -B build-fuzz -t $(FUZZ_SECONDS)

# CI's share of fuzzing: every harness for a fixed number of executions
# (fixed seed) from its seed corpus; any finding fails.  OpenMP off: clang-19
# needs a libomp that a fresh image may not have, and the harnesses run one
# thread.
FUZZ_RUNS ?= 3000
fuzz-smoke: deps
	FUZZ_NICE=0 FUZZ_CMAKE_ARGS=-DACTC_OPENMP=OFF tests/fuzz/run_fuzz.sh -B build-fuzz-smoke -n $(FUZZ_RUNS)

demo: build
	@scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_TSAN) build-fuzz build-fuzz-smoke

# Regenerate tests/conformance/fixtures/ with PyTorch (python3-torch, the system
# Python); tests/conformance/README.md.
conformance-fixtures:
	/usr/bin/python3 tests/conformance/make_fixtures.py
