//===- Passes.cpp - constant folding, DCE, CSE and the pass manager -------===//
//
// const-fold: ops visited in combinational topological order; an op whose operands are
//   all constants becomes a constant (hw::evaluate, the one definition of the
//   semantics), and algebraic identities (x+0, x*1, x*0, x&0, mux with a constant
//   condition or equal arms, extract of extract / of an aligned concat part, ...) forward
//   a value or rewrite the op in place. ValueIds never change here; dead ops are left for
//   dce.
// dce: mark-and-sweep liveness from the observable roots (output ports, instance inputs,
//   input ports); a memory's write ports are live only when one of its read ports is, so
//   a register or memory nobody reads disappears with everything feeding only it.
// cse: value numbering over pure ops in topological order, keyed by kind, width,
//   attributes, constant and (for commutative ops, sorted) operands.
// The pass manager runs the list to a fixed point, verifying after every pass.
//
//===----------------------------------------------------------------------===//
#include "hw/Passes.h"

#include "hw/Semantics.h"
#include "hw/Verify.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace tessera::hw {

namespace {

bool isPure(OpKind k) { return isCombinational(k); }

/// Ops in an order where each pure op follows its operands (within the module; state
/// and instance outputs are leaves). Robust to cycles and bad ids.
std::vector<ValueId> topoOrder(const Module &m) {
  size_t n = m.ops.size();
  std::vector<uint8_t> state(n, 0);
  std::vector<ValueId> order;
  order.reserve(n);
  std::vector<std::pair<ValueId, size_t>> stack;
  for (ValueId root = 0; root < n; ++root) {
    if (state[root])
      continue;
    stack.push_back({root, 0});
    state[root] = 1;
    while (!stack.empty()) {
      auto &[v, next] = stack.back();
      const Op &o = m.ops[v];
      if (isPure(o.kind) && next < o.operands.size()) {
        ValueId w = o.operands[next++];
        if (w < n && !state[w]) {
          state[w] = 1;
          stack.push_back({w, 0});
        }
        continue;
      }
      state[v] = 2;
      order.push_back(v);
      stack.pop_back();
    }
  }
  return order;
}

bool validOperands(const Module &m, const Op &o) {
  for (ValueId v : o.operands)
    if (v >= m.ops.size() || !m.ops[v].hasResult())
      return false;
  return true;
}

void makeConst(Op &o, BitVec value) {
  o.kind = OpKind::Const;
  o.operands.clear();
  o.attr0 = o.attr1 = 0;
  o.flags = 0;
  o.value = std::move(value);
  o.init = BitVec();
}

class Folder {
public:
  explicit Folder(Module &m) : m_(m), repl_(m.ops.size()) {
    for (ValueId v = 0; v < repl_.size(); ++v)
      repl_[v] = v;
  }

  /// Visits ops in topological order with their operands already forwarded, records
  /// forwarding in repl_, and rewrites every use once at the end (linear time).
  bool run() {
    for (ValueId v : topoOrder(m_)) {
      if (isPure(m_.ops[v].kind))
        for (ValueId &x : m_.ops[v].operands)
          if (ValueId to = find(x); to != x) {
            x = to;
            changed_ = true;
          }
      foldOne(v);
    }
    for (ValueId *u : m_.allUses()) {
      ValueId to = find(*u);
      if (to != *u) {
        *u = to;
        changed_ = true;
      }
    }
    return changed_;
  }

private:
  const Op &op(ValueId v) const { return m_.ops[v]; }
  bool isConst(ValueId v) const { return op(v).kind == OpKind::Const; }
  const BitVec &constOf(ValueId v) const { return op(v).value; }
  bool isZero(ValueId v) const { return isConst(v) && constOf(v).isZero(); }
  bool isOne(ValueId v) const {
    return isConst(v) && constOf(v).toU64() && *constOf(v).toU64() == 1;
  }
  bool isOnes(ValueId v) const { return isConst(v) && constOf(v).isAllOnes(); }

  ValueId find(ValueId v) {
    if (v >= repl_.size())
      return v;
    ValueId root = v;
    while (repl_[root] != root)
      root = repl_[root];
    while (repl_[v] != root) {
      ValueId next = repl_[v];
      repl_[v] = root;
      v = next;
    }
    return root;
  }
  /// Uses of v become uses of `to` (at the end of the run).
  void forward(ValueId v, ValueId to) {
    to = find(to);
    if (to != v)
      repl_[v] = to;
  }
  void toConst(ValueId v, BitVec value) {
    makeConst(m_.ops[v], std::move(value));
    changed_ = true;
  }

  void foldOne(ValueId v);

  Module &m_;
  std::vector<ValueId> repl_;
  bool changed_ = false;
};

void Folder::foldOne(ValueId v) {
  Op &o = m_.ops[v];
  if (!isPure(o.kind) || o.kind == OpKind::Const || !validOperands(m_, o))
    return;
  // Everything constant: evaluate.
  bool allConst = !o.operands.empty();
  for (ValueId x : o.operands)
    allConst = allConst && isConst(x);
  if (allConst) {
    std::vector<BitVec> args;
    for (ValueId x : o.operands)
      args.push_back(constOf(x));
    BitVec r = evaluate(o, args);
    if (r.width() == o.width)
      toConst(v, std::move(r));
    return;
  }
  auto a = [&]() { return o.operands[0]; };
  auto b = [&]() { return o.operands[1]; };
  uint32_t w = o.width;
  switch (o.kind) {
  case OpKind::Add:
  case OpKind::Or:
  case OpKind::Xor:
    if (isZero(b()))
      return forward(v, a());
    if (isZero(a()))
      return forward(v, b());
    if (o.kind == OpKind::Or && (isOnes(a()) || isOnes(b())))
      return toConst(v, BitVec::ones(w));
    if (o.kind == OpKind::Or && a() == b())
      return forward(v, a());
    if (o.kind == OpKind::Xor && a() == b())
      return toConst(v, BitVec::zeros(w));
    return;
  case OpKind::Sub:
    if (isZero(b()))
      return forward(v, a());
    if (a() == b())
      return toConst(v, BitVec::zeros(w));
    return;
  case OpKind::Mul:
    if (isZero(a()) || isZero(b()))
      return toConst(v, BitVec::zeros(w));
    if (isOne(b()))
      return forward(v, a());
    if (isOne(a()))
      return forward(v, b());
    return;
  case OpKind::DivU:
  case OpKind::DivS:
    if (isOne(b()))
      return forward(v, a());
    if (isZero(b()) || isZero(a()))
      return toConst(v, BitVec::zeros(w));
    return;
  case OpKind::RemU:
  case OpKind::RemS:
    if (isZero(b()) || isZero(a()) || isOne(b()))
      return toConst(v, BitVec::zeros(w));
    return;
  case OpKind::And:
    if (isZero(a()) || isZero(b()))
      return toConst(v, BitVec::zeros(w));
    if (isOnes(b()) || a() == b())
      return forward(v, a());
    if (isOnes(a()))
      return forward(v, b());
    return;
  case OpKind::Shl:
  case OpKind::ShrU:
  case OpKind::ShrS:
    if (isZero(b()))
      return forward(v, a());
    if (isZero(a()))
      return toConst(v, BitVec::zeros(w));
    return;
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::LeU:
  case OpKind::LeS:
  case OpKind::GeU:
  case OpKind::GeS:
  case OpKind::LtU:
  case OpKind::LtS:
  case OpKind::GtU:
  case OpKind::GtS:
    if (a() == b()) {
      bool reflexive = o.kind == OpKind::Eq || o.kind == OpKind::LeU || o.kind == OpKind::LeS ||
                       o.kind == OpKind::GeU || o.kind == OpKind::GeS;
      return toConst(v, BitVec(1, reflexive ? 1 : 0));
    }
    return;
  case OpKind::Not:
    if (op(a()).kind == OpKind::Not && validOperands(m_, op(a())) && op(a()).operands.size() == 1)
      return forward(v, op(a()).operands[0]);
    return;
  case OpKind::Mux: {
    if (o.operands.size() != 3)
      return;
    ValueId c = o.operands[0], t = o.operands[1], f = o.operands[2];
    if (isConst(c))
      return forward(v, constOf(c).isZero() ? f : t);
    if (t == f)
      return forward(v, t);
    if (w == 1 && isOne(t) && isZero(f) && m_.width(c) == 1)
      return forward(v, c);
    return;
  }
  case OpKind::Concat:
    if (o.operands.size() == 1)
      return forward(v, a());
    return;
  case OpKind::ZExt:
  case OpKind::SExt:
    if (m_.width(a()) == w)
      return forward(v, a());
    return;
  case OpKind::Extract: {
    ValueId src = a();
    if (src == v)
      return;
    if (o.attr0 == 0 && m_.width(src) == w)
      return forward(v, src);
    const Op &s = op(src);
    if (s.kind == OpKind::Extract && s.operands.size() == 1 && validOperands(m_, s)) {
      ValueId inner = s.operands[0];
      uint32_t lo = o.attr0 + s.attr0;
      m_.ops[v].operands[0] = inner;
      m_.ops[v].attr0 = lo;
      changed_ = true;
      return foldOne(v);
    }
    if (s.kind == OpKind::Concat && validOperands(m_, s)) {
      // Parts are most significant first; find the part holding [lo, lo + w).
      uint64_t hi = 0;
      for (size_t k = s.operands.size(); k-- > 0;) {
        ValueId part = s.operands[k];
        uint64_t pw = m_.width(part);
        if (o.attr0 >= hi && uint64_t(o.attr0) + w <= hi + pw) {
          uint32_t lo = static_cast<uint32_t>(o.attr0 - hi);
          if (lo == 0 && pw == w)
            return forward(v, part);
          m_.ops[v].operands[0] = part;
          m_.ops[v].attr0 = lo;
          changed_ = true;
          return;
        }
        hi += pw;
      }
      return;
    }
    if ((s.kind == OpKind::ZExt || s.kind == OpKind::SExt) && s.operands.size() == 1 &&
        validOperands(m_, s) && uint64_t(o.attr0) + w <= m_.width(s.operands[0])) {
      m_.ops[v].operands[0] = s.operands[0];
      changed_ = true;
      return foldOne(v);
    }
    return;
  }
  default:
    return;
  }
}

} // namespace

bool foldConstants(Module &m) { return Folder(m).run(); }

bool eliminateDeadCode(Module &m) {
  size_t n = m.ops.size();
  std::vector<bool> live(n, false);
  std::vector<ValueId> work;
  auto mark = [&](ValueId v) {
    if (v < n && !live[v]) {
      live[v] = true;
      work.push_back(v);
    }
  };
  for (ValueId v = 0; v < n; ++v)
    if (m.ops[v].kind == OpKind::Output || m.ops[v].kind == OpKind::Input)
      mark(v);
  for (const Instance &inst : m.instances)
    for (ValueId v : inst.inputs)
      mark(v);
  std::vector<bool> memLive(m.memories.size(), false);
  while (true) {
    while (!work.empty()) {
      ValueId v = work.back();
      work.pop_back();
      const Op &o = m.ops[v];
      for (ValueId x : o.operands)
        mark(x);
      if (o.kind == OpKind::MemRead && o.attr0 < memLive.size())
        memLive[o.attr0] = true;
    }
    // Write ports of memories that are read.
    for (ValueId v = 0; v < n; ++v) {
      const Op &o = m.ops[v];
      if (o.kind == OpKind::MemWrite && o.attr0 < memLive.size() && memLive[o.attr0])
        mark(v);
    }
    if (work.empty())
      break;
  }
  std::vector<bool> dead(n);
  bool changed = false;
  for (ValueId v = 0; v < n; ++v) {
    dead[v] = !live[v];
    changed = changed || dead[v];
  }
  if (changed)
    m.eraseOps(dead);
  // Memories no op refers to any more.
  std::vector<bool> used(m.memories.size(), false);
  for (const Op &o : m.ops)
    if ((o.kind == OpKind::MemRead || o.kind == OpKind::MemWrite) && o.attr0 < used.size())
      used[o.attr0] = true;
  if (std::find(used.begin(), used.end(), false) != used.end()) {
    std::vector<uint32_t> remap(m.memories.size(), 0);
    std::vector<Memory> kept;
    for (size_t i = 0; i < m.memories.size(); ++i) {
      remap[i] = static_cast<uint32_t>(kept.size());
      if (used[i])
        kept.push_back(std::move(m.memories[i]));
    }
    m.memories = std::move(kept);
    for (Op &o : m.ops)
      if ((o.kind == OpKind::MemRead || o.kind == OpKind::MemWrite) && o.attr0 < remap.size())
        o.attr0 = remap[o.attr0];
    changed = true;
  }
  return changed;
}

namespace {
/// What makes two pure ops compute the same value.
struct CseKey {
  OpKind kind;
  uint32_t width, attr0, attr1;
  uint8_t flags;
  std::vector<ValueId> operands;
  BitVec value;
  bool operator==(const CseKey &o) const {
    return kind == o.kind && width == o.width && attr0 == o.attr0 && attr1 == o.attr1 &&
           flags == o.flags && operands == o.operands && value == o.value;
  }
};
struct CseKeyHash {
  size_t operator()(const CseKey &k) const {
    uint64_t h = (uint64_t(k.kind) << 56) ^ (uint64_t(k.width) << 24) ^ k.attr0 ^
                 (uint64_t(k.attr1) << 40) ^ (uint64_t(k.flags) << 48);
    for (ValueId v : k.operands)
      h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    return size_t(h ^ k.value.hash());
  }
};
} // namespace

bool eliminateCommonSubexpressions(Module &m) {
  std::unordered_map<CseKey, ValueId, CseKeyHash> table;
  table.reserve(m.ops.size());
  std::vector<ValueId> repl(m.ops.size());
  for (ValueId v = 0; v < m.ops.size(); ++v)
    repl[v] = v;
  auto canon = [&](ValueId v) { return v < repl.size() ? repl[v] : v; };
  for (ValueId v : topoOrder(m)) {
    const Op &o = m.ops[v];
    if (!isPure(o.kind) || !o.hasResult())
      continue;
    std::vector<ValueId> ops;
    ops.reserve(o.operands.size());
    for (ValueId x : o.operands)
      ops.push_back(canon(x));
    switch (o.kind) {
    case OpKind::Add:
    case OpKind::Mul:
    case OpKind::And:
    case OpKind::Or:
    case OpKind::Xor:
    case OpKind::Eq:
    case OpKind::Ne:
      std::sort(ops.begin(), ops.end());
      break;
    default:
      break;
    }
    CseKey key{o.kind,
               o.width,
               o.attr0,
               o.attr1,
               o.flags,
               std::move(ops),
               o.kind == OpKind::Const ? o.value : BitVec()};
    auto [it, inserted] = table.emplace(std::move(key), v);
    if (!inserted)
      repl[v] = it->second;
  }
  bool changed = false;
  for (ValueId *u : m.allUses())
    if (*u < repl.size() && repl[*u] != *u) {
      *u = repl[*u];
      changed = true;
    }
  return changed;
}

void PassManager::addDefaultPipeline() {
  add({"const-fold", foldConstants});
  add({"cse", eliminateCommonSubexpressions});
  add({"dce", eliminateDeadCode});
}

bool PassManager::run(Design &d, DiagnosticEngine &diags, int maxIterations) {
  if (verifyEach_ && !verifyDesign(d, diags))
    return false;
  for (int iter = 0; iter < maxIterations; ++iter) {
    bool changedAny = false;
    for (const Pass &p : passes_) {
      for (auto &m : d.modules())
        changedAny = p.run(*m) || changedAny;
      if (!verifyEach_)
        continue;
      DiagnosticEngine after;
      if (!verifyDesign(d, after)) {
        Diagnostic e =
            Diagnostic::error("pass-broke-ir", "the IR is not valid after pass '" + p.name + "'");
        for (const Diagnostic &x : after.diagnostics())
          e.withNote(x);
        diags.report(std::move(e));
        return false;
      }
    }
    if (!changedAny)
      break;
  }
  return true;
}

} // namespace tessera::hw
