//===- Golden.h - functional + timing golden model of one Tessera tile -------===//
//
// Executes an assembled program (docs/isa.md is the specification) on a TileConfig with a
// caller-provided DRAM byte vector: the front end (scalar registers, counted loops,
// dispatch), the load / compute / store queues with VTA-style dependence tokens, the
// local memories (SPAD, SCALE, META, ACC) and the store path's AMAX / FLAGS / LFSR state.
// All arithmetic goes through lib/numerics exactly as docs/isa.md section 5 says (GEMM
// through numerics::dotAccumulate, vector ops through fp32Add / fp32Mul / ..., stores
// through convertFromFp32 / quantizeMx). Timing follows the contract of docs/isa.md
// section 7; docs/golden-model.md lists what is modelled and what is approximate.
//
// Run-time faults are diagnostics naming the dynamic instruction (its index and
// disassembled text) and the address: address-out-of-range, pc-out-of-range,
// token-deadlock, unsynchronized-access (two queues touching the same bytes, one writing,
// with no token chain between them), cycle-limit.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Isa.h"

#include <array>
#include <optional>
#include <cstdint>
#include <span>
#include <vector>

namespace tessera::accel {

struct AsmProgram;

struct GoldenOptions {
  bool trace = false;              ///< record every executed queue instruction's timing
  uint64_t maxCycles = 100000000;  ///< cycle-limit fault beyond this
  bool verify = true;              ///< run verifyProgram against the tile first
  /// Watch point for co-simulation reports: the last dynamic instruction that writes
  /// this address of this memory is recorded in GoldenResult::watchWriter.
  enum class Memory : uint8_t { None, Spad, Scale, Meta, Acc, Dram };
  Memory watchMemory = Memory::None;
  uint64_t watchAddress = 0; ///< bytes (ACC: words)
};

/// Timing of one dynamic queue instruction (front-end instructions are not recorded).
struct TraceEntry {
  uint32_t index = 0;  ///< instruction index (pc) in the program
  Queue queue = Queue::Front;
  uint64_t dispatch = 0, start = 0, end = 0; ///< end = completion (tokens pushed)
  uint64_t skippedSteps = 0;                 ///< GEMM zero-skipped steps
};

struct GoldenResult {
  uint64_t cycles = 0;       ///< cycle after the last completion (0 = first fetch)
  uint64_t instructions = 0; ///< dynamic instructions fetched (front end included)
  /// Cycles in which each queue had at least one instruction in flight, by Queue
  /// (index 0, the front end, counts fetch cycles).
  std::array<uint64_t, 4> busy{};
  std::array<uint64_t, 4> executed{}; ///< dynamic instructions per Queue
  uint64_t gemmSteps = 0, gemmSkippedSteps = 0;
  std::vector<TraceEntry> trace; ///< when GoldenOptions::trace
  uint32_t amax = 0, flags = 0, lfsr = 1;
  std::array<uint32_t, 16> regs{}, fregs{};
  std::vector<uint8_t> spad, scale, meta;
  std::vector<uint32_t> acc; ///< FP32 bit patterns, accWords() of them
  /// The watched address's last writer (program index) and how many dynamic instructions
  /// wrote it (GoldenOptions::watchMemory).
  std::optional<uint32_t> watchWriter;
  uint64_t watchWrites = 0;
};

/// FLAGS bits (docs/isa.md section 1).
namespace statflag {
inline constexpr uint32_t Ovf = 1, Sat = 2;
}

/// Runs `program` on a tile `cfg` with DRAM `dram` (read and written in place; any access
/// beyond its size is address-out-of-range). Static problems (verifyProgram) and run-time
/// faults are returned as the diagnostic.
Expected<GoldenResult> runGolden(const TileConfig &cfg, std::span<const Instruction> program,
                                 std::vector<uint8_t> &dram, const GoldenOptions &opts = {});
Expected<GoldenResult> runGolden(const TileConfig &cfg, const AsmProgram &program,
                                 std::vector<uint8_t> &dram, const GoldenOptions &opts = {});

/// Element `e` of a packed little-endian bit stream starting at byte `base` (docs/isa.md
/// section 2), `bits` wide; the caller ensures the bits lie inside `mem`.
uint32_t readPacked(std::span<const uint8_t> mem, uint64_t base, uint64_t e, unsigned bits);
void writePacked(std::span<uint8_t> mem, uint64_t base, uint64_t e, unsigned bits,
                 uint32_t value);

} // namespace tessera::accel
