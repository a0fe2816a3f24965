//===- Analysis.cpp - interval analysis, bitwidth reduction, memory and -----===//
//===-                loop-carried dependence analysis                       ===//
//
// Ranges: a forward abstract interpretation over the interval domain (unsigned and signed
// views kept separately and reduced against each other), nodes visited in reverse
// post-order until nothing changes; a phi that keeps growing is widened to the full range
// after a few rounds, except induction variables of loops with a constant trip count,
// whose range is init + [0, step * (tripCount - 1)]. Bitwidth reduction then follows
// Stephenson, Babb & Amarasinghe ("Bitwidth analysis with application to silicon
// compilation", PLDI 2000) in its simplest form: forward ranges only.
//
//===----------------------------------------------------------------------===//
#include "hls/Analysis.h"

#include <algorithm>
#include <bit>
#include <map>

namespace tessera::hls {

namespace {

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

uint64_t maskOf(uint32_t w) { return w >= 64 ? ~uint64_t(0) : (uint64_t(1) << w) - 1; }
int64_t sminOf(uint32_t w) { return w == 0 ? 0 : w >= 64 ? INT64_MIN : -(int64_t(1) << (w - 1)); }
int64_t smaxOf(uint32_t w) {
  return w == 0 ? 0 : w >= 64 ? INT64_MAX : (int64_t(1) << (w - 1)) - 1;
}
int64_t toSigned(uint64_t v, uint32_t w) {
  if (w == 0 || w >= 64)
    return static_cast<int64_t>(v);
  uint64_t sign = uint64_t(1) << (w - 1);
  return static_cast<int64_t>((v ^ sign) - sign);
}

} // namespace

Range Range::full(uint32_t w) {
  Range r;
  r.known = true;
  r.ulo = 0;
  r.uhi = maskOf(w);
  r.slo = sminOf(w);
  r.shi = smaxOf(w);
  return r;
}

Range Range::constant(uint64_t v, uint32_t w) {
  Range r;
  r.known = true;
  r.ulo = r.uhi = v & maskOf(w);
  r.slo = r.shi = toSigned(v & maskOf(w), w);
  return r;
}

uint32_t Range::unsignedBits() const {
  return uhi == 0 ? 1 : static_cast<uint32_t>(std::bit_width(uhi));
}

uint32_t Range::signedBits() const {
  for (uint32_t k = 1; k < 64; ++k)
    if (slo >= sminOf(k) && shi <= smaxOf(k))
      return k;
  return 64;
}

namespace {

/// Tightens each view with what the other one proves.
Range reduce(Range r, uint32_t w) {
  if (w == 0)
    return Range::full(0);
  const u128 mod = u128(1) << w;
  // Unsigned values below 2^(w-1) are the same signed.
  if (r.uhi <= static_cast<uint64_t>(smaxOf(w))) {
    r.slo = std::max<int64_t>(r.slo, static_cast<int64_t>(r.ulo));
    r.shi = std::min<int64_t>(r.shi, static_cast<int64_t>(r.uhi));
  } else if (r.ulo > static_cast<uint64_t>(smaxOf(w))) {
    r.slo = std::max<int64_t>(r.slo, static_cast<int64_t>(i128(r.ulo) - i128(mod)));
    r.shi = std::min<int64_t>(r.shi, static_cast<int64_t>(i128(r.uhi) - i128(mod)));
  }
  if (r.slo >= 0) {
    r.ulo = std::max<uint64_t>(r.ulo, static_cast<uint64_t>(r.slo));
    r.uhi = std::min<uint64_t>(r.uhi, static_cast<uint64_t>(r.shi));
  } else if (r.shi < 0) {
    r.ulo = std::max<uint64_t>(r.ulo, static_cast<uint64_t>(i128(r.slo) + i128(mod)));
    r.uhi = std::min<uint64_t>(r.uhi, static_cast<uint64_t>(i128(r.shi) + i128(mod)));
  }
  if (r.ulo > r.uhi || r.slo > r.shi)
    return Range::full(w); // cannot happen for sound inputs; stay safe
  return r;
}

Range join(const Range &a, const Range &b) {
  if (!a.known)
    return b;
  if (!b.known)
    return a;
  Range r;
  r.known = true;
  r.ulo = std::min(a.ulo, b.ulo);
  r.uhi = std::max(a.uhi, b.uhi);
  r.slo = std::min(a.slo, b.slo);
  r.shi = std::max(a.shi, b.shi);
  return r;
}

bool sameRange(const Range &a, const Range &b) {
  return a.known == b.known && a.ulo == b.ulo && a.uhi == b.uhi && a.slo == b.slo && a.shi == b.shi;
}

/// Unsigned interval [lo, hi] (128-bit) clipped to the width: full when it leaves it.
void setU(Range &r, u128 lo, u128 hi, uint32_t w) {
  if (hi > u128(maskOf(w)) || lo > hi) {
    r.ulo = 0;
    r.uhi = maskOf(w);
  } else {
    r.ulo = static_cast<uint64_t>(lo);
    r.uhi = static_cast<uint64_t>(hi);
  }
}
void setS(Range &r, i128 lo, i128 hi, uint32_t w) {
  if (lo < sminOf(w) || hi > smaxOf(w) || lo > hi) {
    r.slo = sminOf(w);
    r.shi = smaxOf(w);
  } else {
    r.slo = static_cast<int64_t>(lo);
    r.shi = static_cast<int64_t>(hi);
  }
}

uint64_t fillBits(uint64_t x) {
  return x == 0 ? 0 : maskOf(static_cast<uint32_t>(std::bit_width(x)));
}

/// Initial-contents bounds of a read-only local table.
Range tableRange(const Memory &m) {
  if (m.kind != MemKind::Local || !m.readOnly || m.init.empty())
    return Range::full(m.elemWidth);
  Range r;
  r.known = true;
  r.ulo = r.uhi = m.init[0] & maskOf(m.elemWidth);
  r.slo = r.shi = toSigned(r.ulo, m.elemWidth);
  for (uint64_t v : m.init)
    r = join(r, Range::constant(v, m.elemWidth));
  return reduce(r, m.elemWidth);
}

/// The range of `x` where compare `cond` is `holds`: select(x > C, C, x) clamps x to
/// [.., C] in its false arm (clamps, and min / max written as compare + select). An empty
/// result (the arm cannot be taken) is returned as not known.
Range refineByCondition(const Cdfg &g, NodeId cond, bool holds, NodeId x,
                        const std::vector<Range> &R);

/// Where x = f(y) for a monotone f (a shift right by a constant, an extension) and the
/// compare is on y (instcombine rewrites `(a >> 14) > 32767` as `a > 536870911`): refine
/// y, then map the interval through f.
Range refineThrough(const Cdfg &g, NodeId cond, bool holds, NodeId x, const std::vector<Range> &R) {
  const Node &n = g.node(x);
  const Node &c = g.node(cond);
  if (n.operands.empty() || !R[x].known)
    return R[x];
  NodeId y = n.operands[0];
  if (c.operands.size() != 2 || (c.operands[0] != y && c.operands[1] != y))
    return R[x];
  bool shift = (n.kind == OpKind::ShrS || n.kind == OpKind::ShrU) &&
               g.node(n.operands[1]).kind == OpKind::Const && g.node(n.operands[1]).value < n.width;
  if (!shift && n.kind != OpKind::SExt && n.kind != OpKind::ZExt)
    return R[x];
  Range ry = refineByCondition(g, cond, holds, y, R);
  if (!ry.known)
    return ry; // the arm is never taken
  Range r = Range::full(n.width);
  if (n.kind == OpKind::ShrS) {
    uint64_t k = g.node(n.operands[1]).value;
    setS(r, ry.slo >> k, ry.shi >> k, n.width);
  } else if (n.kind == OpKind::ShrU) {
    uint64_t k = g.node(n.operands[1]).value;
    setU(r, ry.ulo >> k, ry.uhi >> k, n.width);
  } else if (n.kind == OpKind::SExt) {
    setS(r, ry.slo, ry.shi, n.width);
  } else {
    setU(r, ry.ulo, ry.uhi, n.width);
  }
  r = reduce(r, n.width);
  // Never looser than what is known of x already.
  Range k = R[x];
  r.ulo = std::max(r.ulo, k.ulo);
  r.uhi = std::min(r.uhi, k.uhi);
  r.slo = std::max(r.slo, k.slo);
  r.shi = std::min(r.shi, k.shi);
  if (r.ulo > r.uhi || r.slo > r.shi)
    return Range{};
  return r;
}

Range refineByCondition(const Cdfg &g, NodeId cond, bool holds, NodeId x,
                        const std::vector<Range> &R) {
  Range r = R[x];
  const Node &c = g.node(cond);
  const uint32_t w = g.node(x).width;
  if (!isCompare(c.kind) || c.operands.size() != 2 || !r.known)
    return r;
  if (c.operands[0] != x && c.operands[1] != x)
    return refineThrough(g, cond, holds, x, R);
  OpKind k = c.kind;
  NodeId k0 = c.operands[0], k1 = c.operands[1];
  if (k1 == x && k0 != x) { // C op x  ==  x op' C
    std::swap(k0, k1);
    switch (k) {
    case OpKind::LtU:
      k = OpKind::GtU;
      break;
    case OpKind::LeU:
      k = OpKind::GeU;
      break;
    case OpKind::GtU:
      k = OpKind::LtU;
      break;
    case OpKind::GeU:
      k = OpKind::LeU;
      break;
    case OpKind::LtS:
      k = OpKind::GtS;
      break;
    case OpKind::LeS:
      k = OpKind::GeS;
      break;
    case OpKind::GtS:
      k = OpKind::LtS;
      break;
    case OpKind::GeS:
      k = OpKind::LeS;
      break;
    default:
      break;
    }
  }
  if (k0 != x || g.node(k1).kind != OpKind::Const || g.node(k1).width != w)
    return r;
  if (!holds) { // negate
    switch (k) {
    case OpKind::Eq:
      k = OpKind::Ne;
      break;
    case OpKind::Ne:
      k = OpKind::Eq;
      break;
    case OpKind::LtU:
      k = OpKind::GeU;
      break;
    case OpKind::LeU:
      k = OpKind::GtU;
      break;
    case OpKind::GtU:
      k = OpKind::LeU;
      break;
    case OpKind::GeU:
      k = OpKind::LtU;
      break;
    case OpKind::LtS:
      k = OpKind::GeS;
      break;
    case OpKind::LeS:
      k = OpKind::GtS;
      break;
    case OpKind::GtS:
      k = OpKind::LeS;
      break;
    case OpKind::GeS:
      k = OpKind::LtS;
      break;
    default:
      break;
    }
  }
  const uint64_t cu = g.node(k1).value;
  const int64_t cs = toSigned(cu, w);
  i128 ulo = r.ulo, uhi = r.uhi, slo = r.slo, shi = r.shi;
  switch (k) {
  case OpKind::Eq:
    ulo = std::max<i128>(ulo, cu);
    uhi = std::min<i128>(uhi, cu);
    break;
  case OpKind::LtU:
    uhi = std::min<i128>(uhi, i128(cu) - 1);
    break;
  case OpKind::LeU:
    uhi = std::min<i128>(uhi, cu);
    break;
  case OpKind::GtU:
    ulo = std::max<i128>(ulo, i128(cu) + 1);
    break;
  case OpKind::GeU:
    ulo = std::max<i128>(ulo, cu);
    break;
  case OpKind::LtS:
    shi = std::min<i128>(shi, i128(cs) - 1);
    break;
  case OpKind::LeS:
    shi = std::min<i128>(shi, cs);
    break;
  case OpKind::GtS:
    slo = std::max<i128>(slo, i128(cs) + 1);
    break;
  case OpKind::GeS:
    slo = std::max<i128>(slo, cs);
    break;
  default:
    return r; // Ne: no interval
  }
  if (ulo > uhi || slo > shi)
    return Range{}; // this arm is never taken
  r.ulo = static_cast<uint64_t>(ulo);
  r.uhi = static_cast<uint64_t>(uhi);
  r.slo = static_cast<int64_t>(slo);
  r.shi = static_cast<int64_t>(shi);
  return reduce(r, w);
}

Range transfer(const Cdfg &g, const Node &n, const std::vector<Range> &R) {
  const uint32_t w = n.width;
  if (w == 0)
    return Range::full(0);
  auto op = [&](size_t i) -> const Range & { return R[n.operands[i]]; };
  for (NodeId o : n.operands)
    if (!R[o].known && n.kind != OpKind::Phi)
      return Range{}; // operands not reached yet
  Range r = Range::full(w);
  switch (n.kind) {
  case OpKind::Const:
    return Range::constant(n.value, w);
  case OpKind::Arg:
    return r;
  case OpKind::Load:
    return n.attr < g.memories.size() ? tableRange(g.memories[n.attr]) : r;
  case OpKind::Add: {
    const Range &a = op(0), &b = op(1);
    setU(r, u128(a.ulo) + b.ulo, u128(a.uhi) + b.uhi, w);
    setS(r, i128(a.slo) + b.slo, i128(a.shi) + b.shi, w);
    break;
  }
  case OpKind::Sub: {
    const Range &a = op(0), &b = op(1);
    if (a.ulo >= b.uhi)
      setU(r, u128(a.ulo - b.uhi), u128(a.uhi - b.ulo), w);
    setS(r, i128(a.slo) - b.shi, i128(a.shi) - b.slo, w);
    break;
  }
  case OpKind::Mul: {
    const Range &a = op(0), &b = op(1);
    if (a.uhi == 0 || b.uhi <= maskOf(w) / a.uhi)
      setU(r, u128(a.ulo) * b.ulo, u128(a.uhi) * b.uhi, w);
    auto mag = [](int64_t v) { return v < 0 ? -i128(v) : i128(v); };
    i128 bound = std::max(mag(a.slo), mag(a.shi)) * std::max(mag(b.slo), mag(b.shi));
    if (bound <= i128(smaxOf(w))) {
      i128 c[4] = {i128(a.slo) * b.slo, i128(a.slo) * b.shi, i128(a.shi) * b.slo,
                   i128(a.shi) * b.shi};
      setS(r, *std::min_element(c, c + 4), *std::max_element(c, c + 4), w);
    }
    break;
  }
  case OpKind::DivU: {
    const Range &a = op(0), &b = op(1);
    u128 lo = b.ulo == 0 || b.uhi == 0 ? 0 : a.ulo / b.uhi;
    setU(r, lo, a.uhi / std::max<uint64_t>(b.ulo, 1), w);
    break;
  }
  case OpKind::RemU: {
    const Range &a = op(0), &b = op(1);
    setU(r, 0, std::min<uint64_t>(a.uhi, b.uhi == 0 ? 0 : b.uhi - 1), w);
    break;
  }
  case OpKind::DivS: {
    const Range &a = op(0), &b = op(1);
    if (a.slo >= 0 && b.slo >= 0) {
      u128 lo = b.slo == 0 || b.shi == 0 ? 0 : u128(a.slo) / u128(b.shi);
      setS(r, i128(lo), i128(a.shi) / std::max<int64_t>(b.slo, 1), w);
    } else if (a.slo > sminOf(w)) {
      i128 m = std::max(-i128(a.slo), i128(a.shi));
      setS(r, -m, m, w);
    }
    break;
  }
  case OpKind::RemS: {
    const Range &a = op(0), &b = op(1);
    i128 mb = std::max(-i128(b.slo), i128(b.shi));
    i128 m = std::max<i128>(mb - 1, 0);
    i128 lo = a.slo >= 0 ? 0 : std::max(-m, i128(a.slo));
    i128 hi = a.shi <= 0 ? 0 : std::min(m, i128(a.shi));
    setS(r, lo, hi, w);
    break;
  }
  case OpKind::And:
    setU(r, 0, std::min(op(0).uhi, op(1).uhi), w);
    break;
  case OpKind::Or:
    setU(r, std::max(op(0).ulo, op(1).ulo), fillBits(op(0).uhi | op(1).uhi), w);
    break;
  case OpKind::Xor:
    setU(r, 0, fillBits(op(0).uhi | op(1).uhi), w);
    break;
  case OpKind::Shl: {
    const Range &a = op(0), &s = op(1);
    if (s.uhi < w && s.uhi < 64 && (a.uhi == 0 || std::bit_width(a.uhi) + s.uhi <= w))
      setU(r, u128(a.ulo) << s.ulo, u128(a.uhi) << s.uhi, w);
    break;
  }
  case OpKind::ShrU: {
    const Range &a = op(0), &s = op(1);
    uint64_t lo = s.uhi >= w ? 0 : a.ulo >> s.uhi;
    uint64_t hi = s.ulo >= w ? 0 : a.uhi >> s.ulo;
    setU(r, lo, hi, w);
    break;
  }
  case OpKind::ShrS: {
    const Range &a = op(0), &s = op(1);
    uint64_t s0 = std::min<uint64_t>(s.ulo, w - 1), s1 = std::min<uint64_t>(s.uhi, w - 1);
    int64_t lo = a.slo >> (a.slo < 0 ? s0 : s1);
    int64_t hi = a.shi >> (a.shi >= 0 ? s0 : s1);
    setS(r, lo, hi, w);
    break;
  }
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::LtU:
  case OpKind::LtS:
  case OpKind::LeU:
  case OpKind::LeS:
  case OpKind::GtU:
  case OpKind::GtS:
  case OpKind::GeU:
  case OpKind::GeS:
    return Range::full(1);
  case OpKind::Select:
    r = join(refineByCondition(g, n.operands[0], true, n.operands[1], R),
             refineByCondition(g, n.operands[0], false, n.operands[2], R));
    if (!r.known)
      return Range::full(w);
    break;
  case OpKind::ZExt: {
    const Range &a = op(0);
    setU(r, a.ulo, a.uhi, w);
    break;
  }
  case OpKind::SExt: {
    const Range &a = op(0);
    setS(r, a.slo, a.shi, w);
    break;
  }
  case OpKind::Trunc: {
    const Range &a = op(0);
    if (a.uhi <= maskOf(w))
      setU(r, a.ulo, a.uhi, w);
    if (a.slo >= sminOf(w) && a.shi <= smaxOf(w))
      setS(r, a.slo, a.shi, w);
    break;
  }
  case OpKind::Phi: {
    Range j;
    for (NodeId o : n.operands)
      j = join(j, R[o]);
    if (!j.known)
      return j;
    r = j;
    break;
  }
  default:
    break;
  }
  return reduce(r, w);
}

/// The induction variable whose phi is `p`, if any (see findInductionVars).
std::optional<InductionVar> inductionVar(const Cdfg &g, NodeId p) {
  const Node &n = g.node(p);
  if (n.kind != OpKind::Phi || n.block == kNone)
    return std::nullopt;
  const Block &blk = g.blocks[n.block];
  if (blk.loop == kNone || g.loops[blk.loop].header != n.block || n.operands.size() != 2 ||
      blk.preds.size() != 2)
    return std::nullopt;
  const Loop &L = g.loops[blk.loop];
  InductionVar iv;
  iv.phi = p;
  iv.loop = blk.loop;
  for (size_t i = 0; i < 2; ++i) {
    BlockId pred = blk.preds[i];
    bool inside = std::find(L.blocks.begin(), L.blocks.end(), pred) != L.blocks.end();
    (inside ? iv.update : iv.init) = n.operands[i];
  }
  if (iv.init == kNone || iv.update == kNone)
    return std::nullopt;
  const Node &u = g.node(iv.update);
  if ((u.kind != OpKind::Add && u.kind != OpKind::Sub) || u.operands.size() != 2)
    return std::nullopt;
  NodeId other;
  if (u.operands[0] == p)
    other = u.operands[1];
  else if (u.operands[1] == p && u.kind == OpKind::Add)
    other = u.operands[0];
  else
    return std::nullopt;
  if (g.node(other).kind != OpKind::Const)
    return std::nullopt;
  int64_t c = toSigned(g.node(other).value, g.node(other).width);
  iv.step = u.kind == OpKind::Add ? c : -c;
  const Node &in = g.node(iv.init);
  if (in.kind == OpKind::Const)
    iv.initConst = toSigned(in.value, in.width);
  return iv;
}

} // namespace

std::vector<InductionVar> findInductionVars(const Cdfg &g) {
  std::vector<InductionVar> out;
  for (NodeId n = 0; n < g.nodes.size(); ++n)
    if (auto iv = inductionVar(g, n))
      out.push_back(*iv);
  return out;
}

std::vector<Range> analyseRanges(const Cdfg &g) {
  std::vector<Range> R(g.nodes.size());
  std::vector<uint32_t> changes(g.nodes.size(), 0);
  std::vector<std::optional<InductionVar>> ivs(g.nodes.size());
  for (NodeId n = 0; n < g.nodes.size(); ++n)
    if (g.node(n).width == 0)
      R[n] = Range::full(0);
    else
      ivs[n] = inductionVar(g, n);
  std::vector<BlockId> rpo = g.reversePostOrder();
  constexpr uint32_t kWidenAfter = 3;
  bool changed = true;
  for (uint32_t round = 0; changed && round < 1000; ++round) {
    changed = false;
    for (BlockId b : rpo) {
      for (NodeId id : g.blocks[b].nodes) {
        const Node &n = g.node(id);
        if (n.width == 0)
          continue;
        Range r;
        const std::optional<InductionVar> &iv = ivs[id];
        const Loop *L = iv ? &g.loops[iv->loop] : nullptr;
        if (iv && L->tripCount && *L->tripCount >= 1 && R[iv->init].known) {
          // init + step * [0, tripCount - 1], in both views.
          const Range &in = R[iv->init];
          i128 span = i128(iv->step) * i128(*L->tripCount - 1);
          r = Range::full(n.width);
          if (span >= 0) {
            setU(r, u128(in.ulo), u128(in.uhi) + u128(span), n.width);
            setS(r, in.slo, i128(in.shi) + span, n.width);
          } else {
            if (i128(in.ulo) + span >= 0)
              setU(r, u128(i128(in.ulo) + span), u128(in.uhi), n.width);
            setS(r, i128(in.slo) + span, in.shi, n.width);
          }
          r = reduce(r, n.width);
        } else {
          r = transfer(g, n, R);
          if (n.kind == OpKind::Phi && r.known && R[id].known && !sameRange(r, join(r, R[id])))
            r = join(r, R[id]);
          if (n.kind == OpKind::Phi && R[id].known && !sameRange(r, R[id]) &&
              ++changes[id] > kWidenAfter)
            r = Range::full(n.width);
        }
        if (!sameRange(r, R[id])) {
          R[id] = r;
          changed = true;
        }
      }
    }
  }
  for (NodeId n = 0; n < g.nodes.size(); ++n)
    if (!R[n].known)
      R[n] = Range::full(g.node(n).width); // unreachable code
  return R;
}

namespace {

enum class Semantics { Any, Unsigned, Signed };

/// Which operands carry values of the operating width (others keep their width), and
/// whether the result participates; nullopt: the node is never narrowed.
struct NarrowShape {
  std::vector<size_t> valueOperands;
  bool resultCounts = true;
  Semantics sem = Semantics::Any;
};

std::optional<NarrowShape> shapeOf(const Node &n) {
  switch (n.kind) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::And:
  case OpKind::Or:
  case OpKind::Xor:
    return NarrowShape{{0, 1}, true, Semantics::Any};
  case OpKind::Shl:
    return NarrowShape{{0}, true, Semantics::Any};
  case OpKind::ShrU:
    return NarrowShape{{0}, true, Semantics::Unsigned};
  case OpKind::ShrS:
    return NarrowShape{{0}, true, Semantics::Signed};
  case OpKind::DivU:
  case OpKind::RemU:
    return NarrowShape{{0, 1}, true, Semantics::Unsigned};
  case OpKind::DivS:
  case OpKind::RemS:
    return NarrowShape{{0, 1}, true, Semantics::Signed};
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::LtU:
  case OpKind::LeU:
  case OpKind::GtU:
  case OpKind::GeU:
    // Zero- and sign-extension both preserve unsigned order and equality.
    return NarrowShape{{0, 1}, false, Semantics::Any};
  case OpKind::LtS:
  case OpKind::LeS:
  case OpKind::GtS:
  case OpKind::GeS:
    return NarrowShape{{0, 1}, false, Semantics::Signed};
  case OpKind::Select:
    return NarrowShape{{1, 2}, true, Semantics::Any};
  case OpKind::Phi: {
    NarrowShape s;
    for (size_t i = 0; i < n.operands.size(); ++i)
      s.valueOperands.push_back(i);
    return s;
  }
  default:
    return std::nullopt;
  }
}

} // namespace

NarrowStats narrowWidths(Cdfg &g) {
  NarrowStats stats;
  const std::vector<Range> R = analyseRanges(g);
  const size_t n0 = g.nodes.size();
  std::vector<uint32_t> newWidth(n0);
  std::vector<char> signedMode(n0, 0);
  std::vector<char> narrowed(n0, 0);
  for (NodeId id = 0; id < n0; ++id) {
    const Node &n = g.node(id);
    newWidth[id] = n.width;
    auto shape = shapeOf(n);
    if (!shape || n.operands.empty())
      continue;
    uint32_t opWidth = g.node(n.operands[shape->valueOperands[0]]).width;
    uint32_t ubits = 1, sbits = 1;
    auto account = [&](const Range &r) {
      ubits = std::max(ubits, r.unsignedBits());
      sbits = std::max(sbits, r.signedBits());
    };
    for (size_t i : shape->valueOperands)
      account(R[n.operands[i]]);
    if (shape->resultCounts)
      account(R[id]);
    // Unsigned mode on signed semantics needs a clear sign bit, and vice versa signed
    // mode is only exact for operators whose low bits do not depend on extension.
    if (shape->sem == Semantics::Signed)
      ubits += 1;
    if (shape->sem == Semantics::Unsigned)
      sbits = opWidth;
    uint32_t k = std::min(ubits, sbits);
    if (k >= opWidth)
      continue;
    narrowed[id] = 1;
    signedMode[id] = sbits < ubits;
    if (shape->resultCounts) {
      newWidth[id] = k;
      stats.bitsBefore += n.width;
      stats.bitsAfter += k;
    }
    stats.nodesNarrowed++;
  }
  if (stats.nodesNarrowed == 0)
    return stats;
  // The width each narrowed node computes at (compares: their operand width).
  std::vector<uint32_t> opWidthOf(n0, 0);
  for (NodeId id = 0; id < n0; ++id) {
    if (!narrowed[id])
      continue;
    const Node &n = g.node(id);
    auto shape = shapeOf(n);
    if (shape->resultCounts) {
      opWidthOf[id] = newWidth[id];
    } else {
      uint32_t ub = 1, sb = 1;
      for (size_t i : shape->valueOperands) {
        ub = std::max(ub, R[n.operands[i]].unsignedBits());
        sb = std::max(sb, R[n.operands[i]].signedBits());
      }
      if (shape->sem == Semantics::Signed)
        ub += 1;
      opWidthOf[id] = std::min(ub, sb);
    }
  }
  // Conversions, created on demand and placed right after the value they convert.
  std::map<std::pair<NodeId, uint32_t>, NodeId> memo;
  std::vector<std::vector<NodeId>> after(n0);
  auto valueAt = [&](NodeId x, uint32_t want) -> NodeId {
    if (newWidth[x] == want)
      return x;
    auto key = std::make_pair(x, want);
    if (auto it = memo.find(key); it != memo.end())
      return it->second;
    const Node &src = g.node(x);
    Node c;
    c.width = want;
    c.block = src.block;
    c.name = src.name;
    c.loc = src.loc;
    if (src.kind == OpKind::Const) {
      c.kind = OpKind::Const;
      c.value = src.value & maskOf(want);
    } else {
      c.kind = want < newWidth[x] ? OpKind::Trunc : signedMode[x] ? OpKind::SExt : OpKind::ZExt;
      c.operands = {x};
    }
    NodeId id = static_cast<NodeId>(g.nodes.size());
    g.nodes.push_back(std::move(c));
    after[x].push_back(id);
    memo[key] = id;
    return id;
  };
  for (NodeId id = 0; id < n0; ++id) {
    Node &n = g.nodes[id];
    std::vector<char> isValue(n.operands.size(), 0);
    if (narrowed[id]) {
      const NarrowShape shape = *shapeOf(n);
      for (size_t i : shape.valueOperands)
        isValue[i] = 1;
    }
    for (size_t i = 0; i < g.nodes[id].operands.size(); ++i) {
      NodeId x = g.nodes[id].operands[i];
      uint32_t want = isValue[i] ? opWidthOf[id] : g.nodes[x].width;
      NodeId v = valueAt(x, want);
      g.nodes[id].operands[i] = v;
    }
  }
  for (NodeId id = 0; id < n0; ++id)
    g.nodes[id].width = newWidth[id];
  // Each conversion goes right after the value it converts (after the phis for a phi).
  for (Block &blk : g.blocks) {
    std::vector<NodeId> out;
    std::vector<NodeId> pendingPhi;
    for (NodeId id : blk.nodes) {
      out.push_back(id);
      if (id < n0) {
        if (g.nodes[id].kind == OpKind::Phi)
          pendingPhi.insert(pendingPhi.end(), after[id].begin(), after[id].end());
        else {
          if (!pendingPhi.empty()) {
            out.insert(out.end() - 1, pendingPhi.begin(), pendingPhi.end());
            pendingPhi.clear();
          }
          out.insert(out.end(), after[id].begin(), after[id].end());
        }
      }
    }
    blk.nodes = std::move(out);
  }
  return stats;
}

namespace {

/// Low bits of n known to be zero (for `x | c` that is really `x + c`, as instcombine
/// writes 2 * i + 1).
uint32_t trailingZeros(const Cdfg &g, NodeId id, int depth = 0) {
  const Node &n = g.node(id);
  if (depth > 16)
    return 0;
  auto isConst = [&](size_t i) { return g.node(n.operands[i]).kind == OpKind::Const; };
  auto cval = [&](size_t i) { return g.node(n.operands[i]).value; };
  switch (n.kind) {
  case OpKind::Const:
    return n.value == 0 ? n.width : static_cast<uint32_t>(std::countr_zero(n.value));
  case OpKind::Shl:
    if (isConst(1))
      return std::min<uint32_t>(n.width,
                                trailingZeros(g, n.operands[0], depth + 1) +
                                    static_cast<uint32_t>(std::min<uint64_t>(cval(1), 64)));
    return 0;
  case OpKind::Mul:
    return std::min(n.width, trailingZeros(g, n.operands[0], depth + 1) +
                                 trailingZeros(g, n.operands[1], depth + 1));
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Or:
    return std::min(trailingZeros(g, n.operands[0], depth + 1),
                    trailingZeros(g, n.operands[1], depth + 1));
  case OpKind::And:
    return std::max(trailingZeros(g, n.operands[0], depth + 1),
                    trailingZeros(g, n.operands[1], depth + 1));
  case OpKind::ZExt:
  case OpKind::SExt:
    return trailingZeros(g, n.operands[0], depth + 1);
  default:
    return 0;
  }
}

} // namespace

AffineIndex affineOf(const Cdfg &g, NodeId root) {
  struct Rec {
    const Cdfg &g;
    std::map<NodeId, int64_t> terms;
    int64_t constant = 0;
    void walk(NodeId id, int64_t scale, int depth) {
      const Node &n = g.node(id);
      auto atom = [&] { terms[id] += scale; };
      if (depth > 32)
        return atom();
      switch (n.kind) {
      case OpKind::Const:
        constant += scale * toSigned(n.value, n.width);
        return;
      case OpKind::Add:
        walk(n.operands[0], scale, depth + 1);
        walk(n.operands[1], scale, depth + 1);
        return;
      case OpKind::Sub:
        walk(n.operands[0], scale, depth + 1);
        walk(n.operands[1], -scale, depth + 1);
        return;
      case OpKind::Or:
        // Disjoint bits: x | c == x + c when c fits below x's known zero bits.
        for (int i = 0; i < 2; ++i) {
          const Node &c = g.node(n.operands[i]);
          if (c.kind == OpKind::Const &&
              std::bit_width(c.value) <= trailingZeros(g, n.operands[1 - i])) {
            walk(n.operands[1 - i], scale, depth + 1);
            constant += scale * static_cast<int64_t>(c.value);
            return;
          }
        }
        return atom();
      case OpKind::Mul:
        for (int i = 0; i < 2; ++i)
          if (g.node(n.operands[i]).kind == OpKind::Const) {
            const Node &c = g.node(n.operands[i]);
            walk(n.operands[1 - i], scale * toSigned(c.value, c.width), depth + 1);
            return;
          }
        return atom();
      case OpKind::Shl:
        if (g.node(n.operands[1]).kind == OpKind::Const && g.node(n.operands[1]).value < 62) {
          walk(n.operands[0], scale * (int64_t(1) << g.node(n.operands[1]).value), depth + 1);
          return;
        }
        return atom();
      case OpKind::ZExt:
      case OpKind::SExt:
      case OpKind::Trunc:
        walk(n.operands[0], scale, depth + 1);
        return;
      default:
        return atom();
      }
    }
  } rec{g, {}, 0};
  rec.walk(root, 1, 0);
  AffineIndex a;
  a.constant = rec.constant;
  for (auto [n, c] : rec.terms)
    if (c != 0)
      a.terms.push_back({n, c});
  return a;
}

uint32_t forwardMemoryValues(Cdfg &g) {
  uint32_t removed = 0;
  for (Block &blk : g.blocks) {
    struct Known {
      MemId mem;
      NodeId addr;
      AffineIndex index;
      NodeId value;
    };
    std::vector<Known> known;
    for (NodeId id : blk.nodes) {
      Node &n = g.nodes[id];
      if (n.kind != OpKind::Load && n.kind != OpKind::Store)
        continue;
      const MemId m = n.attr;
      const NodeId addr = n.operands[0];
      AffineIndex idx = affineOf(g, addr);
      auto same = [&](const Known &k) { return k.mem == m && (k.addr == addr || k.index == idx); };
      if (n.kind == OpKind::Load) {
        auto it = std::find_if(known.rbegin(), known.rend(), same);
        if (it != known.rend() && g.node(it->value).width == n.width) {
          n.kind = OpKind::ZExt;
          n.operands = {it->value};
          n.attr = kNone;
          ++removed;
        } else {
          known.push_back({m, addr, idx, id});
        }
        continue;
      }
      // A store: forget what it may overwrite, then remember what it wrote.
      std::erase_if(known, [&](const Known &k) {
        if (k.mem != m)
          return false;
        bool provablyDifferent = k.index.terms == idx.terms && k.index.constant != idx.constant;
        return !provablyDifferent;
      });
      known.push_back({m, addr, idx, n.operands[1]});
    }
  }
  return removed;
}

std::vector<MemoryInfo> analyseMemories(const Cdfg &g, const std::vector<Range> *ranges) {
  std::vector<MemoryInfo> out(g.memories.size());
  std::vector<std::optional<InductionVar>> ivOf(g.nodes.size());
  for (const InductionVar &iv : findInductionVars(g))
    ivOf[iv.phi] = iv;
  for (MemId m = 0; m < g.memories.size(); ++m) {
    const Memory &mem = g.memories[m];
    out[m].mem = m;
    switch (mem.partition) {
    case Partition::None:
      out[m].banks = 1;
      break;
    case Partition::Cyclic:
    case Partition::Block:
      out[m].banks = std::max<uint32_t>(1, mem.partitionFactor);
      break;
    case Partition::Complete:
      out[m].banks = mem.depth;
      break;
    }
  }
  for (BlockId b : g.reversePostOrder()) {
    for (NodeId id : g.blocks[b].nodes) {
      const Node &n = g.node(id);
      if ((n.kind != OpKind::Load && n.kind != OpKind::Store) || n.attr >= g.memories.size())
        continue;
      const Memory &mem = g.memories[n.attr];
      MemAccess a;
      a.node = id;
      a.isStore = n.kind == OpKind::Store;
      a.index = affineOf(g, n.operands[0]);
      const uint32_t banks = out[n.attr].banks;
      if (banks == 1) {
        a.bank = 0;
      } else if (mem.partition == Partition::Cyclic) {
        // Substitute induction variables init + step * j; static when every remaining
        // coefficient is a multiple of the factor.
        int64_t c = a.index.constant;
        bool fixed = true;
        for (auto [atom, coeff] : a.index.terms) {
          const auto &iv = ivOf[atom];
          if (iv && iv->initConst) {
            c += coeff * *iv->initConst;
            if ((coeff * iv->step) % int64_t(banks) != 0)
              fixed = false;
          } else if (coeff % int64_t(banks) != 0) {
            fixed = false;
          }
        }
        if (fixed)
          a.bank = static_cast<uint32_t>(((c % int64_t(banks)) + banks) % banks);
      } else if (mem.partition == Partition::Block) {
        uint64_t size = (uint64_t(mem.depth) + banks - 1) / banks;
        if (a.index.terms.empty() && a.index.constant >= 0)
          a.bank = static_cast<uint32_t>(std::min<uint64_t>(a.index.constant / size, banks - 1));
        else if (ranges &&
                 (*ranges)[n.operands[0]].ulo / size == (*ranges)[n.operands[0]].uhi / size)
          a.bank = static_cast<uint32_t>(
              std::min<uint64_t>((*ranges)[n.operands[0]].ulo / size, banks - 1));
      } else if (mem.partition == Partition::Complete) {
        if (a.index.terms.empty() && a.index.constant >= 0)
          a.bank = static_cast<uint32_t>(a.index.constant);
      }
      out[n.attr].accesses.push_back(std::move(a));
    }
  }
  return out;
}

bool mayAliasSameIteration(const MemAccess &a, const MemAccess &b) {
  if (a.bank && b.bank && *a.bank != *b.bank)
    return false;
  if (a.index.terms == b.index.terms)
    return a.index.constant == b.index.constant;
  return true;
}

std::vector<LoopDep> loopCarriedDeps(const Cdfg &g, LoopId l) {
  std::vector<LoopDep> deps;
  const Loop &L = g.loops[l];
  std::vector<char> inLoop(g.blocks.size(), 0);
  for (BlockId b : L.blocks)
    inLoop[b] = 1;
  auto nodeInLoop = [&](NodeId n) { return g.node(n).block != kNone && inLoop[g.node(n).block]; };
  const Block &header = g.blocks[L.header];
  auto latchOperand = [&](NodeId phi) -> NodeId {
    const Node &p = g.node(phi);
    for (size_t i = 0; i < header.preds.size() && i < p.operands.size(); ++i)
      if (inLoop[header.preds[i]])
        return p.operands[i];
    return kNone;
  };
  auto isHeaderPhi = [&](NodeId n) {
    return g.node(n).kind == OpKind::Phi && g.node(n).block == L.header;
  };
  const auto users = g.users();
  // Recurrences through header phis (chains of phis add distance).
  for (NodeId p : header.nodes) {
    if (!isHeaderPhi(p))
      continue;
    NodeId v = latchOperand(p);
    uint32_t dist = 1;
    while (v != kNone && isHeaderPhi(v) && dist <= header.nodes.size()) {
      v = latchOperand(v);
      ++dist;
    }
    if (v == kNone || !nodeInLoop(v) || isHeaderPhi(v))
      continue;
    for (NodeId u : users[p]) {
      if (!nodeInLoop(u) || isHeaderPhi(u))
        continue;
      deps.push_back({v, u, dist, LoopDep::Register, p});
    }
  }
  // Memory dependences between accesses of one array inside the loop.
  std::vector<std::optional<InductionVar>> ivOf(g.nodes.size());
  for (const InductionVar &iv : findInductionVars(g))
    ivOf[iv.phi] = iv;
  std::vector<MemoryInfo> mems = analyseMemories(g);
  for (const MemoryInfo &mi : mems) {
    // TESSERA_INDEPENDENT: the user promises no element is shared across iterations.
    if (mi.mem < g.memories.size() && g.memories[mi.mem].independent)
      continue;
    std::vector<const MemAccess *> acc;
    for (const MemAccess &a : mi.accesses)
      if (nodeInLoop(a.node))
        acc.push_back(&a);
    for (const MemAccess *a : acc) {
      for (const MemAccess *b : acc) {
        if (!a->isStore && !b->isStore)
          continue;
        if (a->bank && b->bank && *a->bank != *b->bank)
          continue;
        // Split off this loop's induction variable: index = K + c * iv + rest.
        auto split = [&](const AffineIndex &x, int64_t &coeff, int64_t &step) {
          AffineIndex rest = x;
          coeff = 0;
          step = 0;
          rest.terms.clear();
          for (auto [atom, c] : x.terms) {
            if (ivOf[atom] && ivOf[atom]->loop == l) {
              coeff += c;
              step = ivOf[atom]->step;
            } else {
              rest.terms.push_back({atom, c});
            }
          }
          return rest;
        };
        int64_t ca, sa, cb, sb;
        AffineIndex ra = split(a->index, ca, sa), rb = split(b->index, cb, sb);
        bool known = ra.terms == rb.terms && ca == cb && (ca == 0 || sa == sb);
        for (auto [atom, c] : ra.terms)
          if (nodeInLoop(atom))
            known = false; // a loop-variant atom other than the induction variable
        if (!known) {
          deps.push_back({a->node, b->node, 1, LoopDep::Memory, kNone});
          continue;
        }
        int64_t diff = ra.constant - rb.constant; // a(j) == b(j + d)  <=>  diff == c*step*d
        if (ca == 0) {
          if (diff == 0)
            deps.push_back({a->node, b->node, 1, LoopDep::Memory, kNone});
          continue;
        }
        int64_t per = ca * sa;
        if (per != 0 && diff % per == 0 && diff / per >= 1)
          deps.push_back(
              {a->node, b->node, static_cast<uint32_t>(diff / per), LoopDep::Memory, kNone});
      }
    }
  }
  std::sort(deps.begin(), deps.end(), [](const LoopDep &x, const LoopDep &y) {
    return std::tie(x.to, x.from, x.distance, x.kind) < std::tie(y.to, y.from, y.distance, y.kind);
  });
  deps.erase(std::unique(deps.begin(), deps.end(),
                         [](const LoopDep &x, const LoopDep &y) {
                           return x.to == y.to && x.from == y.from && x.distance == y.distance &&
                                  x.kind == y.kind;
                         }),
             deps.end());
  return deps;
}

} // namespace tessera::hls
