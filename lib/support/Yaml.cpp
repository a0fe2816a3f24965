//===- Yaml.cpp - YAML with source locations and strict typed config ------===//
//
// yaml-cpp parses; YamlBuilder copies its node graph into an owned YamlNode tree with
// 1-based locations, rejecting what a config must not contain (non-scalar or duplicate
// keys) and bounding depth and size, since YAML aliases can build cycles (`&a [*a]`) and
// exponentially large trees ("billion laughs"). Scalars are converted lazily by YamlMap
// with YAML 1.2 core-schema rules, so quoted "16" stays a string.
//
//===----------------------------------------------------------------------===//
#include "support/Yaml.h"

#include "support/FileIO.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <unordered_map>

namespace tessera {

namespace {
constexpr int kMaxDepth = 256;
constexpr size_t kMaxNodes = 1'000'000;
constexpr size_t kMaxShownChars = 40;

/// Shorten a scalar for a message.
std::string clip(const std::string &s) {
  if (s.size() <= kMaxShownChars)
    return s;
  return s.substr(0, kMaxShownChars) + "...";
}
} // namespace

//===----------------------------------------------------------------------===//
// Tree and document
//===----------------------------------------------------------------------===//

const YamlNode *YamlNode::find(std::string_view key) const {
  for (const YamlEntry &e : entries_)
    if (e.key == key)
      return &e.value;
  return nullptr;
}

std::string YamlNode::describe() const {
  switch (kind_) {
  case Kind::Null:
    return "null";
  case Kind::Scalar:
    return quoted_ ? "string \"" + clip(scalar_) + "\"" : "'" + clip(scalar_) + "'";
  case Kind::Sequence:
    return "a sequence";
  case Kind::Map:
    return "a map";
  }
  return "?";
}

std::string YamlDocument::sourceLine(uint32_t line) const {
  if (line == 0 || line > lines_.size())
    return "";
  return lines_[line - 1];
}

Diagnostic YamlDocument::error(std::string id, std::string message, const SourceLoc &loc) const {
  Diagnostic d = Diagnostic::error(std::move(id), std::move(message), loc);
  d.withSourceLine(sourceLine(loc.line));
  return d;
}

Diagnostic YamlDocument::note(std::string message, const SourceLoc &loc) const {
  Diagnostic d = Diagnostic::note(std::move(message), loc);
  d.withSourceLine(sourceLine(loc.line));
  return d;
}

/// Copies a yaml-cpp node graph into a YamlDocument, stopping at the first problem.
class YamlBuilder {
public:
  explicit YamlBuilder(YamlDocument &doc) : doc_(doc) {}

  static void setText(YamlDocument &doc, std::string_view text, std::string fileName) {
    doc.fileName_ = std::move(fileName);
    size_t start = 0;
    while (start <= text.size()) {
      size_t nl = text.find('\n', start);
      size_t end = nl == std::string_view::npos ? text.size() : nl;
      std::string_view line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      doc.lines_.emplace_back(line);
      if (nl == std::string_view::npos)
        break;
      start = nl + 1;
    }
  }

  SourceLoc locOf(const YAML::Mark &m) const {
    SourceLoc loc;
    loc.file = doc_.fileName_;
    if (!m.is_null() && m.line >= 0) {
      loc.line = uint32_t(m.line) + 1;
      loc.col = uint32_t(m.column) + 1;
    }
    return loc;
  }

  /// Build the root; the first error, if any, is in error().
  bool build(const YAML::Node &n) { return convert(n, doc_.root_, 0); }
  std::optional<Diagnostic> &error() { return error_; }

private:
  bool fail(std::string id, std::string message, const SourceLoc &loc) {
    if (!error_)
      error_ = doc_.error(std::move(id), std::move(message), loc);
    return false;
  }

  bool convert(const YAML::Node &in, YamlNode &out, int depth) {
    out.loc_ = locOf(in.Mark());
    if (depth > kMaxDepth)
      return fail("yaml-too-deep",
                  "YAML nesting is deeper than " + std::to_string(kMaxDepth) +
                      " levels (recursive alias?)",
                  out.loc_);
    if (++nodes_ > kMaxNodes)
      return fail("yaml-too-deep",
                  "YAML expands to more than " + std::to_string(kMaxNodes) +
                      " nodes (alias expansion?)",
                  out.loc_);
    switch (in.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind_ = YamlNode::Kind::Null;
      return true;
    case YAML::NodeType::Scalar: {
      out.kind_ = YamlNode::Kind::Scalar;
      out.scalar_ = in.Scalar();
      const std::string &tag = in.Tag();
      out.quoted_ = tag == "!" || tag == "tag:yaml.org,2002:str";
      return true;
    }
    case YAML::NodeType::Sequence:
      out.kind_ = YamlNode::Kind::Sequence;
      out.items_.reserve(in.size());
      for (const YAML::Node &item : in) {
        out.items_.emplace_back();
        if (!convert(item, out.items_.back(), depth + 1))
          return false;
      }
      return true;
    case YAML::NodeType::Map: {
      out.kind_ = YamlNode::Kind::Map;
      std::unordered_map<std::string, size_t> seen;
      for (auto it = in.begin(); it != in.end(); ++it) {
        // Copies: the iterator yields a temporary pair of node handles.
        YAML::Node key = it->first;
        YAML::Node value = it->second;
        SourceLoc keyLoc = locOf(key.Mark());
        if (!key.IsScalar())
          return fail("bad-key", "map keys must be plain scalars", keyLoc);
        auto [pos, inserted] = seen.emplace(key.Scalar(), out.entries_.size());
        if (!inserted) {
          if (!error_) {
            error_ = doc_.error("duplicate-key", "duplicate key '" + key.Scalar() + "'", keyLoc);
            error_->withNote(doc_.note("first defined here", out.entries_[pos->second].keyLoc));
          }
          return false;
        }
        out.entries_.push_back(YamlEntry{key.Scalar(), keyLoc, YamlNode()});
        if (!convert(value, out.entries_.back().value, depth + 1))
          return false;
      }
      return true;
    }
    }
    return true;
  }

  YamlDocument &doc_;
  size_t nodes_ = 0;
  std::optional<Diagnostic> error_;
};

Expected<YamlDocument> parseYaml(std::string_view text, std::string fileName) {
  YamlDocument doc;
  YamlBuilder::setText(doc, text, std::move(fileName));
  YamlBuilder builder(doc);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!builder.build(root))
      return std::move(*builder.error());
  } catch (const YAML::Exception &e) {
    // ParserException and its DeepRecursion subclass carry the mark of the problem.
    return doc.error("yaml-syntax", e.msg.empty() ? "invalid YAML" : e.msg, builder.locOf(e.mark));
  } catch (const std::exception &e) {
    return doc.error("yaml-syntax", e.what(), builder.locOf(YAML::Mark::null_mark()));
  }
  return doc;
}

Expected<YamlDocument> loadYamlFile(const std::string &path) {
  TRY_ASSIGN(std::string text, readTextFile(path));
  return parseYaml(text, path);
}

//===----------------------------------------------------------------------===//
// Scalar conversion (YAML 1.2 core schema, strict)
//===----------------------------------------------------------------------===//

namespace yaml_detail {

static bool isPlainScalar(const YamlNode &n) { return n.isScalar() && !n.quoted(); }

/// Parse an optionally signed decimal, 0x hex or 0o octal integer as magnitude + sign.
static bool parseInteger(std::string_view s, bool &negative, uint64_t &magnitude) {
  negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'o') {
    base = 8;
    s.remove_prefix(2);
  }
  if (s.empty() || s[0] == '+' || s[0] == '-')
    return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool convert(const YamlNode &n, int64_t &out) {
  bool neg;
  uint64_t mag;
  if (!isPlainScalar(n) || !parseInteger(n.scalar(), neg, mag))
    return false;
  if (neg) {
    if (mag > uint64_t(std::numeric_limits<int64_t>::max()) + 1)
      return false;
    out = mag == 0 ? 0 : -int64_t(mag - 1) - 1;
  } else {
    if (mag > uint64_t(std::numeric_limits<int64_t>::max()))
      return false;
    out = int64_t(mag);
  }
  return true;
}

bool convert(const YamlNode &n, uint64_t &out) {
  bool neg;
  uint64_t mag;
  if (!isPlainScalar(n) || !parseInteger(n.scalar(), neg, mag) || (neg && mag != 0))
    return false;
  out = mag;
  return true;
}

bool convert(const YamlNode &n, double &out) {
  if (!isPlainScalar(n))
    return false;
  std::string_view s = n.scalar();
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF") {
    out = neg ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    if (n.scalar()[0] == '-' || n.scalar()[0] == '+')
      return false;
    out = std::nan("");
    return true;
  }
  // from_chars also takes "inf"/"nan", which YAML treats as strings: require a digit.
  bool startsNumeric =
      !s.empty() &&
      (std::isdigit(static_cast<unsigned char>(s[0])) ||
       (s[0] == '.' && s.size() > 1 && std::isdigit(static_cast<unsigned char>(s[1]))));
  if (!startsNumeric)
    return false;
  int64_t asInt;
  if (convert(n, asInt)) { // hex / octal integers are numbers too
    out = double(asInt);
    return true;
  }
  double v;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size())
    return false;
  out = neg ? -v : v;
  return true;
}

bool convert(const YamlNode &n, bool &out) {
  if (!isPlainScalar(n))
    return false;
  const std::string &s = n.scalar();
  if (s == "true" || s == "True" || s == "TRUE") {
    out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    out = false;
    return true;
  }
  return false;
}

bool convert(const YamlNode &n, std::string &out) {
  if (!n.isScalar())
    return false;
  out = n.scalar();
  return true;
}

std::string integerRangeName(int64_t lo, uint64_t hi) {
  return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

std::string showNumber(double d, bool integral, int64_t i, uint64_t u, bool isSigned) {
  if (integral)
    return isSigned ? std::to_string(i) : std::to_string(u);
  return fmt::format("{}", d);
}

} // namespace yaml_detail

//===----------------------------------------------------------------------===//
// YamlMap
//===----------------------------------------------------------------------===//

YamlMap YamlMap::root(const YamlDocument &doc, DiagnosticEngine &diags) {
  return YamlMap(doc, doc.root(), diags);
}

YamlMap::YamlMap(const YamlDocument &doc, const YamlNode &node, DiagnosticEngine &diags,
                 std::string path)
    : doc_(&doc), node_(&node), loc_(node.loc()), diags_(&diags), path_(std::move(path)),
      firstDiag_(diags.diagnostics().size()), consumed_(node.entries().size(), false) {
  if (loc_.file.empty())
    loc_.file = doc.fileName();
  if (!node.isMap() && !node.isNull()) {
    std::string where = path_.empty() ? "at the top level" : "for '" + path_ + "'";
    error("bad-value", "expected a map " + where + ", got " + node.describe(), loc_);
  }
}

YamlMap YamlMap::child(const YamlNode &value, std::string path, const SourceLoc &keyLoc) {
  YamlMap m(*doc_, value, *diags_, std::move(path));
  if (value.isNull())
    m.loc_ = keyLoc;
  return m;
}

const YamlEntry *YamlMap::lookup(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end())
    known_.emplace_back(key);
  const auto &entries = node_->entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].key == key) {
      consumed_[i] = true;
      return &entries[i];
    }
  }
  return nullptr;
}

bool YamlMap::has(std::string_view key) const { return node_->find(key) != nullptr; }

SourceLoc YamlMap::keyLoc(std::string_view key) const {
  for (const YamlEntry &e : node_->entries())
    if (e.key == key)
      return e.keyLoc;
  return loc_;
}

std::string YamlMap::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void YamlMap::error(std::string id, std::string message, const SourceLoc &loc) {
  diags_->report(doc_->error(std::move(id), std::move(message), loc));
}

void YamlMap::reportMissing(std::string_view key) {
  error("missing-key", "missing required key '" + pathOf(key) + "'", loc_);
}

void YamlMap::reportBadValue(std::string_view key, const YamlNode &value,
                             std::string_view expected) {
  SourceLoc loc = value.loc();
  if (value.isNull() || loc.line == 0)
    loc = keyLoc(key);
  error("bad-value",
        "key '" + pathOf(key) + "' expects " + std::string(expected) + ", got " + value.describe(),
        loc);
}

const YamlNode *YamlMap::take(std::string_view key) {
  const YamlEntry *e = lookup(key);
  return e ? &e->value : nullptr;
}

int YamlMap::readChoice(std::string_view key, const std::vector<std::string> &names,
                        bool isRequired) {
  const YamlEntry *e = lookup(key);
  if (!e) {
    if (isRequired)
      reportMissing(key);
    return -1;
  }
  std::string list;
  for (const std::string &n : names)
    list += (list.empty() ? "'" : ", '") + n + "'";
  std::string s;
  if (!yaml_detail::convert(e->value, s)) {
    reportBadValue(key, e->value, "one of " + list);
    return -1;
  }
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == s)
      return int(i);
  SourceLoc loc = e->value.loc();
  Diagnostic d = doc_->error(
      "bad-value", "key '" + pathOf(key) + "' must be one of " + list + ", got '" + clip(s) + "'",
      loc);
  std::string guess = closestMatch(s, names);
  if (!guess.empty())
    d.withNote(Diagnostic::note("did you mean '" + guess + "'?"));
  diags_->report(std::move(d));
  return -1;
}

const YamlNode *YamlMap::sequenceFor(std::string_view key, bool isRequired) {
  const YamlEntry *e = lookup(key);
  if (!e) {
    if (isRequired)
      reportMissing(key);
    return nullptr;
  }
  if (e->value.isNull() || e->value.isSequence())
    return &e->value; // null has no items: an empty sequence
  reportBadValue(key, e->value, "a sequence");
  return nullptr;
}

bool YamlMap::readMap(std::string_view key, const std::function<void(YamlMap &)> &fn,
                      bool isRequired) {
  const YamlEntry *e = lookup(key);
  if (!e) {
    if (isRequired)
      reportMissing(key);
    return false;
  }
  if (!e->value.isMap() && !e->value.isNull()) {
    reportBadValue(key, e->value, "a map");
    return false;
  }
  YamlMap m = child(e->value, pathOf(key), e->keyLoc);
  fn(m);
  (void)m.finish();
  return true;
}

bool YamlMap::requiredMap(std::string_view key, const std::function<void(YamlMap &)> &fn) {
  return readMap(key, fn, true);
}
bool YamlMap::optionalMap(std::string_view key, const std::function<void(YamlMap &)> &fn) {
  return readMap(key, fn, false);
}

bool YamlMap::readMapSeq(std::string_view key, const std::function<void(YamlMap &, size_t)> &fn,
                         bool isRequired) {
  const YamlNode *seq = sequenceFor(key, isRequired);
  if (!seq)
    return false;
  bool ok = true;
  SourceLoc kl = keyLoc(key);
  for (size_t i = 0; i < seq->items().size(); ++i) {
    const YamlNode &item = seq->items()[i];
    std::string itemKey = std::string(key) + "[" + std::to_string(i) + "]";
    if (!item.isMap() && !item.isNull()) {
      reportBadValue(itemKey, item, "a map");
      ok = false;
      continue;
    }
    YamlMap m = child(item, pathOf(itemKey), item.loc().line ? item.loc() : kl);
    fn(m, i);
    (void)m.finish();
  }
  return ok;
}

bool YamlMap::requiredMapSeq(std::string_view key,
                             const std::function<void(YamlMap &, size_t)> &fn) {
  return readMapSeq(key, fn, true);
}
bool YamlMap::optionalMapSeq(std::string_view key,
                             const std::function<void(YamlMap &, size_t)> &fn) {
  return readMapSeq(key, fn, false);
}

bool YamlMap::optionalNamedMaps(
    std::string_view key,
    const std::function<void(const std::string &, const SourceLoc &, YamlMap &)> &fn) {
  const YamlEntry *e = lookup(key);
  if (!e || e->value.isNull())
    return false;
  if (!e->value.isMap()) {
    reportBadValue(key, e->value, "a map");
    return false;
  }
  bool ok = true;
  std::string base = pathOf(key);
  for (const YamlEntry &entry : e->value.entries()) {
    if (!entry.value.isMap() && !entry.value.isNull()) {
      error("bad-value",
            "key '" + base + "." + entry.key + "' expects a map, got " + entry.value.describe(),
            entry.value.loc().line ? entry.value.loc() : entry.keyLoc);
      ok = false;
      continue;
    }
    YamlMap m = child(entry.value, base + "." + entry.key, entry.keyLoc);
    fn(entry.key, entry.keyLoc, m);
    (void)m.finish();
  }
  return ok;
}

Status YamlMap::finish() {
  if (!finished_) {
    finished_ = true;
    const auto &entries = node_->entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      if (consumed_[i])
        continue;
      const YamlEntry &e = entries[i];
      std::string where = path_.empty() ? "" : " in '" + path_ + "'";
      Diagnostic d =
          doc_->error("unknown-key", "unknown key '" + clip(e.key) + "'" + where, e.keyLoc);
      std::string guess = closestMatch(e.key, known_);
      if (!guess.empty()) {
        d.withNote(Diagnostic::note("did you mean '" + guess + "'?"));
      } else if (!known_.empty()) {
        std::string list;
        for (const std::string &k : known_)
          list += (list.empty() ? "" : ", ") + k;
        d.withNote(Diagnostic::note("valid keys here: " + list));
      } else {
        d.withNote(Diagnostic::note("no keys are expected here"));
      }
      diags_->report(std::move(d));
    }
  }
  const auto &all = diags_->diagnostics();
  for (size_t i = firstDiag_; i < all.size(); ++i)
    if (all[i].severity == Severity::Error)
      return all[i];
  return Status::success();
}

} // namespace tessera
