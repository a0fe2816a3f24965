//===- Commands.h - tessera subcommands --------------------------------------===//
//
// Each subcommand lives in its own file and registers itself on the root CLI11 app. A
// subcommand's callback stores its exit code in `rc`; library errors are printed as
// diagnostics on stderr with exit code 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Diagnostics.h"

#include <CLI/CLI.hpp>

namespace tessera::tool {

void addEstimateCommand(CLI::App &app, int &rc);
void addWorkloadCommand(CLI::App &app, int &rc);
void addValidateCommand(CLI::App &app, int &rc);
void addExploreCommand(CLI::App &app, int &rc);
void addHwCommand(CLI::App &app, int &rc);
void addVerilogCommand(CLI::App &app, int &rc);
void addSimCommand(CLI::App &app, int &rc);
void addFpgaCommand(CLI::App &app, int &rc);
void addAsmCommand(CLI::App &app, int &rc);
void addGenerateCommand(CLI::App &app, int &rc);
void addCosimCommand(CLI::App &app, int &rc);
void addHlsCommand(CLI::App &app, int &rc);
void addCompileCommand(CLI::App &app, int &rc);
void addRunCommand(CLI::App &app, int &rc);
void addTrainCommand(CLI::App &app, int &rc);

/// Prints a diagnostic to stderr and returns the exit code for a failed command (1).
int fail(const Diagnostic &d);

} // namespace tessera::tool
