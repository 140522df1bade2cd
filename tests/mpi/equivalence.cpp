// Run under `mpirun -np K`: K ranks with batch b train to the same parameters as
// one process with batch K*b (up to the order of floating-point sums), through
// the continuous-thought loop and stage mixing. Rank 0 trains the one-process
// model itself and compares. Prints a closing line "N passed, M failed".
#include <coconut/coconut.hpp>
#include <coconut/distributed/mpi.hpp>

#include <cmath>
#include <cstdio>

using namespace coconut;

struct Model {
  static constexpr std::string_view name = "mpi-test";
  static constexpr int n_layer = 2, n_head = 2, n_embd = 32;
  static constexpr int vocab_size = ChainVocabulary::size, padded_vocab_size = 32, block_size = 32;
};

TrainConfig config(Index batch) {
  TrainConfig cfg;
  cfg.method = method_named("coconut");
  cfg.curriculum = {.c_thought = 1, .max_latent_stage = 2, .epochs_per_stage = 1, .uniform_prob = 0.3};
  cfg.epochs = 3;
  cfg.batch_size = batch;
  cfg.lr = 3e-3;
  cfg.grad_clip = 1.0;
  cfg.print_every = 1000000;
  return cfg;
}

int main(int argc, char** argv) {
  MpiWorld world(&argc, &argv);
  const Index b = 4;
  const auto train = make_chains(50, 2, 1);  // 50 rows: the last global batch is partial

  GPT<Model> parallel;
  parallel.init(world.rank() == 0 ? 7 : 99);  // other ranks start elsewhere: the broadcast must fix that
  Trainer<GPT<Model>, ContinuousThought<1>> a(parallel, config(b), ChainVocabulary::special());
  a.set_collective(&world);
  a.fit(train, {});

  // Every rank must end with the same parameters.
  std::vector<float> root(parallel.params().data(), parallel.params().data() + parallel.params().size());
  world.broadcast(root.data(), Index(root.size()));
  double spread = 0;
  for (std::size_t i = 0; i < root.size(); ++i) spread = std::max(spread, double(std::abs(root[i] - parallel.params().data()[i])));
  spread = world.sum(spread);

  int passed = 0, failed = 0;
  if (world.rank() == 0) {
    GPT<Model> single;
    single.init(7);
    Trainer<GPT<Model>, ContinuousThought<1>> s(single, config(b * world.size()), ChainVocabulary::special());
    s.fit(train, {});
    double diff = 0, scale = 0;
    for (Index i = 0; i < single.params().size(); ++i) {
      diff = std::max(diff, double(std::abs(single.params().data()[i] - parallel.params().data()[i])));
      scale = std::max(scale, double(std::abs(single.params().data()[i])));
    }
    const bool same_steps = a.global_step() == s.global_step();
    // Float sums in another order differ in the last bits; over 21 AdamW steps,
    // which divide each gradient by its running RMS, that grows to about 1e-5 of
    // the parameters' scale. A wrong slice, scale or sum is off by far more.
    const bool close = diff / scale < 1e-4;
    std::printf("%d ranks x batch %ld vs 1 process x batch %ld: %ld vs %ld steps, max relative difference %.3g\n",
                world.size(), long(b), long(b * world.size()), a.global_step(), s.global_step(), diff / scale);
    std::printf("ranks agree: largest difference from rank 0 %.3g\n", spread);
    (same_steps ? passed : failed)++;
    (close ? passed : failed)++;
    (spread == 0 ? passed : failed)++;
    std::printf("%d passed, %d failed\n", passed, failed);
  }
  failed = int(world.sum(double(failed)));
  return failed ? 1 : 0;
}
