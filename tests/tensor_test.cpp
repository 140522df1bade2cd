// Layout, Arena and Rng: the memory every model tensor lives in and the random
// numbers that initialise it.
#define BOOST_TEST_MODULE tensor
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/tensor/arena.hpp"
#include "coconut/tensor/random.hpp"

using namespace coconut;

namespace {

// A layout with awkward sizes (none a multiple of 64 bytes), an empty tensor included.
Layout awkward_layout(std::size_t element_size) {
  Layout layout(element_size);
  layout.add("scalar", {1}).add("w", {3, 5}).add("b", {17}).add("empty", {0}).add("x", {2, 3, 7}).add("last", {65});
  return layout;
}

// A predicate for BOOST_CHECK_EXCEPTION: the error message contains every one of `parts`.
auto message_contains(std::vector<std::string> parts) {
  return [parts](const std::exception& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE("message: " << what);
    return std::all_of(parts.begin(), parts.end(),
                       [&](const std::string& p) { return what.find(p) != std::string::npos; });
  };
}

template <class T>
void check_alignment() {
  Arena<T> arena(awkward_layout(sizeof(T)));
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(arena.data()) % kAlignment == 0u);
  const auto& entries = arena.layout().entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    BOOST_TEST_CONTEXT("tensor " << entries[i].name) {
      BOOST_TEST(reinterpret_cast<std::uintptr_t>(arena.ptr(entries[i].name)) % kAlignment == 0u);
      BOOST_TEST(entries[i].offset * Index(sizeof(T)) % Index(kAlignment) == 0);
      // Tensors do not overlap and all fit in the arena.
      const Index end = entries[i].offset + entries[i].size;
      if (i + 1 < entries.size()) BOOST_TEST(end <= entries[i + 1].offset);
      BOOST_TEST(end <= arena.size());
    }
  }
  // The total is padded to whole cache lines too.
  BOOST_TEST(arena.size() * Index(sizeof(T)) % Index(kAlignment) == 0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layout_and_arena)

// Every tensor of a float arena starts on a 64-byte boundary, whatever the sizes before it.
BOOST_AUTO_TEST_CASE(float_tensors_are_64_byte_aligned) { check_alignment<float>(); }

// The same for double, whose elements are twice as wide.
BOOST_AUTO_TEST_CASE(double_tensors_are_64_byte_aligned) { check_alignment<double>(); }

// Sizes are the products of the shapes; an arena starts out all zero.
BOOST_AUTO_TEST_CASE(sizes_and_zero_initialisation) {
  Arena<float> arena(awkward_layout(sizeof(float)));
  BOOST_TEST(arena.layout().at("w").size == 15);
  BOOST_TEST(arena.layout().at("x").size == 42);
  BOOST_TEST(arena.layout().at("empty").size == 0);
  BOOST_TEST(arena.span("x").size() == 42u);
  BOOST_TEST(std::all_of(arena.span().begin(), arena.span().end(), [](float v) { return v == 0.0f; }));
}

// A view by name has the tensor's shape and RowMajor indexing: element (i, j, k)
// of a (2, 3, 7) tensor is at ptr[(i * 3 + j) * 7 + k].
BOOST_AUTO_TEST_CASE(views_have_shape_and_row_major_indexing) {
  Arena<double> arena(awkward_layout(sizeof(double)));
  auto x = arena.view<3>("x");
  BOOST_TEST(x.dimension(0) == 2);
  BOOST_TEST(x.dimension(1) == 3);
  BOOST_TEST(x.dimension(2) == 7);
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 3; ++j)
      for (Index k = 0; k < 7; ++k) x(i, j, k) = double(100 * i + 10 * j + k);
  const double* p = arena.ptr("x");
  int mismatches = 0;
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 3; ++j)
      for (Index k = 0; k < 7; ++k) mismatches += p[(i * 3 + j) * 7 + k] != double(100 * i + 10 * j + k);
  BOOST_TEST(mismatches == 0);

  // A view with the expected shape spelled out sees the same memory.
  auto w = arena.view<2>("w", {3, 5});
  w(2, 4) = 7.5;
  BOOST_TEST(arena.ptr("w")[2 * 5 + 4] == 7.5);
  BOOST_TEST(arena.ptr("w") == w.data());
}

// Writing one tensor leaves its neighbours alone.
BOOST_AUTO_TEST_CASE(tensors_are_independent) {
  Arena<float> arena(awkward_layout(sizeof(float)));
  for (float& v : arena.span("b")) v = 3.0f;
  for (const char* other : {"scalar", "w", "x", "last"}) {
    auto s = arena.span(other);
    BOOST_TEST(std::all_of(s.begin(), s.end(), [](float v) { return v == 0.0f; }), other);
  }
}

// zero() clears the whole block: every tensor and the padding between them.
BOOST_AUTO_TEST_CASE(zero_clears_everything) {
  Arena<float> arena(awkward_layout(sizeof(float)));
  std::fill(arena.span().begin(), arena.span().end(), 1.5f);
  arena.zero();
  BOOST_TEST(std::all_of(arena.span().begin(), arena.span().end(), [](float v) { return v == 0.0f; }));
}

// Asking for a name that is not in the arena throws, and the message names it.
BOOST_AUTO_TEST_CASE(unknown_name_throws_naming_it) {
  Arena<float> arena(awkward_layout(sizeof(float)));
  BOOST_CHECK_EXCEPTION(arena.ptr("wte"), std::out_of_range, message_contains({"'wte'"}));
  BOOST_CHECK_EXCEPTION(arena.view<2>("wte"), std::out_of_range, message_contains({"'wte'"}));
  BOOST_CHECK_EXCEPTION(arena.span("wte"), std::out_of_range, message_contains({"'wte'"}));
  BOOST_TEST(!arena.layout().contains("wte"));
  BOOST_TEST(arena.layout().contains("w"));
}

// A view of the wrong rank throws; the message names the tensor and its shape.
BOOST_AUTO_TEST_CASE(wrong_rank_throws_naming_tensor_and_shape) {
  Arena<float> arena(awkward_layout(sizeof(float)));
  BOOST_CHECK_EXCEPTION(arena.view<3>("w"), std::invalid_argument, message_contains({"'w'", "(3, 5)", "rank 3"}));
  BOOST_CHECK_EXCEPTION(arena.view<2>("b"), std::invalid_argument, message_contains({"'b'", "(17,)"}));
}

// A view of the right rank but another shape throws; the message gives both shapes.
BOOST_AUTO_TEST_CASE(wrong_shape_throws_naming_tensor_and_shapes) {
  Arena<float> arena(awkward_layout(sizeof(float)));
  BOOST_CHECK_EXCEPTION((arena.view<2>("w", {5, 3})), std::invalid_argument,
                        message_contains({"'w'", "(3, 5)", "expected (5, 3)"}));
  BOOST_CHECK_EXCEPTION((arena.view<3>("x", {2, 3, 8})), std::invalid_argument,
                        message_contains({"'x'", "(2, 3, 7)", "(2, 3, 8)"}));
}

// A layout refuses the same name twice, and negative dimensions, naming the tensor.
BOOST_AUTO_TEST_CASE(bad_additions_throw_naming_the_tensor) {
  Layout layout(sizeof(float));
  layout.add("wpe", {16, 8});
  BOOST_CHECK_EXCEPTION(layout.add("wpe", {4}), std::invalid_argument, message_contains({"'wpe'", "twice"}));
  BOOST_CHECK_EXCEPTION(layout.add("neg", {2, -1}), std::invalid_argument, message_contains({"'neg'", "(2, -1)"}));
  BOOST_TEST(layout.entries().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rng)

// The same seed gives the same stream, for raw, uniform and normal draws; a copy
// of a generator continues exactly where the original does.
BOOST_AUTO_TEST_CASE(same_seed_same_stream) {
  Rng a(42), b(42);
  BOOST_TEST((a == b));
  int differ = 0;
  for (int i = 0; i < 1000; ++i) differ += a.next() != b.next();
  for (int i = 0; i < 1000; ++i) differ += a.uniform() != b.uniform();
  for (int i = 0; i < 1000; ++i) differ += a.normal() != b.normal();
  BOOST_TEST(differ == 0);
  Rng c = a;
  BOOST_TEST(c.next() == a.next());
  // Re-seeding restarts the stream.
  a.seed(42);
  Rng fresh(42);
  BOOST_TEST(a.next() == fresh.next());
}

// Different seeds (0 included, which splitmix64 spreads) give different streams.
BOOST_AUTO_TEST_CASE(different_seeds_differ) {
  for (auto [s1, s2] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 1}, {1, 2}, {42, 43}}) {
    Rng a(s1), b(s2);
    BOOST_TEST(!(a == b));
    int equal = 0;
    for (int i = 0; i < 1000; ++i) equal += a.next() == b.next();
    BOOST_TEST(equal == 0);
  }
  Rng zero(0);
  BOOST_TEST(zero.next() != 0u);
}

// normal() has mean 0 and standard deviation 1 over 100k draws, and about 68.3%
// of them within one standard deviation. The bounds are about 6 standard errors
// (1/sqrt(n) = 0.003 for the mean), so a correct generator never fails them.
BOOST_AUTO_TEST_CASE(normal_has_mean_0_and_std_1) {
  Rng rng(7);
  const int n = 100000;
  double sum = 0, sum2 = 0;
  int within_one = 0, not_finite = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    not_finite += !std::isfinite(x);
    sum += x;
    sum2 += x * x;
    within_one += std::abs(x) < 1;
  }
  BOOST_TEST(not_finite == 0);
  const double mean = sum / n, stddev = std::sqrt(sum2 / n - mean * mean);
  BOOST_TEST(std::abs(mean) < 0.02);
  BOOST_TEST(std::abs(stddev - 1) < 0.02);
  BOOST_TEST(std::abs(double(within_one) / n - 0.6827) < 0.01);
}

// uniform() lies in [0, 1), spreads over all of it, and has mean 1/2.
BOOST_AUTO_TEST_CASE(uniform_lies_in_unit_interval) {
  Rng rng(3);
  const int n = 100000;
  double lo = 1, hi = 0, sum = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  BOOST_TEST(lo >= 0.0);
  BOOST_TEST(hi < 1.0);
  BOOST_TEST(lo < 1e-3);
  BOOST_TEST(hi > 1 - 1e-3);
  BOOST_TEST(std::abs(sum / n - 0.5) < 0.01);  // standard error 0.0009
}

// below(n) lies in [0, n) and reaches every value; below(0) is 0.
BOOST_AUTO_TEST_CASE(below_lies_in_range) {
  Rng rng(5);
  std::vector<int> seen(7, 0);
  int outside = 0;
  for (int i = 0; i < 7000; ++i) {
    const std::uint64_t k = rng.below(7);
    if (k < 7u)
      ++seen[k];
    else
      ++outside;
  }
  BOOST_TEST(outside == 0);
  BOOST_TEST(*std::min_element(seen.begin(), seen.end()) > 800);
  BOOST_TEST(rng.below(0) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
