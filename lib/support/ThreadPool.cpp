//===- ThreadPool.cpp - fixed worker pool with deterministic parallel loops ===//
#include "support/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>

namespace tessera {

unsigned ThreadPool::defaultThreadCount() {
  return std::max(1u, std::thread::hardware_concurrency());
}

size_t ThreadPool::defaultGrain(size_t count) {
  constexpr size_t kTargetChunks = 256;
  return std::max<size_t>(1, (count + kTargetChunks - 1) / kTargetChunks);
}

ThreadPool::ThreadPool(unsigned threads) {
  unsigned n = threads ? threads : defaultThreadCount();
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i)
    workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::enqueue(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void ThreadPool::workerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

namespace {
/// Shared by the caller and the helper tasks of one loop. Helpers that start after every
/// chunk has been claimed exit without touching `body`, so the caller may return (and
/// destroy `body`) as soon as all claimed chunks have finished.
struct LoopState {
  size_t begin, end, grain, chunks;
  const std::function<void(size_t, size_t, size_t)> *body;
  std::atomic<size_t> next{0};
  std::atomic<size_t> firstFailed{std::numeric_limits<size_t>::max()};
  std::mutex mutex;
  std::condition_variable allDone;
  size_t finished = 0;
  std::exception_ptr error;

  /// Claim and run chunks until none are left.
  void work() {
    for (size_t c; (c = next.fetch_add(1)) < chunks;) {
      // Chunks after a failed one are skipped; earlier ones still run, so the lowest
      // failing chunk always reports, whatever the scheduling.
      if (c < firstFailed.load()) {
        try {
          size_t lo = begin + c * grain;
          (*body)(lo, std::min(end, lo + grain), c);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (c < firstFailed.load()) {
            firstFailed.store(c);
            error = std::current_exception();
          }
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (++finished == chunks)
        allDone.notify_all();
    }
  }
};
} // namespace

void ThreadPool::runChunks(size_t begin, size_t end, size_t grain, const ChunkFn &body) {
  if (end <= begin)
    return;
  if (grain == 0)
    grain = defaultGrain(end - begin);
  auto state = std::make_shared<LoopState>();
  state->begin = begin;
  state->end = end;
  state->grain = grain;
  state->chunks = chunkCount(begin, end, grain);
  state->body = &body;

  size_t helpers = std::min<size_t>(workers_.size(), state->chunks - 1);
  for (size_t i = 0; i < helpers; ++i)
    enqueue([state] { state->work(); });
  state->work();

  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(state->mutex);
    state->allDone.wait(lock, [&] { return state->finished == state->chunks; });
    // Take the exception out: a late helper may drop the last reference to the state.
    error = std::move(state->error);
  }
  if (error)
    std::rethrow_exception(error);
}

} // namespace tessera
