//===- TileCosimTest.cpp - the whole generated tile vs the golden model --------===//
//
// The small-test tile (examples/arch/small-test.yaml) is generated, simulated with the
// compiled engine and run on the directed example programs of tests/data/accel and on
// random programs (runtime::randomProgram: dense, 2:4-sparse, transposed and MX GEMMs,
// zero skipping, vector ops, quantize-on-store); DRAM and every local memory must match
// the golden model bit for bit. `make test-all` runs 1,000 random programs per format
// through `tessera cosim` (tests/cli/cosim.cmake).
//
//===----------------------------------------------------------------------===//
#include "runtime/Cosim.h"

#include "arch/ArchSpec.h"
#include "hw/Text.h"
#include "hw/Verify.h"
#include "support/FileIO.h"
#include "verilog/Verilog.h"

#include "../verilog/ToolRunner.h"

#include <gtest/gtest.h>

namespace tessera::runtime {
namespace {

accel::TileConfig smallTest() {
  auto spec = arch::loadArchSpec(std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml");
  EXPECT_TRUE(spec.ok());
  return accel::TileConfig::fromArchSpec(*spec);
}

TileSim &tile() {
  static std::unique_ptr<TileSim> t = [] {
    accel::TileConfig cfg = smallTest();
    auto s = TileSim::create(cfg, accel::rtl::GenParams::forConfig(cfg));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().render());
    return s.ok() ? std::move(*s) : nullptr;
  }();
  return *t;
}

TEST(TileRtl, Verifies) {
  accel::TileConfig cfg = smallTest();
  auto d = accel::rtl::buildTile(cfg, accel::rtl::GenParams::forConfig(cfg));
  ASSERT_TRUE(d.ok()) << d.error().render();
  DiagnosticEngine diags;
  EXPECT_TRUE(hw::verifyDesign(*d, diags));
  for (const Diagnostic &x : diags.diagnostics())
    ADD_FAILURE() << x.render();
  // Same spec, same design, byte for byte.
  auto again = accel::rtl::buildTile(cfg, accel::rtl::GenParams::forConfig(cfg));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(hw::printDesign(*d), hw::printDesign(*again));
}

// The emitted Verilog of the whole tile is lint-clean in Verilator (-Wall).
TEST(TileRtl, VerilatorLintClean) {
  accel::TileConfig cfg = smallTest();
  auto d = accel::rtl::buildTile(cfg, accel::rtl::GenParams::forConfig(cfg));
  ASSERT_TRUE(d.ok()) << d.error().render();
  auto v = verilog::emitVerilog(*d);
  ASSERT_TRUE(v.ok()) << v.error().render();
  verilog::test::TempDir dir("tile-lint");
  std::string file = dir.write("tessera_tile.v", *v);
  auto lint = verilog::test::verilatorLint(file, "tessera_tile");
  EXPECT_EQ(lint.rc, 0) << lint.output;
  EXPECT_EQ(lint.output.find("%Warning"), std::string::npos) << lint.output;
}

void runExample(const char *name) {
  accel::TileConfig cfg = smallTest();
  std::string path = std::string(TESSERA_SOURCE_DIR) + "/tests/data/accel/" + name;
  auto text = readTextFile(path);
  ASSERT_TRUE(text.ok());
  auto prog = accel::assemble(*text, path, &cfg);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  std::vector<uint8_t> dram(1 << 20);
  uint32_t x = 12345;
  for (uint8_t &b : dram) { // small random values: xorshift bytes
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = uint8_t(x);
  }
  auto r = cosimProgram(tile(), cfg, *prog, dram);
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_TRUE(r->match) << r->mismatch;
  EXPECT_EQ(r->fault, "");
  // The comparison is not vacuous: the program computed something.
  size_t nonzero = 0;
  for (uint32_t w : r->rtlState.acc)
    nonzero += w != 0;
  EXPECT_GT(nonzero, 0u);
}

TEST(TileCosim, GemmTiled) { runExample("gemm-tiled.s"); }
TEST(TileCosim, Quantize) { runExample("quantize.s"); }
TEST(TileCosim, Vector) { runExample("vector.s"); }

// Back-to-back GEMMs accumulating into one C region: each must wait for the previous one
// to complete (docs/isa.md 7), while a GEMM into a disjoint region overlaps the previous one
// in the array (starts rows cycles after it).
TEST(TileCosim, BackToBackGemmsOnOneC) {
  accel::TileConfig cfg = smallTest();
  const std::string text = R"(
        ld      spad=0, dram=0, rows=8, cols=16, gstride=16, lstride=16, src=e4m3, dst=e4m3, push_next
        li      r1, 0
        li      r2, 64
        li      r3, 0
        li      r4, 32
        csync   pop_prev
        gemm    c=r3, a=r1, b=r2, m=4, n=4, k=16, lda=16, ldb=16, ldc=4, fa=e4m3, fb=e4m3
        gemm    c=r3, a=r1, b=r2, m=4, n=4, k=16, lda=16, ldb=16, ldc=4, fa=e4m3, fb=e4m3, acc
        gemm    c=r4, a=r1, b=r2, m=4, n=4, k=16, lda=16, ldb=16, ldc=4, fa=e4m3, fb=e4m3
        gemm    c=r3, a=r1, b=r2, m=4, n=4, k=16, lda=16, ldb=16, ldc=4, fa=e4m3, fb=e4m3, acc, push_next
        st      acc=0, dram=256, rows=1, cols=48, gstride=192, lstride=48, fmt=fp32, pop_prev
        halt
)";
  auto prog = accel::assemble(text, "back-to-back.s", &cfg);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  std::vector<uint8_t> dram(4096);
  for (size_t i = 0; i < 128; ++i) // e4m3 values 0.5 .. 1.5 of both signs
    dram[i] = uint8_t(0x30 + (i * 7) % 16) | uint8_t((i % 3 == 0) << 7);
  auto r = cosimProgram(tile(), cfg, *prog, dram);
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_TRUE(r->match) << r->mismatch;
  std::vector<RtlTraceEntry> g;
  for (const RtlTraceEntry &e : r->rtlTrace)
    if (e.unit == 1)
      g.push_back(e);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_GE(g[1].start, g[0].end);           // same C: waits for completion
  EXPECT_EQ(g[2].start, g[1].start + 4);     // disjoint C: issue = max(steps, rows) = 4
  EXPECT_GE(g[3].start, g[1].end);           // same C as an in-flight GEMM
}

TEST(TileCosim, RandomPrograms) {
  accel::TileConfig cfg = smallTest();
  const char *env = std::getenv("TESSERA_COSIM_PROGRAMS");
  unsigned count = env ? unsigned(std::atoi(env)) : 40;
  for (uint64_t seed = 1; seed <= count; ++seed) {
    std::vector<uint8_t> dram;
    std::string text = randomProgram(cfg, seed, {}, dram);
    auto prog = accel::assemble(text, "random-" + std::to_string(seed) + ".s", &cfg);
    ASSERT_TRUE(prog.ok()) << prog.error().render();
    auto r = cosimProgram(tile(), cfg, *prog, dram);
    ASSERT_TRUE(r.ok()) << r.error().render() << "\n" << text;
    ASSERT_TRUE(r->match) << "seed " << seed << ": " << r->mismatch << "\n" << text;
  }
}

} // namespace
} // namespace tessera::runtime
