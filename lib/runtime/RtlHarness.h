//===- RtlHarness.h - running the generated tile RTL in Tessera's simulator -----===//
//
// The RTL side of co-simulation (docs/cosim.md):
//
//   AxiMemory       the external memory the tile's DMA port talks to: an AXI4 slave
//                   (INCR bursts, fixed read latency) over a DRAM byte vector, serving the
//                   m_* ports of a simulated design once per cycle
//   UnitHarness     one unit of the tile (accel::rtl::buildUnitHarness) in the simulator:
//                   preload the memories, execute instructions one at a time, read back
//   checkUnitProgram
//                   runs the golden model and a unit harness on the same instructions
//                   from the same state and names the first difference
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Golden.h"
#include "accel/TileRtl.h"
#include "sim/Sim.h"

#include <memory>
#include <optional>

namespace tessera::runtime {

/// AXI4 slave over `dram`. Ports that a design lacks (no read or no write master) are
/// left alone. Out-of-range beats answer SLVERR (2) and do not touch `dram`.
class AxiMemory {
public:
  AxiMemory(sim::Simulator &sim, std::vector<uint8_t> &dram, unsigned busBytes,
            unsigned readLatency = 4);
  /// Drives the slave's inputs for the current cycle, samples the handshakes and
  /// advances the slave's state; call once before every sim.step().
  void tick();
  bool idle() const;
  uint64_t readBeats() const { return readBeats_; }
  uint64_t writeBeats() const { return writeBeats_; }

private:
  struct Ports;
  sim::Simulator &sim_;
  std::vector<uint8_t> &dram_;
  unsigned bus_;
  unsigned latency_;
  std::shared_ptr<Ports> p_;
  // read channel
  bool rActive_ = false;
  uint64_t rAddr_ = 0;
  unsigned rLeft_ = 0, rWait_ = 0;
  // write channel
  bool wActive_ = false, bPending_ = false;
  uint64_t wAddr_ = 0;
  unsigned bResp_ = 0;
  uint64_t readBeats_ = 0, writeBeats_ = 0;
};

/// The local state of a tile that a harness can preload and read back.
struct TileState {
  std::vector<uint8_t> spad, scale, meta;
  std::vector<uint32_t> acc;
  std::optional<uint32_t> amax, flags, lfsr; ///< store unit only
};

struct UnitCheck;

/// The memories' debug ports of a simulated harness or tile (TileRtl.h): synchronous,
/// one line per cycle; every access steps the simulator, so use them while the units are
/// idle.
class DebugPorts {
public:
  DebugPorts(sim::Simulator &sim, const accel::rtl::GenParams &gp) : sim_(sim), gp_(gp) {}
  std::vector<uint8_t> readBytes(const std::string &mem, uint32_t count);
  std::vector<uint32_t> readAcc(uint32_t count);
  /// Writes the bytes of `want` that differ from `have` (a line per cycle).
  void updateBytes(const std::string &mem, const std::vector<uint8_t> &have,
                   const std::vector<uint8_t> &want);
  void updateAcc(const std::vector<uint32_t> &have, const std::vector<uint32_t> &want);
  /// Reads every memory of `cfg`.
  TileState readAll(const accel::TileConfig &cfg);

private:
  int in(const std::string &n) { return sim_.findInput(n); }
  int out(const std::string &n) { return sim_.findOutput(n); }
  sim::Simulator &sim_;
  accel::rtl::GenParams gp_;
};

class UnitHarness {
public:
  static Expected<std::unique_ptr<UnitHarness>> create(const accel::TileConfig &cfg,
                                                       const accel::rtl::GenParams &gp,
                                                       accel::rtl::UnitKind kind,
                                                       const sim::SimOptions &opts = {});
  /// Writes every byte / word of `s` that differs from the harness's memories.
  void preload(const TileState &s);
  /// Starts `ins` with register values `regs` / `fregs` (as at dispatch) and steps until
  /// the unit pulses done. Returns the cycles from start to completion (the cycle after
  /// the done pulse, as the golden model's trace counts), or a diagnostic on a
  /// unit fault (with fault_addr) or after `maxCycles`.
  Expected<uint64_t> execute(const accel::Instruction &ins, const std::array<uint32_t, 16> &regs,
                             const std::array<uint32_t, 16> &fregs, std::vector<uint8_t> &dram,
                             uint64_t maxCycles = 2000000);
  TileState readback();
  sim::Simulator &sim() { return *sim_; }

private:
  friend Expected<UnitCheck> checkUnitProgram(UnitHarness &, const accel::TileConfig &,
                                              const std::string &, const std::string &,
                                              const std::vector<uint8_t> &);
  UnitHarness() = default;
  void port(const char *name, uint64_t v);
  uint64_t out(const char *name);
  accel::TileConfig cfg_;
  accel::rtl::GenParams gp_;
  accel::rtl::UnitKind kind_{};
  std::unique_ptr<sim::Simulator> sim_;
};

/// The result of checkUnitProgram.
struct UnitCheck {
  bool match = true;
  std::string mismatch;          ///< "acc[17]: expected 0x3f800000, got 0x3f800001 (after 'vadd ...')"
  std::vector<uint64_t> cycles;  ///< RTL cycles of each tested instruction
  std::vector<uint64_t> goldenCycles; ///< the golden model's start-to-end of each
};

/// Runs `setup` (assembly, any instructions; no halt needed) on the golden model, preloads
/// its final local state into `harness`, then executes each instruction of `test`
/// (assembly; instructions of the harness's unit only, no front-end instructions) on the
/// harness with the golden model's registers, and compares SPAD / SCALE / META / ACC,
/// DRAM and (store unit) AMAX / FLAGS / LFSR with the golden model run on setup + test.
/// `dram` is the initial DRAM. Golden-model faults and assembly errors are returned as
/// diagnostics.
Expected<UnitCheck> checkUnitProgram(UnitHarness &harness, const accel::TileConfig &cfg,
                                     const std::string &setup, const std::string &test,
                                     const std::vector<uint8_t> &dram);

} // namespace tessera::runtime
