// buildRtl on schedules from hls::schedule (SDC blocks, modulo-scheduled loops) of the
// hand-built kernels, simulated and compared with hls::evaluate.
#include "RtlTestKernels.h"

#include "hls/Cosim.h"
#include "hls/Rtl.h"

#include <gtest/gtest.h>

using namespace tessera;
using namespace tessera::hls;
using namespace tessera::hls::testk;

namespace {

struct Outcome {
  uint64_t latency = 0;
  uint64_t ii = 0;
  RtlStats stats;
};

Outcome runScheduled(const Cdfg &g, const ScheduleOptions &so, uint32_t vectors = 4) {
  Outcome o;
  auto s = schedule(g, so);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().render());
  if (!s.ok())
    return o;
  auto d = buildRtl(g, *s, {}, &o.stats);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().render()) << "\n" << scheduleReport(g, *s);
  if (!d.ok())
    return o;
  CosimOptions co;
  co.engine = sim::Engine::Interp;
  co.randomVectors = vectors;
  co.native = false;
  auto r = cosimKernel(g, *d, co);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().render());
  if (!r.ok())
    return o;
  EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "") << "\n"
                                   << scheduleReport(g, *s);
  o.latency = r->maxLatency;
  if (!r->loopII.empty())
    o.ii = r->loopII[0];
  return o;
}

} // namespace

TEST(RtlSchedule, SequentialKernelsAtSeveralClocks) {
  for (double clock : {3.0, 5.0, 10.0}) {
    ScheduleOptions so;
    so.clockNs = clock;
    SCOPED_TRACE(clock);
    runScheduled(sumKernel(), so);
    runScheduled(storeKernel(), so);
    runScheduled(mixKernel(), so);
    runScheduled(localRamKernel(), so);
  }
}

TEST(RtlSchedule, ModuloScheduledLoopsReachTheirIi) {
  ScheduleOptions so;
  so.clockNs = 5;
  Cdfg sum = sumKernel();
  sum.loops[0].requestedII = 1;
  Outcome piped = runScheduled(sum, so);
  Cdfg seq = sumKernel();
  Outcome plain = runScheduled(seq, so);
  EXPECT_EQ(piped.ii, 1u);
  EXPECT_LT(piped.latency, plain.latency);

  Cdfg st = storeKernel();
  st.loops[0].requestedII = 1;
  Outcome o = runScheduled(st, so, 6);
  EXPECT_EQ(o.ii, 1u);
  st.loops[0].requestedII = 3;
  o = runScheduled(st, so, 6);
  EXPECT_EQ(o.ii, 3u);
}

TEST(RtlSchedule, LimitedMultipliersShareOneUnit) {
  ScheduleOptions so;
  so.clockNs = 5;
  so.maxMultipliers = 1;
  Outcome o = runScheduled(mixKernel(), so);
  EXPECT_GE(o.stats.sharedUnits, 1u);
}
