// A small seeded random number generator whose streams are the same on every
// platform and standard library (std::normal_distribution is not), so a seed
// reproduces a run anywhere. Its whole state can be saved and restored.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace coconut {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { this->seed(seed); }

  void seed(std::uint64_t seed) {
    // splitmix64 spreads any seed (0 included) over the xoshiro state.
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }

  // xoshiro256** (Blackman & Vigna).
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }  // [0, n), negligible bias for small n

  // Standard normal by Box-Muller (one value per call; simple over fast).
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(s_[0], s_[1], s_[2], s_[3]);
  }

  bool operator==(const Rng&) const = default;

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace coconut
