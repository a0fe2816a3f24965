//===- Rtl.h - binding and FSM + datapath construction in hw IR -----------===//
//
// Builds the kernel as one hw IR module from a scheduled CDFG:
//
//   * functional-unit binding: shareable operators (multipliers, dividers) of the same
//     kind in different cycles share a unit by weighted bipartite matching (the weight is
//     the multiplexer cost saved); cheap operators are not shared;
//   * register binding: values live across a cycle boundary get registers, allocated by
//     the left-edge algorithm on lifetimes (pipelined bodies: modulo variable expansion,
//     ceil(lifetime / II) copies per value);
//   * an FSM with one state per (block, cycle), plus one pipelined controller per
//     pipelined loop (stage valid bits, predicated stages, prologue / epilogue, II > 1
//     through a modulo counter);
//   * memories: local arrays as hw IR memories (synchronous read); a partitioned array is
//     one memory with ports * factor ports (the behaviour of its banks); interface arrays
//     as RAM ports on the module.
//
// The module's interface (docs/hls.md, Vitis' ap_ctrl_hs and ap_memory in spirit):
//   clk, rst                    clock; synchronous reset, active high
//   start                       1 for at least one cycle while `idle` starts the kernel;
//                               scalar arguments are sampled in that cycle
//   <arg>                       each scalar argument (Cdfg::args), its width
//   idle                        1 while no call is running
//   done                        1 for exactly one cycle when a call finishes
//   return                      the return value (when not void), valid from `done` on
//   <mem>_addr<p>, <mem>_ce<p>, <mem>_we<p>, <mem>_wdata<p>   per interface array and
//   <mem>_rdata<p>              port p (0 or 0 and 1): address (element index), enable,
//                               write enable, write data; read data returns one cycle
//                               after a cycle with ce = 1 and we = 0 (a synchronous RAM)
//   <s>_data, <s>_valid, <s>_ready  per stream (Cdfg::streams, hls::stream<T> & parameters):
//                               an input stream has data and valid in, ready out; an
//                               output stream data and valid out, ready in; an element
//                               moves in a cycle with valid = ready = 1. A stream op waits
//                               for its handshake: the whole kernel stalls meanwhile
//                               (FSM, every stage of a pipelined loop, RAM enables), see
//                               Rtl.cpp; `loop<L>_issue` counts only unstalled issues
//
// Shared functions (Cdfg::callees) are modules of their own, `<kernel>_<function>` with
// ports clk, en, a0..aN-1 (the arguments) and result: a pipeline of the callee's schedule
// (II 1, result `latency` cycles after the arguments, from a register) that advances while
// en = 1; the kernel drives en with !stall. The kernel instantiates one per functional
// unit (`<module>_u<k>`), the arguments multiplexed by the calling FSM state.
//
// Every op gets the SourceLoc of the CDFG node (or block / loop for control) it comes from.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hls/Cdfg.h"
#include "hls/Schedule.h"
#include "hw/IR.h"
#include "support/Expected.h"

#include <string>

namespace tessera::hls {

struct RtlOptions {
  std::string moduleName; ///< default: the C function's name
};

struct RtlStats {
  uint32_t states = 0;       ///< FSM states
  uint32_t registers = 0;    ///< data registers after binding (bits in registerBits)
  uint32_t registerBits = 0;
  uint32_t sharedUnits = 0;  ///< functional units serving more than one node
  uint32_t units = 0;        ///< functional units of shareable kinds
  uint32_t functionUnits = 0; ///< of which instances of shared functions (Cdfg::callees);
                              ///< their pipeline registers count in registers / registerBits
};

Expected<hw::Design> buildRtl(const Cdfg &g, const Schedule &s, const RtlOptions &opts,
                              RtlStats *stats = nullptr);

} // namespace tessera::hls
