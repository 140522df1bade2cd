// Reads the golden fixtures written by tests/golden/make_fixture.py (PyTorch).
//
// Format (little-endian): magic "COCOFIX1", then records until the end of the file:
// u32 name length, name, u32 ndim, ndim x i64 dims, u8 dtype (0 float64, 1 int32),
// then the values in row-major order.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace coconut::test {

struct FixtureRecord {
  std::vector<std::int64_t> shape;
  std::vector<double> f64;  // dtype 0
  std::vector<int> i32;     // dtype 1
};

class Fixture {
 public:
  explicit Fixture(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open fixture " + path);
    char magic[8];
    in.read(magic, 8);
    if (!in || std::string(magic, 8) != "COCOFIX1") throw std::runtime_error(path + ": not a COCOFIX1 fixture");
    for (;;) {
      std::uint32_t len;
      if (!in.read(reinterpret_cast<char*>(&len), 4)) break;
      std::string name(len, '\0');
      std::uint32_t ndim;
      in.read(name.data(), len);
      in.read(reinterpret_cast<char*>(&ndim), 4);
      FixtureRecord r;
      r.shape.resize(ndim);
      in.read(reinterpret_cast<char*>(r.shape.data()), 8 * ndim);
      std::uint8_t dtype;
      in.read(reinterpret_cast<char*>(&dtype), 1);
      std::int64_t n = 1;
      for (auto d : r.shape) n *= d;
      if (dtype == 0) {
        r.f64.resize(n);
        in.read(reinterpret_cast<char*>(r.f64.data()), 8 * n);
      } else {
        r.i32.resize(n);
        in.read(reinterpret_cast<char*>(r.i32.data()), 4 * n);
      }
      if (!in) throw std::runtime_error(path + ": truncated at record '" + name + "'");
      records_[name] = std::move(r);
    }
  }

  const FixtureRecord& at(const std::string& name) const {
    auto it = records_.find(name);
    if (it == records_.end()) throw std::out_of_range("fixture has no record '" + name + "'");
    return it->second;
  }
  const std::vector<double>& f64(const std::string& name) const { return at(name).f64; }
  const std::vector<int>& i32(const std::string& name) const { return at(name).i32; }

 private:
  std::map<std::string, FixtureRecord> records_;
};

}  // namespace coconut::test
