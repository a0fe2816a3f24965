//===- FpUnits.cpp - PE and vector-unit arithmetic built as hw IR -----------===//
//
// Each unit is the textbook datapath for its numerics rule (docs/accel-datapath.md):
// unpack, exact product, alignment shifter with truncation (dot) or guard/sticky bits
// (add), two's-complement adder tree, a leading-zero normaliser built as a logarithmic
// shifter, and one round-to-nearest-even rounder shared by every FP32 result (FTZ after
// rounding, Inf on overflow). Multi-format units mux per-format decoders (decodeOperand)
// or per-format parameters of one shared rounding datapath (castUnit, mxScaleUnit).
// Everything is combinational; exponents are kFpExpWidth-bit two's complement.
//
//===----------------------------------------------------------------------===//
#include "accel/FpUnits.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>

namespace tessera::accel {

using hw::ModuleBuilder;
using hw::OpKind;
using hw::ValueId;
using numerics::Format;

namespace {

constexpr uint32_t EW = kFpExpWidth;
constexpr uint32_t kFp32Nan = 0x7FC00000u;

/// Thin helpers over ModuleBuilder so that the datapaths read like their numerics rules.
struct Gen {
  ModuleBuilder &b;

  uint32_t width(ValueId v) { return b.module().width(v); }
  ValueId c(uint32_t w, uint64_t v) {
    return b.constant(w, w >= 64 ? v : v & ((uint64_t(1) << w) - 1));
  }
  /// A signed exponent constant.
  ValueId ce(int64_t v) { return c(EW, uint64_t(v)); }
  ValueId one() { return c(1, 1); }
  ValueId zero1() { return c(1, 0); }
  ValueId bit(ValueId v, uint32_t i) { return b.extract(v, i, 1); }
  ValueId bits(ValueId v, uint32_t lo, uint32_t w) { return b.extract(v, lo, w); }
  ValueId lnot(ValueId v) { return b.bitNot(v); }
  ValueId land(ValueId x, ValueId y) { return b.bitAnd(x, y); }
  ValueId lor(ValueId x, ValueId y) { return b.bitOr(x, y); }
  ValueId lor(std::initializer_list<ValueId> xs) {
    ValueId r = kNo;
    for (ValueId x : xs)
      r = r == kNo ? x : b.bitOr(r, x);
    return r;
  }
  ValueId anySet(ValueId v) { return b.unary(OpKind::RedOr, v); }
  ValueId isZero(ValueId v) { return lnot(anySet(v)); }
  ValueId eqc(ValueId v, uint64_t k) { return b.eq(v, c(width(v), k)); }
  ValueId sel(ValueId cond, ValueId t, ValueId f) { return b.mux(cond, t, f); }
  ValueId shl(ValueId v, ValueId amt) { return b.binary(OpKind::Shl, v, amt); }
  ValueId shr(ValueId v, ValueId amt) { return b.binary(OpKind::ShrU, v, amt); }
  ValueId shlc(ValueId v, uint32_t k) {
    uint32_t w = width(v);
    if (k == 0)
      return v;
    if (k >= w)
      return c(w, 0);
    return b.concat({bits(v, 0, w - k), c(k, 0)});
  }
  ValueId gts(ValueId x, ValueId y) { return b.binary(OpKind::GtS, x, y); }
  ValueId lts(ValueId x, ValueId y) { return b.binary(OpKind::LtS, x, y); }
  ValueId gtu(ValueId x, ValueId y) { return b.binary(OpKind::GtU, x, y); }
  ValueId geu(ValueId x, ValueId y) { return b.binary(OpKind::GeU, x, y); }
  ValueId smax(ValueId x, ValueId y) { return sel(gts(x, y), x, y); }
  ValueId negate(ValueId v) { return b.sub(c(width(v), 0), v); }
  ValueId zx(ValueId v, uint32_t w) { return b.zext(v, w); }
  ValueId sx(ValueId v, uint32_t w) { return b.sext(v, w); }
  /// `v` zero-extended to EW bits (an unsigned field as an exponent).
  ValueId ze(ValueId v) { return b.resize(v, EW); }

  /// Leading-zero normaliser: (v << lzc(v), lzc(v)) as a logarithmic shifter whose stage
  /// s shifts by 2^s when the top 2^s bits are zero. For v = 0 the count is meaningless.
  std::pair<ValueId, ValueId> normalize(ValueId v) {
    uint32_t w = width(v);
    uint32_t stages = 0;
    while ((uint32_t(1) << stages) < w)
      ++stages;
    std::vector<ValueId> countBits; // most significant first
    for (int s = int(stages) - 1; s >= 0; --s) {
      uint32_t k = uint32_t(1) << s; // < w by the choice of `stages`
      ValueId z = isZero(bits(v, w - k, k));
      v = sel(z, shlc(v, k), v);
      countBits.push_back(z);
    }
    ValueId count = countBits.empty() ? c(1, 0) : b.concat(countBits);
    return {v, count};
  }

  static constexpr ValueId kNo = hw::kNoValue;
};

/// Per-format bit layout of a sign-magnitude float code.
struct FloatLayout {
  uint32_t bits, expBits, manBits;
  int bias;
  bool allOnesSpecial; ///< all-ones exponent = Inf/NaN (FP32, BF16, FP16, E5M2)
  bool e4m3Nan;        ///< S.1111.111 is NaN
  bool daz;            ///< FP32 operands read subnormals as zero
};

FloatLayout layoutOf(Format f) {
  const numerics::FormatInfo &fi = numerics::formatInfo(f);
  return {fi.bits,   fi.expBits,        fi.manBits,       fi.bias,
          fi.hasInf, f == Format::E4M3, f == Format::FP32};
}

Diagnostic unsupported(Format f, const char *unit) {
  return Diagnostic::error("unsupported-format", std::string(unit) + " does not take " +
                                                     std::string(numerics::formatInfo(f).name));
}

/// Decoder of one format into the common significand of `frac` fraction bits.
DecodedOperand decodeOne(Gen &g, Format f, ValueId code, uint32_t frac) {
  DecodedOperand d;
  d.fracBits = frac;
  if (f == Format::Int8Mx) {
    ValueId c8 = g.bits(code, 0, 8);
    d.sign = g.bit(c8, 7);
    ValueId mag = g.sel(d.sign, g.negate(c8), c8); // 0x80 -> 128, as unsigned
    d.sig = g.shlc(g.zx(mag, frac + 1), frac - 7);
    d.lead = g.ce(1);
    d.isZero = g.isZero(c8);
    d.isInf = g.zero1();
    d.isNan = g.zero1();
    return d;
  }
  FloatLayout l = layoutOf(f);
  ValueId cw = g.bits(code, 0, l.bits);
  d.sign = g.bit(cw, l.bits - 1);
  ValueId e = g.bits(cw, l.manBits, l.expBits);
  ValueId man = l.manBits ? g.bits(cw, 0, l.manBits) : ValueId(Gen::kNo);
  ValueId eZero = g.isZero(e);
  ValueId manZero = g.isZero(man);
  if (l.allOnesSpecial) {
    ValueId eOnes = g.b.unary(OpKind::RedAnd, e);
    d.isNan = g.land(eOnes, g.lnot(manZero));
    d.isInf = g.land(eOnes, manZero);
  } else if (l.e4m3Nan) {
    d.isNan = g.eqc(g.bits(cw, 0, 7), 0x7F);
    d.isInf = g.zero1();
  } else {
    d.isNan = g.zero1();
    d.isInf = g.zero1();
  }
  d.isZero = l.daz ? eZero : g.land(eZero, manZero);
  ValueId finite = g.lnot(g.lor({d.isZero, d.isInf, d.isNan}));
  d.lead = g.sel(eZero, g.ce(1 - l.bias), g.b.sub(g.ze(e), g.ce(l.bias)));
  ValueId sig = g.b.concat({g.lnot(eZero), man}); // manBits + 1 bits
  sig = g.shlc(g.zx(sig, frac + 1), frac - l.manBits);
  d.sig = g.sel(finite, sig, g.c(frac + 1, 0));
  return d;
}

ValueId muxChain(Gen &g, ValueId select, const std::vector<ValueId> &vals) {
  ValueId r = vals[0];
  for (size_t i = 1; i < vals.size(); ++i)
    r = g.sel(g.eqc(select, i), vals[i], r);
  return r;
}

/// hardware-FP32 rounding (numerics roundPackFp32Ftz) of (-1)^neg * mag * 2^lsbExp,
/// mag != 0: normalise, keep 24 bits, RNE on guard and sticky, carry into the exponent,
/// FTZ when the rounded exponent is below -126, Inf above 127.
ValueId roundPackFp32(Gen &g, ValueId neg, ValueId mag, ValueId lsbExp) {
  uint32_t n = g.width(mag);
  if (n < 26) {
    mag = g.b.concat({mag, g.c(26 - n, 0)});
    lsbExp = g.b.sub(lsbExp, g.ce(26 - n));
    n = 26;
  }
  auto [norm, lz] = g.normalize(mag);
  ValueId e = g.b.sub(g.b.add(lsbExp, g.ce(n - 1)), g.ze(lz));
  ValueId kept = g.bits(norm, n - 24, 24);
  ValueId guard = g.bit(norm, n - 25);
  ValueId sticky = n > 25 ? g.anySet(g.bits(norm, 0, n - 25)) : g.zero1();
  ValueId up = g.land(guard, g.lor(sticky, g.bit(kept, 0)));
  ValueId k = g.b.add(g.zx(kept, 25), g.zx(up, 25));
  ValueId carry = g.bit(k, 24);
  ValueId e2 = g.b.add(e, g.zx(carry, EW));
  ValueId man = g.bits(k, 0, 23);
  ValueId biased = g.bits(g.b.add(e2, g.ce(127)), 0, 8);
  ValueId normal = g.b.concat({neg, biased, man});
  ValueId inf = g.b.concat({neg, g.c(31, 0x7F800000u)});
  ValueId zero = g.b.concat({neg, g.c(31, 0)});
  return g.sel(g.gts(e2, g.ce(127)), inf, g.sel(g.lts(e2, g.ce(-126)), zero, normal));
}

} // namespace

//===----------------------------------------------------------------------===//
// Operand decoding
//===----------------------------------------------------------------------===//

uint32_t codeWidthOf(std::span<const Format> formats) {
  uint32_t w = 1;
  for (Format f : formats)
    w = std::max(w, numerics::formatInfo(f).bits);
  return w;
}

uint32_t selectWidthOf(size_t n) {
  uint32_t w = 1;
  while ((size_t(1) << w) < n)
    ++w;
  return w;
}

uint32_t operandFracBits(std::span<const Format> formats) {
  uint32_t f = 0;
  for (Format x : formats)
    f = std::max(f, x == Format::Int8Mx ? 7u : numerics::formatInfo(x).manBits);
  return f;
}

Expected<DecodedOperand> decodeOperand(ModuleBuilder &b, Format fmt, ValueId code) {
  Format list[] = {fmt};
  return decodeOperand(b, list, hw::kNoValue, code);
}

Expected<DecodedOperand> decodeOperand(ModuleBuilder &b, std::span<const Format> formats,
                                       ValueId select, ValueId code) {
  if (formats.empty())
    return Diagnostic::error("bad-unit-config", "decodeOperand needs at least one format");
  for (Format f : formats)
    if (f == Format::E8M0)
      return unsupported(f, "decodeOperand");
  Gen g{b};
  if (g.width(code) < codeWidthOf(formats))
    return Diagnostic::error("bad-unit-config", "decodeOperand: code input narrower than " +
                                                    std::to_string(codeWidthOf(formats)) + " bits");
  if (formats.size() > 1 && select == hw::kNoValue)
    return Diagnostic::error("bad-unit-config", "decodeOperand: several formats need a select");
  uint32_t frac = operandFracBits(formats);
  std::vector<DecodedOperand> per;
  for (Format f : formats)
    per.push_back(decodeOne(g, f, code, frac));
  if (per.size() == 1)
    return per[0];
  auto pick = [&](ValueId DecodedOperand::*field) {
    std::vector<ValueId> v;
    for (const DecodedOperand &d : per)
      v.push_back(d.*field);
    return muxChain(g, select, v);
  };
  DecodedOperand d;
  d.fracBits = frac;
  d.sign = pick(&DecodedOperand::sign);
  d.lead = pick(&DecodedOperand::lead);
  d.sig = pick(&DecodedOperand::sig);
  d.isZero = pick(&DecodedOperand::isZero);
  d.isInf = pick(&DecodedOperand::isInf);
  d.isNan = pick(&DecodedOperand::isNan);
  return d;
}

//===----------------------------------------------------------------------===//
// Dot product
//===----------------------------------------------------------------------===//

Expected<ValueId> dotUnit(ModuleBuilder &b, const DotUnitConfig &cfg, const DotUnitInputs &in) {
  const uint32_t W = cfg.width;
  if (W == 0 || in.a.size() != W || in.b.size() != W || in.acc == hw::kNoValue)
    return Diagnostic::error("bad-unit-config",
                             "dotUnit: needs W >= 1, W codes per operand and an accumulator");
  for (const auto *list : {&cfg.aFormats, &cfg.bFormats}) {
    if (list->empty())
      return Diagnostic::error("bad-unit-config", "dotUnit: an operand has no formats");
    for (Format f : *list)
      if (f == Format::FP32 || f == Format::E8M0)
        return unsupported(f, "dotUnit");
  }
  Gen g{b};
  const uint32_t fa = operandFracBits(cfg.aFormats), fb = operandFracBits(cfg.bFormats);
  assert(fa + fb <= 25 && "products must fit the 27-bit window");
  const uint32_t pw = fa + fb + 2;                        // product width
  constexpr uint32_t XW = numerics::kDotFractionBits + 1; // window: anchor .. anchor - 26

  // Specials and the anchor over the products with two finite non-zero factors.
  std::vector<ValueId> nanTerms, posInfTerms, negInfTerms;
  std::vector<ValueId> valid, leadSum, sign, X;
  for (uint32_t k = 0; k < W; ++k) {
    TRY_ASSIGN(DecodedOperand x, decodeOperand(b, cfg.aFormats, in.aSelect, in.a[k]));
    TRY_ASSIGN(DecodedOperand y, decodeOperand(b, cfg.bFormats, in.bSelect, in.b[k]));
    ValueId zeroFactor = g.lor(x.isZero, y.isZero);
    ValueId anyInf = g.lor(x.isInf, y.isInf);
    ValueId anyNan = g.lor(x.isNan, y.isNan);
    nanTerms.push_back(g.lor(anyNan, g.land(anyInf, zeroFactor)));
    ValueId infK = g.land(anyInf, g.lnot(g.lor(anyNan, zeroFactor)));
    ValueId s = g.b.bitXor(x.sign, y.sign);
    posInfTerms.push_back(g.land(infK, g.lnot(s)));
    negInfTerms.push_back(g.land(infK, s));
    valid.push_back(g.lnot(g.lor({zeroFactor, anyInf, anyNan})));
    leadSum.push_back(g.b.add(x.lead, y.lead));
    sign.push_back(s);
    // Exact product placed so that a product at the anchor fills the 27-bit window:
    // sig_a * sig_b < 2^(fa+fb+2) represents a value < 2^(La+Lb+2) = 2^(L+1).
    ValueId p = g.b.mul(g.zx(x.sig, pw), g.zx(y.sig, pw));
    X.push_back(g.shlc(g.zx(p, XW), XW - pw));
  }
  auto orAll = [&](const std::vector<ValueId> &v) {
    ValueId r = v[0];
    for (size_t i = 1; i < v.size(); ++i)
      r = g.lor(r, v[i]);
    return r;
  };

  // Max of La + Lb over the valid products: a tree of (valid, value) pairs.
  std::vector<std::pair<ValueId, ValueId>> level;
  for (uint32_t k = 0; k < W; ++k)
    level.push_back({valid[k], leadSum[k]});
  while (level.size() > 1) {
    std::vector<std::pair<ValueId, ValueId>> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      auto [v1, l1] = level[i];
      auto [v2, l2] = level[i + 1];
      ValueId take1 = g.land(v1, g.lor(g.lnot(v2), g.gts(l1, l2)));
      next.push_back({g.lor(v1, v2), g.sel(take1, l1, l2)});
    }
    if (level.size() % 2)
      next.push_back(level.back());
    level = std::move(next);
  }
  ValueId anyProduct = level[0].first;

  // Block scales: sa + sb, NaN scale.
  ValueId scaleNan = g.zero1();
  ValueId scaleSum = g.ce(0);
  for (ValueId sc : {in.aScale, in.bScale}) {
    if (sc == hw::kNoValue)
      continue;
    ValueId s8 = g.bits(sc, 0, 8);
    scaleNan = g.lor(scaleNan, g.eqc(s8, 0xFF));
    scaleSum = g.b.add(scaleSum, g.b.sub(g.ze(s8), g.ce(127)));
  }
  ValueId prodAnchor = g.b.add(g.b.add(level[0].second, g.ce(1)), scaleSum);

  // Accumulator: FP32, DAZ, one more term with L = its exponent.
  TRY_ASSIGN(DecodedOperand acc, decodeOperand(b, Format::FP32, in.acc));
  ValueId accValid = g.lnot(g.lor({acc.isZero, acc.isInf, acc.isNan}));
  ValueId anchor = g.sel(g.land(accValid, g.gts(acc.lead, prodAnchor)), acc.lead, prodAnchor);

  // Alignment with truncation and the two's-complement adder tree.
  uint32_t terms = W + 1, grow = 0;
  while ((uint32_t(1) << grow) < terms)
    ++grow;
  const uint32_t SW = XW + grow + 1;
  auto signedTerm = [&](ValueId mag, ValueId neg) {
    ValueId m = g.zx(mag, SW);
    return g.sel(neg, g.negate(m), m);
  };
  ValueId base = g.b.sub(g.b.sub(anchor, g.ce(1)), scaleSum); // anchor - 1 - sa - sb
  std::vector<ValueId> sum;
  for (uint32_t k = 0; k < W; ++k) {
    ValueId d = g.b.sub(base, leadSum[k]); // >= 0 for a valid product
    ValueId t = g.sel(valid[k], g.shr(X[k], d), g.c(XW, 0));
    sum.push_back(signedTerm(t, sign[k]));
  }
  {
    ValueId xacc = g.shlc(g.zx(acc.sig, XW), XW - 24); // 1.man at the top of the window
    ValueId d = g.b.sub(anchor, acc.lead);
    ValueId t = g.sel(accValid, g.shr(xacc, d), g.c(XW, 0));
    sum.push_back(signedTerm(t, acc.sign));
  }
  while (sum.size() > 1) {
    std::vector<ValueId> next;
    for (size_t i = 0; i + 1 < sum.size(); i += 2)
      next.push_back(g.b.add(sum[i], sum[i + 1]));
    if (sum.size() % 2)
      next.push_back(sum.back());
    sum = std::move(next);
  }
  ValueId S = sum[0];
  ValueId neg = g.bit(S, SW - 1);
  ValueId mag = g.sel(neg, g.negate(S), S);
  ValueId rounded = roundPackFp32(g, neg, mag, g.b.sub(anchor, g.ce(numerics::kDotFractionBits)));

  // Result selection: NaN > Inf > accumulator passthrough > exact zero > rounded sum.
  ValueId posInf = g.lor(orAll(posInfTerms), g.land(acc.isInf, g.lnot(acc.sign)));
  ValueId negInf = g.lor(orAll(negInfTerms), g.land(acc.isInf, acc.sign));
  ValueId nan = g.lor({orAll(nanTerms), acc.isNan, scaleNan, g.land(posInf, negInf)});
  ValueId accSign = g.bit(in.acc, 31);
  ValueId passthrough = g.sel(acc.isZero, g.b.concat({accSign, g.c(31, 0)}), g.bits(in.acc, 0, 32));
  ValueId r = g.sel(g.isZero(S), g.c(32, 0), rounded);
  r = g.sel(anyProduct, r, passthrough);
  r = g.sel(g.lor(posInf, negInf), g.b.concat({negInf, g.c(31, 0x7F800000u)}), r);
  r = g.sel(nan, g.c(32, kFp32Nan), r);
  return r;
}

//===----------------------------------------------------------------------===//
// Hardware FP32 add, multiply, max
//===----------------------------------------------------------------------===//

namespace {
DecodedOperand decodeFp32(Gen &g, ValueId x) { return decodeOne(g, Format::FP32, x, 23); }
} // namespace

ValueId fp32AddUnit(ModuleBuilder &b, ValueId xIn, ValueId yIn) {
  Gen g{b};
  DecodedOperand x = decodeFp32(g, xIn), y = decodeFp32(g, yIn);
  // Operand swap: `p` has the larger (or equal) exponent.
  ValueId swap = g.gts(y.lead, x.lead);
  ValueId pSig = g.sel(swap, y.sig, x.sig), qSig = g.sel(swap, x.sig, y.sig);
  ValueId pLead = g.sel(swap, y.lead, x.lead), qLead = g.sel(swap, x.lead, y.lead);
  ValueId pSign = g.sel(swap, y.sign, x.sign), qSign = g.sel(swap, x.sign, y.sign);
  ValueId d = g.b.sub(pLead, qLead);
  // Alignment: three zero bits below the significands, then a sticky bit that ORs
  // everything the shift drops (exact rounding of the sum, see the doc).
  ValueId qFull = g.b.concat({qSig, g.c(3, 0)}); // 27 bits
  ValueId qSh = g.shr(qFull, d);
  ValueId dropped = g.land(qFull, g.lnot(g.shl(g.c(27, (uint64_t(1) << 27) - 1), d)));
  ValueId P = g.zx(g.b.concat({pSig, g.c(4, 0)}), 29);
  ValueId Q = g.zx(g.b.concat({qSh, g.anySet(dropped)}), 29);
  ValueId effSub = g.b.bitXor(pSign, qSign);
  ValueId sum = g.b.add(P, Q);
  ValueId diff = g.b.sub(P, Q);
  ValueId diffNeg = g.bit(diff, 28);
  ValueId mag = g.sel(effSub, g.sel(diffNeg, g.negate(diff), diff), sum);
  ValueId sign = g.sel(g.land(effSub, diffNeg), qSign, pSign);
  ValueId rounded = roundPackFp32(g, sign, mag, g.b.sub(pLead, g.ce(27)));

  ValueId nan =
      g.lor({x.isNan, y.isNan, g.land(g.land(x.isInf, y.isInf), g.b.bitXor(x.sign, y.sign))});
  ValueId anyInf = g.lor(x.isInf, y.isInf);
  ValueId infSign = g.sel(x.isInf, x.sign, y.sign);
  ValueId r = g.sel(g.isZero(mag), g.c(32, 0), rounded); // exact cancellation: +0
  r = g.sel(y.isZero, xIn, r);
  r = g.sel(x.isZero, yIn, r);
  r = g.sel(g.land(x.isZero, y.isZero), g.b.concat({g.land(x.sign, y.sign), g.c(31, 0)}), r);
  r = g.sel(anyInf, g.b.concat({infSign, g.c(31, 0x7F800000u)}), r);
  return g.sel(nan, g.c(32, kFp32Nan), r);
}

ValueId fp32MulUnit(ModuleBuilder &b, ValueId xIn, ValueId yIn) {
  Gen g{b};
  DecodedOperand x = decodeFp32(g, xIn), y = decodeFp32(g, yIn);
  ValueId sign = g.b.bitXor(x.sign, y.sign);
  ValueId zeroFactor = g.lor(x.isZero, y.isZero);
  ValueId anyInf = g.lor(x.isInf, y.isInf);
  ValueId nan = g.lor({x.isNan, y.isNan, g.land(anyInf, zeroFactor)});
  ValueId p = g.b.mul(g.zx(x.sig, 48), g.zx(y.sig, 48));
  ValueId rounded = roundPackFp32(g, sign, p, g.b.sub(g.b.add(x.lead, y.lead), g.ce(46)));
  ValueId r = g.sel(zeroFactor, g.b.concat({sign, g.c(31, 0)}), rounded);
  r = g.sel(anyInf, g.b.concat({sign, g.c(31, 0x7F800000u)}), r);
  return g.sel(nan, g.c(32, kFp32Nan), r);
}

ValueId fp32MaxUnit(ModuleBuilder &b, ValueId xIn, ValueId yIn) {
  Gen g{b};
  DecodedOperand x = decodeFp32(g, xIn), y = decodeFp32(g, yIn);
  // DAZ: a subnormal becomes the zero of its sign; then sign-magnitude order, -0 < +0.
  ValueId cx = g.sel(x.isZero, g.b.concat({x.sign, g.c(31, 0)}), xIn);
  ValueId cy = g.sel(y.isZero, g.b.concat({y.sign, g.c(31, 0)}), yIn);
  ValueId mx = g.bits(cx, 0, 31), my = g.bits(cy, 0, 31);
  ValueId bothPos = g.land(g.lnot(x.sign), g.lnot(y.sign));
  ValueId bothNeg = g.land(x.sign, y.sign);
  ValueId xWins = g.lor({g.land(g.lnot(x.sign), y.sign), g.land(bothPos, g.geu(mx, my)),
                         g.land(bothNeg, g.geu(my, mx))});
  return g.sel(g.lor(x.isNan, y.isNan), g.c(32, kFp32Nan), g.sel(xWins, cx, cy));
}

ValueId fp32DivUnit(ModuleBuilder &b, ValueId xIn, ValueId yIn) {
  Gen g{b};
  DecodedOperand x = decodeFp32(g, xIn), y = decodeFp32(g, yIn);
  ValueId sign = g.b.bitXor(x.sign, y.sign);
  // Restoring radix-2 recurrence on the 24-bit significands: quotient bit 26 compares
  // sig_x with sig_y (sig_x / sig_y is in (1/2, 2)), then 26 more bits; the partial
  // remainder stays below sig_y. q = floor(sig_x * 2^26 / sig_y) has 26 or 27 bits, so the
  // guard bit is exact and a non-zero remainder is the sticky bit (the same rounding as
  // numerics' wider quotient).
  ValueId D = g.zx(y.sig, 25);
  ValueId r = g.zx(x.sig, 25);
  std::vector<ValueId> qBits; // most significant first
  for (int i = 26; i >= 0; --i) {
    if (i != 26)
      r = g.shlc(r, 1); // r < D < 2^24, so 2r fits 25 bits
    ValueId bit = g.geu(r, D);
    r = g.sel(bit, g.b.sub(r, D), r);
    qBits.push_back(bit);
  }
  qBits.push_back(g.anySet(r));    // sticky
  ValueId mag = g.b.concat(qBits); // 28 bits: (2q + sticky)
  ValueId lsbExp = g.b.sub(g.b.sub(x.lead, y.lead), g.ce(27));
  ValueId rounded = roundPackFp32(g, sign, mag, lsbExp);
  ValueId zero = g.b.concat({sign, g.c(31, 0)});
  ValueId inf = g.b.concat({sign, g.c(31, 0x7F800000u)});
  ValueId nan = g.lor({x.isNan, y.isNan, g.land(x.isInf, y.isInf), g.land(x.isZero, y.isZero)});
  ValueId res = g.sel(x.isZero, zero, rounded);
  res = g.sel(y.isZero, inf, res);
  res = g.sel(y.isInf, zero, res);
  res = g.sel(x.isInf, inf, res);
  return g.sel(nan, g.c(32, kFp32Nan), res);
}

ValueId fp32SqrtUnit(ModuleBuilder &b, ValueId xIn) {
  Gen g{b};
  DecodedOperand x = decodeFp32(g, xIn);
  // value = sig * 2^(lead - 23). The radicand sig * 2^k takes k = 28 (lead odd) or 29 (lead
  // even) so that lead - 23 - k is even; it has 52 or 53 bits and its root 26 or 27.
  ValueId leadEven = g.lnot(g.bit(x.lead, 0));
  ValueId sig54 = g.zx(x.sig, 54);
  ValueId rad = g.sel(leadEven, g.shlc(sig54, 29), g.shlc(sig54, 28));
  // Restoring digit recurrence: bring down two radicand bits, try (root << 2) | 1.
  constexpr uint32_t RW = 32;
  ValueId rem = g.c(RW, 0), root = g.c(RW, 0);
  for (int i = 26; i >= 0; --i) {
    rem = g.b.concat({g.bits(rem, 0, RW - 2), g.bits(rad, 2 * i, 2)});
    ValueId trial = g.b.concat({g.bits(root, 0, RW - 2), g.c(2, 1)});
    ValueId bit = g.geu(rem, trial);
    rem = g.sel(bit, g.b.sub(rem, trial), rem);
    root = g.b.concat({g.bits(root, 0, RW - 1), bit});
  }
  ValueId mag = g.b.concat({g.bits(root, 0, 27), g.anySet(rem)}); // 28 bits
  // lsb exponent of mag: (lead - 23 - k) / 2 - 1.
  ValueId t = g.b.sub(g.b.sub(x.lead, g.ce(51)), g.zx(leadEven, EW));
  ValueId half = g.sx(g.bits(t, 1, EW - 1), EW);
  ValueId rounded = roundPackFp32(g, g.zero1(), mag, g.b.sub(half, g.ce(1)));
  ValueId res = g.sel(x.isInf, g.c(32, 0x7F800000u), rounded);
  // A negative non-zero (-Inf included) gives NaN; sqrt(-0) = -0.
  res = g.sel(x.sign, g.c(32, kFp32Nan), res);
  res = g.sel(x.isZero, g.b.concat({x.sign, g.c(31, 0)}), res);
  return g.sel(x.isNan, g.c(32, kFp32Nan), res);
}

//===----------------------------------------------------------------------===//
// Cast (convertFromFp32) and MX scale
//===----------------------------------------------------------------------===//

namespace {

/// FP32 unpacked without DAZ (the cast unit sees exact accumulator values): sign,
/// 24-bit significand (hidden bit 0 for subnormals), exponent of its last bit, and
/// floor(log2 |x|) from a leading-zero count.
struct ExactFp32 {
  ValueId sign, sig, exp, e, norm, isZero, isInf, isNan;
};

ExactFp32 unpackExact(Gen &g, ValueId x) {
  ExactFp32 u;
  u.sign = g.bit(x, 31);
  ValueId ef = g.bits(x, 23, 8), man = g.bits(x, 0, 23);
  ValueId eZero = g.isZero(ef), eOnes = g.b.unary(OpKind::RedAnd, ef);
  ValueId manZero = g.isZero(man);
  u.isZero = g.land(eZero, manZero);
  u.isInf = g.land(eOnes, manZero);
  u.isNan = g.land(eOnes, g.lnot(manZero));
  u.sig = g.b.concat({g.lnot(eZero), man});
  u.exp = g.sel(eZero, g.ce(-149), g.b.sub(g.ze(ef), g.ce(150)));
  auto [norm, lz] = g.normalize(u.sig);
  u.norm = norm;
  u.e = g.b.sub(g.b.add(u.exp, g.ce(23)), g.ze(lz));
  return u;
}

/// Bit-level parameters of a cast target, as constants of the datapath.
struct CastParams {
  uint32_t m = 0; ///< stored mantissa bits
  int emin = 0;   ///< exponent of the smallest normal (E8M0: -127, no subnormals)
  int bias = 0;
  uint32_t expLimit = 0;  ///< 2^expBits: a biased exponent this large overflows
  uint32_t maxFinite = 0; ///< magnitude code of maxNormal
  uint32_t infMag = 0;    ///< magnitude code of Inf (0: none)
  uint32_t nanCode = 0;   ///< canonical NaN (0: none)
  uint32_t signBit = 0;   ///< the sign bit's value in the code (0: unsigned)
  bool isInt = false, isE8M0 = false;
};

CastParams castParams(Format f) {
  const numerics::FormatInfo &fi = numerics::formatInfo(f);
  CastParams p;
  p.m = fi.manBits;
  p.bias = fi.bias;
  p.emin = f == Format::E8M0 ? -127 : 1 - fi.bias;
  p.expLimit = 1u << fi.expBits;
  p.isInt = f == Format::Int8Mx;
  p.isE8M0 = f == Format::E8M0;
  p.signBit = p.isE8M0 ? 0 : 1u << (fi.bits - 1);
  // Magnitude codes from the conversion itself (largest finite value, Inf, NaN).
  uint32_t mask = (fi.bits >= 32 ? 0xFFFFFFFFu : (1u << fi.bits) - 1) & ~p.signBit;
  p.maxFinite = numerics::roundToFormat(fi.maxNormal, f, numerics::Rounding::Nearest,
                                        numerics::Overflow::Saturate) &
                mask;
  if (fi.hasInf && f != Format::E4M3 && f != Format::E8M0)
    p.infMag = numerics::roundToFormat(HUGE_VAL, f, numerics::Rounding::Nearest,
                                       numerics::Overflow::Ieee) &
               mask;
  if (fi.hasNan)
    p.nanCode = numerics::convertFromFp32(kFp32Nan, f, numerics::Rounding::Nearest,
                                          numerics::Overflow::Ieee);
  return p;
}

} // namespace

Expected<ValueId> castUnit(ModuleBuilder &b, std::span<const Format> targets,
                           const CastUnitInputs &in) {
  if (targets.empty() || in.fp32 == hw::kNoValue)
    return Diagnostic::error("bad-unit-config", "castUnit needs a target format and an input");
  for (Format f : targets)
    if (f == Format::FP32)
      return unsupported(f, "castUnit");
  if (targets.size() > 1 && in.select == hw::kNoValue)
    return Diagnostic::error("bad-unit-config", "castUnit: several targets need a select");
  if (in.stochastic != hw::kNoValue && in.random16 == hw::kNoValue)
    return Diagnostic::error("bad-unit-config", "castUnit: stochastic rounding needs random16");
  Gen g{b};
  const uint32_t OW = codeWidthOf(targets);
  std::vector<CastParams> ps;
  for (Format f : targets)
    ps.push_back(castParams(f));
  // A parameter of the selected target, as a constant per target muxed by select.
  auto param = [&](uint32_t w, auto get) {
    std::vector<ValueId> v;
    for (const CastParams &p : ps)
      v.push_back(g.c(w, uint64_t(int64_t(get(p)))));
    bool same = std::all_of(ps.begin(), ps.end(),
                            [&](const CastParams &p) { return get(p) == get(ps[0]); });
    return same ? v[0] : muxChain(g, in.select, v);
  };
  ValueId m = param(5, [](const CastParams &p) { return p.m; });
  ValueId emin = param(EW, [](const CastParams &p) { return p.emin; });
  ValueId bias = param(EW, [](const CastParams &p) { return p.bias; });
  ValueId expLimit = param(EW, [](const CastParams &p) { return p.expLimit; });
  ValueId maxFinite = param(16, [](const CastParams &p) { return p.maxFinite; });
  ValueId infMag = param(16, [](const CastParams &p) { return p.infMag; });
  ValueId hasInf = param(1, [](const CastParams &p) { return p.infMag != 0; });
  ValueId nanCode = param(OW, [](const CastParams &p) { return p.nanCode; });
  ValueId hasNan = param(1, [](const CastParams &p) { return p.nanCode != 0; });
  ValueId signBit = param(OW, [](const CastParams &p) { return p.signBit; });
  ValueId isInt = param(1, [](const CastParams &p) { return p.isInt; });

  ExactFp32 u = unpackExact(g, in.fp32);
  ValueId sign = g.sel(u.sign, signBit, g.c(OW, 0)); // E8M0: no sign bit, sign ignored

  // Quantum exponent and the shift that brings the significand to it.
  ValueId qexp = g.sel(isInt, g.ce(-6), g.b.sub(g.smax(u.e, emin), g.ze(m)));
  ValueId d = g.b.sub(qexp, u.exp);
  ValueId intHuge = g.land(isInt, g.lts(d, g.ce(0))); // int8mx past 2^17: clamps
  // {sig, 16 zero bits} >> d: kept integer above, the top 16 discarded bits below, and a
  // sticky bit for everything further down (only round-to-nearest needs it).
  ValueId T = g.b.concat({u.sig, g.c(16, 0)}); // 40 bits
  ValueId shifted = g.shr(T, d);
  ValueId kept = g.bits(shifted, 16, 24);
  ValueId frac16 = g.bits(shifted, 0, 16);
  ValueId sticky = g.anySet(g.land(T, g.lnot(g.shl(g.c(40, (uint64_t(1) << 40) - 1), d))));
  ValueId upNearest = g.lor(g.gtu(frac16, g.c(16, 0x8000)),
                            g.land(g.eqc(frac16, 0x8000), g.lor(sticky, g.bit(kept, 0))));
  ValueId up = upNearest;
  if (in.stochastic != hw::kNoValue) {
    ValueId s17 = g.b.add(g.zx(frac16, 17), g.zx(g.bits(in.random16, 0, 16), 17));
    up = g.sel(g.bit(in.stochastic, 0), g.bit(s17, 16), upNearest);
  }
  ValueId k = g.b.add(g.zx(kept, 25), g.zx(up, 25));

  // int8mx: clamp to [-128, 127].
  ValueId k8 = g.bits(k, 0, 8);
  ValueId intNeg = g.sel(g.lor(intHuge, g.geu(k, g.c(25, 128))), g.c(8, 0x80), g.negate(k8));
  ValueId intPos = g.sel(g.lor(intHuge, g.geu(k, g.c(25, 127))), g.c(8, 0x7F), k8);
  ValueId intCode = g.b.resize(g.sel(u.sign, intNeg, intPos), OW);

  // Floats: carry into the next binade, normal or subnormal, overflow.
  ValueId m1 = g.b.add(g.zx(m, 6), g.c(6, 1));
  ValueId carry = g.anySet(g.shr(k, m1));
  ValueId kn = g.sel(carry, g.bits(g.b.concat({g.c(1, 0), k}), 1, 25), k);
  ValueId q2 = g.b.add(qexp, g.zx(carry, EW));
  ValueId normal = g.anySet(g.shr(kn, m));
  ValueId eb = g.b.add(g.b.add(q2, g.zx(m, EW)), bias);
  ValueId expOvf = g.land(normal, g.lnot(g.lts(eb, expLimit)));
  ValueId manMask = g.lnot(g.shl(g.c(16, 0xFFFF), m));
  ValueId eb16 = g.zx(g.bits(eb, 0, EW), 16);
  ValueId magN = g.lor(g.shl(eb16, m), g.land(g.bits(kn, 0, 16), manMask));
  ValueId mag = g.sel(normal, magN, g.bits(kn, 0, 16));
  ValueId ovf = g.lor(expOvf, g.gtu(mag, maxFinite));
  ValueId ieee = in.ieeeOverflow == hw::kNoValue ? g.zero1() : g.bit(in.ieeeOverflow, 0);
  ValueId ovfMag = g.sel(g.land(ieee, hasInf), infMag, maxFinite);
  ValueId outMag = g.b.resize(g.sel(ovf, ovfMag, mag), OW);
  ValueId floatCode = g.b.bitOr(sign, outMag);
  floatCode = g.sel(g.isZero(k), sign, floatCode); // rounds to zero: signed zero (E8M0: 0)

  ValueId finite = g.sel(isInt, intCode, floatCode);
  // Specials: zero keeps its sign; Inf -> Inf or saturate; NaN -> NaN or saturate.
  ValueId satPos = g.b.resize(g.sel(isInt, g.c(16, 0x7F), maxFinite), OW);
  ValueId satNeg = g.sel(isInt, g.c(OW, 0x80), g.b.bitOr(sign, satPos));
  ValueId sat = g.sel(u.sign, satNeg, satPos);
  ValueId infCode = g.sel(hasInf, g.b.bitOr(sign, g.b.resize(infMag, OW)), sat);
  ValueId nanOut = g.sel(hasNan, nanCode, sat);
  ValueId r = g.sel(u.isZero, g.sel(isInt, g.c(OW, 0), sign), finite);
  r = g.sel(u.isInf, infCode, r);
  return g.sel(u.isNan, nanOut, r);
}

Expected<ValueId> castUnit(ModuleBuilder &b, ValueId fp32, Format target,
                           numerics::Rounding rounding, ValueId random16,
                           numerics::Overflow overflow) {
  CastUnitInputs in;
  in.fp32 = fp32;
  if (rounding == numerics::Rounding::Stochastic) {
    in.stochastic = b.constant(1, 1);
    in.random16 = random16;
  }
  if (overflow == numerics::Overflow::Ieee)
    in.ieeeOverflow = b.constant(1, 1);
  Format t[] = {target};
  return castUnit(b, t, in);
}

Expected<ValueId> mxScaleUnit(ModuleBuilder &b, ValueId amax, std::span<const Format> elements,
                              ValueId select, ValueId up) {
  if (elements.empty())
    return Diagnostic::error("bad-unit-config", "mxScaleUnit needs an element format");
  for (Format f : elements)
    if (f == Format::E8M0)
      return unsupported(f, "mxScaleUnit");
  if (elements.size() > 1 && select == hw::kNoValue)
    return Diagnostic::error("bad-unit-config", "mxScaleUnit: several elements need a select");
  Gen g{b};
  // Per element: emax and maxNormal's significand as a 24-bit integer 1.f * 2^23.
  std::vector<ValueId> emaxV, maxSigV;
  for (Format f : elements) {
    const numerics::FormatInfo &fi = numerics::formatInfo(f);
    emaxV.push_back(g.ce(fi.emax));
    maxSigV.push_back(g.c(24, uint64_t(std::ldexp(fi.maxNormal, 23 - fi.emax))));
  }
  ValueId emax = elements.size() == 1 ? emaxV[0] : muxChain(g, select, emaxV);
  ValueId maxSig = elements.size() == 1 ? maxSigV[0] : muxChain(g, select, maxSigV);
  ExactFp32 u = unpackExact(g, g.b.concat({g.c(1, 0), g.bits(amax, 0, 31)}));
  ValueId k = g.b.sub(u.e, emax);
  if (up != hw::kNoValue)
    k = g.b.add(k, g.zx(g.land(g.bit(up, 0), g.gtu(u.norm, maxSig)), EW));
  ValueId biased = g.b.add(k, g.ce(127));
  ValueId code = g.sel(g.lts(biased, g.ce(0)), g.c(8, 0),
                       g.sel(g.gts(biased, g.ce(254)), g.c(8, 254), g.bits(biased, 0, 8)));
  code = g.sel(u.isZero, g.c(8, 0), code);
  return g.sel(g.lor(u.isInf, u.isNan), g.c(8, 0xFF), code);
}

} // namespace tessera::accel
