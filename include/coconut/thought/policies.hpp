// How a model treats the <latent> positions of a batch: the thought policies.
//
//   ContinuousThought<N>  Coconut. Each <latent> position's input embedding is the
//                         final hidden state of the position before it, so the
//                         model "thinks" in its own hidden space. N is the number
//                         of continuous thoughts per replaced reasoning step (the
//                         paper's c); the data layout uses it, the loop does not.
//   PauseTokens<N>        <latent> is an ordinary learned token (a "pause"): the
//                         baselines "pause token" and "pause as thought".
//   NoThought             no latents at all: CoT, No-CoT, "w/o thought".
//
// All three have the same interface, so code above them (data layout, trainer,
// evaluation) never asks which one it has:
//
//     T loss = policy.forward(model, batch, latent_id);
//     policy.backward(model);   // gradients into model.grads(), accumulated
//
// backward(model, block_done) passes `block_done` to the model's last backward
// pass, the one after which each block's gradients are final (see GPT::backward).
//
// The Coconut loop (see ../shared/COCONUT.md, "Forward with n latents"): with r the
// first latent position (aligned across rows by left padding) and n the most
// latents of any row, it runs n + 1 passes:
//
//   pass 0      computes [0, r)                          (fills the KV cache)
//   pass i      writes thought i-1 = hidden(r+i-2) into the input embedding of
//   (1..n-1)    latent r+i-1, then computes [r+i-1, r+i)
//   pass n      writes the last thought, computes [r+n-1, T)
//
// Nothing is detached. Backward runs the passes in reverse: after the pass that
// holds latent p, the gradient of p's input embedding is added to the gradient of
// the hidden state at p-1 that produced it, before the backward of p-1's pass; the
// key/value gradients reach earlier positions through the model's KV cache.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "coconut/model/gpt.hpp"

namespace coconut {

// Where each row's latents are and which position ranges the passes compute.
struct LatentPlan {
  std::vector<std::vector<Index>> latents;  // per row: positions of its <latent> tokens
  Index first = 0;                          // r: the first latent position of every row that has any
  Index most = 0;                           // n: the most latents in a row
  std::vector<std::pair<Index, Index>> passes;

  LatentPlan(const Batch& batch, int latent_id) {
    latents.resize(batch.B);
    for (Index b = 0; b < batch.B; ++b)
      for (Index t = 0; t < batch.T; ++t)
        if (batch.tokens[batch.at(b, t)] == latent_id) latents[b].push_back(t);
    first = batch.T;
    for (const auto& l : latents) {
      most = std::max<Index>(most, Index(l.size()));
      if (!l.empty()) first = std::min(first, l.front());
    }
    if (most == 0) {
      passes = {{0, batch.T}};
      return;
    }
    if (first == 0) throw std::invalid_argument("LatentPlan: a <latent> at position 0 has no hidden state to take");
    for (Index b = 0; b < batch.B; ++b)
      for (Index i = 0; i < Index(latents[b].size()); ++i)
        if (latents[b][i] != first + i)
          throw std::invalid_argument(
              "LatentPlan: row " + std::to_string(b) + " has its latent #" + std::to_string(i) + " at position " +
              std::to_string(latents[b][i]) + ", expected " + std::to_string(first + i) +
              ": latents must be consecutive and start at the same position in every row (left-pad to align them)");
    passes.emplace_back(0, first);
    for (Index i = 1; i < most; ++i) passes.emplace_back(first + i - 1, first + i);
    passes.emplace_back(first + most - 1, batch.T);
  }
};

// One pass over all positions: the plain model.
struct SinglePass {
  template <class Model>
  typename Model::scalar forward(Model& model, const Batch& batch, int /*latent_id*/) {
    model.set_batch(batch);
    model.forward(0, batch.T);
    return model.loss();
  }
  template <class Model>
  void backward(Model& model, const std::function<void(Index)>& block_done = {}) {
    model.start_backward();
    model.backward(0, model.seq_len(), block_done);
  }
};

struct NoThought : SinglePass {
  static constexpr int thoughts_per_step = 0;
  static constexpr bool continuous = false;
};

template <int N>
struct PauseTokens : SinglePass {
  static_assert(N >= 1, "PauseTokens<N>: N, the pause tokens per replaced step, must be at least 1");
  static constexpr int thoughts_per_step = N;
  static constexpr bool continuous = false;
};

template <int N>
class ContinuousThought {
  static_assert(N >= 1, "ContinuousThought<N>: N, the continuous thoughts per replaced step, must be at least 1");

 public:
  static constexpr int thoughts_per_step = N;
  static constexpr bool continuous = true;

  // Runs the n + 1 passes over `batch`; returns the loss.
  template <class Model>
  typename Model::scalar forward(Model& model, const Batch& batch, int latent_id) {
    model.set_batch(batch);
    plan_ = LatentPlan(batch, latent_id);
    run_passes(model, plan_);
    return model.loss();
  }

  // Fills the thoughts of the batch already set in `model` (inference).
  template <class Model>
  static void run_passes(Model& model, const LatentPlan& plan) {
    for (std::size_t i = 0; i < plan.passes.size(); ++i) {
      if (i >= 1) feed_thoughts(model, plan, Index(i));
      model.forward(plan.passes[i].first, plan.passes[i].second);
    }
  }

  template <class Model>
  void backward(Model& model, const std::function<void(Index)>& block_done = {}) {
    model.start_backward();
    for (std::size_t i = plan_.passes.size(); i-- > 0;) {
      model.backward(plan_.passes[i].first, plan_.passes[i].second, i == 0 ? block_done : nullptr);
      if (i >= 1) route_thought_gradients(model, plan_, Index(i));
    }
  }

  const LatentPlan& plan() const { return plan_; }

 private:
  // Before pass i: thought i-1 of each row (the hidden state before its latent
  // i-1) becomes that latent's input embedding.
  template <class Model>
  static void feed_thoughts(Model& model, const LatentPlan& plan, Index i) {
    for (Index b = 0; b < Index(plan.latents.size()); ++b) {
      if (Index(plan.latents[b].size()) < i) continue;
      const Index p = plan.latents[b][i - 1];
      model.set_input_embedding(b, p, model.hidden(b, p - 1));
    }
  }

  // After the backward of pass i: d(input embedding of latent i-1) flows into
  // d(hidden state that was fed back).
  template <class Model>
  static void route_thought_gradients(Model& model, const LatentPlan& plan, Index i) {
    for (Index b = 0; b < Index(plan.latents.size()); ++b) {
      if (Index(plan.latents[b].size()) < i) continue;
      const Index p = plan.latents[b][i - 1];
      kernels::accumulate(model.d_hidden(b, p - 1), model.d_input_embedding(b, p), Model::C);
    }
  }

  LatentPlan plan_{Batch(1, 1), -1};
};

}  // namespace coconut
