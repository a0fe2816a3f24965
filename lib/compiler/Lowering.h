//===- Lowering.h - the per-op lowerings and their shared context -*- C++ -*-===//
//
// Internal to lib/compiler. A lowering turns one graph op into tile code through the
// block Emitter; the table in Compiler.cpp maps op kinds to {scratch the op needs in
// DRAM, lowering}. LowerVector.cpp holds the ops on the vector unit (elementwise,
// losses, reductions, layout changes, softmax, layer norm, AdamW), LowerTensor.cpp the
// ops on the tensor unit (GEMM, convolution) and the NCHW pooling / batch-norm ops.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/Compiler.h"
#include "compiler/Emitter.h"

#include <functional>
#include <string>
#include <vector>

namespace tessera::compiler {
struct SparsePlan;
}

namespace tessera::compiler::lower {

using accel::ElemFormat;
using accel::Opcode;
using workload::Graph;
using workload::Op;
using workload::OpKind;
using workload::TensorId;
using workload::TensorRole;

inline constexpr uint64_t kAlign = 64;
inline uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/// A scratch DRAM buffer a lowering asks for, live during its op only.
struct TempRequest {
  std::string name;
  uint64_t bytes;
};

class Lowerer;
using TempsFn = std::vector<TempRequest> (*)(const Lowerer &, const Op &);
using LowerFn = Status (*)(Lowerer &, const Op &, uint32_t);

struct Lowering {
  OpKind kind;
  TempsFn temps; ///< may be null
  LowerFn lower; ///< null: a view, no code
};

//===----------------------------------------------------------------------===//
// The lowering context
//===----------------------------------------------------------------------===//

class Lowerer {
public:
  Lowerer(const Graph &g, const accel::TileConfig &cfg, const CompileOptions &opts,
          const Initializers &init)
      : g(g), cfg(cfg), opts(opts), init(init), em(cfg) {}

  const Graph &g;
  const accel::TileConfig &cfg;
  const CompileOptions &opts;
  const Initializers &init;
  Emitter em;
  std::vector<uint32_t> addr;                  ///< per tensor
  std::vector<std::vector<uint32_t>> tempAddr; ///< per op, per TempRequest
  bool adamwSetUp = false;
  std::vector<uint32_t> patchBeta1, patchBeta2;
  /// Policy mxfp8-sparse: the pruned weights (Sparse.h); null otherwise.
  const SparsePlan *sparse = nullptr;

  uint32_t at(TensorId t) const { return addr[t.v]; }
  int64_t numel(TensorId t) const { return g.tensor(t).elements(); }
  const workload::Shape &shape(TensorId t) const { return g.tensor(t).shape; }
  uint32_t accWords() const { return cfg.accWords(); }

  Diagnostic opError(const Op &op, const std::string &id, const std::string &msg) const {
    return Diagnostic::error(
        id, "op '" + op.name + "' (" + std::string(workload::opName(op.kind)) + "): " + msg,
        op.loc);
  }
  Diagnostic doesNotFit(const Op &op, const std::string &what) const {
    return opError(op, "does-not-fit",
                   what + " does not fit the tile (SPAD " + std::to_string(cfg.spadBytes) +
                       " bytes, ACC " + std::to_string(accWords()) + " words)");
  }
  Diagnostic unsupported(const Op &op, const std::string &why) const {
    return opError(op, "unsupported-op", why);
  }
};

//===----------------------------------------------------------------------===//
// Helpers shared by the lowerings
//===----------------------------------------------------------------------===//

/// Elements per ACC chunk for `regions` equal regions plus `extra` words, a multiple of
/// `granule`, at most `cap`; 0 when not even one granule fits.
uint64_t chunkElems(const Lowerer &L, uint64_t count, uint64_t regions, uint64_t extra,
                    uint64_t granule = 1, uint64_t cap = 65535);

/// How an input of an elementwise op maps onto the output's elements.
struct Operand {
  enum Kind { Full, RowRepeat, SegRepeat, Scalar } kind = Full;
  uint32_t addr = 0;
  /// RowRepeat: elements of the repeated row. SegRepeat: segment length; element e reads
  /// value (e / width) % period.
  uint64_t width = 0;
  uint64_t period = 0;
};

/// Classifies input `in` of an op with output `out` (see LowerVector.cpp).
bool classify(const Lowerer &L, TensorId in, TensorId out, Operand &o);

using StreamBody = std::function<void(const std::vector<uint32_t> &, uint32_t, uint32_t)>;
/// Streams `count` output elements through ACC (see LowerVector.cpp).
Status streamElementwise(Lowerer &L, const Op &op, const std::vector<Operand> &ins,
                         uint32_t outAddr, uint64_t count, uint32_t extra, const StreamBody &body,
                         bool outFromScratch = false, uint64_t minGranule = 1);
/// dst[p] = sum of src[e] over (e / seg) % period == p.
Status reduceSegments(Lowerer &L, const Op &op, uint32_t src, uint64_t count, uint64_t seg,
                      uint64_t period, uint32_t dst);
/// dst[w] = the sum over the rows of src [rows][w].
Status reduceRows(Lowerer &L, const Op &op, uint32_t src, uint64_t rows, uint64_t w, uint32_t dst);

//===----------------------------------------------------------------------===//
// The lowerings (one per row of the table)
//===----------------------------------------------------------------------===//

#define TESSERA_LOWERING(fn) Status fn(Lowerer &L, const Op &op, uint32_t idx);
#define TESSERA_TEMPS(fn) std::vector<TempRequest> fn(const Lowerer &L, const Op &op);
// LowerVector.cpp
TESSERA_LOWERING(lowerBinary)
TESSERA_LOWERING(lowerRelu)
TESSERA_LOWERING(lowerNeg)
TESSERA_LOWERING(lowerActivationGrad)
TESSERA_LOWERING(lowerMseLoss)
TESSERA_LOWERING(lowerLossGrad)
TESSERA_LOWERING(lowerBiasGrad)
TESSERA_LOWERING(lowerTranspose)
TESSERA_LOWERING(lowerSlice)
TESSERA_LOWERING(lowerSliceGrad)
TESSERA_LOWERING(lowerDiv)
TESSERA_LOWERING(lowerSoftmax)
TESSERA_LOWERING(lowerSoftmaxGrad)
TESSERA_LOWERING(lowerLayerNorm)
TESSERA_LOWERING(lowerLayerNormGrad)
TESSERA_TEMPS(layerNormGradTemps)
TESSERA_LOWERING(lowerAdamW)
// LowerTensor.cpp
TESSERA_LOWERING(lowerMatMul)
TESSERA_TEMPS(matmulTemps)
TESSERA_LOWERING(lowerConv)
TESSERA_TEMPS(convTemps)
TESSERA_LOWERING(lowerConvWgrad)
TESSERA_TEMPS(convWgradTemps)
TESSERA_LOWERING(lowerConvDgrad)
TESSERA_TEMPS(convDgradTemps)
TESSERA_LOWERING(lowerMaxPool)
TESSERA_LOWERING(lowerGlobalAvgPool)
TESSERA_LOWERING(lowerPoolGrad)
TESSERA_LOWERING(lowerBatchNorm)
TESSERA_TEMPS(batchNormTemps)
TESSERA_LOWERING(lowerBatchNormGrad)
TESSERA_TEMPS(batchNormGradTemps)
#undef TESSERA_LOWERING
#undef TESSERA_TEMPS

} // namespace tessera::compiler::lower
