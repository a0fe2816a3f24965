//===- Bind.cpp - left-edge register binding, matching-based unit binding -===//
//
// See Bind.h for the algorithms and their papers.
//
//===----------------------------------------------------------------------===//
#include "hls/Bind.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

namespace tessera::hls {

std::vector<uint32_t> leftEdge(const std::vector<Lifetime> &lifetimes, uint32_t *numRegs) {
  std::vector<uint32_t> order(lifetimes.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return lifetimes[a].def < lifetimes[b].def; });
  std::vector<uint32_t> regOf(lifetimes.size(), 0);
  std::vector<uint32_t> busyUntil; // per register: the lastUse of its latest lifetime
  for (uint32_t i : order) {
    const Lifetime &l = lifetimes[i];
    uint32_t chosen = UINT32_MAX;
    for (uint32_t r = 0; r < busyUntil.size(); ++r)
      if (busyUntil[r] <= l.def) {
        chosen = r;
        break;
      }
    if (chosen == UINT32_MAX) {
      chosen = static_cast<uint32_t>(busyUntil.size());
      busyUntil.push_back(0);
    }
    busyUntil[chosen] = l.lastUse;
    regOf[i] = chosen;
  }
  if (numRegs)
    *numRegs = static_cast<uint32_t>(busyUntil.size());
  return regOf;
}

std::vector<uint32_t> minCostAssignment(const std::vector<std::vector<int64_t>> &cost) {
  const size_t n = cost.size();
  if (n == 0)
    return {};
  const size_t m = cost[0].size();
  assert(n <= m);
  const int64_t inf = std::numeric_limits<int64_t>::max() / 4;
  // 1-based potentials u (rows), v (columns); p[j]: the row matched to column j.
  std::vector<int64_t> u(n + 1, 0), v(m + 1, 0);
  std::vector<size_t> p(m + 1, 0), way(m + 1, 0);
  for (size_t i = 1; i <= n; ++i) {
    p[0] = i;
    size_t j0 = 0;
    std::vector<int64_t> minv(m + 1, inf);
    std::vector<bool> used(m + 1, false);
    do {
      used[j0] = true;
      size_t i0 = p[j0], j1 = 0;
      int64_t delta = inf;
      for (size_t j = 1; j <= m; ++j) {
        if (used[j])
          continue;
        int64_t cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (size_t j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<uint32_t> result(n, 0);
  for (size_t j = 1; j <= m; ++j)
    if (p[j] != 0)
      result[p[j] - 1] = static_cast<uint32_t>(j - 1);
  return result;
}

std::vector<uint32_t> bindUnits(const std::vector<UnitOp> &ops, uint32_t *numUnits) {
  std::map<uint32_t, std::vector<uint32_t>> bySteps; // ordered by step: deterministic
  for (uint32_t i = 0; i < ops.size(); ++i)
    bySteps[ops[i].step].push_back(i);
  uint32_t units = 0;
  for (const auto &[step, list] : bySteps)
    units = std::max<uint32_t>(units, static_cast<uint32_t>(list.size()));
  if (numUnits)
    *numUnits = units;
  std::vector<uint32_t> unitOf(ops.size(), 0);
  // Per unit and operand position: the sources it already selects.
  std::vector<std::vector<std::set<uint64_t>>> inputs(units);
  for (const auto &[step, list] : bySteps) {
    std::vector<std::vector<int64_t>> cost(list.size(), std::vector<int64_t>(units, 0));
    for (size_t r = 0; r < list.size(); ++r) {
      const UnitOp &op = ops[list[r]];
      for (uint32_t u = 0; u < units; ++u) {
        int64_t c = 0;
        for (size_t k = 0; k < op.sources.size(); ++k) {
          bool have = k < inputs[u].size() && inputs[u][k].count(op.sources[k]);
          // A new source on a unit that has none yet costs nothing extra: the first
          // source is a wire, the second makes a 2-input mux (two inputs), later ones one
          // each. Counting "new input" uniformly keeps the matching's objective equal to
          // muxInputs() up to a constant.
          c += have ? 0 : 1;
        }
        cost[r][u] = c;
      }
    }
    std::vector<uint32_t> match = minCostAssignment(cost);
    for (size_t r = 0; r < list.size(); ++r) {
      uint32_t u = match[r];
      unitOf[list[r]] = u;
      const UnitOp &op = ops[list[r]];
      if (inputs[u].size() < op.sources.size())
        inputs[u].resize(op.sources.size());
      for (size_t k = 0; k < op.sources.size(); ++k)
        inputs[u][k].insert(op.sources[k]);
    }
  }
  return unitOf;
}

uint64_t muxInputs(const std::vector<UnitOp> &ops, const std::vector<uint32_t> &unitOf) {
  std::set<std::tuple<uint32_t, size_t, uint64_t>> triples;
  for (size_t i = 0; i < ops.size(); ++i)
    for (size_t k = 0; k < ops[i].sources.size(); ++k)
      triples.insert({unitOf[i], k, ops[i].sources[k]});
  return triples.size();
}

} // namespace tessera::hls
