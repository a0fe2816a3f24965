//===- FpDivSqrtTest.cpp - fp32DivUnit / fp32SqrtUnit against lib/numerics -------===//
//
// The vector unit's divide and square-root datapaths (lib/accel/FpUnits.cpp) are wrapped
// in a one-module design, simulated with lib/sim on random and edge-case inputs and
// compared bit for bit with numerics::fp32Div / fp32Sqrt (which are themselves checked
// against the host's IEEE arithmetic in tests/unit/numerics/Fp32MathTest.cpp). The module
// is also emitted as Verilog and linted by Verilator.
//
//===----------------------------------------------------------------------===//
#include "accel/FpUnits.h"
#include "hw/Verify.h"
#include "numerics/Numerics.h"
#include "sim/Sim.h"
#include "verilog/Verilog.h"

#include "../verilog/ToolRunner.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace tessera::accel {
namespace {

using hw::ValueId;

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%08llx", static_cast<unsigned long long>(v));
  return buf;
}

/// Module "unit": inputs x, y (32 bits), outputs div = x / y and sqrt = sqrt(x).
struct DivSqrtSim {
  hw::Design design;
  std::unique_ptr<sim::Simulator> sim;
  size_t ops = 0;

  DivSqrtSim() {
    hw::Module &m = design.addModule("unit");
    design.topName = "unit";
    hw::ModuleBuilder b(m);
    b.setLoc(SourceLoc{"<fpdivsqrt-test>", 0, 0});
    ValueId x = b.input("x", 32), y = b.input("y", 32);
    b.output("div", 32, fp32DivUnit(b, x, y));
    b.output("sqrt", 32, fp32SqrtUnit(b, x));
    ops = m.ops.size();
    DiagnosticEngine diags;
    EXPECT_TRUE(hw::verifyDesign(design, diags));
    for (const Diagnostic &d : diags.diagnostics())
      ADD_FAILURE() << d.render();
    sim::SimOptions o;
    o.engine = sim::Engine::Interp;
    o.lanes = 64;
    auto s = sim::Simulator::create(design, o);
    if (!s.ok()) {
      ADD_FAILURE() << s.error().render();
      return;
    }
    sim = std::move(s).value();
  }

  /// (div, sqrt) for each (x, y).
  std::vector<std::pair<uint32_t, uint32_t>>
  run(const std::vector<std::pair<uint32_t, uint32_t>> &in) {
    std::vector<std::pair<uint32_t, uint32_t>> out(in.size());
    uint32_t lanes = sim->lanes();
    for (size_t base = 0; base < in.size(); base += lanes) {
      size_t n = std::min<size_t>(lanes, in.size() - base);
      for (size_t l = 0; l < n; ++l) {
        sim->poke(0, in[base + l].first, uint32_t(l));
        sim->poke(1, in[base + l].second, uint32_t(l));
      }
      for (size_t l = 0; l < n; ++l)
        out[base + l] = {uint32_t(sim->peek64(0, uint32_t(l))),
                         uint32_t(sim->peek64(1, uint32_t(l)))};
    }
    return out;
  }
};

/// FP32 patterns: random bits, normal values of any exponent, subnormals, zeros, Inf,
/// NaNs, extremes, significands with few bits set (exact quotients / roots, ties).
uint32_t randomFp32(std::mt19937_64 &rng) {
  uint32_t r = uint32_t(rng());
  uint32_t sign = r & 0x80000000u;
  switch (rng() % 8) {
  case 0: {
    static const uint32_t special[] = {0,          0x7F800000, 0x7FC00000, 0x7F800001,
                                       0x00000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF,
                                       0x3F800000, 0x40000000, 0x40800000, 0x3F7FFFFF,
                                       0x00FFFFFF, 0x01000000, 0x7F000000, 0x3E800000};
    return special[rng() % std::size(special)] ^ sign;
  }
  case 1:
    return sign | (r & 0x007FFFFF); // subnormal: DAZ
  case 2:
    return sign | (uint32_t(rng() % 256) << 23) | (uint32_t(rng()) & 0x7F8000);
  case 3:
    return sign | (uint32_t(110 + rng() % 36) << 23) | (uint32_t(rng()) & 0x7FFFFF);
  default:
    return sign | (uint32_t(1 + rng() % 254) << 23) | (uint32_t(rng()) & 0x7FFFFF);
  }
}

TEST(FpDivSqrt, RandomAgainstNumerics) {
  DivSqrtSim u;
  ASSERT_TRUE(u.sim);
  std::mt19937_64 rng(2026);
  std::vector<std::pair<uint32_t, uint32_t>> in;
  for (int i = 0; i < 200000; ++i) {
    uint32_t x = randomFp32(rng), y = randomFp32(rng);
    switch (i % 5) {
    case 0: // quotients near the FTZ and overflow boundaries
      y = (y & 0x807FFFFFu) | (uint32_t((((x >> 23) & 0xFF) + 120 + rng() % 16) & 0xFF) << 23);
      break;
    case 1:
      y = (y & 0x807FFFFFu) | (uint32_t((((x >> 23) & 0xFF) - 120 - rng() % 16) & 0xFF) << 23);
      break;
    case 2: // exact quotients: y divides x's significand
      y = (x & 0xFF800000u) ^ (uint32_t(rng() % 8) << 23);
      break;
    case 3: // squares of short significands: exact roots
      x = (uint32_t(40 + rng() % 170) << 23) | (uint32_t(rng() % 4096) << 11);
      x = numerics::fp32Mul(x, x);
      break;
    default:
      break;
    }
    in.push_back({x, y});
  }
  // Every exponent for the square root (odd and even) with random significands.
  for (uint32_t e = 0; e < 256; ++e)
    for (int k = 0; k < 64; ++k)
      in.push_back(
          {(e << 23) | (uint32_t(rng()) & 0x7FFFFF) | (k & 1 ? 0x80000000u : 0), 0x3F800000});
  auto out = u.run(in);
  size_t bad = 0, divChecked = 0, sqrtChecked = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    auto [x, y] = in[i];
    uint32_t wantDiv = numerics::fp32Div(x, y), wantSqrt = numerics::fp32Sqrt(x);
    ++divChecked;
    ++sqrtChecked;
    if (out[i].first != wantDiv && bad++ < 10)
      ADD_FAILURE() << "div(" << hex(x) << ", " << hex(y) << "): got " << hex(out[i].first)
                    << ", want " << hex(wantDiv);
    if (out[i].second != wantSqrt && bad++ < 10)
      ADD_FAILURE() << "sqrt(" << hex(x) << "): got " << hex(out[i].second) << ", want "
                    << hex(wantSqrt);
  }
  EXPECT_EQ(bad, 0u);
  std::printf("fp32 div+sqrt: %zu ops, %zu divisions, %zu roots checked\n", u.ops, divChecked,
              sqrtChecked);
}

TEST(FpDivSqrt, SpecialCases) {
  DivSqrtSim u;
  ASSERT_TRUE(u.sim);
  const uint32_t vals[] = {0,          0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000,
                           0xFFC00001, 0x00000001, 0x80400000, 0x3F800000, 0xBF800000,
                           0x7F7FFFFF, 0x00800000, 0x80800000, 0x40400000, 0x3F000000};
  std::vector<std::pair<uint32_t, uint32_t>> in;
  for (uint32_t x : vals)
    for (uint32_t y : vals)
      in.push_back({x, y});
  auto out = u.run(in);
  for (size_t i = 0; i < in.size(); ++i) {
    auto [x, y] = in[i];
    EXPECT_EQ(hex(out[i].first), hex(numerics::fp32Div(x, y))) << hex(x) << " / " << hex(y);
    EXPECT_EQ(hex(out[i].second), hex(numerics::fp32Sqrt(x))) << "sqrt " << hex(x);
  }
  // A few values written out, independent of numerics.
  auto one = [&](uint32_t x, uint32_t y) { return u.run({{x, y}})[0]; };
  EXPECT_EQ(hex(one(0x3F800000, 0x40400000).first), hex(0x3EAAAAAB));  // 1/3 rounds up
  EXPECT_EQ(hex(one(0x40800000, 0x3F800000).second), hex(0x40000000)); // sqrt 4 = 2
  EXPECT_EQ(hex(one(0x40000000, 0x3F800000).second), hex(0x3FB504F3)); // sqrt 2
  EXPECT_EQ(hex(one(0x3F800000, 0).first), hex(0x7F800000));           // 1/0 = Inf
  EXPECT_EQ(hex(one(0, 0).first), hex(0x7FC00000));                    // 0/0 = NaN
  EXPECT_EQ(hex(one(0x80000000, 0).second), hex(0x80000000));          // sqrt -0 = -0
  EXPECT_EQ(hex(one(0xBF800000, 0).second), hex(0x7FC00000));          // sqrt -1 = NaN
  EXPECT_EQ(hex(one(0x00800000, 0x7F000000).first), hex(0));           // underflow: FTZ
  EXPECT_EQ(hex(one(0x7F000000, 0x00800000).first), hex(0x7F800000));  // overflow: Inf
}

TEST(FpDivSqrt, EmittedVerilogPassesVerilatorLint) {
  if (verilog::test::runTool("verilator --version").rc != 0)
    GTEST_SKIP() << "verilator not installed";
  DivSqrtSim u;
  auto v = verilog::emitVerilog(u.design);
  ASSERT_TRUE(v.ok()) << v.error().render();
  verilog::test::TempDir dir("fpdivsqrt-lint");
  std::string file = dir.write("unit.v", v.value());
  auto lint = verilog::test::verilatorLint(file, "unit");
  EXPECT_EQ(lint.rc, 0) << lint.output;
  EXPECT_EQ(lint.output.find("%Warning"), std::string::npos) << lint.output;
}

} // namespace
} // namespace tessera::accel
