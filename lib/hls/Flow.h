//===- Flow.h - the whole HLS flow for one kernel ---------------------------===//
//
// compileKernel (clang-14 + pass pipeline -> CDFG) -> forwardMemoryValues ->
// narrowWidths -> schedule -> buildRtl -> hw IR verification. What `tessera hls` and the
// suite benchmark (bench/HlsBench.cpp) both run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hls/Analysis.h"
#include "hls/Cdfg.h"
#include "hls/FrontEnd.h"
#include "hls/Rtl.h"
#include "hls/Schedule.h"
#include "hw/IR.h"
#include "support/Expected.h"

#include <string>

namespace tessera::hls {

struct FlowOptions {
  FrontEndOptions frontEnd;
  ScheduleOptions schedule;
  RtlOptions rtl;
};

struct KernelBuild {
  Cdfg cdfg;             ///< after the middle end (what the schedule and the RTL are of)
  Schedule schedule;
  hw::Design design;
  RtlStats rtlStats;
  uint32_t loadsForwarded = 0;
  NarrowStats narrowed;
  /// Wall-clock seconds per phase (not part of any byte-stable output).
  double frontEndSeconds = 0, middleSeconds = 0, scheduleSeconds = 0, rtlSeconds = 0;
  double totalSeconds() const {
    return frontEndSeconds + middleSeconds + scheduleSeconds + rtlSeconds;
  }
};

/// Runs the flow on `file`. Errors are the phases' located diagnostics; a CDFG or hw IR
/// that fails verification after a phase is an internal error (`internal-error`) naming it.
Expected<KernelBuild> buildKernel(const std::string &file, const FlowOptions &opts);

/// Summary of a loop's schedule in one line: "pipelined, II 1 (ResMII 1, RecMII 1), depth
/// 6" or "not pipelined", plus "; II limited by ..." when the II is above 1.
std::string loopSummary(const LoopTiming &t);

} // namespace tessera::hls
