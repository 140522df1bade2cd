// Small numerical helpers shared by the test suites.
//
//   fill_normal, random_normal   seeded random data (coconut::Rng, so the same everywhere)
//   max_rel_error                the largest elementwise relative error of two sequences
//   all_close                    a Boost.Test predicate: every |a - b| <= atol + rtol |b|,
//                                and on failure a message naming the worst entry
//   view                         a raw buffer (pointer, size) as a range for the above
//   weighted_sum                 sum a[i] * r[i], the scalar loss L = sum(out * R) that
//                                turns a kernel's output into something to differentiate
//   central_difference,          derivatives by central finite differences, and the check
//   check_gradient               of an analytic gradient against them
//
// Everything takes sequences as ranges (std::vector, std::span, ...) of any
// arithmetic type and computes in double.
#pragma once

#include <boost/test/tools/assertion_result.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <ranges>
#include <span>
#include <stdexcept>
#include <vector>

#include "coconut/tensor/arena.hpp"
#include "coconut/tensor/random.hpp"

namespace coconut::test {

// ---- random data -------------------------------------------------------------

// Fills x with independent N(mean, stddev^2) values.
template <class T>
void fill_normal(std::span<T> x, Rng& rng, double stddev = 1.0, double mean = 0.0) {
  for (T& v : x) v = T(mean + stddev * rng.normal());
}

// n independent N(mean, stddev^2) values.
template <class T>
std::vector<T> random_normal(Index n, Rng& rng, double stddev = 1.0, double mean = 0.0) {
  std::vector<T> x(static_cast<std::size_t>(n));
  fill_normal<T>(x, rng, stddev, mean);
  return x;
}

// ---- comparing sequences -----------------------------------------------------

// max_i |a_i - b_i| / max(|b_i|, floor): the relative error of `a` against the
// expected `b`, where `floor` keeps entries near zero from dominating.
template <std::ranges::random_access_range A, std::ranges::random_access_range B>
double max_rel_error(const A& a, const B& b, double floor = 1e-30) {
  if (std::ranges::size(a) != std::ranges::size(b)) throw std::invalid_argument("max_rel_error: sizes differ");
  double worst = 0;
  auto ia = std::ranges::begin(a);
  auto ib = std::ranges::begin(b);
  for (std::size_t i = 0; i < std::ranges::size(a); ++i) {
    const double x = double(ia[i]), y = double(ib[i]);
    worst = std::max(worst, std::abs(x - y) / std::max(std::abs(y), floor));
  }
  return worst;
}

// Whether |actual_i - expected_i| <= atol + rtol |expected_i| for every i (the rule
// of numpy.allclose; rtol = atol = 0 asks for exact equality). Use as
// BOOST_TEST(all_close(...)): on failure the message gives the worst entry, its two
// values and how many entries failed. NaN never compares close.
template <std::ranges::random_access_range A, std::ranges::random_access_range B>
boost::test_tools::predicate_result all_close(const A& actual, const B& expected, double rtol, double atol) {
  const std::size_t n = std::ranges::size(actual);
  if (n != std::ranges::size(expected)) {
    boost::test_tools::predicate_result r(false);
    r.message() << "sizes differ: " << n << " vs " << std::ranges::size(expected);
    return r;
  }
  auto ia = std::ranges::begin(actual);
  auto ib = std::ranges::begin(expected);
  std::size_t bad = 0, worst_i = 0;
  double worst = 0;  // |a - b| in units of the allowed error
  for (std::size_t i = 0; i < n; ++i) {
    const double x = double(ia[i]), y = double(ib[i]);
    if (x == y) continue;  // exact agreement passes even with zero tolerances
    const double ratio = std::abs(x - y) / (atol + rtol * std::abs(y));
    if (!(ratio <= 1)) {  // NaN lands here
      ++bad;
      if (!(ratio <= worst)) worst = ratio, worst_i = i;
    }
  }
  boost::test_tools::predicate_result r(bad == 0);
  if (bad) {
    r.message().stream().precision(17);
    r.message() << bad << " of " << n << " entries differ (rtol " << rtol << ", atol " << atol << "); worst at ["
                << worst_i << "]: " << double(ia[worst_i]) << " vs expected " << double(ib[worst_i]) << ", " << worst
                << " times the tolerance";
  }
  return r;
}

// Span helpers for raw buffers: all_close(view(p, n), ...).
template <class T>
std::span<const T> view(const T* p, Index n) {
  return {p, static_cast<std::size_t>(n)};
}

// ---- finite differences --------------------------------------------------------

// sum_i a_i r_i, in double.
template <std::ranges::random_access_range A, std::ranges::random_access_range R>
double weighted_sum(const A& a, const R& r) {
  double s = 0;
  auto ia = std::ranges::begin(a);
  auto ir = std::ranges::begin(r);
  for (std::size_t i = 0; i < std::ranges::size(a); ++i) s += double(ia[i]) * double(ir[i]);
  return s;
}

// dL/dx by the central difference (L(x + eps) - L(x - eps)) / (2 eps), for a
// scalar function `loss` that reads the variable x (one element of some buffer).
// x is restored afterwards. The error is O(eps^2) from truncation plus about
// 1e-16 |L| / eps from rounding: eps = 1e-6 balances them in double.
template <class T, class Loss>
double central_difference(T& x, Loss&& loss, double eps = 1e-6) {
  const T saved = x;
  x = T(double(saved) + eps);
  const double up = loss();
  x = T(double(saved) - eps);
  const double down = loss();
  x = saved;
  return (up - down) / (2 * eps);
}

// Which entries of an n-element tensor to probe: all of them when n <= max_count,
// otherwise max_count distinct ones drawn at random (in increasing order).
inline std::vector<Index> probe_indices(Index n, Index max_count, Rng& rng) {
  std::vector<Index> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), Index(0));
  if (n <= max_count) return all;
  for (Index i = 0; i < max_count; ++i) std::swap(all[i], all[i + Index(rng.below(std::uint64_t(n - i)))]);
  all.resize(static_cast<std::size_t>(max_count));
  std::sort(all.begin(), all.end());
  return all;
}

// Checks an analytic gradient of `loss` with respect to the buffer x against
// central differences at the entries `indices`: every
// |analytic_i - numeric_i| <= atol + rtol |numeric_i|. On failure the message names
// the worst entry of x.
template <class T, class G, class Loss>
boost::test_tools::predicate_result check_gradient(std::span<T> x, const G& analytic, Loss&& loss,
                                                   const std::vector<Index>& indices, double rtol, double atol,
                                                   double eps = 1e-6) {
  auto ig = std::ranges::begin(analytic);
  std::size_t bad = 0;
  Index worst_i = 0;
  double worst = 0, worst_a = 0, worst_n = 0;
  for (Index i : indices) {
    const double numeric = central_difference(x[static_cast<std::size_t>(i)], loss, eps);
    const double a = double(ig[i]);
    const double ratio = std::abs(a - numeric) / (atol + rtol * std::abs(numeric));
    if (!(ratio <= 1)) {
      ++bad;
      if (!(ratio <= worst)) worst = ratio, worst_i = i, worst_a = a, worst_n = numeric;
    }
  }
  boost::test_tools::predicate_result r(bad == 0);
  if (bad) {
    r.message().stream().precision(17);
    r.message() << bad << " of " << indices.size() << " probed entries differ (rtol " << rtol << ", atol " << atol
                << "); worst at [" << worst_i << "]: analytic " << worst_a << " vs numeric " << worst_n << ", " << worst
                << " times the tolerance";
  }
  return r;
}

}  // namespace coconut::test
