// Batches grouped by length (TrainConfig::group_by_length) against shuffled
// batches: the same ProsQA CoT training samples, the same model (`Mini`, seed 0),
// `--steps` optimizer steps each (at most one epoch), back to back in this process. Prints the padded
// tokens and the time of each and their ratios; the grouped epoch computes the
// same samples with less padding.
//
//     bench_group_by_length [--steps 40] [--threads 1] [--samples 2048]
#include <coconut/coconut.hpp>

#include "common.hpp"

using namespace coconut;

int main(int argc, char** argv) {
  bench::Options o(argc, argv);
  const int steps = o.get("steps", 40);
  const auto samples = prosqa::generate(std::size_t(o.get("samples", 2048)), 1);
  const WordTokenizer words = WordTokenizer::build(samples);
  const auto train = tokenize(samples, words, "generated ProsQA");

  struct Run {
    double ms = 0;
    long padded = 0, steps = 0;
  };
  const auto run = [&](bool grouped) {
    TrainConfig cfg;
    cfg.method = method_named("cot");
    cfg.batch_size = 32;
    cfg.lr = 1e-3;
    cfg.print_every = 1L << 40;
    cfg.group_by_length = grouped;
    const long b = long(cfg.batch_size), n = std::min<long>(steps, (long(train.size()) + b - 1) / b);  // epoch 0 only
    cfg.max_steps = n;
    GPT<Mini> model;
    model.init(0);
    Trainer<GPT<Mini>, NoThought> trainer(model, cfg, word_special_tokens(), words.id("#"));
    const auto seqs = trainer.epoch_sequences(train, 0);
    Run r;
    for (long s = 0; s < n; ++s) {  // the padded batches of epoch 0 that fit() computes
      const long first = s * b, last = std::min<long>(long(seqs.size()), first + b);
      std::size_t longest = 0;
      for (long i = first; i < last; ++i) longest = std::max(longest, seqs[std::size_t(i)].tokens.size());
      r.padded += long(longest) * (last - first);
    }
    const double t0 = bench::now_ms();
    trainer.fit(train, {});
    r.ms = bench::now_ms() - t0;
    r.steps = n;
    return r;
  };
  const Run shuffled = run(false), grouped = run(true);
  std::printf("shuffled batches: %ld padded tokens, %.0f ms for %ld steps\n", shuffled.padded, shuffled.ms,
              shuffled.steps);
  std::printf("grouped batches:  %ld padded tokens, %.0f ms for %ld steps\n", grouped.padded, grouped.ms, grouped.steps);
  std::printf("grouped / shuffled: tokens %.3f, time %.3f\n", double(grouped.padded) / double(shuffled.padded),
              grouped.ms / shuffled.ms);
}
