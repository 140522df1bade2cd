// Model shapes are compile-time configuration.
//
// A config is any type with these six static members; the model checks them with
// static_asserts (check_config below), so a bad shape is a compile error with a
// message, not a crash. Batch size and sequence length are chosen at run time.
// Two more are optional: `positions` chooses how the model knows positions
// (PositionEncoding below; without it GPT-2's learned table), and
// `previous_tokens` = K mixes each input embedding with the K before it
// (previous_tokens() below; without it 0, GPT-2).
#pragma once

#include <array>
#include <stdexcept>
#include <string>
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

// Previous-token mixing: the input of position t is its embedding x[t] plus
// learned per-channel multiples of the K embeddings before it,
//     x[t] + w_1 * x[t-1] + ... + w_K * x[t-K]      (w_k: C weights, initially 0)
// (a causal depthwise convolution of the input embeddings, as the "canon layers"
// of Allen-Zhu 2025 and the "smeared keys" of Olsson et al. 2022). A position then
// holds its neighbours' tokens before any attention: in ProsQA's "Every X is a Y"
// the position of Y holds X, so that one head can match X in a question and copy
// Y, where GPT-2 needs a first layer of heads to bring X over (an induction
// circuit, slow to form from scratch: docs/RESULTS.md).
template <class Config>
constexpr int previous_tokens() {
  if constexpr (requires { Config::previous_tokens; })
    return Config::previous_tokens;
  else
    return 0;
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

// Tiny with rotary positions and previous-token mixing over 3 positions.
struct TinyMixed : TinyRotary {
  static constexpr std::string_view name = "tiny-mixed";
  static constexpr int previous_tokens = 3;
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

// MiniRotary whose inputs mix in the 3 tokens before them (previous_tokens above):
// the subject of "Every X is a Y" is 3 tokens before its object.
struct MiniMixed : MiniRotary {
  static constexpr std::string_view name = "mini-mixed";
  static constexpr int previous_tokens = 3;
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

// Wide with MiniMixed's rotary positions and previous-token mixing: MiniMixed at
// twice the width and heads, for the question whether Mini's 128 components are
// too few to hold a search's frontier (several nodes at once) on large graphs.
struct WideMixed : Wide {
  static constexpr std::string_view name = "wide-mixed";
  static constexpr PositionEncoding positions = PositionEncoding::rotary;
  static constexpr int previous_tokens = 3;
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
  static_assert(previous_tokens<Config>() >= 0 && previous_tokens<Config>() < Config::block_size,
                "model config: previous_tokens must be in [0, block_size)");
  return true;
}

// ---- configs by name --------------------------------------------------------------

// The configs of models with a word-level vocabulary (128 ids at most): the shapes a
// program picks by name at run time (coconut_train --config, or the name a saved
// model records). GPT2Small, whose vocabulary is GPT-2's BPE, is not among them.
template <class... Configs>
struct ConfigList {};
using WordConfigs = ConfigList<Tiny, Mini, MiniRotary, MiniRotaryH8, MiniMixed, Wide, WideMixed, Small>;

namespace detail {
template <class... Configs>
constexpr std::array<std::string_view, sizeof...(Configs)> names_of(ConfigList<Configs...>) {
  return {Configs::name...};
}
}  // namespace detail

inline constexpr auto word_config_names = detail::names_of(WordConfigs{});

// "tiny, mini, ...": the names, for messages.
inline std::string word_config_list() {
  std::string list;
  for (auto name : word_config_names) list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

namespace detail {
template <class F, class First, class... Rest>
decltype(auto) with_config_in(std::string_view name, F& f, ConfigList<First, Rest...>) {
  if (name == First::name) return f.template operator()<First>();
  if constexpr (sizeof...(Rest) > 0)
    return with_config_in(name, f, ConfigList<Rest...>{});
  else
    throw std::invalid_argument("unknown model config '" + std::string(name) + "' (word-model configs: " +
                                word_config_list() + ")");
}
}  // namespace detail

// Calls f.template operator()<Config>() for the word-model config called `name`
// and returns what it returns; an unknown name is an std::invalid_argument that
// lists the known ones.
//     with_word_config(name, [&]<class Config>() { TrainedModel<Config> m(path); ... });
template <class F>
decltype(auto) with_word_config(std::string_view name, F&& f) {
  return detail::with_config_in(name, f, WordConfigs{});
}

}  // namespace coconut
