//===- Designs.cpp - generated benchmark designs ---------------------------===//
//
// See Designs.h. The builders use only the public ModuleBuilder API, like the accelerator
// generator and HLS will.
//
//===----------------------------------------------------------------------===//
#include "hw/Designs.h"

#include <string>
#include <vector>

namespace tessera::hw {

namespace {

SourceLoc here(const char *what) { return SourceLoc{std::string("<") + what + ">", 0, 0}; }

/// `count` copies of the 1-bit value `v` (an array port of 1-bit elements).
ValueId replicate(ModuleBuilder &b, ValueId v, uint32_t count) {
  if (count == 1)
    return v;
  return b.concat(std::vector<ValueId>(count, v));
}

/// XOR of the `count` w-bit elements of `v` as a tree of wide XORs (halving each level).
ValueId xorFold(ModuleBuilder &b, ValueId v, uint32_t count, uint32_t w) {
  while (count > 1) {
    uint32_t half = count / 2;
    ValueId lo = b.extract(v, 0, half * w);
    ValueId hi = b.extract(v, half * w, half * w);
    ValueId x = b.bitXor(lo, hi);
    if (count % 2) {
      x = b.concat({b.extract(v, 2 * half * w, w), x});
      count = half + 1;
    } else {
      count = half;
    }
    v = x;
  }
  return v;
}

void buildPe(Design &d) {
  Module &m = d.addModule("pe");
  ModuleBuilder b(m);
  b.setLoc(here("pe"));
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  ValueId clear = b.input("clear", 1);
  ValueId a = b.input("a_in", 8);
  ValueId bIn = b.input("b_in", 8);
  RegOptions ro;
  ro.reset = rst;
  ValueId aQ = b.reg(clk, a, "a_q", ro);
  ValueId bQ = b.reg(clk, bIn, "b_q", ro);
  ValueId acc = b.regDecl(clk, 32, "acc_q", ro);
  ValueId prod = b.name(b.mul(b.sext(a, 32), b.sext(bIn, 32)), "prod");
  ValueId sum = b.add(acc, prod);
  b.setNext(acc, b.mux(clear, b.constant(32, 0), sum));
  b.output("a_out", 8, aQ);
  b.output("b_out", 8, bQ);
  b.output("acc", 32, acc);
}

} // namespace

Design systolicArray(uint32_t n) {
  Design d;
  buildPe(d);
  const Module &pe = *d.find("pe");
  std::string topName = "systolic_" + std::to_string(n);
  Module &m = d.addModule(topName);
  d.topName = topName;
  ModuleBuilder b(m);
  b.setLoc(here(topName.c_str()));
  const uint32_t count = n * n;
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  ValueId clear = b.input("clear", 1);
  ValueId aLeft = b.input("a_left", n * 8);
  ValueId bTop = b.input("b_top", n * 8);

  uint32_t inst = b.instance(pe, "u_pe", count);
  b.connect(inst, "clk", replicate(b, clk, count));
  b.connect(inst, "rst", replicate(b, rst, count));
  b.connect(inst, "clear", replicate(b, clear, count));
  // Element i = r * n + c is the PE in row r, column c.
  ValueId aOut = b.instOutput(inst, "a_out");
  ValueId bOut = b.instOutput(inst, "b_out");
  ValueId acc = b.instOutput(inst, "acc");

  // a moves right: PE (r, c) takes PE (r, c-1)'s a_out, column 0 takes a_left[r].
  std::vector<ValueId> aParts; // most significant (row n-1) first
  for (uint32_t r = n; r-- > 0;) {
    if (n > 1)
      aParts.push_back(b.extract(aOut, r * n * 8, (n - 1) * 8));
    aParts.push_back(b.extract(aLeft, r * 8, 8));
  }
  b.connect(inst, "a_in", b.name(b.concat(aParts), "a_chain"));
  // b moves down: PE (r, c) takes PE (r-1, c)'s b_out, row 0 takes b_top[c].
  ValueId bIn = n > 1 ? b.concat({b.extract(bOut, 0, (n - 1) * n * 8), bTop}) : bTop;
  b.connect(inst, "b_in", b.name(bIn, "b_chain"));

  std::vector<ValueId> right;
  for (uint32_t r = n; r-- > 0;)
    right.push_back(b.extract(aOut, (r * n + n - 1) * 8, 8));
  b.output("a_right", n * 8, b.concat(right));
  b.output("b_bottom", n * 8, b.extract(bOut, (n - 1) * n * 8, n * 8));
  b.output("acc_xor", 32, xorFold(b, acc, count, 32));
  return d;
}

//===----------------------------------------------------------------------===//
// Controller bank
//===----------------------------------------------------------------------===//

namespace {

// Instruction word: op[31:28] rd[27:24] rs1[23:20] rs2[19:16] imm[15:0].
enum CpuOp : uint32_t {
  kAdd,
  kSub,
  kAnd,
  kOr,
  kXor,
  kShl,
  kShr,
  kSlt,
  kMul,
  kAddi,
  kLd,
  kSt,
  kBeq,
  kBlt,
  kIn,
  kOut
};
constexpr uint32_t kRomDepth = 256;
constexpr uint32_t kRamDepth = 256;
constexpr uint32_t kWatchdogLimit = 64;
constexpr uint32_t kWatchdogJump = 0x55;

uint64_t nextRandom(uint64_t &s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A pseudo-random program: every opcode, mostly short forward/backward branches.
std::vector<BitVec> randomProgram(uint32_t seed) {
  uint64_t s = 0x5eed0000ULL + seed;
  std::vector<BitVec> rom;
  for (uint32_t i = 0; i < kRomDepth; ++i) {
    uint64_t r = nextRandom(s);
    uint32_t op = r & 15;
    uint32_t regs = (r >> 8) & 0xfff;
    uint32_t imm = (r >> 32) & 0xffff;
    if (op == kBeq || op == kBlt) {
      // Mostly forward, never to itself; rs1 != rs2 so that no branch is always taken.
      int32_t off = static_cast<int32_t>((r >> 32) % 16) - 4;
      imm = static_cast<uint32_t>(off >= 0 ? off + 1 : off) & 0xffff;
      if (((regs >> 4) & 15) == (regs & 15))
        regs ^= 1;
    }
    rom.push_back(BitVec(32, (uint64_t(op) << 28) | (uint64_t(regs) << 16) | imm));
  }
  return rom;
}

void buildCpu(Design &d, const std::string &name, uint32_t seed) {
  Module &m = d.addModule(name);
  ModuleBuilder b(m);
  b.setLoc(here(name.c_str()));
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  ValueId in = b.input("in_data", 32);
  RegOptions ro;
  ro.reset = rst;

  uint32_t rom = b.memory("rom", 32, kRomDepth, randomProgram(seed));
  std::vector<BitVec> rfInit, ramInit;
  for (uint32_t i = 0; i < 16; ++i)
    rfInit.push_back(BitVec(32, 0x01010101ULL * i + seed));
  for (uint32_t i = 0; i < kRamDepth; ++i)
    ramInit.push_back(BitVec(32, (uint64_t(i) * 2654435761ULL + seed) & 0xffffffffULL));
  uint32_t rf = b.memory("rf", 32, 16, rfInit);
  uint32_t ram = b.memory("ram", 32, kRamDepth, ramInit);

  ValueId pc = b.regDecl(clk, 8, "pc", ro);
  ValueId waiting = b.regDecl(clk, 1, "load_wait", ro); // FSM: 0 execute, 1 load write-back
  ValueId ldRd = b.regDecl(clk, 4, "load_rd", ro);
  ValueId outQ = b.regDecl(clk, 32, "out_q", ro);
  ValueId tick = b.regDecl(clk, 32, "tick", ro);
  ValueId dog = b.regDecl(clk, 8, "watchdog", ro);

  ValueId instr = b.name(b.memReadAsync(rom, pc), "instr");
  ValueId op = b.name(b.extract(instr, 28, 4), "opcode");
  ValueId rd = b.extract(instr, 24, 4);
  ValueId rs1 = b.extract(instr, 20, 4);
  ValueId rs2 = b.extract(instr, 16, 4);
  ValueId imm = b.extract(instr, 0, 16);
  ValueId simm = b.sext(imm, 32);
  ValueId r1 = b.name(b.memReadAsync(rf, rs1), "r1");
  ValueId r2 = b.name(b.memReadAsync(rf, rs2), "r2");

  auto isOp = [&](uint32_t k) { return b.eq(op, b.constant(4, k)); };
  ValueId exec = b.bitNot(waiting);
  ValueId shamt = b.extract(r2, 0, 5);
  ValueId addr = b.extract(b.add(r1, simm), 0, 8);

  // ALU: a mux chain over the opcode, as a case statement synthesizes.
  std::vector<std::pair<uint32_t, ValueId>> alu = {
      {kAdd, b.add(r1, r2)},
      {kSub, b.sub(r1, r2)},
      {kAnd, b.bitAnd(r1, r2)},
      {kOr, b.bitOr(r1, r2)},
      {kXor, b.bitXor(r1, r2)},
      {kShl, b.binary(OpKind::Shl, r1, shamt)},
      {kShr, b.binary(OpKind::ShrU, r1, shamt)},
      {kSlt, b.zext(b.binary(OpKind::LtS, r1, r2), 32)},
      {kMul, b.mul(r1, r2)},
      {kIn, b.bitXor(in, b.bitXor(r1, tick))},
  };
  ValueId res = b.add(r1, simm); // kAddi
  for (auto it = alu.rbegin(); it != alu.rend(); ++it)
    res = b.mux(isOp(it->first), it->second, res);
  b.name(res, "alu");
  ValueId writesRd = b.bitOr(b.binary(OpKind::LeU, op, b.constant(4, kAddi)), isOp(kIn));

  // Data RAM: synchronous read (two-cycle loads), write on stores.
  ValueId isLd = b.bitAnd(exec, isOp(kLd));
  ValueId isSt = b.bitAnd(exec, isOp(kSt));
  ValueId ramData = b.name(b.memReadSync(ram, clk, addr, isLd), "ram_rdata");
  b.memWrite(ram, clk, addr, r2, isSt);

  // Register file write port: ALU results, or the load result in the wait state.
  ValueId wen = b.bitOr(waiting, b.bitAnd(exec, writesRd));
  ValueId waddr = b.mux(waiting, ldRd, rd);
  ValueId wdata = b.mux(waiting, ramData, res);
  b.memWrite(rf, clk, waddr, wdata, wen);

  // Next pc: branches are pc-relative; the watchdog jumps away from a loop that produces
  // no output.
  ValueId one8 = b.constant(8, 1);
  ValueId pcInc = b.add(pc, one8);
  ValueId taken = b.bitOr(b.bitAnd(isOp(kBeq), b.eq(r1, r2)),
                          b.bitAnd(isOp(kBlt), b.binary(OpKind::LtS, r1, r2)));
  ValueId target = b.add(pc, b.extract(imm, 0, 8));
  ValueId isOut = b.bitAnd(exec, isOp(kOut));
  ValueId bark = b.binary(OpKind::GeU, dog, b.constant(8, kWatchdogLimit));
  ValueId pcExec =
      b.mux(bark, b.add(pc, b.constant(8, kWatchdogJump)), b.mux(taken, target, pcInc));
  b.setNext(pc, b.mux(waiting, pc, pcExec));
  b.setNext(waiting, isLd);
  b.setNext(ldRd, b.mux(isLd, rd, ldRd));
  b.setNext(outQ, b.mux(isOut, b.bitXor(b.add(r1, r2), tick), outQ));
  b.setNext(tick, b.add(tick, b.constant(32, 1)));
  b.setNext(dog, b.mux(b.bitOr(isOut, bark), b.constant(8, 0), b.add(dog, one8)));

  b.output("out_data", 32, outQ);
  b.output("pc", 8, pc);
}

} // namespace

Design controllerDesign(uint32_t cores) {
  Design d;
  std::vector<std::string> names;
  for (uint32_t k = 0; k < cores; ++k) {
    names.push_back("cpu" + std::to_string(k));
    buildCpu(d, names.back(), k);
  }
  Module &m = d.addModule("controller");
  d.topName = "controller";
  ModuleBuilder b(m);
  b.setLoc(here("controller"));
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  ValueId in = b.input("in_data", 32);
  std::vector<uint32_t> insts;
  for (uint32_t k = 0; k < cores; ++k)
    insts.push_back(b.instance(*d.find(names[k]), "u_cpu" + std::to_string(k)));
  std::vector<ValueId> outs, pcs;
  for (uint32_t k = 0; k < cores; ++k) {
    outs.push_back(b.instOutput(insts[k], "out_data"));
    pcs.push_back(b.instOutput(insts[k], "pc"));
  }
  ValueId all = outs[0];
  for (uint32_t k = 0; k < cores; ++k) {
    b.connect(insts[k], "clk", clk);
    b.connect(insts[k], "rst", rst);
    b.connect(insts[k], "in_data", b.bitXor(in, outs[(k + cores - 1) % cores]));
    if (k)
      all = b.bitXor(all, outs[k]);
  }
  b.output("out", 32, all);
  std::vector<ValueId> pcsMsbFirst(pcs.rbegin(), pcs.rend());
  b.output("pcs", cores * 8, b.concat(pcsMsbFirst));
  return d;
}

} // namespace tessera::hw
