//===- Json.h - JSON loading with locations and deterministic writing ------===//
//
// Reports and machine-readable outputs (`--json`) are JSON. Reading goes through
// nlohmann::json; a syntax error becomes a `json-syntax` Diagnostic at file:line:col with
// the offending source line (nlohmann reports a byte offset, converted here).
//
// Writing is deterministic: nlohmann::json keeps keys sorted, nlohmann::ordered_json keeps
// insertion order; numbers are printed locale-independently, doubles as the shortest text
// that reads back to the same value (or rounded to a fixed number of significant digits
// when asked, for golden files that must not depend on the last bit of a computation).
// NaN and infinities are written as `null` (JSON has no spelling for them) and invalid
// UTF-8 in strings is replaced by U+FFFD instead of throwing.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Expected.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tessera {

/// Parse JSON text (strict: no comments, no trailing commas). `json-syntax` on error.
Expected<nlohmann::json> parseJson(std::string_view text, const std::string &fileName = "<string>");
/// As parseJson, keeping object keys in file order.
Expected<nlohmann::ordered_json> parseOrderedJson(std::string_view text,
                                                  const std::string &fileName = "<string>");
/// Read and parse a file; `io-error` when it cannot be read.
Expected<nlohmann::json> loadJsonFile(const std::string &path);

struct JsonWriteOptions {
  /// Spaces per nesting level; negative writes everything on one line.
  int indent = 2;
  /// Round doubles to this many significant digits; 0 keeps the shortest round-trip text.
  int significantDigits = 0;
  /// End the output with a newline.
  bool trailingNewline = true;
};

/// Serialize deterministically (see the file comment). Never throws.
std::string writeJson(const nlohmann::ordered_json &j, const JsonWriteOptions &opts = {});
std::string writeJson(const nlohmann::json &j, const JsonWriteOptions &opts = {});

/// `v` rounded to `digits` significant decimal digits (1..17); NaN/inf unchanged.
double roundSignificant(double v, int digits);

} // namespace tessera
