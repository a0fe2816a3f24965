//===- Elaborate.cpp - hw design -> simulation netlist with array groups -===//
//
// Inlines instances of count 1 and keeps instance arrays as array groups (Netlist.h).
// Elaboration runs in three phases:
//
//  1. Walk the hierarchy from the top, creating nodes. Inlined module inputs and instance
//     outputs become Alias nodes so that every module can be elaborated before the
//     values feeding it are known (instances may feed each other).
//  2. Resolve aliases; rewrite scalar extracts of an array's output (the parent taking
//     element j of a Pack) into direct element references or smaller packs.
//  3. Lower every array input port: the parent's value (typically a concat of extracts of
//     array outputs and scalars) is decomposed bit range by bit range into per-element
//     sources, which become a gather table; a port fed by one scalar for every element
//     becomes a broadcast. Element values that do not line up with a single source are
//     built as scalar nodes and gathered from there, so any wiring works.
//
// Arrays whose callee contains arrays are unrolled (flattened element by element), as
// are arrays named in `unroll` (the scheduler asks for that when an array's outputs feed
// its own inputs combinationally).
//
//===----------------------------------------------------------------------===//
#include "sim/Netlist.h"

#include "hw/Semantics.h"

#include <functional>
#include <map>

namespace tessera::sim::detail {

std::string Signal::scope(uint32_t elem) const {
  if (group == 0)
    return prefix;
  return prefix + "[" + std::to_string(elem) + "]" + suffix;
}

std::string Signal::path(uint32_t elem) const {
  std::string s = scope(elem);
  return s.empty() ? name : s + "." + name;
}

namespace {

std::string join(const std::string &a, const std::string &b) { return a.empty() ? b : a + "." + b; }

/// Where a module body is being elaborated: group 0 with a dotted path, or an array
/// group with the array's path as prefix and the path inside the element as suffix.
struct Scope {
  uint32_t group = 0;
  std::string prefix, suffix;

  Scope child(const std::string &inst) const {
    Scope s = *this;
    if (group == 0)
      s.prefix = join(prefix, inst);
    else
      s.suffix += "." + inst;
    return s;
  }
  /// A readable path (elements shown as [*]) for memories and diagnostics.
  std::string path(const std::string &name) const {
    if (group == 0)
      return join(prefix, name);
    return prefix + "[*]" + suffix + "." + name;
  }
};

struct PendingGather {
  uint32_t node;  ///< the Gather node (in the array group)
  Ref parent;     ///< the parent's value of the whole port (count * width bits)
  uint32_t width; ///< element width
};

struct Piece {
  Ref src;         ///< invalid for a constant piece
  uint32_t lo = 0; ///< bit offset inside the source (element)
  uint32_t len = 0;
  hw::BitVec constant; ///< when !src.valid()
};

class Elaborator {
public:
  Elaborator(const hw::Design &d, const std::set<std::string> &unroll) : d_(d), unroll_(unroll) {}

  Expected<Net> run(const hw::Module &top) {
    net_.topName = top.name();
    net_.groups.push_back(Group{1, "", top.loc});
    std::vector<Ref> in(top.ports.size()), out(top.ports.size());
    for (uint32_t p = 0; p < top.ports.size(); ++p) {
      const hw::Port &port = top.ports[p];
      if (port.dir != hw::PortDir::In)
        continue;
      Node n;
      n.op = hw::OpKind::Input;
      n.width = port.width;
      n.attr0 = p;
      n.name = port.name;
      uint32_t id = net_.addNode(std::move(n));
      in[p] = Ref{id, -1};
      net_.inputs.push_back(TopInput{port.name, port.width, id, false});
    }
    TRY(elabModule(top, Scope{}, in, out, 0));
    for (uint32_t p = 0; p < top.ports.size(); ++p)
      if (top.ports[p].dir == hw::PortDir::Out)
        net_.outputs.push_back(TopOutput{top.ports[p].name, top.ports[p].width, out[p]});

    TRY(resolveAll());
    fixPacks();
    canonicalizeExtracts();
    TRY(resolveAll());
    simplifyExtracts();
    TRY(resolveAll());
    lowerGathers();
    TRY(resolveAll());
    TRY(checkClocksAndResets());
    markLive();
    return std::move(net_);
  }

private:
  //===--------------------------------------------------------------------===//
  // Phase 1: hierarchy walk
  //===--------------------------------------------------------------------===//

  uint32_t newNode(NodeKind k, uint32_t group, uint32_t width, std::vector<Ref> ops = {}) {
    Node n;
    n.kind = k;
    n.group = group;
    n.width = width;
    n.operands = std::move(ops);
    return net_.addNode(std::move(n));
  }

  uint32_t zeroConst(uint32_t group, uint32_t width) {
    uint32_t id = newNode(NodeKind::Op, group, width);
    net_.nodes[id].op = hw::OpKind::Const;
    net_.nodes[id].value = hw::BitVec(width, 0);
    return id;
  }

  bool containsArray(const hw::Module &m) {
    if (auto it = containsArray_.find(&m); it != containsArray_.end())
      return it->second;
    containsArray_[&m] = false; // recursion guard (the verifier rejects recursion)
    bool r = false;
    for (const hw::Instance &inst : m.instances) {
      const hw::Module *c = d_.find(inst.module);
      if (inst.count > 1 || (c && containsArray(*c)))
        r = true;
    }
    containsArray_[&m] = r;
    return r;
  }

  Status elabModule(const hw::Module &m, const Scope &scope, const std::vector<Ref> &portIn,
                    std::vector<Ref> &portOut, uint32_t depth) {
    if (depth > 256)
      return Diagnostic::error("sim-hierarchy", "instance hierarchy deeper than 256 levels", m.loc);
    const uint32_t g = scope.group;
    std::vector<Ref> vmap(m.ops.size());
    std::vector<uint32_t> created(m.ops.size(), kNone);
    uint32_t memBase = static_cast<uint32_t>(net_.memories.size());
    for (const hw::Memory &mem : m.memories)
      net_.memories.push_back(NetMemory{g, mem.width, mem.depth, mem.init, scope.path(mem.name)});
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> instOut; // (inst, port) -> alias node

    for (uint32_t i = 0; i < m.ops.size(); ++i) {
      const hw::Op &op = m.ops[i];
      switch (op.kind) {
      case hw::OpKind::Input:
        vmap[i] = op.attr0 < portIn.size() ? portIn[op.attr0] : Ref{};
        if (!vmap[i].valid())
          vmap[i] = Ref{zeroConst(g, op.width), -1};
        break;
      case hw::OpKind::Output:
        break;
      case hw::OpKind::InstOut: {
        uint32_t a = newNode(NodeKind::Alias, g, op.width);
        net_.nodes[a].name = op.name;
        instOut[{op.attr0, op.attr1}] = a;
        vmap[i] = Ref{a, -1};
        break;
      }
      default: {
        Node n;
        n.op = op.kind;
        n.group = g;
        n.width = op.width;
        n.flags = op.flags;
        n.attr0 = op.attr0;
        n.attr1 = op.attr1;
        n.value = op.value;
        n.init = op.init;
        n.name = op.name.empty() ? std::string() : scope.path(op.name);
        if (op.kind == hw::OpKind::MemRead || op.kind == hw::OpKind::MemWrite)
          n.attr0 = memBase + op.attr0;
        uint32_t id = net_.addNode(std::move(n));
        created[i] = id;
        vmap[i] = Ref{id, -1};
        locs_.resize(net_.nodes.size());
        locs_[id] = op.loc;
      }
      }
    }
    for (uint32_t i = 0; i < m.ops.size(); ++i) {
      if (created[i] == kNone)
        continue;
      std::vector<Ref> ops;
      for (hw::ValueId v : m.ops[i].operands) {
        if (v == hw::kNoValue || v >= m.ops.size())
          ops.push_back(Ref{zeroConst(g, 1), -1}); // unconnected (the verifier reports it)
        else
          ops.push_back(vmap[v]);
      }
      // An unconnected register next keeps its value.
      if (m.ops[i].kind == hw::OpKind::Reg && m.ops[i].operands.size() > 1 &&
          m.ops[i].operands[1] == hw::kNoValue)
        ops[1] = Ref{created[i], -1};
      net_.nodes[created[i]].operands = std::move(ops);
    }

    for (uint32_t j = 0; j < m.instances.size(); ++j) {
      const hw::Instance &inst = m.instances[j];
      const hw::Module *callee = d_.find(inst.module);
      if (!callee)
        return Diagnostic::error("unknown-module", "unknown module '" + inst.module + "'",
                                 inst.loc);
      const uint32_t count = std::max<uint32_t>(inst.count, 1);
      std::vector<Ref> in(callee->ports.size());
      for (uint32_t p = 0; p < callee->ports.size(); ++p) {
        if (callee->ports[p].dir != hw::PortDir::In)
          continue;
        hw::ValueId v = p < inst.inputs.size() ? inst.inputs[p] : hw::kNoValue;
        in[p] = v == hw::kNoValue || v >= m.ops.size()
                    ? Ref{zeroConst(g, callee->ports[p].width * count), -1}
                    : vmap[v];
      }
      auto outAlias = [&](uint32_t p) -> uint32_t {
        auto it = instOut.find({j, p});
        return it == instOut.end() ? kNone : it->second;
      };
      if (count == 1) {
        std::vector<Ref> out(callee->ports.size());
        TRY(elabModule(*callee, scope.child(inst.name), in, out, depth + 1));
        for (uint32_t p = 0; p < callee->ports.size(); ++p)
          if (uint32_t a = outAlias(p); a != kNone)
            net_.nodes[a].operands = {out[p].valid() ? out[p] : Ref{zeroConst(g, 1), -1}};
        continue;
      }
      std::string path = join(scope.prefix, inst.name);
      if (g == 0 && !unroll_.count(path) && !containsArray(*callee)) {
        uint32_t G = static_cast<uint32_t>(net_.groups.size());
        net_.groups.push_back(Group{count, path, inst.loc});
        std::vector<Ref> cin(callee->ports.size()), cout(callee->ports.size());
        for (uint32_t p = 0; p < callee->ports.size(); ++p) {
          if (callee->ports[p].dir != hw::PortDir::In)
            continue;
          uint32_t gn = newNode(NodeKind::Gather, G, callee->ports[p].width);
          net_.nodes[gn].name = path + "[*]." + callee->ports[p].name;
          pending_.push_back(PendingGather{gn, in[p], callee->ports[p].width});
          cin[p] = Ref{gn, -1};
        }
        Scope s;
        s.group = G;
        s.prefix = path;
        TRY(elabModule(*callee, s, cin, cout, depth + 1));
        for (uint32_t p = 0; p < callee->ports.size(); ++p) {
          uint32_t a = outAlias(p);
          if (a == kNone)
            continue;
          uint32_t w = callee->ports[p].width;
          uint32_t port = newNode(NodeKind::Alias, G, w, {cout[p]});
          uint32_t pack = newNode(NodeKind::Pack, 0, w * count, {Ref{port, -1}});
          net_.nodes[pack].attr0 = 0;
          net_.nodes[pack].attr1 = count;
          net_.nodes[pack].name = path + "." + callee->ports[p].name;
          packGroup_[pack] = G;
          net_.nodes[a].operands = {Ref{pack, -1}};
        }
        continue;
      }
      // Unroll: every element inlined as a scalar instance.
      std::vector<std::vector<Ref>> outs(count);
      for (uint32_t e = 0; e < count; ++e) {
        std::vector<Ref> ein(callee->ports.size());
        for (uint32_t p = 0; p < callee->ports.size(); ++p) {
          if (callee->ports[p].dir != hw::PortDir::In)
            continue;
          uint32_t w = callee->ports[p].width;
          uint32_t x = newNode(NodeKind::Op, g, w, {in[p]});
          net_.nodes[x].op = hw::OpKind::Extract;
          net_.nodes[x].attr0 = e * w;
          ein[p] = Ref{x, -1};
        }
        outs[e].resize(callee->ports.size());
        TRY(elabModule(*callee, scope.child(inst.name + "[" + std::to_string(e) + "]"), ein,
                       outs[e], depth + 1));
      }
      for (uint32_t p = 0; p < callee->ports.size(); ++p) {
        uint32_t a = outAlias(p);
        if (a == kNone)
          continue;
        std::vector<Ref> parts;
        for (uint32_t e = count; e-- > 0;)
          parts.push_back(outs[e][p]);
        uint32_t c = newNode(NodeKind::Op, g, callee->ports[p].width * count, std::move(parts));
        net_.nodes[c].op = hw::OpKind::Concat;
        net_.nodes[a].operands = {Ref{c, -1}};
      }
    }

    for (const hw::Op &op : m.ops)
      if (op.kind == hw::OpKind::Output && op.attr0 < portOut.size() && !op.operands.empty() &&
          op.operands[0] < m.ops.size())
        portOut[op.attr0] = vmap[op.operands[0]];
    for (uint32_t p = 0; p < m.ports.size(); ++p)
      if (m.ports[p].dir == hw::PortDir::Out && !portOut[p].valid())
        portOut[p] = Ref{zeroConst(g, m.ports[p].width), -1};

    for (uint32_t i = 0; i < m.ops.size(); ++i) {
      const hw::Op &op = m.ops[i];
      if (op.name.empty() || op.width == 0 || !vmap[i].valid())
        continue;
      Signal s;
      s.group = g;
      s.prefix = scope.prefix;
      s.suffix = scope.suffix;
      s.name = op.name;
      s.ref = vmap[i];
      s.width = op.width;
      net_.signals.push_back(std::move(s));
    }
    return Status::success();
  }

  //===--------------------------------------------------------------------===//
  // Phase 2: aliases and packs
  //===--------------------------------------------------------------------===//

  Expected<Ref> resolve(Ref r) {
    if (!r.valid())
      return r;
    if (net_.nodes[r.node].kind == NodeKind::Alias) {
      if (aliasTarget_.size() < net_.nodes.size())
        aliasTarget_.resize(net_.nodes.size());
      Ref &memo = aliasTarget_[r.node];
      if (!memo.valid()) {
        Ref t{r.node, -1};
        size_t steps = 0;
        while (net_.nodes[t.node].kind == NodeKind::Alias) {
          const Node &a = net_.nodes[t.node];
          if (a.operands.empty() || !a.operands[0].valid() || ++steps > net_.nodes.size())
            return Diagnostic::error("comb-cycle",
                                     "a port is connected to itself through the hierarchy ('" +
                                         a.name + "')");
          Ref next = a.operands[0];
          if (t.elem >= 0 && next.elem < 0 && net_.nodes[next.node].group != 0)
            next.elem = t.elem;
          t = next;
        }
        memo = t;
      }
      Ref t = memo;
      if (r.elem >= 0 && t.elem < 0 && net_.nodes[t.node].group != 0)
        t.elem = r.elem;
      r = t;
    }
    if (net_.nodes[r.node].group == 0)
      r.elem = -1;
    return r;
  }

  Status resolveAll() {
    aliasTarget_.assign(net_.nodes.size(), Ref{});
    for (uint32_t i = 0; i < net_.nodes.size(); ++i) {
      if (net_.nodes[i].kind == NodeKind::Alias)
        continue;
      for (size_t k = 0; k < net_.nodes[i].operands.size(); ++k) {
        TRY_ASSIGN(Ref r, resolve(net_.nodes[i].operands[k]));
        net_.nodes[i].operands[k] = r;
      }
    }
    for (auto &table : net_.gathers)
      for (Ref &e : table) {
        TRY_ASSIGN(Ref r, resolve(e));
        e = r;
      }
    for (Signal &s : net_.signals) {
      TRY_ASSIGN(Ref r, resolve(s.ref));
      s.ref = r;
    }
    for (TopOutput &o : net_.outputs) {
      TRY_ASSIGN(Ref r, resolve(o.ref));
      o.ref = r;
    }
    return Status::success();
  }

  /// A Pack must read a node of its own array group; a port driven by a scalar or by a
  /// fixed element gets a Copy node in the group.
  void fixPacks() {
    for (uint32_t i = 0; i < net_.nodes.size(); ++i) {
      Node &p = net_.nodes[i];
      if (p.kind != NodeKind::Pack)
        continue;
      Ref src = p.operands[0];
      uint32_t G = groupOfPackPort(i);
      if (src.elem < 0 && net_.nodes[src.node].group == G && G != 0)
        continue;
      uint32_t w = p.width / p.attr1;
      uint32_t c = newNode(NodeKind::Copy, G, w, {src});
      net_.nodes[i].operands[0] = Ref{c, -1};
    }
  }
  /// The group of the array whose port a Pack reads (recorded when the Pack was made).
  uint32_t groupOfPackPort(uint32_t pack) {
    // The pack's operand was an Alias in the array group; after resolution the alias may
    // point elsewhere, so the group is looked up from the alias node itself.
    auto it = packGroup_.find(pack);
    return it == packGroup_.end() ? 0 : it->second;
  }

  void canonicalizeExtracts() {
    for (uint32_t i = 0; i < net_.nodes.size(); ++i) {
      Node &x = net_.nodes[i];
      if (!x.isOp(hw::OpKind::Extract) || x.group != 0)
        continue;
      const Node &p = net_.nodes[x.operands[0].node];
      if (p.kind != NodeKind::Pack)
        continue;
      Ref src = p.operands[0];
      uint32_t w = net_.nodes[src.node].width;
      uint32_t first = p.attr0, lo = x.attr0, width = x.width;
      if (lo % w == 0 && width == w) {
        x.kind = NodeKind::Alias;
        x.operands = {Ref{src.node, static_cast<int32_t>(first + lo / w)}};
      } else if (lo % w == 0 && width % w == 0) {
        x.kind = NodeKind::Pack;
        x.attr0 = first + lo / w;
        x.attr1 = width / w;
        x.operands = {src};
      } else {
        uint32_t e0 = lo / w, e1 = (lo + width - 1) / w;
        if (e1 - e0 + 1 < p.attr1) {
          uint32_t np = newNode(NodeKind::Pack, 0, (e1 - e0 + 1) * w, {src});
          net_.nodes[np].attr0 = first + e0;
          net_.nodes[np].attr1 = e1 - e0 + 1;
          Node &xx = net_.nodes[i];
          xx.operands = {Ref{np, -1}};
          xx.attr0 = lo - e0 * w;
        }
      }
    }
  }

  //===--------------------------------------------------------------------===//
  // Phase 3: array inputs
  //===--------------------------------------------------------------------===//

  /// Appends the pieces of bits [lo, lo+len) of `r` (a resolved ref), low bits first.
  void decompose(Ref r, uint32_t lo, uint32_t len, std::vector<Piece> &out, int depth = 0) {
    if (len == 0)
      return;
    const Node &n = net_.nodes[r.node];
    if (r.elem < 0 && depth < 64) {
      if (n.kind == NodeKind::Op) {
        switch (n.op) {
        case hw::OpKind::Concat: {
          uint32_t pos = 0; // bit position of the operand being visited (LSB first)
          for (size_t k = n.operands.size(); k-- > 0;) {
            Ref o = n.operands[k];
            uint32_t ow = net_.nodes[o.node].width;
            uint32_t a = std::max(lo, pos), b = std::min(lo + len, pos + ow);
            if (a < b)
              decompose(o, a - pos, b - a, out, depth + 1);
            pos += ow;
          }
          return;
        }
        case hw::OpKind::Extract:
          decompose(n.operands[0], lo + n.attr0, len, out, depth + 1);
          return;
        case hw::OpKind::ZExt: {
          uint32_t ow = net_.nodes[n.operands[0].node].width;
          if (lo < ow)
            decompose(n.operands[0], lo, std::min(len, ow - lo), out, depth + 1);
          if (lo + len > ow) {
            uint32_t a = std::max(lo, ow);
            out.push_back(Piece{Ref{}, 0, lo + len - a, hw::BitVec(lo + len - a, 0)});
          }
          return;
        }
        case hw::OpKind::Const:
          out.push_back(Piece{Ref{}, 0, len, n.value.extract(lo, len)});
          return;
        default:
          break;
        }
      } else if (n.kind == NodeKind::Pack) {
        Ref src = n.operands[0];
        uint32_t w = net_.nodes[src.node].width;
        uint32_t pos = lo;
        while (pos < lo + len) {
          uint32_t e = pos / w, off = pos % w;
          uint32_t take = std::min(w - off, lo + len - pos);
          out.push_back(Piece{Ref{src.node, static_cast<int32_t>(n.attr0 + e)}, off, take, {}});
          pos += take;
        }
        return;
      }
    }
    out.push_back(Piece{r, lo, len, {}});
  }

  /// Extracts of concats (of extracts, zero extensions, constants, packs) become extracts of
  /// the bits' real sources. Besides removing copies, this removes false word-level cycles
  /// (bit 0 of a bus feeding logic that drives bit 1), common in bit-level netlists and
  /// in unrolled arrays.
  void simplifyExtracts() {
    const size_t n0 = net_.nodes.size();
    for (uint32_t i = 0; i < n0; ++i) {
      if (!net_.nodes[i].isOp(hw::OpKind::Extract))
        continue;
      Ref src = net_.nodes[i].operands[0];
      const Node &s = net_.nodes[src.node];
      if (src.elem >= 0 ||
          !(s.kind == NodeKind::Pack ||
            (s.kind == NodeKind::Op && (s.op == hw::OpKind::Concat || s.op == hw::OpKind::Extract ||
                                        s.op == hw::OpKind::ZExt || s.op == hw::OpKind::Const))))
        continue;
      std::vector<Piece> pieces;
      decompose(src, net_.nodes[i].attr0, net_.nodes[i].width, pieces);
      if (pieces.size() > 8)
        continue;
      if (pieces.size() == 1 && !pieces[0].src.valid()) {
        Node &x = net_.nodes[i];
        x.op = hw::OpKind::Const;
        x.value = pieces[0].constant;
        x.operands.clear();
        x.attr0 = 0;
        continue;
      }
      if (pieces.size() == 1) {
        const Piece &pc = pieces[0];
        Node &x = net_.nodes[i];
        if (pc.lo == 0 && pc.len == net_.nodes[pc.src.node].width) {
          x.kind = NodeKind::Alias;
          x.operands = {pc.src};
        } else {
          x.operands = {pc.src};
          x.attr0 = pc.lo;
        }
        continue;
      }
      uint32_t g = net_.nodes[i].group;
      std::vector<Ref> parts;
      for (size_t k = pieces.size(); k-- > 0;)
        parts.push_back(pieceNode(pieces[k], g));
      Node &x = net_.nodes[i];
      x.op = hw::OpKind::Concat;
      x.attr0 = 0;
      x.operands = std::move(parts);
    }
  }

  /// A node (in `group`) for one piece: the source itself, an extract of it or a const.
  Ref pieceNode(const Piece &pc, uint32_t group) {
    if (!pc.src.valid()) {
      uint32_t c = newNode(NodeKind::Op, group, pc.len);
      net_.nodes[c].op = hw::OpKind::Const;
      net_.nodes[c].value = pc.constant;
      return Ref{c, -1};
    }
    if (pc.lo == 0 && pc.len == net_.nodes[pc.src.node].width)
      return pc.src;
    auto key = std::make_tuple(pc.src.node, pc.src.elem, pc.lo, pc.len);
    if (group == 0)
      if (auto it = extracts_.find(key); it != extracts_.end())
        return Ref{it->second, -1};
    uint32_t x = newNode(NodeKind::Op, group, pc.len, {pc.src});
    net_.nodes[x].op = hw::OpKind::Extract;
    net_.nodes[x].attr0 = pc.lo;
    if (group == 0)
      extracts_.emplace(key, x);
    return Ref{x, -1};
  }

  /// A scalar (group 0) node whose value is the given pieces (low first).
  Ref buildScalar(const std::vector<Piece> &pieces) {
    std::vector<Ref> parts; // MSB first
    for (size_t k = pieces.size(); k-- > 0;)
      parts.push_back(pieceNode(pieces[k], 0));
    if (parts.size() == 1)
      return parts[0];
    uint32_t width = 0;
    for (Ref p : parts)
      width += net_.nodes[p.node].width;
    uint32_t c = newNode(NodeKind::Op, 0, width, std::move(parts));
    net_.nodes[c].op = hw::OpKind::Concat;
    return Ref{c, -1};
  }

  void lowerGathers() {
    for (const PendingGather &pg : pending_) {
      const uint32_t G = net_.nodes[pg.node].group;
      const uint32_t count = net_.groups[G].count, w = pg.width;
      Ref parent = *resolve(pg.parent);
      std::vector<Piece> pieces;
      decompose(parent, 0, count * w, pieces);
      std::vector<Ref> table(count);
      size_t k = 0;
      uint32_t pos = 0; // bit position of pieces[k]'s first bit
      for (uint32_t e = 0; e < count; ++e) {
        std::vector<Piece> mine;
        uint32_t lo = e * w, hi = lo + w;
        while (k < pieces.size() && pos < hi) {
          Piece pc = pieces[k];
          uint32_t a = std::max(lo, pos), b = std::min(hi, pos + pc.len);
          Piece part = pc;
          part.lo = pc.lo + (a - pos);
          part.len = b - a;
          if (!pc.src.valid())
            part.constant = pc.constant.extract(a - pos, b - a);
          mine.push_back(part);
          if (pos + pc.len <= hi) {
            pos += pc.len;
            ++k;
          } else {
            break;
          }
        }
        if (mine.size() == 1 && mine[0].src.valid() && mine[0].lo == 0 &&
            net_.nodes[mine[0].src.node].width == w)
          table[e] = mine[0].src;
        else
          table[e] = buildScalar(mine);
      }
      bool allSameScalar = true, identity = true;
      for (uint32_t e = 0; e < count; ++e) {
        const Ref &t = table[e];
        if (!(t == table[0]) || net_.nodes[t.node].group != 0)
          allSameScalar = false;
        if (!(t.elem == static_cast<int32_t>(e) && net_.nodes[t.node].group == G &&
              t.node == table[0].node))
          identity = false;
      }
      Node &gn = net_.nodes[pg.node];
      if (allSameScalar) {
        gn.kind = NodeKind::Alias;
        gn.operands = {table[0]};
      } else if (identity) {
        gn.kind = NodeKind::Alias;
        gn.operands = {Ref{table[0].node, -1}};
      } else {
        gn.attr1 = static_cast<uint32_t>(net_.gathers.size());
        net_.gathers.push_back(std::move(table));
      }
    }
  }

  //===--------------------------------------------------------------------===//
  // Checks and liveness
  //===--------------------------------------------------------------------===//

  SourceLoc locOf(uint32_t node) const { return node < locs_.size() ? locs_[node] : SourceLoc{}; }

  Status checkClocksAndResets() {
    uint32_t clockNode = kNone;
    for (uint32_t i = 0; i < net_.nodes.size(); ++i) {
      const Node &n = net_.nodes[i];
      if (n.kind != NodeKind::Op)
        continue;
      bool clocked = n.isReg() || n.isSyncRead() || n.op == hw::OpKind::MemWrite;
      if (!clocked)
        continue;
      Ref c = n.operands[0];
      const Node &cn = net_.nodes[c.node];
      std::string what = n.name.empty() ? std::string(hw::mnemonic(n.op)) : "'" + n.name + "'";
      if (!cn.isOp(hw::OpKind::Input) || cn.group != 0) {
        if (cn.isOp(hw::OpKind::Const))
          continue; // never clocked: keeps its value
        return Diagnostic::error("unsupported-clock",
                                 "the clock of " + what +
                                     " is not a top-level input (derived and gated clocks "
                                     "are not supported)",
                                 locOf(i));
      }
      if (clockNode != kNone && clockNode != c.node)
        return Diagnostic::error("multiple-clocks",
                                 "the design has more than one clock ('" +
                                     net_.nodes[clockNode].name + "' and '" + cn.name +
                                     "'); one clock domain is supported",
                                 locOf(i));
      clockNode = c.node;
      if (n.isReg() && n.regHasReset() && n.regAsync()) {
        const Node &rn = net_.nodes[n.operands[2].node];
        if (!rn.isOp(hw::OpKind::Input) || rn.group != 0)
          return Diagnostic::error("async-reset-source",
                                   "the asynchronous reset of " + what +
                                       " does not come from a top-level input",
                                   locOf(i));
      }
    }
    for (TopInput &in : net_.inputs)
      in.isClock = in.node == clockNode;
    return Status::success();
  }

  /// Core liveness from outputs and state; then nodes only named signals need, marked
  /// `observe`.
  void markLive() {
    std::vector<uint32_t> work;
    bool obs = false;
    auto mark = [&](Ref r) {
      if (r.valid() && !net_.nodes[r.node].live) {
        net_.nodes[r.node].live = true;
        net_.nodes[r.node].observe = obs;
        work.push_back(r.node);
      }
    };
    auto drain = [&] {
      while (!work.empty()) {
        uint32_t i = work.back();
        work.pop_back();
        const Node &n = net_.nodes[i];
        for (Ref o : n.operands)
          mark(o);
        if (n.kind == NodeKind::Gather)
          for (Ref e : net_.gathers[n.attr1])
            mark(e);
      }
    };
    for (const TopOutput &o : net_.outputs)
      mark(o.ref);
    for (const TopInput &in : net_.inputs)
      mark(Ref{in.node, -1});
    for (uint32_t i = 0; i < net_.nodes.size(); ++i) {
      const Node &n = net_.nodes[i];
      if (n.kind == NodeKind::Op && (n.isReg() || n.isSyncRead() || n.op == hw::OpKind::MemWrite))
        mark(Ref{i, -1});
    }
    drain();
    obs = true;
    for (const Signal &s : net_.signals)
      mark(s.ref);
    drain();
  }

  const hw::Design &d_;
  const std::set<std::string> &unroll_;
  Net net_;
  std::vector<SourceLoc> locs_;
  std::map<const hw::Module *, bool> containsArray_;
  std::vector<PendingGather> pending_;
  std::map<uint32_t, uint32_t> packGroup_;
  std::vector<Ref> aliasTarget_;
  std::map<std::tuple<uint32_t, int32_t, uint32_t, uint32_t>, uint32_t> extracts_;
};

} // namespace

Expected<Net> elaborate(const hw::Design &d, const hw::Module &top,
                        const std::set<std::string> &unroll) {
  return Elaborator(d, unroll).run(top);
}

} // namespace tessera::sim::detail
