// Inference: fill the continuous thoughts of a batch of prompts, then decode
// greedily with the KV cache, all prompts at once.
//
// A prompt is `question <bot> <latent> x k <eot>` for Coconut (or any token list for
// the other policies). Prompts are left-padded so that they end at the same position
// P; with the same k in every prompt that also aligns their first latents, which
// the latent loop needs. Each decoding step computes one new position of every row
// against the cache: position P+j costs one pass over one position, not a pass over
// the whole sequence as in the reference's decoding.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "coconut/thought/policies.hpp"

namespace coconut {

struct Generation {
  std::vector<std::vector<int>> tokens;  // per prompt: the generated tokens, up to and including EOS
  Index generated_tokens = 0;            // sum of their lengths
};

namespace detail {
// Index of the largest of the first V logits.
template <class T>
int argmax(const T* logits, Index V) {
  return int(std::max_element(logits, logits + V) - logits);
}
}  // namespace detail

// Left-pads prompts to a common end; the batch has room for `extra` positions after it.
inline Batch left_padded_batch(const std::vector<std::vector<int>>& prompts, int pad_id, Index extra) {
  Index P = 0;
  for (const auto& p : prompts) {
    if (p.empty()) throw std::invalid_argument("generate: an empty prompt");
    P = std::max<Index>(P, Index(p.size()));
  }
  Batch batch(Index(prompts.size()), P + extra);
  for (Index b = 0; b < batch.B; ++b) {
    const Index pad = P - Index(prompts[b].size());
    for (Index t = 0; t < batch.T; ++t) {
      const Index i = batch.at(b, t);
      batch.tokens[i] = t >= pad && t < P ? prompts[b][t - pad] : pad_id;
      batch.mask[i] = t >= pad;
      batch.positions[i] = t >= pad ? int(t - pad) : 0;
    }
  }
  return batch;
}

template <class Policy, class Model>
Generation generate(Model& model, const std::vector<std::vector<int>>& prompts, int latent_id, int eos_id,
                    Index max_new_tokens) {
  if (prompts.empty() || max_new_tokens < 1) return {std::vector<std::vector<int>>(prompts.size()), 0};
  Batch batch = left_padded_batch(prompts, eos_id, max_new_tokens);
  const Index P = batch.T - max_new_tokens;
  if (batch.T > Model::maxT)
    throw std::invalid_argument("generate: prompt (" + std::to_string(P) + ") plus " + std::to_string(max_new_tokens) +
                                " new tokens exceeds block_size " + std::to_string(Model::maxT));
  model.set_batch(batch);
  // The prompt: with continuous thoughts, the n + 1 passes; otherwise one pass.
  if constexpr (Policy::continuous) {
    Batch prompt_only = batch;  // plan over the prompt, not the room left for new tokens
    for (Index b = 0; b < batch.B; ++b)
      for (Index t = P; t < batch.T; ++t) prompt_only.tokens[batch.at(b, t)] = eos_id;
    LatentPlan plan(prompt_only, latent_id);
    plan.passes.back().second = P;
    Policy::run_passes(model, plan);
  } else {
    model.forward(0, P);
  }

  Generation out;
  out.tokens.resize(batch.B);
  std::vector<bool> done(batch.B, false);
  for (Index j = 0; j < max_new_tokens; ++j) {
    const Index t = P - 1 + j;  // the last computed position
    bool all_done = true;
    for (Index b = 0; b < batch.B; ++b) {
      if (done[b]) continue;
      const int next = detail::argmax(model.logits(b, t), Model::V);
      out.tokens[b].push_back(next);
      ++out.generated_tokens;
      done[b] = next == eos_id;
      all_done = all_done && done[b];
    }
    if (all_done || j + 1 == max_new_tokens) break;
    for (Index b = 0; b < batch.B; ++b) model.set_token(b, t + 1, done[b] ? eos_id : out.tokens[b].back());
    model.forward(t + 1, t + 2);
  }
  return out;
}

}  // namespace coconut
