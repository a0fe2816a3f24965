//===- AreaModel.h - die area, transistors and energy of an arch spec ---------===//
//
// An analytical area / energy model of a training accelerator described by an ArchSpec,
// built bottom-up from per-component figures (Technology.h) and calibrated on the A100
// die breakdown. Method and every constant: docs/area-model.md.
//
// Area, per fabricated tile (enabled + spare):
//  * tensor array: rows x cols x dot_width product lanes, each sized for the format that
//    needs the most multiplier area at its rate, max_f(rate_f * A(sig_f)), where
//    A(sig) = A_fp16 * (sig / 11)^p and p is fixed by the FP16 and FP32 FPU areas
//    (~2.1: multiplier area grows with the square of the significand). Narrow formats
//    at higher rates split the wide multiplier (bit partitioning); a multi-format array
//    costs its widest format plus muxing per extra format; one FP32 accumulate adder per
//    PE; block-scale logic when an MX format is present;
//  * N:M sparsity: per lane an M:1 operand select and a wider operand window, counted in
//    transistors (x2 for transposable masks, which select on both operands); zero
//    skipping likewise with a look-ahead window; scale-cast lanes per array column;
//  * vector unit and extra units from the FPU figures; tile control as a fraction of the
//    tile's logic (dataflow) or a fitted per-SM area (simt);
//  * tile SRAM and accumulator SRAM in mm2 per MiB.
// Uncore: NoC proportional to aggregate tile bandwidth, global buffer per MiB, an HBM PHY
// per stack, memory controllers per GB/s, link PHYs per GB/s, and a fixed "other".
//
// Transistors: logic, periphery and PHY area at the node's achieved density; SRAM bit
// cells at 6 transistors per bit (their periphery is area above the bit cells).
//
// Energy: per-op energies (MAC per format, SRAM per byte by array size, NoC, HBM, link)
// and static power, plus the energy per FLOP of a large compute-bound GEMM under stated
// data-reuse assumptions (largeGemmEnergy), the figure to hold against the A100's
// ~1.28 pJ/FLOP at TDP.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "arch/ArchSpec.h"
#include "perf/Technology.h"

#include <string>
#include <vector>

namespace tessera::perf {

/// The categories of the published A100 die breakdown (gpu-baselines.md).
enum class AreaCategory : uint8_t {
  Cores,              ///< tiles: arithmetic, tile SRAM / RF, tile control
  OnChipInterconnect, ///< NoC / crossbar
  GlobalBuffer,       ///< L2 / global buffer
  MemoryPhy,          ///< HBM PHYs
  MemoryController,   ///< HBM controllers
  OffChipPhy,         ///< chip-to-chip link PHYs
  Other,              ///< host interface, command processor, clocks, I/O
};
constexpr int kAreaCategories = 7;
std::string_view areaCategoryName(AreaCategory c);

/// One modelled component, for the whole die.
struct AreaItem {
  AreaCategory category = AreaCategory::Other;
  std::string component;
  double mm2 = 0;
  double transistors = 0;
  bool sram = false; ///< transistors counted from bits
};

struct AreaBreakdown {
  std::string specName;
  std::vector<AreaItem> items; ///< in category order, then model order
  double totalMm2 = 0;
  double totalTransistors = 0;
  double tileMm2 = 0; ///< one fabricated tile

  double categoryMm2(AreaCategory c) const;
  double categoryTransistors(AreaCategory c) const;
  /// Plain-text table: every component, category subtotals and the total.
  std::string table() const;
};

/// Area and transistors of `spec` with the given technology constants.
AreaBreakdown estimateArea(const arch::ArchSpec &spec, const TechnologyParams &tech);
/// Same with technologyFor(spec).
AreaBreakdown estimateArea(const arch::ArchSpec &spec);

/// Area of one multiplier lane for a significand width, A_fp16 * (sig / 11)^p (um2).
double laneAreaUm2(int significandBits, const TechnologyParams &tech);
/// Energy of one read or write byte of an SRAM array of `bytes` (pJ): log-log
/// interpolation between the 8 KiB and 1 MiB figures, clamped to [1 KiB, 1 MiB] (larger
/// buffers are banked; their wires are counted as NoC).
double sramPjPerByte(double bytes, const TechnologyParams &tech);

/// Per-operation energies of a design.
struct EnergyTable {
  std::string specName;
  /// pJ per MAC per tensor format, in the spec's format order, including the MAC's share
  /// of the FP32 accumulate.
  std::vector<std::pair<arch::Format, double>> macPj;
  double vectorFmaPj = 0; ///< one FP32 FMA on a vector lane
  double tileSramPjPerByte = 0;
  double accumulatorPjPerByte = 0;
  double globalBufferPjPerByte = 0;
  double nocPjPerByte = 0; ///< tile <-> global buffer transport
  double hbmPjPerByte = 0;
  double linkPjPerByte = 0;
  double dynamicOverhead = 0; ///< fraction added to datapath + memory energy
  double staticW = 0;         ///< leakage + HBM background

  /// pJ per MAC in `f` (0 if the tensor unit lacks it).
  double macPjFor(arch::Format f) const;
  std::string table() const;
};

EnergyTable estimateEnergy(const arch::ArchSpec &spec, const TechnologyParams &tech,
                           const AreaBreakdown &area);
EnergyTable estimateEnergy(const arch::ArchSpec &spec);

/// Energy per FLOP of a large compute-bound GEMM running at peak in `format`, by where it
/// goes. Reuse assumptions (docs/area-model.md): operands are read from tile SRAM once
/// per array pass (e * (1/rows + 1/cols) bytes per MAC); output blocks T x T live in the
/// accumulator SRAM (T = sqrt(accumulator bytes / 4)) and are fed from the global buffer
/// over the NoC (2e / T bytes per MAC); partial sums return to the accumulator SRAM once
/// per K block that fits the double-buffered scratchpad (dataflow) or once per MMA
/// instruction (simt); the global buffer holds square blocks of A, B, C, so HBM supplies
/// 2e / G bytes per MAC.
struct GemmEnergy {
  arch::Format format = arch::Format::BF16;
  // Traffic assumed, bytes per MAC.
  double tileBytesPerMac = 0, accumulatorBytesPerMac = 0, globalBytesPerMac = 0, hbmBytesPerMac = 0;
  // pJ per FLOP (2 FLOPs per MAC).
  double mac = 0, tileSram = 0, accumulator = 0, globalBuffer = 0, noc = 0, hbm = 0, overhead = 0,
         staticPower = 0;
  double dynamic() const {
    return mac + tileSram + accumulator + globalBuffer + noc + hbm + overhead;
  }
  double total() const { return dynamic() + staticPower; }
  /// Watts at peak: total() x peak FLOP/s.
  double watts = 0;
  std::string table() const;
};
GemmEnergy largeGemmEnergy(const arch::ArchSpec &spec, const EnergyTable &energy,
                           const TechnologyParams &tech, arch::Format format);

} // namespace tessera::perf
