//===- LowerTensor.cpp - GEMM, convolution, pooling and batch norm -----------===//
//
// MatMul and Conv2d (and the convolution's gradients) on the tensor unit: output-
// stationary tiles of rows x cols, K split to fit the scratchpad, C accumulated in ACC.
// Convolutions are GEMMs over an im2col matrix gathered by DMA (col2im for the input
// gradient). NCHW max / global-average pooling and batch norm (running statistics) and
// their gradients stream on the vector unit.
//
// FP32 policy: each GEMM operand X is split on the device into three BF16 tensors
// hi + mid + lo (hi = bf16(X), mid = bf16(X - hi), lo = bf16(X - hi - mid); the
// residuals are exact FP32 subtractions in the vector unit, the roundings happen in the
// store path), and C accumulates the six products mid*mid, hi*lo, lo*hi, hi*mid, mid*hi,
// hi*hi (smallest first) in FP32: Henry, Tang & Heinecke, "Leveraging the bfloat16
// Artificial Intelligence Datatype For Higher-Precision Computations" (ARITH 2019).
//
//===----------------------------------------------------------------------===//
#include "compiler/Lowering.h"
#include "compiler/Sparse.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace tessera::compiler::lower {

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

struct GemmShape {
  uint64_t m, n, k;
  bool ta, tb;        ///< graph transA / transB
  uint64_t batch = 1; ///< independent products (matching leading dims of A and B)
};

Expected<GemmShape> gemmShape(const Lowerer &L, const Op &op) {
  const auto &as = L.shape(op.inputs[0]), &bs = L.shape(op.inputs[1]);
  GemmShape s{};
  s.ta = op.attrs.transA;
  s.tb = op.attrs.transB;
  const size_t ra = as.size(), rb = bs.size();
  bool batched = rb > 2;
  if (ra < 2 || rb < 2 || (ra > 2 && s.ta && !batched) ||
      (batched && (ra != rb || !std::equal(as.begin(), as.end() - 2, bs.begin()))))
    return L.unsupported(op, "matrix product " + workload::shapeStr(as) + " x " +
                                 workload::shapeStr(bs) +
                                 " (batch dims must match, or B be a matrix)");
  s.k = uint64_t(s.ta ? as[ra - 2] : as.back());
  s.m = batched ? uint64_t(s.ta ? as.back() : as[ra - 2]) : uint64_t(L.numel(op.inputs[0])) / s.k;
  uint64_t kb = uint64_t(s.tb ? bs[rb - 1] : bs[rb - 2]);
  s.n = uint64_t(s.tb ? bs[rb - 2] : bs[rb - 1]);
  s.batch = batched ? uint64_t(L.numel(op.inputs[0])) / (s.m * s.k) : 1;
  if (kb != s.k || uint64_t(L.numel(op.outputs[0])) != s.batch * s.m * s.n)
    return L.unsupported(op, "inconsistent matrix product shapes");
  return s;
}

/// K padded to whole MX blocks.
uint64_t mxK(uint64_t k) {
  return (k + numerics::kMxBlock - 1) / numerics::kMxBlock * numerics::kMxBlock;
}

/// The scratch of one GEMM's operands under the policy, `copies` GEMMs of m x n x k:
/// fp32: the BF16 hi / mid / lo of A and B; mxfp8: A's and B's E4M3 copies [rows][Kp]
/// and their scales. Appended to `t` (order: see setPolicyOperands).
void gemmPolicyTemps(const Lowerer &L, const std::string &name, uint64_t m, uint64_t n, uint64_t k,
                     uint64_t copies, std::vector<TempRequest> &t) {
  if (L.opts.policy == Policy::Fp32) {
    for (int i = 0; i < 2; ++i)
      for (const char *part : {"hi", "mid", "lo"})
        t.push_back({name + (i ? ".b." : ".a.") + part, copies * (i ? k * n : m * k) * 2});
  } else if (L.opts.policy == Policy::Mxfp8) {
    const uint64_t kp = mxK(k);
    t.push_back({name + ".a.mx", copies * m * kp});
    t.push_back({name + ".a.scales", copies * m * kp / numerics::kMxBlock});
    t.push_back({name + ".b.mx", copies * n * kp});
    t.push_back({name + ".b.scales", copies * n * kp / numerics::kMxBlock});
  }
}

std::vector<TempRequest> matmulTemps(const Lowerer &L, const Op &op) {
  if (sparseWeightOf(L, op)) // mxfp8-sparse: a pruned weight (Sparse.cpp)
    return sparseMatMulTemps(L, op);
  auto s = gemmShape(L, op);
  if (!s.ok())
    return {};
  std::vector<TempRequest> t;
  gemmPolicyTemps(L, op.name, s->m, s->n, s->k, s->batch, t);
  return t;
}

/// The split of an FP32 tensor into BF16 hi / mid / lo copies (see the file comment).
void splitBf16(Lowerer &L, uint32_t src, uint64_t count, const uint32_t parts[3]) {
  uint64_t c = std::min<uint64_t>({count, L.accWords() / 2, 65535});
  const uint32_t t = 0, u = uint32_t(c);
  for (uint64_t off = 0; off < count; off += c) {
    uint32_t n = uint32_t(std::min(c, count - off));
    uint32_t boff = uint32_t(off * 2);
    L.em.beginBlock();
    L.em.ldaccRun(t, src + uint32_t(off * 4), n);
    L.em.stRun(t, parts[0] + boff, n, ElemFormat::Bf16);
    L.em.endBlock();
    for (int p = 1; p < 3; ++p) {
      L.em.beginBlock();
      L.em.ldaccRun(u, parts[p - 1] + boff, n, ElemFormat::Bf16);
      L.em.vbin(Opcode::VSub, t, t, u, n);
      L.em.stRun(t, parts[p] + boff, n, ElemFormat::Bf16);
      L.em.endBlock();
    }
  }
}

/// Quantizes the FP32 matrix X[r][k] = src[(r * rs + k * ks)] (rows x k) into MXFP8
/// (E4M3 elements, E8M0 scales per 32 along k): `dst` [rows][kp] codes, zero-padded to
/// kp, and `scales` [rows][kp / 32], through ACC and the store path's quantize-on-store
/// (`st fmt=mxe4m3 scales=`, scales by OCP's floor rule, RNE).
Status quantizeMxfp8(Lowerer &L, const Op &op, uint32_t src, uint64_t rows, uint64_t k, uint64_t rs,
                     uint64_t ks, uint32_t dst, uint32_t scales) {
  const uint64_t kp = mxK(k), blocks = kp / numerics::kMxBlock;
  if (kp > L.accWords() || kp > 16383)
    return L.doesNotFit(op, "an MX row of " + std::to_string(kp) + " elements");
  const uint64_t per = std::min<uint64_t>({rows, L.accWords() / kp, 4095});
  for (uint64_t r0 = 0; r0 < rows; r0 += per) {
    const uint64_t nr = std::min(per, rows - r0);
    if (kp != k) { // the padding quantizes as zeros
      L.em.beginBlock();
      L.em.vfill(0, 0.0f, uint32_t(nr * kp));
      L.em.endBlock();
    }
    L.em.beginBlock();
    if (ks == 1) {
      L.em.ldacc(0, src + uint32_t(r0 * rs * 4), uint32_t(nr), uint32_t(k), uint32_t(rs * 4),
                 uint32_t(kp));
    } else {
      for (uint64_t r = 0; r < nr; ++r)
        for (uint64_t k0 = 0; k0 < k; k0 += 4095) // the rows field holds 4095
          L.em.ldacc(uint32_t(r * kp + k0), src + uint32_t(((r0 + r) * rs + k0 * ks) * 4),
                     uint32_t(std::min<uint64_t>(4095, k - k0)), 1, uint32_t(ks * 4), 1);
    }
    L.em.stMx(0, dst + uint32_t(r0 * kp), scales + uint32_t(r0 * blocks), uint32_t(nr),
              uint32_t(kp), uint32_t(kp), uint32_t(kp), ElemFormat::MxE4m3);
    L.em.endBlock();
  }
  return Status::success();
}

/// The DRAM operands of one GEMM C[M,N] = op(A) op(B): `a`, `b` FP32, `c` FP32 output;
/// for the fp32 policy, three BF16 scratch buffers each for A's and B's split; for mxfp8
/// the quantized copies (canonical [M][Kp] and [N][Kp]) and their scales.
struct GemmOperands {
  uint32_t a = 0, b = 0, c = 0;
  GemmShape s{};
  std::array<uint32_t, 3> splitA{}, splitB{};
  std::array<uint32_t, 2> mxA{}, mxB{}; ///< {codes, scales}
  bool aIsSplit = false;   ///< splitA already holds A's split (a weight reused per image)
  bool accumulate = false; ///< C += op(A) op(B): C's tiles are loaded before the first slice
};

/// Points g's split / MX scratch at the temps from index `first` (gemmPolicyTemps order),
/// for the GEMM number `copy` of those temps.
void setPolicyOperands(const Lowerer &L, GemmOperands &g, const std::vector<uint32_t> &tmp,
                       size_t first, uint64_t copy) {
  const GemmShape &s = g.s;
  if (L.opts.policy == Policy::Fp32) {
    uint32_t oa = uint32_t(copy * s.m * s.k * 2), ob = uint32_t(copy * s.k * s.n * 2);
    g.splitA = {tmp[first] + oa, tmp[first + 1] + oa, tmp[first + 2] + oa};
    g.splitB = {tmp[first + 3] + ob, tmp[first + 4] + ob, tmp[first + 5] + ob};
  } else if (L.opts.policy == Policy::Mxfp8) {
    const uint64_t kp = mxK(s.k), nb = kp / numerics::kMxBlock;
    g.mxA = {tmp[first] + uint32_t(copy * s.m * kp), tmp[first + 1] + uint32_t(copy * s.m * nb)};
    g.mxB = {tmp[first + 2] + uint32_t(copy * s.n * kp),
             tmp[first + 3] + uint32_t(copy * s.n * nb)};
  }
}

Status checkGemmFormat(const Lowerer &L, const Op &op) {
  if (L.opts.policy == Policy::Mxfp8 && (!L.cfg.find(ElemFormat::MxE4m3) || !L.cfg.scaleCast))
    return L.opError(op, "unsupported-format",
                     "policy mxfp8 needs mxfp8 tensor-unit operands and a scale-cast store "
                     "path, which the tile of '" +
                         (L.opts.archPath.empty() ? std::string("<arch spec>") : L.opts.archPath) +
                         "' lacks (tile.tensor_unit.formats, tile.scale_cast)");
  if (L.opts.policy == Policy::Mxfp8)
    return Status::success();
  if (!L.cfg.find(ElemFormat::Bf16))
    return L.opError(op, "unsupported-format",
                     "policy " + std::string(policyName(L.opts.policy)) +
                         " needs bf16 tensor-unit operands, which the tile of '" +
                         (L.opts.archPath.empty() ? std::string("<arch spec>") : L.opts.archPath) +
                         "' lacks (tile.tensor_unit.formats)");
  return Status::success();
}

Status emitGemm(Lowerer &L, const Op &op, const GemmOperands &g);

Status lowerMatMul(Lowerer &L, const Op &op, uint32_t idx) {
  if (const SparseWeight *w = sparseWeightOf(L, op)) // mxfp8-sparse: gemmsp (Sparse.cpp)
    return lowerSparseMatMul(L, op, idx, *w);
  TRY_ASSIGN(GemmShape s, gemmShape(L, op));
  TRY(checkGemmFormat(L, op));
  const uint64_t batch = s.batch;
  s.batch = 1;
  for (uint64_t b = 0; b < batch; ++b) {
    GemmOperands g;
    g.a = L.at(op.inputs[0]) + uint32_t(b * s.m * s.k * 4);
    g.b = L.at(op.inputs[1]) + uint32_t(b * s.k * s.n * 4);
    g.c = L.at(op.outputs[0]) + uint32_t(b * s.m * s.n * 4);
    g.s = s;
    setPolicyOperands(L, g, L.tempAddr[idx], 0, b);
    TRY(emitGemm(L, op, g));
  }
  return Status::success();
}

/// The tiled GEMM (see docs/compiler.md, "Tiling").
Status emitGemm(Lowerer &L, const Op &op, const GemmOperands &g) {
  const accel::TileConfig &cfg = L.cfg;
  // Operand copies: {DRAM address, element format in DRAM}.
  struct Part {
    uint32_t addr;
    ElemFormat fmt;
    uint32_t scales = 0; ///< MX: DRAM address of the block scales
  };
  std::vector<Part> pa, pb;
  std::vector<std::pair<int, int>> products;
  const bool mx = L.opts.policy == Policy::Mxfp8;
  GemmShape s = g.s;
  // SPAD element format and bytes.
  const ElemFormat tileFmt = mx ? ElemFormat::MxE4m3 : ElemFormat::Bf16;
  const uint64_t sb = mx ? 1 : 2;
  if (mx) { // canonical quantized copies [M][Kp], [N][Kp]; ISA B[j][k] = op(B)[k][j]
    if (!g.aIsSplit)
      TRY(quantizeMxfp8(L, op, g.a, s.m, s.k, s.ta ? 1 : s.k, s.ta ? s.m : 1, g.mxA[0], g.mxA[1]));
    TRY(quantizeMxfp8(L, op, g.b, s.n, s.k, s.tb ? s.k : 1, s.tb ? 1 : s.n, g.mxB[0], g.mxB[1]));
    s = {s.m, s.n, mxK(s.k), false, true, 1};
    pa.push_back({g.mxA[0], ElemFormat::MxE4m3, g.mxA[1]});
    pb.push_back({g.mxB[0], ElemFormat::MxE4m3, g.mxB[1]});
    products = {{0, 0}};
  } else if (L.opts.policy == Policy::Fp32) {
    if (!g.aIsSplit)
      splitBf16(L, g.a, s.m * s.k, g.splitA.data());
    splitBf16(L, g.b, s.k * s.n, g.splitB.data());
    for (int i = 0; i < 3; ++i) {
      pa.push_back({g.splitA[size_t(i)], ElemFormat::Bf16});
      pb.push_back({g.splitB[size_t(i)], ElemFormat::Bf16});
    }
    products = {{1, 1}, {0, 2}, {2, 0}, {0, 1}, {1, 0}, {0, 0}};
  } else {
    pa.push_back({g.a, ElemFormat::Fp32});
    pb.push_back({g.b, ElemFormat::Fp32});
    products = {{0, 0}};
  }
  const uint64_t tm = std::min<uint64_t>(cfg.rows, s.m), tn = std::min<uint64_t>(cfg.cols, s.n);
  const uint64_t nTiles = (s.n + tn - 1) / tn;
  uint64_t tkMax = std::min<uint64_t>({s.k, 4095, 16383});
  if (L.opts.maxTileK)
    tkMax = std::min<uint64_t>(tkMax, L.opts.maxTileK);
  const uint64_t slack = kAlign * (pa.size() + pb.size() * nTiles);
  auto perK = [&](uint64_t ng) { return sb * (pa.size() * tm + pb.size() * tn * ng); };
  uint64_t ng = nTiles;
  while (ng > 1 && (perK(ng) * tkMax + slack > cfg.spadBytes || ng * tm * tn > L.accWords()))
    --ng;
  if (tm * tn > L.accWords() || cfg.spadBytes <= slack)
    return L.doesNotFit(op, "an output tile of " + std::to_string(tm) + "x" + std::to_string(tn));
  uint64_t tk = std::min<uint64_t>(tkMax, (cfg.spadBytes - slack) / perK(ng));
  if (mx) // whole MX blocks per slice
    tk = tk / numerics::kMxBlock * numerics::kMxBlock;
  if (tk == 0)
    return L.doesNotFit(op, "a K slice of the operand tiles");

  // Overlap (docs/compiler.md "Overlap"): one block per output tile and K slice instead
  // of one per group, with two SPAD / SCALE buffers for B tiles alternating by block and
  // two for A tiles alternating by (row of tiles, group, K slice); A is loaded once per
  // K slice of a group as before. The loads of block b+1 run while block b computes and
  // stores (Emitter::Next::LoadsWithCompute). tk and the groups stay as chosen above, so
  // every tile sees the same products in the same order: the bytes are those of the
  // serialised GEMM. If two buffers of each do not fit, the GEMM stays serialised.
  const uint64_t aBytes = pa.size() * alignUp(tm * tk * sb, kAlign),
                 bBytes = pb.size() * alignUp(tn * tk * sb, kAlign);
  const uint64_t aScaleBytes = mx ? tm * (tk / numerics::kMxBlock) : 0,
                 bScaleBytes = mx ? tn * (tk / numerics::kMxBlock) : 0;
  const bool pipe = L.opts.overlap && 2 * (aBytes + bBytes) <= cfg.spadBytes &&
                    2 * (aScaleBytes + bScaleBytes) <= cfg.scaleBytes;
  // Pipelined, SPAD holds only two B tiles whatever the group, so a group is as large as
  // ACC allows: A is loaded once per K slice of a group, fewer groups load it less often.
  if (pipe)
    ng = std::min<uint64_t>(nTiles, L.accWords() / (tm * tn));
  const uint64_t perBlock = pipe ? 1 : ng; // output tiles per block
  uint64_t block = 0, aPhase = 0;

  const uint32_t esC = 4;
  for (uint64_t m0 = 0; m0 < s.m; m0 += tm) {
    const uint32_t mt = uint32_t(std::min(tm, s.m - m0));
    for (uint64_t g0 = 0; g0 < nTiles; g0 += ng) {
      const uint64_t gEnd = std::min(nTiles, g0 + ng);
      for (uint64_t k0 = 0; k0 < s.k; k0 += tk, ++aPhase) {
        const uint32_t kt = uint32_t(std::min(tk, s.k - k0));
        const uint64_t blk = numerics::kMxBlock, kb = kt / blk;
        std::vector<uint32_t> aAt, aScale;
        const uint32_t lda = s.ta ? mt : kt;
        for (uint64_t t0 = g0; t0 < gEnd; t0 += perBlock, ++block) {
          const uint64_t t1 = std::min(gEnd, t0 + perBlock);
          L.em.beginBlock();
          // SPAD: [A0][A1][B0][B1] when pipelined; SCALE likewise.
          uint64_t spad = pipe ? 2 * aBytes + block % 2 * bBytes : 0;
          uint32_t scale = pipe ? uint32_t(2 * aScaleBytes + block % 2 * bScaleBytes) : 0;
          auto scalesOf = [&](const Part &p, uint64_t row0, uint32_t nrows) {
            uint32_t at = scale;
            L.em.ldscale(at, p.scales + uint32_t(row0 * (s.k / blk) + k0 / blk), nrows,
                         uint32_t(kb), uint32_t(s.k / blk), uint32_t(kb));
            scale += uint32_t(nrows * kb);
            return at;
          };
          if (t0 == g0) {
            // A tiles: ISA A[i][k] = op(A)[m0+i][k0+k].
            uint64_t bSpad = spad;
            uint32_t bScale0 = scale;
            if (pipe) {
              spad = aPhase % 2 * aBytes;
              scale = uint32_t(aPhase % 2 * aScaleBytes);
            }
            for (const Part &p : pa) {
              uint32_t es = accel::elemFormatInfo(p.fmt).bits / 8;
              if (!s.ta)
                L.em.ld(uint32_t(spad), p.addr + uint32_t((m0 * s.k + k0) * es), mt, kt,
                        uint32_t(s.k * es), uint32_t(kt * sb), p.fmt, tileFmt);
              else
                L.em.ld(uint32_t(spad), p.addr + uint32_t((k0 * s.m + m0) * es), kt, mt,
                        uint32_t(s.m * es), uint32_t(mt * sb), p.fmt, tileFmt);
              aAt.push_back(uint32_t(spad));
              aScale.push_back(mx ? scalesOf(p, m0, mt) : 0);
              spad = alignUp(spad + uint64_t(mt) * kt * sb, kAlign);
            }
            if (pipe) {
              spad = bSpad;
              scale = bScale0;
            }
          }
          // B tiles: ISA B[j][k] = op(B)[k0+k][n0+j].
          std::vector<std::vector<uint32_t>> bAt(t1 - t0), bScale(t1 - t0);
          for (uint64_t t = t0; t < t1; ++t) {
            uint64_t n0 = t * tn;
            uint32_t nt = uint32_t(std::min(tn, s.n - n0));
            for (const Part &p : pb) {
              uint32_t es = accel::elemFormatInfo(p.fmt).bits / 8;
              if (s.tb)
                L.em.ld(uint32_t(spad), p.addr + uint32_t((n0 * s.k + k0) * es), nt, kt,
                        uint32_t(s.k * es), uint32_t(kt * sb), p.fmt, tileFmt);
              else
                L.em.ld(uint32_t(spad), p.addr + uint32_t((k0 * s.n + n0) * es), kt, nt,
                        uint32_t(s.n * es), uint32_t(nt * sb), p.fmt, tileFmt);
              bAt[t - t0].push_back(uint32_t(spad));
              bScale[t - t0].push_back(mx ? scalesOf(p, n0, nt) : 0);
              spad = alignUp(spad + uint64_t(nt) * kt * sb, kAlign);
            }
          }
          for (uint64_t t = t0; t < t1; ++t) {
            uint64_t n0 = t * tn;
            uint32_t nt = uint32_t(std::min(tn, s.n - n0));
            uint32_t c = uint32_t((t - g0) * tm * tn);
            uint32_t ldb = s.tb ? kt : nt;
            if (g.accumulate && k0 == 0)
              L.em.ldacc(c, g.c + uint32_t((m0 * s.n + n0) * esC), mt, nt, uint32_t(s.n * esC),
                         uint32_t(tn));
            for (size_t pi = 0; pi < products.size(); ++pi) {
              auto [ia, ib] = products[pi];
              L.em.gemm(c, aAt[size_t(ia)], bAt[t - t0][size_t(ib)], mt, nt, kt, lda, ldb,
                        uint32_t(tn), tileFmt, g.accumulate || k0 > 0 || pi > 0, s.ta, !s.tb,
                        aScale[size_t(ia)], bScale[t - t0][size_t(ib)]);
            }
            if (k0 + kt >= s.k)
              L.em.st(c, g.c + uint32_t((m0 * s.n + n0) * esC), mt, nt, uint32_t(s.n * esC),
                      uint32_t(tn));
          }
          // The next block overlaps unless it is the last, or it loads C into the slot
          // this block computes and stores (accumulate: a group's first tile after a
          // group whose only tile used the same slot).
          const bool lastBlock =
              t1 >= gEnd && k0 + kt >= s.k && g0 + ng >= nTiles && m0 + tm >= s.m;
          const bool slotClash = g.accumulate && t1 >= gEnd && k0 + kt >= s.k && t0 == g0;
          L.em.endBlock(pipe && !lastBlock && !slotClash ? Emitter::Next::LoadsWithCompute
                                                         : Emitter::Next::Serial);
        }
      }
    }
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Convolution and pooling (NCHW)
//===----------------------------------------------------------------------===//

struct Window {
  int64_t n, c, h, w; ///< input
  int64_t oh, ow;     ///< output plane
  int64_t kh, kw, sh, sw, pt, pl;
};

Window window(const Lowerer &L, const Op &op, int64_t kh, int64_t kw) {
  const auto &xs = L.shape(op.inputs[0]), &ys = L.shape(op.outputs[0]);
  return {xs[0],
          xs[1],
          xs[2],
          xs[3],
          ys[2],
          ys[3],
          kh,
          kw,
          op.attrs.strideH,
          op.attrs.strideW,
          op.attrs.padT,
          op.attrs.padL};
}

/// Output positions [o0, o1) whose input index o * s - p + k lies in [0, size).
std::pair<int64_t, int64_t> validRange(int64_t outSize, int64_t size, int64_t s, int64_t p,
                                       int64_t k) {
  int64_t o0 = 0, o1 = outSize;
  while (o0 < o1 && o0 * s - p + k < 0)
    ++o0;
  while (o1 > o0 && (o1 - 1) * s - p + k >= size)
    --o1;
  return {o0, o1};
}

/// Loads the window offset (ki, kj) of input plane `plane` (FP32 at `x`) into ACC at
/// `acc` as an oh x ow plane: the positions whose input lies inside the image only.
/// Returns whether every position was written.
bool loadWindow(Lowerer &L, const Window &w, uint32_t x, int64_t plane, int64_t ki, int64_t kj,
                uint32_t acc) {
  auto [y0, y1] = validRange(w.oh, w.h, w.sh, w.pt, ki);
  auto [x0, x1] = validRange(w.ow, w.w, w.sw, w.pl, kj);
  if (y0 >= y1 || x0 >= x1)
    return false;
  auto at = [&](int64_t oy, int64_t ox) {
    int64_t iy = oy * w.sh - w.pt + ki, ix = ox * w.sw - w.pl + kj;
    return x + uint32_t(((plane * w.h + iy) * w.w + ix) * 4);
  };
  uint32_t dst = acc + uint32_t(y0 * w.ow + x0);
  if (w.sw == 1) {
    L.em.ldacc(dst, at(y0, x0), uint32_t(y1 - y0), uint32_t(x1 - x0), uint32_t(w.sh * w.w * 4),
               uint32_t(w.ow));
  } else {
    for (int64_t oy = y0; oy < y1; ++oy)
      L.em.ldacc(acc + uint32_t(oy * w.ow + x0), at(oy, x0), uint32_t(x1 - x0), 1,
                 uint32_t(w.sw * 4), 1);
  }
  return y0 == 0 && y1 == w.oh && x0 == 0 && x1 == w.ow;
}

std::vector<TempRequest> convTemps(const Lowerer &L, const Op &op) {
  const auto &xs = L.shape(op.inputs[0]), &ws = L.shape(op.inputs[1]), &ys = L.shape(op.outputs[0]);
  if (xs.size() != 4 || ws.size() != 4 || ys.size() != 4)
    return {};
  uint64_t ckk = uint64_t(ws[1] * ws[2] * ws[3]), p = uint64_t(ys[2] * ys[3]);
  std::vector<TempRequest> t = {{op.name + ".im2col", ckk * p * 4}};
  gemmPolicyTemps(L, op.name, uint64_t(ws[0]), p, ckk, 1, t);
  return t;
}

/// What every convolution lowering needs: 4-D input and weight, groups 1, dilation 1,
/// and a tensor-unit format for the policy.
Status checkConv(const Lowerer &L, const Op &op, const workload::Shape &xs,
                 const workload::Shape &ws) {
  if (xs.size() != 4 || ws.size() != 4 || op.attrs.groups != 1 || op.attrs.dilationH != 1 ||
      op.attrs.dilationW != 1)
    return L.unsupported(op, "only 2-D convolutions with groups = 1 and dilation 1 are lowered");
  return checkGemmFormat(L, op);
}

/// Conv2d (groups 1, dilation 1) as a GEMM per image: out[n] [O][OH*OW] =
/// W [O][C*KH*KW] x col [C*KH*KW][OH*OW], the im2col matrix built by DMA in ACC (zeros
/// where the window hangs over the padding) and stored to DRAM scratch.
void emitIm2col(Lowerer &L, const Window &w, uint32_t x, int64_t n, uint32_t col, bool padded);

Status lowerConv(Lowerer &L, const Op &op, uint32_t idx) {
  const auto &xs = L.shape(op.inputs[0]), &ws = L.shape(op.inputs[1]);
  TRY(checkConv(L, op, xs, ws));
  Window w = window(L, op, ws[2], ws[3]);
  const uint64_t o = uint64_t(ws[0]), kk = uint64_t(ws[2] * ws[3]), ckk = uint64_t(w.c) * kk,
                 p = uint64_t(w.oh * w.ow);
  if (p > L.accWords())
    return L.doesNotFit(op, "an output plane of " + std::to_string(p) + " elements");
  const auto &tmp = L.tempAddr[idx];
  const uint32_t col = tmp[0];
  const bool padded = op.attrs.padT || op.attrs.padL || op.attrs.padB || op.attrs.padR;
  for (int64_t n = 0; n < w.n; ++n) {
    emitIm2col(L, w, L.at(op.inputs[0]), n, col, padded);
    GemmOperands g;
    g.a = L.at(op.inputs[1]);
    g.b = col;
    g.c = L.at(op.outputs[0]) + uint32_t(uint64_t(n) * o * p * 4);
    g.s = {o, p, ckk, false, false};
    setPolicyOperands(L, g, tmp, 1, 0);
    g.aIsSplit = n > 0; // the weight's split / quantized copy serves every image
    TRY(emitGemm(L, op, g));
  }
  return Status::success();
}

/// im2col of image `n` of `x` (window geometry of `w`, kernel kh x kw) into `col`
/// [C*KH*KW][OH*OW] (FP32 DRAM), in ACC-sized row chunks.
///
/// Overlap (docs/compiler.md "Overlap"): two ACC buffers alternate by chunk; the block of
/// chunk j gathers into its buffer (loads), zero-fills the buffer of chunk j+1 (compute,
/// when padded) and stores its own buffer, and lets the gathers of chunk j+1 start once
/// that fill is done (Emitter::Next::LoadsAfterCompute): they overlap chunk j's store. A
/// copy: the chunking changes no value.
void emitIm2col(Lowerer &L, const Window &w, uint32_t x, int64_t n, uint32_t col, bool padded) {
  const uint64_t kk = uint64_t(w.kh * w.kw), ckk = uint64_t(w.c) * kk, p = uint64_t(w.oh * w.ow);
  const uint64_t half = L.accWords() / 2 / p;
  const bool ov = L.opts.overlap && half > 0 && ckk > half;
  const uint64_t rows = ov ? half : std::min<uint64_t>(ckk, L.accWords() / p);
  const uint32_t bufWords = uint32_t(rows * p);
  if (ov && padded) {
    L.em.beginBlock();
    L.em.vfill(0, 0.0f, bufWords);
    L.em.endBlock(Emitter::Next::LoadsAfterCompute);
  }
  for (uint64_t r0 = 0, j = 0; r0 < ckk; r0 += rows, ++j) {
    uint64_t nr = std::min(rows, ckk - r0);
    const bool last = r0 + nr >= ckk;
    const uint32_t buf = ov ? uint32_t(j % 2) * bufWords : 0;
    if (padded && !ov) {
      L.em.beginBlock();
      L.em.vfill(0, 0.0f, uint32_t(nr * p));
      L.em.endBlock();
    }
    L.em.beginBlock();
    for (uint64_t r = r0; r < r0 + nr; ++r) {
      int64_t c = int64_t(r / kk), ki = int64_t(r % kk) / w.kw, kj = int64_t(r % kk) % w.kw;
      loadWindow(L, w, x, n * w.c + c, ki, kj, buf + uint32_t((r - r0) * p));
    }
    if (ov && padded && !last)
      L.em.vfill(uint32_t((j + 1) % 2) * bufWords, 0.0f,
                 uint32_t(std::min(rows, ckk - r0 - nr) * p));
    L.em.stRun(buf, col + uint32_t(r0 * p * 4), nr * p);
    L.em.endBlock(ov && !last ? Emitter::Next::LoadsAfterCompute : Emitter::Next::Serial);
  }
}

bool isPadded(const Op &op) {
  return op.attrs.padT || op.attrs.padL || op.attrs.padB || op.attrs.padR;
}

/// The forward convolution's geometry for a backward op reading (x or dy, w or x).
Window convWindowOf(const Lowerer &L, const Op &op, const workload::Shape &xs,
                    const workload::Shape &ws, const workload::Shape &ys) {
  return {xs[0],
          xs[1],
          xs[2],
          xs[3],
          ys[2],
          ys[3],
          ws[2],
          ws[3],
          op.attrs.strideH,
          op.attrs.strideW,
          op.attrs.padT,
          op.attrs.padL};
}

std::vector<TempRequest> convGradTemps(const Lowerer &L, const Op &op, bool weight) {
  // wgrad: inputs (x, dy), output dW [O,C,KH,KW]; dgrad: inputs (dy, w), output dX.
  const auto &ws = weight ? L.shape(op.outputs[0]) : L.shape(op.inputs[1]);
  const auto &ys = weight ? L.shape(op.inputs[1]) : L.shape(op.inputs[0]);
  if (ws.size() != 4 || ys.size() != 4)
    return {};
  uint64_t ckk = uint64_t(ws[1] * ws[2] * ws[3]), p = uint64_t(ys[2] * ys[3]), o = uint64_t(ws[0]);
  std::vector<TempRequest> t = {{op.name + ".col", ckk * p * 4}};
  if (weight) // dW [O][CKK] = dy [O][P] x col^T
    gemmPolicyTemps(L, op.name, o, ckk, p, 1, t);
  else // dcol [CKK][P] = W^T x dy [O][P]
    gemmPolicyTemps(L, op.name, ckk, p, o, 1, t);
  return t;
}

std::vector<TempRequest> convWgradTemps(const Lowerer &L, const Op &op) {
  return convGradTemps(L, op, true);
}
std::vector<TempRequest> convDgradTemps(const Lowerer &L, const Op &op) {
  return convGradTemps(L, op, false);
}

/// Conv2dGradWeight(x, dy): dW [O][C*KH*KW] = sum over images of dy[n] [O][P] x
/// col[n]^T, the images accumulated in C (GemmOperands::accumulate).
Status lowerConvWgrad(Lowerer &L, const Op &op, uint32_t idx) {
  const auto &xs = L.shape(op.inputs[0]), &ys = L.shape(op.inputs[1]), &ws = L.shape(op.outputs[0]);
  TRY(checkConv(L, op, xs, ws));
  Window w = convWindowOf(L, op, xs, ws, ys);
  const uint64_t o = uint64_t(ws[0]), ckk = uint64_t(ws[1] * ws[2] * ws[3]),
                 p = uint64_t(w.oh * w.ow);
  if (p > L.accWords())
    return L.doesNotFit(op, "an output plane of " + std::to_string(p) + " elements");
  const auto &tmp = L.tempAddr[idx];
  for (int64_t n = 0; n < w.n; ++n) {
    emitIm2col(L, w, L.at(op.inputs[0]), n, tmp[0], isPadded(op));
    GemmOperands g;
    g.a = L.at(op.inputs[1]) + uint32_t(uint64_t(n) * o * p * 4);
    g.b = tmp[0];
    g.c = L.at(op.outputs[0]);
    g.s = {o, ckk, p, false, true};
    g.accumulate = n > 0;
    setPolicyOperands(L, g, tmp, 1, 0);
    TRY(emitGemm(L, op, g));
  }
  return Status::success();
}

/// Conv2dGradInput(dy, w): dcol = W^T [C*KH*KW][O] x dy[n] [O][P], then col2im: each
/// row (c, kh, kw) of dcol added into the plane of dx[n][c] at its window positions
/// (runs of vadd along the output row when the stride along W is 1, single elements
/// otherwise).
Status lowerConvDgrad(Lowerer &L, const Op &op, uint32_t idx) {
  const auto &ys = L.shape(op.inputs[0]), &ws = L.shape(op.inputs[1]), &xs = L.shape(op.outputs[0]);
  TRY(checkConv(L, op, xs, ws));
  Window w = convWindowOf(L, op, xs, ws, ys);
  const uint64_t o = uint64_t(ws[0]), kk = uint64_t(ws[2] * ws[3]), ckk = uint64_t(w.c) * kk,
                 p = uint64_t(w.oh * w.ow), hw = uint64_t(w.h * w.w);
  if (hw + kk * p > L.accWords())
    return L.doesNotFit(op, "an input plane and its " + std::to_string(kk) + " window rows");
  const auto &tmp = L.tempAddr[idx];
  const uint32_t dcol = tmp[0];
  for (int64_t n = 0; n < w.n; ++n) {
    GemmOperands g;
    g.a = L.at(op.inputs[1]);
    g.b = L.at(op.inputs[0]) + uint32_t(uint64_t(n) * o * p * 4);
    g.c = dcol;
    g.s = {ckk, p, o, true, false};
    setPolicyOperands(L, g, tmp, 1, 0);
    g.aIsSplit = n > 0; // the weight's split / quantized copy serves every image
    TRY(emitGemm(L, op, g));
    for (int64_t c = 0; c < w.c; ++c) {
      const uint32_t plane = 0, rows = uint32_t(hw);
      L.em.beginBlock();
      L.em.ldaccRun(rows, dcol + uint32_t(uint64_t(c) * kk * p * 4), kk * p);
      L.em.vfill(plane, 0.0f, uint32_t(hw));
      for (int64_t ki = 0; ki < w.kh; ++ki)
        for (int64_t kj = 0; kj < w.kw; ++kj) {
          auto [y0, y1] = validRange(w.oh, w.h, w.sh, w.pt, ki);
          auto [x0, x1] = validRange(w.ow, w.w, w.sw, w.pl, kj);
          uint32_t row = rows + uint32_t(uint64_t(ki * w.kw + kj) * p);
          for (int64_t oy = y0; oy < y1; ++oy) {
            int64_t iy = oy * w.sh - w.pt + ki;
            auto dst = [&](int64_t ox) { return uint32_t(iy * w.w + ox * w.sw - w.pl + kj); };
            if (w.sw == 1) {
              if (x1 > x0)
                L.em.vbin(Opcode::VAdd, dst(x0), dst(x0), row + uint32_t(oy * w.ow + x0),
                          uint32_t(x1 - x0));
            } else {
              for (int64_t ox = x0; ox < x1; ++ox)
                L.em.vbin(Opcode::VAdd, dst(ox), dst(ox), row + uint32_t(oy * w.ow + ox), 1);
            }
          }
        }
      L.em.stRun(plane, L.at(op.outputs[0]) + uint32_t(uint64_t(n * w.c + c) * hw * 4), hw);
      L.em.endBlock();
    }
  }
  return Status::success();
}

/// MaxPool2d: per chunk of planes, the running max starts at -Inf and takes vmax with
/// each window offset's plane gathered by DMA (positions over the padding refilled with
/// -Inf first).
Status lowerMaxPool(Lowerer &L, const Op &op, uint32_t) {
  if (L.shape(op.inputs[0]).size() != 4 || op.attrs.dilationH != 1 || op.attrs.dilationW != 1)
    return L.unsupported(op, "only 2-D pooling without dilation is lowered");
  Window w = window(L, op, op.attrs.kernelH, op.attrs.kernelW);
  const uint64_t p = uint64_t(w.oh * w.ow), planes = uint64_t(w.n * w.c);
  const uint64_t q = std::min<uint64_t>({planes, L.accWords() / (2 * p), 65535 / p});
  if (q == 0)
    return L.doesNotFit(op, "two output planes of " + std::to_string(p) + " elements");
  const float ninf = -std::numeric_limits<float>::infinity();
  for (uint64_t q0 = 0; q0 < planes; q0 += q) {
    const uint32_t nq = uint32_t(std::min(q, planes - q0)), np = uint32_t(nq * p);
    const uint32_t acc = 0, gather = np;
    L.em.beginBlock();
    L.em.vfill(acc, ninf, np);
    L.em.endBlock();
    for (int64_t ki = 0; ki < w.kh; ++ki)
      for (int64_t kj = 0; kj < w.kw; ++kj) {
        auto [y0, y1] = validRange(w.oh, w.h, w.sh, w.pt, ki);
        auto [x0, x1] = validRange(w.ow, w.w, w.sw, w.pl, kj);
        if (y0 >= y1 || x0 >= x1)
          continue;
        if (y0 != 0 || y1 != w.oh || x0 != 0 || x1 != w.ow) {
          L.em.beginBlock();
          L.em.vfill(gather, ninf, np);
          L.em.endBlock();
        }
        L.em.beginBlock();
        for (uint32_t j = 0; j < nq; ++j)
          loadWindow(L, w, L.at(op.inputs[0]), int64_t(q0 + j), ki, kj, uint32_t(gather + j * p));
        L.em.vbin(Opcode::VMax, acc, acc, gather, np);
        if (ki == w.kh - 1 && kj == w.kw - 1)
          L.em.stRun(acc, L.at(op.outputs[0]) + uint32_t(q0 * p * 4), np);
        L.em.endBlock();
      }
  }
  return Status::success();
}

/// GlobalAvgPool: per plane a segment sum (vsum) times 1/(H*W).
Status lowerGlobalAvgPool(Lowerer &L, const Op &op, uint32_t) {
  const auto &xs = L.shape(op.inputs[0]);
  if (xs.size() < 3)
    return L.unsupported(op, "global pooling needs spatial dims");
  uint64_t hw = 1;
  for (size_t i = 2; i < xs.size(); ++i)
    hw *= uint64_t(xs[i]);
  const uint64_t planes = uint64_t(xs[0] * xs[1]);
  const uint64_t q = std::min<uint64_t>(planes, L.accWords() / (hw + 1));
  if (q == 0 || hw > 65535)
    return L.doesNotFit(op, "a plane of " + std::to_string(hw) + " elements");
  for (uint64_t q0 = 0; q0 < planes; q0 += q) {
    const uint32_t nq = uint32_t(std::min(q, planes - q0)), sums = uint32_t(nq * hw);
    L.em.beginBlock();
    L.em.ldaccRun(0, L.at(op.inputs[0]) + uint32_t(q0 * hw * 4), nq * hw);
    L.em.vsum(sums, 0, uint32_t(nq * hw), uint32_t(hw));
    L.em.vscalar(Opcode::VMulS, sums, sums, float(1.0 / double(hw)), nq);
    L.em.stRun(sums, L.at(op.outputs[0]) + uint32_t(q0 * 4), nq);
    L.em.endBlock();
  }
  return Status::success();
}

/// PoolGrad of GlobalAvgPool: dx = dy / (H*W) broadcast over each plane.
Status lowerGlobalPoolGrad(Lowerer &L, const Op &op) {
  TensorId dy = op.inputs[0], dx = op.outputs[0];
  Operand g;
  if (!classify(L, dy, dx, g) || (g.kind != Operand::SegRepeat && g.kind != Operand::Scalar))
    return L.unsupported(op, "unexpected shapes");
  const float inv = float(double(L.numel(dy)) / double(L.numel(dx)));
  const uint64_t seg = g.kind == Operand::Scalar ? uint64_t(L.numel(dx)) : g.width;
  return streamElementwise(
      L, op, {g}, L.at(dx), uint64_t(L.numel(dx)), 0,
      [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t out) {
        L.em.vfill(out, 0.0f, n);
        L.em.vbin(Opcode::VAdd, out, out, r[0], n, uint32_t(std::min<uint64_t>(seg, n)));
        L.em.vscalar(Opcode::VMulS, out, out, inv, n);
      },
      true);
}

Status lowerMaxPoolGrad(Lowerer &L, const Op &op);

Status lowerPoolGrad(Lowerer &L, const Op &op, uint32_t) {
  if (op.attrs.of == OpKind::GlobalAvgPool)
    return lowerGlobalPoolGrad(L, op);
  if (op.attrs.of == OpKind::MaxPool2d)
    return lowerMaxPoolGrad(L, op);
  return L.unsupported(op, "no lowering for the gradient of " +
                               std::string(workload::opName(op.attrs.of)));
}

/// Adds `src` (an oh x ow plane in ACC) into the h x w plane `dst` at the input
/// positions of window offset (ki, kj): runs of vadd along output rows when the stride
/// along W is 1, single elements otherwise.
void scatterAddWindow(Lowerer &L, const Window &w, uint32_t dst, uint32_t src, int64_t ki,
                      int64_t kj) {
  auto [y0, y1] = validRange(w.oh, w.h, w.sh, w.pt, ki);
  auto [x0, x1] = validRange(w.ow, w.w, w.sw, w.pl, kj);
  for (int64_t oy = y0; oy < y1; ++oy) {
    int64_t iy = oy * w.sh - w.pt + ki;
    auto d = [&](int64_t ox) { return dst + uint32_t(iy * w.w + ox * w.sw - w.pl + kj); };
    if (w.sw == 1) {
      if (x1 > x0)
        L.em.vbin(Opcode::VAdd, d(x0), d(x0), src + uint32_t(oy * w.ow + x0), uint32_t(x1 - x0));
    } else {
      for (int64_t ox = x0; ox < x1; ++ox)
        L.em.vbin(Opcode::VAdd, d(ox), d(ox), src + uint32_t(oy * w.ow + ox), 1);
    }
  }
}

/// PoolGrad of MaxPool2d(dy, x): the gradient goes to the first maximum of each window in
/// row-major window order (PyTorch's rule). Per chunk of planes: the max m is recomputed;
/// then for each window offset, mask = [m - x_k == 0] built exactly as
/// 1 + max(-((m - x_k) * 2^127 * 2^127), -1), sel = mask * avail, avail -= sel, and
/// sel * dy is added into dx at the offset's input positions.
Status lowerMaxPoolGrad(Lowerer &L, const Op &op) {
  const auto &xs = L.shape(op.outputs[0]);
  if (xs.size() != 4 || op.attrs.dilationH != 1 || op.attrs.dilationW != 1)
    return L.unsupported(op, "only 2-D pooling without dilation is lowered");
  Window w = window(L, op, op.attrs.kernelH, op.attrs.kernelW);
  const auto &ys = L.shape(op.inputs[0]);
  w.n = xs[0];
  w.c = xs[1];
  w.h = xs[2];
  w.w = xs[3];
  w.oh = ys[2];
  w.ow = ys[3];
  const uint64_t p = uint64_t(w.oh * w.ow), hw = uint64_t(w.h * w.w), planes = uint64_t(w.n * w.c);
  uint64_t q = std::min<uint64_t>(planes, (L.accWords() - 1) / (5 * p + hw));
  q = std::min<uint64_t>(q, 65535 / hw);
  if (q == 0)
    return L.doesNotFit(op, "five output planes and an input plane");
  const float ninf = -std::numeric_limits<float>::infinity(), big = std::ldexp(1.0f, 127);
  const uint32_t x = L.at(op.inputs[1]);
  for (uint64_t q0 = 0; q0 < planes; q0 += q) {
    const uint32_t nq = uint32_t(std::min(q, planes - q0)), np = uint32_t(nq * p);
    const uint32_t m = 0, avail = np, dy = 2 * np, gat = 3 * np, t = 4 * np, dx = 5 * np,
                   minus1 = uint32_t(5 * np + nq * hw);
    auto gather = [&](int64_t ki, int64_t kj) {
      auto [y0, y1] = validRange(w.oh, w.h, w.sh, w.pt, ki);
      auto [x0, x1] = validRange(w.ow, w.w, w.sw, w.pl, kj);
      if (y0 != 0 || y1 != w.oh || x0 != 0 || x1 != w.ow) {
        L.em.beginBlock();
        L.em.vfill(gat, ninf, np);
        L.em.endBlock();
      }
      L.em.beginBlock();
      for (uint32_t j = 0; j < nq; ++j)
        loadWindow(L, w, x, int64_t(q0 + j), ki, kj, uint32_t(gat + j * p));
    };
    L.em.beginBlock();
    L.em.ldaccRun(dy, L.at(op.inputs[0]) + uint32_t(q0 * p * 4), np);
    L.em.vfill(m, ninf, np);
    L.em.vfill(avail, 1.0f, np);
    L.em.vfill(dx, 0.0f, uint32_t(nq * hw));
    L.em.vfill(minus1, -1.0f, 1);
    L.em.endBlock();
    for (int64_t ki = 0; ki < w.kh; ++ki)
      for (int64_t kj = 0; kj < w.kw; ++kj) {
        gather(ki, kj);
        L.em.vbin(Opcode::VMax, m, m, gat, np);
        L.em.endBlock();
      }
    for (int64_t ki = 0; ki < w.kh; ++ki)
      for (int64_t kj = 0; kj < w.kw; ++kj) {
        gather(ki, kj);
        L.em.vbin(Opcode::VSub, t, m, gat, np);
        L.em.vscalar(Opcode::VMulS, t, t, big, np);
        L.em.vscalar(Opcode::VMulS, t, t, -big, np);
        L.em.vbin(Opcode::VMax, t, t, minus1, np, np);
        L.em.vscalar(Opcode::VAddS, t, t, 1.0f, np);
        L.em.vbin(Opcode::VMul, t, t, avail, np);
        L.em.vbin(Opcode::VSub, avail, avail, t, np);
        L.em.vbin(Opcode::VMul, t, t, dy, np);
        for (uint32_t j = 0; j < nq; ++j)
          scatterAddWindow(L, w, uint32_t(dx + j * hw), uint32_t(t + j * p), ki, kj);
        if (ki == w.kh - 1 && kj == w.kw - 1)
          L.em.stRun(dx, L.at(op.outputs[0]) + uint32_t(q0 * hw * 4), nq * hw);
        L.em.endBlock();
      }
  }
  return Status::success();
}

std::vector<TempRequest> batchNormTemps(const Lowerer &L, const Op &op) {
  return {{op.name + ".affine", uint64_t(L.numel(op.inputs[1])) * 2 * 4}};
}

/// BatchNorm with running statistics (inference, and the training step of a model kept in
/// eval mode): alpha = scale / sqrt(var + eps), beta = bias - mean * alpha per channel
/// (PyTorch's CPU kernel's terms), then y = x * alpha + beta streamed per channel.
Status lowerBatchNorm(Lowerer &L, const Op &op, uint32_t idx) {
  const auto &xs = L.shape(op.inputs[0]);
  if (xs.size() < 2 || op.inputs.size() != 5)
    return L.unsupported(op, "batch norm needs (x, scale, bias, mean, var)");
  const uint64_t c = uint64_t(xs[1]);
  if (4 * c > L.accWords())
    return L.doesNotFit(op, "four rows of " + std::to_string(c) + " channel values");
  const uint32_t aff = L.tempAddr[idx][0];
  const uint32_t cw = uint32_t(c);
  L.em.beginBlock();
  L.em.ldaccRun(0, L.at(op.inputs[4]), c);      // var
  L.em.ldaccRun(cw, L.at(op.inputs[1]), c);     // scale
  L.em.ldaccRun(2 * cw, L.at(op.inputs[3]), c); // mean
  L.em.ldaccRun(3 * cw, L.at(op.inputs[2]), c); // bias
  L.em.vscalar(Opcode::VAddS, 0, 0, float(op.attrs.eps), cw);
  L.em.vunary(Opcode::VRsqrt, 0, 0, cw);
  L.em.vbin(Opcode::VMul, cw, cw, 0, cw);              // alpha
  L.em.vbin(Opcode::VMul, 2 * cw, 2 * cw, cw, cw);     // mean * alpha
  L.em.vbin(Opcode::VSub, 3 * cw, 3 * cw, 2 * cw, cw); // beta
  L.em.stRun(cw, aff, c);
  L.em.stRun(3 * cw, aff + cw * 4, c);
  L.em.endBlock();
  uint64_t seg = 1;
  for (size_t i = 2; i < xs.size(); ++i)
    seg *= uint64_t(xs[i]);
  Operand x, alpha, beta;
  x.addr = L.at(op.inputs[0]);
  for (Operand *o : {&alpha, &beta}) {
    o->kind = seg == 1 ? Operand::RowRepeat : Operand::SegRepeat;
    o->width = seg == 1 ? c : seg;
    o->period = c;
  }
  alpha.addr = aff;
  beta.addr = aff + cw * 4;
  return streamElementwise(L, op, {x, alpha, beta}, L.at(op.outputs[0]),
                           uint64_t(L.numel(op.outputs[0])), 0,
                           [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
                             uint32_t sg = seg == 1 ? 0 : uint32_t(std::min<uint64_t>(seg, n));
                             L.em.vbin(Opcode::VMul, r[0], r[0], r[1], n, sg);
                             L.em.vbin(Opcode::VAdd, r[0], r[0], r[2], n, sg);
                           });
}

std::vector<TempRequest> batchNormGradTemps(const Lowerer &L, const Op &op) {
  const auto &xs = L.shape(op.inputs[1]);
  uint64_t c = xs.size() > 1 ? uint64_t(xs[1]) : 1;
  return {{op.name + ".affine", 2 * c * 4},
          {op.name + ".dy-xhat", uint64_t(L.numel(op.inputs[1])) * 4}};
}

/// BatchNormGrad(dy, x, scale) of a batch norm with running statistics (the statistics
/// are constants): dx = dy * scale * invstd, dscale = sum dy * (x - mean) * invstd,
/// dbias = sum dy over every dim but the channel, invstd = rsqrt(var + eps) (PyTorch's
/// eval-mode batch_norm_backward). Mean, var and eps come from the forward op.
Status lowerBatchNormGrad(Lowerer &L, const Op &op, uint32_t idx) {
  const auto &xs = L.shape(op.inputs[1]);
  if (!op.forwardOf.valid() || xs.size() < 2 || op.inputs.size() != 3 ||
      (op.outputs.size() != 3 && op.outputs.size() != 2))
    return L.unsupported(op, "expected (dy, x, scale) and the gradients of (x,) scale, bias");
  const Op &fwd = L.g.op(op.forwardOf);
  if (fwd.kind != OpKind::BatchNorm || fwd.inputs.size() != 5)
    return L.unsupported(op, "the forward op is not a batch norm with running statistics");
  const uint64_t c = uint64_t(xs[1]);
  const uint32_t cw = uint32_t(c);
  if (3 * c > L.accWords())
    return L.doesNotFit(op, "three rows of " + std::to_string(c) + " channel values");
  const uint32_t aff = L.tempAddr[idx][0], prod = L.tempAddr[idx][1];
  L.em.beginBlock();
  L.em.ldaccRun(0, L.at(fwd.inputs[4]), c); // var
  L.em.ldaccRun(cw, L.at(op.inputs[2]), c); // scale
  L.em.vscalar(Opcode::VAddS, 0, 0, float(fwd.attrs.eps), cw);
  L.em.vunary(Opcode::VRsqrt, 0, 0, cw);  // invstd
  L.em.vbin(Opcode::VMul, cw, cw, 0, cw); // alpha = scale * invstd
  L.em.stRun(0, aff, c);
  L.em.stRun(cw, aff + cw * 4, c);
  L.em.endBlock();
  uint64_t seg = 1;
  for (size_t i = 2; i < xs.size(); ++i)
    seg *= uint64_t(xs[i]);
  auto perChannel = [&](uint32_t addr) {
    Operand o;
    o.kind = seg == 1 ? Operand::RowRepeat : Operand::SegRepeat;
    o.width = seg == 1 ? c : seg;
    o.period = c;
    o.addr = addr;
    return o;
  };
  auto bcastOp = [&](Opcode opc, uint32_t d, uint32_t a, uint32_t b, uint32_t n) {
    L.em.vbin(opc, d, a, b, n, seg == 1 ? 0 : uint32_t(std::min<uint64_t>(seg, n)));
  };
  Operand dy, x;
  dy.addr = L.at(op.inputs[0]);
  x.addr = L.at(op.inputs[1]);
  const uint64_t count = uint64_t(L.numel(op.inputs[1]));
  size_t out = 0;
  if (op.outputs.size() == 3) {
    TRY(streamElementwise(L, op, {dy, perChannel(aff + cw * 4)}, L.at(op.outputs[out++]), count, 0,
                          [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
                            bcastOp(Opcode::VMul, r[0], r[0], r[1], n);
                          }));
  }
  TRY(streamElementwise(L, op, {dy, x, perChannel(L.at(fwd.inputs[3])), perChannel(aff)}, prod,
                        count, 0, [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
                          bcastOp(Opcode::VSub, r[1], r[1], r[2], n);
                          bcastOp(Opcode::VMul, r[1], r[1], r[3], n);
                          L.em.vbin(Opcode::VMul, r[0], r[0], r[1], n);
                        }));
  TRY(reduceSegments(L, op, prod, count, seg, c, L.at(op.outputs[out++])));
  return reduceSegments(L, op, L.at(op.inputs[0]), count, seg, c, L.at(op.outputs[out]));
}

} // namespace tessera::compiler::lower
