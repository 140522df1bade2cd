// Cross-entropy of logits against target classes, with an ignore index.
//
//   logits  (N, Vp)  rows of Vp entries; only the first V are classes (Vp >= V is
//                    the padded vocabulary: the padding columns take no part)
//   targets (N)      class per row, or `ignore_index` (-100) for rows without loss
//   losses  (N)      -log softmax(logits)[target], 0 on ignored rows
//   lse     (N)      log-sum-exp of each row, saved so backward needs no softmax buffer
//
// forward returns how many rows count; the model's loss is their mean.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include "coconut/kernels/parallel.hpp"
#include "coconut/kernels/simd.hpp"

namespace coconut::kernels {

inline constexpr int kIgnoreIndex = -100;

namespace detail {
inline void check_target(int target, Index row, Index V) {
  if (target < 0 || target >= V) {
    throw std::out_of_range("cross-entropy: target " + std::to_string(target) + " at row " + std::to_string(row) +
                            " is outside the vocabulary [0, " + std::to_string(V) + ")");
  }
}
}  // namespace detail

namespace reference {

template <class T>
Index crossentropy_forward(T* losses, T* lse, const T* logits, const int* targets, Index N, Index V, Index Vp,
                           int ignore_index = kIgnoreIndex) {
  Index count = 0;
  for (Index n = 0; n < N; ++n) {
    const T* x = logits + n * Vp;
    T m = x[0];
    for (Index i = 1; i < V; ++i) m = std::max(m, x[i]);
    T sum = 0;
    for (Index i = 0; i < V; ++i) sum += std::exp(x[i] - m);
    lse[n] = m + std::log(sum);
    if (targets[n] == ignore_index) {
      losses[n] = 0;
      continue;
    }
    detail::check_target(targets[n], n, V);
    losses[n] = lse[n] - x[targets[n]];
    ++count;
  }
  return count;
}

// Accumulates dlogits[n, :V] += scale * (softmax(logits[n]) - onehot(target)) on
// rows that count; scale is d(loss)/d(sum of row losses), 1/count for a mean.
template <class T>
void crossentropy_backward(T* dlogits, const T* logits, const T* lse, const int* targets, T scale, Index N, Index V,
                           Index Vp, int ignore_index = kIgnoreIndex) {
  for (Index n = 0; n < N; ++n) {
    if (targets[n] == ignore_index) continue;
    for (Index i = 0; i < V; ++i) {
      const T p = std::exp(logits[n * Vp + i] - lse[n]);
      dlogits[n * Vp + i] += scale * (p - (i == targets[n] ? T(1) : T(0)));
    }
  }
}

}  // namespace reference

template <class T>
Index crossentropy_forward(T* losses, T* lse, const T* logits, const int* targets, Index N, Index V, Index Vp,
                           int ignore_index = kIgnoreIndex) {
  for (Index n = 0; n < N; ++n)
    if (targets[n] != ignore_index) detail::check_target(targets[n], n, V);
  Index count = 0;
  for (Index n = 0; n < N; ++n) count += targets[n] != ignore_index;
  auto rows = [=](Index n0, Index n1) {
    for (Index n = n0; n < n1; ++n) {
      const T* x = logits + n * Vp;
      const T m = simd::max(x, V);
      lse[n] = m + std::log(simd::transform_reduce<T>(V, [m](auto a) { return xsimd::exp(a - m); }, x));
      losses[n] = targets[n] != ignore_index ? lse[n] - x[targets[n]] : T(0);
    }
  };
  const int threads = threads_for(8.0 * N * V, kElementWorkPerThread);  // exp: ~8 operations
  if (threads > 1) parallel_blocks(N, 8, threads, rows);
  else rows(0, N);
  return count;
}

template <class T>
void crossentropy_backward(T* dlogits, const T* logits, const T* lse, const int* targets, T scale, Index N, Index V,
                           Index Vp, int ignore_index = kIgnoreIndex) {
  auto rows = [=](Index n0, Index n1) {
    for (Index n = n0; n < n1; ++n) {
      if (targets[n] == ignore_index) continue;
      const T l = lse[n];
      simd::transform(
          dlogits + n * Vp, V, [l, scale](auto d, auto a) { return d + scale * xsimd::exp(a - l); }, dlogits + n * Vp,
          logits + n * Vp);
      dlogits[n * Vp + targets[n]] -= scale;
    }
  };
  const int threads = threads_for(8.0 * N * V, kElementWorkPerThread);
  if (threads > 1) parallel_blocks(N, 8, threads, rows);
  else rows(0, N);
}

}  // namespace coconut::kernels
