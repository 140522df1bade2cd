// The one door to SIMD: element-wise loops written once, run with xsimd batches.
//
// A kernel passes a generic callable (a lambda with `auto` arguments). The body of
// the loop calls it with xsimd batches, the tail (and every element when xsimd is
// switched off with COCONUT_NO_XSIMD) with plain scalars. Inside the callable use
// operators and xsimd:: math functions, which exist for both, e.g.
//
//     simd::transform(out, n, [](auto x, auto y) { return x * xsimd::tanh(y); }, a, b);
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>

#include "coconut/tensor/arena.hpp"

namespace coconut::simd {

#ifdef COCONUT_NO_XSIMD
template <class T>
inline constexpr Index width = 1;
#else
template <class T>
inline constexpr Index width = static_cast<Index>(xsimd::batch<T>::size);
#endif

// out[i] = f(in[i]...) for 0 <= i < n. `out` may alias any input.
template <class T, class F, class... In>
inline void transform(T* out, Index n, F&& f, const In*... in) {
#ifdef COCONUT_NO_XSIMD
  const Index body = 0;
#else
  const Index body = n - n % width<T>;  // whole batches; the tail is done one by one
  using B = xsimd::batch<T>;
  for (Index i = 0; i < body; i += width<T>) {
    B r = f(B::load_unaligned(in + i)...);
    r.store_unaligned(out + i);
  }
#endif
  for (Index i = body; i < n; ++i) out[i] = f(in[i]...);
}

// sum over 0 <= i < n of f(in[i]...).
template <class T, class F, class... In>
inline T transform_reduce(Index n, F&& f, const In*... in) {
  T sum = 0;
#ifdef COCONUT_NO_XSIMD
  const Index body = 0;
#else
  const Index body = n - n % width<T>;
  using B = xsimd::batch<T>;
  B acc(T(0));
  for (Index i = 0; i < body; i += width<T>) acc += f(B::load_unaligned(in + i)...);
  sum = xsimd::hadd(acc);  // horizontal sum
#endif
  for (Index i = body; i < n; ++i) sum += f(in[i]...);
  return sum;
}

// max over 0 <= i < n of x[i]; n must be at least 1.
template <class T>
inline T max(const T* x, Index n) {
  Index i = 0;
  T m = x[0];
#ifndef COCONUT_NO_XSIMD
  using B = xsimd::batch<T>;
  if (n >= width<T>) {
    B acc = B::load_unaligned(x);
    for (i = width<T>; i + width<T> <= n; i += width<T>) acc = xsimd::max(acc, B::load_unaligned(x + i));
    alignas(64) T lanes[width<T>];
    acc.store_aligned(lanes);
    for (Index j = 0; j < width<T>; ++j) m = lanes[j] > m ? lanes[j] : m;
  }
#endif
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

}  // namespace coconut::simd
