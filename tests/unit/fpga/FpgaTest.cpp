//===- FpgaTest.cpp - the FPGA flow: tool output parsing and real tool runs ===//
//
// The parsers and resource mapping are tested on fixed tool output; the flow itself runs
// Yosys (xilinx, ice40) and nextpnr-ice40 on small designs (skipped when the tools are
// not installed). Each tool test takes a few seconds.
//
//===----------------------------------------------------------------------===//
#include "fpga/Fpga.h"
#include "support/Process.h"
#include "verilog/Verilog.h"

#include "hw/Designs.h"
#include "support/FileIO.h"
#include "support/Json.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace tessera::fpga {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(TESSERA_SOURCE_DIR) + "/tests/data/fpga/";

class TempDir {
public:
  explicit TempDir(const std::string &tag) {
    std::random_device rd;
    path_ =
        fs::path(TESSERA_BINARY_DIR) / "test-tmp" / ("fpga-" + tag + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    if (std::getenv("TESSERA_KEEP_TEST_FILES"))
      return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }

private:
  fs::path path_;
};

bool haveTool(const std::string &tool, const std::string &arg) {
  TempDir d("probe");
  return !toolVersion(tool, arg, d.str()).empty();
}

#define REQUIRE_YOSYS()                                                                            \
  if (!haveTool("yosys", "-V"))                                                                    \
  GTEST_SKIP() << "yosys is not installed"
#define REQUIRE_NEXTPNR()                                                                          \
  if (!haveTool("nextpnr-ice40", "--version"))                                                     \
  GTEST_SKIP() << "nextpnr-ice40 is not installed"

const ResourceUse &use(const FlowResult &r, const std::string &name) {
  for (const ResourceUse &u : r.resources)
    if (u.name == name)
      return u;
  static ResourceUse none;
  ADD_FAILURE() << "no resource " << name;
  return none;
}

Device dev(Target t, const std::string &name) { return *findDevice(t, name); }

//===-- parsing and mapping ------------------------------------------------===//

TEST(FpgaParse, YosysStatCellCounts) {
  const char *stat = R"({
    "creator": "Yosys 0.23",
    "modules": { "\\mac": { "num_cells": 3, "num_cells_by_type": { "DSP48E1": 1, "FDRE": 2 } } },
    "design": { "num_cells": 3, "num_cells_by_type": { "DSP48E1": 1, "FDRE": 2 } } })";
  auto cells = parseYosysStat(stat, "stat.json");
  ASSERT_TRUE(cells.ok()) << cells.error().render();
  EXPECT_EQ(cells->size(), 2u);
  EXPECT_EQ(cells->at("DSP48E1"), 1u);
  EXPECT_EQ(cells->at("FDRE"), 2u);

  auto bad = parseYosysStat(R"({"modules": {}})", "stat.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().id, "bad-tool-output");
  EXPECT_FALSE(parseYosysStat("{", "stat.json").ok());
}

TEST(FpgaParse, XilinxResourceMapping) {
  std::map<std::string, uint64_t> cells = {
      {"LUT1", 1},     {"LUT2", 2},    {"LUT6", 6},    {"FDRE", 10},
      {"FDSE", 1},     {"CARRY4", 3},  {"DSP48E1", 2}, {"RAMB18E1", 1},
      {"RAMB36E1", 2}, {"SRLC32E", 4}, {"RAM64M", 2},  {"RAM32X1D", 1},
      {"IBUF", 5},     {"OBUF", 7},    {"BUFG", 1},    {"MUXF7", 1}};
  auto r = xilinxResources(cells, dev(Target::Xilinx, "xc7a35t"));
  auto get = [&](const std::string &n) {
    for (const ResourceUse &u : r)
      if (u.name == n)
        return u;
    ADD_FAILURE() << n;
    return ResourceUse{};
  };
  // 9 logic LUTs + LUTRAM (2 x RAM64M = 8, RAM32X1D = 2) + 4 SRL.
  EXPECT_EQ(get("LUT").used, 9u + 10u + 4u);
  EXPECT_EQ(get("LUT").available, 20800u);
  EXPECT_EQ(get("LUT6").used, 6u);
  EXPECT_EQ(get("FF").used, 11u);
  EXPECT_EQ(get("CARRY4").used, 3u);
  EXPECT_EQ(get("DSP48E1").used, 2u);
  EXPECT_EQ(get("BRAM18").used, 1u + 2u * 2u);
  EXPECT_EQ(get("SRL").used, 4u);
  EXPECT_EQ(get("LUTRAM").used, 14u);
  EXPECT_EQ(get("IO").used, 12u);
  EXPECT_EQ(get("MUXF7").used, 1u);
  EXPECT_FALSE(checkFits(r, dev(Target::Xilinx, "xc7a35t"), ""));

  cells["DSP48E1"] = 91;
  auto over = checkFits(xilinxResources(cells, dev(Target::Xilinx, "xc7a35t")),
                        dev(Target::Xilinx, "xc7a35t"), "");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->id, "design-too-large");
  EXPECT_NE(over->message.find("needs 91 DSP48E1"), std::string::npos) << over->message;
  EXPECT_NE(over->message.find("has 90"), std::string::npos) << over->message;
}

TEST(FpgaParse, Ice40EstimateIsALowerBound) {
  std::map<std::string, uint64_t> cells = {{"SB_LUT4", 900}, {"SB_DFF", 300},    {"SB_DFFE", 1100},
                                           {"SB_CARRY", 50}, {"SB_RAM40_4K", 2}, {"SB_MAC16", 1}};
  Device hx1k = dev(Target::Ice40, "hx1k");
  auto est = ice40Estimate(cells, 20, hx1k);
  EXPECT_EQ(est[0].name, "ICESTORM_LC");
  EXPECT_EQ(est[0].used, 1400u); // max(900 LUT4, 1400 DFF, 50 CARRY)
  EXPECT_EQ(est[1].used, 2u);
  EXPECT_EQ(est[2].used, 1u);
  EXPECT_EQ(est[3].used, 20u);
  auto d = checkFits(est, hx1k, "after synthesis");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "design-too-large");
  EXPECT_NE(d->message.find("1400 ICESTORM_LC"), std::string::npos) << d->message;
  EXPECT_NE(d->message.find("has 1280"), std::string::npos) << d->message;
  // The hx8k holds the logic but has no DSP blocks.
  auto d8 = checkFits(ice40Estimate(cells, 20, dev(Target::Ice40, "hx8k")),
                      dev(Target::Ice40, "hx8k"), "");
  ASSERT_TRUE(d8);
  EXPECT_NE(d8->message.find("ICESTORM_DSP"), std::string::npos) << d8->message;
  cells.erase("SB_MAC16");
  EXPECT_FALSE(checkFits(ice40Estimate(cells, 20, dev(Target::Ice40, "hx8k")),
                         dev(Target::Ice40, "hx8k"), ""));
}

TEST(FpgaParse, NextpnrReport) {
  const char *rep = R"({"fmax": {"clk$SB_IO_IN_$glb_clk": {"achieved": 44.480026, "constraint": 50},
                                 "aux_clk": {"achieved": 120.5, "constraint": 12}},
    "utilization": {"ICESTORM_LC": {"available": 5280, "used": 138},
                    "ICESTORM_RAM": {"available": 30, "used": 1}}})";
  auto r = parseNextpnrReport(rep, "report.json");
  ASSERT_TRUE(r.ok()) << r.error().render();
  ASSERT_EQ(r->fmax.size(), 2u);
  EXPECT_EQ(r->fmax[0].clock, "aux_clk");
  EXPECT_EQ(r->fmax[1].clock, "clk");
  EXPECT_DOUBLE_EQ(r->fmax[1].achievedMhz, 44.480026);
  EXPECT_DOUBLE_EQ(r->fmax[1].constraintMhz, 50);
  ASSERT_EQ(r->utilization.size(), 2u);
  EXPECT_EQ(r->utilization[0].name, "ICESTORM_LC");
  EXPECT_EQ(r->utilization[0].used, 138u);
  EXPECT_EQ(r->utilization[0].available, 5280u);
  EXPECT_FALSE(parseNextpnrReport(R"({"fmax": {}})", "report.json").ok());
}

TEST(FpgaParse, ToolErrors) {
  Diagnostic y = verilog::yosysLogError("-- Parsing `x.v' using frontend ` -sv' --\n"
                            "dir/x.v:8: ERROR: syntax error, unexpected TOK_ENDMODULE\n");
  EXPECT_EQ(y.id, "yosys-error");
  EXPECT_EQ(y.loc.file, "dir/x.v");
  EXPECT_EQ(y.loc.line, 8u);
  EXPECT_EQ(y.message, "syntax error, unexpected TOK_ENDMODULE");
  Diagnostic top = verilog::yosysLogError("ERROR: Module `nope' not found!\n");
  EXPECT_FALSE(top.loc.known());
  EXPECT_EQ(top.message, "Module `nope' not found!");

  Device hx1k = dev(Target::Ice40, "hx1k");
  Diagnostic full = nextpnrError("Info: Placing..\nERROR: Unable to place cell 'x_LC', no BELs "
                                 "remaining to implement cell type 'ICESTORM_LC'\n",
                                 hx1k);
  EXPECT_EQ(full.id, "design-too-large");
  EXPECT_NE(full.message.find("ran out of ICESTORM_LC (the device has 1280)"), std::string::npos)
      << full.message;
  EXPECT_EQ(nextpnrError("ERROR: something else\n", hx1k).id, "nextpnr-error");
}

TEST(FpgaParse, Devices) {
  EXPECT_EQ(targetFromName("xilinx"), Target::Xilinx);
  EXPECT_EQ(targetFromName("ice40"), Target::Ice40);
  EXPECT_FALSE(targetFromName("ecp5"));
  auto d = findDevice(Target::Ice40, "up5");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().id, "unknown-device");
  ASSERT_EQ(d.error().notes.size(), 1u);
  EXPECT_NE(d.error().notes[0].message.find("up5k"), std::string::npos);
  // Automatic selection relies on smallest-first order.
  for (Target t : {Target::Xilinx, Target::Ice40}) {
    const auto &all = devices(t);
    for (size_t i = 1; i < all.size(); ++i)
      EXPECT_LT(all[i - 1].capacity[0].available, all[i].capacity[0].available);
  }
}

TEST(FpgaParse, JsonAndHtml) {
  FlowResult r;
  r.target = Target::Ice40;
  r.device = "up5k";
  r.package = "sg48";
  r.top = "mac";
  r.resources = {{"ICESTORM_LC", "logic cells", 138, 5280}, {"SB_GB", "global buffers", 2, 0}};
  r.fmax = {{"clk", 44.480026, 50}};
  r.yosysCells = {{"SB_LUT4", 100}, {"SB_DFF", 16}};
  r.yosysVersion = "Yosys 0.23";
  r.commands = {"yosys -q -s synth.ys"};
  std::string j = writeJson(toJson(r));
  EXPECT_EQ(j, writeJson(toJson(r)));
  auto parsed = parseJson(j, "fpga.json");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["resources"][0]["percent"], 2.61);
  EXPECT_FALSE((*parsed)["resources"][1].contains("available"));
  EXPECT_EQ((*parsed)["fmax"][0]["achieved_mhz"], 44.48);
  EXPECT_EQ((*parsed)["fmax"][0]["met"], false);
  EXPECT_EQ((*parsed)["yosys_cells"]["SB_DFF"], 16);
  EXPECT_LT(j.find("\"target\""), j.find("\"resources\"")); // fixed key order
  std::string html = renderHtml(r);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("44.48 MHz"), std::string::npos);
  EXPECT_NE(html.find("2.6%"), std::string::npos);
}

//===-- the flow with the real tools ---------------------------------------===//

FlowOptions options(Target t, const TempDir &dir, const std::string &device = "") {
  FlowOptions o;
  o.target = t;
  o.device = device;
  o.outDir = dir.str();
  o.timeoutSeconds = 120;
  return o;
}

TEST(FpgaFlow, XilinxSystolicArray) {
  REQUIRE_YOSYS();
  TempDir dir("sa");
  auto r = runFlow(hw::systolicArray(2), options(Target::Xilinx, dir));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(r->top, "systolic_2");
  EXPECT_EQ(r->device, "xc7a35t");
  EXPECT_GT(use(*r, "LUT").used, 0u);
  EXPECT_GT(use(*r, "FF").used, 0u);
  EXPECT_TRUE(r->fmax.empty());
  EXPECT_NE(r->yosysVersion.find("Yosys"), std::string::npos);
  ASSERT_FALSE(r->notes.empty());
  EXPECT_TRUE(fs::exists(fs::path(dir.str()) / "design.v"));
  EXPECT_TRUE(fs::exists(fs::path(dir.str()) / "synth.log"));
  ASSERT_TRUE(writeReports(*r, dir.str()).ok());
  auto json = loadJsonFile(dir.str() + "/fpga.json");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["target"], "xilinx");
  EXPECT_TRUE(fs::exists(fs::path(dir.str()) / "fpga.html"));
}

TEST(FpgaFlow, XilinxMultiplierMapsToDsp) {
  REQUIRE_YOSYS();
  TempDir dir("mac");
  auto r = runFlow({kData + "mac.v"}, "mac", options(Target::Xilinx, dir, "xc7a35t"));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_GE(use(*r, "DSP48E1").used, 1u);
  EXPECT_EQ(use(*r, "DSP48E1").available, 90u);
}

TEST(FpgaFlow, XilinxMemoryMapsToBram) {
  REQUIRE_YOSYS();
  TempDir dir("ram");
  auto r = runFlow({kData + "ram.v"}, "ram", options(Target::Xilinx, dir));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_GE(use(*r, "BRAM18").used, 1u);
  EXPECT_EQ(use(*r, "LUTRAM").used, 0u);
}

TEST(FpgaFlow, XilinxController) {
  REQUIRE_YOSYS();
  TempDir dir("ctrl");
  auto r = runFlow(hw::controllerDesign(1), options(Target::Xilinx, dir));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_GT(use(*r, "LUT").used, 0u);
  EXPECT_GT(use(*r, "FF").used, 0u);
}

TEST(FpgaFlow, Ice40FmaxAndDeterminism) {
  REQUIRE_YOSYS();
  REQUIRE_NEXTPNR();
  std::string first;
  for (int run = 0; run < 2; ++run) {
    TempDir dir("cnt");
    auto r = runFlow({kData + "counter.v"}, "counter", options(Target::Ice40, dir));
    ASSERT_TRUE(r.ok()) << r.error().render();
    EXPECT_EQ(r->device, "hx1k"); // the smallest device that holds it
    EXPECT_EQ(r->package, "tq144");
    EXPECT_GT(use(*r, "ICESTORM_LC").used, 0u);
    EXPECT_EQ(use(*r, "ICESTORM_LC").available, 1280u);
    ASSERT_EQ(r->fmax.size(), 1u);
    EXPECT_EQ(r->fmax[0].clock, "clk");
    EXPECT_GT(r->fmax[0].achievedMhz, 0.0);
    EXPECT_DOUBLE_EQ(r->fmax[0].constraintMhz, 12.0);
    EXPECT_FALSE(r->nextpnrVersion.empty());
    std::string j = writeJson(toJson(*r));
    // Same input and seed: the same bytes, wherever the output directory is.
    size_t files = j.find("\"commands\"");
    j = j.substr(0, files);
    if (run == 0)
      first = j;
    else
      EXPECT_EQ(j, first);
  }
}

TEST(FpgaFlow, Ice40RamAndDsp) {
  REQUIRE_YOSYS();
  REQUIRE_NEXTPNR();
  TempDir dir("ramdsp");
  auto r = runFlow({kData + "ram.v"}, "ram", options(Target::Ice40, dir));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(use(*r, "ICESTORM_RAM").used, 4u); // 16 kbit in 4 kbit blocks
  ASSERT_EQ(r->fmax.size(), 1u);
  EXPECT_GT(r->fmax[0].achievedMhz, 0.0);

  TempDir dir2("macdsp");
  auto m = runFlow({kData + "mac8.v"}, "mac8", options(Target::Ice40, dir2, "up5k"));
  ASSERT_TRUE(m.ok()) << m.error().render();
  EXPECT_GE(use(*m, "ICESTORM_DSP").used, 1u);
}

TEST(FpgaFlow, Ice40TooLarge) {
  REQUIRE_YOSYS();
  TempDir dir("wide");
  auto r = runFlow({kData + "wide-bad.v"}, "wide_bad", options(Target::Ice40, dir, "hx1k"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "design-too-large");
  EXPECT_NE(r.error().message.find("ICESTORM_LC"), std::string::npos) << r.error().message;
}

TEST(FpgaFlow, YosysErrorsAreLocated) {
  REQUIRE_YOSYS();
  TempDir dir("syn");
  std::string file = kData + "syntax-bad.v";
  auto r = runFlow({file}, "syntax_bad", options(Target::Xilinx, dir));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "yosys-error");
  EXPECT_EQ(r.error().loc.file, file);
  EXPECT_EQ(r.error().loc.line, 8u);
  EXPECT_NE(r.error().message.find("syntax error"), std::string::npos);
  EXPECT_EQ(r.error().sourceLine, "endmodule");

  TempDir dir2("top");
  auto t = runFlow({kData + "counter.v"}, "nope", options(Target::Xilinx, dir2));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().id, "yosys-error");
  EXPECT_NE(t.error().message.find("nope"), std::string::npos) << t.error().message;
}

TEST(FpgaFlow, BadArguments) {
  TempDir dir("args");
  EXPECT_EQ(runFlow({kData + "counter.v"}, "", options(Target::Xilinx, dir)).error().id,
            "missing-top");
  EXPECT_EQ(runFlow({kData + "nope.v"}, "counter", options(Target::Xilinx, dir)).error().id,
            "io-error");
  EXPECT_EQ(
      runFlow({kData + "counter.v"}, "counter", options(Target::Ice40, dir, "hx9k")).error().id,
      "unknown-device");
  FlowOptions o = options(Target::Xilinx, dir);
  o.yosys = "/nonexistent/yosys";
  EXPECT_EQ(runFlow({kData + "counter.v"}, "counter", o).error().id, "tool-not-found");
}

} // namespace
} // namespace tessera::fpga
