//===- Report.cpp - report.json / report.html of runs and training runs -------===//
#include "runtime/Report.h"

#include "support/FileIO.h"
#include "support/Html.h"
#include "support/Json.h"
#include "support/Svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace tessera::runtime {

namespace {

Status makeDir(const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Diagnostic::error("io-error", "cannot create directory '" + dir + "': " + ec.message());
  return Status::success();
}

/// JSON cannot hold NaN / Inf: a diverged loss is written as null.
nlohmann::ordered_json lossArray(const std::vector<double> &losses) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (double l : losses)
    a.push_back(std::isfinite(l) ? nlohmann::ordered_json(l) : nlohmann::ordered_json());
  return a;
}

std::string fmtLoss(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "n/a"; }

} // namespace

std::string lossCurvePlot(const std::string &title, const std::vector<LossSeries> &series) {
  double lo = INFINITY, hi = 0;
  for (const LossSeries &s : series)
    for (double l : s.losses)
      if (std::isfinite(l)) {
        lo = std::min(lo, l);
        hi = std::max(hi, l);
      }
  bool log = lo > 0 && std::isfinite(lo) && hi / lo > 20;
  LinePlot plot(title);
  plot.xAxis({"step"}).yAxis({"loss", log});
  for (const LossSeries &s : series) {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.losses.size(); ++i)
      if (std::isfinite(s.losses[i]))
        pts.push_back({double(i + 1), s.losses[i]});
    plot.line(s.name, std::move(pts), s.dashed);
  }
  return plot.render();
}

double finalLoss(const std::vector<double> &losses, size_t window) {
  if (losses.empty())
    return 0;
  size_t n = std::min(std::max<size_t>(window, 1), losses.size());
  double sum = 0;
  for (size_t i = losses.size() - n; i < losses.size(); ++i)
    sum += losses[i];
  return sum / double(n);
}

Status writeRunReport(const Runtime &rt, const RunResult &r, const std::vector<double> &losses,
                      const std::string &dir) {
  TRY(makeDir(dir));
  const compiler::Program &p = rt.program();
  nlohmann::ordered_json j;
  j["model"] = p.model;
  j["policy"] = std::string(compiler::policyName(p.policy));
  j["train"] = p.train;
  j["backend"] = std::string(backendName(r.backend));
  j["steps"] = rt.stepsDone();
  j["cycles"] = r.cycles;
  j["instructions"] = r.instructions;
  j["losses"] = lossArray(losses);
  nlohmann::ordered_json ops = nlohmann::ordered_json::array();
  for (const OpTime &t : r.ops)
    ops.push_back({{"op", t.op},
                   {"name", t.name},
                   {"kind", t.kind},
                   {"phase", p.ops[t.op].phase},
                   {"cycles", t.cycles},
                   {"instructions", t.instructions}});
  j["ops"] = std::move(ops);
  TRY(writeTextFile(dir + "/report.json", writeJson(j)));

  HtmlDoc doc("tessera run: " + p.model);
  doc.keyValues({{"program", p.model + (p.train ? " (training step)" : " (forward)")},
                 {"policy", std::string(compiler::policyName(p.policy))},
                 {"backend", std::string(backendName(r.backend))},
                 {"cycles (last run)", std::to_string(r.cycles)},
                 {"dynamic instructions", std::to_string(r.instructions)}});
  if (r.ops.empty()) {
    doc.paragraph("Per-op cycles are measured by the cycle backend (--backend cycle).");
  } else {
    uint64_t sum = 0;
    for (const OpTime &t : r.ops)
      sum += t.cycles;
    std::vector<std::vector<std::string>> rows;
    BarChart chart("cycles per op (queue-busy time)");
    chart.valueLabel("cycles");
    for (const OpTime &t : r.ops) {
      rows.push_back(
          {std::to_string(t.op), t.name, t.kind, p.ops[t.op].phase, std::to_string(t.cycles),
           fmt::format("{:.1f}%", 100.0 * double(t.cycles) / double(std::max<uint64_t>(sum, 1))),
           std::to_string(t.instructions)});
      chart.bar(t.name, {double(t.cycles)});
    }
    doc.heading(2, "Time per op");
    doc.figure(chart.render());
    doc.table({"#", "op", "kind", "phase", "cycles", "share", "instructions"}, rows);
    doc.paragraph("An op's cycles are the sum over its dynamic instructions of start-to-"
                  "completion time in their queue; queues overlap, so the sum over ops can "
                  "exceed the program's cycles.");
  }
  if (losses.size() > 1) {
    doc.heading(2, "Loss");
    doc.figure(lossCurvePlot("loss per step", {{std::string(compiler::policyName(p.policy)),
                                                losses}}));
  }
  return writeTextFile(dir + "/report.html", doc.render());
}

const std::vector<double> *TrainReport::policyReference(const std::string &policy) const {
  for (const auto &[name, losses] : policyReferences)
    if (name == policy)
      return &losses;
  return nullptr;
}

bool finalGapPct(const TrainReport &rep, const TrainSeries &s, double &gapPct) {
  const std::vector<double> *base = rep.policyReference(s.policy);
  for (const TrainSeries &t : rep.series)
    if (!base && t.policy == "fp32")
      base = &t.losses;
  if (!base && !rep.reference.empty())
    base = &rep.reference;
  if (!base || base->empty() || s.losses.empty())
    return false;
  double b = finalLoss(*base, rep.finalWindow);
  double f = finalLoss(s.losses, rep.finalWindow);
  gapPct = 100.0 * (f - b) / std::max(std::abs(b), 1e-30);
  return true;
}

Status writeTrainReport(const TrainReport &rep, const std::string &dir) {
  TRY(makeDir(dir));
  nlohmann::ordered_json j;
  j["model"] = rep.model;
  j["model_path"] = rep.modelPath;
  j["arch"] = rep.arch;
  j["data"] = rep.dataPath;
  j["steps"] = rep.steps;
  j["batches"] = rep.batches;
  j["optimizer"] = {{"kind", "adamw"},
                    {"lr", rep.adamw.lr},
                    {"beta1", rep.adamw.beta1},
                    {"beta2", rep.adamw.beta2},
                    {"eps", rep.adamw.eps},
                    {"weight_decay", rep.adamw.weightDecay}};
  j["final_window"] = rep.finalWindow;
  nlohmann::ordered_json pol = nlohmann::ordered_json::array();
  std::vector<std::vector<std::string>> rows;
  for (const TrainSeries &s : rep.series) {
    double f = finalLoss(s.losses, rep.finalWindow), gap = 0;
    bool hasGap = finalGapPct(rep, s, gap);
    bool within = !hasGap || s.maxGapPct < 0 || gap <= s.maxGapPct;
    nlohmann::ordered_json e;
    e["policy"] = s.policy;
    e["instructions"] = s.instructions;
    e["cycles_per_step"] = s.cycles;
    e["first_loss"] = s.losses.empty() ? nlohmann::ordered_json() : lossArray({s.losses[0]})[0];
    e["final_loss"] = lossArray({f})[0];
    e["final_gap_pct"] = hasGap ? lossArray({gap})[0] : nlohmann::ordered_json();
    e["max_final_gap_pct"] = s.maxGapPct >= 0 ? nlohmann::ordered_json(s.maxGapPct)
                                               : nlohmann::ordered_json();
    e["losses"] = lossArray(s.losses);
    pol.push_back(std::move(e));
    rows.push_back({s.policy, s.losses.empty() ? "n/a" : fmtLoss(s.losses[0]), fmtLoss(f),
                    hasGap ? fmt::format("{:+.2f}%", gap) : "",
                    s.maxGapPct < 0 ? "" : fmt::format("{}%", s.maxGapPct),
                    s.maxGapPct < 0 || !hasGap ? "" : (within ? "yes" : "NO"),
                    std::to_string(s.instructions), std::to_string(s.cycles)});
  }
  j["policies"] = std::move(pol);
  if (!rep.reference.empty()) {
    j["reference"] = {{"file", rep.referencePath},
                      {"final_loss", lossArray({finalLoss(rep.reference, rep.finalWindow)})[0]},
                      {"losses", lossArray(rep.reference)}};
    rows.push_back({"PyTorch fp32", fmtLoss(rep.reference[0]),
                    fmtLoss(finalLoss(rep.reference, rep.finalWindow)), "", "", "", "", ""});
    nlohmann::ordered_json own = nlohmann::ordered_json::object();
    for (const auto &[policy, losses] : rep.policyReferences) {
      own[policy] = {{"final_loss", lossArray({finalLoss(losses, rep.finalWindow)})[0]},
                     {"losses", lossArray(losses)}};
      rows.push_back({"PyTorch fp32, " + policy + " model", fmtLoss(losses.at(0)),
                      fmtLoss(finalLoss(losses, rep.finalWindow)), "", "", "", "", ""});
    }
    if (!rep.policyReferences.empty())
      j["reference"]["policies"] = std::move(own);
  }
  TRY(writeTextFile(dir + "/report.json", writeJson(j)));

  HtmlDoc doc("tessera train: " + rep.model);
  doc.keyValues({{"model", rep.model + " (" + rep.modelPath + ")"},
                 {"arch", rep.arch},
                 {"data", rep.dataPath + " (" + std::to_string(rep.batches) + " batches, cycled)"},
                 {"steps", std::to_string(rep.steps)},
                 {"optimizer", fmt::format("AdamW lr {} betas ({}, {}) eps {} weight decay {}",
                                           rep.adamw.lr, rep.adamw.beta1, rep.adamw.beta2,
                                           rep.adamw.eps, rep.adamw.weightDecay)}});
  std::vector<LossSeries> curves;
  for (const TrainSeries &s : rep.series)
    curves.push_back({s.policy, s.losses, false});
  if (!rep.reference.empty())
    curves.push_back({"PyTorch fp32", rep.reference, true});
  for (const auto &[policy, losses] : rep.policyReferences)
    curves.push_back({"PyTorch fp32, " + policy + " model", losses, true});
  doc.heading(2, "Loss curves");
  doc.figure(lossCurvePlot("training loss per step", curves));
  doc.heading(2, "Final loss");
  doc.table({"policy", "first loss", fmt::format("final loss (mean of last {})", rep.finalWindow),
             "gap vs fp32", "margin", "within", "instructions", "cycles / step"},
            rows);
  doc.paragraph("Every policy starts from the same initial weights and takes the same batches "
                "in the same order on the golden model; the gap is (final - final_fp32) / "
                "final_fp32, for a policy with a PyTorch curve of its own model (e.g. the "
                "2:4 pruned model of mxfp8-sparse) against that curve.");
  return writeTextFile(dir + "/report.html", doc.render());
}

} // namespace tessera::runtime
