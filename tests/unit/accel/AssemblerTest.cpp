//===- AssemblerTest.cpp - assembly syntax, located errors, disassembly round trips ===//
#include "accel/Assembler.h"

#include "arch/ArchSpec.h"
#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>

using namespace tessera;
using namespace tessera::accel;

namespace {

const std::string kDataDir = std::string(TESSERA_SOURCE_DIR) + "/tests/data/accel";

TileConfig smallTile() {
  auto spec =
      arch::loadArchSpec(std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml");
  EXPECT_TRUE(spec.ok());
  return TileConfig::fromArchSpec(*spec);
}

AsmProgram asmOk(const std::string &text, const TileConfig *cfg = nullptr) {
  auto p = assemble(text, "t.s", cfg);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().render()) << "\n" << text;
  return p.ok() ? *p : AsmProgram{};
}

Diagnostic asmErr(const std::string &text, const TileConfig *cfg = nullptr) {
  auto p = assemble(text, "t.s", cfg);
  EXPECT_FALSE(p.ok()) << text;
  return p.ok() ? Diagnostic{} : p.error();
}

std::vector<std::filesystem::path> dataFiles(bool bad) {
  std::vector<std::filesystem::path> files;
  for (auto &e : std::filesystem::directory_iterator(kDataDir)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() != ".s")
      continue;
    bool isBad = name.size() > 6 && name.substr(name.size() - 6) == "-bad.s";
    if (isBad == bad)
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// disassemble -> assemble gives the same words.
void expectTextRoundTrip(const std::vector<Instruction> &prog) {
  std::string text = disassembleProgram(prog);
  auto back = assemble(text, "dis.s");
  ASSERT_TRUE(back.ok()) << back.error().render() << "\n" << text;
  ASSERT_EQ(back->code.size(), prog.size());
  EXPECT_EQ(encodeProgram(back->code), encodeProgram(prog)) << text;
  EXPECT_EQ(disassembleProgram(back->code), text);
}

/// A random instruction the static verifier accepts (rejection sampling over raw fields,
/// biased towards small values so that structural rules hold often).
Instruction randomValid(Opcode op, std::mt19937_64 &rng) {
  const OpcodeInfo &info = opcodeInfo(op);
  for (;;) {
    Instruction ins;
    ins.op = op;
    for (const OperandSpec &sp : operandSpecs(op)) {
      for (Field f : {sp.field, sp.field2}) {
        if (f == Field::Count)
          continue;
        const FieldSlot *s = findSlot(info.layout, f);
        uint64_t mask = (uint64_t(1) << s->width) - 1;
        uint64_t v = rng() & mask;
        switch (rng() % 4) {
        case 0:
          v &= 0xF;
          break;
        case 1:
          v &= 0xFF;
          break;
        default:
          break;
        }
        if (sp.optional && rng() % 2)
          v = 0;
        if (f == Field::FmtA || f == Field::FmtB)
          v = rng() % kNumElemFormats;
        ins.set(f, uint32_t(v + s->bias));
      }
      if (sp.kind == OperandKind::Flag || sp.kind == OperandKind::FlagFReg)
        if (rng() % 2)
          ins.flags |= sp.bit;
    }
    if (op == Opcode::Seed)
      ins.imm &= 0xFFFF;
    if (op == Opcode::Loop)
      ins.imm %= 8;
    ins.deps = uint8_t(rng() & allowedDeps(info.queue));
    if (checkInstruction(ins, nullptr).empty())
      return ins;
  }
}

} // namespace

TEST(AccelAsm, GoodFilesAssembleVerifyAndRoundTrip) {
  TileConfig cfg = smallTile();
  auto files = dataFiles(false);
  ASSERT_GE(files.size(), 3u);
  for (const auto &f : files) {
    SCOPED_TRACE(f.string());
    auto text = readTextFile(f.string());
    ASSERT_TRUE(text.ok());
    auto p = assemble(*text, f.string(), &cfg);
    ASSERT_TRUE(p.ok()) << p.error().render();
    DiagnosticEngine diags;
    EXPECT_TRUE(verifyProgram(p->code, &cfg, diags, p->locs));
    expectTextRoundTrip(p->code);
    auto bin = decodeProgram(encodeProgram(p->code), "x.bin");
    ASSERT_TRUE(bin.ok());
    EXPECT_EQ(*bin, p->code);
  }
}

TEST(AccelAsm, BadFilesGiveLocatedErrors) {
  TileConfig cfg = smallTile();
  struct Want {
    const char *file, *id;
    uint32_t line, col;
    const char *text;
  };
  const Want wants[] = {
      {"bad-dependence-bad.s", "bad-dependence", 1, 95, "has no previous queue"},
      {"bad-register-bad.s", "bad-register", 1, 17, "there is no register r16"},
      {"loop-label-bad.s", "undefined-symbol", 3, 21, "undefined label 'bdy'"},
      {"missing-operand-bad.s", "missing-operand", 1, 9, "needs operand 'b'"},
      {"out-of-range-bad.s", "operand-out-of-range", 2, 37, "m = 8 exceeds the array's 4 rows"},
      {"undefined-symbol-bad.s", "undefined-symbol", 2, 21, "undefined symbol 'TILES'"},
      {"unknown-format-bad.s", "unknown-format", 1, 79, "unknown element format 'e4m4'"},
      {"unknown-mnemonic-bad.s", "unknown-mnemonic", 2, 9, "unknown mnemonic 'gemn'"},
      {"unsupported-format-bad.s", "unsupported-format", 1, 77, "does not multiply fp16"},
  };
  auto files = dataFiles(true);
  EXPECT_EQ(files.size(), std::size(wants));
  for (const Want &w : wants) {
    SCOPED_TRACE(w.file);
    std::string path = kDataDir + "/" + w.file;
    auto text = readTextFile(path);
    ASSERT_TRUE(text.ok());
    auto p = assemble(*text, path, &cfg);
    ASSERT_FALSE(p.ok());
    const Diagnostic &d = p.error();
    EXPECT_EQ(d.id, w.id) << d.render();
    EXPECT_EQ(d.loc.file, path);
    EXPECT_EQ(d.loc.line, w.line) << d.render();
    EXPECT_EQ(d.loc.col, w.col) << d.render();
    EXPECT_NE(d.message.find(w.text), std::string::npos) << d.render();
    EXPECT_FALSE(d.sourceLine.empty());
    EXPECT_NE(d.render().find("^"), std::string::npos);
  }
}

TEST(AccelAsm, DidYouMeanNotes) {
  Diagnostic d = asmErr("gemn c=r1\nhalt\n");
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_NE(d.notes[0].message.find("'gemm'"), std::string::npos);
  d = asmErr("ld spad=0, dram=0, rows=1, cols=32, gstride=32, lstrid=32, src=bf16, dst=bf16\nhalt");
  EXPECT_EQ(d.id, "unknown-operand");
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_NE(d.notes[0].message.find("'lstride'"), std::string::npos);
  d = asmErr(
      "ld spad=0, dram=0, rows=1, cols=32, gstride=32, lstride=32, src=bf17, dst=bf16\nhalt");
  EXPECT_EQ(d.id, "unknown-format");
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_NE(d.notes[0].message.find("'bf16'"), std::string::npos);
}

TEST(AccelAsm, ExpressionsLabelsAndConstants) {
  AsmProgram p = asmOk(".equ A, 3\n.set B, (A + 1) << 4  // 64\n"
                       "start: li r1, B * 2 - ~0 % 5\n"
                       "  li r2, -1\n"
                       "  addi r3, r3, -B\n"
                       "  li r4, 0b1010 | 0x100 ^ 1 & 3\n"
                       "x: y: loop r1, x\n"
                       "  loop r1, end\n"
                       "end: halt\n");
  ASSERT_EQ(p.code.size(), 7u);
  EXPECT_EQ(p.code[0].imm, 128u + 1); // ~0 % 5 = -1 % 5 = -1
  EXPECT_EQ(p.code[1].imm, 0xFFFFFFFFu);
  EXPECT_EQ(int32_t(p.code[2].imm), -64);
  EXPECT_EQ(p.code[3].imm, 0b1010u | (0x100u ^ (1u & 3u)));
  EXPECT_EQ(p.code[4].imm, 4u); // x
  EXPECT_EQ(p.code[5].imm, 6u); // forward label
  EXPECT_EQ(p.labels.at("start"), 0u);
  EXPECT_EQ(p.locs[2].line, 5u);
  EXPECT_EQ(p.locs[2].col, 3u);

  EXPECT_EQ(asmErr("li r1, 1 / (2 - 2)\nhalt").id, "division-by-zero");
  EXPECT_EQ(asmErr("li r1, 0x7fffffffffffffff + 1\nhalt").id, "bad-expression");
  EXPECT_EQ(asmErr("li r1, 1 << 64\nhalt").id, "bad-expression");
  EXPECT_EQ(asmErr("li r1, (1 + 2\nhalt").id, "bad-expression");
  EXPECT_EQ(asmErr("li r1, r2\nhalt").id, "bad-expression");
  EXPECT_EQ(asmErr("li r1, 0x1_0000_0000\nhalt").id, "operand-out-of-range");
  EXPECT_EQ(asmErr("addi r1, r1, 0x80000000\nhalt").id, "operand-out-of-range");
  EXPECT_EQ(asmErr("a: nop\na: halt").id, "duplicate-symbol");
  EXPECT_EQ(asmErr(".equ r3, 1\nhalt").id, "bad-symbol");
  EXPECT_EQ(asmErr(".equ X, Y\n.equ Y, 1\nhalt").id, "undefined-symbol"); // no forward .equ
  EXPECT_EQ(asmErr(".org 4\nhalt").id, "unknown-directive");
  EXPECT_EQ(asmErr("li r1, 1 $ 2\nhalt").id, "syntax-error");
}

TEST(AccelAsm, OperandErrorsPointAtTheOperand) {
  Diagnostic d = asmErr("vadd d=0, a=16, b=32, n=16, n=8\nhalt");
  EXPECT_EQ(d.id, "duplicate-operand");
  EXPECT_EQ(d.loc.col, 29u);
  d = asmErr("vadd d=0, a=16, b=32, n=0\nhalt");
  EXPECT_EQ(d.id, "operand-out-of-range");
  EXPECT_EQ(d.loc.col, 25u);
  d = asmErr("vsum d=0, a=16, n=16, seg=5\nhalt");
  EXPECT_EQ(d.id, "bad-segment");
  EXPECT_EQ(d.loc.col, 27u);
  d = asmErr(
      "gemm c=r1, a=r2, b=r3, m=4, n=4, k=16, lda=16, ldb=16, ldc=4, fa=mxe4m3, fb=bf16, ta\nhalt");
  EXPECT_EQ(d.id, "bad-layout");
  EXPECT_EQ(d.loc.col, 83u); // the 'ta' flag
  d = asmErr("ld spad=r3+70000, dram=0, rows=1, cols=32, gstride=32, lstride=32, src=bf16, "
             "dst=bf16\nhalt");
  EXPECT_EQ(d.id, "operand-out-of-range");
  EXPECT_EQ(d.loc.col, 12u); // the offset
  d = asmErr("vadd d=0, a=f1, b=0, n=1\nhalt");
  EXPECT_EQ(d.id, "bad-register");
  d = asmErr("gemm acc=1\nhalt");
  EXPECT_EQ(d.id, "syntax-error");
  d = asmErr("li r1\nhalt");
  EXPECT_EQ(d.id, "syntax-error");
  EXPECT_NE(d.message.find("takes 2 operands (rd, imm), found 1"), std::string::npos);
  d = asmErr("ssync push_next\nhalt");
  EXPECT_EQ(d.id, "bad-dependence");
  d = asmErr("gemmsp c=r1, a=r2, b=r3, m=4, n=4, k=16, lda=8, ldb=16, ldc=4, fa=bf16, fb=bf16, "
             "meta=r4, nm=3:4\nhalt");
  EXPECT_EQ(d.id, "bad-pattern");
  d = asmErr("fli f1, 1e39\nhalt");
  EXPECT_EQ(d.id, "bad-float");
  d = asmErr("nop");
  EXPECT_EQ(d.id, "missing-halt");
  d = asmErr("loop r1, 7\nhalt");
  EXPECT_EQ(d.id, "bad-target");
}

TEST(AccelAsm, AllErrorsAreCollected) {
  DiagnosticEngine diags;
  auto p = assemble("gemn\nli r1, X\nhalt\naddi r0, r1, 1\n", "t.s", nullptr, &diags);
  ASSERT_FALSE(p.ok());
  ASSERT_EQ(diags.errorCount(), 3u);
  EXPECT_EQ(diags.diagnostics()[0].loc.line, 1u);
  EXPECT_EQ(diags.diagnostics()[1].loc.line, 2u);
  EXPECT_EQ(diags.diagnostics()[2].id, "bad-register");
  EXPECT_EQ(diags.diagnostics()[2].loc.line, 4u);
}

TEST(AccelAsm, FloatLiterals) {
  AsmProgram p = asmOk("fli f1, 1.5\nfli f2, -0\nfli f3, bits(0x7fc00001)\nfli f4, 1e-45\n"
                       "fli f5, 0.1\nhalt\n");
  EXPECT_EQ(p.code[0].imm, 0x3FC00000u);
  EXPECT_EQ(p.code[1].imm, 0x80000000u);
  EXPECT_EQ(p.code[2].imm, 0x7FC00001u);
  EXPECT_EQ(p.code[3].imm, 1u); // the smallest subnormal
  EXPECT_EQ(p.code[4].imm, 0x3DCCCCCDu);
  EXPECT_EQ(disassemble(p.code[0]), "fli f1, 1.5");
  EXPECT_EQ(disassemble(p.code[1]), "fli f2, -0");
  EXPECT_EQ(disassemble(p.code[2]), "fli f3, bits(0x7fc00001)");
  EXPECT_EQ(disassemble(p.code[4]), "fli f5, 0.1");
}

TEST(AccelAsm, CanonicalDisassembly) {
  AsmProgram p = asmOk(
      "gemm tb, b=r2, a=r1, c=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=bf16, "
      "push_next, acc, pop_prev\n"
      "st acc=r1+16, dram=r2+8, rows=1, cols=32, gstride=0, lstride=32, fmt=mxe2m1, scales=r5, sr\n"
      "gemmsp c=r3, a=r1, b=r2, m=2, n=3, k=64, lda=32, ldb=64, ldc=3, fa=mxe4m3, fb=mxe4m3, "
      "meta=r4, nm=2:4, sa=r6, sb=r7, zs=either\n"
      "halt\n");
  EXPECT_EQ(disassemble(p.code[0]),
            "gemm c=r3, a=r1, b=r2, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=bf16, acc, "
            "tb, pop_prev, push_next");
  EXPECT_EQ(disassemble(p.code[1]),
            "st acc=r1+16, dram=r2+8, rows=1, cols=32, gstride=0, lstride=32, fmt=mxe2m1, "
            "scales=r5, sr");
  EXPECT_EQ(disassemble(p.code[2]),
            "gemmsp c=r3, a=r1, b=r2, m=2, n=3, k=64, lda=32, ldb=64, ldc=3, fa=mxe4m3, "
            "fb=mxe4m3, meta=r4, nm=2:4, sa=r6, sb=r7, zs=either");
  EXPECT_EQ(p.code[0].flags, flag::Accumulate | flag::TransB);
  EXPECT_EQ(p.code[0].deps, dep::PopPrev | dep::PushNext);
}

TEST(AccelAsm, EveryOpcodeRoundTrips) {
  std::mt19937_64 rng(11);
  std::vector<Instruction> prog;
  for (Opcode op : allOpcodes())
    prog.push_back(randomValid(op, rng));
  Instruction halt;
  halt.op = Opcode::Halt;
  prog.push_back(halt);
  for (Instruction &i : prog)
    if (i.op == Opcode::Loop)
      i.imm = 0;
  ASSERT_EQ(prog.size(), allOpcodes().size() + 1);
  expectTextRoundTrip(prog);
}

TEST(AccelAsm, RandomValidInstructionsRoundTrip) {
  std::mt19937_64 rng(17);
  for (int round = 0; round < 40; ++round) {
    std::vector<Instruction> prog;
    for (int i = 0; i < 100; ++i)
      prog.push_back(randomValid(allOpcodes()[rng() % allOpcodes().size()], rng));
    Instruction halt;
    halt.op = Opcode::Halt;
    prog.push_back(halt);
    for (Instruction &i : prog)
      if (i.op == Opcode::Loop)
        i.imm %= prog.size();
    expectTextRoundTrip(prog);
  }
}
