// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as torch.optim.AdamW.
//
//   m = b1 m + (1 - b1) g            v = b2 v + (1 - b2) g^2
//   p = p - lr (wd p + (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps))
//
// over n parameters; t is the 1-based step count.
#pragma once

#include <cmath>

#include "coconut/kernels/simd.hpp"

namespace coconut::kernels {

struct AdamWHyper {
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

namespace reference {

template <class T>
void adamw_update(T* params, const T* grads, T* m, T* v, Index n, const AdamWHyper& h, double weight_decay, long t) {
  const double c1 = 1 - std::pow(h.beta1, double(t)), c2 = 1 - std::pow(h.beta2, double(t));
  for (Index i = 0; i < n; ++i) {
    m[i] = T(h.beta1 * m[i] + (1 - h.beta1) * grads[i]);
    v[i] = T(h.beta2 * v[i] + (1 - h.beta2) * grads[i] * grads[i]);
    const double mhat = m[i] / c1, vhat = v[i] / c2;
    params[i] = T(params[i] - h.lr * (weight_decay * params[i] + mhat / (std::sqrt(vhat) + h.eps)));
  }
}

}  // namespace reference

// `weight_decay` is passed apart from the hyper-parameters because it differs per
// tensor (none for biases and LayerNorm parameters).
template <class T>
void adamw_update(T* params, const T* grads, T* m, T* v, Index n, const AdamWHyper& h, double weight_decay, long t) {
  const T b1 = T(h.beta1), b2 = T(h.beta2), eps = T(h.eps), lr = T(h.lr), wd = T(weight_decay);
  // 1 - beta in double: in float, 1 - 0.999f = 0.00099998713 has lost four digits.
  const T omb1 = T(1 - h.beta1), omb2 = T(1 - h.beta2);
  const T c1 = T(1 / (1 - std::pow(h.beta1, double(t)))), c2 = T(1 / (1 - std::pow(h.beta2, double(t))));
  simd::transform(m, n, [b1, omb1](auto mi, auto g) { return b1 * mi + omb1 * g; }, m, grads);
  simd::transform(v, n, [b2, omb2](auto vi, auto g) { return b2 * vi + omb2 * g * g; }, v, grads);
  simd::transform(
      params, n,
      [=](auto p, auto mi, auto vi) { return p - lr * (wd * p + (mi * c1) / (xsimd::sqrt(vi * c2) + eps)); }, params,
      m, v);
}

}  // namespace coconut::kernels
