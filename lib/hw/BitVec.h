//===- BitVec.h - arbitrary-width two-state bit vectors ------------------===//
//
// The value type of hw IR constants, register reset/initial values, memory contents and
// the interpreter. Width 1..2^20 bits, little-endian 64-bit words, bits above `width` in
// the top word are always zero (the invariant every operation keeps).
//
// Arithmetic is modulo 2^width; operands of binary operations must have equal widths.
// The hw op semantics (Semantics.h) are written on top of these.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::hw {

class BitVec {
public:
  BitVec() = default; ///< width 0 (no value)
  explicit BitVec(uint32_t width, uint64_t value = 0);
  static BitVec zeros(uint32_t width) { return BitVec(width, 0); }
  static BitVec ones(uint32_t width);
  /// From words, little-endian; excess bits are masked off.
  static BitVec fromWords(uint32_t width, const std::vector<uint64_t> &words);

  uint32_t width() const { return width_; }
  size_t numWords() const { return words_.size(); }
  const std::vector<uint64_t> &words() const { return words_; }
  uint64_t word(size_t i) const { return i < words_.size() ? words_[i] : 0; }
  /// The low 64 bits.
  uint64_t low64() const { return word(0); }
  bool bit(uint32_t i) const;
  void setBit(uint32_t i, bool v);
  bool isZero() const;
  bool isAllOnes() const;
  bool msb() const { return width_ ? bit(width_ - 1) : false; }

  // Arithmetic and logic; widths must match (asserted).
  BitVec add(const BitVec &o) const;
  BitVec sub(const BitVec &o) const;
  BitVec mul(const BitVec &o) const;
  BitVec udiv(const BitVec &o) const; ///< by zero: 0
  BitVec sdiv(const BitVec &o) const; ///< by zero: 0; truncates toward zero
  BitVec urem(const BitVec &o) const; ///< by zero: 0
  BitVec srem(const BitVec &o) const; ///< by zero: 0; sign of the dividend
  BitVec bitAnd(const BitVec &o) const;
  BitVec bitOr(const BitVec &o) const;
  BitVec bitXor(const BitVec &o) const;
  BitVec bitNot() const;
  BitVec neg() const;
  // Shifts by an unsigned amount given as a 64-bit number (amounts >= width saturate).
  BitVec shl(uint64_t amount) const;
  BitVec lshr(uint64_t amount) const;
  BitVec ashr(uint64_t amount) const;

  bool eq(const BitVec &o) const { return width_ == o.width_ && words_ == o.words_; }
  bool ult(const BitVec &o) const;
  bool slt(const BitVec &o) const;

  /// Bits [lo, lo+width).
  BitVec extract(uint32_t lo, uint32_t width) const;
  /// {this, low}: this becomes the high part.
  BitVec concat(const BitVec &low) const;
  BitVec zext(uint32_t width) const;
  BitVec sext(uint32_t width) const;
  /// Zero-extends or truncates.
  BitVec resize(uint32_t width) const;

  /// Value as an unsigned number if it fits in 64 bits.
  std::optional<uint64_t> toU64() const;
  /// Hex digits, most significant first, exactly ceil(width/4) digits ("0" for width 0).
  std::string toHex() const;
  /// Decimal if it fits in 64 bits, else "0x" + hex.
  std::string toString() const;
  /// Parses decimal, 0x hex or 0b binary digits (underscores allowed) into `width` bits;
  /// nullopt on a bad digit or a value that does not fit.
  static std::optional<BitVec> parse(std::string_view text, uint32_t width);

  bool operator==(const BitVec &o) const { return eq(o); }
  bool operator!=(const BitVec &o) const { return !eq(o); }
  /// Total order (width, then value) for maps and CSE keys.
  bool operator<(const BitVec &o) const;
  size_t hash() const;

private:
  void clearUnused();
  uint32_t width_ = 0;
  std::vector<uint64_t> words_;
};

} // namespace tessera::hw
