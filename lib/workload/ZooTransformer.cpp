//===- ZooTransformer.cpp - GPT, Llama, BERT and ViT as one TP rank's graph -===//
//
// Builds the forward graph of one tensor-parallel rank of a transformer, laid out as in
// Megatron-LM (Shoeybi et al. 2019, "Megatron-LM: Training Multi-Billion Parameter
// Language Models Using Model Parallelism"; Korthikanti et al. 2022, "Reducing Activation
// Recomputation in Large Transformer Models" for sequence parallelism):
//
//   - QKV and FC1 (gate/up for SwiGLU) are column-parallel: weights [h, n/t], preceded by
//     Megatron's "f" (TpCopy: identity forward, all-reduce backward) or, with sequence
//     parallelism, an AllGather of the token-sharded activations.
//   - The attention output projection and FC2 are row-parallel: weights [n/t, h], followed
//     by Megatron's "g" (AllReduce forward, identity backward) or a ReduceScatter back to
//     s/t tokens; their biases are added after the reduction.
//   - Word embeddings and the LM head are vocab-parallel ([V/t, h] tables, the embedding's
//     partial output all-reduced / reduce-scattered, cross-entropy over the sharded
//     logits); GPT and BERT tie the LM head to the word embedding table.
//   - Norms, dropout and residual adds run on all s tokens (replicated) or, with sequence
//     parallelism, on s/t tokens.
//
// Activations are [batch, seq, hidden]; per-head tensors are [batch, heads/t, seq, d].
// Attention is either one fused (flash) Attention op or the 2021 Megatron-LM sequence
// QK^T MatMul, scaled/masked Softmax, Dropout, PV MatMul, whose b*h*s^2 tensors dominate
// activation memory. Every op of a repeated block carries its layer index.
//
//===----------------------------------------------------------------------===//
#include "workload/ZooBuilder.h"

#include <cmath>

namespace tessera::workload::zoo {

namespace {

class TransformerBuilder {
public:
  explicit TransformerBuilder(const TransformerSpec &s)
      : s_(s), b_(s.model, s.dtype, s.sequenceParallel), t_(s.tp), sp_(s.sequenceParallel) {
    B_ = s.batch;
    S_ = s.seq;
    h_ = s.hidden;
    Sl_ = sp_ ? S_ / t_ : S_;
    H_ = s.heads / t_;
    D_ = h_ / s.heads;
    F_ = s.ffn / t_;
    Vl_ = s.vocab / t_;
    bias_ = s.family != Family::Llama;
    causal_ = s.family == Family::Gpt || s.family == Family::Llama;
    dropout_ = s.family == Family::Llama ? 0.0 : s.dropout;
  }

  Graph build() {
    TensorId x;
    if (s_.family == Family::Vit)
      x = patchEmbedding();
    else
      x = embedding();
    for (int64_t l = 0; l < s_.layers; ++l) {
      b_.layer = int32_t(l);
      b_.prefix = "layer" + std::to_string(l) + ".";
      x = s_.family == Family::Bert ? postNormBlock(x) : preNormBlock(x);
    }
    b_.layer = -1;
    b_.prefix = "";
    TensorId loss = head(x);
    b_.graph().outputs().push_back(loss);
    return b_.take();
  }

private:
  // Tensor-parallel region boundaries -------------------------------------------------

  /// Megatron's "f": replicated [B, Sl, n] -> input of a column-parallel layer [B, S, n].
  TensorId enterTp(TensorId x, const std::string &name) {
    if (t_ == 1)
      return x;
    OpAttrs a;
    a.group = CommGroup::Tensor;
    if (sp_) {
      Shape full = b_.shape(x);
      full[1] = S_;
      return b_.op1(OpKind::AllGather, name + ".all-gather", {x}, full, a);
    }
    return b_.op1(OpKind::TpCopy, name + ".tp-copy", {x}, b_.shape(x), a);
  }

  /// Megatron's "g": partial sums [B, S, n] -> [B, Sl, n].
  TensorId exitTp(TensorId x, const std::string &name) {
    if (t_ == 1)
      return x;
    OpAttrs a;
    a.group = CommGroup::Tensor;
    if (sp_) {
      Shape part = b_.shape(x);
      part[1] = Sl_;
      return b_.op1(OpKind::ReduceScatter, name + ".reduce-scatter", {x}, part, a);
    }
    return b_.op1(OpKind::AllReduce, name + ".all-reduce", {x}, b_.shape(x), a);
  }

  // Layers ------------------------------------------------------------------------------

  TensorId addBias(TensorId x, int64_t n, bool sharded, const std::string &name) {
    TensorId bias = b_.param(name + ".bias", {n}, sharded);
    return b_.op1(OpKind::Add, name + ".bias-add", {x, bias}, b_.shape(x));
  }

  /// x [.., in] * W [in, out]; column-parallel weights are sharded on `out`.
  TensorId linear(TensorId x, int64_t in, int64_t out, bool sharded, bool bias,
                  const std::string &name) {
    TensorId w = b_.param(name + ".weight", {in, out}, sharded && t_ > 1);
    Shape y = b_.shape(x);
    y.back() = out;
    TensorId r = b_.op1(OpKind::MatMul, name, {x, w}, y);
    return bias ? addBias(r, out, sharded && t_ > 1, name) : r;
  }

  TensorId columnLinear(TensorId x, int64_t in, int64_t outLocal, const std::string &name) {
    return linear(x, in, outLocal, /*sharded=*/true, bias_, name);
  }

  /// Row-parallel: the partial product is reduced before the (replicated) bias.
  TensorId rowLinear(TensorId x, int64_t inLocal, int64_t out, const std::string &name) {
    TensorId w = b_.param(name + ".weight", {inLocal, out}, t_ > 1);
    Shape y = b_.shape(x);
    y.back() = out;
    TensorId r = exitTp(b_.op1(OpKind::MatMul, name, {x, w}, y), name);
    return bias_ ? addBias(r, out, false, name) : r;
  }

  TensorId norm(TensorId x, const std::string &name) {
    OpAttrs a;
    a.axis = -1;
    a.eps = s_.family == Family::Llama ? 1e-5 : (s_.family == Family::Bert ? 1e-12 : 1e-5);
    TensorId gamma = b_.param(name + ".weight", {h_});
    if (s_.family == Family::Llama)
      return b_.op1(OpKind::RMSNorm, name, {x, gamma}, b_.shape(x), a);
    TensorId beta = b_.param(name + ".bias", {h_});
    return b_.op1(OpKind::LayerNorm, name, {x, gamma, beta}, b_.shape(x), a);
  }

  TensorId dropout(TensorId x, const std::string &name) {
    if (dropout_ <= 0)
      return x;
    OpAttrs a;
    a.p = dropout_;
    return b_.op(OpKind::Dropout, name, {x},
                 {{"", b_.shape(x), b_.dtype()}, {".mask", b_.shape(x), DType::Bool}}, a)[0];
  }

  TensorId add(TensorId x, TensorId y, const std::string &name) {
    return b_.op1(OpKind::Add, name, {x, y}, b_.shape(x));
  }

  TensorId attention(TensorId x) {
    TensorId in = enterTp(x, "attn");
    TensorId qkv = columnLinear(in, h_, 3 * H_ * D_, "attn.qkv");
    // One op splits the fused projection into per-head Q, K, V [B, H/t, S, d]: the
    // split and head transpose (one copy, as the contiguous q/k/v of real kernels).
    Shape heads = {B_, H_, S_, D_};
    OpAttrs split;
    split.axis = -1;
    auto qkvs = b_.op(
        OpKind::Split, "attn.split-heads", {qkv},
        {{".q", heads, b_.dtype()}, {".k", heads, b_.dtype()}, {".v", heads, b_.dtype()}}, split);
    TensorId q = qkvs[0], k = qkvs[1], v = qkvs[2];
    if (s_.family == Family::Llama) {
      if (!ropeCache_.valid())
        ropeCache_ = b_.constant("rope.cos-sin", {S_, D_}, DType::F32);
      q = b_.op1(OpKind::Rope, "attn.rope-q", {q, ropeCache_}, heads);
      k = b_.op1(OpKind::Rope, "attn.rope-k", {k, ropeCache_}, heads);
    }
    TensorId ctx;
    if (s_.attention == AttentionImpl::Fused) {
      OpAttrs a;
      a.heads = H_;
      a.kvHeads = H_;
      a.causal = causal_;
      a.p = dropout_;
      ctx = b_.op(OpKind::Attention, "attn.core", {q, k, v},
                  {{"", heads, b_.dtype()}, {".lse", {B_, H_, S_}, DType::F32}}, a)[0];
    } else {
      OpAttrs qk;
      qk.transB = true;
      TensorId scores = b_.op1(OpKind::MatMul, "attn.qk", {q, k}, {B_, H_, S_, S_}, qk);
      OpAttrs sm;
      sm.axis = -1;
      sm.scale = 1.0 / std::sqrt(double(D_));
      sm.causal = causal_;
      TensorId probs = b_.op1(OpKind::Softmax, "attn.softmax", {scores}, b_.shape(scores), sm);
      probs = dropout(probs, "attn.probs-dropout");
      ctx = b_.op1(OpKind::MatMul, "attn.pv", {probs, v}, heads);
    }
    OpAttrs perm;
    perm.perm = {0, 2, 1, 3};
    TensorId merged = b_.op1(OpKind::Transpose, "attn.merge-heads", {ctx}, {B_, S_, H_, D_}, perm);
    merged = b_.op1(OpKind::Reshape, "attn.merge-heads.flatten", {merged}, {B_, S_, H_ * D_});
    return rowLinear(merged, H_ * D_, h_, "attn.proj");
  }

  TensorId mlp(TensorId x) {
    TensorId in = enterTp(x, "mlp");
    if (s_.family == Family::Llama) {
      TensorId gate = columnLinear(in, h_, F_, "mlp.gate");
      TensorId up = columnLinear(in, h_, F_, "mlp.up");
      TensorId act = b_.op1(OpKind::Silu, "mlp.silu", {gate}, b_.shape(gate));
      TensorId prod = b_.op1(OpKind::Mul, "mlp.gate-mul", {act, up}, b_.shape(up));
      return rowLinear(prod, F_, h_, "mlp.down");
    }
    TensorId fc1 = columnLinear(in, h_, F_, "mlp.fc1");
    TensorId act = b_.op1(OpKind::Gelu, "mlp.gelu", {fc1}, b_.shape(fc1));
    return rowLinear(act, F_, h_, "mlp.fc2");
  }

  /// GPT / Llama / ViT: x + Attn(Norm(x)), then x + MLP(Norm(x)).
  TensorId preNormBlock(TensorId x) {
    TensorId a = dropout(attention(norm(x, "ln1")), "attn.dropout");
    x = add(x, a, "attn.residual");
    TensorId m = dropout(mlp(norm(x, "ln2")), "mlp.dropout");
    return add(x, m, "mlp.residual");
  }

  /// BERT: Norm(x + Attn(x)), then Norm(x + MLP(x)).
  TensorId postNormBlock(TensorId x) {
    TensorId a = dropout(attention(x), "attn.dropout");
    x = norm(add(x, a, "attn.residual"), "ln1");
    TensorId m = dropout(mlp(x), "mlp.dropout");
    return norm(add(x, m, "mlp.residual"), "ln2");
  }

  // Embeddings and heads ----------------------------------------------------------------

  TensorId embedding() {
    TensorId ids = b_.input("tokens", {B_, S_}, DType::I64);
    bool tied = s_.family != Family::Llama;
    wte_ = b_.param(tied ? "embed.word.weight" : "embed.tokens.weight", {Vl_, h_}, t_ > 1);
    TensorId x = b_.op1(OpKind::Embedding, "embed.word", {wte_, ids}, {B_, S_, h_});
    x = exitTp(x, "embed.word");
    if (s_.family == Family::Llama)
      return x;
    TensorId pos = b_.input("positions", {B_, Sl_}, DType::I64);
    TensorId wpe = b_.param("embed.position.weight", {s_.positions, h_});
    x = add(x, b_.op1(OpKind::Embedding, "embed.position", {wpe, pos}, {B_, Sl_, h_}),
            "embed.add-position");
    if (s_.family == Family::Bert) {
      TensorId types = b_.input("token-types", {B_, Sl_}, DType::I64);
      TensorId wtt = b_.param("embed.token-type.weight", {2, h_});
      x = add(x, b_.op1(OpKind::Embedding, "embed.token-type", {wtt, types}, {B_, Sl_, h_}),
              "embed.add-token-type");
      x = norm(x, "embed.ln");
    }
    return dropout(x, "embed.dropout");
  }

  /// Patches by a stride-16 convolution, a class token in front, learned positions.
  TensorId patchEmbedding() {
    int64_t grid = s_.image / s_.patch, np = grid * grid;
    TensorId img = b_.input("images", {B_, 3, s_.image, s_.image}, b_.dtype());
    TensorId w = b_.param("embed.patch.weight", {h_, 3, s_.patch, s_.patch});
    TensorId bias = b_.param("embed.patch.bias", {h_});
    OpAttrs conv;
    conv.strideH = conv.strideW = s_.patch;
    conv.kernelH = conv.kernelW = s_.patch;
    TensorId x = b_.op1(OpKind::Conv2d, "embed.patch", {img, w, bias}, {B_, h_, grid, grid}, conv);
    x = b_.op1(OpKind::Reshape, "embed.flatten", {x}, {B_, h_, np});
    OpAttrs perm;
    perm.perm = {0, 2, 1};
    x = b_.op1(OpKind::Transpose, "embed.to-tokens", {x}, {B_, np, h_}, perm);
    TensorId cls = b_.param("embed.cls-token", {1, 1, h_});
    TensorId clsB = b_.op1(OpKind::Expand, "embed.cls-expand", {cls}, {B_, 1, h_});
    OpAttrs cat;
    cat.axis = 1;
    x = b_.op1(OpKind::Concat, "embed.prepend-cls", {clsB, x}, {B_, S_, h_}, cat);
    TensorId pos = b_.param("embed.position", {1, S_, h_});
    x = add(x, pos, "embed.add-position");
    return dropout(x, "embed.dropout");
  }

  TensorId crossEntropy(TensorId logits, Shape labelShape, bool vocabParallel) {
    TensorId labels = b_.input("labels", std::move(labelShape), DType::I64);
    OpAttrs a;
    a.axis = -1;
    if (vocabParallel && t_ > 1)
      a.group = CommGroup::Tensor;
    return b_.op(OpKind::CrossEntropy, "loss", {logits, labels}, {{"", {}, DType::F32}}, a)[0];
  }

  TensorId head(TensorId x) {
    switch (s_.family) {
    case Family::Gpt:
    case Family::Llama: {
      x = enterTp(norm(x, "final.ln"), "head");
      TensorId logits;
      if (s_.family == Family::Gpt) { // tied: logits = x * wte^T
        OpAttrs a;
        a.transB = true;
        logits = b_.op1(OpKind::MatMul, "head.logits", {x, wte_}, {B_, S_, Vl_}, a);
      } else {
        logits = linear(x, h_, Vl_, /*sharded=*/true, /*bias=*/false, "head.logits");
      }
      return crossEntropy(logits, {B_, S_}, true);
    }
    case Family::Bert: { // masked-LM head: dense, GELU, LayerNorm, tied decoder + bias
      TensorId d = linear(x, h_, h_, /*sharded=*/false, /*bias=*/true, "mlm.dense");
      d = b_.op1(OpKind::Gelu, "mlm.gelu", {d}, b_.shape(d));
      d = enterTp(norm(d, "mlm.ln"), "mlm");
      OpAttrs a;
      a.transB = true;
      TensorId logits = b_.op1(OpKind::MatMul, "mlm.logits", {d, wte_}, {B_, S_, Vl_}, a);
      logits = addBias(logits, Vl_, t_ > 1, "mlm.logits");
      return crossEntropy(logits, {B_, S_}, true);
    }
    case Family::Vit: {
      x = norm(x, "final.ln");
      OpAttrs sl;
      sl.axis = 1;
      TensorId cls = b_.op1(OpKind::Slice, "head.take-cls", {x}, {B_, 1, h_}, sl);
      cls = b_.op1(OpKind::Reshape, "head.flatten", {cls}, {B_, h_});
      TensorId logits = linear(cls, h_, s_.vocab, /*sharded=*/false, /*bias=*/true, "head");
      return crossEntropy(logits, {B_}, false);
    }
    }
    return x;
  }

  const TransformerSpec &s_;
  GraphBuilder b_;
  int64_t t_;
  bool sp_;
  int64_t B_, S_, Sl_, h_, H_, D_, F_, Vl_;
  bool bias_, causal_;
  double dropout_;
  TensorId wte_, ropeCache_;
};

} // namespace

Graph buildTransformer(const TransformerSpec &s) { return TransformerBuilder(s).build(); }

} // namespace tessera::workload::zoo
