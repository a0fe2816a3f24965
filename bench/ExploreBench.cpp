//===- ExploreBench.cpp - design-space search rate ---------------------------------===//
//
// Target (issue "tessera explore", part 3): a 1,000-point search over GPT-3 175B (1024
// devices, TP 8, PP 8, global batch 1536, the A800 budget) in under 60 s on 2 cores.
// Reports the wall time of the search and evaluations per second, on all cores and on one.
//
//===----------------------------------------------------------------------===//
#include "explore/Search.h"

#include <benchmark/benchmark.h>

using namespace tessera;
using namespace tessera::explore;

static const TrainingWorkload &gpt3() {
  static const TrainingWorkload w = [] {
    perf::EstimateRequest r;
    r.workload = "gpt3-175b";
    r.zoo.batch = 1;
    r.zoo.tp = 8;
    r.zoo.sequenceParallel = true;
    r.training.recompute = workload::Recompute::Selective;
    r.parallel.devices = 1024;
    r.parallel.tp = 8;
    r.parallel.pp = 8;
    r.parallel.microBatch = 1;
    r.parallel.globalBatch = 1536;
    r.parallel.sequenceParallel = true;
    auto built = TrainingWorkload::build(r);
    TrainingWorkload empty; // reported as an error by the benchmarks
    return built ? *built : empty;
  }();
  return w;
}

/// A 1,000-point evolutionary search; range(0) = threads (0: all cores).
static void BM_Explore1000PointsGpt3(benchmark::State &state) {
  const TrainingWorkload &w = gpt3();
  if (w.graph.numOps() == 0) {
    state.SkipWithError("gpt3-175b did not build");
    return;
  }
  DesignSpace space = DesignSpace::standard(defaultTemplate(), SpaceBounds{}, {});
  Evaluator ev(w, Budget{826, 0, 400, 2039, 200}, Objective::Time);
  SearchOptions o;
  o.maxPoints = 1000;
  o.budgetSeconds = 0;
  o.threads = unsigned(state.range(0));
  size_t points = 0;
  for (auto _ : state) {
    SearchResult r = runSearch(space, ev, o);
    points += r.points.size();
    benchmark::DoNotOptimize(r.best);
  }
  state.counters["evaluations/s"] = benchmark::Counter(double(points), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Explore1000PointsGpt3)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

/// One candidate: AccelModel construction, a GPT-3 training-step estimate and its area.
static void BM_EvaluateOneDesignGpt3(benchmark::State &state) {
  const TrainingWorkload &w = gpt3();
  Evaluator ev(w, Budget{826, 0, 400, 2039, 200}, Objective::Time);
  const arch::ArchSpec &spec = defaultTemplate();
  perf::PrecisionPolicy policy = choosePolicy(spec, {});
  for (auto _ : state)
    benchmark::DoNotOptimize(ev.evaluate(spec, policy).iterationSeconds);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateOneDesignGpt3)->Unit(benchmark::kMillisecond);
