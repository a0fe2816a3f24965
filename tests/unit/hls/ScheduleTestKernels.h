// Hand-built CDFG kernels for the analysis and scheduling tests (no front end needed).
#pragma once

#include "CdfgBuilder.h"
#include "hls/Cdfg.h"

#include <string>
#include <vector>

namespace tessera::hls::skern {

/// A tiny builder: every node gets line 100 + its id, so tests can check C lines.
struct Builder : testkit::CdfgBuilder {
  explicit Builder(std::string name) : CdfgBuilder(std::move(name), "k.c", 100, 3) {
    g.loc = {"k.c", 1, 1};
    blockLoc = {"k.c", 2, 1};
  }
  NodeId arg(BlockId b, std::string name, uint32_t w, bool isSigned = false) {
    g.args.push_back(Arg{name, w, isSigned, {"k.c", 1, 1}});
    return op(b, OpKind::Arg, w, {}, name, uint32_t(g.args.size() - 1));
  }
  MemId array(std::string name, uint32_t w, uint32_t depth, uint32_t ports = 1) {
    Memory m;
    m.name = std::move(name);
    m.kind = MemKind::Interface;
    m.elemWidth = w;
    m.depth = depth;
    m.ports = ports;
    m.argIndex = uint32_t(g.memories.size());
    m.loc = {"k.c", 1, 20};
    g.memories.push_back(m);
    return MemId(g.memories.size() - 1);
  }
  /// A single-block loop `body` entered from `pre`, leaving to `exit`.
  LoopId loop(BlockId body, uint64_t trips, uint32_t ii, uint32_t line = 50) {
    Loop l;
    l.header = l.latch = body;
    l.blocks = {body};
    l.tripCount = trips;
    l.requestedII = ii;
    l.loc = {"k.c", line, 3};
    g.loops.push_back(l);
    g.blocks[body].loop = LoopId(g.loops.size() - 1);
    return LoopId(g.loops.size() - 1);
  }
};

/// for (i = 0; i < n; i++) body(i); return result — the usual single-block loop skeleton.
/// After construction fill `body` between the phis and `finish(...)`.
struct LoopKernel {
  Builder b;
  BlockId entry, body, exit;
  NodeId i = kNone, inext = kNone;
  LoopId loop = kNone;

  LoopKernel(std::string name, uint32_t trips, uint32_t ii, uint32_t ivWidth = 32) : b(name) {
    entry = b.block("entry");
    body = b.block("body");
    exit = b.block("exit");
    b.edge(entry, body);
    b.edge(body, body);
    b.edge(body, exit);
    NodeId zero = b.c(entry, ivWidth, 0);
    b.op(entry, OpKind::Br, 0, {}, "", body);
    i = b.op(body, OpKind::Phi, ivWidth, {zero, kNone}, "i");
    loop = b.loop(body, trips, ii);
    trips_ = trips;
    ivWidth_ = ivWidth;
  }
  /// A loop-carried phi with initial value `init` (defined in entry); set its latch
  /// operand with `close`.
  NodeId phi(NodeId init, std::string name, uint32_t w) {
    return b.op(body, OpKind::Phi, w, {init, kNone}, std::move(name));
  }
  void close(NodeId phi, NodeId latchValue) { b.g.nodes[phi].operands[1] = latchValue; }
  /// Adds i + 1, the exit compare and the branch; `ret` (or none) returned in exit.
  void finish(NodeId ret) {
    NodeId one = b.c(body, ivWidth_, 1);
    inext = b.op(body, OpKind::Add, ivWidth_, {i, one}, "i");
    close(i, inext);
    NodeId n = b.c(body, ivWidth_, trips_);
    NodeId cmp = b.op(body, OpKind::LtU, 1, {inext, n}, "i");
    b.op(body, OpKind::CondBr, 0, {cmp}, "", body, exit);
    if (ret == kNone)
      b.op(exit, OpKind::Ret, 0, {});
    else
      b.op(exit, OpKind::Ret, 0, {ret});
    b.g.ret = Arg{"return", ret == kNone ? 0 : b.g.node(ret).width, false, {}};
    if (ret == kNone)
      b.g.ret.reset();
    b.g.loops[loop].exits = {exit};
  }

private:
  uint64_t trips_ = 0;
  uint32_t ivWidth_ = 32;
};

/// sum_i a[i] * b[i] over 16 elements, II request `ii`.
inline Cdfg dotProduct(uint32_t ii = 1, uint32_t width = 32) {
  LoopKernel k("dot", 16, ii);
  MemId a = k.b.array("a", width, 16), bm = k.b.array("b", width, 16);
  NodeId zero = k.b.c(k.entry, width, 0);
  NodeId acc = k.phi(zero, "acc", width);
  NodeId x = k.b.op(k.body, OpKind::Load, width, {k.i}, "a", a);
  NodeId y = k.b.op(k.body, OpKind::Load, width, {k.i}, "b", bm);
  NodeId p = k.b.op(k.body, OpKind::Mul, width, {x, y}, "p");
  NodeId accn = k.b.op(k.body, OpKind::Add, width, {acc, p}, "acc");
  k.close(acc, accn);
  k.finish(accn);
  return k.b.g;
}

} // namespace tessera::hls::skern
