//===- Sim.h - cycle-accurate simulation of hw IR -------------------------===//
//
// A Simulator runs the top module of a verified design, full cycle at a time:
//
//   poke(inputs)  -> inputs change; combinational logic is settled lazily, so a peek()
//                    afterwards sees outputs for the new inputs (Mealy outputs)
//   step()        -> one rising edge of the (single) clock: registers and memories take
//                    the values computed from the current inputs, then logic settles
//
// This is the protocol the differential tests use with Verilator and Icarus: set inputs,
// evaluate, sample outputs, rising edge.
//
// Clock inputs are the top input ports that reach a register or memory clock operand;
// the simulator drives them itself (poking them is an error). One clock domain per design.
// Asynchronous resets must come from top input ports; while one is 1 its registers hold
// their reset value.
//
// Engines: Compiled (hw IR -> levelized C++ with native widths, instance arrays as loops
// over structure-of-arrays state, built with the system C++ compiler, cached by content
// hash, dlopen'ed) and Interp (an interpreter over the same schedule; instant start).
// Both are bit-identical.
//
// Batch mode: `lanes` independent copies of the design in one model; every poke/peek
// names a lane. Lane loops are innermost so that the compiler vectorizes them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/BitVec.h"
#include "hw/IR.h"
#include "support/Expected.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tessera::sim {

enum class Engine : uint8_t { Compiled, Interp };

struct SimOptions {
  Engine engine = Engine::Compiled;
  uint32_t lanes = 1;
  /// Compiled engine: where built models are cached ("" = $TESSERA_CACHE or
  /// ~/.cache/tessera/sim).
  std::string cacheDir;
  std::string cxx = "c++";      ///< compiler for the compiled engine
  std::string cxxFlags = "-O3 -march=native -fno-ivopts -fno-tree-loop-distribute-patterns"; ///< optimisation flags (see docs/sim.md)
  bool progress = false;        ///< show compile progress on stderr
  /// Compiled engine: large models are split into translation units of about this many
  /// bytes of C++ (at most 8), compiled in parallel.
  size_t unitBytes = 200 * 1024;
};

struct BuildStats {
  double frontEndSeconds = 0; ///< elaboration, scheduling, code generation
  double compileSeconds = 0;  ///< C++ compile (0 on a cache hit)
  bool cacheHit = false;
  size_t scheduledOps = 0; ///< ops in the schedule (array bodies counted once)
  std::string cacheKey;
};

struct PortInfo {
  std::string name;
  uint32_t width = 0;
  bool isClock = false;
};

class Simulator {
public:
  /// Elaborates, schedules and (compiled engine) builds the model for `top` (empty: the
  /// design's top). Fails with a diagnostic on unsupported designs (several clocks, ...).
  static Expected<std::unique_ptr<Simulator>> create(const hw::Design &d, const SimOptions &opts,
                                                     const std::string &top = "");
  virtual ~Simulator() = default;

  virtual const std::vector<PortInfo> &inputs() const = 0;
  virtual const std::vector<PortInfo> &outputs() const = 0;
  int findInput(std::string_view name) const;
  int findOutput(std::string_view name) const;
  virtual uint32_t lanes() const = 0;

  virtual void poke(uint32_t input, const hw::BitVec &v, uint32_t lane = 0) = 0;
  virtual void poke(uint32_t input, uint64_t v, uint32_t lane = 0) = 0;
  virtual hw::BitVec peek(uint32_t output, uint32_t lane = 0) = 0;
  virtual uint64_t peek64(uint32_t output, uint32_t lane = 0) = 0; ///< low 64 bits
  /// Fast paths for harnesses (benchmark, differential tests): the value as ceil(width/64)
  /// little-endian words, no allocation. pokeWords ignores bits above the port width.
  virtual void pokeWords(uint32_t input, const uint64_t *words, uint32_t lane = 0) = 0;
  virtual void peekWords(uint32_t output, uint64_t *words, uint32_t lane = 0) = 0;
  /// `h` mixed with checksumMix (Stimulus.h) with every 64-bit word of every output port,
  /// in port order, low word first: one cycle's contribution to the output checksum.
  virtual uint64_t checksumOutputs(uint64_t h, uint32_t lane = 0) = 0;
  /// Any named signal by hierarchical path ("u_pe[3].acc", "state"); nullopt if none.
  virtual std::optional<hw::BitVec> peekSignal(std::string_view path, uint32_t lane = 0) = 0;

  /// `n` rising clock edges.
  virtual void step(uint64_t n = 1) = 0;
  /// Steps until `done()` is true (checked before each step) or `maxCycles`; returns the
  /// number of steps taken.
  uint64_t runUntil(const std::function<bool()> &done, uint64_t maxCycles);
  virtual uint64_t cycle() const = 0;

  /// Waveforms: every signal under scope paths `scopes` (empty: all; "u_pe[2]" one array
  /// element) for cycles [from, to). Written as the simulation runs; one time unit per
  /// half cycle, clock included.
  virtual Status openVcd(const std::string &path, const std::vector<std::string> &scopes,
                         uint64_t from = 0, uint64_t to = UINT64_MAX) = 0;
  virtual void closeVcd() = 0;

  virtual const BuildStats &buildStats() const = 0;
};

} // namespace tessera::sim
