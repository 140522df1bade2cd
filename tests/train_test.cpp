// Data layout at each stage of the curriculum, batching, the trainer's exact
// resumption from checkpoints, and checkpoint errors.
#define BOOST_TEST_MODULE train
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "coconut/coconut.hpp"

using namespace coconut;
namespace fs = std::filesystem;

namespace {

const SpecialTokens kSpecial{/*bot=*/1, /*eot=*/2, /*latent=*/3, /*eos=*/0};

// Question 10 11, steps [20] [21 22] [23], answer 30 31.
TokenizedSample sample() { return {{10, 11}, {{20}, {21, 22}, {23}}, {30, 31}}; }

std::vector<int> labelled(const Sequence& s) {  // the tokens the loss is taken on
  std::vector<int> out;
  for (std::size_t t = 0; t < s.targets.size(); ++t)
    if (s.targets[t] != -100) out.push_back(s.targets[t]);
  return out;
}

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("coconut-train-test-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// `text` as a model's output: its ids, then EOS.
std::vector<int> spoken(const WordTokenizer& tok, const std::string& text) {
  auto ids = tok.encode(text);
  ids.push_back(word_special_tokens().eos);
  return ids;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layout)

// Stage k replaces the first k steps by k*c latents between the markers; the loss
// covers the remaining steps, the answer and EOS, never the markers or latents.
BOOST_AUTO_TEST_CASE(coconut_stages) {
  const Method& m = method_named("coconut");
  CurriculumConfig cfg{.c_thought = 2, .max_latent_stage = 2};
  const Sequence s0 = build_sequence(sample(), m, cfg, 0, kSpecial);
  BOOST_TEST(s0.tokens == (std::vector<int>{10, 11, 1, 2, 20, 21, 22, 23, 30, 31, 0}), boost::test_tools::per_element());
  BOOST_TEST(labelled(s0) == (std::vector<int>{20, 21, 22, 23, 30, 31, 0}), boost::test_tools::per_element());
  BOOST_TEST(s0.prompt_length == 4u);
  const Sequence s1 = build_sequence(sample(), m, cfg, 1, kSpecial);
  BOOST_TEST(s1.tokens == (std::vector<int>{10, 11, 1, 3, 3, 2, 21, 22, 23, 30, 31, 0}), boost::test_tools::per_element());
  BOOST_TEST(labelled(s1) == (std::vector<int>{21, 22, 23, 30, 31, 0}), boost::test_tools::per_element());
  // Past the last stage: every step goes, M*c latents stay.
  const Sequence s3 = build_sequence(sample(), m, cfg, 3, kSpecial);
  BOOST_TEST(s3.tokens == (std::vector<int>{10, 11, 1, 3, 3, 3, 3, 2, 30, 31, 0}), boost::test_tools::per_element());
}

// More stages than steps: k*c latents with pad_latent_to_max, #steps*c without.
BOOST_AUTO_TEST_CASE(pad_latent_to_max) {
  const Method& m = method_named("coconut");
  CurriculumConfig cfg{.c_thought = 1, .max_latent_stage = 6, .pad_latent_to_max = true};
  auto latents = [](const Sequence& s) { return std::count(s.tokens.begin(), s.tokens.end(), 3); };
  BOOST_TEST(latents(build_sequence(sample(), m, cfg, 5, kSpecial)) == 5);
  cfg.pad_latent_to_max = false;
  BOOST_TEST(latents(build_sequence(sample(), m, cfg, 5, kSpecial)) == 3);
  BOOST_TEST(latents(build_sequence(sample(), m, cfg, 7, kSpecial)) == 3);
}

// The baselines are layouts of the same builder.
BOOST_AUTO_TEST_CASE(baselines) {
  CurriculumConfig cfg{.c_thought = 1, .max_latent_stage = 3};
  BOOST_TEST(build_sequence(sample(), method_named("cot"), cfg, 0, kSpecial).tokens ==
                 (std::vector<int>{10, 11, 20, 21, 22, 23, 30, 31, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(build_sequence(sample(), method_named("no-cot"), cfg, 0, kSpecial).tokens ==
                 (std::vector<int>{10, 11, 30, 31, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(build_sequence(sample(), method_named("no-thought"), cfg, 2, kSpecial).tokens ==
                 (std::vector<int>{10, 11, 1, 2, 23, 30, 31, 0}),
             boost::test_tools::per_element());
  // w/o curriculum and pause token: always the final stage.
  BOOST_TEST(stage_of_epoch(method_named("no-curriculum"), cfg, 0) == 4);
  BOOST_TEST(stage_of_epoch(method_named("pause-token"), cfg, 0) == 4);
  BOOST_TEST(stage_of_epoch(method_named("coconut"), {.epochs_per_stage = 5}, 14) == 2);
  // A longer CoT stage (first_stage_epochs) shifts every later stage.
  const CurriculumConfig long_cot{.epochs_per_stage = 5, .first_stage_epochs = 12};
  BOOST_TEST(stage_of_epoch(method_named("coconut"), long_cot, 11) == 0);
  BOOST_TEST(stage_of_epoch(method_named("coconut"), long_cot, 12) == 1);
  BOOST_TEST(stage_of_epoch(method_named("pause-as-thought"), long_cot, 21) == 2);
  BOOST_TEST(stage_of_epoch(method_named("cot"), long_cot, 40) == 0);
  BOOST_CHECK_THROW(method_named("icot"), std::invalid_argument);
}

// With uniform_prob = 1 every sample's stage is drawn from 0..#steps; with 0 never.
BOOST_AUTO_TEST_CASE(stage_mixing) {
  const Method& m = method_named("coconut");
  Rng rng(1);
  std::vector<int> seen(4, 0);
  for (int i = 0; i < 400; ++i) ++seen.at(sample_stage(sample(), m, {.uniform_prob = 1.0}, 2, rng));
  for (int k = 0; k < 4; ++k) BOOST_TEST(seen[k] > 50);
  BOOST_TEST(sample_stage(sample(), m, {.uniform_prob = 0.0}, 2, rng) == 2);
}

// Rows are left-padded so their first latents align; positions restart after the
// padding; padding is masked, ignored by the loss, and filled with EOS.
BOOST_AUTO_TEST_CASE(collate_aligns_first_latent) {
  const Method& m = method_named("coconut");
  CurriculumConfig cfg{.c_thought = 1, .max_latent_stage = 3};
  TokenizedSample longer = sample();
  longer.question = {10, 11, 12, 13};
  const Sequence a = build_sequence(sample(), m, cfg, 1, kSpecial);  // first latent at 3
  const Sequence b = build_sequence(longer, m, cfg, 2, kSpecial);    // first latent at 5
  const Batch batch = collate({&a, &b}, kSpecial);
  BOOST_TEST(batch.tokens[batch.at(0, 5)] == 3);
  BOOST_TEST(batch.tokens[batch.at(1, 5)] == 3);
  BOOST_TEST(batch.mask[batch.at(0, 1)] == 0);
  BOOST_TEST(batch.mask[batch.at(0, 2)] == 1);
  BOOST_TEST(batch.positions[batch.at(0, 2)] == 0);
  BOOST_TEST(batch.tokens[batch.at(0, 0)] == kSpecial.eos);
  BOOST_TEST(batch.targets[batch.at(0, 0)] == -100);
  BOOST_TEST(batch.T == Index(std::max(a.tokens.size() + 2, b.tokens.size())));
  LatentPlan plan(batch, kSpecial.latent);  // the latent loop accepts it
  BOOST_TEST(plan.first == 5);
  BOOST_TEST(plan.most == 2);
}

// Exact match on the text after the last '#', as the reference's evaluation.
BOOST_AUTO_TEST_CASE(answer_matching) {
  const int hash = 4, eos = 0;
  BOOST_TEST(answer_matches({hash, 7}, {9, 9, hash, 7, eos}, hash, eos));
  BOOST_TEST(!answer_matches({hash, 7}, {9, 9, hash, 8, eos}, hash, eos));
  BOOST_TEST(!answer_matches({hash, 7}, {7, eos}, hash, eos));  // no answer marker: no answer
  BOOST_TEST(answer_matches({7}, {7, eos}, -1, eos));
}

// The reference's check on text: after the last '#', commas removed, stripped.
BOOST_AUTO_TEST_CASE(text_answer_matching) {
  BOOST_TEST(reference_answer("### 1,234") == "1234");
  BOOST_TEST(reference_answer("<<2*3=6>>\n### 1,234 \n") == "1234");
  BOOST_TEST(reference_answer(" 1,234\t") == "1234");  // no '#': all of it
  BOOST_TEST(reference_answer("###") == "");
  BOOST_TEST(text_answer_matches("1234", "### 1,234"));
  BOOST_TEST(text_answer_matches("### 1,234", "### 1234"));
  BOOST_TEST(text_answer_matches("5,000", "<<5*1000=5000>>\n### 5000\n"));
  BOOST_TEST(text_answer_matches("Tom is a wumpus.", "### Tom is a wumpus."));
  BOOST_TEST(!text_answer_matches("1234", "### 12345"));
  BOOST_TEST(!text_answer_matches("1234", "### 1234.0"));
  BOOST_TEST(!text_answer_matches("1234", "1234"));  // an output without '#' has no answer
  BOOST_TEST(!text_answer_matches("1234", "### 1234 # 5"));  // the last '#' counts
}

// With the word tokenizer on ProsQA the text check and the token check agree on
// outputs that end with the answer (only white space after it separates them).
BOOST_AUTO_TEST_CASE(text_and_token_checks_agree_on_prosqa) {
  const auto samples = load_json(COCONUT_TEST_DATA "/../../shared/data/prosqa_valid.json");
  const WordTokenizer tok = WordTokenizer::build(samples);
  const auto tokens = tokenize(samples, tok, "prosqa_valid.json");
  const SpecialTokens special = word_special_tokens();
  const auto check = text_answer_check(tok, special);
  const int hash = tok.id("#");
  long agree = 0, matches = 0, n = 0;
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = 0; j < 40; ++j) {
      // Output j's answer after its steps, or cut short, or without its marker.
      std::vector<int> out;
      for (const auto& step : tokens[j].steps) out.insert(out.end(), step.begin(), step.end());
      out.insert(out.end(), tokens[j].answer.begin(), tokens[j].answer.end() - long(j % 3 == 1));
      if (j % 5 == 4) std::erase(out, hash);
      out.push_back(special.eos);
      const bool by_tokens = answer_matches(tokens[i].answer, out, hash, special.eos);
      agree += check(tokens[i], out) == by_tokens;
      matches += by_tokens;
      ++n;
    }
  BOOST_TEST(agree == n);
  BOOST_TEST(matches > 0);
}

// ProsQA's option choice: which of the two options an answer names, whatever its
// wording; the accuracy counts only the target (the distractor and "neither" fail).
BOOST_AUTO_TEST_CASE(prosqa_option_choice) {
  const auto samples = load_json(COCONUT_TEST_DATA "/../../shared/data/prosqa_valid.json");
  const Sample& s = samples.front();
  const std::string target = s.idx_to_symbol[std::size_t(s.target)];
  const std::string distractor = s.idx_to_symbol[std::size_t(s.neg_target)];
  BOOST_TEST(prosqa_choice(s, s.answer) == 1);
  BOOST_TEST(prosqa_choice(s, "Bob is a " + target) == 1);  // another subject, no period: still the target
  BOOST_TEST(prosqa_choice(s, "Tom is a " + distractor + ".") == -1);
  BOOST_TEST(prosqa_choice(s, "Tom is a " + target + " or " + distractor + ".") == 0);
  BOOST_TEST(prosqa_choice(s, "Tom is a " + target + "s.") == 0);  // a longer word is not the name

  const WordTokenizer tok = WordTokenizer::build(samples);
  const SpecialTokens special = word_special_tokens();
  const auto said = [&](const std::string& text) { return spoken(tok, text); };
  const std::vector<Sample> three(samples.begin(), samples.begin() + 3);
  const std::string wrong = three[1].idx_to_symbol[std::size_t(three[1].neg_target)];
  const std::vector<std::vector<int>> outputs = {said("### " + three[0].answer), said("### Tom is a " + wrong + "."),
                                                 said("### " + three[2].answer)};
  BOOST_TEST(prosqa_choice_accuracy(three, outputs, tok, special) == 2.0 / 3.0);
  BOOST_CHECK_THROW(prosqa_choice_accuracy(three, {outputs[0]}, tok, special), std::invalid_argument);
}

// Steps are edges of the question's graph when the question states them: each
// official step is; a step backwards along an edge, a self-loop or a step of
// another form is not. prosqa_edge_steps counts steps before "###" only.
BOOST_AUTO_TEST_CASE(prosqa_edge_steps_check_the_graph) {
  const auto samples = load_json(COCONUT_TEST_DATA "/../../shared/data/prosqa_valid.json");
  for (const Sample& s : samples)
    for (const auto& step : s.steps) BOOST_TEST(prosqa::is_edge_step(s, step), step);
  const Sample& s = samples.front();
  const auto name = [&](int node) { return s.idx_to_symbol[std::size_t(node)]; };
  const auto path = prosqa::reference_path(s);  // the root (a person), then concepts
  BOOST_REQUIRE(path.size() >= 3);
  const std::string person = name(path[0]), p = name(path[1]), c = name(path[2]);
  BOOST_TEST(prosqa::is_edge_step(s, person + " is a " + p));  // the period is optional
  BOOST_TEST(!prosqa::is_edge_step(s, "Every " + c + " is a " + p + "."));  // backwards
  BOOST_TEST(!prosqa::is_edge_step(s, "Every " + c + " is a " + c + "."));  // a self-loop
  BOOST_TEST(!prosqa::is_edge_step(s, p + " is a " + c + "."));             // a concept needs "Every"
  BOOST_TEST(!prosqa::is_edge_step(s, "Every " + person + " is a " + p + "."));  // a person takes none
  BOOST_TEST(!prosqa::is_edge_step(s, "Every " + p + " is not a " + c + "."));

  const WordTokenizer tok = WordTokenizer::build(samples);
  const SpecialTokens special = word_special_tokens();
  const auto said = [&](const std::string& text) { return spoken(tok, text); };
  const std::vector<Sample> one(samples.begin(), samples.begin() + 1);
  std::string reference;
  for (const auto& step : s.steps) reference += step + "\n";
  BOOST_TEST((prosqa_edge_steps(one, {said(reference + "### " + s.answer)}, tok, special) == 1.0));
  // Cut off by the token limit: the unfinished last piece is not a step.
  BOOST_TEST((prosqa_edge_steps(one, {said(reference + "Every " + c + " is")}, tok, special) == 1.0));
  // One of two steps invented; the answer's sentence is not a step.
  BOOST_TEST((prosqa_edge_steps(one, {said(s.steps[0] + "\nEvery " + c + " is a " + c + ".\n### " + s.answer)},
                                 tok, special) == 0.5));
  BOOST_TEST(!prosqa_edge_steps(one, {said("### " + s.answer)}, tok, special).has_value());  // no steps at all
}

// A model shape for ProsQA's word vocabulary and sequence lengths, small to compile.
struct LookupShape {
  static constexpr std::string_view name = "lookup-test";
  static constexpr int n_layer = 1, n_head = 2, n_embd = 32;
  static constexpr int vocab_size = 128, padded_vocab_size = 128, block_size = 512;
};

// edge_lookup reads the next-token distribution at the token before each step's
// Y and splits it by X's children, X's parents, other nodes and the rest. Checked
// against the positions found by scanning the CoT sequence for "is a" after the
// question, on a randomly initialised model (every position predicts differently),
// and against counting, on a model with all parameters 0 (every prediction
// uniform, in any layout).
BOOST_AUTO_TEST_CASE(prosqa_edge_lookup_reads_where_y_is_due) {
  auto samples = load_json(COCONUT_TEST_DATA "/../../shared/data/prosqa_valid.json");
  samples.resize(3);
  const WordTokenizer tok = WordTokenizer::build(samples);
  const auto tokenized = tokenize(samples, tok, "samples");
  GPT<LookupShape> model;
  model.init(5);
  double children = 0;
  long steps = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto kids = prosqa::graph_of(samples[i]).children();
    const Sequence seq = build_sequence(tokenized[i], method_named("cot"), {}, 0, word_special_tokens());
    model.set_batch(collate({&seq}, word_special_tokens()));
    model.forward(0, Index(seq.tokens.size()));
    for (std::size_t t = tokenized[i].question.size(); t + 1 < seq.tokens.size(); ++t) {
      if (seq.tokens[t] != tok.id("a") || seq.tokens[t - 1] != tok.id("is")) continue;
      if (tok.token(seq.tokens[t - 3]) == "#") continue;  // the answer "### Tom is a Y" is no step
      const auto p = next_token_distribution(model, 0, Index(t));
      for (int c : kids[std::size_t(prosqa::node_named(samples[i], tok.token(seq.tokens[t - 2])))])
        children += p[std::size_t(tok.id(samples[i].idx_to_symbol[std::size_t(c)]))];
      ++steps;
    }
  }
  const EdgeLookup random = edge_lookup(model, samples, tok);
  BOOST_TEST(random.steps == long(samples[0].steps.size() + samples[1].steps.size() + samples[2].steps.size()));
  BOOST_TEST(random.steps == steps);
  BOOST_TEST(random.children == children / double(steps), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(random.children + random.parents + random.other_nodes + random.no_node == 1.0,
             boost::test_tools::tolerance(1e-9));
  // The two guesses, from the question's text: names counted word by word.
  double chance = 0, frequency_chance = 0;
  for (const Sample& sample : samples) {
    std::map<std::string, double> count;
    std::istringstream words(sample.question);
    for (std::string w; words >> w;) {
      while (!w.empty() && (w.back() == '.' || w.back() == '?')) w.pop_back();
      count[w] += 1;
    }
    const auto path = prosqa::reference_path(sample);
    const auto kids = prosqa::graph_of(sample).children();
    double all = 0;
    for (const auto& name : sample.idx_to_symbol) all += count[name];
    for (std::size_t j = 0; j + 1 < path.size(); ++j) {
      const auto& x_kids = kids[std::size_t(path[j])];
      double kid_count = 0;
      for (int c : x_kids) kid_count += count[sample.idx_to_symbol[std::size_t(c)]];
      chance += double(x_kids.size()) / double(sample.idx_to_symbol.size() - 1);
      frequency_chance += kid_count / (all - count[sample.idx_to_symbol[std::size_t(path[j])]]);
    }
  }
  BOOST_TEST(random.chance == chance / double(steps), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(random.frequency_chance == frequency_chance / double(steps), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(random.frequency_chance > random.chance);
  const EdgeLookup coconut = edge_lookup(model, samples, tok, method_named("coconut"));  // <bot> <eot> first
  BOOST_TEST(coconut.steps == steps);
  BOOST_TEST(coconut.children != random.children);

  model.params().zero();  // logits all 0: each of the V tokens gets 1/V
  double n_children = 0, n_parents = 0, n_nodes = 0;
  for (const Sample& s : samples) {
    const auto path = prosqa::reference_path(s);
    const auto graph = prosqa::graph_of(s);
    const auto kids = graph.children();
    const auto parents = graph.parent_counts();
    for (std::size_t j = 0; j + 1 < path.size(); ++j) {
      n_children += double(kids[std::size_t(path[j])].size());
      n_parents += double(parents[std::size_t(path[j])]);
      n_nodes += double(s.idx_to_symbol.size());
    }
  }
  const double V = LookupShape::vocab_size, n = double(steps);
  for (const char* method : {"cot", "coconut", "pause-as-thought"}) {
    BOOST_TEST_CONTEXT(method) {
      const EdgeLookup uniform = edge_lookup(model, samples, tok, method_named(method));
      BOOST_TEST(uniform.children == n_children / V / n, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(uniform.parents == n_parents / V / n, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(uniform.other_nodes == (n_nodes - n_children - n_parents) / V / n, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(uniform.no_node == (V * n - n_nodes) / V / n, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(uniform.top_is_child == 0.0);  // ties go to token 0, EOS
    }
  }

  BOOST_CHECK_THROW(edge_lookup(model, samples, tok, method_named("no-cot")), std::invalid_argument);
  std::vector<Sample> no_graph = {samples[0]};
  no_graph[0].idx_to_symbol.clear();
  BOOST_CHECK_THROW(edge_lookup(model, no_graph, tok), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(trainer)

struct Small2 {
  static constexpr std::string_view name = "test";
  static constexpr int n_layer = 1, n_head = 2, n_embd = 32;
  static constexpr int vocab_size = ChainVocabulary::size, padded_vocab_size = 32, block_size = 32;
};
using Model = GPT<Small2>;

TrainConfig small_config(const std::string& checkpoint) {
  TrainConfig cfg;
  cfg.method = method_named("coconut");
  cfg.curriculum = {.c_thought = 1, .max_latent_stage = 2, .epochs_per_stage = 1, .uniform_prob = 0.3};
  cfg.epochs = 3;
  cfg.batch_size = 8;
  cfg.lr = 3e-3;
  cfg.checkpoint = checkpoint;
  cfg.checkpoint_seconds = 1e9;
  cfg.print_every = 1000000;
  return cfg;
}

// Training N steps, stopping, and resuming for the rest gives bit-identical
// parameters to training without the interruption, across a stage change
// (where the optimizer is reset) and mid-epoch.
BOOST_AUTO_TEST_CASE(resume_is_bit_identical) {
  const auto train = make_chains(40, 2, 1);  // 5 steps an epoch
  using v = ChainVocabulary;
  const fs::path dir = temp_dir();

  Model straight;
  straight.init(3);
  Trainer<Model, ContinuousThought<1>> a(straight, small_config((dir / "a.ckpt").string()), v::special(), v::hash);
  a.fit(train, {});

  for (long stop : {3L, 7L, 10L}) {
    BOOST_TEST_CONTEXT("stopped after step " << stop) {
      const std::string path = (dir / ("b" + std::to_string(stop) + ".ckpt")).string();
      Model first;
      first.init(3);
      TrainConfig cfg = small_config(path);
      cfg.max_steps = stop;
      Trainer<Model, ContinuousThought<1>> b(first, cfg, v::special(), v::hash);
      b.fit(train, {});
      BOOST_TEST(b.global_step() == stop);

      Model resumed;  // a new process would start from nothing but the checkpoint
      Trainer<Model, ContinuousThought<1>> c(resumed, small_config(path), v::special(), v::hash);
      c.resume(path);
      c.fit(train, {});
      BOOST_TEST(c.global_step() == a.global_step());
      BOOST_TEST(std::equal(straight.params().span().begin(), straight.params().span().end(),
                            resumed.params().span().begin()));
    }
  }
  fs::remove_all(dir);
}

// group_by_length keeps an epoch's sequences run by run (kGroupBatches batches),
// with the partial batch last, but gives each batch rows of similar lengths: in
// every run, no two batches' length ranges overlap, the batches are not in length
// order, padding drops, and the order is a function of (seed, epoch).
BOOST_AUTO_TEST_CASE(group_by_length_batches) {
  using Grouping = Trainer<Model, ContinuousThought<1>>;
  TrainConfig plain = small_config(""), grouped = small_config("");
  grouped.group_by_length = true;
  const std::size_t batch = std::size_t(plain.batch_size), per_run = Grouping::kGroupBatches;
  const std::size_t full_batches = 2 * per_run + 3, rows = full_batches * batch + 3;  // the last run: 3 + a partial
  std::vector<TokenizedSample> train;
  Rng rng(5);
  for (std::size_t i = 0; i < rows; ++i)
    train.push_back({std::vector<int>(1 + rng.below(40), 10), {{20}, {21, 22}}, {30}});
  using v = ChainVocabulary;
  Model model;
  const Grouping a(model, plain, v::special(), v::hash), b(model, grouped, v::special(), v::hash);
  const auto x = a.epoch_sequences(train, 0), y = b.epoch_sequences(train, 0);
  BOOST_TEST(y.size() == x.size());
  const auto tokens = [](const std::vector<Sequence>& s, std::size_t first, std::size_t last) {
    std::vector<std::vector<int>> t;
    for (std::size_t i = first; i < std::min(last, s.size()); ++i) t.push_back(s[i].tokens);
    std::sort(t.begin(), t.end());
    return t;
  };
  const std::size_t run = per_run * batch;
  for (std::size_t first = 0; first < x.size(); first += run)  // each run holds the same sequences
    BOOST_TEST((tokens(x, first, first + run) == tokens(y, first, first + run)));
  std::size_t padded_x = 0, padded_y = 0;
  std::vector<std::pair<std::size_t, std::size_t>> ranges;  // (shortest, longest) row of each batch of y
  for (std::size_t first = 0; first < x.size(); first += batch) {
    const std::size_t last = std::min(x.size(), first + batch);
    std::size_t lx = 0, ly = 0, sy = SIZE_MAX;
    for (std::size_t i = first; i < last; ++i) {
      lx = std::max(lx, x[i].tokens.size());
      ly = std::max(ly, y[i].tokens.size());
      sy = std::min(sy, y[i].tokens.size());
    }
    padded_x += lx * (last - first);
    padded_y += ly * (last - first);
    ranges.push_back({sy, ly});
  }
  BOOST_TEST(ranges.size() == full_batches + 1);
  bool shuffled = false;
  for (std::size_t i = 0; i < full_batches; ++i) {
    const std::size_t run_end = std::min(full_batches, (i / per_run + 1) * per_run);
    for (std::size_t j = i + 1; j < run_end; ++j) {
      BOOST_TEST((ranges[i].second <= ranges[j].first || ranges[j].second <= ranges[i].first));
      shuffled |= ranges[j].second < ranges[i].first;  // a longer batch before a shorter one
    }
  }
  BOOST_TEST(shuffled);
  // The partial batch holds the longest rows of the last run.
  for (std::size_t i = full_batches / per_run * per_run; i < full_batches; ++i)
    BOOST_TEST(ranges.back().first >= ranges[i].second);
  BOOST_TEST(padded_y < padded_x * 3 / 4);
  const Grouping again(model, grouped, v::special(), v::hash);  // a new trainer, the same (seed, epoch)
  const auto same = again.epoch_sequences(train, 0), next = again.epoch_sequences(train, 1);
  const auto equal = [](const Sequence& p, const Sequence& q) { return p.tokens == q.tokens; };
  BOOST_TEST(std::equal(same.begin(), same.end(), y.begin(), equal));
  BOOST_TEST(!std::equal(next.begin(), next.end(), y.begin(), equal));
}

// Grouped batches depend on the rows per step: a checkpoint written mid-epoch with
// another global batch is refused, naming both; one written at an epoch's end is not.
BOOST_AUTO_TEST_CASE(grouped_resume_needs_the_same_global_batch) {
  const auto train = make_chains(40, 2, 1);
  using v = ChainVocabulary;
  const fs::path dir = temp_dir();
  const std::string path = (dir / "grouped.ckpt").string();
  TrainConfig cfg = small_config(path);
  cfg.group_by_length = true;
  cfg.max_steps = 2;  // in the middle of epoch 0
  Model model;
  model.init(3);
  Trainer<Model, ContinuousThought<1>>(model, cfg, v::special(), v::hash).fit(train, {});
  TrainConfig halved = cfg;
  halved.batch_size = cfg.batch_size / 2;
  Trainer<Model, ContinuousThought<1>> other(model, halved, v::special(), v::hash);
  BOOST_CHECK_EXCEPTION(other.resume(path), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("8 rows per step, now 4") != std::string::npos;
  });
  cfg.max_steps = 5;  // the end of epoch 0
  Trainer<Model, ContinuousThought<1>>(model, cfg, v::special(), v::hash).fit(train, {});
  BOOST_CHECK_NO_THROW(other.resume(path));
  fs::remove_all(dir);
}

// max_seconds stops fit() with a checkpoint: a limit already spent before the
// first step trains nothing, and a generous one changes nothing.
BOOST_AUTO_TEST_CASE(max_seconds_stops_with_a_checkpoint) {
  const auto train = make_chains(40, 2, 1);
  using v = ChainVocabulary;
  const fs::path dir = temp_dir();
  const std::string path = (dir / "timed.ckpt").string();
  Model model;
  model.init(3);
  TrainConfig spent = small_config(path);
  spent.max_seconds = 1e-9;
  Trainer<Model, ContinuousThought<1>> stopped(model, spent, v::special(), v::hash);
  stopped.fit(train, {});
  BOOST_TEST(stopped.global_step() == 0);
  BOOST_TEST(load_checkpoint(path).global_step == 0);

  Model unlimited, limited;
  unlimited.init(3);
  limited.init(3);
  TrainConfig generous = small_config("");
  generous.max_seconds = 1e6;
  Trainer<Model, ContinuousThought<1>> a(unlimited, small_config(""), v::special(), v::hash);
  Trainer<Model, ContinuousThought<1>> b(limited, generous, v::special(), v::hash);
  a.fit(train, {});
  b.fit(train, {});
  BOOST_TEST(a.global_step() == 15);  // 3 epochs of 5 steps
  BOOST_TEST(b.global_step() == a.global_step());
  BOOST_TEST(std::equal(unlimited.params().span().begin(), unlimited.params().span().end(),
                        limited.params().span().begin()));
  fs::remove_all(dir);
}

// A checkpoint written for another model shape is refused, naming both shapes; a
// truncated one is an error, not garbage; saving leaves no temporary file.
BOOST_AUTO_TEST_CASE(checkpoint_errors) {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "tiny.ckpt").string();
  GPT<Tiny> tiny;
  Trainer<GPT<Tiny>, NoThought> t(tiny, small_config(path), kSpecial);
  t.save(path);
  BOOST_TEST(fs::exists(path));
  BOOST_TEST(!fs::exists(path + ".tmp"));

  Model other;
  Trainer<Model, NoThought> o(other, small_config(path), kSpecial);
  BOOST_CHECK_EXCEPTION(o.resume(path), std::runtime_error, [](const std::runtime_error& e) {
    const std::string m = e.what();
    return m.find("'tiny'") != std::string::npos && m.find("'test'") != std::string::npos;
  });

  fs::resize_file(path, fs::file_size(path) / 2);
  BOOST_CHECK_EXCEPTION(t.resume(path), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("truncated or corrupt") != std::string::npos;
  });
  BOOST_CHECK_THROW(t.resume((dir / "missing.ckpt").string()), std::runtime_error);
  fs::remove_all(dir);
}

// The best model is kept without optimizer state but with the program's settings
// and vocabulary; load_parameters puts it into a new model unchanged, and settings
// that lack what a program needs are an error naming the file and the setting.
BOOST_AUTO_TEST_CASE(best_model_is_a_saved_model) {
  using v = ChainVocabulary;
  const auto train = make_chains(40, 2, 1);
  const auto valid = make_chains(8, 2, 2);
  const fs::path dir = temp_dir();
  const std::string path = (dir / "run.ckpt").string();
  Model model;
  model.init(3);
  Trainer<Model, ContinuousThought<1>> trainer(model, small_config(path), v::special(), v::hash);
  const RunSettings how{.task = "chain", .config = "test", .method = "coconut", .c = 1, .max_stage = 2,
                        .command = "train --chain"};
  trainer.settings = how.text();
  trainer.vocabulary = {"<eos>", "a", "b"};
  trainer.fit(train, valid);

  Model loaded;
  const Checkpoint best = load_parameters(loaded, path + ".best");
  BOOST_TEST(best.adam_m.empty());
  BOOST_TEST(!load_checkpoint(path).adam_m.empty());  // the resumable one keeps them
  BOOST_TEST(best.vocabulary == trainer.vocabulary, boost::test_tools::per_element());
  const RunSettings back = RunSettings::parse(best.settings, "run.ckpt.best");
  BOOST_TEST(back.text() == how.text());
  BOOST_TEST(back.curriculum().max_latent_stage == 2);
  // The saved parameters are those of the best epoch (written as "continue at the
  // next one"): evaluated at that epoch's stage, they score the best accuracy.
  Trainer<Model, ContinuousThought<1>> judge(loaded, small_config(""), v::special(), v::hash);
  BOOST_TEST(judge.evaluate(valid, judge.stage(best.epoch - 1)).accuracy == trainer.best_accuracy());

  BOOST_CHECK_EXCEPTION(RunSettings::parse("config=mini\nmethod=coconut\nc=1\n", "m.ckpt"), std::runtime_error,
                        [](const std::runtime_error& e) {
                          const std::string m = e.what();
                          return m.find("m.ckpt") != std::string::npos && m.find("'max_stage'") != std::string::npos;
                        });
  BOOST_CHECK_EXCEPTION(RunSettings::parse("config=mini\nmethod=coconut\nc=one\nmax_stage=6", "m.ckpt"),
                        std::runtime_error, [](const std::runtime_error& e) {
                          return std::string(e.what()).find("setting c is not a number") != std::string::npos;
                        });
  BOOST_CHECK_THROW(RunSettings::parse("config=mini\nmethod=icot\nc=1\nmax_stage=6", "m.ckpt"),
                    std::invalid_argument);
  fs::remove_all(dir);
}

// The trainer learns: on chains of one operation, the model answers most
// validation questions after a few epochs.
struct Learner {
  static constexpr std::string_view name = "learner";
  static constexpr int n_layer = 2, n_head = 4, n_embd = 64;
  static constexpr int vocab_size = ChainVocabulary::size, padded_vocab_size = 32, block_size = 32;
};

// evaluate() judges with answer_check when it is set, and with answer_matches otherwise.
BOOST_AUTO_TEST_CASE(evaluate_uses_the_answer_check) {
  using v = ChainVocabulary;
  const auto valid = make_chains(6, 1, 2);
  Model model;
  model.init(1);
  TrainConfig cfg = small_config("");
  cfg.eval_batch_size = 4;
  cfg.max_new_tokens = 3;
  Trainer<Model, ContinuousThought<1>> trainer(model, cfg, v::special(), v::hash);
  const EvalResult by_tokens = trainer.evaluate(valid, 1);
  double expected = 0;
  for (std::size_t i = 0; i < valid.size(); ++i)
    expected += answer_matches(valid[i].answer, by_tokens.generated[i], v::hash, v::eos);
  BOOST_TEST(by_tokens.accuracy == expected / double(valid.size()));

  std::vector<const TokenizedSample*> seen;
  trainer.answer_check = [&](const TokenizedSample& s, const std::vector<int>& generated) {
    seen.push_back(&s);
    BOOST_TEST(generated == by_tokens.generated[seen.size() - 1], boost::test_tools::per_element());
    return seen.size() % 2 == 0;
  };
  BOOST_TEST(trainer.evaluate(valid, 1).accuracy == 0.5);
  BOOST_TEST(seen.size() == valid.size());
  for (std::size_t i = 0; i < seen.size(); ++i) BOOST_TEST(seen[i] == &valid[i]);
}

// Trainer::loss is the training loss of the samples at a stage, through the latent
// loop, with no update: the same number whatever the evaluation batch size (it is
// weighted by labelled tokens), equal to the forward loss of all samples in one
// batch, and the parameters stay as they were.
BOOST_AUTO_TEST_CASE(validation_loss_is_the_training_loss_without_update) {
  using v = ChainVocabulary;
  const auto valid = make_chains(7, 2, 5);
  Model model;
  model.init(2);
  const std::vector<float> before(model.params().data(), model.params().data() + model.params().size());
  TrainConfig cfg = small_config("");
  cfg.eval_batch_size = 3;
  Trainer<Model, ContinuousThought<1>> trainer(model, cfg, v::special(), v::hash);
  const double in_threes = trainer.loss(valid, 1);

  std::vector<Sequence> seqs;
  for (const auto& s : valid) seqs.push_back(build_sequence(s, cfg.method, cfg.curriculum, 1, v::special()));
  std::vector<const Sequence*> rows;
  for (const auto& s : seqs) rows.push_back(&s);
  ContinuousThought<1> policy;
  const double at_once = double(policy.forward(model, collate(rows, v::special()), v::latent));
  BOOST_TEST(in_threes == at_once, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(in_threes > 0);
  BOOST_TEST(trainer.loss(valid, 2) != in_threes);  // another stage, another layout
  BOOST_TEST(std::equal(before.begin(), before.end(), model.params().data()));
}

BOOST_AUTO_TEST_CASE(learns_one_operation) {
  using v = ChainVocabulary;
  const auto train = make_chains(1024, 1, 5);
  const auto valid = make_chains(64, 1, 6);
  GPT<Learner> model;
  model.init(0);
  TrainConfig cfg = small_config("");
  cfg.method = method_named("cot");
  cfg.epochs = 16;
  cfg.batch_size = 32;
  cfg.lr = 1e-3;
  cfg.warmup_steps = 20;
  cfg.grad_clip = 1.0;
  cfg.curriculum.uniform_prob = 0;
  Trainer<GPT<Learner>, NoThought> trainer(model, cfg, v::special(), v::hash);
  const double before = trainer.evaluate(valid, 0).accuracy;
  trainer.fit(train, {});
  const double after = trainer.evaluate(valid, 0).accuracy;
  BOOST_TEST_MESSAGE("one-operation accuracy " << before << " -> " << after);
  BOOST_TEST(after > 0.9);
  BOOST_TEST(after > before);
}

BOOST_AUTO_TEST_SUITE_END()
