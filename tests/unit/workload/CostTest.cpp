//===- CostTest.cpp - FLOP / byte accounting against published formulas ----===//
#include "workload/Cost.h"
#include "workload/Training.h"
#include "workload/Zoo.h"

#include <gtest/gtest.h>

using namespace tessera::workload;

namespace {

Graph zoo(const std::string &name, ZooOptions o = {}) {
  auto g = buildZooModel(name, o);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  return g.ok() ? std::move(g).value() : Graph();
}

Graph train(const Graph &fwd, Recompute rc = Recompute::None) {
  TrainingOptions o;
  o.recompute = rc;
  auto g = buildTrainingGraph(fwd, o);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  return g.ok() ? std::move(g).value() : Graph();
}

double sum(const std::array<double, 5> &a) { return a[0] + a[1] + a[2] + a[3] + a[4]; }

/// A one-op graph: builds tensors from shapes and appends the op.
struct OpGraph {
  Graph g;
  TensorId add(Shape s, TensorRole role = TensorRole::Input, DType t = DType::BF16) {
    Tensor x;
    x.name = "t" + std::to_string(g.numTensors());
    x.shape = std::move(s);
    x.dtype = t;
    x.role = role;
    return g.addTensor(std::move(x));
  }
  Op op(OpKind k, std::vector<Shape> ins, std::vector<Shape> outs, OpAttrs a = {}) {
    Op o;
    o.kind = k;
    o.name = std::string(opName(k));
    o.attrs = a;
    for (Shape &s : ins)
      o.inputs.push_back(add(std::move(s)));
    for (Shape &s : outs)
      o.outputs.push_back(add(std::move(s), TensorRole::Activation));
    return g.op(g.addOp(std::move(o)));
  }
};

// Megatron-LM (Narayanan et al. 2021, appendix): training FLOPs per iteration.
double megatronFullRecompute(double B, double s, double l, double h, double V) {
  return 96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h));
}
double megatronNoRecompute(double B, double s, double l, double h, double V) {
  return 72 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * l * h));
}

} // namespace

TEST(Cost, MatMulFoldsTokensForALinearLayer) {
  OpGraph t;
  const Op &op = t.op(OpKind::MatMul, {{4, 128, 512}, {512, 1024}}, {{4, 128, 1024}});
  OpCost c = opCost(t.g, op);
  ASSERT_EQ(c.gemms.size(), 1u);
  EXPECT_EQ(c.gemms[0].batch, 1);
  EXPECT_EQ(c.gemms[0].m, 4 * 128);
  EXPECT_EQ(c.gemms[0].n, 1024);
  EXPECT_EQ(c.gemms[0].k, 512);
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 4 * 128 * 1024 * 512);
  EXPECT_DOUBLE_EQ(c.bytesRead, 2.0 * (4 * 128 * 512 + 512 * 1024));
  EXPECT_DOUBLE_EQ(c.bytesWritten, 2.0 * 4 * 128 * 1024);

  OpAttrs tb;
  tb.transB = true; // batched Q K^T
  const Op &qk = t.op(OpKind::MatMul, {{2, 8, 64, 32}, {2, 8, 64, 32}}, {{2, 8, 64, 64}}, tb);
  c = opCost(t.g, qk);
  EXPECT_EQ(c.gemms[0].batch, 16);
  EXPECT_EQ(c.gemms[0].k, 32);
  OpAttrs ta;
  ta.transA = true; // a weight gradient A^T dC
  const Op &wg = t.op(OpKind::MatMul, {{512, 64}, {512, 96}}, {{64, 96}}, ta);
  EXPECT_EQ(opCost(t.g, wg).gemms[0].k, 512);
}

TEST(Cost, ConvolutionGemmViews) {
  OpGraph t;
  OpAttrs a;
  a.strideH = a.strideW = 2;
  a.padT = a.padL = a.padB = a.padR = 1;
  // x [8, 64, 56, 56], w [128, 64, 3, 3] -> y [8, 128, 28, 28]
  const Op &fwd = t.op(OpKind::Conv2d, {{8, 64, 56, 56}, {128, 64, 3, 3}}, {{8, 128, 28, 28}}, a);
  const Op &gi =
      t.op(OpKind::Conv2dGradInput, {{8, 128, 28, 28}, {128, 64, 3, 3}}, {{8, 64, 56, 56}}, a);
  const Op &gw =
      t.op(OpKind::Conv2dGradWeight, {{8, 64, 56, 56}, {8, 128, 28, 28}}, {{128, 64, 3, 3}}, a);
  OpCost f = opCost(t.g, fwd), i = opCost(t.g, gi), w = opCost(t.g, gw);
  double macs = 8.0 * 28 * 28 * 128 * 64 * 9;
  EXPECT_DOUBLE_EQ(f.gemmFlops, 2 * macs);
  EXPECT_EQ(f.gemms[0].m, 8 * 28 * 28);
  EXPECT_EQ(f.gemms[0].n, 128);
  EXPECT_EQ(f.gemms[0].k, 64 * 9);
  EXPECT_DOUBLE_EQ(i.gemmFlops, 2 * macs);
  EXPECT_EQ(i.gemms[0].n, 64 * 9);
  EXPECT_EQ(i.gemms[0].k, 128);
  EXPECT_DOUBLE_EQ(w.gemmFlops, 2 * macs);
  EXPECT_EQ(w.gemms[0].m, 128);
  EXPECT_EQ(w.gemms[0].k, 8 * 28 * 28);

  OpAttrs dw; // depthwise: groups = channels
  dw.groups = 32;
  dw.padT = dw.padL = dw.padB = dw.padR = 1;
  const Op &d = t.op(OpKind::Conv2d, {{1, 32, 10, 10}, {32, 1, 3, 3}}, {{1, 32, 10, 10}}, dw);
  OpCost dc = opCost(t.g, d);
  EXPECT_EQ(dc.gemms[0].batch, 32);
  EXPECT_DOUBLE_EQ(dc.gemmFlops, 2.0 * 100 * 32 * 9);
}

TEST(Cost, AttentionCountsTheFullSquare) {
  OpGraph t;
  OpAttrs a;
  a.causal = true;
  Shape q = {2, 4, 128, 64};
  const Op &f = t.op(OpKind::Attention, {q, q, q}, {q}, a);
  OpCost c = opCost(t.g, f);
  ASSERT_EQ(c.gemms.size(), 2u);
  double products = 2.0 * 2 * 4 * 128 * 128 * 64;
  EXPECT_DOUBLE_EQ(c.gemmFlops, 2 * products);
  const Op &b = t.op(OpKind::AttentionGrad, {q, q, q, q, q}, {q, q, q}, a);
  OpCost bc = opCost(t.g, b);
  EXPECT_EQ(bc.gemms.size(), 5u);
  EXPECT_DOUBLE_EQ(bc.gemmFlops, 5 * products);
  EXPECT_GT(bc.flops, bc.gemmFlops);
}

TEST(Cost, ViewsMoveNothingAndCollectivesCarryTheirMessage) {
  OpGraph t;
  EXPECT_EQ(opCost(t.g, t.op(OpKind::Reshape, {{4, 8}}, {{32}})).bytesRead, 0);
  EXPECT_EQ(opCost(t.g, t.op(OpKind::TpCopy, {{4, 8}}, {{4, 8}})).bytesWritten, 0);
  EXPECT_DOUBLE_EQ(opCost(t.g, t.op(OpKind::Transpose, {{4, 8}}, {{8, 4}})).bytesRead, 64);
  OpCost ar = opCost(t.g, t.op(OpKind::AllReduce, {{1024}}, {{1024}}));
  EXPECT_DOUBLE_EQ(ar.commBytes, 2048);
  OpCost ag = opCost(t.g, t.op(OpKind::AllGather, {{128}}, {{1024}}));
  EXPECT_DOUBLE_EQ(ag.commBytes, 2048);
  OpCost rs = opCost(t.g, t.op(OpKind::ReduceScatter, {{1024}}, {{128}}));
  EXPECT_DOUBLE_EQ(rs.commBytes, 2048);
  EXPECT_EQ(ar.flops, 0);
  // An embedding reads the rows it gathers, not the table.
  const Op &e = t.op(OpKind::Embedding, {{50000, 64}, {2, 10}}, {{2, 10, 64}});
  EXPECT_DOUBLE_EQ(opCost(t.g, e).bytesRead, 2.0 * 10 * 2 + 2.0 * 10 * 64 * 2);
}

TEST(Cost, ResNet50ForwardIs4Point1GigaMacsPerImage) {
  Graph g = zoo("resnet50", [] {
    ZooOptions o;
    o.batch = 4;
    return o;
  }());
  GraphCost c = graphCost(g);
  double macsPerImage = c.gemmFlopsByPhase[size_t(Phase::Forward)] / 2 / 4;
  EXPECT_NEAR(macsPerImage / 4.09e9, 1.0, 0.02) << macsPerImage;
  // Vector work (BN, ReLU, pools, adds) is a small fraction.
  EXPECT_LT(c.flops / c.gemmFlopsByPhase[0], 1.03);
}

TEST(Cost, GptTrainingMatchesMegatronWithFullRecompute) {
  ZooOptions o;
  o.attention = AttentionImpl::Unfused;
  o.batch = 2;
  Graph fwd = zoo("gpt3-175b", o);
  double B = 2, s = 2048, l = 96, h = 12288, V = 50257;
  GraphCost full = graphCost(train(fwd, Recompute::Full));
  EXPECT_NEAR(sum(full.gemmFlopsByPhase) / megatronFullRecompute(B, s, l, h, V), 1.0, 0.001);
  EXPECT_NEAR(full.flops / megatronFullRecompute(B, s, l, h, V), 1.0, 0.02);
  GraphCost none = graphCost(train(fwd, Recompute::None));
  EXPECT_NEAR(sum(none.gemmFlopsByPhase) / megatronNoRecompute(B, s, l, h, V), 1.0, 0.001);
  EXPECT_NEAR(none.flops / megatronNoRecompute(B, s, l, h, V), 1.0, 0.02);

  // Flash attention recomputes Q K^T in its backward: 10 instead of 8 B s^2 h per layer.
  Graph fused = zoo("gpt3-175b", [] {
    ZooOptions f;
    f.batch = 2;
    return f;
  }());
  GraphCost ff = graphCost(train(fused, Recompute::Full));
  EXPECT_NEAR(ff.flops / megatronFullRecompute(B, s, l, h, V), 1.0, 0.02);
  EXPECT_GT(sum(ff.gemmFlopsByPhase), sum(full.gemmFlopsByPhase));
}

TEST(Cost, DensePartIsSixFlopsPerParameterPerToken) {
  ZooOptions o;
  Graph fwd = zoo("gpt3-175b", o);
  GraphCost c = graphCost(train(fwd));
  double B = 1, s = 2048, l = 96, h = 12288, V = 50257;
  double tokens = B * s;
  double attention = l * (4 + 10) * B * s * s * h; // flash: 4 B s^2 h forward, 10 backward
  double logits = 6 * tokens * h * V;
  double dense = sum(c.gemmFlopsByPhase) - attention - logits;
  double denseParams = l * 12 * h * h; // QKV, proj, FC1, FC2 weights
  EXPECT_NEAR(dense / (6 * denseParams * tokens), 1.0, 1e-9);
  // The usual 6 N D rule of thumb, with all parameters, within the attention term.
  EXPECT_NEAR(c.flops / (6 * double(fwd.parameterCount()) * tokens), 1.0, 0.05);
}

TEST(Cost, TensorParallelRanksSumToTheWholeModel) {
  for (const char *name : {"gpt3-175b", "llama2-7b", "bert-large"}) {
    ZooOptions one;
    one.vocab = 8 * 4096; // divisible by 8: the same model at tp 1 and 8
    ZooOptions eight = one;
    eight.tp = 8;
    GraphCost c1 = graphCost(train(zoo(name, one)));
    GraphCost c8 = graphCost(train(zoo(name, eight)));
    // BERT's masked-LM transform (a dense h x h layer) is replicated, as in Megatron-LM.
    double gemmTolerance = std::string(name) == "bert-large" ? 0.03 : 1e-6;
    EXPECT_NEAR(8 * sum(c8.gemmFlopsByPhase) / sum(c1.gemmFlopsByPhase), 1.0, gemmTolerance)
        << name;
    // Norms, residual adds and dropout are replicated on every rank.
    double fwd1 = c1.flopsByPhase[0], fwd8 = c8.flopsByPhase[0];
    EXPECT_NEAR(8 * fwd8 / fwd1, 1.0, 0.03) << name;
    EXPECT_GT(8 * fwd8, fwd1) << name;
    EXPECT_GT(c8.commBytes, 0) << name;
    EXPECT_EQ(c1.commBytes, 0) << name;
    eight.sequenceParallel = true;
    GraphCost sp = graphCost(train(zoo(name, eight)));
    EXPECT_NEAR(8 * sum(sp.gemmFlopsByPhase) / sum(c1.gemmFlopsByPhase), 1.0, 1e-6) << name;
    // Sequence parallelism removes the replication.
    EXPECT_LT(sp.flopsByPhase[0], fwd8) << name;
  }
}

TEST(Cost, GraphCostSumsPhases) {
  Graph t = train(zoo("gpt2"), Recompute::Full);
  GraphCost c = graphCost(t);
  EXPECT_NEAR(sum(c.flopsByPhase), c.flops, 1e-6 * c.flops);
  EXPECT_NEAR(sum(c.bytesByPhase), c.bytes, 1e-6 * c.bytes);
  EXPECT_GT(c.flopsByPhase[size_t(Phase::Recompute)], 0);
  EXPECT_GT(c.flopsByPhase[size_t(Phase::Optimizer)], 0);
  double op = 0;
  for (const Op &o : t.ops())
    op += opCost(t, o).flops;
  EXPECT_DOUBLE_EQ(op, c.flops);
}
