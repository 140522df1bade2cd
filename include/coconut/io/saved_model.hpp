// A trained model on disk, ready to be used by a program other than the one that
// trained it.
//
// The trainer keeps its best model as a checkpoint without optimizer state
// (`<checkpoint>.best`): the parameters, the vocabulary of the word tokenizer and,
// as text, the settings it was trained with. The settings matter as much as the
// weights: a Coconut model answers only when its prompt has the number of latent
// tokens it learned (c per step, up to M steps), so a program reads them back with
// RunSettings::parse and lays out its prompts the same way.
//
//     GPT<Mini> model;
//     const Checkpoint saved = load_parameters(model, "examples/models/prosqa-coconut.ckpt");
//     const RunSettings how = RunSettings::parse(saved.settings, "prosqa-coconut.ckpt");
//     const WordTokenizer words(saved.vocabulary);
#pragma once

#include <algorithm>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "coconut/data/layout.hpp"
#include "coconut/io/checkpoint.hpp"

namespace coconut {

// How a model was trained: what its prompts look like and which shape it has.
struct RunSettings {
  std::string task;     // prosqa, prontoqa, gsm8k, json
  std::string config;   // model shape name (model/config.hpp)
  std::string method;   // a row of Table 1 (data/layout.hpp: method_named)
  int c = 1;            // continuous thoughts per replaced step
  int max_stage = 6;    // M
  std::string command;  // the command line that trained it

  // One "key=value" line each.
  std::string text() const {
    std::ostringstream out;
    out << "task=" << task << "\nconfig=" << config << "\nmethod=" << method << "\nc=" << c
        << "\nmax_stage=" << max_stage << "\ncommand=" << command << "\n";
    return out.str();
  }

  // Reads text(); `source` (a file name) is named in errors.
  static RunSettings parse(const std::string& text, const std::string& source) {
    RunSettings s;
    std::set<std::string> seen;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      const auto integer = [&] {
        try {
          return std::stoi(value);
        } catch (const std::exception&) {
          throw std::runtime_error(source + ": setting " + key + " is not a number: '" + value + "'");
        }
      };
      if (key == "task") s.task = value;
      else if (key == "config") s.config = value;
      else if (key == "method") s.method = value;
      else if (key == "c") s.c = integer();
      else if (key == "max_stage") s.max_stage = integer();
      else if (key == "command") s.command = value;
      seen.insert(key);
    }
    for (const char* required : {"config", "method", "c", "max_stage"})
      if (!seen.count(required))
        throw std::runtime_error(source + ": its settings lack '" + required +
                                 "' (a model saved by coconut_train has them; a resumable checkpoint of an "
                                 "older build may not)");
    method_named(s.method);  // throws for an unknown method
    return s;
  }

  // The curriculum with which prompts are laid out at the end of training.
  CurriculumConfig curriculum() const { return {.c_thought = c, .max_latent_stage = max_stage}; }
};

// Puts the parameters of the checkpoint at `path` into `model` (which must have the
// shape it was written for) and returns the rest of the checkpoint.
template <class Model>
Checkpoint load_parameters(Model& model, const std::string& path) {
  const ModelShape shape = ModelShape::of<typename Model::config, typename Model::scalar>();
  Checkpoint c = load_checkpoint(path, &shape);
  if (Index(c.params.size()) != model.params().size())
    throw std::runtime_error("checkpoint " + path + ": " + std::to_string(c.params.size()) +
                             " parameters, the model has " + std::to_string(model.params().size()));
  std::copy(c.params.begin(), c.params.end(), model.params().data());
  return c;
}

}  // namespace coconut
