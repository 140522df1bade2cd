// The GPT model: exact gradients, range-by-range computation, and agreement with an
// independent PyTorch implementation (tests/golden/make_fixture.py).
#define BOOST_TEST_MODULE model
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <numeric>
#include <string>

#include "coconut/coconut.hpp"
#include "support/fixture.hpp"
#include "support/model.hpp"

using namespace coconut;
using test::Fixture;

namespace {

// The model's tests of gradients and ranges run for each architecture: GPT-2, rotary
// positions, and rotary positions with previous-token mixing.
using ArchitectureConfigs = boost::mpl::list<Tiny, TinyRotary, TinyMixed>;

const std::string kFixture = std::string(COCONUT_TEST_DATA) + "/golden/gpt2_tiny.bin";

// Normwise relative error of a tensor: max |a - b| / max |b|. (Entrywise relative
// error is meaningless for entries that are zero up to rounding, such as the
// gradient of the key bias, which softmax's shift invariance makes exactly 0.)
template <class A>
double max_rel_err(const A* a, const std::vector<double>& b, std::size_t first = 0, std::size_t last = SIZE_MAX) {
  double diff = 0, scale = 1e-300;
  for (std::size_t i = first; i < std::min(last, b.size()); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

template <class T>
void load_parameters(GPT<Tiny, T>& model, const Fixture& fx, const std::string& prefix = "") {
  for (const auto& e : model.params().layout().entries()) {
    const auto& v = fx.f64(prefix + e.name);
    BOOST_TEST_REQUIRE(Index(v.size()) == e.size, "fixture size of " << e.name);
    for (Index i = 0; i < e.size; ++i) model.params().data()[e.offset + i] = T(v[i]);
  }
}

Batch fixture_batch(const Fixture& fx, const std::string& prefix) {
  const auto& shape = fx.at(prefix + "tokens").shape;
  Batch batch(shape[0], shape[1]);
  batch.tokens = fx.i32(prefix + "tokens");
  batch.positions = fx.i32(prefix + "positions");
  batch.targets = fx.i32(prefix + "targets");
  const auto& mask = fx.i32(prefix + "mask");
  batch.mask.assign(mask.begin(), mask.end());
  return batch;
}

// Compares logits and hidden states, (B, T, ...) in the fixture, with the model's.
template <class Model>
void check_outputs(const Model& model, const Fixture& fx, const std::string& prefix, double rtol) {
  const auto& logits = fx.f64(prefix + "logits");
  const auto& hidden = fx.f64(prefix + "hidden");
  const Index B = model.batch_size(), T = model.seq_len();
  double worst_logits = 0, worst_hidden = 0;
  for (Index b = 0; b < B; ++b)
    for (Index t = 0; t < T; ++t) {
      const std::vector<double> l(logits.begin() + (b * T + t) * Model::Vp, logits.begin() + (b * T + t + 1) * Model::Vp);
      const std::vector<double> h(hidden.begin() + (b * T + t) * Model::C, hidden.begin() + (b * T + t + 1) * Model::C);
      worst_logits = std::max(worst_logits, max_rel_err(model.logits(b, t), l));
      worst_hidden = std::max(worst_hidden, max_rel_err(model.hidden(b, t), h));
    }
  BOOST_TEST(worst_logits <= rtol);
  BOOST_TEST(worst_hidden <= rtol);
}

template <class Model>
void check_gradients(const Model& model, const Fixture& fx, const std::string& prefix, double rtol) {
  for (const auto& e : model.grads().layout().entries()) {
    BOOST_TEST_CONTEXT(prefix << e.name) {
      BOOST_TEST(max_rel_err(model.grads().data() + e.offset, fx.f64(prefix + e.name)) <= rtol);
    }
  }
}

// Float: relative error under 1e-4. Double: the two implementations differ only
// in the order they sum in.
constexpr double kFloatRtol = 1e-4, kDoubleRtol = 1e-9;

}  // namespace

BOOST_AUTO_TEST_SUITE(golden)

// Our forward, loss and every gradient equal PyTorch's for the same weights and
// batch (with left padding and an ignored target), in double and in float.
template <class T>
void check_plain_against_pytorch(double rtol) {
  Fixture fx(kFixture);
  GPT<Tiny, T> model;
  load_parameters(model, fx);
  NoThought policy;
  const T loss = policy.forward(model, fixture_batch(fx, ""), -1);
  BOOST_TEST(std::abs(double(loss) - fx.f64("loss")[0]) <= rtol * fx.f64("loss")[0]);
  check_outputs(model, fx, "", rtol);
  model.zero_grad();
  policy.backward(model);
  check_gradients(model, fx, "grad.", rtol);
}

BOOST_AUTO_TEST_CASE(plain_model_matches_pytorch_double) { check_plain_against_pytorch<double>(kDoubleRtol); }
BOOST_AUTO_TEST_CASE(plain_model_matches_pytorch_float) { check_plain_against_pytorch<float>(kFloatRtol); }

// Two AdamW steps (decay on matrices only) land on torch.optim.AdamW's parameters.
template <class T>
void check_adamw_against_pytorch(double rtol) {
  Fixture fx(kFixture);
  GPT<Tiny, T> model;
  load_parameters(model, fx);
  AdamWConfig cfg;
  cfg.beta1 = 0.9;
  cfg.beta2 = 0.95;
  cfg.eps = 1e-8;
  cfg.weight_decay = 0.1;
  AdamW<T> opt(model.params().layout(), cfg);
  const Batch batch = fixture_batch(fx, "");
  NoThought policy;
  for (int step = 0; step < 2; ++step) {
    policy.forward(model, batch, -1);
    model.zero_grad();
    policy.backward(model);
    opt.step(model.params(), model.grads(), 1e-2);
  }
  for (const auto& e : model.params().layout().entries()) {
    const T* p = model.params().data() + e.offset;
    const auto& expected = fx.f64("step2." + e.name);
    BOOST_TEST_CONTEXT("step2." << e.name) {
      if (e.name.ends_with("c_attn.bias")) {
        // The key bias [C, 2C) has a gradient of exactly 0 in exact arithmetic
        // (softmax ignores a shift shared by a row's scores), so Adam's step there,
        // m / sqrt(v), is rounding noise in both implementations: compare q and v.
        BOOST_TEST(max_rel_err(p, expected, 0, Tiny::n_embd) <= rtol);
        BOOST_TEST(max_rel_err(p, expected, 2 * Tiny::n_embd) <= rtol);
      } else {
        BOOST_TEST(max_rel_err(p, expected) <= rtol);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(adamw_matches_pytorch_double) { check_adamw_against_pytorch<double>(1e-8); }
BOOST_AUTO_TEST_CASE(adamw_matches_pytorch_float) { check_adamw_against_pytorch<float>(kFloatRtol); }

// The Coconut loop (KV cache, one pass per thought) equals PyTorch's plain
// re-computation of the whole sequence per thought, outputs and gradients alike;
// the two rows have 3 and 2 latents.
template <class T>
void check_coconut_against_pytorch(double rtol) {
  Fixture fx(kFixture);
  GPT<Tiny, T> model;
  load_parameters(model, fx);
  ContinuousThought<1> policy;
  const T loss = policy.forward(model, fixture_batch(fx, "coconut."), /*latent_id=*/29);
  BOOST_TEST(policy.plan().passes.size() == 4u);
  BOOST_TEST(std::abs(double(loss) - fx.f64("coconut.loss")[0]) <= rtol * fx.f64("coconut.loss")[0]);
  check_outputs(model, fx, "coconut.", rtol);
  model.zero_grad();
  policy.backward(model);
  check_gradients(model, fx, "coconut.grad.", rtol);
}

BOOST_AUTO_TEST_CASE(coconut_matches_pytorch_double) { check_coconut_against_pytorch<double>(kDoubleRtol); }
BOOST_AUTO_TEST_CASE(coconut_matches_pytorch_float) { check_coconut_against_pytorch<float>(kFloatRtol); }

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gradients)

// Central differences of the whole model's loss agree with backward for sampled
// entries of every parameter tensor (left padding and ignored targets included),
// with a learned position table and with rotary positions.
BOOST_AUTO_TEST_CASE_TEMPLATE(every_parameter_tensor, Config, ArchitectureConfigs) {
  GPT<Config, double> model;
  test::randomize(model, 1);
  Batch batch = test::random_batch(2, 9, Tiny::vocab_size - 1, 2);
  batch.mask[batch.at(1, 0)] = 0;  // row 1: one position of left padding
  batch.targets[batch.at(1, 0)] = -100;
  for (Index t = 1; t < batch.T; ++t) batch.positions[batch.at(1, t)] = int(t - 1);
  batch.targets[batch.at(0, 4)] = -100;
  NoThought policy;
  policy.forward(model, batch, -1);
  model.zero_grad();
  policy.backward(model);
  test::check_parameter_gradients(model, [&] { return policy.forward(model, batch, -1); }, 6, 3);
}

// The gradient with respect to an input embedding given in place of a token
// agrees with central differences.
BOOST_AUTO_TEST_CASE_TEMPLATE(input_embeddings, Config, ArchitectureConfigs) {
  GPT<Config, double> model;
  test::randomize(model, 4);
  const Batch batch = test::random_batch(2, 6, Tiny::vocab_size - 1, 5);
  Rng rng(6);
  std::vector<double> embedding(Tiny::n_embd);
  for (auto& x : embedding) x = rng.normal();
  const auto loss = [&] {
    model.set_batch(batch);
    model.set_input_embedding(1, 2, embedding.data());
    model.forward(0, batch.T);
    return model.loss();
  };
  loss();
  model.zero_grad();
  model.start_backward();
  model.backward(0, batch.T);
  const std::vector<double> analytic(model.d_input_embedding(1, 2), model.d_input_embedding(1, 2) + Tiny::n_embd);
  for (Index i = 0; i < Tiny::n_embd; ++i) {
    const double saved = embedding[i], eps = 1e-5;
    embedding[i] = saved + eps;
    const double up = loss();
    embedding[i] = saved - eps;
    const double down = loss();
    embedding[i] = saved;
    BOOST_TEST(std::abs(analytic[i] - (up - down) / (2 * eps)) <= 1e-8 + 1e-5 * std::abs(analytic[i]));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ranges)

// Computing [0, T) in several ranges against the KV cache, and backward over the
// same ranges in reverse, gives the loss and gradients of one range.
BOOST_AUTO_TEST_CASE_TEMPLATE(several_ranges_equal_one, Config, ArchitectureConfigs) {
  GPT<Config, double> model;
  test::randomize(model, 7);
  const Batch batch = test::random_batch(3, 11, Tiny::vocab_size - 1, 8);

  const double whole = test::loss_and_gradients(model, batch);
  const std::vector<double> grads(model.grads().span().begin(), model.grads().span().end());

  const std::vector<std::pair<Index, Index>> ranges = {{0, 4}, {4, 5}, {5, 6}, {6, 11}};
  model.set_batch(batch);
  for (auto [s, e] : ranges) model.forward(s, e);
  BOOST_TEST(std::abs(model.loss() - whole) <= 1e-12);
  model.zero_grad();
  model.start_backward();
  for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) model.backward(it->first, it->second);
  BOOST_TEST(max_rel_err(model.grads().data(), grads) <= 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rotary_positions)

// A rotary model sees positions only through their differences: the same tokens
// at position ids shifted by 37 give the same loss and gradients, where the
// learned table gives others. It has no position table, and refuses to
// initialise one.
BOOST_AUTO_TEST_CASE(only_distances_matter) {
  const auto loss_and_grads = [](auto& model, int shift) {
    Batch batch = test::random_batch(2, 9, Tiny::vocab_size - 1, 31);
    for (auto& p : batch.positions) p += shift;
    const double loss = test::loss_and_gradients(model, batch);
    return std::pair{loss, std::vector<double>(model.grads().span().begin(), model.grads().span().end())};
  };
  GPT<TinyRotary, double> rotary;
  test::randomize(rotary, 30);
  const auto [loss, grads] = loss_and_grads(rotary, 0);
  const auto [shifted_loss, shifted_grads] = loss_and_grads(rotary, 37 - 30);  // ids up to 8 + 7 < block_size
  BOOST_TEST(std::abs(shifted_loss - loss) <= 1e-12 * std::abs(loss));
  BOOST_TEST(max_rel_err(shifted_grads.data(), grads) <= 1e-10);

  GPT<Tiny, double> learned;
  test::randomize(learned, 30);
  BOOST_TEST(std::abs(loss_and_grads(learned, 7).first - loss_and_grads(learned, 0).first) > 1e-6);

  BOOST_TEST(!rotary.params().layout().contains("wpe"));
  BOOST_TEST(rotary.params().layout().entries().size() + 1 == learned.params().layout().entries().size());
  BOOST_CHECK_EXCEPTION(rotary.init(1, PositionInit::sinusoidal), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("'tiny-rotary' has rotary positions") != std::string::npos;
  });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(inspection)

// GPT::attention gives each head's probabilities over the keys 0..t: they sum to
// 1, padding keys get none, and they are the softmax of the query-key scores
// recomputed from the model's own parameters (block 0, rotary positions turning
// q and k). Queries outside the batch are refused.
BOOST_AUTO_TEST_CASE(attention_probabilities) {
  GPT<TinyRotary, double> model;
  test::randomize(model, 40);
  Batch batch = test::random_batch(2, 7, Tiny::vocab_size - 1, 41);
  batch.mask[batch.at(1, 0)] = batch.mask[batch.at(1, 1)] = 0;
  for (Index t = 0; t < batch.T; ++t) batch.positions[batch.at(1, t)] = int(std::max<Index>(0, t - 2));
  model.set_batch(batch);
  model.forward(0, batch.T);
  constexpr Index C = Tiny::n_embd, NH = Tiny::n_head, hs = C / NH;
  const kernels::RotaryTable<double> rotary(Tiny::block_size, hs);
  const auto& p = model.params();
  for (Index b = 0; b < 2; ++b)
    for (Index t = 2; t < batch.T; ++t) {
      // block 0's input is the token embedding; q, k = c_attn(ln_1(x)) of each head
      const auto qk = [&](Index pos, Index h, Index which) {
        const double* x = p.ptr("wte") + batch.tokens[batch.at(b, pos)] * C;
        double mean = 0, var = 0;
        for (Index c = 0; c < C; ++c) mean += x[c] / C;
        for (Index c = 0; c < C; ++c) var += (x[c] - mean) * (x[c] - mean) / C;
        std::vector<double> ln(C), out(hs);
        for (Index c = 0; c < C; ++c)
          ln[c] = (x[c] - mean) / std::sqrt(var + 1e-5) * p.ptr("h.0.ln_1.weight")[c] + p.ptr("h.0.ln_1.bias")[c];
        for (Index i = 0; i < hs; ++i) {
          const Index r = which * C + h * hs + i;
          out[i] = p.ptr("h.0.attn.c_attn.bias")[r];
          for (Index c = 0; c < C; ++c) out[i] += p.ptr("h.0.attn.c_attn.weight")[r * C + c] * ln[c];
        }
        rotary.rotate(out.data(), batch.positions[batch.at(b, pos)]);
        return out;
      };
      for (Index h = 0; h < NH; ++h) {
        const auto att = model.attention(0, b, h, t);
        BOOST_TEST(att.size() == std::size_t(t + 1));
        const auto q = qk(t, h, 0);
        std::vector<double> expected(t + 1, 0.0);
        double sum = 0;
        for (Index j = 0; j <= t; ++j) {
          if (!batch.mask[batch.at(b, j)]) continue;
          const auto k = qk(j, h, 1);
          expected[j] = std::exp(std::inner_product(q.begin(), q.end(), k.begin(), 0.0) / std::sqrt(double(hs)));
          sum += expected[j];
        }
        for (Index j = 0; j <= t; ++j)
          BOOST_TEST(att[j] == expected[j] / sum, boost::test_tools::tolerance(1e-9));
      }
    }
  BOOST_CHECK_THROW(model.attention(Tiny::n_layer, 0, 0, 0), std::out_of_range);
  BOOST_CHECK_THROW(model.attention(0, 0, 0, batch.T), std::out_of_range);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(previous_token_mixing)

// Mixing starts at zero weights, where the model is the one without mixing: the
// same loss and, for every shared parameter, the same gradient; the mixing
// weights' own gradient is not zero, so training moves them.
BOOST_AUTO_TEST_CASE(starts_as_the_model_without_mixing) {
  GPT<TinyMixed, double> mixed;
  GPT<TinyRotary, double> plain;
  mixed.init(3);
  BOOST_TEST(std::ranges::all_of(mixed.params().span("previous_tokens"), [](double w) { return w == 0.0; }));
  test::randomize(plain, 3);
  for (const auto& e : plain.params().layout().entries())
    std::ranges::copy(plain.params().span(e.name), mixed.params().span(e.name).begin());
  Batch batch = test::random_batch(2, 9, Tiny::vocab_size - 1, 33);
  batch.mask[batch.at(1, 0)] = 0;  // left padding: never mixed into row 1's first token
  BOOST_TEST(test::loss_and_gradients(mixed, batch) == test::loss_and_gradients(plain, batch));
  for (const auto& e : plain.params().layout().entries())
    BOOST_TEST(std::ranges::equal(mixed.grads().span(e.name), plain.grads().span(e.name)), e.name);
  BOOST_TEST(std::ranges::any_of(mixed.grads().span("previous_tokens"), [](double g) { return std::abs(g) > 1e-6; }));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

// with_word_config picks the config type a name stands for, and an unknown name is
// refused with the list of known ones.
BOOST_AUTO_TEST_CASE(configs_by_name) {
  for (std::string_view name : word_config_names)
    BOOST_TEST(with_word_config(name, []<class Config>() { return std::string(Config::name); }) == name);
  BOOST_TEST(with_word_config("mini-mixed", []<class Config>() { return previous_tokens<Config>(); }) == 3);
  BOOST_CHECK_EXCEPTION(with_word_config("gpt2", []<class Config>() {}), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("unknown model config 'gpt2' (word-model configs: tiny, mini,") !=
           std::string::npos;
  });
}

// Bad input is refused with a message naming what and where.
BOOST_AUTO_TEST_CASE(bad_batches_name_the_problem) {
  GPT<Tiny, float> model;
  Batch batch(1, 4);
  batch.tokens[2] = Tiny::vocab_size;
  BOOST_CHECK_EXCEPTION(model.set_batch(batch), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("token 30 at (b=0, t=2)") != std::string::npos;
  });
  Batch too_long(1, Tiny::block_size + 1);
  BOOST_CHECK_EXCEPTION(model.set_batch(too_long), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("exceeds the model's block_size 16") != std::string::npos;
  });
  model.set_batch(Batch(1, 4));
  BOOST_CHECK_THROW(model.forward(2, 6), std::out_of_range);
}

// GPT-2's initialisation: seeded, N(0, 0.02) weights, scaled residual projections.
BOOST_AUTO_TEST_CASE(initialisation_is_seeded_and_gpt2_like) {
  GPT<Small, float> a, b;
  a.init(42);
  b.init(42);
  BOOST_TEST(std::equal(a.params().span().begin(), a.params().span().end(), b.params().span().begin()));
  const auto stddev = [&](const std::string& name) {
    double s = 0;
    for (float x : a.params().span(name)) s += double(x) * x;
    return std::sqrt(s / a.params().span(name).size());
  };
  BOOST_TEST(stddev("h.0.mlp.c_fc.weight") == 0.02, boost::test_tools::tolerance(0.03));
  BOOST_TEST(stddev("h.0.mlp.c_proj.weight") == 0.02 / std::sqrt(2.0 * Small::n_layer),
             boost::test_tools::tolerance(0.03));
  BOOST_TEST(stddev("h.1.ln_2.weight") == 1.0);
  BOOST_TEST(stddev("h.1.ln_2.bias") == 0.0);
}

// Sinusoidal position embeddings: every other parameter as the normal init of the
// same seed; each row has a normal row's norm, 0.02 sqrt(C); and the dot product of
// two rows depends only on their offset, the property that lets attention find
// "k tokens back" at every position alike.
BOOST_AUTO_TEST_CASE(sinusoidal_positions) {
  using Model = GPT<Small, double>;
  Model normal, sines;
  normal.init(7);
  sines.init(7, PositionInit::sinusoidal);
  for (const auto& e : normal.params().layout().entries())
    if (e.name != "wpe")
      BOOST_TEST(std::ranges::equal(normal.params().span(e.name), sines.params().span(e.name)), e.name);
  const auto wpe = sines.params().span("wpe");
  const Index C = Small::n_embd;
  const auto dot = [&](Index p, Index q) {
    double s = 0;
    for (Index i = 0; i < C; ++i) s += wpe[std::size_t(p * C + i)] * wpe[std::size_t(q * C + i)];
    return s;
  };
  for (Index p : {0, 1, 57, Small::block_size - 1})
    BOOST_TEST(std::sqrt(dot(p, p)) == 0.02 * std::sqrt(double(C)), boost::test_tools::tolerance(1e-12));
  for (Index k : {1, 3, 40})
    for (Index p : {5, 100, 200})
      BOOST_TEST(dot(p, p + k) == dot(0, k), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(wpe[0] == 0.0);  // sin 0
  BOOST_TEST(wpe[1] == 0.02 * std::sqrt(2.0), boost::test_tools::tolerance(1e-12));  // cos 0
}

BOOST_AUTO_TEST_SUITE_END()
