// buildRtl on hand-built CDFGs with hand-made schedules, simulated with the interpreter
// through the kernel interface and compared with hls::evaluate on random inputs.
#include "RtlTestKernels.h"

#include "hls/Bind.h"
#include "hls/Cosim.h"
#include "hls/Rtl.h"
#include "hw/Text.h"
#include "sim/Sim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

using namespace tessera;
using namespace tessera::hls;
using namespace tessera::hls::testk;

namespace {

/// Builds, simulates `vectors` random inputs and compares with evaluate. Returns the
/// latencies.
std::vector<uint64_t> checkAgainstEvaluate(const Cdfg &g, const Schedule &s, uint32_t vectors,
                                           RtlStats *stats = nullptr,
                                           std::vector<uint64_t> *loopII = nullptr) {
  std::vector<uint64_t> lat;
  auto st = g.verify();
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().render());
  if (!st.ok())
    return lat;
  auto d = buildRtl(g, s, {}, stats);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().render());
  if (!d.ok())
    return lat;
  sim::SimOptions so;
  so.engine = sim::Engine::Interp;
  auto sim = sim::Simulator::create(*d, so);
  EXPECT_TRUE(sim.ok()) << (sim.ok() ? "" : sim.error().render());
  if (!sim.ok())
    return lat;
  for (uint32_t v = 0; v < vectors; ++v) {
    CosimVector in = randomVector(g, 100 + v);
    std::vector<std::vector<uint64_t>> mems = in.mems;
    auto ev = evaluate(g, in.args, mems);
    EXPECT_TRUE(ev.ok()) << (ev.ok() ? "" : ev.error().render());
    if (!ev.ok())
      return lat;
    auto run = runRtl(g, **sim, in, 100000);
    EXPECT_TRUE(run.ok()) << (run.ok() ? "" : run.error().render());
    if (!run.ok())
      return lat;
    if (g.ret) {
      EXPECT_EQ(run->out.ret, ev->ret) << "vector " << v;
    }
    for (size_t m = 0; m < g.memories.size(); ++m) {
      if (g.memories[m].kind == MemKind::Interface) {
        EXPECT_EQ(run->out.mems[m], mems[m]) << "array " << g.memories[m].name << " vector " << v;
      }
    }
    lat.push_back(run->latency);
    if (loopII)
      *loopII = run->loopII;
  }
  return lat;
}

/// The pipelined schedule of sumKernel's loop (II `ii`, exit test in `condCycle`).
Schedule pipelinedSum(const Cdfg &g, uint32_t ii, uint32_t condCycle) {
  Schedule s = naiveSchedule(g, true);
  BlockId l = 1;
  const auto &nodes = g.blocks[l].nodes; // i, s, ld, s1, one, i1, sixteen, cmp, br
  auto at = [&](size_t k, uint32_t c, uint32_t lat = 0) {
    s.nodes[nodes[k]].cycle = c;
    s.nodes[nodes[k]].latency = lat;
  };
  at(0, 0);
  at(1, 1);
  at(2, 0, 1);
  at(3, 1);
  at(5, 0);
  at(7, condCycle);
  at(8, 1);
  s.blocks[l].length = 2;
  s.loops[0].pipelined = true;
  s.loops[0].ii = ii;
  s.loops[0].depth = 2;
  return s;
}

} // namespace

TEST(RtlBind, LeftEdgeUsesMaxOverlapRegisters) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Lifetime> ls;
    int n = 1 + rng() % 12;
    for (int i = 0; i < n; ++i) {
      uint32_t d = rng() % 10;
      ls.push_back({d, d + 1 + uint32_t(rng() % 6), 8});
    }
    uint32_t regs = 0;
    auto regOf = leftEdge(ls, &regs);
    // No two overlapping lifetimes share a register.
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b)
        if (regOf[a] == regOf[b]) {
          EXPECT_TRUE(ls[a].lastUse <= ls[b].def || ls[b].lastUse <= ls[a].def);
        }
    // Optimal: as many registers as the most lifetimes live in one step (occupying
    // steps def+1 .. lastUse).
    uint32_t clique = 0;
    for (uint32_t t = 0; t < 20; ++t) {
      uint32_t live = 0;
      for (auto &l : ls)
        live += l.def < t && t <= l.lastUse;
      clique = std::max(clique, live);
    }
    EXPECT_EQ(regs, clique);
  }
}

TEST(RtlBind, HungarianMatchesBruteForce) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 100; ++trial) {
    size_t rows = 1 + rng() % 5, cols = rows + rng() % 2;
    std::vector<std::vector<int64_t>> cost(rows, std::vector<int64_t>(cols));
    for (auto &r : cost)
      for (auto &c : r)
        c = int64_t(rng() % 20) - 5;
    auto match = minCostAssignment(cost);
    int64_t got = 0;
    std::vector<bool> used(cols, false);
    for (size_t r = 0; r < rows; ++r) {
      ASSERT_LT(match[r], cols);
      EXPECT_FALSE(used[match[r]]);
      used[match[r]] = true;
      got += cost[r][match[r]];
    }
    std::vector<uint32_t> perm(cols);
    std::iota(perm.begin(), perm.end(), 0u);
    int64_t best = INT64_MAX;
    do {
      int64_t c = 0;
      for (size_t r = 0; r < rows; ++r)
        c += cost[r][perm[r]];
      best = std::min(best, c);
    } while (std::next_permutation(perm.begin(), perm.end()));
    EXPECT_EQ(got, best);
  }
}

TEST(RtlBind, UnitBindingSeparatesStepsAndSavesMuxInputs) {
  // Two steps of two multiplies: (x*y, u*v) then (x*z, u*w). Matching puts the x-ops and
  // the u-ops on the same units (6 mux inputs); the crossed binding needs 8.
  std::vector<UnitOp> ops = {{0, {1, 2}}, {0, {3, 4}}, {1, {3, 6}}, {1, {1, 5}}};
  uint32_t units = 0;
  auto unitOf = bindUnits(ops, &units);
  EXPECT_EQ(units, 2u);
  EXPECT_NE(unitOf[0], unitOf[1]);
  EXPECT_NE(unitOf[2], unitOf[3]);
  EXPECT_EQ(unitOf[0], unitOf[3]);
  EXPECT_EQ(muxInputs(ops, unitOf), 6u);
  EXPECT_EQ(muxInputs(ops, {0, 1, 0, 1}), 8u);
}

TEST(Rtl, SumLoopSequentialChainedAndUnchained) {
  Cdfg g = sumKernel();
  auto chained = checkAgainstEvaluate(g, naiveSchedule(g, true), 4);
  auto unchained = checkAgainstEvaluate(g, naiveSchedule(g, false), 4);
  ASSERT_EQ(chained.size(), 4u);
  ASSERT_EQ(unchained.size(), 4u);
  // Chained: start cycle, entry 1 state, loop 2 states x 16, exit 1, then done:
  // start..done = 1 + 1 + 32 + 1.
  EXPECT_EQ(chained[0], 35u);
  EXPECT_GT(unchained[0], chained[0]);
}

TEST(Rtl, StoreLoopVariableTripCount) {
  Cdfg g = storeKernel();
  auto lat = checkAgainstEvaluate(g, naiveSchedule(g, false), 6);
  EXPECT_EQ(lat.size(), 6u);
}

TEST(Rtl, BranchesPhisAndSharedUnits) {
  Cdfg g = mixKernel();
  RtlStats stats;
  auto lat = checkAgainstEvaluate(g, naiveSchedule(g, false), 8, &stats);
  EXPECT_EQ(lat.size(), 8u);
  // Five 32-bit multiplies / divisions in distinct states share units: p, q, r and m3
  // share one multiplier; the DivS and the RemU have one unit each.
  EXPECT_EQ(stats.units, 3u);
  EXPECT_EQ(stats.sharedUnits, 1u);
  EXPECT_GT(stats.states, 10u);
}

TEST(Rtl, PipelinedMultiplierLatency) {
  Cdfg g = mixKernel();
  auto lat = checkAgainstEvaluate(g, naiveSchedule(g, false, 2), 4);
  EXPECT_EQ(lat.size(), 4u);
}

TEST(Rtl, LocalRamAndConstantTable) {
  Cdfg g = localRamKernel();
  auto lat = checkAgainstEvaluate(g, naiveSchedule(g, false), 4);
  EXPECT_EQ(lat.size(), 4u);
}

TEST(Rtl, PipelinedLoopIiOne) {
  Cdfg g = sumKernel();
  std::vector<uint64_t> ii;
  auto lat = checkAgainstEvaluate(g, pipelinedSum(g, 1, 0), 4, nullptr, &ii);
  ASSERT_EQ(lat.size(), 4u);
  // start 1 + entry 1 + 16 issues + 1 drain + exit 1, then done.
  EXPECT_EQ(lat[0], 20u);
  ASSERT_EQ(ii.size(), 1u);
  EXPECT_EQ(ii[0], 1u);
}

TEST(Rtl, PipelinedLoopIiTwoAndLateExitTest) {
  Cdfg g = sumKernel();
  std::vector<uint64_t> ii;
  auto lat2 = checkAgainstEvaluate(g, pipelinedSum(g, 2, 0), 3, nullptr, &ii);
  ASSERT_EQ(lat2.size(), 3u);
  EXPECT_EQ(ii[0], 2u);
  // Exit test in cycle 1: one speculative iteration is issued and squashed.
  auto late = checkAgainstEvaluate(g, pipelinedSum(g, 1, 1), 3, nullptr, &ii);
  ASSERT_EQ(late.size(), 3u);
  EXPECT_EQ(ii[0], 1u);
}

TEST(Rtl, PipelinedStoreLoopIsPredicated) {
  Cdfg g = storeKernel();
  Schedule s = naiveSchedule(g, true);
  const auto &nodes = g.blocks[1].nodes; // i, ld, mul, x1, sum, store, one, i1, cmp, br
  uint32_t cyc[] = {0, 0, 1, 1, 1, 1, 0, 0, 1, 1};
  for (size_t k = 0; k < nodes.size(); ++k)
    s.nodes[nodes[k]].cycle = cyc[k];
  s.blocks[1].length = 2;
  s.loops[0].pipelined = true;
  s.loops[0].ii = 1;
  auto lat = checkAgainstEvaluate(g, s, 6);
  EXPECT_EQ(lat.size(), 6u);
}

TEST(Rtl, LocationsAndInterface) {
  Cdfg g = storeKernel();
  auto d = buildRtl(g, naiveSchedule(g, false), {});
  ASSERT_TRUE(d.ok()) << d.error().render();
  const hw::Module *m = d->top();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name(), "scale");
  for (const char *p : {"clk", "rst", "start", "k", "n", "idle", "done", "a_addr0", "a_ce0",
                        "a_we0", "a_wdata0", "a_rdata0", "b_addr0", "b_wdata0", "b_rdata0"})
    EXPECT_GE(m->findPort(p), 0) << p;
  EXPECT_LT(m->findPort("return"), 0);
  // The multiply carries the C line of the Mul node.
  uint32_t mulLine = g.node(g.blocks[1].nodes[2]).loc.line;
  bool found = false;
  for (const hw::Op &op : m->ops)
    if (op.kind == hw::OpKind::Mul) {
      EXPECT_EQ(op.loc.line, mulLine);
      EXPECT_EQ(op.loc.file, "kernel.c");
      found = true;
    }
  EXPECT_TRUE(found);
}

TEST(Rtl, BadScheduleIsLocated) {
  Cdfg g = sumKernel();
  Schedule s = naiveSchedule(g, true);
  // The add reads the load's data in the load's own cycle.
  NodeId add = g.blocks[1].nodes[3];
  s.nodes[add].cycle = s.nodes[g.blocks[1].nodes[2]].cycle;
  auto d = buildRtl(g, s, {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().id, "rtl-bad-schedule");
  EXPECT_EQ(d.error().loc.line, g.node(add).loc.line);
}

TEST(Rtl, PortConflictIsLocated) {
  Cdfg g = localRamKernel();
  Schedule s = naiveSchedule(g, true);
  // Both tmp loads in one cycle on a one-port RAM.
  NodeId t1 = kNone, t2 = kNone;
  for (NodeId n : g.blocks[2].nodes) {
    if (g.node(n).name == "t1")
      t1 = n;
    if (g.node(n).name == "t2")
      t2 = n;
  }
  ASSERT_NE(t1, kNone);
  ASSERT_NE(t2, kNone);
  ASSERT_EQ(g.node(t1).kind, OpKind::Load);
  ASSERT_EQ(g.node(t2).kind, OpKind::Load);
  s.nodes[t2].cycle = s.nodes[t1].cycle;
  auto d = buildRtl(g, s, {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().id, "rtl-port-conflict");
  EXPECT_EQ(d.error().loc.line, g.node(t2).loc.line);
  // With two ports the same schedule builds and computes the same results.
  g.memories[1].ports = 2;
  auto lat = checkAgainstEvaluate(g, s, 2);
  EXPECT_EQ(lat.size(), 2u);
}

TEST(Rtl, DeterministicAndRoundTripsThroughText) {
  Cdfg g = mixKernel();
  Schedule s = naiveSchedule(g, false, 1);
  auto a = buildRtl(g, s, {});
  auto b = buildRtl(g, s, {});
  ASSERT_TRUE(a.ok() && b.ok());
  std::string ta = hw::printDesign(*a), tb = hw::printDesign(*b);
  EXPECT_EQ(ta, tb);
  auto parsed = hw::parseDesign(ta, "maxmix.hw");
  ASSERT_TRUE(parsed.ok()) << parsed.error().render();
  EXPECT_EQ(hw::compareDesigns(*a, *parsed), "");
}

TEST(Rtl, ModuleNameOptionAndArgumentClash) {
  Cdfg g = sumKernel();
  RtlOptions o;
  o.moduleName = "sum_top";
  auto d = buildRtl(g, naiveSchedule(g, true), o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->top()->name(), "sum_top");
  g.args[0].name = "done";
  auto bad = buildRtl(g, naiveSchedule(g, true), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().id, "rtl-name-clash");
}

namespace {

/// A random straight-line kernel: arguments, arithmetic of widths 1..32, masked loads and
/// stores on one interface array, a returned xor of the last values.
Cdfg randomKernel(std::mt19937 &rng) {
  K k("rnd");
  BlockId b = k.block("entry");
  MemId m = k.array("m", 32, 16);
  std::vector<NodeId> vals;
  for (int a = 0; a < 3; ++a)
    vals.push_back(k.arg(b, "x" + std::to_string(a), 32));
  auto pick = [&](uint32_t w) -> NodeId {
    std::vector<NodeId> c;
    for (NodeId v : vals)
      if (k.g.node(v).width == w)
        c.push_back(v);
    if (c.empty() || rng() % 8 == 0)
      return k.c(b, w, rng() & (w >= 64 ? ~0ull : (1ull << w) - 1));
    return c[rng() % c.size()];
  };
  const OpKind bin[] = {OpKind::Add,  OpKind::Sub,  OpKind::Mul, OpKind::DivU, OpKind::DivS,
                        OpKind::RemU, OpKind::RemS, OpKind::And, OpKind::Or,   OpKind::Xor,
                        OpKind::Shl,  OpKind::ShrU, OpKind::ShrS};
  const OpKind cmp[] = {OpKind::Eq,  OpKind::Ne,  OpKind::LtU, OpKind::LtS, OpKind::LeU,
                        OpKind::LeS, OpKind::GtU, OpKind::GtS, OpKind::GeU, OpKind::GeS};
  int n = 10 + rng() % 20;
  for (int i = 0; i < n; ++i) {
    uint32_t w = rng() % 3 == 0 ? 16 : 32;
    switch (rng() % 7) {
    case 0:
    case 1:
    case 2: {
      OpKind op = bin[rng() % std::size(bin)];
      NodeId a = pick(w), c = pick(w);
      if (op == OpKind::Shl || op == OpKind::ShrU || op == OpKind::ShrS)
        c = k.op(b, OpKind::And, w, {c, k.c(b, w, 31)});
      vals.push_back(k.op(b, op, w, {a, c}, "v" + std::to_string(i)));
      break;
    }
    case 3: {
      NodeId c = k.op(b, cmp[rng() % std::size(cmp)], 1, {pick(w), pick(w)});
      vals.push_back(k.op(b, OpKind::Select, w, {c, pick(w), pick(w)}, "sel"));
      break;
    }
    case 4:
      vals.push_back(w == 16 ? k.op(b, rng() % 2 ? OpKind::ZExt : OpKind::SExt, 32, {pick(16)})
                             : k.op(b, OpKind::Trunc, 16, {pick(32)}));
      break;
    case 5: {
      NodeId addr = k.op(b, OpKind::And, 32, {pick(32), k.c(b, 32, 15)});
      vals.push_back(k.op(b, OpKind::Load, 32, {addr}, "ld", m));
      break;
    }
    case 6: {
      NodeId addr = k.op(b, OpKind::And, 32, {pick(32), k.c(b, 32, 15)});
      k.op(b, OpKind::Store, 0, {addr, pick(32)}, "", m);
      break;
    }
    }
  }
  NodeId r = pick(32);
  for (int i = 0; i < 3; ++i)
    r = k.op(b, OpKind::Xor, 32, {r, pick(32)});
  k.op(b, OpKind::Ret, 0, {r});
  k.ret32();
  return std::move(k.g);
}

/// A random legal schedule: topological, random gaps, random multi-cycle latencies for
/// multiplies and divisions, memory accesses in program order one per cycle.
Schedule randomSchedule(const Cdfg &g, std::mt19937 &rng) {
  Schedule s;
  s.nodes.resize(g.nodes.size());
  s.blocks.resize(1);
  uint32_t lastMem = 0, maxAvail = 0;
  bool anyMem = false;
  for (NodeId n : g.blocks[0].nodes) {
    const Node &nd = g.node(n);
    if (nd.kind == OpKind::Const || nd.kind == OpKind::Arg || isTerminator(nd.kind))
      continue;
    uint32_t c = 0;
    for (NodeId o : nd.operands)
      c = std::max(c, s.nodes[o].cycle + s.nodes[o].latency);
    c += rng() % 3 == 0 ? rng() % 3 : 0;
    bool mem = nd.kind == OpKind::Load || nd.kind == OpKind::Store;
    if (mem && anyMem)
      c = std::max(c, lastMem + 1);
    uint32_t lat = 0;
    if (mem && nd.kind == OpKind::Load)
      lat = 1;
    else if (nd.kind == OpKind::Mul || nd.kind == OpKind::DivU || nd.kind == OpKind::DivS ||
             nd.kind == OpKind::RemU || nd.kind == OpKind::RemS)
      lat = rng() % 3;
    s.nodes[n] = NodeTiming{c, lat, 0, 0};
    if (mem) {
      lastMem = c;
      anyMem = true;
    }
    maxAvail = std::max(maxAvail, c + lat);
  }
  s.blocks[0].length = maxAvail + 1;
  s.nodes[g.blocks[0].nodes.back()].cycle = maxAvail;
  return s;
}

} // namespace

TEST(Rtl, RandomStraightLineKernelsMatchEvaluate) {
  std::mt19937 rng(2024);
  uint32_t shared = 0;
  for (int t = 0; t < 150; ++t) {
    SCOPED_TRACE(t);
    Cdfg g = randomKernel(rng);
    RtlStats stats;
    auto lat = checkAgainstEvaluate(g, randomSchedule(g, rng), 3, &stats);
    ASSERT_EQ(lat.size(), 3u);
    shared += stats.sharedUnits;
  }
  EXPECT_GT(shared, 0u); // sharing was exercised
}

TEST(Rtl, SharedSignedDividerOfMixedWidths) {
  // A 16-bit and a 32-bit signed division in different states share one 32-bit unit:
  // the 16-bit operands must be sign-extended into it (and the remainder likewise).
  K k("sdiv");
  BlockId b = k.block("entry");
  NodeId x = k.arg(b, "x", 32), y = k.arg(b, "y", 32);
  NodeId x16 = k.op(b, OpKind::Trunc, 16, {x});
  NodeId y16 = k.op(b, OpKind::Or, 16, {k.op(b, OpKind::Trunc, 16, {y}), k.c(b, 16, 1)});
  NodeId d16 = k.op(b, OpKind::DivS, 16, {x16, y16}, "d16");
  NodeId r16 = k.op(b, OpKind::RemS, 16, {x16, y16}, "r16");
  NodeId y1 = k.op(b, OpKind::Or, 32, {y, k.c(b, 32, 1)});
  NodeId d32 = k.op(b, OpKind::DivS, 32, {x, y1}, "d32");
  NodeId r32 = k.op(b, OpKind::RemS, 32, {x, y1}, "r32");
  NodeId z = k.op(b, OpKind::Xor, 32, {k.op(b, OpKind::ZExt, 32, {d16}), d32});
  NodeId z2 = k.op(b, OpKind::Add, 32, {k.op(b, OpKind::SExt, 32, {r16}), r32});
  k.op(b, OpKind::Ret, 0, {k.op(b, OpKind::Xor, 32, {z, z2})});
  k.ret32();
  RtlStats stats;
  auto lat = checkAgainstEvaluate(k.g, naiveSchedule(k.g, false), 8, &stats);
  EXPECT_EQ(lat.size(), 8u);
  EXPECT_EQ(stats.units, 2u);
  EXPECT_EQ(stats.sharedUnits, 2u);
}

TEST(Rtl, StoreBeforeLateExitTestIsRejected) {
  // II 1, exit test in cycle 3, a store in cycle 1: a squashed iteration's store would
  // already have happened when the exit is known.
  Cdfg g = storeKernel();
  Schedule s = naiveSchedule(g, true);
  const auto &nodes = g.blocks[1].nodes; // i, ld, mul, x1, sum, store, one, i1, cmp, br
  uint32_t cyc[] = {0, 0, 1, 1, 1, 1, 0, 0, 3, 3};
  for (size_t k = 0; k < nodes.size(); ++k)
    s.nodes[nodes[k]].cycle = cyc[k];
  s.blocks[1].length = 4;
  s.loops[0].pipelined = true;
  s.loops[0].ii = 1;
  auto d = buildRtl(g, s, {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().id, "rtl-unsupported");
  EXPECT_EQ(d.error().loc.line, g.node(nodes[5]).loc.line);
  // At II 2 the exit test (cycle 3) is known when the next iteration stores (2 + 1).
  s.loops[0].ii = 2;
  auto lat = checkAgainstEvaluate(g, s, 4);
  EXPECT_EQ(lat.size(), 4u);
}
