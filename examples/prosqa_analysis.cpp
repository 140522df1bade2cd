// prosqa_analysis: what a trained Coconut model's continuous thoughts hold on
// ProsQA, and how its accuracy depends on how many it is given (the paper's
// section 5; issue 9).
//
//   prosqa_analysis --model runs/prosqa-mini/coconut.ckpt.best --out runs/prosqa-mini/analysis
//
// 1. Thought contents. Each question's prompt is laid out as at the end of the
//    model's curriculum (M steps' worth of thoughts, c per step). Every thought is
//    decoded through the LM head (thought/inspect.hpp), and its probability mass on
//    the tokens of the graph's nodes is summed by group, for the thought of step i:
//      frontier          the nodes a breadth-first search from the root first
//                        reaches at depth i (depth 1: the root's children)
//      frontier before   those it first reaches at depth i - 1 (for i = 1, the
//                        root): a search that runs one thought behind holds these
//      other reachable   the other nodes the root reaches (any other depth)
//      unreachable       the nodes the root does not reach
//      answer's path     the node at depth i of the sample's reasoning steps
//    If the thoughts search the graph breadth-first, as the paper finds, the
//    frontier of thought i holds most of the mass. Each group's mean is taken over
//    the samples in which it has nodes, raw and divided by its number of nodes (the
//    paper's "value" of a node: a group of many nodes collects more mass).
// 2. Accuracy against the number of thoughts k = 0..M at inference (the prompt
//    laid out at stage k: k*c latents): exact match, as the trainer scores it, and
//    how often the answer chose the target over the distractor (50% is chance).
//
// Writes <out>/thoughts.md, thoughts.svg, accuracy_by_thoughts.md and
// accuracy_by_thoughts.svg, and prints the tables. Run with --help for the flags.
#include <coconut/coconut.hpp>

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "flags.hpp"
#include "svg_chart.hpp"

using namespace coconut;
namespace fs = std::filesystem;

#ifndef COCONUT_SHARED_DATA
#define COCONUT_SHARED_DATA "../shared/data"
#endif

struct Options {
  std::string model;
  std::string test = std::string(COCONUT_SHARED_DATA) + "/prosqa_test.json";
  std::string out = "prosqa-analysis";
  std::size_t limit = 0;
  int threads = 0;
};

const char* kUsage = R"(usage: prosqa_analysis --model F [flags]
  --model F      a model saved by coconut_train (<out>/<method>.ckpt.best) with
                 continuous thoughts: method coconut or no-curriculum
  --test F       ProsQA samples (default: the official test set, )" COCONUT_SHARED_DATA R"(/prosqa_test.json)
  --limit N      analyse only the first N samples (default 0: all)
  --out DIR      where the tables and plots go (default prosqa-analysis)
  --threads N    OpenMP threads (default 0: OpenMP's default)
)";

Options parse(int argc, char** argv) {
  Options o;
  Flags args("prosqa_analysis", kUsage, argc, argv);
  while (args.next()) {
    if (args.is("--model")) o.model = args.text();
    else if (args.is("--test")) o.test = args.text();
    else if (args.is("--limit")) o.limit = std::size_t(args.count());
    else if (args.is("--out")) o.out = args.text();
    else if (args.is("--threads")) o.threads = int(args.count());
    else args.unknown();
  }
  if (o.model.empty()) args.error("--model is required");
  return o;
}

// ---- reports -------------------------------------------------------------------

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();  // a mean over no samples

std::string fixed(double x, int decimals) { return std::isnan(x) ? "-" : Progress::fixed(x, decimals); }

// A Markdown table, its columns padded so that it also reads well in a terminal.
std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t j = 0; j < header.size(); ++j) {
    width[j] = header[j].size();
    for (const auto& r : rows) width[j] = std::max(width[j], r[j].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (std::size_t j = 0; j < cells.size(); ++j)
      s += " " + cells[j] + std::string(width[j] - cells[j].size(), ' ') + " |";
    return s + "\n";
  };
  std::string out = line(header) + "|";
  for (std::size_t w : width) out += std::string(w + 2, '-') + "|";
  out += "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

// Prints `text` and writes it to `path`.
void report(const fs::path& path, const std::string& text) {
  std::printf("%s\n", text.c_str());
  write_atomically(path.string(), text);
}

// ---- 1. thought contents -------------------------------------------------------

// The mean over samples of a node group's probability mass, raw and per node;
// samples in which the group has no node do not count.
struct GroupMass {
  double raw = 0, per_node = 0;
  long samples = 0;

  void add(double mass, int nodes) {
    if (nodes == 0) return;
    raw += mass;
    per_node += mass / nodes;
    ++samples;
  }
  double mean() const { return samples ? raw / double(samples) : kNone; }
  double mean_per_node() const { return samples ? per_node / double(samples) : kNone; }
};

enum Group { frontier, frontier_before, other_reachable, unreachable, on_path, groups };
const char* kGroupNames[groups] = {"frontier", "frontier before", "other reachable", "unreachable", "answer's path"};

// What one thought index holds, over all samples.
struct ThoughtMass {
  GroupMass group[groups];
  double not_nodes = 0;  // mass on tokens that name no node of the graph, summed over samples
};

template <class Config>
std::vector<ThoughtMass> thought_contents(TrainedModel<Config>& trained, const std::vector<Sample>& samples,
                                          const std::vector<TokenizedSample>& tokenized) {
  const RunSettings& how = trained.settings();
  const SpecialTokens special = trained.special();
  std::vector<ThoughtMass> out(std::size_t(how.max_stage * how.c));
  for (std::size_t n = 0; n < samples.size(); ++n) {
    const Sample& s = samples[n];
    const auto depth = prosqa::depths(s);
    const auto path = prosqa::reference_path(s);
    std::vector<std::size_t> token;  // node v's token
    for (const auto& name : s.idx_to_symbol) token.push_back(std::size_t(trained.words().id(name)));
    const auto prompt =
        build_sequence(tokenized[n], trained.method(), how.curriculum(), trained.final_stage(), special).prompt();
    const auto thoughts = thought_distributions(trained.model(), prompt, special.latent);  // (M*c, V)
    for (std::size_t j = 0; j < thoughts.size(); ++j) {
      const int i = int(j) / how.c + 1;  // the step this thought stands for: depth i of the search
      double mass[groups] = {}, all_nodes = 0;
      int nodes[groups] = {};
      for (std::size_t v = 0; v < depth.size(); ++v) {
        const double p = thoughts[j][token[v]];
        const Group g = depth[v] == i       ? frontier
                        : depth[v] == i - 1 ? frontier_before
                        : depth[v] >= 0     ? other_reachable
                                            : unreachable;
        mass[g] += p, ++nodes[g], all_nodes += p;
      }
      if (i < int(path.size())) {
        mass[on_path] = thoughts[j][token[std::size_t(path[i])]];
        nodes[on_path] = 1;
      }
      for (int g = 0; g < groups; ++g) out[j].group[g].add(mass[g], nodes[g]);
      out[j].not_nodes += 1 - all_nodes;
    }
  }
  return out;
}

void write_thought_report(const std::vector<ThoughtMass>& masses, const RunSettings& how, std::size_t samples,
                          const Options& o) {
  std::vector<std::vector<std::string>> raw, per_node;
  const std::string x_label = how.c == 1 ? "continuous thought i (step i)" : "continuous thought (its step)";
  svg::Chart raw_chart{.title = "Probability mass of each thought", .x_label = x_label,
                       .y_label = "mean probability mass"};
  svg::Chart node_chart{.title = "Mass per node of the group", .x_label = x_label,
                        .y_label = "mean probability per node"};
  for (int g = 0; g < groups; ++g) {
    raw_chart.series.push_back({kGroupNames[g], {}});
    if (g != on_path) node_chart.series.push_back({kGroupNames[g], {}});  // the path's group is one node
  }
  for (std::size_t j = 0; j < masses.size(); ++j) {
    const ThoughtMass& m = masses[j];
    const std::string thought = std::to_string(j + 1), step = std::to_string(int(j) / how.c + 1);
    std::vector<std::string> r = {thought, step, std::to_string(m.group[frontier].samples)};
    std::vector<std::string> n = {thought, step};
    for (int g = 0; g < groups; ++g) {
      r.push_back(fixed(m.group[g].mean(), 3));
      raw_chart.series[g].values.push_back(m.group[g].mean());
      if (g == on_path) continue;
      n.push_back(fixed(m.group[g].mean_per_node(), 4));
      node_chart.series[g].values.push_back(m.group[g].mean_per_node());
    }
    r.push_back(fixed(m.not_nodes / double(std::max<std::size_t>(1, samples)), 3));
    raw.push_back(r);
    per_node.push_back(n);
    raw_chart.categories.push_back(how.c == 1 ? thought : thought + " (" + step + ")");
  }
  node_chart.categories = raw_chart.categories;

  std::string text = "# What the continuous thoughts hold (ProsQA)\n\n";
  text += "Model " + o.model + " (" + how.method + ", config " + how.config + ", c = " + std::to_string(how.c) +
          ", M = " + std::to_string(how.max_stage) + "), " + std::to_string(samples) + " samples of " + o.test +
          ".\nThought j stands for step i = ceil(j / c): the frontier is the nodes first reached at depth i from "
          "the root, the frontier before those first reached at depth i - 1 (the root, for i = 1).\n"
          "Each mean is over the samples whose group has nodes (`samples`: those with a frontier); "
          "`no node` is the mass on all other tokens, over all samples.\n\n";
  text += "## Probability mass on each group of nodes\n\n";
  text += markdown_table({"thought", "step", "samples", "frontier", "frontier before", "other reachable", "unreachable",
                          "answer's path", "no node"},
                         raw);
  text += "\n## Mass per node of the group\n\n";
  text += markdown_table({"thought", "step", "frontier", "frontier before", "other reachable", "unreachable"},
                         per_node);
  report(fs::path(o.out) / "thoughts.md", text);
  write_atomically((fs::path(o.out) / "thoughts.svg").string(), svg::document({raw_chart, node_chart}));
}

// ---- 2. accuracy against the number of thoughts -------------------------------

template <class Config>
void accuracy_by_thoughts(TrainedModel<Config>& trained, const std::vector<Sample>& samples, const Options& o) {
  const RunSettings& how = trained.settings();
  std::vector<std::vector<std::string>> rows;
  svg::Chart chart{.kind = svg::Chart::Kind::lines, .title = "Accuracy against the number of thoughts",
                   .x_label = "k: steps replaced by thoughts at inference (k*c latents)", .y_label = "accuracy",
                   .series = {{"exact match", {}}, {"chose the answer, not the distractor", {}}}, .y_max = 1};
  for (int k = 0; k <= how.max_stage; ++k) {
    const ModelScore s = trained.score(samples, k, o.test);
    rows.push_back({std::to_string(k), std::to_string(k * how.c), fixed(100 * s.accuracy, 1),
                    fixed(100 * s.choice, 1), fixed(s.mean_generated_tokens, 1)});
    chart.categories.push_back(std::to_string(k));
    chart.series[0].values.push_back(s.accuracy);
    chart.series[1].values.push_back(s.choice);
    std::fprintf(stderr, "answered with k = %d of %d\n", k, how.max_stage);
  }
  std::string text = "# Accuracy against the number of thoughts (ProsQA)\n\n";
  text += "Model " + o.model + " (" + how.method + ", trained with M = " + std::to_string(how.max_stage) +
          ", c = " + std::to_string(how.c) + "), " + std::to_string(samples.size()) + " samples of " + o.test +
          ".\nPrompt: `question <bot> k*c latents <eot>`. Exact match as the trainer scores it; `chose` counts "
          "the answers that name the target and not the distractor (50% is chance).\n\n";
  text += markdown_table({"k", "latents", "exact match %", "chose %", "generated tokens"}, rows);
  report(fs::path(o.out) / "accuracy_by_thoughts.md", text);
  write_atomically((fs::path(o.out) / "accuracy_by_thoughts.svg").string(), svg::document({chart}, 640, 400));
}

// ---- the run ---------------------------------------------------------------------

template <class Config>
void analyse(const Options& o, const std::vector<Sample>& samples) {
  TrainedModel<Config> trained(o.model);
  const auto tokenized = trained.tokenize(samples, o.test);
  write_thought_report(thought_contents(trained, samples, tokenized), trained.settings(), samples.size(), o);
  accuracy_by_thoughts(trained, samples, o);
}

int run(const Options& o) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  // The settings name the model's shape, i.e. the type TrainedModel loads it into.
  const RunSettings how = RunSettings::parse(load_checkpoint(o.model).settings, o.model);
  if (method_named(how.method).thought != ThoughtKind::continuous)
    throw std::runtime_error(o.model + " was trained with method '" + how.method +
                             "', which has no continuous thoughts to analyse (coconut and no-curriculum have)");
  std::vector<Sample> samples = load_json(o.test);
  if (o.limit > 0 && samples.size() > o.limit) samples.resize(o.limit);
  for (std::size_t i = 0; i < samples.size(); ++i)
    if (!samples[i].has_graph())
      throw std::runtime_error(o.test + ": sample " + std::to_string(i) + " has no graph: not a ProsQA file");
  fs::create_directories(o.out);
  std::printf("%s: %s, config %s, c = %d, M = %d; %zu samples of %s\n\n", o.model.c_str(), how.method.c_str(),
              how.config.c_str(), how.c, how.max_stage, samples.size(), o.test.c_str());
  with_word_config(how.config, [&]<class Config>() { analyse<Config>(o, samples); });
  std::printf("written to %s: thoughts.md, thoughts.svg, accuracy_by_thoughts.md, accuracy_by_thoughts.svg\n",
              o.out.c_str());
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prosqa_analysis: %s\n", e.what());
    return 1;
  }
}
