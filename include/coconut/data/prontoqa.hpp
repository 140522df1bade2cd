// ProntoQA-style questions (Saparov & He 2023, as the Coconut paper uses them): a
// fictional ontology of "Every X is a Y." rules, one fact about a person, and a
// true-or-false question that takes a 5-hop chain of deductions to answer.
//
//   question  "Every rompus is a dumpus. Every lempus is not a jompus. Max is a wumpus.
//              Every wumpus is a zumpus. ... True or false: Max is not a jompus."
//   steps     "Max is a wumpus. Every wumpus is a zumpus."
//             "Max is a zumpus. Every zumpus is a rompus."   ...
//             "Max is a lempus. Every lempus is not a jompus."
//             "Max is not a jompus."
//   answer    "True"
//
// The ontology is two chains of distinct concepts that end on the same query
// concept q with opposite polarity:
//
//   Max -> c0 -> c1 -> c2 -> c3 -> c4 -(is / is not)-> q      (5 hops from c0)
//          d0 -> d1 -> d2 -> d3 -> d4 -(is not / is)-> q      (the distractor)
//
// so q and "not" both appear in the question whatever the answer is, and only
// following the chain from Max's concept decides it. Nobody is a member of both
// chains, so the ontology is consistent. The question asks "Max is a q" or "Max is
// not a q" (evenly), the chain's polarity is even too: True and False are equally
// likely. The rules and the fact are listed in random order.
//
// Simpler than the original ProntoQA (no properties such as "floral", no plural
// forms); the same 17 concept names, reasoning depth and answer format.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "coconut/data/dataset.hpp"
#include "coconut/data/sampling.hpp"
#include "coconut/tensor/random.hpp"

namespace coconut::prontoqa {

inline constexpr std::array<std::string_view, 17> concept_names = {
    "brimpus", "dumpus",  "gorpus",  "grimpus", "impus",  "jompus", "lempus", "lorpus", "numpus",
    "rompus",  "shumpus", "sterpus", "tumpus",  "vumpus", "wumpus", "yumpus", "zumpus"};

inline constexpr std::array<std::string_view, 9> person_names = {"Alex",  "Fae", "Max",    "Polly", "Rex",
                                                                 "Sally", "Sam", "Stella", "Wren"};

struct Config {
  int hops = 5;             // rules between Max's concept and the answer
  int distractor_hops = 5;  // rules in the distractor chain
  double p_negated = 0.5;   // probability that the question reads "Max is not a q"

  void check() const {
    const auto bad = [](const std::string& what) { throw std::invalid_argument("prontoqa::Config: " + what); };
    if (hops < 1) bad("hops must be at least 1, not " + std::to_string(hops));
    if (distractor_hops < 1) bad("distractor_hops must be at least 1, not " + std::to_string(distractor_hops));
    if (hops + distractor_hops + 1 > int(concept_names.size()))
      bad("hops + distractor_hops + 1 concepts needed, but only " + std::to_string(concept_names.size()) + " exist");
    if (!(p_negated >= 0 && p_negated <= 1)) bad("p_negated must be a probability");
  }
};

inline Sample generate(Rng& rng, const Config& config = {}) {
  config.check();
  std::vector<std::string_view> names(concept_names.begin(), concept_names.end());
  sampling::shuffle(names, rng);
  const auto concept_at = [&](std::size_t i) { return std::string(names[i]); };
  const std::string person(person_names[rng.below(person_names.size())]);

  // Concepts: c_0..c_{hops-1} = names[0, hops), d_i = names[hops + i], q = the last one used.
  const std::size_t H = std::size_t(config.hops), D = std::size_t(config.distractor_hops);
  const std::string q = concept_at(H + D);
  const bool max_is_q = rng.below(2) == 0;  // polarity of the chain Max is on
  const auto rule = [](const std::string& a, const std::string& b, bool positive) {
    return "Every " + a + (positive ? " is a " : " is not a ") + b + ".";
  };

  std::vector<std::string> facts = {person + " is a " + concept_at(0) + "."};
  std::vector<std::string> chain;  // the chain of thought, one sentence at a time
  for (std::size_t i = 0; i < H; ++i) {
    const bool last = i + 1 == H;
    const std::string next = last ? q : concept_at(i + 1);
    facts.push_back(rule(concept_at(i), next, last ? max_is_q : true));
    chain.push_back(person + " is a " + concept_at(i) + ".");
    chain.push_back(facts.back());
  }
  chain.push_back(person + (max_is_q ? " is a " : " is not a ") + q + ".");
  for (std::size_t i = 0; i < D; ++i) {
    const bool last = i + 1 == D;
    facts.push_back(rule(concept_at(H + i), last ? q : concept_at(H + i + 1), last ? !max_is_q : true));
  }
  sampling::shuffle(facts, rng);

  const bool negated = rng.uniform() < config.p_negated;
  Sample s;
  for (const auto& f : facts) s.question += f + " ";
  s.question += "True or false: " + person + (negated ? " is not a " : " is a ") + q + ".";
  for (std::size_t i = 0; i < chain.size(); i += 2)  // sentences in pairs: a fact and the rule it meets
    s.steps.push_back(i + 1 < chain.size() ? chain[i] + " " + chain[i + 1] : chain[i]);
  s.answer = (max_is_q != negated) ? "True" : "False";
  return s;
}

// `count` samples from one seeded stream (a prefix of a larger set with the same seed).
inline std::vector<Sample> generate(std::size_t count, std::uint64_t seed, const Config& config = {}) {
  return sampling::draw(count, seed, [&](Rng& rng) { return generate(rng, config); });
}

}  // namespace coconut::prontoqa
