//===- Report.cpp - text, JSON and HTML renderings of an explore run -------------===//
//
// report.json is for programs (every evaluated point with its parameters and results);
// report.html is for people: the headline, the Pareto fronts, where the time goes on the
// baseline and on the best design, the best design's roofline and area, the ablation.
// Neither contains anything that depends on the machine, the thread count or the time of
// day, so the same request gives the same bytes (see Search.h for the time bound).
//
//===----------------------------------------------------------------------===//
#include "explore/Explore.h"

#include "support/Html.h"
#include "support/Json.h"
#include "support/Svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace tessera::explore {

namespace {

using Json = nlohmann::ordered_json;
constexpr double kGiB = 1024.0 * 1024 * 1024;

std::string human(double seconds) {
  if (seconds >= 1)
    return fmt::format("{:.3f} s", seconds);
  if (seconds >= 1e-3)
    return fmt::format("{:.3f} ms", seconds * 1e3);
  return fmt::format("{:.2f} us", seconds * 1e6);
}

std::string siliconText(const ExploreResult &r) {
  const Budget &b = r.budget;
  const BaselineFacts &f = r.baseline;
  if (b.transistors > 0) {
    if (b.transistors == f.transistors)
      return fmt::format("at equal transistor count ({:.1f} B transistors budget)",
                         b.transistors / 1e9);
    return fmt::format("within a {:.1f} B transistor budget", b.transistors / 1e9);
  }
  if (b.areaMm2 == f.dieMm2)
    return fmt::format("at equal area ({:g} mm², {:.1f} B transistors budget)", b.areaMm2,
                       f.transistors / 1e9);
  return fmt::format("within an area budget of {:g} mm²", b.areaMm2);
}

std::string workloadText(const ExploreResult &r) {
  const perf::TrainingEstimate &e = r.baselineEstimate;
  return fmt::format("{} on {} devices (TP {}, PP {}, DP {}), micro-batch {}, global batch {}",
                     r.request.workload.workload, e.devices, e.tp, e.pp, e.dp, e.microBatch,
                     e.globalBatch);
}

std::string contributionsText(const ExploreResult &r) {
  if (!r.ablation)
    return "ablation unavailable: " + r.ablationError;
  std::string s;
  bool first = true;
  for (const MechanismContribution &m : r.ablation->mechanisms) {
    s += fmt::format("{}{}{} {:.2f}x", first ? "" : ", ", m.name, first ? " gives" : "", m.factor);
    first = false;
  }
  s += fmt::format("{}the rest of the architecture (tiles, array, clock, dataflow) {:.2f}x",
                   first ? "" : ", ", r.ablation->architectureFactor);
  return s;
}

/// A parameter value: integers as integers.
Json valueJson(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15)
    return Json(int64_t(v));
  return Json(v);
}

Json pointJson(const ExploreResult &r, size_t id) {
  const Evaluation &e = r.search.points[id];
  Json j;
  j["id"] = id;
  j["label"] = e.label;
  Json params;
  for (size_t i = 0; i < kNumParams; ++i) {
    const ParamDef &d = r.space[i];
    if (!d.labels.empty())
      params[d.key] = d.labels[e.point[i]];
    else
      params[d.key] = valueJson(d.values[e.point[i]]);
  }
  j["params"] = params;
  j["policy"] = e.policy;
  j["feasible"] = e.feasible;
  if (!e.feasible)
    j["reason"] = e.reason;
  j["area_mm2"] = e.areaMm2;
  j["transistors"] = e.transistors;
  j["hbm_gbps"] = e.hbmGBps;
  j["clock_ghz"] = e.clockGhz;
  j["clocked_down"] = e.clockedDown;
  auto orNull = [](double v) { return v > 0 ? Json(v) : Json(nullptr); };
  j["iteration_seconds"] = orNull(e.iterationSeconds);
  j["average_power_watts"] = orNull(e.powerWatts);
  j["samples_per_second_per_watt"] = orNull(e.perfPerWatt);
  j["memory_per_device_bytes"] = orNull(e.memoryBytes);
  j["objective"] = e.feasible ? Json(e.objective) : Json(nullptr);
  return j;
}

Json estimateSummary(const perf::TrainingEstimate &e) {
  Json j;
  j["device"] = e.device;
  j["iteration_seconds"] = e.iterationSeconds;
  j["tflops_per_device"] = e.tflopsPerDevice;
  j["mfu"] = e.mfu;
  j["peak_tflops"] = e.peakFlops / 1e12;
  j["samples_per_second"] = e.samplesPerSecond;
  j["tokens_per_second"] = e.tokensPerSecond;
  j["memory_per_device_bytes"] = e.memory.total();
  j["memory_capacity_bytes"] = e.memoryCapacity;
  j["average_power_watts"] = e.averagePowerWatts;
  j["energy_joules"] = e.energyJoules;
  j["breakdown_seconds"] = {
      {"compute", e.computeSeconds},        {"memory_bound", e.memoryBoundSeconds},
      {"tp_comm", e.tpCommSeconds},         {"pp_comm", e.ppCommSeconds},
      {"pipeline_bubble", e.bubbleSeconds}, {"dp_comm", e.dpCommSeconds},
      {"optimizer", e.optimizerSeconds}};
  return j;
}

/// Step-time groups "op (phase)" of an estimate, seconds per iteration.
std::map<std::string, double> groupsOf(const perf::TrainingEstimate &e) {
  std::map<std::string, double> m;
  for (const perf::OpGroupTime &g : e.opGroups)
    m[g.op + " (" + g.phase + ")"] += g.seconds;
  return m;
}

} // namespace

std::string headline(const ExploreResult &r) {
  return fmt::format("best design: {:.2f}x faster than {} per training step {}; {}", r.speedup(),
                     r.baseline.displayName, siliconText(r), contributionsText(r));
}

std::string summaryText(const ExploreResult &r) {
  const perf::TrainingEstimate &b = r.baselineEstimate;
  const Evaluation &e = r.best;
  std::string s;
  s += fmt::format("explore: {}\n", workloadText(r));
  s += fmt::format("  budget    {}, {:.0f} W, {:.0f} GB/s HBM, {:.0f} GB/s links, {}; "
                   "objective {}\n",
                   r.budget.transistors > 0
                       ? fmt::format("{:.2f} B transistors", r.budget.transistors / 1e9)
                       : fmt::format("{:g} mm²", r.budget.areaMm2),
                   r.budget.powerWatts, r.budget.hbmGBps, r.budget.linkGBps,
                   arch::techNodeName(r.node), objectiveName(r.request.objective));
  s +=
      fmt::format("  search    {}, {} points evaluated ({} feasible, {} discarded), seed {}, "
                  "stopped by {}\n",
                  strategyName(r.search.strategy), r.search.points.size(), r.search.feasibleCount(),
                  r.search.discarded, r.request.search.seed, r.search.stopReason);
  s += fmt::format("  baseline  {}: {} per step, {:.1f} TFLOP/s per device, {:.1f} GiB, {:.0f} W\n",
                   r.baseline.displayName, human(b.iterationSeconds), b.tflopsPerDevice,
                   b.memory.total() / kGiB, b.averagePowerWatts);
  s += fmt::format("  best      {} ({}): {} per step, {:.1f} TFLOP/s per device, {:.1f} GiB, "
                   "{:.0f} W{}, {:.1f} mm², {:.1f} B transistors\n",
                   e.label, e.policy, human(e.iterationSeconds), e.tflopsPerDevice,
                   e.memoryBytes / kGiB, e.powerWatts,
                   e.clockedDown ? fmt::format(" (clocked down to {:.2f} GHz)", e.clockGhz) : "",
                   e.areaMm2, e.transistors / 1e9);
  s += headline(r) + "\n";
  if (r.ablation) {
    s += "  ablation  mechanism: Shapley factor (leave-one-out factor)\n";
    for (const MechanismContribution &m : r.ablation->mechanisms)
      s += fmt::format("    {:<28} {:.3f}x  ({:.3f}x)  {}\n", m.name, m.factor, m.leaveOneOut,
                       m.change);
    s += fmt::format("    {:<28} {:.3f}x  baseline / best without every mechanism\n",
                     "architecture", r.ablation->architectureFactor);
    s += fmt::format("    {:<28} {:.3f}x  (product {:.3f}x)\n", "total", r.ablation->totalSpeedup,
                     r.ablation->product());
  }
  return s;
}

nlohmann::ordered_json reportJson(const ExploreResult &r) {
  Json j;
  j["tool"] = "tessera explore";
  j["command"] = r.request.command;
  Json w;
  const perf::EstimateRequest &wr = r.request.workload;
  w["name"] = wr.workload;
  w["devices"] = r.baselineEstimate.devices;
  w["tp"] = r.baselineEstimate.tp;
  w["pp"] = r.baselineEstimate.pp;
  w["dp"] = r.baselineEstimate.dp;
  w["micro_batch"] = r.baselineEstimate.microBatch;
  w["global_batch"] = r.baselineEstimate.globalBatch;
  w["sequence_parallel"] = wr.parallel.sequenceParallel;
  w["dtype"] = std::string(workload::dtypeName(wr.zoo.dtype));
  j["workload"] = w;
  Json b;
  b["baseline"] = r.baseline.key;
  b["silicon"] = r.budget.transistors > 0 ? "transistors" : "area";
  b["area_mm2"] = r.budget.areaMm2 > 0 ? Json(r.budget.areaMm2) : Json(nullptr);
  b["transistors"] = r.budget.transistors > 0 ? Json(r.budget.transistors) : Json(nullptr);
  b["power_watts"] = r.budget.powerWatts;
  b["hbm_gbps"] = r.budget.hbmGBps;
  b["link_gbps"] = r.budget.linkGBps;
  b["node"] = std::string(arch::techNodeName(r.node));
  j["budget"] = b;
  Json s;
  s["strategy"] = std::string(strategyName(r.search.strategy));
  s["objective"] = std::string(objectiveName(r.request.objective));
  s["seed"] = r.request.search.seed;
  s["max_points"] = r.request.search.maxPoints;
  s["budget_seconds"] = r.request.search.budgetSeconds;
  s["stop_reason"] = r.search.stopReason;
  s["grid_size"] = r.search.gridSize;
  s["evaluated"] = r.search.points.size();
  s["feasible"] = r.search.feasibleCount();
  s["discarded"] = r.search.discarded;
  s["generations"] = r.search.generations;
  s["narrowest_format"] = std::string(precisionName(r.request.limits.narrowest));
  s["allow_sparsity"] = r.request.limits.allowSparsity;
  s["activation_density"] = r.request.limits.activationDensity;
  s["gradient_density"] = r.request.limits.gradientDensity;
  Json space = Json::array();
  for (const ParamDef &d : r.space) {
    Json p;
    p["key"] = d.key;
    p["description"] = d.description;
    if (d.labels.empty()) {
      p["values"] = Json::array();
      for (double v : d.values)
        p["values"].push_back(valueJson(v));
    } else
      p["values"] = d.labels;
    space.push_back(p);
  }
  s["space"] = space;
  j["search"] = s;

  Json base = estimateSummary(r.baselineEstimate);
  base["name"] = r.baseline.displayName;
  base["die_mm2"] = r.baseline.dieMm2;
  base["transistors"] = r.baseline.transistors;
  j["baseline"] = base;

  Json best = pointJson(r, *r.search.best);
  best["estimate"] = estimateSummary(r.bestEstimate);
  best["spec_file"] = "best-arch.yaml";
  Json area;
  for (int c = 0; c < perf::kAreaCategories; ++c)
    area[std::string(perf::areaCategoryName(perf::AreaCategory(c)))] =
        r.bestArea.categoryMm2(perf::AreaCategory(c));
  best["area_breakdown_mm2"] = area;
  j["best"] = best;
  j["speedup_equal_area"] = r.speedup();
  j["headline"] = headline(r);

  Json a;
  if (r.ablation) {
    const Ablation &ab = *r.ablation;
    a["method"] = "Shapley values of the log speed-up over every subset of the mechanisms; "
                  "leave-one-out = t(best without it) / t(best)";
    a["total_speedup"] = ab.totalSpeedup;
    a["architecture_factor"] = ab.architectureFactor;
    a["product"] = ab.product();
    a["best_seconds"] = ab.bestSeconds;
    a["stripped_seconds"] = ab.strippedSeconds;
    Json ms = Json::array();
    for (const MechanismContribution &m : ab.mechanisms)
      ms.push_back({{"mechanism", std::string(mechanismKey(m.mechanism))},
                    {"name", m.name},
                    {"removed_means", m.change},
                    {"factor", m.factor},
                    {"leave_one_out", m.leaveOneOut}});
    a["contributions"] = ms;
    Json subsets = Json::array();
    for (const auto &[mask, secs] : ab.subsets) {
      Json kept = Json::array();
      for (size_t i = 0; i < ab.mechanisms.size(); ++i)
        if (mask & (1u << i))
          kept.push_back(std::string(mechanismKey(ab.mechanisms[i].mechanism)));
      subsets.push_back({{"kept", kept}, {"iteration_seconds", secs}});
    }
    a["subsets"] = subsets;
  } else {
    a["error"] = r.ablationError;
  }
  j["ablation"] = a;

  j["pareto"] = {{"time_vs_area", r.paretoArea}, {"time_vs_power", r.paretoPower}};
  Json pts = Json::array();
  for (size_t i = 0; i < r.search.points.size(); ++i)
    pts.push_back(pointJson(r, i));
  j["points"] = pts;
  return j;
}

std::string reportJsonText(const ExploreResult &r) {
  Json j = reportJson(r);
  Json points = std::move(j["points"]);
  const std::string marker = "\"@points@\"";
  j["points"] = "@points@";
  std::string text = writeJson(j);
  std::string list = "[";
  JsonWriteOptions oneLine;
  oneLine.indent = -1;
  oneLine.trailingNewline = false;
  for (size_t i = 0; i < points.size(); ++i)
    list += (i ? ",\n    " : "\n    ") + writeJson(points[i], oneLine);
  list += points.empty() ? "]" : "\n  ]";
  size_t at = text.find(marker);
  return text.replace(at, marker.size(), list);
}

//===----------------------------------------------------------------------===//
// HTML
//===----------------------------------------------------------------------===//

namespace {

std::string paretoPlot(const ExploreResult &r, const std::vector<size_t> &front,
                       double Evaluation::*x, const std::string &xLabel, double baselineX,
                       double budgetX) {
  LinePlot p(fmt::format("Step time vs {}", xLabel));
  p.size(760, 440);
  p.xAxis({xLabel, false});
  p.yAxis({"time per training step (s)", false});
  std::vector<std::pair<double, double>> all, fr;
  double ymin = std::numeric_limits<double>::infinity(), ymax = 0;
  for (const Evaluation &e : r.search.points)
    if (e.feasible) {
      all.push_back({e.*x, e.iterationSeconds});
      ymin = std::min(ymin, e.iterationSeconds);
      ymax = std::max(ymax, e.iterationSeconds);
    }
  for (size_t i : front)
    fr.push_back({r.search.points[i].*x, r.search.points[i].iterationSeconds});
  double tb = r.baselineEstimate.iterationSeconds;
  ymin = std::min(ymin, tb);
  ymax = std::max(ymax, tb);
  p.addSeries({"feasible designs", all, SeriesStyle::Markers, "#bab0ac", false, {}});
  p.addSeries({"Pareto front", fr, SeriesStyle::LineAndMarkers, paletteColor(0), false, {}});
  p.addSeries({"best",
               {{r.best.*x, r.best.iterationSeconds}},
               SeriesStyle::Markers,
               paletteColor(2),
               false,
               {"best"}});
  p.addSeries({r.baseline.displayName,
               {{baselineX, tb}},
               SeriesStyle::Markers,
               paletteColor(1),
               false,
               {r.baseline.displayName}});
  if (budgetX > 0)
    p.addSeries(
        {"budget", {{budgetX, ymin}, {budgetX, ymax}}, SeriesStyle::Line, "#888888", true, {}});
  return p.render();
}

std::string rooflinePlot(const ExploreResult &r) {
  const arch::ArchSpec &s = r.bestSpec;
  double peak = s.peakFlops(r.bestPolicy.forwardGemm) / 1e12; // TFLOP/s
  double bw = s.hbmBandwidthGBps() * 1e9 / 1e12;              // TB/s -> TFLOP/s per FLOP/B
  double lo = 1e9, hi = 0;
  std::map<std::string, std::vector<std::pair<double, double>>> byPhase;
  for (const RooflinePoint &p : r.roofline) {
    if (p.dramBytes <= 0 || p.seconds <= 0)
      continue;
    double ai = p.flops / p.dramBytes;
    byPhase[p.phase].push_back({ai, p.flops / p.seconds / 1e12});
    lo = std::min(lo, ai);
    hi = std::max(hi, ai);
  }
  double ridge = peak / bw;
  lo = std::min(lo, ridge) / 4;
  hi = std::max(hi, ridge) * 4;
  LinePlot p(fmt::format("Roofline of the best design ({} {}, {}; HBM {:.0f} GB/s)",
                         arch::formatName(r.bestPolicy.forwardGemm),
                         r.bestPolicy.sparseWeights ? "with 2:4 weights" : "dense",
                         r.bestPolicy.name, s.hbmBandwidthGBps()));
  p.size(760, 440);
  p.xAxis({"arithmetic intensity (FLOP per HBM byte)", true});
  p.yAxis({"TFLOP/s", true});
  p.line(fmt::format("dense roof {:.0f} TFLOP/s", peak),
         {{lo, lo * bw}, {ridge, peak}, {hi, peak}});
  if (r.bestPolicy.sparseWeights)
    p.line(fmt::format("2:4 roof {:.0f} TFLOP/s", 2 * peak),
           {{ridge, peak}, {2 * ridge, 2 * peak}, {hi, 2 * peak}}, true);
  for (auto &[phase, pts] : byPhase)
    p.scatter(phase, pts);
  return p.render();
}

} // namespace

std::string reportHtml(const ExploreResult &r) {
  const perf::TrainingEstimate &bl = r.baselineEstimate;
  const perf::TrainingEstimate &be = r.bestEstimate;
  const Evaluation &best = r.best;
  HtmlDoc doc(fmt::format("tessera explore: {} vs {}", r.request.workload.workload,
                          r.baseline.displayName));
  doc.paragraph(headline(r));
  doc.keyValues({
      {"workload", workloadText(r)},
      {"baseline", fmt::format("{}: {} per step, {:.1f} TFLOP/s per device, {:.1f} GiB, {:.0f} W",
                               r.baseline.displayName, human(bl.iterationSeconds),
                               bl.tflopsPerDevice, bl.memory.total() / kGiB, bl.averagePowerWatts)},
      {"best design", fmt::format("{} ({})", best.label, best.policy)},
      {"best: step",
       fmt::format("{} per step, {:.1f} TFLOP/s per device, {:.1f} GiB of {:.0f}, "
                   "{:.0f} W average",
                   human(best.iterationSeconds), best.tflopsPerDevice, best.memoryBytes / kGiB,
                   best.memoryCapacity / kGiB, best.powerWatts)},
      {"best: silicon",
       fmt::format("{:.1f} mm², {:.1f} B transistors, {} at {:.2f} GHz{}", best.areaMm2,
                   best.transistors / 1e9, arch::techNodeName(r.node), best.clockGhz,
                   best.clockedDown ? " (clocked down to fit the power budget)" : "")},
      {"speed-up", fmt::format("{:.2f}x", r.speedup())},
      {"budget", fmt::format("{}, {:.0f} W average power, {:.0f} GB/s HBM, {:.0f} GB/s "
                             "chip-to-chip links per direction, {}",
                             r.budget.transistors > 0
                                 ? fmt::format("{:.2f} B transistors", r.budget.transistors / 1e9)
                                 : fmt::format("{:g} mm²", r.budget.areaMm2),
                             r.budget.powerWatts, r.budget.hbmGBps, r.budget.linkGBps,
                             arch::techNodeName(r.node))},
      {"search", fmt::format("{}, {} points ({} feasible, {} discarded), seed {}, stopped by {}",
                             strategyName(r.search.strategy), r.search.points.size(),
                             r.search.feasibleCount(), r.search.discarded, r.request.search.seed,
                             r.search.stopReason)},
      {"objective", std::string(objectiveName(r.request.objective))},
      {"best-arch.yaml", "the best design's arch spec: tessera estimate --arch best-arch.yaml"},
  });
  if (!r.request.command.empty())
    doc.preformatted(r.request.command);

  // Ablation.
  doc.heading(2, "Where the speed-up comes from");
  if (r.ablation) {
    const Ablation &a = *r.ablation;
    doc.paragraph("Each mechanism of the best design is removed by editing its spec (below); "
                  "every subset of mechanisms is estimated and each mechanism's factor is its "
                  "Shapley value of the log speed-up, so the factors and the architecture factor "
                  "(baseline / best design with every mechanism removed) multiply to the total. "
                  "Leave-one-out: step time without that mechanism alone / step time of the best "
                  "design.");
    std::vector<std::vector<std::string>> rows;
    BarChart c("Speed-up factors (Shapley)");
    c.mode(BarChart::Mode::Grouped).series({"factor"}).valueLabel("x");
    for (const MechanismContribution &m : a.mechanisms) {
      rows.push_back({m.name, fmt::format("{:.3f}x", m.factor),
                      fmt::format("{:.3f}x", m.leaveOneOut), m.change});
      c.bar(m.name, {m.factor});
    }
    rows.push_back({"architecture (tiles, array, clock, dataflow)",
                    fmt::format("{:.3f}x", a.architectureFactor), "-",
                    fmt::format("{} / best design stripped ({})", r.baseline.displayName,
                                human(a.strippedSeconds))});
    rows.push_back({"total", fmt::format("{:.3f}x", a.totalSpeedup), "-",
                    fmt::format("product of the factors {:.3f}x", a.product())});
    c.bar("architecture", {a.architectureFactor});
    c.bar("total", {a.totalSpeedup});
    doc.table({"mechanism", "factor (Shapley)", "leave-one-out", "removing it means"}, rows);
    doc.figure(c.render());
  } else {
    doc.paragraph("Ablation unavailable: " + r.ablationError);
  }

  // Pareto fronts.
  doc.heading(2, "Pareto fronts");
  doc.paragraph("Every feasible design evaluated (grey), the designs no other beats on both axes "
                "(blue line), the best design by the objective and the baseline GPU.");
  doc.figure(paretoPlot(r, r.paretoArea, &Evaluation::areaMm2, "die area (mm²)", r.baseline.dieMm2,
                        r.budget.areaMm2),
             fmt::format("Step time vs die area: {} designs on the front", r.paretoArea.size()));
  doc.figure(
      paretoPlot(r, r.paretoPower, &Evaluation::powerWatts, "average power per device (W)",
                 bl.averagePowerWatts, r.budget.powerWatts),
      fmt::format("Step time vs average power: {} designs on the front", r.paretoPower.size()));
  {
    std::vector<std::vector<std::string>> rows;
    for (size_t i : r.paretoArea) {
      const Evaluation &e = r.search.points[i];
      rows.push_back({std::to_string(i), e.label, e.policy, fmt::format("{:.1f}", e.areaMm2),
                      fmt::format("{:.0f}", e.powerWatts), human(e.iterationSeconds),
                      fmt::format("{:.2f}x", bl.iterationSeconds / e.iterationSeconds)});
    }
    TableOptions o;
    o.caption = "Pareto front, step time vs area";
    doc.table({"id", "design", "policy", "area (mm²)", "power (W)", "step", "vs baseline"}, rows,
              o);
  }

  // Time breakdown.
  doc.heading(2, "Where the time goes");
  {
    BarChart c("Training step breakdown (critical pipeline stage)");
    c.mode(BarChart::Mode::Grouped)
        .series({r.baseline.displayName, "best design"})
        .valueLabel("seconds per step");
    c.bar("matrix units", {bl.computeSeconds, be.computeSeconds});
    c.bar("memory-bound kernels", {bl.memoryBoundSeconds, be.memoryBoundSeconds});
    c.bar("tensor-parallel comm", {bl.tpCommSeconds, be.tpCommSeconds});
    c.bar("pipeline p2p comm", {bl.ppCommSeconds, be.ppCommSeconds});
    c.bar("pipeline bubble", {bl.bubbleSeconds, be.bubbleSeconds});
    c.bar("data-parallel comm", {bl.dpCommSeconds, be.dpCommSeconds});
    c.bar("optimizer", {bl.optimizerSeconds, be.optimizerSeconds});
    doc.figure(c.render());
  }
  {
    auto gb = groupsOf(bl), gt = groupsOf(be);
    std::vector<std::pair<double, std::string>> keys;
    for (auto &[k, v] : gb)
      keys.push_back({std::max(v, gt.count(k) ? gt[k] : 0.0), k});
    for (auto &[k, v] : gt)
      if (!gb.count(k))
        keys.push_back({v, k});
    std::stable_sort(keys.begin(), keys.end(), [](const auto &a, const auto &b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    BarChart c("Time per op group, baseline vs best (largest 14)");
    c.mode(BarChart::Mode::Grouped)
        .series({r.baseline.displayName, "best design"})
        .valueLabel("seconds per step");
    for (size_t i = 0; i < keys.size() && i < 14; ++i)
      c.bar(keys[i].second, {gb.count(keys[i].second) ? gb[keys[i].second] : 0.0,
                             gt.count(keys[i].second) ? gt[keys[i].second] : 0.0});
    doc.figure(c.render(), "Op kind and training phase on the critical pipeline stage, per step");
  }

  // Roofline.
  doc.heading(2, "Roofline of the best design");
  doc.figure(rooflinePlot(r), "Each GEMM-like op of the workload (one point per distinct shape "
                              "and phase) as the best design's mapper runs it");
  {
    std::vector<RooflinePoint> pts = r.roofline;
    std::stable_sort(pts.begin(), pts.end(), [](const RooflinePoint &a, const RooflinePoint &b) {
      return a.seconds * double(a.count) > b.seconds * double(b.count);
    });
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < pts.size() && i < 16; ++i) {
      const RooflinePoint &p = pts[i];
      rows.push_back({p.op, p.phase, p.shape, std::to_string(p.count),
                      fmt::format("{:.1f}", p.dramBytes > 0 ? p.flops / p.dramBytes : 0.0),
                      fmt::format("{:.1f}", p.flops / p.seconds / 1e12), human(p.seconds)});
    }
    TableOptions o;
    o.caption = "Largest GEMM-like ops (time x count per micro-batch)";
    doc.table({"op", "phase", "b x m x n x k", "count", "FLOP/B", "TFLOP/s", "time"}, rows, o);
  }

  // Area.
  doc.heading(2, "Area of the best design");
  {
    static const char *kShortCategory[] = {
        "cores (tiles)", "on-chip interconnect", "global buffer / L2",
        "memory PHY",    "memory controller",    "off-chip PHY",
        "other"};
    static_assert(sizeof(kShortCategory) / sizeof(kShortCategory[0]) == perf::kAreaCategories);
    BarChart c("Die area by category");
    bool published = !r.baseline.publishedAreaMm2.empty();
    if (published)
      c.series({"best design", r.baseline.displayName + " (published die analysis)"});
    else
      c.series({"best design"});
    c.mode(BarChart::Mode::Grouped).valueLabel("mm²");
    for (int k = 0; k < perf::kAreaCategories; ++k) {
      auto cat = perf::AreaCategory(k);
      std::vector<double> v = {r.bestArea.categoryMm2(cat)};
      for (auto &[pc, mm2] : r.baseline.publishedAreaMm2)
        if (pc == cat)
          v.push_back(mm2);
      c.bar(kShortCategory[k], v);
    }
    doc.figure(c.render(), fmt::format("Total {:.1f} mm² ({:.1f} B transistors)",
                                       r.bestArea.totalMm2, r.bestArea.totalTransistors / 1e9));
    std::vector<std::vector<std::string>> rows;
    for (const perf::AreaItem &it : r.bestArea.items)
      rows.push_back({std::string(perf::areaCategoryName(it.category)), it.component,
                      fmt::format("{:.2f}", it.mm2), fmt::format("{:.2f}", it.transistors / 1e9)});
    doc.table({"category", "component", "mm²", "B transistors"}, rows);
  }

  // Search.
  doc.heading(2, "Search");
  {
    std::vector<std::vector<std::string>> rows;
    for (const ParamDef &d : r.space) {
      std::string vals;
      for (size_t i = 0; i < d.size(); ++i)
        vals += (i ? ", " : "") + d.valueText(i);
      rows.push_back({d.key, d.description, vals});
    }
    doc.table({"parameter", "meaning", "values"}, rows);
    std::vector<size_t> order;
    for (size_t i = 0; i < r.search.points.size(); ++i)
      if (r.search.points[i].feasible)
        order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return r.search.points[a].objective < r.search.points[b].objective;
    });
    std::vector<std::vector<std::string>> top;
    for (size_t i = 0; i < order.size() && i < 15; ++i) {
      const Evaluation &e = r.search.points[order[i]];
      top.push_back({std::to_string(order[i]), e.label, e.policy, fmt::format("{:.1f}", e.areaMm2),
                     fmt::format("{:.0f}{}", e.powerWatts, e.clockedDown ? " (clocked down)" : ""),
                     human(e.iterationSeconds), fmt::format("{:.4f}", e.perfPerWatt)});
    }
    TableOptions o;
    o.caption = "Best 15 designs by the objective";
    doc.table({"id", "design", "policy", "area (mm²)", "power (W)", "step", "samples/s/W"}, top, o);
    std::map<std::string, int> why;
    for (const Evaluation &e : r.search.points)
      if (!e.feasible)
        ++why[e.reason.substr(0, e.reason.find_first_of("0123456789:"))];
    std::vector<std::string> items;
    for (auto &[k, n] : why)
      items.push_back(fmt::format("{} infeasible: {}...", n, k));
    if (r.search.discarded)
      items.push_back(fmt::format("{} candidates discarded as invalid specs{}", r.search.discarded,
                                  r.search.discardSamples.empty()
                                      ? ""
                                      : " (e.g. " + r.search.discardSamples.front() + ")"));
    if (!items.empty())
      doc.list(items);
  }
  doc.heading(2, "Assumptions");
  doc.list({
      fmt::format("Precision policy: the narrowest the design supports, no narrower than {}; "
                  "2:4 weight sparsity {}; zero skipping assumes activation / gradient densities "
                  "{:g} / {:g}.",
                  precisionName(r.request.limits.narrowest),
                  r.request.limits.allowSparsity ? "allowed" : "not allowed",
                  r.request.limits.activationDensity, r.request.limits.gradientDensity),
      "Designs over the power budget are clocked down (10 MHz steps, dynamic power "
      "proportional to the clock, voltage unchanged) until they fit.",
      "Same training graph, parallelism and collective model for the baseline GPU and every "
      "candidate; analytical models (docs/accel-model.md, docs/gpu-model.md, "
      "docs/area-model.md).",
      "Reproducible: the same command with the same seed and a search ended by --max-points "
      "gives the same bytes; a search ended by --budget-seconds may stop at a different point "
      "on another machine.",
  });
  return doc.render();
}

} // namespace tessera::explore
