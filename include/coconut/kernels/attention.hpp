// Causal multi-head self-attention over a range of query positions, with a KV cache.
//
// Shapes (B batch rows, NH heads, T positions allocated, hs head size, C = NH * hs):
//   qkv        (T, B, 3C)      the c_attn output, time-major (see model/gpt.hpp)
//   q, k, v    (B, NH, T, hs)  one contiguous (T, hs) matrix per row and head: the
//                              keys and values of positions [0, s) are the KV cache
//   att        (B, NH, T, T)   attention probabilities, saved for backward
//   out        (B, NH, T, hs)
//   mask       (B, T)          1 for a real token, 0 for padding
//
// A call computes query positions [s, e) against key positions [0, t] for each
// query t (causal). Padding keys are never attended to, and a padding query
// attends to nothing: its probabilities and its output are zero. Computing [0, T)
// in one call or in several consecutive ranges gives the same result; backward
// over a range accumulates key and value gradients into all positions [0, e),
// which is how gradients reach positions computed in earlier passes.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "coconut/kernels/matmul.hpp"
#include "coconut/kernels/parallel.hpp"
#include "coconut/kernels/softmax.hpp"

namespace coconut::kernels {

struct AttentionShape {
  Index B, NH, T, hs;
  Index C() const { return NH * hs; }
  Index head_offset(Index b, Index h) const { return ((b * NH + h) * T) * hs; }  // start of a (T, hs) matrix
  Index att_offset(Index b, Index h) const { return ((b * NH + h) * T) * T; }    // start of a (T, T) matrix
};

// qkv rows [s, e) (T, B, 3C) -> q, k, v (B, NH, T, hs).
template <class T>
void split_heads(T* q, T* k, T* v, const T* qkv, const AttentionShape& d, Index s, Index e) {
  const Index C = d.C();
  for (Index t = s; t < e; ++t)
    for (Index b = 0; b < d.B; ++b) {
      const T* row = qkv + (t * d.B + b) * 3 * C;
      for (Index h = 0; h < d.NH; ++h) {
        const Index dst = d.head_offset(b, h) + t * d.hs;
        for (Index i = 0; i < d.hs; ++i) {
          q[dst + i] = row[h * d.hs + i];
          k[dst + i] = row[C + h * d.hs + i];
          v[dst + i] = row[2 * C + h * d.hs + i];
        }
      }
    }
}

// Backward of split_heads: dq, dk, dv (B, NH, T, hs) -> dqkv rows [s, e) (T, B, 3C), overwriting.
template <class T>
void split_heads_backward(T* dqkv, const T* dq, const T* dk, const T* dv, const AttentionShape& d, Index s, Index e) {
  const Index C = d.C();
  for (Index t = s; t < e; ++t)
    for (Index b = 0; b < d.B; ++b) {
      T* row = dqkv + (t * d.B + b) * 3 * C;
      for (Index h = 0; h < d.NH; ++h) {
        const Index src = d.head_offset(b, h) + t * d.hs;
        for (Index i = 0; i < d.hs; ++i) {
          row[h * d.hs + i] = dq[src + i];
          row[C + h * d.hs + i] = dk[src + i];
          row[2 * C + h * d.hs + i] = dv[src + i];
        }
      }
    }
}

// y (B, NH, T, hs) rows [s, e) -> out (T, B, C), heads side by side.
template <class T>
void merge_heads(T* out, const T* y, const AttentionShape& d, Index s, Index e) {
  for (Index t = s; t < e; ++t)
    for (Index b = 0; b < d.B; ++b)
      for (Index h = 0; h < d.NH; ++h)
        for (Index i = 0; i < d.hs; ++i)
          out[(t * d.B + b) * d.C() + h * d.hs + i] = y[d.head_offset(b, h) + t * d.hs + i];
}
// Backward of merge_heads: dout (T, B, C) rows [s, e) -> dy (B, NH, T, hs), overwriting.
template <class T>
void merge_heads_backward(T* y, const T* out, const AttentionShape& d, Index s, Index e) {
  for (Index t = s; t < e; ++t)
    for (Index b = 0; b < d.B; ++b)
      for (Index h = 0; h < d.NH; ++h)
        for (Index i = 0; i < d.hs; ++i)
          y[d.head_offset(b, h) + t * d.hs + i] = out[(t * d.B + b) * d.C() + h * d.hs + i];
}

namespace reference {

template <class T>
void attention_forward(T* out, T* att, const T* q, const T* k, const T* v, const std::uint8_t* mask,
                       const AttentionShape& d, Index s, Index e) {
  const T scale = T(1) / std::sqrt(T(d.hs));
  for (Index b = 0; b < d.B; ++b)
    for (Index h = 0; h < d.NH; ++h)
      for (Index t = s; t < e; ++t) {
        const T* qt = q + d.head_offset(b, h) + t * d.hs;
        T* a = att + d.att_offset(b, h) + t * d.T;
        T* o = out + d.head_offset(b, h) + t * d.hs;
        for (Index j = 0; j < d.T; ++j) a[j] = 0;
        for (Index i = 0; i < d.hs; ++i) o[i] = 0;
        if (!mask[b * d.T + t]) continue;  // padding query: attends to nothing
        T m = -INFINITY;
        for (Index j = 0; j <= t; ++j) {
          if (!mask[b * d.T + j]) continue;
          T dot = 0;
          for (Index i = 0; i < d.hs; ++i) dot += qt[i] * k[d.head_offset(b, h) + j * d.hs + i];
          a[j] = dot * scale;
          m = std::max(m, a[j]);
        }
        T sum = 0;
        for (Index j = 0; j <= t; ++j) {
          a[j] = mask[b * d.T + j] ? std::exp(a[j] - m) : T(0);
          sum += a[j];
        }
        for (Index j = 0; j <= t; ++j) a[j] /= sum;
        for (Index j = 0; j <= t; ++j)
          for (Index i = 0; i < d.hs; ++i) o[i] += a[j] * v[d.head_offset(b, h) + j * d.hs + i];
      }
}

// Accumulates dq for queries [s, e) and dk, dv for keys [0, e).
template <class T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* att, const T* q, const T* k, const T* v,
                        const AttentionShape& d, Index s, Index e) {
  const T scale = T(1) / std::sqrt(T(d.hs));
  std::vector<T> datt(d.T);
  for (Index b = 0; b < d.B; ++b)
    for (Index h = 0; h < d.NH; ++h) {
      const Index ho = d.head_offset(b, h);
      for (Index t = s; t < e; ++t) {
        const T* a = att + d.att_offset(b, h) + t * d.T;
        const T* dy = dout + ho + t * d.hs;
        // through out = att @ v
        for (Index j = 0; j <= t; ++j) {
          datt[j] = 0;
          for (Index i = 0; i < d.hs; ++i) {
            datt[j] += dy[i] * v[ho + j * d.hs + i];
            dv[ho + j * d.hs + i] += a[j] * dy[i];
          }
        }
        // through the softmax: dscore_j = a_j (datt_j - sum_l a_l datt_l)
        T dot = 0;
        for (Index j = 0; j <= t; ++j) dot += a[j] * datt[j];
        for (Index j = 0; j <= t; ++j) {
          const T ds = a[j] * (datt[j] - dot) * scale;
          for (Index i = 0; i < d.hs; ++i) {
            dq[ho + t * d.hs + i] += ds * k[ho + j * d.hs + i];
            dk[ho + j * d.hs + i] += ds * q[ho + t * d.hs + i];
          }
        }
      }
    }
}

}  // namespace reference

namespace detail {
template <class T>
using StridedMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>>;
}

// The same as the reference, one (row, head) at a time as small GEMMs, heads in
// parallel when the work pays for it (parallel.hpp). Queries go in blocks of
// kQueryBlock positions, each against the keys up to its last query only: query t
// sees keys [0, t], so for a long range this skips most of the masked upper
// triangle that one (n x e) product would compute and throw away.
inline constexpr Index kQueryBlock = 64;

template <class T>
void attention_forward(T* out, T* att, const T* q, const T* k, const T* v, const std::uint8_t* mask,
                       const AttentionShape& d, Index s, Index e) {
  const T scale = T(1) / std::sqrt(T(d.hs));
  const Index n = e - s;
  if (n <= 0) return;
  const int threads = threads_for(2.0 * d.B * d.NH * n * e * d.hs, kGemmWorkPerThread);
  parallel_for(d.B * d.NH, threads, [&](Index bh) {
    const Index b = bh / d.NH, h = bh % d.NH;
    const Index ho = d.head_offset(b, h);
    const std::uint8_t* m = mask + b * d.T;
    for (Index r0 = s; r0 < e; r0 += kQueryBlock) {
      const Index r1 = std::min(e, r0 + kQueryBlock), nb = r1 - r0;  // queries [r0, r1), keys [0, r1)
      detail::StridedMap<T> A(att + d.att_offset(b, h) + r0 * d.T, nb, r1, Eigen::OuterStride<>(d.T));
      A.noalias() = ConstMatrixMap<T>(q + ho + r0 * d.hs, nb, d.hs) * ConstMatrixMap<T>(k + ho, r1, d.hs).transpose();
      for (Index t = r0; t < r1; ++t) {
        T* a = att + d.att_offset(b, h) + t * d.T;
        if (!m[t]) {
          std::fill(a, a + d.T, T(0));
          continue;
        }
        T mx = -INFINITY;
        for (Index j = 0; j <= t; ++j)
          if (m[j]) mx = std::max(mx, a[j] * scale);
        T sum = 0;
        for (Index j = 0; j <= t; ++j) {
          a[j] = m[j] ? std::exp(a[j] * scale - mx) : T(0);
          sum += a[j];
        }
        const T inv = T(1) / sum;
        for (Index j = 0; j <= t; ++j) a[j] *= inv;
        std::fill(a + t + 1, a + d.T, T(0));
      }
      MatrixMap<T>(out + ho + r0 * d.hs, nb, d.hs).noalias() = A * ConstMatrixMap<T>(v + ho, r1, d.hs);
    }
  });
}

template <class T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* att, const T* q, const T* k, const T* v,
                        const AttentionShape& d, Index s, Index e) {
  const T scale = T(1) / std::sqrt(T(d.hs));
  const Index n = e - s;
  if (n <= 0) return;
  const int threads = threads_for(4.0 * d.B * d.NH * n * e * d.hs, kGemmWorkPerThread);
  parallel_for(d.B * d.NH, threads, [&](Index bh) {
    const Index b = bh / d.NH, h = bh % d.NH;
    const Index ho = d.head_offset(b, h);
    using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    for (Index r0 = s; r0 < e; r0 += kQueryBlock) {
      const Index r1 = std::min(e, r0 + kQueryBlock), nb = r1 - r0;  // queries [r0, r1), keys [0, r1)
      Eigen::Map<const Matrix, 0, Eigen::OuterStride<>> A(att + d.att_offset(b, h) + r0 * d.T, nb, r1,
                                                          Eigen::OuterStride<>(d.T));
      ConstMatrixMap<T> dY(dout + ho + r0 * d.hs, nb, d.hs);
      MatrixMap<T>(dv + ho, r1, d.hs).noalias() += A.transpose() * dY;
      // dS = A .* (dA - rowsum(A .* dA)), with dA = dY V^T; probabilities that are
      // zero (future, padding) give zero here, so the mask needs no second look.
      Matrix dS = dY * ConstMatrixMap<T>(v + ho, r1, d.hs).transpose();
      const auto dots = (A.array() * dS.array()).rowwise().sum().eval();
      dS = (A.array() * (dS.array().colwise() - dots)) * scale;
      MatrixMap<T>(dq + ho + r0 * d.hs, nb, d.hs).noalias() += dS * ConstMatrixMap<T>(k + ho, r1, d.hs);
      MatrixMap<T>(dk + ho, r1, d.hs).noalias() += dS.transpose() * ConstMatrixMap<T>(q + ho + r0 * d.hs, nb, d.hs);
    }
  });
}

}  // namespace coconut::kernels
