// Checkpoints: everything a run needs to continue exactly where it stopped.
//
// A checkpoint holds the model's shape (checked on load), the parameters, the
// optimizer's moments and step count, the position in training (epoch, step) and
// the best validation accuracy so far, plus whatever the program adds (its
// vocabulary, its settings as text). It is a cereal portable binary archive with a
// format version, written to a temporary file beside the target and renamed over
// it, so a crash mid-write leaves the previous checkpoint intact.
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/io/atomic_file.hpp"
#include "coconut/model/config.hpp"

namespace coconut {

inline constexpr std::uint32_t kCheckpointFormat = 1;

// The model shape a checkpoint was written for.
struct ModelShape {
  std::string config_name;
  int n_layer = 0, n_head = 0, n_embd = 0, vocab_size = 0, padded_vocab_size = 0, block_size = 0;
  std::uint32_t scalar_bytes = 0;

  template <class Config, class T>
  static ModelShape of() {
    return {std::string(Config::name), Config::n_layer,           Config::n_head,    Config::n_embd,
            Config::vocab_size,        Config::padded_vocab_size, Config::block_size, sizeof(T)};
  }
  std::string describe() const {
    return "'" + config_name + "' (n_layer=" + std::to_string(n_layer) + ", n_head=" + std::to_string(n_head) +
           ", n_embd=" + std::to_string(n_embd) + ", vocab_size=" + std::to_string(vocab_size) +
           ", block_size=" + std::to_string(block_size) + ", " + std::to_string(scalar_bytes * 8) + "-bit)";
  }
  bool operator==(const ModelShape&) const = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(config_name, n_layer, n_head, n_embd, vocab_size, padded_vocab_size, block_size, scalar_bytes);
  }
};

struct Checkpoint {
  ModelShape shape;
  std::vector<float> params;                   // the parameter arena, in its layout's order
  std::vector<float> adam_m, adam_v;           // the optimizer's moments (empty: none)
  long adam_step = 0;
  int epoch = 0;                               // the epoch in progress
  long step_in_epoch = 0;                      // optimizer steps done in it
  long global_batch = 0;                       // rows per step (all ranks) when written
  long global_step = 0;
  double best_accuracy = -1;
  std::vector<std::string> vocabulary;         // the program's tokenizer, if it has one
  std::string settings;                        // the program's run settings, as text

  template <class Archive>
  void serialize(Archive& ar) {
    ar(shape, params, adam_m, adam_v, adam_step, epoch, step_in_epoch, global_batch, global_step, best_accuracy,
       vocabulary, settings);
  }
};

// Writes `ckpt` to `path` atomically: a temporary file, flushed, then renamed.
inline void save_checkpoint(const Checkpoint& ckpt, const std::string& path) {
  write_file_atomically(path, [&](std::ostream& out) {
    out.write("COCONUT-CKPT", 12);
    cereal::PortableBinaryOutputArchive ar(out);
    ar(kCheckpointFormat, ckpt);
  }, /*make_parents=*/true);
}

// Reads a checkpoint; if `expected` is given, refuses one written for another model shape.
inline Checkpoint load_checkpoint(const std::string& path, const ModelShape* expected = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open checkpoint " + path);
  char magic[12];
  in.read(magic, 12);
  if (!in || std::string(magic, 12) != "COCONUT-CKPT") throw std::runtime_error(path + " is not a coconut checkpoint");
  Checkpoint ckpt;
  std::uint32_t format = 0;
  try {
    cereal::PortableBinaryInputArchive ar(in);
    ar(format);
    if (format != kCheckpointFormat)
      throw std::runtime_error("checkpoint " + path + " has format " + std::to_string(format) + ", this build reads " +
                               std::to_string(kCheckpointFormat));
    ar(ckpt);
  } catch (const cereal::Exception& e) {
    throw std::runtime_error("checkpoint " + path + " is truncated or corrupt: " + e.what());
  }
  if (expected && !(ckpt.shape == *expected))
    throw std::runtime_error("checkpoint " + path + " was written for model " + ckpt.shape.describe() +
                             ", not for this program's " + expected->describe());
  return ckpt;
}

}  // namespace coconut
