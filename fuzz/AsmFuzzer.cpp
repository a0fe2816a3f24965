//===- AsmFuzzer.cpp - fuzz the tile assembler and disassembler --------------===//
//
// Assembles arbitrary text (with and without a tile configuration); errors must be
// located diagnostics in the input with an id, never crashes. A program that assembles
// must verify, encode to 16-byte words that decode to the same instructions, and
// disassemble to text that assembles back to identical words (the round-trip property
// on everything the assembler accepts).
//
//===----------------------------------------------------------------------===//
#include "accel/Assembler.h"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

tessera::accel::TileConfig fuzzTile() {
  using namespace tessera::accel;
  TileConfig c; // the small-test tile (examples/arch/small-test.yaml)
  c.formats = {{ElemFormat::Bf16, 1, true},
               {ElemFormat::E4m3, 1, true},
               {ElemFormat::E5m2, 1, true},
               {ElemFormat::MxE4m3, 1, true},
               {ElemFormat::MxE5m2, 1, true}};
  c.patterns = {{2, 4}};
  c.zeroSkip = c.scaleCast = c.stochastic = true;
  return c;
}

void check(const std::string &text, const tessera::accel::TileConfig *cfg) {
  using namespace tessera;
  auto p = accel::assemble(text, "fuzz.s", cfg);
  if (!p.ok()) {
    const Diagnostic &e = p.error();
    if (e.loc.file != "fuzz.s" || e.loc.line == 0 || e.id.empty())
      std::abort();
    return;
  }
  DiagnosticEngine diags;
  if (!accel::verifyProgram(p->code, cfg, diags, p->locs))
    std::abort();
  std::string bytes = accel::encodeProgram(p->code);
  auto decoded = accel::decodeProgram(bytes, "fuzz.bin");
  if (!decoded.ok() || *decoded != p->code)
    std::abort();
  std::string text2 = accel::disassembleProgram(p->code);
  auto back = accel::assemble(text2, "dis.s");
  if (!back.ok() || accel::encodeProgram(back->code) != bytes)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const tessera::accel::TileConfig tile = fuzzTile();
  std::string text(reinterpret_cast<const char *>(data), size);
  check(text, nullptr);
  check(text, &tile);
  return 0;
}
