//===- EstimateCommand.cpp - `tessera estimate` --------------------------------===//
#include "Commands.h"

#include "WorkloadFlags.h"
#include "perf/Estimate.h"

#include <iostream>

namespace tessera::tool {

namespace {
struct EstimateFlags {
  std::string gpu;
  std::string workload;
  std::string gemm;
  WorkloadFlags wl;
  int zero = 0;
  int64_t microBatch = 0, globalBatch = 0, gpus = 1, pp = 1, interleave = 1;
  bool noOverlap = false;
  bool json = false;
};

int runEstimate(const EstimateFlags &f) {
  using namespace tessera::perf;
  auto spec = gpuByName(f.gpu);
  if (!spec)
    return fail(spec.error());
  GpuModel gpu(*spec);
  auto dtype = parseComputeDtype(f.wl.dtype);
  if (!dtype)
    return fail(dtype.error());

  if (!f.gemm.empty()) {
    auto e = estimateGemm(gpu, f.gemm, *dtype);
    if (!e)
      return fail(e.error());
    if (f.json)
      std::cout << gemmJson(*e).dump(2) << "\n";
    else
      std::cout << renderGemm(*e);
    return 0;
  }
  if (f.workload.empty())
    return fail(Diagnostic::error("missing-flag", "estimate needs --workload or --gemm"));

  EstimateRequest req;
  req.workload = f.workload;
  int64_t micro = f.microBatch ? f.microBatch : (f.wl.batch ? f.wl.batch : 1);
  req.zoo = zooOptions(f.wl, micro);
  req.training = trainingOptions(f.wl);
  req.parallel.devices = f.gpus;
  req.parallel.tp = f.wl.tp;
  req.parallel.pp = f.pp;
  req.parallel.ppInterleave = f.interleave;
  req.parallel.sequenceParallel = f.wl.sequenceParallel;
  req.parallel.microBatch = micro;
  req.parallel.globalBatch = f.globalBatch;
  req.parallel.overlapGradReduce = !f.noOverlap;
  req.parallel.zeroStage = f.zero;
  auto e = estimateWorkload(gpu, req);
  if (!e)
    return fail(e.error());
  if (f.json)
    std::cout << estimateJson(*e, f.workload).dump(2) << "\n";
  else
    std::cout << renderEstimate(*e, f.workload);
  return 0;
}
} // namespace

void addEstimateCommand(CLI::App &app, int &rc) {
  auto f = std::make_shared<EstimateFlags>();
  CLI::App *cmd = app.add_subcommand(
      "estimate", "Estimate a training iteration (or one GEMM) on A100 / A800 / H100");
  cmd->add_option("--gpu", f->gpu, "a100 | a800 | h100")->required();
  cmd->add_option("--workload", f->workload, "zoo model name or FILE.onnx");
  cmd->add_option("--gemm", f->gemm, "estimate one GEMM: M,K,N");
  addWorkloadFlags(cmd, f->wl);
  cmd->add_option("--micro-batch", f->microBatch, "micro-batch size (overrides --batch)");
  cmd->add_option("--global-batch", f->globalBatch,
                  "samples per iteration (default: one micro-batch per data-parallel rank)");
  cmd->add_option("--gpus", f->gpus, "number of GPUs (8 per node)");
  cmd->add_option("--pp", f->pp, "pipeline-parallel degree");
  cmd->add_option("--pp-interleave", f->interleave, "model chunks per pipeline stage");
  cmd->add_option("--zero", f->zero,
                  "ZeRO stage over data parallelism: 0, 1 (distributed optimizer), 2, 3")
      ->check(CLI::Range(0, 3));
  cmd->add_flag("--no-overlap-grad-reduce", f->noOverlap,
                "do not overlap the data-parallel all-reduce with backward");
  cmd->add_flag("--json", f->json, "machine-readable output");
  cmd->callback([f, &rc] { rc = runEstimate(*f); });
}

} // namespace tessera::tool
