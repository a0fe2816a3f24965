//===- IR.h - the hardware IR: designs, modules, ops ----------------------===//
//
// hw IR is word-level, two-state and single-assignment:
//
//   Design    a set of modules by name, one of them the top
//   Module    ports, a flat list of ops, memories and instances
//   Op        one operation; an op with width > 0 defines the value with the op's index
//             (ValueId). Registers, memory ports, instance outputs and module outputs
//             are ops too, so passes walk one list.
//   Instance  a child module instantiated `count` times (count > 1: an instance array,
//             kept as an array). Each port of an array carries count * port-width bits;
//             element i occupies bits [i*w, (i+1)*w).
//
// Op operand conventions (see Ops.def):
//   Reg       clock, next [, reset if hasReset] [, enable if hasEnable]
//             value = reset value, init = power-on value (both width-wide)
//             synchronous reset: at a clock edge, reset wins over enable;
//             asynchronous reset: the register holds the reset value while reset is 1.
//   MemRead   sync (flag Sync): clock, addr [, enable]; the result is the word read at
//             the last clock edge where enable was 1 (read-before-write); init value 0.
//             async: addr; the result is the current word, combinationally.
//             Out-of-range addresses read 0.
//   MemWrite  clock, addr, data, enable; no result. Ports are applied in op order, so
//             a later port wins on the same address. Out-of-range writes are dropped.
//   InstOut   attr0 instance index, attr1 callee port index; width = count * port width
//   Output    driver; attr0 port index; no result
//
// Every op carries a SourceLoc (HLS keeps the C line there, the Verilog importer the
// Verilog line from Yosys' src attribute).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/BitVec.h"
#include "support/Diagnostics.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::hw {

enum class OpKind : uint8_t {
#define HW_OP(Enum, Mnemonic, Class) Enum,
#include "hw/Ops.def"
};
enum class OpClass : uint8_t { Leaf, Unary, Binary, Cmp, Other };

std::string_view mnemonic(OpKind k);
OpClass opClass(OpKind k);
/// The kind for a mnemonic, or false.
bool parseMnemonic(std::string_view m, OpKind &out);
constexpr int kNumOpKinds = 0
#define HW_OP(Enum, Mnemonic, Class) +1
#include "hw/Ops.def"
    ;

using ValueId = uint32_t;
inline constexpr ValueId kNoValue = UINT32_MAX;

/// Op flags.
enum OpFlags : uint8_t {
  kRegHasReset = 1,
  kRegAsyncReset = 2,
  kRegHasEnable = 4,
  kMemReadSync = 8,
  kMemReadHasEnable = 16,
};

struct Op {
  OpKind kind = OpKind::Const;
  uint32_t width = 0; ///< result width; 0 for MemWrite and Output
  std::vector<ValueId> operands;
  uint32_t attr0 = 0, attr1 = 0;
  uint8_t flags = 0;
  BitVec value; ///< Const: the constant; Reg: reset value
  BitVec init;  ///< Reg: power-on value
  std::string name; ///< optional; a user-visible signal name (ports, registers, wires)
  SourceLoc loc;

  bool hasResult() const { return width > 0; }
  // Register accessors (kind == Reg).
  ValueId regClock() const { return operands[0]; }
  ValueId regNext() const { return operands[1]; }
  bool regHasReset() const { return flags & kRegHasReset; }
  bool regAsyncReset() const { return flags & kRegAsyncReset; }
  bool regHasEnable() const { return flags & kRegHasEnable; }
  ValueId regReset() const { return regHasReset() ? operands[2] : kNoValue; }
  ValueId regEnable() const {
    return regHasEnable() ? operands[regHasReset() ? 3 : 2] : kNoValue;
  }
  // Memory read accessors (kind == MemRead).
  bool memSync() const { return flags & kMemReadSync; }
  ValueId memClock() const { return memSync() ? operands[0] : kNoValue; }
  ValueId memAddr() const { return memSync() ? operands[1] : operands[0]; }
  ValueId memEnable() const {
    return (memSync() && (flags & kMemReadHasEnable)) ? operands[2] : kNoValue;
  }
};

enum class PortDir : uint8_t { In, Out };

struct Port {
  std::string name;
  PortDir dir = PortDir::In;
  uint32_t width = 1;
  SourceLoc loc;
};

struct Memory {
  std::string name;
  uint32_t width = 1;
  uint32_t depth = 1;
  std::vector<BitVec> init; ///< empty, or `depth` words of `width` bits
  SourceLoc loc;
  /// Address width: ceil(log2(depth)), at least 1.
  uint32_t addrWidth() const;
};

struct Instance {
  std::string name;
  std::string module; ///< callee module name
  uint32_t count = 1; ///< > 1: an instance array
  /// One entry per callee port (callee numbering); kNoValue for output ports.
  std::vector<ValueId> inputs;
  SourceLoc loc;
};

class Module {
public:
  explicit Module(std::string name) : name_(std::move(name)) {}

  const std::string &name() const { return name_; }
  SourceLoc loc;

  std::vector<Port> ports;
  std::vector<Op> ops;
  std::vector<Memory> memories;
  std::vector<Instance> instances;

  const Op &op(ValueId v) const { return ops[v]; }
  Op &op(ValueId v) { return ops[v]; }
  uint32_t width(ValueId v) const { return ops[v].width; }
  /// Index of the port called `name`, or -1.
  int findPort(std::string_view name) const;
  /// The Input op of input port `port`, or kNoValue.
  ValueId inputValue(uint32_t port) const;
  /// The Output op driving output port `port`, or kNoValue.
  ValueId outputOp(uint32_t port) const;

  /// Calls f(ValueId used) for every value `op` uses (operands; for InstOut nothing).
  /// Instance inputs are uses of the instance, see forEachInstanceUse.
  /// Every place a value is used: op operands and instance inputs, as pointers so a pass
  /// can rewrite them.
  std::vector<ValueId *> allUses();
  /// Replaces every use of `from` with `to` (op operands and instance inputs).
  void replaceAllUsesWith(ValueId from, ValueId to);
  /// Removes ops for which `dead[i]` is true and renumbers the rest (order kept). Every
  /// use of a removed op must be gone first. Returns the old -> new map (kNoValue for
  /// removed ops).
  std::vector<ValueId> eraseOps(const std::vector<bool> &dead);

private:
  std::string name_;
};

class Design {
public:
  /// Adds a module; the name must be new.
  Module &addModule(std::string name);
  Module *find(std::string_view name);
  const Module *find(std::string_view name) const;
  std::vector<std::unique_ptr<Module>> &modules() { return modules_; }
  const std::vector<std::unique_ptr<Module>> &modules() const { return modules_; }

  /// The top module: `topName` if set, else the only module no other module instantiates
  /// (nullptr when that is ambiguous or there are no modules).
  const Module *top() const;
  Module *top();
  std::string topName;

  /// Modules in bottom-up order (callees before callers), reachable from the top first
  /// then the rest; stops at (and ignores) recursion, which the verifier reports.
  std::vector<const Module *> postOrder() const;

private:
  std::vector<std::unique_ptr<Module>> modules_;
};

struct RegOptions {
  ValueId reset = kNoValue;  ///< 1-bit, active high
  bool asyncReset = false;
  BitVec resetValue;         ///< default zeros
  ValueId enable = kNoValue; ///< 1-bit
  BitVec init;               ///< power-on value, default zeros
};

/// Builds ops into a module. Every op gets the builder's current location. Operand widths
/// are checked with assert() only; the verifier is what reports bad IR from users.
class ModuleBuilder {
public:
  explicit ModuleBuilder(Module &m) : m_(m) {}
  Module &module() { return m_; }
  void setLoc(SourceLoc loc) { loc_ = std::move(loc); }
  const SourceLoc &loc() const { return loc_; }

  // Ports.
  ValueId input(std::string name, uint32_t width);
  /// Declares an output port driven by `driver` (may be kNoValue and set later with
  /// drive()). Returns the port index.
  uint32_t output(std::string name, uint32_t width, ValueId driver = kNoValue);
  void drive(uint32_t outputPort, ValueId driver);

  // Values.
  ValueId constant(const BitVec &v);
  ValueId constant(uint32_t width, uint64_t v) { return constant(BitVec(width, v)); }
  ValueId binary(OpKind k, ValueId a, ValueId b); ///< Binary, Cmp and shift kinds
  ValueId unary(OpKind k, ValueId a);             ///< Not, RedAnd, RedOr, RedXor
  ValueId add(ValueId a, ValueId b) { return binary(OpKind::Add, a, b); }
  ValueId sub(ValueId a, ValueId b) { return binary(OpKind::Sub, a, b); }
  ValueId mul(ValueId a, ValueId b) { return binary(OpKind::Mul, a, b); }
  ValueId bitAnd(ValueId a, ValueId b) { return binary(OpKind::And, a, b); }
  ValueId bitOr(ValueId a, ValueId b) { return binary(OpKind::Or, a, b); }
  ValueId bitXor(ValueId a, ValueId b) { return binary(OpKind::Xor, a, b); }
  ValueId bitNot(ValueId a) { return unary(OpKind::Not, a); }
  ValueId eq(ValueId a, ValueId b) { return binary(OpKind::Eq, a, b); }
  ValueId mux(ValueId cond, ValueId ifTrue, ValueId ifFalse);
  /// {parts[0], parts[1], ...}: parts[0] is the most significant.
  ValueId concat(const std::vector<ValueId> &parts);
  ValueId extract(ValueId a, uint32_t lo, uint32_t width);
  ValueId zext(ValueId a, uint32_t width);
  ValueId sext(ValueId a, uint32_t width);
  /// zext or extract to `width` (no-op when equal: returns `a`).
  ValueId resize(ValueId a, uint32_t width);

  // State.
  /// A register whose next value is connected later with setNext (so that feedback
  /// loops can be built).
  ValueId regDecl(ValueId clock, uint32_t width, std::string name,
                  const RegOptions &opts = {});
  void setNext(ValueId reg, ValueId next);
  /// regDecl() + setNext().
  ValueId reg(ValueId clock, ValueId next, std::string name, const RegOptions &opts = {});

  uint32_t memory(std::string name, uint32_t width, uint32_t depth,
                  std::vector<BitVec> init = {});
  ValueId memReadSync(uint32_t mem, ValueId clock, ValueId addr, ValueId enable = kNoValue);
  ValueId memReadAsync(uint32_t mem, ValueId addr);
  void memWrite(uint32_t mem, ValueId clock, ValueId addr, ValueId data, ValueId enable);

  // Hierarchy. `callee` must already be in the design (for port widths).
  /// Adds an instance (count > 1: array) with inputs unconnected; returns its index.
  uint32_t instance(const Module &callee, std::string name, uint32_t count = 1);
  /// Connects callee input port `port` of instance `inst` (width count * port width).
  void connect(uint32_t inst, std::string_view port, ValueId v);
  /// The value of callee output port `port` of instance `inst` (created once, cached).
  ValueId instOutput(uint32_t inst, std::string_view port);

  /// Names a value (for printing, VCD and Verilog); returns it.
  ValueId name(ValueId v, std::string name);

private:
  ValueId push(Op op);
  Module &m_;
  SourceLoc loc_;
  std::map<std::pair<uint32_t, uint32_t>, ValueId> instOuts_;
  std::vector<const Module *> callees_; ///< by instance index, for port lookups
};

} // namespace tessera::hw
