//===- RandomProgramTest.cpp - the co-simulation program generator -------------===//
//
// Every random program of `tessera cosim --random` must assemble against the tile and run
// on the golden model without a fault (a generator bug would otherwise show up as a
// "mismatch" of nothing), and must exercise what docs/cosim.md says it covers.
//
//===----------------------------------------------------------------------===//
#include "runtime/Cosim.h"

#include "accel/Golden.h"
#include "arch/ArchSpec.h"

#include <gtest/gtest.h>

namespace tessera::runtime {
namespace {

accel::TileConfig smallTest() {
  auto spec = arch::loadArchSpec(std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml");
  EXPECT_TRUE(spec.ok());
  return accel::TileConfig::fromArchSpec(*spec);
}

TEST(RandomProgram, AssemblesAndRunsOnTheGoldenModel) {
  accel::TileConfig cfg = smallTest();
  unsigned sparse = 0, transposed = 0, mx = 0, zeroSkipped = 0, stores = 0, vector = 0;
  for (uint64_t seed = 0; seed < 150; ++seed) {
    std::vector<uint8_t> dram;
    RandomProgramOptions opts;
    std::string text = randomProgram(cfg, seed, opts, dram);
    auto prog = accel::assemble(text, "<random " + std::to_string(seed) + ">", &cfg);
    ASSERT_TRUE(prog.ok()) << prog.error().render() << "\n" << text;
    auto g = accel::runGolden(cfg, *prog, dram);
    ASSERT_TRUE(g.ok()) << g.error().render() << "\n" << text;
    sparse += text.find("gemmsp") != std::string::npos;
    transposed += text.find(", ta") != std::string::npos || text.find(", tb") != std::string::npos;
    mx += text.find("=mx") != std::string::npos;
    zeroSkipped += g->gemmSkippedSteps > 0;
    stores += text.find(" st ") != std::string::npos || text.find("st      acc") != std::string::npos;
    vector += text.find("        v") != std::string::npos;
  }
  // Coverage of the 150 programs (each of these is a property of the generator).
  EXPECT_GT(sparse, 30u);
  EXPECT_GT(transposed, 30u);
  EXPECT_GT(mx, 30u);
  EXPECT_GT(zeroSkipped, 10u);
  EXPECT_EQ(stores, 150u);
  EXPECT_GT(vector, 60u);
}

TEST(RandomProgram, IsDeterministic) {
  accel::TileConfig cfg = smallTest();
  std::vector<uint8_t> d1, d2;
  EXPECT_EQ(randomProgram(cfg, 7, {}, d1), randomProgram(cfg, 7, {}, d2));
  EXPECT_EQ(d1, d2);
}

} // namespace
} // namespace tessera::runtime
