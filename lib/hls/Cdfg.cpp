//===- Cdfg.cpp - CDFG utilities: verification, printing, evaluation ------===//
#include "hls/Cdfg.h"

#include <algorithm>
#include <fmt/format.h>
#include <sstream>

namespace tessera::hls {

std::string_view opName(OpKind k) {
  switch (k) {
  case OpKind::Const: return "const";
  case OpKind::Arg: return "arg";
  case OpKind::Add: return "add";
  case OpKind::Sub: return "sub";
  case OpKind::Mul: return "mul";
  case OpKind::DivU: return "divu";
  case OpKind::DivS: return "divs";
  case OpKind::RemU: return "remu";
  case OpKind::RemS: return "rems";
  case OpKind::And: return "and";
  case OpKind::Or: return "or";
  case OpKind::Xor: return "xor";
  case OpKind::Shl: return "shl";
  case OpKind::ShrU: return "shru";
  case OpKind::ShrS: return "shrs";
  case OpKind::Eq: return "eq";
  case OpKind::Ne: return "ne";
  case OpKind::LtU: return "ltu";
  case OpKind::LtS: return "lts";
  case OpKind::LeU: return "leu";
  case OpKind::LeS: return "les";
  case OpKind::GtU: return "gtu";
  case OpKind::GtS: return "gts";
  case OpKind::GeU: return "geu";
  case OpKind::GeS: return "ges";
  case OpKind::Select: return "select";
  case OpKind::ZExt: return "zext";
  case OpKind::SExt: return "sext";
  case OpKind::Trunc: return "trunc";
  case OpKind::Phi: return "phi";
  case OpKind::Load: return "load";
  case OpKind::Store: return "store";
  case OpKind::StreamRead: return "stream_read";
  case OpKind::StreamWrite: return "stream_write";
  case OpKind::Br: return "br";
  case OpKind::CondBr: return "condbr";
  case OpKind::Ret: return "ret";
  case OpKind::Call: return "call";
  }
  return "?";
}

bool isTerminator(OpKind k) { return k == OpKind::Br || k == OpKind::CondBr || k == OpKind::Ret; }

bool isCompare(OpKind k) { return k >= OpKind::Eq && k <= OpKind::GeS; }

bool isCommutative(OpKind k) {
  switch (k) {
  case OpKind::Add:
  case OpKind::Mul:
  case OpKind::And:
  case OpKind::Or:
  case OpKind::Xor:
  case OpKind::Eq:
  case OpKind::Ne:
    return true;
  default:
    return false;
  }
}

NodeId Cdfg::add(BlockId block, Node n) {
  n.block = block;
  NodeId id = NodeId(nodes.size());
  nodes.push_back(std::move(n));
  blocks[block].nodes.push_back(id);
  return id;
}

std::vector<std::vector<NodeId>> Cdfg::users() const {
  std::vector<std::vector<NodeId>> u(nodes.size());
  for (NodeId n = 0; n < nodes.size(); ++n)
    for (NodeId o : nodes[n].operands)
      if (o < nodes.size() && (u[o].empty() || u[o].back() != n))
        u[o].push_back(n);
  return u;
}

SourceLoc Cdfg::locOf(NodeId n) const {
  if (n >= nodes.size())
    return loc;
  if (nodes[n].loc.known())
    return nodes[n].loc;
  std::vector<std::vector<NodeId>> use = users();
  std::vector<uint8_t> seen(nodes.size(), 0);
  std::vector<NodeId> frontier{n};
  seen[n] = 1;
  for (size_t depth = 0; depth < 8 && !frontier.empty(); ++depth) {
    std::vector<NodeId> next;
    for (NodeId x : frontier) {
      const std::vector<NodeId> *lists[2] = {&use[x], &nodes[x].operands};
      for (const std::vector<NodeId> *list : lists)
        for (NodeId y : *list)
          if (!seen[y]) {
            if (nodes[y].loc.known())
              return nodes[y].loc;
            seen[y] = 1;
            next.push_back(y);
          }
    }
    frontier = std::move(next);
  }
  const Node &x = nodes[n];
  if (x.block < blocks.size() && blocks[x.block].loc.known())
    return blocks[x.block].loc;
  return loc;
}

std::vector<BlockId> Cdfg::reversePostOrder() const {
  std::vector<BlockId> post;
  if (blocks.empty())
    return post;
  std::vector<uint8_t> seen(blocks.size(), 0);
  // Iterative DFS: (block, next successor index).
  std::vector<std::pair<BlockId, size_t>> stack{{0, 0}};
  seen[0] = 1;
  while (!stack.empty()) {
    auto &[b, i] = stack.back();
    if (i < blocks[b].succs.size()) {
      BlockId s = blocks[b].succs[i++];
      if (s < blocks.size() && !seen[s]) {
        seen[s] = 1;
        stack.push_back({s, 0});
      }
    } else {
      post.push_back(b);
      stack.pop_back();
    }
  }
  std::reverse(post.begin(), post.end());
  return post;
}

namespace {

std::string nodeRef(const Cdfg &g, NodeId n) {
  const Node &x = g.nodes[n];
  std::string s = fmt::format("%{} ({})", n, opName(x.kind));
  if (!x.name.empty())
    s += " '" + x.name + "'";
  return s;
}

Diagnostic bad(const Cdfg &g, NodeId n, const std::string &msg) {
  return Diagnostic::error("bad-cdfg",
                           fmt::format("{}: node {}: {}", g.name, nodeRef(g, n), msg),
                           g.nodes[n].loc);
}

// Immediate dominators (Cooper, Harvey & Kennedy) over the blocks reachable from 0.
std::vector<BlockId> dominators(const Cdfg &g, const std::vector<BlockId> &rpo) {
  std::vector<uint32_t> order(g.blocks.size(), kNone);
  for (size_t i = 0; i < rpo.size(); ++i)
    order[rpo[i]] = uint32_t(i);
  std::vector<BlockId> idom(g.blocks.size(), kNone);
  if (rpo.empty())
    return idom;
  idom[rpo[0]] = rpo[0];
  auto intersect = [&](BlockId a, BlockId b) {
    while (a != b) {
      while (order[a] > order[b])
        a = idom[a];
      while (order[b] > order[a])
        b = idom[b];
    }
    return a;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 1; i < rpo.size(); ++i) {
      BlockId b = rpo[i], nd = kNone;
      for (BlockId p : g.blocks[b].preds)
        if (order[p] != kNone && idom[p] != kNone)
          nd = nd == kNone ? p : intersect(p, nd);
      if (nd != idom[b]) {
        idom[b] = nd;
        changed = true;
      }
    }
  }
  return idom;
}

} // namespace

Status Cdfg::verify() const {
  if (blocks.empty())
    return Diagnostic::error("bad-cdfg", name + ": no blocks", loc);
  for (size_t m = 0; m < memories.size(); ++m) {
    const Memory &mem = memories[m];
    if (mem.elemWidth == 0 || mem.elemWidth > 64 || mem.depth == 0)
      return Diagnostic::error(
          "bad-cdfg",
          fmt::format("{}: memory '{}' has element width {} and depth {}", name, mem.name,
                      mem.elemWidth, mem.depth),
          mem.loc);
    if (!mem.init.empty() && mem.init.size() != mem.depth)
      return Diagnostic::error("bad-cdfg",
                               fmt::format("{}: memory '{}' has {} initial values for depth {}",
                                           name, mem.name, mem.init.size(), mem.depth),
                               mem.loc);
  }
  // Block structure: successors match the terminator, predecessors match successors.
  std::vector<std::vector<BlockId>> preds(blocks.size());
  for (BlockId b = 0; b < blocks.size(); ++b) {
    const Block &blk = blocks[b];
    if (blk.nodes.empty())
      return Diagnostic::error("bad-cdfg", fmt::format("{}: block {} is empty", name, blk.name),
                               blk.loc);
    for (size_t i = 0; i < blk.nodes.size(); ++i) {
      NodeId n = blk.nodes[i];
      if (n >= nodes.size() || nodes[n].block != b)
        return Diagnostic::error("bad-cdfg",
                                 fmt::format("{}: block {} lists node {} of another block", name,
                                             blk.name, n),
                                 blk.loc);
      bool last = i + 1 == blk.nodes.size();
      if (isTerminator(nodes[n].kind) != last)
        return bad(*this, n, last ? "the last node of a block must be a terminator"
                                  : "a terminator before the end of its block");
      if (nodes[n].kind == OpKind::Phi && i > 0 && nodes[blk.nodes[i - 1]].kind != OpKind::Phi)
        return bad(*this, n, "a phi after a non-phi node");
    }
    const Node &t = nodes[blk.nodes.back()];
    std::vector<BlockId> want;
    if (t.kind == OpKind::Br)
      want = {t.attr};
    else if (t.kind == OpKind::CondBr)
      want = {t.attr, t.attr2};
    for (BlockId s : want)
      if (s >= blocks.size())
        return bad(*this, blk.nodes.back(), fmt::format("branch to block {} of {}", s, blocks.size()));
    if (want != blk.succs)
      return bad(*this, blk.nodes.back(), "the block's successors differ from its terminator's targets");
    for (BlockId s : blk.succs)
      preds[s].push_back(b);
  }
  for (BlockId b = 0; b < blocks.size(); ++b) {
    std::vector<BlockId> a = preds[b], c = blocks[b].preds;
    std::sort(a.begin(), a.end());
    std::sort(c.begin(), c.end());
    if (a != c)
      return Diagnostic::error("bad-cdfg",
                               fmt::format("{}: block {}'s predecessors differ from the edges into it",
                                           name, blocks[b].name),
                               blocks[b].loc);
  }
  // Node kinds, widths and operands.
  std::vector<BlockId> rpo = reversePostOrder();
  std::vector<BlockId> idom = dominators(*this, rpo);
  std::vector<uint32_t> posInBlock(nodes.size(), 0);
  for (const Block &blk : blocks)
    for (size_t i = 0; i < blk.nodes.size(); ++i)
      posInBlock[blk.nodes[i]] = uint32_t(i);
  auto dominates = [&](BlockId a, BlockId b) {
    if (idom[b] == kNone)
      return true; // unreachable code: not checked
    for (BlockId x = b;; x = idom[x]) {
      if (x == a)
        return true;
      if (idom[x] == x)
        return false;
    }
  };
  for (NodeId n = 0; n < nodes.size(); ++n) {
    const Node &x = nodes[n];
    if (x.block >= blocks.size())
      return bad(*this, n, "not in a block");
    auto nOps = [&](size_t k) -> Status {
      if (x.operands.size() != k)
        return bad(*this, n, fmt::format("{} operands, expected {}", x.operands.size(), k));
      return Status::success();
    };
    for (NodeId o : x.operands) {
      if (o >= nodes.size() || nodes[o].width == 0)
        return bad(*this, n, fmt::format("operand %{} defines no value", o));
    }
    auto w = [&](size_t i) { return nodes[x.operands[i]].width; };
    bool hasResult =
        !(x.kind == OpKind::Store || x.kind == OpKind::StreamWrite || isTerminator(x.kind));
    if (hasResult && (x.width == 0 || x.width > 64))
      return bad(*this, n, fmt::format("width {} (1..64)", x.width));
    if (!hasResult && x.width != 0)
      return bad(*this, n, "defines no value but has a width");
    switch (x.kind) {
    case OpKind::Const:
      TRY(nOps(0));
      if (x.width < 64 && (x.value >> x.width) != 0)
        return bad(*this, n, "constant has bits above its width");
      break;
    case OpKind::Arg:
      TRY(nOps(0));
      if (x.attr >= args.size() || args[x.attr].width != x.width)
        return bad(*this, n, "argument index or width does not match Cdfg::args");
      break;
    case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::DivU: case OpKind::DivS:
    case OpKind::RemU: case OpKind::RemS: case OpKind::And: case OpKind::Or: case OpKind::Xor:
      TRY(nOps(2));
      if (w(0) != x.width || w(1) != x.width)
        return bad(*this, n, "operand widths differ from the result width");
      break;
    case OpKind::Shl: case OpKind::ShrU: case OpKind::ShrS:
      TRY(nOps(2));
      if (w(0) != x.width)
        return bad(*this, n, "shifted operand width differs from the result width");
      break;
    case OpKind::Select:
      TRY(nOps(3));
      if (w(0) != 1 || w(1) != x.width || w(2) != x.width)
        return bad(*this, n, "select needs a 1-bit condition and two operands of its width");
      break;
    case OpKind::ZExt: case OpKind::SExt:
      TRY(nOps(1));
      if (w(0) > x.width)
        return bad(*this, n, "extension to a narrower width");
      break;
    case OpKind::Trunc:
      TRY(nOps(1));
      if (w(0) < x.width)
        return bad(*this, n, "truncation to a wider width");
      break;
    case OpKind::Phi: {
      const Block &blk = blocks[x.block];
      if (x.operands.size() != blk.preds.size())
        return bad(*this, n, fmt::format("{} operands for {} predecessors", x.operands.size(),
                                         blk.preds.size()));
      for (size_t i = 0; i < x.operands.size(); ++i) {
        if (w(i) != x.width)
          return bad(*this, n, "incoming value width differs");
        const Node &in = nodes[x.operands[i]];
        if (!dominates(in.block, blk.preds[i]))
          return bad(*this, n, fmt::format("incoming value %{} does not dominate predecessor {}",
                                           x.operands[i], blocks[blk.preds[i]].name));
      }
      break;
    }
    case OpKind::Load:
      TRY(nOps(1));
      if (x.attr >= memories.size() || memories[x.attr].elemWidth != x.width)
        return bad(*this, n, "memory index or element width does not match");
      break;
    case OpKind::Store:
      TRY(nOps(2));
      if (x.attr >= memories.size() || memories[x.attr].elemWidth != w(1))
        return bad(*this, n, "memory index or element width does not match");
      break;
    case OpKind::StreamRead:
      TRY(nOps(0));
      if (x.attr >= streams.size() || streams[x.attr].width != x.width ||
          streams[x.attr].dir != StreamDir::In)
        return bad(*this, n, "stream index, direction or width does not match");
      break;
    case OpKind::StreamWrite:
      TRY(nOps(1));
      if (x.attr >= streams.size() || streams[x.attr].width != w(0) ||
          streams[x.attr].dir != StreamDir::Out)
        return bad(*this, n, "stream index, direction or width does not match");
      break;
    case OpKind::Br:
      TRY(nOps(0));
      break;
    case OpKind::CondBr:
      TRY(nOps(1));
      if (w(0) != 1)
        return bad(*this, n, "branch condition is not 1 bit");
      break;
    case OpKind::Ret:
      if (ret ? (x.operands.size() != 1 || w(0) != ret->width) : !x.operands.empty())
        return bad(*this, n, "returned value does not match the function's return type");
      break;
    case OpKind::Call: {
      if (x.attr >= callees.size())
        return bad(*this, n, fmt::format("callee index {} of {}", x.attr, callees.size()));
      const Cdfg &f = callees[x.attr];
      TRY(nOps(f.args.size()));
      for (size_t i = 0; i < f.args.size(); ++i)
        if (w(i) != f.args[i].width)
          return bad(*this, n, fmt::format("argument {} of '{}' has {} bits, expected {}", i,
                                           f.name, w(i), f.args[i].width));
      if (!f.ret || f.ret->width != x.width)
        return bad(*this, n, fmt::format("result width differs from the return width of '{}'",
                                         f.name));
      break;
    }
    default:
      if (isCompare(x.kind)) {
        TRY(nOps(2));
        if (x.width != 1 || w(0) != w(1))
          return bad(*this, n, "comparison needs operands of one width and a 1-bit result");
      }
      break;
    }
    // SSA: operands (of non-phis) dominate the use.
    if (x.kind != OpKind::Phi)
      for (NodeId o : x.operands) {
        const Node &d = nodes[o];
        bool ok = d.block == x.block ? posInBlock[o] < posInBlock[n] : dominates(d.block, x.block);
        if (!ok)
          return bad(*this, n, fmt::format("operand {} does not dominate its use", nodeRef(*this, o)));
      }
  }
  for (const Loop &l : loops)
    if (l.header >= blocks.size() || l.latch >= blocks.size())
      return Diagnostic::error("bad-cdfg", name + ": a loop's header or latch is out of range", l.loc);
  // Shared functions: straight-line, scalar, pure (Cdfg.h).
  for (const Cdfg &f : callees) {
    TRY(f.verify());
    if (!f.callees.empty() || f.blocks.size() != 1 || !f.loops.empty() || !f.memories.empty() ||
        !f.streams.empty() || !f.ret)
      return Diagnostic::error("bad-cdfg",
                               f.name + ": a shared function must be one block without memories, "
                                        "streams or calls, returning a value",
                               f.loc);
  }
  return Status::success();
}

std::string Cdfg::print() const {
  std::ostringstream o;
  o << "kernel " << name << "(";
  for (size_t i = 0; i < params.size(); ++i)
    o << (i ? ", " : "") << params[i].cType << " " << params[i].name;
  o << ") -> " << retCType << "\n";
  for (size_t a = 0; a < args.size(); ++a)
    o << "  arg " << a << " " << args[a].name << ": " << (args[a].isSigned ? "i" : "u")
      << args[a].width << "\n";
  for (size_t m = 0; m < memories.size(); ++m) {
    const Memory &mem = memories[m];
    o << "  mem " << m << " " << mem.name << ": "
      << (mem.kind == MemKind::Interface ? "interface" : "local") << " " << (mem.isSigned ? "i" : "u")
      << mem.elemWidth << " x " << mem.depth;
    if (mem.partition != Partition::None)
      o << " partition "
        << (mem.partition == Partition::Cyclic ? "cyclic"
            : mem.partition == Partition::Block ? "block"
                                                : "complete")
        << " " << mem.partitionFactor;
    if (mem.readOnly)
      o << " readonly";
    if (mem.independent)
      o << " independent";
    if (mem.writeOnly)
      o << " writeonly";
    if (!mem.init.empty())
      o << " init";
    o << "\n";
  }
  for (size_t k = 0; k < streams.size(); ++k) {
    const Stream &st = streams[k];
    o << "  stream " << k << " " << st.name << ": " << (st.dir == StreamDir::In ? "in" : "out")
      << " " << (st.isSigned ? "i" : "u") << st.width;
    if (st.count)
      o << " count " << st.count;
    o << "\n";
  }
  for (size_t l = 0; l < loops.size(); ++l) {
    const Loop &lp = loops[l];
    o << "  loop " << l << ": header " << blocks[lp.header].name << ", latch "
      << blocks[lp.latch].name << ", depth " << lp.depth;
    if (lp.tripCount)
      o << ", trip count " << *lp.tripCount;
    if (lp.requestedII)
      o << ", II " << lp.requestedII;
    if (lp.unrollCount)
      o << ", unrolled " << lp.unrollCount;
    if (lp.loc.known())
      o << "  ; " << lp.loc.str();
    o << "\n";
  }
  for (BlockId b = 0; b < blocks.size(); ++b) {
    const Block &blk = blocks[b];
    o << blk.name << ":";
    if (!blk.preds.empty()) {
      o << "  ; preds";
      for (BlockId p : blk.preds)
        o << " " << blocks[p].name;
    }
    o << "\n";
    for (NodeId n : blk.nodes) {
      const Node &x = nodes[n];
      std::string line = "  ";
      if (x.width)
        line += fmt::format("%{}:u{} = ", n, x.width);
      line += opName(x.kind);
      if (x.kind == OpKind::Const)
        line += fmt::format(" {}", x.value);
      if (x.kind == OpKind::Arg)
        line += " " + args[x.attr].name;
      if (x.kind == OpKind::Load || x.kind == OpKind::Store)
        line += " " + memories[x.attr].name;
      if (x.kind == OpKind::StreamRead || x.kind == OpKind::StreamWrite)
        line += " " + streams[x.attr].name;
      if (x.kind == OpKind::Call)
        line += " " + (x.attr < callees.size() ? callees[x.attr].name : std::string("?"));
      for (size_t i = 0; i < x.operands.size(); ++i) {
        line += fmt::format("{}%{}", i ? ", " : " ", x.operands[i]);
        if (x.kind == OpKind::Phi)
          line += " [" + blocks[blk.preds[i]].name + "]";
      }
      if (x.kind == OpKind::Br)
        line += " " + blocks[x.attr].name;
      if (x.kind == OpKind::CondBr)
        line += ", " + blocks[x.attr].name + ", " + blocks[x.attr2].name;
      if (!x.name.empty() || x.loc.known()) {
        line += "  ;";
        if (!x.name.empty())
          line += " " + x.name;
        if (x.loc.known())
          line += " " + x.loc.str();
      }
      o << line << "\n";
    }
  }
  for (size_t f = 0; f < callees.size(); ++f) {
    o << "shared function " << f;
    if (callees[f].unitLimit)
      o << " (at most " << callees[f].unitLimit << " units)";
    o << ": " << callees[f].print();
  }
  return o.str();
}

namespace {

uint64_t mask(uint32_t w) { return w >= 64 ? ~0ull : (1ull << w) - 1; }

int64_t sext(uint64_t v, uint32_t w) {
  if (w >= 64)
    return int64_t(v);
  uint64_t s = 1ull << (w - 1);
  return int64_t((v ^ s) - s);
}

} // namespace

Expected<EvalResult> evaluate(const Cdfg &g, const std::vector<uint64_t> &args,
                              std::vector<std::vector<uint64_t>> &mems, uint64_t maxSteps,
                              StreamData *streams) {
  if (args.size() != g.args.size())
    return Diagnostic::error("bad-argument", fmt::format("{}: {} arguments given, {} expected",
                                                         g.name, args.size(), g.args.size()));
  if (mems.size() != g.memories.size())
    return Diagnostic::error("bad-argument", fmt::format("{}: {} memories given, {} expected",
                                                         g.name, mems.size(), g.memories.size()));
  for (size_t m = 0; m < g.memories.size(); ++m) {
    const Memory &mem = g.memories[m];
    if (mem.kind == MemKind::Local)
      mems[m] = mem.init.empty() ? std::vector<uint64_t>(mem.depth, 0) : mem.init;
    else if (mems[m].size() != mem.depth)
      return Diagnostic::error("bad-argument",
                               fmt::format("{}: array '{}' has {} elements, {} expected", g.name,
                                           mem.name, mems[m].size(), mem.depth));
    for (uint64_t &v : mems[m])
      v &= mask(mem.elemWidth);
  }
  if (!g.streams.empty()) {
    if (!streams || streams->data.size() != g.streams.size())
      return Diagnostic::error("bad-argument",
                               fmt::format("{}: contents for {} streams expected", g.name,
                                           g.streams.size()));
    streams->consumed.assign(g.streams.size(), 0);
    for (size_t k = 0; k < g.streams.size(); ++k) {
      if (g.streams[k].dir == StreamDir::Out)
        streams->data[k].clear();
      for (uint64_t &v : streams->data[k])
        v &= mask(g.streams[k].width);
    }
  }
  std::vector<uint64_t> val(g.nodes.size(), 0);
  EvalResult r;
  BlockId b = 0, prev = kNone;
  std::vector<uint64_t> phiVals;
  for (;;) {
    const Block &blk = g.blocks[b];
    // Phis read their incoming values simultaneously.
    size_t i = 0;
    phiVals.clear();
    for (; i < blk.nodes.size() && g.nodes[blk.nodes[i]].kind == OpKind::Phi; ++i) {
      const Node &x = g.nodes[blk.nodes[i]];
      size_t p = std::find(blk.preds.begin(), blk.preds.end(), prev) - blk.preds.begin();
      if (p == blk.preds.size())
        return Diagnostic::error("bad-cdfg", "phi reached from a block that is not a predecessor",
                                 x.loc);
      phiVals.push_back(val[x.operands[p]]);
    }
    for (size_t k = 0; k < phiVals.size(); ++k)
      val[blk.nodes[k]] = phiVals[k];
    r.steps += phiVals.size();
    for (; i < blk.nodes.size(); ++i) {
      NodeId n = blk.nodes[i];
      const Node &x = g.nodes[n];
      if (++r.steps > maxSteps)
        return Diagnostic::error("eval-timeout",
                                 fmt::format("{}: more than {} steps (does the kernel terminate?)",
                                             g.name, maxSteps),
                                 x.loc);
      auto op = [&](size_t k) { return val[x.operands[k]]; };
      const uint32_t W = x.width;
      const uint64_t M = mask(W);
      uint64_t v = 0;
      auto ow = [&](size_t k) { return g.nodes[x.operands[k]].width; };
      switch (x.kind) {
      case OpKind::Const: v = x.value; break;
      case OpKind::Arg: v = args[x.attr]; break;
      case OpKind::Add: v = op(0) + op(1); break;
      case OpKind::Sub: v = op(0) - op(1); break;
      case OpKind::Mul: v = op(0) * op(1); break;
      case OpKind::DivU: v = op(1) ? op(0) / op(1) : 0; break;
      case OpKind::RemU: v = op(1) ? op(0) % op(1) : 0; break;
      case OpKind::DivS: {
        int64_t a = sext(op(0), W), c = sext(op(1), W);
        v = c == 0 ? 0 : (c == -1 ? uint64_t(0) - uint64_t(a) : uint64_t(a / c));
        break;
      }
      case OpKind::RemS: {
        int64_t a = sext(op(0), W), c = sext(op(1), W);
        v = (c == 0 || c == -1) ? 0 : uint64_t(a % c);
        break;
      }
      case OpKind::And: v = op(0) & op(1); break;
      case OpKind::Or: v = op(0) | op(1); break;
      case OpKind::Xor: v = op(0) ^ op(1); break;
      case OpKind::Shl: v = op(1) >= W ? 0 : op(0) << op(1); break;
      case OpKind::ShrU: v = op(1) >= W ? 0 : op(0) >> op(1); break;
      case OpKind::ShrS: {
        int64_t a = sext(op(0), W);
        v = uint64_t(op(1) >= W ? (a < 0 ? -1 : 0) : a >> op(1));
        break;
      }
      case OpKind::Eq: v = op(0) == op(1); break;
      case OpKind::Ne: v = op(0) != op(1); break;
      case OpKind::LtU: v = op(0) < op(1); break;
      case OpKind::LeU: v = op(0) <= op(1); break;
      case OpKind::GtU: v = op(0) > op(1); break;
      case OpKind::GeU: v = op(0) >= op(1); break;
      case OpKind::LtS: v = sext(op(0), ow(0)) < sext(op(1), ow(1)); break;
      case OpKind::LeS: v = sext(op(0), ow(0)) <= sext(op(1), ow(1)); break;
      case OpKind::GtS: v = sext(op(0), ow(0)) > sext(op(1), ow(1)); break;
      case OpKind::GeS: v = sext(op(0), ow(0)) >= sext(op(1), ow(1)); break;
      case OpKind::Select: v = op(0) ? op(1) : op(2); break;
      case OpKind::ZExt: case OpKind::Trunc: v = op(0); break;
      case OpKind::SExt: v = uint64_t(sext(op(0), ow(0))); break;
      case OpKind::Phi: break; // handled above
      case OpKind::Load:
      case OpKind::Store: {
        std::vector<uint64_t> &mem = mems[x.attr];
        uint64_t a = op(0);
        if (a >= mem.size())
          return Diagnostic::error("out-of-bounds",
                                   fmt::format("{}: {} of '{}' at index {} (depth {})", g.name,
                                               opName(x.kind), g.memories[x.attr].name, a,
                                               mem.size()),
                                   x.loc);
        if (x.kind == OpKind::Load)
          v = mem[a];
        else
          mem[a] = op(1) & mask(g.memories[x.attr].elemWidth);
        break;
      }
      case OpKind::StreamRead: {
        uint64_t &pos = streams->consumed[x.attr];
        const std::vector<uint64_t> &d = streams->data[x.attr];
        if (pos >= d.size())
          return Diagnostic::error(
              "stream-underflow",
              fmt::format("{}: read number {} of stream '{}', which holds {} elements", g.name,
                          pos + 1, g.streams[x.attr].name, d.size()),
              x.loc);
        v = d[pos++];
        break;
      }
      case OpKind::StreamWrite:
        streams->data[x.attr].push_back(op(0) & mask(g.streams[x.attr].width));
        break;
      case OpKind::Br:
        prev = b;
        b = x.attr;
        break;
      case OpKind::CondBr:
        prev = b;
        b = op(0) ? x.attr : x.attr2;
        break;
      case OpKind::Ret:
        r.ret = x.operands.empty() ? 0 : op(0);
        return r;
      case OpKind::Call: {
        const Cdfg &f = g.callees[x.attr];
        std::vector<uint64_t> cargs(x.operands.size());
        for (size_t k = 0; k < cargs.size(); ++k)
          cargs[k] = op(k);
        std::vector<std::vector<uint64_t>> none;
        TRY_ASSIGN(EvalResult cr, evaluate(f, cargs, none, maxSteps - r.steps));
        r.steps += cr.steps;
        v = cr.ret;
        break;
      }
      }
      if (W)
        val[n] = v & M;
    }
  }
}

} // namespace tessera::hls
