// coconut_train: train and evaluate Coconut and its baselines on a reasoning task.
//
//   coconut_train --task prosqa --methods coconut,no-cot --config small --epochs 50
//
// Tasks: prosqa and prontoqa (training and validation data generated from a seed;
// ProsQA is tested on the official test set), or json (--train/--valid/--test
// files in the reference's format). Each method trains with the same settings
// and the same number of optimizer steps, keeps its best checkpoint by validation
// accuracy, and is scored on the test set; a table compares them at the end.
// Every run writes <out>/<method>.ckpt (resumable with --resume), <method>.ckpt.best
// and a JSONL log <method>.jsonl. Run with --help for every flag.
//
// Data parallel: `mpirun -np K coconut_train ... --threads T` runs K ranks of T
// threads each, with --batch rows per rank (a global batch of K times that); rank
// 0 alone prints, evaluates and writes checkpoints, and any rank can resume from
// them, with any K.
#include <coconut/coconut.hpp>

#include <omp.h>
#ifdef COCONUT_WITH_MPI
#include <coconut/distributed/mpi.hpp>
#endif

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace coconut;
namespace fs = std::filesystem;

#ifndef COCONUT_SHARED_DATA
#define COCONUT_SHARED_DATA "../shared/data"
#endif

struct Options {
  std::string task = "prosqa";
  std::string train_json, valid_json, test_json;
  std::size_t train_size = 17886, valid_size = 300, test_limit = 0;
  std::vector<std::string> methods = {"coconut"};
  std::string config = "small";
  int c = 1, max_stage = 6, epochs_per_stage = 5, epochs = 50;
  Index batch = 32;
  double lr = 1e-4, weight_decay = 0.01, grad_clip = 0, uniform_prob = 0;
  long warmup = 0, max_steps = 0;
  std::string reset = "stage";
  std::uint64_t seed = 0;
  int threads = 0;
  Index max_new_tokens = 128;
  double checkpoint_minutes = 5;
  std::string out = "runs";
  bool resume = false;
  long fail_at_step = 0;  // testing: the rank --fail-rank throws after this step
  int fail_rank = 0;
};

const char* kUsage = R"(usage: coconut_train [flags]
  --task prosqa|prontoqa|json     what to learn (default prosqa)
  --train F --valid F --test F    JSON files (--task json; --test also overrides the
                                  ProsQA official test file)
  --train-size N --valid-size N   generated samples (default 17886 and 300)
  --test-limit N                  score only the first N test samples (0: all)
  --methods a,b,...               coconut cot no-cot no-curriculum no-thought
                                  pause-token pause-as-thought (default coconut)
  --config tiny|mini|small        model shape (default small)
  --c N                           continuous thoughts per step (default 1)
  --max-stage M                   last curriculum stage (default 6)
  --epochs-per-stage N --epochs N (default 5 and 50)
  --batch N --lr X --warmup N --weight-decay X --grad-clip X   (default 32 1e-4 0 0.01 0)
  --uniform-prob P                stage mixing probability (default 0)
  --reset stage|epoch|never       when the optimizer is re-created (default stage)
  --seed N --threads N            (threads 0: OpenMP's default)
  --max-steps N                   stop after N optimizer steps (resume later)
  --max-new-tokens N              generation limit (default 128)
  --checkpoint-minutes X          checkpoint interval (default 5)
  --out DIR                       where checkpoints and logs go (default runs)
  --resume                        continue each method from DIR/<method>.ckpt
  --args-file F                   read more flags from F (whitespace separated)
  --fail-at-step N --fail-rank R  testing: rank R fails after step N
)";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "coconut_train: %s\n\n%s", what.c_str(), kUsage);
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);)
    if (!part.empty()) out.push_back(part);
  return out;
}

Options parse(std::vector<std::string> args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) usage_error(a + " needs a value");
      return args[++i];
    };
    const auto number = [&]() {
      const std::string v = value();
      try {
        std::size_t used = 0;
        const double x = std::stod(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return x;
      } catch (const std::exception&) {
        usage_error(a + " expects a number, got '" + v + "'");
      }
    };
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      std::exit(0);
    } else if (a == "--task") o.task = value();
    else if (a == "--train") o.train_json = value();
    else if (a == "--valid") o.valid_json = value();
    else if (a == "--test") o.test_json = value();
    else if (a == "--train-size") o.train_size = std::size_t(number());
    else if (a == "--valid-size") o.valid_size = std::size_t(number());
    else if (a == "--test-limit") o.test_limit = std::size_t(number());
    else if (a == "--methods") o.methods = split(value(), ',');
    else if (a == "--config") o.config = value();
    else if (a == "--c") o.c = int(number());
    else if (a == "--max-stage") o.max_stage = int(number());
    else if (a == "--epochs-per-stage") o.epochs_per_stage = int(number());
    else if (a == "--epochs") o.epochs = int(number());
    else if (a == "--batch") o.batch = Index(number());
    else if (a == "--lr") o.lr = number();
    else if (a == "--warmup") o.warmup = long(number());
    else if (a == "--weight-decay") o.weight_decay = number();
    else if (a == "--grad-clip") o.grad_clip = number();
    else if (a == "--uniform-prob") o.uniform_prob = number();
    else if (a == "--reset") o.reset = value();
    else if (a == "--seed") o.seed = std::uint64_t(number());
    else if (a == "--threads") o.threads = int(number());
    else if (a == "--max-steps") o.max_steps = long(number());
    else if (a == "--max-new-tokens") o.max_new_tokens = Index(number());
    else if (a == "--checkpoint-minutes") o.checkpoint_minutes = number();
    else if (a == "--out") o.out = value();
    else if (a == "--resume") o.resume = true;
    else if (a == "--fail-at-step") o.fail_at_step = long(number());
    else if (a == "--fail-rank") o.fail_rank = int(number());
    else if (a == "--args-file") {
      std::ifstream in(value());
      if (!in) usage_error("cannot read --args-file " + args[i]);
      std::vector<std::string> more;
      for (std::string w; in >> w;) more.push_back(w);
      args.insert(args.begin() + long(i) + 1, more.begin(), more.end());
    } else usage_error("unknown flag " + a);
  }
  for (const auto& m : o.methods) method_named(m);  // unknown names fail here, before any work
  if (o.reset != "stage" && o.reset != "epoch" && o.reset != "never") usage_error("--reset must be stage, epoch or never");
  if (o.task == "json" && (o.train_json.empty() || o.valid_json.empty() || o.test_json.empty()))
    usage_error("--task json needs --train, --valid and --test");
  return o;
}

// The data of a task, as text samples.
struct TaskData {
  std::vector<Sample> train, valid, test;
  std::string test_name;
};

TaskData load_task(const Options& o) {
  TaskData d;
  if (o.task == "prosqa") {
    d.train = prosqa::generate(o.train_size, o.seed * 7919 + 1);
    d.valid = prosqa::generate(o.valid_size, o.seed * 7919 + 2);
    d.test_name = o.test_json.empty() ? std::string(COCONUT_SHARED_DATA) + "/prosqa_test.json" : o.test_json;
    d.test = load_json(d.test_name);
  } else if (o.task == "prontoqa") {
    d.train = prontoqa::generate(o.train_size, o.seed * 7919 + 1);
    d.valid = prontoqa::generate(o.valid_size, o.seed * 7919 + 2);
    d.test = prontoqa::generate(800, o.seed * 7919 + 3);
    d.test_name = "generated ProntoQA test (800)";
  } else if (o.task == "json") {
    d.train = load_json(o.train_json);
    d.valid = load_json(o.valid_json);
    d.test = load_json(o.test_json);
    d.test_name = o.test_json;
  } else {
    usage_error("unknown task '" + o.task + "'");
  }
  if (o.test_limit > 0 && d.test.size() > o.test_limit) d.test.resize(o.test_limit);
  return d;
}

struct Score {
  std::string method;
  double accuracy = 0, choice = -1, tokens = 0, seconds_per_example = 0, train_seconds = 0;
  long steps = 0;
};

template <class Config>
Score run_method(const Options& o, Collective* group, const std::string& name, const TaskData& data, const WordTokenizer& tok,
                 const std::vector<TokenizedSample>& train, const std::vector<TokenizedSample>& valid,
                 const std::vector<TokenizedSample>& test) {
  TrainConfig cfg;
  cfg.method = method_named(name);
  cfg.curriculum = {.c_thought = o.c, .max_latent_stage = o.max_stage, .epochs_per_stage = o.epochs_per_stage,
                    .pad_latent_to_max = true, .uniform_prob = o.uniform_prob};
  cfg.epochs = o.epochs;
  cfg.batch_size = o.batch;
  cfg.lr = o.lr;
  cfg.warmup_steps = o.warmup;
  cfg.adamw.weight_decay = o.weight_decay;
  cfg.grad_clip = o.grad_clip;
  cfg.reset_optimizer = o.reset == "epoch"   ? TrainConfig::Reset::per_epoch
                        : o.reset == "never" ? TrainConfig::Reset::never
                                             : TrainConfig::Reset::per_stage;
  cfg.seed = o.seed;
  cfg.max_new_tokens = o.max_new_tokens;
  cfg.max_steps = o.max_steps;
  cfg.checkpoint = (fs::path(o.out) / (name + ".ckpt")).string();
  cfg.checkpoint_seconds = 60 * o.checkpoint_minutes;
  cfg.log = (fs::path(o.out) / (name + ".jsonl")).string();
  fs::create_directories(o.out);

  GPT<Config> model;
  model.init(o.seed);
  Score score{name};
  with_policy(cfg.method, o.c, [&]<class Policy>() {
    Trainer<GPT<Config>, Policy> trainer(model, cfg, word_special_tokens(), tok.id("#"));
    trainer.set_collective(group);
    trainer.vocabulary = tok.tokens();
    if (o.fail_at_step > 0)
      trainer.on_step = [&](long step) {
        if (step == o.fail_at_step && trainer.rank() == o.fail_rank)
          throw std::runtime_error("failing on purpose after step " + std::to_string(step) + " (--fail-at-step)");
      };
    if (o.resume && fs::exists(cfg.checkpoint)) {
      trainer.resume(cfg.checkpoint);
      if (load_checkpoint(cfg.checkpoint).vocabulary != tok.tokens())
        throw std::runtime_error(cfg.checkpoint + " was trained with another vocabulary (different data or seed)");
    }
    if (trainer.is_root()) trainer.progress().message("== " + name + ": " + std::to_string(cfg.epochs) + " epochs of " +
                               std::to_string(trainer.steps_per_epoch(train.size())) + " steps, model '" +
                               std::string(Config::name) + "'");
    trainer.fit(train, valid);
    score.train_seconds = trainer.progress().elapsed();
    score.steps = trainer.global_step();
    if (!trainer.is_root()) return;  // rank 0 scores the model
    if (cfg.max_steps > 0 && trainer.global_step() < long(cfg.epochs) * trainer.steps_per_epoch(train.size())) {
      trainer.progress().message("stopped at step " + std::to_string(trainer.global_step()) + " (--max-steps); " +
                                 "scoring the model as it is");
    } else if (fs::exists(cfg.checkpoint + ".best")) {
      trainer.resume(cfg.checkpoint + ".best");  // the best epoch by validation accuracy
    }
    const EvalResult r = trainer.evaluate(test, trainer.stage(cfg.epochs - 1));
    score.accuracy = r.accuracy;
    score.tokens = r.mean_generated_tokens;
    score.seconds_per_example = r.seconds_per_example;
    if (o.task == "prosqa") {
      double chose = 0;
      for (std::size_t i = 0; i < test.size(); ++i) chose += prosqa_choice(data.test[i], answer_text(tok.decode(r.generated[i]))) > 0;
      score.choice = chose / double(test.size());
    }
  });
  return score;
}

int run(const Options& o, Collective* group) {
  const bool root = !group || group->is_root();
  if (o.threads > 0) {
    omp_set_num_threads(o.threads);
    Eigen::setNbThreads(o.threads);
  }
  const TaskData data = load_task(o);
  const WordTokenizer tok = WordTokenizer::build(data.train);
  if (root)
    std::printf("task %s: %zu train, %zu valid, %zu test (%s); vocabulary %d words\n", o.task.c_str(),
              data.train.size(), data.valid.size(), data.test.size(), data.test_name.c_str(), tok.size());
  const auto train = tokenize(data.train, tok, "training data");
  const auto valid = tokenize(data.valid, tok, "validation data");
  const auto test = tokenize(data.test, tok, data.test_name);

  std::vector<Score> scores;
  for (const auto& name : o.methods) {
    const auto run = [&]<class Config>() {
      if (tok.size() > Config::vocab_size)
        throw std::runtime_error("vocabulary of " + std::to_string(tok.size()) + " words exceeds model '" +
                                 std::string(Config::name) + "' vocab_size " + std::to_string(Config::vocab_size));
      scores.push_back(run_method<Config>(o, group, name, data, tok, train, valid, test));
    };
    if (o.config == "tiny") run.template operator()<Tiny>();
    else if (o.config == "mini") run.template operator()<Mini>();
    else if (o.config == "small") run.template operator()<Small>();
    else usage_error("unknown --config '" + o.config + "' (tiny, mini, small)");
  }

  if (!root) return 0;
  std::printf("\n%s test (%zu samples)\n", o.task.c_str(), test.size());
  std::printf("%-18s %9s %9s %11s %12s %8s %10s\n", "method", "accuracy", "choice", "gen tokens", "s/example",
              "steps", "train time");
  for (const auto& s : scores) {
    const std::string choice = s.choice < 0 ? "-" : Progress::fixed(100 * s.choice, 1) + "%";
    std::printf("%-18s %8.1f%% %9s %11.1f %12.4f %8ld %10s\n", s.method.c_str(), 100 * s.accuracy, choice.c_str(),
                s.tokens, s.seconds_per_example, s.steps, Progress::format_time(s.train_seconds).c_str());
  }
  return 0;
}

int main(int argc, char** argv) {
#ifdef COCONUT_WITH_MPI
  MpiWorld world(&argc, &argv);
  Collective* group = world.size() > 1 ? &world : nullptr;
#else
  Collective* group = nullptr;
#endif
  try {
    return run(parse(std::vector<std::string>(argv + 1, argv + argc)), group);
  } catch (const std::exception& e) {
#ifdef COCONUT_WITH_MPI
    if (group) world.abort(e.what());  // takes every rank down, naming this one
#endif
    std::fprintf(stderr, "coconut_train: %s\n", e.what());
    return 1;
  }
}
