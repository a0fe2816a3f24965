#include "perf/AccelModel.h"
#include "perf/Estimate.h"
#include "perf/Validation.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace tessera;
using namespace tessera::perf;
using arch::ArchSpec;
using arch::Format;
using workload::GemmShape;

/// Mechanism tests isolate one effect at a time: no per-kernel power cap.
constexpr double kNoCap = 1e12;

namespace {

const std::string kSource = TESSERA_SOURCE_DIR;

ArchSpec example(const std::string &name) {
  Expected<ArchSpec> s = arch::loadArchSpec(kSource + "/examples/arch/" + name + ".yaml");
  EXPECT_TRUE(s.ok()) << s.error().render();
  return s.ok() ? *s : ArchSpec{};
}

PrecisionPolicy policy(const std::string &name) {
  Expected<PrecisionPolicy> p = PrecisionPolicy::byName(name);
  EXPECT_TRUE(p.ok());
  return p.ok() ? *p : PrecisionPolicy{};
}

const std::vector<std::string> kSpecs = {"a100-like", "h100-like", "tessera-train-7nm",
                                         "small-test"};

/// A spec with ample NoC and HBM bandwidth, so GEMMs are bound by the PE array.
ArchSpec computeBound(ArchSpec s) {
  s.noc.bandwidthGBps *= 16;
  s.hbm.bandwidthGBpsPerStack *= 16;
  return s;
}

bool sameMapping(const GemmMapping &a, const GemmMapping &b) {
  return a.tileM == b.tileM && a.tileN == b.tileN && a.tileK == b.tileK &&
         a.dataflow == b.dataflow && a.loopOrder == b.loopOrder && a.splitK == b.splitK &&
         a.seconds == b.seconds && a.hbmBytes == b.hbmBytes && a.energyJ == b.energyJ &&
         a.utilization == b.utilization;
}

struct RandomGemm {
  GemmShape shape;
  Format format;
  bool sparse;
  double density;
};

/// Log-uniform shapes from GEMV-like to large, in a format of the spec.
std::vector<RandomGemm> randomGemms(const ArchSpec &spec, unsigned seed, int count) {
  std::mt19937 rng(seed);
  auto dim = [&](double lo, double hi) {
    std::uniform_real_distribution<double> u(std::log(lo), std::log(hi));
    return std::max<int64_t>(1, int64_t(std::exp(u(rng))));
  };
  std::vector<RandomGemm> out;
  for (int i = 0; i < count; ++i) {
    RandomGemm g;
    g.shape.batch = rng() % 4 == 0 ? dim(1, 64) : 1;
    g.shape.m = dim(1, 20000);
    g.shape.n = dim(1, 20000);
    g.shape.k = dim(1, 20000);
    const auto &fs = spec.tile.tensor.formats;
    g.format = fs[rng() % fs.size()].format;
    g.sparse = rng() % 2 == 0;
    g.density =
        rng() % 3 == 0 ? 0.3 + 0.7 * std::uniform_real_distribution<double>(0, 1)(rng) : 1.0;
    out.push_back(g);
  }
  return out;
}

/// A graph with one linear layer Y[tokens, n] = X[tokens, k] W[k, n].
workload::Graph linearGraph(int64_t tokens, int64_t k, int64_t n) {
  using namespace workload;
  Graph g("linear");
  auto tensor = [&](std::string name, Shape shape, TensorRole role) {
    Tensor t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    t.dtype = DType::BF16;
    t.role = role;
    return g.addTensor(t);
  };
  TensorId xi = tensor("x", {tokens, k}, TensorRole::Input);
  TensorId wi = tensor("w", {k, n}, TensorRole::Parameter);
  TensorId yi = tensor("y", {tokens, n}, TensorRole::Activation);
  Op op;
  op.kind = OpKind::MatMul;
  op.name = "fc";
  op.inputs = {xi, wi};
  op.outputs = {yi};
  g.addOp(op);
  return g;
}

EstimateRequest gpt3Request() {
  EstimateRequest r;
  r.workload = "gpt3-175b";
  r.zoo.batch = 1;
  r.zoo.tp = 8;
  r.zoo.sequenceParallel = true;
  r.training.recompute = workload::Recompute::Selective;
  r.parallel.devices = 1024;
  r.parallel.tp = 8;
  r.parallel.pp = 8;
  r.parallel.sequenceParallel = true;
  r.parallel.microBatch = 1;
  r.parallel.globalBatch = 1536;
  return r;
}

} // namespace

//===----------------------------------------------------------------------===//
// Precision policies
//===----------------------------------------------------------------------===//

TEST(AccelModel, PolicyNamesParse) {
  std::vector<std::string> names = PrecisionPolicy::names();
  EXPECT_EQ(names,
            (std::vector<std::string>{"bf16", "bf16-sparse", "fp8", "fp8-sparse", "mxfp8", "mxfp8-sparse", "mxfp6", "mxfp6-sparse", "mxfp4", "mxfp4-sparse"}));
  for (const std::string &n : names) {
    Expected<PrecisionPolicy> p = PrecisionPolicy::byName(n);
    ASSERT_TRUE(p.ok()) << n;
    EXPECT_EQ(p->name, n);
    EXPECT_EQ(p->vectorStorage, Format::BF16);
    EXPECT_EQ(p->activationDensity, 1.0);
    EXPECT_EQ(p->gradientDensity, 1.0);
  }
  PrecisionPolicy fp8 = policy("fp8");
  EXPECT_EQ(fp8.forwardGemm, Format::FP8E4M3);
  EXPECT_EQ(fp8.backwardGemm, Format::FP8E5M2);
  PrecisionPolicy sp = policy("mxfp8-sparse");
  EXPECT_EQ(sp.forwardGemm, Format::MXFP8);
  EXPECT_EQ(sp.backwardGemm, Format::MXFP8);
  EXPECT_TRUE(sp.sparseWeights);
  EXPECT_FALSE(policy("mxfp8").sparseWeights);
  EXPECT_EQ(policy("mxfp6").forwardGemm, Format::MXFP6);
  EXPECT_EQ(policy("mxfp4").backwardGemm, Format::MXFP4);
}

TEST(AccelModel, UnknownPolicyIsBadValueWithHint) {
  Expected<PrecisionPolicy> p = PrecisionPolicy::byName("mxfp9");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().id, "bad-value");
  std::string text = p.error().render();
  EXPECT_NE(text.find("unknown precision policy 'mxfp9'"), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean 'mxfp8'"), std::string::npos) << text;
}

TEST(AccelModel, CheckPolicyNamesFormatAndWork) {
  ArchSpec a100 = example("a100-like");
  EXPECT_TRUE(checkPolicy(a100, policy("bf16")).ok());
  Status st = checkPolicy(a100, policy("mxfp8"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().id, "unsupported-format");
  EXPECT_NE(st.error().message.find("forward GEMMs need mxfp8 but the tensor unit of "
                                    "'a100-like' supports fp16, bf16, tf32, int8"),
            std::string::npos)
      << st.error().message;
  // The H100 has E4M3 and E5M2: fp8 passes, MX formats do not.
  ArchSpec h100 = example("h100-like");
  EXPECT_TRUE(checkPolicy(h100, policy("fp8")).ok());
  EXPECT_EQ(checkPolicy(h100, policy("mxfp6")).error().id, "unsupported-format");
  // Backward work is named when only the backward format is missing.
  ArchSpec noE5 = h100;
  std::erase_if(noE5.tile.tensor.formats,
                [](const arch::TensorFormat &f) { return f.format == Format::FP8E5M2; });
  Status back = checkPolicy(noE5, policy("fp8"));
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("backward GEMMs need fp8_e5m2"), std::string::npos);
  for (std::string n : {"bf16", "fp8", "mxfp8", "mxfp8-sparse"})
    EXPECT_TRUE(checkPolicy(example("tessera-train-7nm"), policy(n)).ok()) << n;
}

TEST(AccelModel, CheckPolicySparsity) {
  ArchSpec s = example("tessera-train-7nm");
  ArchSpec dense = s;
  dense.tile.tensor.sparsityPatterns.clear();
  dense.tile.tensor.sparseBackward = arch::SparseBackward::None;
  for (arch::TensorFormat &f : dense.tile.tensor.formats)
    f.sparse = false;
  Status st = checkPolicy(dense, policy("mxfp8-sparse"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().id, "unsupported-sparsity");
  EXPECT_NE(st.error().message.find("no sparsity patterns"), std::string::npos);
  // Patterns, but MXFP8 itself is not sparse-capable.
  ArchSpec mxDense = s;
  for (arch::TensorFormat &f : mxDense.tile.tensor.formats)
    if (f.format == Format::MXFP8)
      f.sparse = false;
  Status st2 = checkPolicy(mxDense, policy("mxfp8-sparse"));
  ASSERT_FALSE(st2.ok());
  EXPECT_EQ(st2.error().id, "unsupported-sparsity");
  EXPECT_NE(st2.error().message.find("mxfp8 is not sparse-capable"), std::string::npos);
  // Without sparse backward hardware the backward GEMMs run dense: not an error.
  ArchSpec noBack = s;
  noBack.tile.tensor.sparseBackward = arch::SparseBackward::None;
  EXPECT_TRUE(checkPolicy(noBack, policy("mxfp8-sparse")).ok());
}

//===----------------------------------------------------------------------===//
// Mapper invariants, over random shapes on every example spec
//===----------------------------------------------------------------------===//

TEST(AccelModel, MapperInvariants) {
  unsigned seed = 1;
  for (const std::string &name : kSpecs) {
    ArchSpec spec = example(name);
    AccelModel accel(spec, policy("bf16"), kNoCap);
    const double sram = double(spec.tile.sramKib) * 1024;
    const double acc = double(spec.tile.accumulatorKib) * 1024;
    const double gb = spec.globalBufferMib * 1024 * 1024;
    const double peak =
        double(spec.tiles) * double(spec.tile.tensor.pes()) * double(spec.tile.tensor.dotWidth);
    for (const RandomGemm &g : randomGemms(spec, seed++, 150)) {
      SCOPED_TRACE(fmt::format("{} b={} m={} n={} k={} {} sparse={} density={}", name,
                               g.shape.batch, g.shape.m, g.shape.n, g.shape.k,
                               arch::formatName(g.format), g.sparse, g.density));
      GemmMapping m = accel.mapGemm(g.shape, g.format, g.sparse, g.density);
      ASSERT_TRUE(std::isfinite(m.seconds));
      EXPECT_GT(m.seconds, 0);
      EXPECT_GT(m.tileM, 0);
      EXPECT_GT(m.tileN, 0);
      EXPECT_GT(m.tileK, 0);
      EXPECT_FALSE(m.dataflow.empty());
      EXPECT_FALSE(m.loopOrder.empty());
      // No block exceeds its buffer.
      EXPECT_LE(m.tileSramFootprint, sram);
      EXPECT_LE(m.accumulatorFootprint, acc);
      EXPECT_LE(m.globalBufferFootprint, gb);
      EXPECT_GE(m.accumulatorFootprint, 4.0 * double(m.tileM) * double(m.tileN));
      double e = arch::formatInfo(g.format).storageBits / 8;
      EXPECT_GE(m.tileSramFootprint, 2 * double(m.tileM) * double(m.tileK) * e);
      // Traffic at least compulsory; compulsory at least the operands once.
      EXPECT_GE(m.hbmBytes, m.compulsoryHbmBytes * (1 - 1e-12));
      EXPECT_GE(m.compulsoryHbmBytes,
                double(g.shape.batch) * double(g.shape.m) * double(g.shape.k) * e);
      // Every operand element crosses the NoC at least once.
      EXPECT_GE(m.globalBufferBytes * (1 + 1e-12),
                double(g.shape.batch) * double(g.shape.m) * double(g.shape.k) * e);
      // Utilization in (0, 1]; cycles consistent with seconds.
      EXPECT_GT(m.utilization, 0);
      EXPECT_LE(m.utilization, 1.0);
      double rate = spec.tile.tensor.find(g.format)->rate;
      EXPECT_LE(m.macs, peak * rate * m.cycles * (1 + 1e-9));
      EXPECT_NEAR(m.cycles, m.seconds * spec.technology.clockGhz * 1e9, m.cycles * 1e-9);
      EXPECT_GE(m.seconds, std::max({m.computeSeconds, m.nocSeconds, m.hbmSeconds}));
      EXPECT_GT(m.energyJ, 0);
      EXPECT_GE(m.waves, 1);
    }
  }
}

TEST(AccelModel, MapperIsMonotoneInBandwidthAndBuffers) {
  unsigned seed = 100;
  for (const std::string &name : kSpecs) {
    ArchSpec base = example(name);
    std::vector<std::pair<std::string, ArchSpec>> larger;
    auto variant = [&](const std::string &what, auto change) {
      ArchSpec s = base;
      change(s);
      larger.emplace_back(what, s);
    };
    variant("hbm x2", [](ArchSpec &s) { s.hbm.bandwidthGBpsPerStack *= 2; });
    variant("hbm +7%", [](ArchSpec &s) { s.hbm.bandwidthGBpsPerStack *= 1.07; });
    variant("noc x2", [](ArchSpec &s) { s.noc.bandwidthGBps *= 2; });
    variant("noc +9%", [](ArchSpec &s) { s.noc.bandwidthGBps *= 1.09; });
    variant("global buffer x2", [](ArchSpec &s) { s.globalBufferMib *= 2; });
    variant("global buffer +3 MiB", [](ArchSpec &s) { s.globalBufferMib += 3; });
    variant("sram x2", [](ArchSpec &s) { s.tile.sramKib *= 2; });
    variant("sram +48 KiB", [](ArchSpec &s) { s.tile.sramKib += 48; });
    variant("accumulator x2", [](ArchSpec &s) { s.tile.accumulatorKib *= 2; });
    variant("all x1.5", [](ArchSpec &s) {
      s.hbm.bandwidthGBpsPerStack *= 1.5;
      s.noc.bandwidthGBps *= 1.5;
      s.globalBufferMib *= 1.5;
      s.tile.sramKib = s.tile.sramKib * 3 / 2;
      s.tile.accumulatorKib = s.tile.accumulatorKib * 3 / 2;
    });
    AccelModel a(base, policy("bf16"), kNoCap);
    std::vector<RandomGemm> gemms = randomGemms(base, seed++, 60);
    for (const auto &[what, spec] : larger) {
      AccelModel b(spec, policy("bf16"), kNoCap);
      for (const RandomGemm &g : gemms) {
        double ta = a.mapGemm(g.shape, g.format, g.sparse, g.density).seconds;
        double tb = b.mapGemm(g.shape, g.format, g.sparse, g.density).seconds;
        EXPECT_LE(tb, ta * (1 + 1e-12))
            << name << " " << what << ": b=" << g.shape.batch << " m=" << g.shape.m
            << " n=" << g.shape.n << " k=" << g.shape.k << " " << arch::formatName(g.format);
      }
    }
  }
}

TEST(AccelModel, MapperIsDeterministicAndCached) {
  ArchSpec spec = example("tessera-train-7nm");
  AccelModel a(spec, policy("mxfp8"), kNoCap);
  AccelModel b(spec, policy("mxfp8"), kNoCap);
  for (const RandomGemm &g : randomGemms(spec, 7, 40)) {
    GemmMapping first = a.mapGemm(g.shape, g.format, g.sparse, g.density);
    GemmMapping again = a.mapGemm(g.shape, g.format, g.sparse, g.density);
    GemmMapping fresh = b.mapGemm(g.shape, g.format, g.sparse, g.density);
    EXPECT_TRUE(sameMapping(first, again));
    EXPECT_TRUE(sameMapping(first, fresh));
    EXPECT_EQ(first.str(), fresh.str());
  }
  EXPECT_EQ(a.cachedMappings(), b.cachedMappings());
  EXPECT_GT(a.cachedMappings(), 0u);
}

TEST(AccelModel, LargeGemmNearsPeakSmallGemmDoesNot) {
  AccelModel accel(example("tessera-train-7nm"), policy("bf16"), kNoCap);
  GemmMapping big = accel.mapGemm({1, 8192, 12288, 12288}, Format::BF16, false, 1);
  EXPECT_GT(big.utilization, 0.85);
  EXPECT_EQ(big.bound, Bound::Compute);
  // A GEMV-like product streams the weights once: HBM-bound, low utilization.
  GemmMapping thin = accel.mapGemm({1, 16, 12288, 12288}, Format::BF16, false, 1);
  EXPECT_EQ(thin.bound, Bound::Memory);
  EXPECT_LT(thin.utilization, 0.1);
  EXPECT_NEAR(thin.hbmBytes / thin.compulsoryHbmBytes, 1.0, 0.01);
  // Narrow formats at rate 2 double the array's throughput.
  AccelModel fast(computeBound(example("tessera-train-7nm")), policy("bf16"), kNoCap);
  double bf16 = fast.mapGemm({1, 8192, 8192, 8192}, Format::BF16, false, 1).computeSeconds;
  double fp8 = fast.mapGemm({1, 8192, 8192, 8192}, Format::FP8E4M3, false, 1).computeSeconds;
  EXPECT_NEAR(bf16 / fp8, 2.0, 0.1);
}

//===----------------------------------------------------------------------===//
// Sparsity, zero skipping, scale-cast
//===----------------------------------------------------------------------===//

TEST(AccelModel, SparseWeightsDoubleComputeBoundThroughput) {
  AccelModel accel(computeBound(example("tessera-train-7nm")), policy("mxfp8-sparse"), kNoCap);
  GemmShape big{1, 8192, 8192, 8192};
  GemmMapping dense = accel.mapGemm(big, Format::MXFP8, false, 1);
  GemmMapping sparse = accel.mapGemm(big, Format::MXFP8, true, 1);
  EXPECT_EQ(dense.bound, Bound::Compute);
  EXPECT_NEAR(dense.seconds / sparse.seconds, 2.0, 0.15);
  EXPECT_NEAR(sparse.macs / dense.macs, 0.5, 1e-9);
  // Memory-bound on the activations (A >> B): compressing B barely helps.
  AccelModel real(example("tessera-train-7nm"), policy("mxfp8-sparse"), kNoCap);
  GemmShape tall{1, 262144, 16, 4096};
  GemmMapping d2 = real.mapGemm(tall, Format::MXFP8, false, 1);
  GemmMapping s2 = real.mapGemm(tall, Format::MXFP8, true, 1);
  EXPECT_EQ(d2.bound, Bound::Memory);
  EXPECT_LT(d2.seconds / s2.seconds, 1.1);
  EXPECT_GE(d2.seconds / s2.seconds, 1.0 - 1e-12);
  // A format that is not sparse-capable ignores the request.
  ArchSpec noSparse = computeBound(example("tessera-train-7nm"));
  for (arch::TensorFormat &f : noSparse.tile.tensor.formats)
    f.sparse = false;
  AccelModel plain(noSparse, policy("bf16"), kNoCap);
  EXPECT_EQ(plain.mapGemm(big, Format::MXFP8, true, 1).seconds,
            plain.mapGemm(big, Format::MXFP8, false, 1).seconds);
}

// zeroSkipFactor against a direct simulation of the generated tensor unit's fetch policy
// (look at the next W steps, issue the first non-zero one, move to the next non-zero step
// in the window or past it) on a long stream of independently zero steps.
TEST(AccelModel, ZeroSkipFactorMatchesTheFetchPolicy) {
  ArchSpec spec = example("tessera-train-7nm");
  ASSERT_TRUE(spec.tile.tensor.zeroSkipActivations);
  std::mt19937_64 rng(5);
  for (double d : {0.05, 0.25, 0.5, 0.75, 0.95}) {
    std::vector<bool> nz(400000);
    for (size_t i = 0; i < nz.size(); ++i)
      nz[i] = double(rng() % 1000000) / 1e6 < d;
    const uint64_t cycles = zeroSkipStreamCycles(spec, nz);
    double simulated = double(cycles) / double(nz.size());
    EXPECT_NEAR(zeroSkipFactor(spec, d), simulated, 0.005) << "density " << d;
    EXPECT_GE(zeroSkipFactor(spec, d), d); // every non-zero step takes a cycle
  }
  EXPECT_EQ(zeroSkipFactor(spec, 1.0), 1.0);
  EXPECT_EQ(zeroSkipFactor(example("a100-like"), 0.5), 1.0); // no zero-skipping hardware
}

// The actual-data form on patterns worked by hand from the window policy
// (docs/tile-tensor-unit.md: a run of r skipped steps costs floor((r-1)/2) between issued
// steps, floor(r/2) at the start, ceil((r-1)/2) at the end).
TEST(AccelModel, ZeroSkipStreamCyclesFollowsTheWindow) {
  ArchSpec spec = example("tessera-train-7nm");
  ASSERT_EQ(technologyFor(spec).zeroSkipWindow, 2);
  auto pattern = [](const std::string &s) {
    std::vector<bool> v;
    for (char c : s)
      v.push_back(c == '1');
    return v;
  };
  EXPECT_EQ(zeroSkipStreamCycles(spec, pattern("1111")), 4u);
  EXPECT_EQ(zeroSkipStreamCycles(spec, pattern("10101010")), 4u); // isolated zeros are free
  EXPECT_EQ(zeroSkipStreamCycles(spec, pattern("01010101")), 4u);
  EXPECT_EQ(zeroSkipStreamCycles(spec, pattern("00000000")), 4u); // fetched 2 per cycle
  EXPECT_EQ(zeroSkipStreamCycles(spec, pattern("10001000")), 2u + 1u + 1u);
  EXPECT_EQ(zeroSkipStreamCycles(spec, pattern("1000000000000000")), 1u + 7u);
  EXPECT_EQ(zeroSkipStreamCycles(spec, pattern("0000000000000001")), 8u);
  EXPECT_EQ(zeroSkipStreamCycles(spec, {}), 0u);
  // Without zero-skipping hardware every step costs a cycle.
  EXPECT_EQ(zeroSkipStreamCycles(example("a100-like"), pattern("1000")), 4u);
  EXPECT_EQ(outputStationaryCycles(4, 4, {8.0, 2.0}), 8 + 4 + 4 + 4);
}

TEST(AccelModel, ZeroSkippingIsBoundedByTheWindow) {
  AccelModel accel(computeBound(example("tessera-train-7nm")), policy("bf16"), kNoCap);
  GemmShape big{1, 8192, 8192, 8192};
  double dense = accel.mapGemm(big, Format::BF16, false, 1.0).seconds;
  double half = accel.mapGemm(big, Format::BF16, false, 0.5).seconds;
  double sparse = accel.mapGemm(big, Format::BF16, false, 0.05).seconds;
  EXPECT_LT(half, dense * 0.9);   // exploited ...
  EXPECT_GT(half, dense * 0.5);   // ... but never beyond the ideal 1 / density
  EXPECT_LE(sparse, half);        // fewer non-zeros never slower
  EXPECT_GT(sparse, dense * 0.5); // the look-ahead window caps the gain
  // A spec without zero-skipping hardware ignores the density.
  AccelModel a100(computeBound(example("a100-like")), policy("bf16"), kNoCap);
  EXPECT_EQ(a100.mapGemm(big, Format::BF16, false, 0.5).seconds,
            a100.mapGemm(big, Format::BF16, false, 1.0).seconds);
}

TEST(AccelModel, ScaleCastOffTheStorePathCostsAVectorPass) {
  workload::Graph g = linearGraph(8192, 4096, 4096);
  const workload::Op &op = g.ops()[0];
  ArchSpec on = example("tessera-train-7nm");
  ArchSpec off = on;
  off.tile.scaleCast->onStorePath = false;
  ArchSpec none = on;
  none.tile.scaleCast.reset();
  AccelModel fp8On(on, policy("fp8"), kNoCap), fp8Off(off, policy("fp8"), kNoCap), fp8None(none, policy("fp8"), kNoCap);
  OpTime tOn = fp8On.opTime(g, op), tOff = fp8Off.opTime(g, op), tNone = fp8None.opTime(g, op);
  EXPECT_GT(tOff.seconds, tOn.seconds);
  EXPECT_EQ(tOff.seconds, tNone.seconds);
  // The extra pass reads the BF16 result and writes it in FP8: 3 bytes per element.
  EXPECT_NEAR(tOff.dramBytes - tOn.dramBytes, 8192.0 * 4096 * 3, 1);
  EXPECT_NE(tOff.detail.find("scale-cast pass"), std::string::npos);
  // BF16 needs no cast.
  AccelModel bfOn(on, policy("bf16"), kNoCap), bfOff(off, policy("bf16"), kNoCap);
  EXPECT_EQ(bfOn.opTime(g, op).seconds, bfOff.opTime(g, op).seconds);
}

TEST(AccelModel, PolicyRoutesSparsityAndFormatsByPhase) {
  workload::Graph g = linearGraph(8192, 12288, 12288);
  ArchSpec spec = computeBound(example("tessera-train-7nm"));
  AccelModel dense(spec, policy("mxfp8"), kNoCap), sparse(spec, policy("mxfp8-sparse"), kNoCap);
  workload::Op fwd = g.ops()[0];
  // The weight is a Parameter: forward GEMMs use 2:4.
  EXPECT_LT(sparse.opTime(g, fwd).seconds, 0.7 * dense.opTime(g, fwd).seconds);
  // Backward-data with transposable masks stays sparse; without sparse backward, dense.
  workload::Op bwd = fwd;
  bwd.phase = workload::Phase::BackwardData;
  EXPECT_LT(sparse.opTime(g, bwd).seconds, 0.7 * dense.opTime(g, bwd).seconds);
  ArchSpec noBack = spec;
  noBack.tile.tensor.sparseBackward = arch::SparseBackward::None;
  AccelModel sparseNoBack(noBack, policy("mxfp8-sparse"), kNoCap);
  EXPECT_EQ(sparseNoBack.opTime(g, bwd).seconds, dense.opTime(g, bwd).seconds);
  EXPECT_LT(sparseNoBack.opTime(g, fwd).seconds, dense.opTime(g, fwd).seconds);
  // fp8: forward in E4M3, backward in E5M2 (same rate here).
  AccelModel fp8(spec, policy("fp8"), kNoCap);
  EXPECT_NEAR(fp8.opTime(g, fwd).seconds / fp8.opTime(g, bwd).seconds, 1.0, 1e-9);
}

//===----------------------------------------------------------------------===//
// Whole workloads
//===----------------------------------------------------------------------===//

TEST(AccelModel, EveryOpOfTrainingGraphsHasATime) {
  for (std::string wl : {"gpt2", "resnet50"}) {
    EstimateRequest req;
    req.workload = wl;
    req.zoo.batch = wl == "gpt2" ? 4 : 32;
    int64_t seq = 0;
    Expected<workload::Graph> g = buildTrainingWorkload(req, seq);
    ASSERT_TRUE(g.ok()) << g.error().render();
    AccelModel accel(example("tessera-train-7nm"), policy("mxfp8-sparse"), kNoCap);
    for (const workload::Op &op : g->ops()) {
      OpTime t = accel.opTime(*g, op);
      EXPECT_TRUE(std::isfinite(t.seconds)) << op.name;
      EXPECT_GE(t.seconds, 0) << op.name;
      EXPECT_LE(t.efficiency, 1.0 + 1e-9) << op.name;
      workload::OpCategory c = workload::opCategory(op.kind);
      if (c == workload::OpCategory::Collective) {
        EXPECT_EQ(t.seconds, 0) << op.name;
      } else if (c == workload::OpCategory::Gemm || c == workload::OpCategory::Conv ||
                 c == workload::OpCategory::Attention) {
        EXPECT_GT(t.seconds, 0) << op.name;
      }
    }
  }
}

TEST(AccelModel, AttentionSoftmaxRunsOnTheVectorLanes) {
  EstimateRequest req;
  req.workload = "gpt2";
  req.zoo.batch = 8;
  int64_t seq = 0;
  Expected<workload::Graph> g = buildTrainingWorkload(req, seq);
  ASSERT_TRUE(g.ok());
  ArchSpec spec = example("tessera-train-7nm");
  ArchSpec narrow = spec;
  narrow.tile.vector.lanes /= 4;
  AccelModel wide(spec, policy("bf16"), kNoCap), thin(narrow, policy("bf16"), kNoCap);
  int found = 0;
  for (const workload::Op &op : g->ops()) {
    if (workload::opCategory(op.kind) != workload::OpCategory::Attention)
      continue;
    ++found;
    EXPECT_GT(thin.opTime(*g, op).seconds, 1.5 * wide.opTime(*g, op).seconds) << op.name;
  }
  EXPECT_GT(found, 0);
}

TEST(AccelModel, DeviceFigures) {
  ArchSpec spec = example("tessera-train-7nm");
  AccelModel accel(spec, policy("mxfp8"));
  EXPECT_EQ(accel.name(), "tessera-train-7nm");
  EXPECT_DOUBLE_EQ(accel.peakFlops(workload::DType::BF16), spec.peakFlops(Format::MXFP8));
  EXPECT_DOUBLE_EQ(accel.memoryCapacity(), 80.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(accel.memoryBandwidth(), 5 * 407.8e9);
  EXPECT_EQ(accel.devicesPerNode(), 8);
  EXPECT_DOUBLE_EQ(accel.intraNodeLink().bandwidth, 12 * 25e9);
  EXPECT_DOUBLE_EQ(accel.interNodeLink().bandwidth, 25e9);
  EXPECT_DOUBLE_EQ(accel.powerLimit(), 400);
  EXPECT_GT(accel.staticPower(), 0);
  EXPECT_GT(accel.energyPerFlop(workload::DType::BF16), 0);
  EXPECT_GT(accel.energyPerFlop(workload::DType::F32), 0);
  EXPECT_GT(accel.energyPerDramByte(), 0);
  EXPECT_GT(accel.energyPerLinkByte(), 0);
  ArchSpec single = spec;
  single.links.count = 0;
  EXPECT_DOUBLE_EQ(AccelModel(single, policy("bf16"), kNoCap).intraNodeLink().bandwidth, 25e9);
  OpTime stream = accel.streamTime(1e9, 1e9);
  EXPECT_EQ(stream.bound, Bound::Memory);
  EXPECT_NEAR(stream.seconds, 2e9 / (5 * 407.8e9 * 0.85), 5e-6);
}

TEST(AccelModel, Gpt3IterationIsDeterministicAndPolicyOrdered) {
  EstimateRequest req = gpt3Request();
  ArchSpec spec = example("tessera-train-7nm");
  auto run = [&](const std::string &p) {
    AccelModel accel(spec, policy(p), kNoCap);
    Expected<TrainingEstimate> e = estimateWorkload(accel, req);
    EXPECT_TRUE(e.ok()) << e.error().render();
    return e.ok() ? *e : TrainingEstimate{};
  };
  TrainingEstimate bf16 = run("bf16"), again = run("bf16"), mx = run("mxfp8"),
                   sp = run("mxfp8-sparse");
  EXPECT_EQ(bf16.iterationSeconds, again.iterationSeconds);
  EXPECT_EQ(estimateJson(bf16, "gpt3").dump(), estimateJson(again, "gpt3").dump());
  EXPECT_LT(mx.iterationSeconds, bf16.iterationSeconds);
  EXPECT_LE(sp.iterationSeconds, mx.iterationSeconds);
  EXPECT_GT(bf16.mfu, 0.2);
  EXPECT_LT(bf16.mfu, 0.8);
}

//===----------------------------------------------------------------------===//
// Validation hook: the A100 described as an arch spec against the GPU model
//===----------------------------------------------------------------------===//

// Not an equality: the two are different models of the same chip (a mapper over a
// dataflow array vs a CUTLASS-tile model calibrated on cuBLAS). The ratios are printed
// for docs/accel-model.md and held to a ballpark.
TEST(AccelModel, A100LikeAgainstGpuModel) {
  AccelModel accel(example("a100-like"), policy("bf16"), kNoCap);
  GpuModel gpu(*gpuByName("a100"));
  fmt::print("| point | published | GpuModel | AccelModel (a100-like, bf16) | Accel / Gpu |\n"
             "|---|---|---|---|---|\n");
  for (const ValidationPoint &p : gpuValidationPoints()) {
    double gpuValue = 0, accelValue = 0;
    if (!p.gemm.empty()) {
      Expected<GemmEstimate> ge = estimateGemm(gpu, p.gemm, workload::DType::F16);
      ASSERT_TRUE(ge.ok());
      GemmMapping m = accel.mapGemm(ge->shape, Format::FP16, false, 1);
      gpuValue = ge->tflops;
      accelValue = ge->shape.flops() / m.seconds / 1e12;
    } else {
      if (p.gpu != "a100")
        continue;
      Expected<TrainingEstimate> ge = estimateWorkload(gpu, p.request);
      Expected<TrainingEstimate> ae = estimateWorkload(accel, p.request);
      if (!ge.ok() || !ae.ok())
        continue;
      gpuValue = ge->tflopsPerDevice;
      accelValue = ae->tflopsPerDevice;
    }
    double ratio = accelValue / gpuValue;
    fmt::print("| {} {} | {:.1f} | {:.1f} | {:.1f} | {:.2f} |\n", p.group, p.label, p.reference,
               gpuValue, accelValue, ratio);
    EXPECT_GT(ratio, 0.6) << p.label;
    EXPECT_LT(ratio, 1.5) << p.label;
  }
}

// The make-run configuration of the headline comparison (docs/accel-model.md prints this
// table): GPT-3 175B, 1024 devices, TP 8, PP 8, global batch 1536, selective
// recomputation, sequence parallelism; the A800 in BF16 against tessera-train-7nm under
// each policy, with the scale-cast hardware on the store path and without it.
TEST(AccelModel, TesseraTrainAgainstA800OnGpt3) {
  EstimateRequest req = gpt3Request();
  GpuModel a800(*gpuByName("a800"));
  Expected<TrainingEstimate> base = estimateWorkload(a800, req);
  ASSERT_TRUE(base.ok()) << base.error().render();
  ArchSpec on = example("tessera-train-7nm");
  ArchSpec off = on;
  off.tile.scaleCast->onStorePath = false;
  fmt::print("| policy | iteration (s) | speed-up vs A800 ({:.2f} s) | scale-cast off the store "
             "path: iteration (s) | speed-up |\n|---|---|---|---|---|\n",
             base->iterationSeconds);
  for (const std::string &p : PrecisionPolicy::names()) {
    if (!checkPolicy(on, policy(p)).ok())
      continue;
    Expected<TrainingEstimate> e = estimateWorkload(AccelModel(on, policy(p), kNoCap), req);
    Expected<TrainingEstimate> eOff = estimateWorkload(AccelModel(off, policy(p), kNoCap), req);
    ASSERT_TRUE(e.ok() && eOff.ok());
    fmt::print("| {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |\n", p, e->iterationSeconds,
               base->iterationSeconds / e->iterationSeconds, eOff->iterationSeconds,
               base->iterationSeconds / eOff->iterationSeconds);
    EXPECT_GT(base->iterationSeconds / e->iterationSeconds, 1.0) << p;
    EXPECT_GE(eOff->iterationSeconds, e->iterationSeconds) << p;
  }
}

TEST(AccelModel, PowerCapSlowsKernelsThatWouldExceedIt) {
  arch::ArchSpec spec = example("tessera-train-7nm");
  workload::GemmShape g;
  g.m = 8192;
  g.n = 8192;
  g.k = 8192;
  AccelModel free(spec, policy("bf16"), kNoCap);
  GemmMapping unc = free.mapGemm(g, arch::Format::BF16, false, 1.0);
  double watts = unc.energyJ / unc.seconds + free.staticPower();
  AccelModel capped(spec, policy("bf16"), 0.5 * watts);
  GemmMapping m = capped.mapGemm(g, arch::Format::BF16, false, 1.0);
  EXPECT_GT(m.seconds, 1.5 * unc.seconds);
  EXPECT_EQ(m.bound, Bound::Power);
  EXPECT_LE(m.energyJ / m.seconds + capped.staticPower(), 0.5 * watts * (1 + 1e-9));
}
