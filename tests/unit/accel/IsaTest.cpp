//===- IsaTest.cpp - encoding tables, encode/decode, verifier, timing --------===//
#include "accel/Isa.h"

#include "arch/ArchSpec.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

using namespace tessera;
using namespace tessera::accel;

namespace {

const std::string kSmallTest = std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml";

TileConfig smallTile() {
  auto spec = arch::loadArchSpec(kSmallTest);
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().render());
  return TileConfig::fromArchSpec(*spec);
}

Instruction gemm() {
  Instruction g;
  g.op = Opcode::Gemm;
  g.rc = 3, g.ra = 1, g.rb = 2, g.m = 4, g.n = 4, g.k = 64, g.lda = 64, g.ldb = 64, g.ldc = 4;
  g.fmtA = uint32_t(ElemFormat::E4m3), g.fmtB = uint32_t(ElemFormat::E4m3);
  return g;
}

bool hasIssue(const std::vector<Issue> &issues, const std::string &id) {
  for (const Issue &i : issues)
    if (i.id == id)
      return true;
  return false;
}

std::string ids(const std::vector<Issue> &issues) {
  std::string s;
  for (const Issue &i : issues)
    s += i.id + ": " + i.message + "\n";
  return s;
}

} // namespace

TEST(AccelIsa, TablesAreConsistent) {
  std::set<uint8_t> codes;
  std::set<std::string_view> names;
  for (Opcode op : allOpcodes()) {
    const OpcodeInfo &i = opcodeInfo(op);
    EXPECT_TRUE(codes.insert(i.code).second) << i.mnemonic;
    EXPECT_TRUE(names.insert(i.mnemonic).second) << i.mnemonic;
    EXPECT_EQ(opcodeInfoForCode(i.code), &i);
    Opcode back;
    ASSERT_TRUE(opcodeFromMnemonic(i.mnemonic, back));
    EXPECT_EQ(back, op);
    // Every field an opcode names has a slot in its layout, and slots do not overlap
    // within the fields one opcode uses.
    uint64_t usedLo = 0xFFFF, usedHi = 0;
    for (const OperandSpec &s : operandSpecs(op))
      for (Field f : {s.field, s.field2}) {
        if (f == Field::Count)
          continue;
        const FieldSlot *slot = findSlot(i.layout, f);
        ASSERT_NE(slot, nullptr) << i.mnemonic << " " << fieldName(f);
        for (unsigned b = slot->lsb; b < slot->lsb + slot->width; ++b) {
          uint64_t &word = b < 64 ? usedLo : usedHi;
          uint64_t bit = uint64_t(1) << (b % 64);
          EXPECT_FALSE(word & bit) << i.mnemonic << " bit " << b;
          word |= bit;
        }
      }
  }
  EXPECT_EQ(opcodeInfoForCode(0xFF), nullptr);
  for (Layout l : {Layout::S, Layout::D, Layout::G, Layout::V})
    for (const FieldSlot &s : layoutSlots(l))
      EXPECT_LE(s.lsb + s.width, 128u);
  EXPECT_EQ(elemFormatNames().size(), kNumElemFormats);
  ElemFormat f;
  ASSERT_TRUE(elemFormatFromName("mxe2m1", f));
  EXPECT_EQ(elemFormatInfo(f).bits, 4u);
  EXPECT_TRUE(elemFormatInfo(f).mx);
  EXPECT_EQ(elemFormatInfo(f).element, numerics::Format::E2M1);
  EXPECT_FALSE(elemFormatFromName("e4m4", f));
}

TEST(AccelIsa, FormatWidthsAgreeWithNumerics) {
  for (unsigned c = 0; c < kNumElemFormats; ++c) {
    const ElemFormatInfo *f = elemFormatInfoForCode(c);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->bits, numerics::formatInfo(f->element).bits) << f->name;
  }
  EXPECT_EQ(elemFormatInfoForCode(kNumElemFormats), nullptr);
}

TEST(AccelIsa, EncodeKnownWord) {
  // The GEMM of docs/isa.md's worked encoding example.
  Instruction g = gemm();
  g.flags = flag::Accumulate;
  g.deps = dep::PopPrev | dep::PushNext;
  Word w = encode(g);
  // lo: op 0x20, deps 0x9, flags 0x1, rc 3, ra 1, rb 2, fa 3, fb 3, m-1 = 3, n-1 = 3.
  EXPECT_EQ(w.lo, 0x0303000332131920ull);
  // hi: k 64, lda 64, ldb 64, ldc 4.
  EXPECT_EQ(w.hi, 0x0004004000400040ull);
  auto back = decode(w);
  ASSERT_TRUE(back.ok()) << back.error().render();
  EXPECT_EQ(*back, g);
}

TEST(AccelIsa, DecodeRejectsUnknownOpcodeAndStrayBits) {
  auto bad = decode(Word{0xEE, 0}, SourceLoc{"p.bin", 3, 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().id, "unknown-opcode");
  EXPECT_EQ(bad.error().loc.str(), "p.bin:3");
  // halt uses nothing but the opcode.
  auto stray = decode(Word{0x01 | (uint64_t(1) << 40), 0});
  ASSERT_FALSE(stray.ok());
  EXPECT_EQ(stray.error().id, "bad-encoding");
  EXPECT_NE(stray.error().message.find("bit 40"), std::string::npos);
  // add does not use the immediate.
  Instruction add;
  add.op = Opcode::Add;
  add.rd = 1;
  Word w = encode(add);
  w.hi |= 1;
  EXPECT_FALSE(decode(w).ok());
}

TEST(AccelIsa, RandomEncodeDecodeRoundTrip) {
  std::mt19937_64 rng(5);
  unsigned accepted = 0;
  for (int it = 0; it < 20000; ++it) {
    Opcode op = allOpcodes()[rng() % allOpcodes().size()];
    const OpcodeInfo &info = opcodeInfo(op);
    Instruction ins;
    ins.op = op;
    for (const FieldSlot &s : layoutSlots(info.layout))
      for (const OperandSpec &sp : operandSpecs(op))
        if (sp.field == s.field || sp.field2 == s.field)
          ins.set(s.field, uint32_t((rng() & ((uint64_t(1) << s.width) - 1)) + s.bias));
    ins.deps = uint8_t(rng() & allowedDeps(info.queue));
    Word w = encode(ins);
    auto back = decode(w);
    ASSERT_TRUE(back.ok()) << back.error().render();
    // Flags are opcode-specific: decode keeps what encode wrote.
    ins.flags = back->flags;
    EXPECT_EQ(*back, ins) << info.mnemonic;
    EXPECT_EQ(encode(*back), w);
    accepted += checkInstruction(*back, nullptr).empty();
  }
  EXPECT_GT(accepted, 2000u);
}

TEST(AccelIsa, ProgramBytesRoundTrip) {
  std::vector<Instruction> prog(3);
  prog[0] = gemm();
  prog[1].op = Opcode::Li, prog[1].rd = 7, prog[1].imm = 0xDEADBEEF;
  prog[2].op = Opcode::Halt;
  std::string bytes = encodeProgram(prog);
  ASSERT_EQ(bytes.size(), 48u);
  EXPECT_EQ(uint8_t(bytes[0]), 0x20);
  EXPECT_EQ(uint8_t(bytes[16 + 4]), 0xEF); // imm at bit 32, little-endian
  auto back = decodeProgram(bytes, "p.bin");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, prog);
  auto cut = decodeProgram(bytes.substr(0, 40), "p.bin");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().id, "bad-binary");
}

TEST(AccelIsa, FromArchSpec) {
  TileConfig c = smallTile();
  EXPECT_EQ(c.rows, 4u);
  EXPECT_EQ(c.cols, 4u);
  EXPECT_EQ(c.dotWidth, 4u);
  EXPECT_EQ(c.lanes, 4u);
  EXPECT_EQ(c.spadBytes, 16384u);
  EXPECT_EQ(c.accWords(), 256u);
  EXPECT_EQ(c.scaleBytes, 1024u);
  EXPECT_EQ(c.metaBytes, 4096u);
  EXPECT_TRUE(c.find(ElemFormat::Bf16));
  EXPECT_TRUE(c.find(ElemFormat::MxE4m3));
  EXPECT_TRUE(c.find(ElemFormat::MxE5m2));
  EXPECT_FALSE(c.find(ElemFormat::MxE2m1));
  EXPECT_FALSE(c.find(ElemFormat::Fp16));
  EXPECT_TRUE(c.supportsPattern({2, 4}));
  EXPECT_FALSE(c.supportsPattern({1, 4}));
  EXPECT_TRUE(c.zeroSkip);
  EXPECT_TRUE(c.scaleCast);
  EXPECT_TRUE(c.stochastic);
  EXPECT_EQ(c.dmaBytesPerCycle, 16u);
}

TEST(AccelIsa, VerifierAcceptsValidGemm) {
  TileConfig c = smallTile();
  EXPECT_TRUE(checkInstruction(gemm(), &c).empty()) << ids(checkInstruction(gemm(), &c));
}

TEST(AccelIsa, VerifierGemmLimits) {
  TileConfig c = smallTile();
  Instruction g = gemm();
  g.m = 5;
  auto is = checkInstruction(g, &c);
  ASSERT_TRUE(hasIssue(is, "operand-out-of-range")) << ids(is);
  EXPECT_EQ(is[0].field, Field::M);
  EXPECT_TRUE(checkInstruction(g, nullptr).empty()); // fine for a bigger tile

  g = gemm();
  g.fmtA = uint32_t(ElemFormat::Fp16);
  is = checkInstruction(g, &c);
  ASSERT_TRUE(hasIssue(is, "unsupported-format")) << ids(is);
  EXPECT_EQ(is[0].field, Field::FmtA);

  g = gemm();
  g.fmtB = uint32_t(ElemFormat::Fp32);
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "unsupported-format"));

  g = gemm();
  g.fmtA = 12;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "unknown-format"));

  g = gemm();
  g.fmtA = uint32_t(ElemFormat::MxE4m3);
  g.flags = flag::TransA;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "bad-layout"));
  g.flags = 0;
  g.lda = 48;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "misaligned"));
  g.lda = 64;
  g.rsb = 2; // B is not MX
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "bad-encoding"));

  g = gemm();
  g.ldc = 3;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "bad-stride"));

  g = gemm();
  g.ldc = 100; // (m-1)*100 + 4 > 256 ACC words
  is = checkInstruction(g, &c);
  EXPECT_TRUE(hasIssue(is, "operand-out-of-range")) << ids(is);

  g = gemm();
  g.k = 0;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "operand-out-of-range"));
  g = gemm();
  g.m = 257;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "operand-out-of-range"));
}

TEST(AccelIsa, VerifierSparseAndZeroSkip) {
  TileConfig c = smallTile();
  Instruction g = gemm();
  g.op = Opcode::GemmSp;
  g.lda = 32; // compressed
  g.rmeta = 4;
  EXPECT_TRUE(checkInstruction(g, &c).empty()) << ids(checkInstruction(g, &c));
  g.pattern = 1; // 1:4 not in small-test
  EXPECT_TRUE(hasIssue(checkInstruction(g, &c), "unsupported-sparsity"));
  g.pattern = 0;
  g.flags = flag::TransA;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "bad-layout"));
  g.flags = 0;
  g.k = 62;
  EXPECT_TRUE(hasIssue(checkInstruction(g, nullptr), "misaligned"));
  g.k = 64;
  g.zskip = uint32_t(ZeroSkip::B);
  EXPECT_TRUE(checkInstruction(g, &c).empty());
  TileConfig noSkip = c;
  noSkip.zeroSkip = false;
  EXPECT_TRUE(hasIssue(checkInstruction(g, &noSkip), "unsupported-feature"));
  TileConfig denseFp8 = c;
  for (auto &f : denseFp8.formats)
    f.sparse = false;
  g.zskip = 0;
  EXPECT_TRUE(hasIssue(checkInstruction(g, &denseFp8), "unsupported-sparsity"));
  // A dense gemm must not carry sparse fields.
  Instruction d = gemm();
  d.rmeta = 1;
  EXPECT_TRUE(hasIssue(checkInstruction(d, nullptr), "bad-encoding"));
}

TEST(AccelIsa, VerifierDmaAndStore) {
  TileConfig c = smallTile();
  Instruction ld;
  ld.op = Opcode::Ld;
  ld.rl = 1, ld.rg = 2, ld.rows = 4, ld.cols = 64, ld.gstride = 4096, ld.lstride = 64;
  ld.fmtA = uint32_t(ElemFormat::Bf16), ld.fmtB = uint32_t(ElemFormat::E4m3);
  EXPECT_TRUE(checkInstruction(ld, &c).empty()) << ids(checkInstruction(ld, &c));
  ld.fmtB = uint32_t(ElemFormat::MxE4m3);
  EXPECT_TRUE(hasIssue(checkInstruction(ld, nullptr), "unsupported-conversion"));
  ld.fmtA = ld.fmtB; // raw MX copy
  EXPECT_TRUE(checkInstruction(ld, &c).empty());
  ld.lstride = 60;
  EXPECT_TRUE(hasIssue(checkInstruction(ld, nullptr), "bad-stride"));
  ld.lstride = 8192;
  EXPECT_TRUE(hasIssue(checkInstruction(ld, &c), "operand-out-of-range")); // 3*8192+64 > 16 KiB
  ld.lstride = 64;
  ld.fmtA = ld.fmtB = uint32_t(ElemFormat::MxE3m2);
  ld.cols = 3; // 18 bits
  EXPECT_TRUE(hasIssue(checkInstruction(ld, nullptr), "misaligned"));

  Instruction st;
  st.op = Opcode::St;
  st.rl = 0, st.limm = 16, st.rg = 5, st.rows = 4, st.cols = 32, st.gstride = 32, st.lstride = 32;
  st.fmtA = uint32_t(ElemFormat::MxE4m3);
  st.rx = 6;
  st.flags = flag::Stochastic | flag::ScaleUp;
  EXPECT_TRUE(checkInstruction(st, &c).empty()) << ids(checkInstruction(st, &c));
  st.gstride = 40; // not a whole number of 32-element blocks
  EXPECT_TRUE(hasIssue(checkInstruction(st, nullptr), "misaligned"));
  st.gstride = 32;
  st.flags |= flag::Saturate;
  EXPECT_TRUE(hasIssue(checkInstruction(st, nullptr), "bad-flags"));
  st.flags = flag::ScaleUp;
  st.fmtA = uint32_t(ElemFormat::E5m2);
  st.rx = 0;
  EXPECT_TRUE(hasIssue(checkInstruction(st, nullptr), "bad-flags"));
  st.flags = flag::Prescale;
  st.fs = 3;
  EXPECT_TRUE(checkInstruction(st, &c).empty());
  TileConfig noCast = c;
  noCast.scaleCast = false;
  EXPECT_TRUE(hasIssue(checkInstruction(st, &noCast), "unsupported-format"));
  TileConfig rneOnly = c;
  rneOnly.stochastic = false;
  st.flags = flag::Stochastic;
  st.fs = 0;
  EXPECT_TRUE(hasIssue(checkInstruction(st, &rneOnly), "unsupported-rounding"));
  st.fmtA = uint32_t(ElemFormat::MxE2m1); // not a format of small-test
  st.flags = 0;
  st.rx = 1;
  EXPECT_TRUE(hasIssue(checkInstruction(st, &c), "unsupported-format"));
}

TEST(AccelIsa, VerifierDependencesAndScalars) {
  Instruction ld;
  ld.op = Opcode::LSync;
  ld.deps = dep::PopPrev;
  auto is = checkInstruction(ld, nullptr);
  ASSERT_TRUE(hasIssue(is, "bad-dependence"));
  EXPECT_TRUE(is[0].flagsField);
  ld.deps = dep::PopNext | dep::PushNext;
  EXPECT_TRUE(checkInstruction(ld, nullptr).empty());
  Instruction st;
  st.op = Opcode::SSync;
  st.deps = dep::PushNext;
  EXPECT_TRUE(hasIssue(checkInstruction(st, nullptr), "bad-dependence"));
  Instruction li;
  li.op = Opcode::Li;
  li.rd = 0;
  EXPECT_TRUE(hasIssue(checkInstruction(li, nullptr), "bad-register"));
  li.rd = 1;
  li.deps = dep::PopPrev;
  EXPECT_TRUE(hasIssue(checkInstruction(li, nullptr), "bad-dependence"));
  Instruction seed;
  seed.op = Opcode::Seed;
  seed.imm = 0x10000;
  EXPECT_TRUE(hasIssue(checkInstruction(seed, nullptr), "operand-out-of-range"));
  Instruction adam;
  adam.op = Opcode::VAdamW;
  adam.n = 16, adam.fs = 8;
  EXPECT_TRUE(hasIssue(checkInstruction(adam, nullptr), "bad-register"));
  Instruction sum;
  sum.op = Opcode::VSum;
  sum.n = 16, sum.seg = 5;
  EXPECT_TRUE(hasIssue(checkInstruction(sum, nullptr), "bad-segment"));
  sum.seg = 4;
  EXPECT_TRUE(checkInstruction(sum, nullptr).empty());
  Instruction add;
  add.op = Opcode::VAdd;
  add.n = 16, add.seg = 4;
  EXPECT_TRUE(hasIssue(checkInstruction(add, nullptr), "bad-segment"));
  add.flags = flag::Broadcast;
  EXPECT_TRUE(checkInstruction(add, nullptr).empty());
}

TEST(AccelIsa, VerifyProgram) {
  std::vector<Instruction> prog(2);
  prog[0].op = Opcode::Loop, prog[0].rd = 1, prog[0].imm = 5;
  DiagnosticEngine diags;
  EXPECT_FALSE(verifyProgram(prog, nullptr, diags, {}, "p.bin"));
  ASSERT_EQ(diags.diagnostics().size(), 2u);
  EXPECT_EQ(diags.diagnostics()[0].id, "bad-target");
  EXPECT_EQ(diags.diagnostics()[0].loc.str(), "p.bin:1");
  EXPECT_EQ(diags.diagnostics()[1].id, "missing-halt");
}

TEST(AccelIsa, GemmTimingContract) {
  TileConfig c = smallTile(); // 4x4, W = 4
  Instruction g = gemm();     // k = 64
  EXPECT_EQ(gemmStepK(g, c), 4u);
  EXPECT_EQ(gemmSteps(g, c), 16u);
  GemmTiming t = gemmTiming(g, c, 0);
  EXPECT_EQ(t.issue, 16u);
  EXPECT_EQ(t.latency, 16u + 4 + 4);
  g.k = 65;
  EXPECT_EQ(gemmSteps(g, c), 17u);
  g.op = Opcode::GemmSp; // 2:4 doubles the K per step
  g.k = 64;
  EXPECT_EQ(gemmStepK(g, c), 8u);
  EXPECT_EQ(gemmSteps(g, c), 8u);
  t = gemmTiming(g, c, 6); // zero skipping removed 6 of 8 steps
  EXPECT_EQ(t.issue, 4u);  // the drain of R rows bounds the issue interval
  EXPECT_EQ(t.latency, 2u + 8);
  TileConfig fast = c;
  for (auto &f : fast.formats)
    if (f.format == ElemFormat::E4m3)
      f.rate = 2;
  g.op = Opcode::Gemm;
  EXPECT_EQ(gemmStepK(g, fast), 8u);
  g.fmtB = uint32_t(ElemFormat::Bf16); // the slower operand sets the rate
  EXPECT_EQ(gemmStepK(g, fast), 4u);
}
