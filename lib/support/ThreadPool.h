//===- ThreadPool.h - fixed worker pool with deterministic parallel loops --===//
//
// A fixed set of worker threads fed from one FIFO queue. submit() runs a callable and
// returns its std::future. parallelFor / parallelMap / parallelReduce split an index range
// into chunks whose boundaries depend only on the range and the grain, never on the
// number of threads or on scheduling, and combine chunk results in index order: the same
// inputs give the same results (bit for bit, for floating-point reductions too) on 1 or
// 64 threads.
//
// The calling thread works on its own loop's chunks while it waits, so a parallel loop
// may be started from inside a pool task (nested loops) without deadlock.
//
// Exceptions: if iterations throw, the loop waits for the chunks in flight, skips chunks
// after the first failing one, and rethrows on the caller the exception of the lowest
// failing index, which is also independent of scheduling.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace tessera {

class ThreadPool {
public:
  /// `threads` workers; 0 means std::thread::hardware_concurrency() (at least 1).
  explicit ThreadPool(unsigned threads = 0);
  /// Runs every task already submitted, then joins the workers.
  ~ThreadPool();

  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Number of worker threads.
  unsigned size() const { return unsigned(workers_.size()); }
  /// hardware_concurrency(), or 1 when unknown.
  static unsigned defaultThreadCount();
  /// The chunk size used when a loop is given grain 0: about 256 chunks per range,
  /// a function of the range length only (so results never depend on the pool size).
  static size_t defaultGrain(size_t count);

  /// Run `fn()` on a worker; its result or exception arrives through the future.
  template <typename F>
  auto submit(F &&fn) -> std::future<std::invoke_result_t<std::decay_t<F> &>> {
    using R = std::invoke_result_t<std::decay_t<F> &>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    std::future<R> result = task->get_future();
    enqueue([task] { (*task)(); });
    return result;
  }

  /// Call `fn(i)` for every i in [begin, end) and wait. `fn` must be safe to call
  /// concurrently for different i.
  template <typename F> void parallelFor(size_t begin, size_t end, F &&fn, size_t grain = 0) {
    runChunks(begin, end, grain, [&](size_t lo, size_t hi, size_t) {
      for (size_t i = lo; i < hi; ++i)
        fn(i);
    });
  }

  /// `{fn(begin), ..., fn(end - 1)}` in index order.
  template <typename F>
  auto parallelMap(size_t begin, size_t end, F &&fn, size_t grain = 0)
      -> std::vector<std::invoke_result_t<F &, size_t>> {
    using R = std::invoke_result_t<F &, size_t>;
    size_t g = grain ? grain : defaultGrain(end > begin ? end - begin : 0);
    std::vector<std::vector<R>> parts(chunkCount(begin, end, g));
    runChunks(begin, end, g, [&](size_t lo, size_t hi, size_t c) {
      parts[c].reserve(hi - lo);
      for (size_t i = lo; i < hi; ++i)
        parts[c].push_back(fn(i));
    });
    std::vector<R> out;
    out.reserve(end > begin ? end - begin : 0);
    for (auto &p : parts)
      for (auto &v : p)
        out.push_back(std::move(v));
    return out;
  }

  /// Left fold of `combine` over `map(i)`: each chunk folds its indices in order starting
  /// from `identity`, then the chunk results are folded in chunk order starting from
  /// `identity`. `identity` must be a neutral element of `combine`.
  template <typename T, typename Map, typename Combine>
  T parallelReduce(size_t begin, size_t end, T identity, Map &&map, Combine &&combine,
                   size_t grain = 0) {
    size_t g = grain ? grain : defaultGrain(end > begin ? end - begin : 0);
    std::vector<std::optional<T>> parts(chunkCount(begin, end, g));
    runChunks(begin, end, g, [&](size_t lo, size_t hi, size_t c) {
      T acc = identity;
      for (size_t i = lo; i < hi; ++i)
        acc = combine(std::move(acc), map(i));
      parts[c].emplace(std::move(acc));
    });
    T result = std::move(identity);
    for (auto &p : parts)
      result = combine(std::move(result), std::move(*p));
    return result;
  }

private:
  using ChunkFn = std::function<void(size_t lo, size_t hi, size_t chunk)>;

  static size_t chunkCount(size_t begin, size_t end, size_t grain) {
    return end > begin ? (end - begin + grain - 1) / grain : 0;
  }
  /// Run `body` over the chunks of [begin, end) on the pool and the calling thread.
  void runChunks(size_t begin, size_t end, size_t grain, const ChunkFn &body);
  void enqueue(std::function<void()> task);
  void workerLoop();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
};

} // namespace tessera
