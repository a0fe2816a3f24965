//===- AccelModel.cpp - accelerator performance / energy model -------------------===//
//
// Mechanisms (docs/accel-model.md has the full derivation and every constant's source):
//
//  Mapper (mapGemm). For C[m,n] += A[m,k] B[k,n] the search enumerates, from fixed
//  candidate lists that do not depend on the buffer sizes (so a larger buffer only adds
//  feasible choices and never makes a GEMM slower):
//    * a block tileM x tileN x tileK held in one tile: A and B blocks in the input format
//      (MX scales and N:M metadata included) double-buffered in the tile SRAM next to the
//      output staging block, the C block in FP32 in the accumulator SRAM;
//    * a split of K over tiles when there are fewer output blocks than tiles (FP32
//      partial sums reduced through the global buffer);
//    * the dataflow of the rows x cols x dot_width PE array for each block:
//      weight-stationary (B held, A streamed), output-stationary (C held, K streamed),
//      input-stationary (A held, B streamed), each with its own dimension quantization,
//      stationary-operand load stall and one pipeline fill/drain (rows + cols cycles) per
//      k step of a block;
//    * the outer loop order over blocks, i.e. what the global buffer keeps: an A panel
//      ("m,n,k": B re-read once per panel), a B panel ("n,m,k"), or neither ("streamed":
//      each wave of blocks fetches its operands from HBM).
//  Time = max(compute on the most loaded tile, its NoC transfers, HBM transfers) + an
//  un-overlapped prologue (first blocks in, last block out) + a dispatch cost; operands
//  are double-buffered, so the three overlap in steady state.
//  N:M weights raise the K a PE consumes per cycle by M/N on sparse-capable formats; zero
//  skipping of the streamed A operand divides its stream cycles by a factor limited by the
//  look-ahead window, as the generated tensor unit does (zeroSkipFactor).
//
//  Vector work (elementwise, norms, softmax, loss, optimizer, movement) runs on the
//  tiles' FP32 vector lanes against HBM (inputs just produced by the previous op come
//  from the global buffer when they fit). Attention is fused: its products on the tensor
//  unit, the online softmax on the vector lanes (exponentials on SFUs when the tile has
//  them, else a polynomial on the lanes), the two overlapped.
//
//===----------------------------------------------------------------------===//
#include "perf/AccelModel.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>

namespace tessera::perf {

using arch::Format;
using arch::formatInfo;
using arch::formatName;
using workload::DType;
using workload::GemmShape;
using workload::OpCategory;
using workload::OpKind;
using workload::Phase;
using workload::TensorRole;

namespace {

constexpr double kGB = 1e9;
constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * 1024;
constexpr double kGiB = 1024.0 * 1024 * 1024;

/// Fraction of nominal HBM bandwidth a streaming access pattern reaches: the figure the
/// GPU model fitted on the A100 (STREAM-like copies reach 1.7-1.8 of 2.04 TB/s), which is a
/// property of the HBM2e stacks and controllers rather than of the GPU.
constexpr double kHbmEfficiency = 0.85;
/// Fixed cost of issuing one op (a statically compiled program: the sequencer starts the
/// next op's first DMA while the previous one drains). Estimate, no calibration point;
/// below the GPU's 2.5 us launch overhead.
constexpr double kDispatchSeconds = 1.0e-6;
/// DRAM latency floor of a memory-bound op (as in the GPU model).
constexpr double kDramLatency = 1.0e-6;
/// Issue efficiency of the FP32 vector lanes on elementwise / reduction code (the GPU
/// model's 0.7 of the CUDA-core peak: address arithmetic, reductions across lanes).
constexpr double kVectorEfficiency = 0.7;
/// Lane cycles of one exponential without an SFU: range reduction (2), a degree-3
/// polynomial (3 FMA) and the exponent insertion (1).
constexpr double kExpLaneOps = 6;
/// Vector operations per element of an off-store-path scale-and-cast pass: amax, scale,
/// round/convert.
constexpr double kScaleCastOps = 3;
/// Collectives reach this fraction of the chip-to-chip links' nominal bandwidth (the
/// NCCL-on-NVLink rule of thumb the GPU model uses) and pay this latency per step.
constexpr double kLinkEfficiency = 0.65;
constexpr double kLinkLatency = 8e-6;
constexpr double kNetworkEfficiency = 0.80;
constexpr double kNetworkLatency = 12e-6;
/// Power limit: the A800's TDP; explore applies its own power budget.
/// Fraction of the shorter of attention's tensor and vector work hidden under the longer:
/// a dataflow tile runs the two units on different query blocks (software pipelining,
/// as FlashAttention-3 does with warp specialization); an SM shares issue slots, so only
/// part overlaps (the GPU model's 0.6 un-overlapped softmax share).
constexpr double kAttentionOverlapDataflow = 0.9;
constexpr double kAttentionOverlapSimt = 0.4;

double bytesPer(Format f) { return formatInfo(f).storageBits / 8.0; }
bool isNarrow(Format f) { return formatInfo(f).elementBits <= 8; }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
double ceilD(double a, double b) { return std::ceil(a / b - 1e-9); }

/// Block-size candidates for a dimension of extent `x`: powers of two from 16 to 1024
/// below x, and x itself when it is at most 1024 (an exact fit wastes no edge).
std::vector<int64_t> blockCandidates(int64_t x, int64_t lo, int64_t hi) {
  std::vector<int64_t> c;
  for (int64_t p = lo; p <= hi; p *= 2)
    if (p < x)
      c.push_back(p);
  c.push_back(std::min(x, hi));
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  return c;
}

const arch::SparsityPattern *weightPattern(const arch::TensorUnit &tu) {
  for (const arch::SparsityPattern &p : tu.sparsityPatterns)
    if (p.n == 2 && p.m == 4)
      return &p;
  return tu.sparsityPatterns.empty() ? nullptr : &tu.sparsityPatterns.front();
}

std::string formatList(const std::vector<arch::TensorFormat> &fs) {
  std::string s;
  for (const arch::TensorFormat &f : fs)
    s += (s.empty() ? "" : ", ") + std::string(formatName(f.format));
  return s;
}

enum class Dataflow : uint8_t { WeightStationary, OutputStationary, InputStationary };
const char *dataflowName(Dataflow d) {
  switch (d) {
  case Dataflow::WeightStationary:
    return "weight-stationary";
  case Dataflow::OutputStationary:
    return "output-stationary";
  case Dataflow::InputStationary:
    return "input-stationary";
  }
  return "?";
}

} // namespace

//===----------------------------------------------------------------------===//
// Precision policies
//===----------------------------------------------------------------------===//

std::vector<std::string> PrecisionPolicy::names() {
  std::vector<std::string> n;
  for (const char *base : {"bf16", "fp8", "mxfp8", "mxfp6", "mxfp4"}) {
    n.push_back(base);
    n.push_back(std::string(base) + "-sparse");
  }
  return n;
}

Expected<PrecisionPolicy> PrecisionPolicy::byName(const std::string &name) {
  PrecisionPolicy p;
  p.name = name;
  // "<formats>-sparse": the same formats with N:M weights.
  std::string base = name;
  const std::string suffix = "-sparse";
  if (base.size() > suffix.size() &&
      base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
    base.resize(base.size() - suffix.size());
    p.sparseWeights = true;
  }
  if (base == "bf16")
    return p;
  if (base == "fp8") {
    p.forwardGemm = Format::FP8E4M3;
    p.backwardGemm = Format::FP8E5M2;
    return p;
  }
  if (base == "mxfp8") {
    p.forwardGemm = p.backwardGemm = Format::MXFP8;
    return p;
  }
  if (base == "mxfp6") {
    p.forwardGemm = p.backwardGemm = Format::MXFP6;
    return p;
  }
  if (base == "mxfp4") {
    p.forwardGemm = p.backwardGemm = Format::MXFP4;
    return p;
  }
  std::string known;
  for (const std::string &n : names())
    known += (known.empty() ? "" : ", ") + n;
  Diagnostic d = Diagnostic::error("bad-value", "unknown precision policy '" + name +
                                                    "' (known: " + known + ")");
  std::string hint = closestMatch(name, names());
  if (!hint.empty())
    d.withNote(Diagnostic::note("did you mean '" + hint + "'?"));
  return d;
}

double zeroSkipFactor(const arch::ArchSpec &spec, double density) {
  const arch::TensorUnit &tu = spec.tile.tensor;
  if (!(tu.zeroSkipActivations || tu.zeroSkipGradients) || density >= 1.0)
    return 1.0;
  // The generated tensor unit's policy (docs/tile-tensor-unit.md): each cycle it looks at
  // the next W steps, issues the first non-zero one and moves on to the next non-zero step
  // inside the window (which starts the next window), or past the window when there is
  // none. With steps non-zero independently with probability d this is a two-state Markov
  // chain: the window starts with a known non-zero step (K) or with unseen steps (F). The
  // stream takes 1 / E[advance per cycle] cycles per step (1 at d = 1, 1 / W at d = 0; for
  // W = 2: (1 - d + d^2) / (2 - 2d + d^2)).
  const double d = std::clamp(density, 0.0, 1.0), q = 1.0 - d;
  const int W = std::max(1, int(std::lround(technologyFor(spec).zeroSkipWindow)));
  // From K: the next non-zero step at k (1 <= k < W) -> advance k, K; none -> W, F.
  double pKK = 0, eK = W * std::pow(q, W - 1);
  for (int k = 1; k < W; ++k) {
    double pk = d * std::pow(q, k - 1);
    pKK += pk;
    eK += k * pk;
  }
  // From F: the first non-zero step at j, the next one at k > j -> advance k, K; no next
  // one -> W, F; no non-zero step -> W, F.
  double pFK = 0, eF = W * std::pow(q, W);
  for (int j = 0; j < W; ++j) {
    double pj = d * std::pow(q, j);
    for (int k = j + 1; k < W; ++k) {
      double pk = pj * d * std::pow(q, k - j - 1);
      pFK += pk;
      eF += k * pk;
    }
    eF += W * pj * std::pow(q, W - 1 - j);
  }
  // Stationary probabilities: piK (1 - pKK) = piF pFK.
  const double wK = pFK, wF = 1.0 - pKK;
  const double advance = (wK + wF) > 0 ? (wK * eK + wF * eF) / (wK + wF) : eK;
  return 1.0 / advance;
}

uint64_t zeroSkipStreamCycles(const arch::ArchSpec &spec, const std::vector<bool> &nonZero) {
  const arch::TensorUnit &tu = spec.tile.tensor;
  if (!(tu.zeroSkipActivations || tu.zeroSkipGradients))
    return nonZero.size();
  const size_t W = size_t(std::max(1L, std::lround(technologyFor(spec).zeroSkipWindow)));
  // One window per cycle: issue its first non-zero step; the next window starts at the
  // window's second non-zero step, or after the window.
  size_t pos = 0;
  uint64_t cycles = 0;
  while (pos < nonZero.size()) {
    ++cycles;
    const size_t end = std::min(nonZero.size(), pos + W);
    size_t first = pos;
    while (first < end && !nonZero[first])
      ++first;
    size_t next = first < end ? first + 1 : end;
    while (next < end && !nonZero[next])
      ++next;
    pos = next;
  }
  return cycles;
}

double outputStationaryCycles(double R, double C, const std::vector<double> &streamCycles) {
  double cycles = R + C;
  for (double s : streamCycles)
    cycles += std::max(s, R);
  return cycles;
}

double outputStationaryCycles(double R, double C, double kv, double mm, double nn, double kk,
                              double zs) {
  return ceilD(mm, R) * ceilD(nn, C) * std::max(ceilD(kk, kv) * zs, R) + R + C;
}

Status checkPolicy(const arch::ArchSpec &spec, const PrecisionPolicy &policy) {
  const arch::TensorUnit &tu = spec.tile.tensor;
  auto need = [&](Format f, const char *work) -> Status {
    if (tu.find(f))
      return Status::success();
    return Diagnostic::error("unsupported-format",
                             fmt::format("{} need {} but the tensor unit of '{}' supports {} "
                                         "(precision policy '{}')",
                                         work, formatName(f), spec.name, formatList(tu.formats),
                                         policy.name));
  };
  TRY(need(policy.forwardGemm, "forward GEMMs"));
  TRY(need(policy.backwardGemm, "backward GEMMs"));
  TRY(need(policy.attentionGemm, "attention GEMMs"));
  if (policy.sparseWeights) {
    if (tu.sparsityPatterns.empty())
      return Diagnostic::error(
          "unsupported-sparsity",
          fmt::format("precision policy '{}' uses 2:4 sparse weights but the tensor unit of "
                      "'{}' has no sparsity patterns",
                      policy.name, spec.name));
    if (!tu.find(policy.forwardGemm)->sparse)
      return Diagnostic::error(
          "unsupported-sparsity",
          fmt::format("precision policy '{}' uses sparse weights in {} but {} is not "
                      "sparse-capable on the tensor unit of '{}'",
                      policy.name, formatName(policy.forwardGemm), formatName(policy.forwardGemm),
                      spec.name));
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

std::string GemmMapping::str() const {
  return fmt::format("{}x{}x{} {} {}{}, {} waves", tileM, tileN, tileK, dataflow, loopOrder,
                     splitK > 1 ? fmt::format(" split-k {}", splitK) : "", waves);
}

size_t AccelModel::GemmKeyHash::operator()(const GemmKey &k) const {
  size_t h = std::hash<int64_t>()(k.batch);
  auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  mix(std::hash<int64_t>()(k.m));
  mix(std::hash<int64_t>()(k.n));
  mix(std::hash<int64_t>()(k.k));
  mix(size_t(k.format));
  mix(size_t(k.sparseB) | (size_t(k.fused) << 1));
  mix(std::hash<double>()(k.densityA));
  return h;
}

AccelModel::AccelModel(arch::ArchSpec spec, PrecisionPolicy policy, double powerLimitW)
    : spec_(std::move(spec)), policy_(std::move(policy)), powerLimitW_(powerLimitW) {
  tech_ = technologyFor(spec_);
  area_ = estimateArea(spec_, tech_);
  energy_ = estimateEnergy(spec_, tech_, area_);
  if (spec_.tile.tensor.find(policy_.forwardGemm)) {
    GemmEnergy g = largeGemmEnergy(spec_, energy_, tech_, policy_.forwardGemm);
    gemmPjPerFlop_ = g.dynamic() - g.hbm * (1 + energy_.dynamicOverhead);
  }
}

GemmMapping AccelModel::mapGemm(const GemmShape &s, Format format, bool sparseB,
                                double densityA) const {
  GemmKey key{std::max<int64_t>(s.batch, 1),
              std::max<int64_t>(s.m, 1),
              std::max<int64_t>(s.n, 1),
              std::max<int64_t>(s.k, 1),
              format,
              sparseB,
              false,
              std::clamp(densityA, 0.0, 1.0)};
  auto it = cache_.find(key);
  if (it != cache_.end())
    return it->second;
  GemmMapping m = search(key);
  cache_.emplace(key, m);
  return m;
}

GemmMapping AccelModel::mapFusedGemm(const GemmShape &s, Format format) const {
  GemmKey key{std::max<int64_t>(s.batch, 1),
              std::max<int64_t>(s.m, 1),
              std::max<int64_t>(s.n, 1),
              std::max<int64_t>(s.k, 1),
              format,
              false,
              true,
              1.0};
  auto it = cache_.find(key);
  if (it != cache_.end())
    return it->second;
  GemmMapping m = search(key);
  cache_.emplace(key, m);
  return m;
}

GemmMapping AccelModel::search(const GemmKey &key) const {
  const arch::TensorUnit &tu = spec_.tile.tensor;
  const arch::TensorFormat *tf = tu.find(key.format);
  if (!tf) // checkPolicy rejects this; cost it in the unit's first format
    tf = &tu.formats.front();
  const int64_t B = key.batch, M = key.m, N = key.n, K = key.k;
  const double R = double(tu.rows), C = double(tu.cols);
  const double T = double(spec_.tiles);
  const double clock = spec_.technology.clockGhz * kGB;
  const double nocBw = spec_.noc.bandwidthGBps * kGB;
  const double hbmBw = spec_.hbmBandwidthGBps() * kGB * kHbmEfficiency;
  const double sramBytes = double(spec_.tile.sramKib) * kKiB;
  const double accBytes = double(spec_.tile.accumulatorKib) * kKiB;
  const double gbBytes = spec_.globalBufferMib * kMiB;
  const bool simt = spec_.tile.control == arch::ControlStyle::Simt;

  // Operand formats: N:M weights keep N of every M values plus log2(M) index bits each.
  const arch::SparsityPattern *pat = weightPattern(tu);
  const bool sparse = key.sparseB && tf->sparse && pat;
  const double keep = sparse ? double(pat->n) / double(pat->m) : 1.0;
  const double eA = bytesPer(tf->format);
  const double eB = sparse ? keep * (eA + std::log2(double(pat->m)) / 8.0) : eA;
  const double eOut = key.fused ? 0.0 : bytesPer(policy_.vectorStorage);
  // K consumed per PE per cycle.
  const double kv = double(tu.dotWidth) * tf->rate / keep;
  // Zero skipping of the streamed A operand.
  const bool canSkip = tu.zeroSkipActivations || tu.zeroSkipGradients;
  const double density = canSkip ? key.densityA : 1.0;
  const double zs = zeroSkipFactor(spec_, density);
  const double peakSlotsPerCycle = R * C * double(tu.dotWidth) * tf->rate; // per tile
  const double denseMacs = double(B) * double(M) * double(N) * double(K);
  const double execMacs = denseMacs * keep * density;

  // Cycles of one k step (mm x nn x kk) of a block in each dataflow.
  auto stepCycles = [&](Dataflow d, double mm, double nn, double kk) {
    switch (d) {
    case Dataflow::WeightStationary: // B[k-chunk, n-chunk] held; rows of A stream
      return ceilD(kk, R * kv) * ceilD(nn, C) * std::max(mm * zs, R) + R + C;
    case Dataflow::OutputStationary: // C[m-chunk, n-chunk] held; K streams
      return outputStationaryCycles(R, C, kv, mm, nn, kk, zs);
    case Dataflow::InputStationary: // A[k-chunk, m-chunk] held; columns of B stream
      return ceilD(kk, R * kv) * ceilD(mm, C) * std::max(nn, R) + R + C;
    }
    return 0.0;
  };
  // Bytes the array reads from the tile SRAM for one k step.
  auto stepSramBytes = [&](Dataflow d, double mm, double nn, double kk) {
    switch (d) {
    case Dataflow::WeightStationary:
      return kk * nn * eB + mm * kk * eA * ceilD(nn, C);
    case Dataflow::OutputStationary:
      return mm * kk * eA * ceilD(nn, C) + kk * nn * eB * ceilD(mm, R);
    case Dataflow::InputStationary:
      return mm * kk * eA + kk * nn * eB * ceilD(mm, C);
    }
    return 0.0;
  };
  // FP32 partial-sum traffic to the accumulator SRAM for one k step (read + write).
  auto stepAccBytes = [&](Dataflow d, double mm, double nn, double kk) {
    double chunks = simt ? ceilD(kk, tech_.simtMmaKSteps * double(tu.dotWidth) * tf->rate / keep)
                    : d == Dataflow::OutputStationary ? 1.0
                                                      : ceilD(kk, R * kv);
    return 8.0 * mm * nn * chunks;
  };

  const std::vector<int64_t> tms = blockCandidates(M, 16, 1024);
  const std::vector<int64_t> tns = blockCandidates(N, 16, 1024);
  const std::vector<int64_t> tks = blockCandidates(K, 32, 4096);

  GemmMapping best;
  best.seconds = INFINITY;
  for (int64_t tm : tms)
    for (int64_t tn : tns) {
      double accNeed = 4.0 * double(tm) * double(tn);
      if (accNeed > accBytes)
        continue;
      const bool accDouble = 2 * accNeed <= accBytes;
      const int64_t bm = ceilDiv(M, tm), bn = ceilDiv(N, tn);
      const int64_t outBlocks = B * bm * bn;
      for (int64_t tk : tks) {
        // A and B double-buffered, plus the result block staged for its store.
        double sramNeed = 2.0 * (double(tm) * tk * eA + double(tk) * tn * eB) +
                          double(tm) * tn * bytesPer(policy_.vectorStorage);
        if (sramNeed > sramBytes)
          continue;
        for (int64_t split = 1; split <= 64; split *= 2) {
          if (split > 1 &&
              (outBlocks * split > int64_t(T) * 2 || ceilDiv(K, split) < tk || key.fused))
            break;
          const int64_t kSlice = ceilDiv(K, split);
          const int64_t kb = ceilDiv(kSlice, tk);
          const double kLast = double(kSlice - (kb - 1) * tk);
          const double mLast = double(M - (bm - 1) * tm), nLast = double(N - (bn - 1) * tn);
          const int64_t pieces = outBlocks * split;

          // Compute: best dataflow by cycles of all blocks (ties: fewer SRAM bytes).
          struct Eval {
            Dataflow d;
            double total = 0, full = 0, sram = 0, acc = 0;
          };
          Eval bestDf{Dataflow::WeightStationary, INFINITY, 0, 0, 0};
          for (Dataflow d : {Dataflow::WeightStationary, Dataflow::OutputStationary,
                             Dataflow::InputStationary}) {
            auto blockCyc = [&](double mm, double nn) {
              return double(kb - 1) * stepCycles(d, mm, nn, double(tk)) +
                     stepCycles(d, mm, nn, kLast);
            };
            double cFull = blockCyc(double(tm), double(tn));
            double cM = blockCyc(mLast, double(tn)), cN = blockCyc(double(tm), nLast),
                   cMN = blockCyc(mLast, nLast);
            double perBatch = double(bm - 1) * double(bn - 1) * cFull + double(bn - 1) * cM +
                              double(bm - 1) * cN + cMN;
            double total = perBatch * double(B) * double(split);
            double sramPerMac =
                stepSramBytes(d, double(tm), double(tn), double(tk)) / (double(tm) * tn * tk);
            double accPerMac =
                stepAccBytes(d, double(tm), double(tn), double(tk)) / (double(tm) * tn * tk);
            Eval e{d, total, std::max({cFull, cM, cN, cMN}), sramPerMac * denseMacs,
                   accPerMac * denseMacs};
            if (e.total < bestDf.total || (e.total == bestDf.total && e.sram < bestDf.sram))
              bestDf = e;
          }
          // Most loaded tile: its share of the blocks, at least one full block.
          double critCycles = std::max(
              double(ceilDiv(pieces, int64_t(T))) * bestDf.total / double(pieces), bestDf.full);
          // Accumulators that cannot be double-buffered drain (one value per column per
          // cycle through the store path) before the next block starts.
          double outPerTile = double(ceilDiv(pieces, int64_t(T)));
          if (!accDouble)
            critCycles += outPerTile * double(tm) * double(tn) / C;
          // Split-K: partial sums reduced on the vector lanes.
          double reduceBytes = 0;
          if (split > 1) {
            double partials = double(B) * double(M) * double(N) * double(split);
            critCycles += partials / (T * double(spec_.tile.vector.lanes));
            reduceBytes = 2 * 4.0 * partials; // written, then read back by the reducer
          }

          // NoC: operands of every piece in, outputs (or FP32 partials) out.
          double nocTotal = double(split) * (double(B) * M * kSlice * eA * bn +
                                             double(B) * kSlice * N * eB * bm) +
                            reduceBytes + double(B) * M * N * eOut;
          double fullPiece = (double(tm) * kSlice * eA + double(kSlice) * tn * eB) +
                             double(tm) * tn * (split > 1 ? 8.0 : eOut);
          double critNoc = std::max(outPerTile * nocTotal / double(pieces), fullPiece);

          // HBM: wave geometry, then the loop order with the least traffic.
          int64_t perBatchBlocks = bm * bn;
          int64_t w = std::clamp<int64_t>(int64_t(T) / split, 1, perBatchBlocks);
          int64_t gm = std::clamp<int64_t>(int64_t(std::lround(std::sqrt(double(w)))), 1, bm);
          int64_t gn = std::min<int64_t>(bn, ceilDiv(w, gm));
          if (gn == bn)
            gm = std::min<int64_t>(bm, ceilDiv(w, gn));
          double aBytes = double(B) * M * K * eA, bBytes = double(B) * K * N * eB;
          double cBytes = double(B) * M * N * eOut;
          // The wave's operand blocks stream through the global buffer double-buffered.
          double streamBuf = 2.0 * (double(gm * tm) * tk * eA + double(tk) * gn * tn * eB);
          if (streamBuf > gbBytes)
            continue;
          double hbm = aBytes * double(ceilDiv(bn, gn)) + bBytes * double(ceilDiv(bm, gm));
          std::string order = "streamed";
          double gbFootprint = streamBuf;
          double avail = gbBytes - streamBuf;
          if (avail > 0) {
            // A panels of p wave-rows resident; B re-read once per panel.
            double rowBytes = double(gm * tm) * double(K) * eA;
            int64_t p = int64_t(avail / rowBytes);
            if (p >= 1) {
              int64_t panel = std::min<int64_t>(M, p * gm * tm);
              double t = aBytes + bBytes * double(ceilDiv(M, panel));
              if (t < hbm) {
                hbm = t;
                order = "m,n,k";
                gbFootprint = streamBuf + double(panel) * double(K) * eA;
              }
            }
            double colBytes = double(gn * tn) * double(K) * eB;
            int64_t q = int64_t(avail / colBytes);
            if (q >= 1) {
              int64_t panel = std::min<int64_t>(N, q * gn * tn);
              double t = bBytes + aBytes * double(ceilDiv(N, panel));
              if (t < hbm) {
                hbm = t;
                order = "n,m,k";
                gbFootprint = streamBuf + double(panel) * double(K) * eB;
              }
            }
          }
          hbm += cBytes;

          double computeSec = critCycles / clock;
          double nocSec = critNoc / nocBw;
          double hbmSec = hbm / hbmBw;
          double firstStep = double(tm) * tk * eA + double(tk) * tn * eB;
          double prologue = double(std::min<int64_t>(pieces, int64_t(T))) * firstStep / hbmBw +
                            firstStep / nocBw + double(tm) * tn * eOut / nocBw;
          double seconds = std::max({computeSec, nocSec, hbmSec}) + prologue + kDispatchSeconds;

          double nocBytes = nocTotal;
          double sramTotal = bestDf.sram + nocBytes;
          double pj = execMacs * energy_.macPjFor(tf->format) +
                      sramTotal * energy_.tileSramPjPerByte +
                      bestDf.acc * energy_.accumulatorPjPerByte +
                      (nocBytes + hbm) * energy_.globalBufferPjPerByte +
                      nocBytes * energy_.nocPjPerByte + hbm * energy_.hbmPjPerByte;
          double joules = pj * (1 + energy_.dynamicOverhead) * 1e-12;
          // Power cap: the kernel cannot draw more than the limit on average.
          double headroom = powerLimitW_ - energy_.staticW;
          bool powerBound = false;
          if (headroom > 0 && joules / seconds > headroom) {
            seconds = joules / headroom;
            powerBound = true;
          }
          if (seconds < best.seconds || (seconds == best.seconds && joules < best.energyJ)) {
            best.tileM = tm;
            best.tileN = tn;
            best.tileK = tk;
            best.dataflow = dataflowName(bestDf.d);
            best.loopOrder = order;
            best.seconds = seconds;
            best.cycles = seconds * clock;
            best.utilization = std::min(1.0, execMacs / (peakSlotsPerCycle * T * best.cycles));
            best.hbmBytes = hbm;
            best.globalBufferBytes = nocBytes;
            best.tileSramBytes = sramTotal;
            best.compulsoryHbmBytes = aBytes + bBytes + cBytes;
            best.energyJ = joules;
            best.bound = powerBound ? Bound::Power
                         : computeSec >= std::max(nocSec, hbmSec) ? Bound::Compute
                                                                  : Bound::Memory;
            best.splitK = split;
            best.blocks = pieces;
            best.waves = ceilDiv(pieces, int64_t(T));
            best.computeSeconds = computeSec;
            best.nocSeconds = nocSec;
            best.hbmSeconds = hbmSec;
            best.prologueSeconds = prologue;
            best.accumulatorBytes = bestDf.acc;
            best.macs = execMacs;
            best.tileSramFootprint = sramNeed;
            best.accumulatorFootprint = accNeed;
            best.globalBufferFootprint = gbFootprint;
          }
        }
      }
    }
  return best;
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

OpTime AccelModel::vectorTime(double flops, double exps, double hbmBytes,
                              double bufferBytes) const {
  const double T = double(spec_.tiles);
  const double clock = spec_.technology.clockGhz * kGB;
  double sfus = 0;
  for (const arch::ExtraUnit &u : spec_.tile.extraUnits)
    if (u.kind == arch::ExtraUnitKind::Sfu)
      sfus += double(u.count);
  double laneOps = flops - exps + (sfus > 0 ? 0.0 : exps * kExpLaneOps);
  double laneSec = laneOps / (T * double(spec_.tile.vector.lanes) * clock * kVectorEfficiency);
  double sfuSec = sfus > 0 ? exps / (T * sfus * clock) : 0.0;
  double compute = std::max(laneSec, sfuSec);
  double memory = 0;
  if (hbmBytes + bufferBytes > 0)
    memory = hbmBytes / (spec_.hbmBandwidthGBps() * kGB * kHbmEfficiency) +
             bufferBytes / (T * spec_.noc.bandwidthGBps * kGB) + kDramLatency;
  OpTime r;
  r.seconds = std::max(compute, memory) + kDispatchSeconds;
  r.bound = memory >= compute ? Bound::Memory : Bound::Compute;
  double vecPeak = T * double(spec_.tile.vector.lanes) * clock * 2;
  r.efficiency = r.bound == Bound::Memory
                     ? std::min(1.0, hbmBytes / (r.seconds * memoryBandwidth()))
                     : std::min(1.0, 2 * flops / (r.seconds * vecPeak));
  r.dramBytes = hbmBytes;
  return r;
}

OpTime AccelModel::streamTime(double bytesRead, double bytesWritten) const {
  return vectorTime(0, 0, bytesRead + bytesWritten, 0);
}

namespace {

/// Exponentials (and other SFU functions) per op: transcendental maps per element,
/// softmax / cross-entropy per logit, AdamW's square root per parameter.
double transcendentals(const workload::Graph &g, const workload::Op &op) {
  auto outElems = [&] {
    double e = 0;
    for (workload::TensorId t : op.outputs)
      e += double(g.tensor(t).elements());
    return e;
  };
  auto isTranscendental = [](OpKind k) {
    switch (k) {
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::Exp:
    case OpKind::Erf:
    case OpKind::Sqrt:
      return true;
    default:
      return false;
    }
  };
  double in0 = op.inputs.empty() ? 0 : double(g.tensor(op.inputs[0]).elements());
  switch (op.kind) {
  case OpKind::Softmax:
  case OpKind::CrossEntropy:
    return in0;
  case OpKind::LossGrad:
    return op.attrs.of == OpKind::MseLoss ? 0 : outElems();
  case OpKind::ActivationGrad:
    return isTranscendental(op.attrs.of) ? outElems() : 0;
  case OpKind::AdamWUpdate:
    return in0;
  default:
    return isTranscendental(op.kind) ? outElems() : 0;
  }
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::TF32 || t == DType::F16 || t == DType::BF16 ||
         t == DType::FP8E4M3 || t == DType::FP8E5M2;
}

} // namespace

OpTime AccelModel::opTime(const workload::Graph &g, const workload::Op &op) const {
  OpCategory cat = workload::opCategory(op.kind);
  OpTime r;
  if (cat == OpCategory::Collective) {
    r.bound = Bound::Communication;
    return r; // costed by the training model
  }
  workload::OpCost c = workload::opCost(g, op);
  const bool backward = op.phase == Phase::BackwardData || op.phase == Phase::BackwardWeight;
  const arch::TensorUnit &tu = spec_.tile.tensor;

  if (cat == OpCategory::Gemm || cat == OpCategory::Conv) {
    Format f = backward ? policy_.backwardGemm : policy_.forwardGemm;
    bool hasWeight = false;
    for (workload::TensorId in : op.inputs)
      hasWeight |= g.tensor(in).role == TensorRole::Parameter;
    bool sparse =
        policy_.sparseWeights && hasWeight &&
        (op.phase == Phase::Forward || op.phase == Phase::Recompute ||
         (op.phase == Phase::BackwardData && tu.sparseBackward != arch::SparseBackward::None));
    double density = 1.0;
    if (!backward && tu.zeroSkipActivations)
      density = policy_.activationDensity;
    if (backward && tu.zeroSkipGradients)
      density = policy_.gradientDensity;
    double outElems = 0;
    for (const GemmShape &s : c.gemms) {
      GemmMapping m = mapGemm(s, f, sparse, density);
      r.seconds += m.seconds;
      r.dramBytes += m.hbmBytes;
      if (r.detail.empty()) {
        r.detail = m.str();
        r.bound = m.bound;
      }
      outElems += double(s.batch) * double(s.m) * double(s.n);
    }
    double vector = c.flops - c.gemmFlops;
    if (vector > 0)
      r.seconds += vectorTime(vector, 0, 0, 0).seconds - kDispatchSeconds;
    // Quantizing the result for the next narrow GEMM: free on the store path, else a
    // vector pass (read BF16, amax, scale, write the narrow format).
    if (isNarrow(f) && !(spec_.tile.scaleCast && spec_.tile.scaleCast->onStorePath)) {
      double rd = outElems * bytesPer(policy_.vectorStorage), wr = outElems * bytesPer(f);
      OpTime cast = vectorTime(kScaleCastOps * outElems, 0, rd + wr, 0);
      r.seconds += cast.seconds;
      r.dramBytes += rd + wr;
      r.detail += ", scale-cast pass";
    }
    double peak = spec_.peakFlops(f);
    r.efficiency = r.seconds > 0 && peak > 0 ? std::min(1.0, c.gemmFlops / (r.seconds * peak)) : 0;
    return r;
  }

  if (cat == OpCategory::Attention && !c.gemms.empty()) {
    const GemmShape &qk = c.gemms[0];
    int64_t qBlock = 128;
    int64_t qBlocks = ceilDiv(std::max<int64_t>(qk.m, 1), qBlock);
    double visited =
        op.attrs.causal ? 0.5 * (1.0 + 1.0 / double(std::max<int64_t>(qBlocks, 1))) : 1.0;
    double tensor = 0;
    for (const GemmShape &s : c.gemms) {
      GemmMapping m = mapFusedGemm(s, policy_.attentionGemm);
      tensor += std::max(m.computeSeconds, m.nocSeconds);
    }
    tensor *= visited;
    double scores = double(qk.batch) * double(qk.m) * double(qk.n);
    double vecFlops = (c.flops - c.gemmFlops) * visited;
    OpTime v = vectorTime(vecFlops, scores * visited, 0, 0);
    double vector = v.seconds - kDispatchSeconds;
    double overlap = spec_.tile.control == arch::ControlStyle::Simt ? kAttentionOverlapSimt
                                                                    : kAttentionOverlapDataflow;
    double compute = std::max(tensor, vector) + (1 - overlap) * std::min(tensor, vector);
    double io = c.bytesRead + c.bytesWritten;
    double memory = io / (spec_.hbmBandwidthGBps() * kGB * kHbmEfficiency) + kDramLatency;
    r.seconds = std::max(compute, memory) + kDispatchSeconds;
    r.bound = compute >= memory ? Bound::Compute : Bound::Memory;
    r.dramBytes = io;
    double peak = spec_.peakFlops(policy_.attentionGemm);
    r.efficiency = peak > 0 ? std::min(1.0, c.gemmFlops * visited / (r.seconds * peak)) : 0;
    r.detail =
        fmt::format("fused {} tensor {:.1f} us, softmax {:.1f} us",
                    op.kind == OpKind::AttentionGrad ? "bwd" : "fwd", tensor * 1e6, vector * 1e6);
    return r;
  }

  if (cat == OpCategory::Movement && c.bytesRead + c.bytesWritten == 0)
    return r; // a view

  // Vector work. Activations and gradients are stored in the policy's vector format;
  // parameters, optimizer state and integer tensors as the graph has them.
  double vs = bytesPer(policy_.vectorStorage);
  double graphBytes = 0, policyBytes = 0;
  auto account = [&](workload::TensorId id) {
    const workload::Tensor &t = g.tensor(id);
    double b = t.bytes();
    graphBytes += b;
    bool act = t.role == TensorRole::Activation || t.role == TensorRole::Gradient ||
               t.role == TensorRole::Input;
    policyBytes += act && isFloat(t.dtype) ? double(t.elements()) * vs : b;
  };
  for (workload::TensorId t : op.inputs)
    account(t);
  for (workload::TensorId t : op.outputs)
    account(t);
  double scale = graphBytes > 0 ? policyBytes / graphBytes : 1.0;
  double rd = c.bytesRead * scale, wr = c.bytesWritten * scale;
  // Inputs the previous op just wrote come from the global buffer when they fit.
  double buffered = 0;
  double gb = spec_.globalBufferMib * kMiB;
  for (workload::TensorId in : op.inputs) {
    const workload::Tensor &t = g.tensor(in);
    if (t.producer.valid() && &g.op(t.producer) + 1 == &op && t.bytes() * scale <= gb / 2)
      buffered += t.bytes() * scale;
  }
  buffered = std::min(buffered, rd);
  double flops = cat == OpCategory::Movement ? 0 : c.flops;
  r = vectorTime(flops, transcendentals(g, op), rd - buffered + wr, buffered);
  return r;
}

//===----------------------------------------------------------------------===//
// Device figures
//===----------------------------------------------------------------------===//

double AccelModel::peakFlops(DType) const { return spec_.peakFlops(policy_.forwardGemm); }

double AccelModel::runtimeReserve() const {
  return std::max(64.0 * 1024 * 1024, 0.01 * memoryCapacity());
}

double AccelModel::memoryCapacity() const { return spec_.hbmCapacityGiB() * kGiB; }

double AccelModel::memoryBandwidth() const { return spec_.hbmBandwidthGBps() * kGB; }

int AccelModel::devicesPerNode() const { return int(spec_.nodes.devicesPerNode); }

Link AccelModel::intraNodeLink() const {
  if (spec_.links.count <= 0) // a single-chip design: peers are reached over the network
    return interNodeLink();
  return Link{double(spec_.links.count) * spec_.links.bandwidthGBpsPerLink * kGB, kLinkEfficiency,
              kLinkLatency};
}

Link AccelModel::interNodeLink() const {
  return Link{spec_.nodes.networkGBpsPerDevice * kGB, kNetworkEfficiency, kNetworkLatency};
}

double AccelModel::staticPower() const { return energy_.staticW; }

double AccelModel::energyPerFlop(DType t) const {
  if (t == DType::F32)
    return energy_.vectorFmaPj / 2 * (1 + energy_.dynamicOverhead) * 1e-12;
  return gemmPjPerFlop_ * 1e-12;
}

double AccelModel::energyPerDramByte() const { return energy_.hbmPjPerByte * 1e-12; }

double AccelModel::energyPerLinkByte() const { return energy_.linkPjPerByte * 1e-12; }

double AccelModel::powerLimit() const { return powerLimitW_; }

} // namespace tessera::perf
