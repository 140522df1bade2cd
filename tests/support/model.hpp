// Shared by the model and thought tests: loud random parameters, batches, and a
// central-difference gradient check over sampled entries of every parameter.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <string>

#include "coconut/coconut.hpp"

namespace coconut::test {

// Parameters far from GPT-2's gentle initialisation, so that a wrong gradient
// term cannot hide behind a small value: weights N(0, 0.2), biases N(0, 0.1),
// LayerNorm weights 1 + N(0, 0.1). Padding rows of wte stay 0.
template <class Model>
void randomize(Model& model, std::uint64_t seed) {
  Rng rng(seed);
  for (const auto& e : model.params().layout().entries()) {
    auto* p = model.params().data() + e.offset;
    const bool is_ln = e.name.find("ln_") != std::string::npos;
    const bool is_bias = e.name.ends_with(".bias");
    const Index n = e.name == "wte" ? Model::V * Model::C : e.size;
    for (Index i = 0; i < n; ++i)
      p[i] = is_ln && !is_bias ? 1 + 0.1 * rng.normal() : (is_bias ? 0.1 : 0.2) * rng.normal();
  }
}

// A batch of random tokens in [0, max_token] whose targets are the next tokens.
inline Batch random_batch(Index B, Index T, int max_token, std::uint64_t seed) {
  Rng rng(seed);
  Batch batch(B, T);
  for (auto& t : batch.tokens) t = int(rng.below(max_token + 1));
  for (Index b = 0; b < B; ++b)
    for (Index t = 0; t + 1 < T; ++t) batch.targets[batch.at(b, t)] = batch.tokens[batch.at(b, t + 1)];
  return batch;
}

// Checks d(loss)/d(param) of `model.grads()` against central differences of
// `loss()` for `samples` random entries of every parameter tensor (double).
template <class Model>
void check_parameter_gradients(Model& model, const std::function<double()>& loss, int samples, std::uint64_t seed,
                               double eps = 1e-5, double rtol = 1e-5, double atol = 1e-8) {
  Rng rng(seed);
  for (const auto& e : model.params().layout().entries()) {
    const Index n = e.name == "wte" ? Model::V * Model::C : e.size;  // padding rows have no gradient
    for (int k = 0; k < samples; ++k) {
      const Index i = Index(rng.below(n));
      double& p = model.params().data()[e.offset + i];
      const double analytic = model.grads().data()[e.offset + i];
      const double saved = p;
      p = saved + eps;
      const double up = loss();
      p = saved - eps;
      const double down = loss();
      p = saved;
      const double numeric = (up - down) / (2 * eps);
      BOOST_TEST_CONTEXT(e.name << "[" << i << "]: analytic " << analytic << ", numeric " << numeric) {
        BOOST_TEST(std::abs(analytic - numeric) <= atol + rtol * std::abs(numeric));
      }
    }
  }
}

// One forward and backward over all of `batch` in one range: the mean loss, with
// the model's gradients (zeroed first) left in model.grads().
template <class Model>
double loss_and_gradients(Model& model, const Batch& batch) {
  model.set_batch(batch);
  model.forward(0, batch.T);
  const double loss = model.loss();
  model.zero_grad();
  model.start_backward();
  model.backward(0, batch.T);
  return loss;
}

}  // namespace coconut::test
