//===- TensorUnit.cpp - the tile's tensor unit (gemm, gemmsp) as hw IR --------===//
//
// buildTensorUnit: an output-stationary R x C array of PEs, each one numerics::dotAccumulate
// (accel::dotUnit) of GenParams::dotPairs pairs per step plus an FP32 accumulator register,
// fed by a fetch stage that reads operand lines from SPAD / SCALE / META, and drained to ACC.
// docs/tile-tensor-unit.md describes the structure and the timing; docs/isa.md 5.3 and 7 are
// the specification, lib/accel/Golden.cpp the reference.
//
//   cycle S (start)   latch the decoded instruction; issue the SPAD/SCALE/META reads of
//                     fetch window 0 (addresses straight from insn / regs)
//   F1 (S+1, ...)     data of one window of F steps (F = 2 with zero skipping, else 1)
//                     arrives: bit-extract the elements of every row / column, classify
//                     them (zero-skip rule of isa.md 5.3), pick the first step of the window
//                     that is not skipped, and issue the reads of the next window
//   token E           one per fetch cycle that issues a step or is the GEMM's first / last:
//                     row tokens carry the GEMM's state and A, column tokens B; row i's is
//                     delayed i cycles, column j's j cycles, then PEs forward A to the right
//                     and B downwards, so PE (i, j) sees fetch cycle s at E(s) + i + j
//   ACC               a first token makes column port j read C[i][j] one cycle before it
//                     reaches PE (i, j) (flag acc; else +0); a last token makes PE (i, j)
//                     write its new C[i][j] in the same cycle (two write sets, GEMMs
//                     alternate); done pulses with PE (R-1, C-1)'s write
//   overlap           the next GEMM may start in the last fetch cycle, >= rows cycles after
//                     the previous start, when its write set is free: issue = max(steps,
//                     rows) as docs/isa.md 7
//
// Without skipping: latency = steps + rows + cols exactly (isa.md 7). With skipping every
// F1 cycle issues at most one step and moves on by up to F steps (docs/tile-tensor-unit.md
// gives the exact cycle count).
//
// Faults: at S+1 the unit checks every range of the golden model's (isa.md 2: A, B, C,
// scales of A, scales of B, metadata); if one is out of range it issues nothing, walks
// the rows in the golden model's order to find the first offending row and raises fault
// with that row's first address.
//
//===----------------------------------------------------------------------===//
#include "accel/FpUnits.h"
#include "accel/TileRtl.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace tessera::accel::rtl {

using hw::ModuleBuilder;
using hw::OpKind;
using hw::ValueId;
using numerics::Format;

namespace {

constexpr uint32_t kBitW = 40; ///< bit addresses (8 * byte address + offsets)
constexpr uint32_t kKW = 20;   ///< K positions, step counts
constexpr uint32_t kChkW = 48; ///< range-check arithmetic

Diagnostic unsupported(const std::string &msg) {
  return Diagnostic::error("unsupported-parameter", "tensor unit: " + msg);
}

/// A tile tensor format with what the datapath needs to know about it.
struct FmtInfo {
  ElemFormat isa;
  Format elem;
  unsigned bits = 8;
  bool mx = false;
  unsigned rate = 1;
  unsigned elemIdx = 0;  ///< index into the dot unit's format list
  unsigned widthIdx = 0; ///< index into the distinct element widths
};

/// Pattern the tile supports, with derived constants.
struct PatInfo {
  unsigned n, m, code, ib, ratioLog; ///< ib: index bits; m/n = 2^ratioLog
};

class TuBuilder {
public:
  TuBuilder(hw::Module &m, const TileConfig &cfg, const GenParams &gp) : b(m), cfg(cfg), gp(gp) {}
  Status build();

private:
  ModuleBuilder b;
  const TileConfig &cfg;
  const GenParams &gp;
  ValueId clk = hw::kNoValue, rst = hw::kNoValue;

  // Static parameters.
  unsigned R = 0, C = 0, DW = 0, P = 0, Pk = 0, F = 1, NA = 0, NB = 0, sMax = 1;
  std::vector<FmtInfo> fmts;
  std::vector<Format> elems;
  std::vector<unsigned> widths;
  std::vector<PatInfo> pats;
  bool anyMx = false, anySparse = false;
  uint32_t codeW = 0, selW = 1, ibMax = 0;

  // ---- small helpers ----
  ValueId k(uint32_t w, uint64_t v) { return b.constant(w, v); }
  ValueId one() { return k(1, 1); }
  ValueId zero1() { return k(1, 0); }
  ValueId and2(ValueId x, ValueId y) { return b.bitAnd(x, y); }
  ValueId or2(ValueId x, ValueId y) { return b.bitOr(x, y); }
  ValueId not1(ValueId x) { return b.bitNot(x); }
  ValueId andAll(const std::vector<ValueId> &v) {
    ValueId r = one();
    for (ValueId x : v)
      r = and2(r, x);
    return r;
  }
  ValueId orAll(const std::vector<ValueId> &v) {
    ValueId r = zero1();
    for (ValueId x : v)
      r = or2(r, x);
    return r;
  }
  ValueId ltC(ValueId x, uint64_t c) { // x < c (unsigned)
    return b.binary(OpKind::LtU, x, k(b.module().width(x), c));
  }
  ValueId gtC(ValueId x, uint64_t c) { return b.binary(OpKind::GtU, x, k(b.module().width(x), c)); }
  ValueId eqC(ValueId x, uint64_t c) { return b.eq(x, k(b.module().width(x), c)); }
  ValueId mulC(ValueId x, uint64_t c) {
    if (c == 0)
      return k(b.module().width(x), 0);
    if (c == 1)
      return x;
    if ((c & (c - 1)) == 0)
      return b.binary(OpKind::Shl, x, k(8, ceilLog2(unsigned(c))));
    return b.mul(x, k(b.module().width(x), c));
  }
  ValueId mulV(ValueId x, ValueId y, uint32_t w) { return b.mul(b.resize(x, w), b.resize(y, w)); }
  /// options[sel] (sel past the end: options[0]).
  ValueId pick(const std::vector<ValueId> &options, ValueId sel) {
    ValueId r = options[0];
    for (size_t i = 1; i < options.size(); ++i)
      r = b.mux(eqC(sel, i), options[i], r);
    return r;
  }
  /// First true condition's value, else `dflt`.
  ValueId priority(const std::vector<std::pair<ValueId, ValueId>> &cv, ValueId dflt) {
    ValueId r = dflt;
    for (size_t i = cv.size(); i-- > 0;)
      r = b.mux(cv[i].first, cv[i].second, r);
    return r;
  }
  ValueId reg(ValueId next, const std::string &name, bool reset = true) {
    hw::RegOptions o;
    if (reset)
      o.reset = rst;
    return b.reg(clk, next, name, o);
  }
  ValueId regDecl(uint32_t w, const std::string &name, bool reset = true) {
    hw::RegOptions o;
    if (reset)
      o.reset = rst;
    return b.regDecl(clk, w, name, o);
  }
  ValueId delay(ValueId v, unsigned n, const std::string &name, bool reset) {
    for (unsigned d = 0; d < n; ++d)
      v = reg(v, name + "_d" + std::to_string(d + 1), reset);
    return v;
  }
  uint32_t widthOf(ValueId v) { return b.module().width(v); }

  /// Concatenation of fields (fields[0] in the low bits) and its inverse.
  ValueId packLow(const std::vector<ValueId> &fields) {
    std::vector<ValueId> msbFirst(fields.rbegin(), fields.rend());
    return msbFirst.size() == 1 ? msbFirst[0] : b.concat(msbFirst);
  }

  // ---- format tables ----
  struct FmtSel {
    ValueId elemSel, widthSel, bits, mx, rate2, nonMx;
  };
  FmtSel lookupFormat(ValueId code4);
  /// Element e (lane) of a shifted line, of the runtime width `widthSel`, zero-extended to
  /// codeW; fields past the line read 0.
  ValueId element(ValueId shifted, unsigned e, ValueId widthSel);
  /// Exact-zero and Inf/NaN classification of a code of the runtime format `elemSel`.
  std::pair<ValueId, ValueId> classify(ValueId code, ValueId elemSel);

  /// A register that latches `comb` at start (connected by closeLatches once the start
  /// condition exists). Returns the register: the running instruction's value.
  ValueId latch(ValueId comb, const std::string &name) {
    ValueId r = regDecl(widthOf(comb), name, false);
    latches_.push_back({r, comb});
    return r;
  }
  void closeLatches(ValueId startNow) {
    for (auto [r, comb] : latches_) {
      ValueId eff = b.mux(startNow, comb, r);
      b.setNext(r, eff);
      eff_[r] = eff;
    }
  }
  /// The value for the read addresses issued this cycle: the decoded instruction while it
  /// starts, else the latched one.
  ValueId E(ValueId r) { return eff_.at(r); }
  std::vector<std::pair<ValueId, ValueId>> latches_;
  std::map<ValueId, ValueId> eff_;
};

TuBuilder::FmtSel TuBuilder::lookupFormat(ValueId code4) {
  std::vector<std::pair<ValueId, ValueId>> es, ws, bs, ms, rs;
  for (const FmtInfo &f : fmts) {
    ValueId hit = eqC(code4, unsigned(f.isa));
    es.push_back({hit, k(selW, f.elemIdx)});
    ws.push_back({hit, k(2, f.widthIdx)});
    bs.push_back({hit, k(6, f.bits)});
    ms.push_back({hit, k(1, f.mx)});
    rs.push_back({hit, k(1, f.rate == 2)});
  }
  const FmtInfo &d = fmts[0];
  FmtSel s;
  s.elemSel = priority(es, k(selW, d.elemIdx));
  s.widthSel = priority(ws, k(2, d.widthIdx));
  s.bits = priority(bs, k(6, d.bits));
  s.mx = priority(ms, k(1, d.mx));
  s.rate2 = priority(rs, k(1, d.rate == 2));
  s.nonMx = not1(s.mx);
  return s;
}

ValueId TuBuilder::element(ValueId shifted, unsigned e, ValueId widthSel) {
  uint32_t lineBits = widthOf(shifted);
  std::vector<ValueId> opts;
  for (unsigned w : widths) {
    if ((e + 1) * w <= lineBits)
      opts.push_back(b.resize(b.extract(shifted, e * w, w), codeW));
    else
      opts.push_back(k(codeW, 0));
  }
  return pick(opts, widthSel);
}

std::pair<ValueId, ValueId> TuBuilder::classify(ValueId code, ValueId elemSel) {
  // Numerics formats (docs/numerics.md): a value is zero iff all bits but the sign are 0
  // (int8mx: the code is 0; 0x80 is -2.0); Inf/NaN are the all-ones exponents of
  // BF16 / FP16 / E5M2 and S.1111.111 of E4M3; FP6, FP4 and int8mx have neither.
  std::vector<ValueId> zs, ss;
  for (Format f : elems) {
    ValueId z = zero1(), s = zero1();
    auto low = [&](unsigned n) { return b.extract(code, 0, n); };
    switch (f) {
    case Format::BF16:
      z = eqC(low(15), 0);
      s = eqC(b.extract(code, 7, 8), 0xFF);
      break;
    case Format::FP16:
      z = eqC(low(15), 0);
      s = eqC(b.extract(code, 10, 5), 0x1F);
      break;
    case Format::E4M3:
      z = eqC(low(7), 0);
      s = eqC(low(7), 0x7F);
      break;
    case Format::E5M2:
      z = eqC(low(7), 0);
      s = eqC(b.extract(code, 2, 5), 0x1F);
      break;
    case Format::E3M2:
    case Format::E2M3:
      z = eqC(low(5), 0);
      break;
    case Format::E2M1:
      z = eqC(low(3), 0);
      break;
    case Format::Int8Mx:
      z = eqC(low(8), 0);
      break;
    default:
      break;
    }
    zs.push_back(z);
    ss.push_back(s);
  }
  return {pick(zs, elemSel), pick(ss, elemSel)};
}

Status TuBuilder::build() {
  R = cfg.rows;
  C = cfg.cols;
  DW = cfg.dotWidth;
  if (R == 0 || C == 0 || DW == 0)
    return unsupported("rows, cols and dot_width must be at least 1");
  if (cfg.formats.empty())
    return unsupported("the tile lists no tensor formats");
  unsigned maxRate = 1;
  for (const TensorFormatCfg &t : cfg.formats) {
    if (t.rate != 1 && t.rate != 2)
      return unsupported("format rate " + std::to_string(t.rate) + " (only 1 and 2)");
    const ElemFormatInfo &ei = elemFormatInfo(t.format);
    if (ei.format == ElemFormat::Fp32)
      return unsupported("fp32 is not a tensor-unit operand");
    FmtInfo f;
    f.isa = t.format;
    f.elem = ei.element;
    f.bits = ei.bits;
    f.mx = ei.mx;
    f.rate = t.rate;
    maxRate = std::max(maxRate, t.rate);
    auto it = std::find(elems.begin(), elems.end(), f.elem);
    f.elemIdx = unsigned(it - elems.begin());
    if (it == elems.end())
      elems.push_back(f.elem);
    auto wt = std::find(widths.begin(), widths.end(), f.bits);
    f.widthIdx = unsigned(wt - widths.begin());
    if (wt == widths.end())
      widths.push_back(f.bits);
    anyMx |= f.mx;
    anySparse |= t.sparse;
    fmts.push_back(f);
  }
  if (widths.size() > 4)
    return unsupported("more than four element widths");
  P = DW * maxRate;
  if (gp.dotPairs != P)
    return unsupported("GenParams::dotPairs = " + std::to_string(gp.dotPairs) +
                       " differs from dot_width * max rate = " + std::to_string(P));
  for (NmPattern p : cfg.patterns) {
    uint32_t code = 0;
    if (!nmPatternCode(p, code))
      return unsupported("sparsity pattern " + p.str() + " has no encoding");
    if (DW % p.n != 0)
      return unsupported("sparsity " + p.str() + " needs dot_width to be a multiple of " +
                         std::to_string(p.n) + " (steps must hold whole groups)");
    PatInfo pi{p.n, p.m, code, nmIndexBits(p.m), ceilLog2(p.m / p.n)};
    pats.push_back(pi);
    sMax = std::max(sMax, p.m / p.n);
    ibMax = std::max(ibMax, pi.ib);
  }
  if (pats.empty())
    anySparse = false;
  Pk = P * (anySparse ? sMax : 1);
  if (anyMx) {
    bool mxSparse = false;
    for (const TensorFormatCfg &t : cfg.formats)
      mxSparse |= elemFormatInfo(t.format).mx && t.sparse;
    unsigned maxStep = P * (mxSparse && anySparse ? sMax : 1);
    if ((DW & (DW - 1)) != 0 || maxStep > numerics::kMxBlock)
      return unsupported("MX formats need a power-of-two dot_width and at most " +
                         std::to_string(numerics::kMxBlock) +
                         " dense K per step (steps may not straddle a scale block); this "
                         "tile has up to " + std::to_string(maxStep));
  }
  elems.shrink_to_fit();
  codeW = codeWidthOf(elems);
  selW = selectWidthOf(elems.size());
  F = cfg.zeroSkip ? 2 : 1;
  bool anyDense = false; // a non-MX format: transposed operands possible
  for (const FmtInfo &f : fmts)
    anyDense |= !f.mx;
  NA = anyDense ? std::max(R, P) : R;
  NB = anyDense ? std::max(C, Pk) : C;
  if (anySparse)
    NB = std::max(NB, C);
  const unsigned L = gp.spadLine, lineBits = 8 * L;
  for (const FmtInfo &f : fmts) {
    unsigned mis = f.bits % 8 == 0 ? 0 : 8 - std::gcd(f.bits, 8u);
    unsigned need = std::max({P * f.bits, Pk * f.bits, f.mx ? 0u : std::max(R, C) * f.bits}) + mis;
    if (need > lineBits)
      return unsupported("spadLine = " + std::to_string(L) + " bytes is too narrow for one step of " +
                         std::string(elemFormatInfo(f.isa).name) + " (" + std::to_string(need) +
                         " bits)");
  }
  if (anySparse && P * ibMax + 7 > 8 * gp.metaLine)
    return unsupported("metaLine = " + std::to_string(gp.metaLine) + " bytes is too narrow");
  if (anyMx && gp.scaleLine < 1)
    return unsupported("scaleLine must be at least 1");

  b.setLoc(SourceLoc{"lib/accel/TensorUnit.cpp", 0, 0});

  // ---------------------------------------------------------------- ports
  clk = b.input("clk", 1);
  rst = b.input("rst", 1);
  ValueId start = b.input("start", 1);
  ValueId insn = b.input("insn", 128);
  ValueId regs = b.input("regs", kRegsWidth);
  ValueId fregs = b.input("fregs", kFregsWidth);
  (void)fregs;
  uint32_t readyPort = b.output("ready", 1);
  uint32_t donePort = b.output("done", 1);
  uint32_t faultPort = b.output("fault", 1);
  uint32_t faultAddrPort = b.output("fault_addr", 32);

  // Memory ports: per fetch window w, NA + NB SPAD lines, R + C scale bytes (MX), R META
  // lines (sparse); C ACC read and C ACC write ports (one per column).
  struct RdPort {
    ValueId data;
    uint32_t addrOut, enOut;
  };
  auto rdPort = [&](const std::string &mem, unsigned idx, uint32_t dataW) {
    std::string p = mem + "_rd" + std::to_string(idx);
    RdPort r;
    r.addrOut = b.output(p + "_addr", 32);
    r.enOut = b.output(p + "_en", 1);
    r.data = b.input(p + "_data", dataW);
    return r;
  };
  std::vector<std::vector<RdPort>> aPorts(F), bPorts(F), saPorts(F), sbPorts(F), mPorts(F);
  unsigned nSpad = 0, nScale = 0, nMeta = 0;
  for (unsigned w = 0; w < F; ++w) {
    for (unsigned p = 0; p < NA; ++p)
      aPorts[w].push_back(rdPort("spad", nSpad++, lineBits));
    for (unsigned p = 0; p < NB; ++p)
      bPorts[w].push_back(rdPort("spad", nSpad++, lineBits));
    if (anyMx) {
      for (unsigned i = 0; i < R; ++i)
        saPorts[w].push_back(rdPort("scale", nScale++, 8 * gp.scaleLine));
      for (unsigned j = 0; j < C; ++j)
        sbPorts[w].push_back(rdPort("scale", nScale++, 8 * gp.scaleLine));
    }
    if (anySparse)
      for (unsigned i = 0; i < R; ++i)
        mPorts[w].push_back(rdPort("meta", nMeta++, 8 * gp.metaLine));
  }
  std::vector<RdPort> accRd;
  for (unsigned j = 0; j < C; ++j)
    accRd.push_back(rdPort("acc", j, 32));
  struct WrPort {
    uint32_t addr, data, en;
  };
  std::vector<WrPort> accWr; // set 0: ports 0..C-1, set 1: C..2C-1 (one port per column)
  for (unsigned j = 0; j < 2 * C; ++j) {
    std::string p = "acc_wr" + std::to_string(j);
    accWr.push_back({b.output(p + "_addr", 32), b.output(p + "_data", 32), b.output(p + "_en", 1)});
  }

  // ---------------------------------------------------------------- control state
  ValueId faultQ = regDecl(1, "tu_fault");
  ValueId faultAddrQ = regDecl(32, "tu_fault_addr");
  ValueId fetchAct = regDecl(1, "tu_fetch_active"); // a fetch window's data arrives now
  ValueId scanAct = regDecl(1, "tu_scan_active");   // searching the faulting row
  ValueId firstF1 = regDecl(1, "tu_first_f1");      // the first fetch window's data
  ValueId curPar = regDecl(1, "tu_parity");         // write-port set of the latest GEMM
  const uint32_t cntW = 10;
  ValueId startCnt = regDecl(cntW, "tu_issue_wait"); // cycles until the next start
  ValueId parCnt[2] = {regDecl(cntW, "tu_wset0_wait"), regDecl(cntW, "tu_wset1_wait")};

  // ---------------------------------------------------------------- decode (cycle S)
  auto field = [&](unsigned lo, unsigned w) { return b.extract(insn, lo, w); };
  auto reg32 = [&](unsigned i) { return b.extract(regs, 32 * i, 32); };
  ValueId cIsSp = eqC(field(0, 8), unsigned(Opcode::GemmSp));
  if (!anySparse)
    cIsSp = zero1();
  ValueId cAccF = b.extract(insn, 12, 1);
  FmtSel fa = lookupFormat(field(28, 4)), fb = lookupFormat(field(32, 4));
  // Transposes only exist for non-MX operands (the assembler rejects the rest).
  ValueId cTa = and2(b.extract(insn, 13, 1), fa.nonMx);
  ValueId cTb = and2(b.extract(insn, 14, 1), fb.nonMx);
  ValueId cM = b.add(b.resize(field(48, 8), 9), k(9, 1));
  ValueId cN = b.add(b.resize(field(56, 8), 9), k(9, 1));
  ValueId cK = b.resize(field(64, 16), kKW);
  ValueId cLda = field(80, 16), cLdb = field(96, 16), cLdc = field(112, 12);
  ValueId patCode = field(124, 2);
  ValueId cZs = cfg.zeroSkip ? field(126, 2) : k(2, 0);
  ValueId rc = reg32(0), ra = reg32(1), rb = reg32(2), rsa = reg32(5), rsb = reg32(6),
          rmeta = reg32(7);
  // Pattern (sparse only).
  ValueId cPatIdx = k(2, 0), cIb = k(2, 2), cRatioLog = k(2, 0), cNLog = k(2, 0),
          cMLog = k(2, 0);
  if (anySparse) {
    std::vector<std::pair<ValueId, ValueId>> pi, ib, rl, nl, ml;
    for (size_t p = 0; p < pats.size(); ++p) {
      ValueId hit = eqC(patCode, pats[p].code);
      pi.push_back({hit, k(2, p)});
      ib.push_back({hit, k(2, pats[p].ib)});
      rl.push_back({hit, k(2, pats[p].ratioLog)});
      nl.push_back({hit, k(2, ceilLog2(pats[p].n))});
      ml.push_back({hit, k(2, ceilLog2(pats[p].m))});
    }
    cPatIdx = priority(pi, k(2, 0));
    cIb = priority(ib, k(2, pats[0].ib));
    cRatioLog = b.mux(cIsSp, priority(rl, k(2, pats[0].ratioLog)), k(2, 0));
    cNLog = priority(nl, k(2, ceilLog2(pats[0].n)));
    cMLog = priority(ml, k(2, ceilLog2(pats[0].m)));
  }
  // Steps: stepC compressed (= dense unless sparse) lanes, stepK dense K per step.
  ValueId cRate2 = and2(fa.rate2, fb.rate2);
  ValueId cStepC = b.mux(cRate2, k(kKW, 2 * DW), k(kKW, DW));
  ValueId cStepK = b.binary(OpKind::Shl, cStepC, cRatioLog);
  ValueId cKc = b.mux(cIsSp,
                      b.binary(OpKind::Shl, b.binary(OpKind::ShrU, cK, cMLog), cNLog), cK);
  // Bit addresses of the operand lines: port p of A starts at 8*ra + p * bitsA * lda (row p,
  // or K position p when transposed); one step advances it by incA.
  ValueId aBitsLd = mulV(fa.bits, cLda, kBitW), bBitsLd = mulV(fb.bits, cLdb, kBitW);
  ValueId cIncA = b.mux(cTa, mulV(aBitsLd, cStepK, kBitW), mulV(fa.bits, cStepC, kBitW));
  ValueId cIncB = b.mux(cTb, mulV(bBitsLd, cStepK, kBitW), mulV(fb.bits, cStepK, kBitW));
  ValueId ibLd = mulV(cIb, cLda, kBitW);
  ValueId cIncM = mulV(cIb, cStepC, kBitW);
  ValueId ra8 = b.binary(OpKind::Shl, b.resize(ra, kBitW), k(8, 3));
  ValueId rb8 = b.binary(OpKind::Shl, b.resize(rb, kBitW), k(8, 3));
  ValueId rm8 = b.binary(OpKind::Shl, b.resize(rmeta, kBitW), k(8, 3));
  // Scale row strides (isa.md 2): lda/32, or lda*m/(32 n) for a sparse A; ldb/32.
  ValueId saStride = b.binary(OpKind::ShrU, b.binary(OpKind::Shl, b.resize(cLda, 32), cRatioLog),
                              k(8, 5));
  ValueId sbStride = b.binary(OpKind::ShrU, b.resize(cLdb, 32), k(8, 5));

  // Latched copies (eff = this cycle's value: comb while starting, else the register).
  ValueId accF = latch(cAccF, "tu_acc_flag");
  ValueId ta = latch(cTa, "tu_ta");
  ValueId tb = latch(cTb, "tu_tb");
  ValueId isSp = latch(cIsSp, "tu_sparse");
  ValueId patIdx = latch(cPatIdx, "tu_pattern");
  ValueId zs = latch(cZs, "tu_zskip");
  ValueId aSel = latch(fa.elemSel, "tu_a_sel");
  ValueId bSel = latch(fb.elemSel, "tu_b_sel");
  ValueId aWid = latch(fa.widthSel, "tu_a_wsel");
  ValueId bWid = latch(fb.widthSel, "tu_b_wsel");
  ValueId aMx = latch(fa.mx, "tu_a_mx");
  ValueId bMx = latch(fb.mx, "tu_b_mx");
  ValueId ibSel = latch(cIb, "tu_meta_bits");
  ValueId M = latch(cM, "tu_m");
  ValueId N = latch(cN, "tu_n");
  ValueId K = latch(cK, "tu_k");
  ValueId Kc = latch(cKc, "tu_kc");
  ValueId stepC = latch(cStepC, "tu_step_c");
  ValueId stepK = latch(cStepK, "tu_step_k");
  ValueId incA = latch(cIncA, "tu_inc_a");
  ValueId incB = latch(cIncB, "tu_inc_b");
  ValueId incM = latch(cIncM, "tu_inc_meta");
  std::vector<ValueId> aBase, bBase, cRow, saRow, sbRow, mBase;
  for (unsigned p = 0; p < NA; ++p)
    aBase.push_back(latch(b.add(ra8, mulC(aBitsLd, p)), "tu_a_base" + std::to_string(p)));
  for (unsigned p = 0; p < NB; ++p)
    bBase.push_back(latch(b.add(rb8, mulC(bBitsLd, p)), "tu_b_base" + std::to_string(p)));
  for (unsigned i = 0; i < R; ++i)
    cRow.push_back(latch(b.add(rc, mulC(b.resize(cLdc, 32), i)), "tu_c_row" + std::to_string(i)));
  if (anyMx) {
    for (unsigned i = 0; i < R; ++i)
      saRow.push_back(latch(b.add(rsa, mulC(saStride, i)), "tu_sa_row" + std::to_string(i)));
    for (unsigned j = 0; j < C; ++j)
      sbRow.push_back(latch(b.add(rsb, mulC(sbStride, j)), "tu_sb_row" + std::to_string(j)));
  }
  if (anySparse)
    for (unsigned i = 0; i < R; ++i)
      mBase.push_back(latch(b.add(rm8, mulC(ibLd, i)), "tu_meta_base" + std::to_string(i)));
  // Range-check parameters.
  ValueId aBitsL = latch(fa.bits, "tu_a_bits");
  ValueId bBitsL = latch(fb.bits, "tu_b_bits");
  ValueId ldaL = latch(cLda, "tu_lda");
  ValueId ldbL = latch(cLdb, "tu_ldb");
  ValueId ldcL = latch(b.resize(cLdc, 32), "tu_ldc");
  ValueId raL = latch(ra, "tu_ra");
  ValueId rbL = latch(rb, "tu_rb");
  ValueId rcL = latch(rc, "tu_rc");
  ValueId rsaL = latch(rsa, "tu_rsa");
  ValueId rsbL = latch(rsb, "tu_rsb");
  ValueId rmL = latch(rmeta, "tu_rmeta");
  ValueId saStrL = latch(saStride, "tu_sa_stride");
  ValueId sbStrL = latch(sbStride, "tu_sb_stride");

  ValueId zsA = b.extract(zs, 0, 1), zsB = b.extract(zs, 1, 1);
  std::vector<ValueId> rowIn, colIn; // i < M, j < N
  for (unsigned i = 0; i < R; ++i)
    rowIn.push_back(gtC(M, i));
  for (unsigned j = 0; j < C; ++j)
    colIn.push_back(gtC(N, j));

  // ---------------------------------------------------------------- fault check (S+1)
  struct Family {
    bool packed;
    ValueId enabled, base, rows, stride, len, size; // kChkW bits each (enabled: 1)
  };
  auto W = [&](ValueId v) { return b.resize(v, kChkW); };
  auto KC = [&](uint64_t v) { return k(kChkW, v); };
  ValueId Mw = W(M), Nw = W(N), Kw = W(K), Kcw = W(Kc);
  ValueId blocks = b.binary(OpKind::ShrU, b.add(Kw, KC(31)), k(8, 5));
  std::vector<Family> fams;
  // A: packed rows (ta: Kc rows of M, else M rows of Kc), stride lda * bits.
  fams.push_back({true, one(), b.binary(OpKind::Shl, W(raL), k(8, 3)), b.mux(ta, Kcw, Mw),
                  mulV(W(ldaL), W(aBitsL), kChkW), mulV(b.mux(ta, Mw, Kcw), W(aBitsL), kChkW),
                  KC(cfg.spadBytes)});
  fams.push_back({true, one(), b.binary(OpKind::Shl, W(rbL), k(8, 3)), b.mux(tb, Kw, Nw),
                  mulV(W(ldbL), W(bBitsL), kChkW), mulV(b.mux(tb, Nw, Kw), W(bBitsL), kChkW),
                  KC(cfg.spadBytes)});
  fams.push_back({false, one(), W(rcL), Mw, W(ldcL), Nw, KC(cfg.accWords())});
  if (anyMx) {
    fams.push_back({false, aMx, W(rsaL), Mw, W(saStrL), blocks, KC(cfg.scaleBytes)});
    fams.push_back({false, bMx, W(rsbL), Nw, W(sbStrL), blocks, KC(cfg.scaleBytes)});
  }
  if (anySparse)
    fams.push_back({true, isSp, b.binary(OpKind::Shl, W(rmL), k(8, 3)), Mw,
                    mulV(W(ldaL), W(ibSel), kChkW), mulV(Kcw, W(ibSel), kChkW),
                    KC(cfg.metaBytes)});
  // Row r of a family: packed: bits [base + r*stride, + len) -> bytes lo..hi; wrapped:
  // words/bytes lo = (base + r*stride) mod 2^32, [lo, lo + len).
  auto rowCheck = [&](const Family &f, ValueId rowOff) -> std::pair<ValueId, ValueId> {
    if (f.packed) {
      ValueId bitLo = b.add(f.base, rowOff);
      ValueId lo = b.binary(OpKind::ShrU, bitLo, k(8, 3));
      ValueId hi = b.binary(OpKind::ShrU, b.add(b.add(bitLo, f.len), KC(7)), k(8, 3));
      return {b.binary(OpKind::GtU, hi, f.size), b.extract(lo, 0, 32)};
    }
    ValueId lo32 = b.extract(b.add(f.base, rowOff), 0, 32);
    return {b.binary(OpKind::GtU, b.add(W(lo32), f.len), f.size), lo32};
  };
  std::vector<ValueId> famFail;
  for (const Family &f : fams) {
    ValueId fail;
    if (f.packed) { // rows are monotone: the last one decides
      ValueId lastOff = mulV(b.sub(f.rows, KC(1)), f.stride, kChkW);
      fail = rowCheck(f, lastOff).first;
    } else { // at most max(R, C) rows: check each
      std::vector<ValueId> any;
      for (unsigned r = 0; r < std::max(R, C); ++r)
        any.push_back(and2(gtC(f.rows, r), rowCheck(f, mulC(f.stride, r)).first));
      fail = orAll(any);
    }
    famFail.push_back(and2(f.enabled, fail));
  }
  ValueId anyFault = b.name(and2(firstF1, orAll(famFail)), "tu_range_fault");

  // Sequential search for the first offending row (golden order), fault state only.
  ValueId scanFam = regDecl(3, "tu_scan_family");
  ValueId scanRow = regDecl(kChkW, "tu_scan_row");
  ValueId scanOff = regDecl(kChkW, "tu_scan_offset");
  {
    std::vector<ValueId> en, fail, lo, rows, stride;
    for (const Family &f : fams) {
      auto [fl, l] = rowCheck(f, scanOff);
      en.push_back(f.enabled);
      fail.push_back(fl);
      lo.push_back(l);
      rows.push_back(f.rows);
      stride.push_back(f.stride);
    }
    ValueId cEn = pick(en, scanFam), cFail = pick(fail, scanFam), cLo = pick(lo, scanFam);
    ValueId cRows = pick(rows, scanFam), cStride = pick(stride, scanFam);
    ValueId famValid = ltC(scanFam, fams.size());
    ValueId hit = and2(scanAct, or2(and2(famValid, and2(cEn, cFail)), not1(famValid)));
    ValueId lastRow = or2(not1(cEn), b.eq(scanRow, b.sub(cRows, KC(1))));
    ValueId nextFam = b.mux(lastRow, b.add(scanFam, k(3, 1)), scanFam);
    ValueId nextRow = b.mux(lastRow, KC(0), b.add(scanRow, KC(1)));
    ValueId nextOff = b.mux(lastRow, KC(0), b.add(scanOff, cStride));
    b.setNext(scanFam, b.mux(anyFault, k(3, 0), b.mux(scanAct, nextFam, scanFam)));
    b.setNext(scanRow, b.mux(anyFault, KC(0), b.mux(scanAct, nextRow, scanRow)));
    b.setNext(scanOff, b.mux(anyFault, KC(0), b.mux(scanAct, nextOff, scanOff)));
    b.setNext(scanAct, b.mux(anyFault, one(), b.mux(hit, zero1(), scanAct)));
    b.setNext(faultQ, or2(faultQ, hit));
    b.setNext(faultAddrQ, b.mux(hit, b.mux(famValid, cLo, k(32, 0)), faultAddrQ));
  }

  // ---------------------------------------------------------------- fetch
  ValueId offA = regDecl(kBitW, "tu_off_a", false), offB = regDecl(kBitW, "tu_off_b", false),
          offM = regDecl(kBitW, "tu_off_meta", false);
  ValueId k0 = regDecl(kKW, "tu_k0", false), c0 = regDecl(kKW, "tu_c0", false);
  ValueId f1 = and2(fetchAct, not1(anyFault)); // processing a window this cycle
  b.name(f1, "tu_f1");

  // Per window w: extracted, masked operands and the skip decision.
  struct Window {
    ValueId valid, take;
    std::vector<std::vector<ValueId>> a, bv, idx; // a[i][c], bv[j][d], idx[i][c]
    std::vector<ValueId> lvA;                     // compressed lane valid
    std::vector<ValueId> sa, sb;                  // scale codes (127 when not MX)
  };
  std::vector<Window> win(F);
  auto low3 = [&](ValueId base, ValueId off, ValueId inc, unsigned w) {
    ValueId s = b.add(b.extract(base, 0, 3), b.extract(off, 0, 3));
    return b.add(s, b.extract(mulC(b.extract(inc, 0, 3), w), 0, 3));
  };
  for (unsigned w = 0; w < F; ++w) {
    Window &x = win[w];
    std::string ws = "tu_w" + std::to_string(w) + "_";
    ValueId k0w = b.add(k0, mulC(stepK, w)), c0w = b.add(c0, mulC(stepC, w));
    x.valid = b.binary(OpKind::LtU, k0w, K);
    std::vector<ValueId> shA, shB, shM;
    for (unsigned p = 0; p < NA; ++p)
      shA.push_back(b.binary(OpKind::ShrU, aPorts[w][p].data, low3(aBase[p], offA, incA, w)));
    for (unsigned p = 0; p < NB; ++p)
      shB.push_back(b.binary(OpKind::ShrU, bPorts[w][p].data, low3(bBase[p], offB, incB, w)));
    if (anySparse)
      for (unsigned i = 0; i < R; ++i)
        shM.push_back(b.binary(OpKind::ShrU, mPorts[w][i].data, low3(mBase[i], offM, incM, w)));
    // Lane validity: compressed lane c < stepC and c0w + c < Kc; dense lane d < stepK and
    // k0w + d < K.
    std::vector<ValueId> lvB;
    for (unsigned c = 0; c < P; ++c)
      x.lvA.push_back(and2(gtC(stepC, c), b.binary(OpKind::LtU, b.add(c0w, k(kKW, c)), Kc)));
    for (unsigned d = 0; d < Pk; ++d)
      lvB.push_back(and2(gtC(stepK, d), b.binary(OpKind::LtU, b.add(k0w, k(kKW, d)), K)));
    x.a.assign(R, {});
    for (unsigned i = 0; i < R; ++i)
      for (unsigned c = 0; c < P; ++c) {
        ValueId nt = element(shA[i], c, aWid);
        ValueId code = nt;
        if (anyDense && c < NA) {
          ValueId t = element(shA[c], i, aWid);
          code = b.mux(ta, t, nt);
        }
        x.a[i].push_back(b.mux(x.lvA[c], code, k(codeW, 0)));
      }
    x.bv.assign(C, {});
    for (unsigned j = 0; j < C; ++j)
      for (unsigned d = 0; d < Pk; ++d) {
        ValueId nt = element(shB[j], d, bWid);
        ValueId code = nt;
        if (anyDense && d < NB) {
          ValueId t = element(shB[d], j, bWid);
          code = b.mux(tb, t, nt);
        }
        x.bv[j].push_back(b.mux(lvB[d], code, k(codeW, 0)));
      }
    if (anySparse) {
      x.idx.assign(R, {});
      for (unsigned i = 0; i < R; ++i)
        for (unsigned c = 0; c < P; ++c) {
          std::vector<ValueId> opts;
          for (unsigned ib = 2; ib <= 3; ++ib)
            opts.push_back(b.resize(b.extract(shM[i], c * ib, ib), ibMax));
          x.idx[i].push_back(b.mux(eqC(ibSel, 3), opts[1], opts[0]));
        }
    }
    for (unsigned i = 0; i < R; ++i)
      x.sa.push_back(anyMx ? b.mux(aMx, b.extract(saPorts[w][i].data, 0, 8), k(8, 127)) : k(8, 127));
    for (unsigned j = 0; j < C; ++j)
      x.sb.push_back(anyMx ? b.mux(bMx, b.extract(sbPorts[w][j].data, 0, 8), k(8, 127)) : k(8, 127));

    // Zero skipping (isa.md 5.3): classify what the step reads for rows < M / cols < N.
    ValueId skip = zero1();
    if (cfg.zeroSkip) {
      std::vector<ValueId> aZ, aF, bZ, bF, nanS;
      for (unsigned i = 0; i < R; ++i) {
        std::vector<ValueId> rz, rf;
        for (unsigned c = 0; c < P; ++c) {
          auto [z, s] = classify(x.a[i][c], aSel);
          rz.push_back(z);
          rf.push_back(not1(s));
        }
        aZ.push_back(or2(not1(rowIn[i]), andAll(rz)));
        aF.push_back(or2(not1(rowIn[i]), andAll(rf)));
      }
      // B positions read: all valid dense lanes, or for gemmsp the ones some row selects.
      std::vector<ValueId> bRead(Pk, hw::kNoValue);
      for (unsigned d = 0; d < Pk; ++d) {
        ValueId sparseRead = zero1();
        if (anySparse) {
          std::vector<ValueId> perPat;
          for (const PatInfo &pt : pats) {
            std::vector<ValueId> hits;
            for (unsigned i = 0; i < R; ++i)
              for (unsigned c = 0; c < P; ++c)
                if ((c / pt.n) * pt.m <= d && d < (c / pt.n + 1) * pt.m)
                  hits.push_back(and2(and2(rowIn[i], x.lvA[c]),
                                      eqC(x.idx[i][c], d - (c / pt.n) * pt.m)));
            perPat.push_back(orAll(hits));
          }
          sparseRead = pick(perPat, patIdx);
        }
        bRead[d] = b.mux(isSp, sparseRead, one());
      }
      for (unsigned j = 0; j < C; ++j) {
        std::vector<ValueId> cz, cf;
        for (unsigned d = 0; d < Pk; ++d) {
          auto [z, s] = classify(x.bv[j][d], bSel);
          cz.push_back(or2(not1(bRead[d]), z));
          cf.push_back(or2(not1(bRead[d]), not1(s)));
        }
        bZ.push_back(or2(not1(colIn[j]), andAll(cz)));
        bF.push_back(or2(not1(colIn[j]), andAll(cf)));
      }
      if (anyMx) {
        for (unsigned i = 0; i < R; ++i)
          nanS.push_back(and2(and2(aMx, rowIn[i]), eqC(x.sa[i], 0xFF)));
        for (unsigned j = 0; j < C; ++j)
          nanS.push_back(and2(and2(bMx, colIn[j]), eqC(x.sb[j], 0xFF)));
      }
      ValueId aZero = andAll(aZ), aFin = andAll(aF), bZero = andAll(bZ), bFin = andAll(bF);
      ValueId byA = and2(zsA, and2(aZero, bFin)), byB = and2(zsB, and2(bZero, aFin));
      skip = b.name(and2(not1(orAll(nanS)), or2(byA, byB)), ws + "skip");
    }
    x.take = b.name(and2(x.valid, not1(skip)), ws + "take");
  }
  // Window decision: issue the first step taken; the next window starts at the second step
  // taken (its data is re-read), or after this window when there is none: skipped steps
  // after the issued one cost nothing.
  std::vector<std::pair<ValueId, ValueId>> advOpts, selOpts;
  for (unsigned w = 0; w < F; ++w)
    selOpts.push_back({win[w].take, k(2, w)});
  for (unsigned w2 = 1; w2 < F; ++w2) {
    std::vector<ValueId> before;
    for (unsigned w = 0; w < w2; ++w)
      before.push_back(win[w].take);
    advOpts.push_back({and2(win[w2].take, orAll(before)), k(3, w2)});
  }
  ValueId adv = advOpts.empty() ? k(3, F) : priority(advOpts, k(3, F));
  ValueId wSel = priority(selOpts, k(2, 0));
  std::vector<ValueId> takes;
  for (auto &x : win)
    takes.push_back(x.take);
  ValueId issue = b.name(and2(f1, orAll(takes)), "tu_issue");
  auto advMul = [&](ValueId inc) {
    std::vector<ValueId> o;
    for (unsigned a = 0; a <= F; ++a)
      o.push_back(mulC(inc, a));
    return pick(o, adv);
  };
  ValueId k0Next = b.add(k0, advMul(stepK));
  ValueId fetchEnd = b.name(and2(f1, b.binary(OpKind::GeU, k0Next, K)), "tu_fetch_end");
  ValueId fetchMore = and2(f1, not1(fetchEnd));

  // ---------------------------------------------------------------- start / ready
  // A GEMM may start when the fetch stage is free (idle, or in its last window), at least
  // `rows` cycles after the previous start (init reads of two GEMMs never share a column
  // port cycle) and when the write-port set it will use is free (the GEMM two back on that
  // set ended its fetch >= rows - 1 cycles ago, so their write waves cannot collide).
  auto dec = [&](ValueId c) { return b.mux(eqC(c, 0), c, b.sub(c, k(cntW, 1))); };
  ValueId nextPar = not1(curPar);
  ValueId parFree = b.mux(nextPar, eqC(parCnt[1], 0), eqC(parCnt[0], 0));
  ValueId ready = b.name(andAll({not1(faultQ), not1(scanAct), not1(anyFault),
                                 or2(not1(fetchAct), fetchEnd), eqC(startCnt, 0), parFree}),
                         "tu_ready");
  ValueId startNow = b.name(and2(start, ready), "tu_start_now");
  closeLatches(startNow);
  b.setNext(firstF1, startNow);
  b.setNext(curPar, b.mux(startNow, nextPar, curPar));
  b.setNext(startCnt, b.mux(startNow, k(cntW, R - 1), dec(startCnt)));
  for (unsigned p = 0; p < 2; ++p)
    b.setNext(parCnt[p], b.mux(and2(fetchEnd, p ? curPar : not1(curPar)), k(cntW, R - 1),
                               dec(parCnt[p])));
  // Offsets of the window whose reads are issued this cycle (0 at start).
  ValueId offAI = b.mux(startNow, k(kBitW, 0), b.add(offA, advMul(incA)));
  ValueId offBI = b.mux(startNow, k(kBitW, 0), b.add(offB, advMul(incB)));
  ValueId offMI = b.mux(startNow, k(kBitW, 0), b.add(offM, advMul(incM)));
  ValueId k0I = b.mux(startNow, k(kKW, 0), k0Next);
  ValueId c0I = b.mux(startNow, k(kKW, 0), b.add(c0, advMul(stepC)));
  ValueId readNow = b.name(or2(startNow, fetchMore), "tu_read");
  b.setNext(offA, b.mux(readNow, offAI, offA));
  b.setNext(offB, b.mux(readNow, offBI, offB));
  b.setNext(offM, b.mux(readNow, offMI, offM));
  b.setNext(k0, b.mux(readNow, k0I, k0));
  b.setNext(c0, b.mux(readNow, c0I, c0));
  b.setNext(fetchAct, readNow);
  auto byteAddr = [&](ValueId bitAddr) { return b.extract(bitAddr, 3, 32); };
  for (unsigned w = 0; w < F; ++w) {
    for (unsigned p = 0; p < NA; ++p) {
      ValueId a = b.add(b.add(E(aBase[p]), offAI), mulC(E(incA), w));
      b.drive(aPorts[w][p].addrOut, byteAddr(a));
      b.drive(aPorts[w][p].enOut, readNow);
    }
    for (unsigned p = 0; p < NB; ++p) {
      ValueId a = b.add(b.add(E(bBase[p]), offBI), mulC(E(incB), w));
      b.drive(bPorts[w][p].addrOut, byteAddr(a));
      b.drive(bPorts[w][p].enOut, readNow);
    }
    ValueId kb = b.resize(b.binary(OpKind::ShrU, b.add(k0I, mulC(E(stepK), w)), k(8, 5)), 32);
    if (anyMx) {
      for (unsigned i = 0; i < R; ++i) {
        b.drive(saPorts[w][i].addrOut, b.add(E(saRow[i]), kb));
        b.drive(saPorts[w][i].enOut, and2(readNow, E(aMx)));
      }
      for (unsigned j = 0; j < C; ++j) {
        b.drive(sbPorts[w][j].addrOut, b.add(E(sbRow[j]), kb));
        b.drive(sbPorts[w][j].enOut, and2(readNow, E(bMx)));
      }
    }
    if (anySparse)
      for (unsigned i = 0; i < R; ++i) {
        ValueId a = b.add(b.add(E(mBase[i]), offMI), mulC(E(incM), w));
        b.drive(mPorts[w][i].addrOut, byteAddr(a));
        b.drive(mPorts[w][i].enOut, and2(readNow, E(isSp)));
      }
  }

  // ---------------------------------------------------------------- issue bundle E
  // One token per fetch cycle that issues a step, starts a GEMM (it carries the initial
  // accumulator) or ends it (it triggers the write-back): the token carries everything a PE
  // needs about its GEMM, so GEMMs can follow each other through the array.
  // Row bundle: tok compute first last parity accF rowValid sparse | N | pattern | aSel |
  // bSel | C row address | lane valid (P) | codes (P) | indices (P) | A scale.
  // Column bundle: codes (Pk) | B scale.
  auto winPick = [&](const std::function<ValueId(const Window &)> &f) {
    std::vector<ValueId> o;
    for (const Window &x : win)
      o.push_back(f(x));
    return pick(o, wSel);
  };
  ValueId tokenNow = b.name(and2(f1, orAll({firstF1, issue, fetchEnd})), "tu_token");
  struct BundleLayout {
    uint32_t tok = 0, compute = 1, first = 2, last = 3, par = 4, accF = 5, rowValid = 6,
             sparse = 7, n = 8, pat = 17, aSel = 19, bSel = 0, cRow = 0, lv = 0, codes = 0,
             idx = 0, sa = 0, width = 0;
  } BL;
  BL.bSel = BL.aSel + selW;
  BL.cRow = BL.bSel + selW;
  BL.lv = BL.cRow + 32;
  BL.codes = BL.lv + P;
  BL.idx = BL.codes + P * codeW;
  BL.sa = BL.idx + (anySparse ? P * ibMax : 0);
  const uint32_t offSb = Pk * codeW;
  std::vector<ValueId> rowNext(R), colBundle(C);
  for (unsigned i = 0; i < R; ++i) {
    std::vector<ValueId> f = {tokenNow, issue, firstF1, fetchEnd, curPar, accF, rowIn[i],
                              isSp, N, patIdx, aSel, bSel, cRow[i]};
    for (unsigned c = 0; c < P; ++c)
      f.push_back(winPick([&](const Window &x) { return x.lvA[c]; }));
    for (unsigned c = 0; c < P; ++c)
      f.push_back(winPick([&](const Window &x) { return x.a[i][c]; }));
    if (anySparse)
      for (unsigned c = 0; c < P; ++c)
        f.push_back(winPick([&](const Window &x) { return x.idx[i][c]; }));
    if (anyMx)
      f.push_back(winPick([&](const Window &x) { return x.sa[i]; }));
    rowNext[i] = b.name(packLow(f), "tu_e_row" + std::to_string(i) + "_next");
  }
  BL.width = widthOf(rowNext[0]);
  for (unsigned j = 0; j < C; ++j) {
    std::vector<ValueId> f;
    for (unsigned d = 0; d < Pk; ++d)
      f.push_back(winPick([&](const Window &x) { return x.bv[j][d]; }));
    if (anyMx)
      f.push_back(winPick([&](const Window &x) { return x.sb[j]; }));
    colBundle[j] = reg(packLow(f), "tu_e_col" + std::to_string(j), false);
  }
  auto fieldOf = [&](ValueId bundle, uint32_t lo, uint32_t w) { return b.extract(bundle, lo, w); };

  // ---------------------------------------------------------------- PE array
  // rowStage[i][t]: row i's bundle t cycles after E (t = 0: the E register); PE (i, 0)
  // takes stage i. The token bit is reset, the rest is data.
  auto bundleReg = [&](ValueId v, const std::string &name) {
    ValueId tokQ = reg(b.extract(v, 0, 1), name + "_tok");
    ValueId dataQ = reg(b.extract(v, 1, widthOf(v) - 1), name + "_data", false);
    return b.concat({dataQ, tokQ});
  };
  std::vector<std::vector<ValueId>> rowStage(R);
  for (unsigned i = 0; i < R; ++i) {
    rowStage[i].push_back(bundleReg(rowNext[i], "tu_e_row" + std::to_string(i)));
    for (unsigned t = 1; t <= i; ++t)
      rowStage[i].push_back(
          bundleReg(rowStage[i][t - 1], "tu_skew_row" + std::to_string(i) + "_d" + std::to_string(t)));
  }
  std::vector<std::vector<ValueId>> bAt(R, std::vector<ValueId>(C));
  for (unsigned j = 0; j < C; ++j) {
    ValueId v = delay(colBundle[j], j, "tu_skew_col" + std::to_string(j), false);
    for (unsigned i = 0; i < R; ++i) {
      bAt[i][j] = v;
      if (i + 1 < R)
        v = reg(v, "tu_pe" + std::to_string(i) + "_" + std::to_string(j) + "_b", false);
    }
  }
  DotUnitConfig dcfg;
  dcfg.width = P;
  dcfg.aFormats = elems;
  dcfg.bFormats = elems;
  // Per column: init-read requests (row, address) and pending write-backs per port set.
  std::vector<std::vector<std::pair<ValueId, ValueId>>> rdReq(C);
  std::vector<std::vector<std::pair<ValueId, ValueId>>> wrEn(2 * C), wrAddr(2 * C), wrData(2 * C);
  ValueId doneQ = hw::kNoValue;
  for (unsigned i = 0; i < R; ++i) {
    ValueId prev = i == 0 ? rowNext[0] : rowStage[i][i - 1]; // at PE (i, 0) next cycle
    ValueId av = rowStage[i][i];
    for (unsigned j = 0; j < C; ++j) {
      std::string pe = "tu_pe" + std::to_string(i) + "_" + std::to_string(j);
      ValueId colOk = b.binary(OpKind::GtU, fieldOf(prev, BL.n, 9), k(9, j));
      // The first token of a GEMM reaches this PE next cycle: read its C element now.
      ValueId req = andAll({fieldOf(prev, BL.tok, 1), fieldOf(prev, BL.first, 1),
                            fieldOf(prev, BL.accF, 1), fieldOf(prev, BL.rowValid, 1), colOk});
      rdReq[j].push_back({req, b.add(fieldOf(prev, BL.cRow, 32), k(32, j))});

      ValueId bv = bAt[i][j];
      ValueId tok = fieldOf(av, BL.tok, 1), compute = fieldOf(av, BL.compute, 1);
      ValueId first = fieldOf(av, BL.first, 1), last = fieldOf(av, BL.last, 1);
      ValueId sp = fieldOf(av, BL.sparse, 1), pat = fieldOf(av, BL.pat, 2);
      DotUnitInputs in;
      std::vector<ValueId> bd;
      for (unsigned d = 0; d < Pk; ++d)
        bd.push_back(b.extract(bv, d * codeW, codeW));
      for (unsigned c = 0; c < P; ++c) {
        ValueId lv = fieldOf(av, BL.lv + c, 1);
        in.a.push_back(fieldOf(av, BL.codes + c * codeW, codeW));
        ValueId sel = bd[c];
        if (anySparse) {
          ValueId ix = fieldOf(av, BL.idx + c * ibMax, ibMax);
          std::vector<ValueId> perPat;
          for (const PatInfo &pt : pats) {
            std::vector<ValueId> cand;
            unsigned g = c / pt.n;
            for (unsigned t = 0; t < (1u << ibMax); ++t)
              cand.push_back(t < pt.m && g * pt.m + t < Pk ? bd[g * pt.m + t] : k(codeW, 0));
            perPat.push_back(pick(cand, ix));
          }
          sel = b.mux(sp, pick(perPat, pat), bd[c]);
        }
        in.b.push_back(b.mux(lv, sel, k(codeW, 0)));
      }
      in.aSelect = fieldOf(av, BL.aSel, selW);
      in.bSelect = fieldOf(av, BL.bSel, selW);
      if (anyMx) {
        in.aScale = fieldOf(av, BL.sa, 8);
        in.bScale = b.extract(bv, offSb, 8);
      }
      ValueId acc = regDecl(32, pe + "_acc", false);
      ValueId initVal = b.mux(fieldOf(av, BL.accF, 1), accRd[j].data, k(32, 0));
      ValueId accIn = b.mux(and2(tok, first), initVal, acc);
      in.acc = accIn;
      auto dot = dotUnit(b, dcfg, in);
      if (!dot)
        return std::move(dot).takeError();
      ValueId accNext = b.name(b.mux(compute, *dot, accIn), pe + "_acc_next");
      b.setNext(acc, b.mux(tok, accNext, acc));
      // Write-back: in the cycle of the GEMM's last token at this PE, the new accumulator
      // goes to ACC (written at the end of the cycle, visible to the next one).
      ValueId colOkHere = b.binary(OpKind::GtU, fieldOf(av, BL.n, 9), k(9, j));
      ValueId wb = b.name(andAll({tok, last, fieldOf(av, BL.rowValid, 1), colOkHere}), pe + "_wb");
      ValueId wbPar = fieldOf(av, BL.par, 1);
      ValueId wbAddr = b.add(fieldOf(av, BL.cRow, 32), k(32, j));
      for (unsigned p = 0; p < 2; ++p) {
        ValueId hit = and2(wb, p ? wbPar : not1(wbPar));
        wrEn[p * C + j].push_back({hit, one()});
        wrAddr[p * C + j].push_back({hit, wbAddr});
        wrData[p * C + j].push_back({hit, accNext});
      }
      if (i + 1 == R && j + 1 == C)
        doneQ = b.name(and2(tok, last), "tu_done");
      prev = av;
      if (j + 1 < C)
        av = bundleReg(av, pe + "_a");
    }
  }

  // ---------------------------------------------------------------- ACC ports
  for (unsigned j = 0; j < C; ++j) {
    std::vector<ValueId> en;
    for (auto &r : rdReq[j])
      en.push_back(r.first);
    b.drive(accRd[j].addrOut, priority(rdReq[j], k(32, 0)));
    b.drive(accRd[j].enOut, and2(orAll(en), not1(faultQ)));
  }
  for (unsigned q = 0; q < 2 * C; ++q) {
    std::vector<ValueId> en;
    for (auto &r : wrEn[q])
      en.push_back(r.first);
    b.drive(accWr[q].addr, priority(wrAddr[q], k(32, 0)));
    b.drive(accWr[q].data, priority(wrData[q], k(32, 0)));
    b.drive(accWr[q].en, orAll(en));
  }

  // ---------------------------------------------------------------- outputs
  b.drive(readyPort, ready);
  b.drive(donePort, doneQ);
  b.drive(faultPort, faultQ);
  b.drive(faultAddrPort, faultAddrQ);
  return Status::success();
}

} // namespace

Expected<hw::Module *> buildTensorUnit(hw::Design &design, const TileConfig &cfg,
                                       const GenParams &gp) {
  if (design.find("tessera_tu"))
    return Diagnostic::error("duplicate-module", "the design already has a module tessera_tu");
  hw::Module &m = design.addModule("tessera_tu");
  TuBuilder tb(m, cfg, gp);
  Status s = tb.build();
  if (!s) {
    // Leave no half-built module behind.
    auto &mods = design.modules();
    mods.erase(std::remove_if(mods.begin(), mods.end(),
                              [&](const std::unique_ptr<hw::Module> &p) { return p.get() == &m; }),
               mods.end());
    return std::move(s).takeError();
  }
  return &m;
}

} // namespace tessera::accel::rtl
