//===- FpUnits.h - the PE and vector-unit arithmetic as hw IR ---------------===//
//
// Combinational building blocks that the tile generator places into its modules with a
// hw::ModuleBuilder; it pipelines them by putting registers between them. Every unit is
// bit-exact with its lib/numerics definition (docs/numerics.md is the spec, tests compare
// them by simulation on every code pair of the 8-bit formats and on random inputs):
//
//   decodeOperand   a tensor-format code -> sign, nominal exponent, significand, flags
//   dotUnit         numerics::dotAccumulate: W exact products + FP32 accumulator, one
//                   fused alignment/truncation/sum, one RNE rounding (the PE)
//   fp32AddUnit,    numerics::fp32Add / fp32Mul / fp32Max (hardware FP32: DAZ, RNE, FTZ)
//   fp32MulUnit,
//   fp32MaxUnit
//   castUnit        numerics::convertFromFp32 to the store formats, RNE or stochastic
//   mxScaleUnit     numerics::mxScale (Floor and Up)
//
// A unit that serves several formats takes a runtime select input: value i selects
// formats[i] of the list it was built for (values past the end select formats[0]). The
// datapath structure and widths of every unit are in docs/accel-datapath.md.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"
#include "numerics/Numerics.h"
#include "support/Expected.h"

#include <cstdint>
#include <span>
#include <vector>

namespace tessera::accel {

/// Width of every signed exponent inside the units (nominal exponents, anchors, shift
/// distances): two's complement, enough for bf16 x bf16 products with two E8M0 scales.
inline constexpr uint32_t kFpExpWidth = 12;

/// An unpacked operand: |value| = sig * 2^(lead - fracBits). `lead` is the nominal
/// exponent of numerics (the unbiased exponent of a normal, emin for a subnormal, 1 for
/// int8mx), so |value| < 2^(lead + 1). sig is 0 for zeros, Inf and NaN.
struct DecodedOperand {
  hw::ValueId sign = hw::kNoValue;   ///< 1 bit
  hw::ValueId lead = hw::kNoValue;   ///< kFpExpWidth bits, signed
  hw::ValueId sig = hw::kNoValue;    ///< fracBits + 1 bits, hidden bit included
  hw::ValueId isZero = hw::kNoValue; ///< 1 bit (FP32: subnormals too, DAZ)
  hw::ValueId isInf = hw::kNoValue;  ///< 1 bit
  hw::ValueId isNan = hw::kNoValue;  ///< 1 bit
  uint32_t fracBits = 0;
};

/// Storage bits of the widest format in the list (the width of a code input).
uint32_t codeWidthOf(std::span<const numerics::Format> formats);
/// Width of a select input for a list of n formats (at least 1).
uint32_t selectWidthOf(size_t n);
/// Fraction bits of the common significand of decodeOperand over `formats`: the largest
/// stored mantissa, at least 7 when int8mx is in the list.
uint32_t operandFracBits(std::span<const numerics::Format> formats);

/// Decoder of one format (FP32 reads subnormals as zero, as hardware FP32). `code` is
/// at least the format's width; only its low bits are read. E8M0 is not an operand.
Expected<DecodedOperand> decodeOperand(hw::ModuleBuilder &b, numerics::Format fmt,
                                       hw::ValueId code);
/// Multi-format decoder: one decoder per format and a mux by `select` (kNoValue allowed
/// for a one-entry list). `code` is codeWidthOf(formats) bits.
Expected<DecodedOperand> decodeOperand(hw::ModuleBuilder &b,
                                       std::span<const numerics::Format> formats,
                                       hw::ValueId select, hw::ValueId code);

/// The PE's dot product (numerics::dotAccumulate) for one dot-width group.
struct DotUnitConfig {
  uint32_t width = 1;                     ///< W pairs per step
  std::vector<numerics::Format> aFormats; ///< tensor formats (not FP32 or E8M0)
  std::vector<numerics::Format> bFormats;
};
struct DotUnitInputs {
  std::vector<hw::ValueId> a, b;      ///< W codes each, codeWidthOf(formats) bits
  hw::ValueId aSelect = hw::kNoValue; ///< selectWidthOf(aFormats.size()) bits
  hw::ValueId bSelect = hw::kNoValue;
  hw::ValueId acc = hw::kNoValue;    ///< 32 bits, FP32
  hw::ValueId aScale = hw::kNoValue; ///< 8 bits, E8M0; kNoValue reads as 127 (1.0)
  hw::ValueId bScale = hw::kNoValue;
};
/// The new accumulator (32 bits). Fails with `unsupported-format` for FP32 / E8M0
/// operands and `bad-unit-config` for W = 0 or mismatched inputs.
Expected<hw::ValueId> dotUnit(hw::ModuleBuilder &b, const DotUnitConfig &cfg,
                              const DotUnitInputs &in);

/// Hardware FP32 (numerics::fp32Add, fp32Mul, fp32Max); 32-bit operands and result.
hw::ValueId fp32AddUnit(hw::ModuleBuilder &b, hw::ValueId x, hw::ValueId y);
hw::ValueId fp32MulUnit(hw::ModuleBuilder &b, hw::ValueId x, hw::ValueId y);
hw::ValueId fp32MaxUnit(hw::ModuleBuilder &b, hw::ValueId x, hw::ValueId y);

/// Hardware FP32 divide and square root (numerics::fp32Div, fp32Sqrt: correctly rounded,
/// RNE, DAZ inputs, FTZ results, canonical NaN). Combinational radix-2 restoring digit
/// recurrences (one quotient / root bit per stage, 27 stages) and the shared FP32 rounder;
/// docs/tile-vector-unit.md describes them.
hw::ValueId fp32DivUnit(hw::ModuleBuilder &b, hw::ValueId x, hw::ValueId y);
hw::ValueId fp32SqrtUnit(hw::ModuleBuilder &b, hw::ValueId x);

/// numerics::convertFromFp32 to one of `targets` (any format but FP32; E8M0 included).
struct CastUnitInputs {
  hw::ValueId fp32 = hw::kNoValue;         ///< 32 bits
  hw::ValueId select = hw::kNoValue;       ///< selectWidthOf(targets.size()) bits
  hw::ValueId stochastic = hw::kNoValue;   ///< 1 bit: 1 = Rounding::Stochastic; kNoValue = RNE
  hw::ValueId random16 = hw::kNoValue;     ///< 16 bits (stochastic only)
  hw::ValueId ieeeOverflow = hw::kNoValue; ///< 1 bit: 1 = Overflow::Ieee; kNoValue = Saturate
};
/// The code, codeWidthOf(targets) bits (a narrower format's code in the low bits, zeros
/// above). One shared rounding datapath whose format parameters are muxed by `select`.
Expected<hw::ValueId> castUnit(hw::ModuleBuilder &b, std::span<const numerics::Format> targets,
                               const CastUnitInputs &in);
/// Single-format convenience form with fixed rounding and overflow modes.
Expected<hw::ValueId> castUnit(hw::ModuleBuilder &b, hw::ValueId fp32, numerics::Format target,
                               numerics::Rounding rounding, hw::ValueId random16,
                               numerics::Overflow overflow);

/// numerics::mxScale: the E8M0 code (8 bits) for an FP32 amax (its sign is ignored).
/// `up` is 1 bit (1 = ScaleRounding::Up) or kNoValue for Floor. Elements: every format
/// but E8M0.
Expected<hw::ValueId> mxScaleUnit(hw::ModuleBuilder &b, hw::ValueId amax,
                                  std::span<const numerics::Format> elements, hw::ValueId select,
                                  hw::ValueId up);

} // namespace tessera::accel
