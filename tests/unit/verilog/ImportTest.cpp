//===- ImportTest.cpp - Verilog import through Yosys -----------------------===//
//
// Small Verilog sources (tests/data/verilog) are imported, verified and checked for
// structure; their Verilog emitted back must lint clean; and the original and the
// round-tripped Verilog are simulated in Icarus Verilog with the same random stimulus
// (cycle protocol of sim/Sim.h: set inputs, settle, sample outputs, rising edge), which
// must agree on every output in every cycle.
//
//===----------------------------------------------------------------------===//
#include "ToolRunner.h"

#include "hw/Text.h"
#include "hw/Verify.h"
#include "support/FileIO.h"
#include "verilog/Verilog.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

using namespace tessera;
using namespace tessera::hw;
using namespace tessera::verilog;
using namespace tessera::verilog::test;

namespace {

std::string dataFile(const std::string &name) {
  return std::string(TESSERA_SOURCE_DIR) + "/tests/data/verilog/" + name;
}

Design importOk(const std::string &file, const std::string &top, bool flatten = false) {
  ImportOptions opts;
  opts.top = top;
  opts.flatten = flatten;
  auto d = importVerilog({dataFile(file)}, opts);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().render());
  if (!d.ok())
    return Design();
  DiagnosticEngine diags;
  bool ok = verifyDesign(*d, diags);
  std::ostringstream os;
  diags.print(os);
  EXPECT_TRUE(ok) << os.str() << "\n" << printDesign(*d);
  return std::move(d).value();
}

const Op *findNamed(const Module &m, const std::string &name) {
  for (const Op &o : m.ops)
    if (o.name == name && o.kind != OpKind::Input)
      return &o;
  return nullptr;
}

/// Runs `top` of `files` in Icarus with seeded random inputs; one line of hex outputs per
/// cycle. Inputs named rst* are 1 in the first cycle and then 1 in about one cycle of 16.
std::string simulateIcarus(const std::vector<std::string> &files, const Module &top, int cycles,
                           uint64_t seed) {
  std::vector<std::string> names = verilogPortNames(top);
  std::ostringstream tb;
  tb << "module tb;\n";
  bool hasClk = false;
  for (size_t i = 0; i < top.ports.size(); ++i) {
    const Port &p = top.ports[i];
    tb << "  " << (p.dir == PortDir::In ? "reg" : "wire") << " [" << p.width - 1 << ":0] "
       << names[i] << ";\n";
    hasClk = hasClk || names[i] == "clk";
  }
  tb << "  " << top.name() << " dut (";
  for (size_t i = 0; i < top.ports.size(); ++i)
    tb << (i ? ", " : "") << "." << names[i] << "(" << names[i] << ")";
  tb << ");\n  initial begin\n";
  if (hasClk)
    tb << "    clk = 1'b0;\n";
  std::mt19937_64 rng(seed);
  for (int c = 0; c < cycles; ++c) {
    for (size_t i = 0; i < top.ports.size(); ++i) {
      const Port &p = top.ports[i];
      if (p.dir != PortDir::In || names[i] == "clk")
        continue;
      BitVec v(p.width, 0);
      bool isReset = names[i].rfind("rst", 0) == 0;
      if (isReset)
        v = BitVec(p.width, c == 0 || rng() % 16 == 0);
      else
        v = BitVec::fromWords(p.width, {rng(), rng(), rng()});
      tb << "    " << names[i] << " = " << p.width << "'h" << v.toHex() << ";\n";
    }
    tb << "    #1 $display(\"";
    bool first = true;
    for (size_t i = 0; i < top.ports.size(); ++i)
      if (top.ports[i].dir == PortDir::Out) {
        tb << (first ? "" : " ") << "%h";
        first = false;
      }
    tb << "\"";
    for (size_t i = 0; i < top.ports.size(); ++i)
      if (top.ports[i].dir == PortDir::Out)
        tb << ", " << names[i];
    tb << ");\n";
    if (hasClk)
      tb << "    clk = 1'b1;\n    #1 clk = 1'b0;\n";
  }
  tb << "    $finish;\n  end\nendmodule\n";
  TempDir dir("icarus");
  std::string cmd = "iverilog -o " + dir.file("sim") + " " + dir.write("tb.v", tb.str());
  for (const std::string &f : files)
    cmd += " " + f;
  ToolResult build = runTool(cmd);
  EXPECT_EQ(build.rc, 0) << build.output;
  ToolResult run = runTool("vvp -n " + dir.file("sim"));
  EXPECT_EQ(run.rc, 0) << run.output;
  // Drop vvp's "$finish called" trailer.
  std::string out = run.output;
  if (size_t pos = out.find("tb.v:"); pos != std::string::npos)
    out = out.substr(0, out.rfind('\n', pos) + 1);
  return out;
}

/// emit(import(file)) lints clean and simulates exactly like the original.
void checkRoundTrip(const std::string &file, const Design &d, int cycles = 200) {
  auto text = emitVerilog(d);
  ASSERT_TRUE(text.ok()) << text.error().render();
  TempDir dir("roundtrip");
  const Module &top = *d.top();
  std::string emitted = dir.write(top.name() + ".v", *text);
  ToolResult lint = verilatorLint(emitted, top.name());
  EXPECT_EQ(lint.rc, 0) << lint.output << *text;
  EXPECT_EQ(lint.output, "") << *text;
  std::string want = simulateIcarus({dataFile(file)}, top, cycles, 7);
  std::string got = simulateIcarus({emitted}, top, cycles, 7);
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(got, want) << *text;
}

TEST(VerilogImport, Counter) {
  Design d = importOk("counter.v", "counter");
  ASSERT_TRUE(d.top());
  const Module &m = *d.top();
  EXPECT_EQ(m.name(), "counter");
  std::vector<std::string> ports;
  for (const Port &p : m.ports)
    ports.push_back(p.name);
  EXPECT_EQ(ports,
            (std::vector<std::string>{"clk", "rst", "en", "load", "value", "count", "wrapped"}));
  const Op *count = findNamed(m, "count");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->kind, OpKind::Reg);
  EXPECT_EQ(count->width, 8u);
  EXPECT_EQ(count->init, BitVec(8, 3));
  EXPECT_TRUE(count->regHasReset());
  EXPECT_FALSE(count->regAsyncReset());
  EXPECT_EQ(count->value, BitVec(8, 0));
  // Locations come from Yosys' src attributes.
  EXPECT_NE(count->loc.file.find("counter.v"), std::string::npos);
  EXPECT_GE(count->loc.line, 12u);
  checkRoundTrip("counter.v", d);
}

TEST(VerilogImport, FsmWithAsyncReset) {
  Design d = importOk("fsm.v", "fsm");
  ASSERT_TRUE(d.top());
  const Op *state = findNamed(*d.top(), "state");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->kind, OpKind::Reg);
  EXPECT_TRUE(state->regAsyncReset());
  checkRoundTrip("fsm.v", d);
}

TEST(VerilogImport, Memory) {
  Design d = importOk("memory.v", "memory");
  ASSERT_TRUE(d.top());
  const Module &m = *d.top();
  ASSERT_EQ(m.memories.size(), 2u);
  const Memory *ram = nullptr, *rom = nullptr;
  for (const Memory &mem : m.memories)
    (mem.name == "ram" ? ram : rom) = &mem;
  ASSERT_TRUE(ram && rom);
  EXPECT_EQ(ram->depth, 16u);
  EXPECT_EQ(ram->width, 8u);
  ASSERT_EQ(ram->init.size(), 16u);
  EXPECT_EQ(ram->init[5], BitVec(8, 15));
  ASSERT_EQ(rom->init.size(), 4u);
  EXPECT_EQ(rom->init[3], BitVec(8, 0x78));
  checkRoundTrip("memory.v", d);
}

TEST(VerilogImport, AluSignedArithmetic) {
  Design d = importOk("alu.v", "alu");
  ASSERT_TRUE(d.top());
  checkRoundTrip("alu.v", d, 400);
}

TEST(VerilogImport, GenerateLoopOfInstances) {
  Design d = importOk("array.v", "array");
  ASSERT_TRUE(d.top());
  const Module &top = *d.top();
  EXPECT_EQ(top.instances.size(), 4u);
  ASSERT_EQ(d.modules().size(), 2u);
  // The parameterized cell keeps a readable name.
  EXPECT_EQ(d.modules()[0]->name(), "mac__W_8");
  for (const Instance &inst : top.instances)
    EXPECT_EQ(inst.module, "mac__W_8");
  checkRoundTrip("array.v", d);

  Design flat = importOk("array.v", "array", /*flatten=*/true);
  ASSERT_TRUE(flat.top());
  EXPECT_EQ(flat.modules().size(), 1u);
  EXPECT_TRUE(flat.top()->instances.empty());
  checkRoundTrip("array.v", flat);
}

TEST(VerilogImport, VariablePartSelects) {
  Design d = importOk("partsel.v", "partsel");
  ASSERT_TRUE(d.top());
  checkRoundTrip("partsel.v", d, 300);
}

TEST(VerilogImport, NegedgeFlopIsUnsupported) {
  ImportOptions opts;
  opts.top = "negedge_bad";
  auto d = importVerilog({dataFile("negedge-bad.v")}, opts);
  ASSERT_FALSE(d.ok());
  const Diagnostic &e = d.error();
  EXPECT_EQ(e.id, "unsupported-cell");
  EXPECT_NE(e.message.find("'$dff'"), std::string::npos) << e.render();
  EXPECT_NE(e.message.find("negative-edge"), std::string::npos) << e.render();
  EXPECT_NE(e.loc.file.find("negedge-bad.v"), std::string::npos) << e.render();
  EXPECT_EQ(e.loc.line, 7u) << e.render();
}

TEST(VerilogImport, LatchIsUnsupported) {
  ImportOptions opts;
  opts.top = "latch_bad";
  auto d = importVerilog({dataFile("latch-bad.v")}, opts);
  ASSERT_FALSE(d.ok());
  const Diagnostic &e = d.error();
  EXPECT_EQ(e.id, "unsupported-cell");
  EXPECT_NE(e.message.find("'$dlatch'"), std::string::npos) << e.render();
  EXPECT_NE(e.message.find("cell '"), std::string::npos) << e.render();
  EXPECT_NE(e.loc.file.find("latch-bad.v"), std::string::npos) << e.render();
  EXPECT_EQ(e.loc.line, 6u) << e.render();
}

TEST(VerilogImport, YosysErrorsAreLocated) {
  TempDir dir("yosys-error");
  std::string f =
      dir.write("syntax.v", "module s(input a, output b);\n  assign b = a +;\nendmodule\n");
  ImportOptions opts;
  opts.top = "s";
  auto d = importVerilog({f}, opts);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().id, "yosys-error");
  EXPECT_EQ(d.error().loc.line, 2u) << d.error().render();
  EXPECT_NE(d.error().message.find("syntax error"), std::string::npos);

  opts.top = "nope";
  auto d2 = importVerilog({f}, opts);
  ASSERT_FALSE(d2.ok());
  EXPECT_EQ(d2.error().id, "yosys-error");

  opts.top = "s";
  opts.yosys = "/nonexistent/yosys";
  auto d3 = importVerilog({f}, opts);
  ASSERT_FALSE(d3.ok());
  EXPECT_EQ(d3.error().id, "tool-not-found");
}

TEST(VerilogImport, MalformedJsonIsAnError) {
  auto d = importYosysJson("{\"modules\": {\"t\": {\"ports\": 3}}", "x.json", "t");
  EXPECT_FALSE(d.ok());
  auto d2 = importYosysJson("{\"modules\": ", "x.json", "t");
  ASSERT_FALSE(d2.ok());
  EXPECT_EQ(d2.error().id, "json-syntax");
  auto d3 = importYosysJson("{\"modules\": {\"top\": {}}}", "x.json", "tpo");
  ASSERT_FALSE(d3.ok());
  EXPECT_EQ(d3.error().id, "unknown-module");
}

TEST(VerilogImport, EmittedVerilogImportsBack) {
  // hw -> Verilog -> hw keeps ports, registers and memories.
  Design d = importOk("memory.v", "memory");
  auto text = emitVerilog(d);
  ASSERT_TRUE(text.ok());
  TempDir dir("reimport");
  std::string f = dir.write("memory.v", *text);
  ImportOptions opts;
  opts.top = "memory";
  auto again = importVerilog({f}, opts);
  ASSERT_TRUE(again.ok()) << again.error().render();
  EXPECT_EQ(again->top()->ports.size(), d.top()->ports.size());
  EXPECT_EQ(again->top()->memories.size(), 2u);
}

} // namespace

namespace {

/// The committed Yosys netlists (tests/data/verilog/json, also the fuzz seeds) import
/// without running Yosys and give designs that verify and emit.
TEST(VerilogImport, CommittedNetlistsImportWithoutYosys) {
  for (const char *name : {"counter", "fsm", "memory", "alu", "array", "partsel"}) {
    SCOPED_TRACE(name);
    std::string path = dataFile(std::string("json/") + name + ".json");
    auto text = readTextFile(path);
    ASSERT_TRUE(text.ok());
    auto d = importYosysJson(*text, path, name);
    ASSERT_TRUE(d.ok()) << d.error().render();
    DiagnosticEngine diags;
    EXPECT_TRUE(verifyDesign(*d, diags));
    EXPECT_TRUE(emitVerilog(*d).ok());
    EXPECT_EQ(d->top()->name(), name);
  }
}

} // namespace
