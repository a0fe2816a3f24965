//===- Estimate.h - the `tessera estimate` pipeline ------------------------------===//
//
// Workload (zoo model or ONNX file) -> per-rank forward graph -> training graph ->
// training-iteration estimate on a device model, and its text / JSON renderings. The CLI
// only parses flags into an EstimateRequest.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "perf/GpuModel.h"
#include "perf/TrainingModel.h"
#include "workload/Training.h"
#include "workload/Zoo.h"

#include <nlohmann/json.hpp>

namespace tessera::perf {

struct EstimateRequest {
  std::string workload;           ///< zoo model name or path to a .onnx file
  workload::ZooOptions zoo;       ///< shapes, dtype, tp, sequence parallel (batch = micro)
  workload::TrainingOptions training;
  ParallelConfig parallel;        ///< tp / sequenceParallel / microBatch mirrored in zoo
};

/// Builds the per-rank training graph of the request (zoo or ONNX).
Expected<workload::Graph> buildTrainingWorkload(const EstimateRequest &req, int64_t &seqLen);

Expected<TrainingEstimate> estimateWorkload(const DeviceModel &dev, const EstimateRequest &req);

/// Parses "fp16", "bf16", "tf32", "fp8" (E4M3), "fp32". Errors: `bad-value`.
Expected<workload::DType> parseComputeDtype(const std::string &s);

/// One GEMM on a GPU.
struct GemmEstimate {
  std::string device;
  workload::GemmShape shape;
  workload::DType dtype = workload::DType::F16;
  GemmPlan plan;
  double seconds = 0;
  double tflops = 0;
};
/// `spec` is "M,K,N". Errors: `bad-value`, `unsupported-dtype`.
Expected<GemmEstimate> estimateGemm(const GpuModel &gpu, const std::string &spec,
                                    workload::DType t);

std::string renderEstimate(const TrainingEstimate &e, const std::string &workload);
nlohmann::ordered_json estimateJson(const TrainingEstimate &e, const std::string &workload);
std::string renderGemm(const GemmEstimate &e);
nlohmann::ordered_json gemmJson(const GemmEstimate &e);

} // namespace tessera::perf
