//===- Report.h - report.json / report.html of a run --------------------------===//
//
// The run report `tessera run --report DIR` writes (tools/tessera/RunCommand.cpp), for
// Model.report(path). A copy of the CLI's writer until it moves into lib/runtime, where
// both can call it (the files must stay the same bytes for the same run).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Runtime.h"

#include <string>
#include <vector>

namespace tessera::python {

/// Writes DIR/report.json and DIR/report.html of run `r` of `rt` (`losses`: the loss of
/// every training step so far, in order); creates DIR.
Status writeRunReport(const runtime::Runtime &rt, const runtime::RunResult &r,
                      const std::vector<double> &losses, const std::string &dir);

} // namespace tessera::python
