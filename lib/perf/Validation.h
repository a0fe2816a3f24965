//===- Validation.h - the GPU model against published measurements -------------===//
//
// Each point is a published measurement with its source, the configuration that
// reproduces it in Tessera's terms, and a tolerance. `tessera validate` runs them all and
// prints the error table that docs/validation.md records; tests assert the tolerances.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "perf/Estimate.h"

namespace tessera::perf {

struct ValidationPoint {
  std::string group;       ///< "cuBLAS GEMM", "Megatron-LM"
  std::string label;       ///< "M=4096 K=N=12288"
  std::string source;      ///< citation
  std::string metric;      ///< "TFLOP/s", "TFLOP/s per GPU"
  double reference = 0;    ///< the published value
  double tolerance = 0.10; ///< relative; 0 = shown for context, not asserted
  std::string gpu = "a100";
  // Either a GEMM ...
  std::string gemm;        ///< "M,K,N"
  // ... or a training estimate.
  EstimateRequest request;
  std::string assumptions; ///< what the source does not state and we assumed
  std::string setup;       ///< the configuration shared by the group, for the table
};

struct ValidationResult {
  ValidationPoint point;
  double model = 0;
  double error = 0; ///< (model - reference) / reference
  bool pass = true;
  std::string failure; ///< set when the estimate itself failed
};

std::vector<ValidationPoint> gpuValidationPoints();
std::vector<ValidationResult> runValidation(const std::vector<ValidationPoint> &points);

/// Markdown table with a summary line (mean and max absolute error per group).
std::string validationMarkdown(const std::vector<ValidationResult> &results);

} // namespace tessera::perf
