//===- Netlist.h - the simulator's elaborated netlist and schedule ---------===//
//
// Internal to lib/sim. Elaboration (Elaborate.cpp) turns the top module of a design into a
// Net: instances of count 1 are inlined; instance arrays become *array groups* whose body
// (the callee, itself flattened) is kept once and evaluated for all `count` elements, with
// state in structure-of-arrays form. Group 0 is the scalar domain (count 1). An array's
// input port is a Gather node whose per-element table names where each element comes
// from (usually another element of some array, or a scalar), an array's output port is
// seen by the parent as a Pack node (the elements side by side).
//
// The Program (Program.cpp) adds the levelized full-cycle schedule: combinational steps
// in topological order (segments of consecutive nodes of one group, gathers, packs), the
// clock-edge actions, and the byte layout of the state arena that both engines share,
// so peek/poke/VCD work the same on either.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/IR.h"
#include "support/Expected.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace tessera::sim::detail {

inline constexpr uint32_t kNone = UINT32_MAX;

/// A use of a node's value. elem < 0: the element being computed when the node is in the
/// user's own group, the only element when the node is scalar (group 0; broadcast into
/// arrays). elem >= 0: that fixed element of an array node.
struct Ref {
  uint32_t node = kNone;
  int32_t elem = -1;
  bool valid() const { return node != kNone; }
  bool operator==(const Ref &) const = default;
  bool operator<(const Ref &o) const { return node != o.node ? node < o.node : elem < o.elem; }
};

enum class NodeKind : uint8_t {
  Op,     ///< an hw op: Input, Const, combinational ops, Reg, MemRead, MemWrite
  Alias,  ///< elaboration only: stands for operands[0]
  Gather, ///< array input port: element i is gathers[attr1][i]
  Pack,   ///< scalar: elements [attr0, attr0 + attr1) of operands[0] (an array node)
  Copy,   ///< a materialized copy of operands[0]
};

struct Node {
  NodeKind kind = NodeKind::Op;
  hw::OpKind op = hw::OpKind::Const;
  uint8_t flags = 0;
  bool live = false;
  /// Live only because a named signal shows it (computed on demand for peekSignal/VCD).
  bool observe = false;
  /// Program: the value is bytes of another node's storage (see Program::viewOf).
  bool view = false;
  uint32_t group = 0;
  uint32_t width = 0;
  /// Extract: low bit; Input: top port; MemRead/MemWrite: net memory; Pack: first element.
  uint32_t attr0 = 0;
  /// Pack: element count; Gather: table index.
  uint32_t attr1 = 0;
  std::vector<Ref> operands;
  hw::BitVec value; ///< Const value, Reg reset value
  hw::BitVec init;  ///< Reg power-on value
  std::string name; ///< a readable name for diagnostics and generated code comments

  bool isOp(hw::OpKind k) const { return kind == NodeKind::Op && op == k; }
  bool isReg() const { return isOp(hw::OpKind::Reg); }
  bool isSyncRead() const { return isOp(hw::OpKind::MemRead) && (flags & hw::kMemReadSync); }
  bool isState() const { return isReg() || isSyncRead(); }
  // Operand accessors mirroring hw::Op (Reg / MemRead).
  bool regHasReset() const { return flags & hw::kRegHasReset; }
  bool regAsync() const { return flags & hw::kRegAsyncReset; }
  bool regHasEnable() const { return flags & hw::kRegHasEnable; }
  int regResetIdx() const { return regHasReset() ? 2 : -1; }
  int regEnableIdx() const { return regHasEnable() ? (regHasReset() ? 3 : 2) : -1; }
  bool memSync() const { return flags & hw::kMemReadSync; }
  int memAddrIdx() const { return memSync() ? 1 : 0; }
  int memEnableIdx() const { return (memSync() && (flags & hw::kMemReadHasEnable)) ? 2 : -1; }
};

struct Group {
  uint32_t count = 1;
  std::string path; ///< instance path of the array ("u_row.u_pe"); "" for group 0
  SourceLoc loc;
};

struct NetMemory {
  uint32_t group = 0;
  uint32_t width = 1, depth = 1;
  std::vector<hw::BitVec> init;
  std::string path;
};

/// A user-visible named value. Group 0: its path is prefix.name. Array group: element i's
/// path is prefix[i]suffix.name.
struct Signal {
  uint32_t group = 0;
  std::string prefix, suffix, name;
  Ref ref;
  uint32_t width = 0;
  std::string path(uint32_t elem) const;
  /// The scope part of path(elem) (without ".name").
  std::string scope(uint32_t elem) const;
};

struct TopInput {
  std::string name;
  uint32_t width = 0;
  uint32_t node = kNone;
  bool isClock = false;
};

struct TopOutput {
  std::string name;
  uint32_t width = 0;
  Ref ref;
};

struct Net {
  std::vector<Group> groups;
  std::vector<Node> nodes;
  std::vector<NetMemory> memories;
  std::vector<std::vector<Ref>> gathers;
  std::vector<Signal> signals;
  std::vector<TopInput> inputs;
  std::vector<TopOutput> outputs;
  std::string topName;

  uint32_t count(uint32_t node) const { return groups[nodes[node].group].count; }
  uint32_t addNode(Node n) {
    nodes.push_back(std::move(n));
    return static_cast<uint32_t>(nodes.size() - 1);
  }
};

/// A request to elaborate again with some arrays unrolled (group-level combinational
/// cycle). Returned by scheduling; never shown to users.
struct UnrollRequest {
  std::set<std::string> paths;
};

/// Elaborates `top`. `unroll`: instance-array paths to flatten into scalars.
Expected<Net> elaborate(const hw::Design &d, const hw::Module &top,
                        const std::set<std::string> &unroll);

//===----------------------------------------------------------------------===//
// Program: schedule and layout
//===----------------------------------------------------------------------===//

enum class StepKind : uint8_t {
  Segment, ///< nodes of one group, evaluated in order for every element
  Gather,  ///< one Gather node
  Pack,    ///< one Pack node
};

struct Step {
  StepKind kind = StepKind::Segment;
  uint32_t group = 0;
  std::vector<uint32_t> nodes;
};

enum class EdgeKind : uint8_t { SyncRead, MemWrite, Regs };

struct EdgeStep {
  EdgeKind kind = EdgeKind::Regs;
  uint32_t group = 0;
  std::vector<uint32_t> nodes;
};

/// Bytes of one element of a value of `width` bits: 1, 2, 4, 8 or 8 * words.
inline uint32_t elemBytes(uint32_t width) {
  if (width <= 8)
    return 1;
  if (width <= 16)
    return 2;
  if (width <= 32)
    return 4;
  return 8 * ((width + 63) / 64);
}
inline uint32_t numWords(uint32_t width) { return (width + 63) / 64; }

struct Program {
  Net net;
  uint32_t lanes = 1;
  std::vector<Step> comb;
  /// Registers with an asynchronous reset (applied before each settle).
  std::vector<uint32_t> asyncRegs;
  std::vector<EdgeStep> edge;

  /// Steps [0, observeFrom) settle the design; [observeFrom, end) compute values only
  /// named signals need (run before peekSignal / VCD sampling).
  size_t observeFrom = 0;
  /// View nodes (lanes == 1): value = bytes [viewOff, ...) of viewOf's storage.
  std::vector<uint32_t> viewOf;
  std::vector<uint64_t> viewOff;
  std::vector<uint32_t> stepOf; ///< comb step of each node, kNone if none
  /// Whether the compiled engine keeps the node in the arena (else a local temporary).
  std::vector<uint8_t> stored;
  std::vector<uint64_t> offset;    ///< arena byte offset of each live node
  std::vector<uint64_t> memOffset; ///< arena byte offset of each memory
  uint64_t arenaSize = 0;
  size_t scheduledOps = 0;
  uint32_t clockPort = kNone; ///< top input index of the clock, if any

  /// Elements of node n's group times lanes.
  uint64_t elems(uint32_t node) const {
    return uint64_t(net.groups[net.nodes[node].group].count) * lanes;
  }
};

/// Elaborates and schedules `top` for `lanes` lanes (unrolling arrays that form
/// group-level combinational cycles).
Expected<Program> buildProgram(const hw::Design &d, const std::string &top, uint32_t lanes);

} // namespace tessera::sim::detail
