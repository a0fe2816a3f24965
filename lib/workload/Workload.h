//===- Workload.h - a workload by name: zoo model or ONNX file -------------------===//
#pragma once

#include "workload/Onnx.h"
#include "workload/Zoo.h"

namespace tessera::workload {

/// True for a path ending in ".onnx" (any case).
bool isOnnxPath(const std::string &nameOrPath);

/// Builds the forward graph of a zoo model, or imports an ONNX file (taking `opts.batch`
/// for its dynamic dimensions). Zoo-only options given for an ONNX file (shape overrides,
/// tensor parallelism) are a `bad-option` error rather than silently ignored.
Expected<Graph> buildWorkload(const std::string &nameOrPath, const ZooOptions &opts);

} // namespace tessera::workload
