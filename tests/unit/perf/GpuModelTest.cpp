#include "perf/Collectives.h"
#include "perf/GpuModel.h"

#include <gtest/gtest.h>

using namespace tessera;
using namespace tessera::perf;
using workload::DType;
using workload::GemmShape;

namespace {
GpuModel gpu(const char *name) { return GpuModel(*gpuByName(name)); }
double tflops(const GpuModel &g, int64_t m, int64_t k, int64_t n,
              DType t = DType::F16) {
  GemmShape s;
  s.m = m;
  s.k = k;
  s.n = n;
  return s.flops() / g.gemm(s, t).seconds / 1e12;
}
} // namespace

// The cuBLAS sweep of gpu-baselines.md: every point within 10 %.
TEST(GpuModel, CublasSweepWithinTenPercent) {
  GpuModel a100 = gpu("a100");
  const std::pair<int64_t, double> sweep[] = {{64, 101.7},   {128, 193.0},  {256, 242.7},
                                              {512, 252.7},  {1024, 257.9}, {2048, 262.2},
                                              {4096, 277.5}, {8192, 286.9}, {16384, 290.5},
                                              {32768, 279.2}};
  for (auto [m, ref] : sweep) {
    double t = tflops(a100, m, 12288, 12288);
    EXPECT_NEAR(t / ref, 1.0, 0.10) << "M=" << m << " model " << t << " published " << ref;
  }
}

TEST(GpuModel, NeverAbovePeakAndMonotoneInSize) {
  GpuModel a100 = gpu("a100");
  for (int64_t m : {1, 7, 64, 1000, 4096, 65536})
    for (int64_t k : {16, 64, 1024, 12288})
      EXPECT_LT(tflops(a100, m, k, 4096), 312.0) << m << " " << k;
  // Small K is dominated by prologue/epilogue and memory.
  EXPECT_LT(tflops(a100, 8192, 64, 8192), 0.6 * tflops(a100, 8192, 8192, 8192));
}

TEST(GpuModel, WaveQuantizationShowsUp) {
  GpuModel a100 = gpu("a100");
  // 108 SMs: 108 256x128 tiles fill one wave exactly, 109 need a second one.
  double full = tflops(a100, 256 * 9, 8192, 128 * 12);
  double spill = tflops(a100, 256 * 9 + 1, 8192, 128 * 12);
  EXPECT_GT(full, spill * 1.2);
}

TEST(GpuModel, DtypePeaksAndH100) {
  GpuModel a100 = gpu("a100"), h100 = gpu("h100");
  EXPECT_EQ(a100.peakFlops(DType::FP8E4M3), 0);
  EXPECT_GT(h100.peakFlops(DType::FP8E4M3), 1.9e15);
  double ha = tflops(h100, 8192, 8192, 8192), aa = tflops(a100, 8192, 8192, 8192);
  EXPECT_GT(ha / aa, 2.2);
  EXPECT_LT(ha / aa, 3.2);
  EXPECT_GT(tflops(h100, 8192, 8192, 8192, DType::FP8E4M3), 1.5 * ha);
}

TEST(GpuModel, UnknownGpuSuggests) {
  auto r = gpuByName("a10O");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "unknown-gpu");
  EXPECT_NE(r.error().render().find("did you mean 'a100'"), std::string::npos);
}

TEST(Collectives, RingArithmetic) {
  Link l{100e9, 1.0, 0};
  EXPECT_DOUBLE_EQ(collectiveSeconds(CollectiveKind::AllReduce, 8e9, 8, l), 2 * 7.0 / 8 * 8e9 / 100e9);
  EXPECT_DOUBLE_EQ(collectiveSeconds(CollectiveKind::AllGather, 8e9, 8, l), 7.0 / 8 * 8e9 / 100e9);
  EXPECT_EQ(collectiveSeconds(CollectiveKind::AllReduce, 8e9, 1, l), 0);
}
