//===- Sparse.h - the mxfp8-sparse policy: 2:4 pruning and gemmsp -*- C++ -*-===//
//
// Internal to lib/compiler. Under policy mxfp8-sparse every forward MatMul whose B
// operand is a 2-D trainable weight with K (the reduction extent) a multiple of 4 is
// pruned once at compile time by magnitude (NVIDIA ASP's one-shot rule): in each group of
// 4 consecutive K positions of the weight's canonical [N][K] form the 2 largest |w| are
// kept (ties: the lower position), the other two become 0 in the initial parameter image.
// The compiler keeps, per pruned weight, in the persistent DRAM image:
//   sel0, sel1  FP32 [N][Kp] one-hot selectors of the kept positions (slot 0 / slot 1 of
//               each group; Kp = K padded to whole MX blocks of 32)
//   meta        the 2-bit gemmsp indices, numerics::compressNm + packNmIndex of the masked
//               (padded) weight: docs/isa.md section 2, "N:M metadata"
//   mask        FP32 in the parameter's own layout (training programs only)
// On the device, each step: the weight is MX-quantized dense (E8M0 scale per 32 dense K,
// so the scales are those gemmsp expects), the codes are decoded to FP32 in ACC (`ldacc
// src=e4m3`, exact), slot j of each group = vsum(seg 4) of codes * selj (exact: one
// non-zero term), and the slots are stored interleaved (`st fmt=e4m3`, 2-byte DRAM row
// stride; exact). The forward GEMM is then Y^T = Wc X^T with `gemmsp` (A = compressed
// weight, B = the MX-quantized activations) and C is stored transposed (one strided `st`
// per output row). After every AdamW update the parameter is multiplied by its mask, so
// pruned weights stay exactly 0. Backward GEMMs use the dense masked weight in MXFP8.
//
// Dense (recorded with the reason): convolutions, batched / non-parameter matrix
// products, weights whose K is not a multiple of 4.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/Lowering.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tessera::compiler {

/// One pruned weight (a parameter used as B of forward MatMuls).
struct SparseWeight {
  uint32_t weight = 0; ///< tensor id of the parameter
  std::string weightName;
  std::vector<uint32_t> ops; ///< forward MatMul ops using it sparse
  uint64_t n = 0, k = 0, kp = 0;
  bool tb = true;                ///< stored [N][K] (graph transB) rather than [K][N]
  std::vector<float> mask;       ///< parameter layout: 1 kept, 0 pruned
  std::vector<float> sel0, sel1; ///< canonical [N][Kp]
  std::vector<uint8_t> meta;     ///< packed 2-bit indices, [N][Kp / 2] of them
  uint64_t zeroed = 0;           ///< weights pruned that were not already 0
  uint32_t maskAt = 0, sel0At = 0, sel1At = 0, metaAt = 0; ///< DRAM addresses
};

struct SparsePlan {
  std::vector<SparseWeight> weights;
  std::vector<int32_t> weightOfOp;    ///< per op: index into weights, or -1
  std::vector<int32_t> weightOfParam; ///< per tensor: index into weights, or -1
  std::vector<SparseRecord> records;  ///< what Program::sparsity reports, in op order

  const SparseWeight *forOp(uint32_t op) const {
    return op < weightOfOp.size() && weightOfOp[op] >= 0 ? &weights[size_t(weightOfOp[op])]
                                                         : nullptr;
  }
  const SparseWeight *forParam(uint32_t t) const {
    return t < weightOfParam.size() && weightOfParam[t] >= 0 ? &weights[size_t(weightOfParam[t])]
                                                             : nullptr;
  }
};

/// Magnitude pruning of `rows` rows of `k` values (k % m == 0): 1 for the n largest |x| of
/// each group of m consecutive values (ties: the lower position), else 0.
std::vector<uint8_t> pruneNm(std::span<const float> x, uint64_t rows, uint64_t k, unsigned n,
                             unsigned m);

/// Decides which weights of `g` (the graph being lowered) are pruned, prunes their initial
/// values and builds selectors, metadata and masks. `unsupported-sparsity` (naming the op
/// and the arch file) when there is a weight to prune and the tile has no sparse MXFP8
/// operand or no 2:4 pattern.
Expected<SparsePlan> planSparsity(const workload::Graph &g, const Initializers &init,
                                  const accel::TileConfig &cfg, const CompileOptions &opts);

/// Bytes of persistent DRAM the plan's constants need (64-byte aligned pieces).
uint64_t sparseConstantBytes(const SparsePlan &plan, bool train);
/// Places the constants from byte `top` (updated), records their DRAM tensors.
void placeSparseConstants(SparsePlan &plan, bool train, uint64_t &top,
                          std::vector<DramTensor> &tensors);
/// Writes the constants into the image and zeroes the pruned weights of the parameters
/// (at their addresses `addr`).
void writeSparseImage(const SparsePlan &plan, bool train, const std::vector<uint32_t> &addr,
                      std::vector<uint8_t> &image);

namespace lower {
/// The pruned weight `op` uses as its sparse operand, or null (dense).
const SparseWeight *sparseWeightOf(const Lowerer &L, const workload::Op &op);
/// DRAM scratch of a sparse forward MatMul (X's and W's MX copies, W compressed).
std::vector<TempRequest> sparseMatMulTemps(const Lowerer &L, const workload::Op &op);
/// The forward MatMul `op` with its pruned weight `w` on gemmsp.
Status lowerSparseMatMul(Lowerer &L, const workload::Op &op, uint32_t idx, const SparseWeight &w);
/// param *= mask after its AdamW update.
Status emitReapplyMask(Lowerer &L, const workload::Op &op, const SparseWeight &w);
} // namespace lower

} // namespace tessera::compiler
