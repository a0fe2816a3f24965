//===- Bind.h - register and functional-unit binding ----------------------===//
//
// The two binding problems of the RTL builder (Rtl.cpp), kept apart so that they can be
// tested on their own:
//
//   * register binding by the left-edge algorithm (Hashimoto & Stevens 1971; Kurdahi &
//     Parker 1987): lifetimes sorted by start, each put in the first register free by
//     then. Optimal in the number of registers for interval lifetimes (it colours an
//     interval graph with as many colours as its largest clique).
//   * functional-unit binding by weighted bipartite matching, one control step at a time
//     (the step-by-step matching of Huang et al., DAC 1990): the operations of a step are
//     matched to the units, the cost of putting an operation on a unit being the number
//     of new multiplexer inputs it needs there (operand sources the unit does not already
//     select). Each matching is solved exactly by the Hungarian algorithm.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::hls {

/// A value's lifetime in a register: written at the end of step `def`, read up to and
/// including step `lastUse` (> def). Two lifetimes may share a register when one's lastUse
/// is <= the other's def.
struct Lifetime {
  uint32_t def = 0;
  uint32_t lastUse = 0;
  uint32_t width = 0;
};

/// Left-edge: the register index of every lifetime (registers numbered from 0, in order
/// of first use). Ties are broken by index, so the result is deterministic.
std::vector<uint32_t> leftEdge(const std::vector<Lifetime> &lifetimes, uint32_t *numRegs);

/// Exact minimum-cost assignment of rows to columns (rows <= columns): result[r] is the
/// column of row r. Hungarian algorithm with potentials, O(rows^2 * columns).
std::vector<uint32_t> minCostAssignment(const std::vector<std::vector<int64_t>> &cost);

/// One operation to bind: its control step and the sources of its operands (any ids that
/// identify a multiplexer input: equal ids mean the same signal).
struct UnitOp {
  uint32_t step = 0;
  std::vector<uint64_t> sources;
};

/// Binds operations to units so that no two operations of one step share a unit and the
/// total number of distinct multiplexer inputs (per unit and operand position) is kept
/// low. Returns the unit of every op; `numUnits` is the largest number of ops in a step.
std::vector<uint32_t> bindUnits(const std::vector<UnitOp> &ops, uint32_t *numUnits);

/// The number of distinct (unit, operand position, source) triples of a binding: the
/// multiplexer inputs it needs (a unit whose operand has one source needs no mux there).
uint64_t muxInputs(const std::vector<UnitOp> &ops, const std::vector<uint32_t> &unitOf);

} // namespace tessera::hls
