//===- YamlFuzzer.cpp - fuzz the located YAML loader ------------------------===//
//
// Parses arbitrary text and walks the tree with the strict typed reader; errors must be
// diagnostics with a location in the input, never crashes.
//
//===----------------------------------------------------------------------===//
#include "support/Yaml.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  auto doc = tessera::parseYaml(text, "fuzz.yaml");
  if (!doc.ok()) {
    if (doc.error().loc.file != "fuzz.yaml")
      std::abort();
    return 0;
  }
  tessera::DiagnosticEngine diags;
  tessera::YamlMap root = tessera::YamlMap::root(*doc, diags);
  int64_t rows = 0;
  double clock = 0;
  std::string name;
  std::vector<int64_t> list;
  (void)root.optional<int64_t>("rows", rows).positive();
  (void)root.optional<double>("clock_ghz", clock);
  (void)root.optional<std::string>("name", name);
  (void)root.optionalSeq<int64_t>("list", list);
  (void)root.finish();
  return 0;
}
