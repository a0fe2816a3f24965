//===- Evaluator.cpp - one candidate design on the training workload -----------===//
#include "explore/Evaluator.h"

#include "perf/AreaModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tessera::explore {

std::string_view objectiveName(Objective o) {
  return o == Objective::Time ? "time" : "perf-per-watt";
}

Expected<Objective> parseObjective(const std::string &s) {
  if (s == "time")
    return Objective::Time;
  if (s == "perf-per-watt")
    return Objective::PerfPerWatt;
  Diagnostic d = Diagnostic::error("bad-value", "unknown --objective '" + s +
                                                    "' (expected time or perf-per-watt)");
  std::string close = closestMatch(s, {"time", "perf-per-watt"});
  if (!close.empty())
    d.withNote(Diagnostic::note("did you mean '" + close + "'?"));
  return d;
}

Expected<TrainingWorkload> TrainingWorkload::build(const perf::EstimateRequest &req) {
  TrainingWorkload w;
  w.request = req;
  TRY_ASSIGN(w.graph, perf::buildTrainingWorkload(req, w.seqLen));
  return w;
}

Expected<perf::TrainingEstimate> TrainingWorkload::estimate(const perf::DeviceModel &dev) const {
  return perf::estimateTraining(dev, graph, request.training, request.parallel, seqLen,
                                request.zoo.dtype);
}

std::string Evaluator::siliconCheck(double areaMm2, double transistors, double *violation) const {
  if (budget_.areaMm2 > 0 && areaMm2 > budget_.areaMm2) {
    if (violation)
      *violation = areaMm2 / budget_.areaMm2 - 1;
    return fmt::format("area {:.1f} mm² exceeds the {:.1f} mm² budget", areaMm2, budget_.areaMm2);
  }
  if (budget_.transistors > 0 && transistors > budget_.transistors) {
    if (violation)
      *violation = transistors / budget_.transistors - 1;
    return fmt::format("{:.2f} B transistors exceed the {:.2f} B budget", transistors / 1e9,
                       budget_.transistors / 1e9);
  }
  return "";
}

Expected<perf::TrainingEstimate>
Evaluator::estimateUnbounded(const arch::ArchSpec &spec,
                             const perf::PrecisionPolicy &policy) const {
  perf::AccelModel dev(spec, policy);
  return w_.estimate(dev);
}

Evaluation Evaluator::evaluate(const arch::ArchSpec &spec0,
                               const perf::PrecisionPolicy &policy) const {
  Evaluation e;
  e.policy = policy.name;
  arch::ArchSpec spec = spec0;
  e.clockGhz = spec.technology.clockGhz;
  e.hbmGBps = spec.hbmBandwidthGBps();
  perf::AreaBreakdown area = perf::estimateArea(spec);
  e.areaMm2 = area.totalMm2;
  e.transistors = area.totalTransistors;

  // Silicon and HBM first: they need no step estimate.
  double violation = 0;
  std::string why = siliconCheck(e.areaMm2, e.transistors, &violation);
  if (why.empty() && budget_.hbmGBps > 0 && e.hbmGBps > budget_.hbmGBps * (1 + 1e-9)) {
    violation = e.hbmGBps / budget_.hbmGBps - 1;
    why = fmt::format("HBM bandwidth {:.0f} GB/s exceeds the {:.0f} GB/s budget", e.hbmGBps,
                      budget_.hbmGBps);
  }
  if (!why.empty()) {
    e.reason = why;
    e.violation = violation;
    return e;
  }

  // Step estimate, clocking down while over the power budget.
  constexpr int kMaxClockSteps = 8;
  for (int step = 0;; ++step) {
    perf::AccelModel dev(spec, policy);
    auto est = w_.estimate(dev);
    if (!est) {
      const Diagnostic &d = est.error();
      e.reason = d.id == "out-of-memory" ? "out of memory: " + d.message : d.headline();
      e.violation = 1; // no measure of how far; ranks behind every measured violation
      return e;
    }
    e.clockGhz = spec.technology.clockGhz;
    e.iterationSeconds = est->iterationSeconds;
    e.powerWatts = est->averagePowerWatts;
    e.samplesPerSecond = est->samplesPerSecond;
    e.perfPerWatt = est->samplesPerSecond / (double(est->devices) * est->averagePowerWatts);
    e.tflopsPerDevice = est->tflopsPerDevice;
    e.memoryBytes = est->memory.total();
    e.memoryCapacity = est->memoryCapacity;
    if (budget_.powerWatts <= 0 || e.powerWatts <= budget_.powerWatts)
      break;
    double staticW = dev.staticPower();
    double clock = spec.technology.clockGhz;
    double next = clock * (budget_.powerWatts - staticW) / (e.powerWatts - staticW);
    next = std::floor(next * 100 * (1 - 1e-9)) / 100; // 10 MHz steps, always down
    if (next >= clock)
      next = clock - 0.01;
    if (staticW >= budget_.powerWatts || next < 0.1 || step == kMaxClockSteps) {
      e.reason = fmt::format(
          "average power {:.0f} W exceeds the {:.0f} W budget{}", e.powerWatts, budget_.powerWatts,
          staticW >= budget_.powerWatts ? fmt::format(" (static power alone is {:.0f} W)", staticW)
                                        : " even clocked down");
      e.violation = e.powerWatts / budget_.powerWatts - 1;
      return e;
    }
    spec.technology.clockGhz = next;
    e.clockedDown = true;
  }
  e.feasible = true;
  e.objective = objective_ == Objective::Time ? e.iterationSeconds : -e.perfPerWatt;
  return e;
}

} // namespace tessera::explore
