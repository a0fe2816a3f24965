//===- FileIO.cpp - whole-file reads and writes as values ------------------===//
#include "support/FileIO.h"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

namespace tessera {

static std::string osReason() { return std::error_code(errno, std::generic_category()).message(); }

Expected<std::string> readTextFile(const std::string &path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Diagnostic::error("io-error", "cannot open '" + path + "': " + osReason());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    return Diagnostic::error("io-error", "cannot read '" + path + "': " + osReason());
  return ss.str();
}

Status writeTextFile(const std::string &path, std::string_view contents) {
  std::string tmp = path + ".tmp";
  {
    errno = 0;
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return Diagnostic::error("io-error", "cannot create '" + tmp + "': " + osReason());
    out.write(contents.data(), std::streamsize(contents.size()));
    out.flush();
    if (!out) {
      std::string reason = osReason();
      std::remove(tmp.c_str());
      return Diagnostic::error("io-error", "cannot write '" + tmp + "': " + reason);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string reason = osReason();
    std::remove(tmp.c_str());
    return Diagnostic::error("io-error",
                             "cannot rename '" + tmp + "' to '" + path + "': " + reason);
  }
  return Status::success();
}

} // namespace tessera
