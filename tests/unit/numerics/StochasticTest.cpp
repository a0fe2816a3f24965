//===- StochasticTest.cpp - stochastic rounding: exact round-up counts, unbiasedness -===//
//
// Over all 65536 values of random16, an input whose discarded fraction has top 16 bits F
// must round up exactly F times (fewer than 16 discarded bits are padded with zeros).
//
//===----------------------------------------------------------------------===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

/// Counts how often each of the two candidate codes comes out over all random16 values.
struct Count {
  uint32_t down = 0, up = 0, other = 0;
};
Count countAll(uint32_t x, Format f, uint32_t downCode, uint32_t upCode,
               Overflow o = Overflow::Ieee) {
  Count c;
  for (uint32_t r = 0; r < 65536; ++r) {
    uint32_t got = convertFromFp32(x, f, Rounding::Stochastic, o, r);
    if (got == downCode)
      ++c.down;
    else if (got == upCode)
      ++c.up;
    else
      ++c.other;
  }
  return c;
}

TEST(Stochastic, Bf16DiscardsExactly16Bits) {
  for (uint32_t low : {0u, 1u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu, 12345u}) {
    for (uint32_t hi : {0x3F80u, 0xC2F7u, 0x0001u /* subnormal */, 0x007Fu}) {
      uint32_t x = (hi << 16) | low;
      Count c = countAll(x, Format::BF16, hi, hi + 1);
      EXPECT_EQ(c.other, 0u);
      EXPECT_EQ(c.up, low) << std::hex << x; // magnitude rounds up for negatives too
      EXPECT_EQ(c.down, 65536 - low);
    }
  }
  // Carry into the next binade and into Inf.
  EXPECT_EQ(countAll(0x3FFFFFFF, Format::BF16, 0x3FFF, 0x4000).up, 0xFFFFu);
  EXPECT_EQ(countAll(0x7F7FFFFF, Format::BF16, 0x7F7F, 0x7F80).up, 0xFFFFu);
  EXPECT_EQ(countAll(0x7F7FFFFF, Format::BF16, 0x7F7F, 0x7F80, Overflow::Saturate).down, 65536u);
}

TEST(Stochastic, FewerThan16DiscardedBitsArePadded) {
  // FP32 -> FP16 (normal range) discards 13 bits: F = rem << 3.
  for (uint32_t rem : {1u, 0x1000u, 0x1FFFu, 0x0ABCu}) {
    float base = 1.5f;
    uint32_t x = bitsOf(base) | rem;
    Count c = countAll(x, Format::FP16, 0x3E00, 0x3E01);
    EXPECT_EQ(c.other, 0u);
    EXPECT_EQ(c.up, rem << 3);
  }
}

TEST(Stochastic, MoreThan16DiscardedBitsUseTheTop16) {
  // FP32 -> E4M3 (normal) discards 20 bits: F = rem >> 4; the low 4 bits never matter.
  for (uint32_t rem : {0xFu, 0x10u, 0x80000u, 0xFFFFFu, 0x12345u}) {
    uint32_t x = bitsOf(1.0f) | rem;
    Count c = countAll(x, Format::E4M3, 0x38, 0x39);
    EXPECT_EQ(c.other, 0u);
    EXPECT_EQ(c.up, rem >> 4);
  }
}

TEST(Stochastic, SubnormalTargets) {
  // E4M3 subnormals have quantum 2^-9: the discarded fraction is frac(x / 2^-9).
  std::mt19937 rng(11);
  for (int i = 0; i < 40; ++i) {
    float x = std::ldexp(float(rng() % 0x1000000) * 0x1p-24f, -6 - int(rng() % 3)); // < 2^-6
    double q = double(x) / 0x1p-9;
    double fl = std::floor(q);
    uint32_t down = convertFromFp32(bitsOf(float(fl * 0x1p-9)), Format::E4M3, Rounding::Nearest,
                                    Overflow::Ieee);
    uint32_t up = convertFromFp32(bitsOf(float((fl + 1) * 0x1p-9)), Format::E4M3, Rounding::Nearest,
                                  Overflow::Ieee);
    uint32_t want = uint32_t(std::floor((q - fl) * 65536));
    Count c = countAll(bitsOf(x), Format::E4M3, down, up);
    EXPECT_EQ(c.other, 0u) << x;
    EXPECT_EQ(q == fl ? c.down : c.up, q == fl ? 65536u : want) << x;
  }
  // FP16 subnormal target from FP32 2^-25 * 1.25: quantum 2^-24, fraction 0.625.
  Count c = countAll(bitsOf(0x1.4p-25f), Format::FP16, 0x0000, 0x0001);
  EXPECT_EQ(c.up, 0xA000u);
  // Values far below the quantum never round up (the top 16 discarded bits are zero).
  EXPECT_EQ(countAll(bitsOf(0x1p-30f), Format::E4M3, 0x00, 0x01).up, 0u);
}

TEST(Stochastic, Int8MxAndMxFormats) {
  // Int8Mx: value * 64 = 10.25 -> 10 or 11, F = 0x4000.
  Count c = countAll(bitsOf(10.25f / 64), Format::Int8Mx, 10, 11);
  EXPECT_EQ(c.up, 0x4000u);
  c = countAll(bitsOf(-10.25f / 64), Format::Int8Mx, uint32_t(-10) & 0xFF, uint32_t(-11) & 0xFF);
  EXPECT_EQ(c.up, 0x4000u);
  // E2M1 between 4 and 6: 5.5 is 3/4 of the way.
  c = countAll(bitsOf(5.5f), Format::E2M1, 0x6, 0x7);
  EXPECT_EQ(c.up, 0xC000u);
  // E4M3 beyond 448 saturates whichever way it rounds.
  c = countAll(bitsOf(460.0f), Format::E4M3, 0x7E, 0x7F);
  EXPECT_EQ(c.down, 65536u);
}

// Averaged over all random16 values the rounded value equals the input exactly when at
// most 16 bits are discarded.
TEST(Stochastic, UnbiasedOverAllRandomValues) {
  std::mt19937 rng(12);
  for (int i = 0; i < 30; ++i) {
    // Exponents inside FP16's normal range, so both formats discard at most 16 bits.
    uint32_t x = (rng() & 0x807FFFFF) | ((127 - 14 + rng() % 29) << 23);
    for (Format f : {Format::BF16, Format::FP16}) {
      double sum = 0;
      for (uint32_t r = 0; r < 65536; ++r)
        sum += decode(f, convertFromFp32(x, f, Rounding::Stochastic, Overflow::Ieee, r));
      EXPECT_EQ(sum, double(floatOf(x)) * 65536) << formatInfo(f).name << std::hex << x;
    }
  }
  // A statistical check with pseudo-random bits: summing many small increments in BF16
  // stays near the exact sum with stochastic rounding and stalls with RNE.
  float exact = 0;
  uint32_t sr = bitsOf(256.0f) >> 16, rne = sr;
  std::mt19937 bits(13);
  for (int i = 0; i < 4000; ++i) {
    float inc = 0.25f; // a quarter of BF16's ulp at 256
    exact += inc;
    sr = convertFromFp32(bitsOf(decodeFloat(Format::BF16, sr) + inc), Format::BF16,
                         Rounding::Stochastic, Overflow::Ieee, bits() & 0xFFFF);
    rne = convertFromFp32(bitsOf(decodeFloat(Format::BF16, rne) + inc), Format::BF16,
                          Rounding::Nearest, Overflow::Ieee);
  }
  EXPECT_EQ(decodeFloat(Format::BF16, rne), 256.0f);
  // The stochastic walk's standard deviation here is about 90 (ulp 4..8, p = 1/16..1/32).
  EXPECT_NEAR(decodeFloat(Format::BF16, sr), 256.0f + exact, 300.0);
}

} // namespace
