// include/tessera/hls.h compiled natively: its integer-only formats must agree bit for bit
// with tessera::numerics (hardware FP32 add / multiply; BF16, FP8 E4M3 / E5M2 conversions
// from and to FP32) on special values and random inputs; hls::fixed's documented
// rounding.
#include "../../../include/tessera/hls.h"
#include "numerics/Numerics.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

using namespace tessera;
namespace num = tessera::numerics;

namespace {

/// Special FP32 codes: zeros, subnormals, smallest / largest normals, Inf, NaNs, one,
/// values at rounding boundaries of the narrow formats.
std::vector<uint32_t> specialFp32() {
  std::vector<uint32_t> v = {0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00800000, 0x80800000,
                             0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001,
                             0x7f800001, 0x3f800000, 0xbf800000, 0x3f808000, 0x3f818000, 0x3f7fffff,
                             0x43e00000, 0x43f00000, 0x47600000, 0x47700000, 0x3b000000, 0x3a800000,
                             0x34000000, 0x377fffff, 0x7f7f8000, 0x7f7f7fff};
  std::vector<uint32_t> out = v;
  for (uint32_t x : v)
    for (int d : {-1, 1})
      out.push_back(x + uint32_t(d));
  return out;
}

uint32_t randomFp32(std::mt19937_64 &rng) {
  switch (rng() % 6) {
  case 0:
    return uint32_t(rng());
  case 1:
    return uint32_t(rng()) & 0x807fffffu; // subnormals and zeros
  default: {
    // Exponents near one another so that additions really add.
    uint32_t e = 110 + uint32_t(rng() % 40);
    return (uint32_t(rng()) & 0x807fffffu) | (e << 23);
  }
  }
}

TEST(FrontEndHlsHeader, Fp32AddMulMatchNumerics) {
  std::vector<uint32_t> xs = specialFp32();
  std::mt19937_64 rng(5);
  for (int i = 0; i < 400; ++i)
    xs.push_back(randomFp32(rng));
  size_t checked = 0;
  for (uint32_t a : xs)
    for (uint32_t b : xs) {
      hls::fp32 x = hls::fp32::fromBits(a), y = hls::fp32::fromBits(b);
      ASSERT_EQ((x + y).bits, num::fp32Add(a, b)) << std::hex << a << " + " << b;
      ASSERT_EQ((x * y).bits, num::fp32Mul(a, b)) << std::hex << a << " * " << b;
      ASSERT_EQ((x - y).bits, num::fp32Add(a, b ^ 0x80000000u)) << std::hex << a << " - " << b;
      ++checked;
    }
  EXPECT_GT(checked, 100000u);
}

TEST(FrontEndHlsHeader, Fp32DivSqrtMatchNumerics) {
  std::vector<uint32_t> xs = specialFp32();
  std::mt19937_64 rng(6);
  for (int i = 0; i < 300; ++i)
    xs.push_back(randomFp32(rng));
  for (uint32_t a : xs) {
    ASSERT_EQ(hls::sqrt(hls::fp32::fromBits(a)).bits, num::fp32Sqrt(a)) << std::hex << a;
    for (uint32_t b : xs)
      ASSERT_EQ((hls::fp32::fromBits(a) / hls::fp32::fromBits(b)).bits, num::fp32Div(a, b))
          << std::hex << a << " / " << b;
  }
}

TEST(FrontEndHlsHeader, NarrowFormatConversionsMatchNumerics) {
  std::vector<uint32_t> xs = specialFp32();
  std::mt19937_64 rng(9);
  for (int i = 0; i < 200000; ++i)
    xs.push_back(randomFp32(rng));
  for (uint32_t a : xs) {
    hls::fp32 x = hls::fp32::fromBits(a);
    ASSERT_EQ(
        hls::bf16::fromFp32(x).bits,
        num::convertFromFp32(a, num::Format::BF16, num::Rounding::Nearest, num::Overflow::Ieee))
        << std::hex << a;
    ASSERT_EQ(
        hls::fp8e4m3::fromFp32(x).bits,
        num::convertFromFp32(a, num::Format::E4M3, num::Rounding::Nearest, num::Overflow::Saturate))
        << std::hex << a;
    ASSERT_EQ(
        hls::fp8e5m2::fromFp32(x).bits,
        num::convertFromFp32(a, num::Format::E5M2, num::Rounding::Nearest, num::Overflow::Ieee))
        << std::hex << a;
    ASSERT_EQ(
        hls::fp8e5m2::fromFp32Saturate(x).bits,
        num::convertFromFp32(a, num::Format::E5M2, num::Rounding::Nearest, num::Overflow::Saturate))
        << std::hex << a;
  }
  // Every code of the narrow formats back to FP32, exactly.
  for (uint32_t c = 0; c < 0x10000; ++c)
    ASSERT_EQ(hls::bf16::fromBits(c).toFp32().bits, num::convertToFp32(num::Format::BF16, c)) << c;
  for (uint32_t c = 0; c < 0x100; ++c) {
    EXPECT_EQ(hls::fp8e4m3::fromBits(c).toFp32().bits, num::convertToFp32(num::Format::E4M3, c))
        << c;
    EXPECT_EQ(hls::fp8e5m2::fromBits(c).toFp32().bits, num::convertToFp32(num::Format::E5M2, c))
        << c;
  }
}

TEST(FrontEndHlsHeader, ConversionsBetweenNarrowFormats) {
  auto viaFp32 = [](num::Format from, uint32_t c, num::Format to, num::Overflow o) {
    return num::convertFromFp32(num::convertToFp32(from, c), to, num::Rounding::Nearest, o);
  };
  for (uint32_t c = 0; c < 0x10000; ++c) {
    hls::bf16 b = hls::bf16::fromBits(c);
    ASSERT_EQ(hls::convert<hls::fp8e4m3>(b).bits,
              viaFp32(num::Format::BF16, c, num::Format::E4M3, num::Overflow::Saturate));
    ASSERT_EQ(hls::convert<hls::fp8e5m2>(b).bits,
              viaFp32(num::Format::BF16, c, num::Format::E5M2, num::Overflow::Ieee));
    ASSERT_EQ(hls::convert<hls::fp32>(b).bits, num::convertToFp32(num::Format::BF16, c));
  }
  for (uint32_t c = 0; c < 0x100; ++c) {
    EXPECT_EQ(hls::convert<hls::bf16>(hls::fp8e5m2::fromBits(c)).bits,
              viaFp32(num::Format::E5M2, c, num::Format::BF16, num::Overflow::Ieee));
    EXPECT_EQ(hls::convert<hls::fp8e5m2>(hls::fp8e4m3::fromBits(c)).bits,
              viaFp32(num::Format::E4M3, c, num::Format::E5M2, num::Overflow::Ieee));
  }
}

TEST(FrontEndHlsHeader, NarrowArithmeticGoesThroughFp32) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 20000; ++i) {
    uint32_t a = uint32_t(rng() & 0xffff), b = uint32_t(rng() & 0xffff);
    hls::bf16 x = hls::bf16::fromBits(a), y = hls::bf16::fromBits(b);
    uint32_t fa = num::convertToFp32(num::Format::BF16, a),
             fb = num::convertToFp32(num::Format::BF16, b);
    uint32_t want = num::convertFromFp32(num::fp32Mul(fa, fb), num::Format::BF16,
                                         num::Rounding::Nearest, num::Overflow::Ieee);
    ASSERT_EQ((x * y).bits, want) << std::hex << a << " " << b;
  }
}

TEST(FrontEndHlsHeader, Fp32IntConversionsAndCompare) {
  for (int32_t v : {0, 1, -1, 7, -100, 16777216, 16777217, -16777219, INT32_MAX, INT32_MIN}) {
    hls::fp32 f = hls::fp32::fromInt(v);
    uint32_t want = num::roundToFormat(double(v), num::Format::FP32, num::Rounding::Nearest,
                                       num::Overflow::Ieee);
    EXPECT_EQ(f.bits, want) << v;
    if (v > -16777216 && v < 16777216) {
      EXPECT_EQ(f.toInt(), v);
    }
  }
  EXPECT_EQ(hls::fp32::fromBits(0x40490fdb).toInt(), 3);  // pi
  EXPECT_EQ(hls::fp32::fromBits(0xc0490fdb).toInt(), -3); // toward zero
  EXPECT_EQ(hls::fp32::fromBits(0x7f800000).toInt(), INT32_MAX);
  EXPECT_EQ(hls::fp32::fromBits(0x7fc00000).toInt(), 0);
  hls::fp32 nan = hls::fp32::fromBits(0x7fc00000), one = hls::fp32::fromInt(1);
  EXPECT_FALSE(nan == nan);
  EXPECT_FALSE(nan < one);
  EXPECT_TRUE(hls::fp32::fromBits(0x80000000) == hls::fp32::fromBits(0)); // -0 == +0
  EXPECT_TRUE(hls::fp32::fromInt(-2) < one);
  EXPECT_TRUE(hls::fp32::fromBits(0x00000001) == hls::fp32::fromBits(0)); // DAZ
}

TEST(FrontEndHlsHeader, FixedPointRoundsTowardMinusInfinity) {
  using Q = hls::fixed<16, 8>;
  Q half = Q::fromRaw(128), three(3), minusThree(-3);
  EXPECT_EQ((three * half).raw, 384);       // 1.5
  EXPECT_EQ((minusThree * half).raw, -384); // -1.5 exactly
  Q tiny = Q::fromRaw(1);                   // 2^-8
  EXPECT_EQ((tiny * half).raw, 0);          // 2^-9 floors to 0
  EXPECT_EQ(((-tiny) * half).raw, -1);      // -2^-9 floors to -2^-8
  EXPECT_EQ(Q(127).raw, 127 * 256);
  EXPECT_EQ(Q(128).raw, -128 * 256); // wraps modulo 2^16
  EXPECT_EQ((Q::fromRaw(32767) + tiny).raw, -32768);
  EXPECT_EQ(Q::fromRaw(-1).toInt(), -1); // floor
  EXPECT_TRUE(minusThree < three);
  // Random products against the definition.
  std::mt19937_64 rng(4);
  for (int i = 0; i < 10000; ++i) {
    int64_t a = int16_t(rng()), b = int16_t(rng());
    int64_t p = (a * b) >> 8; // arithmetic shift: floor
    int64_t want = int16_t(uint16_t(p));
    EXPECT_EQ((Q::fromRaw(a) * Q::fromRaw(b)).raw, want);
  }
}

} // namespace
