//===- Graph.h - the workload graph IR --------------------------------------===//
//
// A training workload as a graph of tensor operators with static shapes and dtypes. The
// same IR holds a forward graph (from the model zoo or ONNX import) and a training graph
// (forward + recomputation + backward-data + backward-weight + optimizer, built by
// autodiff), so FLOP/byte accounting, the GPU model, the accelerator mapper and the
// compiler all read one structure.
//
// Tensors and ops live in dense vectors owned by the Graph and are referred to by typed
// 32-bit ids; iteration is in id order, so everything derived from a graph is
// deterministic. Ops are stored in a valid execution (topological) order.
//
// Tensor parallelism is explicit: a zoo model built for TP degree t is the graph of one
// rank (weights sharded, heads divided) with collective ops where Megatron-LM places its
// all-reduces / reduce-scatters / all-gathers. Pipeline parallelism is a partition of
// `layer` indices, done by the cost model.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Expected.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::workload {

enum class OpKind : uint16_t {
#define OP(Enum, Name, Category) Enum,
#include "workload/Ops.def"
};

enum class OpCategory : uint8_t {
  Gemm,
  Conv,
  Elementwise,
  Reduction,
  Attention,
  Movement,
  Loss,
  Optimizer,
  Collective
};

std::string_view opName(OpKind k);
OpCategory opCategory(OpKind k);
/// Lookup by the name in Ops.def; false if unknown.
bool opKindFromName(std::string_view name, OpKind &out);

enum class DType : uint8_t { F32, TF32, F16, BF16, FP8E4M3, FP8E5M2, I64, I32, I8, Bool };
std::string_view dtypeName(DType t);
/// Storage bytes per element (TF32 is stored as 4 bytes).
double dtypeBytes(DType t);

/// What a tensor is in a training step; decides what counts as weights, activations,
/// gradients and optimizer state in memory accounting.
enum class TensorRole : uint8_t {
  Input,          ///< data fed per step (tokens, images, labels)
  Parameter,      ///< trainable weight
  Constant,       ///< non-trainable initializer (running stats, masks, shape tensors)
  Activation,     ///< produced by a forward op
  Gradient,       ///< produced by a backward op (activation or parameter gradient)
  OptimizerState, ///< Adam moments, FP32 master weights
};
std::string_view roleName(TensorRole r);

/// Which pass of a training step an op belongs to.
enum class Phase : uint8_t { Forward, Recompute, BackwardData, BackwardWeight, Optimizer };
std::string_view phaseName(Phase p);

/// The device group a collective communicates over.
enum class CommGroup : uint8_t { None, Tensor, Data, Pipeline };

struct TensorId {
  uint32_t v = UINT32_MAX;
  bool valid() const { return v != UINT32_MAX; }
  friend bool operator==(TensorId a, TensorId b) { return a.v == b.v; }
  friend bool operator<(TensorId a, TensorId b) { return a.v < b.v; }
};
struct OpId {
  uint32_t v = UINT32_MAX;
  bool valid() const { return v != UINT32_MAX; }
  friend bool operator==(OpId a, OpId b) { return a.v == b.v; }
  friend bool operator<(OpId a, OpId b) { return a.v < b.v; }
};

using Shape = std::vector<int64_t>;
int64_t numElements(const Shape &s);
std::string shapeStr(const Shape &s);

struct Tensor {
  std::string name;
  Shape shape;
  DType dtype = DType::F32;
  TensorRole role = TensorRole::Activation;
  OpId producer; ///< invalid for inputs, parameters and constants
  /// Parameter replicated over the tensor-parallel group whose per-rank gradient is only a
  /// partial sum because it touches sequence-parallel (token-sharded) activations: norms,
  /// row-parallel biases, position embeddings. Autodiff all-reduces its gradient.
  bool partialGradTp = false;

  int64_t elements() const { return numElements(shape); }
  double bytes() const { return double(elements()) * dtypeBytes(dtype); }
};

/// Operator attributes. One plain struct rather than a variant: each kind documents which
/// fields it reads; unused fields keep their defaults and are not printed.
struct OpAttrs {
  // MatMul: C[..., M, N] = op(A)[..., M, K] * op(B)[..., K, N]
  bool transA = false;
  bool transB = false;
  // Conv2d / pools: NCHW, weights OIHW
  int64_t strideH = 1, strideW = 1;
  int64_t padT = 0, padL = 0, padB = 0, padR = 0;
  int64_t dilationH = 1, dilationW = 1;
  int64_t kernelH = 1, kernelW = 1; ///< pools (conv reads the weight shape)
  int64_t groups = 1;
  // Axis for softmax / norms / reductions / concat / split / gather; -1 = last.
  int64_t axis = -1;
  // Attention: q [B, H, S, D], k/v [B, Hkv, S, D]
  int64_t heads = 0;
  int64_t kvHeads = 0;
  bool causal = false;
  // Dropout probability, norm epsilon.
  double p = 0.0;
  double eps = 1e-5;
  // Softmax: factor applied to the input first (unfused attention's 1/sqrt(head dim));
  // with `causal` set the upper triangle of the last two dims is masked out.
  double scale = 1.0;
  // ActivationGrad / ReduceGrad: the forward op kind being differentiated.
  OpKind of = OpKind::Add;
  // Collectives
  CommGroup group = CommGroup::None;
  // Transpose: output dim i is input dim perm[i] (empty: reverse the dims).
  std::vector<int64_t> perm;
  // Slice: per input dim, the first index taken and the step (empty steps: all 1); the
  // output shape gives the extent.
  std::vector<int64_t> starts;
  std::vector<int64_t> steps;
};

struct Op {
  OpKind kind = OpKind::Add;
  std::string name;
  std::vector<TensorId> inputs;
  std::vector<TensorId> outputs;
  OpAttrs attrs;
  Phase phase = Phase::Forward;
  /// For backward / recompute / optimizer ops: the forward op (or parameter's consumer)
  /// this op was derived from; invalid for forward ops.
  OpId forwardOf;
  /// Repeated block index (transformer layer, ResNet stage block); -1 for ops outside
  /// the repeated body (embedding, head, loss). Pipeline stages split on it.
  int32_t layer = -1;
  /// Where the op came from: the ONNX file and node, or the zoo builder.
  SourceLoc loc;
};

class Graph {
public:
  explicit Graph(std::string name = "") : name_(std::move(name)) {}

  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  TensorId addTensor(Tensor t);
  /// Appends an op (ops must be added in execution order) and sets the producer of its
  /// outputs.
  OpId addOp(Op op);

  const Tensor &tensor(TensorId id) const { return tensors_[id.v]; }
  Tensor &tensor(TensorId id) { return tensors_[id.v]; }
  const Op &op(OpId id) const { return ops_[id.v]; }
  Op &op(OpId id) { return ops_[id.v]; }

  size_t numTensors() const { return tensors_.size(); }
  size_t numOps() const { return ops_.size(); }
  const std::vector<Tensor> &tensors() const { return tensors_; }
  const std::vector<Op> &ops() const { return ops_; }

  /// Graph inputs (data) and outputs (loss or model outputs), in declaration order.
  std::vector<TensorId> &inputs() { return inputs_; }
  const std::vector<TensorId> &inputs() const { return inputs_; }
  std::vector<TensorId> &outputs() { return outputs_; }
  const std::vector<TensorId> &outputs() const { return outputs_; }

  /// For every tensor, the ops that read it, in op order.
  std::vector<std::vector<OpId>> consumers() const;

  /// Tensors with role Parameter, in id order.
  std::vector<TensorId> parameters() const;
  int64_t parameterCount() const;
  /// Highest layer index + 1 (0 if no op has a layer).
  int32_t numLayers() const;

  /// Structural checks: ids in range, ops in topological order, every activation has a
  /// producer. Returns the first problem found.
  Status verify() const;

private:
  std::string name_;
  std::vector<Tensor> tensors_;
  std::vector<Op> ops_;
  std::vector<TensorId> inputs_;
  std::vector<TensorId> outputs_;
};

} // namespace tessera::workload
