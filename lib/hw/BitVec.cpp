//===- BitVec.cpp - arbitrary-width two-state bit vectors -----------------===//
//
// Little-endian 64-bit words with the unused top bits kept zero. Multiplication is
// schoolbook on 64x64->128 products; unsigned division is Knuth's Algorithm D (TAOCP
// vol. 2, 4.3.1) on 32-bit digits, with a one-word fast path; signed division and
// remainder work on magnitudes and fix the signs afterwards (truncation toward zero,
// remainder with the sign of the dividend, like Verilog).
//
//===----------------------------------------------------------------------===//
#include "hw/BitVec.h"

#include <algorithm>
#include <cassert>

namespace tessera::hw {

namespace {
__extension__ typedef unsigned __int128 u128;

size_t wordsFor(uint32_t width) { return (size_t(width) + 63) / 64; }

/// Knuth D on 32-bit digits: q = u / v, r = u % v; v has no leading zero digit and at
/// least one digit; u, v little-endian. q gets u.size() digits, r v.size() digits.
void divmod32(const std::vector<uint32_t> &u, const std::vector<uint32_t> &v,
              std::vector<uint32_t> &q, std::vector<uint32_t> &r) {
  size_t m = u.size(), n = v.size();
  q.assign(m, 0);
  r.assign(n, 0);
  if (m < n) {
    std::copy(u.begin(), u.end(), r.begin());
    return;
  }
  if (n == 1) {
    uint64_t rem = 0;
    for (size_t i = m; i-- > 0;) {
      uint64_t cur = (rem << 32) | u[i];
      q[i] = uint32_t(cur / v[0]);
      rem = cur % v[0];
    }
    r[0] = uint32_t(rem);
    return;
  }
  // Normalize so the top digit of v has its high bit set.
  int s = __builtin_clz(v[n - 1]);
  std::vector<uint32_t> vn(n), un(m + 1);
  for (size_t i = n - 1; i > 0; --i)
    vn[i] = (v[i] << s) | (s ? uint32_t(uint64_t(v[i - 1]) >> (32 - s)) : 0);
  vn[0] = v[0] << s;
  un[m] = s ? uint32_t(uint64_t(u[m - 1]) >> (32 - s)) : 0;
  for (size_t i = m - 1; i > 0; --i)
    un[i] = (u[i] << s) | (s ? uint32_t(uint64_t(u[i - 1]) >> (32 - s)) : 0);
  un[0] = u[0] << s;
  const uint64_t b = uint64_t(1) << 32;
  for (size_t j = m - n + 1; j-- > 0;) {
    uint64_t num = (uint64_t(un[j + n]) << 32) | un[j + n - 1];
    uint64_t qhat = num / vn[n - 1];
    uint64_t rhat = num % vn[n - 1];
    while (qhat >= b || qhat * vn[n - 2] > ((rhat << 32) | un[j + n - 2])) {
      --qhat;
      rhat += vn[n - 1];
      if (rhat >= b)
        break;
    }
    // Multiply and subtract.
    int64_t borrow = 0;
    uint64_t carry = 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t p = qhat * vn[i] + carry;
      carry = p >> 32;
      int64_t t = int64_t(un[i + j]) - borrow - int64_t(p & 0xffffffffu);
      un[i + j] = uint32_t(t);
      borrow = t < 0 ? 1 : 0;
    }
    int64_t t = int64_t(un[j + n]) - borrow - int64_t(carry);
    un[j + n] = uint32_t(t);
    if (t < 0) {
      // Add back.
      --qhat;
      uint64_t c = 0;
      for (size_t i = 0; i < n; ++i) {
        uint64_t sum = uint64_t(un[i + j]) + vn[i] + c;
        un[i + j] = uint32_t(sum);
        c = sum >> 32;
      }
      un[j + n] = uint32_t(uint64_t(un[j + n]) + c);
    }
    q[j] = uint32_t(qhat);
  }
  for (size_t i = 0; i + 1 < n; ++i)
    r[i] = (un[i] >> s) | (s ? uint32_t(uint64_t(un[i + 1]) << (32 - s)) : 0);
  r[n - 1] = un[n - 1] >> s;
}

std::vector<uint32_t> toDigits(const std::vector<uint64_t> &w) {
  std::vector<uint32_t> d;
  d.reserve(w.size() * 2);
  for (uint64_t x : w) {
    d.push_back(uint32_t(x));
    d.push_back(uint32_t(x >> 32));
  }
  while (!d.empty() && d.back() == 0)
    d.pop_back();
  return d;
}

std::vector<uint64_t> fromDigits(const std::vector<uint32_t> &d, size_t nwords) {
  std::vector<uint64_t> w(nwords, 0);
  for (size_t i = 0; i < d.size() && i / 2 < nwords; ++i)
    w[i / 2] |= uint64_t(d[i]) << (32 * (i % 2));
  return w;
}
} // namespace

BitVec::BitVec(uint32_t width, uint64_t value) : width_(width), words_(wordsFor(width), 0) {
  if (!words_.empty())
    words_[0] = value;
  clearUnused();
}

BitVec BitVec::ones(uint32_t width) {
  BitVec r(width);
  std::fill(r.words_.begin(), r.words_.end(), ~uint64_t(0));
  r.clearUnused();
  return r;
}

BitVec BitVec::fromWords(uint32_t width, const std::vector<uint64_t> &words) {
  BitVec r(width);
  for (size_t i = 0; i < r.words_.size() && i < words.size(); ++i)
    r.words_[i] = words[i];
  r.clearUnused();
  return r;
}

void BitVec::clearUnused() {
  if (width_ % 64 && !words_.empty())
    words_.back() &= (uint64_t(1) << (width_ % 64)) - 1;
}

bool BitVec::bit(uint32_t i) const {
  if (i >= width_)
    return false;
  return (words_[i / 64] >> (i % 64)) & 1;
}

void BitVec::setBit(uint32_t i, bool v) {
  if (i >= width_)
    return;
  uint64_t m = uint64_t(1) << (i % 64);
  if (v)
    words_[i / 64] |= m;
  else
    words_[i / 64] &= ~m;
}

bool BitVec::isZero() const {
  for (uint64_t w : words_)
    if (w)
      return false;
  return true;
}

bool BitVec::isAllOnes() const { return width_ > 0 && *this == ones(width_); }

BitVec BitVec::add(const BitVec &o) const {
  assert(width_ == o.width_);
  BitVec r(width_);
  unsigned char c = 0;
  for (size_t i = 0; i < words_.size(); ++i) {
    uint64_t a = words_[i], b = o.words_[i];
    uint64_t s = a + b;
    unsigned char c1 = s < a;
    uint64_t s2 = s + c;
    unsigned char c2 = s2 < s;
    r.words_[i] = s2;
    c = c1 | c2;
  }
  r.clearUnused();
  return r;
}

BitVec BitVec::sub(const BitVec &o) const {
  assert(width_ == o.width_);
  BitVec r(width_);
  unsigned char bo = 0;
  for (size_t i = 0; i < words_.size(); ++i) {
    uint64_t a = words_[i], b = o.words_[i];
    uint64_t d = a - b;
    unsigned char b1 = a < b;
    uint64_t d2 = d - bo;
    unsigned char b2 = d < uint64_t(bo);
    r.words_[i] = d2;
    bo = b1 | b2;
  }
  r.clearUnused();
  return r;
}

BitVec BitVec::mul(const BitVec &o) const {
  assert(width_ == o.width_);
  size_t n = words_.size();
  BitVec r(width_);
  if (n == 1) {
    r.words_[0] = words_[0] * o.words_[0];
    r.clearUnused();
    return r;
  }
  size_t na = n, nb = n;
  while (na > 0 && !words_[na - 1])
    --na;
  while (nb > 0 && !o.words_[nb - 1])
    --nb;
  for (size_t i = 0; i < na; ++i) {
    if (!words_[i])
      continue;
    u128 carry = 0;
    size_t jEnd = std::min(n - i, nb + 1);
    for (size_t j = 0; j < jEnd; ++j) {
      u128 p = (u128)words_[i] * o.words_[j] + r.words_[i + j] + carry;
      r.words_[i + j] = uint64_t(p);
      carry = p >> 64;
    }
  }
  r.clearUnused();
  return r;
}

BitVec BitVec::udiv(const BitVec &o) const {
  assert(width_ == o.width_);
  if (o.isZero())
    return zeros(width_);
  if (words_.size() == 1)
    return BitVec(width_, words_[0] / o.words_[0]);
  std::vector<uint32_t> q, r;
  divmod32(toDigits(words_), toDigits(o.words_), q, r);
  return fromWords(width_, fromDigits(q, words_.size()));
}

BitVec BitVec::urem(const BitVec &o) const {
  assert(width_ == o.width_);
  if (o.isZero())
    return zeros(width_);
  if (words_.size() == 1)
    return BitVec(width_, words_[0] % o.words_[0]);
  std::vector<uint32_t> q, r;
  divmod32(toDigits(words_), toDigits(o.words_), q, r);
  return fromWords(width_, fromDigits(r, words_.size()));
}

BitVec BitVec::sdiv(const BitVec &o) const {
  assert(width_ == o.width_);
  if (o.isZero())
    return zeros(width_);
  bool na = msb(), nb = o.msb();
  BitVec q = (na ? neg() : *this).udiv(nb ? o.neg() : o);
  return na != nb ? q.neg() : q;
}

BitVec BitVec::srem(const BitVec &o) const {
  assert(width_ == o.width_);
  if (o.isZero())
    return zeros(width_);
  bool na = msb(), nb = o.msb();
  BitVec r = (na ? neg() : *this).urem(nb ? o.neg() : o);
  return na ? r.neg() : r;
}

BitVec BitVec::bitAnd(const BitVec &o) const {
  assert(width_ == o.width_);
  BitVec r = *this;
  for (size_t i = 0; i < r.words_.size(); ++i)
    r.words_[i] &= o.words_[i];
  return r;
}

BitVec BitVec::bitOr(const BitVec &o) const {
  assert(width_ == o.width_);
  BitVec r = *this;
  for (size_t i = 0; i < r.words_.size(); ++i)
    r.words_[i] |= o.words_[i];
  return r;
}

BitVec BitVec::bitXor(const BitVec &o) const {
  assert(width_ == o.width_);
  BitVec r = *this;
  for (size_t i = 0; i < r.words_.size(); ++i)
    r.words_[i] ^= o.words_[i];
  return r;
}

BitVec BitVec::bitNot() const {
  BitVec r = *this;
  for (uint64_t &w : r.words_)
    w = ~w;
  r.clearUnused();
  return r;
}

BitVec BitVec::neg() const { return zeros(width_).sub(*this); }

BitVec BitVec::shl(uint64_t amount) const {
  if (amount >= width_)
    return zeros(width_);
  BitVec r(width_);
  size_t ws = amount / 64, bs = amount % 64, n = words_.size();
  for (size_t i = n; i-- > ws;) {
    uint64_t v = words_[i - ws] << bs;
    if (bs && i - ws > 0)
      v |= words_[i - ws - 1] >> (64 - bs);
    r.words_[i] = v;
  }
  r.clearUnused();
  return r;
}

BitVec BitVec::lshr(uint64_t amount) const {
  if (amount >= width_)
    return zeros(width_);
  BitVec r(width_);
  size_t ws = amount / 64, bs = amount % 64, n = words_.size();
  for (size_t i = 0; i + ws < n; ++i) {
    uint64_t v = words_[i + ws] >> bs;
    if (bs && i + ws + 1 < n)
      v |= words_[i + ws + 1] << (64 - bs);
    r.words_[i] = v;
  }
  return r;
}

BitVec BitVec::ashr(uint64_t amount) const {
  if (!msb())
    return lshr(amount);
  if (amount >= width_)
    return ones(width_);
  // Shift in ones: ~(~x >> amount).
  return bitNot().lshr(amount).bitNot();
}

bool BitVec::ult(const BitVec &o) const {
  assert(width_ == o.width_);
  for (size_t i = words_.size(); i-- > 0;)
    if (words_[i] != o.words_[i])
      return words_[i] < o.words_[i];
  return false;
}

bool BitVec::slt(const BitVec &o) const {
  assert(width_ == o.width_);
  bool na = msb(), nb = o.msb();
  if (na != nb)
    return na;
  return ult(o);
}

BitVec BitVec::extract(uint32_t lo, uint32_t width) const {
  BitVec r(width);
  if (lo >= width_)
    return r;
  size_t ws = lo / 64, bs = lo % 64, n = words_.size();
  for (size_t i = 0; i < r.words_.size(); ++i) {
    size_t src = i + ws;
    uint64_t v = src < n ? words_[src] >> bs : 0;
    if (bs && src + 1 < n)
      v |= words_[src + 1] << (64 - bs);
    r.words_[i] = v;
  }
  r.clearUnused();
  return r;
}

BitVec BitVec::concat(const BitVec &low) const {
  BitVec r = low.zext(width_ + low.width_);
  BitVec hi = zext(width_ + low.width_).shl(low.width_);
  return r.bitOr(hi);
}

BitVec BitVec::zext(uint32_t width) const {
  BitVec r(width);
  for (size_t i = 0; i < r.words_.size() && i < words_.size(); ++i)
    r.words_[i] = words_[i];
  r.clearUnused();
  return r;
}

BitVec BitVec::sext(uint32_t width) const {
  if (width <= width_ || !msb())
    return zext(width);
  BitVec r = zext(width);
  // Fill bits [width_, width) with ones.
  for (uint32_t i = width_; i < width;) {
    if (i % 64 == 0 && width - i >= 64) {
      r.words_[i / 64] = ~uint64_t(0);
      i += 64;
    } else {
      r.words_[i / 64] |= uint64_t(1) << (i % 64);
      ++i;
    }
  }
  return r;
}

BitVec BitVec::resize(uint32_t width) const { return zext(width); }

std::optional<uint64_t> BitVec::toU64() const {
  for (size_t i = 1; i < words_.size(); ++i)
    if (words_[i])
      return std::nullopt;
  return low64();
}

std::string BitVec::toHex() const {
  if (width_ == 0)
    return "0";
  static const char kDigits[] = "0123456789abcdef";
  uint32_t n = (width_ + 3) / 4;
  std::string s(n, '0');
  for (uint32_t d = 0; d < n; ++d) {
    uint32_t bitPos = d * 4;
    uint64_t v = (words_[bitPos / 64] >> (bitPos % 64)) & 0xf;
    s[n - 1 - d] = kDigits[v];
  }
  return s;
}

std::string BitVec::toString() const {
  if (auto v = toU64())
    return std::to_string(*v);
  return "0x" + toHex();
}

std::optional<BitVec> BitVec::parse(std::string_view text, uint32_t width) {
  if (width == 0 || width > (1u << 20))
    return std::nullopt;
  unsigned base = 10;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() >= 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B')) {
    base = 2;
    text.remove_prefix(2);
  }
  std::vector<uint8_t> digits;
  for (char c : text) {
    if (c == '_')
      continue;
    unsigned d;
    if (c >= '0' && c <= '9')
      d = unsigned(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = unsigned(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = unsigned(c - 'A' + 10);
    else
      return std::nullopt;
    if (d >= base)
      return std::nullopt;
    digits.push_back(uint8_t(d));
  }
  if (digits.empty())
    return std::nullopt;
  size_t first = 0;
  while (first + 1 < digits.size() && digits[first] == 0)
    ++first;
  BitVec r(width);
  if (base != 10) {
    uint32_t step = base == 16 ? 4 : 1;
    size_t n = digits.size() - first;
    uint64_t top = digits[first];
    uint64_t bits = (n - 1) * uint64_t(step) + (top ? 64 - __builtin_clzll(top) : 0);
    if (bits > width)
      return std::nullopt;
    uint64_t pos = 0;
    for (size_t i = digits.size(); i-- > first; pos += step)
      for (uint32_t b = 0; b < step; ++b)
        if ((digits[i] >> b) & 1)
          r.setBit(uint32_t(pos + b), true);
    return r;
  }
  // Decimal: r = r * 10 + d on words, touching only the words in use.
  size_t used = 0;
  for (size_t i = first; i < digits.size(); ++i) {
    uint64_t carry = digits[i];
    for (size_t w = 0; w < used; ++w) {
      u128 p = (u128)r.words_[w] * 10 + carry;
      r.words_[w] = uint64_t(p);
      carry = uint64_t(p >> 64);
    }
    if (carry) {
      if (used == r.words_.size())
        return std::nullopt;
      r.words_[used++] = carry;
    }
  }
  if (width % 64 && !r.words_.empty() && (r.words_.back() >> (width % 64)))
    return std::nullopt;
  return r;
}

bool BitVec::operator<(const BitVec &o) const {
  if (width_ != o.width_)
    return width_ < o.width_;
  return ult(o);
}

size_t BitVec::hash() const {
  uint64_t h = 0xcbf29ce484222325ull ^ width_;
  for (uint64_t w : words_) {
    h ^= w;
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return size_t(h);
}

} // namespace tessera::hw
