// AdamW over a whole parameter arena, gradient-norm clipping and learning-rate
// schedules.
//
// The moments live in two arenas with the parameters' layout, so one step is one
// loop per tensor (a tensor's weight decay is its only per-tensor setting).
#pragma once

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "coconut/kernels/adamw.hpp"
#include "coconut/tensor/arena.hpp"

namespace coconut {

struct AdamWConfig : kernels::AdamWHyper {
  // Decay only matrices (weights and embeddings), not biases or LayerNorm
  // parameters: the usual GPT-2 choice. false decays everything.
  bool decay_matrices_only = true;
};

template <class T>
class AdamW {
 public:
  AdamW(const Layout& layout, AdamWConfig config) : config_(config), m_(layout), v_(layout) {}

  const AdamWConfig& config() const { return config_; }
  AdamWConfig& config() { return config_; }
  long step_count() const { return t_; }
  Arena<T>& first_moment() { return m_; }
  Arena<T>& second_moment() { return v_; }
  const Arena<T>& first_moment() const { return m_; }
  const Arena<T>& second_moment() const { return v_; }
  void set_step_count(long t) { t_ = t; }

  // Forget the moments and the step count (the reference re-creates its optimizer
  // at every epoch or stage).
  void reset() {
    m_.zero();
    v_.zero();
    t_ = 0;
  }

  // One update of `params` from `grads` at learning rate `lr`.
  void step(Arena<T>& params, const Arena<T>& grads, double lr) {
    if (params.size() != m_.size() || grads.size() != m_.size())
      throw std::invalid_argument("AdamW::step: parameter and gradient arenas do not match the optimizer's layout");
    ++t_;
    kernels::AdamWHyper h = config_;
    h.lr = lr;
    for (const auto& e : m_.layout().entries()) {
      const double wd = (!config_.decay_matrices_only || e.shape.size() >= 2) ? config_.weight_decay : 0.0;
      kernels::adamw_update(params.data() + e.offset, grads.data() + e.offset, m_.data() + e.offset,
                            v_.data() + e.offset, e.size, h, wd, t_);
    }
  }

 private:
  AdamWConfig config_;
  Arena<T> m_, v_;
  long t_ = 0;
};

// The L2 norm of all gradients together.
template <class T>
double grad_norm(const Arena<T>& grads) {
  double sum = 0;
  for (T g : grads.span()) sum += double(g) * double(g);
  return std::sqrt(sum);
}

// Scales the gradients so that their norm is at most max_norm (as
// torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
template <class T>
double clip_grad_norm(Arena<T>& grads, double max_norm) {
  const double norm = grad_norm(grads);
  if (max_norm > 0 && norm > max_norm) {
    const T scale = T(max_norm / (norm + 1e-6));
    for (T& g : grads.span()) g *= scale;
  }
  return norm;
}

// Linear warm-up from 0 over `warmup_steps`, then constant or cosine decay to
// min_lr at total_steps.
struct LrSchedule {
  enum class Kind { constant, cosine };
  double lr = 1e-4;
  long warmup_steps = 0;
  Kind kind = Kind::constant;
  long total_steps = 0;  // cosine only
  double min_lr = 0;     // cosine only

  double at(long step) const {  // step counts from 0
    if (step < warmup_steps) return lr * double(step + 1) / double(warmup_steps);
    if (kind == Kind::constant || total_steps <= warmup_steps) return lr;
    const double progress = std::min(1.0, double(step - warmup_steps) / double(total_steps - warmup_steps));
    return min_lr + 0.5 * (lr - min_lr) * (1 + std::cos(std::numbers::pi * progress));
  }
};

}  // namespace coconut
