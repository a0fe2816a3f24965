//===- ExternalSim.h - Verilator and Icarus Verilog as reference simulators ---===//
//
// Runs Verilog in Verilator 5 or Icarus Verilog 11 under a generated harness that follows
// the hw simulator's cycle protocol (sim/Sim.h): per cycle, set data inputs, evaluate,
// sample outputs, rising clock edge. Inputs come from the seeded random stream of
// sim/Stimulus.h (re-implemented in the harness, so no stimulus file is needed for 10^7
// cycles) or from explicit per-cycle values.
//
// Used by the differential tests (every output, every cycle) and by the benchmark (build
// time, cycles/s, checksum).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/BitVec.h"
#include "support/Expected.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::verilog {

enum class RefTool : uint8_t { Verilator, Icarus };

struct RefPort {
  std::string name;
  uint32_t width = 1;
  bool isClock = false;
};

struct RefOptions {
  RefTool tool = RefTool::Verilator;
  std::string workDir;     ///< build directory (created; reused: Verilator output cached there)
  int threads = 1;         ///< Verilator --threads
  /// Verilator: -O3 --x-assign fast --x-initial fast --noassert, OPT_FAST=-O2 when true
  /// (benchmark settings); the differential tests use --x-initial 0 semantics either way
  /// since every register has an `initial` value.
  bool benchmarkFlags = false;
  uint64_t cycles = 0;
  /// Random stimulus (sim/Stimulus.h) with this seed when `explicitInputs` is empty.
  uint64_t seed = 1;
  uint32_t resetCycles = 2;
  std::vector<std::vector<hw::BitVec>> explicitInputs; ///< [cycle][data input]
  bool recordOutputs = true; ///< keep every output of every cycle (else checksum only)
  /// Kill the simulation (not the build) after this many seconds; 0 = no limit.
  double timeoutSeconds = 0;
  int buildJobs = 2;                 ///< parallel C++ compile jobs (Verilator's make -j)
  std::string verilator = "verilator";
  /// C++ compiler for the Verilator model ("" = Verilator's default, except that without
  /// benchmarkFlags clang++ is used when installed: it compiles Verilator's -O0 code about
  /// twice as fast as g++, and these runs are short).
  std::string cxx;
  std::string iverilog = "iverilog"; ///< `vvp` is looked up beside it
};

struct RefResult {
  std::vector<std::vector<hw::BitVec>> outputs; ///< [cycle][output], when recorded
  uint64_t checksum = 0;       ///< sim/Stimulus.h checksumMix over all outputs, all cycles
  double frontEndSeconds = 0;  ///< verilator (Verilog -> C++) / iverilog
  double compileSeconds = 0;   ///< C++ compile (Verilator)
  double runSeconds = 0;       ///< simulation loop only
  uint64_t peakRssKb = 0;      ///< of the simulation process
  std::string version;         ///< `verilator --version` / `iverilog -V` first line
  bool buildCached = false;    ///< Verilator: the model came from workDir (build times 0)
  /// Icarus: where an output first had x/z bits ("cycle C output NAME"; those bits read
  /// as 0), empty when none did. A two-state design never produces x, so this is a bug.
  std::string firstUnknown;
};

/// Runs `top` of `verilogFiles` with the given ports (inputs and outputs in top port
/// order). Errors carry the tool's own message.
Expected<RefResult> runReference(const std::vector<std::string> &verilogFiles,
                                 const std::string &top, const std::vector<RefPort> &inputs,
                                 const std::vector<RefPort> &outputs, const RefOptions &opts);

} // namespace tessera::verilog
