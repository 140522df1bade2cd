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
// each sample's reference chain laid out as `method` trains at stage 0 (CoT:
// question, steps, answer; Coconut: question, <bot>, <eot>, steps, answer) and
// reads the model's next-token distribution where each Y is due, i.e. at the
// token before it. The distribution's mass is split into
//   children     X's children: the steps the graph allows (Y is one of them)
//   parents      X's parents: the edge read backwards
//   other nodes  the graph's other names
//   no node      any other token
// and `top_is_child` counts how often the most probable token is a child of X.
// Two guesses that do not look anything up give the measure its scale, both
// averaged over the same steps and leaving X out (no step repeats its subject):
//   chance            a name of the graph at random: (children of X) / (nodes - 1);
//                     0.129 on the official test, whose path nodes have more
//                     children than most, 0.196 on generated 12-node graphs
//   frequency_chance  a name drawn in proportion to its occurrences in the
//                     question: children occur more often than most names (each
//                     is an object at least once), so counting names, without
//                     reading any sentence, beats `chance` a little: 0.145 on
//                     the official test, 0.213 on 12-node graphs
// Unlike the share of generated steps that are edges, one early mistake does not
// derail the rest of a sample, and partial progress shows as mass before it wins
// the argmax. A model trained with latents at later stages is still measured in
// the stage-0 layout: the chain it would write before any step is replaced.
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
  double chance = 0, frequency_chance = 0;                         // the two guesses above
  long steps = 0;                                                  // steps measured
};

// The measure above over `samples` (ProsQA, with graphs), whose node names must be
// words of `words` (the vocabulary the model was trained with), in the stage-0
// layout of `method`, which must keep the steps (not No-CoT, w/o curriculum or
// pause token). One forward pass per sample; the model's batch is replaced.
template <class Model>
EdgeLookup edge_lookup(Model& model, const std::vector<Sample>& samples, const WordTokenizer& words,
                       const Method& method = method_named("cot")) {
  if (method.schedule == Schedule::no_cot || method.schedule == Schedule::final_stage)
    throw std::invalid_argument("edge_lookup: method " + method.name + " writes no steps to measure");
  const SpecialTokens special = word_special_tokens();
  const auto tokenized = tokenize(samples, words, "edge_lookup samples");
  EdgeLookup out;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    const std::string where = "edge_lookup: sample " + std::to_string(i);
    if (!s.has_graph()) throw std::invalid_argument(where + " has no graph: not ProsQA");
    const std::vector<int> path = prosqa::reference_path(s);  // X of step j is path[j], Y is path[j + 1]
    std::vector<int> node_of(Model::V, -1);                    // token -> node of this graph, or -1
    std::vector<int> token_of(s.idx_to_symbol.size());         // node -> token
    for (std::size_t v = 0; v < s.idx_to_symbol.size(); ++v) {
      if (!words.contains(s.idx_to_symbol[v]))
        throw std::invalid_argument(where + ": node name '" + s.idx_to_symbol[v] + "' is not in the vocabulary");
      token_of[v] = words.id(s.idx_to_symbol[v]);
      node_of[std::size_t(token_of[v])] = int(v);
    }

    std::vector<double> occurrences(s.idx_to_symbol.size(), 0.0);  // of each node in the question
    for (int t : tokenized[i].question)
      if (node_of[std::size_t(t)] >= 0) occurrences[std::size_t(node_of[std::size_t(t)])] += 1;
    double all_occurrences = 0;
    for (double n : occurrences) all_occurrences += n;

    const Sequence seq = build_sequence(tokenized[i], method, {}, 0, special);
    const Batch batch = collate({&seq}, special);
    model.set_batch(batch);
    model.forward(0, batch.T);
    // At stage 0 the steps follow the prompt (the question, and <bot> <eot> if the
    // method has markers); one row has no padding.
    std::size_t start = seq.prompt_length;
    for (std::size_t j = 0; j < tokenized[i].steps.size(); ++j) {
      const auto& step = tokenized[i].steps[j];
      if (start + step.size() > seq.tokens.size() || !std::equal(step.begin(), step.end(), seq.tokens.begin() + long(start)))
        throw std::logic_error(where + ": the steps do not follow the prompt in " + method.name + "'s stage-0 layout");
      const int x = path[j], y = path[j + 1];
      const auto at_y = std::find(step.rbegin(), step.rend(), token_of[std::size_t(y)]);  // "... a Y ."
      if (at_y == step.rend() || at_y + 1 == step.rend()) throw std::invalid_argument(where + ": a step without its node");
      const Index due = Index(start) + Index(step.rend() - at_y) - 2;  // the token before Y
      const auto p = next_token_distribution(model, 0, due);

      std::vector<int> group(p.size(), 3);  // 0 child, 1 parent, 2 other node, 3 no node
      for (std::size_t t = 0; t < p.size(); ++t)
        if (node_of[t] >= 0) group[t] = 2;
      double children = 0, children_occurrences = 0;
      for (const auto& [parent, child] : s.edges) {  // a DAG: no node is both
        if (child == x) group[std::size_t(token_of[std::size_t(parent)])] = 1;
        if (parent == x) {
          group[std::size_t(token_of[std::size_t(child)])] = 0;
          children += 1;
          children_occurrences += occurrences[std::size_t(child)];
        }
      }
      out.chance += children / double(s.idx_to_symbol.size() - 1);
      out.frequency_chance += children_occurrences / (all_occurrences - occurrences[std::size_t(x)]);

      double mass[4] = {0, 0, 0, 0};
      for (std::size_t t = 0; t < p.size(); ++t) mass[group[t]] += p[t];
      out.children += mass[0], out.parents += mass[1], out.other_nodes += mass[2], out.no_node += mass[3];
      out.top_is_child += group[std::size_t(std::max_element(p.begin(), p.end()) - p.begin())] == 0;
      ++out.steps;
      start += step.size();
    }
  }
  if (out.steps > 0)
    for (double* x : {&out.children, &out.parents, &out.other_nodes, &out.no_node, &out.top_is_child, &out.chance,
                      &out.frequency_chance})
      *x /= double(out.steps);
  return out;
}

}  // namespace coconut
