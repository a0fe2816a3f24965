//===- Designs.h - generated benchmark designs -----------------------------===//
//
// Two families of designs used by the simulator benchmark (bench/SimBench.cpp,
// docs/sim-benchmark.md), the bench smoke test and simulator tests:
//
//  * systolicArray(N): an N x N int8 systolic array, one `pe` module instantiated as a
//    single instance array of N*N elements (kept as an array). a values enter on the left
//    edge and move right one PE per cycle, b values enter on the top edge and move down;
//    every PE accumulates sext(a) * sext(b) into a 32-bit register.
//  * controllerDesign(cores): a bank of small multi-cycle CPUs (one distinct module per
//    core, each with its own instruction ROM), with register files, data RAMs, counters,
//    comparators and mux trees; no instance arrays.
//
// Both are deterministic: the same arguments build the same design (same printed text).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"

#include <cstdint>

namespace tessera::hw {

/// The N x N systolic array, top module `systolic_<N>` (N >= 1).
///
/// Top ports: clk, rst (synchronous, all registers), clear (zeroes every accumulator),
/// a_left (N x 8: row r's input at bits [8r, 8r+8)), b_top (N x 8: column c's input);
/// outputs a_right (N x 8: the a values leaving the right edge), b_bottom (N x 8) and
/// acc_xor (32: the XOR of all N*N accumulators).
///
/// acc_xor keeps every accumulator observable (so no simulator may drop a PE's multiply-add
/// as dead code) while the per-cycle outputs stay small (3N bytes + 4), so that sampling
/// and checksumming outputs does not dominate the cycle. It is computed as a log2(N*N)
/// deep tree of wide XORs over the array's concatenated `acc` port.
Design systolicArray(uint32_t n);

/// A bank of `cores` (>= 1) small CPUs, top module `controller`. Each core `cpu<k>` has an
/// instruction ROM (256 x 32, pseudo-random program seeded by k), a 16 x 32 register file
/// (two asynchronous read ports, one write port), a 256 x 32 data RAM with a synchronous
/// read port (loads take two cycles: a small FSM), branches, a watchdog counter that
/// moves the pc away from loops that produce no output, and an output register.
/// Core k reads in_data XOR the previous core's output register (a ring).
///
/// Top ports: clk, rst, in_data (32); outputs out (32: XOR of every core's output
/// register) and pcs (cores x 8: every core's program counter).
Design controllerDesign(uint32_t cores = 24);

} // namespace tessera::hw
