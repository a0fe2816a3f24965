//===- Report.h - report.json / report.html of runs and training runs --------===//
//
// The reports of `tessera run --report DIR` (tools/tessera/RunCommand.cpp),
// Model.report(path) (python/src/Module.cpp) and `tessera train --report DIR`
// (tools/tessera/TrainCommand.cpp). One writer per report, so that the command line and
// Python give the same bytes for the same run.
//
//   writeRunReport     one program's last run: cycles, per-op cycle table and bar chart
//                      (cycle / rtl backends), the loss per step of a training program
//   lossCurvePlot      the SVG of one or more loss curves (a line per series) on one plot
//   writeTrainReport   several policies trained on the same data: the loss curves side by
//                      side, the final losses (mean of the last steps) and their gaps to
//                      the fp32 run
//
// Output is deterministic: series, ops and policies are written in the order given.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Runtime.h"

#include <string>
#include <vector>

namespace tessera::runtime {

/// Writes DIR/report.json and DIR/report.html of run `r` of `rt` (`losses`: the loss of
/// every training step so far, in order; a curve is drawn for two or more); creates DIR.
Status writeRunReport(const Runtime &rt, const RunResult &r, const std::vector<double> &losses,
                      const std::string &dir);

/// One loss curve: the loss of steps 1, 2, ... in order.
struct LossSeries {
  std::string name;
  std::vector<double> losses;
  bool dashed = false;
};

/// An SVG line plot of the curves, x = step (from 1), y = loss (a log axis when every
/// value is positive and they span more than a factor of 20).
std::string lossCurvePlot(const std::string &title, const std::vector<LossSeries> &series);

/// Mean of the last `window` values (all of them when there are fewer); 0 when empty.
double finalLoss(const std::vector<double> &losses, size_t window = 10);

/// One policy of a training run.
struct TrainSeries {
  std::string policy;      ///< "fp32", "bf16", ...
  std::vector<double> losses;
  uint64_t instructions = 0; ///< static instructions of its training program
  uint64_t cycles = 0;       ///< golden model cycles of one step (the last one)
  double seconds = 0;        ///< host time of the whole run (not written to report.json)
  /// The allowed final-loss gap to fp32 in percent (< 0: not checked).
  double maxGapPct = -1;
};

struct TrainReport {
  std::string model;      ///< the model's name
  std::string modelPath;  ///< the ONNX file
  std::string arch;       ///< the arch spec's name
  std::string dataPath;   ///< the .npz of batches
  uint64_t steps = 0;
  uint64_t batches = 0;   ///< batches in the data (cycled through)
  compiler::AdamWParams adamw;
  size_t finalWindow = 10; ///< final loss = mean of the last finalWindow steps
  std::vector<TrainSeries> series;
  /// PyTorch's FP32 curve for the same run (empty: none given) and its file.
  std::vector<double> reference;
  std::string referencePath;
  /// PyTorch FP32 curves of a policy's own model (the reference file's "loss/<policy>",
  /// e.g. the 2:4 pruned model of mxfp8-sparse): that policy's gap is taken against it.
  std::vector<std::pair<std::string, std::vector<double>>> policyReferences;

  /// The policy's own reference curve, or null.
  const std::vector<double> *policyReference(const std::string &policy) const;
};

/// (final - final_base) / final_base in percent for `s`; the base is the policy's own
/// reference curve (TrainReport::policyReferences), else the fp32 series of `rep`, else
/// the reference curve; false when there is none.
bool finalGapPct(const TrainReport &rep, const TrainSeries &s, double &gapPct);

/// Writes DIR/report.json and DIR/report.html of a training run; creates DIR.
Status writeTrainReport(const TrainReport &rep, const std::string &dir);

} // namespace tessera::runtime
