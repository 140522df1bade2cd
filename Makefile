# Convenience targets. The build itself is CMake; these wrap it so that a fresh
# Debian/Ubuntu machine needs only two commands: `make demo` and `make test`.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all deps configure build demo test bench clean

all: build

deps:
	@bash cmake/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Trains a small model on an embedded task and prints what it learned.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target demo

# Builds every program and runs every Boost.Test suite through CTest.
test: build
	cd $(BUILD) && ctest --output-on-failure

# Builds and runs the benchmark programs in bench/.
bench: configure
	cmake --build $(BUILD) -j $(JOBS) --target bench

clean:
	rm -rf $(BUILD)
