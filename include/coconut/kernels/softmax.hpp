// Row softmax: out[n, :] = exp(inp[n, :] - max) / sum exp(inp[n, :] - max), over `len`
// entries of rows that are `stride` apart (stride >= len).
#pragma once

#include <cmath>

#include "coconut/kernels/parallel.hpp"
#include "coconut/kernels/simd.hpp"

namespace coconut::kernels {

namespace reference {

template <class T>
void softmax_forward(T* out, const T* inp, Index N, Index len, Index stride) {
  for (Index n = 0; n < N; ++n) {
    const T* x = inp + n * stride;
    T m = x[0];
    for (Index i = 1; i < len; ++i) m = std::max(m, x[i]);
    T sum = 0;
    for (Index i = 0; i < len; ++i) sum += std::exp(x[i] - m);
    for (Index i = 0; i < len; ++i) out[n * stride + i] = std::exp(x[i] - m) / sum;
  }
}

}  // namespace reference

// Softmax of one row, in place allowed.
template <class T>
inline void softmax_row(T* out, const T* x, Index len) {
  const T m = simd::max(x, len);
  simd::transform(out, len, [m](auto a) { return xsimd::exp(a - m); }, x);
  const T inv = T(1) / simd::transform_reduce<T>(len, [](auto a) { return a; }, out);
  simd::transform(out, len, [inv](auto a) { return a * inv; }, out);
}

template <class T>
void softmax_forward(T* out, const T* inp, Index N, Index len, Index stride) {
  auto rows = [=](Index n0, Index n1) {
    for (Index n = n0; n < n1; ++n) softmax_row(out + n * stride, inp + n * stride, len);
  };
  const int threads = threads_for(8.0 * N * len, kElementWorkPerThread);  // exp: ~8 operations
  if (threads > 1) parallel_blocks(N, 8, threads, rows);
  else rows(0, N);
}

}  // namespace coconut::kernels
