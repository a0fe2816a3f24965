// Value ranges, bitwidth reduction (checked by evaluation before / after), memory
// analysis and loop-carried dependences on hand-built CDFGs.
#include "hls/Analysis.h"

#include "ScheduleTestKernels.h"

#include <gtest/gtest.h>

#include <random>

using namespace tessera;
using namespace tessera::hls;
using namespace tessera::hls::skern;

namespace {

/// Runs g and the narrowed copy on `trials` random inputs and expects equal results.
void expectSameBehaviour(const Cdfg &before, const Cdfg &after, int trials, uint32_t seed) {
  std::mt19937_64 rng(seed);
  for (int t = 0; t < trials; ++t) {
    std::vector<uint64_t> args;
    for (const Arg &a : before.args) {
      uint64_t v = rng();
      if (t % 4 == 0)
        v = (t % 8 == 0) ? 0 : ~uint64_t(0); // extremes
      args.push_back(a.width >= 64 ? v : v & ((uint64_t(1) << a.width) - 1));
    }
    std::vector<std::vector<uint64_t>> m1, m2;
    for (const Memory &m : before.memories) {
      std::vector<uint64_t> data(m.depth);
      for (auto &d : data)
        d = rng() & ((uint64_t(1) << m.elemWidth) - 1);
      m1.push_back(data);
    }
    m2 = m1;
    auto r1 = evaluate(before, args, m1);
    auto r2 = evaluate(after, args, m2);
    ASSERT_TRUE(r1.ok()) << r1.error().render();
    ASSERT_TRUE(r2.ok()) << r2.error().render();
    EXPECT_EQ(r1->ret, r2->ret) << "trial " << t;
    EXPECT_EQ(m1, m2) << "trial " << t;
  }
}

/// A straight-line kernel mixing masks, products, shifts, compares and signed values.
Cdfg bitKernel() {
  Builder b("bits");
  BlockId e = b.block("entry");
  NodeId x = b.arg(e, "x", 32), y = b.arg(e, "y", 32), s = b.arg(e, "s", 32, true);
  NodeId xm = b.op(e, OpKind::And, 32, {x, b.c(e, 32, 0xff)}, "xm");
  NodeId ym = b.op(e, OpKind::And, 32, {y, b.c(e, 32, 0xf)}, "ym");
  NodeId p = b.op(e, OpKind::Mul, 32, {xm, ym}, "p"); // <= 3825: 12 bits
  NodeId q = b.op(e, OpKind::Add, 32, {p, b.c(e, 32, 7)}, "q");
  NodeId r = b.op(e, OpKind::ShrU, 32, {q, b.c(e, 32, 2)}, "r");
  NodeId lt = b.op(e, OpKind::LtU, 1, {r, b.c(e, 32, 100)}, "lt");
  NodeId sel = b.op(e, OpKind::Select, 32, {lt, r, q}, "sel");
  NodeId d = b.op(e, OpKind::DivU, 32, {sel, b.op(e, OpKind::Add, 32, {ym, b.c(e, 32, 1)})}, "d");
  // Signed: s8 = (int8_t)s, t = s8 * 3 - 5, u = t < 0 ? -t : t.
  NodeId s8 = b.op(e, OpKind::SExt, 32, {b.op(e, OpKind::Trunc, 8, {s})}, "s8");
  NodeId t =
      b.op(e, OpKind::Sub, 32, {b.op(e, OpKind::Mul, 32, {s8, b.c(e, 32, 3)}), b.c(e, 32, 5)}, "t");
  NodeId neg = b.op(e, OpKind::LtS, 1, {t, b.c(e, 32, 0)});
  NodeId u =
      b.op(e, OpKind::Select, 32, {neg, b.op(e, OpKind::Sub, 32, {b.c(e, 32, 0), t}), t}, "u");
  NodeId sh = b.op(e, OpKind::ShrS, 32, {t, b.c(e, 32, 1)}, "sh");
  // Clamp s to [-50, 100] (compare + select, as min / max reach the CDFG), and an
  // unsigned min(y, 10) written with the constant first.
  NodeId hi = b.op(e, OpKind::Select, 32,
                   {b.op(e, OpKind::GtS, 1, {s, b.c(e, 32, 100)}), b.c(e, 32, 100), s}, "hi");
  NodeId cl = b.op(
      e, OpKind::Select, 32,
      {b.op(e, OpKind::LtS, 1, {hi, b.c(e, 32, uint64_t(-50))}), b.c(e, 32, uint64_t(-50)), hi},
      "cl");
  NodeId mn = b.op(e, OpKind::Select, 32,
                   {b.op(e, OpKind::GtU, 1, {b.c(e, 32, 10), y}), y, b.c(e, 32, 10)}, "mn");
  NodeId clm = b.op(e, OpKind::Mul, 32, {cl, mn}, "clm");
  NodeId sum0 = b.op(e, OpKind::Add, 32, {b.op(e, OpKind::Add, 32, {d, u}), sh});
  NodeId sum = b.op(e, OpKind::Add, 32, {sum0, clm}, "sum");
  NodeId res = b.op(e, OpKind::Xor, 32, {sum, sel}, "res");
  b.op(e, OpKind::Ret, 0, {res});
  b.g.ret = Arg{"return", 32, false, {}};
  return b.g;
}

} // namespace

TEST(Analysis, InductionVariableRangeFromTripCount) {
  Cdfg g = dotProduct();
  ASSERT_TRUE(g.verify().ok()) << g.verify().error().render();
  std::vector<Range> r = analyseRanges(g);
  NodeId i = kNone, inext = kNone;
  for (NodeId n = 0; n < g.nodes.size(); ++n) {
    if (g.node(n).name == "i" && g.node(n).kind == OpKind::Phi)
      i = n;
    if (g.node(n).name == "i" && g.node(n).kind == OpKind::Add)
      inext = n;
  }
  ASSERT_NE(i, kNone);
  ASSERT_NE(inext, kNone);
  EXPECT_EQ(r[i].ulo, 0u);
  EXPECT_EQ(r[i].uhi, 15u);
  auto ivs = findInductionVars(g);
  ASSERT_EQ(ivs.size(), 1u);
  EXPECT_EQ(ivs[0].phi, i);
  EXPECT_EQ(ivs[0].step, 1);
  EXPECT_EQ(ivs[0].update, inext);
  EXPECT_EQ(r[inext].uhi, 16u);
  EXPECT_EQ(r[inext].ulo, 1u);
  // The accumulator is not bounded: full range.
  for (NodeId n = 0; n < g.nodes.size(); ++n) {
    if (g.node(n).name == "acc" && g.node(n).kind == OpKind::Phi) {
      EXPECT_EQ(r[n].uhi, 0xffffffffu);
    }
  }
}

TEST(Analysis, RangesOfStraightLineCode) {
  Cdfg g = bitKernel();
  ASSERT_TRUE(g.verify().ok()) << g.verify().error().render();
  std::vector<Range> r = analyseRanges(g);
  auto byName = [&](const std::string &name) {
    for (NodeId n = 0; n < g.nodes.size(); ++n)
      if (g.node(n).name == name)
        return n;
    return kNone;
  };
  EXPECT_EQ(r[byName("p")].uhi, 255u * 15u);
  EXPECT_EQ(r[byName("q")].uhi, 255u * 15u + 7u);
  EXPECT_EQ(r[byName("r")].uhi, (255u * 15u + 7u) >> 2);
  EXPECT_EQ(r[byName("s8")].slo, -128);
  EXPECT_EQ(r[byName("s8")].shi, 127);
  EXPECT_EQ(r[byName("t")].slo, -128 * 3 - 5);
  EXPECT_EQ(r[byName("t")].shi, 127 * 3 - 5);
  EXPECT_EQ(r[byName("t")].signedBits(), 10u);
  EXPECT_EQ(r[byName("hi")].shi, 100);
  EXPECT_EQ(r[byName("hi")].slo, INT32_MIN);
  EXPECT_EQ(r[byName("cl")].slo, -50);
  EXPECT_EQ(r[byName("cl")].shi, 100);
  EXPECT_EQ(r[byName("mn")].uhi, 10u);
  EXPECT_EQ(r[byName("clm")].slo, -500);
  EXPECT_EQ(r[byName("clm")].shi, 1000);
}

TEST(Analysis, NarrowWidthsKeepsSemantics) {
  Cdfg before = bitKernel();
  Cdfg after = before;
  NarrowStats st = narrowWidths(after);
  ASSERT_TRUE(after.verify().ok()) << after.verify().error().render() << after.print();
  EXPECT_GE(st.nodesNarrowed, 8u);
  EXPECT_LT(st.bitsAfter, st.bitsBefore);
  // The 12-bit product really is computed at 12 bits.
  for (NodeId n = 0; n < before.nodes.size(); ++n) {
    if (before.node(n).name == "p") {
      EXPECT_EQ(after.node(n).width, 12u);
    }
  }
  expectSameBehaviour(before, after, 400, 1);
  // Idempotent: a second run finds nothing left to do.
  Cdfg again = after;
  EXPECT_EQ(narrowWidths(again).nodesNarrowed, 0u);
}

TEST(Analysis, NarrowWidthsOnLoops) {
  Cdfg before = dotProduct();
  Cdfg after = before;
  NarrowStats st = narrowWidths(after);
  ASSERT_TRUE(after.verify().ok()) << after.verify().error().render() << after.print();
  EXPECT_GE(st.nodesNarrowed, 2u); // i, i + 1, the exit compare
  for (NodeId n = 0; n < before.nodes.size(); ++n) {
    // The phi holds 0..15 but merges i + 1 (up to 16, the exit value): 5 bits.
    const Node &x = before.node(n);
    uint32_t want = x.name == "acc" ? 32u : 5u;
    if ((x.name == "i" && (x.kind == OpKind::Phi || x.kind == OpKind::Add)) || x.name == "acc") {
      EXPECT_EQ(after.node(n).width, want) << n;
    }
  }
  expectSameBehaviour(before, after, 50, 2);
}

TEST(Analysis, AffineIndicesAndCyclicBanks) {
  // for i < 8: a[2i] + a[2i+1], a partitioned cyclic 2; b[3i + 5]; c[i] block-partitioned.
  LoopKernel k("banks", 8, 1);
  MemId a = k.b.array("a", 32, 16), bm = k.b.array("b", 32, 32), cm = k.b.array("c", 32, 8);
  k.b.g.memories[a].partition = Partition::Cyclic;
  k.b.g.memories[a].partitionFactor = 2;
  k.b.g.memories[cm].partition = Partition::Block;
  k.b.g.memories[cm].partitionFactor = 2;
  NodeId two = k.b.c(k.body, 32, 2), one = k.b.c(k.body, 32, 1);
  NodeId i2 = k.b.op(k.body, OpKind::Mul, 32, {k.i, two});
  NodeId i21 = k.b.op(k.body, OpKind::Add, 32, {i2, one});
  NodeId l0 = k.b.op(k.body, OpKind::Load, 32, {i2}, "", a);
  NodeId l1 = k.b.op(k.body, OpKind::Load, 32, {i21}, "", a);
  NodeId i3 =
      k.b.op(k.body, OpKind::Add, 32, {k.b.op(k.body, OpKind::Shl, 32, {k.i, one}), k.i}); // 3i
  NodeId l2 = k.b.op(k.body, OpKind::Load, 32,
                     {k.b.op(k.body, OpKind::Add, 32, {i3, k.b.c(k.body, 32, 5)})}, "", bm);
  NodeId l3 = k.b.op(k.body, OpKind::Load, 32, {k.i}, "", cm);
  NodeId s = k.b.op(
      k.body, OpKind::Add, 32,
      {k.b.op(k.body, OpKind::Add, 32, {l0, l1}), k.b.op(k.body, OpKind::Add, 32, {l2, l3})});
  k.b.op(k.body, OpKind::Store, 0, {k.i, s}, "", bm);
  k.finish(kNone);
  Cdfg &g = k.b.g;
  ASSERT_TRUE(g.verify().ok()) << g.verify().error().render();
  std::vector<Range> r = analyseRanges(g);
  auto mems = analyseMemories(g, &r);
  ASSERT_EQ(mems.size(), 3u);
  ASSERT_EQ(mems[a].accesses.size(), 2u);
  EXPECT_EQ(mems[a].banks, 2u);
  EXPECT_EQ(mems[a].accesses[0].node, l0);
  EXPECT_EQ(mems[a].accesses[0].index, (AffineIndex{0, {{k.i, 2}}}));
  EXPECT_EQ(mems[a].accesses[1].index, (AffineIndex{1, {{k.i, 2}}}));
  EXPECT_EQ(mems[a].accesses[0].bank, std::optional<uint32_t>(0));
  EXPECT_EQ(mems[a].accesses[1].bank, std::optional<uint32_t>(1));
  EXPECT_EQ(mems[bm].accesses[0].index, (AffineIndex{5, {{k.i, 3}}}));
  EXPECT_TRUE(mems[bm].accesses[1].isStore);
  // c[i] with i in [0, 7] spans both blocks of 4: no static bank.
  EXPECT_FALSE(mems[cm].accesses[0].bank.has_value());
  EXPECT_FALSE(mayAliasSameIteration(mems[a].accesses[0], mems[a].accesses[1]));
  EXPECT_TRUE(mayAliasSameIteration(mems[bm].accesses[0], mems[bm].accesses[1]));
  (void)l2;
  (void)l3;
}

TEST(Analysis, LoopCarriedMemoryDistances) {
  // a[i + 2] = a[i] + 1: the store feeds the load two iterations later.
  LoopKernel k("carry", 16, 1);
  MemId a = k.b.array("a", 32, 32);
  NodeId ld = k.b.op(k.body, OpKind::Load, 32, {k.i}, "", a);
  NodeId v = k.b.op(k.body, OpKind::Add, 32, {ld, k.b.c(k.body, 32, 1)});
  NodeId st = k.b.op(k.body, OpKind::Store, 0,
                     {k.b.op(k.body, OpKind::Add, 32, {k.i, k.b.c(k.body, 32, 2)}), v}, "", a);
  k.finish(kNone);
  auto deps = loopCarriedDeps(k.b.g, k.loop);
  bool found = false;
  for (const LoopDep &d : deps) {
    if (d.kind != LoopDep::Memory)
      continue;
    EXPECT_FALSE(d.from == ld && d.to == st) << "a load never precedes a later store here";
    if (d.from == st && d.to == ld) {
      EXPECT_EQ(d.distance, 2u);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(Analysis, RecurrencesThroughPhiChains) {
  // prev2 = prev1; prev1 = x: users of prev2 depend on x two iterations back.
  LoopKernel k("chain", 16, 1);
  MemId a = k.b.array("a", 32, 16);
  NodeId z = k.b.c(k.entry, 32, 0);
  NodeId p1 = k.phi(z, "prev1", 32);
  NodeId p2 = k.phi(z, "prev2", 32);
  NodeId x = k.b.op(k.body, OpKind::Load, 32, {k.i}, "x", a);
  NodeId use = k.b.op(k.body, OpKind::Add, 32, {p2, x}, "y");
  k.close(p1, x);
  k.close(p2, p1);
  k.finish(use);
  ASSERT_TRUE(k.b.g.verify().ok()) << k.b.g.verify().error().render();
  auto deps = loopCarriedDeps(k.b.g, k.loop);
  bool found = false;
  for (const LoopDep &d : deps)
    if (d.kind == LoopDep::Register && d.to == use && d.from == x) {
      EXPECT_EQ(d.distance, 2u);
      EXPECT_EQ(d.phi, p2);
      found = true;
    }
  EXPECT_TRUE(found);
}

TEST(Analysis, ForwardMemoryValues) {
  Builder b("fwd");
  BlockId e = b.block("entry");
  MemId a = b.array("a", 16, 8), bm = b.array("b", 16, 8);
  NodeId i = b.op(e, OpKind::And, 32, {b.arg(e, "i", 32), b.c(e, 32, 3)});
  NodeId k = b.op(e, OpKind::And, 32, {b.arg(e, "k", 32), b.c(e, 32, 7)});
  NodeId x = b.op(e, OpKind::Trunc, 16, {b.arg(e, "x", 32)});
  b.op(e, OpKind::Store, 0, {i, x}, "", a);
  NodeId l1 = b.op(e, OpKind::Load, 16, {i}, "", a); // = x (store-to-load)
  NodeId l2 = b.op(e, OpKind::Load, 16, {i}, "", bm);
  NodeId i2 = b.op(e, OpKind::Add, 32, {i, b.c(e, 32, 0)}); // same affine index as i
  NodeId l3 = b.op(e, OpKind::Load, 16, {i2}, "", bm);      // = l2
  b.op(e, OpKind::Store, 0, {b.op(e, OpKind::Add, 32, {i, b.c(e, 32, 1)}), l1}, "", bm);
  NodeId l4 = b.op(e, OpKind::Load, 16, {i}, "", bm); // still l2: b[i+1] != b[i]
  b.op(e, OpKind::Store, 0, {k, l3}, "", bm);
  NodeId l5 = b.op(e, OpKind::Load, 16, {i}, "", bm); // b[k] may be b[i]: kept
  NodeId s = b.op(e, OpKind::Add, 16,
                  {b.op(e, OpKind::Add, 16, {l1, l3}), b.op(e, OpKind::Add, 16, {l4, l5})});
  b.op(e, OpKind::Ret, 0, {s});
  b.g.ret = Arg{"return", 16, false, {}};
  ASSERT_TRUE(b.g.verify().ok()) << b.g.verify().error().render();
  Cdfg after = b.g;
  EXPECT_EQ(forwardMemoryValues(after), 3u);
  ASSERT_TRUE(after.verify().ok()) << after.verify().error().render();
  EXPECT_EQ(after.node(l1).kind, OpKind::ZExt);
  EXPECT_EQ(after.node(l1).operands[0], x);
  EXPECT_EQ(after.node(l3).operands[0], l2);
  EXPECT_EQ(after.node(l4).operands[0], l2);
  EXPECT_EQ(after.node(l5).kind, OpKind::Load);
  EXPECT_EQ(after.node(l2).kind, OpKind::Load);
  expectSameBehaviour(b.g, after, 200, 4);
}
