// Text samples to token samples, the way the reference lays them out, and the
// scores a reasoning task is judged by.
//
// The reference's text of a sample is  question "\n", each step "\n", then
// "### " answer; with the word tokenizer "###" is three '#' tokens and the answer
// is what follows the last one.
#pragma once

#include <string>
#include <vector>

#include "coconut/data/dataset.hpp"
#include "coconut/data/layout.hpp"
#include "coconut/data/tokenizer.hpp"

namespace coconut {

inline SpecialTokens word_special_tokens() {
  return {WordTokenizer::start_latent_id, WordTokenizer::end_latent_id, WordTokenizer::latent_id,
          WordTokenizer::eos_id};
}

// Tokenizes `samples`; `what` names them in errors ("prosqa_test.json").
inline std::vector<TokenizedSample> tokenize(const std::vector<Sample>& samples, const WordTokenizer& tok,
                                             const std::string& what) {
  std::vector<TokenizedSample> out;
  out.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    try {
      TokenizedSample t;
      t.question = tok.encode(samples[i].question + "\n");
      for (const auto& s : samples[i].steps) t.steps.push_back(tok.encode(s + "\n"));
      t.answer = tok.encode("### " + samples[i].answer);
      out.push_back(std::move(t));
    } catch (const std::exception& e) {
      throw std::runtime_error(what + ": sample " + std::to_string(i) + ": " + e.what());
    }
  }
  return out;
}

// ProsQA offers two options (target and distractor), so 50% is chance for the
// choice itself: which one did an answer name, apart from its exact wording?
// Returns +1 for the target, -1 for the distractor, 0 for neither or both.
inline int prosqa_choice(const Sample& s, const std::string& answer_text) {
  if (!s.has_graph() || s.target < 0 || s.neg_target < 0) return 0;
  const auto names = [&](int node) {
    const std::string& w = s.idx_to_symbol[std::size_t(node)];
    return answer_text.find(" " + w + " ") != std::string::npos || answer_text.find(" " + w + ".") != std::string::npos ||
           answer_text.ends_with(" " + w);
  };
  const bool target = names(s.target), distractor = names(s.neg_target);
  return target == distractor ? 0 : (target ? 1 : -1);
}

// The text after the last '#' of a decoded output, stripped.
inline std::string answer_text(const std::string& decoded) {
  const auto hash = decoded.rfind('#');
  std::string a = hash == std::string::npos ? decoded : decoded.substr(hash + 1);
  const auto b = a.find_first_not_of(" \n"), e = a.find_last_not_of(" \n");
  return b == std::string::npos ? "" : a.substr(b, e - b + 1);
}

}  // namespace coconut
