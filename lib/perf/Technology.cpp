//===- Technology.cpp - the area / energy technology table --------------------===//
//
// Defaults per node and their sources. 5 nm values are the 7 nm ones scaled with the
// Stillmaker-Baas factors of technology.md (area x0.714, energy x0.845) unless the
// reference gives a 5 nm figure of its own; analog PHYs and wires do not scale.
//
// Fitted rows are fitted once, on the A100 die breakdown (gpu-baselines.md): each is the
// published category area minus what the model's literature figures already explain,
// divided by the design quantity the row scales with. AreaModelTest re-derives the A100
// table from these and checks it; the H100-like spec is the out-of-sample check.
//
//===----------------------------------------------------------------------===//
#include "perf/Technology.h"

#include <fmt/format.h>

#include <cmath>

namespace tessera::perf {

namespace {

using TP = TechnologyParams;
using O = ParamOrigin;

/// Stillmaker-Baas 7 -> 5 nm factors (technology.md).
constexpr double kArea7to5 = 0.714;
constexpr double kEnergy7to5 = 0.845;

struct Default {
  double TP::*field;
  double at7nm;
  double at5nm;
  O origin;
  const char *source;
};

// clang-format off
const Default kDefaults[] = {
  // ---- arithmetic area
  {&TP::fp16FpuUm2, 263, 183, O::Literature,
   "technology.md: FP16 FPU, OpenPiton/Ariane counts scaled to 7/5 nm"},
  {&TP::fp32FpuUm2, 1392, 970, O::Literature, "technology.md: FP32 FPU, same source"},
  {&TP::accumulatorAdderFraction, 0.3, 0.3, O::Estimate,
   "an FP32 adder is ~1/3 of an FP32 FMA (no multiplier array)"},
  {&TP::formatMuxFraction, 0.05, 0.05, O::Estimate,
   "operand unpacking and product alignment per extra format"},
  {&TP::mxScaleFraction, 0.03, 0.03, O::Estimate,
   "an 8-bit E8M0 exponent add and shift per PE, amortized over the lanes"},
  {&TP::muxTransistorsPerInputBit, 3, 3, O::Estimate,
   "transmission-gate mux: 2 per input bit plus select decode"},
  {&TP::flopTransistorsPerBit, 24, 24, O::Estimate, "scan D flip-flop, 20-28 transistors"},
  {&TP::zeroSkipWindow, 2, 2, O::Estimate,
   "look-ahead of 2 PE steps: the generated tensor unit fetches 2 steps per cycle and issues "
   "at most one (RTL cycle counts in docs/validation.md)"},
  {&TP::scaleCastFpuFraction, 0.5, 0.5, O::Estimate,
   "amax compare + FP32 scale multiply (~half an FMA) + round and pack"},
  {&TP::stochasticRoundingTransistors, 2000, 2000, O::Estimate,
   "32-bit LFSR (~770) + 32-bit adder (~900) + control"},
  {&TP::int32AluFraction, 0.35, 0.35, O::Estimate,
   "adder, logic and shifter; IMAD multiplies share the FP32 datapath"},
  {&TP::sfuFraction, 2.0, 2.0, O::Estimate,
   "table lookup + quadratic interpolation (Oberman & Siu) ~ two FP32 FMAs"},
  // ---- tile control
  {&TP::dataflowControlFraction, 0.15, 0.15, O::Estimate,
   "TPU v1: control 2 % of die vs 24 % matrix unit (~8 %, Jouppi et al. ISCA 2017); "
   "doubled for small tiles"},
  {&TP::simtControlMm2PerTile, 0.9437, 0.9437 * kArea7to5, O::Fitted,
   "A100 cores 476.3 mm2 minus modelled datapath and SRAM, over 128 SMs"},
  // ---- memories
  {&TP::tileSramMm2PerMib, 3.0, 2.1, O::Literature,
   "technology.md: 2.4-3.0 (7 nm) / 1.7-2.1 (5 nm) mm2/MB incl. periphery; upper end "
   "for small arrays"},
  {&TP::accumulatorSramFactor, 1.5, 1.5, O::Estimate,
   "read-modify-write every cycle: a second port"},
  {&TP::globalBufferMm2PerMib, 2.9825, 2.9825 * 0.7, O::Fitted,
   "A100 L2: 119.3 mm2 / 40 MiB (within technology.md's 2.4-3.0); 5 nm x0.7 as the "
   "reference's SRAM range"},
  {&TP::sramBitcellUm2, 0.027, 0.021, O::Literature,
   "technology.md bit cell (7 nm); TSMC N5 high-density cell 0.021 um2"},
  {&TP::sramTransistorsPerBit, 6, 6, O::Literature, "6T cell"},
  {&TP::logicMtrPerMm2, 65.6, 98.3, O::Literature,
   "achieved densities: A100 54.2 B / 826 mm2; H100 80 B / 814 mm2"},
  // ---- uncore
  {&TP::nocMm2PerTbps, 8.909, 8.909 * kArea7to5, O::Fitted,
   "A100 on-chip interconnect 76.4 mm2 / (128 SMs x 67 GB/s)"},
  {&TP::hbmPhyMm2PerStack, 11.6, 11.6, O::Literature,
   "gpu-baselines.md: A100 58.0 mm2 / 5 stacks (technology.md 10.5-11.6); no shrink"},
  {&TP::memoryControllerMm2PerGbps, 0.0156, 0.0156 * kArea7to5, O::Fitted,
   "A100 memory controller 31.8 mm2 / 2039 GB/s"},
  {&TP::linkPhyMm2PerGbps, 0.076, 0.076, O::Literature,
   "technology.md: NVLink3 PHY 1.9 mm2 per 25 GB/s/dir link (LLMCompass); no shrink"},
  {&TP::otherMm2, 40.0, 40.0 * kArea7to5, O::Fitted, "A100 'other' 40.0 mm2"},
  // ---- energy
  {&TP::fp16MultPj, 0.10, 0.10 * kEnergy7to5, O::Literature,
   "technology.md: Horowitz 45 nm 1.1 pJ x0.094"},
  {&TP::fp16AddPj, 0.038, 0.038 * kEnergy7to5, O::Literature, "Horowitz 0.4 pJ x0.094"},
  {&TP::fp32AddPj, 0.085, 0.085 * kEnergy7to5, O::Literature, "Horowitz 0.9 pJ x0.094"},
  {&TP::fp32FmaPj, 0.43, 0.43 * kEnergy7to5, O::Literature, "Horowitz FP32 MAC 4.6 pJ x0.094"},
  {&TP::int8MultPj, 0.019, 0.019 * kEnergy7to5, O::Literature, "Horowitz 0.2 pJ x0.094"},
  {&TP::int32AddPj, 0.009, 0.009 * kEnergy7to5, O::Literature, "Horowitz 0.1 pJ x0.094"},
  {&TP::sramPjPerByte8Kib, 0.1175, 0.1175 * kEnergy7to5, O::Literature,
   "Horowitz 8 KB 64-bit read 10 pJ x0.094 / 8 B (optimistic at 7 nm: wires)"},
  {&TP::sramPjPerByte1Mib, 1.175, 1.175 * kEnergy7to5, O::Literature,
   "Horowitz 1 MB 64-bit read ~100 pJ x0.094 / 8 B"},
  {&TP::nocPjPerBitMm, 0.06, 0.06, O::Estimate,
   "C*V^2*activity: ~0.2 pF/mm x (0.75 V)^2 x 0.5; wires barely scale"},
  {&TP::nocDistanceFraction, 0.5, 0.5, O::Estimate,
   "mean tile-to-buffer route ~ half the die edge"},
  {&TP::hbmPjPerBit, 4.0, 4.0, O::Literature,
   "technology.md: HBM2/2e access 3-4 pJ/bit, upper end to include PHY and controller"},
  {&TP::linkPjPerBit, 1.3, 1.3, O::Estimate,
   "NVLink-class SerDes ~1-2 pJ/bit; same figure as the GPU model"},
  {&TP::dynamicOverhead, 0.3, 0.3, O::Estimate,
   "clock tree, pipeline registers and sequencing: 20-40 % of dynamic power"},
  {&TP::simtMmaKSteps, 2, 2, O::Literature,
   "A100 HMMA.m16n8k16: K = 16 = 2 x dot_width 8 per instruction"},
  {&TP::staticWPerMm2, 0.1, 0.1, O::Estimate,
   "leakage ~20 % of A100's 400 W TDP at 826 mm2 (the GPU model assumes 25 % static "
   "including the board)"},
  {&TP::hbmStaticWPerStack, 1.5, 1.5, O::Estimate, "HBM refresh and idle PHY per stack"},
};
// clang-format on

const Default *findDefault(double TP::*field) {
  for (const Default &d : kDefaults)
    if (d.field == field)
      return &d;
  return nullptr;
}

} // namespace

std::string_view paramOriginName(ParamOrigin o) {
  switch (o) {
  case ParamOrigin::Literature:
    return "literature";
  case ParamOrigin::Fitted:
    return "fitted (A100)";
  case ParamOrigin::Estimate:
    return "estimate";
  }
  return "?";
}

const std::vector<TechnologyParamInfo> &technologyTable() {
  static const std::vector<TechnologyParamInfo> table = [] {
    std::vector<TechnologyParamInfo> t;
#define TECH_PARAM(Field, Key, Unit, Positive, What)                                               \
  {                                                                                                \
    const Default *d = findDefault(&TP::Field);                                                    \
    t.push_back({&TP::Field, Key, Unit, What, d ? d->at7nm : std::nan(""),                         \
                 d ? d->at5nm : std::nan(""), d ? d->origin : O::Estimate,                         \
                 d ? d->source : "MISSING DEFAULT"});                                              \
  }
#include "arch/TechnologyParams.def"
    return t;
  }();
  return table;
}

TechnologyParams defaultTechnology(arch::TechNode node) {
  TechnologyParams p;
  for (const TechnologyParamInfo &row : technologyTable())
    p.*row.field = node == arch::TechNode::N7 ? row.at7nm : row.at5nm;
  return p;
}

TechnologyParams technologyFor(const arch::ArchSpec &spec) {
  TechnologyParams p = defaultTechnology(spec.technology.node);
#define TECH_PARAM(Field, ...)                                                                     \
  if (spec.overrides.Field)                                                                        \
    p.Field = *spec.overrides.Field;
#include "arch/TechnologyParams.def"
  return p;
}

std::string technologyTableMarkdown() {
  std::string s = "| key | unit | 7 nm | 5 nm | origin | source |\n"
                  "|---|---|---|---|---|---|\n";
  for (const TechnologyParamInfo &r : technologyTable())
    s += fmt::format("| `{}` | {} | {:.4g} | {:.4g} | {} | {} |\n", r.key, r.unit, r.at7nm, r.at5nm,
                     paramOriginName(r.origin), r.source);
  return s;
}

} // namespace tessera::perf
