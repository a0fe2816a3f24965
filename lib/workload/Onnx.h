//===- Onnx.h - ONNX model import -------------------------------------------===//
#pragma once

#include "workload/Graph.h"

#include <optional>

namespace tessera::workload {

struct OnnxOptions {
  /// Value for symbolic / dynamic dimensions (batch); also replaces a leading dim of 1
  /// in graph inputs when set.
  std::optional<int64_t> batch;
};

/// Parses an ONNX file, runs ONNX shape inference, and converts it to a forward graph.
/// Initializers become Parameters (weights, biases) or Constants (shape tensors,
/// BatchNorm running statistics). Errors name the file and, for op problems, the node:
/// `onnx-read` (missing / truncated / not a ModelProto), `onnx-shape` (shape inference
/// failed or a shape stays unknown), `unsupported-op` (lists every unsupported op type).
Expected<Graph> importOnnx(const std::string &path, const OnnxOptions &opts = {});

} // namespace tessera::workload
