// A data set is a list of samples, each a question, its reasoning steps and the
// answer: the format of every file of the Coconut reference (GSM8k, ProntoQA,
// ProsQA), read and written here as JSON.
//
//   [ {"question": "...", "steps": ["...", ...], "answer": "..."},   GSM8k, ProntoQA
//     {"question": ..., "steps": ..., "answer": ...,                 ProsQA adds its graph:
//      "idx_to_symbol": ["Davis", "Tom", "shumpus", ...],            node i's name
//      "edges": [[0, 2], [1, 3], ...],                               [parent, child] index pairs
//      "root": 1, "target": 16, "neg_target": 13}, ...]              Tom, the answer, the distractor
//
// The question never contains the steps; a training sequence is assembled from the
// three parts later (data layout, see ../shared/COCONUT.md "A training sample at
// stage k"). The graph is carried along so that generators and tests can check a
// ProsQA sample against the graph it was written from; training does not read it.
//
// Errors are std::runtime_error naming the file, the sample and the field, e.g.
//   prosqa_valid.json: sample 12: field "steps" must be a list of strings
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "coconut/io/atomic_file.hpp"

namespace coconut {

struct Sample {
  std::string question;
  std::vector<std::string> steps;  // reasoning steps, in order; may be empty
  std::string answer;

  // ProsQA only: the graph the question was written from. Empty (and -1) otherwise.
  std::vector<std::string> idx_to_symbol;  // (n_nodes,) node i's person or concept name
  std::vector<std::pair<int, int>> edges;  // (n_edges,) [parent, child]: "Every parent is a child."
  int root = -1;                           // the node the question is about ("Is Tom a ...")
  int target = -1;                         // the answer's node: reachable from root
  int neg_target = -1;                     // the distractor's node: not reachable from root

  bool has_graph() const { return !idx_to_symbol.empty(); }
  bool operator==(const Sample&) const = default;
};

namespace detail {

// One sample's fields, each checked for presence and type; `where` is
// "file: sample i" and starts every message.
class SampleReader {
 public:
  SampleReader(const nlohmann::json& object, std::string where) : j_(object), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw std::runtime_error(where_ + ": field \"" + field + "\" " + what);
  }
  bool has(const char* field) const { return j_.contains(field); }
  const nlohmann::json& at(const char* field) const {
    if (!has(field)) fail(field, "is missing");
    return j_.at(field);
  }

  std::string string(const char* field) const {
    const auto& v = at(field);
    if (!v.is_string()) fail(field, "must be a string");
    return v.get<std::string>();
  }
  int integer(const char* field) const {
    const auto& v = at(field);
    if (!v.is_number_integer()) fail(field, "must be an integer");
    const auto x = v.get<long long>();
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
      fail(field, "is out of range: " + v.dump());
    return int(x);
  }
  std::vector<std::string> strings(const char* field) const {
    const auto& v = at(field);
    if (!v.is_array()) fail(field, "must be a list of strings");
    std::vector<std::string> out;
    for (const auto& s : v) {
      if (!s.is_string()) fail(field, "must be a list of strings");
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  std::vector<std::pair<int, int>> pairs(const char* field) const {
    const auto& v = at(field);
    if (!v.is_array()) fail(field, "must be a list of [parent, child] integer pairs");
    std::vector<std::pair<int, int>> out;
    for (const auto& e : v) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer())
        fail(field, "must be a list of [parent, child] integer pairs (entry " + std::to_string(out.size()) + " is " +
                        e.dump() + ")");
      out.emplace_back(e[0].get<int>(), e[1].get<int>());
    }
    return out;
  }

 private:
  const nlohmann::json& j_;
  std::string where_;
};

inline Sample read_sample(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw std::runtime_error(where + ": must be a JSON object, not " + std::string(j.type_name()));
  const SampleReader r(j, where);
  Sample s;
  s.question = r.string("question");
  s.steps = r.strings("steps");
  s.answer = r.string("answer");
  if (!r.has("idx_to_symbol")) return s;

  // A ProsQA graph: all five fields, indices inside the node list.
  s.idx_to_symbol = r.strings("idx_to_symbol");
  s.edges = r.pairs("edges");
  s.root = r.integer("root");
  s.target = r.integer("target");
  s.neg_target = r.integer("neg_target");
  const int n = int(s.idx_to_symbol.size());
  const auto check_node = [&](const char* field, int node) {
    if (node < 0 || node >= n)
      r.fail(field, "names node " + std::to_string(node) + " but idx_to_symbol has " + std::to_string(n) + " nodes");
  };
  for (const auto& [parent, child] : s.edges) {
    check_node("edges", parent);
    check_node("edges", child);
  }
  check_node("root", s.root);
  check_node("target", s.target);
  check_node("neg_target", s.neg_target);
  return s;
}

inline nlohmann::json to_json(const Sample& s) {
  nlohmann::json j = {{"question", s.question}, {"steps", s.steps}, {"answer", s.answer}};
  if (s.has_graph()) {
    j["idx_to_symbol"] = s.idx_to_symbol;
    nlohmann::json edges = nlohmann::json::array();
    for (const auto& [parent, child] : s.edges) edges.push_back({parent, child});
    j["edges"] = std::move(edges);
    j["root"] = s.root;
    j["target"] = s.target;
    j["neg_target"] = s.neg_target;
  }
  return j;
}

}  // namespace detail

// Reads a JSON list of samples (the reference's format, above).
inline std::vector<Sample> load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open for reading");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(path + ": malformed JSON: " + e.what());
  }
  if (!j.is_array())
    throw std::runtime_error(path + ": must be a JSON list of samples, not " + std::string(j.type_name()));
  std::vector<Sample> samples;
  samples.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i)
    samples.push_back(detail::read_sample(j[i], path + ": sample " + std::to_string(i)));
  return samples;
}

// Writes samples as a JSON list, one sample per line (readable, greppable, and
// still one JSON document). Atomic (see write_atomically): a crash never
// leaves a half-written data set behind.
inline void save_json(const std::string& path, const std::vector<Sample>& samples) {
  std::string text = "[\n";
  for (std::size_t i = 0; i < samples.size(); ++i) {
    try {
      text += detail::to_json(samples[i]).dump();
    } catch (const nlohmann::json::type_error& e) {  // e.g. a string that is not UTF-8
      throw std::runtime_error(path + ": sample " + std::to_string(i) + ": cannot be written: " + e.what());
    }
    text += i + 1 < samples.size() ? ",\n" : "\n";
  }
  text += "]\n";
  write_atomically(path, text);
}

}  // namespace coconut
