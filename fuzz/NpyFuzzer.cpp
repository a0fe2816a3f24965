//===- NpyFuzzer.cpp - fuzz the .npy / .npz readers ------------------------===//
//
// Any byte string must give arrays or a diagnostic naming the input; never a crash, a
// hang or a sanitizer report. Parsed arrays must convert (or refuse to convert) cleanly
// and serialize back to bytes that parse to the same arrays.
//
//===----------------------------------------------------------------------===//
#include "support/Npy.h"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void checkArray(const tessera::NpyArray &a) {
  (void)tessera::npyToFloats(a, "fuzz");
  auto bytes = tessera::serializeNpy(a);
  if (!bytes.ok())
    std::abort(); // a parsed array must be writable
  auto back = tessera::parseNpy(*bytes, "again.npy");
  if (!back.ok() || back->shape != a.shape || back->data != a.data)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  auto npy = tessera::parseNpy(bytes, "fuzz.npy");
  if (npy.ok())
    checkArray(*npy);
  else if (npy.error().headline().find("fuzz.npy") == std::string::npos)
    std::abort();
  auto npz = tessera::parseNpz(bytes, "fuzz.npz");
  if (npz.ok()) {
    for (const auto &[key, a] : *npz)
      checkArray(a);
  } else if (npz.error().headline().find("fuzz.npz") == std::string::npos) {
    std::abort();
  }
  return 0;
}
