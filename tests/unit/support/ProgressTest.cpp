//===- ProgressTest.cpp - progress bar output with a fake clock ------------===//
#include "support/Progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <thread>

using namespace tessera;
using namespace std::chrono_literals;

namespace {

/// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point t{};
  ProgressOptions options(std::optional<bool> tty) {
    ProgressOptions o;
    o.tty = tty;
    o.now = [this] { return t; };
    return o;
  }
};

TEST(Progress, PlainLinesEveryTenPercent) {
  FakeClock clock;
  std::ostringstream os;
  {
    ProgressBar bar(os, 100, "work", clock.options(false));
    for (int i = 0; i < 100; ++i) {
      clock.t += 1s;
      bar.advance();
    }
    bar.finish();
  }
  // One line per 10%; with one item per second the ETA is (100 - p) seconds.
  auto mmss = [](int s) {
    return std::to_string(s / 60) + (s % 60 < 10 ? ":0" : ":") + std::to_string(s % 60);
  };
  std::string expected;
  for (int p = 10; p < 100; p += 10)
    expected += "work: " + std::to_string(p) + "/100 (" + std::to_string(p) + "%) elapsed " +
                mmss(p) + " eta " + mmss(100 - p) + "\n";
  expected += "work: 100/100 (100%) done in 1:40\n";
  EXPECT_EQ(os.str(), expected);
}

TEST(Progress, PlainLinesByTimeWhenTotalUnknown) {
  FakeClock clock;
  std::ostringstream os;
  ProgressOptions o = clock.options(false);
  o.lineInterval = 10s;
  ProgressBar bar(os, 0, "", o);
  for (int i = 0; i < 25; ++i) {
    clock.t += 1s;
    bar.advance(2);
  }
  bar.finish();
  bar.finish(); // idempotent
  EXPECT_EQ(os.str(), "20 elapsed 0:10\n40 elapsed 0:20\n50 done in 0:25\n");
}

TEST(Progress, StoppedEarlySaysSo) {
  FakeClock clock;
  std::ostringstream os;
  {
    ProgressBar bar(os, 10, "sim", clock.options(false));
    clock.t += 3723s;
    bar.advance(4);
  } // destructor finishes
  EXPECT_EQ(os.str(), "sim: 4/10 (40%) elapsed 1:02:03 eta 1:33:04\n"
                      "sim: 4/10 (40%) stopped after 1:02:03\n");
}

TEST(Progress, TtyRedrawsInPlaceAndThrottles) {
  FakeClock clock;
  std::ostringstream os;
  ProgressOptions o = clock.options(true);
  o.barWidth = 10;
  ProgressBar bar(os, 4, "x", o);
  bar.advance(); // first draw is immediate
  bar.advance(); // throttled: no time has passed
  clock.t += 200ms;
  bar.advance(); // drawn
  bar.advance(); // throttled again
  bar.finish();  // always drawn, padded over the longer previous line
  std::string s = os.str();
  EXPECT_EQ(s, "\rx [=>        ]  1/4   25%  elapsed 0:00  eta 0:00"
               "\rx [======>   ]  3/4   75%  elapsed 0:00  eta 0:00"
               "\rx [==========]  4/4  100%  done in 0:00          \n");
}

TEST(Progress, QuietWritesNothing) {
  std::ostringstream os;
  ProgressOptions o;
  o.quiet = true;
  ProgressBar bar(os, 10, "q", o);
  bar.advance(10);
  bar.finish();
  EXPECT_EQ(bar.done(), 10u);
  EXPECT_EQ(os.str(), "");
}

TEST(Progress, ConcurrentAdvanceCountsEverything) {
  std::ostringstream os;
  ProgressOptions o;
  o.tty = false;
  ProgressBar bar(os, 8000, "mt", o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        bar.advance();
    });
  for (auto &t : threads)
    t.join();
  bar.finish();
  EXPECT_EQ(bar.done(), 8000u);
  std::string s = os.str();
  size_t lines = std::count(s.begin(), s.end(), '\n');
  EXPECT_LE(lines, 10u);
  EXPECT_NE(s.find("mt: 8000/8000 (100%) done in"), std::string::npos);
}

TEST(Progress, StringStreamIsNotATerminal) {
  std::ostringstream os;
  EXPECT_FALSE(isTerminal(os));
  EXPECT_EQ(ProgressBar::formatDuration(59s), "0:59");
  EXPECT_EQ(ProgressBar::formatDuration(3600s), "1:00:00");
}

} // namespace
