//===- Fp32MathTest.cpp - fp32Div / fp32Sqrt against the host, fp32Exp / GELU bounds -===//
//
// Division and square root are correctly rounded, so on normal inputs with normal results
// they must equal the host's IEEE float `/` and `sqrtf` bit for bit (the host runs without
// FTZ/DAZ; cases where FTZ/DAZ matter are checked by hand). fp32Exp is a fixed algorithm,
// measured here against double-precision std::exp in ulps of the FP32 result.
//
//===----------------------------------------------------------------------===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

constexpr uint32_t kNan = 0x7FC00000u, kInf = 0x7F800000u, kNInf = 0xFF800000u;
constexpr uint32_t kOne = 0x3F800000u, kNegZero = 0x80000000u;

constexpr double kGeluPosBound = 3e-7, kGeluNegBound = 1.5e-7; // measured 2.03e-7, 9.3e-8

bool isNormal(float x) { return std::isnormal(x); }

float randomNormal(std::mt19937 &rng, int lo, int hi) {
  int e = lo + int(rng() % uint32_t(hi - lo + 1));
  return floatOf((rng() & 0x807FFFFFu) | (uint32_t(e + 127) << 23));
}

/// |got - ref| in units of the last place of the FP32 binade of ref (ref normal).
double ulpError(uint32_t got, double ref) {
  int e;
  std::frexp(ref, &e); // |ref| in [2^(e-1), 2^e)
  double ulp = std::ldexp(1.0, e - 1 - 23);
  return std::fabs(double(floatOf(got)) - ref) / ulp;
}

TEST(Fp32Math, DivMatchesHostOnNormals) {
  std::mt19937 rng(5);
  size_t checked = 0;
  for (int i = 0; i < 300000; ++i) {
    float a = randomNormal(rng, -126, 127);
    float b = i % 3 == 0 ? randomNormal(rng, -126, 127) : randomNormal(rng, -40, 40);
    if (i % 7 == 0) // same significand: exact quotients, powers of two
      b = floatOf((bitsOf(a) & 0x807FFFFFu) | (bitsOf(b) & 0x7F800000u));
    float q = a / b;
    if (!isNormal(q))
      continue;
    ++checked;
    ASSERT_EQ(fp32Div(bitsOf(a), bitsOf(b)), bitsOf(q)) << a << " / " << b;
  }
  EXPECT_GT(checked, 250000u);
}

TEST(Fp32Math, DivSpecialsAndFtz) {
  const uint32_t two = 0x40000000u, minNormal = 0x00800000u, sub = 0x00400000u;
  EXPECT_EQ(fp32Div(kOne, 0), kInf);
  EXPECT_EQ(fp32Div(kOne, kNegZero), kNInf);
  EXPECT_EQ(fp32Div(0xBF800000u, 0), kNInf);
  EXPECT_EQ(fp32Div(0, 0), kNan);
  EXPECT_EQ(fp32Div(kInf, kNInf), kNan);
  EXPECT_EQ(fp32Div(kInf, two), kInf);
  EXPECT_EQ(fp32Div(kNInf, two), kNInf);
  EXPECT_EQ(fp32Div(two, kNInf), kNegZero);
  EXPECT_EQ(fp32Div(0, two), 0u);
  EXPECT_EQ(fp32Div(kNegZero, two), kNegZero);
  EXPECT_EQ(fp32Div(0x7FA00000u, kOne), kNan); // signalling NaN in, canonical NaN out
  EXPECT_EQ(fp32Div(kOne, 0xFFC00001u), kNan);
  // DAZ: a subnormal divisor is a zero, a subnormal dividend is a zero.
  EXPECT_EQ(fp32Div(kOne, sub), kInf);
  EXPECT_EQ(fp32Div(sub, kOne), 0u);
  EXPECT_EQ(fp32Div(sub, sub), kNan);
  // FTZ: 2^-126 / 2 is subnormal -> +0; FLT_MAX / 0.5 overflows.
  EXPECT_EQ(fp32Div(minNormal, two), 0u);
  EXPECT_EQ(fp32Div(minNormal | 0x80000000u, two), kNegZero);
  EXPECT_EQ(fp32Div(0x7F7FFFFFu, 0x3F000000u), kInf);
  // (2^-126 - 2^-150) is exact at 24 bits but below 2^-126: flushed (IEEE: subnormal).
  EXPECT_EQ(fp32Div(0x00FFFFFFu, two), 0u);
  EXPECT_EQ(fp32Div(0x01000000u, two), minNormal);
  EXPECT_EQ(fp32Div(kOne, 0x40400000u), bitsOf(1.0f / 3.0f));
}

TEST(Fp32Math, SqrtMatchesHostOnNormals) {
  std::mt19937 rng(9);
  for (int i = 0; i < 300000; ++i) {
    float a = std::fabs(randomNormal(rng, -126, 127));
    ASSERT_EQ(fp32Sqrt(bitsOf(a)), bitsOf(std::sqrt(a))) << a;
  }
  // Every significand of two binades (even and odd exponent): 2^24 inputs.
  for (uint32_t bits = 0x3F000000u; bits < 0x40000000u; bits += 1) {
    float a = floatOf(bits);
    if (fp32Sqrt(bits) != bitsOf(std::sqrt(a)))
      FAIL() << "sqrt " << a;
  }
}

TEST(Fp32Math, SqrtSpecials) {
  EXPECT_EQ(fp32Sqrt(0), 0u);
  EXPECT_EQ(fp32Sqrt(kNegZero), kNegZero);
  EXPECT_EQ(fp32Sqrt(0x00000001u), 0u);          // DAZ
  EXPECT_EQ(fp32Sqrt(0x80000001u), kNegZero);    // DAZ: -subnormal is -0, not NaN
  EXPECT_EQ(fp32Sqrt(0xBF800000u), kNan);
  EXPECT_EQ(fp32Sqrt(kNInf), kNan);
  EXPECT_EQ(fp32Sqrt(kInf), kInf);
  EXPECT_EQ(fp32Sqrt(0x7F800001u), kNan);
  EXPECT_EQ(fp32Sqrt(0x40800000u), 0x40000000u); // sqrt 4 = 2 exactly
  EXPECT_EQ(fp32Sqrt(0x00800000u), 0x20000000u); // sqrt 2^-126 = 2^-63
  EXPECT_EQ(fp32Sqrt(0x7F7FFFFFu), bitsOf(std::sqrt(floatOf(0x7F7FFFFFu))));
  // rsqrt is two correct roundings.
  EXPECT_EQ(fp32Rsqrt(0x40800000u), 0x3F000000u);
  EXPECT_EQ(fp32Rsqrt(0), kInf);
  EXPECT_EQ(fp32Rsqrt(kNegZero), kNInf);
  EXPECT_EQ(fp32Rsqrt(kInf), 0u);
  EXPECT_EQ(fp32Rsqrt(0xC0000000u), kNan);
  std::mt19937 rng(3);
  for (int i = 0; i < 100000; ++i) {
    float a = std::fabs(randomNormal(rng, -126, 127));
    EXPECT_LE(ulpError(fp32Rsqrt(bitsOf(a)), 1.0 / std::sqrt(double(a))), 1.5) << a;
  }
}

/// Largest ulp error of fp32Exp over `inputs`, against double std::exp, counting only
/// inputs whose exact result is a normal FP32 value.
double maxExpError(const std::vector<float> &inputs, float *worst) {
  double maxErr = 0;
  for (float x : inputs) {
    double ref = std::exp(double(x));
    if (ref < 0x1p-126 || ref >= 0x1p128 * (1 - 0x1p-25))
      continue;
    double err = ulpError(fp32Exp(bitsOf(x)), ref);
    if (err > maxErr) {
      maxErr = err;
      *worst = x;
    }
  }
  return maxErr;
}

// The documented bound (docs/numerics.md, "exp"): measured over 2^24 evenly spaced codes
// of the whole normal-result range, every code near the ends of the range and random
// inputs; the bound in the doc is the largest error seen, rounded up.
TEST(Fp32Math, ExpErrorBound) {
  constexpr uint32_t kStride = 1021; // docs: also measured with stride 97 (24.5 M inputs)
  std::vector<float> xs;
  const uint32_t posMax = bitsOf(88.72283172607422f), negMax = bitsOf(-87.33654022216797f);
  for (uint32_t b = 0; b <= posMax; b += kStride)
    xs.push_back(floatOf(b));
  for (uint32_t b = 0x80000000u; b <= negMax; b += kStride)
    xs.push_back(floatOf(b));
  for (uint32_t d = 0; d < 50000; ++d) { // both ends, every code
    xs.push_back(floatOf(posMax - d));
    xs.push_back(floatOf(negMax - d));
  }
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-87.3f, 88.7f);
  for (int i = 0; i < 200000; ++i)
    xs.push_back(u(rng));
  float worst = 0;
  double err = maxExpError(xs, &worst);
  std::printf("fp32Exp: max error %.4f ulp at x = %a over %zu inputs\n", err, double(worst),
              xs.size());
  EXPECT_LE(err, 1.0); // measured 0.960 ulp (docs/numerics.md)
}

TEST(Fp32Math, ExpSpecialsAndRange) {
  EXPECT_EQ(fp32Exp(0), kOne);
  EXPECT_EQ(fp32Exp(kNegZero), kOne);
  EXPECT_EQ(fp32Exp(0x00000005u), kOne); // DAZ
  EXPECT_EQ(fp32Exp(kInf), kInf);
  EXPECT_EQ(fp32Exp(kNInf), 0u);
  EXPECT_EQ(fp32Exp(0x7FA00000u), kNan);
  EXPECT_EQ(fp32Exp(0xFFC00000u), kNan);
  EXPECT_EQ(fp32Exp(bitsOf(1.0f)), bitsOf(2.71828183f));
  EXPECT_EQ(fp32Exp(bitsOf(100.0f)), kInf);
  EXPECT_EQ(fp32Exp(bitsOf(89.0f)), kInf);
  EXPECT_EQ(fp32Exp(bitsOf(1e30f)), kInf);
  EXPECT_EQ(fp32Exp(bitsOf(-1e30f)), 0u);
  EXPECT_EQ(fp32Exp(bitsOf(-88.0f)), 0u); // exp(-88) = 6.05e-39 < 2^-126: FTZ
  EXPECT_EQ(fp32Exp(bitsOf(-103.0f)), 0u);
  // The largest input with a finite result and the smallest with a normal one.
  EXPECT_EQ(fp32Exp(bitsOf(88.72283172607422f)), 0x7F7FFF84u); // ln(FLT_MAX) = 88.7228391
  EXPECT_EQ(fp32Exp(bitsOf(88.72283935546875f)), kInf);
  EXPECT_NE(fp32Exp(bitsOf(-87.33654022216797f)), 0u);
  // Monotone (non-decreasing) over a dense sweep of [-90, 90].
  uint32_t prev = 0;
  for (float x = -90.0f; x < 90.0f; x += 0.0013f) {
    uint32_t y = fp32Exp(bitsOf(x));
    ASSERT_GE(floatOf(y), floatOf(prev)) << x;
    prev = y;
  }
}

TEST(Fp32Math, GeluAgainstDouble) {
  // tanh-form GELU in double. For x >= 0 the FP32 chain is accurate relative to the result;
  // for x < 0 the result is x/2 * (1 + tanh u) and 1 + tanh u cancels, so the error is
  // bounded relative to |x| (a few ulp of the terms of 1 + tanh u, scaled by |x|/2).
  auto ref = [](double x) {
    double u = std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1 + std::tanh(u));
  };
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> u(-12.0f, 12.0f);
  double worstPos = 0, worstNeg = 0;
  for (int i = 0; i < 200000; ++i) {
    float x = i % 4 == 0 ? u(rng) * 0.01f : u(rng);
    if (x == 0)
      continue;
    double r = ref(x);
    double got = floatOf(fp32Gelu(bitsOf(x)));
    if (x > 0)
      worstPos = std::max(worstPos, std::fabs(got - r) / std::fabs(r));
    else
      worstNeg = std::max(worstNeg, std::fabs(got - r) / std::fabs(x));
  }
  std::printf("fp32Gelu: max relative error %.3g (x > 0), max error / |x| %.3g (x < 0)\n",
              worstPos, worstNeg);
  EXPECT_LE(worstPos, kGeluPosBound);
  EXPECT_LE(worstNeg, kGeluNegBound);
  EXPECT_EQ(fp32Gelu(0), 0u);
  EXPECT_EQ(fp32Gelu(kNegZero), kNegZero);
  EXPECT_EQ(fp32Gelu(kNan), kNan);
  EXPECT_EQ(fp32Gelu(kInf), kInf);
  EXPECT_EQ(fp32Gelu(kNInf), kNan); // -Inf/2 * (1 + tanh(-Inf)) = -Inf * 0
  EXPECT_EQ(fp32Gelu(bitsOf(-20.0f)), kNegZero); // 1 + tanh(u) is exactly 0 in FP32
}

} // namespace
