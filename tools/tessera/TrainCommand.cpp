//===- TrainCommand.cpp - `tessera train` ------------------------------------===//
//
// train MODEL.onnx --arch FILE --policy fp32,bf16,mxfp8[,mxfp8-sparse] --data FILE.npz
//       --steps N [--lr X] [--weight-decay X] [--backend golden|cycle] [--report DIR]
//       [--max-final-gap PCT[,POLICY=PCT...]] [--reference FILE.npz] [--max-curve-error X]
//
// Compiles one training program per policy (compiler/Compiler.h, AdamW with the given
// hyper-parameters), runs N steps of each from the model's initial weights on the golden
// model, step s taking batch s mod B of the data set (runtime/TrainRun.h), and prints /
// reports the loss curves side by side (runtime/Report.h: report.json, report.html with
// one plot, a line per policy plus PyTorch's when --reference is given).
//
// Final loss: the mean of the last 10 steps. --max-final-gap PCT[,POLICY=PCT...]: exit 1
// with `error[loss-gap]` naming the policy whose final loss exceeds fp32's by more than
// its PCT percent (a bare PCT applies to every policy, POLICY=PCT to one; fp32 itself is
// measured against the reference, when given, in both directions). --reference: an
// .npz with "loss" (PyTorch's FP32 curve of the same run, torch_reference.py --dataset)
// and optionally "loss/<policy>", PyTorch's FP32 curve of that policy's own model (the
// 2:4 pruned model of mxfp8-sparse: --dataset with --prune-2:4), which that policy's gap
// and curve error are measured against instead; --max-curve-error X: exit 1 with `error[curve-error]` when the fp32 curve's per-step
// relative error max_s |l_s - ref_s| / |ref_s| exceeds X. Progress goes to stderr.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "arch/ArchSpec.h"
#include "compiler/Compiler.h"
#include "runtime/Report.h"
#include "runtime/TrainRun.h"
#include "support/Npy.h"
#include "support/Progress.h"
#include "workload/Onnx.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace tessera::tool {

namespace {

struct TrainFlags {
  std::string model;
  std::string arch;
  std::string policies = "fp32,bf16,mxfp8";
  std::string data;
  std::string backend = "golden";
  std::string report;
  std::string reference;
  int64_t steps = 100;
  double lr = 1e-3, weightDecay = 0.01;
  std::string maxFinalGap;
  double maxCurveError = -1;
  bool quiet = false;
};

std::vector<std::string> splitList(const std::string &s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t c = s.find(',', pos);
    if (c == std::string::npos)
      c = s.size();
    if (c > pos)
      out.push_back(s.substr(pos, c - pos));
    pos = c + 1;
  }
  return out;
}

/// max over the common steps of |l - ref| / |ref|.
double curveError(const std::vector<double> &l, const std::vector<double> &ref) {
  double worst = 0;
  for (size_t i = 0; i < std::min(l.size(), ref.size()); ++i) {
    double e = std::abs(l[i] - ref[i]) / std::max(std::abs(ref[i]), 1e-30);
    worst = std::isfinite(e) ? std::max(worst, e) : INFINITY;
  }
  return worst;
}

/// The reference file: "loss" (PyTorch's FP32 curve) and optional "loss/<policy>" curves
/// of a policy's own model, each cut to `steps`.
Status readReference(const std::string &path, runtime::TrainReport &rep) {
  TRY_ASSIGN(auto npz, readNpz(path));
  bool found = false;
  for (auto &[name, arr] : npz) {
    if (name != "loss" && !name.starts_with("loss/"))
      continue;
    TRY_ASSIGN(std::vector<float> v, npyToFloats(arr, path + ":" + name));
    if (v.size() < rep.steps)
      return Diagnostic::error("bad-reference",
                               "'" + name + "' has " + std::to_string(v.size()) +
                                   " steps, the run has " + std::to_string(rep.steps),
                               SourceLoc{path, 0, 0});
    std::vector<double> l(v.begin(), v.begin() + std::ptrdiff_t(rep.steps));
    if (name == "loss") {
      rep.reference = std::move(l);
      found = true;
    } else {
      rep.policyReferences.push_back({name.substr(5), std::move(l)});
    }
  }
  if (!found)
    return Diagnostic::error("bad-reference", "no array 'loss' (the reference loss per step)",
                             SourceLoc{path, 0, 0});
  rep.referencePath = path;
  return Status::success();
}

int runTrain(const TrainFlags &f) {
  if (f.steps < 1)
    return fail(Diagnostic::error("bad-value", "--steps must be at least 1"));
  runtime::Backend backend;
  if (!runtime::backendFromName(f.backend, backend))
    return fail(
        Diagnostic::error("bad-value", "unknown backend '" + f.backend + "' (golden, cycle, rtl)"));
  std::vector<compiler::Policy> policies;
  for (const std::string &name : splitList(f.policies)) {
    compiler::Policy p;
    if (!compiler::policyFromName(name, p))
      return fail(Diagnostic::error("bad-value", "unknown policy '" + name +
                                                     "' (fp32, bf16, mxfp8, mxfp8-sparse)"));
    if (std::find(policies.begin(), policies.end(), p) != policies.end())
      return fail(Diagnostic::error("bad-value", "policy '" + name + "' is given twice"));
    policies.push_back(p);
  }
  if (policies.empty())
    return fail(Diagnostic::error("bad-value", "--policy names no policy"));
  auto spec = arch::loadArchSpec(f.arch);
  if (!spec.ok())
    return fail(spec.error());
  auto model = workload::importOnnxModel(f.model, {});
  if (!model.ok())
    return fail(model.error());
  auto data = runtime::loadTrainData(f.data);
  if (!data.ok())
    return fail(data.error());

  runtime::TrainReport rep;
  rep.model = std::filesystem::path(f.model).stem().string();
  rep.modelPath = f.model;
  rep.arch = spec->name;
  rep.dataPath = f.data;
  rep.steps = uint64_t(f.steps);
  rep.batches = data->batches;
  rep.adamw.lr = f.lr;
  rep.adamw.weightDecay = f.weightDecay;
  // --max-final-gap: "PCT" for every policy, "POLICY=PCT" for one (later items win).
  std::vector<std::pair<std::string, double>> margins;
  for (const std::string &item : splitList(f.maxFinalGap)) {
    size_t eq = item.find('=');
    std::string pol = eq == std::string::npos ? "" : item.substr(0, eq);
    std::string num = eq == std::string::npos ? item : item.substr(eq + 1);
    char *end = nullptr;
    double v = std::strtod(num.c_str(), &end);
    compiler::Policy unused;
    if (num.empty() || *end || !(v >= 0) || (!pol.empty() && !compiler::policyFromName(pol, unused)))
      return fail(Diagnostic::error("bad-value", "--max-final-gap: '" + item +
                                                     "' is not PCT or POLICY=PCT (PCT >= 0)"));
    margins.push_back({pol, v});
  }
  auto marginOf = [&](const std::string &policy) {
    double m = -1;
    for (const auto &[pol, v] : margins)
      if (pol.empty() || pol == policy)
        m = v;
    return m;
  };
  if (!f.reference.empty()) {
    Status st = readReference(f.reference, rep);
    if (!st.ok())
      return fail(st.error());
  }

  for (compiler::Policy pol : policies) {
    compiler::CompileOptions opts;
    opts.policy = pol;
    opts.train = true;
    opts.archPath = f.arch;
    opts.adamw = rep.adamw;
    auto prog = compiler::compile(model->graph, model->init, *spec, opts);
    if (!prog.ok())
      return fail(prog.error());
    runtime::TrainSeries s;
    s.policy = std::string(compiler::policyName(pol));
    s.maxGapPct = marginOf(s.policy);
    s.instructions = prog->code.size();
    auto rt = runtime::Runtime::create(std::move(*prog));
    if (!rt.ok())
      return fail(rt.error());
    auto t0 = std::chrono::steady_clock::now();
    ProgressOptions popts;
    popts.quiet = f.quiet;
    ProgressBar bar(std::cerr, rep.steps, "train " + s.policy, popts);
    auto losses = runtime::trainSteps(*rt, *data, rep.steps, backend,
                                      [&](uint64_t, double, const runtime::RunResult &r) {
                                        s.cycles = r.cycles;
                                        bar.advance();
                                      });
    bar.finish();
    if (!losses.ok())
      return fail(losses.error());
    s.losses = std::move(*losses);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("{:<13} loss {:.6g} -> {:.6g} (final, mean of last {}: {:.6g}) in "
                             "{} steps, {} cycles/step, {:.1f} s\n",
                             s.policy, s.losses.front(), s.losses.back(), rep.finalWindow,
                             runtime::finalLoss(s.losses, rep.finalWindow), s.losses.size(),
                             s.cycles, s.seconds);
    rep.series.push_back(std::move(s));
  }

  // The table of final losses and gaps (stdout), then the checks.
  std::vector<Diagnostic> errors;
  bool hasFp32 = std::any_of(rep.series.begin(), rep.series.end(),
                             [](const runtime::TrainSeries &s) { return s.policy == "fp32"; });
  auto baseOf = [&](const std::string &policy) -> std::string {
    if (rep.policyReference(policy))
      return "PyTorch fp32's for the " + policy + " model";
    return hasFp32 ? "fp32's" : "PyTorch fp32's";
  };
  std::cout << fmt::format("{:<13} {:>14} {:>12}\n", "policy", "final loss", "gap vs fp32");
  for (const runtime::TrainSeries &s : rep.series) {
    double gap = 0;
    bool has = runtime::finalGapPct(rep, s, gap);
    std::cout << fmt::format("{:<13} {:>14.6g} {:>12}\n", s.policy,
                             runtime::finalLoss(s.losses, rep.finalWindow),
                             has ? fmt::format("{:+.2f}%", gap) : "");
    bool finite = true;
    for (double l : s.losses)
      finite = finite && std::isfinite(l);
    if (!finite)
      errors.push_back(Diagnostic::error("loss-gap", "policy " + s.policy +
                                                         ": the loss is not finite (diverged)"));
    else if (s.maxGapPct >= 0 && has && s.policy != "fp32" && gap > s.maxGapPct)
      errors.push_back(Diagnostic::error(
          "loss-gap", fmt::format("policy {}: final loss {:.6g} is {:.2f}% above {}, beyond "
                                  "the margin of {}%",
                                  s.policy, runtime::finalLoss(s.losses, rep.finalWindow), gap,
                                  baseOf(s.policy), s.maxGapPct)));
  }
  if (!rep.reference.empty()) {
    double fref = runtime::finalLoss(rep.reference, rep.finalWindow);
    std::cout << fmt::format("{:<13} {:>14.6g}\n", "PyTorch fp32", fref);
    for (const auto &[policy, losses] : rep.policyReferences)
      std::cout << fmt::format("{:<13} {:>14.6g}\n", "PyTorch fp32, " + policy + " model",
                               runtime::finalLoss(losses, rep.finalWindow));
    for (const runtime::TrainSeries &s : rep.series) {
      const std::vector<double> *own = rep.policyReference(s.policy);
      double e = curveError(s.losses, own ? *own : rep.reference);
      std::cout << fmt::format("{}: per-step relative error vs PyTorch fp32{}: max {:.3e}\n",
                               s.policy, own ? " (" + s.policy + " model)" : "", e);
      if (s.policy != "fp32")
        continue;
      double gap = 100.0 * (runtime::finalLoss(s.losses, rep.finalWindow) - fref) /
                   std::max(std::abs(fref), 1e-30);
      if (s.maxGapPct >= 0 && std::abs(gap) > s.maxGapPct)
        errors.push_back(Diagnostic::error(
            "loss-gap", fmt::format("policy fp32: final loss is {:+.2f}% off PyTorch's, beyond "
                                    "the margin of {}%",
                                    gap, s.maxGapPct)));
      if (f.maxCurveError >= 0 && !(e <= f.maxCurveError))
        errors.push_back(Diagnostic::error(
            "curve-error", fmt::format("policy fp32: the loss curve is {:.3e} (relative, worst "
                                       "step) off PyTorch's, beyond {}",
                                       e, f.maxCurveError)));
    }
  } else if (f.maxCurveError >= 0) {
    return fail(Diagnostic::error("missing-flag", "--max-curve-error needs --reference"));
  }
  if (!f.report.empty()) {
    Status st = runtime::writeTrainReport(rep, f.report);
    if (!st.ok())
      return fail(st.error());
    std::cout << fmt::format("wrote {0}/report.json, {0}/report.html\n", f.report);
  }
  for (const Diagnostic &d : errors)
    fail(d);
  return errors.empty() ? 0 : 1;
}

} // namespace

void addTrainCommand(CLI::App &app, int &rc) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App *cmd = app.add_subcommand(
      "train", "Train a model for N steps under several precision policies and compare the "
               "loss curves");
  cmd->add_option("model", f->model, "the ONNX model")->required();
  cmd->add_option("--arch", f->arch, "arch spec (YAML) of the target")->required();
  cmd->add_option("--policy", f->policies,
                  "comma-separated policies: fp32, bf16, mxfp8, mxfp8-sparse")
      ->capture_default_str();
  cmd->add_option("--data", f->data,
                  ".npz with an array per input, leading dim = batch sequence (cycled)")
      ->required();
  cmd->add_option("--steps", f->steps, "training steps per policy")->capture_default_str();
  cmd->add_option("--lr", f->lr, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", f->weightDecay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("--backend", f->backend, "golden | cycle | rtl")->capture_default_str();
  cmd->add_option("--report", f->report, "write report.json and report.html into this directory");
  cmd->add_option("--reference", f->reference,
                  ".npz with 'loss': PyTorch's FP32 loss per step for the same run");
  cmd->add_option("--max-final-gap", f->maxFinalGap,
                  "PCT[,POLICY=PCT...]: fail (error[loss-gap]) when a policy's final loss is "
                  "more than PCT percent above fp32's (fp32: off PyTorch's, with --reference)");
  cmd->add_option("--max-curve-error", f->maxCurveError,
                  "fail (error[curve-error]) when the fp32 curve's per-step relative error vs "
                  "--reference exceeds X");
  cmd->add_flag("--quiet", f->quiet, "no progress on stderr");
  cmd->callback([f, &rc] { rc = runTrain(*f); });
}

} // namespace tessera::tool
