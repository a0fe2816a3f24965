//===- Npy.cpp - numpy .npy / .npz arrays ----------------------------------===//
//
// The .npy header is a Python dict literal; a small recursive-descent reader accepts the
// subset numpy writes (strings, True / False, tuples of integers) in any key order. The
// .npz reader walks the zip central directory (PKWARE APPNOTE 6.3: end of central
// directory record, ZIP64 locator / record and ZIP64 extra fields), takes each member's
// data offset from its local header, inflates deflated members with zlib when available
// and checks every member's CRC-32. The writer mirrors numpy's own .npy header layout
// (numpy/lib/format.py: sorted keys, growth padding, 64-byte alignment), so np.save and
// serializeNpy give the same bytes.
//
//===----------------------------------------------------------------------===//

#include "support/Npy.h"

#include "support/FileIO.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <set>

#ifdef TESSERA_HAVE_ZLIB
#include <zlib.h>
#endif

namespace tessera {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr int64_t kMaxElements = int64_t(1) << 48;

Diagnostic readError(const std::string &name, const std::string &msg) {
  return Diagnostic::error("npy-read", msg, SourceLoc{name, 0, 0});
}
Diagnostic formatError(const std::string &name, const std::string &msg) {
  return Diagnostic::error("npy-format", msg, SourceLoc{name, 0, 0});
}

uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t *p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t le64(const uint8_t *p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }

void put16(std::string &s, uint16_t v) {
  s.push_back(char(v & 0xff));
  s.push_back(char(v >> 8));
}
void put32(std::string &s, uint32_t v) {
  put16(s, uint16_t(v & 0xffff));
  put16(s, uint16_t(v >> 16));
}

/// A parsed dtype descriptor: byte order ('<', '>' or '|'), kind letter and item size.
struct DType {
  char order = '<';
  char kind = 'f';
  int size = 4;
};

/// Accepts the numeric descriptors: b1, i1/2/4/8, u1/2/4/8, f2/4/8, c8/16, with an
/// optional byte order ('<', '>', '|', '='; '=' is the native little-endian order).
std::optional<DType> parseDType(const std::string &d) {
  if (d.size() < 2)
    return std::nullopt;
  DType t;
  size_t i = 0;
  if (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=') {
    t.order = d[0] == '=' ? '<' : d[0];
    i = 1;
  }
  if (i >= d.size())
    return std::nullopt;
  t.kind = d[i++];
  std::string digits = d.substr(i);
  if (digits.empty() || digits.size() > 2 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  t.size = std::stoi(digits);
  auto oneOf = [&](std::initializer_list<int> sizes) {
    return std::find(sizes.begin(), sizes.end(), t.size) != sizes.end();
  };
  bool ok = (t.kind == 'b' && t.size == 1) ||
            ((t.kind == 'i' || t.kind == 'u') && oneOf({1, 2, 4, 8})) ||
            (t.kind == 'f' && oneOf({2, 4, 8})) || (t.kind == 'c' && oneOf({8, 16}));
  if (!ok)
    return std::nullopt;
  if (t.size == 1)
    t.order = '|';
  return t;
}

/// Element count of `shape`, or -1 when a dim is negative or the count too large.
int64_t checkedElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxElements)
      return -1;
    if (d != 0 && n > kMaxElements / d)
      return -1;
    n *= d;
  }
  return n;
}

//===----------------------------------------------------------------------===//
// .npy header: a Python dict literal
//===----------------------------------------------------------------------===//

class HeaderParser {
public:
  explicit HeaderParser(std::string_view s) : s_(s) {}

  /// Parses {'descr': str, 'fortran_order': bool, 'shape': tuple}; returns an error
  /// message, empty on success.
  std::string parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skipSpace();
    if (!eat('{'))
      return "the header is not a dict literal";
    while (true) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (!string(key))
        return "expected a quoted key in the header";
      skipSpace();
      if (!eat(':'))
        return "expected ':' after '" + key + "' in the header";
      skipSpace();
      if (key == "descr") {
        if (peek() == '[')
          return "structured dtypes are not supported";
        if (!string(descr))
          return "'descr' is not a string";
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (word("True"))
          fortran = true;
        else if (word("False"))
          fortran = false;
        else
          return "'fortran_order' is not True or False";
        haveOrder = true;
      } else if (key == "shape") {
        if (!tuple(shape))
          return "'shape' is not a tuple of non-negative integers";
        haveShape = true;
      } else {
        return "unknown header key '" + key + "'";
      }
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat('}'))
        break;
      return "expected ',' or '}' in the header";
    }
    skipSpace();
    if (pos_ != s_.size())
      return "unexpected text after the header dict";
    if (!haveDescr || !haveOrder || !haveShape)
      return "the header lacks 'descr', 'fortran_order' or 'shape'";
    return "";
  }

private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c)
      return false;
    ++pos_;
    return true;
  }
  void skipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w)
      return false;
    pos_ += w.size();
    return true;
  }
  bool string(std::string &out) {
    char q = peek();
    if (q != '\'' && q != '"')
      return false;
    ++pos_;
    out.clear();
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\')
        return false; // escapes never occur in numpy's keys and descriptors
      out.push_back(s_[pos_++]);
    }
    return eat(q);
  }
  bool integer(int64_t &v) {
    size_t start = pos_;
    v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (v > kMaxElements)
        return false;
      v = v * 10 + (s_[pos_++] - '0');
    }
    if (pos_ < s_.size() && s_[pos_] == 'L') // Python 2 longs
      ++pos_;
    return pos_ > start;
  }
  bool tuple(std::vector<int64_t> &out) {
    out.clear();
    if (!eat('('))
      return false;
    while (true) {
      skipSpace();
      if (eat(')'))
        return true;
      int64_t v;
      if (!integer(v))
        return false;
      out.push_back(v);
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      return eat(')');
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

std::string shapeRepr(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

//===----------------------------------------------------------------------===//
// Zip
//===----------------------------------------------------------------------===//

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
/// DOS date of 1980-01-01 (the earliest a zip can hold), time 00:00:00.
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;
constexpr uint16_t kDosTime = 0;

struct Member {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressedSize = 0;
  uint64_t size = 0;
  uint64_t localOffset = 0;
};

/// Reads the ZIP64 extended-information extra field (id 1): the 64-bit values of the
/// fields saturated at 0xFFFFFFFF, in APPNOTE order.
bool applyZip64Extra(const uint8_t *extra, size_t len, Member &m, bool needSize, bool needCsize,
                     bool needOffset) {
  size_t p = 0;
  while (p + 4 <= len) {
    uint16_t id = le16(extra + p), sz = le16(extra + p + 2);
    if (p + 4 + sz > len)
      return false;
    if (id == 1) {
      const uint8_t *d = extra + p + 4;
      size_t q = 0;
      auto take = [&](uint64_t &v) {
        if (q + 8 > sz)
          return false;
        v = le64(d + q);
        q += 8;
        return true;
      };
      if (needSize && !take(m.size))
        return false;
      if (needCsize && !take(m.compressedSize))
        return false;
      if (needOffset && !take(m.localOffset))
        return false;
      return true;
    }
    p += 4 + sz;
  }
  return !needSize && !needCsize && !needOffset;
}

Expected<std::string> inflateMember(std::string_view data, uint64_t size, const std::string &file,
                                    const std::string &member) {
#ifdef TESSERA_HAVE_ZLIB
  // Deflate expands at most 1032:1 (RFC 1951 length codes); a larger claimed size is a
  // corrupt directory, refused before allocating it.
  if (size > uint64_t(kMaxElements) || size > uint64_t(data.size()) * 1032 + 1024)
    return formatError(file, "member '" + member + "' claims an impossible uncompressed size");
  std::string out(size_t(size), '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
    return readError(file, "cannot initialize zlib");
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.data()));
  z.avail_in = uInt(std::min<size_t>(data.size(), UINT32_MAX));
  z.next_out = reinterpret_cast<Bytef *>(out.data());
  z.avail_out = uInt(std::min<size_t>(out.size(), UINT32_MAX));
  int rc = inflate(&z, Z_FINISH);
  uint64_t produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != size)
    return formatError(file, "member '" + member + "': the deflated data is corrupt");
  return out;
#else
  (void)data;
  (void)size;
  return formatError(file, "member '" + member +
                               "' is deflated (np.savez_compressed) and this build has no "
                               "zlib: write the file with np.savez instead");
#endif
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

int64_t NpyArray::elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

uint32_t crc32(std::span<const uint8_t> bytes) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : bytes)
    c = kTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Expected<NpyArray> parseNpy(std::string_view bytes, const std::string &name) {
  const auto *u = reinterpret_cast<const uint8_t *>(bytes.data());
  if (bytes.size() < kMagicLen + 2 ||
      bytes.substr(0, kMagicLen) != std::string_view(kMagic, kMagicLen))
    return readError(name, "not a .npy file: the magic string \\x93NUMPY is missing");
  uint8_t major = u[6], minor = u[7];
  if (!(major >= 1 && major <= 3 && minor == 0))
    return formatError(name, "unsupported .npy format version " + std::to_string(major) + "." +
                                 std::to_string(minor));
  size_t lenBytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + lenBytes)
    return readError(name, "truncated .npy file: the header length is cut off");
  uint64_t hlen = major == 1 ? le16(u + 8) : le32(u + 8);
  size_t start = 8 + lenBytes;
  if (hlen > bytes.size() - start)
    return readError(name, "truncated .npy file: the header is cut off");
  std::string_view header = bytes.substr(start, size_t(hlen));
  NpyArray a;
  bool fortran = false;
  std::string err = HeaderParser(header).parse(a.dtype, fortran, a.shape);
  if (!err.empty())
    return formatError(name, err);
  if (fortran && a.shape.size() > 1)
    return formatError(name, "Fortran-order arrays are not supported: save a C-order copy "
                             "(np.ascontiguousarray)");
  std::optional<DType> t = parseDType(a.dtype);
  if (!t)
    return formatError(name, "unsupported dtype '" + a.dtype + "'");
  int64_t n = checkedElements(a.shape);
  if (n < 0)
    return formatError(name, "shape " + shapeRepr(a.shape) + " is invalid");
  if (uint64_t(n) > uint64_t(kMaxElements) / uint64_t(t->size))
    return formatError(name, "shape " + shapeRepr(a.shape) + " is too large");
  uint64_t need = uint64_t(n) * uint64_t(t->size);
  uint64_t have = bytes.size() - start - hlen;
  if (have < need)
    return readError(name, "truncated .npy file: shape " + shapeRepr(a.shape) + " of " + a.dtype +
                               " needs " + std::to_string(need) + " data bytes, the file has " +
                               std::to_string(have));
  if (have > need)
    return formatError(name, "the file has " + std::to_string(have - need) +
                                 " bytes after the array data");
  const uint8_t *d = u + start + hlen;
  a.data.assign(d, d + need);
  return a;
}

Expected<NpyArray> readNpy(const std::string &path) {
  auto bytes = readTextFile(path);
  if (!bytes.ok())
    return readError(path, "cannot read .npy file: " + bytes.error().message);
  return parseNpy(*bytes, path);
}

Expected<std::vector<std::pair<std::string, NpyArray>>> parseNpz(std::string_view bytes,
                                                                 const std::string &name) {
  const auto *u = reinterpret_cast<const uint8_t *>(bytes.data());
  const size_t size = bytes.size();
  if (size < 22)
    return readError(name, "not a .npz file: too short for a zip archive");
  // The end of central directory record: 22 bytes plus a comment of up to 65535.
  size_t eocd = SIZE_MAX;
  for (size_t p = size - 22 + 1; p-- > 0 && size - p <= 22 + 65535;) {
    if (le32(u + p) == kEndSig && p + 22 + le16(u + p + 20) == size) {
      eocd = p;
      break;
    }
  }
  if (eocd == SIZE_MAX)
    return readError(name, "not a .npz file: no zip end-of-central-directory record");
  uint64_t count = le16(u + eocd + 10);
  uint64_t cdSize = le32(u + eocd + 12);
  uint64_t cdOffset = le32(u + eocd + 16);
  if (le16(u + eocd + 4) != 0 || le16(u + eocd + 6) != 0)
    return formatError(name, "multi-disk zip archives are not supported");
  if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) {
    if (eocd < 20 || le32(u + eocd - 20) != kZip64LocatorSig)
      return formatError(name, "the ZIP64 end-of-central-directory locator is missing");
    uint64_t rec = le64(u + eocd - 20 + 8);
    if (rec > size || size - rec < 56 || le32(u + rec) != kZip64EndSig)
      return formatError(name, "the ZIP64 end-of-central-directory record is invalid");
    count = le64(u + rec + 32);
    cdSize = le64(u + rec + 40);
    cdOffset = le64(u + rec + 48);
  }
  if (cdOffset > size || cdSize > size - cdOffset)
    return readError(name, "truncated .npz file: the central directory is cut off");

  std::vector<Member> members;
  size_t p = size_t(cdOffset);
  const size_t cdEnd = size_t(cdOffset + cdSize);
  for (uint64_t i = 0; i < count; ++i) {
    if (cdEnd - p < 46 || le32(u + p) != kCentralSig)
      return formatError(name,
                         "the zip central directory is corrupt (entry " + std::to_string(i) + ")");
    Member m;
    m.flags = le16(u + p + 8);
    m.method = le16(u + p + 10);
    m.crc = le32(u + p + 16);
    m.compressedSize = le32(u + p + 20);
    m.size = le32(u + p + 24);
    size_t nameLen = le16(u + p + 28), extraLen = le16(u + p + 30), commentLen = le16(u + p + 32);
    m.localOffset = le32(u + p + 42);
    if (cdEnd - p - 46 < nameLen + extraLen + commentLen)
      return formatError(name,
                         "the zip central directory is corrupt (entry " + std::to_string(i) + ")");
    m.name.assign(bytes.data() + p + 46, nameLen);
    bool needSize = m.size == 0xFFFFFFFF, needCsize = m.compressedSize == 0xFFFFFFFF,
         needOffset = m.localOffset == 0xFFFFFFFF;
    if (!applyZip64Extra(u + p + 46 + nameLen, extraLen, m, needSize, needCsize, needOffset))
      return formatError(name, "member '" + m.name + "' has an invalid ZIP64 extra field");
    members.push_back(std::move(m));
    p += 46 + nameLen + extraLen + commentLen;
  }

  std::vector<std::pair<std::string, NpyArray>> out;
  std::set<std::string> seen;
  for (const Member &m : members) {
    const std::string where = name + ":" + m.name;
    if (m.flags & 1)
      return formatError(name, "member '" + m.name + "' is encrypted");
    if (m.method != 0 && m.method != 8)
      return formatError(name, "member '" + m.name + "' uses compression method " +
                                   std::to_string(m.method) + " (only stored and deflated)");
    uint64_t lh = m.localOffset;
    if (lh > size || size - lh < 30 || le32(u + lh) != kLocalSig)
      return formatError(name, "member '" + m.name + "': its local header is missing");
    uint64_t dataStart = lh + 30 + le16(u + lh + 26) + le16(u + lh + 28);
    if (dataStart > size || m.compressedSize > size - dataStart)
      return readError(name, "truncated .npz file: member '" + m.name + "' is cut off");
    std::string_view raw = bytes.substr(size_t(dataStart), size_t(m.compressedSize));
    std::string inflated;
    if (m.method == 8) {
      TRY_ASSIGN(inflated, inflateMember(raw, m.size, name, m.name));
      raw = inflated;
    } else if (m.size != m.compressedSize) {
      return formatError(name, "member '" + m.name + "' is stored but its sizes differ");
    }
    if (crc32({reinterpret_cast<const uint8_t *>(raw.data()), raw.size()}) != m.crc)
      return formatError(name, "member '" + m.name + "' fails its CRC-32 check");
    if (m.name.size() < 4 || m.name.compare(m.name.size() - 4, 4, ".npy") != 0)
      return formatError(name, "member '" + m.name + "' is not a .npy array");
    std::string key = m.name.substr(0, m.name.size() - 4);
    if (!seen.insert(key).second)
      return formatError(name, "array '" + key + "' is stored twice");
    TRY_ASSIGN(NpyArray a, parseNpy(raw, where));
    out.emplace_back(std::move(key), std::move(a));
  }
  return out;
}

Expected<std::vector<std::pair<std::string, NpyArray>>> readNpz(const std::string &path) {
  auto bytes = readTextFile(path);
  if (!bytes.ok())
    return readError(path, "cannot read .npz file: " + bytes.error().message);
  return parseNpz(*bytes, path);
}

Expected<std::string> serializeNpy(const NpyArray &a) {
  std::optional<DType> t = parseDType(a.dtype);
  if (!t)
    return formatError("<array>", "unsupported dtype '" + a.dtype + "'");
  int64_t n = checkedElements(a.shape);
  if (n < 0)
    return formatError("<array>", "shape " + shapeRepr(a.shape) + " is invalid");
  if (uint64_t(n) * uint64_t(t->size) != a.data.size())
    return formatError("<array>", "shape " + shapeRepr(a.shape) + " of " + a.dtype + " needs " +
                                      std::to_string(uint64_t(n) * uint64_t(t->size)) +
                                      " bytes, the array holds " + std::to_string(a.data.size()));
  // numpy/lib/format.py _write_array_header: sorted keys, then room for the first dim to
  // grow to 21 digits, then padding so that the data starts at a multiple of 64.
  std::string header =
      "{'descr': '" + a.dtype + "', 'fortran_order': False, 'shape': " + shapeRepr(a.shape) + ", }";
  if (!a.shape.empty())
    header.append(21 - std::to_string(a.shape[0]).size(), ' ');
  size_t hlen = header.size() + 1;
  int major = 1;
  size_t lenBytes = 2;
  size_t pad = 64 - (kMagicLen + 2 + lenBytes + hlen) % 64;
  if (hlen + pad > 0xFFFF) { // version 2.0: a 4-byte header length
    major = 2;
    lenBytes = 4;
    pad = 64 - (kMagicLen + 2 + lenBytes + hlen) % 64;
  }
  std::string out(kMagic, kMagicLen);
  out.push_back(char(major));
  out.push_back(0);
  if (major == 1)
    put16(out, uint16_t(hlen + pad));
  else
    put32(out, uint32_t(hlen + pad));
  out += header;
  out.append(pad, ' ');
  out.push_back('\n');
  out.append(reinterpret_cast<const char *>(a.data.data()), a.data.size());
  return out;
}

Expected<std::string> serializeNpz(const std::vector<std::pair<std::string, NpyArray>> &arrays) {
  std::string zip, central;
  std::set<std::string> seen;
  for (const auto &[key, array] : arrays) {
    if (key.empty())
      return formatError("<npz>", "an array has an empty name");
    if (!seen.insert(key).second)
      return formatError("<npz>", "array '" + key + "' is given twice");
    auto npy = serializeNpy(array);
    if (!npy.ok())
      return formatError("<npz>", "array '" + key + "': " + npy.error().message);
    std::string member = key + ".npy";
    if (member.size() > 0xFFFF || npy->size() >= 0xFFFFFFFFu || zip.size() >= 0xFFFFFFFFu)
      return formatError("<npz>", "array '" + key + "' is too large for a zip without ZIP64");
    uint32_t crc = crc32({reinterpret_cast<const uint8_t *>(npy->data()), npy->size()});
    bool utf8 =
        std::any_of(member.begin(), member.end(), [](char c) { return uint8_t(c) >= 0x80; });
    uint16_t flags = utf8 ? 1 << 11 : 0;
    uint32_t offset = uint32_t(zip.size());
    put32(zip, kLocalSig);
    put16(zip, 20); // version needed: 2.0
    put16(zip, flags);
    put16(zip, 0); // stored
    put16(zip, kDosTime);
    put16(zip, kDosDate);
    put32(zip, crc);
    put32(zip, uint32_t(npy->size()));
    put32(zip, uint32_t(npy->size()));
    put16(zip, uint16_t(member.size()));
    put16(zip, 0);
    zip += member;
    zip += *npy;

    put32(central, kCentralSig);
    put16(central, (3 << 8) | 20); // made by: Unix, 2.0
    put16(central, 20);
    put16(central, flags);
    put16(central, 0);
    put16(central, kDosTime);
    put16(central, kDosDate);
    put32(central, crc);
    put32(central, uint32_t(npy->size()));
    put32(central, uint32_t(npy->size()));
    put16(central, uint16_t(member.size()));
    put16(central, 0);              // extra
    put16(central, 0);              // comment
    put16(central, 0);              // disk
    put16(central, 0);              // internal attributes
    put32(central, 0100644u << 16); // regular file, rw-r--r--
    put32(central, offset);
    central += member;
  }
  if (arrays.size() >= 0xFFFF || zip.size() + central.size() >= 0xFFFFFFFFu)
    return formatError("<npz>", "too many or too large arrays for a zip without ZIP64");
  uint32_t cdOffset = uint32_t(zip.size());
  zip += central;
  put32(zip, kEndSig);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, uint16_t(arrays.size()));
  put16(zip, uint16_t(arrays.size()));
  put32(zip, uint32_t(central.size()));
  put32(zip, cdOffset);
  put16(zip, 0);
  return zip;
}

Status writeNpy(const std::string &path, const NpyArray &a) {
  auto bytes = serializeNpy(a);
  if (!bytes.ok())
    return formatError(path, bytes.error().message);
  return writeTextFile(path, *bytes);
}

Status writeNpz(const std::string &path,
                const std::vector<std::pair<std::string, NpyArray>> &arrays) {
  auto bytes = serializeNpz(arrays);
  if (!bytes.ok())
    return formatError(path, bytes.error().message);
  return writeTextFile(path, *bytes);
}

NpyArray npyFromFloats(std::vector<int64_t> shape, std::span<const float> v) {
  NpyArray a;
  a.dtype = "<f4";
  a.shape = std::move(shape);
  assert(a.elements() == int64_t(v.size()));
  a.data.resize(v.size() * 4);
  if (!v.empty())
    std::memcpy(a.data.data(), v.data(), v.size() * 4);
  return a;
}

Expected<std::vector<float>> npyToFloats(const NpyArray &a, const std::string &what) {
  std::optional<DType> t = parseDType(a.dtype);
  if (!t || t->kind == 'c')
    return formatError(what, "cannot convert dtype '" + a.dtype + "' to float32");
  int64_t n = checkedElements(a.shape);
  if (n < 0 || uint64_t(n) * uint64_t(t->size) != a.data.size())
    return formatError(what,
                       "the data does not match shape " + shapeRepr(a.shape) + " of " + a.dtype);
  std::vector<float> out(static_cast<size_t>(n));
  bool swap = t->order == '>';
  uint8_t buf[8];
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t *src = a.data.data() + size_t(i) * size_t(t->size);
    for (int k = 0; k < t->size; ++k)
      buf[k] = swap ? src[t->size - 1 - k] : src[k];
    float f = 0;
    switch (t->kind) {
    case 'f':
      if (t->size == 4) {
        std::memcpy(&f, buf, 4);
      } else if (t->size == 8) {
        double d;
        std::memcpy(&d, buf, 8);
        f = float(d);
      } else {
        uint16_t h = le16(buf);
        int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double v = e == 0    ? std::ldexp(double(m), -24)
                   : e == 31 ? (m ? NAN : INFINITY)
                             : std::ldexp(double(m | 0x400), e - 25);
        f = float((h & 0x8000) ? -v : v);
      }
      break;
    case 'b':
      f = buf[0] ? 1.0f : 0.0f;
      break;
    case 'i': {
      uint64_t v = 0;
      for (int k = t->size; k-- > 0;)
        v = (v << 8) | buf[k];
      int shift = 64 - 8 * t->size;
      f = float(int64_t(v << shift) >> shift);
      break;
    }
    default: { // 'u'
      uint64_t v = 0;
      for (int k = t->size; k-- > 0;)
        v = (v << 8) | buf[k];
      f = float(v);
      break;
    }
    }
    out[size_t(i)] = f;
  }
  return out;
}

} // namespace tessera
