//===- Emit.cpp - hw IR to Verilog-2005 -----------------------------------===//
//
// One Verilog module per hw module, callees first. Within a module:
//
//   ports                 names kept (made legal and unique; keywords get a `_` suffix)
//   declarations          registers, sync read registers, memories, instance outputs
//   combinational values  `wire [w-1:0] name = expr;` in dependence order; constants are
//                         inlined as sized literals; named values keep their (legalized)
//                         name, unnamed ones are `_N` with N the value id
//   output assigns, instances (arrays as generate loops over packed port slices),
//   always blocks (registers, memory ports), one `initial` block of power-on values
//   and, last, `_unused`: a reduction over every bit nothing reads, so that
//   `verilator -Wall` has no UNUSED warning to give (Verilator exempts *unused* names).
//
// Every expression is written so that its Verilog value equals the hw semantics in all
// four-state simulators: division and remainder by zero are guarded to give 0, signed
// operations are wrapped in $unsigned($signed(a) op $signed(b)) so that no unsigned
// context leaks into them, and memory accesses are range-checked (out-of-range reads
// give 0, writes are dropped).
//
// Verilator folds constants through wires, across the (inlined) hierarchy and under
// `if` conditions before it lints, so the emitter first runs a known-bits constant
// propagation (per module, with the constant outputs of callees and the inputs every
// instance ties to the same constant, iterated to a fixed point) and writes every fully
// known value as a literal; see docs/verilog.md for the forms that keep Verilator from
// folding a division or a wide shift into something it rejects.
//
//===----------------------------------------------------------------------===//
#include "verilog/Verilog.h"

#include "hw/Semantics.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_set>

namespace tessera::verilog {

using hw::BitVec;
using hw::kNoValue;
using hw::Module;
using hw::Op;
using hw::OpKind;
using hw::ValueId;

namespace {

// Verilog-2005 and SystemVerilog-2017 keywords: Verilator reads .v files as
// SystemVerilog, so neither may be used as a plain identifier.
const std::unordered_set<std::string_view> &keywords() {
  // clang-format off
  static const std::unordered_set<std::string_view> kw = {
      "accept_on", "alias", "always", "always_comb", "always_ff", "always_latch", "and",
      "assert", "assign", "assume", "automatic", "before", "begin", "bind", "bins", "binsof",
      "bit", "break", "buf", "bufif0", "bufif1", "byte", "case", "casex", "casez", "cell",
      "chandle", "checker", "class", "clocking", "cmos", "config", "const", "constraint",
      "context", "continue", "cover", "covergroup", "coverpoint", "cross", "deassign", "default",
      "defparam", "design", "disable", "dist", "do", "edge", "else", "end", "endcase",
      "endchecker", "endclass", "endclocking", "endconfig", "endfunction", "endgenerate",
      "endgroup", "endinterface", "endmodule", "endpackage", "endprimitive", "endprogram",
      "endproperty", "endspecify", "endsequence", "endtable", "endtask", "enum", "event",
      "eventually", "expect", "export", "extends", "extern", "final", "first_match", "for",
      "force", "foreach", "forever", "fork", "forkjoin", "function", "generate", "genvar",
      "global", "highz0", "highz1", "if", "iff", "ifnone", "ignore_bins", "illegal_bins",
      "implements", "implies", "import", "incdir", "include", "initial", "inout", "input",
      "inside", "instance", "int", "integer", "interconnect", "interface", "intersect", "join",
      "join_any", "join_none", "large", "let", "liblist", "library", "local", "localparam",
      "logic", "longint", "macromodule", "matches", "medium", "modport", "module", "nand",
      "negedge", "nettype", "new", "nexttime", "nmos", "nor", "noshowcancelled", "not", "notif0",
      "notif1", "null", "or", "output", "package", "packed", "parameter", "pmos", "posedge",
      "primitive", "priority", "program", "property", "protected", "pull0", "pull1", "pulldown",
      "pullup", "pulsestyle_ondetect", "pulsestyle_onevent", "pure", "rand", "randc", "randcase",
      "randsequence", "rcmos", "real", "realtime", "ref", "reg", "reject_on", "release",
      "repeat", "restrict", "return", "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1",
      "s_always", "s_eventually", "s_nexttime", "s_until", "s_until_with", "scalared",
      "sequence", "shortint", "shortreal", "showcancelled", "signed", "small", "soft", "solve",
      "specify", "specparam", "static", "string", "strong", "strong0", "strong1", "struct",
      "super", "supply0", "supply1", "sync_accept_on", "sync_reject_on", "table", "tagged",
      "task", "this", "throughout", "time", "timeprecision", "timeunit", "tran", "tranif0",
      "tranif1", "tri", "tri0", "tri1", "triand", "trior", "trireg", "type", "typedef", "union",
      "unique", "unique0", "unsigned", "until", "until_with", "untyped", "use", "uwire", "var",
      "vectored", "virtual", "void", "wait", "wait_order", "wand", "weak", "weak0", "weak1",
      "while", "wildcard", "wire", "with", "within", "wor", "xnor", "xor"};
  // clang-format on
  return kw;
}

/// A legal Verilog identifier for `name`: characters outside [A-Za-z0-9_] become `_`, a
/// leading digit gets a `_` prefix, a keyword gets a `_` suffix.
std::string legalize(std::string_view name) {
  std::string s;
  s.reserve(name.size() + 1);
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    s.push_back(ok ? c : '_');
  }
  if (s.empty() || (s[0] >= '0' && s[0] <= '9'))
    s.insert(s.begin(), '_');
  if (keywords().count(s))
    s.push_back('_');
  return s;
}

/// Hands out unique identifiers within one Verilog scope.
class Namer {
public:
  std::string unique(std::string_view wanted) {
    std::string base = legalize(wanted);
    if (used_.insert(base).second)
      return base;
    for (uint32_t i = 1;; ++i) {
      std::string s = base + "_" + std::to_string(i);
      if (used_.insert(s).second)
        return s;
    }
  }

private:
  std::set<std::string> used_;
};

std::vector<std::string> portNamesOf(const Module &m) {
  Namer n;
  std::vector<std::string> names;
  for (const hw::Port &p : m.ports)
    names.push_back(n.unique(p.name));
  return names;
}

std::string range(uint32_t width) {
  return width == 1 ? std::string() : "[" + std::to_string(width - 1) + ":0] ";
}

/// A sized literal: 1'b0, 8'd200, 100'h...
std::string literal(const BitVec &v) {
  if (v.width() == 1)
    return v.bit(0) ? "1'b1" : "1'b0";
  if (auto u = v.toU64())
    return std::to_string(v.width()) + "'d" + std::to_string(*u);
  std::string hex = v.toHex();
  return std::to_string(v.width()) + "'h" + hex.substr(hex.find_first_not_of('0'));
}

std::string literal(uint32_t width, uint64_t value) { return literal(BitVec(width, value)); }

Diagnostic badIr(const Module &m, const std::string &what, const SourceLoc &loc) {
  return Diagnostic::error(
      "bad-ir", "module '" + m.name() + "': " + what + " (run the verifier for details)", loc);
}

/// Per module, per port: the known bits (mask, value) of each output (callees are emitted
/// first, so a caller sees its callees' constant outputs as Verilator does after inlining).
using KnownOutputs = std::map<const Module *, std::vector<std::pair<BitVec, BitVec>>>;

class ModuleEmitter {
public:
  ModuleEmitter(const hw::Design &d, const Module &m,
                const std::map<const Module *, std::string> &moduleNames,
                const std::map<const Module *, std::vector<std::string>> &portNames,
                KnownOutputs &knownOutputs)
      : d_(d), m_(m), moduleNames_(moduleNames), portNames_(portNames),
        knownOutputs_(knownOutputs) {}

  /// Checks the module and computes its constants (callees must be analyzed first).
  Status analyze();
  /// The module's Verilog (after analyze()).
  Expected<std::string> emit();
  void reserve(const std::string &name) { reserved_.insert(name); }
  /// Known bits (mask, value) of a value, after analyze().
  std::pair<BitVec, BitVec> known(ValueId v) const { return {knownMask_[v], knownVal_[v]}; }
  /// Sets what the callers connect to each input port (meet over every instance).
  void setInputKnown(std::vector<std::pair<BitVec, BitVec>> k) { inputKnown_ = std::move(k); }
  const std::vector<std::pair<BitVec, BitVec>> &inputKnown() const { return inputKnown_; }
  /// The value of `v` if every bit of it is a known constant.
  std::optional<BitVec> knownConstant(ValueId v) const {
    if (v >= constant_.size() || !constant_[v])
      return std::nullopt;
    return knownVal_[v];
  }

private:
  Status check();
  void assignNames();
  void prepareUses();
  Expected<std::vector<ValueId>> combinationalOrder();
  void propagateConstants(const std::vector<ValueId> &order);

  bool isCombinational(const Op &o) const {
    switch (o.kind) {
    case OpKind::Const:
    case OpKind::Input:
    case OpKind::Reg:
    case OpKind::MemWrite:
    case OpKind::InstOut:
    case OpKind::Output:
      return false;
    case OpKind::MemRead:
      return !o.memSync();
    default:
      return true;
    }
  }
  /// A constant without a name of its own: written as a literal wherever it is read.
  bool inlined(ValueId v) const { return constant_[v] && names_[v].empty(); }
  const BitVec &constValue(ValueId v) const { return knownVal_[v]; }

  // Expressions.
  // Every read of a value goes through use(), ref() or slice(), which record the bits
  // read; the bits never read end up in `_unused`.
  const std::string &use(ValueId v) const {
    std::fill(used_[v].begin(), used_[v].end(), true);
    return names_[v];
  }
  std::string ref(ValueId v) const { return inlined(v) ? literal(constValue(v)) : use(v); }
  std::string slice(ValueId v, uint32_t lo, uint32_t w) const {
    uint32_t width = m_.width(v);
    if (lo == 0 && w == width)
      return ref(v);
    if (inlined(v))
      return literal(constValue(v).extract(lo, w));
    std::fill(used_[v].begin() + lo, used_[v].begin() + lo + w, true);
    if (w == 1)
      return names_[v] + "[" + std::to_string(lo) + "]";
    return names_[v] + "[" + std::to_string(lo + w - 1) + ":" + std::to_string(lo) + "]";
  }
  std::string signedRef(ValueId v) const { return "$signed(" + ref(v) + ")"; }
  /// The value of an unsigned comparison that Verilog would flag as constant (`x >= 0`,
  /// `x > MAX`, ...: Verilator's UNSIGNED and CMPCONST warnings), or nullopt.
  std::optional<bool> constantCompare(const Op &o) const;
  /// A comparison the operands' known bits decide (their ranges do not overlap).
  std::optional<bool> compareByRange(const Op &o) const;
  bool fullyKnown(ValueId v) const { return constant_[v]; }
  std::string expr(ValueId v) const;
  std::string divExpr(const Op &o, const char *op, bool isSigned) const;
  std::string shiftExpr(const Op &o) const;
  /// Memory address `a` as an index of exactly the memory's address width.
  std::string memIndex(const hw::Memory &mem, ValueId a) const;
  /// The condition under which `a` addresses a word of `mem`; "" when always.
  std::string inRange(const hw::Memory &mem, ValueId a) const;
  std::string memReadExpr(const hw::Memory &mem, const std::string &memName, ValueId a) const;

  void emitInstance(std::ostringstream &os, uint32_t idx);
  void emitRegisters(std::ostringstream &os);
  void emitMemoryPorts(std::ostringstream &os);
  void emitInitial(std::ostringstream &os);
  void emitUnused(std::ostringstream &os);

  const hw::Design &d_;
  const Module &m_;
  const std::map<const Module *, std::string> &moduleNames_;
  const std::map<const Module *, std::vector<std::string>> &portNames_;

  Namer namer_;
  std::vector<std::string> names_; ///< per value
  /// A value named like the output port it drives takes the port's name: the port is
  /// declared `output reg` (registers) or assigned directly (everything else).
  std::vector<ValueId> portAlias_; ///< per port: the value that is the port, or kNoValue
  std::vector<bool> isAlias_;      ///< per value
  /// Per value: which bits are known constants (knownMask_) and their values. Verilator
  /// folds constants through wires before it lints, so a comparison against a value it
  /// can prove constant draws a warning; the emitter folds at least as much as it does.
  std::vector<BitVec> knownMask_, knownVal_;
  std::vector<bool> constant_; ///< every bit known
  std::vector<bool> needWire_; ///< constants that still need a name (edges, array inputs)
  mutable std::vector<std::vector<bool>> used_; ///< per value, per bit: read in the text
  std::vector<std::string> memNames_;
  std::vector<bool> memLive_; ///< has a read port (a memory nothing reads is not emitted)
  std::vector<std::string> instNames_;
  /// Per instance, per callee output port: the InstOut value, or kNoValue.
  std::vector<std::vector<ValueId>> instOuts_;
  std::vector<std::pair<std::string, uint32_t>> unusedOutputs_; ///< dummy wires
  std::string genvar_;
  KnownOutputs &knownOutputs_;
  std::vector<ValueId> order_;                        ///< combinational values in dependence order
  std::set<std::string> reserved_;                    ///< names of this module's instances
  std::vector<std::pair<BitVec, BitVec>> inputKnown_; ///< per port; empty: nothing known
};

Status ModuleEmitter::check() {
  size_t n = m_.ops.size();
  auto valid = [&](ValueId v) { return v < n && m_.ops[v].hasResult(); };
  for (size_t i = 0; i < n; ++i) {
    const Op &o = m_.ops[i];
    for (ValueId v : o.operands)
      if (!valid(v))
        return badIr(m_,
                     "op %" + std::to_string(i) + " (" + std::string(hw::mnemonic(o.kind)) +
                         ") has an undefined operand",
                     o.loc);
    if ((o.kind == OpKind::MemRead || o.kind == OpKind::MemWrite) && o.attr0 >= m_.memories.size())
      return badIr(m_, "op %" + std::to_string(i) + " names no memory", o.loc);
    if (o.kind == OpKind::InstOut) {
      if (o.attr0 >= m_.instances.size())
        return badIr(m_, "op %" + std::to_string(i) + " names no instance", o.loc);
    }
    if (o.kind == OpKind::Output && o.attr0 >= m_.ports.size())
      return badIr(m_, "op %" + std::to_string(i) + " names no port", o.loc);
  }
  for (size_t p = 0; p < m_.ports.size(); ++p)
    if (m_.ports[p].dir == hw::PortDir::Out && m_.outputOp(static_cast<uint32_t>(p)) == kNoValue)
      return badIr(m_, "output port '" + m_.ports[p].name + "' is not driven", m_.ports[p].loc);
  for (const hw::Instance &inst : m_.instances) {
    const Module *callee = d_.find(inst.module);
    if (!callee)
      return badIr(m_, "instance '" + inst.name + "' names unknown module '" + inst.module + "'",
                   inst.loc);
    if (inst.inputs.size() != callee->ports.size())
      return badIr(m_, "instance '" + inst.name + "' has the wrong number of ports", inst.loc);
    for (size_t p = 0; p < callee->ports.size(); ++p)
      if (callee->ports[p].dir == hw::PortDir::In && !valid(inst.inputs[p]))
        return badIr(m_,
                     "input '" + callee->ports[p].name + "' of instance '" + inst.name +
                         "' is not connected",
                     inst.loc);
  }
  for (const Op &o : m_.ops)
    if (o.kind == OpKind::InstOut) {
      const Module *callee = d_.find(m_.instances[o.attr0].module);
      if (o.attr1 >= callee->ports.size() || callee->ports[o.attr1].dir != hw::PortDir::Out)
        return badIr(m_, "an instance output names no output port", o.loc);
    }
  return Status::success();
}

void ModuleEmitter::assignNames() {
  size_t n = m_.ops.size();
  names_.assign(n, "");
  needWire_.assign(n, false);
  const std::vector<std::string> &ports = portNames_.at(&m_);
  for (const std::string &p : ports)
    namer_.unique(p);
  // Names of the instances of this module (Verilator's VARHIDDEN counts a signal named
  // like the instance that contains it as hiding it).
  for (const std::string &r : reserved_)
    namer_.unique(r);
  for (size_t i = 0; i < n; ++i)
    if (m_.ops[i].kind == OpKind::Input)
      names_[i] = ports[m_.ops[i].attr0];
  portAlias_.assign(m_.ports.size(), kNoValue);
  isAlias_.assign(n, false);
  for (const Op &o : m_.ops) {
    if (o.kind != OpKind::Output)
      continue;
    ValueId v = o.operands[0];
    const Op &d = m_.op(v);
    if (d.kind == OpKind::Input || constant_[v] || isAlias_[v] ||
        d.name != m_.ports[o.attr0].name || portAlias_[o.attr0] != kNoValue)
      continue;
    portAlias_[o.attr0] = v;
    isAlias_[v] = true;
    names_[v] = ports[o.attr0];
  }

  // Constants that need a name: clocks and async resets (edge events), instance array
  // inputs (sliced by the generate variable).
  auto needWire = [&](ValueId v) {
    if (constant_[v])
      needWire_[v] = true;
  };
  for (const Op &o : m_.ops) {
    if (o.kind == OpKind::Reg) {
      needWire(o.regClock());
      if (o.regHasReset() && o.regAsyncReset())
        needWire(o.regReset());
    } else if (o.kind == OpKind::MemRead && o.memSync()) {
      needWire(o.memClock());
    } else if (o.kind == OpKind::MemWrite) {
      needWire(o.operands[0]);
    }
  }
  for (const hw::Instance &inst : m_.instances)
    if (inst.count > 1)
      for (ValueId v : inst.inputs)
        if (v != kNoValue)
          needWire(v);

  // Named values first so that they keep their names, then memories and instances,
  // then the unnamed `_N`.
  for (size_t i = 0; i < n; ++i) {
    const Op &o = m_.ops[i];
    if (o.kind != OpKind::Input && o.hasResult() && !o.name.empty() && !isAlias_[i] &&
        (!constant_[i] || needWire_[i] || o.kind != OpKind::Const))
      names_[i] = namer_.unique(o.name);
  }
  for (const hw::Memory &mem : m_.memories)
    memNames_.push_back(namer_.unique(mem.name.empty() ? "mem" : mem.name));
  for (const hw::Instance &inst : m_.instances)
    instNames_.push_back(namer_.unique(inst.name.empty() ? "inst" : inst.name));
  for (size_t i = 0; i < n; ++i) {
    const Op &o = m_.ops[i];
    // Instance outputs always need a wire for the instance to drive.
    if (o.hasResult() && names_[i].empty() &&
        (!constant_[i] || needWire_[i] || o.kind == OpKind::InstOut))
      names_[i] = namer_.unique("_" + std::to_string(i));
  }
}

void ModuleEmitter::prepareUses() {
  size_t n = m_.ops.size();
  used_.assign(n, {});
  for (size_t i = 0; i < n; ++i)
    used_[i].assign(m_.ops[i].width, false);
  memLive_.assign(m_.memories.size(), false);
  // Live: some read port reads a word (a constant out-of-range address reads 0).
  for (const Op &o : m_.ops)
    if (o.kind == OpKind::MemRead) {
      ValueId a = o.memAddr();
      auto u = inlined(a) ? constValue(a).toU64() : std::optional<uint64_t>(0);
      if (u && *u < m_.memories[o.attr0].depth)
        memLive_[o.attr0] = true;
    }
}

Expected<std::vector<ValueId>> ModuleEmitter::combinationalOrder() {
  // Iterative depth-first post-order over combinational operands, roots in op order.
  size_t n = m_.ops.size();
  std::vector<uint8_t> state(n, 0); // 0 new, 1 on stack, 2 done
  std::vector<ValueId> order;
  std::vector<std::pair<ValueId, size_t>> stack;
  for (size_t root = 0; root < n; ++root) {
    if (!isCombinational(m_.ops[root]) || state[root])
      continue;
    stack.push_back({static_cast<ValueId>(root), 0});
    state[root] = 1;
    while (!stack.empty()) {
      auto &[v, next] = stack.back();
      const Op &o = m_.op(v);
      if (next < o.operands.size()) {
        ValueId u = o.operands[next++];
        if (!isCombinational(m_.op(u)) || state[u] == 2)
          continue;
        if (state[u] == 1)
          return Diagnostic::error("comb-cycle",
                                   "module '" + m_.name() +
                                       "': combinational cycle through value %" + std::to_string(u),
                                   m_.op(u).loc);
        state[u] = 1;
        stack.push_back({u, 0});
        continue;
      }
      state[v] = 2;
      order.push_back(v);
      stack.pop_back();
    }
  }
  return order;
}

std::string ModuleEmitter::divExpr(const Op &o, const char *op, bool isSigned) const {
  ValueId a = o.operands[0], b = o.operands[1];
  uint32_t w = o.width;
  // A constant divisor needs no guard, or is zero: the result is 0 (and reads nothing).
  if (inlined(b) && constValue(b).isZero())
    return literal(w, 0);
  bool isRem = op[0] == '%';
  // x / 1 and x % 1 are written as x and 0: Icarus Verilog 11 divides a 130-bit value by
  // the constant 1 as 0 (tests/diff batch seed 1015005).
  if (inlined(b) && constValue(b).eq(hw::BitVec(w, 1)))
    return isRem ? literal(w, 0) : ref(a);
  // Signed MIN / -1 overflows to MIN (and MIN % -1 is 0) in hw IR as in IEEE 1364, but
  // Verilator 5.006 computes 32- and 64-bit signed division with the host's division,
  // where that case is undefined (tests/diff batch seed 1009000 gave a wrong value). So -1
  // is handled apart: a / -1 = -a, a % -1 = 0.
  std::string negA = isRem ? literal(w, 0) : "(" + literal(w, 0) + " - " + ref(a) + ")";
  if (isSigned && w >= 2 && inlined(b) && constValue(b).isAllOnes())
    return negA;
  if (inlined(b))
    return isSigned ? "$unsigned(" + signedRef(a) + " " + op + " " + signedRef(b) + ")"
                    : ref(a) + " " + op + " " + ref(b);
  // (b == 0) ? 0 : a / b, with the divisor's low bit forced to 1 when it is zero: the
  // result is the same, and a simulator that folds a divisor it finds constant (Verilator
  // after inlining a module whose input is tied to 0) never divides by zero (x).
  std::string isZero = "(" + ref(b) + " == " + literal(w, 0) + ")";
  std::string safe = "(" + ref(b) + " | " +
                     (w == 1 ? isZero : "{" + literal(w - 1, 0) + ", " + isZero + "}") + ")";
  std::string core = isSigned ? "$unsigned(" + signedRef(a) + " " + op + " $signed(" + safe + "))"
                              : ref(a) + " " + op + " " + safe;
  if (isSigned && w >= 2)
    return isZero + " ? " + literal(w, 0) + " : (" + ref(b) + " == {" + std::to_string(w) +
           "{1'b1}}) ? " + negA + " : " + core;
  return isZero + " ? " + literal(w, 0) + " : " + core;
}

std::string ModuleEmitter::shiftExpr(const Op &o) const {
  ValueId a = o.operands[0], s = o.operands[1];
  uint32_t w = o.width, sw = m_.width(s);
  auto shift = [&](const std::string &amount) {
    if (o.kind == OpKind::ShrS)
      return "$unsigned(" + signedRef(a) + " >>> " + amount + ")";
    return ref(a) + (o.kind == OpKind::Shl ? " << " : " >> ") + amount;
  };
  // Verilator rejects shifts by a constant of 2^32 or more, so a constant amount is
  // written clamped to the width and an amount wider than 32 bits tests its high bits.
  if (inlined(s)) {
    uint64_t amount = std::min<uint64_t>(constValue(s).toU64().value_or(UINT64_MAX), w);
    return shift(literal(32, amount));
  }
  if (sw <= 32)
    return shift(ref(s));
  std::string big = "|" + slice(s, 32, sw - 32);
  std::string overflow = o.kind != OpKind::ShrS ? literal(w, 0)
                         : w == 1               ? ref(a)
                                  : "{" + std::to_string(w) + "{" + slice(a, w - 1, 1) + "}}";
  return "(" + big + ") ? " + overflow + " : " + shift(slice(s, 0, 32));
}

std::string ModuleEmitter::memIndex(const hw::Memory &mem, ValueId a) const {
  uint32_t aw = mem.addrWidth(), w = m_.width(a);
  if (inlined(a) || mem.depth == 1) // a single word: its index is 0 (inRange checks a == 0)
    return literal(mem.depth == 1 ? BitVec(aw, 0) : constValue(a).resize(aw));
  if (w == aw)
    return ref(a);
  if (w > aw)
    return slice(a, 0, aw);
  return "{" + literal(aw - w, 0) + ", " + ref(a) + "}";
}

std::string ModuleEmitter::inRange(const hw::Memory &mem, ValueId a) const {
  uint32_t w = m_.width(a);
  // Every address of `w` bits is in range when 2^w <= depth.
  if (w < 32 && (uint64_t(1) << w) <= mem.depth)
    return "";
  if (mem.depth == 1) // `a == 0`, not `a < 1`: Verilator flags the latter as constant
    return ref(a) + " == " + literal(w, 0); // when it knows the condition around it
  return ref(a) + " < " + literal(w, mem.depth);
}

std::string ModuleEmitter::memReadExpr(const hw::Memory &mem, const std::string &memName,
                                       ValueId a) const {
  if (inlined(a)) {
    const BitVec &av = constValue(a);
    auto u = av.toU64();
    if (!u || *u >= mem.depth)
      return literal(mem.width, 0);
    return memName + "[" + literal(mem.addrWidth(), *u) + "]";
  }
  std::string word = memName + "[" + memIndex(mem, a) + "]";
  std::string cond = inRange(mem, a);
  if (cond.empty())
    return word;
  return "(" + cond + ") ? " + word + " : " + literal(mem.width, 0);
}

std::optional<bool> ModuleEmitter::constantCompare(const Op &o) const {
  if (o.operands.size() != 2)
    return std::nullopt;
  auto isConst = [&](ValueId v, bool ones) {
    if (!constant_[v])
      return false;
    return ones ? knownVal_[v].isAllOnes() : knownVal_[v].isZero();
  };
  ValueId a = o.operands[0], b = o.operands[1];
  switch (o.kind) {
  case OpKind::LtU:
    if (isConst(b, false) || isConst(a, true))
      return false;
    break;
  case OpKind::GeU:
    if (isConst(b, false) || isConst(a, true))
      return true;
    break;
  case OpKind::GtU:
    if (isConst(a, false) || isConst(b, true))
      return false;
    break;
  case OpKind::LeU:
    if (isConst(a, false) || isConst(b, true))
      return true;
    break;
  default:
    break;
  }
  return std::nullopt;
}

std::optional<bool> ModuleEmitter::compareByRange(const Op &o) const {
  if (hw::opClass(o.kind) != hw::OpClass::Cmp || o.kind == OpKind::Eq || o.kind == OpKind::Ne)
    return std::nullopt;
  bool isSigned = o.kind == OpKind::LtS || o.kind == OpKind::LeS || o.kind == OpKind::GtS ||
                  o.kind == OpKind::GeS;
  // Each operand's range from its known bits; signed values are compared as offset
  // binary (sign bit flipped).
  auto bounds = [&](ValueId v) {
    BitVec mask = knownMask_[v], val = knownVal_[v];
    if (isSigned)
      val.setBit(val.width() - 1, !val.bit(val.width() - 1));
    return std::make_pair(val.bitAnd(mask), val.bitAnd(mask).bitOr(mask.bitNot()));
  };
  auto [aMin, aMax] = bounds(o.operands[0]);
  auto [bMin, bMax] = bounds(o.operands[1]);
  auto lt = [](const BitVec &x, const BitVec &y) { return x.ult(y); };
  switch (o.kind) {
  case OpKind::LtU:
  case OpKind::LtS:
    if (lt(aMax, bMin))
      return true;
    if (!lt(aMin, bMax))
      return false;
    break;
  case OpKind::LeU:
  case OpKind::LeS:
    if (!lt(bMin, aMax))
      return true;
    if (lt(bMax, aMin))
      return false;
    break;
  case OpKind::GtU:
  case OpKind::GtS:
    if (lt(bMax, aMin))
      return true;
    if (!lt(bMin, aMax))
      return false;
    break;
  case OpKind::GeU:
  case OpKind::GeS:
    if (!lt(aMin, bMax))
      return true;
    if (lt(aMax, bMin))
      return false;
    break;
  default:
    break;
  }
  return std::nullopt;
}

void ModuleEmitter::propagateConstants(const std::vector<ValueId> &order) {
  size_t n = m_.ops.size();
  knownMask_.assign(n, BitVec());
  knownVal_.assign(n, BitVec());
  constant_.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    const Op &o = m_.ops[i];
    if (!o.hasResult())
      continue;
    bool isConst = o.kind == OpKind::Const;
    knownMask_[i] = isConst ? BitVec::ones(o.width) : BitVec::zeros(o.width);
    knownVal_[i] = isConst ? o.value : BitVec::zeros(o.width);
    constant_[i] = isConst;
    if (o.kind == OpKind::Input && o.attr0 < inputKnown_.size() &&
        inputKnown_[o.attr0].first.width() == o.width) {
      // What every instance of this module connects to the port.
      knownMask_[i] = inputKnown_[o.attr0].first;
      knownVal_[i] = inputKnown_[o.attr0].second.bitAnd(knownMask_[i]);
      constant_[i] = knownMask_[i].isAllOnes();
    }
    if (o.kind == OpKind::InstOut) {
      // A callee output its own logic makes constant (the same for every element).
      const hw::Instance &inst = m_.instances[o.attr0];
      auto it = knownOutputs_.find(d_.find(inst.module));
      if (it == knownOutputs_.end() || o.attr1 >= it->second.size())
        continue;
      const auto &[km, kv] = it->second[o.attr1];
      if (km.width() * inst.count != o.width)
        continue;
      BitVec mask = km, val = kv;
      for (uint32_t c = 1; c < inst.count; ++c) {
        mask = mask.concat(km);
        val = val.concat(kv);
      }
      knownMask_[i] = mask;
      knownVal_[i] = val.bitAnd(mask);
      constant_[i] = mask.isAllOnes();
    }
  }
  auto full = [&](ValueId v) { return knownMask_[v].isAllOnes(); };
  // Structurally identical values share a canonical id (Verilator sees through wires and
  // folds x ^ x, x - x, x == x, ...).
  std::vector<ValueId> canon(n);
  for (size_t i = 0; i < n; ++i)
    canon[i] = static_cast<ValueId>(i);
  std::map<std::tuple<OpKind, uint32_t, uint32_t, uint32_t, std::vector<ValueId>>, ValueId> seen;
  for (ValueId v : order) {
    const Op &o = m_.op(v);
    if (o.kind == OpKind::MemRead)
      continue;
    std::vector<ValueId> ops;
    for (ValueId u : o.operands)
      ops.push_back(canon[u]);
    auto key = std::make_tuple(o.kind, o.width, o.attr0, o.attr1, ops);
    auto [it, fresh] = seen.emplace(key, v);
    if (!fresh)
      canon[v] = it->second;
  }
  for (ValueId v : order) {
    const Op &o = m_.op(v);
    uint32_t w = o.width;
    BitVec k = BitVec::zeros(w), val = BitVec::zeros(w);
    auto ka = [&](size_t i) -> const BitVec & { return knownMask_[o.operands[i]]; };
    auto va = [&](size_t i) -> const BitVec & { return knownVal_[o.operands[i]]; };
    bool allFull = std::all_of(o.operands.begin(), o.operands.end(), full);
    bool same = o.operands.size() == 2 && canon[o.operands[0]] == canon[o.operands[1]];
    auto knownZero = [&](size_t i) {
      return i < o.operands.size() && full(o.operands[i]) && knownVal_[o.operands[i]].isZero();
    };
    bool zeroDividend = (o.kind == OpKind::DivU || o.kind == OpKind::DivS ||
                         o.kind == OpKind::RemU || o.kind == OpKind::RemS) &&
                        (knownZero(0) || knownZero(1)); // 0 / b, a / 0 (= 0 in hw)
    if (auto c = constantCompare(o)) {
      k = BitVec::ones(1);
      val = BitVec(1, *c);
    } else if (auto c = compareByRange(o)) {
      k = BitVec::ones(1);
      val = BitVec(1, *c);
    } else if (same && (o.kind == OpKind::Xor || o.kind == OpKind::Sub)) {
      k = BitVec::ones(w); // x ^ x, x - x
    } else if (same && hw::opClass(o.kind) == hw::OpClass::Cmp) {
      bool eqv = o.kind == OpKind::Eq || o.kind == OpKind::LeU || o.kind == OpKind::LeS ||
                 o.kind == OpKind::GeU || o.kind == OpKind::GeS;
      k = BitVec::ones(1);
      val = BitVec(1, eqv);
    } else if (o.kind == OpKind::MemRead && full(o.memAddr()) &&
               knownVal_[o.memAddr()].toU64().value_or(UINT64_MAX) >= m_.memories[o.attr0].depth) {
      k = BitVec::ones(w); // an out-of-range read is 0
    } else if (zeroDividend) {
      k = BitVec::ones(w); // 0 / b and 0 % b are 0, b == 0 included
    } else if (allFull && o.kind != OpKind::MemRead) {
      std::vector<BitVec> args;
      for (ValueId u : o.operands)
        args.push_back(knownVal_[u]);
      val = hw::evaluate(o, args);
      k = BitVec::ones(w);
    } else {
      switch (o.kind) {
      case OpKind::Not:
        k = ka(0);
        val = va(0).bitNot().bitAnd(k);
        break;
      case OpKind::And: {
        BitVec zeroA = ka(0).bitAnd(va(0).bitNot()), zeroB = ka(1).bitAnd(va(1).bitNot());
        k = ka(0).bitAnd(ka(1)).bitOr(zeroA).bitOr(zeroB);
        val = va(0).bitAnd(va(1)).bitAnd(k);
        break;
      }
      case OpKind::Or: {
        BitVec oneA = ka(0).bitAnd(va(0)), oneB = ka(1).bitAnd(va(1));
        k = ka(0).bitAnd(ka(1)).bitOr(oneA).bitOr(oneB);
        val = va(0).bitOr(va(1)).bitAnd(k);
        break;
      }
      case OpKind::Xor:
        k = ka(0).bitAnd(ka(1));
        val = va(0).bitXor(va(1)).bitAnd(k);
        break;
      case OpKind::Mul:
        if ((full(o.operands[0]) && va(0).isZero()) || (full(o.operands[1]) && va(1).isZero()))
          k = BitVec::ones(w);
        break;
      case OpKind::Mux:
        if (full(o.operands[0])) {
          size_t pick = va(0).isZero() ? 2 : 1;
          k = ka(pick);
          val = va(pick);
        } else {
          k = ka(1).bitAnd(ka(2)).bitAnd(va(1).bitXor(va(2)).bitNot());
          val = va(1).bitAnd(k);
        }
        break;
      case OpKind::Concat: {
        BitVec km, vm;
        for (size_t i = 0; i < o.operands.size(); ++i) {
          km = i ? km.concat(ka(i)) : ka(i);
          vm = i ? vm.concat(va(i)) : va(i);
        }
        k = km;
        val = vm;
        break;
      }
      case OpKind::Extract:
        k = ka(0).extract(o.attr0, w);
        val = va(0).extract(o.attr0, w);
        break;
      case OpKind::ZExt: {
        uint32_t aw = m_.width(o.operands[0]);
        k = w > aw ? BitVec::ones(w - aw).concat(ka(0)) : ka(0);
        val = va(0).zext(w);
        break;
      }
      case OpKind::SExt:
        k = ka(0).sext(w);
        val = va(0).sext(w);
        break;
      case OpKind::Shl:
      case OpKind::ShrU:
      case OpKind::ShrS:
        if (full(o.operands[0]) &&
            (va(0).isZero() || (o.kind == OpKind::ShrS && va(0).isAllOnes()))) {
          k = BitVec::ones(w); // 0 shifted (or all ones, arithmetically) stays itself
          val = va(0);
        } else if (full(o.operands[1])) {
          uint64_t amount = va(1).toU64().value_or(UINT64_MAX);
          if (o.kind == OpKind::Shl) {
            k = ka(0).shl(amount).bitOr(BitVec::ones(w).lshr(w - std::min<uint64_t>(amount, w)));
            val = va(0).shl(amount);
          } else if (o.kind == OpKind::ShrU) {
            k = ka(0).lshr(amount).bitOr(BitVec::ones(w).shl(w - std::min<uint64_t>(amount, w)));
            val = va(0).lshr(amount);
          } else {
            k = ka(0).ashr(amount);
            val = va(0).ashr(amount).bitAnd(k);
          }
        }
        break;
      case OpKind::RedOr:
        if (!ka(0).bitAnd(va(0)).isZero()) {
          k = BitVec::ones(1);
          val = BitVec(1, 1);
        }
        break;
      case OpKind::RedAnd:
        if (!ka(0).bitAnd(va(0).bitNot()).isZero())
          k = BitVec::ones(1); // a known 0 bit
        break;
      case OpKind::Eq:
      case OpKind::Ne:
        // Known bits that differ decide it.
        if (!ka(0).bitAnd(ka(1)).bitAnd(va(0).bitXor(va(1))).isZero()) {
          k = BitVec::ones(1);
          val = BitVec(1, o.kind == OpKind::Ne);
        }
        break;
      default:
        break;
      }
    }
    knownMask_[v] = k;
    knownVal_[v] = val.bitAnd(k);
    constant_[v] = k.isAllOnes();
  }
  std::vector<std::pair<BitVec, BitVec>> &outs = knownOutputs_[&m_];
  outs.assign(m_.ports.size(), {});
  for (const Op &o : m_.ops)
    if (o.kind == OpKind::Output)
      outs[o.attr0] = {knownMask_[o.operands[0]], knownVal_[o.operands[0]]};
}

std::string ModuleEmitter::expr(ValueId v) const {
  const Op &o = m_.op(v);
  if (constant_[v])
    return literal(constValue(v));
  auto bin = [&](const char *op) {
    return ref(o.operands[0]) + " " + op + " " + ref(o.operands[1]);
  };
  auto sbin = [&](const char *op) {
    return signedRef(o.operands[0]) + " " + op + " " + signedRef(o.operands[1]);
  };
  switch (o.kind) {
  case OpKind::Add:
    return bin("+");
  case OpKind::Sub:
    return bin("-");
  case OpKind::Mul:
    return bin("*");
  case OpKind::DivU:
    return divExpr(o, "/", false);
  case OpKind::DivS:
    return divExpr(o, "/", true);
  case OpKind::RemU:
    return divExpr(o, "%", false);
  case OpKind::RemS:
    return divExpr(o, "%", true);
  case OpKind::And:
    return bin("&");
  case OpKind::Or:
    return bin("|");
  case OpKind::Xor:
    return bin("^");
  case OpKind::Not:
    return "~" + ref(o.operands[0]);
  // Verilog shifts by an unsigned amount of any width and gives 0 (>>> of a signed value:
  // sign bits) for amounts >= the width, as hw does.
  case OpKind::Shl:
  case OpKind::ShrU:
  case OpKind::ShrS:
    return shiftExpr(o);
  case OpKind::Eq:
    return bin("==");
  case OpKind::Ne:
    return bin("!=");
  case OpKind::LtU:
    return bin("<");
  case OpKind::LeU:
    return bin("<=");
  case OpKind::GtU:
    return bin(">");
  case OpKind::GeU:
    return bin(">=");
  case OpKind::LtS:
    return sbin("<");
  case OpKind::LeS:
    return sbin("<=");
  case OpKind::GtS:
    return sbin(">");
  case OpKind::GeS:
    return sbin(">=");
  case OpKind::Mux:
    return ref(o.operands[0]) + " ? " + ref(o.operands[1]) + " : " + ref(o.operands[2]);
  case OpKind::Concat: {
    // Runs of one operand become replications: {4{clk}}, {{3{a}}, b}.
    std::vector<std::string> parts;
    for (size_t i = 0; i < o.operands.size();) {
      size_t j = i;
      while (j < o.operands.size() && o.operands[j] == o.operands[i])
        ++j;
      std::string x = ref(o.operands[i]);
      parts.push_back(j - i == 1 ? x : "{" + std::to_string(j - i) + "{" + x + "}}");
      i = j;
    }
    if (parts.size() == 1 && o.operands.size() > 1)
      return parts[0];
    std::string s = "{";
    for (size_t i = 0; i < parts.size(); ++i)
      s += (i ? ", " : "") + parts[i];
    return s + "}";
  }
  case OpKind::Extract:
    return slice(o.operands[0], o.attr0, o.width);
  case OpKind::ZExt: {
    uint32_t w = m_.width(o.operands[0]);
    return "{" + literal(o.width - w, 0) + ", " + ref(o.operands[0]) + "}";
  }
  case OpKind::SExt: {
    ValueId a = o.operands[0];
    uint32_t w = m_.width(a);
    if (w == 1)
      return "{" + std::to_string(o.width) + "{" + ref(a) + "}}";
    std::string sign = slice(a, w - 1, 1);
    uint32_t k = o.width - w;
    std::string fill = k == 1 ? sign : "{" + std::to_string(k) + "{" + sign + "}}";
    return "{" + fill + ", " + ref(a) + "}";
  }
  case OpKind::RedAnd:
    return "&" + ref(o.operands[0]);
  case OpKind::RedOr:
    return "|" + ref(o.operands[0]);
  case OpKind::RedXor:
    return "^" + ref(o.operands[0]);
  case OpKind::MemRead:
    return memReadExpr(m_.memories[o.attr0], memNames_[o.attr0], o.memAddr());
  default:
    assert(false && "not a combinational op");
    return "";
  }
}

void ModuleEmitter::emitInstance(std::ostringstream &os, uint32_t idx) {
  const hw::Instance &inst = m_.instances[idx];
  const Module *callee = d_.find(inst.module);
  const std::vector<std::string> &cports = portNames_.at(callee);
  const std::string &calleeName = moduleNames_.at(callee);
  bool array = inst.count > 1;
  std::string ind = array ? "        " : "    ";
  std::vector<std::string> conns;
  for (size_t p = 0; p < callee->ports.size(); ++p) {
    uint32_t w = callee->ports[p].width;
    std::string sig;
    ValueId v = kNoValue;
    if (callee->ports[p].dir == hw::PortDir::In) {
      v = inst.inputs[p];
    } else {
      v = instOuts_[idx][p];
      if (v == kNoValue) {
        // An output nothing reads still gets a wire (verilator -Wall warns about empty
        // pin connections); the name marks it unused for Verilator.
        std::string dummy = namer_.unique("_unused_" + instNames_[idx] + "_" + cports[p]);
        unusedOutputs_.push_back({dummy, w * inst.count});
        sig = dummy;
        if (array)
          sig += w == 1
                     ? "[" + genvar_ + "]"
                     : "[" + genvar_ + "*" + std::to_string(w) + " +: " + std::to_string(w) + "]";
        conns.push_back(ind + "." + cports[p] + "(" + sig + ")");
        continue;
      }
    }
    // Outputs are driven here, not read: they do not count as uses.
    bool isInput = callee->ports[p].dir == hw::PortDir::In;
    std::string name = isInput && !inlined(v) ? use(v) : names_[v];
    if (!array)
      sig = isInput ? ref(v) : name;
    else if (w == 1)
      sig = name + "[" + genvar_ + "]";
    else
      sig = name + "[" + genvar_ + "*" + std::to_string(w) + " +: " + std::to_string(w) + "]";
    conns.push_back(ind + "." + cports[p] + "(" + sig + ")");
  }
  if (!array) {
    os << "  " << calleeName << " " << instNames_[idx] << " (\n";
  } else {
    os << "  generate\n"
       << "    for (" << genvar_ << " = 0; " << genvar_ << " < " << inst.count << "; " << genvar_
       << " = " << genvar_ << " + 1) begin : " << instNames_[idx] << "\n"
       << "      " << calleeName << " u (\n";
  }
  for (size_t i = 0; i < conns.size(); ++i)
    os << conns[i] << (i + 1 < conns.size() ? ",\n" : "\n");
  if (!array) {
    os << "  );\n";
  } else {
    os << "      );\n"
       << "    end\n"
       << "  endgenerate\n";
  }
}

void ModuleEmitter::emitRegisters(std::ostringstream &os) {
  // One always block per (clock, async reset) pair, registers in op order.
  struct Group {
    ValueId clock, asyncReset;
    std::vector<ValueId> regs;
  };
  std::vector<Group> groups;
  for (size_t i = 0; i < m_.ops.size(); ++i) {
    const Op &o = m_.ops[i];
    if (o.kind != OpKind::Reg)
      continue;
    ValueId ar = o.regHasReset() && o.regAsyncReset() ? o.regReset() : kNoValue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group &g) {
      return g.clock == o.regClock() && g.asyncReset == ar;
    });
    if (it == groups.end()) {
      groups.push_back({o.regClock(), ar, {}});
      it = groups.end() - 1;
    }
    it->regs.push_back(static_cast<ValueId>(i));
  }
  // The update of register `r` without its async reset: sync reset, enable, next.
  auto update = [&](ValueId r, const std::string &ind) {
    const Op &o = m_.op(r);
    std::string s;
    std::string assignNext = names_[r] + " <= " + ref(o.regNext()) + ";\n";
    if (o.regHasReset() && !o.regAsyncReset()) {
      s += ind + "if (" + ref(o.regReset()) + ") " + names_[r] + " <= " + literal(o.value) + ";\n";
      s +=
          ind + (o.regHasEnable() ? "else if (" + ref(o.regEnable()) + ") " : "else ") + assignNext;
    } else if (o.regHasEnable()) {
      s += ind + "if (" + ref(o.regEnable()) + ") " + assignNext;
    } else {
      s += ind + assignNext;
    }
    return s;
  };
  for (const Group &g : groups) {
    if (g.asyncReset == kNoValue) {
      os << "  always @(posedge " << use(g.clock) << ") begin\n";
      for (ValueId r : g.regs)
        os << update(r, "    ");
      os << "  end\n";
      continue;
    }
    os << "  always @(posedge " << use(g.clock) << " or posedge " << use(g.asyncReset)
       << ") begin\n";
    if (g.regs.size() == 1) {
      ValueId r = g.regs[0];
      const Op &o = m_.op(r);
      os << "    if (" << names_[g.asyncReset] << ") " << names_[r] << " <= " << literal(o.value)
         << ";\n";
      std::string rest = update(r, "    ");
      os << "    else " << rest.substr(4);
    } else {
      os << "    if (" << names_[g.asyncReset] << ") begin\n";
      for (ValueId r : g.regs)
        os << "      " << names_[r] << " <= " << literal(m_.op(r).value) << ";\n";
      os << "    end else begin\n";
      for (ValueId r : g.regs)
        os << update(r, "      ");
      os << "    end\n";
    }
    os << "  end\n";
  }
}

void ModuleEmitter::emitMemoryPorts(std::ostringstream &os) {
  // Per memory and clock, one always block: sync reads first, then writes in op order
  // (nonblocking, so reads see the old word and a later write port wins).
  for (uint32_t mi = 0; mi < m_.memories.size(); ++mi) {
    if (!memLive_[mi])
      continue;
    const hw::Memory &mem = m_.memories[mi];
    std::vector<ValueId> clocks;
    for (const Op &o : m_.ops) {
      ValueId c = kNoValue;
      if (o.kind == OpKind::MemRead && o.attr0 == mi && o.memSync())
        c = o.memClock();
      else if (o.kind == OpKind::MemWrite && o.attr0 == mi)
        c = o.operands[0];
      if (c != kNoValue && std::find(clocks.begin(), clocks.end(), c) == clocks.end())
        clocks.push_back(c);
    }
    for (ValueId clk : clocks) {
      os << "  always @(posedge " << use(clk) << ") begin\n";
      for (size_t i = 0; i < m_.ops.size(); ++i) {
        const Op &o = m_.ops[i];
        if (o.kind == OpKind::MemRead && o.attr0 == mi && o.memSync() && o.memClock() == clk) {
          os << "    ";
          if (o.memEnable() != kNoValue)
            os << "if (" << ref(o.memEnable()) << ") ";
          if (o.memEnable() == o.memAddr()) {
            // Enabled only when the 1-bit address is 1 (Verilator would flag the range
            // check as constant under the enable).
            os << names_[i] << " <= "
               << (mem.depth > 1 ? memNames_[mi] + "[" + literal(mem.addrWidth(), 1) + "]"
                                 : literal(mem.width, 0))
               << ";\n";
            continue;
          }
          os << names_[i] << " <= " << memReadExpr(mem, memNames_[mi], o.memAddr()) << ";\n";
        }
      }
      for (const Op &o : m_.ops) {
        if (o.kind != OpKind::MemWrite || o.attr0 != mi || o.operands[0] != clk)
          continue;
        ValueId addr = o.operands[1], data = o.operands[2], en = o.operands[3];
        if (inlined(en) && constValue(en).isZero())
          continue; // never writes
        std::string target;
        if (inlined(addr)) {
          auto u = constValue(addr).toU64();
          if (!u || *u >= mem.depth)
            continue; // out-of-range writes are dropped
        }
        std::string cond = inlined(en) ? "" : ref(en);
        if (inlined(addr)) {
          auto u = constValue(addr).toU64();
          target = memNames_[mi] + "[" + literal(mem.addrWidth(), *u) + "]";
        } else {
          target = memNames_[mi] + "[" + memIndex(mem, addr) + "]";
          std::string r = inRange(mem, addr);
          if (!r.empty())
            cond += (cond.empty() ? "" : " && ") + r;
        }
        os << "    " << (cond.empty() ? "" : "if (" + cond + ") ") << target << " <= " << ref(data)
           << ";\n";
      }
      os << "  end\n";
    }
  }
}

void ModuleEmitter::emitInitial(std::ostringstream &os) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < m_.ops.size(); ++i) {
    const Op &o = m_.ops[i];
    if (o.kind == OpKind::Reg) {
      BitVec init = o.init.width() == o.width ? o.init : BitVec::zeros(o.width);
      lines.push_back(names_[i] + " = " + literal(init) + ";");
    } else if (o.kind == OpKind::MemRead && o.memSync()) {
      lines.push_back(names_[i] + " = " + literal(o.width, 0) + ";");
    }
  }
  std::string loopVar;
  for (uint32_t mi = 0; mi < m_.memories.size(); ++mi) {
    if (!memLive_[mi])
      continue;
    const hw::Memory &mem = m_.memories[mi];
    bool allZero =
        mem.init.size() != mem.depth ||
        std::all_of(mem.init.begin(), mem.init.end(), [](const BitVec &w) { return w.isZero(); });
    if (allZero) {
      if (loopVar.empty())
        loopVar = namer_.unique("i");
      lines.push_back("for (" + loopVar + " = 0; " + loopVar + " < " + std::to_string(mem.depth) +
                      "; " + loopVar + " = " + loopVar + " + 1) " + memNames_[mi] + "[" + loopVar +
                      "] = " + literal(mem.width, 0) + ";");
      continue;
    }
    for (uint32_t a = 0; a < mem.depth; ++a)
      lines.push_back(memNames_[mi] + "[" + std::to_string(a) +
                      "] = " + literal(mem.init[a].resize(mem.width)) + ";");
  }
  if (lines.empty())
    return;
  os << "\n  // Power-on values (hw IR is two-state: nothing starts as x).\n";
  if (!loopVar.empty())
    os << "  integer " << loopVar << ";\n";
  os << "  initial begin\n";
  for (const std::string &l : lines)
    os << "    " << l << "\n";
  os << "  end\n";
}

void ModuleEmitter::emitUnused(std::ostringstream &os) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < m_.ops.size(); ++i) {
    if (names_[i].empty() || !m_.ops[i].hasResult())
      continue;
    const std::vector<bool> &u = used_[i];
    uint32_t w = m_.ops[i].width;
    // Unused runs, most significant first (the order a reader expects in a concat).
    std::vector<std::string> runs;
    uint32_t b = 0;
    while (b < w) {
      if (u[b]) {
        ++b;
        continue;
      }
      uint32_t lo = b;
      while (b < w && !u[b])
        ++b;
      runs.push_back(slice(static_cast<ValueId>(i), lo, b - lo));
    }
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
      parts.push_back(*it);
  }
  if (parts.empty())
    return;
  std::string name = namer_.unique("_unused");
  os << "\n  // Bits nothing reads, gathered so that verilator -Wall has no UNUSED warning.\n";
  std::string line = "  wire " + name + " = &{1'b0";
  for (const std::string &p : parts) {
    if (line.size() + p.size() + 2 > 96) {
      os << line << ",\n";
      line = "    " + p;
    } else {
      line += ", " + p;
    }
  }
  os << line << "};\n";
}

Status ModuleEmitter::analyze() {
  TRY(check());
  TRY_ASSIGN(order_, combinationalOrder());
  propagateConstants(order_);
  return Status::success();
}

Expected<std::string> ModuleEmitter::emit() {
  const std::vector<ValueId> &order = order_;
  assignNames();
  prepareUses();

  instOuts_.assign(m_.instances.size(), {});
  for (size_t i = 0; i < m_.instances.size(); ++i)
    instOuts_[i].assign(d_.find(m_.instances[i].module)->ports.size(), kNoValue);
  for (size_t i = 0; i < m_.ops.size(); ++i)
    if (m_.ops[i].kind == OpKind::InstOut)
      instOuts_[m_.ops[i].attr0][m_.ops[i].attr1] = static_cast<ValueId>(i);

  std::ostringstream body;
  // Declarations of values assigned in always blocks or by instances.
  bool any = false;
  for (size_t i = 0; i < m_.ops.size(); ++i) {
    const Op &o = m_.ops[i];
    const char *kind = nullptr;
    if (o.kind == OpKind::Reg || (o.kind == OpKind::MemRead && o.memSync()))
      kind = "reg";
    else if (o.kind == OpKind::InstOut)
      kind = "wire";
    if (!kind || isAlias_[i])
      continue;
    body << "  " << kind << " " << range(o.width) << names_[i] << ";\n";
    any = true;
  }
  for (size_t mi = 0; mi < m_.memories.size(); ++mi) {
    if (!memLive_[mi])
      continue;
    const hw::Memory &mem = m_.memories[mi];
    body << "  reg " << range(mem.width) << memNames_[mi] << " [0:" << mem.depth - 1 << "];\n";
    any = true;
  }
  for (size_t i = 0; i < m_.ops.size(); ++i)
    if (m_.ops[i].kind == OpKind::Const && !names_[i].empty()) {
      body << "  wire " << range(m_.ops[i].width) << names_[i] << " = " << literal(m_.ops[i].value)
           << ";\n";
      any = true;
    }
  if (any && !order.empty())
    body << "\n";
  for (ValueId v : order) {
    if (inlined(v))
      continue;
    if (isAlias_[v])
      body << "  assign " << names_[v] << " = " << expr(v) << ";\n";
    else
      body << "  wire " << range(m_.width(v)) << names_[v] << " = " << expr(v) << ";\n";
  }

  // Outputs.
  bool firstOut = true;
  const std::vector<std::string> &ports = portNames_.at(&m_);
  for (const Op &o : m_.ops)
    if (o.kind == OpKind::Output && portAlias_[o.attr0] == kNoValue) {
      if (firstOut && (any || !order.empty()))
        body << "\n";
      firstOut = false;
      body << "  assign " << ports[o.attr0] << " = " << ref(o.operands[0]) << ";\n";
    }

  // Instances.
  bool hasArray = std::any_of(m_.instances.begin(), m_.instances.end(),
                              [](const hw::Instance &i) { return i.count > 1; });
  std::ostringstream insts;
  if (hasArray) {
    genvar_ = namer_.unique("gi");
    insts << "\n  genvar " << genvar_ << ";\n";
  }
  for (uint32_t i = 0; i < m_.instances.size(); ++i) {
    insts << "\n";
    emitInstance(insts, i);
  }

  std::ostringstream seq;
  emitRegisters(seq);
  emitMemoryPorts(seq);

  std::ostringstream tail;
  emitInitial(tail);
  emitUnused(tail);

  // Header.
  std::ostringstream os;
  os << "module " << moduleNames_.at(&m_);
  if (m_.ports.empty()) {
    os << ";\n";
  } else {
    os << " (\n";
    for (size_t p = 0; p < m_.ports.size(); ++p) {
      const hw::Port &port = m_.ports[p];
      ValueId alias = portAlias_[p];
      bool isReg =
          alias != kNoValue && (m_.op(alias).kind == OpKind::Reg ||
                                (m_.op(alias).kind == OpKind::MemRead && m_.op(alias).memSync()));
      os << "  " << (port.dir == hw::PortDir::In ? "input" : "output")
         << (isReg ? " reg " : " wire ") << range(port.width) << ports[p]
         << (p + 1 < m_.ports.size() ? ",\n" : "\n");
    }
    os << ");\n";
  }
  // Dummy wires for instance outputs nothing reads (known only after the instances).
  std::string bodyText = body.str();
  for (const auto &[name, width] : unusedOutputs_)
    os << "  wire " << range(width) << name << ";\n";
  os << bodyText << insts.str();
  std::string seqText = seq.str();
  if (!seqText.empty())
    os << "\n" << seqText;
  os << tail.str() << "endmodule\n";
  return os.str();
}

} // namespace

std::vector<std::string> verilogPortNames(const hw::Module &m) { return portNamesOf(m); }

Expected<std::string> emitVerilog(const hw::Design &d, const EmitOptions &opts) {
  std::vector<const Module *> order = d.postOrder();
  if (order.empty())
    return Diagnostic::error("bad-ir", "the design has no modules");
  std::map<const Module *, std::string> moduleNames;
  std::map<const Module *, std::vector<std::string>> portNames;
  Namer modNamer;
  for (const Module *m : order) {
    moduleNames[m] = modNamer.unique(m->name());
    portNames[m] = portNamesOf(*m);
  }
  KnownOutputs knownOutputs;
  std::vector<std::unique_ptr<ModuleEmitter>> emitters;
  std::map<const Module *, const ModuleEmitter *> byModule;
  for (const Module *m : order) {
    emitters.push_back(
        std::make_unique<ModuleEmitter>(d, *m, moduleNames, portNames, knownOutputs));
    TRY(emitters.back()->analyze());
    byModule[m] = emitters.back().get();
  }
  // Constants cross the hierarchy both ways once Verilator inlines it: callee outputs
  // (knownOutputs, bottom-up) and what every instance ties an input to (top-down, the
  // meet over all instances and array elements). Iterate to a fixed point: knowledge only
  // grows, so a few rounds suffice; stop after 8 regardless.
  for (int round = 0; round < 8; ++round) {
    std::map<const Module *, std::vector<std::pair<BitVec, BitVec>>> inputs;
    std::set<const Module *> seen;
    for (const Module *m : order)
      for (const hw::Instance &inst : m->instances) {
        const Module *callee = d.find(inst.module);
        if (!callee || !byModule.count(callee))
          continue;
        std::vector<std::pair<BitVec, BitVec>> &in = inputs[callee];
        bool first = seen.insert(callee).second;
        if (first)
          in.assign(callee->ports.size(), {});
        for (size_t p = 0; p < callee->ports.size(); ++p) {
          uint32_t w = callee->ports[p].width;
          if (callee->ports[p].dir != hw::PortDir::In || inst.inputs[p] == kNoValue)
            continue;
          auto [km, kv] = byModule[m]->known(inst.inputs[p]);
          for (uint32_t c = 0; c < inst.count; ++c) {
            BitVec em = km.extract(c * w, w), ev = kv.extract(c * w, w);
            auto &cur = in[p];
            if (first && c == 0) {
              cur = {em, ev};
              continue;
            }
            // Meet: known in both with the same value.
            BitVec agree = em.bitAnd(cur.first).bitAnd(ev.bitXor(cur.second).bitNot());
            cur = {agree, ev.bitAnd(agree)};
          }
        }
      }
    bool changed = false;
    for (size_t i = 0; i < order.size(); ++i) {
      auto it = inputs.find(order[i]);
      std::vector<std::pair<BitVec, BitVec>> k =
          it == inputs.end() ? std::vector<std::pair<BitVec, BitVec>>{} : it->second;
      for (auto &e : k)
        if (e.first.width() && e.first.isZero())
          e = {};
      if (k != emitters[i]->inputKnown()) {
        changed = true;
        emitters[i]->setInputKnown(k);
      }
    }
    if (!changed)
      break;
    for (auto &e : emitters)
      TRY(e->analyze());
  }
  bool asyncResets = false;
  for (const Module *m : order)
    for (const Op &o : m->ops)
      asyncResets = asyncResets || (o.kind == OpKind::Reg && o.regHasReset() && o.regAsyncReset());
  std::ostringstream os;
  std::istringstream header(opts.header);
  for (std::string line; std::getline(header, line);)
    os << "// " << line << "\n";
  os << "// Several modules share this file, so not every module name can match the file "
        "name.\n"
     << "/* verilator lint_off DECLFILENAME */\n";
  if (asyncResets)
    os << "// A net that is an asynchronous reset may also be read by clocked logic (a sync\n"
          "// reset, an enable, data): a choice of the design, which Verilator's SYNCASYNCNET\n"
          "// reports wherever it sees it once the hierarchy is flattened.\n"
       << "/* verilator lint_off SYNCASYNCNET */\n";
  os << "`default_nettype none\n";
  for (const Module *m : order)
    for (const hw::Instance &inst : m->instances)
      if (const Module *callee = d.find(inst.module); callee && byModule.count(callee)) {
        ModuleEmitter *e = const_cast<ModuleEmitter *>(byModule[callee]);
        e->reserve(legalize(inst.name.empty() ? "inst" : inst.name));
        if (inst.count > 1)
          e->reserve("u");
      }
  for (size_t i = 0; i < order.size(); ++i) {
    TRY_ASSIGN(std::string text, emitters[i]->emit());
    os << "\n" << text;
  }
  os << "\n`default_nettype wire\n";
  return os.str();
}

} // namespace tessera::verilog
