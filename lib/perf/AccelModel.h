//===- AccelModel.h - performance / energy model of a Tessera accelerator ------===//
//
// A DeviceModel for an arch spec, so the training-iteration model (TrainingModel.h) runs
// the same workload graph with the same parallelism arithmetic on an accelerator as on a
// GPU. Matrix ops go through a mapper that searches tilings and dataflows over the memory
// hierarchy (HBM -> global buffer -> tile SRAM -> PE array); everything else is costed on
// the vector units against the memory hierarchy. The precision policy decides the format
// (and so the rate, bytes and energy) of each kind of work; the sparsity policy N:M weight
// sparsity and the operand densities zero skipping exploits.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "arch/ArchSpec.h"
#include "perf/AreaModel.h"
#include "perf/Device.h"
#include "perf/Technology.h"
#include "workload/Cost.h"

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace tessera::perf {

/// Formats and sparsity used for each kind of work on the accelerator.
struct PrecisionPolicy {
  std::string name = "bf16";
  arch::Format forwardGemm = arch::Format::BF16;   ///< activations x weights, forward
  arch::Format backwardGemm = arch::Format::BF16;  ///< data and weight gradient GEMMs
  arch::Format vectorStorage = arch::Format::BF16; ///< elementwise / norm tensors in memory
  bool sparseWeights = false;     ///< N:M weights (the spec's 2:4, else its first pattern)
  double activationDensity = 1.0; ///< non-zero fraction of PE steps of A, forward (zero skipping)
  double gradientDensity = 1.0;   ///< same for gradients (backward)
  /// Format of the attention products (QK^T, PV and their gradients). BF16 in every
  /// built-in policy: FP8 recipes (Transformer Engine) keep dot-product attention in BF16.
  arch::Format attentionGemm = arch::Format::BF16;

  /// "bf16", "fp8" (E4M3 forward, E5M2 backward), "mxfp8", "mxfp8-sparse", "mxfp6", "mxfp4".
  static std::vector<std::string> names();
  /// Errors: `bad-value` with a did-you-mean.
  static Expected<PrecisionPolicy> byName(const std::string &name);
};

/// Errors: `unsupported-format` when the spec's tensor unit lacks a format the policy
/// needs (naming the format and the kind of work), `unsupported-sparsity`.
Status checkPolicy(const arch::ArchSpec &spec, const PrecisionPolicy &policy);

/// The factor the mapper applies to the streamed steps of a GEMM whose streamed operand
/// has a fraction `density` of non-zero PE steps (1 = no skipping), for the spec's tensor
/// unit: 1 without zero skipping, else the expected cycles per step of the generated
/// tensor unit's look-ahead window (zero_skip_window steps) with zero steps placed
/// independently (docs/accel-model.md).
double zeroSkipFactor(const arch::ArchSpec &spec, double density);

/// The actual-data counterpart of zeroSkipFactor (Sparseloop's "actual data" density
/// model, as opposed to the uniform one above): the cycles the spec's tensor unit takes to
/// stream one output tile whose PE steps are non-zero where `nonZero` is true, by the same
/// look-ahead window policy. zeroSkipFactor is its expectation per step when each step is
/// non-zero independently; regular and clustered patterns differ from that expectation and
/// need this form. Without zero skipping: nonZero.size().
uint64_t zeroSkipStreamCycles(const arch::ArchSpec &spec, const std::vector<bool> &nonZero);

/// The mapper's cycle count of an output-stationary R x C PE array for an mm x nn x kk
/// block (ceil(mm/R) * ceil(nn/C) output tiles, each streaming kk through kv K positions
/// per cycle, zs the zero-skip factor on the streamed steps):
///   ceil(mm/R) * ceil(nn/C) * max(ceil(kk/kv) * zs, R) + R + C.
/// The generated RTL's GEMM cycle counts are validated against it (docs/validation.md).
double outputStationaryCycles(double R, double C, double kv, double mm, double nn, double kk,
                              double zs = 1.0);

/// The same term with actual data: `streamCycles[t]` is output tile t's stream
/// (zeroSkipStreamCycles of its steps): sum_t max(streamCycles[t], R) + R + C.
double outputStationaryCycles(double R, double C, const std::vector<double> &streamCycles);

/// The mapper's choice for one GEMM C[m,n] += A[m,k] B[k,n] (batched).
struct GemmMapping {
  int64_t tileM = 0, tileN = 0, tileK = 0; ///< block held in one tile's SRAM
  std::string dataflow;                    ///< e.g. "weight-stationary"
  std::string loopOrder;                   ///< outer loop order over the blocks, e.g. "n,m,k"
  double cycles = 0;
  double seconds = 0;
  double utilization = 0;        ///< useful MACs / (peak MACs x cycles), in [0, 1]
  double hbmBytes = 0;           ///< off-chip traffic
  double globalBufferBytes = 0;  ///< global buffer <-> tiles
  double tileSramBytes = 0;      ///< SRAM <-> PE array
  double compulsoryHbmBytes = 0; ///< each operand read once, result written once
  double energyJ = 0;
  Bound bound = Bound::Compute;
  // Breakdown of `seconds` (seconds = max(compute, noc, hbm) + prologue + dispatch).
  int64_t splitK = 1;          ///< K split across tiles (partial sums reduced)
  int64_t blocks = 0;          ///< blocks over all tiles, split-K included
  int64_t waves = 0;           ///< ceil(blocks / tiles)
  double computeSeconds = 0;   ///< PE array on the most loaded tile
  double nocSeconds = 0;       ///< global buffer <-> most loaded tile
  double hbmSeconds = 0;       ///< HBM <-> global buffer
  double prologueSeconds = 0;  ///< first blocks in, last block out (not overlapped)
  double accumulatorBytes = 0; ///< FP32 partial sums to / from the accumulator SRAM
  double macs = 0;             ///< MACs executed (after N:M and zero skipping)
  // Buffer occupancy of the chosen blocks, bytes (never above the spec's capacities).
  double tileSramFootprint = 0;     ///< A, B double-buffered + the staged result block
  double accumulatorFootprint = 0;  ///< the FP32 result block
  double globalBufferFootprint = 0; ///< resident panel + double-buffered streaming blocks
  std::string str() const;          ///< "128x128x256 weight-stationary n,m,k, 3 waves"
};

class AccelModel : public DeviceModel {
public:
  /// The spec must have passed validation; `checkPolicy` must succeed for `policy`.
  /// `powerLimitW` caps the power of every matrix kernel: a mapping whose energy over its
  /// time would exceed it (static power included) runs slower, as a power-capped chip
  /// clocks down inside the kernel; the mapper then prefers energy-efficient plans.
  AccelModel(arch::ArchSpec spec, PrecisionPolicy policy, double powerLimitW = 400);

  const arch::ArchSpec &spec() const { return spec_; }
  const PrecisionPolicy &policy() const { return policy_; }
  const AreaBreakdown &area() const { return area_; }
  const EnergyTable &energy() const { return energy_; }

  /// Maps one GEMM in `format`; `sparseB` uses N:M on the B (weight) operand; `densityA`
  /// is the non-zero fraction of A for zero skipping (1 = dense). Deterministic, bounded.
  GemmMapping mapGemm(const workload::GemmShape &s, arch::Format format, bool sparseB,
                      double densityA) const;

  // DeviceModel
  std::string name() const override { return spec_.name; }
  OpTime opTime(const workload::Graph &g, const workload::Op &op) const override;
  OpTime streamTime(double bytesRead, double bytesWritten) const override;
  double peakFlops(workload::DType t) const override;
  double memoryCapacity() const override;
  /// Firmware, command queues and allocator slack: 1 % of HBM, at least 64 MiB.
  double runtimeReserve() const override;
  double memoryBandwidth() const override;
  int devicesPerNode() const override;
  Link intraNodeLink() const override;
  Link interNodeLink() const override;
  double staticPower() const override;
  double energyPerFlop(workload::DType t) const override;
  double energyPerDramByte() const override;
  double energyPerLinkByte() const override;
  double powerLimit() const override;

  /// Like mapGemm, with the result block kept on chip (fused attention: S and P never
  /// leave the tile); used for the tensor work of attention.
  GemmMapping mapFusedGemm(const workload::GemmShape &s, arch::Format format) const;
  /// Time of `flops` FP32 vector work of which `exps` are exponentials, moving
  /// `hbmBytes` to / from HBM and `bufferBytes` from the global buffer.
  OpTime vectorTime(double flops, double exps, double hbmBytes, double bufferBytes) const;
  /// Number of distinct GEMMs mapped so far (the mapper cache).
  size_t cachedMappings() const { return cache_.size(); }

private:
  struct GemmKey {
    int64_t batch, m, n, k;
    arch::Format format;
    bool sparseB;
    bool fused;
    double densityA;
    bool operator==(const GemmKey &) const = default;
  };
  struct GemmKeyHash {
    size_t operator()(const GemmKey &k) const;
  };
  GemmMapping search(const GemmKey &key) const;

  arch::ArchSpec spec_;
  PrecisionPolicy policy_;
  double powerLimitW_ = 400;
  TechnologyParams tech_;
  AreaBreakdown area_;
  EnergyTable energy_;
  double gemmPjPerFlop_ = 0; ///< on-chip energy of a large GEMM in forwardGemm, pJ/FLOP
  mutable std::unordered_map<GemmKey, GemmMapping, GemmKeyHash> cache_;
};

} // namespace tessera::perf
