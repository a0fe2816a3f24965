//===- Onnx.h - ONNX model import -------------------------------------------===//
#pragma once

#include "workload/Graph.h"

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace tessera::workload {

struct OnnxOptions {
  /// Value for symbolic / dynamic dimensions (batch); also replaces a leading dim of 1
  /// in graph inputs when set. Dynamic dims take 1 when unset.
  std::optional<int64_t> batch;
};

/// Parses an ONNX file, runs ONNX shape inference, and converts it to a forward graph.
///
/// Initializers become Parameters (weights, biases, norm scale / shift, embedding
/// tables: float initializers read by a compute op) or Constants (shape tensors,
/// BatchNorm running statistics, divisors, exponents, scalars, integer tensors).
/// Integer shape arithmetic and every node whose inputs are all known at import time are
/// evaluated during import and do not appear in the graph. Ops carry the ONNX node name
/// (`<op_type>_<index>` for unnamed nodes), `loc` = {path, 0, 0}, and `layer` = the
/// index of the repeated block named in the node name ("layers.3", "layer2.1"), in
/// order of first appearance, else -1.
///
/// Conventions of the produced graph:
///  - MatMul covers ONNX MatMul and Gemm; a Transpose(perm [1, 0]) of a 2-D weight that
///    feeds it becomes transB instead of an op. Gemm's bias is a following Add (alpha /
///    beta != 1 a Mul by a scalar Constant).
///  - Conv2d reads (x, weight); a conv bias is a following Add with the bias held as a
///    [O, 1, 1] Parameter.
///  - BatchNorm reads (x, scale, bias, running mean, running var), axis 1; LayerNorm
///    reads (x, scale[, bias]) with ONNX's axis (first normalized dim).
///  - Embedding reads (table, indices) where ONNX Gather reads a 2-D float initializer
///    on axis 0; other Gathers stay Gather (data, indices).
///  - Commutative Add / Mul put the computed operand first (PyTorch writes Add(bias, x)).
///  - Axes in OpAttrs are -1 for the last dim, else non-negative.
///
/// Errors name the file and, for op problems, the node: `onnx-read` (missing, empty,
/// truncated or not a ModelProto), `onnx-invalid` (malformed graph or attribute),
/// `onnx-shape` (shape inference failed or a shape stays unknown or inconsistent),
/// `unsupported-op` (lists every unsupported op type with its first node; also a
/// supported op used in a way the graph cannot express), `unsupported-type` (string or
/// complex tensors).
Expected<Graph> importOnnx(const std::string &path, const OnnxOptions &opts = {});

/// The same from a serialized ModelProto in memory (fuzzing, Python bindings); `name`
/// stands for the file in diagnostics.
Expected<Graph> importOnnxBytes(const std::string &bytes, const std::string &name,
                                const OnnxOptions &opts = {});

/// Values of the initializers an imported graph reads, by graph tensor id (TensorId::v):
/// every Parameter and every Constant tensor, as FP32, row-major in the tensor's graph
/// shape (so a conv bias held as [O, 1, 1] has O values, a weight read through a folded
/// Transpose keeps its file layout [out, in] with the product's transB set). Constants
/// are initializers, Constant nodes, values folded at import (computed in double precision,
/// rounded to the constant's element type) and the scalars the importer itself adds
/// (Gemm alpha / beta). Integer and boolean constants (Gather indices) are included too,
/// converted to float (exact below 2^24). Element types other than FLOAT are converted:
/// DOUBLE rounds to nearest, FLOAT16 / BFLOAT16 are exact.
struct Initializers {
  std::map<uint32_t, std::vector<float>> values;

  /// The values of tensor `t`, or null when it has none.
  const std::vector<float> *find(TensorId t) const {
    auto it = values.find(t.v);
    return it == values.end() ? nullptr : &it->second;
  }
};

/// A graph with the values of its initializers.
struct OnnxModel {
  Graph graph;
  Initializers init;
};

/// importOnnx plus the initializer values: the same graph, op for op and tensor for
/// tensor. Constants are folded up to a larger size than importOnnx keeps (2^24
/// elements each, 2^25 in all) so that a folded constant the graph reads has values.
/// Additional error `onnx-value`: a Parameter / Constant tensor without values (an
/// initializer stored without data, or a folded constant beyond those sizes), or external
/// data that cannot be read. External data (ONNX's `data_location: EXTERNAL`, files next
/// to the model) is read relative to the model's directory.
Expected<OnnxModel> importOnnxModel(const std::string &path, const OnnxOptions &opts = {});

/// The same from a serialized ModelProto in memory; `name` stands for the file in
/// diagnostics and its directory is where external data is looked for.
Expected<OnnxModel> importOnnxModelBytes(const std::string &bytes, const std::string &name,
                                         const OnnxOptions &opts = {});

} // namespace tessera::workload
