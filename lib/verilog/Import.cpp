//===- Import.cpp - Verilog to hw IR through Yosys' JSON netlist -----------===//
//
// Yosys does the Verilog front end (`read_verilog -sv`, `hierarchy`, `proc`, optionally
// `flatten`, `opt`, `memory_collect`); its JSON netlist (`write_json`) is bit-level in its
// connections but word-level in its cells. The conversion:
//
//   * every cell output becomes one hw value; a cell input's bit list is cut into runs
//     of consecutive bits of one value (extract) or of constants, joined by concat;
//     identical bit lists share one value;
//   * operand extension follows the Yosys cell library (simlib.v) exactly: operands are
//     sign-extended only when the cell's *_SIGNED parameters say so, arithmetic is done
//     at the width Verilog would use (division and right shifts at the widest of the
//     operand and result widths, so that truncation happens after the operation);
//   * x and z bits become 0 (hw IR is two-state);
//   * flip-flops become registers (negative polarity of enables and resets becomes a
//     `not`; negative clock edges are rejected), with power-on values from the `init`
//     attributes of their output wires;
//   * $mem_v2 cells become memories; `memory_dff` is not run, so a synchronous Verilog
//     read stays an asynchronous read followed by a register (read-before-write, exactly
//     the hw semantics, with no transparency logic to reproduce);
//   * user-module cells become instances (count 1) unless `flatten` ran.
//
// Combinational cells are converted on demand in dependence order (iterative depth-first
// search, so deep netlists do not exhaust the stack); a loop is reported as `comb-cycle`.
// Cells outside the supported set are reported as `unsupported-cell` with the cell's
// type, name and Verilog location (from its `src` attribute).
//
//===----------------------------------------------------------------------===//
#include "verilog/Verilog.h"

#include "support/FileIO.h"
#include "support/Json.h"
#include "support/Process.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

namespace tessera::verilog {

using hw::BitVec;
using hw::kNoValue;
using hw::ModuleBuilder;
using hw::Op;
using hw::OpKind;
using hw::ValueId;
using nlohmann::json;

namespace {

//===----------------------------------------------------------------------===//
// JSON helpers
//===----------------------------------------------------------------------===//

/// A netlist bit: a net id (>= 2, as Yosys numbers them) or a constant 0 / 1. x and z are
/// read as 0.
using NetBit = int64_t;
constexpr NetBit kBit0 = 0, kBit1 = 1;

/// obj[key], or null when obj is not an object or has no such key (operator[] on a const
/// json must not be used with a missing key).
const json &member(const json &obj, const std::string &key) {
  static const json kNull;
  if (!obj.is_object())
    return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}
const json &param(const json &cell, const char *name) {
  return member(member(cell, "parameters"), name);
}

std::vector<NetBit> readBits(const json &arr) {
  std::vector<NetBit> bits;
  if (!arr.is_array())
    return bits;
  bits.reserve(arr.size());
  for (const json &b : arr) {
    if (b.is_number_integer())
      bits.push_back(b.get<int64_t>());
    else if (b.is_string())
      bits.push_back(b.get<std::string>() == "1" ? kBit1 : kBit0);
    else
      bits.push_back(kBit0);
  }
  return bits;
}

/// A parameter's bits, least significant first: Yosys writes binary strings (most
/// significant first, possibly with x/z) or, for some values, JSON numbers.
std::vector<bool> paramBits(const json &v) {
  std::vector<bool> bits;
  if (v.is_string()) {
    const std::string &s = v.get_ref<const std::string &>();
    for (auto it = s.rbegin(); it != s.rend(); ++it)
      bits.push_back(*it == '1');
  } else if (v.is_number_integer()) {
    int64_t x = v.get<int64_t>();
    for (int i = 0; i < 64; ++i)
      bits.push_back((x >> i) & 1);
  }
  return bits;
}

/// Whether a parameter string is fully x (no defined bit).
bool paramAllUndefined(const json &v) {
  if (!v.is_string())
    return false;
  const std::string &s = v.get_ref<const std::string &>();
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 'x' || c == 'z'; });
}

BitVec bitsToBitVec(const std::vector<bool> &bits, uint32_t lo, uint32_t width) {
  BitVec v(width, 0);
  for (uint32_t i = 0; i < width; ++i)
    if (lo + i < bits.size() && bits[lo + i])
      v.setBit(i, true);
  return v;
}

uint64_t paramInt(const json &cell, const char *name, uint64_t dflt = 0) {
  auto ps = cell.find("parameters");
  if (ps == cell.end() || !ps->is_object())
    return dflt;
  auto p = ps->find(name);
  if (p == ps->end())
    return dflt;
  std::vector<bool> bits = paramBits(*p);
  uint64_t x = 0;
  for (size_t i = 0; i < bits.size() && i < 64; ++i)
    if (bits[i])
      x |= uint64_t(1) << i;
  return x;
}

std::string attrString(const json &obj, const char *name) {
  auto as = obj.find("attributes");
  if (as == obj.end() || !as->is_object())
    return "";
  auto a = as->find(name);
  return a != as->end() && a->is_string() ? a->get<std::string>() : "";
}

/// "file.v:12.3-14.8" (several joined with '|': the first) -> file.v:12:3.
SourceLoc parseSrc(const std::string &src) {
  SourceLoc loc;
  std::string s = src.substr(0, src.find('|'));
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return loc;
  std::string pos = s.substr(colon + 1);
  char *end = nullptr;
  unsigned long line = std::strtoul(pos.c_str(), &end, 10);
  if (end == pos.c_str())
    return loc;
  loc.file = s.substr(0, colon);
  loc.line = static_cast<uint32_t>(line);
  if (*end == '.')
    loc.col = static_cast<uint32_t>(std::strtoul(end + 1, nullptr, 10));
  return loc;
}

/// Yosys names: public ones start with '\' in RTLIL but not in JSON; `$paramod\mod\P=...`
/// names of parameterized modules become `mod__P_value`.
std::string moduleNameFromYosys(const std::string &y) {
  const std::string pm = "$paramod\\";
  if (y.rfind(pm, 0) != 0)
    return y[0] == '\\' ? y.substr(1) : y;
  std::vector<std::string> parts;
  size_t pos = pm.size();
  while (pos <= y.size()) {
    size_t next = y.find('\\', pos);
    if (next == std::string::npos)
      next = y.size();
    parts.push_back(y.substr(pos, next - pos));
    pos = next + 1;
  }
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string &p = parts[i];
    size_t eq = p.find('=');
    if (eq == std::string::npos) {
      out += "__" + p;
      continue;
    }
    std::string value = p.substr(eq + 1);
    // s32'0000...1000 / 32'0101: a (signed) binary constant -> decimal when it fits.
    size_t tick = value.find('\'');
    if (tick != std::string::npos) {
      std::string digits = value.substr(tick + 1);
      bool isSigned = !value.empty() && value[0] == 's';
      if (!digits.empty() && digits.size() <= 63 &&
          digits.find_first_not_of("01") == std::string::npos) {
        int64_t x = static_cast<int64_t>(std::stoull(digits, nullptr, 2));
        if (isSigned && digits[0] == '1')
          x -= int64_t(1) << digits.size();
        value = x < 0 ? "m" + std::to_string(-x) : std::to_string(x);
      }
    }
    out += "__" + p.substr(0, eq) + "_" + value;
  }
  return out;
}

std::string netName(const std::string &y) { return y[0] == '\\' ? y.substr(1) : y; }

Diagnostic unsupported(const std::string &type, const std::string &cell, const std::string &why,
                       const SourceLoc &loc) {
  return Diagnostic::error(
      "unsupported-cell",
      "unsupported cell type '" + type + "' (cell '" + netName(cell) + "'): " + why, loc);
}

struct BitsHash {
  size_t operator()(const std::vector<NetBit> &v) const {
    size_t h = v.size();
    for (NetBit b : v)
      h = h * 1000003u ^ static_cast<size_t>(b);
    return h;
  }
};

//===----------------------------------------------------------------------===//
// One module
//===----------------------------------------------------------------------===//

const std::set<std::string> &combinationalCells() {
  static const std::set<std::string> s = {
      "$not",       "$pos",        "$neg",       "$and",        "$or",          "$xor",
      "$xnor",      "$add",        "$sub",       "$mul",        "$div",         "$mod",
      "$divfloor",  "$modfloor",   "$shl",       "$shr",        "$sshl",        "$sshr",
      "$shift",     "$shiftx",     "$lt",        "$le",         "$gt",          "$ge",
      "$eq",        "$ne",         "$eqx",       "$nex",        "$logic_and",   "$logic_or",
      "$logic_not", "$reduce_and", "$reduce_or", "$reduce_xor", "$reduce_xnor", "$reduce_bool",
      "$mux",       "$pmux",       "$bmux",      "$demux",      "$bwmux",       "$bweqx",
      "$slice",     "$concat"};
  return s;
}
const std::set<std::string> &flipFlopCells() {
  static const std::set<std::string> s = {"$dff",  "$dffe",  "$adff",  "$adffe",
                                          "$sdff", "$sdffe", "$sdffce"};
  return s;
}
/// Formal-verification cells: they drive nothing, so they are dropped.
const std::set<std::string> &ignoredCells() {
  static const std::set<std::string> s = {"$assert", "$assume", "$cover", "$live", "$fair"};
  return s;
}

std::string whyUnsupported(const std::string &type) {
  if (type.empty() || type[0] != '$' || type.rfind("$paramod", 0) == 0)
    return "instance of a blackbox or unknown module";
  if (type.find("latch") != std::string::npos)
    return "latches are not supported (hw IR has only edge-triggered registers)";
  if (type == "$dffsr" || type == "$dffsre" || type == "$sr")
    return "set/reset flip-flops are not supported";
  if (type == "$aldff" || type == "$aldffe")
    return "flip-flops with an asynchronous load are not supported";
  if (type.rfind("$_", 0) == 0)
    return "gate-level cells are not supported (import RTL, not a mapped netlist)";
  if (type == "$mem" || type == "$memrd" || type == "$memwr" || type == "$meminit" ||
      type.rfind("$mem", 0) == 0)
    return "only collected memories ($mem_v2) are supported";
  if (type.rfind("$spec", 0) == 0)
    return "specify blocks are not supported";
  if (type == "$tribuf")
    return "tri-state buffers are not supported (hw IR is two-state)";
  return "no hw IR equivalent";
}

struct CellInfo {
  std::string name;
  std::string type;
  const json *j = nullptr;
  SourceLoc loc;
};

class ModuleImporter {
public:
  ModuleImporter(const json &jm, const std::vector<std::string> &portOrder, hw::Module &m,
                 hw::Design &d, const std::map<std::string, std::string> &moduleNames)
      : jm_(jm), portOrder_(portOrder), m_(m), d_(d), b_(m), moduleNames_(moduleNames) {}

  Status run();

private:
  enum class Kind : uint8_t { Ready, Comb, MemRead };
  /// Something that defines a value: a port, a register, an instance output (Ready, the
  /// value exists from the start), a combinational cell or an asynchronous memory read
  /// port (built on demand).
  struct Producer {
    Kind kind = Kind::Ready;
    uint32_t cell = 0;
    uint32_t port = 0; ///< MemRead: read port index
    ValueId value = kNoValue;
    uint8_t state = 0; ///< 0 new, 1 on the DFS stack, 2 built
  };
  struct Driver {
    uint32_t producer;
    uint32_t bit;
  };

  const json &conns(const CellInfo &c) const { return member(*c.j, "connections"); }
  std::vector<NetBit> connBits(const CellInfo &c, const char *port) const {
    auto it = conns(c).find(port);
    return it == conns(c).end() ? std::vector<NetBit>{} : readBits(*it);
  }
  uint32_t addProducer(Producer p, const std::vector<NetBit> &bits);
  /// A cell of a user module (plain or `$paramod...` name) imported before this one.
  bool isInstance(const CellInfo &c) const { return moduleNames_.count(c.type) != 0; }

  Status indexCells();
  Status declareState(uint32_t ci);
  Expected<ValueId> value(const std::vector<NetBit> &bits);
  Status produce(uint32_t p);
  std::vector<NetBit> producerInputs(const Producer &p) const;
  Status build(uint32_t p);
  Expected<ValueId> buildComb(const CellInfo &c);
  Expected<ValueId> cellInput(const CellInfo &c, const char *port, uint32_t width, bool isSigned);
  Status connectState();
  Status connectFlipFlop(const CellInfo &c, ValueId reg);
  Status connectMemory(const CellInfo &c, uint32_t mem);
  void nameValues();

  // Width helpers.
  /// `v` sign- or zero-extended or truncated to `width`, shared per (v, width, signed).
  ValueId ext(ValueId v, uint32_t width, bool isSigned) {
    uint32_t w = m_.width(v);
    if (w == width)
      return v;
    auto key = std::make_tuple(v, width, w > width ? false : isSigned);
    if (auto it = exts_.find(key); it != exts_.end())
      return it->second;
    ValueId r =
        w > width ? b_.extract(v, 0, width) : (isSigned ? b_.sext(v, width) : b_.zext(v, width));
    exts_[key] = r;
    return r;
  }
  ValueId toBool(ValueId v) { return m_.width(v) == 1 ? v : b_.unary(OpKind::RedOr, v); }
  ValueId constant(uint32_t w, uint64_t x) { return constant(BitVec(w, x)); }
  /// One const op per distinct constant.
  ValueId constant(const BitVec &v) {
    auto it = consts_.find(v);
    if (it != consts_.end())
      return it->second;
    ValueId c = b_.constant(v);
    consts_[v] = c;
    return c;
  }
  ValueId memAddr(const CellInfo &c, ValueId addr);

  const json &jm_;
  const std::vector<std::string> &portOrder_;
  hw::Module &m_;
  hw::Design &d_;
  ModuleBuilder b_;
  const std::map<std::string, std::string> &moduleNames_;

  std::vector<CellInfo> cells_;
  std::vector<Producer> producers_;
  std::unordered_map<NetBit, Driver> drivers_;
  std::unordered_map<std::vector<NetBit>, ValueId, BitsHash> memo_;
  std::map<std::tuple<ValueId, uint32_t, uint32_t>, ValueId> extracts_;
  std::map<std::tuple<ValueId, uint32_t, bool>, ValueId> exts_;
  std::map<BitVec, ValueId> consts_;
  std::unordered_map<NetBit, bool> init_; ///< from `init` attributes
  /// Per cell: the register (flip-flops), memory index ($mem_v2) or instance index.
  std::vector<uint32_t> cellState_;
  /// Per $mem_v2 cell and read port: the MemRead op of a synchronous read port.
  std::map<std::pair<uint32_t, uint32_t>, ValueId> syncReads_;
  /// Per instance cell: its InstOut values by callee port.
  std::map<uint32_t, std::map<uint32_t, ValueId>> instOuts_;
};

uint32_t ModuleImporter::addProducer(Producer p, const std::vector<NetBit> &bits) {
  uint32_t id = static_cast<uint32_t>(producers_.size());
  producers_.push_back(p);
  for (uint32_t i = 0; i < bits.size(); ++i)
    if (bits[i] > kBit1)
      drivers_[bits[i]] = Driver{id, i};
  return id;
}

Status ModuleImporter::indexCells() {
  const json &cells = member(jm_, "cells");
  if (!cells.is_object())
    return Status::success();
  for (auto it = cells.begin(); it != cells.end(); ++it) {
    CellInfo c;
    c.name = it.key();
    c.j = &it.value();
    c.type = it.value().value("type", "");
    c.loc = parseSrc(attrString(it.value(), "src"));
    if (ignoredCells().count(c.type))
      continue;
    cells_.push_back(std::move(c));
  }
  cellState_.assign(cells_.size(), UINT32_MAX);
  for (uint32_t ci = 0; ci < cells_.size(); ++ci)
    TRY(declareState(ci));
  return Status::success();
}

Status ModuleImporter::declareState(uint32_t ci) {
  const CellInfo &c = cells_[ci];
  b_.setLoc(c.loc);
  const std::string &t = c.type;
  if (combinationalCells().count(t)) {
    Producer p;
    p.kind = Kind::Comb;
    p.cell = ci;
    std::vector<NetBit> y = connBits(c, "Y");
    if (y.empty())
      return Status::success(); // a zero-width result drives nothing
    addProducer(p, y);
    return Status::success();
  }
  if (flipFlopCells().count(t)) {
    if (paramInt(*c.j, "CLK_POLARITY", 1) == 0)
      return unsupported(t, c.name,
                         "negative-edge flip-flops are not supported (hw registers are "
                         "rising-edge)",
                         c.loc);
    std::vector<NetBit> q = connBits(c, "Q");
    uint32_t w = static_cast<uint32_t>(q.size());
    if (w == 0)
      return Status::success();
    Op op;
    op.kind = OpKind::Reg;
    op.width = w;
    bool arst = t == "$adff" || t == "$adffe";
    bool srst = t == "$sdff" || t == "$sdffe" || t == "$sdffce";
    bool en = t == "$dffe" || t == "$adffe" || t == "$sdffe" || t == "$sdffce";
    op.operands = {kNoValue, kNoValue};
    if (arst || srst) {
      op.flags |= hw::kRegHasReset;
      if (arst)
        op.flags |= hw::kRegAsyncReset;
      op.operands.push_back(kNoValue);
      std::vector<bool> rv = paramBits(param(*c.j, arst ? "ARST_VALUE" : "SRST_VALUE"));
      op.value = bitsToBitVec(rv, 0, w);
    } else {
      op.value = BitVec::zeros(w);
    }
    if (en) {
      op.flags |= hw::kRegHasEnable;
      op.operands.push_back(kNoValue);
    }
    op.init = BitVec::zeros(w);
    for (uint32_t i = 0; i < w; ++i)
      if (auto it = init_.find(q[i]); it != init_.end() && it->second)
        op.init.setBit(i, true);
    op.loc = c.loc;
    m_.ops.push_back(std::move(op));
    ValueId reg = static_cast<ValueId>(m_.ops.size() - 1);
    cellState_[ci] = reg;
    Producer p;
    p.value = reg;
    addProducer(p, q);
    return Status::success();
  }
  if (t == "$mem_v2") {
    const json &j = *c.j;
    uint32_t width = static_cast<uint32_t>(paramInt(j, "WIDTH"));
    uint64_t size = paramInt(j, "SIZE");
    if (width == 0 || size == 0 || size > (uint64_t(1) << 31))
      return unsupported(
          t, c.name,
          "memory of width " + std::to_string(width) + " and size " + std::to_string(size), c.loc);
    std::vector<BitVec> init;
    const json &initParam = param(j, "INIT");
    if (!paramAllUndefined(initParam)) {
      std::vector<bool> bits = paramBits(initParam);
      for (uint64_t a = 0; a < size; ++a)
        init.push_back(bitsToBitVec(bits, static_cast<uint32_t>(a * width), width));
      if (std::all_of(init.begin(), init.end(), [](const BitVec &v) { return v.isZero(); }))
        init.clear();
    }
    const json &memid = param(j, "MEMID");
    std::string memName = memid.is_string() ? memid.get<std::string>() : c.name;
    uint32_t mem = b_.memory(netName(memName), width, static_cast<uint32_t>(size), init);
    cellState_[ci] = mem;
    uint32_t rdPorts = static_cast<uint32_t>(paramInt(j, "RD_PORTS"));
    uint32_t wrPorts = static_cast<uint32_t>(paramInt(j, "WR_PORTS"));
    std::vector<bool> clkEn = paramBits(param(j, "RD_CLK_ENABLE"));
    std::vector<bool> clkPol = paramBits(param(j, "RD_CLK_POLARITY"));
    std::vector<bool> transp = paramBits(param(j, "RD_TRANSPARENCY_MASK"));
    std::vector<bool> wide = paramBits(param(j, "RD_WIDE_CONTINUATION"));
    std::vector<bool> wideW = paramBits(param(j, "WR_WIDE_CONTINUATION"));
    if (std::find(wide.begin(), wide.end(), true) != wide.end() ||
        std::find(wideW.begin(), wideW.end(), true) != wideW.end())
      return unsupported(t, c.name, "wide memory ports are not supported", c.loc);
    std::vector<NetBit> data = connBits(c, "RD_DATA");
    std::vector<NetBit> srst = connBits(c, "RD_SRST"), arst = connBits(c, "RD_ARST");
    for (uint32_t r = 0; r < rdPorts; ++r) {
      std::vector<NetBit> d(data.begin() + std::min<size_t>(data.size(), r * width),
                            data.begin() + std::min<size_t>(data.size(), (r + 1) * width));
      bool sync = r < clkEn.size() && clkEn[r];
      if (!sync) {
        Producer p;
        p.kind = Kind::MemRead;
        p.cell = ci;
        p.port = r;
        addProducer(p, d);
        continue;
      }
      if (!(r < clkPol.size() && clkPol[r]))
        return unsupported(t, c.name, "negative-edge memory read ports are not supported", c.loc);
      for (uint32_t w = 0; w < wrPorts; ++w)
        if (r * wrPorts + w < transp.size() && transp[r * wrPorts + w])
          return unsupported(t, c.name, "transparent (write-through) read ports are not supported",
                             c.loc);
      if ((r < srst.size() && srst[r] != kBit0) || (r < arst.size() && arst[r] != kBit0))
        return unsupported(t, c.name, "memory read ports with a reset are not supported", c.loc);
      Op op;
      op.kind = OpKind::MemRead;
      op.width = width;
      op.attr0 = mem;
      op.flags = hw::kMemReadSync | hw::kMemReadHasEnable;
      op.operands = {kNoValue, kNoValue, kNoValue};
      op.loc = c.loc;
      m_.ops.push_back(std::move(op));
      ValueId v = static_cast<ValueId>(m_.ops.size() - 1);
      syncReads_[{ci, r}] = v;
      Producer p;
      p.value = v;
      addProducer(p, d);
    }
    return Status::success();
  }
  if (isInstance(c)) {
    const hw::Module *callee = d_.find(moduleNames_.at(t));
    if (!callee)
      return unsupported(t, c.name, "instance of a module that is not in the design", c.loc);
    hw::Instance inst;
    inst.name = netName(c.name);
    inst.module = callee->name();
    inst.count = 1;
    inst.inputs.assign(callee->ports.size(), kNoValue);
    inst.loc = c.loc;
    m_.instances.push_back(std::move(inst));
    uint32_t idx = static_cast<uint32_t>(m_.instances.size() - 1);
    cellState_[ci] = idx;
    for (uint32_t p = 0; p < callee->ports.size(); ++p) {
      if (callee->ports[p].dir != hw::PortDir::Out)
        continue;
      Op op;
      op.kind = OpKind::InstOut;
      op.width = callee->ports[p].width;
      op.attr0 = idx;
      op.attr1 = p;
      op.loc = c.loc;
      m_.ops.push_back(std::move(op));
      ValueId v = static_cast<ValueId>(m_.ops.size() - 1);
      instOuts_[ci][p] = v;
      std::vector<NetBit> bits = connBits(c, callee->ports[p].name.c_str());
      if (bits.size() > callee->ports[p].width)
        bits.resize(callee->ports[p].width);
      Producer pr;
      pr.value = v;
      addProducer(pr, bits);
    }
    return Status::success();
  }
  return unsupported(t, c.name, whyUnsupported(t), c.loc);
}

Expected<ValueId> ModuleImporter::value(const std::vector<NetBit> &bits) {
  assert(!bits.empty());
  if (auto it = memo_.find(bits); it != memo_.end())
    return it->second;
  // Runs, least significant first: constants, or consecutive bits of one producer whose
  // top bit may repeat (`rep` more times: Yosys' sign extension of a connection).
  struct Run {
    bool isConst;
    uint32_t producer, lo, width, rep;
    std::vector<bool> constBits;
  };
  std::vector<Run> runs;
  for (NetBit nb : bits) {
    auto d = nb > kBit1 ? drivers_.find(nb) : drivers_.end();
    if (d == drivers_.end()) {
      bool one = nb == kBit1; // undriven nets read as 0
      if (!runs.empty() && runs.back().isConst) {
        runs.back().constBits.push_back(one);
        ++runs.back().width;
      } else {
        runs.push_back(Run{true, 0, 0, 1, 0, {one}});
      }
      continue;
    }
    const Driver &dr = d->second;
    if (!runs.empty() && !runs.back().isConst && runs.back().producer == dr.producer) {
      Run &r = runs.back();
      if (r.rep == 0 && r.lo + r.width == dr.bit) {
        ++r.width;
        continue;
      }
      if (r.lo + r.width - 1 == dr.bit) {
        ++r.rep;
        continue;
      }
    }
    runs.push_back(Run{false, dr.producer, dr.bit, 1, 0, {}});
  }
  // {0, x} is a zero extension.
  bool zext =
      runs.size() == 2 && !runs[0].isConst && runs[1].isConst &&
      std::none_of(runs[1].constBits.begin(), runs[1].constBits.end(), [](bool b) { return b; });
  if (zext)
    runs.pop_back();
  std::vector<ValueId> parts; // most significant first
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    if (it->isConst) {
      parts.push_back(constant(bitsToBitVec(it->constBits, 0, it->width)));
      continue;
    }
    TRY(produce(it->producer));
    ValueId v = producers_[it->producer].value;
    auto key = std::make_tuple(v, it->lo, it->width);
    auto ex = extracts_.find(key);
    ValueId part = ex != extracts_.end() ? ex->second : b_.extract(v, it->lo, it->width);
    extracts_[key] = part;
    parts.push_back(it->rep ? ext(part, it->width + it->rep, true) : part);
  }
  ValueId v = zext ? ext(parts[0], static_cast<uint32_t>(bits.size()), false) : b_.concat(parts);
  memo_[bits] = v;
  return v;
}

std::vector<NetBit> ModuleImporter::producerInputs(const Producer &p) const {
  const CellInfo &c = cells_[p.cell];
  std::vector<NetBit> in;
  if (p.kind == Kind::MemRead) {
    uint32_t abits = static_cast<uint32_t>(paramInt(*c.j, "ABITS"));
    std::vector<NetBit> a = connBits(c, "RD_ADDR");
    for (uint32_t i = p.port * abits; i < (p.port + 1) * abits && i < a.size(); ++i)
      in.push_back(a[i]);
    return in;
  }
  const json &dirs = member(*c.j, "port_directions");
  for (auto it = conns(c).begin(); it != conns(c).end(); ++it) {
    auto d = dirs.find(it.key());
    if (d != dirs.end() && *d == "output")
      continue;
    std::vector<NetBit> bits = readBits(it.value());
    in.insert(in.end(), bits.begin(), bits.end());
  }
  return in;
}

Status ModuleImporter::produce(uint32_t root) {
  if (producers_[root].value != kNoValue)
    return Status::success();
  struct Frame {
    uint32_t p;
    std::vector<NetBit> inputs;
    size_t next = 0;
  };
  std::vector<Frame> stack;
  stack.push_back({root, producerInputs(producers_[root])});
  producers_[root].state = 1;
  while (!stack.empty()) {
    Frame &f = stack.back();
    bool pushed = false;
    while (f.next < f.inputs.size()) {
      NetBit nb = f.inputs[f.next++];
      auto d = nb > kBit1 ? drivers_.find(nb) : drivers_.end();
      if (d == drivers_.end())
        continue;
      uint32_t q = d->second.producer;
      Producer &pq = producers_[q];
      if (pq.value != kNoValue)
        continue;
      if (pq.state == 1) {
        const CellInfo &c = cells_[pq.cell];
        return Diagnostic::error(
            "comb-cycle",
            "combinational loop through cell '" + netName(c.name) + "' (" + c.type + ")", c.loc);
      }
      pq.state = 1;
      std::vector<NetBit> ins = producerInputs(pq);
      stack.push_back({q, std::move(ins)});
      pushed = true;
      break;
    }
    if (pushed)
      continue;
    uint32_t p = f.p;
    TRY(build(p));
    producers_[p].state = 2;
    stack.pop_back();
  }
  return Status::success();
}

Status ModuleImporter::build(uint32_t p) {
  Producer &pr = producers_[p];
  const CellInfo &c = cells_[pr.cell];
  b_.setLoc(c.loc);
  if (pr.kind == Kind::MemRead) {
    uint32_t abits = static_cast<uint32_t>(paramInt(*c.j, "ABITS"));
    std::vector<NetBit> a = connBits(c, "RD_ADDR");
    std::vector<NetBit> mine(a.begin() + std::min<size_t>(a.size(), pr.port * abits),
                             a.begin() + std::min<size_t>(a.size(), (pr.port + 1) * abits));
    if (mine.empty())
      mine.push_back(kBit0);
    TRY_ASSIGN(ValueId addr, value(mine));
    ValueId v = b_.memReadAsync(cellState_[pr.cell], memAddr(c, addr));
    producers_[p].value = v;
    return Status::success();
  }
  TRY_ASSIGN(ValueId v, buildComb(c));
  uint32_t yw = static_cast<uint32_t>(connBits(c, "Y").size());
  if (m_.width(v) != yw)
    v = ext(v, yw, false);
  producers_[p].value = v;
  return Status::success();
}

ValueId ModuleImporter::memAddr(const CellInfo &c, ValueId addr) {
  uint64_t offset = paramInt(*c.j, "OFFSET");
  if (offset == 0)
    return addr;
  // Below the offset wraps to at least 2^abits >= size: out of range, as it should be.
  uint32_t w = m_.width(addr) + 1;
  return b_.sub(b_.zext(addr, w), constant(w, offset));
}

Expected<ValueId> ModuleImporter::cellInput(const CellInfo &c, const char *port, uint32_t width,
                                            bool isSigned) {
  std::vector<NetBit> bits = connBits(c, port);
  if (bits.empty())
    return constant(width, 0);
  TRY_ASSIGN(ValueId v, value(bits));
  return ext(v, width, isSigned);
}

Expected<ValueId> ModuleImporter::buildComb(const CellInfo &c) {
  const json &j = *c.j;
  const std::string &t = c.type;
  // Widths are those of the connections (Yosys keeps the *_WIDTH parameters equal to
  // them; a netlist where they are missing or disagree is still read consistently).
  auto width = [&](const char *port) { return static_cast<uint32_t>(connBits(c, port).size()); };
  uint32_t aw = width("A"), bw = width("B"), sw = width("S"), yw = width("Y");
  bool needsB = t != "$not" && t != "$pos" && t != "$neg" && t != "$logic_not" &&
                t.rfind("$reduce_", 0) != 0 && t != "$slice" && t != "$bmux" && t != "$demux";
  bool needsS = t == "$mux" || t == "$pmux" || t == "$bmux" || t == "$demux" || t == "$bwmux";
  if (aw == 0 || (needsB && t != "$pmux" && bw == 0) || (needsS && sw == 0))
    return Diagnostic::error(
        "yosys-json", "cell '" + netName(c.name) + "' (" + t + ") has an empty input connection",
        c.loc);
  bool as = paramInt(j, "A_SIGNED") != 0, bs = paramInt(j, "B_SIGNED") != 0;
  bool both = as && bs;
  auto A = [&](uint32_t w, bool s) { return cellInput(c, "A", w, s); };
  auto B = [&](uint32_t w, bool s) { return cellInput(c, "B", w, s); };
  auto natural = [&](const char *port) -> Expected<ValueId> {
    std::vector<NetBit> bits = connBits(c, port);
    if (bits.empty())
      return constant(1, 0);
    return value(bits);
  };

  // Unary, result width: operand extended to Y first.
  if (t == "$not" || t == "$pos" || t == "$neg") {
    TRY_ASSIGN(ValueId a, A(yw, as));
    if (t == "$not")
      return b_.bitNot(a);
    if (t == "$neg")
      return b_.sub(constant(yw, 0), a);
    return a;
  }
  // Bitwise and modular arithmetic: the low Y bits depend only on the low Y bits.
  static const std::map<std::string, OpKind> kModular = {
      {"$and", OpKind::And}, {"$or", OpKind::Or},   {"$xor", OpKind::Xor}, {"$xnor", OpKind::Xor},
      {"$add", OpKind::Add}, {"$sub", OpKind::Sub}, {"$mul", OpKind::Mul}};
  if (auto it = kModular.find(t); it != kModular.end()) {
    TRY_ASSIGN(ValueId a, A(yw, both));
    TRY_ASSIGN(ValueId bb, B(yw, both));
    ValueId r = b_.binary(it->second, a, bb);
    return t == "$xnor" ? b_.bitNot(r) : r;
  }
  if (t == "$bwmux") {
    uint32_t w = yw;
    TRY_ASSIGN(ValueId a, cellInput(c, "A", w, false));
    TRY_ASSIGN(ValueId bb, cellInput(c, "B", w, false));
    TRY_ASSIGN(ValueId s, cellInput(c, "S", w, false));
    return b_.bitOr(b_.bitAnd(a, b_.bitNot(s)), b_.bitAnd(bb, s));
  }
  if (t == "$bweqx") {
    uint32_t w = yw;
    TRY_ASSIGN(ValueId a, cellInput(c, "A", w, false));
    TRY_ASSIGN(ValueId bb, cellInput(c, "B", w, false));
    return b_.bitNot(b_.bitXor(a, bb));
  }
  // Division: at the widest width, truncated after.
  if (t == "$div" || t == "$mod" || t == "$divfloor" || t == "$modfloor") {
    uint32_t w = std::max({aw, bw, yw});
    bool flooring = t == "$divfloor" || t == "$modfloor";
    if (flooring && both)
      ++w; // room for the adjustment below without overflow
    TRY_ASSIGN(ValueId a, A(w, both));
    TRY_ASSIGN(ValueId bb, B(w, both));
    bool isDiv = t == "$div" || t == "$divfloor";
    OpKind k = isDiv ? (both ? OpKind::DivS : OpKind::DivU) : (both ? OpKind::RemS : OpKind::RemU);
    ValueId r = b_.binary(k, a, bb);
    if (flooring && both) {
      // Round toward minus infinity: where the truncated remainder is nonzero and its
      // sign differs from the divisor's, the quotient is one less and the remainder
      // gains the divisor.
      ValueId rem = isDiv ? b_.binary(OpKind::RemS, a, bb) : r;
      ValueId zero = constant(w, 0);
      ValueId adjust = b_.bitAnd(b_.binary(OpKind::Ne, rem, zero),
                                 b_.binary(OpKind::Ne, b_.binary(OpKind::LtS, rem, zero),
                                           b_.binary(OpKind::LtS, bb, zero)));
      r = isDiv ? b_.mux(adjust, b_.sub(r, constant(w, 1)), r) : b_.mux(adjust, b_.add(r, bb), r);
    }
    return ext(r, yw, false);
  }
  // Shifts.
  if (t == "$shl" || t == "$sshl") {
    TRY_ASSIGN(ValueId a, A(yw, as));
    TRY_ASSIGN(ValueId s, natural("B"));
    return b_.binary(OpKind::Shl, a, s);
  }
  if (t == "$shr" || t == "$sshr") {
    uint32_t w = std::max(aw, yw);
    TRY_ASSIGN(ValueId a, A(w, as));
    TRY_ASSIGN(ValueId s, natural("B"));
    OpKind k = t == "$sshr" && as ? OpKind::ShrS : OpKind::ShrU;
    return ext(b_.binary(k, a, s), yw, false);
  }
  if (t == "$shift" || t == "$shiftx") {
    // A >> B; a negative (signed) B shifts left. $shiftx fills with x, read as 0.
    uint32_t w = std::max(aw, yw);
    TRY_ASSIGN(ValueId a, A(w, t == "$shift" && as));
    TRY_ASSIGN(ValueId s, natural("B"));
    ValueId right = b_.binary(OpKind::ShrU, a, s);
    // A signed amount whose sign bit is a constant 0 (an unsigned index Yosys extended)
    // never shifts left.
    std::vector<NetBit> bBits = connBits(c, "B");
    if (!bs || bBits.empty() || bBits.back() == kBit0)
      return ext(right, yw, false);
    uint32_t sw = m_.width(s);
    ValueId negative = b_.extract(s, sw - 1, 1);
    ValueId left = b_.binary(OpKind::Shl, a, b_.sub(constant(sw, 0), s));
    return ext(b_.mux(negative, left, right), yw, false);
  }
  // Comparisons: operands at the wider width.
  static const std::map<std::string, std::pair<OpKind, OpKind>> kCmp = {
      {"$lt", {OpKind::LtU, OpKind::LtS}}, {"$le", {OpKind::LeU, OpKind::LeS}},
      {"$gt", {OpKind::GtU, OpKind::GtS}}, {"$ge", {OpKind::GeU, OpKind::GeS}},
      {"$eq", {OpKind::Eq, OpKind::Eq}},   {"$ne", {OpKind::Ne, OpKind::Ne}},
      {"$eqx", {OpKind::Eq, OpKind::Eq}},  {"$nex", {OpKind::Ne, OpKind::Ne}}};
  if (auto it = kCmp.find(t); it != kCmp.end()) {
    uint32_t w = std::max(aw, bw);
    TRY_ASSIGN(ValueId a, A(w, both));
    TRY_ASSIGN(ValueId bb, B(w, both));
    return ext(b_.binary(both ? it->second.second : it->second.first, a, bb), yw, false);
  }
  // Logic and reductions: 1-bit results, zero-extended.
  if (t == "$logic_not") {
    TRY_ASSIGN(ValueId a, natural("A"));
    return ext(b_.bitNot(toBool(a)), yw, false);
  }
  if (t == "$logic_and" || t == "$logic_or") {
    TRY_ASSIGN(ValueId a, natural("A"));
    TRY_ASSIGN(ValueId bb, natural("B"));
    ValueId x = toBool(a), y = toBool(bb);
    return ext(t == "$logic_and" ? b_.bitAnd(x, y) : b_.bitOr(x, y), yw, false);
  }
  if (t.rfind("$reduce_", 0) == 0) {
    TRY_ASSIGN(ValueId a, natural("A"));
    ValueId r;
    if (t == "$reduce_and")
      r = m_.width(a) == 1 ? a : b_.unary(OpKind::RedAnd, a);
    else if (t == "$reduce_or" || t == "$reduce_bool")
      r = toBool(a);
    else if (t == "$reduce_xor")
      r = m_.width(a) == 1 ? a : b_.unary(OpKind::RedXor, a);
    else
      r = b_.bitNot(m_.width(a) == 1 ? a : b_.unary(OpKind::RedXor, a));
    return ext(r, yw, false);
  }
  // Multiplexers.
  if (t == "$mux") {
    uint32_t w = yw;
    TRY_ASSIGN(ValueId a, cellInput(c, "A", w, false));
    TRY_ASSIGN(ValueId bb, cellInput(c, "B", w, false));
    TRY_ASSIGN(ValueId s, cellInput(c, "S", 1, false));
    return b_.mux(s, bb, a);
  }
  if (t == "$pmux") {
    // One-hot select; with several bits set the lowest wins (Yosys leaves that case x).
    uint32_t w = yw;
    if (uint64_t(w) * sw > (uint64_t(1) << 24))
      return unsupported(t, c.name, "select of " + std::to_string(sw) + " bits", c.loc);
    TRY_ASSIGN(ValueId y, cellInput(c, "A", w, false));
    TRY_ASSIGN(ValueId bb, cellInput(c, "B", w * sw, false));
    TRY_ASSIGN(ValueId s, cellInput(c, "S", sw, false));
    for (uint32_t i = sw; i-- > 0;)
      y = b_.mux(b_.extract(s, i, 1), b_.extract(bb, i * w, w), y);
    return y;
  }
  if (t == "$bmux") {
    uint32_t w = yw;
    if (sw > 16 || (uint64_t(w) << sw) > (uint64_t(1) << 24))
      return unsupported(t, c.name, "select of " + std::to_string(sw) + " bits", c.loc);
    TRY_ASSIGN(ValueId a, cellInput(c, "A", w << sw, false));
    TRY_ASSIGN(ValueId s, cellInput(c, "S", std::max<uint32_t>(sw, 1), false));
    std::vector<ValueId> level;
    for (uint32_t i = 0; i < (1u << sw); ++i)
      level.push_back(b_.extract(a, i * w, w));
    for (uint32_t bit = 0; bit < sw; ++bit) {
      std::vector<ValueId> next;
      ValueId sel = b_.extract(s, bit, 1);
      for (size_t i = 0; i + 1 < level.size(); i += 2)
        next.push_back(b_.mux(sel, level[i + 1], level[i]));
      level = std::move(next);
    }
    return level[0];
  }
  if (t == "$demux") {
    uint32_t w = aw;
    if (sw > 16 || (uint64_t(w) << sw) != yw)
      return unsupported(t, c.name, "select of " + std::to_string(sw) + " bits", c.loc);
    TRY_ASSIGN(ValueId a, cellInput(c, "A", w, false));
    TRY_ASSIGN(ValueId s, cellInput(c, "S", std::max<uint32_t>(sw, 1), false));
    std::vector<ValueId> parts; // most significant first
    ValueId zero = constant(w, 0);
    for (uint32_t i = (1u << sw); i-- > 0;)
      parts.push_back(b_.mux(b_.eq(s, constant(m_.width(s), i)), a, zero));
    return b_.concat(parts);
  }
  if (t == "$slice") {
    uint32_t off = static_cast<uint32_t>(paramInt(j, "OFFSET"));
    TRY_ASSIGN(ValueId a, cellInput(c, "A", std::max(aw, off + yw), false));
    return b_.extract(a, off, yw);
  }
  if (t == "$concat") {
    TRY_ASSIGN(ValueId a, cellInput(c, "A", aw, false));
    TRY_ASSIGN(ValueId bb, cellInput(c, "B", bw, false));
    return b_.concat({bb, a});
  }
  return unsupported(t, c.name, whyUnsupported(t), c.loc);
}

Status ModuleImporter::connectFlipFlop(const CellInfo &c, ValueId reg) {
  const std::string &t = c.type;
  b_.setLoc(c.loc);
  uint32_t w = m_.width(reg);
  TRY_ASSIGN(ValueId clk, cellInput(c, "CLK", 1, false));
  TRY_ASSIGN(ValueId d, cellInput(c, "D", w, false));
  auto polarized = [&](const char *port, const char *pol) -> Expected<ValueId> {
    TRY_ASSIGN(ValueId v, cellInput(c, port, 1, false));
    return paramInt(*c.j, pol, 1) ? v : b_.bitNot(v);
  };
  std::vector<ValueId> ops = {clk, d};
  ValueId en = kNoValue;
  if (m_.op(reg).regHasEnable()) {
    TRY_ASSIGN(en, polarized("EN", "EN_POLARITY"));
  }
  if (m_.op(reg).regHasReset()) {
    bool async = m_.op(reg).regAsyncReset();
    TRY_ASSIGN(ValueId rst,
               async ? polarized("ARST", "ARST_POLARITY") : polarized("SRST", "SRST_POLARITY"));
    // $sdffce: the reset only acts when enabled; hw resets win over enables.
    if (t == "$sdffce")
      rst = b_.bitAnd(rst, en);
    ops.push_back(rst);
  }
  if (en != kNoValue)
    ops.push_back(en);
  m_.op(reg).operands = ops;
  return Status::success();
}

Status ModuleImporter::connectMemory(const CellInfo &c, uint32_t mem) {
  const json &j = *c.j;
  b_.setLoc(c.loc);
  uint32_t width = m_.memories[mem].width;
  uint32_t abits = static_cast<uint32_t>(paramInt(j, "ABITS"));
  auto slice = [](const std::vector<NetBit> &v, size_t lo, size_t n) {
    std::vector<NetBit> s(v.begin() + std::min(v.size(), lo),
                          v.begin() + std::min(v.size(), lo + n));
    if (s.empty())
      s.push_back(kBit0);
    return s;
  };
  // Synchronous read ports (only when memory_dff ran; see the file comment).
  std::vector<NetBit> rclk = connBits(c, "RD_CLK"), ren = connBits(c, "RD_EN"),
                      raddr = connBits(c, "RD_ADDR");
  uint32_t ci = static_cast<uint32_t>(&c - cells_.data());
  for (const auto &[key, v] : syncReads_) {
    if (key.first != ci)
      continue;
    uint32_t r = key.second;
    TRY_ASSIGN(ValueId clk, value(slice(rclk, r, 1)));
    TRY_ASSIGN(ValueId en, value(slice(ren, r, 1)));
    TRY_ASSIGN(ValueId addr, value(slice(raddr, r * abits, abits)));
    m_.op(v).operands = {clk, memAddr(c, addr), en};
  }
  // Write ports in port order: a later port wins, as Yosys' priority mask orders them.
  uint32_t wrPorts = static_cast<uint32_t>(paramInt(j, "WR_PORTS"));
  std::vector<bool> wclkEn = paramBits(param(j, "WR_CLK_ENABLE"));
  std::vector<bool> wclkPol = paramBits(param(j, "WR_CLK_POLARITY"));
  std::vector<NetBit> wclk = connBits(c, "WR_CLK"), wen = connBits(c, "WR_EN"),
                      waddr = connBits(c, "WR_ADDR"), wdata = connBits(c, "WR_DATA");
  for (uint32_t w = 0; w < wrPorts; ++w) {
    if (!(w < wclkEn.size() && wclkEn[w]))
      return unsupported(c.type, c.name, "asynchronous memory write ports are not supported",
                         c.loc);
    if (!(w < wclkPol.size() && wclkPol[w]))
      return unsupported(c.type, c.name, "negative-edge memory write ports are not supported",
                         c.loc);
    TRY_ASSIGN(ValueId clk, value(slice(wclk, w, 1)));
    TRY_ASSIGN(ValueId addr, value(slice(waddr, w * abits, abits)));
    addr = memAddr(c, addr);
    TRY_ASSIGN(ValueId data, value(slice(wdata, size_t(w) * width, width)));
    data = ext(data, width, false);
    std::vector<NetBit> enBits = slice(wen, size_t(w) * width, width);
    bool uniform =
        std::all_of(enBits.begin(), enBits.end(), [&](NetBit nb) { return nb == enBits[0]; });
    if (uniform) {
      TRY_ASSIGN(ValueId en, value({enBits[0]}));
      b_.memWrite(mem, clk, addr, data, en);
      continue;
    }
    // Per-bit enables: write the whole word, keeping the disabled bits' old contents
    // (read combinationally before the edge).
    TRY_ASSIGN(ValueId en, value(enBits));
    en = ext(en, width, false);
    ValueId old = b_.memReadAsync(mem, addr);
    ValueId merged = b_.bitOr(b_.bitAnd(data, en), b_.bitAnd(old, b_.bitNot(en)));
    b_.memWrite(mem, clk, addr, merged, b_.unary(OpKind::RedOr, en));
  }
  return Status::success();
}

Status ModuleImporter::connectState() {
  for (uint32_t ci = 0; ci < cells_.size(); ++ci) {
    const CellInfo &c = cells_[ci];
    if (cellState_[ci] == UINT32_MAX)
      continue;
    if (flipFlopCells().count(c.type)) {
      TRY(connectFlipFlop(c, cellState_[ci]));
    } else if (c.type == "$mem_v2") {
      TRY(connectMemory(c, cellState_[ci]));
    } else if (isInstance(c)) {
      b_.setLoc(c.loc);
      hw::Instance &inst = m_.instances[cellState_[ci]];
      const hw::Module *callee = d_.find(inst.module);
      for (uint32_t p = 0; p < callee->ports.size(); ++p) {
        if (callee->ports[p].dir != hw::PortDir::In)
          continue;
        TRY_ASSIGN(ValueId v,
                   cellInput(c, callee->ports[p].name.c_str(), callee->ports[p].width, false));
        m_.instances[cellState_[ci]].inputs[p] = v;
      }
    }
  }
  return Status::success();
}

void ModuleImporter::nameValues() {
  const json &nets = member(jm_, "netnames");
  if (!nets.is_object())
    return;
  for (auto it = nets.begin(); it != nets.end(); ++it) {
    if (it.value().value("hide_name", 0) != 0)
      continue;
    std::vector<NetBit> bits = readBits(member(it.value(), "bits"));
    if (bits.empty() || bits[0] <= kBit1)
      continue;
    auto d = drivers_.find(bits[0]);
    if (d == drivers_.end() || d->second.bit != 0)
      continue;
    ValueId v = producers_[d->second.producer].value;
    if (v == kNoValue || m_.width(v) != bits.size() || m_.op(v).kind == OpKind::Input ||
        !m_.op(v).name.empty())
      continue;
    bool exact = true;
    for (uint32_t i = 0; i < bits.size() && exact; ++i) {
      auto di = drivers_.find(bits[i]);
      exact =
          di != drivers_.end() && di->second.producer == d->second.producer && di->second.bit == i;
    }
    if (exact)
      m_.op(v).name = netName(it.key());
  }
}

Status ModuleImporter::run() {
  m_.loc = parseSrc(attrString(jm_, "src"));
  // Initial values of flip-flops, from their output wires.
  const json &nets = member(jm_, "netnames");
  if (nets.is_object())
    for (auto it = nets.begin(); it != nets.end(); ++it) {
      std::string init = attrString(it.value(), "init");
      if (init.empty())
        continue;
      std::vector<NetBit> bits = readBits(member(it.value(), "bits"));
      std::vector<bool> ib = paramBits(json(init));
      for (size_t i = 0; i < bits.size() && i < ib.size(); ++i)
        if (bits[i] > kBit1)
          init_[bits[i]] = ib[i];
    }

  // Ports, in declaration order.
  const json &ports = member(jm_, "ports");
  std::vector<std::pair<uint32_t, std::vector<NetBit>>> outputs;
  for (const std::string &name : portOrder_) {
    const json &p = member(ports, name);
    std::string dir = p.is_object() ? p.value("direction", "") : "";
    std::vector<NetBit> bits = readBits(member(p, "bits"));
    b_.setLoc(parseSrc(attrString(member(nets, name), "src")));
    if (bits.empty())
      return Diagnostic::error("unsupported-port",
                               "port '" + name + "' of module '" + m_.name() + "' has no bits",
                               b_.loc());
    uint32_t w = static_cast<uint32_t>(bits.size());
    if (dir == "input") {
      ValueId v = b_.input(netName(name), w);
      Producer pr;
      pr.value = v;
      addProducer(pr, bits);
    } else if (dir == "output") {
      outputs.push_back({b_.output(netName(name), w), bits});
    } else {
      return Diagnostic::error("unsupported-port",
                               "port '" + name + "' of module '" + m_.name() + "' is " + dir +
                                   " (only input and output ports are supported)",
                               b_.loc());
    }
  }
  TRY(indexCells());
  for (auto &[port, bits] : outputs) {
    b_.setLoc(m_.ports[port].loc);
    TRY_ASSIGN(ValueId v, value(bits));
    b_.drive(port, v);
  }
  TRY(connectState());
  nameValues();
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Running Yosys
//===----------------------------------------------------------------------===//



/// A Yosys script argument in double quotes (Yosys has no escapes inside them).
std::string quoteArg(const std::string &s) { return "\"" + s + "\""; }

bool scriptSafe(const std::string &s, bool allowSpace) {
  for (char c : s)
    if (c == '"' || c == '\n' || c == '\r' || c == ';' || (!allowSpace && (c == ' ' || c == '\t')))
      return false;
  return !s.empty();
}

/// Records the keys of modules.<name>.ports in file order, and nothing else.
struct PortOrderSax : nlohmann::json_sax<json> {
  std::map<std::string, std::vector<std::string>> portOrder;
  std::vector<std::string> keyAt = std::vector<std::string>(8);
  int depth = 0;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override {
    ++depth;
    return true;
  }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth;
    return true;
  }
  bool end_array() override {
    --depth;
    return true;
  }
  bool key(string_t &k) override {
    if (depth >= 1 && depth < 8) {
      keyAt[depth] = k;
      if (depth == 4 && keyAt[1] == "modules" && keyAt[3] == "ports")
        portOrder[keyAt[2]].push_back(k);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override {
    return false;
  }
};

} // namespace

Expected<hw::Design> importYosysJson(const std::string &jsonText, const std::string &file,
                                     const std::string &top) {
  // Port order is declaration order, which nlohmann::json (sorted keys) loses and
  // ordered_json is too slow to keep for netlists of 10^5 cells: a SAX pass records it.
  PortOrderSax sax;
  json::sax_parse(jsonText, &sax, nlohmann::detail::input_format_t::json, /*strict=*/true,
                  /*ignore_comments=*/false);
  std::map<std::string, std::vector<std::string>> &portOrder = sax.portOrder;
  json root = json::parse(jsonText, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    auto e = parseJson(jsonText, file);
    if (!e.ok())
      return std::move(e).takeError();
    return Diagnostic::error("yosys-json", "cannot read the Yosys netlist", SourceLoc{file});
  }
  try {
    if (!root.contains("modules") || !root["modules"].is_object())
      return Diagnostic::error("yosys-json", "no 'modules' object in the Yosys netlist",
                               SourceLoc{file});
    const json &modules = root["modules"];
    if (!modules.contains(top)) {
      std::vector<std::string> names;
      for (auto it = modules.begin(); it != modules.end(); ++it)
        names.push_back(it.key());
      Diagnostic d = Diagnostic::error("unknown-module", "no module '" + top + "' in the netlist",
                                       SourceLoc{file});
      if (std::string s = closestMatch(top, names); !s.empty())
        d.withNote(Diagnostic::note("did you mean '" + s + "'?"));
      return d;
    }
    // Callees first, from the top; blackboxes are not imported (instances of them fail).
    std::vector<std::string> order;
    std::set<std::string> seen;
    std::function<void(const std::string &)> visit = [&](const std::string &name) {
      if (seen.count(name) || !modules.contains(name))
        return;
      seen.insert(name);
      const json &jm = modules[name];
      if (!member(member(jm, "attributes"), "blackbox").is_null())
        return;
      const json &cells = member(jm, "cells");
      if (cells.is_object())
        for (auto it = cells.begin(); it != cells.end(); ++it) {
          std::string t = it.value().value("type", "");
          if (modules.contains(t))
            visit(t);
        }
      order.push_back(name);
    };
    visit(top);

    std::map<std::string, std::string> names; // Yosys name -> hw name
    std::set<std::string> used;
    for (const std::string &y : order) {
      std::string n = moduleNameFromYosys(y);
      std::string u = n;
      for (int i = 1; used.count(u); ++i)
        u = n + "_" + std::to_string(i);
      used.insert(u);
      names[y] = u;
    }
    hw::Design d;
    for (const std::string &y : order) {
      hw::Module &m = d.addModule(names[y]);
      ModuleImporter imp(modules[y], portOrder[y], m, d, names);
      TRY(imp.run());
    }
    d.topName = names[top];
    return d;
  } catch (const json::exception &e) {
    return Diagnostic::error("yosys-json", std::string("malformed Yosys netlist: ") + e.what(),
                             SourceLoc{file});
  }
}

Expected<hw::Design> importVerilog(const std::vector<std::string> &files,
                                   const ImportOptions &opts) {
  if (opts.top.empty())
    return Diagnostic::error("missing-top", "importing Verilog needs the top module (--top)");
  if (files.empty())
    return Diagnostic::error("missing-input", "no Verilog files to import");
  for (const std::string &f : files) {
    if (!std::filesystem::is_regular_file(f))
      return Diagnostic::error("io-error", "cannot open '" + f + "': no such file");
    if (!scriptSafe(f, true))
      return Diagnostic::error("bad-argument", "file name '" + f +
                                                   "' cannot be passed to Yosys (quote, newline "
                                                   "or semicolon)");
  }
  if (!scriptSafe(opts.top, false))
    return Diagnostic::error("bad-argument", "'" + opts.top + "' is not a module name");
  for (const std::string &a : opts.defines)
    if (!scriptSafe(a, false))
      return Diagnostic::error("bad-argument", "define '" + a + "' cannot be passed to Yosys");
  for (const std::string &a : opts.includeDirs)
    if (!scriptSafe(a, true))
      return Diagnostic::error("bad-argument",
                               "include directory '" + a + "' cannot be passed to Yosys");

  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec)
    base = "/tmp";
  std::string tmpl = (base / "tessera-yosys-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    return Diagnostic::error("io-error", "cannot create a temporary directory in " + base.string());
  std::filesystem::path dir = tmpl;
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() {
      std::error_code e;
      std::filesystem::remove_all(p, e);
    }
  } cleanup{dir};

  std::string read = "read_verilog -sv";
  for (const std::string &def : opts.defines)
    read += " " + quoteArg("-D" + def);
  for (const std::string &inc : opts.includeDirs)
    read += " " + quoteArg("-I" + inc);
  for (const std::string &f : files)
    read += " " + quoteArg(f);
  std::string jsonPath = (dir / "netlist.json").string();
  std::string script = read + "\n" + "hierarchy -check -top " + opts.top +
                       "\n"
                       "proc\n" +
                       (opts.flatten ? "flatten\n" : "") +
                       // The word-level parts of `opt` (without opt_muxtree and its
                       // iteration, which take minutes on flattened arrays).
                       "opt_expr\n"
                       "opt_merge\n"
                       "opt_reduce\n"
                       "opt_dff\n"
                       "opt_clean\n"
                       "memory_collect\n"
                       "opt_clean\n"
                       "write_json " +
                       quoteArg(jsonPath) + "\n";
  std::string scriptPath = (dir / "import.ys").string();
  TRY(writeTextFile(scriptPath, script));
  auto run = runProcess({opts.yosys, "-q", "-s", scriptPath}, ".", (dir / "yosys").string());
  if (!run.ok() || run->exitCode == 127 || run->exitCode < 0)
    return Diagnostic::error("tool-not-found",
                             "cannot run '" + opts.yosys + "' (is Yosys installed and on PATH?)");
  if (run->exitCode != 0)
    return yosysLogError(run->err + run->out);
  TRY_ASSIGN(std::string text, readTextFile(jsonPath));
  return importYosysJson(text, jsonPath, opts.top);
}

Diagnostic yosysLogError(const std::string &log) {
  size_t pos = log.find("ERROR: ");
  if (pos == std::string::npos)
    return Diagnostic::error("yosys-error", "yosys failed: " + log.substr(0, 2000));
  size_t lineStart = log.rfind('\n', pos);
  lineStart = lineStart == std::string::npos ? 0 : lineStart + 1;
  size_t lineEnd = log.find('\n', pos);
  std::string msg =
      log.substr(pos + 7, lineEnd == std::string::npos ? std::string::npos : lineEnd - pos - 7);
  SourceLoc loc;
  std::string prefix = log.substr(lineStart, pos - lineStart);
  // "file.v:12: " before ERROR.
  if (prefix.size() > 2 && prefix.compare(prefix.size() - 2, 2, ": ") == 0) {
    std::string fl = prefix.substr(0, prefix.size() - 2);
    size_t colon = fl.rfind(':');
    if (colon != std::string::npos && colon > 0 &&
        fl.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
      loc.file = fl.substr(0, colon);
      loc.line = static_cast<uint32_t>(std::strtoul(fl.c_str() + colon + 1, nullptr, 10));
    }
  }
  Diagnostic d = Diagnostic::error("yosys-error", msg, loc);
  if (loc.known() && loc.line > 0)
    if (auto text = readTextFile(loc.file); text.ok())
      d.withSourceLine(sourceLineAt(*text, loc.line));
  return d;
}

} // namespace tessera::verilog
