//===- Rtl.cpp - scheduled CDFG -> FSM + datapath in hw IR ----------------===//
//
// The classic HLS back end (Gajski et al., "High-Level Synthesis", 1992; the FSMD model):
//
//   * one FSM state per (block, cycle) of the schedule, plus `idle` and `done`; a block's
//     last state evaluates its terminator; phis are register writes on the incoming edge
//     (all phis of a block written at the same clock edge: a parallel copy);
//   * a value read in the cycle that produces it is a wire (operator chaining); a value
//     read later in its own block lives in a register of a shared pool bound by the
//     left-edge algorithm (Bind.h; blocks never run at once, so register r of every
//     block is one physical register); a value read in another block gets its own
//     register (its lifetime is not an interval of one block);
//   * multi-cycle operators (latency L) are the combinational operator followed by L
//     registers, which synthesis retimes into the operator;
//   * local arrays are hw IR memories with `ports` read/write ports (a partitioned array
//     is one memory with ports * factor ports: the same behaviour as its banks);
//   * multipliers and dividers of >= 16 bits in different states share units, bound by
//     per-step weighted bipartite matching (Bind.h) with input multiplexers;
//   * a pipelined loop (LoopTiming::pipelined, a single-block body) is one FSM state
//     holding a pipeline controller: an issue counter modulo II, a valid bit and a
//     first-iteration bit per cycle of the iteration (shift registers), values carried
//     across cycles in ceil(lifetime / II) copies (modulo variable expansion, each copy
//     loaded when its iteration passes the cycle), loop-carried phis read from the previous
//     iteration II cycles later, iterations issued speculatively until the exit test of
//     an iteration resolves, younger iterations then squashed (their stores are
//     predicated on the valid bits), and the loop left when the exiting iteration
//     drains out of the last cycle.
//
// Streams (hls::stream<T>, Cdfg::streams): ports <s>_data, <s>_valid, <s>_ready (an input
// stream: data and valid in, ready out; an output stream: data and valid out, ready in).
// Stream ops block, and the rule is one global stall: an op is *active* in a cycle when its
// FSM state is current (sequential) or its stage holds a valid, unsquashed iteration
// (pipelined); it is *blocked* when active and its handshake partner is low (valid for a
// read, ready for a write). `stall` = OR of all blocked ops. While `stall` is 1 no register,
// RAM write or RAM read enable of the kernel changes (the whole FSM, and with it every
// stage of a pipelined loop, freezes; synchronous RAM read data holds while its enable is
// low, so a frozen stage keeps the data its load fetched). A stream's own ready (input) or
// valid (output) is `active and no *other* op is blocked`, so a transfer happens exactly in
// the cycles without a stall, all transfers of one cycle together, and valid never depends
// on the same stream's ready. A design without streams has no stall logic.
//
// Every hw op carries the SourceLoc of the CDFG node (or block / loop) it comes from.
//
//===----------------------------------------------------------------------===//
#include "hls/Rtl.h"

#include "hls/Bind.h"
#include "hw/Verify.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace tessera::hls {
namespace {

using hw::kNoValue;
using hw::ValueId;

constexpr uint32_t kShareMinWidth = 16;

bool isShareable(OpKind k, uint32_t width) {
  switch (k) {
  case OpKind::Mul:
  case OpKind::DivU:
  case OpKind::DivS:
  case OpKind::RemU:
  case OpKind::RemS:
    return width >= kShareMinWidth;
  default:
    return false;
  }
}
bool isSignedKind(OpKind k) { return k == OpKind::DivS || k == OpKind::RemS; }

bool hwBinaryKind(OpKind k, hw::OpKind &out) {
  switch (k) {
#define MAP(K)                                                                                     \
  case OpKind::K:                                                                                  \
    out = hw::OpKind::K;                                                                           \
    return true;
    MAP(Add)
    MAP(Sub)
    MAP(Mul)
    MAP(DivU) MAP(DivS) MAP(RemU) MAP(RemS) MAP(And) MAP(Or) MAP(Xor) MAP(Shl) MAP(ShrU) MAP(ShrS)
        MAP(Eq) MAP(Ne) MAP(LtU) MAP(LtS) MAP(LeU) MAP(LeS) MAP(GtU) MAP(GtS) MAP(GeU) MAP(GeS)
#undef MAP
            default : return false;
  }
}

uint32_t bitsFor(uint64_t n) { // bits to hold values 0..n-1, at least 1
  uint32_t w = 1;
  while (w < 63 && (uint64_t(1) << w) < n)
    ++w;
  return w;
}

/// A register whose next value is assembled from guarded writes at the end.
struct RegWrites {
  ValueId reg = kNoValue;
  uint32_t width = 0;
  std::vector<std::pair<ValueId, ValueId>> writes; ///< (condition, value), first wins
  SourceLoc loc;
};

/// One access to a memory port: enable, address, and for stores the data.
struct Access {
  ValueId enable = kNoValue, addr = kNoValue, data = kNoValue;
  bool store = false;
  SourceLoc loc;
};

struct PortSet {
  std::vector<std::vector<Access>> ports; ///< per port
  std::vector<ValueId> rdata;             ///< per port: read data (one cycle later)
};

struct Pipe {
  BlockId block = kNone;
  LoopId loop = kNone;
  uint32_t ii = 1, depth = 1;
  uint32_t condCycle = 0;  ///< when the exit test is known
  bool exitOnTrue = false; ///< CondBr cond == 1 leaves the loop
  BlockId exitTarget = kNone;
  ValueId inPipe = kNoValue, running = kNoValue, exitNow = kNoValue, lastDone = kNoValue;
  ValueId firstPending = kNoValue, cnt = kNoValue;
  std::vector<ValueId> valid;           ///< raw valid bit per cycle (0: the issue)
  std::vector<ValueId> first;           ///< first-iteration bit per cycle
  std::map<uint32_t, ValueId> validEff; ///< valid and not squashed, per cycle
  std::vector<ValueId> enterConds;
};

class RtlBuilder {
public:
  RtlBuilder(const Cdfg &g, const Schedule &s, const RtlOptions &opts)
      : g_(g), s_(s), opts_(opts) {}

  Expected<hw::Design> run(RtlStats *stats);

private:
  Diagnostic err(std::string id, std::string msg, SourceLoc loc) {
    return Diagnostic::error(std::move(id), std::move(msg), std::move(loc));
  }
  Status check();
  uint32_t avail(NodeId n) const {
    const NodeTiming &t = s_.nodes[n];
    uint32_t lat = t.latency;
    if (g_.node(n).kind == OpKind::Load)
      lat = std::max<uint32_t>(lat, 1);
    return t.cycle + lat;
  }
  uint32_t lastCycle(BlockId b) const { return std::max<uint32_t>(s_.blocks[b].length, 1) - 1; }
  bool pipelined(BlockId b) const { return pipeOf_[b] != kNone; }

  ValueId inState(uint32_t st);
  ValueId andV(ValueId a, ValueId b) { return b_->bitAnd(a, b); }
  ValueId orV(ValueId a, ValueId b) { return b_->bitOr(a, b); }
  ValueId notV(ValueId a) { return b_->bitNot(a); }
  ValueId one() { return b_->constant(1, 1); }
  ValueId zero1() { return b_->constant(1, 0); }
  ValueId newReg(uint32_t width, const std::string &name, bool reset, const SourceLoc &loc,
                 bool isData);
  void write(ValueId reg, ValueId cond, ValueId value);

  Expected<ValueId> valueAt(NodeId n, BlockId reader, uint32_t cycle);
  Expected<ValueId> comb(NodeId n);
  Expected<ValueId> buildOp(NodeId n);
  Expected<ValueId> pipeValue(NodeId n, uint32_t cycle);
  Expected<ValueId> phiExpr(NodeId p, uint32_t cycle);
  std::map<std::pair<NodeId, uint32_t>, ValueId> phiAt_;
  ValueId delay(ValueId v, uint32_t cycles, const std::string &name);
  Expected<ValueId> accessEnable(NodeId n);

  Status planValues();
  Status planMemories();
  Status planUnits();
  bool chainedFromUnit(NodeId n);
  std::map<NodeId, bool> chainMemo_;
  Status buildPipes();
  Status buildControl();
  Status buildMemoryPorts();
  Status buildStreams();
  void finishStreams();
  Status resolveChains();
  std::vector<std::pair<ValueId, std::pair<NodeId, uint32_t>>> pendingChains_;
  void finishRegisters();

  const Cdfg &g_;
  const Schedule &s_;
  const RtlOptions &opts_;
  hw::Design design_;
  hw::Module *m_ = nullptr;
  std::unique_ptr<hw::ModuleBuilder> b_;
  ValueId clk_ = kNoValue, rst_ = kNoValue, start_ = kNoValue;
  std::vector<ValueId> argInputs_;

  // FSM.
  std::vector<std::vector<uint32_t>> stateOf_; ///< [block][cycle]; pipelined: one state
  uint32_t idleState_ = 0, doneState_ = 0, numStates_ = 0, stateWidth_ = 1;
  ValueId state_ = kNoValue;
  std::map<uint32_t, ValueId> inState_;

  // Values.
  std::vector<ValueId> comb_;      ///< by node
  std::vector<uint8_t> combBusy_;  ///< recursion guard (a combinational cycle)
  std::vector<ValueId> globalReg_; ///< by node: own register (read in other blocks)
  std::vector<uint32_t> poolOf_;   ///< by node: pool register index, or kNone
  std::vector<ValueId> pool_;      ///< pool registers
  std::vector<uint32_t> poolWidth_;
  std::vector<ValueId> phiReg_; ///< by node (phis)
  std::vector<ValueId> argReg_; ///< by Cdfg::args index
  ValueId retReg_ = kNoValue;
  std::map<std::pair<NodeId, uint32_t>, ValueId> chain_; ///< pipeline copies (node, j)
  std::vector<RegWrites> regs_;
  std::map<ValueId, size_t> regIndex_;
  uint32_t dataRegs_ = 0, dataRegBits_ = 0;

  // Pipelines.
  std::vector<uint32_t> pipeOf_; ///< by block: index into pipes_, or kNone
  std::vector<Pipe> pipes_;

  // Memories.
  std::vector<PortSet> memPorts_;   ///< by MemId
  std::vector<uint32_t> hwMem_;     ///< by MemId: hw memory (locals)
  std::vector<uint32_t> portOf_;    ///< by node (Load / Store): the port
  std::vector<uint32_t> addrWidth_; ///< by MemId

  // Streams.
  struct StreamOp {
    NodeId node;
    ValueId active = kNoValue, data = kNoValue;
  };
  std::vector<ValueId> streamIn_;                 ///< by stream: <s>_data (in) / <s>_ready (out)
  std::vector<ValueId> streamValidIn_;            ///< by stream: <s>_valid (in streams)
  std::vector<std::vector<StreamOp>> streamOps_;  ///< by stream
  ValueId stall_ = kNoValue;

  // Units.
  std::vector<uint32_t> unitOf_; ///< by node: index into units_, or kNone
  struct Unit {
    OpKind kind;
    uint32_t width = 0, latency = 0;
    std::vector<NodeId> nodes;
    ValueId out = kNoValue;
    uint32_t callee = kNone; ///< Call units: Cdfg::callees index
  };
  std::vector<Unit> units_;
  uint32_t unshareableUnits_ = 0;

  // Shared functions: one hw module each, instantiated once per unit.
  Status buildCalleeModules();
  Expected<ValueId> buildCallUnit(uint32_t unit);
  std::vector<const hw::Module *> calleeModule_;          ///< by Cdfg::callees index
  std::vector<uint32_t> unitInstances_;                   ///< instances whose `en` is the !stall
  std::vector<std::pair<uint32_t, uint32_t>> calleeRegs_; ///< by callee: registers, bits
};

ValueId RtlBuilder::inState(uint32_t st) {
  auto it = inState_.find(st);
  if (it != inState_.end())
    return it->second;
  ValueId v = b_->eq(state_, b_->constant(stateWidth_, st));
  inState_[st] = v;
  return v;
}

ValueId RtlBuilder::newReg(uint32_t width, const std::string &name, bool reset,
                           const SourceLoc &loc, bool isData) {
  hw::RegOptions ro;
  if (reset)
    ro.reset = rst_;
  ValueId r = b_->regDecl(clk_, width, name, ro);
  regIndex_[r] = regs_.size();
  regs_.push_back(RegWrites{r, width, {}, loc});
  if (isData) {
    ++dataRegs_;
    dataRegBits_ += width;
  }
  return r;
}

void RtlBuilder::write(ValueId reg, ValueId cond, ValueId value) {
  RegWrites &w = regs_[regIndex_.at(reg)];
  w.writes.push_back({cond, b_->resize(value, w.width)});
}

void RtlBuilder::finishRegisters() {
  for (RegWrites &w : regs_) {
    b_->setLoc(w.loc);
    if (w.writes.empty()) {
      b_->setNext(w.reg, w.reg);
      continue;
    }
    ValueId next = w.reg;
    for (size_t i = w.writes.size(); i-- > 0;)
      next = b_->mux(w.writes[i].first, w.writes[i].second, next);
    if (stall_ != kNoValue)
      next = b_->mux(stall_, w.reg, next); // a blocked stream op freezes the kernel
    b_->setNext(w.reg, next);
  }
}

ValueId RtlBuilder::delay(ValueId v, uint32_t cycles, const std::string &name) {
  for (uint32_t i = 0; i < cycles; ++i) {
    ValueId r = newReg(m_->width(v), name + "_d" + std::to_string(i + 1), false, b_->loc(), true);
    write(r, one(), v);
    v = r;
  }
  return v;
}

Status RtlBuilder::check() {
  if (s_.nodes.size() != g_.nodes.size() || s_.blocks.size() != g_.blocks.size())
    return err("rtl-bad-schedule",
               "the schedule does not match the CDFG (" + std::to_string(s_.nodes.size()) +
                   " node timings for " + std::to_string(g_.nodes.size()) + " nodes)",
               g_.loc);
  if (g_.blocks.empty())
    return err("rtl-bad-schedule", "the CDFG has no blocks", g_.loc);
  pipeOf_.assign(g_.blocks.size(), kNone);
  for (LoopId l = 0; l < s_.loops.size() && l < g_.loops.size(); ++l) {
    const LoopTiming &lt = s_.loops[l];
    if (!lt.pipelined)
      continue;
    const Loop &loop = g_.loops[l];
    BlockId bb = loop.header;
    if (loop.blocks.size() != 1 || loop.latch != bb || bb >= g_.blocks.size())
      return err("rtl-unsupported",
                 "pipelined loop must have a single-block body (header == latch)", loop.loc);
    const Block &blk = g_.blocks[bb];
    const Node &term = g_.node(blk.nodes.back());
    if (term.kind != OpKind::CondBr || (term.attr != bb && term.attr2 != bb) ||
        term.attr == term.attr2)
      return err("rtl-unsupported",
                 "pipelined loop body must end in a conditional branch to itself", loop.loc);
    Pipe p;
    p.block = bb;
    p.loop = l;
    p.ii = std::max<uint32_t>(lt.ii, 1);
    p.depth = std::max<uint32_t>(s_.blocks[bb].length, 1);
    p.exitOnTrue = term.attr != bb;
    p.exitTarget = p.exitOnTrue ? term.attr : term.attr2;
    p.condCycle = avail(term.operands[0]);
    if (g_.node(term.operands[0]).block != bb)
      p.condCycle = 0;
    if (p.condCycle > p.depth - 1)
      return err("rtl-bad-schedule",
                 "the exit test of the pipelined loop is computed after "
                 "the last cycle of the iteration",
                 loop.loc);
    for (NodeId n : blk.nodes) {
      const Node &nd = g_.node(n);
      bool effect = nd.kind == OpKind::Store || nd.kind == OpKind::StreamRead ||
                    nd.kind == OpKind::StreamWrite;
      if (effect && s_.nodes[n].cycle + p.ii < p.condCycle)
        return err("rtl-unsupported",
                   std::string(opName(nd.kind)) + " in cycle " + std::to_string(s_.nodes[n].cycle) +
                       " of the pipelined loop would commit before the exit test of the "
                       "previous iteration (cycle " +
                       std::to_string(p.condCycle) + ", II " + std::to_string(p.ii) + ")",
                   nd.loc);
      if (nd.kind == OpKind::Phi && nd.operands.size() != blk.preds.size())
        return err("rtl-bad-schedule", "phi with a wrong operand count", nd.loc);
    }
    pipeOf_[bb] = static_cast<uint32_t>(pipes_.size());
    pipes_.push_back(std::move(p));
  }
  for (NodeId n = 0; n < g_.nodes.size(); ++n) {
    const Node &nd = g_.node(n);
    if (nd.block == kNone || nd.block >= g_.blocks.size())
      continue;
    if (!pipelined(nd.block) && s_.nodes[n].cycle > lastCycle(nd.block))
      return err("rtl-bad-schedule",
                 "node scheduled in cycle " + std::to_string(s_.nodes[n].cycle) +
                     " of a block of " + std::to_string(s_.blocks[nd.block].length) + " cycles",
                 nd.loc);
  }
  return Status::success();
}

// Plans where every value lives: wire, pool register (left-edge) or own register.
Status RtlBuilder::planValues() {
  const size_t n = g_.nodes.size();
  auto users = g_.users();
  globalReg_.assign(n, kNoValue);
  poolOf_.assign(n, kNone);
  phiReg_.assign(n, kNoValue);
  comb_.assign(n, kNoValue);
  combBusy_.assign(n, 0);
  std::vector<std::vector<Lifetime>> life(g_.blocks.size());
  std::vector<std::vector<NodeId>> lifeNode(g_.blocks.size());
  for (NodeId v = 0; v < n; ++v) {
    const Node &nd = g_.node(v);
    if (nd.width == 0 || nd.kind == OpKind::Const || nd.kind == OpKind::Arg)
      continue;
    BlockId home = nd.block;
    if (nd.kind == OpKind::Phi && !pipelined(home)) {
      phiReg_[v] = newReg(nd.width, (nd.name.empty() ? "phi" : nd.name) + "_n" + std::to_string(v),
                          false, nd.loc, true);
      continue;
    }
    if (nd.kind == OpKind::Phi) // pipelined: the phi register holds the initial value
      phiReg_[v] =
          newReg(nd.width, (nd.name.empty() ? "phi" : nd.name) + "_init_n" + std::to_string(v),
                 false, nd.loc, true);
    bool global = false;
    uint32_t lastUse = 0;
    bool laterUse = false;
    for (NodeId u : users[v]) {
      const Node &un = g_.node(u);
      for (size_t k = 0; k < un.operands.size(); ++k) {
        if (un.operands[k] != v)
          continue;
        BlockId rb = un.block;
        uint32_t rc = s_.nodes[u].cycle;
        if (un.kind == OpKind::Phi) {
          rb = g_.blocks[un.block].preds[k];
          rc = lastCycle(rb);
          if (pipelined(rb) && rb == un.block && rb == home)
            continue; // loop-carried inside the pipeline
        }
        if (rb != home) {
          global = true;
          continue;
        }
        if (pipelined(home))
          continue;
        if (rc < avail(v))
          return err("rtl-bad-schedule",
                     "'" + (nd.name.empty() ? std::string(opName(nd.kind)) : nd.name) +
                         "' is read in cycle " + std::to_string(rc) +
                         " before it is available (cycle " + std::to_string(avail(v)) + ")",
                     un.loc);
        if (rc > avail(v)) {
          laterUse = true;
          lastUse = std::max(lastUse, rc);
        }
      }
    }
    if (global) {
      if (!pipelined(home) && avail(v) > lastCycle(home))
        return err("rtl-bad-schedule",
                   "value is available only after the end of its block and read elsewhere", nd.loc);
      globalReg_[v] = newReg(nd.width, (nd.name.empty() ? "v" : nd.name) + "_n" + std::to_string(v),
                             false, nd.loc, true);
    } else if (laterUse) {
      life[home].push_back(Lifetime{avail(v), lastUse, nd.width});
      lifeNode[home].push_back(v);
    }
  }
  // Left-edge per block; blocks never run at the same time, so register r of every block
  // is one physical register of the pool.
  for (BlockId bb = 0; bb < g_.blocks.size(); ++bb) {
    uint32_t regs = 0;
    std::vector<uint32_t> regOf = leftEdge(life[bb], &regs);
    if (poolWidth_.size() < regs)
      poolWidth_.resize(regs, 0);
    for (size_t i = 0; i < regOf.size(); ++i) {
      poolOf_[lifeNode[bb][i]] = regOf[i];
      poolWidth_[regOf[i]] = std::max(poolWidth_[regOf[i]], life[bb][i].width);
    }
  }
  for (size_t r = 0; r < poolWidth_.size(); ++r) {
    b_->setLoc(g_.loc);
    pool_.push_back(newReg(poolWidth_[r], "r" + std::to_string(r), false, g_.loc, true));
  }
  return Status::success();
}

Status RtlBuilder::planMemories() {
  memPorts_.resize(g_.memories.size());
  hwMem_.assign(g_.memories.size(), kNone);
  addrWidth_.assign(g_.memories.size(), 1);
  portOf_.assign(g_.nodes.size(), kNone);
  for (MemId mi = 0; mi < g_.memories.size(); ++mi) {
    const Memory &mem = g_.memories[mi];
    addrWidth_[mi] = bitsFor(std::max<uint32_t>(mem.depth, 1));
    uint32_t ports = std::max<uint32_t>(mem.ports, 1);
    if (mem.kind == MemKind::Local && mem.partition != Partition::None)
      ports *= mem.partition == Partition::Complete ? std::max<uint32_t>(mem.depth, 1)
                                                    : std::max<uint32_t>(mem.partitionFactor, 1);
    memPorts_[mi].ports.resize(ports);
  }
  // Port assignment: accesses active in the same cycle get different ports (sequential:
  // the same state; pipelined: the same cycle modulo II).
  std::map<std::tuple<MemId, uint32_t, uint32_t>, uint32_t> used;
  for (NodeId n = 0; n < g_.nodes.size(); ++n) {
    const Node &nd = g_.node(n);
    if (nd.kind != OpKind::Load && nd.kind != OpKind::Store)
      continue;
    if (nd.attr >= g_.memories.size())
      return err("rtl-bad-cdfg", "memory id out of range", nd.loc);
    uint32_t slot;
    if (pipelined(nd.block))
      slot = s_.nodes[n].cycle % pipes_[pipeOf_[nd.block]].ii;
    else
      slot = s_.nodes[n].cycle;
    uint32_t &k = used[{nd.attr, nd.block, slot}];
    if (k >= memPorts_[nd.attr].ports.size())
      return err("rtl-port-conflict",
                 "more accesses to array '" + g_.memories[nd.attr].name +
                     "' in one cycle than it has ports (" +
                     std::to_string(memPorts_[nd.attr].ports.size()) + ")",
                 nd.loc);
    portOf_[n] = k++;
  }
  // Read data: interface arrays are input ports, locals hw memories.
  for (MemId mi = 0; mi < g_.memories.size(); ++mi) {
    const Memory &mem = g_.memories[mi];
    b_->setLoc(mem.loc);
    PortSet &ps = memPorts_[mi];
    ps.rdata.assign(ps.ports.size(), kNoValue);
    if (mem.kind == MemKind::Interface) {
      for (size_t p = 0; p < ps.ports.size(); ++p)
        ps.rdata[p] = b_->input(mem.name + "_rdata" + std::to_string(p), mem.elemWidth);
    } else {
      std::vector<hw::BitVec> init;
      if (!mem.init.empty()) {
        for (uint32_t i = 0; i < mem.depth; ++i)
          init.emplace_back(mem.elemWidth, i < mem.init.size() ? mem.init[i] : 0);
      }
      hwMem_[mi] =
          b_->memory(mem.name, mem.elemWidth, std::max<uint32_t>(mem.depth, 1), std::move(init));
      // Read ports now (loads are built against them); address and enable are patched
      // in once all accesses are known (buildMemoryPorts).
      for (size_t p = 0; p < ps.ports.size(); ++p) {
        ps.rdata[p] = b_->memReadSync(hwMem_[mi], clk_, b_->constant(addrWidth_[mi], 0), zero1());
        b_->name(ps.rdata[p], mem.name + "_rdata" + std::to_string(p));
      }
    }
  }
  return Status::success();
}

// True when an operand of n is computed combinationally, in n's cycle, from a shareable
// operator: sharing n then could close a combinational loop through two units' input
// multiplexers (a false path, but a loop all the same), so n keeps its own operator.
bool RtlBuilder::chainedFromUnit(NodeId n) {
  const Node &nd = g_.node(n);
  uint32_t c = s_.nodes[n].cycle;
  for (NodeId o : nd.operands) {
    const Node &on = g_.node(o);
    if (on.kind == OpKind::Const || on.kind == OpKind::Arg || on.kind == OpKind::Phi ||
        on.block != nd.block || avail(o) != c)
      continue;
    if (isShareable(on.kind, on.width))
      return true;
    auto it = chainMemo_.find(o);
    bool r;
    if (it != chainMemo_.end()) {
      r = it->second;
    } else {
      r = s_.nodes[o].latency == 0 && chainedFromUnit(o);
      chainMemo_[o] = r;
    }
    if (r)
      return true;
  }
  return false;
}

Status RtlBuilder::planUnits() {
  unitOf_.assign(g_.nodes.size(), kNone);
  // Group by (kind, latency); nodes in pipelined bodies keep their own operators.
  std::map<std::pair<uint8_t, uint32_t>, std::vector<NodeId>> groups;
  for (NodeId n = 0; n < g_.nodes.size(); ++n) {
    const Node &nd = g_.node(n);
    if (!isShareable(nd.kind, nd.width))
      continue;
    if (pipelined(nd.block) || chainedFromUnit(n)) {
      ++unshareableUnits_;
      continue;
    }
    groups[{static_cast<uint8_t>(nd.kind), s_.nodes[n].latency}].push_back(n);
  }
  // Shared functions: the calls of one function in different FSM states share its units
  // (at most sharedUnitLimit() per state, as scheduled; docs/hls.md). In a pipelined
  // loop, calls in different modulo slots (cycle mod II) are never active together
  // (iterations issue exactly every II cycles), so they share a unit (at II 1 every call
  // site needs its own); a pipelined loop is one FSM state whose stages are all empty
  // when the FSM leaves it, so its calls and those of the FSM's other states share units
  // too. A unit is pipelined with II 1: calls in flight on it never conflict, only calls
  // issuing in the same cycle (the binding's steps).
  std::map<uint32_t, std::vector<NodeId>> callGroups;
  for (NodeId n = 0; n < g_.nodes.size(); ++n) {
    const Node &nd = g_.node(n);
    if (nd.kind == OpKind::Call && nd.block != kNone)
      callGroups[nd.attr].push_back(n);
  }
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> slotStep; // (pipe, slot) -> step
  for (auto &[f, nodes] : callGroups) {
    std::vector<UnitOp> ops;
    for (NodeId n : nodes) {
      UnitOp op;
      BlockId bb = g_.node(n).block;
      if (pipelined(bb)) {
        std::pair<uint32_t, uint32_t> key{pipeOf_[bb], s_.nodes[n].cycle % pipes_[pipeOf_[bb]].ii};
        auto it = slotStep.find(key);
        if (it == slotStep.end())
          it = slotStep.emplace(key, numStates_ + static_cast<uint32_t>(slotStep.size())).first;
        op.step = it->second;
      } else {
        op.step = stateOf_[bb][s_.nodes[n].cycle];
      }
      for (NodeId o : g_.node(n).operands)
        op.sources.push_back(o);
      ops.push_back(std::move(op));
    }
    uint32_t count = 0;
    std::vector<uint32_t> unitOf = bindUnits(ops, &count);
    size_t base = units_.size();
    for (uint32_t u = 0; u < count; ++u)
      units_.push_back(
          Unit{OpKind::Call, g_.node(nodes[0]).width, s_.nodes[nodes[0]].latency, {}, kNoValue, f});
    for (size_t i = 0; i < nodes.size(); ++i) {
      units_[base + unitOf[i]].nodes.push_back(nodes[i]);
      unitOf_[nodes[i]] = static_cast<uint32_t>(base + unitOf[i]);
    }
  }
  for (auto &[key, nodes] : groups) {
    std::vector<UnitOp> ops;
    for (NodeId n : nodes) {
      UnitOp op;
      op.step = stateOf_[g_.node(n).block][s_.nodes[n].cycle];
      for (NodeId o : g_.node(n).operands)
        op.sources.push_back(o);
      ops.push_back(std::move(op));
    }
    uint32_t count = 0;
    std::vector<uint32_t> unitOf = bindUnits(ops, &count);
    size_t base = units_.size();
    for (uint32_t u = 0; u < count; ++u)
      units_.push_back(Unit{static_cast<OpKind>(key.first), 0, key.second, {}, kNoValue});
    for (size_t i = 0; i < nodes.size(); ++i) {
      Unit &unit = units_[base + unitOf[i]];
      unit.nodes.push_back(nodes[i]);
      unit.width = std::max(unit.width, g_.node(nodes[i]).width);
      unitOf_[nodes[i]] = static_cast<uint32_t>(base + unitOf[i]);
    }
  }
  return Status::success();
}

// The enable of a memory access: its FSM state, or its pipeline stage's valid bit.
Expected<ValueId> RtlBuilder::accessEnable(NodeId n) {
  const Node &nd = g_.node(n);
  if (!pipelined(nd.block))
    return inState(stateOf_[nd.block][s_.nodes[n].cycle]);
  Pipe &p = pipes_[pipeOf_[nd.block]];
  return p.validEff.at(s_.nodes[n].cycle);
}

Expected<ValueId> RtlBuilder::buildOp(NodeId n) {
  const Node &nd = g_.node(n);
  BlockId bb = nd.block;
  uint32_t c = s_.nodes[n].cycle;
  auto operand = [&](size_t k) -> Expected<ValueId> { return valueAt(nd.operands[k], bb, c); };
  std::string nm =
      (nd.name.empty() ? std::string(opName(nd.kind)) : nd.name) + "_n" + std::to_string(n);
  if (nd.kind == OpKind::Load) {
    ValueId data = memPorts_[nd.attr].rdata[portOf_[n]];
    b_->setLoc(nd.loc);
    return delay(data, avail(n) - c - 1, nm);
  }
  if (nd.kind == OpKind::StreamRead) {
    b_->setLoc(nd.loc);
    return delay(b_->resize(streamIn_[nd.attr], nd.width), s_.nodes[n].latency, nm);
  }
  if (unitOf_[n] != kNone && units_[unitOf_[n]].callee != kNone) {
    TRY_ASSIGN(ValueId out, buildCallUnit(unitOf_[n]));
    b_->setLoc(nd.loc);
    return b_->resize(out, nd.width);
  }
  if (nd.kind == OpKind::Call)
    return err("rtl-internal", "a call without a functional unit", nd.loc);
  if (unitOf_[n] != kNone) {
    Unit &u = units_[unitOf_[n]];
    if (u.out == kNoValue) {
      // The operator first (with placeholder operands, patched below) so that a node
      // whose operands come from another node of the same unit finds it built.
      const Node &n0 = g_.node(u.nodes[0]);
      b_->setLoc(n0.loc);
      hw::OpKind hk;
      hwBinaryKind(u.kind, hk);
      ValueId placeholder = b_->constant(u.width, 0);
      ValueId op = b_->binary(hk, placeholder, placeholder);
      u.out = delay(op, u.latency, std::string(opName(u.kind)) + "_u" + std::to_string(unitOf_[n]));
      // Operand multiplexers select by the issuing state.
      std::vector<ValueId> ins(2, kNoValue);
      for (size_t k = 0; k < 2; ++k) {
        for (size_t i = u.nodes.size(); i-- > 0;) {
          NodeId m = u.nodes[i];
          const Node &mn = g_.node(m);
          TRY_ASSIGN(ValueId v, valueAt(mn.operands[k], mn.block, s_.nodes[m].cycle));
          b_->setLoc(mn.loc);
          v = isSignedKind(u.kind) ? b_->sext(v, u.width) : b_->resize(v, u.width);
          if (ins[k] == kNoValue)
            ins[k] = v;
          else
            ins[k] = b_->mux(inState(stateOf_[mn.block][s_.nodes[m].cycle]), v, ins[k]);
        }
      }
      m_->op(op).operands = {ins[0], ins[1]};
    }
    b_->setLoc(nd.loc);
    return b_->resize(u.out, nd.width);
  }
  std::vector<ValueId> ops;
  for (size_t k = 0; k < nd.operands.size(); ++k) {
    TRY_ASSIGN(ValueId v, operand(k));
    ops.push_back(v);
  }
  b_->setLoc(nd.loc);
  ValueId out = kNoValue;
  hw::OpKind hk;
  if (hwBinaryKind(nd.kind, hk)) {
    if (ops.size() != 2)
      return err("rtl-bad-cdfg", "binary operator without two operands", nd.loc);
    out = b_->binary(hk, ops[0], ops[1]);
  } else {
    switch (nd.kind) {
    case OpKind::Select:
      out = b_->mux(ops[0], ops[1], ops[2]);
      break;
    case OpKind::ZExt:
      out = b_->zext(ops[0], nd.width);
      break;
    case OpKind::SExt:
      out = b_->sext(ops[0], nd.width);
      break;
    case OpKind::Trunc:
      out = b_->extract(ops[0], 0, nd.width);
      break;
    default:
      return err("rtl-internal", "no datapath for " + std::string(opName(nd.kind)), nd.loc);
    }
  }
  return delay(out, s_.nodes[n].latency, nm);
}

// One instance of the callee's module; its argument multiplexers select by the issuing
// FSM state, or in a pipelined loop by the valid bit of the calling stage.
Expected<ValueId> RtlBuilder::buildCallUnit(uint32_t ui) {
  if (units_[ui].out != kNoValue)
    return units_[ui].out;
  const uint32_t f = units_[ui].callee;
  const hw::Module &cm = *calleeModule_.at(f);
  const Cdfg &fg = g_.callees[f];
  const Node &n0 = g_.node(units_[ui].nodes[0]);
  b_->setLoc(n0.loc);
  uint32_t inst = b_->instance(cm, cm.name() + "_u" + std::to_string(ui));
  m_->instances[inst].loc = n0.loc;
  unitInstances_.push_back(inst);
  b_->connect(inst, "clk", clk_);
  // The output first, so that a call whose argument comes from another call of the same
  // unit finds it built.
  units_[ui].out = b_->instOutput(inst, "result");
  // The selects are one-hot (FSM states; in a pipelined loop, stages of different modulo
  // slots are never valid together), so the multiplexer is an AND-OR: each argument
  // masked by its select, then a balanced OR tree (log depth, as Schedule.cpp's delay
  // model assumes; outside the calling cycles the unit computes on zeros).
  const std::vector<NodeId> nodes = units_[ui].nodes;
  for (size_t k = 0; k < fg.args.size(); ++k) {
    const uint32_t w = fg.args[k].width;
    std::vector<ValueId> terms;
    for (NodeId m : nodes) {
      const Node &mn = g_.node(m);
      TRY_ASSIGN(ValueId v, valueAt(mn.operands[k], mn.block, s_.nodes[m].cycle));
      b_->setLoc(mn.loc);
      v = b_->resize(v, w);
      if (nodes.size() > 1) {
        ValueId sel = pipelined(mn.block) // the stage holding the calling iteration
                          ? pipes_[pipeOf_[mn.block]].valid.at(s_.nodes[m].cycle)
                          : inState(stateOf_[mn.block][s_.nodes[m].cycle]);
        v = b_->mux(sel, v, b_->constant(w, 0));
      }
      terms.push_back(v);
    }
    while (terms.size() > 1) {
      std::vector<ValueId> next;
      for (size_t i = 0; i + 1 < terms.size(); i += 2)
        next.push_back(orV(terms[i], terms[i + 1]));
      if (terms.size() % 2)
        next.push_back(terms.back());
      terms = std::move(next);
    }
    b_->setLoc(n0.loc);
    b_->connect(inst, "a" + std::to_string(k), terms.at(0));
  }
  return units_[ui].out;
}

// Each shared function as a module: clk, en (the pipeline advances while en = 1),
// a0..aN-1, result. The callee's schedule is its pipeline: a value computed in cycle c
// and read in cycle d > c crosses d - c registers, the result one more; a new call can
// enter every cycle (II 1) and leaves `latency` cycles later.
Status RtlBuilder::buildCalleeModules() {
  std::set<std::string> names;
  for (const auto &m : design_.modules())
    names.insert(m->name());
  for (size_t f = 0; f < g_.callees.size(); ++f) {
    const Cdfg &fg = g_.callees[f];
    if (f >= s_.callees.size() || s_.callees[f].nodes.size() != fg.nodes.size() ||
        fg.blocks.size() != 1 || !fg.ret)
      return err("rtl-bad-schedule", "shared function '" + fg.name + "' has no schedule", fg.loc);
    const Schedule &fs = s_.callees[f];
    std::string base =
        fg.name.substr(fg.name.rfind(':') == std::string::npos ? 0 : fg.name.rfind(':') + 1);
    for (char &ch : base)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_')
        ch = '_';
    std::string name = m_->name() + "_" + base;
    for (int k = 2; names.count(name); ++k)
      name = m_->name() + "_" + base + std::to_string(k);
    names.insert(name);
    hw::Module &um = design_.addModule(name);
    um.loc = fg.loc;
    hw::ModuleBuilder ub(um);
    ub.setLoc(fg.loc);
    ValueId clk = ub.input("clk", 1), en = ub.input("en", 1);
    std::vector<ValueId> argIn;
    for (size_t k = 0; k < fg.args.size(); ++k) {
      ub.setLoc(fg.args[k].loc);
      argIn.push_back(ub.input("a" + std::to_string(k), std::max<uint32_t>(fg.args[k].width, 1)));
    }
    hw::RegOptions ro;
    ro.enable = en;
    const uint32_t length = std::max<uint32_t>(fs.blocks[0].length, 1);
    std::map<std::pair<NodeId, uint32_t>, ValueId> at;
    std::vector<ValueId> combV(fg.nodes.size(), kNoValue);
    auto ready = [&](NodeId n) -> uint32_t {
      const Node &x = fg.node(n);
      return x.kind == OpKind::Arg || x.kind == OpKind::Const
                 ? 0
                 : fs.nodes[n].cycle + fs.nodes[n].latency;
    };
    std::function<Expected<ValueId>(NodeId, uint32_t)> valueIn;
    std::function<Expected<ValueId>(NodeId)> build = [&](NodeId n) -> Expected<ValueId> {
      if (combV[n] != kNoValue)
        return combV[n];
      const Node &x = fg.node(n);
      ub.setLoc(x.loc);
      ValueId out = kNoValue;
      if (x.kind == OpKind::Const) {
        out = ub.constant(x.width, x.value);
      } else if (x.kind == OpKind::Arg) {
        out = argIn.at(x.attr);
      } else {
        std::vector<ValueId> ops;
        for (NodeId o : x.operands) {
          TRY_ASSIGN(ValueId v, valueIn(o, fs.nodes[n].cycle));
          ops.push_back(v);
        }
        ub.setLoc(x.loc);
        hw::OpKind hk;
        if (hwBinaryKind(x.kind, hk) && ops.size() == 2)
          out = ub.binary(hk, ops[0], ops[1]);
        else if (x.kind == OpKind::Select && ops.size() == 3)
          out = ub.mux(ops[0], ops[1], ops[2]);
        else if (x.kind == OpKind::ZExt && ops.size() == 1)
          out = ub.zext(ops[0], x.width);
        else if (x.kind == OpKind::SExt && ops.size() == 1)
          out = ub.sext(ops[0], x.width);
        else if (x.kind == OpKind::Trunc && ops.size() == 1)
          out = ub.extract(ops[0], 0, x.width);
        else
          return err("rtl-unsupported",
                     "no datapath for " + std::string(opName(x.kind)) + " in shared function '" +
                         fg.name + "'",
                     x.loc);
        for (uint32_t i = 0; i < fs.nodes[n].latency; ++i)
          out = ub.reg(clk, out, "n" + std::to_string(n) + "_d" + std::to_string(i + 1), ro);
      }
      combV[n] = out;
      return out;
    };
    valueIn = [&](NodeId n, uint32_t cycle) -> Expected<ValueId> {
      uint32_t r = ready(n);
      if (fg.node(n).kind == OpKind::Const || cycle == r)
        return build(n);
      if (cycle < r)
        return err("rtl-bad-schedule", "value read before it is available", fg.node(n).loc);
      auto it = at.find({n, cycle});
      if (it != at.end())
        return it->second;
      TRY_ASSIGN(ValueId prev, valueIn(n, cycle - 1));
      ub.setLoc(fg.node(n).loc);
      std::string nm = fg.node(n).name.empty() ? "v" : fg.node(n).name;
      ValueId r2 =
          ub.reg(clk, prev, nm + "_n" + std::to_string(n) + "_c" + std::to_string(cycle), ro);
      at[{n, cycle}] = r2;
      return r2;
    };
    const Node &ret = fg.node(fg.blocks[0].nodes.back());
    if (ret.kind != OpKind::Ret || ret.operands.size() != 1)
      return err("rtl-bad-cdfg", "shared function '" + fg.name + "' does not return a value",
                 fg.loc);
    TRY_ASSIGN(ValueId rv, valueIn(ret.operands[0], length - 1));
    ub.setLoc(ret.loc);
    ValueId result = ub.reg(clk, ub.resize(rv, fg.ret->width), "result_r", ro);
    ub.output("result", fg.ret->width, result);
    calleeModule_.push_back(&um);
    std::pair<uint32_t, uint32_t> regs{0, 0};
    for (const hw::Op &op : um.ops)
      if (op.kind == hw::OpKind::Reg) {
        ++regs.first;
        regs.second += op.width;
      }
    calleeRegs_.push_back(regs);
  }
  return Status::success();
}

Expected<ValueId> RtlBuilder::comb(NodeId n) {
  if (comb_[n] != kNoValue)
    return comb_[n];
  // A shared-function unit's output is a register (latency >= 1): a call whose argument
  // depends on its own result (a recurrence in a pipelined loop, II = the unit's latency)
  // reads the output that exists before the argument multiplexers are built.
  if (combBusy_[n] && unitOf_[n] != kNone && units_[unitOf_[n]].callee != kNone &&
      units_[unitOf_[n]].out != kNoValue) {
    b_->setLoc(g_.node(n).loc);
    return b_->resize(units_[unitOf_[n]].out, g_.node(n).width);
  }
  if (combBusy_[n])
    return err("rtl-bad-schedule", "combinational cycle through this operation", g_.node(n).loc);
  combBusy_[n] = 1;
  TRY_ASSIGN(ValueId v, buildOp(n));
  combBusy_[n] = 0;
  comb_[n] = v;
  return v;
}

// A loop-carried phi as the iteration at `cp` reads it: the initial value in the first
// iteration, else the back-edge operand of the previous iteration, which is II cycles
// further on (Rau's modulo constraint guarantees it is available by then). The phi's
// own scheduled cycle plays no part: a phi costs nothing and is read where it is used.
Expected<ValueId> RtlBuilder::phiExpr(NodeId p, uint32_t cp) {
  auto it = phiAt_.find({p, cp});
  if (it != phiAt_.end())
    return it->second;
  const Node &nd = g_.node(p);
  Pipe &pp = pipes_[pipeOf_[nd.block]];
  if (cp >= pp.first.size())
    return err("rtl-unsupported",
               "loop-carried value through too long a chain of phis in a pipelined loop", nd.loc);
  // The back-edge operand of the previous iteration, II cycles later in its life.
  NodeId back = kNone;
  const Block &blk = g_.blocks[nd.block];
  for (size_t k = 0; k < blk.preds.size(); ++k)
    if (blk.preds[k] == nd.block)
      back = nd.operands[k];
  if (back == kNone)
    return err("rtl-bad-cdfg", "pipelined loop phi without a back-edge operand", nd.loc);
  // No combinational recursion p -> back -> ... -> p: reading `back` II >= 1 cycles on
  // goes through a pipeline register (pipeValue) whose input is built later.
  TRY_ASSIGN(ValueId prev, valueAt(back, nd.block, cp + pp.ii));
  b_->setLoc(nd.loc);
  ValueId v = b_->mux(pp.first[cp], phiReg_[p], b_->resize(prev, nd.width));
  b_->name(v, (nd.name.empty() ? "phi" : nd.name) + "_n" + std::to_string(p) + "_c" +
                  std::to_string(cp));
  phiAt_[{p, cp}] = v;
  return v;
}

// The value of pipelined-body node n as the iteration at `cycle` sees it.
Expected<ValueId> RtlBuilder::pipeValue(NodeId n, uint32_t cycle) {
  const Node &nd = g_.node(n);
  if (nd.kind == OpKind::Phi)
    return phiExpr(n, cycle);
  uint32_t a = avail(n);
  if (cycle < a)
    return err("rtl-bad-schedule",
               "'" + (nd.name.empty() ? std::string(opName(nd.kind)) : nd.name) +
                   "' is read in cycle " + std::to_string(cycle) +
                   " of the pipelined iteration before it is available (cycle " +
                   std::to_string(a) + ")",
               nd.loc);
  if (cycle == a)
    return comb(n);
  // Modulo variable expansion (Lam, PLDI 1988) in hardware: the next iteration
  // overwrites the value II cycles later, so copy j (j >= 1) holds it during cycles
  // (a + (j-1) II, a + j II] of its iteration; copy 1 loads the result in cycle a, copy
  // j loads copy j-1 in cycle a + (j-1) II, each enabled by that cycle's valid bit.
  // ceil(lifetime / II) registers per value instead of one per cycle.
  const Pipe &p = pipes_[pipeOf_[nd.block]];
  uint32_t j = (cycle - a + p.ii - 1) / p.ii;
  auto it = chain_.find({n, j});
  if (it != chain_.end())
    return it->second;
  uint32_t src = a + (j - 1) * p.ii;
  if (src >= p.valid.size())
    return err("rtl-internal", "pipeline register beyond the controller's cycles", nd.loc);
  b_->setLoc(nd.loc);
  ValueId r = newReg(nd.width,
                     (nd.name.empty() ? "v" : nd.name) + "_n" + std::to_string(n) + "_m" +
                         std::to_string(j),
                     false, nd.loc, true);
  chain_[{n, j}] = r;
  // Its input is built later (resolveChains): building it now could come back here
  // through a loop-carried phi before this register exists.
  pendingChains_.push_back({r, {n, src}});
  return r;
}

Expected<ValueId> RtlBuilder::valueAt(NodeId n, BlockId reader, uint32_t cycle) {
  const Node &nd = g_.node(n);
  if (nd.kind == OpKind::Const) {
    b_->setLoc(nd.loc);
    return b_->constant(nd.width, nd.value);
  }
  if (nd.kind == OpKind::Arg) {
    if (nd.attr >= argReg_.size())
      return err("rtl-bad-cdfg", "argument index out of range", nd.loc);
    return argReg_[nd.attr];
  }
  if (nd.block != reader) {
    if (nd.kind == OpKind::Phi && !pipelined(nd.block))
      return phiReg_[n];
    if (globalReg_[n] == kNoValue)
      return err("rtl-internal", "value read outside its block has no register", nd.loc);
    return globalReg_[n];
  }
  if (pipelined(reader))
    return pipeValue(n, cycle);
  if (nd.kind == OpKind::Phi)
    return phiReg_[n];
  uint32_t a = avail(n);
  if (cycle == a)
    return comb(n);
  if (cycle < a)
    return err("rtl-bad-schedule", "value read before it is available", nd.loc);
  if (globalReg_[n] != kNoValue)
    return globalReg_[n];
  if (poolOf_[n] == kNone)
    return err("rtl-internal", "value read in a later cycle has no register", nd.loc);
  b_->setLoc(nd.loc);
  return b_->resize(pool_[poolOf_[n]], nd.width);
}

Status RtlBuilder::buildPipes() {
  for (Pipe &p : pipes_) {
    const Loop &loop = g_.loops[p.loop];
    b_->setLoc(loop.loc);
    std::string pre = "loop" + std::to_string(p.loop) + "_";
    p.inPipe = inState(stateOf_[p.block][0]);
    p.running = newReg(1, pre + "running", true, loop.loc, false);
    p.firstPending = newReg(1, pre + "first_pending", true, loop.loc, false);
    ValueId issueSlot = one();
    if (p.ii > 1) {
      uint32_t w = bitsFor(p.ii);
      p.cnt = newReg(w, pre + "ii_count", true, loop.loc, false);
      issueSlot = b_->eq(p.cnt, b_->constant(w, 0));
    }
    // Cycles at which valid / first bits are needed: reads happen up to depth - 1, a phi
    // read at c looks at the iteration at c + II, a phi of a phi at c + 2 II, ...
    uint32_t phis = 0;
    for (NodeId n : g_.blocks[p.block].nodes)
      phis += g_.node(n).kind == OpKind::Phi;
    uint32_t span = p.depth + p.ii * (phis + 1) + 1;
    p.valid.assign(span, kNoValue);
    p.first.assign(span, kNoValue);
    // With streams the raw issue can stall: `issue` (issued and not stalled) is named
    // once the stall exists (finishStreams).
    p.valid[0] = b_->name(andV(andV(p.inPipe, p.running), issueSlot),
                          pre + (g_.streams.empty() ? "issue" : "issue_raw"));
    p.first[0] = andV(p.valid[0], p.firstPending);
    for (uint32_t k = 1; k < span; ++k) {
      p.valid[k] = newReg(1, pre + "valid" + std::to_string(k), true, loop.loc, false);
      p.first[k] = newReg(1, pre + "first" + std::to_string(k), true, loop.loc, false);
    }
    // Squash: when the iteration at condCycle exits, those at earlier cycles are younger.
    for (uint32_t k = 0; k < span; ++k)
      p.validEff[k] = p.valid[k]; // refined below once exitNow exists
  }
  return Status::success();
}

Status RtlBuilder::buildControl() {
  b_->setLoc(g_.loc);
  // Transitions: (condition, from block, to block); kNone `to` means done.
  struct Trans {
    ValueId cond;
    BlockId from, to;
    NodeId retVal;
  };
  std::vector<Trans> trans;
  ValueId idle = inState(idleState_);
  ValueId go = andV(idle, start_);
  for (size_t a = 0; a < g_.args.size(); ++a)
    write(argReg_[a], go, argInputs_[a]);
  // Pipelines: exit test, squash, drain.
  for (Pipe &p : pipes_) {
    const Loop &loop = g_.loops[p.loop];
    const Node &term = g_.node(g_.blocks[p.block].nodes.back());
    TRY_ASSIGN(ValueId cond, valueAt(term.operands[0], p.block, p.condCycle));
    b_->setLoc(term.loc);
    ValueId leave = p.exitOnTrue ? cond : notV(cond);
    p.exitNow = andV(p.valid[p.condCycle], leave);
    for (uint32_t k = 0; k < p.condCycle; ++k)
      p.validEff[k] = andV(p.valid[k], notV(p.exitNow));
    b_->setLoc(loop.loc);
    std::string pre = "loop" + std::to_string(p.loop) + "_";
    std::vector<ValueId> ex(p.depth, kNoValue);
    ex[p.condCycle] = p.exitNow;
    for (uint32_t k = p.condCycle + 1; k < p.depth; ++k) {
      ex[k] = newReg(1, pre + "exit" + std::to_string(k), true, loop.loc, false);
      write(ex[k], one(), ex[k - 1]);
    }
    p.lastDone = ex[p.depth - 1];
    for (uint32_t k = 1; k < p.valid.size(); ++k) {
      write(p.valid[k], one(), p.validEff[k - 1]);
      write(p.first[k], one(), andV(p.first[k - 1], p.validEff[k - 1]));
    }
    write(p.running, p.exitNow, zero1());
    write(p.firstPending, p.valid[0], zero1());
    if (p.cnt != kNoValue) {
      uint32_t w = m_->width(p.cnt);
      ValueId wrap = b_->eq(p.cnt, b_->constant(w, p.ii - 1));
      ValueId inc = b_->mux(wrap, b_->constant(w, 0), b_->add(p.cnt, b_->constant(w, 1)));
      write(p.cnt, p.inPipe, inc);
    }
    trans.push_back({andV(p.inPipe, p.lastDone), p.block, p.exitTarget, kNone});
  }
  trans.push_back({go, kNone, 0, kNone});
  // Sequential blocks: the terminator in the last state.
  for (BlockId bb = 0; bb < g_.blocks.size(); ++bb) {
    if (pipelined(bb))
      continue;
    const Block &blk = g_.blocks[bb];
    if (blk.nodes.empty())
      return err("rtl-bad-cdfg", "block without a terminator", blk.loc);
    NodeId tn = blk.nodes.back();
    const Node &term = g_.node(tn);
    uint32_t last = lastCycle(bb);
    ValueId here = inState(stateOf_[bb][last]);
    b_->setLoc(term.loc);
    switch (term.kind) {
    case OpKind::Br:
      trans.push_back({here, bb, term.attr, kNone});
      break;
    case OpKind::CondBr: {
      TRY_ASSIGN(ValueId c, valueAt(term.operands[0], bb, last));
      b_->setLoc(term.loc);
      trans.push_back({andV(here, c), bb, term.attr, kNone});
      trans.push_back({andV(here, notV(c)), bb, term.attr2, kNone});
      break;
    }
    case OpKind::Ret:
      trans.push_back({here, bb, kNone, term.operands.empty() ? kNone : term.operands[0]});
      break;
    default:
      return err("rtl-bad-cdfg", "block does not end in a terminator", term.loc);
    }
  }
  // Next state, phi copies, pipeline entry, return value.
  b_->setLoc(g_.loc);
  for (const Trans &t : trans) {
    if (t.to == kNone) {
      write(state_, t.cond, b_->constant(stateWidth_, doneState_));
      if (t.retVal != kNone && retReg_ != kNoValue) {
        TRY_ASSIGN(ValueId v, valueAt(t.retVal, t.from, lastCycle(t.from)));
        write(retReg_, t.cond, v);
      }
      continue;
    }
    if (t.to >= g_.blocks.size())
      return err("rtl-bad-cdfg", "branch to an unknown block", g_.loc);
    write(state_, t.cond, b_->constant(stateWidth_, stateOf_[t.to][0]));
    const Block &tb = g_.blocks[t.to];
    if (t.from != kNone) {
      for (NodeId pn : tb.nodes) {
        const Node &ph = g_.node(pn);
        if (ph.kind != OpKind::Phi)
          break;
        size_t k = 0;
        while (k < tb.preds.size() && tb.preds[k] != t.from)
          ++k;
        if (k >= tb.preds.size() || k >= ph.operands.size())
          return err("rtl-bad-cdfg", "phi has no operand for a predecessor", ph.loc);
        uint32_t rc = pipelined(t.from) ? pipes_[pipeOf_[t.from]].depth - 1 : lastCycle(t.from);
        TRY_ASSIGN(ValueId v, valueAt(ph.operands[k], t.from, rc));
        write(phiReg_[pn], t.cond, v);
      }
    }
    if (pipelined(t.to) && t.from != t.to) {
      Pipe &p = pipes_[pipeOf_[t.to]];
      write(p.running, t.cond, one());
      write(p.firstPending, t.cond, one());
      if (p.cnt != kNoValue)
        write(p.cnt, t.cond, b_->constant(m_->width(p.cnt), 0));
    }
  }
  // Live-outs of pipelines: captured from the exiting iteration's last cycle.
  for (Pipe &p : pipes_) {
    ValueId cond = andV(p.inPipe, p.lastDone);
    for (NodeId n : g_.blocks[p.block].nodes)
      if (globalReg_[n] != kNoValue) {
        TRY_ASSIGN(ValueId v, pipeValue(n, p.depth - 1));
        write(globalReg_[n], cond, v);
      }
  }
  // Sequential values: own and pool registers written in their available state.
  for (NodeId n = 0; n < g_.nodes.size(); ++n) {
    const Node &nd = g_.node(n);
    if (nd.block == kNone || pipelined(nd.block) || nd.kind == OpKind::Phi)
      continue;
    if (globalReg_[n] == kNoValue && poolOf_[n] == kNone)
      continue;
    TRY_ASSIGN(ValueId v, comb(n));
    ValueId when = inState(stateOf_[nd.block][avail(n)]);
    write(globalReg_[n] != kNoValue ? globalReg_[n] : pool_[poolOf_[n]], when, v);
  }
  // Sequential states advance within their block.
  for (BlockId bb = 0; bb < g_.blocks.size(); ++bb) {
    if (pipelined(bb))
      continue;
    for (uint32_t c = 0; c < lastCycle(bb); ++c)
      write(state_, inState(stateOf_[bb][c]), b_->constant(stateWidth_, stateOf_[bb][c + 1]));
  }
  write(state_, inState(doneState_), b_->constant(stateWidth_, idleState_));
  // Memory accesses.
  for (NodeId n = 0; n < g_.nodes.size(); ++n) {
    const Node &nd = g_.node(n);
    if (nd.kind != OpKind::Load && nd.kind != OpKind::Store)
      continue;
    BlockId bb = nd.block;
    uint32_t c = s_.nodes[n].cycle;
    Access a;
    a.loc = nd.loc;
    TRY_ASSIGN(a.enable, accessEnable(n));
    TRY_ASSIGN(ValueId addr, valueAt(nd.operands[0], bb, c));
    b_->setLoc(nd.loc);
    a.addr = b_->resize(addr, addrWidth_[nd.attr]);
    if (nd.kind == OpKind::Store) {
      a.store = true;
      TRY_ASSIGN(ValueId d, valueAt(nd.operands[1], bb, c));
      b_->setLoc(nd.loc);
      a.data = b_->resize(d, g_.memories[nd.attr].elemWidth);
    }
    memPorts_[nd.attr].ports[portOf_[n]].push_back(a);
  }
  // Datapath is built on demand from the reads above: a node nothing reads (and that is
  // not a store) gets no hardware.
  return Status::success();
}

Status RtlBuilder::resolveChains() {
  while (!pendingChains_.empty()) {
    auto [reg, at] = pendingChains_.back();
    pendingChains_.pop_back();
    TRY_ASSIGN(ValueId prev, pipeValue(at.first, at.second));
    const Pipe &p = pipes_[pipeOf_[g_.node(at.first).block]];
    write(reg, p.ii == 1 ? one() : p.valid[at.second], prev);
  }
  return Status::success();
}

Status RtlBuilder::buildMemoryPorts() {
  for (MemId mi = 0; mi < g_.memories.size(); ++mi) {
    const Memory &mem = g_.memories[mi];
    PortSet &ps = memPorts_[mi];
    uint32_t aw = addrWidth_[mi];
    for (size_t p = 0; p < ps.ports.size(); ++p) {
      b_->setLoc(mem.loc);
      ValueId ce = zero1(), we = zero1();
      ValueId addr = b_->constant(aw, 0), data = b_->constant(mem.elemWidth, 0);
      const auto &acc = ps.ports[p];
      for (size_t i = acc.size(); i-- > 0;) {
        const Access &a = acc[i];
        b_->setLoc(a.loc);
        ce = orV(a.enable, ce);
        addr = b_->mux(a.enable, a.addr, addr);
        if (a.store) {
          we = orV(a.enable, we);
          data = b_->mux(a.enable, a.data, data);
        }
      }
      b_->setLoc(mem.loc);
      if (stall_ != kNoValue) {
        ce = andV(ce, notV(stall_));
        we = andV(we, notV(stall_));
      }
      std::string sfx = std::to_string(p);
      if (mem.kind == MemKind::Interface) {
        b_->output(mem.name + "_addr" + sfx, aw, addr);
        b_->output(mem.name + "_ce" + sfx, 1, ce);
        b_->output(mem.name + "_we" + sfx, 1, we);
        b_->output(mem.name + "_wdata" + sfx, mem.elemWidth, data);
      } else {
        ValueId ren = andV(ce, notV(we));
        hw::Op &rd = m_->op(ps.rdata[p]);
        rd.operands[1] = addr;
        rd.operands[2] = ren;
        b_->memWrite(hwMem_[mi], clk_, addr, data, we);
      }
    }
  }
  return Status::success();
}

// Stream ops: when each is active, and the data each write sends (built before the
// pipeline copies are resolved: the data may need some).
Status RtlBuilder::buildStreams() {
  for (NodeId n = 0; n < g_.nodes.size(); ++n) {
    const Node &nd = g_.node(n);
    if (nd.kind != OpKind::StreamRead && nd.kind != OpKind::StreamWrite)
      continue;
    if (nd.attr >= g_.streams.size())
      return err("rtl-bad-cdfg", "stream id out of range", nd.loc);
    StreamOp op{n};
    TRY_ASSIGN(op.active, accessEnable(n));
    if (nd.kind == OpKind::StreamWrite) {
      TRY_ASSIGN(op.data, valueAt(nd.operands[0], nd.block, s_.nodes[n].cycle));
    }
    streamOps_[nd.attr].push_back(op);
  }
  return Status::success();
}

// The stall, the handshake outputs, and the pipelines' `issue` signals.
void RtlBuilder::finishStreams() {
  if (g_.streams.empty())
    return;
  // blocked[k]: some op of stream k is active and its partner is not there.
  std::vector<ValueId> blocked(g_.streams.size(), kNoValue), active(g_.streams.size(), kNoValue);
  for (size_t k = 0; k < g_.streams.size(); ++k) {
    const Stream &st = g_.streams[k];
    b_->setLoc(st.loc);
    ValueId act = zero1();
    for (const StreamOp &op : streamOps_[k])
      act = orV(act, op.active);
    active[k] = act;
    ValueId partner = st.dir == StreamDir::In ? streamValidIn_[k] : streamIn_[k];
    blocked[k] = b_->name(andV(act, notV(partner)), st.name + "_blocked");
  }
  b_->setLoc(g_.loc);
  ValueId stall = zero1();
  for (ValueId v : blocked)
    stall = orV(stall, v);
  for (size_t k = 0; k < g_.streams.size(); ++k) {
    const Stream &st = g_.streams[k];
    b_->setLoc(st.loc);
    ValueId others = zero1();
    for (size_t j = 0; j < g_.streams.size(); ++j)
      if (j != k)
        others = orV(others, blocked[j]);
    ValueId go = andV(active[k], notV(others));
    if (st.dir == StreamDir::In) {
      b_->output(st.name + "_ready", 1, go);
      continue;
    }
    uint32_t w = std::max<uint32_t>(st.width, 1);
    ValueId data = b_->constant(w, 0);
    for (size_t i = streamOps_[k].size(); i-- > 0;) {
      const StreamOp &op = streamOps_[k][i];
      b_->setLoc(g_.node(op.node).loc);
      data = b_->mux(op.active, b_->resize(op.data, w), data);
    }
    b_->setLoc(st.loc);
    b_->output(st.name + "_data", w, data);
    b_->output(st.name + "_valid", 1, go);
  }
  b_->setLoc(g_.loc);
  stall_ = b_->name(stall, "stall");
  for (Pipe &p : pipes_) {
    b_->setLoc(g_.loops[p.loop].loc);
    b_->name(andV(p.valid[0], notV(stall_)), "loop" + std::to_string(p.loop) + "_issue");
  }
}

Expected<hw::Design> RtlBuilder::run(RtlStats *stats) {
  TRY(check());
  std::string name = opts_.moduleName.empty() ? g_.name : opts_.moduleName;
  if (name.empty())
    name = "kernel";
  m_ = &design_.addModule(name);
  design_.topName = name;
  m_->loc = g_.loc;
  b_ = std::make_unique<hw::ModuleBuilder>(*m_);
  b_->setLoc(g_.loc);
  std::set<std::string> portNames = {"clk", "rst", "start", "idle", "done", "return"};
  for (const Arg &a : g_.args)
    if (!portNames.insert(a.name).second)
      return err("rtl-name-clash",
                 "argument '" + a.name + "' clashes with a port of the kernel interface", a.loc);
  for (const Stream &st : g_.streams)
    for (const char *sfx : {"_data", "_valid", "_ready"})
      if (!portNames.insert(st.name + sfx).second)
        return err("rtl-name-clash",
                   "stream '" + st.name + "' clashes with a port of the kernel interface", st.loc);
  clk_ = b_->input("clk", 1);
  rst_ = b_->input("rst", 1);
  start_ = b_->input("start", 1);
  for (const Arg &a : g_.args) {
    b_->setLoc(a.loc);
    argInputs_.push_back(b_->input(a.name, std::max<uint32_t>(a.width, 1)));
  }
  streamIn_.assign(g_.streams.size(), kNoValue);
  streamValidIn_.assign(g_.streams.size(), kNoValue);
  streamOps_.assign(g_.streams.size(), {});
  for (size_t k = 0; k < g_.streams.size(); ++k) {
    const Stream &st = g_.streams[k];
    b_->setLoc(st.loc);
    if (st.dir == StreamDir::In) {
      streamIn_[k] = b_->input(st.name + "_data", std::max<uint32_t>(st.width, 1));
      streamValidIn_[k] = b_->input(st.name + "_valid", 1);
    } else {
      streamIn_[k] = b_->input(st.name + "_ready", 1);
    }
  }
  // States: idle, (block, cycle) or one per pipelined block, done.
  stateOf_.resize(g_.blocks.size());
  uint32_t st = 1;
  for (BlockId bb = 0; bb < g_.blocks.size(); ++bb) {
    uint32_t len = pipelined(bb) ? 1 : lastCycle(bb) + 1;
    for (uint32_t c = 0; c < len; ++c)
      stateOf_[bb].push_back(st++);
  }
  idleState_ = 0;
  doneState_ = st++;
  numStates_ = st;
  stateWidth_ = bitsFor(numStates_);
  {
    hw::RegOptions ro;
    ro.reset = rst_;
    ro.resetValue = hw::BitVec(stateWidth_, idleState_);
    state_ = b_->regDecl(clk_, stateWidth_, "state", ro);
    regIndex_[state_] = regs_.size();
    regs_.push_back(RegWrites{state_, stateWidth_, {}, g_.loc});
  }
  for (size_t a = 0; a < g_.args.size(); ++a)
    argReg_.push_back(newReg(std::max<uint32_t>(g_.args[a].width, 1), g_.args[a].name + "_arg",
                             false, g_.args[a].loc, true));
  if (g_.ret)
    retReg_ = newReg(g_.ret->width, "return_r", false, g_.ret->loc, true);
  TRY(planMemories());
  TRY(planValues());
  TRY(buildCalleeModules());
  TRY(planUnits());
  TRY(buildPipes());
  TRY(buildControl());
  TRY(buildStreams());
  TRY(resolveChains());
  finishStreams();
  TRY(buildMemoryPorts());
  finishRegisters();
  // Shared-function units advance with the kernel: frozen while a stream op stalls it.
  for (uint32_t inst : unitInstances_) {
    b_->setLoc(m_->instances[inst].loc);
    b_->connect(inst, "en", stall_ != kNoValue ? notV(stall_) : one());
  }
  b_->setLoc(g_.loc);
  b_->output("idle", 1, inState(idleState_));
  b_->output("done", 1, inState(doneState_));
  if (g_.ret)
    b_->output("return", g_.ret->width, retReg_);
  DiagnosticEngine diags;
  if (!hw::verifyDesign(design_, diags)) {
    Diagnostic d = err("rtl-internal", "the generated hw IR does not verify", g_.loc);
    for (const Diagnostic &x : diags.diagnostics())
      d.withNote(Diagnostic::note(x.message, x.loc));
    return d;
  }
  if (stats) {
    stats->states = numStates_;
    stats->registers = dataRegs_;
    stats->registerBits = dataRegBits_;
    stats->units = static_cast<uint32_t>(units_.size()) + unshareableUnits_;
    stats->sharedUnits = 0;
    stats->functionUnits = 0;
    for (const Unit &u : units_) {
      if (u.nodes.size() > 1)
        ++stats->sharedUnits;
      if (u.callee != kNone && u.out != kNoValue) { // built (a call whose result is used)
        ++stats->functionUnits;
        stats->registers += calleeRegs_[u.callee].first;
        stats->registerBits += calleeRegs_[u.callee].second;
      }
    }
  }
  return std::move(design_);
}

} // namespace

Expected<hw::Design> buildRtl(const Cdfg &g, const Schedule &s, const RtlOptions &opts,
                              RtlStats *stats) {
  RtlBuilder b(g, s, opts);
  return b.run(stats);
}

} // namespace tessera::hls
