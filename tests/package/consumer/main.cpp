// The README's first program: define a model, train a few steps, print the loss.
#include <coconut/coconut.hpp>
#include <cstdio>

int main() {
  coconut::GPT<coconut::Tiny> model;                      // shapes fixed at compile time
  model.init(/*seed=*/0);
  coconut::AdamW<float> opt(model.params().layout(), {});
  coconut::Batch batch(/*B=*/1, /*T=*/8);                 // count 1, 2, 3, ...: predict the next number
  for (int t = 0; t < 8; ++t) batch.tokens[t] = t + 1, batch.targets[t] = t + 2;
  coconut::NoThought policy;                               // or ContinuousThought<1>, PauseTokens<1>
  float first = 0, loss = 0;
  for (int step = 0; step < 50; ++step) {
    loss = policy.forward(model, batch, /*latent_id=*/-1);
    if (step == 0) first = loss;
    model.zero_grad();
    policy.backward(model);
    opt.step(model.params(), model.grads(), /*lr=*/1e-2);
  }
  std::printf("loss %.3f -> %.3f\n", first, loss);
  return loss < first ? 0 : 1;
}
