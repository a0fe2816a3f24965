//===- VerifyTest.cpp - verifier checks reachable only through the API, cycles ===//
#include "HwTestUtil.h"

#include "hw/Verify.h"

#include <gtest/gtest.h>

using namespace tessera;
using namespace tessera::hw;
using tessera::hw::test::parseOrDie;

namespace {

std::vector<std::string> ids(const DiagnosticEngine &diags) {
  std::vector<std::string> r;
  for (const Diagnostic &d : diags.diagnostics())
    r.push_back(d.id);
  return r;
}

std::vector<std::string> verifyIds(const Design &d) {
  DiagnosticEngine diags;
  verifyDesign(d, diags);
  return ids(diags);
}

TEST(HwVerify, GoodDesignPasses) {
  Design d = parseOrDie(R"(hw.module @m(in %clk: i1, in %a: i8, out o: i8) {
  %r = reg %clk, %n : i8
  %n = add %r, %a : i8
  output %r -> o
}
)");
  EXPECT_EQ(verifyIds(d), std::vector<std::string>{});
}

TEST(HwVerify, ApiOnlyErrors) {
  Design d;
  Module &leaf = d.addModule("leaf");
  ModuleBuilder lb(leaf);
  lb.output("o", 4, lb.input("a", 4));
  Module &m = d.addModule("m");
  ModuleBuilder b(m);
  ValueId a = b.input("a", 4);
  ValueId clk = b.input("clk", 1);
  b.output("o", 4, a);
  m.ports.push_back(Port{"wide", PortDir::In, 0, {}});
  // An instance of a module that is not there, and one with the wrong slot count.
  m.instances.push_back(Instance{"ghost", "nothere", 1, {}, {}});
  m.instances.push_back(Instance{"short", "leaf", 1, {a}, {}});
  // A register with an asynchronous reset flag but no reset, and a bad reset value.
  ValueId r = b.reg(clk, a, "r");
  m.op(r).flags |= kRegAsyncReset;
  m.op(r).value = BitVec(5, 0);
  // An async read with an enable flag; a read of a memory that does not exist.
  uint32_t mem = b.memory("mem", 4, 4);
  ValueId rd = b.memReadAsync(mem, b.extract(a, 0, 2));
  m.op(rd).flags |= kMemReadHasEnable;
  ValueId bad = b.memReadAsync(mem, b.extract(a, 0, 2));
  m.op(bad).attr0 = 7;
  // An operand that is not a value (an output op has no result).
  ValueId use = b.bitNot(a);
  m.op(use).operands[0] = static_cast<ValueId>(m.ops.size() + 5);
  auto got = verifyIds(d);
  for (const char *id : {"bad-width", "unknown-module", "bad-connection", "bad-attribute",
                         "width-mismatch", "undefined-value"})
    EXPECT_NE(std::find(got.begin(), got.end(), id), got.end()) << id;
}

TEST(HwVerify, CycleReportNamesPathWithLocations) {
  auto parsed = parseDesign(R"(hw.module @m(in %a: i8, out o: i8) {
  %x = add %a, %z : i8
  %y = xor %x, %a : i8 loc("src.c":7:3)
  %z = not %y : i8
  %w = not %w : i8
  output %z -> o
}
)",
                            "cyc.hw", ParseOptions{true});
  ASSERT_TRUE(parsed.ok());
  DiagnosticEngine diags;
  EXPECT_FALSE(verifyDesign(*parsed, diags));
  ASSERT_EQ(diags.diagnostics().size(), 2u);
  const Diagnostic &d = diags.diagnostics()[0];
  EXPECT_EQ(d.headline(),
            "cyc.hw:2:3: error[comb-cycle]: combinational cycle %x -> %y -> %z -> %x in "
            "module 'm'");
  ASSERT_EQ(d.notes.size(), 3u);
  EXPECT_EQ(d.notes[1].headline(), "src.c:7:3: note: %y (xor)");
  EXPECT_EQ(diags.diagnostics()[1].message, "combinational cycle %w -> %w in module 'm'");
}

TEST(HwVerify, PortDepsThroughHierarchyAndArrays) {
  Design d = parseOrDie(R"(hw.module @pe(in %clk: i1, in %a: i8, in %b: i8, out o: i8, out q: i8) {
  %s = add %a, %b : i8
  %r = reg %clk, %s : i8
  output %s -> o
  output %r -> q
}

hw.module @top(in %clk: i1, in %x: i32, in %y: i32, out o: i32, out q: i32) {
  instance "u"[4] @pe(clk: %clk4, a: %x, b: %fb)
  %clk4 = concat %clk, %clk, %clk, %clk : i4
  %uo = instout "u".o : i32
  %uq = instout "u".q : i32
  %fb = xor %uq, %y : i32
  output %uo -> o
  output %uq -> q
}
)");
  DiagnosticEngine diags;
  EXPECT_TRUE(verifyDesign(d, diags)) << diags.diagnostics()[0].render();
  // pe: o depends on a and b; q on nothing.
  auto pe = combinationalPortDeps(*d.find("pe"), d);
  EXPECT_EQ(pe[3], (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(pe[4].empty());
  // top: o depends on x and y (through the array's b input); q on nothing.
  auto top = combinationalPortDeps(*d.find("top"), d);
  EXPECT_EQ(top[3], (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(top[4].empty());
  // Feeding the array's combinational output back into its input is a cycle (the array
  // is one node).
  Module &t = *d.find("top");
  ValueId uo = kNoValue;
  for (ValueId v = 0; v < t.ops.size(); ++v)
    if (t.ops[v].name == "uo")
      uo = v;
  for (Op &o : t.ops)
    if (o.name == "fb")
      o.operands[0] = uo;
  auto got = verifyIds(d);
  EXPECT_EQ(got, std::vector<std::string>{"comb-cycle"});
}

TEST(HwVerify, AsyncResetIsCombinational) {
  Design d = parseOrDie(R"(hw.module @m(in %clk: i1, in %rst: i1, in %a: i4, out o: i4) {
  %r = reg %clk, %a reset %rst async : i4
  output %r -> o
}
)");
  EXPECT_EQ(combinationalPortDeps(*d.modules()[0], d)[3], (std::vector<uint32_t>{1}));
}

TEST(HwVerify, ManyErrorsAreAllReported) {
  Design d = parseOrDie(R"(hw.module @m(in %a: i8, in %b: i4, out o: i8, out p: i8) {
  %x = add %a, %b : i8
  %y = mux %a, %a, %a : i8
  %z = extract %a from 9 : i1
  output %x -> o
}
)");
  auto got = verifyIds(d);
  EXPECT_EQ(got, (std::vector<std::string>{"undriven-output", "width-mismatch", "width-mismatch",
                                           "bad-attribute"}));
}

} // namespace
