//===- HwTestUtil.h - helpers for the hw unit tests ------------------------===//
//
// Parsing snippets, and a small reference interpreter for flat modules (registers and
// memories, no instances) written directly from the semantics in IR.h, used to check
// that passes keep behaviour.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/Semantics.h"
#include "hw/Text.h"

#include <gtest/gtest.h>

#include <random>

namespace tessera::hw::test {

inline Design parseOrDie(const std::string &text, const std::string &file = "test.hw") {
  auto d = parseDesign(text, file, ParseOptions{true});
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().render());
  if (!d.ok())
    return Design();
  return std::move(d).value();
}

/// Cycle-based interpreter of one flat module (no instances), for equivalence checks.
class FlatSim {
public:
  explicit FlatSim(const Module &m) : m_(m) {
    for (const Op &o : m.ops) {
      regs_.push_back(o.kind == OpKind::Reg ? o.init : BitVec(o.width ? o.width : 1));
    }
    for (const Memory &mem : m.memories) {
      std::vector<BitVec> words(mem.depth, BitVec(mem.width));
      for (size_t i = 0; i < mem.init.size() && i < words.size(); ++i)
        words[i] = mem.init[i];
      mems_.push_back(std::move(words));
    }
    order_ = order();
  }

  /// One cycle: inputs by port index (input ports only), returns outputs by port index.
  std::vector<BitVec> cycle(const std::vector<BitVec> &inputs) {
    std::vector<BitVec> val(m_.ops.size());
    auto read = [&](ValueId v) -> const BitVec & { return val[v]; };
    for (ValueId v : order_) {
      const Op &o = m_.ops[v];
      switch (o.kind) {
      case OpKind::Input:
        val[v] = inputs[o.attr0];
        break;
      case OpKind::Reg:
        val[v] = (o.regHasReset() && o.regAsyncReset() && read(o.regReset()).bit(0)) ? o.value
                                                                                     : regs_[v];
        break;
      case OpKind::MemRead:
        if (o.memSync()) {
          val[v] = regs_[v];
        } else {
          auto a = read(o.memAddr()).toU64();
          const auto &words = mems_[o.attr0];
          val[v] = a && *a < words.size() ? words[*a] : BitVec(o.width);
        }
        break;
      case OpKind::MemWrite:
      case OpKind::Output:
        break;
      default: {
        std::vector<BitVec> args;
        for (ValueId x : o.operands)
          args.push_back(read(x));
        val[v] = evaluate(o, args);
      }
      }
    }
    std::vector<BitVec> outs(m_.ports.size());
    for (const Op &o : m_.ops)
      if (o.kind == OpKind::Output)
        outs[o.attr0] = val[o.operands[0]];
    // Rising edge: sample everything first, then update.
    std::vector<BitVec> nextRegs = regs_;
    for (ValueId v = 0; v < m_.ops.size(); ++v) {
      const Op &o = m_.ops[v];
      if (o.kind == OpKind::Reg) {
        bool rst = o.regHasReset() && val[o.regReset()].bit(0);
        bool en = !o.regHasEnable() || val[o.regEnable()].bit(0);
        if (rst)
          nextRegs[v] = o.value;
        else if (en)
          nextRegs[v] = val[o.regNext()];
      } else if (o.kind == OpKind::MemRead && o.memSync()) {
        bool en = o.memEnable() == kNoValue || val[o.memEnable()].bit(0);
        if (en) {
          auto a = val[o.memAddr()].toU64();
          const auto &words = mems_[o.attr0];
          nextRegs[v] = a && *a < words.size() ? words[*a] : BitVec(o.width);
        }
      }
    }
    for (ValueId v = 0; v < m_.ops.size(); ++v) {
      const Op &o = m_.ops[v];
      if (o.kind == OpKind::MemWrite && val[o.operands[3]].bit(0)) {
        auto a = val[o.operands[1]].toU64();
        auto &words = mems_[o.attr0];
        if (a && *a < words.size())
          words[*a] = val[o.operands[2]];
      }
    }
    regs_ = std::move(nextRegs);
    return outs;
  }

private:
  std::vector<ValueId> order() const {
    // Kahn over combinational reads (async reset included).
    size_t n = m_.ops.size();
    std::vector<std::vector<ValueId>> users(n);
    std::vector<size_t> pending(n, 0);
    for (ValueId v = 0; v < n; ++v) {
      const Op &o = m_.ops[v];
      std::vector<ValueId> reads;
      if (o.kind == OpKind::Reg) {
        if (o.regHasReset() && o.regAsyncReset())
          reads.push_back(o.regReset());
      } else if (o.kind == OpKind::MemRead) {
        if (!o.memSync())
          reads.push_back(o.memAddr());
      } else if (o.kind != OpKind::MemWrite) {
        reads = o.operands;
      }
      for (ValueId x : reads) {
        users[x].push_back(v);
        ++pending[v];
      }
    }
    std::vector<ValueId> ready, out;
    for (ValueId v = 0; v < n; ++v)
      if (!pending[v])
        ready.push_back(v);
    while (!ready.empty()) {
      ValueId v = ready.back();
      ready.pop_back();
      out.push_back(v);
      for (ValueId u : users[v])
        if (--pending[u] == 0)
          ready.push_back(u);
    }
    // MemWrite ops have no result; evaluate them last (their operands are all ready).
    return out;
  }

  const Module &m_;
  std::vector<BitVec> regs_;
  std::vector<std::vector<BitVec>> mems_;
  std::vector<ValueId> order_;
};

/// Runs `cycles` cycles of random inputs on both modules (same ports) and returns the
/// first difference, or "".
inline std::string compareBehaviour(const Module &a, const Module &b, int cycles, uint64_t seed) {
  FlatSim sa(a), sb(b);
  std::mt19937_64 rng(seed);
  for (int c = 0; c < cycles; ++c) {
    std::vector<BitVec> in(a.ports.size());
    for (size_t p = 0; p < a.ports.size(); ++p) {
      std::vector<uint64_t> words;
      for (uint32_t w = 0; w < (a.ports[p].width + 63) / 64; ++w)
        words.push_back(rng());
      in[p] = BitVec::fromWords(a.ports[p].width, words);
      // Keep resets mostly low so that state evolves.
      if (a.ports[p].name.find("rst") != std::string::npos ||
          a.ports[p].name.find("reset") != std::string::npos)
        in[p] = BitVec(a.ports[p].width, c == 0 || rng() % 16 == 0);
    }
    auto oa = sa.cycle(in), ob = sb.cycle(in);
    for (size_t p = 0; p < oa.size(); ++p)
      if (oa[p] != ob[p])
        return "cycle " + std::to_string(c) + ", output '" + a.ports[p].name +
               "': " + oa[p].toHex() + " vs " + ob[p].toHex();
  }
  return "";
}

} // namespace tessera::hw::test
