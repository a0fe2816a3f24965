//===- BitVecTest.cpp - BitVec and op semantics against integer references ===//
#include "hw/BitVec.h"
#include "hw/Semantics.h"

#include <gtest/gtest.h>

#include <random>

using namespace tessera::hw;

namespace {

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

u128 maskOf(uint32_t w) { return w >= 128 ? ~u128(0) : ((u128(1) << w) - 1); }
BitVec fromU128(uint32_t w, u128 v) {
  return BitVec::fromWords(w, {uint64_t(v), uint64_t(v >> 64)});
}
u128 toU128(const BitVec &b) { return u128(b.word(0)) | (u128(b.word(1)) << 64); }
i128 toSigned(uint32_t w, u128 v) {
  v &= maskOf(w);
  if (w < 128 && ((v >> (w - 1)) & 1))
    v |= ~maskOf(w);
  return i128(v);
}

/// Random value with interesting distributions: small, all-ones, sign boundary, random.
u128 randomValue(std::mt19937_64 &rng, uint32_t w) {
  u128 r = (u128(rng()) << 64) | rng();
  switch (rng() % 6) {
  case 0:
    r = rng() % 4;
    break;
  case 1:
    r = ~u128(0);
    break;
  case 2:
    r = u128(1) << ((w - 1) % 128);
    break;
  case 3:
    r = (u128(1) << ((w - 1) % 128)) - 1;
    break;
  default:
    break;
  }
  return r & maskOf(w);
}

const uint32_t kWidths[] = {1, 7, 63, 64, 65, 127, 128};

TEST(BitVec, ConstructAndMask) {
  BitVec a(7, 0xff);
  EXPECT_EQ(a.low64(), 0x7fu);
  EXPECT_EQ(BitVec::ones(65).word(1), 1u);
  EXPECT_EQ(BitVec::ones(65).word(0), ~uint64_t(0));
  EXPECT_TRUE(BitVec::ones(200).isAllOnes());
  EXPECT_TRUE(BitVec::zeros(200).isZero());
  EXPECT_EQ(BitVec::ones(200).numWords(), 4u);
  EXPECT_EQ(BitVec::ones(200).word(3), 0xffu);
  BitVec b(1);
  b.setBit(0, true);
  EXPECT_TRUE(b.bit(0));
  EXPECT_TRUE(b.isAllOnes());
  b.setBit(5, true); // out of range: ignored
  EXPECT_EQ(b.low64(), 1u);
}

TEST(BitVec, ArithmeticAgainstInt128) {
  std::mt19937_64 rng(42);
  for (uint32_t w : kWidths) {
    u128 m = maskOf(w);
    for (int iter = 0; iter < 3000; ++iter) {
      u128 x = randomValue(rng, w), y = randomValue(rng, w);
      BitVec a = fromU128(w, x), b = fromU128(w, y);
      SCOPED_TRACE(::testing::Message() << "w=" << w << " a=" << a.toHex() << " b=" << b.toHex());
      ASSERT_EQ(toU128(a.add(b)), (x + y) & m);
      ASSERT_EQ(toU128(a.sub(b)), (x - y) & m);
      ASSERT_EQ(toU128(a.mul(b)), (x * y) & m);
      ASSERT_EQ(toU128(a.udiv(b)), y ? x / y : 0);
      ASSERT_EQ(toU128(a.urem(b)), y ? x % y : 0);
      i128 sx = toSigned(w, x), sy = toSigned(w, y);
      // Signed division of the most negative value by -1 overflows in C; in two's
      // complement modulo 2^w it gives the most negative value back.
      bool overflow = w == 128 && x == (u128(1) << 127) && sy == -1;
      if (!overflow) {
        ASSERT_EQ(toU128(a.sdiv(b)), sy ? u128(sx / sy) & m : 0);
        ASSERT_EQ(toU128(a.srem(b)), sy ? u128(sx % sy) & m : 0);
      } else {
        ASSERT_EQ(toU128(a.sdiv(b)), x);
        ASSERT_EQ(toU128(a.srem(b)), 0u);
      }
      ASSERT_EQ(toU128(a.bitAnd(b)), x & y);
      ASSERT_EQ(toU128(a.bitOr(b)), x | y);
      ASSERT_EQ(toU128(a.bitXor(b)), x ^ y);
      ASSERT_EQ(toU128(a.bitNot()), ~x & m);
      ASSERT_EQ(toU128(a.neg()), (u128(0) - x) & m);
      ASSERT_EQ(a.ult(b), x < y);
      ASSERT_EQ(a.slt(b), sx < sy);
      ASSERT_EQ(a.eq(b), x == y);
      ASSERT_EQ(a < b, x < y);
      uint64_t sh = rng() % (w + 3);
      ASSERT_EQ(toU128(a.shl(sh)), sh >= w ? 0 : (x << sh) & m);
      ASSERT_EQ(toU128(a.lshr(sh)), sh >= w ? 0 : x >> sh);
      i128 ar = sh >= w ? (sx < 0 ? -1 : 0) : (sx >> sh);
      ASSERT_EQ(toU128(a.ashr(sh)), u128(ar) & m);
      // Extract, zext, sext, concat.
      uint32_t lo = uint32_t(rng() % w), len = 1 + uint32_t(rng() % (w - lo));
      ASSERT_EQ(toU128(a.extract(lo, len)), (x >> lo) & maskOf(len));
      if (w < 128) {
        uint32_t wide = w + 1 + uint32_t(rng() % (128 - w));
        ASSERT_EQ(toU128(a.zext(wide)), x);
        ASSERT_EQ(toU128(a.sext(wide)), u128(sx) & maskOf(wide));
        uint32_t lw = 1 + uint32_t(rng() % (128 - w));
        u128 lv = randomValue(rng, lw);
        ASSERT_EQ(toU128(a.concat(fromU128(lw, lv))), (x << lw) | lv);
      }
    }
  }
}

TEST(BitVec, WideArithmeticIdentities) {
  // Width 200 has no native reference: check algebraic identities and agreement with
  // 128-bit arithmetic on zero-extended small values.
  std::mt19937_64 rng(7);
  const uint32_t w = 200;
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<uint64_t> xw, yw;
    for (int i = 0; i < 4; ++i) {
      xw.push_back(rng());
      yw.push_back(rng() % 3 == 0 ? 0 : rng());
    }
    if (iter % 3 == 0)
      yw[3] = yw[2] = 0; // short divisor
    if (iter % 5 == 0)
      yw = {rng() % 1000, 0, 0, 0};
    BitVec a = BitVec::fromWords(w, xw), b = BitVec::fromWords(w, yw);
    SCOPED_TRACE(::testing::Message() << "a=" << a.toHex() << " b=" << b.toHex());
    ASSERT_EQ(a.add(b).sub(b), a);
    ASSERT_EQ(a.sub(b).add(b), a);
    ASSERT_EQ(a.add(a.neg()), BitVec::zeros(w));
    if (!b.isZero()) {
      BitVec q = a.udiv(b), r = a.urem(b);
      ASSERT_TRUE(r.ult(b));
      ASSERT_EQ(q.mul(b).add(r), a);
      BitVec sq = a.sdiv(b), sr = a.srem(b);
      ASSERT_EQ(sq.mul(b).add(sr), a);
      ASSERT_TRUE(sr.isZero() || sr.msb() == a.msb());
    }
    // Distributivity ties mul to add.
    BitVec c = BitVec::fromWords(w, {rng(), rng(), rng(), rng()});
    ASSERT_EQ(a.mul(b.add(c)), a.mul(b).add(a.mul(c)));
    // Shifts: shl then lshr keeps the low bits.
    uint64_t sh = rng() % 210;
    ASSERT_EQ(a.shl(sh).lshr(sh), sh >= w ? BitVec::zeros(w) : a.extract(0, w - sh).zext(w));
    ASSERT_EQ(a.ashr(sh).bit(w - 1), a.msb());
    // Extract / concat round trip.
    uint32_t cut = 1 + uint32_t(rng() % (w - 1));
    ASSERT_EQ(a.extract(cut, w - cut).concat(a.extract(0, cut)), a);
  }
  // Small values agree with 128-bit arithmetic.
  for (int iter = 0; iter < 1000; ++iter) {
    u128 x = (u128(rng()) << 32) | rng(), y = (rng() % 4) ? rng() >> (rng() % 64) : 0;
    BitVec a = fromU128(200, x), b = fromU128(200, y);
    ASSERT_EQ(toU128(a.udiv(b)), y ? x / y : 0);
    ASSERT_EQ(toU128(a.urem(b)), y ? x % y : 0);
    // Exact 192-bit product from 64x64 pieces: x = xh * 2^64 + xl, y < 2^64.
    u128 lo = u128(uint64_t(x)) * uint64_t(y), hi = u128(uint64_t(x >> 64)) * uint64_t(y);
    u128 mid = hi + (lo >> 64);
    BitVec p = a.mul(b);
    ASSERT_EQ(toU128(p.extract(0, 128)), x * y);
    ASSERT_EQ(toU128(p.extract(128, 72)), mid >> 64);
  }
}

TEST(BitVec, DivisionDigitPatterns) {
  // Divisors and dividends built from 32-bit digits that hit the correction and add-back
  // steps of long division.
  std::mt19937_64 rng(11);
  const uint32_t kDigits[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu, 0xfffffffeu};
  auto pattern = [&](int ndigits) {
    std::vector<uint64_t> w(5, 0);
    for (int i = 0; i < ndigits; ++i) {
      uint64_t d = rng() % 4 ? kDigits[rng() % 6] : uint32_t(rng());
      w[i / 2] |= d << (32 * (i % 2));
    }
    return w;
  };
  for (uint32_t w : {96u, 128u, 200u, 300u}) {
    for (int iter = 0; iter < 3000; ++iter) {
      int maxDigits = int((w + 31) / 32);
      BitVec a = BitVec::fromWords(w, pattern(1 + int(rng() % maxDigits)));
      BitVec b = BitVec::fromWords(w, pattern(1 + int(rng() % maxDigits)));
      if (b.isZero())
        continue;
      BitVec q = a.udiv(b), r = a.urem(b);
      ASSERT_TRUE(r.ult(b)) << a.toHex() << " / " << b.toHex();
      ASSERT_EQ(q.mul(b).add(r), a) << a.toHex() << " / " << b.toHex();
    }
  }
}

TEST(BitVec, SignExtendWide) {
  BitVec a(65);
  a.setBit(64, true);
  BitVec s = a.sext(200);
  for (uint32_t i = 0; i < 200; ++i)
    EXPECT_EQ(s.bit(i), i >= 64) << i;
  EXPECT_EQ(BitVec(7, 0x40).sext(130).toHex(), "3ffffffffffffffffffffffffffffffc0");
  EXPECT_EQ(BitVec(7, 0x3f).sext(130).toHex(), std::string(31, '0') + "3f");
}

TEST(BitVec, ParseAndPrint) {
  EXPECT_EQ(BitVec::parse("255", 8)->low64(), 255u);
  EXPECT_FALSE(BitVec::parse("256", 8));
  EXPECT_EQ(BitVec::parse("0xff", 8)->low64(), 255u);
  EXPECT_EQ(BitVec::parse("0x0ff", 8)->low64(), 255u);
  EXPECT_FALSE(BitVec::parse("0x1ff", 8));
  EXPECT_EQ(BitVec::parse("0b1010_1010", 8)->low64(), 0xaau);
  EXPECT_FALSE(BitVec::parse("0b1_0000_0000", 8));
  EXPECT_FALSE(BitVec::parse("", 8));
  EXPECT_FALSE(BitVec::parse("0x", 8));
  EXPECT_FALSE(BitVec::parse("12a", 8));
  EXPECT_FALSE(BitVec::parse("-1", 8));
  EXPECT_FALSE(BitVec::parse("1", 0));
  EXPECT_EQ(BitVec::parse("1", 1)->low64(), 1u);
  EXPECT_FALSE(BitVec::parse("2", 1));
  EXPECT_EQ(BitVec::parse("18446744073709551615", 64)->low64(), ~uint64_t(0));
  EXPECT_FALSE(BitVec::parse("18446744073709551616", 64));
  EXPECT_EQ(BitVec::parse("18446744073709551616", 65)->word(1), 1u);
  auto big = BitVec::parse("340282366920938463463374607431768211455", 128);
  ASSERT_TRUE(big);
  EXPECT_TRUE(big->isAllOnes());
  EXPECT_FALSE(BitVec::parse("340282366920938463463374607431768211456", 128));
  EXPECT_EQ(BitVec::ones(200).toHex(), "ff" + std::string(48, 'f'));
  EXPECT_EQ(BitVec(13, 0x1abc).toHex(), "1abc");
  EXPECT_EQ(BitVec(1, 1).toHex(), "1");
  EXPECT_EQ(BitVec().toHex(), "0");
  EXPECT_EQ(BitVec(64, 12345).toString(), "12345");
  EXPECT_EQ(BitVec::ones(65).toString(), "0x1ffffffffffffffff");
  EXPECT_EQ(BitVec::ones(65).toU64(), std::nullopt);
  // Round trips through toString for random values of every width.
  std::mt19937_64 rng(3);
  for (uint32_t w : {1u, 7u, 63u, 64u, 65u, 128u, 200u}) {
    for (int i = 0; i < 200; ++i) {
      BitVec v = BitVec::fromWords(w, {rng(), rng(), rng(), rng()});
      ASSERT_EQ(*BitVec::parse(v.toString(), w), v);
      ASSERT_EQ(*BitVec::parse("0x" + v.toHex(), w), v);
    }
  }
  // Decimal of a wide value against 128-bit reference.
  u128 x = (u128(0x0123456789abcdefull) << 64) | 0xfedcba9876543210ull;
  std::string dec;
  for (u128 t = x; t; t /= 10)
    dec.insert(dec.begin(), char('0' + int(t % 10)));
  EXPECT_EQ(toU128(*BitVec::parse(dec, 128)), x);
}

TEST(BitVec, OrderAndHash) {
  EXPECT_TRUE(BitVec(4, 9) < BitVec(5, 0)); // width first
  EXPECT_TRUE(BitVec(5, 1) < BitVec(5, 2));
  EXPECT_FALSE(BitVec(5, 2) < BitVec(5, 2));
  EXPECT_EQ(BitVec(70, 5).hash(), BitVec(70, 5).hash());
  EXPECT_NE(BitVec(70, 5).hash(), BitVec(70, 6).hash());
  EXPECT_NE(BitVec(8, 0).hash(), BitVec(9, 0).hash());
  EXPECT_NE(BitVec(8, 0), BitVec(9, 0));
}

Op makeOp(OpKind k, uint32_t width, uint32_t attr0 = 0) {
  Op op;
  op.kind = k;
  op.width = width;
  op.attr0 = attr0;
  return op;
}

TEST(Semantics, CombinationalKinds) {
  int comb = 0;
  for (int i = 0; i < kNumOpKinds; ++i)
    comb += isCombinational(static_cast<OpKind>(i));
  EXPECT_EQ(comb, kNumOpKinds - 6);
  EXPECT_FALSE(isCombinational(OpKind::Reg));
  EXPECT_TRUE(isCombinational(OpKind::Const));
  EXPECT_TRUE(isCombinational(OpKind::Mux));
}

TEST(Semantics, EveryCombinationalOpAgainstInt128) {
  std::mt19937_64 rng(99);
  for (uint32_t w : kWidths) {
    u128 m = maskOf(w);
    for (int iter = 0; iter < 300; ++iter) {
      u128 x = randomValue(rng, w), y = randomValue(rng, w);
      if (iter % 7 == 0)
        y = x;
      BitVec a = fromU128(w, x), b = fromU128(w, y);
      i128 sx = toSigned(w, x), sy = toSigned(w, y);
      std::vector<BitVec> ab = {a, b};
      auto ev = [&](OpKind k, uint32_t rw) { return toU128(evaluate(makeOp(k, rw), ab)); };
      EXPECT_EQ(ev(OpKind::Add, w), (x + y) & m);
      EXPECT_EQ(ev(OpKind::Sub, w), (x - y) & m);
      EXPECT_EQ(ev(OpKind::Mul, w), (x * y) & m);
      EXPECT_EQ(ev(OpKind::DivU, w), y ? x / y : 0);
      EXPECT_EQ(ev(OpKind::RemU, w), y ? x % y : 0);
      if (!(w == 128 && sy == -1)) {
        EXPECT_EQ(ev(OpKind::DivS, w), sy ? u128(sx / sy) & m : 0);
        EXPECT_EQ(ev(OpKind::RemS, w), sy ? u128(sx % sy) & m : 0);
      }
      EXPECT_EQ(ev(OpKind::And, w), x & y);
      EXPECT_EQ(ev(OpKind::Or, w), x | y);
      EXPECT_EQ(ev(OpKind::Xor, w), x ^ y);
      EXPECT_EQ(ev(OpKind::Eq, 1), x == y);
      EXPECT_EQ(ev(OpKind::Ne, 1), x != y);
      EXPECT_EQ(ev(OpKind::LtU, 1), x < y);
      EXPECT_EQ(ev(OpKind::LeU, 1), x <= y);
      EXPECT_EQ(ev(OpKind::GtU, 1), x > y);
      EXPECT_EQ(ev(OpKind::GeU, 1), x >= y);
      EXPECT_EQ(ev(OpKind::LtS, 1), sx < sy);
      EXPECT_EQ(ev(OpKind::LeS, 1), sx <= sy);
      EXPECT_EQ(ev(OpKind::GtS, 1), sx > sy);
      EXPECT_EQ(ev(OpKind::GeS, 1), sx >= sy);
      std::vector<BitVec> one = {a};
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::Not, w), one)), ~x & m);
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::RedAnd, 1), one)), x == m);
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::RedOr, 1), one)), x != 0);
      int pop = __builtin_popcountll(uint64_t(x)) + __builtin_popcountll(uint64_t(x >> 64));
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::RedXor, 1), one)), u128(pop & 1));
      // Shifts with a narrow amount operand of a different width.
      uint32_t sw = 1 + uint32_t(rng() % 9);
      u128 sh = randomValue(rng, sw);
      std::vector<BitVec> shv = {a, fromU128(sw, sh)};
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::Shl, w), shv)), sh >= w ? 0 : (x << sh) & m);
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::ShrU, w), shv)), sh >= w ? 0 : x >> sh);
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::ShrS, w), shv)),
                u128(sh >= w ? (sx < 0 ? -1 : 0) : sx >> sh) & m);
      // Mux.
      for (int c = 0; c < 2; ++c) {
        std::vector<BitVec> mx = {BitVec(1, c), a, b};
        EXPECT_EQ(toU128(evaluate(makeOp(OpKind::Mux, w), mx)), c ? x : y);
      }
      // Extract / zext / sext.
      uint32_t lo = uint32_t(rng() % w), len = 1 + uint32_t(rng() % (w - lo));
      EXPECT_EQ(toU128(evaluate(makeOp(OpKind::Extract, len, lo), one)), (x >> lo) & maskOf(len));
      if (w < 128) {
        uint32_t wide = w + uint32_t(rng() % (129 - w));
        EXPECT_EQ(toU128(evaluate(makeOp(OpKind::ZExt, wide), one)), x);
        EXPECT_EQ(toU128(evaluate(makeOp(OpKind::SExt, wide), one)), u128(sx) & maskOf(wide));
      }
    }
  }
  // Wide shift amounts saturate.
  std::vector<BitVec> big = {BitVec(8, 0x80), BitVec::ones(100)};
  EXPECT_EQ(evaluate(makeOp(OpKind::Shl, 8), big), BitVec(8, 0));
  EXPECT_EQ(evaluate(makeOp(OpKind::ShrS, 8), big), BitVec(8, 0xff));
  // Concat of three parts, most significant first.
  std::vector<BitVec> parts = {BitVec(4, 0xa), BitVec(8, 0xbc), BitVec(65, 1)};
  BitVec c = evaluate(makeOp(OpKind::Concat, 77), parts);
  EXPECT_EQ(c.width(), 77u);
  EXPECT_EQ(c.toHex(), "1578" + std::string(15, '0') + "1");
  Op k = makeOp(OpKind::Const, 9);
  k.value = BitVec(9, 300);
  EXPECT_EQ(evaluate(k, {}), BitVec(9, 300));
}

} // namespace
