//===- Sparse.cpp - the mxfp8-sparse policy: 2:4 pruning and gemmsp ----------===//
//
// See Sparse.h for the design: one-shot magnitude pruning at compile time, selectors /
// metadata / masks as persistent DRAM constants, compression of the MX-quantized weight
// on the device each step with exact vector ops, `gemmsp` for the forward GEMM, and the
// mask re-applied after every AdamW update.
//
//===----------------------------------------------------------------------===//
#include "compiler/Sparse.h"

#include "numerics/Numerics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace tessera::compiler {

namespace lower {
// LowerTensor.cpp
uint64_t mxK(uint64_t k);
Status quantizeMxfp8(Lowerer &L, const Op &op, uint32_t src, uint64_t rows, uint64_t k, uint64_t rs,
                     uint64_t ks, uint32_t dst, uint32_t scales);
} // namespace lower

using namespace lower;

namespace {
constexpr unsigned kN = 2, kM = 4; // the pattern pruned to (2:4)
constexpr uint64_t kBlk = numerics::kMxBlock;

std::string archName(const CompileOptions &opts) {
  return opts.archPath.empty() ? std::string("<arch spec>") : opts.archPath;
}
} // namespace

std::vector<uint8_t> pruneNm(std::span<const float> x, uint64_t rows, uint64_t k, unsigned n,
                             unsigned m) {
  std::vector<uint8_t> keep(size_t(rows * k), 0);
  std::vector<unsigned> order(m);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t g = 0; g < k; g += m) {
      const float *v = x.data() + r * k + g;
      for (unsigned i = 0; i < m; ++i)
        order[i] = i;
      // Largest magnitude first; equal magnitudes: the lower position first.
      std::stable_sort(order.begin(), order.end(),
                       [&](unsigned a, unsigned b) { return std::abs(v[a]) > std::abs(v[b]); });
      for (unsigned i = 0; i < n; ++i)
        keep[size_t(r * k + g + order[i])] = 1;
    }
  return keep;
}

Expected<SparsePlan> planSparsity(const workload::Graph &g, const Initializers &init,
                                  const accel::TileConfig &cfg, const CompileOptions &opts) {
  SparsePlan plan;
  plan.weightOfOp.assign(g.numOps(), -1);
  plan.weightOfParam.assign(g.numTensors(), -1);
  const accel::TensorFormatCfg *mx = cfg.find(ElemFormat::MxE4m3);
  const bool tileOk = mx && mx->sparse && cfg.supportsPattern({kN, kM}) && cfg.scaleCast;
  for (uint32_t i = 0; i < g.numOps(); ++i) {
    const Op &op = g.op(workload::OpId{i});
    if (op.phase != workload::Phase::Forward || op.inputs.size() < 2)
      continue;
    const bool gemm = op.kind == OpKind::MatMul, conv = op.kind == OpKind::Conv2d;
    if (!gemm && !conv)
      continue;
    const TensorId wt = op.inputs[1];
    const workload::Tensor &w = g.tensor(wt);
    if (w.role != TensorRole::Parameter)
      continue; // a product of activations: no weight to prune
    SparseRecord rec;
    rec.op = op.name;
    rec.weight = w.name;
    auto dense = [&](const std::string &why) {
      rec.reason = why;
      plan.records.push_back(rec);
    };
    if (conv) {
      dense("convolution: gemmsp lowering of conv2d not implemented, dense MXFP8");
      continue;
    }
    if (w.shape.size() != 2 || g.tensor(op.inputs[0]).shape.size() < 2) {
      dense("not a matrix weight " + workload::shapeStr(w.shape));
      continue;
    }
    const bool tb = op.attrs.transB;
    const uint64_t k = uint64_t(tb ? w.shape[1] : w.shape[0]);
    const uint64_t n = uint64_t(tb ? w.shape[0] : w.shape[1]);
    if (k % kM != 0) {
      dense("K = " + std::to_string(k) + " is not a multiple of 4");
      continue;
    }
    const std::vector<float> *vals = init.find(wt);
    if (!vals || vals->size() != n * k) {
      dense("no initial values");
      continue;
    }
    if (!tileOk)
      return Diagnostic::error(
          "unsupported-sparsity",
          "op '" + op.name + "' (matmul): policy mxfp8-sparse prunes its weight '" + w.name +
              "' to 2:4, but the tile of '" + archName(opts) +
              "' has no sparse mxfp8 operand with pattern 2:4 and a scale-cast store path "
              "(tile.tensor_unit.formats sparse, tile.tensor_unit.sparsity.patterns, "
              "tile.scale_cast)",
          op.loc);
    rec.pruned = true;
    rec.pattern = "2:4";
    if (plan.weightOfParam[wt.v] >= 0) { // a weight shared by several products
      SparseWeight &sw = plan.weights[size_t(plan.weightOfParam[wt.v])];
      sw.ops.push_back(i);
      plan.weightOfOp[i] = plan.weightOfParam[wt.v];
      rec.kept = uint64_t(std::count(sw.mask.begin(), sw.mask.end(), 1.0f));
      rec.total = n * k;
      plan.records.push_back(rec);
      continue;
    }
    SparseWeight sw;
    sw.weight = wt.v;
    sw.weightName = w.name;
    sw.ops = {i};
    sw.n = n;
    sw.k = k;
    sw.kp = mxK(k);
    sw.tb = tb;
    // Canonical [N][K]: row n holds the K values multiplied with one output.
    std::vector<float> canon(size_t(n * k));
    auto paramIndex = [&](uint64_t r, uint64_t c) { return size_t(tb ? r * k + c : c * n + r); };
    for (uint64_t r = 0; r < n; ++r)
      for (uint64_t c = 0; c < k; ++c)
        canon[size_t(r * k + c)] = (*vals)[paramIndex(r, c)];
    std::vector<uint8_t> keep = pruneNm(canon, n, k, kN, kM);
    sw.mask.assign(size_t(n * k), 0.0f);
    std::vector<uint32_t> padded(size_t(n * sw.kp), 0); // masked, FP32 bits, K padded
    for (uint64_t r = 0; r < n; ++r)
      for (uint64_t c = 0; c < k; ++c) {
        size_t ci = size_t(r * k + c);
        if (keep[ci]) {
          sw.mask[paramIndex(r, c)] = 1.0f;
          padded[size_t(r * sw.kp + c)] = std::bit_cast<uint32_t>(canon[ci]);
        } else if (canon[ci] != 0.0f) {
          ++sw.zeroed;
        }
      }
    // Metadata and selectors from the masked matrix (numerics::compressNm's choice).
    std::vector<uint8_t> index;
    index.reserve(size_t(n * sw.kp / 2));
    sw.sel0.assign(size_t(n * sw.kp), 0.0f);
    sw.sel1.assign(size_t(n * sw.kp), 0.0f);
    for (uint64_t r = 0; r < n; ++r) {
      numerics::NmRow row =
          numerics::compressNm(std::span<const uint32_t>(padded.data() + r * sw.kp, size_t(sw.kp)),
                               numerics::Format::FP32, kN, kM);
      for (size_t c = 0; c < row.index.size(); ++c) {
        uint64_t group = c / kN;
        std::vector<float> &sel = (c % kN) ? sw.sel1 : sw.sel0;
        sel[size_t(r * sw.kp + group * kM + row.index[c])] = 1.0f;
        index.push_back(row.index[c]);
      }
    }
    sw.meta = numerics::packNmIndex(index, kM);
    rec.kept = uint64_t(std::count(sw.mask.begin(), sw.mask.end(), 1.0f));
    rec.total = n * k;
    plan.records.push_back(rec);
    plan.weightOfOp[i] = int32_t(plan.weights.size());
    plan.weightOfParam[wt.v] = int32_t(plan.weights.size());
    plan.weights.push_back(std::move(sw));
  }
  return plan;
}

namespace {
uint64_t metaWords(const SparseWeight &w) { return (w.meta.size() + 3) / 4; }
} // namespace

uint64_t sparseConstantBytes(const SparsePlan &plan, bool train) {
  uint64_t b = 0;
  for (const SparseWeight &w : plan.weights)
    b += 2 * alignUp(w.n * w.kp * 4, kAlign) + alignUp(metaWords(w) * 4, kAlign) +
         (train ? alignUp(w.n * w.k * 4, kAlign) : 0);
  return b;
}

void placeSparseConstants(SparsePlan &plan, bool train, uint64_t &top,
                          std::vector<DramTensor> &tensors) {
  auto place = [&](const std::string &name, std::vector<int64_t> shape, uint64_t elems,
                   const std::string &param) {
    DramTensor d;
    d.name = name;
    d.shape = std::move(shape);
    d.role = DramRole::Constant;
    d.address = uint32_t(top);
    d.bytes = uint32_t(elems * 4);
    d.param = param;
    tensors.push_back(std::move(d));
    top = alignUp(top + elems * 4, kAlign);
    return tensors.back().address;
  };
  for (SparseWeight &w : plan.weights) {
    const std::vector<int64_t> nk = {int64_t(w.n), int64_t(w.kp)};
    w.sel0At = place(w.weightName + ".sparse.sel0", nk, w.n * w.kp, "");
    w.sel1At = place(w.weightName + ".sparse.sel1", nk, w.n * w.kp, "");
    w.metaAt = place(w.weightName + ".sparse.meta", {int64_t(metaWords(w))}, metaWords(w), "");
    if (train)
      w.maskAt = place(w.weightName + ".sparse.mask",
                       w.tb ? std::vector<int64_t>{int64_t(w.n), int64_t(w.k)}
                            : std::vector<int64_t>{int64_t(w.k), int64_t(w.n)},
                       w.n * w.k, w.weightName);
  }
}

void writeSparseImage(const SparsePlan &plan, bool train, const std::vector<uint32_t> &addr,
                      std::vector<uint8_t> &image) {
  for (const SparseWeight &w : plan.weights) {
    float *p = reinterpret_cast<float *>(image.data() + addr[w.weight]);
    for (size_t i = 0; i < w.mask.size(); ++i)
      if (w.mask[i] == 0.0f)
        p[i] = 0.0f;
    std::memcpy(image.data() + w.sel0At, w.sel0.data(), w.sel0.size() * 4);
    std::memcpy(image.data() + w.sel1At, w.sel1.data(), w.sel1.size() * 4);
    std::memcpy(image.data() + w.metaAt, w.meta.data(), w.meta.size());
    if (train)
      std::memcpy(image.data() + w.maskAt, w.mask.data(), w.mask.size() * 4);
  }
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

namespace lower {

const SparseWeight *sparseWeightOf(const Lowerer &L, const Op &op) {
  if (!L.sparse)
    return nullptr;
  const std::vector<Op> &ops = L.g.ops();
  if (&op < ops.data() || &op >= ops.data() + ops.size())
    return nullptr;
  return L.sparse->forOp(uint32_t(&op - ops.data()));
}

namespace {
/// M (rows of X) of a sparse MatMul.
uint64_t rowsOf(const Lowerer &L, const Op &op, const SparseWeight &w) {
  return uint64_t(L.numel(op.inputs[0])) / w.k;
}
} // namespace

std::vector<TempRequest> sparseMatMulTemps(const Lowerer &L, const Op &op) {
  const SparseWeight *w = sparseWeightOf(L, op);
  if (!w)
    return {};
  const uint64_t m = rowsOf(L, op, *w), kp = w->kp;
  return {{op.name + ".a.mx", m * kp},
          {op.name + ".a.scales", m * kp / kBlk},
          {op.name + ".w.mx", w->n * kp},
          {op.name + ".w.scales", w->n * kp / kBlk},
          {op.name + ".w.sparse", w->n * kp / 2}};
}

namespace {

/// Compresses the MX codes `wq` [N][Kp] of the masked weight to `wc` [N][Kp/2] (E4M3
/// codes of the kept values, slot 0 then slot 1 of each group): decoded to FP32 in ACC,
/// slot j = vsum(seg 4)(x * selj), stored interleaved. Every step is exact, so `wc`
/// holds the very codes of `wq` at the positions of the metadata.
Status compressOnDevice(Lowerer &L, const Op &op, const SparseWeight &w, uint32_t wq, uint32_t wc) {
  const uint64_t total = w.n * w.kp; // a multiple of 32
  // ACC: x, s0, s1 (c words each), d0, d1 (c / 4 each); st rows <= 4095.
  uint64_t c = std::min<uint64_t>({uint64_t(L.accWords()) * 2 / 7, 4 * 4095, 65532, total});
  c = c / kM * kM;
  if (c == 0)
    return L.doesNotFit(op, "a chunk of the 2:4 weight compression");
  const uint32_t x = 0, s0 = uint32_t(c), s1 = uint32_t(2 * c), d0 = uint32_t(3 * c),
                 d1 = uint32_t(3 * c + c / 4);
  for (uint64_t off = 0; off < total; off += c) {
    const uint32_t n = uint32_t(std::min(c, total - off)), groups = n / kM;
    L.em.beginBlock();
    L.em.ldaccRun(x, wq + uint32_t(off), n, ElemFormat::E4m3);
    L.em.ldaccRun(s0, w.sel0At + uint32_t(off * 4), n);
    L.em.ldaccRun(s1, w.sel1At + uint32_t(off * 4), n);
    L.em.vbin(Opcode::VMul, s0, x, s0, n);
    L.em.vsum(d0, s0, n, kM);
    L.em.vbin(Opcode::VMul, s1, x, s1, n);
    L.em.vsum(d1, s1, n, kM);
    const uint32_t out = wc + uint32_t(off / 2);
    L.em.st(d0, out, groups, 1, kN, 1, ElemFormat::E4m3);
    L.em.st(d1, out + 1, groups, 1, kN, 1, ElemFormat::E4m3);
    L.em.endBlock();
  }
  return Status::success();
}

} // namespace

Status lowerSparseMatMul(Lowerer &L, const Op &op, uint32_t idx, const SparseWeight &w) {
  const accel::TileConfig &cfg = L.cfg;
  const uint64_t m = rowsOf(L, op, w), kp = w.kp, nOut = w.n;
  const std::vector<uint32_t> &tmp = L.tempAddr[idx];
  const uint32_t xq = tmp[0], xs = tmp[1], wq = tmp[2], ws = tmp[3], wc = tmp[4];
  const bool ta = op.attrs.transA;
  if (ta && L.shape(op.inputs[0]).size() != 2)
    return L.unsupported(op, "transposed A with leading dims");
  TRY(quantizeMxfp8(L, op, L.at(op.inputs[0]), m, w.k, ta ? 1 : w.k, ta ? m : 1, xq, xs));
  TRY(quantizeMxfp8(L, op, L.at(TensorId{w.weight}), nOut, w.k, w.tb ? w.k : 1, w.tb ? 1 : nOut, wq,
                    ws));
  TRY(compressOnDevice(L, op, w, wq, wc));

  // Y^T [out][rows] = Wc [out][Kp] (2:4) x X^T: ISA A = Wc (rows of the tile: outputs),
  // ISA B = X (columns: the rows of X).
  const uint64_t tm = std::min<uint64_t>(cfg.rows, nOut), tn = std::min<uint64_t>(cfg.cols, m);
  const uint64_t nTiles = (m + tn - 1) / tn;
  uint64_t tkMax = std::min<uint64_t>(kp, 4064);
  if (L.opts.maxTileK)
    tkMax = std::min<uint64_t>(tkMax, std::max<uint64_t>(kBlk, L.opts.maxTileK / kBlk * kBlk));
  auto fits = [&](uint64_t ng, uint64_t tk) {
    uint64_t spad = alignUp(tm * tk / 2, kAlign) + ng * alignUp(tn * tk, kAlign);
    uint64_t scales = (tm + ng * tn) * (tk / kBlk);
    return spad <= cfg.spadBytes && scales <= cfg.scaleBytes && tm * tk / 8 <= cfg.metaBytes &&
           ng * tm * tn <= L.accWords();
  };
  if (!fits(1, kBlk))
    return L.doesNotFit(op, "a 2:4 sparse tile of " + std::to_string(tm) + "x" +
                                std::to_string(tn) + "x32");
  uint64_t ng = nTiles;
  while (ng > 1 && !fits(ng, std::min<uint64_t>(tkMax, 4 * kBlk)))
    --ng;
  uint64_t tk = tkMax / kBlk * kBlk;
  while (tk > kBlk && !fits(ng, tk))
    tk -= kBlk;

  const uint32_t y = L.at(op.outputs[0]);
  for (uint64_t m0 = 0; m0 < nOut; m0 += tm) {
    const uint32_t mt = uint32_t(std::min(tm, nOut - m0));
    for (uint64_t g0 = 0; g0 < nTiles; g0 += ng) {
      const uint64_t gEnd = std::min(nTiles, g0 + ng);
      for (uint64_t k0 = 0; k0 < kp; k0 += tk) {
        const uint32_t kt = uint32_t(std::min(tk, kp - k0)), kb = kt / uint32_t(kBlk);
        L.em.beginBlock();
        L.em.ldmeta(0, w.metaAt + uint32_t(m0 * kp / 8 + k0 / 8), mt, kt / 8, uint32_t(kp / 8),
                     kt / 8);
        L.em.ld(0, wc + uint32_t(m0 * kp / 2 + k0 / 2), mt, kt / 2, uint32_t(kp / 2), kt / 2,
                ElemFormat::MxE4m3, ElemFormat::MxE4m3);
        L.em.ldscale(0, ws + uint32_t(m0 * (kp / kBlk) + k0 / kBlk), mt, kb, uint32_t(kp / kBlk),
                     kb);
        uint64_t spad = alignUp(uint64_t(mt) * kt / 2, kAlign);
        uint32_t scale = mt * kb;
        std::vector<std::pair<uint32_t, uint32_t>> bAt; // {SPAD, SCALE}
        for (uint64_t t = g0; t < gEnd; ++t) {
          const uint64_t n0 = t * tn;
          const uint32_t nt = uint32_t(std::min(tn, m - n0));
          L.em.ld(uint32_t(spad), xq + uint32_t(n0 * kp + k0), nt, kt, uint32_t(kp), kt,
                  ElemFormat::MxE4m3, ElemFormat::MxE4m3);
          L.em.ldscale(scale, xs + uint32_t(n0 * (kp / kBlk) + k0 / kBlk), nt, kb,
                       uint32_t(kp / kBlk), kb);
          bAt.push_back({uint32_t(spad), scale});
          spad = alignUp(spad + uint64_t(nt) * kt, kAlign);
          scale += nt * kb;
        }
        for (uint64_t t = g0; t < gEnd; ++t) {
          const uint64_t n0 = t * tn;
          const uint32_t nt = uint32_t(std::min(tn, m - n0));
          const uint32_t c = uint32_t((t - g0) * tm * tn);
          L.em.gemmsp(c, 0, bAt[t - g0].first, mt, nt, kt, kt / 2, kt, uint32_t(tn),
                      ElemFormat::MxE4m3, k0 > 0, 0, bAt[t - g0].second, 0, {2, 4});
          if (k0 + kt >= kp) // C^T: one strided store per output row
            for (uint32_t i = 0; i < mt; ++i)
              L.em.st(c + i * uint32_t(tn), y + uint32_t((n0 * nOut + m0 + i) * 4), nt, 1,
                      uint32_t(nOut * 4), 1);
        }
        L.em.endBlock();
      }
    }
  }
  return Status::success();
}

Status emitReapplyMask(Lowerer &L, const Op &op, const SparseWeight &w) {
  const uint64_t count = w.n * w.k;
  const uint64_t c = std::min<uint64_t>({uint64_t(L.accWords()) / 2, 65535, count});
  if (c == 0)
    return L.doesNotFit(op, "a chunk of the 2:4 mask");
  const uint32_t p = L.at(TensorId{w.weight});
  for (uint64_t off = 0; off < count; off += c) {
    const uint32_t n = uint32_t(std::min(c, count - off)), o4 = uint32_t(off * 4);
    L.em.beginBlock();
    L.em.ldaccRun(0, p + o4, n);
    L.em.ldaccRun(uint32_t(c), w.maskAt + o4, n);
    L.em.vbin(Opcode::VMul, 0, 0, uint32_t(c), n);
    L.em.stRun(0, p + o4, n);
    L.em.endBlock();
  }
  return Status::success();
}

} // namespace lower
} // namespace tessera::compiler
