//===- Formats.cpp - format table, decoding and the conversion rounding core -===//
//
// Every conversion is one rounding of an exact value sign * sig * 2^exp: the target
// quantum is 2^(max(e, emin) - m) for the value's binade e (gradual underflow below emin),
// the bits below it are discarded by round-to-nearest-even or by the stochastic rule
// (top 16 discarded bits + 16 random bits, carry = round up), and a result whose code
// would pass the largest finite code is an overflow (docs/numerics.md, "Conversions").
//
//===----------------------------------------------------------------------===//
#include "numerics/Internal.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

namespace tessera::numerics {
namespace {

/// Bit-level parameters of a format, beside the public FormatInfo.
struct Layout {
  bool hasSign;
  uint32_t maxFiniteMag; ///< magnitude code of maxNormal
  uint32_t infMag;       ///< magnitude code of Inf (0: none)
  uint32_t nanCode;      ///< canonical NaN code (0: none)
};

constexpr std::array<FormatInfo, 10> kInfo = {{
    {"fp32", 32, 8, 23, 127, true, true, 0x1.fffffep127, 127},
    {"bf16", 16, 8, 7, 127, true, true, 0x1.fep127, 127},
    {"fp16", 16, 5, 10, 15, true, true, 65504.0, 15},
    {"e4m3", 8, 4, 3, 7, false, true, 448.0, 8},
    {"e5m2", 8, 5, 2, 15, true, true, 57344.0, 15},
    {"e3m2", 6, 3, 2, 3, false, false, 28.0, 4},
    {"e2m3", 6, 2, 3, 1, false, false, 7.5, 2},
    {"e2m1", 4, 2, 1, 1, false, false, 6.0, 2},
    {"int8mx", 8, 0, 6, 0, false, false, 127.0 / 64.0, 0},
    {"e8m0", 8, 8, 0, 127, false, true, 0x1p127, 127},
}};

constexpr std::array<Layout, 10> kLayout = {{
    {true, 0x7F7FFFFF, 0x7F800000, 0x7FC00000},
    {true, 0x7F7F, 0x7F80, 0x7FC0},
    {true, 0x7BFF, 0x7C00, 0x7E00},
    {true, 0x7E, 0, 0x7F},
    {true, 0x7B, 0x7C, 0x7E},
    {true, 0x1F, 0, 0},
    {true, 0x1F, 0, 0},
    {true, 0x7, 0, 0},
    {true, 0x7F, 0, 0},
    {false, 0xFE, 0, 0xFF},
}};

const Layout &layout(Format f) { return kLayout[static_cast<unsigned>(f)]; }

uint32_t codeMask(Format f) {
  unsigned bits = formatInfo(f).bits;
  return bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1);
}

uint32_t signBit(Format f) { return layout(f).hasSign ? 1u << (formatInfo(f).bits - 1) : 0; }

} // namespace

const FormatInfo &formatInfo(Format f) { return kInfo[static_cast<unsigned>(f)]; }

bool formatFromName(std::string_view name, Format &out) {
  for (unsigned i = 0; i < kInfo.size(); ++i)
    if (kInfo[i].name == name) {
      out = static_cast<Format>(i);
      return true;
    }
  return false;
}

namespace detail {

Unpacked unpack(Format f, uint32_t code, bool daz) {
  const FormatInfo &fi = formatInfo(f);
  code &= codeMask(f);
  Unpacked u;
  if (f == Format::Int8Mx) {
    int v = static_cast<int8_t>(code);
    u.neg = v < 0;
    u.sig = static_cast<uint32_t>(v < 0 ? -v : v);
    u.exp = -6;
    u.lead = 1;
    u.kind = v == 0 ? Kind::Zero : Kind::Finite;
    return u;
  }
  if (f == Format::E8M0) {
    if (code == 0xFF) {
      u.kind = Kind::NaN;
      return u;
    }
    u.sig = 1;
    u.exp = static_cast<int16_t>(int(code) - 127);
    u.lead = u.exp;
    u.kind = Kind::Finite;
    return u;
  }
  unsigned m = fi.manBits;
  uint32_t emask = (1u << fi.expBits) - 1;
  uint32_t e = (code >> m) & emask;
  uint32_t man = code & ((1u << m) - 1);
  u.neg = (code & signBit(f)) != 0;
  if (fi.hasInf && e == emask) {
    u.kind = man == 0 ? Kind::Inf : Kind::NaN;
    return u;
  }
  if (f == Format::E4M3 && (code & 0x7F) == 0x7F) {
    u.kind = Kind::NaN;
    return u;
  }
  int emin = 1 - fi.bias;
  if (e == 0) {
    if (man == 0 || daz) {
      u.kind = Kind::Zero;
      return u;
    }
    u.sig = man;
    u.exp = static_cast<int16_t>(emin - int(m));
    u.lead = static_cast<int16_t>(emin);
  } else {
    u.sig = man | (1u << m);
    u.exp = static_cast<int16_t>(int(e) - fi.bias - int(m));
    u.lead = static_cast<int16_t>(int(e) - fi.bias);
  }
  u.kind = Kind::Finite;
  return u;
}

const Unpacked *unpackTable(Format f) {
  struct Tables {
    std::array<std::unique_ptr<Unpacked[]>, 10> t;
    Tables() {
      for (unsigned i = 0; i < t.size(); ++i) {
        Format f = static_cast<Format>(i);
        unsigned bits = formatInfo(f).bits;
        if (bits > 16)
          continue;
        t[i] = std::make_unique<Unpacked[]>(size_t(1) << bits);
        for (uint32_t c = 0; c < (1u << bits); ++c)
          t[i][c] = unpack(f, c);
      }
    }
  };
  static const Tables tables;
  return tables.t[static_cast<unsigned>(f)].get();
}

uint32_t codeMaskOf(Format f) { return codeMask(f); }

uint32_t infCode(Format to, bool neg) {
  const Layout &l = layout(to);
  if (to == Format::Int8Mx)
    return neg ? 0x80 : 0x7F;
  if (to == Format::E8M0)
    return l.maxFiniteMag;
  uint32_t mag = l.infMag ? l.infMag : l.maxFiniteMag;
  return (neg ? signBit(to) : 0) | mag;
}

uint32_t nanCode(Format to, bool neg) {
  const Layout &l = layout(to);
  if (l.nanCode)
    return l.nanCode;
  return infCode(to, neg); // no NaN: saturate with the sign (Int8Mx: -2.0 for negative)
}

uint32_t roundFinite(Format to, bool neg, uint64_t sig, int exp, Rounding r, Overflow o,
                     uint32_t random16) {
  const FormatInfo &fi = formatInfo(to);
  const Layout &l = layout(to);
  if (to == Format::E8M0)
    neg = false; // a scale is a magnitude
  uint32_t sign = neg ? signBit(to) : 0;
  bool isInt = to == Format::Int8Mx;
  if (sig == 0)
    return isInt ? 0 : sign;

  int m = int(fi.manBits);
  int emin = 1 - fi.bias;
  if (to == Format::E8M0)
    emin = -127; // code 0 is 2^-127: no subnormals, no zero
  int e = msb(sig) + exp;
  int qexp = isInt ? -6 : std::max(e, emin) - m;
  int d = qexp - exp;
  uint64_t k;
  if (d <= 0) {
    // Exact: a float result has at most m + 1 bits; an Int8Mx one is clamped below.
    k = isInt && msb(sig) - d >= 16 ? uint64_t(1) << 16 : sig << -d;
  } else {
    uint64_t kept = d >= 64 ? 0 : sig >> d;
    uint64_t rem = d >= 64 ? sig : sig & ((uint64_t(1) << d) - 1);
    bool up;
    if (r == Rounding::Nearest) {
      if (d > 63) {
        up = false; // rem < 2^63 <= half
      } else {
        uint64_t half = uint64_t(1) << (d - 1);
        up = rem > half || (rem == half && (kept & 1));
      }
    } else {
      uint64_t frac16;
      if (d <= 16)
        frac16 = rem << (16 - d);
      else
        frac16 = d - 16 >= 64 ? 0 : rem >> (d - 16);
      up = frac16 + (random16 & 0xFFFF) >= 0x10000;
    }
    k = kept + (up ? 1 : 0);
  }

  if (isInt) {
    if (neg)
      return k >= 128 ? 0x80 : static_cast<uint32_t>(-static_cast<int>(k)) & 0xFF;
    return k >= 127 ? 0x7F : static_cast<uint32_t>(k);
  }
  if (k == 0)
    return to == Format::E8M0 ? 0 : sign;
  if (k >> (m + 1)) { // carry into the next binade
    k >>= 1;
    ++qexp;
  }
  uint64_t mag;
  if (k >> m) {
    int64_t eb = int64_t(qexp) + m + fi.bias;
    if (eb >= (int64_t(1) << fi.expBits))
      mag = uint64_t(1) << 40; // beyond every exponent field: overflow below
    else
      mag = (uint64_t(eb) << m) | (k - (uint64_t(1) << m));
  } else {
    mag = k; // subnormal (exponent field 0)
  }
  if (mag > l.maxFiniteMag) {
    if (o == Overflow::Ieee && l.infMag)
      return sign | l.infMag;
    return sign | l.maxFiniteMag;
  }
  return sign | static_cast<uint32_t>(mag);
}

uint32_t roundPackFp32Ftz(bool neg, uint64_t mag, int exp) {
  int p = msb(mag);
  int e = p + exp;
  uint64_t kept;
  if (p > 23) {
    int d = p - 23;
    kept = mag >> d;
    uint64_t rem = mag & ((uint64_t(1) << d) - 1);
    uint64_t half = uint64_t(1) << (d - 1);
    if (rem > half || (rem == half && (kept & 1)))
      ++kept;
    if (kept >> 24) {
      kept >>= 1;
      ++e;
    }
  } else {
    kept = mag << (23 - p);
  }
  uint32_t sign = neg ? 0x80000000u : 0;
  if (e > 127)
    return sign | kFp32Inf;
  if (e < -126)
    return sign;
  return sign | (uint32_t(e + 127) << 23) | (static_cast<uint32_t>(kept) & 0x7FFFFF);
}

} // namespace detail

using namespace detail;

double decode(Format f, uint32_t code) {
  Unpacked u = unpack(f, code);
  switch (u.kind) {
  case Kind::NaN:
    return std::numeric_limits<double>::quiet_NaN();
  case Kind::Inf:
    return u.neg ? -HUGE_VAL : HUGE_VAL;
  case Kind::Zero:
    return u.neg ? -0.0 : 0.0;
  case Kind::Finite:
    break;
  }
  double v = std::ldexp(double(u.sig), u.exp);
  return u.neg ? -v : v;
}

float decodeFloat(Format f, uint32_t code) {
  uint32_t bits = convertToFp32(f, code);
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

uint32_t convertFromFp32(uint32_t fp32Bits, Format to, Rounding r, Overflow o, uint32_t random16) {
  Unpacked u = unpack(Format::FP32, fp32Bits);
  switch (u.kind) {
  case Kind::NaN:
    return nanCode(to, u.neg);
  case Kind::Inf:
    return infCode(to, u.neg);
  default:
    return roundFinite(to, u.neg, u.sig, u.exp, r, o, random16);
  }
}

uint32_t convertToFp32(Format from, uint32_t code) {
  if (from == Format::FP32)
    return code;
  Unpacked u = unpack(from, code);
  switch (u.kind) {
  case Kind::NaN:
    return kFp32Nan;
  case Kind::Inf:
    return (u.neg ? 0x80000000u : 0) | kFp32Inf;
  default:
    return roundFinite(Format::FP32, u.neg, u.sig, u.exp, Rounding::Nearest, Overflow::Ieee, 0);
  }
}

uint32_t roundToFormat(double value, Format to, Rounding r, Overflow o, uint32_t random16) {
  bool neg = std::signbit(value);
  if (std::isnan(value))
    return nanCode(to, neg);
  if (std::isinf(value))
    return infCode(to, neg);
  int e2 = 0;
  double frac = std::frexp(std::fabs(value), &e2); // value = frac * 2^e2, frac in [0.5, 1)
  uint64_t sig = static_cast<uint64_t>(std::ldexp(frac, 53));
  return roundFinite(to, neg, sig, e2 - 53, r, o, random16);
}

std::string codeToString(Format f, uint32_t code) {
  const FormatInfo &fi = formatInfo(f);
  code &= codeMask(f);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*s:0x%0*x(%.17g)", int(fi.name.size()), fi.name.data(),
                int((fi.bits + 3) / 4), code, decode(f, code));
  return buf;
}

} // namespace tessera::numerics
