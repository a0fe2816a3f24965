//===- OverlapTest.cpp - load / compute / store overlap of tiled GEMMs -------===//
//
// docs/compiler.md "Overlap": the blocks of a tiled GEMM alternate between two SPAD /
// SCALE buffers (and, when C is loaded into ACC, two ACC regions) so that the loads of
// block b+1 run while block b computes and stores. Each case is compiled twice, with
// CompileOptions::overlap off (the serialised emitter) and on, run from the same inputs on
// the cycle backend, and must give the same DRAM bytes (every byte, scratch included) in
// fewer cycles. The golden model faults on any unsynchronized access and on token
// deadlock, so a passing run also shows every hazard has a token chain; the programs are
// rerun on a tile with one-token FIFOs and two-instruction queues, and a deliberately
// broken chain is shown to be caught.
//
//===----------------------------------------------------------------------===//
#include "accel/Golden.h"
#include "arch/ArchSpec.h"
#include "compiler/Compiler.h"
#include "runtime/Runtime.h"

#include "CompilerTestUtil.h"

#include <gtest/gtest.h>

#include <random>

using namespace tessera;
using namespace tessera::compiler;
using namespace tessera::compiler::testutil;
using workload::Graph;
using workload::Op;
using workload::OpKind;
using workload::TensorId;
using workload::TensorRole;

namespace {

Graph gemmGraph(int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  Graph g("gemm");
  TensorId a =
      tensor(g, "a", ta ? workload::Shape{k, m} : workload::Shape{m, k}, TensorRole::Input);
  TensorId b =
      tensor(g, "b", tb ? workload::Shape{n, k} : workload::Shape{k, n}, TensorRole::Input);
  TensorId y = tensor(g, "y", {m, n}, TensorRole::Activation);
  workload::OpAttrs at;
  at.transA = ta;
  at.transB = tb;
  op(g, OpKind::MatMul, "mm", {a, b}, {y}, at);
  g.inputs() = {a, b};
  g.outputs() = {y};
  return g;
}

/// conv-grad-weight (a GEMM accumulating through C: C tiles loaded into ACC) and
/// conv-grad-input, several images.
Graph convGradGraph(int64_t c = 5, int64_t o = 6, int64_t k = 3) {
  const int64_t n = 2, h = 4, w = 4;
  Graph g("convgrad");
  TensorId x = tensor(g, "x", {n, c, h, w}, TensorRole::Input);
  TensorId dy = tensor(g, "dy", {n, o, h, w}, TensorRole::Input);
  TensorId wt = tensor(g, "w", {o, c, k, k}, TensorRole::Input);
  TensorId dw = tensor(g, "dw", {o, c, k, k}, TensorRole::Gradient);
  TensorId dx = tensor(g, "dx", {n, c, h, w}, TensorRole::Gradient);
  workload::OpAttrs ca;
  ca.strideH = ca.strideW = 1;
  ca.padT = ca.padL = ca.padB = ca.padR = k / 2;
  op(g, OpKind::Conv2dGradWeight, "Conv.wgrad", {x, dy}, {dw}, ca);
  op(g, OpKind::Conv2dGradInput, "Conv.dgrad", {dy, wt}, {dx}, ca);
  g.inputs() = {x, dy, wt};
  g.outputs() = {dw, dx};
  return g;
}

struct Compiled {
  Program prog;
  std::vector<uint8_t> dramBefore, dramAfter;
  uint64_t cycles = 0;
};

/// Compiles `g` with overlap on or off, writes seeded inputs, runs the cycle backend.
Compiled compileAndRun(const Graph &g, const char *arch, Policy policy, bool overlap,
                       uint32_t maxTileK = 0) {
  CompileOptions opts;
  opts.policy = policy;
  opts.overlap = overlap;
  opts.maxTileK = maxTileK;
  Compiled r;
  auto prog = compile(g, {}, loadArch(arch), opts);
  EXPECT_TRUE(prog.ok()) << (prog.ok() ? "" : prog.error().render());
  if (!prog.ok())
    return r;
  r.prog = *prog;
  auto rt = runtime::Runtime::create(std::move(*prog));
  EXPECT_TRUE(rt.ok()) << (rt.ok() ? "" : rt.error().render());
  if (!rt.ok())
    return r;
  uint32_t seed = 1;
  for (TensorId t : g.inputs())
    EXPECT_TRUE(
        rt->write(g.tensor(t).name, randomVec(size_t(g.tensor(t).elements()), seed++)).ok());
  r.dramBefore = rt->dram();
  auto res = rt->run(runtime::Backend::Cycle);
  EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().render());
  if (!res.ok())
    return r;
  r.cycles = res->cycles;
  r.dramAfter = rt->dram();
  return r;
}

/// Count of compute-queue heads that let the next block's loads start early.
size_t overlapHeads(const Program &p) {
  size_t n = 0;
  for (const accel::Instruction &i : p.code)
    if (i.op == accel::Opcode::CSync && (i.deps & accel::dep::PopPrev) &&
        (i.deps & accel::dep::PushPrev))
      ++n;
  return n;
}

struct Case {
  const char *what;
  Graph g;
  const char *arch;
  Policy policy;
  uint32_t maxTileK;
  bool overlaps = true; ///< false: two buffers cannot fit, the GEMM stays serialised
};

std::vector<Case> cases() {
  std::vector<Case> cs;
  // Many 4x4 tiles, ragged edges, K split by the 16 KiB SPAD (fp32: 3 copies per operand).
  cs.push_back(
      {"bf16 37x300x70", gemmGraph(37, 300, 70, false, true), "small-test.yaml", Policy::Bf16, 0});
  cs.push_back({"bf16 21x90x30 ta tb", gemmGraph(21, 90, 30, true, true), "small-test.yaml",
                Policy::Bf16, 0});
  // fp32 on small-test: the K slice fills the whole SPAD, so no second buffer fits (the
  // slicing must stay that of the serialised GEMM): same program shape, same cycles.
  cs.push_back({"fp32 13x700x11 ta", gemmGraph(13, 700, 11, true, false), "small-test.yaml",
                Policy::Fp32, 0, false});
  cs.push_back({"fp32 19x100x33 K slices", gemmGraph(19, 100, 33, false, false),
                "tessera-train-7nm.yaml", Policy::Fp32, 24});
  cs.push_back({"bf16 40x256x48 K slices", gemmGraph(40, 256, 48, false, false),
                "tessera-train-7nm.yaml", Policy::Bf16, 64});
  cs.push_back({"mxfp8 33x192x40", gemmGraph(33, 192, 40, false, true), "tessera-train-7nm.yaml",
                Policy::Mxfp8, 64});
  cs.push_back({"bf16 conv grads", convGradGraph(), "small-test.yaml", Policy::Bf16, 0});
  cs.push_back({"fp32 conv grads", convGradGraph(), "small-test.yaml", Policy::Fp32, 0});
  // 1x1 kernel, 3 channels: dW's GEMM has one N tile per group, so the next group's C
  // load targets the slot the previous block stores (kept serial at that boundary).
  cs.push_back({"bf16 conv grads 1x1", convGradGraph(3, 8, 1), "small-test.yaml", Policy::Bf16, 0});
  return cs;
}

} // namespace

TEST(CompilerOverlap, SameBytesFewerCycles) {
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.what);
    Compiled off = compileAndRun(c.g, c.arch, c.policy, false, c.maxTileK);
    Compiled on = compileAndRun(c.g, c.arch, c.policy, true, c.maxTileK);
    ASSERT_FALSE(off.dramAfter.empty());
    ASSERT_FALSE(on.dramAfter.empty());
    EXPECT_EQ(overlapHeads(off.prog), 0u); // the serialised emitter never overlaps
    EXPECT_EQ(overlapHeads(on.prog) > 0, c.overlaps);
    ASSERT_EQ(on.dramBefore, off.dramBefore); // same map, same inputs
    EXPECT_NE(on.dramAfter, on.dramBefore);
    EXPECT_TRUE(on.dramAfter == off.dramAfter) << "results differ from the serialised GEMM";
    if (c.overlaps)
      EXPECT_LT(on.cycles, off.cycles);
    else
      EXPECT_EQ(on.cycles, off.cycles);
    std::printf("[overlap] %-26s cycles %8llu -> %8llu (%.2fx)\n", c.what,
                (unsigned long long)off.cycles, (unsigned long long)on.cycles,
                double(off.cycles) / double(on.cycles));
  }
}

/// One-token FIFOs and two-instruction queues: the protocol never needs a second token in
/// a FIFO nor a later-dispatched instruction, so the run neither deadlocks nor races and
/// gives the same bytes.
TEST(CompilerOverlap, NoDeadlockWithMinimalQueues) {
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.what);
    Compiled on = compileAndRun(c.g, c.arch, c.policy, true, c.maxTileK);
    ASSERT_FALSE(on.dramAfter.empty());
    accel::TileConfig tiny = accel::TileConfig::fromArchSpec(loadArch(c.arch));
    tiny.tokenDepth = 1;
    tiny.queueDepth = 2;
    std::vector<uint8_t> dram = on.dramBefore;
    auto r = accel::runGolden(tiny, on.prog.code, dram);
    ASSERT_TRUE(r.ok()) << r.error().render();
    EXPECT_TRUE(dram == on.dramAfter);
  }
}

/// The check the two tests above rely on is live: dropping the token a load waits for
/// (the buffer-free token of an overlapped block) is an unsynchronized access.
TEST(CompilerOverlap, BrokenChainIsCaught) {
  Case c = std::move(cases()[0]);
  Compiled on = compileAndRun(c.g, c.arch, c.policy, true, c.maxTileK);
  ASSERT_FALSE(on.dramAfter.empty());
  std::vector<accel::Instruction> code = on.prog.code;
  // The second overlapped head's C->L token is what lets block 3's loads overwrite the
  // SPAD buffer block 1's GEMMs read; without it (and the matching pop) they race.
  size_t heads = 0, head = 0;
  for (size_t i = 0; i < code.size() && heads < 2; ++i)
    if (code[i].op == accel::Opcode::CSync && (code[i].deps & accel::dep::PushPrev) &&
        (code[i].deps & accel::dep::PopPrev))
      head = i, ++heads;
  ASSERT_EQ(heads, 2u);
  code[head].deps &= uint8_t(~accel::dep::PushPrev);
  size_t load = head;
  while (++load < code.size() && !(accel::opcodeInfo(code[load].op).queue == accel::Queue::Load &&
                                   (code[load].deps & accel::dep::PopNext)))
    ;
  ASSERT_LT(load, code.size());
  code[load].deps &= uint8_t(~accel::dep::PopNext);
  accel::TileConfig cfg = accel::TileConfig::fromArchSpec(loadArch(c.arch));
  std::vector<uint8_t> dram = on.dramBefore;
  auto r = accel::runGolden(cfg, code, dram);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "unsynchronized-access") << r.error().render();
}
