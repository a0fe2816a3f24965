//===- Diagnostics.h - located, id-tagged diagnostics --------------------===//
//
// Every user-facing error in Tessera is a Diagnostic: a severity, a stable kebab-case id
// (`unknown-key`, `width-mismatch`), a message and a source location. Rendered as
//
//   file:line:col: error[id]: message
//     <source line>
//     ^
//
// Library code returns diagnostics (through Expected<T>) or collects them in a
// DiagnosticEngine; only tools/ prints them and picks exit codes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

/// A position in a user's file. line/col are 1-based; 0 means "unknown".
struct SourceLoc {
  std::string file;
  uint32_t line = 0;
  uint32_t col = 0;

  bool known() const { return !file.empty(); }
  /// "file:line:col", "file:line", "file" or "" depending on what is known.
  std::string str() const;
};

enum class Severity : uint8_t { Error, Warning, Note };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string id;      ///< stable kebab-case id, e.g. "unknown-key"
  std::string message; ///< one line, no trailing period
  SourceLoc loc;
  std::string sourceLine;        ///< the text of loc.line, shown with a caret when set
  std::vector<Diagnostic> notes; ///< attached notes ("did you mean", "defined here")

  static Diagnostic error(std::string id, std::string message, SourceLoc loc = {});
  static Diagnostic warning(std::string id, std::string message, SourceLoc loc = {});
  static Diagnostic note(std::string message, SourceLoc loc = {});

  Diagnostic &withSourceLine(std::string line) {
    sourceLine = std::move(line);
    return *this;
  }
  Diagnostic &withNote(Diagnostic n) {
    notes.push_back(std::move(n));
    return *this;
  }

  /// First line only: "file:line:col: error[id]: message".
  std::string headline() const;
  /// Full rendering with source line, caret and notes.
  std::string render() const;
};

std::ostream &operator<<(std::ostream &os, const Diagnostic &d);

/// Collects diagnostics from a pass over a whole input so that several errors can be
/// reported at once. Deterministic: kept in report order.
class DiagnosticEngine {
public:
  void report(Diagnostic d) { diags_.push_back(std::move(d)); }
  bool hasErrors() const;
  size_t errorCount() const;
  const std::vector<Diagnostic> &diagnostics() const { return diags_; }
  void clear() { diags_.clear(); }
  void print(std::ostream &os) const;

private:
  std::vector<Diagnostic> diags_;
};

/// The 1-based line and column of byte `offset` in `text` (an offset at or past the end
/// points just after the last character). Columns count bytes.
SourceLoc locateOffset(std::string_view text, size_t offset, std::string file);
/// Text of 1-based `line` of `text` without its line terminator; "" when out of range.
std::string sourceLineAt(std::string_view text, uint32_t line);

/// Edit distance used for "did you mean" hints.
size_t editDistance(const std::string &a, const std::string &b);
/// The candidate closest to `word` if it is close enough to be a plausible typo, else "".
std::string closestMatch(const std::string &word, const std::vector<std::string> &candidates);

} // namespace tessera
