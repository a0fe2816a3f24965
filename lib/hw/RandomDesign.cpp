//===- RandomDesign.cpp - seeded random well-formed hw designs -------------===//
//
// Modules are generated bottom-up (deepest children first, the top last). Inside a module
// the generator keeps a pool of values and grows it op by op, picking operands mostly
// among recent values so that expressions get deep. For every value it records the set of
// module input ports it depends on combinationally (registers and sync memory reads
// depend on none); instance outputs get the union over the callee's port dependencies.
// An instance input may then be fed from an output of the same instance (or, for arrays,
// from the previous element's output: a chain) exactly when that output does not depend
// on the input, so no combinational cycle can arise. Values left unused at the end are
// XOR-folded into the outputs so that every op is observable.
//
//===----------------------------------------------------------------------===//
#include "hw/RandomDesign.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <set>

namespace tessera::hw {

void RandomDesignStats::add(const RandomDesignStats &o) {
  for (size_t i = 0; i < ops.size(); ++i)
    ops[i] += o.ops[i];
  modules += o.modules;
  instances += o.instances;
  arrays += o.arrays;
  arrayElements += o.arrayElements;
  chainedArrays += o.chainedArrays;
  feedbackInstances += o.feedbackInstances;
  syncResetRegs += o.syncResetRegs;
  asyncResetRegs += o.asyncResetRegs;
  enableRegs += o.enableRegs;
  memories += o.memories;
  syncReads += o.syncReads;
  asyncReads += o.asyncReads;
  writePorts += o.writePorts;
  zeroDivisors += o.zeroDivisors;
  wideValues += o.wideValues;
  flatOps += o.flatOps;
}

namespace {

class Rng {
public:
  explicit Rng(uint64_t seed) : s_(seed * 0x2545f4914f6cdd1dULL + 0x9e3779b97f4a7c15ULL) { next(); }
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi].
  uint32_t range(uint32_t lo, uint32_t hi) {
    if (hi <= lo)
      return lo;
    return lo + static_cast<uint32_t>(next() % (uint64_t(hi) - lo + 1));
  }
  /// True with probability pct/100.
  bool chance(uint32_t pct) { return next() % 100 < pct; }
  template <typename T> const T &pick(const std::vector<T> &v) {
    assert(!v.empty());
    return v[next() % v.size()];
  }

  BitVec bits(uint32_t width) {
    std::vector<uint64_t> words((width + 63) / 64);
    for (auto &w : words)
      w = next();
    return BitVec::fromWords(width, words);
  }
  /// Random bits, or one of the values that find corner cases (0, 1, all ones, MIN, MAX).
  BitVec interesting(uint32_t width) {
    switch (range(0, 9)) {
    case 0:
      return BitVec::zeros(width);
    case 1:
      return BitVec(width, 1);
    case 2:
      return BitVec::ones(width);
    case 3: {
      BitVec v = BitVec::zeros(width);
      v.setBit(width - 1, true);
      return v;
    }
    case 4: {
      BitVec v = BitVec::ones(width);
      v.setBit(width - 1, false);
      return v;
    }
    case 5:
      return BitVec(width, range(0, 15));
    default:
      return bits(width);
    }
  }

private:
  uint64_t s_;
};

/// What a parent needs to know about a generated module.
struct ModInfo {
  const Module *module = nullptr;
  uint32_t level = 0;
  /// By port index: for output ports the mask of input ports they depend on
  /// combinationally (bit = port index).
  std::vector<uint64_t> outDeps;
};

class ModuleGen {
public:
  ModuleGen(Rng &rng, const RandomDesignOptions &o, RandomDesignStats &st, Module &m,
            uint32_t level, const std::vector<const ModInfo *> &children)
      : rng_(rng), o_(o), st_(st), m_(m), b_(m), isTop_(level == 0), level_(level),
        children_(children) {}

  ModInfo run();
  /// Child modules this module must instantiate (the top: those no one else uses).
  std::vector<const ModInfo *> mustInstantiate;

private:
  uint32_t randWidth() {
    uint32_t r = rng_.range(0, 99), w;
    if (r < 12)
      w = 1;
    else if (r < 42)
      w = rng_.range(2, 8);
    else if (r < 57)
      w = rng_.range(9, 16);
    else if (r < 70)
      w = rng_.range(17, 32);
    else if (r < 85)
      w = rng_.range(33, 64);
    else
      w = rng_.range(65, std::max<uint32_t>(65, o_.maxWidth));
    return std::max<uint32_t>(1, std::min(w, o_.maxWidth));
  }

  /// Computes dependency masks for ops created since the last call.
  void syncDeps();
  uint64_t deps(ValueId v) {
    syncDeps();
    return deps_[v];
  }
  void addPool(ValueId v) {
    syncDeps();
    pool_.push_back(v);
  }

  ValueId pick() {
    assert(!pool_.empty());
    if (pool_.size() > 8 && rng_.chance(55))
      return pool_[pool_.size() - 1 - rng_.range(0, 7)];
    return rng_.pick(pool_);
  }
  /// A pool value adapted to `w` bits (zext, sext, replication, extract at an offset).
  ValueId pickWidth(uint32_t w) { return adapt(pick(), w); }
  ValueId adapt(ValueId v, uint32_t w);
  /// A 1-bit value: an existing one, a bit of a value, a comparison or a reduction.
  ValueId pickBit();
  /// Folds `v` into `w` bits keeping every bit observable (XOR of w-bit chunks).
  ValueId foldTo(ValueId v, uint32_t w);
  ValueId constant(uint32_t w) { return b_.constant(rng_.interesting(w)); }
  /// A name for a value: w<N>, or (trickyNames) one that a printer or emitter must
  /// legalize or make unique.
  std::string valueName() {
    static const char *kTricky[] = {
        "reg",      "wire",      "input",     "output",  "module", "begin",  "end",     "always",
        "assign",   "logic",     "int",       "bit",     "class",  "new",    "this",    "do",
        "signed",   "in0",       "out0",      "r0",      "mem0",   "u0",     "clk",     "rst",
        "_5",       "w0",        "a.b",       "x[3]",    "my sig", "9lives", "$dollar", "__Vtemp",
        "diff_top", "x__DOT__y", "tb_in_clk", "_unused", "i",      "genvar", "g",       "\\esc"};
    if (o_.trickyNames && rng_.chance(35))
      return kTricky[rng_.range(0, std::size(kTricky) - 1)];
    return "w" + std::to_string(nameCounter_++);
  }

  void genOp();
  ValueId genDivisor(uint32_t w);
  void genRegisters();
  void genMemories();
  void genInstance(const ModInfo &child);
  void finish();

  Rng &rng_;
  const RandomDesignOptions &o_;
  RandomDesignStats &st_;
  Module &m_;
  ModuleBuilder b_;
  bool isTop_;
  uint32_t level_; ///< 0: the top; deeper modules get fewer ops (they are copied more)
  std::vector<const ModInfo *> children_;
  std::vector<const ModInfo *> instChildren_; ///< by instance index

  ValueId clk_ = kNoValue, rst_ = kNoValue;
  std::vector<ValueId> pool_;
  std::vector<uint64_t> deps_;
  std::vector<ValueId> regs_;
  std::vector<uint32_t> mems_;
  uint32_t nameCounter_ = 0;
};

void ModuleGen::syncDeps() {
  while (deps_.size() < m_.ops.size()) {
    const Op &op = m_.ops[deps_.size()];
    uint64_t d = 0;
    switch (op.kind) {
    case OpKind::Input:
      d = op.attr0 < 64 ? uint64_t(1) << op.attr0 : 0;
      break;
    case OpKind::Const:
    case OpKind::Reg:
    case OpKind::MemWrite:
    case OpKind::Output:
      break;
    case OpKind::MemRead:
      if (!op.memSync())
        d = deps_[op.memAddr()];
      break;
    case OpKind::InstOut: {
      const Instance &inst = m_.instances[op.attr0];
      uint64_t calleeMask = instChildren_[op.attr0]->outDeps[op.attr1];
      for (uint32_t p = 0; p < inst.inputs.size(); ++p)
        if ((calleeMask >> p) & 1) {
          assert(inst.inputs[p] != kNoValue && "instance output created before its inputs");
          d |= deps_[inst.inputs[p]];
        }
      break;
    }
    default:
      for (ValueId v : op.operands)
        d |= deps_[v];
      break;
    }
    deps_.push_back(d);
  }
}

ValueId ModuleGen::adapt(ValueId v, uint32_t w) {
  uint32_t vw = m_.width(v);
  if (vw == w)
    return v;
  if (vw < w) {
    switch (rng_.range(0, 3)) {
    case 0:
      return b_.sext(v, w);
    case 1: {
      // Replicate, then cut.
      std::vector<ValueId> parts;
      uint32_t total = 0;
      while (total < w) {
        parts.push_back(v);
        total += vw;
      }
      ValueId c = b_.concat(parts);
      return b_.extract(c, 0, w);
    }
    default:
      return b_.zext(v, w);
    }
  }
  uint32_t lo = rng_.chance(50) ? 0 : rng_.range(0, vw - w);
  return b_.extract(v, lo, w);
}

ValueId ModuleGen::pickBit() {
  switch (rng_.range(0, 5)) {
  case 0:
  case 1: {
    for (int tries = 0; tries < 6; ++tries) {
      ValueId v = pick();
      if (m_.width(v) == 1)
        return v;
    }
    [[fallthrough]];
  }
  case 2: {
    ValueId v = pick();
    return b_.extract(v, rng_.range(0, m_.width(v) - 1), 1);
  }
  case 3: {
    ValueId a = pick();
    static constexpr OpKind kCmps[] = {OpKind::Eq,  OpKind::Ne,  OpKind::LtU, OpKind::LtS,
                                       OpKind::LeU, OpKind::LeS, OpKind::GtU, OpKind::GtS,
                                       OpKind::GeU, OpKind::GeS};
    ValueId c = rng_.chance(50) ? constant(m_.width(a)) : pickWidth(m_.width(a));
    return b_.binary(kCmps[rng_.range(0, 9)], a, c);
  }
  default: {
    static constexpr OpKind kReds[] = {OpKind::RedOr, OpKind::RedXor, OpKind::RedAnd};
    ValueId a = pick();
    return b_.unary(kReds[rng_.range(0, 2)], a);
  }
  }
}

ValueId ModuleGen::foldTo(ValueId v, uint32_t w) {
  // XOR of at most four chunks per step, so that folding a wide value into a narrow
  // output stays a handful of ops.
  auto xorChunks = [&](ValueId x, uint32_t cw) {
    uint32_t xw = m_.width(x);
    ValueId acc = kNoValue;
    for (uint32_t lo = 0; lo < xw; lo += cw) {
      ValueId chunk = b_.zext(b_.extract(x, lo, std::min(cw, xw - lo)), cw);
      acc = acc == kNoValue ? chunk : b_.bitXor(acc, chunk);
    }
    return acc;
  };
  while (m_.width(v) > 4 * w)
    v = xorChunks(v, (m_.width(v) + 3) / 4);
  if (m_.width(v) <= w)
    return b_.zext(v, w);
  return xorChunks(v, w);
}

ValueId ModuleGen::genDivisor(uint32_t w) {
  switch (rng_.range(0, 5)) {
  case 0: {
    // Few live bits: zero often.
    BitVec mask = BitVec::zeros(w);
    mask.setBit(rng_.range(0, w - 1), true);
    if (w > 1 && rng_.chance(50))
      mask.setBit(0, true);
    ++st_.zeroDivisors;
    return b_.bitAnd(pickWidth(w), b_.constant(mask));
  }
  case 1:
    ++st_.zeroDivisors;
    return b_.mux(pickBit(), b_.constant(BitVec::zeros(w)), pickWidth(w));
  case 2:
    if (rng_.chance(30)) {
      ++st_.zeroDivisors;
      return b_.constant(BitVec::zeros(w));
    }
    return constant(w);
  case 3:
    // -1, for MIN / -1.
    return b_.mux(pickBit(), b_.constant(BitVec::ones(w)), pickWidth(w));
  default:
    return pickWidth(w);
  }
}

void ModuleGen::genOp() {
  // Kinds with weights; division only when enabled.
  enum Choice {
    Arith,
    Div,
    Logic,
    NotOp,
    Shift,
    Cmp,
    MuxOp,
    ConcatOp,
    ExtractOp,
    ExtOp,
    Red,
    ConstOp,
    NumChoices
  };
  static constexpr uint32_t kWeights[NumChoices] = {14, 6, 12, 3, 9, 10, 10, 6, 8, 6, 4, 3};
  uint32_t total = 0;
  for (uint32_t i = 0; i < NumChoices; ++i)
    total += (i == Div && !o_.division) ? 0 : kWeights[i];
  uint32_t r = rng_.range(0, total - 1);
  Choice c = Arith;
  for (uint32_t i = 0; i < NumChoices; ++i) {
    uint32_t wgt = (i == Div && !o_.division) ? 0 : kWeights[i];
    if (r < wgt) {
      c = static_cast<Choice>(i);
      break;
    }
    r -= wgt;
  }

  ValueId res = kNoValue;
  uint32_t w = rng_.chance(60) ? m_.width(pick()) : randWidth();
  w = std::min(w, o_.maxWidth);
  switch (c) {
  case Arith: {
    static constexpr OpKind kK[] = {OpKind::Add, OpKind::Sub, OpKind::Mul};
    res = b_.binary(kK[rng_.range(0, 2)], pickWidth(w), pickWidth(w));
    break;
  }
  case Div: {
    static constexpr OpKind kK[] = {OpKind::DivU, OpKind::DivS, OpKind::RemU, OpKind::RemS};
    OpKind k = kK[rng_.range(0, 3)];
    ValueId a = pickWidth(w);
    if (rng_.chance(25)) {
      BitVec minv = BitVec::zeros(w);
      minv.setBit(w - 1, true);
      a = b_.mux(pickBit(), b_.constant(minv), a);
    }
    res = b_.binary(k, a, genDivisor(w));
    break;
  }
  case Logic: {
    static constexpr OpKind kK[] = {OpKind::And, OpKind::Or, OpKind::Xor};
    res = b_.binary(kK[rng_.range(0, 2)], pickWidth(w), pickWidth(w));
    break;
  }
  case NotOp:
    res = b_.bitNot(pickWidth(w));
    break;
  case Shift: {
    static constexpr OpKind kK[] = {OpKind::Shl, OpKind::ShrU, OpKind::ShrS};
    ValueId a = pickWidth(w);
    ValueId amt;
    uint32_t lg = 1;
    while ((uint64_t(1) << lg) <= w)
      ++lg;
    switch (rng_.range(0, 3)) {
    case 0: // narrow: amounts >= width happen often
      amt = pickWidth(lg + rng_.range(0, 1));
      break;
    case 1: { // constant, possibly >= width
      uint32_t aw = lg + 1;
      amt = b_.constant(BitVec(aw, rng_.range(0, std::min<uint32_t>(w + 3, (1u << aw) - 1))));
      break;
    }
    case 2: // wide amount (high bits make it huge)
      amt = pickWidth(
          rng_.range(1, std::max<uint32_t>(1, std::min(o_.maxWidth, o_.maxShiftAmountWidth))));
      break;
    default:
      amt = pickWidth(rng_.range(1, 8));
      break;
    }
    res = b_.binary(kK[rng_.range(0, 2)], a, amt);
    break;
  }
  case Cmp: {
    static constexpr OpKind kK[] = {OpKind::Eq,  OpKind::Ne,  OpKind::LtU, OpKind::LtS,
                                    OpKind::LeU, OpKind::LeS, OpKind::GtU, OpKind::GtS,
                                    OpKind::GeU, OpKind::GeS};
    ValueId a = pickWidth(w);
    ValueId bb = rng_.chance(30) ? constant(w) : pickWidth(w);
    res = b_.binary(kK[rng_.range(0, 9)], a, bb);
    break;
  }
  case MuxOp:
    res = b_.mux(pickBit(), pickWidth(w), pickWidth(w));
    break;
  case ConcatOp: {
    uint32_t n = rng_.range(2, 4);
    std::vector<ValueId> parts;
    uint32_t budget = std::max<uint32_t>(o_.maxWidth, 2);
    for (uint32_t i = 0; i < n && budget > 0; ++i) {
      uint32_t pw = std::min(budget, rng_.chance(50) ? m_.width(pick()) : randWidth());
      pw = std::max<uint32_t>(1, std::min(pw, budget - std::min(budget - 1, n - 1 - i)));
      parts.push_back(pickWidth(pw));
      budget -= pw;
    }
    res = b_.concat(parts);
    break;
  }
  case ExtractOp: {
    ValueId a = pick();
    uint32_t aw = m_.width(a);
    uint32_t lo = rng_.range(0, aw - 1);
    res = b_.extract(a, lo, rng_.range(1, aw - lo));
    break;
  }
  case ExtOp: {
    ValueId a = pick();
    uint32_t aw = m_.width(a);
    if (aw >= o_.maxWidth) {
      res = b_.extract(a, 0, rng_.range(1, o_.maxWidth));
      break;
    }
    uint32_t tw = rng_.range(aw + 1, std::min(o_.maxWidth, aw + rng_.range(1, 70)));
    res = rng_.chance(50) ? b_.zext(a, tw) : b_.sext(a, tw);
    break;
  }
  case Red: {
    static constexpr OpKind kK[] = {OpKind::RedAnd, OpKind::RedOr, OpKind::RedXor};
    OpKind k = kK[rng_.range(0, 2)];
    ValueId a = pick();
    // RedAnd of random wide values is almost always 0: set most bits first.
    if (k == OpKind::RedAnd && m_.width(a) > 3 && rng_.chance(70)) {
      BitVec mask = BitVec::ones(m_.width(a));
      mask.setBit(rng_.range(0, m_.width(a) - 1), false);
      a = b_.bitOr(a, b_.constant(mask));
    }
    res = b_.unary(k, a);
    break;
  }
  case ConstOp:
    res = constant(randWidth());
    break;
  case NumChoices:
    break;
  }
  if (res != kNoValue) {
    if (rng_.chance(10) && m_.op(res).name.empty() && m_.op(res).kind != OpKind::Input)
      b_.name(res, valueName());
    addPool(res);
  }
}

void ModuleGen::genRegisters() {
  if (!o_.registers)
    return;
  uint32_t n = rng_.range(isTop_ ? 1 : 0, o_.maxRegs);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t w = randWidth();
    RegOptions ro;
    uint32_t kind = rng_.range(0, 99);
    if (kind < 30) {
      // no reset
    } else if (kind < 55) {
      ro.reset = rst_;
      ++st_.syncResetRegs;
    } else if (kind < 70) {
      ro.reset = pickBit();
      ++st_.syncResetRegs;
    } else if (o_.asyncReset) {
      ro.reset = rst_;
      ro.asyncReset = true;
      ++st_.asyncResetRegs;
    }
    if (rng_.chance(40)) {
      ro.enable = pickBit();
      ++st_.enableRegs;
    }
    ro.resetValue = rng_.interesting(w);
    ro.init = rng_.chance(85) ? rng_.bits(w) : BitVec::zeros(w);
    std::string name = "r" + std::to_string(i);
    if (o_.trickyNames && rng_.chance(10))
      name = valueName();
    ValueId r = b_.regDecl(clk_, w, name, ro);
    regs_.push_back(r);
    addPool(r);
  }
}

void ModuleGen::genMemories() {
  if (!o_.memories)
    return;
  uint32_t n = rng_.range(0, o_.maxMemories);
  static constexpr uint32_t kDepths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 31, 32};
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t w = randWidth();
    uint32_t depth = kDepths[rng_.range(0, std::size(kDepths) - 1)];
    std::vector<BitVec> init;
    if (rng_.chance(60))
      for (uint32_t k = 0; k < depth; ++k)
        init.push_back(rng_.interesting(w));
    uint32_t mem = b_.memory("mem" + std::to_string(i), w, depth, std::move(init));
    mems_.push_back(mem);
    ++st_.memories;
    uint32_t aw = m_.memories[mem].addrWidth();
    uint32_t reads = rng_.range(1, 3);
    for (uint32_t k = 0; k < reads; ++k) {
      ValueId addr = pickWidth(aw);
      ValueId v;
      if (rng_.chance(60)) {
        v = b_.memReadSync(mem, clk_, addr, rng_.chance(50) ? pickBit() : kNoValue);
        ++st_.syncReads;
      } else {
        v = b_.memReadAsync(mem, addr);
        ++st_.asyncReads;
      }
      addPool(v);
    }
  }
}

void ModuleGen::genInstance(const ModInfo &child) {
  const Module &cm = *child.module;
  uint32_t count = 1;
  if (o_.arrays && rng_.chance(45)) {
    // Mostly small arrays: Verilator flattens them, and its build time is the budget.
    uint32_t maxCount = std::max<uint32_t>(2, o_.maxArrayCount);
    count =
        rng_.chance(75) ? rng_.range(2, std::min<uint32_t>(4, maxCount)) : rng_.range(2, maxCount);
  }
  uint32_t idx = b_.instance(cm, "u" + std::to_string(m_.instances.size()), count);
  if (instChildren_.size() <= idx)
    instChildren_.resize(idx + 1);
  instChildren_[idx] = &child;
  ++st_.instances;
  if (count > 1) {
    ++st_.arrays;
    st_.arrayElements += count;
  }

  auto replicate = [&](ValueId v) {
    if (count == 1)
      return v;
    return b_.concat(std::vector<ValueId>(count, v));
  };

  // Data input ports and output ports of the callee.
  std::vector<uint32_t> ins, outs;
  for (uint32_t p = 0; p < cm.ports.size(); ++p) {
    if (cm.ports[p].dir == PortDir::Out)
      outs.push_back(p);
    else if (cm.ports[p].name != "clk" && cm.ports[p].name != "rst")
      ins.push_back(p);
  }
  b_.connect(idx, "clk", replicate(clk_));
  b_.connect(idx, "rst", replicate(rst_));

  // Which inputs are fed back from this instance's own outputs: those with an output
  // that does not depend on them; the outputs used must not depend on any fed-back input.
  std::vector<uint32_t> fed;
  uint64_t fedMask = 0;
  if (o_.instanceFeedback || count > 1) {
    for (uint32_t p : ins) {
      bool wantChain = count > 1 ? rng_.chance(50) : (o_.instanceFeedback && rng_.chance(30));
      if (!wantChain)
        continue;
      fed.push_back(p);
      fedMask |= uint64_t(1) << p;
    }
  }
  std::vector<uint32_t> sources; // outputs that depend on no fed-back input
  for (uint32_t o : outs)
    if (!(child.outDeps[o] & fedMask))
      sources.push_back(o);
  if (sources.empty()) {
    fed.clear();
    fedMask = 0;
  }

  // Non-fed inputs from the pool: one value, or per element.
  for (uint32_t p : ins) {
    if ((fedMask >> p) & 1)
      continue;
    uint32_t w = cm.ports[p].width;
    ValueId v;
    if (count > 1 && rng_.chance(50)) {
      std::vector<ValueId> parts;
      for (uint32_t e = 0; e < count; ++e)
        parts.push_back(pickWidth(w));
      v = b_.concat(parts);
    } else {
      v = pickWidth(w * count);
    }
    b_.connect(idx, cm.ports[p].name, v);
  }

  // Fed-back inputs.
  std::set<uint32_t> fedFrom; // outputs read by the feedback
  for (uint32_t p : fed) {
    uint32_t o = rng_.pick(sources);
    fedFrom.insert(o);
    ValueId out = b_.instOutput(idx, cm.ports[o].name);
    syncDeps();
    uint32_t w = cm.ports[p].width, ow = cm.ports[o].width;
    ValueId v;
    if (count == 1) {
      v = adapt(out, w);
      if (rng_.chance(40))
        v = b_.bitXor(v, pickWidth(w));
      ++st_.feedbackInstances;
    } else {
      // Element e fed from element e-1 (element 0 from the pool, or from the last element:
      // a ring), MSB first.
      bool ring = rng_.chance(30);
      std::vector<ValueId> parts;
      for (uint32_t e = count; e-- > 0;) {
        if (e == 0 && !ring) {
          parts.push_back(pickWidth(w));
          continue;
        }
        uint32_t src = e == 0 ? count - 1 : e - 1;
        parts.push_back(adapt(b_.extract(out, src * ow, ow), w));
      }
      v = b_.concat(parts);
      ++st_.chainedArrays;
    }
    b_.connect(idx, cm.ports[p].name, v);
  }

  // Some outputs stay unread (unless feedback already uses them).
  for (uint32_t o : outs) {
    if (!fedFrom.count(o) && outs.size() > 1 && rng_.chance(15))
      continue;
    ValueId v = b_.instOutput(idx, cm.ports[o].name);
    addPool(v);
  }
}

void ModuleGen::finish() {
  // Register next values and memory writes may use anything (state breaks cycles).
  for (ValueId r : regs_) {
    ValueId next = pickWidth(m_.width(r));
    if (rng_.chance(30))
      next = b_.add(next, b_.constant(BitVec(m_.width(r), 1)));
    b_.setNext(r, next);
  }
  for (uint32_t mem : mems_) {
    uint32_t w = m_.memories[mem].width, aw = m_.memories[mem].addrWidth();
    uint32_t writes = rng_.range(1, 3);
    ValueId sharedAddr = pickWidth(aw);
    for (uint32_t k = 0; k < writes; ++k) {
      // Ports that often hit the same address, to check that the later one wins.
      ValueId addr = rng_.chance(40) ? sharedAddr : pickWidth(aw);
      ValueId en = rng_.chance(25) ? b_.constant(BitVec(1, 1)) : pickBit();
      b_.memWrite(mem, clk_, addr, pickWidth(w), en);
      ++st_.writePorts;
    }
  }

  // Outputs: fold every unused value in, so that every op is observable. Child modules
  // get a first output that depends on state only when they have state (so that parents
  // can feed instance inputs from it).
  syncDeps();
  std::vector<uint32_t> uses(m_.ops.size(), 0);
  for (const Op &op : m_.ops)
    for (ValueId v : op.operands)
      if (v != kNoValue)
        ++uses[v];
  for (const Instance &inst : m_.instances)
    for (ValueId v : inst.inputs)
      if (v != kNoValue)
        ++uses[v];
  std::vector<ValueId> unused, stateOnly;
  for (ValueId v = 0; v < m_.ops.size(); ++v) {
    const Op &op = m_.op(v);
    // The clock is never data: Verilog simulators may sample it either side of the edge.
    if (!op.hasResult() || op.kind == OpKind::Const || v == clk_)
      continue;
    if (deps_[v] == 0 && op.kind != OpKind::Input)
      stateOnly.push_back(v);
    if (uses[v] == 0)
      unused.push_back(v);
  }

  uint32_t nOut = rng_.range(1, o_.maxPorts);
  bool registeredFirst = !isTop_ && !stateOnly.empty();
  if (registeredFirst)
    nOut = std::max<uint32_t>(nOut, 2);
  std::vector<std::vector<ValueId>> parts(nOut);
  if (registeredFirst) {
    uint32_t k = rng_.range(1, 3);
    for (uint32_t i = 0; i < k; ++i)
      parts[0].push_back(rng_.pick(stateOnly));
  }
  for (ValueId v : unused) {
    uint32_t first = (registeredFirst && deps_[v] != 0) ? 1 : 0;
    parts[rng_.range(first, nOut - 1)].push_back(v);
  }
  for (uint32_t i = 0; i < nOut; ++i) {
    uint32_t w = randWidth();
    ValueId drv = kNoValue;
    if (parts[i].empty()) {
      drv = (i == 0 && registeredFirst) ? adapt(rng_.pick(stateOnly), w) : pickWidth(w);
    } else {
      for (ValueId v : parts[i]) {
        ValueId f = foldTo(v, w);
        drv = drv == kNoValue ? f : b_.bitXor(drv, f);
      }
    }
    b_.output("out" + std::to_string(i), w, drv);
  }
  // Outputs driven straight by an input, a register, a constant or another output's
  // driver: emitters tend to alias these.
  if (rng_.chance(30)) {
    uint32_t kind = rng_.range(0, 3);
    ValueId drv;
    uint32_t firstOut = static_cast<uint32_t>(m_.findPort("out0"));
    if (kind == 0 && firstOut > 2)
      drv = m_.inputValue(rng_.range(2, firstOut - 1));
    else if (kind == 1 && !regs_.empty())
      drv = rng_.pick(regs_);
    else if (kind == 2)
      drv = constant(randWidth());
    else
      drv = m_.op(m_.outputOp(firstOut)).operands[0];
    b_.output("out" + std::to_string(nOut), m_.width(drv), drv);
  }
}

ModInfo ModuleGen::run() {
  clk_ = b_.input("clk", 1);
  rst_ = b_.input("rst", 1);
  uint32_t nIn = rng_.chance(5) ? 0 : rng_.range(1, o_.maxPorts);
  for (uint32_t i = 0; i < nIn; ++i)
    addPool(b_.input("in" + std::to_string(i), randWidth()));
  if (rng_.chance(50))
    addPool(rst_);
  for (int i = 0; i < 2; ++i)
    addPool(constant(randWidth()));

  uint32_t maxOps = std::max<uint32_t>(1, o_.opsPerModule / (level_ + 1));
  uint32_t nOps = rng_.range(std::max<uint32_t>(1, maxOps / 2), maxOps);
  uint32_t phaseA = nOps / 3;
  for (uint32_t i = 0; i < phaseA; ++i)
    genOp();
  genRegisters();
  genMemories();

  // Instances, interleaved with the remaining ops.
  std::vector<const ModInfo *> toInstantiate;
  if (o_.hierarchy && !children_.empty()) {
    uint32_t n = rng_.range(isTop_ ? 1 : 0, o_.maxInstances);
    for (uint32_t i = 0; i < n; ++i)
      toInstantiate.push_back(rng_.pick(children_));
  }
  for (const ModInfo *c : mustInstantiate)
    toInstantiate.push_back(c);
  std::vector<uint32_t> instAt;
  for (size_t i = 0; i < toInstantiate.size(); ++i)
    instAt.push_back(rng_.range(phaseA, nOps));
  std::sort(instAt.begin(), instAt.end());
  size_t nextInst = 0;
  for (uint32_t i = phaseA; i <= nOps; ++i) {
    while (nextInst < toInstantiate.size() && instAt[nextInst] == i)
      genInstance(*toInstantiate[nextInst++]);
    if (i < nOps)
      genOp();
  }
  finish();

  syncDeps();
  ModInfo info;
  info.module = &m_;
  info.outDeps.assign(m_.ports.size(), 0);
  for (uint32_t p = 0; p < m_.ports.size(); ++p) {
    if (m_.ports[p].dir != PortDir::Out)
      continue;
    ValueId o = m_.outputOp(p);
    info.outDeps[p] = deps_[m_.op(o).operands[0]];
  }
  for (const Op &op : m_.ops)
    if (op.width > 64)
      ++st_.wideValues;
  return info;
}

} // namespace

const Module &addRandomDesign(Design &d, const RandomDesignOptions &opts,
                              RandomDesignStats *stats) {
  RandomDesignStats local;
  RandomDesignStats &st = stats ? *stats : local;
  Rng rng(opts.seed);

  // Child module kinds with their levels (1 = instantiated by the top).
  uint32_t nChildren = opts.hierarchy ? rng.range(0, opts.maxChildModules) : 0;
  std::vector<uint32_t> levels;
  for (uint32_t i = 0; i < nChildren; ++i)
    levels.push_back(rng.range(1, std::max<uint32_t>(1, opts.maxDepth)));
  std::sort(levels.begin(), levels.end(), std::greater<>());

  std::vector<std::unique_ptr<ModInfo>> infos;
  std::vector<bool> used;
  for (uint32_t i = 0; i < nChildren; ++i) {
    std::vector<const ModInfo *> deeper;
    for (auto &ci : infos)
      if (ci->level > levels[i])
        deeper.push_back(ci.get());
    Module &m = d.addModule(opts.prefix + "m" + std::to_string(i));
    ModuleGen gen(rng, opts, st, m, levels[i], deeper);
    auto info = std::make_unique<ModInfo>(gen.run());
    info->level = levels[i];
    for (const Instance &inst : m.instances)
      for (size_t k = 0; k < infos.size(); ++k)
        if (infos[k]->module->name() == inst.module)
          used[k] = true;
    infos.push_back(std::move(info));
    used.push_back(false);
    ++st.modules;
  }

  std::vector<const ModInfo *> all, unusedChildren;
  for (size_t k = 0; k < infos.size(); ++k) {
    all.push_back(infos[k].get());
    if (!used[k])
      unusedChildren.push_back(infos[k].get());
  }
  Module &top = d.addModule(opts.prefix + "top");
  ModuleGen gen(rng, opts, st, top, /*level=*/0, all);
  gen.mustInstantiate = unusedChildren;
  gen.run();
  ++st.modules;

  for (const auto &m : d.modules())
    if (m->name().rfind(opts.prefix, 0) == 0)
      for (const Op &op : m->ops)
        ++st.ops[static_cast<size_t>(op.kind)];
  // Copies of each module: callers come after callees in `d`, so walk backwards.
  std::map<std::string, uint64_t> copies{{top.name(), 1}};
  for (auto it = d.modules().rbegin(); it != d.modules().rend(); ++it) {
    const Module &m = **it;
    auto c = copies.find(m.name());
    if (c == copies.end())
      continue;
    st.flatOps += c->second * m.ops.size();
    for (const Instance &inst : m.instances)
      copies[inst.module] += c->second * inst.count;
  }
  return top;
}

Design generateRandomDesign(const RandomDesignOptions &opts, RandomDesignStats *stats) {
  Design d;
  const Module &top = addRandomDesign(d, opts, stats);
  d.topName = top.name();
  return d;
}

Design generateRandomBatch(const RandomDesignOptions &base, uint32_t count,
                           RandomDesignStats *stats) {
  Design d;
  std::vector<const Module *> tops;
  for (uint32_t k = 0; k < count; ++k) {
    RandomDesignOptions o = base;
    o.seed = base.seed + k;
    o.prefix = base.prefix + "d" + std::to_string(k) + "_";
    tops.push_back(&addRandomDesign(d, o, stats));
  }
  Module &top = d.addModule(base.prefix + "diff_top");
  ModuleBuilder b(top);
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  for (uint32_t k = 0; k < count; ++k) {
    const Module &t = *tops[k];
    std::string pre = "d" + std::to_string(k) + "_";
    uint32_t inst = b.instance(t, "u_d" + std::to_string(k));
    b.connect(inst, "clk", clk);
    b.connect(inst, "rst", rst);
    for (const Port &p : t.ports)
      if (p.dir == PortDir::In && p.name != "clk" && p.name != "rst")
        b.connect(inst, p.name, b.input(pre + p.name, p.width));
    for (const Port &p : t.ports)
      if (p.dir == PortDir::Out)
        b.output(pre + p.name, p.width, b.instOutput(inst, p.name));
  }
  d.topName = top.name();
  return d;
}

} // namespace tessera::hw
