//===- Cost.h - FLOP and byte accounting per op ----------------------------===//
//
// The work an op does, independent of any device: FLOPs (a multiply-add counts 2), the
// GEMM view of matrix ops (convolutions as implicit GEMM, attention as its batched
// products), compulsory memory traffic (every input read once, every output written
// once) and, for collectives, the message size. Device models (GPU, accelerator) turn
// this into time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "workload/Graph.h"

#include <array>

namespace tessera::workload {

/// C[batch][m][n] = sum_k A[batch][m][k] * B[batch][k][n].
struct GemmShape {
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  double flops() const { return 2.0 * double(batch) * double(m) * double(n) * double(k); }
};

struct OpCost {
  double flops = 0;        ///< all floating-point work (GEMM + vector)
  double gemmFlops = 0;    ///< the part that runs on matrix units
  /// GEMMs the op performs (conv: one implicit GEMM; attention: QK^T and PV, and for
  /// its backward the five products of a flash-attention backward pass).
  std::vector<GemmShape> gemms;
  double bytesRead = 0;    ///< compulsory: each input once
  double bytesWritten = 0; ///< compulsory: each output once
  double commBytes = 0;    ///< collectives: bytes of the full (unsharded) message per rank
};

/// Cost of one op of `g`. Rules per op kind are documented in Cost.cpp; an op kind the
/// table does not know costs nothing (never happens for kinds in Ops.def).
OpCost opCost(const Graph &g, const Op &op);

/// Per-phase totals over a graph.
struct GraphCost {
  std::array<double, 5> flopsByPhase{};     ///< indexed by Phase
  std::array<double, 5> gemmFlopsByPhase{};
  std::array<double, 5> bytesByPhase{};     ///< bytesRead + bytesWritten
  std::array<double, 5> commBytesByPhase{};
  double flops = 0;
  double bytes = 0;
  double commBytes = 0;
};
GraphCost graphCost(const Graph &g);

} // namespace tessera::workload
