// What a continuous thought "contains": project it through the LM head.
//
// The thought fed into latent position p is the final hidden state of p-1; the LM
// head applied to it gives the logits the model computed at p-1. Their softmax
// over the vocabulary shows which tokens the thought is near (in the paper's
// ProsQA analysis: the frontier of a breadth-first search over the graph).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "coconut/model/gpt.hpp"

namespace coconut {

struct TokenProbability {
  int token;
  double probability;
};

// The k most probable tokens of the thought fed into latent position (b, p),
// after a forward pass that filled it.
template <class Model>
std::vector<TokenProbability> decode_thought(const Model& model, Index b, Index p, int k) {
  if (p < 1) throw std::invalid_argument("decode_thought: position 0 has no thought before it");
  const auto* logits = model.logits(b, p - 1);
  const Index V = Model::V;
  const double m = *std::max_element(logits, logits + V);
  double sum = 0;
  for (Index i = 0; i < V; ++i) sum += std::exp(double(logits[i]) - m);
  std::vector<TokenProbability> all(V);
  for (Index i = 0; i < V; ++i) all[i] = {int(i), std::exp(double(logits[i]) - m) / sum};
  k = std::min<int>(k, int(V));
  std::partial_sort(all.begin(), all.begin() + k, all.end(),
                    [](const auto& a, const auto& c) { return a.probability > c.probability; });
  all.resize(k);
  return all;
}

}  // namespace coconut
