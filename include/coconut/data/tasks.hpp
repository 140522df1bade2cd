// Text samples to token samples, the way the reference lays them out, and the
// scores a reasoning task is judged by.
//
// The reference's text of a sample is  question "\n", each step "\n", then
// "### " answer (and EOS, which build_sequence appends); with the word tokenizer
// "###" is three '#' tokens and the answer is what follows the last one.
//
// Judging an answer. The reference decodes the output to text and compares the
// text after the last '#', commas removed, stripped of white space, with the
// answer treated the same way ("### 1,234" answers "1234"). answer_matches
// (train/trainer.hpp) does this on tokens: with the word tokenizer on ProsQA the two
// agree, except that an output with white space (a "\n") between the answer and
// EOS passes only the text check. text_answer_check below works on text, for any
// tokenizer, and is what GSM8k with GPT-2's BPE needs (" 1,234" and " 1234" are
// different tokens).
#pragma once

#include <algorithm>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "coconut/data/dataset.hpp"
#include "coconut/data/layout.hpp"
#include "coconut/data/prosqa.hpp"
#include "coconut/data/tokenizer.hpp"

namespace coconut {

inline SpecialTokens word_special_tokens() {
  return {WordTokenizer::start_latent_id, WordTokenizer::end_latent_id, WordTokenizer::latent_id,
          WordTokenizer::eos_id};
}

// Tokenizes `samples` with any tokenizer whose encode(text) gives a list of ids
// (WordTokenizer, BytePairEncoding); `what` names them in errors ("prosqa_test.json").
template <class Tokenizer>
std::vector<TokenizedSample> tokenize(const std::vector<Sample>& samples, const Tokenizer& tok,
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

// The answer as the reference reads it from a text: what follows the last '#' (all
// of it if there is none), commas removed, stripped of white space as Python's
// str.strip() does for ASCII.
inline std::string reference_answer(std::string_view text) {
  const auto hash = text.rfind('#');
  if (hash != std::string_view::npos) text.remove_prefix(hash + 1);
  std::string a;
  std::copy_if(text.begin(), text.end(), std::back_inserter(a), [](char c) { return c != ','; });
  constexpr const char* kSpace = " \t\n\r\v\f\x1c\x1d\x1e\x1f";
  const auto b = a.find_first_not_of(kSpace), e = a.find_last_not_of(kSpace);
  return b == std::string::npos ? "" : a.substr(b, e - b + 1);
}

// The reference's exact match on text: `expected` is the answer ("1,234" or
// "### 1,234"), `generated` the decoded output without its prompt. An output
// without '#' has no answer (the reference would be reading its own prompt).
inline bool text_answer_matches(std::string_view expected, std::string_view generated) {
  return generated.find('#') != std::string_view::npos && reference_answer(generated) == reference_answer(expected);
}

// The generated tokens as the reference decodes them (skip_special_tokens): up to
// the first EOS, without the markers and latents; an id `decode` cannot spell
// (outside the tokenizer's vocabulary) becomes U+FFFD, which matches no answer.
template <class Tokenizer>
std::string decode_output(const Tokenizer& tok, const std::vector<int>& generated, const SpecialTokens& special) {
  std::string text;
  std::vector<int> run;  // decoded together, so the word tokenizer spaces them as in one text
  for (int id : generated) {
    if (id == special.eos) break;
    if (id == special.bot || id == special.eot || id == special.latent) continue;
    if (id < 0 || id >= tok.size()) {
      text += tok.decode(run) + "\xEF\xBF\xBD";
      run.clear();
      continue;
    }
    run.push_back(id);
  }
  return text + tok.decode(run);
}

// The scores below take one output per sample, in the samples' order.
inline void check_one_output_each(const char* who, std::size_t samples, std::size_t outputs) {
  if (samples != outputs)
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(samples) + " samples but " +
                                std::to_string(outputs) + " outputs");
}

// The share of ProsQA `samples` whose generated output (ids up to EOS, decoded with
// `tok`) names the target rather than the distractor: 0.5 is chance.
template <class Tokenizer>
double prosqa_choice_accuracy(const std::vector<Sample>& samples, const std::vector<std::vector<int>>& generated,
                              const Tokenizer& tok, const SpecialTokens& special) {
  check_one_output_each("prosqa_choice_accuracy", samples.size(), generated.size());
  double chose = 0;
  for (std::size_t i = 0; i < samples.size(); ++i)
    chose += prosqa_choice(samples[i], reference_answer(decode_output(tok, generated[i], special))) > 0;
  return samples.empty() ? 0 : chose / double(samples.size());
}

// Of the reasoning steps that the outputs for ProsQA `samples` write before their
// answer, the share that are edges of their question's graph (prosqa::is_edge_step);
// nothing when no output writes a step (No-CoT, or Coconut at its last stage).
// The reasoning is the text before the first '#'; its steps are the pieces ended
// by '.' or a line break. A last piece ended by neither was cut off by the token
// limit and is not counted.
template <class Tokenizer>
std::optional<double> prosqa_edge_steps(const std::vector<Sample>& samples,
                                        const std::vector<std::vector<int>>& generated, const Tokenizer& tok,
                                        const SpecialTokens& special) {
  check_one_output_each("prosqa_edge_steps", samples.size(), generated.size());
  long steps = 0, edges = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::string text = decode_output(tok, generated[i], special);
    const std::string_view reasoning = std::string_view(text).substr(0, text.find('#'));
    for (std::size_t first = 0, end; (end = reasoning.find_first_of(".\n", first)) != std::string_view::npos;
         first = end + 1) {
      const std::string_view step = reasoning.substr(first, end - first);
      if (step.find_first_not_of(' ') == std::string_view::npos) continue;  // "." then "\n": one step
      ++steps;
      edges += prosqa::is_edge_step(samples[i], step);
    }
  }
  if (steps == 0) return std::nullopt;
  return double(edges) / double(steps);
}

// A Trainer::answer_check that judges answers on text, as the reference does: the
// sample's answer tokens and the output are decoded with `tok` (which must outlive
// the check) and compared by text_answer_matches.
template <class Tokenizer>
auto text_answer_check(const Tokenizer& tok, const SpecialTokens& special) {
  return [&tok, special](const TokenizedSample& sample, const std::vector<int>& generated) {
    return text_answer_matches(decode_output(tok, sample.answer, special), decode_output(tok, generated, special));
  };
}

}  // namespace coconut
