//===- DesignSpaceTest.cpp - the explore design space ---------------------------===//
#include "explore/DesignSpace.h"

#include <gtest/gtest.h>

#include <set>

using namespace tessera;
using namespace tessera::explore;

namespace {

DesignSpace standardSpace(PolicyLimits limits = {}) {
  return DesignSpace::standard(defaultTemplate(), SpaceBounds{}, limits);
}

} // namespace

TEST(DesignSpace, BuiltInTemplateEqualsTheExampleFile) {
  auto file = arch::loadArchSpec(TESSERA_SOURCE_DIR "/examples/arch/tessera-train-7nm.yaml");
  ASSERT_TRUE(file) << file.error().render();
  EXPECT_EQ(*file, defaultTemplate());
  EXPECT_EQ(defaultTemplate().name, "tessera-train-7nm");
}

TEST(DesignSpace, GridSizeIsTheProductOfTheValueCounts) {
  DesignSpace s = standardSpace();
  uint64_t n = 1;
  for (const ParamDef &d : s.params()) {
    EXPECT_GE(d.size(), 1u) << d.key;
    n *= d.size();
  }
  EXPECT_EQ(s.gridSize(), n);
  EXPECT_EQ(s.params().size(), kNumParams);
  for (size_t i = 0; i < kNumParams; ++i)
    EXPECT_EQ(size_t(s.params()[i].id), i) << "parameters are stored in Param order";
}

TEST(DesignSpace, PointAtEnumeratesEveryPointOnceInMixedRadixOrder) {
  DesignSpace s = standardSpace();
  s.setValues(Param::Tiles, {64, 128});
  s.setValues(Param::Rows, {8, 16, 32});
  s.setValues(Param::Formats, {0, 2});
  s.setValues(Param::Sparsity, {0, 1, 3});
  for (Param p : {Param::Cols, Param::DotWidth, Param::ZeroSkip, Param::ScaleCast, Param::SramKib,
                  Param::GlobalBufferMib, Param::HbmStacks, Param::ClockGhz, Param::VectorLanes,
                  Param::NocGbps})
    s.setValues(p, {s.param(p).values.back()});
  ASSERT_EQ(s.gridSize(), 2u * 3 * 2 * 3);
  std::set<DesignPoint> seen;
  for (uint64_t i = 0; i < s.gridSize(); ++i)
    seen.insert(s.pointAt(i));
  EXPECT_EQ(seen.size(), s.gridSize());
  // Last parameter fastest: index 1 changes sparsity, the first non-trivial from the end.
  EXPECT_EQ(s.pointAt(1)[size_t(Param::Sparsity)], 1);
  EXPECT_EQ(s.pointAt(3)[size_t(Param::Formats)], 1);
  // Enumerated labels follow setValues.
  EXPECT_EQ(s.param(Param::Formats).valueText(1), "bf16+fp8+mxfp8");
  EXPECT_EQ(s.param(Param::Sparsity).valueText(2), "2:4 transposable");
}

TEST(DesignSpace, NearestToBaseRebuildsTheTemplate) {
  DesignSpace s = standardSpace();
  arch::ArchSpec b = s.build(s.nearestToBase());
  const arch::ArchSpec &t = defaultTemplate();
  EXPECT_EQ(b.tiles, t.tiles);
  EXPECT_EQ(b.spareTiles, t.spareTiles);
  EXPECT_EQ(b.tile.tensor, t.tile.tensor);
  EXPECT_EQ(b.tile.scaleCast, t.tile.scaleCast);
  EXPECT_EQ(b.tile.sramKib, t.tile.sramKib);
  EXPECT_EQ(b.tile.accumulatorKib, t.tile.accumulatorKib);
  EXPECT_EQ(b.tile.vector, t.tile.vector);
  EXPECT_EQ(b.hbm, t.hbm);
  EXPECT_EQ(b.noc, t.noc);
}

TEST(DesignSpace, BoundsSetHbmStacksClocksAndLinks) {
  SpaceBounds b;
  b.hbmBudgetGBps = 2039;
  b.stackGBps = 407.8;
  b.maxClockGhz = 1.41;
  b.linkBudgetGBps = 200;
  DesignSpace s = DesignSpace::standard(defaultTemplate(), b, {});
  EXPECT_EQ(s.param(Param::HbmStacks).values, (std::vector<double>{3, 4, 5}));
  EXPECT_EQ(s.param(Param::ClockGhz).values.back(), 1.41);
  for (double c : s.param(Param::ClockGhz).values)
    EXPECT_LE(c, 1.41);
  EXPECT_EQ(s.base().links.count, 8) << "12 x 25 GB/s links cut to the A800's 200 GB/s";
  b.hbmBudgetGBps = 1000;
  EXPECT_EQ(DesignSpace::standard(defaultTemplate(), b, {}).param(Param::HbmStacks).values,
            (std::vector<double>{1, 2}));
}

TEST(DesignSpace, MaterializedPointsAreValidSpecs) {
  DesignSpace s = standardSpace();
  size_t valid = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    DesignPoint p = s.pointAt((i * 2654435761ULL) % s.gridSize());
    auto spec = s.materialize(p);
    if (!spec)
      continue;
    ++valid;
    auto again = arch::parseArchSpec(arch::writeArchSpecYaml(*spec), "<test>");
    ASSERT_TRUE(again) << again.error().render();
    EXPECT_EQ(*again, *spec);
    EXPECT_EQ(*spec, s.build(p));
    EXPECT_TRUE(perf::checkPolicy(*spec, choosePolicy(*spec, s.limits()))) << s.label(p);
  }
  EXPECT_GT(valid, 300u);
}

TEST(DesignSpace, ImpossibleCombinationsAreDiscardedNotFatal) {
  DesignSpace s = standardSpace();
  // 3-wide dot products at rate 2 give 6 MXFP8 products per cycle, which neither divide
  // nor are a multiple of the 32-element scale block: the arch loader rejects the spec.
  s.setValues(Param::DotWidth, {3});
  DesignPoint p = s.nearestToBase();
  p[size_t(Param::Formats)] = uint16_t(FormatSet::Mxfp8);
  auto bad = s.materialize(p);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().id, "bad-spec");
  p[size_t(Param::Formats)] = uint16_t(FormatSet::Bf16);
  EXPECT_TRUE(s.materialize(p)) << "the same array in BF16 only is fine";
}

TEST(DesignSpace, PolicyIsTheMostAggressiveTheFormatsSupport) {
  DesignSpace s = standardSpace();
  auto policyOf = [&](FormatSet f, SparsityMode m, PolicyLimits lim = {}) {
    DesignPoint p = s.nearestToBase();
    p[size_t(Param::Formats)] = uint16_t(f);
    p[size_t(Param::Sparsity)] = uint16_t(m);
    return choosePolicy(s.build(p), lim);
  };
  EXPECT_EQ(policyOf(FormatSet::Bf16, SparsityMode::Dense).name, "bf16");
  EXPECT_EQ(policyOf(FormatSet::Bf16, SparsityMode::Forward).name, "bf16-sparse");
  EXPECT_EQ(policyOf(FormatSet::Fp8, SparsityMode::Dense).name, "fp8");
  EXPECT_EQ(policyOf(FormatSet::Mxfp8, SparsityMode::Dense).name, "mxfp8");
  perf::PrecisionPolicy ms = policyOf(FormatSet::Mxfp8, SparsityMode::SeparateMasks);
  EXPECT_EQ(ms.name, "mxfp8-sparse");
  EXPECT_TRUE(ms.sparseWeights);
  EXPECT_EQ(ms.forwardGemm, arch::Format::MXFP8);
  // The recipe bound: MXFP6/4 hardware trains in MXFP8 unless the user allows narrower.
  EXPECT_EQ(policyOf(FormatSet::MxLow, SparsityMode::Dense).name, "mxfp8");
  PolicyLimits six;
  six.narrowest = Precision::Mxfp6;
  EXPECT_EQ(policyOf(FormatSet::MxLow, SparsityMode::Dense, six).name, "mxfp6");
  PolicyLimits fp8;
  fp8.narrowest = Precision::Fp8;
  fp8.allowSparsity = false;
  perf::PrecisionPolicy capped = policyOf(FormatSet::Mxfp8, SparsityMode::Transposable, fp8);
  EXPECT_EQ(capped.name, "fp8");
  EXPECT_FALSE(capped.sparseWeights);
  // Zero-skipping densities only where the hardware skips zeros.
  PolicyLimits dens;
  dens.activationDensity = 0.5;
  dens.gradientDensity = 0.7;
  DesignPoint p = s.nearestToBase();
  p[size_t(Param::ZeroSkip)] = 1;
  EXPECT_EQ(choosePolicy(s.build(p), dens).activationDensity, 0.5);
  EXPECT_EQ(choosePolicy(s.build(p), dens).gradientDensity, 0.7);
  p[size_t(Param::ZeroSkip)] = 0;
  EXPECT_EQ(choosePolicy(s.build(p), dens).activationDensity, 1.0);
}

TEST(DesignSpace, ParsesPrecisionNames) {
  EXPECT_EQ(*parsePrecision("mxfp6"), Precision::Mxfp6);
  auto bad = parsePrecision("mxfp7");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().id, "bad-value");
  EXPECT_NE(bad.error().render().find("did you mean"), std::string::npos);
}
