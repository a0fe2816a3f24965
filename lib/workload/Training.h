//===- Training.h - training graph by reverse-mode autodiff -----------------===//
//
// From a forward graph with a scalar loss, builds the graph of one training step:
// forward ops, recomputed forward ops (activation checkpointing), for every forward op
// its backward-data and backward-weight ops in reverse order, and one optimizer update
// per parameter. Also the memory a step needs: weights, gradients, optimizer state and
// the activations saved between forward and backward.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "workload/Graph.h"

namespace tessera::workload {

enum class OptimizerKind : uint8_t {
  Sgd,           ///< momentum SGD, weights and momentum in the compute type + FP32 master
  AdamW,         ///< AdamW with FP32 master weights and FP32 moments (mixed precision)
  AdamWBf16SR,   ///< pure BF16 weights and moments, stochastic rounding in the update
};

enum class Recompute : uint8_t {
  None,      ///< every activation a backward op needs is kept
  Selective, ///< attention internals (scores, softmax, dropout mask) recomputed
  Full,      ///< only each layer's input kept; the layer's forward re-run in backward
};

struct TrainingOptions {
  OptimizerKind optimizer = OptimizerKind::AdamW;
  Recompute recompute = Recompute::None;
};

/// The loss is the first scalar floating-point graph output. A graph with exactly one
/// output that is not a scalar (a model exported without its loss) gets a MseLoss against
/// a new Input tensor "target" of the output's shape appended. Errors: `no-loss` (no
/// output, or several outputs and none a scalar), `unsupported-op` (no derivative, names
/// the op).
///
/// The training graph starts with the forward graph unchanged (same tensor and op ids),
/// then, walking the forward ops in reverse, each op's backward-data / backward-weight ops
/// (forwardOf = the forward op, layer copied), gradient sums (Add) where a tensor has
/// several consumers, recomputed forward ops (Phase::Recompute, new tensors) where the
/// recompute policy asks, all-reduces of the gradients of parameters marked
/// partialGradTp, and last one optimizer update per parameter (in place: no outputs;
/// inputs {param, grad, state...} with state tensors of role OptimizerState).
/// Sequence-parallel all-gathers are never kept for backward: a backward op that needs
/// one re-gathers it (Phase::Recompute), as Megatron-LM does.
Expected<Graph> buildTrainingGraph(const Graph &forward, const TrainingOptions &opts);

/// Memory of one device for one training step, in bytes.
///
/// activations: distinct storage (views such as reshape / tp-copy resolved to the tensor
/// they view) of forward-phase activations read by a recompute or backward op, i.e. what
/// must live from the forward pass to the backward pass. With Full recompute that is each
/// layer's input (plus what ops outside the layers save); recomputed tensors are not
/// saved but transient. peakTransient: a liveness scan over the training graph's op
/// order of every other activation and gradient (from its producer to its last reader;
/// parameter gradients are counted in `gradients`),
/// the maximum of the live bytes over all ops.
struct TrainingMemory {
  double weights = 0;        ///< parameters in their compute dtype
  double gradients = 0;      ///< parameter gradients (compute dtype)
  double optimizerState = 0; ///< master weights + moments
  double activations = 0;    ///< saved between forward and backward, one micro-batch
  double peakTransient = 0;  ///< largest set of simultaneously live temporaries
  /// `activations` split by the layer of the op that produced each saved tensor
  /// (index = layer); the rest (embedding, head, loss) in activationsOutsideLayers.
  std::vector<double> activationsByLayer;
  double activationsOutsideLayers = 0;
  double total() const {
    return weights + gradients + optimizerState + activations + peakTransient;
  }
};
TrainingMemory trainingMemory(const Graph &training, const TrainingOptions &opts);

} // namespace tessera::workload
