//===- FromLlvm.h - private interface between FrontEnd.cpp and FromLlvm.cpp -===//
//
// FrontEnd.cpp runs clang and the pass pipeline and gathers what only the unoptimised
// module still shows (parameter names and debug types, `annotate` attributes, interface
// array depths); FromLlvm.cpp converts the optimised top function into a Cdfg. LLVM types
// appear here only as forward declarations: this header is included by lib/hls's LLVM
// files alone.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hls/Cdfg.h"
#include "support/Expected.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class DIType;
class DILocalVariable;
class DILocation;
class Function;
class Instruction;
class Module;
} // namespace llvm

namespace tessera::hls::detail {

/// One parameter of the top function as the unoptimised module describes it.
struct ParamInfo {
  std::string name;
  llvm::DIType *type = nullptr; ///< the declared (decayed) type, from the DISubprogram
  SourceLoc loc;
  std::vector<std::string> annotations; ///< `annotate("...")` strings on the parameter
  /// Interface arrays: elements of the pointee type the pointer may address (the first
  /// dimension of `int a[64]` / `int a[4][16]`, `tessera_depth=N`, or 1 for `int (&a)[64]`
  /// whose pointee is the whole array). Unset: unknown.
  std::optional<uint64_t> outerDepth;
};

/// What conversion needs besides the optimised function.
struct KernelInfo {
  std::string sourceFile;        ///< the kernel file (Cdfg::sourceFile)
  std::vector<ParamInfo> params; ///< in C order, one per LLVM argument
  /// `annotate` strings on local variables (by debug variable) and globals (by name).
  std::map<const llvm::DILocalVariable *, std::vector<std::string>> localAnnotations;
  std::map<std::string, std::vector<std::string>> globalAnnotations;
  /// Maps a file path from debug info (diPath) to the name shown in diagnostics.
  std::function<std::string(const std::string &)> displayFile;
  /// Shared functions (TESSERA_SHARED): LLVM name -> index into `callees`, whose Cdfgs
  /// (converted before the caller) give the Call nodes their widths.
  std::map<std::string, uint32_t> shared;
  const std::vector<Cdfg> *callees = nullptr;
};

/// The path of a debug-info file: `name` when absolute, else `dir`/`name`.
inline std::string diPath(const std::string &dir, const std::string &name) {
  if (name.empty() || name[0] == '/' || dir.empty())
    return name;
  return dir + "/" + name;
}

/// The location of an instruction (its DILocation), or {} when it has none.
SourceLoc locOf(const llvm::Instruction &inst, const KernelInfo &info);
SourceLoc locOf(const llvm::DILocation *dl, const KernelInfo &info);

/// The C spelling of a debug-info type ("const int *", "hls::bf16", "int (*)[16]").
std::string spellType(const llvm::DIType *t);
/// Whether a debug-info type (after typedefs, qualifiers, pointers and arrays) is a signed
/// integer type.
bool isSignedType(const llvm::DIType *t);

/// Converts the optimised top function into a Cdfg (FromLlvm.cpp).
Expected<Cdfg> convertFunction(llvm::Function &top, const KernelInfo &info);

} // namespace tessera::hls::detail
