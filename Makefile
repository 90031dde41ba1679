# Thin wrapper around CMake (README.md quick start).
#   make demo   install what is missing, build, run the demo on a shipped example
#   make test   build and run the whole test suite through ctest
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build test demo clean conformance-fixtures

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

demo: build
	@scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# Regenerate tests/conformance/fixtures/ with PyTorch (python3-torch, the system
# Python); tests/conformance/README.md.
conformance-fixtures:
	/usr/bin/python3 tests/conformance/make_fixtures.py
