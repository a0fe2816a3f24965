//===- TensorUnitTest.cpp - the tensor unit RTL against the golden model --------===//
//
// The unit (lib/accel/TensorUnit.cpp) runs in its harness (accel::rtl::buildUnitHarness,
// runtime::UnitHarness). runtime::checkUnitProgram runs the golden model on the same
// instruction from the same state and compares SPAD / SCALE / META / ACC bit for bit.
// Random gemm / gemmsp instructions (random shapes, strides, addresses, formats incl. MXFP8
// with block scales, 2:4 sparsity, ta / tb, acc, every zero-skip mode) on operand images
// with zeros, specials and all-zero regions; directed cases (all steps skipped, NaN
// scales, Inf next to zeros) with exact cycle counts; the timing contract (latency = steps
// + rows + cols without skipping; with skipping between the contract and the unskipped
// count); overlapped GEMMs (issue = max(steps, rows)); range faults with the golden
// model's address; another tile (rate 2, FP6 / FP4 / int8 MX, 1:4 sparsity), an 8 x 8
// build, and the `unsupported-parameter` diagnostics; Verilator lint.
//
//===----------------------------------------------------------------------===//
#include "accel/Assembler.h"
#include "accel/Golden.h"
#include "accel/TileRtl.h"
#include "arch/ArchSpec.h"
#include "hw/Verify.h"
#include "numerics/Numerics.h"
#include "runtime/RtlHarness.h"
#include "verilog/Verilog.h"

#include "../verilog/ToolRunner.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace tessera::accel {
namespace {

using rtl::GenParams;
using rtl::UnitKind;

const std::string kSmallTest = std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml";

TileConfig smallTest() {
  auto spec = arch::loadArchSpec(kSmallTest);
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().render());
  return TileConfig::fromArchSpec(spec.value());
}

// DRAM image: SPAD [0, spad), SCALE, META, ACC (FP32) after it; loaded by kSetup.
struct Layout {
  uint32_t spad, scale, meta, accWords;
  uint32_t scaleAt() const { return spad; }
  uint32_t metaAt() const { return spad + scale; }
  uint32_t accAt() const { return spad + scale + meta; }
  uint32_t total() const { return accAt() + 4 * accWords; }
  // The upper half of SPAD is mostly zero (zero-skipping tests).
  uint32_t zeroLo() const { return spad / 2; }
};

Layout layoutOf(const TileConfig &cfg) {
  return {cfg.spadBytes, cfg.scaleBytes, cfg.metaBytes, cfg.accWords()};
}

std::string setupText(const Layout &l) {
  std::ostringstream s;
  // Raw byte copies (e4m3 -> e4m3 is a copy), 1 KiB rows.
  s << "ld spad=0, dram=0, rows=" << l.spad / 1024
    << ", cols=1024, gstride=1024, lstride=1024, src=e4m3, dst=e4m3\n";
  s << "ldscale scale=0, dram=" << l.scaleAt() << ", rows=" << l.scale / 1024
    << ", cols=1024, gstride=1024, lstride=1024\n";
  s << "ldmeta meta=0, dram=" << l.metaAt() << ", rows=" << l.meta / 1024
    << ", cols=1024, gstride=1024, lstride=1024\n";
  s << "ldacc acc=0, dram=" << l.accAt() << ", rows=1, cols=" << l.accWords
    << ", gstride=0, lstride=0, src=fp32\n";
  return s.str();
}

/// Operand bytes: mostly moderate magnitudes in every format, zeros, and a few codes that
/// are Inf / NaN in some format.
uint8_t operandByte(std::mt19937_64 &rng) {
  unsigned r = rng() % 100;
  uint8_t sign = (rng() & 1) ? 0x80 : 0;
  if (r < 60)
    return sign | uint8_t(0x30 + rng() % 0x20);
  if (r < 72)
    return 0;
  if (r < 98) {
    uint8_t v = uint8_t(rng());
    if ((v & 0x7C) == 0x7C)
      v &= 0xBF;
    return v;
  }
  return uint8_t(rng());
}

std::vector<uint8_t> makeDram(const Layout &l, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> d(l.total());
  for (uint32_t a = 0; a < l.spad; ++a)
    d[a] = operandByte(rng);
  // Zero-heavy region (upper half): 4-byte chunks, 75% all zero.
  for (uint32_t a = l.zeroLo(); a + 4 <= l.spad; a += 4)
    if (rng() % 4 != 0)
      std::memset(&d[a], 0, 4);
  for (uint32_t a = 0; a < l.scale; ++a) {
    unsigned r = rng() % 100;
    d[l.scaleAt() + a] = r < 2 ? 0xFF : r < 4 ? 0 : uint8_t(120 + rng() % 15);
  }
  for (uint32_t a = 0; a < l.meta; ++a)
    d[l.metaAt() + a] = uint8_t(rng());
  for (uint32_t w = 0; w < l.accWords; ++w) {
    unsigned r = rng() % 100;
    uint32_t v;
    if (r < 5)
      v = (rng() & 1) ? 0x80000000u : 0;
    else if (r < 7)
      v = (rng() & 1) ? 0x7F800000u : 0x7FC00000u;
    else {
      float f = float(int(rng() % 20001) - 10000) / 64.0f;
      std::memcpy(&v, &f, 4);
    }
    std::memcpy(&d[l.accAt() + 4 * w], &v, 4);
  }
  return d;
}

/// One random GEMM instruction, as setup (register values) and test text.
struct GemmCase {
  std::string regs, text;
  bool zs = false;
  uint64_t steps = 0; ///< unskipped steps
};

unsigned rnd(std::mt19937_64 &rng, unsigned lo, unsigned hi) { // [lo, hi]
  return lo + unsigned(rng() % (hi - lo + 1));
}

uint64_t packedBytes(uint64_t rows, uint64_t stride, uint64_t len, unsigned bits) {
  return ((rows - 1) * stride * bits + len * bits + 7) / 8 + 1;
}

/// `aligned`: every operand line the unit reads starts at a multiple of the line size
/// (strides and bases in whole lines), else any byte / bit address.
GemmCase randomGemm(std::mt19937_64 &rng, const TileConfig &cfg, const Layout &l,
                    bool aligned = false, unsigned maxK = 96) {
  const unsigned lineBytes = GenParams::forConfig(cfg).spadLine;
  const unsigned metaLine = GenParams::forConfig(cfg).metaLine;
  GemmCase gc;
  const TensorFormatCfg &ta = cfg.formats[rng() % cfg.formats.size()];
  const TensorFormatCfg &tb = cfg.formats[rng() % cfg.formats.size()];
  const ElemFormatInfo &fa = elemFormatInfo(ta.format), &fb = elemFormatInfo(tb.format);
  bool sparse = !cfg.patterns.empty() && ta.sparse && rng() % 3 == 0;
  NmPattern pat = sparse ? cfg.patterns[rng() % cfg.patterns.size()] : NmPattern{1, 1};
  unsigned M = rnd(rng, 1, cfg.rows), N = rnd(rng, 1, cfg.cols);
  unsigned K = rnd(rng, 1, maxK);
  if (sparse)
    K = std::max(pat.m, K / pat.m * pat.m);
  unsigned Kc = K * pat.n / pat.m;
  bool transA = !sparse && !fa.mx && rng() % 3 == 0;
  bool transB = !fb.mx && rng() % 3 == 0;
  unsigned lda, ldb;
  if (fa.mx) {
    unsigned unit = sparse ? 32 * pat.n / pat.m : 32;
    lda = (Kc + unit - 1) / unit * unit + unit * rnd(rng, 0, 1);
  } else {
    lda = (transA ? M : Kc) + rnd(rng, 0, 6);
  }
  if (fb.mx)
    ldb = (K + 31) / 32 * 32 + 32 * rnd(rng, 0, 1);
  else
    ldb = (transB ? N : K) + rnd(rng, 0, 6);
  if (aligned) { // strides in whole lines
    auto up = [](unsigned v, unsigned u) { return (v + u - 1) / u * u; };
    lda = up(lda, 8 * lineBytes / std::gcd(8 * lineBytes, fa.bits));
    ldb = up(ldb, 8 * lineBytes / std::gcd(8 * lineBytes, fb.bits));
    if (sparse)
      lda = up(lda, 8 * metaLine / nmIndexBits(pat.m));
  }
  unsigned ldc = N + rnd(rng, 0, 3);
  if (M == 1 && rng() % 4 == 0)
    ldc = rnd(rng, 0, N);
  bool zeroRegion = cfg.zeroSkip && rng() % 2 == 0;
  auto spadBase = [&](uint64_t bytes) -> uint32_t {
    uint64_t lo = zeroRegion ? l.zeroLo() : 0;
    uint64_t hi = l.spad - bytes;
    return uint32_t(lo + rng() % (hi - lo + 1));
  };
  uint64_t aBytes = transA ? packedBytes(Kc, lda, M, fa.bits) : packedBytes(M, lda, Kc, fa.bits);
  uint64_t bBytes = transB ? packedBytes(K, ldb, N, fb.bits) : packedBytes(N, ldb, K, fb.bits);
  uint32_t ra = spadBase(aBytes), rb = spadBase(bBytes);
  if (zeroRegion && rng() % 2)
    rb = uint32_t(rng() % (l.spad - bBytes)); // zeros on A only: dense B
  if (aligned) {
    ra &= ~(lineBytes - 1);
    rb &= ~(lineBytes - 1);
  }
  uint32_t cExt = (M - 1) * ldc + N;
  uint32_t rc = uint32_t(rng() % (l.accWords - cExt + 1));
  unsigned blocks = (K + 31) / 32;
  unsigned saStride = sparse ? lda * pat.m / (32 * pat.n) : lda / 32, sbStride = ldb / 32;
  uint32_t rsa = fa.mx ? uint32_t(rng() % (l.scale - ((M - 1) * saStride + blocks) + 1)) : 0;
  uint32_t rsb = fb.mx ? uint32_t(rng() % (l.scale - ((N - 1) * sbStride + blocks) + 1)) : 0;
  unsigned ib = sparse ? nmIndexBits(pat.m) : 0;
  uint32_t rm = sparse ? uint32_t(rng() % (l.meta - packedBytes(M, lda, Kc, ib) + 1)) : 0;
  if (aligned)
    rm &= ~(metaLine - 1);
  std::ostringstream r, t;
  r << "li r1, " << rc << "\nli r2, " << ra << "\nli r3, " << rb << "\nli r4, " << rsa
    << "\nli r5, " << rsb << "\nli r6, " << rm << "\n";
  t << (sparse ? "gemmsp" : "gemm") << " c=r1, a=r2, b=r3, m=" << M << ", n=" << N
    << ", k=" << K << ", lda=" << lda << ", ldb=" << ldb << ", ldc=" << ldc
    << ", fa=" << fa.name << ", fb=" << fb.name;
  if (fa.mx)
    t << ", sa=r4";
  if (fb.mx)
    t << ", sb=r5";
  if (sparse)
    t << ", meta=r6, nm=" << pat.str();
  static const char *kZs[] = {"off", "a", "b", "either"};
  unsigned zs = cfg.zeroSkip ? unsigned(rng() % 4) : 0;
  if (zs)
    t << ", zs=" << kZs[zs];
  if (rng() % 2)
    t << ", acc";
  if (transA)
    t << ", ta";
  if (transB)
    t << ", tb";
  gc.regs = r.str();
  gc.text = t.str();
  gc.zs = zs != 0;
  Instruction probe;
  probe.op = sparse ? Opcode::GemmSp : Opcode::Gemm;
  probe.fmtA = uint32_t(ta.format);
  probe.fmtB = uint32_t(tb.format);
  probe.k = K;
  if (sparse)
    nmPatternCode(pat, probe.pattern);
  gc.steps = gemmSteps(probe, cfg);
  return gc;
}

struct Runner {
  TileConfig cfg;
  GenParams gp;
  Layout l;
  std::vector<uint8_t> dram;
  std::string setup;
  std::unique_ptr<runtime::UnitHarness> h;

  explicit Runner(const TileConfig &c, uint64_t seed = 1)
      : cfg(c), gp(GenParams::forConfig(c)), l(layoutOf(c)), dram(makeDram(l, seed)),
        setup(setupText(l)) {
    auto hh = runtime::UnitHarness::create(cfg, gp, UnitKind::Tensor);
    EXPECT_TRUE(hh.ok()) << (hh.ok() ? "" : hh.error().render());
    if (hh.ok())
      h = std::move(hh).value();
  }

  /// Checks one case; returns false (with a test failure) on a mismatch.
  bool check(const GemmCase &gc, uint64_t *skippedLatency = nullptr) {
    auto r = runtime::checkUnitProgram(*h, cfg, setup + gc.regs, gc.text, dram);
    if (!r.ok()) {
      ADD_FAILURE() << gc.text << ": " << r.error().render();
      return false;
    }
    if (!r->match) {
      ADD_FAILURE() << gc.regs << gc.text << ": " << r->mismatch;
      return false;
    }
    if (r->cycles.size() != 1 || r->goldenCycles.size() != 1) {
      ADD_FAILURE() << gc.text << ": expected one timed instruction";
      return false;
    }
    uint64_t rtl = r->cycles[0], gold = r->goldenCycles[0];
    uint64_t unskipped = gc.steps + cfg.rows + cfg.cols;
    if (!gc.zs) {
      EXPECT_EQ(rtl, gold) << gc.text;
      EXPECT_EQ(rtl, unskipped) << gc.text;
    } else {
      // Skipped steps save cycles (a run of r skipped steps costs floor(r / 2)); all
      // skipped costs one fetch cycle.
      EXPECT_GE(rtl, gold) << gc.text;
      EXPECT_LE(rtl, unskipped) << gc.text;
      if (skippedLatency)
        *skippedLatency += rtl;
    }
    return rtl == gold || gc.zs;
  }
};

TEST(TensorUnit, BuildsAndVerifies) {
  TileConfig cfg = smallTest();
  {
    // The unit alone (this direct reference also links TensorUnit.cpp into the tests while
    // TileRtl.cpp refers to the unit builders weakly).
    hw::Design alone;
    auto m = rtl::buildTensorUnit(alone, cfg, GenParams::forConfig(cfg));
    ASSERT_TRUE(m.ok()) << m.error().render();
    EXPECT_EQ((*m)->name(), "tessera_tu");
  }
  auto d = rtl::buildUnitHarness(cfg, GenParams::forConfig(cfg), UnitKind::Tensor);
  ASSERT_TRUE(d.ok()) << d.error().render();
  DiagnosticEngine diags;
  EXPECT_TRUE(hw::verifyDesign(*d, diags));
  for (const Diagnostic &x : diags.diagnostics())
    ADD_FAILURE() << x.render();
  const hw::Module *tu = d->find("tessera_tu");
  ASSERT_NE(tu, nullptr);
  std::printf("tessera_tu (small-test): %zu ops, %zu ports\n", tu->ops.size(), tu->ports.size());
}

/// `count` random instructions. Debugging knobs (environment): TU_COUNT=n overrides the
/// count, TU_VERBOSE prints each instruction, TU_CASE="li r1, 5|li r2, 7;gemm ..." runs one
/// case instead ('|' separates setup lines), TU_VCD=file writes its waveform.
void randomRun(const TileConfig &cfg, bool aligned, unsigned defaultCount, uint64_t seed) {
  Runner run(cfg, 11);
  ASSERT_TRUE(run.h);
  std::mt19937_64 rng(seed);
  unsigned n = 0, fails = 0, zsCases = 0;
  uint64_t zsRtl = 0;
  if (const char *one = getenv("TU_CASE")) { // debugging: "regs;text"
    std::string c = one;
    size_t semi = c.find(';');
    GemmCase gc;
    gc.regs = c.substr(0, semi);
    gc.text = c.substr(semi + 1);
    gc.zs = true;
    gc.steps = 1000;
    for (char &ch : gc.regs)
      if (ch == '|')
        ch = '\n';
    if (const char *vcd = getenv("TU_VCD"))
      (void)run.h->sim().openVcd(vcd, {});
    run.check(gc);
    run.h->sim().closeVcd();
    return;
  }
  unsigned count = getenv("TU_COUNT") ? unsigned(atoi(getenv("TU_COUNT"))) : defaultCount;
  for (unsigned t = 0; t < count && fails < 5; ++t) {
    GemmCase gc = randomGemm(rng, run.cfg, run.l, aligned);
    if (getenv("TU_VERBOSE"))
      std::printf("%s\n", gc.text.c_str());
    ++n;
    zsCases += gc.zs;
    if (!run.check(gc, &zsRtl))
      ++fails;
  }
  std::printf("%u random gemm/gemmsp checked, %u with zero skipping\n", n, zsCases);
}

TEST(TensorUnit, RandomGemmsMatchGolden) { randomRun(smallTest(), false, 60, 2026); }
TEST(TensorUnit, RandomAlignedGemmsMatchGolden) { randomRun(smallTest(), true, 10, 7); }

/// A second tile: 2 x 3 PEs, dot width 2, rate-2 e5m2 / mxint8 (4 pairs per PE), rate-1
/// MXFP4 and MXFP6 (packed 4- and 6-bit elements), 2:4 and 1:4 sparsity, zero skipping.
TileConfig altTile() {
  TileConfig c;
  c.rows = 2;
  c.cols = 3;
  c.dotWidth = 2;
  c.lanes = 4;
  c.spadBytes = 16384;
  c.scaleBytes = c.spadBytes / 16;
  c.metaBytes = c.spadBytes / 4;
  c.accBytes = 1024;
  c.formats = {{ElemFormat::E5m2, 2, true},
               {ElemFormat::MxInt8, 2, true},
               {ElemFormat::MxE2m1, 1, true},
               {ElemFormat::MxE3m2, 1, false}};
  c.patterns = {NmPattern{2, 4}, NmPattern{1, 4}};
  c.zeroSkip = true;
  return c;
}

TEST(TensorUnit, OtherTileRate2Fp4Fp6Int8Sparse14) { randomRun(altTile(), false, 40, 99); }

/// Builds (and verifies) for more tiles, or says what it cannot build.
TEST(TensorUnit, BuildsOtherConfigsOrSaysWhy) {
  struct Case {
    TileConfig cfg;
    const char *error; // nullptr: must build
  };
  std::vector<Case> cases;
  {
    TileConfig c = altTile();
    c.rows = c.cols = 8;
    c.dotWidth = 4;
    c.formats.push_back({ElemFormat::MxE2m3, 1, false});
    c.formats.push_back({ElemFormat::Bf16, 1, true});
    c.patterns.push_back(NmPattern{2, 8});
    c.patterns.push_back(NmPattern{4, 8});
    cases.push_back({c, nullptr});
  }
  {
    TileConfig c = smallTest(); // MX with 64 dense K per step would straddle scale blocks
    c.dotWidth = 32;
    cases.push_back({c, "unsupported-parameter"});
  }
  {
    TileConfig c = smallTest(); // a 2:4 group would straddle steps
    c.dotWidth = 3;
    c.formats = {{ElemFormat::E4m3, 1, true}};
    cases.push_back({c, "unsupported-parameter"});
  }
  {
    TileConfig c = smallTest();
    GenParams gp = GenParams::forConfig(c);
    gp.spadLine = 4; // too narrow for a step
    hw::Design d;
    auto m = rtl::buildTensorUnit(d, c, gp);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().id, "unsupported-parameter");
    EXPECT_NE(m.error().message.find("spadLine"), std::string::npos) << m.error().message;
    EXPECT_EQ(d.find("tessera_tu"), nullptr);
  }
  for (const Case &c : cases) {
    hw::Design d;
    auto m = rtl::buildTensorUnit(d, c.cfg, GenParams::forConfig(c.cfg));
    if (c.error) {
      ASSERT_FALSE(m.ok());
      EXPECT_EQ(m.error().id, c.error) << m.error().render();
      continue;
    }
    ASSERT_TRUE(m.ok()) << m.error().render();
    DiagnosticEngine diags;
    d.topName = "tessera_tu";
    EXPECT_TRUE(hw::verifyDesign(d, diags));
    for (const Diagnostic &x : diags.diagnostics())
      ADD_FAILURE() << x.render();
    std::printf("tessera_tu %ux%u W=%u, %zu formats: %zu ops\n", c.cfg.rows, c.cfg.cols,
                c.cfg.dotWidth, c.cfg.formats.size(), (*m)->ops.size());
  }
}

/// Directed zero-skipping cases on hand-made operands (exact cycle counts where the fetch
/// window's behaviour is known).
TEST(TensorUnit, ZeroSkipDirected) {
  Runner run(smallTest(), 5);
  ASSERT_TRUE(run.h);
  std::vector<uint8_t> &d = run.dram;
  // SPAD: A0 [0, 256) all zero (4 rows x 64 e4m3); A1 [256, 512): steps alternate nonzero /
  // zero; B [1024, 1280) = 1.0 (e4m3 0x38); B5 [2048, 2304) e5m2 1.0 (0x3C) with an Inf
  // (0x7C) at row 2, k = 9; A2 [512, 768): zero except row 3, k = 40..43.
  std::fill(d.begin(), d.begin() + 4096, 0);
  for (unsigned r = 0; r < 4; ++r)
    for (unsigned k = 0; k < 64; ++k) {
      d[256 + 64 * r + k] = (k / 4) % 2 == 0 ? 0x38 : (k % 2 ? 0x80 : 0);
      d[1024 + 64 * r + k] = 0x38;
      d[2048 + 64 * r + k] = (r == 2 && k == 9) ? 0x7C : 0x3C;
      if (r == 3 && k >= 40 && k < 44)
        d[512 + 64 * r + k] = 0xB8;
    }
  // SCALE: 127 everywhere except one NaN scale (row 1 of A, block 0: byte 2).
  std::fill(d.begin() + run.l.scaleAt(), d.begin() + run.l.scaleAt() + 64, 127);
  d[run.l.scaleAt() + 2] = 0xFF;
  // ACC [0, 16): -0, +0, Inf, NaN, 1.0 ...
  const uint32_t accVals[] = {0x80000000u, 0, 0x7F800000u, 0x7FC00000u, 0x3F800000u, 0xFF800000u};
  for (unsigned w = 0; w < 16; ++w)
    std::memcpy(&d[run.l.accAt() + 4 * w], &accVals[w % 6], 4);
  struct Directed {
    const char *regs, *text;
    int expectRtl; // exact latency, or -1
  };
  const Directed cases[] = {
      // Every step skipped: one fetch cycle per window of 2 steps.
      {"li r1, 0\nli r2, 0\nli r3, 1024\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=a, acc",
       8 + 8},
      {"li r1, 0\nli r2, 0\nli r3, 1024\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=either",
       8 + 8},
      {"li r1, 0\nli r2, 1024\nli r3, 0\n", // mode b: B is the zero operand
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=b, acc",
       8 + 8},
      // Mode a on a zero B skips nothing.
      {"li r1, 0\nli r2, 1024\nli r3, 0\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=a",
       16 + 8},
      // Alternate zero steps (runs of one): every zero step is free.
      {"li r1, 16\nli r2, 256\nli r3, 1024\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=a",
       8 + 8},
      // An Inf in B next to zero A: that step is not skipped (0 * Inf = NaN).
      {"li r1, 32\nli r2, 0\nli r3, 2048\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e5m2, zs=a",
       -1},
      // Rows >= M and columns >= N do not count: the Inf is in B row 2, n = 2.
      {"li r1, 48\nli r2, 0\nli r3, 2048\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=2, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e5m2, zs=a",
       8 + 8},
      // Only one step is non-zero (row 3, k 40..43) and only when m = 4.
      {"li r1, 64\nli r2, 512\nli r3, 1024\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=a, acc",
       -1},
      {"li r1, 64\nli r2, 512\nli r3, 1024\n",
       "gemm c=r1, a=r2, b=r3, m=3, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=a, acc",
       8 + 8},
      // MX: a NaN scale (row 1, block 0) keeps block 0's steps; block 1 is skipped.
      {"li r1, 80\nli r2, 0\nli r3, 1024\nli r4, 0\nli r5, 16\n",
       "gemm c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=mxe4m3, fb=mxe4m3, "
       "sa=r4, sb=r5, zs=a",
       8 + 4 + 8},
      // ... and with m = 1 (row 1 not read) everything is skipped.
      {"li r1, 80\nli r2, 0\nli r3, 1024\nli r4, 0\nli r5, 16\n",
       "gemm c=r1, a=r2, b=r3, m=1, n=4, k=64, lda=64, ldb=64, ldc=4, fa=mxe4m3, fb=mxe4m3, "
       "sa=r4, sb=r5, zs=a",
       8 + 8},
      // Sparse: zero compressed A; the metadata selects B values.
      {"li r1, 96\nli r2, 0\nli r3, 1024\nli r6, 0\n",
       "gemmsp c=r1, a=r2, b=r3, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, "
       "meta=r6, nm=2:4, zs=a, acc",
       4 + 8},
  };
  for (const Directed &c : cases) {
    GemmCase gc;
    gc.regs = c.regs;
    gc.text = c.text;
    gc.zs = true;
    gc.steps = 16;
    auto r = runtime::checkUnitProgram(*run.h, run.cfg, run.setup + gc.regs, gc.text, run.dram);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().render();
    EXPECT_TRUE(r->match) << c.text << ": " << r->mismatch;
    ASSERT_EQ(r->cycles.size(), 1u);
    EXPECT_GE(r->cycles[0], r->goldenCycles[0]) << c.text;
    if (c.expectRtl >= 0) {
      EXPECT_EQ(r->cycles[0], uint64_t(c.expectRtl))
          << c.text << " (golden " << r->goldenCycles[0] << ")";
    }
    std::printf("%-60.60s rtl %3llu golden %3llu\n", c.text, (unsigned long long)r->cycles[0],
                (unsigned long long)r->goldenCycles[0]);
  }
}

/// Range faults: the unit raises fault with the first address of the first row outside
/// its memory, in the golden model's order (A, B, C, scales of A, of B, metadata), and
/// writes nothing.
TEST(TensorUnit, RangeFaults) {
  Runner run(smallTest(), 3);
  ASSERT_TRUE(run.h);
  struct FaultCase {
    std::array<uint32_t, 7> regs; // r0..r6
    const char *text;
    uint32_t addr;
  };
  const FaultCase cases[] = {
      {{0, 0, 16374, 0}, "gemm c=r1, a=r2, b=r3, m=2, n=1, k=16, lda=16, ldb=16, ldc=4, fa=e4m3, fb=e4m3", 16374},
      {{0, 0, 0, 4000}, "gemm c=r1, a=r2, b=r3, m=1, n=4, k=64, lda=64, ldb=200, ldc=4, fa=e4m3, fb=e4m3, tb", 16400},
      {{0, 0, 16300, 0}, "gemm c=r1, a=r2, b=r3, m=4, n=1, k=8, lda=30, ldb=8, ldc=4, fa=bf16, fb=e4m3, ta", 16420},
      {{0, 250, 0, 0}, "gemm c=r1, a=r2, b=r3, m=2, n=4, k=8, lda=8, ldb=8, ldc=4, fa=e4m3, fb=e4m3", 254},
      {{0, 0xFFFFFFF0u, 0, 0}, "gemm c=r1, a=r2, b=r3, m=2, n=4, k=8, lda=8, ldb=8, ldc=4, fa=e4m3, fb=e4m3, acc", 0xFFFFFFF0u},
      {{0, 0, 0, 0, 1020}, "gemm c=r1, a=r2, b=r3, m=2, n=4, k=96, lda=128, ldb=96, ldc=4, fa=mxe4m3, fb=e4m3, sa=r4", 1024},
      {{0, 0, 0, 0, 0, 1023}, "gemm c=r1, a=r2, b=r3, m=2, n=2, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=mxe5m2, sb=r5", 1023},
      {{0, 0, 0, 0, 0, 0, 4090}, "gemmsp c=r1, a=r2, b=r3, m=1, n=4, k=64, lda=32, ldb=64, ldc=4, fa=e4m3, fb=e4m3, meta=r6, nm=2:4", 4090},
  };
  int pRst = run.h->sim().findInput("rst");
  ASSERT_GE(pRst, 0);
  for (const FaultCase &c : cases) {
    run.h->sim().poke(uint32_t(pRst), 1);
    run.h->sim().step();
    run.h->sim().poke(uint32_t(pRst), 0);
    auto prog = assemble(std::string(c.text) + "\nhalt\n", "<fault>", &run.cfg);
    ASSERT_TRUE(prog.ok()) << prog.error().render();
    // The golden model faults too, naming the same address.
    std::string li;
    for (unsigned r = 1; r < 7; ++r)
      li += "li r" + std::to_string(r) + ", " + std::to_string(c.regs[r]) + "\n";
    auto gp = assemble(li + "csync\n" + c.text + "\nhalt\n", "<golden>", &run.cfg);
    ASSERT_TRUE(gp.ok()) << gp.error().render();
    std::vector<uint8_t> gd = run.dram;
    auto g = runGolden(run.cfg, *gp, gd, GoldenOptions{});
    ASSERT_FALSE(g.ok()) << c.text;
    char hexAddr[16];
    std::snprintf(hexAddr, sizeof hexAddr, "0x%x", c.addr);
    EXPECT_EQ(g.error().id, "address-out-of-range");
    EXPECT_NE(g.error().message.find(hexAddr), std::string::npos) << g.error().message;
    std::array<uint32_t, 16> regs{}, fregs{};
    for (unsigned r = 0; r < 7; ++r)
      regs[r] = c.regs[r];
    runtime::TileState before = run.h->readback();
    std::vector<uint8_t> dram = run.dram;
    auto e = run.h->execute(prog->code[0], regs, fregs, dram, 100000);
    ASSERT_FALSE(e.ok()) << c.text;
    char want[32];
    std::snprintf(want, sizeof want, "0x%08x", c.addr);
    EXPECT_EQ(e.error().id, "rtl-fault") << e.error().render();
    EXPECT_NE(e.error().message.find(want), std::string::npos)
        << c.text << ": " << e.error().message << " (want " << want << ")";
    EXPECT_EQ(run.h->readback().acc, before.acc) << c.text;
  }
}

/// Back-to-back GEMMs with disjoint C regions: each one is started as soon as the unit is
/// ready. The unit must accept it no later than the contract's issue time (max(steps,
/// rows) after the previous start), keep each latency at steps + rows + cols, pulse done
/// in order, and leave the same ACC as the golden model running them one by one.
TEST(TensorUnit, OverlappedGemmsMatchSequential) {
  Runner run(smallTest(), 21);
  ASSERT_TRUE(run.h);
  const char *kGemms[] = {
      "gemm c=r1, a=r2, b=r3, m=4, n=4, k=40, lda=40, ldb=40, ldc=4, fa=e4m3, fb=e4m3, acc",
      "gemm c=r4, a=r2, b=r3, m=4, n=4, k=4, lda=40, ldb=40, ldc=4, fa=e4m3, fb=e5m2, acc",
      "gemm c=r5, a=r2, b=r3, m=3, n=2, k=8, lda=40, ldb=40, ldc=4, fa=bf16, fb=bf16",
      "gemmsp c=r6, a=r2, b=r3, m=4, n=4, k=24, lda=40, ldb=40, ldc=5, fa=e4m3, fb=e4m3, meta=r7, nm=2:4, acc",
      "gemm c=r8, a=r2, b=r3, m=4, n=4, k=4, lda=40, ldb=40, ldc=4, fa=e5m2, fb=e4m3",
      "gemm c=r9, a=r2, b=r3, m=4, n=3, k=64, lda=64, ldb=64, ldc=3, fa=mxe4m3, fb=mxe5m2, sa=r10, sb=r11, acc",
  };
  std::array<uint32_t, 16> regs{};
  const uint32_t vals[16] = {0, 0, 1000, 3000, 16, 32, 48, 64, 84, 100, 40, 200, 0, 0, 0, 0};
  std::string li;
  for (unsigned r = 1; r < 12; ++r) {
    regs[r] = vals[r];
    li += "li r" + std::to_string(r) + ", " + std::to_string(vals[r]) + "\n";
  }
  std::string test;
  for (const char *g : kGemms)
    test += std::string(g) + "\n";
  // 1. One at a time against the golden model.
  auto seq = runtime::checkUnitProgram(*run.h, run.cfg, run.setup + li, test, run.dram);
  ASSERT_TRUE(seq.ok()) << seq.error().render();
  ASSERT_TRUE(seq->match) << seq->mismatch;
  runtime::TileState want = run.h->readback();
  // 2. The golden pre-state again, then all GEMMs as fast as the unit accepts them.
  auto pre = assemble(run.setup + li + "halt\n", "<pre>", &run.cfg);
  ASSERT_TRUE(pre.ok()) << pre.error().render();
  std::vector<uint8_t> d0 = run.dram;
  auto g0 = runGolden(run.cfg, *pre, d0, GoldenOptions{});
  ASSERT_TRUE(g0.ok()) << g0.error().render();
  sim::Simulator &sim = run.h->sim();
  int pRst = sim.findInput("rst"), pStart = sim.findInput("start"), pInsn = sim.findInput("insn"),
      pRegs = sim.findInput("regs"), pReady = sim.findOutput("ready"), pDone = sim.findOutput("done"),
      pFault = sim.findOutput("fault");
  ASSERT_TRUE(pRst >= 0 && pStart >= 0 && pInsn >= 0 && pRegs >= 0 && pReady >= 0 && pDone >= 0);
  sim.poke(uint32_t(pRst), 1);
  sim.step();
  sim.poke(uint32_t(pRst), 0);
  runtime::TileState st;
  st.spad = g0->spad;
  st.scale = g0->scale;
  st.meta = g0->meta;
  st.acc = g0->acc;
  run.h->preload(st);
  auto prog = assemble(test + "halt\n", "<gemms>", &run.cfg);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  const size_t n = std::size(kGemms);
  std::vector<uint64_t> startAt, doneAt;
  uint64_t t = 0;
  for (; t < 5000 && doneAt.size() < n; ++t) {
    bool go = startAt.size() < n && sim.peek64(uint32_t(pReady));
    if (go) {
      const Instruction &ins = prog->code[startAt.size()];
      Word w = encode(ins);
      uint64_t iw[2] = {w.lo, w.hi}, rw[4] = {};
      for (unsigned i = 0; i < 8; ++i)
        rw[i / 2] |= uint64_t(regs[unsigned(w.lo >> (16 + 4 * i)) & 15]) << (32 * (i % 2));
      sim.pokeWords(uint32_t(pInsn), iw);
      sim.pokeWords(uint32_t(pRegs), rw);
      startAt.push_back(t);
    }
    sim.poke(uint32_t(pStart), go ? 1 : 0);
    sim.step();
    sim.poke(uint32_t(pStart), 0);
    ASSERT_EQ(sim.peek64(uint32_t(pFault)), 0u);
    if (sim.peek64(uint32_t(pDone)))
      doneAt.push_back(t + 2); // completion: the cycle after the done pulse (cycle t + 1)
  }
  sim.step(); // the last done cycle's writes land
  ASSERT_EQ(doneAt.size(), n);
  runtime::TileState got = run.h->readback();
  for (size_t a = 0; a < want.acc.size(); ++a)
    ASSERT_EQ(got.acc[a], want.acc[a]) << "acc[" << a << "] after the overlapped run";
  for (size_t i = 0; i < n; ++i) {
    uint64_t steps = gemmSteps(prog->code[i], run.cfg);
    EXPECT_EQ(doneAt[i] - startAt[i], steps + run.cfg.rows + run.cfg.cols) << kGemms[i];
    if (i > 0) {
      uint64_t prevSteps = gemmSteps(prog->code[i - 1], run.cfg);
      EXPECT_LE(startAt[i] - startAt[i - 1], std::max<uint64_t>(prevSteps, run.cfg.rows))
          << kGemms[i];
      EXPECT_GT(doneAt[i], doneAt[i - 1]);
    }
    std::printf("%-40.40s start %3llu done %3llu\n", kGemms[i], (unsigned long long)startAt[i],
                (unsigned long long)doneAt[i]);
  }
}

TEST(TensorUnit, EmittedVerilogPassesVerilatorLint) {
  TileConfig cfg = smallTest();
  hw::Design d;
  auto m = rtl::buildTensorUnit(d, cfg, GenParams::forConfig(cfg));
  ASSERT_TRUE(m.ok()) << m.error().render();
  d.topName = "tessera_tu";
  auto v = verilog::emitVerilog(d);
  ASSERT_TRUE(v.ok()) << v.error().render();
  verilog::test::TempDir dir("tu-lint");
  std::string file = dir.write("tessera_tu.v", v.value());
  auto lint = verilog::test::verilatorLint(file, "tessera_tu");
  EXPECT_EQ(lint.rc, 0) << lint.output.substr(0, 4000);
  EXPECT_EQ(lint.output.find("%Warning"), std::string::npos) << lint.output.substr(0, 4000);
}

} // namespace
} // namespace tessera::accel
