//===- HwCommand.cpp - `tessera hw print|verify|opt` ----------------------------===//
//
// Reads a .hw file (positions in it become the locations of ops written without loc(...)
// so that verifier errors point into the file), and prints, verifies or optimizes it.
// Printed output leaves those file positions out, so `hw print` of a printed file gives
// the same text.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "hw/Passes.h"
#include "hw/Text.h"
#include "hw/Verify.h"
#include "support/FileIO.h"

#include <functional>
#include <iostream>

namespace tessera::tool {

namespace {

struct HwOptions {
  std::string input;
  std::string output;
  bool noLocs = false;
  bool noVerify = false;
  std::vector<std::string> passes;
};

/// Prints diagnostics, adding the source line for those located in `text`.
void printDiagnostics(const DiagnosticEngine &diags, const std::string &path,
                      const std::string &text) {
  std::function<void(Diagnostic &)> addLines = [&](Diagnostic &d) {
    if (d.sourceLine.empty() && d.loc.file == path && d.loc.line)
      d.sourceLine = sourceLineAt(text, d.loc.line);
    for (Diagnostic &n : d.notes)
      addLines(n);
  };
  for (Diagnostic d : diags.diagnostics()) {
    addLines(d);
    std::cerr << d.render();
  }
}

size_t countOps(const hw::Design &d) {
  size_t n = 0;
  for (const auto &m : d.modules())
    n += m->ops.size();
  return n;
}

int runHw(const std::string &action, const HwOptions &o) {
  auto text = readTextFile(o.input);
  if (!text.ok())
    return fail(text.error());
  auto design = hw::parseDesign(*text, o.input, hw::ParseOptions{true});
  if (!design.ok())
    return fail(design.error());
  hw::PrintOptions print;
  print.locations = !o.noLocs;
  print.omitLocationsIn = o.input;
  DiagnosticEngine diags;

  if (action == "verify") {
    if (!hw::verifyDesign(*design, diags)) {
      printDiagnostics(diags, o.input, *text);
      std::cerr << o.input << ": " << diags.errorCount() << " error"
                << (diags.errorCount() == 1 ? "" : "s") << "\n";
      return 1;
    }
    std::cout << o.input << ": ok (" << design->modules().size() << " modules, "
              << countOps(*design) << " ops)\n";
    return 0;
  }

  if (action == "opt") {
    hw::PassManager pm(!o.noVerify);
    if (o.passes.empty()) {
      pm.addDefaultPipeline();
    } else {
      for (const std::string &name : o.passes) {
        if (name == "const-fold")
          pm.add({name, hw::foldConstants});
        else if (name == "cse")
          pm.add({name, hw::eliminateCommonSubexpressions});
        else if (name == "dce")
          pm.add({name, hw::eliminateDeadCode});
        else {
          Diagnostic e = Diagnostic::error("bad-value", "unknown pass '" + name + "'");
          std::string guess = closestMatch(name, {"const-fold", "cse", "dce"});
          if (!guess.empty())
            e.withNote(Diagnostic::note("did you mean '" + guess + "'?"));
          return fail(e);
        }
      }
    }
    size_t before = countOps(*design);
    if (!pm.run(*design, diags)) {
      printDiagnostics(diags, o.input, *text);
      return 1;
    }
    std::cerr << "hw opt: " << before << " -> " << countOps(*design) << " ops\n";
  } else if (!o.noVerify && !hw::verifyDesign(*design, diags)) {
    printDiagnostics(diags, o.input, *text);
    return 1;
  }

  std::string out = hw::printDesign(*design, print);
  if (o.output.empty() || o.output == "-") {
    std::cout << out;
    return 0;
  }
  Status st = writeTextFile(o.output, out);
  if (!st.ok())
    return fail(st.error());
  return 0;
}

} // namespace

void addHwCommand(CLI::App &app, int &rc) {
  auto opts = std::make_shared<HwOptions>();
  CLI::App *cmd = app.add_subcommand("hw", "Print, verify or optimize hw IR text (.hw files)");
  cmd->require_subcommand(1);
  auto addCommon = [&](CLI::App *sub) {
    sub->add_option("file", opts->input, "the .hw file")->required();
  };

  CLI::App *print = cmd->add_subcommand("print", "Parse, verify and print a design");
  addCommon(print);
  print->add_option("-o,--output", opts->output, "write the text here (default: stdout)");
  print->add_flag("--no-locs", opts->noLocs, "leave out loc(...) annotations");
  print->add_flag("--no-verify", opts->noVerify, "print without running the verifier");
  print->callback([opts, &rc] { rc = runHw("print", *opts); });

  CLI::App *verify = cmd->add_subcommand("verify", "Check a design (exit 1 on any error)");
  addCommon(verify);
  verify->callback([opts, &rc] { rc = runHw("verify", *opts); });

  CLI::App *opt = cmd->add_subcommand(
      "opt", "Optimize a design (const-fold, cse, dce to a fixed point, verified after each)");
  addCommon(opt);
  opt->add_option("-o,--output", opts->output, "write the result here (default: stdout)");
  opt->add_option("--passes", opts->passes, "passes to run, in order (const-fold, cse, dce)")
      ->delimiter(',');
  opt->add_flag("--no-locs", opts->noLocs, "leave out loc(...) annotations");
  opt->add_flag("--no-verify", opts->noVerify, "do not verify between passes");
  opt->callback([opts, &rc] { rc = runHw("opt", *opts); });
}

} // namespace tessera::tool
