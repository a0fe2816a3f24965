//===- Verify.cpp - hw IR verifier ----------------------------------------===//
//
// Structural checks op by op (operand counts, widths, attributes, connections), then
// combinational cycle detection: a graph over the ops of a module whose edges are the
// combinational dependences (operands of combinational ops, the address of asynchronous
// memory reads, output drivers, the reset of registers with an asynchronous reset, and
// through instances the callee's output-on-input dependences from combinationalPortDeps).
// Otherwise registers and synchronous reads cut the graph.
// Strongly connected components (Tarjan's algorithm, iterative) with more than one op, or
// an op that reads itself, are cycles; each is reported once, with a shortest path
// through it. An instance array is one node: its outputs depend on its inputs if any
// element's do.
//
//===----------------------------------------------------------------------===//
#include "hw/Verify.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>

namespace tessera::hw {

namespace {

constexpr uint32_t kMaxWidth = 1u << 20;

using PortDeps = std::vector<std::vector<uint32_t>>;

/// Port dependence sets memoized per module. A module being computed (recursion, which
/// the verifier reports) or one with errors has no dependences, so that an error is
/// reported once, where it is.
class DepsCache {
public:
  explicit DepsCache(const Design &d) : d_(d) {}
  const PortDeps &get(const Module &m);
  void poison(const Module &m) { cache_[&m] = PortDeps(m.ports.size()); }
  const Module *find(const std::string &name) const { return d_.find(name); }

private:
  const Design &d_;
  std::map<const Module *, PortDeps> cache_;
  std::set<const Module *> active_;
  PortDeps empty_;
};

/// The values op `i` reads combinationally (only ids in range).
void combinationalOperands(const Module &m, ValueId i, DepsCache &cache,
                           std::vector<ValueId> &out) {
  out.clear();
  const Op &o = m.ops[i];
  auto push = [&](ValueId v) {
    if (v < m.ops.size())
      out.push_back(v);
  };
  switch (o.kind) {
  case OpKind::Input:
  case OpKind::Const:
  case OpKind::MemWrite:
    return;
  case OpKind::Reg:
    // An asynchronous reset reaches the output without a clock edge.
    if (o.regHasReset() && o.regAsyncReset() && o.operands.size() > 2)
      push(o.operands[2]);
    return;
  case OpKind::MemRead:
    if (!o.memSync() && !o.operands.empty())
      push(o.operands[0]);
    return;
  case OpKind::InstOut: {
    if (o.attr0 >= m.instances.size())
      return;
    const Instance &inst = m.instances[o.attr0];
    const Module *callee = cache.find(inst.module);
    if (!callee)
      return;
    const PortDeps &deps = cache.get(*callee);
    if (o.attr1 >= deps.size())
      return;
    for (uint32_t p : deps[o.attr1])
      if (p < inst.inputs.size())
        push(inst.inputs[p]);
    return;
  }
  default:
    for (ValueId v : o.operands)
      push(v);
    return;
  }
}

/// Ops in an order where every op comes after the ops it reads combinationally (ops on
/// cycles are placed arbitrarily). Iterative DFS, deterministic.
std::vector<ValueId> combinationalOrder(const Module &m, DepsCache &cache) {
  size_t n = m.ops.size();
  std::vector<uint8_t> state(n, 0); // 0 new, 1 on stack, 2 done
  std::vector<ValueId> order;
  order.reserve(n);
  std::vector<std::pair<ValueId, std::vector<ValueId>>> stack;
  std::vector<ValueId> deps;
  for (ValueId root = 0; root < n; ++root) {
    if (state[root])
      continue;
    combinationalOperands(m, root, cache, deps);
    stack.emplace_back(root, deps);
    state[root] = 1;
    while (!stack.empty()) {
      auto &[v, pending] = stack.back();
      if (pending.empty()) {
        state[v] = 2;
        order.push_back(v);
        stack.pop_back();
        continue;
      }
      ValueId next = pending.back();
      pending.pop_back();
      if (state[next])
        continue;
      state[next] = 1;
      combinationalOperands(m, next, cache, deps);
      stack.emplace_back(next, deps);
    }
  }
  return order;
}

PortDeps computePortDeps(const Module &m, DepsCache &cache) {
  size_t n = m.ops.size();
  size_t nPorts = m.ports.size();
  size_t words = (nPorts + 63) / 64;
  std::vector<uint64_t> bits(n * words, 0);
  std::vector<ValueId> deps;
  for (ValueId v : combinationalOrder(m, cache)) {
    uint64_t *mine = &bits[size_t(v) * words];
    const Op &o = m.ops[v];
    if (o.kind == OpKind::Input) {
      if (o.attr0 < nPorts)
        mine[o.attr0 / 64] |= uint64_t(1) << (o.attr0 % 64);
      continue;
    }
    combinationalOperands(m, v, cache, deps);
    for (ValueId d : deps)
      for (size_t w = 0; w < words; ++w)
        mine[w] |= bits[size_t(d) * words + w];
  }
  PortDeps result(nPorts);
  for (ValueId v = 0; v < n; ++v) {
    const Op &o = m.ops[v];
    if (o.kind != OpKind::Output || o.attr0 >= nPorts || m.ports[o.attr0].dir != PortDir::Out)
      continue;
    auto &out = result[o.attr0];
    for (uint32_t p = 0; p < nPorts; ++p)
      if ((bits[size_t(v) * words + p / 64] >> (p % 64)) & 1)
        out.push_back(p);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return result;
}

const PortDeps &DepsCache::get(const Module &m) {
  if (auto it = cache_.find(&m); it != cache_.end())
    return it->second;
  if (active_.count(&m))
    return empty_;
  active_.insert(&m);
  PortDeps deps = computePortDeps(m, *this);
  active_.erase(&m);
  return cache_[&m] = std::move(deps);
}

//===----------------------------------------------------------------------===//
// Module verifier
//===----------------------------------------------------------------------===//

class ModuleVerifier {
public:
  ModuleVerifier(const Module &m, const Design &d, DiagnosticEngine &diags, DepsCache &cache)
      : m_(m), d_(d), diags_(diags), cache_(cache) {}

  /// Structural checks; then, if they passed, the cycle check. True when clean.
  bool run();

private:
  std::string where() const { return " in module '" + m_.name() + "'"; }
  /// "%name" or "%N" as the text form prints it (close enough for messages).
  std::string valueName(ValueId v) const {
    if (v >= m_.ops.size())
      return "%" + std::to_string(v);
    const Op &o = m_.ops[v];
    return "%" + (o.name.empty() ? std::to_string(v) : o.name);
  }
  std::string opName(ValueId v) const {
    const Op &o = m_.ops[v];
    std::string k(mnemonic(o.kind));
    if (!o.hasResult())
      return "'" + k + "'";
    return "'" + k + "' " + valueName(v);
  }
  SourceLoc opLoc(ValueId v) const {
    const SourceLoc &l = m_.ops[v].loc;
    return l.known() ? l : m_.loc;
  }
  /// `msg` names what is wrong and where in the module, e.g. "memory 'rom'" + where().
  void error(std::string id, std::string msg, SourceLoc loc) {
    ok_ = false;
    diags_.report(Diagnostic::error(std::move(id), std::move(msg), std::move(loc)));
  }
  void opError(ValueId v, std::string id, std::string msg) {
    error(std::move(id), opName(v) + where() + ": " + msg, opLoc(v));
  }

  void checkPorts();
  void checkMemories();
  void checkInstances();
  void checkOp(ValueId v);
  /// Operand k of op v is a valid value; returns its width or 0.
  uint32_t operandWidth(ValueId v, size_t k, std::string_view role);
  void checkCycles();

  const Module &m_;
  const Design &d_;
  DiagnosticEngine &diags_;
  DepsCache &cache_;
  bool ok_ = true;
};

bool ModuleVerifier::run() {
  checkPorts();
  checkMemories();
  checkInstances();
  for (ValueId v = 0; v < m_.ops.size(); ++v)
    checkOp(v);
  if (ok_)
    checkCycles();
  if (!ok_)
    cache_.poison(m_);
  return ok_;
}

void ModuleVerifier::checkPorts() {
  std::map<std::string, size_t> seen;
  for (size_t p = 0; p < m_.ports.size(); ++p) {
    const Port &port = m_.ports[p];
    SourceLoc loc = port.loc.known() ? port.loc : m_.loc;
    if (port.width == 0 || port.width > kMaxWidth)
      error("bad-width",
            "port '" + port.name + "'" + where() + " has width " + std::to_string(port.width) +
                " (must be 1 to " + std::to_string(kMaxWidth) + ")",
            loc);
    if (port.name.empty())
      error("bad-name", "port #" + std::to_string(p) + where() + " has no name", loc);
    else if (!seen.emplace(port.name, p).second)
      error("duplicate-name", "port name '" + port.name + "' is used twice" + where(), loc);
  }
  // Input ops: at most one per input port. Output ops: exactly one per output port.
  std::vector<uint32_t> inputs(m_.ports.size(), 0), outputs(m_.ports.size(), 0);
  for (ValueId v = 0; v < m_.ops.size(); ++v) {
    const Op &o = m_.ops[v];
    if (o.kind == OpKind::Input && o.attr0 < m_.ports.size() &&
        m_.ports[o.attr0].dir == PortDir::In && ++inputs[o.attr0] == 2)
      opError(v, "multiple-drivers",
              "input port '" + m_.ports[o.attr0].name + "' has a second input op");
    if (o.kind == OpKind::Output && o.attr0 < m_.ports.size() &&
        m_.ports[o.attr0].dir == PortDir::Out && ++outputs[o.attr0] == 2)
      opError(v, "multiple-drivers",
              "output port '" + m_.ports[o.attr0].name + "' is driven more than once");
  }
  for (size_t p = 0; p < m_.ports.size(); ++p)
    if (m_.ports[p].dir == PortDir::Out && outputs[p] == 0)
      error("undriven-output",
            "output port '" + m_.ports[p].name + "'" + where() + " is not driven",
            m_.ports[p].loc.known() ? m_.ports[p].loc : m_.loc);
}

void ModuleVerifier::checkMemories() {
  std::set<std::string> seen;
  for (size_t i = 0; i < m_.memories.size(); ++i) {
    const Memory &mem = m_.memories[i];
    SourceLoc loc = mem.loc.known() ? mem.loc : m_.loc;
    if (!seen.insert(mem.name).second)
      error("duplicate-name", "memory name '" + mem.name + "' is used twice" + where(), loc);
    std::string what = "memory '" + mem.name + "'" + where();
    if (mem.width == 0 || mem.width > kMaxWidth)
      error("bad-width",
            what + " has width " + std::to_string(mem.width) + " (must be 1 to " +
                std::to_string(kMaxWidth) + ")",
            loc);
    if (mem.depth == 0)
      error("bad-memory", what + " has depth 0", loc);
    if (!mem.init.empty() && mem.init.size() != mem.depth)
      error("bad-init",
            what + " has " + std::to_string(mem.init.size()) + " initial words for depth " +
                std::to_string(mem.depth),
            loc);
    for (size_t k = 0; k < mem.init.size(); ++k)
      if (mem.init[k].width() != mem.width) {
        error("bad-init",
              "initial word " + std::to_string(k) + " of " + what + " has width " +
                  std::to_string(mem.init[k].width()) + ", not " + std::to_string(mem.width),
              loc);
        break;
      }
  }
}

void ModuleVerifier::checkInstances() {
  std::set<std::string> seen;
  for (size_t i = 0; i < m_.instances.size(); ++i) {
    const Instance &inst = m_.instances[i];
    SourceLoc loc = inst.loc.known() ? inst.loc : m_.loc;
    std::string what = "instance '" + inst.name + "'" + where();
    if (!seen.insert(inst.name).second)
      error("duplicate-name", "instance name '" + inst.name + "' is used twice" + where(), loc);
    const Module *callee = d_.find(inst.module);
    if (!callee) {
      error("unknown-module", what + " names module '" + inst.module + "', which is not defined",
            loc);
      continue;
    }
    if (inst.count == 0) {
      error("bad-count", what + " has count 0", loc);
      continue;
    }
    if (inst.inputs.size() != callee->ports.size()) {
      error("bad-connection",
            what + " has " + std::to_string(inst.inputs.size()) + " port slots; module '" +
                callee->name() + "' has " + std::to_string(callee->ports.size()) + " ports",
            loc);
      continue;
    }
    for (size_t p = 0; p < callee->ports.size(); ++p) {
      const Port &port = callee->ports[p];
      ValueId v = inst.inputs[p];
      if (port.dir == PortDir::Out) {
        if (v != kNoValue)
          error("bad-connection", what + " connects a value to output port '" + port.name + "'",
                loc);
        continue;
      }
      if (v == kNoValue) {
        error("unconnected-input", what + ": input port '" + port.name + "' is not connected", loc);
        continue;
      }
      if (v >= m_.ops.size() || !m_.ops[v].hasResult()) {
        error("undefined-value",
              what + ": input port '" + port.name + "' is connected to a value that is not defined",
              loc);
        continue;
      }
      uint64_t want = uint64_t(port.width) * inst.count;
      if (m_.ops[v].width != want)
        error("width-mismatch",
              what + ": input port '" + port.name + "' needs " + std::to_string(want) + " bits" +
                  (inst.count > 1 ? " (" + std::to_string(inst.count) + " x " +
                                        std::to_string(port.width) + ")"
                                  : std::string()) +
                  " but " + valueName(v) + " has " + std::to_string(m_.ops[v].width),
              loc);
    }
  }
}

uint32_t ModuleVerifier::operandWidth(ValueId v, size_t k, std::string_view role) {
  const Op &o = m_.ops[v];
  if (k >= o.operands.size())
    return 0;
  ValueId x = o.operands[k];
  if (x == kNoValue) {
    opError(v, "unconnected-operand", "the " + std::string(role) + " is not connected");
    return 0;
  }
  if (x >= m_.ops.size() || !m_.ops[x].hasResult()) {
    opError(v, "undefined-value",
            "the " + std::string(role) + " is not a defined value (" + valueName(x) + ")");
    return 0;
  }
  return m_.ops[x].width;
}

void ModuleVerifier::checkOp(ValueId v) {
  const Op &o = m_.ops[v];
  bool noResult = o.kind == OpKind::Output || o.kind == OpKind::MemWrite;
  if (noResult && o.width != 0) {
    opError(v, "bad-width", "has a result width but defines no value");
    return;
  }
  if (!noResult && (o.width == 0 || o.width > kMaxWidth)) {
    opError(v, "bad-width",
            "result width " + std::to_string(o.width) + " is out of range (1 to " +
                std::to_string(kMaxWidth) + ")");
    return;
  }
  auto expectCount = [&](size_t lo, size_t hi) {
    size_t n = o.operands.size();
    if (n >= lo && n <= hi)
      return true;
    std::string want = lo == hi         ? std::to_string(lo)
                       : hi == SIZE_MAX ? "at least " + std::to_string(lo)
                                        : std::to_string(lo) + " to " + std::to_string(hi);
    opError(v, "bad-operand-count", "has " + std::to_string(n) + " operands, expected " + want);
    return false;
  };
  auto mismatch = [&](std::string what) { opError(v, "width-mismatch", std::move(what)); };
  auto w = [](uint32_t x) { return std::to_string(x); };
  auto oneBit = [&](size_t k, std::string_view role) {
    uint32_t x = operandWidth(v, k, role);
    if (x && x != 1)
      mismatch("the " + std::string(role) + " must be 1 bit wide, not " + w(x));
  };

  switch (opClass(o.kind)) {
  case OpClass::Binary:
  case OpClass::Cmp: {
    if (!expectCount(2, 2))
      return;
    uint32_t a = operandWidth(v, 0, "first operand"), b = operandWidth(v, 1, "second operand");
    if (!a || !b)
      return;
    if (a != b)
      mismatch("operands have widths " + w(a) + " and " + w(b));
    else if (opClass(o.kind) == OpClass::Cmp && o.width != 1)
      mismatch("a comparison has a 1-bit result, not " + w(o.width));
    else if (opClass(o.kind) == OpClass::Binary && o.width != a)
      mismatch("result width " + w(o.width) + " differs from operand width " + w(a));
    return;
  }
  default:
    break;
  }

  switch (o.kind) {
  case OpKind::Const:
    if (!expectCount(0, 0))
      return;
    if (o.value.width() != o.width)
      mismatch("the constant has " + w(o.value.width()) + " bits, the result " + w(o.width));
    return;
  case OpKind::Input:
    if (!expectCount(0, 0))
      return;
    if (o.attr0 >= m_.ports.size() || m_.ports[o.attr0].dir != PortDir::In) {
      opError(v, "bad-attribute", "port #" + w(o.attr0) + " is not an input port");
      return;
    }
    if (o.width != m_.ports[o.attr0].width)
      mismatch("input port '" + m_.ports[o.attr0].name + "' has width " +
               w(m_.ports[o.attr0].width));
    return;
  case OpKind::Not: {
    if (!expectCount(1, 1))
      return;
    uint32_t a = operandWidth(v, 0, "operand");
    if (a && a != o.width)
      mismatch("result width " + w(o.width) + " differs from operand width " + w(a));
    return;
  }
  case OpKind::RedAnd:
  case OpKind::RedOr:
  case OpKind::RedXor:
    if (!expectCount(1, 1))
      return;
    operandWidth(v, 0, "operand");
    if (o.width != 1)
      mismatch("a reduction has a 1-bit result, not " + w(o.width));
    return;
  case OpKind::Shl:
  case OpKind::ShrU:
  case OpKind::ShrS: {
    if (!expectCount(2, 2))
      return;
    uint32_t a = operandWidth(v, 0, "shifted operand");
    operandWidth(v, 1, "shift amount");
    if (a && a != o.width)
      mismatch("result width " + w(o.width) + " differs from operand width " + w(a));
    return;
  }
  case OpKind::Mux: {
    if (!expectCount(3, 3))
      return;
    oneBit(0, "condition");
    uint32_t t = operandWidth(v, 1, "true arm"), f = operandWidth(v, 2, "false arm");
    if (t && f && t != f)
      mismatch("arms have widths " + w(t) + " and " + w(f));
    else if (t && t != o.width)
      mismatch("result width " + w(o.width) + " differs from arm width " + w(t));
    return;
  }
  case OpKind::Concat: {
    if (!expectCount(1, SIZE_MAX))
      return;
    uint64_t sum = 0;
    bool all = true;
    for (size_t k = 0; k < o.operands.size(); ++k) {
      uint32_t x = operandWidth(v, k, "operand " + std::to_string(k));
      all = all && x;
      sum += x;
    }
    if (all && sum != o.width)
      mismatch("operand widths add up to " + std::to_string(sum) + ", the result is " + w(o.width));
    return;
  }
  case OpKind::Extract: {
    if (!expectCount(1, 1))
      return;
    uint32_t a = operandWidth(v, 0, "operand");
    if (a && uint64_t(o.attr0) + o.width > a)
      opError(v, "bad-attribute",
              "bits [" + w(o.attr0) + ", " + std::to_string(uint64_t(o.attr0) + o.width) +
                  ") are not within the " + w(a) + "-bit operand");
    return;
  }
  case OpKind::ZExt:
  case OpKind::SExt: {
    if (!expectCount(1, 1))
      return;
    uint32_t a = operandWidth(v, 0, "operand");
    if (a && a > o.width)
      mismatch("cannot extend " + w(a) + " bits to " + w(o.width));
    return;
  }
  case OpKind::Reg: {
    if ((o.flags & kRegAsyncReset) && !(o.flags & kRegHasReset))
      opError(v, "bad-attribute", "an asynchronous reset flag without a reset");
    size_t want = 2 + (o.regHasReset() ? 1 : 0) + (o.regHasEnable() ? 1 : 0);
    if (!expectCount(want, want))
      return;
    oneBit(0, "clock");
    uint32_t next = operandWidth(v, 1, "next value");
    if (next && next != o.width)
      mismatch("the next value has width " + w(next) + ", the register " + w(o.width));
    if (o.regHasReset())
      oneBit(2, "reset");
    if (o.regHasEnable())
      oneBit(o.regHasReset() ? 3 : 2, "enable");
    if (o.value.width() != o.width)
      mismatch("the reset value has " + w(o.value.width()) + " bits, the register " + w(o.width));
    if (o.init.width() != o.width)
      mismatch("the initial value has " + w(o.init.width()) + " bits, the register " + w(o.width));
    return;
  }
  case OpKind::MemRead:
  case OpKind::MemWrite: {
    bool write = o.kind == OpKind::MemWrite;
    if (o.attr0 >= m_.memories.size()) {
      opError(v, "bad-attribute", "memory #" + w(o.attr0) + " does not exist");
      return;
    }
    const Memory &mem = m_.memories[o.attr0];
    size_t addrIdx;
    if (write) {
      if (!expectCount(4, 4))
        return;
      oneBit(0, "clock");
      addrIdx = 1;
      uint32_t data = operandWidth(v, 2, "data");
      if (data && data != mem.width)
        mismatch("the data has width " + w(data) + ", memory '" + mem.name + "' " + w(mem.width));
      oneBit(3, "enable");
    } else if (o.memSync()) {
      bool en = o.flags & kMemReadHasEnable;
      if (!expectCount(en ? 3 : 2, en ? 3 : 2))
        return;
      oneBit(0, "clock");
      addrIdx = 1;
      if (en)
        oneBit(2, "enable");
    } else {
      if (o.flags & kMemReadHasEnable)
        opError(v, "bad-attribute", "an asynchronous read has no enable");
      if (!expectCount(1, 1))
        return;
      addrIdx = 0;
    }
    uint32_t addr = operandWidth(v, addrIdx, "address");
    if (addr > 64)
      mismatch("the address has " + w(addr) + " bits (at most 64)");
    if (!write && o.width != mem.width)
      mismatch("memory '" + mem.name + "' has width " + w(mem.width) + ", the read " + w(o.width));
    return;
  }
  case OpKind::InstOut: {
    if (!expectCount(0, 0))
      return;
    if (o.attr0 >= m_.instances.size()) {
      opError(v, "bad-attribute", "instance #" + w(o.attr0) + " does not exist");
      return;
    }
    const Instance &inst = m_.instances[o.attr0];
    const Module *callee = d_.find(inst.module);
    if (!callee)
      return; // reported with the instance
    if (o.attr1 >= callee->ports.size() || callee->ports[o.attr1].dir != PortDir::Out) {
      opError(v, "bad-attribute",
              "port #" + w(o.attr1) + " of module '" + callee->name() + "' is not an output");
      return;
    }
    uint64_t want = uint64_t(callee->ports[o.attr1].width) * inst.count;
    if (o.width != want)
      mismatch("output '" + callee->ports[o.attr1].name + "' of instance '" + inst.name + "' has " +
               std::to_string(want) + " bits, the result " + w(o.width));
    return;
  }
  case OpKind::Output: {
    if (!expectCount(1, 1))
      return;
    if (o.attr0 >= m_.ports.size() || m_.ports[o.attr0].dir != PortDir::Out) {
      opError(v, "bad-attribute", "port #" + w(o.attr0) + " is not an output port");
      return;
    }
    uint32_t a = operandWidth(v, 0, "driver");
    if (a && a != m_.ports[o.attr0].width)
      mismatch("output port '" + m_.ports[o.attr0].name + "' has width " +
               w(m_.ports[o.attr0].width) + ", the driver " + w(a));
    return;
  }
  default:
    return;
  }
}

void ModuleVerifier::checkCycles() {
  size_t n = m_.ops.size();
  // Tarjan's strongly connected components, iterative. Edges: op -> values it reads.
  std::vector<std::vector<ValueId>> edges(n);
  for (ValueId v = 0; v < n; ++v)
    combinationalOperands(m_, v, cache_, edges[v]);
  std::vector<int64_t> index(n, -1), low(n, 0);
  std::vector<bool> onStack(n, false);
  std::vector<ValueId> sccStack;
  std::vector<std::vector<ValueId>> cycles;
  int64_t counter = 0;
  struct Frame {
    ValueId v;
    size_t next;
  };
  std::vector<Frame> frames;
  for (ValueId root = 0; root < n; ++root) {
    if (index[root] >= 0)
      continue;
    frames.push_back({root, 0});
    index[root] = low[root] = counter++;
    sccStack.push_back(root);
    onStack[root] = true;
    while (!frames.empty()) {
      Frame &f = frames.back();
      if (f.next < edges[f.v].size()) {
        ValueId w = edges[f.v][f.next++];
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          sccStack.push_back(w);
          onStack[w] = true;
          frames.push_back({w, 0});
        } else if (onStack[w]) {
          low[f.v] = std::min(low[f.v], index[w]);
        }
        continue;
      }
      ValueId v = f.v;
      frames.pop_back();
      if (!frames.empty())
        low[frames.back().v] = std::min(low[frames.back().v], low[v]);
      if (low[v] == index[v]) {
        std::vector<ValueId> scc;
        ValueId w;
        do {
          w = sccStack.back();
          sccStack.pop_back();
          onStack[w] = false;
          scc.push_back(w);
        } while (w != v);
        bool self = std::find(edges[v].begin(), edges[v].end(), v) != edges[v].end();
        if (scc.size() > 1 || self)
          cycles.push_back(std::move(scc));
      }
    }
  }
  // Report each cycle from its lowest op, along a shortest path back to it (in data-flow
  // order: each op feeds the next).
  std::sort(cycles.begin(), cycles.end(), [](const auto &a, const auto &b) {
    return *std::min_element(a.begin(), a.end()) < *std::min_element(b.begin(), b.end());
  });
  for (auto &scc : cycles) {
    std::set<ValueId> inScc(scc.begin(), scc.end());
    ValueId start = *std::min_element(scc.begin(), scc.end());
    // Shortest chain of reads start <- x1 <- ... <- v <- start (v reads start), by BFS.
    std::map<ValueId, ValueId> parent;
    std::deque<ValueId> queue{start};
    std::vector<ValueId> path;
    std::set<ValueId> seen{start};
    while (!queue.empty() && path.empty()) {
      ValueId v = queue.front();
      queue.pop_front();
      for (ValueId w : edges[v]) {
        if (!inScc.count(w))
          continue;
        if (w == start) {
          for (ValueId x = v;; x = parent[x]) {
            path.push_back(x);
            if (x == start)
              break;
          }
          break;
        }
        if (seen.insert(w).second) {
          parent[w] = v;
          queue.push_back(w);
        }
      }
    }
    // path is [v, ..., x1, start]; data flows start -> v -> ... -> x1 -> start.
    if (path.empty())
      path.push_back(start);
    std::rotate(path.begin(), path.end() - 1, path.end());
    std::string chain;
    for (ValueId x : path)
      chain += valueName(x) + " -> ";
    chain += valueName(start);
    ok_ = false;
    Diagnostic d =
        Diagnostic::error("comb-cycle", "combinational cycle " + chain + where(), opLoc(start));
    for (ValueId x : path) {
      const Op &o = m_.ops[x];
      std::string what = valueName(x) + " (" + std::string(mnemonic(o.kind)) + ")";
      if (o.kind == OpKind::InstOut && o.attr0 < m_.instances.size()) {
        const Instance &inst = m_.instances[o.attr0];
        const Module *callee = d_.find(inst.module);
        std::string port = callee && o.attr1 < callee->ports.size() ? callee->ports[o.attr1].name
                                                                    : "#" + std::to_string(o.attr1);
        what += ": output '" + port + "' of instance '" + inst.name +
                "' depends combinationally on its inputs";
      }
      d.withNote(Diagnostic::note(what, opLoc(x)));
    }
    diags_.report(std::move(d));
  }
}

/// Reports instantiation cycles (a module that instantiates itself, directly or not).
bool checkRecursion(const Design &d, DiagnosticEngine &diags) {
  bool ok = true;
  std::map<const Module *, int> state; // 1 active, 2 done
  std::set<std::pair<const Module *, size_t>> reported;
  for (const auto &root : d.modules()) {
    if (state[root.get()])
      continue;
    std::vector<std::pair<const Module *, size_t>> stack{{root.get(), 0}};
    state[root.get()] = 1;
    while (!stack.empty()) {
      auto &[m, next] = stack.back();
      if (next >= m->instances.size()) {
        state[m] = 2;
        stack.pop_back();
        continue;
      }
      const Instance &inst = m->instances[next];
      size_t instIndex = next++;
      const Module *c = d.find(inst.module);
      if (!c)
        continue;
      if (state[c] == 1) {
        if (reported.insert({m, instIndex}).second) {
          ok = false;
          std::string chain;
          bool on = false;
          for (auto &[sm, si] : stack) {
            on = on || sm == c;
            if (on)
              chain += "'" + sm->name() + "' -> ";
          }
          chain += "'" + c->name() + "'";
          diags.report(Diagnostic::error("recursive-instance",
                                         "instance '" + inst.name + "' in module '" + m->name() +
                                             "' makes a recursive hierarchy: " + chain,
                                         inst.loc.known() ? inst.loc : m->loc));
        }
        continue;
      }
      if (state[c] == 0) {
        state[c] = 1;
        stack.push_back({c, 0});
      }
    }
  }
  return ok;
}

} // namespace

bool verifyModule(const Module &m, const Design &d, DiagnosticEngine &diags) {
  DepsCache cache(d);
  return ModuleVerifier(m, d, diags, cache).run();
}

bool verifyDesign(const Design &d, DiagnosticEngine &diags) {
  bool ok = checkRecursion(d, diags);
  if (!d.topName.empty() && !d.find(d.topName)) {
    ok = false;
    diags.report(
        Diagnostic::error("unknown-module", "top module '" + d.topName + "' is not defined"));
  }
  DepsCache cache(d);
  // Callees first, so that a callee with errors is known (poisoned) before its callers
  // look through it.
  for (const Module *m : d.postOrder())
    ok = ModuleVerifier(*m, d, diags, cache).run() && ok;
  return ok;
}

std::vector<std::vector<uint32_t>> combinationalPortDeps(const Module &m, const Design &d) {
  DepsCache cache(d);
  return cache.get(m);
}

} // namespace tessera::hw
