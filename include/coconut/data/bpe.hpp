// GPT-2's tokenizer: byte-level byte-pair encoding (Radford et al. 2019).
//
// Text becomes ids in three steps.
//
// 1. Pre-tokenisation splits the text into pieces with GPT-2's pattern
//
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
//    i.e. English contractions, runs of letters, of digits and of other symbols
//    (each taking one leading space with it), and runs of white space. Merges never
//    cross a piece boundary. std::regex has no \p{L}, so `pretokenize` below walks
//    the pattern's alternatives by hand over decoded characters (unicode.hpp);
//    the comments there say which alternative each branch is.
//
// 2. Each piece's UTF-8 bytes are mapped to printable characters (bytes_to_unicode:
//    a space becomes "Ġ", a newline "Ċ"), so that every token of the vocabulary is
//    a printable string and every byte string can be spelled with the 256 base
//    tokens. This is why the tokenizer round-trips any text, even invalid UTF-8.
//
// 3. Byte-pair merges: start from one symbol per byte and repeatedly join the
//    adjacent pair that comes first in merges.txt (lowest rank), until no pair of
//    the piece is in the list. Each final symbol is a vocabulary entry.
//
//        " lowest"  ->  Ġ l o w e s t  ->  Ġl o w e s t  ->  Ġlow e s t  ->  Ġlow est
//
// Files. vocab.json (or encoder.json) maps token strings to ids; merges.txt (or
// vocab.bpe) lists one pair per line, "Ġ t", highest priority first, after an
// optional "#version" line. Hugging Face and OpenAI ship the same formats.
//
// Special tokens ("<|endoftext|>", and the latent tokens Coconut adds) are matched
// as whole strings before pre-tokenisation by `encode`, as Hugging Face's
// tokenizers do for added tokens; `encode_ordinary` treats them as plain text, as
// OpenAI's original encoder did.
//
// Encoding caches each piece's ids; the cache makes `encode` not thread-safe (use
// one tokenizer per thread).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coconut/data/unicode.hpp"

namespace coconut {

// GPT-2's reversible map from the 256 byte values to printable code points: the
// printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves, the
// other 68 (controls, space, soft hyphen, ...) to U+0100, U+0101, ... in byte order.
inline const std::array<char32_t, 256>& bytes_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    const auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) t[b] = printable(b) ? char32_t(b) : next++;
    return t;
  }();
  return table;
}

// The 256 base symbols in GPT-2's id order (ids 0..255 of its vocabulary): the
// printable bytes first, then the remapped ones.
inline std::vector<std::string> byte_symbols_in_gpt2_order() {
  const auto& table = bytes_to_unicode();
  std::vector<std::pair<char32_t, int>> order;
  for (int b = 0; b < 256; ++b) order.emplace_back(table[b], b);
  std::sort(order.begin(), order.end());
  std::vector<std::string> symbols;
  for (const auto& [cp, b] : order) {
    std::string s;
    unicode::append_utf8(s, cp);
    symbols.push_back(std::move(s));
  }
  return symbols;
}

// GPT-2's pattern, applied by hand: the pieces of `text`, in order, covering it.
inline std::vector<std::string_view> pretokenize(std::string_view text) {
  using namespace unicode;
  struct Char {
    char32_t cp;
    std::size_t begin;
  };
  std::vector<Char> chars;  // decoded once; chars.back() is a sentinel at text.size()
  for (std::size_t i = 0; i < text.size();) {
    const Decoded d = decode_utf8(text, i);
    chars.push_back({d.codepoint, i});
    i += std::size_t(d.length);
  }
  const std::size_t n = chars.size();
  chars.push_back({kInvalidCodepoint, text.size()});

  const auto letter = [&](std::size_t k) { return k < n && is_letter(chars[k].cp); };
  const auto number = [&](std::size_t k) { return k < n && is_number(chars[k].cp); };
  const auto space = [&](std::size_t k) { return k < n && is_space(chars[k].cp); };
  const auto other = [&](std::size_t k) { return k < n && !is_space(chars[k].cp) && !letter(k) && !number(k); };
  const auto is = [&](std::size_t k, char c) { return k < n && chars[k].cp == char32_t(c); };

  std::vector<std::string_view> pieces;
  std::size_t k = 0;
  while (k < n) {
    std::size_t end = k;  // one past the last character of the piece
    // 's 't 're 've 'm 'll 'd
    if (is(k, '\'')) {
      if (is(k + 1, 's') || is(k + 1, 't') || is(k + 1, 'm') || is(k + 1, 'd')) end = k + 2;
      else if ((is(k + 1, 'r') && is(k + 2, 'e')) || (is(k + 1, 'v') && is(k + 2, 'e')) ||
               (is(k + 1, 'l') && is(k + 2, 'l')))
        end = k + 3;
    }
    if (end == k) {
      const std::size_t j = is(k, ' ') ? k + 1 : k;  // the optional leading space
      if (letter(j)) {  // ' ?\p{L}+'
        for (end = j; letter(end);) ++end;
      } else if (number(j)) {  // ' ?\p{N}+'
        for (end = j; number(end);) ++end;
      } else if (other(j)) {  // ' ?[^\s\p{L}\p{N}]+'
        for (end = j; other(end);) ++end;
      } else {
        // '\s+(?!\S)': a run of white space, less its last character when a
        // non-space follows (that one goes with the next piece, as its space);
        // '\s+' when the run is a single character before a non-space.
        std::size_t run = k;
        while (space(run)) ++run;
        end = (run < n && run - k > 1) ? run - 1 : run;
      }
    }
    pieces.push_back(text.substr(chars[k].begin, chars[end].begin - chars[k].begin));
    k = end;
  }
  return pieces;
}

class BytePairEncoding {
 public:
  // `vocab`: token string -> id (ids need not be dense but must be distinct).
  // `merges`: pairs in priority order, each "left right" as in merges.txt.
  // Every byte's symbol must be in the vocabulary, and every merge's result too.
  BytePairEncoding(const std::unordered_map<std::string, int>& vocab, const std::vector<std::string>& merges,
                   std::string source = "BPE")
      : source_(std::move(source)), encoder_(vocab) {
    int max_id = -1;
    for (const auto& [token, id] : encoder_) {
      if (id < 0) fail("token \"" + token + "\" has negative id " + std::to_string(id));
      max_id = std::max(max_id, id);
    }
    decoder_.assign(std::size_t(max_id + 1), std::string());
    for (const auto& [token, id] : encoder_) {
      if (!decoder_[std::size_t(id)].empty())
        fail("id " + std::to_string(id) + " is given to both \"" + decoder_[std::size_t(id)] + "\" and \"" + token +
             "\"");
      decoder_[std::size_t(id)] = token;
    }
    for (const auto& s : byte_symbols_in_gpt2_order())
      if (!encoder_.count(s)) fail("the vocabulary lacks the base symbol \"" + s + "\" of a byte");
    for (std::size_t r = 0; r < merges.size(); ++r) {
      const std::string& m = merges[r];
      const std::size_t sp = m.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 == m.size() || m.find(' ', sp + 1) != std::string::npos)
        fail("merge " + std::to_string(r + 1) + " \"" + m + "\" is not two symbols separated by one space");
      const std::string joined = m.substr(0, sp) + m.substr(sp + 1);
      if (!encoder_.count(joined))
        fail("merge " + std::to_string(r + 1) + " \"" + m + "\" makes \"" + joined +
             "\", which is not in the vocabulary");
      ranks_.emplace(m, int(r));  // a repeated merge keeps its first (highest) rank
    }
    const auto& table = bytes_to_unicode();
    for (int b = 0; b < 256; ++b) {
      unicode::append_utf8(byte_symbol_[b], table[b]);
      byte_of_[table[b]] = char(b);
    }
    for (const char* special : {"<|endoftext|>"})
      if (encoder_.count(special)) specials_.push_back(special);
  }

  // vocab.json + merges.txt (or encoder.json + vocab.bpe).
  static BytePairEncoding load(const std::string& vocab_path, const std::string& merges_path) {
    std::ifstream vin(vocab_path);
    if (!vin) throw std::runtime_error(vocab_path + ": cannot open for reading");
    std::unordered_map<std::string, int> vocab;
    try {
      const nlohmann::json j = nlohmann::json::parse(vin);
      if (!j.is_object()) throw std::runtime_error("expected a JSON object of token -> id");
      for (const auto& [token, id] : j.items()) {
        if (!id.is_number_integer()) throw std::runtime_error("the id of \"" + token + "\" is not an integer");
        vocab.emplace(token, id.get<int>());
      }
    } catch (const std::exception& e) {
      throw std::runtime_error(vocab_path + ": " + e.what());
    }
    std::ifstream min(merges_path);
    if (!min) throw std::runtime_error(merges_path + ": cannot open for reading");
    std::vector<std::string> merges;
    for (std::string line; std::getline(min, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || (merges.empty() && line.starts_with("#version"))) continue;
      merges.push_back(line);
    }
    return BytePairEncoding(vocab, merges, vocab_path + " + " + merges_path);
  }

  // ---- special tokens --------------------------------------------------------------

  // Adds `token` as a special token: ids after the current largest, matched whole by
  // encode(). Returns its id (the existing one if it is already in the vocabulary).
  int add_special_token(const std::string& token) {
    if (token.empty()) fail("a special token cannot be empty");
    auto it = encoder_.find(token);
    int id;
    if (it != encoder_.end()) {
      id = it->second;
    } else {
      id = int(decoder_.size());
      encoder_.emplace(token, id);
      decoder_.push_back(token);
    }
    if (std::find(specials_.begin(), specials_.end(), token) == specials_.end()) specials_.push_back(token);
    // Longest first, so that a special token that begins another never shadows it.
    std::stable_sort(specials_.begin(), specials_.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    cache_.clear();
    return id;
  }

  // ---- text <-> ids ------------------------------------------------------------------

  // Special tokens in the text become their ids; everything else is BPE-encoded.
  std::vector<int> encode(std::string_view text) const {
    std::vector<int> ids;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size();) {
      const std::string* hit = nullptr;
      for (const auto& s : specials_)
        if (text.substr(i).starts_with(s)) {
          hit = &s;
          break;
        }
      if (!hit) {
        ++i;
        continue;
      }
      encode_ordinary_into(text.substr(start, i - start), ids);
      ids.push_back(encoder_.at(*hit));
      i += hit->size();
      start = i;
    }
    encode_ordinary_into(text.substr(start), ids);
    return ids;
  }

  // Every character is text: "<|endoftext|>" becomes the ids of "<", "|", ...
  std::vector<int> encode_ordinary(std::string_view text) const {
    std::vector<int> ids;
    encode_ordinary_into(text, ids);
    return ids;
  }

  // The bytes of the tokens, concatenated. Special tokens come back as their text.
  std::string decode(const std::vector<int>& ids) const {
    std::string out;
    for (int id : ids) {
      const std::string& token = this->token(id);
      if (std::find(specials_.begin(), specials_.end(), token) != specials_.end()) {
        out += token;
        continue;
      }
      for (std::size_t i = 0; i < token.size();) {
        const unicode::Decoded d = unicode::decode_utf8(token, i);
        const auto b = byte_of_.find(d.codepoint);
        if (b == byte_of_.end())
          fail("token " + std::to_string(id) + " \"" + token + "\" holds a character that is no byte's symbol");
        out += b->second;
        i += std::size_t(d.length);
      }
    }
    return out;
  }

  int size() const { return int(decoder_.size()); }  // one past the largest id
  int id(const std::string& token) const {
    const auto it = encoder_.find(token);
    if (it == encoder_.end()) fail("no token \"" + token + "\" in the vocabulary");
    return it->second;
  }
  const std::string& token(int id) const {
    if (id < 0 || id >= size() || decoder_[std::size_t(id)].empty())
      fail("id " + std::to_string(id) + " is not in the vocabulary (ids 0.." + std::to_string(size() - 1) + ")");
    return decoder_[std::size_t(id)];
  }

  // The merged symbols of one piece, before they become ids (for tests and teaching).
  std::vector<std::string> merge(std::string_view piece) const {
    std::vector<std::string> symbols;
    for (unsigned char b : piece) symbols.push_back(byte_symbol_[b]);
    while (symbols.size() > 1) {
      int best_rank = INT_MAX;
      std::size_t best = 0;
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        const auto it = ranks_.find(symbols[i] + ' ' + symbols[i + 1]);
        if (it != ranks_.end() && it->second < best_rank) best_rank = it->second, best = i;
      }
      if (best_rank == INT_MAX) break;
      // Join every occurrence of the best pair, left to right.
      const std::string left = symbols[best], right = symbols[best + 1];
      std::vector<std::string> next;
      for (std::size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          next.push_back(left + right);
          i += 2;
        } else {
          next.push_back(std::move(symbols[i++]));
        }
      }
      symbols = std::move(next);
    }
    return symbols;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(source_ + ": " + what); }

  void encode_ordinary_into(std::string_view text, std::vector<int>& ids) const {
    for (std::string_view piece : pretokenize(text)) {
      auto it = cache_.find(std::string(piece));
      if (it == cache_.end()) {
        std::vector<int> piece_ids;
        for (const auto& s : merge(piece)) piece_ids.push_back(encoder_.at(s));  // the constructor checked merges
        if (cache_.size() >= kCacheLimit) cache_.clear();
        it = cache_.emplace(std::string(piece), std::move(piece_ids)).first;
      }
      ids.insert(ids.end(), it->second.begin(), it->second.end());
    }
  }

  static constexpr std::size_t kCacheLimit = 1 << 16;  // pieces; cleared when full

  std::string source_;                                 // named in errors
  std::unordered_map<std::string, int> encoder_;       // token -> id
  std::vector<std::string> decoder_;                   // id -> token ("" for an unused id)
  std::unordered_map<std::string, int> ranks_;         // "left right" -> merge rank
  std::array<std::string, 256> byte_symbol_;           // byte -> its base symbol (UTF-8)
  std::unordered_map<char32_t, char> byte_of_;         // base symbol's code point -> byte
  std::vector<std::string> specials_;                  // longest first
  mutable std::unordered_map<std::string, std::vector<int>> cache_;  // piece -> ids
};

}  // namespace coconut
