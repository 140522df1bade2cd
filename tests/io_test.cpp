// Weights in and out (Hugging Face safetensors + config.json) and GPT-2's
// byte-level BPE. The golden model is tests/golden/hf_gpt2_tiny, written by
// tests/golden/make_safetensors_fixture.py.
#define BOOST_TEST_MODULE io
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "coconut/coconut.hpp"

using namespace coconut;
namespace fs = std::filesystem;

namespace {

const std::string kGolden = std::string(COCONUT_TEST_DATA) + "/golden/hf_gpt2_tiny";

// A scratch directory per test, removed afterwards.
struct Scratch {
  fs::path dir;
  Scratch() {
    const auto* test = &boost::unit_test::framework::current_test_case();
    dir = fs::temp_directory_path() / ("coconut_io_test_" + std::to_string(::getpid()) + "_" + test->p_name.get());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Runs `f` and checks that it throws a std::exception whose message holds every
// one of `parts`.
void check_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    for (const auto& p : parts) BOOST_TEST(what.find(p) != std::string::npos, "'" << p << "' not in: " << what);
    return;
  }
  BOOST_ERROR("no exception; expected one mentioning '" << parts.front() << "'");
}

// ---- the golden model ------------------------------------------------------------

struct Expected {
  Batch batch;
  std::vector<double> logits;  // (B, T, V)
};

Expected expected_logits() {
  const auto j = nlohmann::json::parse(read_text(kGolden + "/expected.json"));
  const auto& tokens = j["tokens"];
  Expected e{Batch(Index(tokens.size()), Index(tokens[0].size())), {}};
  for (Index b = 0; b < e.batch.B; ++b)
    for (Index t = 0; t < e.batch.T; ++t) {
      e.batch.tokens[e.batch.at(b, t)] = tokens[b][t].get<int>();
      for (const auto& v : j["logits"][b][t]) e.logits.push_back(v.get<double>());
    }
  return e;
}

// max |ours - theirs| / max |theirs| over the first V logits of every position.
template <class Model>
double logits_error(Model& model, const Expected& e) {
  model.set_batch(e.batch);
  model.forward(0, e.batch.T);
  const Index V = Index(e.logits.size()) / (e.batch.B * e.batch.T);
  double diff = 0, scale = 0;
  for (Index b = 0; b < e.batch.B; ++b)
    for (Index t = 0; t < e.batch.T; ++t)
      for (Index v = 0; v < V; ++v) {
        const double ref = e.logits[std::size_t((b * e.batch.T + t) * V + v)];
        diff = std::max(diff, std::abs(double(model.logits(b, t)[v]) - ref));
        scale = std::max(scale, std::abs(ref));
      }
  return diff / scale;
}

// ---- crafting safetensors files ------------------------------------------------------

// One tensor as raw bytes, to be written honestly or with a lying header.
struct RawTensor {
  std::string name, dtype;
  std::vector<std::int64_t> shape;
  std::string bytes;
};

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), 4 * v.size());
}

// The golden file's tensors as F32 raw tensors (names as in the file).
std::vector<RawTensor> golden_tensors() {
  const SafetensorsFile file(kGolden + "/model.safetensors");
  std::vector<RawTensor> out;
  for (const auto& t : file.tensors()) out.push_back({t.name, t.dtype, t.shape, f32_bytes(file.read(t.name))});
  return out;
}

// Writes `header` (JSON text) and `data` as a safetensors file, whatever they say.
void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  const std::uint64_t n = header.size();
  write_text(path, std::string(reinterpret_cast<const char*>(&n), 8) + header + data);
}

// Writes `tensors` with correct offsets, in order.
void write_tensors(const std::string& path, const std::vector<RawTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& t : tensors) {
    const std::size_t begin = data.size(), end = begin + t.bytes.size();
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, end}}};
    data += t.bytes;
  }
  write_raw(path, header.dump(), data);
}

// A model directory (model.safetensors + config.json) from the golden one, with
// `edit` applied to its tensors and `config_edit` to its config.json.
std::string golden_variant(const Scratch& s, const std::function<void(std::vector<RawTensor>&)>& edit,
                           const std::function<void(nlohmann::json&)>& config_edit = {}) {
  auto tensors = golden_tensors();
  if (edit) edit(tensors);
  write_tensors(s / "model.safetensors", tensors);
  auto config = nlohmann::json::parse(read_text(kGolden + "/config.json"));
  if (config_edit) config_edit(config);
  write_text(s / "config.json", config.dump());
  return s / "model.safetensors";
}

RawTensor& find(std::vector<RawTensor>& tensors, const std::string& name) {
  for (auto& t : tensors)
    if (t.name == name) return t;
  throw std::runtime_error("test: no tensor " + name);
}

template <class Config = Tiny>
void load_into_fresh_model(const std::string& path) {
  GPT<Config, float> model;
  load_hf_gpt2<Config>(model.params(), path);
}

// A Tiny model with room for the three latent tokens after the file's 30.
struct TinyCoconut {
  static constexpr std::string_view name = "tiny-coconut";
  static constexpr int n_layer = 2, n_head = 2, n_embd = 16;
  static constexpr int vocab_size = 33, padded_vocab_size = 40, block_size = 16;
};
static_assert(has_room_for_latent_tokens<TinyCoconut>(30));
static_assert(!has_room_for_latent_tokens<Tiny>(30), "Tiny's vocabulary is full");

}  // namespace

// =====================================================================================
BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(golden_model_reproduces_pytorch_logits) {
  const Expected e = expected_logits();
  GPT<Tiny, double> exact;
  BOOST_TEST(load_hf_gpt2<Tiny>(exact.params(), kGolden + "/model.safetensors") == 30);
  const double err = logits_error(exact, e);
  BOOST_TEST_MESSAGE("double model: logits max relative error " << err);
  BOOST_TEST(err < 1e-5);
  // The padding rows of wte stay zero, so the padding logits are exactly 0.
  BOOST_TEST(exact.logits(0, 0)[30] == 0.0);
  BOOST_TEST(exact.logits(1, 7)[31] == 0.0);

  GPT<Tiny, float> fast;
  load_hf_gpt2<Tiny>(fast.params(), kGolden + "/model.safetensors");
  const double ferr = logits_error(fast, e);
  BOOST_TEST_MESSAGE("float model: logits max relative error " << ferr);
  BOOST_TEST(ferr < 1e-5);
}

BOOST_AUTO_TEST_CASE(conv1d_weights_are_transposed) {
  // c_attn.weight is (C, 3C) in the file and (3C, C) in our arena: ours[o][i] = file[i][o].
  const SafetensorsFile file(kGolden + "/model.safetensors");
  const auto w = file.read("transformer.h.1.attn.c_attn.weight");
  GPT<Tiny, float> model;
  load_hf_gpt2<Tiny>(model.params(), kGolden + "/model.safetensors");
  auto ours = model.params().view<2>("h.1.attn.c_attn.weight", {48, 16});
  BOOST_TEST(ours(5, 3) == w[3 * 48 + 5]);
  BOOST_TEST(ours(47, 15) == w[15 * 48 + 47]);
}

BOOST_AUTO_TEST_CASE(export_then_reload_is_identical) {
  Scratch s;
  GPT<Tiny, float> model;
  load_hf_gpt2<Tiny>(model.params(), kGolden + "/model.safetensors");
  export_hf_gpt2<Tiny>(model.params(), s / "model.safetensors");

  // What Hugging Face will see: no prefix, Conv1D layout, 30 vocabulary rows, format "pt".
  const SafetensorsFile file(s / "model.safetensors");
  BOOST_TEST(file.metadata().at("format") == "pt");
  BOOST_TEST(file.tensors().size() == model.params().layout().entries().size());
  BOOST_TEST((file.at("wte.weight").shape == std::vector<std::int64_t>{30, 16}));
  BOOST_TEST((file.at("h.0.mlp.c_fc.weight").shape == std::vector<std::int64_t>{16, 64}));
  BOOST_TEST(!file.contains("transformer.wte.weight"));
  const auto config = nlohmann::json::parse(read_text(s / "config.json"));
  BOOST_TEST(config["architectures"][0] == "GPT2LMHeadModel");
  BOOST_TEST(config["model_type"] == "gpt2");
  BOOST_TEST(config["activation_function"] == "gelu_new");
  BOOST_TEST(config["vocab_size"] == 30);
  BOOST_TEST(config["n_ctx"] == 16);
  BOOST_TEST(!fs::exists(s / "model.safetensors.tmp"));

  GPT<Tiny, float> again;
  load_hf_gpt2<Tiny>(again.params(), s / "model.safetensors");
  const auto a = model.params().span(), b = again.params().span();
  BOOST_TEST(std::equal(a.begin(), a.end(), b.begin()));
  BOOST_TEST(logits_error(again, expected_logits()) < 1e-5);
}

BOOST_AUTO_TEST_CASE(half_precision_is_converted) {
  Scratch s;
  // Bit patterns and their values: one, minus two, the largest half, the smallest
  // subnormal, the largest subnormal, the smallest normal, minus zero, infinity, 1/3.
  const std::vector<std::uint16_t> f16 = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x7C00, 0x3555};
  const float tiny = std::ldexp(1.0f, -24);
  const std::vector<float> f16_values = {1.0f,  -2.0f,    65504.0f, tiny, 1023 * tiny, std::ldexp(1.0f, -14),
                                         -0.0f, INFINITY, 0.333251953125f};
  const std::vector<std::uint16_t> bf16 = {0x3F80, 0xC040, 0x4049, 0x0001};
  const std::vector<float> bf16_values = {1.0f, -3.0f, 3.140625f, std::bit_cast<float>(std::uint32_t(0x00010000))};
  const auto raw = [](const std::vector<std::uint16_t>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), 2 * v.size());
  };
  write_tensors(s / "half.safetensors", {{"a", "F16", {3, 3}, raw(f16)}, {"b", "BF16", {4}, raw(bf16)},
                                          {"nan", "F16", {1}, raw({0x7E00})}});
  const SafetensorsFile file(s / "half.safetensors");
  BOOST_TEST(file.read("a") == f16_values, boost::test_tools::per_element());
  BOOST_TEST(std::signbit(file.read("a")[6]));
  BOOST_TEST(file.read("b") == bf16_values, boost::test_tools::per_element());
  BOOST_TEST(std::isnan(file.read("nan")[0]));

  // A whole model whose LayerNorm weights are stored as BF16 loads.
  const std::string path = golden_variant(s, [&](std::vector<RawTensor>& t) {
    RawTensor& w = find(t, "transformer.ln_f.weight");
    w = {w.name, "BF16", w.shape, raw(std::vector<std::uint16_t>(16, 0x4000))};  // 2.0
  });
  GPT<Tiny, float> model;
  load_hf_gpt2<Tiny>(model.params(), path);
  BOOST_TEST(model.params().span("ln_f.weight")[7] == 2.0f);
}

BOOST_AUTO_TEST_CASE(write_and_read_back_with_metadata) {
  Scratch s;
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {-1};
  write_safetensors(s / "x.safetensors", {{"a", {2, 3}, a}, {"b", {}, b}}, {{"note", "hello"}});
  const SafetensorsFile file(s / "x.safetensors");
  BOOST_TEST(file.metadata().at("note") == "hello");
  BOOST_TEST(file.read("a") == a, boost::test_tools::per_element());
  BOOST_TEST(file.at("b").shape.empty());  // a scalar
  BOOST_TEST(file.read("b")[0] == -1.0f);
  // The header is padded to a multiple of 8 bytes, so the data is aligned.
  std::uint64_t n;
  std::memcpy(&n, read_text(s / "x.safetensors").data(), 8);
  BOOST_TEST(n % 8 == 0u);
}

BOOST_AUTO_TEST_CASE(prefixless_names_and_ignored_buffers_load) {
  Scratch s;
  const std::string path = golden_variant(s, [](std::vector<RawTensor>& t) {
    for (auto& x : t)
      if (x.name.starts_with("transformer.")) x.name = x.name.substr(12);
    t.push_back({"h.0.attn.masked_bias", "F32", {}, f32_bytes({-1e4f})});
    t.push_back({"h.1.attn.masked_bias", "BOOL", {1, 1, 2, 2}, std::string("\1\0\1\1", 4)});
  });
  GPT<Tiny, double> model;
  load_hf_gpt2<Tiny>(model.params(), path);
  BOOST_TEST(logits_error(model, expected_logits()) < 1e-5);
}

// ---- every mismatch is an error that names it ------------------------------------------

BOOST_AUTO_TEST_CASE(config_mismatches_are_named) {
  const auto with_config = [](const char* key, nlohmann::json value, std::vector<std::string> parts) {
    Scratch s;
    const std::string path = golden_variant(s, {}, [&](nlohmann::json& c) { c[key] = value; });
    parts.push_back("config.json");
    check_error([&] { load_into_fresh_model(path); }, parts);
  };
  with_config("n_layer", 12, {"layers", "n_layer is 12", "'tiny' has 2"});
  with_config("n_head", 4, {"heads", "n_head is 4"});
  with_config("n_embd", 32, {"width", "n_embd is 32"});
  with_config("vocab_size", 50257, {"vocabulary", "vocab_size is 50257", "room for 30"});
  with_config("n_positions", 1024, {"positions", "n_positions is 1024"});
  with_config("activation_function", "relu", {"activation_function", "relu"});
  with_config("tie_word_embeddings", false, {"tie_word_embeddings"});

  Scratch s;
  const std::string path = golden_variant(s, {});
  fs::remove(s / "config.json");
  check_error([&] { load_into_fresh_model(path); }, {"config.json", "cannot open", "heads"});
}

BOOST_AUTO_TEST_CASE(tensor_mismatches_are_named) {
  const auto with_tensors = [](const std::function<void(std::vector<RawTensor>&)>& edit,
                               const std::vector<std::string>& parts,
                               const std::function<void(nlohmann::json&)>& config_edit = {}) {
    Scratch s;
    const std::string path = golden_variant(s, edit, config_edit);
    check_error([&] { load_into_fresh_model(path); }, parts);
  };
  // A missing tensor.
  with_tensors([](auto& t) { std::erase_if(t, [](auto& x) { return x.name == "transformer.h.1.ln_2.bias"; }); },
               {"missing tensor", "h.1.ln_2.bias"});
  // An extra tensor.
  with_tensors([](auto& t) { t.push_back({"transformer.h.0.attn.rotary", "F32", {2}, f32_bytes({0, 0})}); },
               {"extra tensor", "transformer.h.0.attn.rotary"});
  // A third layer in the file.
  with_tensors(
      [](auto& t) {
        const auto layer = t;
        for (const auto& x : layer)
          if (x.name.starts_with("transformer.h.1."))
            t.push_back({"transformer.h.2." + x.name.substr(16), x.dtype, x.shape, x.bytes});
      },
      {"layers", "the file has 3", "n_layer=2"});
  // nn.Linear's layout where Conv1D's is expected.
  with_tensors([](auto& t) { find(t, "transformer.h.0.attn.c_attn.weight").shape = {48, 16}; },
               {"transformer.h.0.attn.c_attn.weight", "(48, 16)", "expected (16, 48)", "Conv1D"});
  // A bias of the wrong length.
  with_tensors(
      [](auto& t) {
        auto& b = find(t, "transformer.h.1.mlp.c_fc.bias");
        b.shape = {32};
        b.bytes.resize(32 * 4);
      },
      {"transformer.h.1.mlp.c_fc.bias", "(32,)", "expected (64,)"});
  // A narrower model.
  with_tensors(
      [](auto& t) {
        auto& w = find(t, "transformer.wte.weight");
        w.shape = {60, 8};
      },
      {"width", "(60, 8)", "n_embd=16"});
  // More vocabulary rows than the config says.
  with_tensors(
      [](auto& t) {
        auto& w = find(t, "transformer.wte.weight");
        w.shape = {31, 16};
        w.bytes += std::string(16 * 4, '\0');
      },
      {"vocabulary", "31 rows", "config.json says 30"});
  // Fewer positions than the config and the model say.
  with_tensors(
      [](auto& t) {
        auto& w = find(t, "transformer.wpe.weight");
        w.shape = {8, 16};
        w.bytes.resize(8 * 16 * 4);
      },
      {"positions", "transformer.wpe.weight", "(8, 16)", "expected (16, 16)"});
  // A dtype we cannot read as float.
  with_tensors([](auto& t) { find(t, "transformer.ln_f.bias").dtype = "I32"; }, {"transformer.ln_f.bias", "dtype I32"});
  // An untied LM head.
  with_tensors([](auto& t) { find(t, "lm_head.weight").bytes[5] ^= 1; }, {"lm_head.weight", "differs", "ties"});
  // The same tensor with and without the prefix.
  with_tensors([](auto& t) { t.push_back({"ln_f.bias", "F32", {16}, find(t, "transformer.ln_f.bias").bytes}); },
               {"appears twice"});
}

BOOST_AUTO_TEST_CASE(damaged_files_are_named) {
  Scratch s;
  const std::string p = s / "bad.safetensors";
  const auto open = [&] { SafetensorsFile f(p); };
  const std::string tensor_a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\0');

  write_text(p, "abc");
  check_error(open, {p, "truncated", "3 bytes"});
  write_raw(p, "{}", "");
  write_text(p, read_text(p).substr(0, 9));  // header length 2, one byte of header
  check_error(open, {p, "truncated", "header length says 2"});
  write_raw(p, "{\"a\": [", "");
  check_error(open, {p, "not valid JSON"});
  write_raw(p, "{" + tensor_a + "}", eight.substr(0, 5));
  check_error(open, {p, "truncated", "tensor 'a'", "ends at data byte 8", "5 bytes"});
  write_raw(p, "{" + tensor_a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight);
  check_error(open, {p, "overlaps", "'a'", "'b'"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight);
  check_error(open, {p, "[0, 4)", "belong to no tensor", "gap before tensor 'a'"});
  write_raw(p, "{" + tensor_a + "}", eight + "xx");
  check_error(open, {p, "[8, 10)", "after the last tensor"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight);
  check_error(open, {p, "tensor 'a'", "span 8 bytes", "needs 12"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight);
  check_error(open, {p, "tensor 'a'", "end before they begin"});
  write_raw(p, R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", eight);
  check_error(open, {p, "tensor 'a'", "unknown dtype \"Q4\""});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight);
  check_error(open, {p, "tensor 'a'", "shape [-2]"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2]}})", eight);
  check_error(open, {p, "tensor 'a'", "no \"data_offsets\""});
  write_raw(p, R"({"__metadata__":{"n":1}})", "");
  check_error(open, {p, "__metadata__", "'n'"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", eight);
  check_error(open, {p, "tensor 'a'", "absurdly large"});
  check_error([&] { SafetensorsFile f(s / "absent.safetensors"); }, {"absent.safetensors", "cannot open"});

  // A whole model file cut short.
  Scratch t;
  const std::string model = golden_variant(t, {});
  const std::string bytes = read_text(model);
  write_text(model, bytes.substr(0, bytes.size() - 100));
  check_error([&] { load_into_fresh_model(model); }, {"model.safetensors", "truncated", "ends at data byte"});
}

// Inputs that once crashed, or could: each must be refused with a message.
BOOST_AUTO_TEST_CASE(fuzz_regressions) {
  Scratch s;
  const std::string p = s / "model.safetensors";
  write_text(s / "config.json", read_text(kGolden + "/config.json"));
  const auto refused = [&](const std::string& bytes, const std::string& part) {
    write_text(p, bytes);
    check_error([&] { load_into_fresh_model(p); }, {part});
  };
  const std::string huge_length("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8);
  refused("", "truncated");
  refused(huge_length + "{}", "truncated");
  write_raw(p, "[]", "");
  refused(read_text(p), "not a JSON object");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", std::string(8, '\0'));
  refused(read_text(p), "shape [2.0]");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", std::string(8, '\0'));
  refused(read_text(p), "tensor 'a'");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"__metadata__":"x"})", "");
  refused(read_text(p), "__metadata__ is not an object");
  // A layer index too large for an int is an extra tensor, not an overflow.
  const std::string path = golden_variant(s, [](std::vector<RawTensor>& t) {
    t.push_back({"transformer.h.99999999999.ln_1.weight", "F32", {1}, f32_bytes({0})});
  });
  check_error([&] { load_into_fresh_model(path); }, {"extra tensor", "h.99999999999"});

  // The tokenizer on malformed UTF-8: overlong, surrogate, truncated, stray bytes.
  std::unordered_map<std::string, int> vocab;
  int id = 0;
  for (const auto& sym : byte_symbols_in_gpt2_order()) vocab[sym] = id++;
  BytePairEncoding bpe(vocab, {});
  bpe.add_special_token("<|latent|>");
  for (const std::string text : {"\xC0\xAF", "\xED\xA0\x80", "\xF0\x9F\x98", "\x80\x80 ", "'", "' ", "<|latent|",
                                 "<|latent|><|latent|>", "\xF4\x90\x80\x80", "   \n\n\t "}) {
    std::string joined;
    for (auto piece : pretokenize(text)) joined += piece;
    BOOST_TEST(joined == text);
    BOOST_TEST(bpe.decode(bpe.encode(text)) == text);
  }
  BOOST_TEST(bpe.encode(std::string("\0\0", 2)).size() == 2u);
}

// ---- latent tokens ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(latent_tokens_copy_a_row_and_keep_padding) {
  GPT<TinyCoconut, double> model;
  const int V = load_hf_gpt2<TinyCoconut>(model.params(), kGolden + "/model.safetensors");
  BOOST_TEST(V == 30);
  const SpecialTokens special = add_latent_tokens<TinyCoconut>(model.params(), V, /*copy_from=*/7);
  BOOST_TEST(special.bot == 30);
  BOOST_TEST(special.eot == 31);
  BOOST_TEST(special.latent == 32);
  BOOST_TEST(special.eos == 29);
  auto wte = model.params().view<2>("wte", {40, 16});
  for (int id : {30, 31, 32})
    for (int c = 0; c < 16; ++c) BOOST_TEST(wte(id, c) == wte(7, c));
  for (int id = 33; id < 40; ++id)
    for (int c = 0; c < 16; ++c) BOOST_TEST(wte(id, c) == 0.0);
  // The base tokens' logits are unchanged: a larger vocabulary only adds columns.
  BOOST_TEST(logits_error(model, expected_logits()) < 1e-5);

  GPT<Tiny, float> full;
  check_error([&] { add_latent_tokens<Tiny>(full.params(), 30, 7); },
              {"'tiny'", "vocab_size 30", "no room for 3 latent tokens", "vocab_size >= 33"});
  check_error([&] { add_latent_tokens<TinyCoconut>(model.params(), 30, 30); }, {"30", "not among the 30 base tokens"});
}

// coconut_train's pretrained path, as a library: Hugging Face weights in, the
// latent tokens added, Coconut trained past its first stage (so the thoughts are
// fed back), out again as Hugging Face GPT-2, and back in with identical logits.
BOOST_AUTO_TEST_CASE(pretrained_coconut_trains_exports_and_reloads) {
  Scratch s;
  using Model = GPT<TinyCoconut, float>;
  Model model;
  const int V = load_hf_gpt2<TinyCoconut>(model.params(), kGolden + "/model.safetensors");
  const SpecialTokens special = add_latent_tokens<TinyCoconut>(model.params(), V, /*copy_from=*/7);
  const std::vector<float> pretrained(model.params().span().begin(), model.params().span().end());

  // Two samples in the file's 30 tokens (EOS is 29); at stage 1 with c = 2:
  // Q <bot> <latent> <latent> <eot> s2 A EOS, 11 of the 16 positions.
  const std::vector<TokenizedSample> train = {{{5, 6, 7}, {{8, 9}, {10}}, {4, 11}},
                                              {{12, 13, 14}, {{15}, {16, 17}}, {4, 18}}};
  TrainConfig cfg;
  cfg.method = method_named("coconut");
  cfg.curriculum = {.c_thought = 2, .max_latent_stage = 3, .epochs_per_stage = 1};
  cfg.epochs = 2;  // one step at stage 0, one at stage 1
  cfg.batch_size = 2;
  cfg.lr = 1e-2;
  cfg.max_new_tokens = 4;
  cfg.print_every = 1000000;
  Trainer<Model, ContinuousThought<2>> trainer(model, cfg, special, /*answer_marker=*/4);
  BOOST_TEST(trainer.stage(1) == 1);
  trainer.fit(train, {});
  BOOST_TEST(trainer.global_step() == 2);
  const auto trained = model.params().span();
  BOOST_TEST(!std::equal(trained.begin(), trained.end(), pretrained.begin()));
  BOOST_TEST(std::all_of(trained.begin(), trained.end(), [](float x) { return std::isfinite(x); }));
  BOOST_TEST(trainer.evaluate(train, 1).generated.size() == 2u);

  // Out with the latent tokens' rows (33 = 30 + 3), then back in: nothing changes.
  export_hf_gpt2<TinyCoconut>(model.params(), s / "model.safetensors", V + 3);
  BOOST_TEST(nlohmann::json::parse(read_text(s / "config.json"))["vocab_size"] == 33);
  Model again;
  BOOST_TEST(load_hf_gpt2<TinyCoconut>(again.params(), s / "model.safetensors") == 33);
  const auto reloaded = again.params().span();
  BOOST_TEST(std::equal(trained.begin(), trained.end(), reloaded.begin()));

  // Identical logits, on plain tokens and through the continuous thoughts.
  std::vector<Sequence> seqs;
  for (const auto& sample : train) seqs.push_back(build_sequence(sample, cfg.method, cfg.curriculum, 1, special));
  const Batch batch = collate({&seqs[0], &seqs[1]}, special);
  ContinuousThought<2> policy;
  const float loss = policy.forward(model, batch, special.latent);
  BOOST_TEST(std::isfinite(loss));
  BOOST_TEST(policy.forward(again, batch, special.latent) == loss);
  for (Model* m : {&model, &again}) {
    m->set_batch(batch);
    m->forward(0, batch.T);
  }
  for (Index b = 0; b < batch.B; ++b)
    for (Index t = 0; t < batch.T; ++t)
      BOOST_TEST(std::equal(model.logits(b, t), model.logits(b, t) + 33, again.logits(b, t)));
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================
BOOST_AUTO_TEST_SUITE(bpe)

namespace {

// Trains `merges` merges on `corpus` the textbook way (count adjacent pairs within
// pre-tokenised pieces, merge the most frequent, ties by the smaller pair), and
// writes vocab.json and merges.txt into `dir`: the 256 byte symbols in GPT-2's
// order, then one token per merge.
void train_tiny_bpe(const std::string& corpus, int merges, const Scratch& dir) {
  std::vector<std::vector<std::string>> words;
  const auto& table = bytes_to_unicode();
  for (auto piece : pretokenize(corpus)) {
    std::vector<std::string> w;
    for (unsigned char b : piece) {
      std::string s;
      unicode::append_utf8(s, table[b]);
      w.push_back(s);
    }
    words.push_back(w);
  }
  nlohmann::json vocab = nlohmann::json::object();
  int next = 0;
  for (const auto& s : byte_symbols_in_gpt2_order()) vocab[s] = next++;
  std::string merges_txt = "#version: 0.2\n";
  for (int m = 0; m < merges; ++m) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& w : words)
      for (std::size_t i = 0; i + 1 < w.size(); ++i) ++counts[{w[i], w[i + 1]}];
    if (counts.empty()) break;
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second) best = it;
    const auto [left, right] = best->first;
    merges_txt += left + " " + right + "\n";
    vocab[left + right] = next++;
    for (auto& w : words) {
      std::vector<std::string> joined;
      for (std::size_t i = 0; i < w.size();) {
        if (i + 1 < w.size() && w[i] == left && w[i + 1] == right) {
          joined.push_back(left + right);
          i += 2;
        } else {
          joined.push_back(w[i++]);
        }
      }
      w = joined;
    }
  }
  write_text(dir / "vocab.json", vocab.dump());
  write_text(dir / "merges.txt", merges_txt);
}

const std::string kCorpus =
    "the lowest of the low, the newest and the widest; lower and lower, newer and wider. "
    "low low low lowest lowest newest newest widest\n";

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string> out;
  for (auto p : pretokenize(text)) out.emplace_back(p);
  return out;
}

using Pieces = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_CASE(byte_to_unicode_map_is_gpt2s) {
  const auto& t = bytes_to_unicode();
  BOOST_TEST(std::uint32_t(t[' ']) == 0x120u);   // Ġ
  BOOST_TEST(std::uint32_t(t['\n']) == 0x10Au);  // Ċ
  BOOST_TEST(std::uint32_t(t['A']) == std::uint32_t('A'));
  BOOST_TEST(std::uint32_t(t[0xAD]) == 0x143u);  // the soft hyphen, the last remapped byte
  BOOST_TEST(std::uint32_t(t[0]) == 0x100u);
  std::set<char32_t> distinct(t.begin(), t.end());
  BOOST_TEST(distinct.size() == 256u);
  const auto order = byte_symbols_in_gpt2_order();
  BOOST_TEST(order[0] == "!");
  BOOST_TEST(order[255] == "\xC5\x83");  // U+0143
}

// Expected pieces from GPT-2's pattern in JavaScript (node, /u flag), which has \p{L}.
BOOST_AUTO_TEST_CASE(pretokenization_follows_gpt2s_pattern) {
  BOOST_TEST(pieces("Hello world") == (Pieces{"Hello", " world"}), boost::test_tools::per_element());
  BOOST_TEST(pieces("I'm here, aren't we?") == (Pieces{"I", "'m", " here", ",", " aren", "'t", " we", "?"}),
             boost::test_tools::per_element());
  BOOST_TEST(pieces("  two  spaces\n\n  and tabs\t\tend  ") ==
                 (Pieces{" ", " two", " ", " spaces", "\n\n ", " and", " tabs", "\t", "\t", "end", "  "}),
             boost::test_tools::per_element());
  BOOST_TEST(pieces("x!!'s 123abc 4.5") == (Pieces{"x", "!!'", "s", " 123", "abc", " 4", ".", "5"}),
             boost::test_tools::per_element());
  BOOST_TEST(pieces("na\xC3\xAFve caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xD9\xA3\xD9\xA4") ==
                 (Pieces{"na\xC3\xAFve", " caf\xC3\xA9", " \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", " \xD9\xA3\xD9\xA4"}),
             boost::test_tools::per_element());
  BOOST_TEST(pieces("'LL 'll're") == (Pieces{"'", "LL", " '", "ll", "'re"}), boost::test_tools::per_element());
  BOOST_TEST(pieces(" \n x") == (Pieces{" \n", " x"}), boost::test_tools::per_element());
  BOOST_TEST(pieces("").empty());
  // Invalid UTF-8 is kept byte for byte, as symbols.
  BOOST_TEST(pieces("a\xFF\xC3 b") == (Pieces{"a", "\xFF\xC3", " b"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(merges_apply_by_rank) {
  Scratch s;
  train_tiny_bpe(kCorpus, 20, s);
  const auto bpe = BytePairEncoding::load(s / "vocab.json", s / "merges.txt");
  BOOST_TEST(bpe.size() == 256 + 20);
  // The corpus says "low" and "est" a lot: they merge; an unseen word stays in bytes.
  const auto lowest = bpe.merge(" lowest");
  BOOST_TEST_MESSAGE("' lowest' -> " << lowest.size() << " symbols");
  BOOST_TEST(lowest.size() <= 3u);
  BOOST_TEST(lowest.front().starts_with("\xC4\xA0l"));  // "Ġl..."
  BOOST_TEST(bpe.merge("xyz").size() == 3u);
  // Hand-made merges: "a b" first, then "ab c"; "b c" is lower than "ab c" yet never applies to "abc".
  std::unordered_map<std::string, int> vocab;
  int id = 0;
  for (const auto& sym : byte_symbols_in_gpt2_order()) vocab[sym] = id++;
  vocab["ab"] = id++, vocab["abc"] = id++, vocab["bc"] = id++;
  BytePairEncoding hand(vocab, {"a b", "ab c", "b c"});
  BOOST_TEST(hand.merge("abc") == (Pieces{"abc"}), boost::test_tools::per_element());
  BOOST_TEST(hand.merge("bcab") == (Pieces{"bc", "ab"}), boost::test_tools::per_element());
  BOOST_TEST(hand.encode("abc") == (std::vector<int>{257}), boost::test_tools::per_element());
  check_error([&] { BytePairEncoding(vocab, {"a b", "x y"}); }, {"merge 2", "\"xy\"", "not in the vocabulary"});
  check_error([&] { BytePairEncoding(vocab, {"ab"}); }, {"merge 1", "two symbols"});
  vocab.erase("a");
  check_error([&] { BytePairEncoding(vocab, {}); }, {"base symbol \"a\""});
}

BOOST_AUTO_TEST_CASE(encode_decode_round_trips_any_bytes) {
  Scratch s;
  train_tiny_bpe(kCorpus, 30, s);
  const auto bpe = BytePairEncoding::load(s / "vocab.json", s / "merges.txt");
  for (const std::string& text : {std::string(kCorpus), std::string("na\xC3\xAFve caf\xC3\xA9 \xF0\x9F\x98\x80!"),
                                 std::string("\0\x01\xFF\xFE", 4), std::string(" "), std::string("")})
    BOOST_TEST(bpe.decode(bpe.encode(text)) == text);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::string text(rng() % 40, '\0');
    for (auto& c : text) c = char(rng() % 4 == 0 ? "lowest \n'"[rng() % 9] : rng() % 256);
    BOOST_TEST(bpe.decode(bpe.encode(text)) == text);
  }
  // Merged tokens make the text shorter than its bytes.
  BOOST_TEST(bpe.encode(kCorpus).size() < kCorpus.size());
}

BOOST_AUTO_TEST_CASE(special_tokens_are_matched_whole) {
  Scratch s;
  train_tiny_bpe(kCorpus, 10, s);
  auto bpe = BytePairEncoding::load(s / "vocab.json", s / "merges.txt");
  const int start = bpe.add_special_token("<|start-latent|>");
  const int latent = bpe.add_special_token("<|latent|>");
  BOOST_TEST(start == 266);
  BOOST_TEST(latent == 267);
  BOOST_TEST(bpe.add_special_token("<|latent|>") == latent);
  const std::string text = "low<|start-latent|><|latent|><|latent|> lowest";
  const auto ids = bpe.encode(text);
  BOOST_TEST(std::count(ids.begin(), ids.end(), latent) == 2);
  BOOST_TEST(bpe.decode(ids) == text);
  const auto plain = bpe.encode_ordinary(text);
  BOOST_TEST(std::count(plain.begin(), plain.end(), latent) == 0);
  BOOST_TEST(bpe.decode(plain) == text);
  check_error([&] { bpe.token(9999); }, {"id 9999"});
}

// GSM8k's answers with a BPE tokenizer: " 1,234" and " 1234" are different tokens,
// so answers are compared on text, as the reference does (text_answer_check).
BOOST_AUTO_TEST_CASE(answers_are_compared_as_text) {
  Scratch s;
  train_tiny_bpe(kCorpus + "### 1,234 and 1234 <<1+1=2>>\n", 40, s);
  auto bpe = BytePairEncoding::load(s / "vocab.json", s / "merges.txt");
  const SpecialTokens special{.bot = bpe.add_special_token("<|start-latent|>"),
                              .eot = bpe.add_special_token("<|end-latent|>"),
                              .latent = bpe.add_special_token("<|latent|>"),
                              .eos = bpe.add_special_token("<|endoftext|>")};
  const TokenizedSample sample{bpe.encode("How many?\n"), {bpe.encode("<<1+1=2>>\n")}, bpe.encode("### 1,234")};
  const auto out = [&](const std::string& text) {  // generated tokens end with EOS
    auto ids = bpe.encode(text);
    ids.push_back(special.eos);
    return ids;
  };
  const auto check = text_answer_check(bpe, special);
  BOOST_TEST(bpe.encode("### 1234") != sample.answer);  // the token-level check would say no
  BOOST_TEST(check(sample, out("### 1234")));
  BOOST_TEST(check(sample, out("### 1,234\n")));
  BOOST_TEST(check(sample, out("<<1+1=2>>\n### 1234")));
  BOOST_TEST(check(sample, out("# 12 # 1,2,3,4 ")));  // after the last '#'
  BOOST_TEST(!check(sample, out("### 12345")));
  BOOST_TEST(!check(sample, out("### 1234.")));
  BOOST_TEST(!check(sample, out("1234")));  // no '#': no answer
  // Markers and latents are skipped (skip_special_tokens); nothing after EOS counts;
  // an id outside the vocabulary is no character of an answer.
  auto ids = bpe.encode("### 12");
  ids.push_back(special.latent);
  for (int id : out("34")) ids.push_back(id);
  BOOST_TEST(check(sample, ids));
  ids = out("### 12");
  for (int id : out("34")) ids.push_back(id);
  BOOST_TEST(!check(sample, ids));
  ids = bpe.encode("### 12");
  ids.push_back(bpe.size() + 5);
  for (int id : out("34")) ids.push_back(id);
  BOOST_TEST(!check(sample, ids));
  BOOST_TEST(decode_output(bpe, ids, special) == "### 12\xEF\xBF\xBD" "34");
}

// The real GPT-2 files, when `make gpt2-tokenizer` has fetched them.
BOOST_AUTO_TEST_CASE(real_gpt2_encodings) {
  const char* env = std::getenv("COCONUT_GPT2_DIR");
  const fs::path dir = env ? fs::path(env) : fs::path(COCONUT_TEST_DATA) / ".." / "models" / "gpt2";
  if (!fs::exists(dir / "encoder.json") || !fs::exists(dir / "vocab.bpe")) {
    BOOST_TEST_MESSAGE("skipped: no GPT-2 tokenizer files in " << dir.string() << " (run `make gpt2-tokenizer`)");
    return;
  }
  auto bpe = BytePairEncoding::load((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  BOOST_TEST(bpe.size() == 50257);
  const auto check = [&](const std::string& text, const std::vector<int>& expected) {
    BOOST_TEST(bpe.encode(text) == expected, boost::test_tools::per_element());
    BOOST_TEST(bpe.decode(expected) == text);
  };
  // From OpenAI's encoder (the gpt-3-encoder package's JavaScript port).
  check("Hello world", {15496, 995});
  check(" The quick brown fox jumps over the lazy dog.", {383, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13});
  check("na\xC3\xAFve caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
        {2616, 38776, 40304, 10545, 245, 98, 17312, 105, 45739, 252});
  check("GPT-2 uses 50257 tokens!\n\n", {38, 11571, 12, 17, 3544, 2026, 28676, 16326, 0, 628});
  check("I'm here", {40, 1101, 994});
  BOOST_TEST(bpe.id("<<") == kGpt2LatentInitToken);
  BOOST_TEST(bpe.encode("<|endoftext|>") == (std::vector<int>{50256}), boost::test_tools::per_element());
  // The latent tokens get the ids add_latent_tokens gives their embedding rows.
  BOOST_TEST(bpe.add_special_token("<|start-latent|>") == 50257);
  BOOST_TEST(bpe.add_special_token("<|end-latent|>") == 50258);
  BOOST_TEST(bpe.add_special_token("<|latent|>") == 50259);
  // GSM8k's layout (question "\n", steps "\n", "### " answer) and its answer check.
  const SpecialTokens special{50257, 50258, 50259, 50256};
  Sample gsm;
  gsm.question = "Tom has 3 apples.", gsm.steps = {"<<3*2=6>>"}, gsm.answer = "1,234";
  const auto samples = tokenize({gsm}, bpe, "test");
  BOOST_TEST(bpe.decode(samples[0].question) == "Tom has 3 apples.\n");
  BOOST_TEST(bpe.decode(samples[0].steps[0]) == "<<3*2=6>>\n");
  BOOST_TEST(bpe.decode(samples[0].answer) == "### 1,234");
  auto out = bpe.encode("### 1234");
  out.push_back(50256);
  BOOST_TEST(text_answer_check(bpe, special)(samples[0], out));
  BOOST_TEST(!answer_matches(samples[0].answer, out, -1, 50256));
}

BOOST_AUTO_TEST_SUITE_END()
