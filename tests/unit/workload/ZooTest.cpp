//===- ZooTest.cpp - model zoo: parameter counts, layout, errors ------------===//
#include "workload/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace tessera::workload;

namespace {

Graph build(const std::string &name, ZooOptions o = {}) {
  auto g = buildZooModel(name, o);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  return g.ok() ? std::move(g).value() : Graph();
}

tessera::Diagnostic buildError(const std::string &name, ZooOptions o = {}) {
  auto g = buildZooModel(name, o);
  EXPECT_FALSE(g.ok());
  return g.ok() ? tessera::Diagnostic() : g.error();
}

const Op *findOp(const Graph &g, const std::string &name) {
  for (const Op &op : g.ops())
    if (op.name == name)
      return &op;
  return nullptr;
}

int countKind(const Graph &g, OpKind k) {
  int n = 0;
  for (const Op &op : g.ops())
    n += op.kind == k;
  return n;
}

ZooOptions tiny() {
  ZooOptions o;
  o.hidden = 64;
  o.heads = 4;
  o.layers = 2;
  o.seq = 16;
  o.vocab = 128;
  return o;
}

} // namespace

TEST(Zoo, ParameterCountsMatchPublished) {
  struct Case {
    const char *name;
    double published;
  } cases[] = {
      {"gpt2", 124.44e6}, // HF GPT2LMHeadModel, tied
      {"gpt2-medium", 354.82e6}, {"gpt2-large", 774.03e6},
      {"gpt2-xl", 1557.6e6},     {"gpt3-175b", 175e9}, // Brown et al. 2020
      {"llama2-7b", 6.738e9},                          // Touvron et al. 2023: 6,738,415,616
      {"bert-large", 335e6},                           // with the MLM head (no pooler): 335.17M
      {"resnet50", 25.557032e6}, {"vit-b16", 86.567656e6},
  };
  for (const Case &c : cases) {
    Graph g = build(c.name);
    double n = double(g.parameterCount());
    EXPECT_NEAR(n / c.published, 1.0, 0.01) << c.name << ": " << n;
    EXPECT_TRUE(g.verify().ok()) << c.name;
  }
  // Exact where the model has a canonical implementation.
  EXPECT_EQ(build("gpt2").parameterCount(), 124439808);
  EXPECT_EQ(build("llama2-7b").parameterCount(), 6738415616);
  EXPECT_EQ(build("resnet50").parameterCount(), 25557032);
  EXPECT_EQ(build("vit-b16").parameterCount(), 86567656);
}

TEST(Zoo, EveryModelHasAScalarLossAndVerifies) {
  for (const std::string &name : zooModelNames()) {
    ZooOptions o;
    if (name == "gpt" || name == "llama")
      o = tiny();
    Graph g = build(name, o);
    ASSERT_EQ(g.outputs().size(), 1u) << name;
    EXPECT_EQ(g.tensor(g.outputs()[0]).elements(), 1) << name;
    EXPECT_TRUE(g.verify().ok()) << name;
  }
  EXPECT_EQ(zooModels().size(), zooModelNames().size());
}

TEST(Zoo, LayersAreMarked) {
  Graph g = build("gpt2");
  EXPECT_EQ(g.numLayers(), 12);
  EXPECT_EQ(findOp(g, "embed.word")->layer, -1);
  EXPECT_EQ(findOp(g, "loss")->layer, -1);
  EXPECT_EQ(findOp(g, "final.ln")->layer, -1);
  EXPECT_EQ(findOp(g, "layer5.attn.qkv")->layer, 5);
  EXPECT_EQ(findOp(g, "layer11.mlp.residual")->layer, 11);
  for (const Op &op : g.ops()) {
    if (op.name.rfind("layer", 0) == 0) {
      EXPECT_GE(op.layer, 0) << op.name;
    }
  }
  EXPECT_EQ(build("resnet50").numLayers(), 16);
  EXPECT_EQ(build("vit-b16").numLayers(), 12);
}

TEST(Zoo, GptTiesTheLmHeadToTheEmbedding) {
  Graph g = build("gpt2");
  const Op *emb = findOp(g, "embed.word");
  const Op *head = findOp(g, "head.logits");
  ASSERT_TRUE(emb && head);
  EXPECT_EQ(head->inputs[1], emb->inputs[0]);
  EXPECT_TRUE(head->attrs.transB);
  // Llama's output projection is its own weight.
  Graph l = build("llama2-7b");
  EXPECT_NE(findOp(l, "head.logits")->inputs[1], findOp(l, "embed.word")->inputs[0]);
  EXPECT_EQ(countKind(l, OpKind::RMSNorm), 65);
  EXPECT_EQ(countKind(l, OpKind::Rope), 64);
  EXPECT_EQ(countKind(l, OpKind::Dropout), 0);
}

TEST(Zoo, UnfusedAttentionHasTheMegatronLayout) {
  ZooOptions o;
  o.attention = AttentionImpl::Unfused;
  Graph g = build("gpt2", o);
  EXPECT_EQ(countKind(g, OpKind::Attention), 0);
  const Op *sm = findOp(g, "layer0.attn.softmax");
  ASSERT_TRUE(sm);
  EXPECT_EQ(g.tensor(sm->outputs[0]).shape, (Shape{1, 12, 1024, 1024}));
  EXPECT_TRUE(sm->attrs.causal);
  EXPECT_NEAR(sm->attrs.scale, 1.0 / 8.0, 1e-12);
  EXPECT_TRUE(findOp(g, "layer0.attn.probs-dropout"));
  EXPECT_EQ(opName(findOp(g, "layer0.attn.pv")->kind), "matmul");
  // Fused: one op per layer with the per-rank heads.
  Graph f = build("gpt2");
  EXPECT_EQ(countKind(f, OpKind::Attention), 12);
  EXPECT_EQ(findOp(f, "layer0.attn.core")->attrs.heads, 12);
}

TEST(Zoo, DropoutZeroRemovesDropout) {
  ZooOptions o;
  EXPECT_EQ(countKind(build("gpt2", o), OpKind::Dropout), 1 + 12 * 2);
  o.dropout = 0;
  EXPECT_EQ(countKind(build("gpt2", o), OpKind::Dropout), 0);
}

TEST(Zoo, TensorParallelShardsLikeMegatron) {
  ZooOptions o;
  o.tp = 8;
  Graph g = build("gpt3-175b", o);
  // Vocab 50257 padded to a multiple of 128*8 = 1024: 51200, 6400 rows per rank.
  EXPECT_EQ(g.tensor(findOp(g, "embed.word")->inputs[0]).shape, (Shape{6400, 12288}));
  EXPECT_EQ(g.tensor(findOp(g, "layer0.attn.qkv")->inputs[1]).shape, (Shape{12288, 4608}));
  EXPECT_EQ(g.tensor(findOp(g, "layer0.attn.proj")->inputs[1]).shape, (Shape{1536, 12288}));
  EXPECT_EQ(g.tensor(findOp(g, "layer0.mlp.fc1")->inputs[1]).shape, (Shape{12288, 6144}));
  EXPECT_EQ(findOp(g, "layer0.attn.core")->attrs.heads, 12);
  // Per layer: f before QKV and FC1, g after proj and FC2; plus embedding g and head f.
  EXPECT_EQ(countKind(g, OpKind::TpCopy), 96 * 2 + 1);
  EXPECT_EQ(countKind(g, OpKind::AllReduce), 96 * 2 + 1);
  EXPECT_EQ(countKind(g, OpKind::AllGather), 0);
  EXPECT_EQ(findOp(g, "layer0.attn.proj.all-reduce")->attrs.group, CommGroup::Tensor);
  EXPECT_EQ(findOp(g, "loss")->attrs.group, CommGroup::Tensor);
  // The bias of a row-parallel layer is added after the all-reduce.
  const Op *bias = findOp(g, "layer0.attn.proj.bias-add");
  EXPECT_EQ(&g.op(g.tensor(bias->inputs[0]).producer), findOp(g, "layer0.attn.proj.all-reduce"));
}

TEST(Zoo, SequenceParallelShardsTokens) {
  ZooOptions o;
  o.tp = 8;
  o.sequenceParallel = true;
  Graph g = build("gpt3-175b", o);
  EXPECT_EQ(countKind(g, OpKind::TpCopy), 0);
  EXPECT_EQ(countKind(g, OpKind::AllGather), 96 * 2 + 1);
  EXPECT_EQ(countKind(g, OpKind::ReduceScatter), 96 * 2 + 1);
  EXPECT_EQ(g.tensor(findOp(g, "layer3.ln1")->outputs[0]).shape, (Shape{1, 256, 12288}));
  EXPECT_EQ(g.tensor(findOp(g, "layer3.attn.all-gather")->outputs[0]).shape,
            (Shape{1, 2048, 12288}));
  // Replicated weights see only their tokens: their gradients are partial sums.
  for (TensorId p : g.parameters()) {
    const Tensor &t = g.tensor(p);
    bool replicated =
        t.name.find(".ln") != std::string::npos || t.name.find("proj.bias") != std::string::npos;
    if (replicated) {
      EXPECT_TRUE(t.partialGradTp) << t.name;
    }
    if (t.name.find("qkv.weight") != std::string::npos) {
      EXPECT_FALSE(t.partialGradTp) << t.name;
    }
  }
}

TEST(Zoo, OverridesAndGenericShapes) {
  ZooOptions o = tiny();
  o.batch = 3;
  Graph g = build("gpt", o);
  EXPECT_EQ(g.numLayers(), 2);
  EXPECT_EQ(g.tensor(findOp(g, "embed.word")->outputs[0]).shape, (Shape{3, 16, 64}));
  EXPECT_EQ(g.tensor(findOp(g, "layer0.mlp.fc1")->inputs[1]).shape, (Shape{64, 256}));
  // Llama's FFN rule: 2/3 * 4h rounded up to 256.
  ZooOptions l;
  l.hidden = 4096;
  l.heads = 32;
  l.layers = 1;
  l.seq = 128;
  Graph lg = build("llama", l);
  EXPECT_EQ(lg.tensor(findOp(lg, "layer0.mlp.gate")->inputs[1]).shape, (Shape{4096, 11008}));
  // Named models take overrides too.
  ZooOptions s;
  s.layers = 2;
  s.seq = 128;
  EXPECT_EQ(build("gpt2", s).numLayers(), 2);
  s.dtype = DType::F16;
  EXPECT_EQ(build("gpt2", s).tensor(TensorId{0}).dtype, DType::I64); // token ids
  EXPECT_EQ(build("bert-large", s).tensor(build("bert-large", s).parameters()[0]).dtype,
            DType::F16);
}

TEST(Zoo, BuildIsDeterministic) {
  ZooOptions o;
  o.tp = 2;
  o.sequenceParallel = true;
  Graph a = build("llama2-7b", o), b = build("llama2-7b", o);
  ASSERT_EQ(a.numOps(), b.numOps());
  ASSERT_EQ(a.numTensors(), b.numTensors());
  for (size_t i = 0; i < a.numOps(); ++i) {
    EXPECT_EQ(a.ops()[i].name, b.ops()[i].name);
    EXPECT_EQ(a.ops()[i].inputs, b.ops()[i].inputs);
  }
}

TEST(Zoo, UnknownWorkloadSuggests) {
  auto d = buildError("gtp2");
  EXPECT_EQ(d.id, "unknown-workload");
  EXPECT_NE(d.message.find("did you mean 'gpt2'"), std::string::npos) << d.message;
  auto far = buildError("alexnet");
  EXPECT_EQ(far.id, "unknown-workload");
  EXPECT_EQ(far.message.find("did you mean"), std::string::npos);
  ASSERT_FALSE(far.notes.empty());
  EXPECT_NE(far.notes[0].message.find("resnet50"), std::string::npos);
}

TEST(Zoo, ParallelismErrors) {
  ZooOptions o;
  o.tp = 7;
  auto d = buildError("gpt3-175b", o);
  EXPECT_EQ(d.id, "bad-parallelism");
  EXPECT_EQ(d.message, "tensor-parallel degree 7 does not divide 96 attention heads");

  ZooOptions f = tiny();
  f.heads = 8;
  f.ffn = 100;
  f.tp = 8;
  d = buildError("gpt", f);
  EXPECT_EQ(d.id, "bad-parallelism");
  EXPECT_NE(d.message.find("FFN size 100"), std::string::npos) << d.message;

  ZooOptions v = tiny();
  v.vocab = 130;
  v.tp = 4;
  d = buildError("gpt", v);
  EXPECT_EQ(d.id, "bad-parallelism");
  EXPECT_NE(d.message.find("vocabulary size 130"), std::string::npos) << d.message;

  ZooOptions sp;
  sp.sequenceParallel = true;
  d = buildError("gpt2", sp);
  EXPECT_EQ(d.id, "bad-parallelism");
  EXPECT_NE(d.message.find("sequence parallelism"), std::string::npos);

  ZooOptions r;
  r.tp = 2;
  EXPECT_EQ(buildError("resnet50", r).id, "bad-parallelism");
}

TEST(Zoo, ShapeErrors) {
  ZooOptions o = tiny();
  o.hidden = 100;
  o.heads = 3;
  auto d = buildError("gpt", o);
  EXPECT_EQ(d.id, "bad-shape");
  EXPECT_EQ(d.message, "hidden size 100 is not divisible by 3 attention heads");

  ZooOptions b;
  b.batch = 0;
  EXPECT_EQ(buildError("gpt2", b).id, "bad-shape");
  ZooOptions n = tiny();
  n.layers = -1;
  EXPECT_EQ(buildError("gpt", n).id, "bad-shape");
  EXPECT_EQ(buildError("gpt").id, "bad-shape"); // generic shape without sizes
  ZooOptions s;
  s.seq = 2048;
  d = buildError("gpt2", s);
  EXPECT_EQ(d.id, "bad-shape");
  EXPECT_NE(d.message.find("1024 learned positions"), std::string::npos);
  EXPECT_EQ(buildError("resnet50", s).id, "bad-option");
}
