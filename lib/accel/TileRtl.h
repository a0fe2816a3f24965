//===- TileRtl.h - the generated tile's structure, shared by its unit builders ---===//
//
// `tessera generate` builds the tile (docs/tile-rtl.md) as one hw::Design:
//
//   tessera_tile (top)            memories SPAD / SCALE / META (byte lanes) and ACC
//   ├── ctrl   controller         fetch, scalar registers, three queues, tokens (Controller.cpp)
//   ├── ldu    load unit          ld ldacc ldscale ldmeta, AXI4 read master   (DmaUnits.cpp)
//   ├── tu     tensor unit        gemm gemmsp, R x C PE array                 (TensorUnit.cpp)
//   ├── vu     vector unit        v* instructions                             (VectorUnit.cpp)
//   └── stu    store unit         st ststat seed clrstat, AXI4 write master  (DmaUnits.cpp)
//
// Every unit is a separate hw::Module with a fixed *instruction port* and *memory ports*
// named by convention; the top creates one memory port for each memory-port bundle a unit
// declares and wires it, so a unit can use as many ports as its datapath needs.
//
// Instruction port (every unit):
//   in  clk, rst (1, synchronous, active high)
//   in  start (1)    the controller starts an instruction this cycle; insn/regs/fregs are
//                    valid in this cycle only (the unit latches what it needs)
//   in  insn (128)   the instruction word (docs/isa.md section 4)
//   in  regs (256)   regs[32i+31:32i] = R[insn[16+4i+3:16+4i]] for i = 0..7, read at
//                    dispatch (so every 4-bit register field of every layout is covered:
//                    rd/rl/rc at i=0, rs/rg/ra at 1, rt/rb at 2, rx at 4 (D), rsa 5, rsb 6,
//                    rmeta 7 (G)); r0 reads 0
//   in  fregs (288)  fregs[32j+31:32j] = F[(fs + j) mod 16], fs = insn[31:28], j = 0..8
//   out ready (1)    the unit accepts start in this cycle
//   out done (1)     one-cycle pulse: the oldest started instruction completed; its effects
//                    are visible to an instruction started in the next cycle. A unit may
//                    accept a new start before the previous one is done (the tensor unit
//                    overlaps GEMMs); done pulses come in start order.
//   out fault (1)    level, sticky until rst: a run-time fault (docs/isa.md section 6)
//   out fault_addr (32) the offending address (local or DRAM) once fault is set
//
// Memory ports (a unit declares any number; p = 0, 1, ...; all reads synchronous: data
// arrives the cycle after the enable, read-before-write within a cycle):
//   SPAD / SCALE / META (X = spad | scale | meta), line memories of GenParams::line(X)
//   bytes per access at any byte address:
//     out X_rd<p>_addr (32), X_rd<p>_en (1); in X_rd<p>_data (8 * line): byte i = X[addr+i]
//         (bytes past the end of the memory read as unspecified values)
//     out X_wr<p>_addr (32), X_wr<p>_data (8 * line), X_wr<p>_mask (line), X_wr<p>_en (1):
//         X[addr+i] = byte i where mask bit i is set
//   ACC, FP32 words:
//     out acc_rd<p>_addr (32), acc_rd<p>_en (1); in acc_rd<p>_data (32)
//     out acc_wr<p>_addr (32), acc_wr<p>_data (32), acc_wr<p>_en (1)
//   Addresses are taken modulo the memory size in hardware; a unit checks its ranges and
//   raises fault itself. Write ports of different units never hit the same address in the
//   same cycle in a synchronized program (docs/isa.md section 3).
//
// External memory (the DMA port, AXI4 subset, data bus GenParams::busBytes wide, INCR
// bursts of arlen+1 / awlen+1 beats, addresses aligned to busBytes):
//   load unit (read master):  out m_arvalid m_araddr(32) m_arlen(8) m_rready;
//                             in  m_arready m_rvalid m_rdata(8*bus) m_rlast m_rresp(2)
//   store unit (write master): out m_awvalid m_awaddr(32) m_awlen(8) m_wvalid m_wdata(8*bus)
//                             m_wstrb(bus) m_wlast m_bready;
//                             in  m_awready m_wready m_bvalid m_bresp(2)
//   A response other than OKAY (0) is the fault address-out-of-range at that address.
// The store unit also outputs amax (32), flags (32), lfsr (16) (its state, docs/isa.md 1).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Isa.h"
#include "hw/IR.h"
#include "support/Expected.h"

#include <string>

namespace tessera::accel::rtl {

/// Generator parameters derived from a TileConfig (docs/tile-rtl.md).
struct GenParams {
  unsigned spadLine = 16;  ///< bytes per SPAD line port (power of two)
  unsigned scaleLine = 4;  ///< bytes per SCALE line port
  unsigned metaLine = 4;   ///< bytes per META line port
  unsigned busBytes = 16;  ///< AXI data bus bytes (power of two, <= 64)
  unsigned imemDepth = 1024; ///< instruction memory words
  unsigned dotPairs = 4;   ///< products per PE per step: dotWidth * max rate

  unsigned line(std::string_view memory) const; ///< "spad", "scale", "meta"
  static GenParams forConfig(const TileConfig &cfg);
};

/// ceil(log2(v)) for v >= 1 (the bits of an index into v things; exact for powers of two).
inline unsigned ceilLog2(unsigned v) {
  unsigned l = 0;
  while ((1u << l) < v)
    ++l;
  return l;
}

/// Width of the register-value inputs of the instruction port.
inline constexpr uint32_t kRegsWidth = 256, kFregsWidth = 288;

/// The unit builders. Each adds one module to `design` and returns it (named as the
/// generator's instance: "tessera_ctrl", "tessera_ldu", ...). Errors: a tile parameter
/// combination the unit cannot build (`unsupported-parameter`, naming the parameter).
Expected<hw::Module *> buildLoadUnit(hw::Design &design, const TileConfig &cfg,
                                     const GenParams &gp);
Expected<hw::Module *> buildStoreUnit(hw::Design &design, const TileConfig &cfg,
                                      const GenParams &gp);
Expected<hw::Module *> buildTensorUnit(hw::Design &design, const TileConfig &cfg,
                                       const GenParams &gp);
Expected<hw::Module *> buildVectorUnit(hw::Design &design, const TileConfig &cfg,
                                       const GenParams &gp);

/// The controller (front end, queues, tokens), Controller.cpp; docs/tile-rtl.md.
Expected<hw::Module *> buildController(hw::Design &design, const TileConfig &cfg,
                                       const GenParams &gp);

/// Which unit a harness wraps.
enum class UnitKind : uint8_t { Load, Store, Tensor, Vector };

/// A test harness around one unit: the tile's memories with the unit's ports wired, the
/// unit's instruction port and AXI ports (if any) as top-level ports of the same names,
/// and debug ports on every memory:
///   in  dbg_<X>_wr_en (1), dbg_<X>_wr_addr (32), dbg_<X>_wr_data (8 * line; ACC 32),
///       dbg_<X>_wr_mask (line; not for ACC): one line (ACC: one word) per cycle, merged into
///       the memory's single write port (the units must be idle)
///   in  dbg_<X>_addr (32); out dbg_<X>_data (8 * line; ACC 32): synchronous read, the
///       line (word) at the address of the previous cycle
///   for X in spad, scale, meta, acc. Also amax/flags/lfsr for the store unit.
Expected<hw::Design> buildUnitHarness(const TileConfig &cfg, const GenParams &gp, UnitKind kind);

/// The whole tile (top "tessera_tile"), docs/tile-rtl.md lists its ports.
Expected<hw::Design> buildTile(const TileConfig &cfg, const GenParams &gp);

/// Wires the memory ports of instance `inst` of `unit` (declared by the naming convention
/// above) to the memories of the module being built; used by buildTile and the harness.
class TileMemories {
public:
  TileMemories(hw::ModuleBuilder &b, hw::ValueId clk, const TileConfig &cfg, const GenParams &gp);
  Status wireUnit(const hw::Module &unit, uint32_t inst);
  /// Debug ports of the spec above (dbg_*), added to the module as ports.
  void addDebugPorts();
  /// Creates the write ports (all wireUnit / addDebugPorts calls must come first): the
  /// line writes of a memory are merged into one write port per lane.
  void finish();

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace tessera::accel::rtl
