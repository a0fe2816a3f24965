//===- Mx.cpp - MX block scaling (OCP Microscaling v1.0) and the rounding LFSR --===//
//
// A block of kMxBlock FP32 values shares one E8M0 scale chosen from its amax, either by
// the OCP rule floor(log2 amax) - emax_elem or rounded up so that amax / scale never
// exceeds the element's maxNormal (NVIDIA's MXFP8 recipe, 2025). Elements are the exact
// quotient value / scale rounded once to the element format. Stochastic rounding draws
// its 16 random bits from a 16-bit Galois LFSR (taps 0xB400, period 2^16 - 1) stepped once
// per element. docs/numerics.md, "MX blocks".
//
//===----------------------------------------------------------------------===//
#include "numerics/Internal.h"

#include <algorithm>
#include <cmath>

namespace tessera::numerics {

using namespace detail;

uint32_t lfsrNext(uint32_t state) {
  state &= 0xFFFF;
  if (state == 0)
    state = 1;
  uint32_t lsb = state & 1;
  state >>= 1;
  if (lsb)
    state ^= 0xB400;
  return state;
}

uint32_t mxScale(uint32_t amaxBits, Format element, ScaleRounding mode) {
  Unpacked u = unpack(Format::FP32, amaxBits & 0x7FFFFFFF); // |amax|, subnormals exact
  if (u.kind == Kind::NaN || u.kind == Kind::Inf)
    return 0xFF;
  if (u.kind == Kind::Zero)
    return 0;
  const FormatInfo &fi = formatInfo(element);
  int lead = msb(u.sig) + u.exp; // floor(log2 amax), exact also for subnormals
  int k = lead - fi.emax;
  if (mode == ScaleRounding::Up) {
    // amax / 2^k lies in [2^emax, 2^(emax+1)); one more step when it passes maxNormal.
    double scaled = std::ldexp(double(u.sig), u.exp - k);
    if (scaled > fi.maxNormal)
      ++k;
  }
  return static_cast<uint32_t>(std::clamp(k + 127, 0, 254));
}

uint32_t mxDecode(Format element, uint32_t scaleCode, uint32_t code) {
  scaleCode &= 0xFF;
  Unpacked u = unpack(element, code);
  if (scaleCode == 0xFF || u.kind == Kind::NaN)
    return kFp32Nan;
  if (u.kind == Kind::Inf)
    return (u.neg ? 0x80000000u : 0) | kFp32Inf;
  return roundFinite(Format::FP32, u.neg, u.sig, u.exp + int(scaleCode) - 127, Rounding::Nearest,
                     Overflow::Ieee, 0);
}

std::vector<MxBlock> quantizeMx(std::span<const uint32_t> fp32Bits, Format element,
                                ScaleRounding mode, Rounding r, uint32_t seed) {
  std::vector<MxBlock> blocks;
  uint32_t state = seed & 0xFFFF;
  if (state == 0)
    state = 1;
  for (size_t start = 0; start < fp32Bits.size(); start += kMxBlock) {
    size_t n = std::min<size_t>(kMxBlock, fp32Bits.size() - start);
    std::span<const uint32_t> in = fp32Bits.subspan(start, n);
    // amax over |x| as codes: FP32 magnitudes order like their bit patterns; any NaN wins.
    uint32_t amax = 0;
    for (uint32_t x : in)
      amax = std::max(amax, x & 0x7FFFFFFF);
    MxBlock blk;
    blk.scale = mxScale(amax, element, mode);
    blk.elements.resize(n);
    int scaleExp = int(blk.scale) - 127;
    for (size_t i = 0; i < n; ++i) {
      uint32_t random16 = state;
      state = lfsrNext(state);
      if (blk.scale == 0xFF) {
        blk.elements[i] = 0; // the block decodes as NaN whatever its elements hold
        continue;
      }
      Unpacked u = unpack(Format::FP32, in[i]);
      blk.elements[i] = u.kind == Kind::Zero
                            ? roundFinite(element, u.neg, 0, 0, r, Overflow::Saturate, random16)
                            : roundFinite(element, u.neg, u.sig, u.exp - scaleExp, r,
                                          Overflow::Saturate, random16);
    }
    blocks.push_back(std::move(blk));
  }
  return blocks;
}

} // namespace tessera::numerics
