//===- MemoryPlan.h - liveness-based placement of DRAM buffers --------------===//
//
// Offsets for buffers with known lifetimes (first and last op index, inclusive) such that
// two buffers whose lifetimes overlap never overlap in memory. The algorithm is the
// greedy-by-size offset assignment of Pisarchyk & Lee, "Efficient Memory Management for
// Deep Neural Net Inference" (2020), as used by TensorFlow Lite's arena planner: buffers
// in decreasing size (ties: lower index first), each put at the lowest aligned offset
// where it does not collide with an already placed buffer whose lifetime overlaps.
// Deterministic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::compiler {

struct PlanBuffer {
  uint64_t bytes = 0;
  uint32_t first = 0, last = 0; ///< op indices during which the buffer is live
};

struct MemoryPlanResult {
  std::vector<uint64_t> offsets; ///< per buffer, relative to the planned region
  uint64_t size = 0;             ///< bytes the region needs (aligned)
};

/// Places `buffers`; offsets are multiples of `align` (a power of two).
MemoryPlanResult planMemory(const std::vector<PlanBuffer> &buffers, uint64_t align = 64);

/// True when two buffers that are live at the same time overlap in `plan` (checker for
/// tests and the compiler's own verification).
bool planHasConflict(const std::vector<PlanBuffer> &buffers, const MemoryPlanResult &plan);

} // namespace tessera::compiler
