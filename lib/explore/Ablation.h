//===- Ablation.h - how much each mechanism of a design contributes -------------===//
//
// The speed-up of the best design over the GPU baseline is split into the mechanisms the
// design uses — low precision, 2:4 weight sparsity, its memory system (global buffer and
// HBM), scale-and-cast on the store path, zero skipping — and the rest of the
// architecture. A mechanism is "removed" by a concrete edit of the spec: precision -> a
// BF16-only tensor unit (policy bf16), sparsity -> a dense unit, memory -> the baseline's
// global buffer size and HBM, scale-cast -> none (casts become vector passes), zero
// skipping -> off.
//
// Every subset of the design's n mechanisms is evaluated (2^n step estimates at the
// design's final clock, budgets not applied) and each mechanism's contribution is its
// Shapley value (Shapley 1953) of the log speed-up over the design with all of them
// removed ("stripped"). The Shapley factors therefore multiply exactly to
// t(stripped) / t(best), whatever the interactions, and do not depend on an order of
// removal; with the architecture factor t(baseline) / t(stripped) they multiply to the
// total speed-up. The simpler leave-one-out factor t(best without m) / t(best) is
// reported beside it; where mechanisms interact the leave-one-out factors do not multiply
// to the total.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "explore/Evaluator.h"

namespace tessera::explore {

enum class Mechanism : uint8_t { Precision, Sparsity, Memory, ScaleCast, ZeroSkip };
constexpr size_t kNumMechanisms = 5;
std::string_view mechanismKey(Mechanism m); ///< "precision", "sparsity", ...

/// The memory system a design is compared against when its own is removed.
struct MemoryReference {
  double globalBufferMib = 40; ///< A800 L2
  int64_t hbmStacks = 5;
  double hbmGBpsPerStack = 407.8;
  double hbmGiBPerStack = 16;
};

struct MechanismContribution {
  Mechanism mechanism = Mechanism::Precision;
  std::string name;       ///< "low precision (MXFP8)"
  std::string change;     ///< what removing it means: "mxfp8 -> bf16"
  double factor = 1;      ///< Shapley factor
  double leaveOneOut = 1; ///< t(best without it) / t(best)
};

struct Ablation {
  double baselineSeconds = 0;
  double bestSeconds = 0;
  double strippedSeconds = 0;    ///< every mechanism removed
  double totalSpeedup = 0;       ///< baseline / best
  double architectureFactor = 0; ///< baseline / stripped: tiles, array, clock, dataflow
  std::vector<MechanismContribution> mechanisms; ///< only those the design uses
  /// Every subset evaluated: bit i set = mechanisms[i] kept; step seconds.
  std::vector<std::pair<uint32_t, double>> subsets;
  /// Product of the Shapley factors and the architecture factor (== totalSpeedup up to
  /// rounding).
  double product() const;
};

/// The mechanisms `spec` uses under `policy`, in Mechanism order.
std::vector<Mechanism> mechanismsUsed(const arch::ArchSpec &spec,
                                      const perf::PrecisionPolicy &policy,
                                      const MemoryReference &memory);

/// `spec` with the mechanisms in `removed` taken out (see the file comment).
arch::ArchSpec removeMechanisms(const arch::ArchSpec &spec, const std::vector<Mechanism> &removed,
                                const MemoryReference &memory);

/// Errors: the first failing subset's estimate error (e.g. `out-of-memory`).
Expected<Ablation> ablate(const Evaluator &evaluator, const arch::ArchSpec &best,
                          const PolicyLimits &limits, double baselineSeconds,
                          const MemoryReference &memory);

} // namespace tessera::explore
