//===- Cosim.h - the generated tile in simulation vs the golden model ------------===//
//
// TileSim runs whole programs on the generated tile (accel::rtl::buildTile) in Tessera's
// simulator with an AXI memory model as DRAM; cosimProgram runs the same program on the
// golden model and compares DRAM, SPAD, SCALE, META, ACC and AMAX / FLAGS / LFSR bit for
// bit, naming the first difference with the instruction that last wrote the address
// (golden model watch point). randomProgram writes the random programs of `tessera cosim
// --random` (docs/cosim.md says what they cover).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Assembler.h"
#include "runtime/RtlHarness.h"

namespace tessera::runtime {

/// Timing of one unit instruction on the RTL.
struct RtlTraceEntry {
  uint32_t index = 0; ///< program index
  unsigned unit = 0;  ///< 0 load, 1 tensor, 2 vector, 3 store
  uint64_t start = 0, end = 0;
};

struct TileRun {
  uint64_t cycles = 0; ///< from go to done
  bool fault = false;
  unsigned faultCode = 0; ///< 1 address-out-of-range, 2 pc-out-of-range, 3 token-deadlock
  uint32_t faultPc = 0, faultAddr = 0;
  TileState state;
  std::vector<RtlTraceEntry> trace;
};

class TileSim {
public:
  static Expected<std::unique_ptr<TileSim>> create(const accel::TileConfig &cfg,
                                                   const accel::rtl::GenParams &gp,
                                                   const sim::SimOptions &opts = {});
  /// Runs a program from a cleared tile (memories zeroed, registers reset) until done,
  /// a fault or `maxCycles` (an error).
  Expected<TileRun> run(std::span<const accel::Instruction> program, std::vector<uint8_t> &dram,
                        uint64_t maxCycles = 5000000);
  sim::Simulator &sim() { return *sim_; }
  const accel::rtl::GenParams &params() const { return gp_; }

private:
  TileSim() = default;
  int in(const char *n);
  int out(const char *n);
  accel::TileConfig cfg_;
  accel::rtl::GenParams gp_;
  std::unique_ptr<sim::Simulator> sim_;
};

struct CosimResult {
  bool match = true;
  std::string mismatch; ///< the first difference, with the instruction that wrote it
  std::string fault;    ///< both stopped with this run-time fault (its golden-model message)
  uint64_t rtlCycles = 0, goldenCycles = 0;
  std::vector<RtlTraceEntry> rtlTrace;
  TileState rtlState; ///< the RTL's local state at the end
  std::vector<accel::TraceEntry> goldenTrace;
};

/// Runs `program` on the golden model and on `tile` from the same DRAM and compares.
/// Golden-model faults are errors; an RTL fault where the golden model has none (or the
/// reverse) is a mismatch.
Expected<CosimResult> cosimProgram(TileSim &tile, const accel::TileConfig &cfg,
                                   const accel::AsmProgram &program,
                                   const std::vector<uint8_t> &dram);

/// Runs a program on the tile's emitted Verilog in an external simulator (Verilator or
/// Icarus) with a Verilog testbench (behavioural AXI4 memory, state dumped as hex files);
/// the result has the same form as TileSim::run, so cosimulation can compare it with the
/// golden model. The testbench and model are built in `workDir` and reused while the
/// program length and DRAM size stay the same.
enum class ExternalTool : uint8_t { Verilator, Icarus };
struct ExternalOptions {
  ExternalTool tool = ExternalTool::Verilator;
  std::string workDir = "tile-extsim";
  std::string verilator = "verilator", iverilog = "iverilog", vvp = "vvp";
  uint64_t maxCycles = 2000000;
  double timeoutSeconds = 1800;
};
Expected<TileRun> runTileExternal(const accel::TileConfig &cfg, const accel::rtl::GenParams &gp,
                                  std::span<const accel::Instruction> program,
                                  std::vector<uint8_t> &dram, const ExternalOptions &opts);

/// cosimProgram with the RTL run in an external simulator (runTileExternal).
Expected<CosimResult> cosimExternal(const accel::TileConfig &cfg,
                                    const accel::rtl::GenParams &gp,
                                    const accel::AsmProgram &program,
                                    const std::vector<uint8_t> &dram, const ExternalOptions &opts);
/// The comparison of cosimProgram: `rtl` and `dramR` (DRAM after the RTL run) against
/// the golden model run on `program` from `dram`.
Expected<CosimResult> compareWithGolden(const accel::TileConfig &cfg,
                                        const accel::AsmProgram &program,
                                        const std::vector<uint8_t> &dram, const TileRun &rtl,
                                        const std::vector<uint8_t> &dramR);

/// What a random program exercises.
struct RandomProgramOptions {
  /// Element format of the GEMM operand A (and the loads); Fp32 = any tensor format.
  accel::ElemFormat format = accel::ElemFormat::Fp32;
  unsigned rounds = 3;      ///< load / compute / store rounds
  uint32_t dramBytes = 65536;
};
/// A random valid program (assembly text) for `cfg` and its initial DRAM. Deterministic
/// in `seed`.
std::string randomProgram(const accel::TileConfig &cfg, uint64_t seed,
                          const RandomProgramOptions &opts, std::vector<uint8_t> &dram);

/// A program for GEMM timing validation: A (M x K) and B (N x K) in format `fmt` (A
/// N:M-compressed when `sparse`, the tile's first pattern) are loaded once, then
/// ceil(M/rows) * ceil(N/cols) GEMM instructions compute every output tile into its own
/// ACC region, back to back in the compute queue. Shapes must fit SPAD and ACC
/// (`unsupported-parameter` otherwise).
/// `zeroPeriod` > 1 (dense A only): of every `zeroPeriod` consecutive PE steps of K, all
/// but the first have an all-zero A, and the GEMMs run with zs=a (A's density
/// 1 / zeroPeriod). With `randomZeros`, each step is zero with probability
/// 1 - 1 / zeroPeriod instead (seeded), so zero steps also come in runs.
Expected<std::string> gemmTimingProgram(const accel::TileConfig &cfg, accel::ElemFormat fmt,
                                        bool sparse, unsigned M, unsigned N, unsigned K,
                                        uint64_t seed, std::vector<uint8_t> &dram,
                                        unsigned zeroPeriod = 0, bool randomZeros = false);

} // namespace tessera::runtime
