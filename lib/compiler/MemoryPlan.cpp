//===- MemoryPlan.cpp - greedy-by-size buffer placement ---------------------===//
#include "compiler/MemoryPlan.h"

#include <algorithm>
#include <numeric>

namespace tessera::compiler {

namespace {
bool liveTogether(const PlanBuffer &a, const PlanBuffer &b) {
  return a.first <= b.last && b.first <= a.last;
}
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
} // namespace

MemoryPlanResult planMemory(const std::vector<PlanBuffer> &buffers, uint64_t align) {
  MemoryPlanResult r;
  r.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<size_t> placed;
  for (size_t i : order) {
    const PlanBuffer &b = buffers[i];
    uint64_t size = alignUp(std::max<uint64_t>(b.bytes, 1), align);
    // Intervals taken by placed buffers live at the same time, by offset.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t j : placed)
      if (liveTogether(b, buffers[j]))
        busy.push_back(
            {r.offsets[j], r.offsets[j] + alignUp(std::max<uint64_t>(buffers[j].bytes, 1), align)});
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + size <= lo)
        break;
      offset = std::max(offset, hi);
    }
    r.offsets[i] = offset;
    r.size = std::max(r.size, offset + size);
    placed.push_back(i);
  }
  return r;
}

bool planHasConflict(const std::vector<PlanBuffer> &buffers, const MemoryPlanResult &plan) {
  for (size_t i = 0; i < buffers.size(); ++i)
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      if (!liveTogether(buffers[i], buffers[j]) || !buffers[i].bytes || !buffers[j].bytes)
        continue;
      uint64_t a0 = plan.offsets[i], a1 = a0 + buffers[i].bytes;
      uint64_t b0 = plan.offsets[j], b1 = b0 + buffers[j].bytes;
      if (a0 < b1 && b0 < a1)
        return true;
    }
  return false;
}

} // namespace tessera::compiler
