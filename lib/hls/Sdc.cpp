//===- Sdc.cpp - Bellman-Ford, min-cost flow, difference-constraint LPs ----===//
//
// See Sdc.h. Everything is integral and deterministic: arcs and constraints are visited
// in index order, queues are FIFO.
//
//===----------------------------------------------------------------------===//
#include "hls/Sdc.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <numeric>
#include <queue>

namespace tessera::hls::sdc {

AsapResult solveAsap(const DiffSystem &sys) {
  AsapResult r;
  const uint32_t n = sys.size();
  const auto &cs = sys.constraints();
  r.x.assign(n, 0);
  std::vector<uint32_t> pred(n, UINT32_MAX);
  uint32_t lastRelaxed = UINT32_MAX;
  for (uint32_t round = 0; round <= n; ++round) {
    lastRelaxed = UINT32_MAX;
    for (uint32_t i = 0; i < cs.size(); ++i) {
      const Constraint &c = cs[i];
      if (r.x[c.from] + c.weight > r.x[c.to]) {
        r.x[c.to] = r.x[c.from] + c.weight;
        pred[c.to] = i;
        lastRelaxed = c.to;
      }
    }
    if (lastRelaxed == UINT32_MAX) {
      r.feasible = true;
      return r;
    }
  }
  // Still relaxing after n rounds: walk back n steps to land on the positive cycle.
  uint32_t v = lastRelaxed;
  for (uint32_t i = 0; i < n; ++i)
    v = cs[pred[v]].from;
  uint32_t u = v;
  do {
    r.cycle.push_back(pred[u]);
    u = cs[pred[u]].from;
  } while (u != v);
  std::reverse(r.cycle.begin(), r.cycle.end());
  r.x.clear();
  return r;
}

uint32_t MinCostFlow::addArc(uint32_t from, uint32_t to, int64_t capacity, int64_t cost) {
  arcs_.push_back({from, to, capacity, cost});
  return static_cast<uint32_t>(arcs_.size() - 1);
}

namespace {

/// Residual graph with paired edges (2k forward, 2k+1 backward).
struct Residual {
  struct Edge {
    uint32_t to;
    int64_t cap, cost;
  };
  std::vector<Edge> edges;
  std::vector<std::vector<uint32_t>> out;

  explicit Residual(uint32_t n) : out(n) {}
  uint32_t add(uint32_t from, uint32_t to, int64_t cap, int64_t cost) {
    uint32_t id = static_cast<uint32_t>(edges.size());
    edges.push_back({to, cap, cost});
    edges.push_back({from, 0, -cost});
    out[from].push_back(id);
    out[to].push_back(id + 1);
    return id;
  }

  /// Shortest paths (SPFA) from `sources` (distance 0). Returns false on a negative cycle.
  bool shortest(const std::vector<uint32_t> &sources, std::vector<int64_t> &dist,
                std::vector<uint32_t> &predEdge) const {
    const uint32_t n = static_cast<uint32_t>(out.size());
    const int64_t inf = MinCostFlow::kInfinite;
    dist.assign(n, inf);
    predEdge.assign(n, UINT32_MAX);
    std::vector<uint32_t> count(n, 0);
    std::vector<char> inQueue(n, 0);
    std::deque<uint32_t> q;
    for (uint32_t s : sources) {
      dist[s] = 0;
      q.push_back(s);
      inQueue[s] = 1;
    }
    while (!q.empty()) {
      uint32_t u = q.front();
      q.pop_front();
      inQueue[u] = 0;
      for (uint32_t e : out[u]) {
        const Edge &ed = edges[e];
        if (ed.cap <= 0)
          continue;
        int64_t nd = dist[u] + ed.cost;
        if (nd < dist[ed.to]) {
          dist[ed.to] = nd;
          predEdge[ed.to] = e;
          if (!inQueue[ed.to]) {
            if (++count[ed.to] > n)
              return false;
            inQueue[ed.to] = 1;
            q.push_back(ed.to);
          }
        }
      }
    }
    return true;
  }

  /// Dijkstra from `src` on reduced costs cost + pot[u] - pot[v] (all >= 0); `dist` in
  /// reduced terms.
  void dijkstra(uint32_t src, const std::vector<int64_t> &pot, std::vector<int64_t> &dist,
                std::vector<uint32_t> &predEdge) const {
    const uint32_t n = static_cast<uint32_t>(out.size());
    const int64_t inf = MinCostFlow::kInfinite;
    dist.assign(n, inf);
    predEdge.assign(n, UINT32_MAX);
    using Item = std::pair<int64_t, uint32_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> pq;
    dist[src] = 0;
    pq.push({0, src});
    while (!pq.empty()) {
      auto [d, u] = pq.top();
      pq.pop();
      if (d != dist[u])
        continue;
      for (uint32_t e : out[u]) {
        const Edge &ed = edges[e];
        if (ed.cap <= 0)
          continue;
        int64_t nd = d + ed.cost + pot[u] - pot[ed.to];
        if (nd < dist[ed.to]) {
          dist[ed.to] = nd;
          predEdge[ed.to] = e;
          pq.push({nd, ed.to});
        }
      }
    }
  }
};

} // namespace

MinCostFlow::Result MinCostFlow::solve() const {
  Result r;
  const uint32_t n = nodeCount();
  const uint32_t src = n, sink = n + 1;
  Residual g(n + 2);
  std::vector<uint32_t> arcEdge;
  for (const Arc &a : arcs_)
    arcEdge.push_back(g.add(a.from, a.to, a.capacity, a.cost));
  int64_t total = 0, balance = 0;
  for (uint32_t v = 0; v < n; ++v) {
    balance += supply_[v];
    if (supply_[v] > 0) {
      g.add(src, v, supply_[v], 0);
      total += supply_[v];
    } else if (supply_[v] < 0) {
      g.add(v, sink, -supply_[v], 0);
    }
  }
  if (balance != 0)
    return r;
  // A negative cycle among the original arcs makes the optimum unbounded.
  {
    std::vector<uint32_t> all(n + 2);
    std::iota(all.begin(), all.end(), 0);
    std::vector<int64_t> dist;
    std::vector<uint32_t> pred;
    if (!g.shortest(all, dist, pred))
      return r;
  }
  // Successive shortest paths with Johnson potentials: one Bellman-Ford for the initial
  // potentials (arc costs may be negative), then Dijkstra on reduced costs.
  std::vector<int64_t> pot;
  std::vector<uint32_t> pred;
  {
    std::vector<uint32_t> all(n + 2);
    std::iota(all.begin(), all.end(), 0);
    g.shortest(all, pot, pred);
  }
  int64_t sent = 0;
  std::vector<int64_t> dist;
  std::vector<uint32_t> level(n + 2), next(n + 2);
  // Primal-dual: after each Dijkstra, saturate the admissible graph (residual arcs of
  // zero reduced cost) with Dinic blocking flows before computing new distances.
  auto admissible = [&](uint32_t e, uint32_t u) {
    const Residual::Edge &ed = g.edges[e];
    return ed.cap > 0 && ed.cost + pot[u] - pot[ed.to] == 0;
  };
  std::function<int64_t(uint32_t, int64_t)> push = [&](uint32_t u, int64_t limit) -> int64_t {
    if (u == sink)
      return limit;
    for (; next[u] < g.out[u].size(); ++next[u]) {
      uint32_t e = g.out[u][next[u]];
      uint32_t v = g.edges[e].to;
      if (level[v] != level[u] + 1 || !admissible(e, u))
        continue;
      int64_t got = push(v, std::min(limit, g.edges[e].cap));
      if (got > 0) {
        g.edges[e].cap -= got;
        g.edges[e ^ 1].cap += got;
        return got;
      }
    }
    return 0;
  };
  while (sent < total) {
    g.dijkstra(src, pot, dist, pred);
    if (dist[sink] >= kInfinite)
      return r;
    for (uint32_t v = 0; v < n + 2; ++v)
      pot[v] += std::min(dist[v], dist[sink]);
    while (sent < total) {
      // BFS levels over admissible arcs.
      std::fill(level.begin(), level.end(), UINT32_MAX);
      std::deque<uint32_t> q{src};
      level[src] = 0;
      while (!q.empty()) {
        uint32_t u = q.front();
        q.pop_front();
        for (uint32_t e : g.out[u]) {
          uint32_t v = g.edges[e].to;
          if (level[v] == UINT32_MAX && admissible(e, u)) {
            level[v] = level[u] + 1;
            q.push_back(v);
          }
        }
      }
      if (level[sink] == UINT32_MAX)
        break;
      std::fill(next.begin(), next.end(), 0);
      while (sent < total) {
        int64_t got = push(src, total - sent);
        if (got == 0)
          break;
        sent += got;
      }
    }
  }
  r.feasible = true;
  for (uint32_t i = 0; i < arcs_.size(); ++i) {
    int64_t f = g.edges[arcEdge[i] + 1].cap;
    r.flow.push_back(f);
    r.cost += f * arcs_[i].cost;
  }
  // Potentials: shortest distances in the residual graph restricted to the original nodes
  // (every node a source at distance 0).
  Residual rg(n);
  for (uint32_t i = 0; i < arcs_.size(); ++i) {
    const Arc &a = arcs_[i];
    uint32_t e = rg.add(a.from, a.to, a.capacity - r.flow[i], a.cost);
    rg.edges[e + 1].cap = r.flow[i];
  }
  std::vector<uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  rg.shortest(all, r.potential, pred);
  return r;
}

std::optional<std::vector<int64_t>> minimise(const DiffSystem &sys,
                                             const std::vector<int64_t> &cost) {
  const uint32_t n = sys.size();
  const uint32_t anchor = n;
  MinCostFlow f(n + 1);
  for (const Constraint &c : sys.constraints())
    f.addArc(c.from, c.to, MinCostFlow::kInfinite, -c.weight);
  int64_t sum = 0;
  for (uint32_t v = 0; v < n; ++v) {
    f.addArc(anchor, v, MinCostFlow::kInfinite, 0);
    int64_t c = v < cost.size() ? cost[v] : 0;
    f.setSupply(v, -c);
    sum += c;
  }
  f.setSupply(anchor, sum);
  MinCostFlow::Result r = f.solve();
  if (!r.feasible)
    return std::nullopt;
  std::vector<int64_t> x(n);
  for (uint32_t v = 0; v < n; ++v)
    x[v] = r.potential[anchor] - r.potential[v];
  return x;
}

} // namespace tessera::hls::sdc
