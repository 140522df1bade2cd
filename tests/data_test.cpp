// The data layer: JSON data sets (round trip, the official files, error messages
// that name file, sample and field), the word tokenizer, and the ProsQA and
// ProntoQA generators, checked sample by sample against their own graphs and, for
// ProsQA, statistically against the official validation file; and a ProsQA
// sample's graph read back (node depths, the steps' path) on the official test file.
//
// The official files are read from ../../shared/data relative to this source
// directory (shared/ sits beside the repository, in CI too). They must be there:
// a missing file fails the test, naming the path.
#define BOOST_TEST_MODULE data
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <cereal/archives/binary.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "coconut/data/dataset.hpp"
#include "coconut/data/prontoqa.hpp"
#include "coconut/data/prosqa.hpp"
#include "coconut/data/tokenizer.hpp"

using namespace coconut;
namespace fs = std::filesystem;

namespace {

std::string official(const std::string& name) {
  const std::string path = COCONUT_TEST_DATA "/../../shared/data/" + name;
  BOOST_REQUIRE_MESSAGE(fs::exists(path), "missing official data file: " << path);
  return path;
}

// A fresh directory for files the test writes, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("coconut_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name, const std::string& contents = "") const {
    const auto p = (path / name).string();
    if (!contents.empty()) std::ofstream(p) << contents;
    return p;
  }
};

// The message of the std::runtime_error that `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Shortest distances by breadth-first search, independent of prosqa::distances.
std::vector<int> bfs(const Sample& s, int source) {
  const int n = int(s.idx_to_symbol.size());
  std::vector<std::vector<int>> kids(n);
  for (const auto& [p, c] : s.edges) kids[p].push_back(c);
  std::vector<int> d(n, -1);
  std::deque<int> queue = {source};
  d[source] = 0;
  while (!queue.empty()) {
    const int u = queue.front();
    queue.pop_front();
    for (int v : kids[u])
      if (d[v] < 0) d[v] = d[u] + 1, queue.push_back(v);
  }
  return d;
}

// The question's sentences, split at ". " (the statements) and its final question.
std::vector<std::string> sentences(const std::string& question) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t dot; (dot = question.find(". ", start)) != std::string::npos; start = dot + 2)
    out.push_back(question.substr(start, dot + 1 - start));
  out.push_back(question.substr(start));
  return out;
}

// The statistics of the ProsQA generator's header comment.
struct ProsQAStats {
  int min_nodes = 1000, max_nodes = 0;
  double mean_nodes = 0, mean_edges = 0, root1 = 0;
  std::map<int, double> steps;  // proportion of samples with that many steps
  std::set<std::string> names;

  explicit ProsQAStats(const std::vector<Sample>& data) {
    for (const auto& s : data) {
      const int n = int(s.idx_to_symbol.size());
      min_nodes = std::min(min_nodes, n);
      max_nodes = std::max(max_nodes, n);
      mean_nodes += n;
      mean_edges += double(s.edges.size());
      root1 += s.root == 1;
      steps[int(s.steps.size())] += 1;
      names.insert(s.idx_to_symbol.begin(), s.idx_to_symbol.end());
    }
    const double N = double(data.size());
    mean_nodes /= N, mean_edges /= N, root1 /= N;
    for (auto& [k, v] : steps) v /= N;
  }
};

}  // namespace

// ---- data sets -----------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(dataset)

// save_json then load_json gives back exactly the samples, graph or not, with
// quotes, backslashes, newlines and non-ASCII text; no temporary file is left.
BOOST_AUTO_TEST_CASE(json_round_trip) {
  TempDir dir;
  std::vector<Sample> samples = prosqa::generate(5, 11);
  Sample plain;
  plain.question = "Janet's \"ducks\" lay 16 eggs\\day.\nHow many? \xC3\xA9t\xC3\xA9";
  plain.steps = {"<<16-3-4=9>>", "<<9*2=18>>"};
  plain.answer = "18";
  samples.push_back(plain);
  samples.push_back(Sample{"no steps", {}, "x", {}, {}, -1, -1, -1});

  const auto path = dir.file("round.json");
  save_json(path, samples);
  BOOST_TEST(!fs::exists(path + ".tmp"));
  const auto back = load_json(path);
  BOOST_REQUIRE_EQUAL(back.size(), samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) BOOST_TEST((back[i] == samples[i]), "sample " << i);
  BOOST_TEST(back[0].has_graph());
  BOOST_TEST(!back[5].has_graph());

  save_json(path, {});  // overwriting works, and an empty data set is a valid file
  BOOST_TEST(load_json(path).empty());
}

// The official evaluation files load, with their sizes and (for ProsQA) graphs.
BOOST_AUTO_TEST_CASE(official_files_load) {
  const std::vector<std::pair<std::string, std::size_t>> files = {
      {"prosqa_valid.json", 300}, {"prosqa_test.json", 500}, {"gsm_valid.json", 500}, {"gsm_test.json", 1319}};
  for (const auto& [name, size] : files) {
    const auto data = load_json(official(name));
    BOOST_TEST(data.size() == size, name);
    const bool prosqa = name.starts_with("prosqa");
    for (const auto& s : data) {
      BOOST_TEST(s.has_graph() == prosqa, name);
      BOOST_TEST(!s.question.empty());
      BOOST_TEST(!s.answer.empty());
    }
  }
  const auto first = load_json(official("prosqa_valid.json")).front();
  BOOST_TEST(first.answer == "Tom is a lempus.");
  BOOST_TEST(first.idx_to_symbol.size() == 18u);
  BOOST_TEST(first.root == 1);
  BOOST_TEST(first.target == 16);
  BOOST_TEST(first.neg_target == 13);
  BOOST_TEST((first.edges.front() == std::pair{0, 2}));
}

// Every failure names the file, and for a bad sample its index and field.
BOOST_AUTO_TEST_CASE(error_messages) {
  TempDir dir;
  const std::string good = R"({"question": "q", "steps": ["a"], "answer": "x"})";
  const auto load = [&](const std::string& name, const std::string& text) {
    return error_of([&] { load_json(dir.file(name, text)); });
  };

  const auto missing = (dir.path / "absent.json").string();
  BOOST_TEST(contains(error_of([&] { load_json(missing); }), missing));

  auto e = load("malformed.json", "[" + good + ", {\"question\": ");
  BOOST_TEST(contains(e, "malformed.json: malformed JSON"), e);

  e = load("object.json", good);
  BOOST_TEST(contains(e, "object.json: must be a JSON list of samples"), e);

  e = load("not_object.json", "[" + good + ", 42]");
  BOOST_TEST(contains(e, "not_object.json: sample 1: must be a JSON object"), e);

  e = load("no_answer.json", "[" + good + R"(, {"question": "q", "steps": []}])");
  BOOST_TEST(contains(e, "no_answer.json: sample 1: field \"answer\" is missing"), e);

  e = load("steps.json", R"([{"question": "q", "steps": ["a", 3], "answer": "x"}])");
  BOOST_TEST(contains(e, "steps.json: sample 0: field \"steps\" must be a list of strings"), e);

  e = load("question.json", R"([{"question": 7, "steps": [], "answer": "x"}])");
  BOOST_TEST(contains(e, "question.json: sample 0: field \"question\" must be a string"), e);

  const std::string graph = R"("idx_to_symbol": ["Tom", "Bob", "wumpus"], "edges": [[0, 2]])";
  e = load("root.json", "[" + good + ", " + good + R"(, {"question": "q", "steps": [], "answer": "x", )" + graph +
                            R"(, "root": "0", "target": 2, "neg_target": 1}])");
  BOOST_TEST(contains(e, "root.json: sample 2: field \"root\" must be an integer"), e);

  e = load("edge.json", R"([{"question": "q", "steps": [], "answer": "x", "idx_to_symbol": ["Tom", "wumpus"],
                             "edges": [[0, 1], [0, 5]], "root": 0, "target": 1, "neg_target": 1}])");
  BOOST_TEST(contains(e, "edge.json: sample 0: field \"edges\" names node 5 but idx_to_symbol has 2 nodes"), e);

  e = load("pair.json", R"([{"question": "q", "steps": [], "answer": "x", "idx_to_symbol": ["Tom", "wumpus"],
                             "edges": [[0, 1, 2]], "root": 0, "target": 1, "neg_target": 1}])");
  BOOST_TEST(contains(e, "pair.json: sample 0: field \"edges\" must be a list of [parent, child] integer pairs"), e);

  e = error_of([&] { save_json((dir.path / "no_such_dir" / "x.json").string(), {}); });
  BOOST_TEST(contains(e, "no_such_dir"), e);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- tokenizer -----------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(tokenizer)

BOOST_AUTO_TEST_CASE(special_tokens_have_fixed_ids) {
  const auto tok = WordTokenizer::build(prosqa::generate(20, 3));
  BOOST_TEST(tok.id("<|endoftext|>") == WordTokenizer::eos_id);
  BOOST_TEST(tok.id("<|start-latent|>") == WordTokenizer::start_latent_id);
  BOOST_TEST(tok.id("<|end-latent|>") == WordTokenizer::end_latent_id);
  BOOST_TEST(tok.id("<|latent|>") == WordTokenizer::latent_id);
  BOOST_TEST(
      (std::vector<int>{0, 1, 2, 3} == std::vector<int>{WordTokenizer::eos_id, WordTokenizer::start_latent_id,
                                                        WordTokenizer::end_latent_id, WordTokenizer::latent_id}));
  BOOST_TEST(tok.id("\n") == 4);
  BOOST_TEST(tok.id("#") == 5);
}

// Splitting, canonical joining, and a whole training sequence.
BOOST_AUTO_TEST_CASE(split_and_join) {
  using W = std::vector<std::string>;
  BOOST_TEST(
      (WordTokenizer::split("Is Tom a lempus or scrompus?") == W{"Is", "Tom", "a", "lempus", "or", "scrompus", "?"}));
  BOOST_TEST((WordTokenizer::split("a.\n### b, c") == W{"a", ".", "\n", "#", "#", "#", "b", ",", "c"}));
  BOOST_TEST((WordTokenizer::split("  x \t y\r\n") == W{"x", "y", "\n"}));
  BOOST_TEST(WordTokenizer::canonical("Is  Tom a x ?") == "Is Tom a x?");
  BOOST_TEST(WordTokenizer::canonical("True or false : Max is not a q .") == "True or false: Max is not a q.");

  const std::string sequence =
      "Every wumpus is a yumpus. Is Tom a wumpus or yumpus?\n<|start-latent|> <|latent|> <|latent|> "
      "<|end-latent|> Every wumpus is a yumpus.\n### Tom is a yumpus. <|endoftext|>";
  Sample s{
      "Every wumpus is a yumpus. Is Tom a wumpus or yumpus?", {}, "Tom is a wumpus or yumpus.", {}, {}, -1, -1, -1};
  const auto tok = WordTokenizer::build({s});
  const auto ids = tok.encode(sequence);
  BOOST_TEST(tok.decode(ids) == sequence);
  BOOST_TEST(std::count(ids.begin(), ids.end(), WordTokenizer::latent_id) == 2);
  BOOST_TEST(ids.back() == WordTokenizer::eos_id);
}

// Built from generated ProsQA training data, the vocabulary covers every word of
// the official files, and decode(encode(text)) gives each text back unchanged.
BOOST_AUTO_TEST_CASE(covers_official_prosqa) {
  const auto tok = WordTokenizer::build(prosqa::generate(2000, 1));
  BOOST_TEST(tok.size() == 4 + 2 + 17 + 38 + 7);  // specials, \n #, names, Every is a Is or . ?
  for (const char* name : {"prosqa_valid.json", "prosqa_test.json"}) {
    const auto data = load_json(official(name));
    for (std::size_t i = 0; i < data.size(); ++i) {
      const Sample& s = data[i];
      std::vector<std::string> texts = {s.question, s.answer};
      texts.insert(texts.end(), s.steps.begin(), s.steps.end());
      for (const auto& t : texts) {
        std::vector<int> ids;
        BOOST_CHECK_NO_THROW(ids = tok.encode(t));
        BOOST_TEST(tok.decode(ids) == t, name << ": sample " << i);
      }
      // The answer as the reference extracts it from "### answer": after the last '#', stripped.
      const auto decoded = tok.decode(tok.encode("### " + s.answer));
      BOOST_TEST(decoded.substr(decoded.rfind('#') + 2) == s.answer);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_word_is_named) {
  const auto tok = WordTokenizer::build(prosqa::generate(10, 3));
  const auto e = error_of([&] { tok.encode("Every wumpus is a xylophone."); });
  BOOST_TEST(contains(e, "unknown word \"xylophone\""), e);
  BOOST_TEST(contains(error_of([&] { tok.decode(std::vector<int>{tok.size()}); }), "outside the vocabulary"));
}

// The one-token-per-line file and cereal both give back the same tokenizer; a
// broken file is reported with its path and line.
BOOST_AUTO_TEST_CASE(save_and_load) {
  TempDir dir;
  const auto tok = WordTokenizer::build(prontoqa::generate(50, 2));
  const auto path = dir.file("vocab.txt");
  tok.save(path);
  BOOST_TEST((WordTokenizer::load(path) == tok));
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  BOOST_REQUIRE_EQUAL(int(lines.size()), tok.size());
  BOOST_TEST(lines[0] == "<|endoftext|>");
  BOOST_TEST(lines[4] == "\\n");  // the newline token, escaped

  std::stringstream buffer;
  {
    cereal::BinaryOutputArchive out(buffer);
    out(tok);
  }
  WordTokenizer back;
  {
    cereal::BinaryInputArchive in_archive(buffer);
    in_archive(back);
  }
  BOOST_TEST((back == tok));
  BOOST_TEST(back.id("True") == tok.id("True"));

  auto e = error_of([&] {
    WordTokenizer::load(dir.file("dup.txt", "<|endoftext|>\n<|start-latent|>\n<|end-latent|>\n<|latent|>\nTom\nTom\n"));
  });
  BOOST_TEST((contains(e, "dup.txt") && contains(e, "\"Tom\" appears twice")), e);
  e = error_of([&] { WordTokenizer::load(dir.file("order.txt", "<|latent|>\nTom\n")); });
  BOOST_TEST((contains(e, "order.txt") && contains(e, "token 0 must be <|endoftext|>")), e);
  e = error_of([&] { WordTokenizer::load(dir.file("empty.txt", "<|endoftext|>\n\nx\n")); });
  BOOST_TEST(contains(e, "empty.txt: line 2: empty line"), e);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- ProsQA --------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(prosqa_generator)

// Same seed, same samples (and a shorter run is a prefix); another seed differs.
BOOST_AUTO_TEST_CASE(deterministic) {
  const auto a = prosqa::generate(50, 7), b = prosqa::generate(50, 7), c = prosqa::generate(20, 7);
  BOOST_TEST((a == b));
  BOOST_TEST((std::vector<Sample>(a.begin(), a.begin() + 20) == c));
  BOOST_TEST((prosqa::generate(50, 8) != a));
}

// Each sample is true to its own graph: the question lists exactly its edges, the
// steps walk a shortest path from the root to the answer, the answer is an
// exclusive leaf of the root, the distractor one of the other seed. So with
// smaller graphs (Config::nodes, coconut_train --prosqa-nodes), which have at most
// that many nodes.
BOOST_DATA_TEST_CASE(consistent_with_graph, boost::unit_test::data::make({28, 12, 6}), nodes) {
  const auto data = prosqa::generate(nodes == 28 ? 500 : 200, 42, prosqa::Config{.nodes = nodes});
  for (std::size_t i = 0; i < data.size(); ++i) {
    const Sample& s = data[i];
    BOOST_TEST_CONTEXT("sample " << i << ": " << s.question) {
      const int n = int(s.idx_to_symbol.size());
      const auto& name = s.idx_to_symbol;
      BOOST_REQUIRE(n >= 3);
      BOOST_TEST(n <= nodes);
      BOOST_TEST(std::set<std::string>(name.begin(), name.end()).size() == name.size());  // names distinct
      std::vector<int> n_parents(n, 0), n_children(n, 0);
      for (const auto& [p, c] : s.edges) {
        BOOST_REQUIRE((0 <= p && p < c && c < n));
        ++n_parents[c], ++n_children[p];
      }
      for (int v = 0; v < n; ++v) {
        BOOST_TEST((n_parents[v] > 0 || n_children[v] > 0), "node " << v << " is isolated");
        const bool person =
            std::find(prosqa::person_names.begin(), prosqa::person_names.end(), name[v]) != prosqa::person_names.end();
        BOOST_TEST(person == (n_parents[v] == 0), "node " << v << " " << name[v]);
      }

      // The question: the edges as statements, then "Is R a X or Y?".
      auto said = sentences(s.question);
      const std::string ask = said.back();
      said.pop_back();
      std::multiset<std::string> expected;
      for (const auto& [p, c] : s.edges)
        expected.insert((n_parents[p] == 0 ? name[p] : "Every " + name[p]) + " is a " + name[c] + ".");
      BOOST_TEST((std::multiset<std::string>(said.begin(), said.end()) == expected));
      BOOST_REQUIRE((s.root == 0 || s.root == 1));
      const std::string R = name[s.root], A = name[s.target], B = name[s.neg_target];
      BOOST_TEST((ask == "Is " + R + " a " + A + " or " + B + "?" || ask == "Is " + R + " a " + B + " or " + A + "?"),
                 ask);
      BOOST_TEST(s.answer == R + " is a " + A + ".");

      // The steps: a path root -> ... -> target along edges, as short as possible.
      const auto from_root = bfs(s, s.root), from_other = bfs(s, 1 - s.root);
      BOOST_REQUIRE(!s.steps.empty());
      std::set<std::pair<int, int>> edges(s.edges.begin(), s.edges.end());
      int at = s.root;
      for (std::size_t k = 0; k < s.steps.size(); ++k) {
        const std::string prefix = k == 0 ? R + " is a " : "Every " + name[at] + " is a ";
        BOOST_REQUIRE_MESSAGE(s.steps[k].starts_with(prefix) && s.steps[k].ends_with("."), s.steps[k]);
        const std::string next = s.steps[k].substr(prefix.size(), s.steps[k].size() - prefix.size() - 1);
        const int v = int(std::find(name.begin(), name.end(), next) - name.begin());
        BOOST_REQUIRE_MESSAGE(v < n && edges.count({at, v}), "step " << k << " is no edge: " << s.steps[k]);
        at = v;
      }
      BOOST_TEST(at == s.target);
      BOOST_TEST(int(s.steps.size()) == from_root[s.target]);
      BOOST_TEST((3 <= s.steps.size() && s.steps.size() <= 6));

      // Answer: an exclusive leaf of the root, as deep as any; distractor: one of the other seed.
      BOOST_TEST(n_children[s.target] == 0);
      BOOST_TEST(from_other[s.target] == -1);
      BOOST_TEST(n_children[s.neg_target] == 0);
      BOOST_TEST(from_root[s.neg_target] == -1, "the distractor is reachable from the root");
      BOOST_TEST(from_other[s.neg_target] >= 1);
      BOOST_TEST(from_other[s.neg_target] <= from_root[s.target]);
      for (int v = 2; v < n; ++v)
        if (n_children[v] == 0 && from_other[v] < 0) BOOST_TEST(from_root[v] <= from_root[s.target]);
    }
  }
}

// 2,000 generated samples look like the official validation file, within
// tolerances about twice its sampling error, and never copy an official question.
BOOST_AUTO_TEST_CASE(statistics_match_official) {
  const auto generated = prosqa::generate(2000, 0);
  const auto valid = load_json(official("prosqa_valid.json"));
  const auto test = load_json(official("prosqa_test.json"));
  ProsQAStats g(generated), o(valid);
  BOOST_TEST_MESSAGE("nodes " << g.min_nodes << "-" << g.max_nodes << " mean " << g.mean_nodes << " (official "
                              << o.mean_nodes << "), edges " << g.mean_edges << " (" << o.mean_edges << "), root=1 "
                              << g.root1 << " (" << o.root1 << ")");
  BOOST_TEST(g.min_nodes >= 14);
  BOOST_TEST(g.max_nodes <= 28);
  BOOST_TEST(std::abs(g.mean_nodes - o.mean_nodes) < 0.5);
  BOOST_TEST(std::abs(g.mean_edges - o.mean_edges) < 1.5);
  BOOST_TEST(std::abs(g.root1 - o.root1) < 0.08);
  for (int k = 3; k <= 6; ++k) {
    BOOST_TEST_MESSAGE(k << " steps: " << g.steps[k] << " (official " << o.steps[k] << ")");
    BOOST_TEST(std::abs(g.steps[k] - o.steps[k]) < 0.06, k << " steps");
  }
  BOOST_TEST(g.steps.size() == 4u);  // 3..6 only
  std::set<std::string> vocabulary(prosqa::person_names.begin(), prosqa::person_names.end());
  vocabulary.insert(prosqa::concept_names.begin(), prosqa::concept_names.end());
  BOOST_TEST(std::includes(vocabulary.begin(), vocabulary.end(), g.names.begin(), g.names.end()));
  BOOST_TEST((o.names == vocabulary));  // the name lists are exactly the official ones

  std::set<std::string> official_questions;
  for (const auto& s : valid) official_questions.insert(s.question);
  for (const auto& s : test) official_questions.insert(s.question);
  for (const auto& s : generated) BOOST_TEST(!official_questions.count(s.question));
}

// A sample's graph read back, on the official test file: each node's depth is its
// breadth-first distance from the root (the root's children at 1, the answer at
// the number of steps), and the steps walk one node deeper each.
BOOST_AUTO_TEST_CASE(depths_and_path_of_official_samples) {
  const auto test = load_json(official("prosqa_test.json"));
  for (std::size_t i = 0; i < test.size(); ++i) {
    const Sample& s = test[i];
    BOOST_TEST_CONTEXT("prosqa_test.json sample " << i) {
      const auto depth = prosqa::depths(s);
      BOOST_TEST(depth == bfs(s, s.root), boost::test_tools::per_element());
      BOOST_TEST(depth[s.root] == 0);
      for (const auto& [p, c] : s.edges)
        if (p == s.root) BOOST_TEST(depth[c] == 1);
      BOOST_TEST(depth[s.target] == int(s.steps.size()));
      BOOST_TEST(depth[s.neg_target] == -1);
      const auto path = prosqa::reference_path(s);
      BOOST_REQUIRE(path.size() == s.steps.size() + 1);
      BOOST_TEST(path.back() == s.target);
      const std::set<std::pair<int, int>> edges(s.edges.begin(), s.edges.end());
      for (std::size_t k = 0; k < path.size(); ++k) {
        BOOST_TEST(depth[path[k]] == int(k));
        if (k > 0) BOOST_TEST(edges.count({path[k - 1], path[k]}) == 1u);
      }
    }
  }
  // The first test sample: "Sally is a scrompus." "Every scrompus is a rempus." ...
  const Sample& s = test.front();
  const auto path = prosqa::reference_path(s);
  BOOST_TEST(s.idx_to_symbol[path[0]] == "Sally");
  BOOST_TEST(s.idx_to_symbol[path[1]] == "scrompus");
  BOOST_TEST(s.idx_to_symbol[path[3]] == "sterpus");
}

// A sample without a graph, a step that names no node, or ids out of topological
// order: errors that say which.
BOOST_AUTO_TEST_CASE(graph_read_back_errors) {
  Sample s = prosqa::generate(1, 5).front();
  Sample no_graph;
  no_graph.question = "Is 2 + 2 four?";
  BOOST_TEST(contains(error_of([&] { prosqa::depths(no_graph); }), "no graph"));
  s.steps.back() = "Every X is a nobody.";
  BOOST_TEST(contains(error_of([&] { prosqa::reference_path(s); }), "\"Every X is a nobody.\""));
  std::swap(s.edges.front().first, s.edges.front().second);  // against the id order
  BOOST_TEST(contains(error_of([&] { prosqa::depths(s); }), "lower to a higher id"));
}

BOOST_AUTO_TEST_CASE(bad_config_is_rejected) {
  BOOST_CHECK_THROW(prosqa::generate(1, 0, prosqa::Config{.nodes = 2}), std::invalid_argument);
  BOOST_CHECK_THROW(prosqa::generate(1, 0, prosqa::Config{.p_under_0 = 0.6, .p_under_1 = 0.6}), std::invalid_argument);
  BOOST_CHECK_THROW(prosqa::generate(1, 0, prosqa::Config{.min_steps = 4, .max_steps = 3}), std::invalid_argument);
  // Possible but unreachable: 5 nodes never make a 6-step question.
  const auto e = error_of([] { prosqa::generate(1, 0, prosqa::Config{.nodes = 5, .min_steps = 6}); });
  BOOST_TEST(contains(e, "no usable graph"), e);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- ProntoQA ------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(prontoqa_generator)

BOOST_AUTO_TEST_CASE(deterministic) {
  const auto a = prontoqa::generate(50, 5), b = prontoqa::generate(50, 5);
  BOOST_TEST((a == b));
  BOOST_TEST((prontoqa::generate(50, 6) != a));
}

// Deduces each answer from the question alone (forward chaining over its rules)
// and checks it, the 5-hop chain of the steps, and the balance of the answers.
BOOST_AUTO_TEST_CASE(consistent_and_balanced) {
  const auto data = prontoqa::generate(500, 9);
  int n_true = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const Sample& s = data[i];
    BOOST_TEST_CONTEXT("sample " << i << ": " << s.question) {
      auto said = sentences(s.question);
      const std::string ask = said.back();
      said.pop_back();
      // Facts: "P is a X." once; rules "Every X is a Y." / "Every X is not a Y.".
      std::string person, start;
      std::map<std::string, std::vector<std::pair<std::string, bool>>> rules;
      for (const auto& f : said) {
        std::istringstream words(f.substr(0, f.size() - 1));
        std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
        if (w[0] == "Every") {
          const bool positive = w[3] != "not";
          rules[w[1]].emplace_back(w.back(), positive);
        } else {
          BOOST_REQUIRE((w.size() == 4 && person.empty()));
          person = w[0], start = w[3];
        }
      }
      // Forward chaining from the person's concept; depth = hops used.
      std::map<std::string, int> is;  // concept -> hops from the fact
      std::map<std::string, int> is_not;
      std::deque<std::string> queue = {start};
      is[start] = 0;
      while (!queue.empty()) {
        const auto x = queue.front();
        queue.pop_front();
        for (const auto& [y, positive] : rules[x]) {
          if (!positive) {
            is_not.emplace(y, is[x] + 1);
          } else if (!is.count(y)) {
            is[y] = is[x] + 1;
            queue.push_back(y);
          }
        }
      }
      const std::string prefix = "True or false: " + person;
      BOOST_REQUIRE(ask.starts_with(prefix));
      const bool negated = ask.starts_with(prefix + " is not a ");
      const std::string q = ask.substr(ask.rfind(' ') + 1, ask.size() - ask.rfind(' ') - 2);
      BOOST_REQUIRE_MESSAGE(is.count(q) != is_not.count(q), "exactly one of is/is not must follow");
      const bool max_is_q = is.count(q) > 0;
      BOOST_TEST(s.answer == ((max_is_q != negated) ? "True" : "False"));
      BOOST_TEST((max_is_q ? is[q] : is_not[q]) == 5);
      n_true += s.answer == "True";

      // Steps: "P is a c_i. Every c_i is a c_{i+1}." x 5, then the conclusion.
      BOOST_REQUIRE(s.steps.size() == 6u);
      for (std::size_t k = 0; k < 5; ++k) {
        const auto& step = s.steps[k];
        const auto cut = step.find(". ");
        BOOST_REQUIRE(cut != std::string::npos);
        const std::string fact = step.substr(0, cut + 1), rule = step.substr(cut + 2);
        BOOST_TEST(fact.starts_with(person + " is a "));
        BOOST_TEST(std::count(said.begin(), said.end(), rule) == 1, "rule not in the question: " << rule);
      }
      BOOST_TEST(s.steps.back() == person + (max_is_q ? " is a " : " is not a ") + q + ".");
    }
  }
  BOOST_TEST(std::abs(n_true / 500.0 - 0.5) < 0.07);
}

// A tokenizer built from ProntoQA samples reproduces them exactly.
BOOST_AUTO_TEST_CASE(tokenizer_round_trip) {
  const auto data = prontoqa::generate(200, 4);
  const auto tok = WordTokenizer::build(data);
  for (const auto& s : data) {
    BOOST_TEST(tok.decode(tok.encode(s.question)) == s.question);
    for (const auto& step : s.steps) BOOST_TEST(tok.decode(tok.encode(step)) == step);
    BOOST_TEST(tok.decode(tok.encode(s.answer)) == s.answer);
  }
}

BOOST_AUTO_TEST_SUITE_END()
