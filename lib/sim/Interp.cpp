//===- Interp.cpp - the interpreter engine --------------------------------===//
//
// Runs the Program's schedule directly: each node becomes an instruction that is applied
// to every element of its group (node-major, so one dispatch serves a whole array).
// Values of up to 64 bits are computed on uint64_t; wider ones go through hw::BitVec and
// hw::evaluate (Semantics.h), the single definition of the op semantics. No build step:
// the model is ready as soon as the schedule is.
//
//===----------------------------------------------------------------------===//
#include "sim/Model.h"

#include "hw/Semantics.h"

#include <cstring>

namespace tessera::sim::detail {

namespace {

inline uint64_t maskOf(uint32_t w) { return w >= 64 ? ~uint64_t(0) : (uint64_t(1) << w) - 1; }
inline int64_t sx(uint64_t v, uint32_t w) {
  if (w >= 64)
    return static_cast<int64_t>(v);
  return static_cast<int64_t>(v << (64 - w)) >> (64 - w);
}

/// Where element (i, l) of an operand lives: off + ((perI * i) + base + l) * eb.
struct Operand {
  uint64_t off = 0;
  uint32_t eb = 1;
  uint32_t width = 0;
  uint64_t perI = 0;
  uint64_t base = 0;
  uint64_t at(uint64_t i, uint64_t l) const { return off + (perI * i + base + l) * eb; }
};

struct Instr {
  uint32_t node = 0;
  NodeKind kind = NodeKind::Op;
  hw::OpKind op = hw::OpKind::Const;
  uint32_t width = 0, eb = 1, count = 1;
  uint64_t dst = 0; ///< offset of element 0
  bool narrow = true;
  uint64_t mask = 0;
  uint32_t attr0 = 0;
  std::vector<Operand> ops;
  hw::Op hwop;
  // Memories.
  uint64_t memOff = 0;
  uint32_t memDepth = 0;
  // Gathers: per element (offset of the source's lane-0 element).
  std::vector<uint64_t> gatherSrc;
  // Packs: source.
  Operand packSrc;
  uint32_t packFirst = 0, packCount = 0, packWidth = 0;
  // Regs.
  std::vector<uint64_t> resetWords;
  int reset = -1, enable = -1; ///< operand indices
  bool async = false;
};

uint64_t evalNarrow(const Instr &in, const uint64_t *x) {
  const uint32_t w = in.width;
  const uint64_t m = in.mask;
  auto ow = [&](int k) { return in.ops[k].width; };
  switch (in.op) {
  case hw::OpKind::Add:
    return (x[0] + x[1]) & m;
  case hw::OpKind::Sub:
    return (x[0] - x[1]) & m;
  case hw::OpKind::Mul:
    return (x[0] * x[1]) & m;
  case hw::OpKind::DivU:
    return x[1] ? x[0] / x[1] : 0;
  case hw::OpKind::RemU:
    return x[1] ? x[0] % x[1] : 0;
  case hw::OpKind::DivS: {
    if (!x[1])
      return 0;
    int64_t a = sx(x[0], w), b = sx(x[1], w);
    if (b == -1)
      return (0 - x[0]) & m;
    return static_cast<uint64_t>(a / b) & m;
  }
  case hw::OpKind::RemS: {
    if (!x[1])
      return 0;
    int64_t a = sx(x[0], w), b = sx(x[1], w);
    if (b == -1)
      return 0;
    return static_cast<uint64_t>(a % b) & m;
  }
  case hw::OpKind::And:
    return x[0] & x[1];
  case hw::OpKind::Or:
    return x[0] | x[1];
  case hw::OpKind::Xor:
    return x[0] ^ x[1];
  case hw::OpKind::Not:
    return ~x[0] & m;
  case hw::OpKind::Shl:
    return x[1] >= w ? 0 : (x[0] << x[1]) & m;
  case hw::OpKind::ShrU:
    return x[1] >= w ? 0 : x[0] >> x[1];
  case hw::OpKind::ShrS: {
    int64_t a = sx(x[0], w);
    if (x[1] >= w)
      return a < 0 ? m : 0;
    return static_cast<uint64_t>(a >> x[1]) & m;
  }
  case hw::OpKind::Eq:
    return x[0] == x[1];
  case hw::OpKind::Ne:
    return x[0] != x[1];
  case hw::OpKind::LtU:
    return x[0] < x[1];
  case hw::OpKind::LeU:
    return x[0] <= x[1];
  case hw::OpKind::GtU:
    return x[0] > x[1];
  case hw::OpKind::GeU:
    return x[0] >= x[1];
  case hw::OpKind::LtS:
    return sx(x[0], ow(0)) < sx(x[1], ow(1));
  case hw::OpKind::LeS:
    return sx(x[0], ow(0)) <= sx(x[1], ow(1));
  case hw::OpKind::GtS:
    return sx(x[0], ow(0)) > sx(x[1], ow(1));
  case hw::OpKind::GeS:
    return sx(x[0], ow(0)) >= sx(x[1], ow(1));
  case hw::OpKind::Mux:
    return (x[0] & 1) ? x[1] : x[2];
  case hw::OpKind::Concat: {
    uint64_t r = 0;
    for (size_t k = 0; k < in.ops.size(); ++k)
      r = (ow(int(k)) >= 64 ? 0 : r << ow(int(k))) | x[k];
    return r & m;
  }
  case hw::OpKind::Extract:
    return (in.attr0 >= 64 ? 0 : x[0] >> in.attr0) & m;
  case hw::OpKind::ZExt:
    return x[0];
  case hw::OpKind::SExt:
    return static_cast<uint64_t>(sx(x[0], ow(0))) & m;
  case hw::OpKind::RedAnd:
    return x[0] == maskOf(ow(0));
  case hw::OpKind::RedOr:
    return x[0] != 0;
  case hw::OpKind::RedXor:
    return __builtin_parityll(x[0]);
  default:
    return 0;
  }
}

class Interpreter final : public ModelSimulator {
public:
  Interpreter(Program prog, BuildStats stats) : ModelSimulator(std::move(prog), std::move(stats)) {
    compile();
  }

protected:
  void settle() override {
    uint8_t *a = arena();
    const uint32_t L = prog_.lanes;
    for (const Instr &r : async_) {
      const Operand &rst = r.ops[r.reset];
      for (uint32_t i = 0; i < r.count; ++i)
        for (uint32_t l = 0; l < L; ++l)
          if (loadElem(a + rst.at(i, l), 1) & 1)
            std::memcpy(a + r.dst + (uint64_t(i) * L + l) * r.eb, r.resetWords.data(), r.eb);
    }
    for (size_t i = 0; i < observeFrom_; ++i)
      exec(comb_[i]);
  }

  void observe() override {
    for (size_t i = observeFrom_; i < comb_.size(); ++i)
      exec(comb_[i]);
  }

  void edge() override {
    for (const Instr &in : edge_)
      execEdge(in);
  }

private:
  Operand operand(Ref r, uint32_t userGroup) const {
    const Node &n = prog_.net.nodes[r.node];
    Operand o;
    o.off = prog_.offset[r.node];
    o.width = n.width;
    o.eb = elemBytes(n.width);
    if (n.group == 0) {
      o.perI = 0;
      o.base = 0;
    } else if (r.elem >= 0) {
      o.perI = 0;
      o.base = uint64_t(r.elem) * prog_.lanes;
    } else {
      (void)userGroup;
      o.perI = prog_.lanes;
      o.base = 0;
    }
    return o;
  }

  Instr makeInstr(uint32_t id) const {
    const Net &net = prog_.net;
    const Node &n = net.nodes[id];
    Instr in;
    in.node = id;
    in.kind = n.kind;
    in.op = n.op;
    in.width = n.width;
    in.eb = n.width ? elemBytes(n.width) : 1;
    in.count = net.groups[n.group].count;
    in.dst = n.width ? prog_.offset[id] : 0;
    in.mask = maskOf(n.width);
    in.attr0 = n.attr0;
    for (Ref o : n.operands)
      in.ops.push_back(operand(o, n.group));
    in.narrow = n.width <= 64;
    for (const Operand &o : in.ops)
      if (o.width > 64)
        in.narrow = false;
    in.hwop.kind = n.op;
    in.hwop.width = n.width;
    in.hwop.attr0 = n.attr0;
    in.hwop.value = n.value;
    if (n.isOp(hw::OpKind::MemRead) || n.isOp(hw::OpKind::MemWrite)) {
      const NetMemory &mem = net.memories[n.attr0];
      in.memOff = prog_.memOffset[n.attr0];
      in.memDepth = mem.depth;
      in.eb = elemBytes(mem.width);
      in.width = mem.width;
    }
    if (n.kind == NodeKind::Gather) {
      for (Ref e : net.gathers[n.attr1]) {
        const Node &s = net.nodes[e.node];
        uint64_t idx = s.group == 0 ? 0 : uint64_t(e.elem) * prog_.lanes;
        in.gatherSrc.push_back(prog_.offset[e.node] + idx * elemBytes(s.width));
      }
    }
    if (n.kind == NodeKind::Pack) {
      in.packSrc = operand(Ref{n.operands[0].node, -1}, net.nodes[n.operands[0].node].group);
      in.packFirst = n.attr0;
      in.packCount = n.attr1;
      in.packWidth = net.nodes[n.operands[0].node].width;
    }
    if (n.isReg()) {
      hw::BitVec rv = n.value.resize(n.width);
      in.resetWords.assign((in.eb + 7) / 8, 0);
      for (uint32_t w = 0; w < numWords(n.width); ++w)
        in.resetWords[w] = rv.word(w);
      in.reset = n.regResetIdx();
      in.enable = n.regEnableIdx();
      in.async = n.regAsync();
    }
    return in;
  }

  void compile() {
    for (size_t i = 0; i < prog_.comb.size(); ++i) {
      if (i == prog_.observeFrom)
        observeFrom_ = comb_.size();
      for (uint32_t n : prog_.comb[i].nodes)
        comb_.push_back(makeInstr(n));
    }
    if (prog_.observeFrom >= prog_.comb.size())
      observeFrom_ = comb_.size();
    for (const EdgeStep &s : prog_.edge)
      for (uint32_t n : s.nodes)
        edge_.push_back(makeInstr(n));
    for (uint32_t r : prog_.asyncRegs)
      async_.push_back(makeInstr(r));
  }

  /// Reads an operand element as words (wide) or a number (narrow).
  void loadWords(const Operand &o, uint64_t at, uint64_t *w) const {
    const uint8_t *p = arena_.data() + at;
    if (o.eb <= 8)
      w[0] = loadElem(p, o.eb);
    else
      std::memcpy(w, p, o.eb);
  }

  hw::BitVec loadBits(const Operand &o, uint64_t at) const {
    std::vector<uint64_t> w(numWords(o.width));
    loadWords(o, at, w.data());
    return hw::BitVec::fromWords(o.width, w);
  }

  void storeBitsAt(uint64_t at, uint32_t width, const hw::BitVec &v) {
    uint8_t *p = arena() + at;
    uint32_t eb = elemBytes(width);
    if (eb <= 8) {
      storeElem(p, eb, v.low64());
      return;
    }
    for (uint32_t w = 0; w < numWords(width); ++w) {
      uint64_t x = v.word(w);
      std::memcpy(p + 8 * w, &x, 8);
    }
  }

  /// A narrow value of operand k (wide address operands saturate).
  uint64_t loadNum(const Operand &o, uint64_t at) const {
    const uint8_t *p = arena_.data() + at;
    if (o.eb <= 8)
      return loadElem(p, o.eb);
    uint64_t w0;
    std::memcpy(&w0, p, 8);
    for (uint32_t w = 1; w < o.eb / 8; ++w) {
      uint64_t x;
      std::memcpy(&x, p + 8 * w, 8);
      if (x)
        return UINT64_MAX;
    }
    return w0;
  }

  void exec(const Instr &in) {
    uint8_t *a = arena();
    const uint32_t L = prog_.lanes;
    switch (in.kind) {
    case NodeKind::Gather:
      for (uint32_t i = 0; i < in.count; ++i)
        for (uint32_t l = 0; l < L; ++l)
          std::memmove(a + in.dst + (uint64_t(i) * L + l) * in.eb,
                       a + in.gatherSrc[i] + uint64_t(l) * in.eb, in.eb);
      return;
    case NodeKind::Pack: {
      std::vector<uint64_t> out(numWords(in.width)), e(numWords(in.packWidth) + 1);
      for (uint32_t l = 0; l < L; ++l) {
        std::fill(out.begin(), out.end(), 0);
        for (uint32_t k = 0; k < in.packCount; ++k) {
          std::fill(e.begin(), e.end(), 0);
          loadWords(in.packSrc, in.packSrc.at(in.packFirst + k, l), e.data());
          uint64_t pos = uint64_t(k) * in.packWidth;
          for (uint32_t b = 0; b < in.packWidth; b += 64) {
            uint64_t v = e[b / 64];
            uint32_t len = std::min<uint32_t>(64, in.packWidth - b);
            uint64_t p = pos + b;
            out[p / 64] |= v << (p % 64);
            if (p % 64 && p % 64 + len > 64)
              out[p / 64 + 1] |= v >> (64 - p % 64);
          }
        }
        uint8_t *d = a + in.dst + uint64_t(l) * in.eb;
        if (in.eb <= 8)
          storeElem(d, in.eb, out[0]);
        else
          std::memcpy(d, out.data(), in.eb);
      }
      return;
    }
    case NodeKind::Copy:
      for (uint32_t i = 0; i < in.count; ++i)
        for (uint32_t l = 0; l < L; ++l)
          std::memmove(a + in.dst + (uint64_t(i) * L + l) * in.eb, a + in.ops[0].at(i, l), in.eb);
      return;
    default:
      break;
    }
    if (in.op == hw::OpKind::MemRead) { // asynchronous read
      const Operand &ad = in.ops[0];
      for (uint32_t i = 0; i < in.count; ++i)
        for (uint32_t l = 0; l < L; ++l) {
          uint64_t k = uint64_t(i) * L + l;
          uint64_t addr = loadNum(ad, ad.at(i, l));
          uint8_t *d = a + in.dst + k * in.eb;
          if (addr < in.memDepth)
            std::memcpy(d, a + in.memOff + (k * in.memDepth + addr) * in.eb, in.eb);
          else
            std::memset(d, 0, in.eb);
        }
      return;
    }
    const size_t nops = in.ops.size();
    if (in.narrow) {
      uint64_t x[8];
      std::vector<uint64_t> big;
      uint64_t *xs = nops <= 8 ? x : (big.resize(nops), big.data());
      for (uint32_t i = 0; i < in.count; ++i)
        for (uint32_t l = 0; l < L; ++l) {
          for (size_t k = 0; k < nops; ++k)
            xs[k] = loadElem(a + in.ops[k].at(i, l), in.ops[k].eb);
          storeElem(a + in.dst + (uint64_t(i) * L + l) * in.eb, in.eb, evalNarrow(in, xs));
        }
      return;
    }
    // Wide: BitVec semantics. Shift amounts and extract sources may be wide while the
    // result is narrow (and vice versa); hw::evaluate handles every combination.
    std::vector<hw::BitVec> xs(nops);
    for (uint32_t i = 0; i < in.count; ++i)
      for (uint32_t l = 0; l < L; ++l) {
        for (size_t k = 0; k < nops; ++k)
          xs[k] = loadBits(in.ops[k], in.ops[k].at(i, l));
        storeBitsAt(in.dst + (uint64_t(i) * L + l) * in.eb, in.width, hw::evaluate(in.hwop, xs));
      }
  }

  void execEdge(const Instr &in) {
    uint8_t *a = arena();
    const uint32_t L = prog_.lanes;
    if (in.op == hw::OpKind::MemRead) { // synchronous: read-before-write
      const Operand &ad = in.ops[1];
      for (uint32_t i = 0; i < in.count; ++i)
        for (uint32_t l = 0; l < L; ++l) {
          if (in.ops.size() > 2 && !(loadElem(a + in.ops[2].at(i, l), 1) & 1))
            continue;
          uint64_t k = uint64_t(i) * L + l;
          uint64_t addr = loadNum(ad, ad.at(i, l));
          uint8_t *d = a + in.dst + k * in.eb;
          if (addr < in.memDepth)
            std::memcpy(d, a + in.memOff + (k * in.memDepth + addr) * in.eb, in.eb);
          else
            std::memset(d, 0, in.eb);
        }
      return;
    }
    if (in.op == hw::OpKind::MemWrite) {
      const Operand &ad = in.ops[1], &data = in.ops[2], &en = in.ops[3];
      for (uint32_t i = 0; i < in.count; ++i)
        for (uint32_t l = 0; l < L; ++l) {
          if (!(loadElem(a + en.at(i, l), 1) & 1))
            continue;
          uint64_t addr = loadNum(ad, ad.at(i, l));
          if (addr >= in.memDepth)
            continue;
          uint64_t k = uint64_t(i) * L + l;
          std::memmove(a + in.memOff + (k * in.memDepth + addr) * in.eb, a + data.at(i, l), in.eb);
        }
      return;
    }
    // Register.
    for (uint32_t i = 0; i < in.count; ++i)
      for (uint32_t l = 0; l < L; ++l) {
        uint8_t *d = a + in.dst + (uint64_t(i) * L + l) * in.eb;
        if (in.reset >= 0 && (loadElem(a + in.ops[in.reset].at(i, l), 1) & 1)) {
          std::memcpy(d, in.resetWords.data(), in.eb);
          continue;
        }
        if (in.enable >= 0 && !(loadElem(a + in.ops[in.enable].at(i, l), 1) & 1))
          continue;
        std::memmove(d, a + in.ops[1].at(i, l), in.eb);
      }
  }

  std::vector<Instr> comb_, edge_, async_;
  size_t observeFrom_ = 0;
};

} // namespace

std::unique_ptr<ModelSimulator> makeInterpreter(Program prog, BuildStats stats) {
  return std::make_unique<Interpreter>(std::move(prog), std::move(stats));
}

} // namespace tessera::sim::detail
