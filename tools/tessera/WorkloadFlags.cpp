#include "WorkloadFlags.h"

namespace tessera::tool {

using namespace workload;

void addWorkloadFlags(CLI::App *cmd, WorkloadFlags &f) {
  cmd->add_option("--batch", f.batch, "per-device (micro-)batch size; ONNX: dynamic dims");
  cmd->add_option("--seq", f.seq, "sequence length");
  cmd->add_option("--hidden", f.hidden, "hidden size (required by generic gpt / llama)");
  cmd->add_option("--heads", f.heads, "attention heads");
  cmd->add_option("--layers", f.layers, "layers");
  cmd->add_option("--vocab", f.vocab, "vocabulary size");
  cmd->add_option("--ffn", f.ffn, "FFN inner size");
  cmd->add_option("--tp", f.tp, "tensor-parallel degree (one rank's graph)");
  cmd->add_flag("--sequence-parallel", f.sequenceParallel, "Megatron sequence parallelism");
  cmd->add_option("--attention", f.attention,
                  "fused (flash attention) | unfused (explicit scores, Megatron-LM 2021)")
      ->check(CLI::IsMember({"fused", "unfused"}));
  cmd->add_option("--dtype", f.dtype, "bf16 | fp16 | tf32 | fp8 | fp32 (default bf16)")
      ->check(CLI::IsMember({"bf16", "fp16", "fp32", "tf32", "fp8"}));
  cmd->add_option("--dropout", f.dropout, "dropout probability (0 removes dropout)");
  cmd->add_option("--recompute", f.recompute, "none | selective | full")
      ->check(CLI::IsMember({"none", "selective", "full"}));
  cmd->add_option("--optimizer", f.optimizer, "adamw | adamw-bf16-sr | sgd")
      ->check(CLI::IsMember({"adamw", "adamw-bf16-sr", "sgd"}));
}

void addParallelFlags(CLI::App *cmd, ParallelFlags &p) {
  cmd->add_option("--micro-batch", p.microBatch, "micro-batch size (overrides --batch)");
  cmd->add_option("--global-batch", p.globalBatch,
                  "samples per iteration (default: one micro-batch per data-parallel rank)");
  cmd->add_option("--gpus", p.devices, "number of devices (8 per node)");
  cmd->add_option("--pp", p.pp, "pipeline-parallel degree");
}

int64_t microBatch(const WorkloadFlags &f, const ParallelFlags &p) {
  return p.microBatch ? p.microBatch : (f.batch ? f.batch : 1);
}

perf::ParallelConfig parallelConfig(const WorkloadFlags &f, const ParallelFlags &p) {
  perf::ParallelConfig c;
  c.devices = p.devices;
  c.tp = f.tp;
  c.pp = p.pp;
  c.sequenceParallel = f.sequenceParallel;
  c.microBatch = microBatch(f, p);
  c.globalBatch = p.globalBatch;
  return c;
}

DType computeDtype(const WorkloadFlags &f) {
  if (f.dtype == "fp16") return DType::F16;
  if (f.dtype == "fp32") return DType::F32;
  if (f.dtype == "tf32") return DType::TF32;
  if (f.dtype == "fp8") return DType::FP8E4M3;
  return DType::BF16;
}

ZooOptions zooOptions(const WorkloadFlags &f, int64_t microBatch) {
  ZooOptions o;
  o.batch = microBatch ? microBatch : (f.batch ? f.batch : 1);
  if (f.seq) o.seq = f.seq;
  if (f.hidden) o.hidden = f.hidden;
  if (f.heads) o.heads = f.heads;
  if (f.layers) o.layers = f.layers;
  if (f.vocab) o.vocab = f.vocab;
  if (f.ffn) o.ffn = f.ffn;
  o.tp = f.tp;
  o.sequenceParallel = f.sequenceParallel;
  o.dtype = computeDtype(f);
  o.attention = f.attention == "unfused" ? AttentionImpl::Unfused : AttentionImpl::Fused;
  o.dropout = f.dropout;
  return o;
}

TrainingOptions trainingOptions(const WorkloadFlags &f) {
  TrainingOptions t;
  t.recompute = f.recompute == "full"        ? Recompute::Full
                : f.recompute == "selective" ? Recompute::Selective
                                             : Recompute::None;
  t.optimizer = f.optimizer == "sgd"             ? OptimizerKind::Sgd
                : f.optimizer == "adamw-bf16-sr" ? OptimizerKind::AdamWBf16SR
                                                 : OptimizerKind::AdamW;
  return t;
}

} // namespace tessera::tool
