// The CPU emulation of daybreak's CUDA kernels: the same generated source, compiled as C++
// with g++, runs one host thread per CUDA thread. Barriers are real barriers and atomics are
// real atomics, so the emulation exercises what the kernels' logic depends on (chunking,
// grid barriers, prefix sums, reductions, atomic merges) without a GPU.

#include <cmath>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;

#define __global__
#define __device__
#define __forceinline__ inline

struct db_dim3 {
  unsigned x, y, z;
};

inline thread_local db_dim3 threadIdx, blockIdx;
inline db_dim3 blockDim, gridDim;

inline unsigned long long atomicCAS(unsigned long long *p, unsigned long long cmp,
                                    unsigned long long val) {
  __atomic_compare_exchange_n(p, &cmp, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return cmp;
}
inline unsigned int atomicCAS(unsigned int *p, unsigned int cmp, unsigned int val) {
  __atomic_compare_exchange_n(p, &cmp, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return cmp;
}
inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
  return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned long long atomicMax(unsigned long long *p, unsigned long long v) {
  unsigned long long old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_SEQ_CST)) {
  }
  return old;
}
inline unsigned long long atomicMin(unsigned long long *p, unsigned long long v) {
  unsigned long long old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (old > v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_SEQ_CST)) {
  }
  return old;
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// A reusable barrier for every thread of the emulated grid.
struct db_emu_barrier_t {
  std::mutex lock;
  std::condition_variable wake;
  long waiting = 0, total = 0, generation = 0;
};
inline db_emu_barrier_t db_emu_barrier;

inline void db_grid_barrier() {
  std::unique_lock<std::mutex> hold(db_emu_barrier.lock);
  long generation = db_emu_barrier.generation;
  if (++db_emu_barrier.waiting == db_emu_barrier.total) {
    db_emu_barrier.waiting = 0;
    db_emu_barrier.generation += 1;
    db_emu_barrier.wake.notify_all();
    return;
  }
  db_emu_barrier.wake.wait(hold, [&] { return db_emu_barrier.generation != generation; });
}

// Runs `kernel` on a grid of `blocks` x `threads` host threads (one launch at a time).
template <class Kernel>
inline void db_emu_launch(int blocks, int threads, Kernel kernel) {
  static std::mutex one_launch;
  std::lock_guard<std::mutex> hold(one_launch);
  blockDim = {(unsigned)threads, 1, 1};
  gridDim = {(unsigned)blocks, 1, 1};
  db_emu_barrier.total = (long)blocks * threads;
  db_emu_barrier.waiting = 0;
  std::vector<std::thread> running;
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < threads; ++t)
      running.emplace_back([=] {
        blockIdx = {(unsigned)b, 0, 0};
        threadIdx = {(unsigned)t, 0, 0};
        kernel();
      });
  for (auto &t : running) t.join();
}
