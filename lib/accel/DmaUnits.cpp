//===- DmaUnits.cpp - the tile's load and store units (AXI4 DMA) ------------===//
//
// Two modules of the generated tile (lib/accel/TileRtl.h is the interface, docs/tile-dma.md
// the design note, docs/isa.md 5.2 / 5.5 the semantics they implement bit for bit):
//
//   tessera_ldu  ld ldacc ldscale ldmeta. Per row: AXI4 INCR read bursts (<= 16 beats, one
//                in flight, never across a 4 KiB boundary) of the aligned beats covering
//                the row; a realigner ({beat, previous beat} >> 8*offset) turns them into
//                words that start at the row's first byte; a consumer writes each word to
//                SPAD / SCALE / META with one masked line write (raw copies) or walks its
//                elements one per cycle through convertToFp32 + castUnit (ld with
//                conversion, one SPAD write per element) or convertToFp32 + canon (ldacc,
//                one ACC word per cycle).
//   tessera_stu  st ststat seed clrstat. An ACC reader (read-ahead of one word with a hold
//                register for back-pressure) feeds one element per cycle to the scale-cast
//                datapath (prescale fp32Mul, AMAX / OVF / SAT, castUnit with RNE or SR from
//                the LFSR); MX rows go through each 32-element block twice (pass 1: block
//                amax -> mxScaleUnit, the scale kept in a row buffer; pass 2: elements
//                divided by the scale through the exponent field, castUnit with Saturate).
//                Codes of any width (4/6/8/16/32 bits) are packed into a two-beat bit
//                buffer at the row's byte offset and written by AXI4 INCR bursts with
//                wstrb; the scale bytes of an MX row follow as a second stream.
//
// Both units check every local row range before the first memory access (the golden model's
// "all rows checked, then effects" order) and take DRAM errors from the AXI responses.
//
//===----------------------------------------------------------------------===//
#include "accel/FpUnits.h"
#include "accel/TileRtl.h"

#include <algorithm>
#include <bit>

namespace tessera::accel::rtl {

using hw::ModuleBuilder;
using hw::OpKind;
using hw::ValueId;
using numerics::Format;

namespace {

/// Opcodes the DMA units execute (docs/isa.md 4, Isa.def).
constexpr uint64_t kOpLd = 0x10, kOpLdAcc = 0x11, kOpLdScale = 0x12, kOpLdMeta = 0x13;
constexpr uint64_t kOpSt = 0x40, kOpStStat = 0x41, kOpSeed = 0x42, kOpClrStat = 0x43;
constexpr uint64_t kFp32Nan = 0x7FC00000u;

/// Small RTL-building vocabulary around a ModuleBuilder: constants, named registers with
/// synchronous reset, comparisons.
struct Rtl {
  ModuleBuilder &b;
  ValueId clk = hw::kNoValue, rst = hw::kNoValue;
  std::string prefix;

  uint32_t width(ValueId v) { return b.module().width(v); }
  ValueId c(uint32_t w, uint64_t v) {
    return b.constant(w, w >= 64 ? v : v & ((uint64_t(1) << w) - 1));
  }
  ValueId zeros(uint32_t w) { return b.constant(hw::BitVec::zeros(w)); }
  ValueId ones(uint32_t w) { return b.constant(hw::BitVec::ones(w)); }
  ValueId one() { return c(1, 1); }
  ValueId zero1() { return c(1, 0); }
  ValueId reg(const std::string &name, uint32_t w, uint64_t resetValue = 0) {
    hw::RegOptions o;
    o.reset = rst;
    o.resetValue = hw::BitVec(w, w >= 64 ? resetValue : resetValue & ((uint64_t(1) << w) - 1));
    return b.regDecl(clk, w, prefix + name, o);
  }
  ValueId name(ValueId v, const std::string &n) { return b.name(v, prefix + n); }
  ValueId bits(ValueId v, uint32_t lo, uint32_t w) { return b.extract(v, lo, w); }
  ValueId bit(ValueId v, uint32_t i) { return b.extract(v, i, 1); }
  ValueId zx(ValueId v, uint32_t w) { return b.resize(v, w); }
  ValueId land(ValueId x, ValueId y) { return b.bitAnd(x, y); }
  ValueId land(std::initializer_list<ValueId> xs) {
    ValueId r = hw::kNoValue;
    for (ValueId x : xs)
      r = r == hw::kNoValue ? x : b.bitAnd(r, x);
    return r;
  }
  ValueId lor(ValueId x, ValueId y) { return b.bitOr(x, y); }
  ValueId lor(std::initializer_list<ValueId> xs) {
    ValueId r = hw::kNoValue;
    for (ValueId x : xs)
      r = r == hw::kNoValue ? x : b.bitOr(r, x);
    return r;
  }
  ValueId lnot(ValueId v) { return b.bitNot(v); }
  ValueId any(ValueId v) { return b.unary(OpKind::RedOr, v); }
  ValueId isZero(ValueId v) { return lnot(any(v)); }
  ValueId nz(ValueId v) { return any(v); }
  ValueId eqc(ValueId v, uint64_t k) { return b.eq(v, c(width(v), k)); }
  ValueId sel(ValueId cond, ValueId t, ValueId f) { return b.mux(cond, t, f); }
  ValueId ltu(ValueId x, ValueId y) { return b.binary(OpKind::LtU, x, y); }
  ValueId gtu(ValueId x, ValueId y) { return b.binary(OpKind::GtU, x, y); }
  ValueId geu(ValueId x, ValueId y) { return b.binary(OpKind::GeU, x, y); }
  ValueId minu(ValueId x, ValueId y) { return sel(ltu(x, y), x, y); }
  ValueId maxu(ValueId x, ValueId y) { return sel(gtu(x, y), x, y); }
  ValueId shl(ValueId v, ValueId amt) { return b.binary(OpKind::Shl, v, amt); }
  ValueId shr(ValueId v, ValueId amt) { return b.binary(OpKind::ShrU, v, amt); }
  ValueId add(ValueId x, ValueId y) { return b.add(x, y); }
  ValueId sub(ValueId x, ValueId y) { return b.sub(x, y); }
  ValueId addc(ValueId x, uint64_t k) { return b.add(x, c(width(x), k)); }
  ValueId subc(ValueId x, uint64_t k) { return b.sub(x, c(width(x), k)); }
  /// A table lookup: `table[i]` when `sel == i` (entries past the table: `dflt`).
  ValueId lookup(ValueId s, const std::vector<ValueId> &table, ValueId dflt) {
    ValueId r = dflt;
    for (size_t i = 0; i < table.size(); ++i)
      if (table[i] != hw::kNoValue)
        r = sel(eqc(s, i), table[i], r);
    return r;
  }
  /// `cols * bits(code)` for an ISA format code (docs/isa.md 4), `w` bits wide.
  ValueId timesFormatBits(ValueId cols, ValueId fmtCode, uint32_t w) {
    ValueId x = zx(cols, w);
    auto times = [&](unsigned bitsPer) {
      switch (bitsPer) {
      case 4:
        return shl(x, c(3, 2));
      case 6:
        return add(shl(x, c(3, 2)), shl(x, c(3, 1)));
      case 16:
        return shl(x, c(3, 4));
      case 32:
        return shl(x, c(3, 5));
      default:
        return shl(x, c(3, 3));
      }
    };
    std::vector<ValueId> t;
    for (unsigned f = 0; f < kNumElemFormats; ++f)
      t.push_back(times(elemFormatInfo(ElemFormat(f)).bits));
    return lookup(fmtCode, t, times(8));
  }
  /// Bytes of one element (1, 2, 4; 1 for the packed formats, which only raw-copy).
  ValueId formatBytes(ValueId fmtCode) {
    std::vector<ValueId> t;
    for (unsigned f = 0; f < kNumElemFormats; ++f)
      t.push_back(c(3, std::max(1u, elemFormatInfo(ElemFormat(f)).bits / 8)));
    return lookup(fmtCode, t, c(3, 1));
  }
  /// canon(x) of docs/isa.md 5: FP32 subnormal -> signed zero, NaN -> 0x7FC00000.
  ValueId canon(ValueId x) {
    ValueId e = bits(x, 23, 8), m = bits(x, 0, 23);
    ValueId nan = land(eqc(e, 0xFF), nz(m));
    ValueId zero = b.concat({bit(x, 31), c(31, 0)});
    return sel(nan, c(32, kFp32Nan), sel(eqc(e, 0), zero, x));
  }
  ValueId isSpecial(ValueId x) { return eqc(bits(x, 23, 8), 0xFF); }
  ValueId isNan(ValueId x) { return land(isSpecial(x), nz(bits(x, 0, 23))); }
};

Status checkParams(const GenParams &gp, const char *unit) {
  auto bad = [&](const std::string &what) {
    return Diagnostic::error("unsupported-parameter", std::string(unit) + ": " + what);
  };
  if (gp.busBytes < 4 || gp.busBytes > 64 || !std::has_single_bit(gp.busBytes))
    return bad("busBytes " + std::to_string(gp.busBytes) +
               " (the DMA needs a power of two from 4 to 64)");
  for (const char *m : {"spad", "scale", "meta"})
    if (gp.line(m) < gp.busBytes)
      return bad(std::string(m) + " line " + std::to_string(gp.line(m)) +
                 " bytes is narrower than the " + std::to_string(gp.busBytes) +
                 "-byte DMA beat (one beat is written with one line write)");
  return Status::success();
}

/// convertToFp32 for a narrow format (FP16, E4M3, E5M2; all exact FP32 normals) through
/// the PE's operand decoder: normalise the significand, rebias the exponent.
Expected<ValueId> widenNarrow(Rtl &g, Format f, ValueId code32) {
  uint32_t fb = numerics::formatInfo(f).bits;
  TRY_ASSIGN(DecodedOperand d, decodeOperand(g.b, f, g.bits(code32, 0, fb)));
  uint32_t F = d.fracBits;
  ValueId shift = g.c(5, F); // F - msb(sig); the highest set bit wins
  for (uint32_t p = 0; p <= F; ++p)
    shift = g.sel(g.bit(d.sig, p), g.c(5, F - p), shift);
  ValueId norm = g.shl(d.sig, shift);
  ValueId man23 = F == 0 ? g.c(23, 0) : g.b.concat({g.bits(norm, 0, F), g.c(23 - F, 0)});
  ValueId e = g.addc(g.sub(g.b.sext(d.lead, 12), g.zx(shift, 12)), 127);
  ValueId normal = g.b.concat({d.sign, g.bits(e, 0, 8), man23});
  ValueId r = g.sel(d.isZero, g.b.concat({d.sign, g.c(31, 0)}), normal);
  r = g.sel(d.isInf, g.b.concat({d.sign, g.c(31, 0x7F800000u)}), r);
  return g.sel(d.isNan, g.c(32, kFp32Nan), r);
}

/// numerics::convertToFp32 for the convertible formats (fp32 bf16 fp16 e4m3 e5m2), selected
/// by the ISA format code; other codes read as fp32 (they never reach a conversion).
Expected<ValueId> widenToFp32(Rtl &g, ValueId fmtCode, ValueId code32) {
  ValueId bf = g.bits(code32, 0, 16);
  ValueId bfNan = g.land(g.eqc(g.bits(bf, 7, 8), 0xFF), g.nz(g.bits(bf, 0, 7)));
  ValueId fromBf16 = g.sel(bfNan, g.c(32, kFp32Nan), g.b.concat({bf, g.c(16, 0)}));
  TRY_ASSIGN(ValueId fromFp16, widenNarrow(g, Format::FP16, code32));
  TRY_ASSIGN(ValueId fromE4m3, widenNarrow(g, Format::E4M3, code32));
  TRY_ASSIGN(ValueId fromE5m2, widenNarrow(g, Format::E5M2, code32));
  return g.lookup(fmtCode, {code32, fromBf16, fromFp16, fromE4m3, fromE5m2}, code32);
}

/// The AXI burst length (beats) for `left` beats from the beat-aligned `addr`: at most 16,
/// never across a 4 KiB boundary.
ValueId burstBeats(Rtl &g, ValueId addr, ValueId left, unsigned lb) {
  ValueId to4k = g.shr(g.sub(g.c(13, 4096), g.zx(g.bits(addr, 0, 12), 13)), g.c(4, lb));
  ValueId lim = g.minu(g.zx(to4k, g.width(left)), g.c(g.width(left), 16));
  return g.minu(left, lim);
}

} // namespace

//===----------------------------------------------------------------------===//
// Load unit
//===----------------------------------------------------------------------===//

Expected<hw::Module *> buildLoadUnit(hw::Design &design, const TileConfig &cfg,
                                     const GenParams &gp) {
  TRY(checkParams(gp, "load unit"));
  const unsigned BUS = gp.busBytes, LB = ceilLog2(BUS);
  hw::Module &m = design.addModule("tessera_ldu");
  ModuleBuilder b(m);
  b.setLoc(SourceLoc{"<tessera-generate:ldu>", 0, 0});
  Rtl g{b, hw::kNoValue, hw::kNoValue, "ldu_"};
  g.clk = b.input("clk", 1);
  g.rst = b.input("rst", 1);
  ValueId start = b.input("start", 1);
  ValueId insn = b.input("insn", 128);
  ValueId regs = b.input("regs", kRegsWidth);
  b.input("fregs", kFregsWidth);
  ValueId arready = b.input("m_arready", 1);
  ValueId rvalid = b.input("m_rvalid", 1);
  ValueId rdata = b.input("m_rdata", 8 * BUS);
  ValueId rlast = b.input("m_rlast", 1);
  ValueId rresp = b.input("m_rresp", 2);

  // FSM.
  enum : uint64_t { Idle, Check, RowSet, Xfer, Done, Fault };
  ValueId state = g.reg("state", 3, Idle);
  auto in = [&](uint64_t s) { return g.eqc(state, s); };
  ValueId sIdle = in(Idle), sCheck = in(Check), sRowSet = in(RowSet), sXfer = in(Xfer);

  // Instruction fields (valid in the start cycle), docs/isa.md 4 layout D.
  ValueId opc = g.bits(insn, 0, 8), fmtA = g.bits(insn, 24, 4), fmtB = g.bits(insn, 28, 4);
  ValueId limm = g.bits(insn, 36, 16), gimm = g.bits(insn, 52, 16);
  ValueId rowsF = g.bits(insn, 68, 12), colsF = g.bits(insn, 80, 14);
  ValueId gstrideF = g.bits(insn, 94, 20), lstrideF = g.bits(insn, 114, 14);
  ValueId isLd = g.eqc(opc, kOpLd), isAcc = g.eqc(opc, kOpLdAcc);
  ValueId isScale = g.eqc(opc, kOpLdScale), isMeta = g.eqc(opc, kOpLdMeta);
  ValueId isDma = g.lor({isLd, isAcc, isScale, isMeta});
  ValueId byteCopy = g.lor(isScale, isMeta);
  ValueId lbase = g.add(g.bits(regs, 0, 32), g.zx(limm, 32));
  ValueId gbase = g.add(g.bits(regs, 32, 32), g.zx(gimm, 32));
  ValueId cols20 = g.zx(colsF, 20);
  ValueId srcBytes = g.sel(byteCopy, cols20, g.shr(g.timesFormatBits(colsF, fmtA, 20), g.c(2, 3)));
  ValueId lrowLen =
      g.sel(g.lor(byteCopy, isAcc), cols20, g.shr(g.timesFormatBits(colsF, fmtB, 20), g.c(2, 3)));
  // Mode: 0 raw byte copy, 1 element conversion into SPAD, 2 widening into ACC.
  ValueId raw = g.lor(byteCopy, g.land(isLd, g.b.eq(fmtA, fmtB)));
  ValueId modeIn = g.sel(raw, g.c(2, 0), g.sel(isAcc, g.c(2, 2), g.c(2, 1)));
  // Destination of raw copies: 0 SPAD, 1 SCALE, 2 META.
  ValueId dstIn = g.sel(isScale, g.c(2, 1), g.sel(isMeta, g.c(2, 2), g.c(2, 0)));
  ValueId sizeIn = g.sel(isAcc, g.c(32, cfg.accWords()),
                         g.sel(isScale, g.c(32, cfg.scaleBytes),
                               g.sel(isMeta, g.c(32, cfg.metaBytes), g.c(32, cfg.spadBytes))));

  ValueId take = g.land(sIdle, start);
  ValueId takeDma = g.land(take, isDma);
  // Latched instruction.
  ValueId iMode = g.reg("mode", 2), iDst = g.reg("dst", 2);
  ValueId iFmtA = g.reg("fmt_src", 4), iFmtB = g.reg("fmt_dst", 4);
  ValueId iRows = g.reg("rows", 12), iGstride = g.reg("gstride", 20);
  ValueId iLstride = g.reg("lstride", 14), iRowBytes = g.reg("row_bytes", 20);
  ValueId iLrowLen = g.reg("lrow_len", 20), iSize = g.reg("local_size", 32);
  ValueId iSb = g.reg("src_elem_bytes", 3), iDb = g.reg("dst_elem_bytes", 3);
  auto latch = [&](ValueId r, ValueId v) { b.setNext(r, g.sel(takeDma, v, r)); };
  latch(iMode, modeIn);
  latch(iDst, dstIn);
  latch(iFmtA, fmtA);
  latch(iFmtB, fmtB);
  latch(iRows, rowsF);
  latch(iGstride, gstrideF);
  latch(iLstride, lstrideF);
  latch(iRowBytes, srcBytes);
  latch(iLrowLen, lrowLen);
  latch(iSize, sizeIn);
  latch(iSb, g.formatBytes(fmtA));
  latch(iDb, g.formatBytes(fmtB));
  ValueId modeRaw = g.eqc(iMode, 0), modeConv = g.eqc(iMode, 1), modeAcc = g.eqc(iMode, 2);

  // Local range check of every row before any access (golden: all rows, then effects).
  ValueId cLeft = g.reg("chk_left", 12), cAddr = g.reg("chk_addr", 32);
  ValueId cEnd = g.add(g.zx(cAddr, 34), g.zx(iLrowLen, 34));
  ValueId cBad = g.name(g.land(sCheck, g.gtu(cEnd, g.zx(iSize, 34))), "chk_bad");
  ValueId cLast = g.eqc(cLeft, 1);
  b.setNext(cLeft, g.sel(take, rowsF, g.sel(sCheck, g.subc(cLeft, 1), cLeft)));
  b.setNext(cAddr, g.sel(take, lbase, g.sel(sCheck, g.add(cAddr, g.zx(iLstride, 32)), cAddr)));

  // Row state.
  ValueId rLeft = g.reg("row_left", 12), rGrow = g.reg("row_dram", 32),
          rLrow = g.reg("row_local", 32);

  // Per-row transfer state.
  ValueId xOff = g.reg("off", LB);  // DRAM byte offset of the row in its beat
  ValueId xNb = g.reg("beats", 16); // beats covering the row
  ValueId xArAddr = g.reg("ar_addr", 32), xArLeft = g.reg("ar_left", 16);
  ValueId xArOut = g.reg("ar_busy", 1); // a burst is in flight
  ValueId xGot = g.reg("beats_got", 16);
  ValueId xFlush = g.reg("need_flush", 1), xFlushed = g.reg("flushed", 1);
  ValueId xPrev = g.reg("prev_beat", 8 * BUS);
  ValueId xWord = g.reg("word", 8 * BUS), xWv = g.reg("word_valid", 1);
  ValueId xBp = g.reg("word_byte", LB + 1); // byte of the next element in the word
  ValueId xRem = g.reg("row_rem", 20);      // DRAM-side bytes of the row still to consume
  ValueId xLcur = g.reg("local_addr", 32);  // next local write address

  // Row setup.
  ValueId off = g.bits(rGrow, 0, LB);
  ValueId rb20 = iRowBytes;
  ValueId nb = g.shr(g.addc(g.add(g.zx(off, 20), rb20), BUS - 1), g.c(4, LB));
  ValueId nw = g.shr(g.addc(rb20, BUS - 1), g.c(4, LB));
  ValueId rowEnd33 = g.add(g.zx(rGrow, 33), g.zx(rb20, 33));
  ValueId wrapBad = g.land(g.bit(rowEnd33, 32), g.nz(g.bits(rowEnd33, 0, 32)));
  ValueId setBad = g.land(sRowSet, wrapBad);

  // AR channel.
  ValueId arLen = burstBeats(g, xArAddr, xArLeft, LB);
  ValueId arvalid = g.name(g.land({sXfer, g.nz(xArLeft), g.lnot(xArOut)}), "arvalid");
  ValueId arFire = g.land(arvalid, arready);

  // Consumer of the current word.
  ValueId sb8 = g.zx(iSb, LB + 1);
  ValueId sb20 = g.zx(iSb, 20);
  ValueId elemLastInWord = g.eqc(g.add(xBp, sb8), BUS);
  ValueId rowLastElem = g.b.eq(xRem, sb20);
  ValueId wordLast = g.land(xWv, g.lor({modeRaw, elemLastInWord, rowLastElem}));
  ValueId rowLast =
      g.land(xWv, g.sel(modeRaw, g.b.binary(OpKind::LeU, xRem, g.c(20, BUS)), rowLastElem));
  ValueId fire = g.name(g.land(sXfer, xWv), "consume");

  // R channel and realigner.
  ValueId canLoad = g.lor(g.lnot(xWv), wordLast);
  ValueId rready = g.lor(g.land({sXfer, g.ltu(xGot, xNb), canLoad}), in(Fault));
  ValueId beatFire = g.name(g.land({sXfer, rvalid, rready}), "beat");
  ValueId rErr = g.land(beatFire, g.nz(rresp));
  ValueId offBits = g.shl(g.zx(xOff, 16), g.c(3, 3));
  ValueId aligned = g.bits(g.shr(b.concat({rdata, xPrev}), offBits), 0, 8 * BUS);
  ValueId flushWord = g.bits(g.shr(b.concat({g.zeros(8 * BUS), xPrev}), offBits), 0, 8 * BUS);
  ValueId loadWord = g.land(beatFire, g.nz(xGot));
  ValueId flushFire = g.land({sXfer, canLoad, g.b.eq(xGot, xNb), xFlush, g.lnot(xFlushed)});

  // Element datapath: convertToFp32, then castUnit (RNE, Ieee) or canon.
  ValueId elem =
      g.bits(g.shr(b.concat({g.zeros(32), xWord}), g.shl(g.zx(xBp, 16), g.c(3, 3))), 0, 32);
  ValueId elemMasked = g.sel(g.eqc(iSb, 1), g.zx(g.bits(elem, 0, 8), 32),
                             g.sel(g.eqc(iSb, 2), g.zx(g.bits(elem, 0, 16), 32), elem));
  TRY_ASSIGN(ValueId wide, widenToFp32(g, iFmtA, elemMasked));
  g.name(wide, "widened");
  const Format targets[] = {Format::BF16, Format::FP16, Format::E4M3, Format::E5M2};
  CastUnitInputs ci;
  ci.fp32 = wide;
  ci.select = g.bits(g.subc(iFmtB, 1), 0, 2); // bf16 fp16 e4m3 e5m2 = codes 1..4
  ci.ieeeOverflow = g.one();
  TRY_ASSIGN(ValueId cast, castUnit(b, targets, ci));
  ValueId convCode = g.name(g.sel(g.eqc(iFmtB, 0), wide, g.zx(cast, 32)), "converted");
  ValueId accWord = g.name(g.canon(wide), "acc_word");

  // Memory write ports.
  auto linePort = [&](const std::string &mem, ValueId en, ValueId data, ValueId mask) {
    unsigned line = gp.line(mem);
    b.output(mem + "_wr0_addr", 32, xLcur);
    b.output(mem + "_wr0_data", 8 * line, g.zx(data, 8 * line));
    b.output(mem + "_wr0_mask", line, g.zx(mask, line));
    b.output(mem + "_wr0_en", 1, en);
  };
  ValueId remCap = g.minu(xRem, g.c(20, BUS));
  ValueId rawMask = g.lnot(g.shl(g.ones(BUS), remCap)); // bytes < min(rem, BUS)
  ValueId convMask =
      g.sel(g.eqc(iDb, 4), g.c(BUS, 0xF), g.sel(g.eqc(iDb, 2), g.c(BUS, 3), g.c(BUS, 1)));
  ValueId fireRaw = g.land(fire, modeRaw);
  linePort("spad", g.lor(g.land(fireRaw, g.eqc(iDst, 0)), g.land(fire, modeConv)),
           g.sel(modeRaw, xWord, g.zx(convCode, 8 * BUS)), g.sel(modeRaw, rawMask, convMask));
  linePort("scale", g.land(fireRaw, g.eqc(iDst, 1)), xWord, rawMask);
  linePort("meta", g.land(fireRaw, g.eqc(iDst, 2)), xWord, rawMask);
  b.output("acc_wr0_addr", 32, xLcur);
  b.output("acc_wr0_data", 32, accWord);
  b.output("acc_wr0_en", 1, g.land(fire, modeAcc));

  // Next state.
  ValueId faultNow = g.lor({cBad, setBad, rErr});
  ValueId next = state;
  next = g.sel(g.land(fire, rowLast), g.sel(g.eqc(rLeft, 1), g.c(3, Done), g.c(3, RowSet)), next);
  next = g.sel(sRowSet, g.c(3, Xfer), next);
  next = g.sel(g.land(sCheck, cLast), g.c(3, RowSet), next);
  next = g.sel(in(Done), g.c(3, Idle), next);
  next = g.sel(take, g.sel(isDma, g.c(3, Check), g.c(3, Done)), next);
  next = g.sel(faultNow, g.c(3, Fault), next);
  b.setNext(state, next);

  ValueId faultAddr = g.reg("fault_addr", 32);
  b.setNext(faultAddr, g.sel(cBad, cAddr, g.sel(g.lor(setBad, rErr), rGrow, faultAddr)));

  // Rows.
  ValueId rowStep = g.land(fire, rowLast);
  b.setNext(rLeft, g.sel(takeDma, rowsF, g.sel(rowStep, g.subc(rLeft, 1), rLeft)));
  b.setNext(rGrow, g.sel(takeDma, gbase, g.sel(rowStep, g.add(rGrow, g.zx(iGstride, 32)), rGrow)));
  b.setNext(rLrow, g.sel(takeDma, lbase, g.sel(rowStep, g.add(rLrow, g.zx(iLstride, 32)), rLrow)));

  // Transfer registers.
  b.setNext(xOff, g.sel(sRowSet, off, xOff));
  b.setNext(xNb, g.sel(sRowSet, g.zx(nb, 16), xNb));
  b.setNext(xFlush, g.sel(sRowSet, g.b.eq(nb, nw), xFlush));
  b.setNext(xFlushed, g.sel(sRowSet, g.zero1(), g.lor(xFlushed, flushFire)));
  ValueId alignedStart = g.b.concat({g.bits(rGrow, LB, 32 - LB), g.c(LB, 0)});
  b.setNext(xArAddr,
            g.sel(sRowSet, alignedStart,
                  g.sel(arFire, g.add(xArAddr, g.shl(g.zx(arLen, 32), g.c(4, LB))), xArAddr)));
  b.setNext(xArLeft, g.sel(sRowSet, g.zx(nb, 16), g.sel(arFire, g.sub(xArLeft, arLen), xArLeft)));
  b.setNext(xArOut,
            g.sel(sRowSet, g.zero1(),
                  g.sel(arFire, g.one(), g.sel(g.land(beatFire, rlast), g.zero1(), xArOut))));
  b.setNext(xGot, g.sel(sRowSet, g.c(16, 0), g.sel(beatFire, g.addc(xGot, 1), xGot)));
  b.setNext(xPrev, g.sel(beatFire, rdata, xPrev));
  b.setNext(xWord, g.sel(loadWord, aligned, g.sel(flushFire, flushWord, xWord)));
  b.setNext(xWv,
            g.sel(sRowSet, g.zero1(),
                  g.sel(g.lor(loadWord, flushFire), g.one(), g.sel(wordLast, g.zero1(), xWv))));
  b.setNext(xBp,
            g.sel(g.lor(sRowSet, wordLast), g.c(LB + 1, 0), g.sel(fire, g.add(xBp, sb8), xBp)));
  ValueId step = g.sel(modeRaw, remCap, sb20);
  b.setNext(xRem, g.sel(sRowSet, rb20, g.sel(fire, g.sub(xRem, step), xRem)));
  ValueId lstep = g.sel(modeRaw, g.c(32, BUS), g.sel(modeAcc, g.c(32, 1), g.zx(iDb, 32)));
  b.setNext(xLcur, g.sel(sRowSet, rLrow, g.sel(fire, g.add(xLcur, lstep), xLcur)));

  // Instruction port and AXI outputs.
  b.output("ready", 1, sIdle);
  b.output("done", 1, in(Done));
  b.output("fault", 1, in(Fault));
  b.output("fault_addr", 32, faultAddr);
  b.output("m_arvalid", 1, arvalid);
  b.output("m_araddr", 32, xArAddr);
  b.output("m_arlen", 8, g.zx(g.subc(arLen, 1), 8));
  b.output("m_rready", 1, rready);
  return &m;
}

//===----------------------------------------------------------------------===//
// Store unit
//===----------------------------------------------------------------------===//

Expected<hw::Module *> buildStoreUnit(hw::Design &design, const TileConfig &cfg,
                                      const GenParams &gp) {
  TRY(checkParams(gp, "store unit"));
  const unsigned BUS = gp.busBytes, LB = ceilLog2(BUS);
  const unsigned BEAT = 8 * BUS; // bits per beat

  // Cast targets: bf16 / fp16 always, the tile's other store formats with scale-cast.
  std::vector<Format> targets = {Format::BF16, Format::FP16};
  std::vector<Format> mxElems;
  std::vector<int> selectOf(kNumElemFormats, 0), mxSelectOf(kNumElemFormats, 0);
  auto indexIn = [](std::vector<Format> &list, Format f) {
    auto it = std::find(list.begin(), list.end(), f);
    if (it != list.end())
      return int(it - list.begin());
    list.push_back(f);
    return int(list.size() - 1);
  };
  selectOf[unsigned(ElemFormat::Fp16)] = 1;
  if (cfg.scaleCast)
    for (const TensorFormatCfg &tf : cfg.formats) {
      const ElemFormatInfo &fi = elemFormatInfo(tf.format);
      if (tf.format == ElemFormat::Bf16 || tf.format == ElemFormat::Fp16)
        continue;
      selectOf[unsigned(tf.format)] = indexIn(targets, fi.element);
      if (fi.mx)
        mxSelectOf[unsigned(tf.format)] = indexIn(mxElems, fi.element);
    }
  const bool haveMx = !mxElems.empty();
  const bool haveSr = cfg.scaleCast && cfg.stochastic;

  hw::Module &m = design.addModule("tessera_stu");
  ModuleBuilder b(m);
  b.setLoc(SourceLoc{"<tessera-generate:stu>", 0, 0});
  Rtl g{b, hw::kNoValue, hw::kNoValue, "stu_"};
  g.clk = b.input("clk", 1);
  g.rst = b.input("rst", 1);
  ValueId start = b.input("start", 1);
  ValueId insn = b.input("insn", 128);
  ValueId regs = b.input("regs", kRegsWidth);
  ValueId fregs = b.input("fregs", kFregsWidth);
  ValueId accData = b.input("acc_rd0_data", 32);
  ValueId awready = b.input("m_awready", 1);
  ValueId wready = b.input("m_wready", 1);
  ValueId bvalid = b.input("m_bvalid", 1);
  ValueId bresp = b.input("m_bresp", 2);

  enum : uint64_t {
    Idle,
    Check,
    Row,
    Elem,
    Pass1,
    ScaleCalc,
    Pass2,
    WaitElem,
    ScaleSet,
    ScaleOut,
    WaitScale,
    Stat,
    Done,
    Fault
  };
  ValueId state = g.reg("state", 4, Idle);
  auto in = [&](uint64_t s) { return g.eqc(state, s); };
  ValueId sIdle = in(Idle), sCheck = in(Check), sRow = in(Row), sElem = in(Elem);
  ValueId sP1 = in(Pass1), sSc = in(ScaleCalc), sP2 = in(Pass2), sScaleSet = in(ScaleSet);
  ValueId sScaleOut = in(ScaleOut), sStat = in(Stat);

  // Machine state visible to the tile (docs/isa.md 1).
  ValueId amax = g.reg("amax", 32), flags = g.reg("flags", 32), lfsr = g.reg("lfsr", 16, 1);

  // Instruction fields (start cycle).
  ValueId opc = g.bits(insn, 0, 8), fmt = g.bits(insn, 24, 4);
  ValueId flagBits = g.bits(insn, 12, 4);
  ValueId limm = g.bits(insn, 36, 16), gimm = g.bits(insn, 52, 16);
  ValueId rowsF = g.bits(insn, 68, 12), colsF = g.bits(insn, 80, 14);
  ValueId gstrideF = g.bits(insn, 94, 20), lstrideF = g.bits(insn, 114, 14);
  ValueId imm16 = g.bits(insn, 32, 16);
  ValueId isSt = g.eqc(opc, kOpSt), isStat = g.eqc(opc, kOpStStat);
  ValueId isSeed = g.eqc(opc, kOpSeed), isClr = g.eqc(opc, kOpClrStat);
  ValueId lbase = g.add(g.bits(regs, 0, 32), g.zx(limm, 32));
  ValueId gbase = g.add(g.bits(regs, 32, 32), g.zx(gimm, 32));
  ValueId sbase = g.bits(regs, 128, 32); // R[rx]
  ValueId take = g.land(sIdle, start);
  ValueId takeSt = g.land(take, isSt), takeStat = g.land(take, isStat);

  std::vector<ValueId> bitsTable, mxTable, selTable, mxSelTable, maxTable;
  for (unsigned f = 0; f < kNumElemFormats; ++f) {
    const ElemFormatInfo &fi = elemFormatInfo(ElemFormat(f));
    bitsTable.push_back(g.c(6, fi.bits));
    mxTable.push_back(g.c(1, fi.mx));
    selTable.push_back(g.c(selectWidthOf(targets.size()), selectOf[f]));
    mxSelTable.push_back(g.c(selectWidthOf(std::max<size_t>(1, mxElems.size())), mxSelectOf[f]));
    float maxNormal = float(numerics::formatInfo(fi.element).maxNormal);
    maxTable.push_back(g.c(31, std::bit_cast<uint32_t>(maxNormal) & 0x7FFFFFFFu));
  }
  ValueId fbits = g.lookup(fmt, bitsTable, g.c(6, 32));

  // Latched instruction.
  ValueId iFmt = g.reg("fmt", 4), iBits = g.reg("elem_bits", 6), iMx = g.reg("mx", 1);
  ValueId iFlags = g.reg("flags_insn", 4), iF = g.reg("prescale_f", 32);
  ValueId iCols = g.reg("cols", 14), iLstride = g.reg("lstride", 14),
          iGstride = g.reg("gstride", 20);
  ValueId iRowBytes = g.reg("row_bytes", 20), iBlocks = g.reg("blocks", 10);
  ValueId iSstride = g.reg("scale_stride", 20), iStat = g.reg("is_ststat", 1);
  auto latch = [&](ValueId r, ValueId v, ValueId when) { b.setNext(r, g.sel(when, v, r)); };
  latch(iFmt, fmt, takeSt);
  latch(iBits, g.sel(isStat, g.c(6, 32), fbits), take);
  latch(iMx, g.land(isSt, g.lookup(fmt, mxTable, g.zero1())), take);
  latch(iFlags, flagBits, takeSt);
  latch(iF, g.bits(fregs, 0, 32), takeSt);
  latch(iCols, g.sel(isStat, g.c(14, 2), colsF), take);
  latch(iLstride, lstrideF, takeSt);
  latch(iGstride, gstrideF, takeSt);
  latch(iRowBytes, g.shr(g.timesFormatBits(colsF, fmt, 20), g.c(2, 3)), takeSt);
  latch(iBlocks, g.bits(g.shr(g.addc(g.zx(colsF, 15), 31), g.c(3, 5)), 0, 10), takeSt);
  ValueId gs = gstrideF;
  ValueId sstride =
      g.sel(g.eqc(fbits, 8), g.shr(gs, g.c(3, 5)),
            g.sel(g.eqc(fbits, 4), g.shr(gs, g.c(3, 4)),
                  g.sel(g.eqc(fbits, 6), g.b.binary(OpKind::DivU, gs, g.c(20, 24)), g.c(20, 0))));
  latch(iSstride, sstride, takeSt);
  latch(iStat, isStat, take);
  ValueId fSr = g.bit(iFlags, 0), fUp = g.bit(iFlags, 1), fPre = g.bit(iFlags, 2);
  ValueId fSat = g.bit(iFlags, 3);
  if (!haveSr)
    fSr = g.zero1();

  // ACC range check of every row before any access.
  ValueId cLeft = g.reg("chk_left", 12), cAddr = g.reg("chk_addr", 32);
  ValueId cEnd = g.add(g.zx(cAddr, 34), g.zx(iCols, 34));
  ValueId cBad = g.name(g.land(sCheck, g.gtu(cEnd, g.c(34, cfg.accWords()))), "chk_bad");
  b.setNext(cLeft, g.sel(take, rowsF, g.sel(sCheck, g.subc(cLeft, 1), cLeft)));
  b.setNext(cAddr, g.sel(take, lbase, g.sel(sCheck, g.add(cAddr, g.zx(iLstride, 32)), cAddr)));

  // Rows.
  ValueId rLeft = g.reg("row_left", 12), rLrow = g.reg("row_acc", 32);
  ValueId rGrow = g.reg("row_dram", 32), rSrow = g.reg("row_scales", 32);

  //--- Stream writer: codes of `bits` bits packed from a DRAM byte address, AXI bursts.
  ValueId kBuf = g.reg("pack_data", 2 * BEAT), kMask = g.reg("pack_valid", 2 * BEAT);
  const unsigned WPW = ceilLog2(2 * BEAT) + 1;
  ValueId kWp = g.reg("pack_bit", WPW);   // next free bit of the two-beat buffer
  ValueId kLeft = g.reg("pack_left", 16); // codes still to insert
  ValueId kBits = g.reg("pack_code_bits", 6);
  ValueId wBase = g.reg("stream_base", 32), wAwAddr = g.reg("aw_addr", 32);
  ValueId wAwLeft = g.reg("aw_left", 16); // beats not yet covered by a burst
  ValueId wBurst = g.reg("burst_left", 5), wOpen = g.reg("burst_open", 1), wB = g.reg("b_wait", 1);

  // Stream starts: an element row (Row), a scale row (ScaleSet), ststat (start).
  ValueId stStart = g.lor({sRow, sScaleSet, takeStat});
  ValueId stBase = g.sel(sRow, rGrow, g.sel(sScaleSet, rSrow, gbase));
  ValueId stCount = g.sel(sRow, g.zx(iCols, 16), g.sel(sScaleSet, g.zx(iBlocks, 16), g.c(16, 2)));
  ValueId stBits = g.sel(sRow, iBits, g.sel(sScaleSet, g.c(6, 8), g.c(6, 32)));
  ValueId stOff = g.bits(stBase, 0, LB);
  ValueId cnt24 = g.zx(stCount, 24);
  ValueId cntBits;
  {
    std::vector<ValueId> t(33, hw::kNoValue);
    t[4] = g.shl(cnt24, g.c(3, 2));
    t[6] = g.add(g.shl(cnt24, g.c(3, 2)), g.shl(cnt24, g.c(3, 1)));
    t[8] = g.shl(cnt24, g.c(3, 3));
    t[16] = g.shl(cnt24, g.c(3, 4));
    t[32] = g.shl(cnt24, g.c(3, 5));
    cntBits = g.lookup(stBits, t, g.c(24, 0));
  }
  ValueId stTotal = g.add(g.shl(g.zx(stOff, 24), g.c(3, 3)), cntBits);
  ValueId stNb = g.shr(g.addc(stTotal, BEAT - 1), g.c(4, LB + 3));
  ValueId stBytes = g.shr(g.addc(cntBits, 7), g.c(3, 3));
  ValueId stEnd33 = g.add(g.zx(stBase, 33), g.zx(stBytes, 33));
  ValueId stWrapBad = g.land({stStart, g.bit(stEnd33, 32), g.nz(g.bits(stEnd33, 0, 32))});

  ValueId room = g.ltu(kWp, g.c(WPW, BEAT));
  ValueId beatReady = g.lor(g.geu(kWp, g.c(WPW, BEAT)), g.land(g.isZero(kLeft), g.nz(kWp)));
  ValueId awLen = burstBeats(g, wAwAddr, wAwLeft, LB);
  ValueId notFault = g.lnot(in(Fault));
  ValueId awvalid = g.name(g.land({notFault, g.nz(wAwLeft), g.lnot(wOpen), g.lnot(wB)}), "awvalid");
  ValueId awFire = g.land(awvalid, awready);
  ValueId wvalid = g.name(g.land({notFault, wOpen, beatReady}), "wvalid");
  ValueId wFire = g.land(wvalid, wready);
  ValueId wLast = g.eqc(wBurst, 1);
  ValueId bready = g.lor(wB, in(Fault));
  ValueId bFire = g.land({notFault, wB, bvalid});
  ValueId bErr = g.land(bFire, g.nz(bresp));
  ValueId streamDone = g.name(
      g.land({g.isZero(kLeft), g.isZero(wAwLeft), g.lnot(wOpen), g.lnot(wB)}), "stream_done");

  //--- ACC reader: one read ahead, a hold register under back-pressure.
  ValueId pAddr = g.reg("rd_addr", 32), pIssueLeft = g.reg("rd_left", 15);
  ValueId pConsLeft = g.reg("use_left", 15), pPend = g.reg("rd_pending", 1);
  ValueId pHold = g.reg("hold_valid", 1), pHoldData = g.reg("hold_data", 32);
  ValueId reading = g.lor({sElem, sP1, sP2});
  ValueId avail = g.lor(pPend, pHold);
  ValueId x = g.name(g.sel(pPend, accData, pHoldData), "x");
  ValueId canUse = g.sel(sP1, g.one(), room);
  ValueId consume = g.name(g.land({reading, avail, canUse}), "use");
  ValueId issue = g.land({reading, g.nz(pIssueLeft), g.lor(g.lnot(avail), consume)});
  ValueId lastUse = g.land(consume, g.eqc(pConsLeft, 1));

  //--- Scale-cast datapath (docs/isa.md 5.5).
  ValueId xMag = g.bits(x, 0, 31);
  ValueId xSpecial = g.isSpecial(x);
  ValueId prod = fp32MulUnit(b, x, iF);
  ValueId y = g.name(g.sel(fPre, prod, x), "y");
  ValueId yMag = g.bits(y, 0, 31);
  ValueId ySpecial = g.isSpecial(y);
  ValueId maxMag = g.lookup(iFmt, maxTable, g.c(31, 0x7F7FFFFF));
  ValueId satHit = g.land({g.lnot(iMx), g.lnot(ySpecial), g.gtu(yMag, maxMag)});
  ValueId statUse = g.land(consume, g.lor(sElem, sP1)); // each element's AMAX / flags, once
  ValueId amaxNext =
      g.sel(g.land({statUse, g.lnot(xSpecial), g.gtu(g.zx(xMag, 32), amax)}), g.zx(xMag, 32), amax);
  ValueId flagsNext = g.sel(
      statUse, g.lor(flags, g.zx(g.b.concat({satHit, g.lor(xSpecial, ySpecial)}), 32)), flags);

  // MX: block amax, scale, element scaling through the exponent field.
  ValueId mKb = g.reg("block", 10), mBlkBase = g.reg("block_acc", 32),
          mRemC = g.reg("block_rem", 15);
  ValueId mBlkAmax = g.reg("block_amax", 32), mScale = g.reg("block_scale", 8);
  ValueId mxSel =
      g.lookup(iFmt, mxSelTable, g.c(selectWidthOf(std::max<size_t>(1, mxElems.size())), 0));
  ValueId scaleCode = g.c(8, 0);
  if (haveMx) {
    TRY_ASSIGN(scaleCode, mxScaleUnit(b, mBlkAmax, mxElems, mxSel, fUp));
  }
  g.name(scaleCode, "scale_code");
  // y / 2^(scale - 127): exponent E - scale + 127; below the FP32 range it rounds to a
  // signed zero in every MX element format (docs/tile-dma.md).
  ValueId yExp = g.zx(g.bits(y, 23, 8), 10);
  ValueId newExp = g.sub(g.addc(yExp, 127), g.zx(mScale, 10));
  ValueId underflow = g.lor(g.eqc(yExp, 0), g.b.binary(OpKind::LeS, newExp, g.c(10, 0)));
  ValueId scaled = g.sel(underflow, g.b.concat({g.bit(y, 31), g.c(31, 0)}),
                         g.b.concat({g.bit(y, 31), g.bits(newExp, 0, 8), g.bits(y, 0, 23)}));
  g.name(scaled, "scaled");

  CastUnitInputs ci;
  ci.fp32 = g.sel(sP2, scaled, y);
  ci.select = g.lookup(iFmt, selTable, g.c(selectWidthOf(targets.size()), 0));
  if (haveSr) {
    ci.stochastic = fSr;
    ci.random16 = lfsr;
  }
  ci.ieeeOverflow = g.land(g.lnot(sP2), g.lnot(fSat));
  TRY_ASSIGN(ValueId cast, castUnit(b, targets, ci));
  ValueId cast32 = g.zx(cast, 32);
  ValueId fp32Code = g.sel(g.isNan(y), g.c(32, kFp32Nan), y);
  ValueId elemCode = g.sel(g.eqc(iFmt, 0), fp32Code, cast32);
  ValueId mxCode = g.sel(g.eqc(mScale, 0xFF), g.c(32, 0), cast32);

  // LFSR: one lfsrNext step per element when rounding stochastically.
  ValueId lfsrStep = g.land({consume, g.lor(sElem, sP2), fSr});
  ValueId lfsrShift = g.b.concat({g.c(1, 0), g.bits(lfsr, 1, 15)});
  ValueId lfsrNext = g.sel(g.bit(lfsr, 0), g.b.bitXor(lfsrShift, g.c(16, 0xB400)), lfsrShift);
  ValueId seedVal = g.sel(g.isZero(imm16), g.c(16, 1), imm16);
  b.setNext(lfsr, g.sel(g.land(take, isSeed), seedVal, g.sel(lfsrStep, lfsrNext, lfsr)));
  ValueId clr = g.land(take, isClr);
  b.setNext(amax, g.sel(clr, g.c(32, 0), amaxNext));
  b.setNext(flags, g.sel(clr, g.c(32, 0), flagsNext));

  // Row scale buffer (MX): scale of block kb, written in ScaleCalc, read by ScaleOut.
  ValueId sIdx = g.reg("scale_idx", 10);
  ValueId scaleOutCode = g.c(8, 0);
  if (haveMx) {
    uint32_t buf = b.memory("stu_scale_buf", 8, 512);
    b.memWrite(buf, g.clk, g.bits(mKb, 0, 9), scaleCode, sSc);
    scaleOutCode = b.memReadAsync(buf, g.bits(sIdx, 0, 9));
  }

  // Codes into the packer.
  ValueId insertOther = g.land({g.lor(sScaleOut, sStat), room, g.nz(kLeft)});
  ValueId insert = g.lor(g.land(consume, g.lor(sElem, sP2)), insertOther);
  ValueId code =
      g.sel(sElem, elemCode,
            g.sel(sP2, mxCode,
                  g.sel(sScaleOut, g.zx(scaleOutCode, 32), g.sel(g.eqc(sIdx, 0), amax, flags))));
  ValueId codeMask = g.lnot(g.shl(g.ones(32), g.zx(kBits, 6)));
  ValueId codeBits = g.name(g.land(code, codeMask), "code");
  ValueId wpAmt = g.zx(kWp, 16);
  ValueId insData = g.lor(kBuf, g.shl(g.zx(codeBits, 2 * BEAT), wpAmt));
  ValueId insMask = g.lor(kMask, g.shl(g.zx(codeMask, 2 * BEAT), wpAmt));
  ValueId shData = g.shr(kBuf, g.c(16, BEAT)), shMask = g.shr(kMask, g.c(16, BEAT));
  ValueId wpAfterBeat = g.sel(g.geu(kWp, g.c(WPW, BEAT)), g.subc(kWp, BEAT), g.c(WPW, 0));
  b.setNext(kBuf,
            g.sel(stStart, g.zeros(2 * BEAT), g.sel(insert, insData, g.sel(wFire, shData, kBuf))));
  b.setNext(kMask,
            g.sel(stStart, g.zeros(2 * BEAT), g.sel(insert, insMask, g.sel(wFire, shMask, kMask))));
  b.setNext(kWp,
            g.sel(stStart, g.shl(g.zx(stOff, WPW), g.c(3, 3)),
                  g.sel(insert, g.add(kWp, g.zx(kBits, WPW)), g.sel(wFire, wpAfterBeat, kWp))));
  b.setNext(kLeft, g.sel(stStart, stCount, g.sel(insert, g.subc(kLeft, 1), kLeft)));
  b.setNext(kBits, g.sel(stStart, stBits, kBits));
  b.setNext(wBase, g.sel(stStart, stBase, wBase));
  ValueId stAligned = g.b.concat({g.bits(stBase, LB, 32 - LB), g.c(LB, 0)});
  b.setNext(wAwAddr,
            g.sel(stStart, stAligned,
                  g.sel(awFire, g.add(wAwAddr, g.shl(g.zx(awLen, 32), g.c(4, LB))), wAwAddr)));
  b.setNext(wAwLeft, g.sel(stStart, g.zx(stNb, 16), g.sel(awFire, g.sub(wAwLeft, awLen), wAwLeft)));
  b.setNext(wBurst, g.sel(awFire, g.zx(awLen, 5), g.sel(wFire, g.subc(wBurst, 1), wBurst)));
  b.setNext(wOpen, g.sel(awFire, g.one(), g.sel(g.land(wFire, wLast), g.zero1(), wOpen)));
  b.setNext(wB, g.sel(g.land(wFire, wLast), g.one(), g.sel(bFire, g.zero1(), wB)));
  b.setNext(sIdx, g.sel(stStart, g.c(10, 0), g.sel(insertOther, g.addc(sIdx, 1), sIdx)));

  // Sections of the ACC reader: a whole row (non-MX) or one 32-element block (MX, twice).
  ValueId blkN = g.minu(mRemC, g.c(15, 32));
  ValueId rowN = g.zx(iCols, 15);
  ValueId firstN = g.sel(iMx, g.minu(rowN, g.c(15, 32)), rowN);
  ValueId remAfter = g.sub(mRemC, blkN);
  ValueId nextBlkN = g.minu(remAfter, g.c(15, 32));
  ValueId nextBlkBase = g.addc(mBlkBase, 32);
  ValueId moreBlocks = g.nz(remAfter);
  ValueId p2End = g.land(sP2, lastUse);
  ValueId secStartAddr = g.sel(sRow, rLrow, g.sel(sSc, mBlkBase, nextBlkBase));
  ValueId secStartN = g.sel(sRow, firstN, g.sel(sSc, blkN, nextBlkN));
  ValueId secStart = g.lor({sRow, sSc, g.land(p2End, moreBlocks)});
  b.setNext(pAddr, g.sel(secStart, secStartAddr, g.sel(issue, g.addc(pAddr, 1), pAddr)));
  b.setNext(pIssueLeft,
            g.sel(secStart, secStartN, g.sel(issue, g.subc(pIssueLeft, 1), pIssueLeft)));
  b.setNext(pConsLeft, g.sel(secStart, secStartN, g.sel(consume, g.subc(pConsLeft, 1), pConsLeft)));
  b.setNext(pPend, issue);
  ValueId holdNext = g.land(avail, g.lnot(consume));
  b.setNext(pHold, holdNext);
  b.setNext(pHoldData, g.sel(g.land(pPend, g.lnot(consume)), accData, pHoldData));
  b.setNext(mKb, g.sel(sRow, g.c(10, 0), g.sel(p2End, g.addc(mKb, 1), mKb)));
  b.setNext(mBlkBase, g.sel(sRow, rLrow, g.sel(p2End, nextBlkBase, mBlkBase)));
  b.setNext(mRemC, g.sel(sRow, rowN, g.sel(p2End, remAfter, mRemC)));
  ValueId blkAmaxUse = g.land(consume, sP1);
  b.setNext(mBlkAmax, g.sel(g.lor(sRow, p2End), g.c(32, 0),
                            g.sel(g.land(blkAmaxUse, g.gtu(g.zx(yMag, 32), mBlkAmax)),
                                  g.zx(yMag, 32), mBlkAmax)));
  b.setNext(mScale, g.sel(sSc, scaleCode, mScale));

  // Rows advance after the row's last stream.
  ValueId waitDone = g.land(streamDone, g.lor(in(WaitScale), g.land(in(WaitElem), g.lnot(iMx))));
  ValueId rowNext = g.land(waitDone, g.lnot(iStat));
  b.setNext(rLeft, g.sel(takeSt, rowsF, g.sel(rowNext, g.subc(rLeft, 1), rLeft)));
  b.setNext(rLrow, g.sel(takeSt, lbase, g.sel(rowNext, g.add(rLrow, g.zx(iLstride, 32)), rLrow)));
  b.setNext(rGrow, g.sel(takeSt, gbase, g.sel(rowNext, g.add(rGrow, g.zx(iGstride, 32)), rGrow)));
  b.setNext(rSrow, g.sel(takeSt, sbase, g.sel(rowNext, g.add(rSrow, g.zx(iSstride, 32)), rSrow)));

  // Next state.
  auto S = [&](uint64_t s) { return g.c(4, s); };
  ValueId next = state;
  next = g.sel(g.land(sElem, lastUse), S(WaitElem), next);
  next = g.sel(g.land(sP1, lastUse), S(ScaleCalc), next);
  next = g.sel(sSc, S(Pass2), next);
  next = g.sel(p2End, g.sel(moreBlocks, S(Pass1), S(WaitElem)), next);
  next = g.sel(g.land({in(WaitElem), streamDone, iMx}), S(ScaleSet), next);
  next = g.sel(sScaleSet, S(ScaleOut), next);
  next = g.sel(g.land({sScaleOut, g.isZero(kLeft)}), S(WaitScale), next);
  next = g.sel(g.land({sStat, g.isZero(kLeft)}), S(WaitScale), next);
  next = g.sel(waitDone, g.sel(g.lor(iStat, g.eqc(rLeft, 1)), S(Done), S(Row)), next);
  next = g.sel(sRow, g.sel(iMx, S(Pass1), S(Elem)), next);
  next = g.sel(g.land(sCheck, g.eqc(cLeft, 1)), S(Row), next);
  next = g.sel(in(Done), S(Idle), next);
  next = g.sel(take, g.sel(isSt, S(Check), g.sel(isStat, S(Stat), S(Done))), next);
  ValueId faultNow = g.lor({cBad, stWrapBad, bErr});
  next = g.sel(faultNow, S(Fault), next);
  b.setNext(state, next);

  ValueId faultAddr = g.reg("fault_addr", 32);
  b.setNext(faultAddr, g.sel(cBad, cAddr, g.sel(stWrapBad, stBase, g.sel(bErr, wBase, faultAddr))));

  // Ports.
  b.output("ready", 1, sIdle);
  b.output("done", 1, in(Done));
  b.output("fault", 1, in(Fault));
  b.output("fault_addr", 32, faultAddr);
  b.output("acc_rd0_addr", 32, pAddr);
  b.output("acc_rd0_en", 1, issue);
  b.output("m_awvalid", 1, awvalid);
  b.output("m_awaddr", 32, wAwAddr);
  b.output("m_awlen", 8, g.zx(g.subc(awLen, 1), 8));
  b.output("m_wvalid", 1, wvalid);
  b.output("m_wdata", BEAT, g.bits(kBuf, 0, BEAT));
  std::vector<ValueId> strb;
  for (int i = int(BUS) - 1; i >= 0; --i)
    strb.push_back(g.nz(g.bits(kMask, 8 * unsigned(i), 8)));
  b.output("m_wstrb", BUS, b.concat(strb));
  b.output("m_wlast", 1, wLast);
  b.output("m_bready", 1, bready);
  b.output("amax", 32, amax);
  b.output("flags", 32, flags);
  b.output("lfsr", 16, lfsr);
  return &m;
}

} // namespace tessera::accel::rtl
