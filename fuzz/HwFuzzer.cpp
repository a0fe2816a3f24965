//===- HwFuzzer.cpp - fuzz the hw IR text parser and the verifier -----------===//
//
// Parses arbitrary text; errors must be located diagnostics in the input, never crashes.
// A design that parses is verified, printed, and the printed text must parse back and
// print to the same bytes (the round-trip property on everything the parser accepts). A
// design that verifies (and is not too wide to fold quickly) goes through the default
// pass pipeline, which must keep it valid.
//
//===----------------------------------------------------------------------===//
#include "hw/Passes.h"
#include "hw/Text.h"
#include "hw/Verify.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  auto d = tessera::hw::parseDesign(text, "fuzz.hw", tessera::hw::ParseOptions{true});
  if (!d.ok()) {
    const tessera::Diagnostic &e = d.error();
    if (e.loc.file != "fuzz.hw" || e.loc.line == 0 || e.id.empty())
      std::abort();
    return 0;
  }
  tessera::DiagnosticEngine diags;
  bool ok = tessera::hw::verifyDesign(*d, diags);
  if (!ok && diags.diagnostics().empty())
    std::abort();
  uint64_t bits = 0;
  if (ok)
    for (const auto &m : d->modules()) {
      (void)tessera::hw::combinationalPortDeps(*m, *d);
      for (const auto &op : m->ops)
        bits += op.width;
    }
  std::string printed = tessera::hw::printDesign(*d);
  auto back = tessera::hw::parseDesign(printed, "printed.hw");
  if (!back.ok() || tessera::hw::printDesign(*back) != printed)
    std::abort();
  if (ok && bits <= 100000) {
    tessera::hw::PassManager pm;
    pm.addDefaultPipeline();
    tessera::DiagnosticEngine passDiags;
    if (!pm.run(*back, passDiags))
      std::abort();
  }
  return 0;
}
