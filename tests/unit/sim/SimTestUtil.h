//===- SimTestUtil.h - helpers for the simulator tests ---------------------===//
#pragma once

#include "hw/Text.h"
#include "sim/Sim.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tessera::sim::test {

inline hw::Design parseOrDie(const std::string &text) {
  auto d = hw::parseDesign(text, "test.hw");
  if (!d.ok()) {
    ADD_FAILURE() << d.error().render();
    return hw::Design();
  }
  return std::move(d).value();
}

/// Model cache of the tests (kept in the build tree).
inline std::string testCacheDir() { return std::string(TESSERA_BINARY_DIR) + "/sim-test-cache"; }

inline std::unique_ptr<Simulator> makeSim(const hw::Design &d, Engine e, uint32_t lanes = 1,
                                          const std::string &top = "") {
  SimOptions o;
  o.engine = e;
  o.lanes = lanes;
  o.cacheDir = testCacheDir();
  auto s = Simulator::create(d, o, top);
  if (!s.ok()) {
    ADD_FAILURE() << s.error().render();
    return nullptr;
  }
  return std::move(s).value();
}

inline const char *engineName(Engine e) { return e == Engine::Compiled ? "Compiled" : "Interp"; }

struct EngineName {
  std::string operator()(const testing::TestParamInfo<Engine> &i) const {
    return engineName(i.param);
  }
};

} // namespace tessera::sim::test
