//===- Schedule.cpp - SDC scheduling of blocks, modulo scheduling of loops -===//
//
// Blocks: SDC (Cong & Zhang, DAC 2006). One variable per node plus the terminator's
// (the block's last cycle); difference constraints for
//   * data dependences:     s_v - s_u >= latency(u)
//   * chaining:             s_v - s_u >= latency(u) + 1 when the longest combinational
//                           path D from u's result to v's input (through latency-0
//                           operators) exceeds the clock, for the first such v on each
//                           path: then every chain left inside one cycle fits the clock,
//                           and Cong & Zhang's ceil(D / clock) - 1 bounds further along
//                           add nothing a valid schedule does not already satisfy
//   * memory order:         s_b - s_a >= 1 for accesses of one array, at least one a
//                           store, in program order, unless their affine indices differ
//   * memory ports:         the accesses of one bank in program order as `ports` lanes:
//                           s_{i+ports} - s_i >= 1 (SDC's linear-order resource trick)
//   * streams:              the accesses of one stream in program order, one per cycle:
//                           s_b - s_a >= 1 (a 1-port resource that keeps its order; a
//                           pipelined loop adds last -> first at distance 1)
//   * functional units:     the same with the ASAP order for multipliers / dividers when
//                           ScheduleOptions limits them
//   * the block end:        s_term - s_v >= latency(v)
// Bellman-Ford checks feasibility and gives the ASAP latency; with the latency fixed the
// objective minimises register bits * lifetime (a lifetime variable e_u >= s_user per
// value, Cong & Zhang's register objective) plus a small ASAP term, solved exactly as a
// min-cost flow on the LP dual (Sdc.h).
//
// Pipelined loops: Rau's iterative modulo scheduling ("Iterative Modulo Scheduling",
// MICRO 1994): MII = max(ResMII, RecMII, requested II); RecMII is the least II for which
// the dependence graph with loop-carried edges weighted latency - II * distance has no
// positive cycle (Bellman-Ford); ops by height, each placed in the first slot of
// [Estart, Estart + II - 1] free in the modulo reservation table, else forced with
// eviction of the conflicting op and of successors whose dependences break; a budget of
// backtrackBudget placements per op, then II + 1.
//
//===----------------------------------------------------------------------===//
#include "hls/Schedule.h"

#include "hls/Analysis.h"
#include "hls/Sdc.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <numeric>
#include <sstream>

namespace tessera::hls {

namespace {

constexpr double kEps = 1e-9;

bool isFree(OpKind k) { return k == OpKind::Const || k == OpKind::Arg || k == OpKind::Phi; }
bool isDivider(OpKind k) {
  return k == OpKind::DivU || k == OpKind::DivS || k == OpKind::RemU || k == OpKind::RemS;
}

/// A dependence between two ops of one block: s_to + ii * distance - s_from >= latency.
struct Edge {
  NodeId from, to;
  int64_t latency;
  uint32_t distance = 0;
  int32_t dep = -1; ///< index into the loop's LoopDep list for loop-carried edges
};

std::string where(const SourceLoc &l) { return l.known() ? l.str() : std::string("?"); }

struct Ctx {
  const Cdfg &g;
  const ScheduleOptions &o;
  std::vector<OpCost> cost;
  std::vector<uint32_t> pos;
  std::vector<MemoryInfo> mems;
  std::vector<const MemAccess *> access; ///< per node (Load / Store)

  uint32_t lat(NodeId n) const { return cost[n].latency; }
  /// Delay of the combinational part in the op's own cycle.
  double inDelay(NodeId n) const {
    if (g.node(n).kind == OpKind::Load)
      return 0.0;
    return cost[n].delayNs;
  }
  /// Delay after the clock edge at which a multi-cycle op's result appears.
  double outDelay(NodeId n) const {
    if (g.node(n).kind == OpKind::Load)
      return cost[n].delayNs;
    return lat(n) > 0 ? 0.0 : cost[n].delayNs;
  }
  bool free(NodeId n) const { return isFree(g.node(n).kind); }
  bool sameBlock(NodeId a, NodeId b) const { return g.node(a).block == g.node(b).block; }

  /// "add", or for a Call "call of fp32AddUnit".
  std::string opLabel(const Node &x) const {
    if (x.kind == OpKind::Call && x.attr < g.callees.size())
      return "call of " + g.callees[x.attr].name;
    return std::string(opName(x.kind));
  }
  std::string describe(NodeId n) const {
    const Node &x = g.node(n);
    std::string s = opLabel(x);
    if (!x.name.empty())
      s += " '" + x.name + "'";
    return x.loc.known() ? s + " (" + x.loc.str() + ")" : s;
  }
  /// "9 loads (fir.c:19:34), store (fir.c:20:5)": equal descriptions grouped, in order.
  std::string describeAll(const std::vector<NodeId> &ns) const {
    std::vector<std::pair<std::string, uint32_t>> groups;
    for (NodeId n : ns) {
      const Node &x = g.node(n);
      std::string key = opLabel(x) + "\t" + (x.loc.known() ? x.loc.str() : "");
      auto it = std::find_if(groups.begin(), groups.end(), [&](auto &p) { return p.first == key; });
      if (it == groups.end())
        groups.push_back({key, 1});
      else
        it->second++;
    }
    std::string out;
    for (auto &[key, count] : groups) {
      std::string op = key.substr(0, key.find('\t')), loc = key.substr(key.find('\t') + 1);
      if (!out.empty())
        out += ", ";
      if (count > 1 && op.rfind("call of ", 0) == 0)
        out += fmt::format("{} calls of {}", count, op.substr(8));
      else
        out += count > 1 ? fmt::format("{} {}s", count, op) : op;
      if (!loc.empty())
        out += " (" + loc + ")";
    }
    return out;
  }
};

uint32_t operandWidth(const Cdfg &g, const Node &n) {
  if (isCompare(n.kind) && !n.operands.empty())
    return g.node(n.operands[0]).width;
  if (n.kind == OpKind::Store && n.operands.size() > 1)
    return g.node(n.operands[1]).width;
  return n.width;
}

bool isStreamOp(OpKind k) { return k == OpKind::StreamRead || k == OpKind::StreamWrite; }

/// The stream accesses of block b, per stream (in Cdfg::streams order) in program order.
std::vector<std::vector<NodeId>> streamAccesses(const Cdfg &g, BlockId b) {
  std::vector<std::vector<NodeId>> out(g.streams.size());
  for (NodeId n : g.blocks[b].nodes)
    if (isStreamOp(g.node(n).kind) && g.node(n).attr < out.size())
      out[g.node(n).attr].push_back(n);
  return out;
}

/// Intra-block dependences: data, chaining, memory order, block end.
std::vector<Edge> blockEdges(const Ctx &c, BlockId b) {
  const Cdfg &g = c.g;
  const Block &blk = g.blocks[b];
  const double clock = c.o.clockNs;
  const NodeId term = blk.nodes.back();
  std::vector<Edge> edges;
  for (NodeId v : blk.nodes) {
    if (c.free(v))
      continue;
    for (NodeId u : g.node(v).operands)
      if (c.sameBlock(u, v) && !c.free(u))
        edges.push_back({u, v, c.lat(u)});
    if (v != term)
      edges.push_back({v, term, c.lat(v)});
  }
  // Chaining: longest combinational arrival from each source's result.
  std::vector<double> arr(g.nodes.size(), -1);
  for (size_t i = 0; i < blk.nodes.size(); ++i) {
    NodeId u = blk.nodes[i];
    if (c.free(u) || g.node(u).width == 0)
      continue;
    std::vector<NodeId> touched{u};
    arr[u] = c.outDelay(u);
    for (size_t j = i + 1; j < blk.nodes.size(); ++j) {
      NodeId v = blk.nodes[j];
      if (c.free(v))
        continue;
      double in = -1;
      for (NodeId w : g.node(v).operands)
        if (arr[w] >= 0)
          in = std::max(in, arr[w]);
      if (in < 0)
        continue;
      double end = in + c.inDelay(v);
      if (end > clock + kEps) {
        // The first node past the clock starts a new cycle; whatever lies beyond it is
        // after u's cycle through it, so the propagation stops here.
        edges.push_back({u, v, c.lat(u) + 1});
        continue;
      }
      if (c.lat(v) == 0 && g.node(v).width > 0) {
        arr[v] = end;
        touched.push_back(v);
      }
    }
    for (NodeId t : touched)
      arr[t] = -1;
  }
  // Memory order.
  std::vector<NodeId> accs;
  for (NodeId n : blk.nodes)
    if (c.access[n])
      accs.push_back(n);
  for (size_t i = 0; i < accs.size(); ++i)
    for (size_t j = i + 1; j < accs.size(); ++j) {
      const Node &a = g.node(accs[i]), &bn = g.node(accs[j]);
      if (a.attr != bn.attr || (a.kind != OpKind::Store && bn.kind != OpKind::Store))
        continue;
      if (mayAliasSameIteration(*c.access[accs[i]], *c.access[accs[j]]))
        edges.push_back({accs[i], accs[j], 1});
    }
  // Stream order: consecutive accesses of one stream in consecutive-or-later cycles.
  for (const std::vector<NodeId> &ss : streamAccesses(g, b))
    for (size_t i = 1; i < ss.size(); ++i)
      edges.push_back({ss[i - 1], ss[i], 1});
  return edges;
}

/// A resource class of a block: memory bank group or functional-unit kind.
struct Resource {
  std::string what; ///< user-facing description
  uint32_t capacity = 1;
  std::vector<NodeId> users; ///< program order
  MemId mem = kNone;
};

std::vector<Resource> blockResources(const Ctx &c, BlockId b, bool moduloScheduled) {
  const Cdfg &g = c.g;
  std::vector<Resource> res;
  // Shared functions: at most sharedUnitLimit() calls issue in one cycle (FSM code); a
  // pipelined loop only when the user gave a limit.
  {
    std::map<uint32_t, std::vector<NodeId>> byCallee;
    for (NodeId n : g.blocks[b].nodes)
      if (g.node(n).kind == OpKind::Call && g.node(n).attr < g.callees.size())
        byCallee[g.node(n).attr].push_back(n);
    for (auto &[f, calls] : byCallee) {
      const Cdfg &fg = g.callees[f];
      if (moduloScheduled && fg.unitLimit == 0)
        continue;
      uint32_t units = sharedUnitLimit(fg);
      res.push_back(
          {fmt::format("functional units: shared function '{}'{} has {} unit{}{}", fg.name,
                       fg.loc.known() ? " (" + fg.loc.str() + ")" : "", units, units > 1 ? "s" : "",
                       fg.unitLimit ? " (TESSERA_SHARED_LIMIT)" : ""),
           units, calls, kNone});
    }
  }
  std::map<MemId, std::vector<NodeId>> byMem;
  for (NodeId n : g.blocks[b].nodes)
    if (c.access[n])
      byMem[g.node(n).attr].push_back(n);
  for (auto &[m, ns] : byMem) {
    const Memory &mem = g.memories[m];
    if (mem.partition == Partition::Complete)
      continue;
    bool allStatic = std::all_of(ns.begin(), ns.end(), [&](NodeId n) { return c.access[n]->bank; });
    uint32_t ports = std::max<uint32_t>(1, mem.ports);
    std::string arr = mem.loc.known() ? fmt::format("array '{}' ({})", mem.name, mem.loc.str())
                                      : fmt::format("array '{}'", mem.name);
    if (!allStatic) {
      res.push_back({fmt::format("memory port: {} has {} port{}", arr, ports, ports > 1 ? "s" : ""),
                     ports, ns, m});
      continue;
    }
    std::map<uint32_t, std::vector<NodeId>> byBank;
    for (NodeId n : ns)
      byBank[*c.access[n]->bank].push_back(n);
    for (auto &[bank, bs] : byBank) {
      std::string which =
          mem.partition == Partition::None ? arr : fmt::format("{} bank {}", arr, bank);
      res.push_back(
          {fmt::format("memory port: {} has {} port{}", which, ports, ports > 1 ? "s" : ""), ports,
           bs, m});
    }
  }
  {
    std::vector<std::vector<NodeId>> ss = streamAccesses(g, b);
    for (size_t k = 0; k < ss.size(); ++k) {
      if (ss[k].empty())
        continue;
      const Stream &st = g.streams[k];
      res.push_back({fmt::format("stream port: stream '{}'{} transfers one element per cycle",
                                 st.name, st.loc.known() ? " (" + st.loc.str() + ")" : ""),
                     1, ss[k], kNone});
    }
  }
  std::vector<NodeId> muls, divs;
  for (NodeId n : g.blocks[b].nodes) {
    if (!c.cost[n].shareable)
      continue;
    if (g.node(n).kind == OpKind::Mul)
      muls.push_back(n);
    else if (isDivider(g.node(n).kind))
      divs.push_back(n);
  }
  if (c.o.maxMultipliers > 0 && !muls.empty())
    res.push_back({fmt::format("functional units: {} multiplier{} allowed", c.o.maxMultipliers,
                               c.o.maxMultipliers > 1 ? "s" : ""),
                   c.o.maxMultipliers, muls, kNone});
  if (c.o.maxDividers > 0 && !divs.empty())
    res.push_back({fmt::format("functional units: {} divider{} allowed", c.o.maxDividers,
                               c.o.maxDividers > 1 ? "s" : ""),
                   c.o.maxDividers, divs, kNone});
  return res;
}

/// Nodes of block b that cannot start in cycle 0 because the combinational path from the
/// arguments (arriving ScheduleOptions::argArrivalNs into cycle 0) to their end exceeds
/// the clock: the first such node on each path (as for chaining between nodes).
std::vector<NodeId> argChainBreaks(const Ctx &c, BlockId b) {
  std::vector<NodeId> out;
  if (c.o.argArrivalNs <= 0)
    return out;
  const Cdfg &g = c.g;
  std::vector<double> arr(g.nodes.size(), -1);
  for (NodeId v : g.blocks[b].nodes) {
    const Node &x = g.node(v);
    if (x.kind == OpKind::Arg) {
      arr[v] = c.o.argArrivalNs;
      continue;
    }
    if (c.free(v))
      continue;
    double in = -1;
    for (NodeId w : x.operands)
      if (arr[w] >= 0)
        in = std::max(in, arr[w]);
    if (in < 0)
      continue;
    double end = in + c.inDelay(v);
    if (end > c.o.clockNs + kEps) {
      out.push_back(v);
      continue;
    }
    if (c.lat(v) == 0 && x.width > 0)
      arr[v] = end;
  }
  return out;
}

void fillStarts(const Ctx &c, BlockId b, Schedule &s) {
  const Cdfg &g = c.g;
  for (NodeId v : g.blocks[b].nodes) {
    NodeTiming &t = s.nodes[v];
    t.latency = c.lat(v);
    t.delayNs = c.free(v) ? 0.0 : c.cost[v].delayNs;
    t.startNs = 0;
    if (c.free(v))
      continue;
    for (NodeId u : g.node(v).operands) {
      if (g.node(u).kind == OpKind::Arg && t.cycle == 0)
        t.startNs = std::max(t.startNs, c.o.argArrivalNs);
      if (!c.sameBlock(u, v) || c.free(u))
        continue;
      const NodeTiming &tu = s.nodes[u];
      if (tu.cycle + tu.latency != t.cycle)
        continue;
      double ready = tu.latency > 0 ? c.outDelay(u) : tu.startNs + tu.delayNs;
      t.startNs = std::max(t.startNs, ready);
    }
    s.criticalPathNs = std::max(s.criticalPathNs, t.startNs + c.inDelay(v));
    s.criticalPathNs = std::max(s.criticalPathNs, c.outDelay(v));
  }
}

/// SDC schedule of one block.
Status scheduleBlock(const Ctx &c, BlockId b, Schedule &s) {
  const Cdfg &g = c.g;
  const Block &blk = g.blocks[b];
  std::vector<NodeId> ops;
  for (NodeId n : blk.nodes)
    if (!c.free(n))
      ops.push_back(n);
  std::vector<uint32_t> var(g.nodes.size(), kNone);
  sdc::DiffSystem sys;
  const uint32_t start = sys.addVar();
  for (NodeId n : ops) {
    var[n] = sys.addVar();
    sys.require(start, var[n], 0);
  }
  for (const Edge &e : blockEdges(c, b))
    sys.require(var[e.from], var[e.to], e.latency);
  for (NodeId v : argChainBreaks(c, b))
    sys.require(start, var[v], 1);
  std::vector<Resource> res = blockResources(c, b, false);
  sdc::AsapResult asap0 = sdc::solveAsap(sys);
  if (!asap0.feasible)
    return Diagnostic::error(
        "schedule-failed", fmt::format("block '{}' has contradictory timing constraints", blk.name),
        blk.loc);
  for (const Resource &r : res) {
    std::vector<NodeId> order = r.users;
    if (r.mem == kNone) // functional units: ASAP order
      std::stable_sort(order.begin(), order.end(), [&](NodeId a, NodeId bb) {
        return std::make_pair(asap0.x[var[a]], c.pos[a]) <
               std::make_pair(asap0.x[var[bb]], c.pos[bb]);
      });
    for (size_t i = 0; i + r.capacity < order.size(); ++i)
      sys.require(var[order[i]], var[order[i + r.capacity]], 1);
  }
  sdc::AsapResult asap = sdc::solveAsap(sys);
  if (!asap.feasible)
    return Diagnostic::error(
        "schedule-failed",
        fmt::format("block '{}' has contradictory resource constraints", blk.name), blk.loc);
  const NodeId term = blk.nodes.back();
  const int64_t length = asap.x[var[term]] - asap.x[start];
  // Fix the latency, then minimise register bits x lifetime (+ an ASAP tie-break).
  sys.require(var[term], start, -length);
  std::vector<int64_t> cost(sys.size(), 0);
  const auto users = g.users();
  const int64_t k = int64_t(ops.size() + 1) * (length + 1) + 1;
  for (NodeId n : ops)
    cost[var[n]] += 1;
  for (NodeId u : ops) {
    if (g.node(u).width == 0 || users[u].empty())
      continue;
    uint32_t e = sys.addVar();
    cost.push_back(0);
    sys.require(var[u], e, c.lat(u));
    for (NodeId v : users[u]) {
      if (c.sameBlock(u, v) && !c.free(v))
        sys.require(var[v], e, 0);
      else
        sys.require(var[term], e, 0); // live out of the block (or into a phi)
    }
    int64_t bits = g.node(u).width;
    cost[e] += k * bits;
    cost[var[u]] -= k * bits;
  }
  // Blocks beyond kMaxObjectiveOps (fully unrolled loops) keep the ASAP schedule: the
  // flow takes ~0.7 s at 1000 ops and grows quadratically.
  constexpr size_t kMaxObjectiveOps = 1500;
  std::optional<std::vector<int64_t>> x;
  if (ops.size() <= kMaxObjectiveOps)
    x = sdc::minimise(sys, cost);
  const std::vector<int64_t> &sol = x ? *x : asap.x; // the optimum; ASAP if the flow fails
  for (NodeId n : blk.nodes)
    s.nodes[n].cycle = c.free(n) ? 0 : static_cast<uint32_t>(sol[var[n]] - sol[start]);
  s.blocks[b].length = static_cast<uint32_t>(sol[var[term]] - sol[start]) + 1;
  fillStarts(c, b, s);
  return Status::success();
}

/// Rau's iterative modulo scheduling at one II.
std::optional<std::vector<int64_t>>
imsAt(const Ctx &c, const std::vector<NodeId> &ops, const std::vector<std::vector<Edge>> &succ,
      const std::vector<std::vector<Edge>> &pred, const std::vector<int32_t> &resOf,
      const std::vector<Resource> &res, uint32_t ii, const std::vector<uint32_t> &idx) {
  const size_t n = ops.size();
  // Height-based priority: longest path to any sink with weights latency - ii * distance.
  std::vector<int64_t> height(n, 0);
  for (size_t round = 0; round <= n; ++round) {
    bool changed = false;
    for (size_t i = n; i-- > 0;) // reverse program order: one round for the acyclic part
      for (const Edge &e : succ[i]) {
        int64_t h = height[idx.at(e.to)] + e.latency - int64_t(ii) * e.distance;
        if (h > height[i]) {
          height[i] = h;
          changed = true;
        }
      }
    if (!changed)
      break;
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return height[a] > height[b]; });
  std::vector<int64_t> time(n, -1), last(n, -1);
  // MRT: per resource per slot, the ops holding it.
  std::vector<std::vector<std::vector<size_t>>> mrt(res.size(),
                                                    std::vector<std::vector<size_t>>(ii));
  int64_t horizon = int64_t(ii) * 4 + 16;
  for (size_t i = 0; i < n; ++i)
    for (const Edge &e : succ[i])
      horizon += std::max<int64_t>(e.latency, 0);
  int64_t budget = int64_t(std::max<uint32_t>(1, c.o.backtrackBudget)) * int64_t(n);
  auto unschedule = [&](size_t i) {
    if (time[i] < 0)
      return;
    if (resOf[i] >= 0) {
      auto &slot = mrt[resOf[i]][time[i] % ii];
      slot.erase(std::find(slot.begin(), slot.end(), i));
    }
    time[i] = -1;
  };
  while (true) {
    size_t op = n;
    for (size_t i : order)
      if (time[i] < 0) {
        op = i;
        break;
      }
    if (op == n)
      break;
    if (--budget < 0)
      return std::nullopt;
    int64_t estart = 0;
    for (const Edge &e : pred[op]) {
      size_t p = idx.at(e.from);
      if (time[p] >= 0)
        estart = std::max(estart, time[p] + e.latency - int64_t(ii) * e.distance);
    }
    auto fits = [&](int64_t t) {
      return resOf[op] < 0 || mrt[resOf[op]][t % ii].size() < res[resOf[op]].capacity;
    };
    int64_t t = -1;
    for (int64_t cand = estart; cand < estart + ii; ++cand)
      if (fits(cand)) {
        t = cand;
        break;
      }
    if (t < 0) {
      t = (last[op] < 0 || estart > last[op]) ? estart : last[op] + 1;
      auto &slot = mrt[resOf[op]][t % ii];
      while (slot.size() >= res[resOf[op]].capacity)
        unschedule(slot.front());
    }
    if (t > horizon)
      return std::nullopt;
    time[op] = t;
    last[op] = t;
    if (resOf[op] >= 0)
      mrt[resOf[op]][t % ii].push_back(op);
    for (const Edge &e : succ[op]) {
      size_t sidx = idx.at(e.to);
      if (sidx != op && time[sidx] >= 0 && time[sidx] < t + e.latency - int64_t(ii) * e.distance)
        unschedule(sidx);
    }
  }
  return time;
}

/// RecMII: the least II without a positive cycle; `cycle` gets the edges of the critical
/// recurrence (one at II = RecMII - 1) when RecMII > 1.
uint32_t recMii(const std::vector<NodeId> &ops, const std::vector<Edge> &edges,
                const std::vector<uint32_t> &idx, std::vector<size_t> *cycle) {
  auto feasible = [&](uint32_t ii, std::vector<size_t> *cyc) {
    sdc::DiffSystem sys(static_cast<uint32_t>(ops.size()));
    for (const Edge &e : edges)
      sys.require(idx.at(e.from), idx.at(e.to), e.latency - int64_t(ii) * e.distance);
    sdc::AsapResult r = sdc::solveAsap(sys);
    if (!r.feasible && cyc)
      *cyc = std::vector<size_t>(r.cycle.begin(), r.cycle.end());
    return r.feasible;
  };
  uint32_t hi = 1;
  for (const Edge &e : edges)
    hi += static_cast<uint32_t>(std::max<int64_t>(e.latency, 0));
  uint32_t lo = 1;
  if (feasible(1, nullptr))
    return 1;
  while (lo + 1 < hi) { // feasible(hi), !feasible(lo)
    uint32_t mid = (lo + hi) / 2;
    if (feasible(mid, nullptr))
      hi = mid;
    else
      lo = mid;
  }
  if (cycle)
    feasible(hi - 1, cycle);
  return hi;
}

/// Modulo-schedules the single-block body of loop `l`; false (with notes) when it cannot.
Expected<bool> scheduleLoop(const Ctx &c, LoopId l, Schedule &s) {
  const Cdfg &g = c.g;
  const Loop &L = g.loops[l];
  LoopTiming &lt = s.loops[l];
  const BlockId b = L.header;
  const Block &blk = g.blocks[b];
  std::vector<NodeId> ops;
  std::vector<uint32_t> idx(g.nodes.size(), kNone);
  for (NodeId n : blk.nodes)
    if (!c.free(n)) {
      idx[n] = static_cast<uint32_t>(ops.size());
      ops.push_back(n);
    }
  std::vector<Edge> edges = blockEdges(c, b);
  std::vector<LoopDep> deps = loopCarriedDeps(g, l);
  for (size_t i = 0; i < deps.size(); ++i) {
    const LoopDep &d = deps[i];
    if (idx[d.from] == kNone || idx[d.to] == kNone)
      continue;
    int64_t latency = d.kind == LoopDep::Register ? std::max<int64_t>(c.lat(d.from), 1) : 1;
    edges.push_back({d.from, d.to, latency, d.distance, static_cast<int32_t>(i)});
  }
  // Streams keep their order across iterations: the next iteration's first access after
  // this one's last.
  for (const std::vector<NodeId> &ss : streamAccesses(g, b))
    if (!ss.empty())
      edges.push_back({ss.back(), ss.front(), 1, 1});
  std::vector<Resource> res = blockResources(c, b, true);
  std::vector<int32_t> resOf(ops.size(), -1);
  for (size_t r = 0; r < res.size(); ++r)
    for (NodeId n : res[r].users)
      resOf[idx[n]] = static_cast<int32_t>(r);
  // ResMII.
  uint32_t resMii = 1;
  size_t resCritical = res.size();
  for (size_t r = 0; r < res.size(); ++r) {
    uint32_t m =
        static_cast<uint32_t>((res[r].users.size() + res[r].capacity - 1) / res[r].capacity);
    if (m > resMii) {
      resMii = m;
      resCritical = r;
    }
  }
  std::vector<size_t> cyc;
  uint32_t recMiiV = recMii(ops, edges, idx, &cyc);
  lt.resMII = resMii;
  lt.recMII = recMiiV;
  // What bounds the II, in the user's terms.
  IiLimit rec, resL;
  rec.kind = IiLimit::Recurrence;
  if (recMiiV > 1) {
    int64_t lat = 0;
    uint32_t dist = 0;
    std::string carried, chain;
    // Start the chain at the op that reads the carried value.
    auto carriedEdge =
        std::find_if(cyc.begin(), cyc.end(), [&](size_t e) { return edges[e].distance > 0; });
    if (carriedEdge != cyc.end())
      std::rotate(cyc.begin(), carriedEdge + 1, cyc.end());
    for (size_t e : cyc) {
      const Edge &ed = edges[e];
      lat += ed.latency;
      dist += ed.distance;
      if (ed.dep >= 0 && deps[ed.dep].phi != kNone && carried.empty())
        carried = c.describe(deps[ed.dep].phi);
      else if (ed.dep >= 0 && carried.empty())
        carried = "array '" + g.memories[g.node(ed.from).attr].name + "'";
      else if (ed.dep < 0 && ed.distance > 0 && carried.empty() &&
               isStreamOp(g.node(ed.from).kind))
        carried = "the element order of stream '" + g.streams[g.node(ed.from).attr].name + "'";
      if (std::find(rec.nodes.begin(), rec.nodes.end(), ed.from) == rec.nodes.end())
        rec.nodes.push_back(ed.from);
    }
    // Long chains (software floating point) keep their first three and last two ops.
    for (size_t i = 0; i < rec.nodes.size(); ++i) {
      NodeId n = rec.nodes[i];
      if (rec.nodes.size() > 6 && i == 3) {
        chain += fmt::format(" -> ... {} more ops ...", rec.nodes.size() - 5);
        i = rec.nodes.size() - 3;
        continue;
      }
      if (!chain.empty())
        chain += " -> ";
      chain += c.describe(n);
      if (c.lat(n) > 0)
        chain += fmt::format(" [{} cycle{}]", c.lat(n), c.lat(n) > 1 ? "s" : "");
    }
    rec.description = fmt::format(
        "loop-carried dependence through {}: {} takes {} cycles at {:.2f} ns per cycle, "
        "carried over distance {}",
        carried.empty() ? "a value" : carried, chain, lat, c.o.clockNs, std::max(dist, 1u));
  }
  if (resCritical < res.size()) {
    resL.kind = IiLimit::Resource;
    const Resource &r = res[resCritical];
    resL.description = fmt::format("{}, {} uses per iteration: {}", r.what, r.users.size(),
                                   c.describeAll(r.users));
    resL.nodes = r.users;
  }
  uint32_t mii = std::max({resMii, recMiiV, L.requestedII});
  uint32_t bound = std::max(resMii, recMiiV);
  if (bound > L.requestedII) {
    const IiLimit &why = recMiiV >= resMii ? rec : resL;
    if (c.o.strictII)
      return Diagnostic::error("impossible-ii",
                               fmt::format("the requested II {} is below the minimum II {} of this "
                                           "loop: {}",
                                           L.requestedII, bound, why.description),
                               L.loc);
    lt.notes.push_back(
        fmt::format("requested II {} raised to {}: {}", L.requestedII, bound, why.description));
  }
  std::vector<std::vector<Edge>> succ(ops.size()), pred(ops.size());
  for (const Edge &e : edges) {
    succ[idx[e.from]].push_back(e);
    pred[idx[e.to]].push_back(e);
  }
  const uint32_t maxIi = mii + static_cast<uint32_t>(ops.size()) + 8;
  for (uint32_t ii = mii; ii <= maxIi; ++ii) {
    auto t = imsAt(c, ops, succ, pred, resOf, res, ii, idx);
    if (!t)
      continue;
    lt.pipelined = true;
    lt.ii = ii;
    for (size_t i = 0; i < ops.size(); ++i)
      s.nodes[ops[i]].cycle = static_cast<uint32_t>((*t)[i]);
    for (NodeId n : blk.nodes)
      if (c.free(n))
        s.nodes[n].cycle = 0;
    const NodeId term = blk.nodes.back();
    lt.depth = s.nodes[term].cycle + 1;
    s.blocks[b].length = lt.depth;
    if (ii == 1)
      lt.limit = {};
    else if (ii == L.requestedII && L.requestedII > bound)
      lt.limit = {IiLimit::Request, fmt::format("the requested II ({})", where(L.loc)), {}};
    else if (recMiiV >= resMii && recMiiV > 1)
      lt.limit = rec;
    else if (resMii > 1)
      lt.limit = resL;
    if (ii > mii)
      lt.notes.push_back(fmt::format("II {} found after MII {} failed within the backtracking "
                                     "budget",
                                     ii, mii));
    fillStarts(c, b, s);
    return true;
  }
  lt.notes.push_back(fmt::format("not pipelined: no modulo schedule up to II {}", maxIi));
  return false;
}

/// The operator a shared function's calls use (Schedule::calleeCost).
OpCost sharedFunctionCost(const Cdfg &f, const Schedule &fs, const OpLibrary &lib, double clockNs,
                          double argArrivalNs) {
  OpCost c;
  const BlockId b = 0;
  c.delayNs = argArrivalNs; // at least the operand multiplexer before the first register
  c.latency = std::max<uint32_t>(fs.blocks[b].length, 1);
  for (NodeId n : f.blocks[b].nodes) {
    const Node &x = f.node(n);
    const NodeTiming &t = fs.nodes[n];
    if (t.cycle == 0 && t.latency == 0)
      c.delayNs = std::max(c.delayNs, t.startNs + t.delayNs);
    OpCost oc = lib.cost(x.kind, operandWidth(f, x), clockNs);
    c.luts += oc.luts;
    c.ffs += oc.ffs;
    c.dsps += oc.dsps;
    c.areaUm2 += oc.areaUm2;
  }
  // The unit's pipeline: every value crossing a cycle boundary is registered once per
  // cycle it crosses (an upper bound the RTL builder meets), plus the output register.
  const auto users = f.users();
  for (NodeId n : f.blocks[b].nodes) {
    const Node &x = f.node(n);
    if (x.width == 0)
      continue;
    uint32_t ready = x.kind == OpKind::Arg || x.kind == OpKind::Const
                         ? 0
                         : fs.nodes[n].cycle + fs.nodes[n].latency;
    uint32_t last = ready;
    for (NodeId u : users[n])
      last = std::max(last, f.node(u).kind == OpKind::Ret ? c.latency - 1 : fs.nodes[u].cycle);
    if (x.kind != OpKind::Const)
      c.ffs += double(last - std::min(last, ready)) * x.width;
  }
  if (f.ret)
    c.ffs += f.ret->width;
  c.areaUm2 += c.ffs * 6 * 0.08;
  c.shareable = true;
  return c;
}

} // namespace

uint32_t sharedUnitLimit(const Cdfg &f) { return f.unitLimit ? f.unitLimit : 1; }

Expected<Schedule> schedule(const Cdfg &g, const ScheduleOptions &opts) {
  if (opts.clockNs <= 0)
    return Diagnostic::error(
        "impossible-clock", fmt::format("clock period {} ns is not positive", opts.clockNs), g.loc);
  const OpLibrary &lib = OpLibrary::forTarget(opts.target);
  Ctx c{g, opts, {}, {}, {}, {}};
  c.cost.resize(g.nodes.size());
  c.pos.assign(g.nodes.size(), 0);
  for (const Block &blk : g.blocks)
    for (size_t i = 0; i < blk.nodes.size(); ++i)
      c.pos[blk.nodes[i]] = static_cast<uint32_t>(i);
  // Shared functions first: each one's schedule makes the operator its calls use.
  std::vector<Schedule> calleeSched;
  std::vector<OpCost> calleeCost;
  for (const Cdfg &f : g.callees) {
    if (!f.callees.empty())
      return Diagnostic::error("unsupported-construct",
                               fmt::format("shared function '{}' calls a shared function", f.name),
                               f.loc);
    // The arguments come through the units' operand multiplexers (Rtl.cpp: one-hot
    // AND-OR, a LUT6 selects among 3 inputs, then 6-input OR levels); the calls per unit
    // are bounded by all calls of f over the sequential-code units.
    const size_t fIndex = calleeSched.size();
    size_t calls = std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node &x) {
      return x.kind == OpKind::Call && x.attr == fIndex;
    });
    size_t perUnit = (calls + sharedUnitLimit(f) - 1) / sharedUnitLimit(f);
    ScheduleOptions fo = opts;
    fo.argArrivalNs = 0;
    if (perUnit > 1) {
      uint32_t levels = 1;
      for (size_t groups = (perUnit + 2) / 3; groups > 1; groups = (groups + 5) / 6)
        ++levels;
      fo.argArrivalNs =
          std::min(opts.clockNs, levels * lib.cost(OpKind::Or, 32, opts.clockNs).delayNs);
    }
    TRY_ASSIGN(Schedule fs, schedule(f, fo));
    calleeCost.push_back(sharedFunctionCost(f, fs, lib, opts.clockNs, fo.argArrivalNs));
    calleeSched.push_back(std::move(fs));
  }
  for (NodeId n = 0; n < g.nodes.size(); ++n) {
    const Node &x = g.node(n);
    if (x.kind == OpKind::Call) {
      if (x.attr >= calleeCost.size())
        return Diagnostic::error("bad-cdfg", "call of an unknown shared function", x.loc);
      c.cost[n] = calleeCost[x.attr];
      continue;
    }
    c.cost[n] = lib.cost(x.kind, operandWidth(g, x), opts.clockNs);
    if (c.cost[n].latency == 0 || x.kind == OpKind::Load) {
      double d = c.cost[n].delayNs;
      if (d > opts.clockNs + kEps) {
        std::string what =
            x.kind == OpKind::Load
                ? fmt::format("the RAM read of array '{}'",
                              x.attr < g.memories.size() ? g.memories[x.attr].name : "?")
                : fmt::format("the {}-bit {}", operandWidth(g, x), opName(x.kind));
        return Diagnostic::error("impossible-clock",
                                 fmt::format("{} needs {:.2f} ns and cannot be pipelined; the "
                                             "clock period is {:.2f} ns",
                                             what, d, opts.clockNs),
                                 g.locOf(n));
      }
    }
  }
  std::vector<Range> ranges = analyseRanges(g);
  c.mems = analyseMemories(g, &ranges);
  c.access.assign(g.nodes.size(), nullptr);
  for (const MemoryInfo &mi : c.mems)
    for (const MemAccess &a : mi.accesses)
      c.access[a.node] = &a;

  Schedule s;
  s.clockNs = opts.clockNs;
  s.callees = std::move(calleeSched);
  s.calleeCost = std::move(calleeCost);
  s.nodes.resize(g.nodes.size());
  s.blocks.resize(g.blocks.size());
  s.loops.resize(g.loops.size());
  std::vector<char> done(g.blocks.size(), 0);
  for (LoopId l = 0; l < g.loops.size(); ++l) {
    const Loop &L = g.loops[l];
    s.loops[l].loop = l;
    if (L.requestedII == 0)
      continue;
    if (!L.children.empty()) {
      s.loops[l].notes.push_back(
          fmt::format("not pipelined: the loop contains {} inner loop{} (only innermost loops "
                      "are pipelined)",
                      L.children.size(), L.children.size() > 1 ? "s" : ""));
      continue;
    }
    if (L.blocks.size() != 1 || L.header != L.latch) {
      s.loops[l].notes.push_back(fmt::format(
          "not pipelined: the body has {} blocks (branches that if-conversion did not remove)",
          L.blocks.size()));
      continue;
    }
    if (g.node(g.blocks[L.header].nodes.back()).kind != OpKind::CondBr) {
      s.loops[l].notes.push_back("not pipelined: the body does not end in a conditional branch");
      continue;
    }
    TRY_ASSIGN(bool ok, scheduleLoop(c, l, s));
    done[L.header] = ok;
  }
  for (BlockId b = 0; b < g.blocks.size(); ++b)
    if (!done[b])
      TRY(scheduleBlock(c, b, s));
  return s;
}

std::string scheduleReport(const Cdfg &g, const Schedule &s) {
  std::ostringstream os;
  os << fmt::format("schedule of '{}': clock {:.2f} ns, critical path {:.2f} ns\n", g.name,
                    s.clockNs, s.criticalPathNs);
  for (const LoopTiming &lt : s.loops) {
    if (lt.loop >= g.loops.size())
      continue;
    const Loop &L = g.loops[lt.loop];
    os << fmt::format("loop {} ({})", lt.loop, where(L.loc));
    if (L.tripCount)
      os << fmt::format(", {} iterations", *L.tripCount);
    if (lt.pipelined) {
      os << fmt::format(": pipelined, II {} (ResMII {}, RecMII {}", lt.ii, lt.resMII, lt.recMII);
      if (L.requestedII)
        os << fmt::format(", requested {}", L.requestedII);
      os << fmt::format("), iteration depth {} cycles", lt.depth);
      if (L.tripCount && *L.tripCount > 0)
        os << fmt::format(", about {} cycles in all", (*L.tripCount - 1) * lt.ii + lt.depth);
      os << "\n";
      if (lt.ii > 1 && !lt.limit.description.empty())
        os << "  II limited by " << lt.limit.description << "\n";
    } else {
      os << ": not pipelined\n";
    }
    for (const std::string &n : lt.notes)
      os << "  note: " << n << "\n";
  }
  for (size_t f = 0; f < g.callees.size() && f < s.calleeCost.size(); ++f) {
    const Cdfg &fg = g.callees[f];
    const OpCost &fc = s.calleeCost[f];
    size_t calls = std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node &x) {
      return x.kind == OpKind::Call && x.attr == f;
    });
    os << fmt::format("shared function '{}' ({}): {} call{}, a unit pipelined with II 1, latency "
                      "{} cycle{} (operand multiplexer and logic before its first register "
                      "{:.2f} ns), about {:.0f} LUT "
                      "{:.0f} FF {:.0f} DSP; {} unit{} in sequential code{}\n",
                      fg.name, where(fg.loc), calls, calls == 1 ? "" : "s", fc.latency,
                      fc.latency == 1 ? "" : "s", fc.delayNs, fc.luts, fc.ffs, fc.dsps,
                      sharedUnitLimit(fg), sharedUnitLimit(fg) > 1 ? "s" : "",
                      fg.unitLimit ? " and pipelined loops (TESSERA_SHARED_LIMIT)"
                                   : ", in pipelined loops as many as one modulo slot issues");
  }
  for (BlockId b = 0; b < g.blocks.size() && b < s.blocks.size(); ++b) {
    const Block &blk = g.blocks[b];
    os << fmt::format("block {} '{}' ({}): {} cycle{}\n", b, blk.name, where(blk.loc),
                      s.blocks[b].length, s.blocks[b].length > 1 ? "s" : "");
    for (NodeId n : blk.nodes) {
      const Node &x = g.node(n);
      if (x.kind == OpKind::Const || x.kind == OpKind::Arg)
        continue;
      const NodeTiming &t = s.nodes[n];
      os << fmt::format("  c{:<3} n{:<4} {:<7}", t.cycle, n, opName(x.kind));
      os << fmt::format(" {:>2}b", x.width);
      if (t.latency > 0)
        os << fmt::format(" lat {}", t.latency);
      os << fmt::format(" {:5.2f}+{:4.2f} ns", t.startNs, t.delayNs);
      if (!x.name.empty())
        os << " " << x.name;
      if (x.loc.known())
        os << " (" << x.loc.str() << ")";
      os << "\n";
    }
  }
  return os.str();
}

} // namespace tessera::hls
