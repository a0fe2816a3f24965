//===- CompilerTestUtil.h - small graphs and runs for the compiler tests -*- C++ -*-===//
//
// Shared by the compiler's unit tests: arch specs from examples/arch, seeded random data,
// hand-built workload graphs (one tensor / op at a time, located in "model.onnx"), and a
// runtime over a compiled program whose failures are test failures.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "arch/ArchSpec.h"
#include "compiler/Compiler.h"
#include "runtime/Runtime.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tessera::compiler::testutil {

inline const std::string kArchDir = std::string(TESSERA_SOURCE_DIR) + "/examples/arch/";

inline arch::ArchSpec loadArch(const std::string &name) {
  auto spec = arch::loadArchSpec(kArchDir + name);
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().render());
  return *spec;
}

/// n values uniform in [-scale, scale) from a seeded generator.
inline std::vector<float> randomVec(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

inline workload::TensorId tensor(workload::Graph &g, const std::string &name,
                                 workload::Shape shape, workload::TensorRole role) {
  workload::Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.role = role;
  return g.addTensor(std::move(t));
}

inline void op(workload::Graph &g, workload::OpKind kind, const std::string &name,
               std::vector<workload::TensorId> in, std::vector<workload::TensorId> out,
               workload::OpAttrs attrs = {}) {
  workload::Op o;
  o.kind = kind;
  o.name = name;
  o.inputs = std::move(in);
  o.outputs = std::move(out);
  o.attrs = attrs;
  o.loc = SourceLoc{"model.onnx", 0, 0};
  g.addOp(std::move(o));
}

inline runtime::Runtime load(Program p) {
  auto rt = runtime::Runtime::create(std::move(p));
  EXPECT_TRUE(rt.ok()) << (rt.ok() ? "" : rt.error().render());
  return std::move(rt).value();
}

inline std::vector<float> readOk(const runtime::Runtime &rt, const std::string &name) {
  auto v = rt.read(name);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().render());
  return v.ok() ? *v : std::vector<float>{};
}

} // namespace tessera::compiler::testutil
