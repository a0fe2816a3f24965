//===- TrainRun.h - training runs over a data set of batches -----------------===//
//
// `tessera train` (tools/tessera/TrainCommand.cpp): a compiled training program run for
// N steps on a backend, step s taking batch s mod B of a data set.
//
// The data set is an .npz with one array per program input (by name, e.g. "x" and
// "target"), each with a leading batch-sequence dim B that all arrays share: array
// "x" of shape [B, 8, 64] feeds the input "x" of shape [8, 64] (any shape with the same
// element count per batch). tests/python/torch_reference.py --dataset writes such files.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Runtime.h"

#include <functional>
#include <string>
#include <vector>

namespace tessera::runtime {

struct TrainData {
  std::string path;
  uint64_t batches = 0;
  /// Per array (in the file's order): its name, its shape, and its values (B batches,
  /// row-major, FP32).
  struct Array {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
  };
  std::vector<Array> arrays;

  const Array *find(const std::string &name) const;
};

/// Reads a data set; `bad-data` (naming the file) when an array is not numeric, has no
/// leading dim, or the leading dims differ.
Expected<TrainData> loadTrainData(const std::string &path);

/// Checks that `data` has an array for every input of `rt`'s program with one input's
/// elements per batch (`bad-data` / `missing-input`, naming the file and the array).
Status checkTrainData(const Runtime &rt, const TrainData &data);

/// Runs `steps` training steps of `rt`'s program on `backend`, step s (from 0) with batch
/// s mod B written to the inputs first; returns the loss of each step. `onStep(s, loss,
/// result)` is called after each step.
Expected<std::vector<double>>
trainSteps(Runtime &rt, const TrainData &data, uint64_t steps, Backend backend,
           const std::function<void(uint64_t, double, const RunResult &)> &onStep = {});

} // namespace tessera::runtime
