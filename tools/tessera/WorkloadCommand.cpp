//===- WorkloadCommand.cpp - `tessera workload list | show` ------------------===//
//
// `workload list` prints the model zoo. `workload show NAME|FILE.onnx` builds the forward
// graph (zoo or ONNX import) and the training graph (autodiff, recompute, optimizer) and
// prints an op table and the step's totals: parameters, FLOPs per phase, memory traffic,
// memory per device, or the same as JSON. The work is library code (workload/Zoo.h,
// Onnx.h, Training.h, Cost.h); this file parses flags and formats.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "WorkloadFlags.h"
#include "workload/Workload.h"

#include "workload/Cost.h"
#include "workload/Onnx.h"
#include "workload/Training.h"
#include "workload/Zoo.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <iostream>
#include <optional>

namespace tessera::tool {

namespace {

using namespace tessera::workload;

struct ShowFlags {
  std::string model;
  bool training = false;
  WorkloadFlags wl;
  bool allOps = false;
  bool json = false;
};

std::string human(double v, const char *unit) {
  const char *prefixes[] = {"", "K", "M", "G", "T", "P", "E"};
  int i = 0;
  while (std::abs(v) >= 1000 && i < 6) {
    v /= 1000;
    ++i;
  }
  std::string suffix = std::string(prefixes[i]) + unit;
  return fmt::format("{:.{}f}{}{}", v, i == 0 ? 0 : 2, suffix.empty() ? "" : " ", suffix);
}

/// 124439808 -> "124,439,808".
std::string grouped(int64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-')
      out += ',';
    out += digits[i];
  }
  return out;
}

/// The op table. Without --all-ops, ops of layers 1 and up are folded into one line per
/// run (they repeat layer 0), and a long graph without layers shows its two ends.
void printOps(const Graph &g, bool all) {
  std::cout << fmt::format("{:>6}  {:<15} {:>5}  {:<18} {:<44} {:<22} {:>10}\n", "id", "phase",
                           "layer", "op", "name", "output", "GFLOP");
  struct Fold {
    size_t ops = 0;
    int32_t lo = INT32_MAX, hi = -1;
    double flops = 0;
  } fold;
  auto flush = [&] {
    if (!fold.ops)
      return;
    std::cout << fmt::format("{:>6}  ... {} ops of layers {}-{} ({:.3f} GFLOP) not shown\n", "",
                             fold.ops, fold.lo, fold.hi, fold.flops / 1e9);
    fold = Fold();
  };
  bool layered = g.numLayers() > 1;
  size_t head = 200, tail = 50, n = g.numOps();
  for (size_t i = 0; i < n; ++i) {
    const Op &op = g.ops()[i];
    double flops = opCost(g, op).flops;
    if (!all && layered && op.layer >= 1) {
      ++fold.ops;
      fold.lo = std::min(fold.lo, op.layer);
      fold.hi = std::max(fold.hi, op.layer);
      fold.flops += flops;
      continue;
    }
    if (!all && !layered && n > head + tail && i >= head && i < n - tail) {
      if (i == head)
        std::cout << fmt::format("{:>6}  ... {} ops not shown (--all-ops shows them)\n", "",
                                 n - head - tail);
      continue;
    }
    flush();
    std::string out = op.outputs.empty() ? "-" : shapeStr(g.tensor(op.outputs[0]).shape);
    if (op.outputs.size() > 1)
      out += fmt::format(" +{}", op.outputs.size() - 1);
    std::cout << fmt::format("{:>6}  {:<15} {:>5}  {:<18} {:<44} {:<22} {:>10.3f}\n", i,
                             phaseName(op.phase), op.layer < 0 ? "-" : std::to_string(op.layer),
                             opName(op.kind), op.name, out, flops / 1e9);
  }
  flush();
}

nlohmann::json opsJson(const Graph &g) {
  nlohmann::json ops = nlohmann::json::array();
  for (size_t i = 0; i < g.numOps(); ++i) {
    const Op &op = g.ops()[i];
    OpCost c = opCost(g, op);
    nlohmann::json shapes = nlohmann::json::array();
    for (TensorId t : op.outputs)
      shapes.push_back(g.tensor(t).shape);
    ops.push_back({{"id", i},
                   {"phase", phaseName(op.phase)},
                   {"layer", op.layer},
                   {"op", opName(op.kind)},
                   {"name", op.name},
                   {"outputs", shapes},
                   {"flops", c.flops},
                   {"bytes", c.bytesRead + c.bytesWritten},
                   {"comm_bytes", c.commBytes}});
  }
  return ops;
}

int runShow(const ShowFlags &f) {
  auto fwd = buildWorkload(f.model, zooOptions(f.wl));
  if (!fwd)
    return fail(fwd.error());
  TrainingOptions topts = trainingOptions(f.wl);
  auto train = buildTrainingGraph(*fwd, topts);
  if (!train && f.training)
    return fail(train.error());

  GraphCost fc = graphCost(*fwd);
  std::optional<GraphCost> tc;
  std::optional<TrainingMemory> mem;
  if (train) {
    tc = graphCost(*train);
    mem = trainingMemory(*train, topts);
  }
  const Graph &shown = f.training ? *train : *fwd;
  double params = double(fwd->parameterCount());

  if (f.json) {
    nlohmann::json j;
    j["workload"] = fwd->name();
    j["ops"] = fwd->numOps();
    j["layers"] = fwd->numLayers();
    j["parameters"] = fwd->parameterCount();
    j["flops_forward"] = fc.flops;
    j["gemm_flops_forward"] = fc.gemmFlopsByPhase[size_t(Phase::Forward)];
    j["bytes_forward"] = fc.bytes;
    if (tc) {
      nlohmann::json byPhase;
      for (size_t p = 0; p < 5; ++p)
        byPhase[std::string(phaseName(Phase(p)))] = tc->flopsByPhase[p];
      j["training_ops"] = train->numOps();
      j["recompute"] = f.wl.recompute;
      j["optimizer"] = f.wl.optimizer;
      j["flops_training"] = tc->flops;
      j["flops_by_phase"] = byPhase;
      j["bytes_training"] = tc->bytes;
      j["comm_bytes_training"] = tc->commBytes;
      j["activation_bytes"] = mem->activations;
      j["memory"] = {{"weights", mem->weights},
                     {"gradients", mem->gradients},
                     {"optimizer_state", mem->optimizerState},
                     {"activations", mem->activations},
                     {"peak_transient", mem->peakTransient},
                     {"total", mem->total()}};
    } else {
      j["flops_training"] = nullptr;
      j["activation_bytes"] = nullptr;
      j["training_error"] = train.error().headline();
    }
    if (f.allOps)
      j["op_table"] = opsJson(shown);
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << fmt::format("{} ({} graph: {} ops, {} layers)\n\n", fwd->name(),
                           f.training ? "training" : "forward", shown.numOps(), fwd->numLayers());
  printOps(shown, f.allOps);
  std::cout << "\n";
  std::cout << fmt::format("{:<22}{} ({})\n", "parameters", human(params, ""),
                           grouped(fwd->parameterCount()));
  std::cout << fmt::format(
      "{:<22}{} (matrix units {}), memory traffic {}\n", "forward", human(fc.flops, "FLOP"),
      human(fc.gemmFlopsByPhase[size_t(Phase::Forward)], "FLOP"), human(fc.bytes, "B"));
  if (!tc) {
    std::cout << fmt::format("{:<22}not available: {}\n", "training step",
                             train.error().headline());
    return 0;
  }
  std::cout << fmt::format("{:<22}{} ({:.2f}x forward), recompute {}, memory traffic {}\n",
                           "training step", human(tc->flops, "FLOP"), tc->flops / fc.flops,
                           f.wl.recompute, human(tc->bytes, "B"));
  for (size_t p = 0; p < 5; ++p)
    std::cout << fmt::format("  {:<20}{}\n", phaseName(Phase(p)),
                             human(tc->flopsByPhase[p], "FLOP"));
  if (tc->commBytes > 0)
    std::cout << fmt::format("{:<22}{} per step\n", "collectives", human(tc->commBytes, "B"));
  std::cout << fmt::format("{:<22}weights {}, gradients {}, optimizer state {} ({})\n",
                           "memory per device", human(mem->weights, "B"),
                           human(mem->gradients, "B"), human(mem->optimizerState, "B"),
                           f.wl.optimizer);
  std::cout << fmt::format("{:<22}activations {} (one micro-batch), peak transient {}, "
                           "total {}\n",
                           "", human(mem->activations, "B"), human(mem->peakTransient, "B"),
                           human(mem->total(), "B"));
  return 0;
}

int runList() {
  for (const ZooInfo &m : zooModels())
    std::cout << fmt::format("{:<13} {}\n", m.name, m.description);
  return 0;
}

} // namespace

void addWorkloadCommand(CLI::App &app, int &rc) {
  auto *cmd = app.add_subcommand("workload", "Inspect training workloads");
  cmd->require_subcommand(1);

  auto *list = cmd->add_subcommand("list", "List the built-in models");
  list->callback([&rc] { rc = runList(); });

  auto f = std::make_shared<ShowFlags>();
  auto *show =
      cmd->add_subcommand("show", "Op table, FLOPs and memory of a built-in model or an ONNX file");
  show->add_option("model", f->model, "built-in model name (see `workload list`) or FILE.onnx")
      ->required();
  show->add_flag("--training", f->training,
                 "show the training graph (forward, recompute, backward, optimizer)");
  addWorkloadFlags(show, f->wl);
  show->add_flag("--all-ops", f->allOps, "print every op (JSON: add the op table)");
  show->add_flag("--json", f->json, "machine-readable output");
  show->callback([f, &rc] { rc = runShow(*f); });
}

} // namespace tessera::tool
