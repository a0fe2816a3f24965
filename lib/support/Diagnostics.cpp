#include "support/Diagnostics.h"

#include <algorithm>
#include <sstream>

namespace tessera {

std::string SourceLoc::str() const {
  if (file.empty())
    return "";
  std::string s = file;
  if (line) {
    s += ":" + std::to_string(line);
    if (col)
      s += ":" + std::to_string(col);
  }
  return s;
}

static Diagnostic make(Severity sev, std::string id, std::string message, SourceLoc loc) {
  Diagnostic d;
  d.severity = sev;
  d.id = std::move(id);
  d.message = std::move(message);
  d.loc = std::move(loc);
  return d;
}

Diagnostic Diagnostic::error(std::string id, std::string message, SourceLoc loc) {
  return make(Severity::Error, std::move(id), std::move(message), std::move(loc));
}
Diagnostic Diagnostic::warning(std::string id, std::string message, SourceLoc loc) {
  return make(Severity::Warning, std::move(id), std::move(message), std::move(loc));
}
Diagnostic Diagnostic::note(std::string message, SourceLoc loc) {
  return make(Severity::Note, "", std::move(message), std::move(loc));
}

static const char *severityName(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

std::string Diagnostic::headline() const {
  std::string s;
  std::string where = loc.str();
  if (!where.empty())
    s += where + ": ";
  s += severityName(severity);
  if (!id.empty())
    s += "[" + id + "]";
  s += ": " + message;
  return s;
}

std::string Diagnostic::render() const {
  std::ostringstream os;
  os << headline() << "\n";
  if (!sourceLine.empty()) {
    os << "  " << sourceLine << "\n";
    if (loc.col > 0) {
      std::string pad;
      for (uint32_t i = 1; i < loc.col && i - 1 < sourceLine.size(); ++i)
        pad += sourceLine[i - 1] == '\t' ? '\t' : ' ';
      os << "  " << pad << "^\n";
    }
  }
  for (const Diagnostic &n : notes)
    os << n.render();
  return os.str();
}

std::ostream &operator<<(std::ostream &os, const Diagnostic &d) { return os << d.render(); }

bool DiagnosticEngine::hasErrors() const { return errorCount() > 0; }

size_t DiagnosticEngine::errorCount() const {
  return std::count_if(diags_.begin(), diags_.end(),
                       [](const Diagnostic &d) { return d.severity == Severity::Error; });
}

void DiagnosticEngine::print(std::ostream &os) const {
  for (const Diagnostic &d : diags_)
    os << d.render();
}

SourceLoc locateOffset(std::string_view text, size_t offset, std::string file) {
  SourceLoc loc;
  loc.file = std::move(file);
  if (offset > text.size())
    offset = text.size();
  // At the end of the text, point just after its last visible character.
  if (offset == text.size())
    while (offset > 0 && (text[offset - 1] == '\n' || text[offset - 1] == '\r'))
      --offset;
  uint32_t line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  }
  loc.line = line;
  loc.col = uint32_t(offset - lineStart + 1);
  return loc;
}

std::string sourceLineAt(std::string_view text, uint32_t line) {
  if (line == 0)
    return "";
  size_t start = 0;
  for (uint32_t l = 1; l < line; ++l) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos)
      return "";
    start = nl + 1;
  }
  size_t end = text.find('\n', start);
  std::string_view s = text.substr(start, end == std::string_view::npos ? end : end - start);
  if (!s.empty() && s.back() == '\r')
    s.remove_suffix(1);
  return std::string(s);
}

size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closestMatch(const std::string &word, const std::vector<std::string> &candidates) {
  std::string best;
  size_t bestDist = SIZE_MAX;
  for (const std::string &c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  // Accept up to a third of the word's length (at least 1, at most 3) as a typo.
  size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  return bestDist <= limit ? best : "";
}

} // namespace tessera
