// coconut_train: train and evaluate Coconut and its baselines on a reasoning task.
//
//   coconut_train --task prosqa --methods coconut,no-cot --config small --epochs 50
//
// Tasks: prosqa and prontoqa (training and validation data generated from a seed;
// ProsQA is tested on the official test set), gsm8k (the reference's JSON files;
// validation and test default to the official gsm_valid.json and gsm_test.json),
// or json (--train/--valid/--test files in the reference's format).
//
// Tokenizers: a word list built from the training data (the synthetic tasks), or
// GPT-2's byte-level BPE with the three latent tokens as ids 50257-50259, for a
// pretrained GPT-2 (--init model.safetensors) fine-tuned as the paper does:
//
//   coconut_train --task gsm8k --train gsm_train.json --methods cot
//                 --init gpt2/model.safetensors --export runs/gsm-cot
//
// (the README's "Pretrained GPT-2 and GSM8k" has the whole recipe).
//
// Each method trains with the same settings and the same number of optimizer
// steps, keeps its best checkpoint by validation accuracy, and is scored on the
// test set; a table compares them at the end.
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

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "flags.hpp"

using namespace coconut;
namespace fs = std::filesystem;

#ifndef COCONUT_SHARED_DATA
#define COCONUT_SHARED_DATA "../shared/data"
#endif

// The model shapes of --config (model/config.hpp), dispatched in main: the
// word-model configs and GPT-2 124M.
bool known_config(const std::string& config) {
  return config == "gpt2" || std::ranges::find(word_config_names, config) != word_config_names.end();
}
std::string config_list() { return word_config_list() + ", gpt2"; }
// GPT-2's architecture: a learned position table and no mixing of inputs (what
// --position-init and --export need). `config` is known.
bool is_gpt2_architecture(const std::string& config) {
  return config == "gpt2" || with_word_config(config, []<class Config>() {
           return position_encoding<Config>() == PositionEncoding::learned && previous_tokens<Config>() == 0;
         });
}

struct Options {
  std::string task = "prosqa";
  std::string train_json, valid_json, test_json;
  std::size_t train_size = 17886, valid_size = 300, test_limit = 0;
  std::optional<long> prosqa_nodes;        // graph size of generated ProsQA (default: prosqa::Config's)
  std::vector<std::string> methods = {"coconut"};
  std::string tokenizer;                   // word or gpt2; empty: gpt2 for gsm8k, word otherwise
  std::string tokenizer_dir = "models/gpt2";
  std::string init;                        // Hugging Face GPT-2 weights to start from
  std::string from;                        // a checkpoint of this program to start from
  std::string export_dir;                  // where the best model goes as Hugging Face GPT-2
  std::string config;                      // empty: gpt2 with the gpt2 tokenizer, small otherwise
  int c = 1, max_stage = 6, epochs_per_stage = 5, cot_epochs = 0, epochs = 50, start_epoch = 0;
  Index batch = 32;
  double lr = 1e-4, weight_decay = 0.01, grad_clip = 0, uniform_prob = 0;
  long warmup = 0, max_steps = 0;
  std::string reset = "stage";
  std::uint64_t seed = 0;
  int threads = 0;
  Index max_new_tokens = 0;  // 0: 64 for gsm8k (the reference's), 128 otherwise
  double checkpoint_minutes = 5;
  std::string out = "runs";
  bool resume = false;
  bool group_by_length = false;
  PositionInit position_init = PositionInit::normal;  // of a model trained from scratch
  bool evaluate_only = false;  // score the starting model on the test set, no training
  std::string command;  // the command line, kept in checkpoints
  long fail_at_step = 0;  // testing: the rank --fail-rank throws after this step
  int fail_rank = 0;
};

const char* kUsage = R"(usage: coconut_train [flags]
  --task prosqa|prontoqa|gsm8k|json   what to learn (default prosqa)
  --train F --valid F --test F    JSON files (--task json; gsm8k needs --train and reads
                                  the official gsm_valid/gsm_test.json unless given;
                                  --test also overrides the ProsQA official test file)
  --train-size N --valid-size N   generated samples (default 17886 and 300)
  --prosqa-nodes N                nodes grown per generated ProsQA graph, training and
                                  validation data: 6 to 40 (default 28, the official files'
                                  size; 12 makes questions a third as long); the test stays official
  --test-limit N                  score only the first N test samples (0: all)
  --methods a,b,...               coconut cot no-cot no-curriculum no-thought
                                  pause-token pause-as-thought (default coconut)
  --tokenizer word|gpt2           word list of the training data, or GPT-2's BPE
                                  (default word; gpt2 for --task gsm8k)
  --tokenizer-dir DIR             GPT-2's encoder.json + vocab.bpe (or vocab.json +
                                  merges.txt); default models/gpt2 (make gpt2-tokenizer)
  --init F                        start from Hugging Face GPT-2 weights F (safetensors,
                                  config.json beside it; needs --tokenizer gpt2)
  --from F                        start from the parameters of checkpoint F written by this
                                  program (same --config and data), e.g. the best CoT
                                  model as the CoT stage of a Coconut run
  --export DIR                    write the best model to DIR as Hugging Face GPT-2
                                  (model.safetensors + config.json; DIR/<method>/ when
                                  several methods run)
  --config tiny|mini|mini-rotary|mini-rotary-h8|mini-mixed|wide|wide-mixed|small|gpt2
                                  model shape (default small; gpt2, i.e. GPT-2 124M
                                  with the latent tokens, with --tokenizer gpt2;
                                  mini-rotary: mini with rotary positions, no table;
                                  mini-rotary-h8: the same with 8 heads of 16;
                                  mini-mixed: mini-rotary whose inputs mix in the
                                  3 tokens before them; wide-mixed: the same on wide)
  --c N                           continuous thoughts per step (default 1)
  --max-stage M                   last curriculum stage (default 6)
  --epochs-per-stage N --epochs N (default 5 and 50)
  --cot-epochs N                  epochs of stage 0, the CoT stage (default: epochs-per-stage)
  --start-epoch N                 begin at epoch N, i.e. at the stage of epoch N (the
                                  reference's `resume: N`; its GSM8k Coconut run skips
                                  stage 0, which the CoT model it starts from has done)
  --batch N --lr X --warmup N --weight-decay X --grad-clip X   (default 32 1e-4 0 0.01 0)
  --uniform-prob P                stage mixing probability (default 0)
  --reset stage|epoch|never       when the optimizer is re-created (default stage)
  --group-by-length               batches of similar lengths: less padding, faster epochs
  --position-init normal|sinusoidal   position embeddings of a model trained from scratch:
                                  GPT-2's N(0, 0.02) (default), or sines and cosines
  --seed N --threads N            (threads 0: OpenMP's default)
  --max-steps N                   stop after N optimizer steps (resume later)
  --max-new-tokens N              generation limit (default 64 for gsm8k, else 128)
  --checkpoint-minutes X          checkpoint interval (default 5)
  --out DIR                       where checkpoints and logs go (default runs)
  --resume                        continue each method from DIR/<method>.ckpt
  --evaluate-only                 no training: score the --from (or --init) model on the
                                  validation and test sets at the last epoch's stage
  --args-file F                   read more flags from F (whitespace separated)
  --fail-at-step N --fail-rank R  testing: rank R fails after step N
)";

[[noreturn]] void usage_error(const std::string& what) { Flags::usage_error("coconut_train", kUsage, what); }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);)
    if (!part.empty()) out.push_back(part);
  return out;
}

Options parse(Flags args) {
  Options o;
  o.command = args.command_line();
  while (args.next()) {
    if (args.is("--task")) o.task = args.text();
    else if (args.is("--train")) o.train_json = args.text();
    else if (args.is("--valid")) o.valid_json = args.text();
    else if (args.is("--test")) o.test_json = args.text();
    else if (args.is("--train-size")) o.train_size = std::size_t(args.count());
    else if (args.is("--valid-size")) o.valid_size = std::size_t(args.count());
    else if (args.is("--test-limit")) o.test_limit = std::size_t(args.count());
    else if (args.is("--prosqa-nodes")) o.prosqa_nodes = args.count();
    else if (args.is("--methods")) o.methods = split(args.text(), ',');
    else if (args.is("--config")) o.config = args.text();
    else if (args.is("--tokenizer")) o.tokenizer = args.text();
    else if (args.is("--tokenizer-dir")) o.tokenizer_dir = args.text();
    else if (args.is("--init")) o.init = args.text();
    else if (args.is("--from")) o.from = args.text();
    else if (args.is("--cot-epochs")) o.cot_epochs = int(args.count());
    else if (args.is("--export")) o.export_dir = args.text();
    else if (args.is("--c")) o.c = int(args.count());
    else if (args.is("--max-stage")) o.max_stage = int(args.count());
    else if (args.is("--epochs-per-stage")) o.epochs_per_stage = int(args.count());
    else if (args.is("--epochs")) o.epochs = int(args.count());
    else if (args.is("--start-epoch")) o.start_epoch = int(args.count());
    else if (args.is("--batch")) o.batch = Index(args.count());
    else if (args.is("--lr")) o.lr = args.number();
    else if (args.is("--warmup")) o.warmup = long(args.count());
    else if (args.is("--weight-decay")) o.weight_decay = args.number();
    else if (args.is("--grad-clip")) o.grad_clip = args.number();
    else if (args.is("--uniform-prob")) o.uniform_prob = args.number();
    else if (args.is("--reset")) o.reset = args.text();
    else if (args.is("--group-by-length")) o.group_by_length = true;
    else if (args.is("--position-init")) {
      const std::string how = args.text();
      if (how == "sinusoidal") o.position_init = PositionInit::sinusoidal;
      else if (how != "normal") usage_error("--position-init must be normal or sinusoidal, not " + how);
    }
    else if (args.is("--seed")) o.seed = std::uint64_t(args.count());
    else if (args.is("--threads")) o.threads = int(args.count());
    else if (args.is("--max-steps")) o.max_steps = long(args.count());
    else if (args.is("--max-new-tokens")) o.max_new_tokens = Index(args.count());
    else if (args.is("--checkpoint-minutes")) o.checkpoint_minutes = args.number();
    else if (args.is("--out")) o.out = args.text();
    else if (args.is("--resume")) o.resume = true;
    else if (args.is("--evaluate-only")) o.evaluate_only = true;
    else if (args.is("--fail-at-step")) o.fail_at_step = long(args.count());
    else if (args.is("--fail-rank")) o.fail_rank = int(args.count());
    else if (args.is("--args-file")) {
      const std::string file = args.text();
      std::ifstream in(file);
      if (!in) args.error("cannot read --args-file " + file);
      std::vector<std::string> more;
      for (std::string w; in >> w;) more.push_back(w);
      args.insert(more);
    } else args.unknown();
  }
  for (const auto& m : o.methods) method_named(m);  // unknown names fail here, before any work
  if (o.reset != "stage" && o.reset != "epoch" && o.reset != "never") usage_error("--reset must be stage, epoch or never");
  if (o.position_init != PositionInit::normal && (!o.from.empty() || !o.init.empty()))
    usage_error("--position-init initialises a model trained from scratch; --from and --init load one");
  if (o.prosqa_nodes && o.task != "prosqa") usage_error("--prosqa-nodes needs --task prosqa");
  // The fewest nodes a question of 3 steps needs: the two seeds, the two nodes
  // between the root and the answer, the answer and the distractor.
  if (o.prosqa_nodes && (*o.prosqa_nodes < 6 || *o.prosqa_nodes > long(prosqa::concept_names.size()) + 2))
    usage_error("--prosqa-nodes must be in [6, " + std::to_string(prosqa::concept_names.size() + 2) +
                "] (a 3-step question needs 6 nodes; there are " + std::to_string(prosqa::concept_names.size()) +
                " concept names), not " + std::to_string(*o.prosqa_nodes));
  if (o.task == "json" && (o.train_json.empty() || o.valid_json.empty() || o.test_json.empty()))
    usage_error("--task json needs --train, --valid and --test");
  if (o.task == "gsm8k" && o.train_json.empty())
    usage_error("--task gsm8k needs --train (GSM8k-Aug's training file is not shipped; see the README)");
  if (o.tokenizer.empty()) o.tokenizer = o.task == "gsm8k" ? "gpt2" : "word";
  if (o.tokenizer != "word" && o.tokenizer != "gpt2") usage_error("--tokenizer must be word or gpt2");
  if (o.config.empty()) o.config = o.tokenizer == "gpt2" ? "gpt2" : "small";
  if (!known_config(o.config)) usage_error("unknown --config '" + o.config + "' (" + config_list() + ")");
  if (!is_gpt2_architecture(o.config) && o.position_init != PositionInit::normal)
    usage_error("--position-init sets the position table, and '" + o.config + "' has rotary positions instead");
  if (!is_gpt2_architecture(o.config) && !o.export_dir.empty())
    usage_error("--export writes Hugging Face GPT-2, and '" + o.config + "' is not GPT-2's architecture");
  if (o.tokenizer == "gpt2" && o.config != "gpt2")  // any BPE has at least 256 tokens; the others hold 128
    usage_error("--tokenizer gpt2 needs --config gpt2: its 50257 + 3 tokens do not fit model '" + o.config + "'");
  if (!o.init.empty() && o.tokenizer != "gpt2")
    usage_error("--init loads GPT-2 weights, whose embedding rows are GPT-2's BPE tokens: add --tokenizer gpt2");
  if (!o.init.empty() && !o.from.empty()) usage_error("--init and --from both give the starting weights: pick one");
  if (o.cot_epochs < 0) usage_error("--cot-epochs must be at least 0");
  if (o.evaluate_only && o.from.empty() && o.init.empty())
    usage_error("--evaluate-only scores a trained model: give it with --from (or --init)");
  if (o.start_epoch < 0 || o.start_epoch >= o.epochs) usage_error("--start-epoch must be in [0, --epochs)");
  if (o.max_new_tokens == 0) o.max_new_tokens = o.task == "gsm8k" ? 64 : 128;
  return o;
}

// The data of a task, as text samples.
struct TaskData {
  std::vector<Sample> train, valid, test;
  std::string train_name = "files", valid_name, test_name;  // where they come from
};

TaskData load_task(const Options& o) {
  TaskData d;
  if (o.task == "prosqa") {
    const prosqa::Config graphs{.nodes = int(o.prosqa_nodes.value_or(prosqa::Config{}.nodes))};
    d.train = prosqa::generate(o.train_size, o.seed * 7919 + 1, graphs);
    d.valid = prosqa::generate(o.valid_size, o.seed * 7919 + 2, graphs);
    d.train_name = d.valid_name = "generated, graphs of " + std::to_string(graphs.nodes) + " nodes";
    d.test_name = o.test_json.empty() ? std::string(COCONUT_SHARED_DATA) + "/prosqa_test.json" : o.test_json;
    d.test = load_json(d.test_name);
  } else if (o.task == "prontoqa") {
    d.train = prontoqa::generate(o.train_size, o.seed * 7919 + 1);
    d.valid = prontoqa::generate(o.valid_size, o.seed * 7919 + 2);
    d.train_name = d.valid_name = "generated";
    d.test = prontoqa::generate(800, o.seed * 7919 + 3);
    d.test_name = "generated ProntoQA test (800)";
  } else if (o.task == "gsm8k") {
    const std::string shared(COCONUT_SHARED_DATA);
    d.train = load_json(o.train_json);
    d.valid_name = o.valid_json.empty() ? shared + "/gsm_valid.json" : o.valid_json;
    d.valid = load_json(d.valid_name);
    d.test_name = o.test_json.empty() ? shared + "/gsm_test.json" : o.test_json;
    d.test = load_json(d.test_name);
  } else if (o.task == "json") {
    d.train = load_json(o.train_json);
    d.valid = load_json(o.valid_json);
    d.valid_name = o.valid_json;
    d.test = load_json(o.test_json);
    d.test_name = o.test_json;
  } else {
    usage_error("unknown task '" + o.task + "'");
  }
  if (o.test_limit > 0 && d.test.size() > o.test_limit) d.test.resize(o.test_limit);
  return d;
}

// The tokenizer of a run: the words of the training data (ids of tokenizer.hpp), or
// GPT-2's byte-level BPE with <|start-latent|>, <|end-latent|> and <|latent|> after
// its 50257 tokens, the ids add_latent_tokens gives their embedding rows.
class RunTokenizer {
 public:
  static RunTokenizer words(const std::vector<Sample>& train) {
    RunTokenizer t;
    t.words_ = WordTokenizer::build(train);
    t.base_ = t.words_.size();
    t.special_ = word_special_tokens();
    return t;
  }

  static RunTokenizer gpt2(const std::string& dir) {
    const fs::path d(dir);
    const auto both = [&](const char* a, const char* b) { return fs::exists(d / a) && fs::exists(d / b); };
    fs::path vocab, merges;
    if (both("encoder.json", "vocab.bpe")) vocab = d / "encoder.json", merges = d / "vocab.bpe";
    else if (both("vocab.json", "merges.txt")) vocab = d / "vocab.json", merges = d / "merges.txt";
    else
      throw std::runtime_error("--tokenizer-dir " + dir + ": no GPT-2 tokenizer there (encoder.json + vocab.bpe, or " +
                               "vocab.json + merges.txt); `make gpt2-tokenizer` fetches them into models/gpt2");
    RunTokenizer t;
    t.bpe_ = BytePairEncoding::load(vocab.string(), merges.string());
    t.source_ = dir;
    t.base_ = t.bpe_->size();
    t.special_.eos = t.bpe_->id("<|endoftext|>");
    t.special_.bot = t.bpe_->add_special_token("<|start-latent|>");
    t.special_.eot = t.bpe_->add_special_token("<|end-latent|>");
    t.special_.latent = t.bpe_->add_special_token("<|latent|>");
    if (t.special_.bot != t.base_ || t.special_.eot != t.base_ + 1 || t.special_.latent != t.base_ + 2)
      throw std::runtime_error(vocab.string() + ": the latent tokens got ids " + std::to_string(t.special_.bot) + ", " +
                               std::to_string(t.special_.eot) + ", " + std::to_string(t.special_.latent) +
                               "; the model gives them rows " + std::to_string(t.base_) + ".." +
                               std::to_string(t.base_ + 2) + " (is one of them in the vocabulary already?)");
    // What identifies the tokenizer in a checkpoint: its size and a fingerprint of
    // its tokens and merges (not the path, so the files may move).
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
    const auto mix = [&](const std::string& x) {
      for (unsigned char c : x) h = (h ^ c) * 1099511628211ULL;
      h = (h ^ 0xFF) * 1099511628211ULL;  // a separator no UTF-8 text contains
    };
    for (int id = 0; id < t.bpe_->size(); ++id) mix(t.bpe_->token(id));
    std::ifstream in(merges);
    for (std::string line; std::getline(in, line);) mix(line.ends_with('\r') ? line.substr(0, line.size() - 1) : line);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    t.identity_ = {"gpt2 byte-level BPE", "tokens " + std::to_string(t.size()), "fingerprint " + std::string(hex)};
    return t;
  }

  bool is_gpt2() const { return bpe_.has_value(); }
  const WordTokenizer& words() const { return words_; }
  std::vector<int> encode(const std::string& text) const { return bpe_ ? bpe_->encode(text) : words_.encode(text); }
  std::string decode(const std::vector<int>& ids) const { return bpe_ ? bpe_->decode(ids) : words_.decode(ids); }
  int size() const { return bpe_ ? bpe_->size() : words_.size(); }
  int base_size() const { return base_; }  // the tokens before the latent ones (words: all of them)
  const SpecialTokens& special() const { return special_; }
  // The word tokenizer's '#' for the token-level check; BPE answers are compared as text.
  int answer_marker() const { return bpe_ ? -1 : words_.id("#"); }
  // The row the reference copies into the latent tokens' embeddings: "<<".
  int latent_init_token() const { return bpe_ ? bpe_->id("<<") : special_.eos; }
  // Saved in checkpoints; a resume with another tokenizer is refused.
  std::vector<std::string> identity() const { return bpe_ ? identity_ : words_.tokens(); }
  std::string describe() const {
    return bpe_ ? "GPT-2 BPE from " + source_ + ", " + std::to_string(base_) + " tokens + 3 latent"
                : std::to_string(size()) + " words";
  }

 private:
  WordTokenizer words_;
  std::optional<BytePairEncoding> bpe_;
  std::string source_;
  int base_ = 0;
  SpecialTokens special_;
  std::vector<std::string> identity_;
};

// Hugging Face GPT-2 weights into `model`: GPT-2's rows, then the latent tokens
// initialised from "<<" as the reference does, unless the file already holds them
// (a model exported by this program after a method that uses them).
template <class Config>
void load_pretrained(GPT<Config>& model, const std::string& path, const RunTokenizer& tok, bool verbose) {
  const int rows = load_hf_gpt2<Config>(model.params(), path);
  std::string how;
  if (rows == tok.base_size()) {
    add_latent_tokens<Config>(model.params(), rows, tok.latent_init_token(), tok.special().eos);
    how = "latent tokens initialised from \"<<\"";
  } else if (rows == tok.size()) {
    how = "its rows " + std::to_string(tok.base_size()) + ".." + std::to_string(rows - 1) +
          " hold the latent tokens: kept";
  } else {
    throw std::runtime_error(path + ": " + std::to_string(rows) + " vocabulary rows; the tokenizer has " +
                             std::to_string(tok.base_size()) + " tokens (" + std::to_string(tok.size()) +
                             " with the latent tokens)");
  }
  if (verbose) std::printf("initialised from %s (%d vocabulary rows; %s)\n", path.c_str(), rows, how.c_str());
}

struct Score {
  std::string method;
  double accuracy = 0, choice = -1, edge_steps = -1, tokens = 0, seconds_per_example = 0, train_seconds = 0;
  std::optional<EdgeLookup> lookup = std::nullopt;  // ProsQA with the word tokenizer, methods that write steps
  long steps = 0;
};

template <class Config>
Score run_method(const Options& o, Collective* group, const std::string& name, const TaskData& data,
                 const RunTokenizer& tok, const std::vector<TokenizedSample>& train,
                 const std::vector<TokenizedSample>& valid, const std::vector<TokenizedSample>& test) {
  TrainConfig cfg;
  cfg.method = method_named(name);
  cfg.curriculum = {.c_thought = o.c, .max_latent_stage = o.max_stage, .epochs_per_stage = o.epochs_per_stage,
                    .first_stage_epochs = o.cot_epochs, .pad_latent_to_max = true, .uniform_prob = o.uniform_prob};
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
  cfg.group_by_length = o.group_by_length;
  cfg.checkpoint = (fs::path(o.out) / (name + ".ckpt")).string();
  cfg.checkpoint_seconds = 60 * o.checkpoint_minutes;
  cfg.log = (fs::path(o.out) / (name + ".jsonl")).string();
  fs::create_directories(o.out);

  // A checkpoint (--from, --resume) must come from this tokenizer: its rows are these tokens.
  const auto same_tokenizer = [&](const Checkpoint& c, const std::string& path) {
    if (c.vocabulary != tok.identity())
      throw std::runtime_error(path + " was trained with another tokenizer or vocabulary (" +
                               (tok.is_gpt2() ? "other GPT-2 tokenizer files, or --tokenizer word"
                                              : "different data or seed, or --tokenizer gpt2") + ")");
  };
  GPT<Config> model;
  if (!o.init.empty()) {
    load_pretrained(model, o.init, tok, !group || group->is_root());
  } else if (!o.from.empty()) {
    same_tokenizer(load_parameters(model, o.from), "--from " + o.from);
  } else {
    model.init(o.seed, o.position_init);
  }
  const SpecialTokens special = tok.special();
  Score score{name};
  with_policy(cfg.method, o.c, [&]<class Policy>() {
    Trainer<GPT<Config>, Policy> trainer(model, cfg, special, tok.answer_marker());
    trainer.set_collective(group);
    trainer.vocabulary = tok.identity();
    trainer.settings = RunSettings{.task = o.task, .config = std::string(Config::name), .method = name,
                                   .c = o.c, .max_stage = o.max_stage, .command = o.command}.text();
    // GPT-2's BPE spells equal answers with different tokens (" 1,234", " 1234"):
    // compare text, as the reference does. ProsQA and ProntoQA with words keep the
    // token-level check of earlier runs (tasks.hpp says where the two differ).
    if (tok.is_gpt2() || o.task == "gsm8k") trainer.answer_check = text_answer_check(tok, special);
    // Teacher-forced (train/edge_lookup.hpp): for word models, whose names are
    // tokens, and methods that write steps, in their stage-0 layout.
    const bool measures_lookup = o.task == "prosqa" && !tok.is_gpt2() &&
                                 (cfg.method.schedule == Schedule::cot || cfg.method.schedule == Schedule::curriculum);
    if (o.task == "prosqa")
      trainer.validation_metrics = [&](const std::vector<std::vector<int>>& generated) {
        Metrics m = {{"choice", prosqa_choice_accuracy(data.valid, generated, tok, special)}};
        if (const auto e = prosqa_edge_steps(data.valid, generated, tok, special)) m.emplace_back("edge_steps", *e);
        if (measures_lookup) m.emplace_back("lookup", edge_lookup(model, data.valid, tok.words(), cfg.method).children);
        return m;
      };
    if (o.fail_at_step > 0)
      trainer.on_step = [&](long step, double) {
        if (step == o.fail_at_step && trainer.rank() == o.fail_rank)
          throw std::runtime_error("failing on purpose after step " + std::to_string(step) + " (--fail-at-step)");
      };
    if (o.evaluate_only) {  // the starting model (--from, --init) as it is
      if (!trainer.is_root()) return;
      trainer.progress().message("== " + name + ": scoring " + (o.from.empty() ? o.init : o.from) +
                                 " without training (--evaluate-only)");
      // The validation set too: generated ProsQA has the size --prosqa-nodes gives,
      // which need not be the size the model was trained on, so --prosqa-nodes N
      // measures a model on N-node graphs (the official test's size is fixed).
      if (!valid.empty()) {
        const EvalResult v = trainer.evaluate(valid, trainer.stage(cfg.epochs - 1));
        std::string line = "validation (" + std::to_string(valid.size()) + " samples, " + data.valid_name +
                           "): accuracy " + Progress::fixed(100 * v.accuracy, 1) + "%";
        if (o.task == "prosqa")
          line += ", choice " + Progress::fixed(100 * prosqa_choice_accuracy(data.valid, v.generated, tok, special), 1) + "%";
        trainer.progress().message(line);
      }
    } else {
      if (o.resume && fs::exists(cfg.checkpoint)) {
        same_tokenizer(trainer.resume(cfg.checkpoint), cfg.checkpoint);
      } else if (o.start_epoch > 0) {
        // A run that begins at a later epoch: the model as it is, positioned there.
        if (trainer.is_root())
          trainer.progress().message("starting at epoch " + std::to_string(o.start_epoch) + " (stage " +
                                     std::to_string(trainer.stage(o.start_epoch)) + ")");
        trainer.save(cfg.checkpoint, o.start_epoch, 0);  // rank 0 writes; every rank reads it
        if (group) group->barrier();
        trainer.resume(cfg.checkpoint);
      }
      if (trainer.is_root())
        trainer.progress().message("== " + name + ": " + std::to_string(cfg.epochs) + " epochs of " +
                                   std::to_string(trainer.steps_per_epoch(train.size())) + " steps, model '" +
                                   std::string(Config::name) + "'");
      trainer.fit(train, valid);
      score.train_seconds = trainer.progress().elapsed();
      score.steps = trainer.global_step();
      if (!trainer.is_root()) return;  // rank 0 scores the model
      const long all_steps = long(cfg.epochs - o.start_epoch) * trainer.steps_per_epoch(train.size());
      if (cfg.max_steps > 0 && trainer.global_step() < all_steps) {
        trainer.progress().message("stopped at step " + std::to_string(trainer.global_step()) + " (--max-steps); " +
                                   "scoring the model as it is");
      } else if (fs::exists(cfg.checkpoint + ".best")) {
        trainer.resume(cfg.checkpoint + ".best");  // the best epoch by validation accuracy
      }
    }
    if (!o.export_dir.empty()) {
      const fs::path dir = o.methods.size() == 1 ? fs::path(o.export_dir) : fs::path(o.export_dir) / name;
      fs::create_directories(dir);
      // CoT and No-CoT never see the latent tokens: their model is a plain GPT-2
      // (which --init then extends with fresh latent tokens, as the reference does).
      const bool markers = cfg.method.schedule != Schedule::cot && cfg.method.schedule != Schedule::no_cot;
      const int rows = markers ? tok.size() : tok.base_size();
      export_hf_gpt2<Config>(model.params(), (dir / "model.safetensors").string(), rows);
      if (!tok.is_gpt2()) tok.words().save((dir / "words.txt").string());  // id i is line i+1
      trainer.progress().message("exported to " + (dir / "model.safetensors").string() + " + config.json (" +
                                 std::to_string(rows) + " vocabulary rows)");
    }
    const EvalResult r = trainer.evaluate(test, trainer.stage(cfg.epochs - 1));
    score.accuracy = r.accuracy;
    score.tokens = r.mean_generated_tokens;
    score.seconds_per_example = r.seconds_per_example;
    if (o.task == "prosqa") {
      score.choice = prosqa_choice_accuracy(data.test, r.generated, tok, special);
      score.edge_steps = prosqa_edge_steps(data.test, r.generated, tok, special).value_or(-1);
      if (measures_lookup) score.lookup = edge_lookup(model, data.test, tok.words(), cfg.method);
    }
  });
  return score;
}

int run(const Options& o, Collective* group) {
  const bool root = !group || group->is_root();
  if (o.threads > 0) {
    omp_set_num_threads(o.threads);  // not Eigen::setNbThreads: see kernels/parallel.hpp
  }
  const TaskData data = load_task(o);
  const RunTokenizer tok =
      o.tokenizer == "gpt2" ? RunTokenizer::gpt2(o.tokenizer_dir) : RunTokenizer::words(data.train);
  if (root)
    std::printf("task %s: %zu train, %zu valid (%s), %zu test (%s); vocabulary %s\n", o.task.c_str(),
                data.train.size(), data.valid.size(), data.train_name.c_str(), data.test.size(),
                data.test_name.c_str(), tok.describe().c_str());
  const auto train = tokenize(data.train, tok, "training data");
  const auto valid = tokenize(data.valid, tok, "validation data");
  const auto test = tokenize(data.test, tok, data.test_name);

  std::vector<Score> scores;
  for (const auto& name : o.methods) {
    const auto run = [&]<class Config>() {
      if (tok.size() > Config::vocab_size)
        throw std::runtime_error("vocabulary of " + tok.describe() + " (" + std::to_string(tok.size()) +
                                 " ids) exceeds model '" + std::string(Config::name) + "' vocab_size " +
                                 std::to_string(Config::vocab_size) +
                                 (tok.is_gpt2() ? " (GPT-2's BPE needs --config gpt2)" : ""));
      scores.push_back(run_method<Config>(o, group, name, data, tok, train, valid, test));
    };
    if (o.config == "gpt2")
      run.template operator()<GPT2SmallCoconut>();
    else
      with_word_config(o.config, run);
  }

  if (!root) return 0;
  std::printf("\n%s test (%zu samples)\n", o.task.c_str(), test.size());
  std::printf("%-18s %9s %9s %11s %8s %11s %12s %8s %10s\n", "method", "accuracy", "choice", "edge steps", "lookup",
              "gen tokens", "s/example", "steps", "train time");
  const auto share = [](double x) { return x < 0 ? std::string("-") : Progress::fixed(100 * x, 1) + "%"; };
  for (const auto& s : scores) {
    std::printf("%-18s %8.1f%% %9s %11s %8s %11.1f %12.4f %8ld %10s\n", s.method.c_str(), 100 * s.accuracy,
                share(s.choice).c_str(), share(s.edge_steps).c_str(),
                share(s.lookup ? s.lookup->children : -1).c_str(), s.tokens,
                s.seconds_per_example, s.steps,
                Progress::format_time(s.train_seconds).c_str());
  }
  // The lookup's guesses depend on the test data alone: the same for every method.
  const auto measured = std::ranges::find_if(scores, [](const Score& s) { return s.lookup.has_value(); });
  if (measured != scores.end())
    std::printf("lookup without looking up: %s naming a node at random, %s by how often names occur in the question\n",
                share(measured->lookup->chance).c_str(), share(measured->lookup->frequency_chance).c_str());
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
    return run(parse(Flags("coconut_train", kUsage, argc, argv)), group);
  } catch (const std::exception& e) {
#ifdef COCONUT_WITH_MPI
    if (group) world.abort(e.what());  // takes every rank down, naming this one
#endif
    std::fprintf(stderr, "coconut_train: %s\n", e.what());
    return 1;
  }
}
