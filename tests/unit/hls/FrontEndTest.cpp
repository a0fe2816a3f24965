// The HLS front end (FrontEnd.h): kernels in tests/data/hls/ compiled through clang-14 and
// the pass pipeline, checked with Cdfg::verify and run with hls::evaluate against the same
// C computed natively; pragmas (pipeline II, unroll count), interface depths, attributes
// and every *-bad kernel's diagnostic id and C line.
#include "hls/FrontEnd.h"
#include "numerics/Numerics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tessera;
using namespace tessera::hls;

// The bit-trick kernel is plain C++: compiled natively here, it is the reference.
// (Its `#pragma clang loop` is unknown to GCC: tests/CMakeLists.txt silences that.)
namespace native {
#include "../../data/hls/bits.cpp"
} // namespace native

namespace {

std::string dataPath(const std::string &name) {
  return std::string(TESSERA_SOURCE_DIR) + "/tests/data/hls/" + name;
}

Cdfg compileOk(const std::string &name, const std::string &top) {
  FrontEndOptions opts;
  opts.top = top;
  Expected<Cdfg> g = compileKernel(dataPath(name), opts);
  if (!g.ok()) {
    ADD_FAILURE() << g.error().render();
    return Cdfg{};
  }
  Status v = g->verify();
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().render()) << "\n" << g->print();
  return std::move(g).value();
}

std::vector<std::vector<uint64_t>> memsFor(const Cdfg &g) {
  std::vector<std::vector<uint64_t>> mems;
  for (const Memory &m : g.memories)
    mems.emplace_back(m.depth, 0);
  return mems;
}

uint64_t mask(uint32_t w) { return w >= 64 ? ~0ull : (1ull << w) - 1; }

int memIndex(const Cdfg &g, const std::string &name) {
  for (size_t i = 0; i < g.memories.size(); ++i)
    if (g.memories[i].name == name)
      return int(i);
  return -1;
}

TEST(FrontEnd, SumWithPipelinePragma) {
  Cdfg g = compileOk("sum.c", "sum");
  ASSERT_EQ(g.name, "sum");
  ASSERT_EQ(g.loops.size(), 1u);
  EXPECT_EQ(g.loops[0].requestedII, 1u); // llvm.loop.pipeline.initiationinterval kept
  EXPECT_EQ(g.loops[0].tripCount.value_or(0), 64u);
  EXPECT_EQ(g.loops[0].loc.line, 5u);
  EXPECT_EQ(g.loops[0].blocks.size(), 1u) << g.print(); // rotated, single-block body
  ASSERT_EQ(g.memories.size(), 1u);
  EXPECT_EQ(g.memories[0].depth, 64u);
  EXPECT_EQ(g.memories[0].elemWidth, 32u);
  EXPECT_TRUE(g.memories[0].readOnly);
  EXPECT_EQ(g.memories[0].kind, MemKind::Interface);
  ASSERT_EQ(g.params.size(), 2u);
  EXPECT_EQ(g.params[0].cType, "const int *");
  EXPECT_TRUE(g.params[0].isArray);
  EXPECT_EQ(g.params[0].bytes, 4u);
  EXPECT_EQ(g.params[1].cType, "int");
  EXPECT_EQ(g.params[1].name, "n");
  ASSERT_TRUE(g.ret.has_value());
  EXPECT_TRUE(g.ret->isSigned);
  EXPECT_EQ(g.retCType, "int");
  EXPECT_EQ(g.sourceFile, dataPath("sum.c"));

  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 5; ++trial) {
    auto mems = memsFor(g);
    int32_t ref = 0;
    for (auto &x : mems[0]) {
      int32_t v = int32_t(rng());
      x = uint32_t(v);
      ref = int32_t(uint32_t(ref) + uint32_t(v));
    }
    int32_t n = int32_t(rng());
    ref = int32_t(uint32_t(ref) + uint32_t(n));
    auto r = evaluate(g, {uint32_t(n)}, mems);
    ASSERT_TRUE(r.ok()) << r.error().render();
    EXPECT_EQ(r->ret, uint32_t(ref));
  }
}

TEST(FrontEnd, UnrollCountPragmaUnrollsOnlyThatLoop) {
  Cdfg g = compileOk("unroll.cpp", "scale");
  ASSERT_EQ(g.loops.size(), 2u) << g.print();
  EXPECT_EQ(g.loops[0].unrollCount, 4u);
  EXPECT_EQ(g.loops[0].tripCount.value_or(0), 8u); // 32 / 4
  EXPECT_EQ(g.loops[1].unrollCount, 0u);
  EXPECT_EQ(g.loops[1].tripCount.value_or(0), 8u); // no pragma: not unrolled
  auto stores = [&](const Loop &l) {
    int n = 0;
    for (BlockId b : l.blocks)
      for (NodeId id : g.blocks[b].nodes)
        n += g.node(id).kind == OpKind::Store;
    return n;
  };
  EXPECT_EQ(stores(g.loops[0]), 4);
  EXPECT_EQ(stores(g.loops[1]), 1);
  // `out[N]` with `#define N 32`: the depth comes from evaluating the macro.
  EXPECT_EQ(g.memories[0].depth, 32u);

  auto mems = memsFor(g);
  int out = memIndex(g, "out"), in = memIndex(g, "in");
  ASSERT_GE(out, 0);
  ASSERT_GE(in, 0);
  for (int i = 0; i < 32; ++i)
    mems[in][i] = uint32_t(i * 7 - 50);
  auto r = evaluate(g, {uint32_t(-3)}, mems);
  ASSERT_TRUE(r.ok()) << r.error().render();
  for (int i = 0; i < 32; ++i) {
    int32_t want = (i * 7 - 50) * -3 + (i < 8 ? 1 : 0);
    EXPECT_EQ(mems[out][i], uint32_t(want)) << i;
  }
}

TEST(FrontEnd, BitIntrinsicsAndSwitchMatchNativeC) {
  Cdfg g = compileOk("bits.cpp", "bits");
  ASSERT_EQ(g.args.size(), 5u);
  EXPECT_EQ(g.params[0].cType, "uint32_t");
  EXPECT_FALSE(g.args[0].isSigned);
  EXPECT_TRUE(g.args[2].isSigned);
  std::mt19937_64 rng(7);
  std::vector<std::array<uint32_t, 5>> inputs = {
      {0, 0, 0, 0, 0}, {~0u, 1, 0x80000000u, 0x7fffffffu, 1}, {0x80000000u, 0x10, -1u, 5, 3}};
  for (int i = 0; i < 60; ++i)
    inputs.push_back({uint32_t(rng()), uint32_t(rng() >> (rng() % 32)), uint32_t(rng()),
                      uint32_t(rng()), uint32_t(i)});
  for (const auto &in : inputs) {
    auto mems = memsFor(g);
    auto r = evaluate(g, {in[0], in[1], in[2], in[3], in[4]}, mems);
    ASSERT_TRUE(r.ok()) << r.error().render();
    uint32_t want = native::bits(in[0], in[1], int32_t(in[2]), int32_t(in[3]), in[4]);
    EXPECT_EQ(r->ret, want) << in[0] << " " << in[1] << " " << in[2] << " " << in[3] << " "
                            << in[4];
  }
}

TEST(FrontEnd, LocalArraysTablesAndAttributes) {
  Cdfg g = compileOk("local.cpp", "local");
  int out = memIndex(g, "out"), in = memIndex(g, "in"), scratch = memIndex(g, "scratch"),
      table = memIndex(g, "kTable");
  ASSERT_GE(out, 0);
  ASSERT_GE(in, 0);
  ASSERT_GE(scratch, 0) << g.print();
  ASSERT_GE(table, 0) << g.print();
  EXPECT_EQ(g.memories[out].depth, 16u); // TESSERA_DEPTH(16)
  EXPECT_TRUE(g.memories[out].writeOnly);
  EXPECT_EQ(g.memories[in].depth, 16u); // in[4][4] flattens
  EXPECT_EQ(g.memories[scratch].kind, MemKind::Local);
  EXPECT_EQ(g.memories[scratch].partition, Partition::Cyclic);
  EXPECT_EQ(g.memories[scratch].partitionFactor, 2u);
  EXPECT_EQ(g.memories[table].elemWidth, 16u);
  EXPECT_TRUE(g.memories[table].readOnly);
  EXPECT_EQ(g.memories[table].init, (std::vector<uint64_t>{3, 1, 4, 1, 5, 9, 2, 6}));

  static const uint16_t kTable[8] = {3, 1, 4, 1, 5, 9, 2, 6};
  std::mt19937_64 rng(3);
  for (uint32_t k = 0; k < 6; ++k) {
    int32_t inA[4][4];
    auto mems = memsFor(g);
    for (int i = 0; i < 16; ++i) {
      inA[i / 4][i % 4] = int32_t(rng() % 2001) - 1000;
      mems[in][i] = uint32_t(inA[i / 4][i % 4]);
    }
    // The kernel, written out.
    int32_t scr[4][4] = {}, copy[16], want[16];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++)
        scr[(i + k) & 3][j] += inA[i][j] * kTable[(i + j + k) & 7];
    std::memcpy(copy, scr, sizeof copy);
    int32_t acc = 0;
    for (int i = 0; i < 16; i++) {
      want[i] = copy[15 - i] - acc;
      acc += copy[i];
    }
    auto r = evaluate(g, {k}, mems);
    ASSERT_TRUE(r.ok()) << r.error().render();
    EXPECT_EQ(r->ret, uint32_t(acc));
    for (int i = 0; i < 16; ++i)
      EXPECT_EQ(mems[out][i], uint32_t(want[i])) << i;
  }
}

TEST(FrontEnd, BitIntWidths) {
  Cdfg g = compileOk("bitint.cpp", "mac12");
  ASSERT_EQ(g.args.size(), 3u);
  EXPECT_EQ(g.args[0].width, 12u);
  EXPECT_EQ(g.args[2].width, 7u);
  EXPECT_TRUE(g.args[2].isSigned);
  ASSERT_TRUE(g.ret.has_value());
  EXPECT_EQ(g.ret->width, 12u);
  EXPECT_EQ(g.params[0].cType, "hls::uint<12>");
  EXPECT_EQ(g.params[0].bytes, 2u);
  auto mems = memsFor(g);
  for (uint64_t a : {0ull, 1ull, 4095ull, 1234ull})
    for (uint64_t c : {0ull, 1ull, 0x7full /* -1 */, 0x40ull /* -64 */}) {
      uint64_t b = 3001;
      int64_t cs = c >= 64 ? int64_t(c) - 128 : int64_t(c);
      uint64_t want = (a * b + uint64_t(cs)) & mask(12);
      auto r = evaluate(g, {a, b, c}, mems);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->ret, want) << a << " " << c;
    }
}

TEST(FrontEnd, NestedLoopsPointerWalkingAndPragmas) {
  Cdfg g = compileOk("nested.cpp", "mv");
  ASSERT_EQ(g.loops.size(), 2u) << g.print();
  const Loop &outer = g.loops[0], &inner = g.loops[1];
  EXPECT_EQ(outer.requestedII, 0u); // pipeline(disable)
  EXPECT_EQ(inner.requestedII, 2u);
  EXPECT_EQ(inner.parent, 0u);
  EXPECT_EQ(inner.depth, 2u);
  EXPECT_EQ(outer.children, std::vector<LoopId>{1});
  EXPECT_EQ(inner.tripCount.value_or(0), 16u);
  EXPECT_EQ(inner.loc.line, 17u);
  EXPECT_EQ(inner.blocks.size(), 1u) << "the inner `if` was not if-converted\n" << g.print();
  int y = memIndex(g, "y"), a = memIndex(g, "A"), x = memIndex(g, "x");
  ASSERT_GE(y, 0);
  ASSERT_GE(a, 0);
  ASSERT_GE(x, 0);
  EXPECT_EQ(g.memories[y].depth, 8u); // int (&y)[8]
  EXPECT_EQ(g.params[0].cType, "int (&)[8]");
  EXPECT_EQ(g.memories[a].depth, 128u);
  EXPECT_EQ(g.memories[x].depth, 16u);
  EXPECT_EQ(g.memories[x].partition, Partition::Cyclic);
  EXPECT_EQ(g.memories[x].partitionFactor, 4u);
  std::mt19937_64 rng(21);
  for (uint32_t relu : {0u, 1u}) {
    auto mems = memsFor(g);
    std::vector<int32_t> A(128), X(16);
    for (int i = 0; i < 128; ++i)
      mems[a][i] = uint32_t(A[i] = int32_t(rng() % 201) - 100);
    for (int i = 0; i < 16; ++i)
      mems[x][i] = uint32_t(X[i] = int32_t(rng() % 201) - 100);
    auto r = evaluate(g, {relu}, mems);
    ASSERT_TRUE(r.ok()) << r.error().render();
    for (int row = 0; row < 8; ++row) {
      int32_t acc = 0;
      for (int c = 0; c < 16; ++c) {
        int32_t v = A[row * 16 + c] * X[c];
        acc += relu && v < 0 ? 0 : v;
      }
      EXPECT_EQ(mems[y][row], uint32_t(acc)) << row;
    }
  }
}

// hls::fp32 in a kernel: integer code only, if-converted into one block per loop body,
// and bit-exact with tessera::numerics' hardware FP32.
TEST(FrontEnd, Fp32DotWithHlsHeaderIsBitExact) {
  Cdfg g = compileOk("fp32dot.cpp", "dot");
  ASSERT_EQ(g.loops.size(), 1u);
  EXPECT_EQ(g.loops[0].blocks.size(), 1u) << "soft-float code was not if-converted";
  EXPECT_EQ(g.params[0].cType, "const hls::fp32 *");
  EXPECT_EQ(g.retCType, "hls::fp32");
  std::mt19937_64 rng(11);
  auto randomFloat = [&]() -> uint32_t {
    switch (rng() % 8) {
    case 0:
      return uint32_t(rng()); // anything: NaN, Inf, subnormals
    case 1:
      return 0x00000001u + uint32_t(rng() % 0x7fffff); // subnormal
    default: {
      uint32_t exp = 100 + uint32_t(rng() % 50);
      return uint32_t(rng() & 0x807fffffu) | (exp << 23);
    }
    }
  };
  for (int trial = 0; trial < 20; ++trial) {
    auto mems = memsFor(g);
    uint32_t acc = 0;
    for (int i = 0; i < 16; ++i) {
      mems[0][i] = randomFloat();
      mems[1][i] = randomFloat();
      acc = numerics::fp32Add(acc, numerics::fp32Mul(uint32_t(mems[0][i]), uint32_t(mems[1][i])));
    }
    auto r = evaluate(g, {}, mems);
    ASSERT_TRUE(r.ok()) << r.error().render();
    EXPECT_EQ(r->ret, acc) << "trial " << trial;
  }
}

TEST(FrontEnd, Fp32DivSqrtKernelUnrollsAndIsBitExact) {
  Cdfg g = compileOk("fp32divsqrt.cpp", "norm");
  EXPECT_TRUE(g.loops.empty()) << "unroll(full) in hls.h's square root did not apply";
  bool hasDiv = false;
  for (const Node &n : g.nodes)
    hasDiv |= n.kind == OpKind::DivU;
  EXPECT_TRUE(hasDiv);
  std::mt19937_64 rng(13);
  std::vector<std::pair<uint32_t, uint32_t>> in = {
      {0x40800000, 0x3f800000}, {0, 0}, {0x7f800000, 0x40000000}, {0xbf800000, 0x3f800000}};
  for (int i = 0; i < 40; ++i)
    in.push_back(
        {uint32_t(rng() & 0x3fffffff) | 0x20000000u, uint32_t(rng() & 0x3fffffff) | 0x20000000u});
  auto mems = memsFor(g);
  for (auto [a, b] : in) {
    auto r = evaluate(g, {a, b}, mems);
    ASSERT_TRUE(r.ok()) << r.error().render();
    EXPECT_EQ(r->ret, numerics::fp32Sqrt(numerics::fp32Div(a, b))) << std::hex << a << " " << b;
  }
}

TEST(FrontEnd, CompileKernelSourceAndDumpIr) {
  FrontEndOptions opts;
  opts.top = "twice";
  std::string ir = (fs::temp_directory_path() / "tessera-hls-frontend-test.ll").string();
  opts.dumpIrTo = ir;
  opts.defines = {"K=2"};
  Expected<Cdfg> g = compileKernelSource("int twice(int x) { return x * K; }\n", "twice.c", opts);
  ASSERT_TRUE(g.ok()) << g.error().render();
  EXPECT_TRUE(fs::exists(g->sourceFile));
  auto mems = memsFor(*g);
  auto r = evaluate(*g, {21}, mems);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ret, 42u);
  std::ifstream f(ir);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("define"), std::string::npos);
  fs::remove(ir);
}

TEST(FrontEnd, StaticTopAndC99ArrayParameter) {
  Cdfg g = compileOk("static.c", "clampsum");
  ASSERT_EQ(g.memories.size(), 1u) << g.print(); // `calls` folded by globalopt
  EXPECT_EQ(g.memories[0].depth, 8u);            // short a[static 8]
  EXPECT_EQ(g.memories[0].elemWidth, 16u);
  EXPECT_TRUE(g.memories[0].isSigned);
  EXPECT_EQ(g.params[0].bytes, 2u);
  for (int lo : {-1000, 0, 30})
    for (int hi : {10, 1000}) {
      auto mems = memsFor(g);
      int s = 5;
      for (int i = 0; i < 8; ++i) {
        int16_t v = int16_t(i * 9 - 20);
        mems[0][i] = uint16_t(v);
        s += v;
      }
      int want = s < lo ? lo : s > hi ? hi : s;
      auto r = evaluate(g, {uint32_t(lo), uint32_t(hi)}, mems);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->ret, uint32_t(want)) << lo << " " << hi;
    }
}

TEST(FrontEnd, SourceTextDiagnosticsUseTheGivenName) {
  FrontEndOptions opts;
  opts.top = "f";
  Expected<Cdfg> g = compileKernelSource("int f(int x) {\n  return g(x);\n}\n", "kernel.c", opts);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().id, "c-error");
  EXPECT_EQ(g.error().loc.file, "kernel.c");
  EXPECT_EQ(g.error().loc.line, 2u);
  Expected<Cdfg> h =
      compileKernelSource("int f(int x) {\n  float y = x;\n  return y;\n}\n", "k2.cpp", opts);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().id, "unsupported-construct");
  EXPECT_EQ(h.error().loc.file, "k2.cpp");
  EXPECT_EQ(h.error().loc.line, 2u);
  EXPECT_EQ(h.error().sourceLine, "  float y = x;");
}

TEST(FrontEnd, SameInputSameCdfg) {
  Cdfg a = compileOk("local.cpp", "local"), b = compileOk("local.cpp", "local");
  EXPECT_EQ(a.print(), b.print());
  EXPECT_FALSE(a.print().empty());
}

TEST(FrontEnd, UnknownTopSuggestsDefinedFunction) {
  FrontEndOptions opts;
  opts.top = "summ";
  Expected<Cdfg> g = compileKernel(dataPath("sum.c"), opts);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().id, "unknown-top");
  ASSERT_FALSE(g.error().notes.empty());
  EXPECT_NE(g.error().notes[0].message.find("'sum'"), std::string::npos);
}

// Every tests/data/hls/*-bad.* kernel has its top named `top` and one line marked
// `expect-error[<id>]: <text>`: the diagnostic must have that id, point at that line of
// that file and contain the text.
TEST(FrontEnd, BadKernelsReportIdAndLine) {
  std::vector<fs::path> files;
  for (const auto &e : fs::directory_iterator(dataPath("")))
    if (e.path().stem().string().ends_with("-bad"))
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 10u);
  for (const fs::path &p : files) {
    SCOPED_TRACE(p.filename().string());
    std::ifstream in(p);
    std::string line, id, text;
    uint32_t lineNo = 0, want = 0;
    while (std::getline(in, line)) {
      ++lineNo;
      size_t m = line.find("expect-error[");
      if (m == std::string::npos)
        continue;
      size_t close = line.find("]:", m);
      ASSERT_NE(close, std::string::npos);
      id = line.substr(m + 13, close - m - 13);
      text = line.substr(close + 2);
      text.erase(0, text.find_first_not_of(' '));
      want = lineNo;
    }
    ASSERT_NE(want, 0u) << "no expect-error marker";
    FrontEndOptions opts;
    opts.top = "top";
    Expected<Cdfg> g = compileKernel(p.string(), opts);
    ASSERT_FALSE(g.ok()) << "compiled:\n" << g->print();
    const Diagnostic &d = g.error();
    EXPECT_EQ(d.id, id) << d.render();
    EXPECT_EQ(d.loc.file, p.string()) << d.render();
    EXPECT_EQ(d.loc.line, want) << d.render();
    EXPECT_NE(d.message.find(text), std::string::npos) << d.render();
    EXPECT_FALSE(d.sourceLine.empty()) << d.render();
  }
}

} // namespace
