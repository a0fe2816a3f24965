//===- Text.h - hw IR text form: printer and parser -----------------------===//
//
// The text form prints and parses back to the same text (round trip). Its grammar is in
// docs/hw-ir.md. Parse errors are located diagnostics (file:line:col) with stable ids.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"
#include "support/Expected.h"

#include <string>
#include <string_view>

namespace tessera::hw {

struct PrintOptions {
  bool locations = true; ///< print loc(...) suffixes
};

std::string printDesign(const Design &d, const PrintOptions &opts = {});
std::string printModule(const Module &m, const PrintOptions &opts = {});

/// Parses a whole design. `file` names the input in diagnostics.
Expected<Design> parseDesign(std::string_view text, const std::string &file);
/// Reads and parses a .hw file.
Expected<Design> loadDesign(const std::string &path);

} // namespace tessera::hw
