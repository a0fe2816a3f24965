//===- LintTest.cpp - emitted Verilog of random designs in Verilator lint and Yosys -===//
//
// The Verilog emitted for random designs must be warning-free under
// `verilator --lint-only -Wall` and must synthesize in Yosys (`synth`).
//
//===----------------------------------------------------------------------===//
#include "hw/RandomDesign.h"
#include "support/FileIO.h"
#include "verilog/Verilog.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace tessera;

namespace {

struct ToolRun {
  int rc = -1;
  std::string output; ///< stdout and stderr
};

ToolRun runTool(const std::string &cmd) {
  ToolRun r;
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string workDir(const std::string &name) {
  std::string dir = std::string(TESSERA_BINARY_DIR) + "/tests/diff/work/" + name;
  fs::create_directories(dir);
  return dir;
}

/// Emits `d` to `dir`/<name>.v; returns the path ("" after a test failure).
std::string emit(const hw::Design &d, const std::string &dir, const std::string &name) {
  auto v = verilog::emitVerilog(d);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().render());
  if (!v.ok())
    return "";
  std::string path = dir + "/" + name + ".v";
  EXPECT_TRUE(writeTextFile(path, *v).ok());
  return path;
}

TEST(DiffLint, VerilatorWallClean) {
  std::string dir = workDir("lint");
  bool allOk = true;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    hw::RandomDesignOptions o;
    o.seed = 500 + seed;
    hw::Design d = hw::generateRandomDesign(o);
    std::string file = emit(d, dir, "lint-" + std::to_string(o.seed));
    if (file.empty())
      continue;
    ToolRun r = runTool("verilator --lint-only -Wall --top-module " + d.topName + " " + file);
    EXPECT_EQ(r.rc, 0) << file << "\n" << r.output;
    EXPECT_EQ(r.output, "") << file;
    allOk &= r.rc == 0 && r.output.empty();
  }
  // One batch: many modules in one file.
  hw::RandomDesignOptions o;
  o.seed = 600;
  hw::Design batch = hw::generateRandomBatch(o, 6);
  std::string file = emit(batch, dir, "lint-batch");
  if (!file.empty()) {
    ToolRun r = runTool("verilator --lint-only -Wall --top-module diff_top " + file);
    EXPECT_EQ(r.rc, 0) << file << "\n" << r.output;
    EXPECT_EQ(r.output, "") << file;
    allOk &= r.rc == 0 && r.output.empty();
  }
  if (allOk)
    fs::remove_all(dir);
}

TEST(DiffLint, YosysSynthesizes) {
  std::string dir = workDir("synth");
  bool allOk = true;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    // Narrower and smaller than the simulation designs: synth of 130-bit dividers is slow.
    hw::RandomDesignOptions o;
    o.seed = 700 + seed;
    o.maxWidth = 24;
    o.opsPerModule = 16;
    o.maxArrayCount = 3;
    hw::Design d = hw::generateRandomDesign(o);
    std::string file = emit(d, dir, "synth-" + std::to_string(o.seed));
    if (file.empty())
      continue;
    ToolRun r = runTool("yosys -q -p 'read_verilog " + file + "; synth -top " + d.topName +
                        "; check -assert' ");
    EXPECT_EQ(r.rc, 0) << file << "\n" << r.output;
    allOk &= r.rc == 0;
  }
  if (allOk)
    fs::remove_all(dir);
}

} // namespace
