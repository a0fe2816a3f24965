//===- main.cpp - the tessera command-line tool ------------------------------===//
//
// Thin by design: flag parsing and dispatch only; every pipeline is library code.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include <iostream>

namespace tessera::tool {
int fail(const Diagnostic &d) {
  std::cerr << d.render();
  return 1;
}
} // namespace tessera::tool

int main(int argc, char **argv) {
  CLI::App app{"tessera: an EDA toolchain for AI training accelerators", "tessera"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tessera 0.1.0");
  int rc = 0;
  tessera::tool::addEstimateCommand(app, rc);
  tessera::tool::addWorkloadCommand(app, rc);
  tessera::tool::addValidateCommand(app, rc);
  tessera::tool::addExploreCommand(app, rc);
  tessera::tool::addHwCommand(app, rc);
  tessera::tool::addVerilogCommand(app, rc);
  tessera::tool::addSimCommand(app, rc);
  tessera::tool::addFpgaCommand(app, rc);
  tessera::tool::addAsmCommand(app, rc);
  tessera::tool::addGenerateCommand(app, rc);
  tessera::tool::addCosimCommand(app, rc);
  tessera::tool::addHlsCommand(app, rc);
  tessera::tool::addCompileCommand(app, rc);
  tessera::tool::addRunCommand(app, rc);
  tessera::tool::addTrainCommand(app, rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  return rc;
}
