//===- Process.h - run an external tool with a timeout and captured logs ---===//
//
// Verilator, Icarus Verilog, Yosys and nextpnr are driven as child processes, never linked
// (verilog/ExternalSim, fpga/Flow): fork/exec with the child in its own process group so
// that a timeout kills the whole tree, stdout/stderr into `<logBase>.out` / `.err`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Expected.h"

#include <string>
#include <vector>

namespace tessera {

struct ProcessResult {
  int exitCode = -1;     ///< -1: killed by a signal; 127: could not be executed
  bool timedOut = false; ///< killed after the timeout
  double seconds = 0;    ///< wall time
  uint64_t maxRssKb = 0; ///< peak resident set of the process tree's waited-for child
  std::string out, err;  ///< what it wrote to stdout / stderr (also kept in the log files)
};

/// Runs argv[0] (PATH lookup) in `cwd` with stdin from /dev/null and stdout / stderr to
/// `logBase`.out / `logBase`.err. `timeoutSeconds` > 0 kills the process group after that
/// long. An error only when the process cannot be started or waited for; a non-zero exit
/// is a result.
Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const std::string &cwd,
                                   const std::string &logBase, double timeoutSeconds = 0);

/// The first line `tool arg` prints (on stdout, else stderr); "" when it cannot be run.
std::string toolVersion(const std::string &tool, const std::string &arg,
                        const std::string &scratchDir);

} // namespace tessera
