//===- Assembler.h - tile assembly text <-> instructions ---------------------===//
//
// The assembly language of docs/isa.md ("Assembly syntax"): one instruction per line,
// `label:` definitions, `.equ NAME, expr` constants, comments from `#`, `;` or `//`,
// named registers (r0..r15, f0..f15), symbolic formats (`e4m3`, `mxe2m1`), integer
// expressions (+ - * / % << >> & | ^ ~, parentheses, labels, constants) for immediates.
// Front-end instructions take positional operands (`addi r1, r1, 64`); queue
// instructions take `key=value` operands and bare flags in any order
// (`gemm c=r3, a=r1, b=r2, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, acc,
// pop_prev`).
//
// Every error is a located diagnostic (file:line:col, the source line and a caret) with a
// stable id; the assembler keeps going after an error so that one run reports them all.
// With a TileConfig, each instruction is also verified against the tile (checkInstruction)
// and the problem is located at the operand that causes it.
//
// The disassembler prints the canonical text of an instruction; assembling that text
// gives the identical word (tested on every opcode and on random valid instructions).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Isa.h"

#include <map>

namespace tessera::accel {

struct AsmProgram {
  std::vector<Instruction> code;
  std::vector<SourceLoc> locs;            ///< where each instruction was written
  std::map<std::string, uint32_t> labels; ///< label -> instruction index
};

/// Assembles `text` (named `file` in diagnostics). Returns the first error; when
/// `allDiags` is given, every error found is reported there too. Static checks always
/// run; `cfg` adds the tile's limits; the program must contain a halt.
Expected<AsmProgram> assemble(std::string_view text, const std::string &file,
                              const TileConfig *cfg = nullptr,
                              DiagnosticEngine *allDiags = nullptr);

/// Canonical text of one instruction (no indentation, no newline). Loop targets print as
/// the label in `labels` when there is one, else as the instruction number.
std::string disassemble(const Instruction &ins,
                        const std::map<uint32_t, std::string> *labels = nullptr);
/// A whole program: one instruction per line, indented, loop targets as `L<n>:` labels.
std::string disassembleProgram(std::span<const Instruction> program);

} // namespace tessera::accel
