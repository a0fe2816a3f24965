//===- TrainingModel.h - one training iteration on many devices -----------------===//
//
// Time, memory and energy of one training iteration of a per-rank training graph on a
// cluster of identical devices with 3-D parallelism (Narayanan et al., SC'21):
//
//  * tensor parallelism is in the graph (one rank's shard, collectives as ops), whose
//    collectives are timed here on the intra-node link (or the inter-node one when the TP
//    group spans nodes) and are exposed, as in Megatron-LM;
//  * pipeline parallelism splits `layer` indices into stages (or p*v chunks for the
//    interleaved schedule); 1F1B iteration time is (m-1)*max_s t_s + sum_s t_s, the
//    interleaved one m*max_s t_s + (p-1)/v * mean_s t_s, where t_s is a stage's forward +
//    backward time of one micro-batch including its point-to-point transfers;
//  * data parallelism all-reduces each rank's gradients once per iteration; the
//    all-reduce overlaps the last micro-batch's backward pass; the optimizer step follows.
//    With ZeRO 1/2 the all-reduce becomes a reduce-scatter plus an all-gather of the
//    updated weights and the optimizer works on 1/dp of the parameters; ZeRO 3 gathers
//    weights before every forward and backward pass, overlapped with compute.
//
// Memory per device: the stage's weights, gradients and optimizer state, the activations
// saved for backward times the micro-batches in flight (p - s for stage s under 1F1B,
// scaled by 1 + (p-1)/(p v) when interleaved), and a fixed runtime reserve.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "perf/Device.h"
#include "workload/Training.h"

#include <map>
#include <vector>

namespace tessera::perf {

struct ParallelConfig {
  int64_t devices = 1;
  int64_t tp = 1;
  int64_t pp = 1;
  int64_t ppInterleave = 1;
  bool sequenceParallel = false;
  int64_t microBatch = 1;
  int64_t globalBatch = 0; ///< 0: one micro-batch per data-parallel rank
  bool overlapGradReduce = true;
  /// ZeRO (Rajbhandari et al., SC'20) over the data-parallel group: 1 shards optimizer
  /// state (Megatron's distributed optimizer), 2 also gradients, 3 also weights.
  int zeroStage = 0;
};

/// Memory of the most loaded device, bytes.
struct DeviceMemory {
  double weights = 0;
  double gradients = 0;
  double optimizerState = 0;
  double activations = 0;
  double reserve = 0; ///< CUDA context, workspaces, allocator slack
  double total() const { return weights + gradients + optimizerState + activations + reserve; }
};

/// Time spent in one kind of op (per iteration on the slowest stage).
struct OpGroupTime {
  std::string op;     ///< op kind name
  std::string phase;  ///< forward / backward-data / ...
  int64_t count = 0;  ///< ops per micro-batch on the stage
  double seconds = 0; ///< per iteration
  double flops = 0;   ///< per iteration
};

struct TrainingEstimate {
  std::string device;
  int64_t devices = 1, tp = 1, pp = 1, dp = 1, ppInterleave = 1;
  int zeroStage = 0;
  int64_t microBatch = 1, globalBatch = 1, microBatches = 1;

  double iterationSeconds = 0;
  // Breakdown of the iteration on the critical path (sums to iterationSeconds).
  double computeSeconds = 0;     ///< matrix-unit kernels (GEMM, conv, attention)
  double memoryBoundSeconds = 0; ///< elementwise / normalization / loss kernels
  double tpCommSeconds = 0;      ///< tensor-parallel collectives (exposed)
  double ppCommSeconds = 0;      ///< pipeline point-to-point (exposed)
  double bubbleSeconds = 0;      ///< pipeline fill and drain
  double dpCommSeconds = 0;      ///< exposed gradient all-reduce
  double optimizerSeconds = 0;

  double flopsPerIteration = 0;      ///< executed, recomputation included, all devices
  double modelFlopsPerIteration = 0; ///< without recomputation
  double tflopsPerDevice = 0;        ///< executed FLOPs / time / devices
  double mfu = 0;                    ///< model FLOPs / (time * devices * peak)
  double peakFlops = 0;              ///< per device, compute dtype
  double samplesPerSecond = 0;
  double tokensPerSecond = 0;        ///< 0 for non-sequence models

  DeviceMemory memory;
  double memoryCapacity = 0;
  double energyJoules = 0;           ///< whole cluster, one iteration
  double averagePowerWatts = 0;      ///< per device
  bool powerLimited = false;

  std::vector<OpGroupTime> opGroups; ///< sorted by time, largest first
  std::vector<std::string> notes;    ///< what the model assumed
};

/// `training` is the per-rank training graph built for `cfg.tp` and the micro-batch size.
/// `seqLen` is the tokens per sample (0 for non-sequence models). Errors:
/// `bad-parallelism` (devices not divisible by tp*pp, global batch not divisible by
/// dp * micro-batch, layers not divisible by pp * interleave), `out-of-memory`.
Expected<TrainingEstimate> estimateTraining(const DeviceModel &dev,
                                            const workload::Graph &training,
                                            const workload::TrainingOptions &topts,
                                            const ParallelConfig &cfg, int64_t seqLen,
                                            workload::DType computeType);

} // namespace tessera::perf
