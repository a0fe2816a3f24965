//===- VerilogJsonFuzzer.cpp - fuzz the Yosys JSON importer and the emitter ---===//
//
// Imports arbitrary text as a Yosys JSON netlist (top: the module marked `top`, else the
// first one). Errors must be diagnostics with an id, never crashes or exceptions. A
// netlist that imports must give a design the verifier accepts, and that design must emit
// as Verilog.
//
//===----------------------------------------------------------------------===//
#include "hw/Verify.h"
#include "verilog/Verilog.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::string top = "top";
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object() && j.contains("modules") && j["modules"].is_object())
    for (auto it = j["modules"].begin(); it != j["modules"].end(); ++it) {
      if (top == "top")
        top = it.key();
      if (it.value().is_object() && it.value().contains("attributes") &&
          it.value()["attributes"].is_object() && it.value()["attributes"].contains("top")) {
        top = it.key();
        break;
      }
    }
  auto d = tessera::verilog::importYosysJson(text, "fuzz.json", top);
  if (!d.ok()) {
    if (d.error().id.empty())
      std::abort();
    return 0;
  }
  tessera::DiagnosticEngine diags;
  if (!tessera::hw::verifyDesign(*d, diags))
    std::abort();
  if (!tessera::verilog::emitVerilog(*d).ok())
    std::abort();
  return 0;
}
