//===- RandomDesignTest.cpp - interpreter == compiled on random designs ----===//
//
// The differential suite (tests/diff) compares both engines with Verilator and Icarus;
// this quick check compares them with each other on every output of every cycle, and a
// 3-lane compiled model's lanes with single-lane runs, on a few batches of random designs
// (hierarchy, instance arrays, memories, asynchronous resets, wide values).
//
//===----------------------------------------------------------------------===//
#include "SimTestUtil.h"

#include "hw/RandomDesign.h"
#include "sim/Stimulus.h"

namespace tessera::sim::test {
namespace {

std::vector<InputDesc> dataInputs(const Simulator &s) {
  std::vector<InputDesc> r;
  for (const PortInfo &p : s.inputs())
    if (!p.isClock)
      r.push_back({p.name, p.width});
  return r;
}

void drive(Simulator &s, const std::vector<hw::BitVec> &v, uint32_t lane) {
  size_t k = 0;
  for (uint32_t i = 0; i < s.inputs().size(); ++i)
    if (!s.inputs()[i].isClock)
      s.poke(i, v[k++], lane);
}

class SimRandom : public testing::TestWithParam<uint64_t> {};

TEST_P(SimRandom, EnginesAndLanesAgreeEveryCycle) {
  hw::RandomDesignOptions o;
  o.seed = GetParam();
  hw::Design d = hw::generateRandomBatch(o, 6);
  auto interp = makeSim(d, Engine::Interp);
  auto compiled = makeSim(d, Engine::Compiled);
  auto lanes = makeSim(d, Engine::Compiled, 3);
  ASSERT_TRUE(interp && compiled && lanes);
  RandomStimulus a(dataInputs(*interp), 42), b(dataInputs(*interp), 43), c(dataInputs(*interp), 44);
  for (int cycle = 0; cycle < 150; ++cycle) {
    const auto &va = a.next();
    drive(*interp, va, 0);
    drive(*compiled, va, 0);
    drive(*lanes, va, 1);
    drive(*lanes, b.next(), 0);
    drive(*lanes, c.next(), 2);
    for (uint32_t out = 0; out < interp->outputs().size(); ++out) {
      hw::BitVec want = interp->peek(out);
      ASSERT_EQ(compiled->peek(out).toString(), want.toString())
          << "cycle " << cycle << " output " << interp->outputs()[out].name;
      ASSERT_EQ(lanes->peek(out, 1).toString(), want.toString())
          << "cycle " << cycle << " output " << interp->outputs()[out].name << " (lane 1)";
    }
    ASSERT_EQ(interp->checksumOutputs(cycle), compiled->checksumOutputs(cycle));
    interp->step();
    compiled->step();
    lanes->step();
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimRandom, testing::Values(101, 303));

} // namespace
} // namespace tessera::sim::test
