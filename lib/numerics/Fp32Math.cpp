//===- Fp32Math.cpp - hardware FP32 divide, square root, exp and GELU -------===//
//
// The vector unit's long-latency functions, as an RTL datapath computes them:
//  - fp32Div and fp32Sqrt are correctly rounded (RNE) like IEEE 754, with DAZ inputs and
//    FTZ results; the integer quotient / root with a sticky bit is what a radix-2 digit
//    recurrence produces, and one rounding follows (roundPackFp32Ftz, shared with fp32Add).
//  - fp32Exp is a fixed sequence of hardware FP32 operations (Cody-Waite range reduction,
//    a degree-5 polynomial by Horner, scaling through the exponent field), so a datapath
//    built from fp32Mul / fp32Add reproduces it bit for bit (docs/numerics.md, "exp").
//  - fp32Gelu is the tanh form of GELU in the exact operation order of docs/isa.md 5.4.
// Every NaN result is the canonical 0x7FC00000.
//
//===----------------------------------------------------------------------===//
#include "numerics/Internal.h"

namespace tessera::numerics {

using namespace detail;

namespace {

uint32_t signOf(bool neg) { return neg ? 0x80000000u : 0; }

/// floor(sqrt(v)) by the restoring digit recurrence (one result bit per step), and whether
/// a remainder is left (the sticky bit).
uint64_t isqrt(uint64_t v, bool &inexact) {
  uint64_t rem = 0, root = 0;
  for (int i = 31; i >= 0; --i) {
    // Bring down the next two bits of v.
    rem = (rem << 2) | ((v >> (2 * i)) & 3);
    uint64_t trial = (root << 2) | 1;
    root <<= 1;
    if (rem >= trial) {
      rem -= trial;
      root |= 1;
    }
  }
  inexact = rem != 0;
  return root;
}

} // namespace

uint32_t fp32Div(uint32_t a, uint32_t b) {
  Unpacked x = unpack(Format::FP32, a, /*daz=*/true);
  Unpacked y = unpack(Format::FP32, b, /*daz=*/true);
  bool neg = x.neg != y.neg;
  if (x.kind == Kind::NaN || y.kind == Kind::NaN)
    return kFp32Nan;
  if (x.kind == Kind::Inf)
    return y.kind == Kind::Inf ? kFp32Nan : signOf(neg) | kFp32Inf;
  if (y.kind == Kind::Inf)
    return signOf(neg); // finite / Inf = 0
  if (y.kind == Kind::Zero)
    return x.kind == Kind::Zero ? kFp32Nan : signOf(neg) | kFp32Inf;
  if (x.kind == Kind::Zero)
    return signOf(neg);
  // Both significands are 24-bit integers in [2^23, 2^24): the quotient of sig_x * 2^40 by
  // sig_y has 40 or 41 bits, 16 or more below the rounding position; a non-zero remainder
  // becomes the sticky bit under them.
  uint64_t num = uint64_t(x.sig) << 40;
  uint64_t q = num / y.sig, r = num % y.sig;
  uint64_t mag = (q << 1) | (r != 0 ? 1 : 0);
  return roundPackFp32Ftz(neg, mag, x.exp - y.exp - 41);
}

uint32_t fp32Sqrt(uint32_t a) {
  Unpacked x = unpack(Format::FP32, a, /*daz=*/true);
  if (x.kind == Kind::NaN)
    return kFp32Nan;
  if (x.kind == Kind::Zero)
    return signOf(x.neg); // sqrt(-0) = -0
  if (x.neg)
    return kFp32Nan; // negative non-zero, -Inf included
  if (x.kind == Kind::Inf)
    return kFp32Inf;
  // value = sig * 2^exp with sig < 2^24; make the exponent even and widen the radicand to
  // 62 or 63 bits so the root has 31 or 32 bits (8 or more below the rounding position).
  uint64_t sig = x.sig;
  int exp = x.exp;
  if (exp & 1) {
    sig <<= 1;
    exp -= 1;
  }
  sig <<= 38; // sig < 2^63
  exp -= 38;
  bool inexact = false;
  uint64_t root = isqrt(sig, inexact);
  uint64_t mag = (root << 1) | (inexact ? 1 : 0);
  return roundPackFp32Ftz(false, mag, exp / 2 - 1);
}

// exp(x), docs/numerics.md "exp (fp32Exp)": every constant is an FP32 bit pattern.
namespace expc {
inline constexpr uint32_t kLog2e = 0x3FB8AA3B; // 1.44269502 = log2(e) rounded
inline constexpr uint32_t kLn2Hi = 0x3F318000; // 0.693359375 = 355/512 (9 bits: n*hi exact)
inline constexpr uint32_t kLn2Lo = 0xB95E8083; // -2.12194440e-4 = ln2 - hi, rounded
inline constexpr uint32_t kP5 = 0x39506967;    // 1.9875691500e-4
inline constexpr uint32_t kP4 = 0x3AB743CE;    // 1.3981999507e-3
inline constexpr uint32_t kP3 = 0x3C088908;    // 8.3334519073e-3
inline constexpr uint32_t kP2 = 0x3D2AA9C1;    // 4.1665795894e-2
inline constexpr uint32_t kP1 = 0x3E2AAAAA;    // 1.6666665459e-1
inline constexpr uint32_t kP0 = 0x3F000000;    // 5.0000001201e-1 rounds to 0.5
inline constexpr uint32_t kOne = 0x3F800000;
} // namespace expc

uint32_t fp32Exp(uint32_t a) {
  using namespace expc;
  Unpacked x = unpack(Format::FP32, a, /*daz=*/true);
  if (x.kind == Kind::NaN)
    return kFp32Nan;
  if (x.kind == Kind::Inf)
    return x.neg ? 0 : kFp32Inf;
  if (x.kind == Kind::Zero)
    return kOne;
  // |x| >= 128: far outside the normal range of the result (exp(88.73) > FLT_MAX,
  // exp(-87.34) < 2^-126).
  if (((a >> 23) & 0xFF) >= 127 + 7)
    return x.neg ? 0 : kFp32Inf;
  // 1. n = round(x * log2 e), ties away from zero, |n| <= 185.
  uint32_t t = fp32Mul(a, kLog2e);
  Unpacked tu = unpack(Format::FP32, t, /*daz=*/true);
  int64_t n = 0;
  if (tu.kind == Kind::Finite && tu.lead >= -1) { // else |t| < 1/2: n = 0
    // |t| = sig * 2^exp; floor(|t| + 1/2) = (2 * sig * 2^exp + 1) >> 1 in fixed point.
    int sh = -tu.exp; // 16..24: 2^-1 <= |t| < 2^8
    uint64_t half = (uint64_t(tu.sig) << 1) + (uint64_t(1) << sh);
    int64_t mag = int64_t(half >> (sh + 1));
    n = tu.neg ? -mag : mag;
  }
  uint32_t nf = n == 0 ? 0u
                       : roundPackFp32Ftz(n < 0, uint64_t(n < 0 ? -n : n), 0); // exact
  // 2. r = (x - n*hi) - n*lo (Cody-Waite; n*hi and x - n*hi are exact).
  uint32_t r = fp32Add(a, fp32Mul(nf, kLn2Hi) ^ 0x80000000u);
  r = fp32Add(r, fp32Mul(nf, kLn2Lo) ^ 0x80000000u);
  // 3. e^r = 1 + r + r^2 * P(r), |r| <= 0.35, Horner.
  uint32_t p = kP5;
  for (uint32_t c : {kP4, kP3, kP2, kP1, kP0})
    p = fp32Add(fp32Mul(p, r), c);
  uint32_t z = fp32Mul(r, r);
  uint32_t y = fp32Add(fp32Add(fp32Mul(p, z), r), kOne); // in [0.7, 1.42], normal
  // 4. Scale by 2^n through the exponent field: FTZ below 2^-126, Inf above FLT_MAX.
  int64_t be = int64_t((y >> 23) & 0xFF) + n;
  if (be <= 0)
    return 0;
  if (be >= 255)
    return kFp32Inf;
  return (y & 0x807FFFFFu) | (uint32_t(be) << 23);
}

uint32_t fp32Gelu(uint32_t x) {
  constexpr uint32_t kC0 = 0x3F4C422A, kC1 = 0x3D372713; // sqrt(2/pi), 0.044715
  constexpr uint32_t kHalf = 0x3F000000, kOne = 0x3F800000, kTwo = 0x40000000;
  uint32_t x3 = fp32Mul(fp32Mul(x, x), x);
  uint32_t u = fp32Mul(kC0, fp32Add(x, fp32Mul(kC1, x3)));
  uint32_t e = fp32Exp(fp32Add(u, u));
  uint32_t t = fp32Add(kOne, fp32Div(kTwo, fp32Add(e, kOne)) ^ 0x80000000u);
  return fp32Mul(fp32Mul(kHalf, x), fp32Add(kOne, t));
}

uint32_t fp32Rsqrt(uint32_t x) { return fp32Div(0x3F800000u, fp32Sqrt(x)); }

} // namespace tessera::numerics
