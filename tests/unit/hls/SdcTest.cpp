// Difference constraints, min-cost flow and the LP-by-dual solver against brute force.
#include "hls/Sdc.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

using namespace tessera::hls::sdc;

TEST(Sdc, AsapIsLeastSolution) {
  DiffSystem s(4);
  s.require(0, 1, 2);
  s.require(1, 2, 1);
  s.require(0, 2, 5);
  s.require(3, 2, -1); // x2 >= x3 - 1
  AsapResult r = solveAsap(s);
  ASSERT_TRUE(r.feasible);
  EXPECT_EQ(r.x, (std::vector<int64_t>{0, 2, 5, 0}));
}

TEST(Sdc, PositiveCycleIsReported) {
  DiffSystem s(3);
  s.require(0, 1, 1);
  s.require(1, 2, 1);
  s.require(2, 0, -1); // x0 >= x2 - 1, but x2 >= x0 + 2
  s.require(0, 2, 0);
  AsapResult r = solveAsap(s);
  ASSERT_FALSE(r.feasible);
  ASSERT_EQ(r.cycle.size(), 3u);
  int64_t sum = 0;
  for (uint32_t c : r.cycle)
    sum += s.constraints()[c].weight;
  EXPECT_GT(sum, 0);
  // The cycle is closed: each constraint ends where the next begins.
  for (size_t i = 0; i < r.cycle.size(); ++i)
    EXPECT_EQ(s.constraints()[r.cycle[i]].to,
              s.constraints()[r.cycle[(i + 1) % r.cycle.size()]].from);
}

TEST(Sdc, MinCostFlowMatchesBruteForce) {
  std::mt19937 rng(7);
  int feasibleCases = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const uint32_t n = 3 + rng() % 3;
    MinCostFlow f(n);
    struct A {
      uint32_t u, v;
      int64_t cap, cost;
    };
    std::vector<A> arcs;
    const uint32_t m = 3 + rng() % 4;
    for (uint32_t i = 0; i < m; ++i) {
      uint32_t u = rng() % (n - 1);
      uint32_t v = u + 1 + rng() % (n - 1 - u); // a DAG: no negative cycles
      A a{u, v, int64_t(rng() % 4), int64_t(rng() % 9) - 3};
      arcs.push_back(a);
      f.addArc(a.u, a.v, a.cap, a.cost);
    }
    std::vector<int64_t> supply(n, 0);
    int64_t s = 1 + rng() % 3;
    supply[0] = s;
    supply[n - 1] = -s;
    if (rng() % 2) {
      supply[1] += 1;
      supply[n - 1] -= 1;
    }
    for (uint32_t v = 0; v < n; ++v)
      f.setSupply(v, supply[v]);
    // Brute force over every flow vector.
    int64_t best = INT64_MAX;
    std::vector<int64_t> flow(m, 0);
    std::function<void(uint32_t)> rec = [&](uint32_t i) {
      if (i == m) {
        std::vector<int64_t> net(n, 0);
        int64_t cost = 0;
        for (uint32_t k = 0; k < m; ++k) {
          net[arcs[k].u] += flow[k];
          net[arcs[k].v] -= flow[k];
          cost += flow[k] * arcs[k].cost;
        }
        if (net == supply)
          best = std::min(best, cost);
        return;
      }
      for (int64_t x = 0; x <= arcs[i].cap; ++x) {
        flow[i] = x;
        rec(i + 1);
      }
    };
    rec(0);
    MinCostFlow::Result r = f.solve();
    ASSERT_EQ(r.feasible, best != INT64_MAX) << "trial " << trial;
    if (!r.feasible)
      continue;
    ++feasibleCases;
    EXPECT_EQ(r.cost, best) << "trial " << trial;
    // The returned flow is a flow with that cost.
    std::vector<int64_t> net(n, 0);
    for (uint32_t k = 0; k < m; ++k) {
      EXPECT_GE(r.flow[k], 0);
      EXPECT_LE(r.flow[k], arcs[k].cap);
      net[arcs[k].u] += r.flow[k];
      net[arcs[k].v] -= r.flow[k];
    }
    EXPECT_EQ(net, supply);
  }
  EXPECT_GT(feasibleCases, 20);
}

TEST(Sdc, MinimiseMatchesBruteForce) {
  std::mt19937 rng(11);
  int solved = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const uint32_t n = 2 + rng() % 2;
    DiffSystem s(n);
    const uint32_t m = 2 + rng() % 4;
    for (uint32_t i = 0; i < m; ++i) {
      uint32_t a = rng() % n, b = rng() % n;
      if (a == b)
        continue;
      s.require(a, b, int64_t(rng() % 7) - 3);
    }
    std::vector<int64_t> cost(n);
    for (auto &c : cost)
      c = int64_t(rng() % 6) - 2;
    const int64_t box = 14;
    int64_t best = INT64_MAX;
    bool onEdge = false;
    std::vector<int64_t> x(n, 0);
    std::function<void(uint32_t)> rec = [&](uint32_t i) {
      if (i == n) {
        for (const Constraint &c : s.constraints())
          if (x[c.to] - x[c.from] < c.weight)
            return;
        int64_t obj = 0;
        for (uint32_t v = 0; v < n; ++v)
          obj += cost[v] * x[v];
        if (obj < best) {
          best = obj;
          onEdge = std::find(x.begin(), x.end(), box) != x.end();
        }
        return;
      }
      for (int64_t v = 0; v <= box; ++v) {
        x[i] = v;
        rec(i + 1);
      }
    };
    rec(0);
    auto lp = minimise(s, cost);
    if (!lp) {
      // Infeasible, or unbounded: the box optimum sits on the box's edge.
      EXPECT_TRUE(best == INT64_MAX || onEdge) << "trial " << trial;
      continue;
    }
    ++solved;
    int64_t obj = 0;
    for (uint32_t v = 0; v < n; ++v) {
      EXPECT_GE((*lp)[v], 0);
      obj += cost[v] * (*lp)[v];
    }
    for (const Constraint &c : s.constraints())
      EXPECT_GE((*lp)[c.to] - (*lp)[c.from], c.weight) << "trial " << trial;
    ASSERT_NE(best, INT64_MAX) << "trial " << trial;
    EXPECT_EQ(obj, best) << "trial " << trial;
  }
  EXPECT_GT(solved, 40);
}
