#include "perf/Estimate.h"
#include "perf/Validation.h"

#include <gtest/gtest.h>

using namespace tessera;
using namespace tessera::perf;
using workload::Recompute;

namespace {
EstimateRequest gpt3(int64_t tp, int64_t pp, int64_t gpus, int64_t globalBatch) {
  EstimateRequest r;
  r.workload = "gpt3-175b";
  r.zoo.batch = 1;
  r.zoo.tp = tp;
  r.zoo.sequenceParallel = tp > 1;
  r.zoo.vocab = 51200;
  r.training.recompute = Recompute::Selective;
  r.parallel.devices = gpus;
  r.parallel.tp = tp;
  r.parallel.pp = pp;
  r.parallel.sequenceParallel = tp > 1;
  r.parallel.microBatch = 1;
  r.parallel.globalBatch = globalBatch;
  return r;
}
GpuModel a100() { return GpuModel(*gpuByName("a100")); }
} // namespace

// GPT-3 175B at TP 8 / PP 8: the stage holding the embedding has 1/64 of the transformer
// layers' parameters plus a vocab-parallel shard of the embedding.
TEST(TrainingModel, Gpt3ParamsAndMemoryPerGpuAtTp8Pp8) {
  auto e = estimateWorkload(a100(), gpt3(8, 8, 512, 512));
  ASSERT_TRUE(e.ok()) << e.error().render();
  const double h = 12288, layers = 96, vocab = 51200, seq = 2048;
  double layerParams = 12 * h * h + 13 * h; // QKV, proj, FC1, FC2 + biases and norms
  double stageParams = layerParams * layers / 64 + vocab * h / 8 + seq * h;
  EXPECT_NEAR(e->memory.weights / (2 * stageParams), 1.0, 0.03);
  EXPECT_DOUBLE_EQ(e->memory.gradients, e->memory.weights);
  // AdamW with FP32 master weights and moments: 12 bytes per parameter.
  EXPECT_NEAR(e->memory.optimizerState / e->memory.weights, 6.0, 0.01);
  // Selective recomputation with sequence parallelism: 34 s b h / t bytes per layer
  // (Korthikanti et al.), 12 layers per stage, 8 micro-batches in flight on stage 0.
  double act = 34 * seq * 1 * h / 8 * 12 * 8;
  EXPECT_NEAR(e->memory.activations / act, 1.0, 0.15);
  EXPECT_LT(e->memory.total(), e->memoryCapacity);
}

TEST(TrainingModel, PipelineBubbleFollowsOneFOneB) {
  // Same per-GPU work with and without a pipeline: the bubble is (p - 1) stage times.
  auto e = estimateWorkload(a100(), gpt3(8, 8, 64, 64));
  ASSERT_TRUE(e.ok()) << e.error().render();
  EXPECT_EQ(e->microBatches, 64);
  double perMicro = (e->iterationSeconds - e->bubbleSeconds - e->dpCommSeconds -
                     e->optimizerSeconds) / 64.0;
  EXPECT_NEAR(e->bubbleSeconds / (7 * perMicro), 1.0, 0.10);
  auto inter = [&] {
    EstimateRequest r = gpt3(8, 8, 64, 64);
    r.parallel.ppInterleave = 2;
    return estimateWorkload(a100(), r);
  }();
  ASSERT_TRUE(inter.ok()) << inter.error().render();
  EXPECT_LT(inter->bubbleSeconds, 0.6 * e->bubbleSeconds);
}

TEST(TrainingModel, A800IsSlowerOnlyWhereNvlinkMatters) {
  GpuModel a800(*gpuByName("a800"));
  auto tp = estimateWorkload(a100(), gpt3(8, 8, 512, 512));
  auto tp800 = estimateWorkload(a800, gpt3(8, 8, 512, 512));
  ASSERT_TRUE(tp.ok() && tp800.ok());
  EXPECT_GT(tp800->tpCommSeconds, 1.25 * tp->tpCommSeconds); // 300 vs 200 GB/s, plus latency
  EXPECT_DOUBLE_EQ(tp800->computeSeconds, tp->computeSeconds);
}

TEST(TrainingModel, SameInputSameBytes) {
  auto a = estimateWorkload(a100(), gpt3(8, 8, 512, 512));
  auto b = estimateWorkload(a100(), gpt3(8, 8, 512, 512));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(estimateJson(*a, "gpt3").dump(), estimateJson(*b, "gpt3").dump());
  EXPECT_EQ(renderEstimate(*a, "gpt3"), renderEstimate(*b, "gpt3"));
}

TEST(TrainingModel, ErrorsAreLocatedAndSpecific) {
  auto oom = estimateWorkload(a100(), gpt3(1, 1, 1, 1));
  ASSERT_FALSE(oom.ok());
  EXPECT_EQ(oom.error().id, "out-of-memory");
  auto heads = estimateWorkload(a100(), gpt3(7, 1, 7, 7));
  ASSERT_FALSE(heads.ok());
  EXPECT_EQ(heads.error().id, "bad-parallelism");
  auto split = estimateWorkload(a100(), gpt3(8, 8, 100, 100));
  ASSERT_FALSE(split.ok());
  EXPECT_NE(split.error().message.find("100"), std::string::npos);
  EstimateRequest zero = gpt3(8, 8, 512, 512);
  zero.parallel.zeroStage = 4;
  EXPECT_FALSE(estimateWorkload(a100(), zero).ok());
}

TEST(TrainingModel, MegatronOneTrillionWithinTenPercent) {
  auto results = runValidation(gpuValidationPoints());
  int checked = 0;
  for (const auto &r : results) {
    EXPECT_TRUE(r.pass) << r.point.label << ": model " << r.model << " published "
                        << r.point.reference << " " << r.failure;
    checked++;
  }
  EXPECT_GE(checked, 20);
}
