//===- tessera/hls.h - types and attributes for `tessera hls` kernels -------===//
//
// Included by HLS kernels and by their native (co-simulation) build alike: plain C++20
// (the attribute macros also work in C), no dependency on Tessera's libraries, integer
// code only. Every format here is a class over integer storage whose arithmetic is
// written in integer C++, so a kernel using it compiles to integer operations and the
// generated RTL needs no floating-point units.
//
//   hls::uint<N>, hls::sint<N>  unsigned _BitInt(N) / _BitInt(N) (clang >= 14 only; C++
//                               has no template named `int`, hence `sint`). N <= 64 in
//                               kernels: wider integers are `unsupported-width`.
//   hls::fixed<W, F>            signed two's-complement fixed point, W bits (W <= 32 for
//                               `*`), F of them fractional; + - wrap modulo 2^W; `*`
//                               computes the exact product in 64 bits and shifts right by
//                               F: it truncates toward minus infinity (floor).
//   hls::fp32                   FP32 as the accelerator's vector unit computes it (lib/
//                               numerics "hardware FP32"): subnormal inputs read as zero,
//                               one rounding to nearest even, subnormal results flush to
//                               zero with their sign, NaN results are 0x7FC00000.
//                               + - * / and hls::sqrt; / and sqrt are correctly rounded.
//   hls::bf16, hls::fp8e4m3,    storage formats: conversions from FP32 round to nearest
//   hls::fp8e5m2                even (FP32 subnormal inputs honoured, as numerics'
//                               convertFromFp32); overflow gives Inf for bf16 and e5m2
//                               (fp8e5m2::fromFp32Saturate clamps) and saturates for
//                               e4m3; NaN gives the format's canonical NaN. Arithmetic on
//                               them widens to hls::fp32, computes there and rounds back.
//
//   hls::stream<T, Capacity>    a blocking ready/valid stream for kernel parameters
//                               (`hls::stream<int> &in`): read(), write(v), empty(),
//                               full(), size(). T: an integer type or one of the formats
//                               above (carried as its sizeof(T) * 8 storage bits; bool: 1
//                               bit). Natively a fixed-capacity ring buffer (Capacity
//                               elements, default 4096; write on a full stream and read on
//                               an empty one are no-ops that count in overflows() /
//                               underflows(), since one thread cannot wait). In the HLS
//                               compile (the front end defines TESSERA_HLS_SYNTHESIS)
//                               read / write are calls the front end turns into the CDFG's
//                               StreamRead / StreamWrite; the RTL waits on the handshake.
//                               A stream parameter is only read (an input stream) or only
//                               written (an output stream); TESSERA_DEPTH(n) on an input
//                               stream says how many elements co-simulation offers it.
//
// Bit for bit the same as tessera::numerics (tests/unit/hls/FrontEndHlsHeaderTest.cpp checks it).
//
// Attributes (C and C++), placed after a parameter or variable name:
//   TESSERA_DEPTH(n)                 elements an interface pointer addresses
//   TESSERA_PARTITION(kind, factor)  kind: cyclic | block; TESSERA_PARTITION_COMPLETE
//   TESSERA_PORTS(n)                 RAM ports per bank (1 or 2)
//   TESSERA_INDEPENDENT              no loop-carried dependence through the array:
//                                    iterations of a pipelined loop never share an
//                                    element (Vitis' `dependence inter false`)
// Macro arguments are expanded before they are spelled into the attribute; a constexpr
// variable is not (write the number or a macro).
//
// Function attributes, placed before a function's declaration (Vitis' `allocation
// function`): the function is not inlined but built once as a pipelined functional unit
// that its call sites share (docs/hls.md, "Shared functions"):
//   TESSERA_SHARED                   default unit count (sequential code: one unit;
//                                    a pipelined loop: as many as its II needs)
//   TESSERA_SHARED_LIMIT(n)          at most n units of the function
// A shared function takes scalar parameters and returns a scalar; after unrolling and
// if-conversion its body must be straight-line code without arrays, streams or calls.
// `-D TESSERA_NO_SHARING` turns both into nothing: every call is inlined again.
// hls::fp32's + - * go through the shared functions hls::detail::fp32AddUnit and
// fp32MulUnit, so every kernel computing in fp32 (or in bf16 / fp8 through it) shares
// its FP adders and multipliers.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_HLS_H
#define TESSERA_HLS_H

#define TESSERA_HLS_STR_(x) #x
#define TESSERA_HLS_STR(x) TESSERA_HLS_STR_(x)
#if defined(__clang__)
#define TESSERA_HLS_ANNOTATE(s) __attribute__((annotate(s)))
#else
#define TESSERA_HLS_ANNOTATE(s)
#endif
#define TESSERA_DEPTH(n) TESSERA_HLS_ANNOTATE("tessera_depth=" TESSERA_HLS_STR(n))
#define TESSERA_PARTITION(kind, factor)                                                            \
  TESSERA_HLS_ANNOTATE("tessera_partition=" #kind "," TESSERA_HLS_STR(factor))
#define TESSERA_PARTITION_COMPLETE TESSERA_HLS_ANNOTATE("tessera_partition=complete")
#define TESSERA_PORTS(n) TESSERA_HLS_ANNOTATE("tessera_ports=" TESSERA_HLS_STR(n))
#define TESSERA_INDEPENDENT TESSERA_HLS_ANNOTATE("tessera_independent")
#if defined(__clang__) && !defined(TESSERA_NO_SHARING)
#define TESSERA_SHARED __attribute__((noinline, annotate("tessera_shared")))
#define TESSERA_SHARED_LIMIT(n)                                                                    \
  __attribute__((noinline, annotate("tessera_shared"),                                             \
                 annotate("tessera_shared_limit=" TESSERA_HLS_STR(n))))
#else
#define TESSERA_SHARED
#define TESSERA_SHARED_LIMIT(n)
#endif

#ifdef __cplusplus

#include <cstdint>
#include <type_traits>

namespace hls {

#if defined(__clang__) && __clang_major__ >= 14
template <unsigned N> using uint = unsigned _BitInt(N);
template <unsigned N> using sint = _BitInt(N);
#endif

//===----------------------------------------------------------------------===//
// Fixed point
//===----------------------------------------------------------------------===//

namespace detail {
template <unsigned W> struct FixedStorage { using type = int64_t; };
template <unsigned W>
requires(W <= 32) struct FixedStorage<W> {
  using type = int32_t;
};

/// The low `w` bits of v, sign-extended.
constexpr int64_t wrapSigned(int64_t v, unsigned w) {
  if (w >= 64)
    return v;
  return int64_t(uint64_t(v) << (64 - w)) >> (64 - w);
}
} // namespace detail

template <unsigned W, unsigned F> class fixed {
  static_assert(W >= 2 && W <= 64 && F < W, "hls::fixed<W, F>: 2 <= W <= 64, F < W");

public:
  using storage = typename detail::FixedStorage<W>::type;
  storage raw = 0; ///< the value times 2^F, sign-extended from W bits

  constexpr fixed() = default;
  /// From an integer (wraps modulo 2^(W - F) like an integer conversion).
  constexpr fixed(int v)
      : raw(storage(detail::wrapSigned(int64_t(uint64_t(int64_t(v)) << F), W))) {}
  static constexpr fixed fromRaw(int64_t r) {
    fixed x;
    x.raw = storage(detail::wrapSigned(r, W));
    return x;
  }
  /// floor(value) as an integer.
  constexpr int64_t toInt() const { return int64_t(raw) >> F; }

  friend constexpr fixed operator+(fixed a, fixed b) { return fromRaw(int64_t(a.raw) + b.raw); }
  friend constexpr fixed operator-(fixed a, fixed b) { return fromRaw(int64_t(a.raw) - b.raw); }
  friend constexpr fixed operator-(fixed a) { return fromRaw(-int64_t(a.raw)); }
  /// Exact product, then an arithmetic shift right by F: rounds toward minus infinity.
  friend constexpr fixed operator*(fixed a, fixed b) {
    static_assert(W <= 32, "hls::fixed multiplication needs W <= 32 (64-bit product)");
    return fromRaw((int64_t(a.raw) * int64_t(b.raw)) >> F);
  }
  constexpr fixed &operator+=(fixed b) { return *this = *this + b; }
  constexpr fixed &operator-=(fixed b) { return *this = *this - b; }
  constexpr fixed &operator*=(fixed b) { return *this = *this * b; }
  friend constexpr bool operator==(fixed a, fixed b) { return a.raw == b.raw; }
  friend constexpr bool operator!=(fixed a, fixed b) { return a.raw != b.raw; }
  friend constexpr bool operator<(fixed a, fixed b) { return a.raw < b.raw; }
  friend constexpr bool operator<=(fixed a, fixed b) { return a.raw <= b.raw; }
  friend constexpr bool operator>(fixed a, fixed b) { return a.raw > b.raw; }
  friend constexpr bool operator>=(fixed a, fixed b) { return a.raw >= b.raw; }
};

//===----------------------------------------------------------------------===//
// Floating-point formats over integer storage
//===----------------------------------------------------------------------===//

namespace detail {

/// Bit-level description of a format (as lib/numerics' format table).
struct FloatLayout {
  unsigned expBits, manBits;
  int bias;
  uint32_t signBit, maxFiniteMag, infMag, nanCode; // infMag 0: no Inf
  bool e4m3;                                       // NaN is S.1111.111, no Inf
};
inline constexpr FloatLayout kFp32{8,           23,          127,         0x80000000u,
                                   0x7F7FFFFFu, 0x7F800000u, 0x7FC00000u, false};
inline constexpr FloatLayout kBf16{8, 7, 127, 0x8000u, 0x7F7Fu, 0x7F80u, 0x7FC0u, false};
inline constexpr FloatLayout kE4m3{4, 3, 7, 0x80u, 0x7Eu, 0u, 0x7Fu, true};
inline constexpr FloatLayout kE5m2{5, 2, 15, 0x80u, 0x7Bu, 0x7Cu, 0x7Eu, false};

enum class Kind : uint8_t { Zero, Finite, Inf, NaN };

/// |value| = sig * 2^exp.
struct Unpacked {
  uint64_t sig = 0;
  int exp = 0;
  Kind kind = Kind::Zero;
  bool neg = false;
};

/// Index of the highest set bit (v != 0); __builtin_clzll becomes llvm.ctlz, which the
/// front end expands into a loop-free compare/select tree.
constexpr int msb64(uint64_t v) { return v ? 63 - __builtin_clzll(v) : 0; }

// The functions below are written without early returns or short-circuit operators:
// every case is computed and picked with sel() at the end (both operands evaluated
// first, as the hardware does it), so that after inlining the front end's if-conversion
// turns them into straight-line select trees and a loop using them stays one block that
// can be pipelined. Shift amounts are masked to 0..63 where a case that is not selected
// could make them out of range.

template <class T> constexpr T sel(bool c, T a, T b) { return c ? a : b; }

constexpr Unpacked unpack(const FloatLayout &f, uint32_t code, bool daz) {
  uint32_t emask = (1u << f.expBits) - 1;
  uint32_t e = (code >> f.manBits) & emask;
  uint32_t man = code & ((1u << f.manBits) - 1);
  bool top = (f.infMag != 0) & (e == emask);
  bool e4m3Nan = f.e4m3 & ((code & 0x7F) == 0x7F);
  bool sub = e == 0;
  bool zero = sub & ((man == 0) | daz);
  int emin = 1 - f.bias;
  Unpacked u;
  u.neg = (code & f.signBit) != 0;
  u.sig = sel<uint64_t>(zero, 0, sel<uint64_t>(sub, man, man | (1u << f.manBits)));
  u.exp = sel<int>(sub, emin - int(f.manBits), int(e) - f.bias - int(f.manBits));
  u.kind = sel(((top & (man != 0)) | e4m3Nan), Kind::NaN,
               sel(top, Kind::Inf, sel(zero, Kind::Zero, Kind::Finite)));
  return u;
}

/// sign * sig * 2^exp rounded to nearest even into `f` (gradual underflow; overflow to
/// Inf when `ieee` and the format has it, else to the largest finite value).
constexpr uint32_t roundFinite(const FloatLayout &f, bool neg, uint64_t sig, int exp, bool ieee) {
  uint32_t sign = sel<uint32_t>(neg, f.signBit, 0);
  int m = int(f.manBits);
  int emin = 1 - f.bias;
  int e = msb64(sig) + exp;
  int qexp = sel(e > emin, e, emin) - m;
  int d = qexp - exp;
  uint64_t exact = sig << (unsigned(-d) & 63);
  uint64_t kept = sel<uint64_t>(d >= 64, 0, sig >> (unsigned(d) & 63));
  uint64_t rem = sel<uint64_t>(d >= 64, sig, sig & ((uint64_t(1) << (unsigned(d) & 63)) - 1));
  uint64_t half = uint64_t(1) << (unsigned(d - 1) & 63);
  bool up = (d <= 63) & ((rem > half) | ((rem == half) & ((kept & 1) != 0)));
  uint64_t k = sel<uint64_t>(d <= 0, exact, kept + uint64_t(up));
  bool carry = (k >> (m + 1)) != 0;
  k = sel(carry, k >> 1, k);
  qexp += int(carry);
  int64_t eb = int64_t(qexp) + m + f.bias;
  uint64_t normalMag = sel<uint64_t>(eb >= (int64_t(1) << f.expBits), uint64_t(1) << 40,
                                     (uint64_t(eb) << m) | (k - (uint64_t(1) << m)));
  uint64_t mag = sel<uint64_t>((k >> m) != 0, normalMag, k);
  uint32_t over = sign | sel<uint32_t>(ieee & (f.infMag != 0), f.infMag, f.maxFiniteMag);
  return sel<uint32_t>((sig == 0) | (k == 0), sign,
                       sel<uint32_t>(mag > f.maxFiniteMag, over, sign | uint32_t(mag)));
}

constexpr uint32_t infCode(const FloatLayout &f, bool neg) {
  return sel<uint32_t>(neg, f.signBit, 0) | (f.infMag ? f.infMag : f.maxFiniteMag);
}

/// FP32 bits -> `f` (nearest even; FP32 subnormals honoured).
constexpr uint32_t fromFp32(const FloatLayout &f, uint32_t bits, bool ieee) {
  Unpacked u = unpack(kFp32, bits, false);
  uint32_t fin = roundFinite(f, u.neg, u.sig, u.exp, ieee);
  return sel(u.kind == Kind::NaN, f.nanCode, sel(u.kind == Kind::Inf, infCode(f, u.neg), fin));
}

/// `f` code -> FP32 bits (exact).
constexpr uint32_t toFp32(const FloatLayout &f, uint32_t code) {
  Unpacked u = unpack(f, code, false);
  uint32_t fin = roundFinite(kFp32, u.neg, u.sig, u.exp, true);
  uint32_t inf = sel<uint32_t>(u.neg, 0x80000000u, 0) | 0x7F800000u;
  return sel(u.kind == Kind::NaN, kFp32.nanCode, sel(u.kind == Kind::Inf, inf, fin));
}

/// Hardware FP32 result of sign * mag * 2^exp (mag != 0): 24-bit significand, nearest
/// even, then flush below 2^-126, Inf at or above 2^128.
constexpr uint32_t roundPackFp32Ftz(bool neg, uint64_t mag, int exp) {
  int p = msb64(mag);
  int e = p + exp;
  int d = p - 23;
  bool down = d > 0;
  uint64_t kept = sel(down, mag >> (unsigned(d) & 63), mag << (unsigned(-d) & 63));
  uint64_t rem = mag & ((uint64_t(1) << (unsigned(d) & 63)) - 1);
  uint64_t half = uint64_t(1) << (unsigned(d - 1) & 63);
  bool up = down & ((rem > half) | ((rem == half) & ((kept & 1) != 0)));
  kept += uint64_t(up);
  bool carry = (kept >> 24) != 0;
  kept = sel(carry, kept >> 1, kept);
  e += int(carry);
  uint32_t sign = sel<uint32_t>(neg, 0x80000000u, 0);
  return sel(e > 127, sign | 0x7F800000u,
             sel(e < -126, sign, sign | (uint32_t(e + 127) << 23) | (uint32_t(kept) & 0x7FFFFFu)));
}

constexpr uint32_t fp32Add(uint32_t a, uint32_t b) {
  Unpacked x = unpack(kFp32, a, true), y = unpack(kFp32, b, true);
  bool xInf = x.kind == Kind::Inf, yInf = y.kind == Kind::Inf;
  bool xZero = x.kind == Kind::Zero, yZero = y.kind == Kind::Zero;
  bool nan = (x.kind == Kind::NaN) | (y.kind == Kind::NaN) | (xInf & yInf & (x.neg != y.neg));
  uint32_t inf = sel<uint32_t>(sel(xInf, x.neg, y.neg), 0x80000000u, 0) | 0x7F800000u;
  // Finite path: hi has the larger exponent.
  bool swap = x.exp < y.exp;
  uint64_t hiSig = sel(swap, y.sig, x.sig), loSig = sel(swap, x.sig, y.sig);
  int hiExp = sel(swap, y.exp, x.exp), loExp = sel(swap, x.exp, y.exp);
  bool hiNeg = sel(swap, y.neg, x.neg), loNeg = sel(swap, x.neg, y.neg);
  int d = hiExp - loExp;
  bool near = d <= 38; // exact in 62 bits; else lo only decides the rounding direction
  uint64_t big = sel(near, hiSig << (unsigned(d) & 63), hiSig << 3);
  uint64_t small = sel<uint64_t>(near, loSig, 1);
  int exp = sel(near, loExp, hiExp - 3);
  bool same = hiNeg == loNeg;
  bool bigger = big > small;
  uint64_t mag = sel(same, big + small, sel(bigger, big - small, small - big));
  bool rneg = sel(same | bigger, hiNeg, loNeg);
  uint32_t fin = sel<uint32_t>((!same) & (big == small), 0, roundPackFp32Ftz(rneg, mag, exp));
  uint32_t zeros = sel<uint32_t>(x.neg & y.neg, 0x80000000u, 0);
  return sel<uint32_t>(
      nan, 0x7FC00000u,
      sel(xInf | yInf, inf, sel(xZero & yZero, zeros, sel(xZero, b, sel(yZero, a, fin)))));
}

constexpr uint32_t fp32Mul(uint32_t a, uint32_t b) {
  Unpacked x = unpack(kFp32, a, true), y = unpack(kFp32, b, true);
  bool neg = x.neg != y.neg;
  bool anyInf = (x.kind == Kind::Inf) | (y.kind == Kind::Inf);
  bool anyZero = (x.kind == Kind::Zero) | (y.kind == Kind::Zero);
  bool nan = (x.kind == Kind::NaN) | (y.kind == Kind::NaN) | (anyInf & anyZero);
  uint32_t sign = sel<uint32_t>(neg, 0x80000000u, 0);
  uint32_t fin = roundPackFp32Ftz(neg, x.sig * y.sig, x.exp + y.exp);
  return sel<uint32_t>(nan, 0x7FC00000u,
                       sel<uint32_t>(anyInf, sign | 0x7F800000u, sel(anyZero, sign, fin)));
}

/// a / b correctly rounded (RNE), DAZ inputs, FTZ result; x/0 = +-Inf, 0/0 and Inf/Inf
/// = NaN, finite/Inf = +-0 (numerics::fp32Div).
constexpr uint32_t fp32Div(uint32_t a, uint32_t b) {
  Unpacked x = unpack(kFp32, a, true), y = unpack(kFp32, b, true);
  bool neg = x.neg != y.neg;
  uint32_t sign = sel<uint32_t>(neg, 0x80000000u, 0);
  bool xNan = x.kind == Kind::NaN, yNan = y.kind == Kind::NaN;
  bool xInf = x.kind == Kind::Inf, yInf = y.kind == Kind::Inf;
  bool xZero = x.kind == Kind::Zero, yZero = y.kind == Kind::Zero;
  // sig_x * 2^40 / sig_y has 40 or 41 bits; the remainder is the sticky bit.
  uint64_t num = x.sig << 40;
  uint64_t den = sel<uint64_t>(y.sig == 0, 1, y.sig); // never divide by zero
  uint64_t q = num / den, r = num % den;
  uint64_t mag = (q << 1) | uint64_t(r != 0);
  uint32_t fin = roundPackFp32Ftz(neg, mag, x.exp - y.exp - 41);
  bool nan = xNan | yNan | (xInf & yInf) | (xZero & yZero);
  return sel<uint32_t>(
      nan, 0x7FC00000u,
      sel<uint32_t>(xInf | yZero, sign | 0x7F800000u, sel<uint32_t>(yInf | xZero, sign, fin)));
}

/// floor(sqrt(v)) by the restoring digit recurrence, and whether a remainder is left.
constexpr uint64_t isqrt(uint64_t v, bool &inexact) {
  uint64_t rem = 0, root = 0;
#if defined(__clang__)
#pragma clang loop unroll(full)
#endif
  for (int i = 31; i >= 0; --i) {
    rem = (rem << 2) | ((v >> (2 * i)) & 3);
    uint64_t trial = (root << 2) | 1;
    bool ge = rem >= trial;
    rem = sel(ge, rem - trial, rem);
    root = (root << 1) | uint64_t(ge);
  }
  inexact = rem != 0;
  return root;
}

/// sqrt(a) correctly rounded (RNE), DAZ; sqrt(-0) = -0, negative non-zero -> NaN
/// (numerics::fp32Sqrt).
constexpr uint32_t fp32Sqrt(uint32_t a) {
  Unpacked x = unpack(kFp32, a, true);
  bool odd = (x.exp & 1) != 0;
  uint64_t sig = sel(odd, x.sig << 1, x.sig) << 38;
  int exp = sel(odd, x.exp - 1, x.exp) - 38;
  bool inexact = false;
  uint64_t root = isqrt(sig, inexact);
  uint64_t mag = (root << 1) | uint64_t(inexact);
  uint32_t fin = roundPackFp32Ftz(false, mag, exp / 2 - 1);
  return sel<uint32_t>(
      x.kind == Kind::NaN, 0x7FC00000u,
      sel<uint32_t>(
          x.kind == Kind::Zero, sel<uint32_t>(x.neg, 0x80000000u, 0),
          sel<uint32_t>(x.neg, 0x7FC00000u, sel<uint32_t>(x.kind == Kind::Inf, 0x7F800000u, fin))));
}

/// IEEE comparison on FP32 bits with DAZ (NaN compares false; -0 == +0).
constexpr int fp32Compare(uint32_t a, uint32_t b, bool &unordered) {
  Unpacked x = unpack(kFp32, a, true), y = unpack(kFp32, b, true);
  unordered = x.kind == Kind::NaN || y.kind == Kind::NaN;
  auto key = [](uint32_t c, Kind k) -> int64_t {
    if (k == Kind::Zero)
      return 0;
    int64_t mag = c & 0x7FFFFFFF;
    return (c >> 31) ? -mag : mag;
  };
  int64_t ka = key(a, x.kind), kb = key(b, y.kind);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/// The shared FP32 units: hls::fp32's + and - (as + with b's sign flipped) call
/// fp32AddUnit, * calls fp32MulUnit; each becomes a pipelined functional unit that the
/// call sites share (TESSERA_SHARED) instead of one copy of the logic per operation.
TESSERA_SHARED constexpr uint32_t fp32AddUnit(uint32_t a, uint32_t b) { return fp32Add(a, b); }
TESSERA_SHARED constexpr uint32_t fp32MulUnit(uint32_t a, uint32_t b) { return fp32Mul(a, b); }

} // namespace detail

/// FP32 with the accelerator's hardware arithmetic (FTZ / DAZ, round to nearest even).
class fp32 {
public:
  uint32_t bits = 0;

  constexpr fp32() = default;
  static constexpr fp32 fromBits(uint32_t b) {
    fp32 x;
    x.bits = b;
    return x;
  }
  /// Exact for |v| < 2^24, else rounded to nearest even.
  static constexpr fp32 fromInt(int32_t v) {
    bool neg = v < 0;
    uint64_t mag = neg ? uint64_t(-int64_t(v)) : uint64_t(v);
    return fromBits(mag == 0 ? 0 : detail::roundFinite(detail::kFp32, neg, mag, 0, true));
  }
  static constexpr fp32 fromFp32(fp32 v) { return v; }
  constexpr fp32 toFp32() const { return *this; }
  /// Truncates toward zero; NaN gives 0, out-of-range values saturate.
  constexpr int32_t toInt() const {
    detail::Unpacked u = detail::unpack(detail::kFp32, bits, true);
    using detail::sel;
    bool big = (u.kind == detail::Kind::Inf) | (u.exp + detail::msb64(u.sig) >= 31);
    int64_t mag = sel(u.exp >= 0, int64_t(u.sig << (unsigned(u.exp) & 63)),
                      int64_t(u.sig >> (unsigned(-u.exp) & 63)));
    mag = sel<int64_t>(-u.exp >= 64, 0, mag);
    return sel<int32_t>((u.kind == detail::Kind::NaN) | (u.kind == detail::Kind::Zero), 0,
                        sel<int32_t>(big, sel<int32_t>(u.neg, INT32_MIN, INT32_MAX),
                                     int32_t(sel(u.neg, -mag, mag))));
  }

  friend constexpr fp32 operator+(fp32 a, fp32 b) {
    return fromBits(detail::fp32AddUnit(a.bits, b.bits));
  }
  friend constexpr fp32 operator-(fp32 a, fp32 b) {
    return fromBits(detail::fp32AddUnit(a.bits, b.bits ^ 0x80000000u));
  }
  friend constexpr fp32 operator-(fp32 a) { return fromBits(a.bits ^ 0x80000000u); }
  friend constexpr fp32 operator*(fp32 a, fp32 b) {
    return fromBits(detail::fp32MulUnit(a.bits, b.bits));
  }
  /// Correctly rounded; a 64-bit integer divider in hardware.
  friend constexpr fp32 operator/(fp32 a, fp32 b) {
    return fromBits(detail::fp32Div(a.bits, b.bits));
  }
  constexpr fp32 &operator+=(fp32 b) { return *this = *this + b; }
  constexpr fp32 &operator-=(fp32 b) { return *this = *this - b; }
  constexpr fp32 &operator*=(fp32 b) { return *this = *this * b; }

  friend constexpr bool operator==(fp32 a, fp32 b) {
    bool u = false;
    int c = detail::fp32Compare(a.bits, b.bits, u);
    return !u && c == 0;
  }
  friend constexpr bool operator!=(fp32 a, fp32 b) { return !(a == b); }
  friend constexpr bool operator<(fp32 a, fp32 b) {
    bool u = false;
    int c = detail::fp32Compare(a.bits, b.bits, u);
    return !u && c < 0;
  }
  friend constexpr bool operator>(fp32 a, fp32 b) { return b < a; }
  friend constexpr bool operator<=(fp32 a, fp32 b) {
    bool u = false;
    int c = detail::fp32Compare(a.bits, b.bits, u);
    return !u && c <= 0;
  }
  friend constexpr bool operator>=(fp32 a, fp32 b) { return b <= a; }
};

/// Correctly rounded square root (a fully unrolled digit recurrence in hardware).
constexpr fp32 sqrt(fp32 a) { return fp32::fromBits(detail::fp32Sqrt(a.bits)); }

namespace detail {
/// A storage format over `Storage` bits: conversions through FP32, arithmetic in fp32.
template <class Derived, class Storage, const FloatLayout &L, bool Ieee> class SmallFloat {
public:
  Storage bits = 0;

  static constexpr Derived fromBits(uint32_t b) {
    Derived x;
    x.bits = Storage(b);
    return x;
  }
  /// Round to nearest even from FP32.
  static constexpr Derived fromFp32(fp32 v) { return fromBits(detail::fromFp32(L, v.bits, Ieee)); }
  /// Exact.
  constexpr fp32 toFp32() const { return fp32::fromBits(detail::toFp32(L, bits)); }

  friend constexpr Derived operator+(Derived a, Derived b) {
    return fromFp32(a.toFp32() + b.toFp32());
  }
  friend constexpr Derived operator-(Derived a, Derived b) {
    return fromFp32(a.toFp32() - b.toFp32());
  }
  friend constexpr Derived operator*(Derived a, Derived b) {
    return fromFp32(a.toFp32() * b.toFp32());
  }
  friend constexpr bool operator==(Derived a, Derived b) { return a.toFp32() == b.toFp32(); }
  friend constexpr bool operator<(Derived a, Derived b) { return a.toFp32() < b.toFp32(); }
};
} // namespace detail

/// BF16: FP32's exponent, 7 mantissa bits; overflow to Inf.
class bf16 : public detail::SmallFloat<bf16, uint16_t, detail::kBf16, true> {};
/// FP8 E4M3 ("fn": no Inf, NaN = S.1111.111, saturating).
class fp8e4m3 : public detail::SmallFloat<fp8e4m3, uint8_t, detail::kE4m3, false> {};
/// FP8 E5M2 (IEEE-like: Inf and NaN); fromFp32 overflows to Inf.
class fp8e5m2 : public detail::SmallFloat<fp8e5m2, uint8_t, detail::kE5m2, true> {
public:
  /// As fromFp32, but a finite overflow clamps to +-57344.
  static constexpr fp8e5m2 fromFp32Saturate(fp32 v) {
    return fromBits(detail::fromFp32(detail::kE5m2, v.bits, false));
  }
};

/// Conversion between any two of fp32, bf16, fp8e4m3, fp8e5m2: exact widening to FP32,
/// then one rounding (nearest even) into `To`.
template <class To, class From> constexpr To convert(From x) { return To::fromFp32(x.toFp32()); }

#if defined(TESSERA_HLS_SYNTHESIS)
// Declared only: the front end recognises the calls (the stream's address names the
// parameter, the width is a constant).
extern "C" unsigned long long __tessera_stream_read(const void *stream, unsigned width);
extern "C" void __tessera_stream_write(void *stream, unsigned long long bits, unsigned width);
#endif

/// A blocking ready/valid stream of T (see the file comment).
template <class T, unsigned Capacity = 4096> class stream {
  static_assert(sizeof(T) <= 8, "hls::stream elements are at most 64 bits");
  static_assert(Capacity > 0, "hls::stream needs a capacity");

public:
  using value_type = T;
  static constexpr unsigned capacity = Capacity;
  static constexpr unsigned width = std::is_same_v<T, bool> ? 1u : unsigned(sizeof(T) * 8);

  stream() = default;
  stream(const stream &) = delete;
  stream &operator=(const stream &) = delete;

#if defined(TESSERA_HLS_SYNTHESIS)
  T read() { return fromBits(__tessera_stream_read(this, width)); }
  void write(const T &v) { __tessera_stream_write(this, toBits(v), width); }
#else
  T read() {
    if (size_ == 0) {
      ++underflows_;
      return T();
    }
    T v = buf_[head_];
    head_ = (head_ + 1) % Capacity;
    --size_;
    return v;
  }
  void write(const T &v) {
    if (size_ == Capacity) {
      ++overflows_;
      return;
    }
    buf_[(head_ + size_) % Capacity] = v;
    ++size_;
  }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == Capacity; }
  unsigned size() const { return size_; }
  unsigned overflows() const { return overflows_; }
  unsigned underflows() const { return underflows_; }
#endif

private:
  static T fromBits(unsigned long long b) {
    T v;
    __builtin_memcpy(&v, &b, sizeof(T)); // little-endian: the low bytes
    return v;
  }
  static unsigned long long toBits(const T &v) {
    unsigned long long b = 0;
    __builtin_memcpy(&b, &v, sizeof(T));
    return b;
  }
#if !defined(TESSERA_HLS_SYNTHESIS)
  T buf_[Capacity] = {};
  unsigned head_ = 0, size_ = 0, overflows_ = 0, underflows_ = 0;
#endif
};

} // namespace hls

#endif // __cplusplus
#endif // TESSERA_HLS_H
