//===- Fpga.h - FPGA synthesis and place-and-route reports ----------------===//
//
// The open FPGA flow run on a Tessera design, as external processes (Yosys, nextpnr;
// never linked), producing a resource and Fmax report:
//
//   xilinx  yosys: read_verilog; synth_xilinx -top T -flatten; stat -json
//           -> LUT1..LUT6, MUXF7/8, FF, CARRY4, DSP48E1, RAMB18E1 / RAMB36E1, SRL, LUTRAM,
//              IO buffers from the cell counts. There is no open place-and-route for
//              7-series parts, so there is no Fmax for this target.
//   ice40   yosys: read_verilog; synth_ice40 -top T [-dsp] -json netlist.json; stat -json
//           nextpnr-ice40 --<device> --package P --json netlist.json --freq F --report
//           -> ICESTORM_LC / RAM / DSP / IO use against the device and the achieved Fmax
//              of every clock.
//
// Input is either Verilog files + a top module, or a hw::Design (emitted with
// verilog::emitVerilog into the output directory), so a generated accelerator can be
// passed in directly. Every command, log and intermediate file is kept in the output
// directory; results come back as a struct, serialised as deterministic JSON and an
// HTML page with a bar chart of use against the device's capacity. See docs/fpga.md.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"
#include "support/Expected.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::fpga {

enum class Target : uint8_t { Xilinx, Ice40 };

std::string_view targetName(Target t);
std::optional<Target> targetFromName(std::string_view name);

/// One resource of a device with its capacity (0: not limited / unknown).
struct Capacity {
  std::string resource; ///< same key as ResourceUse::name ("LUT", "ICESTORM_LC", ...)
  uint64_t available = 0;
};

/// A device the flow knows. For ice40 `nextpnrFlag` / `package` select it in nextpnr; for
/// xilinx the device only gives the capacities that use is compared against.
struct Device {
  std::string name; ///< "up5k", "hx8k", "xc7a35t", ...
  Target target = Target::Xilinx;
  std::string nextpnrFlag; ///< "--up5k" (ice40 only)
  std::string package;     ///< nextpnr --package (ice40 only)
  bool hasDsp = false;     ///< ice40: SB_MAC16 blocks (synth_ice40 -dsp)
  std::vector<Capacity> capacity;
  uint64_t capacityOf(std::string_view resource) const;
};

/// Known devices of a target, smallest first (the order automatic selection tries).
const std::vector<Device> &devices(Target t);
/// The device named `name` of target `t`; `unknown-device` (with a hint) when none.
Expected<Device> findDevice(Target t, const std::string &name);

struct FlowOptions {
  Target target = Target::Xilinx;
  /// Device name (see devices()); "" picks the smallest known device the synthesized
  /// design fits (ice40: by the Yosys cell counts, before place-and-route).
  std::string device;
  double clockMhz = 12; ///< nextpnr --freq target (ice40)
  std::string outDir;   ///< created; keeps logs, scripts, netlists and reports
  std::string yosys = "yosys";
  std::string nextpnr = "nextpnr-ice40";
  uint32_t seed = 1;           ///< nextpnr --seed (placement is seeded: same seed, same result)
  double timeoutSeconds = 600; ///< per tool run; 0 = none
  /// Xilinx: run synth_xilinx without its `share` pass (SAT-based merging of arithmetic
  /// cells under exclusive conditions), which can take tens of minutes on designs with many
  /// FSM-controlled multiplexers; HLS designs bind their shared units themselves.
  bool noShare = false;
};

/// Use of one resource. `available` 0 means the device does not bound it.
struct ResourceUse {
  std::string name;        ///< stable key, e.g. "LUT", "FF", "DSP48E1", "ICESTORM_LC"
  std::string description; ///< human text for reports
  uint64_t used = 0;
  uint64_t available = 0;
};

struct ClockFmax {
  std::string clock;      ///< the clock net as the user wrote it ("clk")
  double achievedMhz = 0; ///< nextpnr's achieved frequency after routing
  double constraintMhz = 0;
};

struct FlowResult {
  Target target = Target::Xilinx;
  std::string device, package;
  std::string top;
  std::vector<ResourceUse> resources;         ///< fixed order per target
  std::map<std::string, uint64_t> yosysCells; ///< every cell type Yosys mapped to
  std::vector<ClockFmax> fmax;                ///< ice40 only, by clock name
  std::string yosysVersion, nextpnrVersion;
  std::vector<std::string> commands; ///< command lines run, in order
  std::vector<std::string> files;    ///< files kept in outDir (logs, netlists)
  std::vector<std::string> notes;    ///< e.g. why no Fmax for xilinx
};

/// Runs the flow on Verilog files with top module `top`.
Expected<FlowResult> runFlow(const std::vector<std::string> &verilogFiles, const std::string &top,
                             const FlowOptions &opts);
/// Verifies nothing; emits `design` (verilog::emitVerilog) to outDir/design.v and runs the
/// flow with the design's top module.
Expected<FlowResult> runFlow(const hw::Design &design, const FlowOptions &opts);

/// Yosys' generic coarse-grained synthesis of `design` (`synth -flatten -noshare -run
/// :fine`: processes, FSMs, memories, word-level arithmetic and muxes; no technology
/// mapping, no SAT-based resource sharing), its cell counts by type. For designs whose
/// full mapping takes too long (the generated tile: `tessera generate`). Files in
/// opts.outDir (design.v, coarse.ys, coarse.log, coarse-stat.json).
Expected<std::map<std::string, uint64_t>> coarseSynthesis(const hw::Design &design,
                                                          const FlowOptions &opts);

/// Deterministic JSON of a result (no times, no absolute paths).
nlohmann::ordered_json toJson(const FlowResult &r);
/// Self-contained HTML report: summary, resource table, use-vs-capacity bar chart, Fmax.
std::string renderHtml(const FlowResult &r);
/// Writes outDir/fpga.json and outDir/fpga.html.
Status writeReports(const FlowResult &r, const std::string &outDir);

//===-- pieces of the flow, exposed for tests -----------------------------===//

/// Cell counts of the top module from the output of Yosys `stat -json` (`file` names it
/// in diagnostics).
Expected<std::map<std::string, uint64_t>> parseYosysStat(std::string_view json,
                                                         const std::string &file);
/// Resource use for a target from Yosys cell counts (capacities from `device`).
std::vector<ResourceUse> xilinxResources(const std::map<std::string, uint64_t> &cells,
                                         const Device &device);
/// A lower bound of ice40 logic cells, RAM and DSP blocks from synth_ice40 cell counts
/// plus `ioBits` top-level port bits, with the device's capacities.
std::vector<ResourceUse> ice40Estimate(const std::map<std::string, uint64_t> &cells,
                                       uint64_t ioBits, const Device &device);
/// The first resource whose use exceeds its capacity, as a `design-too-large` error.
std::optional<Diagnostic> checkFits(const std::vector<ResourceUse> &use, const Device &device,
                                    std::string_view stage);

struct NextpnrReport {
  std::vector<ResourceUse> utilization; ///< every BEL type nextpnr lists, by name
  std::vector<ClockFmax> fmax;
};
/// nextpnr's --report JSON.
Expected<NextpnrReport> parseNextpnrReport(std::string_view json, const std::string &file);

/// Yosys errors: verilog::yosysLogError (verilog/Verilog.h).
/// The first `ERROR:` line of a nextpnr log: `design-too-large` naming the resource when
/// placement ran out of BELs, else `nextpnr-error`.
Diagnostic nextpnrError(const std::string &log, const Device &device);

} // namespace tessera::fpga
