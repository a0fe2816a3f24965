//===- TrainingTest.cpp - autodiff structure, recompute, memory -----------===//
#include "workload/Training.h"
#include "workload/Cost.h"
#include "workload/Zoo.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace tessera::workload;

namespace {

Graph zoo(const std::string &name, ZooOptions o = {}) {
  auto g = buildZooModel(name, o);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  return g.ok() ? std::move(g).value() : Graph();
}

Graph train(const Graph &fwd, Recompute rc = Recompute::None,
            OptimizerKind opt = OptimizerKind::AdamW) {
  TrainingOptions o;
  o.recompute = rc;
  o.optimizer = opt;
  auto g = buildTrainingGraph(fwd, o);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  if (!g.ok())
    return Graph();
  auto v = g->verify();
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().render());
  return std::move(g).value();
}

ZooOptions tinyGpt() {
  ZooOptions o;
  o.hidden = 64;
  o.heads = 4;
  o.layers = 2;
  o.seq = 16;
  o.vocab = 128;
  o.batch = 2;
  return o;
}

std::vector<const Op *> derivedFrom(const Graph &g, OpId fwd) {
  std::vector<const Op *> r;
  for (const Op &op : g.ops())
    if (op.forwardOf == fwd)
      r.push_back(&op);
  return r;
}

int count(const Graph &g, OpKind k, Phase p) {
  int n = 0;
  for (const Op &op : g.ops())
    n += op.kind == k && op.phase == p;
  return n;
}

int countPhase(const Graph &g, Phase p) {
  int n = 0;
  for (const Op &op : g.ops())
    n += op.phase == p;
  return n;
}

/// A small hand-built graph.
struct Builder {
  Graph g{"hand"};
  TensorId tensor(const std::string &name, Shape s, TensorRole role = TensorRole::Activation,
                  DType t = DType::F32) {
    Tensor x;
    x.name = name;
    x.shape = std::move(s);
    x.dtype = t;
    x.role = role;
    TensorId id = g.addTensor(std::move(x));
    if (role == TensorRole::Input)
      g.inputs().push_back(id);
    return id;
  }
  TensorId op(OpKind k, const std::string &name, std::vector<TensorId> in, Shape out,
              OpAttrs a = {}) {
    TensorId o = tensor(name, std::move(out));
    Op op;
    op.kind = k;
    op.name = name;
    op.inputs = std::move(in);
    op.outputs = {o};
    op.attrs = a;
    g.addOp(std::move(op));
    return o;
  }
};

} // namespace

TEST(Training, EveryWeightMatMulGetsDataAndWeightGradients) {
  Graph fwd = zoo("gpt", tinyGpt());
  Graph t = train(fwd);
  int checked = 0;
  for (uint32_t i = 0; i < fwd.numOps(); ++i) {
    const Op &op = fwd.ops()[i];
    if (op.kind != OpKind::MatMul)
      continue;
    TensorId act = op.inputs[0], w = op.inputs[1];
    if (fwd.tensor(w).role != TensorRole::Parameter)
      continue;
    const Op *data = nullptr, *weight = nullptr;
    int nd = 0, nw = 0;
    for (const Op *b : derivedFrom(t, OpId{i})) {
      if (b->kind != OpKind::MatMul)
        continue;
      if (b->phase == Phase::BackwardData)
        data = b, ++nd;
      if (b->phase == Phase::BackwardWeight)
        weight = b, ++nw;
    }
    ASSERT_EQ(nd, 1) << op.name;
    ASSERT_EQ(nw, 1) << op.name;
    EXPECT_EQ(t.tensor(data->outputs[0]).shape, t.tensor(act).shape) << op.name;
    EXPECT_EQ(t.tensor(weight->outputs[0]).shape, t.tensor(w).shape) << op.name;
    EXPECT_EQ(data->layer, op.layer);
    EXPECT_EQ(weight->layer, op.layer);
    // dA = dC B^T (B^T^T = B for the tied head), dB = A^T dC.
    EXPECT_EQ(data->attrs.transB, !op.attrs.transB) << op.name;
    EXPECT_TRUE(weight->attrs.transA) << op.name;
    ++checked;
  }
  EXPECT_EQ(checked, 2 * 4 + 1); // QKV, proj, FC1, FC2 per layer + tied LM head
  // The forward part is the forward graph, unchanged.
  for (uint32_t i = 0; i < fwd.numOps(); ++i)
    EXPECT_EQ(t.ops()[i].name, fwd.ops()[i].name);
}

TEST(Training, OneOptimizerUpdatePerParameter) {
  Graph fwd = zoo("gpt", tinyGpt());
  for (OptimizerKind k : {OptimizerKind::AdamW, OptimizerKind::AdamWBf16SR, OptimizerKind::Sgd}) {
    Graph t = train(fwd, Recompute::None, k);
    std::set<uint32_t> updated;
    for (const Op &op : t.ops())
      if (op.phase == Phase::Optimizer) {
        EXPECT_TRUE(op.outputs.empty());
        EXPECT_EQ(t.tensor(op.inputs[0]).role, TensorRole::Parameter);
        EXPECT_EQ(t.tensor(op.inputs[1]).shape, t.tensor(op.inputs[0]).shape);
        EXPECT_TRUE(updated.insert(op.inputs[0].v).second);
        EXPECT_EQ(op.kind, k == OptimizerKind::Sgd ? OpKind::SgdUpdate : OpKind::AdamWUpdate);
      }
    EXPECT_EQ(updated.size(), fwd.parameters().size());
    TrainingOptions o;
    o.optimizer = k;
    TrainingMemory m = trainingMemory(t, o);
    double p = double(fwd.parameterCount());
    double perParam = k == OptimizerKind::AdamW ? 12 : k == OptimizerKind::AdamWBf16SR ? 4 : 6;
    EXPECT_DOUBLE_EQ(m.optimizerState, perParam * p);
    EXPECT_DOUBLE_EQ(m.weights, 2 * p);
    EXPECT_DOUBLE_EQ(m.gradients, 2 * p);
  }
}

TEST(Training, GradientsAccumulateOverConsumers) {
  Graph t = train(zoo("gpt", tinyGpt()));
  // The tied embedding: EmbeddingGrad and the LM head's weight gradient are summed.
  const Op *update = nullptr;
  for (const Op &op : t.ops())
    if (op.phase == Phase::Optimizer && t.tensor(op.inputs[0]).name == "embed.word.weight")
      update = &op;
  ASSERT_TRUE(update);
  const Op &sum = t.op(t.tensor(update->inputs[1]).producer);
  EXPECT_EQ(sum.kind, OpKind::Add);
  EXPECT_EQ(sum.phase, Phase::BackwardWeight);
  std::set<OpKind> parts;
  for (TensorId in : sum.inputs)
    parts.insert(t.op(t.tensor(in).producer).kind);
  EXPECT_EQ(parts, (std::set<OpKind>{OpKind::EmbeddingGrad, OpKind::MatMul}));
  // The residual stream: two consumers per block boundary, summed in backward.
  EXPECT_GE(count(t, OpKind::Add, Phase::BackwardData), 2 * 2);
}

TEST(Training, ResNetSkipsTheImageGradient) {
  Graph fwd = zoo("resnet50");
  Graph t = train(fwd);
  int convs = 0;
  for (const Op &op : fwd.ops())
    convs += op.kind == OpKind::Conv2d;
  EXPECT_EQ(convs, 53);
  EXPECT_EQ(count(t, OpKind::Conv2dGradWeight, Phase::BackwardWeight), convs);
  EXPECT_EQ(count(t, OpKind::Conv2dGradInput, Phase::BackwardData), convs - 1);
  EXPECT_EQ(count(t, OpKind::BatchNormGrad, Phase::BackwardData), 53);
  EXPECT_EQ(count(t, OpKind::ActivationGrad, Phase::BackwardData), 49);
  EXPECT_EQ(count(t, OpKind::PoolGrad, Phase::BackwardData), 2);
  EXPECT_EQ(count(t, OpKind::LossGrad, Phase::BackwardData), 1);
  EXPECT_EQ(count(t, OpKind::BiasGrad, Phase::BackwardWeight), 1);
  // Nothing computes a gradient of the images.
  const Shape images = fwd.tensor(fwd.inputs()[0]).shape;
  for (const Op &op : t.ops()) {
    if (op.phase == Phase::BackwardData) {
      EXPECT_NE(t.tensor(op.outputs[0]).shape, images) << op.name;
    }
  }
}

TEST(Training, RecomputeOpsOnlyWithRecompute) {
  Graph fwd = zoo("gpt", tinyGpt());
  int layerOps = 0;
  for (const Op &op : fwd.ops())
    layerOps += op.layer >= 0;
  EXPECT_EQ(countPhase(train(fwd, Recompute::None), Phase::Recompute), 0);
  EXPECT_EQ(countPhase(train(fwd, Recompute::Selective), Phase::Recompute), 0); // flash
  Graph full = train(fwd, Recompute::Full);
  EXPECT_EQ(countPhase(full, Phase::Recompute), layerOps);
  for (const Op &op : full.ops())
    if (op.phase == Phase::Recompute) {
      const Op &f = full.op(op.forwardOf);
      EXPECT_EQ(f.kind, op.kind);
      EXPECT_EQ(f.layer, op.layer);
      EXPECT_NE(f.outputs[0], op.outputs[0]);
    }
  // A layer's recomputation precedes its backward ops.
  std::map<int32_t, size_t> firstBackward, lastRecompute;
  for (size_t i = 0; i < full.numOps(); ++i) {
    const Op &op = full.ops()[i];
    if (op.layer < 0)
      continue;
    if (op.phase == Phase::Recompute)
      lastRecompute[op.layer] = i;
    else if (op.phase != Phase::Forward && op.phase != Phase::Optimizer &&
             !firstBackward.count(op.layer))
      firstBackward[op.layer] = i;
  }
  for (auto [layer, i] : lastRecompute)
    EXPECT_LT(i, firstBackward[layer]) << layer;

  ZooOptions u = tinyGpt();
  u.attention = AttentionImpl::Unfused;
  Graph sel = train(zoo("gpt", u), Recompute::Selective);
  EXPECT_EQ(countPhase(sel, Phase::Recompute), 3 * 2);
  EXPECT_EQ(count(sel, OpKind::Softmax, Phase::Recompute), 2);
  EXPECT_EQ(count(sel, OpKind::MatMul, Phase::Recompute), 2);
  EXPECT_EQ(count(sel, OpKind::Dropout, Phase::Recompute), 2);
  // Backward ops read the recomputed probabilities, not the forward ones.
  for (const Op &op : sel.ops()) {
    if (op.kind == OpKind::SoftmaxGrad) {
      EXPECT_EQ(sel.op(sel.tensor(op.inputs[1]).producer).phase, Phase::Recompute);
    }
  }
}

TEST(Training, TensorParallelCollectivesMapToConjugates) {
  ZooOptions o = tinyGpt();
  o.tp = 2;
  Graph fwd = zoo("gpt", o);
  Graph t = train(fwd);
  for (uint32_t i = 0; i < fwd.numOps(); ++i) {
    const Op &op = fwd.ops()[i];
    std::vector<const Op *> d = derivedFrom(t, OpId{i});
    if (op.kind == OpKind::TpCopy) { // f: identity forward, all-reduce backward
      ASSERT_EQ(d.size(), 1u) << op.name;
      EXPECT_EQ(d[0]->kind, OpKind::AllReduce);
      EXPECT_EQ(d[0]->phase, Phase::BackwardData);
      EXPECT_EQ(d[0]->attrs.group, CommGroup::Tensor);
    }
    if (op.kind == OpKind::AllReduce) { // g: all-reduce forward, identity backward
      EXPECT_TRUE(d.empty()) << op.name;
    }
  }
  EXPECT_EQ(count(t, OpKind::AllReduce, Phase::BackwardData), 2 * 2 + 1);

  o.sequenceParallel = true;
  Graph spf = zoo("gpt", o);
  Graph sp = train(spf);
  EXPECT_EQ(count(sp, OpKind::ReduceScatter, Phase::BackwardData),
            count(sp, OpKind::AllGather, Phase::Forward));
  EXPECT_EQ(count(sp, OpKind::AllGather, Phase::BackwardData),
            count(sp, OpKind::ReduceScatter, Phase::Forward));
  // All-gathered inputs of weight gradients are re-gathered, not saved.
  EXPECT_EQ(count(sp, OpKind::AllGather, Phase::Recompute), 2 * 2 + 1);
  // Replicated parameters' partial gradients are all-reduced once.
  int partial = 0;
  for (TensorId p : spf.parameters())
    partial += spf.tensor(p).partialGradTp;
  EXPECT_GT(partial, 0);
  EXPECT_EQ(count(sp, OpKind::AllReduce, Phase::BackwardWeight), partial);
}

TEST(Training, MatMulTransposesAndBroadcastReductions) {
  Builder b;
  TensorId x = b.tensor("x", {2, 3, 4}, TensorRole::Input);
  TensorId w = b.tensor("w", {5, 4}, TensorRole::Parameter);
  TensorId v = b.tensor("v", {5, 6}, TensorRole::Parameter);
  TensorId bias = b.tensor("bias", {6}, TensorRole::Parameter);
  OpAttrs tb;
  tb.transB = true;
  TensorId y = b.op(OpKind::MatMul, "y", {x, w}, {2, 3, 5}, tb); // x w^T
  TensorId z = b.op(OpKind::MatMul, "z", {y, v}, {2, 3, 6});
  TensorId zb = b.op(OpKind::Add, "zb", {z, bias}, {2, 3, 6});
  TensorId c = b.tensor("c", {2, 3, 6}, TensorRole::Constant);
  TensorId m = b.op(OpKind::Mul, "m", {zb, c}, {2, 3, 6});
  TensorId s = b.op(OpKind::ReduceSum, "s", {m}, {});
  b.g.outputs().push_back(s);
  Graph t = train(b.g);
  std::map<std::string, Shape> gradShape;
  for (const Op &op : t.ops())
    if (op.phase == Phase::Optimizer)
      gradShape[t.tensor(op.inputs[0]).name] = t.tensor(op.inputs[1]).shape;
  EXPECT_EQ(gradShape["w"], (Shape{5, 4}));
  EXPECT_EQ(gradShape["v"], (Shape{5, 6}));
  EXPECT_EQ(gradShape["bias"], (Shape{6}));
  EXPECT_EQ(count(t, OpKind::BiasGrad, Phase::BackwardWeight), 1);
  EXPECT_EQ(count(t, OpKind::ReduceGrad, Phase::BackwardData), 1);
  // No gradient for the input x: y's data gradient feeds only w's weight gradient.
  EXPECT_EQ(count(t, OpKind::MatMul, Phase::BackwardData), 1);
  EXPECT_EQ(count(t, OpKind::MatMul, Phase::BackwardWeight), 2);
}

TEST(Training, NonScalarOutputGetsAnMseLoss) {
  Builder b;
  TensorId x = b.tensor("x", {4, 8}, TensorRole::Input);
  TensorId w = b.tensor("w", {8, 3}, TensorRole::Parameter);
  b.g.outputs().push_back(b.op(OpKind::MatMul, "y", {x, w}, {4, 3}));
  Graph t = train(b.g);
  EXPECT_EQ(count(t, OpKind::MseLoss, Phase::Forward), 1);
  EXPECT_EQ(count(t, OpKind::LossGrad, Phase::BackwardData), 1);
  ASSERT_EQ(t.outputs().size(), 1u);
  EXPECT_EQ(t.tensor(t.outputs()[0]).elements(), 1);
  EXPECT_EQ(t.tensor(t.inputs().back()).name, "target");
  EXPECT_EQ(t.tensor(t.inputs().back()).shape, (Shape{4, 3}));
}

TEST(Training, Errors) {
  Builder none;
  none.tensor("w", {2}, TensorRole::Parameter);
  auto r = buildTrainingGraph(none.g, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "no-loss");

  Builder two;
  TensorId w = two.tensor("w", {2, 2}, TensorRole::Parameter);
  two.g.outputs() = {two.op(OpKind::Relu, "a", {w}, {2, 2}),
                     two.op(OpKind::Tanh, "b", {w}, {2, 2})};
  r = buildTrainingGraph(two.g, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "no-loss");

  Builder bad;
  TensorId p = bad.tensor("p", {2, 2}, TensorRole::Parameter);
  TensorId q = bad.op(OpKind::SoftmaxGrad, "odd", {p, p}, {2, 2}); // no derivative
  bad.g.outputs().push_back(bad.op(OpKind::ReduceSum, "sum", {q}, {}));
  r = buildTrainingGraph(bad.g, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "unsupported-op");
  EXPECT_NE(r.error().message.find("'odd'"), std::string::npos) << r.error().message;
}

TEST(Training, ActivationMemoryMatchesKorthikanti) {
  // GPT-3 175B layer: s = 2048, b = 1, h = 12288, a = 96, 16-bit activations, 1-byte
  // dropout masks, unfused attention (Korthikanti et al. 2022, Table 2 / eq. 1-5).
  const double s = 2048, b = 1, h = 12288, a = 96, sbh = s * b * h;
  struct Case {
    int64_t tp;
    bool sp;
    Recompute rc;
    double expected; // bytes per layer
  } cases[] = {
      {1, false, Recompute::None, sbh * (34 + 5 * a * s / h)},
      {1, false, Recompute::Selective, sbh * 34},
      {1, false, Recompute::Full, sbh * 2},
      {8, false, Recompute::None, sbh * (10 + 24.0 / 8 + 5 * a * s / (h * 8))},
      {8, false, Recompute::Selective, sbh * (10 + 24.0 / 8)},
      {8, true, Recompute::None, sbh * (34 + 5 * a * s / h) / 8},
      {8, true, Recompute::Selective, sbh * 34 / 8},
      {8, true, Recompute::Full, sbh * 2 / 8},
  };
  for (const Case &c : cases) {
    ZooOptions o;
    o.attention = AttentionImpl::Unfused;
    o.tp = c.tp;
    o.sequenceParallel = c.sp;
    TrainingOptions to;
    to.recompute = c.rc;
    Graph t = train(zoo("gpt3-175b", o), c.rc);
    TrainingMemory m = trainingMemory(t, to);
    ASSERT_EQ(m.activationsByLayer.size(), 96u);
    double layer = m.activationsByLayer[48];
    EXPECT_NEAR(layer / c.expected, 1.0, 0.05)
        << "tp " << c.tp << " sp " << c.sp << " recompute " << int(c.rc) << ": " << layer / sbh
        << " sbh vs " << c.expected / sbh;
    double sumLayers = 0;
    for (double x : m.activationsByLayer)
      sumLayers += x;
    EXPECT_NEAR(sumLayers + m.activationsOutsideLayers, m.activations, 1e-6 * m.activations);
    EXPECT_GT(m.peakTransient, 0);
  }
}

TEST(Training, FullRecomputeTransientHoldsALayer) {
  ZooOptions o;
  o.attention = AttentionImpl::Unfused;
  TrainingOptions to;
  to.recompute = Recompute::Full;
  TrainingMemory full = trainingMemory(train(zoo("gpt3-175b", o), Recompute::Full), to);
  to.recompute = Recompute::None;
  TrainingMemory none = trainingMemory(train(zoo("gpt3-175b", o)), to);
  // With full recompute one layer's activations are live at once during its backward.
  double layerSaved = none.activationsByLayer[48];
  EXPECT_GT(full.peakTransient, 0.5 * layerSaved);
  EXPECT_LT(full.peakTransient, 3.0 * layerSaved);
  EXPECT_LT(full.activations + full.peakTransient, 0.2 * none.activations);
}

TEST(Training, Gpt3At8WayTensorParallelism) {
  ZooOptions o;
  o.tp = 8;
  Graph fwd = zoo("gpt3-175b", o);
  double perRank = double(fwd.parameterCount());
  EXPECT_NEAR(perRank * 8 / 175e9, 1.0, 0.01) << perRank;
  // Replicated per rank: norms, row-parallel biases, positions (~0.03 B).
  double whole = double(zoo("gpt3-175b").parameterCount());
  EXPECT_GT(perRank * 8, whole);
  EXPECT_LT(perRank * 8 - whole, 0.3e9);
  TrainingOptions to;
  TrainingMemory m = trainingMemory(train(fwd), to);
  EXPECT_DOUBLE_EQ(m.weights, 2 * perRank); // bf16: ~43.7 GB
  EXPECT_DOUBLE_EQ(m.gradients, 2 * perRank);
  EXPECT_DOUBLE_EQ(m.optimizerState, 12 * perRank); // ~262 GB: why ZeRO / more ranks
  EXPECT_NEAR(m.weights / 1e9, 43.7, 0.5);
}

TEST(Training, EveryZooModelTrainsAndVerifies) {
  for (const std::string &name : zooModelNames()) {
    ZooOptions o;
    if (name == "gpt" || name == "llama")
      o = tinyGpt();
    Graph fwd = zoo(name, o);
    for (Recompute rc : {Recompute::None, Recompute::Selective, Recompute::Full}) {
      Graph t = train(fwd, rc); // verifies
      GraphCost c = graphCost(t);
      EXPECT_GT(c.flopsByPhase[size_t(Phase::BackwardData)], 0) << name;
      EXPECT_GT(c.flopsByPhase[size_t(Phase::BackwardWeight)], 0) << name;
      // A training step costs about three forward passes (four with full recompute).
      double ratio = c.flops / c.flopsByPhase[size_t(Phase::Forward)];
      EXPECT_GT(ratio, rc == Recompute::Full ? 3.5 : 2.7) << name;
      EXPECT_LT(ratio, rc == Recompute::Full ? 4.3 : 3.3) << name;
    }
  }
}

TEST(Training, BuildIsDeterministic) {
  ZooOptions o = tinyGpt();
  o.tp = 2;
  o.sequenceParallel = true;
  o.attention = AttentionImpl::Unfused;
  Graph fwd = zoo("gpt", o);
  Graph a = train(fwd, Recompute::Selective), b = train(fwd, Recompute::Selective);
  ASSERT_EQ(a.numOps(), b.numOps());
  for (size_t i = 0; i < a.numOps(); ++i) {
    EXPECT_EQ(a.ops()[i].name, b.ops()[i].name);
    EXPECT_EQ(a.ops()[i].inputs, b.ops()[i].inputs);
    EXPECT_EQ(a.ops()[i].outputs, b.ops()[i].outputs);
  }
}
