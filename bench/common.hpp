// What every benchmark program shares: the configs, timing, peak memory, the
// files that hand our batch and parameters to the PyTorch reference, and running
// that reference (bench/reference.py) back to back with our own run.
//
// A program times its workload, then runs the reference on the same data at 2
// threads and at 1 (PyTorch's best of the two counts), and prints
//
//     ours     median 21.4 ms ...
//     pytorch  threads=2 median 101.2 ms ...
//     row <name> <ours> <theirs> <unit> <ratio> <our RSS MB> <their RSS MB> <torch threads>
//     speedup <name>: <ratio>
//
// `row` is what bench/run.sh collects into the table. The ratio is theirs over
// ours: time for time (ms), or ours over theirs for a rate (tokens/s).
#pragma once

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/model/gpt.hpp"
#include "coconut/tensor/random.hpp"
#include "coconut/thought/generate.hpp"
#include "coconut/thought/policies.hpp"
#include "coconut/train/optimizer.hpp"

#ifndef COCONUT_BENCH_DIR
#define COCONUT_BENCH_DIR "bench"
#endif

#ifdef COCONUT_USE_CBLAS
extern "C" void openblas_set_num_threads(int);
#endif

namespace coconut::bench {

// The variant built with the optional CBLAS path reports its rows under this suffix.
#ifdef COCONUT_USE_CBLAS
inline const std::string kVariant = "+cblas";
#else
inline const std::string kVariant = "";
#endif

// The tiny training config: 4 layers, 4 heads, C=256, vocabulary 512.
struct TinyBench {
  static constexpr std::string_view name = "tiny";
  static constexpr int n_layer = 4;
  static constexpr int n_head = 4;
  static constexpr int n_embd = 256;
  static constexpr int vocab_size = 512;
  static constexpr int padded_vocab_size = 512;
  static constexpr int block_size = 128;
};

// Command-line settings shared by the programs: --steps N --warmup N --threads N
// --torch-threads "2 1" --no-reference.
struct Options {
  int steps = 20, warmup = 3, threads = 2;
  std::vector<int> torch_threads{2, 1};
  bool reference = true;
  std::map<std::string, std::string> extra;  // --key value pairs a program reads itself

  Options(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument("option " + a + " needs a value");
        return argv[++i];
      };
      if (a == "--steps") steps = std::stoi(value());
      else if (a == "--warmup") warmup = std::stoi(value());
      else if (a == "--threads") threads = std::stoi(value());
      else if (a == "--no-reference") reference = false;
      else if (a == "--torch-threads") {
        torch_threads.clear();
        std::istringstream s(value());
        for (int t; s >> t;) torch_threads.push_back(t);
      } else if (a.rfind("--", 0) == 0) extra[a.substr(2)] = value();
      else throw std::invalid_argument("unknown argument " + a);
    }
    omp_set_num_threads(threads);
#ifdef COCONUT_USE_CBLAS
    openblas_set_num_threads(1);  // our blocks are the threads (kernels/matmul.hpp)
#endif
  }
  int get(const std::string& key, int fallback) const {
    auto it = extra.find(key);
    return it == extra.end() ? fallback : std::stoi(it->second);
  }
};

inline double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Times `step` `steps` times after `warmup` calls; returns the times in ms.
inline std::vector<double> time_steps(const std::function<void()>& step, int steps, int warmup) {
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> times;
  for (int i = 0; i < steps; ++i) {
    const double t0 = now_ms();
    step();
    times.push_back(now_ms() - t0);
  }
  return times;
}

// Peak resident set size of this process so far, MB.
inline double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

// ---- ProsQA-shaped data ----------------------------------------------------------------

// Special tokens of the Small vocabulary (128) in the Coconut benchmarks.
inline constexpr int kEos = 0, kBot = 125, kEot = 126, kLatent = 127;

// A question of ProsQA's length (the graph's statements, about 240-330 word
// tokens), as random word tokens in [1, 125).
inline std::vector<int> prosqa_question(Rng& rng) {
  std::vector<int> q(240 + rng.below(91));
  for (int& x : q) x = 1 + int(rng.below(124));
  return q;
}

// A stage-k Coconut batch (c = 1): `Q <bot> <latent> x k <eot> steps[k:] ### answer EOS`,
// left-padded so that the latents align, right-padded to the longest row; loss on
// everything after <eot>. With 3-6 steps of 6-8 tokens, about 350 tokens a row.
inline Batch prosqa_batch(Index B, int k, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<int>> questions, tails;
  Index qmax = 0;
  for (Index b = 0; b < B; ++b) {
    questions.push_back(prosqa_question(rng));
    qmax = std::max<Index>(qmax, Index(questions.back().size()));
    const int steps = 3 + int(rng.below(4));
    std::vector<int> tail;
    for (int s = k; s < steps; ++s)
      for (int w = 6 + int(rng.below(3)); w-- > 0;) tail.push_back(1 + int(rng.below(124)));
    for (int w = 0; w < 6; ++w) tail.push_back(1 + int(rng.below(124)));  // "### Tom is a wumpus ."
    tail.push_back(kEos);
    tails.push_back(tail);
  }
  Index T = 0;
  for (Index b = 0; b < B; ++b) T = std::max<Index>(T, qmax + 2 + k + Index(tails[b].size()));
  Batch batch(B, T);
  for (Index b = 0; b < B; ++b) {
    const Index pad = qmax - Index(questions[b].size());
    std::vector<int> row(questions[b]);
    row.push_back(kBot);
    for (int i = 0; i < k; ++i) row.push_back(kLatent);
    row.push_back(kEot);
    const Index eot = pad + Index(row.size()) - 1;
    row.insert(row.end(), tails[b].begin(), tails[b].end());
    const Index end = pad + Index(row.size());
    for (Index t = 0; t < T; ++t) {
      const Index i = batch.at(b, t);
      const bool real = t >= pad && t < end;
      batch.tokens[i] = real ? row[t - pad] : kEos;
      batch.mask[i] = real;
      batch.positions[i] = real ? int(t - pad) : 0;
      batch.targets[i] = t >= eot && t + 1 < end ? row[t + 1 - pad] : -100;
    }
  }
  return batch;
}

// ---- files for the reference -------------------------------------------------------

// int32 B, T, latent_id, then tokens, positions, mask, targets as (B, T) int32.
inline void write_batch(const std::string& path, const Batch& batch, int latent_id) {
  std::ofstream f(path, std::ios::binary);
  auto put = [&](int x) { f.write(reinterpret_cast<const char*>(&x), sizeof x); };
  put(int(batch.B));
  put(int(batch.T));
  put(latent_id);
  for (int x : batch.tokens) put(x);
  for (int x : batch.positions) put(x);
  for (auto x : batch.mask) put(int(x));
  for (int x : batch.targets) put(x);
  if (!f) throw std::runtime_error("cannot write " + path);
}

// int32 count, then per tensor: int32 name length, name, int32 rank, int64 dims, float32 data.
template <class T>
void write_params(const std::string& path, const Arena<T>& params) {
  std::ofstream f(path, std::ios::binary);
  const auto& entries = params.layout().entries();
  const int count = int(entries.size());
  f.write(reinterpret_cast<const char*>(&count), 4);
  for (const auto& e : entries) {
    const int len = int(e.name.size()), rank = int(e.shape.size());
    f.write(reinterpret_cast<const char*>(&len), 4);
    f.write(e.name.data(), len);
    f.write(reinterpret_cast<const char*>(&rank), 4);
    for (Index d : e.shape) {
      const std::int64_t d64 = d;
      f.write(reinterpret_cast<const char*>(&d64), 8);
    }
    std::vector<float> data(params.data() + e.offset, params.data() + e.offset + e.size);
    f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * sizeof(float)));
  }
  if (!f) throw std::runtime_error("cannot write " + path);
}

// ---- the reference -------------------------------------------------------------------

struct ReferenceResult {
  int threads = 0;
  double median_ms = 0, min_ms = 0, peak_rss_mb = 0, loss = 0;
  long tokens = 0;
  std::string decoded;  // generate: the tokens decoded for prompt 0
  bool ok = false;
};

// Runs bench/reference.py with `args` at `threads` threads, PyTorch at its best on
// this machine: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they force OpenBLAS
// onto its older kernels) and passive OpenMP waiting (else its threads fight
// OpenBLAS's). Only for this command: tests and CI keep the machine's environment.
inline ReferenceResult run_reference(const std::string& args, int threads) {
  const std::string cmd = std::string("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE ") +
                          "OMP_NUM_THREADS=" + std::to_string(threads) + " /usr/bin/python3 " COCONUT_BENCH_DIR
                          "/reference.py " + args + " --threads " + std::to_string(threads);
  ReferenceResult r;
  r.threads = threads;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char line[512];
  while (std::fgets(line, sizeof line, p)) {
    std::istringstream s(line);
    std::string key;
    s >> key;
    if (key == "median_ms") s >> r.median_ms;
    else if (key == "min_ms") s >> r.min_ms;
    else if (key == "peak_rss_mb") s >> r.peak_rss_mb;
    else if (key == "loss") s >> r.loss;
    else if (key == "tokens") s >> r.tokens;
    else if (key == "decoded0") std::getline(s, r.decoded);
  }
  r.ok = pclose(p) == 0 && r.median_ms > 0;
  if (!r.ok) std::cerr << "reference failed: " << cmd << "\n";
  return r;
}

// Our result against the reference at each thread count; prints the report lines.
// `rate` turns ms per step into a rate (e.g. tokens/s) when the workload is a rate.
struct Report {
  std::string name, unit = "ms";
  double ours_ms = 0, ours_min_ms = 0, ours_rss_mb = 0, ours_loss = 0;
  long ours_tokens = 0;
  int steps = 0, threads = 0;
};

// Our side of a report from the timed steps of a training workload.
inline Report training_report(const std::string& name, const std::vector<double>& times, double first_loss,
                              const Options& o) {
  Report r;
  r.name = name;
  r.ours_ms = median(times);
  r.ours_min_ms = *std::min_element(times.begin(), times.end());
  r.ours_rss_mb = peak_rss_mb();
  r.ours_loss = first_loss;
  r.steps = o.steps;
  r.threads = o.threads;
  return r;
}

inline void print_report(Report ours, const std::vector<ReferenceResult>& theirs) {
  ours.name += kVariant;
  const bool rate = ours.unit == "tokens/s";
  auto value = [&](double ms, long tokens) { return rate ? tokens / (ms / 1e3) : ms; };
  std::printf("ours     threads=%d median %.2f ms  min %.2f ms  (%d steps)  peak RSS %.1f MB  loss %.6f", ours.threads,
              ours.ours_ms, ours.ours_min_ms, ours.steps, ours.ours_rss_mb, ours.ours_loss);
  if (rate) std::printf("  %ld tokens, %.1f tokens/s", ours.ours_tokens, value(ours.ours_ms, ours.ours_tokens));
  std::printf("\n");
  const ReferenceResult* best = nullptr;
  for (const auto& r : theirs) {
    if (!r.ok) continue;
    std::printf("pytorch  threads=%d median %.2f ms  min %.2f ms  peak RSS %.1f MB  loss %.6f", r.threads, r.median_ms,
                r.min_ms, r.peak_rss_mb, r.loss);
    if (rate) std::printf("  %ld tokens, %.1f tokens/s", r.tokens, value(r.median_ms, r.tokens));
    std::printf("\n");
    if (!r.decoded.empty()) std::printf("pytorch decoded, prompt 0:%s\n", r.decoded.c_str());
    if (!best || value(r.median_ms, r.tokens) * (rate ? 1 : -1) > value(best->median_ms, best->tokens) * (rate ? 1 : -1))
      best = &r;
  }
  if (!best) {
    std::printf("row %s %.3f nan %s nan %.1f nan 0\n", ours.name.c_str(), value(ours.ours_ms, ours.ours_tokens),
                ours.unit.c_str(), ours.ours_rss_mb);
    return;
  }
  const double mine = value(ours.ours_ms, ours.ours_tokens), theirs_v = value(best->median_ms, best->tokens);
  const double ratio = rate ? mine / theirs_v : theirs_v / mine;
  std::printf("pytorch best: threads=%d\n", best->threads);
  std::printf("row %s %.3f %.3f %s %.3f %.1f %.1f %d\n", ours.name.c_str(), mine, theirs_v, ours.unit.c_str(), ratio,
              ours.ours_rss_mb, best->peak_rss_mb, best->threads);
  std::printf("speedup %s: %.3f\n", ours.name.c_str(), ratio);
  std::fflush(stdout);
}

inline std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/coconut-bench-" + std::to_string(::getpid()) + "-" + name;
}

// Runs the reference at each of the option's thread counts.
inline std::vector<ReferenceResult> run_references(const Options& o, const std::string& args) {
  std::vector<ReferenceResult> out;
  if (!o.reference) return out;
  for (int t : o.torch_threads)
    out.push_back(run_reference(args + " --steps " + std::to_string(o.steps) + " --warmup " + std::to_string(o.warmup), t));
  return out;
}

}  // namespace coconut::bench
