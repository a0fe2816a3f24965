// hls::stream end to end: the CDFG's stream ops (verify, print, evaluate), their
// scheduling (program order, one access per stream per cycle, modulo), the RTL's
// ready/valid ports with the global stall, and co-simulation with random valid / ready
// gaps against the native C (hls::stream objects) and the CDFG evaluator.
#include "RtlTestKernels.h"

#include "hls/Cosim.h"
#include "hls/FrontEnd.h"
#include "hls/Rtl.h"
#include "hls/Schedule.h"

#include "../../../include/tessera/hls.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

using namespace tessera;
using namespace tessera::hls;
using namespace tessera::hls::testk;
namespace fs = std::filesystem;

namespace {

StreamId addStream(K &k, std::string name, uint32_t w, StreamDir dir, uint32_t count = 0) {
  Stream st;
  st.name = name;
  st.width = w;
  st.dir = dir;
  st.count = count;
  st.argIndex = uint32_t(k.g.params.size());
  st.loc = K::loc(1);
  k.g.streams.push_back(st);
  Param p;
  p.name = name;
  p.cType = "hls::stream<unsigned> &";
  p.isStream = true;
  p.index = StreamId(k.g.streams.size() - 1);
  p.bytes = (w + 7) / 8;
  k.g.params.push_back(p);
  return p.index;
}

/// out[i] = in[i] * 3 + (running sum), `n` elements (n an argument), as a single-block
/// loop (pipelined when ii > 0); returns the sum.
K scaler(uint32_t ii) {
  K k("scaler");
  BlockId entry = k.block("entry"), body = k.block("body"), exit = k.block("exit");
  k.edge(entry, body);
  k.edge(body, body);
  k.edge(body, exit);
  StreamId in = addStream(k, "in", 32, StreamDir::In, 12);
  StreamId out = addStream(k, "out", 32, StreamDir::Out);
  NodeId n = k.arg(entry, "n", 32);
  NodeId nz = k.op(entry, OpKind::Eq, 1, {n, k.c(entry, 32, 0)});
  (void)nz;
  k.op(entry, OpKind::Br, 0, {}, "", body);
  NodeId i = k.phi(body, 32, {kNone, kNone}, "i");
  NodeId s = k.phi(body, 32, {kNone, kNone}, "sum");
  NodeId x = k.op(body, OpKind::StreamRead, 32, {}, "x", in);
  NodeId s2 = k.op(body, OpKind::Add, 32, {s, x}, "sum");
  NodeId x3 = k.op(body, OpKind::Mul, 32, {x, k.c(body, 32, 3)});
  NodeId y = k.op(body, OpKind::Add, 32, {x3, s2});
  k.op(body, OpKind::StreamWrite, 0, {y}, "", out);
  NodeId i2 = k.op(body, OpKind::Add, 32, {i, k.c(body, 32, 1)}, "i");
  NodeId more = k.op(body, OpKind::LtU, 1, {i2, n});
  k.op(body, OpKind::CondBr, 0, {more}, "", body, exit);
  k.setPhi(i, 0, k.c(entry, 32, 0));
  k.setPhi(i, 1, i2);
  k.setPhi(s, 0, k.c(entry, 32, 0));
  k.setPhi(s, 1, s2);
  k.op(exit, OpKind::Ret, 0, {s2});
  k.ret32();
  k.loop(body, ii);
  return k;
}

CosimOptions evalOnly(uint32_t vectors) {
  CosimOptions o;
  o.randomVectors = vectors;
  o.engine = sim::Engine::Interp;
  o.native = false;
  return o;
}

CosimOptions nativeOptions(uint32_t vectors) {
  CosimOptions o = evalOnly(vectors);
  o.native = true;
  o.cacheDir = (fs::path(TESSERA_BINARY_DIR) / "tests" / "hls-cosim" / "cache").string();
  return o;
}

std::string data(const std::string &f) { return std::string(TESSERA_SOURCE_DIR) + "/" + f; }

} // namespace

TEST(Stream, NativeClassIsARingBuffer) {
  ::hls::stream<int, 3> s;
  EXPECT_TRUE(s.empty());
  s.write(1);
  s.write(2);
  s.write(3);
  EXPECT_TRUE(s.full());
  s.write(4); // dropped: one thread cannot wait
  EXPECT_EQ(s.overflows(), 1u);
  EXPECT_EQ(s.read(), 1);
  s.write(5);
  EXPECT_EQ(s.read(), 2);
  EXPECT_EQ(s.read(), 3);
  EXPECT_EQ(s.read(), 5);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.read(), 0);
  EXPECT_EQ(s.underflows(), 1u);
  EXPECT_EQ(::hls::stream<bool>::width, 1u);
  EXPECT_EQ(::hls::stream<short>::width, 16u);
}

TEST(Stream, CdfgVerifyPrintEvaluate) {
  K k = scaler(0);
  ASSERT_TRUE(k.g.verify().ok()) << k.g.verify().error().render();
  std::string p = k.g.print();
  EXPECT_NE(p.find("stream 0 in: in u32 count 12"), std::string::npos) << p;
  EXPECT_NE(p.find("stream_read in"), std::string::npos) << p;
  EXPECT_NE(p.find("stream_write out"), std::string::npos) << p;
  std::vector<std::vector<uint64_t>> mems;
  StreamData sd;
  sd.data = {{5, 7, 1, 100}, {}};
  auto r = evaluate(k.g, {3}, mems, 1000, &sd);
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(r->ret, 13u);
  EXPECT_EQ(sd.consumed[0], 3u);
  EXPECT_EQ(sd.data[1], (std::vector<uint64_t>{5 * 3 + 5, 7 * 3 + 12, 1 * 3 + 13}));
  // Reading past the end: the RTL would wait forever.
  sd.data = {{5}, {}};
  auto u = evaluate(k.g, {3}, mems, 1000, &sd);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().id, "stream-underflow");
  // Without stream contents.
  EXPECT_FALSE(evaluate(k.g, {3}, mems).ok());
  // A read of an output stream does not verify.
  K bad = scaler(0);
  bad.g.streams[0].dir = StreamDir::Out;
  EXPECT_FALSE(bad.g.verify().ok());
}

TEST(Stream, ScheduleKeepsOrderAndOneAccessPerCycle) {
  // Two reads of one stream in one block: different cycles, in program order; in a
  // pipelined loop they make ResMII 2.
  K k("two");
  BlockId entry = k.block("entry"), body = k.block("body"), exit = k.block("exit");
  k.edge(entry, body);
  k.edge(body, body);
  k.edge(body, exit);
  StreamId in = addStream(k, "in", 16, StreamDir::In, 8);
  StreamId out = addStream(k, "out", 16, StreamDir::Out);
  NodeId n = k.arg(entry, "n", 16);
  k.op(entry, OpKind::Br, 0, {}, "", body);
  NodeId i = k.phi(body, 16, {kNone, kNone}, "i");
  NodeId a = k.op(body, OpKind::StreamRead, 16, {}, "a", in);
  NodeId b = k.op(body, OpKind::StreamRead, 16, {}, "b", in);
  NodeId w = k.op(body, OpKind::StreamWrite, 0, {k.op(body, OpKind::Sub, 16, {a, b})}, "", out);
  NodeId i2 = k.op(body, OpKind::Add, 16, {i, k.c(body, 16, 1)}, "i");
  k.op(body, OpKind::CondBr, 0, {k.op(body, OpKind::LtU, 1, {i2, n})}, "", body, exit);
  k.setPhi(i, 0, k.c(entry, 16, 0));
  k.setPhi(i, 1, i2);
  k.op(exit, OpKind::Ret, 0, {});
  k.loop(body, 1);
  ASSERT_TRUE(k.g.verify().ok()) << k.g.verify().error().render();
  auto s = schedule(k.g, ScheduleOptions{});
  ASSERT_TRUE(s.ok()) << s.error().render();
  EXPECT_LT(s->nodes[a].cycle, s->nodes[b].cycle);
  EXPECT_LE(s->nodes[b].cycle, s->nodes[w].cycle);
  ASSERT_TRUE(s->loops[0].pipelined);
  EXPECT_EQ(s->loops[0].resMII, 2u);
  EXPECT_EQ(s->loops[0].ii, 2u);
  EXPECT_NE(scheduleReport(k.g, *s).find("stream 'in'"), std::string::npos)
      << scheduleReport(k.g, *s);
  // And it runs: 4 pairs in, 4 differences out, with stalls.
  auto d = buildRtl(k.g, *s, {});
  ASSERT_TRUE(d.ok()) << d.error().render();
  CosimVector v;
  v.args = {4};
  v.streams = {{10, 3, 7, 7, 1, 2, 100, 1}, {}};
  v.gapSeed = 5;
  CosimOptions o = evalOnly(0);
  o.vectors = {v};
  auto r = cosimKernel(k.g, *d, o);
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "");
}

TEST(Stream, SequentialAndPipelinedRtlStallAndMatchEvaluate) {
  for (uint32_t ii : {0u, 1u}) {
    SCOPED_TRACE(ii);
    K k = scaler(ii);
    auto s = schedule(k.g, ScheduleOptions{});
    ASSERT_TRUE(s.ok()) << s.error().render();
    EXPECT_EQ(s->loops[0].pipelined, ii > 0);
    auto d = buildRtl(k.g, *s, {});
    ASSERT_TRUE(d.ok()) << d.error().render();
    const hw::Module &m = *d->modules().front();
    auto has = [&](const char *name, hw::PortDir dir) {
      return std::any_of(m.ports.begin(), m.ports.end(),
                         [&](const hw::Port &p) { return p.name == name && p.dir == dir; });
    };
    for (const char *port : {"in_data", "in_valid", "out_ready"})
      EXPECT_TRUE(has(port, hw::PortDir::In)) << port;
    for (const char *port : {"in_ready", "out_data", "out_valid"})
      EXPECT_TRUE(has(port, hw::PortDir::Out)) << port;
    // Random n (fewer elements than offered must be fine: the rest stay unread).
    CosimVector v;
    v.args = {9};
    v.streams = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {}};
    CosimOptions o = evalOnly(0);
    for (uint64_t seed = 0; seed < 6; ++seed) {
      v.gapSeed = seed;
      o.vectors.push_back(v);
    }
    auto r = cosimKernel(k.g, *d, o);
    ASSERT_TRUE(r.ok()) << r.error().render();
    EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "")
                                     << scheduleReport(k.g, *s);
    // Gaps cost cycles: the latencies differ between gap patterns, and exceed the
    // gap-free minimum of 9 issues.
    EXPECT_GT(r->maxLatency, r->minLatency);
    EXPECT_GE(r->minLatency, 9u);
    if (ii) {
      ASSERT_EQ(r->loopII.size(), 1u);
      EXPECT_EQ(r->loopII[0], 1u); // stalls do not count as issues
    }
  }
}

TEST(Stream, DetectsAWrongOutputStream) {
  K k = scaler(1);
  auto s = schedule(k.g, ScheduleOptions{});
  ASSERT_TRUE(s.ok());
  auto d = buildRtl(k.g, *s, {});
  ASSERT_TRUE(d.ok());
  // The evaluator's kernel writes something else: the comparison names the element.
  K other = scaler(1);
  for (Node &n : other.g.nodes)
    if (n.kind == OpKind::Const && n.value == 3)
      n.value = 4;
  CosimVector v;
  v.args = {5};
  v.streams = {{1, 2, 3, 4, 5}, {}};
  CosimOptions o = evalOnly(0);
  o.vectors = {v};
  auto r = cosimKernel(other.g, *d, o);
  ASSERT_TRUE(r.ok()) << r.error().render();
  ASSERT_TRUE(r->firstMismatch);
  EXPECT_EQ(r->firstMismatch->what, "out");
  EXPECT_EQ(r->firstMismatch->index, 0u);
}

// ---- from C: front end, scheduler, RTL, native co-simulation -----------------------

namespace {

struct Built {
  Cdfg g;
  Schedule s;
  hw::Design d;
};

std::optional<Built> build(const std::string &file, const std::string &top) {
  FrontEndOptions fo;
  fo.top = top;
  if (const char *dump = std::getenv("TESSERA_TEST_DUMP_IR"))
    fo.dumpIrTo = dump;
  auto g = compileKernel(file, fo);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  if (!g.ok())
    return std::nullopt;
  auto s = schedule(*g, ScheduleOptions{});
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().render());
  if (!s.ok())
    return std::nullopt;
  auto d = buildRtl(*g, *s, {});
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().render()) << g->print();
  if (!d.ok())
    return std::nullopt;
  return Built{std::move(*g), std::move(*s), std::move(*d)};
}

} // namespace

TEST(StreamEndToEnd, PipelinedScalerFromC) {
  auto b = build(data("examples/hls/stream_scale.cpp"), "stream_scale");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->g.streams.size(), 2u);
  EXPECT_EQ(b->g.streams[0].dir, StreamDir::In);
  EXPECT_EQ(b->g.streams[0].count, 64u);
  EXPECT_EQ(b->g.streams[0].width, 32u);
  EXPECT_EQ(b->g.streams[1].dir, StreamDir::Out);
  EXPECT_TRUE(b->g.params[0].isStream);
  ASSERT_EQ(b->s.loops.size(), 1u);
  EXPECT_TRUE(b->s.loops[0].pipelined);
  EXPECT_EQ(b->s.loops[0].ii, 1u);
  auto r = cosimKernel(b->g, b->d, nativeOptions(3));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_TRUE(r->nativeUsed);
  EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "");
  EXPECT_EQ(r->loopII[0], 1u);
  EXPECT_GT(r->minLatency, 64u); // gaps stall it
}

TEST(StreamEndToEnd, DataDependentPacketiserFromC) {
  auto b = build(data("tests/data/hls/stream_packet.cpp"), "packet");
  ASSERT_TRUE(b);
  auto r = cosimKernel(b->g, b->d, nativeOptions(6));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "");
}

TEST(StreamEndToEnd, ReadAndWrittenStreamIsAnError) {
  FrontEndOptions fo;
  fo.top = "top";
  auto g = compileKernel(data("tests/data/hls/stream-both-bad.cpp"), fo);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().id, "unsupported-construct");
  EXPECT_NE(g.error().render().find("stream-both-bad.cpp:2:"), std::string::npos)
      << g.error().render();
}


TEST(StreamEndToEnd, StreamFirFromC) {
  auto b = build(data("examples/hls/stream_fir.cpp"), "stream_fir");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->s.loops.size(), 1u);
  EXPECT_TRUE(b->s.loops[0].pipelined);
  EXPECT_EQ(b->s.loops[0].ii, 1u) << scheduleReport(b->g, b->s);
  auto r = cosimKernel(b->g, b->d, nativeOptions(2));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "");
  EXPECT_EQ(r->loopII[0], 1u);
}

TEST(StreamEndToEnd, RamsSurviveStallsInAPipelinedLoop) {
  auto b = build(data("tests/data/hls/stream_mem.cpp"), "stream_mem");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->s.loops.size(), 1u);
  EXPECT_TRUE(b->s.loops[0].pipelined);
  auto r = cosimKernel(b->g, b->d, nativeOptions(4));
  ASSERT_TRUE(r.ok()) << r.error().render();
  EXPECT_EQ(r->passed, r->vectors) << (r->firstMismatch ? r->firstMismatch->str() : "")
                                   << scheduleReport(b->g, b->s);
  EXPECT_GT(r->maxLatency, r->minLatency);
}
