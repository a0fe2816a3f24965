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
  /// Locations in this file are not printed: the positions a parse with
  /// ParseOptions::textLocations gave to ops of the same text (empty: print all).
  std::string omitLocationsIn;
};

struct ParseOptions {
  /// Give every op, port, memory, instance and module written without a loc(...) the
  /// position of its text in the parsed file, so that verifier diagnostics point into it.
  /// Off by default: a round trip through text then keeps unknown locations unknown.
  bool textLocations = false;
};

std::string printDesign(const Design &d, const PrintOptions &opts = {});
/// One module on its own (for messages and debugging): without the design, instance
/// ports print by index (`#2`), so only printDesign output is meant to be parsed back.
std::string printModule(const Module &m, const PrintOptions &opts = {});

/// Parses a whole design. `file` names the input in diagnostics.
Expected<Design> parseDesign(std::string_view text, const std::string &file,
                             const ParseOptions &opts = {});
/// "" when `a` and `b` are structurally identical (same modules, ports, ops with the same
/// ids, attributes, names and locations, memories, instances, top), else a description
/// of the first difference. Round-trip tests use it.
std::string compareDesigns(const Design &a, const Design &b);

/// Reads and parses a .hw file, with text locations on by default (see ParseOptions).
Expected<Design> loadDesign(const std::string &path, const ParseOptions &opts = ParseOptions{true});

} // namespace tessera::hw
