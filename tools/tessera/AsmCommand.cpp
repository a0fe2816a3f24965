//===- AsmCommand.cpp - `tessera asm` and `tessera disasm` ----------------------===//
//
// asm: assemble a tile program (docs/isa.md) into 16-byte instruction words, verified
// against the tile of an arch spec when --arch is given. disasm: print the canonical text
// of a binary, which assembles back to the same words.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "accel/Assembler.h"
#include "arch/ArchSpec.h"
#include "support/FileIO.h"

#include <iostream>

namespace tessera::tool {

namespace {

struct AsmOptions {
  std::string input;
  std::string output;
  std::string arch;
};

int runAsm(const AsmOptions &o) {
  std::optional<accel::TileConfig> cfg;
  if (!o.arch.empty()) {
    auto spec = arch::loadArchSpec(o.arch);
    if (!spec.ok())
      return fail(spec.error());
    cfg = accel::TileConfig::fromArchSpec(*spec);
  }
  auto text = readTextFile(o.input);
  if (!text.ok())
    return fail(text.error());
  DiagnosticEngine diags;
  auto prog = accel::assemble(*text, o.input, cfg ? &*cfg : nullptr, &diags);
  if (!prog.ok()) {
    diags.print(std::cerr);
    std::cerr << o.input << ": " << diags.errorCount() << " error"
              << (diags.errorCount() == 1 ? "" : "s") << "\n";
    return 1;
  }
  std::string out = o.output.empty() ? o.input + ".bin" : o.output;
  Status st = writeTextFile(out, accel::encodeProgram(prog->code));
  if (!st.ok())
    return fail(st.error());
  std::cerr << o.input << ": " << prog->code.size() << " instructions, "
            << prog->code.size() * accel::kWordBytes << " bytes -> " << out << "\n";
  return 0;
}

int runDisasm(const AsmOptions &o) {
  auto bytes = readTextFile(o.input);
  if (!bytes.ok())
    return fail(bytes.error());
  auto prog = accel::decodeProgram(*bytes, o.input);
  if (!prog.ok())
    return fail(prog.error());
  DiagnosticEngine diags;
  if (!accel::verifyProgram(*prog, nullptr, diags, {}, o.input)) {
    diags.print(std::cerr);
    return 1;
  }
  std::string text = accel::disassembleProgram(*prog);
  if (o.output.empty() || o.output == "-") {
    std::cout << text;
    return 0;
  }
  Status st = writeTextFile(o.output, text);
  return st.ok() ? 0 : fail(st.error());
}

} // namespace

void addAsmCommand(CLI::App &app, int &rc) {
  auto opts = std::make_shared<AsmOptions>();
  CLI::App *as = app.add_subcommand("asm", "Assemble a tile program (.s) into instruction words");
  as->add_option("file", opts->input, "the assembly file")->required();
  as->add_option("-o,--output", opts->output, "the binary to write (default: FILE.bin)");
  as->add_option("--arch", opts->arch, "verify against the tile of this arch spec (YAML)");
  as->callback([opts, &rc] { rc = runAsm(*opts); });

  auto dopts = std::make_shared<AsmOptions>();
  CLI::App *dis = app.add_subcommand("disasm", "Print the assembly text of a tile program binary");
  dis->add_option("file", dopts->input, "the binary (16 bytes per instruction)")->required();
  dis->add_option("-o,--output", dopts->output, "write the text here (default: stdout)");
  dis->callback([dopts, &rc] { rc = runDisasm(*dopts); });
}

} // namespace tessera::tool
