//===- Evaluator.h - one candidate design on the training workload -------------===//
//
// The training graph is built once per (workload, parallel configuration); every candidate
// is then an AccelModel for its spec and precision policy run through the same
// estimateTraining as the GPU baseline (same graph, same parallelism arithmetic), plus
// estimateArea for its silicon. A candidate is feasible when it fits every budget:
//
//  * silicon: die area <= the area budget, or transistors <= the transistor budget;
//  * HBM bandwidth <= the HBM budget;
//  * memory: the training step fits in HBM (estimateTraining's `out-of-memory`);
//  * power: average power <= the power budget. A design over it is clocked down, not
//    rejected: the clock is scaled by (budget - static) / (power - static), rounded down
//    to 10 MHz, and the step re-estimated until it fits (dynamic power follows the clock;
//    voltage is not scaled, which is conservative). Evaluation::clockedDown says so.
//
// Evaluations are independent and thread-safe: each builds its own AccelModel (whose
// mapping cache is not shared), reading the shared graph only.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "explore/DesignSpace.h"
#include "perf/Estimate.h"

#include <limits>

namespace tessera::explore {

/// The silicon, power and memory-bandwidth budget a design must fit. 0 = unbounded.
struct Budget {
  double areaMm2 = 0;
  double transistors = 0;
  double powerWatts = 0;
  double hbmGBps = 0;
  /// Chip-to-chip link bandwidth per direction. Not searched: the space sets every
  /// candidate's links within it (SpaceBounds); reported with the budget.
  double linkGBps = 0;
};

enum class Objective : uint8_t {
  Time,        ///< time per training step (lower is better)
  PerfPerWatt, ///< samples per second per watt (higher is better)
};
std::string_view objectiveName(Objective o); ///< "time", "perf-per-watt"
/// Errors: `bad-value` naming the accepted values.
Expected<Objective> parseObjective(const std::string &s);

/// The workload every candidate runs: the request and its per-rank training graph.
struct TrainingWorkload {
  perf::EstimateRequest request;
  workload::Graph graph;
  int64_t seqLen = 0;

  /// Builds the graph once (zoo model or ONNX file). Errors as buildTrainingWorkload.
  static Expected<TrainingWorkload> build(const perf::EstimateRequest &req);
  /// estimateTraining of `dev` on this workload.
  Expected<perf::TrainingEstimate> estimate(const perf::DeviceModel &dev) const;
};

/// What one evaluation found. Times in seconds per training step.
struct Evaluation {
  DesignPoint point{};
  std::string label;
  std::string policy;
  bool feasible = false;
  std::string reason;   ///< why it is not feasible ("" when feasible)
  double violation = 0; ///< how far outside the budgets (ratio - 1; 0 when feasible)
  double areaMm2 = 0;
  double transistors = 0;
  double hbmGBps = 0;
  double clockGhz = 0; ///< after any clock-down
  bool clockedDown = false;
  double iterationSeconds = 0; ///< 0 when the step was not estimated
  double powerWatts = 0;       ///< average per device
  double samplesPerSecond = 0;
  double perfPerWatt = 0; ///< samples/s per device-watt: samples/s / (devices * W)
  double tflopsPerDevice = 0;
  double memoryBytes = 0; ///< per device, most loaded stage
  double memoryCapacity = 0;
  /// The value minimized: iteration seconds, or -(samples/s/W); +inf when infeasible.
  double objective = std::numeric_limits<double>::infinity();
};

class Evaluator {
public:
  Evaluator(const TrainingWorkload &w, Budget budget, Objective objective)
      : w_(w), budget_(budget), objective_(objective) {}

  const TrainingWorkload &workload() const { return w_; }
  const Budget &budget() const { return budget_; }
  Objective objective() const { return objective_; }

  /// A valid spec with its policy under the budgets (power clock-down included).
  Evaluation evaluate(const arch::ArchSpec &spec, const perf::PrecisionPolicy &policy) const;
  /// The step time of a spec as it is, ignoring the budgets (ablation). Errors as
  /// estimateTraining.
  Expected<perf::TrainingEstimate> estimateUnbounded(const arch::ArchSpec &spec,
                                                     const perf::PrecisionPolicy &policy) const;

  /// Area or transistors against the silicon budget: "" when within, else the reason.
  std::string siliconCheck(double areaMm2, double transistors, double *violation = nullptr) const;

private:
  const TrainingWorkload &w_;
  Budget budget_;
  Objective objective_;
};

} // namespace tessera::explore
