// Matrix multiplication of a linear layer: out = inp @ weight^T + bias.
//
//   inp    (N, C)    N rows (positions), C input channels
//   weight (OC, C)   PyTorch nn.Linear layout: one row per output channel
//   bias   (OC)      may be null
//   out    (N, OC)
//
// The fast version maps the buffers as RowMajor Eigen matrices and lets Eigen's
// GEMM (blocked, vectorised) do the work, split into independent blocks of rows
// or columns across threads by parallel.hpp rather than by Eigen's own threading.
//
// Optional: compiled with COCONUT_USE_CBLAS (and linked to a CBLAS such as
// OpenBLAS), float products call cblas_sgemm instead, one call per block. Make the
// BLAS itself single-threaded (OPENBLAS_NUM_THREADS=1): the blocks are the threads.
// Without it the library needs no BLAS at all.
#pragma once

#include <Eigen/Core>

#include <type_traits>

#ifdef COCONUT_USE_CBLAS
#include <cblas.h>
#endif

#include "coconut/kernels/parallel.hpp"
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

// Blocks in whole tiles of Eigen's micro-kernel (48 rows by 4 columns with AVX-512).
inline constexpr Index kColumnGrain = 16, kRowGrain = 48;

namespace detail {
#ifdef COCONUT_USE_CBLAS
template <class T>
inline constexpr bool use_cblas = std::is_same_v<T, float>;
#else
template <class T>
inline constexpr bool use_cblas = false;
// Never called: keeps the branches below compiling without a BLAS.
template <class... A>
void cblas_sgemm(A...) {}
enum { CblasRowMajor, CblasNoTrans, CblasTrans };
#endif
}  // namespace detail

template <class T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, Index N, Index C, Index OC) {
  if (N == 0) return;
  ConstMatrixMap<T> x(inp, N, C), w(weight, OC, C);
  MatrixMap<T> y(out, N, OC);
  const int threads = threads_for(double(N) * double(C) * double(OC), kGemmWorkPerThread);
  if (OC >= N) {  // blocks of output channels: each packs its rows of the weight
    parallel_blocks(OC, kColumnGrain, threads, [&](Index o0, Index o1) {
      using namespace detail;
      if constexpr (use_cblas<T>)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(o1 - o0), int(C), 1.f, inp, int(C),
                    weight + o0 * C, int(C), 0.f, out + o0, int(OC));
      else
        y.middleCols(o0, o1 - o0).noalias() = x * w.middleRows(o0, o1 - o0).transpose();
      if (bias) y.middleCols(o0, o1 - o0).rowwise() += ConstRowVectorMap<T>(bias + o0, o1 - o0);
    });
  } else {  // blocks of rows (positions)
    parallel_blocks(N, kRowGrain, threads, [&](Index n0, Index n1) {
      using namespace detail;
      if constexpr (use_cblas<T>)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n1 - n0), int(OC), int(C), 1.f, inp + n0 * C, int(C),
                    weight, int(C), 0.f, out + n0 * OC, int(OC));
      else
        y.middleRows(n0, n1 - n0).noalias() = x.middleRows(n0, n1 - n0) * w.transpose();
      if (bias) y.middleRows(n0, n1 - n0).rowwise() += ConstRowVectorMap<T>(bias, OC);
    });
  }
}

// Accumulates, as the reference does. dinp and dweight are independent products;
// one region computes both, blocks of dinp's rows and of dweight's rows.
template <class T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, Index N, Index C,
                     Index OC) {
  if (N == 0) return;
  ConstMatrixMap<T> dy(dout, N, OC), x(inp, N, C), w(weight, OC, C);
  MatrixMap<T> dx(dinp, N, dinp ? C : 0), dw(dweight, OC, C);
  const int threads = threads_for(double(N) * double(C) * double(OC) * (dinp ? 2 : 1), kGemmWorkPerThread);
  // Blocks [0, OC) are dweight's rows (with dbias), [OC, OC + N) dinp's rows.
  const Index dw_blocks = OC, total = OC + (dinp ? N : 0);
  parallel_blocks(total, kRowGrain, threads, [&](Index b0, Index b1) {
    using namespace detail;
    if (b0 < dw_blocks) {
      const Index o0 = b0, o1 = std::min(b1, dw_blocks);
      if constexpr (use_cblas<T>)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(o1 - o0), int(C), int(N), 1.f, dout + o0, int(OC), inp,
                    int(C), 1.f, dweight + o0 * C, int(C));
      else
        dw.middleRows(o0, o1 - o0).noalias() += dy.middleCols(o0, o1 - o0).transpose() * x;
      if (dbias) RowVectorMap<T>(dbias + o0, o1 - o0) += dy.middleCols(o0, o1 - o0).colwise().sum();
    }
    if (b1 > dw_blocks) {
      const Index n0 = std::max(b0, dw_blocks) - dw_blocks, n1 = b1 - dw_blocks;
      if constexpr (use_cblas<T>)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n1 - n0), int(C), int(OC), 1.f, dout + n0 * OC,
                    int(OC), weight, int(C), 1.f, dinp + n0 * C, int(C));
      else
        dx.middleRows(n0, n1 - n0).noalias() += dy.middleRows(n0, n1 - n0) * w;
    }
  });
}

}  // namespace coconut::kernels
