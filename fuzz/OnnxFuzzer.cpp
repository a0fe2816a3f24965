//===- OnnxFuzzer.cpp - fuzz the ONNX importer -----------------------------===//
//
// Any byte string must give a graph that verifies or a diagnostic naming the input;
// never a crash, a hang or a sanitizer report.
//
//===----------------------------------------------------------------------===//
#include "workload/Onnx.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  auto g = tessera::workload::importOnnxBytes(bytes, "fuzz.onnx");
  if (g.ok() && !g->verify().ok())
    std::abort(); // the importer returned a graph that does not verify
  if (!g.ok() && g.error().headline().find("fuzz.onnx") == std::string::npos)
    std::abort(); // an error that does not name the input
  return 0;
}
