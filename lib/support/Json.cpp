//===- Json.cpp - JSON loading with locations and deterministic writing ----===//
#include "support/Json.h"

#include "support/FileIO.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tessera {

namespace {

/// nlohmann's what() is "[json.exception.parse_error.101] parse error at line 3, column 8:
/// syntax error while parsing value - unexpected ','; ..."; keep the part after the
/// position, since the location is rendered by the Diagnostic.
std::string stripJsonPrefix(const std::string &what) {
  size_t p = what.find("parse error");
  if (p != std::string::npos) {
    size_t colon = what.find(": ", p);
    if (colon != std::string::npos)
      return what.substr(colon + 2);
  }
  return what;
}

template <typename Json>
Expected<Json> parseImpl(std::string_view text, const std::string &fileName) {
  try {
    return Json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const nlohmann::json::parse_error &e) {
    // e.byte counts the characters read, including the offending one.
    size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    SourceLoc loc = locateOffset(text, offset, fileName);
    Diagnostic d = Diagnostic::error("json-syntax", stripJsonPrefix(e.what()), loc);
    d.withSourceLine(sourceLineAt(text, loc.line));
    return d;
  } catch (const std::exception &e) {
    SourceLoc loc;
    loc.file = fileName;
    return Diagnostic::error("json-syntax", e.what(), loc);
  }
}

template <typename Json> void roundFloats(Json &j, int digits) {
  if (j.is_number_float()) {
    j = roundSignificant(j.template get<double>(), digits);
  } else if (j.is_array() || j.is_object()) {
    for (auto &child : j)
      roundFloats(child, digits);
  }
}

template <typename Json> std::string writeImpl(const Json &j, const JsonWriteOptions &opts) {
  std::string out;
  if (opts.significantDigits > 0) {
    Json copy = j;
    roundFloats(copy, opts.significantDigits);
    out = copy.dump(opts.indent, ' ', /*ensure_ascii=*/false,
                    nlohmann::json::error_handler_t::replace);
  } else {
    out =
        j.dump(opts.indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
  }
  if (opts.trailingNewline)
    out += '\n';
  return out;
}

} // namespace

Expected<nlohmann::json> parseJson(std::string_view text, const std::string &fileName) {
  return parseImpl<nlohmann::json>(text, fileName);
}

Expected<nlohmann::ordered_json> parseOrderedJson(std::string_view text,
                                                  const std::string &fileName) {
  return parseImpl<nlohmann::ordered_json>(text, fileName);
}

Expected<nlohmann::json> loadJsonFile(const std::string &path) {
  TRY_ASSIGN(std::string text, readTextFile(path));
  return parseJson(text, path);
}

std::string writeJson(const nlohmann::ordered_json &j, const JsonWriteOptions &opts) {
  return writeImpl(j, opts);
}

std::string writeJson(const nlohmann::json &j, const JsonWriteOptions &opts) {
  return writeImpl(j, opts);
}

double roundSignificant(double v, int digits) {
  if (!std::isfinite(v) || v == 0.0)
    return v;
  digits = std::clamp(digits, 1, 17);
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, digits - 1);
  double r = v;
  std::from_chars(buf, res.ptr, r);
  return r;
}

} // namespace tessera
