//===- FpUnitsTest.cpp - the hw IR arithmetic units against lib/numerics ------===//
//
// Every unit is wrapped in a one-module design, simulated with lib/sim on exhaustive and
// random inputs, and compared bit for bit with its numerics function. One unit is also
// emitted as Verilog and linted by Verilator.
//
//===----------------------------------------------------------------------===//
#include "accel/FpUnits.h"
#include "hw/Verify.h"
#include "numerics/Numerics.h"
#include "sim/Sim.h"
#include "verilog/Verilog.h"

#include "../verilog/ToolRunner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace tessera::accel {
namespace {

using hw::ValueId;
using numerics::Format;

const std::vector<Format> kTensorFormats = {Format::BF16, Format::FP16,  Format::E4M3,
                                            Format::E5M2, Format::E3M2,  Format::E2M3,
                                            Format::E2M1, Format::Int8Mx};

/// A design with one module "unit" built by `build`, which declares inputs in order and
/// returns the output value(s); simulated on many input vectors, lanes at a time.
class UnitSim {
public:
  using Builder = std::function<std::vector<ValueId>(hw::ModuleBuilder &, std::vector<ValueId> &)>;

  UnitSim(const std::vector<uint32_t> &inWidths, const Builder &build, uint32_t lanes = 64) {
    hw::Module &m = design_.addModule("unit");
    design_.topName = "unit";
    hw::ModuleBuilder b(m);
    b.setLoc(SourceLoc{"<fpunits-test>", 0, 0});
    std::vector<ValueId> ins;
    for (size_t i = 0; i < inWidths.size(); ++i)
      ins.push_back(b.input("in" + std::to_string(i), inWidths[i]));
    std::vector<ValueId> outs = build(b, ins);
    for (size_t i = 0; i < outs.size(); ++i)
      b.output("out" + std::to_string(i), m.width(outs[i]), outs[i]);
    ops_ = m.ops.size();
    DiagnosticEngine diags;
    EXPECT_TRUE(hw::verifyDesign(design_, diags));
    for (const Diagnostic &d : diags.diagnostics())
      ADD_FAILURE() << d.render();
    sim::SimOptions o;
    o.engine = sim::Engine::Interp;
    o.lanes = lanes;
    auto s = sim::Simulator::create(design_, o);
    if (!s.ok()) {
      ADD_FAILURE() << s.error().render();
      return;
    }
    sim_ = std::move(s).value();
    nIn_ = inWidths.size();
    nOut_ = outs.size();
  }

  bool ok() const { return sim_ != nullptr; }
  size_t ops() const { return ops_; }
  const hw::Design &design() const { return design_; }

  /// Outputs for every input vector (vectors[i][j] = input j of case i).
  std::vector<std::vector<uint64_t>> run(const std::vector<std::vector<uint64_t>> &vectors) {
    std::vector<std::vector<uint64_t>> out(vectors.size(), std::vector<uint64_t>(nOut_));
    uint32_t lanes = sim_->lanes();
    for (size_t base = 0; base < vectors.size(); base += lanes) {
      size_t n = std::min<size_t>(lanes, vectors.size() - base);
      for (size_t l = 0; l < n; ++l)
        for (size_t j = 0; j < nIn_; ++j)
          sim_->poke(uint32_t(j), vectors[base + l][j], uint32_t(l));
      for (size_t l = 0; l < n; ++l)
        for (size_t j = 0; j < nOut_; ++j)
          out[base + l][j] = sim_->peek64(uint32_t(j), uint32_t(l));
    }
    return out;
  }

private:
  hw::Design design_;
  std::unique_ptr<sim::Simulator> sim_;
  size_t nIn_ = 0, nOut_ = 0, ops_ = 0;
};

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

/// FP32 bit patterns that exercise every path: random bits, values near a few binades
/// (so sums cancel and tie), subnormals, zeros, Inf, NaN, the extremes of the range.
class Fp32Gen {
public:
  explicit Fp32Gen(uint64_t seed) : rng_(seed) {}
  uint32_t next() {
    uint32_t r = uint32_t(rng_());
    uint32_t sign = r & 0x80000000u;
    switch (rng_() % 10) {
    case 0: {
      static const uint32_t special[] = {0,          0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000,
                                         0x7F800001, 0x00000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF,
                                         0x3F800000, 0x33800000, 0x00FFFFFF, 0x0D800000};
      return special[rng_() % std::size(special)] ^ sign;
    }
    case 1:
      return sign | (r & 0x007FFFFF); // subnormal
    case 2:
    case 3: // near 1.0: cancellations, ties
      return sign | (uint32_t(120 + rng_() % 16) << 23) | (uint32_t(rng_()) & 0x7FFFFF);
    case 4: // near the FTZ boundary
      return sign | (uint32_t(1 + rng_() % 30) << 23) | (uint32_t(rng_()) & 0x7FFFFF);
    case 5: // near overflow
      return sign | (uint32_t(230 + rng_() % 25) << 23) | (uint32_t(rng_()) & 0x7FFFFF);
    case 6: // few mantissa bits set: exact ties
      return sign | (uint32_t(100 + rng_() % 60) << 23) | (uint32_t(rng_()) & 0x7F0000);
    default:
      return r;
    }
  }
  std::mt19937_64 &rng() { return rng_; }

private:
  std::mt19937_64 rng_;
};

//===----------------------------------------------------------------------===//
// decodeOperand
//===----------------------------------------------------------------------===//

TEST(FpUnits, DecodeEveryCodeOfEveryFormat) {
  const uint32_t cw = codeWidthOf(kTensorFormats);
  const uint32_t frac = operandFracBits(kTensorFormats);
  const uint32_t sw = selectWidthOf(kTensorFormats.size());
  UnitSim u({sw, cw}, [&](hw::ModuleBuilder &b, std::vector<ValueId> &in) {
    auto d = decodeOperand(b, kTensorFormats, in[0], in[1]);
    EXPECT_TRUE(d.ok());
    DecodedOperand x = d.value();
    EXPECT_EQ(x.fracBits, frac);
    return std::vector<ValueId>{x.sign, x.lead, x.sig, x.isZero, x.isInf, x.isNan};
  });
  ASSERT_TRUE(u.ok());
  std::vector<std::vector<uint64_t>> vec;
  std::vector<std::pair<Format, uint32_t>> cases;
  for (size_t f = 0; f < kTensorFormats.size(); ++f) {
    uint32_t n = 1u << numerics::formatInfo(kTensorFormats[f]).bits;
    for (uint32_t code = 0; code < n; ++code) {
      // Garbage above the format's bits must be ignored.
      uint64_t hi = n < (1u << cw) ? (uint64_t(code * 2654435761u)
                                      << numerics::formatInfo(kTensorFormats[f]).bits) &
                                         ((1u << cw) - 1)
                                   : 0;
      vec.push_back({f, code | hi});
      cases.push_back({kTensorFormats[f], code});
    }
  }
  auto out = u.run(vec);
  size_t bad = 0;
  for (size_t i = 0; i < cases.size() && bad < 10; ++i) {
    auto [f, code] = cases[i];
    double v = numerics::decode(f, code);
    bool sign = out[i][0], isZero = out[i][3], isInf = out[i][4], isNan = out[i][5];
    int lead = int(int16_t(uint16_t(out[i][1] << 4)) >> 4); // 12-bit signed
    uint64_t sig = out[i][2];
    bool okCase;
    if (std::isnan(v)) {
      okCase = isNan && !isInf && !isZero && sig == 0;
    } else if (std::isinf(v)) {
      okCase = isInf && !isNan && !isZero && sign == std::signbit(v) && sig == 0;
    } else if (v == 0) {
      okCase = isZero && !isInf && !isNan && sig == 0 &&
               (f == Format::Int8Mx || sign == std::signbit(v));
    } else {
      double mag = std::ldexp(double(sig), lead - int(frac));
      okCase = !isZero && !isInf && !isNan && sign == std::signbit(v) && mag == std::fabs(v) &&
               std::fabs(v) < std::ldexp(1.0, lead + 1) && sig < (uint64_t(1) << (frac + 1));
    }
    if (!okCase) {
      ++bad;
      ADD_FAILURE() << numerics::codeToString(f, code) << ": sign " << sign << " lead " << lead
                    << " sig " << sig << " zero/inf/nan " << isZero << isInf << isNan;
    }
  }
  std::printf("decodeOperand (8 formats): %zu ops, %zu codes checked\n", u.ops(), cases.size());
}

//===----------------------------------------------------------------------===//
// dotUnit
//===----------------------------------------------------------------------===//

/// A random code of `f` that is often small-exponent, zero or special.
uint32_t randomCode(std::mt19937_64 &rng, Format f) {
  unsigned bits = numerics::formatInfo(f).bits;
  uint32_t mask = (1u << bits) - 1;
  uint32_t r = uint32_t(rng());
  switch (rng() % 16) {
  case 0:
    return 0;
  case 1:
    return (1u << (bits - 1)) & mask; // -0 (int8mx: -2)
  case 2: {                           // special or extreme
    uint32_t c = numerics::convertFromFp32(rng() % 2 ? 0x7FC00000 : 0x7F800000, f,
                                           numerics::Rounding::Nearest, numerics::Overflow::Ieee);
    return c | (rng() % 2 ? (1u << (bits - 1)) & mask : 0);
  }
  default:
    return r & mask;
  }
}

struct DotCase {
  uint32_t aSel, bSel, acc, aScale, bScale;
  std::vector<uint32_t> a, b;
};

void checkDot(uint32_t W, const std::vector<Format> &af, const std::vector<Format> &bf,
              const std::vector<DotCase> &cases, size_t *opsOut = nullptr) {
  const uint32_t acw = codeWidthOf(af), bcw = codeWidthOf(bf);
  std::vector<uint32_t> widths = {selectWidthOf(af.size()), selectWidthOf(bf.size()), 32, 8, 8};
  for (uint32_t k = 0; k < W; ++k) {
    widths.push_back(acw);
    widths.push_back(bcw);
  }
  UnitSim u(widths, [&](hw::ModuleBuilder &b, std::vector<ValueId> &in) {
    DotUnitConfig cfg{W, af, bf};
    DotUnitInputs di;
    di.aSelect = in[0];
    di.bSelect = in[1];
    di.acc = in[2];
    di.aScale = in[3];
    di.bScale = in[4];
    for (uint32_t k = 0; k < W; ++k) {
      di.a.push_back(in[5 + 2 * k]);
      di.b.push_back(in[6 + 2 * k]);
    }
    auto r = dotUnit(b, cfg, di);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().render());
    return std::vector<ValueId>{r.value()};
  });
  ASSERT_TRUE(u.ok());
  if (opsOut)
    *opsOut = u.ops();
  std::vector<std::vector<uint64_t>> vec;
  for (const DotCase &c : cases) {
    std::vector<uint64_t> v = {c.aSel, c.bSel, c.acc, c.aScale, c.bScale};
    for (uint32_t k = 0; k < W; ++k) {
      v.push_back(c.a[k]);
      v.push_back(c.b[k]);
    }
    vec.push_back(std::move(v));
  }
  auto out = u.run(vec);
  size_t bad = 0;
  for (size_t i = 0; i < cases.size() && bad < 10; ++i) {
    const DotCase &c = cases[i];
    uint32_t want =
        numerics::dotAccumulate(c.acc, af[c.aSel], c.a, c.aScale, bf[c.bSel], c.b, c.bScale);
    if (out[i][0] != want) {
      ++bad;
      std::string msg = "acc " + hex(c.acc) + " scales " + hex(c.aScale) + "," + hex(c.bScale);
      for (uint32_t k = 0; k < W; ++k)
        msg += " " + numerics::codeToString(af[c.aSel], c.a[k]) + "*" +
               numerics::codeToString(bf[c.bSel], c.b[k]);
      ADD_FAILURE() << msg << ": got " << hex(out[i][0]) << ", want " << hex(want);
    }
  }
}

/// Every code pair of each 8-bit format (W = 1) with a random accumulator, scale pair.
TEST(FpUnits, DotEveryPairOf8BitFormats) {
  const std::vector<Format> fmts = {Format::E4M3, Format::E5M2, Format::Int8Mx};
  std::mt19937_64 rng(1);
  Fp32Gen acc(2);
  std::vector<DotCase> cases;
  for (uint32_t s = 0; s < fmts.size(); ++s)
    for (uint32_t a = 0; a < 256; ++a)
      for (uint32_t b = 0; b < 256; ++b) {
        // Scales: mostly 1.0, sometimes far away (anchor moves past the accumulator).
        uint32_t sa = rng() % 4 ? 127 : uint32_t(rng() % 256);
        uint32_t sb = rng() % 4 ? 127 : uint32_t(110 + rng() % 40);
        cases.push_back({s, (s + (a & 1)) % uint32_t(fmts.size()), acc.next(), sa, sb, {a}, {b}});
      }
  size_t ops = 0;
  checkDot(1, fmts, fmts, cases, &ops);
  std::printf("dotUnit W=1 {e4m3,e5m2,int8mx}^2: %zu ops, %zu cases\n", ops, cases.size());
}

/// W = 8 over all eight tensor formats with a runtime select, random scales: the
/// alignment, truncation and adder tree with many terms.
TEST(FpUnits, DotRandomGroupsAllFormats) {
  const uint32_t W = 8;
  std::mt19937_64 rng(3);
  Fp32Gen acc(4);
  std::vector<DotCase> cases;
  for (int i = 0; i < 30000; ++i) {
    DotCase c;
    c.aSel = uint32_t(rng() % kTensorFormats.size());
    c.bSel = rng() % 2 ? c.aSel : uint32_t(rng() % kTensorFormats.size());
    c.acc = acc.next();
    c.aScale = rng() % 3 ? 127 : uint32_t(rng() % 256);
    c.bScale = rng() % 3 ? 127 : uint32_t(100 + rng() % 50);
    bool sparse = rng() % 8 == 0; // all-zero or nearly so: passthrough and cancellation
    for (uint32_t k = 0; k < W; ++k) {
      uint32_t x = randomCode(rng, kTensorFormats[c.aSel]);
      uint32_t y = randomCode(rng, kTensorFormats[c.bSel]);
      if (sparse && rng() % 4)
        x = 0;
      c.a.push_back(x);
      c.b.push_back(y);
    }
    if (i % 5 == 0) // x and -x: exact cancellation to +0
      c.b[1] = c.b[0],
      c.a[1] = c.a[0] ^ (1u << (numerics::formatInfo(kTensorFormats[c.aSel]).bits - 1));
    cases.push_back(std::move(c));
  }
  size_t ops = 0;
  checkDot(W, kTensorFormats, kTensorFormats, cases, &ops);
  std::printf("dotUnit W=8, 8 formats: %zu ops, %zu cases\n", ops, cases.size());
}

/// The PE configuration of an E4M3 tile, W = 32 (the width of numerics' throughput test).
TEST(FpUnits, DotWide32E4m3) {
  const uint32_t W = 32;
  std::mt19937_64 rng(5);
  Fp32Gen acc(6);
  std::vector<DotCase> cases;
  for (int i = 0; i < 5000; ++i) {
    DotCase c{0, 0, acc.next(), 127, 127, {}, {}};
    if (i % 2)
      c.aScale = uint32_t(rng() % 256), c.bScale = uint32_t(rng() % 256);
    for (uint32_t k = 0; k < W; ++k) {
      c.a.push_back(randomCode(rng, Format::E4M3) & (i % 7 == 0 ? 0x87 : 0xFF));
      c.b.push_back(randomCode(rng, Format::E4M3));
    }
    cases.push_back(std::move(c));
  }
  size_t ops = 0;
  checkDot(W, {Format::E4M3}, {Format::E4M3}, cases, &ops);
  std::printf("dotUnit W=32 e4m3: %zu ops, %zu cases\n", ops, cases.size());
}

TEST(FpUnits, DotRejectsBadConfigs) {
  hw::Design d;
  hw::ModuleBuilder b(d.addModule("m"));
  ValueId x = b.input("x", 32);
  DotUnitInputs in;
  in.a = {x};
  in.b = {x};
  in.acc = x;
  auto r = dotUnit(b, DotUnitConfig{1, {Format::FP32}, {Format::E4M3}}, in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "unsupported-format");
  r = dotUnit(b, DotUnitConfig{2, {Format::E4M3}, {Format::E4M3}}, in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "bad-unit-config");
  Format two[] = {Format::E4M3, Format::E5M2};
  auto c = castUnit(b, two, CastUnitInputs{x});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().id, "bad-unit-config");
}

//===----------------------------------------------------------------------===//
// Hardware FP32
//===----------------------------------------------------------------------===//

TEST(FpUnits, Fp32AddMulMax) {
  UnitSim u({32, 32}, [](hw::ModuleBuilder &b, std::vector<ValueId> &in) {
    return std::vector<ValueId>{fp32AddUnit(b, in[0], in[1]), fp32MulUnit(b, in[0], in[1]),
                                fp32MaxUnit(b, in[0], in[1])};
  });
  ASSERT_TRUE(u.ok());
  Fp32Gen gen(7);
  std::vector<std::vector<uint64_t>> vec;
  for (int i = 0; i < 100000; ++i) {
    uint32_t x = gen.next(), y = gen.next();
    switch (i % 4) {
    case 0: // close exponents: cancellation
      y = (x ^ 0x80000000u) + uint32_t(gen.rng()() % 64) - 32;
      break;
    case 1: // exponent gaps around the alignment limits
      y = (x & 0x807FFFFFu) | ((((x >> 23) & 0xFF) - uint32_t(gen.rng()() % 32)) & 0xFF) << 23;
      break;
    default:
      break;
    }
    vec.push_back({x, y});
  }
  auto out = u.run(vec);
  size_t bad = 0;
  for (size_t i = 0; i < vec.size() && bad < 10; ++i) {
    uint32_t x = uint32_t(vec[i][0]), y = uint32_t(vec[i][1]);
    uint32_t want[3] = {numerics::fp32Add(x, y), numerics::fp32Mul(x, y), numerics::fp32Max(x, y)};
    const char *name[3] = {"add", "mul", "max"};
    for (int k = 0; k < 3; ++k)
      if (out[i][k] != want[k]) {
        ++bad;
        ADD_FAILURE() << name[k] << "(" << hex(x) << ", " << hex(y) << "): got " << hex(out[i][k])
                      << ", want " << hex(want[k]);
      }
  }
  std::printf("fp32 add+mul+max: %zu ops, %zu pairs\n", u.ops(), vec.size());
}

//===----------------------------------------------------------------------===//
// castUnit, mxScaleUnit
//===----------------------------------------------------------------------===//

TEST(FpUnits, CastToEveryStoreFormat) {
  std::vector<Format> targets = kTensorFormats;
  targets.push_back(Format::E8M0);
  const uint32_t sw = selectWidthOf(targets.size());
  UnitSim u({32, sw, 1, 16, 1}, [&](hw::ModuleBuilder &b, std::vector<ValueId> &in) {
    auto r = castUnit(b, targets, CastUnitInputs{in[0], in[1], in[2], in[3], in[4]});
    EXPECT_TRUE(r.ok());
    return std::vector<ValueId>{r.value()};
  });
  ASSERT_TRUE(u.ok());
  Fp32Gen gen(8);
  std::mt19937_64 &rng = gen.rng();
  std::vector<std::vector<uint64_t>> vec;
  for (uint32_t t = 0; t < targets.size(); ++t) {
    // Every code's value, its neighbours one FP32 ulp away and the midpoints to the next
    // code (ties), under all rounding and overflow modes.
    uint32_t n = 1u << numerics::formatInfo(targets[t]).bits;
    uint32_t step = n > 256 ? 7 : 1;
    for (uint32_t code = 0; code < n; code += step) {
      uint32_t v = numerics::convertToFp32(targets[t], code);
      uint32_t w = numerics::convertToFp32(targets[t], code + 1 < n ? code + 1 : code);
      float fv, fw;
      std::memcpy(&fv, &v, 4);
      std::memcpy(&fw, &w, 4);
      float mid = fv / 2 + fw / 2;
      uint32_t m;
      std::memcpy(&m, &mid, 4);
      for (uint32_t x : {v, v + 1, v - 1, m, m + 1, m - 1})
        vec.push_back({x, t, rng() % 2, rng() & 0xFFFF, rng() % 2});
    }
    for (int i = 0; i < 6000; ++i) {
      uint32_t x = gen.next();
      if (i % 2) // scale into the target's range
        x = (x & 0x807FFFFF) | (uint32_t(127 - 20 + rng() % 40) << 23);
      vec.push_back({x, t, rng() % 2, rng() & 0xFFFF, rng() % 2});
    }
  }
  auto out = u.run(vec);
  size_t bad = 0;
  for (size_t i = 0; i < vec.size() && bad < 10; ++i) {
    Format f = targets[vec[i][1]];
    auto r = vec[i][2] ? numerics::Rounding::Stochastic : numerics::Rounding::Nearest;
    auto o = vec[i][4] ? numerics::Overflow::Ieee : numerics::Overflow::Saturate;
    uint32_t want = numerics::convertFromFp32(uint32_t(vec[i][0]), f, r, o, uint32_t(vec[i][3]));
    if (out[i][0] != want) {
      ++bad;
      ADD_FAILURE() << "cast " << hex(vec[i][0]) << " to " << numerics::formatInfo(f).name
                    << (vec[i][2] ? " SR r=" + hex(vec[i][3]) : " RNE")
                    << (vec[i][4] ? " ieee" : " sat") << ": got " << hex(out[i][0]) << ", want "
                    << hex(want);
    }
  }
  std::printf("castUnit (9 targets, RNE/SR, sat/ieee): %zu ops, %zu cases\n", u.ops(), vec.size());
}

TEST(FpUnits, MxScaleFloorAndUp) {
  std::vector<Format> elems = kTensorFormats;
  const uint32_t sw = selectWidthOf(elems.size());
  UnitSim u({32, sw, 1}, [&](hw::ModuleBuilder &b, std::vector<ValueId> &in) {
    auto r = mxScaleUnit(b, in[0], elems, in[1], in[2]);
    EXPECT_TRUE(r.ok());
    return std::vector<ValueId>{r.value()};
  });
  ASSERT_TRUE(u.ok());
  Fp32Gen gen(9);
  std::vector<std::vector<uint64_t>> vec;
  for (uint32_t e = 0; e < elems.size(); ++e) {
    // maxNormal times every power of two and its FP32 neighbours: the Up boundary.
    uint32_t mx = numerics::convertToFp32(
        elems[e], numerics::convertFromFp32(0x7F7FFFFF, elems[e], numerics::Rounding::Nearest,
                                            numerics::Overflow::Saturate));
    for (uint32_t k = 1; k < 254; ++k) {
      uint32_t x = (mx & 0x807FFFFF) | (k << 23);
      for (uint32_t y : {x, x + 1, x - 1})
        for (uint32_t up : {0u, 1u})
          vec.push_back({y, e, up});
    }
    for (int i = 0; i < 3000; ++i)
      vec.push_back({gen.next(), e, uint64_t(i % 2)});
  }
  auto out = u.run(vec);
  size_t bad = 0;
  for (size_t i = 0; i < vec.size() && bad < 10; ++i) {
    Format f = elems[vec[i][1]];
    auto mode = vec[i][2] ? numerics::ScaleRounding::Up : numerics::ScaleRounding::Floor;
    uint32_t want = numerics::mxScale(uint32_t(vec[i][0]), f, mode);
    if (out[i][0] != want) {
      ++bad;
      ADD_FAILURE() << "mxScale(" << hex(vec[i][0]) << ", " << numerics::formatInfo(f).name
                    << (vec[i][2] ? ", up" : ", floor") << "): got " << hex(out[i][0]) << ", want "
                    << hex(want);
    }
  }
  std::printf("mxScaleUnit (8 elements): %zu ops, %zu cases\n", u.ops(), vec.size());
}

//===----------------------------------------------------------------------===//
// Verilog
//===----------------------------------------------------------------------===//

TEST(FpUnits, EmittedVerilogPassesVerilatorLint) {
  if (verilog::test::runTool("verilator --version").rc != 0)
    GTEST_SKIP() << "verilator not installed";
  UnitSim u(
      {5, 32, 8, 8, 8, 8, 8, 8, 8, 8},
      [](hw::ModuleBuilder &b, std::vector<ValueId> &in) {
        DotUnitInputs di;
        di.acc = in[1];
        di.aScale = in[2];
        di.bScale = in[3];
        di.a = {in[4], in[5], in[6]};
        di.b = {in[7], in[8], in[9]};
        auto dot = dotUnit(b, DotUnitConfig{3, {Format::E4M3}, {Format::E5M2}}, di);
        EXPECT_TRUE(dot.ok());
        ValueId sum = fp32AddUnit(b, dot.value(), in[1]);
        ValueId prod = fp32MulUnit(b, sum, in[1]);
        ValueId mx = fp32MaxUnit(b, prod, sum);
        Format t[] = {Format::E4M3, Format::BF16, Format::Int8Mx, Format::E8M0};
        auto cast = castUnit(b, t,
                             CastUnitInputs{mx, b.extract(in[0], 0, 2), b.extract(in[0], 2, 1),
                                            b.concat({in[2], in[3]}), b.extract(in[0], 3, 1)});
        EXPECT_TRUE(cast.ok());
        Format e[] = {Format::E4M3, Format::BF16, Format::Int8Mx, Format::E2M1};
        auto scale = mxScaleUnit(b, mx, e, b.extract(in[0], 0, 2), b.extract(in[0], 4, 1));
        EXPECT_TRUE(scale.ok());
        return std::vector<ValueId>{mx, cast.value(), scale.value()};
      },
      1);
  ASSERT_TRUE(u.ok());
  auto v = verilog::emitVerilog(u.design());
  ASSERT_TRUE(v.ok()) << v.error().render();
  verilog::test::TempDir dir("fpunits-lint");
  std::string file = dir.write("unit.v", v.value());
  auto lint = verilog::test::verilatorLint(file, "unit");
  EXPECT_EQ(lint.rc, 0) << lint.output;
  EXPECT_EQ(lint.output.find("%Warning"), std::string::npos) << lint.output;
}

} // namespace
} // namespace tessera::accel
