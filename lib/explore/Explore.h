//===- Explore.h - the `tessera explore` pipeline and its reports ----------------===//
//
// Workload -> training graph (once) -> GPU baseline on that graph -> design-space search
// under the baseline's silicon / power / HBM budget -> the best design's full estimate,
// ablation and roofline -> report.html, report.json and best-arch.yaml. The CLI only
// parses flags into an ExploreRequest; docs/explore.md describes the method and the
// report.
//
// Outputs are deterministic for a given request when the point budget (not the time
// bound) ends the search: nothing in them depends on the thread count, the wall clock or
// addresses. The wall time is returned (ExploreResult::search.wallSeconds) for the tool
// to print, never written to the reports.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "explore/Ablation.h"
#include "explore/Search.h"
#include "perf/AreaModel.h"

#include <nlohmann/json.hpp>

namespace tessera::explore {

/// Published facts of a baseline GPU that set the default budgets
/// (shared/reference/gpu-baselines.md).
struct BaselineFacts {
  std::string key;         ///< "a800"
  std::string displayName; ///< "A800"
  double dieMm2 = 0;
  double transistors = 0;
  double tdpWatts = 0;
  double hbmGBps = 0;
  int64_t hbmStacks = 0;
  double hbmGiBPerStack = 16;
  double l2Mib = 0;
  double clockGhz = 0; ///< boost clock
  double linkGBps = 0; ///< NVLink per direction
  arch::TechNode node = arch::TechNode::N7;
  /// Published die area by category (A100 die analysis; empty when none is published).
  std::vector<std::pair<perf::AreaCategory, double>> publishedAreaMm2;
};
/// "a800", "a100", "h100". Errors: `unknown-gpu` with a did-you-mean.
Expected<BaselineFacts> baselineFacts(const std::string &key);

/// The workload `tessera explore` runs when none is given: a GPT-class step in 3-D
/// parallelism (Megatron-LM's GPT-3 175B configuration) on 1024 devices.
struct DefaultWorkload {
  static constexpr const char *kName = "gpt3-175b";
  static constexpr int64_t kDevices = 1024, kTp = 8, kPp = 8, kGlobalBatch = 1536;
  static constexpr bool kSequenceParallel = true;
  static constexpr workload::Recompute kRecompute = workload::Recompute::Selective;
  /// The full request (micro-batch 1, BF16, AdamW), as the tool builds it.
  static perf::EstimateRequest request();
};

struct ExploreRequest {
  perf::EstimateRequest workload; ///< workload, shapes, training options, parallelism
  std::string baseline = "a800";
  std::optional<double> areaBudgetMm2;    ///< default: the baseline's die
  std::optional<double> transistorBudget; ///< exclusive with areaBudgetMm2
  std::optional<double> powerBudgetWatts; ///< default: the baseline's TDP
  std::optional<double> hbmBudgetGBps;    ///< default: the baseline's HBM bandwidth
  std::optional<double> linkBudgetGBps;   ///< default: the baseline's NVLink per direction
  std::optional<double> maxClockGhz;      ///< default: the baseline's boost clock
  std::optional<arch::TechNode> node;     ///< default: the baseline's node
  Objective objective = Objective::Time;
  PolicyLimits limits;
  SearchOptions search;
  std::optional<arch::ArchSpec> base; ///< template spec; default defaultTemplate()
  std::string command;                ///< the command line, for the report
};

/// One GEMM-like op of the workload as the best design runs it (roofline).
struct RooflinePoint {
  std::string op;    ///< op kind
  std::string phase; ///< forward / backward-data / ...
  std::string shape; ///< "b x m x n x k" of its (first) product
  int64_t count = 0; ///< ops with this shape per micro-batch on the device
  double flops = 0;  ///< matrix FLOPs of one op
  double dramBytes = 0;
  double seconds = 0;
};

struct ExploreResult {
  ExploreRequest request;
  BaselineFacts baseline;
  Budget budget;
  arch::TechNode node = arch::TechNode::N7;
  perf::TrainingEstimate baselineEstimate;
  std::vector<ParamDef> space; ///< the parameters searched
  SearchResult search;
  std::vector<size_t> paretoArea, paretoPower; ///< into search.points
  Evaluation best;
  arch::ArchSpec bestSpec; ///< at its final clock; what best-arch.yaml holds
  perf::PrecisionPolicy bestPolicy;
  perf::TrainingEstimate bestEstimate;
  perf::AreaBreakdown bestArea;
  std::optional<Ablation> ablation;
  std::string ablationError;
  std::vector<RooflinePoint> roofline;
  double speedup() const { return baselineEstimate.iterationSeconds / best.iterationSeconds; }
};

/// Runs the whole pipeline. Errors: `bad-option` (both silicon budgets, non-positive
/// budgets), `unknown-gpu`, workload errors (`unknown-workload`, `onnx-read`,
/// `bad-parallelism`...), `infeasible-budget` (no candidate can fit: the smallest
/// candidate is over the silicon budget, or every evaluated design is infeasible).
Expected<ExploreResult> runExplore(const ExploreRequest &req);

/// "best design: 1.62x faster than A800 per training step at equal area (...); low
/// precision (MXFP8) gives 1.30x, ..."
std::string headline(const ExploreResult &r);
/// The text the tool prints: headline, baseline and best design, ablation.
std::string summaryText(const ExploreResult &r);
nlohmann::ordered_json reportJson(const ExploreResult &r);
/// reportJson as report.json writes it: indented, with one line per evaluated point.
std::string reportJsonText(const ExploreResult &r);
std::string reportHtml(const ExploreResult &r);
/// The `tessera estimate` flags that describe `req`'s workload and parallelism.
std::string estimateFlags(const perf::EstimateRequest &req);
/// best-arch.yaml: a comment header (with the command that re-estimates the design) and
/// writeArchSpecYaml(bestSpec).
std::string bestArchYaml(const ExploreResult &r);
/// Writes report.html, report.json and best-arch.yaml into `dir` (created if needed).
/// Errors: `io-error`.
Status writeReports(const ExploreResult &r, const std::string &dir);

} // namespace tessera::explore
