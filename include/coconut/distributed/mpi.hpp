// Data-parallel training over MPI: one process (rank) per socket or machine, each
// with its own OpenMP threads, each taking its slice of every global batch.
//
// After backward, every rank holds the gradient of its slice; summing them across
// ranks (MPI_Allreduce) gives every rank the gradient of the whole batch, so every
// rank takes the same optimizer step and the copies of the model stay identical.
// The trainer starts the sum of each block's gradients (a non-blocking
// MPI_Iallreduce, in buckets of a few MB) as soon as backward has finished that
// block, so the communication of the upper blocks runs while the lower ones still
// compute; it waits for all of them before the optimizer step.
//
// Use it from a program (link the coconut::mpi CMake target):
//
//     coconut::MpiWorld world(&argc, &argv);
//     trainer.set_collective(&world);   // rank 0 logs, evaluates and writes checkpoints
//
// A rank that throws should call world.abort(message): MPI_Abort ends every rank,
// so no rank waits forever in a collective for one that is gone.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "coconut/train/collective.hpp"

namespace coconut {

class MpiWorld final : public Collective {
 public:
  // Initialises MPI (threads: only the main thread calls MPI, as OpenMP regions
  // never do). Finalised when the world is destroyed.
  MpiWorld(int* argc, char*** argv, std::size_t bucket_bytes = 4 << 20) : bucket_bytes_(bucket_bytes) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  double sum(double x) override {
    double out = 0;
    MPI_Allreduce(&x, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return out;
  }
  void sum_in_place(float* data, Index n) override {
    start(data, n, MPI_FLOAT);
    finish_sums();
  }
  void sum_in_place(double* data, Index n) override {
    start(data, n, MPI_DOUBLE);
    finish_sums();
  }
  // Open MPI moves a non-blocking collective forward only inside MPI calls, so
  // each new start also tests the sums in flight (one per block of backward).
  void start_sum(float* data, Index n) override { start(data, n, MPI_FLOAT); }
  void start_sum(double* data, Index n) override { start(data, n, MPI_DOUBLE); }
  void finish_sums() override {
    MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();
  }
  void broadcast(float* data, Index n) override { chunked_bcast(data, n, MPI_FLOAT); }
  void broadcast(double* data, Index n) override { chunked_bcast(data, n, MPI_DOUBLE); }
  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }

  // Ends the whole job with a message that names this rank.
  [[noreturn]] void abort(const std::string& why, int code = 1) const {
    std::fprintf(stderr, "coconut: rank %d of %d failed: %s; stopping all ranks\n", rank_, size_, why.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();  // not reached
  }

 private:
  template <class T>
  void start(T* data, Index n, MPI_Datatype type) {
    const Index bucket = std::max<Index>(1, Index(bucket_bytes_ / sizeof(T)));
    for (Index first = 0; first < n; first += bucket) {
      requests_.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, data + first, int(std::min(bucket, n - first)), type, MPI_SUM, MPI_COMM_WORLD,
                     &requests_.back());
    }
    int all_done = 0;
    MPI_Testall(int(requests_.size()), requests_.data(), &all_done, MPI_STATUSES_IGNORE);
  }

  template <class T>
  void chunked_bcast(T* data, Index n, MPI_Datatype type) {
    const Index chunk = Index(1) << 28;  // MPI counts are int
    for (Index first = 0; first < n; first += chunk)
      MPI_Bcast(data + first, int(std::min(chunk, n - first)), type, 0, MPI_COMM_WORLD);
  }

  std::size_t bucket_bytes_;
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> requests_;  // sums in flight
};

}  // namespace coconut
