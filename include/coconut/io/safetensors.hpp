// The safetensors format (Hugging Face): many named tensors in one file.
//
//     bytes 0..7      N, the header's length, a little-endian uint64
//     bytes 8..8+N    the header: a JSON object, name -> {"dtype": "F32",
//                     "shape": [768, 2304], "data_offsets": [begin, end]}, plus an
//                     optional "__metadata__" object of string -> string
//     bytes 8+N..     the data: each tensor's elements, row-major, little-endian,
//                     at [begin, end) counted from the start of the data
//
// The tensors must tile the data exactly: no overlap, no gap, nothing after the
// last one. A file that breaks any of this is refused with an error that names the
// file, the tensor and what is wrong, before any data is read.
//
// Reading maps the file into memory (mmap), so opening a 500 MB checkpoint costs
// nothing until a tensor is read, and reading one converts F32, F16 or BF16 into
// float. Writing produces F32 only, atomically (a temporary file, then rename).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/io/atomic_file.hpp"

namespace coconut {

static_assert(std::endian::native == std::endian::little,
              "safetensors.hpp: reads and writes little-endian data by plain copies; a big-endian host needs swaps");

// ---- half-precision floats --------------------------------------------------------

// IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
inline float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1F;
  std::uint32_t mantissa = h & 0x3FF;
  std::uint32_t bits;
  if (exponent == 0x1F) {  // infinity or NaN
    bits = sign | 0x7F800000 | (mantissa << 13);
  } else if (exponent != 0) {  // normal: rebias 15 -> 127
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    bits = sign;
  } else {  // subnormal, mantissa * 2^-24: shift until the leading 1 is the implicit bit
    std::uint32_t shift = 0;
    while ((mantissa & 0x400) == 0) mantissa <<= 1, ++shift;
    bits = sign | ((113 - shift) << 23) | ((mantissa & 0x3FF) << 13);  // 1.m * 2^(-14 - shift)
  }
  return std::bit_cast<float>(bits);
}

// bfloat16: the upper half of a float32.
inline float bf16_to_float(std::uint16_t b) { return std::bit_cast<float>(std::uint32_t(b) << 16); }

// ---- reading ------------------------------------------------------------------------

// A file mapped read-only into memory; unmapped on destruction.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(path + ": cannot open for reading: " + std::strerror(errno));
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error(path + ": cannot stat: " + std::strerror(err));
    }
    size_ = std::size_t(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error(path + ": cannot map into memory: " + std::strerror(err));
      }
      data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);  // the mapping stays valid
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
  }

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Bytes per element of every dtype the format defines (we convert only three).
inline std::size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2},
      {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"U32", 4},     {"F32", 4},     {"I64", 8}, {"U64", 8}, {"F64", 8}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

class SafetensorsFile {
 public:
  struct Tensor {
    std::string name;
    std::string dtype;                // "F32", "F16", "BF16", ...
    std::vector<std::int64_t> shape;
    std::size_t begin = 0, end = 0;   // byte offsets into the data section

    std::int64_t numel() const {
      std::int64_t n = 1;
      for (auto d : shape) n *= d;
      return n;
    }
  };

  // Maps the file and checks the whole header against the file's size.
  explicit SafetensorsFile(const std::string& path) : file_(path) { parse_header(); }

  const std::string& path() const { return file_.path(); }
  const std::vector<Tensor>& tensors() const { return tensors_; }  // in header order of offsets
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }

  const Tensor& at(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) fail("no tensor named '" + name + "'");
    return tensors_[it->second];
  }

  // The elements of tensor `name` as floats (from F32, F16 or BF16), row-major.
  std::vector<float> read(const std::string& name) const {
    const Tensor& t = at(name);
    std::vector<float> out(std::size_t(t.numel()));
    const std::byte* src = data_.data() + t.begin;
    if (t.dtype == "F32") {
      std::memcpy(out.data(), src, out.size() * 4);
    } else if (t.dtype == "F16" || t.dtype == "BF16") {
      const bool f16 = t.dtype == "F16";
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = f16 ? f16_to_float(h) : bf16_to_float(h);
      }
    } else {
      fail("tensor '" + name + "' has dtype " + t.dtype + "; only F32, F16 and BF16 can be read as float");
    }
    return out;
  }

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(path() + ": " + what); }

 private:
  void parse_header() {
    const auto bytes = file_.bytes();
    if (bytes.size() < 8)
      fail("truncated: " + std::to_string(bytes.size()) + " bytes, too short for the 8-byte header length");
    std::uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    if (n > bytes.size() - 8)
      fail("truncated: the header length says " + std::to_string(n) + " bytes, but only " +
           std::to_string(bytes.size() - 8) + " follow it");
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, std::size_t(n));
    data_ = bytes.subspan(8 + std::size_t(n));

    nlohmann::json header;
    try {
      header = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      fail(std::string("the header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail("the header is not a JSON object");

    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (!entry.is_object()) fail("__metadata__ is not an object");
        for (const auto& [key, value] : entry.items()) {
          if (!value.is_string()) fail("__metadata__ value of '" + key + "' is not a string");
          metadata_[key] = value.get<std::string>();
        }
        continue;
      }
      tensors_.push_back(parse_entry(name, entry));
    }
    check_tiling();
    for (std::size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
  }

  Tensor parse_entry(const std::string& name, const nlohmann::json& entry) const {
    const std::string where = "tensor '" + name + "': ";
    if (!entry.is_object()) fail(where + "its header entry is not an object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(key)) fail(where + "no \"" + key + "\" in its header entry");
    Tensor t;
    t.name = name;
    if (!entry["dtype"].is_string()) fail(where + "\"dtype\" is not a string");
    t.dtype = entry["dtype"].get<std::string>();
    const std::size_t elem = safetensors_dtype_size(t.dtype);
    if (elem == 0) fail(where + "unknown dtype \"" + t.dtype + "\"");

    const auto& shape = entry["shape"];
    if (!shape.is_array()) fail(where + "\"shape\" is not an array");
    std::uint64_t numel = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) fail(where + "shape " + shape.dump() + " holds something that is not a size");
      const std::uint64_t v = d.get<std::uint64_t>();
      if (v != 0 && numel > (std::uint64_t(1) << 56) / v) fail(where + "shape " + shape.dump() + " is absurdly large");
      numel *= v;
      t.shape.push_back(std::int64_t(v));
    }

    const auto& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(where + "\"data_offsets\" " + off.dump() + " is not two offsets [begin, end]");
    const std::uint64_t begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
    const std::string offsets = "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (end < begin) fail(where + offsets + " end before they begin");
    if (end - begin != numel * elem)
      fail(where + offsets + " span " + std::to_string(end - begin) + " bytes, but " + t.dtype + " of shape " +
           shape.dump() + " needs " + std::to_string(numel * elem));
    if (end > data_.size())
      fail("truncated: tensor '" + name + "' ends at data byte " + std::to_string(end) + ", but the data section has " +
           std::to_string(data_.size()) + " bytes");
    t.begin = std::size_t(begin);
    t.end = std::size_t(end);
    return t;
  }

  // Sorted by offset, the tensors must follow one another from byte 0 to the end.
  void check_tiling() {
    std::sort(tensors_.begin(), tensors_.end(),
              [](const Tensor& a, const Tensor& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    std::size_t expected = 0;
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const Tensor& t = tensors_[i];
      if (t.begin < expected)
        fail("tensor '" + t.name + "' at data bytes [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
             ") overlaps tensor '" + tensors_[i - 1].name + "' at [" + std::to_string(tensors_[i - 1].begin) + ", " +
             std::to_string(tensors_[i - 1].end) + ")");
      if (t.begin > expected)
        fail("data bytes [" + std::to_string(expected) + ", " + std::to_string(t.begin) +
             ") belong to no tensor (a gap before tensor '" + t.name + "')");
      expected = t.end;
    }
    if (expected != data_.size())
      fail("data bytes [" + std::to_string(expected) + ", " + std::to_string(data_.size()) +
           ") after the last tensor belong to no tensor");
  }

  MappedFile file_;
  std::span<const std::byte> data_;  // the data section, after the header
  std::vector<Tensor> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// ---- writing ------------------------------------------------------------------------

// One tensor to write: its name, shape and row-major float elements.
struct SafetensorsEntry {
  std::string name;
  std::vector<std::int64_t> shape;
  std::span<const float> data;
};

// Writes `tensors` as F32 in the given order, header padded with spaces to a
// multiple of 8 bytes (so that the data is aligned, as Hugging Face writes it).
inline void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    std::int64_t numel = 1;
    for (auto d : t.shape) numel *= d;
    if (std::size_t(numel) != t.data.size())
      throw std::invalid_argument(path + ": tensor '" + t.name + "' has " + std::to_string(t.data.size()) +
                                  " values for a shape of " + std::to_string(numel));
    if (header.contains(t.name)) throw std::invalid_argument(path + ": tensor '" + t.name + "' given twice");
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + 4 * t.data.size()}}};
    offset += 4 * t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t n = text.size();

  write_file_atomically(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& t : tensors)
      out.write(reinterpret_cast<const char*>(t.data.data()), std::streamsize(4 * t.data.size()));
  }, /*make_parents=*/true);
}

}  // namespace coconut
