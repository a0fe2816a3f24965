//===- Compiler.h - workload graph -> Tessera tile program -------------------===//
//
// `compile` turns a forward graph (ONNX import or model zoo) with the values of its
// initializers into a program for one tile of an arch spec: the forward pass, or with
// CompileOptions::train one training step (autodiff by workload::buildTrainingGraph,
// MSE(mean) loss against the input `target` when the model has no loss of its own,
// AdamW update of every parameter).
//
// The pipeline (docs/compiler.md): build the training graph if asked; place every tensor
// in DRAM (persistent: parameters, constants, optimizer state, inputs, outputs, loss,
// parameter gradients; planned by liveness: activations, backward temporaries and the
// lowerings' scratch, see MemoryPlan.h); lower op by op through a table of per-kind
// lowering functions over the shared block Emitter (Emitter.h: tiling to SPAD / ACC,
// addresses in registers, dependence tokens); verify the program against the tile.
//
// Errors: `unsupported-op` (no lowering; names the op, its kind and its ONNX node),
// `does-not-fit` (a tile of the op cannot fit SPAD / ACC), `unsupported-format` (the
// policy's operand format is not among the tile's tensor formats; names the op and the
// arch spec file), `unsupported-sparsity` (mxfp8-sparse on a tile without sparse MXFP8
// operands / the 2:4 pattern; names the op and the arch spec file), `missing-value` (an
// initializer without values).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/Program.h"
#include "workload/Graph.h"
#include "workload/Onnx.h"

namespace tessera::arch {
struct ArchSpec;
}

namespace tessera::compiler {

using workload::Initializers;

/// Compiles `forward` (a forward graph; Initializers keyed by its tensor ids) for the
/// tile of `spec`.
Expected<Program> compile(const workload::Graph &forward, const Initializers &init,
                          const arch::ArchSpec &spec, const CompileOptions &opts);

/// The graph a program is lowered from: `forward`, or its training graph (AdamW) when
/// `train`. Exposed for tests and reports.
Expected<workload::Graph> graphToLower(const workload::Graph &forward, bool train);

} // namespace tessera::compiler
