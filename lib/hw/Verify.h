//===- Verify.h - hw IR verifier ------------------------------------------===//
//
// Checks a design is well formed: operand counts and widths per op, operands defined,
// attributes in range, every output port driven exactly once, every register's next and
// every instance input connected with the right width, instances name existing modules
// without recursion, and no combinational cycles (reported with the cycle's path through
// named signals and their locations). Errors are located diagnostics with stable ids
// (`width-mismatch`, `undriven-output`, `multiple-drivers`, `comb-cycle`, ...).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"
#include "support/Diagnostics.h"

namespace tessera::hw {

/// Reports every problem found into `diags`; returns true when there was none.
bool verifyDesign(const Design &d, DiagnosticEngine &diags);
bool verifyModule(const Module &m, const Design &d, DiagnosticEngine &diags);

/// For each output port of `m` (by port index), the input ports it depends on
/// combinationally (through ops, async memory reads, asynchronous register resets and
/// instances). Used by the verifier for cycle detection across hierarchy and by the
/// simulator's scheduler.
/// Requires an acyclic, verified module.
std::vector<std::vector<uint32_t>> combinationalPortDeps(const Module &m, const Design &d);

} // namespace tessera::hw
