//===- SimTest.cpp - both engines on hand-built designs ---------------------===//
//
// Every test runs on the interpreter and on the compiled engine and checks values
// computed by hand or by a small C++ reference model, cycle by cycle.
//
//===----------------------------------------------------------------------===//
#include "SimTestUtil.h"

#include "hw/Designs.h"
#include "sim/Model.h"
#include "sim/Stimulus.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tessera::sim::test {
namespace {

using hw::BitVec;

class SimEngine : public testing::TestWithParam<Engine> {};

int in(Simulator &s, const char *name) {
  int i = s.findInput(name);
  EXPECT_GE(i, 0) << name;
  return i;
}
int out(Simulator &s, const char *name) {
  int i = s.findOutput(name);
  EXPECT_GE(i, 0) << name;
  return i;
}

TEST_P(SimEngine, CounterWithSyncResetAndEnable) {
  hw::Design d = parseOrDie(
      R"(hw.module @counter(in %clk: i1, in %rst: i1, in %en: i1, out q: i8, out top: i1) {
  %one = const 1 : i8
  %q = reg %clk, %n reset %rst enable %en value 5 : i8
  %n = add %q, %one : i8
  %ff = const 255 : i8
  %t = eq %q, %ff : i1
  output %q -> q
  output %t -> top
}
)");
  auto s = makeSim(d, GetParam());
  ASSERT_TRUE(s);
  ASSERT_EQ(s->inputs().size(), 3u);
  EXPECT_TRUE(s->inputs()[0].isClock);
  EXPECT_FALSE(s->inputs()[1].isClock);
  int rst = in(*s, "rst"), en = in(*s, "en"), q = out(*s, "q"), top = out(*s, "top");
  EXPECT_EQ(s->peek64(q), 0u); // power-on value
  s->poke(rst, 1);
  s->poke(en, 0);
  s->step();
  EXPECT_EQ(s->peek64(q), 5u); // reset wins over a disabled enable
  s->poke(rst, 0);
  s->step();
  EXPECT_EQ(s->peek64(q), 5u); // enable off: holds
  s->poke(en, 1);
  for (int i = 0; i < 250; ++i)
    s->step();
  EXPECT_EQ(s->peek64(q), 255u);
  EXPECT_EQ(s->peek64(top), 1u);
  s->step();
  EXPECT_EQ(s->peek64(q), 0u); // wraps at 8 bits
  EXPECT_EQ(s->peek64(top), 0u);
  EXPECT_EQ(s->cycle(), 253u);
  EXPECT_EQ(s->peekSignal("q").value(), BitVec(8, 0));
  EXPECT_EQ(s->peekSignal("one").value(), BitVec(8, 1));
  EXPECT_FALSE(s->peekSignal("nope").has_value());
  // runUntil checks before each step.
  uint64_t n = s->runUntil([&] { return s->peek64(q) == 10; }, 100);
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(s->runUntil([&] { return false; }, 7), 7u);
  EXPECT_EQ(s->peek64(q), 17u);
}

TEST_P(SimEngine, AccumulatorAgainstReference) {
  hw::Design d = parseOrDie(
      R"(hw.module @acc(in %clk: i1, in %a: i8, in %clear: i1, out sum: i13, out sq: i26) {
  %z = zext %a : i13
  %acc = reg %clk, %next : i13
  %add = add %acc, %z : i13
  %zero = const 0 : i13
  %next = mux %clear, %zero, %add : i13
  %w = zext %acc : i26
  %sq = mul %w, %w : i26
  output %acc -> sum
  output %sq -> sq
}
)");
  auto s = makeSim(d, GetParam());
  ASSERT_TRUE(s);
  uint64_t acc = 0, seed = 7;
  for (int c = 0; c < 300; ++c) {
    uint64_t a = splitmix64(seed) & 0xff, clear = (splitmix64(seed) % 17) == 0;
    s->poke(in(*s, "a"), a);
    s->poke(in(*s, "clear"), clear);
    ASSERT_EQ(s->peek64(out(*s, "sum")), acc) << c;
    ASSERT_EQ(s->peek64(out(*s, "sq")), (acc * acc) & ((1u << 26) - 1)) << c;
    s->step();
    acc = clear ? 0 : (acc + a) & 0x1fff;
  }
}

TEST_P(SimEngine, MemoriesSyncAndAsyncReadsAgainstReference) {
  hw::Design d = parseOrDie(
      R"(hw.module @mem(in %clk: i1, in %wa: i3, in %wd: i8, in %we: i1, in %wa2: i3, in %we2: i1, in %ra: i3, in %re: i1, out sync: i8, out async: i8, out plain: i8) {
  memory @m : i8 x 6 init [1, 2, 3, 4, 5, 6]
  memwrite @m[%wa] = %wd clock %clk enable %we
  %wd2 = not %wd : i8
  memwrite @m[%wa2] = %wd2 clock %clk enable %we2
  %s = memread @m[%ra] clock %clk enable %re : i8
  %p = memread @m[%wa] clock %clk : i8
  %a = memread @m[%ra] : i8
  output %s -> sync
  output %a -> async
  output %p -> plain
}
)");
  auto s = makeSim(d, GetParam());
  ASSERT_TRUE(s);
  std::array<uint8_t, 6> mem = {1, 2, 3, 4, 5, 6};
  uint8_t sync = 0, plain = 0;
  uint64_t seed = 3;
  for (int c = 0; c < 400; ++c) {
    uint64_t r = splitmix64(seed);
    uint8_t wa = r & 7, wd = (r >> 3) & 0xff, we = (r >> 11) & 1, wa2 = (r >> 12) & 7,
            we2 = ((r >> 15) & 3) == 0, ra = (r >> 17) & 7, re = (r >> 20) & 1;
    s->poke(in(*s, "wa"), wa);
    s->poke(in(*s, "wd"), wd);
    s->poke(in(*s, "we"), we);
    s->poke(in(*s, "wa2"), wa2);
    s->poke(in(*s, "we2"), we2);
    s->poke(in(*s, "ra"), ra);
    s->poke(in(*s, "re"), re);
    ASSERT_EQ(s->peek64(out(*s, "async")), ra < 6 ? mem[ra] : 0u) << c;
    ASSERT_EQ(s->peek64(out(*s, "sync")), sync) << c;
    ASSERT_EQ(s->peek64(out(*s, "plain")), plain) << c;
    s->step();
    // Edge: reads see the old contents; the later write port wins.
    if (re)
      sync = ra < 6 ? mem[ra] : 0;
    plain = wa < 6 ? mem[wa] : 0;
    if (we && wa < 6)
      mem[wa] = wd;
    if (we2 && wa2 < 6)
      mem[wa2] = static_cast<uint8_t>(~wd);
  }
}

TEST_P(SimEngine, AsynchronousResetActsImmediately) {
  hw::Design d =
      parseOrDie(R"(hw.module @ar(in %clk: i1, in %arst: i1, in %d: i4, out q: i4, out q1: i4) {
  %q = reg %clk, %d reset %arst async value 9 init 2 : i4
  %one = const 1 : i4
  %q1 = add %q, %one : i4
  output %q -> q
  output %q1 -> q1
}
)");
  auto s = makeSim(d, GetParam());
  ASSERT_TRUE(s);
  int arst = in(*s, "arst"), dd = in(*s, "d"), q = out(*s, "q"), q1 = out(*s, "q1");
  EXPECT_EQ(s->peek64(q), 2u);
  s->poke(dd, 3);
  s->step();
  EXPECT_EQ(s->peek64(q), 3u);
  s->poke(arst, 1);
  EXPECT_EQ(s->peek64(q), 9u); // before any clock edge
  EXPECT_EQ(s->peek64(q1), 10u);
  s->step(3);
  EXPECT_EQ(s->peek64(q), 9u);
  s->poke(arst, 0);
  EXPECT_EQ(s->peek64(q), 9u); // released: holds until the next edge
  s->step();
  EXPECT_EQ(s->peek64(q), 3u);
}

TEST_P(SimEngine, WideArithmeticAgainstBitVec) {
  hw::Design d = parseOrDie(
      R"(hw.module @wide(in %clk: i1, in %a: i130, in %b: i130, in %s: i8, out add: i130, out mul: i130, out divs: i130, out rems: i130, out shl: i130, out shrs: i130, out acc: i130, out cmp: i4, out lo: i64, out mid: i70) {
  %add = add %a, %b : i130
  %mul = mul %a, %b : i130
  %divs = divs %a, %b : i130
  %rems = rems %a, %b : i130
  %shl = shl %a, %s : i130
  %shrs = shrs %a, %s : i130
  %three = const 3 : i130
  %acc = reg %clk, %nx : i130
  %m3 = mul %acc, %three : i130
  %nx = add %m3, %a : i130
  %lt = lts %a, %b : i1
  %ltu = ltu %a, %b : i1
  %eq = eq %a, %b : i1
  %rx = redxor %a : i1
  %cmp = concat %lt, %ltu, %eq, %rx : i4
  %lo = extract %mul from 3 : i64
  %mid = extract %add from 60 : i70
  output %add -> add
  output %mul -> mul
  output %divs -> divs
  output %rems -> rems
  output %shl -> shl
  output %shrs -> shrs
  output %acc -> acc
  output %cmp -> cmp
  output %lo -> lo
  output %mid -> mid
}
)");
  auto s = makeSim(d, GetParam());
  ASSERT_TRUE(s);
  BitVec acc(130, 0);
  uint64_t seed = 11;
  auto rnd = [&](uint32_t w) {
    std::vector<uint64_t> words((w + 63) / 64);
    for (auto &x : words)
      x = splitmix64(seed);
    BitVec v = BitVec::fromWords(w, words);
    if (splitmix64(seed) % 4 == 0) // small values too (and zero divisors)
      v = v.lshr(splitmix64(seed) % w);
    return v;
  };
  for (int c = 0; c < 200; ++c) {
    BitVec a = rnd(130), b = rnd(130), sh = BitVec(8, splitmix64(seed) % 150);
    s->poke(in(*s, "a"), a);
    s->poke(in(*s, "b"), b);
    s->poke(in(*s, "s"), sh);
    BitVec mul = a.mul(b), add = a.add(b);
    ASSERT_EQ(s->peek(out(*s, "add")), add) << c;
    ASSERT_EQ(s->peek(out(*s, "mul")), mul) << c;
    ASSERT_EQ(s->peek(out(*s, "divs")), a.sdiv(b)) << c;
    ASSERT_EQ(s->peek(out(*s, "rems")), a.srem(b)) << c;
    ASSERT_EQ(s->peek(out(*s, "shl")), a.shl(sh.low64())) << c;
    ASSERT_EQ(s->peek(out(*s, "shrs")), a.ashr(sh.low64())) << c;
    ASSERT_EQ(s->peek(out(*s, "acc")), acc) << c;
    uint64_t parity = 0;
    for (uint64_t w : a.words())
      parity ^= __builtin_parityll(w);
    uint64_t cmp =
        (uint64_t(a.slt(b)) << 3) | (uint64_t(a.ult(b)) << 2) | (uint64_t(a == b) << 1) | parity;
    ASSERT_EQ(s->peek64(out(*s, "cmp")), cmp) << c;
    ASSERT_EQ(s->peek(out(*s, "lo")), mul.extract(3, 64)) << c;
    ASSERT_EQ(s->peek(out(*s, "mid")), add.extract(60, 70)) << c;
    s->step();
    acc = acc.mul(BitVec(130, 3)).add(a);
  }
}

/// The systolic array of hw/Designs.h against a direct C++ model of its PEs.
void checkSystolic(Engine e, uint32_t n, uint32_t lanes) {
  hw::Design d = hw::systolicArray(n);
  auto s = makeSim(d, e, lanes);
  ASSERT_TRUE(s);
  struct Model {
    std::vector<int8_t> a, b;
    std::vector<uint32_t> acc;
  };
  std::vector<Model> m(lanes);
  for (auto &x : m) {
    x.a.assign(n * n, 0);
    x.b.assign(n * n, 0);
    x.acc.assign(n * n, 0);
  }
  int rst = in(*s, "rst"), clear = in(*s, "clear"), aLeft = in(*s, "a_left"),
      bTop = in(*s, "b_top");
  int aRight = out(*s, "a_right"), bBottom = out(*s, "b_bottom"), accXor = out(*s, "acc_xor");
  uint64_t seed = 99;
  for (int c = 0; c < 60; ++c) {
    for (uint32_t l = 0; l < lanes; ++l) {
      Model &md = m[l];
      std::vector<uint64_t> aw((n * 8 + 63) / 64), bw((n * 8 + 63) / 64);
      for (auto &w : aw)
        w = splitmix64(seed);
      for (auto &w : bw)
        w = splitmix64(seed);
      if (n * 8 % 64) {
        aw.back() &= (uint64_t(1) << (n * 8 % 64)) - 1;
        bw.back() &= (uint64_t(1) << (n * 8 % 64)) - 1;
      }
      bool r = c < 2 || (c == 30 && l == 0), cl = (c % 13 == 5) && l + 1 == lanes;
      s->poke(rst, r, l);
      s->poke(clear, cl, l);
      s->pokeWords(aLeft, aw.data(), l);
      s->pokeWords(bTop, bw.data(), l);
      // Outputs before the edge.
      BitVec ar = s->peek(aRight, l), bb = s->peek(bBottom, l);
      uint32_t x = 0;
      for (uint32_t i = 0; i < n * n; ++i)
        x ^= md.acc[i];
      ASSERT_EQ(s->peek64(accXor, l), x) << "cycle " << c << " lane " << l;
      for (uint32_t row = 0; row < n; ++row)
        ASSERT_EQ(ar.extract(row * 8, 8).low64(), uint8_t(md.a[row * n + n - 1])) << c;
      for (uint32_t col = 0; col < n; ++col)
        ASSERT_EQ(bb.extract(col * 8, 8).low64(), uint8_t(md.b[(n - 1) * n + col])) << c;
      auto byte = [](const std::vector<uint64_t> &w, uint32_t i) {
        return int8_t((w[i / 8] >> (8 * (i % 8))) & 0xff);
      };
      Model nx = md;
      for (uint32_t row = 0; row < n; ++row)
        for (uint32_t col = 0; col < n; ++col) {
          uint32_t i = row * n + col;
          int8_t ain = col == 0 ? byte(aw, row) : md.a[i - 1];
          int8_t bin = row == 0 ? byte(bw, col) : md.b[i - n];
          nx.a[i] = r ? 0 : ain;
          nx.b[i] = r ? 0 : bin;
          nx.acc[i] = r || cl ? 0 : md.acc[i] + uint32_t(int32_t(ain) * int32_t(bin));
        }
      md = nx;
    }
    s->step();
    // Named signals inside array elements.
    uint32_t probe = (c * 7) % (n * n);
    auto v = s->peekSignal("u_pe[" + std::to_string(probe) + "].acc_q", lanes - 1);
    ASSERT_TRUE(v.has_value());
    ASSERT_EQ(v->low64(), m[lanes - 1].acc[probe]) << c;
  }
}

TEST_P(SimEngine, SystolicArrayAgainstReference) {
  checkSystolic(GetParam(), 4, 1);
  checkSystolic(GetParam(), 3, 1);
}

TEST_P(SimEngine, SystolicArrayLanesAreIndependent) { checkSystolic(GetParam(), 3, 3); }

TEST_P(SimEngine, HierarchyInlinedArraysAndNestedArrays) {
  hw::Design d = parseOrDie(R"(hw.module @leaf(in %clk: i1, in %a: i8, out y: i8, out r: i8) {
  %one = const 1 : i8
  %y = add %a, %one : i8
  %r = reg %clk, %y : i8
  output %y -> y
  output %r -> r
}
hw.module @pair(in %clk: i1, in %a: i16, out y: i16, out r: i16) {
  instance "l"[2] @leaf(clk: %c2, a: %a)
  %c2 = concat %clk, %clk : i2
  %y = instout "l".y : i16
  %r = instout "l".r : i16
  output %y -> y
  output %r -> r
}
hw.module @top(in %clk: i1, in %x: i48, out y: i48, out r: i48, out z: i8, out w: i32) {
  instance "p"[3] @pair(clk: %c3, a: %x)
  %c3 = concat %clk, %clk, %clk : i3
  %y = instout "p".y : i48
  %r = instout "p".r : i48
  %x8 = extract %x from 8 : i8
  instance "u" @leaf(clk: %clk, a: %x8)
  %z = instout "u".r : i8
  %x32 = extract %x from 0 : i32
  instance "v"[4] @leaf(clk: %c4, a: %x32)
  %c4 = concat %clk, %clk, %clk, %clk : i4
  %vy = instout "v".y : i32
  output %y -> y
  output %r -> r
  output %z -> z
  output %vy -> w
}
)");
  auto s = makeSim(d, GetParam());
  ASSERT_TRUE(s);
  auto bytesPlusOne = [](uint64_t x, int n) {
    uint64_t r = 0;
    for (int i = 0; i < n; ++i)
      r |= ((((x >> (8 * i)) & 0xff) + 1) & 0xff) << (8 * i);
    return r;
  };
  uint64_t seed = 5, prev = 0;
  for (int c = 0; c < 20; ++c) {
    uint64_t x = splitmix64(seed) & 0xffffffffffffULL;
    s->poke(in(*s, "x"), x);
    EXPECT_EQ(s->peek64(out(*s, "y")), bytesPlusOne(x, 6));
    EXPECT_EQ(s->peek64(out(*s, "w")), bytesPlusOne(x, 4));
    if (c > 0) {
      EXPECT_EQ(s->peek64(out(*s, "r")), bytesPlusOne(prev, 6));
      EXPECT_EQ(s->peek64(out(*s, "z")), bytesPlusOne(prev >> 8, 1));
      EXPECT_EQ(s->peekSignal("p[2].l[1].r")->low64(), bytesPlusOne(prev >> 40, 1));
      EXPECT_EQ(s->peekSignal("u.r")->low64(), bytesPlusOne(prev >> 8, 1));
    }
    EXPECT_EQ(s->peekSignal("v[3].y")->low64(), bytesPlusOne(x >> 24, 1));
    EXPECT_EQ(s->peekSignal("p[1].l[0].a")->low64(), (x >> 16) & 0xff);
    s->step();
    prev = x;
  }
}

TEST_P(SimEngine, CombinationalChainThroughAnArrayIsUnrolled) {
  // Element i's carry in is element i-1's carry out: a cycle at array level, none per
  // element. The simulator unrolls the array.
  hw::Design d = parseOrDie(R"(hw.module @cell(in %a: i4, in %cin: i1, out s: i4, out cout: i1) {
  %a5 = zext %a : i5
  %c5 = zext %cin : i5
  %t = add %a5, %c5 : i5
  %s = extract %t from 0 : i4
  %co = extract %t from 4 : i1
  output %s -> s
  output %co -> cout
}
hw.module @top(in %x: i16, in %c: i1, out y: i16, out co: i1) {
  instance "u"[4] @cell(a: %x, cin: %carry)
  %cout = instout "u".cout : i4
  %lo = extract %cout from 0 : i3
  %carry = concat %lo, %c : i4
  %y = instout "u".s : i16
  %last = extract %cout from 3 : i1
  output %y -> y
  output %last -> co
}
)");
  // The verifier rejects it (it checks arrays as a whole) ...
  SimOptions o;
  o.engine = GetParam();
  o.cacheDir = testCacheDir();
  auto bad = Simulator::create(d, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().id, "comb-cycle");
  // ... but the simulator's own elaboration handles it by unrolling the array.
  auto prog = detail::buildProgram(d, "", 1);
  ASSERT_TRUE(prog.ok()) << prog.error().render();
  EXPECT_EQ(prog->net.groups.size(), 1u); // no array group left
  BuildStats stats;
  std::unique_ptr<Simulator> s;
  if (GetParam() == Engine::Interp) {
    s = detail::makeInterpreter(std::move(prog).value(), stats);
  } else {
    auto c = detail::makeCompiled(std::move(prog).value(), stats, o);
    ASSERT_TRUE(c.ok()) << c.error().render();
    s = std::move(c).value();
  }
  uint64_t seed = 1;
  for (int i = 0; i < 50; ++i) {
    uint64_t x = splitmix64(seed) & 0xffff, c = splitmix64(seed) & 1;
    if (i == 0)
      x = 0xffff, c = 1;
    s->poke(in(*s, "x"), x);
    s->poke(in(*s, "c"), c);
    EXPECT_EQ(s->peek64(out(*s, "y")), (x + c) & 0xffff);
    EXPECT_EQ(s->peek64(out(*s, "co")), (x + c) >> 16);
  }
}

TEST_P(SimEngine, ArrayOutputForwardedFromABroadcastInput) {
  // Every element's `o` is its `r` input, driven by the same top-level signal: the packed
  // array output reads one scalar value for all elements (differential batch seed 1021000,
  // design 20: the compiled engine read it with the array's stride, past the scalar).
  hw::Design d = parseOrDie(R"(hw.module @m(in %clk: i1, in %r: i1, in %k: i3, out o: i1, out q: i3) {
  output %r -> o
  output %k -> q
}
hw.module @top(in %clk: i1, in %rst: i1, in %k: i3, in %pad: i8, out x: i7, out y: i4, out z: i12) {
  instance "u"[4] @m(clk: %c4, r: %r4, k: %k4)
  %c4 = concat %clk, %clk, %clk, %clk : i4
  %r4 = concat %rst, %rst, %rst, %rst : i4
  %k4 = concat %k, %k, %k, %k : i12
  %p = instout "u".o : i4
  %s = sext %p : i80
  %n = not %s : i80
  %e = extract %n from 73 : i7
  %q = instout "u".q : i12
  output %e -> x
  output %p -> y
  output %q -> z
}
)");
  SimOptions o;
  o.engine = GetParam();
  o.cacheDir = testCacheDir();
  auto s = Simulator::create(d, o);
  ASSERT_TRUE(s.ok()) << s.error().render();
  Simulator &sim = **s;
  uint64_t seed = 7;
  for (int i = 0; i < 40; ++i) {
    uint64_t r = splitmix64(seed) & 1, k = splitmix64(seed) & 7, pad = splitmix64(seed) & 0xff;
    sim.poke(in(sim, "rst"), r);
    sim.poke(in(sim, "k"), k);
    sim.poke(in(sim, "pad"), pad);
    EXPECT_EQ(sim.peek64(out(sim, "y")), r ? 0xfu : 0u);
    EXPECT_EQ(sim.peek64(out(sim, "x")), r ? 0u : 0x7fu);
    EXPECT_EQ(sim.peek64(out(sim, "z")), k * 0x249u);
    sim.step();
  }
}

TEST_P(SimEngine, UnsupportedClockingIsReported) {
  hw::Design two =
      parseOrDie(R"(hw.module @m(in %c1: i1, in %c2: i1, in %d: i1, out q: i1, out r: i1) {
  %q = reg %c1, %d : i1
  %r = reg %c2, %d : i1
  output %q -> q
  output %r -> r
}
)");
  SimOptions o;
  o.engine = GetParam();
  o.cacheDir = testCacheDir();
  auto s = Simulator::create(two, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "multiple-clocks");
  EXPECT_NE(s.error().message.find("'c1' and 'c2'"), std::string::npos) << s.error().message;

  hw::Design gated = parseOrDie(R"(hw.module @m(in %c: i1, in %e: i1, in %d: i1, out q: i1) {
  %g = and %c, %e : i1
  %q = reg %g, %d : i1 loc("gated.v":7:3)
  output %q -> q
}
)");
  s = Simulator::create(gated, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "unsupported-clock");
  EXPECT_EQ(s.error().headline(),
            "gated.v:7:3: error[unsupported-clock]: the clock of 'q' is not a top-level input "
            "(derived and gated clocks are not supported)");

  hw::Design ar = parseOrDie(R"(hw.module @m(in %c: i1, in %r: i1, in %d: i1, out q: i1) {
  %n = not %r : i1
  %q = reg %c, %d reset %n async : i1
  output %q -> q
}
)");
  s = Simulator::create(ar, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "async-reset-source");

  hw::Design ok = parseOrDie("hw.module @m(in %a: i1, out q: i1) {\n  output %a -> q\n}\n");
  s = Simulator::create(ok, o, "mm");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "unknown-top");
  EXPECT_NE(s.error().message.find("did you mean 'm'"), std::string::npos);
}

TEST_P(SimEngine, VcdOfSelectedScopesAndWindow) {
  hw::Design d = hw::systolicArray(2);
  auto s = makeSim(d, GetParam());
  ASSERT_TRUE(s);
  std::string path = testCacheDir() + "/" + engineName(GetParam()) + "-test.vcd";
  ASSERT_TRUE(s->openVcd(path, {"u_pe[1]"}, 2, 5).ok());
  s->poke(in(*s, "rst"), 1);
  s->step(2);
  s->poke(in(*s, "rst"), 0);
  s->poke(in(*s, "a_left"), 0x0302);
  s->poke(in(*s, "b_top"), 0x0504);
  s->step(6);
  s->closeVcd();
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string vcd = ss.str();
  // Header: the clock at top level, only u_pe[1]'s signals below it.
  EXPECT_NE(vcd.find("$scope module systolic_2 $end\n$var wire 1 ! clk $end\n"), std::string::npos)
      << vcd;
  EXPECT_NE(vcd.find("$scope module u_pe[1] $end"), std::string::npos) << vcd;
  EXPECT_EQ(vcd.find("u_pe[0]"), std::string::npos) << vcd;
  EXPECT_NE(vcd.find("$var wire 32 "), std::string::npos) << vcd;
  EXPECT_NE(vcd.find(" acc_q [31:0] $end"), std::string::npos) << vcd;
  // Values: parse them back and follow acc_q of u_pe[1] (a = 2, b = 4 from cycle 2 on;
  // u_pe[1] is row 0 column 1: a arrives one cycle later).
  std::string accId, clkId = "!";
  {
    std::istringstream is(vcd);
    std::string line;
    while (std::getline(is, line))
      if (line.find(" acc_q ") != std::string::npos) {
        std::istringstream ls(line);
        std::string w, kind, width;
        ls >> w >> kind >> width >> accId;
      }
  }
  ASSERT_FALSE(accId.empty());
  std::map<uint64_t, std::map<std::string, std::string>> changes;
  uint64_t t = 0, lastStamp = 0;
  bool defs = true;
  std::istringstream is(vcd);
  std::string line;
  while (std::getline(is, line)) {
    if (defs) {
      if (line == "$enddefinitions $end")
        defs = false;
      continue;
    }
    if (line.empty() || line[0] == '$')
      continue;
    if (line[0] == '#') {
      t = lastStamp = std::stoull(line.substr(1));
      continue;
    }
    if (line[0] == 'b') {
      size_t sp = line.find(' ');
      changes[t][line.substr(sp + 1)] = line.substr(1, sp - 1);
    } else {
      changes[t][line.substr(1)] = line.substr(0, 1);
    }
  }
  // Window [2, 5): times 4..9, first dump at 4 with every value.
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.begin()->first, 4u);
  EXPECT_EQ(changes.rbegin()->first, 9u);
  EXPECT_EQ(lastStamp, 10u); // closing timestamp
  EXPECT_EQ(changes[4][clkId], "0");
  EXPECT_EQ(changes[5][clkId], "1");
  EXPECT_EQ(changes[4][accId], "0");
  // Cycle 2: inputs a=2 (row 0), b=4 (col 0) enter PE 0; PE 1 gets a in cycle 3 and
  // b_top col 1 = 5 in cycle 2 (a = 0): acc stays 0; cycle 3: a_q(PE0)=2, b = 5 -> 10.
  EXPECT_EQ(changes[7][accId], "1010");
  for (auto &[time, m] : changes) {
    if (time % 2 == 0 && time != 4) {
      EXPECT_EQ(m.count(accId), 0u) << "acc_q changes only at rising edges";
    }
  }
}

TEST(SimCompiled, CacheHitOnSecondCreate) {
  std::string dir = std::string(TESSERA_BINARY_DIR) + "/sim-test-cache-hit";
  std::filesystem::remove_all(dir);
  hw::Design d = hw::systolicArray(2);
  SimOptions o;
  o.cacheDir = dir;
  auto first = Simulator::create(d, o);
  ASSERT_TRUE(first.ok()) << first.error().render();
  EXPECT_FALSE((*first)->buildStats().cacheHit);
  EXPECT_GT((*first)->buildStats().compileSeconds, 0.0);
  auto second = Simulator::create(d, o);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*second)->buildStats().cacheHit);
  EXPECT_EQ((*second)->buildStats().compileSeconds, 0.0);
  EXPECT_EQ((*first)->buildStats().cacheKey, (*second)->buildStats().cacheKey);
  // Different flags, different key.
  o.cxxFlags = "-O1";
  auto third = Simulator::create(d, o);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE((*third)->buildStats().cacheHit);
  EXPECT_NE((*third)->buildStats().cacheKey, (*first)->buildStats().cacheKey);
  // Both models are usable side by side.
  (*first)->poke((*first)->findInput("a_left"), 0x0101);
  (*first)->poke((*first)->findInput("b_top"), 0x0101);
  (*first)->step(3);
  EXPECT_NE((*first)->peek64((*first)->findOutput("acc_xor")), 0u);
  EXPECT_EQ((*second)->peek64((*second)->findOutput("acc_xor")), 0u);
}

TEST(SimCompiled, LargeModelsAreSplitIntoUnitsCompiledInParallel) {
  std::string dir = std::string(TESSERA_BINARY_DIR) + "/sim-test-cache-units";
  std::filesystem::remove_all(dir);
  hw::Design d = hw::controllerDesign(24); // about 2000 scalar ops: several functions
  SimOptions o;
  o.cacheDir = dir;
  o.unitBytes = 16 * 1024; // small units, so that this model is split
  auto compiled = Simulator::create(d, o);
  ASSERT_TRUE(compiled.ok()) << compiled.error().render();
  o.engine = Engine::Interp;
  auto interp = Simulator::create(d, o);
  ASSERT_TRUE(interp.ok());
  size_t units = 0;
  for (const auto &e : std::filesystem::directory_iterator(dir))
    units += e.path().extension() == ".cpp";
  EXPECT_GE(units, 3u);
  Simulator &a = **compiled, &b = **interp;
  RandomStimulus rs({{"in_data", 32}, {"rst", 1}}, 3);
  uint64_t ha = 0, hb = 0;
  for (int c = 0; c < 300; ++c) {
    const auto &v = rs.next();
    for (Simulator *s : {&a, &b}) {
      s->poke(s->findInput("in_data"), v[0]);
      s->poke(s->findInput("rst"), v[1]);
    }
    ha = a.checksumOutputs(ha);
    hb = b.checksumOutputs(hb);
    ASSERT_EQ(ha, hb) << c;
    a.step();
    b.step();
  }
}

TEST(SimCompiled, CompileTimeDoesNotGrowWithArraySize) {
  // The array body is emitted once: the generated model of a 16x16 array has as many
  // scheduled ops as a 4x4 one, give or take the top level.
  SimOptions o;
  o.engine = Engine::Interp;
  auto s4 = Simulator::create(hw::systolicArray(4), o);
  auto s16 = Simulator::create(hw::systolicArray(16), o);
  ASSERT_TRUE(s4.ok() && s16.ok());
  EXPECT_LE((*s16)->buildStats().scheduledOps, (*s4)->buildStats().scheduledOps + 8);
}

INSTANTIATE_TEST_SUITE_P(Engines, SimEngine, testing::Values(Engine::Interp, Engine::Compiled),
                         EngineName());

} // namespace
} // namespace tessera::sim::test
