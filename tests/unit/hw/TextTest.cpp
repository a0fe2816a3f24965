//===- TextTest.cpp - hw IR text: round trips, parser errors, *-bad files --===//
#include "HwTestUtil.h"

#include "hw/Designs.h"
#include "hw/RandomDesign.h"
#include "hw/Verify.h"
#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

using namespace tessera;
using namespace tessera::hw;
using tessera::hw::test::parseOrDie;

namespace {

const std::string kDataDir = std::string(TESSERA_SOURCE_DIR) + "/tests/data/hw";

/// print -> parse -> print is byte-identical and parse(print(d)) equals d.
void expectRoundTrip(const Design &d, const std::string &what) {
  std::string text = printDesign(d);
  auto back = parseDesign(text, what + ".hw");
  ASSERT_TRUE(back.ok()) << what << ": " << back.error().render() << "\n" << text;
  EXPECT_EQ(compareDesigns(d, *back), "") << what << "\n" << text;
  EXPECT_EQ(printDesign(*back), text) << what;
}

std::vector<std::filesystem::path> dataFiles(bool bad) {
  std::vector<std::filesystem::path> files;
  for (auto &e : std::filesystem::directory_iterator(kDataDir)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() != ".hw")
      continue;
    bool isBad = name.size() > 7 && name.substr(name.size() - 7) == "-bad.hw";
    if (isBad == bad)
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(HwText, GoodFilesRoundTrip) {
  auto files = dataFiles(false);
  ASSERT_GE(files.size(), 3u);
  for (const auto &f : files) {
    SCOPED_TRACE(f.string());
    auto text = readTextFile(f.string());
    ASSERT_TRUE(text.ok());
    auto d = parseDesign(*text, f.string());
    ASSERT_TRUE(d.ok()) << d.error().render();
    DiagnosticEngine diags;
    EXPECT_TRUE(verifyDesign(*d, diags))
        << (diags.diagnostics().empty() ? "" : diags.diagnostics()[0].render());
    expectRoundTrip(*d, f.filename().string());
    // Files without a leading comment are written in printed (canonical) form.
    if (text->rfind("//", 0) != 0) {
      EXPECT_EQ(printDesign(*d), *text);
    }
  }
}

/// Every *-bad.hw file starts with `// expect: LINE:COL: error[ID]: MESSAGE`, the headline
/// of the first diagnostic from parsing or (when it parses) verifying the file.
TEST(HwText, BadFilesReportExpectedDiagnostic) {
  auto files = dataFiles(true);
  ASSERT_GE(files.size(), 20u);
  std::set<std::string> ids;
  for (const auto &f : files) {
    SCOPED_TRACE(f.string());
    auto text = readTextFile(f.string());
    ASSERT_TRUE(text.ok());
    const std::string prefix = "// expect: ";
    ASSERT_EQ(text->rfind(prefix, 0), 0u) << "missing expect line";
    std::string expect = text->substr(prefix.size(), text->find('\n') - prefix.size());
    std::string file = f.filename().string();
    auto d = parseDesign(*text, file, ParseOptions{true});
    Diagnostic got;
    if (!d.ok()) {
      got = d.error();
      EXPECT_FALSE(got.sourceLine.empty()) << "parser errors show the source line";
    } else {
      DiagnosticEngine diags;
      ASSERT_FALSE(verifyDesign(*d, diags)) << "no error found";
      got = diags.diagnostics()[0];
    }
    EXPECT_EQ(got.headline(), file + ":" + expect) << got.render();
    ids.insert(got.id);
  }
  // Every parser and verifier error a user can cause from text has a file.
  for (const char *id : {"bad-token",
                         "unexpected-token",
                         "unknown-op",
                         "undefined-value",
                         "redefined-value",
                         "bad-width",
                         "bad-constant",
                         "unknown-module",
                         "redefined-module",
                         "unknown-port",
                         "bad-port-direction",
                         "unknown-memory",
                         "unknown-instance",
                         "duplicate-connection",
                         "redefined-top",
                         "width-mismatch",
                         "undriven-output",
                         "multiple-drivers",
                         "comb-cycle",
                         "duplicate-name",
                         "bad-init",
                         "bad-memory",
                         "bad-count",
                         "unconnected-input",
                         "unconnected-operand",
                         "bad-operand-count",
                         "bad-attribute",
                         "recursive-instance"})
    EXPECT_TRUE(ids.count(id)) << "no *-bad.hw file for " << id;
}

/// A design using every op kind, flag and naming case the printer handles.
Design kitchenSink() {
  Design d;
  Module &leaf = d.addModule("leaf");
  {
    ModuleBuilder b(leaf);
    b.setLoc({"leaf.v", 1, 1});
    leaf.loc = {"leaf.v", 1, 0};
    ValueId clk = b.input("clk", 1);
    ValueId a = b.input("a", 8);
    ValueId s = b.add(a, b.constant(8, 3));
    b.setLoc({"leaf.v", 4, 0});
    ValueId r = b.reg(clk, s, "r");
    b.setLoc({});
    b.output("y", 8, b.bitXor(r, a));
    b.output("z", 8, a);
  }
  Module &top = d.addModule("top");
  ModuleBuilder b(top);
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  ValueId x = b.input("x", 70);
  ValueId y = b.input("y", 70);
  ValueId odd = b.input("odd name[3]", 4);
  std::vector<ValueId> vals;
  for (int k = 0; k < kNumOpKinds; ++k) {
    OpKind kind = static_cast<OpKind>(k);
    OpClass c = opClass(kind);
    if (c == OpClass::Binary || c == OpClass::Cmp || kind == OpKind::Shl || kind == OpKind::ShrU ||
        kind == OpKind::ShrS)
      vals.push_back(b.binary(kind, x, y));
  }
  vals.push_back(b.bitNot(x));
  vals.push_back(b.unary(OpKind::RedAnd, x));
  vals.push_back(b.unary(OpKind::RedOr, x));
  vals.push_back(b.unary(OpKind::RedXor, x));
  ValueId cond = b.eq(x, y);
  vals.push_back(b.mux(cond, x, y));
  vals.push_back(b.concat({x, odd, y}));
  vals.push_back(b.extract(x, 65, 5));
  vals.push_back(b.zext(odd, 90));
  vals.push_back(b.sext(odd, 90));
  vals.push_back(b.constant(BitVec::ones(130)));
  // Registers: every flag combination, reset and power-on values, one declared only.
  RegOptions sync;
  sync.reset = rst;
  sync.resetValue = BitVec(70, 5);
  RegOptions async = sync;
  async.asyncReset = true;
  async.enable = cond;
  async.init = BitVec::ones(70);
  RegOptions en;
  en.enable = cond;
  vals.push_back(b.reg(clk, x, "r_sync", sync));
  vals.push_back(b.reg(clk, x, "r_async", async));
  vals.push_back(b.reg(clk, x, "r_en", en));
  ValueId fb = b.regDecl(clk, 70, "feedback");
  b.setNext(fb, b.add(fb, x));
  b.regDecl(clk, 3, "unconnected");
  // Memories: with init, sync/async reads, enable, writes.
  std::vector<BitVec> init;
  for (int i = 0; i < 40; ++i)
    init.push_back(BitVec(12, uint64_t(i * 97 % 4096)));
  uint32_t rom = b.memory("rom", 12, 40, init);
  uint32_t ram = b.memory("ram", 70, 16);
  ValueId addr6 = b.extract(x, 0, 6);
  ValueId addr4 = b.extract(y, 0, 4);
  vals.push_back(b.memReadSync(rom, clk, addr6));
  vals.push_back(b.memReadSync(ram, clk, addr4, cond));
  vals.push_back(b.memReadAsync(ram, addr4));
  b.memWrite(ram, clk, addr4, x, cond);
  // Names: duplicates, odd characters, numeric-looking, "_".
  b.name(b.add(x, y), "dup");
  b.name(b.sub(x, y), "dup");
  b.name(b.mul(x, y), "3x");
  b.name(b.bitAnd(x, y), "_");
  b.name(b.bitOr(x, y), "a b\t\"q\"\\");
  b.name(b.bitXor(x, y), "dup_1");
  // Hierarchy: a single instance and an instance array.
  uint32_t u = b.instance(leaf, "u_leaf");
  b.connect(u, "clk", clk);
  b.connect(u, "a", b.extract(x, 0, 8));
  ValueId uy = b.instOutput(u, "y");
  uint32_t arr = b.instance(leaf, "u_arr", 4);
  b.connect(arr, "clk", b.concat({clk, clk, clk, clk}));
  b.connect(arr, "a", b.extract(x, 0, 32));
  ValueId ay = b.instOutput(arr, "y");
  ValueId az = b.instOutput(arr, "z");
  b.instance(leaf, "unconnected arr", 2);
  b.output("o1", 8, uy);
  b.output("o2", 32, ay);
  b.output("o3", 32, az);
  ValueId last = b.constant(70, 0);
  for (ValueId v : vals)
    last = b.bitXor(last, b.resize(v, 70));
  b.output("o4", 70, last);
  // An Input op not in canonical position and a late output port declaration.
  b.input("late", 2);
  top.ops.back().name = "late_in";
  top.loc = {"top \"quoted\".v", 0, 0};
  return d;
}

TEST(HwText, KitchenSinkRoundTrip) {
  Design d = kitchenSink();
  expectRoundTrip(d, "kitchen");
  std::string text = printDesign(d);
  EXPECT_NE(text.find("hw.module @leaf(in %clk: i1 loc(\"leaf.v\":1:1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("%r = reg %clk, %3 : i8 loc(\"leaf.v\":4)"), std::string::npos) << text;
  EXPECT_NE(text.find("reg %clk, %x reset %rst async enable %"), std::string::npos) << text;
  EXPECT_NE(text.find("value 5 init 0x3fffffffffffffffff"), std::string::npos) << text;
  EXPECT_NE(text.find("instance \"u_arr\"[4] @leaf(clk: %"), std::string::npos) << text;
  EXPECT_NE(text.find("instout \"u_arr\".z : i32"), std::string::npos) << text;
  EXPECT_NE(text.find("name \"a b\\t\\\"q\\\"\\\\\""), std::string::npos) << text;
  EXPECT_NE(text.find("%dup_1 = sub"), std::string::npos) << text;
  EXPECT_NE(text.find("%dup_1_1 = xor %x, %y : i70 name \"dup_1\""), std::string::npos) << text;
  EXPECT_NE(text.find("memory @rom : i12 x 40 init [\n    0, 97, 194,"), std::string::npos) << text;
  EXPECT_NE(text.find("in late: i2"), std::string::npos) << text;
  EXPECT_NE(text.find("%late_in = input late : i2"), std::string::npos) << text;
  EXPECT_NE(text.find("reg %clk, _ : i3"), std::string::npos) << text;
  EXPECT_NE(text.find("loc(\"top \\\"quoted\\\".v\")"), std::string::npos) << text;
  // Without locations, printing still round-trips (to a design without them).
  PrintOptions noLocs;
  noLocs.locations = false;
  std::string bare = printDesign(d, noLocs);
  EXPECT_EQ(bare.find("loc("), std::string::npos);
  auto back = parseDesign(bare, "bare.hw");
  ASSERT_TRUE(back.ok()) << back.error().render();
  EXPECT_EQ(printDesign(*back), bare);
}

TEST(HwText, DuplicateNamesUseIndexReferences) {
  Design d;
  Module &leaf = d.addModule("leaf");
  ModuleBuilder lb(leaf);
  ValueId a = lb.input("p", 4);
  lb.output("p", 4, a); // same name in and out: references use #N
  Module &top = d.addModule("top");
  ModuleBuilder b(top);
  ValueId x = b.input("x", 4);
  uint32_t m1 = b.memory("m", 4, 2);
  uint32_t m2 = b.memory("m", 4, 2);
  b.memWrite(m1, b.input("c", 1), b.extract(x, 0, 1), x, b.extract(x, 1, 1));
  ValueId r = b.memReadAsync(m2, b.extract(x, 0, 1));
  uint32_t i1 = b.instance(leaf, "u");
  uint32_t i2 = b.instance(leaf, "u");
  b.connect(i1, "p", x);
  b.connect(i2, "p", r);
  // The builder finds ports by name, so point the instance outputs at port #1 by hand.
  ValueId o1 = b.instOutput(i1, "p"), o2 = b.instOutput(i2, "p");
  top.op(o1).attr1 = top.op(o2).attr1 = 1;
  b.output("o", 4, b.bitXor(o1, o2));
  std::string text = printDesign(d);
  EXPECT_NE(text.find("output %p -> #1"), std::string::npos) << text;
  EXPECT_NE(text.find("memread #1["), std::string::npos) << text;
  EXPECT_NE(text.find("instout #1.#1"), std::string::npos) << text;
  EXPECT_NE(text.find("@leaf(#0: %x)"), std::string::npos) << text;
  expectRoundTrip(d, "dups");
}

TEST(HwText, RandomDesignsRoundTrip) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    RandomDesignOptions opts;
    opts.seed = seed;
    Design d = generateRandomDesign(opts);
    expectRoundTrip(d, "random-" + std::to_string(seed));
    DiagnosticEngine diags;
    EXPECT_TRUE(verifyDesign(d, diags))
        << "seed " << seed << ": "
        << (diags.diagnostics().empty() ? "" : diags.diagnostics()[0].render());
  }
}

TEST(HwText, GeneratedBenchmarkDesignsRoundTrip) {
  expectRoundTrip(systolicArray(4), "systolic-4");
  expectRoundTrip(controllerDesign(3), "controller-3");
}

TEST(HwText, ForwardReferencesCommentsAndNumberForms) {
  Design d = parseOrDie(R"(// leading comment
hw.module @m(in %clk: i1, in %a: i8, out o: i8, out p: i8) {
  %acc = reg %clk, %next init 0b1010 : i8   // used before %next is defined
  %next = add %acc, %a : i8
  %k = const -1 : i8
  %h = const 0xF_f : i8
  output %next -> o
  output %k -> #3
}
)");
  const Module &m = *d.modules()[0];
  ASSERT_EQ(m.ops.size(), 8u);
  EXPECT_EQ(m.ops[2].kind, OpKind::Reg);
  EXPECT_EQ(m.ops[2].operands[1], 3u);
  EXPECT_EQ(m.ops[2].init, BitVec(8, 10));
  EXPECT_EQ(m.ops[4].value, BitVec(8, 255));
  EXPECT_EQ(m.ops[5].value, BitVec(8, 255));
  EXPECT_EQ(m.ops[7].attr0, 3u);
  DiagnosticEngine diags;
  EXPECT_TRUE(verifyDesign(d, diags));
}

TEST(HwText, TextLocationsAndTheirOmission) {
  const std::string src = "hw.module @m(in %a: i4, out o: i4) {\n"
                          "  %n = not %a : i4\n"
                          "  output %n -> o loc(\"x.c\":9:2)\n"
                          "}\n";
  auto d = parseDesign(src, "t.hw", ParseOptions{true});
  ASSERT_TRUE(d.ok());
  const Module &m = *d->modules()[0];
  EXPECT_EQ(m.ops[1].loc.str(), "t.hw:2:3");
  EXPECT_EQ(m.ops[0].loc.str(), "t.hw:1:14");
  EXPECT_EQ(m.ops[2].loc.str(), "x.c:9:2");
  EXPECT_EQ(m.loc.str(), "t.hw:1:1");
  PrintOptions po;
  po.omitLocationsIn = "t.hw";
  EXPECT_EQ(printDesign(*d, po), src);
  // Without textLocations nothing is invented.
  auto plain = parseDesign(src, "t.hw");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->modules()[0]->ops[1].loc.known());
  EXPECT_EQ(printDesign(*plain), src);
}

TEST(HwText, ParserErrorsAreLocatedWithCaret) {
  auto d = parseDesign("hw.module @m(in %a: i4, out o: i4) {\n  %n = nott %a : i4\n}\n", "e.hw");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().render(), "e.hw:2:8: error[unknown-op]: unknown op 'nott'\n"
                                "    %n = nott %a : i4\n"
                                "         ^\n"
                                "note: did you mean 'not'?\n");
}

TEST(HwText, GarbageNeverCrashes) {
  // A few hand-picked nasty inputs (the fuzzer covers the rest).
  for (const char *s :
       {"", "hw.module", "hw.module @", "hw.module @m(", "hw.module @m() {", "%", "@\"",
        "hw.module @m() { %x = const 99999999999999999999999 : i1048577 }",
        "hw.module @m() { %x = const 1 : i1048576 }", "hw.module @m() { memory @q : i8 x 0 }",
        "hw.module @m(in %a: i8) { instance \"u\"[4294967295] @m(a: %a) }",
        "hw.module @m() { %a = extract %a from 4294967295 : i8 }", "\"\\x", "#", "hw.top @",
        "hw.module @m() { %x = reg %x, %x reset %x async enable %x value -0 init -1 : i3 }"}) {
    auto d = parseDesign(s, "g.hw");
    if (d.ok()) {
      DiagnosticEngine diags;
      (void)verifyDesign(*d, diags);
      (void)printDesign(*d);
    }
  }
}

} // namespace
