//===- Emitter.cpp - token-chained blocks of tile instructions --------------===//
#include "compiler/Emitter.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace tessera::compiler {

using accel::ElemFormat;
using accel::Instruction;
using accel::Opcode;
using accel::Queue;

Instruction Emitter::li(unsigned reg, uint32_t v) {
  Instruction i;
  i.op = Opcode::Li;
  i.rd = reg;
  i.imm = v;
  return i;
}

Instruction Emitter::fli(unsigned freg, float v) {
  Instruction i;
  i.op = Opcode::Fli;
  i.rd = freg;
  i.imm = std::bit_cast<uint32_t>(v);
  return i;
}

void Emitter::beginBlock() {
  assert(!inBlock_);
  inBlock_ = true;
  block_.clear();
}

void Emitter::add(Bundle b) {
  assert(inBlock_);
  b.op = op_;
  block_.push_back(std::move(b));
}

void Emitter::endBlock(Next next) {
  assert(inBlock_);
  const bool overlapNext = next != Next::Serial;
  inBlock_ = false;
  auto sync = [&](Opcode op, Queue q) {
    Bundle b;
    b.ins.op = op;
    b.queue = q;
    b.op = op_;
    return b;
  };
  std::vector<Bundle> ordered;
  for (Queue q : {Queue::Load, Queue::Compute, Queue::Store}) {
    size_t begin = ordered.size();
    // Overlap: the compute head pops this block's loads (and the previous block's open
    // stores) and pushes the C->L token that lets the next block's loads start.
    const bool head = q == Queue::Compute && next == Next::LoadsWithCompute;
    if (head) {
      Bundle h = sync(Opcode::CSync, q);
      h.ins.deps = uint8_t(accel::dep::PopPrev | accel::dep::PushPrev |
                           (openStores_ ? accel::dep::PopNext : 0));
      ordered.push_back(h);
    }
    for (Bundle &b : block_)
      if (b.queue == q)
        ordered.push_back(std::move(b));
    if (ordered.size() == begin)
      ordered.push_back(sync(q == Queue::Load      ? Opcode::LSync
                             : q == Queue::Compute ? Opcode::CSync
                                                   : Opcode::SSync,
                             q));
    Instruction &first = ordered[begin].ins;
    Instruction &last = ordered.back().ins;
    switch (q) {
    case Queue::Load:
      if (pendingToken_)
        first.deps |= accel::dep::PopNext;
      last.deps |= accel::dep::PushNext;
      break;
    case Queue::Compute:
      if (!head)
        first.deps |= uint8_t(accel::dep::PopPrev | (openStores_ ? accel::dep::PopNext : 0));
      last.deps |= accel::dep::PushNext;
      if (next == Next::LoadsAfterCompute)
        last.deps |= accel::dep::PushPrev;
      break;
    case Queue::Store:
      first.deps |= accel::dep::PopPrev;
      last.deps |= accel::dep::PushPrev;
      break;
    default:
      break;
    }
  }
  if (!overlapNext) {
    Bundle close = sync(Opcode::CSync, Queue::Compute);
    close.ins.deps = accel::dep::PopNext | accel::dep::PushPrev;
    ordered.push_back(close);
  }
  for (Bundle &b : ordered) {
    for (Instruction &p : b.pre) {
      // The front end executes in program order: an li / fli that sets a register to the
      // value it already holds is dropped.
      auto &known = p.op == Opcode::Li ? regs_[p.rd] : fregs_[p.rd];
      if (known && *known == p.imm)
        continue;
      known = p.imm;
      code.push_back(p);
      opOf.push_back(b.op);
    }
    code.push_back(b.ins);
    opOf.push_back(b.op);
  }
  if (!overlapNext)
    lastCloseSync_ = int64_t(code.size()) - 1;
  openStores_ = overlapNext;
  pendingToken_ = true;
  block_.clear();
}

uint32_t Emitter::frontEnd(const Instruction &ins) {
  assert(!inBlock_);
  if (ins.op == Opcode::Li)
    regs_[ins.rd] = ins.imm;
  if (ins.op == Opcode::Fli)
    fregs_[ins.rd] = ins.imm;
  code.push_back(ins);
  opOf.push_back(op_);
  return uint32_t(code.size() - 1);
}

void Emitter::finish() {
  assert(!inBlock_ && !openStores_);
  if (lastCloseSync_ >= 0)
    code[size_t(lastCloseSync_)].deps &= uint8_t(~accel::dep::PushPrev);
  Instruction halt;
  halt.op = Opcode::Halt;
  code.push_back(halt);
  opOf.push_back(UINT32_MAX);
}

//===----------------------------------------------------------------------===//
// DMA
//===----------------------------------------------------------------------===//

/// DMA addresses: an immediate offset from r0 when it fits the 16-bit field, else r1 (DRAM)
/// / r2 (local) set by an `li` of the bundle.
void Emitter::address(Bundle &b, uint32_t dram, uint32_t local) {
  if (dram <= 0xFFFF) {
    b.ins.gimm = dram;
  } else {
    b.pre.push_back(li(1, dram));
    b.ins.rg = 1;
  }
  if (local <= 0xFFFF) {
    b.ins.limm = local;
  } else {
    b.pre.push_back(li(2, local));
    b.ins.rl = 2;
  }
}

void Emitter::ldacc(uint32_t acc, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
                    uint32_t lstride, ElemFormat src) {
  Bundle b;
  b.queue = Queue::Load;
  b.ins.op = Opcode::LdAcc;
  address(b, dram, acc);
  b.ins.rows = rows;
  b.ins.cols = cols;
  b.ins.gstride = rows > 1 ? gstride : 0;
  b.ins.lstride = rows > 1 ? lstride : 0;
  b.ins.fmtA = uint32_t(src);
  add(std::move(b));
}

void Emitter::ld(uint32_t spad, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
                 uint32_t lstride, ElemFormat src, ElemFormat dst) {
  Bundle b;
  b.queue = Queue::Load;
  b.ins.op = Opcode::Ld;
  address(b, dram, spad);
  b.ins.rows = rows;
  b.ins.cols = cols;
  b.ins.gstride = rows > 1 ? gstride : 0;
  b.ins.lstride = rows > 1 ? lstride : 0;
  b.ins.fmtA = uint32_t(src);
  b.ins.fmtB = uint32_t(dst);
  add(std::move(b));
}

void Emitter::st(uint32_t acc, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
                 uint32_t lstride, ElemFormat fmt) {
  Bundle b;
  b.queue = Queue::Store;
  b.ins.op = Opcode::St;
  address(b, dram, acc);
  b.ins.rows = rows;
  b.ins.cols = cols;
  b.ins.gstride = rows > 1 ? gstride : 0;
  b.ins.lstride = rows > 1 ? lstride : 0;
  b.ins.fmtA = uint32_t(fmt);
  add(std::move(b));
}

void Emitter::stMx(uint32_t acc, uint32_t dram, uint32_t scales, uint32_t rows, uint32_t cols,
                   uint32_t gstride, uint32_t lstride, ElemFormat fmt) {
  Bundle b;
  b.queue = Queue::Store;
  b.ins.op = Opcode::St;
  address(b, dram, acc);
  b.pre.push_back(li(3, scales));
  b.ins.rx = 3;
  b.ins.rows = rows;
  b.ins.cols = cols;
  b.ins.gstride = gstride;
  b.ins.lstride = rows > 1 ? lstride : 0;
  b.ins.fmtA = uint32_t(fmt);
  add(std::move(b));
}

void Emitter::byteCopy(Opcode op, uint32_t local, uint32_t dram, uint32_t rows, uint32_t cols,
                       uint32_t gstride, uint32_t lstride) {
  Bundle b;
  b.queue = Queue::Load;
  b.ins.op = op;
  address(b, dram, local);
  b.ins.rows = rows;
  b.ins.cols = cols;
  b.ins.gstride = rows > 1 ? gstride : 0;
  b.ins.lstride = rows > 1 ? lstride : 0;
  add(std::move(b));
}

void Emitter::ldscale(uint32_t scale, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
                      uint32_t lstride) {
  byteCopy(Opcode::LdScale, scale, dram, rows, cols, gstride, lstride);
}

void Emitter::ldmeta(uint32_t meta, uint32_t dram, uint32_t rows, uint32_t cols, uint32_t gstride,
                     uint32_t lstride) {
  byteCopy(Opcode::LdMeta, meta, dram, rows, cols, gstride, lstride);
}

namespace {
uint32_t elemBytes(ElemFormat f) { return accel::elemFormatInfo(f).bits / 8; }
} // namespace

void Emitter::ldaccRun(uint32_t acc, uint32_t dram, uint64_t count, ElemFormat fmt) {
  const uint32_t eb = elemBytes(fmt);
  while (count > 0) {
    uint32_t cols = uint32_t(std::min<uint64_t>(count, kRunCols));
    uint32_t rows = uint32_t(std::min<uint64_t>(count / cols, 4095));
    ldacc(acc, dram, rows, cols, cols * eb, cols, fmt);
    uint64_t done = uint64_t(rows) * cols;
    acc += uint32_t(done);
    dram += uint32_t(done * eb);
    count -= done;
  }
}

void Emitter::stRun(uint32_t acc, uint32_t dram, uint64_t count, ElemFormat fmt) {
  const uint32_t eb = elemBytes(fmt);
  while (count > 0) {
    uint32_t cols = uint32_t(std::min<uint64_t>(count, kRunCols));
    uint32_t rows = uint32_t(std::min<uint64_t>(count / cols, 4095));
    st(acc, dram, rows, cols, cols * eb, cols, fmt);
    uint64_t done = uint64_t(rows) * cols;
    acc += uint32_t(done);
    dram += uint32_t(done * eb);
    count -= done;
  }
}

//===----------------------------------------------------------------------===//
// Compute
//===----------------------------------------------------------------------===//

Emitter::Bundle Emitter::gemmBundle(uint32_t c, uint32_t a, uint32_t b, uint32_t m, uint32_t n,
                                    uint32_t k, uint32_t lda, uint32_t ldb, uint32_t ldc,
                                    ElemFormat fmt, bool accumulate, bool ta, bool tb, uint32_t sa,
                                    uint32_t sb) {
  Bundle bu;
  bu.queue = Queue::Compute;
  bu.pre = {li(1, c), li(2, a), li(3, b)};
  if (accel::elemFormatInfo(fmt).mx) {
    bu.pre.push_back(li(4, sa));
    bu.pre.push_back(li(5, sb));
    bu.ins.rsa = 4;
    bu.ins.rsb = 5;
  }
  Instruction &i = bu.ins;
  i.op = Opcode::Gemm;
  i.rc = 1;
  i.ra = 2;
  i.rb = 3;
  i.m = m;
  i.n = n;
  i.k = k;
  i.lda = lda;
  i.ldb = ldb;
  i.ldc = ldc;
  i.fmtA = i.fmtB = uint32_t(fmt);
  i.flags = uint8_t((accumulate ? accel::flag::Accumulate : 0) | (ta ? accel::flag::TransA : 0) |
                    (tb ? accel::flag::TransB : 0));
  return bu;
}

void Emitter::gemm(uint32_t c, uint32_t a, uint32_t b, uint32_t m, uint32_t n, uint32_t k,
                   uint32_t lda, uint32_t ldb, uint32_t ldc, ElemFormat fmt, bool accumulate,
                   bool ta, bool tb, uint32_t sa, uint32_t sb) {
  add(gemmBundle(c, a, b, m, n, k, lda, ldb, ldc, fmt, accumulate, ta, tb, sa, sb));
}

void Emitter::gemmsp(uint32_t c, uint32_t a, uint32_t b, uint32_t m, uint32_t n, uint32_t k,
                     uint32_t lda, uint32_t ldb, uint32_t ldc, ElemFormat fmt, bool accumulate,
                     uint32_t sa, uint32_t sb, uint32_t meta, accel::NmPattern pattern) {
  Bundle bu = gemmBundle(c, a, b, m, n, k, lda, ldb, ldc, fmt, accumulate, false, false, sa, sb);
  bu.ins.op = Opcode::GemmSp;
  uint32_t code = 0;
  bool known = accel::nmPatternCode(pattern, code);
  assert(known && "gemmsp with a pattern the ISA cannot encode");
  (void)known;
  bu.ins.pattern = code;
  if (meta != 0) {
    bu.pre.push_back(li(6, meta));
    bu.ins.rmeta = 6;
  }
  add(std::move(bu));
}

void Emitter::vbin(Opcode op, uint32_t d, uint32_t a, uint32_t b, uint32_t n, uint32_t seg) {
  Bundle bu;
  bu.queue = Queue::Compute;
  bu.ins.op = op;
  bu.ins.dimm = d;
  bu.ins.aimm = a;
  bu.ins.bimm = b;
  bu.ins.n = n;
  if (seg) {
    bu.ins.seg = seg;
    bu.ins.flags = accel::flag::Broadcast;
  }
  add(std::move(bu));
}

void Emitter::vscalar(Opcode op, uint32_t d, uint32_t a, float f, uint32_t n) {
  Bundle bu;
  bu.queue = Queue::Compute;
  bu.pre = {fli(9, f)};
  bu.ins.op = op;
  bu.ins.dimm = d;
  bu.ins.aimm = a;
  bu.ins.fs = 9;
  bu.ins.n = n;
  add(std::move(bu));
}

void Emitter::vfill(uint32_t d, float f, uint32_t n) {
  Bundle bu;
  bu.queue = Queue::Compute;
  bu.pre = {fli(9, f)};
  bu.ins.op = Opcode::VFill;
  bu.ins.dimm = d;
  bu.ins.fs = 9;
  bu.ins.n = n;
  add(std::move(bu));
}

void Emitter::vunary(Opcode op, uint32_t d, uint32_t a, uint32_t n) {
  Bundle bu;
  bu.queue = Queue::Compute;
  bu.ins.op = op;
  bu.ins.dimm = d;
  bu.ins.aimm = a;
  bu.ins.n = n;
  add(std::move(bu));
}

void Emitter::vsum(uint32_t d, uint32_t a, uint32_t n, uint32_t seg) {
  Bundle bu;
  bu.queue = Queue::Compute;
  bu.ins.op = Opcode::VSum;
  bu.ins.dimm = d;
  bu.ins.aimm = a;
  bu.ins.n = n;
  bu.ins.seg = seg;
  add(std::move(bu));
}

void Emitter::vamax(uint32_t d, uint32_t a, uint32_t n, uint32_t seg) {
  vsum(d, a, n, seg);
  block_.back().ins.op = Opcode::VAmax;
}

void Emitter::vadamw(uint32_t p, uint32_t g, uint32_t mv, uint32_t n, unsigned fsBase) {
  Bundle bu;
  bu.queue = Queue::Compute;
  bu.ins.op = Opcode::VAdamW;
  bu.ins.dimm = p;
  bu.ins.aimm = g;
  bu.ins.bimm = mv;
  bu.ins.n = n;
  bu.ins.fs = fsBase;
  add(std::move(bu));
}

} // namespace tessera::compiler
