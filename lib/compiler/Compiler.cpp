//===- Compiler.cpp - placement, the lowering table, compile() ---------------===//
//
// compile(): the training graph when asked, DRAM placement (persistent tensors, then a
// liveness plan for activations and the lowerings' scratch), one lowering per op through
// the table below (kind -> {scratch it needs, lowering}; Lowering.h), verification.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"

#include "arch/ArchSpec.h"
#include "compiler/Fusion.h"
#include "compiler/Lowering.h"
#include "compiler/MemoryPlan.h"
#include "compiler/LossScale.h"
#include "compiler/Sparse.h"
#include "workload/Training.h"

#include <algorithm>
#include <cstring>

namespace tessera::compiler {

using namespace lower;

namespace {

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

const Lowering kLowerings[] = {
    {OpKind::MatMul, matmulTemps, lowerMatMul},
    {OpKind::Conv2d, convTemps, lowerConv},
    {OpKind::Conv2dGradWeight, convWgradTemps, lowerConvWgrad},
    {OpKind::Conv2dGradInput, convDgradTemps, lowerConvDgrad},
    {OpKind::MaxPool2d, nullptr, lowerMaxPool},
    {OpKind::GlobalAvgPool, nullptr, lowerGlobalAvgPool},
    {OpKind::BatchNorm, batchNormTemps, lowerBatchNorm},
    {OpKind::PoolGrad, nullptr, lowerPoolGrad},
    {OpKind::BatchNormGrad, batchNormGradTemps, lowerBatchNormGrad},
    {OpKind::Add, nullptr, lowerBinary},
    {OpKind::Sub, nullptr, lowerBinary},
    {OpKind::Mul, nullptr, lowerBinary},
    {OpKind::Relu, nullptr, lowerRelu},
    {OpKind::Neg, nullptr, lowerNeg},
    {OpKind::Div, nullptr, lowerDiv},
    {OpKind::Transpose, nullptr, lowerTranspose},
    {OpKind::Slice, nullptr, lowerSlice},
    {OpKind::Softmax, nullptr, lowerSoftmax},
    {OpKind::LayerNorm, nullptr, lowerLayerNorm},
    {OpKind::SoftmaxGrad, nullptr, lowerSoftmaxGrad},
    {OpKind::Pad, nullptr, lowerSliceGrad},
    {OpKind::LayerNormGrad, layerNormGradTemps, lowerLayerNormGrad},
    {OpKind::ActivationGrad, nullptr, lowerActivationGrad},
    {OpKind::MseLoss, nullptr, lowerMseLoss},
    {OpKind::LossGrad, nullptr, lowerLossGrad},
    {OpKind::BiasGrad, nullptr, lowerBiasGrad},
    {OpKind::AdamWUpdate, nullptr, lowerAdamW},
    {OpKind::Reshape, nullptr, nullptr}, // a view
};

const Lowering *findLowering(const Op &op) {
  for (const Lowering &l : kLowerings)
    if (l.kind == op.kind)
      return &l;
  if (op.kind == OpKind::Dropout && op.outputs.size() == 1) // inference identity: a view
    return &kLowerings[std::size(kLowerings) - 1];
  return nullptr;
}

bool isView(const Op &op) {
  const Lowering *l = findLowering(op);
  return l && !l->lower;
}

} // namespace

//===----------------------------------------------------------------------===//
// compile
//===----------------------------------------------------------------------===//

Expected<Graph> graphToLower(const Graph &forward, bool train) {
  if (!train)
    return forward;
  workload::TrainingOptions topts;
  topts.optimizer = workload::OptimizerKind::AdamW;
  return workload::buildTrainingGraph(forward, topts);
}

Expected<Program> compile(const Graph &forward, const Initializers &init,
                          const arch::ArchSpec &spec, const CompileOptions &opts) {
  TRY_ASSIGN(Graph g, graphToLower(forward, opts.train));
  TRY(g.verify());
  const accel::TileConfig cfg = accel::TileConfig::fromArchSpec(spec);
  // mxfp8-sparse lowers as mxfp8 except for the pruned weights' GEMMs (Sparse.h).
  CompileOptions lopts = opts;
  SparsePlan sparse;
  if (opts.policy == Policy::Mxfp8Sparse) {
    lopts.policy = Policy::Mxfp8;
    TRY_ASSIGN(sparse, planSparsity(g, init, cfg, opts));
  }
  Lowerer L(g, cfg, lopts, init);
  if (opts.policy == Policy::Mxfp8Sparse)
    L.sparse = &sparse;
  std::vector<DramTensor> sparseTensors;
  const size_t nt = g.numTensors(), nops = g.numOps();

  // Every op has a lowering (all problems of this kind at once would be nicer; the first
  // one is reported, naming the op).
  {
    std::vector<const Op *> missing; // the first op of each kind without a lowering
    for (const Op &op : g.ops())
      if (!findLowering(op) && std::none_of(missing.begin(), missing.end(),
                                            [&](const Op *m) { return m->kind == op.kind; }))
        missing.push_back(&op);
    if (!missing.empty()) {
      Diagnostic d = L.unsupported(*missing[0], "no lowering to the tile for this kind of op");
      for (size_t i = 1; i < missing.size(); ++i)
        d.withNote(Diagnostic::note(
            "also without a lowering: " + std::string(workload::opName(missing[i]->kind)) +
            " (first: op '" + missing[i]->name + "')"));
      return d;
    }
  }

  // Roles.
  std::vector<DramRole> role(nt, DramRole::Activation);
  std::vector<std::string> paramOf(nt);
  std::vector<uint32_t> root(nt);
  for (uint32_t t = 0; t < nt; ++t) {
    root[t] = t;
    switch (g.tensor(TensorId{t}).role) {
    case TensorRole::Parameter:
      role[t] = DramRole::Parameter;
      break;
    case TensorRole::Constant:
      role[t] = DramRole::Constant;
      break;
    case TensorRole::OptimizerState:
      role[t] = DramRole::State;
      break;
    case TensorRole::Input:
      role[t] = DramRole::Input;
      break;
    default:
      break;
    }
  }
  for (TensorId t : g.inputs())
    role[t.v] = DramRole::Input;
  for (TensorId t : g.outputs())
    role[t.v] = opts.train ? DramRole::Loss : DramRole::Output;
  std::vector<uint32_t> masterOf(nt, UINT32_MAX);
  for (const Op &op : g.ops()) {
    if (op.kind == OpKind::AdamWUpdate && op.inputs.size() == 5) {
      const std::string &pn = g.tensor(op.inputs[0]).name;
      role[op.inputs[1].v] = DramRole::Gradient;
      for (size_t i : {size_t(1), size_t(2), size_t(3), size_t(4)})
        paramOf[op.inputs[i].v] = pn;
      masterOf[op.inputs[2].v] = op.inputs[0].v; // FP32 parameters are their own master
    }
    if (isView(op))
      root[op.outputs[0].v] = root[op.inputs[0].v];
  }
  for (uint32_t t = 0; t < nt; ++t)
    if (masterOf[t] != UINT32_MAX)
      root[t] = masterOf[t];
  auto persistent = [&](DramRole r) {
    return r != DramRole::Activation && r != DramRole::Temporary;
  };
  // A view of a persistent tensor, or a persistent view: the root becomes persistent.
  for (uint32_t t = 0; t < nt; ++t)
    if (root[t] != t && persistent(role[t]) && !persistent(role[root[t]]))
      role[root[t]] = role[t];

  // Persistent placement: the image (parameters, constants, state), then inputs, outputs,
  // the loss and gradients.
  L.addr.assign(nt, 0);
  uint64_t top = 0;
  std::vector<uint8_t> image;
  auto place = [&](uint32_t t) {
    L.addr[t] = uint32_t(top);
    top = alignUp(top + uint64_t(g.tensor(TensorId{t}).elements()) * 4, kAlign);
  };
  for (DramRole r : {DramRole::Parameter, DramRole::Constant, DramRole::State})
    for (uint32_t t = 0; t < nt; ++t)
      if (root[t] == t && role[t] == r)
        place(t);
  if (L.sparse) // selectors, metadata, masks of the pruned weights
    placeSparseConstants(sparse, opts.train, top, sparseTensors);
  // Loss scaling (LossScale.h): the seed of the loss gradient holds S; 1/S and the
  // {AMAX, FLAGS} status word are two more persistent words.
  const LossScaleMode lsMode = resolveLossScale(opts.lossScale, policyName(opts.policy), opts.train);
  uint32_t lsSeed = UINT32_MAX, lsInverse = 0, lsStatus = 0;
  if (lsMode != LossScaleMode::Off) {
    for (uint32_t t = 0; t < nt && lsSeed == UINT32_MAX; ++t)
      if (root[t] == t && role[t] == DramRole::Constant &&
          g.tensor(TensorId{t}).name.ends_with(".grad-seed") &&
          g.tensor(TensorId{t}).elements() == 1)
        lsSeed = t;
    if (lsSeed == UINT32_MAX)
      return Diagnostic::error("unsupported-loss-scale",
                               "loss scaling needs the loss gradient's seed; graph '" + g.name() +
                                   "' has none");
    lsInverse = uint32_t(top);
    top = alignUp(top + 4, kAlign);
    lsStatus = uint32_t(top);
    top = alignUp(top + 8, kAlign);
  }
  image.assign(top, 0);
  for (uint32_t t = 0; t < nt; ++t) {
    if (root[t] != t || (role[t] != DramRole::Parameter && role[t] != DramRole::Constant))
      continue;
    const workload::Tensor &tt = g.tensor(TensorId{t});
    std::vector<float> vals;
    if (const std::vector<float> *v = init.find(TensorId{t})) {
      vals = *v;
    } else if (tt.name.size() > 10 && tt.name.ends_with(".grad-seed")) {
      vals.assign(1, 1.0f); // d loss / d loss
    } else if (tt.name.ends_with(".zero-grad")) {
      vals.assign(size_t(tt.elements()), 0.0f);
    } else {
      return Diagnostic::error("missing-value", "tensor '" + tt.name + "' (" +
                                                    std::string(dramRoleName(role[t])) +
                                                    ") has no initializer values");
    }
    if (int64_t(vals.size()) != tt.elements())
      return Diagnostic::error("missing-value",
                               "tensor '" + tt.name + "' has " + std::to_string(vals.size()) +
                                   " initializer values for shape " + workload::shapeStr(tt.shape));
    std::memcpy(image.data() + L.addr[t], vals.data(), vals.size() * 4);
  }
  if (L.sparse)
    writeSparseImage(sparse, opts.train, L.addr, image);
  if (lsMode != LossScaleMode::Off) { // the runtime rewrites both before every step
    const float s = float(opts.lossScale.init), inv = float(1.0 / opts.lossScale.init);
    std::memcpy(image.data() + L.addr[lsSeed], &s, 4);
    std::memcpy(image.data() + lsInverse, &inv, 4);
  }
  for (DramRole r : {DramRole::Input, DramRole::Output, DramRole::Loss, DramRole::Gradient})
    for (uint32_t t = 0; t < nt; ++t)
      if (root[t] == t && role[t] == r)
        place(t);

  // Fused elementwise groups (Fusion.h): their intermediates get no buffer; the inputs
  // of a group's members stay live until the group is emitted at its last op.
  FusionPlan fusion;
  {
    std::vector<bool> pers(nt), viewed(nt, false);
    for (uint32_t t = 0; t < nt; ++t) {
      pers[t] = persistent(role[t]) || persistent(role[root[t]]);
      if (root[t] != t)
        viewed[t] = viewed[root[t]] = true;
    }
    fusion = planFusion(L, pers, viewed);
  }

  // Planned region: activations (by liveness of the root over all its views) and the
  // lowerings' temporaries (live during their op).
  std::vector<PlanBuffer> bufs;
  std::vector<uint32_t> bufTensor;
  std::vector<int64_t> firstUse(nt, -1), lastUse(nt, -1);
  auto touch = [&](uint32_t t, uint32_t i) {
    uint32_t r = root[t];
    if (firstUse[r] < 0 || int64_t(i) < firstUse[r])
      firstUse[r] = i;
    lastUse[r] = std::max<int64_t>(lastUse[r], i);
  };
  for (uint32_t i = 0; i < nops; ++i) {
    for (TensorId t : g.op(workload::OpId{i}).inputs)
      touch(t.v, i);
    for (TensorId t : g.op(workload::OpId{i}).outputs)
      touch(t.v, i);
  }
  for (const std::vector<uint32_t> &grp : fusion.groups)
    for (uint32_t m : grp)
      for (TensorId t : g.op(workload::OpId{m}).inputs)
        touch(t.v, grp.back());
  for (uint32_t t = 0; t < nt; ++t) {
    if (root[t] != t || persistent(role[t]) || fusion.fusedAway[t])
      continue;
    PlanBuffer b;
    b.bytes = uint64_t(g.tensor(TensorId{t}).elements()) * 4;
    b.first = uint32_t(std::max<int64_t>(firstUse[t], 0));
    b.last = uint32_t(std::max<int64_t>(lastUse[t], b.first));
    bufs.push_back(b);
    bufTensor.push_back(t);
  }
  std::vector<std::vector<TempRequest>> temps(nops);
  std::vector<std::pair<uint32_t, size_t>> tempBuf; // (op, request) per temp buffer
  for (uint32_t i = 0; i < nops; ++i) {
    const Op &op = g.op(workload::OpId{i});
    const Lowering *l = findLowering(op);
    if (l->temps)
      temps[i] = l->temps(L, op);
    for (size_t k = 0; k < temps[i].size(); ++k) {
      bufs.push_back({temps[i][k].bytes, i, i});
      tempBuf.push_back({i, k});
    }
  }
  MemoryPlanResult plan = planMemory(bufs, kAlign);
  const uint64_t planBase = top;
  for (size_t b = 0; b < bufTensor.size(); ++b)
    L.addr[bufTensor[b]] = uint32_t(planBase + plan.offsets[b]);
  L.tempAddr.assign(nops, {});
  for (size_t k = 0; k < tempBuf.size(); ++k) {
    auto [op, req] = tempBuf[k];
    if (L.tempAddr[op].size() <= req)
      L.tempAddr[op].resize(req + 1);
    L.tempAddr[op][req] = uint32_t(planBase + plan.offsets[bufTensor.size() + k]);
  }
  uint64_t dramBytes = planBase + plan.size;
  if (dramBytes > UINT32_MAX)
    return Diagnostic::error("does-not-fit",
                             "the program needs " + std::to_string(dramBytes) +
                                 " bytes of DRAM, more than 32-bit addresses reach");
  for (uint32_t t = 0; t < nt; ++t)
    if (root[t] != t)
      L.addr[t] = L.addr[root[t]];

  // Lower.
  Program p;
  if (lsMode != LossScaleMode::Off)
    emitClearStatus(L.em);
  for (uint32_t i = 0; i < nops; ++i) {
    const Op &op = g.op(workload::OpId{i});
    p.ops.push_back({op.name, std::string(workload::opName(op.kind)),
                     std::string(workload::phaseName(op.phase)), op.loc.str(), ""});
    if (const uint32_t grp = fusion.groupOf[i]; grp != FusionPlan::kNone) {
      const std::vector<uint32_t> &ms = fusion.groups[grp];
      std::string names;
      for (uint32_t m : ms)
        names += (names.empty() ? "" : ", ") + g.op(workload::OpId{m}).name;
      p.ops.back().fused = fusedLabel(g, ms) + ": " + names;
      if (i == ms.back())
        TRY(lowerFusedGroup(L, fusion, grp));
      continue;
    }
    const Lowering *l = findLowering(op);
    if (!l->lower)
      continue;
    L.em.setOp(i);
    if (lsMode != LossScaleMode::Off && op.kind == OpKind::AdamWUpdate && op.inputs.size() == 5)
      emitUnscale(L.em, L.at(op.inputs[1]), uint64_t(L.numel(op.inputs[1])), lsInverse,
                  L.accWords());
    TRY(l->lower(L, op, i));
    if (L.sparse && op.kind == OpKind::AdamWUpdate) // pruned weights stay exactly 0
      if (const SparseWeight *w = sparse.forParam(op.inputs[0].v))
        TRY(emitReapplyMask(L, op, *w));
  }
  if (lsMode != LossScaleMode::Off) {
    L.em.setOp(Program::kNoOp);
    emitStoreStatus(L.em, lsStatus);
  }
  L.em.finish();

  p.model = g.name();
  p.policy = opts.policy;
  p.train = opts.train;
  p.adamw = opts.adamw;
  p.archPath = opts.archPath;
  p.archYaml = arch::writeArchSpecYaml(spec);
  p.code = std::move(L.em.code);
  p.opOf = std::move(L.em.opOf);
  p.stepPatchBeta1 = L.patchBeta1;
  p.stepPatchBeta2 = L.patchBeta2;
  p.dramBytes = uint32_t(dramBytes);
  p.image = std::move(image);
  for (uint32_t t = 0; t < nt; ++t) {
    if (fusion.fusedAway[t]) // never in DRAM
      continue;
    const workload::Tensor &tt = g.tensor(TensorId{t});
    DramTensor d;
    d.name = tt.name;
    d.shape = tt.shape;
    d.role = role[t];
    d.address = L.addr[t];
    d.bytes = uint32_t(tt.elements() * 4);
    d.param = paramOf[t];
    if (root[t] != t)
      d.aliasOf = g.tensor(TensorId{root[t]}).name;
    p.tensors.push_back(std::move(d));
  }
  for (DramTensor &d : sparseTensors)
    p.tensors.push_back(std::move(d));
  p.sparsity = sparse.records;
  if (lsMode != LossScaleMode::Off) {
    p.lossScale = opts.lossScale;
    p.lossScale.mode = lsMode;
    p.lossScaleSeed = g.tensor(TensorId{lsSeed}).name;
    p.tensors.push_back({std::string(kLossScaleInverse), {1}, DramRole::Constant, lsInverse, 4,
                         "", ""});
    p.tensors.push_back({std::string(kLossScaleStatus), {2}, DramRole::Constant, lsStatus, 8,
                         "", ""});
  }
  for (size_t k = 0; k < tempBuf.size(); ++k) {
    auto [op, req] = tempBuf[k];
    DramTensor d;
    d.name = temps[op][req].name;
    d.shape = {int64_t(temps[op][req].bytes / 2)};
    d.role = DramRole::Temporary;
    d.address = L.tempAddr[op][req];
    d.bytes = uint32_t(temps[op][req].bytes);
    p.tensors.push_back(std::move(d));
  }
  DiagnosticEngine diags;
  if (!accel::verifyProgram(p.code, &cfg, diags, {}, "<compiled " + g.name() + ">")) {
    Diagnostic d = diags.diagnostics().front();
    d.message = "internal error, the compiled program does not verify: " + d.message;
    return d;
  }
  return p;
}

} // namespace tessera::compiler
