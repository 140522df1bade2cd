// When a kernel runs on more than one thread, and how it shares out its work.
//
// The machine this library is for has few cores, often shared with other
// processes. There, a fork-join region costs more than its work: every thread of
// an OpenMP team must reach the region's closing barrier, so when one of them has
// lost its core to another process the others wait until it is scheduled again,
// milliseconds later, even when they did all the work meanwhile. (Eigen's own GEMM
// threading is worse: several busy-waiting synchronisation points per product.)
// A small training step took 22 ms on one thread and over 400 ms on two that way.
//
// So the kernels
//   - stay on the calling thread unless the work is large enough to share
//     (threads_for); the single-position passes of the latent loop and of
//     generation then run without any synchronisation;
//   - share larger work through a pool in which the caller takes part and helpers
//     are optional (parallel_blocks): blocks are claimed one at a time, a helper
//     that wakes up late finds nothing left and goes back to sleep, and the caller
//     waits only for blocks that a helper has actually started;
//   - run every Eigen product single-threaded, one block per call.
// The number of threads is OpenMP's (OMP_NUM_THREADS, omp_set_num_threads).
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "coconut/tensor/arena.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define COCONUT_PAUSE() _mm_pause()
#else
#define COCONUT_PAUSE() std::this_thread::yield()
#endif

namespace coconut::kernels {

// Work (multiply-adds, or element operations for element-wise kernels) below
// which one thread does the whole job.
inline constexpr double kGemmWorkPerThread = 1 << 22;     // ~8 MFLOP: ~50 us of GEMM
inline constexpr double kElementWorkPerThread = 1 << 21;  // ~2M element operations

namespace detail {
inline thread_local bool in_pool_work = false;  // inside a block run by the pool
}

// Threads worth using for `work`: 1 when small, or when already inside shared work.
inline int threads_for(double work, double work_per_thread) {
  if (detail::in_pool_work || omp_in_parallel()) return 1;
  const int max = omp_get_max_threads();
  return int(std::clamp(work / work_per_thread, 1.0, double(max)));
}

// Runs `f` with Eigen's products single-threaded. (A program must not call
// Eigen::setNbThreads: a count set there overrides the limit below, and every
// small product inside the pool's blocks then starts a team of its own; a step
// measured 1.9 s instead of 0.07 s that way. Set threads with OMP_NUM_THREADS or
// omp_set_num_threads.) Eigen threads a product by
// itself whenever the team it runs on has one thread (outside any region, and also
// inside a region of one thread, which OpenMP does not count as an active level);
// inside this region of one, its thread limit is 1, and the setting ends with it.
template <class F>
void eigen_serial(F&& f) {
#pragma omp parallel num_threads(1)
  {
    omp_set_num_threads(1);
    f();
  }
}

namespace detail {

// The pool behind parallel_blocks. One job at a time: its generation, the next
// unclaimed block and the number of blocks are packed into one atomic word, so a
// helper claims a block of the current job with one compare-and-swap and can never
// claim one of a job that is over.
class Pool {
 public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }

  // f(i) for i in [0, blocks) on the caller and up to threads - 1 helpers.
  template <class F>
  void run(Index blocks, int threads, F& f) {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock || threads <= 1 || blocks <= 1 || blocks > kMaxBlocks) {  // busy (another caller): serially
      eigen_serial([&] {
        for (Index i = 0; i < blocks; ++i) f(i);
      });
      return;
    }
    while (int(helpers_.size()) < threads - 1) helpers_.emplace_back([this, id = int(helpers_.size())] { helper(id); });
    call_ = [](void* ctx, Index i) { (*static_cast<F*>(ctx))(i); };
    ctx_ = &f;
    wanted_.store(threads - 1, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const std::uint64_t gen = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    state_.store(gen << 32 | std::uint64_t(blocks), std::memory_order_release);
    generation_.store(std::uint32_t(gen), std::memory_order_release);
    generation_.notify_all();
    eigen_serial([&] { work(std::uint32_t(gen)); });
    for (int spin = 0; done_.load(std::memory_order_acquire) < blocks; ++spin) {
      if (spin < 4096) COCONUT_PAUSE();
      else std::this_thread::yield();
    }
  }

  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& t : helpers_) t.join();
  }

 private:
  static constexpr Index kMaxBlocks = 0xffff;

  // Claims and runs blocks of job `gen` until none is left.
  void work(std::uint32_t gen) {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t next = std::uint32_t(s >> 16) & 0xffff, blocks = std::uint32_t(s) & 0xffff;
      if (std::uint32_t(s >> 32) != gen || next >= blocks) return;
      const std::uint64_t claimed = (s & ~(std::uint64_t(0xffff) << 16)) | std::uint64_t(next + 1) << 16;
      if (!state_.compare_exchange_weak(s, claimed, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      in_pool_work = true;
      call_(ctx_, Index(next));
      in_pool_work = false;
      done_.fetch_add(1, std::memory_order_release);
      s = state_.load(std::memory_order_acquire);
    }
  }

  void helper(int id) {
    omp_set_num_threads(1);  // this thread's Eigen products stay serial
    std::uint32_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      // A short spin catches back-to-back jobs; then sleep until the next one.
      for (int spin = 0; spin < 2000 && generation_.load(std::memory_order_acquire) == seen; ++spin) COCONUT_PAUSE();
      generation_.wait(seen, std::memory_order_acquire);
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      if (id < wanted_.load(std::memory_order_relaxed)) work(seen);
    }
  }

  std::mutex mutex_;
  std::vector<std::thread> helpers_;
  std::atomic<std::uint64_t> state_{0};  // generation << 32 | next block << 16 | blocks
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<Index> done_{0};
  std::atomic<int> wanted_{0};
  std::atomic<bool> stop_{false};
  void (*call_)(void*, Index) = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace detail

// Calls f(i) for each i in [0, n) on `threads` threads (the caller and helpers);
// returns when all calls are done. Eigen's products inside f are single-threaded.
template <class F>
void parallel_for(Index n, int threads, F&& f) {
  if (n <= 0) return;
  auto call = [&f](Index i) { f(i); };
  detail::Pool::instance().run(n, threads, call);
}

// Calls f(begin, end) over blocks that cover [0, n), their sizes multiples of
// `grain` (except the last), about four blocks a thread so that a thread that is
// held up leaves its share to the others. Eigen's products inside f are
// single-threaded; code without them can call f(0, n) itself when threads is 1.
template <class F>
void parallel_blocks(Index n, Index grain, int threads, F&& f) {
  if (n <= 0) return;
  if (threads <= 1) {
    eigen_serial([&] { f(Index(0), n); });
    return;
  }
  const Index per = std::max<Index>(grain, (n / (4 * threads) + grain - 1) / grain * grain);
  const Index blocks = (n + per - 1) / per;
  parallel_for(blocks, threads, [&](Index i) { f(i * per, std::min(n, (i + 1) * per)); });
}

}  // namespace coconut::kernels
