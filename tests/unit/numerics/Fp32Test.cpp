//===- Fp32Test.cpp - hardware FP32 add / mul / max against the host, and FTZ/DAZ -===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

bool isSubnormal(float x) { return x != 0 && std::fabs(x) < 0x1p-126f; }

/// Random normal floats with exponents drawn so that sums and products hit rounding,
/// cancellation, large exponent gaps and overflow.
float randomNormal(std::mt19937 &rng, int lo, int hi) {
  int e = lo + int(rng() % uint32_t(hi - lo + 1));
  uint32_t bits = (rng() & 0x807FFFFFu) | (uint32_t(e + 127) << 23);
  return floatOf(bits);
}

TEST(Fp32, AddAndMulMatchHostOnNormals) {
  std::mt19937 rng(21);
  size_t checkedAdd = 0, checkedMul = 0;
  for (int i = 0; i < 300000; ++i) {
    float a = randomNormal(rng, -120, 127), b;
    switch (i % 4) {
    case 0: // close exponents: cancellation
      b = floatOf(bitsOf(a) ^ 0x80000000u ^ (rng() & 0xFF));
      break;
    case 1:
      b = randomNormal(rng, -120, 127);
      break;
    default:
      b = randomNormal(rng, -60, 60);
      break;
    }
    float s = a + b, p = a * b;
    if (!isSubnormal(s)) {
      ASSERT_EQ(fp32Add(bitsOf(a), bitsOf(b)), bitsOf(s)) << a << " + " << b;
      ++checkedAdd;
    }
    if (!isSubnormal(p) && p != 0) {
      ASSERT_EQ(fp32Mul(bitsOf(a), bitsOf(b)), bitsOf(p)) << a << " * " << b;
      ++checkedMul;
    }
    ASSERT_EQ(fp32Max(bitsOf(a), bitsOf(b)), bitsOf(std::fmax(a, b)));
  }
  EXPECT_GT(checkedAdd, 290000u);
  EXPECT_GT(checkedMul, 250000u);
}

TEST(Fp32, SpecialValues) {
  const uint32_t inf = 0x7F800000, ninf = 0xFF800000, nan = 0x7FC00000, one = 0x3F800000;
  EXPECT_EQ(fp32Add(inf, ninf), nan);
  EXPECT_EQ(fp32Add(inf, one), inf);
  EXPECT_EQ(fp32Add(0x7F800001, one), nan); // NaNs come out canonical
  EXPECT_EQ(fp32Add(one, 0xBF800000), 0u);  // x - x = +0
  EXPECT_EQ(fp32Add(0x80000000, 0x80000000), 0x80000000u);
  EXPECT_EQ(fp32Add(0x80000000, 0), 0u);
  EXPECT_EQ(fp32Add(0x7F7FFFFF, 0x7F7FFFFF), inf);
  EXPECT_EQ(fp32Add(0x7F7FFFFF, 0x72800000), 0x7F7FFFFFu); // 2^102: a quarter ulp
  EXPECT_EQ(fp32Add(0x7F7FFFFF, 0x73000000), inf); // 2^103: half an ulp, ties to even = 2^128
  EXPECT_EQ(fp32Mul(inf, 0), nan);
  EXPECT_EQ(fp32Mul(ninf, one), ninf);
  EXPECT_EQ(fp32Mul(0x80000000, one), 0x80000000u);
  EXPECT_EQ(fp32Mul(0x7F000000, 0x40000000), inf);
  EXPECT_EQ(fp32Max(nan, one), nan);
  EXPECT_EQ(fp32Max(one, 0xFFC00001), nan);
  EXPECT_EQ(fp32Max(0x80000000, 0), 0u);
  EXPECT_EQ(fp32Max(0, 0x80000000), 0u);
  EXPECT_EQ(fp32Max(ninf, 0xFF7FFFFF), 0xFF7FFFFFu);
  // A large exponent gap only decides the rounding direction.
  EXPECT_EQ(fp32Add(one, 0x0C800000), one);
  EXPECT_EQ(fp32Add(one, 0x8C800000), one);                          // 1 - tiny rounds back to 1
  EXPECT_EQ(fp32Add(0x3F800001, 0x33800000 /*2^-24*/), 0x3F800002u); // tie to even: up
  EXPECT_EQ(fp32Add(0x3F800001, 0x33800001), 0x3F800002u);
  EXPECT_EQ(fp32Add(0x3F800000, 0x33800000), one); // tie to even: down
}

TEST(Fp32, FlushToZeroAndDenormalsAreZero) {
  const uint32_t one = 0x3F800000, minNormal = 0x00800000;
  // DAZ: subnormal inputs read as zero of their sign.
  EXPECT_EQ(fp32Add(0x00000001, one), one);
  EXPECT_EQ(fp32Add(0x00000001, 0x00000001), 0u);
  EXPECT_EQ(fp32Add(0x80000001, 0x80000000), 0x80000000u);
  EXPECT_EQ(fp32Mul(0x00400000, 0x72800000 /*2^102*/), 0u);
  EXPECT_EQ(fp32Mul(0x80400000, 0x72800000), 0x80000000u);
  EXPECT_EQ(fp32Max(0x00000001, 0x80000000), 0u);
  EXPECT_EQ(fp32Max(0x80000001, 0x80000000), 0x80000000u);
  // FTZ: results below 2^-126 flush, sign kept.
  EXPECT_EQ(fp32Add(0x00C00000, 0x80800000), 0u);         // 1.5*2^-126 - 2^-126
  EXPECT_EQ(fp32Add(0x80C00000, minNormal), 0x80000000u); // negative tiny -> -0
  EXPECT_EQ(fp32Mul(0x3F000000, minNormal), 0u);          // 2^-127
  // Rounding happens first, with an unbounded exponent: (1 - 2^-24) * 2^-126 is exact at
  // exponent -127 (flushes), (1 - 2^-24)(1 + 2^-23) * 2^-126 rounds up to 2^-126.
  EXPECT_EQ(fp32Mul(0x3F7FFFFF, minNormal), 0u);
  EXPECT_EQ(fp32Mul(0x3F7FFFFF, 0x00800001), minNormal);
  EXPECT_EQ(fp32Mul(0xBF7FFFFF, minNormal), 0x80000000u);
  // The host with subnormals would give 2^-126 for the first (a tie that rounds up).
  EXPECT_EQ(bitsOf(floatOf(0x3F7FFFFF) * floatOf(minNormal)), minNormal);
}

} // namespace
