//===- ThreadPoolTest.cpp - determinism and exceptions of the thread pool --===//
#include "support/ThreadPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>

using namespace tessera;

namespace {

TEST(ThreadPool, SubmitReturnsFutures) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3u);
  auto a = pool.submit([] { return 6 * 7; });
  auto b = pool.submit([] { return std::string("ok"); });
  auto c = pool.submit([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(a.get(), 42);
  EXPECT_EQ(b.get(), "ok");
  EXPECT_THROW(c.get(), std::runtime_error);
}

TEST(ThreadPool, DefaultSizeIsHardware) {
  ThreadPool pool;
  EXPECT_EQ(pool.size(), ThreadPool::defaultThreadCount());
  EXPECT_GE(pool.size(), 1u);
}

TEST(ThreadPool, ParallelForVisitsEveryIndexOnce) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(10007);
  pool.parallelFor(
      0, hits.size(), [&](size_t i) { hits[i]++; }, 13);
  for (auto &h : hits)
    ASSERT_EQ(h.load(), 1);
  pool.parallelFor(5, 5, [&](size_t) { FAIL(); }); // empty range
}

/// A sum whose rounding depends on association order: only a fixed chunking and an
/// in-order combine make it reproducible.
double harmonicSum(ThreadPool &pool, size_t n) {
  return pool.parallelReduce(
      0, n, 0.0, [](size_t i) { return 1.0 / double(i + 1) * (i % 2 ? -1e8 : 1e8); },
      [](double a, double b) { return a + b; });
}

TEST(ThreadPool, ReduceIsIndependentOfThreadCount) {
  ThreadPool one(1), four(4), many(16);
  const size_t n = 200000;
  double r1 = harmonicSum(one, n);
  for (int rep = 0; rep < 5; ++rep) {
    EXPECT_EQ(harmonicSum(four, n), r1); // bit-identical, not merely close
    EXPECT_EQ(harmonicSum(many, n), r1);
  }
}

TEST(ThreadPool, MapKeepsIndexOrder) {
  ThreadPool pool(4);
  std::vector<std::string> out = pool.parallelMap(
      10, 1010, [](size_t i) { return std::to_string(i * i); }, 7);
  ASSERT_EQ(out.size(), 1000u);
  for (size_t k = 0; k < out.size(); ++k)
    ASSERT_EQ(out[k], std::to_string((k + 10) * (k + 10)));
}

TEST(ThreadPool, LowestFailingIndexIsRethrown) {
  ThreadPool pool(4);
  for (int rep = 0; rep < 20; ++rep) {
    try {
      pool.parallelFor(
          0, 1000,
          [](size_t i) {
            if (i == 123 || i == 700 || i == 999)
              throw std::out_of_range("index " + std::to_string(i));
          },
          10);
      FAIL() << "expected an exception";
    } catch (const std::out_of_range &e) {
      EXPECT_STREQ(e.what(), "index 123");
    }
  }
  // The pool is still usable afterwards.
  EXPECT_EQ(pool.parallelReduce(
                0, 100, 0, [](size_t i) { return int(i); }, [](int a, int b) { return a + b; }),
            4950);
}

TEST(ThreadPool, NestedLoopsDoNotDeadlock) {
  ThreadPool pool(2);
  std::vector<long> sums = pool.parallelMap(0, 8, [&](size_t i) {
    return pool.parallelReduce(
        0, 1000, 0L, [&](size_t j) { return long(i * j); }, [](long a, long b) { return a + b; });
  });
  for (size_t i = 0; i < sums.size(); ++i)
    EXPECT_EQ(sums[i], long(i) * 499500);
}

TEST(ThreadPool, DestructorRunsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2);
    for (int i = 0; i < 50; ++i)
      (void)pool.submit([&] { ran++; });
  }
  EXPECT_EQ(ran.load(), 50);
}

} // namespace
