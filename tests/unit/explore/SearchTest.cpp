//===- SearchTest.cpp - search strategies, budgets and Pareto fronts -------------===//
#include "explore/Search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace tessera;
using namespace tessera::explore;

namespace {

/// GPT-2 on 8 devices (data parallel): small enough for many evaluations in a test.
const TrainingWorkload &gpt2() {
  static const TrainingWorkload w = [] {
    perf::EstimateRequest r;
    r.workload = "gpt2";
    r.zoo.batch = 4;
    r.parallel.devices = 8;
    r.parallel.microBatch = 4;
    auto built = TrainingWorkload::build(r);
    EXPECT_TRUE(built) << built.error().render();
    return *built;
  }();
  return w;
}

Budget a800Budget() { return Budget{826, 0, 400, 2039, 200}; }

/// 2 x 2 x 2 x 2 x 2 = 32 points around the template.
DesignSpace tinySpace() {
  DesignSpace s = DesignSpace::standard(defaultTemplate(), SpaceBounds{}, {});
  DesignPoint base = s.nearestToBase();
  for (size_t i = 0; i < kNumParams; ++i)
    s.setValues(Param(i), {s.params()[i].values[base[i]]});
  s.setValues(Param::Tiles, {64, 128});
  s.setValues(Param::Rows, {8, 16});
  s.setValues(Param::Formats, {double(FormatSet::Bf16), double(FormatSet::Mxfp8)});
  s.setValues(Param::Sparsity, {double(SparsityMode::Dense), double(SparsityMode::Forward)});
  s.setValues(Param::ClockGhz, {0.99, 1.41});
  return s;
}

std::vector<std::pair<double, double>> randomPoints(uint64_t seed, size_t n) {
  SplitMix64 rng(seed);
  std::vector<std::pair<double, double>> pts;
  for (size_t i = 0; i < n; ++i)
    pts.push_back({double(rng.below(20)), double(rng.below(20))}); // many ties
  return pts;
}

} // namespace

TEST(Pareto, FrontIsExactlyTheNonDominatedPoints) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto pts = randomPoints(seed, 60);
    std::vector<size_t> front = paretoFront(pts);
    auto dominates = [&](size_t a, size_t b) {
      return pts[a].first <= pts[b].first && pts[a].second <= pts[b].second &&
             (pts[a].first < pts[b].first || pts[a].second < pts[b].second);
    };
    std::set<size_t> expected;
    for (size_t i = 0; i < pts.size(); ++i) {
      bool dominated = false, earlierEqual = false;
      for (size_t j = 0; j < pts.size(); ++j) {
        dominated |= dominates(j, i);
        earlierEqual |= j < i && pts[j] == pts[i];
      }
      if (!dominated && !earlierEqual)
        expected.insert(i);
    }
    EXPECT_EQ(std::set<size_t>(front.begin(), front.end()), expected) << "seed " << seed;
    for (size_t k = 1; k < front.size(); ++k) {
      EXPECT_LT(pts[front[k - 1]].first, pts[front[k]].first) << "sorted by x";
      EXPECT_GT(pts[front[k - 1]].second, pts[front[k]].second) << "then strictly better y";
    }
  }
  EXPECT_TRUE(paretoFront({}).empty());
  EXPECT_EQ(paretoFront({{1, std::numeric_limits<double>::infinity()}, {2, 2}}),
            std::vector<size_t>{1});
}

TEST(SplitMix64, IsDeterministicAndInRange) {
  SplitMix64 a(42), b(42);
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = a.below(7);
    EXPECT_EQ(x, b.below(7));
    EXPECT_LT(x, 7u);
    double u = a.unit();
    EXPECT_EQ(u, b.unit());
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
  // Same stream on every platform (SplitMix64 reference value for seed 0).
  EXPECT_EQ(SplitMix64(0).next(), 0xe220a8397b1dcdafULL);
}

TEST(Search, ExhaustiveFindsTheTrueOptimumOfATinyGrid) {
  DesignSpace s = tinySpace();
  ASSERT_EQ(s.gridSize(), 32u);
  Evaluator ev(gpt2(), a800Budget(), Objective::Time);
  SearchOptions o;
  o.maxPoints = 100;
  o.threads = 2;
  SearchResult r = runSearch(s, ev, o);
  EXPECT_EQ(r.strategy, Strategy::Exhaustive);
  EXPECT_EQ(r.stopReason, "grid exhausted");
  ASSERT_EQ(r.points.size() + r.discarded, 32u);
  ASSERT_TRUE(r.best);
  // Brute force, independently of the search.
  double bestTime = std::numeric_limits<double>::infinity();
  for (uint64_t i = 0; i < s.gridSize(); ++i) {
    auto spec = s.materialize(s.pointAt(i));
    if (!spec)
      continue;
    Evaluation e = ev.evaluate(*spec, choosePolicy(*spec, s.limits()));
    if (e.feasible)
      bestTime = std::min(bestTime, e.iterationSeconds);
  }
  EXPECT_EQ(r.points[*r.best].iterationSeconds, bestTime);
  // The GA with a budget as large as the grid reaches the same optimum.
  o.strategy = Strategy::Evolutionary;
  o.maxPoints = 32;
  o.population = 8;
  SearchResult ga = runSearch(s, ev, o);
  ASSERT_TRUE(ga.best);
  EXPECT_EQ(ga.points[*ga.best].iterationSeconds, bestTime);
}

TEST(Search, SameSeedSameResultOnAnyThreadCount) {
  DesignSpace s = DesignSpace::standard(defaultTemplate(), SpaceBounds{}, {});
  Evaluator ev(gpt2(), a800Budget(), Objective::Time);
  for (Strategy strategy : {Strategy::Evolutionary, Strategy::Random}) {
    SearchOptions o;
    o.strategy = strategy;
    o.maxPoints = 80;
    o.population = 12;
    o.seed = 7;
    o.threads = 1;
    SearchResult one = runSearch(s, ev, o);
    o.threads = 3;
    SearchResult three = runSearch(s, ev, o);
    ASSERT_EQ(one.points.size(), 80u);
    ASSERT_EQ(one.points.size(), three.points.size());
    for (size_t i = 0; i < one.points.size(); ++i) {
      EXPECT_EQ(one.points[i].point, three.points[i].point) << i;
      EXPECT_EQ(one.points[i].iterationSeconds, three.points[i].iterationSeconds) << i;
      EXPECT_EQ(one.points[i].objective, three.points[i].objective) << i;
    }
    EXPECT_EQ(one.best, three.best);
    EXPECT_EQ(one.stopReason, "point budget");
    o.seed = 8;
    SearchResult other = runSearch(s, ev, o);
    bool differs = false;
    for (size_t i = 1; i < other.points.size(); ++i)
      differs |= other.points[i].point != one.points[i].point;
    EXPECT_TRUE(differs) << "another seed explores other points";
  }
}

TEST(Search, FeasiblePointsRespectEveryBudget) {
  DesignSpace s = DesignSpace::standard(defaultTemplate(), SpaceBounds{}, {});
  Budget b{500, 0, 120, 2039, 200};
  Evaluator ev(gpt2(), b, Objective::Time);
  SearchOptions o;
  o.strategy = Strategy::Random;
  o.maxPoints = 150;
  SearchResult r = runSearch(s, ev, o);
  size_t feasible = 0, overArea = 0, clocked = 0;
  for (const Evaluation &e : r.points) {
    if (e.feasible) {
      ++feasible;
      EXPECT_LE(e.areaMm2, 500);
      EXPECT_LE(e.powerWatts, 120);
      EXPECT_LE(e.hbmGBps, 2039 * (1 + 1e-9));
      EXPECT_GT(e.iterationSeconds, 0);
      EXPECT_EQ(e.objective, e.iterationSeconds);
      clocked += e.clockedDown;
    } else {
      EXPECT_FALSE(e.reason.empty());
      EXPECT_GT(e.violation, 0);
      overArea += e.reason.find("area") == 0;
    }
  }
  EXPECT_GT(feasible, 0u);
  EXPECT_GT(overArea, 0u) << "a 500 mm² budget rules out large designs";
  EXPECT_GT(clocked, 0u) << "a 120 W budget clocks some designs down";
  ASSERT_TRUE(r.best);
  for (size_t i : paretoTimeArea(r))
    EXPECT_TRUE(r.points[i].feasible);
}

TEST(Search, ClockDownFitsThePowerBudget) {
  const arch::ArchSpec &t = defaultTemplate();
  perf::PrecisionPolicy policy = choosePolicy(t, {});
  Evaluator free(gpt2(), Budget{0, 0, 0, 0, 0}, Objective::Time);
  Evaluation unbounded = free.evaluate(t, policy);
  ASSERT_TRUE(unbounded.feasible) << unbounded.reason;
  double cap = unbounded.powerWatts * 0.8;
  Evaluator capped(gpt2(), Budget{0, 0, cap, 0, 0}, Objective::Time);
  Evaluation e = capped.evaluate(t, policy);
  ASSERT_TRUE(e.feasible) << e.reason;
  EXPECT_TRUE(e.clockedDown);
  EXPECT_LT(e.clockGhz, t.technology.clockGhz);
  EXPECT_LE(e.powerWatts, cap);
  EXPECT_GT(e.iterationSeconds, unbounded.iterationSeconds);
  // A budget below the static power is infeasible with a reason.
  Evaluator tiny(gpt2(), Budget{0, 0, 1, 0, 0}, Objective::Time);
  Evaluation none = tiny.evaluate(t, policy);
  EXPECT_FALSE(none.feasible);
  EXPECT_NE(none.reason.find("static power"), std::string::npos) << none.reason;
}

TEST(Search, PerfPerWattObjectivePrefersEfficientDesigns) {
  DesignSpace s = tinySpace();
  Evaluator ev(gpt2(), a800Budget(), Objective::PerfPerWatt);
  SearchOptions o;
  SearchResult r = runSearch(s, ev, o);
  ASSERT_TRUE(r.best);
  for (const Evaluation &e : r.points)
    if (e.feasible) {
      EXPECT_EQ(e.objective, -e.perfPerWatt);
      EXPECT_LE(e.perfPerWatt, r.points[*r.best].perfPerWatt);
    }
}

TEST(Search, TimeBoundStopsCleanly) {
  DesignSpace s = DesignSpace::standard(defaultTemplate(), SpaceBounds{}, {});
  Evaluator ev(gpt2(), a800Budget(), Objective::Time);
  SearchOptions o;
  o.maxPoints = 1000000;
  o.budgetSeconds = 0.3;
  SearchResult r = runSearch(s, ev, o);
  EXPECT_EQ(r.stopReason, "time budget");
  EXPECT_TRUE(r.timeLimited);
  EXPECT_LT(r.wallSeconds, 30.0);
  EXPECT_LT(r.points.size(), 1000000u);
}

TEST(Search, ParsesStrategyAndObjective) {
  EXPECT_EQ(*parseStrategy("random"), Strategy::Random);
  EXPECT_FALSE(parseStrategy("genetic"));
  EXPECT_EQ(*parseObjective("perf-per-watt"), Objective::PerfPerWatt);
  auto bad = parseObjective("speed");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().headline(),
            "error[bad-value]: unknown --objective 'speed' (expected time or perf-per-watt)");
}
