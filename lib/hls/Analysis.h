//===- Analysis.h - value ranges, memories and loop-carried dependences ----===//
//
// The HLS middle end, over a verified Cdfg:
//
//   * value ranges: an interval analysis (both the unsigned and the signed view of each
//     node's bit vector) iterated to a fixpoint over the CFG, with widening on phis and
//     induction variables bounded by the loop's constant trip count;
//   * narrowWidths: bitwidth reduction — an operator whose operands and result provably
//     fit in k < width bits (zero- or sign-extended) is computed at k bits between
//     truncations and one extension; semantics are unchanged (tests: hls::evaluate on
//     random inputs before and after);
//   * memory analysis: per Memory its accesses, the affine form of each index
//     (constant + sum coeff * atom, atoms being induction variables or other values) and
//     the bank a cyclic / block / complete partition sends it to when that is static;
//   * loop-carried dependences of a loop: recurrences through header phis (distance 1, or
//     more through chains of phis) and memory dependences between accesses of one array
//     from the affine index difference (unknown: conservatively distance 1).
//
// Trip counts (Loop::tripCount) are taken as the number of times the header executes per
// entry into the loop (LLVM's getSmallConstantTripCount).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hls/Cdfg.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace tessera::hls {

/// The values a node may take, as unsigned and as signed numbers of its width.
struct Range {
  uint64_t ulo = 0, uhi = 0;
  int64_t slo = 0, shi = 0;
  bool known = false; ///< false: not reached (bottom)

  static Range full(uint32_t width);
  static Range constant(uint64_t v, uint32_t width);
  /// Bits needed to hold every value zero-extended / sign-extended.
  uint32_t unsignedBits() const;
  uint32_t signedBits() const;
};

/// Ranges of every node (by NodeId). Nodes without a value get Range::full(0).
std::vector<Range> analyseRanges(const Cdfg &g);

struct NarrowStats {
  uint32_t nodesNarrowed = 0;
  uint64_t bitsBefore = 0, bitsAfter = 0; ///< summed result widths of narrowed nodes
};

/// Rewrites operators to the width their value ranges need (see the file comment).
/// Inserts Trunc / ZExt / SExt nodes (free wires in hardware) and new narrow constants;
/// existing NodeIds keep their meaning. The result verifies when `g` did.
NarrowStats narrowWidths(Cdfg &g);

/// Redundant load elimination and store-to-load forwarding inside each block: a Load of
/// an element that an earlier Load of the block read, or an earlier Store wrote, with no
/// possibly aliasing Store between (same memory; equal affine indices), becomes a ZExt of
/// that value to the same width (a wire). Memories are distinct arrays (the CDFG's
/// semantics: interface arrays never alias). Returns the number of loads removed.
uint32_t forwardMemoryValues(Cdfg &g);

/// A header phi p = phi(init, p + step) of a loop.
struct InductionVar {
  NodeId phi = kNone;
  LoopId loop = kNone;
  NodeId init = kNone;   ///< the value entering from outside the loop
  NodeId update = kNone; ///< the latch value (p + step)
  int64_t step = 0;
  std::optional<int64_t> initConst;
};
std::vector<InductionVar> findInductionVars(const Cdfg &g);

/// index = constant + sum coeff * node over `terms` (sorted by node, no zero coefficients).
struct AffineIndex {
  int64_t constant = 0;
  std::vector<std::pair<NodeId, int64_t>> terms;
  bool operator==(const AffineIndex &o) const = default;
};
/// Decomposes `n` through Add / Sub / Mul or Shl by constants / extensions / truncations;
/// anything else is an atom.
AffineIndex affineOf(const Cdfg &g, NodeId n);

struct MemAccess {
  NodeId node = kNone;
  bool isStore = false;
  AffineIndex index;
  std::optional<uint32_t> bank; ///< the bank every execution uses, when static
};

struct MemoryInfo {
  MemId mem = kNone;
  uint32_t banks = 1;
  std::vector<MemAccess> accesses; ///< in block order, program order
};

/// Memory analysis of every memory (by MemId); `ranges` (optional) lets block partitions
/// resolve banks from index ranges.
std::vector<MemoryInfo> analyseMemories(const Cdfg &g, const std::vector<Range> *ranges = nullptr);

/// Whether accesses a and b (same memory) may touch the same element in one execution of
/// their common block (false only when the affine indices prove otherwise).
bool mayAliasSameIteration(const MemAccess &a, const MemAccess &b);

struct LoopDep {
  enum Kind : uint8_t { Register, Memory };
  NodeId from = kNone, to = kNone; ///< `to` of iteration j + distance needs `from` of j
  uint32_t distance = 1;
  Kind kind = Register;
  NodeId phi = kNone; ///< Register: the header phi carrying the value
};

/// Loop-carried dependences of loop `l` among its nodes, sorted (to, from, distance).
std::vector<LoopDep> loopCarriedDeps(const Cdfg &g, LoopId l);

} // namespace tessera::hls
