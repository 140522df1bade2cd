// Matrix multiplication of a linear layer: out = inp @ weight^T + bias.
//
//   inp    (N, C)    N rows (positions), C input channels
//   weight (OC, C)   PyTorch nn.Linear layout: one row per output channel
//   bias   (OC)      may be null
//   out    (N, OC)
//
// The fast version maps the buffers as RowMajor Eigen matrices and lets Eigen's
// GEMM (blocked, vectorised, OpenMP-threaded) do the work.
#pragma once

#include <Eigen/Core>

#include "coconut/tensor/arena.hpp"

namespace coconut::kernels {

template <class T>
using MatrixMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using RowVectorMap = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <class T>
using ConstRowVectorMap = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

namespace reference {

template <class T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, Index N, Index C, Index OC) {
  for (Index n = 0; n < N; ++n) {
    for (Index o = 0; o < OC; ++o) {
      T acc = bias ? bias[o] : T(0);
      for (Index c = 0; c < C; ++c) acc += inp[n * C + c] * weight[o * C + c];
      out[n * OC + o] = acc;
    }
  }
}

// Accumulates: dinp (N, C) += dout @ weight, dweight (OC, C) += dout^T @ inp,
// dbias (OC) += column sums of dout. dinp and dbias may be null.
template <class T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, Index N, Index C,
                     Index OC) {
  for (Index n = 0; n < N; ++n) {
    for (Index o = 0; o < OC; ++o) {
      const T d = dout[n * OC + o];
      for (Index c = 0; c < C; ++c) {
        if (dinp) dinp[n * C + c] += d * weight[o * C + c];
        dweight[o * C + c] += d * inp[n * C + c];
      }
      if (dbias) dbias[o] += d;
    }
  }
}

}  // namespace reference

template <class T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, Index N, Index C, Index OC) {
  if (N == 0) return;
  MatrixMap<T> y(out, N, OC);
  y.noalias() = ConstMatrixMap<T>(inp, N, C) * ConstMatrixMap<T>(weight, OC, C).transpose();
  if (bias) y.rowwise() += ConstRowVectorMap<T>(bias, OC);
}

// Accumulates, as the reference does.
template <class T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, Index N, Index C,
                     Index OC) {
  if (N == 0) return;
  ConstMatrixMap<T> dy(dout, N, OC);
  if (dinp) MatrixMap<T>(dinp, N, C).noalias() += dy * ConstMatrixMap<T>(weight, OC, C);
  MatrixMap<T>(dweight, OC, C).noalias() += dy.transpose() * ConstMatrixMap<T>(inp, N, C);
  if (dbias) RowVectorMap<T>(dbias, OC) += dy.colwise().sum();
}

}  // namespace coconut::kernels
