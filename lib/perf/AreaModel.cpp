//===- AreaModel.cpp - bottom-up area / energy model ----------------------------===//
//
// Each component is a formula in the spec's quantities and the technology constants; see
// AreaModel.h for the list and docs/area-model.md for the derivation and the A100
// calibration. Components are computed per fabricated tile and multiplied by the tile
// count, so spare (yield) tiles cost area and leakage but add no throughput.
//
//===----------------------------------------------------------------------===//
#include "perf/AreaModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tessera::perf {

using arch::ArchSpec;
using arch::Format;
using arch::formatInfo;

namespace {
constexpr double kUm2PerMm2 = 1e6;
constexpr double kKiB = 1024;
constexpr double kMiB = 1024 * 1024;
constexpr int kFp16Significand = 11;
constexpr int kFp32Significand = 24;
constexpr int kFp64Significand = 53;

/// Exponent p of A(sig) = A_fp16 * (sig / 11)^p through the FP16 and FP32 FPU areas.
double laneExponent(const TechnologyParams &t) {
  double p =
      std::log(t.fp32FpuUm2 / t.fp16FpuUm2) / std::log(double(kFp32Significand) / kFp16Significand);
  return std::isfinite(p) ? std::max(0.0, p) : 0.0;
}

double logicMm2FromTransistors(double transistors, const TechnologyParams &t) {
  return transistors / (t.logicMtrPerMm2 * 1e6);
}

/// Bits of operand a product lane receives per cycle in `f` at its rate.
double operandBits(const arch::TensorFormat &f) {
  return std::ceil(double(formatInfo(f.format).elementBits) * std::max(1.0, f.rate));
}

double sparseBackwardFactor(arch::SparseBackward b) {
  switch (b) {
  case arch::SparseBackward::None:
    return 1.0;
  case arch::SparseBackward::SeparateMasks:
    return 1.5; // second mask's metadata path and select
  case arch::SparseBackward::Transposable:
    return 2.0; // select on both operands
  }
  return 1.0;
}

double extraUnitUm2(const arch::ExtraUnit &u, const TechnologyParams &t) {
  if (u.areaUm2)
    return *u.areaUm2;
  switch (u.kind) {
  case arch::ExtraUnitKind::Fp32Fma:
    return t.fp32FpuUm2;
  case arch::ExtraUnitKind::Fp64Fma:
    return laneAreaUm2(kFp64Significand, t);
  case arch::ExtraUnitKind::Int32Alu:
    return t.int32AluFraction * t.fp32FpuUm2;
  case arch::ExtraUnitKind::Sfu:
    return t.sfuFraction * t.fp32FpuUm2;
  case arch::ExtraUnitKind::Custom:
    return 0; // the loader requires area_um2 for custom units
  }
  return 0;
}

/// Builds the item list; logic items get transistors from the logic density, SRAM items
/// from their bit count.
class AreaBuilder {
public:
  AreaBuilder(const TechnologyParams &t, AreaBreakdown &out) : t_(t), out_(out) {}

  void logic(AreaCategory c, std::string name, double mm2) {
    if (mm2 <= 0)
      return;
    out_.items.push_back({c, std::move(name), mm2, mm2 * t_.logicMtrPerMm2 * 1e6, false});
  }
  void sram(AreaCategory c, std::string name, double mm2, double bytes) {
    if (mm2 <= 0)
      return;
    double bits = bytes * 8;
    double cellMm2 = bits * t_.sramBitcellUm2 / kUm2PerMm2;
    double periphery = std::max(0.0, mm2 - cellMm2);
    double tr = bits * t_.sramTransistorsPerBit + periphery * t_.logicMtrPerMm2 * 1e6;
    out_.items.push_back({c, std::move(name), mm2, tr, true});
  }

private:
  const TechnologyParams &t_;
  AreaBreakdown &out_;
};

} // namespace

std::string_view areaCategoryName(AreaCategory c) {
  switch (c) {
  case AreaCategory::Cores:
    return "cores (tiles incl. tensor units, SRAM/RF)";
  case AreaCategory::OnChipInterconnect:
    return "on-chip interconnect";
  case AreaCategory::GlobalBuffer:
    return "global buffer / L2";
  case AreaCategory::MemoryPhy:
    return "memory PHY";
  case AreaCategory::MemoryController:
    return "memory controller";
  case AreaCategory::OffChipPhy:
    return "off-chip interconnect PHY";
  case AreaCategory::Other:
    return "other";
  }
  return "?";
}

double laneAreaUm2(int significandBits, const TechnologyParams &t) {
  return t.fp16FpuUm2 * std::pow(double(significandBits) / kFp16Significand, laneExponent(t));
}

double sramPjPerByte(double bytes, const TechnologyParams &t) {
  double b = std::clamp(bytes, 1 * kKiB, 1 * kMiB);
  double alpha = std::log(t.sramPjPerByte1Mib / t.sramPjPerByte8Kib) / std::log(128.0);
  return t.sramPjPerByte8Kib * std::pow(b / (8 * kKiB), alpha);
}

//===----------------------------------------------------------------------===//
// Area
//===----------------------------------------------------------------------===//

AreaBreakdown estimateArea(const ArchSpec &s, const TechnologyParams &t) {
  AreaBreakdown out;
  out.specName = s.name;
  AreaBuilder b(t, out);
  const arch::TileSpec &tile = s.tile;
  const arch::TensorUnit &tu = tile.tensor;
  const double tiles = double(s.fabricatedTiles());
  const double lanes = double(tu.pes() * tu.dotWidth); // per tile
  auto chip = [&](double um2PerTile) { return um2PerTile * tiles / kUm2PerMm2; };

  // ---- tensor unit
  double laneUm2 = 0;
  Format widest = tu.formats.empty() ? Format::BF16 : tu.formats[0].format;
  for (const arch::TensorFormat &f : tu.formats) {
    double a = f.rate * laneAreaUm2(formatInfo(f.format).significandBits, t);
    if (a > laneUm2) {
      laneUm2 = a;
      widest = f.format;
    }
  }
  double arrayUm2 = lanes * laneUm2;
  double tileLogicUm2 = 0;
  auto tileLogic = [&](std::string name, double um2PerTile) {
    tileLogicUm2 += um2PerTile;
    b.logic(AreaCategory::Cores, std::move(name), chip(um2PerTile));
  };
  tileLogic(fmt::format("tensor array: {} lanes/tile sized for {}", int64_t(lanes),
                        arch::formatName(widest)),
            arrayUm2);
  tileLogic("tensor FP32 accumulate adders",
            double(tu.pes()) * t.accumulatorAdderFraction * t.fp32FpuUm2);
  if (tu.formats.size() > 1)
    tileLogic(fmt::format("tensor format muxing ({} formats)", tu.formats.size()),
              double(tu.formats.size() - 1) * t.formatMuxFraction * arrayUm2);
  bool anyMx = std::any_of(tu.formats.begin(), tu.formats.end(),
                           [](const arch::TensorFormat &f) { return formatInfo(f.format).isMx; });
  if (anyMx)
    tileLogic("MX block-scale logic", t.mxScaleFraction * arrayUm2);

  double allOpBits = 0, sparseOpBits = 0;
  for (const arch::TensorFormat &f : tu.formats) {
    allOpBits = std::max(allOpBits, operandBits(f));
    if (f.sparse)
      sparseOpBits = std::max(sparseOpBits, operandBits(f));
  }
  if (!tu.sparsityPatterns.empty()) {
    double maxM = 0, maxExpand = 0;
    std::string names;
    for (const arch::SparsityPattern &p : tu.sparsityPatterns) {
      maxM = std::max(maxM, double(p.m));
      maxExpand = std::max(maxExpand, double(p.m) / double(p.n));
      names += (names.empty() ? "" : ", ") + p.str();
    }
    double perLane = maxM * sparseOpBits * t.muxTransistorsPerInputBit +
                     (maxExpand - 1) * sparseOpBits * t.flopTransistorsPerBit;
    double tr = lanes * perLane * sparseBackwardFactor(tu.sparseBackward);
    tileLogic(fmt::format("N:M sparsity select ({}; backward {})", names,
                          arch::sparseBackwardName(tu.sparseBackward)),
              logicMm2FromTransistors(tr, t) * kUm2PerMm2);
  }
  double w = t.zeroSkipWindow;
  double zeroSkipPerLane = w * allOpBits * t.muxTransistorsPerInputBit +
                           std::max(0.0, w - 1) * allOpBits * t.flopTransistorsPerBit +
                           2 * allOpBits;
  if (tu.zeroSkipActivations)
    tileLogic("zero skipping (activations)",
              logicMm2FromTransistors(lanes * zeroSkipPerLane, t) * kUm2PerMm2);
  if (tu.zeroSkipGradients)
    tileLogic("zero skipping (gradients)",
              logicMm2FromTransistors(lanes * zeroSkipPerLane, t) * kUm2PerMm2);
  if (tile.scaleCast) {
    bool stochastic = std::find(tile.scaleCast->rounding.begin(), tile.scaleCast->rounding.end(),
                                arch::Rounding::Stochastic) != tile.scaleCast->rounding.end();
    double laneCast =
        t.scaleCastFpuFraction * t.fp32FpuUm2 +
        (stochastic ? logicMm2FromTransistors(t.stochasticRoundingTransistors, t) * kUm2PerMm2 : 0);
    tileLogic(fmt::format("scale-cast lanes ({} per tile)", tu.cols), double(tu.cols) * laneCast);
  }

  // ---- vector and extra units
  int vecSig = 0;
  for (Format f : tile.vector.formats)
    vecSig = std::max(vecSig, formatInfo(f).significandBits);
  double vecLane =
      laneAreaUm2(vecSig, t) *
      (1 + t.formatMuxFraction * double(std::max<size_t>(1, tile.vector.formats.size()) - 1));
  tileLogic(fmt::format("vector unit ({} lanes)", tile.vector.lanes),
            double(tile.vector.lanes) * vecLane);
  for (const arch::ExtraUnit &u : tile.extraUnits)
    tileLogic(fmt::format("extra: {} ({} x {})", u.name, u.count, arch::extraUnitKindName(u.kind)),
              double(u.count) * extraUnitUm2(u, t));

  // ---- tile control
  double controlUm2 = tile.control == arch::ControlStyle::Simt
                          ? t.simtControlMm2PerTile * kUm2PerMm2
                          : t.dataflowControlFraction * tileLogicUm2;
  b.logic(AreaCategory::Cores,
          fmt::format("tile control ({})", arch::controlStyleName(tile.control)), chip(controlUm2));

  // ---- tile memories
  double sramMm2 = double(tile.sramKib) / 1024 * t.tileSramMm2PerMib;
  double accMm2 =
      double(tile.accumulatorKib) / 1024 * t.tileSramMm2PerMib * t.accumulatorSramFactor;
  b.sram(AreaCategory::Cores, fmt::format("tile SRAM ({} KiB/tile)", tile.sramKib), sramMm2 * tiles,
         double(tile.sramKib) * kKiB * tiles);
  b.sram(AreaCategory::Cores, fmt::format("accumulator SRAM ({} KiB/tile)", tile.accumulatorKib),
         accMm2 * tiles, double(tile.accumulatorKib) * kKiB * tiles);
  out.tileMm2 = (tileLogicUm2 + controlUm2) / kUm2PerMm2 + sramMm2 + accMm2;

  // ---- uncore
  double nocTBps = tiles * s.noc.bandwidthGBps / 1000;
  b.logic(AreaCategory::OnChipInterconnect, fmt::format("NoC ({:.1f} TB/s aggregate)", nocTBps),
          nocTBps * t.nocMm2PerTbps);
  b.sram(AreaCategory::GlobalBuffer, fmt::format("global buffer ({} MiB)", s.globalBufferMib),
         s.globalBufferMib * t.globalBufferMm2PerMib, s.globalBufferMib * kMiB);
  b.logic(AreaCategory::MemoryPhy, fmt::format("HBM PHY ({} stacks)", s.hbm.stacks),
          double(s.hbm.stacks) * t.hbmPhyMm2PerStack);
  b.logic(AreaCategory::MemoryController,
          fmt::format("HBM controllers ({:.0f} GB/s)", s.hbmBandwidthGBps()),
          s.hbmBandwidthGBps() * t.memoryControllerMm2PerGbps);
  b.logic(AreaCategory::OffChipPhy,
          fmt::format("link PHY ({} x {} GB/s/dir)", s.links.count, s.links.bandwidthGBpsPerLink),
          double(s.links.count) * s.links.bandwidthGBpsPerLink * t.linkPhyMm2PerGbps);
  b.logic(AreaCategory::Other, "host interface, command processor, clocks, I/O", t.otherMm2);

  std::stable_sort(out.items.begin(), out.items.end(),
                   [](const AreaItem &x, const AreaItem &y) { return x.category < y.category; });
  for (const AreaItem &i : out.items) {
    out.totalMm2 += i.mm2;
    out.totalTransistors += i.transistors;
  }
  return out;
}

AreaBreakdown estimateArea(const ArchSpec &spec) { return estimateArea(spec, technologyFor(spec)); }

double AreaBreakdown::categoryMm2(AreaCategory c) const {
  double s = 0;
  for (const AreaItem &i : items)
    if (i.category == c)
      s += i.mm2;
  return s;
}

double AreaBreakdown::categoryTransistors(AreaCategory c) const {
  double s = 0;
  for (const AreaItem &i : items)
    if (i.category == c)
      s += i.transistors;
  return s;
}

std::string AreaBreakdown::table() const {
  std::string s =
      fmt::format("area of '{}'\n{:<58} {:>9} {:>10}\n", specName, "component", "mm2", "MTr");
  for (int c = 0; c < kAreaCategories; ++c) {
    auto cat = AreaCategory(c);
    for (const AreaItem &i : items)
      if (i.category == cat)
        s += fmt::format("  {:<56} {:>9.2f} {:>10.0f}\n", i.component, i.mm2, i.transistors / 1e6);
    s += fmt::format("{:<58} {:>9.2f} {:>10.0f}\n", areaCategoryName(cat), categoryMm2(cat),
                     categoryTransistors(cat) / 1e6);
  }
  s += fmt::format("{:<58} {:>9.2f} {:>10.0f}\n", "total", totalMm2, totalTransistors / 1e6);
  s += fmt::format("one tile: {:.3f} mm2\n", tileMm2);
  return s;
}

//===----------------------------------------------------------------------===//
// Energy
//===----------------------------------------------------------------------===//

namespace {
/// pJ per MAC of format `f` on an array whose dot products sum `products` terms before
/// one FP32 accumulate.
double macPj(Format f, double products, const TechnologyParams &t) {
  const arch::FormatInfo &fi = formatInfo(f);
  double mult, add;
  if (fi.isInteger) {
    double r = double(fi.significandBits) / 8;
    mult = t.int8MultPj * r * r;
    add = t.int32AddPj;
  } else {
    double r = double(fi.significandBits) / kFp16Significand;
    mult = t.fp16MultPj * r * r;
    add = t.fp16AddPj * r;
  }
  return mult + add + t.fp32AddPj / std::max(1.0, products);
}
} // namespace

EnergyTable estimateEnergy(const ArchSpec &s, const TechnologyParams &t,
                           const AreaBreakdown &area) {
  EnergyTable e;
  e.specName = s.name;
  const arch::TensorUnit &tu = s.tile.tensor;
  for (const arch::TensorFormat &f : tu.formats)
    e.macPj.emplace_back(f.format, macPj(f.format, double(tu.dotWidth) * f.rate, t));
  e.vectorFmaPj = t.fp32FmaPj;
  e.tileSramPjPerByte = sramPjPerByte(double(s.tile.sramKib) * kKiB, t);
  e.accumulatorPjPerByte = sramPjPerByte(double(s.tile.accumulatorKib) * kKiB, t);
  e.globalBufferPjPerByte = sramPjPerByte(s.globalBufferMib * kMiB, t);
  e.nocPjPerByte = 8 * t.nocPjPerBitMm * t.nocDistanceFraction * std::sqrt(area.totalMm2);
  e.hbmPjPerByte = 8 * t.hbmPjPerBit;
  e.linkPjPerByte = 8 * t.linkPjPerBit;
  e.dynamicOverhead = t.dynamicOverhead;
  e.staticW = t.staticWPerMm2 * area.totalMm2 + double(s.hbm.stacks) * t.hbmStaticWPerStack;
  return e;
}

EnergyTable estimateEnergy(const ArchSpec &spec) {
  TechnologyParams t = technologyFor(spec);
  return estimateEnergy(spec, t, estimateArea(spec, t));
}

double EnergyTable::macPjFor(Format f) const {
  for (const auto &[format, pj] : macPj)
    if (format == f)
      return pj;
  return 0;
}

std::string EnergyTable::table() const {
  std::string s = fmt::format("energy of '{}'\n", specName);
  for (const auto &[f, pj] : macPj)
    s += fmt::format("  MAC {:<10} {:>8.4f} pJ\n", arch::formatName(f), pj);
  s += fmt::format("  vector FP32 FMA    {:>8.4f} pJ\n", vectorFmaPj);
  s += fmt::format("  tile SRAM          {:>8.4f} pJ/B\n", tileSramPjPerByte);
  s += fmt::format("  accumulator SRAM   {:>8.4f} pJ/B\n", accumulatorPjPerByte);
  s += fmt::format("  global buffer      {:>8.4f} pJ/B\n", globalBufferPjPerByte);
  s += fmt::format("  NoC transport      {:>8.4f} pJ/B\n", nocPjPerByte);
  s += fmt::format("  HBM                {:>8.4f} pJ/B\n", hbmPjPerByte);
  s += fmt::format("  chip-to-chip link  {:>8.4f} pJ/B\n", linkPjPerByte);
  s += fmt::format("  dynamic overhead   {:>8.2f} x\n", dynamicOverhead);
  s += fmt::format("  static power       {:>8.1f} W\n", staticW);
  return s;
}

GemmEnergy largeGemmEnergy(const ArchSpec &s, const EnergyTable &e, const TechnologyParams &t,
                           Format format) {
  GemmEnergy g;
  g.format = format;
  const arch::TensorUnit &tu = s.tile.tensor;
  double peakMacs = s.peakMacsPerSecond(format);
  if (peakMacs <= 0)
    return g;
  double eb = formatInfo(format).storageBits / 8; // bytes per element
  double sramBytes = double(s.tile.sramKib) * kKiB;
  double accBytes = double(s.tile.accumulatorKib) * kKiB;
  double gbBytes = s.globalBufferMib * kMiB;

  // Array pass: A reused across cols, B across rows.
  g.tileBytesPerMac = eb * (1.0 / double(tu.rows) + 1.0 / double(tu.cols));
  // Output block held in the accumulator SRAM; operands double-buffered in the scratchpad.
  double blockT = std::max({std::floor(std::sqrt(accBytes / 4)), double(tu.rows), double(tu.cols)});
  double kBlock = std::max(1.0, sramBytes / (4 * blockT * eb));
  double kPerAccumulate =
      s.tile.control == arch::ControlStyle::Simt ? t.simtMmaKSteps * double(tu.dotWidth) : kBlock;
  g.accumulatorBytesPerMac = 8 / kPerAccumulate; // FP32 read + write
  g.globalBytesPerMac = 2 * eb / blockT;
  double gbBlock = gbBytes > 0 ? std::max(blockT, std::sqrt(gbBytes / (3 * eb))) : blockT;
  g.hbmBytesPerMac = 2 * eb / gbBlock;

  double perMac[7];
  perMac[0] = e.macPjFor(format);
  perMac[1] = (g.tileBytesPerMac + g.globalBytesPerMac) * e.tileSramPjPerByte; // reads + fills
  perMac[2] = g.accumulatorBytesPerMac * e.accumulatorPjPerByte;
  perMac[3] = (g.globalBytesPerMac + g.hbmBytesPerMac) * e.globalBufferPjPerByte;
  perMac[4] = g.globalBytesPerMac * e.nocPjPerByte;
  perMac[5] = g.hbmBytesPerMac * e.hbmPjPerByte;
  double dyn = perMac[0] + perMac[1] + perMac[2] + perMac[3] + perMac[4] + perMac[5];
  perMac[6] = e.dynamicOverhead * dyn;
  g.mac = perMac[0] / 2;
  g.tileSram = perMac[1] / 2;
  g.accumulator = perMac[2] / 2;
  g.globalBuffer = perMac[3] / 2;
  g.noc = perMac[4] / 2;
  g.hbm = perMac[5] / 2;
  g.overhead = perMac[6] / 2;
  g.staticPower = e.staticW / (2 * peakMacs) * 1e12;
  g.watts = g.total() * 1e-12 * 2 * peakMacs;
  return g;
}

std::string GemmEnergy::table() const {
  std::string s = fmt::format("large {} GEMM at peak, pJ per FLOP\n", arch::formatName(format));
  s += fmt::format("  MAC datapath        {:>7.4f}\n", mac);
  s += fmt::format("  tile SRAM           {:>7.4f}   ({:.4f} B/MAC from the array pass)\n",
                   tileSram, tileBytesPerMac);
  s += fmt::format("  accumulator SRAM    {:>7.4f}   ({:.4f} B/MAC)\n", accumulator,
                   accumulatorBytesPerMac);
  s += fmt::format("  global buffer       {:>7.4f}   ({:.4f} B/MAC to tiles)\n", globalBuffer,
                   globalBytesPerMac);
  s += fmt::format("  NoC                 {:>7.4f}\n", noc);
  s += fmt::format("  HBM                 {:>7.4f}   ({:.5f} B/MAC)\n", hbm, hbmBytesPerMac);
  s += fmt::format("  clock/control       {:>7.4f}\n", overhead);
  s += fmt::format("  static              {:>7.4f}\n", staticPower);
  s += fmt::format("  total               {:>7.4f}   ({:.0f} W at peak)\n", total(), watts);
  return s;
}

} // namespace tessera::perf
