//===- Flow.cpp - the whole HLS flow for one kernel -------------------------===//
#include "hls/Flow.h"

#include "hw/Verify.h"

#include <chrono>

namespace tessera::hls {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Diagnostic internal(const std::string &phase, Diagnostic d) {
  d.id = "internal-error";
  d.message = "internal error after " + phase + ": " + d.message;
  return d;
}

} // namespace

Expected<KernelBuild> buildKernel(const std::string &file, const FlowOptions &opts) {
  KernelBuild k;
  auto t = std::chrono::steady_clock::now();
  TRY_ASSIGN(k.cdfg, compileKernel(file, opts.frontEnd));
  k.frontEndSeconds = since(t);

  t = std::chrono::steady_clock::now();
  k.loadsForwarded = forwardMemoryValues(k.cdfg);
  k.narrowed = narrowWidths(k.cdfg);
  for (Cdfg &f : k.cdfg.callees) // each shared function's datapath on its own
    narrowWidths(f);
  if (Status st = k.cdfg.verify(); !st.ok())
    return internal("the middle end (forwarding, bitwidth reduction)", st.error());
  k.middleSeconds = since(t);

  t = std::chrono::steady_clock::now();
  TRY_ASSIGN(k.schedule, schedule(k.cdfg, opts.schedule));
  k.scheduleSeconds = since(t);

  t = std::chrono::steady_clock::now();
  TRY_ASSIGN(k.design, buildRtl(k.cdfg, k.schedule, opts.rtl, &k.rtlStats));
  DiagnosticEngine diags;
  if (!hw::verifyDesign(k.design, diags))
    return internal("RTL construction",
                    diags.diagnostics().empty()
                        ? Diagnostic::error("bad-ir", "the generated hw IR does not verify")
                        : diags.diagnostics().front());
  k.rtlSeconds = since(t);
  return k;
}

std::string loopSummary(const LoopTiming &t) {
  if (!t.pipelined)
    return "not pipelined";
  std::string s = "pipelined, II " + std::to_string(t.ii) + " (ResMII " + std::to_string(t.resMII) +
                  ", RecMII " + std::to_string(t.recMII) + "), depth " + std::to_string(t.depth);
  if (t.ii > 1 && !t.limit.description.empty())
    s += "; II limited by " + t.limit.description;
  return s;
}

} // namespace tessera::hls
