// The co-simulation harness: the native wrapper on tiny C/C++ kernels written by the test
// (with hand-built CDFGs of the same functions), the RTL in the interpreter, mismatch
// reports, the .so cache.
#include "RtlTestKernels.h"

#include "hls/Cosim.h"
#include "hls/Rtl.h"
#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace tessera;
using namespace tessera::hls;
using namespace tessera::hls::testk;
namespace fs = std::filesystem;

namespace {

// Kernel sources go to a per-test folder of the build tree (a stable path, so that the
// native objects are served from the shared cache on later runs); `fresh` is a cache of
// this test alone.
struct TempDir {
  fs::path path, cache, fresh;
  TempDir() {
    fs::path base = fs::path(TESSERA_BINARY_DIR) / "tests" / "hls-cosim";
    path = base / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    cache = base / "cache";
    fresh = path / "cache";
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string &name, const std::string &text) const {
    std::string p = (path / name).string();
    EXPECT_TRUE(writeTextFile(p, text).ok());
    return p;
  }
};

const char *kSumCpp = R"(
unsigned sum16(const unsigned a[16], unsigned bias) {
  unsigned s = bias;
  for (unsigned i = 0; i < 16; ++i)
    s += a[i];
  return s;
}
)";

const char *kScaleCpp = R"(
void scale(const unsigned *a, unsigned *b, unsigned k, unsigned n) {
  for (unsigned i = 0; i <= (n & 7); ++i)
    b[i] = a[i] * k + (i ^ k);
}
)";

const char *kMaxMixCpp = R"(
#include <climits>
unsigned maxmix(const unsigned a[8], unsigned x, unsigned y) {
  int m = INT_MIN;
  for (int i = 0; i < 8; ++i)
    if (int(a[i]) > m)
      m = int(a[i]);
  unsigned p = x * y, q = (x + 1) * (y + 3), r = p * q, t;
  if (x & 1) {
    int d = int(y | 1);
    t = d == -1 ? 0u - r : unsigned(int(r) / d);
  } else {
    t = r % (x | 1);
  }
  return t + unsigned(m) * 3;
}
)";

CosimOptions interpOptions(const TempDir &t, uint32_t vectors = 6) {
  CosimOptions o;
  o.engine = sim::Engine::Interp;
  o.randomVectors = vectors;
  o.cacheDir = t.cache.string();
  o.maxCycles = 200000; // a broken design fails fast
  return o;
}

} // namespace

TEST(Cosim, NativeWrapperSumCpp) {
  TempDir t;
  Cdfg g = sumKernel();
  g.sourceFile = t.write("sum.cpp", kSumCpp);
  auto k = NativeKernel::load(g, {}, t.fresh.string());
  ASSERT_TRUE(k.ok()) << k.error().render();
  EXPECT_FALSE(k->cacheHit());
  CosimVector in;
  in.args = {5};
  in.mems.resize(1);
  for (uint32_t i = 0; i < 16; ++i)
    in.mems[0].push_back(i * 3);
  EXPECT_EQ(k->call(g, in).ret, 5u + 3 * 120);
  // Same source: served from the cache.
  auto again = NativeKernel::load(g, {}, t.fresh.string());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->cacheHit());
  EXPECT_EQ(again->soPath(), k->soPath());
}

TEST(Cosim, NativeWrapperCSourceIsExternC) {
  TempDir t;
  Cdfg g = sumKernel();
  g.sourceFile = t.write("sum.c", kSumCpp);
  std::string w = nativeWrapperSource(g);
  EXPECT_NE(w.find("extern \"C\" unsigned sum16(const unsigned * tc_p0, unsigned tc_p1);"),
            std::string::npos)
      << w;
  auto res = cosimKernel(g, *buildRtl(g, naiveSchedule(g, true), {}), interpOptions(t, 3));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_TRUE(res->nativeUsed);
  EXPECT_EQ(res->passed, 3u);
  EXPECT_FALSE(res->firstMismatch);
}

TEST(Cosim, StoreLoopAndBranchyKernelMatchNative) {
  TempDir t;
  {
    Cdfg g = storeKernel();
    g.sourceFile = t.write("scale.cpp", kScaleCpp);
    auto d = buildRtl(g, naiveSchedule(g, false), {});
    ASSERT_TRUE(d.ok()) << d.error().render();
    auto res = cosimKernel(g, *d, interpOptions(t));
    ASSERT_TRUE(res.ok()) << res.error().render();
    EXPECT_EQ(res->passed, res->vectors) << res->firstMismatch->str();
    EXPECT_LT(res->minLatency, res->maxLatency); // the trip count depends on n
  }
  {
    Cdfg g = mixKernel();
    g.sourceFile = t.write("maxmix.cpp", kMaxMixCpp);
    auto d = buildRtl(g, naiveSchedule(g, false), {});
    ASSERT_TRUE(d.ok()) << d.error().render();
    CosimOptions o = interpOptions(t);
    CosimVector edge; // negative elements, y = ~0 (division by -1), odd x
    edge.args = {7, 0xffffffffu};
    edge.mems = {{0x80000000u, 0xfffffff0u, 3, 0x7fffffffu, 0, 1, 2, 0xffffffffu}};
    o.vectors.push_back(edge);
    auto res = cosimKernel(g, *d, o);
    ASSERT_TRUE(res.ok()) << res.error().render();
    EXPECT_EQ(res->vectors, 7u);
    EXPECT_EQ(res->passed, res->vectors) << res->firstMismatch->str();
  }
}

TEST(Cosim, PipelinedLoopIiMeasured) {
  TempDir t;
  Cdfg g = sumKernel();
  g.sourceFile = t.write("sum.cpp", kSumCpp);
  Schedule s = naiveSchedule(g, true);
  const auto &nodes = g.blocks[1].nodes; // i, s, ld, s1, one, i1, sixteen, cmp, br
  uint32_t cyc[] = {0, 1, 0, 1, 0, 0, 0, 0, 1};
  for (size_t k = 0; k < nodes.size(); ++k)
    s.nodes[nodes[k]].cycle = cyc[k];
  s.blocks[1].length = 2;
  s.loops[0].pipelined = true;
  s.loops[0].ii = 2;
  auto d = buildRtl(g, s, {});
  ASSERT_TRUE(d.ok()) << d.error().render();
  auto res = cosimKernel(g, *d, interpOptions(t, 3));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_EQ(res->passed, 3u);
  ASSERT_EQ(res->loopII.size(), 1u);
  EXPECT_EQ(res->loopII[0], 2u);
  // start + entry + 16 iterations every 2 cycles (the last one drains 2 cycles) + exit.
  EXPECT_EQ(res->minLatency, 1u + 1 + 15 * 2 + 2 + 1);
}

TEST(Cosim, MismatchNamesArrayIndexAndValues) {
  TempDir t;
  Cdfg g = storeKernel();
  // The C differs from the CDFG in one element: b[3] gets one more.
  std::string wrong = kScaleCpp;
  wrong.replace(wrong.find("(i ^ k);"), 8, "(i ^ k) + (i == 3);");
  g.sourceFile = t.write("scale.cpp", wrong);
  auto d = buildRtl(g, naiveSchedule(g, false), {});
  ASSERT_TRUE(d.ok());
  CosimOptions o = interpOptions(t, 0);
  CosimVector v;
  v.args = {5, 6};
  v.mems = {std::vector<uint64_t>(12, 2), std::vector<uint64_t>(12, 0)};
  o.vectors = {v};
  auto res = cosimKernel(g, *d, o);
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_EQ(res->passed, 0u);
  ASSERT_TRUE(res->firstMismatch);
  const Mismatch &m = *res->firstMismatch;
  EXPECT_EQ(m.what, "b");
  EXPECT_EQ(m.index, 3u);
  EXPECT_EQ(m.expected, 2u * 5 + (3 ^ 5) + 1);
  EXPECT_EQ(m.actual, 2u * 5 + (3 ^ 5));
  EXPECT_EQ(m.against, "native");
  EXPECT_NE(m.str().find("b[3]"), std::string::npos) << m.str();
}

TEST(Cosim, ReturnMismatchAndEvaluateOnly) {
  TempDir t;
  Cdfg g = sumKernel();
  // Without a source the RTL is compared with the evaluator.
  auto d = buildRtl(g, naiveSchedule(g, false), {});
  ASSERT_TRUE(d.ok());
  auto res = cosimKernel(g, *d, interpOptions(t, 2));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_FALSE(res->nativeUsed);
  EXPECT_EQ(res->passed, 2u);
  // A C function that returns one more than the CDFG.
  std::string wrong = kSumCpp;
  wrong.replace(wrong.find("return s;"), 9, "return s + 1;");
  g.sourceFile = t.write("sum.cpp", wrong);
  res = cosimKernel(g, *d, interpOptions(t, 1));
  ASSERT_TRUE(res.ok()) << res.error().render();
  ASSERT_TRUE(res->firstMismatch);
  EXPECT_EQ(res->firstMismatch->what, "return");
  EXPECT_EQ(res->firstMismatch->expected, (res->firstMismatch->actual + 1) & 0xffffffffu);
}

TEST(Cosim, BadSourceIsCError) {
  TempDir t;
  Cdfg g = sumKernel();
  g.sourceFile =
      t.write("sum.cpp", "unsigned sum16(const unsigned *a, unsigned b) { return a[0] + ; }\n");
  auto k = NativeKernel::load(g, {}, t.fresh.string());
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().id, "c-error");
  EXPECT_NE(k.error().message.find("sum.cpp:1"), std::string::npos) << k.error().message;
}

TEST(Cosim, CompiledEngineAgreesWithInterpreter) {
  // The compiled simulator (the suite's engine) on the generated RTL: same outputs and
  // cycle counts as the interpreter. Its model is cached by content hash.
  TempDir t;
  Cdfg g = mixKernel();
  auto d = buildRtl(g, naiveSchedule(g, false, 1), {});
  ASSERT_TRUE(d.ok()) << d.error().render();
  CosimOptions o = interpOptions(t, 4);
  auto interp = cosimKernel(g, *d, o);
  o.engine = sim::Engine::Compiled;
  auto compiled = cosimKernel(g, *d, o);
  ASSERT_TRUE(interp.ok()) << interp.error().render();
  ASSERT_TRUE(compiled.ok()) << compiled.error().render();
  EXPECT_EQ(compiled->passed, 4u);
  EXPECT_EQ(compiled->latencies, interp->latencies);
}

// ---- end to end: C source -> front end -> schedule -> RTL -> co-simulation ----------

#include "hls/FrontEnd.h"
#include "hls/Schedule.h"

namespace {

CosimResult endToEnd(const std::string &file, const std::string &top, const TempDir &t,
                     uint32_t vectors, RtlStats *stats = nullptr,
                     std::vector<uint32_t> *scheduledII = nullptr) {
  FrontEndOptions fo;
  fo.top = top;
  auto g = compileKernel(file, fo);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  if (!g.ok())
    return {};
  auto s = schedule(*g, ScheduleOptions{});
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().render());
  if (!s.ok())
    return {};
  if (scheduledII)
    for (const LoopTiming &lt : s->loops)
      scheduledII->push_back(lt.pipelined ? lt.ii : 0);
  auto d = buildRtl(*g, *s, {}, stats);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().render()) << "\n" << g->print();
  if (!d.ok())
    return {};
  auto r = cosimKernel(*g, *d, interpOptions(t, vectors));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().render());
  if (!r.ok())
    return {};
  EXPECT_TRUE(r->nativeUsed);
  EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "") << "\n"
                                   << g->print() << scheduleReport(*g, *s);
  return *r;
}

} // namespace

TEST(CosimEndToEnd, PipelinedSumFromC) {
  TempDir t;
  CosimResult r = endToEnd(std::string(TESSERA_SOURCE_DIR) + "/tests/data/hls/sum.c", "sum", t, 3);
  ASSERT_EQ(r.loopII.size(), 1u);
  EXPECT_EQ(r.loopII[0], 1u);
  // 64 iterations at II 1 plus a few cycles of entry, drain and exit.
  EXPECT_GE(r.minLatency, 64u);
  EXPECT_LE(r.minLatency, 80u);
}

TEST(CosimEndToEnd, BranchesStoresLocalTablesAndDivision) {
  TempDir t;
  std::string src = t.write("mix.cpp", R"(
static const unsigned char kTab[8] = {3, 1, 4, 1, 5, 9, 2, 6};
void mix(const int a[16], int b[16], int k, unsigned n) {
  int tmp[16];
  for (int i = 0; i < 16; i++)
    tmp[i] = a[i] * k + kTab[i & 7];
  for (unsigned i = 0; i < (n & 15); i++) {
    int v = tmp[i];
    if (v < 0)
      b[i] = v / (k | 1);
    else
      b[i] = (v % 7) + (int)(n >> 3);
  }
}
)");
  RtlStats stats;
  CosimResult r = endToEnd(src, "mix", t, 4, &stats);
  EXPECT_EQ(r.vectors, 4u);
  EXPECT_GT(stats.states, 3u);
}

TEST(CosimEndToEnd, NestedLoopWithPipelinedInnerLoop) {
  // The inner pipeline is entered once per outer iteration: its controller restarts,
  // the accumulator's initial value comes from the outer loop each time.
  TempDir t;
  std::string src = t.write("mv.cpp", R"(
void mv(const int A[96], const int x[16], int y[6], int bias) {
  for (int i = 0; i < 6; i++) {
    int acc = bias + i;
#pragma clang loop pipeline_initiation_interval(1)
    for (int j = 0; j < 16; j++)
      acc += A[i * 16 + j] * x[j];
    y[i] = acc;
  }
}
)");
  CosimResult r = endToEnd(src, "mv", t, 3);
  ASSERT_EQ(r.vectors, 3u);
  ASSERT_FALSE(r.loopII.empty());
  uint64_t pipelined = 0;
  for (uint64_t ii : r.loopII)
    pipelined += ii == 1;
  EXPECT_EQ(pipelined, 1u);
  // 6 x (16 issues + drain) plus the outer loop's few cycles per iteration.
  EXPECT_LT(r.maxLatency, 6u * 30);
}

TEST(CosimEndToEnd, PipelinedReadModifyWriteAndEarlyExit) {
  TempDir t;
  // y is read and written every iteration through one port: II 2 (ResMII), and the
  // stores are predicated in the pipeline.
  std::string saxpy = t.write("saxpy.cpp", R"(
void saxpy(const int x[32], int y[32], int a) {
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < 32; i++)
    y[i] = a * x[i] + y[i];
}
)");
  std::vector<uint32_t> ii;
  CosimResult r = endToEnd(saxpy, "saxpy", t, 3, nullptr, &ii);
  ASSERT_EQ(ii.size(), 1u);
  ASSERT_EQ(r.loopII.size(), 1u);
  EXPECT_GE(ii[0], 2u);
  EXPECT_EQ(r.loopII[0], ii[0]); // the RTL issues at the scheduled II
  // A data-dependent exit: with 6-bit keys random arrays hit early in some vectors.
  std::string find = t.write("find.cpp", R"(
int find(const int a[64], int key) {
  int i = 0;
  while (i < 64 && (a[i] & 63) != (key & 63))
    i++;
  return i;
}
)");
  CosimResult f = endToEnd(find, "find", t, 4);
  EXPECT_EQ(f.vectors, 4u);
  EXPECT_LT(f.minLatency, f.maxLatency);
}

TEST(CosimEndToEnd, SpeculativeIterationsAreSquashed) {
  // The exit test depends on loaded data and resolves in the iteration's last cycle:
  // the controller issues the next iterations speculatively and squashes them.
  TempDir t;
  std::string src = t.write("accum.cpp", R"(
int accum(const int a[64], int limit) {
  int s = 0, i = 0;
#pragma clang loop pipeline_initiation_interval(1)
  do {
    s += a[i] & 255;
    i++;
  } while ((s < (limit & 4095)) & (i < 64));
  return s * 64 + i;
}
)");
  std::vector<uint32_t> ii;
  CosimResult r = endToEnd(src, "accum", t, 6, nullptr, &ii);
  ASSERT_EQ(ii.size(), 1u);
  EXPECT_EQ(ii[0], 1u);
  ASSERT_EQ(r.loopII.size(), 1u);
  EXPECT_EQ(r.loopII[0], 1u);
  EXPECT_LT(r.minLatency, r.maxLatency);
}
