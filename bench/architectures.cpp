// What rotary positions and previous-token mixing cost: one CoT training step
// (forward, backward, AdamW) of `Mini`, `MiniRotary` and `MiniMixed` on the same
// ProsQA batch, timed back to back in this process; prints each median and its
// ratio to `Mini`'s. Not against PyTorch: the three are this library's own.
//
//     bench_architectures [--steps 20] [--warmup 3] [--threads 1]
#include <coconut/coconut.hpp>

#include "common.hpp"

using namespace coconut;

int main(int argc, char** argv) {
  bench::Options o(argc, argv);
  const int steps = o.steps;
  const auto samples = prosqa::generate(32, 1);
  const WordTokenizer words = WordTokenizer::build(samples);
  const auto tokenized = tokenize(samples, words, "generated ProsQA");
  std::vector<Sequence> seqs;
  for (const auto& s : tokenized) seqs.push_back(build_sequence(s, method_named("cot"), {}, 0, word_special_tokens()));
  std::vector<const Sequence*> rows;
  for (const auto& s : seqs) rows.push_back(&s);
  const Batch batch = collate(rows, word_special_tokens());

  const auto time = [&]<class Config>() {
    GPT<Config> model;
    model.init(0);
    AdamW<float> opt(model.params().layout(), AdamWConfig{});
    NoThought policy;
    const auto times = bench::time_steps([&] {
      policy.forward(model, batch, -1);
      model.zero_grad();
      policy.backward(model);
      opt.step(model.params(), model.grads(), 1e-3f);
    }, steps, o.warmup);
    return bench::median(times);
  };
  const double mini = time.operator()<Mini>(), rotary = time.operator()<MiniRotary>(),
               mixed = time.operator()<MiniMixed>();
  std::printf("architectures: CoT training step, B=%ld, T=%ld, median of %d steps\n", long(batch.B), long(batch.T),
              steps);
  std::printf("mini         %8.1f ms\n", mini);
  std::printf("mini-rotary  %8.1f ms  ratio %.3f\n", rotary, rotary / mini);
  std::printf("mini-mixed   %8.1f ms  ratio %.3f\n", mixed, mixed / mini);
}
