//===- IR.cpp - hw IR core and builder ------------------------------------===//
#include "hw/IR.h"

#include <cassert>
#include <functional>
#include <set>

namespace tessera::hw {

namespace {
struct OpInfo {
  std::string_view mnemonic;
  OpClass cls;
};
constexpr OpInfo kOpInfo[] = {
#define HW_OP(Enum, Mnemonic, Class) {Mnemonic, OpClass::Class},
#include "hw/Ops.def"
};
} // namespace

std::string_view mnemonic(OpKind k) { return kOpInfo[static_cast<int>(k)].mnemonic; }
OpClass opClass(OpKind k) { return kOpInfo[static_cast<int>(k)].cls; }
bool parseMnemonic(std::string_view m, OpKind &out) {
  for (int i = 0; i < kNumOpKinds; ++i)
    if (kOpInfo[i].mnemonic == m) {
      out = static_cast<OpKind>(i);
      return true;
    }
  return false;
}

uint32_t Memory::addrWidth() const {
  uint32_t w = 1;
  while (w < 32 && (uint64_t(1) << w) < depth)
    ++w;
  return w;
}

int Module::findPort(std::string_view n) const {
  for (size_t i = 0; i < ports.size(); ++i)
    if (ports[i].name == n)
      return static_cast<int>(i);
  return -1;
}

ValueId Module::inputValue(uint32_t port) const {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].kind == OpKind::Input && ops[i].attr0 == port)
      return static_cast<ValueId>(i);
  return kNoValue;
}

ValueId Module::outputOp(uint32_t port) const {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].kind == OpKind::Output && ops[i].attr0 == port)
      return static_cast<ValueId>(i);
  return kNoValue;
}

std::vector<ValueId *> Module::allUses() {
  std::vector<ValueId *> uses;
  for (Op &o : ops)
    for (ValueId &v : o.operands)
      uses.push_back(&v);
  for (Instance &inst : instances)
    for (ValueId &v : inst.inputs)
      if (v != kNoValue)
        uses.push_back(&v);
  return uses;
}

void Module::replaceAllUsesWith(ValueId from, ValueId to) {
  for (ValueId *u : allUses())
    if (*u == from)
      *u = to;
}

std::vector<ValueId> Module::eraseOps(const std::vector<bool> &dead) {
  std::vector<ValueId> remap(ops.size(), kNoValue);
  std::vector<Op> kept;
  kept.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i < dead.size() && dead[i])
      continue;
    remap[i] = static_cast<ValueId>(kept.size());
    kept.push_back(std::move(ops[i]));
  }
  ops = std::move(kept);
  for (ValueId *u : allUses())
    if (*u != kNoValue) {
      assert(remap[*u] != kNoValue && "eraseOps: a removed op is still used");
      *u = remap[*u];
    }
  return remap;
}

Module &Design::addModule(std::string name) {
  assert(!find(name) && "duplicate module name");
  modules_.push_back(std::make_unique<Module>(std::move(name)));
  return *modules_.back();
}

Module *Design::find(std::string_view name) {
  for (auto &m : modules_)
    if (m->name() == name)
      return m.get();
  return nullptr;
}

const Module *Design::find(std::string_view name) const {
  for (auto &m : modules_)
    if (m->name() == name)
      return m.get();
  return nullptr;
}

const Module *Design::top() const {
  if (!topName.empty())
    return find(topName);
  std::set<std::string> used;
  for (auto &m : modules_)
    for (auto &inst : m->instances)
      used.insert(inst.module);
  const Module *found = nullptr;
  for (auto &m : modules_)
    if (!used.count(m->name())) {
      if (found)
        return nullptr;
      found = m.get();
    }
  return found;
}

Module *Design::top() { return const_cast<Module *>(static_cast<const Design *>(this)->top()); }

std::vector<const Module *> Design::postOrder() const {
  std::vector<const Module *> order;
  std::set<const Module *> done, active;
  std::function<void(const Module *)> visit = [&](const Module *m) {
    if (done.count(m) || active.count(m))
      return;
    active.insert(m);
    for (auto &inst : m->instances)
      if (const Module *c = find(inst.module))
        visit(c);
    active.erase(m);
    done.insert(m);
    order.push_back(m);
  };
  if (const Module *t = top())
    visit(t);
  for (auto &m : modules_)
    visit(m.get());
  return order;
}

//===----------------------------------------------------------------------===//
// Builder
//===----------------------------------------------------------------------===//

ValueId ModuleBuilder::push(Op op) {
  op.loc = loc_;
  m_.ops.push_back(std::move(op));
  return static_cast<ValueId>(m_.ops.size() - 1);
}

ValueId ModuleBuilder::input(std::string name, uint32_t width) {
  m_.ports.push_back(Port{name, PortDir::In, width, loc_});
  Op op;
  op.kind = OpKind::Input;
  op.width = width;
  op.attr0 = static_cast<uint32_t>(m_.ports.size() - 1);
  op.name = std::move(name);
  return push(std::move(op));
}

uint32_t ModuleBuilder::output(std::string name, uint32_t width, ValueId driver) {
  m_.ports.push_back(Port{std::move(name), PortDir::Out, width, loc_});
  uint32_t port = static_cast<uint32_t>(m_.ports.size() - 1);
  if (driver != kNoValue)
    drive(port, driver);
  return port;
}

void ModuleBuilder::drive(uint32_t port, ValueId driver) {
  assert(m_.ports[port].dir == PortDir::Out);
  assert(m_.width(driver) == m_.ports[port].width);
  Op op;
  op.kind = OpKind::Output;
  op.width = 0;
  op.attr0 = port;
  op.operands = {driver};
  push(std::move(op));
}

ValueId ModuleBuilder::constant(const BitVec &v) {
  Op op;
  op.kind = OpKind::Const;
  op.width = v.width();
  op.value = v;
  return push(std::move(op));
}

ValueId ModuleBuilder::binary(OpKind k, ValueId a, ValueId b) {
  OpClass c = opClass(k);
  [[maybe_unused]] bool shift = k == OpKind::Shl || k == OpKind::ShrU || k == OpKind::ShrS;
  assert(c == OpClass::Binary || c == OpClass::Cmp || shift);
  assert(shift || m_.width(a) == m_.width(b));
  Op op;
  op.kind = k;
  op.width = c == OpClass::Cmp ? 1 : m_.width(a);
  op.operands = {a, b};
  return push(std::move(op));
}

ValueId ModuleBuilder::unary(OpKind k, ValueId a) {
  assert(k == OpKind::Not || k == OpKind::RedAnd || k == OpKind::RedOr || k == OpKind::RedXor);
  Op op;
  op.kind = k;
  op.width = k == OpKind::Not ? m_.width(a) : 1;
  op.operands = {a};
  return push(std::move(op));
}

ValueId ModuleBuilder::mux(ValueId cond, ValueId t, ValueId f) {
  assert(m_.width(cond) == 1 && m_.width(t) == m_.width(f));
  Op op;
  op.kind = OpKind::Mux;
  op.width = m_.width(t);
  op.operands = {cond, t, f};
  return push(std::move(op));
}

ValueId ModuleBuilder::concat(const std::vector<ValueId> &parts) {
  assert(!parts.empty());
  if (parts.size() == 1)
    return parts[0];
  Op op;
  op.kind = OpKind::Concat;
  for (ValueId p : parts)
    op.width += m_.width(p);
  op.operands = parts;
  return push(std::move(op));
}

ValueId ModuleBuilder::extract(ValueId a, uint32_t lo, uint32_t width) {
  assert(lo + width <= m_.width(a) && width > 0);
  if (lo == 0 && width == m_.width(a))
    return a;
  Op op;
  op.kind = OpKind::Extract;
  op.width = width;
  op.attr0 = lo;
  op.operands = {a};
  return push(std::move(op));
}

ValueId ModuleBuilder::zext(ValueId a, uint32_t width) {
  assert(width >= m_.width(a));
  if (width == m_.width(a))
    return a;
  Op op;
  op.kind = OpKind::ZExt;
  op.width = width;
  op.operands = {a};
  return push(std::move(op));
}

ValueId ModuleBuilder::sext(ValueId a, uint32_t width) {
  assert(width >= m_.width(a));
  if (width == m_.width(a))
    return a;
  Op op;
  op.kind = OpKind::SExt;
  op.width = width;
  op.operands = {a};
  return push(std::move(op));
}

ValueId ModuleBuilder::resize(ValueId a, uint32_t width) {
  uint32_t w = m_.width(a);
  if (w == width)
    return a;
  return w < width ? zext(a, width) : extract(a, 0, width);
}

ValueId ModuleBuilder::regDecl(ValueId clock, uint32_t width, std::string name,
                               const RegOptions &opts) {
  Op op;
  op.kind = OpKind::Reg;
  op.width = width;
  op.operands = {clock, kNoValue};
  if (opts.reset != kNoValue) {
    op.flags |= kRegHasReset;
    if (opts.asyncReset)
      op.flags |= kRegAsyncReset;
    op.operands.push_back(opts.reset);
  }
  if (opts.enable != kNoValue) {
    op.flags |= kRegHasEnable;
    op.operands.push_back(opts.enable);
  }
  op.value = opts.resetValue.width() ? opts.resetValue.resize(width) : BitVec::zeros(width);
  op.init = opts.init.width() ? opts.init.resize(width) : BitVec::zeros(width);
  op.name = std::move(name);
  return push(std::move(op));
}

void ModuleBuilder::setNext(ValueId r, ValueId next) {
  assert(m_.op(r).kind == OpKind::Reg && m_.width(next) == m_.width(r));
  m_.op(r).operands[1] = next;
}

ValueId ModuleBuilder::reg(ValueId clock, ValueId next, std::string name,
                           const RegOptions &opts) {
  ValueId r = regDecl(clock, m_.width(next), std::move(name), opts);
  setNext(r, next);
  return r;
}

uint32_t ModuleBuilder::memory(std::string name, uint32_t width, uint32_t depth,
                               std::vector<BitVec> init) {
  Memory mem;
  mem.name = std::move(name);
  mem.width = width;
  mem.depth = depth;
  mem.init = std::move(init);
  mem.loc = loc_;
  m_.memories.push_back(std::move(mem));
  return static_cast<uint32_t>(m_.memories.size() - 1);
}

ValueId ModuleBuilder::memReadSync(uint32_t mem, ValueId clock, ValueId addr, ValueId enable) {
  Op op;
  op.kind = OpKind::MemRead;
  op.width = m_.memories[mem].width;
  op.attr0 = mem;
  op.flags = kMemReadSync;
  op.operands = {clock, addr};
  if (enable != kNoValue) {
    op.flags |= kMemReadHasEnable;
    op.operands.push_back(enable);
  }
  return push(std::move(op));
}

ValueId ModuleBuilder::memReadAsync(uint32_t mem, ValueId addr) {
  Op op;
  op.kind = OpKind::MemRead;
  op.width = m_.memories[mem].width;
  op.attr0 = mem;
  op.operands = {addr};
  return push(std::move(op));
}

void ModuleBuilder::memWrite(uint32_t mem, ValueId clock, ValueId addr, ValueId data,
                             ValueId enable) {
  assert(m_.width(data) == m_.memories[mem].width);
  Op op;
  op.kind = OpKind::MemWrite;
  op.width = 0;
  op.attr0 = mem;
  op.operands = {clock, addr, data, enable};
  push(std::move(op));
}

uint32_t ModuleBuilder::instance(const Module &callee, std::string name, uint32_t count) {
  Instance inst;
  inst.name = std::move(name);
  inst.module = callee.name();
  inst.count = count;
  inst.inputs.assign(callee.ports.size(), kNoValue);
  inst.loc = loc_;
  m_.instances.push_back(std::move(inst));
  uint32_t idx = static_cast<uint32_t>(m_.instances.size() - 1);
  if (callees_.size() <= idx)
    callees_.resize(idx + 1, nullptr);
  callees_[idx] = &callee;
  return idx;
}

void ModuleBuilder::connect(uint32_t inst, std::string_view port, ValueId v) {
  const Module *callee = inst < callees_.size() ? callees_[inst] : nullptr;
  assert(callee && "connect: instance not created by this builder");
  int p = callee->findPort(port);
  assert(p >= 0 && callee->ports[p].dir == PortDir::In);
  assert(m_.width(v) == callee->ports[p].width * m_.instances[inst].count);
  m_.instances[inst].inputs[p] = v;
}

ValueId ModuleBuilder::instOutput(uint32_t inst, std::string_view port) {
  const Module *callee = inst < callees_.size() ? callees_[inst] : nullptr;
  assert(callee && "instOutput: instance not created by this builder");
  int p = callee->findPort(port);
  assert(p >= 0 && callee->ports[p].dir == PortDir::Out);
  auto key = std::make_pair(inst, static_cast<uint32_t>(p));
  if (auto it = instOuts_.find(key); it != instOuts_.end())
    return it->second;
  Op op;
  op.kind = OpKind::InstOut;
  op.width = callee->ports[p].width * m_.instances[inst].count;
  op.attr0 = inst;
  op.attr1 = static_cast<uint32_t>(p);
  ValueId v = push(std::move(op));
  instOuts_[key] = v;
  return v;
}

ValueId ModuleBuilder::name(ValueId v, std::string n) {
  m_.op(v).name = std::move(n);
  return v;
}

} // namespace tessera::hw
