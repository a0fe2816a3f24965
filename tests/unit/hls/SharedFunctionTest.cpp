// Function-level binding: TESSERA_SHARED functions through the front end (Call nodes and
// callee Cdfgs), evaluate of Call, the callee scheduled as a pipelined operator, sharing
// of units between FSM states, unit limits in sequential code and in pipelined loops,
// and the RTL (one module per shared function) co-simulated against the native C,
// streams with stalls included.
#include "CdfgBuilder.h"

#include "hls/Analysis.h"
#include "hls/Cosim.h"
#include "hls/FrontEnd.h"
#include "hls/Rtl.h"
#include "hls/Schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

using namespace tessera;
using namespace tessera::hls;
namespace fs = std::filesystem;

namespace {

Cdfg compile(const std::string &src, const std::string &top, const std::string &name) {
  FrontEndOptions o;
  o.top = top;
  auto g = compileKernelSource(src, name, o);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().render());
  return g.ok() ? std::move(*g) : Cdfg{};
}

std::vector<NodeId> callsOf(const Cdfg &g) {
  std::vector<NodeId> out;
  for (NodeId n = 0; n < g.nodes.size(); ++n)
    if (g.node(n).kind == OpKind::Call)
      out.push_back(n);
  return out;
}

size_t instancesOf(const hw::Design &d) {
  const hw::Module *top = d.top();
  return top ? top->instances.size() : 0;
}

CosimOptions nativeOptions(uint32_t vectors) {
  CosimOptions o;
  o.randomVectors = vectors;
  o.engine = sim::Engine::Interp;
  o.native = true;
  o.cacheDir = (fs::path(TESSERA_BINARY_DIR) / "tests" / "hls-cosim" / "cache").string();
  return o;
}

// A user's shared function: a 32 x 32 multiply-add, called in two statements that
// depend on each other (different FSM states) and once more independently.
const char *kMacCpp = R"(#include "tessera/hls.h"
TESSERA_SHARED unsigned mac(unsigned a, unsigned b, unsigned c) {
  return a * b + (c ^ (a >> 3));
}
unsigned two(unsigned x, unsigned y, unsigned z) {
  unsigned t = mac(x, y, z);
  unsigned u = mac(t, z, y);
  return u + mac(y, z, x);
}
)";

// The same with two units allowed.
const char *kMac2Cpp = R"(#include "tessera/hls.h"
TESSERA_SHARED_LIMIT(2) unsigned mac(unsigned a, unsigned b, unsigned c) {
  return a * b + (c ^ (a >> 3));
}
unsigned two(unsigned x, unsigned y, unsigned z) {
  return mac(x, y, z) ^ mac(y, z, x);
}
)";

/// callee: a * b + c (32 bits), hand-built; caller: f(f(x, y, 1), y, x) in one block.
struct Built {
  Cdfg g;
};
Built handBuilt() {
  testkit::CdfgBuilder fb("madd", "madd.c", 1, 3);
  BlockId e = fb.block("entry");
  fb.g.args = {Arg{"a", 32, false, {}}, Arg{"b", 32, false, {}}, Arg{"c", 32, false, {}}};
  fb.g.ret = Arg{"return", 32, false, {}};
  NodeId a = fb.op(e, OpKind::Arg, 32, {}, "a", 0);
  NodeId b = fb.op(e, OpKind::Arg, 32, {}, "b", 1);
  NodeId c = fb.op(e, OpKind::Arg, 32, {}, "c", 2);
  NodeId m = fb.op(e, OpKind::Mul, 32, {a, b});
  NodeId s = fb.op(e, OpKind::Add, 32, {m, c});
  fb.op(e, OpKind::Ret, 0, {s});

  testkit::CdfgBuilder kb("top", "top.c", 10, 5);
  BlockId k0 = kb.block("entry");
  kb.g.args = {Arg{"x", 32, false, {}}, Arg{"y", 32, false, {}}};
  kb.g.ret = Arg{"return", 32, false, {}};
  kb.g.callees.push_back(fb.g);
  NodeId x = kb.op(k0, OpKind::Arg, 32, {}, "x", 0);
  NodeId y = kb.op(k0, OpKind::Arg, 32, {}, "y", 1);
  NodeId one = kb.c(k0, 32, 1);
  NodeId c1 = kb.op(k0, OpKind::Call, 32, {x, y, one}, "t", 0);
  NodeId c2 = kb.op(k0, OpKind::Call, 32, {c1, y, x}, "u", 0);
  kb.op(k0, OpKind::Ret, 0, {c2});
  return {kb.g};
}

} // namespace

TEST(SharedFunction, CallVerifiesPrintsAndEvaluates) {
  Built b = handBuilt();
  ASSERT_TRUE(b.g.verify().ok()) << b.g.verify().error().render();
  std::string text = b.g.print();
  EXPECT_NE(text.find("call madd"), std::string::npos) << text;
  EXPECT_NE(text.find("shared function 0: kernel madd"), std::string::npos) << text;
  std::vector<std::vector<uint64_t>> mems;
  auto r = evaluate(b.g, {7, 5}, mems);
  ASSERT_TRUE(r.ok());
  // t = 7 * 5 + 1 = 36; u = 36 * 5 + 7 = 187.
  EXPECT_EQ(r->ret, 187u);
  EXPECT_GT(r->steps, 8u); // the callee's nodes count
  // A call with a wrong argument count is a located error.
  Cdfg bad = b.g;
  bad.nodes[callsOf(bad)[0]].operands.pop_back();
  Status st = bad.verify();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().id, "bad-cdfg");
  // A callee with a memory is not a shared function.
  Cdfg bad2 = b.g;
  bad2.callees[0].memories.push_back(Memory{});
  bad2.callees[0].memories.back().name = "m";
  bad2.callees[0].memories.back().depth = 1;
  bad2.callees[0].memories.back().elemWidth = 8;
  EXPECT_FALSE(bad2.verify().ok());
}

TEST(SharedFunction, CalleeScheduledAsPipelinedOperator) {
  Built b = handBuilt();
  ScheduleOptions so;
  auto s = schedule(b.g, so);
  ASSERT_TRUE(s.ok()) << s.error().render();
  ASSERT_EQ(s->callees.size(), 1u);
  ASSERT_EQ(s->calleeCost.size(), 1u);
  const OpCost &fc = s->calleeCost[0];
  // The callee's own schedule: a 32-bit multiply (pipelined) then an add.
  const Schedule &fs = s->callees[0];
  EXPECT_EQ(fc.latency, fs.blocks[0].length);
  EXPECT_GE(fc.latency, 1u);
  EXPECT_GT(fc.dsps, 0.0);
  EXPECT_TRUE(fc.shareable);
  // Call nodes carry the callee's latency; the dependent call starts after the first's
  // result.
  std::vector<NodeId> calls = callsOf(b.g);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(s->nodes[calls[0]].latency, fc.latency);
  EXPECT_GE(s->nodes[calls[1]].cycle, s->nodes[calls[0]].cycle + fc.latency);
  // A faster clock makes the unit deeper.
  ScheduleOptions fast;
  fast.clockNs = 2.5;
  auto s2 = schedule(b.g, fast);
  ASSERT_TRUE(s2.ok());
  EXPECT_GT(s2->calleeCost[0].latency, fc.latency);
  std::string rep = scheduleReport(b.g, *s);
  EXPECT_NE(rep.find("shared function 'madd'"), std::string::npos) << rep;
}

TEST(SharedFunction, FrontEndKeepsSharedCalls) {
  Cdfg g = compile(kMacCpp, "two", "mac.cpp");
  ASSERT_TRUE(g.verify().ok()) << g.verify().error().render();
  ASSERT_EQ(g.callees.size(), 1u);
  EXPECT_EQ(g.callees[0].name, "mac");
  EXPECT_EQ(g.callees[0].args.size(), 3u);
  EXPECT_EQ(g.callees[0].blocks.size(), 1u);
  EXPECT_EQ(g.callees[0].unitLimit, 0u);
  std::vector<NodeId> calls = callsOf(g);
  ASSERT_EQ(calls.size(), 3u);
  for (NodeId n : calls) {
    EXPECT_EQ(g.node(n).attr, 0u);
    EXPECT_EQ(g.node(n).loc.file, "mac.cpp"); // the C call site
  }
  // No multiplier was inlined into the caller.
  EXPECT_TRUE(std::none_of(g.nodes.begin(), g.nodes.end(),
                           [](const Node &x) { return x.kind == OpKind::Mul; }));
  std::vector<std::vector<uint64_t>> mems;
  auto mac = [](uint32_t a, uint32_t b, uint32_t c) { return a * b + (c ^ (a >> 3)); };
  uint32_t x = 123457, y = 99991, z = 0xdeadbeef;
  auto r = evaluate(g, {x, y, z}, mems);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(uint32_t(r->ret), mac(mac(x, y, z), z, y) + mac(y, z, x));

  Cdfg g2 = compile(kMac2Cpp, "two", "mac2.cpp");
  ASSERT_EQ(g2.callees.size(), 1u);
  EXPECT_EQ(g2.callees[0].unitLimit, 2u);

  // -D TESSERA_NO_SHARING inlines everything again, with the same result.
  FrontEndOptions o;
  o.top = "two";
  o.defines = {"TESSERA_NO_SHARING"};
  auto g3 = compileKernelSource(kMacCpp, "mac.cpp", o);
  ASSERT_TRUE(g3.ok()) << g3.error().render();
  EXPECT_TRUE(g3->callees.empty());
  EXPECT_TRUE(callsOf(*g3).empty());
  auto r3 = evaluate(*g3, {x, y, z}, mems);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->ret, r->ret);
}

TEST(SharedFunction, FrontEndRejectsImpureSharedFunctions) {
  FrontEndOptions o;
  o.top = "k";
  const char *withArray = R"(#include "tessera/hls.h"
TESSERA_SHARED unsigned get(const unsigned *p, unsigned i) {
  return p[i] + 1;
}
unsigned k(const unsigned a[8], unsigned i) { return get(a, i & 7); }
)";
  auto g = compileKernelSource(withArray, "arr.cpp", o);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().id, "unsupported-construct");
  EXPECT_NE(g.error().message.find("'get' cannot be a shared function"), std::string::npos)
      << g.error().render();
  EXPECT_EQ(g.error().loc.file, "arr.cpp");
  EXPECT_EQ(g.error().loc.line, 2u);

  const char *withLoop = R"(#include "tessera/hls.h"
TESSERA_SHARED unsigned pc(unsigned v) {
  unsigned n = 0;
  while (v) { n += v & 1; v >>= 1; }
  return n;
}
unsigned k(unsigned x) { return pc(x) + pc(x >> 16); }
)";
  g = compileKernelSource(withLoop, "loop.cpp", o);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().id, "unsupported-construct");
  EXPECT_EQ(g.error().loc.line, 2u) << g.error().render();

  const char *nested = R"(#include "tessera/hls.h"
TESSERA_SHARED unsigned f(unsigned v) { return v * 3; }
TESSERA_SHARED unsigned h(unsigned v) { return f(v) + 1; }
unsigned k(unsigned x) { return h(x); }
)";
  g = compileKernelSource(nested, "nested.cpp", o);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().id, "unsupported-construct");
  EXPECT_EQ(g.error().loc.line, 3u) << g.error().render();

  const char *zeroLimit = R"(#include "tessera/hls.h"

TESSERA_SHARED_LIMIT(0) unsigned f(unsigned v) { return v * 3; }
unsigned k(unsigned x) { return f(x) + f(x + 1); }
)";
  g = compileKernelSource(zeroLimit, "zero.cpp", o);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().id, "bad-attribute");
  EXPECT_EQ(g.error().loc.line, 3u) << g.error().render();
}

TEST(SharedFunction, CallsInDifferentStatesShareOneUnit) {
  Cdfg g = compile(kMacCpp, "two", "mac.cpp");
  ASSERT_EQ(g.callees.size(), 1u);
  auto s = schedule(g, {});
  ASSERT_TRUE(s.ok()) << s.error().render();
  std::vector<NodeId> calls = callsOf(g);
  ASSERT_EQ(calls.size(), 3u);
  // One unit by default: no two calls issue in one cycle of a block.
  std::vector<uint32_t> cycles;
  for (NodeId n : calls)
    cycles.push_back(s->nodes[n].cycle);
  std::sort(cycles.begin(), cycles.end());
  EXPECT_TRUE(std::adjacent_find(cycles.begin(), cycles.end()) == cycles.end());
  RtlStats st;
  auto d = buildRtl(g, *s, {}, &st);
  ASSERT_TRUE(d.ok()) << d.error().render();
  EXPECT_EQ(st.functionUnits, 1u);
  EXPECT_EQ(instancesOf(*d), 1u);
  ASSERT_NE(d->find("two_mac"), nullptr);
  // The instance is located at a C call site.
  EXPECT_EQ(d->top()->instances[0].loc.file, "mac.cpp");
  auto res = cosimKernel(g, *d, nativeOptions(6));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_FALSE(res->firstMismatch) << res->firstMismatch->str();
  EXPECT_EQ(res->passed, 6u);
}

TEST(SharedFunction, LimitOfTwoIssuesTwoCallsInOneCycle) {
  Cdfg g = compile(kMac2Cpp, "two", "mac2.cpp");
  auto s = schedule(g, {});
  ASSERT_TRUE(s.ok());
  std::vector<NodeId> calls = callsOf(g);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(s->nodes[calls[0]].cycle, s->nodes[calls[1]].cycle);
  RtlStats st;
  auto d = buildRtl(g, *s, {}, &st);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(st.functionUnits, 2u);
  EXPECT_EQ(instancesOf(*d), 2u);
  // With the default limit of one the same calls are serialised: one cycle apart.
  Cdfg one = g;
  one.callees[0].unitLimit = 0;
  auto s1 = schedule(one, {});
  ASSERT_TRUE(s1.ok());
  EXPECT_NE(s1->nodes[calls[0]].cycle, s1->nodes[calls[1]].cycle);
  auto d1 = buildRtl(one, *s1, {}, &st);
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(st.functionUnits, 1u);
  auto res = cosimKernel(g, *d, nativeOptions(4));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_FALSE(res->firstMismatch) << res->firstMismatch->str();
}

// fp32 through hls.h: every + - * is a Call to the two shared units; a pipelined loop
// keeps II 1 with a unit per call site, and a limit raises the II with a report that
// names the function.
const char *kAxpyCpp = R"(#include "tessera/hls.h"
void axpy(const unsigned x[16], const unsigned y[16], unsigned z[16], unsigned a) {
  hls::fp32 fa = hls::fp32::fromBits(a);
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < 16; i++) {
    z[i] = (fa * hls::fp32::fromBits(x[i]) - hls::fp32::fromBits(y[i])).bits;
  }
}
)";

TEST(SharedFunction, Fp32InAPipelinedLoopKeepsItsII) {
  Cdfg g = compile(kAxpyCpp, "axpy", "axpy.cpp");
  ASSERT_EQ(g.callees.size(), 2u);
  ASSERT_EQ(callsOf(g).size(), 2u);
  narrowWidths(g);
  for (Cdfg &f : g.callees)
    narrowWidths(f);
  ASSERT_TRUE(g.verify().ok());
  auto s = schedule(g, {});
  ASSERT_TRUE(s.ok()) << s.error().render();
  ASSERT_EQ(s->loops.size(), 1u);
  EXPECT_TRUE(s->loops[0].pipelined);
  EXPECT_EQ(s->loops[0].ii, 1u);
  RtlStats st;
  auto d = buildRtl(g, *s, {}, &st);
  ASSERT_TRUE(d.ok()) << d.error().render();
  EXPECT_EQ(st.functionUnits, 2u);
  auto res = cosimKernel(g, *d, nativeOptions(3));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_FALSE(res->firstMismatch) << res->firstMismatch->str();
  ASSERT_FALSE(res->loopII.empty());
  EXPECT_EQ(res->loopII[0], 1u);
}

TEST(SharedFunction, UnitLimitBoundsThePipelinedII) {
  const char *src = R"(#include "tessera/hls.h"
TESSERA_SHARED_LIMIT(1) unsigned mix(unsigned a, unsigned b) { return (a * b) ^ (a >> 5); }
void k(const unsigned x[16], unsigned y[16]) {
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < 16; i++) {
    y[i] = mix(x[i], 7) + mix(x[i], 9) + mix(x[i], 11);
  }
}
)";
  Cdfg g = compile(src, "k", "lim.cpp");
  ASSERT_EQ(g.callees.size(), 1u);
  auto s = schedule(g, {});
  ASSERT_TRUE(s.ok()) << s.error().render();
  ASSERT_TRUE(s->loops[0].pipelined);
  EXPECT_EQ(s->loops[0].resMII, 3u);
  EXPECT_EQ(s->loops[0].ii, 3u);
  EXPECT_EQ(s->loops[0].limit.kind, IiLimit::Resource);
  const std::string &why = s->loops[0].limit.description;
  EXPECT_NE(why.find("shared function 'mix' (lim.cpp:2"), std::string::npos) << why;
  EXPECT_NE(why.find("TESSERA_SHARED_LIMIT"), std::string::npos) << why;
  // strictII turns the raised request into a located error.
  ScheduleOptions strict;
  strict.strictII = true;
  auto e = schedule(g, strict);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().id, "impossible-ii");
  EXPECT_EQ(e.error().loc.file, "lim.cpp");
  // The three calls sit in the three modulo slots: one unit serves them all.
  RtlStats st;
  auto d = buildRtl(g, *s, {}, &st);
  ASSERT_TRUE(d.ok()) << d.error().render();
  EXPECT_EQ(st.functionUnits, 1u);
  auto res = cosimKernel(g, *d, nativeOptions(3));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_FALSE(res->firstMismatch) << res->firstMismatch->str();
  ASSERT_FALSE(res->loopII.empty());
  EXPECT_EQ(res->loopII[0], 3u);
}

TEST(SharedFunction, StreamStallsFreezeTheUnits) {
  // A shared multiply between two ready/valid streams: co-simulation drops valid and
  // ready at random, so calls are in flight in the unit when the kernel stalls.
  const char *src = R"(#include "tessera/hls.h"
TESSERA_SHARED unsigned sq3(unsigned a) { return a * a * 3u + 1u; }
void k(hls::stream<unsigned> &in TESSERA_DEPTH(24), hls::stream<unsigned> &out) {
  unsigned acc = 0;
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < 24; i++) {
    unsigned v = in.read();
    out.write(sq3(v) + i);
  }
  for (int i = 0; i < 2; i++)
    acc = sq3(acc + i);
  out.write(acc);
}
)";
  Cdfg g = compile(src, "k", "st.cpp");
  ASSERT_EQ(g.callees.size(), 1u);
  auto s = schedule(g, {});
  ASSERT_TRUE(s.ok()) << s.error().render();
  auto d = buildRtl(g, *s, {});
  ASSERT_TRUE(d.ok()) << d.error().render();
  auto res = cosimKernel(g, *d, nativeOptions(4));
  ASSERT_TRUE(res.ok()) << res.error().render();
  EXPECT_FALSE(res->firstMismatch) << res->firstMismatch->str();
  EXPECT_EQ(res->passed, 4u);
}
