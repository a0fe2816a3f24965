//===- GpuModel.h - analytical model of NVIDIA data-centre GPUs -----------------===//
//
// Per-kernel time of A100 / A800 / H100 from their published resources and a few
// mechanisms, each of which is a formula with its calibration point named in GpuModel.cpp:
//
//  * GEMMs (and convolutions as implicit GEMM) are tiled as cuBLAS/CUTLASS do: for every
//    candidate CTA tile and split-K factor, tile quantization (padding of the last tile),
//    wave quantization (tiles / concurrently resident CTAs rounded up), a main-loop
//    efficiency limited by the tile's operand bandwidth from L2 to the SM, a fixed
//    prologue/epilogue per tile (dominant for small K), and the DRAM traffic of each wave
//    (unique A rows and B columns that the wave touches) against HBM bandwidth; compute
//    and memory overlap partially. The heuristic picks the fastest candidate, like
//    cuBLAS' heuristic does.
//  * Flash attention: a per-block model of tensor-core work against the exponentials and
//    FP32 vector work of the online softmax.
//  * Memory-bound kernels: compulsory bytes against an achieved HBM bandwidth, with
//    inputs that the previous kernel just wrote read from L2 when they fit.
//  * A launch overhead per kernel.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "perf/Device.h"
#include "support/Expected.h"
#include "workload/Cost.h"

#include <vector>

namespace tessera::perf {

struct GpuSpec {
  std::string name;        ///< "A100-SXM4-80GB"
  std::string key;         ///< "a100"
  int sms = 0;
  double clockGhz = 0;     ///< clock at which the peaks below are quoted
  /// Sustained tensor-core clock under a dense GEMM as a fraction of clockGhz (power
  /// limited parts throttle).
  double sustainedClock = 1.0;
  double fp16Peak = 0;     ///< dense FP16/BF16 tensor FLOP/s
  double tf32Peak = 0;
  double fp8Peak = 0;      ///< 0 = no FP8 tensor cores
  double int8Peak = 0;
  double fp32Peak = 0;     ///< CUDA-core FP32 FLOP/s
  double sfuPerClkPerSm = 16; ///< transcendental (MUFU) ops per clock per SM
  double hbmBandwidth = 0; ///< bytes/s
  double hbmCapacity = 0;  ///< bytes
  double l2Bytes = 0;
  double l2BandwidthPerSmPerClk = 0; ///< bytes/clk an SM can pull from L2
  double smemPerSm = 0;
  double nvlinkBandwidth = 0; ///< bytes/s per GPU, per direction
  double ibBandwidth = 0;     ///< bytes/s per GPU, per direction (one HCA per GPU)
  int gpusPerNode = 8;
  double tdp = 0;             ///< W
  double launchOverhead = 0;  ///< s per kernel on the GPU's timeline
};

/// The built-in GPUs: "a100", "a800", "h100".
std::vector<std::string> gpuNames();
/// Errors: `unknown-gpu` with a did-you-mean.
Expected<GpuSpec> gpuByName(const std::string &name);

/// One candidate GEMM implementation as the model evaluates it.
struct GemmPlan {
  int tileM = 0, tileN = 0;
  int splitK = 1;
  int64_t tiles = 0;  ///< CTAs including split-K
  int64_t waves = 0;
  double computeSeconds = 0;
  double memorySeconds = 0;
  double seconds = 0; ///< including launch and split-K reduction
  double dramBytes = 0;
};

class GpuModel : public DeviceModel {
public:
  explicit GpuModel(GpuSpec spec) : spec_(std::move(spec)) {}
  const GpuSpec &spec() const { return spec_; }

  /// Time of one GEMM on the tensor cores (dtype of the operands); the best plan.
  GemmPlan gemm(const workload::GemmShape &s, workload::DType t) const;
  /// Flash-attention forward (backward=false) or backward over q [B,H,S,D].
  OpTime attention(int64_t batchHeads, int64_t sq, int64_t skv, int64_t d, bool causal,
                   bool backward, workload::DType t) const;
  /// A memory-bound kernel moving `bytesRead` (of which `l2Bytes` can hit in L2) and
  /// `bytesWritten`, doing `vectorFlops` FP32 work.
  OpTime memoryKernel(double bytesRead, double l2Bytes, double bytesWritten,
                      double vectorFlops) const;

  // DeviceModel
  std::string name() const override { return spec_.name; }
  OpTime opTime(const workload::Graph &g, const workload::Op &op) const override;
  OpTime streamTime(double bytesRead, double bytesWritten) const override {
    return memoryKernel(bytesRead, 0, bytesWritten, 0);
  }
  double peakFlops(workload::DType t) const override;
  double memoryCapacity() const override { return spec_.hbmCapacity; }
  /// CUDA context, cuBLAS/NCCL workspaces and caching-allocator slack: 2 GiB.
  double runtimeReserve() const override { return 2.0 * 1024 * 1024 * 1024; }
  double memoryBandwidth() const override { return spec_.hbmBandwidth; }
  int devicesPerNode() const override { return spec_.gpusPerNode; }
  Link intraNodeLink() const override;
  Link interNodeLink() const override;
  double staticPower() const override;
  double energyPerFlop(workload::DType t) const override;
  double energyPerDramByte() const override;
  double energyPerLinkByte() const override;
  double powerLimit() const override { return spec_.tdp; }

private:
  double hbmEfficiency(double bytes) const;
  GpuSpec spec_;
};

} // namespace tessera::perf
