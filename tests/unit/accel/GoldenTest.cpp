//===- GoldenTest.cpp - the golden model against independent references ------===//
//
// Programs are assembled from text, run on the small-test tile (4x4 PEs, W = 4) or a
// configured one, and their results compared with references written here: a triple loop
// over numerics::dotAccumulate with the documented grouping (docs/isa.md 5.3), a double
// matmul within a bound, numerics::convertFromFp32 / quantizeMx for stores, the numerics
// functions for vector ops. Timing is checked against the formulas of docs/isa.md 7.
//
//===----------------------------------------------------------------------===//
#include "accel/Golden.h"

#include "accel/Assembler.h"
#include "arch/ArchSpec.h"
#include "numerics/Numerics.h"
#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

using namespace tessera;
using namespace tessera::accel;
using numerics::Format;

namespace {

const std::string kSmallTest = std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml";

TileConfig smallTile() {
  auto spec = arch::loadArchSpec(kSmallTest);
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().render());
  return TileConfig::fromArchSpec(*spec);
}

AsmProgram assembleOk(const std::string &text, const TileConfig &cfg) {
  auto p = assemble(text, "test.s", &cfg);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().render()) << "\n" << text;
  return p.ok() ? *p : AsmProgram{};
}

GoldenResult runOk(const TileConfig &cfg, const std::string &text, std::vector<uint8_t> &dram,
                   bool trace = true) {
  AsmProgram p = assembleOk(text, cfg);
  GoldenOptions o;
  o.trace = trace;
  auto r = runGolden(cfg, p, dram, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().render());
  return r.ok() ? std::move(*r) : GoldenResult{};
}

Diagnostic runFails(const TileConfig &cfg, const std::string &text, std::vector<uint8_t> &dram) {
  AsmProgram p = assembleOk(text, cfg);
  auto r = runGolden(cfg, p, dram);
  EXPECT_FALSE(r.ok());
  return r.ok() ? Diagnostic{} : r.error();
}

uint32_t rd32(const std::vector<uint8_t> &m, size_t a) {
  return uint32_t(m[a]) | uint32_t(m[a + 1]) << 8 | uint32_t(m[a + 2]) << 16 |
         uint32_t(m[a + 3]) << 24;
}
void wr32(std::vector<uint8_t> &m, size_t a, uint32_t v) {
  for (int b = 0; b < 4; ++b)
    m[a + b] = uint8_t(v >> (8 * b));
}
float f32(uint32_t b) { return std::bit_cast<float>(b); }
uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

/// A random finite code of `f` with a value of moderate size (no NaN / Inf).
uint32_t randomCode(std::mt19937 &rng, Format f, double zeroProb = 0.05) {
  const auto &fi = numerics::formatInfo(f);
  while (true) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < zeroProb)
      return 0;
    uint32_t c = rng() & ((1u << fi.bits) - 1);
    if (f == Format::BF16 || f == Format::FP16) // keep exponents near 1
      c = (c & 0x807F) | (f == Format::BF16 ? 0x3C00 + ((rng() % 16) << 7) : 0x3400 + ((rng() % 8) << 10));
    double v = numerics::decode(f, c);
    if (std::isfinite(v))
      return c;
  }
}

struct Mat {
  unsigned rows = 0, cols = 0;
  std::vector<uint32_t> codes; // row-major
  uint32_t at(unsigned r, unsigned c) const { return codes[r * cols + c]; }
};

Mat randomMat(std::mt19937 &rng, unsigned rows, unsigned cols, Format f, double zeroProb = 0.05) {
  Mat m{rows, cols, std::vector<uint32_t>(size_t(rows) * cols)};
  for (auto &c : m.codes)
    c = randomCode(rng, f, zeroProb);
  return m;
}
Mat transpose(const Mat &m) {
  Mat t{m.cols, m.rows, std::vector<uint32_t>(m.codes.size())};
  for (unsigned r = 0; r < m.rows; ++r)
    for (unsigned c = 0; c < m.cols; ++c)
      t.codes[c * m.rows + r] = m.at(r, c);
  return t;
}

/// Writes a matrix's codes as a packed row-major stream at `addr`.
void storeMat(std::vector<uint8_t> &mem, size_t addr, const Mat &m, unsigned bitsPer) {
  for (size_t e = 0; e < m.codes.size(); ++e)
    writePacked(mem, addr, e, bitsPer, m.codes[e]);
}

/// Reference C = A . B^T: per output, ascending steps of stepK dense K positions, pieces
/// split at MX block boundaries when `mx`, one dotAccumulate per piece (docs/isa.md 5.3).
std::vector<uint32_t> refGemm(const Mat &A, Format fa, const Mat &B, Format fb, unsigned stepK,
                              bool mx, const std::vector<uint8_t> *sa = nullptr,
                              const std::vector<uint8_t> *sb = nullptr) {
  unsigned M = A.rows, N = B.rows, K = A.cols;
  unsigned nb = (K + 31) / 32;
  std::vector<uint32_t> C(size_t(M) * N);
  for (unsigned i = 0; i < M; ++i)
    for (unsigned j = 0; j < N; ++j) {
      uint32_t acc = 0;
      for (unsigned k0 = 0; k0 < K; k0 += stepK) {
        unsigned k1 = std::min(K, k0 + stepK);
        for (unsigned g0 = k0; g0 < k1;) {
          unsigned g1 = mx ? std::min(k1, (g0 / 32 + 1) * 32) : k1;
          std::vector<uint32_t> a(&A.codes[i * K + g0], &A.codes[i * K + g1]);
          std::vector<uint32_t> b(&B.codes[j * K + g0], &B.codes[j * K + g1]);
          uint32_t s1 = sa ? (*sa)[i * nb + g0 / 32] : 127, s2 = sb ? (*sb)[j * nb + g0 / 32] : 127;
          acc = numerics::dotAccumulate(acc, fa, a, s1, fb, b, s2);
          g0 = g1;
        }
      }
      C[i * N + j] = acc;
    }
  return C;
}

std::string fmtName(ElemFormat f) { return std::string(elemFormatInfo(f).name); }

/// Assembly of: load A and B (raw), one GEMM, store C as FP32 at 0x8000.
struct GemmCase {
  unsigned M, N, K;
  ElemFormat fa, fb;
  bool ta = false, tb = false, accumulate = false;
  std::string zs = "off";
};
constexpr size_t kA = 0x1000, kB = 0x4000, kC = 0x8000, kSa = 0x9000, kSb = 0x9800;

std::string gemmProgram(const GemmCase &g, bool withScales = false) {
  const auto &ia = elemFormatInfo(g.fa), &ib = elemFormatInfo(g.fb);
  unsigned aRows = g.ta ? g.K : g.M, aCols = g.ta ? g.M : g.K;
  unsigned bRows = g.tb ? g.K : g.N, bCols = g.tb ? g.N : g.K;
  unsigned aBytes = aCols * ia.bits / 8, bBytes = bCols * ib.bits / 8;
  unsigned bSpad = 0x2000;
  std::ostringstream s;
  s << "  li r2, " << bSpad << "\n  li r4, 0\n  li r5, 0x100\n";
  s << "  ld spad=0, dram=" << kA << ", rows=" << aRows << ", cols=" << aCols
    << ", gstride=" << aBytes << ", lstride=" << aBytes << ", src=" << fmtName(g.fa)
    << ", dst=" << fmtName(g.fa) << "\n";
  if (withScales) {
    unsigned nb = (g.K + 31) / 32;
    s << "  ldscale scale=0, dram=" << kSa << ", rows=" << g.M << ", cols=" << nb
      << ", gstride=" << nb << ", lstride=" << nb << "\n";
    s << "  ldscale scale=0x100, dram=" << kSb << ", rows=" << g.N << ", cols=" << nb
      << ", gstride=" << nb << ", lstride=" << nb << "\n";
  }
  s << "  ld spad=" << bSpad << ", dram=" << kB << ", rows=" << bRows << ", cols=" << bCols
    << ", gstride=" << bBytes << ", lstride=" << bBytes << ", src=" << fmtName(g.fb)
    << ", dst=" << fmtName(g.fb) << ", push_next\n";
  s << "  gemm c=r0, a=r0, b=r2, m=" << g.M << ", n=" << g.N << ", k=" << g.K
    << ", lda=" << aCols << ", ldb=" << bCols << ", ldc=" << g.N << ", fa=" << fmtName(g.fa)
    << ", fb=" << fmtName(g.fb) << (withScales ? ", sa=r4, sb=r5" : "") << ", zs=" << g.zs
    << (g.accumulate ? ", acc" : "") << (g.ta ? ", ta" : "") << (g.tb ? ", tb" : "")
    << ", pop_prev, push_next\n";
  s << "  st acc=0, dram=" << kC << ", rows=" << g.M << ", cols=" << g.N
    << ", gstride=" << 4 * g.N << ", lstride=" << g.N << ", fmt=fp32, pop_prev\n  halt\n";
  return s.str();
}

std::vector<uint32_t> readC(const std::vector<uint8_t> &dram, unsigned M, unsigned N) {
  std::vector<uint32_t> c(size_t(M) * N);
  for (size_t x = 0; x < c.size(); ++x)
    c[x] = rd32(dram, kC + 4 * x);
  return c;
}

/// |C - exact| bound for one output: the window keeps 26 bits below the largest term of a
/// step, so each step loses < (terms + 1) * 2^-26 of its largest term, plus the final
/// rounding; bounded by 2^-21 * (sum |a b| + |running sums|) for the sizes used here.
void expectNearExact(const Mat &A, Format fa, const Mat &B, Format fb,
                     const std::vector<uint32_t> &C, double scaleA = 1, double scaleB = 1) {
  for (unsigned i = 0; i < A.rows; ++i)
    for (unsigned j = 0; j < B.rows; ++j) {
      double exact = 0, mag = 0;
      for (unsigned k = 0; k < A.cols; ++k) {
        double p = numerics::decode(fa, A.at(i, k)) * numerics::decode(fb, B.at(j, k)) * scaleA *
                   scaleB;
        exact += p;
        mag += std::fabs(p);
      }
      double got = f32(C[i * B.rows + j]);
      EXPECT_LE(std::fabs(got - exact), mag * std::ldexp(1.0, -21) * (A.cols / 4 + 1) + 1e-30)
          << "C[" << i << "][" << j << "]";
    }
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

TEST(Golden, GemmDenseFormatsAgainstReference) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(11);
  const ElemFormat fmts[] = {ElemFormat::Bf16, ElemFormat::E4m3, ElemFormat::E5m2};
  int runs = 0;
  for (ElemFormat fa : fmts)
    for (ElemFormat fb : fmts)
      for (int rep = 0; rep < 3; ++rep) {
        GemmCase g{unsigned(1 + rng() % 4), unsigned(1 + rng() % 4), unsigned(1 + rng() % 100), fa, fb};
        const auto &ia = elemFormatInfo(fa), &ib = elemFormatInfo(fb);
        Mat A = randomMat(rng, g.M, g.K, ia.element), B = randomMat(rng, g.N, g.K, ib.element);
        std::vector<uint8_t> dram(0x10000, 0);
        storeMat(dram, kA, A, ia.bits);
        storeMat(dram, kB, B, ib.bits);
        GoldenResult r = runOk(cfg, gemmProgram(g), dram);
        std::vector<uint32_t> C = readC(dram, g.M, g.N);
        EXPECT_EQ(C, refGemm(A, ia.element, B, ib.element, cfg.dotWidth, false))
            << fmtName(fa) << " x " << fmtName(fb) << " K=" << g.K;
        expectNearExact(A, ia.element, B, ib.element, C);
        ++runs;
      }
  EXPECT_EQ(runs, 27);
}

TEST(Golden, GemmTransposedOperands) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(12);
  for (int rep = 0; rep < 6; ++rep) {
    GemmCase g{unsigned(1 + rng() % 4), unsigned(1 + rng() % 4), unsigned(8 + rng() % 60), ElemFormat::E4m3,
               ElemFormat::Bf16};
    g.ta = rep & 1;
    g.tb = rep & 2 || rep == 4;
    Mat A = randomMat(rng, g.M, g.K, Format::E4M3), B = randomMat(rng, g.N, g.K, Format::BF16);
    std::vector<uint8_t> dram(0x10000, 0);
    storeMat(dram, kA, g.ta ? transpose(A) : A, 8);
    storeMat(dram, kB, g.tb ? transpose(B) : B, 16);
    runOk(cfg, gemmProgram(g), dram);
    EXPECT_EQ(readC(dram, g.M, g.N), refGemm(A, Format::E4M3, B, Format::BF16, 4, false))
        << "ta=" << g.ta << " tb=" << g.tb;
  }
}

TEST(Golden, GemmMxfp8WithScales) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(13);
  for (int rep = 0; rep < 4; ++rep) {
    GemmCase g{4, 3, unsigned(32 * (1 + rep)), ElemFormat::MxE4m3,
               rep % 2 ? ElemFormat::MxE5m2 : ElemFormat::MxE4m3};
    const auto &ib = elemFormatInfo(g.fb);
    Mat A = randomMat(rng, g.M, g.K, Format::E4M3), B = randomMat(rng, g.N, g.K, ib.element);
    unsigned nb = (g.K + 31) / 32;
    std::vector<uint8_t> sa(g.M * nb), sb(g.N * nb);
    for (auto &s : sa)
      s = uint8_t(120 + rng() % 14);
    for (auto &s : sb)
      s = uint8_t(120 + rng() % 14);
    std::vector<uint8_t> dram(0x10000, 0);
    storeMat(dram, kA, A, 8);
    storeMat(dram, kB, B, 8);
    std::copy(sa.begin(), sa.end(), dram.begin() + kSa);
    std::copy(sb.begin(), sb.end(), dram.begin() + kSb);
    runOk(cfg, gemmProgram(g, true), dram);
    EXPECT_EQ(readC(dram, g.M, g.N), refGemm(A, Format::E4M3, B, ib.element, 4, true, &sa, &sb))
        << "K=" << g.K;
  }
}

TEST(Golden, GemmSparse24AgainstDenseExpansion) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(14);
  for (int rep = 0; rep < 4; ++rep) {
    unsigned M = 1 + rng() % 4, N = 1 + rng() % 4, K = 8 * (2 + rng() % 8);
    Mat A = randomMat(rng, M, K, Format::E4M3, 0.0), B = randomMat(rng, N, K, Format::E4M3);
    // Compress every row of A (2:4), pack the values and indices.
    Mat Ac{M, K / 2, {}}, Ad{M, K, {}};
    std::vector<uint8_t> idx;
    for (unsigned i = 0; i < M; ++i) {
      std::span<const uint32_t> row(&A.codes[i * K], K);
      numerics::NmRow c = numerics::compressNm(row, Format::E4M3, 2, 4);
      Ac.codes.insert(Ac.codes.end(), c.values.begin(), c.values.end());
      idx.insert(idx.end(), c.index.begin(), c.index.end());
      std::vector<uint32_t> dense = numerics::expandNm(c, 2, 4);
      Ad.codes.insert(Ad.codes.end(), dense.begin(), dense.end());
    }
    std::vector<uint8_t> packed = numerics::packNmIndex(idx, 4);
    std::vector<uint8_t> dram(0x10000, 0);
    storeMat(dram, kA, Ac, 8);
    storeMat(dram, kB, B, 8);
    std::copy(packed.begin(), packed.end(), dram.begin() + 0xA000);
    std::ostringstream s;
    s << "  li r2, 0x2000\n  li r6, 0\n"
      << "  ld spad=0, dram=" << kA << ", rows=" << M << ", cols=" << K / 2 << ", gstride="
      << K / 2 << ", lstride=" << K / 2 << ", src=e4m3, dst=e4m3\n"
      << "  ldmeta meta=0, dram=0xA000, rows=1, cols=" << packed.size() << ", gstride=0, lstride=0\n"
      << "  ld spad=0x2000, dram=" << kB << ", rows=" << N << ", cols=" << K << ", gstride=" << K
      << ", lstride=" << K << ", src=e4m3, dst=e4m3, push_next\n"
      << "  gemmsp c=r0, a=r0, b=r2, meta=r6, nm=2:4, m=" << M << ", n=" << N << ", k=" << K
      << ", lda=" << K / 2 << ", ldb=" << K << ", ldc=" << N
      << ", fa=e4m3, fb=e4m3, pop_prev, push_next\n"
      << "  st acc=0, dram=" << kC << ", rows=" << M << ", cols=" << N << ", gstride=" << 4 * N
      << ", lstride=" << N << ", fmt=fp32, pop_prev\n  halt\n";
    GoldenResult r = runOk(cfg, s.str(), dram);
    // A step covers W * m/n = 8 dense positions; zero products are no terms, so the dense
    // expansion with the same step gives the same bits.
    EXPECT_EQ(readC(dram, M, N), refGemm(Ad, Format::E4M3, B, Format::E4M3, 8, false)) << K;
    ASSERT_FALSE(r.trace.empty());
    for (const TraceEntry &t : r.trace)
      if (t.index == 5) { // the gemmsp
        EXPECT_EQ(t.end - t.start, (K + 7) / 8 + cfg.rows + cfg.cols);
      }
  }
}

TEST(Golden, ZeroSkippingSameResultsFewerCycles) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(15);
  GemmCase g{4, 4, 64, ElemFormat::E4m3, ElemFormat::E4m3};
  Mat A = randomMat(rng, 4, 64, Format::E4M3), B = randomMat(rng, 4, 64, Format::E4M3);
  for (unsigned i = 0; i < 4; ++i) // K chunks 8..23 and 40..43 are zero in every row (-0 too)
    for (unsigned k = 0; k < 64; ++k)
      if ((k >= 8 && k < 24) || (k >= 40 && k < 44))
        A.codes[i * 64 + k] = (k % 3) ? 0x00 : 0x80;
  std::vector<uint64_t> cycles;
  std::vector<std::vector<uint32_t>> results;
  for (const char *zs : {"off", "a", "b", "either"}) {
    g.zs = zs;
    std::vector<uint8_t> dram(0x10000, 0);
    storeMat(dram, kA, A, 8);
    storeMat(dram, kB, B, 8);
    GoldenResult r = runOk(cfg, gemmProgram(g), dram);
    results.push_back(readC(dram, 4, 4));
    uint64_t skipped = 0, gemmCycles = 0;
    for (const TraceEntry &t : r.trace)
      if (t.queue == Queue::Compute) {
        skipped = t.skippedSteps;
        gemmCycles = t.end - t.start;
      }
    EXPECT_EQ(gemmCycles, 16 - skipped + cfg.rows + cfg.cols) << zs;
    EXPECT_EQ(skipped, std::string(zs) == "a" || std::string(zs) == "either" ? 5u : 0u) << zs;
    cycles.push_back(r.cycles);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[3]);
  EXPECT_EQ(results[0], refGemm(A, Format::E4M3, B, Format::E4M3, 4, false));
  EXPECT_EQ(cycles[1] + 5, cycles[0]);
}

TEST(Golden, ZeroSkipKeepsNegativeZeroAccumulator) {
  // C preloaded with -0 / values through ldacc; an all-zero A with zs=a skips every step and
  // a computed all-zero GEMM (zs=off) must leave the same bits.
  TileConfig cfg = smallTile();
  std::vector<uint32_t> init = {0x80000000u, 0x3F800000u, 0x7F800000u, 0x7FC00000u,
                                0xFF800000u, 0x00000000u, 0xC1200000u, 0x80000000u};
  std::vector<std::vector<uint32_t>> out;
  for (const char *zs : {"off", "a"}) {
    std::vector<uint8_t> dram(0x10000, 0);
    for (size_t x = 0; x < init.size(); ++x)
      wr32(dram, 0xC000 + 4 * x, init[x]);
    for (unsigned k = 0; k < 2 * 32; ++k)
      dram[kB + k] = 0x38 + (k % 5); // B finite, A all zero
    std::string text = std::string("  li r2, 0x2000\n") +
                       "  ldacc acc=0, dram=0xC000, rows=2, cols=4, gstride=16, lstride=4, src=fp32\n"
                       "  ld spad=0, dram=0x1000, rows=2, cols=32, gstride=32, lstride=32, src=e4m3, dst=e4m3\n"
                       "  ld spad=0x2000, dram=0x4000, rows=4, cols=32, gstride=32, lstride=32, src=e4m3, dst=e4m3, push_next\n"
                       "  gemm c=r0, a=r0, b=r2, m=2, n=4, k=32, lda=32, ldb=32, ldc=4, fa=e4m3, fb=e4m3, acc, zs=" +
                       zs + ", pop_prev, push_next\n"
                       "  st acc=0, dram=0x8000, rows=2, cols=4, gstride=16, lstride=4, fmt=fp32, pop_prev\n  halt\n";
    runOk(cfg, text, dram);
    out.push_back(readC(dram, 2, 4));
  }
  EXPECT_EQ(out[0], init);
  EXPECT_EQ(out[1], init);
}

TEST(Golden, GemmTimingFormulaAndIssueOverlap) {
  TileConfig cfg = smallTile();
  std::vector<uint8_t> dram(0x10000, 0);
  // Two GEMMs into disjoint C regions: the second starts max(steps, rows) after the first;
  // a third into the first's C waits for the first to complete.
  std::string text = "  li r2, 0x400\n  li r3, 16\n"
                     "  gemm c=r0, a=r0, b=r2, m=4, n=4, k=40, lda=40, ldb=40, ldc=4, fa=e4m3, fb=e4m3\n"
                     "  gemm c=r3, a=r0, b=r2, m=4, n=4, k=8, lda=40, ldb=40, ldc=4, fa=e4m3, fb=e4m3\n"
                     "  gemm c=r0, a=r0, b=r2, m=4, n=4, k=100, lda=100, ldb=100, ldc=4, fa=bf16, fb=bf16\n"
                     "  halt\n";
  GoldenResult r = runOk(cfg, text, dram);
  ASSERT_EQ(r.trace.size(), 3u);
  const TraceEntry &g1 = r.trace[0], &g2 = r.trace[1], &g3 = r.trace[2];
  EXPECT_EQ(g1.start, 3u); // dispatched at cycle 2 (after two li), starts the next cycle
  EXPECT_EQ(g1.end - g1.start, 10u + 4 + 4);
  EXPECT_EQ(g2.start, g1.start + 10);
  EXPECT_EQ(g2.end - g2.start, 2u + 4 + 4);
  // g3 overlaps g1's C: starts when g1 completes (later than g2.start + max(2, 4)).
  EXPECT_EQ(g3.start, std::max(g1.end, g2.start + 4));
  EXPECT_EQ(g3.end - g3.start, 25u + 4 + 4);
  EXPECT_EQ(r.cycles, g3.end);
  EXPECT_EQ(r.gemmSteps, 10u + 2 + 25);
}

//===----------------------------------------------------------------------===//
// Loads and stores
//===----------------------------------------------------------------------===//

TEST(Golden, LoadsConvertFormats) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(16);
  std::vector<uint8_t> dram(0x10000, 0);
  std::vector<uint32_t> src(64);
  for (size_t x = 0; x < src.size(); ++x) {
    src[x] = x < 4 ? std::vector<uint32_t>{0x7F800000u, 0xFF800001u, 0x00000003u, 0x47800000u}[x]
                   : bits(std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), int(rng() % 40) - 20));
    wr32(dram, 0x100 + 4 * x, src[x]);
  }
  std::string text =
      "  ld spad=0, dram=0x100, rows=2, cols=32, gstride=128, lstride=64, src=fp32, dst=bf16\n"
      "  ld spad=0x200, dram=0x100, rows=1, cols=64, gstride=0, lstride=0, src=fp32, dst=e4m3\n"
      "  ld spad=0x300, dram=0x100, rows=1, cols=64, gstride=0, lstride=0, src=fp32, dst=e5m2\n"
      "  ldacc acc=16, dram=0x100, rows=4, cols=16, gstride=64, lstride=20, src=fp32\n"
      "  halt\n";
  GoldenResult r = runOk(cfg, text, dram);
  using numerics::Overflow, numerics::Rounding;
  for (size_t x = 0; x < 64; ++x) {
    uint32_t bf = numerics::convertFromFp32(src[x], Format::BF16, Rounding::Nearest, Overflow::Ieee);
    EXPECT_EQ(readPacked(r.spad, 0, x, 16), bf) << x;
    EXPECT_EQ(r.spad[0x200 + x], numerics::convertFromFp32(src[x], Format::E4M3, Rounding::Nearest, Overflow::Ieee));
    EXPECT_EQ(r.spad[0x300 + x], numerics::convertFromFp32(src[x], Format::E5M2, Rounding::Nearest, Overflow::Ieee));
    uint32_t want = src[x];
    if ((want & 0x7F800000u) == 0)
      want &= 0x80000000u; // canon: subnormal -> zero
    if ((want & 0x7F800000u) == 0x7F800000u && (want & 0x7FFFFF))
      want = 0x7FC00000u;
    EXPECT_EQ(r.acc[16 + (x / 16) * 20 + x % 16], want) << x;
  }
  // DMA timing: latency + rows * ceil(rowBytes / bytesPerCycle) on the DRAM side.
  ASSERT_EQ(r.trace.size(), 4u);
  uint64_t bpc = cfg.dmaBytesPerCycle;
  EXPECT_EQ(r.trace[0].end - r.trace[0].start, cfg.dmaLatency + 2 * ((128 + bpc - 1) / bpc));
  EXPECT_EQ(r.trace[1].start, r.trace[0].end); // the DMA queue is serial
}

TEST(Golden, StoresRneSrAndStatus) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(17);
  std::vector<uint8_t> dram(0x10000, 0);
  std::vector<uint32_t> v(32);
  for (auto &x : v)
    x = bits(std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), int(rng() % 20) - 6));
  v[5] = 0x7F800000u; // Inf: OVF
  v[6] = bits(1000.0f); // beyond E4M3 max: SAT
  for (size_t x = 0; x < v.size(); ++x)
    wr32(dram, 0x100 + 4 * x, v[x]);
  std::string text =
      "  fli f3, 0.5\n"
      "  ldacc acc=0, dram=0x100, rows=1, cols=32, gstride=0, lstride=0, src=fp32, push_next\n"
      "  csync pop_prev, push_next\n"
      "  seed state=0xACE1\n"
      "  st acc=0, dram=0x1000, rows=1, cols=32, gstride=0, lstride=0, fmt=e4m3, pop_prev\n"
      "  st acc=0, dram=0x1100, rows=1, cols=32, gstride=0, lstride=0, fmt=bf16, sr\n"
      "  st acc=0, dram=0x1200, rows=1, cols=32, gstride=0, lstride=0, fmt=e5m2, prescale=f3, sat\n"
      "  ststat dram=0x1300\n"
      "  halt\n";
  GoldenResult r = runOk(cfg, text, dram);
  using numerics::Overflow, numerics::Rounding;
  uint32_t lfsr = 0xACE1, amax = 0;
  for (size_t x = 0; x < 32; ++x) {
    EXPECT_EQ(dram[0x1000 + x], numerics::convertFromFp32(v[x], Format::E4M3, Rounding::Nearest, Overflow::Ieee));
    uint32_t bf = numerics::convertFromFp32(v[x], Format::BF16, Rounding::Stochastic, Overflow::Ieee, lfsr);
    lfsr = numerics::lfsrNext(lfsr);
    EXPECT_EQ(readPacked(dram, 0x1100, x, 16), bf) << x;
    uint32_t half = numerics::fp32Mul(v[x], bits(0.5f));
    EXPECT_EQ(dram[0x1200 + x], numerics::convertFromFp32(half, Format::E5M2, Rounding::Nearest, Overflow::Saturate));
    if (x != 5)
      amax = std::max(amax, v[x] & 0x7FFFFFFFu);
  }
  EXPECT_EQ(r.lfsr, lfsr);
  EXPECT_EQ(r.amax, amax);
  EXPECT_EQ(r.flags, statflag::Ovf | statflag::Sat);
  EXPECT_EQ(rd32(dram, 0x1300), amax);
  EXPECT_EQ(rd32(dram, 0x1304), statflag::Ovf | statflag::Sat);
}

TEST(Golden, QuantizeExampleMatchesQuantizeMx) {
  // tests/data/accel/quantize.s: MXFP8 with SR + scale_up, then prescaled E5M2, ststat.
  TileConfig cfg = smallTile();
  auto text = readTextFile(std::string(TESSERA_SOURCE_DIR) + "/tests/data/accel/quantize.s");
  ASSERT_TRUE(text.ok());
  std::mt19937 rng(18);
  std::vector<uint8_t> dram(0x10000, 0);
  std::vector<uint32_t> v(4 * 64);
  for (auto &x : v)
    x = bits(std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), int(rng() % 30) - 10));
  v[70] = 0x7FC00000u; // a NaN in row 1, block 0: that block's scale is NaN, OVF set
  for (size_t x = 0; x < v.size(); ++x)
    wr32(dram, 0x4000 + 4 * x, v[x]);
  GoldenResult r = runOk(cfg, *text, dram);
  uint32_t lfsr = 0xACE1;
  for (unsigned row = 0; row < 4; ++row) {
    std::vector<uint32_t> ys(v.begin() + row * 64, v.begin() + row * 64 + 64);
    auto blocks = numerics::quantizeMx(ys, Format::E4M3, numerics::ScaleRounding::Up,
                                       numerics::Rounding::Stochastic, lfsr);
    for (int e = 0; e < 64; ++e)
      lfsr = numerics::lfsrNext(lfsr);
    for (unsigned kb = 0; kb < 2; ++kb) {
      EXPECT_EQ(dram[0x2000 + row * 2 + kb], blocks[kb].scale) << row << " " << kb;
      for (unsigned e = 0; e < 32; ++e)
        EXPECT_EQ(dram[0x1000 + row * 64 + kb * 32 + e], blocks[kb].elements[e]);
    }
  }
  EXPECT_EQ(r.lfsr, lfsr);
  EXPECT_EQ(rd32(dram, 0x3F04) & statflag::Ovf, statflag::Ovf);
}

//===----------------------------------------------------------------------===//
// Vector unit
//===----------------------------------------------------------------------===//

TEST(Golden, VectorOpsAgainstNumerics) {
  TileConfig cfg = smallTile();
  std::mt19937 rng(19);
  std::vector<uint8_t> dram(0x10000, 0);
  std::vector<uint32_t> a(64), b(64);
  for (size_t x = 0; x < 64; ++x) {
    a[x] = bits(std::uniform_real_distribution<float>(-4, 4)(rng));
    b[x] = bits(std::uniform_real_distribution<float>(0.1f, 9)(rng));
    wr32(dram, 0x100 + 4 * x, a[x]);
    wr32(dram, 0x200 + 4 * x, b[x]);
  }
  a[3] = 0x7FC00000u;
  wr32(dram, 0x100 + 12, a[3]);
  std::string text =
      "  fli f1, 1.5\n"
      "  ldacc acc=0, dram=0x100, rows=1, cols=64, gstride=0, lstride=0, src=fp32\n"
      "  ldacc acc=64, dram=0x200, rows=1, cols=64, gstride=0, lstride=0, src=fp32, push_next\n"
      "  vadd d=128, a=0, b=64, n=16, pop_prev\n"
      "  vsub d=144, a=0, b=64, n=16, seg=4, bcast\n"
      "  vmul d=160, a=0, b=64, n=16\n"
      "  vmax d=176, a=0, b=64, n=16\n"
      "  vmuls d=192, a=0, f=f1, n=16\n"
      "  vexp d=208, a=0, n=16\n"
      "  vrsqrt d=224, a=64, n=16\n"
      "  vgelu d=240, a=0, n=16\n"
      "  vsum d=0, a=64, n=64, seg=16\n"
      "  halt\n";
  GoldenResult r = runOk(cfg, text, dram);
  using namespace numerics;
  for (unsigned e = 0; e < 16; ++e) {
    EXPECT_EQ(r.acc[128 + e], fp32Add(a[e], b[e]));
    EXPECT_EQ(r.acc[144 + e], fp32Add(a[e], b[e / 4] ^ 0x80000000u));
    EXPECT_EQ(r.acc[160 + e], fp32Mul(a[e], b[e]));
    EXPECT_EQ(r.acc[176 + e], fp32Max(a[e], b[e]));
    EXPECT_EQ(r.acc[192 + e], fp32Mul(a[e], bits(1.5f)));
    EXPECT_EQ(r.acc[208 + e], fp32Exp(a[e]));
    EXPECT_EQ(r.acc[224 + e], fp32Div(bits(1.0f), fp32Sqrt(b[e])));
    EXPECT_EQ(r.acc[240 + e], fp32Gelu(a[e]));
  }
  EXPECT_EQ(r.acc[131], 0x7FC00000u);
  // vsum: lanes = 4, part[l] sums elements l, l+4, ...; then (p0+p1) + (p2+p3).
  for (unsigned s = 0; s < 4; ++s) {
    uint32_t part[4] = {0, 0, 0, 0};
    for (unsigned e = 0; e < 16; ++e)
      part[e % 4] = fp32Add(part[e % 4], b[s * 16 + e]);
    uint32_t want = fp32Add(fp32Add(part[0], part[1]), fp32Add(part[2], part[3]));
    EXPECT_EQ(r.acc[s], want) << s;
    double exact = 0;
    for (unsigned e = 0; e < 16; ++e)
      exact += f32(b[s * 16 + e]);
    EXPECT_NEAR(f32(r.acc[s]), exact, std::fabs(exact) * 1e-6);
  }
}

TEST(Golden, SoftmaxGeluAdamWExample) {
  // tests/data/accel/vector.s against double references: softmax pieces, AdamW.
  TileConfig cfg = smallTile();
  auto text = readTextFile(std::string(TESSERA_SOURCE_DIR) + "/tests/data/accel/vector.s");
  ASSERT_TRUE(text.ok());
  std::mt19937 rng(20);
  std::vector<uint32_t> x(64), p(16), g(16), m(16), v(16);
  for (auto &e : x)
    e = bits(std::uniform_real_distribution<float>(-6, 6)(rng));
  for (unsigned e = 0; e < 16; ++e) {
    p[e] = bits(std::uniform_real_distribution<float>(-1, 1)(rng));
    g[e] = bits(std::uniform_real_distribution<float>(-0.1f, 0.1f)(rng));
    m[e] = bits(std::uniform_real_distribution<float>(-0.01f, 0.01f)(rng));
    v[e] = bits(std::uniform_real_distribution<float>(0, 1e-4f)(rng));
  }
  // Preload ACC through an ldacc prefix (the example itself has no loads).
  std::vector<uint8_t> dram(0x10000, 0);
  auto put = [&](size_t addr, const std::vector<uint32_t> &w) {
    for (size_t e = 0; e < w.size(); ++e)
      wr32(dram, addr + 4 * e, w[e]);
  };
  put(0x100, x);
  put(0x300, p);
  put(0x400, g);
  put(0x500, m);
  put(0x540, v);
  std::string prefix =
      "  ldacc acc=0, dram=0x100, rows=1, cols=64, gstride=0, lstride=0, src=fp32\n"
      "  ldacc acc=128, dram=0x300, rows=1, cols=16, gstride=0, lstride=0, src=fp32\n"
      "  ldacc acc=192, dram=0x400, rows=1, cols=16, gstride=0, lstride=0, src=fp32\n"
      "  ldacc acc=0, dram=0x500, rows=1, cols=32, gstride=0, lstride=0, src=fp32, push_next\n"
      "  csync pop_prev\n";
  // The example keeps m, v at r1 = 0 (the softmax input's words): give them their own
  // place by pointing r1 at 224 before the vadamw.
  std::string body = *text;
  body.replace(body.find("mv=r1+0"), 7, "mv=r1+224");
  prefix += "  li r1, 0\n";
  prefix.replace(prefix.find("acc=0, dram=0x500"), 5, "acc=224");
  GoldenResult r = runOk(cfg, prefix + body, dram);
  // Softmax pieces: rows of 16: exp(x - max|x|) and the row sums, against double.
  for (unsigned s = 0; s < 4; ++s) {
    float mx = 0;
    for (unsigned e = 0; e < 16; ++e)
      mx = std::max(mx, std::fabs(f32(x[s * 16 + e])));
    double sum = 0;
    for (unsigned e = 0; e < 16; ++e) {
      float diff = f32(x[s * 16 + e]) - mx; // the FP32 subtraction vadd performs (normal)
      double want = std::exp(double(diff));
      sum += want;
      EXPECT_NEAR(f32(r.acc[s * 16 + e]), want, want * 1.2e-7) << s << " " << e; // <= 0.96 ulp
    }
    EXPECT_NEAR(f32(r.acc[72 + s]), sum, sum * 2e-6);
    EXPECT_NEAR(f32(r.acc[76 + s]), 1 / std::sqrt(sum), 2e-6 / std::sqrt(sum));
  }
  // AdamW step t = 1 in double with the program's FP32 hyperparameters (lr 1e-3, betas
  // 0.9 / 0.999, eps 1e-8, 1 - lr*wd = 0.99999, bias corrections 10 and 1000). m' may
  // cancel, so its bound is relative to its terms; v' and p' are relative.
  const double lr = 1e-3f, b1 = 0.9f, c1 = 0.1f, b2 = 0.999f, c2 = 0.001f, eps = 1e-8f,
               wd = 0.99999f;
  for (unsigned e = 0; e < 16; ++e) {
    double gd = f32(g[e]), m1 = b1 * f32(m[e]) + c1 * gd, v1 = b2 * f32(v[e]) + c2 * gd * gd;
    double u = (m1 * 10) / (std::sqrt(v1 * 1000) + eps);
    double pd = f32(p[e]) * wd - lr * u;
    EXPECT_NEAR(f32(r.acc[224 + e]), m1, 3e-7 * (std::fabs(b1 * f32(m[e])) + std::fabs(c1 * gd)));
    EXPECT_NEAR(f32(r.acc[240 + e]), v1, v1 * 1e-6);
    EXPECT_NEAR(f32(r.acc[128 + e]), pd, 1e-6 * std::fabs(pd) + 1e-9) << e;
  }
}

//===----------------------------------------------------------------------===//
// Tokens, loops, faults
//===----------------------------------------------------------------------===//

TEST(Golden, TiledLoopMatchesReferenceAndOverlaps) {
  TileConfig cfg = smallTile();
  auto text = readTextFile(std::string(TESSERA_SOURCE_DIR) + "/tests/data/accel/gemm-tiled.s");
  ASSERT_TRUE(text.ok());
  std::mt19937 rng(21);
  Mat A = randomMat(rng, 4, 256, Format::E4M3, 0.3), B = randomMat(rng, 4, 256, Format::E4M3);
  auto fresh = [&] {
    std::vector<uint8_t> dram(0x40000, 0);
    storeMat(dram, 0x10000, A, 8);
    storeMat(dram, 0x20000, B, 8);
    return dram;
  };
  std::vector<uint8_t> d1 = fresh();
  GoldenResult r1 = runOk(cfg, *text, d1);
  // The reference: K = 256 in steps of 4 (64 per GEMM, 4 GEMMs chained through acc), C as
  // bf16 (RNE).
  std::vector<uint32_t> C = refGemm(A, Format::E4M3, B, Format::E4M3, 4, false);
  for (unsigned x = 0; x < 16; ++x)
    EXPECT_EQ(readPacked(d1, 0x30000, x, 16),
              numerics::convertFromFp32(C[x], Format::BF16, numerics::Rounding::Nearest,
                                        numerics::Overflow::Ieee))
        << x;
  // Serialized: one buffer-free token only, so a load cannot run ahead of the GEMM.
  std::string serial = *text;
  serial.erase(serial.find("        csync   push_prev\n"), 26);
  std::vector<uint8_t> d2 = fresh();
  GoldenResult r2 = runOk(cfg, serial, d2);
  EXPECT_EQ(std::vector<uint8_t>(d1.begin() + 0x30000, d1.begin() + 0x30020),
            std::vector<uint8_t>(d2.begin() + 0x30000, d2.begin() + 0x30020));
  EXPECT_LT(r1.cycles, r2.cycles);
  // Unrolled (no loop, no register arithmetic in the body): same bytes, same cycles minus
  // the front end's loop-control fetches at most.
  std::ostringstream u;
  u << "  li r9, 0\n  li r10, 0x30000\n  csync push_prev\n  csync push_prev\n";
  for (unsigned t = 0; t < 4; ++t) {
    unsigned buf = (t % 2) * 512;
    u << "  li r1, " << 0x10000 + 64 * t << "\n  li r2, " << 0x20000 + 64 * t << "\n"
      << "  ld spad=" << buf << ", dram=r1"
      << ", rows=4, cols=64, gstride=256, lstride=64, src=e4m3, dst=e4m3, pop_next\n"
      << "  ld spad=" << buf + 256 << ", dram=r2"
      << ", rows=4, cols=64, gstride=256, lstride=64, src=e4m3, dst=e4m3, push_next\n"
      << "  li r3, " << buf << "\n  li r5, " << buf + 256 << "\n"
      << "  gemm c=r9, a=r3, b=r5, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, acc, zs=a, pop_prev, push_prev\n";
  }
  u << "  csync push_next\n  st acc=r9, dram=r10, rows=4, cols=4, gstride=8, lstride=4, fmt=bf16, pop_prev\n  halt\n";
  std::vector<uint8_t> d3 = fresh();
  GoldenResult r3 = runOk(cfg, u.str(), d3);
  EXPECT_EQ(d1, d3);
  EXPECT_EQ(r1.acc, r3.acc);
  EXPECT_EQ(r1.executed[2], 4u + 3); // 4 GEMMs + 3 csync
  EXPECT_GT(r1.busy[1], 0u);
}

TEST(Golden, TokenDeadlock) {
  TileConfig cfg = smallTile();
  std::vector<uint8_t> dram(0x1000, 0);
  Diagnostic d = runFails(cfg, "  li r2, 64\n  gemm c=r0, a=r0, b=r2, m=4, n=4, k=8, lda=8, "
                               "ldb=8, ldc=4, fa=e4m3, fb=e4m3, pop_prev\n  halt\n",
                          dram);
  EXPECT_EQ(d.id, "token-deadlock");
  EXPECT_NE(d.message.find("instruction 1 `gemm"), std::string::npos) << d.message;
  EXPECT_EQ(d.loc.line, 2u);
}

TEST(Golden, AddressOutOfRange) {
  TileConfig cfg = smallTile();
  std::vector<uint8_t> dram(0x1000, 0);
  Diagnostic d = runFails(cfg, "  li r1, 0xF80\n  ld spad=0, dram=r1, rows=3, cols=64, gstride=64, "
                               "lstride=64, src=e4m3, dst=e4m3\n  halt\n",
                          dram);
  EXPECT_EQ(d.id, "address-out-of-range");
  EXPECT_NE(d.message.find("DRAM 0x1000..0x1040"), std::string::npos) << d.message;
  // A register base beyond the ACC.
  d = runFails(cfg, "  li r1, 250\n  vfill d=r1, f=f0, n=8\n  halt\n", dram);
  EXPECT_EQ(d.id, "address-out-of-range");
  EXPECT_NE(d.message.find("ACC 0xfa..0x102"), std::string::npos) << d.message;
}

TEST(Golden, PcOutOfRange) {
  TileConfig cfg = smallTile();
  std::vector<uint8_t> dram(16, 0);
  Diagnostic d = runFails(cfg, "  li r1, 3\ntop:\n  loop r1, tail\n  halt\ntail:\n  nop\n", dram);
  EXPECT_EQ(d.id, "pc-out-of-range");
}

TEST(Golden, UnsynchronizedAccess) {
  TileConfig cfg = smallTile();
  std::vector<uint8_t> dram(0x1000, 0);
  // The GEMM reads SPAD bytes the load writes, without a token between them.
  Diagnostic d = runFails(cfg,
                          "  li r2, 64\n"
                          "  ld spad=0, dram=0, rows=4, cols=8, gstride=8, lstride=8, src=e4m3, dst=e4m3\n"
                          "  gemm c=r0, a=r0, b=r2, m=4, n=4, k=8, lda=8, ldb=8, ldc=4, fa=e4m3, fb=e4m3\n"
                          "  halt\n",
                          dram);
  EXPECT_EQ(d.id, "unsynchronized-access");
  EXPECT_NE(d.message.find("SPAD"), std::string::npos) << d.message;
  // With the token the same program runs; disjoint bytes need no token.
  std::vector<uint8_t> dram2(0x1000, 0);
  runOk(cfg,
        "  li r2, 64\n  li r3, 128\n"
        "  ld spad=r3, dram=0, rows=4, cols=8, gstride=8, lstride=8, src=e4m3, dst=e4m3\n"
        "  gemm c=r0, a=r0, b=r2, m=4, n=4, k=8, lda=8, ldb=8, ldc=4, fa=e4m3, fb=e4m3\n"
        "  halt\n",
        dram2);
}

TEST(Golden, LargeGemmIsFast) {
  TileConfig cfg;
  cfg.rows = cfg.cols = 64;
  cfg.dotWidth = 16;
  cfg.spadBytes = 256 * 1024;
  cfg.accBytes = 64 * 64 * 4;
  cfg.scaleBytes = cfg.spadBytes / 16;
  cfg.metaBytes = cfg.spadBytes / 4;
  cfg.formats = {{ElemFormat::E4m3, 1, false}};
  std::mt19937 rng(22);
  Mat A = randomMat(rng, 64, 1024, Format::E4M3), B = randomMat(rng, 64, 1024, Format::E4M3);
  std::vector<uint8_t> dram(0x40000, 0);
  storeMat(dram, 0, A, 8);
  storeMat(dram, 0x10000, B, 8);
  std::string text =
      "  li r2, 0x10000\n"
      "  ld spad=0, dram=0, rows=64, cols=1024, gstride=1024, lstride=1024, src=e4m3, dst=e4m3\n"
      "  ld spad=r2, dram=r2, rows=64, cols=1024, gstride=1024, lstride=1024, src=e4m3, dst=e4m3, push_next\n"
      "  gemm c=r0, a=r0, b=r2, m=64, n=64, k=1024, lda=1024, ldb=1024, ldc=64, fa=e4m3, fb=e4m3, pop_prev\n"
      "  halt\n";
  auto t0 = std::chrono::steady_clock::now();
  GoldenResult r = runOk(cfg, text, dram);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ golden   ] 64x64x1024 e4m3 GEMM program: %.3f s, %llu cycles\n", s,
              (unsigned long long)r.cycles);
  EXPECT_LT(s, 1.0);
  // Spot-check a few outputs against the reference.
  for (unsigned i : {0u, 17u, 63u}) {
    Mat a1{1, 1024, std::vector<uint32_t>(&A.codes[i * 1024], &A.codes[i * 1024 + 1024])};
    std::vector<uint32_t> ref = refGemm(a1, Format::E4M3, B, Format::E4M3, 16, false);
    for (unsigned j = 0; j < 64; ++j)
      ASSERT_EQ(r.acc[i * 64 + j], ref[j]) << i << " " << j;
  }
}

} // namespace
