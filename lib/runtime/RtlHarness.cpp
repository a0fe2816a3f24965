//===- RtlHarness.cpp - AXI memory model, unit harness, golden comparison -------===//
//
// See RtlHarness.h.
//
//===----------------------------------------------------------------------===//
#include "runtime/RtlHarness.h"

#include "accel/Assembler.h"

#include <cstdio>
#include <cstring>

namespace tessera::runtime {

using accel::Instruction;

namespace {

std::string hex(uint64_t v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

} // namespace

//===----------------------------------------------------------------------===//
// AxiMemory
//===----------------------------------------------------------------------===//

struct AxiMemory::Ports {
  int arvalid = -1, araddr = -1, arlen = -1, rready = -1;
  int arready = -1, rvalid = -1, rdata = -1, rlast = -1, rresp = -1;
  int awvalid = -1, awaddr = -1, awlen = -1, wvalid = -1, wdata = -1, wstrb = -1, wlast = -1,
      bready = -1;
  int awready = -1, wready = -1, bvalid = -1, bresp = -1;
  bool hasRead() const { return arvalid >= 0 && arready >= 0 && rvalid >= 0; }
  bool hasWrite() const { return awvalid >= 0 && awready >= 0 && wvalid >= 0; }
};

AxiMemory::AxiMemory(sim::Simulator &sim, std::vector<uint8_t> &dram, unsigned busBytes,
                     unsigned readLatency)
    : sim_(sim), dram_(dram), bus_(busBytes), latency_(readLatency),
      p_(std::make_shared<Ports>()) {
  Ports &p = *p_;
  p.arvalid = sim.findOutput("m_arvalid");
  p.araddr = sim.findOutput("m_araddr");
  p.arlen = sim.findOutput("m_arlen");
  p.rready = sim.findOutput("m_rready");
  p.arready = sim.findInput("m_arready");
  p.rvalid = sim.findInput("m_rvalid");
  p.rdata = sim.findInput("m_rdata");
  p.rlast = sim.findInput("m_rlast");
  p.rresp = sim.findInput("m_rresp");
  p.awvalid = sim.findOutput("m_awvalid");
  p.awaddr = sim.findOutput("m_awaddr");
  p.awlen = sim.findOutput("m_awlen");
  p.wvalid = sim.findOutput("m_wvalid");
  p.wdata = sim.findOutput("m_wdata");
  p.wstrb = sim.findOutput("m_wstrb");
  p.wlast = sim.findOutput("m_wlast");
  p.bready = sim.findOutput("m_bready");
  p.awready = sim.findInput("m_awready");
  p.wready = sim.findInput("m_wready");
  p.bvalid = sim.findInput("m_bvalid");
  p.bresp = sim.findInput("m_bresp");
}

bool AxiMemory::idle() const { return !rActive_ && !wActive_ && !bPending_; }

void AxiMemory::tick() {
  Ports &p = *p_;
  std::vector<uint64_t> words((8 * bus_ + 63) / 64);
  if (p.hasRead()) {
    // Drive this cycle's slave outputs from the state.
    bool beat = rActive_ && rWait_ == 0;
    sim_.poke(p.arready, rActive_ ? 0 : 1);
    sim_.poke(p.rvalid, beat ? 1 : 0);
    bool inRange = rAddr_ + bus_ <= dram_.size();
    std::fill(words.begin(), words.end(), 0);
    if (beat && inRange)
      std::memcpy(words.data(), dram_.data() + rAddr_, bus_);
    if (p.rdata >= 0)
      sim_.pokeWords(p.rdata, words.data());
    if (p.rlast >= 0)
      sim_.poke(p.rlast, beat && rLeft_ == 1 ? 1 : 0);
    if (p.rresp >= 0)
      sim_.poke(p.rresp, beat && !inRange ? 2 : 0);
    // Handshakes of this cycle.
    if (!rActive_ && sim_.peek64(p.arvalid)) {
      rActive_ = true;
      rAddr_ = p.araddr >= 0 ? uint32_t(sim_.peek64(p.araddr)) : 0;
      rAddr_ -= rAddr_ % bus_;
      rLeft_ = (p.arlen >= 0 ? unsigned(sim_.peek64(p.arlen) & 0xFF) : 0) + 1;
      rWait_ = latency_;
    } else if (beat && (p.rready < 0 || sim_.peek64(p.rready))) {
      ++readBeats_;
      rAddr_ += bus_;
      if (--rLeft_ == 0)
        rActive_ = false;
    } else if (rActive_ && rWait_ > 0) {
      --rWait_;
    }
  }
  if (p.hasWrite()) {
    sim_.poke(p.awready, (wActive_ || bPending_) ? 0 : 1);
    sim_.poke(p.wready, wActive_ ? 1 : 0);
    if (p.bvalid >= 0)
      sim_.poke(p.bvalid, bPending_ ? 1 : 0);
    if (p.bresp >= 0)
      sim_.poke(p.bresp, bPending_ ? bResp_ : 0);
    if (bPending_) {
      if (p.bready < 0 || sim_.peek64(p.bready))
        bPending_ = false;
    } else if (!wActive_) {
      if (sim_.peek64(p.awvalid)) {
        wActive_ = true;
        wAddr_ = p.awaddr >= 0 ? uint32_t(sim_.peek64(p.awaddr)) : 0;
        wAddr_ -= wAddr_ % bus_;
        bResp_ = 0;
      }
    } else if (sim_.peek64(p.wvalid)) {
      std::fill(words.begin(), words.end(), 0);
      if (p.wdata >= 0)
        sim_.peekWords(p.wdata, words.data());
      hw::BitVec strb = p.wstrb >= 0 ? sim_.peek(p.wstrb) : hw::BitVec(bus_, ~0ull);
      const uint8_t *bytes = reinterpret_cast<const uint8_t *>(words.data());
      for (unsigned i = 0; i < bus_; ++i) {
        if (!strb.bit(i))
          continue;
        if (wAddr_ + i < dram_.size())
          dram_[wAddr_ + i] = bytes[i];
        else
          bResp_ = 2;
      }
      ++writeBeats_;
      wAddr_ += bus_;
      if (p.wlast < 0 || sim_.peek64(p.wlast)) {
        wActive_ = false;
        bPending_ = true;
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// UnitHarness
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<UnitHarness>> UnitHarness::create(const accel::TileConfig &cfg,
                                                           const accel::rtl::GenParams &gp,
                                                           accel::rtl::UnitKind kind,
                                                           const sim::SimOptions &opts) {
  TRY_ASSIGN(hw::Design d, accel::rtl::buildUnitHarness(cfg, gp, kind));
  TRY_ASSIGN(std::unique_ptr<sim::Simulator> s, sim::Simulator::create(d, opts));
  std::unique_ptr<UnitHarness> h(new UnitHarness());
  h->cfg_ = cfg;
  h->gp_ = gp;
  h->kind_ = kind;
  h->sim_ = std::move(s);
  h->port("rst", 1);
  h->sim_->step(2);
  h->port("rst", 0);
  return h;
}

void UnitHarness::port(const char *name, uint64_t v) {
  int i = sim_->findInput(name);
  if (i >= 0)
    sim_->poke(uint32_t(i), v);
}

uint64_t UnitHarness::out(const char *name) {
  int i = sim_->findOutput(name);
  return i >= 0 ? sim_->peek64(uint32_t(i)) : 0;
}

std::vector<uint8_t> DebugPorts::readBytes(const std::string &mem, uint32_t count) {
  const unsigned line = gp_.line(mem);
  std::vector<uint8_t> v(count);
  int a = in("dbg_" + mem + "_addr"), d = out("dbg_" + mem + "_data");
  std::vector<uint64_t> words((8 * line + 63) / 64);
  for (uint32_t base = 0; base < count; base += line) {
    sim_.poke(uint32_t(a), base);
    sim_.step();
    sim_.peekWords(uint32_t(d), words.data());
    const uint8_t *bytes = reinterpret_cast<const uint8_t *>(words.data());
    for (unsigned i = 0; i < line && base + i < count; ++i)
      v[base + i] = bytes[i];
  }
  return v;
}

std::vector<uint32_t> DebugPorts::readAcc(uint32_t count) {
  std::vector<uint32_t> v(count);
  int a = in("dbg_acc_addr"), d = out("dbg_acc_data");
  for (uint32_t i = 0; i < count; ++i) {
    sim_.poke(uint32_t(a), i);
    sim_.step();
    v[i] = uint32_t(sim_.peek64(uint32_t(d)));
  }
  return v;
}

void DebugPorts::updateBytes(const std::string &mem, const std::vector<uint8_t> &have,
                             const std::vector<uint8_t> &want) {
  const unsigned line = gp_.line(mem);
  int en = in("dbg_" + mem + "_wr_en"), a = in("dbg_" + mem + "_wr_addr"),
      d = in("dbg_" + mem + "_wr_data"), m = in("dbg_" + mem + "_wr_mask");
  std::vector<uint64_t> data((8 * line + 63) / 64), mask((line + 63) / 64);
  const size_t n = std::min(have.size(), want.size());
  for (size_t base = 0; base < n; base += line) {
    std::fill(data.begin(), data.end(), 0);
    std::fill(mask.begin(), mask.end(), 0);
    bool any = false;
    uint8_t *bytes = reinterpret_cast<uint8_t *>(data.data());
    for (unsigned i = 0; i < line && base + i < n; ++i)
      if (have[base + i] != want[base + i]) {
        bytes[i] = want[base + i];
        mask[i / 64] |= uint64_t(1) << (i % 64);
        any = true;
      }
    if (!any)
      continue;
    sim_.poke(uint32_t(en), 1);
    sim_.poke(uint32_t(a), base);
    sim_.pokeWords(uint32_t(d), data.data());
    sim_.pokeWords(uint32_t(m), mask.data());
    sim_.step();
    sim_.poke(uint32_t(en), 0);
  }
}

void DebugPorts::updateAcc(const std::vector<uint32_t> &have, const std::vector<uint32_t> &want) {
  int en = in("dbg_acc_wr_en"), a = in("dbg_acc_wr_addr"), d = in("dbg_acc_wr_data");
  for (size_t i = 0; i < want.size() && i < have.size(); ++i)
    if (have[i] != want[i]) {
      sim_.poke(uint32_t(en), 1);
      sim_.poke(uint32_t(a), i);
      sim_.poke(uint32_t(d), want[i]);
      sim_.step();
      sim_.poke(uint32_t(en), 0);
    }
}

TileState DebugPorts::readAll(const accel::TileConfig &cfg) {
  TileState s;
  s.spad = readBytes("spad", cfg.spadBytes);
  s.scale = readBytes("scale", cfg.scaleBytes);
  s.meta = readBytes("meta", cfg.metaBytes);
  s.acc = readAcc(cfg.accWords());
  return s;
}

TileState UnitHarness::readback() {
  TileState s = DebugPorts(*sim_, gp_).readAll(cfg_);
  if (kind_ == accel::rtl::UnitKind::Store) {
    s.amax = uint32_t(out("amax"));
    s.flags = uint32_t(out("flags"));
    s.lfsr = uint32_t(out("lfsr"));
  }
  return s;
}

void UnitHarness::preload(const TileState &want) {
  TileState cur = readback();
  DebugPorts dp(*sim_, gp_);
  dp.updateBytes("spad", cur.spad, want.spad);
  dp.updateBytes("scale", cur.scale, want.scale);
  dp.updateBytes("meta", cur.meta, want.meta);
  dp.updateAcc(cur.acc, want.acc);
}

Expected<uint64_t> UnitHarness::execute(const Instruction &ins,
                                        const std::array<uint32_t, 16> &regs,
                                        const std::array<uint32_t, 16> &fregs,
                                        std::vector<uint8_t> &dram, uint64_t maxCycles) {
  AxiMemory axi(*sim_, dram, gp_.busBytes);
  accel::Word w = accel::encode(ins);
  uint64_t insnWords[2] = {w.lo, w.hi};
  uint64_t regWords[4] = {}, fregWords[5] = {};
  for (unsigned i = 0; i < 8; ++i) {
    unsigned r = unsigned(w.lo >> (16 + 4 * i)) & 15; // bits 16..47: all in the low word
    uint64_t v = r == 0 ? 0 : regs[r];
    regWords[i / 2] |= v << (32 * (i % 2));
  }
  unsigned fs = unsigned(w.lo >> 28) & 15;
  for (unsigned j = 0; j < 9; ++j)
    fregWords[j / 2] |= uint64_t(fregs[(fs + j) % 16]) << (32 * (j % 2));
  int pStart = sim_->findInput("start"), pInsn = sim_->findInput("insn"),
      pRegs = sim_->findInput("regs"), pFregs = sim_->findInput("fregs");
  int pReady = sim_->findOutput("ready"), pDone = sim_->findOutput("done"),
      pFault = sim_->findOutput("fault"), pFaultAddr = sim_->findOutput("fault_addr");
  if (pStart < 0 || pInsn < 0 || pRegs < 0 || pFregs < 0 || pReady < 0 || pDone < 0)
    return Diagnostic::error("bad-unit-port", "unit harness lacks the instruction port");
  std::string text = accel::disassemble(ins);
  auto fault = [&]() -> Diagnostic {
    uint64_t addr = pFaultAddr >= 0 ? sim_->peek64(uint32_t(pFaultAddr)) : 0;
    return Diagnostic::error("rtl-fault", "unit faulted executing '" + text + "' at address " +
                                              hex(addr, 8));
  };
  // Wait for ready, then start.
  uint64_t waited = 0;
  while (!sim_->peek64(uint32_t(pReady))) {
    if (++waited > 1000)
      return Diagnostic::error("rtl-timeout", "unit never became ready for '" + text + "'");
    axi.tick();
    sim_->step();
  }
  sim_->pokeWords(uint32_t(pInsn), insnWords);
  sim_->pokeWords(uint32_t(pRegs), regWords);
  sim_->pokeWords(uint32_t(pFregs), fregWords);
  sim_->poke(uint32_t(pStart), 1);
  axi.tick();
  sim_->step();
  sim_->poke(uint32_t(pStart), 0);
  uint64_t cycles = 1;
  while (true) {
    if (pFault >= 0 && sim_->peek64(uint32_t(pFault)))
      return fault();
    if (sim_->peek64(uint32_t(pDone)))
      break;
    if (cycles >= maxCycles)
      return Diagnostic::error("rtl-timeout", "unit did not finish '" + text + "' in " +
                                                  std::to_string(maxCycles) + " cycles");
    axi.tick();
    sim_->step();
    ++cycles;
  }
  // Let the done cycle's writes land and any write response drain.
  axi.tick();
  sim_->step();
  for (unsigned i = 0; i < 64 && !axi.idle(); ++i) {
    axi.tick();
    sim_->step();
  }
  if (pFault >= 0 && sim_->peek64(uint32_t(pFault)))
    return fault();
  // Completion is the cycle after the done pulse (the first cycle a dependent instruction
  // could start), as in the golden model's trace.
  return cycles + 1;
}

//===----------------------------------------------------------------------===//
// checkUnitProgram
//===----------------------------------------------------------------------===//

namespace {

/// Which queue a harness's unit serves.
accel::Queue unitQueue(accel::rtl::UnitKind k) {
  switch (k) {
  case accel::rtl::UnitKind::Load:
    return accel::Queue::Load;
  case accel::rtl::UnitKind::Store:
    return accel::Queue::Store;
  default:
    return accel::Queue::Compute;
  }
}

template <typename T>
std::optional<std::string> firstDiff(const char *mem, const std::vector<T> &want,
                                     const std::vector<T> &got, int digits) {
  for (size_t i = 0; i < want.size(); ++i) {
    T g = i < got.size() ? got[i] : T(0);
    if (want[i] != g)
      return std::string(mem) + "[" + std::to_string(i) + "]: expected " +
             hex(want[i], digits) + ", got " + hex(g, digits);
  }
  return std::nullopt;
}

} // namespace

Expected<UnitCheck> checkUnitProgram(UnitHarness &harness, const accel::TileConfig &cfg,
                                     const std::string &setup, const std::string &test,
                                     const std::vector<uint8_t> &dram) {
  using accel::Queue;
  TRY_ASSIGN(accel::AsmProgram testProg, accel::assemble(test + "\nhalt\n", "<test>", &cfg));
  testProg.code.pop_back();
  Queue q = unitQueue(harness.kind_);
  for (const Instruction &ins : testProg.code)
    if (ins.info().queue != q)
      return Diagnostic::error("bad-test", "'" + accel::disassemble(ins) +
                                               "' is not an instruction of the unit under test");
  // Tokens carry the setup's loads to the unit's queue (docs/isa.md section 3).
  std::string chain;
  if (q == Queue::Compute)
    chain = "lsync push_next\ncsync pop_prev\n";
  else if (q == Queue::Store)
    chain = "lsync push_next\ncsync pop_prev, push_next\nssync pop_prev\n";
  TRY_ASSIGN(accel::AsmProgram pre, accel::assemble(setup + "\n" + chain + "halt\n", "<setup>",
                                                    &cfg));
  std::string full = setup + "\n" + chain + test + "\nhalt\n";
  TRY_ASSIGN(accel::AsmProgram all, accel::assemble(full, "<setup+test>", &cfg));

  std::vector<uint8_t> dramPre = dram, dramPost = dram;
  accel::GoldenOptions gopts;
  gopts.trace = true;
  TRY_ASSIGN(accel::GoldenResult g0, accel::runGolden(cfg, pre, dramPre, gopts));
  TRY_ASSIGN(accel::GoldenResult g1, accel::runGolden(cfg, all, dramPost, gopts));
  if (q == Queue::Store && (g0.amax != 0 || g0.flags != 0 || g0.lfsr != 1))
    return Diagnostic::error("bad-test", "the setup of a store-unit check must not change "
                                         "AMAX / FLAGS / LFSR (put seed / clrstat in the test)");

  // Reset the unit (store state back to its reset values), preload the golden pre-state.
  harness.port("rst", 1);
  harness.sim_->step();
  harness.port("rst", 0);
  TileState pre0;
  pre0.spad = g0.spad;
  pre0.scale = g0.scale;
  pre0.meta = g0.meta;
  pre0.acc = g0.acc;
  harness.preload(pre0);

  UnitCheck result;
  std::vector<uint8_t> rtlDram = dramPre;
  for (const Instruction &ins : testProg.code) {
    TRY_ASSIGN(uint64_t cyc, harness.execute(ins, g1.regs, g1.fregs, rtlDram));
    result.cycles.push_back(cyc);
  }
  for (const accel::TraceEntry &t : g1.trace)
    if (t.index >= pre.code.size() - 1)
      result.goldenCycles.push_back(t.end - t.start);

  TileState got = harness.readback();
  std::optional<std::string> diff;
  if (!diff)
    diff = firstDiff("spad", g1.spad, got.spad, 2);
  if (!diff)
    diff = firstDiff("scale", g1.scale, got.scale, 2);
  if (!diff)
    diff = firstDiff("meta", g1.meta, got.meta, 2);
  if (!diff)
    diff = firstDiff("acc", g1.acc, got.acc, 8);
  if (!diff)
    diff = firstDiff("dram", dramPost, rtlDram, 2);
  if (!diff && q == Queue::Store) {
    if (got.amax != g1.amax)
      diff = "AMAX: expected " + hex(g1.amax, 8) + ", got " + hex(got.amax.value_or(0), 8);
    else if (got.flags != g1.flags)
      diff = "FLAGS: expected " + hex(g1.flags, 8) + ", got " + hex(got.flags.value_or(0), 8);
    else if (got.lfsr != g1.lfsr)
      diff = "LFSR: expected " + hex(g1.lfsr, 4) + ", got " + hex(got.lfsr.value_or(0), 4);
  }
  if (diff) {
    result.match = false;
    result.mismatch = *diff + " after '" + test + "'";
  }
  return result;
}

} // namespace tessera::runtime
