//===- Sdc.h - systems of difference constraints and min-cost flow ---------===//
//
// The solver underneath SDC scheduling (Cong & Zhang, "An Efficient and Versatile
// Scheduling Algorithm Based on SDC Formulation", DAC 2006), with no external LP solver:
//
//   * DiffSystem: integer variables and constraints x[to] - x[from] >= weight;
//   * solveAsap: feasibility and the least non-negative solution by Bellman-Ford (longest
//     paths from a virtual source); an infeasible system yields the positive cycle;
//   * MinCostFlow: successive shortest paths (Bellman-Ford once for potentials, so
//     negative arc costs are allowed as long as there is no negative cycle, then Dijkstra
//     on reduced costs);
//   * minimise: min c^T x over a feasible system with x >= 0, solved as the LP dual (an
//     uncapacitated min-cost flow: one arc per constraint with cost -weight, supplies -c);
//     the primal optimum is read back from the residual graph's shortest-path potentials.
//     The constraint matrix is totally unimodular, so the optimum is integral.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace tessera::hls::sdc {

/// x[to] - x[from] >= weight.
struct Constraint {
  uint32_t from = 0, to = 0;
  int64_t weight = 0;
};

class DiffSystem {
public:
  explicit DiffSystem(uint32_t vars = 0) : vars_(vars) {}
  uint32_t addVar() { return vars_++; }
  uint32_t size() const { return vars_; }
  /// Adds x[to] - x[from] >= weight.
  void require(uint32_t from, uint32_t to, int64_t weight) {
    constraints_.push_back({from, to, weight});
  }
  const std::vector<Constraint> &constraints() const { return constraints_; }

private:
  uint32_t vars_ = 0;
  std::vector<Constraint> constraints_;
};

struct AsapResult {
  bool feasible = false;
  std::vector<int64_t> x;      ///< the least solution with x >= 0 (feasible)
  std::vector<uint32_t> cycle; ///< constraint indices of a positive cycle (infeasible)
};

/// Bellman-Ford longest paths from a virtual source with x >= 0.
AsapResult solveAsap(const DiffSystem &sys);

class MinCostFlow {
public:
  static constexpr int64_t kInfinite = INT64_MAX / 4;

  explicit MinCostFlow(uint32_t nodes) : supply_(nodes, 0) {}
  /// Adds an arc; returns its index (into Result::flow).
  uint32_t addArc(uint32_t from, uint32_t to, int64_t capacity, int64_t cost);
  /// Positive: the node produces that much flow; negative: it consumes it.
  void setSupply(uint32_t node, int64_t supply) { supply_[node] = supply; }
  uint32_t nodeCount() const { return static_cast<uint32_t>(supply_.size()); }

  struct Result {
    bool feasible = false; ///< all supplies routed (false also for a negative cycle)
    int64_t cost = 0;
    std::vector<int64_t> flow;      ///< per arc
    std::vector<int64_t> potential; ///< per node: reduced costs >= 0 on residual arcs
  };
  Result solve() const;

private:
  struct Arc {
    uint32_t from, to;
    int64_t capacity, cost;
  };
  std::vector<Arc> arcs_;
  std::vector<int64_t> supply_;
};

/// min sum cost[i] * x[i] subject to `sys` and x >= 0. nullopt when the system is
/// infeasible or the objective is unbounded below.
std::optional<std::vector<int64_t>> minimise(const DiffSystem &sys,
                                             const std::vector<int64_t> &cost);

} // namespace tessera::hls::sdc
