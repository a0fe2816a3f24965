//===- Training.cpp - reverse-mode autodiff into a training graph ----------===//
//
// Reverse-mode automatic differentiation over the workload op set (Griewank & Walther,
// "Evaluating Derivatives", ch. 3): the forward ops are walked in reverse topological
// order; each op that lies between a parameter and the loss emits the ops computing the
// gradients of its inputs from the gradients of its outputs, and gradients of a tensor
// read by several ops are summed as they arrive. Only gradients that are needed are
// built: a tensor needs one if it depends on a parameter and the loss depends on it, so
// no gradient flows into data inputs, constants, or the first layer's input.
//
// Activation recomputation follows Korthikanti et al. 2022, "Reducing Activation
// Recomputation in Large Transformer Models": Full re-runs each layer's forward ops just
// before that layer's backward (only layer inputs stay saved); Selective re-runs only the
// attention core (the QK^T product, softmax and the dropout on the probabilities) when
// its backward needs it. Sequence-parallel all-gathers are re-gathered in backward rather
// than saved (Section 4.2.3 of the same paper).
//
// Tensor-parallel collectives map to their conjugates (Megatron-LM): the forward
// all-reduce "g" has an identity backward, the forward identity "f" (TpCopy) an all-reduce
// backward, all-gather and reduce-scatter swap.
//
//===----------------------------------------------------------------------===//
#include "workload/Training.h"

#include <algorithm>
#include <optional>

namespace tessera::workload {

namespace {

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::TF32 || t == DType::F16 || t == DType::BF16 ||
         t == DType::FP8E4M3 || t == DType::FP8E5M2;
}

/// Shape of MatMul(x, y) with the given transposes; leading dims broadcast.
Shape matmulShape(const Shape &x, const Shape &y, bool tx, bool ty) {
  Shape bx(x.begin(), x.end() - 2), by(y.begin(), y.end() - 2);
  Shape out(std::max(bx.size(), by.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t dx = i < bx.size() ? bx[bx.size() - 1 - i] : 1;
    int64_t dy = i < by.size() ? by[by.size() - 1 - i] : 1;
    out[out.size() - 1 - i] = std::max(dx, dy);
  }
  out.push_back(tx ? x.back() : x[x.size() - 2]);
  out.push_back(ty ? y[y.size() - 2] : y.back());
  return out;
}

class Autodiff {
public:
  Autodiff(const Graph &forward, const TrainingOptions &opts) : opts_(opts), g_(forward) {}

  Expected<Graph> run() {
    TRY_ASSIGN(TensorId loss, findLoss());
    numFwdOps_ = g_.numOps();
    numFwdTensors_ = g_.numTensors();
    analyze(loss);
    planRecompute();

    grad_.assign(numFwdTensors_, TensorId{});
    recomputed_.assign(numFwdTensors_, TensorId{});
    Tensor seed;
    seed.name = g_.tensor(loss).name + ".grad-seed";
    seed.shape = {};
    seed.dtype = DType::F32;
    seed.role = TensorRole::Constant;
    grad_[loss.v] = g_.addTensor(std::move(seed));

    int32_t recomputedLayer = -1;
    for (size_t i = numFwdOps_; i-- > 0;) {
      cur_ = OpId{uint32_t(i)};
      const Op op = g_.op(cur_); // copy: emitting ops may reallocate the op vector
      if (!differentiate(op))
        continue;
      if (opts_.recompute == Recompute::Full && op.layer >= 0 && op.layer != recomputedLayer) {
        recomputedLayer = op.layer;
        recomputeLayer(op.layer);
        cur_ = OpId{uint32_t(i)};
      }
      TRY(backward(op));
    }
    finishGradients();
    emitOptimizer();
    return std::move(g_);
  }

private:
  // Setup -----------------------------------------------------------------------------

  Expected<TensorId> findLoss() {
    if (g_.outputs().empty())
      return Diagnostic::error("no-loss", "graph '" + g_.name() + "' has no output to train on");
    for (TensorId out : g_.outputs()) {
      const Tensor &t = g_.tensor(out);
      if (t.elements() == 1 && isFloat(t.dtype))
        return out;
    }
    if (g_.outputs().size() > 1)
      return Diagnostic::error("no-loss", "graph '" + g_.name() + "' has " +
                                              std::to_string(g_.outputs().size()) +
                                              " outputs and none is a scalar loss");
    // A model exported without its loss: regress its output onto a synthetic target.
    TensorId out = g_.outputs()[0];
    Tensor target;
    target.name = "target";
    target.shape = g_.tensor(out).shape;
    target.dtype = g_.tensor(out).dtype;
    target.role = TensorRole::Input;
    TensorId tgt = g_.addTensor(std::move(target));
    g_.inputs().push_back(tgt);
    Tensor l;
    l.name = "mse-loss";
    l.shape = {};
    l.dtype = DType::F32;
    TensorId loss = g_.addTensor(std::move(l));
    Op op;
    op.kind = OpKind::MseLoss;
    op.name = "mse-loss";
    op.inputs = {out, tgt};
    op.outputs = {loss};
    if (g_.tensor(out).producer.valid())
      op.loc = g_.op(g_.tensor(out).producer).loc;
    g_.addOp(std::move(op));
    g_.outputs() = {loss};
    return loss;
  }

  /// Which outputs of an op carry a gradient at all.
  static bool differentiableOutput(const Op &op, size_t i) {
    if ((op.kind == OpKind::Dropout || op.kind == OpKind::Attention) && i > 0)
      return false; // the mask, the log-sum-exp statistics
    return true;
  }

  /// needsGrad = depends on a parameter and the loss depends on it.
  void analyze(TensorId loss) {
    std::vector<char> depends(numFwdTensors_, 0), reaches(numFwdTensors_, 0);
    for (uint32_t t = 0; t < numFwdTensors_; ++t)
      depends[t] = g_.tensor(TensorId{t}).role == TensorRole::Parameter;
    for (const Op &op : g_.ops()) {
      bool any = false;
      for (TensorId in : op.inputs)
        any |= depends[in.v] != 0;
      for (size_t i = 0; i < op.outputs.size(); ++i)
        depends[op.outputs[i].v] =
            any && differentiableOutput(op, i) && isFloat(g_.tensor(op.outputs[i]).dtype);
    }
    reaches[loss.v] = 1;
    for (size_t i = g_.numOps(); i-- > 0;) {
      const Op &op = g_.op(OpId{uint32_t(i)});
      bool any = false;
      for (TensorId out : op.outputs)
        any |= reaches[out.v] != 0;
      if (any)
        for (TensorId in : op.inputs)
          reaches[in.v] = 1;
    }
    needs_.resize(numFwdTensors_);
    for (size_t t = 0; t < numFwdTensors_; ++t)
      needs_[t] = depends[t] && reaches[t] && isFloat(g_.tensor(TensorId{uint32_t(t)}).dtype);
  }

  /// Marks the forward ops re-run on demand when a backward op reads their outputs.
  void planRecompute() {
    onDemand_.assign(numFwdOps_, 0);
    auto consumers = g_.consumers();
    for (uint32_t i = 0; i < numFwdOps_; ++i) {
      const Op &op = g_.op(OpId{i});
      if (op.kind == OpKind::AllGather && op.attrs.group == CommGroup::Tensor)
        onDemand_[i] = 1; // sequence-parallel all-gather: re-gather, never save
      if (opts_.recompute != Recompute::Selective || op.kind != OpKind::Softmax || op.layer < 0)
        continue;
      // Attention core: the softmax, the score product feeding it (through pointwise
      // scale / mask ops) and the pointwise ops (dropout) between it and the PV product.
      onDemand_[i] = 1;
      for (TensorId t = op.inputs[0]; g_.tensor(t).producer.valid();) {
        const Op &p = g_.op(g_.tensor(t).producer);
        if (p.phase != Phase::Forward || p.layer != op.layer)
          break;
        onDemand_[g_.tensor(t).producer.v] = 1;
        if (p.kind == OpKind::MatMul || opCategory(p.kind) != OpCategory::Elementwise)
          break;
        t = p.inputs[0];
      }
      for (TensorId t = op.outputs[0]; consumers[t.v].size() == 1;) {
        OpId c = consumers[t.v][0];
        const Op &cop = g_.op(c);
        if (opCategory(cop.kind) != OpCategory::Elementwise || cop.layer != op.layer)
          break;
        onDemand_[c.v] = 1;
        t = cop.outputs[0];
      }
    }
  }

  // Emission helpers ---------------------------------------------------------------------

  const Tensor &tensor(TensorId t) const { return g_.tensor(t); }
  const Shape &shape(TensorId t) const { return g_.tensor(t).shape; }
  bool needs(TensorId t) const { return t.v < numFwdTensors_ && needs_[t.v]; }
  bool isParam(TensorId t) const { return tensor(t).role == TensorRole::Parameter; }
  Phase phaseFor(TensorId target) const {
    return isParam(target) ? Phase::BackwardWeight : Phase::BackwardData;
  }

  TensorId newTensor(std::string name, Shape shape, DType dtype, TensorRole role) {
    Tensor t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    t.dtype = dtype;
    t.role = role;
    return g_.addTensor(std::move(t));
  }

  /// A new gradient-valued tensor.
  TensorId gradTensor(const std::string &name, const Shape &shape, DType dtype) {
    return newTensor(name, shape, dtype, TensorRole::Gradient);
  }

  OpId emit(OpKind kind, std::string name, std::vector<TensorId> inputs,
            std::vector<TensorId> outputs, Phase phase, OpAttrs attrs = {}) {
    const Op &f = g_.op(cur_);
    Op op;
    op.kind = kind;
    op.name = std::move(name);
    op.inputs = std::move(inputs);
    op.outputs = std::move(outputs);
    op.attrs = attrs;
    op.phase = phase;
    op.forwardOf = cur_;
    op.layer = f.layer;
    op.loc = f.loc;
    return g_.addOp(std::move(op));
  }

  /// Emits a single-output backward op producing a gradient-valued tensor.
  TensorId emit1(OpKind kind, const std::string &name, std::vector<TensorId> inputs,
                 const Shape &shape, DType dtype, Phase phase, OpAttrs attrs = {}) {
    TensorId out = gradTensor(name, shape, dtype);
    emit(kind, name, std::move(inputs), {out}, phase, attrs);
    return out;
  }

  /// Adds `d` to the gradient of forward tensor `t`.
  void accumulate(TensorId t, TensorId d) {
    TensorId &slot = grad_[t.v];
    if (!slot.valid()) {
      slot = d;
      return;
    }
    std::string name = tensor(t).name + ".grad-sum" + std::to_string(++sums_);
    slot = emit1(OpKind::Add, name, {slot, d}, shape(t), tensor(t).dtype, phaseFor(t));
  }

  /// Sums a broadcast gradient `d` down to the shape of forward tensor `t`: BiasGrad for a
  /// parameter, ReduceSum for an activation.
  TensorId reduceTo(TensorId d, TensorId t, const std::string &name) {
    if (shape(d) == shape(t))
      return d;
    OpKind k = isParam(t) ? OpKind::BiasGrad : OpKind::ReduceSum;
    return emit1(k, name, {d}, shape(t), tensor(t).dtype, phaseFor(t));
  }

  /// The tensor a backward op reads for forward tensor `t`: its recomputed copy when
  /// there is one, after recomputing it when its producer is re-run on demand.
  TensorId saved(TensorId t) {
    if (t.v >= numFwdTensors_)
      return t;
    if (recomputed_[t.v].valid())
      return recomputed_[t.v];
    OpId p = tensor(t).producer;
    if (p.valid() && p.v < numFwdOps_ && onDemand_[p.v]) {
      recompute(p);
      return recomputed_[t.v];
    }
    return t;
  }

  /// Re-emits forward op `p` with Phase::Recompute and fresh outputs.
  void recompute(OpId p) {
    Op op = g_.op(p);
    for (TensorId &in : op.inputs)
      in = saved(in);
    for (TensorId &out : op.outputs) {
      const Tensor &t = tensor(out);
      TensorId copy = newTensor(t.name + ".recompute", t.shape, t.dtype, TensorRole::Activation);
      recomputed_[out.v] = copy;
      out = copy;
    }
    op.name += ".recompute";
    op.phase = Phase::Recompute;
    op.forwardOf = p;
    g_.addOp(std::move(op));
  }

  void recomputeLayer(int32_t layer) {
    for (uint32_t i = 0; i < numFwdOps_; ++i) {
      const Op &op = g_.op(OpId{i});
      if (op.layer == layer && !op.outputs.empty() && !recomputed_[op.outputs[0].v].valid())
        recompute(OpId{i});
    }
  }

  /// True if the op has a gradient to propagate into some input that needs one.
  bool differentiate(const Op &op) const {
    bool out = false, in = false;
    for (TensorId t : op.outputs)
      out |= t.v < grad_.size() && grad_[t.v].valid();
    for (TensorId t : op.inputs)
      in |= needs(t);
    return out && in;
  }

  TensorId dOut(const Op &op, size_t i = 0) const { return grad_[op.outputs[i].v]; }

  Diagnostic unsupported(const Op &op, const std::string &why) const {
    return Diagnostic::error("unsupported-op",
                             "cannot differentiate op '" + op.name + "' (" +
                                 std::string(opName(op.kind)) + ")" +
                                 (why.empty() ? "" : ": " + why),
                             op.loc);
  }

  // Backward rules -----------------------------------------------------------------------

  Status backward(const Op &op) {
    switch (op.kind) {
    case OpKind::MatMul:
      return matmul(op);
    case OpKind::Conv2d:
      return conv(op);

    case OpKind::BatchNorm:
      return norm(op, OpKind::BatchNormGrad);
    case OpKind::LayerNorm:
      return norm(op, OpKind::LayerNormGrad);
    case OpKind::RMSNorm:
      return norm(op, OpKind::RMSNormGrad);

    case OpKind::Softmax:
      return unary(op, OpKind::SoftmaxGrad, {dOut(op), saved(op.outputs[0])});
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
      return unary(op, OpKind::ReduceGrad, {dOut(op)}, true);
    case OpKind::ReduceMax:
      return unary(op, OpKind::ReduceGrad, {dOut(op), saved(op.inputs[0]), saved(op.outputs[0])},
                   true);
    case OpKind::MaxPool2d:
      return unary(op, OpKind::PoolGrad, {dOut(op), saved(op.inputs[0])}, true);
    case OpKind::AvgPool2d:
    case OpKind::GlobalAvgPool:
      return unary(op, OpKind::PoolGrad, {dOut(op)}, true);

    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div:
      return binary(op);
    case OpKind::Pow:
      if (op.inputs.size() > 1 && needs(op.inputs[1]))
        return unsupported(op, "gradient with respect to the exponent");
      return activation(
          op, {saved(op.inputs[0]), op.inputs.size() > 1 ? saved(op.inputs[1]) : TensorId{}});
    // f'(x) from the input or, where cheaper to keep, from the output.
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Erf:
      return activation(op, {saved(op.inputs[0])});
    case OpKind::Relu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::Exp:
    case OpKind::Sqrt:
      return activation(op, {saved(op.outputs[0])});
    case OpKind::Rope: { // rotation by the negative angles: only the cos/sin table
      std::vector<TensorId> extra(op.inputs.begin() + 1, op.inputs.end());
      return activation(op, extra);
    }
    case OpKind::Neg:
      return unary(op, OpKind::Neg, {dOut(op)});
    case OpKind::Dropout:
      if (op.outputs.size() < 2 || op.attrs.p <= 0) { // inference-mode identity
        accumulate(op.inputs[0], dOut(op));
        return Status::success();
      }
      return activation(op, {saved(op.outputs[1])});
    case OpKind::Cast:
      return unary(op, OpKind::Cast, {dOut(op)});

    case OpKind::Attention:
      return attention(op);

    case OpKind::Embedding:
    case OpKind::Gather: {
      TensorId table = op.inputs[0];
      if (op.inputs.size() > 1 && needs(op.inputs[1]))
        return unsupported(op, "gradient with respect to the indices");
      TensorId d =
          emit1(OpKind::EmbeddingGrad, op.name + gradSuffix(table), {dOut(op), op.inputs[1]},
                shape(table), tensor(table).dtype, phaseFor(table), op.attrs);
      accumulate(table, d);
      return Status::success();
    }
    case OpKind::Reshape:
    case OpKind::Pad:
    case OpKind::Slice: { // the gradient takes the inverse layout change
      OpKind inverse = op.kind == OpKind::Pad     ? OpKind::Slice
                       : op.kind == OpKind::Slice ? OpKind::Pad
                                                  : op.kind;
      return unary(op, inverse, {dOut(op)});
    }
    case OpKind::Transpose: { // the inverse permutation (empty: reversal, its own inverse)
      OpAttrs a = op.attrs;
      for (size_t i = 0; i < op.attrs.perm.size(); ++i)
        if (op.attrs.perm[i] >= 0 && size_t(op.attrs.perm[i]) < a.perm.size())
          a.perm[size_t(op.attrs.perm[i])] = int64_t(i);
      return unary(op, OpKind::Transpose, {dOut(op)}, false, a);
    }
    case OpKind::Expand:
      accumulate(op.inputs[0], reduceTo(dOut(op), op.inputs[0], gradName(op, 0)));
      return Status::success();
    case OpKind::Concat:
      return concat(op);
    case OpKind::Split:
      return split(op);

    case OpKind::CrossEntropy:
    case OpKind::MseLoss:
      return loss(op);

    case OpKind::AllReduce: // Megatron "g": identity backward
      accumulate(op.inputs[0], dOut(op));
      return Status::success();
    case OpKind::TpCopy: // Megatron "f": all-reduce backward
      return unary(op, OpKind::AllReduce, {dOut(op)}, false, op.attrs);
    case OpKind::ReduceScatter:
      return unary(op, OpKind::AllGather, {dOut(op)}, false, op.attrs);
    case OpKind::AllGather:
      return unary(op, OpKind::ReduceScatter, {dOut(op)}, false, op.attrs);
    case OpKind::SendRecv:
      return unary(op, OpKind::SendRecv, {dOut(op)}, false, op.attrs);

    default:
      return unsupported(op, "not a forward op");
    }
  }

  std::string gradSuffix(TensorId input) const { return isParam(input) ? ".wgrad" : ".dgrad"; }
  /// Name of the gradient op for input `idx` of `op`.
  std::string gradName(const Op &op, size_t idx) const {
    TensorId t = op.inputs[idx];
    return op.name + gradSuffix(t) + (idx > 0 && !isParam(t) ? std::to_string(idx) : "");
  }

  /// One op computing the gradient of input 0 from `inputs`; attrs copied from the
  /// forward op (with `of` set when `setOf`) unless given.
  Status unary(const Op &op, OpKind kind, std::vector<TensorId> inputs, bool setOf = false,
               std::optional<OpAttrs> attrs = std::nullopt) {
    TensorId x = op.inputs[0];
    if (!needs(x))
      return Status::success();
    OpAttrs a = attrs ? *attrs : op.attrs;
    if (setOf)
      a.of = op.kind;
    accumulate(x, emit1(kind, op.name + gradSuffix(x), std::move(inputs), shape(x), tensor(x).dtype,
                        phaseFor(x), a));
    return Status::success();
  }

  /// ActivationGrad(dY, saved...) for a pointwise map of input 0.
  Status activation(const Op &op, std::vector<TensorId> savedInputs) {
    std::vector<TensorId> inputs = {dOut(op)};
    for (TensorId t : savedInputs)
      if (t.valid())
        inputs.push_back(t);
    return unary(op, OpKind::ActivationGrad, std::move(inputs), true);
  }

  Status binary(const Op &op) {
    TensorId a = op.inputs[0], b = op.inputs[1], dc = dOut(op);
    const Shape cs = shape(op.outputs[0]);
    DType dt = tensor(op.outputs[0]).dtype;
    // The gradient at the output's shape, then summed over broadcast dims if needed.
    auto full = [&](OpKind k, std::vector<TensorId> in, size_t idx, OpAttrs at = {}) {
      return emit1(k, gradName(op, idx), std::move(in), cs, dt, phaseFor(op.inputs[idx]), at);
    };
    auto give = [&](size_t idx, TensorId d) {
      TensorId t = op.inputs[idx];
      bool passThrough = d == dc;
      accumulate(t, reduceTo(d, t, gradName(op, idx) + (passThrough ? "" : ".reduce")));
    };
    if (needs(a)) {
      TensorId d = dc;
      if (op.kind == OpKind::Mul)
        d = full(OpKind::Mul, {dc, saved(b)}, 0);
      else if (op.kind == OpKind::Div)
        d = full(OpKind::Div, {dc, saved(b)}, 0);
      give(0, d);
    }
    if (needs(b)) {
      TensorId d = dc;
      if (op.kind == OpKind::Sub) {
        d = full(OpKind::Neg, {dc}, 1);
      } else if (op.kind == OpKind::Mul) {
        d = full(OpKind::Mul, {dc, saved(a)}, 1);
      } else if (op.kind == OpKind::Div) { // -dC * a / b^2
        OpAttrs at;
        at.of = OpKind::Div;
        d = full(OpKind::ActivationGrad, {dc, saved(a), saved(b)}, 1, at);
      }
      give(1, d);
    }
    return Status::success();
  }

  Status matmul(const Op &op) {
    TensorId a = op.inputs[0], b = op.inputs[1], dc = dOut(op);
    const Shape as = shape(a), bs = shape(b), dcs = shape(dc); // copies: emitting grows g_
    if (as.size() < 2 || bs.size() < 2)
      return unsupported(op, "matrix products of vectors");
    bool tA = op.attrs.transA, tB = op.attrs.transB;
    if (needs(a)) { // dA = dC op(B)^T, transposed back when A is
      OpAttrs at;
      std::vector<TensorId> in;
      Shape s;
      if (tA) {
        at.transA = tB;
        at.transB = true;
        in = {saved(b), dc};
        s = matmulShape(bs, dcs, tB, true);
      } else {
        at.transB = !tB;
        in = {dc, saved(b)};
        s = matmulShape(dcs, bs, false, !tB);
      }
      TensorId d = emit1(OpKind::MatMul, gradName(op, 0), in, s, tensor(a).dtype, phaseFor(a), at);
      accumulate(a, reduceTo(d, a, gradName(op, 0) + ".reduce"));
    }
    if (needs(b)) { // dB = op(A)^T dC, transposed back when B is
      Phase ph = phaseFor(b);
      std::string name = gradName(op, 1);
      OpAttrs at;
      TensorId d;
      if (bs.size() == 2 && as.size() > 2 && !tA) {
        // A linear layer's weight: all tokens form the contraction dimension.
        int64_t k = as.back(), n = dcs.back(), rows = numElements(as) / k;
        TensorId a2 = emit1(OpKind::Reshape, name + ".flatten-input", {saved(a)}, {rows, k},
                            tensor(a).dtype, ph);
        g_.tensor(a2).role = TensorRole::Activation;
        TensorId dc2 =
            emit1(OpKind::Reshape, name + ".flatten-grad", {dc}, {rows, n}, tensor(dc).dtype, ph);
        at.transA = true;
        d = tB ? emit1(OpKind::MatMul, name, {dc2, a2}, {n, k}, tensor(b).dtype, ph, at)
               : emit1(OpKind::MatMul, name, {a2, dc2}, {k, n}, tensor(b).dtype, ph, at);
      } else if (tB) {
        at.transA = true;
        at.transB = tA;
        d = emit1(OpKind::MatMul, name, {dc, saved(a)}, matmulShape(dcs, as, true, tA),
                  tensor(b).dtype, ph, at);
      } else {
        at.transA = !tA;
        d = emit1(OpKind::MatMul, name, {saved(a), dc}, matmulShape(as, dcs, !tA, false),
                  tensor(b).dtype, ph, at);
      }
      accumulate(b, reduceTo(d, b, name + ".reduce"));
    }
    return Status::success();
  }

  Status conv(const Op &op) {
    TensorId x = op.inputs[0], w = op.inputs[1], dy = dOut(op);
    if (needs(x))
      accumulate(x, emit1(OpKind::Conv2dGradInput, op.name + ".dgrad", {dy, w}, shape(x),
                          tensor(x).dtype, Phase::BackwardData, op.attrs));
    if (needs(w))
      accumulate(w, emit1(OpKind::Conv2dGradWeight, op.name + ".wgrad", {saved(x), dy}, shape(w),
                          tensor(w).dtype, phaseFor(w), op.attrs));
    if (op.inputs.size() > 2 && needs(op.inputs[2])) {
      TensorId bias = op.inputs[2];
      accumulate(bias, emit1(OpKind::BiasGrad, op.name + ".bias-grad", {dy}, shape(bias),
                             tensor(bias).dtype, phaseFor(bias), op.attrs));
    }
    return Status::success();
  }

  /// One fused norm backward producing, in input order, the gradients of the normalized
  /// input and of the scale / shift parameters that need one.
  Status norm(const Op &op, OpKind kind) {
    std::vector<TensorId> inputs = {dOut(op), saved(op.inputs[0])};
    if (op.inputs.size() > 1)
      inputs.push_back(op.inputs[1]);
    size_t differentiable = op.kind == OpKind::BatchNorm ? 3 : op.inputs.size();
    std::vector<TensorId> targets, outs;
    bool data = false;
    for (size_t i = 0; i < std::min(differentiable, op.inputs.size()); ++i) {
      TensorId t = op.inputs[i];
      if (!needs(t))
        continue;
      data |= !isParam(t);
      targets.push_back(t);
      outs.push_back(gradTensor(tensor(t).name + ".grad-part", shape(t), tensor(t).dtype));
    }
    if (targets.empty())
      return Status::success();
    emit(kind, op.name + (data ? ".dgrad" : ".wgrad"), inputs, outs,
         data ? Phase::BackwardData : Phase::BackwardWeight, op.attrs);
    for (size_t i = 0; i < targets.size(); ++i)
      accumulate(targets[i], outs[i]);
    return Status::success();
  }

  Status attention(const Op &op) {
    std::vector<TensorId> inputs;
    for (size_t i = 0; i < 3; ++i)
      inputs.push_back(saved(op.inputs[i]));
    for (TensorId out : op.outputs)
      inputs.push_back(saved(out));
    inputs.push_back(dOut(op));
    std::vector<TensorId> outs;
    for (size_t i = 0; i < 3; ++i) {
      TensorId t = op.inputs[i];
      outs.push_back(gradTensor(tensor(t).name + ".grad-part", shape(t), tensor(t).dtype));
    }
    emit(OpKind::AttentionGrad, op.name + ".dgrad", inputs, outs, Phase::BackwardData, op.attrs);
    for (size_t i = 0; i < 3; ++i)
      if (needs(op.inputs[i]))
        accumulate(op.inputs[i], outs[i]);
    return Status::success();
  }

  Status concat(const Op &op) {
    std::vector<TensorId> outs;
    for (TensorId t : op.inputs)
      outs.push_back(gradTensor(tensor(t).name + ".grad-part", shape(t), tensor(t).dtype));
    emit(OpKind::Split, op.name + ".dgrad", {dOut(op)}, outs, Phase::BackwardData, op.attrs);
    for (size_t i = 0; i < op.inputs.size(); ++i)
      if (needs(op.inputs[i]))
        accumulate(op.inputs[i], outs[i]);
    return Status::success();
  }

  Status split(const Op &op) {
    TensorId x = op.inputs[0];
    if (!needs(x))
      return Status::success();
    std::vector<TensorId> inputs;
    for (size_t i = 0; i < op.outputs.size(); ++i) {
      TensorId d = dOut(op, i);
      if (!d.valid()) { // an unused piece contributes zeros
        const Tensor &t = tensor(op.outputs[i]);
        d = newTensor(t.name + ".zero-grad", t.shape, t.dtype, TensorRole::Constant);
      }
      inputs.push_back(d);
    }
    accumulate(x, emit1(OpKind::Concat, op.name + ".dgrad", inputs, shape(x), tensor(x).dtype,
                        phaseFor(x), op.attrs));
    return Status::success();
  }

  Status loss(const Op &op) {
    TensorId x = op.inputs[0];
    OpAttrs a = op.attrs;
    a.of = op.kind;
    std::vector<TensorId> inputs = {saved(x)};
    if (op.inputs.size() > 1)
      inputs.push_back(saved(op.inputs[1]));
    inputs.push_back(dOut(op));
    TensorId d = emit1(OpKind::LossGrad, op.name + ".dgrad", inputs, shape(x), tensor(x).dtype,
                       phaseFor(x), a);
    if (needs(x))
      accumulate(x, d);
    if (op.kind == OpKind::MseLoss && op.inputs.size() > 1 && needs(op.inputs[1])) {
      TensorId t = op.inputs[1];
      accumulate(t, emit1(OpKind::Neg, op.name + ".target-grad", {d}, shape(t), tensor(t).dtype,
                          phaseFor(t)));
    }
    return Status::success();
  }

  // After the backward pass ---------------------------------------------------------------

  OpId firstConsumer(TensorId p, const std::vector<std::vector<OpId>> &consumers) const {
    return consumers[p.v].empty() ? OpId{} : consumers[p.v][0];
  }

  /// Sequence-parallel replicated parameters: all-reduce their partial gradients over the
  /// tensor-parallel group (Megatron-LM does this once the backward pass is done).
  void finishGradients() {
    auto consumers = g_.consumers();
    for (TensorId p : g_.parameters()) {
      if (p.v >= numFwdTensors_ || !grad_[p.v].valid() || !tensor(p).partialGradTp)
        continue;
      cur_ = firstConsumer(p, consumers);
      OpAttrs a;
      a.group = CommGroup::Tensor;
      grad_[p.v] = emit1(OpKind::AllReduce, tensor(p).name + ".grad-all-reduce", {grad_[p.v]},
                         shape(p), tensor(p).dtype, Phase::BackwardWeight, a);
    }
  }

  void emitOptimizer() {
    auto consumers = g_.consumers();
    for (TensorId p : g_.parameters()) {
      if (p.v >= numFwdTensors_ || !grad_[p.v].valid())
        continue;
      cur_ = firstConsumer(p, consumers);
      const Tensor pt = tensor(p);
      auto state = [&](const char *what, DType dt) {
        return newTensor(pt.name + "." + what, pt.shape, dt, TensorRole::OptimizerState);
      };
      std::vector<TensorId> in = {p, grad_[p.v]};
      OpKind kind = OpKind::AdamWUpdate;
      switch (opts_.optimizer) {
      case OptimizerKind::Sgd:
        kind = OpKind::SgdUpdate;
        in.push_back(state("master", DType::F32));
        in.push_back(state("momentum", pt.dtype));
        break;
      case OptimizerKind::AdamW:
        in.push_back(state("master", DType::F32));
        in.push_back(state("exp-avg", DType::F32));
        in.push_back(state("exp-avg-sq", DType::F32));
        break;
      case OptimizerKind::AdamWBf16SR:
        in.push_back(state("exp-avg", DType::BF16));
        in.push_back(state("exp-avg-sq", DType::BF16));
        break;
      }
      emit(kind, pt.name + ".update", in, {}, Phase::Optimizer);
    }
  }

  const TrainingOptions &opts_;
  Graph g_;
  size_t numFwdOps_ = 0, numFwdTensors_ = 0;
  std::vector<char> needs_;
  std::vector<char> onDemand_;
  std::vector<TensorId> grad_;
  std::vector<TensorId> recomputed_;
  OpId cur_;
  int sums_ = 0;
};

} // namespace

Expected<Graph> buildTrainingGraph(const Graph &forward, const TrainingOptions &opts) {
  return Autodiff(forward, opts).run();
}

} // namespace tessera::workload
