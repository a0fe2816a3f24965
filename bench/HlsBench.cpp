//===- HlsBench.cpp - the tessera hls kernel suite: QoR and compile times -----===//
//
//   tessera-hlsbench [--suite examples/hls/suite.yaml] [--md FILE] [--json FILE]
//                    [--work DIR] [--clock-ns T] [--no-synth] [--vectors N]
//
// For every kernel of the suite: the HLS flow (hls::buildKernel) timed as the best of
// three runs, co-simulation against the native C and the CDFG (latency and measured II
// per pipelined loop), and Yosys synth_xilinx resource counts of the emitted Verilog.
// Writes docs/hls-results.md (and .json). Compile times are wall-clock on the machine that
// ran it; everything else is deterministic.
//
//===----------------------------------------------------------------------===//
#include "fpga/Fpga.h"
#include "hls/Cosim.h"
#include "hls/Flow.h"
#include "support/FileIO.h"
#include "support/Json.h"
#include "support/Svg.h"
#include "support/Yaml.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

using namespace tessera;

namespace {

struct Kernel {
  std::string file, top, what;
};

Expected<std::vector<Kernel>> loadSuite(const std::string &path) {
  TRY_ASSIGN(YamlDocument doc, loadYamlFile(path));
  DiagnosticEngine diags;
  YamlMap root = YamlMap::root(doc, diags);
  std::vector<Kernel> ks;
  root.requiredMapSeq("kernels", [&](YamlMap &m, size_t) {
    Kernel k;
    m.required("file", k.file);
    m.required("top", k.top);
    m.optional("what", k.what);
    ks.push_back(k);
  });
  TRY(root.finish());
  return ks;
}

int fail(const Diagnostic &d) {
  std::cerr << d.render() << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app("tessera hls kernel suite: latency, II, resources, compile time");
  std::string suite = std::string(TESSERA_SOURCE_DIR) + "/examples/hls/suite.yaml";
  std::string md, json, work = "hlsbench";
  double clockNs = 5.0;
  bool noSynth = false;
  uint32_t vectors = 8;
  double synthTimeout = 600;
  std::vector<std::string> synthNotes;
  app.add_option("--synth-timeout", synthTimeout, "seconds per Yosys run (default 600)");
  app.add_option("--suite", suite, "the suite manifest");
  app.add_option("--md", md, "write the Markdown table here (docs/hls-results.md)");
  app.add_option("--json", json, "write the results as JSON here");
  app.add_option("--work", work, "working directory (Verilog, Yosys logs)");
  app.add_option("--clock-ns", clockNs, "target clock period (default 5)");
  app.add_flag("--no-synth", noSynth, "skip Yosys synth_xilinx");
  app.add_option("--vectors", vectors, "co-simulation vectors per kernel (default 8)");
  std::vector<std::string> only;
  app.add_option("--kernel", only,
                 "only this kernel (its top function's name; repeatable; default: all)");
  CLI11_PARSE(app, argc, argv);

  auto kernels = loadSuite(suite);
  if (!kernels.ok())
    return fail(kernels.error());
  if (!only.empty()) {
    for (const std::string &name : only)
      if (std::none_of(kernels->begin(), kernels->end(),
                       [&](const Kernel &k) { return k.top == name; }))
        return fail(
            Diagnostic::error("unknown-kernel", "no kernel '" + name + "' in the suite " + suite));
    std::erase_if(*kernels, [&](const Kernel &k) {
      return std::find(only.begin(), only.end(), k.top) == only.end();
    });
  }
  const std::filesystem::path dir = std::filesystem::path(suite).parent_path();

  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::ostringstream table;
  table << "| kernel | what | pipelined loops: II (what limits it) | latency (cycles) | "
           "critical path (ns) | LUT | FF | DSP | BRAM | HLS compile (s) |\n"
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  size_t i = 0;
  double worstCompile = 0;
  for (const Kernel &k : *kernels) {
    ++i;
    std::cerr << "hlsbench: [" << i << "/" << kernels->size() << "] " << k.file << "\n";
    hls::FlowOptions flow;
    flow.frontEnd.top = k.top;
    flow.schedule.clockNs = clockNs;
    const std::string file = (dir / k.file).string();
    // Best of three: the first run also warms the file system cache for clang.
    std::optional<hls::KernelBuild> build;
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      auto b = hls::buildKernel(file, flow);
      if (!b.ok())
        return fail(b.error());
      best = std::min(best, b->totalSeconds());
      build = std::move(*b);
    }
    worstCompile = std::max(worstCompile, best);

    hls::CosimOptions co;
    co.randomVectors = vectors;
    auto cr = hls::cosimKernel(build->cdfg, build->design, co);
    if (!cr.ok())
      return fail(cr.error());
    if (cr->firstMismatch) {
      std::cerr << "hlsbench: " << k.file << ": co-simulation MISMATCH: "
                << cr->firstMismatch->str() << "\n";
      return 1;
    }

    std::map<std::string, uint64_t> res;
    if (!noSynth) {
      fpga::FlowOptions fo;
      fo.target = fpga::Target::Xilinx;
      fo.outDir = (std::filesystem::path(work) / k.top).string();
      fo.timeoutSeconds = synthTimeout;
      fo.noShare = true; // the HLS binding shares units itself
      auto fr = fpga::runFlow(build->design, fo);
      if (fr.ok()) {
        for (const fpga::ResourceUse &u : fr->resources)
          res[u.name] = u.used;
      } else {
        // Listed without resources, and the reason said under the table.
        std::cerr << "hlsbench: " << k.file << ": synth_xilinx failed: " << fr.error().headline()
                  << "\n";
        synthNotes.push_back(k.top + ": " + fr.error().headline());
      }
    }

    std::string loops;
    nlohmann::ordered_json lj = nlohmann::ordered_json::array();
    for (const hls::LoopTiming &lt : build->schedule.loops) {
      if (!lt.pipelined || lt.loop >= build->cdfg.loops.size())
        continue;
      const hls::Loop &lp = build->cdfg.loops[lt.loop];
      std::string where = lp.loc.known() ? std::filesystem::path(lp.loc.file).filename().string() +
                                               ":" + std::to_string(lp.loc.line)
                                         : "loop " + std::to_string(lt.loop);
      uint64_t measured = lt.loop < cr->loopII.size() ? cr->loopII[lt.loop] : 0;
      std::string limit;
      if (lt.ii > 1)
        limit = lt.limit.kind == hls::IiLimit::Recurrence ? "recurrence"
                : lt.limit.kind == hls::IiLimit::Resource ? "memory port / resource"
                                                          : "request";
      if (!loops.empty())
        loops += "; ";
      loops += where + ": " + std::to_string(lt.ii) + (limit.empty() ? "" : " (" + limit + ")");
      lj.push_back({{"loop", where},
                    {"ii", lt.ii},
                    {"measured_ii", measured},
                    {"res_mii", lt.resMII},
                    {"rec_mii", lt.recMII},
                    {"limit", lt.limit.description}});
    }
    if (loops.empty())
      loops = "none";
    auto cell = [&](const char *name) {
      auto it = res.find(name);
      return noSynth || it == res.end() ? std::string("-") : std::to_string(it->second);
    };
    std::string bram = cell("BRAM18");
    table << "| " << k.top << " | " << k.what << " | " << loops << " | "
          << (cr->minLatency == cr->maxLatency
                  ? std::to_string(cr->minLatency)
                  : std::to_string(cr->minLatency) + ".." + std::to_string(cr->maxLatency))
          << " | " << formatFixed(build->schedule.criticalPathNs, 2) << " | " << cell("LUT")
          << " | " << cell("FF") << " | " << cell("DSP48E1") << " | " << bram << " | "
          << formatFixed(best, 2) << " |\n";
    nlohmann::ordered_json r;
    r["kernel"] = k.top;
    r["file"] = k.file;
    r["loops"] = lj;
    r["latency_min"] = cr->minLatency;
    r["latency_max"] = cr->maxLatency;
    r["critical_path_ns"] = build->schedule.criticalPathNs;
    r["cdfg_nodes"] = build->cdfg.nodes.size();
    r["resources"] = res;
    r["compile_seconds"] = best;
    r["cosim_vectors"] = cr->vectors;
    rows.push_back(r);
    std::cerr << "hlsbench:   " << loops << ", latency " << cr->minLatency << " cycles, compile "
              << formatFixed(best, 2) << " s\n";
  }

  std::ostringstream doc;
  doc << "# HLS kernel suite results\n\n"
      << "Generated by `make bench` (`tessera-hlsbench --md docs/hls-results.md`) over "
         "examples/hls/suite.yaml at a "
      << formatFixed(clockNs, 2)
      << " ns clock, Xilinx operator library. Every kernel is co-simulated (" << vectors
      << " random input vectors) against its native C build and the CDFG with zero mismatches "
         "before it is listed. Latency is from `start` to `done` as measured in co-simulation "
         "(a range when it depends on the data); the II is the schedule's, equal to the "
         "one measured from the pipeline's issue signal; the critical path is the "
         "scheduler's estimate of the longest chained path in a cycle. LUT / FF / DSP / BRAM "
         "are Yosys 0.23 `synth_xilinx` counts, run without its `share` pass (the HLS binding "
         "shares units itself; fpga::FlowOptions::noShare), BRAM in RAMB18 units (small "
         "memories map to LUT RAM). HLS compile time is front end (clang-14 and the pass pipeline), "
         "middle end, scheduling and RTL construction, best of three runs, on the machine "
         "that ran the benchmark (worst kernel: "
      << formatFixed(worstCompile, 2) << " s; target under 2 s).\n\n"
      << table.str() << "\n"
      << (synthNotes.empty() ? std::string()
                             : "Kernels without resource counts: Yosys did not finish (" +
                                   [&] {
                                     std::string t;
                                     for (const std::string &n : synthNotes)
                                       t += (t.empty() ? "" : "; ") + n;
                                     return t;
                                   }() +
                                   ").\n\n")
      << "What limits an II above 1, in the tool's words, is in each kernel's "
         "`schedule.txt` / `report.html` (`tessera hls FILE --top F`).\n";
  std::cout << doc.str();
  if (!md.empty())
    if (Status st = writeTextFile(md, doc.str()); !st.ok())
      return fail(st.error());
  if (!json.empty()) {
    nlohmann::ordered_json j;
    j["clock_ns"] = clockNs;
    j["kernels"] = rows;
    if (Status st = writeTextFile(json, writeJson(j)); !st.ok())
      return fail(st.error());
  }
  return 0;
}
