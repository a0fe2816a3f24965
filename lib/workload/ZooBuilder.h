//===- ZooBuilder.h - helpers shared by the model-zoo builders -------------===//
//
// Internal to the workload library. GraphBuilder appends tensors and ops with the zoo's
// conventions (names, current layer, compute dtype, source location naming the model);
// the build functions construct one model family each from fully resolved sizes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "workload/Zoo.h"

#include <string>
#include <vector>

namespace tessera::workload::zoo {

/// Appends tensors and ops to a graph. Ops get the current `layer` and a name prefixed
/// with `prefix`; an op's single output tensor carries the op's name.
class GraphBuilder {
public:
  GraphBuilder(const std::string &model, DType dtype, bool sequenceParallel);

  Graph &graph() { return g_; }
  Graph take() { return std::move(g_); }
  DType dtype() const { return dtype_; }

  int32_t layer = -1;
  std::string prefix;

  /// A per-step data tensor (tokens, labels, images), also listed in graph.inputs().
  TensorId input(const std::string &name, Shape shape, DType dtype);
  /// A trainable weight in the compute dtype. `sharded` weights are split over the
  /// tensor-parallel group; replicated ones get partialGradTp under sequence parallelism.
  /// `name` gets the current prefix.
  TensorId param(const std::string &name, Shape shape, bool sharded = false);
  /// A non-trainable tensor; `name` is used as given.
  TensorId constant(const std::string &name, Shape shape, DType dtype);

  struct Out {
    std::string suffix; ///< output name = op name + suffix
    Shape shape;
    DType dtype;
  };
  /// Appends an op; returns its outputs.
  std::vector<TensorId> op(OpKind kind, const std::string &name, std::vector<TensorId> inputs,
                           std::vector<Out> outs, OpAttrs attrs = {});
  /// Appends a single-output op whose output has the compute dtype.
  TensorId op1(OpKind kind, const std::string &name, std::vector<TensorId> inputs, Shape shape,
               OpAttrs attrs = {});

  const Shape &shape(TensorId t) const { return g_.tensor(t).shape; }

private:
  Graph g_;
  DType dtype_;
  bool sequenceParallel_;
  SourceLoc loc_;
};

enum class Family : uint8_t { Gpt, Llama, Bert, Vit };

/// Fully resolved transformer hyper-parameters (after defaults, overrides and checks).
struct TransformerSpec {
  std::string model;
  Family family = Family::Gpt;
  int64_t batch = 1, seq = 0, hidden = 0, heads = 0, layers = 0, ffn = 0;
  int64_t vocab = 0;               ///< full vocabulary (already padded for tp); classes for ViT
  int64_t positions = 0;           ///< learned position table rows (GPT, BERT)
  int64_t image = 224, patch = 16; ///< ViT
  int64_t tp = 1;
  bool sequenceParallel = false;
  DType dtype = DType::BF16;
  AttentionImpl attention = AttentionImpl::Fused;
  double dropout = 0.1;
};

Graph buildTransformer(const TransformerSpec &s);

/// ResNet-50 v1.5 for `batch` 224x224 images, 1000 classes.
Graph buildResNet50(const std::string &model, int64_t batch, DType dtype);

} // namespace tessera::workload::zoo
