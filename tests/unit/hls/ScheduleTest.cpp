// SDC block scheduling and modulo scheduling on hand-built CDFGs: II bounds from
// recurrences and memory ports, chaining at different clocks, resource limits, the
// impossible-clock / impossible-ii errors, and a random-DAG check against a greedy
// chaining ASAP reference.
#include "hls/Schedule.h"

#include "ScheduleTestKernels.h"
#include "hls/Analysis.h"
#include "hls/FrontEnd.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace tessera;
using namespace tessera::hls;
using namespace tessera::hls::skern;

namespace {

bool isFreeKind(OpKind k) { return k == OpKind::Const || k == OpKind::Arg || k == OpKind::Phi; }

/// Structural checks every schedule must pass.
void checkSchedule(const Cdfg &g, const Schedule &s, double clock) {
  ASSERT_EQ(s.nodes.size(), g.nodes.size());
  EXPECT_LE(s.criticalPathNs, clock + 1e-9);
  for (BlockId b = 0; b < g.blocks.size(); ++b) {
    const Block &blk = g.blocks[b];
    const uint32_t len = s.blocks[b].length;
    ASSERT_GE(len, 1u);
    EXPECT_EQ(s.nodes[blk.nodes.back()].cycle, len - 1) << "terminator in the last cycle";
    for (NodeId v : blk.nodes) {
      const Node &n = g.node(v);
      const NodeTiming &t = s.nodes[v];
      if (isFreeKind(n.kind))
        continue;
      EXPECT_LE(t.cycle + t.latency, len - 1) << "node " << v << " finishes inside its block";
      EXPECT_LE(t.startNs + (n.kind == OpKind::Load ? 0 : t.delayNs), clock + 1e-9) << "node " << v;
      for (NodeId u : n.operands) {
        if (g.node(u).block != b || isFreeKind(g.node(u).kind))
          continue;
        EXPECT_GE(t.cycle, s.nodes[u].cycle + s.nodes[u].latency) << u << " -> " << v;
      }
    }
  }
  // Pipelined loops: loop-carried register values and memory ports modulo II.
  for (const LoopTiming &lt : s.loops) {
    if (!lt.pipelined)
      continue;
    ASSERT_GE(lt.ii, 1u);
    for (const LoopDep &d : loopCarriedDeps(g, lt.loop)) {
      if (isFreeKind(g.node(d.from).kind) || isFreeKind(g.node(d.to).kind))
        continue;
      int64_t lat =
          d.kind == LoopDep::Register ? std::max<uint32_t>(s.nodes[d.from].latency, 1) : 1;
      EXPECT_GE(int64_t(s.nodes[d.to].cycle) + int64_t(lt.ii) * d.distance,
                int64_t(s.nodes[d.from].cycle) + lat);
    }
    std::map<std::pair<MemId, uint32_t>, uint32_t> use;
    for (NodeId n : g.blocks[g.loops[lt.loop].header].nodes) {
      const Node &x = g.node(n);
      if ((x.kind == OpKind::Load || x.kind == OpKind::Store) &&
          g.memories[x.attr].partition == Partition::None) {
        EXPECT_LE(++use[std::make_pair(x.attr, s.nodes[n].cycle % lt.ii)],
                  g.memories[x.attr].ports);
      }
    }
  }
}

Expected<Schedule> run(const Cdfg &g, double clock, ScheduleOptions o = {}) {
  EXPECT_TRUE(g.verify().ok()) << g.verify().error().render();
  o.clockNs = clock;
  auto s = schedule(g, o);
  if (s.ok())
    checkSchedule(g, *s, clock);
  return s;
}

/// for i < 16: acc = acc * x[i] + y  (the recurrence through the multiplier).
Cdfg macRecurrence(uint32_t width, uint32_t ii) {
  LoopKernel k("mac", 16, ii);
  MemId xm = k.b.array("x", width, 16);
  NodeId y = k.b.arg(k.entry, "y", width);
  std::swap(k.b.g.blocks[k.entry].nodes[1], k.b.g.blocks[k.entry].nodes[2]);
  NodeId one = k.b.c(k.entry, width, 1);
  NodeId acc = k.phi(one, "acc", width);
  NodeId x = k.b.op(k.body, OpKind::Load, width, {k.i}, "x", xm);
  NodeId m = k.b.op(k.body, OpKind::Mul, width, {acc, x}, "acc");
  NodeId accn = k.b.op(k.body, OpKind::Add, width, {m, y}, "acc");
  k.close(acc, accn);
  k.finish(accn);
  return k.b.g;
}

/// for i < 8: s += a[2i] + a[2i+1]
Cdfg twoLoads(uint32_t ports, Partition part) {
  LoopKernel k("pairs", 8, 1);
  MemId a = k.b.array("a", 32, 16, ports);
  k.b.g.memories[a].partition = part;
  k.b.g.memories[a].partitionFactor = part == Partition::None ? 1 : 2;
  NodeId z = k.b.c(k.entry, 32, 0);
  NodeId sum = k.phi(z, "s", 32);
  NodeId i2 = k.b.op(k.body, OpKind::Shl, 32, {k.i, k.b.c(k.body, 32, 1)});
  NodeId l0 = k.b.op(k.body, OpKind::Load, 32, {i2}, "a", a);
  NodeId l1 = k.b.op(k.body, OpKind::Load, 32,
                     {k.b.op(k.body, OpKind::Or, 32, {i2, k.b.c(k.body, 32, 1)})}, "a", a);
  NodeId sn =
      k.b.op(k.body, OpKind::Add, 32, {sum, k.b.op(k.body, OpKind::Add, 32, {l0, l1})}, "s");
  k.close(sum, sn);
  k.finish(sn);
  return k.b.g;
}

} // namespace

TEST(Schedule, DotProductPipelinesAtIi1) {
  Cdfg g = dotProduct(1);
  auto s = run(g, 5.0);
  ASSERT_TRUE(s.ok()) << s.error().render();
  const LoopTiming &lt = s->loops[0];
  EXPECT_TRUE(lt.pipelined);
  EXPECT_EQ(lt.ii, 1u);
  EXPECT_EQ(lt.resMII, 1u);
  EXPECT_EQ(lt.recMII, 1u);
  // load (1) + 32-bit multiply (13.65 ns: 3 stages at 5 ns) + add + branch.
  EXPECT_GE(lt.depth, 5u);
  EXPECT_EQ(s->blocks[g.loops[0].header].length, lt.depth);
  std::string rep = scheduleReport(g, *s);
  EXPECT_NE(rep.find("pipelined, II 1"), std::string::npos) << rep;
  // The evaluation of the hand-built kernel is a dot product (the builder is right).
  std::vector<std::vector<uint64_t>> mems{std::vector<uint64_t>(16), std::vector<uint64_t>(16)};
  uint64_t want = 0;
  for (int i = 0; i < 16; ++i) {
    mems[0][i] = i + 1;
    mems[1][i] = 3 * i;
    want += uint64_t(i + 1) * (3 * i);
  }
  auto r = evaluate(g, {}, mems);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ret, want);
}

TEST(Schedule, RecurrenceBoundsIi) {
  Cdfg g = macRecurrence(32, 1);
  auto s = run(g, 5.0);
  ASSERT_TRUE(s.ok()) << s.error().render();
  const LoopTiming &lt = s->loops[0];
  ASSERT_TRUE(lt.pipelined);
  // 32-bit multiply: 3 pipeline stages at 5 ns; the add's result feeds the next multiply.
  EXPECT_EQ(lt.recMII, 4u);
  EXPECT_EQ(lt.ii, 4u);
  EXPECT_EQ(lt.limit.kind, IiLimit::Recurrence);
  EXPECT_NE(lt.limit.description.find("'acc'"), std::string::npos) << lt.limit.description;
  EXPECT_NE(lt.limit.description.find("k.c:"), std::string::npos) << lt.limit.description;
  EXPECT_EQ(lt.limit.nodes.size(), 2u);
  ASSERT_FALSE(lt.notes.empty());
  EXPECT_NE(lt.notes[0].find("requested II 1 raised to 4"), std::string::npos) << lt.notes[0];
  // 16 bits: a combinational multiply (4.95 ns) that cannot chain with the add.
  auto s16 = run(macRecurrence(16, 1), 5.0);
  ASSERT_TRUE(s16.ok());
  EXPECT_EQ(s16->loops[0].recMII, 2u);
  EXPECT_EQ(s16->loops[0].ii, 2u);
  // A slow clock chains both into one cycle: II 1.
  auto s16slow = run(macRecurrence(16, 1), 10.0);
  ASSERT_TRUE(s16slow.ok());
  EXPECT_EQ(s16slow->loops[0].ii, 1u);
}

TEST(Schedule, ImpossibleIiIsAnErrorWhenStrict) {
  ScheduleOptions o;
  o.strictII = true;
  auto s = run(macRecurrence(32, 2), 5.0, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "impossible-ii");
  EXPECT_EQ(s.error().loc.line, 50u); // the loop's pragma line
  EXPECT_NE(s.error().message.find("'acc'"), std::string::npos) << s.error().message;
  // A request at or above RecMII is honoured as is.
  auto ok = run(macRecurrence(32, 5), 5.0, o);
  ASSERT_TRUE(ok.ok()) << ok.error().render();
  EXPECT_EQ(ok->loops[0].ii, 5u);
  EXPECT_EQ(ok->loops[0].limit.kind, IiLimit::Request);
}

TEST(Schedule, MemoryPortsBoundIi) {
  auto one = run(twoLoads(1, Partition::None), 5.0);
  ASSERT_TRUE(one.ok()) << one.error().render();
  EXPECT_EQ(one->loops[0].resMII, 2u);
  EXPECT_EQ(one->loops[0].ii, 2u);
  EXPECT_EQ(one->loops[0].limit.kind, IiLimit::Resource);
  EXPECT_NE(one->loops[0].limit.description.find("array 'a'"), std::string::npos);
  EXPECT_NE(one->loops[0].limit.description.find("1 port"), std::string::npos);
  auto two = run(twoLoads(2, Partition::None), 5.0);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->loops[0].ii, 1u);
  auto banked = run(twoLoads(1, Partition::Cyclic), 5.0);
  ASSERT_TRUE(banked.ok());
  EXPECT_EQ(banked->loops[0].resMII, 1u);
  EXPECT_EQ(banked->loops[0].ii, 1u);
}

TEST(Schedule, ChainingDependsOnTheClock) {
  auto build = [] {
    Builder b("chain");
    BlockId e = b.block("entry");
    NodeId x = b.arg(e, "x", 32), y = b.arg(e, "y", 32);
    NodeId a1 = b.op(e, OpKind::Add, 32, {x, y});
    NodeId a2 = b.op(e, OpKind::Add, 32, {a1, y});
    NodeId a3 = b.op(e, OpKind::Add, 32, {a2, x});
    b.op(e, OpKind::Ret, 0, {a3});
    b.g.ret = Arg{"return", 32, false, {}};
    return b.g;
  };
  Cdfg g = build();
  std::map<double, uint32_t> want{{10.0, 1}, {5.0, 2}, {2.5, 3}};
  for (auto [clock, len] : want) {
    auto s = run(g, clock);
    ASSERT_TRUE(s.ok()) << s.error().render();
    EXPECT_EQ(s->blocks[0].length, len) << "clock " << clock;
  }
  auto s = run(g, 10.0);
  EXPECT_NEAR(s->criticalPathNs, 3 * 2.35, 1e-6);
}

TEST(Schedule, ImpossibleClockNamesTheOperator) {
  Builder b("wide");
  BlockId e = b.block("entry");
  NodeId x = b.arg(e, "x", 64);
  NodeId add = b.op(e, OpKind::Add, 64, {x, x}, "w");
  b.op(e, OpKind::Ret, 0, {add});
  b.g.ret = Arg{"return", 64, false, {}};
  auto s = run(b.g, 3.0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "impossible-clock");
  EXPECT_EQ(s.error().loc.line, 100 + add);
  EXPECT_NE(s.error().message.find("64-bit add"), std::string::npos) << s.error().message;
  // The RAM read cannot be pipelined either.
  Cdfg d = dotProduct(1);
  auto s2 = run(d, 2.0);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().id, "impossible-clock");
  EXPECT_NE(s2.error().message.find("RAM read of array 'a'"), std::string::npos);
  // Multipliers are pipelined instead.
  Builder m("mul");
  BlockId me = m.block("entry");
  NodeId mx = m.arg(me, "x", 32);
  NodeId mul = m.op(me, OpKind::Mul, 32, {mx, mx});
  m.op(me, OpKind::Ret, 0, {mul});
  m.g.ret = Arg{"return", 32, false, {}};
  auto s3 = run(m.g, 3.0);
  ASSERT_TRUE(s3.ok()) << s3.error().render();
  EXPECT_EQ(s3->nodes[mul].latency, 5u); // 13.65 ns in 3 ns stages
}

TEST(Schedule, FunctionalUnitAndPortLimitsInBlocks) {
  Builder b("limits");
  BlockId e = b.block("entry");
  MemId a = b.array("a", 16, 8);
  std::vector<NodeId> xs;
  for (int i = 0; i < 4; ++i)
    xs.push_back(b.op(e, OpKind::Load, 16, {b.c(e, 32, uint64_t(i))}, "a", a));
  std::vector<NodeId> muls;
  for (int i = 0; i < 4; ++i)
    muls.push_back(b.op(e, OpKind::Mul, 16, {xs[i], xs[(i + 1) % 4]}));
  NodeId s = b.op(
      e, OpKind::Add, 16,
      {b.op(e, OpKind::Add, 16, {muls[0], muls[1]}), b.op(e, OpKind::Add, 16, {muls[2], muls[3]})});
  NodeId st = b.op(e, OpKind::Store, 0, {b.c(e, 32, 0), s}, "", a);
  NodeId ld = b.op(e, OpKind::Load, 16, {b.c(e, 32, 0)}, "a", a);
  b.op(e, OpKind::Ret, 0, {ld});
  b.g.ret = Arg{"return", 16, false, {}};
  ScheduleOptions o;
  o.maxMultipliers = 1;
  auto r = run(b.g, 5.0, o);
  ASSERT_TRUE(r.ok()) << r.error().render();
  std::map<uint32_t, int> mulsPerCycle, portPerCycle;
  for (NodeId m : muls)
    EXPECT_EQ(++mulsPerCycle[r->nodes[m].cycle], 1);
  for (NodeId n : b.g.blocks[e].nodes)
    if (b.g.node(n).kind == OpKind::Load || b.g.node(n).kind == OpKind::Store) {
      EXPECT_EQ(++portPerCycle[r->nodes[n].cycle], 1);
    }
  // The load of a[0] after the store to a[0] sees the stored value.
  EXPECT_GT(r->nodes[ld].cycle, r->nodes[st].cycle);
  std::vector<std::vector<uint64_t>> mems{{1, 2, 3, 4, 0, 0, 0, 0}};
  auto ev = evaluate(b.g, {}, mems);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->ret, 1u * 2 + 2 * 3 + 3 * 4 + 4 * 1);
}

TEST(Schedule, RandomDagsMatchGreedyChainingAsap) {
  std::mt19937 rng(3);
  const OpKind kinds[] = {OpKind::Add, OpKind::Sub, OpKind::Mul,    OpKind::And,
                          OpKind::Xor, OpKind::LtU, OpKind::Select, OpKind::ShrU};
  const OpLibrary &lib = OpLibrary::forTarget(Target::Xilinx);
  for (int trial = 0; trial < 30; ++trial) {
    const double clock = trial % 3 == 0 ? 3.0 : trial % 3 == 1 ? 5.0 : 10.0;
    const uint32_t w = trial % 2 ? 16 : 32;
    Builder b("dag");
    BlockId e = b.block("entry");
    std::vector<NodeId> vals{b.arg(e, "x", w), b.arg(e, "y", w)};
    std::vector<NodeId> ops;
    for (int i = 0; i < 20; ++i) {
      OpKind k = kinds[rng() % 8];
      NodeId p = vals[rng() % vals.size()], q = vals[rng() % vals.size()];
      NodeId n;
      if (k == OpKind::LtU) {
        NodeId c = b.op(e, OpKind::LtU, 1, {p, q});
        ops.push_back(c);
        n = b.op(e, OpKind::Select, w, {c, p, q});
      } else if (k == OpKind::Select) {
        NodeId c = b.op(e, OpKind::Eq, 1, {p, q});
        ops.push_back(c);
        n = b.op(e, OpKind::Select, w, {c, q, vals[rng() % vals.size()]});
      } else {
        n = b.op(e, k, w, {p, q});
      }
      ops.push_back(n);
      vals.push_back(n);
    }
    NodeId acc = vals.back();
    b.op(e, OpKind::Ret, 0, {acc});
    b.g.ret = Arg{"return", w, false, {}};
    auto s = run(b.g, clock);
    ASSERT_TRUE(s.ok()) << s.error().render();
    // Greedy reference: each op at the earliest cycle its operands allow, chained when
    // the arrival plus its delay fits the clock.
    std::map<NodeId, uint32_t> cyc;
    std::map<NodeId, double> fin;
    uint32_t last = 0;
    for (NodeId v : ops) {
      const Node &n = b.g.node(v);
      uint32_t opw = isCompare(n.kind) ? b.g.node(n.operands[0]).width : n.width;
      OpCost c = lib.cost(n.kind, opw, clock);
      uint32_t cycle = 0;
      for (NodeId u : n.operands)
        if (cyc.count(u))
          cycle = std::max(cycle, cyc[u] + s->nodes[u].latency);
      double arrive = 0;
      for (NodeId u : n.operands)
        if (cyc.count(u) && cyc[u] + s->nodes[u].latency == cycle)
          arrive = std::max(arrive, s->nodes[u].latency > 0 ? 0.0 : fin[u]);
      if (arrive + c.delayNs > clock + 1e-9) {
        ++cycle;
        arrive = 0;
      }
      cyc[v] = cycle;
      fin[v] = arrive + c.delayNs;
      EXPECT_EQ(c.latency, s->nodes[v].latency);
      last = std::max(last, cycle + c.latency);
    }
    EXPECT_EQ(s->blocks[0].length, last + 1) << "trial " << trial << " clock " << clock;
  }
}

TEST(Schedule, RegisterObjectiveShortensLifetimes) {
  // a = x + y is needed only at the end of a long multiply chain: ASAP would compute it in
  // cycle 0 and hold it in a register for six cycles; the min-cost-flow objective moves it
  // next to its user.
  Builder b("life");
  BlockId e = b.block("entry");
  NodeId x = b.arg(e, "x", 32), y = b.arg(e, "y", 32);
  NodeId a = b.op(e, OpKind::Add, 32, {x, y}, "a");
  NodeId m1 = b.op(e, OpKind::Mul, 32, {x, y});
  NodeId m2 = b.op(e, OpKind::Mul, 32, {m1, y});
  NodeId r = b.op(e, OpKind::Add, 32, {m2, a}, "r");
  b.op(e, OpKind::Ret, 0, {r});
  b.g.ret = Arg{"return", 32, false, {}};
  auto s = run(b.g, 5.0);
  ASSERT_TRUE(s.ok()) << s.error().render();
  EXPECT_EQ(s->nodes[m2].cycle, 3u);
  EXPECT_EQ(s->nodes[r].cycle, 6u);
  EXPECT_EQ(s->nodes[a].cycle, 6u); // chained into r: 2.35 + 2.35 ns
  EXPECT_NEAR(s->nodes[r].startNs, 2.35, 1e-6);
  EXPECT_EQ(s->blocks[0].length, 7u);
}

TEST(Schedule, ReportNamesBoundsAndLines) {
  Cdfg g = macRecurrence(32, 1);
  auto s = run(g, 5.0);
  ASSERT_TRUE(s.ok());
  std::string rep = scheduleReport(g, *s);
  EXPECT_NE(rep.find("loop 0 (k.c:50:3), 16 iterations: pipelined, II 4 (ResMII 1, RecMII 4, "
                     "requested 1)"),
            std::string::npos)
      << rep;
  EXPECT_NE(rep.find("II limited by loop-carried dependence through phi 'acc'"), std::string::npos)
      << rep;
  EXPECT_NE(rep.find("note: requested II 1 raised to 4"), std::string::npos) << rep;
  // Deterministic.
  EXPECT_EQ(rep, scheduleReport(g, *run(g, 5.0)));
}

// Real kernels through the front end: memory forwarding and bitwidth reduction keep their
// behaviour, and the schedules of the result pass the structural checks with the expected
// IIs and II limits.
TEST(Schedule, SuiteKernelsThroughTheFrontEnd) {
  struct Case {
    const char *file, *top;
    uint32_t ii; ///< expected II of the first pipelined loop
    IiLimit::Kind limit;
    const char *limitMentions; ///< in the limit's description
  };
  const Case cases[] = {
      {"gemm.cpp", "gemm", 1, IiLimit::None, ""},
      {"histogram.cpp", "histogram", 2, IiLimit::Recurrence, "array 'hist'"},
      {"bicg.cpp", "bicg", 2, IiLimit::Resource, "array 's'"}, // s[j] read + written, 1 port
      {"iir_biquad.cpp", "iir_biquad", 0, IiLimit::Recurrence, "phi 'y1'"},
  };
  std::mt19937_64 rng(9);
  for (const Case &c : cases) {
    FrontEndOptions fo;
    fo.top = c.top;
    auto g = compileKernel(std::string(TESSERA_SOURCE_DIR) + "/examples/hls/" + c.file, fo);
    ASSERT_TRUE(g.ok()) << g.error().render();
    Cdfg narrow = *g;
    forwardMemoryValues(narrow); // bicg: the second load of A[i][j] goes
    NarrowStats st = narrowWidths(narrow);
    ASSERT_TRUE(narrow.verify().ok()) << c.file << ": " << narrow.verify().error().render();
    EXPECT_GT(st.nodesNarrowed, 0u) << c.file;
    for (int t = 0; t < 6; ++t) {
      const uint64_t lim = t % 2 ? ~uint64_t(0) : 0xff; // small values keep indices in range
      std::vector<uint64_t> args;
      for (const Arg &a : g->args)
        args.push_back(rng() & lim & (a.width >= 64 ? ~uint64_t(0) : (uint64_t(1) << a.width) - 1));
      std::vector<std::vector<uint64_t>> m1;
      for (const Memory &m : g->memories) {
        std::vector<uint64_t> d(m.depth);
        for (auto &x : d)
          x = rng() & lim & ((uint64_t(1) << m.elemWidth) - 1);
        m1.push_back(d);
      }
      auto m2 = m1;
      auto r1 = evaluate(*g, args, m1), r2 = evaluate(narrow, args, m2);
      if (!r1.ok()) // e.g. histogram bins out of range with full-width data
        continue;
      ASSERT_TRUE(r2.ok()) << c.file << ": " << r2.error().render();
      EXPECT_EQ(r1->ret, r2->ret) << c.file;
      EXPECT_EQ(m1, m2) << c.file;
    }
    auto s = run(narrow, 5.0);
    ASSERT_TRUE(s.ok()) << c.file << ": " << s.error().render();
    const LoopTiming *lt = nullptr;
    for (const LoopTiming &l : s->loops)
      if (l.pipelined && !lt)
        lt = &l;
    ASSERT_NE(lt, nullptr) << c.file << "\n" << scheduleReport(narrow, *s);
    if (c.ii) {
      EXPECT_EQ(lt->ii, c.ii) << c.file << "\n" << scheduleReport(narrow, *s);
    } else {
      EXPECT_GT(lt->ii, 1u) << c.file;
    }
    EXPECT_EQ(lt->limit.kind, c.limit) << c.file << ": " << lt->limit.description;
    EXPECT_NE(lt->limit.description.find(c.limitMentions), std::string::npos)
        << c.file << ": " << lt->limit.description;
  }
}

TEST(OpLibrary, TableInterpolationPipeliningAndTargets) {
  const OpLibrary &x = OpLibrary::forTarget(Target::Xilinx);
  // Table points (scripts/hls-characterise.py) and interpolation between them.
  EXPECT_NEAR(x.cost(OpKind::Add, 32, 10).delayNs, 2.35, 1e-9);
  EXPECT_NEAR(x.cost(OpKind::Add, 24, 10).delayNs, (1.75 + 2.35) / 2, 1e-9);
  EXPECT_EQ(x.cost(OpKind::Add, 32, 10).luts, 32);
  EXPECT_EQ(x.cost(OpKind::Mul, 16, 10).dsps, 1);
  EXPECT_TRUE(x.cost(OpKind::Mul, 32, 10).shareable);
  EXPECT_FALSE(x.cost(OpKind::Add, 32, 10).shareable);
  // Compares share rows; extensions are wires.
  EXPECT_EQ(x.cost(OpKind::GeS, 16, 10).delayNs, x.cost(OpKind::LtS, 16, 10).delayNs);
  EXPECT_EQ(x.cost(OpKind::ZExt, 64, 10).delayNs, 0);
  // Delay grows with width for every characterised kind.
  for (OpKind k : {OpKind::Add, OpKind::Mul, OpKind::DivU, OpKind::Shl, OpKind::Eq, OpKind::LtU})
    EXPECT_LE(x.cost(k, 8, 1000).delayNs, x.cost(k, 32, 1000).delayNs) << opName(k);
  // Dividers stop at 32 bits in the table: 64 bits extrapolates upward.
  EXPECT_GT(x.cost(OpKind::DivU, 64, 1000).delayNs, x.cost(OpKind::DivU, 32, 1000).delayNs);
  // Slower than the clock: pipelined into ceil(delay / clock) stages that each fit.
  OpCost d = x.cost(OpKind::DivU, 32, 5.0);
  EXPECT_EQ(d.latency, 19u); // 92.65 ns
  EXPECT_LE(d.delayNs, 5.0);
  EXPECT_GT(d.ffs, 0);
  EXPECT_EQ(x.cost(OpKind::Add, 64, 1.0).latency, 0u); // adders are not pipelined
  // ASIC: the documented 0.2x delay scaling and an area estimate.
  const OpLibrary &a = OpLibrary::forTarget(Target::Asic);
  EXPECT_NEAR(a.cost(OpKind::Add, 32, 10).delayNs, 0.2 * 2.35, 1e-9);
  EXPECT_GT(a.cost(OpKind::Mul, 32, 10).areaUm2, a.cost(OpKind::Add, 32, 10).areaUm2);
  ScheduleOptions o;
  o.target = Target::Asic;
  auto s = run(dotProduct(1), 1.0, o); // a 1 GHz ASIC clock still pipelines at II 1
  ASSERT_TRUE(s.ok()) << s.error().render();
  EXPECT_EQ(s->loops[0].ii, 1u);
}

TEST(Schedule, MultiBlockLoopBodiesAreNotPipelined) {
  Builder b("twoblocks");
  BlockId e = b.block("entry"), h = b.block("header"), body = b.block("body"), x = b.block("exit");
  b.edge(e, h);
  b.edge(h, body);
  b.edge(h, x);
  b.edge(body, h);
  NodeId zero = b.c(e, 32, 0);
  b.op(e, OpKind::Br, 0, {}, "", h);
  NodeId i = b.op(h, OpKind::Phi, 32, {zero, kNone}, "i");
  NodeId c = b.op(h, OpKind::LtU, 1, {i, b.c(h, 32, 4)});
  b.op(h, OpKind::CondBr, 0, {c}, "", body, x);
  NodeId i1 = b.op(body, OpKind::Add, 32, {i, b.c(body, 32, 1)}, "i");
  b.op(body, OpKind::Br, 0, {}, "", h);
  b.g.nodes[i].operands[1] = i1;
  b.op(x, OpKind::Ret, 0, {i});
  b.g.ret = Arg{"return", 32, false, {}};
  Loop l;
  l.header = h;
  l.latch = body;
  l.blocks = {h, body};
  l.exits = {x};
  l.requestedII = 1;
  l.loc = {"k.c", 7, 3};
  b.g.loops.push_back(l);
  b.g.blocks[h].loop = b.g.blocks[body].loop = 0;
  auto s = run(b.g, 5.0);
  ASSERT_TRUE(s.ok()) << s.error().render();
  EXPECT_FALSE(s->loops[0].pipelined);
  ASSERT_EQ(s->loops[0].notes.size(), 1u);
  EXPECT_NE(s->loops[0].notes[0].find("the body has 2 blocks"), std::string::npos);
  EXPECT_NE(scheduleReport(b.g, *s).find("not pipelined"), std::string::npos);
  std::vector<std::vector<uint64_t>> mems;
  auto r = evaluate(b.g, {}, mems);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ret, 4u);
}

TEST(Schedule, RandomPipelinedLoopsRespectModuloConstraints) {
  // Random single-block loop bodies: loads on 1-port arrays, multipliers, two recurrences
  // and a store; checkSchedule verifies dependences (intra- and loop-carried), chaining
  // and ports modulo II for every schedule found.
  std::mt19937 rng(21);
  int pipelined = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const uint32_t w = 16;
    LoopKernel k("rand", 32, 1 + rng() % 2);
    MemId a = k.b.array("a", w, 64, 1 + rng() % 2), out = k.b.array("o", w, 64);
    NodeId z = k.b.c(k.entry, w, 0);
    NodeId p0 = k.phi(z, "r0", w), p1 = k.phi(z, "r1", w);
    NodeId iw = k.b.op(k.body, OpKind::Trunc, w, {k.i});
    std::vector<NodeId> vals{p0, p1, iw};
    for (int j = 0; j < 12; ++j) {
      NodeId x = vals[rng() % vals.size()], y = vals[rng() % vals.size()];
      switch (rng() % 4) {
      case 0:
        vals.push_back(k.b.op(
            k.body, OpKind::Load, w,
            {k.b.op(k.body, OpKind::Add, 32, {k.i, k.b.c(k.body, 32, rng() % 8)})}, "", a));
        break;
      case 1:
        vals.push_back(k.b.op(k.body, OpKind::Mul, w, {x, y}));
        break;
      case 2:
        vals.push_back(k.b.op(k.body, OpKind::Add, w, {x, y}));
        break;
      default:
        vals.push_back(k.b.op(k.body, OpKind::Xor, w, {x, y}));
        break;
      }
    }
    k.close(p0, vals[vals.size() - 1]);
    k.close(p1, vals[3 + rng() % (vals.size() - 3)]);
    k.b.op(k.body, OpKind::Store, 0, {k.i, vals[vals.size() - 2]}, "", out);
    k.finish(kNone);
    const double clock = trial % 2 ? 3.0 : 5.0;
    auto s = run(k.b.g, clock);
    ASSERT_TRUE(s.ok()) << s.error().render();
    const LoopTiming &lt = s->loops[0];
    if (!lt.pipelined)
      continue;
    ++pipelined;
    EXPECT_GE(lt.ii, std::max({lt.resMII, lt.recMII, k.b.g.loops[0].requestedII}));
    EXPECT_LE(lt.ii, std::max(lt.resMII, lt.recMII) + 2) << "trial " << trial;
  }
  EXPECT_EQ(pipelined, 40);
}
