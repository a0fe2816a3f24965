//===- EmitTest.cpp - Verilog emitter: lint, synthesis, semantics, golden ---===//
//
// Hand-built designs covering every op kind, wide values, memories, registers with every
// reset/enable combination and instance arrays are emitted and must pass
// `verilator --lint-only -Wall` with no message at all and synthesize in Yosys. The
// expressions are also simulated in Icarus Verilog against hw::evaluate, and one small
// design is compared with a golden file (regenerate with UPDATE_GOLDEN=1).
//
//===----------------------------------------------------------------------===//
#include "ToolRunner.h"

#include "hw/Designs.h"
#include "hw/RandomDesign.h"
#include "hw/Semantics.h"
#include "hw/Text.h"
#include "hw/Verify.h"
#include "support/FileIO.h"
#include "verilog/Verilog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>

using namespace tessera;
using namespace tessera::hw;
using namespace tessera::verilog;
using namespace tessera::verilog::test;

namespace {

/// The Verilog name of the design's top module.
std::string legalTop(const Design &d) {
  std::string s = d.top()->name();
  for (char &c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      c = '_';
  return s;
}

std::string emitOk(const Design &d) {
  auto v = emitVerilog(d);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().render());
  return v.ok() ? *v : "";
}

/// Lints and synthesizes; returns the Verilog for further checks.
std::string checkClean(const Design &d, const std::string &top, const std::string &tag,
                       bool coarseSynth = false) {
  std::string text = emitOk(d);
  TempDir dir(tag);
  std::string file = dir.write(top + ".v", text);
  if (std::getenv("TESSERA_DUMP_VERILOG"))
    std::cerr << text;
  ToolResult lint = verilatorLint(file, top);
  EXPECT_EQ(lint.rc, 0) << lint.output << "\n" << text;
  EXPECT_EQ(lint.output, "") << text;
  ToolResult synth = yosysSynth(file, top, coarseSynth);
  EXPECT_EQ(synth.rc, 0) << synth.output << "\n" << text;
  return text;
}

const OpKind kBinaryKinds[] = {OpKind::Add,  OpKind::Sub,  OpKind::Mul, OpKind::DivU, OpKind::DivS,
                               OpKind::RemU, OpKind::RemS, OpKind::And, OpKind::Or,   OpKind::Xor};
const OpKind kCmpKinds[] = {OpKind::Eq,  OpKind::Ne,  OpKind::LtU, OpKind::LtS, OpKind::LeU,
                            OpKind::LeS, OpKind::GtU, OpKind::GtS, OpKind::GeU, OpKind::GeS};
const OpKind kShiftKinds[] = {OpKind::Shl, OpKind::ShrU, OpKind::ShrS};

/// A combinational module: inputs a, b (width w), s (shift amount, width sw), c (1 bit);
/// one output per op, each op reading the inputs directly.
void buildAllOps(Design &d, const std::string &name, uint32_t w, uint32_t sw) {
  Module &m = d.addModule(name);
  ModuleBuilder b(m);
  ValueId a = b.input("a", w), bb = b.input("b", w), s = b.input("s", sw), c = b.input("c", 1);
  int n = 0;
  auto out = [&](ValueId v) { b.output("y" + std::to_string(n++), m.width(v), v); };
  for (OpKind k : kBinaryKinds)
    out(b.binary(k, a, bb));
  for (OpKind k : kCmpKinds)
    out(b.binary(k, a, bb));
  for (OpKind k : kShiftKinds)
    out(b.binary(k, a, s));
  out(b.bitNot(a));
  out(b.unary(OpKind::RedAnd, a));
  out(b.unary(OpKind::RedOr, a));
  out(b.unary(OpKind::RedXor, a));
  out(b.mux(c, a, bb));
  out(b.concat({a, c, bb}));
  out(b.extract(a, 1, w - 2));
  out(b.extract(bb, w - 1, 1));
  out(b.zext(a, w + 5));
  out(b.sext(a, w + 5));
  out(b.sext(c, 7));
  // Constants in every position: literal operands, folded part-selects.
  out(b.add(a, b.constant(w, 3)));
  out(b.binary(OpKind::DivU, a, b.constant(w, 0)));
  out(b.binary(OpKind::RemS, a, b.constant(w, 5)));
  out(b.extract(b.constant(BitVec::ones(w)), 2, 3));
  out(b.sext(b.constant(w, 1ull << (w > 64 ? 63 : w - 1)), w + 3));
}

TEST(VerilogEmit, EveryOpKindLintsAndSynthesizes) {
  Design d;
  buildAllOps(d, "ops8", 8, 3);
  checkClean(d, "ops8", "ops8");
}

TEST(VerilogEmit, WideValuesLintAndSynthesize) {
  Design d;
  buildAllOps(d, "ops100", 100, 70);
  checkClean(d, "ops100", "ops100", /*coarseSynth=*/true);
}

TEST(VerilogEmit, NamesAreLegalUniqueAndKept) {
  Design d;
  Module &m = d.addModule("module");
  ModuleBuilder b(m);
  ValueId a = b.input("reg", 4), x = b.input("a.b", 4);
  ValueId s1 = b.name(b.add(a, x), "sum");
  ValueId s2 = b.name(b.sub(a, x), "sum");
  ValueId k = b.name(b.bitXor(s1, s2), "1st");
  ValueId o = b.name(b.bitAnd(k, a), "out");
  b.output("out", 4, o);
  b.output("wire", 4, b.bitOr(s1, x));
  std::string v = checkClean(d, "module_", "names");
  EXPECT_NE(v.find("module module_ ("), std::string::npos) << v;
  EXPECT_NE(v.find("input wire [3:0] reg_,"), std::string::npos) << v;
  EXPECT_NE(v.find("input wire [3:0] a_b,"), std::string::npos) << v;
  EXPECT_NE(v.find("wire [3:0] sum = reg_ + a_b;"), std::string::npos) << v;
  EXPECT_NE(v.find("wire [3:0] sum_1 = reg_ - a_b;"), std::string::npos) << v;
  EXPECT_NE(v.find("wire [3:0] _1st = sum ^ sum_1;"), std::string::npos) << v;
  // A value named like the output port it drives is the port.
  EXPECT_NE(v.find("assign out = _1st & reg_;"), std::string::npos) << v;
  EXPECT_NE(v.find("assign wire_ = _"), std::string::npos) << v;
  EXPECT_EQ(verilogPortNames(m), (std::vector<std::string>{"reg_", "a_b", "out", "wire_"}));
}

TEST(VerilogEmit, RegistersEveryResetAndEnable) {
  Design d;
  Module &m = d.addModule("regs");
  ModuleBuilder b(m);
  ValueId clk = b.input("clk", 1), rst = b.input("rst", 1), arst = b.input("arst", 1);
  ValueId en = b.input("en", 1), x = b.input("x", 70);
  RegOptions plain;
  plain.init = BitVec(70, 5);
  ValueId r0 = b.reg(clk, x, "plain", plain);
  RegOptions sync;
  sync.reset = rst;
  sync.resetValue = BitVec::ones(70);
  ValueId r1 = b.reg(clk, b.add(r0, x), "sync_rst", sync);
  RegOptions syncEn = sync;
  syncEn.enable = en;
  ValueId r2 = b.reg(clk, b.bitXor(r1, x), "sync_rst_en", syncEn);
  RegOptions async;
  async.reset = arst;
  async.asyncReset = true;
  async.resetValue = BitVec(70, 9);
  async.init = BitVec(70, 9);
  ValueId r3 = b.reg(clk, r2, "async_rst", async);
  RegOptions asyncEn = async;
  asyncEn.enable = en;
  ValueId r4 = b.reg(clk, r3, "async_rst_en", asyncEn);
  RegOptions onlyEn;
  onlyEn.enable = en;
  ValueId r5 = b.reg(clk, r4, "en_only", onlyEn);
  // A register only its own feedback reads, and a 1-bit register.
  ValueId cnt = b.regDecl(clk, 3, "cnt");
  b.setNext(cnt, b.add(cnt, b.constant(3, 1)));
  ValueId t = b.regDecl(clk, 1, "toggle");
  b.setNext(t, b.bitNot(t));
  b.output("y", 70, r5);
  b.output("t", 1, t);
  std::string v = checkClean(d, "regs", "regs");
  EXPECT_NE(v.find("always @(posedge clk or posedge arst) begin"), std::string::npos) << v;
  EXPECT_NE(v.find("if (rst) sync_rst_en <= 70'h3fffffffffffffffff;\n    else if (en) "
                   "sync_rst_en <="),
            std::string::npos)
      << v;
  EXPECT_NE(v.find("plain = 70'd5;"), std::string::npos) << v;
}

TEST(VerilogEmit, MemoriesLintAndSynthesize) {
  Design d;
  Module &m = d.addModule("mems");
  ModuleBuilder b(m);
  ValueId clk = b.input("clk", 1), we = b.input("we", 1), re = b.input("re", 1);
  ValueId wa = b.input("wa", 4), ra = b.input("ra", 6), na = b.input("na", 2);
  ValueId wd = b.input("wd", 8), wide = b.input("wide", 100);
  std::vector<BitVec> init;
  for (uint32_t i = 0; i < 10; ++i)
    init.push_back(BitVec(8, i * 17));
  uint32_t rom = b.memory("rom", 8, 10, init); // non-power-of-two depth, initialized
  uint32_t ram = b.memory("ram", 8, 16);       // zeros
  uint32_t big = b.memory("big", 100, 5);      // wide words
  uint32_t one = b.memory("one", 3, 1);        // a single word
  uint32_t dead = b.memory("dead", 8, 4);      // written, never read
  b.memWrite(ram, clk, wa, wd, we);
  b.memWrite(ram, clk, b.constant(4, 3), b.constant(8, 0xaa), re); // later port wins
  b.memWrite(rom, clk, wa, wd, we);
  b.memWrite(big, clk, na, wide, we);
  b.memWrite(dead, clk, na, wd, we);
  b.memWrite(one, clk, na, b.extract(wd, 0, 3), we);
  ValueId r0 = b.memReadSync(rom, clk, ra, re);        // wide address, range-checked
  ValueId r1 = b.memReadSync(ram, clk, na);            // narrow address, no enable
  ValueId r2 = b.memReadAsync(ram, wa);                // exact address width
  ValueId r3 = b.memReadAsync(rom, b.constant(4, 12)); // constant, out of range
  ValueId r4 = b.memReadAsync(rom, b.constant(4, 2));
  ValueId r5 = b.memReadSync(big, clk, ra, re);
  ValueId r6 = b.memReadAsync(one, na);
  b.output("y", 8, b.bitXor(b.bitXor(r0, r1), b.bitXor(r2, b.bitOr(r3, r4))));
  b.output("w", 100, r5);
  b.output("o", 3, r6);
  std::string v = checkClean(d, "mems", "mems");
  EXPECT_NE(v.find("reg [7:0] rom [0:9];"), std::string::npos) << v;
  EXPECT_NE(v.find("rom[9] = 8'd153;"), std::string::npos) << v;
  EXPECT_EQ(v.find("dead"), std::string::npos) << v;
}

/// A processing element and an array of them, with a constant input, an unused output
/// and a single instance next to the array.
void buildArray(Design &d) {
  Module &pe = d.addModule("pe");
  {
    ModuleBuilder b(pe);
    ValueId clk = b.input("clk", 1), a = b.input("a", 8), w = b.input("w", 8);
    ValueId acc = b.regDecl(clk, 16, "acc");
    b.setNext(acc, b.add(acc, b.mul(b.sext(a, 16), b.sext(w, 16))));
    b.output("a_out", 8, b.reg(clk, a, "a_q"));
    b.output("acc", 16, acc);
    b.output("flag", 1, b.unary(OpKind::RedXor, acc));
  }
  Module &top = d.addModule("array_top");
  ModuleBuilder b(top);
  ValueId clk = b.input("clk", 1), a = b.input("a", 32);
  uint32_t arr = b.instance(pe, "pes", 4);
  b.connect(arr, "clk", b.concat({clk, clk, clk, clk}));
  b.connect(arr, "a", a);
  b.connect(arr, "w", b.constant(32, 0x01020304));
  uint32_t one = b.instance(pe, "last", 1);
  b.connect(one, "clk", clk);
  b.connect(one, "a", b.extract(b.instOutput(arr, "a_out"), 24, 8));
  b.connect(one, "w", b.constant(8, 7));
  b.output("acc", 64, b.instOutput(arr, "acc"));
  b.output("last", 16, b.instOutput(one, "acc"));
}

TEST(VerilogEmit, InstanceArraysAsGenerateLoops) {
  Design d;
  buildArray(d);
  std::string v = checkClean(d, "array_top", "array");
  EXPECT_NE(v.find("for (gi = 0; gi < 4; gi = gi + 1) begin : pes"), std::string::npos) << v;
  EXPECT_NE(v.find(".a(a[gi*8 +: 8])"), std::string::npos) << v;
  EXPECT_NE(v.find(".clk(_"), std::string::npos) << v;
  // Callees come first.
  EXPECT_LT(v.find("module pe ("), v.find("module array_top ("));
}

TEST(VerilogEmit, OutputIsDeterministic) {
  Design d1, d2;
  buildArray(d1);
  buildArray(d2);
  EXPECT_EQ(emitOk(d1), emitOk(d2));
}

TEST(VerilogEmit, BadIrIsAnErrorNotACrash) {
  Design d;
  Module &m = d.addModule("bad");
  ModuleBuilder b(m);
  ValueId clk = b.input("clk", 1);
  ValueId r = b.regDecl(clk, 4, "r"); // next never set
  b.output("y", 4, r);
  auto v = emitVerilog(d);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().id, "bad-ir");

  Design d2;
  Module &m2 = d2.addModule("undriven");
  ModuleBuilder b2(m2);
  b2.output("y", 4);
  auto v2 = emitVerilog(d2);
  ASSERT_FALSE(v2.ok());
  EXPECT_NE(v2.error().message.find("'y' is not driven"), std::string::npos);
}

/// A simulator runs the emitted expressions on edge-case and random operands; every
/// output must equal hw::evaluate of its op (division by zero, signed overflow, shifts by
/// the width and by amounts wider than 32 bits included). Icarus Verilog 11 divides
/// values wider than 64 bits wrongly (all-ones / 1 gives 0), so wide designs run in
/// Verilator.
void checkSemantics(uint32_t w, uint32_t sw, bool verilator) {
  Design d;
  std::string top = "sem" + std::to_string(w);
  buildAllOps(d, top, w, sw);
  const Module &m = *d.find(top);
  std::string text = emitOk(d);

  std::mt19937_64 rng(w * 1000 + sw);
  auto rand = [&](uint32_t width) {
    std::vector<uint64_t> words((width + 63) / 64);
    for (auto &x : words)
      x = rng();
    return BitVec::fromWords(width, words);
  };
  std::vector<std::vector<BitVec>> vectors;             // a, b, s, c
  auto minInt = BitVec(w, 0).bitNot().lshr(1).bitNot(); // 100..0
  std::vector<BitVec> specials = {BitVec(w, 0), BitVec(w, 1), BitVec::ones(w), minInt,
                                  BitVec(w, 7)};
  std::vector<BitVec> shifts = {BitVec(sw, 0), BitVec(sw, w - 1), BitVec(sw, 1), BitVec::ones(sw)};
  if (sw < 32 && (uint64_t(1) << sw) > w)
    shifts.push_back(BitVec(sw, w));
  if (sw > 33) {
    BitVec big(sw, 1);
    big.setBit(32, true); // 2^32 + 1: wraps to 1 if a simulator truncates to 32 bits
    shifts.push_back(big);
    shifts.push_back(BitVec(sw, w).add(BitVec(sw, 0)));
  }
  for (const BitVec &x : specials)
    for (const BitVec &y : specials)
      vectors.push_back(
          {x, y, shifts[vectors.size() % shifts.size()], BitVec(1, vectors.size() & 1)});
  for (int i = 0; i < 40; ++i)
    vectors.push_back({rand(w), rand(w), i < 20 ? shifts[i % shifts.size()] : rand(sw), rand(1)});

  std::ostringstream tb;
  tb << "module tb;\n";
  std::vector<std::string> outs;
  for (const Port &p : m.ports) {
    if (p.dir == PortDir::In)
      tb << "  reg [" << p.width - 1 << ":0] " << p.name << ";\n";
    else {
      tb << "  wire [" << p.width - 1 << ":0] " << p.name << ";\n";
      outs.push_back(p.name);
    }
  }
  tb << "  " << top << " dut (";
  for (size_t i = 0; i < m.ports.size(); ++i)
    tb << (i ? ", " : "") << "." << m.ports[i].name << "(" << m.ports[i].name << ")";
  tb << ");\n  initial begin\n";
  for (const auto &v : vectors) {
    tb << "    a = " << w << "'h" << v[0].toHex() << "; b = " << w << "'h" << v[1].toHex()
       << "; s = " << sw << "'h" << v[2].toHex() << "; c = 1'b" << v[3].toHex() << ";\n";
    tb << "    #1 $display(\"";
    for (size_t i = 0; i < outs.size(); ++i)
      tb << (i ? " " : "") << "%h";
    tb << "\"";
    for (const std::string &o : outs)
      tb << ", " << o;
    tb << ");\n";
  }
  tb << "    $finish;\n  end\nendmodule\n";

  TempDir dir("sem");
  std::string dut = dir.write("dut.v", text), tbFile = dir.write("tb.v", tb.str());
  ToolResult build = verilator
                         ? runTool("verilator --binary -Wno-fatal --top-module tb -Mdir " +
                                   dir.file("obj") + " -o sim " + dut + " " + tbFile)
                         : runTool("iverilog -o " + dir.file("sim") + " " + dut + " " + tbFile);
  ASSERT_EQ(build.rc, 0) << build.output;
  ToolResult run =
      verilator ? runTool(dir.file("obj") + "/sim") : runTool("vvp -n " + dir.file("sim"));
  ASSERT_EQ(run.rc, 0) << run.output;

  // Expected values: each output is driven by an op of the inputs (or of a constant).
  std::istringstream lines(run.output);
  for (size_t vi = 0; vi < vectors.size(); ++vi) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << run.output;
    std::istringstream words(line);
    std::vector<BitVec> env(m.ops.size());
    for (size_t i = 0; i < m.ops.size(); ++i) {
      const Op &o = m.ops[i];
      if (o.kind == OpKind::Input) {
        env[i] = vectors[vi][o.attr0];
      } else if (o.kind != OpKind::Output) {
        std::vector<BitVec> args;
        for (ValueId u : o.operands)
          args.push_back(env[u]);
        env[i] = evaluate(o, args);
      }
    }
    for (size_t pi = 0, oi = 0; pi < m.ports.size(); ++pi) {
      if (m.ports[pi].dir != PortDir::Out)
        continue;
      std::string got;
      words >> got;
      const Op &drv = m.op(m.op(m.outputOp(static_cast<uint32_t>(pi))).operands[0]);
      std::string want = env[m.op(m.outputOp(static_cast<uint32_t>(pi))).operands[0]].toHex();
      for (char &ch : want)
        ch = static_cast<char>(std::tolower(ch));
      EXPECT_EQ(got, want) << "output " << m.ports[pi].name << " (" << mnemonic(drv.kind)
                           << ") vector " << vi << ": a=" << vectors[vi][0].toHex()
                           << " b=" << vectors[vi][1].toHex() << " s=" << vectors[vi][2].toHex();
      ++oi;
    }
  }
}

TEST(VerilogEmit, ExpressionsMatchHwSemanticsInIcarus) {
  checkSemantics(8, 3, false);
  checkSemantics(8, 40, false);
  checkSemantics(64, 7, false);
  checkSemantics(100, 70, true);
}

/// A small design whose Verilog is kept as a golden file.
TEST(VerilogEmit, GoldenCounter) {
  Design d;
  Module &m = d.addModule("counter");
  ModuleBuilder b(m);
  b.setLoc(SourceLoc{"counter.hw", 1, 1});
  ValueId clk = b.input("clk", 1), rst = b.input("rst", 1), en = b.input("en", 1);
  ValueId load = b.input("load", 1), value = b.input("value", 8);
  RegOptions o;
  o.reset = rst;
  o.enable = en;
  ValueId cnt = b.regDecl(clk, 8, "count", o);
  ValueId inc = b.name(b.add(cnt, b.constant(8, 1)), "incremented");
  b.setNext(cnt, b.mux(load, value, inc));
  uint32_t hist = b.memory("history", 8, 4);
  ValueId slot = b.extract(cnt, 0, 2);
  b.memWrite(hist, clk, slot, cnt, en);
  b.output("count", 8, cnt);
  b.output("wrapped", 1, b.unary(OpKind::RedAnd, cnt));
  b.output("last", 8, b.memReadSync(hist, clk, b.sub(slot, b.constant(2, 1))));
  std::string text = checkClean(d, "counter", "golden");
  std::string path = std::string(TESSERA_SOURCE_DIR) + "/tests/data/verilog/counter.golden.v";
  if (std::getenv("UPDATE_GOLDEN")) {
    ASSERT_TRUE(writeTextFile(path, text).ok());
    return;
  }
  auto golden = readTextFile(path);
  ASSERT_TRUE(golden.ok()) << golden.error().render();
  EXPECT_EQ(text, *golden);
}

} // namespace

namespace {

/// Every well-formed design of the hw tests (tests/data/hw/*.hw, not *-bad) emits Verilog
/// that lints clean and synthesizes.
TEST(VerilogEmit, HwTestDesignsLintAndSynthesize) {
  std::filesystem::path dir = std::filesystem::path(TESSERA_SOURCE_DIR) / "tests/data/hw";
  std::vector<std::filesystem::path> files;
  for (const auto &e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".hw" && e.path().stem().string().find("-bad") == std::string::npos)
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const auto &f : files) {
    SCOPED_TRACE(f.string());
    auto d = loadDesign(f.string());
    ASSERT_TRUE(d.ok()) << d.error().render();
    DiagnosticEngine diags;
    if (!verifyDesign(*d, diags))
      continue;
    ASSERT_TRUE(d->top());
    checkClean(*d, legalTop(*d), f.stem().string(), /*coarseSynth=*/true);
  }
}

/// The benchmark designs (lib/hw/Designs.h): a systolic array kept as an instance array
/// and the controller bank with its memories.
TEST(VerilogEmit, BenchmarkDesignsLintAndSynthesize) {
  checkClean(systolicArray(4), "systolic_4", "systolic", /*coarseSynth=*/true);
  std::string v = checkClean(controllerDesign(2), "controller", "controller", true);
  EXPECT_NE(v.find("module controller ("), std::string::npos);
}

/// Random designs (every op kind, mixed widths up to 130 bits, shift amounts up to 80
/// bits, memories, arrays, keyword and clashing names) lint clean and Yosys reads them.
TEST(VerilogEmit, RandomDesignsLintClean) {
  // TESSERA_RANDOM_SEEDS=N runs more of them.
  uint64_t seeds = std::getenv("TESSERA_RANDOM_SEEDS")
                       ? std::strtoull(std::getenv("TESSERA_RANDOM_SEEDS"), nullptr, 10)
                       : 12;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomDesignOptions opts;
    opts.seed = seed;
    opts.maxShiftAmountWidth = 80;
    Design d = generateRandomDesign(opts);
    std::string text = emitOk(d);
    TempDir dir("random");
    std::string top = legalTop(d);
    std::string file = dir.write(top + ".v", text);
    ToolResult lint = verilatorLint(file, top);
    EXPECT_EQ(lint.rc, 0) << lint.output;
    EXPECT_EQ(lint.output, "") << file;
    ToolResult read = runTool("yosys -q -p 'read_verilog " + file + "; hierarchy -check -top " +
                              top + "; proc; opt_clean'");
    EXPECT_EQ(read.rc, 0) << read.output;
    if (HasFailure())
      return; // the file named above stays readable until the test ends
  }
}

} // namespace
