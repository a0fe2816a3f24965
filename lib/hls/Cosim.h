//===- Cosim.h - co-simulation of a kernel: C natively vs its RTL ---------===//
//
// Three executions of one kernel on the same inputs, compared bit for bit:
//
//   * the native reference: the kernel's C/C++ source (Cdfg::sourceFile) compiled with
//     clang-14 into a shared object together with a generated wrapper that calls the top
//     function with Cdfg::params, cached by content hash under $TESSERA_CACHE/hls (or
//     ~/.cache/tessera/hls), dlopen'ed and called;
//   * the CDFG evaluator (hls::evaluate), always available (hand-built CDFGs have no
//     source);
//   * the RTL (buildRtl's hw IR) in sim::Simulator, driven through the kernel interface
//     of Rtl.h: interface arrays served as synchronous RAMs by the harness (read data one
//     cycle after ce && !we; writes at the clock edge; out-of-range reads give 0),
//     scalar arguments and `start` poked in one cycle, cycles counted to `done`.
//
// Streams (Cdfg::streams): input streams are fed from the vector's contents, the harness
// holding `valid` low in random cycles (from CosimVector::gapSeed; once offered, an
// element stays offered until taken), output streams are collected with `ready` low in
// random cycles, so the kernel's stalls are exercised; the native wrapper passes
// hls::stream objects filled / drained the same way.
//
// Compared: the return value, every interface array that is not read-only, every output
// stream element by element (and its length), and how many elements each input stream
// had taken. The first
// mismatch is reported with the array, the element index and both values. Latency is
// start to done in cycles; for pipelined loops the achieved II is measured from the
// issue signal (`loop<L>_issue`) of the loop's controller.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hls/Cdfg.h"
#include "hw/IR.h"
#include "sim/Sim.h"
#include "support/Expected.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tessera::hls {

/// One set of inputs: scalar arguments by Cdfg::args, array contents by Cdfg::memories
/// (interface arrays; entries for local memories are ignored and may be empty).
struct CosimVector {
  std::vector<uint64_t> args;
  std::vector<std::vector<uint64_t>> mems;
  /// By Cdfg::streams: the elements offered to each input stream (output streams: empty).
  std::vector<std::vector<uint64_t>> streams;
  uint64_t gapSeed = 0; ///< the RTL harness's valid / ready gaps
};

/// The outputs of one execution.
struct KernelOutputs {
  uint64_t ret = 0;
  std::vector<std::vector<uint64_t>> mems; ///< by Cdfg::memories (interface arrays)
  std::vector<std::vector<uint64_t>> streams; ///< by Cdfg::streams: output streams' elements
  std::vector<uint64_t> consumed;             ///< by Cdfg::streams: input elements taken
};

/// What one RTL run measured.
struct RtlRun {
  KernelOutputs out;
  uint64_t latency = 0; ///< cycles from the start cycle to the done cycle
  /// Per pipelined loop (by LoopId, 0 where not pipelined): the smallest distance in
  /// cycles between two consecutive issues, and the number of issues.
  std::vector<uint64_t> loopII, loopIssues;
};

/// Random inputs for `g`: arguments and interface arrays uniformly random in their widths
/// (array depth elements), input streams `Stream::count` elements (16 when 0), from
/// `seed` (also the gap seed).
CosimVector randomVector(const Cdfg &g, uint64_t seed);

/// Runs the RTL of `g` once on `in` in an already created simulator (reset first, so a
/// simulator can be reused across vectors). `sim-timeout` when `done` does not come
/// within maxCycles.
Expected<RtlRun> runRtl(const Cdfg &g, sim::Simulator &sim, const CosimVector &in,
                        uint64_t maxCycles = 10'000'000);

/// The native C reference, compiled and loaded.
class NativeKernel {
public:
  /// Compiles g.sourceFile with the wrapper (or takes the cached .so) and loads it.
  /// `c-error` with the compiler's message when the source or the wrapper does not build.
  static Expected<NativeKernel> load(const Cdfg &g, const std::vector<std::string> &includeDirs,
                                     const std::string &cacheDir = "");
  NativeKernel(NativeKernel &&o) noexcept;
  NativeKernel &operator=(NativeKernel &&o) noexcept;
  NativeKernel(const NativeKernel &) = delete;
  ~NativeKernel();

  /// Calls the top function on `in`; arrays are copied in and out.
  KernelOutputs call(const Cdfg &g, const CosimVector &in) const;
  const std::string &soPath() const { return so_; }
  bool cacheHit() const { return cacheHit_; }

private:
  NativeKernel() = default;
  void *handle_ = nullptr;
  void *fn_ = nullptr;
  std::string so_;
  bool cacheHit_ = false;
};

/// The C++ source of the native wrapper for `g` (exposed for tests and debugging).
std::string nativeWrapperSource(const Cdfg &g);

struct CosimOptions {
  uint32_t randomVectors = 8;
  uint64_t seed = 1;
  std::vector<CosimVector> vectors; ///< user-supplied, run before the random ones
  sim::Engine engine = sim::Engine::Compiled;
  /// Also run the C source natively (needs Cdfg::sourceFile); otherwise the RTL is
  /// compared with hls::evaluate only.
  bool native = true;
  std::vector<std::string> includeDirs; ///< for the native build (hls.h's dir is added)
  std::string cacheDir;                 ///< "" = $TESSERA_CACHE/hls or ~/.cache/tessera/hls
  uint64_t maxCycles = 10'000'000;
};

struct Mismatch {
  uint32_t vector = 0;   ///< index of the input vector
  std::string what;      ///< "return", the array's or the stream's name, or
                         ///< "<stream> length" / "<stream> consumed"
  uint64_t index = 0;    ///< element index (arrays)
  uint64_t expected = 0; ///< the reference's value
  uint64_t actual = 0;   ///< the RTL's (or, for "native vs evaluate", evaluate's) value
  std::string against;   ///< "native" or "evaluate"
  std::string str() const;
};

struct CosimResult {
  uint32_t vectors = 0, passed = 0;
  std::optional<Mismatch> firstMismatch;
  uint64_t minLatency = 0, maxLatency = 0;
  double meanLatency = 0;
  std::vector<uint64_t> latencies;
  std::vector<uint64_t> loopII; ///< by LoopId: smallest issue distance seen (0: none)
  bool nativeUsed = false;
};

/// Runs the vectors through the references and the RTL (`d`, from buildRtl(g, ...)) and
/// compares. A mismatch is a result (firstMismatch), not an error; errors are for runs
/// that cannot happen (native build failure, simulator creation, timeout, a reference
/// that fails).
Expected<CosimResult> cosimKernel(const Cdfg &g, const hw::Design &d, const CosimOptions &opts);

} // namespace tessera::hls
