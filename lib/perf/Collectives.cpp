#include "perf/Collectives.h"

namespace tessera::perf {

double collectiveBytesSent(CollectiveKind kind, double bytes, int64_t n) {
  if (n <= 1)
    return 0;
  double frac = double(n - 1) / double(n);
  switch (kind) {
  case CollectiveKind::AllReduce: return 2 * frac * bytes;
  case CollectiveKind::ReduceScatter:
  case CollectiveKind::AllGather: return frac * bytes;
  case CollectiveKind::SendRecv: return bytes;
  }
  return 0;
}

double collectiveSeconds(CollectiveKind kind, double bytes, int64_t n, const Link &link) {
  if (n <= 1 && kind != CollectiveKind::SendRecv)
    return 0;
  double steps = 1;
  switch (kind) {
  case CollectiveKind::AllReduce: steps = 2.0 * double(n - 1); break;
  case CollectiveKind::ReduceScatter:
  case CollectiveKind::AllGather: steps = double(n - 1); break;
  case CollectiveKind::SendRecv: steps = 1; break;
  }
  double sent = collectiveBytesSent(kind, bytes, n);
  return sent / (link.bandwidth * link.efficiency) + steps * link.latency;
}

} // namespace tessera::perf
