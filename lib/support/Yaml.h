//===- Yaml.h - YAML with source locations and strict typed config --------===//
//
// Arch specs and other configs are YAML. This file loads YAML (through yaml-cpp) into a
// small owned tree in which every node keeps the SourceLoc it came from, and offers
// YamlMap, a reader that maps the keys of one YAML map onto struct fields with strict
// checking: wrong types, out-of-range values, missing required keys and unknown keys are
// all errors that name the file, line and column of the offending key or value. Unknown
// keys get a "did you mean" note; nothing is silently defaulted except through a field's
// own initializer when an optional key is absent (Timeloop's loose config is the
// counter-example this avoids).
//
// Error policy: readers *collect* every error in a caller-owned DiagnosticEngine, so a
// user sees all mistakes in a file at once; YamlMap::finish() then returns the first
// error reported since the reader was created (or success), so callers can also use the
// Expected/TRY style. Loading (parseYaml / loadYamlFile) stops at the first syntax error
// and returns it.
//
//   TRY_ASSIGN(YamlDocument doc, loadYamlFile(path));
//   DiagnosticEngine diags;
//   YamlMap top = YamlMap::root(doc, diags);
//   top.required("rows", spec.rows).positive();
//   top.optional("clock_ghz", spec.clockGhz).range(0.1, 5.0);
//   top.optionalEnum("node", spec.node, {{"7nm", Node::N7}, {"5nm", Node::N5}});
//   top.optionalMap("memory", [&](YamlMap &m) { m.required("sram_kib", spec.sramKib); });
//   TRY(top.finish());
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Diagnostics.h"
#include "support/Expected.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tessera {

class YamlNode;

/// One `key: value` entry of a YAML map; keys are always scalars (checked on load).
struct YamlEntry;

/// A YAML node with its source location. Value type; the tree is owned by its root.
class YamlNode {
public:
  enum class Kind : uint8_t { Null, Scalar, Sequence, Map };

  YamlNode() = default;

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isScalar() const { return kind_ == Kind::Scalar; }
  bool isSequence() const { return kind_ == Kind::Sequence; }
  bool isMap() const { return kind_ == Kind::Map; }

  /// Where the node starts in the source (1-based line and column).
  const SourceLoc &loc() const { return loc_; }
  /// The scalar's text (without quotes); empty for non-scalars.
  const std::string &scalar() const { return scalar_; }
  /// True for quoted or explicitly `!!str`-tagged scalars: they are strings, never numbers.
  bool quoted() const { return quoted_; }

  /// Elements of a sequence (empty otherwise).
  const std::vector<YamlNode> &items() const { return items_; }
  /// Entries of a map in file order (empty otherwise).
  const std::vector<YamlEntry> &entries() const;
  /// The value for `key` in a map, or nullptr.
  const YamlNode *find(std::string_view key) const;

  /// "map", "sequence", "string", "null"... for messages.
  std::string describe() const;

private:
  friend class YamlBuilder;
  Kind kind_ = Kind::Null;
  bool quoted_ = false;
  SourceLoc loc_;
  std::string scalar_;
  std::vector<YamlNode> items_;
  std::vector<YamlEntry> entries_;
};

struct YamlEntry {
  std::string key;
  SourceLoc keyLoc;
  YamlNode value;
};

inline const std::vector<YamlEntry> &YamlNode::entries() const { return entries_; }

/// A loaded YAML file: the root node plus the source text, kept so that diagnostics can
/// quote the offending line.
class YamlDocument {
public:
  const YamlNode &root() const { return root_; }
  const std::string &fileName() const { return fileName_; }
  /// Text of 1-based `line`, without the newline; "" when out of range.
  std::string sourceLine(uint32_t line) const;
  /// An error at `loc` with the source line attached.
  Diagnostic error(std::string id, std::string message, const SourceLoc &loc) const;
  /// A note at `loc` with the source line attached.
  Diagnostic note(std::string message, const SourceLoc &loc) const;

private:
  friend class YamlBuilder;
  std::string fileName_;
  std::vector<std::string> lines_;
  YamlNode root_;
};

/// Parse YAML text (the first document of a stream). Errors: `yaml-syntax` with the
/// location and source line of the problem; `duplicate-key`; `bad-key` for non-scalar
/// map keys; `yaml-too-deep` for nesting deeper than 256 or alias expansion beyond
/// 1,000,000 nodes.
Expected<YamlDocument> parseYaml(std::string_view text, std::string fileName = "<string>");
/// Read and parse a file; `io-error` when it cannot be read.
Expected<YamlDocument> loadYamlFile(const std::string &path);

// Scalar conversion. Each returns false (and leaves `out` untouched) when the node is not a
// plain scalar of the right form. Integers accept decimal and 0x hex; floating point accepts
// integers, decimals, exponents and .inf/.nan; booleans are true/false (any case of the
// initial letter, or all caps); strings accept any scalar, quoted or not.
namespace yaml_detail {
bool convert(const YamlNode &n, int64_t &out);
bool convert(const YamlNode &n, uint64_t &out);
bool convert(const YamlNode &n, double &out);
bool convert(const YamlNode &n, bool &out);
bool convert(const YamlNode &n, std::string &out);

/// What kind of value T is, for messages ("an integer", "a number"...).
std::string integerRangeName(int64_t lo, uint64_t hi);
template <typename T> std::string typeName() {
  if constexpr (std::is_same_v<T, bool>)
    return "a boolean (true/false)";
  else if constexpr (std::is_same_v<T, int64_t>)
    return "an integer";
  else if constexpr (std::is_same_v<T, uint64_t>)
    return "a non-negative integer";
  else if constexpr (std::is_integral_v<T>)
    return integerRangeName(int64_t(std::numeric_limits<T>::min()),
                            uint64_t(std::numeric_limits<T>::max()));
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else
    return "a string";
}

/// Convert to any supported T, checking the target type's range for narrower integers.
template <typename T> bool convertTo(const YamlNode &n, T &out) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t> ||
                std::is_same_v<T, double>) {
    return convert(n, out);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    int64_t v;
    if (!convert(n, v) || v < int64_t(std::numeric_limits<T>::min()) ||
        v > int64_t(std::numeric_limits<T>::max()))
      return false;
    out = T(v);
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    uint64_t v;
    if (!convert(n, v) || v > uint64_t(std::numeric_limits<T>::max()))
      return false;
    out = T(v);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    double v;
    if (!convert(n, v))
      return false;
    out = T(v);
    return true;
  } else {
    static_assert(sizeof(T) == 0, "unsupported YAML field type");
  }
}
} // namespace yaml_detail

class YamlMap;

/// Returned by YamlMap::required/optional to chain value checks on the field just read.
/// Checks only run when the key was present and converted; each failing check reports a
/// `bad-value` error at the value's location.
template <typename T> class YamlField {
public:
  YamlField(YamlMap *map, const YamlNode *value, std::string key, T *out)
      : map_(map), value_(value), key_(std::move(key)), out_(out) {}

  /// Whether the key was present and its value converted.
  bool present() const { return value_ != nullptr; }

  /// Value must be > 0.
  YamlField &positive();
  /// Value must be >= 0.
  YamlField &nonNegative();
  /// Value must lie in the closed interval [lo, hi].
  YamlField &range(T lo, T hi);
  /// Value must be >= lo.
  YamlField &min(T lo);
  /// Value must be <= hi.
  YamlField &max(T hi);
  /// Value must be a power of two (integers only).
  YamlField &powerOfTwo();
  /// Custom check: `pred(value)` false reports "key 'k' <what>" (e.g. "must be even").
  YamlField &check(const std::function<bool(const T &)> &pred, std::string_view what);

private:
  void fail(std::string_view what);
  YamlMap *map_;
  const YamlNode *value_;
  std::string key_;
  T *out_;
};

/// Strict reader over one YAML map. Every key the code asks about is recorded; finish()
/// reports the keys nobody asked about as `unknown-key` (with a "did you mean" note).
/// Nested maps read through requiredMap/optionalMap are finished automatically.
///
/// Diagnostics (all go to the DiagnosticEngine given at construction):
///  - `missing-key`  at the map's location, naming the key and its dotted path;
///  - `bad-value`    at the value, naming the key and the expected type / constraint;
///  - `unknown-key`  at the key, with a note "did you mean 'x'?" or the list of valid keys.
/// A null map (`memory:` with nothing after it) reads as an empty map.
class YamlMap {
public:
  /// Reader over the document's root, which must be a map (or empty).
  static YamlMap root(const YamlDocument &doc, DiagnosticEngine &diags);
  /// Reader over any map node of `doc`; `path` is its dotted key path for messages.
  YamlMap(const YamlDocument &doc, const YamlNode &node, DiagnosticEngine &diags,
          std::string path = "");

  YamlMap(const YamlMap &) = delete;
  YamlMap &operator=(const YamlMap &) = delete;
  YamlMap(YamlMap &&) = default;

  /// Read a scalar into `out`; `missing-key` when absent, `bad-value` when not convertible.
  template <typename T> YamlField<T> required(std::string_view key, T &out) {
    return read(key, out, /*isRequired=*/true);
  }
  /// Read a scalar into `out` if present; `out` keeps its value otherwise.
  template <typename T> YamlField<T> optional(std::string_view key, T &out) {
    return read(key, out, /*isRequired=*/false);
  }

  /// Read a string naming one of `choices`; `bad-value` listing the choices (with a
  /// "did you mean" note) otherwise. Returns whether the key was present and valid.
  template <typename E>
  bool requiredEnum(std::string_view key, E &out,
                    std::initializer_list<std::pair<const char *, E>> choices) {
    return readEnum(key, out, choices, /*isRequired=*/true);
  }
  template <typename E>
  bool optionalEnum(std::string_view key, E &out,
                    std::initializer_list<std::pair<const char *, E>> choices) {
    return readEnum(key, out, choices, /*isRequired=*/false);
  }

  /// Nested map: `fn` reads it through a child YamlMap, which is then finished (unknown
  /// keys reported). Returns whether the key was present and a map.
  bool requiredMap(std::string_view key, const std::function<void(YamlMap &)> &fn);
  bool optionalMap(std::string_view key, const std::function<void(YamlMap &)> &fn);

  /// Sequence of scalars, e.g. `shape: [1, 2, 3]`; a single scalar is not a sequence.
  template <typename T> bool requiredSeq(std::string_view key, std::vector<T> &out) {
    return readSeq(key, out, /*isRequired=*/true);
  }
  template <typename T> bool optionalSeq(std::string_view key, std::vector<T> &out) {
    return readSeq(key, out, /*isRequired=*/false);
  }

  /// Sequence of maps: `fn(reader, index)` per element; each element reader is finished.
  bool requiredMapSeq(std::string_view key, const std::function<void(YamlMap &, size_t)> &fn);
  bool optionalMapSeq(std::string_view key, const std::function<void(YamlMap &, size_t)> &fn);

  /// Map with user-chosen keys (`memories: {sram: {...}, dram: {...}}`): `fn(name, loc,
  /// reader)` per entry in file order; each entry's value must be a map.
  bool optionalNamedMaps(
      std::string_view key,
      const std::function<void(const std::string &, const SourceLoc &, YamlMap &)> &fn);

  /// Raw access: mark `key` consumed and return its node (nullptr when absent).
  const YamlNode *take(std::string_view key);
  /// Whether `key` is present (does not consume it).
  bool has(std::string_view key) const;

  /// Location of the map itself.
  const SourceLoc &loc() const { return loc_; }
  /// Location of `key` in this map (the map's location when absent).
  SourceLoc keyLoc(std::string_view key) const;
  /// Dotted path of `key` below this map, e.g. "memory.sram_kib".
  std::string pathOf(std::string_view key) const;

  /// Report a custom error at `loc` (with source line) through this reader's engine.
  void error(std::string id, std::string message, const SourceLoc &loc);

  /// Report unconsumed keys as `unknown-key`. Returns the first error reported through
  /// the engine since this reader was created (including nested readers and unknown
  /// keys), or success. Idempotent.
  Status finish();

  const YamlDocument &document() const { return *doc_; }
  DiagnosticEngine &diagnostics() { return *diags_; }

private:
  template <typename T> friend class YamlField;

  /// Find `key`, record it as a known key and mark the entry consumed.
  const YamlEntry *lookup(std::string_view key);
  void reportMissing(std::string_view key);
  void reportBadValue(std::string_view key, const YamlNode &value, std::string_view expected);
  /// Child reader over a nested map value (null reads as an empty map at `keyLoc`).
  YamlMap child(const YamlNode &value, std::string path, const SourceLoc &keyLoc);

  template <typename T> YamlField<T> read(std::string_view key, T &out, bool isRequired) {
    const YamlEntry *e = lookup(key);
    if (!e) {
      if (isRequired)
        reportMissing(key);
      return YamlField<T>(this, nullptr, pathOf(key), &out);
    }
    if (!yaml_detail::convertTo(e->value, out)) {
      reportBadValue(key, e->value, yaml_detail::typeName<T>());
      return YamlField<T>(this, nullptr, pathOf(key), &out);
    }
    return YamlField<T>(this, &e->value, pathOf(key), &out);
  }

  template <typename E>
  bool readEnum(std::string_view key, E &out,
                std::initializer_list<std::pair<const char *, E>> choices, bool isRequired) {
    std::vector<std::string> names;
    for (const auto &c : choices)
      names.emplace_back(c.first);
    int idx = readChoice(key, names, isRequired);
    if (idx < 0)
      return false;
    out = (choices.begin() + idx)->second;
    return true;
  }
  /// Index of the chosen name, or -1 (absent or reported).
  int readChoice(std::string_view key, const std::vector<std::string> &names, bool isRequired);

  template <typename T> bool readSeq(std::string_view key, std::vector<T> &out, bool isRequired) {
    const YamlNode *seq = sequenceFor(key, isRequired);
    if (!seq)
      return false;
    std::vector<T> result;
    bool ok = true;
    for (size_t i = 0; i < seq->items().size(); ++i) {
      T v{};
      if (!yaml_detail::convertTo(seq->items()[i], v)) {
        reportBadValue(std::string(key) + "[" + std::to_string(i) + "]", seq->items()[i],
                       yaml_detail::typeName<T>());
        ok = false;
        continue;
      }
      result.push_back(std::move(v));
    }
    if (ok)
      out = std::move(result);
    return ok;
  }
  /// The sequence node for `key` (null reads as empty); reports missing/bad kinds.
  const YamlNode *sequenceFor(std::string_view key, bool isRequired);
  bool readMap(std::string_view key, const std::function<void(YamlMap &)> &fn, bool isRequired);
  bool readMapSeq(std::string_view key, const std::function<void(YamlMap &, size_t)> &fn,
                  bool isRequired);

  const YamlDocument *doc_;
  const YamlNode *node_;
  SourceLoc loc_; ///< the map's location (the key's for a null value)
  DiagnosticEngine *diags_;
  std::string path_;
  size_t firstDiag_;               ///< engine size at construction, for finish()
  std::vector<std::string> known_; ///< keys asked about, in query order
  std::vector<bool> consumed_;     ///< per entry of node_
  bool finished_ = false;
};

// ---- YamlField implementation -------------------------------------------------------

template <typename T> void YamlField<T>::fail(std::string_view what) {
  map_->error("bad-value", "key '" + key_ + "' " + std::string(what), value_->loc());
}

namespace yaml_detail {
std::string showNumber(double d, bool integral, int64_t i, uint64_t u, bool isSigned);
/// Render a value for messages ("got 0", "in [1, 64]").
template <typename T> std::string show(const T &v) {
  if constexpr (std::is_same_v<T, bool>)
    return v ? "true" : "false";
  else if constexpr (std::is_arithmetic_v<T>)
    return showNumber(double(v), std::is_integral_v<T>, int64_t(v), uint64_t(v),
                      std::is_signed_v<T>);
  else
    return "'" + v + "'";
}
} // namespace yaml_detail

template <typename T> YamlField<T> &YamlField<T>::positive() {
  if (value_ && !(*out_ > T(0)))
    fail("must be positive, got " + yaml_detail::show(*out_));
  return *this;
}
template <typename T> YamlField<T> &YamlField<T>::nonNegative() {
  if (value_ && !(*out_ >= T(0)))
    fail("must not be negative, got " + yaml_detail::show(*out_));
  return *this;
}
template <typename T> YamlField<T> &YamlField<T>::range(T lo, T hi) {
  if (value_ && !(*out_ >= lo && *out_ <= hi))
    fail("must be in [" + yaml_detail::show(lo) + ", " + yaml_detail::show(hi) + "], got " +
         yaml_detail::show(*out_));
  return *this;
}
template <typename T> YamlField<T> &YamlField<T>::min(T lo) {
  if (value_ && !(*out_ >= lo))
    fail("must be at least " + yaml_detail::show(lo) + ", got " + yaml_detail::show(*out_));
  return *this;
}
template <typename T> YamlField<T> &YamlField<T>::max(T hi) {
  if (value_ && !(*out_ <= hi))
    fail("must be at most " + yaml_detail::show(hi) + ", got " + yaml_detail::show(*out_));
  return *this;
}
template <typename T> YamlField<T> &YamlField<T>::powerOfTwo() {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>,
                "powerOfTwo() is for integer fields");
  if (value_ && !(*out_ > 0 && (*out_ & (*out_ - 1)) == 0))
    fail("must be a power of two, got " + yaml_detail::show(*out_));
  return *this;
}
template <typename T>
YamlField<T> &YamlField<T>::check(const std::function<bool(const T &)> &pred,
                                  std::string_view what) {
  if (value_ && !pred(*out_))
    fail(what);
  return *this;
}

} // namespace tessera
