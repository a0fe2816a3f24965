//===- SimBench.cpp - tessera sim against Verilator: the simulator benchmark ---===//
//
// `tessera-simbench` (run by `make bench`) measures the hw simulator against Verilator 5
// on the same Verilog, the same seeded random stimulus (sim/Stimulus.h) and the same cycle
// count, and writes docs/sim-benchmark.md and a JSON file. A row counts only when the
// output checksums of both simulators agree at every cycle count both ran.
//
// Method (the doc repeats it):
//  * Verilator: `-O3 --x-assign fast --x-initial fast --noassert`, OPT_FAST=-O2, through
//    verilog::runReference; --threads 1 and 2, the better cycles/s is reported. Systolic
//    arrays also run in Verilator from a hand-written, idiomatic Verilog of the same array
//    (handWrittenSystolic): the emitted Verilog carries every array port as one packed
//    vector, which Verilator assembles with concatenation chains whose cost grows as N^4,
//    so the headline ratio is taken against the better of the two.
//  * ours: sim::Simulator, compiled engine, in a child process (this executable with
//    --child) so that wall time and peak RSS are those of a simulation process. A cold
//    run uses an empty model cache (build time = front end + C++ compile); later runs
//    load the cached model.
//  * cycles/s: cycles / simulation-loop seconds of the longest measured run (stimulus,
//    output sampling and checksum included, process start and build excluded) — for both.
//  * end-to-end for n cycles: the cold build plus the wall time of a run of n cycles from
//    the built model (process start, model load, run). The 10^3 column is the measured
//    wall time of the cold run itself. A run predicted to take longer than
//    --max-measure-s is extrapolated from the measured rate and marked `~`.
//  * batch: one model with L lanes; lane l is driven by seed + l; stimulus*cycles/s.
//  * a flattened row (systolicN-flat) imports the array's emitted Verilog through Yosys with
//    `flatten` (verilog::importVerilog); its front end includes the import. Verilator
//    runs the same Verilog as the hierarchical row, so its numbers are shared.
//
//===----------------------------------------------------------------------===//
#include "hw/Designs.h"
#include "hw/IR.h"
#include "sim/Sim.h"
#include "sim/Stimulus.h"
#include "support/FileIO.h"
#include "support/Json.h"
#include "verilog/ExternalSim.h"
#include "verilog/Verilog.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <spawn.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace tessera;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

//===----------------------------------------------------------------------===//
// Designs by name
//===----------------------------------------------------------------------===//

constexpr uint32_t kDefaultCores = 24;

struct DesignSpec {
  enum Kind { Systolic, Controller } kind = Systolic;
  uint32_t size = 0; ///< N, or the number of cores
  bool flat = false; ///< imported from its own Verilog with Yosys flatten
  std::string name;
};

std::optional<DesignSpec> parseDesignName(const std::string &name) {
  DesignSpec s;
  s.name = name;
  std::string rest = name;
  if (rest.size() > 5 && rest.substr(rest.size() - 5) == "-flat") {
    s.flat = true;
    rest = rest.substr(0, rest.size() - 5);
  }
  auto number = [](const std::string &t) -> std::optional<uint32_t> {
    if (t.empty() || t.size() > 4 || !std::all_of(t.begin(), t.end(), ::isdigit))
      return std::nullopt;
    uint32_t v = static_cast<uint32_t>(std::stoul(t));
    return v ? std::optional<uint32_t>(v) : std::nullopt;
  };
  if (rest.rfind("systolic", 0) == 0) {
    auto n = number(rest.substr(8));
    if (!n || *n > 128)
      return std::nullopt;
    s.kind = DesignSpec::Systolic;
    s.size = *n;
    return s;
  }
  if (rest.rfind("controller", 0) == 0) {
    std::string t = rest.substr(10);
    auto n = t.empty() ? std::optional<uint32_t>(kDefaultCores) : number(t);
    if (!n || *n > 256)
      return std::nullopt;
    s.kind = DesignSpec::Controller;
    s.size = *n;
    return s;
  }
  return std::nullopt;
}

hw::Design buildDesign(const DesignSpec &s) {
  return s.kind == DesignSpec::Systolic ? hw::systolicArray(s.size) : hw::controllerDesign(s.size);
}

/// The generated (hierarchical) design a flat row is imported from.
std::string sourceName(const DesignSpec &s) {
  return s.flat ? s.name.substr(0, s.name.size() - 5) : s.name;
}

std::string topName(const DesignSpec &s) {
  return s.kind == DesignSpec::Systolic ? "systolic_" + std::to_string(s.size) : "controller";
}

struct DesignShape {
  size_t ops = 0;       ///< ops over the whole hierarchy, array elements counted
  size_t instances = 0; ///< leaf-module instances (PEs, cores)
};

DesignShape shapeOf(const hw::Design &d) {
  std::map<std::string, DesignShape> memo;
  std::function<DesignShape(const hw::Module &)> visit = [&](const hw::Module &m) {
    if (auto it = memo.find(m.name()); it != memo.end())
      return it->second;
    DesignShape s{m.ops.size(), m.instances.empty() ? 1u : 0u};
    for (const hw::Instance &inst : m.instances)
      if (const hw::Module *c = d.find(inst.module)) {
        DesignShape cs = visit(*c);
        s.ops += cs.ops * inst.count;
        s.instances += cs.instances * inst.count;
      }
    memo[m.name()] = s;
    return s;
  };
  const hw::Module *top = d.top();
  return top ? visit(*top) : DesignShape{};
}

bool isClockName(const std::string &n) { return n == "clk" || n == "clock"; }

//===----------------------------------------------------------------------===//
// Child: one simulation run of our simulator
//===----------------------------------------------------------------------===//

struct ChildArgs {
  std::string design;
  std::string verilog; ///< flat rows: the Verilog to import
  std::string engine = "compiled";
  uint32_t lanes = 1;
  uint64_t cycles = 1000;
  uint64_t seed = 1;
  std::string cache;
  std::string cxxFlags = sim::SimOptions().cxxFlags;
};

bool isPowerOf10(uint64_t v) {
  while (v >= 10 && v % 10 == 0)
    v /= 10;
  return v == 1;
}

/// Runs the simulation and prints one JSON object on stdout. Returns the exit code.
int runChild(const ChildArgs &a) {
  auto spec = parseDesignName(a.design);
  if (!spec) {
    std::cerr << "unknown design " << a.design << "\n";
    return 2;
  }
  DesignSpec src = *parseDesignName(sourceName(*spec));
  hw::Design reference = buildDesign(src);
  const hw::Module *refTop = reference.top();
  nlohmann::ordered_json out;
  double importSeconds = 0;
  hw::Design design;
  if (spec->flat) {
    auto t0 = Clock::now();
    verilog::ImportOptions io;
    io.top = topName(src);
    io.flatten = true;
    auto imported = verilog::importVerilog({a.verilog}, io);
    if (!imported) {
      std::cerr << imported.error().render();
      return 1;
    }
    design = std::move(imported).value();
    importSeconds = secondsSince(t0);
  } else {
    design = std::move(reference);
    reference = buildDesign(src);
    refTop = reference.top();
  }

  sim::SimOptions so;
  so.engine = a.engine == "interp" ? sim::Engine::Interp : sim::Engine::Compiled;
  so.lanes = a.lanes;
  so.cacheDir = a.cache;
  so.cxxFlags = a.cxxFlags;
  auto t0 = Clock::now();
  auto created = sim::Simulator::create(design, so);
  if (!created) {
    std::cerr << created.error().render();
    return 1;
  }
  double createSeconds = secondsSince(t0);
  sim::Simulator &simr = **created;

  // Ports in the generated design's order (the Verilog's order), found by name, so that
  // an imported design that reorders ports still sees the same stimulus stream.
  std::vector<sim::InputDesc> dataInputs;
  std::vector<int> inIdx, outIdx;
  std::vector<uint32_t> outWidth;
  for (const hw::Port &p : refTop->ports) {
    if (p.dir == hw::PortDir::In) {
      if (isClockName(p.name))
        continue;
      int i = simr.findInput(p.name);
      if (i < 0) {
        std::cerr << "the simulated design has no input " << p.name << "\n";
        return 1;
      }
      dataInputs.push_back({p.name, p.width});
      inIdx.push_back(i);
    } else {
      int o = simr.findOutput(p.name);
      if (o < 0) {
        std::cerr << "the simulated design has no output " << p.name << "\n";
        return 1;
      }
      outIdx.push_back(o);
      outWidth.push_back(p.width);
    }
  }

  const uint32_t lanes = simr.lanes();
  std::vector<sim::RandomStimulus> stim;
  for (uint32_t l = 0; l < lanes; ++l)
    stim.emplace_back(dataInputs, a.seed + l);
  // checksumOutputs covers every output in the simulator's port order; use it when that
  // is the generated design's order.
  bool portOrder = outIdx.size() == simr.outputs().size();
  for (size_t o = 0; o < outIdx.size(); ++o)
    portOrder = portOrder && outIdx[o] == static_cast<int>(o);
  std::vector<uint64_t> outBuf;
  for (uint32_t w : outWidth)
    outBuf.resize(std::max<size_t>(outBuf.size(), (w + 63) / 64));
  std::vector<uint64_t> h(lanes, 0);
  nlohmann::ordered_json checkpoints = nlohmann::ordered_json::object();
  t0 = Clock::now();
  for (uint64_t c = 0; c < a.cycles; ++c) {
    for (uint32_t l = 0; l < lanes; ++l) {
      const std::vector<uint64_t> &words = stim[l].nextWords();
      for (size_t i = 0; i < inIdx.size(); ++i)
        simr.pokeWords(inIdx[i], words.data() + stim[l].wordOffset(i), l);
    }
    for (uint32_t l = 0; l < lanes; ++l) {
      if (portOrder) {
        h[l] = simr.checksumOutputs(h[l], l);
        continue;
      }
      for (size_t o = 0; o < outIdx.size(); ++o) {
        simr.peekWords(outIdx[o], outBuf.data(), l);
        for (size_t w = 0; w < (outWidth[o] + 63) / 64; ++w)
          h[l] = sim::checksumMix(h[l], outBuf[w]);
      }
    }
    simr.step();
    if (isPowerOf10(c + 1))
      checkpoints[std::to_string(c + 1)] = h[0];
  }
  double runSeconds = secondsSince(t0);
  const sim::BuildStats &bs = simr.buildStats();
  out["importSeconds"] = importSeconds;
  out["frontEndSeconds"] = bs.frontEndSeconds;
  out["compileSeconds"] = bs.compileSeconds;
  out["cacheHit"] = bs.cacheHit;
  out["createSeconds"] = createSeconds;
  out["scheduledOps"] = bs.scheduledOps;
  out["designOps"] = shapeOf(design).ops;
  out["cycles"] = a.cycles;
  out["runSeconds"] = runSeconds;
  out["checksum"] = h[0];
  out["checkpoints"] = checkpoints;
  out["laneChecksums"] = h;
  std::cout << out.dump() << "\n";
  return 0;
}

//===----------------------------------------------------------------------===//
// Parent: spawning children
//===----------------------------------------------------------------------===//

struct ProcResult {
  int exitCode = -1;
  double wallSeconds = 0;
  uint64_t maxRssKb = 0;
  std::string out, err;
};

Expected<ProcResult> spawnAndWait(const std::vector<std::string> &argv, const std::string &dir) {
  std::string outPath = dir + "/child.out", errPath = dir + "/child.err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char *> cargv;
  for (const std::string &s : argv)
    cargv.push_back(const_cast<char *>(s.c_str()));
  cargv.push_back(nullptr);
  auto t0 = Clock::now();
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return Diagnostic::error("spawn-failed", "cannot run " + argv[0]);
  int status = 0;
  struct rusage ru {};
  if (wait4(pid, &status, 0, &ru) < 0)
    return Diagnostic::error("spawn-failed", "wait4 failed for " + argv[0]);
  ProcResult r;
  r.wallSeconds = secondsSince(t0);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.maxRssKb = static_cast<uint64_t>(ru.ru_maxrss);
  auto o = readTextFile(outPath);
  auto e = readTextFile(errPath);
  r.out = o ? *o : "";
  r.err = e ? *e : "";
  return r;
}

struct OurRun {
  bool ok = false;
  std::string error;
  double wallSeconds = 0, runSeconds = 0, createSeconds = 0;
  double importSeconds = 0, frontEndSeconds = 0, compileSeconds = 0;
  bool cacheHit = false;
  uint64_t cycles = 0, maxRssKb = 0, scheduledOps = 0, designOps = 0;
  std::map<uint64_t, uint64_t> checkpoints;
  std::vector<uint64_t> laneChecksums;
  double rate() const { return runSeconds > 0 ? cycles / runSeconds : 0; }
};

struct Options {
  std::vector<std::string> designs;
  std::vector<uint64_t> e2eCycles{1000, 100000, 10000000};
  std::vector<int> threads{1, 2};
  std::vector<uint32_t> lanes{16, 64};
  uint64_t seed = 1;
  double maxMeasureSeconds = 60;
  double interpSeconds = 5;
  std::string workDir;
  std::string mdPath, jsonPath;
  std::string cxxFlags = sim::SimOptions().cxxFlags; ///< our models' C++ flags
  bool verilator = true;
  bool handVerilog = true; ///< systolic rows: also Verilator on hand-written Verilog
  bool smoke = false;
  bool verbose = true;
  std::string self;
};

OurRun runOurs(const Options &o, const DesignSpec &s, const std::string &verilogFile,
               const std::string &engine, uint32_t lanes, uint64_t cycles, const std::string &cache,
               const std::string &dir) {
  std::vector<std::string> argv = {o.self,     "--child",
                                   "--design", s.name,
                                   "--engine", engine,
                                   "--lanes",  std::to_string(lanes),
                                   "--cycles", std::to_string(cycles),
                                   "--seed",   std::to_string(o.seed),
                                   "--cache",  cache,
                                   "--cxx-flags", o.cxxFlags};
  if (s.flat) {
    argv.push_back("--verilog");
    argv.push_back(verilogFile);
  }
  OurRun r;
  r.cycles = cycles;
  auto p = spawnAndWait(argv, dir);
  if (!p) {
    r.error = p.error().message;
    return r;
  }
  r.wallSeconds = p->wallSeconds;
  r.maxRssKb = p->maxRssKb;
  if (p->exitCode != 0) {
    r.error = fmt::format("exit {}: {}", p->exitCode, p->err.substr(0, 2000));
    return r;
  }
  auto j = parseJson(p->out, "child output");
  if (!j) {
    r.error = "bad child output: " + p->out.substr(0, 500) + p->err.substr(0, 500);
    return r;
  }
  const nlohmann::json &js = *j;
  r.runSeconds = js.value("runSeconds", 0.0);
  r.createSeconds = js.value("createSeconds", 0.0);
  r.importSeconds = js.value("importSeconds", 0.0);
  r.frontEndSeconds = js.value("frontEndSeconds", 0.0);
  r.compileSeconds = js.value("compileSeconds", 0.0);
  r.cacheHit = js.value("cacheHit", false);
  r.scheduledOps = js.value("scheduledOps", uint64_t(0));
  r.designOps = js.value("designOps", uint64_t(0));
  for (auto &[k, v] : js["checkpoints"].items())
    r.checkpoints[std::stoull(k)] = v.get<uint64_t>();
  r.checkpoints[cycles] = js.value("checksum", uint64_t(0));
  r.laneChecksums = js["laneChecksums"].get<std::vector<uint64_t>>();
  r.ok = true;
  return r;
}

//===----------------------------------------------------------------------===//
// Results
//===----------------------------------------------------------------------===//

/// The N x N array of hw::systolicArray written the way a person writes it for Verilator:
/// unpacked arrays of per-PE wires in a two-level generate loop and a loop for the XOR of
/// the accumulators. Same ports and the same behaviour (the benchmark checks that its
/// checksums equal ours); emitted Verilog instead carries each array port as one packed
/// vector, which Verilator assembles with chains of wide concatenations.
std::string handWrittenSystolic(uint32_t n) {
  std::string top = "systolic_" + std::to_string(n);
  return fmt::format(
      R"(// Hand-written reference for {top} (bench/SimBench.cpp handWrittenSystolic).
/* verilator lint_off DECLFILENAME */
module pe (
  input wire clk, input wire rst, input wire clear,
  input wire [7:0] a_in, input wire [7:0] b_in,
  output reg [7:0] a_out, output reg [7:0] b_out, output reg [31:0] acc
);
  wire [31:0] a_ext = {{{{24{{a_in[7]}}}}, a_in}};
  wire [31:0] b_ext = {{{{24{{b_in[7]}}}}, b_in}};
  initial begin a_out = 8'd0; b_out = 8'd0; acc = 32'd0; end
  always @(posedge clk) begin
    if (rst) begin
      a_out <= 8'd0; b_out <= 8'd0; acc <= 32'd0;
    end else begin
      a_out <= a_in; b_out <= b_in; acc <= clear ? 32'd0 : acc + a_ext * b_ext;
    end
  end
endmodule

module {top} (
  input wire clk, input wire rst, input wire clear,
  input wire [{w}:0] a_left, input wire [{w}:0] b_top,
  output wire [{w}:0] a_right, output wire [{w}:0] b_bottom, output reg [31:0] acc_xor
);
  wire [7:0] a_w [0:{n1}][0:{n}];  // a_w[r][c]: into PE (r, c); a_w[r][{n}]: right edge
  wire [7:0] b_w [0:{n}][0:{n1}];  // b_w[r][c]: into PE (r, c); b_w[{n}][c]: bottom edge
  wire [31:0] acc_w [0:{nn1}];
  genvar r, c;
  generate
    for (r = 0; r < {n}; r = r + 1) begin : row
      assign a_w[r][0] = a_left[r*8 +: 8];
      assign a_right[r*8 +: 8] = a_w[r][{n}];
      assign b_w[0][r] = b_top[r*8 +: 8];
      assign b_bottom[r*8 +: 8] = b_w[{n}][r];
      for (c = 0; c < {n}; c = c + 1) begin : col
        pe u (.clk(clk), .rst(rst), .clear(clear), .a_in(a_w[r][c]), .b_in(b_w[r][c]),
              .a_out(a_w[r][c+1]), .b_out(b_w[r+1][c]), .acc(acc_w[r*{n}+c]));
      end
    end
  endgenerate
  integer i;
  always @* begin
    acc_xor = 32'd0;
    for (i = 0; i < {nn}; i = i + 1) acc_xor = acc_xor ^ acc_w[i];
  end
endmodule
)",
      fmt::arg("top", top), fmt::arg("w", n * 8 - 1), fmt::arg("n", n), fmt::arg("n1", n - 1),
      fmt::arg("nn", n * n), fmt::arg("nn1", n * n - 1));
}

struct E2e {
  double seconds = 0;
  bool measured = false;
  bool valid = false; ///< present
};

struct SideResult {
  bool ok = false;
  std::string error;
  double frontEnd = 0, compile = 0, warmStart = -1; ///< warmStart < 0: no warm run
  double rate = 0;                                  ///< cycles/s of the longest measured run
  uint64_t rateCycles = 0;
  uint64_t peakRssKb = 0;
  uint64_t designOps = 0; ///< ours: ops of the simulated design (the imported one if flat)
  int threads = 0;        ///< Verilator
  std::map<uint64_t, E2e> e2e;
  std::map<uint64_t, uint64_t> checksums; ///< cycle count -> checksum
};

struct Row {
  DesignSpec spec;
  DesignShape shape;
  size_t verilogLines = 0;
  SideResult ours, ref;
  /// Systolic rows: Verilator on a hand-written, idiomatic Verilog of the same array
  /// (handWrittenSystolic), the baseline that Verilator's own style of input gets.
  SideResult refHand;
  bool hasHand = false;
  double interpRate = 0;
  uint64_t interpCycles = 0;
  std::string interpError;
  std::map<uint32_t, double> batchRate; ///< lanes -> stimulus*cycles/s
  std::map<uint32_t, std::string> batchError;
  std::vector<std::string> mismatches;
  uint64_t checkedCycles = 0; ///< the largest cycle count compared
  /// Counts when ours ran, some Verilator variant ran, and every checksum agreed.
  bool valid() const {
    return ours.ok && (ref.ok || (hasHand && refHand.ok)) && mismatches.empty() &&
           checkedCycles > 0;
  }
  /// The Verilator result with the better cycles/s (emitted or hand-written Verilog).
  const SideResult &bestRef() const {
    return hasHand && refHand.ok && refHand.rate > ref.rate ? refHand : ref;
  }
  /// ours / the better Verilator (the headline), and ours / Verilator on emitted Verilog.
  double ratio() const { return bestRef().rate > 0 ? ours.rate / bestRef().rate : 0; }
  double ratioEmitted() const { return ref.rate > 0 ? ours.rate / ref.rate : 0; }
};

void log(const Options &o, const std::string &msg) {
  if (o.verbose)
    std::cerr << "simbench: " << msg << std::endl;
}

std::vector<verilog::RefPort> refPorts(const hw::Module &top, hw::PortDir dir) {
  std::vector<verilog::RefPort> ports;
  for (const hw::Port &p : top.ports)
    if (p.dir == dir)
      ports.push_back({p.name, p.width, dir == hw::PortDir::In && isClockName(p.name)});
  return ports;
}

/// Verilator for one design: cold build (+ the first e2e count), then the larger counts.
SideResult runVerilator(const Options &o, const hw::Module &top, const std::string &vfile,
                        const std::string &dir) {
  auto ins = refPorts(top, hw::PortDir::In);
  auto outs = refPorts(top, hw::PortDir::Out);
  auto call = [&](int threads, uint64_t cycles, const std::string &wd,
                  double &wall) -> Expected<verilog::RefResult> {
    verilog::RefOptions ro;
    ro.tool = verilog::RefTool::Verilator;
    ro.workDir = wd;
    ro.threads = threads;
    ro.benchmarkFlags = true;
    ro.cycles = cycles;
    ro.seed = o.seed;
    ro.recordOutputs = false;
    auto t0 = Clock::now();
    auto r = verilog::runReference({vfile}, top.name(), ins, outs, ro);
    wall = secondsSince(t0);
    return r;
  };
  const std::vector<uint64_t> &E = o.e2eCycles;
  std::vector<SideResult> perThreads;
  for (int t : o.threads) {
    SideResult s;
    s.threads = t;
    std::string wd = dir + "/verilator-t" + std::to_string(t);
    fs::remove_all(wd);
    double wall = 0;
    log(o, fmt::format("  verilator --threads {}: build + {} cycles", t, E[0]));
    auto r = call(t, E[0], wd, wall);
    if (!r) {
      s.error = r.error().render();
      perThreads.push_back(s);
      continue;
    }
    s.frontEnd = r->frontEndSeconds;
    s.compile = r->compileSeconds;
    s.e2e[E[0]] = {wall, true, true};
    s.checksums[E[0]] = r->checksum;
    s.rate = r->runSeconds > 0 ? E[0] / r->runSeconds : 0;
    s.rateCycles = E[0];
    s.peakRssKb = r->peakRssKb;
    s.ok = true;
    // The second count on every thread setting picks the better one; the rest on that one.
    double predicted = s.rate > 0 ? E.size() > 1 ? E[1] / s.rate : 0 : 1e30;
    if (E.size() > 1 && predicted > o.maxMeasureSeconds) {
      double firstRun = std::max(0.0, wall - s.frontEnd - s.compile);
      s.e2e[E[1]] = {s.frontEnd + s.compile + firstRun + (E[1] - E[0]) / s.rate, false, true};
    } else if (E.size() > 1) {
      log(o, fmt::format("  verilator --threads {}: {} cycles", t, E[1]));
      auto r2 = call(t, E[1], wd, wall);
      if (!r2) {
        s.ok = false;
        s.error = r2.error().render();
      } else {
        s.e2e[E[1]] = {s.frontEnd + s.compile + wall, true, true};
        s.checksums[E[1]] = r2->checksum;
        if (r2->runSeconds > 0) {
          s.rate = E[1] / r2->runSeconds;
          s.rateCycles = E[1];
        }
        s.peakRssKb = std::max(s.peakRssKb, r2->peakRssKb);
        s.warmStart = std::max(0.0, wall - r2->runSeconds);
      }
    }
    perThreads.push_back(s);
  }
  SideResult *best = nullptr;
  for (SideResult &s : perThreads)
    if (s.ok && (!best || s.rate > best->rate))
      best = &s;
  if (!best)
    return perThreads.empty() ? SideResult{} : perThreads.front();
  SideResult s = *best;
  std::string wd = dir + "/verilator-t" + std::to_string(s.threads);
  for (size_t i = 2; i < E.size(); ++i) {
    double predicted = s.rate > 0 ? E[i] / s.rate : 1e30;
    if (predicted > o.maxMeasureSeconds) {
      double prevRun = s.e2e[E[i - 1]].seconds - s.frontEnd - s.compile;
      s.e2e[E[i]] = {s.frontEnd + s.compile + prevRun + (E[i] - E[i - 1]) / s.rate, false, true};
      continue;
    }
    log(o, fmt::format("  verilator --threads {}: {} cycles", s.threads, E[i]));
    double wall = 0;
    auto r = call(s.threads, E[i], wd, wall);
    if (!r) {
      s.ok = false;
      s.error = r.error().render();
      break;
    }
    s.e2e[E[i]] = {s.frontEnd + s.compile + wall, true, true};
    s.checksums[E[i]] = r->checksum;
    if (r->runSeconds > 0) {
      s.rate = E[i] / r->runSeconds;
      s.rateCycles = E[i];
    }
    s.peakRssKb = std::max(s.peakRssKb, r->peakRssKb);
  }
  return s;
}

/// Our compiled engine: a cold run (empty cache) for the first count, warm runs after.
SideResult runOursCompiled(const Options &o, const DesignSpec &spec, const std::string &vfile,
                           const std::string &dir) {
  SideResult s;
  const std::vector<uint64_t> &E = o.e2eCycles;
  std::string cache = dir + "/cache";
  fs::remove_all(cache);
  log(o, fmt::format("  tessera sim: build + {} cycles", E[0]));
  OurRun cold = runOurs(o, spec, vfile, "compiled", 1, E[0], cache, dir);
  if (!cold.ok) {
    s.error = cold.error;
    return s;
  }
  s.ok = true;
  s.frontEnd = cold.importSeconds + cold.frontEndSeconds;
  s.designOps = cold.designOps;
  s.compile = cold.compileSeconds;
  s.e2e[E[0]] = {cold.wallSeconds, true, true};
  for (auto [n, h] : cold.checkpoints)
    s.checksums[n] = h;
  s.rate = cold.rate();
  s.rateCycles = E[0];
  // The cold run's peak RSS counts the C++ compiler it waited for; warm runs replace it.
  s.peakRssKb = cold.maxRssKb;
  bool warmRss = false;
  double build = s.frontEnd + s.compile;
  for (size_t i = 1; i < E.size(); ++i) {
    double predicted = s.rate > 0 ? E[i] / s.rate : 1e30;
    if (predicted > o.maxMeasureSeconds) {
      double prevRun = s.e2e[E[i - 1]].seconds - build;
      s.e2e[E[i]] = {build + prevRun + (E[i] - E[i - 1]) / s.rate, false, true};
      continue;
    }
    log(o, fmt::format("  tessera sim: {} cycles", E[i]));
    OurRun r = runOurs(o, spec, vfile, "compiled", 1, E[i], cache, dir);
    if (!r.ok) {
      s.ok = false;
      s.error = r.error;
      return s;
    }
    s.e2e[E[i]] = {build + r.wallSeconds, true, true};
    for (auto [n, h] : r.checkpoints)
      s.checksums[n] = h;
    if (r.runSeconds > 0) {
      s.rate = r.rate();
      s.rateCycles = E[i];
    }
    s.peakRssKb = warmRss ? std::max(s.peakRssKb, r.maxRssKb) : r.maxRssKb;
    warmRss = true;
    s.warmStart = r.createSeconds + r.importSeconds;
  }
  return s;
}

void compare(Row &row) {
  auto check = [&](const SideResult &ref, const char *what, bool counts) {
    for (auto [n, h] : ref.checksums) {
      auto it = row.ours.checksums.find(n);
      if (it == row.ours.checksums.end())
        continue;
      if (it->second != h)
        row.mismatches.push_back(fmt::format("checksum after {} cycles: ours {:016x}, {} {:016x}",
                                             n, it->second, what, h));
      else if (counts)
        row.checkedCycles = std::max(row.checkedCycles, n);
    }
  };
  check(row.ref, "Verilator", true);
  if (row.hasHand)
    check(row.refHand, "Verilator (hand-written Verilog)", true);
}

Row runDesign(const Options &o, const DesignSpec &spec, std::map<std::string, Row> &done) {
  Row row;
  row.spec = spec;
  DesignSpec src = *parseDesignName(sourceName(spec));
  hw::Design d = buildDesign(src);
  row.shape = shapeOf(d);
  std::string dir = o.workDir + "/" + spec.name;
  std::string srcDir = o.workDir + "/" + src.name;
  fs::create_directories(dir);
  fs::create_directories(srcDir);
  std::string vfile = srcDir + "/" + topName(src) + ".v";
  auto v = verilog::emitVerilog(d);
  if (!v) {
    row.ref.error = row.ours.error = "emitVerilog: " + v.error().render();
    return row;
  }
  row.verilogLines = std::count(v->begin(), v->end(), '\n');
  if (auto st = writeTextFile(vfile, *v); !st) {
    row.ref.error = row.ours.error = st.error().render();
    return row;
  }
  log(o, spec.name + ":");
  // Verilator runs the same Verilog for a flat row as for its hierarchical source.
  auto shared = done.find(src.name);
  if (!o.verilator) {
    row.ref.error = "skipped (--no-verilator)";
  } else if (spec.flat && shared != done.end() && shared->second.ref.ok) {
    row.ref = shared->second.ref;
    row.refHand = shared->second.refHand;
    row.hasHand = shared->second.hasHand;
  } else {
    row.ref = runVerilator(o, *d.top(), vfile, srcDir);
    if (o.handVerilog && src.kind == DesignSpec::Systolic) {
      std::string hfile = srcDir + "/" + topName(src) + "_hand.v";
      if (auto st = writeTextFile(hfile, handWrittenSystolic(src.size)); !st) {
        row.refHand.error = st.error().render();
      } else {
        log(o, "  hand-written Verilog:");
        row.refHand = runVerilator(o, *d.top(), hfile, srcDir + "/hand");
      }
      row.hasHand = true;
    }
    if (spec.flat) { // not a row of its own here; only shares the reference
      done[src.name].ref = row.ref;
      done[src.name].refHand = row.refHand;
      done[src.name].hasHand = row.hasHand;
    }
  }
  row.ours = runOursCompiled(o, spec, vfile, dir);
  if (spec.flat && row.ours.designOps)
    row.shape.ops = row.ours.designOps;
  if (row.ours.ok) {
    // Interpreter: powers of ten while the run stays short.
    std::string cache = dir + "/cache";
    for (uint64_t n = 1000; n <= o.e2eCycles.back(); n *= 10) {
      log(o, fmt::format("  interpreter: {} cycles", n));
      OurRun r = runOurs(o, spec, vfile, "interp", 1, n, cache, dir);
      if (!r.ok) {
        row.interpError = r.error;
        break;
      }
      row.interpRate = r.rate();
      row.interpCycles = n;
      auto it = row.ours.checksums.find(n);
      if (it != row.ours.checksums.end() && it->second != r.checkpoints[n])
        row.mismatches.push_back(fmt::format("interpreter checksum after {} cycles differs", n));
      if (r.runSeconds * 10 > o.interpSeconds)
        break;
    }
    for (uint32_t lanes : o.lanes) {
      // Enough cycles for about a second of batch work at the single-model rate.
      uint64_t n = 1000;
      while (n * 10 <= o.e2eCycles.back() && n * 10 * lanes < row.ours.rate * 2)
        n *= 10;
      log(o, fmt::format("  batch {} lanes: {} cycles", lanes, n));
      OurRun r = runOurs(o, spec, vfile, "compiled", lanes, n, cache, dir);
      if (!r.ok) {
        row.batchError[lanes] = r.error;
        continue;
      }
      row.batchRate[lanes] = r.runSeconds > 0 ? double(lanes) * n / r.runSeconds : 0;
      auto it = row.ours.checksums.find(n);
      if (it != row.ours.checksums.end() && !r.laneChecksums.empty() &&
          it->second != r.laneChecksums[0])
        row.mismatches.push_back(
            fmt::format("batch ({} lanes) lane 0 checksum after {} cycles differs", lanes, n));
    }
  }
  compare(row);
  return row;
}

//===----------------------------------------------------------------------===//
// Report
//===----------------------------------------------------------------------===//

std::string firstLine(const std::string &cmd) {
  std::string out;
  if (FILE *p = popen(cmd.c_str(), "r")) {
    char buf[512];
    if (fgets(buf, sizeof buf, p))
      out = buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

/// The 1-minute load average (/proc/loadavg), or "?".
std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  return in >> first ? first : "?";
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      return p == std::string::npos ? line : line.substr(p + 2);
    }
  return "unknown";
}

std::string fmtRate(double r) {
  if (r <= 0)
    return "—";
  if (r >= 1e6)
    return fmt::format("{:.2f} M", r / 1e6);
  if (r >= 1e3)
    return fmt::format("{:.1f} k", r / 1e3);
  return fmt::format("{:.0f}", r);
}

std::string fmtSeconds(double s) {
  if (s < 0.01)
    return fmt::format("{:.1f} ms", s * 1e3);
  if (s < 10)
    return fmt::format("{:.2f} s", s);
  if (s < 1000)
    return fmt::format("{:.1f} s", s);
  return fmt::format("{:.0f} s", s);
}

std::string fmtE2e(const SideResult &s, uint64_t n) {
  auto it = s.e2e.find(n);
  if (!s.ok || it == s.e2e.end() || !it->second.valid)
    return "—";
  return (it->second.measured ? "" : "~") + fmtSeconds(it->second.seconds);
}

std::string fmtMiB(uint64_t kb) { return kb ? fmt::format("{:.0f} MiB", kb / 1024.0) : "—"; }

std::string cyclesLabel(uint64_t n) {
  int e = 0;
  uint64_t v = n;
  while (v >= 10 && v % 10 == 0) {
    v /= 10;
    ++e;
  }
  return v == 1 && e >= 3 ? fmt::format("10^{}", e) : std::to_string(n);
}

std::string designLabel(const Row &r) {
  const DesignSpec &s = r.spec;
  if (s.kind == DesignSpec::Systolic)
    return fmt::format("systolic {}×{}{}", s.size, s.size, s.flat ? " (imported, flattened)" : "");
  return fmt::format("controller ({} cores){}", s.size, s.flat ? " (imported, flattened)" : "");
}

std::string status(const Row &r) {
  if (!r.ours.ok)
    return "ERROR (ours)";
  if (!r.mismatches.empty())
    return "INVALID";
  if (!r.ref.ok && !(r.hasHand && r.refHand.ok))
    return "ERROR (Verilator)";
  return fmt::format("ok ({})", cyclesLabel(r.checkedCycles));
}

std::string fmtRef(const SideResult &s) {
  if (!s.ok)
    return "—";
  return fmtRate(s.rate) + fmt::format(" (t{})", s.threads);
}

std::string renderMarkdown(const Options &o, const std::vector<Row> &rows,
                           const std::string &verilatorVersion, const std::string &load) {
  bool anyHand = std::any_of(rows.begin(), rows.end(), [](const Row &r) { return r.hasHand; });
  std::ostringstream md;
  md << "# Simulator benchmark: `tessera sim` against Verilator\n\n"
     << "Generated by `make bench` (`tessera-simbench`, bench/SimBench.cpp); every number "
        "below is measured by that command on the machine named here, so rerunning it "
        "rewrites this page.\n\n";
  md << "- Verilator: " << verilatorVersion
     << ", flags `-O3 --x-assign fast --x-initial fast --noassert`, `OPT_FAST=-O2`, the "
        "better of `--threads "
     << fmt::format("{}", fmt::join(o.threads, "` and `")) << "` (shown as t1, t2).\n"
     << "- Machine: " << cpuModel() << ", " << sysconf(_SC_NPROCESSORS_ONLN)
     << " online CPUs (`nproc`); 1-minute load average at the start and end of the run: " << load
     << " (other work on the machine makes every number noisy).\n"
     << "- Stimulus: seeded random (sim/Stimulus.h, seed " << o.seed
     << "), the same stream in both simulators; reset for 2 cycles. Every run's output "
        "checksum (all outputs, every cycle) must equal Verilator's.\n\n";

  md << "## Throughput\n\n"
     << "Single-model cycles/s over the longest measured run (stimulus, output sampling and "
        "checksum included; build and process start excluded). *emitted*: Verilator on the "
        "Verilog that `tessera verilog` emits for the design — the same design our simulator "
        "runs.";
  if (anyHand)
    md << " *hand-written*: Verilator on an idiomatic hand-written Verilog of the same "
          "array (unpacked per-PE wires; same ports, checksums checked equal), because "
          "Verilator assembles the emitted array ports (one packed vector per port) with "
          "chains of wide concatenations whose cost grows with N⁴. *ratio* is ours over the "
          "better of the two; *ratio (emitted)* over the emitted one.";
  md << " A row whose checksums differ is INVALID and does not count.\n\n"
     << "| design | ops | ours cycles/s | Verilator emitted |";
  if (anyHand)
    md << " Verilator hand-written |";
  md << " ratio |";
  if (anyHand)
    md << " ratio (emitted) |";
  md << " interpreter cycles/s |";
  for (uint32_t l : o.lanes)
    md << " batch " << l << " lanes stim·cycles/s |";
  md << " checksums |\n|---|--:|--:|--:|" << (anyHand ? "--:|" : "") << "--:|"
     << (anyHand ? "--:|" : "") << "--:|";
  for (size_t i = 0; i < o.lanes.size(); ++i)
    md << "--:|";
  md << "---|\n";
  for (const Row &r : rows) {
    md << "| " << designLabel(r) << " | " << r.shape.ops << " | " << fmtRate(r.ours.rate) << " | "
       << fmtRef(r.ref) << " |";
    if (anyHand)
      md << " " << (r.hasHand ? fmtRef(r.refHand) : "—") << " |";
    md << " " << (r.valid() ? fmt::format("**{:.1f}×**", r.ratio()) : "—") << " |";
    if (anyHand)
      md << " " << (r.valid() && r.ref.ok ? fmt::format("{:.1f}×", r.ratioEmitted()) : "—") << " |";
    md << " " << fmtRate(r.interpRate) << " |";
    for (uint32_t l : o.lanes) {
      auto it = r.batchRate.find(l);
      md << " " << (it == r.batchRate.end() ? "—" : fmtRate(it->second)) << " |";
    }
    md << " " << status(r) << " |\n";
  }

  auto f = [](const SideResult &s, double v) { return s.ok ? fmtSeconds(v) : "—"; };
  md << "\n## Build time\n\n"
     << "Cold build: ours = front end (elaboration, scheduling, C++ generation; for the "
        "imported row also the Yosys import) + C++ compile of the model, from an empty "
        "cache; Verilator = `verilator` (Verilog → C++) + `make` (C++ compile, `make -j2`), with "
        "the thread setting of the throughput table. *warm start* = "
        "creating the simulator from the cached model (for the imported row including the "
        "Yosys import, which is not cached).\n\n"
     << "| design | ours front end | ours compile | ours warm start | Verilator emitted "
        "front end | Verilator emitted compile |";
  if (anyHand)
    md << " Verilator hand-written front end | Verilator hand-written compile |";
  md << "\n|---|--:|--:|--:|--:|--:|" << (anyHand ? "--:|--:|" : "") << "\n";
  for (const Row &r : rows) {
    md << "| " << designLabel(r) << " | " << f(r.ours, r.ours.frontEnd) << " | "
       << f(r.ours, r.ours.compile) << " | "
       << (r.ours.warmStart < 0 ? "—" : f(r.ours, r.ours.warmStart)) << " | "
       << f(r.ref, r.ref.frontEnd) << " | " << f(r.ref, r.ref.compile) << " |";
    if (anyHand)
      md << " " << (r.hasHand ? f(r.refHand, r.refHand.frontEnd) : "—") << " | "
         << (r.hasHand ? f(r.refHand, r.refHand.compile) : "—") << " |";
    md << "\n";
  }

  md << "\n## End to end\n\n"
     << "Cold build plus a run of n cycles from the built model (process start, model load, "
        "stimulus, run, checksum); the first column is the wall time of the cold run itself. "
        "`~`: extrapolated from the measured cycles/s (a run predicted to take more than "
     << o.maxMeasureSeconds << " s is not run). Verilator: the variant with the better "
     << "cycles/s" << (anyHand ? " (*ratio* column)" : "") << ".\n\n| design |";
  for (uint64_t n : o.e2eCycles)
    md << " ours " << cyclesLabel(n) << " | Verilator " << cyclesLabel(n) << " |";
  md << " ours peak RSS | Verilator peak RSS |\n|---|";
  for (size_t i = 0; i < o.e2eCycles.size(); ++i)
    md << "--:|--:|";
  md << "--:|--:|\n";
  for (const Row &r : rows) {
    const SideResult &ref = r.bestRef();
    md << "| " << designLabel(r) << " |";
    for (uint64_t n : o.e2eCycles)
      md << " " << fmtE2e(r.ours, n) << " | " << fmtE2e(ref, n) << " |";
    md << " " << fmtMiB(r.ours.ok ? r.ours.peakRssKb : 0) << " | "
       << fmtMiB(ref.ok ? ref.peakRssKb : 0) << " |\n";
  }
  md << "\nPeak RSS: maximum resident set of the simulation process (ours: the benchmark "
        "executable running the cached model; Verilator: its harness).\n";

  std::vector<std::string> notes;
  for (const Row &r : rows) {
    for (const std::string &m : r.mismatches)
      notes.push_back(designLabel(r) + ": " + m);
    if (!r.ours.ok && !r.ours.error.empty())
      notes.push_back(designLabel(r) + ": ours failed: " + r.ours.error);
    if (!r.ref.ok && !r.ref.error.empty())
      notes.push_back(designLabel(r) + ": Verilator failed: " + r.ref.error);
    if (r.hasHand && !r.refHand.ok && !r.refHand.error.empty())
      notes.push_back(designLabel(r) + ": Verilator (hand-written) failed: " + r.refHand.error);
    if (!r.interpError.empty())
      notes.push_back(designLabel(r) + ": interpreter failed: " + r.interpError);
    for (auto &[l, e] : r.batchError)
      notes.push_back(designLabel(r) + fmt::format(": batch {} lanes failed: ", l) + e);
  }
  if (!notes.empty()) {
    md << "\n## Problems\n\n";
    for (std::string n : notes) {
      std::replace(n.begin(), n.end(), '\n', ' ');
      if (n.size() > 600)
        n = n.substr(0, 600) + " …";
      md << "- " << n << "\n";
    }
  }

  std::vector<std::string> targets;
  for (const Row &r : rows) {
    bool flat = r.spec.flat;
    bool big =
        r.spec.kind == DesignSpec::Systolic && !flat && (r.spec.size == 16 || r.spec.size == 32);
    if (!flat && !big)
      continue;
    double goal = flat ? 1.0 : 5.0;
    if (!r.valid()) {
      targets.push_back(
          fmt::format("{}: target ≥{:.0f}× — not measured ({})", designLabel(r), goal, status(r)));
      continue;
    }
    auto verdict = [&](double ratio) {
      return ratio >= goal ? std::string("met")
                           : fmt::format("missed by a factor {:.2f}", goal / std::max(ratio, 1e-9));
    };
    std::string t = fmt::format("{}: {:.2f}× (target ≥{:.0f}×: {})", designLabel(r), r.ratio(),
                                goal, verdict(r.ratio()));
    if (r.hasHand && r.refHand.ok && r.ref.ok && r.ratioEmitted() > 0)
      t += fmt::format("; against the emitted Verilog alone {:.2f}× ({})", r.ratioEmitted(),
                       verdict(r.ratioEmitted()));
    targets.push_back(t);
  }
  std::vector<const Row *> sys;
  for (const Row &r : rows)
    if (r.spec.kind == DesignSpec::Systolic && !r.spec.flat && r.ours.ok)
      sys.push_back(&r);
  if (sys.size() >= 2) {
    std::string t = "build time against N (ours, front end + compile):";
    for (const Row *r : sys)
      t += fmt::format(" N={} {}", r->spec.size, fmtSeconds(r->ours.frontEnd + r->ours.compile));
    targets.push_back(t);
  }
  if (!targets.empty()) {
    md << "\n## Targets\n\n";
    for (const std::string &t : targets)
      md << "- " << t << "\n";
  }

  md << "\n## Designs\n\n"
     << "- *systolic N×N* (lib/hw/Designs.cpp `systolicArray`): one `pe` module (int8 a, b "
        "registered and passed right / down; 32-bit accumulator += sext(a)·sext(b); "
        "synchronous reset, `clear`) instantiated as one instance array of N² elements, "
        "emitted as a generate loop. Outputs: the a values leaving the right edge, the b "
        "values leaving the bottom edge, and the XOR of all N² accumulators (a tree of wide "
        "XORs), so that every PE is observable — neither simulator may drop one as dead "
        "code — while the sampled outputs stay at 3N+4 bytes per cycle.\n"
     << "- *controller* (`controllerDesign`): a ring of small CPUs, each its own module "
        "with a 256-word instruction ROM holding a pseudo-random program, a 16×32 register "
        "file, a 256×32 data RAM with synchronous reads (two-cycle loads), branches, a "
        "watchdog counter and an output register; outputs the XOR of the cores' outputs "
        "and every program counter. No instance arrays.\n"
     << "- *imported, flattened*: the array's emitted Verilog read back through Yosys "
        "(`flatten`) into hw IR, so that the simulator sees N² separate PEs, as it would for "
        "third-party Verilog. Verilator's numbers are those of the hierarchical row (the "
        "same Verilog).\n"
     << "\n*ops* counts hw IR operations over the whole hierarchy (array elements counted "
        "individually). Batch mode: one model with L lanes, lane l driven by seed + l; lane "
        "0's checksum must equal the single model's.\n";
  return md.str();
}

nlohmann::ordered_json sideJson(const SideResult &s) {
  nlohmann::ordered_json j;
  j["ok"] = s.ok;
  if (!s.ok) {
    j["error"] = s.error;
    return j;
  }
  j["cyclesPerSecond"] = s.rate;
  j["rateCycles"] = s.rateCycles;
  j["frontEndSeconds"] = s.frontEnd;
  j["compileSeconds"] = s.compile;
  j["warmStartSeconds"] = s.warmStart;
  j["peakRssKb"] = s.peakRssKb;
  if (s.threads)
    j["threads"] = s.threads;
  nlohmann::ordered_json e = nlohmann::ordered_json::array();
  for (auto &[n, v] : s.e2e)
    e.push_back({{"cycles", n}, {"seconds", v.seconds}, {"measured", v.measured}});
  j["endToEnd"] = e;
  nlohmann::ordered_json c = nlohmann::ordered_json::object();
  for (auto &[n, h] : s.checksums)
    c[std::to_string(n)] = fmt::format("{:016x}", h);
  j["checksums"] = c;
  return j;
}

nlohmann::ordered_json renderJson(const Options &o, const std::vector<Row> &rows,
                                  const std::string &verilatorVersion, const std::string &load) {
  nlohmann::ordered_json j;
  j["verilator"] = verilatorVersion;
  j["cpu"] = cpuModel();
  j["nproc"] = sysconf(_SC_NPROCESSORS_ONLN);
  j["loadAverage"] = load;
  j["seed"] = o.seed;
  nlohmann::ordered_json rs = nlohmann::ordered_json::array();
  for (const Row &r : rows) {
    nlohmann::ordered_json x;
    x["design"] = r.spec.name;
    x["ops"] = r.shape.ops;
    x["leafInstances"] = r.shape.instances;
    x["verilogLines"] = r.verilogLines;
    x["valid"] = r.valid();
    x["ratio"] = r.valid() ? r.ratio() : 0.0;
    x["checkedCycles"] = r.checkedCycles;
    x["ours"] = sideJson(r.ours);
    x["ratioEmitted"] = r.valid() ? r.ratioEmitted() : 0.0;
    x["verilator"] = sideJson(r.ref);
    if (r.hasHand)
      x["verilatorHandWritten"] = sideJson(r.refHand);
    x["interpCyclesPerSecond"] = r.interpRate;
    x["interpCycles"] = r.interpCycles;
    nlohmann::ordered_json b = nlohmann::ordered_json::object();
    for (auto &[l, v] : r.batchRate)
      b[std::to_string(l)] = v;
    x["batchStimulusCyclesPerSecond"] = b;
    x["mismatches"] = r.mismatches;
    rs.push_back(x);
  }
  j["rows"] = rs;
  return j;
}

std::vector<std::string> splitList(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"tessera-simbench: tessera sim against Verilator (docs/sim-benchmark.md)",
               "tessera-simbench"};
  Options o;
  ChildArgs child;
  bool isChild = false, quick = false;
  std::string designs = "systolic8,systolic16,systolic32,systolic64,controller,systolic16-flat";
  std::string e2e, threads, lanes;
  app.add_option("--designs", designs,
                 "comma-separated: systolicN, controller[K], systolicN-flat (default: all)");
  app.add_option("--cycles", e2e,
                 "end-to-end cycle counts, ascending (default 1000,100000,"
                 "10000000)");
  app.add_option("--threads", threads, "Verilator --threads settings (default 1,2)");
  app.add_option("--lanes", lanes, "batch-mode lane counts (default 16,64; 0 = none)");
  app.add_option("--seed", o.seed, "stimulus seed");
  app.add_option("--max-measure-s", o.maxMeasureSeconds,
                 "extrapolate runs predicted to take longer (default 60)");
  app.add_option("--work", o.workDir, "work directory (default $TMPDIR/tessera-simbench)");
  app.add_option("--md", o.mdPath, "write the Markdown report here");
  app.add_option("--json", o.jsonPath, "write the JSON results here");
  app.add_option("--cxx-flags", o.cxxFlags,
                 "C++ flags of our compiled models (default \"" + o.cxxFlags + "\")");
  app.add_flag(
      "--no-verilator", [&](int64_t) { o.verilator = false; }, "skip Verilator");
  app.add_flag(
      "--no-hand-verilog", [&](int64_t) { o.handVerilog = false; },
      "systolic rows: skip Verilator on the hand-written Verilog baseline");
  app.add_flag("--quick", quick, "systolic8 and controller4 up to 10^5 cycles, 16 lanes");
  app.add_flag(
      "--smoke", o.smoke,
      "test mode: systolic4, controller2 and systolic4-flat, 1000 cycles, exit 1 unless every "
      "checksum matches Verilator");
  app.add_flag(
      "--quiet", [&](int64_t) { o.verbose = false; }, "no progress on stderr");
  // Internal: one run of our simulator in a child process.
  app.add_flag("--child", isChild)->group("");
  app.add_option("--design", child.design)->group("");
  app.add_option("--verilog", child.verilog)->group("");
  app.add_option("--engine", child.engine)->group("");
  app.add_option("--cache", child.cache)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  if (isChild) {
    child.seed = o.seed;
    child.cxxFlags = o.cxxFlags;
    if (!lanes.empty())
      child.lanes = static_cast<uint32_t>(std::stoul(lanes));
    if (!e2e.empty())
      child.cycles = std::stoull(e2e);
    return runChild(child);
  }

  if (quick) {
    designs = "systolic8,controller4";
    e2e = e2e.empty() ? "1000,100000" : e2e;
    lanes = lanes.empty() ? "16" : lanes;
  }
  if (o.smoke) {
    designs = "systolic4,controller2,systolic4-flat";
    e2e = "1000";
    threads = threads.empty() ? "1" : threads;
    lanes = "4";
    o.interpSeconds = 0;
  }
  try {
    if (!e2e.empty()) {
      o.e2eCycles.clear();
      for (auto &s : splitList(e2e))
        o.e2eCycles.push_back(std::stoull(s));
    }
    if (!threads.empty()) {
      o.threads.clear();
      for (auto &s : splitList(threads))
        o.threads.push_back(std::stoi(s));
    }
    if (!lanes.empty()) {
      o.lanes.clear();
      for (auto &s : splitList(lanes))
        if (std::stoul(s) > 0)
          o.lanes.push_back(static_cast<uint32_t>(std::stoul(s)));
    }
  } catch (const std::exception &) {
    std::cerr << "tessera-simbench: bad number in --cycles, --threads or --lanes\n";
    return 2;
  }
  if (o.e2eCycles.empty() || !std::is_sorted(o.e2eCycles.begin(), o.e2eCycles.end()) ||
      o.e2eCycles.front() == 0 || o.threads.empty()) {
    std::cerr << "tessera-simbench: --cycles must be ascending and positive, --threads "
                 "non-empty\n";
    return 2;
  }
  std::vector<DesignSpec> specs;
  for (const std::string &name : splitList(designs)) {
    auto s = parseDesignName(name);
    if (!s) {
      std::cerr << "tessera-simbench: unknown design '" << name
                << "' (systolicN, controller[K], systolicN-flat)\n";
      return 2;
    }
    specs.push_back(*s);
  }
  std::error_code ec;
  o.self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec)
    o.self = argv[0];
  if (o.workDir.empty()) {
    const char *tmp = getenv("TMPDIR");
    o.workDir = std::string(tmp && *tmp ? tmp : "/tmp") + "/tessera-simbench";
  }
  fs::create_directories(o.workDir, ec);
  o.workDir = fs::absolute(o.workDir).string();

  std::string version = o.verilator ? firstLine("verilator --version 2>&1") : "not run";
  std::string load = loadAverage();
  std::vector<Row> rows;
  std::map<std::string, Row> done;
  for (const DesignSpec &s : specs) {
    rows.push_back(runDesign(o, s, done));
    done[s.name] = rows.back();
  }

  load += " / " + loadAverage();
  std::string md = renderMarkdown(o, rows, version, load);
  std::cout << md;
  if (!o.mdPath.empty())
    if (auto st = writeTextFile(o.mdPath, md); !st) {
      std::cerr << st.error().render();
      return 1;
    }
  if (!o.jsonPath.empty())
    if (auto st = writeTextFile(o.jsonPath, renderJson(o, rows, version, load).dump(2) + "\n");
        !st) {
      std::cerr << st.error().render();
      return 1;
    }
  bool allValid = std::all_of(rows.begin(), rows.end(), [&](const Row &r) {
    return r.ours.ok && (!o.verilator || r.valid()) && r.mismatches.empty();
  });
  return o.smoke && !allValid ? 1 : 0;
}
