//===- GpuModel.cpp - A100 / A800 / H100 kernel model ------------------------===//
//
// Mechanisms and where each constant comes from (see also docs/gpu-model.md):
//
//  GEMM   time = combine(compute, memory) + launch, combine(c, m) = (c^3 + m^3)^(1/3)
//         (a soft maximum: the two overlap, imperfectly).
//         compute = ceil(CTAs / SMs) * per-CTA main loop / mainloop efficiency
//                   + one prologue/epilogue per wave of resident CTAs.
//         The per-CTA main loop runs at the SM's tensor rate unless the tile's operand
//         stream ((tm + tn) * elem bytes per k step) from L2 is slower; kMainloopEff is
//         the issue efficiency of a compute-bound CUTLASS main loop (0.94).
//         memory = DRAM bytes / (HBM bandwidth * kHbmEff): per wave, the unique rows of A
//         and columns of B the wave's CTAs touch (an operand that fits in half the L2 is
//         read once), plus C.
//         Calibrated on the cuBLAS FP16 K = N = 12288 sweep on A100 (LLMCompass data in
//         shared/reference/gpu-baselines.md): kMainloopEff and kHbmEff are the only two
//         constants fitted; tile shapes, residency and wave quantization are structural.
//  Flash attention: per score element, tensor-core time 2d (forward) or 5d (backward)
//         MACs plus the online softmax on the SFU and FP32 pipes (Dao, FlashAttention-2,
//         2023), partially overlapped; causal masks skip half the blocks.
//  Memory-bound kernels: bytes / (HBM bandwidth * kHbmEff) + a fixed DRAM latency;
//         inputs that the previous kernel wrote and that fit in L2 are read at L2 rate.
//
//===----------------------------------------------------------------------===//
#include "perf/GpuModel.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace tessera::perf {

using workload::DType;
using workload::GemmShape;
using workload::OpCategory;
using workload::OpKind;

const char *boundName(Bound b) {
  switch (b) {
  case Bound::Compute: return "compute";
  case Bound::Memory: return "memory";
  case Bound::Latency: return "latency";
  case Bound::Communication: return "communication";
  case Bound::Power: return "power";
  }
  return "?";
}

namespace {
constexpr double kGB = 1e9;
constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr double kMiB = 1024.0 * 1024;

/// Issue efficiency of a compute-bound tensor-core main loop (fitted, A100 cuBLAS sweep).
constexpr double kMainloopEff = 0.94;
/// Fraction of nominal HBM bandwidth a streaming kernel reaches (fitted, same sweep;
/// STREAM-like copies on A100 reach 1.7-1.8 TB/s of 2.04).
constexpr double kHbmEff = 0.85;
/// Fixed cost of a CTA's prologue (first tiles in flight, DRAM latency) and epilogue.
constexpr double kTileOverhead = 0.6e-6;
/// DRAM latency floor of a small memory-bound kernel.
constexpr double kDramLatency = 1.0e-6;
/// Register budget for accumulators per SM (half of the 256 KB register file).
constexpr double kAccumulatorBytesPerSm = 128 * 1024;
/// L2 read bandwidth relative to HBM for data produced by the previous kernel.
constexpr double kL2OverHbm = 2.5;

GpuSpec a100() {
  GpuSpec s;
  s.name = "A100-SXM4-80GB";
  s.key = "a100";
  s.sms = 108;
  s.clockGhz = 1.41;
  s.fp16Peak = 312e12;
  s.tf32Peak = 156e12;
  s.int8Peak = 624e12;
  s.fp32Peak = 19.5e12;
  s.hbmBandwidth = 2039 * kGB;
  s.hbmCapacity = 80 * kGiB;
  s.l2Bytes = 40 * kMiB;
  s.l2BandwidthPerSmPerClk = 40; // 5120 B/clk L2 read port total, ~85 % usable
  s.smemPerSm = 164 * 1024;
  s.nvlinkBandwidth = 300 * kGB; // 600 GB/s bidirectional
  s.ibBandwidth = 25 * kGB;      // one HDR 200 Gb/s HCA per GPU
  s.tdp = 400;
  s.launchOverhead = 2.5e-6;
  return s;
}
} // namespace

std::vector<std::string> gpuNames() { return {"a100", "a800", "h100"}; }

Expected<GpuSpec> gpuByName(const std::string &name) {
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(), ::tolower);
  if (key == "a100")
    return a100();
  if (key == "a800") {
    // Same silicon; NVLink capped at 400 GB/s bidirectional for export rules.
    GpuSpec s = a100();
    s.name = "A800-SXM4-80GB";
    s.key = "a800";
    s.nvlinkBandwidth = 200 * kGB;
    return s;
  }
  if (key == "h100") {
    GpuSpec s;
    s.name = "H100-SXM5-80GB";
    s.key = "h100";
    s.sms = 132;
    s.clockGhz = 1.83;
    // Dense GEMMs on the 700 W part hold ~1.55-1.65 GHz rather than 1.83 GHz.
    s.sustainedClock = 0.87;
    s.fp16Peak = 989e12;
    s.tf32Peak = 494.5e12;
    s.fp8Peak = 1979e12;
    s.int8Peak = 1979e12;
    s.fp32Peak = 67e12;
    s.sfuPerClkPerSm = 16;
    s.hbmBandwidth = 3350 * kGB;
    s.hbmCapacity = 80 * kGiB;
    s.l2Bytes = 50 * kMiB;
    s.l2BandwidthPerSmPerClk = 64;
    s.smemPerSm = 228 * 1024;
    s.nvlinkBandwidth = 450 * kGB;
    s.ibBandwidth = 50 * kGB; // NDR 400 Gb/s per GPU
    s.tdp = 700;
    s.launchOverhead = 2.5e-6;
    return s;
  }
  std::string hint = closestMatch(key, gpuNames());
  Diagnostic d = Diagnostic::error("unknown-gpu", "unknown GPU '" + name +
                                                      "' (known: a100, a800, h100)");
  if (!hint.empty())
    d.withNote(Diagnostic::note("did you mean '" + hint + "'?"));
  return d;
}

double GpuModel::peakFlops(DType t) const {
  switch (t) {
  case DType::F16: case DType::BF16: return spec_.fp16Peak;
  case DType::TF32: return spec_.tf32Peak;
  case DType::FP8E4M3: case DType::FP8E5M2: return spec_.fp8Peak;
  case DType::I8: return spec_.int8Peak;
  case DType::F32: return spec_.fp32Peak;
  default: return 0;
  }
}

double GpuModel::hbmEfficiency(double bytes) const {
  // Effective efficiency including the fixed DRAM latency of a kernel.
  double t = bytes / (spec_.hbmBandwidth * kHbmEff) + kDramLatency;
  return bytes / (t * spec_.hbmBandwidth);
}

static double softMax3(double a, double b) { return std::cbrt(a * a * a + b * b * b); }

GemmPlan GpuModel::gemm(const GemmShape &s, DType t) const {
  struct Tile {
    int m, n;
  };
  static constexpr Tile kTiles[] = {{256, 128}, {128, 256}, {128, 128}, {128, 64},
                                    {64, 128},  {64, 64},   {64, 32},   {32, 64}};
  double peak = peakFlops(t);
  if (peak <= 0)
    peak = spec_.fp32Peak; // FP32 GEMMs without tensor cores run on CUDA cores
  double eb = workload::dtypeBytes(t);
  double outBytes = eb < 2 ? 2 : eb; // FP8 GEMMs write BF16
  double clock = spec_.clockGhz * 1e9 * spec_.sustainedClock;
  double smFlopsPerClk = peak / (spec_.sms * spec_.clockGhz * 1e9);
  double smRate = smFlopsPerClk * clock; // FLOP/s of one SM, sustained
  double hbm = spec_.hbmBandwidth * kHbmEff;
  int64_t M = std::max<int64_t>(s.m, 1), N = std::max<int64_t>(s.n, 1),
          K = std::max<int64_t>(s.k, 1), B = std::max<int64_t>(s.batch, 1);
  double aBytes = double(M) * K * eb, bBytes = double(K) * N * eb;

  GemmPlan best;
  best.seconds = INFINITY;
  double bestFullArea = 0;
  for (const Tile &tile : kTiles) {
    int64_t gm = (M + tile.m - 1) / tile.m, gn = (N + tile.n - 1) / tile.n;
    // Resident CTAs per SM: FP32 accumulators in the register budget.
    int ctasPerSm =
        std::max(1, int(kAccumulatorBytesPerSm / (double(tile.m) * tile.n * 4.0)));
    ctasPerSm = std::min(ctasPerSm, 8);
    int64_t baseTiles = gm * gn * B;
    int64_t slots = int64_t(spec_.sms) * ctasPerSm;
    // Split-K only when the output tiles cannot fill the machine.
    std::vector<int> splits = {1};
    if (baseTiles < slots && K >= 1024)
      for (int sk = 2; sk <= 16; sk *= 2)
        if (K / sk >= 256)
          splits.push_back(sk);
    for (int sk : splits) {
      int64_t kPer = (K + sk - 1) / sk;
      int64_t tiles = baseTiles * sk;
      // Main loop: tensor rate unless the operand stream from L2 is slower.
      double macsPerK = double(tile.m) * tile.n;
      double computeClk = 2 * macsPerK / smFlopsPerClk;
      double loadClk = (tile.m + tile.n) * eb / spec_.l2BandwidthPerSmPerClk;
      double loopEff = kMainloopEff * std::min(1.0, computeClk / loadClk);
      double ctaSeconds = 2.0 * tile.m * tile.n * kPer / (smRate * loopEff);
      int64_t perSm = (tiles + spec_.sms - 1) / spec_.sms;
      int64_t waves = (tiles + slots - 1) / slots;
      double compute = perSm * ctaSeconds + waves * kTileOverhead;

      // DRAM traffic wave by wave: the block of tile rows x tile columns in flight.
      double aOnce = aBytes <= spec_.l2Bytes / 2 ? 1 : 0;
      double bOnce = bBytes <= spec_.l2Bytes / 2 ? 1 : 0;
      int64_t perBatch = gm * gn * sk;
      int64_t w = std::min<int64_t>(slots, perBatch);
      int64_t rows = std::clamp<int64_t>(int64_t(std::lround(std::sqrt(double(w)))), 1, gm);
      int64_t cols = std::min<int64_t>(gn, (w + rows - 1) / rows);
      if (cols == gn)
        rows = std::min<int64_t>(gm, (w + cols - 1) / cols);
      double wavesPerBatch = double(perBatch) / double(w);
      double aWave = std::min(double(rows) * tile.m, double(M)) * K * eb;
      double bWave = std::min(double(cols) * tile.n, double(N)) * K * eb;
      double aTraffic = aOnce ? aBytes : aWave * wavesPerBatch;
      double bTraffic = bOnce ? bBytes : bWave * wavesPerBatch;
      aTraffic = std::max(aTraffic, aBytes);
      bTraffic = std::max(bTraffic, bBytes);
      double cBytes = double(M) * N * outBytes;
      double dram = B * (aTraffic + bTraffic + cBytes);
      double memory = dram / hbm + kDramLatency;
      double seconds = softMax3(compute, memory) + spec_.launchOverhead;
      if (sk > 1) {
        // Partial FP32 tiles written and reduced by a second kernel.
        double partial = double(B) * M * N * 4.0 * sk;
        seconds += 2 * partial / hbm + spec_.launchOverhead;
        dram += 2 * partial;
      }
      // cuBLAS' heuristic prefers the largest tile that still fills the machine with at
      // least one full wave over a wave-optimal smaller tile (seen in the A100 sweep: the
      // M = 512..2048 points sit at the 256x128 wave-quantization plateau). Candidates
      // of a smaller area than the best full-wave tile found so far are not taken.
      bool fillsMachine = tiles >= spec_.sms;
      double area = double(tile.m) * tile.n;
      if (fillsMachine && bestFullArea > 0 && area < bestFullArea)
        continue;
      if (fillsMachine && area > bestFullArea) {
        bestFullArea = area;
        best.seconds = INFINITY; // a larger full-wave tile supersedes smaller ones
      }
      if (seconds < best.seconds) {
        best.tileM = tile.m;
        best.tileN = tile.n;
        best.splitK = sk;
        best.tiles = tiles;
        best.waves = waves;
        best.computeSeconds = compute;
        best.memorySeconds = memory;
        best.seconds = seconds;
        best.dramBytes = dram;
      }
    }
  }
  return best;
}

OpTime GpuModel::attention(int64_t batchHeads, int64_t sq, int64_t skv, int64_t d,
                           bool causal, bool backward, DType t) const {
  double peak = peakFlops(t) > 0 ? peakFlops(t) : spec_.fp32Peak;
  double clock = spec_.clockGhz * 1e9 * spec_.sustainedClock;
  double fmaPerClk = peak / (2 * spec_.sms * spec_.clockGhz * 1e9);
  double fp32PerClk = spec_.fp32Peak / (2 * spec_.sms * spec_.clockGhz * 1e9);
  // Clocks per score element on one SM.
  double products = backward ? 5 : 2;
  double tensorClk = products * d / fmaPerClk;
  double vectorOps = backward ? 8 : 5; // scale, max, subtract, sum, convert (+ dS terms)
  double softmaxClk = 1.0 / spec_.sfuPerClkPerSm + vectorOps / fp32PerClk;
  // Backward keeps five operands live: its main loop runs less efficiently.
  double loopEff = backward ? 0.75 : kMainloopEff;
  double perElementClk = tensorClk / loopEff + 0.6 * softmaxClk;
  double blockRows = 128;
  int64_t qBlocks = (sq + int64_t(blockRows) - 1) / int64_t(blockRows);
  int64_t ctas = batchHeads * qBlocks;
  double visited = causal ? 0.5 * (1.0 + 1.0 / double(std::max<int64_t>(qBlocks, 1))) : 1.0;
  double ctaClk = blockRows * double(skv) * visited * perElementClk;
  int64_t perSm = (ctas + spec_.sms - 1) / spec_.sms;
  double compute = perSm * ctaClk / clock + kTileOverhead;
  double eb = workload::dtypeBytes(t);
  double io = double(batchHeads) * (2.0 * sq + 2.0 * skv) * d * eb * (backward ? 2.0 : 1.0);
  double memory = io / (spec_.hbmBandwidth * kHbmEff) + kDramLatency;
  OpTime r;
  r.seconds = softMax3(compute, memory) + spec_.launchOverhead;
  r.bound = compute >= memory ? Bound::Compute : Bound::Memory;
  double flops = 2.0 * products * double(batchHeads) * sq * skv * d * visited;
  r.efficiency = flops / (r.seconds * peak);
  r.dramBytes = io;
  r.detail = fmt::format("flash {} d={} {} CTAs", backward ? "bwd" : "fwd", d, ctas);
  return r;
}

OpTime GpuModel::memoryKernel(double bytesRead, double l2Bytes, double bytesWritten,
                              double vectorFlops) const {
  OpTime r;
  double hbm = spec_.hbmBandwidth * kHbmEff;
  double dram = bytesRead - l2Bytes + bytesWritten;
  double memory = dram / hbm + l2Bytes / (hbm * kL2OverHbm) + kDramLatency;
  double compute = vectorFlops / (spec_.fp32Peak * 0.7);
  r.seconds = std::max(memory, compute) + spec_.launchOverhead;
  r.bound = memory >= compute ? Bound::Memory : Bound::Compute;
  r.efficiency = memory >= compute ? dram / (r.seconds * spec_.hbmBandwidth)
                                   : vectorFlops / (r.seconds * spec_.fp32Peak);
  r.dramBytes = dram;
  return r;
}

OpTime GpuModel::opTime(const workload::Graph &g, const workload::Op &op) const {
  workload::OpCost c = workload::opCost(g, op);
  DType t = op.inputs.empty() ? DType::BF16 : g.tensor(op.inputs[0]).dtype;
  OpCategory cat = workload::opCategory(op.kind);
  OpTime r;
  switch (cat) {
  case OpCategory::Gemm:
  case OpCategory::Conv: {
    double vector = c.flops - c.gemmFlops;
    for (const GemmShape &s : c.gemms) {
      GemmPlan p = gemm(s, t);
      r.seconds += p.seconds;
      r.dramBytes += p.dramBytes;
      if (r.detail.empty())
        r.detail = fmt::format("{}x{} tiles{}, {} waves", p.tileM, p.tileN,
                               p.splitK > 1 ? fmt::format(" split-k {}", p.splitK) : "",
                               p.waves);
      r.bound = p.computeSeconds >= p.memorySeconds ? Bound::Compute : Bound::Memory;
    }
    if (vector > 0)
      r.seconds += vector / (spec_.fp32Peak * 0.7);
    double peak = peakFlops(t) > 0 ? peakFlops(t) : spec_.fp32Peak;
    r.efficiency = r.seconds > 0 ? c.gemmFlops / (r.seconds * peak) : 0;
    return r;
  }
  case OpCategory::Attention: {
    if (c.gemms.empty())
      return memoryKernel(c.bytesRead, 0, c.bytesWritten, c.flops);
    // gemms[0] is QK^T: batch = B*H, m = Sq, n = Skv, k = D.
    const GemmShape &qk = c.gemms[0];
    return attention(qk.batch, qk.m, qk.n, qk.k, op.attrs.causal,
                     op.kind == OpKind::AttentionGrad, t);
  }
  case OpCategory::Collective:
    r.bound = Bound::Communication;
    return r; // costed by the parallelism model
  case OpCategory::Movement:
    if (c.bytesRead + c.bytesWritten == 0)
      return r; // a view: no kernel
    [[fallthrough]];
  default: {
    // Inputs written by the op just before this one come from L2 when they fit.
    double l2 = 0;
    for (workload::TensorId in : op.inputs) {
      const workload::Tensor &tin = g.tensor(in);
      if (tin.producer.valid() && &g.op(tin.producer) + 1 == &op &&
          tin.bytes() <= spec_.l2Bytes / 2)
        l2 += tin.bytes();
    }
    l2 = std::min(l2, c.bytesRead);
    return memoryKernel(c.bytesRead, l2, c.bytesWritten, c.flops);
  }
  }
}

Link GpuModel::intraNodeLink() const {
  // NCCL collectives reach ~65 % of NVLink bandwidth (gpu-baselines.md rules of thumb).
  return Link{spec_.nvlinkBandwidth, 0.65, 8e-6};
}

Link GpuModel::interNodeLink() const { return Link{spec_.ibBandwidth, 0.80, 12e-6}; }

// Energy. Static (leakage, clocks, uncore, board) power ~25 % of TDP; dynamic energy of a
// tensor FLOP chosen so a sustained large GEMM with its HBM traffic sits at TDP.
double GpuModel::staticPower() const { return 0.25 * spec_.tdp; }
double GpuModel::energyPerDramByte() const { return 3.5e-12 * 8 + 4e-12; } // HBM + PHY/ctrl
double GpuModel::energyPerLinkByte() const { return 1.3e-12 * 8; }
double GpuModel::energyPerFlop(DType t) const {
  double peak = peakFlops(DType::BF16) * kMainloopEff * spec_.sustainedClock;
  double gemmHbm = 0.1 * spec_.hbmBandwidth * energyPerDramByte(); // large GEMM: ~10 % HBM
  double perFp16 = (spec_.tdp - staticPower() - gemmHbm) / peak;
  double scale = 1.0;
  switch (t) {
  case DType::FP8E4M3: case DType::FP8E5M2: case DType::I8: scale = 0.55; break;
  case DType::TF32: scale = 2.0; break;
  case DType::F32: scale = 4.0; break;
  default: break;
  }
  return perFp16 * scale;
}

} // namespace tessera::perf
