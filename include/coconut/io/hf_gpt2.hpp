// Pretrained GPT-2 in and out: Hugging Face's safetensors files and config.json.
//
// Names. Hugging Face's GPT2Model calls its tensors
//
//     wte.weight (V, C)   wpe.weight (maxT, C)
//     h.{i}.ln_1.weight / .bias (C)          h.{i}.attn.c_attn.weight (C, 3C) / .bias (3C)
//     h.{i}.attn.c_proj.weight (C, C) / .bias     h.{i}.ln_2.weight / .bias (C)
//     h.{i}.mlp.c_fc.weight (C, 4C) / .bias (4C)  h.{i}.mlp.c_proj.weight (4C, C) / .bias (C)
//     ln_f.weight / .bias (C)
//
// and GPT2LMHeadModel puts "transformer." in front of each (both are read). Ours
// are the same names (gpt_parameter_layout) except wte and wpe, which lack
// ".weight". Besides these, a file may hold the attention-mask buffers
// h.{i}.attn.bias and h.{i}.attn.masked_bias (ignored: our attention builds its
// causal mask) and lm_head.weight, which must equal wte (GPT-2 ties them).
//
// Layout. GPT-2's linear layers are Conv1D modules whose weight is (in, out):
// y = x W + b. Ours are nn.Linear's (out, in): y = x W^T + b. The four linear
// weights of each block are therefore transposed on the way in and out.
//
// Vocabulary. The file's wte has V_file rows (50257 for GPT-2). The model's
// vocabulary may be larger: rows V_file.. stay zero for the latent tokens that
// add_latent_tokens fills, and rows vocab_size..padded_vocab_size are padding.
//
// Checks. config.json beside the weights is required (it is the only place that
// says how many heads the model has) and must agree with the compile-time
// config. Every disagreement between file and model is an error that names it:
// layers, heads, width, vocabulary, positions, a missing or extra tensor, a wrong
// shape or dtype (and, from safetensors.hpp, a truncated file or lying offsets).
// A model with rotary positions or previous-token mixing (model/config.hpp) is not
// GPT-2 and is refused.
//
//     GPT<GPT2SmallCoconut> model;
//     const int V = load_hf_gpt2<GPT2SmallCoconut>(model.params(), "gpt2/model.safetensors");
//     const SpecialTokens special = add_latent_tokens<GPT2SmallCoconut>(model.params(), V);
//     ... train ...
//     export_hf_gpt2<GPT2SmallCoconut>(model.params(), "out/model.safetensors");
//     // from Python: GPT2LMHeadModel.from_pretrained("out")
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/data/layout.hpp"
#include "coconut/io/safetensors.hpp"
#include "coconut/model/config.hpp"
#include "coconut/model/gpt.hpp"
#include "coconut/tensor/arena.hpp"

namespace coconut {

// ---- names and layouts -------------------------------------------------------------

// Our parameter name -> Hugging Face's (without the "transformer." prefix).
inline std::string hf_gpt2_name(const std::string& ours) {
  return ours == "wte" || ours == "wpe" ? ours + ".weight" : ours;
}
inline std::string our_gpt2_name(const std::string& hf) {
  return hf == "wte.weight" || hf == "wpe.weight" ? hf.substr(0, 3) : hf;
}

// The four linear weights of a block, stored (in, out) by GPT-2's Conv1D.
inline bool is_conv1d_weight(const std::string& ours) {
  return ours.ends_with("attn.c_attn.weight") || ours.ends_with("c_proj.weight") || ours.ends_with("mlp.c_fc.weight");
}

// The directory's config.json, for a weights file `path`.
inline std::string config_json_beside(const std::string& path) {
  return (std::filesystem::path(path).parent_path() / "config.json").string();
}

// ---- config.json -------------------------------------------------------------------

// Checks Hugging Face's config.json against the compile-time config; returns its
// vocab_size.
template <class Config>
int check_hf_gpt2_config(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error(path + ": cannot open (a config.json beside the weights is required: it is the only "
                             "place that says how many heads the model has)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
  const auto fail = [&](const std::string& what) { throw std::runtime_error(path + ": " + what); };
  const std::string model = "the model '" + std::string(Config::name) + "'";
  const auto integer = [&](const char* key) -> long long {
    if (!j.contains(key)) fail("no \"" + std::string(key) + "\"");
    if (!j[key].is_number_integer()) fail("\"" + std::string(key) + "\" is not an integer");
    return j[key].get<long long>();
  };
  const auto expect = [&](const char* key, long long value, const char* meaning) {
    const long long got = integer(key);
    if (got != value)
      fail(std::string(meaning) + ": " + key + " is " + std::to_string(got) + ", " + model + " has " +
           std::to_string(value));
  };
  if (j.contains("model_type") && j["model_type"] != "gpt2")
    fail("model_type is " + j["model_type"].dump() + ", not \"gpt2\"");
  expect("n_layer", Config::n_layer, "layers");
  expect("n_head", Config::n_head, "heads");
  expect("n_embd", Config::n_embd, "width");
  expect(j.contains("n_positions") ? "n_positions" : "n_ctx", Config::block_size, "positions (block_size)");
  const long long vocab = integer("vocab_size");
  if (vocab < 1 || vocab > Config::vocab_size)
    fail("vocabulary: vocab_size is " + std::to_string(vocab) + ", " + model + " has room for " +
         std::to_string(Config::vocab_size));
  if (j.contains("activation_function")) {
    const auto act = j["activation_function"];
    if (act != "gelu_new" && act != "gelu_pytorch_tanh")
      fail("activation_function is " + act.dump() + "; this model computes GPT-2's tanh GELU (\"gelu_new\")");
  }
  if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"] == false)
    fail("tie_word_embeddings is false; this model's LM head is the token embedding");
  if (j.contains("n_inner") && !j["n_inner"].is_null() && j["n_inner"] != 4 * Config::n_embd)
    fail("n_inner is " + j["n_inner"].dump() + ", the MLP of " + model + " is 4 * n_embd = " +
         std::to_string(4 * Config::n_embd));
  return int(vocab);
}

template <class Config>
nlohmann::json hf_gpt2_config(int vocab_size) {
  // The dropout rates and initializer_range are GPT-2's (they matter only to
  // further training in PyTorch); everything else describes this model.
  return {{"architectures", {"GPT2LMHeadModel"}},
          {"model_type", "gpt2"},
          {"activation_function", "gelu_new"},
          {"n_layer", Config::n_layer},
          {"n_head", Config::n_head},
          {"n_embd", Config::n_embd},
          {"n_inner", nullptr},
          {"n_positions", Config::block_size},
          {"n_ctx", Config::block_size},
          {"vocab_size", vocab_size},
          {"layer_norm_epsilon", 1e-5},
          {"initializer_range", 0.02},
          {"attn_pdrop", 0.1},
          {"embd_pdrop", 0.1},
          {"resid_pdrop", 0.1},
          {"scale_attn_weights", true},
          {"tie_word_embeddings", true},
          {"use_cache", true},
          {"torch_dtype", "float32"}};
}

// A model with rotary positions or previous-token mixing is not GPT-2.
template <class Config>
void require_gpt2_architecture(const std::string& path) {
  if (position_encoding<Config>() != PositionEncoding::learned)
    throw std::invalid_argument(path + ": model '" + std::string(Config::name) +
                                "' has rotary positions; Hugging Face GPT-2 has a learned position table (wpe)");
  if (previous_tokens<Config>() > 0)
    throw std::invalid_argument(path + ": model '" + std::string(Config::name) +
                                "' mixes previous tokens into its inputs, which Hugging Face GPT-2 does not");
}

// ---- import --------------------------------------------------------------------------

// Reads a Hugging Face GPT-2 safetensors file (and the config.json beside it) into
// `params`, a parameter arena of gpt_parameter_layout<Config>. Returns the number
// of vocabulary rows the file held; rows beyond it are set to zero.
template <class Config, class T>
int load_hf_gpt2(Arena<T>& params, const std::string& path) {
  require_gpt2_architecture<Config>(path);
  constexpr long long C = Config::n_embd;
  const int config_vocab = check_hf_gpt2_config<Config>(config_json_beside(path));
  const SafetensorsFile file(path);
  const std::string model = "the model '" + std::string(Config::name) + "'";
  const Layout& layout = params.layout();

  // Our name -> the file's tensor; the buffers we ignore; lm_head if present.
  std::map<std::string, const SafetensorsFile::Tensor*> found;
  const SafetensorsFile::Tensor* lm_head = nullptr;
  int file_layers = 0;
  for (const auto& t : file.tensors()) {
    const std::string hf = t.name.starts_with("transformer.") ? t.name.substr(12) : t.name;
    if (hf.ends_with(".attn.bias") || hf.ends_with(".attn.masked_bias")) continue;
    if (hf == "lm_head.weight") {
      lm_head = &t;
      continue;
    }
    if (hf.starts_with("h.")) {  // h.{i}.*: count the file's layers (an absurd i is just an extra tensor)
      const long i = std::strtol(hf.c_str() + 2, nullptr, 10);
      if (i >= 0 && i < 100000) file_layers = std::max(file_layers, int(i) + 1);
    }
    const std::string ours = our_gpt2_name(hf);
    if (!layout.contains(ours) && file_layers <= Config::n_layer)
      file.fail("extra tensor '" + t.name + "': no parameter of " + model + " is called that");
    if (found.count(ours)) file.fail("tensor '" + t.name + "' appears twice (with and without 'transformer.')");
    found[ours] = &t;
  }
  if (file_layers != Config::n_layer)
    file.fail("layers: the file has " + std::to_string(file_layers) + " (h.0 .. h." + std::to_string(file_layers - 1) +
              "), " + model + " has n_layer=" + std::to_string(Config::n_layer));
  for (const auto& e : layout.entries())
    if (!found.count(e.name)) file.fail("missing tensor '" + hf_gpt2_name(e.name) + "'");

  // Shapes and dtypes, all checked before anything is copied.
  int file_vocab = 0;
  for (const auto& e : layout.entries()) {
    const auto& t = *found.at(e.name);
    if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16")
      file.fail("tensor '" + t.name + "' has dtype " + t.dtype + "; expected F32, F16 or BF16");
    std::vector<std::int64_t> expected(e.shape.begin(), e.shape.end());
    if (is_conv1d_weight(e.name)) std::reverse(expected.begin(), expected.end());
    if (e.name == "wte") {
      if (t.shape.size() != 2 || t.shape[1] != C)
        file.fail("width: tensor '" + t.name + "' has shape " + shape_string(t.shape) + ", " + model +
                  " has n_embd=" + std::to_string(C));
      if (t.shape[0] != config_vocab || t.shape[0] > Config::vocab_size)
        file.fail("vocabulary: tensor '" + t.name + "' has " + std::to_string(t.shape[0]) + " rows; config.json says " +
                  std::to_string(config_vocab) + ", " + model + " has room for " + std::to_string(Config::vocab_size));
      file_vocab = int(t.shape[0]);
      continue;
    }
    if (t.shape != expected)
      file.fail(std::string(e.name == "wpe" ? "positions: " : "") + "tensor '" + t.name + "' has shape " +
                shape_string(t.shape) + ", expected " + shape_string(expected) +
                (is_conv1d_weight(e.name) ? " (Conv1D's (in, out) layout)" : ""));
  }

  // Copy, converting to T and transposing the Conv1D weights into (out, in).
  params.zero();
  for (const auto& e : layout.entries()) {
    const auto& t = *found.at(e.name);
    const std::vector<float> values = file.read(t.name);
    T* dst = params.ptr(e.name);
    if (is_conv1d_weight(e.name)) {
      const Index out = e.shape[0], in = e.shape[1];  // the file holds (in, out)
      for (Index i = 0; i < in; ++i)
        for (Index o = 0; o < out; ++o) dst[o * in + i] = T(values[std::size_t(i * out + o)]);
    } else {
      std::transform(values.begin(), values.end(), dst, [](float v) { return T(v); });
    }
  }

  if (lm_head) {
    const std::vector<float> head = file.read(lm_head->name);
    const std::vector<float> wte = file.read(found.at("wte")->name);
    if (lm_head->shape != found.at("wte")->shape || head != wte)
      file.fail("tensor '" + lm_head->name + "' differs from wte.weight; this model ties its LM head to the token "
                "embedding and cannot hold a separate one");
  }
  return file_vocab;
}

// ---- export ----------------------------------------------------------------------------

// Writes `params` as Hugging Face GPT-2 (F32, Conv1D layout, names without the
// "transformer." prefix, which GPT2LMHeadModel.from_pretrained accepts) to `path`,
// and config.json beside it. Only the first `vocab_size` rows of wte are written
// (the padding rows are ours, not the model's).
template <class Config, class T>
void export_hf_gpt2(const Arena<T>& params, const std::string& path, int vocab_size = Config::vocab_size) {
  require_gpt2_architecture<Config>(path);
  if (vocab_size < 1 || vocab_size > Config::padded_vocab_size)
    throw std::invalid_argument(path + ": cannot export " + std::to_string(vocab_size) + " vocabulary rows from '" +
                                std::string(Config::name) + "', whose wte has " +
                                std::to_string(Config::padded_vocab_size));
  const Layout& layout = params.layout();
  std::vector<std::vector<float>> storage;  // the converted tensors, kept alive until written
  std::vector<SafetensorsEntry> entries;
  storage.reserve(layout.entries().size());
  for (const auto& e : layout.entries()) {
    const T* src = params.data() + e.offset;
    std::vector<std::int64_t> shape(e.shape.begin(), e.shape.end());
    std::vector<float> values;
    if (is_conv1d_weight(e.name)) {
      const Index out = e.shape[0], in = e.shape[1];
      values.resize(std::size_t(out * in));
      for (Index o = 0; o < out; ++o)
        for (Index i = 0; i < in; ++i) values[std::size_t(i * out + o)] = float(src[o * in + i]);
      std::reverse(shape.begin(), shape.end());
    } else {
      const Index n = e.name == "wte" ? Index(vocab_size) * e.shape[1] : e.size;
      if (e.name == "wte") shape[0] = vocab_size;
      values.assign(src, src + n);
    }
    storage.push_back(std::move(values));
    entries.push_back({hf_gpt2_name(e.name), std::move(shape), storage.back()});
  }
  write_safetensors(path, entries, {{"format", "pt"}});  // transformers refuses files without format "pt"
  const std::string config = hf_gpt2_config<Config>(vocab_size).dump(2) + "\n";
  write_atomically(config_json_beside(path), config);
}

// ---- latent tokens -------------------------------------------------------------------

// The token whose embedding the reference gives the three new tokens: "<<", id
// 16791 in GPT-2's vocabulary. facebookresearch/coconut's run.py resizes the
// embedding and copies the row of tokenizer.convert_tokens_to_ids("<<") into
// each new row ("it helps stabilize the training").
inline constexpr int kGpt2LatentInitToken = 16791;

// Whether a compile-time config has room for the three latent tokens after a base
// vocabulary of `base_vocab` tokens; for a static_assert.
template <class Config>
constexpr bool has_room_for_latent_tokens(int base_vocab) {
  return base_vocab >= 1 && base_vocab + 3 <= Config::vocab_size && Config::vocab_size <= Config::padded_vocab_size;
}

// GPT-2 124M with room for the latent tokens: 50257 + 3 = 50260 real rows, still
// padded to 50304 (a multiple of 128).
struct GPT2SmallCoconut {
  static constexpr std::string_view name = "gpt2-coconut";
  static constexpr int n_layer = 12;
  static constexpr int n_head = 12;
  static constexpr int n_embd = 768;
  static constexpr int vocab_size = 50260;
  static constexpr int padded_vocab_size = 50304;
  static constexpr int block_size = 1024;
};
static_assert(has_room_for_latent_tokens<GPT2SmallCoconut>(50257),
              "GPT2SmallCoconut must hold GPT-2's 50257 tokens plus the three latent tokens");

// Grows the vocabulary of a loaded model by <|start-latent|>, <|end-latent|> and
// <|latent|> (ids base_vocab, base_vocab+1, base_vocab+2: the order in which the
// reference adds them), each initialised with a copy of row `copy_from` of wte.
// `eos` is the end-of-text id; by default the last base token, which is GPT-2's
// <|endoftext|> (50256). The padded vocabulary is
// unchanged: the config must have room (has_room_for_latent_tokens).
template <class Config, class T>
SpecialTokens add_latent_tokens(Arena<T>& params, int base_vocab, int copy_from = kGpt2LatentInitToken,
                                int eos = -1) {
  if (!has_room_for_latent_tokens<Config>(base_vocab))
    throw std::invalid_argument("add_latent_tokens: the model '" + std::string(Config::name) + "' has vocab_size " +
                                std::to_string(Config::vocab_size) + ", no room for 3 latent tokens after " +
                                std::to_string(base_vocab) + " base tokens (it needs vocab_size >= " +
                                std::to_string(base_vocab + 3) + ")");
  if (copy_from < 0 || copy_from >= base_vocab)
    throw std::invalid_argument("add_latent_tokens: the token to copy, " + std::to_string(copy_from) +
                                ", is not among the " + std::to_string(base_vocab) + " base tokens");
  auto wte = params.template view<2>("wte", {Config::padded_vocab_size, Config::n_embd});
  for (int id = base_vocab; id < base_vocab + 3; ++id) wte.chip(id, 0) = wte.chip(copy_from, 0);
  return {.bot = base_vocab, .eot = base_vocab + 1, .latent = base_vocab + 2, .eos = eos < 0 ? base_vocab - 1 : eos};
}

}  // namespace coconut
