// The trainer: the multi-stage curriculum of the paper, for every method of its
// Table 1, with evaluation, checkpoints and exact resumption.
//
// An epoch has a stage (data/layout.hpp: stage_of_epoch); every training sample is
// laid out at that stage (or a mixed-in one), the samples are shuffled and cut into
// batches, and each batch is one AdamW step through the thought policy. After each
// epoch the model answers the validation questions by generation and the best
// checkpoint is kept.
//
// Everything random is a function of (seed, epoch): the data order and the stage
// mixing of an epoch are drawn from an Rng seeded by both. A checkpoint therefore
// needs no RNG state: parameters, optimizer moments and (epoch, step) suffice, and a
// resumed run computes bit for bit what the uninterrupted one would have.
//
// Data parallel (set_collective): with K ranks and batch_size b, a step takes a
// global batch of K*b sequences and rank r computes rows [r*b, (r+1)*b) of it. Each
// rank's loss gradient is rescaled from its own token count to the global one and
// the gradients are summed across ranks, so every rank steps with the gradient of
// the whole batch: K ranks of b equal one process of K*b, up to the order of
// floating-point sums. Rank 0 alone prints, evaluates and writes checkpoints.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include "coconut/data/layout.hpp"
#include "coconut/data/sampling.hpp"
#include "coconut/io/checkpoint.hpp"
#include "coconut/io/saved_model.hpp"
#include "coconut/thought/generate.hpp"
#include "coconut/train/collective.hpp"
#include "coconut/train/optimizer.hpp"
#include "coconut/train/progress.hpp"

namespace coconut {

struct TrainConfig {
  Method method = method_named("coconut");
  CurriculumConfig curriculum;
  int epochs = 1;
  Index batch_size = 32;
  double lr = 1e-4;
  long warmup_steps = 0;
  AdamWConfig adamw{{.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01}, false};
  double grad_clip = 0;                 // 0: off (the reference does not clip)
  enum class Reset { never, per_stage, per_epoch } reset_optimizer = Reset::per_stage;
  std::uint64_t seed = 0;
  Index eval_batch_size = 64;
  Index max_new_tokens = 128;
  std::string checkpoint;               // path; empty: no checkpoints
  double checkpoint_seconds = 300;      // also write one every this many seconds
  std::string log;                      // JSONL path; empty: none
  long print_every = 50;                // plain-line progress interval (not a terminal)
  long max_steps = 0;                   // stop (with a checkpoint) at this global step; 0: run to the end
  double max_seconds = 0;               // stop (with a checkpoint) after this long in fit(); 0: no limit
  bool group_by_length = false;         // batches of similar length (less padding): see epoch_sequences
};

struct EvalResult {
  double accuracy = 0;                  // exact match of the answer
  double mean_generated_tokens = 0;
  double seconds_per_example = 0;
  double loss = -1;                     // fit()'s validation only: teacher-forced, Trainer::loss
  Metrics metrics;                      // fit()'s validation only: Trainer::validation_metrics
  std::vector<std::vector<int>> generated;  // per sample, up to and including EOS
};

// Exact match as the reference computes it: the tokens after the last answer
// marker ('#') of the output equal those of the answer. Without a marker
// (`marker` < 0) the whole output (less EOS) must equal the answer.
inline bool answer_matches(const std::vector<int>& answer, const std::vector<int>& generated, int marker, int eos) {
  auto tail = [&](const std::vector<int>& v) {
    auto end = std::find(v.begin(), v.end(), eos);
    auto begin = v.begin();
    if (marker >= 0) {
      auto last = std::find(std::make_reverse_iterator(end), v.rend(), marker);
      if (last == v.rend()) return std::vector<int>{-1};  // no marker: no answer
      begin = last.base();
    }
    return std::vector<int>(begin, end);
  };
  return tail(answer) == tail(generated);
}

template <class Model, class Policy>
class Trainer {
 public:
  using T = typename Model::scalar;

  Trainer(Model& model, TrainConfig config, SpecialTokens special, int answer_marker = -1)
      : model_(model),
        cfg_(std::move(config)),
        special_(special),
        marker_(answer_marker),
        opt_(model.params().layout(), adamw_config()),
        progress_(cfg_.log, cfg_.print_every) {}

  const TrainConfig& config() const { return cfg_; }

  // Train data-parallel with the ranks of `group` (nullptr: alone). Every rank
  // starts from rank 0's parameters.
  void set_collective(Collective* group) {
    group_ = group;
    if (ranks() > 1) group_->broadcast(model_.params().data(), model_.params().size());
  }
  int ranks() const { return group_ ? group_->size() : 1; }
  int rank() const { return group_ ? group_->rank() : 0; }
  bool is_root() const { return rank() == 0; }
  Index global_batch() const { return cfg_.batch_size * ranks(); }
  AdamW<T>& optimizer() { return opt_; }
  Progress& progress() { return progress_; }
  double best_accuracy() const { return best_; }
  long global_step() const { return global_step_; }

  // Stage of an epoch under this run's method.
  int stage(int epoch) const { return stage_of_epoch(cfg_.method, cfg_.curriculum, epoch); }

  // Continue from a checkpoint written by this trainer (same model shape); returns
  // the checkpoint, for what the program saved in it (vocabulary, settings).
  Checkpoint resume(const std::string& path) {
    Checkpoint c = load_parameters(model_, path);
    if (!c.adam_m.empty()) {
      std::copy(c.adam_m.begin(), c.adam_m.end(), opt_.first_moment().data());
      std::copy(c.adam_v.begin(), c.adam_v.end(), opt_.second_moment().data());
    }
    opt_.set_step_count(c.adam_step);
    epoch_ = c.epoch;
    step_in_epoch_ = c.step_in_epoch;
    if (c.global_batch > 0 && c.global_batch != global_batch()) {
      if (cfg_.group_by_length && c.step_in_epoch > 0)
        throw std::runtime_error("Trainer::resume: " + path + " was written in the middle of an epoch with " +
                                 std::to_string(c.global_batch) + " rows per step, now " +
                                 std::to_string(global_batch()) + "; with group_by_length the epoch's order " +
                                 "depends on it: resume with the same number of ranks, or from an epoch's end");
      // Written with another number of ranks: continue after the rows already seen.
      step_in_epoch_ = (c.step_in_epoch * c.global_batch + global_batch() - 1) / global_batch();
      if (is_root())
        progress_.message("checkpoint steps were " + std::to_string(c.global_batch) + " rows, now " +
                          std::to_string(global_batch()) + ": continuing this epoch at step " +
                          std::to_string(step_in_epoch_));
    }
    global_step_ = c.global_step;
    best_ = c.best_accuracy;
    if (is_root()) progress_.message("resumed from " + path + " at epoch " + std::to_string(epoch_) + ", step " +
                      std::to_string(step_in_epoch_) + " (global step " + std::to_string(global_step_) + ")");
    return c;
  }

  // The batches of an epoch: laid out at its stage, in its shuffled order.
  //
  // A batch is padded to its longest row, so random batches of ProsQA CoT spend
  // about a quarter of their tokens on padding. With `group_by_length`, each run of
  // kGroupBatches global batches (all ranks' rows) in the shuffled order is sorted
  // by length, and its full batches are then shuffled among themselves: rows of a
  // batch have similar lengths, while the epoch still visits lengths in random
  // order. The order then depends on the global batch, so a run resumes mid-epoch
  // only with the same number of ranks and the same group_by_length.
  std::vector<Sequence> epoch_sequences(const std::vector<TokenizedSample>& train, int epoch) const {
    Rng rng(cfg_.seed * 1000003ULL + std::uint64_t(epoch) + 1);
    std::vector<std::size_t> order(train.size());
    std::iota(order.begin(), order.end(), 0);
    sampling::shuffle(order, rng);
    std::vector<Sequence> seqs;
    seqs.reserve(train.size());
    for (std::size_t i : order) {
      const int k = sample_stage(train[i], cfg_.method, cfg_.curriculum, stage(epoch), rng);
      seqs.push_back(build_sequence(train[i], cfg_.method, cfg_.curriculum, k, special_));
    }
    if (cfg_.group_by_length) group_by_length(seqs, rng);
    return seqs;
  }

  static constexpr std::size_t kGroupBatches = 8;

  long steps_per_epoch(std::size_t n_train) const {
    return long((Index(n_train) + global_batch() - 1) / global_batch());
  }

  // Trains from the current position to the last epoch (or to max_steps or
  // max_seconds); evaluates on `valid` after each epoch (if not empty) and keeps the
  // best model at <checkpoint>.best (without optimizer state: a model to use,
  // io/saved_model.hpp).
  void fit(const std::vector<TokenizedSample>& train, const std::vector<TokenizedSample>& valid) {
    if (train.empty()) throw std::invalid_argument("Trainer::fit: no training samples");
    Policy policy;
    const long per_epoch = steps_per_epoch(train.size());
    // The global step this call ends at. Not per_epoch * epochs: a run begun at a
    // later epoch (Coconut from a CoT model) counts its global steps from 0 there.
    const long total = global_step_ + (cfg_.epochs - epoch_) * per_epoch - step_in_epoch_;
    progress_.start(global_step_);
    const auto started = std::chrono::steady_clock::now();
    auto last_save = started;
    for (; epoch_ < cfg_.epochs; ++epoch_, step_in_epoch_ = 0) {
      const int k = stage(epoch_);
      if (step_in_epoch_ == 0 && epoch_ > 0) maybe_reset_optimizer(k);
      const auto seqs = epoch_sequences(train, epoch_);
      for (; step_in_epoch_ < per_epoch; ++step_in_epoch_) {
        if ((cfg_.max_steps > 0 && global_step_ >= cfg_.max_steps) || out_of_time(started)) {
          if (!cfg_.checkpoint.empty()) save(cfg_.checkpoint);
          return;
        }
        // This rank's rows of the global batch.
        const Index first = step_in_epoch_ * global_batch() + rank() * cfg_.batch_size;
        std::vector<const Sequence*> rows;
        for (Index i = first; i < std::min<Index>(Index(seqs.size()), first + cfg_.batch_size); ++i)
          rows.push_back(&seqs[i]);
        const StepResult r = train_step(policy, rows);
        const double lr = LrSchedule{.lr = cfg_.lr, .warmup_steps = cfg_.warmup_steps}.at(global_step_);
        opt_.step(model_.params(), model_.grads(), lr);
        if (is_root())
          progress_.step(epoch_, k, step_in_epoch_, per_epoch, global_step_, total, r.loss, r.tokens, lr);
        ++global_step_;
        if (on_step) on_step(global_step_, r.loss);
        const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count();
        if (!cfg_.checkpoint.empty() && since >= cfg_.checkpoint_seconds && step_in_epoch_ + 1 < per_epoch) {
          save(cfg_.checkpoint, epoch_, step_in_epoch_ + 1);  // this step is done
          last_save = std::chrono::steady_clock::now();
        }
      }
      if (!valid.empty() && is_root()) {
        EvalResult r = evaluate(valid, k);
        r.loss = loss(valid, k);
        if (validation_metrics) r.metrics = validation_metrics(r.generated);
        progress_.evaluation(epoch_, k, r.accuracy, r.mean_generated_tokens, r.seconds_per_example, r.loss,
                             r.metrics);
        if (r.accuracy > best_) {
          best_ = r.accuracy;
          if (!cfg_.checkpoint.empty()) save(cfg_.checkpoint + ".best", epoch_ + 1, 0, /*optimizer=*/false);
        }
      }
      if (!cfg_.checkpoint.empty()) {
        save(cfg_.checkpoint, epoch_ + 1, 0);
        last_save = std::chrono::steady_clock::now();
      }
    }
  }

  // Answers `samples` by generation from their prompts at `stage`, in batches.
  EvalResult evaluate(const std::vector<TokenizedSample>& samples, int stage) {
    EvalResult r;
    const auto start = std::chrono::steady_clock::now();
    Index correct = 0, tokens = 0;
    for (std::size_t first = 0; first < samples.size(); first += cfg_.eval_batch_size) {
      std::vector<std::vector<int>> prompts;
      const std::size_t last = std::min(samples.size(), first + std::size_t(cfg_.eval_batch_size));
      for (std::size_t i = first; i < last; ++i) {
        prompts.push_back(build_sequence(samples[i], cfg_.method, cfg_.curriculum, stage, special_).prompt());
      }
      const Generation g = generate<Policy>(model_, prompts, special_.latent, special_.eos,
                                            std::min<Index>(cfg_.max_new_tokens, Model::maxT - longest(prompts)));
      for (std::size_t i = first; i < last; ++i) {
        correct += answer_check ? answer_check(samples[i], g.tokens[i - first])
                                : answer_matches(samples[i].answer, g.tokens[i - first], marker_, special_.eos);
        r.generated.push_back(g.tokens[i - first]);
      }
      tokens += g.generated_tokens;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double n = std::max<double>(1, double(samples.size()));
    r.accuracy = double(correct) / n;
    r.mean_generated_tokens = double(tokens) / n;
    r.seconds_per_example = seconds / n;
    return r;
  }

  // The training loss of `samples` laid out at `stage` (no stage mixing), with
  // teacher forcing and no update: mean cross-entropy per labelled token, as a
  // training step computes it. Beside the training loss it shows how much of a
  // fall is memorised: samples the model never trained on score no better.
  double loss(const std::vector<TokenizedSample>& samples, int stage) {
    Policy policy;
    double sum = 0, count = 0;
    for (std::size_t first = 0; first < samples.size(); first += std::size_t(cfg_.eval_batch_size)) {
      std::vector<Sequence> seqs;
      for (std::size_t i = first; i < std::min(samples.size(), first + std::size_t(cfg_.eval_batch_size)); ++i)
        seqs.push_back(build_sequence(samples[i], cfg_.method, cfg_.curriculum, stage, special_));
      std::vector<const Sequence*> rows;
      for (const auto& s : seqs) rows.push_back(&s);
      const double batch_loss = double(policy.forward(model_, collate(rows, special_), special_.latent));
      sum += batch_loss * double(model_.counted_targets());
      count += double(model_.counted_targets());
    }
    return count > 0 ? sum / count : 0;
  }

  // Writes the run's state (by default: where it is now), with the optimizer's
  // moments unless `optimizer` is false. Only rank 0 writes.
  void save(const std::string& path, int epoch = -1, long step = -1, bool optimizer = true) const {
    if (!is_root()) return;
    Checkpoint c;
    c.shape = ModelShape::of<typename Model::config, T>();
    c.params.assign(model_.params().data(), model_.params().data() + model_.params().size());
    if (optimizer) {
      c.adam_m.assign(opt_.first_moment().data(), opt_.first_moment().data() + opt_.first_moment().size());
      c.adam_v.assign(opt_.second_moment().data(), opt_.second_moment().data() + opt_.second_moment().size());
    }
    c.adam_step = opt_.step_count();
    c.epoch = epoch < 0 ? epoch_ : epoch;
    c.step_in_epoch = step < 0 ? step_in_epoch_ : step;
    c.global_batch = global_batch();
    c.global_step = global_step_;
    c.best_accuracy = best_;
    c.vocabulary = vocabulary;
    c.settings = settings;
    save_checkpoint(c, path);
  }

  // Called after every optimizer step with the number of steps done and the step's loss.
  std::function<void(long step, double loss)> on_step;

  // How evaluate() judges an answer, given the sample and its generated tokens (up
  // to and including EOS). Unset: answer_matches on the tokens after the answer
  // marker. Set it to compare decoded text as the reference does, for a tokenizer
  // in which equal answers can be different tokens (data/tasks.hpp: text_answer_check).
  std::function<bool(const TokenizedSample& sample, const std::vector<int>& generated)> answer_check;

  // Optional: more scores of the outputs for the validation samples of fit() (in
  // their order), logged with each evaluation under their names; for ProsQA,
  // coconut_train measures the option chosen and the steps that are edges of the
  // question's graph (data/tasks.hpp), and with the model itself the edge lookup
  // (train/edge_lookup.hpp). Called on the root rank only, between training
  // steps: it may run the model on batches of its own (every step sets its batch
  // again) but must not change parameters or use the collective.
  std::function<Metrics(const std::vector<std::vector<int>>& generated)> validation_metrics;

  // Saved into every checkpoint for the program that owns the trainer.
  std::vector<std::string> vocabulary;
  std::string settings;

 private:
  // epoch_sequences' grouping: sort each run of kGroupBatches global batches by
  // length, then shuffle that run's full batches. The epoch's partial last batch
  // stays last: the longest rows of the last run.
  void group_by_length(std::vector<Sequence>& seqs, Rng& rng) const {
    const std::size_t batch = std::size_t(global_batch()), run = kGroupBatches * batch;
    const auto shorter = [](const Sequence& a, const Sequence& b) { return a.tokens.size() < b.tokens.size(); };
    std::vector<Sequence> grouped;
    grouped.reserve(seqs.size());
    for (std::size_t first = 0; first < seqs.size(); first += run) {
      const auto begin = seqs.begin() + long(first), end = seqs.begin() + long(std::min(seqs.size(), first + run));
      std::stable_sort(begin, end, shorter);
      std::vector<std::size_t> batches(std::size_t(end - begin) / batch);
      std::iota(batches.begin(), batches.end(), 0);
      sampling::shuffle(batches, rng);
      for (std::size_t b : batches)
        std::move(begin + long(b * batch), begin + long((b + 1) * batch), std::back_inserter(grouped));
      std::move(begin + long(batches.size() * batch), end, std::back_inserter(grouped));
    }
    seqs = std::move(grouped);
  }

  struct StepResult {
    double loss = 0;  // mean over the global batch's counted targets
    long tokens = 0;  // positions computed by all ranks
  };

  // Forward and backward of this rank's rows; with several ranks, gradients are
  // rescaled to the global token count and summed, so every rank holds the
  // gradient of the mean loss over the whole global batch. Each block's sum starts
  // as soon as backward has finished the block; the embeddings and the final
  // LayerNorm, whose gradients are final last, go at the end.
  StepResult train_step(Policy& policy, const std::vector<const Sequence*>& rows) {
    double loss = 0, count = 0, tokens = 0;
    model_.zero_grad();
    const bool has_rows = !rows.empty();  // the last global batch may leave a rank without rows
    if (has_rows) {
      const Batch batch = collate(rows, special_);
      loss = double(policy.forward(model_, batch, special_.latent));
      count = double(model_.counted_targets());
      tokens = double(batch.B * batch.T);
    }
    if (ranks() == 1) {
      if (has_rows) policy.backward(model_);
    } else {
      const double total = group_->sum(count);
      const T scale = total > 0 ? T(count / total) : T(0);
      T* grads = model_.grads().data();
      const auto share = [&](std::pair<Index, Index> range) {  // [first, last) of the arena
        for (Index i = range.first; i < range.second; ++i) grads[i] *= scale;
        group_->start_sum(grads + range.first, range.second - range.first);
      };
      // Every rank starts the same sums in the same order, rows or not.
      if (has_rows) policy.backward(model_, [&](Index l) { share(block_ranges_[l]); });
      else
        for (Index l = Model::L - 1; l >= 0; --l) share(block_ranges_[l]);
      share({0, block_ranges_.front().first});
      share({block_ranges_.back().second, model_.grads().size()});
      group_->finish_sums();
      loss = group_->sum(loss * count) / std::max(total, 1.0);
      tokens = group_->sum(tokens);
    }
    if (cfg_.grad_clip > 0) clip_grad_norm(model_.grads(), cfg_.grad_clip);
    return {loss, long(tokens)};
  }

  // [first, last) of each block's parameters in the arena (they are contiguous).
  static std::vector<std::pair<Index, Index>> block_ranges(const Layout& layout) {
    std::vector<std::pair<Index, Index>> ranges(Model::L, {layout.size(), 0});
    for (const auto& e : layout.entries()) {
      if (!e.name.starts_with("h.")) continue;
      auto& r = ranges[std::stoi(e.name.substr(2))];
      r = {std::min(r.first, e.offset), std::max(r.second, e.offset + e.size)};
    }
    return ranges;
  }

  AdamWConfig adamw_config() const {
    AdamWConfig a = cfg_.adamw;
    a.lr = cfg_.lr;
    return a;
  }

  void maybe_reset_optimizer(int stage_now) {
    const bool new_stage = stage_now != stage(epoch_ - 1);
    if (cfg_.reset_optimizer == TrainConfig::Reset::per_epoch ||
        (cfg_.reset_optimizer == TrainConfig::Reset::per_stage && new_stage))
      opt_.reset();
  }

  // Whether max_seconds have passed since `started`. Ranks decide together (rank 0's
  // clock), so that all of them stop at the same step.
  bool out_of_time(std::chrono::steady_clock::time_point started) const {
    if (cfg_.max_seconds <= 0) return false;
    double late = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() >= cfg_.max_seconds;
    if (ranks() > 1) {
      if (!is_root()) late = 0;
      late = group_->sum(late);
    }
    return late > 0;
  }

  static Index longest(const std::vector<std::vector<int>>& v) {
    Index n = 0;
    for (const auto& x : v) n = std::max<Index>(n, Index(x.size()));
    return n;
  }

  Model& model_;
  Collective* group_ = nullptr;
  std::vector<std::pair<Index, Index>> block_ranges_ = block_ranges(model_.params().layout());
  TrainConfig cfg_;
  SpecialTokens special_;
  int marker_;
  AdamW<T> opt_;
  Progress progress_;
  int epoch_ = 0;
  long step_in_epoch_ = 0, global_step_ = 0;
  double best_ = -1;
};

// Calls f.template operator()<Policy>() with the policy a method needs; c (thoughts
// per step) is a compile-time parameter of the policies, chosen here from 1..4.
template <class F>
decltype(auto) with_policy(const Method& method, int c, F&& f) {
  if (method.thought == ThoughtKind::none) return f.template operator()<NoThought>();
  const bool continuous = method.thought == ThoughtKind::continuous;
  switch (c) {
    case 1: return continuous ? f.template operator()<ContinuousThought<1>>() : f.template operator()<PauseTokens<1>>();
    case 2: return continuous ? f.template operator()<ContinuousThought<2>>() : f.template operator()<PauseTokens<2>>();
    case 3: return continuous ? f.template operator()<ContinuousThought<3>>() : f.template operator()<PauseTokens<3>>();
    case 4: return continuous ? f.template operator()<ContinuousThought<4>>() : f.template operator()<PauseTokens<4>>();
  }
  throw std::invalid_argument("thoughts per step (c) must be 1 to 4, got " + std::to_string(c));
}

}  // namespace coconut
