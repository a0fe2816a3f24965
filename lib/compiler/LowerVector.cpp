//===- LowerVector.cpp - lowerings on the FP32 vector unit -------------------===//
//
// Elementwise ops, losses, reductions, layout changes (transpose, slice and its
// gradient), softmax, layer norm and their gradients, AdamW. Everything streams through
// ACC in chunks, one block per chunk; docs/compiler.md has the instruction sequence of
// each op. Functions the ISA lacks are built from its operations exactly (masks from
// overflowing products, the row maximum from max-|x| reductions, reciprocals as
// rsqrt(x)^2).
//
//===----------------------------------------------------------------------===//
#include "compiler/Fusion.h"
#include "compiler/Lowering.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

namespace tessera::compiler::lower {

//===----------------------------------------------------------------------===//
// Streaming helpers
//===----------------------------------------------------------------------===//

/// Elements per ACC chunk for `regions` equal regions plus `extra` words, a multiple of
/// `granule`, at most `cap`; 0 when not even one granule fits.
uint64_t chunkElems(const Lowerer &L, uint64_t count, uint64_t regions, uint64_t extra,
                    uint64_t granule, uint64_t cap) {
  if (L.accWords() <= extra)
    return 0;
  uint64_t c = std::min<uint64_t>({count, (L.accWords() - extra) / regions, cap});
  return c / granule * granule;
}

/// Classifies input `in` of an op with output `out` under numpy broadcasting restricted
/// to what the streams can do: equal sizes, a trailing-dims row repeated over leading
/// dims, one value per segment of trailing elements, cycling over the leading dims (a
/// per-channel [C, 1, 1] against [N, C, H, W]), or a scalar.
bool classify(const Lowerer &L, TensorId in, TensorId out, Operand &o) {
  o.addr = L.at(in);
  int64_t ni = L.numel(in), no = L.numel(out);
  if (ni == no) {
    o.kind = Operand::Full;
    return true;
  }
  if (ni == 1) {
    o.kind = Operand::Scalar;
    return true;
  }
  const workload::Shape &os = L.shape(out);
  workload::Shape s = L.shape(in);
  if (s.size() > os.size())
    return false;
  s.insert(s.begin(), os.size() - s.size(), 1);
  size_t lead = 0, end = s.size();
  while (lead < end && s[lead] == 1)
    ++lead;
  while (end > lead && s[end - 1] == 1)
    --end;
  for (size_t i = lead; i < end; ++i)
    if (s[i] != os[i])
      return false;
  uint64_t seg = 1, period = 1;
  for (size_t i = end; i < os.size(); ++i)
    seg *= uint64_t(os[i]);
  for (size_t i = lead; i < end; ++i)
    period *= uint64_t(os[i]);
  o.kind = seg == 1 ? Operand::RowRepeat : Operand::SegRepeat;
  o.width = seg == 1 ? period : seg;
  o.period = period;
  return true;
}

//===----------------------------------------------------------------------===//
// Elementwise ops on the vector unit
//===----------------------------------------------------------------------===//

/// Streams an op with inputs `ins` (as classified) and one output of `count` elements
/// through ACC: per chunk one block loads each Full / RowRepeat input into its own
/// region (SegRepeat inputs: their values for the chunk into a small region), runs
/// `body(regions, n, scratch)` and stores region 0 (or, with `outFromScratch`, the
/// chunk-sized region at `scratch`) to `outAddr`.
Status streamElementwise(
    Lowerer &L, const Op &op, const std::vector<Operand> &ins, uint32_t outAddr, uint64_t count,
    uint32_t extra,
    const std::function<void(const std::vector<uint32_t> &, uint32_t, uint32_t)> &body,
    bool outFromScratch, uint64_t minGranule) {
  uint64_t granule = minGranule;
  for (const Operand &o : ins)
    if (o.kind == Operand::RowRepeat || o.kind == Operand::SegRepeat)
      granule = std::lcm(granule, o.width);
  // Segment loads need c / seg words; bound them by c (one region each).
  const uint64_t nRegions = ins.size() + (outFromScratch ? 1 : 0);
  uint64_t c = chunkElems(L, count, nRegions, extra, granule);
  bool rowRepeat = std::any_of(ins.begin(), ins.end(),
                               [](const Operand &o) { return o.kind == Operand::RowRepeat; });
  if (c == 0 && !rowRepeat) {
    // Segments longer than a chunk: chunks that divide every segment, one value each.
    for (uint64_t d = chunkElems(L, count, nRegions, extra); d > 0 && c == 0; --d)
      if (std::all_of(ins.begin(), ins.end(), [&](const Operand &o) {
            return o.kind != Operand::SegRepeat || o.width % d == 0;
          }))
        c = d;
  }
  if (c == 0)
    return L.doesNotFit(op, "a chunk of " + std::to_string(granule) + " elements");
  for (const Operand &o : ins)
    if (o.kind == Operand::RowRepeat && (o.width > 16383 || c / o.width > 4095))
      return L.doesNotFit(op, "a broadcast row of " + std::to_string(o.width) + " elements");
  for (uint64_t off = 0; off < count; off += c) {
    uint32_t n = uint32_t(std::min(c, count - off));
    L.em.beginBlock();
    std::vector<uint32_t> regions;
    for (size_t i = 0; i < ins.size(); ++i) {
      uint32_t r = uint32_t(i * c);
      regions.push_back(r);
      const Operand &o = ins[i];
      switch (o.kind) {
      case Operand::Full:
        L.em.ldaccRun(r, o.addr + uint32_t(off * 4), n);
        break;
      case Operand::RowRepeat:
        L.em.ldacc(r, o.addr, uint32_t(n / o.width), uint32_t(o.width), 0, uint32_t(o.width));
        break;
      case Operand::SegRepeat: // values (off / w .. ) % period, in contiguous pieces
        for (uint64_t idx = off / o.width, left = std::max<uint64_t>(n / o.width, 1), at = r;
             left > 0;) {
          uint64_t start = idx % o.period, len = std::min(left, o.period - start);
          L.em.ldaccRun(uint32_t(at), o.addr + uint32_t(start * 4), len);
          idx += len;
          left -= len;
          at += len;
        }
        break;
      case Operand::Scalar:
        L.em.ldaccRun(r, o.addr, 1);
        break;
      }
    }
    body(regions, n, uint32_t(ins.size() * c));
    L.em.stRun(outFromScratch ? uint32_t(ins.size() * c) : regions[0], outAddr + uint32_t(off * 4),
               n);
    L.em.endBlock();
  }
  return Status::success();
}

/// d = a (op) b' where b is a SegRepeat operand region of n / seg values.
void segBinary(Lowerer &L, Opcode opc, uint32_t d, uint32_t a, uint32_t b, uint32_t n,
               uint64_t seg) {
  L.em.vbin(opc, d, a, b, n, uint32_t(std::min<uint64_t>(seg, n)));
}

/// The stream of Add / Sub / Mul (Fusion.h: ElementwiseStream).
static Status describeBinary(Lowerer &L, const Op &op, ElementwiseStream &s) {
  TensorId out = op.outputs[0];
  Operand a, b;
  if (op.inputs.size() != 2 || !classify(L, op.inputs[0], out, a) ||
      !classify(L, op.inputs[1], out, b))
    return L.unsupported(op, "broadcast of " + workload::shapeStr(L.shape(op.inputs[0])) + " and " +
                                 workload::shapeStr(L.shape(op.inputs[1])) + " to " +
                                 workload::shapeStr(L.shape(out)));
  Opcode opc = op.kind == OpKind::Add   ? Opcode::VAdd
               : op.kind == OpKind::Sub ? Opcode::VSub
                                        : Opcode::VMul;
  bool negate = false;
  TensorId sa = op.inputs[0], sb = op.inputs[1];
  auto bcast = [](const Operand &o) {
    return o.kind == Operand::SegRepeat || o.kind == Operand::Scalar;
  };
  if (bcast(a)) { // only b may be segment-broadcast in the ISA
    std::swap(a, b);
    std::swap(sa, sb);
    negate = opc == Opcode::VSub; // a - b = -(b - a), exact
  }
  if (bcast(a))
    return L.unsupported(op, "both operands broadcast");
  s.ins = {a, b};
  s.src = {sa, sb};
  s.extra = 0;
  const Operand::Kind bk = b.kind;
  const uint64_t bw = b.width;
  s.body = [&L, opc, negate, bk, bw](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
    if (bk == Operand::SegRepeat)
      segBinary(L, opc, r[0], r[0], r[1], n, bw);
    else if (bk == Operand::Scalar)
      L.em.vbin(opc, r[0], r[0], r[1], n, n);
    else
      L.em.vbin(opc, r[0], r[0], r[1], n);
    if (negate)
      L.em.vscalar(Opcode::VMulS, r[0], r[0], -1.0f, n);
  };
  return Status::success();
}

/// relu(x) = max(x, +0).
static Status describeRelu(Lowerer &L, const Op &op, ElementwiseStream &s) {
  TensorId x = op.inputs[0], y = op.outputs[0];
  Operand a;
  classify(L, x, y, a);
  s.ins = {a};
  s.src = {x};
  s.extra = 1;
  s.body = [&L](const std::vector<uint32_t> &r, uint32_t n, uint32_t scratch) {
    L.em.vfill(scratch, 0.0f, 1);
    L.em.vbin(Opcode::VMax, r[0], r[0], scratch, n, n);
  };
  return Status::success();
}

static Status describeNeg(Lowerer &L, const Op &op, ElementwiseStream &s) {
  TensorId x = op.inputs[0], y = op.outputs[0];
  Operand a;
  classify(L, x, y, a);
  s.ins = {a};
  s.src = {x};
  s.extra = 0;
  s.body = [&L](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
    L.em.vscalar(Opcode::VMulS, r[0], r[0], -1.0f, n);
  };
  return Status::success();
}

/// One elementwise op lowered on its own: its stream, stored to its output.
static Status lowerStream(Lowerer &L, const Op &op) {
  ElementwiseStream s;
  TRY(describeElementwise(L, op, s));
  TensorId y = op.outputs[0];
  return streamElementwise(L, op, s.ins, L.at(y), uint64_t(L.numel(y)), s.extra, s.body);
}

Status lowerBinary(Lowerer &L, const Op &op, uint32_t) { return lowerStream(L, op); }
Status lowerRelu(Lowerer &L, const Op &op, uint32_t) { return lowerStream(L, op); }
Status lowerNeg(Lowerer &L, const Op &op, uint32_t) { return lowerStream(L, op); }

/// ActivationGrad of Relu, from the forward output y: dx = dy * [y > 0], the mask built
/// exactly as -max(-(y * 2^127 * 2^127), -1) (y > 0 is at least the smallest normal, so
/// the product overflows to +Inf; y = 0 stays 0).
static Status describeActivationGrad(Lowerer &L, const Op &op, ElementwiseStream &s) {
  if (op.attrs.of != OpKind::Relu)
    return L.unsupported(op, "no lowering for the derivative of " +
                                 std::string(workload::opName(op.attrs.of)));
  TensorId dy = op.inputs[0], y = op.inputs[1], dx = op.outputs[0];
  Operand a, b;
  classify(L, dy, dx, a);
  classify(L, y, dx, b);
  if (a.kind != Operand::Full || b.kind != Operand::Full)
    return L.unsupported(op, "broadcast operands");
  const float big = std::ldexp(1.0f, 127);
  s.ins = {a, b};
  s.src = {dy, y};
  s.extra = 1;
  s.body = [&L, big](const std::vector<uint32_t> &r, uint32_t n, uint32_t scratch) {
    L.em.vscalar(Opcode::VMulS, r[1], r[1], big, n);
    L.em.vscalar(Opcode::VMulS, r[1], r[1], -big, n);
    L.em.vfill(scratch, -1.0f, 1);
    L.em.vbin(Opcode::VMax, r[1], r[1], scratch, n, n);
    L.em.vscalar(Opcode::VMulS, r[1], r[1], -1.0f, n);
    L.em.vbin(Opcode::VMul, r[0], r[0], r[1], n);
  };
  return Status::success();
}

Status lowerActivationGrad(Lowerer &L, const Op &op, uint32_t) { return lowerStream(L, op); }

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// mean((x - t)^2): per chunk a segment sum into one ACC word kept across blocks (the
/// last word of ACC), times 1/N at the end.
Status lowerMseLoss(Lowerer &L, const Op &op, uint32_t) {
  if (op.inputs.size() != 2 || L.numel(op.inputs[0]) != L.numel(op.inputs[1]))
    return L.unsupported(op, "mse-loss needs an input and a target of the same size");
  uint64_t count = uint64_t(L.numel(op.inputs[0]));
  uint32_t total = L.accWords() - 1;
  uint64_t c = chunkElems(L, count, 2, 2);
  if (c == 0)
    return L.doesNotFit(op, "a chunk of the loss");
  for (uint64_t off = 0; off < count; off += c) {
    uint32_t n = uint32_t(std::min(c, count - off));
    uint32_t r0 = 0, r1 = uint32_t(c), part = uint32_t(2 * c);
    L.em.beginBlock();
    L.em.ldaccRun(r0, L.at(op.inputs[0]) + uint32_t(off * 4), n);
    L.em.ldaccRun(r1, L.at(op.inputs[1]) + uint32_t(off * 4), n);
    if (off == 0)
      L.em.vfill(total, 0.0f, 1);
    L.em.vbin(Opcode::VSub, r0, r0, r1, n);
    L.em.vbin(Opcode::VMul, r0, r0, r0, n);
    L.em.vsum(part, r0, n, n);
    L.em.vbin(Opcode::VAdd, total, total, part, 1);
    if (off + c >= count) {
      L.em.vscalar(Opcode::VMulS, total, total, float(1.0 / double(count)), 1);
      L.em.st(total, L.at(op.outputs[0]), 1, 1, 0, 0);
    }
    L.em.endBlock();
  }
  return Status::success();
}

/// LossGrad of MseLoss(mean): dx = (x - t) * dLoss * float(2/N). PyTorch's
/// mse_loss_backward multiplies by 2/N first; the result is the same bits whenever dLoss
/// is 1 (the seed without loss scaling) or a power of two S that keeps (x - t) * S
/// finite and normal (LossScale.h), and applying S first keeps (x - t) * 2/N from
/// underflowing before the scale lifts it.
Status lowerLossGrad(Lowerer &L, const Op &op, uint32_t) {
  if (op.attrs.of != OpKind::MseLoss || op.inputs.size() != 3)
    return L.unsupported(op, "no lowering for the gradient of " +
                                 std::string(workload::opName(op.attrs.of)));
  TensorId x = op.inputs[0], t = op.inputs[1], dl = op.inputs[2], dx = op.outputs[0];
  Operand a, b, s;
  classify(L, x, dx, a);
  classify(L, t, dx, b);
  if (!classify(L, dl, dx, s) || s.kind != Operand::Scalar)
    return L.unsupported(op, "the loss gradient must be a scalar");
  const float norm = float(2.0 / double(L.numel(x)));
  return streamElementwise(L, op, {a, b, s}, L.at(dx), uint64_t(L.numel(dx)), 0,
                           [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
                             L.em.vbin(Opcode::VSub, r[0], r[0], r[1], n);
                             L.em.vbin(Opcode::VMul, r[0], r[0], r[2], n, n);
                             L.em.vscalar(Opcode::VMulS, r[0], r[0], norm, n);
                           });
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// BiasGrad: the sum of dY [..., w] over its leading dims into [w]. Rows are summed
/// pairwise in ACC (the upper half of the rows added onto the lower half until one row
/// is left), chunk results added into an accumulator row.
/// dst[p] = sum of src[e] over the elements e with (e / seg) % period == p: per chunk of
/// whole segments a `vsum` per segment, the partial sums added into an accumulator row.
Status reduceSegments(Lowerer &L, const Op &op, uint32_t src, uint64_t count, uint64_t seg,
                      uint64_t period, uint32_t dst) {
  if (L.accWords() <= period + seg + 1 || seg > 65535)
    return L.doesNotFit(op, "a segment of " + std::to_string(seg) + " elements");
  uint64_t k = std::max<uint64_t>(1, (L.accWords() - period) / (seg + 1));
  k = std::min<uint64_t>(k, 65535 / seg);
  const uint64_t c = k * seg;
  const uint32_t acc = 0, data = uint32_t(period), parts = uint32_t(period + c);
  for (uint64_t off = 0; off < count; off += c) {
    const uint64_t n = std::min(c, count - off);
    L.em.beginBlock();
    L.em.ldaccRun(data, src + uint32_t(off * 4), n);
    if (off == 0)
      L.em.vfill(acc, 0.0f, uint32_t(period));
    L.em.vsum(parts, data, uint32_t(n), uint32_t(seg));
    for (uint64_t idx = off / seg, left = n / seg, at = parts; left > 0;) {
      uint64_t start = idx % period, len = std::min(left, period - start);
      L.em.vbin(Opcode::VAdd, uint32_t(acc + start), uint32_t(acc + start), uint32_t(at),
                uint32_t(len));
      idx += len;
      left -= len;
      at += len;
    }
    if (off + c >= count)
      L.em.stRun(acc, dst, period);
    L.em.endBlock();
  }
  return Status::success();
}

/// dst[w] = the sum over the rows of src [rows][w]: rows summed pairwise in ACC (the upper
/// half added onto the lower half until one row is left), chunk results added into an
/// accumulator row.
Status reduceRows(Lowerer &L, const Op &op, uint32_t src, uint64_t rows, uint64_t w, uint32_t dst) {
  if (L.accWords() < 2 * w)
    return L.doesNotFit(op, "two rows of " + std::to_string(w) + " elements");
  uint64_t rc = std::min<uint64_t>(rows, (L.accWords() - w) / w);
  uint32_t accRow = 0, base = uint32_t(w);
  for (uint64_t r0 = 0; r0 < rows; r0 += rc) {
    uint64_t nr = std::min(rc, rows - r0);
    L.em.beginBlock();
    L.em.ldaccRun(base, src + uint32_t(r0 * w * 4), nr * w);
    for (uint64_t live = nr; live > 1;) {
      uint64_t h = live / 2;
      L.em.vbin(Opcode::VAdd, base, base, uint32_t(base + (live - h) * w), uint32_t(h * w));
      live -= h;
    }
    if (r0 == 0)
      L.em.vfill(accRow, 0.0f, uint32_t(w));
    L.em.vbin(Opcode::VAdd, accRow, accRow, base, uint32_t(w));
    if (r0 + rc >= rows)
      L.em.stRun(accRow, dst, w);
    L.em.endBlock();
  }
  return Status::success();
}

Status lowerBiasGrad(Lowerer &L, const Op &op, uint32_t) {
  TensorId dy = op.inputs[0], db = op.outputs[0];
  Operand cls;
  if (classify(L, db, dy, cls) && cls.kind == Operand::SegRepeat) // conv bias [O, 1, 1]
    return reduceSegments(L, op, L.at(dy), uint64_t(L.numel(dy)), cls.width, cls.period, L.at(db));
  uint64_t w = uint64_t(L.numel(db)), total = uint64_t(L.numel(dy));
  if (w == 0 || total % w != 0)
    return L.unsupported(op, "bias shape " + workload::shapeStr(L.shape(db)) + " does not divide " +
                                 workload::shapeStr(L.shape(dy)));
  return reduceRows(L, op, L.at(dy), total / w, w, L.at(db));
}

//===----------------------------------------------------------------------===//
// Layout changes: transpose, slice
//===----------------------------------------------------------------------===//

/// out[i0, .., ir-1] = in[offset + sum_d i_d * stride[d]] (elements) for the output
/// shape: per output row one ldacc (contiguous when the last stride is 1, else one
/// element per transfer row with a DRAM stride), chunks of rows through ACC.
Status gatherCopy(Lowerer &L, const Op &op, uint32_t src, uint64_t offset,
                  const std::vector<uint64_t> &stride, uint32_t dst) {
  const workload::Shape &os = L.shape(op.outputs[0]);
  const uint64_t last = uint64_t(os.back()), rows = uint64_t(L.numel(op.outputs[0])) / last;
  if (last > L.accWords() || last > 16383)
    return L.doesNotFit(op, "an output row of " + std::to_string(last) + " elements");
  const uint64_t per = std::min<uint64_t>(rows, L.accWords() / last);
  std::vector<int64_t> idx(os.size(), 0);
  for (uint64_t r0 = 0; r0 < rows; r0 += per) {
    const uint64_t nr = std::min(per, rows - r0);
    L.em.beginBlock();
    for (uint64_t r = 0; r < nr; ++r) {
      uint64_t row = r0 + r, at = offset;
      for (size_t d = os.size() - 1; d-- > 0;) {
        at += (row % uint64_t(os[d])) * stride[d];
        row /= uint64_t(os[d]);
      }
      uint32_t acc = uint32_t(r * last), from = src + uint32_t(at * 4);
      if (stride.back() == 1 || last == 1)
        L.em.ldacc(acc, from, 1, uint32_t(last), 0, 0);
      else
        L.em.ldacc(acc, from, uint32_t(last), 1, uint32_t(stride.back() * 4), 1);
    }
    L.em.stRun(0, dst + uint32_t(r0 * last * 4), nr * last);
    L.em.endBlock();
  }
  return Status::success();
}

std::vector<uint64_t> rowMajorStrides(const workload::Shape &s) {
  std::vector<uint64_t> st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;)
    st[d - 1] = st[d] * uint64_t(s[d]);
  return st;
}

Status lowerTranspose(Lowerer &L, const Op &op, uint32_t) {
  const workload::Shape &is = L.shape(op.inputs[0]);
  std::vector<int64_t> perm = op.attrs.perm;
  if (perm.empty())
    for (size_t d = is.size(); d-- > 0;)
      perm.push_back(int64_t(d));
  if (perm.size() != is.size())
    return L.unsupported(op, "permutation rank differs from the input's");
  std::vector<uint64_t> in = rowMajorStrides(is), st;
  for (int64_t p : perm)
    st.push_back(in[size_t(p)]);
  return gatherCopy(L, op, L.at(op.inputs[0]), 0, st, L.at(op.outputs[0]));
}

Status lowerSlice(Lowerer &L, const Op &op, uint32_t) {
  const workload::Shape &is = L.shape(op.inputs[0]);
  if (op.attrs.starts.size() != is.size() ||
      (!op.attrs.steps.empty() && op.attrs.steps.size() != is.size()))
    return L.unsupported(op, "slice starts / steps do not match the input's rank");
  std::vector<uint64_t> in = rowMajorStrides(is), st;
  uint64_t offset = 0;
  for (size_t d = 0; d < is.size(); ++d) {
    int64_t step = op.attrs.steps.empty() ? 1 : op.attrs.steps[d];
    if (step < 1)
      return L.unsupported(op, "negative slice steps");
    offset += uint64_t(op.attrs.starts[d]) * in[d];
    st.push_back(in[d] * uint64_t(step));
  }
  return gatherCopy(L, op, L.at(op.inputs[0]), offset, st, L.at(op.outputs[0]));
}

/// Div by a constant: x * float(1 / c) (the reciprocal correctly rounded on the host;
/// 1.5 ulp instead of the 0.5 of a division). A computed divisor has no lowering (the
/// vector unit has no divide).
static Status describeDiv(Lowerer &L, const Op &op, ElementwiseStream &s) {
  TensorId a = op.inputs[0], b = op.inputs[1], y = op.outputs[0];
  const std::vector<float> *v = L.init.find(b);
  if (!v || v->size() != 1 || L.numel(a) != L.numel(y))
    return L.unsupported(op, "division by a tensor other than a scalar constant");
  const float r = float(1.0 / double((*v)[0]));
  Operand x;
  classify(L, a, y, x);
  s.ins = {x};
  s.src = {a};
  s.extra = 0;
  s.body = [&L, r](const std::vector<uint32_t> &reg, uint32_t n, uint32_t) {
    L.em.vscalar(Opcode::VMulS, reg[0], reg[0], r, n);
  };
  return Status::success();
}

Status lowerDiv(Lowerer &L, const Op &op, uint32_t) { return lowerStream(L, op); }

Status describeElementwise(Lowerer &L, const Op &op, ElementwiseStream &s) {
  if (op.outputs.size() != 1 || op.inputs.empty())
    return L.unsupported(op, "an elementwise op has one output");
  switch (op.kind) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
    return describeBinary(L, op, s);
  case OpKind::Relu:
    return describeRelu(L, op, s);
  case OpKind::Neg:
    return describeNeg(L, op, s);
  case OpKind::Div:
    return describeDiv(L, op, s);
  case OpKind::ActivationGrad:
    return describeActivationGrad(L, op, s);
  default:
    return L.unsupported(op, "not a per-element stream");
  }
}

//===----------------------------------------------------------------------===//
// Softmax, LayerNorm (last axes)
//===----------------------------------------------------------------------===//

/// Softmax over the last dim: shift by the row maximum (max x = amax(x + amax(x)) -
/// amax(x), from the vector unit's max-|x| reduction, exact up to one rounding of the
/// shift, which cancels in the quotient), exp, segment sum, reciprocal as rsqrt(s)^2,
/// scale.
Status lowerSoftmax(Lowerer &L, const Op &op, uint32_t) {
  const workload::Shape &xs = L.shape(op.inputs[0]);
  if ((op.attrs.axis != -1 && op.attrs.axis != int64_t(xs.size()) - 1) || op.attrs.causal ||
      xs.back() < 2)
    return L.unsupported(op, "softmax over a dim other than the last, causal, or of one element");
  const uint64_t d = uint64_t(xs.back()), count = uint64_t(L.numel(op.inputs[0]));
  if (d > 65535)
    return L.doesNotFit(op, "a row of " + std::to_string(d) + " elements");
  Operand x;
  x.addr = L.at(op.inputs[0]);
  const float scale = float(op.attrs.scale);
  const uint32_t seg = uint32_t(d);
  // Regions: x, a scratch copy, the per-row statistics.
  return streamElementwise(
      L, op, {x, x, x}, L.at(op.outputs[0]), count, 0,
      [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
        const uint32_t rows = n / seg, m1 = r[2], m2 = r[2] + rows;
        if (scale != 1.0f)
          L.em.vscalar(Opcode::VMulS, r[0], r[0], scale, n);
        L.em.vamax(m1, r[0], n, seg);
        L.em.vbin(Opcode::VAdd, r[1], r[0], m1, n, seg);
        L.em.vamax(m2, r[1], n, seg);
        L.em.vbin(Opcode::VSub, m2, m2, m1, rows);
        L.em.vbin(Opcode::VSub, r[0], r[0], m2, n, seg);
        L.em.vunary(Opcode::VExp, r[0], r[0], n);
        L.em.vsum(m1, r[0], n, seg);
        L.em.vunary(Opcode::VRsqrt, m1, m1, rows);
        L.em.vbin(Opcode::VMul, m1, m1, m1, rows);
        L.em.vbin(Opcode::VMul, r[0], r[0], m1, n, seg);
      },
      false, d);
}

/// LayerNorm over the trailing dims from `axis`: mean and biased variance by segment
/// sums times 1/D, rstd = rsqrt(var + eps), y = (x - mean) * rstd * scale + bias.
Status lowerLayerNorm(Lowerer &L, const Op &op, uint32_t) {
  const workload::Shape &xs = L.shape(op.inputs[0]);
  int64_t axis = op.attrs.axis < 0 ? int64_t(xs.size()) - 1 : op.attrs.axis;
  uint64_t d = 1;
  for (size_t i = size_t(axis); i < xs.size(); ++i)
    d *= uint64_t(xs[i]);
  if (d > 16383 || op.inputs.size() < 2)
    return L.unsupported(op, "layer norm over more than 16383 elements or without a scale");
  const uint64_t count = uint64_t(L.numel(op.inputs[0]));
  Operand x, sc, bi;
  x.addr = L.at(op.inputs[0]);
  for (Operand *o : {&sc, &bi}) {
    o->kind = Operand::RowRepeat;
    o->width = d;
    o->period = d;
  }
  sc.addr = L.at(op.inputs[1]);
  const bool bias = op.inputs.size() > 2;
  bi.addr = bias ? L.at(op.inputs[2]) : 0;
  std::vector<Operand> ins = {x, x, x, sc};
  if (bias)
    ins.push_back(bi);
  const uint32_t seg = uint32_t(d);
  const float inv = float(1.0 / double(d)), eps = float(op.attrs.eps);
  return streamElementwise(
      L, op, ins, L.at(op.outputs[0]), count, 0,
      [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
        const uint32_t rows = n / seg, mean = r[2], rstd = r[2] + rows;
        L.em.vsum(mean, r[0], n, seg);
        L.em.vscalar(Opcode::VMulS, mean, mean, inv, rows);
        L.em.vbin(Opcode::VSub, r[0], r[0], mean, n, seg);
        L.em.vbin(Opcode::VMul, r[1], r[0], r[0], n);
        L.em.vsum(rstd, r[1], n, seg);
        L.em.vscalar(Opcode::VMulS, rstd, rstd, inv, rows);
        L.em.vscalar(Opcode::VAddS, rstd, rstd, eps, rows);
        L.em.vunary(Opcode::VRsqrt, rstd, rstd, rows);
        L.em.vbin(Opcode::VMul, r[0], r[0], rstd, n, seg);
        L.em.vbin(Opcode::VMul, r[0], r[0], r[3], n);
        if (bias)
          L.em.vbin(Opcode::VAdd, r[0], r[0], r[4], n);
      },
      false, d);
}

/// SoftmaxGrad(dy, y): dx = y * (dy - sum(dy * y)) per row (times the forward's scale).
Status lowerSoftmaxGrad(Lowerer &L, const Op &op, uint32_t) {
  const workload::Shape &ys = L.shape(op.inputs[1]);
  if ((op.attrs.axis != -1 && op.attrs.axis != int64_t(ys.size()) - 1) || ys.back() < 2 ||
      op.attrs.causal)
    return L.unsupported(op, "softmax over a dim other than the last");
  const uint64_t d = uint64_t(ys.back());
  Operand dy, y;
  dy.addr = L.at(op.inputs[0]);
  y.addr = L.at(op.inputs[1]);
  const uint32_t seg = uint32_t(d);
  const float scale = float(op.attrs.scale);
  return streamElementwise(
      L, op, {dy, y, y}, L.at(op.outputs[0]), uint64_t(L.numel(op.outputs[0])), 0,
      [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
        L.em.vbin(Opcode::VMul, r[2], r[0], r[1], n);
        L.em.vsum(r[2], r[2], n, seg);
        L.em.vbin(Opcode::VSub, r[0], r[0], r[2], n, seg);
        L.em.vbin(Opcode::VMul, r[0], r[0], r[1], n);
        if (scale != 1.0f)
          L.em.vscalar(Opcode::VMulS, r[0], r[0], scale, n);
      },
      false, d);
}

/// Pad as the gradient of Slice (attrs: the slice's starts / steps): zeros, then the
/// input's rows stored at the sliced positions.
Status lowerSliceGrad(Lowerer &L, const Op &op, uint32_t) {
  const workload::Shape &os = L.shape(op.outputs[0]), &is = L.shape(op.inputs[0]);
  if (op.attrs.starts.size() != os.size() || is.size() != os.size() ||
      (!op.attrs.steps.empty() && op.attrs.steps.size() != os.size()))
    return L.unsupported(op, "only the gradient of a slice (starts per dim) is lowered");
  const uint64_t total = uint64_t(L.numel(op.outputs[0]));
  const uint64_t c = std::min<uint64_t>({total, L.accWords(), 65535});
  for (uint64_t off = 0; off < total; off += c) {
    uint64_t n = std::min(c, total - off);
    L.em.beginBlock();
    L.em.vfill(0, 0.0f, uint32_t(n));
    L.em.stRun(0, L.at(op.outputs[0]) + uint32_t(off * 4), n);
    L.em.endBlock();
  }
  std::vector<uint64_t> st = rowMajorStrides(os), step(os.size(), 1);
  uint64_t offset = 0;
  for (size_t d = 0; d < os.size(); ++d) {
    step[d] = op.attrs.steps.empty() ? 1 : uint64_t(op.attrs.steps[d]);
    offset += uint64_t(op.attrs.starts[d]) * st[d];
  }
  const uint64_t last = uint64_t(is.back()), rows = uint64_t(L.numel(op.inputs[0])) / last;
  if (last > L.accWords() || last > 16383)
    return L.doesNotFit(op, "a row of " + std::to_string(last) + " elements");
  const uint64_t per = std::min<uint64_t>(rows, L.accWords() / last);
  for (uint64_t r0 = 0; r0 < rows; r0 += per) {
    const uint64_t nr = std::min(per, rows - r0);
    L.em.beginBlock();
    L.em.ldaccRun(0, L.at(op.inputs[0]) + uint32_t(r0 * last * 4), nr * last);
    for (uint64_t r = 0; r < nr; ++r) {
      uint64_t row = r0 + r, at = offset;
      for (size_t d = is.size() - 1; d-- > 0;) {
        at += (row % uint64_t(is[d])) * step[d] * st[d];
        row /= uint64_t(is[d]);
      }
      uint32_t to = L.at(op.outputs[0]) + uint32_t(at * 4), acc = uint32_t(r * last);
      if (step.back() == 1 || last == 1)
        L.em.st(acc, to, 1, uint32_t(last), 0, 0);
      else
        L.em.st(acc, to, uint32_t(last), 1, uint32_t(step.back() * 4), 1);
    }
    L.em.endBlock();
  }
  return Status::success();
}

std::vector<TempRequest> layerNormGradTemps(const Lowerer &L, const Op &op) {
  return {{op.name + ".dy-xhat", uint64_t(L.numel(op.inputs[1])) * 4}};
}

/// LayerNormGrad(dy, x, scale): per row xhat = (x - mean) * rstd, g = dy * scale,
/// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)); dscale = sum over rows of
/// dy * xhat, dbias = sum over rows of dy (PyTorch's layer_norm_backward).
Status lowerLayerNormGrad(Lowerer &L, const Op &op, uint32_t idx) {
  const workload::Shape &xs = L.shape(op.inputs[1]);
  int64_t axis = op.attrs.axis < 0 ? int64_t(xs.size()) - 1 : op.attrs.axis;
  uint64_t d = 1;
  for (size_t i = size_t(axis); i < xs.size(); ++i)
    d *= uint64_t(xs[i]);
  if (op.inputs.size() != 3 || (op.outputs.size() != 3 && op.outputs.size() != 2) || d < 4 ||
      d > 16383)
    return L.unsupported(op, "expected (dy, x, scale), the gradients of (x,) scale, bias and "
                             "4..16383 normalized elements");
  const uint64_t count = uint64_t(L.numel(op.inputs[1])), rows = count / d;
  const uint32_t seg = uint32_t(d);
  const float inv = float(1.0 / double(d)), eps = float(op.attrs.eps);
  Operand dy, x, sc;
  dy.addr = L.at(op.inputs[0]);
  x.addr = L.at(op.inputs[1]);
  sc.kind = Operand::RowRepeat;
  sc.width = sc.period = d;
  sc.addr = L.at(op.inputs[2]);
  // xhat into region `xr` (from x there), per-row mean / rstd in `stats`, `tmp` scratch.
  auto xhat = [&](uint32_t xr, uint32_t tmp, uint32_t stats, uint32_t n) {
    const uint32_t nr = n / seg, mean = stats, rstd = stats + nr;
    L.em.vsum(mean, xr, n, seg);
    L.em.vscalar(Opcode::VMulS, mean, mean, inv, nr);
    L.em.vbin(Opcode::VSub, xr, xr, mean, n, seg);
    L.em.vbin(Opcode::VMul, tmp, xr, xr, n);
    L.em.vsum(rstd, tmp, n, seg);
    L.em.vscalar(Opcode::VMulS, rstd, rstd, inv, nr);
    L.em.vscalar(Opcode::VAddS, rstd, rstd, eps, nr);
    L.em.vunary(Opcode::VRsqrt, rstd, rstd, nr);
    L.em.vbin(Opcode::VMul, xr, xr, rstd, n, seg);
    return rstd;
  };
  size_t out = 0;
  if (op.outputs.size() == 3) {
    TRY(streamElementwise(
        L, op, {dy, x, sc, x, x}, L.at(op.outputs[out++]), count, 0,
        [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
          const uint32_t nr = n / seg, stats = r[4], mg = stats + 2 * nr, mgx = stats + 3 * nr;
          uint32_t rstd = xhat(r[1], r[3], stats, n);
          L.em.vbin(Opcode::VMul, r[0], r[0], r[2], n); // g = dy * scale
          L.em.vsum(mg, r[0], n, seg);
          L.em.vscalar(Opcode::VMulS, mg, mg, inv, nr);
          L.em.vbin(Opcode::VMul, r[3], r[0], r[1], n);
          L.em.vsum(mgx, r[3], n, seg);
          L.em.vscalar(Opcode::VMulS, mgx, mgx, inv, nr);
          L.em.vbin(Opcode::VMul, r[3], r[1], mgx, n, seg);
          L.em.vbin(Opcode::VSub, r[0], r[0], mg, n, seg);
          L.em.vbin(Opcode::VSub, r[0], r[0], r[3], n);
          L.em.vbin(Opcode::VMul, r[0], r[0], rstd, n, seg);
        },
        false, d));
  }
  const uint32_t prod = L.tempAddr[idx][0];
  TRY(streamElementwise(
      L, op, {dy, x, x, x}, prod, count, 0,
      [&](const std::vector<uint32_t> &r, uint32_t n, uint32_t) {
        xhat(r[1], r[2], r[3], n);
        L.em.vbin(Opcode::VMul, r[0], r[0], r[1], n);
      },
      false, d));
  TRY(reduceRows(L, op, prod, rows, d, L.at(op.outputs[out++])));
  return reduceRows(L, op, L.at(op.inputs[0]), rows, d, L.at(op.outputs[out]));
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

/// AdamWUpdate(param, grad, master, m, v): vadamw on chunks of the four streams (m and v
/// adjacent in ACC as the instruction needs), written back in place. The hyper-parameter
/// registers f0..f8 are set once, before the first update; f7 / f8 (bias corrections)
/// are the runtime's patch points for step t.
Status lowerAdamW(Lowerer &L, const Op &op, uint32_t) {
  if (op.inputs.size() != 5)
    return L.unsupported(op, "expected inputs (param, grad, master, m, v)");
  TensorId p = op.inputs[0], g = op.inputs[1], m = op.inputs[3], v = op.inputs[4];
  uint64_t count = uint64_t(L.numel(p));
  if (!L.adamwSetUp) {
    L.adamwSetUp = true;
    const AdamWParams &h = L.opts.adamw;
    auto fli = [&](unsigned f, float value) {
      accel::Instruction i;
      i.op = Opcode::Fli;
      i.rd = f;
      i.imm = std::bit_cast<uint32_t>(value);
      return L.em.frontEnd(i);
    };
    fli(0, float(h.lr));
    fli(1, float(h.beta1));
    fli(2, float(1.0 - h.beta1));
    fli(3, float(h.beta2));
    fli(4, float(1.0 - h.beta2));
    fli(5, float(h.eps));
    fli(6, float(1.0 - h.lr * h.weightDecay));
    L.patchBeta1.push_back(fli(7, float(1.0 / (1.0 - h.beta1))));
    L.patchBeta2.push_back(fli(8, float(1.0 / (1.0 - h.beta2))));
  }
  uint64_t c = chunkElems(L, count, 4, 0);
  if (c == 0)
    return L.doesNotFit(op, "a chunk of the update");
  for (uint64_t off = 0; off < count; off += c) {
    uint32_t n = uint32_t(std::min(c, count - off)), o4 = uint32_t(off * 4);
    uint32_t rp = 0, rg = n, rm = 2 * n, rv = 3 * n;
    L.em.beginBlock();
    L.em.ldaccRun(rp, L.at(p) + o4, n);
    L.em.ldaccRun(rg, L.at(g) + o4, n);
    L.em.ldaccRun(rm, L.at(m) + o4, n);
    L.em.ldaccRun(rv, L.at(v) + o4, n);
    L.em.vadamw(rp, rg, rm, n, 0);
    L.em.stRun(rp, L.at(p) + o4, n);
    L.em.stRun(rm, L.at(m) + o4, n);
    L.em.stRun(rv, L.at(v) + o4, n);
    L.em.endBlock();
  }
  return Status::success();
}

} // namespace tessera::compiler::lower
