//===- LossScaleTest.cpp - dynamic loss scaling of training programs ------------===//
#include "compiler/LossScale.h"

#include "CompilerTestUtil.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace tessera;
using namespace tessera::compiler;
using namespace tessera::compiler::testutil;
using workload::Graph;
using workload::OpKind;
using workload::TensorId;
using workload::TensorRole;

namespace {

/// x [8,16] -> matmul w1 [16,32] -> add b1 -> relu -> matmul w2 [32,8] -> y.
Graph mlp(Initializers &init) {
  Graph g("ls-mlp");
  TensorId x = tensor(g, "x", {8, 16}, TensorRole::Input);
  TensorId w1 = tensor(g, "w1", {16, 32}, TensorRole::Parameter);
  TensorId b1 = tensor(g, "b1", {32}, TensorRole::Parameter);
  TensorId w2 = tensor(g, "w2", {32, 8}, TensorRole::Parameter);
  TensorId h = tensor(g, "h", {8, 32}, TensorRole::Activation);
  TensorId hb = tensor(g, "hb", {8, 32}, TensorRole::Activation);
  TensorId hr = tensor(g, "hr", {8, 32}, TensorRole::Activation);
  TensorId y = tensor(g, "y", {8, 8}, TensorRole::Activation);
  op(g, OpKind::MatMul, "fc1", {x, w1}, {h});
  op(g, OpKind::Add, "fc1.bias", {h, b1}, {hb});
  op(g, OpKind::Relu, "relu", {hb}, {hr});
  op(g, OpKind::MatMul, "fc2", {hr, w2}, {y});
  g.inputs() = {x};
  g.outputs() = {y};
  init.values[w1.v] = randomVec(16 * 32, 31, 0.5f);
  init.values[b1.v] = randomVec(32, 32, 0.5f);
  init.values[w2.v] = randomVec(32 * 8, 33, 0.5f);
  return g;
}

Program build(const Graph &g, const Initializers &init, Policy policy, LossScaleOptions ls,
              const char *arch = "tessera-train-7nm.yaml") {
  CompileOptions opts;
  opts.train = true;
  opts.policy = policy;
  opts.lossScale = ls;
  auto p = compile(g, init, loadArch(arch), opts);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().render());
  return p.ok() ? std::move(*p) : Program{};
}

LossScaleOptions mode(LossScaleMode m, double init = 65536.0, uint32_t interval = 2000) {
  LossScaleOptions o;
  o.mode = m;
  o.init = init;
  o.interval = interval;
  return o;
}

/// Bytes of every parameter, optimizer state, gradient and loss tensor.
std::vector<uint8_t> trainedBytes(const runtime::Runtime &rt) {
  std::vector<uint8_t> out;
  for (DramRole role : {DramRole::Parameter, DramRole::State, DramRole::Gradient, DramRole::Loss})
    for (const std::string &n : rt.tensorsOf(role)) {
      const DramTensor *t = rt.program().find(n);
      out.insert(out.end(), rt.dram().begin() + t->address,
                 rt.dram().begin() + t->address + t->bytes);
    }
  return out;
}

std::vector<uint8_t> persistentBytes(const runtime::Runtime &rt) {
  std::vector<uint8_t> out;
  for (DramRole role : {DramRole::Parameter, DramRole::State})
    for (const std::string &n : rt.tensorsOf(role)) {
      const DramTensor *t = rt.program().find(n);
      out.insert(out.end(), rt.dram().begin() + t->address,
                 rt.dram().begin() + t->address + t->bytes);
    }
  return out;
}

} // namespace

TEST(LossScale, ParsesTheFlag) {
  LossScaleOptions o;
  ASSERT_TRUE(parseLossScale("dynamic", o));
  EXPECT_EQ(o.mode, LossScaleMode::Dynamic);
  ASSERT_TRUE(parseLossScale("off", o));
  EXPECT_EQ(o.mode, LossScaleMode::Off);
  ASSERT_TRUE(parseLossScale("1024", o));
  EXPECT_EQ(o.mode, LossScaleMode::Fixed);
  EXPECT_EQ(o.init, 1024.0);
  EXPECT_FALSE(parseLossScale("0", o));
  EXPECT_FALSE(parseLossScale("-2", o));
  EXPECT_FALSE(parseLossScale("1e400", o));
  EXPECT_FALSE(parseLossScale("fixed", o));
  EXPECT_FALSE(parseLossScale("12x", o));
  EXPECT_EQ(resolveLossScale(LossScaleOptions{}, "fp32", true), LossScaleMode::Off);
  EXPECT_EQ(resolveLossScale(LossScaleOptions{}, "bf16", true), LossScaleMode::Dynamic);
  EXPECT_EQ(resolveLossScale(LossScaleOptions{}, "mxfp8", false), LossScaleMode::Off);
}

TEST(LossScale, HostUpdateFollowsGradScaler) {
  LossScaleOptions o = mode(LossScaleMode::Dynamic, 65536.0, 3);
  LossScaleState s;
  s.scale = o.init;
  updateLossScale(o, o.mode, s, false);
  updateLossScale(o, o.mode, s, false);
  EXPECT_EQ(s.scale, 65536.0);
  updateLossScale(o, o.mode, s, true); // resets the run of clean steps
  EXPECT_EQ(s.scale, 32768.0);
  EXPECT_EQ(s.skippedSteps, 1u);
  for (int i = 0; i < 3; ++i)
    updateLossScale(o, o.mode, s, false);
  EXPECT_EQ(s.scale, 65536.0);
  LossScaleState f;
  f.scale = 8;
  updateLossScale(o, LossScaleMode::Fixed, f, true);
  EXPECT_EQ(f.scale, 8.0);
  EXPECT_EQ(f.skippedSteps, 1u);
}

// With S a power of two and no overflow or underflow, scaling commutes with every
// rounding of the backward pass: three steps give the same bytes as the unscaled program.
TEST(LossScale, PowerOfTwoScaleIsBitIdentical) {
  Initializers init;
  Graph g = mlp(init);
  auto x = randomVec(8 * 16, 41), t = randomVec(8 * 8, 42);
  struct Case {
    Policy policy;
    const char *arch;
  };
  for (Case c : {Case{Policy::Fp32, "tessera-train-7nm.yaml"},
                 Case{Policy::Bf16, "tessera-train-7nm.yaml"},
                 Case{Policy::Mxfp8, "tessera-train-7nm.yaml"},
                 Case{Policy::Bf16, "small-test.yaml"}}) {
    SCOPED_TRACE(std::string(policyName(c.policy)) + " " + c.arch);
    Program off = build(g, init, c.policy, mode(LossScaleMode::Off), c.arch);
    Program on = build(g, init, c.policy, mode(LossScaleMode::Dynamic, 65536.0, 2), c.arch);
    EXPECT_EQ(off.lossScale.mode, LossScaleMode::Off);
    EXPECT_EQ(on.lossScale.mode, LossScaleMode::Dynamic);
    runtime::Runtime a = load(std::move(off)), b = load(std::move(on));
    for (runtime::Runtime *rt : {&a, &b}) {
      ASSERT_TRUE(rt->write("x", x).ok());
      ASSERT_TRUE(rt->write("target", t).ok());
    }
    for (int step = 1; step <= 3; ++step) {
      auto ra = a.run(runtime::Backend::Golden);
      auto rb = b.run(runtime::Backend::Golden);
      ASSERT_TRUE(ra.ok() && rb.ok());
      EXPECT_FALSE(rb->skipped);
      EXPECT_EQ(rb->lossScale, step == 3 ? 131072.0 : 65536.0); // grows after 2 clean steps
      EXPECT_EQ(trainedBytes(a), trainedBytes(b)) << "step " << step;
    }
    EXPECT_EQ(b.lossScale(), 131072.0);
    EXPECT_EQ(b.skippedSteps(), 0u);
    EXPECT_EQ(b.stepsDone(), 3u);
  }
}

TEST(LossScale, DefaultsByPolicy) {
  Initializers init;
  Graph g = mlp(init);
  EXPECT_EQ(build(g, init, Policy::Fp32, {}).lossScale.mode, LossScaleMode::Off);
  Program p = build(g, init, Policy::Mxfp8, {});
  EXPECT_EQ(p.lossScale.mode, LossScaleMode::Dynamic);
  EXPECT_EQ(p.lossScale.init, 65536.0);
  EXPECT_EQ(p.lossScale.interval, 2000u);
  EXPECT_NE(p.find(std::string(kLossScaleStatus)), nullptr);
  bool sawStat = false;
  for (const accel::Instruction &i : p.code)
    sawStat |= i.op == accel::Opcode::StStat;
  EXPECT_TRUE(sawStat);
}

// An overflow (a huge scale, or an Inf in the input) skips the update: parameters and
// moments keep their bytes, the step count stays, S halves.
TEST(LossScale, OverflowSkipsTheStepAndBacksOff) {
  Initializers init;
  Graph g = mlp(init);
  auto x = randomVec(8 * 16, 41), t = randomVec(8 * 8, 42);
  runtime::Runtime rt = load(build(g, init, Policy::Bf16, mode(LossScaleMode::Dynamic)));
  ASSERT_TRUE(rt.write("x", x).ok());
  ASSERT_TRUE(rt.write("target", t).ok());
  ASSERT_TRUE(rt.run(runtime::Backend::Golden).ok()); // one clean step: moments non-zero
  const auto before = persistentBytes(rt);
  // (y - t) * S with |y - t| >= 2 and S = 2^127 is beyond FP32.
  auto far = t;
  far[0] = 8.0f;
  ASSERT_TRUE(rt.write("target", far).ok());
  rt.setLossScale(0x1p127);
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(rt.write("target", t).ok());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->skipped);
  EXPECT_EQ(r->step, 2u);
  EXPECT_EQ(persistentBytes(rt), before);
  EXPECT_EQ(rt.lossScale(), 0x1p126);
  EXPECT_EQ(rt.skippedSteps(), 1u);
  EXPECT_EQ(rt.stepsDone(), 1u);
  // An Inf in the input.
  rt.setLossScale(1024.0);
  auto bad = x;
  bad[5] = std::numeric_limits<float>::infinity();
  ASSERT_TRUE(rt.write("x", bad).ok());
  auto r2 = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->skipped);
  EXPECT_EQ(persistentBytes(rt), before);
  EXPECT_EQ(rt.lossScale(), 512.0);
  EXPECT_EQ(rt.skippedSteps(), 2u);
  // Clean data again: the step runs as step 2.
  ASSERT_TRUE(rt.write("x", x).ok());
  auto r3 = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(r3->skipped);
  EXPECT_EQ(r3->step, 2u);
  EXPECT_NE(persistentBytes(rt), before);
}

// Gradients stay FP32 in DRAM, but FP32 / the vector unit flush subnormals: a loss
// gradient (x - t) * 2/N below 2^-126 is flushed to 0 without scaling, and the weight
// gradient it feeds (normal again after the batch sum) is lost. With S = 2^16 it is kept.
TEST(LossScale, ScalingKeepsGradientsThatUnderflow) {
  Graph g("ls-tiny");
  TensorId x = tensor(g, "x", {16, 8}, TensorRole::Input);
  TensorId w = tensor(g, "w", {8, 4}, TensorRole::Parameter);
  TensorId y = tensor(g, "y", {16, 4}, TensorRole::Activation);
  op(g, OpKind::MatMul, "fc", {x, w}, {y});
  g.inputs() = {x};
  g.outputs() = {y};
  Initializers init;
  init.values[w.v] = std::vector<float>(32, 0.0f);
  std::vector<float> xs(16 * 8), ts(16 * 4, -2e-37f); // y = 0: dy = 2e-37 * 2/64
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = 1.0f + float(i % 7) / 8.0f;
  std::vector<float> ref(32, 0.0f); // dW = x^T dy in double
  for (int k = 0; k < 8; ++k)
    for (int n = 0; n < 4; ++n) {
      double s = 0;
      for (int b = 0; b < 16; ++b)
        s += double(xs[size_t(b * 8 + k)]) * 2e-37 * 2.0 / 64.0;
      ref[size_t(k * 4 + n)] = float(s);
    }
  std::vector<float> got[2];
  for (int scaled = 0; scaled < 2; ++scaled) {
    runtime::Runtime rt = load(build(g, init, Policy::Fp32,
                                     scaled ? mode(LossScaleMode::Fixed, 65536.0)
                                            : mode(LossScaleMode::Off)));
    ASSERT_TRUE(rt.write("x", xs).ok());
    ASSERT_TRUE(rt.write("target", ts).ok());
    auto r = rt.run(runtime::Backend::Golden);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->skipped);
    auto gw = rt.gradient("w");
    ASSERT_TRUE(gw.ok());
    got[scaled] = *gw;
  }
  for (float v : got[0])
    EXPECT_EQ(v, 0.0f); // flushed without scaling
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_GT(std::fabs(ref[i]), 0x1p-126f);
    EXPECT_NEAR(got[1][i], ref[i], std::fabs(ref[i]) * 1e-5);
  }
}
