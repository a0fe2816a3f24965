//===- AccelBench.cpp - speed of the accelerator model ---------------------------===//
//
// `tessera explore` evaluates 1000+ designs, each a fresh AccelModel on the same
// workload, so two rates matter (docs/accel-model.md records them):
//  * mapper searches per second (a GEMM shape not yet in the model's cache);
//  * one GPT-3-175B training iteration (TP 8, PP 8, ~10k ops) on a model whose mapper
//    cache already holds the iteration's shapes: target a few milliseconds.
//
//===----------------------------------------------------------------------===//
#include "perf/AccelModel.h"
#include "perf/Estimate.h"

#include <benchmark/benchmark.h>

using namespace tessera;
using namespace tessera::perf;

namespace {

const std::string kSource = TESSERA_SOURCE_DIR;

arch::ArchSpec trainSpec() {
  auto s = arch::loadArchSpec(kSource + "/examples/arch/tessera-train-7nm.yaml");
  return s.ok() ? *s : arch::ArchSpec{};
}

EstimateRequest gpt3Request() {
  EstimateRequest r;
  r.workload = "gpt3-175b";
  r.zoo.batch = 1;
  r.zoo.tp = 8;
  r.zoo.sequenceParallel = true;
  r.training.recompute = workload::Recompute::Selective;
  r.parallel.devices = 1024;
  r.parallel.tp = 8;
  r.parallel.pp = 8;
  r.parallel.sequenceParallel = true;
  r.parallel.microBatch = 1;
  r.parallel.globalBatch = 1536;
  return r;
}

} // namespace

/// One uncached mapper search per iteration (distinct shapes: m walks 1..8192, the rest
/// cycles through transformer-like sizes).
static void BM_AccelMapGemm(benchmark::State &state) {
  arch::ArchSpec spec = trainSpec();
  if (spec.tiles == 0) {
    state.SkipWithError("cannot load examples/arch/tessera-train-7nm.yaml");
    return;
  }
  AccelModel accel(spec, *PrecisionPolicy::byName("mxfp8"));
  const int64_t sizes[] = {768, 1024, 4096, 12288, 49152};
  int64_t i = 0;
  for (auto _ : state) {
    workload::GemmShape s{1, 1 + (i * 37) % 8192, sizes[i % 5], sizes[(i / 5) % 5]};
    benchmark::DoNotOptimize(accel.mapGemm(s, arch::Format::MXFP8, i % 2 == 0, 1.0).seconds);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["searches/s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AccelMapGemm)->Unit(benchmark::kMicrosecond);

/// A fresh AccelModel (area and energy tables included) for every design.
static void BM_AccelModelConstruct(benchmark::State &state) {
  arch::ArchSpec spec = trainSpec();
  PrecisionPolicy p = *PrecisionPolicy::byName("mxfp8-sparse");
  for (auto _ : state) {
    AccelModel accel(spec, p);
    benchmark::DoNotOptimize(accel.peakFlops(workload::DType::BF16));
  }
}
BENCHMARK(BM_AccelModelConstruct)->Unit(benchmark::kMicrosecond);

/// The training iteration on a model whose mapper cache is warm (graph built once).
static void BM_AccelGpt3IterationCached(benchmark::State &state) {
  arch::ArchSpec spec = trainSpec();
  EstimateRequest req = gpt3Request();
  int64_t seq = 0;
  auto g = buildTrainingWorkload(req, seq);
  if (!g || spec.tiles == 0) {
    state.SkipWithError("cannot build the workload");
    return;
  }
  AccelModel accel(spec, *PrecisionPolicy::byName("mxfp8-sparse"));
  auto warm = estimateTraining(accel, *g, req.training, req.parallel, seq, req.zoo.dtype);
  if (!warm) {
    state.SkipWithError(warm.error().headline().c_str());
    return;
  }
  for (auto _ : state) {
    auto e = estimateTraining(accel, *g, req.training, req.parallel, seq, req.zoo.dtype);
    benchmark::DoNotOptimize(e->iterationSeconds);
  }
  state.counters["ops"] = double(g->numOps());
  state.counters["shapes"] = double(accel.cachedMappings());
}
BENCHMARK(BM_AccelGpt3IterationCached)->Unit(benchmark::kMillisecond);

/// The same iteration on a fresh model: the mapper searches every distinct shape once.
static void BM_AccelGpt3IterationCold(benchmark::State &state) {
  arch::ArchSpec spec = trainSpec();
  EstimateRequest req = gpt3Request();
  int64_t seq = 0;
  auto g = buildTrainingWorkload(req, seq);
  if (!g || spec.tiles == 0) {
    state.SkipWithError("cannot build the workload");
    return;
  }
  PrecisionPolicy p = *PrecisionPolicy::byName("mxfp8-sparse");
  for (auto _ : state) {
    AccelModel accel(spec, p);
    auto e = estimateTraining(accel, *g, req.training, req.parallel, seq, req.zoo.dtype);
    benchmark::DoNotOptimize(e->iterationSeconds);
  }
}
BENCHMARK(BM_AccelGpt3IterationCold)->Unit(benchmark::kMillisecond);
