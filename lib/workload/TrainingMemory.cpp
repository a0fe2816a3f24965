//===- TrainingMemory.cpp - memory of one training step ---------------------===//
//
// What one device holds during a training step: weights and gradients in their compute
// type, the optimizer state the graph's update ops read, the activations saved from the
// forward pass for recompute / backward ops, and a peak of everything else by a liveness
// scan (each tensor live from its producer to its last reader, in op order). Views
// (reshape, expand, tp-copy) share the storage of the tensor they view. The rules are
// those of Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
// Transformer Models", whose per-layer counts the unit tests reproduce.
//
//===----------------------------------------------------------------------===//
#include "workload/Training.h"

#include <algorithm>

namespace tessera::workload {

namespace {

bool isView(OpKind k) { return k == OpKind::Reshape || k == OpKind::Expand || k == OpKind::TpCopy; }

/// A backward-weight result shaped like a parameter of the forward op it came from: a
/// parameter gradient or a partial sum of one.
bool isParameterGradient(const Graph &g, const Tensor &t) {
  const Op &op = g.op(t.producer);
  if (op.phase != Phase::BackwardWeight)
    return false;
  if (!op.forwardOf.valid())
    return true;
  for (TensorId in : g.op(op.forwardOf).inputs)
    if (g.tensor(in).role == TensorRole::Parameter && g.tensor(in).shape == t.shape)
      return true;
  return false;
}

} // namespace

TrainingMemory trainingMemory(const Graph &g, const TrainingOptions &opts) {
  TrainingMemory m;
  double impliedState = 0; // for a graph without optimizer ops
  bool hasState = false;
  for (const Tensor &t : g.tensors()) {
    if (t.role == TensorRole::Parameter) {
      m.weights += t.bytes();
      m.gradients += t.bytes();
      double e = double(t.elements());
      switch (opts.optimizer) {
      case OptimizerKind::Sgd:
        impliedState += e * (4 + dtypeBytes(t.dtype));
        break;
      case OptimizerKind::AdamW:
        impliedState += e * 12;
        break;
      case OptimizerKind::AdamWBf16SR:
        impliedState += e * 4;
        break;
      }
    } else if (t.role == TensorRole::OptimizerState) {
      m.optimizerState += t.bytes();
      hasState = true;
    }
  }
  if (!hasState)
    m.optimizerState = impliedState;

  // Views share the storage of the tensor they view.
  size_t nt = g.numTensors();
  std::vector<uint32_t> root(nt);
  for (uint32_t i = 0; i < nt; ++i)
    root[i] = i;
  for (const Op &op : g.ops())
    if (isView(op.kind) && !op.inputs.empty() && !op.outputs.empty())
      root[op.outputs[0].v] = root[op.inputs[0].v];

  auto phaseOf = [&](uint32_t t) {
    OpId p = g.tensors()[t].producer;
    return p.valid() ? g.op(p).phase : Phase::Forward;
  };
  std::vector<char> saved(nt, 0);
  for (const Op &op : g.ops()) {
    if (op.phase == Phase::Forward || op.phase == Phase::Optimizer)
      continue;
    for (TensorId in : op.inputs) {
      uint32_t r = root[in.v];
      const Tensor &t = g.tensors()[r];
      if (t.role == TensorRole::Activation && phaseOf(r) == Phase::Forward)
        saved[r] = 1;
    }
  }
  m.activationsByLayer.assign(size_t(g.numLayers()), 0.0);
  for (uint32_t r = 0; r < nt; ++r) {
    if (!saved[r])
      continue;
    const Tensor &t = g.tensors()[r];
    m.activations += t.bytes();
    int32_t layer = g.op(t.producer).layer;
    if (layer >= 0)
      m.activationsByLayer[size_t(layer)] += t.bytes();
    else
      m.activationsOutsideLayers += t.bytes();
  }

  // Liveness of everything else that is produced by an op.
  std::vector<int64_t> last(nt, -1);
  for (uint32_t i = 0; i < g.numOps(); ++i)
    for (TensorId in : g.op(OpId{i}).inputs)
      last[root[in.v]] = i;
  std::vector<double> delta(g.numOps() + 1, 0.0);
  for (uint32_t r = 0; r < nt; ++r) {
    const Tensor &t = g.tensors()[r];
    if (root[r] != r || saved[r] || !t.producer.valid())
      continue;
    if (t.role != TensorRole::Activation && t.role != TensorRole::Gradient)
      continue;
    if (isParameterGradient(g, t))
      continue; // lives in the gradient buffers
    int64_t begin = t.producer.v, end = std::max<int64_t>(last[r], begin);
    delta[size_t(begin)] += t.bytes();
    delta[size_t(end + 1)] -= t.bytes();
  }
  double live = 0;
  for (size_t i = 0; i < g.numOps(); ++i) {
    live += delta[i];
    m.peakTransient = std::max(m.peakTransient, live);
  }
  return m;
}

} // namespace tessera::workload
