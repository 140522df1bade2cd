// What a continuous thought "contains": project it through the LM head.
//
// The thought fed into latent position p is the final hidden state of p-1; the LM
// head applied to it gives the logits the model computed at p-1. Their softmax
// over the vocabulary shows which tokens the thought is near (in the paper's
// ProsQA analysis: the frontier of a breadth-first search over the graph).
//
//     // every thought of one prompt `question <bot> <latent> x n <eot>`:
//     auto thoughts = thought_distributions(model, prompt, latent_id);  // (n, V)
//     double p = thoughts[0][words.id("wumpus")];  // the first thought's weight on "wumpus"
//     auto top = most_probable(thoughts[0], 5);    // its 5 most probable tokens
//
//     // or, after any forward pass that filled the latents of a batch:
//     auto top = decode_thought(model, b, p, 5);   // the 5 most probable tokens
#pragma once

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/model/gpt.hpp"
#include "coconut/thought/policies.hpp"

namespace coconut {

struct TokenProbability {
  int token;
  double probability;
};

// The model's distribution over the V tokens for the token after (b, t), after a
// forward pass that computed t: the softmax of the logits at t.
template <class Model>
std::vector<double> next_token_distribution(const Model& model, Index b, Index t) {
  if (b < 0 || b >= model.batch_size() || t < 0 || t >= model.seq_len())
    throw std::out_of_range("next_token_distribution: (" + std::to_string(b) + ", " + std::to_string(t) +
                            ") is outside the batch of " + std::to_string(model.batch_size()) + " rows of " +
                            std::to_string(model.seq_len()) + " positions");
  const auto* logits = model.logits(b, t);
  const Index V = Model::V;  // the LM head's padding columns are no tokens
  const double m = *std::max_element(logits, logits + V);
  std::vector<double> probability(V);
  double sum = 0;
  for (Index i = 0; i < V; ++i) {
    probability[i] = std::exp(double(logits[i]) - m);  // less the largest: no overflow
    sum += probability[i];
  }
  for (auto& x : probability) x /= sum;
  return probability;
}

// The distribution over the V tokens of the thought fed into latent position
// (b, p), after a forward pass that filled it: the softmax of the logits at p-1.
template <class Model>
std::vector<double> thought_distribution(const Model& model, Index b, Index p) {
  if (p < 1) throw std::invalid_argument("thought_distribution: position 0 has no thought before it");
  return next_token_distribution(model, b, p - 1);
}

// The k most probable tokens of a distribution (token id = index), most probable first.
inline std::vector<TokenProbability> most_probable(const std::vector<double>& distribution, int k) {
  std::vector<TokenProbability> all(distribution.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = {int(i), distribution[i]};
  k = std::clamp<int>(k, 0, int(all.size()));
  std::partial_sort(all.begin(), all.begin() + k, all.end(),
                    [](const auto& a, const auto& c) { return a.probability > c.probability; });
  all.resize(std::size_t(k));
  return all;
}

// The k most probable tokens of the thought fed into latent position (b, p).
template <class Model>
std::vector<TokenProbability> decode_thought(const Model& model, Index b, Index p, int k) {
  return most_probable(thought_distribution(model, b, p), k);
}

// Every continuous thought of one prompt: runs the latent loop over `prompt`
// (`question <bot> <latent> x n <eot>`; its latents must be consecutive) as
// generation does, and returns for each <latent>, in order, the distribution
// (V probabilities) of the thought fed into it. No latents: an empty list.
template <class Model>
std::vector<std::vector<double>> thought_distributions(Model& model, const std::vector<int>& prompt, int latent_id) {
  Batch batch(1, Index(prompt.size()));
  batch.tokens = prompt;
  model.set_batch(batch);
  const LatentPlan plan(batch, latent_id);
  ContinuousThought<1>::run_passes(model, plan);  // the loop is the same for any thoughts per step
  std::vector<std::vector<double>> out;
  for (Index p : plan.latents[0]) out.push_back(thought_distribution(model, 0, p));
  return out;
}

}  // namespace coconut
