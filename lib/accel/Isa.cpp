//===- Isa.cpp - encoding tables, encoder / decoder, verifier, timing ----------===//
//
// The four layouts (S scalar, D DMA, G GEMM, V vector) share a 16-bit header: opcode
// [7:0], dependence tokens [11:8], flags [15:12]. Every other bit belongs to a field slot
// of the layout; bits an opcode does not use must be zero, so each instruction has
// exactly one encoding and decode(encode(i)) == i for every instruction the verifier
// accepts. docs/isa.md prints these tables.
//
//===----------------------------------------------------------------------===//
#include "accel/Isa.h"

#include "arch/ArchSpec.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace tessera::accel {

namespace {

const std::vector<OpcodeInfo> &opcodeTable() {
  static const std::vector<OpcodeInfo> t = {
#define ISA_OPCODE(Enum, code, mnem, layout, queue, summary)                                       \
  {Opcode::Enum, code, mnem, Layout::layout, Queue::queue, summary},
#include "accel/Isa.def"
  };
  return t;
}

const std::vector<ElemFormatInfo> &formatTable() {
  static const std::vector<ElemFormatInfo> t = [] {
    std::vector<ElemFormatInfo> v = {
#define ISA_FORMAT(Enum, code, name, nf, mx) {ElemFormat::Enum, name, numerics::Format::nf, mx, 0},
#include "accel/Isa.def"
    };
    // Storage widths of numerics::formatInfo (kept here as well so that the ISA tables
    // do not depend on the order in which the libraries initialise).
    for (ElemFormatInfo &f : v) {
      switch (f.element) {
      case numerics::Format::FP32:
        f.bits = 32;
        break;
      case numerics::Format::BF16:
      case numerics::Format::FP16:
        f.bits = 16;
        break;
      case numerics::Format::E3M2:
      case numerics::Format::E2M3:
        f.bits = 6;
        break;
      case numerics::Format::E2M1:
        f.bits = 4;
        break;
      default:
        f.bits = 8;
        break;
      }
    }
    return v;
  }();
  return t;
}

constexpr std::string_view kFieldNames[] = {
#define ISA_FIELD(Enum, member, desc) #member,
#include "accel/Isa.def"
};

// Layout tables (docs/isa.md, "Encoding"). Fs shares D's bits [31:28] with FmtB: a
// store uses fs (prescale register) where a load has its SPAD format.
constexpr FieldSlot kLayoutS[] = {
    {Field::Rd, 16, 4, 0}, {Field::Rs, 20, 4, 0}, {Field::Rt, 24, 4, 0}, {Field::Imm, 32, 32, 0}};
constexpr FieldSlot kLayoutD[] = {
    {Field::Rl, 16, 4, 0},    {Field::Rg, 20, 4, 0},       {Field::FmtA, 24, 4, 0},
    {Field::FmtB, 28, 4, 0},  {Field::Fs, 28, 4, 0},       {Field::Rx, 32, 4, 0},
    {Field::LImm, 36, 16, 0}, {Field::GImm, 52, 16, 0},    {Field::Rows, 68, 12, 0},
    {Field::Cols, 80, 14, 0}, {Field::GStride, 94, 20, 0}, {Field::LStride, 114, 14, 0}};
constexpr FieldSlot kLayoutG[] = {
    {Field::Rc, 16, 4, 0},    {Field::Ra, 20, 4, 0},    {Field::Rb, 24, 4, 0},
    {Field::FmtA, 28, 4, 0},  {Field::FmtB, 32, 4, 0},  {Field::Rsa, 36, 4, 0},
    {Field::Rsb, 40, 4, 0},   {Field::Rmeta, 44, 4, 0}, {Field::M, 48, 8, 1},
    {Field::N, 56, 8, 1},     {Field::K, 64, 16, 0},    {Field::Lda, 80, 16, 0},
    {Field::Ldb, 96, 16, 0},  {Field::Ldc, 112, 12, 0}, {Field::Pattern, 124, 2, 0},
    {Field::ZSkip, 126, 2, 0}};
constexpr FieldSlot kLayoutV[] = {
    {Field::Rd, 16, 4, 0},    {Field::Ra, 20, 4, 0},    {Field::Rb, 24, 4, 0},
    {Field::Fs, 28, 4, 0},    {Field::DImm, 32, 20, 0}, {Field::AImm, 52, 20, 0},
    {Field::BImm, 72, 20, 0}, {Field::N, 92, 20, 0},    {Field::Seg, 112, 16, 0}};

using K = OperandKind;
using F = Field;
constexpr OperandSpec kNone[] = {{"", K::Flag, F::Count, F::Count, 0, true}};
constexpr OperandSpec kLi[] = {{"rd", K::Reg, F::Rd}, {"imm", K::Imm32, F::Imm}};
constexpr OperandSpec kAddi[] = {
    {"rd", K::Reg, F::Rd}, {"rs", K::Reg, F::Rs}, {"imm", K::Simm, F::Imm}};
constexpr OperandSpec kAdd[] = {
    {"rd", K::Reg, F::Rd}, {"rs", K::Reg, F::Rs}, {"rt", K::Reg, F::Rt}};
constexpr OperandSpec kFli[] = {{"fd", K::FReg, F::Rd}, {"value", K::Float, F::Imm}};
constexpr OperandSpec kLoop[] = {{"rd", K::Reg, F::Rd}, {"target", K::Target, F::Imm}};
#define DMA_COMMON(localKey)                                                                       \
  {localKey, K::RegImm, F::Rl, F::LImm}, {"dram", K::RegImm, F::Rg, F::GImm},                      \
      {"rows", K::Uimm, F::Rows}, {"cols", K::Uimm, F::Cols}, {"gstride", K::Uimm, F::GStride}, {  \
    "lstride", K::Uimm, F::LStride                                                                 \
  }
constexpr OperandSpec kLd[] = {
    DMA_COMMON("spad"), {"src", K::Format, F::FmtA}, {"dst", K::Format, F::FmtB}};
constexpr OperandSpec kLdAcc[] = {DMA_COMMON("acc"), {"src", K::Format, F::FmtA}};
constexpr OperandSpec kLdScale[] = {DMA_COMMON("scale")};
constexpr OperandSpec kLdMeta[] = {DMA_COMMON("meta")};
constexpr OperandSpec kSt[] = {DMA_COMMON("acc"),
                               {"fmt", K::Format, F::FmtA},
                               {"scales", K::Reg, F::Rx, F::Count, 0, true},
                               {"prescale", K::FlagFReg, F::Fs, F::Count, flag::Prescale, true},
                               {"sr", K::Flag, F::Count, F::Count, flag::Stochastic, true},
                               {"scale_up", K::Flag, F::Count, F::Count, flag::ScaleUp, true},
                               {"sat", K::Flag, F::Count, F::Count, flag::Saturate, true}};
#undef DMA_COMMON
constexpr OperandSpec kStStat[] = {{"dram", K::RegImm, F::Rg, F::GImm}};
constexpr OperandSpec kSeed[] = {{"state", K::Uimm, F::Imm}};
#define GEMM_COMMON                                                                                \
  {"c", K::Reg, F::Rc}, {"a", K::Reg, F::Ra}, {"b", K::Reg, F::Rb}, {"m", K::Uimm, F::M},          \
      {"n", K::Uimm, F::N}, {"k", K::Uimm, F::K}, {"lda", K::Uimm, F::Lda},                        \
      {"ldb", K::Uimm, F::Ldb}, {"ldc", K::Uimm, F::Ldc}, {"fa", K::Format, F::FmtA}, {            \
    "fb", K::Format, F::FmtB                                                                       \
  }
#define GEMM_TAIL                                                                                  \
  {"sa", K::Reg, F::Rsa, F::Count, 0, true}, {"sb", K::Reg, F::Rsb, F::Count, 0, true},            \
      {"zs", K::ZeroSkip, F::ZSkip, F::Count, 0, true},                                            \
      {"acc", K::Flag, F::Count, F::Count, flag::Accumulate, true},                                \
      {"ta", K::Flag, F::Count, F::Count, flag::TransA, true}, {                                   \
    "tb", K::Flag, F::Count, F::Count, flag::TransB, true                                          \
  }
constexpr OperandSpec kGemm[] = {GEMM_COMMON, GEMM_TAIL};
constexpr OperandSpec kGemmSp[] = {
    GEMM_COMMON, {"meta", K::Reg, F::Rmeta}, {"nm", K::Pattern, F::Pattern}, GEMM_TAIL};
#undef GEMM_COMMON
#undef GEMM_TAIL
constexpr OperandSpec kVBin[] = {{"d", K::RegImm, F::Rd, F::DImm},
                                 {"a", K::RegImm, F::Ra, F::AImm},
                                 {"b", K::RegImm, F::Rb, F::BImm},
                                 {"n", K::Uimm, F::N},
                                 {"seg", K::Uimm, F::Seg, F::Count, 0, true},
                                 {"bcast", K::Flag, F::Count, F::Count, flag::Broadcast, true}};
constexpr OperandSpec kVScalar[] = {{"d", K::RegImm, F::Rd, F::DImm},
                                    {"a", K::RegImm, F::Ra, F::AImm},
                                    {"f", K::FReg, F::Fs},
                                    {"n", K::Uimm, F::N}};
constexpr OperandSpec kVUnary[] = {
    {"d", K::RegImm, F::Rd, F::DImm}, {"a", K::RegImm, F::Ra, F::AImm}, {"n", K::Uimm, F::N}};
constexpr OperandSpec kVFill[] = {
    {"d", K::RegImm, F::Rd, F::DImm}, {"f", K::FReg, F::Fs}, {"n", K::Uimm, F::N}};
constexpr OperandSpec kVReduce[] = {{"d", K::RegImm, F::Rd, F::DImm},
                                    {"a", K::RegImm, F::Ra, F::AImm},
                                    {"n", K::Uimm, F::N},
                                    {"seg", K::Uimm, F::Seg}};
constexpr OperandSpec kVAdamW[] = {{"p", K::RegImm, F::Rd, F::DImm},
                                   {"g", K::RegImm, F::Ra, F::AImm},
                                   {"mv", K::RegImm, F::Rb, F::BImm},
                                   {"n", K::Uimm, F::N},
                                   {"hp", K::FReg, F::Fs}};

uint64_t lowMask(unsigned w) { return w >= 64 ? ~uint64_t(0) : (uint64_t(1) << w) - 1; }

uint64_t getBits(const Word &w, unsigned lsb, unsigned width) {
  if (lsb >= 64)
    return (w.hi >> (lsb - 64)) & lowMask(width);
  if (lsb + width <= 64)
    return (w.lo >> lsb) & lowMask(width);
  unsigned lowW = 64 - lsb;
  return (w.lo >> lsb) | ((w.hi & lowMask(width - lowW)) << lowW);
}

void setBits(Word &w, unsigned lsb, unsigned width, uint64_t v) {
  v &= lowMask(width);
  if (lsb >= 64) {
    w.hi = (w.hi & ~(lowMask(width) << (lsb - 64))) | (v << (lsb - 64));
  } else if (lsb + width <= 64) {
    w.lo = (w.lo & ~(lowMask(width) << lsb)) | (v << lsb);
  } else {
    unsigned lowW = 64 - lsb;
    setBits(w, lsb, lowW, v & lowMask(lowW));
    setBits(w, 64, width - lowW, v >> lowW);
  }
}

std::span<const FieldSlot> slotsOf(Layout l) {
  switch (l) {
  case Layout::S:
    return kLayoutS;
  case Layout::D:
    return kLayoutD;
  case Layout::G:
    return kLayoutG;
  case Layout::V:
    return kLayoutV;
  }
  return {};
}

/// Fields an opcode uses (from its operand specs) and the flag bits it may set.
struct OpcodeUse {
  std::array<bool, kNumFields> field{};
  uint8_t flags = 0;
};
const OpcodeUse &opcodeUse(Opcode op) {
  static const std::map<Opcode, OpcodeUse> uses = [] {
    std::map<Opcode, OpcodeUse> m;
    for (Opcode o : allOpcodes()) {
      OpcodeUse u;
      for (const OperandSpec &s : operandSpecs(o)) {
        if (s.field != Field::Count)
          u.field[unsigned(s.field)] = true;
        if (s.field2 != Field::Count)
          u.field[unsigned(s.field2)] = true;
        if (s.kind == OperandKind::Flag || s.kind == OperandKind::FlagFReg)
          u.flags |= s.bit;
      }
      m[o] = u;
    }
    return m;
  }();
  return uses.at(op);
}

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool isConvertible(ElemFormat f) {
  return f == ElemFormat::Fp32 || f == ElemFormat::Bf16 || f == ElemFormat::Fp16 ||
         f == ElemFormat::E4m3 || f == ElemFormat::E5m2;
}

bool isVectorOp(Opcode op) { return uint8_t(op) >= 0x30 && uint8_t(op) <= 0x3C; }

} // namespace

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

std::string_view queueName(Queue q) {
  switch (q) {
  case Queue::Front:
    return "front";
  case Queue::Load:
    return "load";
  case Queue::Compute:
    return "compute";
  case Queue::Store:
    return "store";
  }
  return "?";
}

const OpcodeInfo &opcodeInfo(Opcode op) {
  const OpcodeInfo *i = opcodeInfoForCode(uint8_t(op));
  return i ? *i : opcodeTable().front();
}

const OpcodeInfo *opcodeInfoForCode(uint8_t code) {
  static const std::array<const OpcodeInfo *, 256> byCode = [] {
    std::array<const OpcodeInfo *, 256> a{};
    for (const OpcodeInfo &i : opcodeTable())
      a[i.code] = &i;
    return a;
  }();
  return byCode[code];
}

bool opcodeFromMnemonic(std::string_view mnemonic, Opcode &out) {
  for (const OpcodeInfo &i : opcodeTable())
    if (i.mnemonic == mnemonic) {
      out = i.op;
      return true;
    }
  return false;
}

const std::vector<Opcode> &allOpcodes() {
  static const std::vector<Opcode> v = [] {
    std::vector<Opcode> r;
    for (const OpcodeInfo &i : opcodeTable())
      r.push_back(i.op);
    return r;
  }();
  return v;
}

std::string_view fieldName(Field f) {
  return unsigned(f) < kNumFields ? kFieldNames[unsigned(f)] : "?";
}

const ElemFormatInfo &elemFormatInfo(ElemFormat f) { return formatTable().at(unsigned(f)); }

const ElemFormatInfo *elemFormatInfoForCode(uint32_t code) {
  return code < formatTable().size() ? &formatTable()[code] : nullptr;
}

bool elemFormatFromName(std::string_view name, ElemFormat &out) {
  for (const ElemFormatInfo &f : formatTable())
    if (f.name == name) {
      out = f.format;
      return true;
    }
  return false;
}

std::vector<std::string> elemFormatNames() {
  std::vector<std::string> v;
  for (const ElemFormatInfo &f : formatTable())
    v.emplace_back(f.name);
  return v;
}

std::string NmPattern::str() const { return std::to_string(n) + ":" + std::to_string(m); }

NmPattern nmPatternForCode(uint32_t code) {
  static constexpr NmPattern kPatterns[] = {{2, 4}, {1, 4}, {2, 8}, {4, 8}};
  return kPatterns[code & 3];
}

bool nmPatternCode(NmPattern p, uint32_t &code) {
  for (uint32_t c = 0; c < 4; ++c)
    if (nmPatternForCode(c) == p) {
      code = c;
      return true;
    }
  return false;
}

unsigned nmIndexBits(unsigned m) {
  unsigned b = 0;
  while ((1u << b) < m)
    ++b;
  return b;
}

uint32_t Instruction::get(Field f) const {
  switch (f) {
#define ISA_FIELD(Enum, member, desc)                                                              \
  case Field::Enum:                                                                                \
    return member;
#include "accel/Isa.def"
  case Field::Count:
    break;
  }
  return 0;
}

void Instruction::set(Field f, uint32_t v) {
  switch (f) {
#define ISA_FIELD(Enum, member, desc)                                                              \
  case Field::Enum:                                                                                \
    member = v;                                                                                    \
    return;
#include "accel/Isa.def"
  case Field::Count:
    break;
  }
}

std::span<const FieldSlot> layoutSlots(Layout l) { return slotsOf(l); }

const FieldSlot *findSlot(Layout l, Field f) {
  for (const FieldSlot &s : slotsOf(l))
    if (s.field == f)
      return &s;
  return nullptr;
}

std::span<const OperandSpec> operandSpecs(Opcode op) {
  switch (op) {
  case Opcode::Li:
    return kLi;
  case Opcode::Addi:
    return kAddi;
  case Opcode::Add:
  case Opcode::Sub:
    return kAdd;
  case Opcode::Fli:
    return kFli;
  case Opcode::Loop:
    return kLoop;
  case Opcode::Ld:
    return kLd;
  case Opcode::LdAcc:
    return kLdAcc;
  case Opcode::LdScale:
    return kLdScale;
  case Opcode::LdMeta:
    return kLdMeta;
  case Opcode::Gemm:
    return kGemm;
  case Opcode::GemmSp:
    return kGemmSp;
  case Opcode::VAdd:
  case Opcode::VSub:
  case Opcode::VMul:
  case Opcode::VMax:
    return kVBin;
  case Opcode::VAddS:
  case Opcode::VMulS:
    return kVScalar;
  case Opcode::VExp:
  case Opcode::VRsqrt:
  case Opcode::VGelu:
    return kVUnary;
  case Opcode::VFill:
    return kVFill;
  case Opcode::VSum:
  case Opcode::VAmax:
    return kVReduce;
  case Opcode::VAdamW:
    return kVAdamW;
  case Opcode::St:
    return kSt;
  case Opcode::StStat:
    return kStStat;
  case Opcode::Seed:
    return kSeed;
  default:
    return std::span<const OperandSpec>(kNone, 0);
  }
}

bool positionalOperands(Opcode op) { return opcodeInfo(op).queue == Queue::Front; }

uint8_t allowedDeps(Queue q) {
  switch (q) {
  case Queue::Front:
    return 0;
  case Queue::Load:
    return dep::PopNext | dep::PushNext;
  case Queue::Compute:
    return dep::PopPrev | dep::PopNext | dep::PushPrev | dep::PushNext;
  case Queue::Store:
    return dep::PopPrev | dep::PushPrev;
  }
  return 0;
}

std::string_view depName(uint8_t bit) {
  switch (bit) {
  case dep::PopPrev:
    return "pop_prev";
  case dep::PopNext:
    return "pop_next";
  case dep::PushPrev:
    return "push_prev";
  case dep::PushNext:
    return "push_next";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

Word encode(const Instruction &ins) {
  Word w;
  setBits(w, 0, 8, uint8_t(ins.op));
  setBits(w, 8, 4, ins.deps);
  setBits(w, 12, 4, ins.flags);
  const OpcodeUse &use = opcodeUse(ins.op);
  for (const FieldSlot &s : slotsOf(ins.info().layout))
    if (use.field[unsigned(s.field)])
      setBits(w, s.lsb, s.width, uint64_t(ins.get(s.field) - s.bias));
  return w;
}

Expected<Instruction> decode(Word w, const SourceLoc &loc) {
  uint8_t code = uint8_t(getBits(w, 0, 8));
  const OpcodeInfo *info = opcodeInfoForCode(code);
  if (!info)
    return Diagnostic::error("unknown-opcode", "unknown opcode " + hex(code), loc);
  Instruction ins;
  ins.op = info->op;
  ins.deps = uint8_t(getBits(w, 8, 4));
  ins.flags = uint8_t(getBits(w, 12, 4));
  const OpcodeUse &use = opcodeUse(ins.op);
  Word covered;
  setBits(covered, 0, 16, 0xFFFF);
  for (const FieldSlot &s : slotsOf(info->layout)) {
    if (!use.field[unsigned(s.field)])
      continue;
    ins.set(s.field, uint32_t(getBits(w, s.lsb, s.width) + s.bias));
    setBits(covered, s.lsb, s.width, ~uint64_t(0));
  }
  Word stray{w.lo & ~covered.lo, w.hi & ~covered.hi};
  if (stray.lo || stray.hi) {
    unsigned bit =
        stray.lo ? unsigned(__builtin_ctzll(stray.lo)) : 64 + unsigned(__builtin_ctzll(stray.hi));
    return Diagnostic::error("bad-encoding",
                             "'" + std::string(info->mnemonic) + "' does not use bit " +
                                 std::to_string(bit) + ", which is set",
                             loc);
  }
  return ins;
}

std::string encodeProgram(std::span<const Instruction> program) {
  std::string out;
  out.reserve(program.size() * kWordBytes);
  for (const Instruction &ins : program) {
    Word w = encode(ins);
    for (uint64_t part : {w.lo, w.hi})
      for (int b = 0; b < 8; ++b)
        out.push_back(char((part >> (8 * b)) & 0xFF));
  }
  return out;
}

Expected<std::vector<Instruction>> decodeProgram(std::string_view bytes, const std::string &file) {
  if (bytes.size() % kWordBytes != 0)
    return Diagnostic::error("bad-binary",
                             "size " + std::to_string(bytes.size()) +
                                 " bytes is not a multiple of the 16-byte instruction word",
                             SourceLoc{file, 0, 0});
  std::vector<Instruction> prog;
  for (size_t i = 0; i < bytes.size() / kWordBytes; ++i) {
    Word w;
    for (int b = 0; b < 8; ++b) {
      w.lo |= uint64_t(uint8_t(bytes[i * 16 + b])) << (8 * b);
      w.hi |= uint64_t(uint8_t(bytes[i * 16 + 8 + b])) << (8 * b);
    }
    SourceLoc loc{file, uint32_t(i + 1), 0};
    TRY_ASSIGN(Instruction ins, decode(w, loc));
    prog.push_back(ins);
  }
  return prog;
}

//===----------------------------------------------------------------------===//
// Tile configuration
//===----------------------------------------------------------------------===//

const TensorFormatCfg *TileConfig::find(ElemFormat f) const {
  for (const TensorFormatCfg &t : formats)
    if (t.format == f)
      return &t;
  return nullptr;
}

bool TileConfig::supportsPattern(NmPattern p) const {
  return std::find(patterns.begin(), patterns.end(), p) != patterns.end();
}

TileConfig TileConfig::fromArchSpec(const arch::ArchSpec &spec) {
  TileConfig c;
  const arch::TensorUnit &tu = spec.tile.tensor;
  auto clamp32 = [](int64_t v) { return uint32_t(std::clamp<int64_t>(v, 0, 0xFFFFFFFFll)); };
  c.rows = unsigned(tu.rows);
  c.cols = unsigned(tu.cols);
  c.dotWidth = unsigned(tu.dotWidth);
  c.lanes = unsigned(std::max<int64_t>(1, spec.tile.vector.lanes));
  c.spadBytes = clamp32(spec.tile.sramKib * 1024);
  c.accBytes = clamp32(spec.tile.accumulatorKib * 1024);
  c.scaleBytes = c.spadBytes / 16;
  c.metaBytes = c.spadBytes / 4;
  for (const arch::TensorFormat &tf : tu.formats) {
    std::vector<ElemFormat> isa;
    switch (tf.format) {
    case arch::Format::BF16:
      isa = {ElemFormat::Bf16};
      break;
    case arch::Format::FP16:
      isa = {ElemFormat::Fp16};
      break;
    case arch::Format::FP8E4M3:
      isa = {ElemFormat::E4m3};
      break;
    case arch::Format::FP8E5M2:
      isa = {ElemFormat::E5m2};
      break;
    case arch::Format::MXFP8:
      isa = {ElemFormat::MxE4m3, ElemFormat::MxE5m2};
      break;
    case arch::Format::MXFP6:
      isa = {ElemFormat::MxE3m2, ElemFormat::MxE2m3};
      break;
    case arch::Format::MXFP4:
      isa = {ElemFormat::MxE2m1};
      break;
    case arch::Format::MXINT8:
      isa = {ElemFormat::MxInt8};
      break;
    default:
      break; // tf32, int8: not element formats of this ISA (docs/isa.md)
    }
    for (ElemFormat f : isa)
      c.formats.push_back({f, unsigned(std::max(1.0, std::floor(tf.rate))), tf.sparse});
  }
  for (const arch::SparsityPattern &p : tu.sparsityPatterns) {
    uint32_t code;
    NmPattern np{unsigned(p.n), unsigned(p.m)};
    if (nmPatternCode(np, code))
      c.patterns.push_back(np);
  }
  c.zeroSkip = tu.zeroSkipActivations || tu.zeroSkipGradients;
  c.scaleCast = spec.tile.scaleCast.has_value();
  if (c.scaleCast)
    for (arch::Rounding r : spec.tile.scaleCast->rounding)
      c.stochastic |= r == arch::Rounding::Stochastic;
  if (spec.technology.clockGhz > 0)
    c.dmaBytesPerCycle =
        unsigned(std::max(1.0, std::floor(spec.noc.bandwidthGBps / spec.technology.clockGhz)));
  return c;
}

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

namespace {

struct Checker {
  const Instruction &ins;
  const TileConfig *cfg;
  std::vector<Issue> issues;

  void add(std::string id, std::string msg, std::optional<Field> f = std::nullopt,
           bool flags = false) {
    issues.push_back({std::move(id), std::move(msg), f, flags});
  }
  std::string mnem() const { return "'" + std::string(ins.info().mnemonic) + "'"; }
  uint32_t v(Field f) const { return ins.get(f); }

  const ElemFormatInfo *format(Field f) {
    const ElemFormatInfo *fi = elemFormatInfoForCode(v(f));
    if (!fi)
      add("unknown-format", "unknown element format code " + std::to_string(v(f)), f);
    return fi;
  }

  /// `extent` units of memory `what` (size `size`) from base register `reg` + offset.
  void fits(const char *what, uint64_t size, uint64_t extent, Field reg, Field off) {
    // A base register other than r0 adds its run-time value: the offset alone must fit.
    uint64_t base = off == Field::Count ? 0 : v(off);
    if (base + extent > size)
      add("operand-out-of-range",
          std::string(what) + " region of " + std::to_string(extent) + " (from offset " +
              std::to_string(base) + ") exceeds the " + std::to_string(size) +
              (v(reg) == 0 ? "" : " (register base adds more at run time)") + " available",
          off == Field::Count ? reg : off);
  }

  void run();
  void dma();
  void gemm();
  void vector();
};

void Checker::run() {
  const OpcodeInfo &info = ins.info();
  const OpcodeUse &use = opcodeUse(ins.op);
  if (ins.deps & ~allowedDeps(info.queue)) {
    std::string bad;
    for (uint8_t b = 1; b < 16; b <<= 1)
      if (ins.deps & b & ~allowedDeps(info.queue))
        bad += (bad.empty() ? "" : ", ") + std::string(depName(b));
    add("bad-dependence",
        mnem() + " (" + std::string(queueName(info.queue)) + " queue) cannot use " + bad +
            (info.queue == Queue::Front   ? ": front-end instructions take no tokens"
             : info.queue == Queue::Load  ? ": the load queue has no previous queue"
             : info.queue == Queue::Store ? ": the store queue has no next queue"
                                          : ""),
        std::nullopt, true);
  }
  if (ins.flags & ~use.flags)
    add("bad-flags", mnem() + " does not use flag bits " + hex(ins.flags & ~use.flags),
        std::nullopt, true);
  for (unsigned f = 0; f < kNumFields; ++f) {
    Field field = Field(f);
    uint32_t val = ins.get(field);
    if (!use.field[f]) {
      if (val != 0)
        add("bad-encoding",
            mnem() + " does not use field '" + std::string(fieldName(field)) + "', which must be 0",
            field);
      continue;
    }
    const FieldSlot *s = findSlot(info.layout, field);
    uint64_t lo = s->bias, hi = s->bias + lowMask(s->width);
    if (val < lo || val > hi)
      add("operand-out-of-range",
          "'" + std::string(fieldName(field)) + "' = " + std::to_string(val) + " is outside " +
              std::to_string(lo) + ".." + std::to_string(hi),
          field);
  }
  if (!issues.empty())
    return;
  switch (ins.op) {
  case Opcode::Li:
  case Opcode::Addi:
  case Opcode::Add:
  case Opcode::Sub:
  case Opcode::Loop:
    if (ins.rd == 0)
      add("bad-register", "r0 is hardwired to zero and cannot be written by " + mnem(), Field::Rd);
    break;
  case Opcode::Seed:
    if (ins.imm > 0xFFFF)
      add("operand-out-of-range", "LFSR state " + std::to_string(ins.imm) + " does not fit 16 bits",
          Field::Imm);
    break;
  case Opcode::Ld:
  case Opcode::LdAcc:
  case Opcode::LdScale:
  case Opcode::LdMeta:
  case Opcode::St:
    dma();
    break;
  case Opcode::StStat:
    if (ins.gimm % 4 != 0)
      add("misaligned", "ststat writes two FP32 words: the DRAM offset must be a multiple of 4",
          Field::GImm);
    break;
  case Opcode::Gemm:
  case Opcode::GemmSp:
    gemm();
    break;
  default:
    if (isVectorOp(ins.op))
      vector();
    break;
  }
}

void Checker::dma() {
  const bool store = ins.op == Opcode::St;
  if (ins.rows == 0)
    add("operand-out-of-range", "rows must be at least 1", Field::Rows);
  if (ins.cols == 0)
    add("operand-out-of-range", "cols must be at least 1", Field::Cols);
  if (!issues.empty())
    return;
  // Element widths on the DRAM side and the local side.
  unsigned gBits = 8, lBits = 8;
  const ElemFormatInfo *g = nullptr;
  if (ins.op == Opcode::Ld || ins.op == Opcode::LdAcc || store) {
    g = format(Field::FmtA);
    if (!g)
      return;
    gBits = g->bits;
    lBits = 32;
  }
  if (ins.op == Opcode::Ld) {
    const ElemFormatInfo *l = format(Field::FmtB);
    if (!l)
      return;
    lBits = l->bits;
    if (g->format != l->format && !(isConvertible(g->format) && isConvertible(l->format)))
      add("unsupported-conversion",
          "ld converts only between fp32, bf16, fp16, e4m3 and e5m2 (" + std::string(g->name) +
              " -> " + std::string(l->name) + "); MX data is copied in its own format",
          Field::FmtB);
  }
  if (ins.op == Opcode::LdAcc && !isConvertible(g->format))
    add("unsupported-conversion",
        "ldacc widens fp32, bf16, fp16, e4m3 or e5m2 to FP32, not " + std::string(g->name),
        Field::FmtA);
  uint64_t gRowBits = uint64_t(ins.cols) * gBits, lRowBits = uint64_t(ins.cols) * lBits;
  if (gRowBits % 8 != 0)
    add("misaligned",
        std::to_string(ins.cols) + " elements of " + std::to_string(gBits) +
            " bits do not fill whole bytes: DRAM rows must be byte multiples",
        Field::Cols);
  if (lRowBits % 8 != 0 && ins.op == Opcode::Ld)
    add("misaligned",
        std::to_string(ins.cols) + " elements of " + std::to_string(lBits) +
            " bits do not fill whole bytes: SPAD rows must be byte multiples",
        Field::Cols);
  const bool acc = ins.op == Opcode::LdAcc || store;
  uint64_t lRow = acc ? ins.cols : lRowBits / 8; // words for ACC, bytes otherwise
  uint64_t gRow = gRowBits / 8;
  if (ins.rows > 1 && ins.lstride < lRow)
    add("bad-stride",
        "local row stride " + std::to_string(ins.lstride) + " is less than a row (" +
            std::to_string(lRow) + (acc ? " words" : " bytes") + "): rows would overlap",
        Field::LStride);
  if (store && ins.rows > 1 && ins.gstride < gRow)
    add("bad-stride",
        "DRAM row stride " + std::to_string(ins.gstride) + " is less than a row (" +
            std::to_string(gRow) + " bytes): stored rows would overlap",
        Field::GStride);
  if (store) {
    const bool mx = g->mx;
    if (mx && ins.rows > 1 && (uint64_t(ins.gstride) * 8) % (32 * gBits) != 0)
      add("misaligned",
          "an MX store derives the scale row stride from gstride: gstride * 8 must be a "
          "multiple of 32 * " +
              std::to_string(gBits) + " bits",
          Field::GStride);
    if ((ins.flags & flag::ScaleUp) && !mx)
      add("bad-flags",
          "scale_up selects the MX scale rounding; " + std::string(g->name) +
              " is not an MX format",
          std::nullopt, true);
    if ((ins.flags & flag::Saturate) && mx)
      add("bad-flags", "MX element conversion always saturates; drop 'sat'", std::nullopt, true);
    if ((ins.flags & flag::Stochastic) && g->format == ElemFormat::Fp32)
      add("bad-flags", "a store to fp32 does not round; drop 'sr'", std::nullopt, true);
    if (!(ins.flags & flag::Prescale) && ins.fs != 0)
      add("bad-encoding", "fs is set without the prescale flag", Field::Fs);
    if (!mx && ins.rx != 0)
      add("bad-encoding", "'scales' is only used by MX stores", Field::Rx);
    if (cfg) {
      bool basic = g->format == ElemFormat::Fp32 || g->format == ElemFormat::Bf16 ||
                   g->format == ElemFormat::Fp16;
      if (!cfg->scaleCast && (!basic || (ins.flags & (flag::Stochastic | flag::Prescale))))
        add("unsupported-format",
            "this tile has no scale-cast unit: st writes only fp32, bf16 or fp16 with RNE",
            Field::FmtA);
      else if (!basic && !cfg->find(g->format))
        add("unsupported-format",
            "the store path of this tile does not cast to " + std::string(g->name), Field::FmtA);
      if ((ins.flags & flag::Stochastic) && cfg->scaleCast && !cfg->stochastic)
        add("unsupported-rounding", "this tile's scale-cast unit has no stochastic rounding",
            std::nullopt, true);
    }
  }
  if (cfg) {
    uint64_t size = 0;
    const char *what = "";
    switch (ins.op) {
    case Opcode::Ld:
      size = cfg->spadBytes, what = "SPAD";
      break;
    case Opcode::LdScale:
      size = cfg->scaleBytes, what = "scale-memory";
      break;
    case Opcode::LdMeta:
      size = cfg->metaBytes, what = "metadata-memory";
      break;
    default:
      size = cfg->accWords(), what = "ACC (words)";
      break;
    }
    fits(what, size, uint64_t(ins.rows - 1) * ins.lstride + lRow, Field::Rl, Field::LImm);
  }
}

void Checker::gemm() {
  const bool sparse = ins.op == Opcode::GemmSp;
  if (ins.k == 0)
    add("operand-out-of-range", "k must be at least 1", Field::K);
  const ElemFormatInfo *fa = format(Field::FmtA);
  const ElemFormatInfo *fb = format(Field::FmtB);
  if (!fa || !fb || !issues.empty())
    return;
  for (auto [fi, f] : {std::pair{fa, Field::FmtA}, std::pair{fb, Field::FmtB}})
    if (fi->format == ElemFormat::Fp32)
      add("unsupported-format", "the tensor unit does not multiply fp32 operands", f);
  if (fa->mx && (ins.flags & flag::TransA))
    add("bad-layout", "MX operand A must be K-contiguous (its blocks run along K): drop 'ta'",
        std::nullopt, true);
  if (fb->mx && (ins.flags & flag::TransB))
    add("bad-layout", "MX operand B must be K-contiguous (its blocks run along K): drop 'tb'",
        std::nullopt, true);
  NmPattern p = nmPatternForCode(ins.pattern);
  uint64_t kA = ins.k; // stored A elements per row
  if (sparse) {
    if (ins.flags & flag::TransA)
      add("bad-layout",
          "the sparse operand A is stored compressed along K and cannot be transposed",
          std::nullopt, true);
    if (ins.k % p.m != 0)
      add("misaligned",
          "k = " + std::to_string(ins.k) + " is not a multiple of the " + p.str() + " group size " +
              std::to_string(p.m),
          Field::K);
    kA = uint64_t(ins.k) * p.n / p.m;
    if (fa->mx && (uint64_t(ins.lda) * p.m) % (32ull * p.n) != 0)
      add("misaligned",
          "sparse MX A: lda * m / n (the dense row length) must be a multiple of 32 so that "
          "the scale row stride is whole",
          Field::Lda);
  } else if (fa->mx && ins.lda % 32 != 0) {
    add("misaligned", "MX A: lda must be a multiple of 32 (scale row stride lda / 32)", Field::Lda);
  }
  if (fb->mx && ins.ldb % 32 != 0)
    add("misaligned", "MX B: ldb must be a multiple of 32 (scale row stride ldb / 32)", Field::Ldb);
  if (!fa->mx && ins.rsa != 0)
    add("bad-encoding", "'sa' is only used when A is an MX format", Field::Rsa);
  if (!fb->mx && ins.rsb != 0)
    add("bad-encoding", "'sb' is only used when B is an MX format", Field::Rsb);
  if (ins.m > 1 && ins.ldc < ins.n)
    add("bad-stride",
        "ldc = " + std::to_string(ins.ldc) + " is less than n = " + std::to_string(ins.n) +
            ": rows of C would overlap",
        Field::Ldc);
  if (!cfg)
    return;
  if (ins.m > cfg->rows)
    add("operand-out-of-range",
        "m = " + std::to_string(ins.m) + " exceeds the array's " + std::to_string(cfg->rows) +
            " rows",
        Field::M);
  if (ins.n > cfg->cols)
    add("operand-out-of-range",
        "n = " + std::to_string(ins.n) + " exceeds the array's " + std::to_string(cfg->cols) +
            " columns",
        Field::N);
  const TensorFormatCfg *ta = cfg->find(fa->format), *tb = cfg->find(fb->format);
  if (!ta)
    add("unsupported-format",
        "the tensor unit of this tile does not multiply " + std::string(fa->name), Field::FmtA);
  if (!tb)
    add("unsupported-format",
        "the tensor unit of this tile does not multiply " + std::string(fb->name), Field::FmtB);
  if (sparse) {
    if (!cfg->supportsPattern(p))
      add("unsupported-sparsity", "the tensor unit does not support " + p.str() + " sparsity",
          Field::Pattern);
    else if (ta && !ta->sparse)
      add("unsupported-sparsity",
          std::string(fa->name) + " is not a sparse-capable format of this tensor unit",
          Field::FmtA);
  }
  if (ins.zskip != 0 && !cfg->zeroSkip)
    add("unsupported-feature", "this tensor unit has no zero skipping", Field::ZSkip);
  fits("ACC (words)", cfg->accWords(), uint64_t(ins.m - 1) * ins.ldc + ins.n, Field::Rc,
       Field::Count);
  auto bits = [&](bool trans, uint64_t rowsI, uint64_t kLen, uint64_t ld, unsigned eb) {
    uint64_t last = trans ? (kLen - 1) * ld + (rowsI - 1) : (rowsI - 1) * ld + (kLen - 1);
    return ((last + 1) * eb + 7) / 8;
  };
  fits("SPAD", cfg->spadBytes, bits(ins.flags & flag::TransA, ins.m, kA, ins.lda, fa->bits),
       Field::Ra, Field::Count);
  fits("SPAD", cfg->spadBytes, bits(ins.flags & flag::TransB, ins.n, ins.k, ins.ldb, fb->bits),
       Field::Rb, Field::Count);
}

void Checker::vector() {
  const bool reduce = ins.op == Opcode::VSum || ins.op == Opcode::VAmax;
  const bool bcast = ins.flags & flag::Broadcast;
  if (ins.n == 0) {
    add("operand-out-of-range", "n must be at least 1", Field::N);
    return;
  }
  if (reduce || bcast) {
    if (ins.seg == 0 || ins.n % ins.seg != 0)
      add("bad-segment",
          "seg = " + std::to_string(ins.seg) +
              " must be at least 1 and divide n = " + std::to_string(ins.n),
          Field::Seg);
  } else if (ins.seg != 0) {
    add("bad-segment", "seg is used only with 'bcast'", Field::Seg);
  }
  if (ins.op == Opcode::VAdamW && ins.fs > 7)
    add("bad-register",
        "vadamw reads f" + std::to_string(ins.fs) + "..f" + std::to_string(ins.fs + 8) +
            ": hp must be f0..f7",
        Field::Fs);
  if (!cfg || !issues.empty())
    return;
  const uint64_t words = cfg->accWords();
  uint64_t dLen = reduce ? ins.n / ins.seg : ins.n;
  fits("ACC (words)", words, dLen, Field::Rd, Field::DImm);
  if (ins.op != Opcode::VFill)
    fits("ACC (words)", words, ins.n, Field::Ra, Field::AImm);
  if (ins.op == Opcode::VAdamW)
    fits("ACC (words)", words, 2ull * ins.n, Field::Rb, Field::BImm);
  else if (findSlot(Layout::V, Field::BImm) && opcodeUse(ins.op).field[unsigned(Field::BImm)])
    fits("ACC (words)", words, bcast ? ins.n / ins.seg : ins.n, Field::Rb, Field::BImm);
}

} // namespace

std::vector<Issue> checkInstruction(const Instruction &ins, const TileConfig *cfg) {
  if (!opcodeInfoForCode(uint8_t(ins.op)))
    return {{"unknown-opcode", "unknown opcode " + hex(uint8_t(ins.op)), std::nullopt, false}};
  Checker c{ins, cfg, {}};
  c.run();
  return std::move(c.issues);
}

bool verifyProgram(std::span<const Instruction> program, const TileConfig *cfg,
                   DiagnosticEngine &diags, std::span<const SourceLoc> locs,
                   const std::string &file) {
  size_t before = diags.errorCount();
  auto where = [&](size_t i) {
    return i < locs.size() ? locs[i] : SourceLoc{file, uint32_t(i + 1), 0};
  };
  bool halt = false;
  for (size_t i = 0; i < program.size(); ++i) {
    const Instruction &ins = program[i];
    for (Issue &is : checkInstruction(ins, cfg))
      diags.report(Diagnostic::error(is.id, is.message, where(i)));
    if (ins.op == Opcode::Halt)
      halt = true;
    if (ins.op == Opcode::Loop && ins.imm >= program.size())
      diags.report(Diagnostic::error("bad-target",
                                     "loop target " + std::to_string(ins.imm) +
                                         " is outside the program (" +
                                         std::to_string(program.size()) + " instructions)",
                                     where(i)));
  }
  if (!halt)
    diags.report(
        Diagnostic::error("missing-halt", "the program has no halt",
                          program.empty() ? SourceLoc{file, 0, 0} : where(program.size() - 1)));
  return diags.errorCount() == before;
}

//===----------------------------------------------------------------------===//
// Timing
//===----------------------------------------------------------------------===//

unsigned gemmStepK(const Instruction &g, const TileConfig &cfg) {
  unsigned rate = 1;
  if (const ElemFormatInfo *fa = elemFormatInfoForCode(g.fmtA))
    if (const TensorFormatCfg *t = cfg.find(fa->format))
      rate = t->rate;
  if (const ElemFormatInfo *fb = elemFormatInfoForCode(g.fmtB))
    if (const TensorFormatCfg *t = cfg.find(fb->format))
      rate = std::min(rate, t->rate);
  unsigned step = cfg.dotWidth * rate;
  if (g.op == Opcode::GemmSp) {
    NmPattern p = nmPatternForCode(g.pattern);
    step = step * p.m / p.n;
  }
  return std::max(1u, step);
}

uint64_t gemmSteps(const Instruction &g, const TileConfig &cfg) {
  unsigned s = gemmStepK(g, cfg);
  return (uint64_t(g.k) + s - 1) / s;
}

GemmTiming gemmTiming(const Instruction &g, const TileConfig &cfg, uint64_t skippedSteps) {
  uint64_t total = gemmSteps(g, cfg);
  uint64_t steps = total - std::min(total, skippedSteps);
  return {std::max<uint64_t>(steps, cfg.rows), steps + cfg.rows + cfg.cols};
}

} // namespace tessera::accel
