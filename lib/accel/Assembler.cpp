//===- Assembler.cpp - two-pass assembler and canonical disassembler ----------===//
//
// Pass 1 lexes every line and records label positions (instruction indices); pass 2
// evaluates `.equ` constants in order and assembles instructions, resolving labels
// anywhere in the file. Expressions are parsed by precedence climbing over 64-bit signed
// integers (overflow is an error). Operands are matched against the opcode's operand
// table (Isa.h operandSpecs), the same table the disassembler prints from.
//
//===----------------------------------------------------------------------===//
#include "accel/Assembler.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace tessera::accel {

namespace {

enum class Tok : uint8_t { Ident, Number, Punct, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;
  uint32_t col = 0; ///< 1-based
};

bool identStart(char c) { return std::isalpha(uint8_t(c)) || c == '_' || c == '.'; }
bool identChar(char c) { return std::isalnum(uint8_t(c)) || c == '_' || c == '.'; }

/// Error thrown inside one line's processing; caught per line.
struct LineError {
  Diagnostic diag;
};

class Assembler {
public:
  Assembler(std::string_view text, const std::string &file, const TileConfig *cfg)
      : text_(text), file_(file), cfg_(cfg) {}

  void run(DiagnosticEngine &diags, AsmProgram &out);

private:
  std::string_view text_;
  std::string file_;
  const TileConfig *cfg_;
  std::vector<std::string> lines_;
  std::map<std::string, int64_t> symbols_;
  std::map<std::string, uint32_t> labels_;

  // Per-line state.
  uint32_t line_ = 0;
  std::vector<Token> toks_;

  [[noreturn]] void fail(const std::string &id, const std::string &msg, uint32_t col,
                         std::optional<Diagnostic> note = std::nullopt) {
    Diagnostic d = Diagnostic::error(id, msg, SourceLoc{file_, line_, col});
    d.withSourceLine(lines_[line_ - 1]);
    if (note)
      d.withNote(*note);
    throw LineError{std::move(d)};
  }
  [[noreturn]] void fail(const std::string &id, const std::string &msg, const Token &t) {
    fail(id, msg, t.col);
  }

  void lex(const std::string &line);
  bool isRegister(const std::string &s, char prefix, unsigned &num) const;

  // Expressions over toks_[pos, end).
  int64_t expr(size_t &pos, size_t end, int minPrec = 0);
  int64_t primary(size_t &pos, size_t end);
  int64_t fullExpr(size_t b, size_t e);

  void assembleLine(size_t b, AsmProgram &out);
  void defineLabels(uint32_t &index);
};

void Assembler::lex(const std::string &line) {
  toks_.clear();
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == '#' || c == ';' || (c == '/' && i + 1 < line.size() && line[i + 1] == '/'))
      break;
    if (std::isspace(uint8_t(c))) {
      ++i;
      continue;
    }
    Token t;
    t.col = uint32_t(i + 1);
    if (std::isdigit(uint8_t(c)) ||
        (c == '.' && i + 1 < line.size() && std::isdigit(uint8_t(line[i + 1])))) {
      size_t j = i;
      bool hex = c == '0' && i + 1 < line.size() && (line[i + 1] == 'x' || line[i + 1] == 'X');
      if (hex)
        j += 2;
      while (j < line.size()) {
        char d = line[j];
        if (std::isalnum(uint8_t(d)) || d == '.' || d == '_') {
          ++j;
        } else if (!hex && (d == '+' || d == '-') && (line[j - 1] == 'e' || line[j - 1] == 'E')) {
          ++j;
        } else {
          break;
        }
      }
      t.kind = Tok::Number;
      t.text = line.substr(i, j - i);
      i = j;
    } else if (identStart(c)) {
      size_t j = i;
      while (j < line.size() && identChar(line[j]))
        ++j;
      t.kind = Tok::Ident;
      t.text = line.substr(i, j - i);
      i = j;
    } else if ((c == '<' || c == '>') && i + 1 < line.size() && line[i + 1] == c) {
      t.kind = Tok::Punct;
      t.text = line.substr(i, 2);
      i += 2;
    } else if (std::strchr(",=+-*/%()&|^~:", c) && c != '\0') {
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
      ++i;
    } else {
      std::string shown = std::isprint(uint8_t(c)) ? std::string(1, c) : "\\x" + [&] {
        char buf[4];
        snprintf(buf, sizeof buf, "%02x", unsigned(uint8_t(c)));
        return std::string(buf);
      }();
      fail("syntax-error", "unexpected character '" + shown + "'", t.col);
    }
    toks_.push_back(std::move(t));
  }
  Token end;
  end.kind = Tok::End;
  end.col = uint32_t(line.size() + 1);
  toks_.push_back(end);
}

bool Assembler::isRegister(const std::string &s, char prefix, unsigned &num) const {
  if (s.size() < 2 || s.size() > 3 || s[0] != prefix)
    return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (!std::isdigit(uint8_t(s[i])))
      return false;
  if (s.size() == 3 && s[1] == '0')
    return false;
  num = unsigned(std::stoul(s.substr(1)));
  return true;
}

int Prec(const std::string &op) {
  if (op == "|")
    return 1;
  if (op == "^")
    return 2;
  if (op == "&")
    return 3;
  if (op == "<<" || op == ">>")
    return 4;
  if (op == "+" || op == "-")
    return 5;
  if (op == "*" || op == "/" || op == "%")
    return 6;
  return -1;
}

int64_t Assembler::primary(size_t &pos, size_t end) {
  if (pos >= end)
    fail("bad-expression", "expected a value", toks_[pos]);
  const Token &t = toks_[pos];
  if (t.kind == Tok::Punct && (t.text == "-" || t.text == "+" || t.text == "~")) {
    ++pos;
    int64_t v = primary(pos, end);
    if (t.text == "-") {
      if (v == INT64_MIN)
        fail("bad-expression", "arithmetic overflow", t);
      return -v;
    }
    return t.text == "~" ? ~v : v;
  }
  if (t.kind == Tok::Punct && t.text == "(") {
    ++pos;
    int64_t v = expr(pos, end);
    if (pos >= end || toks_[pos].text != ")")
      fail("bad-expression", "expected ')'", toks_[pos]);
    ++pos;
    return v;
  }
  if (t.kind == Tok::Number) {
    ++pos;
    const std::string &s = t.text;
    int base = 10;
    size_t start = 0;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
      base = 16, start = 2;
    else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
      base = 2, start = 2;
    uint64_t v = 0;
    bool any = false;
    for (size_t i = start; i < s.size(); ++i) {
      char c = s[i];
      if (c == '_')
        continue;
      int d = std::isdigit(uint8_t(c))    ? c - '0'
              : std::isxdigit(uint8_t(c)) ? (std::tolower(uint8_t(c)) - 'a' + 10)
                                          : 99;
      if (d >= base)
        fail("bad-expression", "malformed integer '" + s + "'", t);
      if (v > (UINT64_MAX - uint64_t(d)) / uint64_t(base) || v * base + d > uint64_t(INT64_MAX))
        fail("bad-expression", "integer '" + s + "' is too large", t);
      v = v * base + d;
      any = true;
    }
    if (!any)
      fail("bad-expression", "malformed integer '" + s + "'", t);
    return int64_t(v);
  }
  if (t.kind == Tok::Ident) {
    ++pos;
    unsigned r;
    if (isRegister(t.text, 'r', r) || isRegister(t.text, 'f', r))
      fail("bad-expression", "register " + t.text + " cannot be used in an expression", t);
    auto l = labels_.find(t.text);
    if (l != labels_.end())
      return l->second;
    auto s = symbols_.find(t.text);
    if (s != symbols_.end())
      return s->second;
    std::vector<std::string> names;
    for (auto &[n, v] : labels_)
      names.push_back(n);
    for (auto &[n, v] : symbols_)
      names.push_back(n);
    std::string guess = closestMatch(t.text, names);
    std::optional<Diagnostic> note;
    if (!guess.empty())
      note = Diagnostic::note("did you mean '" + guess + "'?");
    fail("undefined-symbol", "undefined symbol '" + t.text + "'", t.col, note);
  }
  fail("bad-expression", "expected a value, found '" + t.text + "'", t);
}

int64_t Assembler::expr(size_t &pos, size_t end, int minPrec) {
  int64_t lhs = primary(pos, end);
  while (pos < end && toks_[pos].kind == Tok::Punct) {
    const Token &op = toks_[pos];
    int p = Prec(op.text);
    if (p < 0 || p < minPrec)
      break;
    ++pos;
    int64_t rhs = expr(pos, end, p + 1);
    int64_t r = 0;
    bool ovf = false;
    if (op.text == "+")
      ovf = __builtin_add_overflow(lhs, rhs, &r);
    else if (op.text == "-")
      ovf = __builtin_sub_overflow(lhs, rhs, &r);
    else if (op.text == "*")
      ovf = __builtin_mul_overflow(lhs, rhs, &r);
    else if (op.text == "/" || op.text == "%") {
      if (rhs == 0)
        fail("division-by-zero", "division by zero", op);
      if (lhs == INT64_MIN && rhs == -1)
        ovf = true;
      else
        r = op.text == "/" ? lhs / rhs : lhs % rhs;
    } else if (op.text == "<<" || op.text == ">>") {
      if (rhs < 0 || rhs > 63)
        fail("bad-expression", "shift count " + std::to_string(rhs) + " is outside 0..63", op);
      r = op.text == "<<" ? int64_t(uint64_t(lhs) << rhs) : lhs >> rhs;
    } else if (op.text == "&")
      r = lhs & rhs;
    else if (op.text == "|")
      r = lhs | rhs;
    else
      r = lhs ^ rhs;
    if (ovf)
      fail("bad-expression", "arithmetic overflow", op);
    lhs = r;
  }
  return lhs;
}

int64_t Assembler::fullExpr(size_t b, size_t e) {
  size_t pos = b;
  int64_t v = expr(pos, e);
  if (pos != e)
    fail("bad-expression", "unexpected '" + toks_[pos].text + "' in expression", toks_[pos]);
  return v;
}

/// Splits toks_[b, end) at top-level commas.
std::vector<std::pair<size_t, size_t>> splitOperands(const std::vector<Token> &toks, size_t b) {
  std::vector<std::pair<size_t, size_t>> ops;
  size_t end = toks.size() - 1; // End token
  if (b >= end)
    return ops;
  int depth = 0;
  size_t start = b;
  for (size_t i = b; i < end; ++i) {
    const Token &t = toks[i];
    if (t.kind == Tok::Punct && t.text == "(")
      ++depth;
    else if (t.kind == Tok::Punct && t.text == ")")
      --depth;
    else if (depth == 0 && t.kind == Tok::Punct && t.text == ",") {
      ops.push_back({start, i});
      start = i + 1;
    }
  }
  ops.push_back({start, end});
  return ops;
}

void Assembler::assembleLine(size_t b, AsmProgram &out) {
  const Token &mn = toks_[b];
  if (mn.kind != Tok::Ident)
    fail("syntax-error", "expected a mnemonic, label or directive, found '" + mn.text + "'", mn);
  if (mn.text == ".equ" || mn.text == ".set") {
    auto ops = splitOperands(toks_, b + 1);
    if (ops.size() != 2 || ops[0].second != ops[0].first + 1 ||
        toks_[ops[0].first].kind != Tok::Ident)
      fail("syntax-error", mn.text + " takes a name and an expression: " + mn.text + " NAME, expr",
           mn);
    const Token &name = toks_[ops[0].first];
    unsigned r;
    if (isRegister(name.text, 'r', r) || isRegister(name.text, 'f', r))
      fail("bad-symbol", "'" + name.text + "' is a register name", name);
    if (symbols_.count(name.text) || labels_.count(name.text))
      fail("duplicate-symbol", "symbol '" + name.text + "' is already defined", name);
    if (ops[1].first == ops[1].second)
      fail("bad-expression", "expected a value", toks_[ops[1].first]);
    symbols_[name.text] = fullExpr(ops[1].first, ops[1].second);
    return;
  }
  if (mn.text[0] == '.')
    fail("unknown-directive", "unknown directive '" + mn.text + "' (known: .equ, .set)", mn);
  Opcode op;
  if (!opcodeFromMnemonic(mn.text, op)) {
    std::vector<std::string> names;
    for (Opcode o : allOpcodes())
      names.emplace_back(opcodeInfo(o).mnemonic);
    std::string guess = closestMatch(mn.text, names);
    std::optional<Diagnostic> note;
    if (!guess.empty())
      note = Diagnostic::note("did you mean '" + guess + "'?");
    fail("unknown-mnemonic", "unknown mnemonic '" + mn.text + "'", mn.col, note);
  }
  const OpcodeInfo &info = opcodeInfo(op);
  std::span<const OperandSpec> specs = operandSpecs(op);
  Instruction ins;
  ins.op = op;
  std::array<uint32_t, kNumFields + 1> fieldCol{};
  uint32_t flagCol = 0;
  std::vector<bool> seen(specs.size(), false);

  auto value = [&](const OperandSpec &s, size_t vb, size_t ve, uint32_t keyCol) {
    if (vb >= ve)
      fail("syntax-error", "missing value for '" + std::string(s.key) + "'", toks_[vb]);
    const Token &t = toks_[vb];
    fieldCol[unsigned(s.field)] = t.col;
    if (s.field2 != Field::Count)
      fieldCol[unsigned(s.field2)] = t.col;
    auto reg = [&](char prefix) -> uint32_t {
      unsigned r;
      if (ve != vb + 1 || t.kind != Tok::Ident || !isRegister(t.text, prefix, r))
        fail("bad-register",
             std::string("expected a register ") + prefix + "0.." + prefix + "15 for '" +
                 std::string(s.key) + "'",
             t);
      if (r > 15)
        fail("bad-register",
             "there is no register " + t.text + " (" + prefix + "0.." + prefix + "15)", t);
      return r;
    };
    auto range = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < lo || v > hi)
        fail("operand-out-of-range",
             "'" + std::string(s.key) + "' = " + std::to_string(v) + " is outside " +
                 std::to_string(lo) + ".." + std::to_string(hi),
             t);
      return v;
    };
    switch (s.kind) {
    case OperandKind::Reg:
      ins.set(s.field, reg('r'));
      break;
    case OperandKind::FReg:
      ins.set(s.field, reg('f'));
      break;
    case OperandKind::FlagFReg:
      ins.set(s.field, reg('f'));
      ins.flags |= s.bit;
      break;
    case OperandKind::RegImm: {
      unsigned r = 0;
      size_t eb = vb;
      if (t.kind == Tok::Ident && (isRegister(t.text, 'r', r) || isRegister(t.text, 'f', r))) {
        if (t.text[0] == 'f' || r > 15)
          fail("bad-register", "expected a base register r0..r15 for '" + std::string(s.key) + "'",
               t);
        eb = vb + 1;
        if (eb < ve &&
            !(toks_[eb].kind == Tok::Punct && (toks_[eb].text == "+" || toks_[eb].text == "-")))
          fail("syntax-error", "expected '+' or '-' after the base register", toks_[eb]);
      }
      ins.set(s.field, r);
      int64_t off = 0;
      if (eb < ve) {
        if (eb > vb) { // rN + expr / rN - expr
          bool neg = toks_[eb].text == "-";
          off = fullExpr(eb + 1, ve);
          if (neg)
            off = -off;
        } else {
          off = fullExpr(eb, ve);
        }
      }
      fieldCol[unsigned(s.field2)] = eb + 1 < ve && eb > vb ? toks_[eb + 1].col
                                     : eb < ve              ? toks_[eb].col
                                                            : t.col;
      ins.set(s.field2, uint32_t(range(off, 0, UINT32_MAX)));
      break;
    }
    case OperandKind::Uimm:
      ins.set(s.field, uint32_t(range(fullExpr(vb, ve), 0, UINT32_MAX)));
      break;
    case OperandKind::Simm:
      ins.set(s.field, uint32_t(range(fullExpr(vb, ve), INT32_MIN, INT32_MAX)));
      break;
    case OperandKind::Imm32:
      ins.set(s.field, uint32_t(range(fullExpr(vb, ve), INT32_MIN, UINT32_MAX)));
      break;
    case OperandKind::Target:
      ins.set(s.field, uint32_t(range(fullExpr(vb, ve), 0, UINT32_MAX)));
      break;
    case OperandKind::Float: {
      if (t.kind == Tok::Ident && t.text == "bits") {
        if (ve - vb < 3 || toks_[vb + 1].text != "(" || toks_[ve - 1].text != ")")
          fail("syntax-error", "expected bits(expr)", t);
        ins.set(s.field, uint32_t(range(fullExpr(vb + 2, ve - 1), 0, UINT32_MAX)));
        break;
      }
      size_t p = vb;
      std::string lit;
      if (toks_[p].kind == Tok::Punct && (toks_[p].text == "-" || toks_[p].text == "+"))
        lit = toks_[p++].text;
      if (p + 1 != ve || toks_[p].kind != Tok::Number)
        fail("bad-float", "expected an FP32 literal (1.5, -2e-3) or bits(expr)", t);
      lit += toks_[p].text;
      if (lit.find_first_of("xXbB") != std::string::npos)
        fail("bad-float", "FP32 literals are decimal; write raw bit patterns as bits(0x...)",
             toks_[p]);
      char *endp = nullptr;
      errno = 0;
      float f = std::strtof(lit.c_str(), &endp);
      if (endp != lit.c_str() + lit.size())
        fail("bad-float", "malformed FP32 literal '" + lit + "'", toks_[p]);
      if (std::isinf(f))
        fail("bad-float", "'" + lit + "' overflows FP32; write infinities as bits(0x7f800000)",
             toks_[p]);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      ins.set(s.field, bits);
      break;
    }
    case OperandKind::Format: {
      ElemFormat f;
      if (ve != vb + 1 || t.kind != Tok::Ident || !elemFormatFromName(t.text, f)) {
        std::string guess = closestMatch(t.text, elemFormatNames());
        std::optional<Diagnostic> note;
        if (!guess.empty())
          note = Diagnostic::note("did you mean '" + guess + "'?");
        fail("unknown-format", "unknown element format '" + t.text + "'", t.col, note);
      }
      ins.set(s.field, uint32_t(f));
      break;
    }
    case OperandKind::Pattern: {
      size_t colon = vb;
      while (colon < ve && toks_[colon].text != ":")
        ++colon;
      if (colon == ve)
        fail("syntax-error", "expected an N:M pattern such as 2:4", t);
      int64_t n = fullExpr(vb, colon), m = fullExpr(colon + 1, ve);
      uint32_t code;
      if (n < 1 || m < 1 || n > 64 || m > 64 || !nmPatternCode({unsigned(n), unsigned(m)}, code))
        fail("bad-pattern",
             "sparsity pattern " + std::to_string(n) + ":" + std::to_string(m) +
                 " is not encodable (2:4, 1:4, 2:8, 4:8)",
             t);
      ins.set(s.field, code);
      break;
    }
    case OperandKind::ZeroSkip: {
      static const char *kModes[] = {"off", "a", "b", "either"};
      uint32_t code = 4;
      for (uint32_t i = 0; i < 4; ++i)
        if (ve == vb + 1 && t.text == kModes[i])
          code = i;
      if (code == 4)
        fail("bad-value", "zero-skip mode must be off, a, b or either", t);
      ins.set(s.field, code);
      break;
    }
    case OperandKind::Flag:
      fail("syntax-error", "'" + std::string(s.key) + "' is a flag and takes no value", keyCol);
    }
  };

  auto ops = splitOperands(toks_, b + 1);
  if (positionalOperands(op)) {
    if (ops.size() != specs.size()) {
      std::string list;
      for (const OperandSpec &s : specs)
        list += (list.empty() ? "" : ", ") + std::string(s.key);
      fail("syntax-error",
           "'" + mn.text + "' takes " + std::to_string(specs.size()) + " operand" +
               (specs.size() == 1 ? "" : "s") + (list.empty() ? "" : " (" + list + ")") +
               ", found " + std::to_string(ops.size()),
           ops.size() > specs.size() ? toks_[ops[specs.size()].first] : toks_.back());
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].first == ops[i].second)
        fail("syntax-error", "empty operand", toks_[ops[i].first]);
      if (specs[i].kind == OperandKind::Target && toks_[ops[i].first].kind == Tok::Ident &&
          ops[i].second == ops[i].first + 1 && !labels_.count(toks_[ops[i].first].text) &&
          !symbols_.count(toks_[ops[i].first].text)) {
        std::vector<std::string> names;
        for (auto &[n, v] : labels_)
          names.push_back(n);
        std::string guess = closestMatch(toks_[ops[i].first].text, names);
        std::optional<Diagnostic> note;
        if (!guess.empty())
          note = Diagnostic::note("did you mean '" + guess + "'?");
        fail("undefined-symbol", "undefined label '" + toks_[ops[i].first].text + "'",
             toks_[ops[i].first].col, note);
      }
      value(specs[i], ops[i].first, ops[i].second, toks_[ops[i].first].col);
    }
  } else {
    const uint8_t allowed = allowedDeps(info.queue);
    for (auto [ob, oe] : ops) {
      const Token &k = toks_[ob];
      if (ob == oe)
        fail("syntax-error", "empty operand", k);
      if (k.kind != Tok::Ident)
        fail("syntax-error", "expected key=value or a flag, found '" + k.text + "'", k);
      bool keyed = oe > ob + 1 && toks_[ob + 1].text == "=";
      if (!keyed && oe != ob + 1)
        fail("syntax-error", "expected key=value or a flag after '" + k.text + "'", toks_[ob + 1]);
      // Dependence tokens.
      uint8_t depBit = 0;
      for (uint8_t bit = 1; bit < 16; bit <<= 1)
        if (k.text == depName(bit))
          depBit = bit;
      if (depBit && !keyed) {
        if (!(allowed & depBit))
          fail("bad-dependence",
               "'" + mn.text + "' is in the " + std::string(queueName(info.queue)) +
                   " queue, which has no " +
                   (depBit & (dep::PopPrev | dep::PushPrev) ? "previous" : "next") + " queue",
               k);
        if (ins.deps & depBit)
          fail("duplicate-operand", "'" + k.text + "' is given twice", k);
        ins.deps |= depBit;
        if (!flagCol)
          flagCol = k.col;
        continue;
      }
      size_t idx = specs.size();
      for (size_t i = 0; i < specs.size(); ++i)
        if (specs[i].key == k.text)
          idx = i;
      if (idx == specs.size()) {
        std::vector<std::string> names;
        for (const OperandSpec &s : specs)
          names.emplace_back(s.key);
        for (uint8_t bit = 1; bit < 16; bit <<= 1)
          if (allowed & bit)
            names.emplace_back(depName(bit));
        std::string guess = closestMatch(k.text, names);
        std::optional<Diagnostic> note;
        if (!guess.empty())
          note = Diagnostic::note("did you mean '" + guess + "'?");
        fail("unknown-operand", "'" + mn.text + "' has no operand '" + k.text + "'", k.col, note);
      }
      const OperandSpec &s = specs[idx];
      if (seen[idx])
        fail("duplicate-operand", "'" + k.text + "' is given twice", k);
      seen[idx] = true;
      if (s.kind == OperandKind::Flag) {
        if (keyed)
          fail("syntax-error", "'" + k.text + "' is a flag and takes no value", toks_[ob + 1]);
        ins.flags |= s.bit;
        if (!flagCol)
          flagCol = k.col;
        continue;
      }
      if (!keyed)
        fail("syntax-error", "'" + k.text + "' needs a value: " + k.text + "=...", k);
      value(s, ob + 2, oe, k.col);
    }
    for (size_t i = 0; i < specs.size(); ++i)
      if (!seen[i] && !specs[i].optional)
        fail("missing-operand",
             "'" + mn.text + "' needs operand '" + std::string(specs[i].key) + "'", mn);
  }

  // The verifier, located at the operand that causes each problem.
  std::vector<Issue> issues = checkInstruction(ins, cfg_);
  if (!issues.empty()) {
    const Issue &is = issues.front();
    uint32_t col = mn.col;
    if (is.field && fieldCol[unsigned(*is.field)])
      col = fieldCol[unsigned(*is.field)];
    else if (is.flagsField && flagCol)
      col = flagCol;
    fail(is.id, is.message, col);
  }
  out.code.push_back(ins);
  out.locs.push_back(SourceLoc{file_, line_, mn.col});
}

void Assembler::run(DiagnosticEngine &diags, AsmProgram &out) {
  // Split lines (\n, \r\n).
  size_t start = 0;
  while (start <= text_.size()) {
    size_t nl = text_.find('\n', start);
    std::string l(
        text_.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (!l.empty() && l.back() == '\r')
      l.pop_back();
    lines_.push_back(std::move(l));
    if (nl == std::string_view::npos)
      break;
    start = nl + 1;
  }
  // Pass 1: labels. A line is `label: ... label: [instruction | directive]`.
  std::vector<size_t> bodyStart(lines_.size(), 0);
  std::vector<bool> lineOk(lines_.size(), true);
  uint32_t index = 0;
  for (size_t i = 0; i < lines_.size(); ++i) {
    line_ = uint32_t(i + 1);
    try {
      lex(lines_[i]);
      size_t p = 0;
      while (toks_[p].kind == Tok::Ident && toks_[p + 1].text == ":") {
        const Token &name = toks_[p];
        unsigned r;
        if (isRegister(name.text, 'r', r) || isRegister(name.text, 'f', r))
          fail("bad-symbol", "'" + name.text + "' is a register name", name);
        if (name.text[0] == '.')
          fail("bad-symbol", "label names cannot start with '.'", name);
        if (labels_.count(name.text))
          fail("duplicate-symbol", "label '" + name.text + "' is already defined", name);
        labels_[name.text] = index;
        p += 2;
      }
      bodyStart[i] = p;
      if (toks_[p].kind == Tok::Ident && toks_[p].text[0] != '.')
        ++index;
    } catch (LineError &e) {
      diags.report(std::move(e.diag));
      lineOk[i] = false;
    }
  }
  // Pass 2.
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (!lineOk[i])
      continue;
    line_ = uint32_t(i + 1);
    lex(lines_[i]);
    if (toks_[bodyStart[i]].kind == Tok::End)
      continue;
    size_t before = out.code.size();
    try {
      assembleLine(bodyStart[i], out);
    } catch (LineError &e) {
      diags.report(std::move(e.diag));
      // Keep instruction indices (and so labels) stable for later lines.
      if (out.code.size() == before && toks_[bodyStart[i]].kind == Tok::Ident &&
          toks_[bodyStart[i]].text[0] != '.') {
        out.code.push_back(Instruction{});
        out.locs.push_back(SourceLoc{file_, line_, toks_[bodyStart[i]].col});
      }
    }
  }
  out.labels = labels_;
  if (diags.hasErrors())
    return;
  // Program-level checks: loop targets, halt.
  for (size_t i = 0; i < out.code.size(); ++i) {
    const Instruction &ins = out.code[i];
    if (ins.op == Opcode::Loop && ins.imm >= out.code.size()) {
      Diagnostic d = Diagnostic::error("bad-target",
                                       "loop target " + std::to_string(ins.imm) +
                                           " is past the last instruction (" +
                                           std::to_string(out.code.size() - 1) + ")",
                                       out.locs[i]);
      d.withSourceLine(lines_[out.locs[i].line - 1]);
      diags.report(std::move(d));
    }
  }
  bool halt = false;
  for (const Instruction &ins : out.code)
    halt |= ins.op == Opcode::Halt;
  if (!halt) {
    SourceLoc loc{file_, out.locs.empty() ? uint32_t(lines_.size()) : out.locs.back().line, 0};
    diags.report(Diagnostic::error("missing-halt", "the program has no halt", loc));
  }
}

//===----------------------------------------------------------------------===//
// Disassembler
//===----------------------------------------------------------------------===//

std::string floatText(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  if (!std::isfinite(f)) {
    char buf[32];
    snprintf(buf, sizeof buf, "bits(0x%08x)", bits);
    return buf;
  }
  for (int prec = 1; prec <= 9; ++prec) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.*g", prec, double(f));
    float back = std::strtof(buf, nullptr);
    uint32_t bb;
    std::memcpy(&bb, &back, 4);
    if (bb == bits) {
      std::string s = buf;
      // A literal must look like a number: keep it as is ("1", "1e-05", "-0").
      return s;
    }
  }
  char buf[32];
  snprintf(buf, sizeof buf, "bits(0x%08x)", bits);
  return buf;
}

} // namespace

Expected<AsmProgram> assemble(std::string_view text, const std::string &file, const TileConfig *cfg,
                              DiagnosticEngine *allDiags) {
  DiagnosticEngine local;
  DiagnosticEngine &diags = allDiags ? *allDiags : local;
  size_t before = diags.diagnostics().size();
  AsmProgram out;
  Assembler a(text, file, cfg);
  a.run(diags, out);
  for (size_t i = before; i < diags.diagnostics().size(); ++i)
    if (diags.diagnostics()[i].severity == Severity::Error)
      return diags.diagnostics()[i];
  return out;
}

std::string disassemble(const Instruction &ins, const std::map<uint32_t, std::string> *labels) {
  const OpcodeInfo &info = ins.info();
  std::string s(info.mnemonic);
  std::vector<std::string> parts;
  auto num = [](uint32_t v) { return std::to_string(v); };
  for (const OperandSpec &sp : operandSpecs(ins.op)) {
    std::string val;
    uint32_t v = sp.field != Field::Count ? ins.get(sp.field) : 0;
    switch (sp.kind) {
    case OperandKind::Reg:
      val = "r" + num(v);
      break;
    case OperandKind::FReg:
      val = "f" + num(v);
      break;
    case OperandKind::FlagFReg:
      if (!(ins.flags & sp.bit))
        continue;
      val = "f" + num(v);
      break;
    case OperandKind::RegImm: {
      uint32_t off = ins.get(sp.field2);
      val = v == 0 ? num(off) : "r" + num(v) + (off ? "+" + num(off) : "");
      break;
    }
    case OperandKind::Uimm:
      val = num(v);
      break;
    case OperandKind::Simm:
      val = std::to_string(int32_t(v));
      break;
    case OperandKind::Imm32: {
      char buf[16];
      snprintf(buf, sizeof buf, "0x%x", v);
      val = v <= 0xFFFF ? num(v) : buf;
      break;
    }
    case OperandKind::Float:
      val = floatText(v);
      break;
    case OperandKind::Target: {
      auto it = labels ? labels->find(v) : std::map<uint32_t, std::string>::const_iterator{};
      val = labels && it != labels->end() ? it->second : num(v);
      break;
    }
    case OperandKind::Format: {
      const ElemFormatInfo *f = elemFormatInfoForCode(v);
      val = f ? std::string(f->name) : "?" + num(v);
      break;
    }
    case OperandKind::Pattern:
      val = nmPatternForCode(v).str();
      break;
    case OperandKind::ZeroSkip: {
      static const char *kModes[] = {"off", "a", "b", "either"};
      val = kModes[v & 3];
      break;
    }
    case OperandKind::Flag:
      if (ins.flags & sp.bit)
        parts.emplace_back(sp.key);
      continue;
    }
    if (sp.optional && v == 0 && sp.kind != OperandKind::FlagFReg)
      continue;
    parts.push_back(positionalOperands(ins.op) ? val : std::string(sp.key) + "=" + val);
  }
  for (uint8_t bit = 1; bit < 16; bit <<= 1)
    if (ins.deps & bit)
      parts.emplace_back(depName(bit));
  for (size_t i = 0; i < parts.size(); ++i)
    s += (i ? ", " : " ") + parts[i];
  return s;
}

std::string disassembleProgram(std::span<const Instruction> program) {
  std::map<uint32_t, std::string> labels;
  for (const Instruction &ins : program)
    if (ins.op == Opcode::Loop && ins.imm < program.size())
      labels[ins.imm] = "L" + std::to_string(ins.imm);
  std::string out;
  for (size_t i = 0; i < program.size(); ++i) {
    auto it = labels.find(uint32_t(i));
    if (it != labels.end())
      out += it->second + ":\n";
    out += "  " + disassemble(program[i], &labels) + "\n";
  }
  return out;
}

} // namespace tessera::accel
