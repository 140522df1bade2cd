// The random choices the data generators make, written on top of coconut::Rng so
// that a seed gives the same data set on every platform and standard library
// (std::shuffle and the std:: distributions are implementation-defined).
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <utility>
#include <vector>

#include "coconut/tensor/random.hpp"

namespace coconut::sampling {

// Fisher-Yates: every order equally likely.
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// `count` draws of `one(rng)` from one stream seeded by `seed`; a prefix of a
// larger set drawn with the same seed.
template <class F>
auto draw(std::size_t count, std::uint64_t seed, F&& one) {
  Rng rng(seed);
  std::vector<decltype(one(rng))> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(one(rng));
  return out;
}

// One element, uniformly.
template <class T>
const T& choose(const std::vector<T>& v, Rng& rng) {
  if (v.empty()) throw std::logic_error("sampling::choose: empty list");
  return v[rng.below(v.size())];
}

// Poisson(mean) by Knuth's multiplication method: fine for the small means
// (about 1.5) used here; the loop runs mean + 1 times on average.
inline int poisson(double mean, Rng& rng) {
  const double limit = std::exp(-mean);
  int k = 0;
  for (double p = rng.uniform(); p > limit; p *= rng.uniform()) ++k;
  return k;
}

// k distinct indices into `weights`, each draw proportional to the weights of
// the indices not drawn yet (what numpy's choice(replace=False, p=...) does).
// Returns them in draw order; k is capped at the number of positive weights.
inline std::vector<int> weighted_without_replacement(std::vector<double> weights, std::size_t k, Rng& rng) {
  std::vector<int> picked;
  for (std::size_t draw = 0; draw < k && draw < weights.size(); ++draw) {
    double total = 0;
    for (double w : weights) total += w;
    if (total <= 0) break;  // only zero weights left
    double x = rng.uniform() * total;
    std::size_t i = 0;
    // Skip used (zero-weight) entries; the last positive entry absorbs rounding.
    std::size_t last = 0;
    for (; i < weights.size(); ++i) {
      if (weights[i] <= 0) continue;
      last = i;
      if (x < weights[i]) break;
      x -= weights[i];
    }
    if (i == weights.size()) i = last;
    picked.push_back(int(i));
    weights[i] = 0;
  }
  return picked;
}

}  // namespace coconut::sampling
