// Rotary position embedding (Su et al. 2021, "RoFormer", arXiv 2104.09864).
//
// GPT-2 adds a learned vector wpe[p] to the input at position p; a rotary model has
// no position table. Instead, in every attention head, the query and the key of
// position p are rotated: each pair of components (x[2i], x[2i+1]) turns by the
// angle p * w_i, with w_i = base^(-2i/hs) (base 10000; hs the head size, even):
//
//     x'[2i]     = x[2i] cos(p w_i) - x[2i+1] sin(p w_i)
//     x'[2i+1]   = x[2i] sin(p w_i) + x[2i+1] cos(p w_i)
//
// A rotation keeps lengths, and R(p)^T R(p') = R(p' - p), so the score of query p
// against key p' is q^T R(p' - p) k: it sees the two positions only through their
// distance. "The token three places back" is then one direction of q for every
// position, where with a learned table it is a pattern to learn position by
// position. The values are not rotated.
//
// Rotation is linear and orthogonal, so backward turns the gradients of q and k by
// the opposite angle: dq = R(p)^T dq'.
//
// Layout as in attention.hpp: q, k (B, NH, T, hs); position ids time-major (T, B),
// as the model keeps them (they restart at 0 after left padding).
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/kernels/attention.hpp"

namespace coconut::kernels {

template <class T>
class RotaryTable {
 public:
  // Angles for positions [0, max_positions) of heads of size hs.
  RotaryTable(Index max_positions, Index hs, double base = 10000.0)
      : pairs_(hs / 2), cos_(max_positions * pairs_), sin_(max_positions * pairs_) {
    if (hs < 2 || hs % 2)
      throw std::invalid_argument("RotaryTable: the head size must be even, not " + std::to_string(hs));
    for (Index p = 0; p < max_positions; ++p)
      for (Index i = 0; i < pairs_; ++i) {
        const double angle = double(p) * std::pow(base, -double(2 * i) / double(hs));
        cos_[p * pairs_ + i] = T(std::cos(angle));
        sin_[p * pairs_ + i] = T(std::sin(angle));
      }
  }

  Index head_size() const { return 2 * pairs_; }

  // x (hs values) of position p, in place: x <- R(p) x, or x <- R(p)^T x = R(-p) x.
  void rotate(T* x, int p, bool transpose = false) const {
    const T* c = cos_.data() + p * pairs_;
    const T* s = sin_.data() + p * pairs_;
    for (Index i = 0; i < pairs_; ++i) {
      const T sn = transpose ? -s[i] : s[i];
      const T a = x[2 * i], b = x[2 * i + 1];
      x[2 * i] = a * c[i] - b * sn;
      x[2 * i + 1] = a * sn + b * c[i];
    }
  }

 private:
  Index pairs_;
  std::vector<T> cos_, sin_;  // (max_positions, hs/2)
};

namespace detail {
// Applies `table.rotate(., p, transpose)` to q and k of positions [s, e), every row and head.
template <class T>
void rotate_heads(T* q, T* k, const RotaryTable<T>& table, const int* positions, const AttentionShape& d, Index s,
                  Index e, bool transpose) {
  if (table.head_size() != d.hs)
    throw std::invalid_argument("rotary: table for heads of " + std::to_string(table.head_size()) +
                                ", attention heads of " + std::to_string(d.hs));
  for (Index t = s; t < e; ++t)
    for (Index b = 0; b < d.B; ++b) {
      const int p = positions[t * d.B + b];
      for (Index h = 0; h < d.NH; ++h) {
        const Index at = d.head_offset(b, h) + t * d.hs;
        table.rotate(q + at, p, transpose);
        table.rotate(k + at, p, transpose);
      }
    }
}
}  // namespace detail

// q, k of positions [s, e) rotated in place (after split_heads).
template <class T>
void rotary_forward(T* q, T* k, const RotaryTable<T>& table, const int* positions, const AttentionShape& d, Index s,
                    Index e) {
  detail::rotate_heads(q, k, table, positions, d, s, e, false);
}

// dq, dk of positions [s, e) turned back in place (before split_heads_backward):
// the gradient with respect to the unrotated q and k.
template <class T>
void rotary_backward(T* dq, T* dk, const RotaryTable<T>& table, const int* positions, const AttentionShape& d, Index s,
                     Index e) {
  detail::rotate_heads(dq, dk, table, positions, d, s, e, true);
}

}  // namespace coconut::kernels
