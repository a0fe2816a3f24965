//===- EstimateCommand.cpp - `tessera estimate` --------------------------------===//
#include "Commands.h"

#include "perf/Estimate.h"

#include <iostream>

namespace tessera::tool {

namespace {
struct EstimateFlags {
  std::string gpu;
  std::string workload;
  std::string gemm;
  std::string dtype = "bf16";
  std::string recompute = "none";
  std::string optimizer = "adamw";
  std::string attention = "fused";
  int zero = 0;
  int64_t batch = 0, microBatch = 0, globalBatch = 0, gpus = 1, tp = 1, pp = 1, interleave = 1;
  int64_t seq = 0, hidden = 0, heads = 0, layers = 0, vocab = 0, ffn = 0;
  double dropout = 0.1;
  bool sequenceParallel = false;
  bool noOverlap = false;
  bool json = false;
};

int runEstimate(const EstimateFlags &f) {
  using namespace tessera::perf;
  auto spec = gpuByName(f.gpu);
  if (!spec)
    return fail(spec.error());
  GpuModel gpu(*spec);
  auto dtype = parseComputeDtype(f.dtype);
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
  int64_t micro = f.microBatch ? f.microBatch : (f.batch ? f.batch : 1);
  req.zoo.batch = micro;
  if (f.seq) req.zoo.seq = f.seq;
  if (f.hidden) req.zoo.hidden = f.hidden;
  if (f.heads) req.zoo.heads = f.heads;
  if (f.layers) req.zoo.layers = f.layers;
  if (f.vocab) req.zoo.vocab = f.vocab;
  if (f.ffn) req.zoo.ffn = f.ffn;
  req.zoo.tp = f.tp;
  req.zoo.sequenceParallel = f.sequenceParallel;
  req.zoo.dtype = *dtype;
  req.zoo.dropout = f.dropout;
  req.zoo.attention = f.attention == "unfused" ? workload::AttentionImpl::Unfused
                                               : workload::AttentionImpl::Fused;
  req.training.recompute = f.recompute == "full"        ? workload::Recompute::Full
                           : f.recompute == "selective" ? workload::Recompute::Selective
                                                        : workload::Recompute::None;
  req.training.optimizer = f.optimizer == "sgd"             ? workload::OptimizerKind::Sgd
                           : f.optimizer == "adamw-bf16-sr" ? workload::OptimizerKind::AdamWBf16SR
                                                            : workload::OptimizerKind::AdamW;
  req.parallel.devices = f.gpus;
  req.parallel.tp = f.tp;
  req.parallel.pp = f.pp;
  req.parallel.ppInterleave = f.interleave;
  req.parallel.sequenceParallel = f.sequenceParallel;
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
  cmd->add_option("--dtype", f->dtype, "fp16 | bf16 | tf32 | fp8 (default bf16)")
      ->check(CLI::IsMember({"fp16", "bf16", "tf32", "fp8", "fp32"}));
  cmd->add_option("--batch", f->batch, "per-device batch (micro-batch) size");
  cmd->add_option("--micro-batch", f->microBatch, "micro-batch size (overrides --batch)");
  cmd->add_option("--global-batch", f->globalBatch,
                  "samples per iteration (default: one micro-batch per data-parallel rank)");
  cmd->add_option("--gpus", f->gpus, "number of GPUs (8 per node)");
  cmd->add_option("--tp", f->tp, "tensor-parallel degree");
  cmd->add_option("--pp", f->pp, "pipeline-parallel degree");
  cmd->add_option("--pp-interleave", f->interleave, "model chunks per pipeline stage");
  cmd->add_flag("--sequence-parallel", f->sequenceParallel, "Megatron sequence parallelism");
  cmd->add_option("--recompute", f->recompute, "none | selective | full")
      ->check(CLI::IsMember({"none", "selective", "full"}));
  cmd->add_option("--optimizer", f->optimizer, "adamw | adamw-bf16-sr | sgd")
      ->check(CLI::IsMember({"adamw", "adamw-bf16-sr", "sgd"}));
  cmd->add_option("--attention", f->attention,
                  "fused (flash attention) | unfused (explicit scores, Megatron-LM 2021)")
      ->check(CLI::IsMember({"fused", "unfused"}));
  cmd->add_option("--dropout", f->dropout, "dropout probability (0 removes dropout)");
  cmd->add_option("--seq", f->seq, "sequence length");
  cmd->add_option("--hidden", f->hidden, "hidden size (generic gpt / llama)");
  cmd->add_option("--heads", f->heads, "attention heads");
  cmd->add_option("--layers", f->layers, "layers");
  cmd->add_option("--vocab", f->vocab, "vocabulary size");
  cmd->add_option("--ffn", f->ffn, "FFN inner size");
  cmd->add_option("--zero", f->zero,
                  "ZeRO stage over data parallelism: 0, 1 (distributed optimizer), 2, 3")
      ->check(CLI::Range(0, 3));
  cmd->add_flag("--no-overlap-grad-reduce", f->noOverlap,
                "do not overlap the data-parallel all-reduce with backward");
  cmd->add_flag("--json", f->json, "machine-readable output");
  cmd->callback([f, &rc] { rc = runEstimate(*f); });
}

} // namespace tessera::tool
