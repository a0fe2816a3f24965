//===- VectorUnit.cpp - the tile's vector unit (tessera_vu) as hw IR ----------===//
//
// All V-layout instructions of docs/isa.md 5.4 on FP32 words of ACC, bit-exact with the
// golden model (lib/accel/Golden.cpp, execVector). docs/tile-vector-unit.md is the manual.
//
// Structure: L = lanes lanes, lane i handling element e + i of a group, each with its own
// ACC read / write ports and FP32 units (fp32AddUnit, fp32MulUnit, fp32MaxUnit; the first
// U = min(L, 8) lanes also fp32DivUnit, fp32SqrtUnit and the two exp helpers below),
// used by three datapaths selected by the FSM state:
//
//   stream     vadd vsub vmul vmax vadds vmuls vfill: a two-stage pipeline, R (read a[e+i]
//              and b'[e+i]) then X (compute, write d[e+i]), one group per cycle
//   reduce     vsum vamax: R / X as above into the lane partials part[i], then the
//              pairwise tree of docs/isa.md one level per cycle, then d[s] = part[0]
//   microcode  vexp vrsqrt vgelu vadamw: per group, read (p, g, m, v for vadamw), latch
//              into temporaries T0..T3, run the op's micro-program from the microcode ROM
//              (one FP32 op per cycle, all U lanes in lockstep, T0..T7 / F[fs+0..8] /
//              constants as sources), write back T7 (d) and, for vadamw, T5 (m), T6 (v)
//
// An op runs on all lanes only when lane-parallel execution equals the golden model's
// sequential one (no element reads a word written by an earlier element of its group);
// otherwise one element per group runs on lane 0, whose read ports forward a same-cycle
// write, so even partially overlapping d / a / b give the sequential result. The run-time
// range checks of docs/isa.md 6 (the golden model's order and address rule) come first;
// n / seg (bcast and reductions) is computed by a 20-cycle restoring divider before them.
//
//===----------------------------------------------------------------------===//
#include "accel/FpUnits.h"
#include "accel/TileRtl.h"

#include <map>
#include <string>
#include <vector>

namespace tessera::accel::rtl {

using hw::ModuleBuilder;
using hw::OpKind;
using hw::RegOptions;
using hw::ValueId;

namespace {

//===----------------------------------------------------------------------===//
// Microcode
//===----------------------------------------------------------------------===//

/// Micro-op kinds: T[dst] = op(srcA, srcB) with srcB optionally negated (sign flip).
enum MicroKind : uint32_t {
  kUAdd = 0,      ///< fp32Add(A, B)
  kUMul = 1,      ///< fp32Mul(A, B)
  kUDiv = 2,      ///< fp32Div(A, B)
  kUSqrt = 3,     ///< fp32Sqrt(A)
  kUExpRound = 4, ///< fp32Exp step 1: N = round-half-away(A) (an integer register), result float(N)
  kUExpScale = 5, ///< fp32Exp step 4: A * 2^N through the exponent field, special cases of x = B
};

/// Operand sources: temporaries T0..T7, the nine FP32 registers F[fs+0..8], constants.
constexpr uint32_t kSrcF = 8, kSrcK = 17;
enum ConstId : uint32_t {
  kLog2e,
  kLn2Hi,
  kLn2Lo,
  kP5,
  kP4,
  kP3,
  kP2,
  kP1,
  kP0,
  kOne,
  kTwo,
  kHalf,
  kGeluC0,
  kGeluC1,
  kNumConsts
};
/// FP32 bit constants; fp32Exp's are those of lib/numerics/Fp32Math.cpp (docs/numerics.md
/// "exp"), GELU's those of docs/isa.md 5.4.
constexpr uint32_t kConstBits[kNumConsts] = {
    0x3FB8AA3B, 0x3F318000, 0xB95E8083, 0x39506967, 0x3AB743CE, 0x3C088908, 0x3D2AA9C1,
    0x3E2AAAAA, 0x3F000000, 0x3F800000, 0x40000000, 0x3F000000, 0x3F4C422A, 0x3D372713};
static_assert(kSrcK + kNumConsts <= 32, "sources fit 5 bits");

constexpr uint32_t K(ConstId c) { return kSrcK + c; }
constexpr uint32_t F(uint32_t i) { return kSrcF + i; }

struct MicroOp {
  uint32_t kind, a, b;
  bool negB;
  uint32_t dst;
  bool last;
};
/// Microword: kind [2:0], srcA [7:3], srcB [12:8], negB [13], dst [16:14], last [17].
constexpr uint32_t kMicroWidth = 18;
uint64_t encodeMicro(const MicroOp &u) {
  return uint64_t(u.kind) | uint64_t(u.a) << 3 | uint64_t(u.b) << 8 | uint64_t(u.negB) << 13 |
         uint64_t(u.dst) << 14 | uint64_t(u.last) << 17;
}

/// The microprograms, in the exact operation order of numerics::fp32Exp / fp32Rsqrt /
/// fp32Gelu and Golden.cpp's AdamW.
struct Microcode {
  std::vector<MicroOp> ops;
  uint32_t vexp = 0, vrsqrt = 0, vgelu = 0, vadamw = 0;

  void op(uint32_t kind, uint32_t dst, uint32_t a, uint32_t b = 0, bool negB = false) {
    ops.push_back({kind, a, b, negB, dst, false});
  }
  void end() { ops.back().last = true; }

  /// y = fp32Exp(x) in 21 micro-ops; w1..w4 are scratch temporaries, x is kept.
  void exp(uint32_t x, uint32_t y, uint32_t w1, uint32_t w2, uint32_t w3, uint32_t w4) {
    op(kUMul, w1, x, K(kLog2e));  // t = x * log2e
    op(kUExpRound, w1, w1);       // N = round(t), w1 = float(N)
    op(kUMul, w2, w1, K(kLn2Hi)); // N * hi
    op(kUAdd, w2, x, w2, true);   // r = x - N * hi
    op(kUMul, w3, w1, K(kLn2Lo)); // N * lo
    op(kUAdd, w2, w2, w3, true);  // r = r - N * lo
    op(kUMul, w3, K(kP5), w2);    // Horner: p = P5 * r + P4, ...
    for (ConstId c : {kP4, kP3, kP2, kP1, kP0}) {
      op(kUAdd, w3, w3, K(c));
      if (c != kP0)
        op(kUMul, w3, w3, w2);
    }
    op(kUMul, w4, w2, w2);      // z = r * r
    op(kUMul, w3, w3, w4);      // p * z
    op(kUAdd, w3, w3, w2);      // + r
    op(kUAdd, w3, w3, K(kOne)); // + 1
    op(kUExpScale, y, w3, x);   // * 2^N, special cases of x
  }

  Microcode() {
    // vexp: T7 = exp(T0).
    vexp = uint32_t(ops.size());
    exp(0, 7, 1, 2, 3, 4);
    end();
    // vrsqrt: T7 = 1 / sqrt(T0).
    vrsqrt = uint32_t(ops.size());
    op(kUSqrt, 4, 0);
    op(kUDiv, 7, K(kOne), 4);
    end();
    // vgelu: T7 = gelu(T0), docs/isa.md 5.4.
    vgelu = uint32_t(ops.size());
    op(kUMul, 4, 0, 0);             // x * x
    op(kUMul, 4, 4, 0);             // x3
    op(kUMul, 4, K(kGeluC1), 4);    // C1 * x3
    op(kUAdd, 4, 0, 4);             // x + C1 * x3
    op(kUMul, 4, K(kGeluC0), 4);    // u
    op(kUAdd, 4, 4, 4);             // u + u
    exp(4, 5, 1, 2, 3, 6);          // e = exp(2u)
    op(kUAdd, 5, 5, K(kOne));       // e + 1
    op(kUDiv, 5, K(kTwo), 5);       // 2 / (e + 1)
    op(kUAdd, 5, K(kOne), 5, true); // t = 1 - 2 / (e + 1)
    op(kUMul, 6, K(kHalf), 0);      // 0.5 * x
    op(kUAdd, 5, K(kOne), 5);       // 1 + t
    op(kUMul, 7, 6, 5);             // y
    end();
    // vadamw: T0 = g, T1 = m, T2 = p, T3 = v; T5 = m', T6 = v', T7 = p'.
    vadamw = uint32_t(ops.size());
    op(kUMul, 4, F(1), 1);       // F1 * m
    op(kUMul, 5, F(2), 0);       // F2 * g
    op(kUAdd, 5, 4, 5);          // m'
    op(kUMul, 4, 0, 0);          // g * g
    op(kUMul, 4, F(4), 4);       // F4 * g^2
    op(kUMul, 6, F(3), 3);       // F3 * v
    op(kUAdd, 6, 6, 4);          // v'
    op(kUMul, 4, 6, F(8));       // v' * F8
    op(kUSqrt, 4, 4);            // sqrt
    op(kUAdd, 4, 4, F(5));       // + eps
    op(kUMul, 7, 5, F(7));       // m' * F7
    op(kUDiv, 4, 7, 4);          // u
    op(kUMul, 7, 2, F(6));       // p * F6
    op(kUMul, 4, 4, F(0), true); // u * -lr
    op(kUAdd, 7, 7, 4);          // p'
    end();
  }
};

unsigned bitsFor(uint64_t count) { // bits to hold 0..count-1 (at least 1)
  unsigned b = 1;
  while ((uint64_t(1) << b) < count)
    ++b;
  return b;
}

/// Helpers over ModuleBuilder so that the FSM reads like a description.
struct Gen {
  ModuleBuilder &b;
  ValueId clk, rst;

  uint32_t width(ValueId v) { return b.module().width(v); }
  ValueId c(uint32_t w, uint64_t v) {
    return b.constant(w, w >= 64 ? v : v & ((uint64_t(1) << w) - 1));
  }
  ValueId bit(ValueId v, uint32_t i) { return b.extract(v, i, 1); }
  ValueId bits(ValueId v, uint32_t lo, uint32_t w) { return b.extract(v, lo, w); }
  ValueId lnot(ValueId v) { return b.bitNot(v); }
  ValueId land(ValueId x, ValueId y) { return b.bitAnd(x, y); }
  ValueId lor(ValueId x, ValueId y) { return b.bitOr(x, y); }
  ValueId lor(std::initializer_list<ValueId> xs) {
    ValueId r = hw::kNoValue;
    for (ValueId x : xs)
      r = r == hw::kNoValue ? x : b.bitOr(r, x);
    return r;
  }
  ValueId sel(ValueId cond, ValueId t, ValueId f) { return b.mux(cond, t, f); }
  ValueId eqc(ValueId v, uint64_t k) { return b.eq(v, c(width(v), k)); }
  ValueId zx(ValueId v, uint32_t w) { return b.resize(v, w); }
  ValueId add(ValueId x, ValueId y) { return b.add(x, y); }
  ValueId inc(ValueId v) { return b.add(v, c(width(v), 1)); }
  ValueId ltu(ValueId x, ValueId y) { return b.binary(OpKind::LtU, x, y); }
  ValueId gtu(ValueId x, ValueId y) { return b.binary(OpKind::GtU, x, y); }
  ValueId geu(ValueId x, ValueId y) { return b.binary(OpKind::GeU, x, y); }
  ValueId les(ValueId x, ValueId y) { return b.binary(OpKind::LeS, x, y); }
  ValueId ges(ValueId x, ValueId y) { return b.binary(OpKind::GeS, x, y); }
  ValueId shl(ValueId v, ValueId amt) { return b.binary(OpKind::Shl, v, amt); }

  ValueId reg(uint32_t w, const std::string &name) {
    RegOptions o;
    o.reset = rst;
    return b.regDecl(clk, w, "vu_" + name, o);
  }
  ValueId name(ValueId v, const std::string &n) { return b.name(v, "vu_" + n); }

  /// vals[index] as a balanced mux tree (index bits from the least significant up);
  /// entries past the end read as vals[0].
  ValueId pick(ValueId index, std::vector<ValueId> vals) {
    uint32_t iw = width(index);
    for (uint32_t lvl = 0; vals.size() > 1; ++lvl) {
      if (vals.size() % 2)
        vals.push_back(vals[0]);
      std::vector<ValueId> next;
      ValueId s = lvl < iw ? bit(index, lvl) : c(1, 0);
      for (size_t i = 0; i < vals.size(); i += 2)
        next.push_back(vals[i] == vals[i + 1] ? vals[i] : sel(s, vals[i + 1], vals[i]));
      vals = std::move(next);
    }
    return vals[0];
  }
  /// A priority chain: the value of the first true condition, else `otherwise`.
  ValueId chain(const std::vector<std::pair<ValueId, ValueId>> &cases, ValueId otherwise) {
    ValueId r = otherwise;
    for (auto it = cases.rbegin(); it != cases.rend(); ++it)
      r = sel(it->first, it->second, r);
    return r;
  }
};

/// fp32Exp step 1 (numerics: n = floor(|t| + 1/2) with t's sign when |t| >= 1/2, else 0):
/// |t| * 2^24 is the significand shifted by E - 126; adding 2^23 and dropping 24 bits
/// rounds half away from zero. Valid for |t| < 512 (|x| < 128 gives |t| < 185); larger t
/// only reach here for inputs whose result the scale step overrides. Returns (float(n), n).
std::pair<ValueId, ValueId> expRound(Gen &g, ValueId t) {
  ValueId e = g.bits(t, 23, 8);
  ValueId sig = g.b.concat({g.c(1, 1), g.bits(t, 0, 23)});
  ValueId big = g.geu(e, g.c(8, 126)); // |t| >= 1/2
  ValueId sh = g.bits(g.b.sub(e, g.c(8, 126)), 0, 4);
  ValueId fixed = g.shl(g.zx(sig, 40), g.zx(sh, 40));
  ValueId mag = g.bits(g.add(fixed, g.c(40, 1u << 23)), 24, 10);
  mag = g.sel(big, mag, g.c(10, 0));
  ValueId neg = g.bit(t, 31);
  ValueId n = g.sel(neg, g.b.sub(g.c(10, 0), mag), mag);
  // float(n): the leading one of mag at position p gives exponent 127 + p.
  ValueId pos = g.c(4, 0);
  for (uint32_t p = 1; p < 10; ++p)
    pos = g.sel(g.bit(mag, p), g.c(4, p), pos);
  ValueId frac = g.bits(g.shl(g.zx(mag, 33), g.zx(g.b.sub(g.c(5, 23), g.zx(pos, 5)), 33)), 0, 23);
  ValueId expField = g.add(g.c(8, 127), g.zx(pos, 8));
  ValueId nf = g.b.concat({neg, expField, frac});
  nf = g.sel(g.eqc(mag, 0), g.c(32, 0), nf);
  return {nf, n};
}

/// fp32Exp step 4 and the special cases decided on the input x: y * 2^n by adding n to
/// the exponent field, FTZ at a biased exponent <= 0, Inf at >= 255.
ValueId expScale(Gen &g, ValueId y, ValueId x, ValueId n) {
  ValueId xe = g.bits(x, 23, 8), xm = g.bits(x, 0, 23), xs = g.bit(x, 31);
  ValueId eOnes = g.eqc(xe, 0xFF), mZero = g.eqc(xm, 0);
  ValueId xNan = g.land(eOnes, g.lnot(mZero));
  ValueId xInf = g.land(eOnes, mZero);
  ValueId xZero = g.eqc(xe, 0); // DAZ: subnormals are zeros
  ValueId xBig = g.geu(xe, g.c(8, 127 + 7));
  ValueId be = g.add(g.zx(g.bits(y, 23, 8), 12), g.b.sext(n, 12));
  ValueId inf = g.c(32, 0x7F800000u);
  ValueId overOrZero = g.sel(xs, g.c(32, 0), inf);
  ValueId scaled = g.b.concat({g.bit(y, 31), g.bits(be, 0, 8), g.bits(y, 0, 23)});
  ValueId r = g.sel(g.ges(be, g.c(12, 255)), inf, scaled);
  r = g.sel(g.les(be, g.c(12, 0)), g.c(32, 0), r);
  r = g.sel(g.lor(xBig, xInf), overOrZero, r);
  r = g.sel(xZero, g.c(32, kConstBits[kOne]), r);
  return g.sel(xNan, g.c(32, 0x7FC00000u), r);
}

// FSM states.
enum State : uint32_t {
  sIdle = 0, ///< ready for start
  sDiv,      ///< n / seg (20 cycles; one when not needed)
  sCheck,    ///< range checks, fault or dispatch to a datapath
  sStream,   ///< elementwise pipeline (R and X stages)
  sRedRead,  ///< reduction: read a segment into the lane partials
  sRedDrain, ///< reduction: the X stage of the segment's last element
  sRedTree,  ///< reduction: the pairwise tree
  sRedWrite, ///< reduction: d[s] = part[0]
  sUcRead,   ///< microcode: read the first element
  sUcLatch,  ///< microcode: latch the read data into T0..T3
  sUcRun,    ///< microcode: one micro-op per cycle
  sUcWrite,  ///< microcode: write back, read the next element
  sDone,     ///< done pulse
  sFault,    ///< stopped after a fault until reset
};
constexpr uint32_t kStateBits = 4;
/// Lanes that run the microcode in lockstep (each has a divider and a square root).
constexpr unsigned kMaxMicroLanes = 8;

} // namespace

Expected<hw::Module *> buildVectorUnit(hw::Design &design, const TileConfig &cfg,
                                       const GenParams &) {
  const unsigned L = cfg.lanes;
  if (L == 0 || L > 64)
    return Diagnostic::error("unsupported-parameter", "vector unit: lanes = " + std::to_string(L) +
                                                          " (the generator builds 1..64 lanes)");
  const uint32_t accWords = cfg.accWords();
  if (accWords == 0)
    return Diagnostic::error("unsupported-parameter", "vector unit: the tile has no ACC words");
  if (design.find("tessera_vu"))
    return Diagnostic::error("unsupported-parameter", "vector unit: the design already has a "
                                                      "module 'tessera_vu'");

  hw::Module &m = design.addModule("tessera_vu");
  ModuleBuilder b(m);
  b.setLoc(SourceLoc{"<tessera-generate:vu>", 0, 0});
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  Gen g{b, clk, rst};
  ValueId start = b.input("start", 1);
  ValueId insn = b.input("insn", 128);
  ValueId regs = b.input("regs", kRegsWidth);
  ValueId fregs = b.input("fregs", kFregsWidth);
  constexpr unsigned kReadPorts = 4, kWritePorts = 3;
  std::vector<ValueId> rdData(kReadPorts);
  for (unsigned p = 0; p < kReadPorts; ++p)
    rdData[p] = b.input("acc_rd" + std::to_string(p) + "_data", 32);

  // --- Instruction registers, latched at start ----------------------------------------
  ValueId state = g.reg(kStateBits, "state");
  auto in = [&](State s) { return g.eqc(state, s); };
  ValueId idle = in(sIdle);
  ValueId accept = g.land(start, idle);
  auto latch = [&](uint32_t w, const std::string &name, ValueId v) {
    ValueId r = g.reg(w, name);
    b.setNext(r, g.sel(accept, v, r));
    return r;
  };
  ValueId op = latch(8, "op", g.bits(insn, 0, 8));
  ValueId bcast = latch(1, "bcast", g.bit(insn, 12));
  ValueId dBase = latch(32, "d_base", g.add(g.bits(regs, 0, 32), g.zx(g.bits(insn, 32, 20), 32)));
  ValueId aBase = latch(32, "a_base", g.add(g.bits(regs, 32, 32), g.zx(g.bits(insn, 52, 20), 32)));
  ValueId bBase = latch(32, "b_base", g.add(g.bits(regs, 64, 32), g.zx(g.bits(insn, 72, 20), 32)));
  ValueId n = latch(20, "n", g.bits(insn, 92, 20));
  ValueId segIn = g.bits(insn, 112, 16);
  ValueId seg = latch(16, "seg", g.sel(g.eqc(segIn, 0), g.c(16, 1), segIn)); // golden: 0 -> 1
  std::vector<ValueId> fr(9);
  for (unsigned j = 0; j < 9; ++j)
    fr[j] = latch(32, "f" + std::to_string(j), g.bits(fregs, 32 * j, 32));

  // Opcode classes (docs/isa.md 4).
  auto isOp = [&](Opcode o) { return g.eqc(op, uint32_t(o)); };
  ValueId opSub = isOp(Opcode::VSub), opAddS = isOp(Opcode::VAddS), opMulS = isOp(Opcode::VMulS);
  ValueId opFill = isOp(Opcode::VFill), opSum = isOp(Opcode::VSum), opAmax = isOp(Opcode::VAmax);
  ValueId opExp = isOp(Opcode::VExp), opRsqrt = isOp(Opcode::VRsqrt), opGelu = isOp(Opcode::VGelu);
  ValueId opAdamw = isOp(Opcode::VAdamW);
  ValueId opBin = g.name(g.lor({isOp(Opcode::VAdd), opSub, isOp(Opcode::VMul), isOp(Opcode::VMax)}),
                         "op_binary");
  ValueId opStream = g.name(g.lor({opBin, opAddS, opMulS, opFill}), "op_stream");
  ValueId opRed = g.name(g.lor(opSum, opAmax), "op_reduce");
  ValueId opUc = g.name(g.lor({opExp, opRsqrt, opGelu, opAdamw}), "op_microcode");
  ValueId useAdd = g.lor({isOp(Opcode::VAdd), opSub, opAddS, opSum});
  ValueId useMul = g.lor(isOp(Opcode::VMul), opMulS);
  ValueId bScalar = g.lor(opAddS, opMulS);

  // --- n / seg: restoring divider (bcast lengths, reduction output count) ------------
  ValueId needDiv = g.lor(opRed, g.land(opBin, bcast));
  ValueId divRem = g.reg(17, "div_rem"), divQ = g.reg(20, "div_q"), divCnt = g.reg(5, "div_count");
  ValueId inDiv = in(sDiv);
  ValueId rem2 = b.concat({g.bits(divRem, 0, 16), g.bit(divQ, 19)});
  ValueId divGe = g.geu(rem2, g.zx(seg, 17));
  b.setNext(divRem, g.sel(accept, g.c(17, 0),
                          g.sel(inDiv, g.sel(divGe, b.sub(rem2, g.zx(seg, 17)), rem2), divRem)));
  b.setNext(divQ, g.sel(accept, g.bits(insn, 92, 20),
                        g.sel(inDiv, b.concat({g.bits(divQ, 0, 19), divGe}), divQ)));
  b.setNext(divCnt, g.sel(accept, g.c(5, 0), g.sel(inDiv, g.inc(divCnt), divCnt)));
  ValueId divDone = g.lor(g.lnot(needDiv), g.eqc(divCnt, 19));
  ValueId nSeg = g.name(divQ, "n_seg"); // valid from sCheck on

  // --- Range checks (golden: operands a, b, d in this order; base + len > words) ------
  auto outside = [&](ValueId base, ValueId len) {
    ValueId end = g.add(g.zx(base, 34), g.zx(len, 34));
    return g.gtu(end, g.c(34, accWords));
  };
  ValueId n21 = g.zx(n, 21);
  ValueId lenB = g.sel(opAdamw, g.add(n21, n21), g.sel(bcast, g.zx(nSeg, 21), n21));
  ValueId lenD = g.sel(opRed, nSeg, n);
  ValueId badA = g.land(g.lnot(opFill), outside(aBase, n));
  ValueId badB = g.land(g.lor(opBin, opAdamw), outside(bBase, lenB));
  ValueId badD = outside(dBase, lenD);
  ValueId inCheck = in(sCheck);
  ValueId anyBad = g.land(inCheck, g.lor({badA, badB, badD}));
  ValueId fault = g.reg(1, "fault"), faultAddr = g.reg(32, "fault_addr");
  b.setNext(fault, g.lor(fault, anyBad));
  b.setNext(faultAddr, g.sel(anyBad, g.chain({{badA, aBase}, {badB, bBase}}, dBase), faultAddr));

  // --- Lanes and the wide mode ------------------------------------------------------------
  // Up to L elements issue per cycle: lane i takes element e + i with its own read ports,
  // FP32 units and write ports (lane 0's units double as the shared units of the one-lane
  // mode). Stream ops and reductions use all L lanes, the microcode the first U = min(L, 8)
  // lanes in lockstep (one microword, per-lane temporaries and units). Reductions are
  // always wide. Another op is wide only when no element can read a word that an element
  // of the same or the previous group writes -- d disjoint from a / b or starting at or
  // below them; with bcast, d disjoint from b; for vadamw, p, g and m|v pairwise disjoint
  // -- so that lane-parallel execution is the sequential one. Otherwise it runs one
  // element per group through lane 0, whose read ports forward same-cycle writes.
  const unsigned U = std::min(L, kMaxMicroLanes);
  auto overlaps = [&](ValueId x, ValueId xLen, ValueId y, ValueId yLen) {
    ValueId x34 = g.zx(x, 34), y34 = g.zx(y, 34);
    return g.land(g.ltu(x34, g.add(y34, g.zx(yLen, 34))), g.ltu(y34, g.add(x34, g.zx(xLen, 34))));
  };
  ValueId safeA = g.lor(g.lnot(overlaps(dBase, n, aBase, n)), b.binary(OpKind::LeU, dBase, aBase));
  ValueId safeB =
      g.sel(bcast, g.lnot(overlaps(dBase, n, bBase, nSeg)),
            g.lor(g.lnot(overlaps(dBase, n, bBase, n)), b.binary(OpKind::LeU, dBase, bBase)));
  ValueId n2 = g.add(g.zx(n, 21), g.zx(n, 21));
  ValueId adamwDisjoint = g.lnot(g.lor({overlaps(dBase, n, aBase, n), overlaps(dBase, n, bBase, n2),
                                        overlaps(aBase, n, bBase, n2)}));
  ValueId wideStream = g.lor(opFill, g.land(safeA, g.lor(g.lnot(opBin), safeB)));
  ValueId wideUc = g.sel(opAdamw, adamwDisjoint, safeA);
  ValueId wide = g.reg(1, "wide");
  b.setNext(wide, g.sel(inCheck, g.lor({opRed, g.land(opStream, wideStream), g.land(opUc, wideUc)}),
                        wide));

  // --- Element counters ----------------------------------------------------------------
  ValueId rdE = g.reg(21, "elem");     // next element to read
  ValueId kIdx = g.reg(16, "seg_pos"); // its position inside its segment
  ValueId sIdx = g.reg(20, "seg_idx"); // its segment
  ValueId oIdx = g.reg(20, "out_idx"); // reductions: next output
  ValueId moreElems = g.ltu(rdE, n21);
  ValueId inStream = in(sStream), inRedRead = in(sRedRead);
  ValueId issueUc = g.lor(in(sUcRead), g.land(in(sUcWrite), moreElems));
  ValueId starting = inCheck;
  ValueId inRedWrite = in(sRedWrite);

  // (k, s) of lane i's element: lane 0 from the counters, each next lane one step on.
  ValueId segM1 = b.sub(seg, g.c(16, 1));
  std::vector<ValueId> laneK(L + 1), laneS(L + 1), act(L);
  laneK[0] = kIdx;
  laneS[0] = sIdx;
  for (unsigned i = 0; i < L; ++i) {
    ValueId wrap = b.eq(laneK[i], segM1);
    laneK[i + 1] = g.sel(wrap, g.c(16, 0), g.inc(laneK[i]));
    laneS[i + 1] = g.sel(wrap, g.inc(laneS[i]), laneS[i]);
  }
  // Active lanes (a prefix): stream and microcode up to n, reductions up to the segment end.
  ValueId count = g.c(8, 0);
  for (unsigned i = 0; i < L; ++i) {
    ValueId on = i == 0 ? g.c(1, 1) : wide;
    ValueId upToN = g.ltu(g.add(rdE, g.c(21, i)), n21);
    ValueId redOn = g.ltu(g.add(g.zx(kIdx, 17), g.c(17, i)), g.zx(seg, 17));
    ValueId a = g.lor({g.land(inStream, upToN), g.land(inRedRead, redOn),
                       i < U ? g.land(issueUc, upToN) : g.c(1, 0)});
    act[i] = g.name(g.land(on, a), "issue" + std::to_string(i));
    count = g.add(count, g.zx(act[i], 8));
  }
  ValueId issue = act[0];
  ValueId nextK = g.pick(count, laneK), nextS = g.pick(count, laneS);
  ValueId lastOfSeg = g.name(g.land(issue, g.eqc(nextK, 0)), "seg_last");
  b.setNext(rdE, g.sel(starting, g.c(21, 0), g.add(rdE, g.zx(count, 21))));
  b.setNext(kIdx, g.sel(starting, g.c(16, 0), g.sel(issue, nextK, kIdx)));
  b.setNext(sIdx, g.sel(starting, g.c(20, 0), g.sel(issue, nextS, sIdx)));
  b.setNext(oIdx, g.sel(starting, g.c(20, 0), g.sel(inRedWrite, g.inc(oIdx), oIdx)));

  // Read ports: rd0 a / rd1 b / rd2 p / rd3 v of lane 0, then a and b of lanes 1..L-1,
  // then p and v of lanes 1..U-1.
  auto laneAddr = [&](unsigned i) { return g.zx(g.add(rdE, g.c(21, i)), 32); };
  struct LanePorts {
    unsigned a, b, p, v;
  };
  std::vector<LanePorts> lp(L);
  std::vector<ValueId> rdAddr, rdEn;
  auto addRead = [&](ValueId addr, ValueId en) {
    rdAddr.push_back(addr);
    rdEn.push_back(en);
    return unsigned(rdAddr.size() - 1);
  };
  std::vector<ValueId> pAddrOf(L), vAddrOf(L), mAddrOf(L);
  for (unsigned i = 0; i < L; ++i) {
    std::string li = std::to_string(i);
    ValueId e = laneAddr(i);
    mAddrOf[i] = g.add(bBase, e);
    pAddrOf[i] = g.add(dBase, e);
    vAddrOf[i] = g.add(g.add(bBase, g.zx(n, 32)), e);
  }
  for (unsigned i = 0; i < L; ++i) {
    std::string li = std::to_string(i);
    ValueId aAddr = g.name(g.add(aBase, laneAddr(i)), "rd_a" + li + "_addr");
    ValueId bAddr =
        g.name(g.sel(bcast, g.add(bBase, g.zx(laneS[i], 32)), mAddrOf[i]), "rd_b" + li + "_addr");
    lp[i].a = addRead(aAddr, g.land(act[i], g.lnot(opFill)));
    lp[i].b = addRead(bAddr, g.land(act[i], g.lor(opBin, opAdamw)));
    if (i == 0) {
      lp[0].p = addRead(g.name(pAddrOf[0], "rd_p0_addr"), g.land(act[0], opAdamw));
      lp[0].v = addRead(g.name(vAddrOf[0], "rd_v0_addr"), g.land(act[0], opAdamw));
    }
  }
  for (unsigned i = 1; i < U; ++i) {
    std::string li = std::to_string(i);
    lp[i].p = addRead(g.name(pAddrOf[i], "rd_p" + li + "_addr"), g.land(act[i], opAdamw));
    lp[i].v = addRead(g.name(vAddrOf[i], "rd_v" + li + "_addr"), g.land(act[i], opAdamw));
  }
  const unsigned kReadPortsAll = unsigned(rdAddr.size());
  for (unsigned p = kReadPorts; p < kReadPortsAll; ++p)
    rdData.push_back(b.input("acc_rd" + std::to_string(p) + "_data", 32));

  // X stage / microcode group registers: elements in flight and their write addresses.
  std::vector<ValueId> xValid(L), ucValid(U), xDAddr(L), mAddr(U), vAddr(U);
  for (unsigned i = 0; i < L; ++i) {
    std::string li = std::to_string(i);
    xValid[i] = g.reg(1, "x" + li + "_valid");
    b.setNext(xValid[i], g.land(act[i], g.lor(opStream, opRed)));
    xDAddr[i] = g.reg(32, "x" + li + "_d_addr");
    b.setNext(xDAddr[i], g.sel(act[i], pAddrOf[i], xDAddr[i]));
    if (i < U) {
      ucValid[i] = g.reg(1, "uc" + li + "_valid");
      b.setNext(ucValid[i], g.sel(issueUc, act[i], ucValid[i]));
      mAddr[i] = g.reg(32, "uc" + li + "_m_addr");
      b.setNext(mAddr[i], g.sel(act[i], mAddrOf[i], mAddr[i]));
      vAddr[i] = g.reg(32, "uc" + li + "_v_addr");
      b.setNext(vAddr[i], g.sel(act[i], vAddrOf[i], vAddr[i]));
    }
  }

  std::vector<ValueId> part(L);
  for (unsigned l = 0; l < L; ++l)
    part[l] = g.reg(32, "part" + std::to_string(l));

  // Forwarded read data (lane 0's four ports): a write in the cycle of the read
  // (read-before-write memory) is returned instead of the stale word, so in the one-lane
  // mode every element sees the results of all earlier elements.
  ValueId fwdHit[kReadPorts], fwdData[kReadPorts];
  for (unsigned p = 0; p < kReadPorts; ++p) {
    fwdHit[p] = g.reg(1, "fwd" + std::to_string(p) + "_hit");
    fwdData[p] = g.reg(32, "fwd" + std::to_string(p) + "_data");
  }
  std::vector<ValueId> rdVal(kReadPortsAll);
  for (unsigned p = 0; p < kReadPortsAll; ++p)
    rdVal[p] = p < kReadPorts ? g.name(g.sel(fwdHit[p], fwdData[p], rdData[p]),
                                       "rd" + std::to_string(p) + "_val")
                              : rdData[p];

  // --- Microcode sequencer (one microword for all lanes) ----------------------------------
  Microcode mc;
  const unsigned upcBits = bitsFor(mc.ops.size());
  std::vector<hw::BitVec> romInit;
  for (const MicroOp &u : mc.ops)
    romInit.push_back(hw::BitVec(kMicroWidth, encodeMicro(u)));
  romInit.resize(size_t(1) << upcBits, hw::BitVec(kMicroWidth, 0));
  uint32_t rom = b.memory("vu_ucode", kMicroWidth, 1u << upcBits, romInit);
  ValueId upc = g.reg(upcBits, "upc");
  ValueId uword = g.name(b.memReadAsync(rom, upc), "uword");
  ValueId uKind = g.bits(uword, 0, 3), uSrcA = g.bits(uword, 3, 5), uSrcB = g.bits(uword, 8, 5);
  ValueId uNegB = g.bit(uword, 13), uDst = g.bits(uword, 14, 3), uLast = g.bit(uword, 17);
  ValueId inUcRun = in(sUcRun);
  ValueId ucStart = g.chain({{opExp, g.c(upcBits, mc.vexp)},
                             {opRsqrt, g.c(upcBits, mc.vrsqrt)},
                             {opGelu, g.c(upcBits, mc.vgelu)}},
                            g.c(upcBits, mc.vadamw));
  b.setNext(upc, g.sel(in(sUcLatch), ucStart, g.sel(inUcRun, g.inc(upc), upc)));
  ValueId negMask = b.concat({uNegB, g.c(31, 0)});

  // --- Reduction tree: one level per cycle, lane i combines part[2i] and part[2i+1] -------
  std::vector<unsigned> levelSize; // parts at the start of each level
  for (unsigned Lc = L; Lc > 1; Lc = (Lc + 1) / 2)
    levelSize.push_back(Lc);
  const unsigned lvBits = bitsFor(std::max<size_t>(levelSize.size(), 1));
  ValueId tLevel = g.reg(lvBits, "tree_level");
  ValueId inTree = in(sRedTree);
  b.setNext(tLevel, g.sel(inTree, g.inc(tLevel), g.c(lvBits, 0)));
  ValueId tLast = levelSize.empty() ? g.c(1, 1) : g.eqc(tLevel, levelSize.size() - 1);

  // --- Lanes: FP32 units, operand selection, temporaries ------------------------------------
  ValueId fillOrScalar = g.lor(opFill, bScalar);
  ValueId inLatch = in(sUcLatch);
  std::vector<ValueId> streamR(L), redR(L), t7(U), t5(U), t6(U);
  for (unsigned i = 0; i < L; ++i) {
    std::string li = std::to_string(i);
    ValueId av = rdVal[lp[i].a], bv = rdVal[lp[i].b];
    ValueId streamA = g.sel(opFill, fr[0], av);
    ValueId streamB =
        g.sel(fillOrScalar, fr[0], g.sel(opSub, b.bitXor(bv, g.c(32, 0x80000000u)), bv));
    ValueId redIn = g.sel(opAmax, b.concat({g.c(1, 0), g.bits(av, 0, 31)}), av);
    ValueId treeA = 2 * i < L ? part[2 * i] : part[0];
    ValueId treeB = 2 * i + 1 < L ? part[2 * i + 1] : part[0];
    ValueId A = g.sel(inTree, treeA, g.sel(opRed, part[i], streamA));
    ValueId B = g.sel(inTree, treeB, g.sel(opRed, redIn, streamB));
    std::vector<ValueId> temps;
    if (i < U) {
      for (unsigned t = 0; t < 8; ++t)
        temps.push_back(g.reg(32, "uc" + li + "_t" + std::to_string(t)));
      std::vector<ValueId> sources = temps;
      for (unsigned j = 0; j < 9; ++j)
        sources.push_back(fr[j]);
      for (uint32_t k = 0; k < kNumConsts; ++k)
        sources.push_back(g.c(32, kConstBits[k]));
      A = g.sel(inUcRun, g.pick(uSrcA, sources), A);
      B = g.sel(inUcRun, b.bitXor(g.pick(uSrcB, sources), negMask), B);
    }
    A = g.name(A, "fpu" + li + "_a");
    B = g.name(B, "fpu" + li + "_b");
    ValueId sumR = g.name(fp32AddUnit(b, A, B), "fpu" + li + "_add");
    ValueId prodR = g.name(fp32MulUnit(b, A, B), "fpu" + li + "_mul");
    ValueId maxR = g.name(fp32MaxUnit(b, A, B), "fpu" + li + "_max");
    streamR[i] = g.sel(useAdd, sumR, g.sel(useMul, prodR, maxR)); // vmax, vfill: max
    redR[i] = g.sel(opSum, sumR, maxR);
    if (i >= U)
      continue;
    ValueId divR = g.name(fp32DivUnit(b, A, B), "fpu" + li + "_div");
    ValueId sqrtR = g.name(fp32SqrtUnit(b, A), "fpu" + li + "_sqrt");
    auto [expNf, expN] = expRound(g, A);
    ValueId nReg = g.reg(10, "uc" + li + "_exp_n");
    ValueId expS = g.name(expScale(g, A, B, nReg), "fpu" + li + "_exp_scale");
    b.setNext(nReg, g.sel(g.land(inUcRun, g.eqc(uKind, kUExpRound)), expN, nReg));
    ValueId uR =
        g.name(g.pick(uKind, {sumR, prodR, divR, sqrtR, expNf, expS}), "uop" + li + "_result");
    // T0..T3 from the read ports in sUcLatch, T[dst] from a micro-op.
    const unsigned latchPort[4] = {lp[i].a, lp[i].b, lp[i].p, lp[i].v};
    for (unsigned t = 0; t < 8; ++t) {
      ValueId v = g.sel(g.land(inUcRun, g.eqc(uDst, t)), uR, temps[t]);
      if (t < 4)
        v = g.sel(inLatch, rdVal[latchPort[t]], v);
      b.setNext(temps[t], v);
    }
    t5[i] = temps[5];
    t6[i] = temps[6];
    t7[i] = temps[7];
  }
  // Partials: cleared per segment, accumulated by the X stage (lane i into part[i]: a
  // group starts at a multiple of L inside its segment), combined by the tree.
  for (unsigned l = 0; l < L; ++l) {
    ValueId v = part[l];
    for (size_t lv = 0; lv < levelSize.size(); ++lv) {
      unsigned Lc = levelSize[lv];
      ValueId nv = l < Lc / 2 ? redR[l] : (Lc % 2 && l == Lc / 2) ? part[Lc - 1] : part[l];
      if (nv != part[l])
        v = g.sel(g.land(inTree, g.eqc(tLevel, lv)), nv, v);
    }
    v = g.sel(g.land(xValid[l], opRed), redR[l], v);
    v = g.sel(g.lor(inRedWrite, inCheck), g.c(32, 0), v);
    b.setNext(part[l], v);
  }

  // Write ports: wr0 d / wr1 m / wr2 v of lane 0, then d of lanes 1..L-1, then m and v of
  // lanes 1..U-1. d: the stream X stage, the reduction output (lane 0) or T7.
  ValueId inUcWrite = in(sUcWrite);
  std::vector<ValueId> wEn, wData, wA;
  auto addWrite = [&](ValueId addr, ValueId data, ValueId en) {
    wA.push_back(addr);
    wData.push_back(data);
    wEn.push_back(en);
  };
  auto ucW = [&](unsigned i) { return g.land(inUcWrite, ucValid[i]); };
  for (unsigned i = 0; i < L; ++i) {
    std::string li = std::to_string(i);
    ValueId xStream = g.land(xValid[i], opStream);
    ValueId en = xStream, data = streamR[i], addr = xDAddr[i];
    if (i < U) {
      en = g.lor(en, ucW(i));
      data = g.sel(xStream, data, t7[i]);
    }
    if (i == 0) {
      en = g.lor(en, inRedWrite);
      data = g.sel(inRedWrite, part[0], data);
      addr = g.sel(inRedWrite, g.add(dBase, g.zx(oIdx, 32)), addr);
    }
    addWrite(addr, g.name(data, "wr_d" + li + "_data"), g.name(en, "wr_d" + li + "_en"));
    if (i == 0) {
      addWrite(mAddr[0], t5[0], g.land(ucW(0), opAdamw));
      addWrite(vAddr[0], t6[0], g.land(ucW(0), opAdamw));
    }
  }
  for (unsigned i = 1; i < U; ++i) {
    addWrite(mAddr[i], t5[i], g.land(ucW(i), opAdamw));
    addWrite(vAddr[i], t6[i], g.land(ucW(i), opAdamw));
  }
  for (unsigned p = 0; p < kReadPorts; ++p) {
    ValueId hit = g.c(1, 0), data = g.c(32, 0);
    for (unsigned w = 0; w < kWritePorts; ++w) { // lane 0's writes; a later port wins
      ValueId h = g.land(wEn[w], b.eq(wA[w], rdAddr[p]));
      hit = g.lor(hit, h);
      data = g.sel(h, wData[w], data);
    }
    b.setNext(fwdHit[p], g.land(rdEn[p], hit));
    b.setNext(fwdData[p], data);
  }

  // --- FSM --------------------------------------------------------------------------------
  auto st = [&](State s) { return g.c(kStateBits, s); };
  ValueId checkNext = g.chain({{g.lor({badA, badB, badD}), st(sFault)},
                               {g.eqc(n, 0), st(sDone)}, // not encodable; nothing to do
                               {opStream, st(sStream)},
                               {opRed, st(sRedRead)},
                               {opUc, st(sUcRead)}},
                              st(sDone));
  // n / seg outputs, as the golden model (whole segments only).
  ValueId moreSegs = g.ltu(g.inc(oIdx), nSeg);
  ValueId treeEmpty = g.c(1, levelSize.empty() ? 1 : 0);
  ValueId next = g.chain({{idle, g.sel(start, st(sDiv), st(sIdle))},
                          {inDiv, g.sel(divDone, st(sCheck), st(sDiv))},
                          {inCheck, checkNext},
                          {inStream, g.sel(moreElems, st(sStream), st(sDone))},
                          {inRedRead, g.sel(lastOfSeg, st(sRedDrain), st(sRedRead))},
                          {in(sRedDrain), g.sel(treeEmpty, st(sRedWrite), st(sRedTree))},
                          {inTree, g.sel(tLast, st(sRedWrite), st(sRedTree))},
                          {inRedWrite, g.sel(moreSegs, st(sRedRead), st(sDone))},
                          {in(sUcRead), st(sUcLatch)},
                          {inLatch, st(sUcRun)},
                          {inUcRun, g.sel(uLast, st(sUcWrite), st(sUcRun))},
                          {inUcWrite, g.sel(moreElems, st(sUcLatch), st(sDone))},
                          {in(sDone), st(sIdle)}},
                         st(sFault));
  b.setNext(state, next);

  // --- Ports -----------------------------------------------------------------------------
  for (unsigned p = 0; p < kReadPortsAll; ++p) {
    std::string base = "acc_rd" + std::to_string(p);
    b.output(base + "_addr", 32, rdAddr[p]);
    b.output(base + "_en", 1, rdEn[p]);
  }
  for (unsigned w = 0; w < wEn.size(); ++w) {
    std::string base = "acc_wr" + std::to_string(w);
    b.output(base + "_addr", 32, wA[w]);
    b.output(base + "_data", 32, wData[w]);
    b.output(base + "_en", 1, wEn[w]);
  }
  b.output("ready", 1, idle);
  b.output("done", 1, in(sDone));
  b.output("fault", 1, fault);
  b.output("fault_addr", 32, faultAddr);
  return &m;
}

} // namespace tessera::accel::rtl
