//===- Text.cpp - hw IR text form: printer and parser ---------------------===//
//
// The printer writes every op of a module in op order, so parsing the text back gives the
// same op list (same ValueIds), and printing that gives the same bytes. Input ops that sit
// in canonical position (the first ops, one per input port in port order, named like the
// port) are folded into the module header as `in %name: iW`; any other Input op is
// written in the body. Values print as %name when the op has a name that is a valid,
// unused label, else as %<op index> (unnamed) or as a made-up unique label plus an explicit
// `name "..."` (names that are not labels, duplicates).
//
// The parser is a hand-written recursive-descent parser over a small lexer. Labels,
// memory and instance references are resolved at the end of their module and callee port
// names at the end of the design, so values may be used before they are defined (register
// feedback) and modules in any order. The grammar is in docs/hw-ir.md.
//
//===----------------------------------------------------------------------===//
#include "hw/Text.h"

#include "support/FileIO.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

namespace tessera::hw {

namespace {

constexpr uint32_t kMaxWidth = 1u << 20;

bool isLabelStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isLabelChar(char c) {
  return isLabelStart(c) || (c >= '0' && c <= '9') || c == '$' || c == '.';
}
/// A bare identifier usable as a label, port, module or memory name without quotes.
bool isIdent(std::string_view s) {
  if (s.empty() || !isLabelStart(s[0]) || s == "_")
    return false;
  for (char c : s)
    if (!isLabelChar(c))
      return false;
  return true;
}

std::string quote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string r = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      r += '\\';
      r += ch;
    } else if (c == '\n') {
      r += "\\n";
    } else if (c == '\t') {
      r += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      r += "\\x";
      r += kHex[c >> 4];
      r += kHex[c & 15];
    } else {
      r += ch;
    }
  }
  return r + "\"";
}

/// A name as a bare identifier when possible, else quoted.
std::string nameToken(std::string_view s) { return isIdent(s) ? std::string(s) : quote(s); }

//===----------------------------------------------------------------------===//
// Printer
//===----------------------------------------------------------------------===//

class Printer {
public:
  Printer(const Design *d, const PrintOptions &opts) : d_(d), opts_(opts) {}

  std::string module(const Module &m);

private:
  void assignLabels(const Module &m);
  std::string val(ValueId v) const {
    if (v == kNoValue || v >= labels_.size() || labels_[v].empty())
      return "_";
    return "%" + labels_[v];
  }
  std::string loc(const SourceLoc &l) const;
  std::string portRef(const Module &m, uint32_t port) const;
  std::string calleePortRef(const Module *callee, uint32_t port) const;
  std::string memRef(const Module &m, uint32_t mem) const;
  std::string instRef(const Module &m, uint32_t inst) const;
  std::string op(const Module &m, ValueId i) const;
  const Module *callee(const Instance &inst) const { return d_ ? d_->find(inst.module) : nullptr; }

  const std::set<std::string> &portDups(const Module &m) const;

  const Design *d_;
  const PrintOptions &opts_;
  std::vector<std::string> labels_;
  std::vector<bool> needName_;
  std::set<std::string> memDups_, instDups_;
  mutable std::map<const Module *, std::set<std::string>> portDups_;
};

std::string Printer::loc(const SourceLoc &l) const {
  if (!opts_.locations || (l.file.empty() && !l.line && !l.col))
    return "";
  if (!opts_.omitLocationsIn.empty() && l.file == opts_.omitLocationsIn)
    return "";
  std::string s = " loc(" + quote(l.file);
  if (l.line || l.col)
    s += ":" + std::to_string(l.line);
  if (l.col)
    s += ":" + std::to_string(l.col);
  return s + ")";
}

/// Names used more than once among `items`.
template <typename T> std::set<std::string> duplicateNames(const std::vector<T> &items) {
  std::set<std::string> seen, dups;
  for (const T &x : items)
    if (!seen.insert(x.name).second)
      dups.insert(x.name);
  return dups;
}

const std::set<std::string> &Printer::portDups(const Module &m) const {
  auto it = portDups_.find(&m);
  if (it == portDups_.end())
    it = portDups_.emplace(&m, duplicateNames(m.ports)).first;
  return it->second;
}

std::string Printer::portRef(const Module &m, uint32_t port) const {
  if (port < m.ports.size() && !portDups(m).count(m.ports[port].name))
    return nameToken(m.ports[port].name);
  return "#" + std::to_string(port);
}

std::string Printer::calleePortRef(const Module *callee, uint32_t port) const {
  if (!callee)
    return "#" + std::to_string(port);
  return portRef(*callee, port);
}

std::string Printer::memRef(const Module &m, uint32_t mem) const {
  if (mem < m.memories.size() && !memDups_.count(m.memories[mem].name))
    return "@" + nameToken(m.memories[mem].name);
  return "#" + std::to_string(mem);
}

std::string Printer::instRef(const Module &m, uint32_t inst) const {
  if (inst < m.instances.size() && !instDups_.count(m.instances[inst].name))
    return quote(m.instances[inst].name);
  return "#" + std::to_string(inst);
}

void Printer::assignLabels(const Module &m) {
  labels_.assign(m.ops.size(), "");
  needName_.assign(m.ops.size(), false);
  std::set<std::string> used;
  for (size_t i = 0; i < m.ops.size(); ++i) {
    const Op &o = m.ops[i];
    if (!o.hasResult()) {
      needName_[i] = !o.name.empty();
      continue;
    }
    if (o.name.empty()) {
      labels_[i] = std::to_string(i);
      continue;
    }
    if (isIdent(o.name) && !used.count(o.name)) {
      labels_[i] = o.name;
      used.insert(o.name);
      continue;
    }
    std::string base;
    for (char c : o.name)
      base += isLabelChar(c) ? c : '_';
    if (!isIdent(base))
      base = "v" + base;
    std::string label = base;
    for (int n = 1; used.count(label); ++n)
      label = base + "_" + std::to_string(n);
    labels_[i] = label;
    used.insert(label);
    needName_[i] = true;
  }
}

std::string Printer::op(const Module &m, ValueId i) const {
  const Op &o = m.ops[i];
  auto operand = [&](size_t k) { return val(k < o.operands.size() ? o.operands[k] : kNoValue); };
  std::string s = "  ";
  if (o.hasResult())
    s += val(i) + " = ";
  s += std::string(mnemonic(o.kind));
  switch (o.kind) {
  case OpKind::Const:
    s += " " + o.value.toString();
    break;
  case OpKind::Input:
    s += " " + portRef(m, o.attr0);
    break;
  case OpKind::Extract:
    s += " " + operand(0) + " from " + std::to_string(o.attr0);
    break;
  case OpKind::Reg:
    s += " " + operand(0) + ", " + operand(1);
    if (o.regHasReset()) {
      s += " reset " + operand(2);
      if (o.regAsyncReset())
        s += " async";
    }
    if (o.regHasEnable())
      s += " enable " + operand(o.regHasReset() ? 3 : 2);
    if (o.value != BitVec::zeros(o.width))
      s += " value " + o.value.toString();
    if (o.init != BitVec::zeros(o.width))
      s += " init " + o.init.toString();
    break;
  case OpKind::MemRead:
    s += " " + memRef(m, o.attr0) + "[" + operand(o.memSync() ? 1 : 0) + "]";
    if (o.memSync()) {
      s += " clock " + operand(0);
      if (o.flags & kMemReadHasEnable)
        s += " enable " + operand(2);
    }
    break;
  case OpKind::MemWrite:
    s += " " + memRef(m, o.attr0) + "[" + operand(1) + "] = " + operand(2) + " clock " +
         operand(0) + " enable " + operand(3);
    break;
  case OpKind::InstOut: {
    const Module *c = o.attr0 < m.instances.size() ? callee(m.instances[o.attr0]) : nullptr;
    s += " " + instRef(m, o.attr0) + "." + calleePortRef(c, o.attr1);
    break;
  }
  case OpKind::Output:
    s += " " + operand(0) + " -> " + portRef(m, o.attr0);
    break;
  default:
    for (size_t k = 0; k < o.operands.size(); ++k)
      s += (k ? ", " : " ") + val(o.operands[k]);
    break;
  }
  if (o.hasResult())
    s += " : i" + std::to_string(o.width);
  if (needName_[i])
    s += " name " + quote(o.name);
  s += loc(o.loc);
  return s + "\n";
}

std::string Printer::module(const Module &m) {
  assignLabels(m);
  memDups_ = duplicateNames(m.memories);
  instDups_ = duplicateNames(m.instances);
  // The canonical input prefix folded into the header.
  std::vector<uint32_t> inPorts;
  for (size_t p = 0; p < m.ports.size(); ++p)
    if (m.ports[p].dir == PortDir::In)
      inPorts.push_back(static_cast<uint32_t>(p));
  size_t implicit = 0;
  while (implicit < inPorts.size() && implicit < m.ops.size()) {
    const Op &o = m.ops[implicit];
    const Port &p = m.ports[inPorts[implicit]];
    if (o.kind != OpKind::Input || o.attr0 != inPorts[implicit] || o.width != p.width ||
        o.name != p.name || labels_[implicit] != p.name || needName_[implicit] ||
        o.loc.file != p.loc.file || o.loc.line != p.loc.line || o.loc.col != p.loc.col)
      break;
    ++implicit;
  }
  std::vector<std::string> ports;
  size_t nextIn = 0;
  for (size_t p = 0; p < m.ports.size(); ++p) {
    const Port &port = m.ports[p];
    std::string s;
    if (port.dir == PortDir::In) {
      s = "in ";
      s += nextIn < implicit ? "%" + port.name : nameToken(port.name);
      ++nextIn;
    } else {
      s = "out " + nameToken(port.name);
    }
    s += ": i" + std::to_string(port.width) + loc(port.loc);
    ports.push_back(std::move(s));
  }
  std::string head = "hw.module @" + nameToken(m.name()) + "(";
  size_t len = head.size();
  for (auto &p : ports)
    len += p.size() + 2;
  bool multiline = len > 100;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (multiline)
      head += "\n    ";
    head += ports[i];
    if (i + 1 < ports.size())
      head += multiline ? "," : ", ";
  }
  if (multiline && !ports.empty())
    head += "\n";
  std::string out = head + ")" + loc(m.loc) + " {\n";
  for (const Memory &mem : m.memories) {
    out += "  memory @" + nameToken(mem.name) + " : i" + std::to_string(mem.width) + " x " +
           std::to_string(mem.depth);
    if (!mem.init.empty()) {
      out += " init [";
      bool wrap = mem.init.size() > 16;
      for (size_t k = 0; k < mem.init.size(); ++k) {
        if (wrap && k % 16 == 0)
          out += "\n    ";
        else if (k)
          out += " ";
        out += mem.init[k].toString();
        if (k + 1 < mem.init.size())
          out += ",";
      }
      out += wrap ? "\n  ]" : "]";
    }
    out += loc(mem.loc) + "\n";
  }
  for (const Instance &inst : m.instances) {
    out += "  instance " + quote(inst.name);
    if (inst.count != 1)
      out += "[" + std::to_string(inst.count) + "]";
    out += " @" + nameToken(inst.module) + "(";
    const Module *c = callee(inst);
    bool first = true;
    for (size_t p = 0; p < inst.inputs.size(); ++p) {
      if (inst.inputs[p] == kNoValue)
        continue;
      out += (first ? "" : ", ") + calleePortRef(c, static_cast<uint32_t>(p)) + ": " +
             val(inst.inputs[p]);
      first = false;
    }
    out += ")" + loc(inst.loc) + "\n";
  }
  for (size_t i = implicit; i < m.ops.size(); ++i)
    out += op(m, static_cast<ValueId>(i));
  return out + "}\n";
}

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

enum class Tok {
  End,
  Word,   // bare identifier or keyword: add, hw.module, i8, clk
  Value,  // %label
  Symbol, // @name or @"name"
  String, // "..."
  Number, // 12, 0x1f, 0b101
  Hash,   // #12
  Punct,  // ( ) { } [ ] , : = . -> -
  Error,
};

struct Token {
  Tok kind = Tok::End;
  std::string text; ///< decoded text (without sigils and quotes)
  size_t offset = 0;
  uint32_t line = 1, col = 1;
};

class Lexer {
public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token next() {
    skipSpace();
    Token t;
    t.offset = pos_;
    t.line = line_;
    t.col = static_cast<uint32_t>(pos_ - lineStart_ + 1);
    if (pos_ >= text_.size())
      return t;
    char c = text_[pos_];
    if (isLabelStart(c)) {
      t.kind = Tok::Word;
      size_t s = pos_;
      while (pos_ < text_.size() && isLabelChar(text_[pos_]))
        ++pos_;
      t.text = std::string(text_.substr(s, pos_ - s));
      return t;
    }
    if (c >= '0' && c <= '9') {
      t.kind = Tok::Number;
      t.text = takeAlnum();
      return t;
    }
    if (c == '%') {
      ++pos_;
      size_t s = pos_;
      while (pos_ < text_.size() && isLabelChar(text_[pos_]))
        ++pos_;
      if (s == pos_)
        return error(t, "expected a value label after '%'");
      t.kind = Tok::Value;
      t.text = std::string(text_.substr(s, pos_ - s));
      return t;
    }
    if (c == '@') {
      ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        if (!readString(t))
          return t;
        t.kind = Tok::Symbol;
        return t;
      }
      size_t s = pos_;
      while (pos_ < text_.size() && isLabelChar(text_[pos_]))
        ++pos_;
      if (s == pos_)
        return error(t, "expected a name after '@'");
      t.kind = Tok::Symbol;
      t.text = std::string(text_.substr(s, pos_ - s));
      return t;
    }
    if (c == '#') {
      ++pos_;
      if (pos_ >= text_.size() || !(text_[pos_] >= '0' && text_[pos_] <= '9'))
        return error(t, "expected an index after '#'");
      t.kind = Tok::Hash;
      t.text = takeAlnum();
      return t;
    }
    if (c == '"') {
      if (readString(t))
        t.kind = Tok::String;
      return t;
    }
    if (c == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '>') {
      pos_ += 2;
      t.kind = Tok::Punct;
      t.text = "->";
      return t;
    }
    if (std::strchr("(){}[],:=.-", c) && c != '\0') {
      ++pos_;
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
      return t;
    }
    ++pos_;
    std::string shown = (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "\\x" + hex(c);
    return error(t, "unexpected character '" + shown + "'");
  }

private:
  static std::string hex(char ch) {
    static const char kHex[] = "0123456789abcdef";
    unsigned char c = static_cast<unsigned char>(ch);
    return std::string{kHex[c >> 4], kHex[c & 15]};
  }
  Token error(Token t, std::string msg) {
    t.kind = Tok::Error;
    t.text = std::move(msg);
    return t;
  }
  std::string takeAlnum() {
    size_t s = pos_;
    while (pos_ < text_.size() &&
           (isLabelStart(text_[pos_]) || (text_[pos_] >= '0' && text_[pos_] <= '9')))
      ++pos_;
    return std::string(text_.substr(s, pos_ - s));
  }
  /// Reads a quoted string at pos_ into t.text; on error sets t to an Error token.
  bool readString(Token &t) {
    ++pos_; // opening quote
    std::string s;
    while (true) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') {
        t = error(t, "unterminated string");
        return false;
      }
      char c = text_[pos_++];
      if (c == '"')
        break;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (pos_ >= text_.size()) {
        t = error(t, "unterminated string");
        return false;
      }
      char e = text_[pos_++];
      if (e == 'n')
        s += '\n';
      else if (e == 't')
        s += '\t';
      else if (e == '"' || e == '\\')
        s += e;
      else if (e == 'x') {
        auto digit = [&](char h) -> int {
          if (h >= '0' && h <= '9')
            return h - '0';
          if (h >= 'a' && h <= 'f')
            return h - 'a' + 10;
          if (h >= 'A' && h <= 'F')
            return h - 'A' + 10;
          return -1;
        };
        int hi = pos_ < text_.size() ? digit(text_[pos_]) : -1;
        int lo = pos_ + 1 < text_.size() ? digit(text_[pos_ + 1]) : -1;
        if (hi < 0 || lo < 0) {
          t = error(t, "bad \\x escape in string");
          return false;
        }
        s += static_cast<char>(hi * 16 + lo);
        pos_ += 2;
      } else {
        t = error(t, "unknown escape in string");
        return false;
      }
    }
    t.text = std::move(s);
    return true;
  }
  void skipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++pos_;
        ++line_;
        lineStart_ = pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n')
          ++pos_;
      } else {
        break;
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  size_t lineStart_ = 0;
};

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

/// A reference to a port, memory or instance: by name or by index (#N).
struct Ref {
  std::string name;
  bool byIndex = false;
  uint32_t index = 0;
  Token tok;
};

/// An op operand waiting for its label to be resolved.
struct PendingUse {
  uint32_t op = 0;
  uint32_t operand = 0;
  Token tok;
};

struct PendingConnection {
  uint32_t inst;
  Ref port;
  Token value; // a Value token or `_`
};

struct PendingModule {
  Module *m = nullptr;
  std::vector<std::pair<uint32_t, Ref>> instOutPorts; // op index -> callee port ref
  std::vector<PendingConnection> connections;
  std::vector<std::pair<uint32_t, Token>> instanceModules; // instance index -> @callee tok
};

class Parser {
public:
  Parser(std::string_view text, std::string file, const ParseOptions &opts)
      : text_(text), file_(std::move(file)), opts_(opts), lex_(text) {
    advance();
  }

  Expected<Design> parse();

private:
  // Tokens.
  void advance() { tok_ = lex_.next(); }
  bool isWord(std::string_view w) const { return tok_.kind == Tok::Word && tok_.text == w; }
  bool isPunct(std::string_view p) const { return tok_.kind == Tok::Punct && tok_.text == p; }
  SourceLoc locOf(const Token &t) const { return SourceLoc{file_, t.line, t.col}; }
  Diagnostic error(std::string id, std::string msg, const Token &t) const {
    return Diagnostic::error(std::move(id), std::move(msg), locOf(t))
        .withSourceLine(sourceLineAt(text_, t.line));
  }
  std::string describe(const Token &t) const;
  Diagnostic unexpected(std::string_view expected) const {
    if (tok_.kind == Tok::Error)
      return error("bad-token", tok_.text, tok_);
    return error("unexpected-token",
                 "expected " + std::string(expected) + ", found " + describe(tok_), tok_);
  }
  Status expectPunct(std::string_view p) {
    if (!isPunct(p))
      return unexpected("'" + std::string(p) + "'");
    advance();
    return Status::success();
  }
  Status expectWord(std::string_view w) {
    if (!isWord(w))
      return unexpected("'" + std::string(w) + "'");
    advance();
    return Status::success();
  }

  // Pieces.
  Expected<std::string> parseName(std::string_view what);
  Expected<uint32_t> parseUInt(std::string_view what);
  Expected<uint32_t> parseType();
  Expected<BitVec> parseConstant(uint32_t width, const Token &at);
  Expected<Token> parseConstantToken();
  Expected<Ref> parseRef(std::string_view what, bool allowSymbol, bool allowString, bool allowWord);
  Status parseLoc(SourceLoc &loc, const Token &start);
  Expected<Token> parseOperand();

  // Structure.
  Status parseModule(Design &d);
  Status parsePort(Module &m);
  Status parseMemory(Module &m);
  Status parseInstance(Module &m, PendingModule &pm);
  Status parseOp(Module &m, PendingModule &pm);
  Status resolveModule(Module &m, PendingModule &pm);
  Status resolveDesign(Design &d);

  Expected<uint32_t> lookupPort(const Module &m, const Ref &r, PortDir dir) const;
  void use(uint32_t op, uint32_t operand, Token t) {
    uses_.push_back(PendingUse{op, operand, std::move(t)});
  }

  std::string_view text_;
  std::string file_;
  const ParseOptions &opts_;
  Lexer lex_;
  Token tok_;

  // Per module state.
  std::unordered_map<std::string, ValueId> labels_;
  std::vector<PendingUse> uses_;
  std::vector<std::pair<uint32_t, Ref>> memRefs_;  // op index -> memory ref
  std::vector<std::pair<uint32_t, Ref>> instRefs_; // op index -> instance ref
  std::vector<PendingModule> pending_;
  std::map<std::string, Token> moduleTokens_;
};

std::string Parser::describe(const Token &t) const {
  switch (t.kind) {
  case Tok::End:
    return "end of file";
  case Tok::Word:
    return "'" + t.text + "'";
  case Tok::Value:
    return "'%" + t.text + "'";
  case Tok::Symbol:
    return "'@" + t.text + "'";
  case Tok::String:
    return "string " + quote(t.text);
  case Tok::Number:
    return "number '" + t.text + "'";
  case Tok::Hash:
    return "'#" + t.text + "'";
  case Tok::Punct:
    return "'" + t.text + "'";
  case Tok::Error:
    return t.text;
  }
  return "token";
}

Expected<std::string> Parser::parseName(std::string_view what) {
  if (tok_.kind != Tok::Word && tok_.kind != Tok::String)
    return unexpected(what);
  std::string s = tok_.text;
  advance();
  return s;
}

Expected<uint32_t> Parser::parseUInt(std::string_view what) {
  if (tok_.kind != Tok::Number)
    return unexpected(what);
  auto v = BitVec::parse(tok_.text, 32);
  if (!v)
    return error("bad-constant", "'" + tok_.text + "' is not a 32-bit unsigned number", tok_);
  advance();
  return static_cast<uint32_t>(v->low64());
}

Expected<uint32_t> Parser::parseType() {
  if (tok_.kind != Tok::Word || tok_.text.size() < 2 || tok_.text[0] != 'i')
    return unexpected("a type like 'i8'");
  std::string digits = tok_.text.substr(1);
  for (char c : digits)
    if (c < '0' || c > '9')
      return unexpected("a type like 'i8'");
  uint64_t w = 0;
  for (char c : digits) {
    w = w * 10 + uint64_t(c - '0');
    if (w > kMaxWidth)
      break;
  }
  if (w == 0 || w > kMaxWidth)
    return error("bad-width",
                 "width " + digits + " is out of range (1 to " + std::to_string(kMaxWidth) + ")",
                 tok_);
  advance();
  return static_cast<uint32_t>(w);
}

Expected<Token> Parser::parseConstantToken() {
  Token t = tok_;
  if (isPunct("-")) {
    advance();
    if (tok_.kind != Tok::Number)
      return unexpected("a number");
    t.text = "-" + tok_.text;
    t.kind = Tok::Number;
    advance();
    return t;
  }
  if (tok_.kind != Tok::Number)
    return unexpected("a number");
  advance();
  return t;
}

Expected<BitVec> Parser::parseConstant(uint32_t width, const Token &t) {
  std::string_view s = t.text;
  bool negative = !s.empty() && s[0] == '-';
  if (negative)
    s.remove_prefix(1);
  auto v = BitVec::parse(s, width);
  if (!v)
    return error("bad-constant",
                 "'" + t.text + "' is not a valid " + std::to_string(width) + "-bit constant", t);
  return negative ? v->neg() : *v;
}

Expected<Ref> Parser::parseRef(std::string_view what, bool allowSymbol, bool allowString,
                               bool allowWord) {
  Ref r;
  r.tok = tok_;
  if (tok_.kind == Tok::Hash) {
    auto v = BitVec::parse(tok_.text, 32);
    if (!v)
      return error("bad-constant", "'#" + tok_.text + "' is not a valid index", tok_);
    r.byIndex = true;
    r.index = static_cast<uint32_t>(v->low64());
  } else if ((allowSymbol && tok_.kind == Tok::Symbol) ||
             (allowString && tok_.kind == Tok::String) || (allowWord && tok_.kind == Tok::Word)) {
    r.name = tok_.text;
  } else {
    return unexpected(what);
  }
  advance();
  return r;
}

Status Parser::parseLoc(SourceLoc &loc, const Token &start) {
  if (!isWord("loc")) {
    if (opts_.textLocations)
      loc = locOf(start);
    return Status::success();
  }
  advance();
  TRY(expectPunct("("));
  if (tok_.kind != Tok::String)
    return unexpected("a file name string");
  loc = SourceLoc{tok_.text, 0, 0};
  advance();
  if (isPunct(":")) {
    advance();
    TRY_ASSIGN(loc.line, parseUInt("a line number"));
    if (isPunct(":")) {
      advance();
      TRY_ASSIGN(loc.col, parseUInt("a column number"));
    }
  }
  return expectPunct(")");
}

Expected<Token> Parser::parseOperand() {
  if (tok_.kind == Tok::Value || isWord("_")) {
    Token t = tok_;
    advance();
    return t;
  }
  return unexpected("a value like '%x'");
}

Expected<Design> Parser::parse() {
  Design d;
  bool haveTop = false;
  Token topTok;
  while (tok_.kind != Tok::End) {
    if (isWord("hw.module")) {
      TRY(parseModule(d));
    } else if (isWord("hw.top")) {
      Token at = tok_;
      advance();
      if (haveTop)
        return error("redefined-top", "the top module is already set", at);
      if (tok_.kind != Tok::Symbol)
        return unexpected("a module name like '@top'");
      d.topName = tok_.text;
      topTok = tok_;
      haveTop = true;
      advance();
    } else {
      return unexpected("'hw.module' or 'hw.top'");
    }
  }
  if (haveTop && !d.find(d.topName))
    return error("unknown-module", "top module '" + d.topName + "' is not defined", topTok);
  TRY(resolveDesign(d));
  return d;
}

Status Parser::parseModule(Design &d) {
  Token start = tok_;
  advance(); // hw.module
  if (tok_.kind != Tok::Symbol)
    return unexpected("a module name like '@top'");
  Token nameTok = tok_;
  if (d.find(tok_.text)) {
    Diagnostic e = error("redefined-module", "module '" + tok_.text + "' is defined twice", tok_);
    const Token &first = moduleTokens_[tok_.text];
    e.withNote(Diagnostic::note("first defined here", locOf(first)));
    return e;
  }
  Module &m = d.addModule(tok_.text);
  moduleTokens_[tok_.text] = nameTok;
  advance();
  labels_.clear();
  uses_.clear();
  memRefs_.clear();
  instRefs_.clear();
  pending_.push_back(PendingModule{&m, {}, {}, {}});
  TRY(expectPunct("("));
  if (!isPunct(")")) {
    while (true) {
      TRY(parsePort(m));
      if (isPunct(",")) {
        advance();
        continue;
      }
      break;
    }
  }
  TRY(expectPunct(")"));
  TRY(parseLoc(m.loc, start));
  TRY(expectPunct("{"));
  while (!isPunct("}")) {
    if (tok_.kind == Tok::End || tok_.kind == Tok::Error)
      return unexpected("an op or '}'");
    if (isWord("memory"))
      TRY(parseMemory(m));
    else if (isWord("instance"))
      TRY(parseInstance(m, pending_.back()));
    else
      TRY(parseOp(m, pending_.back()));
  }
  advance();
  return resolveModule(m, pending_.back());
}

Status Parser::parsePort(Module &m) {
  Token start = tok_;
  PortDir dir;
  if (isWord("in"))
    dir = PortDir::In;
  else if (isWord("out"))
    dir = PortDir::Out;
  else
    return unexpected("'in' or 'out'");
  advance();
  Port p;
  p.dir = dir;
  bool implicit = false;
  Token nameTok = tok_;
  if (dir == PortDir::In && tok_.kind == Tok::Value) {
    implicit = true;
    p.name = tok_.text;
    advance();
  } else {
    TRY_ASSIGN(p.name, parseName("a port name"));
  }
  TRY(expectPunct(":"));
  TRY_ASSIGN(p.width, parseType());
  TRY(parseLoc(p.loc, start));
  m.ports.push_back(p);
  if (implicit) {
    if (labels_.count(p.name))
      return error("redefined-value", "value '%" + p.name + "' is defined twice", nameTok);
    Op op;
    op.kind = OpKind::Input;
    op.width = p.width;
    op.attr0 = static_cast<uint32_t>(m.ports.size() - 1);
    op.name = p.name;
    op.loc = p.loc;
    labels_[p.name] = static_cast<ValueId>(m.ops.size());
    m.ops.push_back(std::move(op));
  }
  return Status::success();
}

Status Parser::parseMemory(Module &m) {
  Token start = tok_;
  advance();
  Memory mem;
  if (tok_.kind != Tok::Symbol)
    return unexpected("a memory name like '@mem'");
  mem.name = tok_.text;
  advance();
  TRY(expectPunct(":"));
  TRY_ASSIGN(mem.width, parseType());
  TRY(expectWord("x"));
  TRY_ASSIGN(mem.depth, parseUInt("a memory depth"));
  if (isWord("init")) {
    advance();
    TRY(expectPunct("["));
    while (!isPunct("]")) {
      TRY_ASSIGN(Token t, parseConstantToken());
      TRY_ASSIGN(BitVec v, parseConstant(mem.width, t));
      mem.init.push_back(std::move(v));
      if (isPunct(","))
        advance();
      else if (!isPunct("]"))
        return unexpected("',' or ']'");
    }
    advance();
  }
  TRY(parseLoc(mem.loc, start));
  m.memories.push_back(std::move(mem));
  return Status::success();
}

Status Parser::parseInstance(Module &m, PendingModule &pm) {
  Token start = tok_;
  advance();
  Instance inst;
  if (tok_.kind != Tok::String)
    return unexpected("an instance name string");
  inst.name = tok_.text;
  advance();
  if (isPunct("[")) {
    advance();
    TRY_ASSIGN(inst.count, parseUInt("an instance count"));
    TRY(expectPunct("]"));
  }
  if (tok_.kind != Tok::Symbol)
    return unexpected("a module name like '@pe'");
  inst.module = tok_.text;
  uint32_t idx = static_cast<uint32_t>(m.instances.size());
  pm.instanceModules.emplace_back(idx, tok_);
  advance();
  TRY(expectPunct("("));
  while (!isPunct(")")) {
    TRY_ASSIGN(Ref port, parseRef("a port name", false, true, true));
    TRY(expectPunct(":"));
    TRY_ASSIGN(Token v, parseOperand());
    pm.connections.push_back(PendingConnection{idx, std::move(port), std::move(v)});
    if (isPunct(","))
      advance();
    else if (!isPunct(")"))
      return unexpected("',' or ')'");
  }
  advance();
  TRY(parseLoc(inst.loc, start));
  m.instances.push_back(std::move(inst));
  return Status::success();
}

Status Parser::parseOp(Module &m, PendingModule &pm) {
  Token start = tok_;
  Token labelTok;
  bool hasLabel = false;
  if (tok_.kind == Tok::Value) {
    labelTok = tok_;
    hasLabel = true;
    advance();
    TRY(expectPunct("="));
  }
  if (tok_.kind != Tok::Word)
    return unexpected("an op name");
  Token kindTok = tok_;
  OpKind kind;
  if (!parseMnemonic(tok_.text, kind)) {
    std::vector<std::string> names;
    for (int i = 0; i < kNumOpKinds; ++i)
      names.emplace_back(mnemonic(static_cast<OpKind>(i)));
    names.push_back("memory");
    names.push_back("instance");
    Diagnostic e = error("unknown-op", "unknown op '" + tok_.text + "'", tok_);
    std::string guess = closestMatch(tok_.text, names);
    if (!guess.empty())
      e.withNote(Diagnostic::note("did you mean '" + guess + "'?"));
    return e;
  }
  advance();
  bool noResult = kind == OpKind::Output || kind == OpKind::MemWrite;
  if (noResult && hasLabel)
    return error("unexpected-token", "'" + std::string(mnemonic(kind)) + "' has no result to name",
                 labelTok);
  if (!noResult && !hasLabel)
    return error("unexpected-token",
                 "'" + std::string(mnemonic(kind)) +
                     "' needs a result like '%x = " + std::string(mnemonic(kind)) + " ...'",
                 kindTok);

  uint32_t index = static_cast<uint32_t>(m.ops.size());
  Op op;
  op.kind = kind;
  std::vector<Token> operands;
  auto operand = [&]() -> Status {
    TRY_ASSIGN(Token t, parseOperand());
    operands.push_back(std::move(t));
    return Status::success();
  };
  auto operandList = [&]() -> Status {
    TRY(operand());
    while (isPunct(",")) {
      advance();
      TRY(operand());
    }
    return Status::success();
  };
  Token constTok;
  Token valueTok, initTok;
  bool hasValue = false, hasInit = false;

  switch (kind) {
  case OpKind::Const: {
    TRY_ASSIGN(constTok, parseConstantToken());
    break;
  }
  case OpKind::Input: {
    TRY_ASSIGN(Ref r, parseRef("a port name", false, true, true));
    TRY_ASSIGN(op.attr0, lookupPort(m, r, PortDir::In));
    break;
  }
  case OpKind::Extract: {
    TRY(operand());
    TRY(expectWord("from"));
    TRY_ASSIGN(op.attr0, parseUInt("a bit index"));
    break;
  }
  case OpKind::Reg: {
    TRY(operand());
    TRY(expectPunct(","));
    TRY(operand());
    if (isWord("reset")) {
      advance();
      op.flags |= kRegHasReset;
      TRY(operand());
      if (isWord("async")) {
        advance();
        op.flags |= kRegAsyncReset;
      }
    }
    if (isWord("enable")) {
      advance();
      op.flags |= kRegHasEnable;
      TRY(operand());
    }
    if (isWord("value")) {
      advance();
      hasValue = true;
      TRY_ASSIGN(valueTok, parseConstantToken());
    }
    if (isWord("init")) {
      advance();
      hasInit = true;
      TRY_ASSIGN(initTok, parseConstantToken());
    }
    break;
  }
  case OpKind::MemRead:
  case OpKind::MemWrite: {
    TRY_ASSIGN(Ref r, parseRef("a memory name like '@mem'", true, false, false));
    memRefs_.emplace_back(index, std::move(r));
    TRY(expectPunct("["));
    Token addr;
    TRY_ASSIGN(addr, parseOperand());
    TRY(expectPunct("]"));
    if (kind == OpKind::MemWrite) {
      TRY(expectPunct("="));
      TRY_ASSIGN(Token data, parseOperand());
      TRY(expectWord("clock"));
      TRY(operand());
      operands.push_back(addr);
      operands.push_back(data);
      TRY(expectWord("enable"));
      TRY(operand());
    } else if (isWord("clock")) {
      advance();
      op.flags |= kMemReadSync;
      TRY(operand());
      operands.push_back(addr);
      if (isWord("enable")) {
        advance();
        op.flags |= kMemReadHasEnable;
        TRY(operand());
      }
    } else {
      operands.push_back(addr);
    }
    break;
  }
  case OpKind::InstOut: {
    TRY_ASSIGN(Ref inst, parseRef("an instance name string", false, true, false));
    instRefs_.emplace_back(index, std::move(inst));
    TRY(expectPunct("."));
    TRY_ASSIGN(Ref port, parseRef("a port name", false, true, true));
    pm.instOutPorts.emplace_back(index, std::move(port));
    break;
  }
  case OpKind::Output: {
    TRY(operand());
    TRY(expectPunct("->"));
    TRY_ASSIGN(Ref r, parseRef("a port name", false, true, true));
    TRY_ASSIGN(op.attr0, lookupPort(m, r, PortDir::Out));
    break;
  }
  default:
    TRY(operandList());
    break;
  }

  if (!noResult) {
    TRY(expectPunct(":"));
    TRY_ASSIGN(op.width, parseType());
  }
  if (kind == OpKind::Const) {
    TRY_ASSIGN(op.value, parseConstant(op.width, constTok));
  } else if (kind == OpKind::Reg) {
    op.value = BitVec::zeros(op.width);
    op.init = BitVec::zeros(op.width);
    if (hasValue) {
      TRY_ASSIGN(op.value, parseConstant(op.width, valueTok));
    }
    if (hasInit) {
      TRY_ASSIGN(op.init, parseConstant(op.width, initTok));
    }
  }
  std::string explicitName;
  bool hasName = false;
  if (isWord("name")) {
    advance();
    if (tok_.kind != Tok::String)
      return unexpected("a name string");
    explicitName = tok_.text;
    hasName = true;
    advance();
  }
  TRY(parseLoc(op.loc, start));

  if (hasLabel) {
    if (auto it = labels_.find(labelTok.text); it != labels_.end()) {
      Diagnostic e =
          error("redefined-value", "value '%" + labelTok.text + "' is defined twice", labelTok);
      const SourceLoc &first = m.ops[it->second].loc;
      if (first.known())
        e.withNote(Diagnostic::note("first defined here", first));
      return e;
    }
    labels_[labelTok.text] = index;
    bool numeric = labelTok.text[0] >= '0' && labelTok.text[0] <= '9';
    op.name = hasName ? explicitName : numeric ? std::string() : labelTok.text;
  } else if (hasName) {
    op.name = explicitName;
  }
  op.operands.assign(operands.size(), kNoValue);
  for (size_t k = 0; k < operands.size(); ++k)
    if (operands[k].kind == Tok::Value)
      use(index, static_cast<uint32_t>(k), operands[k]);
  m.ops.push_back(std::move(op));
  return Status::success();
}

Expected<uint32_t> Parser::lookupPort(const Module &m, const Ref &r, PortDir dir) const {
  std::string kind = dir == PortDir::In ? "an input" : "an output";
  if (r.byIndex) {
    if (r.index >= m.ports.size())
      return error("unknown-port",
                   "module '" + m.name() + "' has no port #" + std::to_string(r.index), r.tok);
    if (m.ports[r.index].dir != dir)
      return error("bad-port-direction",
                   "port #" + std::to_string(r.index) + " of module '" + m.name() + "' is not " +
                       kind + " port",
                   r.tok);
    return r.index;
  }
  int p = m.findPort(r.name);
  if (p < 0) {
    std::vector<std::string> names;
    for (const Port &port : m.ports)
      if (port.dir == dir)
        names.push_back(port.name);
    Diagnostic e =
        error("unknown-port", "module '" + m.name() + "' has no port '" + r.name + "'", r.tok);
    std::string guess = closestMatch(r.name, names);
    if (!guess.empty())
      e.withNote(Diagnostic::note("did you mean '" + guess + "'?"));
    return e;
  }
  if (m.ports[p].dir != dir)
    return error("bad-port-direction",
                 "port '" + r.name + "' of module '" + m.name() + "' is not " + kind + " port",
                 r.tok);
  return static_cast<uint32_t>(p);
}

Status Parser::resolveModule(Module &m, PendingModule &pm) {
  auto lookup = [&](const Token &t) -> Expected<ValueId> {
    auto it = labels_.find(t.text);
    if (it == labels_.end()) {
      std::vector<std::string> names;
      for (auto &[label, v] : labels_)
        names.push_back(label);
      std::sort(names.begin(), names.end());
      Diagnostic e = error("undefined-value", "value '%" + t.text + "' is not defined", t);
      std::string guess = closestMatch(t.text, names);
      if (!guess.empty())
        e.withNote(Diagnostic::note("did you mean '%" + guess + "'?"));
      return e;
    }
    return it->second;
  };
  for (const PendingUse &u : uses_) {
    TRY_ASSIGN(ValueId v, lookup(u.tok));
    m.ops[u.op].operands[u.operand] = v;
  }
  uses_.clear();
  for (auto &[opIndex, r] : memRefs_) {
    uint32_t found = kNoValue;
    if (r.byIndex) {
      if (r.index < m.memories.size())
        found = r.index;
    } else {
      for (size_t i = 0; i < m.memories.size(); ++i)
        if (m.memories[i].name == r.name) {
          found = static_cast<uint32_t>(i);
          break;
        }
    }
    if (found == kNoValue)
      return error("unknown-memory",
                   "module '" + m.name() + "' has no memory " +
                       (r.byIndex ? "#" + std::to_string(r.index) : "'@" + r.name + "'"),
                   r.tok);
    m.ops[opIndex].attr0 = found;
  }
  for (auto &[opIndex, r] : instRefs_) {
    uint32_t found = kNoValue;
    if (r.byIndex) {
      if (r.index < m.instances.size())
        found = r.index;
    } else {
      for (size_t i = 0; i < m.instances.size(); ++i)
        if (m.instances[i].name == r.name) {
          found = static_cast<uint32_t>(i);
          break;
        }
    }
    if (found == kNoValue)
      return error("unknown-instance",
                   "module '" + m.name() + "' has no instance " +
                       (r.byIndex ? "#" + std::to_string(r.index) : quote(r.name)),
                   r.tok);
    m.ops[opIndex].attr0 = found;
  }
  // Instance inputs: the values now, the callee ports at the end of the design.
  for (PendingConnection &c : pm.connections) {
    if (c.value.kind == Tok::Value) {
      TRY_ASSIGN(ValueId v, lookup(c.value));
      c.value.text = std::to_string(v);
      c.value.kind = Tok::Number;
    }
  }
  return Status::success();
}

Status Parser::resolveDesign(Design &d) {
  for (PendingModule &pm : pending_) {
    Module &m = *pm.m;
    for (auto &[idx, tok] : pm.instanceModules) {
      const Module *callee = d.find(tok.text);
      if (!callee) {
        std::vector<std::string> names;
        for (auto &mod : d.modules())
          names.push_back(mod->name());
        Diagnostic e = error("unknown-module", "module '" + tok.text + "' is not defined", tok);
        std::string guess = closestMatch(tok.text, names);
        if (!guess.empty())
          e.withNote(Diagnostic::note("did you mean '@" + guess + "'?"));
        return e;
      }
      m.instances[idx].inputs.assign(callee->ports.size(), kNoValue);
    }
    std::vector<std::vector<bool>> connected(m.instances.size());
    for (const PendingConnection &c : pm.connections) {
      Instance &inst = m.instances[c.inst];
      const Module &callee = *d.find(inst.module);
      TRY_ASSIGN(uint32_t port, lookupPort(callee, c.port, PortDir::In));
      auto &done = connected[c.inst];
      done.resize(callee.ports.size(), false);
      if (done[port])
        return error("duplicate-connection",
                     "input '" + callee.ports[port].name + "' of instance " + quote(inst.name) +
                         " is connected twice",
                     c.port.tok);
      done[port] = true;
      if (c.value.kind == Tok::Number)
        inst.inputs[port] = static_cast<ValueId>(std::stoul(c.value.text));
    }
    for (auto &[opIndex, r] : pm.instOutPorts) {
      Op &op = m.ops[opIndex];
      const Module &callee = *d.find(m.instances[op.attr0].module);
      TRY_ASSIGN(op.attr1, lookupPort(callee, r, PortDir::Out));
    }
  }
  return Status::success();
}

} // namespace

std::string printModule(const Module &m, const PrintOptions &opts) {
  Printer p(nullptr, opts);
  return p.module(m);
}

std::string printDesign(const Design &d, const PrintOptions &opts) {
  std::string out;
  if (!d.topName.empty())
    out += "hw.top @" + nameToken(d.topName) + "\n\n";
  bool first = true;
  Printer p(&d, opts);
  for (const auto &m : d.modules()) {
    if (!first)
      out += "\n";
    first = false;
    out += p.module(*m);
  }
  return out;
}

namespace {
bool sameLoc(const SourceLoc &a, const SourceLoc &b) {
  return a.file == b.file && a.line == b.line && a.col == b.col;
}

std::string compareModules(const Module &a, const Module &b) {
  std::string where = "module '" + a.name() + "': ";
  if (a.name() != b.name())
    return "module names '" + a.name() + "' and '" + b.name() + "' differ";
  if (!sameLoc(a.loc, b.loc))
    return where + "locations differ";
  if (a.ports.size() != b.ports.size())
    return where + "port counts differ";
  for (size_t i = 0; i < a.ports.size(); ++i) {
    const Port &x = a.ports[i], &y = b.ports[i];
    if (x.name != y.name || x.dir != y.dir || x.width != y.width || !sameLoc(x.loc, y.loc))
      return where + "port #" + std::to_string(i) + " differs";
  }
  if (a.memories.size() != b.memories.size())
    return where + "memory counts differ";
  for (size_t i = 0; i < a.memories.size(); ++i) {
    const Memory &x = a.memories[i], &y = b.memories[i];
    if (x.name != y.name || x.width != y.width || x.depth != y.depth || x.init != y.init ||
        !sameLoc(x.loc, y.loc))
      return where + "memory #" + std::to_string(i) + " differs";
  }
  if (a.instances.size() != b.instances.size())
    return where + "instance counts differ";
  for (size_t i = 0; i < a.instances.size(); ++i) {
    const Instance &x = a.instances[i], &y = b.instances[i];
    if (x.name != y.name || x.module != y.module || x.count != y.count || x.inputs != y.inputs ||
        !sameLoc(x.loc, y.loc))
      return where + "instance #" + std::to_string(i) + " differs";
  }
  if (a.ops.size() != b.ops.size())
    return where + "op counts differ (" + std::to_string(a.ops.size()) + " and " +
           std::to_string(b.ops.size()) + ")";
  for (size_t i = 0; i < a.ops.size(); ++i) {
    const Op &x = a.ops[i], &y = b.ops[i];
    std::string what =
        where + "op #" + std::to_string(i) + " (" + std::string(mnemonic(x.kind)) + "): ";
    if (x.kind != y.kind)
      return what + "kinds differ";
    if (x.width != y.width)
      return what + "widths differ";
    if (x.operands != y.operands)
      return what + "operands differ";
    if (x.attr0 != y.attr0 || x.attr1 != y.attr1 || x.flags != y.flags)
      return what + "attributes differ";
    if (x.value != y.value || x.init != y.init)
      return what + "values differ";
    if (x.name != y.name)
      return what + "names '" + x.name + "' and '" + y.name + "' differ";
    if (!sameLoc(x.loc, y.loc))
      return what + "locations '" + x.loc.str() + "' and '" + y.loc.str() + "' differ";
  }
  return "";
}
} // namespace

std::string compareDesigns(const Design &a, const Design &b) {
  if (a.topName != b.topName)
    return "top names '" + a.topName + "' and '" + b.topName + "' differ";
  if (a.modules().size() != b.modules().size())
    return "module counts differ";
  for (size_t i = 0; i < a.modules().size(); ++i) {
    std::string diff = compareModules(*a.modules()[i], *b.modules()[i]);
    if (!diff.empty())
      return diff;
  }
  return "";
}

Expected<Design> parseDesign(std::string_view text, const std::string &file,
                             const ParseOptions &opts) {
  Parser p(text, file, opts);
  return p.parse();
}

Expected<Design> loadDesign(const std::string &path, const ParseOptions &opts) {
  TRY_ASSIGN(std::string text, readTextFile(path));
  return parseDesign(text, path, opts);
}

} // namespace tessera::hw
