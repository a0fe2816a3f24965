//===- MxTest.cpp - E8M0 scale rules, block quantization, LFSR period, mxDecode -===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

const Format kElems[] = {Format::E4M3, Format::E5M2, Format::E3M2,
                         Format::E2M3, Format::E2M1, Format::Int8Mx};

TEST(Lfsr, MaximalPeriodAndTaps) {
  EXPECT_EQ(lfsrNext(1), 0xB400u); // Galois right shift: lsb out, taps 0xB400 in
  EXPECT_EQ(lfsrNext(0xB400), 0x5A00u);
  EXPECT_EQ(lfsrNext(0), lfsrNext(1));       // state 0 reads as 1
  EXPECT_EQ(lfsrNext(0x10001), lfsrNext(1)); // only the low 16 bits are state
  std::vector<bool> seen(65536, false);
  uint32_t s = 1;
  uint32_t period = 0;
  do {
    ASSERT_NE(s, 0u);
    ASSERT_LT(s, 65536u);
    ASSERT_FALSE(seen[s]) << "state repeated early: " << s;
    seen[s] = true;
    s = lfsrNext(s);
    ++period;
  } while (s != 1);
  EXPECT_EQ(period, 65535u);
}

/// floor(log2 |x|) by the C library (exact also for subnormals).
int floorLog2(float x) { return std::ilogb(x); }

TEST(MxScale, FloorIsTheOcpFormula) {
  std::mt19937 rng(31);
  for (Format f : kElems) {
    int emax = formatInfo(f).emax;
    for (int i = 0; i < 20000; ++i) {
      uint32_t bits = rng() & 0x7FFFFFFF;
      if (i % 4 == 0)
        bits &= 0x007FFFFF; // subnormal amax
      float a = floatOf(bits);
      if (!std::isfinite(a) || a == 0)
        continue;
      int want = std::clamp(floorLog2(a) - emax + 127, 0, 254);
      ASSERT_EQ(mxScale(bits, f, ScaleRounding::Floor), uint32_t(want)) << a;
      ASSERT_EQ(mxScale(bits | 0x80000000u, f, ScaleRounding::Floor), uint32_t(want));
    }
  }
}

TEST(MxScale, UpIsTheSmallestSufficientPowerOfTwo) {
  std::mt19937 rng(32);
  for (Format f : kElems) {
    double maxN = formatInfo(f).maxNormal;
    for (int i = 0; i < 20000; ++i) {
      uint32_t bits = rng() & 0x7FFFFFFF;
      float a = floatOf(bits);
      if (!std::isfinite(a) || a == 0)
        continue;
      // Search downwards from a scale that surely suffices.
      int k = 200;
      while (k > -300 && double(a) <= std::ldexp(maxN, k - 1))
        --k;
      int want = std::clamp(k + 127, 0, 254);
      ASSERT_EQ(mxScale(bits, f, ScaleRounding::Up), uint32_t(want)) << a;
      uint32_t fl = mxScale(bits, f, ScaleRounding::Floor);
      ASSERT_TRUE(want == int(fl) || want == int(fl) + 1 || fl == 254);
    }
  }
  // Hand cases.
  EXPECT_EQ(mxScale(bitsOf(448.0f), Format::E4M3, ScaleRounding::Floor), 127u);
  EXPECT_EQ(mxScale(bitsOf(448.0f), Format::E4M3, ScaleRounding::Up), 127u);
  EXPECT_EQ(mxScale(bitsOf(449.0f), Format::E4M3, ScaleRounding::Floor), 127u);
  EXPECT_EQ(mxScale(bitsOf(449.0f), Format::E4M3, ScaleRounding::Up), 128u);
  EXPECT_EQ(mxScale(bitsOf(1.0f), Format::E2M1, ScaleRounding::Floor), 125u);
  EXPECT_EQ(mxScale(bitsOf(7.0f), Format::E2M1, ScaleRounding::Floor), 127u);
  EXPECT_EQ(mxScale(bitsOf(7.0f), Format::E2M1, ScaleRounding::Up), 128u);
  EXPECT_EQ(mxScale(bitsOf(1.0f), Format::Int8Mx, ScaleRounding::Up), 127u);
  EXPECT_EQ(mxScale(bitsOf(1.99f), Format::Int8Mx, ScaleRounding::Up), 128u); // > 127/64
}

TEST(MxScale, ZeroSubnormalNanInf) {
  for (Format f : kElems)
    for (ScaleRounding m : {ScaleRounding::Floor, ScaleRounding::Up}) {
      EXPECT_EQ(mxScale(0, f, m), 0u);
      EXPECT_EQ(mxScale(0x80000000, f, m), 0u);
      EXPECT_EQ(mxScale(0x00000001, f, m), 0u);
      EXPECT_EQ(mxScale(0x7FC00000, f, m), 0xFFu);
      EXPECT_EQ(mxScale(0xFF800000, f, m), 0xFFu);
      EXPECT_EQ(mxScale(0x7F7FFFFF, f, m) <= 254u, true);
    }
  // The largest FP32 with Int8Mx under Up wants 2^128: clamped to 2^127.
  EXPECT_EQ(mxScale(0x7F7FFFFF, Format::Int8Mx, ScaleRounding::Up), 254u);
  // A subnormal amax just below 2^-126 needs scale 2^-126 for Int8Mx under Up.
  EXPECT_EQ(mxScale(0x007FFFFF, Format::Int8Mx, ScaleRounding::Up), 1u);
  EXPECT_EQ(mxScale(0x007FFFFF, Format::Int8Mx, ScaleRounding::Floor), 0u);
}

std::vector<uint32_t> randomBlock(std::mt19937 &rng, size_t n, int spread) {
  std::vector<uint32_t> v(n);
  int base = int(rng() % 40) - 20;
  for (auto &x : v) {
    int e = base - int(rng() % uint32_t(spread));
    x = (rng() & 0x807FFFFF) | (uint32_t(e + 127) << 23);
    if (rng() % 16 == 0)
      x &= 0x80000000; // some zeros
  }
  return v;
}

TEST(QuantizeMx, ElementsAreTheRoundedQuotients) {
  std::mt19937 rng(33);
  for (Format f : kElems)
    for (ScaleRounding mode : {ScaleRounding::Floor, ScaleRounding::Up})
      for (Rounding r : {Rounding::Nearest, Rounding::Stochastic}) {
        std::vector<uint32_t> in = randomBlock(rng, 100, 12); // 3 full blocks + 4
        uint32_t seed = rng() & 0xFFFF;
        std::vector<MxBlock> blocks = quantizeMx(in, f, mode, r, seed);
        ASSERT_EQ(blocks.size(), 4u);
        EXPECT_EQ(blocks[3].elements.size(), 4u);
        uint32_t state = seed == 0 ? 1 : seed;
        for (size_t b = 0; b < blocks.size(); ++b) {
          uint32_t amax = 0;
          for (size_t i = b * 32; i < std::min(in.size(), b * 32 + 32); ++i)
            amax = std::max(amax, in[i] & 0x7FFFFFFF);
          ASSERT_EQ(blocks[b].scale, mxScale(amax, f, mode));
          double scale = decode(Format::E8M0, blocks[b].scale);
          for (size_t i = 0; i < blocks[b].elements.size(); ++i) {
            double q = double(floatOf(in[b * 32 + i])) / scale; // exact: power of two
            uint32_t want = roundToFormat(q, f, r, Overflow::Saturate, state);
            state = lfsrNext(state);
            ASSERT_EQ(blocks[b].elements[i], want) << formatInfo(f).name << " " << q;
          }
        }
      }
}

TEST(QuantizeMx, ScaleUpNeverSaturatesFloorMay) {
  // 449 in E4M3 with the floor scale (1.0) saturates to 448; with scale 2 it is 224.
  std::vector<uint32_t> in(32, bitsOf(1.0f));
  in[5] = bitsOf(449.0f);
  auto fl = quantizeMx(in, Format::E4M3, ScaleRounding::Floor, Rounding::Nearest);
  auto up = quantizeMx(in, Format::E4M3, ScaleRounding::Up, Rounding::Nearest);
  EXPECT_EQ(fl[0].scale, 127u);
  EXPECT_EQ(fl[0].elements[5], 0x7Eu);
  EXPECT_EQ(up[0].scale, 128u);
  EXPECT_EQ(decode(Format::E4M3, up[0].elements[5]), 224.0);
  // With Up, no element of a random block reaches beyond maxNormal before rounding.
  std::mt19937 rng(34);
  for (Format f : kElems)
    for (int t = 0; t < 50; ++t) {
      std::vector<uint32_t> blk = randomBlock(rng, 32, 8);
      auto q = quantizeMx(blk, f, ScaleRounding::Up, Rounding::Nearest);
      double scale = decode(Format::E8M0, q[0].scale);
      for (uint32_t x : blk)
        ASSERT_LE(std::fabs(floatOf(x)) / scale, formatInfo(f).maxNormal);
    }
}

TEST(QuantizeMx, SeedZeroIsOneAndSpecials) {
  std::mt19937 rng(35);
  std::vector<uint32_t> in = randomBlock(rng, 64, 6);
  auto a = quantizeMx(in, Format::E2M1, ScaleRounding::Floor, Rounding::Stochastic, 0);
  auto b = quantizeMx(in, Format::E2M1, ScaleRounding::Floor, Rounding::Stochastic, 1);
  auto c = quantizeMx(in, Format::E2M1, ScaleRounding::Floor, Rounding::Stochastic, 2);
  EXPECT_EQ(a[1].elements, b[1].elements);
  EXPECT_NE(b[0].elements, c[0].elements);
  // A NaN or Inf in a block makes its scale NaN and its elements 0; the LFSR still steps.
  std::vector<uint32_t> bad = in;
  bad[3] = 0x7FC00000;
  auto q = quantizeMx(bad, Format::E2M1, ScaleRounding::Floor, Rounding::Stochastic, 1);
  EXPECT_EQ(q[0].scale, 0xFFu);
  EXPECT_EQ(q[0].elements, std::vector<uint32_t>(32, 0));
  EXPECT_EQ(q[1].elements, b[1].elements);
  bad[3] = 0xFF800000;
  EXPECT_EQ(quantizeMx(bad, Format::E4M3, ScaleRounding::Up, Rounding::Nearest)[0].scale, 0xFFu);
  // An all-zero block: scale code 0, elements +-0.
  std::vector<uint32_t> zeros(32, 0);
  zeros[7] = 0x80000000;
  auto z = quantizeMx(zeros, Format::E4M3, ScaleRounding::Floor, Rounding::Nearest);
  EXPECT_EQ(z[0].scale, 0u);
  EXPECT_EQ(z[0].elements[7], 0x80u);
  EXPECT_EQ(z[0].elements[0], 0x00u);
  EXPECT_TRUE(quantizeMx({}, Format::E4M3, ScaleRounding::Up, Rounding::Nearest).empty());
}

TEST(MxDecode, ScaledValues) {
  for (Format f : kElems)
    for (uint32_t c = 0; c < codeCount(f); ++c)
      for (uint32_t s : {0u, 100u, 127u, 130u, 254u}) {
        double v = decode(f, c) * decode(Format::E8M0, s);
        uint32_t got = mxDecode(f, s, c);
        if (std::isnan(v)) {
          EXPECT_EQ(got, 0x7FC00000u);
          continue;
        }
        // Exact where FP32 holds it; otherwise FP32 rounding (Inf, or a subnormal).
        EXPECT_EQ(got, roundToFormat(v, Format::FP32, Rounding::Nearest, Overflow::Ieee));
        if (std::fabs(v) <= 0x1.fffffep127 && (std::fabs(v) >= 0x1p-126 || v == 0)) {
          EXPECT_EQ(double(floatOf(got)), v);
        }
      }
  EXPECT_EQ(mxDecode(Format::E4M3, 0xFF, 0x38), 0x7FC00000u);
  EXPECT_EQ(mxDecode(Format::E4M3, 254, 0x7E), 0x7F800000u); // 448 * 2^127 overflows
  EXPECT_EQ(mxDecode(Format::E2M1, 0, 0x1), 0x00200000u);    // 0.5 * 2^-127 = 2^-128
  EXPECT_EQ(mxDecode(Format::E5M2, 127, 0xFC), 0xFF800000u);
}

} // namespace
