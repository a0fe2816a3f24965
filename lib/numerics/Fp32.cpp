//===- Fp32.cpp - hardware FP32 add, multiply and max (FTZ/DAZ, RNE) --------===//
//
// The vector unit's FP32: subnormal inputs read as zero, the exact result is rounded once
// to a 24-bit significand (nearest even, exponent unbounded) and a rounded result below
// 2^-126 flushes to zero with its sign ("tininess after rounding", as x86 FTZ). NaN results
// are the canonical 0x7FC00000. Integer-only, so an RTL adder can follow it line by line.
//
//===----------------------------------------------------------------------===//
#include "numerics/Internal.h"

namespace tessera::numerics {

using namespace detail;

namespace {
uint32_t signOf(bool neg) { return neg ? 0x80000000u : 0; }
} // namespace

uint32_t fp32Add(uint32_t a, uint32_t b) {
  Unpacked x = unpack(Format::FP32, a, /*daz=*/true);
  Unpacked y = unpack(Format::FP32, b, /*daz=*/true);
  if (x.kind == Kind::NaN || y.kind == Kind::NaN)
    return kFp32Nan;
  if (x.kind == Kind::Inf || y.kind == Kind::Inf) {
    if (x.kind == Kind::Inf && y.kind == Kind::Inf && x.neg != y.neg)
      return kFp32Nan;
    return signOf(x.kind == Kind::Inf ? x.neg : y.neg) | kFp32Inf;
  }
  if (x.kind == Kind::Zero && y.kind == Kind::Zero)
    return signOf(x.neg && y.neg); // -0 + -0 = -0, otherwise +0
  if (x.kind == Kind::Zero)
    return b;
  if (y.kind == Kind::Zero)
    return a;
  if (x.exp < y.exp)
    std::swap(x, y);
  int d = x.exp - y.exp;
  uint64_t big, small;
  int exp;
  if (d <= 38) { // exact in 62 bits
    big = uint64_t(x.sig) << d;
    small = y.sig;
    exp = y.exp;
  } else {
    // y is below 2^-14 of x's last place: it only decides the rounding direction, so it
    // is replaced by one unit three places below x's last bit (never a tie).
    big = uint64_t(x.sig) << 3;
    small = 1;
    exp = x.exp - 3;
  }
  if (x.neg == y.neg)
    return roundPackFp32Ftz(x.neg, big + small, exp);
  if (big == small)
    return 0; // exact cancellation: +0
  return big > small ? roundPackFp32Ftz(x.neg, big - small, exp)
                     : roundPackFp32Ftz(y.neg, small - big, exp);
}

uint32_t fp32Mul(uint32_t a, uint32_t b) {
  Unpacked x = unpack(Format::FP32, a, /*daz=*/true);
  Unpacked y = unpack(Format::FP32, b, /*daz=*/true);
  bool neg = x.neg != y.neg;
  if (x.kind == Kind::NaN || y.kind == Kind::NaN)
    return kFp32Nan;
  if (x.kind == Kind::Inf || y.kind == Kind::Inf) {
    if (x.kind == Kind::Zero || y.kind == Kind::Zero)
      return kFp32Nan;
    return signOf(neg) | kFp32Inf;
  }
  if (x.kind == Kind::Zero || y.kind == Kind::Zero)
    return signOf(neg);
  return roundPackFp32Ftz(neg, uint64_t(x.sig) * y.sig, x.exp + y.exp);
}

uint32_t fp32Max(uint32_t a, uint32_t b) {
  Unpacked x = unpack(Format::FP32, a, /*daz=*/true);
  Unpacked y = unpack(Format::FP32, b, /*daz=*/true);
  if (x.kind == Kind::NaN || y.kind == Kind::NaN)
    return kFp32Nan;
  // After DAZ the operands are ordered by their sign-magnitude codes.
  uint32_t ca = x.kind == Kind::Zero ? signOf(x.neg) : a;
  uint32_t cb = y.kind == Kind::Zero ? signOf(y.neg) : b;
  auto key = [](uint32_t c) -> int64_t {
    int64_t mag = c & 0x7FFFFFFF;
    return (c >> 31) ? -mag - 1 : mag; // -0 orders below +0
  };
  return key(ca) >= key(cb) ? ca : cb;
}

} // namespace tessera::numerics
