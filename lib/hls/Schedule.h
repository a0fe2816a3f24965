//===- Schedule.h - operator library, SDC and modulo scheduling -----------===//
//
// Scheduling assigns every CDFG node a cycle (a control step) relative to the start of its
// block, with operator chaining inside a cycle up to the clock period:
//
//   * Blocks outside pipelined loops are scheduled by SDC (Cong & Zhang, DAC 2006): one
//     integer variable per node, data dependences, chaining (a path whose combinational
//     delay exceeds the clock needs a cycle boundary), multi-cycle latencies, memory-port
//     limits (at most `ports` accesses of one bank per cycle) and functional-unit limits
//     (multipliers / dividers when asked; shared functions: sharedUnitLimit() calls per
//     cycle) as difference constraints; feasibility by Bellman-Ford, the objective (ASAP
//     with a register-pressure term) by min-cost flow on the dual. No external LP solver.
//   * Innermost loops with a requested II (Loop::requestedII > 0) whose body is one block
//     (header == latch after if-conversion) are modulo scheduled (Rau's iterative modulo
//     scheduling, backtracking with a budget) starting at MII = max(ResMII, RecMII, the
//     request), searching upward; the report says what bounds the II.
//
// Cycle semantics the RTL builder implements (docs/hls.md):
//   * a node scheduled in cycle c with latency 0 is combinational: its result is usable by
//     nodes in cycle c (chained, when the delays fit) and, through a register, later;
//   * latency L > 0 (pipelined multipliers, dividers): operands at cycle c, result at c+L;
//   * Load: address in cycle c, data usable in cycle c + 1 (synchronous RAM read, latency 1);
//     Store: address / data / write enable in cycle c;
//   * a block takes `length` cycles (>= 1); its terminator is evaluated in the last one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hls/Cdfg.h"
#include "support/Expected.h"

#include <string>
#include <vector>

namespace tessera::hls {

enum class Target : uint8_t { Xilinx, Asic };

/// One operator's characterisation at one width.
struct OpCost {
  double delayNs = 0;   ///< combinational delay (latency 0) or per-stage delay
  uint32_t latency = 0; ///< pipeline registers inside the operator (0: combinational)
  double luts = 0, ffs = 0, dsps = 0; ///< Xilinx 7-series resources (LUT6 etc.)
  double areaUm2 = 0;   ///< ASIC estimate
  bool shareable = false; ///< worth sharing between nodes (multipliers, dividers)
};

/// The operator library: delay, latency and area per op kind and width, for a target.
/// Seeded by characterising single-operator modules with Yosys (docs/hls.md says how the
/// table was made and how to regenerate it); widths between table points interpolate.
class OpLibrary {
public:
  static const OpLibrary &forTarget(Target t);
  /// The cost of `kind` at result / operand width `width` for the given clock period
  /// (operators slower than the clock get pipeline stages: latency > 0).
  OpCost cost(OpKind kind, uint32_t width, double clockNs) const;
  Target target() const { return target_; }

private:
  explicit OpLibrary(Target t) : target_(t) {}
  Target target_;
};

struct ScheduleOptions {
  double clockNs = 5.0;
  Target target = Target::Xilinx;
  /// Functional-unit limits per kind class (0: unlimited); shareable ops only.
  uint32_t maxMultipliers = 0;
  uint32_t maxDividers = 0;
  /// Modulo scheduling: give up on an II after this many placement attempts per node.
  uint32_t backtrackBudget = 64;
  /// An II request below what the loop's recurrences / resources allow: false (default)
  /// raises the II with a note in LoopTiming::notes; true fails with `impossible-ii`.
  bool strictII = false;
  /// When the scalar arguments (Arg nodes) arrive this many ns into cycle 0 instead of
  /// from a register: used for shared functions, whose arguments come through the
  /// caller's operand multiplexers (chaining from them is then checked like any other).
  double argArrivalNs = 0;
};

struct NodeTiming {
  uint32_t cycle = 0;   ///< control step relative to its block (or pipelined body) start
  uint32_t latency = 0; ///< cycles until the result is available (Load: 1)
  double startNs = 0;   ///< chaining offset within the cycle
  double delayNs = 0;
};

struct BlockTiming {
  uint32_t length = 1; ///< cycles the block takes (pipelined bodies: the iteration depth)
};

/// What bounds a pipelined loop's II, in the user's terms.
struct IiLimit {
  enum Kind : uint8_t { None, Recurrence, Resource, Request } kind = None;
  /// "loop-carried dependence sum -> sum (gemm.c:14): 1 add of 4.1 ns at 5 ns per cycle
  /// over distance 1" or "memory port: array 'a' (gemm.c:3) has 1 port, 2 loads per
  /// iteration".
  std::string description;
  std::vector<NodeId> nodes; ///< the recurrence's nodes, or the competing accesses
};

struct LoopTiming {
  LoopId loop = kNone;
  bool pipelined = false;
  uint32_t ii = 0;            ///< achieved II (pipelined)
  uint32_t resMII = 0, recMII = 0;
  uint32_t depth = 0;         ///< cycles of one iteration (pipelined: stages * ii or less)
  IiLimit limit;              ///< why ii > 1, or why not pipelined
  std::vector<std::string> notes; ///< e.g. "not pipelined: the body has 3 blocks"
};

struct Schedule {
  std::vector<NodeTiming> nodes;   ///< by NodeId
  std::vector<BlockTiming> blocks; ///< by BlockId
  std::vector<LoopTiming> loops;   ///< by LoopId
  double clockNs = 0;
  /// Longest chained combinational path in any cycle (ns): the clock estimate.
  double criticalPathNs = 0;
  /// Shared functions (Cdfg::callees), by index: each scheduled once as a straight-line
  /// datapath pipelined with II 1 (a new call every cycle); `calleeCost` is the operator
  /// its Call nodes use: latency = the callee's block length (operands in the call's
  /// cycle, the result from the unit's output register that many cycles later), delay =
  /// the callee's combinational path in its first cycle, area = its operators'.
  std::vector<Schedule> callees;
  std::vector<OpCost> calleeCost;
};

/// Units of shared function `f` allowed in sequential (FSM) code: its
/// TESSERA_SHARED_LIMIT, else 1. A pipelined loop is not limited unless a limit is given
/// (then ResMII counts the calls per unit); the RTL binds its calls by modulo slot, so it
/// gets as many units as calls issue in one slot (one per call site at II 1).
uint32_t sharedUnitLimit(const Cdfg &f);

/// Schedules `g`. Errors (`impossible-ii`, `impossible-clock`) name the C line: a request
/// for an II below RecMII names the recurrence; a clock shorter than a non-pipelinable
/// operator names it.
Expected<Schedule> schedule(const Cdfg &g, const ScheduleOptions &opts);

/// A human-readable schedule report: per loop II, bounds and what limits it; per block its
/// cycles; per node its cycle and C line.
std::string scheduleReport(const Cdfg &g, const Schedule &s);

} // namespace tessera::hls
