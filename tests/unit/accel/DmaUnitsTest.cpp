//===- DmaUnitsTest.cpp - the tile's load and store units against the golden model ---===//
//
// Random ld / ldacc / ldscale / ldmeta and st / ststat / seed / clrstat instructions (fixed
// seeds; random shapes, formats, flags, strides and addresses, unaligned to the AXI beat)
// run on the unit harness (lib/accel/TileRtl.h, lib/runtime/RtlHarness.h) with an AXI
// memory model and are compared byte for byte (SPAD, SCALE, META, ACC, DRAM, AMAX, FLAGS,
// LFSR) with the golden model; faults against the golden model's; the generated Verilog
// is linted by Verilator.
//
//===----------------------------------------------------------------------===//
#include "accel/Assembler.h"
#include "accel/Golden.h"
#include "accel/Isa.h"
#include "accel/TileRtl.h"
#include "arch/ArchSpec.h"
#include "hw/Verify.h"
#include "runtime/RtlHarness.h"
#include "verilog/Verilog.h"

#include "../verilog/ToolRunner.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace tessera::accel {
namespace {

using rtl::GenParams;
using rtl::UnitKind;

const std::string kSmallTest = std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml";
constexpr uint32_t kDramBytes = 1u << 17;

TileConfig smallTile() {
  auto spec = arch::loadArchSpec(kSmallTest);
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().render());
  return TileConfig::fromArchSpec(*spec);
}

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint32_t u(uint32_t lo, uint32_t hi) { // inclusive
    return lo + uint32_t(g() % (uint64_t(hi) - lo + 1));
  }
  bool p(double prob) { return std::uniform_real_distribution<double>(0, 1)(g) < prob; }
};

/// An FP32 bit pattern with a useful spread: mostly moderate normals, some large and tiny
/// values, zeros, a few Inf / NaN and raw random bits.
uint32_t interestingFp32(Rng &r, int expLo = -24, int expHi = 20) {
  uint32_t sign = r.u(0, 1) << 31;
  uint32_t pick = r.u(0, 99);
  if (pick < 3)
    return sign | 0x7F800000u | (r.p(0.5) ? r.u(1, 0x7FFFFF) : 0); // Inf / NaN
  if (pick < 8)
    return sign; // zero
  if (pick < 14)
    return uint32_t(r.g()); // anything (subnormals, NaN payloads, huge)
  int e = int(r.u(0, uint32_t(expHi - expLo))) + expLo;
  return sign | (uint32_t(e + 127) << 23) | r.u(0, 0x7FFFFF);
}

std::vector<uint8_t> randomDram(uint64_t seed) {
  Rng r(seed);
  std::vector<uint8_t> d(kDramBytes);
  for (size_t i = 0; i < d.size(); i += 4) {
    uint32_t v = r.p(0.5) ? uint32_t(r.g()) : interestingFp32(r);
    for (unsigned k = 0; k < 4; ++k)
      d[i + k] = uint8_t(v >> (8 * k));
  }
  return d;
}

std::unique_ptr<runtime::UnitHarness> harness(const TileConfig &cfg, UnitKind kind) {
  auto h = runtime::UnitHarness::create(cfg, GenParams::forConfig(cfg), kind);
  EXPECT_TRUE(h.ok()) << (h.ok() ? "" : h.error().render());
  return h.ok() ? std::move(h).value() : nullptr;
}

const char *fmtName(ElemFormat f) { return elemFormatInfo(f).name.data(); }

//===----------------------------------------------------------------------===//
// Random instructions
//===----------------------------------------------------------------------===//

const ElemFormat kConvertible[] = {ElemFormat::Fp32, ElemFormat::Bf16, ElemFormat::Fp16,
                                   ElemFormat::E4m3, ElemFormat::E5m2};

/// A valid load-queue instruction with random shape, formats and addresses.
std::string randomLoad(Rng &r, const TileConfig &cfg) {
  std::ostringstream os;
  uint32_t kind = r.u(0, 9);
  uint32_t rows = r.p(0.3) ? 1 : r.u(1, 4);
  ElemFormat S = ElemFormat::E4m3, T = ElemFormat::E4m3;
  uint32_t cols = 0, gRow = 0, lRow = 0, lsize = 0;
  const char *op = "ld";
  const char *lkey = "spad";
  if (kind <= 3) { // raw copy in any format, incl. packed MX
    S = T = ElemFormat(r.u(0, kNumElemFormats - 1));
    unsigned bits = elemFormatInfo(S).bits;
    cols = r.u(1, 160);
    while (cols * bits % 8)
      ++cols;
    gRow = lRow = cols * bits / 8;
    lsize = cfg.spadBytes;
  } else if (kind <= 5) { // conversion
    S = kConvertible[r.u(0, 4)];
    do
      T = kConvertible[r.u(0, 4)];
    while (T == S);
    cols = r.u(1, 80);
    gRow = cols * elemFormatInfo(S).bits / 8;
    lRow = cols * elemFormatInfo(T).bits / 8;
    lsize = cfg.spadBytes;
  } else if (kind <= 7) {
    op = "ldacc";
    lkey = "acc";
    S = kConvertible[r.u(0, 4)];
    cols = r.u(1, 60);
    gRow = cols * elemFormatInfo(S).bits / 8;
    lRow = cols;
    lsize = cfg.accWords();
    rows = std::min<uint32_t>(rows, 3);
  } else {
    op = kind == 8 ? "ldscale" : "ldmeta";
    lkey = kind == 8 ? "scale" : "meta";
    cols = r.u(1, 120);
    gRow = lRow = cols;
    lsize = kind == 8 ? cfg.scaleBytes : cfg.metaBytes;
  }
  uint32_t lstride = rows > 1 ? lRow + r.u(0, 24) : r.u(0, 40);
  uint32_t lspan = (rows - 1) * lstride + lRow;
  if (lspan > lsize) {
    rows = 1;
    lspan = lRow;
  }
  uint32_t laddr = r.u(0, lsize - lspan);
  uint32_t gstride = r.p(0.1) ? 0 : r.u(0, 300);
  uint32_t gspan = (rows - 1) * gstride + gRow;
  uint32_t gaddr = r.u(0, 60000 - gspan);
  os << op << " " << lkey << "=" << laddr << ", dram=" << gaddr << ", rows=" << rows
     << ", cols=" << cols << ", gstride=" << gstride << ", lstride=" << lstride;
  if (kind <= 7)
    os << ", src=" << fmtName(S);
  if (std::string(op) == "ld")
    os << ", dst=" << fmtName(T);
  return os.str();
}

/// The store formats of a tile (docs/isa.md 5.5).
std::vector<ElemFormat> storeFormats(const TileConfig &cfg) {
  std::vector<ElemFormat> f = {ElemFormat::Fp32, ElemFormat::Bf16, ElemFormat::Fp16};
  if (cfg.scaleCast)
    for (const TensorFormatCfg &t : cfg.formats)
      if (std::find(f.begin(), f.end(), t.format) == f.end())
        f.push_back(t.format);
  return f;
}

/// A valid store-queue instruction. Element rows go to DRAM [0x8000, 0xB400), MX scales
/// to r5..r7 = 0xC000.. (set by the setup), ststat to 0xD000.. and r7 + 1024...
std::string randomStore(Rng &r, const TileConfig &cfg) {
  std::ostringstream os;
  uint32_t pick = r.u(0, 19);
  if (pick == 0)
    return "seed state=" + std::to_string(r.u(0, 0xFFFF));
  if (pick == 1)
    return "clrstat";
  if (pick == 2)
    return r.p(0.5) ? "ststat dram=" + std::to_string(0xD000 + 4 * r.u(0, 60))
                    : "ststat dram=r7+" + std::to_string(1024 + 4 * r.u(0, 60)); // unaligned base
  std::vector<ElemFormat> fmts = storeFormats(cfg);
  ElemFormat T = fmts[r.u(0, uint32_t(fmts.size() - 1))];
  const ElemFormatInfo &fi = elemFormatInfo(T);
  uint32_t rows = r.p(0.4) ? 1 : r.u(1, 3);
  uint32_t cols = fi.mx ? r.u(1, 100) : r.u(1, 70);
  while (cols * fi.bits % 8)
    ++cols;
  uint32_t rowBytes = cols * fi.bits / 8;
  uint32_t lstride = rows > 1 ? cols + r.u(0, 20) : r.u(0, 20);
  if ((rows - 1) * lstride + cols > cfg.accWords()) {
    rows = 1;
  }
  uint32_t acc = r.u(0, cfg.accWords() - ((rows - 1) * lstride + cols));
  uint32_t gstride = rowBytes + r.u(0, 40);
  if (fi.mx) {
    uint32_t unit = 32 * fi.bits / 8; // gstride * 8 % (32 * bits) == 0
    gstride = (gstride + unit - 1) / unit * unit;
  }
  uint32_t gaddr = 0x8000 + r.u(0, 0x3000);
  os << "st acc=" << acc << ", dram=" << gaddr << ", rows=" << rows << ", cols=" << cols
     << ", gstride=" << gstride << ", lstride=" << lstride << ", fmt=" << fi.name;
  if (fi.mx)
    os << ", scales=r" << r.u(5, 7);
  if (cfg.scaleCast && r.p(0.35))
    os << ", prescale=f" << r.u(1, 4);
  if (cfg.stochastic && T != ElemFormat::Fp32 && r.p(0.5))
    os << ", sr";
  if (fi.mx && r.p(0.5))
    os << ", scale_up";
  if (!fi.mx && cfg.scaleCast && r.p(0.3))
    os << ", sat";
  return os.str();
}

/// Store setup: 256 ACC words of interesting FP32 (loaded from DRAM 0xE000 by ldacc, so
/// canonicalised), prescale factors and scale bases.
std::string storeSetup(std::vector<uint8_t> &dram, uint64_t seed, int expHi) {
  Rng r(seed);
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t v = interestingFp32(r, -30, expHi);
    for (unsigned k = 0; k < 4; ++k)
      dram[0xE000 + 4 * i + k] = uint8_t(v >> (8 * k));
  }
  return "li r5, 0xC000\nli r6, 0xC403\nli r7, 0xC801\n"
         "fli f1, 0.25\nfli f2, 3.0\nfli f3, 0.0009765625\nfli f4, 1048576.0\n"
         "ldacc acc=0, dram=0xE000, rows=1, gstride=0, lstride=0, cols=256, src=fp32\n";
}

void expectMatch(const Expected<runtime::UnitCheck> &c, const std::string &test) {
  ASSERT_TRUE(c.ok()) << c.error().render() << "\n" << test;
  EXPECT_TRUE(c->match) << c->mismatch << "\n" << test;
}

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

TileConfig wideTile();

TEST(DmaUnits, BuildVerifyAndLint) {
  bool haveVerilator = verilog::test::runTool("verilator --version").rc == 0;
  for (int which = 0; which < 2; ++which)
    for (UnitKind k : {UnitKind::Load, UnitKind::Store}) {
      TileConfig cfg = which ? wideTile() : smallTile();
      GenParams gp = GenParams::forConfig(cfg);
      hw::Design d;
      auto m =
          k == UnitKind::Load ? rtl::buildLoadUnit(d, cfg, gp) : rtl::buildStoreUnit(d, cfg, gp);
      ASSERT_TRUE(m.ok()) << m.error().render();
      d.topName = (*m)->name();
      EXPECT_EQ((*m)->name(), k == UnitKind::Load ? "tessera_ldu" : "tessera_stu");
      DiagnosticEngine diags;
      EXPECT_TRUE(hw::verifyDesign(d, diags));
      for (const Diagnostic &x : diags.diagnostics())
        ADD_FAILURE() << x.render();
      std::printf("[dma] %s (%s tile): %zu ops\n", (*m)->name().c_str(),
                  which ? "wide" : "small-test", (*m)->ops.size());
      if (!haveVerilator)
        continue;
      auto v = verilog::emitVerilog(d);
      ASSERT_TRUE(v.ok()) << v.error().render();
      verilog::test::TempDir dir("dma-lint");
      std::string file = dir.write("unit.v", v.value());
      auto lint = verilog::test::verilatorLint(file, (*m)->name());
      EXPECT_EQ(lint.rc, 0) << lint.output;
      EXPECT_EQ(lint.output.find("%Warning"), std::string::npos) << lint.output;
    }
  if (!haveVerilator)
    GTEST_SKIP() << "verilator not installed: lint skipped";
}

TEST(DmaUnits, OtherConfigsBuildOrSayWhy) {
  TileConfig cfg = smallTile();
  // Every store format, rate-2 formats, 8x8, a 4-byte and a 64-byte bus.
  cfg.rows = cfg.cols = 8;
  cfg.formats.clear();
  for (unsigned f = 1; f < kNumElemFormats; ++f)
    cfg.formats.push_back({ElemFormat(f), f % 2 ? 2u : 1u, false});
  for (unsigned bus : {4u, 16u, 64u}) {
    GenParams gp = GenParams::forConfig(cfg);
    gp.busBytes = bus;
    gp.spadLine = std::max(gp.spadLine, bus);
    gp.scaleLine = std::max(gp.scaleLine, bus);
    gp.metaLine = std::max(gp.metaLine, bus);
    hw::Design d;
    auto l = rtl::buildLoadUnit(d, cfg, gp);
    EXPECT_TRUE(l.ok()) << l.error().render();
    auto s = rtl::buildStoreUnit(d, cfg, gp);
    EXPECT_TRUE(s.ok()) << s.error().render();
    DiagnosticEngine diags;
    EXPECT_TRUE(hw::verifyDesign(d, diags)) << bus;
  }
  GenParams bad = GenParams::forConfig(cfg);
  bad.busBytes = 12;
  hw::Design d;
  auto l = rtl::buildLoadUnit(d, cfg, bad);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().id, "unsupported-parameter");
  EXPECT_NE(l.error().message.find("busBytes"), std::string::npos);
  bad = GenParams::forConfig(cfg);
  bad.scaleLine = bad.busBytes / 2;
  auto s = rtl::buildStoreUnit(d, cfg, bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "unsupported-parameter");
}

TEST(DmaUnits, DirectedLoads) {
  TileConfig cfg = smallTile();
  auto h = harness(cfg, UnitKind::Load);
  ASSERT_TRUE(h);
  std::vector<uint8_t> dram = randomDram(7);
  const char *cases[] = {
      // aligned / unaligned raw copies, one beat, exact beats, many bursts, 4 KiB crossing
      "ld spad=0, dram=0, rows=1, gstride=0, lstride=0, cols=16, src=e4m3, dst=e4m3",
      "ld spad=3, dram=5, rows=1, gstride=0, lstride=0, cols=1, src=e4m3, dst=e4m3",
      "ld spad=100, dram=17, rows=2, cols=31, gstride=33, lstride=40, src=e4m3, dst=e4m3",
      "ld spad=1000, dram=4000, rows=1, gstride=0, lstride=0, cols=2000, src=bf16, dst=bf16",
      "ld spad=7, dram=4090, rows=3, cols=12, gstride=0, lstride=12, src=mxe2m1, dst=mxe2m1",
      "ld spad=9, dram=11, rows=2, cols=20, gstride=64, lstride=20, src=mxe3m2, dst=mxe3m2",
      // conversions, every pair
      "ld spad=0, dram=1, rows=1, gstride=0, lstride=0, cols=33, src=fp32, dst=bf16",
      "ld spad=200, dram=3, rows=2, cols=17, gstride=70, lstride=17, src=fp32, dst=e4m3",
      "ld spad=300, dram=2, rows=1, gstride=0, lstride=0, cols=40, src=e5m2, dst=fp32",
      "ld spad=500, dram=9, rows=1, gstride=0, lstride=0, cols=64, src=e4m3, dst=fp16",
      "ld spad=700, dram=6, rows=1, gstride=0, lstride=0, cols=30, src=fp16, dst=e5m2",
      "ld spad=900, dram=0, rows=1, gstride=0, lstride=0, cols=50, src=bf16, dst=fp16",
      "ld spad=1100, dram=15, rows=1, gstride=0, lstride=0, cols=50, src=fp16, dst=bf16",
      "ld spad=1300, dram=13, rows=1, gstride=0, lstride=0, cols=25, src=e4m3, dst=e5m2",
      // ACC, SCALE, META
      "ldacc acc=3, dram=1, rows=2, cols=37, gstride=150, lstride=40, src=fp32",
      "ldacc acc=100, dram=7, rows=1, gstride=0, lstride=0, cols=60, src=e4m3",
      "ldacc acc=170, dram=0, rows=1, gstride=0, lstride=0, cols=60, src=bf16",
      "ldscale scale=1000, dram=21, rows=1, gstride=0, lstride=0, cols=24",
      "ldmeta meta=4000, dram=4093, rows=2, cols=48, gstride=5, lstride=48",
  };
  for (const char *c : cases) {
    auto r = runtime::checkUnitProgram(*h, cfg, "", c, dram);
    expectMatch(r, c);
    if (r.ok())
      std::printf("[dma] %-90s rtl %4llu cycles, golden %4llu\n", c,
                  (unsigned long long)r->cycles.at(0),
                  (unsigned long long)(r->goldenCycles.empty() ? 0 : r->goldenCycles[0]));
  }
  // A register base (R[rl], R[rg] at dispatch).
  expectMatch(runtime::checkUnitProgram(*h, cfg, "li r3, 1234\nli r4, 50001\n",
                                        "ld spad=r3+5, dram=r4+7, rows=2, cols=19, gstride=19, "
                                        "lstride=19, src=fp16, dst=e4m3",
                                        dram),
              "register bases");
}

TEST(DmaUnits, DirectedStores) {
  TileConfig cfg = smallTile();
  auto h = harness(cfg, UnitKind::Store);
  ASSERT_TRUE(h);
  std::vector<uint8_t> dram = randomDram(11);
  std::string setup = storeSetup(dram, 5, 20);
  const char *cases[] = {
      "st acc=0, dram=0x8000, rows=1, gstride=0, lstride=0, cols=16, fmt=fp32",
      "st acc=1, dram=0x8003, rows=2, cols=7, gstride=30, lstride=9, fmt=bf16",
      "st acc=5, dram=0x8001, rows=1, gstride=0, lstride=0, cols=33, fmt=fp16, sat",
      "st acc=9, dram=0x9005, rows=3, cols=20, gstride=20, lstride=20, fmt=e4m3, prescale=f2",
      "seed state=0xACE1\nst acc=2, dram=0x8007, rows=1, gstride=0, lstride=0, cols=50, fmt=e5m2, "
      "sr, sat",
      "st acc=0, dram=0x8FF9, rows=1, gstride=0, lstride=0, cols=250, fmt=bf16",
      "st acc=0, dram=0x8001, rows=2, cols=64, gstride=64, lstride=64, fmt=mxe4m3, scales=r5",
      "seed state=0x1234\nst acc=3, dram=0x8002, rows=3, cols=70, gstride=96, lstride=80, "
      "fmt=mxe5m2, scales=r6, sr, scale_up, prescale=f4",
      "st acc=0, dram=0x8000, rows=1, gstride=0, lstride=0, cols=5, fmt=mxe4m3, scales=r7, "
      "prescale=f3",
      "clrstat\nst acc=40, dram=0x8011, rows=1, gstride=0, lstride=0, cols=31, fmt=e4m3, "
      "prescale=f4\nststat dram=0xD004",
      "seed state=0\nst acc=0, dram=0x8000, rows=1, gstride=0, lstride=0, cols=20, fmt=bf16, "
      "sr\nststat dram=0xD000",
  };
  for (const char *c : cases) {
    auto r = runtime::checkUnitProgram(*h, cfg, setup, c, dram);
    expectMatch(r, c);
    if (r.ok() && !r->cycles.empty())
      std::printf("[dma] %-100.100s rtl %4llu cycles\n",
                  std::string(c).substr(std::string(c).rfind('\n') + 1).c_str(),
                  (unsigned long long)r->cycles.back());
  }
}

/// Every tensor format with scale-cast and stochastic rounding on an 8x8 tile (so MXFP6,
/// MXFP4 and MXINT8 stores / loads are exercised), with the AXI bus forced to `bus` bytes.
TileConfig wideTile() {
  TileConfig cfg = smallTile();
  cfg.rows = cfg.cols = 8;
  cfg.formats.clear();
  for (unsigned f = 1; f < kNumElemFormats; ++f)
    cfg.formats.push_back({ElemFormat(f), f % 2 ? 2u : 1u, false});
  return cfg;
}
GenParams withBus(const TileConfig &cfg, unsigned bus) {
  GenParams gp = GenParams::forConfig(cfg);
  if (bus) {
    gp.busBytes = bus;
    gp.spadLine = std::max(gp.spadLine, bus);
    gp.scaleLine = std::max(gp.scaleLine, bus);
    gp.metaLine = std::max(gp.metaLine, bus);
  }
  return gp;
}

/// Coverage of the random instructions (counted from their text).
struct Tally {
  std::map<std::string, unsigned> n;
  void add(const std::string &insn) {
    std::istringstream is(insn);
    std::string op;
    is >> op;
    ++n[op];
    for (const char *key : {"fmt=", "src=", "dst="}) {
      size_t p = insn.find(key);
      if (p != std::string::npos)
        ++n[std::string(key) + insn.substr(p + 4, insn.find_first_of(",\n", p) - p - 4)];
    }
    for (const char *flag : {"sr", "sat", "scale_up"})
      if ((insn + ",").find(", " + std::string(flag) + ",") != std::string::npos)
        ++n[flag];
    if (insn.find("prescale=") != std::string::npos)
      ++n["prescale"];
  }
  std::string str() const {
    std::string r;
    for (auto &[k, v] : n)
      r += " " + k + ":" + std::to_string(v);
    return r;
  }
};

/// `batches` checks of `perBatch` random instructions each on one harness; returns how many
/// instructions matched the golden model.
unsigned randomChecks(const TileConfig &cfg, const GenParams &gp, UnitKind kind, uint64_t seed,
                      unsigned batches, unsigned perBatch) {
  auto h = runtime::UnitHarness::create(cfg, gp, kind);
  EXPECT_TRUE(h.ok()) << (h.ok() ? "" : h.error().render());
  if (!h.ok())
    return 0;
  Rng r(seed);
  Tally tally;
  unsigned checked = 0;
  uint64_t cycles = 0;
  for (unsigned batch = 0; batch < batches; ++batch) {
    std::vector<uint8_t> dram = randomDram(seed + batch);
    std::string setup;
    if (kind == UnitKind::Store) // moderate ACC values, then ones that saturate / overflow FP8
      setup = storeSetup(dram, seed * 7 + batch, batch % 2 ? 20 : 127);
    std::string test;
    for (unsigned i = 0; i < perBatch; ++i) {
      std::string insn = kind == UnitKind::Load ? randomLoad(r, cfg) : randomStore(r, cfg);
      tally.add(insn);
      test += insn + "\n";
    }
    auto c = runtime::checkUnitProgram(**h, cfg, setup, test, dram);
    expectMatch(c, test);
    if (::testing::Test::HasFailure())
      break;
    checked += perBatch;
    for (uint64_t x : c->cycles)
      cycles += x;
  }
  std::printf("[dma] %s unit, bus %u: %u random instructions match the golden model (%llu RTL "
              "cycles);%s\n",
              kind == UnitKind::Load ? "load" : "store", gp.busBytes, checked,
              (unsigned long long)cycles, tally.str().c_str());
  return checked;
}

TEST(DmaUnits, RandomLoads) {
  TileConfig cfg = smallTile();
  EXPECT_EQ(randomChecks(cfg, GenParams::forConfig(cfg), UnitKind::Load, 0x5EED10AD, 40, 10), 400u);
}

TEST(DmaUnits, RandomStores) {
  TileConfig cfg = smallTile();
  EXPECT_EQ(randomChecks(cfg, GenParams::forConfig(cfg), UnitKind::Store, 0x5EED5707, 40, 10),
            400u);
}

TEST(DmaUnits, RandomOnOtherBusWidthsAndFormats) {
  TileConfig cfg = wideTile();
  for (unsigned bus : {4u, 64u}) {
    EXPECT_EQ(randomChecks(cfg, withBus(cfg, bus), UnitKind::Load, 77 + bus, 15, 10), 150u);
    EXPECT_EQ(randomChecks(cfg, withBus(cfg, bus), UnitKind::Store, 99 + bus, 20, 10), 200u);
  }
}

TEST(DmaUnits, RandomWithoutScaleCastOrStochastic) {
  // A store path without scale-cast (fp32 / bf16 / fp16, RNE) and one without SR.
  TileConfig cfg = smallTile();
  cfg.scaleCast = cfg.stochastic = false;
  EXPECT_EQ(randomChecks(cfg, GenParams::forConfig(cfg), UnitKind::Store, 5, 5, 10), 50u);
  cfg = wideTile();
  cfg.stochastic = false;
  EXPECT_EQ(randomChecks(cfg, GenParams::forConfig(cfg), UnitKind::Store, 6, 5, 10), 50u);
}

TEST(DmaUnits, MxExtremes) {
  // Blocks whose small elements fall below the FP32 range once divided by the scale (the
  // signed-zero path), min normals, exact powers of two, NaN / Inf blocks, with RNE and SR.
  TileConfig cfg = wideTile();
  auto h = runtime::UnitHarness::create(cfg, GenParams::forConfig(cfg), UnitKind::Store);
  ASSERT_TRUE(h.ok()) << h.error().render();
  std::vector<uint8_t> dram = randomDram(3);
  const uint32_t vals[] = {0x71800000, 0x0D800000, 0x8D800000, 0x00800000, 0x80800000, 0x3F800000,
                           0x2A000000, 0xC0C00000, 0x7F7FFFFF, 0x00000000, 0x80000000, 0x42FE0000,
                           0x7F800000, 0x3E99999A, 0x7FC00000, 0xFF800000};
  for (uint32_t i = 0; i < 256; ++i) {
    // blocks 0..3: finite extremes; blocks 4..7 also contain Inf / NaN
    uint32_t v = vals[(i * 7 + i / 32) % (i < 128 ? 12 : 16)];
    for (unsigned k = 0; k < 4; ++k)
      dram[0xE000 + 4 * i + k] = uint8_t(v >> (8 * k));
  }
  std::string setup =
      "li r5, 0xC000\nli r6, 0xC403\nli r7, 0xC801\nfli f1, 0.25\n"
      "ldacc acc=0, dram=0xE000, rows=1, gstride=0, lstride=0, cols=256, src=fp32\n";
  for (const char *fmt : {"mxe4m3", "mxe5m2", "mxe3m2", "mxe2m3", "mxe2m1", "mxint8"})
    for (const char *flags : {"", ", sr", ", scale_up", ", sr, scale_up, prescale=f1"}) {
      std::string test = "seed state=0xBEEF\nst acc=0, dram=0x8003, rows=2, cols=128, "
                         "gstride=192, lstride=128, fmt=" +
                         std::string(fmt) + ", scales=r6" + flags + "\nststat dram=0xD000";
      expectMatch(runtime::checkUnitProgram(**h, cfg, setup, test, dram), test);
    }
}

/// A fault of the unit must name the same address as the golden model's diagnostic.
void expectFault(runtime::UnitHarness &h, const TileConfig &cfg, const std::string &text,
                 uint32_t addr, unsigned reg, uint32_t regValue) {
  std::vector<uint8_t> dram(kDramBytes, 0);
  auto prog = assemble(text + "\nhalt\n", "<fault>", &cfg);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  std::vector<uint8_t> gd = dram;
  auto g = runGolden(cfg, *prog, gd, {});
  ASSERT_FALSE(g.ok()) << text;
  EXPECT_EQ(g.error().id, "address-out-of-range") << g.error().render();
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", addr);
  EXPECT_NE(g.error().message.find(hex), std::string::npos) << g.error().render();
  std::array<uint32_t, 16> regs{}, fregs{};
  regs[reg] = regValue;
  const Instruction *ins = nullptr;
  for (const Instruction &i : prog->code)
    if (!ins && i.info().queue != Queue::Front)
      ins = &i;
  ASSERT_TRUE(ins);
  auto rr = h.execute(*ins, regs, fregs, dram, 20000);
  ASSERT_FALSE(rr.ok()) << text;
  EXPECT_EQ(rr.error().id, "rtl-fault") << rr.error().render();
  char want[16];
  std::snprintf(want, sizeof want, "0x%08x", addr);
  EXPECT_NE(rr.error().message.find(want), std::string::npos) << rr.error().render();
}

TEST(DmaUnits, FaultsNameTheGoldenAddress) {
  TileConfig cfg = smallTile();
  // The harness is rebuilt per case: a fault is sticky until reset.
  {
    auto h = harness(cfg, UnitKind::Load);
    ASSERT_TRUE(h);
    // SPAD row 2 of 3 (at 16300) ends past 16 KiB (register base: only a run-time check can see
    // it).
    expectFault(*h, cfg,
                "li r1, 16000\nld spad=r1, dram=0, rows=3, cols=100, gstride=100, "
                "lstride=150, src=e4m3, dst=e4m3",
                16300, 1, 16000); // row 2 at 16300
  }
  {
    auto h = harness(cfg, UnitKind::Load);
    ASSERT_TRUE(h);
    expectFault(*h, cfg,
                "li r2, 0x1FFF0\nld spad=0, dram=r2, rows=1, gstride=0, lstride=0, cols=64, "
                "src=e4m3, dst=e4m3",
                0x1FFF0, 2, 0x1FFF0); // DRAM: SLVERR from the memory
  }
  {
    auto h = harness(cfg, UnitKind::Load);
    ASSERT_TRUE(h);
    // A DRAM row that would wrap past 2^32.
    expectFault(*h, cfg,
                "li r2, 0xFFFFFFF8\nldacc acc=0, dram=r2, rows=1, gstride=0, lstride=0, "
                "cols=8, src=fp32",
                0xFFFFFFF8, 2, 0xFFFFFFF8);
  }
  {
    auto h = harness(cfg, UnitKind::Store);
    ASSERT_TRUE(h);
    expectFault(*h, cfg, "li r1, 0xFFFFFFF0\nststat dram=r1+8", 0xFFFFFFF8, 1, 0xFFFFFFF0);
  }
  {
    auto h = harness(cfg, UnitKind::Store);
    ASSERT_TRUE(h);
    expectFault(*h, cfg,
                "li r1, 250\nst acc=r1, dram=0, rows=1, gstride=0, lstride=0, cols=10, fmt=bf16",
                250, 1, 250);
  }
  {
    auto h = harness(cfg, UnitKind::Store);
    ASSERT_TRUE(h);
    expectFault(*h, cfg,
                "li r2, 0x1FFF8\nst acc=0, dram=r2, rows=1, gstride=0, lstride=0, cols=8, fmt=fp32",
                0x1FFF8, 2, 0x1FFF8);
  }
}

} // namespace
} // namespace tessera::accel
