//===- VectorUnitTest.cpp - the vector unit RTL against the golden model ----------===//
//
// The unit (lib/accel/VectorUnit.cpp) runs in its harness (accel::rtl::buildUnitHarness,
// runtime::UnitHarness) on random instructions of every vector opcode (random lengths,
// addresses through registers and immediates, exact and partial aliasing of d with a / b,
// bcast segments, reduction segments, AdamW hyperparameter bases) and on directed edge
// cases (Inf / NaN / subnormal / huge inputs); runtime::checkUnitProgram compares the whole
// ACC with the golden model bit for bit after each batch. Faults, other lane counts and
// Verilator lint are tested too.
//
//===----------------------------------------------------------------------===//
#include "accel/Assembler.h"
#include "accel/Golden.h"
#include "accel/TileRtl.h"
#include "arch/ArchSpec.h"
#include "numerics/Numerics.h"
#include "runtime/RtlHarness.h"
#include "verilog/Verilog.h"

#include "../verilog/ToolRunner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
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

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

/// ACC contents: a mix of magnitudes suited to every op (exp / GELU arguments in their
/// interesting range, tiny and huge values, exact specials, subnormals are canonicalised
/// by ldacc).
std::vector<uint8_t> randomDram(std::mt19937_64 &rng, uint32_t words) {
  std::vector<uint8_t> dram(words * 4);
  std::uniform_real_distribution<float> small(-4.f, 4.f), mid(-100.f, 100.f);
  for (uint32_t i = 0; i < words; ++i) {
    uint32_t v;
    switch (rng() % 12) {
    case 0: {
      static const uint32_t special[] = {0,          0x80000000, 0x7F800000, 0xFF800000,
                                         0x7FC00000, 0x3F800000, 0xBF800000, 0x7F7FFFFF,
                                         0x00800000, 0x42B17218, 0xC2AEAC50, 0x43000000};
      v = special[rng() % std::size(special)];
      break;
    }
    case 1:
      v = uint32_t(rng()); // any bits
      break;
    case 2:
    case 3:
      v = bitsOf(mid(rng));
      break;
    case 4:
      v = (uint32_t(rng()) & 0x80000000u) | (uint32_t(1 + rng() % 40) << 23) |
          (uint32_t(rng()) & 0x7FFFFF); // near the FTZ boundary
      break;
    default:
      v = bitsOf(small(rng));
      break;
    }
    std::memcpy(&dram[4 * i], &v, 4);
  }
  return dram;
}

/// One harness per tile configuration, shared by the tests of this file.
struct VuFixture {
  TileConfig cfg;
  GenParams gp;
  std::unique_ptr<runtime::UnitHarness> h;

  explicit VuFixture(const TileConfig &c) : cfg(c), gp(GenParams::forConfig(c)) {
    auto hr = runtime::UnitHarness::create(cfg, gp, UnitKind::Vector);
    if (!hr.ok()) {
      ADD_FAILURE() << hr.error().render();
      return;
    }
    h = std::move(hr).value();
  }

  /// Setup: load all of ACC from `dram` (fp32), registers r1..r3 and f0..f15.
  std::string setup(const std::vector<uint32_t> &r, const std::vector<uint32_t> &f) const {
    std::string s;
    for (size_t i = 0; i < r.size(); ++i)
      s += "li r" + std::to_string(i + 1) + ", " + std::to_string(r[i]) + "\n";
    for (size_t i = 0; i < f.size(); ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "fli f%zu, bits(0x%08x)\n", i, f[i]);
      s += buf;
    }
    s += "ldacc acc=0, dram=0, rows=1, cols=" + std::to_string(cfg.accWords()) +
         ", gstride=0, lstride=0, src=fp32\n";
    return s;
  }

  /// Runs `test` after `setup`; returns the RTL cycles of each instruction.
  std::vector<uint64_t> check(const std::string &setupText, const std::string &test,
                              const std::vector<uint8_t> &dram,
                              std::vector<uint64_t> *golden = nullptr) {
    auto r = runtime::checkUnitProgram(*h, cfg, setupText, test, dram);
    if (!r.ok()) {
      ADD_FAILURE() << r.error().render() << "\n" << test;
      return {};
    }
    EXPECT_TRUE(r.value().match) << r.value().mismatch;
    if (golden)
      *golden = r.value().goldenCycles;
    return r.value().cycles;
  }
};

VuFixture &small() {
  static VuFixture f(smallTest());
  return f;
}

/// Random valid vector instructions over an ACC of `words` words.
class InsnGen {
public:
  InsnGen(std::mt19937_64 &rng, uint32_t words, const std::vector<uint32_t> &r)
      : rng_(rng), words_(words), r_(r) {}

  /// An address operand for a run of `len` words: `rK+off` (K = 0..3) inside ACC.
  std::string addr(uint32_t len) {
    uint32_t base = uint32_t(rng_() % (words_ - len + 1));
    unsigned k = unsigned(rng_() % 4);
    if (k == 0 || r_[k - 1] > base)
      return std::to_string(base);
    return "r" + std::to_string(k) + "+" + std::to_string(base - r_[k - 1]);
  }
  /// d for an operand at `a`: often exactly a, sometimes overlapping it by a few words.
  std::string alias(const std::string &a, uint32_t len, bool allowOverlap) {
    switch (rng_() % 6) {
    case 0:
      return a;
    case 1: {
      if (!allowOverlap)
        return addr(len);
      uint32_t aw = value(a);
      int64_t d = int64_t(aw) + int64_t(rng_() % 7) - 3;
      if (d < 0 || d + len > words_)
        return a;
      return std::to_string(d);
    }
    default:
      return addr(len);
    }
  }
  uint32_t value(const std::string &op) const {
    if (op[0] != 'r')
      return uint32_t(std::stoul(op));
    size_t plus = op.find('+');
    return r_[std::stoul(op.substr(1, plus - 1)) - 1] + uint32_t(std::stoul(op.substr(plus + 1)));
  }
  uint32_t divisorOf(uint32_t n) {
    std::vector<uint32_t> d;
    for (uint32_t s = 1; s <= n; ++s)
      if (n % s == 0)
        d.push_back(s);
    return d[rng_() % d.size()];
  }

  std::string make(Opcode op, uint32_t maxN) {
    uint32_t n = 1 + uint32_t(rng_() % maxN);
    std::string ns = ", n=" + std::to_string(n);
    const std::string mn(opcodeInfo(op).mnemonic);
    switch (op) {
    case Opcode::VAdd:
    case Opcode::VSub:
    case Opcode::VMul:
    case Opcode::VMax: {
      bool bcast = rng_() % 3 == 0;
      uint32_t seg = bcast ? divisorOf(n) : 0;
      std::string a = addr(n), b = addr(bcast ? n / seg : n);
      std::string d = rng_() % 2 ? alias(a, n, true) : alias(b, n, !bcast);
      if (value(d) + n > words_)
        d = addr(n);
      return mn + " d=" + d + ", a=" + a + ", b=" + b + ns +
             (bcast ? ", seg=" + std::to_string(seg) + ", bcast" : "");
    }
    case Opcode::VAddS:
    case Opcode::VMulS:
    case Opcode::VExp:
    case Opcode::VRsqrt:
    case Opcode::VGelu: {
      std::string a = addr(n);
      std::string f =
          (op == Opcode::VAddS || op == Opcode::VMulS) ? ", f=f" + std::to_string(rng_() % 16) : "";
      return mn + " d=" + alias(a, n, true) + ", a=" + a + f + ns;
    }
    case Opcode::VFill:
      return mn + " d=" + addr(n) + ", f=f" + std::to_string(rng_() % 16) + ns;
    case Opcode::VSum:
    case Opcode::VAmax: {
      uint32_t seg = divisorOf(n);
      std::string a = addr(n);
      // d exactly a, or disjoint from a (docs/tile-vector-unit.md: reductions write each
      // result after its segment is read).
      std::string d = rng_() % 3 == 0 ? a : addr(n / seg);
      uint32_t dv = value(d), av = value(a);
      if (d != a && dv < av + n && av < dv + n / seg)
        d = a;
      return mn + " d=" + d + ", a=" + a + ns + ", seg=" + std::to_string(seg);
    }
    case Opcode::VAdamW: {
      n = 1 + n / 3;
      ns = ", n=" + std::to_string(n);
      // p, g and m|v disjoint: p in [0, n), g in [n, 2n), mv in [2n, 4n), shifted.
      uint32_t span = 4 * n, off = uint32_t(rng_() % (words_ - span + 1));
      uint32_t p = off, g = off + n, mv = off + 2 * n;
      if (rng_() % 3 == 0) // overlapping p / g / m|v: sequential semantics, one lane
        g = rng_() % 2 ? p + uint32_t(rng_() % 3) : mv + uint32_t(rng_() % n);
      return mn + " p=" + std::to_string(p) + ", g=" + std::to_string(g) +
             ", mv=" + std::to_string(mv) + ns + ", hp=f" + std::to_string(rng_() % 8);
    }
    default:
      return "";
    }
  }

private:
  std::mt19937_64 &rng_;
  uint32_t words_;
  std::vector<uint32_t> r_;
};

/// AdamW-like hyperparameters in f0..f8 and random FP32 scalars in f9..f15 for a few of
/// the runs; otherwise every f register random (mostly finite).
std::vector<uint32_t> randomFregs(std::mt19937_64 &rng) {
  std::vector<uint32_t> f(16);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  for (auto &x : f)
    x = rng() % 8 == 0 ? uint32_t(rng()) : bitsOf(u(rng));
  if (rng() % 2) {
    const float hp[9] = {1e-3f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, 0.99999f, 10.f, 1000.f};
    unsigned fs = unsigned(rng() % 8);
    for (unsigned j = 0; j < 9; ++j)
      f[(fs + j) % 16] = bitsOf(hp[j]);
  }
  return f;
}

const std::vector<Opcode> kVectorOps = {Opcode::VAdd,  Opcode::VSub,  Opcode::VMul, Opcode::VMax,
                                        Opcode::VAddS, Opcode::VMulS, Opcode::VExp, Opcode::VRsqrt,
                                        Opcode::VGelu, Opcode::VFill, Opcode::VSum, Opcode::VAmax,
                                        Opcode::VAdamW};

/// `batches` runs of `perBatch` random instructions of the ops in `ops` on fixture `f`.
size_t randomRuns(VuFixture &f, const std::vector<Opcode> &ops, unsigned batches, unsigned perBatch,
                  uint32_t maxN, uint64_t seed) {
  std::mt19937_64 rng(seed);
  size_t checked = 0;
  for (unsigned t = 0; t < batches; ++t) {
    std::vector<uint32_t> r = {uint32_t(rng() % 64), uint32_t(rng() % 128),
                               uint32_t(rng() % f.cfg.accWords())};
    std::vector<uint8_t> dram = randomDram(rng, f.cfg.accWords());
    InsnGen gen(rng, f.cfg.accWords(), r);
    std::string test;
    for (unsigned i = 0; i < perBatch; ++i)
      test += gen.make(ops[rng() % ops.size()], maxN) + "\n";
    auto cycles = f.check(f.setup(r, randomFregs(rng)), test, dram);
    checked += cycles.size();
    if (::testing::Test::HasFailure())
      break;
  }
  return checked;
}

TEST(VectorUnit, BuildsAndRejectsBadParameters) {
  TileConfig cfg = smallTest();
  hw::Design d;
  auto m = rtl::buildVectorUnit(d, cfg, GenParams::forConfig(cfg));
  ASSERT_TRUE(m.ok()) << m.error().render();
  EXPECT_EQ(m.value()->name(), "tessera_vu");
  size_t rd = 0, wr = 0;
  for (const hw::Port &p : m.value()->ports) {
    rd += p.name.rfind("acc_rd", 0) == 0 && p.name.find("_addr") != std::string::npos;
    wr += p.name.rfind("acc_wr", 0) == 0 && p.name.find("_addr") != std::string::npos;
  }
  // Lane 0: a, b, p, v; lanes 1..3: a, b (+ p, v for the microcode); writes d, m, v per lane.
  EXPECT_EQ(rd, 4u + 2 * 3 + 2 * 3);
  EXPECT_EQ(wr, 3u + 3 + 2 * 3);
  std::printf("tessera_vu (lanes = 4): %zu hw ops, %zu ACC read ports, %zu ACC write ports\n",
              m.value()->ops.size(), rd, wr);
  TileConfig bad = cfg;
  bad.lanes = 0;
  hw::Design d2;
  auto e = rtl::buildVectorUnit(d2, bad, GenParams::forConfig(bad));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().id, "unsupported-parameter");
  bad.lanes = 1024;
  hw::Design d3;
  e = rtl::buildVectorUnit(d3, bad, GenParams::forConfig(bad));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().id, "unsupported-parameter");
}

TEST(VectorUnit, EveryOpDirected) {
  VuFixture &f = small();
  ASSERT_TRUE(f.h);
  // ACC: 0..63 special and boundary values, the rest ramps.
  std::vector<uint32_t> acc(f.cfg.accWords());
  const uint32_t edge[] = {0,          0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x3F800000,
                           0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x80800000, 0x42B17218,
                           0x42B17217, 0xC2AEAC50, 0xC2AEAC4F, 0x43000000, 0xC3000000, 0x42FFFFFF,
                           0xC2FFFFFF, 0x3EFFFFFF, 0x3F000000, 0xBF000000, 0x34000000, 0xB4000000,
                           0x41200000, 0xC1200000, 0x40000000, 0x3E800000, 0x3FB8AA3B, 0x3F317218,
                           0x4B000000, 0xCB000000};
  for (uint32_t i = 0; i < acc.size(); ++i)
    acc[i] = i < std::size(edge) ? edge[i] : bitsOf(float(int(i) - 128) / 16.f);
  std::vector<uint8_t> dram(acc.size() * 4);
  std::memcpy(dram.data(), acc.data(), dram.size());
  std::vector<uint32_t> fr(16);
  const float hp[9] = {1e-3f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, 0.99999f, 10.f, 1000.f};
  for (unsigned j = 0; j < 9; ++j)
    fr[j] = bitsOf(hp[j]);
  fr[9] = 0x7FC00000;
  fr[10] = 0x00000001; // subnormal: vfill writes +0
  fr[11] = 0xFF800000;
  fr[12] = bitsOf(-2.5f);
  std::string setup = f.setup({32, 64, 200}, fr);
  const char *tests[] = {
      "vadd d=128, a=0, b=r1+0, n=32",
      "vsub d=128, a=0, b=r1+0, n=32",
      "vmul d=160, a=0, b=r1+0, n=32",
      "vmax d=128, a=0, b=16, n=32",
      "vmax d=0, a=0, b=1, n=31", // partial overlap: forwarding
      "vadd d=r2+0, a=r2+0, b=32, n=64, seg=16, bcast",
      "vadd d=1, a=0, b=0, n=40", // d = a + 1: sequential semantics
      "vadds d=128, a=0, f=f12, n=64",
      "vadds d=128, a=0, f=f9, n=8",
      "vmuls d=r2+0, a=r2+0, f=f11, n=64",
      "vexp d=128, a=0, n=64",
      "vexp d=0, a=0, n=32",
      "vrsqrt d=128, a=0, n=64",
      "vgelu d=128, a=0, n=64",
      "vgelu d=64, a=64, n=128",
      "vfill d=0, f=f10, n=8",
      "vfill d=8, f=f9, n=8",
      "vfill d=250, f=f12, n=6",
      "vsum d=200, a=0, n=64, seg=16",
      "vsum d=0, a=0, n=64, seg=64",
      "vsum d=201, a=64, n=63, seg=7",
      "vamax d=210, a=0, n=64, seg=8",
      "vamax d=0, a=64, n=128, seg=1", // d below a
      "vadamw p=64, g=96, mv=128, n=32, hp=f0",
      "vadamw p=64, g=66, mv=128, n=32, hp=f0", // p and g overlap: one lane
      "vadamw p=70, g=32, mv=64, n=8, hp=f0",   // p inside m|v: one lane
      "vexp d=3, a=0, n=40",                    // d above a, overlapping: one lane
      "vgelu d=0, a=2, n=40",                   // d below a: all lanes
  };
  size_t checked = 0;
  for (const char *t : tests) {
    f.check(setup, t, dram);
    ++checked;
  }
  std::printf("directed: %zu vector instructions checked\n", checked);
}

TEST(VectorUnit, RandomInstructionsEveryOp) {
  VuFixture &f = small();
  ASSERT_TRUE(f.h);
  size_t n = randomRuns(f, kVectorOps, 40, 6, 48, 11);
  std::printf("random: %zu vector instructions of %zu opcodes checked\n", n, kVectorOps.size());
}

TEST(VectorUnit, RandomInstructionsPerOp) {
  VuFixture &f = small();
  ASSERT_TRUE(f.h);
  size_t total = 0;
  for (Opcode op : kVectorOps) {
    size_t n = randomRuns(f, {op}, 3, 4, 40, 100 + unsigned(op));
    total += n;
    if (::testing::Test::HasFailure())
      break;
  }
  std::printf("random per op: %zu vector instructions checked\n", total);
}

TEST(VectorUnit, DenseMicrocodedOps) {
  // Whole-ACC runs of the microcoded functions: many elements per instruction, arguments
  // spread over the whole interesting range (exp's scaling boundaries, GELU's tails).
  VuFixture &f = small();
  ASSERT_TRUE(f.h);
  std::mt19937_64 rng(77);
  const uint32_t W = f.cfg.accWords();
  size_t elements = 0;
  for (unsigned t = 0; t < 12; ++t) {
    std::vector<uint8_t> dram = randomDram(rng, W);
    if (t % 2) { // uniform over [-100, 100] and over random exponents
      for (uint32_t i = 0; i < W; ++i) {
        uint32_t v = i % 2 ? bitsOf(std::uniform_real_distribution<float>(-100.f, 100.f)(rng))
                           : (uint32_t(rng()) & 0x80000000u) | (uint32_t(100 + rng() % 36) << 23) |
                                 (uint32_t(rng()) & 0x7FFFFF);
        std::memcpy(&dram[4 * i], &v, 4);
      }
    }
    std::string test = "vexp d=0, a=0, n=" + std::to_string(W) + "\n";
    f.check(f.setup({}, randomFregs(rng)), test, dram);
    test = "vgelu d=0, a=0, n=" + std::to_string(W) + "\n";
    f.check(f.setup({}, randomFregs(rng)), test, dram);
    test = "vrsqrt d=0, a=0, n=" + std::to_string(W) + "\n";
    f.check(f.setup({}, randomFregs(rng)), test, dram);
    test = "vadamw p=0, g=" + std::to_string(W / 4) + ", mv=" + std::to_string(W / 2) +
           ", n=" + std::to_string(W / 4) + ", hp=f0\n";
    f.check(f.setup({}, randomFregs(rng)), test, dram);
    elements += 3 * W + W / 4;
    if (::testing::Test::HasFailure())
      break;
  }
  std::printf("dense: %zu elements of vexp / vgelu / vrsqrt / vadamw checked\n", elements);
}

TEST(VectorUnit, CyclesPerElement) {
  VuFixture &f = small();
  ASSERT_TRUE(f.h);
  std::mt19937_64 rng(5);
  std::vector<uint8_t> dram = randomDram(rng, f.cfg.accWords());
  std::vector<uint32_t> fr(16, bitsOf(0.5f));
  std::string setup = f.setup({}, fr);
  const std::pair<const char *, const char *> runs[] = {
      {"vadd", "vadd d=128, a=0, b=64, n=%u"},
      {"vadds", "vadds d=128, a=0, f=f1, n=%u"},
      {"vadd-1", "vadd d=1, a=0, b=128, n=%u"}, // d overlaps a one word up: one lane
      {"vfill", "vfill d=128, f=f1, n=%u"},
      {"vexp", "vexp d=128, a=0, n=%u"},
      {"vrsqrt", "vrsqrt d=128, a=0, n=%u"},
      {"vgelu", "vgelu d=128, a=0, n=%u"},
      {"vsum/4", "vsum d=128, a=0, n=%u, seg=4"},
      {"vsum/64", "vamax d=128, a=0, n=%u, seg=%u"},
      {"vadamw", "vadamw p=0, g=32, mv=64, n=%u, hp=f0"}};
  std::printf("%-8s %10s %10s %10s\n", "op", "n=32", "n=64", "golden64");
  for (auto [name, fmt] : runs) {
    uint64_t c[2] = {0, 0}, gold = 0;
    for (unsigned k = 0; k < 2; ++k) {
      unsigned nn = std::strcmp(name, "vadamw") == 0 ? 16u * (k + 1) : 32u * (k + 1);
      char buf[128];
      std::snprintf(buf, sizeof buf, fmt, nn, nn);
      std::vector<uint64_t> g;
      auto cyc = f.check(setup, buf, dram, &g);
      ASSERT_EQ(cyc.size(), 1u) << buf;
      c[k] = cyc[0];
      gold = g.empty() ? 0 : g[0];
    }
    std::printf("%-8s %10llu %10llu %10llu  (%.2f cycles / element)\n", name,
                (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)gold,
                double(c[1] - c[0]) / (std::strcmp(name, "vadamw") == 0 ? 16 : 32));
    // The stream ops take one cycle per group of `lanes` elements, or per element when d
    // overlaps an operand above it; their latency is the golden model's plus the done cycle
    // (completion is the cycle after the done pulse, which comes with the last write).
    if (std::strcmp(name, "vadd") == 0 || std::strcmp(name, "vadds") == 0 ||
        std::strcmp(name, "vfill") == 0) {
      EXPECT_EQ(c[1] - c[0], 32u / f.cfg.lanes) << name;
      EXPECT_EQ(c[1], gold + 1) << name;
    }
    if (std::strcmp(name, "vadd-1") == 0) {
      EXPECT_EQ(c[1] - c[0], 32u) << name;
    }
  }
}

TEST(VectorUnit, RangeFaults) {
  VuFixture &f = small();
  ASSERT_TRUE(f.h);
  std::vector<uint8_t> dram(16);
  std::array<uint32_t, 16> regs{}, fregs{};
  regs[1] = 250; // r1: near the end of the 256-word ACC
  regs[2] = 0xFFFFFFF0u;
  struct Case {
    const char *text;
    uint32_t addr;
  } cases[] = {
      {"vadd d=0, a=r1+0, b=0, n=16", 250},           // a first
      {"vadd d=r1+0, a=0, b=r1+0, n=16", 250},        // then b
      {"vmul d=r1+0, a=0, b=16, n=16", 250},          // then d
      {"vsum d=r1+0, a=0, n=64, seg=8", 250},         // d has n / seg words: 250 + 8 > 256
      {"vexp d=r2+0, a=0, n=8", 0xFFFFFFF0u},         // wraps: not a small address
      {"vadamw p=0, g=16, mv=r1+0, n=4, hp=f0", 250}, // m and v: 2n words
      {"vfill d=r1+6, f=f0, n=1", 256},
      {"vadd d=0, a=0, b=r1+0, n=64, seg=8, bcast", 250}, // b: n / seg = 8 words
  };
  for (const Case &c : cases) {
    // A fresh unit (fault is sticky until reset).
    auto h = runtime::UnitHarness::create(f.cfg, f.gp, UnitKind::Vector);
    ASSERT_TRUE(h.ok()) << h.error().render();
    auto prog = assemble(std::string(c.text) + "\nhalt\n", "<fault>", &f.cfg);
    ASSERT_TRUE(prog.ok()) << prog.error().render();
    auto r = h.value()->execute(prog.value().code[0], regs, fregs, dram, 10000);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().id, "rtl-fault") << c.text;
    char want[32];
    std::snprintf(want, sizeof want, "0x%08x", c.addr);
    EXPECT_NE(r.error().message.find(want), std::string::npos)
        << c.text << ": " << r.error().message;
    // The golden model faults on the same instruction.
    std::vector<uint8_t> gd(16);
    std::string setup = "li r1, 250\nli r2, 0xFFFFFFF0\n";
    auto gp = assemble(setup + c.text + "\nhalt\n", "<fault>", &f.cfg);
    ASSERT_TRUE(gp.ok()) << gp.error().render();
    auto g = runGolden(f.cfg, gp.value(), gd);
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_EQ(g.error().id, "address-out-of-range") << c.text;
  }
}

TEST(VectorUnit, OtherLaneCounts) {
  // Odd and power-of-two lane counts change the reduction tree; a larger ACC moves the
  // range limits.
  for (unsigned lanes : {1u, 5u, 16u}) {
    TileConfig cfg = smallTest();
    cfg.lanes = lanes;
    cfg.accBytes = 2048;
    VuFixture f(cfg);
    ASSERT_TRUE(f.h) << lanes;
    size_t n = randomRuns(f, kVectorOps, 6, 6, 64, 700 + lanes);
    std::printf("lanes=%u: %zu vector instructions checked\n", lanes, n);
  }
}

TEST(VectorUnit, EmittedVerilogPassesVerilatorLint) {
  if (verilog::test::runTool("verilator --version").rc != 0)
    GTEST_SKIP() << "verilator not installed";
  for (unsigned lanes : {4u, 1u, 5u}) {
    TileConfig cfg = smallTest();
    cfg.lanes = lanes;
    hw::Design d;
    auto m = rtl::buildVectorUnit(d, cfg, GenParams::forConfig(cfg));
    ASSERT_TRUE(m.ok()) << m.error().render();
    d.topName = "tessera_vu";
    auto v = verilog::emitVerilog(d);
    ASSERT_TRUE(v.ok()) << v.error().render();
    verilog::test::TempDir dir("vu-lint");
    std::string file = dir.write("vu.v", v.value());
    auto lint = verilog::test::verilatorLint(file, "tessera_vu");
    EXPECT_EQ(lint.rc, 0) << "lanes " << lanes << ": " << lint.output;
    EXPECT_EQ(lint.output.find("%Warning"), std::string::npos)
        << "lanes " << lanes << ": " << lint.output;
  }
}

} // namespace
} // namespace tessera::accel
