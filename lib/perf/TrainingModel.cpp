#include "perf/TrainingModel.h"

#include "perf/Collectives.h"
#include "workload/Cost.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>

namespace tessera::perf {

using namespace workload;

namespace {


CollectiveKind collectiveKind(OpKind k) {
  switch (k) {
  case OpKind::AllReduce: return CollectiveKind::AllReduce;
  case OpKind::ReduceScatter: return CollectiveKind::ReduceScatter;
  case OpKind::AllGather: return CollectiveKind::AllGather;
  default: return CollectiveKind::SendRecv;
  }
}

/// Bytes of the full message of a collective op.
double collectiveMessage(const Graph &g, const Op &op) {
  double in = 0, out = 0;
  for (TensorId t : op.inputs)
    in += g.tensor(t).bytes();
  for (TensorId t : op.outputs)
    out += g.tensor(t).bytes();
  return op.kind == OpKind::AllGather ? out : in;
}

bool isMatrixWork(OpCategory c) {
  return c == OpCategory::Gemm || c == OpCategory::Conv || c == OpCategory::Attention;
}

struct StageTimes {
  double fwd = 0, bwd = 0, opt = 0;
  double compute = 0, memory = 0, tpComm = 0; // per micro-batch, fwd + bwd
  double paramBytes = 0, gradBytes = 0, optBytes = 0, actBytes = 0;
  double dynamicJoules = 0; // per micro-batch (optimizer separately)
  double optJoules = 0;
};

} // namespace

Expected<TrainingEstimate> estimateTraining(const DeviceModel &dev, const Graph &g,
                                            const TrainingOptions &topts,
                                            const ParallelConfig &cfg, int64_t seqLen,
                                            DType computeType) {
  auto bad = [](std::string msg) { return Diagnostic::error("bad-parallelism", msg); };
  if (cfg.zeroStage < 0 || cfg.zeroStage > 3)
    return bad("--zero must be 0, 1, 2 or 3");
  if (cfg.devices < 1 || cfg.tp < 1 || cfg.pp < 1 || cfg.ppInterleave < 1 || cfg.microBatch < 1)
    return bad("devices, --tp, --pp, --pp-interleave and --micro-batch must be positive");
  if (cfg.devices % (cfg.tp * cfg.pp) != 0)
    return bad(fmt::format("{} devices cannot be split into tensor-parallel {} x pipeline-"
                           "parallel {} groups ({} is not a multiple of {})",
                           cfg.devices, cfg.tp, cfg.pp, cfg.devices, cfg.tp * cfg.pp));
  TrainingEstimate r;
  r.device = dev.name();
  r.devices = cfg.devices;
  r.tp = cfg.tp;
  r.pp = cfg.pp;
  r.ppInterleave = cfg.ppInterleave;
  r.zeroStage = cfg.zeroStage;
  r.dp = cfg.devices / (cfg.tp * cfg.pp);
  r.microBatch = cfg.microBatch;
  r.globalBatch = cfg.globalBatch > 0 ? cfg.globalBatch : cfg.microBatch * r.dp;
  if (r.globalBatch % (cfg.microBatch * r.dp) != 0)
    return bad(fmt::format("global batch {} is not a multiple of micro-batch {} x data-"
                           "parallel degree {}",
                           r.globalBatch, cfg.microBatch, r.dp));
  r.microBatches = r.globalBatch / (cfg.microBatch * r.dp);
  const int64_t m = r.microBatches, pp = cfg.pp, v = cfg.ppInterleave;
  const int32_t layers = g.numLayers();
  if (pp > 1 || v > 1) {
    if (layers == 0)
      return bad("pipeline parallelism needs a model with repeated layers (a zoo model); "
                 "this graph has none");
    if (layers % (pp * v) != 0)
      return bad(fmt::format("{} layers cannot be split into {} pipeline stages{}", layers,
                             pp, v > 1 ? fmt::format(" x {} interleaved chunks", v) : ""));
    if (v > 1 && pp < 2)
      return bad("--pp-interleave needs --pp of at least 2");
    if (v > 1 && m % pp != 0)
      return bad(fmt::format("the interleaved schedule needs the micro-batch count ({}) to be "
                             "a multiple of --pp ({})",
                             m, pp));
  }
  r.peakFlops = dev.peakFlops(computeType);
  if (r.peakFlops <= 0)
    return Diagnostic::error("unsupported-dtype",
                             fmt::format("{} has no matrix units for {}", dev.name(),
                                         dtypeName(computeType)));

  // Stage of every op.
  const auto &ops = g.ops();
  size_t firstLayered = ops.size();
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].phase == Phase::Forward && ops[i].layer >= 0) {
      firstLayered = i;
      break;
    }
  int64_t layersPerChunk = layers > 0 ? std::max<int64_t>(1, layers / (pp * v)) : 1;
  std::vector<int64_t> stageOf(ops.size(), 0);
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op &op = ops[i];
    if (op.layer >= 0) {
      stageOf[i] = (op.layer / layersPerChunk) % pp;
      continue;
    }
    size_t ref = (op.phase != Phase::Forward && op.forwardOf.valid()) ? op.forwardOf.v : i;
    if (ops[ref].layer >= 0)
      stageOf[i] = (ops[ref].layer / layersPerChunk) % pp;
    else
      stageOf[i] = ref < firstLayered ? 0 : pp - 1;
  }

  Link intra = dev.intraNodeLink(), inter = dev.interNodeLink();
  int perNode = dev.devicesPerNode();
  Link tpLink = cfg.tp <= perNode ? intra : inter;
  Link dpLink = cfg.tp * r.dp <= perNode ? intra : inter;
  Link ppLink = cfg.tp * r.dp < perNode ? intra : inter;

  std::vector<StageTimes> st(pp);
  std::vector<std::map<std::pair<std::string, std::string>, OpGroupTime>> groupsByStage(pp);
  double flopsPerMicro = 0, modelFlopsPerMicro = 0, optFlops = 0;
  auto consumers = g.consumers();

  for (size_t i = 0; i < ops.size(); ++i) {
    const Op &op = ops[i];
    StageTimes &s = st[stageOf[i]];
    OpCategory cat = opCategory(op.kind);
    OpCost c = opCost(g, op);
    double secs = 0;
    if (cat == OpCategory::Collective) {
      int64_t n = op.attrs.group == CommGroup::Data ? r.dp
                  : op.attrs.group == CommGroup::Pipeline ? 2 : cfg.tp;
      const Link &l = op.attrs.group == CommGroup::Data ? dpLink : tpLink;
      double msg = collectiveMessage(g, op);
      secs = collectiveSeconds(collectiveKind(op.kind), msg, n, l);
      s.tpComm += secs;
      s.dynamicJoules += collectiveBytesSent(collectiveKind(op.kind), msg, n) *
                         dev.energyPerLinkByte();
    } else {
      OpTime t = dev.opTime(g, op);
      secs = t.seconds;
      double joules = c.gemmFlops * dev.energyPerFlop(computeType) +
                      (c.flops - c.gemmFlops) * dev.energyPerFlop(DType::F32) +
                      t.dramBytes * dev.energyPerDramByte();
      if (op.phase == Phase::Optimizer) {
        s.opt += secs;
        s.optJoules += joules;
        optFlops += c.flops;
      } else {
        (isMatrixWork(cat) ? s.compute : s.memory) += secs;
        s.dynamicJoules += joules;
      }
    }
    if (op.phase != Phase::Optimizer) {
      flopsPerMicro += c.flops;
      if (op.phase != Phase::Recompute)
        modelFlopsPerMicro += c.flops;
      (op.phase == Phase::Forward ? s.fwd : s.bwd) += secs;
    }
    auto &grp = groupsByStage[stageOf[i]][{std::string(opName(op.kind)),
                                           std::string(phaseName(op.phase))}];
    grp.op = std::string(opName(op.kind));
    grp.phase = std::string(phaseName(op.phase));
    grp.count += 1;
    double reps = op.phase == Phase::Optimizer ? 1.0 : double(m);
    grp.seconds += secs * reps;
    grp.flops += c.flops * reps;
  }

  // Memory per stage: parameters (and their gradients and optimizer state) used there,
  // and forward activations that a later pass reads.
  std::vector<std::set<uint32_t>> stageParams(pp), stageState(pp);
  for (size_t i = 0; i < ops.size(); ++i)
    for (TensorId in : ops[i].inputs) {
      const Tensor &t = g.tensor(in);
      if (t.role == TensorRole::Parameter)
        stageParams[stageOf[i]].insert(in.v);
      else if (t.role == TensorRole::OptimizerState)
        stageState[stageOf[i]].insert(in.v);
    }
  for (int64_t s = 0; s < pp; ++s) {
    for (uint32_t p : stageParams[s]) {
      st[s].paramBytes += g.tensor(TensorId{p}).bytes();
      st[s].gradBytes += g.tensor(TensorId{p}).bytes();
    }
    for (uint32_t p : stageState[s])
      st[s].optBytes += g.tensor(TensorId{p}).bytes();
  }
  double p2pBytes = 0;
  for (uint32_t t = 0; t < g.numTensors(); ++t) {
    const Tensor &ten = g.tensor(TensorId{t});
    if (!ten.producer.valid() || ops[ten.producer.v].phase != Phase::Forward)
      continue;
    int64_t ps = stageOf[ten.producer.v];
    bool saved = false;
    for (OpId c : consumers[t]) {
      if (ops[c.v].phase != Phase::Forward)
        saved = true;
      else if (stageOf[c.v] != ps)
        p2pBytes = std::max(p2pBytes, ten.bytes());
    }
    if (saved)
      st[ps].actBytes += ten.bytes();
  }
  TrainingMemory tm = trainingMemory(g, topts);

  // Pipeline point-to-point: one activation forward and one gradient backward per
  // micro-batch and chunk, split across the TP ranks (Megatron's scatter/gather).
  double p2pSecs = 0;
  if (pp > 1) {
    double perRank = p2pBytes / double(cfg.tp);
    double oneWay = collectiveSeconds(CollectiveKind::SendRecv, perRank, 2, ppLink);
    // Without sequence parallelism the receiver re-assembles the full activation.
    if (!cfg.sequenceParallel)
      oneWay += collectiveSeconds(CollectiveKind::AllGather, p2pBytes, cfg.tp, tpLink);
    p2pSecs = 2.0 * double(v) * oneWay;
  }
  // Gradient accumulation across micro-batches: each micro-batch's parameter gradients
  // are added into the accumulation buffer (FP32 main gradients under mixed precision,
  // as Megatron-LM and PyTorch AMP do), a memory-bound pass over the stage's parameters.
  std::vector<double> accumSecs(pp, 0.0);
  if (m > 1) {
    double accBytes = topts.optimizer == OptimizerKind::AdamWBf16SR ? 2.0 : 4.0;
    for (int64_t s = 0; s < pp; ++s) {
      double params = 0;
      for (uint32_t p : stageParams[s])
        params += double(g.tensor(TensorId{p}).elements());
      double gradBytes = st[s].gradBytes;
      if (params > 0)
        accumSecs[s] = dev.streamTime(gradBytes + params * accBytes, params * accBytes).seconds;
      st[s].dynamicJoules += (gradBytes + 2 * params * accBytes) * dev.energyPerDramByte();
    }
  }
  double tMax = 0, tSum = 0;
  int64_t critical = 0;
  for (int64_t s = 0; s < pp; ++s) {
    double t = st[s].fwd + st[s].bwd + accumSecs[s] + p2pSecs;
    tSum += t;
    if (t > tMax) {
      tMax = t;
      critical = s;
    }
  }
  double pipeline = v == 1 ? double(m - 1) * tMax + tSum
                           : double(m) * tMax + double(pp - 1) / double(v) * (tSum / pp);
  const StageTimes &cs = st[critical];
  r.computeSeconds = double(m) * cs.compute;
  r.memoryBoundSeconds = double(m) * (cs.memory + accumSecs[critical]);
  r.tpCommSeconds = double(m) * cs.tpComm;
  r.ppCommSeconds = double(m) * p2pSecs;
  r.bubbleSeconds = pipeline - double(m) * tMax;

  // Data-parallel gradient all-reduce (in the gradient dtype), overlapped with the last
  // micro-batch's backward pass of the stage that finishes last (stage 0).
  double maxGrad = 0;
  for (const StageTimes &s : st)
    maxGrad = std::max(maxGrad, s.gradBytes);
  double arSecs = collectiveSeconds(CollectiveKind::AllReduce, maxGrad, r.dp, dpLink);
  // Tied embeddings live on the first and the last stage: their gradients are summed.
  if (pp > 1)
    for (uint32_t p : stageParams[0])
      if (stageParams[pp - 1].count(p))
        arSecs += collectiveSeconds(CollectiveKind::AllReduce, g.tensor(TensorId{p}).bytes(), 2,
                                    inter);
  double zeroDiv = cfg.zeroStage >= 1 ? double(r.dp) : 1.0;
  if (cfg.zeroStage >= 1 && r.dp > 1) {
    // Reduce-scatter of gradients (overlappable) + all-gather of updated weights (exposed).
    double rs = collectiveSeconds(CollectiveKind::ReduceScatter, maxGrad, r.dp, dpLink);
    double ag = collectiveSeconds(CollectiveKind::AllGather, maxGrad, r.dp, dpLink);
    r.dpCommSeconds = (cfg.overlapGradReduce ? std::max(0.0, rs - st[0].bwd) : rs) + ag;
    if (cfg.zeroStage == 3) {
      // Weights gathered for forward and backward of every micro-batch and gradients
      // reduce-scattered, all prefetched under the stage's compute.
      double perMicro = 2 * ag + rs;
      double exposed = std::max(0.0, perMicro - (st[critical].fwd + st[critical].bwd));
      r.dpCommSeconds = double(m) * exposed;
    }
  } else {
    r.dpCommSeconds = cfg.overlapGradReduce ? std::max(0.0, arSecs - st[0].bwd) : arSecs;
  }
  double optMax = 0;
  for (const StageTimes &s : st)
    optMax = std::max(optMax, s.opt);
  r.optimizerSeconds = optMax / zeroDiv;
  r.iterationSeconds = pipeline + r.dpCommSeconds + r.optimizerSeconds;

  double replicas = double(r.dp) * double(cfg.tp);
  r.flopsPerIteration = (flopsPerMicro * double(m) + optFlops) * replicas;
  r.modelFlopsPerIteration = (modelFlopsPerMicro * double(m) + optFlops) * replicas;
  r.tflopsPerDevice = r.flopsPerIteration / r.iterationSeconds / double(cfg.devices) / 1e12;
  r.mfu = r.modelFlopsPerIteration / (r.iterationSeconds * double(cfg.devices) * r.peakFlops);
  r.samplesPerSecond = double(r.globalBatch) / r.iterationSeconds;
  r.tokensPerSecond = seqLen > 0 ? r.samplesPerSecond * double(seqLen) : 0;

  // Memory of the most loaded stage.
  for (int64_t s = 0; s < pp; ++s) {
    double inflight = std::min<double>(double(m), double(pp - s));
    if (v > 1)
      inflight *= 1.0 + double(pp - 1) / double(pp * v);
    DeviceMemory dm;
    dm.weights = st[s].paramBytes / (cfg.zeroStage >= 3 ? zeroDiv : 1.0);
    dm.gradients = st[s].gradBytes / (cfg.zeroStage >= 2 ? zeroDiv : 1.0);
    dm.optimizerState = st[s].optBytes / zeroDiv;
    dm.activations = st[s].actBytes * inflight + tm.peakTransient / double(pp);
    dm.reserve = dev.runtimeReserve();
    if (dm.total() > r.memory.total())
      r.memory = dm;
  }
  r.memoryCapacity = dev.memoryCapacity();

  // Energy: static power for the whole iteration, dynamic energy of every op executed.
  double dynamic = 0;
  for (const StageTimes &s : st)
    dynamic += s.dynamicJoules * double(m) + s.optJoules;
  dynamic *= replicas;
  dynamic += double(cfg.devices) * collectiveBytesSent(CollectiveKind::AllReduce, maxGrad, r.dp) *
             dev.energyPerLinkByte();
  r.energyJoules = dynamic + dev.staticPower() * r.iterationSeconds * double(cfg.devices);
  r.averagePowerWatts = r.energyJoules / (r.iterationSeconds * double(cfg.devices));
  r.powerLimited = r.averagePowerWatts > dev.powerLimit();

  for (auto &[key, grp] : groupsByStage[critical])
    r.opGroups.push_back(grp);
  std::stable_sort(r.opGroups.begin(), r.opGroups.end(),
                   [](const OpGroupTime &a, const OpGroupTime &b) { return a.seconds > b.seconds; });

  r.notes.push_back(fmt::format("critical pipeline stage {} of {}", critical, pp));
  r.notes.push_back(fmt::format("TP collectives on {} ({:.0f} GB/s per direction, {:.0f} % "
                                "efficiency), exposed",
                                cfg.tp <= perNode ? "the intra-node link" : "the inter-node link",
                                tpLink.bandwidth / 1e9, tpLink.efficiency * 100));
  if (r.powerLimited)
    r.notes.push_back(fmt::format("estimated average power {:.0f} W exceeds the {:.0f} W limit: "
                                  "the device would clock down",
                                  r.averagePowerWatts, dev.powerLimit()));

  if (r.memory.total() > r.memoryCapacity) {
    const DeviceMemory &mm = r.memory;
    constexpr double G = 1024.0 * 1024 * 1024;
    return Diagnostic::error(
        "out-of-memory",
        fmt::format("the model does not fit: {:.1f} GiB per device needed, {:.1f} GiB available "
                    "(weights {:.1f}, gradients {:.1f}, optimizer {:.1f}, activations {:.1f}, "
                    "reserve {:.1f}); use more tensor/pipeline parallelism, a smaller "
                    "micro-batch or --recompute",
                    mm.total() / G, r.memoryCapacity / G, mm.weights / G, mm.gradients / G,
                    mm.optimizerState / G, mm.activations / G, mm.reserve / G));
  }
  return r;
}

} // namespace tessera::perf
