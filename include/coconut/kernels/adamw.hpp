// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as torch.optim.AdamW.
//
//   m = b1 m + (1 - b1) g            v = b2 v + (1 - b2) g^2
//   p = p - lr (wd p + (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps))
//
// over n parameters; t is the 1-based step count.
#pragma once

#include <cmath>

#include "coconut/kernels/parallel.hpp"
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
// tensor (none for biases and LayerNorm parameters). One pass over the four
// arrays (the update is memory-bound: a pass per moment would read g twice and m,
// v twice more), the same operations in the same order as three passes would do.
template <class T>
void adamw_update(T* params, const T* grads, T* m, T* v, Index n, const AdamWHyper& h, double weight_decay, long t) {
  const T b1 = T(h.beta1), b2 = T(h.beta2), eps = T(h.eps), lr = T(h.lr), wd = T(weight_decay);
  // 1 - beta in double: in float, 1 - 0.999f = 0.00099998713 has lost four digits.
  const T omb1 = T(1 - h.beta1), omb2 = T(1 - h.beta2);
  const T c1 = T(1 / (1 - std::pow(h.beta1, double(t)))), c2 = T(1 / (1 - std::pow(h.beta2, double(t))));
  // Written once for SIMD batches and scalars: new (p, m, v) from (p, g, m, v).
  const auto update = [=](auto& p, auto g, auto& mi, auto& vi) {
    mi = b1 * mi + omb1 * g;
    vi = b2 * vi + omb2 * g * g;
    p = p - lr * (wd * p + (mi * c1) / (xsimd::sqrt(vi * c2) + eps));
  };
  const auto range = [&](Index i0, Index i1) {
    Index i = i0;
#ifndef COCONUT_NO_XSIMD
    using B = xsimd::batch<T>;
    for (; i + simd::width<T> <= i1; i += simd::width<T>) {
      B p = B::load_unaligned(params + i), mi = B::load_unaligned(m + i), vi = B::load_unaligned(v + i);
      update(p, B::load_unaligned(grads + i), mi, vi);
      p.store_unaligned(params + i);
      mi.store_unaligned(m + i);
      vi.store_unaligned(v + i);
    }
#endif
    for (; i < i1; ++i) update(params[i], grads[i], m[i], v[i]);
  };
  const int threads = threads_for(4.0 * double(n), kElementWorkPerThread);
  if (threads > 1) parallel_blocks(n, 1024, threads, range);
  else range(0, n);
}

}  // namespace coconut::kernels
