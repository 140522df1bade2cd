// Layer normalisation over the last dimension, as in GPT-2 (eps = 1e-5).
//
//   inp, out (N, C);  weight, bias (C);  mean, rstd (N) saved for backward
//   out[n] = (inp[n] - mean[n]) * rstd[n] * weight + bias,  rstd = 1/sqrt(var + eps)
#pragma once

#include <cmath>

#include "coconut/kernels/parallel.hpp"
#include "coconut/kernels/simd.hpp"

namespace coconut::kernels {

inline constexpr double kLayerNormEps = 1e-5;

namespace reference {

template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias, Index N, Index C) {
  for (Index n = 0; n < N; ++n) {
    const T* x = inp + n * C;
    T m = 0;
    for (Index i = 0; i < C; ++i) m += x[i];
    m /= C;
    T v = 0;
    for (Index i = 0; i < C; ++i) v += (x[i] - m) * (x[i] - m);
    v /= C;
    const T s = T(1) / std::sqrt(v + T(kLayerNormEps));
    for (Index i = 0; i < C; ++i) out[n * C + i] = (x[i] - m) * s * weight[i] + bias[i];
    mean[n] = m;
    rstd[n] = s;
  }
}

// Accumulates into dinp (N, C), dweight (C), dbias (C).
template <class T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, Index N, Index C) {
  for (Index n = 0; n < N; ++n) {
    const T* x = inp + n * C;
    const T* dy = dout + n * C;
    // d(norm) = weight * dy; the two means below are what normalisation subtracts.
    T dnorm_mean = 0, dnorm_norm_mean = 0;
    for (Index i = 0; i < C; ++i) {
      const T norm = (x[i] - mean[n]) * rstd[n];
      dnorm_mean += weight[i] * dy[i];
      dnorm_norm_mean += weight[i] * dy[i] * norm;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    for (Index i = 0; i < C; ++i) {
      const T norm = (x[i] - mean[n]) * rstd[n];
      dbias[i] += dy[i];
      dweight[i] += norm * dy[i];
      dinp[n * C + i] += (weight[i] * dy[i] - dnorm_mean - norm * dnorm_norm_mean) * rstd[n];
    }
  }
}

}  // namespace reference

template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias, Index N, Index C) {
  auto rows = [=](Index n0, Index n1) {
    for (Index n = n0; n < n1; ++n) {
      const T* x = inp + n * C;
      const T m = simd::transform_reduce<T>(C, [](auto a) { return a; }, x) / T(C);
      const T v = simd::transform_reduce<T>(C, [m](auto a) { return (a - m) * (a - m); }, x) / T(C);
      const T s = T(1) / std::sqrt(v + T(kLayerNormEps));
      simd::transform(out + n * C, C, [m, s](auto a, auto w, auto b) { return (a - m) * s * w + b; }, x, weight, bias);
      mean[n] = m;
      rstd[n] = s;
    }
  };
  const int threads = threads_for(4.0 * N * C, kElementWorkPerThread);
  if (threads > 1) parallel_blocks(N, 8, threads, rows);
  else rows(0, N);
}

// Accumulates, as the reference does.
template <class T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, Index N, Index C) {
  // dinp: rows are independent, so they run in parallel.
  auto rows = [=](Index n0, Index n1) {
    for (Index n = n0; n < n1; ++n) {
      const T* x = inp + n * C;
      const T* dy = dout + n * C;
      const T m = mean[n], s = rstd[n];
      const T dnorm_mean = simd::transform_reduce<T>(C, [](auto w, auto d) { return w * d; }, weight, dy) / T(C);
      const T dnorm_norm_mean =
          simd::transform_reduce<T>(C, [m, s](auto w, auto d, auto a) { return w * d * (a - m) * s; }, weight, dy, x) /
          T(C);
      T* dx = dinp + n * C;
      simd::transform(
          dx, C,
          [m, s, dnorm_mean, dnorm_norm_mean](auto acc, auto w, auto d, auto a) {
            return acc + (w * d - dnorm_mean - (a - m) * s * dnorm_norm_mean) * s;
          },
          dx, weight, dy, x);
    }
  };
  const int threads = threads_for(6.0 * N * C, kElementWorkPerThread);
  if (threads > 1) parallel_blocks(N, 8, threads, rows);
  else rows(0, N);
  // dweight, dbias: sums over rows.
  for (Index n = 0; n < N; ++n) {
    const T m = mean[n], s = rstd[n];
    const T* dy = dout + n * C;
    simd::transform(dbias, C, [](auto acc, auto d) { return acc + d; }, dbias, dy);
    simd::transform(
        dweight, C, [m, s](auto acc, auto d, auto a) { return acc + (a - m) * s * d; }, dweight, dy, inp + n * C);
  }
}

}  // namespace coconut::kernels
