// Hand-built CDFG kernels and a naive scheduler for the RTL and co-simulation tests
// (independent of the front end and of the real scheduler).
#pragma once

#include "CdfgBuilder.h"
#include "hls/Cdfg.h"
#include "hls/Schedule.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tessera::hls::testk {

struct K : testkit::CdfgBuilder {
  explicit K(std::string name) : CdfgBuilder(std::move(name), "kernel.c", 10, 1) {
    g.loc = loc(1);
    blockLoc = loc(2);
    constLoc = loc(3);
  }
  static SourceLoc loc(uint32_t line) { return SourceLoc{"kernel.c", line, 1}; }
  NodeId arg(BlockId b, std::string name, uint32_t w) {
    g.args.push_back(Arg{name, w, false, loc(1)});
    Param p;
    p.name = name;
    p.cType = w == 32 ? "unsigned" : "unsigned long long";
    p.index = uint32_t(g.args.size() - 1);
    p.bytes = w == 32 ? 4 : 8;
    g.params.push_back(p);
    return op(b, OpKind::Arg, w, {}, name, uint32_t(g.args.size() - 1));
  }
  MemId array(std::string name, uint32_t w, uint32_t depth, bool readOnly = false) {
    Memory m;
    m.name = name;
    m.kind = MemKind::Interface;
    m.elemWidth = w;
    m.depth = depth;
    m.readOnly = readOnly;
    m.argIndex = uint32_t(g.params.size());
    m.loc = loc(1);
    g.memories.push_back(m);
    Param p;
    p.name = name;
    p.cType = readOnly ? "const unsigned *" : "unsigned *";
    p.isArray = true;
    p.index = MemId(g.memories.size() - 1);
    p.bytes = 4;
    g.params.push_back(p);
    return MemId(g.memories.size() - 1);
  }
  MemId local(std::string name, uint32_t w, uint32_t depth, std::vector<uint64_t> init = {}) {
    Memory m;
    m.name = name;
    m.kind = MemKind::Local;
    m.elemWidth = w;
    m.depth = depth;
    m.init = std::move(init);
    m.loc = loc(4);
    g.memories.push_back(m);
    return MemId(g.memories.size() - 1);
  }
  NodeId phi(BlockId b, uint32_t w, std::vector<NodeId> ops, std::string name) {
    return op(b, OpKind::Phi, w, std::move(ops), std::move(name));
  }
  void setPhi(NodeId p, size_t k, NodeId v) { g.nodes[p].operands[k] = v; }
  LoopId loop(BlockId header, uint32_t ii = 0) {
    Loop l;
    l.header = l.latch = header;
    l.blocks = {header};
    l.requestedII = ii;
    l.loc = loc(5);
    for (BlockId s : g.blocks[header].succs)
      if (s != header)
        l.exits.push_back(s);
    g.loops.push_back(l);
    g.blocks[header].loop = LoopId(g.loops.size() - 1);
    return LoopId(g.loops.size() - 1);
  }
  void ret32(uint32_t w = 32) { g.ret = Arg{"return", w, false, loc(1)}, g.retCType = "unsigned"; }
};

/// A naive list schedule: nodes in program order, chained when `chain`, else each
/// non-leaf node one cycle after the previous one; loads take one cycle; terminators in
/// the block's last cycle. Never two memory accesses to one array in one cycle.
inline Schedule naiveSchedule(const Cdfg &g, bool chain, uint32_t mulLatency = 0) {
  Schedule s;
  s.nodes.resize(g.nodes.size());
  s.blocks.resize(g.blocks.size());
  s.loops.resize(g.loops.size());
  s.clockNs = 10;
  for (BlockId b = 0; b < g.blocks.size(); ++b) {
    uint32_t cur = 0, maxAvail = 0;
    std::vector<std::pair<MemId, uint32_t>> memUse;
    for (NodeId n : g.blocks[b].nodes) {
      const Node &nd = g.node(n);
      if (isTerminator(nd.kind))
        continue;
      NodeTiming &t = s.nodes[n];
      if (nd.kind == OpKind::Const || nd.kind == OpKind::Arg || nd.kind == OpKind::Phi)
        continue;
      uint32_t c = chain ? 0 : cur;
      for (NodeId o : nd.operands) {
        const Node &on = g.node(o);
        if (on.block == b && on.kind != OpKind::Phi && on.kind != OpKind::Const &&
            on.kind != OpKind::Arg)
          c = std::max(c, s.nodes[o].cycle + s.nodes[o].latency);
      }
      if (nd.kind == OpKind::Load || nd.kind == OpKind::Store)
        while (std::count(memUse.begin(), memUse.end(), std::make_pair(MemId(nd.attr), c)))
          ++c;
      if (nd.kind == OpKind::Load || nd.kind == OpKind::Store)
        memUse.push_back({nd.attr, c});
      t.cycle = c;
      t.latency = nd.kind == OpKind::Load ? 1 : (nd.kind == OpKind::Mul ? mulLatency : 0);
      cur = c + 1;
      maxAvail = std::max(maxAvail, c + t.latency);
    }
    s.blocks[b].length = maxAvail + 1;
    for (NodeId n : g.blocks[b].nodes)
      if (isTerminator(g.node(n).kind))
        s.nodes[n].cycle = maxAvail;
  }
  return s;
}

// ---- kernels --------------------------------------------------------------------

/// unsigned sum16(const unsigned a[16], unsigned bias): s = bias; for i < 16: s += a[i].
inline Cdfg sumKernel() {
  K k("sum16");
  BlockId e = k.block("entry"), l = k.block("loop"), x = k.block("exit");
  MemId a = k.array("a", 32, 16, true);
  k.edge(e, l);
  k.edge(l, l);
  k.edge(l, x);
  NodeId bias = k.arg(e, "bias", 32);
  k.op(e, OpKind::Br, 0, {}, "", l);
  NodeId z = k.c(e, 32, 0);
  (void)z;
  NodeId i = k.phi(l, 32, {kNone, kNone}, "i");
  NodeId s = k.phi(l, 32, {kNone, kNone}, "s");
  NodeId ld = k.op(l, OpKind::Load, 32, {i}, "a_i", a);
  NodeId s1 = k.op(l, OpKind::Add, 32, {s, ld}, "s");
  NodeId one = k.c(l, 32, 1);
  NodeId i1 = k.op(l, OpKind::Add, 32, {i, one}, "i");
  NodeId sixteen = k.c(l, 32, 16);
  NodeId cmp = k.op(l, OpKind::LtU, 1, {i1, sixteen}, "cmp");
  k.op(l, OpKind::CondBr, 0, {cmp}, "", l, x);
  NodeId zero = k.c(e, 32, 0);
  k.setPhi(i, 0, zero);
  k.setPhi(i, 1, i1);
  k.setPhi(s, 0, bias);
  k.setPhi(s, 1, s1);
  k.op(x, OpKind::Ret, 0, {s1});
  k.ret32();
  k.loop(l);
  return std::move(k.g);
}

/// void scale(const unsigned a[N], unsigned b[N], unsigned k, unsigned n):
/// for i < n (at least once, n <= N): b[i] = a[i] * k + (i ^ k); returns nothing.
inline Cdfg storeKernel(uint32_t N = 12) {
  K k("scale");
  BlockId e = k.block("entry"), l = k.block("loop"), x = k.block("exit");
  MemId a = k.array("a", 32, N, true);
  MemId b = k.array("b", 32, N);
  k.edge(e, l);
  k.edge(l, l);
  k.edge(l, x);
  NodeId kk = k.arg(e, "k", 32);
  NodeId n = k.arg(e, "n", 32);
  NodeId mask = k.c(e, 32, 7);
  NodeId nm = k.op(e, OpKind::And, 32, {n, mask}, "n");
  k.op(e, OpKind::Br, 0, {}, "", l);
  NodeId i = k.phi(l, 32, {kNone, kNone}, "i");
  NodeId ld = k.op(l, OpKind::Load, 32, {i}, "a_i", a);
  NodeId mul = k.op(l, OpKind::Mul, 32, {ld, kk}, "t");
  NodeId x1 = k.op(l, OpKind::Xor, 32, {i, kk}, "u");
  NodeId sum = k.op(l, OpKind::Add, 32, {mul, x1}, "v");
  k.op(l, OpKind::Store, 0, {i, sum}, "", b);
  NodeId one = k.c(l, 32, 1);
  NodeId i1 = k.op(l, OpKind::Add, 32, {i, one}, "i");
  NodeId cmp = k.op(l, OpKind::LeU, 1, {i1, nm}, "cmp");
  k.op(l, OpKind::CondBr, 0, {cmp}, "", l, x);
  k.setPhi(i, 0, k.c(e, 32, 0));
  k.setPhi(i, 1, i1);
  k.op(x, OpKind::Ret, 0, {});
  k.loop(l);
  return std::move(k.g);
}

/// unsigned maxmix(const unsigned a[8], unsigned x, unsigned y): straight-line and
/// branchy code with several 32-bit multiplies and divisions (sharing candidates):
///   m = max over a (signed compare, select); p = x*y; q = (x+1)*(y+3); r = p*q;
///   if (x & 1) t = r / (y|1) else t = r % (x|1); return t + m * 3.
inline Cdfg mixKernel() {
  K k("maxmix");
  BlockId e = k.block("entry"), l = k.block("loop"), mid = k.block("mid"), odd = k.block("odd"),
          even = k.block("even"), x = k.block("exit");
  MemId a = k.array("a", 32, 8, true);
  k.edge(e, l);
  k.edge(l, l);
  k.edge(l, mid);
  k.edge(mid, odd);
  k.edge(mid, even);
  k.edge(odd, x);
  k.edge(even, x);
  NodeId ax = k.arg(e, "x", 32);
  NodeId ay = k.arg(e, "y", 32);
  k.op(e, OpKind::Br, 0, {}, "", l);
  NodeId i = k.phi(l, 32, {kNone, kNone}, "i");
  NodeId m = k.phi(l, 32, {kNone, kNone}, "m");
  NodeId ld = k.op(l, OpKind::Load, 32, {i}, "a_i", a);
  NodeId gt = k.op(l, OpKind::GtS, 1, {ld, m}, "gt");
  NodeId m1 = k.op(l, OpKind::Select, 32, {gt, ld, m}, "m");
  NodeId i1 = k.op(l, OpKind::Add, 32, {i, k.c(l, 32, 1)}, "i");
  NodeId cmp = k.op(l, OpKind::Ne, 1, {i1, k.c(l, 32, 8)}, "cmp");
  k.op(l, OpKind::CondBr, 0, {cmp}, "", l, mid);
  k.setPhi(i, 0, k.c(e, 32, 0));
  k.setPhi(i, 1, i1);
  k.setPhi(m, 0, k.c(e, 32, 0x80000000u));
  k.setPhi(m, 1, m1);
  NodeId p = k.op(mid, OpKind::Mul, 32, {ax, ay}, "p");
  NodeId x1 = k.op(mid, OpKind::Add, 32, {ax, k.c(mid, 32, 1)}, "x1");
  NodeId y3 = k.op(mid, OpKind::Add, 32, {ay, k.c(mid, 32, 3)}, "y3");
  NodeId q = k.op(mid, OpKind::Mul, 32, {x1, y3}, "q");
  NodeId r = k.op(mid, OpKind::Mul, 32, {p, q}, "r");
  NodeId bit = k.op(mid, OpKind::Trunc, 1, {ax}, "odd");
  k.op(mid, OpKind::CondBr, 0, {bit}, "", odd, even);
  NodeId yo = k.op(odd, OpKind::Or, 32, {ay, k.c(odd, 32, 1)}, "yo");
  NodeId t1 = k.op(odd, OpKind::DivS, 32, {r, yo}, "t");
  k.op(odd, OpKind::Br, 0, {}, "", x);
  NodeId xo = k.op(even, OpKind::Or, 32, {ax, k.c(even, 32, 1)}, "xo");
  NodeId t2 = k.op(even, OpKind::RemU, 32, {r, xo}, "t");
  k.op(even, OpKind::Br, 0, {}, "", x);
  NodeId t = k.phi(x, 32, {t1, t2}, "t");
  NodeId m3 = k.op(x, OpKind::Mul, 32, {m1, k.c(x, 32, 3)}, "m3");
  NodeId res = k.op(x, OpKind::Add, 32, {t, m3}, "res");
  k.op(x, OpKind::Ret, 0, {res});
  k.ret32();
  k.loop(l);
  return std::move(k.g);
}

/// unsigned lut(const unsigned a[8], unsigned k): a local RAM filled and read back, and a
/// constant table:  for i < 8: tmp[i] = a[i] ^ k;  for j < 8: s += tmp[7 - j] + tab[tmp[j] & 3].
inline Cdfg localRamKernel() {
  K k("lut");
  BlockId e = k.block("entry"), l1 = k.block("fill"), l2 = k.block("use"), x = k.block("exit");
  MemId a = k.array("a", 32, 8, true);
  MemId tmp = k.local("tmp", 32, 8);
  MemId tab = k.local("tab", 16, 4, {11, 0xffff, 300, 7});
  k.edge(e, l1);
  k.edge(l1, l1);
  k.edge(l1, l2);
  k.edge(l2, l2);
  k.edge(l2, x);
  NodeId kk = k.arg(e, "k", 32);
  k.op(e, OpKind::Br, 0, {}, "", l1);
  NodeId i = k.phi(l1, 32, {kNone, kNone}, "i");
  NodeId ld = k.op(l1, OpKind::Load, 32, {i}, "a_i", a);
  NodeId v = k.op(l1, OpKind::Xor, 32, {ld, kk}, "v");
  k.op(l1, OpKind::Store, 0, {i, v}, "", tmp);
  NodeId i1 = k.op(l1, OpKind::Add, 32, {i, k.c(l1, 32, 1)}, "i");
  NodeId c1 = k.op(l1, OpKind::Ne, 1, {i1, k.c(l1, 32, 8)}, "c");
  k.op(l1, OpKind::CondBr, 0, {c1}, "", l1, l2);
  k.setPhi(i, 0, k.c(e, 32, 0));
  k.setPhi(i, 1, i1);
  NodeId j = k.phi(l2, 32, {kNone, kNone}, "j");
  NodeId s = k.phi(l2, 32, {kNone, kNone}, "s");
  NodeId rj = k.op(l2, OpKind::Sub, 32, {k.c(l2, 32, 7), j}, "rj");
  NodeId t1 = k.op(l2, OpKind::Load, 32, {rj}, "t1", tmp);
  NodeId t2 = k.op(l2, OpKind::Load, 32, {j}, "t2", tmp);
  NodeId idx = k.op(l2, OpKind::And, 32, {t2, k.c(l2, 32, 3)}, "idx");
  NodeId tv = k.op(l2, OpKind::Load, 16, {idx}, "tv", tab);
  NodeId tvz = k.op(l2, OpKind::ZExt, 32, {tv}, "tvz");
  NodeId sa = k.op(l2, OpKind::Add, 32, {s, t1}, "s");
  NodeId s1 = k.op(l2, OpKind::Add, 32, {sa, tvz}, "s");
  NodeId j1 = k.op(l2, OpKind::Add, 32, {j, k.c(l2, 32, 1)}, "j");
  NodeId c2 = k.op(l2, OpKind::Ne, 1, {j1, k.c(l2, 32, 8)}, "c");
  k.op(l2, OpKind::CondBr, 0, {c2}, "", l2, x);
  k.setPhi(j, 0, k.c(l1, 32, 0));
  k.setPhi(j, 1, j1);
  k.setPhi(s, 0, k.c(l1, 32, 0));
  k.setPhi(s, 1, s1);
  k.op(x, OpKind::Ret, 0, {s1});
  k.ret32();
  k.loop(l1);
  k.loop(l2);
  return std::move(k.g);
}

} // namespace tessera::hls::testk
