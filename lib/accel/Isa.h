//===- Isa.h - the instruction set of the Tessera training tile -------------===//
//
// A fixed-width 128-bit ISA for one tile (docs/isa.md is the manual): a front end that
// runs scalar instructions (address registers r0..r15, FP32 scalars f0..f15, a counted
// loop) and dispatches the rest to three queues, load (DMA in), compute (GEMM, vector)
// and store (quantize-on-store DMA out), synchronised by VTA-style dependence tokens
// (Moreau et al., "A Hardware-Software Blueprint for Flexible Deep Learning
// Specialization", 2019).
//
// Opcodes, fields and element formats are declared once in Isa.def. An Instruction is a
// plain value with one member per field; encode/decode map it to and from a 128-bit Word
// (per-layout bit tables in Isa.cpp); checkInstruction is the verifier of one instruction,
// alone (encodability, ISA rules) or against a TileConfig (array size, memories,
// formats, sparsity, scale-cast features). The operand syntax table (operandSpecs) is
// shared by the assembler and the disassembler, so the two agree by construction.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "numerics/Numerics.h"
#include "support/Expected.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::arch {
struct ArchSpec;
}

namespace tessera::accel {

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

enum class Opcode : uint8_t {
#define ISA_OPCODE(Enum, code, ...) Enum = code,
#include "accel/Isa.def"
};

/// Bit layout family of an instruction word (docs/isa.md, "Encoding").
enum class Layout : uint8_t { S, D, G, V };
/// Who executes an instruction.
enum class Queue : uint8_t { Front, Load, Compute, Store };
std::string_view queueName(Queue q); ///< "front", "load", "compute", "store"

struct OpcodeInfo {
  Opcode op;
  uint8_t code;
  std::string_view mnemonic;
  Layout layout;
  Queue queue;
  std::string_view summary;
};
const OpcodeInfo &opcodeInfo(Opcode op);
/// nullptr when `code` is not an opcode.
const OpcodeInfo *opcodeInfoForCode(uint8_t code);
bool opcodeFromMnemonic(std::string_view mnemonic, Opcode &out);
/// All opcodes in Isa.def order.
const std::vector<Opcode> &allOpcodes();

enum class Field : uint8_t {
#define ISA_FIELD(Enum, member, desc) Enum,
#include "accel/Isa.def"
  Count
};
inline constexpr unsigned kNumFields = unsigned(Field::Count);
std::string_view fieldName(Field f); ///< the member name, e.g. "lda"

/// 4-bit element-format codes (fmtA / fmtB).
enum class ElemFormat : uint8_t {
#define ISA_FORMAT(Enum, code, ...) Enum = code,
#include "accel/Isa.def"
};
inline constexpr unsigned kNumElemFormats = 11;
struct ElemFormatInfo {
  ElemFormat format;
  std::string_view name; ///< assembler spelling: "bf16", "e4m3", "mxe2m1", ...
  numerics::Format element;
  bool mx;       ///< carries E8M0 block scales (blocks of numerics::kMxBlock along K / a row)
  unsigned bits; ///< storage bits of one element
};
const ElemFormatInfo &elemFormatInfo(ElemFormat f);
/// nullptr when `code` is not a format code.
const ElemFormatInfo *elemFormatInfoForCode(uint32_t code);
bool elemFormatFromName(std::string_view name, ElemFormat &out);
std::vector<std::string> elemFormatNames();

/// Dependence-token bits (instruction bits [11:8]).
namespace dep {
inline constexpr uint8_t PopPrev = 1, PopNext = 2, PushPrev = 4, PushNext = 8;
}
/// Opcode-specific flag bits (instruction bits [15:12]).
namespace flag {
inline constexpr uint8_t Accumulate = 1, TransA = 2, TransB = 4;                  // gemm, gemmsp
inline constexpr uint8_t Stochastic = 1, ScaleUp = 2, Prescale = 4, Saturate = 8; // st
inline constexpr uint8_t Broadcast = 1; // vadd, vsub, vmul, vmax
} // namespace flag

/// Zero-skip modes of a GEMM (field zskip).
enum class ZeroSkip : uint8_t { Off = 0, A = 1, B = 2, Either = 3 };

/// N:M sparsity pattern: at most n non-zeros in each group of m along K.
struct NmPattern {
  unsigned n = 2, m = 4;
  bool operator==(const NmPattern &) const = default;
  std::string str() const; ///< "2:4"
};
/// Pattern codes 0..3 (field pattern): 2:4, 1:4, 2:8, 4:8.
NmPattern nmPatternForCode(uint32_t code);
bool nmPatternCode(NmPattern p, uint32_t &code);
/// Bits of one metadata index: ceil(log2 m).
unsigned nmIndexBits(unsigned m);

//===----------------------------------------------------------------------===//
// Instructions and words
//===----------------------------------------------------------------------===//

struct Instruction {
  Opcode op = Opcode::Nop;
  uint8_t deps = 0;  ///< dep:: bits
  uint8_t flags = 0; ///< flag:: bits
#define ISA_FIELD(Enum, member, desc) uint32_t member = 0;
#include "accel/Isa.def"

  uint32_t get(Field f) const;
  void set(Field f, uint32_t v);
  const OpcodeInfo &info() const { return opcodeInfo(op); }
  bool operator==(const Instruction &) const = default;
};

/// One 128-bit instruction word; in files, lo then hi, each little-endian.
struct Word {
  uint64_t lo = 0, hi = 0;
  bool operator==(const Word &) const = default;
};
inline constexpr unsigned kWordBytes = 16;

/// Bit position of one field in a layout.
struct FieldSlot {
  Field field;
  unsigned lsb, width;
  uint32_t bias; ///< stored = value - bias (M and N are stored minus one)
};
/// The field slots of a layout, in bit order (docs/isa.md encoding tables).
std::span<const FieldSlot> layoutSlots(Layout l);
/// The slot of `f` in `l`, or nullptr.
const FieldSlot *findSlot(Layout l, Field f);

/// Encodes an instruction whose fields fit their slots (checkInstruction reports those
/// that do not as `operand-out-of-range`); out-of-range bits are masked off.
Word encode(const Instruction &ins);
/// Decodes one word: `unknown-opcode` for an unassigned opcode, `bad-encoding` when a
/// bit the opcode does not use is set. Field values are not checked (checkInstruction).
Expected<Instruction> decode(Word w, const SourceLoc &loc = {});

/// Words as bytes (16 per instruction) and back. decodeProgram locates a problem as
/// `file:N`, N the 1-based instruction number; a size that is not a multiple of 16 is
/// `bad-binary`.
std::string encodeProgram(std::span<const Instruction> program);
Expected<std::vector<Instruction>> decodeProgram(std::string_view bytes, const std::string &file);

//===----------------------------------------------------------------------===//
// The tile an instruction runs on
//===----------------------------------------------------------------------===//

/// One element format the tensor unit multiplies.
struct TensorFormatCfg {
  ElemFormat format = ElemFormat::Bf16;
  unsigned rate = 1;   ///< K elements per PE per cycle in units of dotWidth (1 or 2)
  bool sparse = false; ///< may be the sparse operand of gemmsp
};

/// What checkInstruction and the timing contract need to know about a tile.
struct TileConfig {
  unsigned rows = 4, cols = 4, dotWidth = 4, lanes = 4;
  uint32_t spadBytes = 16384; ///< scratchpad (operand tiles), byte addressed
  uint32_t accBytes = 1024;   ///< accumulator memory, FP32 words (word addressed)
  uint32_t scaleBytes = 1024; ///< block-scale memory: spadBytes / 16
  uint32_t metaBytes = 4096;  ///< N:M metadata memory: spadBytes / 4
  std::vector<TensorFormatCfg> formats;
  std::vector<NmPattern> patterns; ///< encodable patterns the tensor unit supports
  bool zeroSkip = false;           ///< zero_skipping activations or gradients
  bool scaleCast = false;          ///< store path can cast to narrow / MX formats
  bool stochastic = false;         ///< scale-cast supports stochastic rounding
  // Timing contract (docs/isa.md, "Timing").
  unsigned dmaBytesPerCycle = 16;
  unsigned dmaLatency = 16;
  unsigned vectorLatency = 4;
  unsigned queueDepth = 8; ///< instructions a queue holds
  unsigned tokenDepth = 8; ///< tokens a dependence-token FIFO holds

  uint32_t accWords() const { return accBytes / 4; }
  const TensorFormatCfg *find(ElemFormat f) const;
  bool supportsPattern(NmPattern p) const;

  /// The tile of an arch spec (docs/isa.md, "Tile configuration" lists the mapping).
  static TileConfig fromArchSpec(const arch::ArchSpec &spec);
};

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

/// One problem with an instruction: a stable id (`operand-out-of-range`,
/// `unsupported-format`, ...), a message, and the field at fault (for locations).
struct Issue {
  std::string id;
  std::string message;
  std::optional<Field> field;
  bool flagsField = false; ///< the problem is in the flags / deps bits
};

/// Checks one instruction: every used field fits its slot, the ISA's own rules (docs/isa.md
/// per instruction), and, when `cfg` is given, the tile's limits and features.
std::vector<Issue> checkInstruction(const Instruction &ins, const TileConfig *cfg);

/// Checks a whole program: every instruction, branch targets inside the program, and at
/// least one halt. Diagnostics are located at `locs[i]` when given (else `file:N`).
bool verifyProgram(std::span<const Instruction> program, const TileConfig *cfg,
                   DiagnosticEngine &diags, std::span<const SourceLoc> locs = {},
                   const std::string &file = "");

//===----------------------------------------------------------------------===//
// Timing contract (docs/isa.md, "Timing")
//===----------------------------------------------------------------------===//

/// Dense K positions one PE step covers: dotWidth * rate * (m / n when sparse).
unsigned gemmStepK(const Instruction &gemm, const TileConfig &cfg);
/// Steps of a GEMM without zero skipping: ceil(k / gemmStepK).
uint64_t gemmSteps(const Instruction &gemm, const TileConfig &cfg);
struct GemmTiming {
  uint64_t issue;   ///< cycles before the compute queue may start the next GEMM
  uint64_t latency; ///< cycles from start until C is written and tokens are pushed
};
/// steps = gemmSteps - skippedSteps; issue = max(steps, rows); latency = steps + rows + cols.
GemmTiming gemmTiming(const Instruction &gemm, const TileConfig &cfg, uint64_t skippedSteps);

//===----------------------------------------------------------------------===//
// Operand syntax (shared by the assembler and the disassembler)
//===----------------------------------------------------------------------===//

enum class OperandKind : uint8_t {
  Reg,      ///< r0..r15 into `field`
  FReg,     ///< f0..f15 into `field`
  RegImm,   ///< rN+expr: register into `field`, offset into `field2`
  Uimm,     ///< unsigned expression
  Simm,     ///< signed 32-bit expression (stored two's complement)
  Imm32,    ///< any 32-bit value, signed or unsigned spelling
  Float,    ///< FP32 literal or bits(expr), stored as bits
  Target,   ///< label or instruction number
  Format,   ///< element format name
  Pattern,  ///< n:m
  ZeroSkip, ///< off | a | b | either
  Flag,     ///< bare word setting flag bit `bit`
  FlagFReg, ///< key=fN setting flag bit `bit` and `field`
};

struct OperandSpec {
  std::string_view key; ///< keyword (positional operands: the name used in messages)
  OperandKind kind;
  Field field = Field::Count;
  Field field2 = Field::Count;
  uint8_t bit = 0;
  bool optional = false; ///< may be omitted (value 0); printed only when non-zero
};
/// Operands of an opcode in canonical (printing) order. Front-end opcodes take them
/// positionally; queue opcodes as `key=value` / bare flags in any order.
std::span<const OperandSpec> operandSpecs(Opcode op);
/// Whether the opcode's operands are positional.
bool positionalOperands(Opcode op);
/// Dependence bits an opcode of this queue may use (front end: none).
uint8_t allowedDeps(Queue q);
std::string_view depName(uint8_t bit); ///< "pop_prev", ...

} // namespace tessera::accel
