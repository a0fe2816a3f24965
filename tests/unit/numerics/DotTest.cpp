//===- DotTest.cpp - the fused multi-term dot product: exact reference, hand cases -===//
//
// Where no term has bits below the alignment window (small W, close exponents) the result
// must be the correctly rounded exact sum, computed here with 128-bit integers and a
// __float128 -> float conversion. Where truncation does happen the expected bits are
// worked out by hand in the comments (docs/numerics.md, "Dot products").
//
//===----------------------------------------------------------------------===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

__extension__ typedef __int128 i128;
__extension__ typedef __float128 f128;

constexpr int kLsb = 90; // every term in the exact cases is a multiple of 2^-90

/// Correctly rounded (RNE) FP32 of the exact dot product, FTZ applied.
uint32_t exactDot(uint32_t acc, Format af, const std::vector<uint32_t> &a, uint32_t as, Format bf,
                  const std::vector<uint32_t> &b, uint32_t bs) {
  double sa = decode(Format::E8M0, as), sb = decode(Format::E8M0, bs);
  i128 n = 0;
  auto add = [&](double term) { // term is exact in double and a multiple of 2^-kLsb
    double scaled = std::ldexp(term, kLsb);
    EXPECT_EQ(scaled, std::trunc(scaled));
    EXPECT_LT(std::fabs(scaled), 0x1p120);
    n += static_cast<i128>(scaled);
  };
  for (size_t k = 0; k < a.size(); ++k)
    add(decode(af, a[k]) * decode(bf, b[k]) * sa * sb);
  add(double(floatOf(acc)));
  f128 v = static_cast<f128>(n) / static_cast<f128>(static_cast<i128>(1) << kLsb);
  float r = static_cast<float>(v);
  if (std::fabs(r) < 0x1p-126f)
    r = std::copysign(0.0f, r);
  return n == 0 ? 0u : bitsOf(r);
}

/// Codes of `f` with |value| < limit and either zero or |value| >= minAbs.
std::vector<uint32_t> codesBelow(Format f, double limit, double minAbs) {
  std::vector<uint32_t> out;
  for (uint32_t c = 0; c < codeCount(f); ++c) {
    double v = decode(f, c);
    if (std::isfinite(v) && std::fabs(v) < limit && (v == 0 || std::fabs(v) >= minAbs))
      out.push_back(c);
  }
  return out;
}

struct ExactCase {
  Format af, bf;
  double limit;    // element magnitudes below this
  double minAbs;   // and zero or at least this
  unsigned w;      // dot width
  int scaleSpread; // scales in 127 +- spread
  int accShift;    // acc = k * 2^(scaleExp + accShift), |k| < 2^12
};

TEST(Dot, ExactWhereNothingIsTruncated) {
  std::mt19937 rng(51);
  const ExactCase cases[] = {
      // E4M3 below 4 incl. subnormals: products' bits lie in [2^-18, 2^3], the window
      // of 26 bits below an anchor <= 3 reaches 2^-23.
      {Format::E4M3, Format::E4M3, 4.0, 0, 8, 0, -8},
      {Format::Int8Mx, Format::Int8Mx, 3.0, 0, 32, 7, -8},
      {Format::E2M1, Format::E2M1, 7.0, 0, 32, 10, -2},
      {Format::E3M2, Format::E2M3, 30.0, 0, 16, 5, -4},
      {Format::E5M2, Format::E5M2, 4.0, 0x1p-6, 4, 0, -10},
  };
  size_t nonzero = 0;
  for (const ExactCase &c : cases) {
    std::vector<uint32_t> ca = codesBelow(c.af, c.limit, c.minAbs),
                          cb = codesBelow(c.bf, c.limit, c.minAbs);
    for (int t = 0; t < 3000; ++t) {
      std::vector<uint32_t> a(c.w), b(c.w);
      for (unsigned k = 0; k < c.w; ++k) {
        a[k] = ca[rng() % ca.size()];
        b[k] = cb[rng() % cb.size()];
      }
      uint32_t as = 127, bs = 127;
      if (c.scaleSpread) {
        as = 127 + int(rng() % (2 * c.scaleSpread + 1)) - c.scaleSpread;
        bs = 127 + int(rng() % (2 * c.scaleSpread + 1)) - c.scaleSpread;
      }
      int scaleExp = int(as) + int(bs) - 254;
      float acc =
          t % 5 == 0 ? 0.0f : std::ldexp(float(int(rng() % 8191) - 4095), scaleExp + c.accShift);
      uint32_t got = dotAccumulate(bitsOf(acc), c.af, a, as, c.bf, b, bs);
      uint32_t want = exactDot(bitsOf(acc), c.af, a, as, c.bf, b, bs);
      ASSERT_EQ(got, want) << formatInfo(c.af).name << " x " << formatInfo(c.bf).name << " acc "
                           << acc << " got " << floatOf(got) << " want " << floatOf(want);
      nonzero += want != 0;
    }
  }
  EXPECT_GT(nonzero, 14000u);
  // BF16 with exponents in [-2, 2] (products' bits span at most 23 places below the anchor).
  for (int t = 0; t < 5000; ++t) {
    std::vector<uint32_t> a(4), b(4);
    for (unsigned k = 0; k < 4; ++k) {
      a[k] = (rng() & 0x807F) | ((125 + rng() % 5) << 7);
      b[k] = (rng() & 0x807F) | ((125 + rng() % 5) << 7);
    }
    float acc = std::ldexp(float(int(rng() % 8191) - 4095), -10);
    ASSERT_EQ(dotAccumulate(bitsOf(acc), Format::BF16, a, 127, Format::BF16, b, 127),
              exactDot(bitsOf(acc), Format::BF16, a, 127, Format::BF16, b, 127));
  }
}

TEST(Dot, TruncationByHand) {
  const uint32_t one = 0x3F800000;
  // acc = 1, products 2^-24 and 2^-30 (BF16 2^-12 * 2^-12 and 2^-15 * 2^-15). The anchor
  // is the accumulator's position 0, the window ends at 2^-26: 2^-30 is truncated, the sum
  // 1 + 2^-24 is a tie and rounds to even (1.0). The exact sum would round up: there is
  // no sticky bit.
  std::vector<uint32_t> a = {0x3980, 0x3800}, b = {0x3980, 0x3800};
  EXPECT_EQ(dotAccumulate(one, Format::BF16, a, 127, Format::BF16, b, 127), one);
  EXPECT_EQ(exactDot(one, Format::BF16, a, 127, Format::BF16, b, 127), one + 1);
  // Truncation is toward zero in magnitude: with acc = 1 + 2^-23 (odd) and products 2^-24
  // and -2^-30, the negative term vanishes, the tie rounds up to even 1 + 2^-22. Exact
  // rounding (and a floor-style truncation to -2^-26) would give 1 + 2^-23.
  std::vector<uint32_t> an = {0x3980, 0xB800};
  EXPECT_EQ(dotAccumulate(one + 1, Format::BF16, an, 127, Format::BF16, b, 127), one + 2);
  EXPECT_EQ(exactDot(one + 1, Format::BF16, an, 127, Format::BF16, b, 127), one + 1);
  // Cancelling large products set the anchor: 256*256 - 256*256 has position 17, the
  // window ends at 2^-9, so acc = 1 + 2^-10 + 2^-20 loses both low bits: result 1.0.
  std::vector<uint32_t> big = {0x78, 0xF8}, big2 = {0x78, 0x78};
  EXPECT_EQ(dotAccumulate(0x3F802008, Format::E4M3, big, 127, Format::E4M3, big2, 127), one);
  // The same products with block scales 2^-10 each: the anchor drops by 20 and nothing of
  // the accumulator is lost.
  EXPECT_EQ(dotAccumulate(0x3F802008, Format::E4M3, big, 117, Format::E4M3, big2, 117),
            0x3F802008u);
  // A product's nominal position counts even when its significand is small: E4M3
  // 1.0 * 1.0 has position 1 (products lie in [1, 4)), so the window ends at 2^-25 and
  // acc = 2^-25 + 2^-26 (a single FP32 value) keeps only 2^-25: 1 + 2^-25 -> 1.0, and
  // 2 * acc alone without the product stays exact.
  uint32_t acc = bitsOf(0x1p-25f + 0x1p-26f);
  std::vector<uint32_t> e1 = {0x38};
  EXPECT_EQ(dotAccumulate(acc, Format::E4M3, e1, 127, Format::E4M3, e1, 127), one);
  EXPECT_EQ(dotAccumulate(acc, Format::E4M3, {}, 127, Format::E4M3, {}, 127), acc);
}

TEST(Dot, OrderIndependentAndFullRange) {
  // One fused addition: any permutation of the terms gives the same bits.
  std::mt19937 rng(52);
  for (Format f : {Format::E4M3, Format::E5M2, Format::BF16, Format::FP16}) {
    for (int t = 0; t < 2000; ++t) {
      std::vector<uint32_t> a(32), b(32);
      for (unsigned k = 0; k < 32; ++k) {
        do
          a[k] = rng() & ((1u << formatInfo(f).bits) - 1);
        while (!std::isfinite(decode(f, a[k])));
        do
          b[k] = rng() & ((1u << formatInfo(f).bits) - 1);
        while (!std::isfinite(decode(f, b[k])));
      }
      uint32_t acc = rng() & 0xBFFFFFFF; // finite
      uint32_t r1 = dotAccumulate(acc, f, a, 127, f, b, 127);
      std::vector<size_t> perm(32);
      for (size_t i = 0; i < 32; ++i)
        perm[i] = i;
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<uint32_t> pa(32), pb(32);
      for (size_t i = 0; i < 32; ++i) {
        pa[i] = a[perm[i]];
        pb[i] = b[perm[i]];
      }
      ASSERT_EQ(dotAccumulate(acc, f, pa, 127, f, pb, 127), r1);
      // Swapping operands A and B changes nothing either.
      ASSERT_EQ(dotAccumulate(acc, f, b, 127, f, a, 127), r1);
    }
  }
}

TEST(Dot, SpecialsFlushAndOverflow) {
  const uint32_t nan = 0x7FC00000, inf = 0x7F800000, one = 0x3F800000;
  std::vector<uint32_t> ones = {0x38, 0x38}, e5inf = {0x7C, 0x38}, e5ninf = {0xFC, 0x38},
                        zeros = {0x00, 0x38}, e4nan = {0x7F, 0x38};
  EXPECT_EQ(dotAccumulate(0, Format::E4M3, e4nan, 127, Format::E4M3, ones, 127), nan);
  EXPECT_EQ(dotAccumulate(0, Format::E5M2, e5inf, 127, Format::E4M3, ones, 127), inf);
  EXPECT_EQ(dotAccumulate(0, Format::E5M2, e5ninf, 127, Format::E4M3, ones, 127), 0xFF800000u);
  EXPECT_EQ(dotAccumulate(0, Format::E5M2, e5inf, 127, Format::E4M3, zeros, 127), nan);
  EXPECT_EQ(dotAccumulate(0xFF800000, Format::E5M2, e5inf, 127, Format::E4M3, ones, 127), nan);
  EXPECT_EQ(dotAccumulate(inf, Format::E4M3, ones, 127, Format::E4M3, ones, 127), inf);
  EXPECT_EQ(dotAccumulate(0x7FC00001, Format::E4M3, ones, 127, Format::E4M3, ones, 127), nan);
  EXPECT_EQ(dotAccumulate(one, Format::E4M3, ones, 0xFF, Format::E4M3, ones, 127), nan);
  // Overflow to Inf: 448 * 448 * 2^127 * 2^127.
  std::vector<uint32_t> max = {0x7E}, nmax = {0xFE}, e1 = {0x38};
  EXPECT_EQ(dotAccumulate(0, Format::E4M3, max, 254, Format::E4M3, max, 254), inf);
  EXPECT_EQ(dotAccumulate(0, Format::E4M3, nmax, 254, Format::E4M3, max, 254), 0xFF800000u);
  // FLT_MAX + 2^104 (one ulp; 1.0 * 1.0 with scale 2^104) is 2^128: Inf.
  EXPECT_EQ(dotAccumulate(0x7F7FFFFF, Format::E4M3, e1, 231, Format::E4M3, e1, 127), inf);
  EXPECT_EQ(dotAccumulate(0x7F7FFFFF, Format::E4M3, e1, 230, Format::E4M3, e1, 127), inf);
  EXPECT_EQ(dotAccumulate(0x7F7FFFFF, Format::E4M3, e1, 229, Format::E4M3, e1, 127),
            0x7F7FFFFFu); // a quarter ulp
  // FTZ: a tiny result flushes to a zero of its sign; DAZ on the accumulator.
  std::vector<uint32_t> tiny = {0x01}, ntiny = {0x81};
  EXPECT_EQ(dotAccumulate(0, Format::E4M3, tiny, 0, Format::E4M3, tiny, 127), 0u);
  EXPECT_EQ(dotAccumulate(0, Format::E4M3, ntiny, 0, Format::E4M3, tiny, 127), 0x80000000u);
  EXPECT_EQ(dotAccumulate(0x00000001, Format::E4M3, {}, 127, Format::E4M3, {}, 127), 0u);
  EXPECT_EQ(dotAccumulate(0x80000000, Format::E4M3, {}, 127, Format::E4M3, {}, 127),
            0x80000000u); // no products: the accumulator passes through (-0 stays -0)
  EXPECT_EQ(dotAccumulate(0x00400000, Format::E4M3, ones, 127, Format::E4M3, ones, 127),
            0x40000000u); // 2 + subnormal acc (read as 0)
  // Exact cancellation gives +0.
  std::vector<uint32_t> pm = {0x38, 0xB8};
  EXPECT_EQ(dotAccumulate(0, Format::E4M3, pm, 127, Format::E4M3, ones, 127), 0u);
  // With no products the accumulator passes through unchanged.
  std::mt19937 rng(53);
  for (int i = 0; i < 10000; ++i) {
    uint32_t x = rng();
    if (!std::isfinite(floatOf(x)) || std::fabs(floatOf(x)) < 0x1p-126f)
      continue;
    ASSERT_EQ(dotAccumulate(x, Format::BF16, {}, 127, Format::BF16, {}, 127), x);
  }
  // A single BF16 product is exact in the window and matches the host's float product.
  for (int i = 0; i < 10000; ++i) {
    uint32_t a = (rng() & 0x807F) | ((80 + rng() % 90) << 7);
    uint32_t b = (rng() & 0x807F) | ((80 + rng() % 90) << 7);
    std::vector<uint32_t> va = {a}, vb = {b};
    float p = decodeFloat(Format::BF16, a) * decodeFloat(Format::BF16, b);
    ASSERT_EQ(dotAccumulate(0, Format::BF16, va, 127, Format::BF16, vb, 127), bitsOf(p));
  }
}

TEST(Dot, Throughput) {
  // Not a timed test: prints the golden-model rate for the record.
  std::mt19937 rng(54);
  std::vector<uint32_t> a(32), b(32);
  for (unsigned k = 0; k < 32; ++k) {
    a[k] = rng() % 0x7E;
    b[k] = rng() & 0xFF;
    if ((b[k] & 0x7F) == 0x7F)
      b[k] = 0;
  }
  uint32_t acc = 0;
  const int iters = 200000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) {
    a[i & 31] = (a[i & 31] + 1) % 0x7E;
    acc = dotAccumulate(acc & 0x3FFFFFFF, Format::E4M3, a, 127, Format::E4M3, b, 127);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ dot      ] W=32 E4M3: " << iters / s / 1e6 << " M dot steps/s, "
            << 32.0 * iters / s / 1e6 << " M MAC/s (acc " << std::hex << acc << std::dec << ")\n";
  EXPECT_TRUE(std::isfinite(floatOf(acc)));
}

} // namespace

namespace {
// Zero skipping (docs/isa.md 5.3) needs dotAccumulate(acc, all products +-0) == acc bit for
// bit for every accumulator the ACC can hold; DAZ still applies to a subnormal accumulator.
TEST(Dot, AllZeroProductsKeepAccumulator) {
  const uint32_t accs[] = {0x00000000u, 0x80000000u, 0x3F800000u, 0xBF800001u, 0x00800000u,
                           0x80800000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x7F800000u, 0xFF800000u,
                           0x7FC00000u, 0x12345678u, 0xC0490FDBu};
  std::vector<uint32_t> zeros = {0x00, 0x80, 0x00, 0x80}, ones = {0x38, 0xB8, 0x7E, 0x01};
  std::vector<uint32_t> bfZeros = {0x0000, 0x8000, 0x8000, 0x0000};
  std::vector<uint32_t> bfVals = {0x3F80, 0x7F7F, 0xC2F7, 0x0001};
  std::vector<uint32_t> fp4Zeros = {0x0, 0x8}, intVals = {0x7F, 0x80};
  std::vector<uint32_t> e5Zero = {0x00}, e5Inf = {0x7C}, e4One = {0x38, 0x38}, e4Pm = {0x38, 0xB8};
  for (uint32_t acc : accs) {
    SCOPED_TRACE(acc);
    EXPECT_EQ(dotAccumulate(acc, Format::E4M3, zeros, 127, Format::E4M3, ones, 127), acc);
    EXPECT_EQ(dotAccumulate(acc, Format::E4M3, ones, 127, Format::E4M3, zeros, 127), acc);
    EXPECT_EQ(dotAccumulate(acc, Format::E4M3, zeros, 3, Format::E4M3, ones, 250), acc);
    EXPECT_EQ(dotAccumulate(acc, Format::BF16, bfZeros, 127, Format::BF16, bfVals, 127), acc);
    EXPECT_EQ(dotAccumulate(acc, Format::E2M1, fp4Zeros, 127, Format::Int8Mx, intVals, 127), acc);
  }
  // DAZ: a subnormal accumulator reads as the zero of its sign.
  EXPECT_EQ(dotAccumulate(0x00000001u, Format::E4M3, zeros, 127, Format::E4M3, ones, 127), 0u);
  EXPECT_EQ(dotAccumulate(0x807FFFFFu, Format::E4M3, zeros, 127, Format::E4M3, ones, 127),
            0x80000000u);
  // Not all zero products: 0 * Inf is NaN, a NaN scale is NaN, a cancelling pair gives +0.
  EXPECT_EQ(dotAccumulate(0x80000000u, Format::E5M2, e5Zero, 127, Format::E5M2, e5Inf, 127),
            0x7FC00000u);
  EXPECT_EQ(dotAccumulate(0x3F800000u, Format::E4M3, zeros, 0xFF, Format::E4M3, ones, 127),
            0x7FC00000u);
  EXPECT_EQ(dotAccumulate(0x80000000u, Format::E4M3, e4One, 127, Format::E4M3, e4Pm, 127), 0u);
}
} // namespace
