//===- Explore.cpp - the `tessera explore` pipeline -------------------------------===//
#include "explore/Explore.h"

#include "support/FileIO.h"
#include "support/Json.h"
#include "workload/Cost.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace tessera::explore {

using perf::AreaCategory;

Expected<BaselineFacts> baselineFacts(const std::string &key) {
  // Validates the name (with its did-you-mean) against the GPU model's list.
  perf::GpuSpec gpu;
  TRY_ASSIGN(gpu, perf::gpuByName(key));
  BaselineFacts f;
  f.key = gpu.key;
  f.tdpWatts = gpu.tdp;
  f.hbmGBps = gpu.hbmBandwidth / 1e9;
  f.hbmStacks = 5;
  f.hbmGiBPerStack = 16;
  f.l2Mib = gpu.l2Bytes / (1024.0 * 1024);
  f.clockGhz = gpu.clockGhz;
  f.linkGBps = gpu.nvlinkBandwidth / 1e9;
  if (gpu.key == "h100") {
    // GH100, TSMC 4N (modelled as 5 nm): 814 mm², 80 B transistors.
    f.displayName = "H100";
    f.dieMm2 = 814;
    f.transistors = 80e9;
    f.node = arch::TechNode::N5;
  } else {
    // GA100, TSMC N7: 826 mm², 54.2 B transistors; the A800 is the same silicon.
    f.displayName = gpu.key == "a800" ? "A800" : "A100";
    f.dieMm2 = 826;
    f.transistors = 54.2e9;
    f.node = arch::TechNode::N7;
    f.publishedAreaMm2 = {{AreaCategory::Cores, 476.3},
                          {AreaCategory::OnChipInterconnect, 76.4},
                          {AreaCategory::GlobalBuffer, 119.3},
                          {AreaCategory::MemoryPhy, 58.0},
                          {AreaCategory::MemoryController, 31.8},
                          {AreaCategory::OffChipPhy, 21.0},
                          {AreaCategory::Other, 40.0}};
  }
  return f;
}

perf::EstimateRequest DefaultWorkload::request() {
  perf::EstimateRequest r;
  r.workload = kName;
  r.zoo.batch = 1;
  r.zoo.tp = kTp;
  r.zoo.sequenceParallel = kSequenceParallel;
  r.training.recompute = kRecompute;
  r.parallel.devices = kDevices;
  r.parallel.tp = kTp;
  r.parallel.pp = kPp;
  r.parallel.microBatch = 1;
  r.parallel.globalBatch = kGlobalBatch;
  r.parallel.sequenceParallel = kSequenceParallel;
  return r;
}

namespace {

std::vector<RooflinePoint> rooflineOf(const TrainingWorkload &w, const arch::ArchSpec &spec,
                                      const perf::PrecisionPolicy &policy) {
  perf::AccelModel dev(spec, policy);
  const workload::Graph &g = w.graph;
  std::map<std::tuple<std::string, int, std::string>, size_t> index;
  std::vector<RooflinePoint> out;
  for (const workload::Op &op : g.ops()) {
    workload::OpCategory cat = workload::opCategory(op.kind);
    if (cat != workload::OpCategory::Gemm && cat != workload::OpCategory::Conv &&
        cat != workload::OpCategory::Attention)
      continue;
    workload::OpCost c = workload::opCost(g, op);
    if (c.gemms.empty() || c.gemmFlops <= 0)
      continue;
    const workload::GemmShape &s = c.gemms.front();
    std::string shape = fmt::format("{} x {} x {} x {}", s.batch, s.m, s.n, s.k);
    auto key = std::make_tuple(std::string(workload::opName(op.kind)), int(op.phase), shape);
    auto it = index.find(key);
    if (it != index.end()) {
      ++out[it->second].count;
      continue;
    }
    perf::OpTime t = dev.opTime(g, op);
    RooflinePoint p;
    p.op = std::string(workload::opName(op.kind));
    p.phase = std::string(workload::phaseName(op.phase));
    p.shape = shape;
    p.count = 1;
    p.flops = c.gemmFlops;
    p.dramBytes = t.dramBytes;
    p.seconds = t.seconds;
    index.emplace(key, out.size());
    out.push_back(std::move(p));
  }
  return out;
}

std::string budgetText(const Budget &b) {
  if (b.transistors > 0)
    return fmt::format("transistor budget of {:.2f} B", b.transistors / 1e9);
  return fmt::format("area budget of {:g} mm²", b.areaMm2);
}

} // namespace

Expected<ExploreResult> runExplore(const ExploreRequest &req) {
  ExploreResult r;
  r.request = req;
  TRY_ASSIGN(r.baseline, baselineFacts(req.baseline));
  const BaselineFacts &bf = r.baseline;

  if (req.areaBudgetMm2 && req.transistorBudget)
    return Diagnostic::error("bad-option", "--area-budget and --transistor-budget are exclusive: "
                                           "give one silicon budget");
  auto positive = [](const std::optional<double> &v, const char *flag) -> Status {
    if (v && !(*v > 0))
      return Diagnostic::error("bad-option",
                               fmt::format("{} must be positive, got {:g}", flag, *v));
    return Status::success();
  };
  TRY(positive(req.areaBudgetMm2, "--area-budget"));
  TRY(positive(req.transistorBudget, "--transistor-budget"));
  TRY(positive(req.powerBudgetWatts, "--power-budget"));
  TRY(positive(req.hbmBudgetGBps, "--hbm-budget"));
  TRY(positive(req.linkBudgetGBps, "--link-budget"));
  TRY(positive(req.maxClockGhz, "--max-clock"));
  if (req.search.maxPoints == 0)
    return Diagnostic::error("bad-option", "--max-points must be at least 1");

  Budget &b = r.budget;
  if (req.transistorBudget)
    b.transistors = *req.transistorBudget;
  else
    b.areaMm2 = req.areaBudgetMm2.value_or(bf.dieMm2);
  b.powerWatts = req.powerBudgetWatts.value_or(bf.tdpWatts);
  b.hbmGBps = req.hbmBudgetGBps.value_or(bf.hbmGBps);
  b.linkGBps = req.linkBudgetGBps.value_or(bf.linkGBps);
  r.node = req.node.value_or(bf.node);

  arch::ArchSpec base = req.base.value_or(defaultTemplate());
  base.technology.node = r.node;
  double stackGBps = bf.hbmGBps / double(bf.hbmStacks);
  SpaceBounds bounds;
  bounds.hbmBudgetGBps = b.hbmGBps;
  bounds.stackGBps = stackGBps;
  bounds.maxClockGhz = req.maxClockGhz.value_or(bf.clockGhz);
  bounds.linkBudgetGBps = b.linkGBps;
  DesignSpace space = DesignSpace::standard(base, bounds, req.limits);
  r.space = space.params();

  TrainingWorkload w;
  TRY_ASSIGN(w, TrainingWorkload::build(req.workload));
  Evaluator ev(w, b, req.objective);

  // A budget nothing can meet is an error before any search.
  {
    perf::AreaBreakdown smallest = perf::estimateArea(space.build(space.smallestPoint()));
    if (!ev.siliconCheck(smallest.totalMm2, smallest.totalTransistors).empty())
      return Diagnostic::error(
          "infeasible-budget",
          b.transistors > 0
              ? fmt::format("no design fits the {}: the smallest candidate needs {:.2f} B",
                            budgetText(b), smallest.totalTransistors / 1e9)
              : fmt::format("no design fits the {}: the smallest candidate needs {:.1f} mm²",
                            budgetText(b), smallest.totalMm2));
  }

  // The baseline on the same graph and parallelism.
  perf::GpuSpec gpu;
  TRY_ASSIGN(gpu, perf::gpuByName(req.baseline));
  {
    perf::GpuModel model(gpu);
    auto est = w.estimate(model);
    if (!est) {
      Diagnostic d = est.error();
      d.message = fmt::format("baseline {}: {}", bf.displayName, d.message);
      return d;
    }
    r.baselineEstimate = *est;
  }

  r.search = runSearch(space, ev, req.search);
  if (!r.search.best) {
    std::map<std::string, int> why;
    for (const Evaluation &e : r.search.points) {
      std::string k = e.reason.substr(0, e.reason.find_first_of("0123456789:"));
      while (!k.empty() && k.back() == ' ')
        k.pop_back();
      ++why[k];
    }
    std::string counts;
    for (const auto &[k, n] : why)
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, k.empty() ? "other" : k);
    Diagnostic d = Diagnostic::error(
        "infeasible-budget",
        fmt::format("no design fits the {}, {:.0f} W and {:.0f} GB/s HBM: all {} candidates "
                    "evaluated are infeasible ({})",
                    budgetText(b), b.powerWatts, b.hbmGBps, r.search.points.size(),
                    counts.empty() ? "none valid" : counts));
    if (!r.search.points.empty())
      d.withNote(Diagnostic::note("for example " + r.search.points.front().label + ": " +
                                  r.search.points.front().reason));
    return d;
  }
  r.paretoArea = paretoTimeArea(r.search);
  r.paretoPower = paretoTimePower(r.search);

  r.best = r.search.points[*r.search.best];
  r.bestSpec = space.build(r.best.point);
  r.bestSpec.technology.clockGhz = r.best.clockGhz;
  r.bestSpec.name = "tessera-explore-best";
  {
    // The written spec must load back: validate it with the loader.
    auto checked = arch::parseArchSpec(arch::writeArchSpecYaml(r.bestSpec), "best-arch.yaml");
    if (!checked)
      return std::move(checked).takeError();
    r.bestSpec = *checked;
  }
  r.bestPolicy = choosePolicy(r.bestSpec, req.limits);
  {
    auto est = ev.estimateUnbounded(r.bestSpec, r.bestPolicy);
    if (!est)
      return std::move(est).takeError();
    r.bestEstimate = *est;
  }
  r.bestArea = perf::estimateArea(r.bestSpec);

  MemoryReference mem;
  mem.globalBufferMib = bf.l2Mib;
  mem.hbmStacks = bf.hbmStacks;
  mem.hbmGBpsPerStack = stackGBps;
  mem.hbmGiBPerStack = bf.hbmGiBPerStack;
  auto abl = ablate(ev, r.bestSpec, req.limits, r.baselineEstimate.iterationSeconds, mem);
  if (abl)
    r.ablation = *abl;
  else
    r.ablationError = abl.error().headline();
  r.roofline = rooflineOf(w, r.bestSpec, r.bestPolicy);
  return r;
}

std::string estimateFlags(const perf::EstimateRequest &req) {
  const workload::ZooOptions &z = req.zoo;
  const perf::ParallelConfig &p = req.parallel;
  std::string s = "--workload " + req.workload;
  if (p.devices != 1)
    s += fmt::format(" --gpus {}", p.devices);
  if (p.tp != 1)
    s += fmt::format(" --tp {}", p.tp);
  if (p.pp != 1)
    s += fmt::format(" --pp {}", p.pp);
  if (p.microBatch != 1)
    s += fmt::format(" --micro-batch {}", p.microBatch);
  if (p.globalBatch > 0)
    s += fmt::format(" --global-batch {}", p.globalBatch);
  if (req.training.recompute == workload::Recompute::Selective)
    s += " --recompute selective";
  else if (req.training.recompute == workload::Recompute::Full)
    s += " --recompute full";
  if (p.sequenceParallel)
    s += " --sequence-parallel";
  if (z.seq)
    s += fmt::format(" --seq {}", *z.seq);
  for (auto [flag, v] :
       {std::pair{"--hidden", z.hidden}, std::pair{"--heads", z.heads},
        std::pair{"--layers", z.layers}, std::pair{"--vocab", z.vocab}, std::pair{"--ffn", z.ffn}})
    if (v)
      s += fmt::format(" {} {}", flag, *v);
  if (z.dtype != workload::DType::BF16)
    s += " --dtype " + std::string(z.dtype == workload::DType::F16       ? "fp16"
                                   : z.dtype == workload::DType::F32     ? "fp32"
                                   : z.dtype == workload::DType::TF32    ? "tf32"
                                   : z.dtype == workload::DType::FP8E4M3 ? "fp8"
                                                                         : "bf16");
  if (z.attention == workload::AttentionImpl::Unfused)
    s += " --attention unfused";
  if (z.dropout != 0.1)
    s += fmt::format(" --dropout {:g}", z.dropout);
  if (req.training.optimizer == workload::OptimizerKind::Sgd)
    s += " --optimizer sgd";
  else if (req.training.optimizer == workload::OptimizerKind::AdamWBf16SR)
    s += " --optimizer adamw-bf16-sr";
  return s;
}

std::string bestArchYaml(const ExploreResult &r) {
  std::string s;
  s += fmt::format("# Found by `tessera explore` ({} search, seed {}, {} points): {:.2f}x faster\n",
                   strategyName(r.search.strategy), r.request.search.seed, r.search.points.size(),
                   r.speedup());
  s += fmt::format("# than {} per training step of {} within the {}.\n", r.baseline.displayName,
                   r.request.workload.workload, budgetText(r.budget));
  s += fmt::format("# Precision policy: {}.", r.bestPolicy.name);
  if (perf::PrecisionPolicy::byName(r.bestPolicy.name))
    s += fmt::format(
        " Its step time again:\n#   tessera estimate --arch best-arch.yaml --policy {} {}\n",
        r.bestPolicy.name, estimateFlags(r.request.workload));
  else
    s += fmt::format("\n# (not a named --policy of `tessera estimate`; load this file with\n"
                     "#   tessera estimate --arch best-arch.yaml {})\n",
                     estimateFlags(r.request.workload));
  return s + arch::writeArchSpecYaml(r.bestSpec);
}

Status writeReports(const ExploreResult &r, const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Diagnostic::error(
        "io-error", fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  std::filesystem::path d(dir);
  TRY(writeTextFile((d / "report.html").string(), reportHtml(r)));
  TRY(writeTextFile((d / "report.json").string(), reportJsonText(r)));
  TRY(writeTextFile((d / "best-arch.yaml").string(), bestArchYaml(r)));
  return Status::success();
}

} // namespace tessera::explore
