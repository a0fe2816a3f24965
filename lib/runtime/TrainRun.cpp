//===- TrainRun.cpp - training runs over a data set of batches ----------------===//
#include "runtime/TrainRun.h"

#include "support/Npy.h"

#include <span>

namespace tessera::runtime {

const TrainData::Array *TrainData::find(const std::string &name) const {
  for (const Array &a : arrays)
    if (a.name == name)
      return &a;
  return nullptr;
}

Expected<TrainData> loadTrainData(const std::string &path) {
  TRY_ASSIGN(auto npz, readNpz(path));
  TrainData d;
  d.path = path;
  if (npz.empty())
    return Diagnostic::error("bad-data", "the data set has no arrays", SourceLoc{path, 0, 0});
  for (auto &[name, arr] : npz) {
    if (arr.shape.empty() || arr.shape[0] < 1)
      return Diagnostic::error("bad-data",
                               "array '" + name +
                                   "' has no leading batch dim (shape [B, ...] expected)",
                               SourceLoc{path, 0, 0});
    uint64_t b = uint64_t(arr.shape[0]);
    if (d.batches == 0)
      d.batches = b;
    else if (b != d.batches)
      return Diagnostic::error("bad-data",
                               "array '" + name + "' has " + std::to_string(b) +
                                   " batches, the first array " + std::to_string(d.batches) +
                                   ": the leading dims must agree",
                               SourceLoc{path, 0, 0});
    TRY_ASSIGN(std::vector<float> v, npyToFloats(arr, path + ":" + name));
    d.arrays.push_back({name, arr.shape, std::move(v)});
  }
  return d;
}

Status checkTrainData(const Runtime &rt, const TrainData &data) {
  const compiler::Program &p = rt.program();
  if (!p.train)
    return Diagnostic::error("not-training", "program '" + p.model +
                                                 "' is a forward pass: compile with --train");
  for (const std::string &name : rt.tensorsOf(compiler::DramRole::Input)) {
    const TrainData::Array *a = data.find(name);
    if (!a)
      return Diagnostic::error("missing-input",
                               "no array '" + name + "' for input '" + name + "' of program '" +
                                   p.model + "'",
                               SourceLoc{data.path, 0, 0});
    uint64_t per = a->values.size() / data.batches;
    if (per != uint64_t(p.find(name)->elements()))
      return Diagnostic::error(
          "bad-data",
          "array '" + name + "' has " + std::to_string(per) +
              " elements per batch, the input needs " + std::to_string(p.find(name)->elements()),
          SourceLoc{data.path, 0, 0});
  }
  return Status::success();
}

Expected<std::vector<double>>
trainSteps(Runtime &rt, const TrainData &data, uint64_t steps, Backend backend,
           const std::function<void(uint64_t, double, const RunResult &)> &onStep) {
  TRY(checkTrainData(rt, data));
  std::vector<std::string> inputs = rt.tensorsOf(compiler::DramRole::Input);
  std::vector<std::string> loss = rt.tensorsOf(compiler::DramRole::Loss);
  if (loss.size() != 1)
    return Diagnostic::error("not-training", "program '" + rt.program().model +
                                                 "' has no single loss tensor");
  std::vector<double> losses;
  losses.reserve(steps);
  for (uint64_t s = 0; s < steps; ++s) {
    uint64_t b = s % data.batches;
    for (const std::string &name : inputs) {
      const TrainData::Array *a = data.find(name);
      size_t per = a->values.size() / data.batches;
      TRY(rt.write(name, std::span<const float>(a->values).subspan(b * per, per)));
    }
    TRY_ASSIGN(RunResult r, rt.run(backend));
    TRY_ASSIGN(std::vector<float> l, rt.read(loss[0]));
    losses.push_back(l.empty() ? 0.0 : double(l[0]));
    if (onStep)
      onStep(s, losses.back(), r);
  }
  return losses;
}

} // namespace tessera::runtime
