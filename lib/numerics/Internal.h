//===- Internal.h - shared pieces of the numerics implementation -----------===//
//
// Not part of the contract: the unpacked form of a code (sign, integer significand,
// exponent) and the two rounding cores every conversion and every FP32 result goes
// through, so that one rule exists for each (docs/numerics.md).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "numerics/Numerics.h"

#include <bit>
#include <cstdint>

namespace tessera::numerics::detail {

enum class Kind : uint8_t { Zero, Finite, Inf, NaN };

/// |value| = sig * 2^exp. `lead` is the nominal exponent: |value| < 2^(lead + 1) (the
/// unbiased exponent of a normal, emin for a subnormal, 1 for Int8Mx); the dot-product
/// alignment uses it.
struct Unpacked {
  uint32_t sig = 0;
  int16_t exp = 0;
  int16_t lead = 0;
  Kind kind = Kind::Zero;
  bool neg = false;
};

/// Exact unpacking of a code (only its low `bits` bits are read). `daz` reads FP32
/// subnormals as zero (hardware FP32); other formats keep their subnormals.
Unpacked unpack(Format f, uint32_t code, bool daz = false);
/// The unpacked form of every code of a format of at most 16 bits, indexed by code
/// (nullptr for FP32).
const Unpacked *unpackTable(Format f);
/// Code mask of a format (its low `bits` bits).
uint32_t codeMaskOf(Format f);

/// Rounds sign * sig * 2^exp (sig < 2^63, may be 0) to `to` by the conversion rules:
/// RNE or stochastic on the bits below the target quantum, gradual underflow, overflow
/// per `o`, E8M0 ignores the sign, Int8Mx clamps to [-128, 127].
uint32_t roundFinite(Format to, bool neg, uint64_t sig, int exp, Rounding r, Overflow o,
                     uint32_t random16);
/// Code for an infinite input of sign `neg` (Inf where the format has it, else saturate).
uint32_t infCode(Format to, bool neg);
/// Code for a NaN input of sign `neg` (the canonical NaN, else saturate with the sign).
uint32_t nanCode(Format to, bool neg);

/// Hardware FP32 result of sign * mag * 2^exp (mag != 0): round to a 24-bit significand,
/// nearest even, exponent unbounded; then |result| < 2^-126 flushes to a zero of that
/// sign and |result| >= 2^128 gives Inf.
uint32_t roundPackFp32Ftz(bool neg, uint64_t mag, int exp);

inline constexpr uint32_t kFp32Nan = 0x7FC00000u;
inline constexpr uint32_t kFp32Inf = 0x7F800000u;

inline int msb(uint64_t v) { return 63 - std::countl_zero(v); }

} // namespace tessera::numerics::detail
