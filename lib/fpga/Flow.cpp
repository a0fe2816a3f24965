//===- Flow.cpp - Yosys synthesis and nextpnr place-and-route --------------===//
//
// Runs the open FPGA flow as external processes (support/Process.h) and turns the tools'
// machine-readable outputs into resource counts: Yosys `stat -json` cell counts for both
// targets, the nextpnr-ice40 `--report` JSON (utilization per BEL type and achieved Fmax
// per clock) for ice40. Before place-and-route the synthesized ice40 netlist is checked
// against the device with a lower bound of its logic cells (a logic cell holds one LUT4,
// one flip-flop and one carry, so it needs at least max(LUT4, DFF, CARRY) of them): a
// design that cannot fit is rejected in seconds instead of after a long placement.
//
//===----------------------------------------------------------------------===//
#include "fpga/Fpga.h"
#include "support/Process.h"

#include "support/FileIO.h"
#include "support/Json.h"
#include "verilog/Verilog.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace tessera::fpga {

namespace {

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

uint64_t count(const std::map<std::string, uint64_t> &cells, const std::string &type) {
  auto it = cells.find(type);
  return it == cells.end() ? 0 : it->second;
}

/// LUTs a Xilinx distributed-RAM primitive occupies (UG474, "Distributed RAM").
uint64_t lutramLuts(const std::string &type) {
  static const std::map<std::string, uint64_t> kLuts = {
      {"RAM16X1S", 1},  {"RAM16X1D", 2}, {"RAM32X1S", 1},  {"RAM32X1D", 2},
      {"RAM64X1S", 1},  {"RAM64X1D", 2}, {"RAM128X1S", 2}, {"RAM128X1D", 4},
      {"RAM256X1S", 4}, {"RAM32M", 4},   {"RAM64M", 4},    {"RAM32M16", 8},
      {"RAM64M8", 8},   {"RAM16X8S", 8}, {"RAM32X8S", 8},  {"RAM64X2S", 2}};
  auto it = kLuts.find(type);
  return it == kLuts.end() ? 0 : it->second;
}

std::string quoteArg(const std::string &s) { return "\"" + s + "\""; }

Status checkScriptSafe(const std::string &s, const std::string &what) {
  for (char c : s)
    if (c == '"' || c == '\n' || c == '\r' || c == ';')
      return Diagnostic::error("bad-argument", what + " '" + s +
                                                   "' contains a character Yosys scripts cannot "
                                                   "quote (\", ;, newline)");
  if (s.empty())
    return Diagnostic::error("bad-argument", what + " is empty");
  return Status::success();
}

bool legalTop(const std::string &s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'))
      return false;
  return true;
}

std::string joinArgs(const std::vector<std::string> &argv) {
  std::string s;
  for (const std::string &a : argv) {
    if (!s.empty())
      s += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\"'$;\\") == std::string::npos;
    s += plain ? a : "'" + a + "'";
  }
  return s;
}

/// First `ERROR:` line of a log: (prefix before it on the line, message after it).
std::optional<std::pair<std::string, std::string>> firstError(const std::string &log) {
  size_t pos = log.find("ERROR: ");
  if (pos == std::string::npos)
    return std::nullopt;
  size_t lineStart = log.rfind('\n', pos);
  lineStart = lineStart == std::string::npos ? 0 : lineStart + 1;
  size_t lineEnd = log.find('\n', pos);
  std::string msg =
      log.substr(pos + 7, lineEnd == std::string::npos ? std::string::npos : lineEnd - pos - 7);
  while (!msg.empty() && (msg.back() == '\r' || msg.back() == ' '))
    msg.pop_back();
  return std::make_pair(log.substr(lineStart, pos - lineStart), msg);
}

std::string lastLines(const std::string &text, size_t n) {
  size_t pos = text.size();
  for (size_t i = 0; i <= n && pos > 0; ++i)
    pos = text.rfind('\n', pos - 1) == std::string::npos ? 0 : text.rfind('\n', pos - 1);
  return text.substr(pos == 0 ? 0 : pos + 1);
}

Diagnostic toolFailure(const std::string &tool, const ProcessResult &p, double timeout) {
  if (p.timedOut)
    return Diagnostic::error("tool-timeout", tool + " did not finish within " +
                                                 std::to_string(static_cast<int>(timeout)) +
                                                 " s (raise --timeout or use a bigger device "
                                                 "/ smaller design)");
  if (p.exitCode == 127)
    return Diagnostic::error("tool-not-found",
                             "cannot run '" + tool + "' (is it installed and on PATH?)");
  std::string tail = lastLines(p.err.empty() ? p.out : p.err, 5);
  return Diagnostic::error("tool-failed", tool + " failed (exit code " +
                                              std::to_string(p.exitCode) + ")" +
                                              (tail.empty() ? "" : ": " + tail));
}

/// Bits of the top module's ports in a Yosys JSON netlist.
uint64_t portBits(const nlohmann::json &netlist, const std::string &top) {
  uint64_t bits = 0;
  auto mods = netlist.find("modules");
  if (mods == netlist.end())
    return 0;
  auto m = mods->find(top);
  if (m == mods->end() || !m->contains("ports"))
    return 0;
  for (const auto &[name, port] : (*m)["ports"].items())
    if (port.contains("bits"))
      bits += port["bits"].size();
  return bits;
}

struct Run {
  const FlowOptions &opts;
  FlowResult &res;
  std::string dir;

  Expected<ProcessResult> tool(const std::vector<std::string> &argv, const std::string &log) {
    res.commands.push_back(joinArgs(argv));
    TRY_ASSIGN(ProcessResult p,
               runProcess(argv, ".", (fs::path(dir) / log).string(), opts.timeoutSeconds));
    res.files.push_back(log + ".out");
    res.files.push_back(log + ".err");
    return p;
  }

  /// Runs a Yosys script; `yosys-error` with the tool's error line on failure.
  Expected<std::map<std::string, uint64_t>> yosys(const std::string &name,
                                                  const std::string &script) {
    std::string scriptPath = (fs::path(dir) / (name + ".ys")).string();
    std::string logPath = (fs::path(dir) / (name + ".log")).string();
    TRY(writeTextFile(scriptPath, script));
    res.files.push_back(name + ".ys");
    res.files.push_back(name + ".log");
    TRY_ASSIGN(ProcessResult p, tool({opts.yosys, "-q", "-l", logPath, "-s", scriptPath}, name));
    if (p.exitCode != 0) {
      if (p.timedOut || p.exitCode == 127)
        return toolFailure(opts.yosys, p, opts.timeoutSeconds);
      auto log = readTextFile(logPath);
      std::string text = (log.ok() ? *log : "") + "\n" + p.err + p.out;
      if (!firstError(text))
        return toolFailure(opts.yosys, p, opts.timeoutSeconds);
      Diagnostic d = verilog::yosysLogError(text);
      d.withNote(Diagnostic::note("full log: " + logPath));
      return d;
    }
    std::string statPath = (fs::path(dir) / (name + "-stat.json")).string();
    res.files.push_back(name + "-stat.json");
    TRY_ASSIGN(std::string stat, readTextFile(statPath));
    return parseYosysStat(stat, statPath);
  }
};

std::string readScript(const std::vector<std::string> &files) {
  std::string read = "read_verilog -sv";
  for (const std::string &f : files)
    read += " " + quoteArg(f);
  return read + "\n";
}

Status runXilinx(Run &run, const std::vector<std::string> &files, const std::string &top) {
  const FlowOptions &opts = run.opts;
  std::string stat = (fs::path(run.dir) / "synth-stat.json").string();
  std::string netlist = (fs::path(run.dir) / "netlist.json").string();
  // noShare: synth_xilinx's own script up to `coarse`, that label's commands without
  // `share` (7-series LUT width 6), then the rest of synth_xilinx from `map_memory`.
  std::string synth =
      opts.noShare ? "synth_xilinx -top " + top + " -flatten -run begin:coarse\n"
                     "techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=6\n"
                     "alumacc\nopt\nmemory -nomap\nopt_clean\n"
                     "synth_xilinx -top " + top + " -flatten -run map_memory:\n"
                   : "synth_xilinx -top " + top + " -flatten\n";
  std::string script = readScript(files) + synth + "tee -q -o " + stat +
                       " stat -json\nwrite_json " + netlist + "\n";
  TRY_ASSIGN(auto cells, run.yosys("synth", script));
  run.res.files.push_back("netlist.json");
  run.res.yosysCells = cells;

  // Device: the one asked for, else the smallest whose capacities hold the design.
  Device dev;
  if (!opts.device.empty()) {
    TRY_ASSIGN(dev, findDevice(Target::Xilinx, opts.device));
  } else {
    const auto &all = devices(Target::Xilinx);
    dev = all.back();
    for (const Device &d : all)
      if (!checkFits(xilinxResources(cells, d), d, "")) {
        dev = d;
        break;
      }
  }
  run.res.device = dev.name;
  run.res.resources = xilinxResources(cells, dev);
  run.res.notes.push_back("no Fmax: there is no open place-and-route for Xilinx 7-series, so "
                          "counts are post-synthesis (before packing) and unconstrained");
  if (auto d = checkFits(run.res.resources, dev, "after synthesis"))
    return *d;
  return Status::success();
}

Status runIce40(Run &run, const std::vector<std::string> &files, const std::string &top) {
  const FlowOptions &opts = run.opts;
  std::string netlist = (fs::path(run.dir) / "netlist.json").string();
  auto synth = [&](bool dsp) -> Expected<std::map<std::string, uint64_t>> {
    std::string stat = (fs::path(run.dir) / "synth-stat.json").string();
    std::string script = readScript(files) + "synth_ice40 -top " + top + (dsp ? " -dsp" : "") +
                         "\ntee -q -o " + stat + " stat -json\nwrite_json " + netlist + "\n";
    return run.yosys("synth", script);
  };

  Device dev;
  bool chosen = !opts.device.empty();
  if (chosen) {
    TRY_ASSIGN(dev, findDevice(Target::Ice40, opts.device));
  }
  TRY_ASSIGN(auto cells, synth(chosen && dev.hasDsp));
  TRY_ASSIGN(std::string netText, readTextFile(netlist));
  TRY_ASSIGN(nlohmann::json net, parseJson(netText, netlist));
  uint64_t io = portBits(net, top);
  if (!chosen) {
    // Smallest device whose capacities hold the lower bound with 15% headroom for
    // packing and routing; else the largest one (checked exactly below).
    const auto &all = devices(Target::Ice40);
    dev = all.back();
    for (const Device &d : all) {
      bool fits = true;
      for (const ResourceUse &u : ice40Estimate(cells, io, d))
        if (u.available > 0 && static_cast<double>(u.used) > 0.85 * u.available)
          fits = false;
        else if (u.available == 0 && u.used > 0 && u.name != "ICESTORM_DSP")
          fits = false;
      if (fits) {
        dev = d;
        break;
      }
    }
    if (dev.hasDsp) { // re-map multipliers to the SB_MAC16 blocks this device has
      TRY_ASSIGN(cells, synth(true));
    }
  }
  run.res.device = dev.name;
  run.res.package = dev.package;
  run.res.yosysCells = cells;
  run.res.files.push_back("netlist.json");
  if (auto d = checkFits(ice40Estimate(cells, io, dev), dev, "after synthesis"))
    return *d;

  std::string report = (fs::path(run.dir) / "pnr-report.json").string();
  std::string log = (fs::path(run.dir) / "nextpnr.log").string();
  char freq[32];
  snprintf(freq, sizeof freq, "%g", opts.clockMhz);
  std::vector<std::string> argv = {opts.nextpnr,
                                   dev.nextpnrFlag,
                                   "--package",
                                   dev.package,
                                   "--json",
                                   netlist,
                                   "--freq",
                                   freq,
                                   "--seed",
                                   std::to_string(opts.seed),
                                   "--timing-allow-fail",
                                   "--report",
                                   report,
                                   "--log",
                                   log,
                                   "-q"};
  if (run.res.nextpnrVersion.empty())
    run.res.nextpnrVersion = toolVersion(opts.nextpnr, "--version", run.dir);
  TRY_ASSIGN(ProcessResult p, run.tool(argv, "nextpnr"));
  run.res.files.push_back("nextpnr.log");
  if (p.exitCode != 0) {
    if (p.timedOut || p.exitCode == 127)
      return toolFailure(opts.nextpnr, p, opts.timeoutSeconds);
    auto text = readTextFile(log);
    std::string all = (text.ok() ? *text : "") + "\n" + p.err;
    if (!firstError(all))
      return toolFailure(opts.nextpnr, p, opts.timeoutSeconds);
    Diagnostic d = nextpnrError(all, dev);
    d.withNote(Diagnostic::note("full log: " + log));
    return d;
  }
  run.res.files.push_back("pnr-report.json");
  TRY_ASSIGN(std::string repText, readTextFile(report));
  TRY_ASSIGN(NextpnrReport rep, parseNextpnrReport(repText, report));
  static const std::vector<std::pair<std::string, std::string>> kShown = {
      {"ICESTORM_LC", "logic cells (LUT4 + DFF + carry)"},
      {"ICESTORM_RAM", "4 kbit block RAMs (SB_RAM40_4K)"},
      {"ICESTORM_DSP", "DSP blocks (SB_MAC16)"},
      {"ICESTORM_SPRAM", "256 kbit single-port RAMs"},
      {"SB_IO", "I/O cells"},
      {"SB_GB", "global buffers"},
      {"ICESTORM_PLL", "PLLs"}};
  for (const auto &[name, desc] : kShown)
    for (const ResourceUse &u : rep.utilization)
      if (u.name == name && (u.available > 0 || u.used > 0)) {
        ResourceUse r = u;
        r.description = desc;
        if (name == "SB_IO" && dev.capacityOf("SB_IO") > 0)
          r.available = std::min(r.available, dev.capacityOf("SB_IO"));
        run.res.resources.push_back(r);
      }
  run.res.fmax = rep.fmax;
  return Status::success();
}

} // namespace

Expected<std::map<std::string, uint64_t>> parseYosysStat(std::string_view json,
                                                         const std::string &file) {
  TRY_ASSIGN(nlohmann::json j, parseJson(json, file));
  // `stat -json` on a flattened design: "design" totals the top's hierarchy.
  const nlohmann::json *counts = nullptr;
  if (j.contains("design") && j["design"].contains("num_cells_by_type"))
    counts = &j["design"]["num_cells_by_type"];
  else if (j.contains("modules") && j["modules"].is_object() && j["modules"].size() == 1)
    counts = &j["modules"].begin().value()["num_cells_by_type"];
  if (!counts || !counts->is_object())
    return Diagnostic::error("bad-tool-output",
                             "no cell counts (num_cells_by_type) in Yosys "
                             "stat output",
                             SourceLoc{file, 0, 0});
  std::map<std::string, uint64_t> cells;
  for (const auto &[type, n] : counts->items()) {
    if (!n.is_number_unsigned() && !n.is_number_integer())
      return Diagnostic::error("bad-tool-output", "cell count of '" + type + "' is not a number",
                               SourceLoc{file, 0, 0});
    std::string t = type;
    if (!t.empty() && t[0] == '\\')
      t.erase(0, 1);
    cells[t] += n.get<uint64_t>();
  }
  return cells;
}

std::vector<ResourceUse> xilinxResources(const std::map<std::string, uint64_t> &cells,
                                         const Device &device) {
  uint64_t lut[7] = {0}, ff = 0, lutram = 0, srl = 0, io = 0, bufg = 0;
  for (const auto &[type, n] : cells) {
    if (type.size() == 4 && startsWith(type, "LUT") && type[3] >= '1' && type[3] <= '6')
      lut[type[3] - '0'] += n;
    else if (startsWith(type, "FD") || startsWith(type, "LD"))
      ff += n; // FDRE/FDSE/FDCE/FDPE (and latches LDCE/LDPE, which use the same sites)
    else if (startsWith(type, "SRL"))
      srl += n;
    else if (uint64_t l = lutramLuts(type))
      lutram += n * l;
    else if (type == "IBUF" || type == "OBUF" || type == "IOBUF" || type == "OBUFT" ||
             type == "IBUFG")
      io += n;
    else if (startsWith(type, "BUFG"))
      bufg += n;
  }
  uint64_t logicLuts = lut[1] + lut[2] + lut[3] + lut[4] + lut[5] + lut[6];
  uint64_t b18 = count(cells, "RAMB18E1"), b36 = count(cells, "RAMB36E1");
  auto cap = [&](const char *r) { return device.capacityOf(r); };
  std::vector<ResourceUse> out = {
      {"LUT", "slice LUTs (logic + LUTRAM + SRL)", logicLuts + lutram + srl, cap("LUT")}};
  for (int k = 1; k <= 6; ++k)
    out.push_back({"LUT" + std::to_string(k), std::to_string(k) + "-input logic LUTs", lut[k], 0});
  out.push_back({"MUXF7", "wide-function muxes F7", count(cells, "MUXF7"), 0});
  out.push_back({"MUXF8", "wide-function muxes F8", count(cells, "MUXF8"), 0});
  out.push_back({"FF", "flip-flops (FDRE/FDSE/FDCE/FDPE)", ff, cap("FF")});
  out.push_back({"CARRY4", "carry chain blocks", count(cells, "CARRY4"), cap("CARRY4")});
  out.push_back({"DSP48E1", "DSP slices", count(cells, "DSP48E1"), cap("DSP48E1")});
  out.push_back({"RAMB18E1", "18 kbit block RAMs", b18, 0});
  out.push_back({"RAMB36E1", "36 kbit block RAMs", b36, 0});
  out.push_back(
      {"BRAM18", "block RAM in RAMB18 units (RAMB18 + 2 x RAMB36)", b18 + 2 * b36, cap("BRAM18")});
  out.push_back({"SRL", "LUTs as shift registers (SRL16E/SRLC32E)", srl, 0});
  out.push_back({"LUTRAM", "LUTs as distributed RAM + SRL", lutram + srl, cap("LUTRAM")});
  out.push_back({"IO", "I/O buffers (IBUF/OBUF/IOBUF)", io, cap("IO")});
  out.push_back({"BUFG", "global clock buffers", bufg, cap("BUFG")});
  return out;
}

std::vector<ResourceUse> ice40Estimate(const std::map<std::string, uint64_t> &cells,
                                       uint64_t ioBits, const Device &device) {
  uint64_t luts = count(cells, "SB_LUT4"), carry = count(cells, "SB_CARRY"), dff = 0;
  for (const auto &[type, n] : cells)
    if (startsWith(type, "SB_DFF"))
      dff += n;
  uint64_t ram = 0;
  for (const auto &[type, n] : cells)
    if (startsWith(type, "SB_RAM40_4K"))
      ram += n;
  auto cap = [&](const char *r) { return device.capacityOf(r); };
  return {
      {"ICESTORM_LC", "logic cells, lower bound max(LUT4, DFF, CARRY)",
       std::max({luts, dff, carry}), cap("ICESTORM_LC")},
      {"ICESTORM_RAM", "4 kbit block RAMs (SB_RAM40_4K)", ram, cap("ICESTORM_RAM")},
      {"ICESTORM_DSP", "DSP blocks (SB_MAC16)", count(cells, "SB_MAC16"), cap("ICESTORM_DSP")},
      {"SB_IO", "top-level port bits (one I/O pin each)", ioBits, cap("SB_IO")},
  };
}

std::optional<Diagnostic> checkFits(const std::vector<ResourceUse> &use, const Device &device,
                                    std::string_view stage) {
  for (const ResourceUse &u : use) {
    uint64_t avail = device.capacityOf(u.name);
    bool bounded = false;
    for (const Capacity &c : device.capacity)
      bounded |= c.resource == u.name;
    if (!bounded || u.used <= avail)
      continue;
    std::string msg = "design too large for " + std::string(targetName(device.target)) + " " +
                      device.name + ": needs " + std::to_string(u.used) + " " + u.name + " (" +
                      u.description + "), the device has " + std::to_string(avail);
    if (!stage.empty())
      msg += " (" + std::string(stage) + ")";
    return Diagnostic::error("design-too-large", msg);
  }
  return std::nullopt;
}

Expected<NextpnrReport> parseNextpnrReport(std::string_view json, const std::string &file) {
  TRY_ASSIGN(nlohmann::json j, parseJson(json, file));
  NextpnrReport r;
  if (!j.contains("utilization") || !j["utilization"].is_object())
    return Diagnostic::error("bad-tool-output", "no 'utilization' in nextpnr report",
                             SourceLoc{file, 0, 0});
  for (const auto &[bel, u] : j["utilization"].items()) {
    ResourceUse ru;
    ru.name = bel;
    ru.used = u.value("used", uint64_t(0));
    ru.available = u.value("available", uint64_t(0));
    r.utilization.push_back(ru);
  }
  std::sort(r.utilization.begin(), r.utilization.end(),
            [](const ResourceUse &a, const ResourceUse &b) { return a.name < b.name; });
  if (j.contains("fmax") && j["fmax"].is_object())
    for (const auto &[clock, f] : j["fmax"].items()) {
      ClockFmax c;
      // nextpnr names the routed clock net ("clk$SB_IO_IN_$glb_clk"); keep the user's part.
      c.clock = clock.substr(0, clock.find('$'));
      if (c.clock.empty())
        c.clock = clock;
      c.achievedMhz = f.value("achieved", 0.0);
      c.constraintMhz = f.value("constraint", 0.0);
      r.fmax.push_back(c);
    }
  std::sort(r.fmax.begin(), r.fmax.end(),
            [](const ClockFmax &a, const ClockFmax &b) { return a.clock < b.clock; });
  return r;
}


Diagnostic nextpnrError(const std::string &log, const Device &device) {
  auto e = firstError(log);
  if (!e)
    return Diagnostic::error("nextpnr-error", "nextpnr failed: " + lastLines(log, 5));
  const std::string &msg = e->second;
  static const std::string kNoBels = "no BELs remaining to implement cell type '";
  if (size_t p = msg.find(kNoBels); p != std::string::npos) {
    size_t start = p + kNoBels.size();
    std::string type = msg.substr(start, msg.find('\'', start) - start);
    std::string cap;
    if (uint64_t a = device.capacityOf(type))
      cap = " (the device has " + std::to_string(a) + ")";
    return Diagnostic::error("design-too-large", "design too large for ice40 " + device.name +
                                                     ": placement ran out "
                                                     "of " +
                                                     type + cap + "; nextpnr: " + msg);
  }
  return Diagnostic::error("nextpnr-error", msg);
}

Expected<FlowResult> runFlow(const std::vector<std::string> &verilogFiles, const std::string &top,
                             const FlowOptions &opts) {
  if (verilogFiles.empty())
    return Diagnostic::error("bad-argument", "no Verilog files given");
  if (top.empty())
    return Diagnostic::error("missing-top", "the top module is not given (--top NAME)");
  if (!legalTop(top))
    return Diagnostic::error("bad-argument", "top module name '" + top + "' is not an identifier");
  if (opts.outDir.empty())
    return Diagnostic::error("bad-argument", "no output directory given");
  if (!(opts.clockMhz > 0) || !std::isfinite(opts.clockMhz))
    return Diagnostic::error("bad-argument", "the clock frequency must be positive (MHz)");
  for (const std::string &f : verilogFiles) {
    TRY(checkScriptSafe(f, "file name"));
    if (!fs::is_regular_file(f))
      return Diagnostic::error("io-error", "cannot open '" + f + "'");
  }
  TRY(checkScriptSafe(opts.outDir, "output directory"));
  // Yosys' tee / write_json take the output path unquoted.
  if (opts.outDir.find_first_of(" \t") != std::string::npos)
    return Diagnostic::error("bad-argument",
                             "output directory '" + opts.outDir + "' contains white space");
  if (!opts.device.empty())
    TRY(findDevice(opts.target, opts.device));
  std::error_code ec;
  fs::create_directories(opts.outDir, ec);
  if (ec)
    return Diagnostic::error("io-error", "cannot create '" + opts.outDir + "': " + ec.message());

  FlowResult res;
  res.target = opts.target;
  res.top = top;
  res.yosysVersion = toolVersion(opts.yosys, "-V", opts.outDir);
  if (res.yosysVersion.empty())
    return Diagnostic::error("tool-not-found",
                             "cannot run '" + opts.yosys + "' (is Yosys installed and on PATH?)");
  if (opts.target == Target::Ice40) {
    res.nextpnrVersion = toolVersion(opts.nextpnr, "--version", opts.outDir);
    if (res.nextpnrVersion.empty())
      return Diagnostic::error("tool-not-found", "cannot run '" + opts.nextpnr +
                                                     "' (is nextpnr-ice40 installed and on PATH?)");
  }
  Run run{opts, res, opts.outDir};
  if (opts.target == Target::Xilinx)
    TRY(runXilinx(run, verilogFiles, top));
  else
    TRY(runIce40(run, verilogFiles, top));
  std::sort(res.files.begin(), res.files.end());
  res.files.erase(std::unique(res.files.begin(), res.files.end()), res.files.end());
  return res;
}

namespace {

/// Emits `design` as outDir/design.v; returns that path.
Expected<std::string> writeDesign(const hw::Design &design, const FlowOptions &opts) {
  if (!design.top())
    return Diagnostic::error("missing-top", "the design has no top module");
  if (opts.outDir.empty())
    return Diagnostic::error("bad-argument", "no output directory given");
  TRY_ASSIGN(std::string text, verilog::emitVerilog(design));
  std::error_code ec;
  fs::create_directories(opts.outDir, ec);
  std::string path = (fs::path(opts.outDir) / "design.v").string();
  TRY(writeTextFile(path, text));
  return path;
}

} // namespace

Expected<FlowResult> runFlow(const hw::Design &design, const FlowOptions &opts) {
  TRY_ASSIGN(std::string path, writeDesign(design, opts));
  TRY_ASSIGN(FlowResult r, runFlow(std::vector<std::string>{path}, design.top()->name(), opts));
  r.files.insert(std::lower_bound(r.files.begin(), r.files.end(), std::string("design.v")),
                 "design.v");
  return r;
}

Expected<std::map<std::string, uint64_t>> coarseSynthesis(const hw::Design &design,
                                                          const FlowOptions &opts) {
  TRY_ASSIGN(std::string path, writeDesign(design, opts));
  FlowResult res;
  Run run{opts, res, opts.outDir};
  std::string stat = (fs::path(opts.outDir) / "coarse-stat.json").string();
  std::string script = readScript({path}) + "synth -top " + design.top()->name() +
                       " -flatten -noshare -run :fine\ntee -q -o " + stat + " stat -json\n";
  return run.yosys("coarse", script);
}

} // namespace tessera::fpga
