//===- WorkloadFlags.h - the workload flags shared by subcommands ---------------===//
//
// `estimate`, `workload show` (and `explore`) describe a workload the same way; the flags,
// their help and their conversion to library options live here once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "workload/Training.h"
#include "workload/Zoo.h"

#include <CLI/CLI.hpp>

namespace tessera::tool {

struct WorkloadFlags {
  int64_t batch = 0, seq = 0, hidden = 0, heads = 0, layers = 0, vocab = 0, ffn = 0;
  int64_t tp = 1;
  bool sequenceParallel = false;
  std::string attention = "fused";
  std::string dtype = "bf16";
  double dropout = 0.1;
  std::string recompute = "none";
  std::string optimizer = "adamw";
};

/// Registers --batch --seq --hidden --heads --layers --vocab --ffn --tp
/// --sequence-parallel --attention --dtype --dropout --recompute --optimizer.
void addWorkloadFlags(CLI::App *cmd, WorkloadFlags &f);

workload::DType computeDtype(const WorkloadFlags &f);
/// Zoo options with `microBatch` as the batch (0: --batch, or 1).
workload::ZooOptions zooOptions(const WorkloadFlags &f, int64_t microBatch = 0);
workload::TrainingOptions trainingOptions(const WorkloadFlags &f);

} // namespace tessera::tool
