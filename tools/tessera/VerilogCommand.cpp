//===- VerilogCommand.cpp - `tessera verilog` -------------------------------===//
//
//   tessera verilog FILE.hw [-o OUT.v]                 hw IR -> Verilog-2005
//   tessera verilog --import FILE.v... --top NAME [--flatten] [-o OUT.hw]
//                                                       Verilog -> hw IR through Yosys
//
// Both directions verify the design (the input .hw before emitting, the imported design
// before writing it), so that a bad design is reported against its source.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "hw/Text.h"
#include "hw/Verify.h"
#include "support/FileIO.h"
#include "verilog/Verilog.h"

#include <functional>
#include <iostream>

namespace tessera::tool {

namespace {

struct VerilogOptions {
  std::vector<std::string> inputs;
  std::string output;
  bool import = false;
  std::string top;
  bool flatten = false;
  bool noLocs = false;
  std::string yosys = "yosys";
  std::vector<std::string> defines;
  std::vector<std::string> includeDirs;
};

/// Prints every diagnostic, with the source line when it is in a file we can read.
void printAll(const DiagnosticEngine &diags) {
  std::function<void(Diagnostic &)> addLines = [&](Diagnostic &d) {
    if (d.sourceLine.empty() && d.loc.known() && d.loc.line)
      if (auto text = readTextFile(d.loc.file); text.ok())
        d.sourceLine = sourceLineAt(*text, d.loc.line);
    for (Diagnostic &n : d.notes)
      addLines(n);
  };
  for (Diagnostic d : diags.diagnostics()) {
    addLines(d);
    std::cerr << d.render();
  }
}

int failWithLine(Diagnostic d) {
  if (d.sourceLine.empty() && d.loc.known() && d.loc.line)
    if (auto text = readTextFile(d.loc.file); text.ok())
      d.sourceLine = sourceLineAt(*text, d.loc.line);
  return fail(d);
}

int writeOutput(const std::string &path, const std::string &text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return 0;
  }
  Status st = writeTextFile(path, text);
  return st.ok() ? 0 : fail(st.error());
}

int runEmit(const VerilogOptions &o) {
  if (o.inputs.size() != 1)
    return fail(Diagnostic::error("bad-argument",
                                  "emitting Verilog takes one .hw file (use --import to read "
                                  "Verilog)"));
  if (!o.top.empty() || o.flatten)
    return fail(Diagnostic::error("bad-argument", "--top and --flatten go with --import"));
  auto design = hw::loadDesign(o.inputs[0]);
  if (!design.ok())
    return failWithLine(design.error());
  DiagnosticEngine diags;
  if (!hw::verifyDesign(*design, diags)) {
    printAll(diags);
    return 1;
  }
  auto text = verilog::emitVerilog(*design);
  if (!text.ok())
    return failWithLine(text.error());
  return writeOutput(o.output, *text);
}

int runImport(const VerilogOptions &o) {
  verilog::ImportOptions io;
  io.top = o.top;
  io.flatten = o.flatten;
  io.yosys = o.yosys;
  io.defines = o.defines;
  io.includeDirs = o.includeDirs;
  auto design = verilog::importVerilog(o.inputs, io);
  if (!design.ok())
    return failWithLine(design.error());
  DiagnosticEngine diags;
  if (!hw::verifyDesign(*design, diags)) {
    printAll(diags);
    return 1;
  }
  hw::PrintOptions print;
  print.locations = !o.noLocs;
  return writeOutput(o.output, hw::printDesign(*design, print));
}

} // namespace

void addVerilogCommand(CLI::App &app, int &rc) {
  auto o = std::make_shared<VerilogOptions>();
  CLI::App *cmd = app.add_subcommand(
      "verilog", "Write a .hw design as Verilog-2005, or import Verilog (--import) through Yosys");
  cmd->add_option("files", o->inputs, "a .hw file, or with --import the Verilog files")->required();
  cmd->add_option("-o,--output", o->output, "write the result here (default: stdout)");
  cmd->add_flag("--import", o->import, "read Verilog (through Yosys) and write hw IR text");
  cmd->add_option("--top", o->top, "the top module (with --import)");
  cmd->add_flag("--flatten", o->flatten, "flatten the hierarchy into one module (with --import)");
  cmd->add_flag("--no-locs", o->noLocs, "leave out loc(...) annotations (with --import)");
  cmd->add_option("--yosys", o->yosys, "the Yosys executable (with --import)");
  cmd->add_option("-D,--define", o->defines, "NAME[=VALUE] Verilog define (with --import)");
  cmd->add_option("-I,--include", o->includeDirs, "Verilog include directory (with --import)");
  cmd->callback([o, &rc] { rc = o->import ? runImport(*o) : runEmit(*o); });
}

} // namespace tessera::tool
