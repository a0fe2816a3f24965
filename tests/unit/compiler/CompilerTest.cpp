//===- CompilerTest.cpp - lowerings against a plain C++ reference ------------===//
//
// Small graphs are compiled for the small-test tile (4x4 PEs, 16 KiB SPAD, 256 ACC words)
// or the default tessera-train-7nm tile, run on the golden model through the runtime,
// and compared with a double-precision C++ reference: GEMM tiling with ragged edges,
// transposes and K splits under both policies (fp32: <= 1e-5 relative; bf16: the
// element-wise bound of docs/compiler.md), an MLP forward pass and training step
// (loss, gradients, AdamW-updated weights), and the error cases.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "arch/ArchSpec.h"
#include "compiler/MemoryPlan.h"
#include "numerics/Numerics.h"
#include "runtime/Runtime.h"
#include "support/FileIO.h"

#include "CompilerTestUtil.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <random>

using namespace tessera;
using namespace tessera::compiler;
using namespace tessera::compiler::testutil;
using workload::Graph;
using workload::Op;
using workload::OpKind;
using workload::TensorId;
using workload::TensorRole;

namespace {

double maxRelErr(const std::vector<float> &out, const std::vector<double> &ref) {
  double num = 0, den = 1e-30;
  EXPECT_EQ(out.size(), ref.size());
  for (size_t i = 0; i < std::min(out.size(), ref.size()); ++i) {
    num = std::max(num, std::abs(double(out[i]) - ref[i]));
    den = std::max(den, std::abs(ref[i]));
  }
  return num / den;
}

/// C = op(A) op(B) in double; A is [M,K] or [K,M] (ta), B [K,N] or [N,K] (tb).
/// absSum gets sum_k |a||b| per element (for error bounds).
std::vector<double> refMatMul(const std::vector<float> &a, const std::vector<float> &b, int64_t m,
                              int64_t k, int64_t n, bool ta, bool tb,
                              std::vector<double> *absSum = nullptr) {
  std::vector<double> c(size_t(m * n));
  if (absSum)
    absSum->assign(size_t(m * n), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0, as = 0;
      for (int64_t q = 0; q < k; ++q) {
        double x = ta ? a[size_t(q * m + i)] : a[size_t(i * k + q)];
        double y = tb ? b[size_t(j * k + q)] : b[size_t(q * n + j)];
        s += x * y;
        as += std::abs(x * y);
      }
      c[size_t(i * n + j)] = s;
      if (absSum)
        (*absSum)[size_t(i * n + j)] = as;
    }
  return c;
}

struct GemmCase {
  int64_t m, k, n;
  bool ta, tb;
  Policy policy;
  const char *arch;
  uint32_t maxTileK;
};

void runGemmCase(const GemmCase &c) {
  SCOPED_TRACE("M=" + std::to_string(c.m) + " K=" + std::to_string(c.k) + " N=" +
               std::to_string(c.n) + " ta=" + std::to_string(c.ta) + " tb=" + std::to_string(c.tb) +
               " policy=" + std::string(policyName(c.policy)) + " " + c.arch);
  Graph g("gemm");
  TensorId a = tensor(g, "a", c.ta ? workload::Shape{c.k, c.m} : workload::Shape{c.m, c.k},
                      TensorRole::Input);
  TensorId b = tensor(g, "b", c.tb ? workload::Shape{c.n, c.k} : workload::Shape{c.k, c.n},
                      TensorRole::Input);
  TensorId y = tensor(g, "y", {c.m, c.n}, TensorRole::Activation);
  workload::OpAttrs at;
  at.transA = c.ta;
  at.transB = c.tb;
  op(g, OpKind::MatMul, "mm", {a, b}, {y}, at);
  g.inputs() = {a, b};
  g.outputs() = {y};
  CompileOptions opts;
  opts.policy = c.policy;
  opts.maxTileK = c.maxTileK;
  auto prog = compile(g, {}, loadArch(c.arch), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  auto av = randomVec(size_t(c.m * c.k), 1), bv = randomVec(size_t(c.k * c.n), 2);
  ASSERT_TRUE(rt.write("a", av).ok());
  ASSERT_TRUE(rt.write("b", bv).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  std::vector<double> absSum;
  auto ref = refMatMul(av, bv, c.m, c.k, c.n, c.ta, c.tb, &absSum);
  auto out = readOk(rt, "y");
  if (c.policy == Policy::Fp32) {
    EXPECT_LE(maxRelErr(out, ref), 1e-5);
  } else {
    // BF16 operands (unit roundoff 2^-8 each), exact products, FP32 accumulation.
    double u = std::ldexp(1.0, -8), acc = double(c.k) * std::ldexp(1.0, -24);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_LE(std::abs(out[i] - ref[i]), (2 * u + u * u + acc) * absSum[i] + 1e-30) << i;
    EXPECT_GT(maxRelErr(out, ref), 1e-6); // BF16 is visibly not FP32
  }
}

TEST(CompilerGemm, TilesRaggedEdgesTransposesBothPolicies) {
  for (Policy p : {Policy::Fp32, Policy::Bf16})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        runGemmCase({5, 7, 9, ta, tb, p, "small-test.yaml", 0});
}

TEST(CompilerGemm, KSplitBeyondScratchpad) {
  // small-test: 16 KiB SPAD; fp32 needs 3 copies of each 4-row operand tile, so K = 700
  // cannot be one slice; maxTileK forces more splits on the default tile.
  runGemmCase({6, 700, 5, false, true, Policy::Fp32, "small-test.yaml", 0});
  runGemmCase({6, 700, 5, true, false, Policy::Bf16, "small-test.yaml", 0});
  runGemmCase({19, 100, 33, false, false, Policy::Fp32, "tessera-train-7nm.yaml", 24});
}

/// MXFP8: the device's quantize-on-store copies and MX GEMM against the same quantization
/// on the host (numerics::quantizeMx, E4M3, floor scales, RNE) and exact products.
TEST(CompilerGemm, Mxfp8MatchesHostQuantization) {
  struct Case {
    int64_t m, k, n;
    bool ta, tb;
    const char *arch;
  };
  for (const Case &c : {Case{5, 40, 9, false, true, "small-test.yaml"},
                        Case{6, 70, 5, true, false, "small-test.yaml"},
                        Case{19, 96, 33, false, false, "tessera-train-7nm.yaml"},
                        // K beyond one DMA's 4095 rows in the transposed gather
                        Case{3, 4200, 2, true, false, "tessera-train-7nm.yaml"}}) {
    SCOPED_TRACE("M=" + std::to_string(c.m) + " K=" + std::to_string(c.k) + " " + c.arch);
    Graph g("mx");
    TensorId a = tensor(g, "a", c.ta ? workload::Shape{c.k, c.m} : workload::Shape{c.m, c.k},
                        TensorRole::Input);
    TensorId b = tensor(g, "b", c.tb ? workload::Shape{c.n, c.k} : workload::Shape{c.k, c.n},
                        TensorRole::Input);
    TensorId y = tensor(g, "y", {c.m, c.n}, TensorRole::Activation);
    workload::OpAttrs at;
    at.transA = c.ta;
    at.transB = c.tb;
    op(g, OpKind::MatMul, "mm", {a, b}, {y}, at);
    g.inputs() = {a, b};
    g.outputs() = {y};
    CompileOptions opts;
    opts.policy = Policy::Mxfp8;
    auto prog = compile(g, {}, loadArch(c.arch), opts);
    ASSERT_TRUE(prog.ok()) << prog.error().render();
    runtime::Runtime rt = load(std::move(*prog));
    auto av = randomVec(size_t(c.m * c.k), 71), bv = randomVec(size_t(c.k * c.n), 72);
    for (size_t i = 0; i < av.size(); i += 7)
      av[i] *= 40.0f; // blocks with a wide range
    ASSERT_TRUE(rt.write("a", av).ok());
    ASSERT_TRUE(rt.write("b", bv).ok());
    auto r = rt.run(runtime::Backend::Golden);
    ASSERT_TRUE(r.ok()) << r.error().render();
    // Host quantization of the rows along K (zero-padded to whole blocks).
    const int64_t kp = (c.k + 31) / 32 * 32;
    auto quantRows = [&](auto at, int64_t rows) {
      std::vector<double> q(size_t(rows * kp));
      for (int64_t i = 0; i < rows; ++i) {
        std::vector<uint32_t> bits(size_t(kp), 0);
        for (int64_t k = 0; k < c.k; ++k)
          bits[size_t(k)] = std::bit_cast<uint32_t>(at(i, k));
        auto blocks =
            numerics::quantizeMx(bits, numerics::Format::E4M3, numerics::ScaleRounding::Floor,
                                 numerics::Rounding::Nearest);
        for (int64_t k = 0; k < kp; ++k) {
          const numerics::MxBlock &bl = blocks[size_t(k / 32)];
          q[size_t(i * kp + k)] = std::bit_cast<float>(
              numerics::mxDecode(numerics::Format::E4M3, bl.scale, bl.elements[size_t(k % 32)]));
        }
      }
      return q;
    };
    auto qa = quantRows(
        [&](int64_t i, int64_t k) { return av[size_t(c.ta ? k * c.m + i : i * c.k + k)]; }, c.m);
    auto qb = quantRows(
        [&](int64_t j, int64_t k) { return bv[size_t(c.tb ? j * c.k + k : k * c.n + j)]; }, c.n);
    auto out = readOk(rt, "y");
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double s = 0, as = 0;
        for (int64_t k = 0; k < kp; ++k) {
          double p = qa[size_t(i * kp + k)] * qb[size_t(j * kp + k)];
          s += p;
          as += std::abs(p);
        }
        ASSERT_LE(std::abs(out[size_t(i * c.n + j)] - s), 1e-6 * as + 1e-30) << i << "," << j;
      }
  }
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, batch norm (NCHW) against direct loops
//===----------------------------------------------------------------------===//

struct ConvCase {
  int64_t n, c, h, w, o, k, stride, pad;
  Policy policy;
};

void runConvCase(const ConvCase &cc) {
  SCOPED_TRACE("conv C=" + std::to_string(cc.c) + " H=" + std::to_string(cc.h) +
               " W=" + std::to_string(cc.w) + " O=" + std::to_string(cc.o) +
               " k=" + std::to_string(cc.k) + " s=" + std::to_string(cc.stride) +
               " p=" + std::to_string(cc.pad) + " " + std::string(policyName(cc.policy)));
  int64_t oh = (cc.h + 2 * cc.pad - cc.k) / cc.stride + 1,
          ow = (cc.w + 2 * cc.pad - cc.k) / cc.stride + 1;
  Graph g("conv");
  TensorId x = tensor(g, "x", {cc.n, cc.c, cc.h, cc.w}, TensorRole::Input);
  TensorId wt = tensor(g, "w", {cc.o, cc.c, cc.k, cc.k}, TensorRole::Parameter);
  TensorId bias = tensor(g, "b", {cc.o, 1, 1}, TensorRole::Parameter);
  TensorId y0 = tensor(g, "conv", {cc.n, cc.o, oh, ow}, TensorRole::Activation);
  TensorId y = tensor(g, "y", {cc.n, cc.o, oh, ow}, TensorRole::Activation);
  workload::OpAttrs at;
  at.strideH = at.strideW = cc.stride;
  at.padT = at.padL = at.padB = at.padR = cc.pad;
  op(g, OpKind::Conv2d, "Conv_0", {x, wt}, {y0}, at);
  op(g, OpKind::Add, "Conv_0/bias", {y0, bias}, {y});
  g.inputs() = {x};
  g.outputs() = {y};
  Initializers init;
  auto wv = randomVec(size_t(cc.o * cc.c * cc.k * cc.k), 11), bv = randomVec(size_t(cc.o), 12);
  init.values[wt.v] = wv;
  init.values[bias.v] = bv;
  CompileOptions opts;
  opts.policy = cc.policy;
  auto prog = compile(g, init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  auto xv = randomVec(size_t(cc.n * cc.c * cc.h * cc.w), 13);
  ASSERT_TRUE(rt.write("x", xv).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  std::vector<double> ref, absSum;
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t o = 0; o < cc.o; ++o)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double s = 0, as = 0;
          for (int64_t c = 0; c < cc.c; ++c)
            for (int64_t i = 0; i < cc.k; ++i)
              for (int64_t j = 0; j < cc.k; ++j) {
                int64_t iy = oy * cc.stride - cc.pad + i, ix = ox * cc.stride - cc.pad + j;
                if (iy < 0 || iy >= cc.h || ix < 0 || ix >= cc.w)
                  continue;
                double p = double(wv[size_t(((o * cc.c + c) * cc.k + i) * cc.k + j)]) *
                           xv[size_t(((n * cc.c + c) * cc.h + iy) * cc.w + ix)];
                s += p;
                as += std::abs(p);
              }
          ref.push_back(s + bv[size_t(o)]);
          absSum.push_back(as + std::abs(bv[size_t(o)]));
        }
  auto out = readOk(rt, "y");
  if (cc.policy == Policy::Fp32) {
    EXPECT_LE(maxRelErr(out, ref), 1e-5);
  } else {
    double u = std::ldexp(1.0, -8), acc = double(cc.c * cc.k * cc.k + 1) * std::ldexp(1.0, -24);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_LE(std::abs(out[i] - ref[i]), (2 * u + u * u + acc) * absSum[i] + 1e-30) << i;
  }
}

TEST(CompilerConv, PaddingStridesBothPolicies) {
  for (Policy p : {Policy::Fp32, Policy::Bf16}) {
    runConvCase({2, 3, 7, 6, 5, 3, 1, 1, p});
    runConvCase({2, 3, 7, 6, 5, 3, 2, 1, p});
    runConvCase({1, 4, 6, 6, 3, 1, 2, 0, p});
  }
  // More im2col rows than ACC holds at once (256 words / 36-element planes).
  runConvCase({1, 9, 6, 6, 2, 3, 1, 1, Policy::Bf16});
  // 144-element planes: the per-channel bias segments are longer than an ACC chunk.
  runConvCase({2, 2, 12, 12, 3, 3, 1, 1, Policy::Fp32});
}

TEST(CompilerPool, MaxPoolGlobalAvgPoolBatchNorm) {
  const int64_t n = 2, c = 3, h = 7, w = 6;
  Graph g("pool");
  TensorId x = tensor(g, "x", {n, c, h, w}, TensorRole::Input);
  TensorId scale = tensor(g, "bn.weight", {c}, TensorRole::Parameter);
  TensorId shift = tensor(g, "bn.bias", {c}, TensorRole::Parameter);
  TensorId mean = tensor(g, "bn.running_mean", {c}, TensorRole::Constant);
  TensorId var = tensor(g, "bn.running_var", {c}, TensorRole::Constant);
  TensorId bn = tensor(g, "bn", {n, c, h, w}, TensorRole::Activation);
  TensorId mp = tensor(g, "mp", {n, c, 4, 3}, TensorRole::Activation);   // k3 s2 p1
  TensorId mp2 = tensor(g, "mp2", {n, c, 3, 3}, TensorRole::Activation); // k2 s2 p0
  TensorId gap = tensor(g, "gap", {n, c, 1, 1}, TensorRole::Activation);
  workload::OpAttrs bna;
  bna.eps = 1e-5;
  op(g, OpKind::BatchNorm, "BatchNormalization_0", {x, scale, shift, mean, var}, {bn}, bna);
  workload::OpAttrs p1;
  p1.kernelH = p1.kernelW = 3;
  p1.strideH = p1.strideW = 2;
  p1.padT = p1.padL = p1.padB = p1.padR = 1;
  op(g, OpKind::MaxPool2d, "MaxPool_1", {bn}, {mp}, p1);
  workload::OpAttrs p2;
  p2.kernelH = p2.kernelW = 2;
  p2.strideH = p2.strideW = 2;
  op(g, OpKind::MaxPool2d, "MaxPool_2", {x}, {mp2}, p2);
  op(g, OpKind::GlobalAvgPool, "GlobalAveragePool_3", {x}, {gap});
  g.inputs() = {x};
  g.outputs() = {mp, mp2, gap};
  Initializers init;
  auto sv = randomVec(size_t(c), 21), shv = randomVec(size_t(c), 22), mv = randomVec(size_t(c), 23),
       vv = randomVec(size_t(c), 24);
  for (float &v : vv)
    v = std::abs(v) + 0.1f;
  init.values[scale.v] = sv;
  init.values[shift.v] = shv;
  init.values[mean.v] = mv;
  init.values[var.v] = vv;
  auto prog = compile(g, init, loadArch("small-test.yaml"), {});
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  auto xv = randomVec(size_t(n * c * h * w), 25, 3.0f);
  ASSERT_TRUE(rt.write("x", xv).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  auto X = [&](int64_t i, int64_t ch, int64_t y, int64_t xx) {
    return xv[size_t(((i * c + ch) * h + y) * w + xx)];
  };
  auto bnv = [&](int64_t i, int64_t ch, int64_t y, int64_t xx) {
    double a = double(sv[size_t(ch)]) / std::sqrt(double(vv[size_t(ch)]) + 1e-5);
    return (double(X(i, ch, y, xx)) - mv[size_t(ch)]) * a + shv[size_t(ch)];
  };
  auto pool = [&](auto f, int64_t k, int64_t s, int64_t pad, int64_t oh, int64_t ow) {
    std::vector<double> out;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            double m = -INFINITY;
            for (int64_t a = 0; a < k; ++a)
              for (int64_t b = 0; b < k; ++b) {
                int64_t y = oy * s - pad + a, xx = ox * s - pad + b;
                if (y >= 0 && y < h && xx >= 0 && xx < w)
                  m = std::max(m, f(i, ch, y, xx));
              }
            out.push_back(m);
          }
    return out;
  };
  EXPECT_LE(maxRelErr(readOk(rt, "mp"), pool(bnv, 3, 2, 1, 4, 3)), 1e-6);
  auto exact =
      pool([&](int64_t i, int64_t ch, int64_t y, int64_t xx) { return double(X(i, ch, y, xx)); }, 2,
           2, 0, 3, 3);
  EXPECT_EQ(maxRelErr(readOk(rt, "mp2"), exact), 0.0); // max is exact
  std::vector<double> gref;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      double s = 0;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx)
          s += X(i, ch, y, xx);
      gref.push_back(s / double(h * w));
    }
  EXPECT_LE(maxRelErr(readOk(rt, "gap"), gref), 1e-6);
}

/// The backward ops of a convolution / max-pool / batch norm, each against direct loops.
TEST(CompilerConv, BackwardOpsAgainstLoops) {
  const int64_t n = 2, c = 3, h = 7, w = 6, o = 4, k = 3, s = 2, pad = 1;
  const int64_t oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
  Graph g("backward");
  TensorId x = tensor(g, "x", {n, c, h, w}, TensorRole::Input);
  TensorId dy = tensor(g, "dy", {n, o, oh, ow}, TensorRole::Input);
  TensorId wt = tensor(g, "w", {o, c, k, k}, TensorRole::Input);
  TensorId dw = tensor(g, "dw", {o, c, k, k}, TensorRole::Gradient);
  TensorId dx = tensor(g, "dx", {n, c, h, w}, TensorRole::Gradient);
  // Max-pool 2x2 stride 2 over integer-valued x (ties: the first maximum takes it all).
  TensorId xq = tensor(g, "xq", {n, c, 4, 4}, TensorRole::Input);
  TensorId pdy = tensor(g, "pdy", {n, c, 2, 2}, TensorRole::Input);
  TensorId pdx = tensor(g, "pdx", {n, c, 4, 4}, TensorRole::Gradient);
  workload::OpAttrs ca;
  ca.strideH = ca.strideW = s;
  ca.padT = ca.padL = ca.padB = ca.padR = pad;
  op(g, OpKind::Conv2dGradWeight, "Conv.wgrad", {x, dy}, {dw}, ca);
  op(g, OpKind::Conv2dGradInput, "Conv.dgrad", {dy, wt}, {dx}, ca);
  workload::OpAttrs pa;
  pa.kernelH = pa.kernelW = 2;
  pa.strideH = pa.strideW = 2;
  pa.of = OpKind::MaxPool2d;
  op(g, OpKind::PoolGrad, "MaxPool.dgrad", {pdy, xq}, {pdx}, pa);
  g.inputs() = {x, dy, wt, xq, pdy};
  g.outputs() = {dw, dx, pdx};
  for (Policy pol : {Policy::Fp32, Policy::Bf16}) {
    SCOPED_TRACE(std::string(policyName(pol)));
    CompileOptions opts;
    opts.policy = pol;
    auto prog = compile(g, {}, loadArch("tessera-train-7nm.yaml"), opts);
    ASSERT_TRUE(prog.ok()) << prog.error().render();
    runtime::Runtime rt = load(std::move(*prog));
    auto xv = randomVec(size_t(n * c * h * w), 31), dyv = randomVec(size_t(n * o * oh * ow), 32),
         wv = randomVec(size_t(o * c * k * k), 33), xqv = randomVec(size_t(n * c * 16), 34, 2.5f),
         pdyv = randomVec(size_t(n * c * 4), 35);
    for (float &v : xqv)
      v = std::round(v); // many ties in each window
    ASSERT_TRUE(rt.write("x", xv).ok());
    ASSERT_TRUE(rt.write("dy", dyv).ok());
    ASSERT_TRUE(rt.write("w", wv).ok());
    ASSERT_TRUE(rt.write("xq", xqv).ok());
    ASSERT_TRUE(rt.write("pdy", pdyv).ok());
    auto r = rt.run(runtime::Backend::Golden);
    ASSERT_TRUE(r.ok()) << r.error().render();
    std::vector<double> dwRef(size_t(o * c * k * k), 0), dxRef(size_t(n * c * h * w), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t oc = 0; oc < o; ++oc)
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t xx = 0; xx < ow; ++xx)
            for (int64_t ch = 0; ch < c; ++ch)
              for (int64_t a = 0; a < k; ++a)
                for (int64_t b = 0; b < k; ++b) {
                  int64_t iy = y * s - pad + a, ix = xx * s - pad + b;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                    continue;
                  double d = dyv[size_t(((i * o + oc) * oh + y) * ow + xx)];
                  size_t wi = size_t(((oc * c + ch) * k + a) * k + b);
                  size_t xi = size_t(((i * c + ch) * h + iy) * w + ix);
                  dwRef[wi] += d * xv[xi];
                  dxRef[xi] += d * wv[wi];
                }
    double tol = pol == Policy::Fp32 ? 1e-5 : 3e-2;
    EXPECT_LE(maxRelErr(readOk(rt, "dw"), dwRef), tol);
    EXPECT_LE(maxRelErr(readOk(rt, "dx"), dxRef), tol);
    std::vector<double> pdxRef(size_t(n * c * 16), 0);
    for (int64_t pl = 0; pl < n * c; ++pl)
      for (int64_t y = 0; y < 2; ++y)
        for (int64_t xx = 0; xx < 2; ++xx) {
          size_t best = 0;
          float m = -INFINITY;
          for (int64_t a = 0; a < 2; ++a)
            for (int64_t b = 0; b < 2; ++b) {
              size_t at = size_t(pl * 16 + (2 * y + a) * 4 + 2 * xx + b);
              if (xqv[at] > m) {
                m = xqv[at];
                best = at;
              }
            }
          pdxRef[best] += pdyv[size_t(pl * 4 + y * 2 + xx)];
        }
    EXPECT_EQ(maxRelErr(readOk(rt, "pdx"), pdxRef), 0.0); // routing is exact
  }
}

TEST(CompilerPool, BatchNormGradAgainstLoops) {
  const int64_t n = 2, c = 3, h = 4, w = 5;
  Graph g("bn");
  TensorId x = tensor(g, "x", {n, c, h, w}, TensorRole::Input);
  TensorId scale = tensor(g, "bn.weight", {c}, TensorRole::Parameter);
  TensorId shift = tensor(g, "bn.bias", {c}, TensorRole::Parameter);
  TensorId mean = tensor(g, "bn.running_mean", {c}, TensorRole::Constant);
  TensorId var = tensor(g, "bn.running_var", {c}, TensorRole::Constant);
  TensorId y = tensor(g, "y", {n, c, h, w}, TensorRole::Activation);
  TensorId dy = tensor(g, "dy", {n, c, h, w}, TensorRole::Input);
  TensorId dx = tensor(g, "dx", {n, c, h, w}, TensorRole::Gradient);
  TensorId ds = tensor(g, "dscale", {c}, TensorRole::Gradient);
  TensorId db = tensor(g, "dbias", {c}, TensorRole::Gradient);
  workload::OpAttrs a;
  a.eps = 1e-3;
  op(g, OpKind::BatchNorm, "bn", {x, scale, shift, mean, var}, {y}, a);
  Op grad;
  grad.kind = OpKind::BatchNormGrad;
  grad.name = "bn.dgrad";
  grad.inputs = {dy, x, scale};
  grad.outputs = {dx, ds, db};
  grad.attrs = a;
  grad.phase = workload::Phase::BackwardData;
  grad.forwardOf = workload::OpId{0};
  g.addOp(grad);
  g.inputs() = {x, dy};
  g.outputs() = {y, dx, ds, db};
  Initializers init;
  auto sv = randomVec(size_t(c), 41), bv = randomVec(size_t(c), 42), mv = randomVec(size_t(c), 43),
       vv = randomVec(size_t(c), 44);
  for (float &v : vv)
    v = std::abs(v) + 0.2f;
  init.values = {{scale.v, sv}, {shift.v, bv}, {mean.v, mv}, {var.v, vv}};
  auto prog = compile(g, init, loadArch("small-test.yaml"), {});
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  auto xv = randomVec(size_t(n * c * h * w), 45), dyv = randomVec(size_t(n * c * h * w), 46);
  ASSERT_TRUE(rt.write("x", xv).ok());
  ASSERT_TRUE(rt.write("dy", dyv).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  std::vector<double> dxRef, dsRef(size_t(c), 0), dbRef(size_t(c), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t e = 0; e < h * w; ++e) {
        size_t at = size_t((i * c + ch) * h * w + e);
        double inv = 1 / std::sqrt(double(vv[size_t(ch)]) + 1e-3);
        dxRef.push_back(dyv[at] * sv[size_t(ch)] * inv);
        dsRef[size_t(ch)] += dyv[at] * (xv[at] - mv[size_t(ch)]) * inv;
        dbRef[size_t(ch)] += dyv[at];
      }
  EXPECT_LE(maxRelErr(readOk(rt, "dx"), dxRef), 1e-6);
  EXPECT_LE(maxRelErr(readOk(rt, "dscale"), dsRef), 1e-6);
  EXPECT_LE(maxRelErr(readOk(rt, "dbias"), dbRef), 1e-6);
}

//===----------------------------------------------------------------------===//
// Transformer ops: transpose, slice, div, batched matmul, softmax, layer norm
//===----------------------------------------------------------------------===//

TEST(CompilerTransformer, ForwardOpsAgainstLoops) {
  const int64_t b = 2, s = 5, d = 6;
  Graph g("attn");
  TensorId x = tensor(g, "x", {b, s, d}, TensorRole::Input);
  TensorId xt = tensor(g, "xt", {b, d, s}, TensorRole::Activation);     // transpose [0,2,1]
  TensorId sl = tensor(g, "sl", {b, s, 3}, TensorRole::Activation);     // x[:, :, 1:6:2]
  TensorId sc = tensor(g, "scores", {b, s, s}, TensorRole::Activation); // x @ xt
  TensorId k = tensor(g, "k", {}, TensorRole::Constant);
  TensorId dv = tensor(g, "dv", {b, s, s}, TensorRole::Activation);
  TensorId sm = tensor(g, "sm", {b, s, s}, TensorRole::Activation);
  TensorId gam = tensor(g, "ln.weight", {d}, TensorRole::Parameter);
  TensorId bet = tensor(g, "ln.bias", {d}, TensorRole::Parameter);
  TensorId ln = tensor(g, "ln", {b, s, d}, TensorRole::Activation);
  workload::OpAttrs tp;
  tp.perm = {0, 2, 1};
  op(g, OpKind::Transpose, "Transpose_0", {x}, {xt}, tp);
  workload::OpAttrs sa;
  sa.starts = {0, 0, 1};
  sa.steps = {1, 1, 2};
  op(g, OpKind::Slice, "Slice_1", {x}, {sl}, sa);
  op(g, OpKind::MatMul, "MatMul_2", {x, xt}, {sc});
  op(g, OpKind::Div, "Div_3", {sc, k}, {dv});
  op(g, OpKind::Softmax, "Softmax_4", {dv}, {sm});
  workload::OpAttrs la;
  la.eps = 1e-5;
  op(g, OpKind::LayerNorm, "LayerNorm_5", {x, gam, bet}, {ln}, la);
  g.inputs() = {x};
  g.outputs() = {xt, sl, sm, ln};
  Initializers init;
  auto gv = randomVec(size_t(d), 51), bv = randomVec(size_t(d), 52);
  init.values = {{k.v, {2.5f}}, {gam.v, gv}, {bet.v, bv}};
  auto prog = compile(g, init, loadArch("small-test.yaml"), {});
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  auto xv = randomVec(size_t(b * s * d), 53, 2.0f);
  ASSERT_TRUE(rt.write("x", xv).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  auto X = [&](int64_t i, int64_t j, int64_t e) { return double(xv[size_t((i * s + j) * d + e)]); };
  std::vector<double> tRef, sRef, smRef, lnRef;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t e = 0; e < d; ++e)
      for (int64_t j = 0; j < s; ++j)
        tRef.push_back(X(i, j, e));
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < s; ++j)
      for (int64_t e = 1; e < d; e += 2)
        sRef.push_back(X(i, j, e));
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < s; ++j) {
      std::vector<double> row;
      double mx = -INFINITY, sum = 0;
      for (int64_t q = 0; q < s; ++q) {
        double v = 0;
        for (int64_t e = 0; e < d; ++e)
          v += X(i, j, e) * X(i, q, e);
        row.push_back(v / 2.5);
        mx = std::max(mx, v / 2.5);
      }
      for (double &v : row)
        sum += (v = std::exp(v - mx));
      for (double v : row)
        smRef.push_back(v / sum);
      double mean = 0, var = 0;
      for (int64_t e = 0; e < d; ++e)
        mean += X(i, j, e) / double(d);
      for (int64_t e = 0; e < d; ++e)
        var += (X(i, j, e) - mean) * (X(i, j, e) - mean) / double(d);
      for (int64_t e = 0; e < d; ++e)
        lnRef.push_back((X(i, j, e) - mean) / std::sqrt(var + 1e-5) * gv[size_t(e)] +
                        bv[size_t(e)]);
    }
  EXPECT_EQ(maxRelErr(readOk(rt, "xt"), tRef), 0.0);
  EXPECT_EQ(maxRelErr(readOk(rt, "sl"), sRef), 0.0);
  EXPECT_LE(maxRelErr(readOk(rt, "sm"), smRef), 1e-6);
  EXPECT_LE(maxRelErr(readOk(rt, "ln"), lnRef), 1e-6);
}

TEST(CompilerTransformer, BackwardOpsAgainstLoops) {
  const int64_t rows = 6, d = 5;
  Graph g("bwd");
  TensorId y = tensor(g, "y", {rows, d}, TensorRole::Input); // softmax output
  TensorId dy = tensor(g, "dy", {rows, d}, TensorRole::Input);
  TensorId x = tensor(g, "x", {rows, d}, TensorRole::Input);
  TensorId gam = tensor(g, "ln.weight", {d}, TensorRole::Parameter);
  TensorId dxs = tensor(g, "dx_softmax", {rows, d}, TensorRole::Gradient);
  TensorId dxl = tensor(g, "dx_ln", {rows, d}, TensorRole::Gradient);
  TensorId dg = tensor(g, "dgamma", {d}, TensorRole::Gradient);
  TensorId dbt = tensor(g, "dbeta", {d}, TensorRole::Gradient);
  TensorId pad = tensor(g, "dpad", {rows, 2 * d + 1}, TensorRole::Gradient);
  op(g, OpKind::SoftmaxGrad, "Softmax.dgrad", {dy, y}, {dxs});
  workload::OpAttrs la;
  la.eps = 1e-5;
  op(g, OpKind::LayerNormGrad, "LayerNorm.dgrad", {dy, x, gam}, {dxl, dg, dbt}, la);
  workload::OpAttrs pa; // the gradient of x_big[:, 1::2] with x_big [rows, 2d + 1]
  pa.starts = {0, 1};
  pa.steps = {1, 2};
  op(g, OpKind::Pad, "Slice.dgrad", {dy}, {pad}, pa);
  g.inputs() = {y, dy, x};
  g.outputs() = {dxs, dxl, dg, dbt, pad};
  Initializers init;
  auto gv = randomVec(size_t(d), 61);
  init.values = {{gam.v, gv}};
  auto prog = compile(g, init, loadArch("small-test.yaml"), {});
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  auto yv = randomVec(size_t(rows * d), 62), dyv = randomVec(size_t(rows * d), 63),
       xv = randomVec(size_t(rows * d), 64);
  ASSERT_TRUE(rt.write("y", yv).ok());
  ASSERT_TRUE(rt.write("dy", dyv).ok());
  ASSERT_TRUE(rt.write("x", xv).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  std::vector<double> sRef, lRef, gRef(size_t(d), 0), bRef(size_t(d), 0),
      pRef(size_t(rows * (2 * d + 1)), 0);
  for (int64_t i = 0; i < rows; ++i) {
    auto at = [&](int64_t e) { return size_t(i * d + e); };
    double dot = 0, mean = 0, var = 0;
    for (int64_t e = 0; e < d; ++e) {
      dot += double(dyv[at(e)]) * yv[at(e)];
      mean += xv[at(e)] / double(d);
    }
    for (int64_t e = 0; e < d; ++e)
      var += (xv[at(e)] - mean) * (xv[at(e)] - mean) / double(d);
    double rstd = 1 / std::sqrt(var + 1e-5), mg = 0, mgx = 0;
    std::vector<double> xh(static_cast<size_t>(d)), gg(static_cast<size_t>(d));
    for (int64_t e = 0; e < d; ++e) {
      sRef.push_back(yv[at(e)] * (dyv[at(e)] - dot));
      xh[size_t(e)] = (xv[at(e)] - mean) * rstd;
      gg[size_t(e)] = double(dyv[at(e)]) * gv[size_t(e)];
      mg += gg[size_t(e)] / double(d);
      mgx += gg[size_t(e)] * xh[size_t(e)] / double(d);
      gRef[size_t(e)] += dyv[at(e)] * xh[size_t(e)];
      bRef[size_t(e)] += dyv[at(e)];
      pRef[size_t(i * (2 * d + 1) + 1 + 2 * e)] = dyv[at(e)];
    }
    for (int64_t e = 0; e < d; ++e)
      lRef.push_back(rstd * (gg[size_t(e)] - mg - xh[size_t(e)] * mgx));
  }
  EXPECT_LE(maxRelErr(readOk(rt, "dx_softmax"), sRef), 1e-6);
  EXPECT_LE(maxRelErr(readOk(rt, "dx_ln"), lRef), 1e-5);
  EXPECT_LE(maxRelErr(readOk(rt, "dgamma"), gRef), 1e-6);
  EXPECT_LE(maxRelErr(readOk(rt, "dbeta"), bRef), 1e-6);
  EXPECT_EQ(maxRelErr(readOk(rt, "dpad"), pRef), 0.0);
}

//===----------------------------------------------------------------------===//
// MLP: forward and one training step against a C++ reference
//===----------------------------------------------------------------------===//

struct Mlp {
  Graph g{"mlp"};
  Initializers init;
  int64_t batch = 6, in = 10, hidden = 12, out = 5;
  std::vector<std::string> params;
};

/// x -> Linear(in, hidden) -> ReLU -> Linear(hidden, out), weights [out, in] with transB as
/// the ONNX importer gives PyTorch's Linear.
Mlp buildMlp() {
  Mlp m;
  Graph &g = m.g;
  TensorId x = tensor(g, "x", {m.batch, m.in}, TensorRole::Input);
  auto linear = [&](TensorId in, int64_t k, int64_t n, const std::string &name, uint32_t seed) {
    TensorId w = tensor(g, name + ".weight", {n, k}, TensorRole::Parameter);
    TensorId b = tensor(g, name + ".bias", {n}, TensorRole::Parameter);
    m.init.values[w.v] = randomVec(size_t(n * k), seed, 0.4f);
    m.init.values[b.v] = randomVec(size_t(n), seed + 1, 0.4f);
    m.params.push_back(name + ".weight");
    m.params.push_back(name + ".bias");
    TensorId mm = tensor(g, name + ".mm", {m.batch, n}, TensorRole::Activation);
    TensorId y = tensor(g, name + ".out", {m.batch, n}, TensorRole::Activation);
    workload::OpAttrs at;
    at.transB = true;
    op(g, OpKind::MatMul, name + "/Gemm", {in, w}, {mm}, at);
    op(g, OpKind::Add, name + "/Add", {mm, b}, {y});
    return y;
  };
  TensorId h = linear(x, m.in, m.hidden, "fc1", 10);
  TensorId r = tensor(g, "relu.out", {m.batch, m.hidden}, TensorRole::Activation);
  op(g, OpKind::Relu, "Relu_1", {h}, {r});
  TensorId y = linear(r, m.hidden, m.out, "fc2", 20);
  g.tensor(y).name = "y";
  g.inputs() = {x};
  g.outputs() = {y};
  return m;
}

struct MlpRef {
  std::vector<double> y, loss;
  std::map<std::string, std::vector<double>> grad, param;
};

/// Forward, MSE(mean) loss, backward and one AdamW step (PyTorch's formulas) in double.
MlpRef referenceMlp(const Mlp &m, const std::vector<float> &x, const std::vector<float> &t,
                    const AdamWParams &h) {
  auto P = [&](size_t i) { return m.init.values.at(m.g.parameters()[i].v); };
  const auto w1 = P(0), b1 = P(1), w2 = P(2), b2 = P(3);
  const int64_t B = m.batch, I = m.in, H = m.hidden, O = m.out;
  std::vector<double> h1(size_t(B * H)), r(size_t(B * H)), y(size_t(B * O));
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < H; ++j) {
      double s = b1[size_t(j)];
      for (int64_t k = 0; k < I; ++k)
        s += double(x[size_t(i * I + k)]) * w1[size_t(j * I + k)];
      h1[size_t(i * H + j)] = s;
      r[size_t(i * H + j)] = std::max(s, 0.0);
    }
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < O; ++j) {
      double s = b2[size_t(j)];
      for (int64_t k = 0; k < H; ++k)
        s += r[size_t(i * H + k)] * w2[size_t(j * H + k)];
      y[size_t(i * O + j)] = s;
    }
  MlpRef ref;
  ref.y = y;
  double loss = 0;
  std::vector<double> dy(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    double d = y[i] - t[i];
    loss += d * d;
    dy[i] = 2 * d / double(y.size());
  }
  ref.loss = {loss / double(y.size())};
  std::vector<double> gw2(size_t(O * H), 0), gb2(size_t(O), 0), dr(size_t(B * H), 0),
      gw1(size_t(H * I), 0), gb1(size_t(H), 0);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < O; ++j) {
      gb2[size_t(j)] += dy[size_t(i * O + j)];
      for (int64_t k = 0; k < H; ++k) {
        gw2[size_t(j * H + k)] += dy[size_t(i * O + j)] * r[size_t(i * H + k)];
        dr[size_t(i * H + k)] += dy[size_t(i * O + j)] * w2[size_t(j * H + k)];
      }
    }
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < H; ++j) {
      double d = h1[size_t(i * H + j)] > 0 ? dr[size_t(i * H + j)] : 0;
      gb1[size_t(j)] += d;
      for (int64_t k = 0; k < I; ++k)
        gw1[size_t(j * I + k)] += d * x[size_t(i * I + k)];
    }
  std::vector<std::vector<double>> grads = {gw1, gb1, gw2, gb2};
  std::vector<std::vector<float>> ps = {w1, b1, w2, b2};
  for (size_t i = 0; i < 4; ++i) {
    ref.grad[m.params[i]] = grads[i];
    std::vector<double> np(ps[i].size());
    for (size_t e = 0; e < np.size(); ++e) { // AdamW, step 1, zero moments
      double g = grads[i][e], mm = (1 - h.beta1) * g, vv = (1 - h.beta2) * g * g;
      double mhat = mm / (1 - h.beta1), vhat = vv / (1 - h.beta2);
      np[e] = ps[i][e] * (1 - h.lr * h.weightDecay) - h.lr * mhat / (std::sqrt(vhat) + h.eps);
    }
    ref.param[m.params[i]] = np;
  }
  return ref;
}

TEST(CompilerMlp, ForwardMatchesReference) {
  Mlp m = buildMlp();
  auto x = randomVec(size_t(m.batch * m.in), 3);
  auto t = randomVec(size_t(m.batch * m.out), 4);
  MlpRef ref = referenceMlp(m, x, t, {});
  for (const char *arch : {"small-test.yaml", "tessera-train-7nm.yaml"})
    for (Policy p : {Policy::Fp32, Policy::Bf16}) {
      SCOPED_TRACE(std::string(arch) + " " + std::string(policyName(p)));
      CompileOptions opts;
      opts.policy = p;
      auto prog = compile(m.g, m.init, loadArch(arch), opts);
      ASSERT_TRUE(prog.ok()) << prog.error().render();
      runtime::Runtime rt = load(std::move(*prog));
      ASSERT_TRUE(rt.write("x", x).ok());
      auto r = rt.run(runtime::Backend::Golden);
      ASSERT_TRUE(r.ok()) << r.error().render();
      double err = maxRelErr(readOk(rt, "y"), ref.y);
      std::printf("mlp forward %s %s: max_rel_err %.3g\n", arch, std::string(policyName(p)).c_str(),
                  err);
      EXPECT_LE(err, p == Policy::Fp32 ? 1e-5 : 2e-2);
    }
}

TEST(CompilerMlp, TrainingStepMatchesReference) {
  Mlp m = buildMlp();
  auto x = randomVec(size_t(m.batch * m.in), 3);
  auto t = randomVec(size_t(m.batch * m.out), 4);
  AdamWParams h;
  MlpRef ref = referenceMlp(m, x, t, h);
  CompileOptions opts;
  opts.policy = Policy::Fp32;
  opts.train = true;
  auto prog = compile(m.g, m.init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  ASSERT_TRUE(rt.write("x", x).ok());
  ASSERT_TRUE(rt.write("target", t).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(r->step, 1u);
  EXPECT_LE(maxRelErr(readOk(rt, "mse-loss"), ref.loss), 1e-5);
  for (const std::string &p : m.params) {
    SCOPED_TRACE(p);
    auto g = rt.gradient(p);
    ASSERT_TRUE(g.ok()) << g.error().render();
    EXPECT_LE(maxRelErr(*g, ref.grad[p]), 1e-5);
    EXPECT_LE(maxRelErr(readOk(rt, p), ref.param[p]), 1e-5);
  }
  // A second step continues from the updated weights: the loss goes down, the step
  // counter advances and the parameters move again.
  auto p1 = readOk(rt, "fc1.weight");
  auto r2 = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r2.ok()) << r2.error().render();
  EXPECT_EQ(r2->step, 2u);
  EXPECT_LT(readOk(rt, "mse-loss")[0], float(ref.loss[0]));
  EXPECT_NE(readOk(rt, "fc1.weight"), p1);
}

TEST(CompilerMlp, CycleBackendAttributesTimeToOps) {
  Mlp m = buildMlp();
  CompileOptions opts;
  opts.train = true;
  opts.policy = Policy::Bf16;
  auto prog = compile(m.g, m.init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  runtime::Runtime rt = load(std::move(*prog));
  auto r = rt.run(runtime::Backend::Cycle);
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_GT(r->cycles, 0u);
  bool sawGemm = false, sawAdam = false;
  for (const runtime::OpTime &t : r->ops) {
    EXPECT_GT(t.cycles, 0u) << t.name;
    sawGemm |= t.kind == "matmul";
    sawAdam |= t.kind == "adamw-update";
  }
  EXPECT_TRUE(sawGemm);
  EXPECT_TRUE(sawAdam);
  // The RTL backend simulates small tiles only (tests/cli/compile.cmake runs it on
  // small-test and compares with the golden model).
  auto big = compile(m.g, m.init, loadArch("tessera-train-7nm.yaml"), opts);
  ASSERT_TRUE(big.ok()) << big.error().render();
  runtime::Runtime rtBig = load(std::move(*big));
  auto rtl = rtBig.run(runtime::Backend::Rtl);
  ASSERT_FALSE(rtl.ok());
  EXPECT_EQ(rtl.error().id, "unsupported-backend");
  EXPECT_NE(rtl.error().message.find("16x16 PEs"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Memory planning
//===----------------------------------------------------------------------===//

TEST(CompilerMemoryPlan, NoLiveOverlapAndReuse) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<PlanBuffer> bufs;
    uint64_t sum = 0;
    for (int i = 0; i < 40; ++i) {
      PlanBuffer b;
      b.bytes = 1 + rng() % 5000;
      b.first = rng() % 100;
      b.last = b.first + rng() % 10;
      sum += (b.bytes + 63) / 64 * 64;
      bufs.push_back(b);
    }
    MemoryPlanResult r = planMemory(bufs);
    EXPECT_FALSE(planHasConflict(bufs, r));
    EXPECT_LT(r.size, sum); // short lifetimes over 100 ops: memory is reused
    for (uint64_t o : r.offsets)
      EXPECT_EQ(o % 64, 0u);
  }
  // The checker itself catches an overlap.
  std::vector<PlanBuffer> two = {{100, 0, 5}, {100, 3, 8}};
  EXPECT_TRUE(planHasConflict(two, MemoryPlanResult{{0, 64}, 192}));
  EXPECT_FALSE(planHasConflict(two, MemoryPlanResult{{0, 128}, 256}));
}

TEST(CompilerMemoryPlan, CompiledActivationsDoNotOverlapWhileLive) {
  Mlp m = buildMlp();
  CompileOptions opts;
  opts.train = true;
  auto prog = compile(m.g, m.init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  // Persistent tensors never share memory with anything.
  for (const DramTensor &a : prog->tensors) {
    EXPECT_EQ(a.address % 64, 0u) << a.name;
    EXPECT_LE(uint64_t(a.address) + a.bytes, prog->dramBytes) << a.name;
    bool pa = a.role != DramRole::Activation && a.role != DramRole::Temporary;
    for (const DramTensor &b : prog->tensors) {
      if (&a == &b || !pa || !a.aliasOf.empty() || !b.aliasOf.empty() || a.name == b.aliasOf)
        continue;
      bool overlap = a.address < b.address + b.bytes && b.address < a.address + a.bytes;
      EXPECT_FALSE(overlap) << a.name << " and " << b.name;
    }
  }
}

//===----------------------------------------------------------------------===//
// Program files
//===----------------------------------------------------------------------===//

TEST(CompilerProgram, FileRoundTripAndListing) {
  Mlp m = buildMlp();
  CompileOptions opts;
  opts.train = true;
  opts.archPath = kArchDir + "small-test.yaml";
  auto prog = compile(m.g, m.init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  std::string dir = std::string(TESSERA_BINARY_DIR) + "/compiler-test-prog";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(writeProgram(*prog, dir).ok());
  auto back = readProgram(dir);
  ASSERT_TRUE(back.ok()) << back.error().render();
  EXPECT_EQ(back->code, prog->code);
  EXPECT_EQ(back->opOf, prog->opOf);
  EXPECT_EQ(back->image, prog->image);
  EXPECT_EQ(back->stepPatchBeta1, prog->stepPatchBeta1);
  ASSERT_EQ(back->tensors.size(), prog->tensors.size());
  for (size_t i = 0; i < prog->tensors.size(); ++i) {
    EXPECT_EQ(back->tensors[i].name, prog->tensors[i].name);
    EXPECT_EQ(back->tensors[i].address, prog->tensors[i].address);
    EXPECT_EQ(back->tensors[i].role, prog->tensors[i].role);
  }
  // Same program, same bytes.
  std::string dir2 = dir + "-again";
  ASSERT_TRUE(writeProgram(*back, dir2).ok());
  for (const char *f : {"/program.json", "/program.bin", "/weights.bin", "/listing.txt"}) {
    auto a = readTextFile(dir + f), b = readTextFile(dir2 + f);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << f;
  }
  // Deterministic: compiling again gives the same program.
  auto again = compile(m.g, m.init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->code, prog->code);
  EXPECT_EQ(again->image, prog->image);
  EXPECT_EQ(programListing(*again), programListing(*prog));
  std::string listing = programListing(*prog);
  EXPECT_NE(listing.find("# op 0 'fc1/Gemm' (matmul, forward) at model.onnx"), std::string::npos);
  EXPECT_NE(listing.find("vadamw"), std::string::npos);
  EXPECT_NE(listing.find("gemm c=r1"), std::string::npos);

  // A damaged file is a located bad-program error.
  auto json = readTextFile(dir + "/program.json");
  ASSERT_TRUE(json.ok());
  std::string broken = *json;
  const std::string good = "\"role\": \"parameter\"";
  size_t pos = broken.find(good);
  ASSERT_NE(pos, std::string::npos);
  broken.replace(pos, good.size(), "\"role\": \"paramater\"");
  ASSERT_TRUE(writeTextFile(dir2 + "/program.json", broken).ok());
  auto bad = readProgram(dir2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().id, "bad-program");
  EXPECT_NE(bad.error().render().find("program.json"), std::string::npos);
  EXPECT_NE(bad.error().message.find("unknown role 'paramater'"), std::string::npos);
  ASSERT_TRUE(writeTextFile(dir2 + "/program.json", *json).ok());
  auto bin = readTextFile(dir + "/program.bin");
  ASSERT_TRUE(writeTextFile(dir2 + "/program.bin", bin->substr(0, bin->size() - 16)).ok());
  bad = readProgram(dir2);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("program.json says"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(CompilerErrors, UnsupportedOpNamesTheOp) {
  Graph g("g");
  TensorId x = tensor(g, "x", {4, 8}, TensorRole::Input);
  TensorId y = tensor(g, "y", {4, 8}, TensorRole::Activation);
  op(g, OpKind::Erf, "Erf_7", {x}, {y});
  g.inputs() = {x};
  g.outputs() = {y};
  auto prog = compile(g, {}, loadArch("small-test.yaml"), {});
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().id, "unsupported-op");
  EXPECT_NE(prog.error().render().find("model.onnx: error[unsupported-op]: op 'Erf_7' (erf)"),
            std::string::npos)
      << prog.error().render();
}

TEST(CompilerErrors, DoesNotFitNamesTheOp) {
  // A bias row of 300 elements broadcast over the rows: two rows do not fit 256 ACC words.
  Graph g("g");
  TensorId x = tensor(g, "x", {2, 300}, TensorRole::Input);
  TensorId b = tensor(g, "b", {300}, TensorRole::Input);
  TensorId y = tensor(g, "y", {2, 300}, TensorRole::Activation);
  op(g, OpKind::Add, "Add_3", {x, b}, {y});
  g.inputs() = {x, b};
  g.outputs() = {y};
  auto prog = compile(g, {}, loadArch("small-test.yaml"), {});
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().id, "does-not-fit");
  EXPECT_NE(prog.error().message.find("op 'Add_3' (add)"), std::string::npos);
}

TEST(CompilerErrors, MissingFormatNamesOpAndArch) {
  arch::ArchSpec spec = loadArch("small-test.yaml");
  std::erase_if(spec.tile.tensor.formats,
                [](const arch::TensorFormat &f) { return f.format == arch::Format::BF16; });
  Mlp m = buildMlp();
  CompileOptions opts;
  opts.archPath = "fp8-only.yaml";
  auto prog = compile(m.g, m.init, spec, opts);
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().id, "unsupported-format");
  EXPECT_NE(prog.error().message.find("op 'fc1/Gemm' (matmul)"), std::string::npos);
  EXPECT_NE(prog.error().message.find("fp8-only.yaml"), std::string::npos);
}

TEST(CompilerErrors, MissingInitializerAndPolicy) {
  Mlp m = buildMlp();
  Initializers none;
  auto prog = compile(m.g, none, loadArch("small-test.yaml"), {});
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().id, "missing-value");
  EXPECT_NE(prog.error().message.find("fc1.weight"), std::string::npos);
  // mxfp8-sparse is implemented now: tests/unit/compiler/SparseTest.cpp.
}

} // namespace
