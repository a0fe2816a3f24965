//===- OpsTest.cpp - every op at many widths against hw::evaluate ----------===//
//
// One module applies every combinational op to inputs of widths 1..200 (native, odd and
// multi-word); both engines must agree with hw::evaluate (Semantics.h) on random and
// corner-case values, as scalars, with several lanes, and inside an instance array.
//
//===----------------------------------------------------------------------===//
#include "SimTestUtil.h"

#include "hw/Semantics.h"
#include "sim/Stimulus.h"

namespace tessera::sim::test {
namespace {

using hw::BitVec;
using hw::OpKind;
using hw::ValueId;

const uint32_t kWidths[] = {1,  2,  5,  7,  8,  9,  16,  17,  31,  32,
                            33, 48, 63, 64, 65, 96, 127, 128, 129, 200};

/// Module "ops": inputs a<w>, b<w> for every width and a shift amount s (8 bits);
/// one output per op and width.
hw::Design opsDesign(uint32_t arrayCount) {
  hw::Design d;
  hw::Module &m = d.addModule("ops");
  hw::ModuleBuilder b(m);
  ValueId s = b.input("s", 8);
  for (uint32_t w : kWidths) {
    std::string ws = std::to_string(w);
    ValueId a = b.input("a" + ws, w), bb = b.input("b" + ws, w);
    auto out = [&](const std::string &name, ValueId v) {
      b.output(name + "_" + ws, m.width(v), v);
    };
    for (OpKind k : {OpKind::Add,  OpKind::Sub,  OpKind::Mul, OpKind::DivU, OpKind::DivS,
                     OpKind::RemU, OpKind::RemS, OpKind::And, OpKind::Or,   OpKind::Xor,
                     OpKind::Eq,   OpKind::Ne,   OpKind::LtU, OpKind::LtS,  OpKind::LeU,
                     OpKind::LeS,  OpKind::GtU,  OpKind::GtS, OpKind::GeU,  OpKind::GeS})
      out(std::string(hw::mnemonic(k)), b.binary(k, a, bb));
    for (OpKind k : {OpKind::Shl, OpKind::ShrU, OpKind::ShrS}) {
      out(std::string(hw::mnemonic(k)) + "s", b.binary(k, a, s));
      out(std::string(hw::mnemonic(k)) + "b", b.binary(k, a, bb));
    }
    for (OpKind k : {OpKind::Not, OpKind::RedAnd, OpKind::RedOr, OpKind::RedXor})
      out(std::string(hw::mnemonic(k)), b.unary(k, a));
    out("mux", b.mux(b.extract(bb, 0, 1), a, bb));
    out("concat", b.concat({a, bb, b.extract(s, 0, 3)}));
    if (w >= 3) {
      out("extract", b.extract(a, w / 3, w - w / 3));
      out("extracthi", b.extract(a, w - 1, 1));
    }
    out("zext", b.zext(a, w + 7));
    out("sext", b.sext(a, w + 7));
    out("sext2", b.sext(a, 2 * w + 1));
    if (w > 64)
      out("lo64", b.extract(a, w - 64, 64));
  }
  d.topName = "ops";
  if (arrayCount <= 1)
    return d;
  // The same module as an instance array: every input port wider by the count.
  hw::Module &t = d.addModule("top");
  hw::ModuleBuilder tb(t);
  uint32_t inst = tb.instance(m, "u", arrayCount);
  for (const hw::Port &p : m.ports)
    if (p.dir == hw::PortDir::In)
      tb.connect(inst, p.name, tb.input(p.name, p.width * arrayCount));
  for (const hw::Port &p : m.ports)
    if (p.dir == hw::PortDir::Out)
      tb.output(p.name, p.width * arrayCount, tb.instOutput(inst, p.name));
  d.topName = "top";
  return d;
}

BitVec randomValue(uint32_t w, uint64_t &seed) {
  std::vector<uint64_t> words((w + 63) / 64);
  for (auto &x : words)
    x = splitmix64(seed);
  BitVec v = BitVec::fromWords(w, words);
  switch (splitmix64(seed) % 8) {
  case 0:
    return BitVec(w, 0);
  case 1:
    return BitVec::ones(w);
  case 2: { // most negative
    BitVec m(w, 0);
    m.setBit(w - 1, true);
    return m;
  }
  case 3:
    return BitVec(w, splitmix64(seed) % 5).resize(w);
  case 4:
    return v.lshr(splitmix64(seed) % w);
  default:
    return v;
  }
}

/// Checks every output of `ops` (element `elem` of an array of `count`) for `lane`.
void checkAll(Simulator &sim, const hw::Module &ops, uint32_t count, uint32_t lanes,
              uint64_t seed) {
  const uint32_t nIn = static_cast<uint32_t>(sim.inputs().size());
  // values[lane][element][port of `ops`]
  std::vector<std::vector<std::vector<BitVec>>> values(lanes);
  for (uint32_t l = 0; l < lanes; ++l) {
    values[l].assign(count, std::vector<BitVec>(ops.ports.size()));
    for (uint32_t i = 0; i < nIn; ++i) {
      int p = ops.findPort(sim.inputs()[i].name);
      for (uint32_t e = 0; e < count; ++e)
        values[l][e][p] = randomValue(ops.ports[p].width, seed);
      BitVec whole = values[l][0][p];
      for (uint32_t e = 1; e < count; ++e)
        whole = values[l][e][p].concat(whole);
      sim.poke(i, whole, l);
    }
  }
  for (uint32_t l = 0; l < lanes; ++l)
    for (uint32_t o = 0; o < sim.outputs().size(); ++o) {
      BitVec got = sim.peek(o, l);
      int port = ops.findPort(sim.outputs()[o].name);
      const hw::Op &drv = ops.op(ops.op(ops.outputOp(port)).operands[0]);
      uint32_t w = drv.width;
      for (uint32_t e = 0; e < count; ++e) {
        std::vector<BitVec> args;
        for (ValueId v : drv.operands) {
          const hw::Op &src = ops.op(v);
          if (src.kind == OpKind::Input) {
            args.push_back(values[l][e][src.attr0]);
          } else { // an extract of an input (mux condition, concat part)
            const hw::Op &base = ops.op(src.operands[0]);
            args.push_back(hw::evaluate(src, {&values[l][e][base.attr0], 1}));
          }
        }
        BitVec want = hw::evaluate(drv, args);
        ASSERT_EQ(got.extract(e * w, w), want)
            << sim.outputs()[o].name << " lane " << l << " element " << e << " args "
            << args[0].toString() << ", " << (args.size() > 1 ? args[1].toString() : "");
      }
    }
}

struct OpsCase {
  Engine engine;
  uint32_t lanes, count;
};

class SimOps : public testing::TestWithParam<OpsCase> {};

TEST_P(SimOps, EveryOpMatchesEvaluate) {
  const OpsCase &c = GetParam();
  hw::Design d = opsDesign(c.count);
  auto sim = makeSim(d, c.engine, c.lanes);
  ASSERT_TRUE(sim);
  const hw::Module &ops = *d.find("ops");
  for (uint64_t round = 0; round < 40; ++round) {
    checkAll(*sim, ops, c.count, c.lanes, 1000 + round);
    if (testing::Test::HasFailure())
      return;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SimOps,
    testing::Values(OpsCase{Engine::Interp, 1, 1}, OpsCase{Engine::Compiled, 1, 1},
                    OpsCase{Engine::Interp, 3, 1}, OpsCase{Engine::Compiled, 3, 1},
                    OpsCase{Engine::Interp, 1, 3}, OpsCase{Engine::Compiled, 1, 3},
                    OpsCase{Engine::Compiled, 2, 3}),
    [](const testing::TestParamInfo<OpsCase> &i) {
      return std::string(engineName(i.param.engine)) + "Lanes" + std::to_string(i.param.lanes) +
             "Array" + std::to_string(i.param.count);
    });

} // namespace
} // namespace tessera::sim::test
