//===- FormatsTest.cpp - format tables, exhaustive code round trips, RNE vs a table search ===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

const Format kNarrow[] = {Format::E4M3, Format::E5M2,   Format::E3M2, Format::E2M3,
                          Format::E2M1, Format::Int8Mx, Format::E8M0};
const Format kNarrowFloat[] = {Format::E4M3, Format::E5M2, Format::E3M2, Format::E2M3,
                               Format::E2M1};

struct RefRow {
  Format f;
  unsigned bits, e, m;
  int bias;
  double maxNormal, minNormal, minSub; // minSub 0: no subnormals
  int emax;
};

// shared/reference/number-formats.md, one row per format.
const RefRow kRef[] = {
    {Format::FP32, 32, 8, 23, 127, 0x1.fffffep127, 0x1p-126, 0x1p-149, 127},
    {Format::BF16, 16, 8, 7, 127, 0x1.fep127, 0x1p-126, 0x1p-133, 127},
    {Format::FP16, 16, 5, 10, 15, 65504, 0x1p-14, 0x1p-24, 15},
    {Format::E5M2, 8, 5, 2, 15, 57344, 0x1p-14, 0x1p-16, 15},
    {Format::E4M3, 8, 4, 3, 7, 448, 0x1p-6, 0x1p-9, 8},
    {Format::E3M2, 6, 3, 2, 3, 28, 0.25, 0.0625, 4},
    {Format::E2M3, 6, 2, 3, 1, 7.5, 1.0, 0.125, 2},
    {Format::E2M1, 4, 2, 1, 1, 6.0, 1.0, 0.5, 2},
};

TEST(Formats, InfoMatchesReferenceTable) {
  for (const RefRow &r : kRef) {
    const FormatInfo &fi = formatInfo(r.f);
    SCOPED_TRACE(std::string(fi.name));
    EXPECT_EQ(fi.bits, r.bits);
    EXPECT_EQ(fi.expBits, r.e);
    EXPECT_EQ(fi.manBits, r.m);
    EXPECT_EQ(fi.bias, r.bias);
    EXPECT_EQ(fi.maxNormal, r.maxNormal);
    EXPECT_EQ(fi.emax, r.emax);
    // The table's extremes are the decoded extremes of the codes.
    if (fi.bits <= 16) {
      double maxv = 0, minPos = HUGE_VAL;
      for (uint32_t c = 0; c < (1u << fi.bits); ++c) {
        double v = decode(r.f, c);
        if (std::isfinite(v) && v > 0) {
          maxv = std::max(maxv, v);
          minPos = std::min(minPos, v);
        }
      }
      EXPECT_EQ(maxv, r.maxNormal);
      EXPECT_EQ(minPos, r.minSub);
    }
    EXPECT_EQ(decode(r.f, 1u << r.m), r.minNormal);                  // exponent field 1, mantissa 0
    EXPECT_EQ(decode(r.f, 1), r.minSub);                             // smallest subnormal
    EXPECT_EQ(decode(r.f, (1u << r.m) - 1), r.minNormal - r.minSub); // largest subnormal
  }
  // E2M1's whole value set.
  const double e2m1[] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (uint32_t c = 0; c < 8; ++c) {
    EXPECT_EQ(decode(Format::E2M1, c), e2m1[c]);
    EXPECT_EQ(decode(Format::E2M1, c | 8), -e2m1[c]);
  }
  EXPECT_EQ(formatInfo(Format::E8M0).maxNormal, 0x1p127);
  EXPECT_EQ(decode(Format::E8M0, 0), 0x1p-127);
  EXPECT_EQ(decode(Format::E8M0, 0xFE), 0x1p127);
  EXPECT_TRUE(std::isnan(decode(Format::E8M0, 0xFF)));
  EXPECT_EQ(formatInfo(Format::Int8Mx).maxNormal, 127.0 / 64);
  EXPECT_EQ(formatInfo(Format::Int8Mx).emax, 0);
  EXPECT_EQ(decode(Format::Int8Mx, 0x7F), 127.0 / 64);
  EXPECT_EQ(decode(Format::Int8Mx, 0x80), -2.0);
  EXPECT_EQ(decode(Format::Int8Mx, 0xFF), -1.0 / 64);
}

TEST(Formats, SpecialCodesDecode) {
  EXPECT_TRUE(std::isnan(decode(Format::E4M3, 0x7F)));
  EXPECT_TRUE(std::isnan(decode(Format::E4M3, 0xFF)));
  EXPECT_EQ(decode(Format::E4M3, 0x78), 256.0); // S.1111.000 is finite: no Inf in E4M3
  EXPECT_EQ(decode(Format::E5M2, 0x7C), HUGE_VAL);
  EXPECT_EQ(decode(Format::E5M2, 0xFC), -HUGE_VAL);
  for (uint32_t c : {0x7Du, 0x7Eu, 0x7Fu, 0xFDu})
    EXPECT_TRUE(std::isnan(decode(Format::E5M2, c)));
  EXPECT_EQ(decode(Format::FP16, 0x7C00), HUGE_VAL);
  EXPECT_TRUE(std::isnan(decode(Format::BF16, 0x7FC1)));
  EXPECT_EQ(decode(Format::E3M2, 0x1F), 28.0); // MX formats: every code is finite
  EXPECT_EQ(decode(Format::E2M3, 0x3F), -7.5);
  EXPECT_TRUE(std::signbit(decode(Format::E2M1, 0x8)));
  // High bits beyond the format's width are ignored.
  EXPECT_EQ(decode(Format::E2M1, 0xF7), 6.0);
}

TEST(Formats, NamesRoundTrip) {
  for (unsigned i = 0; i <= unsigned(Format::E8M0); ++i) {
    Format f = Format(i), g;
    ASSERT_TRUE(formatFromName(formatInfo(f).name, g));
    EXPECT_EQ(g, f);
  }
  Format g;
  EXPECT_FALSE(formatFromName("fp8", g));
  EXPECT_FALSE(formatFromName("E4M3", g));
  EXPECT_EQ(codeToString(Format::E4M3, 0x7E), "e4m3:0x7e(448)");
  EXPECT_EQ(codeToString(Format::E2M1, 0xB), "e2m1:0xb(-1.5)");
}

uint32_t canonicalNan(Format f) {
  switch (f) {
  case Format::E4M3:
    return 0x7F;
  case Format::E5M2:
    return 0x7E;
  case Format::E8M0:
    return 0xFF;
  case Format::BF16:
    return 0x7FC0;
  case Format::FP16:
    return 0x7E00;
  default:
    return 0;
  }
}

// Every code: decode agrees with the FP32 widening, and converting the widened value back
// gives the code again (NaNs give the canonical NaN), under both overflow modes.
TEST(Formats, ExhaustiveNarrowRoundTrip) {
  for (Format f : kNarrow) {
    SCOPED_TRACE(std::string(formatInfo(f).name));
    for (uint32_t c = 0; c < codeCount(f); ++c) {
      uint32_t x = convertToFp32(f, c);
      double v = decode(f, c);
      if (std::isnan(v)) {
        EXPECT_TRUE(std::isnan(floatOf(x)));
        EXPECT_EQ(x, 0x7FC00000u);
        EXPECT_EQ(convertFromFp32(x, f, Rounding::Nearest, Overflow::Ieee), canonicalNan(f));
        continue;
      }
      EXPECT_EQ(double(floatOf(x)), v) << c;
      EXPECT_EQ(std::signbit(floatOf(x)), std::signbit(v)) << c;
      EXPECT_EQ(decodeFloat(f, c), floatOf(x));
      EXPECT_EQ(convertFromFp32(x, f, Rounding::Nearest, Overflow::Ieee), c) << c;
      EXPECT_EQ(convertFromFp32(x, f, Rounding::Nearest, Overflow::Saturate), c) << c;
      // An exact value never rounds, whatever the random bits.
      EXPECT_EQ(convertFromFp32(x, f, Rounding::Stochastic, Overflow::Ieee, 0xFFFF), c) << c;
      EXPECT_EQ(roundToFormat(v, f, Rounding::Nearest, Overflow::Ieee), c) << c;
    }
  }
}

// Positive codes increase in value with the code; negative codes mirror them.
TEST(Formats, ExhaustiveOrderingIsMonotone) {
  for (Format f : kNarrowFloat) {
    SCOPED_TRACE(std::string(formatInfo(f).name));
    uint32_t signBit = 1u << (formatInfo(f).bits - 1);
    double prev = -1;
    for (uint32_t c = 0; c < signBit; ++c) {
      double v = decode(f, c);
      if (std::isnan(v))
        continue;
      EXPECT_GT(v, prev) << c;
      prev = v;
      EXPECT_EQ(decode(f, c | signBit), -v);
    }
  }
  double prev = -3;
  for (int i = -128; i < 128; ++i) {
    double v = decode(Format::Int8Mx, uint32_t(i) & 0xFF);
    EXPECT_EQ(v, i / 64.0);
    EXPECT_GT(v, prev);
    prev = v;
  }
  for (uint32_t c = 1; c < 0xFF; ++c)
    EXPECT_EQ(decode(Format::E8M0, c), 2 * decode(Format::E8M0, c - 1));
}

TEST(Formats, Exhaustive16BitRoundTrip) {
  for (Format f : {Format::BF16, Format::FP16}) {
    SCOPED_TRACE(std::string(formatInfo(f).name));
    for (uint32_t c = 0; c < 65536; ++c) {
      uint32_t x = convertToFp32(f, c);
      double v = decode(f, c);
      if (std::isnan(v)) {
        EXPECT_EQ(x, 0x7FC00000u);
        EXPECT_EQ(convertFromFp32(x, f, Rounding::Nearest, Overflow::Ieee), canonicalNan(f));
        continue;
      }
      ASSERT_EQ(double(floatOf(x)), v) << c;
      ASSERT_EQ(std::signbit(floatOf(x)), std::signbit(v)) << c;
      if (f == Format::BF16) {
        ASSERT_EQ(x, c << 16) << c; // BF16 is the top half of FP32
      }
      ASSERT_EQ(convertFromFp32(x, f, Rounding::Nearest, Overflow::Ieee), c) << c;
      ASSERT_EQ(convertFromFp32(x, f, Rounding::Nearest, Overflow::Saturate), c) << c;
    }
  }
  // FP32 itself: identity except NaN canonicalisation, subnormals kept.
  for (uint32_t x : {0x00000001u, 0x007FFFFFu, 0x80000001u, 0x7F7FFFFFu, 0x3F800000u}) {
    EXPECT_EQ(convertFromFp32(x, Format::FP32, Rounding::Nearest, Overflow::Ieee), x);
    EXPECT_EQ(convertToFp32(Format::FP32, x), x);
  }
  EXPECT_EQ(convertFromFp32(0xFFC00001u, Format::FP32, Rounding::Nearest, Overflow::Ieee),
            0x7FC00000u);
}

/// FP32 test points around every value of a narrow format: each value, each midpoint
/// between neighbours, one FP32 ulp either side of both, points past the top, and random
/// values across (and beyond) the format's exponent range.
std::vector<float> probePoints(Format f, std::mt19937 &rng) {
  ValueTable t = positiveValues(f);
  std::vector<float> pts;
  auto around = [&](double v) {
    float x = float(v);
    pts.push_back(x);
    pts.push_back(std::nextafter(x, 0.0f));
    pts.push_back(std::nextafter(x, HUGE_VALF));
  };
  for (size_t i = 0; i < t.pos.size(); ++i) {
    around(t.pos[i].first);
    if (i + 1 < t.pos.size())
      around((t.pos[i].first + t.pos[i + 1].first) / 2);
  }
  double maxv = t.pos.back().first, ulp = maxv - t.pos[t.pos.size() - 2].first;
  for (double k : {0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 10.0})
    around(maxv + k * ulp);
  around(1e30);
  const FormatInfo &fi = formatInfo(f);
  std::uniform_real_distribution<double> expo(1 - fi.bias - int(fi.manBits) - 4, fi.emax + 3);
  std::uniform_int_distribution<uint32_t> man(0, 0x7FFFFF);
  for (int i = 0; i < 20000; ++i) {
    float x = std::ldexp(1.0f + float(man(rng)) * 0x1p-23f, int(std::floor(expo(rng))));
    pts.push_back(x);
  }
  pts.push_back(0x1p-149f); // FP32 subnormals are honoured: they round to +-0 here
  pts.push_back(0x1p-127f);
  size_t n = pts.size();
  for (size_t i = 0; i < n; ++i)
    pts.push_back(-pts[i]);
  return pts;
}

TEST(Formats, NarrowNearestEvenAgainstTableSearch) {
  std::mt19937 rng(5);
  for (Format f : kNarrowFloat) {
    SCOPED_TRACE(std::string(formatInfo(f).name));
    ValueTable t = positiveValues(f);
    for (float x : probePoints(f, rng)) {
      uint32_t b = bitsOf(x);
      ASSERT_EQ(convertFromFp32(b, f, Rounding::Nearest, Overflow::Saturate),
                nearestReference(f, t, x, false))
          << x;
      ASSERT_EQ(convertFromFp32(b, f, Rounding::Nearest, Overflow::Ieee),
                nearestReference(f, t, x, true))
          << x;
    }
  }
}

TEST(Formats, Int8MxRoundsTimes64ToEvenAndClamps) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-2.5f, 2.5f);
  std::vector<float> pts = {0.0f,         -0.0f,  1.0f / 128, 3.0f / 128, -1.0f / 128, -3.0f / 128,
                            2.0f,         -2.0f,  -2.01f,     1.99f,      -1.99f,      127.5f / 64,
                            -128.5f / 64, 100.0f, -100.0f,    1e-30f};
  for (int i = 0; i < 20000; ++i)
    pts.push_back(d(rng));
  for (int i = -300; i <= 300; ++i) // every half-step tie
    pts.push_back(float(i) / 128);
  for (float x : pts) {
    double q = std::nearbyint(double(x) * 64); // FE_TONEAREST: ties to even
    int want = int(std::clamp(q, -128.0, 127.0));
    EXPECT_EQ(convertFromFp32(bitsOf(x), Format::Int8Mx, Rounding::Nearest, Overflow::Ieee),
              uint32_t(want) & 0xFF)
        << x;
  }
}

TEST(Formats, NanInfAndSaturation) {
  const uint32_t qnan = 0x7FC00000, nnan = 0xFFC00000, inf = 0x7F800000, ninf = 0xFF800000;
  auto cv = [](uint32_t x, Format f, Overflow o = Overflow::Ieee) {
    return convertFromFp32(x, f, Rounding::Nearest, o);
  };
  // Canonical NaNs.
  EXPECT_EQ(cv(nnan, Format::FP32), 0x7FC00000u);
  EXPECT_EQ(cv(0x7F800001, Format::BF16), 0x7FC0u); // a signalling NaN too
  EXPECT_EQ(cv(nnan, Format::FP16), 0x7E00u);
  EXPECT_EQ(cv(nnan, Format::E4M3), 0x7Fu);
  EXPECT_EQ(cv(nnan, Format::E5M2), 0x7Eu);
  EXPECT_EQ(cv(nnan, Format::E8M0), 0xFFu);
  // No NaN: maxNormal with the input's sign (Int8Mx: the clamp bounds).
  EXPECT_EQ(cv(qnan, Format::E3M2), 0x1Fu);
  EXPECT_EQ(cv(nnan, Format::E3M2), 0x3Fu);
  EXPECT_EQ(cv(qnan, Format::E2M3), 0x1Fu);
  EXPECT_EQ(cv(nnan, Format::E2M1), 0xFu);
  EXPECT_EQ(cv(qnan, Format::Int8Mx), 0x7Fu);
  EXPECT_EQ(cv(nnan, Format::Int8Mx), 0x80u);
  // Inf stays Inf where the format has it (under both modes: it is not a finite overflow).
  for (Overflow o : {Overflow::Ieee, Overflow::Saturate}) {
    EXPECT_EQ(cv(inf, Format::E5M2, o), 0x7Cu);
    EXPECT_EQ(cv(ninf, Format::FP16, o), 0xFC00u);
    EXPECT_EQ(cv(ninf, Format::BF16, o), 0xFF80u);
    EXPECT_EQ(cv(inf, Format::E4M3, o), 0x7Eu); // E4M3 saturates: no Inf
    EXPECT_EQ(cv(ninf, Format::E4M3, o), 0xFEu);
    EXPECT_EQ(cv(ninf, Format::E2M1, o), 0xFu);
    EXPECT_EQ(cv(inf, Format::E8M0, o), 0xFEu);
  }
  // Finite overflow.
  EXPECT_EQ(cv(bitsOf(65519.0f), Format::FP16), 0x7BFFu);
  EXPECT_EQ(cv(bitsOf(65520.0f), Format::FP16), 0x7C00u); // tie with max (odd) -> Inf
  EXPECT_EQ(cv(bitsOf(65520.0f), Format::FP16, Overflow::Saturate), 0x7BFFu);
  EXPECT_EQ(cv(bitsOf(-1e10f), Format::FP16, Overflow::Saturate), 0xFBFFu);
  EXPECT_EQ(cv(0x7F7FFFFF, Format::BF16), 0x7F80u); // rounds past the top -> Inf
  EXPECT_EQ(cv(0x7F7FFFFF, Format::BF16, Overflow::Saturate), 0x7F7Fu);
  EXPECT_EQ(cv(bitsOf(464.0f), Format::E4M3), 0x7Eu); // tie 448/480: 448 is even
  EXPECT_EQ(cv(bitsOf(465.0f), Format::E4M3), 0x7Eu); // would be 480 = NaN code: saturate
  EXPECT_EQ(cv(bitsOf(-1e6f), Format::E4M3), 0xFEu);
  EXPECT_EQ(cv(bitsOf(61440.0f), Format::E5M2), 0x7Cu); // tie 57344/65536 -> Inf
  EXPECT_EQ(cv(bitsOf(61439.0f), Format::E5M2), 0x7Bu);
  EXPECT_EQ(cv(bitsOf(61440.0f), Format::E5M2, Overflow::Saturate), 0x7Bu);
  EXPECT_EQ(cv(bitsOf(30.0f), Format::E3M2), 0x1Fu);
  EXPECT_EQ(cv(bitsOf(-7.75f), Format::E2M3), 0x3Fu);
  // Signed zeros and underflow.
  EXPECT_EQ(cv(bitsOf(-0.0f), Format::E4M3), 0x80u);
  EXPECT_EQ(cv(bitsOf(-0x1p-11f), Format::E4M3), 0x80u); // below half the min subnormal
  EXPECT_EQ(cv(bitsOf(0x1p-10f), Format::E4M3), 0x00u);  // exactly half: tie to even 0
  EXPECT_EQ(cv(bitsOf(0x1.8p-10f), Format::E4M3), 0x01u);
  EXPECT_EQ(cv(bitsOf(-0.0f), Format::Int8Mx), 0x00u);
  EXPECT_EQ(cv(0x00400000, Format::BF16), 0x0040u); // FP32 subnormal -> BF16 subnormal
  EXPECT_EQ(cv(0x00000001, Format::FP16), 0x0000u);
}

TEST(Formats, E8M0Conversion) {
  auto cv = [](float x) {
    return convertFromFp32(bitsOf(x), Format::E8M0, Rounding::Nearest, Overflow::Ieee);
  };
  EXPECT_EQ(cv(1.0f), 127u);
  EXPECT_EQ(cv(1.4f), 127u);
  // No stored mantissa: the kept significand is the implicit 1, odd, so ties round up.
  EXPECT_EQ(cv(1.5f), 128u);
  EXPECT_EQ(cv(3.0f), 129u);
  EXPECT_EQ(cv(2.999f), 128u);
  EXPECT_EQ(cv(-4.0f), 129u); // the sign is ignored
  EXPECT_EQ(cv(0.0f), 0u);    // no zero: the smallest scale
  EXPECT_EQ(cv(0x1p-140f), 0u);
  EXPECT_EQ(cv(0x1p-127f), 0u);
  EXPECT_EQ(cv(0x1p127f), 254u);
  EXPECT_EQ(cv(0x1.fffffep127f), 254u);                   // rounds to 2^128: saturates
  EXPECT_EQ(convertToFp32(Format::E8M0, 0), 0x00400000u); // 2^-127 is an FP32 subnormal
  EXPECT_EQ(convertToFp32(Format::E8M0, 254), 0x7F000000u);
}

TEST(Formats, RoundToFormatRoundsDoublesOnce) {
  // 1 + 2^-8 + 2^-30: above the BF16 midpoint, so it rounds up; going through FP32 first
  // would land on the midpoint and round to even (down).
  double v = 1 + 0x1p-8 + 0x1p-30;
  EXPECT_EQ(roundToFormat(v, Format::BF16, Rounding::Nearest, Overflow::Ieee), 0x3F81u);
  EXPECT_EQ(convertFromFp32(bitsOf(float(v)), Format::BF16, Rounding::Nearest, Overflow::Ieee),
            0x3F80u);
  EXPECT_EQ(roundToFormat(1e300, Format::FP32, Rounding::Nearest, Overflow::Ieee), 0x7F800000u);
  EXPECT_EQ(roundToFormat(-1e300, Format::E4M3, Rounding::Nearest, Overflow::Ieee), 0xFEu);
  EXPECT_EQ(roundToFormat(1e-300, Format::FP32, Rounding::Nearest, Overflow::Ieee), 0u);
  std::mt19937 rng(3);
  for (int i = 0; i < 10000; ++i) {
    uint32_t b = rng();
    if (std::isnan(floatOf(b)))
      continue;
    for (Format f : {Format::BF16, Format::FP16, Format::E4M3, Format::E2M1})
      ASSERT_EQ(roundToFormat(floatOf(b), f, Rounding::Nearest, Overflow::Ieee),
                convertFromFp32(b, f, Rounding::Nearest, Overflow::Ieee));
  }
}

} // namespace
