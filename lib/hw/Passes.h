//===- Passes.h - hw IR transformations and the pass manager --------------===//
#pragma once

#include "hw/IR.h"
#include "support/Diagnostics.h"

#include <functional>
#include <string>
#include <vector>

namespace tessera::hw {

/// Each pass returns true when it changed the module.
bool foldConstants(Module &m);        ///< evaluates ops whose operands are constants; algebraic identities
bool eliminateDeadCode(Module &m);    ///< removes ops no output, register, memory write or instance uses
bool eliminateCommonSubexpressions(Module &m); ///< merges identical pure ops

struct Pass {
  std::string name;
  std::function<bool(Module &)> run;
};

/// Runs passes over every module of a design, in order, optionally verifying after each
/// and iterating the list to a fixed point (bounded).
class PassManager {
public:
  explicit PassManager(bool verifyEach = true) : verifyEach_(verifyEach) {}
  void add(Pass p) { passes_.push_back(std::move(p)); }
  /// const-fold, cse, dce.
  void addDefaultPipeline();
  /// Fails with the verifier's diagnostics (naming the pass that broke the IR).
  bool run(Design &d, DiagnosticEngine &diags, int maxIterations = 8);

private:
  bool verifyEach_;
  std::vector<Pass> passes_;
};

} // namespace tessera::hw
