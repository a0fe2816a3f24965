// Cdfg: verification, printing and the reference evaluator on a hand-built loop.
#include "hls/Cdfg.h"

#include <gtest/gtest.h>

using namespace tessera;
using namespace tessera::hls;

namespace {

Node mk(OpKind k, uint32_t w, std::vector<NodeId> ops = {}, uint32_t attr = kNone,
        uint32_t attr2 = kNone) {
  Node n;
  n.kind = k;
  n.width = w;
  n.operands = std::move(ops);
  n.attr = attr;
  n.attr2 = attr2;
  return n;
}

Node cnst(uint32_t w, uint64_t v) {
  Node n = mk(OpKind::Const, w);
  n.value = v;
  return n;
}

// int sum(const int a[16], int n): s = 0; for (i = 0; i < n; ++i) s += a[i]; return s;
Cdfg sumKernel() {
  Cdfg g;
  g.name = "sum";
  g.args.push_back({"n", 32, true, {}});
  g.ret = Arg{"return", 32, true, {}};
  Memory a;
  a.name = "a";
  a.kind = MemKind::Interface;
  a.elemWidth = 32;
  a.depth = 16;
  a.readOnly = true;
  g.memories.push_back(a);
  g.blocks.resize(3);
  g.blocks[0].name = "entry";
  g.blocks[1].name = "loop";
  g.blocks[2].name = "exit";
  g.blocks[0].succs = {1, 2};
  g.blocks[1].preds = {0, 1};
  g.blocks[1].succs = {1, 2};
  g.blocks[2].preds = {0, 1};
  NodeId n = g.add(0, mk(OpKind::Arg, 32, {}, 0));
  NodeId zero = g.add(0, cnst(32, 0));
  NodeId enter = g.add(0, mk(OpKind::GtS, 1, {n, zero}));
  g.add(0, mk(OpKind::CondBr, 0, {enter}, 1, 2));
  NodeId i = g.add(1, mk(OpKind::Phi, 32, {zero, zero}));
  NodeId s = g.add(1, mk(OpKind::Phi, 32, {zero, zero}));
  NodeId x = g.add(1, mk(OpKind::Load, 32, {i}, 0));
  NodeId s2 = g.add(1, mk(OpKind::Add, 32, {s, x}));
  NodeId one = g.add(1, cnst(32, 1));
  NodeId i2 = g.add(1, mk(OpKind::Add, 32, {i, one}));
  NodeId more = g.add(1, mk(OpKind::LtS, 1, {i2, n}));
  g.add(1, mk(OpKind::CondBr, 0, {more}, 1, 2));
  g.node(i).operands[1] = i2;
  g.node(s).operands[1] = s2;
  NodeId r = g.add(2, mk(OpKind::Phi, 32, {zero, s2}));
  g.add(2, mk(OpKind::Ret, 0, {r}));
  Loop l;
  l.header = l.latch = 1;
  l.blocks = {1};
  l.exits = {2};
  g.loops.push_back(l);
  g.blocks[1].loop = 0;
  return g;
}

} // namespace

TEST(Cdfg, VerifiesAndEvaluatesALoop) {
  Cdfg g = sumKernel();
  ASSERT_TRUE(g.verify().ok()) << g.verify().error().headline();
  std::vector<std::vector<uint64_t>> mems(1);
  for (int k = 0; k < 16; ++k)
    mems[0].push_back(uint64_t(uint32_t(k * 7 - 20)));
  for (int n : {0, 1, 5, 16}) {
    auto r = evaluate(g, {uint64_t(n)}, mems);
    ASSERT_TRUE(r.ok());
    int32_t want = 0;
    for (int k = 0; k < n; ++k)
      want += k * 7 - 20;
    EXPECT_EQ(uint32_t(r->ret), uint32_t(want)) << "n = " << n;
  }
  // n = 17 reads past the array: a located out-of-bounds error, not a crash.
  auto r = evaluate(g, {17}, mems);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "out-of-bounds");
  EXPECT_NE(g.print().find("%6:u32 = load a %4"), std::string::npos) << g.print();
  EXPECT_EQ(g.reversePostOrder(), (std::vector<BlockId>{0, 1, 2}));
}

TEST(Cdfg, VerifyRejectsBrokenGraphs) {
  {
    Cdfg g = sumKernel();
    g.node(7).operands[1] = 10; // %10 is the 1-bit compare
    auto st = g.verify();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().id, "bad-cdfg");
    EXPECT_NE(st.error().message.find("operand widths"), std::string::npos) << st.error().message;
  }
  {
    Cdfg g = sumKernel();
    g.node(13).operands = {2}; // ret of a 1-bit value
    EXPECT_FALSE(g.verify().ok());
  }
  {
    Cdfg g = sumKernel();
    g.blocks[1].succs = {2}; // successors disagree with the terminator
    EXPECT_FALSE(g.verify().ok());
  }
  {
    Cdfg g = sumKernel();
    // The exit phi's value from the loop is used in the entry: does not dominate.
    g.node(2).operands[0] = 7;
    auto st = g.verify();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("dominate"), std::string::npos) << st.error().message;
  }
}

TEST(Cdfg, EvaluatesSignedAndShiftSemantics) {
  Cdfg g;
  g.name = "ops";
  g.args.push_back({"a", 8, true, {}});
  g.args.push_back({"b", 8, true, {}});
  g.ret = Arg{"return", 8, true, {}};
  g.blocks.resize(1);
  g.blocks[0].name = "entry";
  NodeId a = g.add(0, mk(OpKind::Arg, 8, {}, 0));
  NodeId b = g.add(0, mk(OpKind::Arg, 8, {}, 1));
  NodeId q = g.add(0, mk(OpKind::DivS, 8, {a, b}));
  NodeId rm = g.add(0, mk(OpKind::RemS, 8, {a, b}));
  NodeId x = g.add(0, mk(OpKind::Xor, 8, {q, rm}));
  g.add(0, mk(OpKind::Ret, 0, {x}));
  ASSERT_TRUE(g.verify().ok()) << g.verify().error().headline();
  std::vector<std::vector<uint64_t>> mems;
  auto run = [&](int a8, int b8) {
    auto r = evaluate(g, {uint64_t(uint8_t(a8)), uint64_t(uint8_t(b8))}, mems);
    EXPECT_TRUE(r.ok());
    return uint8_t(r->ret);
  };
  EXPECT_EQ(run(-7, 2), uint8_t(int8_t(-3) ^ int8_t(-1)));  // C: truncation toward zero
  EXPECT_EQ(run(-128, -1), uint8_t(-128));                  // wraps, remainder 0
  EXPECT_EQ(run(5, 0), 0);                                  // x / 0 = x % 0 = 0
}
