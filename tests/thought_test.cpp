// ContinuousThought<N> and the other policies: exact gradients through every
// thought, the plain model as the zero-latent case, and batched KV-cache
// generation that decodes exactly what one-prompt-at-a-time recomputation does;
// decoded thoughts are the distributions the LM head gives the fed-back states.
#define BOOST_TEST_MODULE thought
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include "coconut/coconut.hpp"
#include "support/model.hpp"

using namespace coconut;

namespace {

// GPT-2, rotary positions, and rotary positions with previous-token mixing.
using ArchitectureConfigs = boost::mpl::list<Tiny, TinyRotary, TinyMixed>;

constexpr int kLatent = Tiny::vocab_size - 1;  // 29
constexpr int kBot = 27, kEot = 28, kEos = 0;

// Two rows, left-padded so that their first latents align at position r; row 0
// has `n0` latents, row 1 has `n1`. Loss on everything after <eot>.
Batch latent_batch(Index n0, Index n1, std::uint64_t seed) {
  const Index question = 3, answer = 3, r = question + 1;
  const Index T = r + std::max(n0, n1) + 1 + answer;
  Batch batch = test::random_batch(2, T, 26, seed);
  const Index n[2] = {n0, n1};
  for (Index b = 0; b < 2; ++b) {
    const Index pad = std::max(n0, n1) - n[b];  // fewer latents: shift right, pad left
    for (Index t = 0; t < T; ++t) {
      const Index i = batch.at(b, t);
      batch.mask[i] = t >= pad;
      batch.positions[i] = t >= pad ? int(t - pad) : 0;
      if (t < pad) batch.tokens[i] = kEos;
    }
    // question after the padding, <bot> at r - 1, latents from r, then <eot>
    for (Index t = pad; t < r - 1; ++t) batch.tokens[batch.at(b, t)] = 1 + int(t % 7);
    batch.tokens[batch.at(b, r - 1)] = kBot;
    for (Index i = 0; i < n[b]; ++i) batch.tokens[batch.at(b, r + i)] = kLatent;
    batch.tokens[batch.at(b, r + n[b])] = kEot;
    for (Index t = 0; t < T; ++t) {
      const bool after_eot = t >= r + n[b] && t + 1 < T;
      batch.targets[batch.at(b, t)] = after_eot ? batch.tokens[batch.at(b, t + 1)] : -100;
    }
  }
  return batch;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(continuous_thought)

// Central differences of the full Coconut loss agree with backward for sampled
// entries of every parameter tensor, with 2 and 3 thoughts and rows with
// different latent counts: the gradient flows through the fed-back thoughts and
// through the KV cache; for GPT-2, rotary positions, and previous-token mixing
// (which carries each fed-back thought into the next positions' inputs too).
BOOST_AUTO_TEST_CASE_TEMPLATE(gradient_through_every_thought, Config, ArchitectureConfigs) {
  for (auto [n0, n1] : {std::pair<Index, Index>{2, 1}, {3, 2}}) {
    BOOST_TEST_CONTEXT("latents per row: " << n0 << ", " << n1) {
      GPT<Config, double> model;
      test::randomize(model, 11);
      const Batch batch = latent_batch(n0, n1, 12);
      ContinuousThought<1> policy;
      policy.forward(model, batch, kLatent);
      BOOST_TEST(Index(policy.plan().passes.size()) == n0 + 1);
      model.zero_grad();
      policy.backward(model);
      test::check_parameter_gradients(model, [&] { return policy.forward(model, batch, kLatent); }, 5, 13);
    }
  }
}

// The thoughts matter: feeding hidden states back changes the loss relative to
// the same layout with <latent> as an ordinary token.
BOOST_AUTO_TEST_CASE(thoughts_change_the_loss) {
  GPT<Tiny, double> model;
  test::randomize(model, 14);
  const Batch batch = latent_batch(3, 2, 15);
  ContinuousThought<1> coconut;
  PauseTokens<1> pause;
  BOOST_TEST(std::abs(coconut.forward(model, batch, kLatent) - pause.forward(model, batch, kLatent)) > 1e-6);
}

// With zero latents the loop is one pass: the plain model, bit for bit.
BOOST_AUTO_TEST_CASE(zero_latents_is_the_plain_model) {
  GPT<Tiny, float> model;
  test::randomize(model, 16);
  const Batch batch = test::random_batch(3, 10, 26, 17);
  NoThought plain;
  const float expected = plain.forward(model, batch, kLatent);
  model.zero_grad();
  plain.backward(model);
  const std::vector<float> grads(model.grads().span().begin(), model.grads().span().end());
  ContinuousThought<2> coconut;
  BOOST_TEST(coconut.forward(model, batch, kLatent) == expected);
  model.zero_grad();
  coconut.backward(model);
  BOOST_TEST(std::equal(grads.begin(), grads.end(), model.grads().span().begin()));
}

// Latents that do not start at the same position in every row are refused.
BOOST_AUTO_TEST_CASE(misaligned_latents_are_an_error) {
  Batch batch = latent_batch(2, 2, 18);
  std::swap(batch.tokens[batch.at(1, 5)], batch.tokens[batch.at(1, 6)]);  // row 1: latents at 4 and 6
  BOOST_CHECK_EXCEPTION(LatentPlan(batch, kLatent), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("row 1") != std::string::npos;
  });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(generation)

// The reference's decoding: one prompt at a time, the whole sequence (latent loop
// included) recomputed for every new token.
template <class Policy, class Model>
std::vector<int> generate_uncached(Model& model, std::vector<int> seq, Index max_new) {
  std::vector<int> out;
  Policy policy;
  for (Index j = 0; j < max_new; ++j) {
    Batch batch(1, Index(seq.size()));
    batch.tokens = seq;
    policy.forward(model, batch, kLatent);
    const int next = detail::argmax(model.logits(0, batch.T - 1), Model::V);
    out.push_back(next);
    if (next == kEos) break;
    seq.push_back(next);
  }
  return out;
}

template <class Policy, class Config>
void check_batched_equals_unbatched(int latents) {
  GPT<Config, double> model;
  test::randomize(model, 19);
  std::vector<std::vector<int>> prompts;
  Rng rng(20);
  for (int p = 0; p < 4; ++p) {
    std::vector<int> prompt;
    for (int i = 0; i < 2 + p; ++i) prompt.push_back(1 + int(rng.below(25)));  // questions of different lengths
    prompt.push_back(kBot);
    for (int i = 0; i < latents; ++i) prompt.push_back(kLatent);
    prompt.push_back(kEot);
    prompts.push_back(prompt);
  }
  const Index max_new = 6;
  const Generation batched = generate<Policy>(model, prompts, kLatent, kEos, max_new);
  Index total = 0;
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    const auto expected = generate_uncached<Policy>(model, prompts[p], max_new);
    BOOST_TEST(batched.tokens[p] == expected, boost::test_tools::per_element());
    total += Index(expected.size());
  }
  BOOST_TEST(batched.generated_tokens == total);
}

// Batched generation with a KV cache produces exactly the tokens of unbatched,
// uncached generation: with continuous thoughts, and with plain tokens; for each
// architecture (left padding must not leak into a row's first positions through
// previous-token mixing, nor a cached position's rotation differ from a recomputed one).
BOOST_AUTO_TEST_CASE_TEMPLATE(batched_cached_equals_unbatched_uncached_coconut, Config, ArchitectureConfigs) {
  check_batched_equals_unbatched<ContinuousThought<1>, Config>(3);
}
BOOST_AUTO_TEST_CASE_TEMPLATE(batched_cached_equals_unbatched_uncached_plain, Config, ArchitectureConfigs) {
  check_batched_equals_unbatched<NoThought, Config>(0);
}

// A decoded thought is a distribution: top-k probabilities, descending, from the
// LM head applied to the hidden state fed into the latent.
BOOST_AUTO_TEST_CASE(decoded_thoughts_are_top_k_of_the_fed_back_state) {
  GPT<Tiny, double> model;
  test::randomize(model, 21);
  const Batch batch = latent_batch(3, 3, 22);
  ContinuousThought<1> policy;
  policy.forward(model, batch, kLatent);
  const auto top = decode_thought(model, 0, 5, 4);  // the thought fed into latent #1 (position 5)
  BOOST_TEST(top.size() == 4u);
  for (std::size_t i = 1; i < top.size(); ++i) BOOST_TEST(top[i - 1].probability >= top[i].probability);
  // The top token's probability is the softmax of the LM head at the previous position.
  const double* logits = model.logits(0, 4);
  double sum = 0;
  for (Index v = 0; v < Tiny::vocab_size; ++v) sum += std::exp(logits[v] - logits[top[0].token]);
  BOOST_TEST(top[0].probability == 1.0 / sum, boost::test_tools::tolerance(1e-12));
}

// thought_distributions (latent loop with the KV cache) gives, for every latent,
// the softmax of the logits before it in the sequence as a plain whole-sequence
// forward computes them once each latent holds its thought: a probability
// distribution (sums to 1).
BOOST_AUTO_TEST_CASE(thought_distributions_match_a_whole_sequence_forward) {
  GPT<Tiny, double> model;
  test::randomize(model, 23);
  const std::vector<int> prompt = {5, 9, 2, kBot, kLatent, kLatent, kLatent, kEot};
  const std::vector<Index> latents = {4, 5, 6};
  const auto thoughts = thought_distributions(model, prompt, kLatent);
  BOOST_REQUIRE(thoughts.size() == latents.size());

  // Thought j depends only on the thoughts before it: after n + 1 whole passes,
  // each feeding back what the previous one computed, all are settled.
  Batch batch(1, Index(prompt.size()));
  batch.tokens = prompt;
  model.set_batch(batch);
  for (std::size_t pass = 0; pass <= latents.size(); ++pass) {
    model.forward(0, batch.T);
    for (Index p : latents) model.set_input_embedding(0, p, model.hidden(0, p - 1));
  }
  for (std::size_t j = 0; j < latents.size(); ++j) {
    BOOST_TEST_CONTEXT("latent " << j) {
      BOOST_REQUIRE(Index(thoughts[j].size()) == Tiny::vocab_size);
      const double* logits = model.logits(0, latents[j] - 1);
      double norm = 0, sum = 0;
      for (Index v = 0; v < Tiny::vocab_size; ++v) norm += std::exp(logits[v]);
      for (Index v = 0; v < Tiny::vocab_size; ++v) {
        BOOST_TEST(thoughts[j][v] == std::exp(logits[v]) / norm, boost::test_tools::tolerance(1e-10));
        sum += thoughts[j][v];
      }
      BOOST_TEST(sum == 1.0, boost::test_tools::tolerance(1e-12));
    }
  }
  BOOST_TEST((thoughts[0] != thoughts[1]));  // each latent has a thought of its own
  BOOST_TEST(thought_distributions(model, {5, 9, 2, kBot, kEot}, kLatent).empty());
}

BOOST_AUTO_TEST_SUITE_END()
