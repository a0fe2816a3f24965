//===- Sim.cpp - Simulator::create and the engine-independent API ---------===//
#include "sim/Sim.h"

#include "hw/Verify.h"
#include "sim/Model.h"

#include <chrono>

namespace tessera::sim {

int Simulator::findInput(std::string_view name) const {
  const auto &in = inputs();
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].name == name)
      return static_cast<int>(i);
  return -1;
}

int Simulator::findOutput(std::string_view name) const {
  const auto &out = outputs();
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].name == name)
      return static_cast<int>(i);
  return -1;
}

uint64_t Simulator::runUntil(const std::function<bool()> &done, uint64_t maxCycles) {
  uint64_t n = 0;
  while (n < maxCycles && !done()) {
    step(1);
    ++n;
  }
  return n;
}

Expected<std::unique_ptr<Simulator>> Simulator::create(const hw::Design &d, const SimOptions &opts,
                                                       const std::string &top) {
  auto t0 = std::chrono::steady_clock::now();
  DiagnosticEngine diags;
  if (!hw::verifyDesign(d, diags)) {
    for (const Diagnostic &dg : diags.diagnostics())
      if (dg.severity == Severity::Error)
        return dg;
  }
  TRY_ASSIGN(detail::Program prog, detail::buildProgram(d, top, opts.lanes));
  BuildStats stats;
  stats.scheduledOps = prog.scheduledOps;
  if (opts.engine == Engine::Interp) {
    stats.frontEndSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::unique_ptr<Simulator>(detail::makeInterpreter(std::move(prog), stats));
  }
  stats.frontEndSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  TRY_ASSIGN(auto sim, detail::makeCompiled(std::move(prog), stats, opts));
  return std::unique_ptr<Simulator>(std::move(sim));
}

} // namespace tessera::sim
