//===- FileIO.h - whole-file reads and writes as values --------------------===//
//
// Small helpers so that loaders (YAML, JSON, ONNX, IR text) and report writers handle I/O
// failures the same way: an `io-error` Diagnostic naming the path and the OS reason.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Expected.h"

#include <string>
#include <string_view>

namespace tessera {

/// The whole file as bytes; `io-error` when it cannot be opened or read.
Expected<std::string> readTextFile(const std::string &path);

/// Write `contents` to `path`, replacing it. Writes a temporary file beside it and renames
/// it into place, so readers never see a half-written report. `io-error` on failure.
Status writeTextFile(const std::string &path, std::string_view contents);

} // namespace tessera
