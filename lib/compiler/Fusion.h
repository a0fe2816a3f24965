//===- Fusion.h - fusion of elementwise chains -------------------*- C++ -*-===//
//
// Internal to lib/compiler. Elementwise ops (add, sub, mul, relu, neg, div by a constant,
// the relu gradient) are each a stream through ACC: load the operands of a chunk, a few
// vector ops, store (LowerVector.cpp). A chain (a tree) of them whose intermediates have
// exactly one consumer, inside the group, and are not needed by anything else (not a
// graph output, not saved for the backward pass, not a parameter's gradient) is lowered
// as one stream: per chunk every external operand is loaded once, the vector ops of all
// the group's ops run in graph order in ACC, and only the group's last result is stored.
// The intermediates never touch DRAM and get no DRAM buffer. The vector instructions are
// the same ones, on the same values, in the same order as unfused: results are
// bit-identical. docs/compiler.md "Fusion".
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/Lowering.h"

#include <cstdint>
#include <vector>

namespace tessera::compiler::lower {

/// An elementwise op as a stream: its operands (classified as in streamElementwise), the
/// tensor each reads, the ACC scratch words its body needs after the regions, and the
/// body, which leaves the op's result in region 0.
struct ElementwiseStream {
  std::vector<Operand> ins;
  std::vector<TensorId> src;
  uint32_t extra = 0;
  StreamBody body;
};

/// The stream of an elementwise op (LowerVector.cpp); `unsupported-op` for other ops.
Status describeElementwise(Lowerer &L, const Op &op, ElementwiseStream &s);

/// The fused groups of a graph.
struct FusionPlan {
  static constexpr uint32_t kNone = UINT32_MAX;
  /// Per op: the index of its group in `groups`, or kNone (lowered on its own).
  std::vector<uint32_t> groupOf;
  /// Op indices of each group (two or more), ascending; emitted where the last one is.
  std::vector<std::vector<uint32_t>> groups;
  /// Per tensor: an intermediate of a group (no DRAM buffer, never stored).
  std::vector<bool> fusedAway;
};

/// Finds the groups. `persistent[t]`: tensor t lives in DRAM beyond the ops (input,
/// output, loss, parameter, gradient, state, constant); `viewed[t]`: some view aliases
/// it. L's addresses need not be placed yet (only shapes are looked at).
FusionPlan planFusion(Lowerer &L, const std::vector<bool> &persistent,
                      const std::vector<bool> &viewed);

/// Lowers group `group` of `plan` as one stream (the op being emitted is the group's
/// last; loads and the store are attributed to it, each vector instruction to its op).
Status lowerFusedGroup(Lowerer &L, const FusionPlan &plan, uint32_t group);

/// "add+relu" style label of a group: the kinds of its ops joined by '+'.
std::string fusedLabel(const workload::Graph &g, const std::vector<uint32_t> &ops);

} // namespace tessera::compiler::lower
