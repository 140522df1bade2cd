// Batches grouped by length (TrainConfig::group_by_length) against shuffled
// batches: the same ProsQA CoT training samples, the same model (`Mini`, seed 0),
// `--steps` optimizer steps each, back to back in this process. Prints the padded
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
    long padded = 0;
  };
  const auto run = [&](bool grouped) {
    TrainConfig cfg;
    cfg.method = method_named("cot");
    cfg.batch_size = 32;
    cfg.lr = 1e-3;
    cfg.max_steps = steps;
    cfg.print_every = 1L << 40;
    cfg.group_by_length = grouped;
    GPT<Mini> model;
    model.init(0);
    Trainer<GPT<Mini>, NoThought> trainer(model, cfg, word_special_tokens(), words.id("#"));
    Run r;
    const auto seqs = trainer.epoch_sequences(train, 0);
    for (long s = 0; s < steps; ++s) {  // the padded batches fit() will compute
      std::size_t longest = 0;
      for (long i = s * 32; i < std::min<long>(long(seqs.size()), (s + 1) * 32); ++i)
        longest = std::max(longest, seqs[std::size_t(i)].tokens.size());
      r.padded += long(longest) * std::min<long>(32, long(seqs.size()) - s * 32);
    }
    const double t0 = bench::now_ms();
    trainer.fit(train, {});
    r.ms = bench::now_ms() - t0;
    return r;
  };
  const Run shuffled = run(false), grouped = run(true);
  std::printf("shuffled batches: %ld padded tokens, %.0f ms for %d steps\n", shuffled.padded, shuffled.ms, steps);
  std::printf("grouped batches:  %ld padded tokens, %.0f ms for %d steps\n", grouped.padded, grouped.ms, steps);
  std::printf("grouped / shuffled: tokens %.3f, time %.3f\n", double(grouped.padded) / double(shuffled.padded),
              grouped.ms / shuffled.ms);
}
