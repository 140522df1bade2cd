// From a reasoning sample to the token sequence a method trains on at a stage of
// the curriculum, and from sequences to a batch.
//
// A sample is a question, its reasoning steps and the answer, already tokenized.
// At stage k, Coconut replaces the first k steps by k*c continuous thoughts
// (c = thoughts per step), between <bot> and <eot> markers:
//
//     stage 0:   Q <bot> <eot> s1 s2 s3 A EOS
//     stage 1:   Q <bot> <latent> <eot> s2 s3 A EOS                  (c = 1)
//     stage 2:   Q <bot> <latent> <latent> <eot> s3 A EOS
//     k > M:     Q <bot> <latent> x M*c <eot> A EOS                   (all steps gone)
//
// Labels ("targets", shifted: the target of position t is the token at t+1) are
// -100 on the question, the markers and the latents: the loss covers the remaining
// steps, the answer and EOS, and the model is never trained to emit <eot>.
//
// The baselines of the paper's Table 1 are the same builder with other settings
// (see `Method`), so that one trainer serves every row of the table.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/model/gpt.hpp"
#include "coconut/tensor/random.hpp"

namespace coconut {

struct TokenizedSample {
  std::vector<int> question;            // includes its trailing newline token, if any
  std::vector<std::vector<int>> steps;  // one token list per reasoning step
  std::vector<int> answer;              // e.g. "### Tom is a wumpus ."
};

// The ids of the special tokens.
struct SpecialTokens {
  int bot = -1;     // <|start-latent|>
  int eot = -1;     // <|end-latent|>
  int latent = -1;  // <|latent|>
  int eos = -1;     // <|endoftext|>, also the padding token
};

// How the stage of an epoch is chosen and what a stage means.
enum class Schedule {
  curriculum,   // stage 0 for first_stage_epochs, then one per epochs_per_stage (Coconut,
                //   pause as thought, w/o thought)
  final_stage,  // always past the last stage: all steps replaced (w/o curriculum, pause token)
  cot,          // Q steps A EOS, no markers
  no_cot,       // Q A EOS, no markers
};

// What the <latent> tokens are.
enum class ThoughtKind {
  continuous,  // ContinuousThought<c>: fed-back hidden states
  pause,       // PauseTokens<c>: an ordinary learned token
  none,        // no latents at all
};

struct Method {
  std::string name;
  ThoughtKind thought;
  Schedule schedule;
  bool latents = true;  // false: the curriculum removes steps but inserts no latents (w/o thought)
};

// The rows of the paper's Table 1 that the library expresses (iCoT is another
// training method, not a layout).
inline const std::vector<Method>& table1_methods() {
  static const std::vector<Method> methods = {
      {"coconut", ThoughtKind::continuous, Schedule::curriculum, true},
      {"cot", ThoughtKind::none, Schedule::cot, false},
      {"no-cot", ThoughtKind::none, Schedule::no_cot, false},
      {"no-curriculum", ThoughtKind::continuous, Schedule::final_stage, true},
      {"no-thought", ThoughtKind::none, Schedule::curriculum, false},
      {"pause-token", ThoughtKind::pause, Schedule::final_stage, true},
      {"pause-as-thought", ThoughtKind::pause, Schedule::curriculum, true},
  };
  return methods;
}

inline const Method& method_named(const std::string& name) {
  for (const auto& m : table1_methods())
    if (m.name == name) return m;
  std::string known;
  for (const auto& m : table1_methods()) known += (known.empty() ? "" : ", ") + m.name;
  throw std::invalid_argument("unknown method '" + name + "' (known: " + known + ")");
}

struct CurriculumConfig {
  int c_thought = 1;               // c: continuous thoughts per replaced step
  int max_latent_stage = 6;        // M
  int epochs_per_stage = 5;
  int first_stage_epochs = 0;      // epochs of stage 0 (the CoT stage); 0: epochs_per_stage
  bool pad_latent_to_max = true;   // k > #steps (or k > M): still k*c (M*c) latents
  double uniform_prob = 0.0;       // chance that a sample's stage is drawn from 0..#steps instead
};

// The stage of an epoch under a schedule.
inline int stage_of_epoch(const Method& method, const CurriculumConfig& cfg, int epoch) {
  switch (method.schedule) {
    case Schedule::curriculum: {
      // From scratch the CoT stage needs far longer than the others: it may have
      // its own length, after which every stage lasts epochs_per_stage.
      const int per_stage = std::max(1, cfg.epochs_per_stage);
      const int first = cfg.first_stage_epochs > 0 ? cfg.first_stage_epochs : per_stage;
      return epoch < first ? 0 : 1 + (epoch - first) / per_stage;
    }
    case Schedule::final_stage: return cfg.max_latent_stage + 1;
    default: return 0;
  }
}

// One training sequence: tokens and shifted targets, and the prompt length (the
// part up to and including <eot>, or the question for the marker-less layouts)
// that evaluation feeds to the model before it decodes.
struct Sequence {
  std::vector<int> tokens;
  std::vector<int> targets;
  std::size_t prompt_length = 0;

  std::vector<int> prompt() const { return {tokens.begin(), tokens.begin() + long(prompt_length)}; }
};

// Sample `s` laid out for `method` at `stage`.
inline Sequence build_sequence(const TokenizedSample& s, const Method& method, const CurriculumConfig& cfg, int stage,
                               const SpecialTokens& special) {
  Sequence out;
  auto& tok = out.tokens;
  tok = s.question;
  std::size_t labelled_from;  // first position whose token is labelled
  std::size_t first_step = 0;
  if (method.schedule == Schedule::cot || method.schedule == Schedule::no_cot) {
    labelled_from = tok.size();
    out.prompt_length = tok.size();
    first_step = method.schedule == Schedule::cot ? 0 : s.steps.size();
  } else {
    const int n_steps = int(s.steps.size());
    const int M = cfg.max_latent_stage;
    int latents;  // replaced steps' worth of latents
    if (stage > M) {
      first_step = s.steps.size();
      latents = cfg.pad_latent_to_max ? M : std::min(n_steps, M);
    } else {
      first_step = std::min(stage, n_steps);
      latents = cfg.pad_latent_to_max ? stage : std::min(stage, n_steps);
    }
    const int n_latent_tokens = method.latents ? latents * cfg.c_thought : 0;
    tok.push_back(special.bot);
    tok.insert(tok.end(), n_latent_tokens, special.latent);
    tok.push_back(special.eot);
    labelled_from = tok.size();
    out.prompt_length = tok.size();
  }
  for (std::size_t i = first_step; i < s.steps.size(); ++i) tok.insert(tok.end(), s.steps[i].begin(), s.steps[i].end());
  tok.insert(tok.end(), s.answer.begin(), s.answer.end());
  tok.push_back(special.eos);
  out.targets.assign(tok.size(), -100);
  for (std::size_t t = 0; t + 1 < tok.size(); ++t)
    if (t + 1 >= labelled_from) out.targets[t] = tok[t + 1];
  return out;
}

// The stage a sample trains at this epoch: the epoch's, or with probability
// uniform_prob one drawn uniformly from 0..#steps (the paper's stage mixing).
inline int sample_stage(const TokenizedSample& s, const Method& method, const CurriculumConfig& cfg, int epoch_stage,
                        Rng& rng) {
  if (method.schedule != Schedule::curriculum || cfg.uniform_prob <= 0) return epoch_stage;
  return rng.uniform() < cfg.uniform_prob ? int(rng.below(s.steps.size() + 1)) : epoch_stage;
}

// Sequences to a batch: each row left-padded so that its first <latent> sits at
// the same position as every other row's, then right-padded to the longest row.
// Padding has mask 0, target -100, token EOS and position id 0; position ids
// restart at 0 after the left padding.
inline Batch collate(const std::vector<const Sequence*>& rows, const SpecialTokens& special) {
  if (rows.empty()) throw std::invalid_argument("collate: no rows");
  std::vector<Index> first_latent(rows.size(), -1);
  Index align = 0;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    const auto& tok = rows[b]->tokens;
    auto it = std::find(tok.begin(), tok.end(), special.latent);
    if (it != tok.end()) {
      first_latent[b] = Index(it - tok.begin());
      align = std::max(align, first_latent[b]);
    }
  }
  std::vector<Index> pad(rows.size(), 0);
  Index T = 0;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    if (first_latent[b] >= 0) pad[b] = align - first_latent[b];
    T = std::max(T, pad[b] + Index(rows[b]->tokens.size()));
  }
  Batch batch(Index(rows.size()), T);
  for (Index b = 0; b < batch.B; ++b) {
    const auto& seq = *rows[b];
    for (Index t = 0; t < T; ++t) {
      const Index i = batch.at(b, t), j = t - pad[b];
      const bool real = j >= 0 && j < Index(seq.tokens.size());
      batch.tokens[i] = real ? seq.tokens[j] : special.eos;
      batch.targets[i] = real ? seq.targets[j] : -100;
      batch.mask[i] = real;
      batch.positions[i] = real ? int(j) : 0;
    }
  }
  return batch;
}

}  // namespace coconut
