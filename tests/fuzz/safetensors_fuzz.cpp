// libFuzzer target: the safetensors reader and the GPT-2 importer on arbitrary bytes.
// Any input must either load or throw std::runtime_error; a crash, a hang, a
// sanitizer report or another exception type is a bug. See README.md.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "coconut/io/hf_gpt2.hpp"

namespace {

// A directory holding config.json for the Tiny model, and the file under test.
const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("coconut_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::ofstream(d / "config.json") << R"({"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 16,
                                           "n_positions": 16, "vocab_size": 30})";
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = (scratch() / "model.safetensors").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  try {
    const coconut::SafetensorsFile file(path);
    for (const auto& t : file.tensors())
      if (t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16") (void)file.read(t.name);
  } catch (const std::runtime_error&) {
    return 0;  // refused, with a message: fine
  }
  try {
    coconut::Arena<float> params(coconut::gpt_parameter_layout<coconut::Tiny>(sizeof(float)));
    coconut::load_hf_gpt2<coconut::Tiny>(params, path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
