//===- ExternalSimTest.cpp - the Verilator and Icarus harnesses ---------------===//
//
// verilog::runReference on a small design whose port names need Verilator's C++ name
// mangling ("__", C++ keywords, characters legalized by the emitter): explicit inputs
// give the same outputs as the seeded random stream they copy, both tools agree with the
// interpreter, and the checksum follows sim/Stimulus.h.
//
//===----------------------------------------------------------------------===//
#include "hw/Text.h"
#include "hw/Verify.h"
#include "sim/Sim.h"
#include "sim/Stimulus.h"
#include "support/FileIO.h"
#include "verilog/ExternalSim.h"
#include "verilog/Verilog.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace tessera;

namespace {

constexpr const char *kDesign = R"(
hw.module @harness_top(in %clk: i1, in %rst: i1, in %a__b: i8, in %delete: i70, in %x.y: i1,
                       out q__: i8, out new: i70, out sum: i8) {
  %acc = reg %clk, %next reset %rst value 5 : i8
  %next = add %acc, %a__b : i8
  %w = xor %delete, %delete : i70
  %z = zext %x.y : i70
  %o = or %w, %z : i70
  %s = add %a__b, %acc : i8
  output %acc -> q__
  output %o -> new
  output %s -> sum
}
)";

struct Harness {
  hw::Design design;
  std::string dir, vfile;
  std::vector<verilog::RefPort> ins, outs;
};

Harness makeHarness(const std::string &name) {
  Harness h;
  auto d = hw::parseDesign(kDesign, "harness.hw");
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().render());
  h.design = std::move(*d);
  DiagnosticEngine diags;
  EXPECT_TRUE(hw::verifyDesign(h.design, diags));
  h.dir = std::string(TESSERA_BINARY_DIR) + "/tests/diff/work/" + name;
  fs::create_directories(h.dir);
  auto v = verilog::emitVerilog(h.design);
  EXPECT_TRUE(v.ok());
  h.vfile = h.dir + "/harness.v";
  EXPECT_TRUE(writeTextFile(h.vfile, *v).ok());
  const hw::Module &top = *h.design.top();
  std::vector<std::string> names = verilog::verilogPortNames(top);
  for (size_t p = 0; p < top.ports.size(); ++p) {
    verilog::RefPort rp{names[p], top.ports[p].width, top.ports[p].name == "clk"};
    (top.ports[p].dir == hw::PortDir::In ? h.ins : h.outs).push_back(rp);
  }
  return h;
}

TEST(DiffExternalSim, ExplicitInputsMatchTheRandomStream) {
  Harness h = makeHarness("harness-explicit");
  const uint64_t seed = 42, cycles = 20;
  // The stream the harness re-implements, as explicit values.
  std::vector<sim::InputDesc> descs;
  for (const verilog::RefPort &p : h.ins)
    if (!p.isClock)
      descs.push_back({p.name, p.width});
  sim::RandomStimulus stim(descs, seed);
  std::vector<std::vector<hw::BitVec>> explicitInputs;
  for (uint64_t c = 0; c < cycles; ++c)
    explicitInputs.push_back(stim.next());

  // The interpreter on the same stream.
  sim::SimOptions so;
  so.engine = sim::Engine::Interp;
  auto simPtr = sim::Simulator::create(h.design, so);
  ASSERT_TRUE(simPtr.ok()) << simPtr.error().render();
  sim::Simulator &s = **simPtr;
  std::vector<std::vector<hw::BitVec>> expected;
  uint64_t checksum = 0;
  for (uint64_t c = 0; c < cycles; ++c) {
    for (size_t i = 0, k = 0; i < s.inputs().size(); ++i)
      if (!s.inputs()[i].isClock)
        s.poke(static_cast<uint32_t>(i), explicitInputs[c][k++]);
    std::vector<hw::BitVec> row;
    for (uint32_t o = 0; o < s.outputs().size(); ++o) {
      row.push_back(s.peek(o));
      for (uint64_t w : row.back().words())
        checksum = sim::checksumMix(checksum, w);
    }
    expected.push_back(std::move(row));
    s.step();
  }

  for (verilog::RefTool tool : {verilog::RefTool::Verilator, verilog::RefTool::Icarus}) {
    for (bool useExplicit : {false, true}) {
      verilog::RefOptions ro;
      ro.tool = tool;
      ro.workDir = h.dir;
      ro.cycles = cycles;
      ro.seed = seed;
      if (useExplicit)
        ro.explicitInputs = explicitInputs;
      auto r = verilog::runReference({h.vfile}, "harness_top", h.ins, h.outs, ro);
      ASSERT_TRUE(r.ok()) << r.error().render();
      std::string what = std::string(tool == verilog::RefTool::Verilator ? "verilator" : "icarus") +
                         (useExplicit ? " explicit" : " random");
      EXPECT_EQ(r->outputs, expected) << what;
      EXPECT_EQ(r->checksum, checksum) << what;
      EXPECT_EQ(r->firstUnknown, "") << what;
      EXPECT_FALSE(r->version.empty()) << what;
    }
  }
}

TEST(DiffExternalSim, VerilatorBuildIsCached) {
  Harness h = makeHarness("harness-cache");
  verilog::RefOptions ro;
  ro.workDir = h.dir;
  ro.cycles = 5;
  ro.recordOutputs = false;
  auto first = verilog::runReference({h.vfile}, "harness_top", h.ins, h.outs, ro);
  ASSERT_TRUE(first.ok()) << first.error().render();
  ro.seed = 7; // another stimulus: same build
  auto second = verilog::runReference({h.vfile}, "harness_top", h.ins, h.outs, ro);
  ASSERT_TRUE(second.ok()) << second.error().render();
  EXPECT_TRUE(second->buildCached);
  EXPECT_EQ(second->compileSeconds, 0);
  EXPECT_TRUE(second->outputs.empty()); // not recorded
  EXPECT_NE(first->checksum, second->checksum);
}

TEST(DiffExternalSim, ToolErrorsCarryTheirMessage) {
  Harness h = makeHarness("harness-errors");
  std::string bad = h.dir + "/bad.v";
  ASSERT_TRUE(writeTextFile(bad, "module harness_top(input wire clk); syntax error here\n").ok());
  verilog::RefOptions ro;
  ro.workDir = h.dir;
  ro.cycles = 1;
  for (verilog::RefTool tool : {verilog::RefTool::Verilator, verilog::RefTool::Icarus}) {
    ro.tool = tool;
    auto r = verilog::runReference({bad}, "harness_top", {{"clk", 1, true}}, {}, ro);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().id, "reference-failed");
    EXPECT_NE(r.error().message.find("bad.v"), std::string::npos) << r.error().message;
  }
  ro.tool = verilog::RefTool::Verilator;
  ro.verilator = "no-such-verilator";
  auto r = verilog::runReference({h.vfile}, "harness_top", h.ins, h.outs, ro);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("could not be run"), std::string::npos)
      << r.error().message;
}

} // namespace
