#include "workload/Workload.h"

#include <cctype>

namespace tessera::workload {

bool isOnnxPath(const std::string &s) {
  if (s.size() < 5)
    return false;
  std::string tail = s.substr(s.size() - 5);
  for (char &c : tail)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".onnx";
}

Expected<Graph> buildWorkload(const std::string &nameOrPath, const ZooOptions &opts) {
  if (!isOnnxPath(nameOrPath))
    return buildZooModel(nameOrPath, opts);
  std::string zooOnly = opts.seq      ? "--seq"
                        : opts.hidden ? "--hidden"
                        : opts.heads  ? "--heads"
                        : opts.layers ? "--layers"
                        : opts.vocab  ? "--vocab"
                        : opts.ffn    ? "--ffn"
                        : opts.sequenceParallel ? "--sequence-parallel"
                                                : "";
  if (opts.tp > 1)
    return Diagnostic::error("bad-parallelism",
                             "tensor parallelism needs a model-zoo transformer; '" + nameOrPath +
                                 "' is an ONNX graph");
  if (!zooOnly.empty())
    return Diagnostic::error("bad-option",
                             zooOnly + " applies to built-in models, not to " + nameOrPath);
  OnnxOptions o;
  o.batch = opts.batch;
  return importOnnx(nameOrPath, o);
}

} // namespace tessera::workload
