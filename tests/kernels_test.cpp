// The kernels: every fast kernel equals its plain reference, every backward equals
// central finite differences of its forward, and the contracts the model relies on
// (accumulating backwards, masks, the KV cache, padded vocabularies) hold.
//
// Shapes are deliberately awkward: sizes 1, 3, 17 and 65 are not multiples of any
// SIMD width, so both the vector body and the scalar tail of every loop run, and
// one larger shape per kernel crosses the OpenMP thresholds.
#define BOOST_TEST_MODULE kernels
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "coconut/kernels.hpp"
#include "support/check.hpp"

using namespace coconut;
namespace ref = coconut::kernels::reference;
using kernels::AttentionShape;
using kernels::RotaryTable;
using test::all_close;
using test::check_gradient;
using test::probe_indices;
using test::random_normal;
using test::weighted_sum;

namespace {

// ---- tolerances ----------------------------------------------------------------

// Fast and reference kernels compute the same sums in different orders (SIMD lanes,
// Eigen's blocked GEMM, fused multiply-adds), so they agree up to rounding, not
// bitwise. In float (epsilon 6e-8) a sum of K terms drifts by about
// sqrt(K) * 6e-8 times the size of its partial sums: a few 1e-7 relative for
// our sizes, so 1e-5 leaves a margin and still catches any real error (a wrong
// index or a missing term is off by far more). An entry that is small only because
// of cancellation carries the absolute error of the large terms it came from, so
// the absolute floor, 1e-6, is relative to the tensor's largest entry (when that
// is above 1): a normwise bound. (The tightest case, the float GEMM with K = 256,
// uses about a quarter of this tolerance; double cases use less than 1/20.)
constexpr double kFloatRtol = 1e-5, kFloatAtol = 1e-6;
// The same reasoning in double (epsilon 1.1e-16).
constexpr double kDoubleRtol = 1e-12, kDoubleAtol = 1e-13;

template <class T>
constexpr double rtol() {
  return std::is_same_v<T, float> ? kFloatRtol : kDoubleRtol;
}
template <class T>
constexpr double atol() {
  return std::is_same_v<T, float> ? kFloatAtol : kDoubleAtol;
}

// Fast vs reference (or any two computations of the same value) at T's
// tolerance: |actual - expected| <= rtol |expected| + atol max(1, max |expected|).
template <class T, class A, class B>
boost::test_tools::predicate_result agree(const A& actual, const B& expected) {
  double scale = 1;
  for (const auto& x : expected) scale = std::max(scale, std::abs(double(x)));  // NaN is ignored
  return all_close(actual, expected, rtol<T>(), atol<T>() * scale);
}

// Finite differences, in double. With eps = 1e-6 the central difference is off by
// O(eps^2) = 1e-12 from truncation, and by the rounding error of L divided by eps:
// about 1e-16 * (sum of |terms| of L) / 1e-6, which is up to ~1e-8 for our losses
// (a hundred terms of order 1). Hence 1e-6 relative with an absolute floor of 1e-7
// for gradients near zero; a wrong backward is off by orders of magnitude more.
constexpr double kFdEps = 1e-6, kFdRtol = 1e-6, kFdAtol = 1e-7;
constexpr Index kFdMaxProbes = 200;  // entries probed per tensor; more are sampled

// Checks one gradient buffer of the double-precision loss `loss` by finite differences.
template <class G, class Loss>
boost::test_tools::predicate_result fd_check(std::vector<double>& x, const G& analytic, Loss&& loss, Rng& rng) {
  return check_gradient(std::span<double>(x), analytic, loss, probe_indices(Index(x.size()), kFdMaxProbes, rng),
                        kFdRtol, kFdAtol, kFdEps);
}

// x converted to T: the same random data for the float and the double run.
template <class T>
std::vector<T> as(const std::vector<double>& x) {
  return std::vector<T>(x.begin(), x.end());
}
template <class T>
std::vector<T> nans(Index n) {
  return std::vector<T>(static_cast<std::size_t>(n), std::numeric_limits<T>::quiet_NaN());
}
template <class T>
std::vector<T> zeros(Index n) {
  return std::vector<T>(static_cast<std::size_t>(n), T(0));
}
// a + b, elementwise: what an accumulating backward must produce.
template <class T>
std::vector<T> sum_of(const std::vector<T>& a, const std::vector<T>& b) {
  std::vector<T> s(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) s[i] = a[i] + b[i];
  return s;
}

// The two implementations of each kernel, to run the same check on both.
template <class F>
struct Impl {
  const char* name;
  F forward;
};
template <class F, class G>
struct ImplFB {
  const char* name;
  F forward;
  G backward;
};

}  // namespace

// ================================================================================
// matmul: out = inp @ weight^T + bias
// ================================================================================
namespace {

struct MatmulShape {
  Index N, C, OC;
};
const std::vector<MatmulShape> kMatmulShapes = {{1, 1, 1},   {3, 17, 65}, {17, 65, 3},    {65, 3, 17},
                                                {1, 65, 17}, {17, 1, 65}, {128, 256, 192}};

template <class T>
auto matmul_impls() {
  using Fb = ImplFB<decltype(&ref::matmul_forward<T>), decltype(&ref::matmul_backward<T>)>;
  return std::vector<Fb>{{"reference", ref::matmul_forward<T>, ref::matmul_backward<T>},
                         {"fast", kernels::matmul_forward<T>, kernels::matmul_backward<T>}};
}

struct MatmulData {
  Index N, C, OC;
  std::vector<double> inp, weight, bias, dout;
  MatmulData(MatmulShape s, Rng& rng)
      : N(s.N),
        C(s.C),
        OC(s.OC),
        inp(random_normal<double>(N * C, rng)),
        // nn.Linear-like scale, so that outputs are of order 1 whatever C is
        weight(random_normal<double>(OC * C, rng, 1 / std::sqrt(double(C)))),
        bias(random_normal<double>(OC, rng)),
        dout(random_normal<double>(N * OC, rng)) {}
};

template <class T>
void matmul_fast_matches_reference() {
  Rng rng(11);
  for (const auto& shape : kMatmulShapes) {
    BOOST_TEST_CONTEXT("N=" << shape.N << " C=" << shape.C << " OC=" << shape.OC) {
      const MatmulData d(shape, rng);
      const auto inp = as<T>(d.inp), weight = as<T>(d.weight), bias = as<T>(d.bias), dout = as<T>(d.dout);
      auto out_ref = nans<T>(d.N * d.OC), out_fast = nans<T>(d.N * d.OC);
      ref::matmul_forward(out_ref.data(), inp.data(), weight.data(), bias.data(), d.N, d.C, d.OC);
      kernels::matmul_forward(out_fast.data(), inp.data(), weight.data(), bias.data(), d.N, d.C, d.OC);
      BOOST_TEST(agree<T>(out_fast, out_ref));
      // without a bias
      ref::matmul_forward(out_ref.data(), inp.data(), weight.data(), static_cast<const T*>(nullptr), d.N, d.C, d.OC);
      kernels::matmul_forward(out_fast.data(), inp.data(), weight.data(), static_cast<const T*>(nullptr), d.N, d.C,
                              d.OC);
      BOOST_TEST(agree<T>(out_fast, out_ref));

      auto dinp_ref = zeros<T>(d.N * d.C), dw_ref = zeros<T>(d.OC * d.C), db_ref = zeros<T>(d.OC);
      auto dinp_fast = dinp_ref, dw_fast = dw_ref, db_fast = db_ref;
      ref::matmul_backward(dinp_ref.data(), dw_ref.data(), db_ref.data(), dout.data(), inp.data(), weight.data(), d.N,
                           d.C, d.OC);
      kernels::matmul_backward(dinp_fast.data(), dw_fast.data(), db_fast.data(), dout.data(), inp.data(), weight.data(),
                               d.N, d.C, d.OC);
      BOOST_TEST(agree<T>(dinp_fast, dinp_ref));
      BOOST_TEST(agree<T>(dw_fast, dw_ref));
      BOOST_TEST(agree<T>(db_fast, db_ref));
      // dinp and dbias may be null (the first layer, a bias-free layer): dweight is the same
      auto dw_only = zeros<T>(d.OC * d.C);
      kernels::matmul_backward(static_cast<T*>(nullptr), dw_only.data(), static_cast<T*>(nullptr), dout.data(),
                               inp.data(), weight.data(), d.N, d.C, d.OC);
      BOOST_TEST(agree<T>(dw_only, dw_ref));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(matmul)

// Fast forward and backward (with and without bias / dinp) equal the reference in float.
BOOST_AUTO_TEST_CASE(fast_matches_reference_float) { matmul_fast_matches_reference<float>(); }

// ... and in double.
BOOST_AUTO_TEST_CASE(fast_matches_reference_double) { matmul_fast_matches_reference<double>(); }

// Both backwards give dL/dinp, dL/dweight, dL/dbias of L = sum(out * R), by central differences.
BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  Rng rng(12);
  for (const auto& impl : matmul_impls<double>()) {
    for (const MatmulShape shape : {MatmulShape{3, 17, 5}, MatmulShape{1, 4, 1}}) {
      BOOST_TEST_CONTEXT(impl.name << " N=" << shape.N << " C=" << shape.C << " OC=" << shape.OC) {
        MatmulData d(shape, rng);
        const auto& R = d.dout;
        std::vector<double> out(d.N * d.OC);
        auto loss = [&] {
          impl.forward(out.data(), d.inp.data(), d.weight.data(), d.bias.data(), d.N, d.C, d.OC);
          return weighted_sum(out, R);
        };
        auto dinp = zeros<double>(d.N * d.C), dw = zeros<double>(d.OC * d.C), db = zeros<double>(d.OC);
        impl.backward(dinp.data(), dw.data(), db.data(), R.data(), d.inp.data(), d.weight.data(), d.N, d.C, d.OC);
        BOOST_TEST(fd_check(d.inp, dinp, loss, rng));
        BOOST_TEST(fd_check(d.weight, dw, loss, rng));
        BOOST_TEST(fd_check(d.bias, db, loss, rng));
      }
    }
  }
}

// Backward adds to the gradient buffers (+=) instead of overwriting them.
BOOST_AUTO_TEST_CASE(backward_accumulates) {
  Rng rng(13);
  const MatmulData d({17, 65, 3}, rng);
  for (const auto& impl : matmul_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      auto dinp = zeros<double>(d.N * d.C), dw = zeros<double>(d.OC * d.C), db = zeros<double>(d.OC);
      impl.backward(dinp.data(), dw.data(), db.data(), d.dout.data(), d.inp.data(), d.weight.data(), d.N, d.C, d.OC);
      const auto dinp0 = random_normal<double>(d.N * d.C, rng), dw0 = random_normal<double>(d.OC * d.C, rng),
                 db0 = random_normal<double>(d.OC, rng);
      auto dinp_acc = dinp0, dw_acc = dw0, db_acc = db0;
      impl.backward(dinp_acc.data(), dw_acc.data(), db_acc.data(), d.dout.data(), d.inp.data(), d.weight.data(), d.N,
                    d.C, d.OC);
      BOOST_TEST(agree<double>(dinp_acc, sum_of(dinp0, dinp)));
      BOOST_TEST(agree<double>(dw_acc, sum_of(dw0, dw)));
      BOOST_TEST(agree<double>(db_acc, sum_of(db0, db)));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// layernorm
// ================================================================================
namespace {

struct RowsShape {
  Index N, C;
};
const std::vector<RowsShape> kLayerNormShapes = {{1, 1}, {3, 17}, {17, 65}, {65, 3}, {1, 65}, {64, 768}};

template <class T>
auto layernorm_impls() {
  using Fb = ImplFB<decltype(&ref::layernorm_forward<T>), decltype(&ref::layernorm_backward<T>)>;
  return std::vector<Fb>{{"reference", ref::layernorm_forward<T>, ref::layernorm_backward<T>},
                         {"fast", kernels::layernorm_forward<T>, kernels::layernorm_backward<T>}};
}

struct LayerNormData {
  Index N, C;
  std::vector<double> inp, weight, bias, dout;
  LayerNormData(RowsShape s, Rng& rng)
      : N(s.N),
        C(s.C),
        inp(random_normal<double>(N * C, rng, 2.0, 0.5)),  // rows with a mean and a variance to remove
        weight(random_normal<double>(C, rng, 0.5, 1.0)),
        bias(random_normal<double>(C, rng)),
        dout(random_normal<double>(N * C, rng)) {}
};

template <class T>
void layernorm_fast_matches_reference() {
  Rng rng(21);
  for (const auto& shape : kLayerNormShapes) {
    BOOST_TEST_CONTEXT("N=" << shape.N << " C=" << shape.C) {
      const LayerNormData d(shape, rng);
      const auto inp = as<T>(d.inp), weight = as<T>(d.weight), bias = as<T>(d.bias), dout = as<T>(d.dout);
      auto out_ref = nans<T>(d.N * d.C), mean_ref = nans<T>(d.N), rstd_ref = nans<T>(d.N);
      auto out_fast = out_ref, mean_fast = mean_ref, rstd_fast = rstd_ref;
      ref::layernorm_forward(out_ref.data(), mean_ref.data(), rstd_ref.data(), inp.data(), weight.data(), bias.data(),
                             d.N, d.C);
      kernels::layernorm_forward(out_fast.data(), mean_fast.data(), rstd_fast.data(), inp.data(), weight.data(),
                                 bias.data(), d.N, d.C);
      BOOST_TEST(agree<T>(out_fast, out_ref));
      BOOST_TEST(agree<T>(mean_fast, mean_ref));
      BOOST_TEST(agree<T>(rstd_fast, rstd_ref));

      // both backwards from the same saved mean and rstd
      auto dinp_ref = zeros<T>(d.N * d.C), dw_ref = zeros<T>(d.C), db_ref = zeros<T>(d.C);
      auto dinp_fast = dinp_ref, dw_fast = dw_ref, db_fast = db_ref;
      ref::layernorm_backward(dinp_ref.data(), dw_ref.data(), db_ref.data(), dout.data(), inp.data(), weight.data(),
                              mean_ref.data(), rstd_ref.data(), d.N, d.C);
      kernels::layernorm_backward(dinp_fast.data(), dw_fast.data(), db_fast.data(), dout.data(), inp.data(),
                                  weight.data(), mean_ref.data(), rstd_ref.data(), d.N, d.C);
      BOOST_TEST(agree<T>(dinp_fast, dinp_ref));
      BOOST_TEST(agree<T>(dw_fast, dw_ref));
      BOOST_TEST(agree<T>(db_fast, db_ref));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layernorm)

// Fast forward (out, mean, rstd) and backward equal the reference in float.
BOOST_AUTO_TEST_CASE(fast_matches_reference_float) { layernorm_fast_matches_reference<float>(); }

// ... and in double.
BOOST_AUTO_TEST_CASE(fast_matches_reference_double) { layernorm_fast_matches_reference<double>(); }

// With weight 1 and bias 0 every output row has mean 0 and variance 1 (up to the
// eps under the square root).
BOOST_AUTO_TEST_CASE(rows_are_normalised) {
  Rng rng(22);
  const Index N = 5, C = 65;
  const auto inp = random_normal<double>(N * C, rng, 3.0, -2.0);
  const std::vector<double> ones(C, 1.0), nothing(C, 0.0);
  for (const auto& impl : layernorm_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      std::vector<double> out(N * C), mean(N), rstd(N);
      impl.forward(out.data(), mean.data(), rstd.data(), inp.data(), ones.data(), nothing.data(), N, C);
      for (Index n = 0; n < N; ++n) {
        double m = 0, v = 0;
        for (Index i = 0; i < C; ++i) m += out[n * C + i] / C;
        for (Index i = 0; i < C; ++i) v += (out[n * C + i] - m) * (out[n * C + i] - m) / C;
        BOOST_TEST(std::abs(m) < 1e-12);
        // var(out) = var / (var + eps) = 1 - eps / var + ...
        BOOST_TEST(std::abs(v - 1) < 1e-5);
      }
    }
  }
}

// Both backwards give dL/dinp, dL/dweight, dL/dbias of L = sum(out * R), by central differences.
BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  Rng rng(23);
  for (const auto& impl : layernorm_impls<double>()) {
    for (const RowsShape shape : {RowsShape{3, 17}, RowsShape{2, 5}, RowsShape{2, 1}}) {
      BOOST_TEST_CONTEXT(impl.name << " N=" << shape.N << " C=" << shape.C) {
        LayerNormData d(shape, rng);
        const auto& R = d.dout;
        std::vector<double> out(d.N * d.C), mean(d.N), rstd(d.N);
        auto loss = [&] {
          impl.forward(out.data(), mean.data(), rstd.data(), d.inp.data(), d.weight.data(), d.bias.data(), d.N, d.C);
          return weighted_sum(out, R);
        };
        loss();  // mean and rstd of the unperturbed input, for backward
        auto dinp = zeros<double>(d.N * d.C), dw = zeros<double>(d.C), db = zeros<double>(d.C);
        impl.backward(dinp.data(), dw.data(), db.data(), R.data(), d.inp.data(), d.weight.data(), mean.data(),
                      rstd.data(), d.N, d.C);
        BOOST_TEST(fd_check(d.inp, dinp, loss, rng));
        BOOST_TEST(fd_check(d.weight, dw, loss, rng));
        BOOST_TEST(fd_check(d.bias, db, loss, rng));
      }
    }
  }
}

// Backward adds to dinp, dweight and dbias (+=) instead of overwriting them.
BOOST_AUTO_TEST_CASE(backward_accumulates) {
  Rng rng(24);
  const LayerNormData d({17, 65}, rng);
  for (const auto& impl : layernorm_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      std::vector<double> out(d.N * d.C), mean(d.N), rstd(d.N);
      impl.forward(out.data(), mean.data(), rstd.data(), d.inp.data(), d.weight.data(), d.bias.data(), d.N, d.C);
      auto dinp = zeros<double>(d.N * d.C), dw = zeros<double>(d.C), db = zeros<double>(d.C);
      impl.backward(dinp.data(), dw.data(), db.data(), d.dout.data(), d.inp.data(), d.weight.data(), mean.data(),
                    rstd.data(), d.N, d.C);
      const auto dinp0 = random_normal<double>(d.N * d.C, rng), dw0 = random_normal<double>(d.C, rng),
                 db0 = random_normal<double>(d.C, rng);
      auto dinp_acc = dinp0, dw_acc = dw0, db_acc = db0;
      impl.backward(dinp_acc.data(), dw_acc.data(), db_acc.data(), d.dout.data(), d.inp.data(), d.weight.data(),
                    mean.data(), rstd.data(), d.N, d.C);
      BOOST_TEST(agree<double>(dinp_acc, sum_of(dinp0, dinp)));
      BOOST_TEST(agree<double>(dw_acc, sum_of(dw0, dw)));
      BOOST_TEST(agree<double>(db_acc, sum_of(db0, db)));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// gelu
// ================================================================================
namespace {

const std::vector<Index> kElementwiseSizes = {1, 3, 17, 65, 100003};

template <class T>
auto gelu_impls() {
  using Fb = ImplFB<decltype(&ref::gelu_forward<T>), decltype(&ref::gelu_backward<T>)>;
  return std::vector<Fb>{{"reference", ref::gelu_forward<T>, ref::gelu_backward<T>},
                         {"fast", kernels::gelu_forward<T>, kernels::gelu_backward<T>}};
}

template <class T>
void gelu_fast_matches_reference() {
  Rng rng(31);
  for (Index n : kElementwiseSizes) {
    BOOST_TEST_CONTEXT("n=" << n) {
      // spread 3: the tails, where tanh saturates, are exercised as well as the middle
      const auto inp = as<T>(random_normal<double>(n, rng, 3.0)), dout = as<T>(random_normal<double>(n, rng));
      auto out_ref = nans<T>(n), out_fast = nans<T>(n);
      ref::gelu_forward(out_ref.data(), inp.data(), n);
      kernels::gelu_forward(out_fast.data(), inp.data(), n);
      BOOST_TEST(agree<T>(out_fast, out_ref));
      auto dinp_ref = zeros<T>(n), dinp_fast = zeros<T>(n);
      ref::gelu_backward(dinp_ref.data(), inp.data(), dout.data(), n);
      kernels::gelu_backward(dinp_fast.data(), inp.data(), dout.data(), n);
      BOOST_TEST(agree<T>(dinp_fast, dinp_ref));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gelu)

// Fast forward and backward equal the reference in float.
BOOST_AUTO_TEST_CASE(fast_matches_reference_float) { gelu_fast_matches_reference<float>(); }

// ... and in double.
BOOST_AUTO_TEST_CASE(fast_matches_reference_double) { gelu_fast_matches_reference<double>(); }

// GELU at a few points, from its definition 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))):
// gelu(0) = 0, gelu(x) -> x for large x and -> 0 for very negative x.
BOOST_AUTO_TEST_CASE(known_values) {
  const std::vector<double> x = {0.0, 1.0, -1.0, 10.0, -10.0};
  std::vector<double> expected;
  for (double v : x)
    expected.push_back(0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v))));
  for (const auto& impl : gelu_impls<double>()) {
    std::vector<double> out(x.size());
    impl.forward(out.data(), x.data(), Index(x.size()));
    BOOST_TEST(agree<double>(out, expected), impl.name);
    BOOST_TEST(out[0] == 0.0);
    BOOST_TEST(std::abs(out[3] - 10.0) < 1e-12);
    BOOST_TEST(std::abs(out[4]) < 1e-12);
  }
}

// Both backwards give dL/dinp of L = sum(gelu(inp) * R), by central differences.
BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  Rng rng(32);
  for (const auto& impl : gelu_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      const Index n = 65;
      auto inp = random_normal<double>(n, rng, 3.0);
      const auto R = random_normal<double>(n, rng);
      std::vector<double> out(n);
      auto loss = [&] {
        impl.forward(out.data(), inp.data(), n);
        return weighted_sum(out, R);
      };
      auto dinp = zeros<double>(n);
      impl.backward(dinp.data(), inp.data(), R.data(), n);
      BOOST_TEST(fd_check(inp, dinp, loss, rng));
    }
  }
}

// Backward adds to dinp (+=) instead of overwriting it.
BOOST_AUTO_TEST_CASE(backward_accumulates) {
  Rng rng(33);
  const Index n = 65;
  const auto inp = random_normal<double>(n, rng, 3.0), dout = random_normal<double>(n, rng);
  for (const auto& impl : gelu_impls<double>()) {
    auto dinp = zeros<double>(n);
    impl.backward(dinp.data(), inp.data(), dout.data(), n);
    const auto dinp0 = random_normal<double>(n, rng);
    auto acc = dinp0;
    impl.backward(acc.data(), inp.data(), dout.data(), n);
    BOOST_TEST(agree<double>(acc, sum_of(dinp0, dinp)), impl.name);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// softmax
// ================================================================================
namespace {

struct SoftmaxShape {
  Index N, len, stride;
};
const std::vector<SoftmaxShape> kSoftmaxShapes = {{1, 1, 1},  {3, 17, 17}, {17, 65, 80},
                                                  {65, 3, 8}, {1, 65, 65}, {64, 1000, 1024}};

template <class T>
auto softmax_impls() {
  using I = Impl<decltype(&ref::softmax_forward<T>)>;
  return std::vector<I>{{"reference", ref::softmax_forward<T>}, {"fast", kernels::softmax_forward<T>}};
}

constexpr double kSentinel = 42.0;  // fills the columns a softmax must not touch

template <class T>
void softmax_fast_matches_reference() {
  Rng rng(41);
  for (const auto& s : kSoftmaxShapes) {
    BOOST_TEST_CONTEXT("N=" << s.N << " len=" << s.len << " stride=" << s.stride) {
      const auto inp = as<T>(random_normal<double>(s.N * s.stride, rng, 3.0));
      std::vector<T> out_ref(s.N * s.stride, T(kSentinel)), out_fast = out_ref;
      ref::softmax_forward(out_ref.data(), inp.data(), s.N, s.len, s.stride);
      kernels::softmax_forward(out_fast.data(), inp.data(), s.N, s.len, s.stride);
      BOOST_TEST(agree<T>(out_fast, out_ref));  // the tails compare too: both still hold the sentinel
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax)

// Fast softmax equals the reference in float.
BOOST_AUTO_TEST_CASE(fast_matches_reference_float) { softmax_fast_matches_reference<float>(); }

// ... and in double.
BOOST_AUTO_TEST_CASE(fast_matches_reference_double) { softmax_fast_matches_reference<double>(); }

// Every row is a probability distribution: entries in [0, 1] summing to 1.
BOOST_AUTO_TEST_CASE(rows_sum_to_one) {
  Rng rng(42);
  for (const auto& impl : softmax_impls<float>()) {
    for (const auto& s : kSoftmaxShapes) {
      BOOST_TEST_CONTEXT(impl.name << " N=" << s.N << " len=" << s.len) {
        const auto inp = as<float>(random_normal<double>(s.N * s.stride, rng, 3.0));
        std::vector<float> out(s.N * s.stride, float(kSentinel));
        impl.forward(out.data(), inp.data(), s.N, s.len, s.stride);
        double worst = 0;
        int outside = 0;
        for (Index n = 0; n < s.N; ++n) {
          double sum = 0;
          for (Index i = 0; i < s.len; ++i) {
            const float p = out[n * s.stride + i];
            outside += !(p >= 0.0f && p <= 1.0f);
            sum += p;
          }
          worst = std::max(worst, std::abs(sum - 1));
        }
        BOOST_TEST(outside == 0);
        BOOST_TEST(worst <= 1e-5);  // float rounding of up to 1000 terms
      }
    }
  }
}

// With stride > len the columns [len, stride) of each row are left alone.
BOOST_AUTO_TEST_CASE(stride_leaves_tail_columns_alone) {
  Rng rng(43);
  const Index N = 7, len = 17, stride = 24;
  const auto inp = random_normal<double>(N * stride, rng);
  for (const auto& impl : softmax_impls<double>()) {
    std::vector<double> out(N * stride, kSentinel);
    impl.forward(out.data(), inp.data(), N, len, stride);
    int touched = 0;
    for (Index n = 0; n < N; ++n)
      for (Index i = len; i < stride; ++i) touched += out[n * stride + i] != kSentinel;
    BOOST_TEST(touched == 0, impl.name);
    BOOST_TEST(out[0] != kSentinel, impl.name);  // while the row itself was written
  }
}

// Softmax is shift-invariant and so stable: logits around 1000 (whose exp
// overflows) give the same probabilities as logits around 0.
BOOST_AUTO_TEST_CASE(large_inputs_are_stable) {
  Rng rng(44);
  const Index N = 3, len = 65;
  const auto inp = random_normal<double>(N * len, rng);
  std::vector<double> shifted(inp);
  for (double& x : shifted) x += 1000;
  for (const auto& impl : softmax_impls<double>()) {
    std::vector<double> out(N * len), out_shifted(N * len);
    impl.forward(out.data(), inp.data(), N, len, len);
    impl.forward(out_shifted.data(), shifted.data(), N, len, len);
    BOOST_TEST(all_close(out_shifted, out, 1e-10, 1e-15), impl.name);
  }
}

// The fast softmax may work in place (out == inp).
BOOST_AUTO_TEST_CASE(in_place) {
  Rng rng(45);
  const Index N = 5, len = 65;
  auto x = random_normal<double>(N * len, rng);
  std::vector<double> expected(N * len);
  ref::softmax_forward(expected.data(), x.data(), N, len, len);
  kernels::softmax_forward(x.data(), x.data(), N, len, len);
  BOOST_TEST(agree<double>(x, expected));
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// residual: out = a + b, and accumulate: dst += src
// ================================================================================
BOOST_AUTO_TEST_SUITE(residual)

// Fast forward equals the reference exactly (one addition per element), in float and double.
BOOST_AUTO_TEST_CASE(fast_matches_reference) {
  Rng rng(51);
  for (Index n : kElementwiseSizes) {
    const auto a = random_normal<double>(n, rng), b = random_normal<double>(n, rng);
    auto out_ref = nans<double>(n), out_fast = nans<double>(n);
    ref::residual_forward(out_ref.data(), a.data(), b.data(), n);
    kernels::residual_forward(out_fast.data(), a.data(), b.data(), n);
    BOOST_TEST(all_close(out_fast, out_ref, 0, 0), "double n=" << n);
    const auto af = as<float>(a), bf = as<float>(b);
    auto outf_ref = nans<float>(n), outf_fast = nans<float>(n);
    ref::residual_forward(outf_ref.data(), af.data(), bf.data(), n);
    kernels::residual_forward(outf_fast.data(), af.data(), bf.data(), n);
    BOOST_TEST(all_close(outf_fast, outf_ref, 0, 0), "float n=" << n);
  }
}

// out may alias an input: a = a + b, as the residual stream is updated in place.
BOOST_AUTO_TEST_CASE(output_may_alias_input) {
  Rng rng(52);
  const Index n = 65;
  const auto a = random_normal<double>(n, rng), b = random_normal<double>(n, rng);
  auto x = a;
  kernels::residual_forward(x.data(), x.data(), b.data(), n);
  BOOST_TEST(all_close(x, sum_of(a, b), 0, 0));
}

// accumulate adds src into dst (the residual's backward into a shared gradient).
BOOST_AUTO_TEST_CASE(accumulate_adds) {
  Rng rng(53);
  for (Index n : kElementwiseSizes) {
    const auto src = random_normal<double>(n, rng), dst0 = random_normal<double>(n, rng);
    auto dst = dst0;
    kernels::accumulate(dst.data(), src.data(), n);
    BOOST_TEST(all_close(dst, sum_of(dst0, src), 0, 0), "n=" << n);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// crossentropy
// ================================================================================
namespace {

struct CrossEntropyShape {
  Index N, V, Vp;
};
const std::vector<CrossEntropyShape> kCrossEntropyShapes = {{1, 1, 1},   {3, 17, 17}, {17, 65, 80},
                                                            {65, 3, 16}, {1, 65, 72}, {64, 1000, 1024}};

template <class T>
auto crossentropy_impls() {
  using Fb = ImplFB<decltype(&ref::crossentropy_forward<T>), decltype(&ref::crossentropy_backward<T>)>;
  return std::vector<Fb>{{"reference", ref::crossentropy_forward<T>, ref::crossentropy_backward<T>},
                         {"fast", kernels::crossentropy_forward<T>, kernels::crossentropy_backward<T>}};
}

// Random logits (NaN in the padding columns [V, Vp), which must take no part) and
// random targets, every fifth row or so ignored; row 0 always counts.
struct CrossEntropyData {
  Index N, V, Vp;
  std::vector<double> logits;
  std::vector<int> targets;
  CrossEntropyData(CrossEntropyShape s, Rng& rng)
      : N(s.N), V(s.V), Vp(s.Vp), logits(random_normal<double>(N * Vp, rng, 2.0)) {
    for (Index n = 0; n < N; ++n) {
      for (Index i = V; i < Vp; ++i) logits[n * Vp + i] = std::numeric_limits<double>::quiet_NaN();
      targets.push_back(n > 0 && rng.below(5) == 0 ? kernels::kIgnoreIndex : int(rng.below(std::uint64_t(V))));
    }
  }
  Index counted() const {
    return Index(std::count_if(targets.begin(), targets.end(), [](int t) { return t != kernels::kIgnoreIndex; }));
  }
};

template <class T>
void crossentropy_fast_matches_reference() {
  Rng rng(61);
  for (const auto& s : kCrossEntropyShapes) {
    BOOST_TEST_CONTEXT("N=" << s.N << " V=" << s.V << " Vp=" << s.Vp) {
      const CrossEntropyData d(s, rng);
      const auto logits = as<T>(d.logits);
      auto losses_ref = nans<T>(d.N), lse_ref = nans<T>(d.N), losses_fast = losses_ref, lse_fast = lse_ref;
      const Index count_ref = ref::crossentropy_forward(losses_ref.data(), lse_ref.data(), logits.data(),
                                                        d.targets.data(), d.N, d.V, d.Vp, kernels::kIgnoreIndex);
      const Index count_fast = kernels::crossentropy_forward(losses_fast.data(), lse_fast.data(), logits.data(),
                                                             d.targets.data(), d.N, d.V, d.Vp, kernels::kIgnoreIndex);
      BOOST_TEST(count_ref == d.counted());
      BOOST_TEST(count_fast == d.counted());
      BOOST_TEST(agree<T>(losses_fast, losses_ref));
      BOOST_TEST(agree<T>(lse_fast, lse_ref));

      // both backwards from the same saved log-sum-exp
      const T scale = T(1) / T(count_ref);
      auto dlogits_ref = zeros<T>(d.N * d.Vp), dlogits_fast = dlogits_ref;
      ref::crossentropy_backward(dlogits_ref.data(), logits.data(), lse_ref.data(), d.targets.data(), scale, d.N, d.V,
                                 d.Vp, kernels::kIgnoreIndex);
      kernels::crossentropy_backward(dlogits_fast.data(), logits.data(), lse_ref.data(), d.targets.data(), scale, d.N,
                                     d.V, d.Vp, kernels::kIgnoreIndex);
      BOOST_TEST(agree<T>(dlogits_fast, dlogits_ref));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crossentropy)

// Fast forward (losses, log-sum-exp, count) and backward equal the reference in float.
BOOST_AUTO_TEST_CASE(fast_matches_reference_float) { crossentropy_fast_matches_reference<float>(); }

// ... and in double.
BOOST_AUTO_TEST_CASE(fast_matches_reference_double) { crossentropy_fast_matches_reference<double>(); }

// A row's loss is -log softmax(logits)[target], computed here directly.
BOOST_AUTO_TEST_CASE(loss_is_negative_log_probability) {
  const std::vector<double> logits = {1.0, 2.0, 3.0, 0.5};  // V = 3, Vp = 4
  const std::vector<int> targets = {0};
  const double expected = -std::log(std::exp(1.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  for (const auto& impl : crossentropy_impls<double>()) {
    double loss = 0, lse = 0;
    impl.forward(&loss, &lse, logits.data(), targets.data(), 1, 3, 4, kernels::kIgnoreIndex);
    BOOST_TEST(std::abs(loss - expected) <= 1e-14, impl.name);
  }
}

// Rows whose target is ignore_index have zero loss, are not counted, and get no gradient.
BOOST_AUTO_TEST_CASE(ignored_rows_contribute_nothing) {
  Rng rng(62);
  const Index N = 6, V = 17, Vp = 24;
  CrossEntropyData d({N, V, Vp}, rng);
  d.targets = {3, kernels::kIgnoreIndex, 16, kernels::kIgnoreIndex, kernels::kIgnoreIndex, 0};
  for (const auto& impl : crossentropy_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      std::vector<double> losses(N), lse(N);
      const Index count =
          impl.forward(losses.data(), lse.data(), d.logits.data(), d.targets.data(), N, V, Vp, kernels::kIgnoreIndex);
      BOOST_TEST(count == 3);
      auto dlogits = zeros<double>(N * Vp);
      impl.backward(dlogits.data(), d.logits.data(), lse.data(), d.targets.data(), 1.0 / 3, N, V, Vp,
                    kernels::kIgnoreIndex);
      for (Index n : {1, 3, 4}) {
        BOOST_TEST(losses[n] == 0.0);
        BOOST_TEST(
            std::all_of(dlogits.begin() + n * Vp, dlogits.begin() + (n + 1) * Vp, [](double g) { return g == 0; }));
      }
      for (Index n : {0, 2, 5}) BOOST_TEST(losses[n] > 0.0);
    }
  }
}

// Another ignore_index than -100 is honoured too.
BOOST_AUTO_TEST_CASE(custom_ignore_index) {
  Rng rng(63);
  CrossEntropyData d({3, 5, 8}, rng);
  d.targets = {2, -1, 4};
  for (const auto& impl : crossentropy_impls<double>()) {
    std::vector<double> losses(3), lse(3);
    BOOST_TEST(impl.forward(losses.data(), lse.data(), d.logits.data(), d.targets.data(), 3, 5, 8, -1) == 2, impl.name);
    BOOST_TEST(losses[1] == 0.0, impl.name);
  }
}

// The padding columns [V, Vp) of the logits get no gradient: a gradient buffer's
// padding columns are left exactly as they were, and NaN logits there do no harm.
BOOST_AUTO_TEST_CASE(padded_vocabulary_gets_zero_gradient) {
  Rng rng(64);
  const CrossEntropyData d({17, 65, 80}, rng);
  for (const auto& impl : crossentropy_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      std::vector<double> losses(d.N), lse(d.N);
      const Index count = impl.forward(losses.data(), lse.data(), d.logits.data(), d.targets.data(), d.N, d.V, d.Vp,
                                       kernels::kIgnoreIndex);
      BOOST_TEST(std::all_of(losses.begin(), losses.end(), [](double l) { return std::isfinite(l); }));
      const auto dlogits0 = random_normal<double>(d.N * d.Vp, rng);
      auto dlogits = dlogits0;
      impl.backward(dlogits.data(), d.logits.data(), lse.data(), d.targets.data(), 1.0 / double(count), d.N, d.V, d.Vp,
                    kernels::kIgnoreIndex);
      int changed = 0;
      for (Index n = 0; n < d.N; ++n)
        for (Index i = d.V; i < d.Vp; ++i) changed += dlogits[n * d.Vp + i] != dlogits0[n * d.Vp + i];
      BOOST_TEST(changed == 0);
    }
  }
}

// A target outside [0, V) (and not ignore_index) throws std::out_of_range naming
// the target and its row, including a target in the padding [V, Vp).
BOOST_AUTO_TEST_CASE(target_outside_vocabulary_throws) {
  Rng rng(65);
  CrossEntropyData d({3, 17, 24}, rng);
  for (const auto& impl : crossentropy_impls<double>()) {
    for (int bad : {17, 20, -1, 1000}) {
      BOOST_TEST_CONTEXT(impl.name << " target " << bad) {
        d.targets = {0, bad, 5};
        std::vector<double> losses(3), lse(3);
        BOOST_CHECK_EXCEPTION(impl.forward(losses.data(), lse.data(), d.logits.data(), d.targets.data(), 3, 17, 24,
                                           kernels::kIgnoreIndex),
                              std::out_of_range, [bad](const std::out_of_range& e) {
                                return std::string(e.what()).find("target " + std::to_string(bad) + " at row 1") !=
                                       std::string::npos;
                              });
      }
    }
  }
}

// Logits around 1000 (whose exp overflows) give finite losses equal to those of
// logits around 0: the log-sum-exp subtracts the maximum.
BOOST_AUTO_TEST_CASE(large_logits_are_stable) {
  Rng rng(66);
  const CrossEntropyData d({5, 65, 65}, rng);
  auto shifted = d.logits;
  for (double& x : shifted) x += 1000;
  for (const auto& impl : crossentropy_impls<double>()) {
    std::vector<double> losses(d.N), lse(d.N), losses_shifted(d.N), lse_shifted(d.N);
    impl.forward(losses.data(), lse.data(), d.logits.data(), d.targets.data(), d.N, d.V, d.Vp, kernels::kIgnoreIndex);
    impl.forward(losses_shifted.data(), lse_shifted.data(), shifted.data(), d.targets.data(), d.N, d.V, d.Vp,
                 kernels::kIgnoreIndex);
    BOOST_TEST(all_close(losses_shifted, losses, 1e-10, 1e-10), impl.name);
  }
}

// Both backwards give dL/dlogits of the mean loss L = (1 / count) sum(losses), by
// central differences: padding columns and ignored rows included (their derivative is 0).
BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  Rng rng(67);
  for (const auto& impl : crossentropy_impls<double>()) {
    for (const CrossEntropyShape s : {CrossEntropyShape{6, 7, 8}, CrossEntropyShape{2, 17, 17}}) {
      BOOST_TEST_CONTEXT(impl.name << " N=" << s.N << " V=" << s.V << " Vp=" << s.Vp) {
        CrossEntropyData d(s, rng);
        if (d.N > 3) d.targets[3] = kernels::kIgnoreIndex;
        const double scale = 1.0 / double(d.counted());
        std::vector<double> losses(d.N), lse(d.N);
        auto loss = [&] {
          impl.forward(losses.data(), lse.data(), d.logits.data(), d.targets.data(), d.N, d.V, d.Vp,
                       kernels::kIgnoreIndex);
          double sum = 0;
          for (double l : losses) sum += l;
          return scale * sum;
        };
        loss();
        auto dlogits = zeros<double>(d.N * d.Vp);
        impl.backward(dlogits.data(), d.logits.data(), lse.data(), d.targets.data(), scale, d.N, d.V, d.Vp,
                      kernels::kIgnoreIndex);
        BOOST_TEST(fd_check(d.logits, dlogits, loss, rng));
      }
    }
  }
}

// Backward adds to dlogits (+=) instead of overwriting it.
BOOST_AUTO_TEST_CASE(backward_accumulates) {
  Rng rng(68);
  const CrossEntropyData d({17, 65, 80}, rng);
  for (const auto& impl : crossentropy_impls<double>()) {
    std::vector<double> losses(d.N), lse(d.N);
    const Index count = impl.forward(losses.data(), lse.data(), d.logits.data(), d.targets.data(), d.N, d.V, d.Vp,
                                     kernels::kIgnoreIndex);
    auto dlogits = zeros<double>(d.N * d.Vp);
    impl.backward(dlogits.data(), d.logits.data(), lse.data(), d.targets.data(), 1.0 / double(count), d.N, d.V, d.Vp,
                  kernels::kIgnoreIndex);
    const auto dlogits0 = random_normal<double>(d.N * d.Vp, rng);
    auto acc = dlogits0;
    impl.backward(acc.data(), d.logits.data(), lse.data(), d.targets.data(), 1.0 / double(count), d.N, d.V, d.Vp,
                  kernels::kIgnoreIndex);
    BOOST_TEST(agree<double>(acc, sum_of(dlogits0, dlogits)), impl.name);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// attention
// ================================================================================
namespace {

const std::vector<AttentionShape> kAttentionShapes = {{1, 1, 1, 1},  {1, 1, 3, 17},  {2, 3, 17, 5},
                                                      {1, 2, 65, 3}, {3, 1, 17, 65}, {2, 4, 64, 32}};

template <class T>
auto attention_impls() {
  using Fb = ImplFB<decltype(&ref::attention_forward<T>), decltype(&ref::attention_backward<T>)>;
  return std::vector<Fb>{{"reference", ref::attention_forward<T>, ref::attention_backward<T>},
                         {"fast", kernels::attention_forward<T>, kernels::attention_backward<T>}};
}

// q, k, v (B, NH, T, hs) and a mask: batch row 0 all real tokens; odd rows two
// positions of left padding; even rows > 0 a padding hole in the middle.
struct AttentionData {
  AttentionShape d;
  std::vector<double> q, k, v, dout;
  std::vector<std::uint8_t> mask;
  AttentionData(AttentionShape shape, Rng& rng)
      : d(shape),
        q(random_normal<double>(size(), rng)),
        k(random_normal<double>(size(), rng)),
        v(random_normal<double>(size(), rng)),
        dout(random_normal<double>(size(), rng)),
        mask(static_cast<std::size_t>(d.B * d.T), 1) {
    for (Index b = 1; b < d.B; ++b) {
      if (b % 2 == 1)
        for (Index t = 0; t < std::min<Index>(2, d.T - 1); ++t) mask[b * d.T + t] = 0;
      else if (d.T > 4)
        mask[b * d.T + d.T / 2] = 0;
    }
  }
  Index size() const { return d.B * d.NH * d.T * d.hs; }
  Index att_size() const { return d.B * d.NH * d.T * d.T; }
  bool real(Index b, Index t) const { return mask[b * d.T + t] != 0; }
};

std::string describe(const AttentionShape& d) {
  return "B=" + std::to_string(d.B) + " NH=" + std::to_string(d.NH) + " T=" + std::to_string(d.T) +
         " hs=" + std::to_string(d.hs);
}

template <class T>
void attention_fast_matches_reference() {
  Rng rng(71);
  for (const auto& shape : kAttentionShapes) {
    BOOST_TEST_CONTEXT(describe(shape)) {
      const AttentionData a(shape, rng);
      const auto q = as<T>(a.q), k = as<T>(a.k), v = as<T>(a.v), dout = as<T>(a.dout);
      // NaN-filled outputs: forward over [0, T) must write every entry.
      auto out_ref = nans<T>(a.size()), att_ref = nans<T>(a.att_size());
      auto out_fast = out_ref, att_fast = att_ref;
      ref::attention_forward(out_ref.data(), att_ref.data(), q.data(), k.data(), v.data(), a.mask.data(), a.d, 0,
                             a.d.T);
      kernels::attention_forward(out_fast.data(), att_fast.data(), q.data(), k.data(), v.data(), a.mask.data(), a.d, 0,
                                 a.d.T);
      BOOST_TEST(agree<T>(out_fast, out_ref));
      BOOST_TEST(agree<T>(att_fast, att_ref));

      auto dq_ref = zeros<T>(a.size()), dk_ref = dq_ref, dv_ref = dq_ref;
      auto dq_fast = dq_ref, dk_fast = dq_ref, dv_fast = dq_ref;
      ref::attention_backward(dq_ref.data(), dk_ref.data(), dv_ref.data(), dout.data(), att_ref.data(), q.data(),
                              k.data(), v.data(), a.d, 0, a.d.T);
      kernels::attention_backward(dq_fast.data(), dk_fast.data(), dv_fast.data(), dout.data(), att_ref.data(), q.data(),
                                  k.data(), v.data(), a.d, 0, a.d.T);
      BOOST_TEST(agree<T>(dq_fast, dq_ref));
      BOOST_TEST(agree<T>(dk_fast, dk_ref));
      BOOST_TEST(agree<T>(dv_fast, dv_ref));
    }
  }
}

// The model's way through attention, range by range: qkv (T, B, 3C) is split into
// q, k, v for rows [s, e), attention computes those query rows against the cache,
// and the heads are merged into (T, B, C). Backward goes through the ranges in
// reverse, and after each range the rows [s, e) of dqkv are final.
struct RangeRun {
  std::vector<double> out, att, dqkv;  // (T, B, C), (B, NH, T, T), (T, B, 3C)
};

template <class Fb>
RangeRun run_in_ranges(const Fb& impl, const AttentionShape& d, const std::vector<double>& qkv,
                       const std::vector<double>& dout_merged, const std::vector<std::uint8_t>& mask,
                       const std::vector<std::pair<Index, Index>>& ranges) {
  const Index size = d.B * d.NH * d.T * d.hs;
  // NaN everywhere not yet computed: a range that read beyond the cache would show.
  auto q = nans<double>(size), k = q, v = q, y = q, dy = q;
  auto att = nans<double>(d.B * d.NH * d.T * d.T);
  auto out = nans<double>(d.T * d.B * d.C()), dqkv = nans<double>(d.T * d.B * 3 * d.C());
  for (auto [s, e] : ranges) {
    kernels::split_heads(q.data(), k.data(), v.data(), qkv.data(), d, s, e);
    impl.forward(y.data(), att.data(), q.data(), k.data(), v.data(), mask.data(), d, s, e);
    kernels::merge_heads(out.data(), y.data(), d, s, e);
  }
  auto dq = zeros<double>(size), dk = dq, dv = dq;
  for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
    const auto [s, e] = *it;
    kernels::merge_heads_backward(dy.data(), dout_merged.data(), d, s, e);
    impl.backward(dq.data(), dk.data(), dv.data(), dy.data(), att.data(), q.data(), k.data(), v.data(), d, s, e);
    kernels::split_heads_backward(dqkv.data(), dq.data(), dk.data(), dv.data(), d, s, e);
  }
  return {out, att, dqkv};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention)

// Fast forward (outputs and probabilities) and backward equal the reference in float.
BOOST_AUTO_TEST_CASE(fast_matches_reference_float) { attention_fast_matches_reference<float>(); }

// ... and in double.
BOOST_AUTO_TEST_CASE(fast_matches_reference_double) { attention_fast_matches_reference<double>(); }

// Padding keys are never attended (probability exactly 0, and their k and v do
// not affect any output); padding queries have all-zero probabilities and output;
// real queries' probabilities are causal and sum to 1. Backward sends no gradient
// to padding queries, nor to the keys and values of padding positions.
BOOST_AUTO_TEST_CASE(mask_handling) {
  Rng rng(72);
  const AttentionData a({3, 2, 9, 4}, rng);  // row 1: left padding at 0, 1; row 2: a hole at 4
  for (const auto& impl : attention_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      const auto& d = a.d;
      std::vector<double> out(a.size()), att(a.att_size());
      impl.forward(out.data(), att.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), d, 0, d.T);
      int bad_prob = 0, bad_padding_query = 0;
      double worst_sum = 0;
      for (Index b = 0; b < d.B; ++b)
        for (Index h = 0; h < d.NH; ++h)
          for (Index t = 0; t < d.T; ++t) {
            const double* p = att.data() + d.att_offset(b, h) + t * d.T;
            const double* o = out.data() + d.head_offset(b, h) + t * d.hs;
            if (!a.real(b, t)) {
              bad_padding_query += std::count_if(p, p + d.T, [](double x) { return x != 0; });
              bad_padding_query += std::count_if(o, o + d.hs, [](double x) { return x != 0; });
              continue;
            }
            double sum = 0;
            for (Index j = 0; j < d.T; ++j) {
              if (j > t || !a.real(b, j)) {
                bad_prob += p[j] != 0;  // a future or padding key: never attended
              } else {
                bad_prob += !(p[j] > 0);
              }
              sum += p[j];
            }
            worst_sum = std::max(worst_sum, std::abs(sum - 1));
          }
      BOOST_TEST(bad_prob == 0);
      BOOST_TEST(bad_padding_query == 0);
      BOOST_TEST(worst_sum <= 1e-14);

      // Garbage in the keys and values of padding positions changes nothing.
      auto k2 = a.k, v2 = a.v;
      for (Index b = 0; b < d.B; ++b)
        for (Index h = 0; h < d.NH; ++h)
          for (Index t = 0; t < d.T; ++t)
            if (!a.real(b, t))
              for (Index i = 0; i < d.hs; ++i)
                k2[d.head_offset(b, h) + t * d.hs + i] = v2[d.head_offset(b, h) + t * d.hs + i] = 1e3;
      std::vector<double> out2(a.size()), att2(a.att_size());
      impl.forward(out2.data(), att2.data(), a.q.data(), k2.data(), v2.data(), a.mask.data(), d, 0, d.T);
      BOOST_TEST(all_close(out2, out, 0, 0));

      // No gradient to padding queries, nor to padding keys and values.
      auto dq = zeros<double>(a.size()), dk = dq, dv = dq;
      impl.backward(dq.data(), dk.data(), dv.data(), a.dout.data(), att.data(), a.q.data(), a.k.data(), a.v.data(), d,
                    0, d.T);
      int leaked = 0;
      for (Index b = 0; b < d.B; ++b)
        for (Index h = 0; h < d.NH; ++h)
          for (Index t = 0; t < d.T; ++t)
            if (!a.real(b, t))
              for (Index i = 0; i < d.hs; ++i) {
                const Index at = d.head_offset(b, h) + t * d.hs + i;
                leaked += (dq[at] != 0) + (dk[at] != 0) + (dv[at] != 0);
              }
      BOOST_TEST(leaked == 0);
    }
  }
}

// Causality: the output at position t does not depend on q, k, v at positions after t.
BOOST_AUTO_TEST_CASE(future_positions_do_not_matter) {
  Rng rng(73);
  const AttentionData a({2, 2, 17, 5}, rng);
  const auto& d = a.d;
  const Index t0 = 6;
  auto q2 = a.q, k2 = a.k, v2 = a.v;
  for (Index b = 0; b < d.B; ++b)
    for (Index h = 0; h < d.NH; ++h)
      for (Index t = t0 + 1; t < d.T; ++t)
        for (Index i = 0; i < d.hs; ++i) {
          const Index at = d.head_offset(b, h) + t * d.hs + i;
          q2[at] += 1, k2[at] -= 2, v2[at] *= 3;
        }
  for (const auto& impl : attention_impls<double>()) {
    std::vector<double> out(a.size()), att(a.att_size()), out2(a.size()), att2(a.att_size());
    impl.forward(out.data(), att.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), d, 0, d.T);
    impl.forward(out2.data(), att2.data(), q2.data(), k2.data(), v2.data(), a.mask.data(), d, 0, d.T);
    double worst = 0;
    for (Index b = 0; b < d.B; ++b)
      for (Index h = 0; h < d.NH; ++h)
        for (Index i = 0; i < (t0 + 1) * d.hs; ++i)
          worst = std::max(worst, std::abs(out[d.head_offset(b, h) + i] - out2[d.head_offset(b, h) + i]));
    BOOST_TEST(worst <= 1e-14, impl.name);
  }
}

// The KV cache: forward over [0, T) in one call equals forward over [0, s), then
// [s, e), then [e, T); and backward over [e, T), [s, e), [0, s) in that order
// accumulates the same dq, dk, dv as one backward over [0, T). Checked through
// split_heads / merge_heads as the model uses them, with padding in the batch.
BOOST_AUTO_TEST_CASE(ranges_equal_one_call) {
  Rng rng(74);
  struct Case {
    AttentionShape d;
    Index s, e;
  };
  for (const Case& c : {Case{{2, 3, 17, 5}, 5, 6}, Case{{3, 2, 9, 4}, 1, 7}, Case{{2, 4, 64, 32}, 20, 21}}) {
    const AttentionShape& d = c.d;
    const AttentionData a(d, rng);  // for the mask
    const auto qkv = random_normal<double>(d.T * d.B * 3 * d.C(), rng);
    const auto dout = random_normal<double>(d.T * d.B * d.C(), rng);
    for (const auto& impl : attention_impls<double>()) {
      BOOST_TEST_CONTEXT(impl.name << " " << describe(d) << " s=" << c.s << " e=" << c.e) {
        const auto one = run_in_ranges(impl, d, qkv, dout, a.mask, {{0, d.T}});
        const auto three = run_in_ranges(impl, d, qkv, dout, a.mask, {{0, c.s}, {c.s, c.e}, {c.e, d.T}});
        BOOST_TEST(agree<double>(three.out, one.out));
        BOOST_TEST(agree<double>(three.att, one.att));
        BOOST_TEST(agree<double>(three.dqkv, one.dqkv));
      }
    }
  }
}

// Both backwards give dL/dq, dL/dk, dL/dv of L = sum(out * R), by central
// differences, with left padding and a padding hole in the batch.
BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  Rng rng(75);
  for (const auto& impl : attention_impls<double>()) {
    for (const AttentionShape shape : {AttentionShape{3, 2, 6, 3}, AttentionShape{1, 1, 5, 17}}) {
      BOOST_TEST_CONTEXT(impl.name << " " << describe(shape)) {
        AttentionData a(shape, rng);
        const auto& d = a.d;
        const auto& R = a.dout;
        std::vector<double> out(a.size()), att(a.att_size());
        auto loss = [&] {
          impl.forward(out.data(), att.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), d, 0, d.T);
          return weighted_sum(out, R);
        };
        loss();
        auto dq = zeros<double>(a.size()), dk = dq, dv = dq;
        impl.backward(dq.data(), dk.data(), dv.data(), R.data(), att.data(), a.q.data(), a.k.data(), a.v.data(), d, 0,
                      d.T);
        BOOST_TEST(fd_check(a.q, dq, loss, rng));
        BOOST_TEST(fd_check(a.k, dk, loss, rng));
        BOOST_TEST(fd_check(a.v, dv, loss, rng));
      }
    }
  }
}

// Backward adds to dq, dk, dv (+=) instead of overwriting them.
BOOST_AUTO_TEST_CASE(backward_accumulates) {
  Rng rng(76);
  const AttentionData a({2, 3, 17, 5}, rng);
  for (const auto& impl : attention_impls<double>()) {
    BOOST_TEST_CONTEXT(impl.name) {
      std::vector<double> out(a.size()), att(a.att_size());
      impl.forward(out.data(), att.data(), a.q.data(), a.k.data(), a.v.data(), a.mask.data(), a.d, 0, a.d.T);
      auto dq = zeros<double>(a.size()), dk = dq, dv = dq;
      impl.backward(dq.data(), dk.data(), dv.data(), a.dout.data(), att.data(), a.q.data(), a.k.data(), a.v.data(), a.d,
                    0, a.d.T);
      const auto dq0 = random_normal<double>(a.size(), rng), dk0 = random_normal<double>(a.size(), rng),
                 dv0 = random_normal<double>(a.size(), rng);
      auto dq_acc = dq0, dk_acc = dk0, dv_acc = dv0;
      impl.backward(dq_acc.data(), dk_acc.data(), dv_acc.data(), a.dout.data(), att.data(), a.q.data(), a.k.data(),
                    a.v.data(), a.d, 0, a.d.T);
      BOOST_TEST(agree<double>(dq_acc, sum_of(dq0, dq)));
      BOOST_TEST(agree<double>(dk_acc, sum_of(dk0, dk)));
      BOOST_TEST(agree<double>(dv_acc, sum_of(dv0, dv)));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// rotary: q, k of each head turned by angles proportional to their positions
// ================================================================================
BOOST_AUTO_TEST_SUITE(rotary)

// One pair worked by hand: heads of 4, position 3; pair 0 turns by 3 radians,
// pair 1 by 3 * 10000^(-1/2) = 0.03.
BOOST_AUTO_TEST_CASE(angles_by_hand) {
  const RotaryTable<double> table(8, 4);
  double x[4] = {1, 2, 3, 4};
  table.rotate(x, 3);
  BOOST_TEST(x[0] == std::cos(3.0) - 2 * std::sin(3.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(x[1] == std::sin(3.0) + 2 * std::cos(3.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(x[2] == 3 * std::cos(0.03) - 4 * std::sin(0.03), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(x[3] == 3 * std::sin(0.03) + 4 * std::cos(0.03), boost::test_tools::tolerance(1e-15));
  double y[4] = {1, 2, 3, 4};
  table.rotate(y, 0);  // position 0 is no turn
  BOOST_TEST((y[0] == 1 && y[1] == 2 && y[2] == 3 && y[3] == 4));
  BOOST_CHECK_THROW(RotaryTable<double>(8, 5), std::invalid_argument);
}

// The score of a rotated query against a rotated key depends on their distance
// only; lengths are kept; the transpose undoes the turn.
BOOST_AUTO_TEST_CASE(scores_see_distances) {
  Rng rng(80);
  const Index hs = 6;
  const RotaryTable<double> table(64, hs);
  const auto q = random_normal<double>(hs, rng), k = random_normal<double>(hs, rng);
  const auto score = [&](int p, int p2) {
    auto a = q, b = k;
    table.rotate(a.data(), p);
    table.rotate(b.data(), p2);
    return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
  };
  for (int shift : {1, 9, 40}) {
    BOOST_TEST(score(5 + shift, 2 + shift) == score(5, 2), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(score(3 + shift, 3 + shift) == score(0, 0), boost::test_tools::tolerance(1e-12));
  }
  BOOST_TEST(std::abs(score(5, 2) - score(5, 3)) > 1e-3);  // and the distance does matter
  auto x = q;
  table.rotate(x.data(), 17);
  BOOST_TEST(std::inner_product(x.begin(), x.end(), x.begin(), 0.0) ==
                 std::inner_product(q.begin(), q.end(), q.begin(), 0.0),
             boost::test_tools::tolerance(1e-12));
  table.rotate(x.data(), 17, true);
  BOOST_TEST(agree<double>(x, q));
}

// rotary_backward gives dL/dq and dL/dk of L = sum(R q * Rq + R k * Rk) by central
// differences, over a range of positions with shifted (left-padded) position ids;
// positions outside the range are left alone.
BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  Rng rng(81);
  const AttentionShape d{2, 3, 7, 4};
  const Index s = 2, e = 6, n = d.B * d.NH * d.T * d.hs;
  const RotaryTable<double> table(d.T, d.hs);
  std::vector<int> positions(d.T * d.B);  // (T, B); row 1 left-padded by 2
  for (Index t = 0; t < d.T; ++t) positions[t * d.B] = int(t), positions[t * d.B + 1] = int(std::max<Index>(0, t - 2));
  auto q = random_normal<double>(n, rng), k = random_normal<double>(n, rng);
  const auto Rq = random_normal<double>(n, rng), Rk = random_normal<double>(n, rng);
  const auto loss = [&] {
    auto a = q, b = k;
    kernels::rotary_forward(a.data(), b.data(), table, positions.data(), d, s, e);
    return weighted_sum(a, Rq) + weighted_sum(b, Rk);
  };
  auto dq = Rq, dk = Rk;
  kernels::rotary_backward(dq.data(), dk.data(), table, positions.data(), d, s, e);
  BOOST_TEST(fd_check(q, dq, loss, rng));
  BOOST_TEST(fd_check(k, dk, loss, rng));
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================================
// adamw
// ================================================================================
namespace {

template <class T>
auto adamw_impls() {
  using I = Impl<decltype(&ref::adamw_update<T>)>;
  return std::vector<I>{{"reference", ref::adamw_update<T>}, {"fast", kernels::adamw_update<T>}};
}

template <class T>
void adamw_fast_matches_reference() {
  Rng rng(81);
  const kernels::AdamWHyper h{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
  for (Index n : kElementwiseSizes) {
    for (double wd : {h.weight_decay, 0.0}) {
      BOOST_TEST_CONTEXT("n=" << n << " weight_decay=" << wd) {
        auto p_ref = as<T>(random_normal<double>(n, rng)), m_ref = zeros<T>(n), v_ref = zeros<T>(n);
        auto p_fast = p_ref, m_fast = m_ref, v_fast = v_ref;
        for (long t = 1; t <= 5; ++t) {
          const auto g = as<T>(random_normal<double>(n, rng));
          ref::adamw_update(p_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, h, wd, t);
          kernels::adamw_update(p_fast.data(), g.data(), m_fast.data(), v_fast.data(), n, h, wd, t);
        }
        BOOST_TEST(agree<T>(p_fast, p_ref));
        BOOST_TEST(agree<T>(m_fast, m_ref));
        BOOST_TEST(agree<T>(v_fast, v_ref));
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(adamw)

// Five steps of the fast update equal five of the reference (params, m, v), in float.
BOOST_AUTO_TEST_CASE(fast_matches_reference_float) { adamw_fast_matches_reference<float>(); }

// ... and in double.
BOOST_AUTO_TEST_CASE(fast_matches_reference_double) { adamw_fast_matches_reference<double>(); }

// One step worked by hand, p = 0.5, g = 0.2, m = v = 0, t = 1, lr = 1e-3, wd = 0.1:
//   m = 0.1 * 0.2 = 0.02                     v = 0.001 * 0.04 = 4e-5
//   mhat = 0.02 / (1 - 0.9) = 0.2            vhat = 4e-5 / (1 - 0.999) = 0.04, sqrt = 0.2
//   p = 0.5 - 1e-3 * (0.1 * 0.5 + 0.2 / (0.2 + 1e-8)) = 0.5 - 1e-3 * (0.05 + 0.99999995)
//     = 0.49895000005
// (17 identical elements: the SIMD body and the scalar tail both compute it).
template <class T>
void adamw_one_step_by_hand(double tolerance) {
  const kernels::AdamWHyper h{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
  const Index n = 17;
  for (const auto& [name, update] : adamw_impls<T>()) {
    std::vector<T> p(n, T(0.5)), g(n, T(0.2)), m(n, T(0)), v(n, T(0));
    update(p.data(), g.data(), m.data(), v.data(), n, h, h.weight_decay, 1);
    BOOST_TEST(all_close(m, std::vector<double>(n, 0.02), tolerance, 0), name);
    BOOST_TEST(all_close(v, std::vector<double>(n, 4e-5), tolerance, 0), name);
    BOOST_TEST(all_close(p, std::vector<double>(n, 0.49895000005), tolerance, 0), name);
  }
}

BOOST_AUTO_TEST_CASE(one_step_by_hand_double) { adamw_one_step_by_hand<double>(1e-14); }

// The same in float, to float's rounding of a handful of operations (1e-6): this
// is what catches 1 - beta2 computed in float, which loses four digits to
// cancellation (1 - 0.999f = 0.00099998713).
BOOST_AUTO_TEST_CASE(one_step_by_hand_float) { adamw_one_step_by_hand<float>(1e-6); }

// With no gradient (m = v = 0) and no weight decay a step leaves parameters alone;
// with weight decay alone it shrinks them by the factor 1 - lr * wd.
BOOST_AUTO_TEST_CASE(weight_decay_is_decoupled) {
  const kernels::AdamWHyper h{.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.5};
  Rng rng(82);
  const Index n = 17;
  const auto p0 = random_normal<double>(n, rng);
  for (const auto& [name, update] : adamw_impls<double>()) {
    const std::vector<double> g(n, 0.0);
    std::vector<double> p = p0, m(n, 0.0), v(n, 0.0);
    update(p.data(), g.data(), m.data(), v.data(), n, h, 0.0, 1);
    BOOST_TEST(all_close(p, p0, 0, 0), name);
    update(p.data(), g.data(), m.data(), v.data(), n, h, h.weight_decay, 2);
    std::vector<double> shrunk(p0);
    for (double& x : shrunk) x *= 1 - h.lr * h.weight_decay;
    BOOST_TEST(all_close(p, shrunk, 1e-14, 0), name);
  }
}

BOOST_AUTO_TEST_SUITE_END()
