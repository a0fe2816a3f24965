//===- Cosim.cpp - whole-tile simulation, golden comparison, random programs -----===//
//
// See Cosim.h.
//
//===----------------------------------------------------------------------===//
#include "runtime/Cosim.h"

#include "numerics/Numerics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <sstream>

namespace tessera::runtime {

using accel::ElemFormat;
using accel::Instruction;

namespace {

std::string hex(uint64_t v, int digits = 0) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

} // namespace

//===----------------------------------------------------------------------===//
// TileSim
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<TileSim>> TileSim::create(const accel::TileConfig &cfg,
                                                   const accel::rtl::GenParams &gp,
                                                   const sim::SimOptions &opts) {
  TRY_ASSIGN(hw::Design d, accel::rtl::buildTile(cfg, gp));
  TRY_ASSIGN(std::unique_ptr<sim::Simulator> s, sim::Simulator::create(d, opts));
  std::unique_ptr<TileSim> t(new TileSim());
  t->cfg_ = cfg;
  t->gp_ = gp;
  t->sim_ = std::move(s);
  return t;
}

int TileSim::in(const char *n) { return sim_->findInput(n); }
int TileSim::out(const char *n) { return sim_->findOutput(n); }

Expected<TileRun> TileSim::run(std::span<const Instruction> program, std::vector<uint8_t> &dram,
                               uint64_t maxCycles) {
  sim::Simulator &s = *sim_;
  if (program.size() > gp_.imemDepth)
    return Diagnostic::error("program-too-large",
                             "the program has " + std::to_string(program.size()) +
                                 " instructions; the tile's instruction memory holds " +
                                 std::to_string(gp_.imemDepth));
  auto poke = [&](const char *n, uint64_t v) {
    int i = in(n);
    if (i >= 0)
      s.poke(uint32_t(i), v);
  };
  poke("go", 0);
  poke("imem_we", 0);
  for (const char *m : {"dbg_spad_wr_en", "dbg_scale_wr_en", "dbg_meta_wr_en", "dbg_acc_wr_en"})
    poke(m, 0);
  poke("rst", 1);
  s.step(2);
  poke("rst", 0);
  // Clear the memories (the golden model starts from zeros).
  DebugPorts dp(s, gp_);
  {
    TileState cur = dp.readAll(cfg_);
    dp.updateBytes("spad", cur.spad, std::vector<uint8_t>(cfg_.spadBytes, 0));
    dp.updateBytes("scale", cur.scale, std::vector<uint8_t>(cfg_.scaleBytes, 0));
    dp.updateBytes("meta", cur.meta, std::vector<uint8_t>(cfg_.metaBytes, 0));
    dp.updateAcc(cur.acc, std::vector<uint32_t>(cfg_.accWords(), 0));
  }
  // Load the program.
  int pWe = in("imem_we"), pAddr = in("imem_addr"), pData = in("imem_wdata");
  for (size_t i = 0; i < program.size(); ++i) {
    accel::Word w = accel::encode(program[i]);
    uint64_t words[2] = {w.lo, w.hi};
    s.poke(uint32_t(pWe), 1);
    s.poke(uint32_t(pAddr), i);
    s.pokeWords(uint32_t(pData), words);
    s.step();
  }
  s.poke(uint32_t(pWe), 0);
  poke("prog_len", program.size());
  AxiMemory axi(s, dram, gp_.busBytes);
  poke("go", 1);
  axi.tick();
  s.step();
  poke("go", 0);

  TileRun r;
  int pDone = out("done"), pFault = out("fault"), pTs = out("trace_start"), pTd = out("trace_done");
  int pPc[3] = {out("trace_pc_load"), out("trace_pc_compute"), out("trace_pc_store")};
  const unsigned unitQueue[4] = {0, 1, 1, 2};
  std::deque<RtlTraceEntry> inflight[4];
  uint64_t cycle = 0;
  while (true) {
    uint64_t ts = s.peek64(uint32_t(pTs)), td = s.peek64(uint32_t(pTd));
    for (unsigned u = 0; u < 4; ++u) {
      if ((td >> u) & 1 && !inflight[u].empty()) {
        RtlTraceEntry e = inflight[u].front();
        inflight[u].pop_front();
        e.end = cycle + 1;
        r.trace.push_back(e);
      }
      if ((ts >> u) & 1) {
        RtlTraceEntry e;
        e.unit = u;
        e.index = uint32_t(s.peek64(uint32_t(pPc[unitQueue[u]])));
        e.start = cycle;
        inflight[u].push_back(e);
      }
    }
    if (s.peek64(uint32_t(pFault))) {
      r.fault = true;
      r.faultCode = unsigned(s.peek64(uint32_t(out("fault_code"))));
      r.faultPc = uint32_t(s.peek64(uint32_t(out("fault_pc"))));
      r.faultAddr = uint32_t(s.peek64(uint32_t(out("fault_addr"))));
      break;
    }
    if (s.peek64(uint32_t(pDone)) && axi.idle())
      break;
    if (cycle >= maxCycles)
      return Diagnostic::error("rtl-timeout", "the tile did not finish in " +
                                                  std::to_string(maxCycles) + " cycles (pc " +
                                                  std::to_string(s.peek64(uint32_t(out("pc")))) +
                                                  ")");
    axi.tick();
    s.step();
    ++cycle;
  }
  r.cycles = cycle;
  std::stable_sort(r.trace.begin(), r.trace.end(),
                   [](const RtlTraceEntry &a, const RtlTraceEntry &b) { return a.start < b.start; });
  // Read back the local state.
  r.state = dp.readAll(cfg_);
  r.state.amax = uint32_t(s.peek64(uint32_t(out("amax"))));
  r.state.flags = uint32_t(s.peek64(uint32_t(out("flags"))));
  r.state.lfsr = uint32_t(s.peek64(uint32_t(out("lfsr"))));
  return r;
}

//===----------------------------------------------------------------------===//
// cosimProgram
//===----------------------------------------------------------------------===//

namespace {

struct Diff {
  accel::GoldenOptions::Memory memory = accel::GoldenOptions::Memory::None;
  const char *name = "";
  uint64_t address = 0, expected = 0, got = 0;
  int digits = 2;
};

template <typename T>
std::optional<Diff> firstDiff(accel::GoldenOptions::Memory m, const char *name,
                              const std::vector<T> &want, const std::vector<T> &got, int digits) {
  for (size_t i = 0; i < want.size(); ++i) {
    T g = i < got.size() ? got[i] : T(0);
    if (want[i] != g)
      return Diff{m, name, i, want[i], g, digits};
  }
  return std::nullopt;
}

const char *const kFaultNames[] = {"none", "address-out-of-range", "pc-out-of-range",
                                   "token-deadlock"};

std::string describe(const accel::AsmProgram &p, uint32_t index) {
  std::string s = "instruction " + std::to_string(index) + " `" +
                  accel::disassemble(p.code[index]) + "`";
  if (index < p.locs.size() && p.locs[index].line)
    s += " (" + p.locs[index].file + ":" + std::to_string(p.locs[index].line) + ")";
  return s;
}

} // namespace

Expected<CosimResult> cosimProgram(TileSim &tile, const accel::TileConfig &cfg,
                                   const accel::AsmProgram &program,
                                   const std::vector<uint8_t> &dram) {
  std::vector<uint8_t> dramR = dram;
  TRY_ASSIGN(TileRun rtl, tile.run(program.code, dramR));
  return compareWithGolden(cfg, program, dram, rtl, dramR);
}

Expected<CosimResult> cosimExternal(const accel::TileConfig &cfg,
                                    const accel::rtl::GenParams &gp,
                                    const accel::AsmProgram &program,
                                    const std::vector<uint8_t> &dram, const ExternalOptions &opts) {
  std::vector<uint8_t> dramR = dram;
  TRY_ASSIGN(TileRun rtl, runTileExternal(cfg, gp, program.code, dramR, opts));
  return compareWithGolden(cfg, program, dram, rtl, dramR);
}

Expected<CosimResult> compareWithGolden(const accel::TileConfig &cfg,
                                        const accel::AsmProgram &program,
                                        const std::vector<uint8_t> &dram, const TileRun &rtl,
                                        const std::vector<uint8_t> &dramR) {
  CosimResult res;
  res.rtlCycles = rtl.cycles;
  res.rtlTrace = rtl.trace;
  res.rtlState = rtl.state;
  std::vector<uint8_t> dramG = dram;
  accel::GoldenOptions gopts;
  gopts.trace = true;
  auto golden = accel::runGolden(cfg, program, dramG, gopts);
  if (!golden.ok()) {
    const Diagnostic &e = golden.error();
    bool runtimeFault = e.id == "address-out-of-range" || e.id == "pc-out-of-range" ||
                        e.id == "token-deadlock";
    if (!runtimeFault)
      return std::move(golden).takeError();
    res.fault = e.id + ": " + e.message;
    if (!rtl.fault || kFaultNames[std::min(rtl.faultCode, 3u)] != e.id) {
      res.match = false;
      res.mismatch = "the golden model faults (" + e.id + ": " + e.message + ") but the RTL " +
                     (rtl.fault ? std::string("faults with ") +
                                      kFaultNames[std::min(rtl.faultCode, 3u)]
                                : std::string("does not"));
    }
    return res;
  }
  const accel::GoldenResult &g = *golden;
  res.goldenCycles = g.cycles;
  res.goldenTrace = g.trace;
  if (rtl.fault) {
    res.match = false;
    res.mismatch = std::string("the RTL faults with ") + kFaultNames[std::min(rtl.faultCode, 3u)] +
                   " at " + (rtl.faultPc < program.code.size() ? describe(program, rtl.faultPc)
                                                               : "pc " + std::to_string(rtl.faultPc)) +
                   ", address " + hex(rtl.faultAddr) + "; the golden model does not";
    return res;
  }
  using M = accel::GoldenOptions::Memory;
  std::optional<Diff> d = firstDiff(M::Dram, "DRAM", dramG, dramR, 2);
  if (!d)
    d = firstDiff(M::Spad, "SPAD", g.spad, rtl.state.spad, 2);
  if (!d)
    d = firstDiff(M::Scale, "SCALE", g.scale, rtl.state.scale, 2);
  if (!d)
    d = firstDiff(M::Meta, "META", g.meta, rtl.state.meta, 2);
  if (!d)
    d = firstDiff(M::Acc, "ACC", g.acc, rtl.state.acc, 8);
  if (d) {
    res.match = false;
    res.mismatch = std::string(d->name) + "[" + hex(d->address) + "]: expected " +
                   hex(d->expected, d->digits) + ", got " + hex(d->got, d->digits);
    // Which instruction wrote it last (a second golden run with a watch point).
    std::vector<uint8_t> dramW = dram;
    accel::GoldenOptions wopts;
    wopts.watchMemory = d->memory;
    wopts.watchAddress = d->address;
    auto w = accel::runGolden(cfg, program, dramW, wopts);
    if (w.ok() && w->watchWriter)
      res.mismatch += "; last written by " + describe(program, *w->watchWriter) + " (" +
                      std::to_string(w->watchWrites) + " dynamic writes)";
    else if (w.ok())
      res.mismatch += "; the program never writes this address";
    return res;
  }
  auto state = [&](const char *n, uint32_t want, std::optional<uint32_t> got) {
    if (res.match && got && *got != want) {
      res.match = false;
      res.mismatch = std::string(n) + ": expected " + hex(want, 8) + ", got " + hex(*got, 8);
    }
  };
  state("AMAX", g.amax, rtl.state.amax);
  state("FLAGS", g.flags, rtl.state.flags);
  state("LFSR", g.lfsr, rtl.state.lfsr);
  return res;
}

//===----------------------------------------------------------------------===//
// Random programs
//===----------------------------------------------------------------------===//

namespace {

/// Portable random numbers (std distributions differ between libraries).
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint64_t next() { return g(); }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <typename T> const T &pick(const std::vector<T> &v) { return v[below(v.size())]; }
};

uint64_t roundUp(uint64_t v, uint64_t m) { return (v + m - 1) / m * m; }

/// A random finite FP32 value of moderate range, with occasional specials.
uint32_t randomFp32(Rng &r, int emin = -6, int emax = 6) {
  unsigned k = unsigned(r.below(200));
  if (k == 0)
    return 0;
  if (k == 1)
    return 0x80000000u;
  if (k == 2)
    return 0x7F800000u; // +Inf
  if (k == 3)
    return 0x7FC00000u; // NaN
  if (k == 4)
    return 0x477FE000u; // 65504: large
  uint32_t sign = uint32_t(r.below(2)) << 31;
  int e = emin + int(r.below(uint64_t(emax - emin + 1)));
  uint32_t frac = uint32_t(r.next()) & 0x7FFFFF;
  return sign | uint32_t(e + 127) << 23 | frac;
}

const accel::ElemFormatInfo &info(ElemFormat f) { return accel::elemFormatInfo(f); }

/// A random finite normal FP32 value (no zeros or specials).
uint32_t randomFiniteFp32(Rng &r, int emin = -6, int emax = 6) {
  uint32_t sign = uint32_t(r.below(2)) << 31;
  int e = emin + int(r.below(uint64_t(emax - emin + 1)));
  return sign | uint32_t(e + 127) << 23 | (uint32_t(r.next()) & 0x7FFFFF);
}

/// One element code of format f; `finite`: a finite non-zero value (timing programs, where
/// an Inf or NaN would disable zero skipping).
uint32_t randomCode(Rng &r, ElemFormat f, bool finite = false) {
  const accel::ElemFormatInfo &fi = info(f);
  if (finite) {
    uint32_t c = numerics::convertFromFp32(randomFiniteFp32(r, -3, 3), fi.element,
                                           numerics::Rounding::Nearest,
                                           numerics::Overflow::Saturate, 0);
    return c ? c : 1;
  }
  if (fi.mx || r.chance(3)) {
    uint32_t mask = fi.bits >= 32 ? 0xFFFFFFFFu : (1u << fi.bits) - 1;
    return uint32_t(r.next()) & mask;
  }
  if (f == ElemFormat::Fp32)
    return randomFp32(r);
  return numerics::convertFromFp32(randomFp32(r), fi.element, numerics::Rounding::Nearest,
                                   numerics::Overflow::Saturate, 0);
}

struct Gen {
  const accel::TileConfig &cfg;
  Rng r;
  std::vector<uint8_t> &dram;
  std::ostringstream out;
  uint32_t inPtr = 0, outPtr = 0;
  uint32_t inEnd = 0;

  Gen(const accel::TileConfig &c, uint64_t seed, std::vector<uint8_t> &d) : cfg(c), r(seed), dram(d) {}

  /// DRAM bytes for rows x cols elements of f, rows `stride` bytes apart; returns the base.
  uint32_t dramData(ElemFormat f, uint64_t rows, uint64_t cols, uint64_t stride,
                    const std::vector<bool> *zeroRows = nullptr, bool finite = false) {
    uint32_t base = inPtr;
    const unsigned bits = info(f).bits;
    for (uint64_t i = 0; i < rows; ++i)
      for (uint64_t e = 0; e < cols; ++e) {
        uint32_t code = (zeroRows && (*zeroRows)[i]) ? 0 : randomCode(r, f, finite);
        accel::writePacked(dram, base + i * stride, e, bits, code);
      }
    inPtr = uint32_t(roundUp(base + rows * stride, 16));
    return base;
  }
  uint32_t dramBytes(uint64_t n, uint8_t lo, uint8_t span) {
    uint32_t base = inPtr;
    for (uint64_t i = 0; i < n; ++i)
      dram[base + i] = uint8_t(lo + r.below(span));
    inPtr = uint32_t(roundUp(base + n, 16));
    return base;
  }
  uint32_t outAlloc(uint64_t n) {
    uint32_t base = outPtr;
    outPtr = uint32_t(roundUp(outPtr + n, 16));
    return base;
  }
};

std::vector<ElemFormat> storeFormats(const accel::TileConfig &cfg) {
  std::vector<ElemFormat> v = {ElemFormat::Fp32, ElemFormat::Bf16, ElemFormat::Fp16};
  if (cfg.scaleCast)
    for (const accel::TensorFormatCfg &f : cfg.formats)
      if (std::find(v.begin(), v.end(), f.format) == v.end())
        v.push_back(f.format);
  return v;
}

bool convertible(ElemFormat f) {
  return f == ElemFormat::Fp32 || f == ElemFormat::Bf16 || f == ElemFormat::Fp16 ||
         f == ElemFormat::E4m3 || f == ElemFormat::E5m2;
}

} // namespace

std::string randomProgram(const accel::TileConfig &cfg, uint64_t seed,
                          const RandomProgramOptions &opts, std::vector<uint8_t> &dram) {
  dram.assign(opts.dramBytes, 0);
  Gen g(cfg, seed * 0x9E3779B97F4A7C15ull + 1, dram);
  Rng &r = g.r;
  std::ostringstream &o = g.out;
  g.inPtr = 0;
  g.inEnd = opts.dramBytes / 2;
  g.outPtr = opts.dramBytes / 2;
  std::vector<ElemFormat> tensor;
  for (const accel::TensorFormatCfg &f : cfg.formats)
    tensor.push_back(f.format);
  o << "# random program, seed " << seed << "\n";
  // AdamW hyperparameters and scalars used by vector ops / prescaled stores.
  const char *hp[] = {"0.001", "0.9", "0.1", "0.999", "0.001", "1e-8", "0.99999", "10", "1000"};
  for (int i = 0; i < 9; ++i)
    o << "        fli     f" << i << ", " << hp[i] << "\n";
  o << "        fli     f10, bits(" << hex(randomFp32(r, -3, 3)) << ")\n";
  o << "        fli     f11, bits(" << hex(randomFp32(r, -8, 2)) << ")\n";
  const uint32_t accHalf = cfg.accWords() / 2;

  for (unsigned round = 0; round < opts.rounds; ++round) {
    o << "# round " << round << "\n";
    // ---- GEMM parameters
    ElemFormat fa = opts.format != ElemFormat::Fp32 ? opts.format : r.pick(tensor);
    ElemFormat fb = r.pick(tensor);
    const accel::TensorFormatCfg *ca = cfg.find(fa);
    const bool aMx = info(fa).mx, bMx = info(fb).mx;
    const bool sparse = ca && ca->sparse && !cfg.patterns.empty() && r.chance(35);
    accel::NmPattern pat = sparse ? r.pick(cfg.patterns) : accel::NmPattern{};
    uint32_t patCode = 0;
    accel::nmPatternCode(pat, patCode);
    const bool ta = !sparse && !aMx && r.chance(25);
    const bool tb = !bMx && r.chance(25);
    const unsigned M = 1 + unsigned(r.below(cfg.rows)), N = 1 + unsigned(r.below(cfg.cols));
    unsigned K = sparse ? pat.m * (1 + unsigned(r.below(64 / pat.m))) : 1 + unsigned(r.below(80));
    const unsigned bitsA = info(fa).bits, bitsB = info(fb).bits;
    // A storage
    uint64_t lda, rowsA, colsA;
    if (sparse) {
      uint64_t kc = uint64_t(K) * pat.n / pat.m;
      uint64_t align = aMx ? std::max<uint64_t>(8, 32ull * pat.n / pat.m) : 8;
      lda = roundUp(std::max<uint64_t>(kc, 1), align);
      rowsA = M, colsA = lda;
    } else if (ta) {
      lda = roundUp(M, 8), rowsA = K, colsA = lda;
    } else {
      lda = roundUp(K, aMx ? 32 : 8), rowsA = M, colsA = lda;
    }
    uint64_t ldb, rowsB, colsB;
    if (tb)
      ldb = roundUp(N, 8), rowsB = K, colsB = ldb;
    else
      ldb = roundUp(K, bMx ? 32 : 8), rowsB = N, colsB = ldb;
    const uint64_t rowBytesA = colsA * bitsA / 8, rowBytesB = colsB * bitsB / 8;
    const uint32_t spadA = uint32_t(16 * r.below(8));
    const uint32_t spadB = uint32_t(roundUp(spadA + rowsA * rowBytesA, 16) + 16 * r.below(4));
    // Zero skipping: zero some rows' data so that whole steps read only zeros.
    unsigned zs = cfg.zeroSkip ? unsigned(r.below(4)) : 0;
    std::vector<bool> zeroA(rowsA, false), zeroB(rowsB, false);
    if (zs && r.chance(70)) {
      // Zero all of A (or B): every step is skippable for that operand.
      if ((zs == 1 || zs == 3) && r.chance(50))
        std::fill(zeroA.begin(), zeroA.end(), true);
      else if (zs == 2 || zs == 3)
        std::fill(zeroB.begin(), zeroB.end(), true);
    }
    // Loads of A and B (sometimes with a format conversion on the way).
    if (round)
      o << "        lsync   pop_next\n";
    auto load = [&](ElemFormat f, uint32_t spad, uint64_t rows, uint64_t cols, uint64_t rowBytes,
                    const std::vector<bool> &zero) {
      ElemFormat src = f;
      if (!info(f).mx && convertible(f) && r.chance(30))
        src = r.pick(std::vector<ElemFormat>{ElemFormat::Fp32, ElemFormat::Bf16, ElemFormat::Fp16,
                                             ElemFormat::E4m3, ElemFormat::E5m2});
      uint64_t srcRow = cols * info(src).bits / 8;
      uint64_t gstride = srcRow + 16 * r.below(2);
      uint32_t base = g.dramData(src, rows, cols, gstride, &zero);
      o << "        ld      spad=" << spad << ", dram=" << base << ", rows=" << rows
        << ", cols=" << cols << ", gstride=" << gstride << ", lstride=" << rowBytes
        << ", src=" << info(src).name << ", dst=" << info(f).name << "\n";
    };
    load(fa, spadA, rowsA, colsA, rowBytesA, zeroA);
    load(fb, spadB, rowsB, colsB, rowBytesB, zeroB);
    uint32_t sa = 0, sb = 0, meta = 0;
    if (aMx) {
      uint64_t per = (sparse ? lda * pat.m / pat.n : lda) / 32;
      sa = uint32_t(16 * r.below(4));
      uint32_t base = g.dramBytes(M * per, 118, 20);
      if (r.chance(3))
        dram[base] = 0xFF;
      o << "        ldscale scale=" << sa << ", dram=" << base << ", rows=" << M << ", cols=" << per
        << ", gstride=" << per << ", lstride=" << per << "\n";
    }
    if (bMx) {
      uint64_t per = ldb / 32;
      sb = uint32_t(256 + 16 * r.below(4));
      uint32_t base = g.dramBytes(N * per, 118, 20);
      o << "        ldscale scale=" << sb << ", dram=" << base << ", rows=" << N << ", cols=" << per
        << ", gstride=" << per << ", lstride=" << per << "\n";
    }
    if (sparse) {
      unsigned ib = pat.m <= 2 ? 1 : pat.m <= 4 ? 2 : 3;
      meta = uint32_t(16 * r.below(4));
      // Valid indices: each group of m keeps n distinct ascending positions.
      uint32_t base = g.inPtr;
      uint64_t groups = lda * pat.m / pat.n / pat.m; // groups per stored row
      for (uint64_t i = 0; i < M; ++i)
        for (uint64_t gi = 0; gi < groups; ++gi) {
          std::vector<unsigned> pos(pat.m);
          for (unsigned p = 0; p < pat.m; ++p)
            pos[p] = p;
          for (unsigned p = 0; p < pat.m; ++p)
            std::swap(pos[p], pos[p + r.below(pat.m - p)]);
          std::sort(pos.begin(), pos.begin() + pat.n);
          for (unsigned c = 0; c < pat.n; ++c)
            accel::writePacked(dram, base, i * lda + gi * pat.n + c, ib, pos[c]);
        }
      uint64_t bytes = (M * lda * ib + 7) / 8;
      g.inPtr = uint32_t(roundUp(base + bytes, 16));
      o << "        ldmeta  meta=" << meta << ", dram=" << base << ", rows=1, cols=" << bytes
        << ", gstride=" << bytes << ", lstride=" << bytes << "\n";
    }
    // C region and optional initial accumulator.
    const unsigned ldc = N + unsigned(r.below(3));
    const uint32_t cBase = uint32_t(r.below(accHalf - (M - 1) * ldc - N + 1));
    const bool accFlag = r.chance(50);
    if (accFlag) {
      ElemFormat src = r.chance(50) ? ElemFormat::Fp32 : ElemFormat::Bf16;
      uint64_t gstride = uint64_t(N) * info(src).bits / 8;
      uint32_t base = g.dramData(src, M, N, gstride);
      o << "        ldacc   acc=" << cBase << ", dram=" << base << ", rows=" << M << ", cols=" << N
        << ", gstride=" << gstride << ", lstride=" << ldc << ", src=" << info(src).name << "\n";
    }
    // A vector region in the upper half of ACC.
    const unsigned nv = 4 * (1 + unsigned(r.below(8)));
    const uint32_t vBase = accHalf;
    {
      uint32_t base = g.dramData(ElemFormat::Fp32, 1, 4 * nv, 16 * nv);
      o << "        ldacc   acc=" << vBase << ", dram=" << base << ", rows=1, cols=" << 4 * nv
        << ", gstride=" << 16 * nv << ", lstride=" << 4 * nv << ", src=fp32\n";
    }
    o << "        lsync   push_next\n";
    o << "        li      r1, " << spadA << "\n        li      r2, " << spadB
      << "\n        li      r3, " << cBase << "\n        li      r4, " << sa
      << "\n        li      r5, " << sb << "\n        li      r6, " << meta << "\n";
    // ---- compute
    o << "        csync   pop_prev\n";
    o << "        " << (sparse ? "gemmsp" : "gemm  ") << "  c=r3, a=r1, b=r2, m=" << M
      << ", n=" << N << ", k=" << K << ", lda=" << lda << ", ldb=" << ldb << ", ldc=" << ldc
      << ", fa=" << info(fa).name << ", fb=" << info(fb).name;
    if (aMx)
      o << ", sa=r4";
    if (bMx)
      o << ", sb=r5";
    if (sparse)
      o << ", meta=r6, nm=" << pat.n << ":" << pat.m;
    const char *zsNames[] = {"off", "a", "b", "either"};
    if (zs)
      o << ", zs=" << zsNames[zs];
    if (accFlag)
      o << ", acc";
    if (ta)
      o << ", ta";
    if (tb)
      o << ", tb";
    o << "\n";
    // Sometimes accumulate the same product into C again right away (back-to-back GEMMs on
    // one C region: the second must wait for the first to complete), or compute a second
    // tile into a disjoint C region (which may overlap the first in the array).
    if (r.chance(30)) {
      std::string g = o.str();
      size_t at = g.rfind("        gemm");
      std::string line = g.substr(at);
      if (line.find(", acc") == std::string::npos)
        line.insert(line.size() - 1, ", acc");
      o << line;
    } else if (r.chance(30) && cBase + 2 * ((M - 1) * ldc + N) <= accHalf) {
      std::string g = o.str();
      size_t at = g.rfind("        gemm");
      std::string line = g.substr(at);
      o << "        li      r3, " << cBase + (M - 1) * ldc + N << "\n" << line;
    }
    // Vector ops on the vector region (and sometimes on C).
    unsigned nOps = unsigned(r.below(4));
    for (unsigned v = 0; v < nOps; ++v) {
      unsigned n = nv;
      uint32_t a = vBase, b = vBase + nv, d = vBase + 2 * nv;
      switch (r.below(14)) {
      case 0: o << "        vadd    d=" << d << ", a=" << a << ", b=" << b << ", n=" << n << "\n"; break;
      case 1: o << "        vsub    d=" << d << ", a=" << a << ", b=" << b << ", n=" << n << "\n"; break;
      case 2: o << "        vmul    d=" << a << ", a=" << a << ", b=" << b << ", n=" << n << "\n"; break;
      case 3: o << "        vmax    d=" << d << ", a=" << a << ", b=" << b << ", n=" << n << ", seg=4, bcast\n"; break;
      case 4: o << "        vadds   d=" << d << ", a=" << a << ", f=f10, n=" << n << "\n"; break;
      case 5: o << "        vmuls   d=" << b << ", a=" << b << ", f=f11, n=" << n << "\n"; break;
      case 6: o << "        vexp    d=" << d << ", a=" << a << ", n=" << n << "\n"; break;
      case 7: o << "        vrsqrt  d=" << d << ", a=" << b << ", n=" << n << "\n"; break;
      case 8: o << "        vgelu   d=" << d << ", a=" << a << ", n=" << n << "\n"; break;
      case 9: o << "        vfill   d=" << d << ", f=f10, n=" << n << "\n"; break;
      case 10: o << "        vsum    d=" << d << ", a=" << a << ", n=" << n << ", seg=" << (r.chance(50) ? n : 4) << "\n"; break;
      case 11: o << "        vamax   d=" << d << ", a=" << a << ", n=" << n << ", seg=" << (r.chance(50) ? n : 4) << "\n"; break;
      case 12: o << "        vadamw  p=" << a << ", g=" << b << ", mv=" << d << ", n=" << n << ", hp=f0\n"; break;
      default: o << "        vgelu   d=r3, a=r3, n=" << N << "\n"; break;
      }
    }
    o << "        csync   push_next\n";
    // ---- stores
    o << "        ssync   pop_prev\n";
    if (r.chance(30))
      o << "        seed    state=" << hex(r.below(65536)) << "\n";
    if (r.chance(20))
      o << "        clrstat\n";
    auto store = [&](uint32_t accAddr, unsigned rows, unsigned cols, unsigned lstride) {
      ElemFormat f = r.pick(storeFormats(cfg));
      const accel::ElemFormatInfo &fi = info(f);
      bool mx = fi.mx;
      uint64_t rowBytes = (uint64_t(cols) * fi.bits + 7) / 8;
      if (uint64_t(cols) * fi.bits % 8) { // packed formats store whole bytes per row
        cols = unsigned(roundUp(cols, 8)), rowBytes = uint64_t(cols) * fi.bits / 8;
        lstride = std::max(lstride, cols);
      }
      uint64_t gstride = mx ? roundUp(rowBytes, 4 * fi.bits) : rowBytes + 4 * r.below(2);
      uint32_t base = g.outAlloc(gstride * rows);
      o << "        st      acc=" << accAddr << ", dram=" << base << ", rows=" << rows
        << ", cols=" << cols << ", gstride=" << gstride << ", lstride=" << lstride
        << ", fmt=" << fi.name;
      std::optional<uint32_t> scaleAddr;
      if (mx) {
        uint64_t blocksPerRow = gstride * 8 / (32 * fi.bits);
        // The scale address goes into r7 through an `li` placed before the store (the
        // comment is turned into it below).
        o << ", scales=r7";
        if (r.chance(50))
          o << ", scale_up";
        scaleAddr = g.outAlloc(blocksPerRow * rows);
      } else if (r.chance(30)) {
        o << ", sat";
      }
      if (f != ElemFormat::Fp32 && cfg.scaleCast && cfg.stochastic && r.chance(40))
        o << ", sr";
      if (cfg.scaleCast && r.chance(30))
        o << ", prescale=f11";
      if (scaleAddr)
        o << "  # scales at " << *scaleAddr;
      o << "\n";
    };
    store(cBase, M, N, ldc);
    if (r.chance(50))
      store(vBase, 1 + unsigned(r.below(3)), nv, nv);
    if (r.chance(60))
      o << "        ststat  dram=" << g.outAlloc(8) << "\n";
    o << "        ssync   push_prev\n";
    o << "        csync   pop_next\n";
    o << "        csync   push_prev\n";
  }
  o << "        halt\n";
  // Patch MX stores: each "# scales at X" comment becomes an `li r7, X` before the store.
  std::istringstream in(o.str());
  std::ostringstream fixed;
  std::string line;
  while (std::getline(in, line)) {
    size_t at = line.find("  # scales at ");
    if (at != std::string::npos) {
      std::string addr = line.substr(at + 14);
      fixed << "        li      r7, " << addr << "\n" << line.substr(0, at) << "\n";
    } else {
      fixed << line << "\n";
    }
  }
  return fixed.str();
}

Expected<std::string> gemmTimingProgram(const accel::TileConfig &cfg, ElemFormat fmt, bool sparse,
                                        unsigned M, unsigned N, unsigned K, uint64_t seed,
                                        std::vector<uint8_t> &dram, unsigned zeroPeriod,
                                        bool randomZeros) {
  if (zeroPeriod > 1 && (sparse || !cfg.zeroSkip))
    return Diagnostic::error("unsupported-parameter",
                             "zero-skip timing needs a dense A on a tile with zero skipping");
  const accel::ElemFormatInfo &fi = info(fmt);
  accel::NmPattern pat;
  if (sparse) {
    if (cfg.patterns.empty())
      return Diagnostic::error("unsupported-parameter", "the tile has no N:M sparsity");
    pat = cfg.patterns.front();
  }
  uint32_t patCode = 0;
  accel::nmPatternCode(pat, patCode);
  const uint64_t kc = sparse ? uint64_t(K) * pat.n / pat.m : K;
  const uint64_t lda = roundUp(kc, fi.mx ? 32 : 8), ldb = roundUp(K, fi.mx ? 32 : 8);
  const uint64_t aBytes = M * lda * fi.bits / 8, bBytes = N * ldb * fi.bits / 8;
  const unsigned tilesM = (M + cfg.rows - 1) / cfg.rows, tilesN = (N + cfg.cols - 1) / cfg.cols;
  const uint64_t accNeed = uint64_t(tilesM) * tilesN * cfg.rows * cfg.cols;
  if (aBytes + bBytes + 64 > cfg.spadBytes || accNeed > cfg.accWords())
    return Diagnostic::error("unsupported-parameter",
                             "a " + std::to_string(M) + "x" + std::to_string(N) + "x" +
                                 std::to_string(K) + " GEMM does not fit the tile's memories");
  dram.assign(std::max<uint64_t>(65536, 2 * (aBytes + bBytes) + 4096), 0);
  Gen g(cfg, seed, dram);
  std::ostringstream &o = g.out;
  uint32_t da = g.dramData(fmt, M, lda, lda * fi.bits / 8, nullptr, true);
  if (zeroPeriod > 1) {
    const accel::TensorFormatCfg *tf = cfg.find(fmt);
    const uint64_t stepK = uint64_t(cfg.dotWidth) * (tf ? tf->rate : 1);
    // Zero steps: aligned (every step but one per period) or random.
    std::vector<bool> zeroStep((K + stepK - 1) / stepK);
    for (size_t st = 0; st < zeroStep.size(); ++st)
      zeroStep[st] = randomZeros ? g.r.below(zeroPeriod) != 0 : st % zeroPeriod != 0;
    for (uint64_t i = 0; i < M; ++i)
      for (uint64_t kk = 0; kk < K; ++kk)
        if (zeroStep[kk / stepK])
          accel::writePacked(dram, da + i * (lda * fi.bits / 8), kk, fi.bits, 0);
  }
  uint32_t db = g.dramData(fmt, N, ldb, ldb * fi.bits / 8, nullptr, true);
  const uint32_t spadB = uint32_t(roundUp(aBytes, 16));
  o << "        ld      spad=0, dram=" << da << ", rows=" << M << ", cols=" << lda
    << ", gstride=" << lda * fi.bits / 8 << ", lstride=" << lda * fi.bits / 8 << ", src="
    << fi.name << ", dst=" << fi.name << "\n";
  o << "        ld      spad=" << spadB << ", dram=" << db << ", rows=" << N << ", cols=" << ldb
    << ", gstride=" << ldb * fi.bits / 8 << ", lstride=" << ldb * fi.bits / 8 << ", src="
    << fi.name << ", dst=" << fi.name << "\n";
  if (fi.mx) {
    uint32_t sa = g.dramBytes(M * (sparse ? lda * pat.m / pat.n : lda) / 32, 120, 14);
    uint32_t sb = g.dramBytes(N * ldb / 32, 120, 14);
    uint64_t pa = (sparse ? lda * pat.m / pat.n : lda) / 32, pb = ldb / 32;
    o << "        ldscale scale=0, dram=" << sa << ", rows=" << M << ", cols=" << pa
      << ", gstride=" << pa << ", lstride=" << pa << "\n";
    o << "        ldscale scale=" << roundUp(M * pa, 16) << ", dram=" << sb << ", rows=" << N
      << ", cols=" << pb << ", gstride=" << pb << ", lstride=" << pb << "\n";
  }
  unsigned ib = pat.m <= 2 ? 1 : pat.m <= 4 ? 2 : 3;
  if (sparse) {
    uint32_t base = g.inPtr;
    for (uint64_t i = 0; i < M; ++i)
      for (uint64_t c = 0; c < lda; ++c)
        accel::writePacked(dram, base, i * lda + c, ib, unsigned((c % pat.n) * (pat.m / pat.n)));
    uint64_t bytes = (M * lda * ib + 7) / 8;
    g.inPtr = uint32_t(roundUp(base + bytes, 16));
    o << "        ldmeta  meta=0, dram=" << base << ", rows=1, cols=" << bytes
      << ", gstride=" << bytes << ", lstride=" << bytes << "\n";
  }
  o << "        lsync   push_next\n        csync   pop_prev\n";
  const uint64_t pa = fi.mx ? (sparse ? lda * pat.m / pat.n : lda) / 32 : 0;
  unsigned t = 0;
  for (unsigned ti = 0; ti < tilesM; ++ti)
    for (unsigned tj = 0; tj < tilesN; ++tj, ++t) {
      unsigned m = std::min(cfg.rows, M - ti * cfg.rows), n = std::min(cfg.cols, N - tj * cfg.cols);
      uint64_t aOff = uint64_t(ti) * cfg.rows * lda * fi.bits / 8;
      uint64_t bOff = spadB + uint64_t(tj) * cfg.cols * ldb * fi.bits / 8;
      o << "        li      r1, " << aOff << "\n        li      r2, " << bOff
        << "\n        li      r3, " << uint64_t(t) * cfg.rows * cfg.cols << "\n";
      if (fi.mx)
        o << "        li      r4, " << uint64_t(ti) * cfg.rows * pa << "\n        li      r5, "
          << roundUp(M * pa, 16) + uint64_t(tj) * cfg.cols * (ldb / 32) << "\n";
      if (sparse)
        o << "        li      r6, " << uint64_t(ti) * cfg.rows * lda * ib / 8 << "\n";
      o << "        " << (sparse ? "gemmsp" : "gemm  ") << "  c=r3, a=r1, b=r2, m=" << m
        << ", n=" << n << ", k=" << K << ", lda=" << lda << ", ldb=" << ldb << ", ldc=" << n
        << ", fa=" << fi.name << ", fb=" << fi.name;
      if (fi.mx)
        o << ", sa=r4, sb=r5";
      if (sparse)
        o << ", meta=r6, nm=" << pat.n << ":" << pat.m;
      if (zeroPeriod > 1)
        o << ", zs=a";
      o << "\n";
    }
  o << "        halt\n";
  return o.str();
}

} // namespace tessera::runtime
