// libFuzzer target: GPT-2's pre-tokeniser and byte-level BPE on arbitrary bytes.
// Checks that the pieces tile the input and that decode(encode(x)) == x.
// Uses the real GPT-2 files when COCONUT_GPT2_DIR names a directory holding
// encoder.json and vocab.bpe, else a small vocabulary built here. See README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "coconut/data/bpe.hpp"

namespace {

coconut::BytePairEncoding make_tokenizer() {
  if (const char* dir = std::getenv("COCONUT_GPT2_DIR"))
    return coconut::BytePairEncoding::load(std::string(dir) + "/encoder.json", std::string(dir) + "/vocab.bpe");
  std::unordered_map<std::string, int> vocab;
  int id = 0;
  for (const auto& s : coconut::byte_symbols_in_gpt2_order()) vocab[s] = id++;
  const std::vector<std::string> merges = {"\xC4\xA0 t", "h e", "\xC4\xA0t he", "i n", "e r", "\xC4\xA0 a", "in g",
                                           "\xC4\x8A \xC4\x8A"};
  for (const auto& m : merges) {
    const auto sp = m.find(' ');
    vocab[m.substr(0, sp) + m.substr(sp + 1)] = id++;
  }
  coconut::BytePairEncoding bpe(vocab, merges, "fuzz vocabulary");
  bpe.add_special_token("<|latent|>");
  return bpe;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const coconut::BytePairEncoding bpe = make_tokenizer();
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string joined;
  for (auto piece : coconut::pretokenize(text)) {
    if (piece.empty()) std::abort();  // every piece takes at least one byte
    joined += piece;
  }
  if (joined != text) std::abort();
  if (bpe.decode(bpe.encode(text)) != text) std::abort();
  if (bpe.decode(bpe.encode_ordinary(text)) != text) std::abort();
  return 0;
}
