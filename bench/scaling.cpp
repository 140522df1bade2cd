// Data-parallel scaling: training throughput with K ranks, and the share of a step
// spent summing gradients across ranks.
//
//   mpirun -np 1 bench_scaling --threads 2     # one rank, two threads
//   mpirun -np 2 bench_scaling --threads 1     # two ranks, one thread each
//
// Each rank trains the Mini model (2 layers, C=128) on its own batch of 8
// sequences of 256 tokens; the global batch is 8*K. Prints sequences/s and the
// all-reduce share of a step (median over the timed steps).
#include <coconut/coconut.hpp>
#include <coconut/distributed/mpi.hpp>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace coconut;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  MpiWorld world(&argc, &argv);
  int threads = 1, steps = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
  }
  omp_set_num_threads(threads);

  GPT<Mini> model;
  model.init(0);
  world.broadcast(model.params().data(), model.params().size());
  AdamW<float> opt(model.params().layout(), {});
  NoThought policy;
  const Batch batch = [&] {
    Rng rng(1 + world.rank());
    Batch b(8, 256);
    for (auto& t : b.tokens) t = int(rng.below(Mini::vocab_size));
    for (Index i = 0; i + 1 < Index(b.tokens.size()); ++i) b.targets[i] = b.tokens[i + 1];
    return b;
  }();

  std::vector<double> step_times, comm_times;
  for (int s = 0; s < steps + 3; ++s) {
    world.barrier();
    const auto t0 = clock_type::now();
    policy.forward(model, batch, -1);
    model.zero_grad();
    policy.backward(model);
    const auto t1 = clock_type::now();
    if (world.size() > 1) world.sum_in_place(model.grads().data(), model.grads().size());
    const double comm = seconds_since(t1);
    opt.step(model.params(), model.grads(), 1e-4);
    if (s >= 3) {  // after warm-up
      step_times.push_back(seconds_since(t0));
      comm_times.push_back(comm);
    }
  }
  if (world.is_root()) {
    const double step = median(step_times), comm = median(comm_times);
    std::printf("ranks %d x threads %d: %.3f s/step, %.1f sequences/s (global batch %d), all-reduce %.1f ms = %.1f%% of a step\n",
                world.size(), threads, step, 8.0 * world.size() / step, 8 * world.size(), 1e3 * comm,
                100 * comm / step);
  }
  return 0;
}
