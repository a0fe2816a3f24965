//===- Model.cpp - poke/peek, cycle loop and VCD over the shared arena ----===//
//
// VCD: one time unit per half cycle. At time 2c the values of cycle c are dumped as
// sampled before the rising edge (clock 0); at 2c+1 the clock is 1 and registers (and the
// logic depending only on them) show their new values. Only changes are written;
// identifiers are assigned in declaration order, so the same run gives the same file.
//
//===----------------------------------------------------------------------===//
#include "sim/Model.h"

#include "sim/Stimulus.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>

namespace tessera::sim::detail {

Arena::Arena(uint64_t size) : size_(size) {
  uint64_t rounded = (size + 63) / 64 * 64;
  p_ = static_cast<uint8_t *>(std::aligned_alloc(64, rounded ? rounded : 64));
  std::memset(p_, 0, rounded ? rounded : 64);
}

Arena &Arena::operator=(Arena &&o) noexcept {
  if (this != &o) {
    std::free(p_);
    p_ = o.p_;
    size_ = o.size_;
    o.p_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

Arena::~Arena() { std::free(p_); }

//===----------------------------------------------------------------------===//
// VCD writer
//===----------------------------------------------------------------------===//

class Vcd {
public:
  struct Entry {
    Ref ref;
    uint32_t elem = 0;
    uint32_t width = 0;
    bool isClock = false;
    std::string id;
    std::vector<uint64_t> last;
  };
  std::ofstream out;
  uint64_t from = 0, to = UINT64_MAX;
  bool started = false;
  std::vector<Entry> entries;
  std::vector<uint64_t> buf;

  static std::string identifier(size_t i) {
    std::string s;
    do {
      s += static_cast<char>('!' + i % 94);
      i /= 94;
    } while (i);
    return s;
  }

  void writeValue(const Entry &e, const uint64_t *w) {
    if (e.width == 1) {
      out << ((w[0] & 1) ? '1' : '0') << e.id << '\n';
      return;
    }
    // Binary, most significant first, without leading zeros (at least one digit).
    uint32_t top = e.width;
    while (top > 1 && !((w[(top - 1) / 64] >> ((top - 1) % 64)) & 1))
      --top;
    out << 'b';
    for (uint32_t b = top; b-- > 0;)
      out << (((w[b / 64] >> (b % 64)) & 1) ? '1' : '0');
    out << ' ' << e.id << '\n';
  }
};

//===----------------------------------------------------------------------===//
// ModelSimulator
//===----------------------------------------------------------------------===//

ModelSimulator::ModelSimulator(Program prog, BuildStats stats)
    : prog_(std::move(prog)), arena_(prog_.arenaSize), stats_(std::move(stats)) {
  for (const TopInput &in : prog_.net.inputs)
    inputs_.push_back(PortInfo{in.name, in.width, in.isClock});
  for (const TopOutput &o : prog_.net.outputs)
    outputs_.push_back(PortInfo{o.name, o.width, false});
  initState();
}

ModelSimulator::~ModelSimulator() = default;

namespace {
void storeBits(uint8_t *p, uint32_t width, const hw::BitVec &v) {
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
} // namespace

void ModelSimulator::initState() {
  const Net &net = prog_.net;
  uint8_t *a = arena_.data();
  for (uint32_t i = 0; i < net.nodes.size(); ++i) {
    const Node &n = net.nodes[i];
    if (!n.live || prog_.offset[i] == UINT64_MAX)
      continue;
    const hw::BitVec *v = nullptr;
    if (n.isOp(hw::OpKind::Const))
      v = &n.value;
    else if (n.isReg())
      v = &n.init;
    if (!v || v->isZero())
      continue;
    uint32_t eb = elemBytes(n.width);
    for (uint64_t k = 0; k < prog_.elems(i); ++k)
      storeBits(a + prog_.offset[i] + k * eb, n.width, v->resize(n.width));
  }
  for (size_t m = 0; m < net.memories.size(); ++m) {
    const NetMemory &mem = net.memories[m];
    if (mem.init.empty())
      continue;
    uint32_t eb = elemBytes(mem.width);
    uint64_t copies = uint64_t(net.groups[mem.group].count) * prog_.lanes;
    for (uint64_t k = 0; k < copies; ++k)
      for (uint32_t w = 0; w < mem.depth && w < mem.init.size(); ++w)
        storeBits(a + prog_.memOffset[m] + (k * mem.depth + w) * eb, mem.width,
                  mem.init[w].resize(mem.width));
  }
}

const uint8_t *ModelSimulator::addr(Ref r, uint32_t elem, uint32_t lane) const {
  const Node &n = prog_.net.nodes[r.node];
  uint64_t idx = lane;
  if (n.group != 0)
    idx = uint64_t(r.elem >= 0 ? uint32_t(r.elem) : elem) * prog_.lanes + lane;
  return arena_.data() + prog_.offset[r.node] + idx * elemBytes(n.width);
}

void ModelSimulator::readWords(Ref r, uint32_t elem, uint32_t lane, uint64_t *out) const {
  const Node &n = prog_.net.nodes[r.node];
  const uint8_t *p = addr(r, elem, lane);
  uint32_t eb = elemBytes(n.width);
  if (eb <= 8)
    out[0] = loadElem(p, eb);
  else
    std::memcpy(out, p, eb);
}

void ModelSimulator::pokeWords(uint32_t input, const uint64_t *words, uint32_t lane) {
  if (input >= prog_.net.inputs.size() || lane >= prog_.lanes)
    return;
  const TopInput &in = prog_.net.inputs[input];
  if (in.isClock)
    return; // the simulator drives the clock
  uint8_t *p = arena_.data() + prog_.offset[in.node] + uint64_t(lane) * elemBytes(in.width);
  uint32_t nw = numWords(in.width);
  uint32_t eb = elemBytes(in.width);
  uint64_t topMask = in.width % 64 ? (uint64_t(1) << (in.width % 64)) - 1 : ~uint64_t(0);
  if (eb <= 8) {
    storeElem(p, eb, words[0] & topMask);
  } else {
    for (uint32_t w = 0; w < nw; ++w) {
      uint64_t x = w + 1 == nw ? words[w] & topMask : words[w];
      std::memcpy(p + 8 * w, &x, 8);
    }
  }
  dirty_ = true;
}

void ModelSimulator::poke(uint32_t input, uint64_t v, uint32_t lane) {
  if (input >= prog_.net.inputs.size())
    return;
  uint32_t nw = numWords(prog_.net.inputs[input].width);
  if (nw == 1) {
    pokeWords(input, &v, lane);
    return;
  }
  scratch_.assign(nw, 0);
  scratch_[0] = v;
  pokeWords(input, scratch_.data(), lane);
}

void ModelSimulator::poke(uint32_t input, const hw::BitVec &v, uint32_t lane) {
  if (input >= prog_.net.inputs.size())
    return;
  uint32_t nw = numWords(prog_.net.inputs[input].width);
  scratch_.assign(nw, 0);
  for (uint32_t w = 0; w < nw; ++w)
    scratch_[w] = v.word(w);
  pokeWords(input, scratch_.data(), lane);
}

void ModelSimulator::peekWords(uint32_t output, uint64_t *words, uint32_t lane) {
  ensureSettled();
  const TopOutput &o = prog_.net.outputs[output];
  readWords(o.ref, 0, lane, words);
}

hw::BitVec ModelSimulator::peek(uint32_t output, uint32_t lane) {
  const TopOutput &o = prog_.net.outputs[output];
  std::vector<uint64_t> w(numWords(o.width));
  peekWords(output, w.data(), lane);
  return hw::BitVec::fromWords(o.width, w);
}

uint64_t ModelSimulator::peek64(uint32_t output, uint32_t lane) {
  ensureSettled();
  const TopOutput &o = prog_.net.outputs[output];
  const uint8_t *p = addr(o.ref, 0, lane);
  uint32_t eb = elemBytes(o.width);
  return eb <= 8 ? loadElem(p, eb) : loadElem(p, 8);
}

uint64_t ModelSimulator::checksumOutputs(uint64_t h, uint32_t lane) {
  ensureSettled();
  for (const TopOutput &o : prog_.net.outputs) {
    const uint8_t *p = addr(o.ref, 0, lane);
    uint32_t eb = elemBytes(o.width);
    if (eb <= 8) {
      h = checksumMix(h, loadElem(p, eb));
    } else {
      for (uint32_t w = 0; w < eb / 8; ++w) {
        uint64_t x;
        std::memcpy(&x, p + 8 * w, 8);
        h = checksumMix(h, x);
      }
    }
  }
  return h;
}

std::optional<hw::BitVec> ModelSimulator::peekSignal(std::string_view path, uint32_t lane) {
  const Net &net = prog_.net;
  if (signalIndex_.empty()) {
    for (uint32_t s = 0; s < net.signals.size(); ++s) {
      const Signal &sig = net.signals[s];
      uint32_t n = sig.group == 0 ? 1 : net.groups[sig.group].count;
      for (uint32_t e = 0; e < n; ++e)
        signalIndex_.emplace(sig.path(e), std::make_pair(s, e));
    }
  }
  auto it = signalIndex_.find(std::string(path));
  if (it == signalIndex_.end() || lane >= prog_.lanes)
    return std::nullopt;
  const Signal &sig = net.signals[it->second.first];
  ensureObserved();
  std::vector<uint64_t> w(numWords(sig.width) + 1);
  readWords(sig.ref, it->second.second, lane, w.data());
  if (net.nodes[sig.ref.node].isOp(hw::OpKind::Input) && prog_.clockPort != kNone &&
      net.inputs[prog_.clockPort].node == sig.ref.node)
    w[0] = 0;
  w.resize(numWords(sig.width));
  return hw::BitVec::fromWords(sig.width, w);
}

void ModelSimulator::run(uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    ensureSettled();
    edge();
    dirty_ = true;
  }
}

void ModelSimulator::step(uint64_t n) {
  while (n > 0) {
    if (vcd_ && cycle_ < vcd_->to) {
      if (cycle_ < vcd_->from) {
        uint64_t k = std::min(n, vcd_->from - cycle_);
        run(k);
        cycle_ += k;
        n -= k;
        continue;
      }
      ensureSettled();
      vcdSample(2 * cycle_, false);
      edge();
      dirty_ = true;
      ensureSettled();
      vcdSample(2 * cycle_ + 1, true);
      ++cycle_;
      --n;
      continue;
    }
    run(n);
    cycle_ += n;
    n = 0;
  }
}

Status ModelSimulator::openVcd(const std::string &path, const std::vector<std::string> &scopes,
                               uint64_t from, uint64_t to) {
  closeVcd();
  auto v = std::make_unique<Vcd>();
  v->out.open(path, std::ios::binary | std::ios::trunc);
  if (!v->out)
    return Diagnostic::error("io-error", "cannot write VCD file '" + path + "'");
  v->from = from;
  v->to = to;
  const Net &net = prog_.net;
  uint32_t clockNode = prog_.clockPort == kNone ? kNone : net.inputs[prog_.clockPort].node;

  auto selected = [&](const std::string &p) {
    if (scopes.empty())
      return true;
    for (const std::string &s : scopes) {
      if (s.empty() || p == s)
        return true;
      if (p.size() > s.size() && p.compare(0, s.size(), s) == 0 &&
          (p[s.size()] == '.' || p[s.size()] == '['))
        return true;
    }
    return false;
  };

  struct ScopeNode {
    std::map<std::string, ScopeNode> children;
    std::vector<std::pair<std::string, size_t>> vars; // name, entry
  } root;
  auto split = [](const std::string &s) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= s.size() && !s.empty()) {
      size_t dot = s.find('.', start);
      if (dot == std::string::npos)
        dot = s.size();
      parts.push_back(s.substr(start, dot - start));
      start = dot + 1;
    }
    return parts;
  };
  for (const Signal &sig : net.signals) {
    uint32_t n = sig.group == 0 ? 1 : net.groups[sig.group].count;
    bool isClock = sig.ref.node == clockNode;
    bool topClock = isClock && sig.group == 0 && sig.prefix.empty();
    for (uint32_t e = 0; e < n; ++e) {
      std::string p = sig.path(e);
      if (!topClock && !selected(p))
        continue;
      Vcd::Entry en;
      en.ref = sig.ref;
      en.elem = e;
      en.width = sig.width;
      en.isClock = isClock;
      ScopeNode *s = &root;
      for (const std::string &part : split(sig.scope(e)))
        s = &s->children[part];
      s->vars.push_back({sig.name, v->entries.size()});
      v->entries.push_back(std::move(en));
    }
  }
  std::ostream &o = v->out;
  size_t nextId = 0;
  o << "$version tessera sim $end\n$timescale 1ns $end\n";
  o << "$comment one time unit per half clock cycle $end\n";
  std::function<void(const std::string &, const ScopeNode &)> write = [&](const std::string &name,
                                                                          const ScopeNode &s) {
    o << "$scope module " << name << " $end\n";
    for (const auto &[vn, idx] : s.vars) {
      Vcd::Entry &e = v->entries[idx];
      e.id = Vcd::identifier(nextId++);
      o << "$var wire " << e.width << ' ' << e.id << ' ' << vn;
      if (e.width > 1)
        o << " [" << e.width - 1 << ":0]";
      o << " $end\n";
    }
    for (const auto &[cn, c] : s.children)
      write(cn, c);
    o << "$upscope $end\n";
  };
  write(net.topName, root);
  o << "$enddefinitions $end\n";
  for (auto &e : v->entries)
    e.last.assign(numWords(e.width), 0);
  vcd_ = std::move(v);
  if (!vcd_->out)
    return Diagnostic::error("io-error", "cannot write VCD file '" + path + "'");
  return Status::success();
}

void ModelSimulator::vcdSample(uint64_t time, bool clockHigh) {
  ensureObserved();
  Vcd &v = *vcd_;
  bool header = false;
  auto stamp = [&] {
    if (!header) {
      v.out << '#' << time << '\n';
      if (!v.started)
        v.out << "$dumpvars\n";
      header = true;
    }
  };
  for (auto &e : v.entries) {
    v.buf.assign(numWords(e.width) + 1, 0);
    if (e.isClock)
      v.buf[0] = clockHigh ? 1 : 0;
    else
      readWords(e.ref, e.elem, 0, v.buf.data());
    bool changed = !v.started;
    for (size_t w = 0; w < e.last.size(); ++w)
      if (e.last[w] != v.buf[w])
        changed = true;
    if (!changed)
      continue;
    stamp();
    v.writeValue(e, v.buf.data());
    std::copy(v.buf.begin(), v.buf.begin() + e.last.size(), e.last.begin());
  }
  if (!v.started) {
    stamp();
    v.out << "$end\n";
    v.started = true;
  }
}

void ModelSimulator::closeVcd() {
  if (vcd_) {
    if (vcd_->started)
      vcd_->out << '#' << 2 * std::min(cycle_, vcd_->to) << '\n';
    vcd_->out.close();
    vcd_.reset();
  }
}

} // namespace tessera::sim::detail
