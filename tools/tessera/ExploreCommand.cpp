//===- ExploreCommand.cpp - `tessera explore` ------------------------------------===//
#include "Commands.h"

#include "WorkloadFlags.h"
#include "explore/Explore.h"
#include "perf/Estimate.h"

#include <fmt/format.h>

#include <iostream>
#include <thread>

namespace tessera::tool {

namespace {

struct ExploreFlags {
  std::string workload;
  std::string baseline = "a800";
  double areaBudget = 0, transistorBudget = 0, powerBudget = 0, hbmBudget = 0, linkBudget = 0;
  double maxClock = 0;
  std::string node;
  WorkloadFlags wl;
  ParallelFlags par;
  std::string objective = "time";
  std::string strategy = "auto";
  double budgetSeconds = 60;
  uint64_t maxPoints = 8000;
  uint64_t seed = 1;
  unsigned threads = 0;
  std::string out = "out/explore";
  std::string narrowest = "mxfp8";
  bool noSparsity = false;
  double activationDensity = 1.0, gradientDensity = 1.0;
  std::string templateFile;
  bool quiet = false;
};

bool given(CLI::App *cmd, const char *flag) { return cmd->get_option(flag)->count() > 0; }

/// The command line as the user could re-type it (options in registration order), without
/// the options that cannot change the results (--threads, --quiet), so that the reports
/// stay byte-identical across thread counts.
std::string commandLine(CLI::App *cmd) {
  std::string s = "tessera explore";
  for (const CLI::Option *o : cmd->get_options()) {
    std::string flag = o->get_name();
    if (o->count() == 0 || flag == "--help" || flag == "--threads" || flag == "--quiet")
      continue;
    std::string name = o->get_name();
    if (o->get_expected_min() == 0) { // a flag
      s += " " + name;
      continue;
    }
    for (const std::string &v : o->results())
      s += " " + name + " " + (v.find(' ') != std::string::npos ? "'" + v + "'" : v);
  }
  return s;
}

int runExploreCommand(ExploreFlags f, CLI::App *cmd) {
  using namespace tessera::explore;
  // No workload given: the headline comparison, GPT-3 175B in 3-D parallelism on 1024
  // devices, with any parallelism flag the user did give taking precedence.
  if (f.workload.empty()) {
    using D = DefaultWorkload;
    static_assert(D::kRecompute == workload::Recompute::Selective);
    f.workload = D::kName;
    if (!given(cmd, "--gpus"))
      f.par.devices = D::kDevices;
    if (!given(cmd, "--tp"))
      f.wl.tp = D::kTp;
    if (!given(cmd, "--pp"))
      f.par.pp = D::kPp;
    if (!given(cmd, "--global-batch"))
      f.par.globalBatch = D::kGlobalBatch;
    if (!given(cmd, "--recompute"))
      f.wl.recompute = "selective";
    if (!given(cmd, "--sequence-parallel"))
      f.wl.sequenceParallel = D::kSequenceParallel;
  }

  ExploreRequest req;
  req.command = commandLine(cmd);
  perf::EstimateRequest &w = req.workload;
  w.workload = f.workload;
  w.zoo = zooOptions(f.wl, microBatch(f.wl, f.par));
  w.training = trainingOptions(f.wl);
  w.parallel = parallelConfig(f.wl, f.par);

  req.baseline = f.baseline;
  if (given(cmd, "--area-budget"))
    req.areaBudgetMm2 = f.areaBudget;
  if (given(cmd, "--transistor-budget"))
    req.transistorBudget = f.transistorBudget;
  if (given(cmd, "--power-budget"))
    req.powerBudgetWatts = f.powerBudget;
  if (given(cmd, "--hbm-budget"))
    req.hbmBudgetGBps = f.hbmBudget;
  if (given(cmd, "--link-budget"))
    req.linkBudgetGBps = f.linkBudget;
  if (given(cmd, "--max-clock"))
    req.maxClockGhz = f.maxClock;
  if (!f.node.empty()) {
    if (f.node == "7nm")
      req.node = arch::TechNode::N7;
    else if (f.node == "5nm")
      req.node = arch::TechNode::N5;
    else
      return fail(
          Diagnostic::error("bad-value", "unknown --node '" + f.node + "' (expected 7nm or 5nm)"));
  }
  auto objective = parseObjective(f.objective);
  if (!objective)
    return fail(objective.error());
  req.objective = *objective;
  auto strategy = parseStrategy(f.strategy);
  if (!strategy)
    return fail(strategy.error());
  auto narrowest = parsePrecision(f.narrowest);
  if (!narrowest)
    return fail(narrowest.error());
  req.limits.narrowest = *narrowest;
  req.limits.allowSparsity = !f.noSparsity;
  if (!(f.activationDensity > 0 && f.activationDensity <= 1) ||
      !(f.gradientDensity > 0 && f.gradientDensity <= 1))
    return fail(Diagnostic::error("bad-value",
                                  "--activation-density and --gradient-density must be in (0, 1]"));
  req.limits.activationDensity = f.activationDensity;
  req.limits.gradientDensity = f.gradientDensity;
  if (!f.templateFile.empty()) {
    auto spec = arch::loadArchSpec(f.templateFile);
    if (!spec)
      return fail(spec.error());
    req.base = *spec;
  }
  req.search.strategy = *strategy;
  req.search.maxPoints = f.maxPoints;
  req.search.budgetSeconds = f.budgetSeconds;
  req.search.seed = f.seed;
  req.search.threads = f.threads;
  if (!f.quiet)
    req.search.progress = &std::cerr;

  auto result = runExplore(req);
  if (!result)
    return fail(result.error());
  auto written = writeReports(*result, f.out);
  if (!written)
    return fail(written.error());
  std::cout << summaryText(*result);
  std::cout << fmt::format("wrote {0}/report.html, {0}/report.json, {0}/best-arch.yaml\n", f.out);
  unsigned threads = f.threads ? f.threads : std::max(1u, std::thread::hardware_concurrency());
  if (!f.quiet)
    std::cerr << fmt::format("explore: {} points in {:.1f} s on {} threads\n",
                             result->search.points.size(), result->search.wallSeconds, threads);
  return 0;
}

} // namespace

void addExploreCommand(CLI::App &app, int &rc) {
  auto f = std::make_shared<ExploreFlags>();
  CLI::App *cmd = app.add_subcommand(
      "explore", "Search accelerator designs under a GPU's silicon / power / HBM budget");
  cmd->add_option("--workload", f->workload,
                  "zoo model name or FILE.onnx (default: gpt3-175b on 1024 devices, TP 8, PP 8, "
                  "global batch 1536, selective recompute, sequence parallel)");
  cmd->add_option("--baseline", f->baseline, "a800 | a100 | h100 (default a800)");
  cmd->add_option("--area-budget", f->areaBudget, "die area budget, mm² (default: the baseline's)");
  cmd->add_option("--transistor-budget", f->transistorBudget,
                  "transistor budget (e.g. 54.2e9), instead of the area budget");
  cmd->add_option("--power-budget", f->powerBudget, "average power per device, W (default: TDP)");
  cmd->add_option("--hbm-budget", f->hbmBudget, "HBM bandwidth, GB/s (default: the baseline's)");
  cmd->add_option(
      "--link-budget", f->linkBudget,
      "chip-to-chip link bandwidth per direction, GB/s (default: the baseline's NVLink)");
  cmd->add_option("--max-clock", f->maxClock,
                  "highest clock searched, GHz (default: the baseline's boost clock)");
  cmd->add_option("--node", f->node, "7nm | 5nm (default: the baseline's)");
  addWorkloadFlags(cmd, f->wl);
  addParallelFlags(cmd, f->par);
  cmd->add_option("--objective", f->objective, "time | perf-per-watt (default time)");
  cmd->add_option("--strategy", f->strategy,
                  "auto | exhaustive | random | evolutionary (auto: exhaustive when the grid "
                  "fits --max-points)");
  cmd->add_option("--budget-seconds", f->budgetSeconds,
                  "wall-clock bound of the search (default 60; <= 0: none)");
  cmd->add_option("--max-points", f->maxPoints,
                  "designs to evaluate (default 8000); runs ended by it are reproducible");
  cmd->add_option("--seed", f->seed, "random seed (default 1)");
  cmd->add_option("--threads", f->threads, "worker threads (default: all cores)");
  cmd->add_option("--out", f->out, "output directory (default out/explore)");
  cmd->add_option("--narrowest-format", f->narrowest,
                  "narrowest training precision accepted: bf16 | fp8 | mxfp8 | mxfp6 | mxfp4 "
                  "(default mxfp8)");
  cmd->add_flag("--no-sparsity", f->noSparsity, "keep weights dense (no 2:4 training)");
  cmd->add_option("--activation-density", f->activationDensity,
                  "non-zero fraction of GEMM activations zero skipping can exploit (default 1)");
  cmd->add_option("--gradient-density", f->gradientDensity, "same for gradients (default 1)");
  cmd->add_option("--template", f->templateFile,
                  "base arch spec (default: examples/arch/tessera-train-7nm.yaml, built in)");
  cmd->add_flag("--quiet", f->quiet, "no progress bar");
  cmd->callback([f, cmd, &rc] { rc = runExploreCommand(*f, cmd); });
}

} // namespace tessera::tool
