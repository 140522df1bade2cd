// A word-level tokenizer for the synthetic tasks (ProsQA, ProntoQA), whose text
// is a few dozen distinct words: one id per word keeps sequences short (a ProsQA
// CoT sequence is about 250 tokens) and the vocabulary tiny (68 for ProsQA).
//
// Splitting. Spaces (and tabs, carriage returns) separate words and are dropped;
// each of  . , ? ! : ; # \n  is a token of its own:
//
//   "Every rempus is a rorpus.\n### Tom is a lempus."
//   -> Every | rempus | is | a | rorpus | . | \n | # | # | # | Tom | is | a | lempus | .
//
// Joining (decode) puts one space between tokens, except before . , ? ! : ; \n,
// after \n, and between two #. So decode(encode(t)) == t for every text in this
// canonical form, which includes every question, step and answer of the official
// ProsQA files; any other text comes back as canonical(t). An answer is compared
// as the reference does (text after the last '#', stripped, exact match) on the
// decoded text. Not meant for GSM8k: "2.5" would come back as "2. 5".
//
// Ids. The special tokens have fixed ids in every vocabulary, so code that builds
// training sequences never needs the tokenizer to find them:
//
//   0  <|endoftext|>     end of sequence (EOS), also the padding token
//   1  <|start-latent|>  bot: opens the continuous thoughts
//   2  <|end-latent|>    eot: closes them
//   3  <|latent|>        a continuous-thought position
//
// then "\n" and "#" (always present: training sequences use them to separate
// steps and to announce the answer), then every word of the training samples in
// byte order. Special tokens written in a text (space-separated) encode to their ids.
//
// A word outside the vocabulary is an error (std::runtime_error naming the word):
// the model has no embedding for it, and silently mapping it to some <unk> would
// hide a mismatch between training and evaluation data.
#pragma once

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coconut/data/dataset.hpp"

namespace coconut {

class WordTokenizer {
 public:
  static constexpr int eos_id = 0;           // <|endoftext|>, also padding
  static constexpr int start_latent_id = 1;  // <|start-latent|>
  static constexpr int end_latent_id = 2;    // <|end-latent|>
  static constexpr int latent_id = 3;        // <|latent|>
  static constexpr std::array<std::string_view, 4> special_tokens = {"<|endoftext|>", "<|start-latent|>",
                                                                     "<|end-latent|>", "<|latent|>"};

  // Only the special tokens, "\n" and "#".
  WordTokenizer() : WordTokenizer(base_tokens()) {}

  // A vocabulary given as its token list (id = position). It must start with the
  // four special tokens in the order above and hold no token twice.
  explicit WordTokenizer(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
    for (std::size_t i = 0; i < special_tokens.size(); ++i)
      if (i >= tokens_.size() || tokens_[i] != special_tokens[i])
        throw std::runtime_error("tokenizer: token " + std::to_string(i) + " must be " +
                                 std::string(special_tokens[i]) +
                                 (i < tokens_.size() ? ", not \"" + tokens_[i] + "\"" : ", but the list ends"));
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      if (tokens_[i].empty()) throw std::runtime_error("tokenizer: token " + std::to_string(i) + " is empty");
      if (!id_.emplace(tokens_[i], int(i)).second)
        throw std::runtime_error("tokenizer: token \"" + tokens_[i] + "\" appears twice (ids " +
                                 std::to_string(id_.at(tokens_[i])) + " and " + std::to_string(i) + ")");
    }
  }

  // The vocabulary of a training set: every word of its questions, steps and answers.
  static WordTokenizer build(const std::vector<Sample>& samples) {
    std::set<std::string> words;  // sorted: the same samples give the same ids in any order
    const auto add = [&](std::string_view text) {
      for (auto& w : split(text)) words.insert(std::move(w));
    };
    for (const Sample& s : samples) {
      add(s.question);
      for (const auto& step : s.steps) add(step);
      add(s.answer);
    }
    std::vector<std::string> tokens = base_tokens();
    for (const auto& w : words)
      if (std::find(tokens.begin(), tokens.end(), w) == tokens.end()) tokens.push_back(w);
    return WordTokenizer(std::move(tokens));
  }

  // ---- text <-> words ------------------------------------------------------

  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
  static bool is_punctuation(char c) {
    return c == '.' || c == ',' || c == '?' || c == '!' || c == ':' || c == ';' || c == '#' || c == '\n';
  }

  static std::vector<std::string> split(std::string_view text) {
    std::vector<std::string> words;
    std::string word;
    const auto flush = [&] {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    };
    for (char c : text) {
      if (is_space(c)) {
        flush();
      } else if (is_punctuation(c)) {
        flush();
        words.emplace_back(1, c);
      } else {
        word += c;
      }
    }
    flush();
    return words;
  }

  // The inverse of split on canonical text (see the top of this file).
  static std::string join(std::span<const std::string> words) {
    std::string text;
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (i > 0 && space_between(words[i - 1], words[i])) text += ' ';
      text += words[i];
    }
    return text;
  }

  static std::string canonical(std::string_view text) { return join(split(text)); }

  // ---- text <-> ids ----------------------------------------------------------

  int size() const { return int(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  bool contains(std::string_view word) const { return id_.find(word) != id_.end(); }

  int id(std::string_view word) const {
    const auto it = id_.find(word);
    if (it == id_.end())
      throw std::runtime_error("tokenizer: unknown word \"" + std::string(word) + "\" (not among the " +
                               std::to_string(size()) + " tokens of the vocabulary)");
    return it->second;
  }

  const std::string& token(int id) const {
    if (id < 0 || id >= size())
      throw std::runtime_error("tokenizer: id " + std::to_string(id) + " is outside the vocabulary [0, " +
                               std::to_string(size()) + ")");
    return tokens_[std::size_t(id)];
  }

  std::vector<int> encode(std::string_view text) const {
    std::vector<int> ids;
    for (const auto& w : split(text)) ids.push_back(id(w));
    return ids;
  }

  std::string decode(std::span<const int> ids) const {
    std::vector<std::string> words;
    words.reserve(ids.size());
    for (int i : ids) words.push_back(token(i));
    return join(words);
  }

  // ---- persistence -------------------------------------------------------------

  // A text file with one token per line, line i holding id i-1. "\n" is written as
  // the two characters \n and a backslash as \\, so every token fits on its line.
  void save(const std::string& path) const {
    std::string text;
    for (const auto& t : tokens_) text += escape(t) + '\n';
    write_atomically(path, text);
  }

  static WordTokenizer load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open for reading");
    std::vector<std::string> tokens;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      try {
        tokens.push_back(unescape(line));
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": line " + std::to_string(n) + ": " + e.what());
      }
    }
    try {
      return WordTokenizer(std::move(tokens));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(path + ": " + e.what());
    }
  }

  // cereal: the token list; loading rebuilds (and re-checks) the index.
  template <class Archive>
  void serialize(Archive& ar) {
    ar(tokens_);
    if constexpr (Archive::is_loading::value) *this = WordTokenizer(std::move(tokens_));
  }

  bool operator==(const WordTokenizer& other) const { return tokens_ == other.tokens_; }

 private:
  static std::vector<std::string> base_tokens() {
    std::vector<std::string> tokens(special_tokens.begin(), special_tokens.end());
    tokens.insert(tokens.end(), {"\n", "#"});
    return tokens;
  }

  static bool space_between(const std::string& left, const std::string& right) {
    const bool right_attaches = right.size() == 1 && is_punctuation(right[0]) && right != "#";
    return !(right_attaches || left == "\n" || (left == "#" && right == "#"));
  }

  static std::string escape(const std::string& token) {
    std::string out;
    for (char c : token) out += c == '\n' ? "\\n" : c == '\\' ? "\\\\" : std::string(1, c);
    return out;
  }
  static std::string unescape(const std::string& line) {
    if (line.empty()) throw std::runtime_error("empty line (a token cannot be empty)");
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] != '\\') {
        out += line[i];
      } else if (i + 1 < line.size() && (line[i + 1] == 'n' || line[i + 1] == '\\')) {
        out += line[++i] == 'n' ? '\n' : '\\';
      } else {
        throw std::runtime_error("bad escape in \"" + line + "\" (only \\n and \\\\ are allowed)");
      }
    }
    return out;
  }

  std::vector<std::string> tokens_;             // (V,) id -> token
  std::map<std::string, int, std::less<>> id_;  // token -> id; std::less<> finds string_views
};

}  // namespace coconut
