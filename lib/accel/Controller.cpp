//===- Controller.cpp - the tile's front end, queues and dependence tokens -------===//
//
// Module tessera_ctrl (docs/tile-rtl.md "Controller"):
//   - instruction memory (128-bit words, written by the host through imem_*), fetched
//     asynchronously at pc: one instruction per cycle is executed (front end) or
//     dispatched (queue instructions) with its register operands read (docs/isa.md 1, 7);
//   - scalar registers r1..r15, f0..f15; li addi add sub fli loop halt nop;
//   - three instruction queues (load, compute, store), each a FIFO memory of
//     {fregs, regs, insn} entries, queueDepth deep; dispatch stalls when full;
//   - four token counters (L->C, C->L, C->S, S->C), tokenDepth deep; an instruction
//     starts when its unit is ready and the counters it pops are non-zero, pops at start,
//     and pushes at completion (the unit's done pulse) through an in-flight FIFO of its
//     push bits (completions are in start order). lsync / csync / ssync start when their
//     queue has nothing in flight and complete one cycle later.
//     A start is held back while a push it will make could overflow a counter (the
//     golden model stalls the completion instead; results are the same, timing can
//     differ by the stall).
//   - ordering rules of docs/isa.md 7: a DMA queue starts an instruction when the
//     previous one completed; a vector op waits for every compute instruction in flight,
//     a GEMM for every vector op in flight (the tensor unit itself decides when the next
//     GEMM may overlap through `tu_ready`);
//   - faults: a unit fault (address-out-of-range, with its address), pc >= prog_len
//     (pc-out-of-range), and token-deadlock (nothing in flight, every non-empty queue
//     blocked on tokens, and the front end halted or stalled on a full queue).
//
//===----------------------------------------------------------------------===//
#include "accel/TileRtl.h"

#include <algorithm>

namespace tessera::accel::rtl {

using hw::ModuleBuilder;
using hw::OpKind;
using hw::ValueId;

namespace {

unsigned bitsFor(uint64_t maxValue) {
  unsigned w = 1;
  while ((uint64_t(1) << w) <= maxValue)
    ++w;
  return w;
}

/// The register `regs[idx]` (idx a 4-bit value) by a mux tree.
ValueId selectReg(ModuleBuilder &b, const std::vector<ValueId> &regs, ValueId idx) {
  std::vector<ValueId> level = regs;
  unsigned bit = 0;
  while (level.size() > 1) {
    std::vector<ValueId> next;
    ValueId s = b.extract(idx, bit, 1);
    for (size_t i = 0; i + 1 < level.size(); i += 2)
      next.push_back(b.mux(s, level[i + 1], level[i]));
    level = std::move(next);
    ++bit;
  }
  return level[0];
}

ValueId orAll(ModuleBuilder &b, const std::vector<ValueId> &v) {
  ValueId r = v[0];
  for (size_t i = 1; i < v.size(); ++i)
    r = b.bitOr(r, v[i]);
  return r;
}

} // namespace

/// Fault codes on fault_code (docs/tile-rtl.md).
enum : uint32_t { kFaultAddress = 1, kFaultPc = 2, kFaultDeadlock = 3 };

Expected<hw::Module *> buildController(hw::Design &design, const TileConfig &cfg,
                                       const GenParams &gp) {
  hw::Module &m = design.addModule("tessera_ctrl");
  ModuleBuilder b(m);
  b.setLoc(SourceLoc{"<tessera-generate:ctrl>", 0, 0});
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  ValueId go = b.input("go", 1);
  ValueId progLen = b.input("prog_len", 32);
  ValueId imemWe = b.input("imem_we", 1);
  ValueId imemAddr = b.input("imem_addr", 32);
  ValueId imemData = b.input("imem_wdata", 128);
  const char *units[] = {"ldu", "tu", "vu", "stu"};
  ValueId ready[4], done[4], fault[4], faultAddr[4];
  for (int u = 0; u < 4; ++u) {
    std::string n = units[u];
    ready[u] = b.input(n + "_ready", 1);
    done[u] = b.input(n + "_done", 1);
    fault[u] = b.input(n + "_fault", 1);
    faultAddr[u] = b.input(n + "_fault_addr", 32);
  }
  auto c1 = [&](uint64_t v) { return b.constant(1, v); };
  auto cw = [&](uint32_t w, uint64_t v) { return b.constant(w, v); };
  hw::RegOptions rr;
  rr.reset = rst;

  // --- state ---------------------------------------------------------------------
  // run: fetching; halted: halt executed; faulted: stopped on a fault.
  ValueId run = b.regDecl(clk, 1, "ctrl_run", rr);
  ValueId halted = b.regDecl(clk, 1, "ctrl_halted", rr);
  ValueId faulted = b.regDecl(clk, 1, "ctrl_faulted", rr);
  ValueId faultCode = b.regDecl(clk, 8, "ctrl_fault_code", rr);
  ValueId faultAddrR = b.regDecl(clk, 32, "ctrl_fault_addr", rr);
  ValueId faultPc = b.regDecl(clk, 32, "ctrl_fault_pc", rr);
  ValueId pc = b.regDecl(clk, 32, "ctrl_pc", rr);
  std::vector<ValueId> R(16), F(16);
  R[0] = cw(32, 0);
  for (int i = 1; i < 16; ++i)
    R[i] = b.regDecl(clk, 32, "ctrl_r" + std::to_string(i), rr);
  for (int i = 0; i < 16; ++i)
    F[i] = b.regDecl(clk, 32, "ctrl_f" + std::to_string(i), rr);

  // --- fetch ----------------------------------------------------------------------
  uint32_t imem = b.memory("imem", 128, gp.imemDepth);
  unsigned imemBits = m.memories[imem].addrWidth();
  b.memWrite(imem, clk, b.extract(imemAddr, 0, imemBits), imemData, imemWe);
  ValueId insn = b.name(b.memReadAsync(imem, b.extract(pc, 0, imemBits)), "ctrl_insn");
  ValueId opcode = b.extract(insn, 0, 8);
  ValueId rdF = b.extract(insn, 16, 4), rsF = b.extract(insn, 20, 4), rtF = b.extract(insn, 24, 4);
  ValueId imm = b.extract(insn, 32, 32);
  ValueId opHi = b.extract(opcode, 4, 4);
  auto isOp = [&](Opcode o) { return b.eq(opcode, cw(8, uint8_t(o))); };
  ValueId isLoadQ = b.eq(opHi, cw(4, 1));
  ValueId isComputeQ = b.bitOr(b.eq(opHi, cw(4, 2)), b.eq(opHi, cw(4, 3)));
  ValueId isStoreQ = b.eq(opHi, cw(4, 4));
  ValueId pcInRange = b.binary(OpKind::LtU, pc, progLen);
  ValueId active = b.bitAnd(run, b.bitNot(b.bitOr(halted, faulted)));

  // Register values of the instruction (captured at dispatch).
  std::vector<ValueId> regParts, fregParts;
  for (int i = 7; i >= 0; --i)
    regParts.push_back(selectReg(b, R, b.extract(insn, 16 + 4 * i, 4)));
  ValueId fsF = b.extract(insn, 28, 4);
  for (int j = 8; j >= 0; --j)
    fregParts.push_back(selectReg(b, F, b.add(fsF, cw(4, j))));
  ValueId entry = b.concat({pc, b.concat(fregParts), b.concat(regParts), insn});
  const uint32_t entryW = 32 + kFregsWidth + kRegsWidth + 128;

  // --- queues ---------------------------------------------------------------------
  struct Q {
    ValueId count, head, tail; // regs
    ValueId head_entry, insn, regs, fregs, opcode, deps, pc;
    ValueId empty, full, push, pop;
    uint32_t mem;
  };
  unsigned qDepth = std::max(2u, cfg.queueDepth);
  unsigned qPtrBits = bitsFor(qDepth - 1), qCntBits = bitsFor(qDepth);
  uint32_t qMemDepth = 1u << qPtrBits;
  Q q[3];
  const char *qNames[] = {"load", "compute", "store"};
  ValueId isQ[3] = {isLoadQ, isComputeQ, isStoreQ};
  for (int i = 0; i < 3; ++i) {
    std::string n = std::string("ctrl_q") + qNames[i];
    q[i].count = b.regDecl(clk, qCntBits, n + "_count", rr);
    q[i].head = b.regDecl(clk, qPtrBits, n + "_head", rr);
    q[i].tail = b.regDecl(clk, qPtrBits, n + "_tail", rr);
    q[i].mem = b.memory(n, entryW, qMemDepth);
    q[i].head_entry = b.memReadAsync(q[i].mem, q[i].head);
    q[i].insn = b.name(b.extract(q[i].head_entry, 0, 128), n + "_insn");
    q[i].regs = b.extract(q[i].head_entry, 128, kRegsWidth);
    q[i].fregs = b.extract(q[i].head_entry, 128 + kRegsWidth, kFregsWidth);
    q[i].pc = b.extract(q[i].head_entry, 128 + kRegsWidth + kFregsWidth, 32);
    q[i].opcode = b.extract(q[i].insn, 0, 8);
    q[i].deps = b.extract(q[i].insn, 8, 4);
    q[i].empty = b.eq(q[i].count, cw(qCntBits, 0));
    q[i].full = b.binary(OpKind::GeU, q[i].count, cw(qCntBits, qDepth));
  }

  // --- front end: execute or dispatch ------------------------------------------------
  ValueId fetchOk = b.bitAnd(active, pcInRange);
  ValueId targetFull = b.mux(isLoadQ, q[0].full, b.mux(isComputeQ, q[1].full, q[2].full));
  ValueId isQueueOp = b.bitOr(isLoadQ, b.bitOr(isComputeQ, isStoreQ));
  ValueId stall = b.bitAnd(isQueueOp, targetFull);
  ValueId exec = b.bitAnd(fetchOk, b.bitNot(stall)); // the fetched instruction retires
  for (int i = 0; i < 3; ++i) {
    q[i].push = b.bitAnd(exec, isQ[i]);
    b.memWrite(q[i].mem, clk, q[i].tail, entry, q[i].push);
  }
  ValueId rsV = selectReg(b, R, rsF), rtV = selectReg(b, R, rtF), rdV = selectReg(b, R, rdF);
  ValueId loopNext = b.sub(rdV, cw(32, 1));
  ValueId isLoop = isOp(Opcode::Loop);
  ValueId taken = b.bitAnd(isLoop, b.binary(OpKind::Ne, loopNext, cw(32, 0)));
  ValueId rWrite = b.bitAnd(exec, orAll(b, {isOp(Opcode::Li), isOp(Opcode::Addi),
                                           isOp(Opcode::Add), isOp(Opcode::Sub), isLoop}));
  ValueId rValue = b.mux(isOp(Opcode::Li), imm,
                         b.mux(isOp(Opcode::Addi), b.add(rsV, imm),
                               b.mux(isOp(Opcode::Add), b.add(rsV, rtV),
                                     b.mux(isOp(Opcode::Sub), b.sub(rsV, rtV), loopNext))));
  for (int i = 1; i < 16; ++i)
    b.setNext(R[i], b.mux(b.bitAnd(rWrite, b.eq(rdF, cw(4, i))), rValue, R[i]));
  ValueId fWrite = b.bitAnd(exec, isOp(Opcode::Fli));
  for (int i = 0; i < 16; ++i)
    b.setNext(F[i], b.mux(b.bitAnd(fWrite, b.eq(rdF, cw(4, i))), imm, F[i]));
  ValueId pcNext = b.mux(taken, imm, b.add(pc, cw(32, 1)));
  ValueId isHalt = isOp(Opcode::Halt);
  // go (re)starts a run at pc 0.
  b.setNext(pc, b.mux(go, cw(32, 0), b.mux(b.bitAnd(exec, b.bitNot(isHalt)), pcNext, pc)));

  // --- tokens ---------------------------------------------------------------------
  // Counters: 0 L->C, 1 C->L, 2 C->S, 3 S->C.
  unsigned tDepth = std::max(1u, cfg.tokenDepth);
  unsigned tBits = bitsFor(tDepth + 8);
  ValueId tok[4];
  const char *tokNames[] = {"ctrl_tok_lc", "ctrl_tok_cl", "ctrl_tok_cs", "ctrl_tok_sc"};
  for (int t = 0; t < 4; ++t)
    tok[t] = b.regDecl(clk, tBits, tokNames[t], rr);
  // Per queue: which counter pop_prev / pop_next / push_prev / push_next touch (-1 none).
  const int popPrev[3] = {-1, 0, 2}, popNext[3] = {1, 3, -1};
  const int pushPrev[3] = {-1, 1, 3}, pushNext[3] = {0, 2, -1};

  // In-flight FIFOs of push bits (2 bits: push_prev, push_next), 4 deep per queue.
  const unsigned ifDepth = 4;
  struct InFlight {
    ValueId count, head, tail;
    std::vector<ValueId> slots;
    ValueId headBits;
  };
  InFlight inf[3];
  for (int i = 0; i < 3; ++i) {
    std::string n = std::string("ctrl_if") + qNames[i];
    inf[i].count = b.regDecl(clk, 3, n + "_count", rr);
    inf[i].head = b.regDecl(clk, 2, n + "_head", rr);
    inf[i].tail = b.regDecl(clk, 2, n + "_tail", rr);
    for (unsigned s = 0; s < ifDepth; ++s)
      inf[i].slots.push_back(b.regDecl(clk, 2, n + "_slot" + std::to_string(s), rr));
    inf[i].headBits = selectReg(b, {inf[i].slots[0], inf[i].slots[1], inf[i].slots[2],
                                    inf[i].slots[3]}, b.zext(inf[i].head, 4));
  }
  // The ACC words [lo, hi) each in-flight GEMM writes (compute queue slots): a GEMM whose
  // C region overlaps one of them waits for it to complete (docs/isa.md 7).
  std::vector<ValueId> cLo, cHi, cGemm;
  for (unsigned s = 0; s < ifDepth; ++s) {
    cLo.push_back(b.regDecl(clk, 33, "ctrl_ifcompute_c_lo" + std::to_string(s), rr));
    cHi.push_back(b.regDecl(clk, 33, "ctrl_ifcompute_c_hi" + std::to_string(s), rr));
    cGemm.push_back(b.regDecl(clk, 1, "ctrl_ifcompute_gemm" + std::to_string(s), rr));
  }
  ValueId headLo = b.zext(b.extract(q[1].regs, 0, 32), 33);
  {
    // hi = lo + (m - 1) * ldc + n
    ValueId m1 = b.zext(b.extract(q[1].insn, 48, 8), 33);
    ValueId n = b.add(b.zext(b.extract(q[1].insn, 56, 8), 33), cw(33, 1));
    ValueId ldc = b.zext(b.extract(q[1].insn, 112, 12), 33);
    ValueId hi = b.add(b.add(headLo, b.mul(m1, ldc)), n);
    cHi.push_back(hi); // temporarily: the head's hi at index ifDepth
  }
  ValueId headHi = cHi.back();
  cHi.pop_back();
  ValueId cConflict = cw(1, 0);
  for (unsigned s = 0; s < ifDepth; ++s) {
    ValueId rel = b.sub(cw(2, s), inf[1].head);
    ValueId occ = b.binary(OpKind::LtU, b.zext(rel, 3), inf[1].count);
    ValueId ov = b.bitAnd(b.binary(OpKind::LtU, headLo, cHi[s]),
                          b.binary(OpKind::LtU, cLo[s], headHi));
    cConflict = b.bitOr(cConflict, b.bitAnd(b.bitAnd(occ, cGemm[s]), ov));
  }
  b.name(cConflict, "ctrl_c_conflict");

  // Which unit computes; whether each compute unit has instructions in flight.
  ValueId tuInFlight = b.regDecl(clk, 3, "ctrl_tu_inflight", rr);
  ValueId vuInFlight = b.regDecl(clk, 3, "ctrl_vu_inflight", rr);
  ValueId syncDone[3];
  for (int i = 0; i < 3; ++i)
    syncDone[i] = b.regDecl(clk, 1, std::string("ctrl_sync_done_") + qNames[i], rr);

  // Completion this cycle per queue: the unit's done or the sync op's delayed done.
  ValueId complete[3] = {b.bitOr(done[0], syncDone[0]),
                         b.bitOr(b.bitOr(done[1], done[2]), syncDone[1]),
                         b.bitOr(done[3], syncDone[2])};
  // Pushes at completion.
  ValueId pushInc[4] = {cw(1, 0), cw(1, 0), cw(1, 0), cw(1, 0)};
  for (int i = 0; i < 3; ++i) {
    ValueId nonEmpty = b.binary(OpKind::Ne, inf[i].count, cw(3, 0));
    ValueId c = b.bitAnd(complete[i], nonEmpty);
    if (pushPrev[i] >= 0)
      pushInc[pushPrev[i]] = b.bitAnd(c, b.extract(inf[i].headBits, 0, 1));
    if (pushNext[i] >= 0)
      pushInc[pushNext[i]] = b.bitAnd(c, b.extract(inf[i].headBits, 1, 1));
  }
  // Tokens that in-flight instructions will push (to avoid overflowing a counter).
  auto pendingPushes = [&](int t) {
    ValueId sum = cw(tBits, 0);
    for (int i = 0; i < 3; ++i) {
      int bit = pushPrev[i] == t ? 0 : pushNext[i] == t ? 1 : -1;
      if (bit < 0)
        continue;
      for (unsigned s = 0; s < ifDepth; ++s) {
        // slot s is occupied when (s - head) mod 4 < count
        ValueId rel = b.sub(cw(2, s), inf[i].head);
        ValueId occ = b.binary(OpKind::LtU, b.zext(rel, 3), inf[i].count);
        ValueId p = b.bitAnd(occ, b.extract(inf[i].slots[s], bit, 1));
        sum = b.add(sum, b.zext(p, tBits));
      }
    }
    return sum;
  };
  ValueId pending[4];
  for (int t = 0; t < 4; ++t)
    pending[t] = pendingPushes(t);

  // --- queue heads: start -----------------------------------------------------------
  ValueId startQ[3], unitStart[4];
  ValueId blockedOnTokens[3];
  for (int i = 0; i < 3; ++i) {
    ValueId deps = q[i].deps;
    ValueId okTok = c1(1);
    auto need = [&](int counter, unsigned bit) {
      if (counter < 0)
        return;
      ValueId wants = b.extract(deps, bit, 1);
      ValueId have = b.binary(OpKind::Ne, tok[counter], cw(tBits, 0));
      okTok = b.bitAnd(okTok, b.bitOr(b.bitNot(wants), have));
    };
    need(popPrev[i], 0);
    need(popNext[i], 1);
    auto room = [&](int counter, unsigned bit) {
      if (counter < 0)
        return;
      ValueId wants = b.extract(deps, bit, 1);
      ValueId total = b.add(tok[counter], pending[counter]);
      ValueId fits = b.binary(OpKind::LtU, total, cw(tBits, tDepth));
      okTok = b.bitAnd(okTok, b.bitOr(b.bitNot(wants), fits));
    };
    room(pushPrev[i], 2);
    room(pushNext[i], 3);
    ValueId opc = q[i].opcode;
    ValueId isSync = b.eq(b.extract(opc, 0, 4), cw(4, 0xF));
    ValueId ifEmpty = b.eq(inf[i].count, cw(3, 0));
    ValueId ifRoom = b.binary(OpKind::LtU, inf[i].count, cw(3, ifDepth));
    ValueId haveHead = b.bitAnd(b.bitNot(q[i].empty), b.bitNot(faulted));
    ValueId unitOk;
    if (i == 0) {
      unitOk = b.bitAnd(ready[0], ifEmpty);
    } else if (i == 2) {
      unitOk = b.bitAnd(ready[3], ifEmpty);
    } else {
      ValueId gemm = b.eq(b.extract(opc, 4, 4), cw(4, 2));
      ValueId tuOk = b.bitAnd(b.bitAnd(ready[1], b.eq(vuInFlight, cw(3, 0))),
                              b.bitNot(cConflict));
      ValueId vuOk = b.bitAnd(ready[2], ifEmpty);
      unitOk = b.bitAnd(ifRoom, b.mux(gemm, tuOk, vuOk));
    }
    unitOk = b.mux(isSync, ifEmpty, unitOk);
    startQ[i] = b.name(b.bitAnd(haveHead, b.bitAnd(okTok, unitOk)),
                       std::string("ctrl_start_") + qNames[i]);
    blockedOnTokens[i] = b.bitAnd(haveHead, b.bitAnd(b.bitNot(okTok), ifEmpty));
    b.setNext(syncDone[i], b.bitAnd(startQ[i], isSync));
    q[i].pop = startQ[i];
    // Queue pointers.
    ValueId cnt = q[i].count;
    ValueId cntNext = b.sub(b.add(cnt, b.zext(q[i].push, qCntBits)), b.zext(q[i].pop, qCntBits));
    b.setNext(cnt, b.mux(go, cw(qCntBits, 0), cntNext));
    auto wrap = [&](ValueId p) {
      ValueId inc = b.add(p, cw(qPtrBits, 1));
      if ((1u << qPtrBits) == qDepth)
        return inc;
      return b.mux(b.eq(p, cw(qPtrBits, qDepth - 1)), cw(qPtrBits, 0), inc);
    };
    b.setNext(q[i].head, b.mux(go, cw(qPtrBits, 0), b.mux(q[i].pop, wrap(q[i].head), q[i].head)));
    b.setNext(q[i].tail, b.mux(go, cw(qPtrBits, 0), b.mux(q[i].push, wrap(q[i].tail), q[i].tail)));
    // In-flight FIFO: push bits of the started instruction.
    ValueId bits = b.concat({b.extract(deps, 3, 1), b.extract(deps, 2, 1)});
    ValueId nonEmpty = b.binary(OpKind::Ne, inf[i].count, cw(3, 0));
    ValueId deq = b.bitAnd(complete[i], nonEmpty);
    for (unsigned s = 0; s < ifDepth; ++s) {
      ValueId here = b.bitAnd(startQ[i], b.eq(inf[i].tail, cw(2, s)));
      b.setNext(inf[i].slots[s], b.mux(here, bits, inf[i].slots[s]));
      if (i == 1) {
        ValueId gemm = b.eq(b.extract(q[1].opcode, 4, 4), cw(4, 2));
        b.setNext(cLo[s], b.mux(here, headLo, cLo[s]));
        b.setNext(cHi[s], b.mux(here, headHi, cHi[s]));
        b.setNext(cGemm[s], b.mux(here, gemm, cGemm[s]));
      }
    }
    b.setNext(inf[i].tail, b.mux(startQ[i], b.add(inf[i].tail, cw(2, 1)), inf[i].tail));
    b.setNext(inf[i].head, b.mux(deq, b.add(inf[i].head, cw(2, 1)), inf[i].head));
    b.setNext(inf[i].count,
              b.sub(b.add(inf[i].count, b.zext(startQ[i], 3)), b.zext(deq, 3)));
  }
  // Unit starts.
  ValueId computeIsGemm = b.eq(b.extract(q[1].opcode, 4, 4), cw(4, 2));
  ValueId notSync[3];
  for (int i = 0; i < 3; ++i)
    notSync[i] = b.binary(OpKind::Ne, b.extract(q[i].opcode, 0, 4), cw(4, 0xF));
  unitStart[0] = b.bitAnd(startQ[0], notSync[0]);
  unitStart[1] = b.bitAnd(b.bitAnd(startQ[1], notSync[1]), computeIsGemm);
  unitStart[2] = b.bitAnd(b.bitAnd(startQ[1], notSync[1]), b.bitNot(computeIsGemm));
  unitStart[3] = b.bitAnd(startQ[2], notSync[2]);
  // The pc of the instruction each unit started last (names a unit fault's instruction).
  ValueId unitPc[4];
  for (int u = 0; u < 4; ++u) {
    const int uq[4] = {0, 1, 1, 2};
    unitPc[u] = b.regDecl(clk, 32, std::string("ctrl_") + units[u] + "_pc", rr);
    b.setNext(unitPc[u], b.mux(unitStart[u], q[uq[u]].pc, unitPc[u]));
  }
  b.setNext(tuInFlight, b.sub(b.add(tuInFlight, b.zext(unitStart[1], 3)), b.zext(done[1], 3)));
  b.setNext(vuInFlight, b.sub(b.add(vuInFlight, b.zext(unitStart[2], 3)), b.zext(done[2], 3)));

  // Token counters: pops at start, pushes at completion.
  ValueId popDec[4] = {cw(1, 0), cw(1, 0), cw(1, 0), cw(1, 0)};
  for (int i = 0; i < 3; ++i) {
    if (popPrev[i] >= 0)
      popDec[popPrev[i]] = b.bitAnd(startQ[i], b.extract(q[i].deps, 0, 1));
    if (popNext[i] >= 0)
      popDec[popNext[i]] = b.bitAnd(startQ[i], b.extract(q[i].deps, 1, 1));
  }
  for (int t = 0; t < 4; ++t) {
    ValueId nxt = b.sub(b.add(tok[t], b.zext(pushInc[t], tBits)), b.zext(popDec[t], tBits));
    b.setNext(tok[t], b.mux(go, cw(tBits, 0), nxt));
  }

  // --- run state, faults, done ------------------------------------------------------------
  ValueId anyInFlight = b.binary(OpKind::Ne,
                                 b.concat({inf[0].count, inf[1].count, inf[2].count}),
                                 cw(9, 0));
  ValueId queuesEmpty = b.bitAnd(q[0].empty, b.bitAnd(q[1].empty, q[2].empty));
  ValueId drained = b.bitAnd(queuesEmpty, b.bitNot(anyInFlight));
  // Deadlock: nothing in flight, no queue can start, some queue is blocked on tokens, and
  // the front end cannot make progress (halted or stalled on a full queue).
  ValueId noStart = b.bitNot(b.bitOr(startQ[0], b.bitOr(startQ[1], startQ[2])));
  ValueId someBlocked = b.bitOr(blockedOnTokens[0], b.bitOr(blockedOnTokens[1], blockedOnTokens[2]));
  ValueId frontStuck = b.bitOr(halted, b.bitAnd(fetchOk, stall));
  ValueId deadlock = b.bitAnd(b.bitAnd(run, b.bitNot(anyInFlight)),
                              b.bitAnd(noStart, b.bitAnd(someBlocked, frontStuck)));
  ValueId pcFault = b.bitAnd(active, b.bitNot(pcInRange));
  ValueId unitFault = b.bitOr(b.bitOr(fault[0], fault[1]), b.bitOr(fault[2], fault[3]));
  ValueId unitFaultAddr = b.mux(fault[0], faultAddr[0],
                                b.mux(fault[1], faultAddr[1],
                                      b.mux(fault[2], faultAddr[2], faultAddr[3])));
  ValueId newFault = b.bitAnd(b.bitAnd(run, b.bitNot(faulted)),
                              b.bitOr(unitFault, b.bitOr(pcFault, deadlock)));
  ValueId code = b.mux(unitFault, cw(8, kFaultAddress),
                       b.mux(pcFault, cw(8, kFaultPc), cw(8, kFaultDeadlock)));
  b.setNext(faulted, b.mux(go, c1(0), b.bitOr(faulted, newFault)));
  b.setNext(faultCode, b.mux(go, cw(8, 0), b.mux(newFault, code, faultCode)));
  b.setNext(faultAddrR, b.mux(newFault, b.mux(unitFault, unitFaultAddr, cw(32, 0)), faultAddrR));
  ValueId unitFaultPc = b.mux(fault[0], unitPc[0],
                              b.mux(fault[1], unitPc[1], b.mux(fault[2], unitPc[2], unitPc[3])));
  b.setNext(faultPc, b.mux(newFault, b.mux(unitFault, unitFaultPc, pc), faultPc));
  b.setNext(run, b.bitOr(go, run));
  b.setNext(halted, b.mux(go, c1(0), b.bitOr(halted, b.bitAnd(exec, isHalt))));

  // --- outputs ----------------------------------------------------------------------
  const int unitQueue[4] = {0, 1, 1, 2};
  for (int u = 0; u < 4; ++u) {
    std::string n = units[u];
    b.output(n + "_start", 1, unitStart[u]);
    b.output(n + "_insn", 128, q[unitQueue[u]].insn);
    b.output(n + "_regs", kRegsWidth, q[unitQueue[u]].regs);
    b.output(n + "_fregs", kFregsWidth, q[unitQueue[u]].fregs);
  }
  b.output("done", 1, b.bitAnd(b.bitAnd(run, halted), b.bitAnd(drained, b.bitNot(faulted))));
  b.output("busy", 1, b.bitAnd(run, b.bitNot(b.bitOr(faulted, b.bitAnd(halted, drained)))));
  b.output("fault", 1, faulted);
  b.output("fault_code", 8, faultCode);
  b.output("fault_addr", 32, faultAddrR);
  b.output("fault_pc", 32, faultPc);
  b.output("pc", 32, pc);
  // Trace of unit starts / completions (bit u: ldu, tu, vu, stu) and the pc of each
  // queue's head, for per-instruction timing in co-simulation.
  b.output("trace_start", 4, b.concat({unitStart[3], unitStart[2], unitStart[1], unitStart[0]}));
  b.output("trace_done", 4, b.concat({done[3], done[2], done[1], done[0]}));
  b.output("trace_pc_load", 32, q[0].pc);
  b.output("trace_pc_compute", 32, q[1].pc);
  b.output("trace_pc_store", 32, q[2].pc);
  return &m;
}

} // namespace tessera::accel::rtl
