//===- FusionTest.cpp - fusion of elementwise chains -------------------------===//
//
// docs/compiler.md "Fusion": chains (trees) of elementwise ops whose intermediates have
// one consumer and are needed by nothing else are lowered as one stream through ACC.
// Each graph is compiled with CompileOptions::fuse off and on, run from the same seeded
// inputs on the cycle backend; every persistent tensor (outputs, loss, gradients,
// parameters, optimizer state) must hold the same bytes, with fewer DMA elements moved
// and fewer cycles. Intermediates needed later (a second consumer, a graph output, a
// value saved for the backward pass) are not fused away.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "runtime/Runtime.h"

#include "CompilerTestUtil.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

using namespace tessera;
using namespace tessera::compiler;
using namespace tessera::compiler::testutil;
using workload::Graph;
using workload::OpKind;
using workload::TensorId;
using workload::TensorRole;

namespace {

/// x [8,16] -> matmul w1 [16,32] -> add b1 -> relu -> mul s (scalar) -> matmul w2
/// [32,8] -> add b2 -> y: add+relu+mul fuse (b1 a broadcast row, s a scalar).
Graph mlpGraph(Initializers &init) {
  Graph g("mlp");
  TensorId x = tensor(g, "x", {8, 16}, TensorRole::Input);
  TensorId w1 = tensor(g, "w1", {16, 32}, TensorRole::Parameter);
  TensorId b1 = tensor(g, "b1", {32}, TensorRole::Parameter);
  TensorId s = tensor(g, "s", {1}, TensorRole::Constant);
  TensorId w2 = tensor(g, "w2", {32, 8}, TensorRole::Parameter);
  TensorId b2 = tensor(g, "b2", {8}, TensorRole::Parameter);
  TensorId h = tensor(g, "h", {8, 32}, TensorRole::Activation);
  TensorId hb = tensor(g, "hb", {8, 32}, TensorRole::Activation);
  TensorId hr = tensor(g, "hr", {8, 32}, TensorRole::Activation);
  TensorId hs = tensor(g, "hs", {8, 32}, TensorRole::Activation);
  TensorId o = tensor(g, "o", {8, 8}, TensorRole::Activation);
  TensorId y = tensor(g, "y", {8, 8}, TensorRole::Activation);
  op(g, OpKind::MatMul, "fc1", {x, w1}, {h});
  op(g, OpKind::Add, "fc1.bias", {h, b1}, {hb});
  op(g, OpKind::Relu, "relu1", {hb}, {hr});
  op(g, OpKind::Mul, "scale", {hr, s}, {hs});
  op(g, OpKind::MatMul, "fc2", {hs, w2}, {o});
  op(g, OpKind::Add, "fc2.bias", {o, b2}, {y});
  g.inputs() = {x};
  g.outputs() = {y};
  init.values[w1.v] = randomVec(16 * 32, 11, 0.5f);
  init.values[b1.v] = randomVec(32, 12, 0.5f);
  init.values[s.v] = std::vector<float>{0.75f};
  init.values[w2.v] = randomVec(32 * 8, 13, 0.5f);
  init.values[b2.v] = randomVec(8, 14, 0.5f);
  return g;
}

/// NCHW per-channel bias, relu, residual add, neg, div by a constant: one tree
/// (add(relu(x + c), z) -> neg -> div).
Graph cnnGraph(Initializers &init) {
  Graph g("cnn");
  TensorId x = tensor(g, "x", {2, 4, 6, 6}, TensorRole::Input);
  TensorId z = tensor(g, "z", {2, 4, 6, 6}, TensorRole::Input);
  TensorId c = tensor(g, "c", {4, 1, 1}, TensorRole::Constant);
  TensorId d = tensor(g, "d", {1}, TensorRole::Constant);
  TensorId a = tensor(g, "a", {2, 4, 6, 6}, TensorRole::Activation);
  TensorId r = tensor(g, "r", {2, 4, 6, 6}, TensorRole::Activation);
  TensorId s = tensor(g, "s", {2, 4, 6, 6}, TensorRole::Activation);
  TensorId n = tensor(g, "n", {2, 4, 6, 6}, TensorRole::Activation);
  TensorId y = tensor(g, "y", {2, 4, 6, 6}, TensorRole::Activation);
  op(g, OpKind::Add, "bias", {x, c}, {a});
  op(g, OpKind::Relu, "relu", {a}, {r});
  op(g, OpKind::Add, "residual", {z, r}, {s});
  op(g, OpKind::Neg, "neg", {s}, {n});
  op(g, OpKind::Div, "div", {n, d}, {y});
  g.inputs() = {x, z};
  g.outputs() = {y};
  init.values[c.v] = randomVec(4, 21);
  init.values[d.v] = std::vector<float>{3.0f};
  return g;
}

/// t = a + b is read by relu and by the final mul (two consumers), and u = relu(t) is a
/// graph output: neither may be fused away; v = u * t, w = v - a.
Graph neededLaterGraph() {
  Graph g("needed");
  TensorId a = tensor(g, "a", {64}, TensorRole::Input);
  TensorId b = tensor(g, "b", {64}, TensorRole::Input);
  TensorId t = tensor(g, "t", {64}, TensorRole::Activation);
  TensorId u = tensor(g, "u", {64}, TensorRole::Activation);
  TensorId v = tensor(g, "v", {64}, TensorRole::Activation);
  TensorId w = tensor(g, "w", {64}, TensorRole::Activation);
  op(g, OpKind::Add, "t", {a, b}, {t});
  op(g, OpKind::Relu, "u", {t}, {u});
  op(g, OpKind::Mul, "v", {u, t}, {v});
  op(g, OpKind::Sub, "w", {v, a}, {w});
  g.inputs() = {a, b};
  g.outputs() = {u, w};
  return g;
}

struct Result {
  Program prog;
  std::map<std::string, std::vector<float>> persistent; ///< by tensor name
  uint64_t cycles = 0, dmaElems = 0;
};

uint64_t dmaElements(const Program &p) {
  uint64_t n = 0;
  for (const accel::Instruction &i : p.code)
    if (i.op == accel::Opcode::LdAcc || i.op == accel::Opcode::Ld || i.op == accel::Opcode::St)
      n += uint64_t(i.rows) * i.cols;
  return n;
}

Result compileAndRun(const Graph &g, const Initializers &init, bool fuse, bool train = false,
                  Policy policy = Policy::Fp32) {
  CompileOptions opts;
  opts.fuse = fuse;
  opts.train = train;
  opts.policy = policy;
  Result r;
  auto prog = compile(g, init, loadArch("tessera-train-7nm.yaml"), opts);
  EXPECT_TRUE(prog.ok()) << (prog.ok() ? "" : prog.error().render());
  if (!prog.ok())
    return r;
  r.prog = *prog;
  r.dmaElems = dmaElements(r.prog);
  runtime::Runtime rt = load(*prog);
  uint32_t seed = 1;
  for (const DramTensor &t : r.prog.tensors)
    if (t.role == DramRole::Input) {
      EXPECT_TRUE(rt.write(t.name, randomVec(size_t(t.elements()), seed++)).ok());
    }
  auto res = rt.run(runtime::Backend::Cycle);
  EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().render());
  if (!res.ok())
    return r;
  r.cycles = res->cycles;
  for (const DramTensor &t : r.prog.tensors)
    if (t.role != DramRole::Activation && t.role != DramRole::Temporary && t.aliasOf.empty())
      r.persistent[t.name] = readOk(rt, t.name);
  return r;
}

bool sameBytes(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

size_t fusedOps(const Program &p) {
  size_t n = 0;
  for (const OpRecord &o : p.ops)
    n += o.fused.empty() ? 0 : 1;
  return n;
}

bool hasTensor(const Program &p, const std::string &name) { return p.find(name) != nullptr; }

void expectSameFewer(const Result &off, const Result &on, const char *what) {
  SCOPED_TRACE(what);
  ASSERT_FALSE(off.persistent.empty());
  EXPECT_EQ(fusedOps(off.prog), 0u);
  EXPECT_GT(fusedOps(on.prog), 0u);
  ASSERT_EQ(on.persistent.size(), off.persistent.size());
  for (const auto &[name, vals] : off.persistent) {
    auto it = on.persistent.find(name);
    ASSERT_TRUE(it != on.persistent.end()) << name;
    EXPECT_TRUE(sameBytes(vals, it->second)) << "tensor " << name << " differs";
  }
  EXPECT_LT(on.dmaElems, off.dmaElems);
  EXPECT_LT(on.cycles, off.cycles);
  EXPECT_LE(on.prog.dramBytes, off.prog.dramBytes);
  std::printf("[fusion] %-14s cycles %8llu -> %8llu, DMA elements %8llu -> %8llu\n", what,
              (unsigned long long)off.cycles, (unsigned long long)on.cycles,
              (unsigned long long)off.dmaElems, (unsigned long long)on.dmaElems);
}

} // namespace

TEST(CompilerFusion, MlpForwardSameBytesFewerCycles) {
  Initializers init;
  Graph g = mlpGraph(init);
  Result off = compileAndRun(g, init, false), on = compileAndRun(g, init, true);
  expectSameFewer(off, on, "mlp fp32");
  // add+relu+mul is one group; its intermediates are not in DRAM, its result is.
  EXPECT_FALSE(hasTensor(on.prog, "hb"));
  EXPECT_FALSE(hasTensor(on.prog, "hr"));
  EXPECT_TRUE(hasTensor(on.prog, "hs"));
  EXPECT_TRUE(hasTensor(off.prog, "hb"));
  for (const OpRecord &o : on.prog.ops)
    if (o.name == "relu1") {
      EXPECT_EQ(o.fused, "add+relu+mul: fc1.bias, relu1, scale");
    }
  Result offB = compileAndRun(g, init, false, false, Policy::Bf16),
      onB = compileAndRun(g, init, true, false, Policy::Bf16);
  expectSameFewer(offB, onB, "mlp bf16");
}

TEST(CompilerFusion, CnnTreeSameBytesFewerCycles) {
  Initializers init;
  Graph g = cnnGraph(init);
  Result off = compileAndRun(g, init, false), on = compileAndRun(g, init, true);
  expectSameFewer(off, on, "cnn tree");
  for (const char *t : {"a", "r", "s", "n"})
    EXPECT_FALSE(hasTensor(on.prog, t)) << t;
  size_t groups = 0;
  for (const OpRecord &o : on.prog.ops)
    if (o.name == "div") {
      EXPECT_EQ(o.fused, "add+relu+add+neg+div: bias, relu, residual, neg, div");
      ++groups;
    }
  EXPECT_EQ(groups, 1u);
}

TEST(CompilerFusion, TrainingStepKeepsSavedValues) {
  Initializers init;
  Graph g = mlpGraph(init);
  Result off = compileAndRun(g, init, false, true), on = compileAndRun(g, init, true, true);
  expectSameFewer(off, on, "mlp train");
  // relu1's output is saved for its gradient: the forward group ends there.
  for (const OpRecord &o : on.prog.ops)
    if (o.name == "fc1.bias" || o.name == "relu1") {
      EXPECT_EQ(o.fused, "add+relu: fc1.bias, relu1") << o.name;
    }
  EXPECT_TRUE(hasTensor(on.prog, "hr"));
  EXPECT_FALSE(hasTensor(on.prog, "hb"));
}

TEST(CompilerFusion, IntermediatesNeededLaterStay) {
  Graph g = neededLaterGraph();
  Result off = compileAndRun(g, {}, false), on = compileAndRun(g, {}, true);
  ASSERT_FALSE(on.persistent.empty());
  for (const auto &[name, vals] : off.persistent)
    EXPECT_TRUE(sameBytes(vals, on.persistent[name])) << name;
  // t has two consumers, u is an output: only v (read by w alone) is fused away.
  EXPECT_TRUE(hasTensor(on.prog, "t"));
  EXPECT_TRUE(hasTensor(on.prog, "u"));
  EXPECT_FALSE(hasTensor(on.prog, "v"));
  for (const OpRecord &o : on.prog.ops) {
    if (o.name == "t" || o.name == "u") {
      EXPECT_EQ(o.fused, "") << o.name;
    }
    if (o.name == "w") {
      EXPECT_EQ(o.fused, "mul+sub: v, w");
    }
  }
  EXPECT_LT(on.dmaElems, off.dmaElems);
}
