//===- Cost.cpp - FLOP and byte accounting per op ---------------------------===//
//
// Device-independent work of every op kind in Ops.def.
//
// Matrix work is counted exactly, 2 FLOPs per multiply-add, through each op's GEMM view:
//   MatMul            C[b.., M, N] = op(A)[.., M, K] op(B)[.., K, N]; the batch is the
//                     output's leading dims, folded into M when B is a plain 2-D weight
//                     (one GEMM over all tokens, as a linear layer runs).
//   Conv2d            implicit GEMM: batch = groups, m = N*Ho*Wo, n = Cout/g,
//                     k = Cin/g*kh*kw.
//   Conv2dGradInput   col2im GEMM dCols = dY * W: batch = g, m = N*Ho*Wo,
//                     n = Cin/g*kh*kw, k = Cout/g (the forward's MACs; strided
//                     convolutions do not count the zeros of a dilated dY).
//   Conv2dGradWeight  dW = dY^T * cols: batch = g, m = Cout/g, n = Cin/g*kh*kw,
//                     k = N*Ho*Wo.
//   Attention         flash-style forward: S = Q K^T and O = P V, batch = B*H. Causal
//                     attention counts the full S x S square, as Megatron-LM's FLOP
//                     formula (Narayanan et al. 2021) does, so the two agree.
//   AttentionGrad     the five products of a flash-attention backward: S = Q K^T
//                     recomputed, dV = P^T dO, dP = dO V^T, dQ = dS K, dK = dS^T Q.
//
// Vector work uses per-element constants, one FLOP per arithmetic operation of the usual
// formula with a transcendental (exp, tanh, erf, sqrt) counted as one (kVectorFlops
// below). Memory traffic is compulsory traffic: every input read once and every output
// written once, except views (reshape, expand, tp-copy: nothing moves), gathers (only the
// gathered rows of a table are read) and optimizer updates (in place: parameter and
// state are read and written back). Collectives report the message size in commBytes.
//
//===----------------------------------------------------------------------===//
#include "workload/Cost.h"

#include <algorithm>

namespace tessera::workload {

namespace {

double elems(const Graph &g, TensorId t) { return double(g.tensor(t).elements()); }
double bytesOf(const Graph &g, TensorId t) { return g.tensor(t).bytes(); }

int64_t dimFromEnd(const Shape &s, size_t i) { return i < s.size() ? s[s.size() - 1 - i] : 1; }

/// FLOPs per element of a pointwise map (forward). ActivationGrad adds one for the
/// multiplication by the incoming gradient.
double pointwiseFlops(OpKind k) {
  switch (k) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Neg:
  case OpKind::Relu:
  case OpKind::Exp:
  case OpKind::Sqrt:
  case OpKind::Erf:
  case OpKind::Tanh:
  case OpKind::Pow:
    return 1;
  case OpKind::Dropout:
    return 2; // compare the random draw, multiply by 1/(1-p)
  case OpKind::Rope:
    return 3; // x*cos + rotate(x)*sin
  case OpKind::Sigmoid:
    return 4; // 1/(1+exp(-x))
  case OpKind::Silu:
    return 5; // x*sigmoid(x)
  case OpKind::Gelu:
    return 8; // tanh form: 0.5x(1+tanh(c(x+0.044715x^3)))
  case OpKind::Cast:
    return 0;
  default:
    return 1;
  }
}

/// MatMul's GEMM view; see the file comment.
GemmShape matmulGemm(const Graph &g, const Op &op) {
  const Shape &a = g.tensor(op.inputs[0]).shape;
  const Shape &b = g.tensor(op.inputs[1]).shape;
  const Shape &c = g.tensor(op.outputs[0]).shape;
  GemmShape gs;
  gs.n = dimFromEnd(c, 0);
  gs.m = c.size() >= 2 ? dimFromEnd(c, 1) : 1;
  int64_t batch = 1;
  for (size_t i = 0; i + 2 < c.size(); ++i)
    batch *= c[i];
  if (a.size() == 1)
    gs.k = a[0];
  else
    gs.k = op.attrs.transA ? dimFromEnd(a, 1) : dimFromEnd(a, 0);
  if (b.size() <= 2 && a.size() > 2) {
    gs.m *= batch; // a linear layer: all tokens in one GEMM
    batch = 1;
  }
  gs.batch = batch;
  return gs;
}

struct ConvDims {
  int64_t n, cin, h, w, cout, ho, wo, kh, kw, groups;
};

/// Dimensions of a convolution from its activation, weight and output shapes.
ConvDims convDims(const Shape &x, const Shape &w, const Shape &y, int64_t groups) {
  ConvDims d{};
  d.n = x.size() == 4 ? x[0] : 1;
  d.cin = x.size() == 4 ? x[1] : 1;
  d.h = x.size() == 4 ? x[2] : 1;
  d.w = x.size() == 4 ? x[3] : 1;
  d.cout = w.size() == 4 ? w[0] : 1;
  d.kh = w.size() == 4 ? w[2] : 1;
  d.kw = w.size() == 4 ? w[3] : 1;
  d.ho = y.size() == 4 ? y[2] : 1;
  d.wo = y.size() == 4 ? y[3] : 1;
  d.groups = std::max<int64_t>(groups, 1);
  return d;
}

void addGemm(OpCost &c, GemmShape gs) {
  c.gemms.push_back(gs);
  c.gemmFlops += gs.flops();
}

/// Q [B, H, S, D] and K/V [B, Hkv, Skv, D]: returns {B*H, S, Skv, D, Dv}.
struct AttnDims {
  int64_t bh, s, skv, d, dv;
};
AttnDims attnDims(const Graph &g, TensorId q, TensorId k, TensorId v) {
  const Shape &qs = g.tensor(q).shape;
  const Shape &ks = g.tensor(k).shape;
  const Shape &vs = g.tensor(v).shape;
  AttnDims a{};
  a.d = dimFromEnd(qs, 0);
  a.s = dimFromEnd(qs, 1);
  a.bh = numElements(qs) / std::max<int64_t>(a.d * a.s, 1);
  a.skv = dimFromEnd(ks, 1);
  a.dv = dimFromEnd(vs, 0);
  return a;
}

} // namespace

OpCost opCost(const Graph &g, const Op &op) {
  OpCost c;
  double outElems = 0;
  for (TensorId t : op.outputs)
    outElems += elems(g, t);
  double in0 = op.inputs.empty() ? 0 : elems(g, op.inputs[0]);

  // Compulsory traffic; special cases below override it.
  for (TensorId t : op.inputs)
    c.bytesRead += bytesOf(g, t);
  for (TensorId t : op.outputs)
    c.bytesWritten += bytesOf(g, t);

  switch (op.kind) {
  case OpKind::MatMul:
    addGemm(c, matmulGemm(g, op));
    break;

  case OpKind::Conv2d: {
    ConvDims d = convDims(g.tensor(op.inputs[0]).shape, g.tensor(op.inputs[1]).shape,
                          g.tensor(op.outputs[0]).shape, op.attrs.groups);
    addGemm(c, {d.groups, d.n * d.ho * d.wo, d.cout / d.groups, d.cin / d.groups * d.kh * d.kw});
    if (op.inputs.size() > 2) // bias
      c.flops += outElems;
    break;
  }
  case OpKind::Conv2dGradInput: { // inputs {dY, W}, output dX
    ConvDims d = convDims(g.tensor(op.outputs[0]).shape, g.tensor(op.inputs[1]).shape,
                          g.tensor(op.inputs[0]).shape, op.attrs.groups);
    addGemm(c, {d.groups, d.n * d.ho * d.wo, d.cin / d.groups * d.kh * d.kw, d.cout / d.groups});
    break;
  }
  case OpKind::Conv2dGradWeight: { // inputs {X, dY}, output dW
    ConvDims d = convDims(g.tensor(op.inputs[0]).shape, g.tensor(op.outputs[0]).shape,
                          g.tensor(op.inputs[1]).shape, op.attrs.groups);
    addGemm(c, {d.groups, d.cout / d.groups, d.cin / d.groups * d.kh * d.kw, d.n * d.ho * d.wo});
    break;
  }

  case OpKind::Attention: { // inputs {Q, K, V}, outputs {O, [logsumexp]}
    AttnDims a = attnDims(g, op.inputs[0], op.inputs[1], op.inputs[2]);
    addGemm(c, {a.bh, a.s, a.skv, a.d});  // S = Q K^T
    addGemm(c, {a.bh, a.s, a.dv, a.skv}); // O = P V
    // Scale, running max, subtract, exp, sum, final normalization: 6 per score, 2 more
    // with dropout on the probabilities.
    double scores = double(a.bh) * double(a.s) * double(a.skv);
    c.flops += scores * (6 + (op.attrs.p > 0 ? 2 : 0));
    break;
  }
  case OpKind::AttentionGrad: { // inputs {Q, K, V, O, [lse], dO}, outputs {dQ, dK, dV}
    AttnDims a = attnDims(g, op.inputs[0], op.inputs[1], op.inputs[2]);
    addGemm(c, {a.bh, a.s, a.skv, a.d});  // S = Q K^T (recomputed)
    addGemm(c, {a.bh, a.skv, a.dv, a.s}); // dV = P^T dO
    addGemm(c, {a.bh, a.s, a.skv, a.dv}); // dP = dO V^T
    addGemm(c, {a.bh, a.s, a.d, a.skv});  // dQ = dS K
    addGemm(c, {a.bh, a.skv, a.d, a.s});  // dK = dS^T Q
    // P = exp(scale*S - lse) (3) and dS = P * (dP - delta) (2) per score, dropout mask
    // re-applied (2); delta = rowsum(dO * O) (2 per output element).
    double scores = double(a.bh) * double(a.s) * double(a.skv);
    c.flops += scores * (5 + (op.attrs.p > 0 ? 2 : 0)) + 2.0 * double(a.bh * a.s * a.dv);
    break;
  }

  // Pointwise maps: constant FLOPs per output element.
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Pow:
  case OpKind::Relu:
  case OpKind::Gelu:
  case OpKind::Silu:
  case OpKind::Sigmoid:
  case OpKind::Tanh:
  case OpKind::Exp:
  case OpKind::Sqrt:
  case OpKind::Erf:
  case OpKind::Neg:
  case OpKind::Cast:
  case OpKind::Rope:
    c.flops += pointwiseFlops(op.kind) * elems(g, op.outputs[0]);
    break;
  case OpKind::Dropout: // outputs {y, [mask]}
    c.flops += pointwiseFlops(op.kind) * elems(g, op.outputs[0]);
    break;
  case OpKind::ActivationGrad: // dX = dY * f'(.): f' as its forward, one more multiply
    c.flops += (pointwiseFlops(op.attrs.of) + 1) * elems(g, op.outputs[0]);
    break;
  case OpKind::ReduceGrad: // broadcast dY back over the reduced axes
    c.flops += outElems;
    break;

  // Reductions and normalizations: constant FLOPs per input element.
  case OpKind::LayerNorm:
  case OpKind::BatchNorm:
    c.flops += 8 * in0; // mean 1, variance 3, normalize 2, affine 2
    break;
  case OpKind::RMSNorm:
    c.flops += 4 * in0; // sum of squares 2, normalize 1, scale 1
    break;
  case OpKind::Softmax: // max, subtract, exp, sum, divide; + scale
    c.flops += (5 + (op.attrs.scale != 1.0 ? 1 : 0)) * in0;
    break;
  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
  case OpKind::ReduceMax:
  case OpKind::GlobalAvgPool:
  case OpKind::BiasGrad:
  case OpKind::PoolGrad:
    c.flops += in0;
    break;
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
    c.flops += double(op.attrs.kernelH * op.attrs.kernelW) * outElems;
    break;
  case OpKind::LayerNormGrad:
  case OpKind::BatchNormGrad:
    // x-hat 2, dy*gamma 1, two row reductions 3, combine 4, dgamma/dbeta 2.
    c.flops += 12 * in0;
    break;
  case OpKind::RMSNormGrad:
    c.flops += 9 * in0;
    break;
  case OpKind::SoftmaxGrad: // dx = y * (dy - sum(dy * y))
    c.flops += 4 * in0;
    break;

  // Gathers read only the rows they pick.
  case OpKind::Embedding:
  case OpKind::Gather:
    c.bytesRead = bytesOf(g, op.inputs[1]) + c.bytesWritten;
    break;
  case OpKind::EmbeddingGrad: // zero the table gradient, scatter-add dY rows into it
    c.flops += in0;
    break;

  // Views move nothing.
  case OpKind::Reshape:
  case OpKind::Expand:
  case OpKind::TpCopy:
    c.bytesRead = c.bytesWritten = 0;
    break;
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::Split:
  case OpKind::Slice:
  case OpKind::Pad:
    break;

  case OpKind::CrossEntropy: // max, subtract, exp, sum, log per logit
    c.flops += 5 * in0;
    if (op.attrs.group != CommGroup::None) // vocab-parallel: max, sum-exp, target logit
      c.commBytes = 3 * 4 * (op.inputs.size() > 1 ? elems(g, op.inputs[1]) : 1);
    break;
  case OpKind::MseLoss:
    c.flops += 3 * in0;
    break;
  case OpKind::LossGrad: // softmax again and subtract the one-hot target / 2(x - t)
    c.flops += (op.attrs.of == OpKind::MseLoss ? 2 : 4) * outElems;
    break;

  // In-place updates: parameter and state read and written back, the gradient read.
  case OpKind::SgdUpdate:
  case OpKind::AdamWUpdate: {
    double p = op.inputs.empty() ? 0 : elems(g, op.inputs[0]);
    // SGD: weight decay 2, momentum 2, step 2. AdamW: two moments 7, sqrt/eps/divide 3,
    // decoupled weight decay 2, step 2.
    c.flops += (op.kind == OpKind::SgdUpdate ? 6 : 14) * p;
    c.bytesWritten = 0;
    for (size_t i = 0; i < op.inputs.size(); ++i)
      if (i != 1) // inputs[1] is the gradient
        c.bytesWritten += bytesOf(g, op.inputs[i]);
    break;
  }

  case OpKind::AllReduce:
  case OpKind::ReduceScatter:
  case OpKind::AllGather:
  case OpKind::SendRecv: {
    double in = op.inputs.empty() ? 0 : bytesOf(g, op.inputs[0]);
    double out = op.outputs.empty() ? 0 : bytesOf(g, op.outputs[0]);
    c.commBytes = std::max(in, out); // the unsharded message
    break;
  }
  }
  c.flops += c.gemmFlops;
  return c;
}

GraphCost graphCost(const Graph &g) {
  GraphCost gc;
  for (const Op &op : g.ops()) {
    OpCost c = opCost(g, op);
    size_t p = size_t(op.phase);
    gc.flopsByPhase[p] += c.flops;
    gc.gemmFlopsByPhase[p] += c.gemmFlops;
    gc.bytesByPhase[p] += c.bytesRead + c.bytesWritten;
    gc.commBytesByPhase[p] += c.commBytes;
    gc.flops += c.flops;
    gc.bytes += c.bytesRead + c.bytesWritten;
    gc.commBytes += c.commBytes;
  }
  return gc;
}

} // namespace tessera::workload
