// ProsQA (Hao et al. 2024, section 4 and Algorithm 1): a seeded generator of
// questions about reachability in a random directed acyclic graph of "is a"
// statements. The official training set is not available here, so we write our own.
//
//   question  "Every shumpus is a rempus. Tom is a terpus. ... Davis is a shumpus.
//              Is Tom a lempus or scrompus?"           (every edge, in random order)
//   steps     "Tom is a terpus." "Every terpus is a brimpus." "Every brimpus is a lempus."
//   answer    "Tom is a lempus."
//
// The graph. Nodes 0 and 1 are the seeds. Node v = 2, 3, ..., 27 draws
// Poisson(1.5) parents among the earlier nodes, without replacement, each with
// weight depth * 1.5 + 1 (deep nodes are preferred, so chains grow long), from
//   p = 0.35   the nodes that descend from node 0 and not from node 1,
//   p = 0.50   the nodes that descend from node 1 and not from node 0,
//   p = 0.15   all earlier nodes.
// Its label is the OR of its parents' (bit 1: descends from node 0, bit 2: from
// node 1) and its depth is one more than its shallowest parent's. Afterwards the
// nodes that have neither a parent nor a child are dropped (ids stay in creation
// order). Parentless nodes are people, the others "-pus" concepts; names are drawn
// without repetition from the 17 and 38 below.
//
// Where this departs from Algorithm 1 taken literally, the official files demand
// it (measured on their 300 + 500 samples; see ../shared/COCONUT.md):
//  - the paper's branches are "parents must not descend from node 1 / node 0";
//    we also leave out the nodes that descend from neither seed (the parentless
//    ones and their descendants): as candidates in every branch, about half of
//    the parentless nodes get a child and survive the pruning, leaving 12% of
//    the non-seed nodes parentless (official: 3%) and 25 nodes (official: 22.8);
//  - 0.35 / 0.50 / 0.15 instead of 0.35 / 0.35 / 0.30: the official graphs are
//    lopsided (node 1's exclusive descendants outnumber node 0's 52% to 39%; the
//    question is about node 1 in 64% of samples; only 6% of nodes descend from
//    both), and these branch weights reproduce that, node 2's parents included;
//  - 28 nodes, then isolated ones dropped: gives the official 14-28 nodes
//    (mean 22.8) and 36 edges, where Poisson(1.5) alone would leave ~22%
//    parentless nodes.
//
// The question. An "exclusive leaf" of a seed is a node without children that is
// reachable from that seed and not from the other; its depth is its shortest
// distance from the seed. The root is the seed whose deepest exclusive leaf is
// deeper (ties: either, evenly), the answer a deepest exclusive leaf of the root,
// the distractor any exclusive leaf of the other seed (never deeper than the
// answer, by the choice of root). Graphs whose answer would be fewer than 3 or
// more than 6 steps away, or with a seed that has no exclusive leaf, are
// discarded (about 6%). The steps are a shortest path from the root to the
// answer, chosen uniformly among all shortest paths (the official files choose
// among them too: of 328 samples with several, only 153 write the one a
// breadth-first search finds first).
//
// Official files vs this generator (2,000 samples, seed 0), measured with the same
// script; counts as min-max (mean), the rest as proportions:
//
//                            valid (300)       test (500)        generated (2,000)
//   nodes                    17-28 (22.82)     14-28 (22.80)     16-28 (22.74)
//   edges                    22-53 (36.26)     16-54 (35.84)     20-54 (36.32)
//   steps 3 / 4 / 5 / 6      .41/.44/.12/.02   .40/.43/.14/.02   .41/.41/.15/.03
//   root = node 1            .65               .63               .66
//   parentless non-seeds     .025              .028              .020
//   non-seeds under both     .062              .058              .050
//   answer depth minus distractor depth, 0 / 1 / 2 / 3 / 4+
//                            .10/.36/.34/.16/.03  .12/.35/.32/.16/.04  .12/.35/.32/.15/.06
//   question words           107-258 (180.5)   81-265 (178.3)    102-268 (181.0)
//   CoT sequence tokens (WordTokenizer; "Q\n s1\n ... ### A" + EOS)
//                            max 342, mean 253 max 350, mean 251 max 357, mean 254
//   vocabulary               17 person + 38 concept names + "Every is a Is or . ?", all three
// No generated question equals an official one. (With 0.35 / 0.35 / 0.30 and every
// earlier node a candidate, the same script gives 25.1 nodes, 12% parentless
// non-seeds, 9% under both seeds and root = node 1 in 50%.)
//
// At the end of the file, a sample's graph read back (graph_of, depths,
// reference_path): what an analysis of a trained model compares its thoughts with.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coconut/data/dataset.hpp"
#include "coconut/data/sampling.hpp"
#include "coconut/tensor/random.hpp"

namespace coconut::prosqa {

inline constexpr std::array<std::string_view, 17> person_names = {"Alex",    "Bob",  "Carol",  "Davis",  "Eva",   "Fae",
                                                                  "Gabriel", "Jack", "Max",    "Oliver", "Polly", "Rex",
                                                                  "Sally",   "Sam",  "Stella", "Tom",    "Wren"};

inline constexpr std::array<std::string_view, 38> concept_names = {
    "bompus",  "boompus", "brimpus", "chorpus",  "dumpus",  "felpus",  "fompus",  "gerpus", "gorpus", "grimpus",
    "gwompus", "hilpus",  "impus",   "jelpus",   "jompus",  "kerpus",  "lempus",  "lorpus", "numpus", "quimpus",
    "rempus",  "rompus",  "rorpus",  "scrompus", "shumpus", "sterpus", "storpus", "terpus", "timpus", "tumpus",
    "vumpus",  "worpus",  "wumpus",  "yerpus",   "yimpus",  "yumpus",  "zhorpus", "zumpus"};

// Defaults reproduce the official files (see the table above).
struct Config {
  int nodes = 28;             // nodes grown, before isolated ones are dropped
  double mean_parents = 1.5;  // Poisson mean of a new node's number of parents
  double p_under_0 = 0.35;    // P(parents come from node 0 and the nodes under it but not under node 1)
  double p_under_1 = 0.50;    // P(parents come from node 1 and the nodes under it but not under node 0);
                              // otherwise they come from all earlier nodes
  double depth_weight = 1.5;  // a candidate parent's weight: depth * depth_weight + 1
  int min_steps = 3;          // the answer's distance from the root, inclusive
  int max_steps = 6;

  void check() const {
    const auto bad = [](const std::string& what) { throw std::invalid_argument("prosqa::Config: " + what); };
    if (nodes < 3) bad("nodes must be at least 3, not " + std::to_string(nodes));
    if (nodes - 2 > int(concept_names.size()))
      bad("nodes must be at most " + std::to_string(concept_names.size() + 2) + " (the concept names), not " +
          std::to_string(nodes));
    if (!(mean_parents > 0)) bad("mean_parents must be positive");
    if (!(p_under_0 >= 0 && p_under_1 >= 0 && p_under_0 + p_under_1 <= 1))
      bad("p_under_0 and p_under_1 must be probabilities summing to at most 1");
    if (!(depth_weight >= 0)) bad("depth_weight must be non-negative");
    if (min_steps < 1 || max_steps < min_steps)
      bad("need 1 <= min_steps <= max_steps, not " + std::to_string(min_steps) + ", " + std::to_string(max_steps));
  }
};

// A directed acyclic graph whose edges run from lower to higher ids.
struct Graph {
  int n = 0;
  std::vector<std::pair<int, int>> edges;  // [parent, child], grouped by child in id order

  std::vector<std::vector<int>> children() const {
    std::vector<std::vector<int>> out(n);
    for (const auto& [p, c] : edges) out[p].push_back(c);
    return out;
  }
  std::vector<int> parent_counts() const {
    std::vector<int> out(n, 0);
    for (const auto& e : edges) ++out[e.second];
    return out;
  }
};

// Shortest distance (in edges) from `source` to every node; -1 where unreachable.
// The ids are a topological order, so one sweep relaxes every edge after its parent.
inline std::vector<int> distances(const Graph& g, int source) {
  std::vector<int> d(g.n, -1);
  d[source] = 0;
  const auto kids = g.children();
  for (int v = source; v < g.n; ++v) {
    if (d[v] < 0) continue;
    for (int c : kids[v])
      if (d[c] < 0 || d[c] > d[v] + 1) d[c] = d[v] + 1;
  }
  return d;
}

// Grows the graph (see the top of this file) and drops its isolated nodes.
inline Graph grow_graph(Rng& rng, const Config& config = {}) {
  config.check();
  const int N = config.nodes;
  std::vector<int> label(N, 0);              // (N,) bit 1: under node 0, bit 2: under node 1
  std::vector<int> depth(N, 0);              // (N,) shortest distance from a parentless node
  std::vector<std::vector<int>> parents(N);  // (N, varies) in draw order
  label[0] = 1;                              // descends from node 0 (itself)
  label[1] = 2;                              // descends from node 1
  for (int v = 2; v < N; ++v) {
    const int wanted = sampling::poisson(config.mean_parents, rng);
    const double u = rng.uniform();
    const int allowed = u < config.p_under_0 ? 1 : u < config.p_under_0 + config.p_under_1 ? 2 : -1;  // -1: any
    std::vector<int> candidates;
    std::vector<double> weights;
    for (int c = 0; c < v; ++c)
      if (allowed < 0 || label[c] == allowed) {
        candidates.push_back(c);
        weights.push_back(depth[c] * config.depth_weight + 1.0);
      }
    for (int i : sampling::weighted_without_replacement(weights, wanted, rng)) {
      const int p = candidates[i];
      parents[v].push_back(p);
      label[v] |= label[p];
      const int d = depth[p] + 1;
      if (parents[v].size() == 1 || d < depth[v]) depth[v] = d;
    }
  }

  // Keep the seeds and every node with a parent or a child; renumber in order.
  std::vector<bool> has_child(N, false);
  for (const auto& ps : parents)
    for (int p : ps) has_child[p] = true;
  std::vector<int> new_id(N, -1);
  Graph g;
  for (int v = 0; v < N; ++v)
    if (v < 2 || !parents[v].empty() || has_child[v]) new_id[v] = g.n++;
  for (int v = 0; v < N; ++v)
    for (int p : parents[v]) g.edges.emplace_back(new_id[p], new_id[v]);
  return g;
}

// One shortest path from `from` to `to` (which must be reachable), uniform among
// all of them: walking back from `to`, each predecessor on a shortest path is
// taken with probability proportional to the number of shortest paths reaching it.
inline std::vector<int> random_shortest_path(const Graph& g, int from, int to, Rng& rng) {
  const auto d = distances(g, from);
  if (d[to] < 0) throw std::logic_error("prosqa::random_shortest_path: target not reachable");
  std::vector<std::vector<int>> parents(g.n), preds(g.n);
  for (const auto& [p, c] : g.edges) parents[c].push_back(p);
  std::vector<double> count(g.n, 0.0);  // number of shortest paths from `from`
  count[from] = 1;
  for (int v = from + 1; v < g.n; ++v)  // ids are topological: a parent's count is final
    for (int p : parents[v])
      if (d[p] >= 0 && d[v] == d[p] + 1) {
        count[v] += count[p];
        preds[v].push_back(p);
      }
  std::vector<int> path = {to};
  while (path.back() != from) {
    const auto& ps = preds[path.back()];
    std::vector<double> w;
    for (int p : ps) w.push_back(count[p]);
    path.push_back(ps[sampling::weighted_without_replacement(w, 1, rng).front()]);
  }
  return {path.rbegin(), path.rend()};
}

// Turns a graph into a sample: root, answer, distractor, names and text (see the
// top of this file). Empty if the graph has no question with min..max steps.
inline std::optional<Sample> make_sample(const Graph& g, Rng& rng, const Config& config = {}) {
  const auto kids = g.children();
  const auto n_parents = g.parent_counts();
  const std::array<std::vector<int>, 2> dist = {distances(g, 0), distances(g, 1)};

  // Each seed's exclusive leaves and the depth of its deepest one.
  std::array<std::vector<int>, 2> leaves;
  std::array<int, 2> deepest = {-1, -1};
  for (int s = 0; s < 2; ++s)
    for (int v = 2; v < g.n; ++v)
      if (kids[v].empty() && dist[s][v] >= 0 && dist[1 - s][v] < 0) {
        leaves[s].push_back(v);
        deepest[s] = std::max(deepest[s], dist[s][v]);
      }
  if (leaves[0].empty() || leaves[1].empty()) return std::nullopt;
  const int root = deepest[0] != deepest[1] ? (deepest[1] > deepest[0] ? 1 : 0) : int(rng.below(2));
  const int steps = deepest[root];
  if (steps < config.min_steps || steps > config.max_steps) return std::nullopt;

  std::vector<int> answers;
  for (int v : leaves[root])
    if (dist[root][v] == steps) answers.push_back(v);
  Sample s;
  s.root = root;
  s.target = sampling::choose(answers, rng);
  s.neg_target = sampling::choose(leaves[1 - root], rng);

  // Names: people for parentless nodes, concepts for the rest, none twice.
  std::vector<std::string_view> people(person_names.begin(), person_names.end());
  std::vector<std::string_view> concepts(concept_names.begin(), concept_names.end());
  sampling::shuffle(people, rng);
  sampling::shuffle(concepts, rng);
  std::size_t next_person = 0, next_concept = 0;
  for (int v = 0; v < g.n; ++v) {
    const bool person = n_parents[v] == 0;
    if (person ? next_person == people.size() : next_concept == concepts.size()) return std::nullopt;
    s.idx_to_symbol.emplace_back(person ? people[next_person++] : concepts[next_concept++]);
  }
  s.edges = g.edges;

  // "Tom is a terpus." for a person, "Every terpus is a brimpus." for a concept.
  const auto statement = [&](int parent, int child) {
    const auto& p = s.idx_to_symbol[parent];
    const auto& c = s.idx_to_symbol[child];
    return (n_parents[parent] == 0 ? p : "Every " + p) + " is a " + c + ".";
  };
  std::vector<std::string> statements;
  for (const auto& [p, c] : g.edges) statements.push_back(statement(p, c));
  sampling::shuffle(statements, rng);
  std::string options[2] = {s.idx_to_symbol[s.target], s.idx_to_symbol[s.neg_target]};
  if (rng.below(2)) std::swap(options[0], options[1]);
  for (const auto& st : statements) s.question += st + " ";
  s.question += "Is " + s.idx_to_symbol[root] + " a " + options[0] + " or " + options[1] + "?";

  const auto path = random_shortest_path(g, root, s.target, rng);
  for (std::size_t i = 0; i + 1 < path.size(); ++i) s.steps.push_back(statement(path[i], path[i + 1]));
  s.answer = s.idx_to_symbol[root] + " is a " + s.idx_to_symbol[s.target] + ".";
  return s;
}

// One sample: grows graphs until one yields a question.
inline Sample generate(Rng& rng, const Config& config = {}) {
  constexpr int max_tries = 1000;
  for (int t = 0; t < max_tries; ++t)
    if (auto s = make_sample(grow_graph(rng, config), rng, config)) return std::move(*s);
  throw std::runtime_error("prosqa::generate: no usable graph in " + std::to_string(max_tries) +
                           " tries; the Config (steps " + std::to_string(config.min_steps) + ".." +
                           std::to_string(config.max_steps) + ", " + std::to_string(config.nodes) +
                           " nodes) asks for questions these graphs cannot give");
}

// `count` samples from one seeded stream: the first k of a larger set are the
// set of size k with the same seed.
inline std::vector<Sample> generate(std::size_t count, std::uint64_t seed, const Config& config = {}) {
  return sampling::draw(count, seed, [&](Rng& rng) { return generate(rng, config); });
}

// ---- a sample's graph, read back -------------------------------------------------
// For analyses of a trained model on any ProsQA file (the official ones too): which
// nodes a continuous thought might be holding at each step.

// The graph a sample was written from. Its ids must be in topological order (every
// edge from a lower to a higher id), as in the generator's graphs and the official
// files; distances() relies on that.
inline Graph graph_of(const Sample& s) {
  if (!s.has_graph()) throw std::runtime_error("prosqa::graph_of: the sample has no graph (not ProsQA)");
  Graph g{int(s.idx_to_symbol.size()), s.edges};
  for (const auto& [p, c] : g.edges)
    if (!(0 <= p && p < c && c < g.n))
      throw std::runtime_error("prosqa::graph_of: edge [" + std::to_string(p) + ", " + std::to_string(c) +
                                  "] does not run from a lower to a higher id among " + std::to_string(g.n) +
                                  " nodes");
  return g;
}

// Each node's depth below the sample's root, i.e. the step of a breadth-first
// search that first reaches it: 0 for the root, 1 for its children, -1 where the
// root does not reach. The answer's depth is the number of steps.
inline std::vector<int> depths(const Sample& s) { return distances(graph_of(s), s.root); }

// The id of the node called `name` in the sample, or -1 if none is.
inline int node_named(const Sample& s, std::string_view name) {
  const auto it = std::find(s.idx_to_symbol.begin(), s.idx_to_symbol.end(), name);
  return it == s.idx_to_symbol.end() ? -1 : int(it - s.idx_to_symbol.begin());
}

// The nodes the sample's steps walk through: the root, then the node each step
// names last ("Every X is a Y." -> Y), ending at the answer. Node i sits at depth i.
inline std::vector<int> reference_path(const Sample& s) {
  if (!s.has_graph()) throw std::runtime_error("prosqa::reference_path: the sample has no graph (not ProsQA)");
  std::vector<int> path = {s.root};
  for (const auto& step : s.steps) {
    const auto space = step.rfind(' ');
    std::string name = step.substr(space == std::string::npos ? 0 : space + 1);
    if (name.ends_with('.')) name.pop_back();
    const int node = node_named(s, name);
    if (node < 0)
      throw std::runtime_error("prosqa::reference_path: step \"" + step + "\" does not end with a node's name");
    path.push_back(node);
  }
  return path;
}

// Whether `step` states an edge of the sample's graph, in the form the steps are
// written: "Tom is a wumpus" for a node without parents (a person), "Every wumpus
// is a yumpus" for any other, with or without the period. Any edge of the graph
// counts, whether or not it continues the step before: this measures the first
// thing a model must learn for ProsQA, to look its steps up in the question
// rather than invent them, not whether it walks toward the answer.
inline bool is_edge_step(const Sample& s, std::string_view step) {
  std::vector<std::string> w;
  for (std::size_t i = 0; i < step.size();) {
    const auto end = std::min(step.find_first_of(" \n.", i), step.size());
    if (end > i) w.emplace_back(step.substr(i, end - i));
    i = end + 1;
  }
  const bool every = !w.empty() && w[0] == "Every";
  if (every) w.erase(w.begin());
  if (w.size() != 4 || w[1] != "is" || w[2] != "a") return false;
  const std::pair<int, int> edge{node_named(s, w[0]), node_named(s, w[3])};
  const bool has_parent =
      std::any_of(s.edges.begin(), s.edges.end(), [&](const auto& e) { return e.second == edge.first; });
  return every == has_parent && std::find(s.edges.begin(), s.edges.end(), edge) != s.edges.end();
}

}  // namespace coconut::prosqa
