//===- WorkloadFlags.h - the workload flags shared by subcommands ---------------===//
//
// `estimate`, `workload show` (and `explore`) describe a workload the same way; the flags,
// their help and their conversion to library options live here once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "perf/TrainingModel.h"
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

/// Cluster and schedule flags shared by `estimate` and `explore`.
struct ParallelFlags {
  int64_t microBatch = 0, globalBatch = 0, devices = 1, pp = 1;
};

/// Registers --micro-batch --global-batch --gpus --pp.
void addParallelFlags(CLI::App *cmd, ParallelFlags &p);
/// --micro-batch, else --batch, else 1.
int64_t microBatch(const WorkloadFlags &f, const ParallelFlags &p);
/// TP and sequence parallelism come from the workload flags (they shape the graph).
perf::ParallelConfig parallelConfig(const WorkloadFlags &f, const ParallelFlags &p);

workload::DType computeDtype(const WorkloadFlags &f);
/// Zoo options with `microBatch` as the batch (0: --batch, or 1).
workload::ZooOptions zooOptions(const WorkloadFlags &f, int64_t microBatch = 0);
workload::TrainingOptions trainingOptions(const WorkloadFlags &f);

} // namespace tessera::tool
