//===- FrontEnd.h - C/C++ kernel -> optimised LLVM IR -> CDFG -------------===//
//
//   1. clang-14 -fwrapv -O0 -Xclang -disable-O0-optnone -emit-llvm -c -g (C or C++ by the file's
//      extension; -I for include/ so that kernels can #include "tessera/hls.h"), run as an
//      external process; its diagnostics are passed through with their locations;
//   2. our fixed new-pass-manager pipeline (docs/hls.md): always-inline of everything
//      into the top, SROA / mem2reg, instcombine, simplifycfg, loop-simplify, loop-rotate,
//      LICM, indvars, full / partial unrolling honouring `#pragma clang loop
//      unroll_count(N)` / `unroll(full)`, GVN, ADCE, simplifycfg with speculation (if-
//      conversion of small branches into selects); vectorizers off;
//   3. checks: recursion, dynamic allocation (malloc / new / alloca of a run-time size),
//      calls that remain (library calls, function pointers), floating-point types
//      (kernels use tessera/hls.h's bit-exact formats), widths above 64, volatile and
//      atomics are errors at the C line (`unsupported-construct`, `unsupported-width`);
//   4. conversion of the top function to a Cdfg (Cdfg.h): blocks, phis, loops with their
//      pragmas (pipeline_initiation_interval, trip counts), interface arrays with their
//      depth from the parameter's declared array size (`int a[64]`) or
//      `__attribute__((annotate("tessera_depth=64")))`, local arrays with their
//      initialisers.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hls/Cdfg.h"
#include "support/Expected.h"

#include <string>
#include <vector>

namespace tessera::hls {

struct FrontEndOptions {
  std::string top;                  ///< the top function (C name; C++: unmangled name)
  std::vector<std::string> defines; ///< -D NAME[=VALUE]
  std::vector<std::string> includeDirs;
  std::string clang;                ///< default: the clang-14 found at build time
  std::string dumpIrTo;             ///< when set: write the optimised LLVM IR (text) here
};

/// Compiles `file` and returns the CDFG of `opts.top`. Errors carry the C location.
Expected<Cdfg> compileKernel(const std::string &file, const FrontEndOptions &opts);

/// The same from source text (`name` is used as the file name in diagnostics); the text
/// is kept under $TESSERA_CACHE/hls/src (else ~/.cache/tessera/hls/src) by content hash,
/// so that Cdfg::sourceFile stays valid for the native co-simulation build.
Expected<Cdfg> compileKernelSource(const std::string &text, const std::string &name,
                                   const FrontEndOptions &opts);

/// The directory holding tessera/hls.h.
std::string hlsIncludeDir();

} // namespace tessera::hls
