#include "perf/Estimate.h"

#include "workload/Workload.h"

#include <cmath>
#include <fmt/format.h>
#include <sstream>

namespace tessera::perf {

using namespace workload;

Expected<DType> parseComputeDtype(const std::string &s) {
  if (s == "fp16") return DType::F16;
  if (s == "bf16") return DType::BF16;
  if (s == "tf32") return DType::TF32;
  if (s == "fp8") return DType::FP8E4M3;
  if (s == "fp32") return DType::F32;
  return Diagnostic::error("bad-value", "unknown --dtype '" + s +
                                            "' (expected fp16, bf16, tf32, fp8 or fp32)");
}

Expected<Graph> buildTrainingWorkload(const EstimateRequest &req, int64_t &seqLen) {
  Graph fwd;
  TRY_ASSIGN(fwd, buildWorkload(req.workload, req.zoo));
  seqLen = 0;
  for (TensorId in : fwd.inputs()) {
    const Tensor &t = fwd.tensor(in);
    if ((t.dtype == DType::I64 || t.dtype == DType::I32) && t.shape.size() == 2) {
      seqLen = t.shape[1];
      break;
    }
  }
  return buildTrainingGraph(fwd, req.training);
}

Expected<TrainingEstimate> estimateWorkload(const DeviceModel &dev, const EstimateRequest &req) {
  int64_t seq = 0;
  Graph g;
  TRY_ASSIGN(g, buildTrainingWorkload(req, seq));
  return estimateTraining(dev, g, req.training, req.parallel, seq, req.zoo.dtype);
}

Expected<GemmEstimate> estimateGemm(const GpuModel &gpu, const std::string &spec, DType t) {
  GemmEstimate e;
  std::vector<int64_t> dims;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char *end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0)
      return Diagnostic::error("bad-value", "--gemm expects M,K,N with positive integers, got '" +
                                                spec + "'");
    dims.push_back(v);
  }
  if (dims.size() != 3)
    return Diagnostic::error("bad-value",
                             "--gemm expects three sizes M,K,N, got '" + spec + "'");
  if (gpu.peakFlops(t) <= 0)
    return Diagnostic::error("unsupported-dtype",
                             fmt::format("{} has no tensor cores for {}", gpu.name(), dtypeName(t)));
  e.device = gpu.name();
  e.shape.m = dims[0];
  e.shape.k = dims[1];
  e.shape.n = dims[2];
  e.dtype = t;
  e.plan = gpu.gemm(e.shape, t);
  e.seconds = e.plan.seconds;
  e.tflops = e.shape.flops() / e.seconds / 1e12;
  return e;
}

static std::string human(double seconds) {
  if (seconds >= 1) return fmt::format("{:.3f} s", seconds);
  if (seconds >= 1e-3) return fmt::format("{:.3f} ms", seconds * 1e3);
  return fmt::format("{:.2f} us", seconds * 1e6);
}

std::string renderEstimate(const TrainingEstimate &e, const std::string &workload) {
  constexpr double G = 1024.0 * 1024 * 1024;
  std::string s;
  s += fmt::format("Training iteration of {} on {} x {}\n", workload, e.devices, e.device);
  s += fmt::format("  parallelism  TP {}  PP {}{}  DP {}{}   micro-batch {}  global batch {}  "
                   "micro-batches {}\n",
                   e.tp, e.pp, e.ppInterleave > 1 ? fmt::format(" (x{} interleaved)", e.ppInterleave) : "",
                   e.dp, e.zeroStage ? fmt::format(" (ZeRO-{})", e.zeroStage) : "",
                   e.microBatch, e.globalBatch, e.microBatches);
  s += fmt::format("  iteration    {}\n", human(e.iterationSeconds));
  auto line = [&](const char *what, double secs) {
    s += fmt::format("    {:<28} {:>12}  {:5.1f} %\n", what, human(secs),
                     100.0 * secs / e.iterationSeconds);
  };
  line("compute (matrix units)", e.computeSeconds);
  line("memory-bound kernels", e.memoryBoundSeconds);
  line("tensor-parallel comm", e.tpCommSeconds);
  line("pipeline p2p comm", e.ppCommSeconds);
  line("pipeline bubble", e.bubbleSeconds);
  line("data-parallel comm (exposed)", e.dpCommSeconds);
  line("optimizer step", e.optimizerSeconds);
  s += fmt::format("  throughput   {:.1f} TFLOP/s per device ({:.1f} % MFU of {:.0f} TFLOP/s peak)\n",
                   e.tflopsPerDevice, 100 * e.mfu, e.peakFlops / 1e12);
  s += fmt::format("               {:.2f} samples/s", e.samplesPerSecond);
  if (e.tokensPerSecond > 0)
    s += fmt::format(", {:.0f} tokens/s", e.tokensPerSecond);
  s += fmt::format("; {:.3e} FLOPs per iteration ({:.3e} model FLOPs)\n", e.flopsPerIteration,
                   e.modelFlopsPerIteration);
  s += fmt::format("  memory       {:.1f} GiB per device of {:.0f} GiB (weights {:.1f}, grads {:.1f}, "
                   "optimizer {:.1f}, activations {:.1f}, reserve {:.1f})\n",
                   e.memory.total() / G, e.memoryCapacity / G, e.memory.weights / G,
                   e.memory.gradients / G, e.memory.optimizerState / G, e.memory.activations / G,
                   e.memory.reserve / G);
  s += fmt::format("  energy       {:.3g} kJ per iteration, {:.0f} W average per device{}\n",
                   e.energyJoules / 1e3, e.averagePowerWatts, e.powerLimited ? " (power-limited)" : "");
  s += "  top kernels on the critical stage (per iteration):\n";
  for (size_t i = 0; i < e.opGroups.size() && i < 8; ++i) {
    const OpGroupTime &g = e.opGroups[i];
    s += fmt::format("    {:<22} {:<16} x{:<5} {:>12}  {:5.1f} %\n", g.op, g.phase, g.count,
                     human(g.seconds), 100.0 * g.seconds / e.iterationSeconds);
  }
  for (const std::string &n : e.notes)
    s += "  note: " + n + "\n";
  s += "  (analytical model; see docs/gpu-model.md and docs/validation.md for its error)\n";
  return s;
}

nlohmann::ordered_json estimateJson(const TrainingEstimate &e, const std::string &workload) {
  nlohmann::ordered_json j;
  j["workload"] = workload;
  j["device"] = e.device;
  j["devices"] = e.devices;
  j["tp"] = e.tp;
  j["pp"] = e.pp;
  j["pp_interleave"] = e.ppInterleave;
  j["dp"] = e.dp;
  j["zero_stage"] = e.zeroStage;
  j["micro_batch"] = e.microBatch;
  j["global_batch"] = e.globalBatch;
  j["micro_batches"] = e.microBatches;
  j["iteration_seconds"] = e.iterationSeconds;
  j["breakdown_seconds"] = {{"compute", e.computeSeconds},
                            {"memory_bound", e.memoryBoundSeconds},
                            {"tp_comm", e.tpCommSeconds},
                            {"pp_comm", e.ppCommSeconds},
                            {"pipeline_bubble", e.bubbleSeconds},
                            {"dp_comm", e.dpCommSeconds},
                            {"optimizer", e.optimizerSeconds}};
  j["tflops_per_device"] = e.tflopsPerDevice;
  j["mfu"] = e.mfu;
  j["peak_tflops"] = e.peakFlops / 1e12;
  j["flops_per_iteration"] = e.flopsPerIteration;
  j["model_flops_per_iteration"] = e.modelFlopsPerIteration;
  j["samples_per_second"] = e.samplesPerSecond;
  j["tokens_per_second"] = e.tokensPerSecond;
  j["memory_per_device_bytes"] = e.memory.total();
  j["memory_breakdown_bytes"] = {{"weights", e.memory.weights},
                                 {"gradients", e.memory.gradients},
                                 {"optimizer_state", e.memory.optimizerState},
                                 {"activations", e.memory.activations},
                                 {"reserve", e.memory.reserve}};
  j["memory_capacity_bytes"] = e.memoryCapacity;
  j["energy_joules"] = e.energyJoules;
  j["average_power_watts"] = e.averagePowerWatts;
  j["power_limited"] = e.powerLimited;
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  for (const OpGroupTime &g : e.opGroups)
    groups.push_back({{"op", g.op}, {"phase", g.phase}, {"count", g.count},
                      {"seconds", g.seconds}, {"flops", g.flops}});
  j["kernels"] = groups;
  j["notes"] = e.notes;
  return j;
}

std::string renderGemm(const GemmEstimate &e) {
  return fmt::format("GEMM M={} K={} N={} {} on {}: {} ({:.1f} TFLOP/s); {}x{} tiles{}, {} CTAs "
                     "in {} waves, compute {} / memory {}\n",
                     e.shape.m, e.shape.k, e.shape.n, dtypeName(e.dtype), e.device,
                     human(e.seconds), e.tflops, e.plan.tileM, e.plan.tileN,
                     e.plan.splitK > 1 ? fmt::format(", split-K {}", e.plan.splitK) : "",
                     e.plan.tiles, e.plan.waves, human(e.plan.computeSeconds),
                     human(e.plan.memorySeconds));
}

nlohmann::ordered_json gemmJson(const GemmEstimate &e) {
  nlohmann::ordered_json j;
  j["device"] = e.device;
  j["m"] = e.shape.m;
  j["k"] = e.shape.k;
  j["n"] = e.shape.n;
  j["dtype"] = std::string(dtypeName(e.dtype));
  j["seconds"] = e.seconds;
  j["tflops"] = e.tflops;
  j["tile_m"] = e.plan.tileM;
  j["tile_n"] = e.plan.tileN;
  j["split_k"] = e.plan.splitK;
  j["ctas"] = e.plan.tiles;
  j["waves"] = e.plan.waves;
  j["dram_bytes"] = e.plan.dramBytes;
  return j;
}

} // namespace tessera::perf
