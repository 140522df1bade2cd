// GELU, tanh approximation (GPT-2's):  gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
#pragma once

#include <cmath>

#include "coconut/kernels/simd.hpp"

namespace coconut::kernels {

namespace detail {
inline constexpr double kGeluScale = 0.7978845608028654;  // sqrt(2 / pi)
inline constexpr double kGeluCubic = 0.044715;

// Written once for scalars and SIMD batches alike.
template <class T, class V>
inline V gelu(V x) {
  const V u = T(kGeluScale) * (x + T(kGeluCubic) * x * x * x);
  return T(0.5) * x * (T(1) + xsimd::tanh(u));
}
template <class T, class V>
inline V gelu_grad(V x) {
  const V u = T(kGeluScale) * (x + T(kGeluCubic) * x * x * x);
  const V th = xsimd::tanh(u);
  const V sech2 = T(1) - th * th;
  return T(0.5) * (T(1) + th) + T(0.5) * x * sech2 * T(kGeluScale) * (T(1) + T(3 * kGeluCubic) * x * x);
}
}  // namespace detail

namespace reference {

template <class T>
void gelu_forward(T* out, const T* inp, Index n) {
  for (Index i = 0; i < n; ++i) out[i] = detail::gelu<T>(inp[i]);
}

// Accumulates dinp += gelu'(inp) * dout.
template <class T>
void gelu_backward(T* dinp, const T* inp, const T* dout, Index n) {
  for (Index i = 0; i < n; ++i) dinp[i] += detail::gelu_grad<T>(inp[i]) * dout[i];
}

}  // namespace reference

template <class T>
void gelu_forward(T* out, const T* inp, Index n) {
  simd::transform(out, n, [](auto x) { return detail::gelu<T>(x); }, inp);
}

template <class T>
void gelu_backward(T* dinp, const T* inp, const T* dout, Index n) {
  simd::transform(dinp, n, [](auto acc, auto x, auto d) { return acc + detail::gelu_grad<T>(x) * d; }, dinp, inp,
                  dout);
}

}  // namespace coconut::kernels
