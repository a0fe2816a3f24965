//===- Emitter.h - blocks of load -> compute -> store with dependence tokens -===//
//
// The shared code generator under every lowering. Code is emitted in *blocks*: a block is
// some loads (DRAM -> SPAD / ACC), then compute (GEMM, vector ops), then stores
// (ACC -> DRAM). Blocks run one after another, chained with the dependence tokens of
// docs/isa.md section 3:
//
//   load queue     [pop_next] ld ... ld [push_next]          (lsync when the block has none)
//   compute queue  [pop_prev] gemm / v* ... [push_next]      (csync when none)
//   store queue    [pop_prev] st ... st [push_prev]          (ssync when none)
//   compute queue  csync pop_next, push_prev                 (closes the block)
//
// so every access of block b+1 happens after every access of block b: each DRAM / SPAD /
// ACC hazard between queues has a token chain (the golden model's unsynchronized-access
// check passes by construction) and at most one token is ever in a FIFO. Within a block
// a queue instruction is a *bundle*: the front-end `li` / `fli` that set the registers it
// reads, then the instruction; bundles are reordered by queue (loads, compute, stores) at
// the end of the block, which also guarantees that a queue never waits for a token pushed
// by an instruction dispatched after it (no dispatch deadlock with finite queues).
//
// Overlap (double buffering, docs/compiler.md "Overlap"): a block ended with
// `endBlock(Next::LoadsWithCompute)` lets the *loads* of the next block start as soon as its
// own compute starts, instead of after its stores:
//
//   load queue     [pop_next] ld ... ld [push_next]
//   compute queue  csync pop_prev, [pop_next,] push_prev     (head: frees the next loads)
//                  gemm / v* ... [push_next]
//   store queue    [pop_prev] st ... st [push_prev]          (no closing csync: the next
//                                                            block's compute pops this token)
//
// The next block's compute still starts only after these stores (its first compute
// instruction pops the S->C token), so the only new concurrency is: the loads of block
// b+1 run while block b computes and stores. The lowering guarantees that those loads
// write no SPAD / SCALE / ACC bytes that block b's compute or stores read or write, and
// read no DRAM bytes block b's stores write (e.g. two SPAD buffers alternating by block);
// the golden model's unsynchronized-access check verifies it. Every FIFO still holds at
// most one token (tokenDepth 1 suffices) and every pop waits for an instruction
// dispatched earlier, so finite queues cannot deadlock. The last block of a sequence
// must be ended Serial (finish() asserts it). `Next::LoadsAfterCompute` is the same with
// the C->L token pushed by the block's last compute instruction instead of a head, for
// blocks whose compute writes what the next block's loads also write (e.g. an im2col
// chunk whose compute zero-fills the buffer of the next chunk's gathers).
//
// Registers: r1..r3 hold the addresses of one bundle, r4 / r5 an MX GEMM's scale
// addresses, r6 a gemmsp's metadata address (DMA addresses that fit the 16-bit
// offset fields are immediates on r0 instead); f0..f8 are the AdamW hyper-parameters (set
// outside blocks), f9 a bundle's scalar operand. An li / fli that would set a register
// to the value it already holds (in program order) is not emitted.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Isa.h"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace tessera::compiler {

class Emitter {
public:
  explicit Emitter(const accel::TileConfig &cfg) : cfg_(cfg) {}

  const accel::TileConfig &config() const { return cfg_; }

  /// The op that following instructions come from (index into Program::ops).
  void setOp(uint32_t op) { op_ = op; }

  void beginBlock();
  /// How the next block may overlap this one (see above).
  enum class Next : uint8_t {
    Serial,            ///< the next block starts after this block's stores
    LoadsWithCompute,  ///< the next block's loads start when this block's compute starts
    LoadsAfterCompute, ///< ... when this block's compute has finished (overlap the stores)
  };
  /// Ends the block; with an overlapping `next` the next block must exist.
  void endBlock(Next next = Next::Serial);
  bool inBlock() const { return inBlock_; }

  // Loads (DRAM addresses in bytes; ACC addresses and strides in words).
  void ldacc(uint32_t acc, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
             uint32_t lstride, accel::ElemFormat src = accel::ElemFormat::Fp32);
  void ld(uint32_t spad, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
          uint32_t lstride, accel::ElemFormat src, accel::ElemFormat dst);
  /// A contiguous run of `count` elements of format `fmt` from DRAM into ACC words.
  void ldaccRun(uint32_t acc, uint32_t dram, uint64_t count,
                accel::ElemFormat fmt = accel::ElemFormat::Fp32);
  // Stores.
  void st(uint32_t acc, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
          uint32_t lstride, accel::ElemFormat fmt = accel::ElemFormat::Fp32);
  void stRun(uint32_t acc, uint32_t dram, uint64_t count,
             accel::ElemFormat fmt = accel::ElemFormat::Fp32);
  /// A quantize-on-store to an MX format: elements to `dram`, the rows' E8M0 block scales
  /// to `scales` (docs/isa.md 5.5).
  void stMx(uint32_t acc, uint32_t dram, uint32_t scales, uint32_t rows, uint32_t cols,
            uint32_t gstride, uint32_t lstride, accel::ElemFormat fmt);
  /// DRAM -> SCALE memory bytes.
  void ldscale(uint32_t scale, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
               uint32_t lstride);
  /// N:M metadata bytes (DRAM -> META), the same 2-D copy as ldscale.
  void ldmeta(uint32_t meta, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
              uint32_t lstride);
  // Compute.
  /// `sa` / `sb`: SCALE addresses of MX operands' block scales (MX formats only).
  void gemm(uint32_t c, uint32_t a, uint32_t b, uint32_t m, uint32_t n, uint32_t k, uint32_t lda,
            uint32_t ldb, uint32_t ldc, accel::ElemFormat fmt, bool accumulate, bool ta, bool tb,
            uint32_t sa = 0, uint32_t sb = 0);
  /// N:M-sparse A (compressed, K dense positions; never transposed) with its metadata at
  /// META byte `meta` (docs/isa.md section 5.3).
  void gemmsp(uint32_t c, uint32_t a, uint32_t b, uint32_t m, uint32_t n, uint32_t k, uint32_t lda,
              uint32_t ldb, uint32_t ldc, accel::ElemFormat fmt, bool accumulate, uint32_t sa,
              uint32_t sb, uint32_t meta, accel::NmPattern pattern);
  /// vadd / vsub / vmul / vmax (b broadcast one value per `seg` when seg != 0).
  void vbin(accel::Opcode op, uint32_t d, uint32_t a, uint32_t b, uint32_t n, uint32_t seg = 0);
  /// vadds / vmuls with an FP32 scalar.
  void vscalar(accel::Opcode op, uint32_t d, uint32_t a, float f, uint32_t n);
  void vfill(uint32_t d, float f, uint32_t n);
  /// vexp / vrsqrt / vgelu.
  void vunary(accel::Opcode op, uint32_t d, uint32_t a, uint32_t n);
  void vsum(uint32_t d, uint32_t a, uint32_t n, uint32_t seg);
  void vamax(uint32_t d, uint32_t a, uint32_t n, uint32_t seg);
  void vadamw(uint32_t p, uint32_t g, uint32_t mv, uint32_t n, unsigned fsBase);

  /// A front-end instruction outside any block (e.g. the AdamW `fli`s); returns its index.
  uint32_t frontEnd(const accel::Instruction &ins);

  /// Ends the program: removes the last block's dangling token, appends halt.
  void finish();

  std::vector<accel::Instruction> code;
  std::vector<uint32_t> opOf;

  /// Largest element count of one contiguous-run row (cols of a run transfer).
  static constexpr uint32_t kRunCols = 4096;

private:
  struct Bundle {
    std::vector<accel::Instruction> pre; ///< li / fli setting the registers `ins` reads
    accel::Instruction ins;
    accel::Queue queue = accel::Queue::Compute;
    uint32_t op = UINT32_MAX;
  };
  /// ldscale / ldmeta: a 2-D byte copy DRAM -> SCALE / META.
  void byteCopy(accel::Opcode op, uint32_t local, uint32_t dram, uint32_t rows, uint32_t cols,
                uint32_t gstride, uint32_t lstride);
  Bundle gemmBundle(uint32_t c, uint32_t a, uint32_t b, uint32_t m, uint32_t n, uint32_t k,
                    uint32_t lda, uint32_t ldb, uint32_t ldc, accel::ElemFormat fmt,
                    bool accumulate, bool ta, bool tb, uint32_t sa, uint32_t sb);
  void add(Bundle b);
  void address(Bundle &b, uint32_t dram, uint32_t local);
  static accel::Instruction li(unsigned reg, uint32_t v);
  static accel::Instruction fli(unsigned freg, float v);

  const accel::TileConfig &cfg_;
  uint32_t op_ = UINT32_MAX;
  bool inBlock_ = false;
  bool pendingToken_ = false;  ///< a C->L token from the previous block waits for a load
  bool openStores_ = false;    ///< an S->C token of the last block's stores waits for compute
  int64_t lastCloseSync_ = -1; ///< index of the last block's closing csync
  std::vector<Bundle> block_;
  /// Register values known at the end of the code emitted so far (li / fli elision).
  std::array<std::optional<uint32_t>, 16> regs_{}, fregs_{};
};

} // namespace tessera::compiler
