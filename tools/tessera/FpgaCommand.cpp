//===- FpgaCommand.cpp - `tessera fpga` -------------------------------------===//
//
//   tessera fpga FILE.(hw|v)... [--top NAME] --target xilinx|ice40 [--device NAME]
//                [--clock-mhz F] [-o DIR]
//   tessera fpga --arch FILE.yaml --target xilinx|ice40 ...
//
// --arch synthesizes the accelerator tile `tessera generate` builds from the arch spec.
// A .hw design is verified and emitted as Verilog; Verilog files go to Yosys as they are.
// The flow (fpga/Fpga.h) writes its logs, netlists and fpga.json / fpga.html into DIR;
// the summary goes to stdout.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "accel/TileRtl.h"
#include "arch/ArchSpec.h"
#include "fpga/Fpga.h"
#include "hw/Text.h"
#include "hw/Verify.h"
#include "support/FileIO.h"
#include "support/Svg.h"

#include <iostream>

namespace tessera::tool {

namespace {

struct FpgaOptions {
  std::vector<std::string> inputs;
  std::string arch;
  std::string top;
  std::string target;
  std::string device;
  double clockMhz = 12;
  std::string outDir = "fpga-out";
  std::string yosys = "yosys";
  std::string nextpnr = "nextpnr-ice40";
  double timeout = 600;
  uint32_t seed = 1;
};

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int failLocated(Diagnostic d) {
  if (d.sourceLine.empty() && d.loc.known() && d.loc.line)
    if (auto text = readTextFile(d.loc.file); text.ok())
      d.sourceLine = sourceLineAt(*text, d.loc.line);
  return fail(d);
}

void printSummary(const fpga::FlowResult &r, const std::string &outDir) {
  std::cout << "fpga: " << r.top << " on " << fpga::targetName(r.target) << " " << r.device
            << (r.package.empty() ? "" : " (" + r.package + ")") << "\n";
  for (const fpga::ResourceUse &u : r.resources) {
    if (u.used == 0 && u.available == 0)
      continue;
    std::cout << "  " << u.name << ": " << u.used;
    if (u.available)
      std::cout << " / " << u.available << " ("
                << formatFixed(100.0 * double(u.used) / double(u.available), 1) << "%)";
    std::cout << "\n";
  }
  for (const fpga::ClockFmax &c : r.fmax)
    std::cout << "  Fmax " << c.clock << ": " << formatFixed(c.achievedMhz, 2) << " MHz (target "
              << formatFixed(c.constraintMhz, 2) << " MHz)\n";
  for (const std::string &n : r.notes)
    std::cout << "  note: " << n << "\n";
  std::cout << "  report: " << outDir << "/fpga.html, " << outDir << "/fpga.json\n";
}

int runFpga(const FpgaOptions &o) {
  auto target = fpga::targetFromName(o.target);
  if (!target) {
    Diagnostic d = Diagnostic::error("unknown-target", "unknown FPGA target '" + o.target +
                                                           "' (expected xilinx or ice40)");
    if (std::string m = closestMatch(o.target, {"xilinx", "ice40"}); !m.empty())
      d.withNote(Diagnostic::note("did you mean '" + m + "'?"));
    return fail(d);
  }
  fpga::FlowOptions fo;
  fo.target = *target;
  fo.device = o.device;
  fo.clockMhz = o.clockMhz;
  fo.outDir = o.outDir;
  fo.yosys = o.yosys;
  fo.nextpnr = o.nextpnr;
  fo.timeoutSeconds = o.timeout;
  fo.seed = o.seed;

  bool anyHw = false, allHw = true;
  for (const std::string &f : o.inputs) {
    bool hw = endsWith(f, ".hw");
    anyHw |= hw;
    allHw &= hw;
  }
  Expected<fpga::FlowResult> result = Diagnostic::error("bad-argument", "no input");
  if (!o.arch.empty() == !o.inputs.empty())
    return fail(Diagnostic::error("bad-argument", "give design files or --arch FILE (one of them)"));
  if (!o.arch.empty()) {
    auto spec = arch::loadArchSpec(o.arch);
    if (!spec.ok())
      return fail(spec.error());
    accel::TileConfig cfg = accel::TileConfig::fromArchSpec(*spec);
    auto design = accel::rtl::buildTile(cfg, accel::rtl::GenParams::forConfig(cfg));
    if (!design.ok()) {
      Diagnostic d = design.error();
      d.loc = SourceLoc{o.arch, 0, 0};
      return fail(d);
    }
    result = fpga::runFlow(*design, fo);
  } else if (anyHw) {
    if (!allHw || o.inputs.size() != 1)
      return fail(
          Diagnostic::error("bad-argument", "give one .hw design, or Verilog files (not both)"));
    auto design = hw::loadDesign(o.inputs[0]);
    if (!design.ok())
      return failLocated(design.error());
    if (!o.top.empty())
      design->topName = o.top;
    DiagnosticEngine diags;
    if (!hw::verifyDesign(*design, diags)) {
      for (const Diagnostic &d : diags.diagnostics())
        failLocated(d);
      return 1;
    }
    result = fpga::runFlow(*design, fo);
  } else {
    result = fpga::runFlow(o.inputs, o.top, fo);
  }
  if (!result.ok())
    return failLocated(result.error());
  if (Status st = fpga::writeReports(*result, o.outDir); !st.ok())
    return fail(st.error());
  printSummary(*result, o.outDir);
  return 0;
}

} // namespace

void addFpgaCommand(CLI::App &app, int &rc) {
  auto o = std::make_shared<FpgaOptions>();
  CLI::App *cmd = app.add_subcommand(
      "fpga", "Synthesize a design for an FPGA (Yosys; nextpnr for ice40) and report resources "
              "and Fmax");
  cmd->add_option("files", o->inputs, "a .hw design, or Verilog files");
  cmd->add_option("--arch", o->arch, "synthesize the accelerator tile of this arch spec");
  cmd->add_option("--top", o->top, "the top module (required for Verilog)");
  cmd->add_option("--target", o->target, "xilinx or ice40")->required();
  cmd->add_option("--device", o->device,
                  "device (xilinx: xc7a35t, xc7a100t, xc7a200t; ice40: hx1k, up5k, hx8k); "
                  "default: the smallest that fits");
  cmd->add_option("--clock-mhz", o->clockMhz, "target clock frequency for place-and-route (MHz)");
  cmd->add_option("-o,--output", o->outDir, "output directory (logs, netlists, reports)");
  cmd->add_option("--yosys", o->yosys, "the Yosys executable");
  cmd->add_option("--nextpnr", o->nextpnr, "the nextpnr-ice40 executable");
  cmd->add_option("--timeout", o->timeout, "seconds per tool run (0 = none)");
  cmd->add_option("--seed", o->seed, "nextpnr placement seed");
  cmd->callback([o, &rc] { rc = runFpga(*o); });
}

} // namespace tessera::tool
