//===- SimCommand.cpp - `tessera sim` -----------------------------------------===//
//
//   tessera sim FILE.(hw|v|sv) [--top NAME] [--flatten] [--engine compiled|interp]
//               [--cycles N] [--batch N] [--seed N] [--stimulus FILE]
//               [--vcd OUT.vcd [--vcd-scope PATH]... [--vcd-from N] [--vcd-to N]]
//
// Without --stimulus the data inputs are driven by the seeded random stream of
// sim/Stimulus.h (lane l uses seed + l; reset inputs are held active for two cycles) and
// the command prints the build statistics, the cycle rate and the output checksum (the
// checksumMix of every output word, every cycle, sampled before the rising edge). With a
// stimulus file, every line is one cycle; the first expected value that does not match
// is reported with its cycle, signal, expected and actual value (exit 1).
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "hw/Text.h"
#include "hw/Verify.h"
#include "sim/Sim.h"
#include "sim/Stimulus.h"
#include "support/FileIO.h"
#include "verilog/Verilog.h"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <iostream>

namespace tessera::tool {

namespace {

struct SimFlags {
  std::string input;
  std::string top;
  bool flatten = false;
  std::string engine = "compiled";
  uint64_t cycles = 1000;
  uint32_t batch = 1;
  uint64_t seed = 1;
  std::string stimulus;
  std::string vcd;
  std::vector<std::string> vcdScopes;
  uint64_t vcdFrom = 0;
  uint64_t vcdTo = UINT64_MAX;
  std::string cacheDir;
  std::string cxxFlags = sim::SimOptions().cxxFlags;
};

Diagnostic withLine(Diagnostic d) {
  if (d.sourceLine.empty() && d.loc.known() && d.loc.line)
    if (auto text = readTextFile(d.loc.file); text.ok())
      d.sourceLine = sourceLineAt(*text, d.loc.line);
  return d;
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Expected<hw::Design> loadInput(const SimFlags &f) {
  if (endsWith(f.input, ".hw")) {
    TRY_ASSIGN(hw::Design d, hw::loadDesign(f.input));
    return d;
  }
  if (endsWith(f.input, ".v") || endsWith(f.input, ".sv")) {
    if (f.top.empty())
      return Diagnostic::error("bad-argument", "simulating Verilog needs --top NAME");
    verilog::ImportOptions io;
    io.top = f.top;
    io.flatten = f.flatten;
    TRY_ASSIGN(hw::Design d, verilog::importVerilog({f.input}, io));
    return d;
  }
  return Diagnostic::error("bad-argument", "'" + f.input + "' is neither a .hw nor a .v/.sv file");
}

std::string rate(double v) {
  if (v >= 1e6)
    return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3)
    return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

int runStimulusFile(sim::Simulator &s, const SimFlags &f) {
  auto text = readTextFile(f.stimulus);
  if (!text.ok())
    return fail(text.error());
  std::vector<sim::InputDesc> ins, outs;
  for (const sim::PortInfo &p : s.inputs())
    if (!p.isClock)
      ins.push_back({p.name, p.width});
  for (const sim::PortInfo &p : s.outputs())
    outs.push_back({p.name, p.width});
  auto file = sim::parseStimulus(*text, f.stimulus, ins, outs);
  if (!file.ok())
    return fail(file.error());
  std::vector<int> inIdx, outIdx;
  for (const std::string &n : file->inputs)
    inIdx.push_back(s.findInput(n));
  for (const std::string &n : file->expects)
    outIdx.push_back(s.findOutput(n));
  uint64_t checked = 0, h = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t c = 0; c < file->lines.size(); ++c) {
    const sim::StimulusFile::Line &line = file->lines[c];
    for (size_t k = 0; k < inIdx.size(); ++k)
      s.poke(static_cast<uint32_t>(inIdx[k]), line.in[k]);
    for (size_t k = 0; k < outIdx.size() && k < line.expect.size(); ++k) {
      if (!line.expect[k])
        continue;
      ++checked;
      hw::BitVec got = s.peek(static_cast<uint32_t>(outIdx[k]));
      if (got != *line.expect[k]) {
        SourceLoc loc{f.stimulus, line.lineNo, 1};
        return fail(Diagnostic::error("sim-mismatch",
                                      fmt::format("cycle {}: output '{}' expected {}, got {}", c,
                                                  file->expects[k], line.expect[k]->toString(),
                                                  got.toString()),
                                      loc)
                        .withSourceLine(sourceLineAt(*text, line.lineNo)));
      }
    }
    h = s.checksumOutputs(h);
    s.step();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << fmt::format("ran {} cycles from {} in {:.3f} s; {} expected values matched\n",
                           file->lines.size(), f.stimulus, secs, checked);
  std::cout << fmt::format("checksum: 0x{:016x}\n", h);
  return 0;
}

int runRandom(sim::Simulator &s, const SimFlags &f) {
  std::vector<sim::InputDesc> ins;
  std::vector<uint32_t> idx;
  for (uint32_t i = 0; i < s.inputs().size(); ++i)
    if (!s.inputs()[i].isClock) {
      ins.push_back({s.inputs()[i].name, s.inputs()[i].width});
      idx.push_back(i);
    }
  const uint32_t lanes = s.lanes();
  std::vector<sim::RandomStimulus> streams;
  for (uint32_t l = 0; l < lanes; ++l)
    streams.emplace_back(ins, f.seed + l);
  std::vector<uint64_t> h(lanes, 0);
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t c = 0; c < f.cycles; ++c) {
    for (uint32_t l = 0; l < lanes; ++l) {
      const std::vector<uint64_t> &w = streams[l].nextWords();
      for (size_t k = 0; k < idx.size(); ++k)
        s.pokeWords(idx[k], w.data() + streams[l].wordOffset(k), l);
    }
    for (uint32_t l = 0; l < lanes; ++l)
      h[l] = s.checksumOutputs(h[l], l);
    s.step();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cps = secs > 0 ? double(f.cycles) / secs : 0;
  if (lanes == 1)
    std::cout << fmt::format("ran {} cycles in {:.3f} s: {} cycles/s\n", f.cycles, secs, rate(cps));
  else
    std::cout << fmt::format("ran {} cycles x {} lanes in {:.3f} s: {} cycles/s, {} "
                             "lane-cycles/s\n",
                             f.cycles, lanes, secs, rate(cps), rate(cps * lanes));
  for (uint32_t l = 0; l < lanes; ++l) {
    if (lanes == 1)
      std::cout << fmt::format("checksum: 0x{:016x}\n", h[l]);
    else
      std::cout << fmt::format("checksum lane {}: 0x{:016x}\n", l, h[l]);
  }
  return 0;
}

int runSim(const SimFlags &f) {
  if (f.engine != "compiled" && f.engine != "interp")
    return fail(Diagnostic::error("bad-argument",
                                  "--engine is 'compiled' or 'interp', not '" + f.engine + "'"));
  if (f.batch == 0)
    return fail(Diagnostic::error("bad-argument", "--batch must be at least 1"));
  if (!f.stimulus.empty() && f.batch != 1)
    return fail(Diagnostic::error("bad-argument", "--stimulus runs one lane; drop --batch"));
  if (f.vcdFrom > f.vcdTo)
    return fail(Diagnostic::error("bad-argument", "--vcd-from is after --vcd-to"));
  auto design = loadInput(f);
  if (!design.ok())
    return fail(withLine(design.error()));
  DiagnosticEngine diags;
  if (!hw::verifyDesign(*design, diags)) {
    for (const Diagnostic &d : diags.diagnostics())
      std::cerr << withLine(d).render();
    return 1;
  }
  sim::SimOptions o;
  o.engine = f.engine == "interp" ? sim::Engine::Interp : sim::Engine::Compiled;
  o.lanes = f.batch;
  o.cacheDir = f.cacheDir;
  o.cxxFlags = f.cxxFlags;
  o.progress = true;
  std::string top = endsWith(f.input, ".hw") ? f.top : std::string();
  auto sim = sim::Simulator::create(*design, o, top);
  if (!sim.ok())
    return fail(withLine(sim.error()));
  sim::Simulator &s = **sim;
  const sim::BuildStats &st = s.buildStats();
  const hw::Module *topModule = top.empty() ? design->top() : design->find(top);
  std::cout << fmt::format("design: {} ({} inputs, {} outputs), engine: {}, lanes: {}\n",
                           topModule ? topModule->name() : top, s.inputs().size(),
                           s.outputs().size(), f.engine, s.lanes());
  if (o.engine == sim::Engine::Compiled)
    std::cout << fmt::format("build: front end {:.3f} s, C++ compile {:.3f} s ({}), {} "
                             "scheduled ops\n",
                             st.frontEndSeconds, st.compileSeconds,
                             st.cacheHit ? "cache hit" : "cache miss", st.scheduledOps);
  else
    std::cout << fmt::format("build: front end {:.3f} s, {} scheduled ops\n", st.frontEndSeconds,
                             st.scheduledOps);
  if (!f.vcd.empty()) {
    Status v = s.openVcd(f.vcd, f.vcdScopes, f.vcdFrom, f.vcdTo);
    if (!v.ok())
      return fail(v.error());
  }
  int rc = f.stimulus.empty() ? runRandom(s, f) : runStimulusFile(s, f);
  s.closeVcd();
  if (!f.vcd.empty() && rc == 0)
    std::cout << "waveforms: " << f.vcd << "\n";
  return rc;
}

} // namespace

void addSimCommand(CLI::App &app, int &rc) {
  auto f = std::make_shared<SimFlags>();
  CLI::App *cmd =
      app.add_subcommand("sim", "Simulate a design (.hw, or Verilog through Yosys) cycle by cycle");
  cmd->add_option("file", f->input, "FILE.hw, FILE.v or FILE.sv")->required();
  cmd->add_option("--top", f->top, "top module (required for Verilog)");
  cmd->add_flag("--flatten", f->flatten, "Verilog: import the design flattened (Yosys flatten)");
  cmd->add_option("--engine", f->engine, "compiled (default) or interp");
  cmd->add_option("--cycles", f->cycles, "cycles to run with random inputs (default 1000)");
  cmd->add_option("--batch", f->batch, "independent lanes in one model (random inputs)");
  cmd->add_option("--seed", f->seed, "seed of the random inputs (lane l: seed + l)");
  cmd->add_option("--stimulus", f->stimulus, "per-cycle inputs and expected outputs (docs/sim.md)");
  cmd->add_option("--vcd", f->vcd, "write waveforms (lane 0) to this VCD file");
  cmd->add_option("--vcd-scope", f->vcdScopes,
                  "only signals under this hierarchical path (repeatable), e.g. u_pe[3]");
  cmd->add_option("--vcd-from", f->vcdFrom, "first cycle in the VCD");
  cmd->add_option("--vcd-to", f->vcdTo, "cycle after the last one in the VCD");
  cmd->add_option("--cache-dir", f->cacheDir,
                  "compiled model cache (default $TESSERA_CACHE/sim or ~/.cache/tessera/sim)");
  cmd->add_option("--cxx-flags", f->cxxFlags, "C++ optimisation flags for the model (default \"" + sim::SimOptions().cxxFlags + "\")");
  cmd->callback([f, &rc] { rc = runSim(*f); });
}

} // namespace tessera::tool
