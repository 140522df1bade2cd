// A model trained by coconut_train with the word tokenizer, loaded to answer
// questions: the model, its vocabulary and the settings that say how to prompt it,
// together, so that scoring it on a data set is one call.
//
//     TrainedModel<Mini> coconut("examples/models/prosqa-coconut.ckpt");
//     const auto test = load_json("../shared/data/prosqa_test.json");
//     const ModelScore s = coconut.score(test);  // at the model's last stage
//     std::printf("%.1f%% exact, %.1f%% chose the target\n", 100 * s.accuracy, 100 * s.choice);
//
// The score is the trainer's own evaluation (Trainer::evaluate: batched greedy
// generation through the method's thought policy, exact match on the tokens after
// the last '#'), plus, for ProsQA, whether the answer named the right option.
//
// A program that does not know a saved model's shape asks for it and lets
// with_word_config (model/config.hpp) pick the type:
//
//     with_word_config(saved_model_config(path), [&]<class Config>() {
//       TrainedModel<Config> model(path);
//       ...
//     });
#pragma once

#include <string>
#include <vector>

#include "coconut/data/tasks.hpp"
#include "coconut/io/saved_model.hpp"
#include "coconut/train/trainer.hpp"

namespace coconut {

// The name of the model config a checkpoint was written for.
inline std::string saved_model_config(const std::string& path) { return load_checkpoint(path).shape.config_name; }

struct ModelScore : EvalResult {
  double choice = -1;  // ProsQA: share of answers naming the target, not the distractor (-1: no graphs)
};

template <class Config>
class TrainedModel {
 public:
  using Model = GPT<Config>;

  explicit TrainedModel(const std::string& path) : path_(path) {
    const Checkpoint c = load_parameters(model_, path);  // refuses another model shape
    settings_ = RunSettings::parse(c.settings, path);
    try {
      words_ = WordTokenizer(c.vocabulary);
    } catch (const std::exception& e) {  // e.g. a model of GPT-2's BPE: load it with io/hf_gpt2.hpp
      throw std::runtime_error(path + ": not a model of the word tokenizer (" + e.what() + ")");
    }
  }

  const std::string& path() const { return path_; }
  const RunSettings& settings() const { return settings_; }
  const WordTokenizer& words() const { return words_; }
  Model& model() { return model_; }
  Method method() const { return method_named(settings_.method); }
  SpecialTokens special() const { return word_special_tokens(); }

  // The stage whose layout the model answers in at the end of its training: its
  // last curriculum stage (M), or the one stage its method has.
  int final_stage() const {
    const Method m = method();
    return m.schedule == Schedule::curriculum ? settings_.max_stage : stage_of_epoch(m, settings_.curriculum(), 0);
  }

  // `samples` laid out as this model's training data was (`what` names them in errors).
  std::vector<TokenizedSample> tokenize(const std::vector<Sample>& samples, const std::string& what) const {
    return coconut::tokenize(samples, words_, what);
  }

  // Answers `samples` with prompts laid out at `stage` (-1: final_stage()).
  ModelScore score(const std::vector<Sample>& samples, int stage = -1, const std::string& what = "samples") {
    const auto tokenized = tokenize(samples, what);
    TrainConfig cfg;
    cfg.method = method();
    cfg.curriculum = settings_.curriculum();
    ModelScore s;
    with_policy(cfg.method, settings_.c, [&]<class Policy>() {
      Trainer<Model, Policy> judge(model_, cfg, special(), words_.id("#"));
      static_cast<EvalResult&>(s) = judge.evaluate(tokenized, stage < 0 ? final_stage() : stage);
    });
    if (!samples.empty() && samples.front().has_graph())
      s.choice = prosqa_choice_accuracy(samples, s.generated, words_, special());
    return s;
  }

 private:
  std::string path_;
  Model model_;
  RunSettings settings_;
  WordTokenizer words_;
};

}  // namespace coconut
