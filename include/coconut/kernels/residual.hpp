// Residual connection: out = a + b (element-wise, n elements). `out` may alias a or b.
#pragma once

#include "coconut/kernels/simd.hpp"

namespace coconut::kernels {

namespace reference {
template <class T>
void residual_forward(T* out, const T* a, const T* b, Index n) {
  for (Index i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
}  // namespace reference

template <class T>
void residual_forward(T* out, const T* a, const T* b, Index n) {
  simd::transform(out, n, [](auto x, auto y) { return x + y; }, a, b);
}

// The backward of a residual is a copy of the gradient into both branches; in the
// model the residual stream's gradient buffer is shared, so it is an accumulate.
template <class T>
void accumulate(T* dst, const T* src, Index n) {
  simd::transform(dst, n, [](auto x, auto y) { return x + y; }, dst, src);
}

}  // namespace coconut::kernels
