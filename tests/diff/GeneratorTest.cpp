//===- GeneratorTest.cpp - the random design generator itself ----------------===//
//
// Generated designs verify, are deterministic, round-trip through the text form, and
// over a few hundred seeds cover every op kind and every structure the generator offers.
//
//===----------------------------------------------------------------------===//
#include "hw/RandomDesign.h"
#include "hw/Text.h"
#include "hw/Verify.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace tessera;

namespace {

std::string verifyText(const hw::Design &d) {
  DiagnosticEngine diags;
  if (hw::verifyDesign(d, diags))
    return "";
  std::ostringstream os;
  diags.print(os);
  return os.str();
}

TEST(Generator, DesignsVerifyAndCoverEveryOp) {
  hw::RandomDesignStats stats;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    hw::RandomDesignOptions o;
    o.seed = seed;
    hw::Design d = hw::generateRandomDesign(o, &stats);
    ASSERT_EQ(verifyText(d), "") << "seed " << seed << "\n" << hw::printDesign(d);
  }
  for (int k = 0; k < hw::kNumOpKinds; ++k)
    EXPECT_GT(stats.ops[k], 0u) << "op kind never generated: "
                                << hw::mnemonic(static_cast<hw::OpKind>(k));
  EXPECT_GT(stats.arrays, 0u);
  EXPECT_GT(stats.chainedArrays, 0u);
  EXPECT_GT(stats.feedbackInstances, 0u);
  EXPECT_GT(stats.asyncResetRegs, 0u);
  EXPECT_GT(stats.syncResetRegs, 0u);
  EXPECT_GT(stats.enableRegs, 0u);
  EXPECT_GT(stats.syncReads, 0u);
  EXPECT_GT(stats.asyncReads, 0u);
  EXPECT_GT(stats.writePorts, stats.memories); // several write ports per memory
  EXPECT_GT(stats.zeroDivisors, 0u);
  EXPECT_GT(stats.wideValues, 0u);
}

TEST(Generator, SameSeedSameDesign) {
  hw::RandomDesignOptions o;
  o.seed = 42;
  std::string a = hw::printDesign(hw::generateRandomDesign(o));
  std::string b = hw::printDesign(hw::generateRandomDesign(o));
  EXPECT_EQ(a, b);
  o.seed = 43;
  EXPECT_NE(a, hw::printDesign(hw::generateRandomDesign(o)));
}

TEST(Generator, TextRoundTrip) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    hw::RandomDesignOptions o;
    o.seed = seed;
    std::string text = hw::printDesign(hw::generateRandomDesign(o));
    auto parsed = hw::parseDesign(text, "random.hw");
    ASSERT_TRUE(parsed.ok()) << "seed " << seed << ": " << parsed.error().render();
    EXPECT_EQ(hw::printDesign(*parsed), text) << "seed " << seed;
  }
}

TEST(Generator, FeaturesCanBeTurnedOff) {
  hw::RandomDesignOptions o;
  o.hierarchy = o.memories = o.registers = o.division = false;
  o.maxWidth = 16;
  hw::RandomDesignStats stats;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    o.seed = seed;
    hw::Design d = hw::generateRandomDesign(o, &stats);
    ASSERT_EQ(verifyText(d), "") << "seed " << seed;
    EXPECT_EQ(d.modules().size(), 1u);
    for (const hw::Op &op : d.modules()[0]->ops)
      EXPECT_LT(op.width, 2 * 16u); // replication may overshoot before an extract
  }
  EXPECT_EQ(stats.ops[static_cast<int>(hw::OpKind::Reg)], 0u);
  EXPECT_EQ(stats.ops[static_cast<int>(hw::OpKind::MemRead)], 0u);
  EXPECT_EQ(stats.ops[static_cast<int>(hw::OpKind::DivS)], 0u);
  EXPECT_EQ(stats.wideValues, 0u);
}

TEST(Generator, BatchHasPrefixedPortsAndVerifies) {
  hw::RandomDesignOptions o;
  o.seed = 7;
  hw::Design d = hw::generateRandomBatch(o, 5);
  ASSERT_EQ(verifyText(d), "");
  const hw::Module *top = d.top();
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->name(), "diff_top");
  EXPECT_EQ(top->ports[0].name, "clk");
  EXPECT_EQ(top->ports[1].name, "rst");
  for (size_t p = 2; p < top->ports.size(); ++p)
    EXPECT_EQ(top->ports[p].name[0], 'd') << top->ports[p].name;
  EXPECT_EQ(top->instances.size(), 5u);
  // Design k of a batch is the design of seed + k.
  hw::RandomDesignOptions o3 = o;
  o3.seed = 10;
  o3.prefix = "d3_";
  hw::Design alone = hw::generateRandomDesign(o3);
  EXPECT_EQ(hw::printModule(*alone.find("d3_top")), hw::printModule(*d.find("d3_top")));
}

} // namespace
