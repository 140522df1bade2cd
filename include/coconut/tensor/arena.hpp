// Arenas: many named tensors in one contiguous, 64-byte-aligned block.
//
// A model's parameters, their gradients, the optimizer's two moments and the
// activations of a batch are each one Arena. Keeping a whole family of tensors in
// one block is what makes the common operations trivial: zeroing all gradients is
// one fill, AdamW is one loop over the block, a checkpoint is one write.
//
// A Layout lists the tensors (a name and a shape each) and is the one place that
// computes where each tensor starts. An Arena owns memory for a Layout and hands
// out RowMajor Eigen::TensorMap views by name. Asking for a name that is not there,
// or for a view of the wrong rank or shape, throws an error naming the tensor.
#pragma once

#include <unsupported/Eigen/CXX11/Tensor>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace coconut {

using Index = Eigen::Index;

// A RowMajor view of memory owned elsewhere (an Arena, usually).
template <class T, int Rank>
using TensorView = Eigen::TensorMap<Eigen::Tensor<T, Rank, Eigen::RowMajor>, Eigen::Aligned64>;

inline constexpr std::size_t kAlignment = 64;  // bytes: one cache line, one AVX-512 register

inline std::string shape_string(std::span<const Index> shape) {
  std::ostringstream s;
  s << '(';
  for (std::size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << (shape.size() == 1 ? ",)" : ")");
  return s.str();
}

// The names, shapes and offsets of the tensors in an arena.
class Layout {
 public:
  struct Entry {
    std::string name;
    std::vector<Index> shape;
    Index offset = 0;  // in elements from the start of the arena
    Index size = 0;    // number of elements
  };

  // `element_size` is sizeof(T) of the arenas that will use this layout: every
  // tensor starts on a 64-byte boundary.
  explicit Layout(std::size_t element_size)
      : element_size_(element_size), align_(static_cast<Index>(kAlignment / element_size)) {}

  Layout& add(std::string name, std::vector<Index> shape) {
    if (index_.count(name)) throw std::invalid_argument("Layout: tensor '" + name + "' added twice");
    Index size = 1;
    for (Index d : shape) {
      if (d < 0) throw std::invalid_argument("Layout: tensor '" + name + "' has negative shape " + shape_string(shape));
      size *= d;
    }
    Index offset = (total_ + align_ - 1) / align_ * align_;
    index_[name] = entries_.size();
    entries_.push_back({std::move(name), std::move(shape), offset, size});
    total_ = offset + size;
    return *this;
  }

  const Entry& at(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) throw std::out_of_range("no tensor named '" + name + "' in this arena");
    return entries_[it->second];
  }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const std::vector<Entry>& entries() const { return entries_; }
  Index size() const { return (total_ + align_ - 1) / align_ * align_; }  // elements, padded
  std::size_t element_size() const { return element_size_; }

 private:
  std::size_t element_size_;
  Index align_;
  Index total_ = 0;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

// Memory for one Layout, aligned to 64 bytes and zero-initialised.
template <class T>
class Arena {
 public:
  Arena() : layout_(sizeof(T)) {}
  explicit Arena(Layout layout) : layout_(std::move(layout)) { allocate(); }

  void reset(Layout layout) {
    layout_ = std::move(layout);
    allocate();
  }

  const Layout& layout() const { return layout_; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  Index size() const { return layout_.size(); }
  std::span<T> span() { return {data_.get(), static_cast<std::size_t>(size())}; }
  std::span<const T> span() const { return {data_.get(), static_cast<std::size_t>(size())}; }

  void zero() { std::fill_n(data_.get(), size(), T(0)); }

  T* ptr(const std::string& name) { return data_.get() + layout_.at(name).offset; }
  const T* ptr(const std::string& name) const { return data_.get() + layout_.at(name).offset; }
  std::span<T> span(const std::string& name) {
    const auto& e = layout_.at(name);
    return {data_.get() + e.offset, static_cast<std::size_t>(e.size)};
  }

  // A RowMajor view of tensor `name`; Rank must match the shape it was added with.
  template <int Rank>
  TensorView<T, Rank> view(const std::string& name) {
    const auto& e = layout_.at(name);
    if (static_cast<int>(e.shape.size()) != Rank) {
      throw std::invalid_argument("tensor '" + name + "' has shape " + shape_string(e.shape) +
                                  ", asked for a view of rank " + std::to_string(Rank));
    }
    std::array<Index, Rank> dims;
    std::copy(e.shape.begin(), e.shape.end(), dims.begin());
    return TensorView<T, Rank>(data_.get() + e.offset, dims);
  }

  // A view that must have exactly `shape`: the check that catches a caller whose
  // idea of a tensor's shape differs from the arena's.
  template <int Rank>
  TensorView<T, Rank> view(const std::string& name, const std::array<Index, Rank>& shape) {
    auto v = view<Rank>(name);
    for (int i = 0; i < Rank; ++i) {
      if (v.dimension(i) != shape[i]) {
        throw std::invalid_argument("tensor '" + name + "' has shape " + shape_string(layout_.at(name).shape) +
                                    ", expected " + shape_string(shape));
      }
    }
    return v;
  }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };

  void allocate() {
    if (layout_.element_size() != sizeof(T))
      throw std::invalid_argument("Arena: layout made for " + std::to_string(layout_.element_size()) +
                                  "-byte elements used for " + std::to_string(sizeof(T)) + "-byte ones");
    std::size_t bytes = std::max<std::size_t>(static_cast<std::size_t>(size()) * sizeof(T), kAlignment);
    bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    T* p = static_cast<T*>(std::aligned_alloc(kAlignment, bytes));
    if (!p) throw std::bad_alloc();
    std::memset(static_cast<void*>(p), 0, bytes);
    data_.reset(p);
  }

  Layout layout_;
  std::unique_ptr<T[], Free> data_;
};

}  // namespace coconut
