// Model shapes are compile-time configuration.
//
// A config is any type with these six static members; the model checks them with
// static_asserts (check_config below), so a bad shape is a compile error with a
// message, not a crash. Batch size and sequence length are chosen at run time.
// A seventh, optional, chooses how the model knows positions (PositionEncoding
// below); without it a config is GPT-2's learned table.
#pragma once

#include <string_view>

namespace coconut {

// How positions enter the model.
//   learned: GPT-2's table wpe (block_size, C), added to the input embeddings.
//   rotary:  no table; each head's queries and keys are rotated by an angle
//            proportional to their position (kernels/rotary.hpp), so attention
//            scores depend on distances. The head size must be even.
enum class PositionEncoding { learned, rotary };

template <class Config>
constexpr PositionEncoding position_encoding() {
  if constexpr (requires { Config::positions; })
    return Config::positions;
  else
    return PositionEncoding::learned;
}

// Tiny: the shape of the unit tests and of the golden PyTorch fixture.
struct Tiny {
  static constexpr std::string_view name = "tiny";
  static constexpr int n_layer = 2;
  static constexpr int n_head = 2;
  static constexpr int n_embd = 16;
  static constexpr int vocab_size = 30;
  static constexpr int padded_vocab_size = 32;
  static constexpr int block_size = 16;
};

// Tiny with rotary positions: the shape of the rotary model's tests.
struct TinyRotary : Tiny {
  static constexpr std::string_view name = "tiny-rotary";
  static constexpr PositionEncoding positions = PositionEncoding::rotary;
};

// Small: for the synthetic reasoning tasks (ProsQA, ProntoQA) with word-level
// vocabularies, whose sequences run to about 400 tokens.
struct Small {
  static constexpr std::string_view name = "small";
  static constexpr int n_layer = 4;
  static constexpr int n_head = 4;
  static constexpr int n_embd = 256;
  static constexpr int vocab_size = 128;
  static constexpr int padded_vocab_size = 128;
  static constexpr int block_size = 512;
};

// Mini: Small at a quarter of the compute per token: the shape of the long ProsQA
// runs on two cores and of the shipped models (examples/models/).
struct Mini {
  static constexpr std::string_view name = "mini";
  static constexpr int n_layer = 2;
  static constexpr int n_head = 4;
  static constexpr int n_embd = 128;
  static constexpr int vocab_size = 128;
  static constexpr int padded_vocab_size = 128;
  static constexpr int block_size = 512;
};

// Mini with rotary positions instead of the learned table (the same shape, less
// 512 x 128 parameters). Every step of a ProsQA chain copies the word that stands
// three places after a name in the question; with rotary positions that offset is
// one direction for every position, where Mini trained from scratch must learn it
// position by position (docs/RESULTS.md).
struct MiniRotary : Mini {
  static constexpr std::string_view name = "mini-rotary";
  static constexpr PositionEncoding positions = PositionEncoding::rotary;
};

// MiniRotary with 8 heads of 16 instead of 4 of 32: the same compute per token,
// twice the attention patterns per layer.
struct MiniRotaryH8 : MiniRotary {
  static constexpr std::string_view name = "mini-rotary-h8";
  static constexpr int n_head = 8;
};

// Wide: Mini at twice the width and heads (about 3.4 times its compute per token).
// Two layers of eight heads is the shape Zhu et al. (2025, "Reasoning by
// Superposition") train from scratch on ProsQA, there 768 wide.
struct Wide {
  static constexpr std::string_view name = "wide";
  static constexpr int n_layer = 2;
  static constexpr int n_head = 8;
  static constexpr int n_embd = 256;
  static constexpr int vocab_size = 128;
  static constexpr int padded_vocab_size = 128;
  static constexpr int block_size = 512;
};

// GPT-2 124M (Radford et al. 2019); the vocabulary padded to a multiple of 128.
struct GPT2Small {
  static constexpr std::string_view name = "gpt2";
  static constexpr int n_layer = 12;
  static constexpr int n_head = 12;
  static constexpr int n_embd = 768;
  static constexpr int vocab_size = 50257;
  static constexpr int padded_vocab_size = 50304;
  static constexpr int block_size = 1024;
};

template <class Config>
constexpr bool check_config() {
  static_assert(Config::n_layer >= 1, "model config: n_layer must be at least 1");
  static_assert(Config::n_head >= 1, "model config: n_head must be at least 1");
  static_assert(Config::n_embd % Config::n_head == 0, "model config: n_embd must be divisible by n_head");
  static_assert(Config::vocab_size >= 1, "model config: vocab_size must be at least 1");
  static_assert(Config::padded_vocab_size >= Config::vocab_size,
                "model config: padded_vocab_size must be at least vocab_size");
  static_assert(Config::block_size >= 1, "model config: block_size (the longest sequence) must be at least 1");
  static_assert(position_encoding<Config>() != PositionEncoding::rotary || (Config::n_embd / Config::n_head) % 2 == 0,
                "model config: rotary positions turn pairs of components: the head size n_embd/n_head must be even");
  return true;
}

}  // namespace coconut
