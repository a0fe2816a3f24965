//===- EstimateBench.cpp - speed of the GPU / training-step model ----------------===//
//
// Target (issue 2): estimating a GPT-3-175B training iteration takes well under 1 s,
// graph construction and autodiff included.
//
//===----------------------------------------------------------------------===//
#include "perf/Estimate.h"

#include <benchmark/benchmark.h>

using namespace tessera;
using namespace tessera::perf;

static EstimateRequest gpt3Request() {
  EstimateRequest r;
  r.workload = "gpt3-175b";
  r.zoo.batch = 1;
  r.zoo.tp = 8;
  r.training.recompute = workload::Recompute::Selective;
  r.parallel.devices = 1024;
  r.parallel.tp = 8;
  r.parallel.pp = 8;
  r.parallel.microBatch = 1;
  r.parallel.globalBatch = 1536;
  return r;
}

static void BM_EstimateGpt3_175B(benchmark::State &state) {
  GpuModel gpu(*gpuByName("a800"));
  EstimateRequest req = gpt3Request();
  for (auto _ : state) {
    auto e = estimateWorkload(gpu, req);
    if (!e) {
      state.SkipWithError(e.error().headline().c_str());
      return;
    }
    benchmark::DoNotOptimize(e->iterationSeconds);
  }
}
BENCHMARK(BM_EstimateGpt3_175B)->Unit(benchmark::kMillisecond);

static void BM_GemmModel(benchmark::State &state) {
  GpuModel gpu(*gpuByName("a100"));
  workload::GemmShape s;
  s.k = 12288;
  s.n = 12288;
  int64_t m = 64;
  for (auto _ : state) {
    s.m = m;
    benchmark::DoNotOptimize(gpu.gemm(s, workload::DType::F16).seconds);
    m = m >= 32768 ? 64 : m * 2;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GemmModel);
