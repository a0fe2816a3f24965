//===- RandomDesign.h - seeded random well-formed hw designs ----------------===//
//
// A generator of random hw designs for differential testing of the simulator, the Verilog
// emitter and the passes (docs/sim-verification.md). Everything is built through
// ModuleBuilder and is well formed by construction:
//
//   - every combinational op kind, on mixed widths (1..maxWidth, weighted to small),
//     including division by zero, signed overflow (MIN / -1) and shifts by >= width;
//   - registers with synchronous or asynchronous reset, enable, reset and power-on values;
//   - memories with sync (optionally enabled) and async read ports, several write ports
//     (later port wins), initial contents, depths that are not powers of two (so
//     out-of-range reads and writes happen);
//   - hierarchy: child modules instantiated once, several times, or as instance arrays
//     (count 2..8) wired element-wise and chain-style (element i fed from element i-1's
//     output), and instances fed back from their own outputs.
//
// No combinational cycles by construction: the generator tracks, for every value, the set
// of module inputs it depends on combinationally, and feeds an instance input from an
// instance output only when that output does not depend on the input.
//
// Every module has a clock input `clk` and a reset input `rst` (child modules get them
// straight from their parent's ports, so asynchronous resets come from the top `rst`),
// data inputs `in<i>` and outputs `out<i>`. Same options, same design.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"

#include <array>
#include <cstdint>
#include <string>

namespace tessera::hw {

struct RandomDesignOptions {
  uint64_t seed = 1;
  /// Widest data value; widths are drawn 1..maxWidth, weighted to small.
  uint32_t maxWidth = 130;
  /// Data inputs / outputs per module: 1..maxPorts each.
  uint32_t maxPorts = 4;
  /// Combinational ops generated per module (each may add a few glue ops).
  uint32_t opsPerModule = 30;
  /// Registers per module: 0..maxRegs.
  uint32_t maxRegs = 6;
  /// Memories per module: 0..maxMemories.
  uint32_t maxMemories = 2;
  /// Child module kinds below the top: 0..maxChildModules, nested up to maxDepth levels.
  uint32_t maxChildModules = 3;
  uint32_t maxDepth = 2;
  /// Instances per (non-leaf) module: 0..maxInstances.
  uint32_t maxInstances = 3;
  /// Largest instance array.
  uint32_t maxArrayCount = 8;
  /// Widest shift amount operand (amounts wider than 64 bits can be huge).
  uint32_t maxShiftAmountWidth = 80;

  bool registers = true;
  bool memories = true;
  bool hierarchy = true;
  bool arrays = true;
  bool division = true;
  bool asyncReset = true;
  /// Instance inputs fed (through no register in this module) from the same instance's
  /// outputs that do not depend on them.
  bool instanceFeedback = true;
  /// Some values and registers get names that collide with keywords (Verilog, C++),
  /// ports, each other or generated names, or hold characters identifiers cannot.
  bool trickyNames = true;

  /// Put in front of every module name, so that several designs can share a Design.
  std::string prefix;
};

/// How often each op kind and structure was generated (for coverage reports).
struct RandomDesignStats {
  std::array<uint64_t, kNumOpKinds> ops{};
  uint64_t modules = 0, instances = 0, arrays = 0, arrayElements = 0, chainedArrays = 0,
           feedbackInstances = 0, syncResetRegs = 0, asyncResetRegs = 0, enableRegs = 0,
           memories = 0, syncReads = 0, asyncReads = 0, writePorts = 0, zeroDivisors = 0,
           wideValues = 0; ///< values wider than 64 bits
  /// Ops of the design flattened (each module's ops times the number of its copies):
  /// what Verilator compiles, which inlines everything.
  uint64_t flatOps = 0;
  void add(const RandomDesignStats &o);
};

/// A random design; its top module is named `<prefix>top` (Design::topName is set).
Design generateRandomDesign(const RandomDesignOptions &opts, RandomDesignStats *stats = nullptr);

/// Adds the modules of a random design to `d` (names start with opts.prefix, which must
/// make them unique in `d`); returns its top module.
const Module &addRandomDesign(Design &d, const RandomDesignOptions &opts,
                              RandomDesignStats *stats = nullptr);

/// `count` random designs (seeds base.seed, base.seed+1, ...; prefixes "d<k>_") under one
/// top module `diff_top` with ports clk, rst, and for design k its data inputs and
/// outputs as `d<k>_<port>`. One model (one Verilator build, one compiled simulator) then
/// checks many designs.
Design generateRandomBatch(const RandomDesignOptions &base, uint32_t count,
                           RandomDesignStats *stats = nullptr);

} // namespace tessera::hw
