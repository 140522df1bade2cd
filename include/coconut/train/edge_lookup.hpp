// Does a model look ProsQA's edges up in the question?
//
// Every step of a ProsQA chain names a node X and one of its children Y ("Every X
// is a Y.", "Tom is a Y." for a person), and the graph is written nowhere but in
// the question, as the same sentences in random order. To write Y the model must
// find "X is a" there and copy the word that follows: three tokens matched in
// context, not one, so a transformer trained from scratch must first build heads
// that attend at fixed offsets (to the token two or three back). Until it has, it
// can only guess Y among the question's names, however low its loss elsewhere.
//
// edge_lookup measures this one skill directly, with teacher forcing: it feeds
// each sample's reference chain in the CoT layout (question, steps, answer) and
// reads the model's next-token distribution where each Y is due, i.e. at the "a"
// before it. The distribution's mass is split into
//   children     X's children: the steps the graph allows (Y is one of them)
//   parents      X's parents, not also children: the edge read backwards
//   other nodes  the graph's other names
//   no node      any other token
// and `top_is_child` counts how often the most probable token is a child of X.
// Chance is about (children of X) / (nodes): near 0.07 on official-size graphs.
// Unlike the share of generated steps that are edges, one early mistake does not
// derail the rest of a sample, and partial progress shows as mass before it wins
// the argmax.
//
//     const EdgeLookup e = edge_lookup(model, valid_samples, words);
//     std::printf("%.0f%% of the mass on a child of X\n", 100 * e.children);
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/data/layout.hpp"
#include "coconut/data/prosqa.hpp"
#include "coconut/data/tasks.hpp"
#include "coconut/data/tokenizer.hpp"
#include "coconut/thought/inspect.hpp"

namespace coconut {

struct EdgeLookup {
  double children = 0, parents = 0, other_nodes = 0, no_node = 0;  // mean mass, over steps
  double top_is_child = 0;                                         // share of steps
  long steps = 0;                                                  // steps measured
};

// The measure above over `samples` (ProsQA with graphs), whose node names must be
// words of `words` (the vocabulary the model was trained with). Runs one forward
// pass per sample; the model's batch is replaced.
template <class Model>
EdgeLookup edge_lookup(Model& model, const std::vector<Sample>& samples, const WordTokenizer& words) {
  const SpecialTokens special = word_special_tokens();
  const int is_id = words.id("is"), a_id = words.id("a");
  const auto tokenized = tokenize(samples, words, "edge_lookup samples");
  EdgeLookup out;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    if (!s.has_graph())
      throw std::invalid_argument("edge_lookup: sample " + std::to_string(i) + " has no graph: not ProsQA");
    const Sequence seq = build_sequence(tokenized[i], method_named("cot"), {}, 0, special);
    const Batch batch = collate({&seq}, special);
    model.set_batch(batch);
    model.forward(0, batch.T);

    // Each token's group for this graph: 2 (other node) for its names, 3 (no node) else.
    std::vector<int> node_of(Model::V, -1);
    for (int v = 0; v < int(s.idx_to_symbol.size()); ++v) node_of[words.id(s.idx_to_symbol[v])] = v;

    // The CoT layout is question, steps, answer, without markers: step j starts
    // after the question and the steps before it.
    std::size_t start = tokenized[i].question.size();
    for (const auto& step : tokenized[i].steps) {
      if (start + step.size() > seq.tokens.size() ||
          !std::equal(step.begin(), step.end(), seq.tokens.begin() + long(start)))
        throw std::logic_error("edge_lookup: the CoT layout is not question, steps, answer");
      // "[Every] X is a Y ." : Y is due after the "a" that follows X and "is".
      const auto a = std::find(step.begin(), step.end(), a_id);
      if (a - step.begin() < 2 || a + 1 == step.end() || *(a - 1) != is_id || node_of[*(a - 2)] < 0)
        throw std::invalid_argument("edge_lookup: sample " + std::to_string(i) + " has a step that is not \"X is a Y\"");
      const int x = node_of[*(a - 2)];
      const auto p = next_token_distribution(model, 0, Index(start + std::size_t(a - step.begin())));
      std::vector<int> group(p.size(), 3);
      for (std::size_t t = 0; t < p.size(); ++t)
        if (node_of[t] >= 0) group[t] = 2;
      for (const auto& [parent, child] : s.edges)
        if (child == x) group[words.id(s.idx_to_symbol[parent])] = 1;
      for (const auto& [parent, child] : s.edges)
        if (parent == x) group[words.id(s.idx_to_symbol[child])] = 0;
      double mass[4] = {0, 0, 0, 0};
      for (std::size_t t = 0; t < p.size(); ++t) mass[group[t]] += p[t];
      out.children += mass[0], out.parents += mass[1], out.other_nodes += mass[2], out.no_node += mass[3];
      out.top_is_child += group[std::size_t(std::max_element(p.begin(), p.end()) - p.begin())] == 0;
      ++out.steps;
      start += step.size();
    }
  }
  if (out.steps > 0)
    for (double* x : {&out.children, &out.parents, &out.other_nodes, &out.no_node, &out.top_is_child})
      *x /= double(out.steps);
  return out;
}

}  // namespace coconut
