//===- Numerics.h - the one definition of every number format ---------------===//
//
// Every number the accelerator stores or computes goes through this library: the golden
// model, the RTL generator's reference checks, the compiler's precision policy and the
// performance model all use it, so "bit-exact" has one meaning (docs/numerics.md).
//
// Formats (shared/reference/number-formats.md): FP32, BF16, FP16, FP8 E4M3 ("fn": no Inf,
// one NaN per sign, saturating) and E5M2 (IEEE-like), the MX element formats FP6 E3M2 /
// E2M3 and FP4 E2M1 (no Inf, no NaN), the MXINT8 element (two's complement, implicit scale
// 2^-6) and the E8M0 block scale (0xFF = NaN). An element code is the format's bit pattern
// in the low bits of a uint32_t.
//
// Arithmetic is the hardware's, not the host's: conversions round to nearest even or
// stochastically from supplied random bits; FP32 results are flushed to zero when
// subnormal and FP32 subnormal inputs read as zero (FTZ/DAZ) wherever this header says
// "hardware FP32"; dot products follow the fused multi-term rule of dotAccumulate.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::numerics {

/// Element formats. MXFP8 blocks hold E4M3 or E5M2 elements, MXFP6 E3M2 or E2M3, MXFP4
/// E2M1, MXINT8 Int8Mx.
enum class Format : uint8_t {
  FP32,
  BF16,
  FP16,
  E4M3,
  E5M2,
  E3M2,
  E2M3,
  E2M1,
  Int8Mx, ///< MXINT8 element: int8, value = code / 64
  E8M0,   ///< MX block scale: value = 2^(code - 127), 0xFF = NaN
};

/// Static description of a format.
struct FormatInfo {
  std::string_view name; ///< "fp32", "bf16", "fp16", "e4m3", "e5m2", "e3m2", "e2m3", "e2m1",
                         ///< "int8mx", "e8m0"
  unsigned bits;         ///< storage bits of one code
  unsigned expBits;      ///< 0 for Int8Mx
  unsigned manBits;      ///< stored mantissa bits (0 for E8M0)
  int bias;
  bool hasInf;
  bool hasNan;
  double maxNormal; ///< largest finite magnitude
  int emax;         ///< exponent of maxNormal's leading bit (MX scale computation)
};
const FormatInfo &formatInfo(Format f);
bool formatFromName(std::string_view name, Format &out);

enum class Rounding : uint8_t {
  Nearest,    ///< round to nearest, ties to even
  Stochastic, ///< round up iff discarded fraction (top 16 bits) + random 16 bits >= 2^16
};

/// What a conversion does with a finite value beyond the format's largest finite value.
enum class Overflow : uint8_t {
  Saturate, ///< clamp to +-maxNormal (E4M3, MX elements, and everything under Saturate)
  Ieee,     ///< +-Inf where the format has Inf (FP32, BF16, FP16, E5M2), else saturate
};

/// Exact value of a code (every format's values are representable in double; NaN codes
/// give NaN, Inf codes give +-Inf).
double decode(Format f, uint32_t code);
/// The same as a float where the value is an FP32 value (all formats but none of E8M0's
/// extremes lose nothing; FP32 subnormals are kept here, this is not hardware FP32).
float decodeFloat(Format f, uint32_t code);

/// Converts an FP32 bit pattern to `to`. `random16` is used only by Stochastic (the low 16
/// bits). NaN maps to the format's canonical NaN (a format without NaN gives +maxNormal
/// with the sign of the input; Int8Mx gives its clamp bounds 127 / -128 — documented in
/// docs/numerics.md). FP32 input subnormals are
/// honoured (this is the cast unit, which sees exact FP32 accumulator values).
uint32_t convertFromFp32(uint32_t fp32Bits, Format to, Rounding r, Overflow o,
                         uint32_t random16 = 0);
/// Any code to FP32 bits, exact (every format here widens exactly into FP32, except E8M0
/// 2^127 and 2^-127, which FP32 also holds).
uint32_t convertToFp32(Format from, uint32_t code);

/// The conversion rule of convertFromFp32 applied to any finite or special double (used by
/// tests and by host-side quantization of exact values); one rounding, no double rounding.
uint32_t roundToFormat(double value, Format to, Rounding r, Overflow o, uint32_t random16 = 0);
/// "e4m3:0x7e(448)": the format, the code in hex and its exact value (for messages).
std::string codeToString(Format f, uint32_t code);

//===----------------------------------------------------------------------===//
// Hardware FP32 (FTZ/DAZ, round to nearest even), as the vector unit computes
//===----------------------------------------------------------------------===//
uint32_t fp32Add(uint32_t a, uint32_t b);
uint32_t fp32Mul(uint32_t a, uint32_t b);
uint32_t fp32Max(uint32_t a, uint32_t b); ///< NaN if either is NaN; max(-0, +0) = +0
/// a / b correctly rounded (RNE) with DAZ inputs and an FTZ result; x/0 = +-Inf,
/// 0/0, Inf/Inf = NaN, finite/Inf = +-0 (docs/numerics.md, "Division and square root").
uint32_t fp32Div(uint32_t a, uint32_t b);
/// sqrt(a) correctly rounded (RNE), DAZ; sqrt(-0) = -0, negative non-zero or -Inf -> NaN.
uint32_t fp32Sqrt(uint32_t a);
/// exp(a) by the fixed hardware-FP32 algorithm of docs/numerics.md ("exp"): Cody-Waite
/// reduction, degree-5 polynomial, exponent-field scaling; at most 1 ulp from exp where
/// the result is normal (measured, see the doc); FTZ below 2^-126, +Inf above FLT_MAX.
uint32_t fp32Exp(uint32_t a);
/// GELU, tanh form, in the exact operation order of docs/isa.md 5.4 (vgelu).
uint32_t fp32Gelu(uint32_t a);
/// fp32Div(1.0, fp32Sqrt(a)) (vrsqrt): two correct roundings, not a correctly rounded rsqrt.
uint32_t fp32Rsqrt(uint32_t a);

//===----------------------------------------------------------------------===//
// MX blocks
//===----------------------------------------------------------------------===//
inline constexpr unsigned kMxBlock = 32;

/// How the E8M0 scale of a block is chosen from its amax.
enum class ScaleRounding : uint8_t {
  Floor, ///< OCP MX v1.0: floor(log2(amax)) - emax_elem
  Up,    ///< smallest power of two with amax / scale <= maxNormal of the element
};

/// E8M0 code for a block whose largest |value| is the FP32 `amaxBits` (0 or denormal
/// amax: code documented in docs/numerics.md; NaN amax: 0xFF).
uint32_t mxScale(uint32_t amaxBits, Format element, ScaleRounding mode);

struct MxBlock {
  uint32_t scale = 127;            ///< E8M0 code
  std::vector<uint32_t> elements;  ///< element codes, kMxBlock of them (last block may be short)
};
/// Quantizes FP32 values (bit patterns) block by block; random bits for stochastic
/// rounding come from `seed` through the tile's LFSR sequence (lfsrNext).
std::vector<MxBlock> quantizeMx(std::span<const uint32_t> fp32Bits, Format element,
                                ScaleRounding mode, Rounding r, uint32_t seed = 1);
/// FP32 bits of element `code` times the block scale, exact where FP32 holds it.
uint32_t mxDecode(Format element, uint32_t scaleCode, uint32_t code);

/// The tile's 16-bit maximal-length Galois LFSR (taps 0xB400) that supplies stochastic
/// rounding bits: one step per converted element. State 0 is never produced.
uint32_t lfsrNext(uint32_t state);

//===----------------------------------------------------------------------===//
// N:M structured sparsity
//===----------------------------------------------------------------------===//
/// A row compressed to n of every m values along K: `values` holds K*n/m codes in order,
/// `index` the position (0..m-1) of each kept value inside its group, ascending.
struct NmRow {
  std::vector<uint32_t> values;
  std::vector<uint8_t> index;
};
/// Keeps the n largest magnitudes of each group (ties: lower position). K % m must be 0.
NmRow compressNm(std::span<const uint32_t> codes, Format f, unsigned n, unsigned m);
/// Dense row again (dropped positions become +0).
std::vector<uint32_t> expandNm(const NmRow &row, unsigned n, unsigned m);
/// Metadata packing: 2 bits per index for m = 4 (LSB first), ceil(log2 m) bits in general.
std::vector<uint8_t> packNmIndex(std::span<const uint8_t> index, unsigned m);
std::vector<uint8_t> unpackNmIndex(std::span<const uint8_t> packed, size_t count, unsigned m);

//===----------------------------------------------------------------------===//
// Dot products as a PE computes them
//===----------------------------------------------------------------------===//
/// One PE step: acc + sum_k a[k] * b[k] over one dot-width group, as one fused
/// multi-term addition (docs/numerics.md, "Dot products"):
///  1. every product is exact (sign, integer significand product, exponent), MX elements
///     scaled by their block scales (aScale, bScale: E8M0 codes, 127 = 1.0 for non-MX);
///  2. the FP32 accumulator (DAZ) joins as one more term;
///  3. terms are aligned to the largest exponent keeping kDotFractionBits bits below
///     the leading position; bits shifted out are truncated (toward zero in magnitude);
///  4. the two's-complement sum is normalised and rounded once to FP32, nearest even;
///     subnormal results flush to +0 (sign kept), overflow gives +-Inf.
/// NaN in, or Inf - Inf, gives the canonical FP32 NaN 0x7FC00000; Inf propagates.
inline constexpr unsigned kDotFractionBits = 26;
uint32_t dotAccumulate(uint32_t accFp32, Format aFmt, std::span<const uint32_t> a,
                       uint32_t aScale, Format bFmt, std::span<const uint32_t> b,
                       uint32_t bScale);

} // namespace tessera::numerics
