// What data-parallel training needs from a group of processes, and nothing more.
//
// The trainer asks a Collective for its rank and size and for sums across the
// group; it never includes MPI itself, so the library builds and trains without
// MPI installed. distributed/mpi.hpp implements this over MPI (the coconut::mpi
// CMake target); without a Collective the trainer is one process.
#pragma once

#include "coconut/tensor/arena.hpp"

namespace coconut {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }

  virtual double sum(double x) = 0;                      // over all ranks
  virtual void sum_in_place(float* data, Index n) = 0;   // element-wise, every rank gets the result
  virtual void sum_in_place(double* data, Index n) = 0;
  // Non-blocking sums: start_sum begins summing `data` in place; the result is
  // there after finish_sums(), which waits for every sum started.
  virtual void start_sum(float* data, Index n) = 0;
  virtual void start_sum(double* data, Index n) = 0;
  virtual void finish_sums() = 0;
  virtual void broadcast(float* data, Index n) = 0;      // from rank 0
  virtual void broadcast(double* data, Index n) = 0;
  virtual void barrier() = 0;
};

}  // namespace coconut
