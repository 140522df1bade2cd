// Progress of a long run: a one-line bar redrawn in place on a terminal, plain
// lines when the output is a file or a pipe (logs stay readable), and a JSONL
// record of every step and evaluation for plotting.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace coconut {

// Named shares in [0, 1] beside an evaluation's accuracy ("choice", "edge_steps").
using Metrics = std::vector<std::pair<std::string, double>>;

class Progress {
 public:
  // `log_path` empty: no JSONL log. `every`: plain-line interval in steps.
  explicit Progress(const std::string& log_path = "", long every = 50)
      // mpirun hands its ranks a pseudo-terminal even when its own output goes to
      // a file, so under mpirun (OMPI_COMM_WORLD_RANK set) write plain lines.
      : tty_(isatty(fileno(stdout)) && !std::getenv("OMPI_COMM_WORLD_RANK")), every_(every), start_(clock::now()) {
    if (!log_path.empty()) log_.open(log_path, std::ios::app);
  }

  double elapsed() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

  // One optimizer step: epoch, stage, step within the epoch of steps_in_epoch,
  // global step of total_steps, loss, tokens in the batch, learning rate.
  void step(int epoch, int stage, long step, long steps_in_epoch, long global, long total, double loss, long tokens,
            double lr) {
    const double now = elapsed();
    tokens_ += tokens;
    const double tok_per_s = tokens_ / std::max(1e-9, now - since_);
    const double eta = global > done_at_start_ ? (now - since_) / double(global + 1 - done_at_start_) * double(total - global - 1) : 0;
    if (log_) {
      log_ << "{\"kind\":\"step\",\"epoch\":" << epoch << ",\"stage\":" << stage << ",\"step\":" << global
           << ",\"loss\":" << loss << ",\"lr\":" << lr << ",\"tokens\":" << tokens << ",\"time\":" << now << "}\n";
    }
    char line[256];
    std::snprintf(line, sizeof line, "epoch %d  stage %d  step %ld/%ld  loss %.4f  %.0f tok/s  ETA %s", epoch, stage,
                  step + 1, steps_in_epoch, loss, tok_per_s, format_time(eta).c_str());
    if (tty_) {
      std::printf("\r%-100s", line);
      std::fflush(stdout);
    } else if ((step + 1) % every_ == 0 || step + 1 == steps_in_epoch) {
      std::printf("%s\n", line);
      std::fflush(stdout);
    }
  }

  // The clock for tokens/s and ETA starts at the first step a run (or resumed run) makes.
  void start(long global_step) {
    done_at_start_ = global_step;
    since_ = elapsed();
    tokens_ = 0;
  }

  // `metrics`: more shares measured on the validation outputs (Trainer::validation_metrics),
  // logged under their names and printed as percentages.
  void evaluation(int epoch, int stage, double accuracy, double mean_tokens, double seconds_per_example,
                  double loss = -1, const Metrics& metrics = {}) {
    if (log_) {
      log_ << "{\"kind\":\"eval\",\"epoch\":" << epoch << ",\"stage\":" << stage << ",\"accuracy\":" << accuracy;
      if (loss >= 0) log_ << ",\"loss\":" << loss;
      for (const auto& [name, value] : metrics) log_ << ",\"" << name << "\":" << value;
      log_ << ",\"mean_generated_tokens\":" << mean_tokens << ",\"seconds_per_example\":" << seconds_per_example
           << ",\"time\":" << elapsed() << "}\n";
      log_.flush();
    }
    std::string more;
    for (const auto& [name, value] : metrics) {
      std::string words = name;
      std::replace(words.begin(), words.end(), '_', ' ');
      more += "  " + words + " " + fixed(100 * value, 1) + "%";
    }
    message("epoch " + std::to_string(epoch) + "  stage " + std::to_string(stage) + "  validation " +
            (loss >= 0 ? "loss " + fixed(loss, 3) + "  " : "") + "accuracy " + fixed(100 * accuracy, 1) + "%" + more +
            "  mean generated tokens " + fixed(mean_tokens, 1));
  }

  // A line of its own (the bar, if any, moves below it).
  void message(const std::string& text) {
    if (tty_) std::printf("\r%-100s\r", "");
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }

  static std::string fixed(double x, int digits) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", digits, x);
    return b;
  }

  static std::string format_time(double s) {
    char b[32];
    const long t = long(s + 0.5);
    if (t >= 3600) std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
    return b;
  }

 private:
  using clock = std::chrono::steady_clock;
  bool tty_;
  long every_;
  clock::time_point start_;
  std::ofstream log_;
  double since_ = 0;
  long tokens_ = 0, done_at_start_ = 0;
};

}  // namespace coconut
