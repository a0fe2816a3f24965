//===- Collectives.h - time of collectives on rings -----------------------------===//
//
// Bandwidth-optimal ring algorithms (Patarasuk & Yuan 2009; what NCCL uses for large
// messages): an all-reduce of S bytes over n devices moves 2(n-1)/n * S per device in
// 2(n-1) steps; reduce-scatter and all-gather move (n-1)/n * S in n-1 steps. Each step
// pays the link latency.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "perf/Device.h"

namespace tessera::perf {

enum class CollectiveKind : uint8_t { AllReduce, ReduceScatter, AllGather, SendRecv };

/// Seconds for a collective of `bytes` (the full, unsharded message) among `n` devices
/// over `link`. n <= 1 costs nothing.
double collectiveSeconds(CollectiveKind kind, double bytes, int64_t n, const Link &link);

/// Bytes each device sends for the collective (for energy).
double collectiveBytesSent(CollectiveKind kind, double bytes, int64_t n);

} // namespace tessera::perf
