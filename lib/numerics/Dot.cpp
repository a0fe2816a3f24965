//===- Dot.cpp - the PE's fused multi-term dot product with FP32 accumulation -===//
//
// One PE step adds W exact products and the FP32 accumulator as a single multi-term
// addition, as block floating-point adder trees in tensor cores do: every term is aligned
// to the largest nominal leading position among the non-zero terms, truncated toward zero
// kDotFractionBits places below it, summed exactly as a two's-complement integer and
// rounded once to FP32 (nearest even, no sticky bit, FTZ); a group whose products are all
// zero returns the accumulator unchanged. docs/numerics.md, "Dot products".
//
//===----------------------------------------------------------------------===//
#include "numerics/Internal.h"

#include <algorithm>
#include <climits>

namespace tessera::numerics {

using namespace detail;

uint32_t dotAccumulate(uint32_t accFp32, Format aFmt, std::span<const uint32_t> a, uint32_t aScale,
                       Format bFmt, std::span<const uint32_t> b, uint32_t bScale) {
  aScale &= 0xFF;
  bScale &= 0xFF;
  if (aScale == 0xFF || bScale == 0xFF)
    return kFp32Nan;
  const int scaleExp = int(aScale) - 127 + int(bScale) - 127;
  const size_t n = std::min(a.size(), b.size());
  // Narrow formats unpack through a table; FP32 operands are hardware FP32 (DAZ).
  const Unpacked *aTab = unpackTable(aFmt), *bTab = unpackTable(bFmt);
  const uint32_t aMask = codeMaskOf(aFmt), bMask = codeMaskOf(bFmt);
  auto getA = [&](size_t k) {
    return aTab ? aTab[a[k] & aMask] : unpack(aFmt, a[k], /*daz=*/true);
  };
  auto getB = [&](size_t k) {
    return bTab ? bTab[b[k] & bMask] : unpack(bFmt, b[k], /*daz=*/true);
  };

  // Pass 1: specials and the anchor (largest nominal leading position of a non-zero term).
  bool nan = false, posInf = false, negInf = false;
  bool anyProduct = false; // a product with two non-zero finite factors exists
  int anchor = INT_MIN;
  for (size_t k = 0; k < n; ++k) {
    Unpacked x = getA(k);
    Unpacked y = getB(k);
    if (x.kind == Kind::NaN || y.kind == Kind::NaN) {
      nan = true;
    } else if (x.kind == Kind::Inf || y.kind == Kind::Inf) {
      if (x.kind == Kind::Zero || y.kind == Kind::Zero)
        nan = true;
      else
        (x.neg != y.neg ? negInf : posInf) = true;
    } else if (x.kind == Kind::Finite && y.kind == Kind::Finite) {
      anchor = std::max(anchor, x.lead + y.lead + 1 + scaleExp);
      anyProduct = true;
    }
  }
  Unpacked acc = unpack(Format::FP32, accFp32, /*daz=*/true);
  if (acc.kind == Kind::NaN)
    nan = true;
  else if (acc.kind == Kind::Inf)
    (acc.neg ? negInf : posInf) = true;
  else if (acc.kind == Kind::Finite)
    anchor = std::max(anchor, int(acc.lead));
  if (nan || (posInf && negInf))
    return kFp32Nan;
  if (posInf || negInf)
    return (negInf ? 0x80000000u : 0) | kFp32Inf;
  // Every product is exactly +-0 (no Inf/NaN factor): the accumulator passes through
  // unchanged (after DAZ), so a zero-skipped step is indistinguishable from a computed one
  // (docs/isa.md, zero skipping). In hardware one mux after the rounder.
  if (!anyProduct)
    return acc.kind == Kind::Zero ? (acc.neg ? 0x80000000u : 0u) : accFp32;

  // Pass 2: truncate every term to the window [anchor - kDotFractionBits, anchor] and sum.
  const int lsb = anchor - int(kDotFractionBits);
  auto aligned = [lsb](uint64_t sig, int exp) -> int64_t {
    int shift = exp - lsb;
    if (shift >= 0)
      return int64_t(sig << shift); // < 2^(kDotFractionBits + 1)
    return shift <= -64 ? 0 : int64_t(sig >> -shift);
  };
  int64_t sum = 0;
  for (size_t k = 0; k < n; ++k) {
    Unpacked x = getA(k);
    Unpacked y = getB(k);
    if (x.kind != Kind::Finite || y.kind != Kind::Finite)
      continue;
    int64_t t = aligned(uint64_t(x.sig) * y.sig, x.exp + y.exp + scaleExp);
    sum += x.neg != y.neg ? -t : t;
  }
  if (acc.kind == Kind::Finite) {
    int64_t t = aligned(acc.sig, acc.exp);
    sum += acc.neg ? -t : t;
  }
  if (sum == 0)
    return 0;
  bool neg = sum < 0;
  return roundPackFp32Ftz(neg, neg ? uint64_t(0) - uint64_t(sum) : uint64_t(sum), lsb);
}

} // namespace tessera::numerics
