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

/// Errors: `no-loss` (graph output is not a scalar loss; a MseLoss against a synthetic
/// target is appended for models exported without one), `unsupported-op` (no derivative).
Expected<Graph> buildTrainingGraph(const Graph &forward, const TrainingOptions &opts);

/// Memory of one device for one training step, in bytes.
struct TrainingMemory {
  double weights = 0;        ///< parameters in their compute dtype
  double gradients = 0;      ///< parameter gradients
  double optimizerState = 0; ///< master weights + moments
  double activations = 0;    ///< saved between forward and backward, one micro-batch
  double peakTransient = 0;  ///< largest set of simultaneously live temporaries
  double total() const {
    return weights + gradients + optimizerState + activations + peakTransient;
  }
};
TrainingMemory trainingMemory(const Graph &training, const TrainingOptions &opts);

} // namespace tessera::workload
