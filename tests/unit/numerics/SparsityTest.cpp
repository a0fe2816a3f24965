//===- SparsityTest.cpp - N:M compression, expansion and metadata packing -===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

std::vector<uint32_t> e4m3(std::initializer_list<float> xs) {
  std::vector<uint32_t> v;
  for (float x : xs)
    v.push_back(convertFromFp32(bitsOf(x), Format::E4M3, Rounding::Nearest, Overflow::Saturate));
  return v;
}

TEST(Nm, TwoFourByHand) {
  std::vector<uint32_t> row = e4m3({1, -3, 2, 0.5, /**/ 0, 0, 0, 0, /**/ 4, 4, -4, 1});
  NmRow c = compressNm(row, Format::E4M3, 2, 4);
  EXPECT_EQ(c.values, e4m3({-3, 2, 0, 0, 4, 4}));
  // -3 and 2 (positions 1, 2); all zero: the lowest positions; three-way tie: lowest two.
  EXPECT_EQ(c.index, (std::vector<uint8_t>{1, 2, 0, 1, 0, 1}));
  EXPECT_EQ(expandNm(c, 2, 4), e4m3({0, -3, 2, 0, 0, 0, 0, 0, 4, 4, 0, 0}));
  // NaN counts as the largest magnitude, so it is kept.
  std::vector<uint32_t> withNan = {0x7F, 0x01, 0x7E, 0x02};
  NmRow n = compressNm(withNan, Format::E4M3, 1, 4);
  EXPECT_EQ(n.values, std::vector<uint32_t>{0x7F});
  EXPECT_EQ(n.index, std::vector<uint8_t>{0});
  // -0 and +0 tie; a short last group is padded with +0.
  NmRow s = compressNm(e4m3({1, 2, 3, 4, 5}), Format::E4M3, 2, 4);
  EXPECT_EQ(s.values, e4m3({3, 4, 5, 0}));
  EXPECT_EQ(s.index, (std::vector<uint8_t>{2, 3, 0, 1}));
}

TEST(Nm, RandomRowsKeepTheLargest) {
  std::mt19937 rng(41);
  struct Pat {
    unsigned n, m;
  };
  for (Pat p : {Pat{2, 4}, Pat{1, 2}, Pat{4, 8}, Pat{1, 4}, Pat{3, 8}, Pat{4, 4}})
    for (Format f : {Format::E4M3, Format::BF16, Format::Int8Mx, Format::E2M1}) {
      std::vector<uint32_t> row(p.m * 16);
      for (auto &x : row) {
        x = rng() & ((1u << formatInfo(f).bits) - 1);
        if (std::isnan(decode(f, x)))
          x = 0;
      }
      NmRow c = compressNm(row, f, p.n, p.m);
      ASSERT_EQ(c.values.size(), row.size() * p.n / p.m);
      ASSERT_EQ(c.index.size(), c.values.size());
      std::vector<uint32_t> dense = expandNm(c, p.n, p.m);
      ASSERT_EQ(dense.size(), row.size());
      for (size_t g = 0; g < row.size() / p.m; ++g) {
        double minKept = HUGE_VAL;
        for (unsigned j = 0; j < p.n; ++j) {
          size_t at = g * p.n + j;
          if (j > 0) {
            ASSERT_LT(c.index[at - 1], c.index[at]); // ascending positions
          }
          ASSERT_EQ(c.values[at], row[g * p.m + c.index[at]]);
          minKept = std::min(minKept, std::fabs(decode(f, c.values[at])));
        }
        for (unsigned i = 0; i < p.m; ++i) {
          bool kept = false;
          for (unsigned j = 0; j < p.n; ++j)
            kept |= c.index[g * p.n + j] == i;
          if (kept) {
            EXPECT_EQ(dense[g * p.m + i], row[g * p.m + i]);
          } else {
            EXPECT_EQ(dense[g * p.m + i], 0u);
            EXPECT_LE(std::fabs(decode(f, row[g * p.m + i])), minKept);
          }
        }
      }
      // Compressing an already N:M row keeps it.
      EXPECT_EQ(compressNm(dense, f, p.n, p.m).index.size(), c.index.size());
      EXPECT_EQ(expandNm(compressNm(dense, f, p.n, p.m), p.n, p.m), dense);
    }
}

TEST(Nm, IndexPacking) {
  std::vector<uint8_t> idx = {1, 3, 0, 2, 3, 3};
  std::vector<uint8_t> packed = packNmIndex(idx, 4);
  // 2 bits each, LSB first: 01 11 00 10 -> 0b10001101; then 11 11 -> 0b1111.
  EXPECT_EQ(packed, (std::vector<uint8_t>{0x8D, 0x0F}));
  EXPECT_EQ(unpackNmIndex(packed, idx.size(), 4), idx);
  // m = 8: 3 bits each, straddling bytes: 5,7,1 -> 101 111 001 -> bits 0..8.
  std::vector<uint8_t> idx8 = {5, 7, 1};
  std::vector<uint8_t> p8 = packNmIndex(idx8, 8);
  EXPECT_EQ(p8, (std::vector<uint8_t>{0x7D, 0x00}));
  EXPECT_EQ(unpackNmIndex(p8, 3, 8), idx8);
  std::mt19937 rng(42);
  for (unsigned m : {2u, 3u, 4u, 5u, 8u, 16u}) {
    std::vector<uint8_t> v(37);
    for (auto &x : v)
      x = uint8_t(rng() % m);
    unsigned bits = m <= 2 ? 1 : m <= 4 ? 2 : m <= 8 ? 3 : 4;
    std::vector<uint8_t> p = packNmIndex(v, m);
    EXPECT_EQ(p.size(), (v.size() * bits + 7) / 8) << m;
    EXPECT_EQ(unpackNmIndex(p, v.size(), m), v) << m;
  }
}

} // namespace
