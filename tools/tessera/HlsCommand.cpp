//===- HlsCommand.cpp - `tessera hls` ---------------------------------------===//
//
//   tessera hls FILE.(c|cpp) --top FUNC [--clock-ns T] [--target xilinx|asic] [-o DIR]
//               [--cosim [--vectors N] [--seed S]] [--synth] [--strict-ii] [-D NAME=V]...
//               [-I DIR]... [--json FILE]
//
// C/C++ kernel -> clang-14 + our pass pipeline -> CDFG -> SDC / modulo schedule -> FSM +
// datapath in hw IR (docs/hls.md). Writes into DIR:
//   <top>.v          synthesizable Verilog (verilog::emitVerilog)
//   <top>.hw         the hw IR, every op located at its C line
//   <top>.cdfg       the CDFG listing
//   <top>.ll         the optimised LLVM IR the CDFG came from
//   schedule.txt     the schedule report: per loop its II, MII bounds and what limits it
//   report.json / report.html
//                    latency, II per loop and its limit, clock estimate, co-simulation
//                    result, Yosys synth_xilinx resources (--synth), compile times
//   synth/           Yosys logs (--synth)
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "fpga/Fpga.h"
#include "hls/Cosim.h"
#include "hls/Flow.h"
#include "hw/Text.h"
#include "support/FileIO.h"
#include "support/Html.h"
#include "support/Json.h"
#include "support/Svg.h"
#include "verilog/ExternalSim.h"
#include "verilog/Verilog.h"

#include <filesystem>
#include <fmt/format.h>
#include <iostream>

namespace tessera::tool {

namespace {

struct HlsOptions {
  std::string file;
  std::string top;
  double clockNs = 5.0;
  std::string target = "xilinx";
  std::string outDir;
  bool cosim = false;
  uint32_t vectors = 8;
  uint64_t seed = 1;
  bool synth = false;
  bool strictII = false;
  std::vector<std::string> defines, includeDirs;
  std::string json;
  std::string simCheck; ///< "", "verilator" or "icarus"
};

int failLocated(Diagnostic d) {
  if (d.sourceLine.empty() && d.loc.known() && d.loc.line)
    if (auto text = readTextFile(d.loc.file); text.ok())
      d.sourceLine = sourceLineAt(*text, d.loc.line);
  return fail(d);
}

std::string loopName(const hls::Cdfg &g, hls::LoopId l) {
  const hls::Loop &lp = g.loops[l];
  std::string where = lp.loc.known() ? lp.loc.str() : g.blocks[lp.header].name;
  return "loop " + std::to_string(l) + " (" + where + ")";
}

/// Forwards to a simulator and records, per clock edge, the data inputs in effect and the
/// outputs sampled before the edge: the trace an external simulator replays.
class RecordingSim : public sim::Simulator {
public:
  explicit RecordingSim(sim::Simulator &s) : s_(s) {
    for (const sim::PortInfo &p : s.inputs())
      shadow_.push_back(hw::BitVec(p.width, 0));
  }
  const std::vector<sim::PortInfo> &inputs() const override { return s_.inputs(); }
  const std::vector<sim::PortInfo> &outputs() const override { return s_.outputs(); }
  uint32_t lanes() const override { return 1; }
  void poke(uint32_t i, const hw::BitVec &v, uint32_t lane) override {
    shadow_[i] = v;
    s_.poke(i, v, lane);
  }
  void poke(uint32_t i, uint64_t v, uint32_t lane) override {
    shadow_[i] = hw::BitVec(s_.inputs()[i].width, v);
    s_.poke(i, v, lane);
  }
  hw::BitVec peek(uint32_t o, uint32_t lane) override { return s_.peek(o, lane); }
  uint64_t peek64(uint32_t o, uint32_t lane) override { return s_.peek64(o, lane); }
  void pokeWords(uint32_t i, const uint64_t *w, uint32_t lane) override {
    s_.pokeWords(i, w, lane);
    const uint32_t width = s_.inputs()[i].width;
    shadow_[i] = hw::BitVec::fromWords(width, std::vector<uint64_t>(w, w + (width + 63) / 64));
  }
  void peekWords(uint32_t o, uint64_t *w, uint32_t lane) override { s_.peekWords(o, w, lane); }
  uint64_t checksumOutputs(uint64_t h, uint32_t lane) override { return s_.checksumOutputs(h, lane); }
  std::optional<hw::BitVec> peekSignal(std::string_view p, uint32_t lane) override {
    return s_.peekSignal(p, lane);
  }
  void step(uint64_t n) override {
    for (uint64_t k = 0; k < n; ++k) {
      std::vector<hw::BitVec> in, out;
      for (size_t i = 0; i < shadow_.size(); ++i)
        if (!s_.inputs()[i].isClock)
          in.push_back(shadow_[i]);
      for (uint32_t o = 0; o < s_.outputs().size(); ++o)
        out.push_back(s_.peek(o));
      inTrace.push_back(std::move(in));
      outTrace.push_back(std::move(out));
      s_.step(1);
    }
  }
  uint64_t cycle() const override { return s_.cycle(); }
  Status openVcd(const std::string &path, const std::vector<std::string> &scopes, uint64_t from,
                 uint64_t to) override {
    return s_.openVcd(path, scopes, from, to);
  }
  void closeVcd() override { s_.closeVcd(); }
  const sim::BuildStats &buildStats() const override { return s_.buildStats(); }

  std::vector<std::vector<hw::BitVec>> inTrace, outTrace; ///< [cycle][port]

private:
  sim::Simulator &s_;
  std::vector<hw::BitVec> shadow_;
};

/// The emitted Verilog in Verilator or Icarus against Tessera's simulator: one co-simulation
/// vector's run is recorded at the kernel's ports (every input and output, every cycle) and
/// replayed in the external simulator, whose outputs must equal Tessera's in every cycle.
/// Tessera's run is itself compared with the native C by --cosim, so this checks the
/// emitted Verilog against the C on a simulator we did not write.
Expected<std::string> crossCheck(const hls::Cdfg &g, const hw::Design &d, const std::string &verilog,
                                 verilog::RefTool tool, const std::string &workDir, uint64_t seed) {
  sim::SimOptions so;
  so.engine = sim::Engine::Interp;
  TRY_ASSIGN(std::unique_ptr<sim::Simulator> sim, sim::Simulator::create(d, so));
  RecordingSim rec(*sim);
  hls::CosimVector vec = hls::randomVector(g, seed);
  TRY_ASSIGN(hls::RtlRun run, hls::runRtl(g, rec, vec));
  std::error_code ec;
  std::filesystem::create_directories(workDir, ec);
  const std::string vfile = (std::filesystem::path(workDir) / (g.name + ".v")).string();
  TRY(writeTextFile(vfile, verilog));
  const hw::Module &top = *d.top();
  std::vector<std::string> vnames = verilog::verilogPortNames(top);
  std::vector<verilog::RefPort> ins, outs;
  std::vector<std::string> outNames;
  for (size_t p = 0; p < top.ports.size(); ++p) {
    verilog::RefPort rp{vnames[p], top.ports[p].width, top.ports[p].name == "clk"};
    if (top.ports[p].dir == hw::PortDir::In)
      ins.push_back(rp);
    else {
      outs.push_back(rp);
      outNames.push_back(top.ports[p].name);
    }
  }
  verilog::RefOptions ro;
  ro.tool = tool;
  ro.workDir = workDir;
  ro.resetCycles = 0;
  ro.explicitInputs = rec.inTrace;
  ro.cycles = rec.inTrace.size();
  ro.timeoutSeconds = 300;
  TRY_ASSIGN(verilog::RefResult ref, verilog::runReference({vfile}, top.name(), ins, outs, ro));
  const char *toolName = tool == verilog::RefTool::Verilator ? "Verilator" : "Icarus Verilog";
  if (!ref.firstUnknown.empty())
    return Diagnostic::error("sim-mismatch", std::string(toolName) + " output has x/z bits: " +
                                                 ref.firstUnknown);
  if (ref.outputs.size() != rec.outTrace.size())
    return Diagnostic::error("sim-mismatch", fmt::format("{} ran {} cycles, Tessera {}", toolName,
                                                         ref.outputs.size(), rec.outTrace.size()));
  for (size_t c = 0; c < rec.outTrace.size(); ++c)
    for (size_t o = 0; o < outNames.size(); ++o)
      if (!(ref.outputs[c][o] == rec.outTrace[c][o]))
        return Diagnostic::error(
            "sim-mismatch", fmt::format("{}: output '{}' in cycle {}: {} gives {}, Tessera's "
                                        "simulator {}",
                                        g.name, outNames[o], c, toolName,
                                        ref.outputs[c][o].toHex(), rec.outTrace[c][o].toHex()));
  return fmt::format("{}{}: {} cycles, {} outputs, every cycle equal to Tessera's simulator "
                     "(latency {} cycles)",
                     toolName, ref.version.empty() ? "" : " (" + ref.version + ")",
                     rec.outTrace.size(), outNames.size(), run.latency);
}

} // namespace

int runHls(const HlsOptions &o) {
  hls::Target target;
  if (o.target == "xilinx")
    target = hls::Target::Xilinx;
  else if (o.target == "asic")
    target = hls::Target::Asic;
  else
    return fail(Diagnostic::error("unknown-target", "unknown HLS target '" + o.target +
                                                        "' (expected xilinx or asic)"));
  if (!(o.clockNs > 0) || o.clockNs > 1000)
    return fail(Diagnostic::error("bad-argument", "--clock-ns must be in (0, 1000]"));
  const std::string outDir = o.outDir.empty() ? "hls-" + o.top : o.outDir;
  std::error_code ec;
  std::filesystem::create_directories(outDir, ec);
  if (ec)
    return fail(Diagnostic::error("io-error", "cannot create '" + outDir + "': " + ec.message()));

  hls::FlowOptions flow;
  flow.frontEnd.top = o.top;
  flow.frontEnd.defines = o.defines;
  flow.frontEnd.includeDirs = o.includeDirs;
  flow.frontEnd.dumpIrTo = (std::filesystem::path(outDir) / (o.top + ".ll")).string();
  flow.schedule.clockNs = o.clockNs;
  flow.schedule.target = target;
  flow.schedule.strictII = o.strictII;
  auto k = hls::buildKernel(o.file, flow);
  if (!k.ok())
    return failLocated(k.error());
  const hls::Cdfg *g = &k->cdfg;
  const hls::Schedule *s = &k->schedule;
  const hw::Design *d = &k->design;
  const hls::RtlStats &stats = k->rtlStats;
  const uint32_t forwarded = k->loadsForwarded;
  const hls::NarrowStats &narrowed = k->narrowed;
  auto v = verilog::emitVerilog(*d);
  if (!v.ok())
    return fail(v.error());
  const double frontSeconds = k->frontEndSeconds, scheduleSeconds = k->scheduleSeconds,
               rtlSeconds = k->rtlSeconds, compileSeconds = k->totalSeconds();

  auto out = [&](const std::string &name) {
    return (std::filesystem::path(outDir) / name).string();
  };
  for (auto [name, text] : std::vector<std::pair<std::string, std::string>>{
           {o.top + ".v", *v},
           {o.top + ".hw", hw::printDesign(*d)},
           {o.top + ".cdfg", g->print()},
           {"schedule.txt", hls::scheduleReport(*g, *s)}})
    if (Status st = writeTextFile(out(name), text); !st.ok())
      return fail(st.error());

  size_t hwOps = 0;
  for (const auto &m : d->modules())
    hwOps += m->ops.size();
  std::cout << "hls: " << g->name << " (" << o.file << "): " << g->blocks.size() << " blocks, "
            << g->loops.size() << " loops, " << g->nodes.size() << " CDFG nodes -> " << hwOps
            << " hw IR ops, " << stats.states << " FSM states, " << stats.registerBits
            << " register bits\n";
  std::cout << "  middle end: " << forwarded << " loads forwarded, " << narrowed.nodesNarrowed
            << " operators narrowed (" << narrowed.bitsBefore << " -> " << narrowed.bitsAfter
            << " result bits)\n";
  std::cout << "  clock " << formatFixed(o.clockNs, 2) << " ns, critical path "
            << formatFixed(s->criticalPathNs, 2) << " ns; compile "
            << formatFixed(compileSeconds, 2) << " s (front end "
            << formatFixed(frontSeconds, 2) << " s)\n";

  nlohmann::ordered_json loops = nlohmann::ordered_json::array();
  for (const hls::LoopTiming &lt : s->loops) {
    if (lt.loop == hls::kNone || lt.loop >= g->loops.size())
      continue;
    std::string line = "  " + loopName(*g, lt.loop) + ": " + hls::loopSummary(lt);
    std::cout << line << "\n";
    for (const std::string &n : lt.notes)
      std::cout << "    note: " << n << "\n";
    const hls::Loop &lp = g->loops[lt.loop];
    loops.push_back({{"loop", lt.loop},
                     {"location", lp.loc.str()},
                     {"trip_count", lp.tripCount ? nlohmann::ordered_json(*lp.tripCount)
                                                 : nlohmann::ordered_json(nullptr)},
                     {"requested_ii", lp.requestedII},
                     {"pipelined", lt.pipelined},
                     {"ii", lt.ii},
                     {"res_mii", lt.resMII},
                     {"rec_mii", lt.recMII},
                     {"depth", lt.depth},
                     {"limit", lt.limit.description},
                     {"notes", lt.notes}});
  }

  nlohmann::ordered_json report;
  report["kernel"] = g->name;
  report["source"] = std::filesystem::path(o.file).filename().string();
  report["target"] = o.target;
  report["clock_ns"] = o.clockNs;
  report["critical_path_ns"] = s->criticalPathNs;
  report["cdfg_nodes"] = g->nodes.size();
  report["loads_forwarded"] = forwarded;
  report["narrowed_operators"] = narrowed.nodesNarrowed;
  report["hw_ops"] = hwOps;
  report["fsm_states"] = stats.states;
  report["register_bits"] = stats.registerBits;
  report["shared_units"] = stats.sharedUnits;
  report["loops"] = loops;
  nlohmann::ordered_json ifc = nlohmann::ordered_json::array();
  for (const hls::Param &p : g->params) {
    nlohmann::ordered_json e = {{"name", p.name}, {"c_type", p.cType}};
    if (p.isStream && p.index < g->streams.size()) {
      const hls::Stream &st = g->streams[p.index];
      e["kind"] = st.dir == hls::StreamDir::In ? "input stream" : "output stream";
      e["width"] = st.width;
    } else if (p.isArray && p.index < g->memories.size()) {
      e["kind"] = "ram";
      e["width"] = g->memories[p.index].elemWidth;
      e["depth"] = g->memories[p.index].depth;
      e["ports"] = g->memories[p.index].ports;
    } else if (p.index < g->args.size()) {
      e["kind"] = "scalar";
      e["width"] = g->args[p.index].width;
    }
    ifc.push_back(e);
  }
  report["interface"] = ifc;

  int rc = 0;
  if (o.cosim) {
    hls::CosimOptions co;
    co.randomVectors = o.vectors;
    co.seed = o.seed;
    co.includeDirs = o.includeDirs;
    auto r = hls::cosimKernel(*g, *d, co);
    if (!r.ok())
      return failLocated(r.error());
    nlohmann::ordered_json cj;
    cj["vectors"] = r->vectors;
    cj["passed"] = r->passed;
    cj["native"] = r->nativeUsed;
    cj["latency_min"] = r->minLatency;
    cj["latency_max"] = r->maxLatency;
    cj["latency_mean"] = r->meanLatency;
    nlohmann::ordered_json measured = nlohmann::ordered_json::array();
    for (size_t l = 0; l < r->loopII.size(); ++l)
      if (r->loopII[l])
        measured.push_back({{"loop", l}, {"ii", r->loopII[l]}});
    cj["measured_ii"] = measured;
    if (r->firstMismatch) {
      cj["first_mismatch"] = r->firstMismatch->str();
      std::cout << "  cosim: MISMATCH: " << r->firstMismatch->str() << "\n";
      rc = 1;
    } else {
      std::cout << "  cosim: " << r->vectors << " vectors, 0 mismatches against "
                << (r->nativeUsed ? "the native C and the CDFG" : "the CDFG") << "; latency "
                << r->minLatency;
      if (r->maxLatency != r->minLatency)
        std::cout << ".." << r->maxLatency;
      std::cout << " cycles";
      for (size_t l = 0; l < r->loopII.size(); ++l)
        if (r->loopII[l])
          std::cout << ", measured II " << r->loopII[l] << " (loop " << l << ")";
      std::cout << "\n";
    }
    report["cosim"] = cj;
  }

  if (!o.simCheck.empty()) {
    if (o.simCheck != "verilator" && o.simCheck != "icarus")
      return fail(Diagnostic::error("bad-argument", "--sim-check takes verilator or icarus"));
    auto r = crossCheck(*g, *d, *v,
                        o.simCheck == "verilator" ? verilog::RefTool::Verilator
                                                  : verilog::RefTool::Icarus,
                        out("sim-check-" + o.simCheck), o.seed);
    if (!r.ok())
      return fail(r.error());
    std::cout << "  sim-check: " << *r << "\n";
    report["sim_check"] = o.simCheck;
  }

  if (o.synth) {
    fpga::FlowOptions fo2;
    fo2.target = fpga::Target::Xilinx;
    fo2.outDir = out("synth");
    fo2.noShare = true; // the HLS binding shares units itself
    auto fr = fpga::runFlow(*d, fo2);
    if (!fr.ok())
      return fail(fr.error());
    nlohmann::ordered_json res = nlohmann::ordered_json::object();
    std::cout << "  synth_xilinx (" << fr->device << "):";
    for (const fpga::ResourceUse &u : fr->resources) {
      res[u.name] = u.used;
      std::cout << " " << u.name << " " << u.used;
    }
    std::cout << "\n";
    report["resources"] = res;
    report["device"] = fr->device;
  }
  report["compile_seconds"] = {{"front_end", frontSeconds},
                               {"middle_end", k->middleSeconds},
                               {"schedule", scheduleSeconds},
                               {"rtl", rtlSeconds},
                               {"total", compileSeconds}};

  // Reports: JSON without times for byte-stable output; times in a separate key only when
  // --json asks (bench).
  nlohmann::ordered_json stable = report;
  stable.erase("compile_seconds");
  if (Status st = writeTextFile(out("report.json"), writeJson(stable)); !st.ok())
    return fail(st.error());
  {
    HtmlDoc h("tessera hls: " + g->name);
    h.paragraph("Source " + o.file + ", target " + o.target + ", clock " +
                formatFixed(o.clockNs, 2) + " ns (critical path estimate " +
                formatFixed(s->criticalPathNs, 2) + " ns).");
    std::vector<std::vector<std::string>> rows;
    for (const auto &l : loops)
      rows.push_back({std::to_string(l["loop"].get<uint32_t>()), l["location"].get<std::string>(),
                      l["pipelined"].get<bool>() ? "yes" : "no",
                      l["pipelined"].get<bool>() ? std::to_string(l["ii"].get<uint32_t>()) : "-",
                      std::to_string(l["res_mii"].get<uint32_t>()),
                      std::to_string(l["rec_mii"].get<uint32_t>()),
                      l["limit"].get<std::string>()});
    h.heading(2, "Loops");
    h.table({"loop", "C location", "pipelined", "II", "ResMII", "RecMII", "what limits the II"},
            rows);
    if (report.contains("cosim")) {
      const auto &c = report["cosim"];
      h.heading(2, "Co-simulation");
      h.paragraph(std::to_string(c["vectors"].get<uint32_t>()) + " vectors, " +
                  std::to_string(c["passed"].get<uint32_t>()) + " passed; latency " +
                  std::to_string(c["latency_min"].get<uint64_t>()) + ".." +
                  std::to_string(c["latency_max"].get<uint64_t>()) + " cycles.");
    }
    if (report.contains("resources")) {
      h.heading(2, "Resources (Yosys synth_xilinx)");
      std::vector<std::vector<std::string>> rr;
      for (auto it = report["resources"].begin(); it != report["resources"].end(); ++it)
        rr.push_back({it.key(), std::to_string(it.value().get<uint64_t>())});
      h.table({"resource", "used"}, rr);
    }
    h.heading(2, "Schedule");
    h.preformatted(hls::scheduleReport(*g, *s));
    if (Status st = writeTextFile(out("report.html"), h.render()); !st.ok())
      return fail(st.error());
  }
  if (!o.json.empty())
    if (Status st = writeTextFile(o.json, writeJson(report)); !st.ok())
      return fail(st.error());
  std::cout << "  wrote " << outDir << "/{" << o.top << ".v, " << o.top << ".hw, " << o.top
            << ".cdfg, " << o.top << ".ll, schedule.txt, report.json, report.html}\n";
  return rc;
}

void addHlsCommand(CLI::App &app, int &rc) {
  auto o = std::make_shared<HlsOptions>();
  CLI::App *cmd = app.add_subcommand("hls", "C/C++ kernel to pipelined, verified RTL");
  cmd->add_option("file", o->file, "the kernel source (.c or .cpp)")->required();
  cmd->add_option("--top", o->top, "the top function")->required();
  cmd->add_option("--clock-ns", o->clockNs, "target clock period in ns (default 5)");
  cmd->add_option("--target", o->target, "xilinx (default) or asic: the operator library");
  cmd->add_option("-o,--output", o->outDir, "output directory (default hls-<top>)");
  cmd->add_flag("--cosim", o->cosim, "co-simulate the RTL against the native C and the CDFG");
  cmd->add_option("--vectors", o->vectors, "--cosim: random input vectors (default 8)");
  cmd->add_option("--seed", o->seed, "--cosim: first random seed (default 1)");
  cmd->add_flag("--synth", o->synth, "run Yosys synth_xilinx for LUT / FF / DSP / BRAM counts");
  cmd->add_flag("--strict-ii", o->strictII,
                "an II request the loop cannot meet is an error (default: raised, with a note)");
  cmd->add_option("-D", o->defines, "preprocessor definition NAME[=VALUE]");
  cmd->add_option("-I", o->includeDirs, "include directory");
  cmd->add_option("--json", o->json, "also write the report with compile times here");
  cmd->add_option("--sim-check", o->simCheck,
                  "verilator or icarus: replay one vector's port trace on the emitted Verilog "
                  "and compare every output, every cycle");
  cmd->callback([o, &rc] { rc = runHls(*o); });
}

} // namespace tessera::tool
