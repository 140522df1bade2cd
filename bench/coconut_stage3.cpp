// A Coconut training step at stage 3 (c = 1: three continuous thoughts) on
// ProsQA-shaped sequences of about 350 tokens, Small config: our n + 1 passes
// over the KV cache and their backward, against the reference algorithm in
// PyTorch (the same passes with past_key_values, eager autograd).
//
//     bench_coconut_stage3 [--steps 20] [--warmup 3] [--threads 2] [--B 8]
#include "common.hpp"

using namespace coconut;

int main(int argc, char** argv) {
  const bench::Options o(argc, argv);
  const Index B = o.get("B", 8);
  const Batch batch = bench::prosqa_batch(B, 3, 7);

  GPT<Small> model;
  model.init(0);
  AdamW<float> opt(model.params().layout(), AdamWConfig{});
  ContinuousThought<1> policy;
  float first_loss = 0;
  bool first = true;
  auto step = [&] {
    const float loss = policy.forward(model, batch, bench::kLatent);
    if (first) first_loss = loss, first = false;
    model.zero_grad();
    policy.backward(model);
    opt.step(model.params(), model.grads(), 1e-4);
  };

  const std::string batch_file = bench::temp_path("batch"), params_file = bench::temp_path("params");
  bench::write_batch(batch_file, batch, bench::kLatent);
  bench::write_params(params_file, model.params());

  const auto times = bench::time_steps(step, o.steps, o.warmup);
  const bench::Report r = bench::training_report("coconut_stage3", times, first_loss, o);
  std::printf("coconut_stage3: config small, B=%ld, T=%ld, 3 thoughts (%zu passes)\n", long(B), long(batch.T),
              policy.plan().passes.size());
  const auto theirs =
      bench::run_references(o, "coconut --config small --batch " + batch_file + " --params " + params_file);
  std::remove(batch_file.c_str());
  std::remove(params_file.c_str());
  bench::print_report(r, theirs);
}
