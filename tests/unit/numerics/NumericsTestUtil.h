//===- NumericsTestUtil.h - references independent of the library's rounding core -===//
#pragma once

#include "numerics/Numerics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tessera::numerics::testutil {

inline uint32_t bitsOf(float f) { return std::bit_cast<uint32_t>(f); }
inline float floatOf(uint32_t b) { return std::bit_cast<float>(b); }

/// Number of codes of a format (E8M0 and 8-bit-or-smaller formats only in these tests).
inline uint32_t codeCount(Format f) { return 1u << formatInfo(f).bits; }

/// Finite codes of a format with their exact values, sorted by value (+0 before -0 is not
/// needed: only non-negative codes are listed).
struct ValueTable {
  std::vector<std::pair<double, uint32_t>> pos; ///< non-negative finite values, ascending
};

inline ValueTable positiveValues(Format f) {
  ValueTable t;
  uint32_t n = codeCount(f);
  for (uint32_t c = 0; c < n; ++c) {
    double v = decode(f, c);
    if (std::isfinite(v) && v >= 0 && !std::signbit(v))
      t.pos.push_back({v, c});
  }
  std::sort(t.pos.begin(), t.pos.end());
  return t;
}

/// Round-to-nearest-even by searching the value table: the independent reference for the
/// narrow float formats. `ieee` selects Overflow::Ieee (Inf beyond max + half an ulp).
inline uint32_t nearestReference(Format f, const ValueTable &t, double x, bool ieee) {
  const FormatInfo &fi = formatInfo(f);
  uint32_t signBit = 1u << (fi.bits - 1);
  bool neg = std::signbit(x);
  double a = std::fabs(x);
  uint32_t sign = neg ? signBit : 0;
  const auto &p = t.pos;
  double maxv = p.back().first;
  double topUlp = maxv - p[p.size() - 2].first;
  if (a > maxv) {
    if (ieee && fi.hasInf && a >= maxv + topUlp / 2)
      return sign | 0x7C; // E5M2 is the only narrow format with Inf
    return sign | p.back().second;
  }
  auto it = std::lower_bound(p.begin(), p.end(), std::make_pair(a, 0u));
  if (it->first == a)
    return sign | it->second;
  auto lo = it - 1;
  double dl = a - lo->first, dh = it->first - a;
  if (dl < dh)
    return sign | lo->second;
  if (dh < dl)
    return sign | it->second;
  return sign | ((lo->second & 1) == 0 ? lo->second : it->second);
}

} // namespace tessera::numerics::testutil
