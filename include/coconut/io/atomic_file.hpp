// Writing a file so that a crash never leaves it half written: the content goes to
// a temporary file beside the target, which is flushed and then renamed over it.
// Readers see the old file or the whole new one. Every file the library writes
// (data sets, tokenizers, checkpoints, safetensors) goes through here, and so can
// a program's own reports.
#pragma once

#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <string>

namespace coconut {

// Writes `path` through `write(std::ostream&)`, atomically. With `make_parents`
// missing directories on the way are created (model files, checkpoints); without,
// a missing directory is an error naming the path (data sets, tokenizers).
template <class Writer>
void write_file_atomically(const std::string& path, Writer&& write, bool make_parents = false) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (make_parents && target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp + ": cannot open for writing");
    write(out);
    out.flush();
    if (!out) throw std::runtime_error(tmp + ": write failed (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) throw std::runtime_error(path + ": cannot rename " + tmp + " into place: " + ec.message());
}

// The same for a whole text.
inline void write_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out.write(text.data(), std::streamsize(text.size())); });
}

}  // namespace coconut
