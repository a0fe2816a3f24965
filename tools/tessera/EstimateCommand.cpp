//===- EstimateCommand.cpp - `tessera estimate` --------------------------------===//
#include "Commands.h"

#include "WorkloadFlags.h"
#include "perf/AccelModel.h"
#include "perf/Estimate.h"

#include <fmt/format.h>
#include <iostream>
#include <memory>

namespace tessera::tool {

namespace {
struct EstimateFlags {
  std::string gpu;
  std::string arch;
  std::string policy = "bf16";
  std::string workload;
  std::string gemm;
  WorkloadFlags wl;
  int zero = 0;
  ParallelFlags par;
  int64_t interleave = 1;
  bool noOverlap = false;
  bool json = false;
};

/// "M,K,N" as a GEMM shape. Errors: `bad-value` (as estimateGemm reports them).
Expected<workload::GemmShape> parseGemmShape(const std::string &spec) {
  std::vector<int64_t> dims;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    std::string item =
        spec.substr(start, end == std::string::npos ? std::string::npos : end - start);
    char *stop = nullptr;
    long long v = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0' || v <= 0)
      return Diagnostic::error("bad-value",
                               "--gemm expects M,K,N with positive integers, got '" + spec + "'");
    dims.push_back(v);
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  if (dims.size() != 3)
    return Diagnostic::error("bad-value", "--gemm expects three sizes M,K,N, got '" + spec + "'");
  workload::GemmShape s;
  s.m = dims[0];
  s.k = dims[1];
  s.n = dims[2];
  return s;
}

/// `--arch FILE --gemm M,K,N`: the mapper's choice for one forward GEMM with B as the
/// weights (the policy's forward format and weight sparsity).
int runArchGemm(const perf::AccelModel &accel, const std::string &gemm, bool json) {
  using namespace tessera::perf;
  auto shape = parseGemmShape(gemm);
  if (!shape)
    return fail(shape.error());
  arch::Format f = accel.policy().forwardGemm;
  bool sparse = accel.policy().sparseWeights;
  GemmMapping m = accel.mapGemm(*shape, f, sparse, 1.0);
  double tflops = shape->flops() / m.seconds / 1e12;
  if (json) {
    nlohmann::ordered_json j;
    j["device"] = accel.name();
    j["policy"] = accel.policy().name;
    j["format"] = std::string(arch::formatName(f));
    j["sparse_weights"] = sparse;
    j["m"] = shape->m;
    j["k"] = shape->k;
    j["n"] = shape->n;
    j["seconds"] = m.seconds;
    j["tflops"] = tflops;
    j["utilization"] = m.utilization;
    j["tile_m"] = m.tileM;
    j["tile_n"] = m.tileN;
    j["tile_k"] = m.tileK;
    j["split_k"] = m.splitK;
    j["dataflow"] = m.dataflow;
    j["loop_order"] = m.loopOrder;
    j["bound"] = boundName(m.bound);
    j["hbm_bytes"] = m.hbmBytes;
    j["compulsory_hbm_bytes"] = m.compulsoryHbmBytes;
    j["global_buffer_bytes"] = m.globalBufferBytes;
    j["tile_sram_bytes"] = m.tileSramBytes;
    j["energy_joules"] = m.energyJ;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("GEMM M={} K={} N={} ({}{}) on {}, policy {}\n", shape->m, shape->k,
                           shape->n, arch::formatName(f), sparse ? ", sparse weights" : "",
                           accel.name(), accel.policy().name);
  std::cout << fmt::format("  time         {:.2f} us, {:.1f} TFLOP/s ({:.1f} % of the array's "
                           "peak), {}-bound\n",
                           m.seconds * 1e6, tflops, 100 * m.utilization, boundName(m.bound));
  std::cout << fmt::format("  mapping      {}\n", m.str());
  std::cout << fmt::format("  breakdown    compute {:.2f} us, NoC {:.2f} us, HBM {:.2f} us, "
                           "prologue {:.2f} us\n",
                           m.computeSeconds * 1e6, m.nocSeconds * 1e6, m.hbmSeconds * 1e6,
                           m.prologueSeconds * 1e6);
  std::cout << fmt::format("  traffic      HBM {:.3g} B (compulsory {:.3g}), global buffer "
                           "{:.3g} B, tile SRAM {:.3g} B\n",
                           m.hbmBytes, m.compulsoryHbmBytes, m.globalBufferBytes, m.tileSramBytes);
  std::cout << fmt::format("  energy       {:.3g} J ({:.3f} pJ/FLOP)\n", m.energyJ,
                           m.energyJ / shape->flops() * 1e12);
  return 0;
}

int runEstimate(const EstimateFlags &f) {
  using namespace tessera::perf;
  if (f.gpu.empty() == f.arch.empty())
    return fail(f.gpu.empty()
                    ? Diagnostic::error("missing-flag", "estimate needs --gpu NAME or --arch FILE")
                    : Diagnostic::error("bad-option",
                                        "--gpu and --arch are exclusive: estimate runs on one "
                                        "device model"));
  std::unique_ptr<DeviceModel> device;
  if (!f.arch.empty()) {
    auto spec = arch::loadArchSpec(f.arch);
    if (!spec)
      return fail(spec.error());
    auto policy = PrecisionPolicy::byName(f.policy);
    if (!policy)
      return fail(policy.error());
    if (Status st = checkPolicy(*spec, *policy); !st)
      return fail(st.error());
    auto accel = std::make_unique<AccelModel>(std::move(*spec), std::move(*policy));
    if (!f.gemm.empty())
      return runArchGemm(*accel, f.gemm, f.json);
    device = std::move(accel);
  } else {
    auto spec = gpuByName(f.gpu);
    if (!spec)
      return fail(spec.error());
    device = std::make_unique<GpuModel>(*spec);
  }
  auto dtype = parseComputeDtype(f.wl.dtype);
  if (!dtype)
    return fail(dtype.error());

  if (!f.gemm.empty()) {
    const GpuModel &gpu = static_cast<const GpuModel &>(*device);
    auto e = estimateGemm(gpu, f.gemm, *dtype);
    if (!e)
      return fail(e.error());
    if (f.json)
      std::cout << gemmJson(*e).dump(2) << "\n";
    else
      std::cout << renderGemm(*e);
    return 0;
  }
  if (f.workload.empty())
    return fail(Diagnostic::error("missing-flag", "estimate needs --workload or --gemm"));

  EstimateRequest req;
  req.workload = f.workload;
  req.zoo = zooOptions(f.wl, microBatch(f.wl, f.par));
  req.training = trainingOptions(f.wl);
  req.parallel = parallelConfig(f.wl, f.par);
  req.parallel.ppInterleave = f.interleave;
  req.parallel.overlapGradReduce = !f.noOverlap;
  req.parallel.zeroStage = f.zero;
  auto e = estimateWorkload(*device, req);
  if (!e)
    return fail(e.error());
  if (f.json)
    std::cout << estimateJson(*e, f.workload).dump(2) << "\n";
  else
    std::cout << renderEstimate(*e, f.workload);
  return 0;
}
} // namespace

void addEstimateCommand(CLI::App &app, int &rc) {
  auto f = std::make_shared<EstimateFlags>();
  CLI::App *cmd = app.add_subcommand(
      "estimate",
      "Estimate a training iteration (or one GEMM) on A100 / A800 / H100 or an arch spec");
  cmd->add_option("--gpu", f->gpu, "a100 | a800 | h100");
  cmd->add_option("--arch", f->arch, "arch spec (YAML) of an accelerator");
  cmd->add_option("--policy", f->policy,
                  "precision policy on --arch: bf16 | fp8 | mxfp8 | mxfp6 | mxfp4, each also "
                  "with -sparse for 2:4 weights (default bf16)");
  cmd->add_option("--workload", f->workload, "zoo model name or FILE.onnx");
  cmd->add_option("--gemm", f->gemm, "estimate one GEMM: M,K,N");
  addWorkloadFlags(cmd, f->wl);
  addParallelFlags(cmd, f->par);
  cmd->add_option("--pp-interleave", f->interleave, "model chunks per pipeline stage");
  cmd->add_option("--zero", f->zero,
                  "ZeRO stage over data parallelism: 0, 1 (distributed optimizer), 2, 3")
      ->check(CLI::Range(0, 3));
  cmd->add_flag("--no-overlap-grad-reduce", f->noOverlap,
                "do not overlap the data-parallel all-reduce with backward");
  cmd->add_flag("--json", f->json, "machine-readable output");
  cmd->callback([f, &rc] { rc = runEstimate(*f); });
}

} // namespace tessera::tool
