//===- PassesTest.cpp - const-fold, dce, cse and the pass manager -----------===//
#include "HwTestUtil.h"

#include "hw/Passes.h"
#include "hw/RandomDesign.h"
#include "hw/Verify.h"

#include <gtest/gtest.h>

using namespace tessera;
using namespace tessera::hw;
using tessera::hw::test::compareBehaviour;
using tessera::hw::test::parseOrDie;

namespace {

size_t countKind(const Module &m, OpKind k) {
  size_t n = 0;
  for (const Op &o : m.ops)
    n += o.kind == k;
  return n;
}

/// The op driving output port `name`.
const Op &driver(const Module &m, std::string_view name) {
  ValueId out = m.outputOp(static_cast<uint32_t>(m.findPort(name)));
  return m.ops[m.ops[out].operands[0]];
}

bool runDefault(Design &d) {
  PassManager pm;
  pm.addDefaultPipeline();
  DiagnosticEngine diags;
  bool ok = pm.run(d, diags);
  EXPECT_TRUE(ok) << (diags.diagnostics().empty() ? "" : diags.diagnostics()[0].render());
  return ok;
}

TEST(HwPasses, FoldEvaluatesConstantsOfEveryKind) {
  // Every binary op on constants of width 70, against evaluate() directly.
  std::string text = "hw.module @m(";
  std::string body;
  int outs = 0;
  for (int k = 0; k < kNumOpKinds; ++k) {
    OpKind kind = static_cast<OpKind>(k);
    OpClass c = opClass(kind);
    bool shift = kind == OpKind::Shl || kind == OpKind::ShrU || kind == OpKind::ShrS;
    if (c != OpClass::Binary && c != OpClass::Cmp && !shift)
      continue;
    uint32_t w = c == OpClass::Cmp ? 1 : 70;
    std::string n = std::to_string(outs++);
    text += std::string(outs > 1 ? ", " : "") + "out o" + n + ": i" + std::to_string(w);
    body += "  %r" + n + " = " + std::string(mnemonic(kind)) + " %ka, %kb : i" + std::to_string(w) +
            "\n  output %r" + n + " -> o" + n + "\n";
  }
  text +=
      ") {\n  %ka = const 0x3f0123456789abcdef : i70\n  %kb = const 0x21 : i70\n" + body + "}\n";
  Design d = parseOrDie(text);
  Design ref = parseOrDie(text);
  ASSERT_TRUE(runDefault(d));
  const Module &m = *d.modules()[0];
  const Module &r = *ref.modules()[0];
  BitVec a = r.ops[0].value, b = r.ops[1].value;
  for (int i = 0; i < outs; ++i) {
    std::string port = "o" + std::to_string(i);
    const Op &got = driver(m, port);
    ASSERT_EQ(got.kind, OpKind::Const) << port;
    const Op &orig = driver(r, port);
    std::vector<BitVec> args{a, b};
    EXPECT_EQ(got.value, evaluate(orig, args)) << mnemonic(orig.kind);
  }
  // Only the folded constants (merged by cse where equal) and the outputs are left.
  EXPECT_LE(countKind(m, OpKind::Const), size_t(outs));
  EXPECT_EQ(countKind(m, OpKind::Const) + countKind(m, OpKind::Output), m.ops.size());
}

TEST(HwPasses, FoldIdentities) {
  Design d = parseOrDie(
      R"(hw.module @m(in %x: i8, in %c: i1, in %y: i16, out o0: i8, out o1: i8, out o2: i8, out o3: i8, out o4: i8, out o5: i8, out o6: i8, out o7: i8, out o8: i4, out o9: i8, out o10: i16, out o11: i8) {
  %z = const 0 : i8
  %one = const 1 : i8
  %t = const 1 : i1
  %a0 = add %x, %z : i8
  %a1 = mul %one, %x : i8
  %a2 = mul %x, %z : i8
  %a3 = and %x, %z : i8
  %a4 = or %z, %x : i8
  %a5 = xor %x, %z : i8
  %a6 = mux %t, %x, %z : i8
  %a7 = mux %c, %x, %x : i8
  %e1 = extract %y from 4 : i12
  %a8 = extract %e1 from 2 : i4
  %cat = concat %x, %x2 : i16
  %x2 = not %x : i8
  %a9 = extract %cat from 8 : i8
  %k = const 5 : i8
  %a10 = zext %k : i16
  %a11 = extract %cat from 0 : i8
  output %a0 -> o0
  output %a1 -> o1
  output %a2 -> o2
  output %a3 -> o3
  output %a4 -> o4
  output %a5 -> o5
  output %a6 -> o6
  output %a7 -> o7
  output %a8 -> o8
  output %a9 -> o9
  output %a10 -> o10
  output %a11 -> o11
}
)");
  Design before = parseOrDie(printDesign(d));
  ASSERT_TRUE(runDefault(d));
  const Module &m = *d.modules()[0];
  for (const char *p : {"o0", "o1", "o4", "o5", "o6", "o7", "o9"})
    EXPECT_EQ(driver(m, p).kind, OpKind::Input) << p;
  for (const char *p : {"o2", "o3"})
    EXPECT_EQ(driver(m, p).value, BitVec(8, 0)) << p;
  EXPECT_EQ(driver(m, "o8").kind, OpKind::Extract);
  EXPECT_EQ(driver(m, "o8").attr0, 6u); // extract of extract: one extract of %y
  EXPECT_EQ(m.ops[driver(m, "o8").operands[0]].name, "y");
  EXPECT_EQ(driver(m, "o10").value, BitVec(16, 5));
  EXPECT_EQ(driver(m, "o11").kind, OpKind::Not);
  EXPECT_EQ(compareBehaviour(*before.modules()[0], m, 50, 1), "");
}

TEST(HwPasses, DeadCodeRemovesUnobservableStateAndCounts) {
  Design d = parseOrDie(R"(hw.module @m(in %clk: i1, in %a: i8, out o: i8) {
  %self = reg %clk, %inc : i8
  %one = const 1 : i8
  %inc = add %self, %one : i8
  memory @wo : i8 x 4
  %adr = extract %a from 0 : i2
  memwrite @wo[%adr] = %a clock %clk enable %en
  %en = redor %a : i1
  memory @rw : i8 x 4
  memwrite @rw[%adr] = %a clock %clk enable %en
  %rd = memread @rw[%adr] clock %clk : i8
  %unused = mul %a, %a : i8
  %live = reg %clk, %rd : i8
  output %live -> o
}
)");
  ASSERT_TRUE(eliminateDeadCode(*d.modules()[0]));
  const Module &m = *d.modules()[0];
  // Left: clk, a, adr, memwrite rw, en, memread, live, output.
  EXPECT_EQ(m.ops.size(), 8u) << printDesign(d);
  ASSERT_EQ(m.memories.size(), 1u);
  EXPECT_EQ(m.memories[0].name, "rw");
  EXPECT_EQ(countKind(m, OpKind::MemWrite), 1u);
  EXPECT_EQ(countKind(m, OpKind::Reg), 1u);
  DiagnosticEngine diags;
  EXPECT_TRUE(verifyDesign(d, diags));
  EXPECT_FALSE(eliminateDeadCode(*d.modules()[0])); // fixed point
}

TEST(HwPasses, CommonSubexpressionsMergeIncludingCommutedOperands) {
  Design d = parseOrDie(R"(hw.module @m(in %a: i8, in %b: i8, out o: i8, out p: i8, out q: i1) {
  %s1 = add %a, %b : i8
  %s2 = add %b, %a : i8
  %d1 = sub %a, %b : i8
  %d2 = sub %b, %a : i8
  %k1 = const 3 : i8
  %k2 = const 3 : i8
  %m1 = mul %s1, %k1 : i8
  %m2 = mul %s2, %k2 : i8
  %x = xor %m1, %m2 : i8
  %y = xor %d1, %d2 : i8
  %e = eq %m1, %m2 : i1
  output %x -> o
  output %y -> p
  output %e -> q
}
)");
  Module &m = *d.modules()[0];
  ASSERT_TRUE(eliminateCommonSubexpressions(m));
  ASSERT_TRUE(eliminateDeadCode(m));
  // s2, k2, m2 merged; d1/d2 differ.
  EXPECT_EQ(countKind(m, OpKind::Add), 1u);
  EXPECT_EQ(countKind(m, OpKind::Sub), 2u);
  EXPECT_EQ(countKind(m, OpKind::Mul), 1u);
  EXPECT_EQ(countKind(m, OpKind::Const), 1u);
  EXPECT_FALSE(eliminateCommonSubexpressions(m));
  // Folding then sees xor x, x and eq x, x.
  ASSERT_TRUE(runDefault(d));
  EXPECT_EQ(driver(*d.modules()[0], "o").value, BitVec(8, 0));
  EXPECT_EQ(driver(*d.modules()[0], "q").value, BitVec(1, 1));
}

TEST(HwPasses, DefaultPipelineKeepsBehaviourOnRandomDesigns) {
  size_t before = 0, after = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    RandomDesignOptions opts;
    opts.seed = seed;
    opts.hierarchy = false;
    Design d = generateRandomDesign(opts);
    Design ref = parseOrDie(printDesign(d));
    for (auto &m : d.modules())
      before += m->ops.size();
    ASSERT_TRUE(runDefault(d)) << "seed " << seed;
    for (auto &m : d.modules())
      after += m->ops.size();
    const Module *top = d.top();
    ASSERT_TRUE(top);
    EXPECT_EQ(compareBehaviour(*ref.find(top->name()), *top, 40, seed), "") << "seed " << seed;
  }
  EXPECT_LT(after, before);
}

TEST(HwPasses, PassManagerNamesThePassThatBrokeTheIR) {
  Design d = parseOrDie(R"(hw.module @m(in %a: i8, out o: i8) {
  %n = not %a : i8
  output %n -> o
}
)");
  PassManager pm;
  pm.add({"const-fold", foldConstants});
  pm.add({"break-widths", [](Module &m) {
            m.ops[1].width = 9;
            return true;
          }});
  DiagnosticEngine diags;
  EXPECT_FALSE(pm.run(d, diags));
  ASSERT_EQ(diags.diagnostics().size(), 1u);
  const Diagnostic &e = diags.diagnostics()[0];
  EXPECT_EQ(e.id, "pass-broke-ir");
  EXPECT_EQ(e.message, "the IR is not valid after pass 'break-widths'");
  ASSERT_FALSE(e.notes.empty());
  EXPECT_EQ(e.notes[0].id, "width-mismatch");
}

TEST(HwPasses, PassManagerRejectsInvalidInput) {
  Design d = parseOrDie(R"(hw.module @m(in %a: i8, out o: i4) {
  output %a -> o
}
)");
  PassManager pm;
  pm.addDefaultPipeline();
  DiagnosticEngine diags;
  EXPECT_FALSE(pm.run(d, diags));
  ASSERT_FALSE(diags.diagnostics().empty());
  EXPECT_EQ(diags.diagnostics()[0].id, "width-mismatch");
}

} // namespace
