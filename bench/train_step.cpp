// One plain training step (forward, cross-entropy, backward, AdamW) against the
// same step in PyTorch. Built twice: train_tiny (the tiny config, T=128,
// B=8) and train_gpt2_124m (GPT-2 124M, T=64, B=4); BENCH_CONFIG picks.
//
//     bench_train_tiny [--steps 20] [--warmup 3] [--threads 2] [--B 8] [--T 128]
#include "common.hpp"

using namespace coconut;

int main(int argc, char** argv) {
  using Config = BENCH_CONFIG;
  const bench::Options o(argc, argv);
  const Index B = o.get("B", BENCH_B), T = o.get("T", BENCH_T);

  GPT<Config> model;
  model.init(0);
  Rng rng(1);
  Batch batch(B, T);
  for (Index b = 0; b < B; ++b) {  // random tokens, targets the next ones
    std::vector<int> row(T + 1);
    for (int& x : row) x = int(rng.below(Config::vocab_size));
    for (Index t = 0; t < T; ++t) {
      batch.tokens[batch.at(b, t)] = row[t];
      batch.targets[batch.at(b, t)] = row[t + 1];
    }
  }
  AdamW<float> opt(model.params().layout(), AdamWConfig{});
  NoThought policy;
  float first_loss = 0;
  bool first = true;
  auto step = [&] {
    const float loss = policy.forward(model, batch, -1);
    if (first) first_loss = loss, first = false;
    model.zero_grad();
    policy.backward(model);
    opt.step(model.params(), model.grads(), 1e-4);
  };

  // The reference gets the same batch, and the same parameters when they are small.
  const std::string batch_file = bench::temp_path("batch"), params_file = bench::temp_path("params");
  bench::write_batch(batch_file, batch, -1);
  std::string args = std::string("train --config ") + std::string(Config::name) + " --batch " + batch_file;
  if (model.params().size() < 50'000'000) {
    bench::write_params(params_file, model.params());
    args += " --params " + params_file;
  }

  const auto times = bench::time_steps(step, o.steps, o.warmup);
  const bench::Report r = bench::training_report(BENCH_NAME, times, first_loss, o);
  std::printf("%s: config %s, B=%ld, T=%ld, %ld parameters\n", BENCH_NAME, std::string(Config::name).c_str(), long(B),
              long(T), long(model.params().size()));
  const auto theirs = bench::run_references(o, args);
  std::remove(batch_file.c_str());
  std::remove(params_file.c_str());
  bench::print_report(r, theirs);
}
