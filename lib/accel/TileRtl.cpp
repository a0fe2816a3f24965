//===- TileRtl.cpp - tile memories, unit wiring and the unit test harness ------===//
//
// See TileRtl.h. The byte-addressed memories (SPAD, SCALE, META) are built as `line` byte
// lanes so that one port reads or writes `line` consecutive bytes from any byte address:
// byte address a lives in lane a mod line, word a / line. A line access at address A reads
// lane k at word A / line + (k < A mod line) and rotates the lanes by A mod line.
//
//===----------------------------------------------------------------------===//
#include "accel/TileRtl.h"

#include <algorithm>
#include <map>

namespace tessera::accel::rtl {

using hw::ModuleBuilder;
using hw::OpKind;
using hw::ValueId;

namespace {

unsigned ceilPow2(uint64_t v) {
  unsigned p = 1;
  while (p < v)
    p <<= 1;
  return p;
}

} // namespace

unsigned GenParams::line(std::string_view memory) const {
  if (memory == "spad")
    return spadLine;
  if (memory == "scale")
    return scaleLine;
  return metaLine;
}

GenParams GenParams::forConfig(const TileConfig &cfg) {
  GenParams gp;
  unsigned maxRate = 1, maxBits = 8;
  for (const TensorFormatCfg &f : cfg.formats) {
    maxRate = std::max(maxRate, f.rate);
    maxBits = std::max(maxBits, elemFormatInfo(f.format).bits);
  }
  gp.dotPairs = cfg.dotWidth * maxRate;
  unsigned sparse = 1;
  for (NmPattern p : cfg.patterns)
    sparse = std::max(sparse, p.m / p.n);
  // A line must hold one step of a row (dotPairs * sparse elements, plus a partial byte at
  // each end for packed formats), one K position across all rows or columns (transposed
  // operands), and one DMA beat.
  uint64_t rowBits = uint64_t(gp.dotPairs) * sparse * maxBits;
  uint64_t colBits = uint64_t(std::max(cfg.rows, cfg.cols)) * maxBits;
  uint64_t need = (std::max(rowBits, colBits) + 7) / 8 + 1;
  gp.busBytes = std::min(64u, ceilPow2(std::max(4u, cfg.dmaBytesPerCycle)));
  if (gp.busBytes > cfg.dmaBytesPerCycle && cfg.dmaBytesPerCycle >= 4)
    gp.busBytes = std::max(4u, gp.busBytes / 2);
  gp.spadLine = std::max<unsigned>(ceilPow2(need), gp.busBytes);
  // Scales: one byte per row or column per step; metadata: one step of indices (2..3 bits
  // per value); both also take whole DMA beats.
  gp.scaleLine = std::max(4u, gp.busBytes);
  uint64_t metaBits = uint64_t(gp.dotPairs) * 3;
  gp.metaLine = std::max<unsigned>(ceilPow2((metaBits + 7) / 8 + 1), gp.busBytes);
  return gp;
}

//===----------------------------------------------------------------------===//
// Memories
//===----------------------------------------------------------------------===//

namespace {

/// One byte-lane memory (SPAD, SCALE or META).
struct LineMem {
  std::string name;
  unsigned line = 4, lineLog = 2;
  uint32_t bytes = 0;
  unsigned wordBits = 1; ///< word-address width
  std::vector<uint32_t> lanes;

  void build(ModuleBuilder &b, std::string n, uint32_t nbytes, unsigned l) {
    name = std::move(n);
    line = l;
    lineLog = ceilLog2(l);
    bytes = nbytes;
    uint32_t depth = ceilPow2((uint64_t(nbytes) + l - 1) / l);
    for (unsigned k = 0; k < l; ++k)
      lanes.push_back(b.memory(name + "_lane" + std::to_string(k), 8, depth));
    wordBits = b.module().memories[lanes[0]].addrWidth();
  }

  /// Word address of lane k for a line access at `addr` (32 bits).
  ValueId laneWord(ModuleBuilder &b, ValueId addr, unsigned k) {
    ValueId word = b.extract(addr, lineLog, wordBits);
    if (line == 1)
      return word;
    ValueId off = b.extract(addr, 0, lineLog);
    ValueId carry = b.binary(OpKind::LtU, b.constant(lineLog, k), off);
    return b.add(word, b.zext(carry, wordBits));
  }

  /// Rotates a line of `line` elements of `w` bits right (towards element 0) by `off`.
  ValueId rotateRight(ModuleBuilder &b, ValueId v, ValueId off, unsigned w) {
    if (line == 1)
      return v;
    uint32_t width = line * w;
    ValueId twice = b.concat({v, v});
    ValueId amount = b.mul(b.zext(off, 16), b.constant(16, w));
    ValueId shifted = b.binary(OpKind::ShrU, twice, b.zext(amount, 32));
    return b.extract(shifted, 0, width);
  }
  ValueId rotateLeft(ModuleBuilder &b, ValueId v, ValueId off, unsigned w) {
    if (line == 1)
      return v;
    uint32_t width = line * w;
    ValueId twice = b.concat({v, v});
    ValueId amount = b.mul(b.zext(off, 16), b.constant(16, w));
    ValueId shifted = b.binary(OpKind::Shl, twice, b.zext(amount, 32));
    return b.extract(shifted, width, width);
  }

  ValueId readLine(ModuleBuilder &b, ValueId clk, ValueId addr, ValueId en) {
    std::vector<ValueId> parts;
    for (unsigned k = 0; k < line; ++k)
      parts.push_back(b.memReadSync(lanes[k], clk, laneWord(b, addr, k), en));
    std::reverse(parts.begin(), parts.end()); // lane 0 in the low byte
    ValueId data = b.concat(parts);
    if (line == 1)
      return data;
    hw::RegOptions ro;
    ro.enable = en;
    ValueId off = b.reg(clk, b.extract(addr, 0, lineLog), name + "_rdoff", ro);
    return rotateRight(b, data, off, 8);
  }

  void writeLine(ModuleBuilder &b, ValueId clk, ValueId addr, ValueId data, ValueId mask,
                 ValueId en) {
    ValueId off = line == 1 ? kNoValueConst() : b.extract(addr, 0, lineLog);
    ValueId rd = line == 1 ? data : rotateLeft(b, data, off, 8);
    ValueId rm = line == 1 ? mask : rotateLeft(b, mask, off, 1);
    for (unsigned k = 0; k < line; ++k) {
      ValueId we = b.bitAnd(en, b.extract(rm, k, 1));
      b.memWrite(lanes[k], clk, laneWord(b, addr, k), b.extract(rd, 8 * k, 8), we);
    }
  }
  static ValueId kNoValueConst() { return hw::kNoValue; }

  /// Write requests of the units and the debug port; finish() merges them into one
  /// write port per lane (block-RAM friendly: one write port, any number of read ports).
  struct WriteReq {
    ValueId addr, data, mask, en;
  };
  std::vector<WriteReq> writes;

  void finish(ModuleBuilder &b, ValueId clk) {
    if (writes.empty())
      return;
    WriteReq w = writes.back();
    for (size_t i = writes.size() - 1; i-- > 0;) {
      const WriteReq &r = writes[i]; // earlier requests take priority
      w.addr = b.mux(r.en, r.addr, w.addr);
      w.data = b.mux(r.en, r.data, w.data);
      w.mask = b.mux(r.en, r.mask, w.mask);
      w.en = b.bitOr(r.en, w.en);
    }
    writeLine(b, clk, w.addr, w.data, w.mask, w.en);
  }
};

} // namespace

struct TileMemories::Impl {
  ModuleBuilder &b;
  ValueId clk;
  TileConfig cfg;
  GenParams gp;
  std::map<std::string, LineMem> lines; // spad, scale, meta
  uint32_t acc = 0;
  unsigned accAddrBits = 1;

  Impl(ModuleBuilder &bb, ValueId c, const TileConfig &tc, const GenParams &g)
      : b(bb), clk(c), cfg(tc), gp(g) {}
};

TileMemories::TileMemories(ModuleBuilder &b, ValueId clk, const TileConfig &cfg,
                           const GenParams &gp)
    : impl_(std::make_shared<Impl>(b, clk, cfg, gp)) {
  Impl &m = *impl_;
  m.lines["spad"].build(b, "spad", cfg.spadBytes, gp.spadLine);
  m.lines["scale"].build(b, "scale", cfg.scaleBytes, gp.scaleLine);
  m.lines["meta"].build(b, "meta", cfg.metaBytes, gp.metaLine);
  m.acc = b.memory("acc", 32, ceilPow2(std::max(1u, cfg.accWords())));
  m.accAddrBits = b.module().memories[m.acc].addrWidth();
}

Status TileMemories::wireUnit(const hw::Module &unit, uint32_t inst) {
  Impl &m = *impl_;
  ModuleBuilder &b = m.b;
  auto outPort = [&](const std::string &name, uint32_t width) -> Expected<ValueId> {
    int p = unit.findPort(name);
    if (p < 0 || unit.ports[p].dir != hw::PortDir::Out || unit.ports[p].width != width)
      return Diagnostic::error("bad-unit-port", "unit '" + unit.name() +
                                                    "': missing or malformed output port '" +
                                                    name + "' (" + std::to_string(width) +
                                                    " bits)");
    return b.instOutput(inst, name);
  };
  for (const hw::Port &port : unit.ports) {
    const std::string &n = port.name;
    if (port.dir != hw::PortDir::Out)
      continue;
    // <mem>_rd<p>_addr / <mem>_wr<p>_addr identify a port bundle.
    size_t us = n.find('_');
    if (us == std::string::npos || n.size() < 5 || n.substr(n.size() - 5) != "_addr")
      continue;
    std::string mem = n.substr(0, us);
    std::string rest = n.substr(us + 1, n.size() - 5 - us - 1); // rd<p> or wr<p>
    if (rest.size() < 3 || (rest.compare(0, 2, "rd") != 0 && rest.compare(0, 2, "wr") != 0))
      continue;
    bool isRead = rest.compare(0, 2, "rd") == 0;
    std::string base = mem + "_" + rest;
    TRY_ASSIGN(ValueId addr, outPort(base + "_addr", 32));
    TRY_ASSIGN(ValueId en, outPort(base + "_en", 1));
    if (mem == "acc") {
      ValueId word = b.extract(addr, 0, m.accAddrBits);
      if (isRead) {
        b.connect(inst, base + "_data", b.memReadSync(m.acc, m.clk, word, en));
      } else {
        TRY_ASSIGN(ValueId data, outPort(base + "_data", 32));
        b.memWrite(m.acc, m.clk, word, data, en);
      }
      continue;
    }
    auto it = m.lines.find(mem);
    if (it == m.lines.end())
      return Diagnostic::error("bad-unit-port", "unit '" + unit.name() + "': port '" + n +
                                                    "' names no memory of the tile");
    LineMem &lm = it->second;
    if (isRead) {
      b.connect(inst, base + "_data", lm.readLine(b, m.clk, addr, en));
    } else {
      TRY_ASSIGN(ValueId data, outPort(base + "_data", 8 * lm.line));
      TRY_ASSIGN(ValueId mask, outPort(base + "_mask", lm.line));
      lm.writes.push_back({addr, data, mask, en});
    }
  }
  return Status::success();
}

void TileMemories::addDebugPorts() {
  Impl &m = *impl_;
  ModuleBuilder &b = m.b;
  for (const char *name : {"spad", "scale", "meta", "acc"}) {
    std::string n = name;
    bool acc = n == "acc";
    unsigned w = acc ? 32 : 8 * m.lines[n].line;
    ValueId we = b.input("dbg_" + n + "_wr_en", 1);
    ValueId wa = b.input("dbg_" + n + "_wr_addr", 32);
    ValueId wd = b.input("dbg_" + n + "_wr_data", w);
    ValueId ra = b.input("dbg_" + n + "_addr", 32);
    if (acc) {
      b.memWrite(m.acc, m.clk, b.extract(wa, 0, m.accAddrBits), wd, we);
      b.output("dbg_acc_data", 32,
               b.memReadSync(m.acc, m.clk, b.extract(ra, 0, m.accAddrBits)));
    } else {
      LineMem &lm = m.lines[n];
      ValueId wm = b.input("dbg_" + n + "_wr_mask", lm.line);
      lm.writes.push_back({wa, wd, wm, we});
      b.output("dbg_" + n + "_data", w, lm.readLine(b, m.clk, ra, b.constant(1, 1)));
    }
  }
}

void TileMemories::finish() {
  Impl &m = *impl_;
  for (auto &[name, lm] : m.lines)
    lm.finish(m.b, m.clk);
}

//===----------------------------------------------------------------------===//
// Unit harness
//===----------------------------------------------------------------------===//

namespace {

/// Connects every input port of `unit` that is not a memory data port and not clk/rst to
/// a top-level input of the same name (AXI responses, the instruction port).
void passThroughInputs(ModuleBuilder &b, const hw::Module &unit, uint32_t inst,
                       const std::vector<std::string> &skip) {
  for (const hw::Port &p : unit.ports) {
    if (p.dir != hw::PortDir::In)
      continue;
    if (std::find(skip.begin(), skip.end(), p.name) != skip.end())
      continue;
    if (p.name.size() > 5 && p.name.substr(p.name.size() - 5) == "_data" &&
        p.name.find("_rd") != std::string::npos)
      continue; // memory read data, wired by TileMemories
    b.connect(inst, p.name, b.input(p.name, p.width));
  }
}

} // namespace

Expected<hw::Design> buildUnitHarness(const TileConfig &cfg, const GenParams &gp,
                                      UnitKind kind) {
  hw::Design design;
  hw::Module *unit = nullptr;
  switch (kind) {
  case UnitKind::Load: {
    TRY_ASSIGN(unit, buildLoadUnit(design, cfg, gp));
    break;
  }
  case UnitKind::Store: {
    TRY_ASSIGN(unit, buildStoreUnit(design, cfg, gp));
    break;
  }
  case UnitKind::Tensor: {
    TRY_ASSIGN(unit, buildTensorUnit(design, cfg, gp));
    break;
  }
  case UnitKind::Vector: {
    TRY_ASSIGN(unit, buildVectorUnit(design, cfg, gp));
    break;
  }
  }
  hw::Module &top = design.addModule("tessera_unit_harness");
  design.topName = top.name();
  ModuleBuilder b(top);
  b.setLoc(SourceLoc{"<tessera-generate>", 0, 0});
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  uint32_t inst = b.instance(*unit, "u");
  b.connect(inst, "clk", clk);
  b.connect(inst, "rst", rst);
  TileMemories mems(b, clk, cfg, gp);
  TRY(mems.wireUnit(*unit, inst));
  mems.addDebugPorts();
  mems.finish();
  passThroughInputs(b, *unit, inst, {"clk", "rst"});
  // Every output that is not a memory-port bundle becomes a top-level output.
  for (const hw::Port &p : unit->ports) {
    if (p.dir != hw::PortDir::Out)
      continue;
    bool memPort = false;
    for (const char *mem : {"spad_", "scale_", "meta_", "acc_"})
      if (p.name.rfind(mem, 0) == 0 &&
          (p.name.find("_rd") != std::string::npos || p.name.find("_wr") != std::string::npos))
        memPort = true;
    if (!memPort)
      b.output(p.name, p.width, b.instOutput(inst, p.name));
  }
  return design;
}

//===----------------------------------------------------------------------===//
// The tile
//===----------------------------------------------------------------------===//

Expected<hw::Design> buildTile(const TileConfig &cfg, const GenParams &gp) {
  hw::Design design;
  TRY_ASSIGN(hw::Module * ctrl, buildController(design, cfg, gp));
  TRY_ASSIGN(hw::Module * ldu, buildLoadUnit(design, cfg, gp));
  TRY_ASSIGN(hw::Module * tu, buildTensorUnit(design, cfg, gp));
  TRY_ASSIGN(hw::Module * vu, buildVectorUnit(design, cfg, gp));
  TRY_ASSIGN(hw::Module * stu, buildStoreUnit(design, cfg, gp));
  hw::Module &top = design.addModule("tessera_tile");
  design.topName = top.name();
  ModuleBuilder b(top);
  b.setLoc(SourceLoc{"<tessera-generate>", 0, 0});
  ValueId clk = b.input("clk", 1);
  ValueId rst = b.input("rst", 1);
  uint32_t ci = b.instance(*ctrl, "u_ctrl");
  b.connect(ci, "clk", clk);
  b.connect(ci, "rst", rst);
  for (const char *n : {"go", "prog_len", "imem_we", "imem_addr", "imem_wdata"}) {
    int p = ctrl->findPort(n);
    b.connect(ci, n, b.input(n, ctrl->ports[p].width));
  }
  TileMemories mems(b, clk, cfg, gp);
  struct U {
    const char *name;
    hw::Module *mod;
  } units[] = {{"ldu", ldu}, {"tu", tu}, {"vu", vu}, {"stu", stu}};
  for (const U &u : units) {
    std::string n = u.name;
    uint32_t inst = b.instance(*u.mod, "u_" + n);
    b.connect(inst, "clk", clk);
    b.connect(inst, "rst", rst);
    b.connect(inst, "start", b.instOutput(ci, n + "_start"));
    b.connect(inst, "insn", b.instOutput(ci, n + "_insn"));
    b.connect(inst, "regs", b.instOutput(ci, n + "_regs"));
    b.connect(inst, "fregs", b.instOutput(ci, n + "_fregs"));
    for (const char *o : {"ready", "done", "fault", "fault_addr"})
      b.connect(ci, n + "_" + o, b.instOutput(inst, o));
    TRY(mems.wireUnit(*u.mod, inst));
    // The DMA port and the store state pass through to the top.
    for (const hw::Port &p : u.mod->ports) {
      bool axi = p.name.rfind("m_", 0) == 0;
      bool state = n == "stu" && (p.name == "amax" || p.name == "flags" || p.name == "lfsr");
      if (p.dir == hw::PortDir::In && axi)
        b.connect(inst, p.name, b.input(p.name, p.width));
      else if (p.dir == hw::PortDir::Out && (axi || state))
        b.output(p.name, p.width, b.instOutput(inst, p.name));
    }
  }
  for (const char *o : {"done", "busy", "fault", "fault_code", "fault_addr", "fault_pc", "pc",
                        "trace_start", "trace_done", "trace_pc_load", "trace_pc_compute",
                        "trace_pc_store"}) {
    int p = ctrl->findPort(o);
    b.output(o, ctrl->ports[p].width, b.instOutput(ci, o));
  }
  mems.addDebugPorts();
  mems.finish();
  return design;
}

} // namespace tessera::accel::rtl
