//===- Fusion.cpp - fusion of elementwise chains ------------------------------===//
//
// planFusion: a greedy pass over the ops in graph order; each elementwise op absorbs the
// groups of the elementwise producers of its operands when the operand is the
// producer's only output, read by no other op, not persistent, not viewed, of the
// consumer's element count, no AdamW update lies between them (an in-place write a
// delayed load could miss), and the merged stream still fits ACC (at most kMaxRegions
// loaded regions). lowerFusedGroup: one streamElementwise over the group's external
// operands, the members' bodies in graph order with the intermediates' regions wired
// from producer to consumer.
//
//===----------------------------------------------------------------------===//
#include "compiler/Fusion.h"

#include <algorithm>
#include <numeric>

namespace tessera::compiler::lower {

namespace {

/// Loaded ACC regions a fused stream may use: more make the chunks (and the DMA
/// bursts) small.
constexpr uint32_t kMaxRegions = 6;

/// Regions, scratch and granule of the stream of `members` (ascending op indices).
struct StreamShape {
  uint64_t regions = 0, extra = 0, granule = 1;
  bool rowRepeat = false;
};

StreamShape shapeOf(const Graph &g, const std::vector<ElementwiseStream> &st,
                    const std::vector<uint32_t> &members) {
  StreamShape s;
  for (uint32_t m : members) {
    for (size_t k = 0; k < st[m].src.size(); ++k) {
      TensorId t = st[m].src[k];
      bool inside = std::any_of(members.begin(), members.end(), [&](uint32_t o) {
        return o != m && g.op(workload::OpId{o}).outputs[0] == t;
      });
      if (inside)
        continue;
      ++s.regions;
      const Operand &o = st[m].ins[k];
      if (o.kind == Operand::RowRepeat || o.kind == Operand::SegRepeat)
        s.granule = std::lcm(s.granule, o.width);
      s.rowRepeat = s.rowRepeat || o.kind == Operand::RowRepeat;
    }
    s.extra = std::max<uint64_t>(s.extra, st[m].extra);
  }
  return s;
}

} // namespace

FusionPlan planFusion(Lowerer &L, const std::vector<bool> &persistent,
                      const std::vector<bool> &viewed) {
  const Graph &g = L.g;
  const uint32_t nops = uint32_t(g.numOps()), nt = uint32_t(g.numTensors());
  FusionPlan plan;
  plan.groupOf.assign(nops, FusionPlan::kNone);
  plan.fusedAway.assign(nt, false);
  if (!L.opts.fuse)
    return plan;
  if (L.addr.size() < nt)
    L.addr.resize(nt, 0);

  std::vector<uint32_t> producer(nt, FusionPlan::kNone), consumers(nt, 0);
  std::vector<uint32_t> adamwBefore(nops + 1, 0); // AdamW updates among ops [0, i)
  std::vector<bool> isOutput(nt, false);
  for (TensorId t : g.outputs())
    isOutput[t.v] = true;
  std::vector<ElementwiseStream> st(nops);
  std::vector<bool> stream(nops, false);
  for (uint32_t i = 0; i < nops; ++i) {
    const Op &op = g.op(workload::OpId{i});
    for (TensorId t : op.outputs)
      producer[t.v] = i;
    std::vector<uint32_t> seen;
    for (TensorId t : op.inputs)
      if (std::find(seen.begin(), seen.end(), t.v) == seen.end()) {
        seen.push_back(t.v);
        ++consumers[t.v];
      }
    adamwBefore[i + 1] = adamwBefore[i] + (op.kind == OpKind::AdamWUpdate ? 1 : 0);
    switch (op.kind) {
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Relu:
    case OpKind::Neg:
    case OpKind::Div:
    case OpKind::ActivationGrad:
      stream[i] = describeElementwise(L, op, st[i]).ok();
      break;
    default:
      break;
    }
  }

  // members[i]: the group whose last op is i (i alone to start with).
  std::vector<std::vector<uint32_t>> members(nops);
  for (uint32_t j = 0; j < nops; ++j) {
    if (!stream[j])
      continue;
    members[j] = {j};
    const Op &op = g.op(workload::OpId{j});
    const uint64_t count = uint64_t(L.numel(op.outputs[0]));
    std::vector<uint32_t> seen;
    for (TensorId t : op.inputs) {
      if (std::find(seen.begin(), seen.end(), t.v) != seen.end())
        continue;
      seen.push_back(t.v);
      const uint32_t p = producer[t.v];
      if (p == FusionPlan::kNone || !stream[p] || members[p].empty() || consumers[t.v] != 1 ||
          persistent[t.v] || viewed[t.v] || isOutput[t.v] ||
          uint64_t(L.numel(t)) != count || adamwBefore[j] != adamwBefore[p + 1])
        continue;
      std::vector<uint32_t> merged = members[j];
      merged.insert(merged.end(), members[p].begin(), members[p].end());
      std::sort(merged.begin(), merged.end());
      StreamShape s = shapeOf(g, st, merged);
      if (s.regions > kMaxRegions)
        continue;
      if (chunkElems(L, count, s.regions, s.extra, s.granule) == 0 &&
          (s.rowRepeat || chunkElems(L, count, s.regions, s.extra) == 0))
        continue;
      members[j] = std::move(merged);
      members[p].clear();
    }
  }
  for (uint32_t j = 0; j < nops; ++j) {
    if (members[j].size() < 2)
      continue;
    const uint32_t gi = uint32_t(plan.groups.size());
    for (uint32_t m : members[j]) {
      plan.groupOf[m] = gi;
      if (m != j)
        plan.fusedAway[g.op(workload::OpId{m}).outputs[0].v] = true;
    }
    plan.groups.push_back(members[j]);
  }
  return plan;
}

Status lowerFusedGroup(Lowerer &L, const FusionPlan &plan, uint32_t group) {
  const std::vector<uint32_t> &ops = plan.groups[group];
  const uint32_t last = ops.back();
  const Op &lastOp = L.g.op(workload::OpId{last});
  std::vector<ElementwiseStream> st(ops.size());
  std::vector<Operand> ext;                // the loaded operands
  std::vector<std::vector<size_t>> map(ops.size()); // per member operand: index into ext
  std::vector<size_t> result(ops.size());           // per member: its result's region
  uint32_t extra = 0;
  for (size_t k = 0; k < ops.size(); ++k) {
    const Op &op = L.g.op(workload::OpId{ops[k]});
    TRY(describeElementwise(L, op, st[k]));
    extra = std::max(extra, st[k].extra);
    for (size_t m = 0; m < st[k].src.size(); ++m) {
      const TensorId t = st[k].src[m];
      size_t from = SIZE_MAX;
      for (size_t kk = 0; kk < k && plan.fusedAway[t.v]; ++kk)
        if (L.g.op(workload::OpId{ops[kk]}).outputs[0] == t)
          from = result[kk];
      if (from == SIZE_MAX) {
        from = ext.size();
        ext.push_back(st[k].ins[m]);
      }
      map[k].push_back(from);
    }
    result[k] = map[k][0];
  }
  // The group's result is stored from region 0.
  const size_t fin = result.back();
  std::swap(ext[0], ext[fin]);
  for (std::vector<size_t> &m : map)
    for (size_t &x : m)
      x = x == fin ? 0 : x == 0 ? fin : x;
  L.em.setOp(last);
  return streamElementwise(L, lastOp, ext, L.at(lastOp.outputs[0]),
                           uint64_t(L.numel(lastOp.outputs[0])), extra,
                           [&](const std::vector<uint32_t> &regions, uint32_t n, uint32_t scratch) {
                             for (size_t k = 0; k < ops.size(); ++k) {
                               std::vector<uint32_t> r;
                               for (size_t x : map[k])
                                 r.push_back(regions[x]);
                               L.em.setOp(ops[k]);
                               st[k].body(r, n, scratch);
                             }
                             L.em.setOp(last); // the next chunk's loads, the store
                           });
}

std::string fusedLabel(const workload::Graph &g, const std::vector<uint32_t> &ops) {
  std::string s;
  for (uint32_t o : ops)
    s += (s.empty() ? "" : "+") + std::string(workload::opName(g.op(workload::OpId{o}).kind));
  return s;
}

} // namespace tessera::compiler::lower
