//===- Semantics.h - the meaning of every combinational hw op -------------===//
//
// The single definition of what each combinational op computes, on BitVec values.
// Constant folding and the interpreter call it; the compiled simulator's generated code
// is tested against it op by op.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"

#include <span>

namespace tessera::hw {

/// Whether evaluate() handles `k` (every op except Input, Reg, MemRead, MemWrite,
/// InstOut and Output).
bool isCombinational(OpKind k);

/// The result of combinational op `op` applied to `operands` (one BitVec per operand, of
/// the operand's width).
BitVec evaluate(const Op &op, std::span<const BitVec> operands);

} // namespace tessera::hw
