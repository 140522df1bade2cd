// "Chain": a small reasoning task built into the library, on which continuous
// thoughts visibly help; the demo and the tests use it.
//
// A start digit x and H operations modulo 10 ("+ 3", "* 7", ...); the answer is
// the value after the last one. Each reasoning step is the value after one more
// operation, so chain-of-thought writes the intermediate values and Coconut
// replaces them, one at a time, by continuous thoughts: thought i can carry the
// value after operation i into the next position, where operation i+1 is applied.
// Answering without steps means composing all H operations in one forward pass.
//
//     question:  4 , + 3 , * 7 , + 5 ?        (x = 4)
//     steps:     7 | 9 | 4                      (4+3 = 7, 7*7 = 49 -> 9, 9+5 = 14 -> 4)
//     answer:    # 4
//
// Tokens have fixed ids (ChainVocabulary), so no tokenizer is needed.
#pragma once

#include <string>
#include <vector>

#include "coconut/data/layout.hpp"
#include "coconut/data/sampling.hpp"
#include "coconut/tensor/random.hpp"

namespace coconut {

struct ChainVocabulary {
  static constexpr int eos = 0, bot = 1, eot = 2, latent = 3, hash = 4, question = 5, comma = 6, plus = 7, times = 8;
  static constexpr int digit0 = 9;
  static constexpr int size = digit0 + 10;
  static SpecialTokens special() { return {bot, eot, latent, eos}; }

  static std::string word(int id) {
    static const char* names[] = {"<eos>", "<bot>", "<eot>", "<latent>", "#", "?", ",", "+", "*"};
    if (id >= 0 && id < digit0) return names[id];
    if (id >= digit0 && id < size) return std::string(1, char('0' + (id - digit0)));
    return "<" + std::to_string(id) + ">";
  }
  static std::string text(const std::vector<int>& ids) {
    std::string s;
    for (int id : ids) s += (s.empty() ? "" : " ") + word(id);
    return s;
  }
};

// `n` chains of `ops` operations, from `seed`.
inline std::vector<TokenizedSample> make_chains(std::size_t n, int ops, std::uint64_t seed) {
  using V = ChainVocabulary;
  return sampling::draw(n, seed, [ops](Rng& rng) {
    TokenizedSample s;
    int x = int(rng.below(10));
    s.question = {V::digit0 + x};
    for (int i = 0; i < ops; ++i) {
      const bool add = rng.below(2) == 0;
      const int a = add ? 1 + int(rng.below(9)) : 2 + int(rng.below(8));  // never + 0 or * 1
      s.question.insert(s.question.end(), {V::comma, add ? V::plus : V::times, V::digit0 + a});
      x = add ? (x + a) % 10 : (x * a) % 10;
      s.steps.push_back({V::digit0 + x});
    }
    s.question.push_back(V::question);
    s.answer = {V::hash, V::digit0 + x};
    return s;
  });
}

}  // namespace coconut
