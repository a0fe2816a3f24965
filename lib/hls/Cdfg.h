//===- Cdfg.h - the control/data-flow graph of one HLS kernel ---------------===//
//
// The contract between the HLS front end (LLVM IR -> CDFG, FromLlvm.cpp), the middle end
// (Analysis.h: widths, memories, dependences), the scheduler (Schedule.h) and the RTL
// builder (Rtl.h). One Cdfg is one top-level C function after inlining: everything it
// calls has been inlined by the front end (calls that remain are errors there), except
// shared functions (below).
//
//   Cdfg      arguments, memories, basic blocks, loops, nodes
//   Block     an ordered list of nodes (SSA, operands defined earlier in the block, in a
//             dominating block, or by a Phi of this block) and one terminator
//   Node      one operation on two's-complement bit vectors of `width` bits (1..64); a
//             node with width 0 defines no value (Store, the terminators)
//   Memory    an array: an interface array (a pointer / array argument of the top
//             function, served by the caller through a RAM port) or a local array (a RAM
//             or registers inside the kernel), `depth` elements of `elemWidth` bits,
//             addressed in elements
//   Loop      a natural loop found by the front end (LLVM LoopInfo) with the user's pragmas
//
// Semantics are those of LLVM IR on iN: arithmetic modulo 2^width, division / remainder
// by zero give 0 (LLVM: undefined; the C reference never divides by zero in a passing
// kernel), shifts by >= width give 0 (ShrS: all sign bits), as hw IR (lib/hw/Ops.def).
// Comparison results are 1 bit. Select's condition is 1 bit.
//
// Every node, block, loop and memory keeps the C source location (file:line:col from the
// debug info) of what it came from; the RTL builder puts it on the hw IR ops it creates.
//
// Shared functions (TESSERA_SHARED in tessera/hls.h) are the exception to inlining: a call
// to one stays a `Call` node and the callee's body is a Cdfg of its own in
// Cdfg::callees (scalar args, one return value, one block, no memories, no streams, no
// calls), scheduled once as a pipelined operator and built once per functional unit.
//
// Widths are limited to 64 bits (`_BitInt(N)` with N > 64 and __int128 are front-end
// errors, `unsupported-width`); values are held in uint64_t, zero above the width.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Diagnostics.h"
#include "support/Expected.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::hls {

using NodeId = uint32_t;
using BlockId = uint32_t;
using MemId = uint32_t;
using LoopId = uint32_t;
using StreamId = uint32_t;
inline constexpr uint32_t kNone = UINT32_MAX;

enum class OpKind : uint8_t {
  // Leaves.
  Const, ///< value: Node::value (low `width` bits, two's complement)
  Arg,   ///< a scalar argument of the top function; attr: Cdfg::args index
  // Integer arithmetic, operands and result of `width` bits.
  Add, Sub, Mul, DivU, DivS, RemU, RemS,
  And, Or, Xor,
  Shl, ShrU, ShrS, ///< operand 1 may have any width (unsigned shift amount)
  // Comparisons: operands of equal width, 1-bit result.
  Eq, Ne, LtU, LtS, LeU, LeS, GtU, GtS, GeU, GeS,
  // Structure.
  Select, ///< operands: cond (1 bit), if-true, if-false
  ZExt, SExt, Trunc, ///< one operand; result `width`
  Phi,    ///< operands[i] flows in from Block::preds[i] of the node's block
  // Memory. Addresses are element indices (unsigned, any width); attr: MemId.
  Load,   ///< operands: address; result elemWidth
  Store,  ///< operands: address, data (elemWidth); width 0
  // Streams (blocking ready/valid FIFOs, hls::stream<T>); attr: StreamId.
  StreamRead,  ///< no operands; result: the stream's width (waits for an element)
  StreamWrite, ///< operands: data (the stream's width); width 0 (waits for room)
  // Terminators (last node of every block, width 0).
  Br,     ///< attr: target block
  CondBr, ///< operands: cond; attr: true target, attr2: false target
  Ret,    ///< operands: the returned value, or none for void
  // Shared functional units (function-level binding, docs/hls.md "Shared functions").
  Call,   ///< operands: the arguments (widths of the callee's args); attr: Cdfg::callees
          ///< index; result: the callee's return width
};

std::string_view opName(OpKind k);
bool isTerminator(OpKind k);
bool isCompare(OpKind k);
/// Commutative binary ops (Add, Mul, And, Or, Xor, Eq, Ne).
bool isCommutative(OpKind k);

struct Node {
  OpKind kind = OpKind::Const;
  uint32_t width = 0; ///< result bits; 0: no result
  std::vector<NodeId> operands;
  uint32_t attr = kNone, attr2 = kNone;
  uint64_t value = 0; ///< Const: the low `width` bits (zero above)
  BlockId block = kNone;
  std::string name; ///< the C variable it came from when known ("sum", "i"), else ""
  SourceLoc loc;
};

/// How a scalar argument or the return value crosses the kernel boundary: a plain input
/// port sampled at `start` (or an output port valid at `done`).
struct Arg {
  std::string name;
  uint32_t width = 0;
  bool isSigned = false; ///< as declared in C (for the harness and reports)
  SourceLoc loc;
};

enum class MemKind : uint8_t {
  Interface, ///< a pointer / array argument: RAM ports on the kernel
  Local,     ///< a local or static array: RAM or registers inside the kernel
};

/// Array partitioning (Vitis' terms): cyclic (element i in bank i % factor), block
/// (element i in bank i / ceil(depth / factor)), complete (one register per element).
enum class Partition : uint8_t { None, Cyclic, Block, Complete };

struct Memory {
  std::string name;
  MemKind kind = MemKind::Local;
  uint32_t elemWidth = 0;
  uint32_t depth = 0;        ///< elements (interface arrays: from the C declaration
                             ///< `int a[64]` or `__attribute__` / pragma; required)
  bool isSigned = false;
  bool readOnly = false;     ///< no Store to it (const in C, or found so)
  bool writeOnly = false;    ///< no Load from it
  uint32_t argIndex = kNone; ///< Interface: position among the C function's parameters
  Partition partition = Partition::None;
  uint32_t partitionFactor = 1;
  uint32_t ports = 1;        ///< RAM ports per bank requested (1 or 2)
  /// The user's promise (TESSERA_INDEPENDENT, Vitis' `dependence inter false`): different
  /// iterations of a pipelined loop never access the same element, so no loop-carried
  /// memory dependence is assumed through this array. Co-simulation catches a broken
  /// promise.
  bool independent = false;
  std::vector<uint64_t> init; ///< Local: initial contents (const tables), else empty
  SourceLoc loc;
};

/// A ready/valid stream: an `hls::stream<T> &` parameter of the top function. An input
/// stream is only read (StreamRead), an output stream only written (StreamWrite). Each
/// access blocks until its handshake completes (Rtl.h). `count` is the number of
/// elements the co-simulation harness offers an input stream per call
/// (`TESSERA_DEPTH(n)` on the parameter; 0 for output streams).
enum class StreamDir : uint8_t { In, Out };

struct Stream {
  std::string name;
  uint32_t width = 0;
  StreamDir dir = StreamDir::In;
  bool isSigned = false;
  uint32_t argIndex = kNone; ///< position among the C function's parameters
  uint32_t count = 0;
  SourceLoc loc;
};

struct Loop {
  BlockId header = kNone;
  BlockId latch = kNone;          ///< the single back-edge source (loop-simplify form)
  std::vector<BlockId> blocks;    ///< header first
  std::vector<BlockId> exits;     ///< blocks outside the loop reached from inside
  LoopId parent = kNone;
  std::vector<LoopId> children;
  uint32_t depth = 1;             ///< 1: outermost
  std::optional<uint64_t> tripCount; ///< when constant (SCEV)
  /// `#pragma clang loop pipeline_initiation_interval(N)`: the requested II (0: not
  /// pipelined). `#pragma clang loop pipeline(disable)` gives 0 as well.
  uint32_t requestedII = 0;
  uint32_t unrollCount = 0;       ///< what the front end unrolled by (0: not unrolled)
  SourceLoc loc;                  ///< the `for` / `while` statement
};

/// One parameter of the top function's C signature, as the native co-simulation call
/// needs it (FrontEnd fills it from the debug info).
struct Param {
  std::string name;
  std::string cType;      ///< as spelled in the source: "int", "const int *", "hls::bf16 *"
  bool isArray = false;   ///< pointer / array parameter: `index` is a Memory
  bool isStream = false;  ///< hls::stream<T> & parameter: `index` is a Stream
  uint32_t index = kNone; ///< Cdfg::args (scalar), Cdfg::memories (array) or
                          ///< Cdfg::streams (stream) index
  uint32_t bytes = 0;     ///< sizeof the scalar, or of one element, in the native ABI
};

struct Block {
  std::string name;
  std::vector<NodeId> nodes; ///< program order; phis first, terminator last
  std::vector<BlockId> preds;
  std::vector<BlockId> succs;
  LoopId loop = kNone;       ///< innermost loop containing it
  SourceLoc loc;
};

class Cdfg {
public:
  std::string name;          ///< the top function
  SourceLoc loc;
  std::vector<Arg> args;     ///< scalar arguments, in C parameter order among scalars
  std::optional<Arg> ret;    ///< the return value, when not void
  std::vector<Param> params; ///< the C signature, in order
  std::string retCType = "void";
  std::string sourceFile;    ///< the kernel's file (what the native harness compiles)
  std::vector<Memory> memories;
  std::vector<Stream> streams;
  std::vector<Block> blocks; ///< block 0 is the entry
  std::vector<Loop> loops;
  std::vector<Node> nodes;
  /// Shared functions called by `Call` nodes (only on the top's Cdfg; a callee has none).
  std::vector<Cdfg> callees;
  /// A callee: the most units of it (TESSERA_SHARED_LIMIT(n)); 0: the default (docs/hls.md).
  uint32_t unitLimit = 0;

  const Node &node(NodeId n) const { return nodes[n]; }
  Node &node(NodeId n) { return nodes[n]; }

  /// Appends a node to the end of `block` (no checking; verify() checks).
  NodeId add(BlockId block, Node n);
  /// Users of every node (computed on demand; invalidated by edits).
  std::vector<std::vector<NodeId>> users() const;
  /// The best C location for node `n` in a message: its own, else that of the nearest
  /// located user or operand (breadth first), else its block's, else the function's.
  /// (Nodes the front end or the middle end synthesise, e.g. index arithmetic, may have
  /// none of their own.)
  SourceLoc locOf(NodeId n) const;
  /// Blocks in reverse post-order from the entry.
  std::vector<BlockId> reversePostOrder() const;

  /// Structural checks: operand widths as the kinds require, SSA dominance within the
  /// CFG, phis first with one operand per predecessor, one terminator per block last,
  /// succs / preds consistent with the terminators, memory ids in range. Errors name the
  /// node and its source location (`bad-cdfg`).
  Status verify() const;

  /// A readable listing (one node per line with its C location), for tests and
  /// `tessera hls --dump-cdfg`.
  std::string print() const;
};

/// Evaluates the CDFG on concrete inputs, as the C function would: `args` by Cdfg::args,
/// `mems` one vector per Memory (interface arrays in, updated in place; locals start
/// from init or zeros). Returns the return value (0 for void). Fails after `maxSteps`
/// executed nodes (a hang) or on an out-of-range memory access (naming the node).
/// The reference the RTL and the native C are both compared with in tests.
/// A `Call` evaluates the callee's Cdfg (its steps count).
struct EvalResult {
  uint64_t ret = 0;
  uint64_t steps = 0; ///< executed nodes
};
/// Stream contents for evaluate, one vector per Cdfg::streams entry: input streams are
/// consumed from the front (`consumed` counts, reading past the end is the error
/// `stream-underflow`: the RTL would wait forever), output streams are appended to.
struct StreamData {
  std::vector<std::vector<uint64_t>> data;
  std::vector<uint64_t> consumed;
};
Expected<EvalResult> evaluate(const Cdfg &g, const std::vector<uint64_t> &args,
                              std::vector<std::vector<uint64_t>> &mems,
                              uint64_t maxSteps = 100'000'000, StreamData *streams = nullptr);

} // namespace tessera::hls
