//===- ToolRunner.h - run Verilator, Yosys and Icarus from verilog tests --===//
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <sys/wait.h>

namespace tessera::verilog::test {

struct ToolResult {
  int rc = -1;
  std::string output; ///< stdout and stderr together
};

/// Runs a shell command line, capturing stdout and stderr.
inline ToolResult runTool(const std::string &cmd) {
  ToolResult r;
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A fresh directory under the build tree, removed at destruction.
class TempDir {
public:
  explicit TempDir(const std::string &tag) {
    std::random_device rd;
    path_ =
        std::filesystem::path(TESSERA_BINARY_DIR) / "test-tmp" / (tag + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (std::getenv("TESSERA_KEEP_TEST_FILES"))
      return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string &name) const { return (path_ / name).string(); }
  std::string write(const std::string &name, const std::string &text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }

private:
  std::filesystem::path path_;
};

/// `verilator --lint-only -Wall`: exit code and every message.
inline ToolResult verilatorLint(const std::string &file, const std::string &top) {
  return runTool("verilator --lint-only -Wall --top-module " + top + " " + file);
}

/// Yosys reads the file and synthesizes `top` to gates. `coarseOnly` stops before the
/// fine-grained mapping (100-bit dividers and multipliers take minutes and gigabytes to
/// map to gates, and prove nothing more about the Verilog).
inline ToolResult yosysSynth(const std::string &file, const std::string &top,
                             bool coarseOnly = false) {
  return runTool("yosys -q -p 'read_verilog " + file + "; hierarchy -check -top " + top +
                 "; proc; opt; synth -top " + top + (coarseOnly ? " -run :fine" : "") + "'");
}

} // namespace tessera::verilog::test
