//===- SparseTest.cpp - the mxfp8-sparse policy: 2:4 pruning, metadata, gemmsp -===//
//
// The pruning keeps the 2 largest magnitudes of every group of 4 along K (ties: the lower
// position); the metadata in the program image equals numerics::compressNm + packNmIndex
// of the masked weight; the gemmsp forward equals a host computation of the masked,
// MX-quantized GEMM (numerics::quantizeMx, exact products); training keeps the pruned
// weights at exactly 0 over 3 steps; a tile without sparse formats is
// `unsupported-sparsity` naming the op and the arch file; the generated tile RTL gives
// the golden model's bytes for a gemmsp program.
//
//===----------------------------------------------------------------------===//
#include "compiler/Sparse.h"
#include "arch/ArchSpec.h"
#include "compiler/Compiler.h"
#include "numerics/Numerics.h"
#include "runtime/Runtime.h"

#include "CompilerTestUtil.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
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

std::vector<float> imageFloats(const Program &p, const std::string &name) {
  const DramTensor *t = p.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t)
    return {};
  std::vector<float> v(size_t(t->elements()));
  std::memcpy(v.data(), p.image.data() + t->address, v.size() * 4);
  return v;
}

/// Host MX quantization (E4M3, floor scales, RNE) of rows x k values, K padded to 32.
std::vector<double> quantRows(const std::vector<float> &x, int64_t rows, int64_t k) {
  const int64_t kp = (k + 31) / 32 * 32;
  std::vector<double> q(size_t(rows * kp));
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<uint32_t> bits(size_t(kp), 0);
    for (int64_t j = 0; j < k; ++j)
      bits[size_t(j)] = std::bit_cast<uint32_t>(x[size_t(i * k + j)]);
    auto blocks = numerics::quantizeMx(bits, numerics::Format::E4M3, numerics::ScaleRounding::Floor,
                                       numerics::Rounding::Nearest);
    for (int64_t j = 0; j < kp; ++j) {
      const numerics::MxBlock &bl = blocks[size_t(j / 32)];
      q[size_t(i * kp + j)] = std::bit_cast<float>(
          numerics::mxDecode(numerics::Format::E4M3, bl.scale, bl.elements[size_t(j % 32)]));
    }
  }
  return q;
}

TEST(CompilerSparse, PruneKeepsTopTwoMagnitudesTiesLowerIndex) {
  const std::vector<float> x = {1,     -3, 2, 0.5f,   // |-3|, 2
                                1,     1,  1, 1,      // ties: positions 0, 1
                                0,     -2, 2, 0,      // equal magnitudes of both signs
                                -0.0f, 0,  0, 5,      // 5, then the first zero
                                4,     -4, 4, -4.5f}; // -4.5, then the first 4
  auto keep = pruneNm(x, 1, 20, 2, 4);
  const std::vector<uint8_t> want = {0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1};
  EXPECT_EQ(keep, want);
  // Random rows: exactly 2 per group, and every kept |x| >= every dropped |x|.
  auto r = randomVec(8 * 64, 5);
  auto k2 = pruneNm(r, 8, 64, 2, 4);
  for (size_t g = 0; g < r.size(); g += 4) {
    int kept = 0;
    float minKept = INFINITY, maxDropped = 0;
    for (size_t i = g; i < g + 4; ++i) {
      kept += k2[i];
      if (k2[i])
        minKept = std::min(minKept, std::abs(r[i]));
      else
        maxDropped = std::max(maxDropped, std::abs(r[i]));
    }
    EXPECT_EQ(kept, 2);
    EXPECT_GE(minKept, maxDropped);
  }
}

struct SparseCase {
  int64_t m, k, n;
  bool tb;
  const char *arch;
  uint32_t maxTileK = 0;
};

/// y = x W^T (or x W) with W a parameter, compiled under mxfp8-sparse.
void runSparseGemm(const SparseCase &c) {
  SCOPED_TRACE("M=" + std::to_string(c.m) + " K=" + std::to_string(c.k) +
               " N=" + std::to_string(c.n) + " " + c.arch);
  Graph g("sp");
  TensorId x = tensor(g, "x", {c.m, c.k}, TensorRole::Input);
  TensorId w = tensor(g, "w", c.tb ? workload::Shape{c.n, c.k} : workload::Shape{c.k, c.n},
                      TensorRole::Parameter);
  TensorId y = tensor(g, "y", {c.m, c.n}, TensorRole::Activation);
  workload::OpAttrs at;
  at.transB = c.tb;
  op(g, OpKind::MatMul, "mm", {x, w}, {y}, at);
  g.inputs() = {x};
  g.outputs() = {y};
  Initializers init;
  auto wv = randomVec(size_t(c.k * c.n), 81);
  for (size_t i = 0; i < wv.size(); i += 5)
    wv[i] *= 30.0f; // blocks with a wide range
  init.values[w.v] = wv;
  CompileOptions opts;
  opts.policy = Policy::Mxfp8Sparse;
  opts.maxTileK = c.maxTileK;
  auto prog = compile(g, init, loadArch(c.arch), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  ASSERT_EQ(prog->sparsity.size(), 1u);
  EXPECT_TRUE(prog->sparsity[0].pruned);
  EXPECT_EQ(prog->sparsity[0].kept, uint64_t(c.k * c.n / 2));
  size_t gemmsp = 0, ldmeta = 0;
  for (const accel::Instruction &i : prog->code) {
    gemmsp += i.op == accel::Opcode::GemmSp;
    ldmeta += i.op == accel::Opcode::LdMeta;
    EXPECT_NE(i.op, accel::Opcode::Gemm);
  }
  EXPECT_GT(gemmsp, 0u);
  EXPECT_GT(ldmeta, 0u);

  // Canonical [N][K] weight, its pruning, and the image.
  auto canon = [&](const std::vector<float> &v) {
    std::vector<float> r(size_t(c.n * c.k));
    for (int64_t j = 0; j < c.n; ++j)
      for (int64_t k = 0; k < c.k; ++k)
        r[size_t(j * c.k + k)] = v[size_t(c.tb ? j * c.k + k : k * c.n + j)];
    return r;
  };
  const auto wc = canon(wv);
  const auto keep = pruneNm(wc, uint64_t(c.n), uint64_t(c.k), 2, 4);
  const auto img = canon(imageFloats(*prog, "w"));
  std::vector<float> masked(wc.size());
  for (size_t i = 0; i < wc.size(); ++i) {
    masked[i] = keep[i] ? wc[i] : 0.0f;
    ASSERT_EQ(std::bit_cast<uint32_t>(img[i]), std::bit_cast<uint32_t>(masked[i])) << i;
  }
  // Metadata = compressNm + packNmIndex of the masked, padded matrix.
  const int64_t kp = (c.k + 31) / 32 * 32;
  std::vector<uint8_t> index;
  for (int64_t j = 0; j < c.n; ++j) {
    std::vector<uint32_t> row(size_t(kp), 0);
    for (int64_t k = 0; k < c.k; ++k)
      row[size_t(k)] = std::bit_cast<uint32_t>(masked[size_t(j * c.k + k)]);
    auto nm = numerics::compressNm(row, numerics::Format::FP32, 2, 4);
    index.insert(index.end(), nm.index.begin(), nm.index.end());
  }
  const auto meta = numerics::packNmIndex(index, 4);
  const DramTensor *mt = prog->find("w.sparse.meta");
  ASSERT_NE(mt, nullptr);
  ASSERT_GE(mt->bytes, meta.size());
  EXPECT_EQ(0, std::memcmp(prog->image.data() + mt->address, meta.data(), meta.size()));

  // gemmsp result = host GEMM of the MX-quantized masked weight and activations.
  runtime::Runtime rt = load(std::move(*prog));
  auto xv = randomVec(size_t(c.m * c.k), 82);
  for (size_t i = 0; i < xv.size(); i += 7)
    xv[i] *= 40.0f;
  ASSERT_TRUE(rt.write("x", xv).ok());
  auto r = rt.run(runtime::Backend::Golden);
  ASSERT_TRUE(r.ok()) << r.error().render();
  const auto qx = quantRows(xv, c.m, c.k), qw = quantRows(masked, c.n, c.k);
  auto out = readOk(rt, "y");
  ASSERT_EQ(out.size(), size_t(c.m * c.n));
  double worst = 0;
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double s = 0, as = 0;
      for (int64_t k = 0; k < kp; ++k) {
        double p = qx[size_t(i * kp + k)] * qw[size_t(j * kp + k)];
        s += p;
        as += std::abs(p);
      }
      // FP32 accumulation only: one rounding per dot-width group.
      ASSERT_LE(std::abs(out[size_t(i * c.n + j)] - s), 1e-6 * as + 1e-30) << i << "," << j;
      worst = std::max(worst, std::abs(out[size_t(i * c.n + j)] - s));
    }
  // Not vacuous: the sparse result differs from the dense (unpruned) product.
  const auto qwd = quantRows(wc, c.n, c.k);
  double dense = 0;
  for (int64_t j = 0; j < c.n; ++j) {
    double s = 0;
    for (int64_t k = 0; k < kp; ++k)
      s += qx[size_t(k)] * qwd[size_t(j * kp + k)]; // row 0 of x
    dense = std::max(dense, std::abs(double(out[size_t(j)]) - s));
  }
  EXPECT_GT(dense, 1e-3);
}

TEST(CompilerSparse, GemmspMatchesHostMaskedMxGemm) {
  runSparseGemm({5, 64, 9, true, "small-test.yaml"});
  runSparseGemm({6, 40, 5, false, "small-test.yaml"});         // K padded to 64
  runSparseGemm({7, 128, 6, true, "small-test.yaml", 32});     // K split in 4 slices
  runSparseGemm({19, 96, 33, true, "tessera-train-7nm.yaml"}); // several tiles
}

TEST(CompilerSparse, TrainingKeepsPrunedWeightsZero) {
  // x -> Linear(16, 12) -> ReLU -> Linear(12, 3): fc1 pruned, fc2 too (K = 12).
  Graph g("mlp");
  const int64_t B = 8, I = 16, H = 12, O = 3;
  Initializers init;
  TensorId x = tensor(g, "x", {B, I}, TensorRole::Input);
  auto linear = [&](TensorId in, int64_t k, int64_t n, const std::string &name, uint32_t seed) {
    TensorId w = tensor(g, name + ".weight", {n, k}, TensorRole::Parameter);
    TensorId b = tensor(g, name + ".bias", {n}, TensorRole::Parameter);
    init.values[w.v] = randomVec(size_t(n * k), seed, 0.5f);
    init.values[b.v] = randomVec(size_t(n), seed + 1, 0.5f);
    TensorId mm = tensor(g, name + ".mm", {B, n}, TensorRole::Activation);
    TensorId y = tensor(g, name + ".out", {B, n}, TensorRole::Activation);
    workload::OpAttrs at;
    at.transB = true;
    op(g, OpKind::MatMul, name + "/Gemm", {in, w}, {mm}, at);
    op(g, OpKind::Add, name + "/Add", {mm, b}, {y});
    return std::pair{w, y};
  };
  auto [w1, h] = linear(x, I, H, "fc1", 10);
  TensorId rl = tensor(g, "relu.out", {B, H}, TensorRole::Activation);
  op(g, OpKind::Relu, "Relu_1", {h}, {rl});
  auto [w2, y] = linear(rl, H, O, "fc2", 20);
  g.tensor(y).name = "y";
  g.inputs() = {x};
  g.outputs() = {y};
  CompileOptions opts;
  opts.policy = Policy::Mxfp8Sparse;
  opts.train = true;
  opts.adamw.lr = 1e-2;
  auto prog = compile(g, init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  ASSERT_EQ(prog->sparsity.size(), 2u);
  for (const SparseRecord &s : prog->sparsity)
    EXPECT_TRUE(s.pruned) << s.weight;
  runtime::Runtime rt = load(std::move(*prog));
  ASSERT_TRUE(rt.write("x", randomVec(size_t(B * I), 30)).ok());
  ASSERT_TRUE(rt.write("target", randomVec(size_t(B * O), 31)).ok());
  std::map<std::string, std::vector<uint8_t>> keep;
  std::map<std::string, std::vector<float>> before;
  for (auto [t, k, n] : {std::tuple{w1, I, H}, std::tuple{w2, H, O}}) {
    const std::string name = g.tensor(t).name;
    keep[name] = pruneNm(init.values[t.v], uint64_t(n), uint64_t(k), 2, 4);
    before[name] = readOk(rt, name);
  }
  std::vector<float> losses;
  for (int step = 0; step < 3; ++step) {
    auto r = rt.run(runtime::Backend::Golden);
    ASSERT_TRUE(r.ok()) << r.error().render();
    losses.push_back(readOk(rt, "mse-loss").at(0));
    for (auto &[name, kp] : keep) {
      auto w = readOk(rt, name);
      ASSERT_EQ(w.size(), kp.size());
      size_t moved = 0;
      for (size_t i = 0; i < w.size(); ++i) {
        if (!kp[i])
          ASSERT_EQ(w[i], 0.0f) << name << "[" << i << "] step " << step + 1;
        else
          moved += w[i] != before[name][i];
      }
      EXPECT_GT(moved, w.size() / 4) << name << ": the kept weights train";
    }
  }
  for (float l : losses)
    EXPECT_TRUE(std::isfinite(l));
  EXPECT_LT(losses[2], losses[0]);
}

TEST(CompilerSparse, DenseWeightsAreRecorded) {
  // K = 10: not a multiple of 4, stays dense MXFP8; no error, recorded with the reason.
  Graph g("g");
  TensorId x = tensor(g, "x", {4, 10}, TensorRole::Input);
  TensorId w = tensor(g, "w", {6, 10}, TensorRole::Parameter);
  TensorId y = tensor(g, "y", {4, 6}, TensorRole::Activation);
  workload::OpAttrs at;
  at.transB = true;
  op(g, OpKind::MatMul, "Gemm_0", {x, w}, {y}, at);
  g.inputs() = {x};
  g.outputs() = {y};
  Initializers init;
  init.values[w.v] = randomVec(60, 3);
  CompileOptions opts;
  opts.policy = Policy::Mxfp8Sparse;
  auto prog = compile(g, init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  ASSERT_EQ(prog->sparsity.size(), 1u);
  EXPECT_FALSE(prog->sparsity[0].pruned);
  EXPECT_NE(prog->sparsity[0].reason.find("not a multiple of 4"), std::string::npos);
  EXPECT_NE(programListing(*prog).find("w in op 'Gemm_0': dense"), std::string::npos);
  for (const accel::Instruction &i : prog->code)
    EXPECT_NE(i.op, accel::Opcode::GemmSp);
}

TEST(CompilerSparse, TileWithoutSparseFormatsIsAnError) {
  arch::ArchSpec spec = loadArch("small-test.yaml");
  for (arch::TensorFormat &f : spec.tile.tensor.formats)
    f.sparse = false;
  spec.tile.tensor.sparsityPatterns.clear();
  Graph g("g");
  TensorId x = tensor(g, "x", {4, 16}, TensorRole::Input);
  TensorId w = tensor(g, "fc.weight", {6, 16}, TensorRole::Parameter);
  TensorId y = tensor(g, "y", {4, 6}, TensorRole::Activation);
  workload::OpAttrs at;
  at.transB = true;
  op(g, OpKind::MatMul, "fc/Gemm", {x, w}, {y}, at);
  g.inputs() = {x};
  g.outputs() = {y};
  Initializers init;
  init.values[w.v] = randomVec(96, 4);
  CompileOptions opts;
  opts.policy = Policy::Mxfp8Sparse;
  opts.archPath = "dense-only.yaml";
  auto prog = compile(g, init, spec, opts);
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().id, "unsupported-sparsity");
  EXPECT_NE(prog.error().message.find("op 'fc/Gemm' (matmul)"), std::string::npos);
  EXPECT_NE(prog.error().message.find("dense-only.yaml"), std::string::npos);
  EXPECT_NE(prog.error().message.find("fc.weight"), std::string::npos);
}

} // namespace

namespace {

TEST(CompilerSparse, RtlMatchesGoldenOnGemmsp) {
  // The generated tile RTL runs the same gemmsp / ldmeta program to the same bytes.
  Graph g("sp");
  TensorId x = tensor(g, "x", {4, 32}, TensorRole::Input);
  TensorId w = tensor(g, "w", {6, 32}, TensorRole::Parameter);
  TensorId y = tensor(g, "y", {4, 6}, TensorRole::Activation);
  workload::OpAttrs at;
  at.transB = true;
  op(g, OpKind::MatMul, "mm", {x, w}, {y}, at);
  g.inputs() = {x};
  g.outputs() = {y};
  Initializers init;
  init.values[w.v] = randomVec(6 * 32, 91);
  CompileOptions opts;
  opts.policy = Policy::Mxfp8Sparse;
  auto prog = compile(g, init, loadArch("small-test.yaml"), opts);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  std::vector<std::vector<float>> outs;
  for (runtime::Backend b : {runtime::Backend::Golden, runtime::Backend::Rtl}) {
    runtime::Runtime rt = load(*prog);
    ASSERT_TRUE(rt.write("x", randomVec(4 * 32, 92)).ok());
    auto r = rt.run(b);
    ASSERT_TRUE(r.ok()) << r.error().render();
    outs.push_back(readOk(rt, "y"));
  }
  ASSERT_EQ(outs[0].size(), outs[1].size());
  EXPECT_EQ(0, std::memcmp(outs[0].data(), outs[1].data(), outs[0].size() * 4));
}

} // namespace
