//===- CosimCommand.cpp - `tessera cosim` ----------------------------------------===//
//
//   tessera cosim --arch FILE.yaml --program FILE.s [--dram FILE.bin]
//   tessera cosim --arch FILE.yaml --random N [--seed S] [--format F] [-o DIR]
//   tessera cosim --arch FILE.yaml --gemm-timing [--json FILE]
//
// Runs programs on the generated tile in Tessera's simulator and on the golden model and
// compares every memory bit for bit (runtime/Cosim.h, docs/cosim.md). A mismatch prints
// the memory, address, both values and the instruction that last wrote it, writes the
// program to DIR, and exits 1. --gemm-timing runs GEMM programs of several shapes and
// prints the RTL's tensor-unit cycles beside the golden model's and the performance
// model's (docs/validation.md).
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "accel/Golden.h"
#include "arch/ArchSpec.h"
#include "perf/AccelModel.h"
#include "runtime/Cosim.h"
#include "support/FileIO.h"
#include "support/Json.h"
#include "support/Svg.h"

#include <cmath>
#include <filesystem>
#include <array>
#include <iostream>
#include <map>
#include <optional>

namespace tessera::tool {

namespace {

struct CosimOptions {
  std::string arch, program, dramFile, format, outDir = "cosim-out", json;
  uint64_t random = 0, seed = 1;
  uint32_t dramBytes = 1 << 20;
  bool gemmTiming = false, markdown = false;
  double maxError = -1; ///< --gemm-timing: fail above this |error| (per cent)
  std::string sim = "tessera";
  std::string workDir = "cosim-extsim";
};

int runTiming(const CosimOptions &o, const arch::ArchSpec &spec, const accel::TileConfig &cfg,
              runtime::TileSim &tile);

int runCosim(const CosimOptions &o) {
  auto spec = arch::loadArchSpec(o.arch);
  if (!spec.ok())
    return fail(spec.error());
  accel::TileConfig cfg = accel::TileConfig::fromArchSpec(*spec);
  accel::rtl::GenParams gp = accel::rtl::GenParams::forConfig(cfg);
  int modes = !o.program.empty() + (o.random > 0) + o.gemmTiming;
  if (modes != 1)
    return fail(Diagnostic::error("bad-argument",
                                  "give exactly one of --program FILE, --random N, --gemm-timing"));
  if ((o.maxError >= 0 || o.markdown || !o.json.empty()) && !o.gemmTiming)
    return fail(Diagnostic::error("bad-argument",
                                  "--max-error, --markdown and --json go with --gemm-timing"));
  // Check the inputs before building the tile model (which takes a minute when it is not
  // cached).
  runtime::RandomProgramOptions ro;
  if (!o.format.empty()) {
    if (!accel::elemFormatFromName(o.format, ro.format) || !cfg.find(ro.format))
      return fail(Diagnostic::error("unknown-format", "'" + o.format +
                                                          "' is not a tensor format of this tile"));
  }
  std::optional<accel::AsmProgram> prog;
  if (!o.program.empty()) {
    auto text = readTextFile(o.program);
    if (!text.ok())
      return fail(text.error());
    auto p = accel::assemble(*text, o.program, &cfg);
    if (!p.ok())
      return fail(p.error());
    prog = std::move(*p);
  }
  runtime::ExternalOptions ext;
  ext.workDir = o.workDir;
  if (o.sim == "verilator" || o.sim == "icarus") {
    ext.tool = o.sim == "verilator" ? runtime::ExternalTool::Verilator : runtime::ExternalTool::Icarus;
    if (o.gemmTiming)
      return fail(Diagnostic::error("bad-argument", "--gemm-timing runs on Tessera's simulator"));
  } else if (o.sim != "tessera") {
    return fail(Diagnostic::error("bad-argument", "--sim takes tessera, verilator or icarus"));
  }
  const bool external = o.sim != "tessera";
  auto runOne = [&](runtime::TileSim *t, const accel::AsmProgram &p,
                    const std::vector<uint8_t> &dram) {
    return external ? runtime::cosimExternal(cfg, gp, p, dram, ext)
                    : runtime::cosimProgram(*t, cfg, p, dram);
  };
  std::cerr << "cosim: building the tile model" << (external ? " (" + o.sim + ")" : "") << "...\n";
  auto tile = external ? Expected<std::unique_ptr<runtime::TileSim>>(nullptr)
                       : runtime::TileSim::create(cfg, gp);
  if (!tile.ok()) {
    Diagnostic d = tile.error();
    if (!d.loc.known())
      d.loc = SourceLoc{o.arch, 0, 0};
    return fail(d);
  }
  if (o.gemmTiming)
    return runTiming(o, *spec, cfg, **tile);

  if (!o.program.empty()) {
    std::vector<uint8_t> dram(o.dramBytes, 0);
    if (!o.dramFile.empty()) {
      auto bytes = readTextFile(o.dramFile);
      if (!bytes.ok())
        return fail(bytes.error());
      dram.assign(bytes->begin(), bytes->end());
      if (dram.size() < o.dramBytes)
        dram.resize(o.dramBytes, 0);
    }
    auto r = runOne(tile->get(), *prog, dram);
    if (!r.ok())
      return fail(r.error());
    std::cout << "cosim: " << o.program << ": " << (r->match ? "match" : "MISMATCH") << ", RTL "
              << r->rtlCycles << " cycles, golden model " << r->goldenCycles << " cycles\n";
    if (!r->fault.empty())
      std::cout << "  both stop with the run-time fault " << r->fault << "\n";
    if (!r->match) {
      std::cout << "  " << r->mismatch << "\n";
      return 1;
    }
    return 0;
  }

  uint64_t rtl = 0, golden = 0;
  for (uint64_t i = 0; i < o.random; ++i) {
    uint64_t seed = o.seed + i;
    std::vector<uint8_t> dram;
    std::string text = runtime::randomProgram(cfg, seed, ro, dram);
    std::string name = "random-" + std::to_string(seed) + ".s";
    auto prog = accel::assemble(text, name, &cfg);
    if (!prog.ok())
      return fail(prog.error());
    auto r = runOne(tile->get(), *prog, dram);
    if (!r.ok() || !r->match) {
      std::error_code ec;
      std::filesystem::create_directories(o.outDir, ec);
      std::string path = (std::filesystem::path(o.outDir) / name).string();
      (void)writeTextFile(path, text);
      if (!r.ok())
        return fail(r.error());
      std::cout << "cosim: program " << i + 1 << " of " << o.random << " (seed " << seed
                << "): MISMATCH\n  " << r->mismatch << "\n  program: " << path << "\n";
      return 1;
    }
    rtl += r->rtlCycles;
    golden += r->goldenCycles;
    if ((i + 1) % 10 == 0 || i + 1 == o.random)
      std::cerr << "cosim: " << i + 1 << " / " << o.random << " programs match\n";
  }
  std::cout << "cosim: " << o.random << " random programs (seeds " << o.seed << ".."
            << o.seed + o.random - 1 << (o.format.empty() ? "" : ", A format " + o.format)
            << "): all match; RTL " << rtl << " cycles, golden model " << golden << " cycles\n";
  return 0;
}

int runTiming(const CosimOptions &o, const arch::ArchSpec &spec, const accel::TileConfig &cfg,
              runtime::TileSim &tile) {
  struct Shape {
    unsigned m, n, k;
  };
  const unsigned R = cfg.rows, C = cfg.cols;
  const std::vector<Shape> shapes = {{R, C, 32},      {R, C, 128},     {R, C, 512},
                                     {2 * R, 2 * C, 64}, {2 * R, 2 * C, 256}, {4 * R, C, 128}};
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  if (!o.markdown)
    std::cout << "format   sparse  density  M x N x K        tiles  RTL cycles  golden  perf model  error   uniform  error\n";
  double worst = 0, worstSkip = 0, worstUniform = 0;
  for (const accel::TensorFormatCfg &f : cfg.formats) {
    for (int mode = 0; mode < 6; ++mode) {
      // mode 0 dense, 1 N:M sparse, 2 / 3 dense A with zero steps aligned at density 1/2
      // and 1/4 (zs=a), 4 / 5 the same densities with the zero steps placed at random.
      const bool sparse = mode == 1;
      const unsigned period = mode == 2 || mode == 4 ? 2 : mode == 3 || mode == 5 ? 4 : 0;
      const bool randomZeros = mode >= 4;
      if (sparse && (!f.sparse || cfg.patterns.empty()))
        continue;
      if (period && !cfg.zeroSkip)
        continue;
      for (const Shape &s : shapes) {
        std::vector<uint8_t> dram;
        auto text =
            runtime::gemmTimingProgram(cfg, f.format, sparse, s.m, s.n, s.k, 1, dram, period,
                                       randomZeros);
        if (!text.ok())
          continue;
        auto prog = accel::assemble(*text, "<gemm-timing>", &cfg);
        if (!prog.ok())
          return fail(prog.error());
        auto r = runtime::cosimProgram(tile, cfg, *prog, dram);
        if (!r.ok())
          return fail(r.error());
        if (!r->match) {
          std::cout << "MISMATCH: " << r->mismatch << "\n";
          return 1;
        }
        uint64_t first = UINT64_MAX, last = 0, tiles = 0;
        for (const runtime::RtlTraceEntry &e : r->rtlTrace)
          if (e.unit == 1) {
            first = std::min(first, e.start);
            last = std::max(last, e.end);
            ++tiles;
          }
        uint64_t gFirst = UINT64_MAX, gLast = 0;
        for (const accel::TraceEntry &e : r->goldenTrace)
          if (prog->code[e.index].op == accel::Opcode::Gemm ||
              prog->code[e.index].op == accel::Opcode::GemmSp) {
            gFirst = std::min(gFirst, e.start);
            gLast = std::max(gLast, e.end);
          }
        const accel::Instruction *g = nullptr;
        for (const accel::Instruction &ins : prog->code)
          if (ins.op == accel::Opcode::Gemm || ins.op == accel::Opcode::GemmSp)
            g = &ins;
        double kv = double(accel::gemmStepK(*g, cfg));
        // What the model gets about A's zero steps: the non-zero steps of each output
        // tile's rows (a step is skipped only when it is zero in every row of the tile).
        // The actual-data model streams each tile's steps through the fetch window
        // (perf::zeroSkipStreamCycles); the uniform one knows only the density.
        const uint64_t steps = uint64_t((s.k + kv - 1) / kv);
        std::vector<double> stream;
        uint64_t nzAll = 0;
        for (unsigned ti = 0; ti * R < s.m; ++ti) {
          std::vector<bool> nz(steps, true);
          if (period) {
            const accel::ElemFormatInfo &fi = accel::elemFormatInfo(f.format);
            const uint64_t align = fi.mx ? 32 : 8, lda = (s.k + align - 1) / align * align;
            const uint32_t da = 0; // A is the first DRAM region of the program
            for (uint64_t st = 0; st < steps; ++st) {
              bool any = false;
              for (unsigned i = ti * R; i < std::min(s.m, (ti + 1) * R) && !any; ++i)
                for (uint64_t kk = st * uint64_t(kv); kk < std::min<uint64_t>(s.k, (st + 1) * uint64_t(kv)) && !any; ++kk)
                  any = accel::readPacked(dram, da + i * (lda * fi.bits / 8), kk, fi.bits) != 0;
              nz[st] = any;
            }
          }
          for (bool b : nz)
            nzAll += b;
          const double cyc = double(perf::zeroSkipStreamCycles(spec, nz));
          for (unsigned tj = 0; tj * C < s.n; ++tj)
            stream.push_back(cyc);
        }
        const double density = double(nzAll) / double(steps * ((s.m + R - 1) / R));
        double model = perf::outputStationaryCycles(R, C, stream);
        double uniform =
            perf::outputStationaryCycles(R, C, kv, s.m, s.n, s.k, perf::zeroSkipFactor(spec, density));
        double rtl = double(last - first);
        double err = 100.0 * (rtl - model) / model;
        double errUniform = 100.0 * (rtl - uniform) / uniform;
        (period ? worstSkip : worst) = std::max(period ? worstSkip : worst, std::fabs(err));
        if (period)
          worstUniform = std::max(worstUniform, std::fabs(errUniform));
        std::string name(accel::elemFormatInfo(f.format).name);
        char line[200];
        std::snprintf(line, sizeof line, "%-8s %-7s %-7s  %4u x %3u x %4u  %5llu  %10llu  %6llu  %10.0f  %+5.1f%%  %7.0f  %+5.1f%%\n",
                      name.c_str(), sparse ? "2:4" : "-",
                      period ? (randomZeros ? (period == 2 ? "r1/2" : "r1/4")
                                            : (period == 2 ? "1/2" : "1/4"))
                             : "1",
                      s.m, s.n, s.k,
                      (unsigned long long)tiles, (unsigned long long)(last - first),
                      (unsigned long long)(gLast - gFirst), model, err, uniform,
                      errUniform);
        if (!o.markdown)
          std::cout << line;
        rows.push_back({{"format", name},
                        {"sparse", sparse},
                        {"zero_steps", period ? (randomZeros ? "random" : "aligned") : "none"},
                        {"zero_period", period},
                        {"a_density", density},
                        {"m", s.m},
                        {"n", s.n},
                        {"k", s.k},
                        {"tiles", tiles},
                        {"rtl_cycles", last - first},
                        {"golden_cycles", gLast - gFirst},
                        {"perf_model_cycles", model},
                        {"error_percent", err},
                        {"uniform_model_cycles", uniform},
                        {"uniform_error_percent", errUniform}});
      }
    }
  }
  if (o.markdown) {
    // docs/validation.md, "Accelerator tile": a summary per format and mode, the bf16
    // rows in full.
    std::cout << "\n## Accelerator tile: GEMM cycles of the generated RTL (" << spec.name
              << ")\n\nGenerated by `tessera cosim --arch examples/arch/" << spec.name
              << ".yaml --gemm-timing --markdown`: GEMM programs (operands loaded once, then "
                 "one `gemm` per output tile, back to back) run on the generated tile in "
                 "Tessera's simulator, every result checked bit for bit against the golden "
                 "model; RTL cycles are the tensor unit's, from the first GEMM's start to the "
                 "last one's completion. The performance model is lib/perf's output-stationary "
                 "term `Σ_tiles max(Φ_t, R) + R + C`, `Φ_t` the cycles tile t's "
                 "`ceil(K/kv)` PE steps stream in: without zero skipping all of them; with it "
                 "`perf::zeroSkipStreamCycles` of the tile's non-zero steps (the actual-data "
                 "density model, as Sparseloop calls it: the model is given which PE steps of A "
                 "are zero and applies the tensor unit's fetch-window policy). The 'uniform' "
                 "column is the form `explore` uses when all it knows is a density: "
                 "`ceil(M/R)·ceil(N/C)·max(ceil(K/kv)·zs, R) + R + C` with `zs = "
                 "perf::zeroSkipFactor(density)`, the expectation for independently placed "
                 "zero steps; regular patterns and short streams differ from it as shown. "
                 "Zero-skip rows zero whole PE steps of A (density 1/2: one step in 2 "
                 "non-zero, 1/4: one in 4; aligned or placed at random) and run with `zs=a`; B "
                 "is finite so that every zero step may be skipped. The golden model times a "
                 "zero-skipped GEMM by the ISA's contract, one cycle per non-skipped step "
                 "(docs/isa.md 5.3), a lower bound the RTL's two-step fetch window meets only "
                 "when zero steps are isolated, hence 'RTL = golden' below 6 in those rows.\n\n";
    std::cout << "| format | mode | programs | RTL = golden | max \\|error\\| vs perf model | "
                 "max \\|error\\| vs uniform density model |\n"
                 "|---|---|---:|---:|---:|---:|\n";
    std::map<std::pair<std::string, std::string>, std::array<double, 4>> agg;
    std::vector<std::pair<std::string, std::string>> order;
    for (const auto &r : rows) {
      std::string zsteps = r["zero_steps"].get<std::string>();
      std::string mode = r["sparse"].get<bool>() ? "2:4 sparse"
                         : zsteps == "none"
                             ? "dense"
                             : "zero skip, " + zsteps + " zero steps, 1 in " +
                                   std::to_string(r["zero_period"].get<unsigned>()) + " non-zero";
      auto key = std::make_pair(r["format"].get<std::string>(), mode);
      if (!agg.count(key))
        order.push_back(key);
      auto &a = agg[key];
      a[0] += 1;
      a[1] += r["rtl_cycles"].get<uint64_t>() == r["golden_cycles"].get<uint64_t>();
      a[2] = std::max(a[2], std::fabs(r["error_percent"].get<double>()));
      a[3] = std::max(a[3], std::fabs(r["uniform_error_percent"].get<double>()));
    }
    for (const auto &k : order) {
      const auto &a = agg[k];
      std::cout << "| " << k.first << " | " << k.second << " | " << a[0] << " | " << a[1]
                << " | " << formatFixed(a[2], 1) << " % | " << formatFixed(a[3], 1) << " % |\n";
    }
    std::cout << "\n| format | mode | M × N × K | tiles | RTL cycles | golden model | perf model | error | "
                 "uniform density model | error |\n"
                 "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto &r : rows) {
      if (r["format"].get<std::string>() != "bf16")
        continue;
      double d = r["a_density"].get<double>();
      std::string zsteps = r["zero_steps"].get<std::string>();
      std::cout << "| bf16 | "
                << (r["sparse"].get<bool>() ? "2:4"
                    : zsteps == "none"     ? "dense"
                                           : "zs " + zsteps + ", density " + formatFixed(d, 2))
                << " | " << r["m"].get<unsigned>() << " × " << r["n"].get<unsigned>() << " × "
                << r["k"].get<unsigned>() << " | " << r["tiles"].get<uint64_t>() << " | "
                << r["rtl_cycles"].get<uint64_t>() << " | " << r["golden_cycles"].get<uint64_t>()
                << " | " << formatFixed(r["perf_model_cycles"].get<double>(), 0) << " | "
                << formatFixed(r["error_percent"].get<double>(), 1) << " % | "
                << formatFixed(r["uniform_model_cycles"].get<double>(), 0) << " | "
                << formatFixed(r["uniform_error_percent"].get<double>(), 1) << " % |\n";
    }
    std::cout << "\n";
  }
  std::cout << (o.markdown ? "Worst |error| vs the performance model: " : "worst |error| vs the performance model: ") << formatFixed(worst, 1)
            << "% without zero skipping";
  if (cfg.zeroSkip)
    std::cout << ", " << formatFixed(worstSkip, 1) << "% with zero skipping (the uniform density model: "
              << formatFixed(worstUniform, 1) << "%)";
  std::cout << "\n";
  if (!o.json.empty()) {
    nlohmann::ordered_json j;
    j["spec"] = spec.name;
    j["rows"] = rows;
    j["worst_error_percent"] = worst;
    j["worst_error_percent_zero_skip"] = worstSkip;
    j["worst_error_percent_zero_skip_uniform"] = worstUniform;
    if (Status st = writeTextFile(o.json, writeJson(j)); !st.ok())
      return fail(st.error());
  }
  if (o.maxError >= 0 && std::max(worst, worstSkip) > o.maxError) {
    std::cerr << "error[timing-mismatch]: the RTL's GEMM cycles differ from the performance "
                 "model by "
              << formatFixed(std::max(worst, worstSkip), 1) << "% (--max-error "
              << formatFixed(o.maxError, 1) << "%)\n";
    return 1;
  }
  return 0;
}

} // namespace

void addCosimCommand(CLI::App &app, int &rc) {
  auto o = std::make_shared<CosimOptions>();
  CLI::App *cmd = app.add_subcommand(
      "cosim", "Co-simulate the generated tile RTL against the golden model");
  cmd->add_option("--arch", o->arch, "the arch spec (YAML)")->required();
  cmd->add_option("--program", o->program, "an assembly program to run");
  cmd->add_option("--dram", o->dramFile, "initial DRAM contents (binary file) for --program");
  cmd->add_option("--dram-bytes", o->dramBytes, "DRAM size for --program (default 1 MiB)");
  cmd->add_option("--random", o->random, "run N random programs");
  cmd->add_option("--seed", o->seed, "first random seed (default 1)");
  cmd->add_option("--format", o->format, "GEMM operand A format of the random programs");
  cmd->add_flag("--gemm-timing", o->gemmTiming,
                "GEMM cycle counts of the RTL vs the golden model and the performance model");
  cmd->add_option("--json", o->json, "--gemm-timing: also write the table as JSON");
  cmd->add_option("--max-error", o->maxError,
                  "--gemm-timing: exit 1 when an |error| vs the performance model exceeds PCT")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--markdown", o->markdown, "--gemm-timing: print the docs/validation.md section");
  cmd->add_option("-o,--output", o->outDir, "where a mismatching random program is written");
  cmd->add_option("--sim", o->sim, "tessera (default), verilator or icarus: the simulator of the RTL");
  cmd->add_option("--work-dir", o->workDir, "build directory of the external simulator's testbench");
  cmd->callback([o, &rc] { rc = runCosim(*o); });
}

} // namespace tessera::tool
