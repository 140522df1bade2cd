// The demo: continuous thoughts on a task that needs several reasoning steps.
//
// Each question is a start digit and a chain of operations modulo 10
// ("4 , + 3 , * 7 , + 5 ?"); the answer is the value at the end. A small 2-layer
// GPT is trained from scratch on generated chains, once with Coconut (a
// chain-of-thought stage, then one step at a time replaced by a continuous
// thought) and once with No-CoT (question to answer directly), with the same
// number of optimizer steps; both answer unseen chains. Then the continuous
// thoughts of one question are decoded through the LM head: each should be near
// the value after its step.
//
// The curriculum mixes stages as the paper's analysis runs do (uniform_prob 0.3:
// a sample trains at a random earlier stage 30% of the time); without it, this
// small model loses most of what it learned at each stage change.
//
//   chain_demo [--ops 3] [--train 4000] [--epochs-per-stage 6] [--uniform-prob 0.3]
//              [--seed 0] [--quick] [--baselines]
//
// --baselines also trains CoT, pause-as-thought and w/o thought (no-thought).
#include <coconut/coconut.hpp>

#include "flags.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace coconut;

struct ChainModel {
  static constexpr std::string_view name = "chain";
  static constexpr int n_layer = 2, n_head = 4, n_embd = 64;
  static constexpr int vocab_size = ChainVocabulary::size, padded_vocab_size = 32, block_size = 64;
};
using V = ChainVocabulary;

struct Options {
  int ops = 3;
  std::size_t train = 4000;
  int epochs_per_stage = 6;
  double uniform_prob = 0.3;
  bool baselines = false;
  std::uint64_t seed = 0;
};

const char* kUsage = R"(usage: chain_demo [flags]
  --ops N               operations per chain (default 3)
  --train N             training chains (default 4000)
  --epochs-per-stage N  (default 6)
  --uniform-prob P      stage mixing probability (default 0.3)
  --seed N              (default 0)
  --quick               1000 chains, one epoch per stage
  --baselines           also CoT, pause as thought and w/o thought
)";

Options parse(int argc, char** argv) {
  Options o;
  Flags args("chain_demo", kUsage, argc, argv);
  while (args.next()) {
    if (args.is("--ops")) o.ops = int(args.count());
    else if (args.is("--train")) o.train = std::size_t(args.count());
    else if (args.is("--epochs-per-stage")) o.epochs_per_stage = int(args.count());
    else if (args.is("--uniform-prob")) o.uniform_prob = args.number();
    else if (args.is("--seed")) o.seed = std::uint64_t(args.count());
    else if (args.is("--quick")) o.train = 1000, o.epochs_per_stage = 1;
    else if (args.is("--baselines")) o.baselines = true;
    else args.unknown();
  }
  return o;
}

struct Result {
  std::string method;
  EvalResult eval;
  double seconds;
};

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const auto train = make_chains(opt.train, opt.ops, opt.seed + 1);
  const auto valid = make_chains(200, opt.ops, opt.seed + 2);
  const auto test = make_chains(500, opt.ops, opt.seed + 3);
  std::vector<int> steps;
  for (const auto& s : test[0].steps) steps.push_back(s[0]);
  std::printf("Chain: %zu training questions of %d operations modulo 10, e.g.\n  %s   steps: %s   answer: %s\n\n",
              train.size(), opt.ops, V::text(test[0].question).c_str(), V::text(steps).c_str(),
              V::text(test[0].answer).c_str());

  // Coconut: stage 0 is chain of thought, stage k replaces k steps by k thoughts.
  TrainConfig cfg;
  cfg.curriculum = {.c_thought = 1, .max_latent_stage = opt.ops, .epochs_per_stage = opt.epochs_per_stage,
                   .uniform_prob = opt.uniform_prob};
  cfg.epochs = (opt.ops + 1) * opt.epochs_per_stage;
  cfg.batch_size = 32;
  cfg.lr = 1e-3;
  cfg.warmup_steps = 50;
  cfg.grad_clip = 1.0;
  cfg.seed = opt.seed;
  cfg.max_new_tokens = opt.ops + 4;
  cfg.print_every = 1000000;  // one line per epoch is enough here

  std::vector<Result> results;
  GPT<ChainModel> coconut_model;
  std::vector<std::string> methods = {"coconut", "no-cot"};
  if (opt.baselines) methods.insert(methods.end(), {"cot", "pause-as-thought", "no-thought"});
  for (const std::string& name : methods) {
    cfg.method = method_named(name);
    GPT<ChainModel> fresh;
    GPT<ChainModel>& model = name == "coconut" ? coconut_model : fresh;
    model.init(opt.seed);
    std::printf("== training %s (%d epochs)\n", name.c_str(), cfg.epochs);
    with_policy(cfg.method, 1, [&]<class Policy>() {
      Trainer<GPT<ChainModel>, Policy> trainer(model, cfg, V::special(), V::hash);
      trainer.fit(train, valid);
      const int final_stage = trainer.stage(cfg.epochs - 1);
      results.push_back({name, trainer.evaluate(test, final_stage), trainer.progress().elapsed()});
    });
  }

  // What the thoughts hold: the LM head applied to each fed-back hidden state.
  const auto& q = test[1];
  const Sequence s = build_sequence(q, method_named("coconut"), cfg.curriculum, opt.ops, V::special());
  Batch batch(1, Index(s.prompt_length));
  batch.tokens = s.prompt();
  ContinuousThought<1> policy;
  policy.forward(coconut_model, batch, V::latent);
  std::printf("\nOne test question: %s\n", V::text(q.question).c_str());
  const Index first = policy.plan().first;
  for (int i = 0; i < opt.ops; ++i) {
    std::printf("  thought %d (value after step %d is %s):", i + 1, i + 1, V::word(q.steps[i][0]).c_str());
    for (const auto& tp : decode_thought(coconut_model, 0, first + i, 3))
      std::printf("  %s %.2f", V::word(tp.token).c_str(), tp.probability);
    std::printf("\n");
  }

  std::printf("\n%-17s %10s %18s %12s\n", "method", "accuracy", "generated tokens", "train time");
  for (const auto& r : results)
    std::printf("%-17s %9.1f%% %18.1f %11.0fs\n", r.method.c_str(), 100 * r.eval.accuracy,
                r.eval.mean_generated_tokens, r.seconds);
  std::printf("\nChain test accuracy: coconut %.1f%%, no-cot %.1f%%\n", 100 * results[0].eval.accuracy,
              100 * results[1].eval.accuracy);
  return 0;
}
