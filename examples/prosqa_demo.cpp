// `make demo`: Coconut on ProsQA, in a few minutes on a laptop's CPU.
//
// Learning ProsQA from scratch takes hours here (docs/RESULTS.md), so the demo
// uses two models trained once and shipped in examples/models/, and shows the rest
// of the pipeline live:
//   1. one question of the official test, answered by the Coconut model, with the
//      top tokens of each continuous thought decoded through the LM head: the
//      nodes the latent search is considering at that depth (the paper's analysis);
//   2. a small model trained for about a minute on generated ProsQA (its loss
//      falls; its answers would need the hours);
//   3. the shipped Coconut and No-CoT models on the 500 official test questions,
//      ending with the line `ProsQA test accuracy: coconut <x>%, no-cot <y>%`.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "coconut/coconut.hpp"
#include "flags.hpp"

using namespace coconut;

#ifndef COCONUT_SHARED_DATA
#define COCONUT_SHARED_DATA "../shared/data"
#endif
#ifndef COCONUT_MODELS_DIR
#define COCONUT_MODELS_DIR "examples/models"
#endif

struct Options {
  std::string models = COCONUT_MODELS_DIR;
  std::string test = std::string(COCONUT_SHARED_DATA) + "/prosqa_test.json";
  std::size_t question = 0;  // which test question part 1 shows
  double live_seconds = 60;  // 0: skip part 2
  bool scores_only = false;  // part 3 alone
  int threads = 0;
};

const char* kUsage = R"(usage: prosqa_demo [flags]
  --models DIR        the shipped models (default: examples/models of the source tree)
  --test F            the official ProsQA test file (default: ../shared/data/prosqa_test.json)
  --question N        the test question shown with its thoughts (default 0)
  --live-seconds S    how long the small model trains live (default 60; 0 skips it)
  --threads N         OpenMP threads (default: all cores)
  --scores-only       only score the models on --test (how examples/models/models.json
                      records their accuracy on the official validation set)
)";

Options parse(int argc, char** argv) {
  Options o;
  Flags args("prosqa_demo", kUsage, argc, argv);
  while (args.next()) {
    if (args.is("--models")) o.models = args.text();
    else if (args.is("--test")) o.test = args.text();
    else if (args.is("--question")) o.question = std::size_t(args.count());
    else if (args.is("--live-seconds")) o.live_seconds = args.number();
    else if (args.is("--threads")) o.threads = int(args.count());
    else if (args.is("--scores-only")) o.scores_only = true;
    else args.unknown();
  }
  return o;
}

// Prints `text` in lines of at most `width` characters, each indented.
void print_wrapped(const std::string& text, std::size_t width = 88, const char* indent = "  ") {
  std::string line;
  std::istringstream in(text);
  for (std::string word; in >> word;) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      std::printf("%s%s\n", indent, line.c_str());
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) std::printf("%s%s\n", indent, line.c_str());
}

// A token or text on one line: newlines shown as \n.
std::string printable(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '\n' ? std::string("\\n") : std::string(1, ch);
  return out;
}

// Part 1: a question, the top tokens of each continuous thought, and the answer.
template <class Config>
void show_thoughts(TrainedModel<Config>& coconut, const Sample& sample) {
  std::printf("\n== 1. A question of the official test, answered by the shipped Coconut model\n\n");
  print_wrapped(sample.question);
  const Method method = coconut.method();
  const auto tokenized = coconut.tokenize({sample}, "the shown question");
  const Sequence laid_out = build_sequence(tokenized.front(), method, coconut.settings().curriculum(),
                                           coconut.final_stage(), coconut.special());
  const std::vector<int> prompt = laid_out.prompt();
  const auto depth = prosqa::depths(sample);  // of every node, from the question's subject
  const auto thoughts = thought_distributions(coconut.model(), prompt, coconut.special().latent);
  std::printf("\nIts %zu continuous thoughts, each decoded through the LM head (top 5 tokens; [d] marks a\n"
              "node d edges below %s; a breadth-first search holds the nodes of one depth per thought):\n",
              thoughts.size(), sample.idx_to_symbol[std::size_t(sample.root)].c_str());
  for (std::size_t i = 0; i < thoughts.size(); ++i) {
    std::printf("  thought %zu:", i + 1);
    for (const auto& [token, probability] : most_probable(thoughts[i], 5)) {
      const std::string word = printable(coconut.words().token(token));
      std::string mark;
      for (std::size_t node = 0; node < sample.idx_to_symbol.size(); ++node)
        if (sample.idx_to_symbol[node] == word && depth[node] >= 0) mark = "[" + std::to_string(depth[node]) + "]";
      std::printf("  %s%s %.2f", word.c_str(), mark.c_str(), probability);
    }
    std::printf("\n");
  }
  const ModelScore answer = coconut.score({sample}, -1, "the shown question");
  std::string said = reference_answer(decode_output(coconut.words(), answer.generated.front(), coconut.special()));
  if (said.size() > 80) said = said.substr(0, 77) + "...";
  std::printf("Answer: %s  (reference: %s) %s\n", printable(said).c_str(), sample.answer.c_str(),
              answer.accuracy > 0 ? "right" : "wrong");
}

// Part 2: a small model trained for `seconds` on generated ProsQA, loss shown falling.
void train_live(double seconds) {
  std::printf("\n== 2. Training a model live for %.0f s on generated ProsQA (the shipped ones trained for hours)\n\n",
              seconds);
  const auto samples = prosqa::generate(4000, /*seed=*/11);
  const WordTokenizer words = WordTokenizer::build(samples);
  const auto train = tokenize(samples, words, "generated ProsQA");
  TrainConfig cfg;
  cfg.method = method_named("coconut");
  cfg.curriculum = {.c_thought = 1, .max_latent_stage = 6, .epochs_per_stage = 5};
  cfg.epochs = 1;  // the CoT stage: where from-scratch training spends its first hours
  cfg.batch_size = 16;
  cfg.lr = 1e-3;
  cfg.warmup_steps = 20;
  cfg.grad_clip = 1;
  cfg.max_seconds = seconds;
  cfg.print_every = 25;
  GPT<Mini> model;
  model.init(0);
  Trainer<GPT<Mini>, ContinuousThought<1>> trainer(model, cfg, word_special_tokens(), words.id("#"));
  std::vector<double> losses;
  trainer.on_step = [&](long, double loss) { losses.push_back(loss); };
  trainer.fit(train, {});
  trainer.progress().message("");  // ends the progress bar's line
  const auto mean = [&](std::size_t from, std::size_t to) {
    double s = 0;
    for (std::size_t i = from; i < to; ++i) s += losses[i];
    return s / double(std::max<std::size_t>(1, to - from));
  };
  const std::size_t n = losses.size(), w = std::min<std::size_t>(10, n);
  std::printf("loss per answer token: %.2f over the first %zu steps, %.2f over the last %zu (of %zu steps)\n",
              mean(0, w), w, mean(n - w, n), w, n);
}

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  try {
    // Each model in the type of its own config (model/config.hpp).
    const std::string coconut_path = o.models + "/prosqa-coconut.ckpt", no_cot_path = o.models + "/prosqa-no-cot.ckpt";
    const std::vector<Sample> test = load_json(o.test);
    if (o.question >= test.size())
      throw std::runtime_error("--question " + std::to_string(o.question) + ": " + o.test + " has " +
                               std::to_string(test.size()) + " questions");

    if (!o.scores_only) {
      with_word_config(saved_model_config(coconut_path), [&]<class Config>() {
        TrainedModel<Config> coconut(coconut_path);
        show_thoughts(coconut, test[o.question]);
      });
      if (o.live_seconds > 0) train_live(o.live_seconds);
      std::printf("\n== 3. The shipped models on the %zu official test questions\n", test.size());
    }
    std::printf("\n");
    std::printf("%-8s %9s %14s %11s %11s\n", "method", "accuracy", "chose target", "gen tokens", "s/question");
    double accuracy[2];
    int row = 0;
    for (const std::string& path : {coconut_path, no_cot_path})
      with_word_config(saved_model_config(path), [&]<class Config>() {
        TrainedModel<Config> m(path);
        const ModelScore s = m.score(test, -1, o.test);
        std::printf("%-8s %8.2f%% %13.2f%% %11.1f %11.4f\n", m.settings().method.c_str(), 100 * s.accuracy,
                    100 * s.choice, s.mean_generated_tokens, s.seconds_per_example);
        accuracy[row++] = s.accuracy;
      });
    if (o.scores_only) return 0;
    std::printf("(how they were trained: %s/README.md; all methods: docs/RESULTS.md)\n\n", o.models.c_str());
    std::printf("ProsQA test accuracy: coconut %.1f%%, no-cot %.1f%%\n", 100 * accuracy[0], 100 * accuracy[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prosqa_demo: %s\n", e.what());
    return 1;
  }
}
