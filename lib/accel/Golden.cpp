//===- Golden.cpp - functional + timing golden model of one Tessera tile ----===//
//
// A cycle-driven simulation that jumps over idle cycles. Each cycle, in this order:
//  1. completions: every queue retires its started instructions in program order once
//     their latency has elapsed, pushing their tokens (a full FIFO stalls the retirement);
//  2. starts: the head of each queue starts when it was dispatched before this cycle, its
//     predecessor allows it (docs/isa.md 7) and every FIFO it pops holds a token; its whole
//     functional effect is applied at its start, atomically;
//  3. the front end fetches one instruction: scalar ones execute, queue ones are dispatched
//     with the register values of this moment.
// Because a consumer can only start after the token's producer completed, effects applied at
// start are ordered exactly as the token chains order them. Happens-before between queues is
// tracked with vector clocks carried by the tokens; two accesses to overlapping bytes from
// different queues, one a write, without happens-before are `unsynchronized-access`.
//
//===----------------------------------------------------------------------===//
#include "accel/Golden.h"

#include "accel/Assembler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <deque>
#include <optional>
#include <limits>

namespace tessera::accel {

using numerics::Format;

uint32_t readPacked(std::span<const uint8_t> mem, uint64_t base, uint64_t e, unsigned bits) {
  if (bits == 8)
    return mem[base + e];
  uint64_t bit = base * 8 + e * bits;
  uint64_t first = bit / 8, last = (bit + bits - 1) / 8;
  uint64_t v = 0;
  for (uint64_t b = last + 1; b-- > first;)
    v = (v << 8) | mem[b];
  v >>= bit % 8;
  return uint32_t(v & ((uint64_t(1) << bits) - 1));
}

void writePacked(std::span<uint8_t> mem, uint64_t base, uint64_t e, unsigned bits,
                 uint32_t value) {
  if (bits == 8) {
    mem[base + e] = uint8_t(value);
    return;
  }
  uint64_t bit = base * 8 + e * bits;
  for (unsigned done = 0; done < bits;) {
    uint64_t byte = (bit + done) / 8;
    unsigned off = unsigned((bit + done) % 8);
    unsigned take = std::min(bits - done, 8 - off);
    uint8_t mask = uint8_t(((1u << take) - 1) << off);
    mem[byte] = uint8_t((mem[byte] & ~mask) | (((value >> done) << off) & mask));
    done += take;
  }
}

namespace {

constexpr uint32_t kNan = 0x7FC00000u;
constexpr unsigned kLoad = 0, kCompute = 1, kStore = 2; // queue slots (Queue - 1)
using Clock = std::array<uint64_t, 3>;

uint32_t canon(uint32_t x) {
  uint32_t e = x & 0x7F800000u, m = x & 0x007FFFFFu;
  if (e == 0x7F800000u && m)
    return kNan;
  if (e == 0)
    return x & 0x80000000u; // subnormal -> zero of its sign
  return x;
}
bool isSpecial(uint32_t x) { return (x & 0x7F800000u) == 0x7F800000u; }

enum Space : uint8_t { Spad, Scale, Meta, Acc, Dram, kSpaces };
const char *const kSpaceName[kSpaces] = {"SPAD", "SCALE", "META", "ACC", "DRAM"};

struct Interval {
  uint64_t lo, hi; // [lo, hi), bytes (ACC: words)
};
/// Sorted, merged intervals.
using Ranges = std::vector<Interval>;
void normalize(Ranges &r) {
  std::sort(r.begin(), r.end(), [](const Interval &a, const Interval &b) { return a.lo < b.lo; });
  Ranges out;
  for (const Interval &i : r) {
    if (i.hi <= i.lo)
      continue;
    if (!out.empty() && i.lo <= out.back().hi)
      out.back().hi = std::max(out.back().hi, i.hi);
    else
      out.push_back(i);
  }
  r = std::move(out);
}
/// First address in both, or nullopt.
std::optional<uint64_t> overlap(const Ranges &a, const Ranges &b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    uint64_t lo = std::max(a[i].lo, b[j].lo), hi = std::min(a[i].hi, b[j].hi);
    if (lo < hi)
      return lo;
    (a[i].hi < b[j].hi) ? ++i : ++j;
  }
  return std::nullopt;
}

struct Access {
  Space space;
  bool write;
  Ranges ranges;
};

/// One dispatched queue instruction.
struct Dyn {
  uint32_t index = 0;
  const Instruction *ins = nullptr;
  std::array<uint32_t, 16> R{}, F{};
  uint64_t dispatch = 0, start = 0, due = 0, seq = 0, skipped = 0;
  bool isGemm = false;
  Ranges cRegion; // GEMM: the ACC words it writes
};

struct QueueState {
  std::deque<Dyn> waiting, inflight;
  uint64_t started = 0, completed = 0;
  Clock vc{};
  bool havePrev = false;
  bool prevGemm = false;
  uint64_t prevStart = 0, prevIssue = 0;
  uint64_t busyUntil = 0;
};

struct Record {
  unsigned queue;
  uint64_t seq;
  uint32_t index;
  bool write;
  Ranges ranges;
};

class Machine {
public:
  Machine(const TileConfig &cfg, std::span<const Instruction> prog, std::vector<uint8_t> &dram,
          const GoldenOptions &opts, std::span<const SourceLoc> locs)
      : cfg_(cfg), prog_(prog), dram_(dram), opts_(opts), locs_(locs) {
    res_.spad.assign(cfg.spadBytes, 0);
    res_.scale.assign(cfg.scaleBytes, 0);
    res_.meta.assign(cfg.metaBytes, 0);
    res_.acc.assign(cfg.accWords(), 0);
  }

  Expected<GoldenResult> run();

private:
  // Diagnostics.
  SourceLoc locOf(uint32_t index) const {
    return index < locs_.size() ? locs_[index] : SourceLoc{"", 0, 0};
  }
  Diagnostic fault(const std::string &id, uint32_t index, const std::string &msg) const {
    std::string text = index < prog_.size() ? disassemble(prog_[index]) : "";
    return Diagnostic::error(id, "instruction " + std::to_string(index) + " `" + text +
                                     "`: " + msg,
                             locOf(index));
  }
  static std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
    return buf;
  }
  uint64_t spaceSize(Space s) const {
    switch (s) {
    case Spad: return res_.spad.size();
    case Scale: return res_.scale.size();
    case Meta: return res_.meta.size();
    case Acc: return res_.acc.size();
    case Dram: return dram_.size();
    default: return 0;
    }
  }

  /// Adds `n` rows of `len` units at `base + r*stride` (wrapping mod 2^32 for DRAM
  /// addresses and local addresses alike) to `acc`, checking them against the space.
  Status addRows(const Dyn &d, Access &a, uint64_t base, uint64_t rows, uint64_t stride,
                 uint64_t len) {
    uint64_t size = spaceSize(a.space);
    for (uint64_t r = 0; r < rows; ++r) {
      uint64_t lo = uint32_t(base + r * stride);
      if (lo + len > size)
        return fault("address-out-of-range", d.index,
                     std::string(kSpaceName[a.space]) + " " + hex(lo) + ".." + hex(lo + len) +
                         " is outside the " + std::to_string(size) +
                         (a.space == Acc ? "-word " : "-byte ") + kSpaceName[a.space]);
      a.ranges.push_back({lo, lo + len});
    }
    return Status::success();
  }
  /// Rows of packed elements: bit ranges rounded out to bytes.
  Status addPackedRows(const Dyn &d, Access &a, uint64_t baseByte, uint64_t rows,
                       uint64_t strideElems, uint64_t lenElems, unsigned bits) {
    uint64_t size = spaceSize(a.space);
    for (uint64_t r = 0; r < rows; ++r) {
      uint64_t bitLo = baseByte * 8 + r * strideElems * bits;
      uint64_t lo = bitLo / 8, hi = (bitLo + lenElems * bits + 7) / 8;
      if (hi > size)
        return fault("address-out-of-range", d.index,
                     std::string(kSpaceName[a.space]) + " " + hex(lo) + ".." + hex(hi) +
                         " is outside the " + std::to_string(size) + "-byte " +
                         kSpaceName[a.space]);
      a.ranges.push_back({lo, hi});
    }
    return Status::success();
  }

  Status checkRaces(const Dyn &d, unsigned q, std::vector<Access> &accesses);
  Status execute(Dyn &d, unsigned q, uint64_t &latency);
  Status execLoad(Dyn &d, uint64_t &latency);
  Status execGemm(Dyn &d, uint64_t &latency);
  Status execVector(Dyn &d, uint64_t &latency);
  Status execStore(Dyn &d, uint64_t &latency);

  bool startAllowed(const QueueState &qs, const Dyn &head, uint64_t t, uint64_t &when) const;

  const TileConfig &cfg_;
  std::span<const Instruction> prog_;
  std::vector<uint8_t> &dram_;
  const GoldenOptions &opts_;
  std::span<const SourceLoc> locs_;
  GoldenResult res_;
  std::array<QueueState, 3> queues_;
  std::array<std::deque<Clock>, 4> fifos_; // L->C, C->L, C->S, S->C
  std::array<std::vector<Record>, kSpaces> records_;
  std::vector<Access> pending_; // accesses of the instruction being executed
};

// FIFO indices and which FIFO a queue's token bit uses (-1: not allowed).
enum Fifo { LtoC = 0, CtoL = 1, CtoS = 2, StoC = 3 };
int popFifo(unsigned q, uint8_t bit) {
  if (q == kLoad)
    return bit == dep::PopNext ? CtoL : -1;
  if (q == kCompute)
    return bit == dep::PopPrev ? LtoC : bit == dep::PopNext ? StoC : -1;
  return bit == dep::PopPrev ? CtoS : -1;
}
int pushFifo(unsigned q, uint8_t bit) {
  if (q == kLoad)
    return bit == dep::PushNext ? LtoC : -1;
  if (q == kCompute)
    return bit == dep::PushPrev ? CtoL : bit == dep::PushNext ? CtoS : -1;
  return bit == dep::PushPrev ? StoC : -1;
}
const uint8_t kPops[] = {dep::PopPrev, dep::PopNext};
const uint8_t kPushes[] = {dep::PushPrev, dep::PushNext};

Status Machine::checkRaces(const Dyn &d, unsigned q, std::vector<Access> &accesses) {
  const Clock &vc = queues_[q].vc;
  for (Access &a : accesses) {
    normalize(a.ranges);
    for (const Record &r : records_[a.space]) {
      if (r.queue == q || vc[r.queue] > r.seq || !(r.write || a.write))
        continue;
      if (auto at = overlap(r.ranges, a.ranges))
        return fault("unsynchronized-access", d.index,
                     std::string(a.write ? "writes " : "reads ") + kSpaceName[a.space] + " " +
                         hex(*at) + ", which instruction " + std::to_string(r.index) + " `" +
                         disassemble(prog_[r.index]) + "` in the " +
                         std::string(queueName(Queue(r.queue + 1))) + " queue " +
                         (r.write ? "writes" : "reads") +
                         ", with no dependence-token chain between them");
    }
  }
  if (opts_.watchMemory != GoldenOptions::Memory::None) {
    unsigned want = unsigned(opts_.watchMemory) - 1; // same order as Space
    for (const Access &a : accesses)
      if (a.write && a.space == want)
        for (const Interval &iv : a.ranges)
          if (iv.lo <= opts_.watchAddress && opts_.watchAddress < iv.hi) {
            res_.watchWriter = d.index;
            ++res_.watchWrites;
            break;
          }
  }
  for (Access &a : accesses) {
    auto &recs = records_[a.space];
    // Drop records every other queue is already ordered after.
    std::erase_if(recs, [&](const Record &r) {
      for (unsigned p = 0; p < 3; ++p)
        if (p != r.queue && queues_[p].vc[r.queue] <= r.seq)
          return false;
      return true;
    });
    if (!a.ranges.empty())
      recs.push_back({q, d.seq, d.index, a.write, std::move(a.ranges)});
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Loads
//===----------------------------------------------------------------------===//

uint64_t dmaCycles(const TileConfig &cfg, uint64_t rows, uint64_t rowBytes) {
  uint64_t bpc = std::max(1u, cfg.dmaBytesPerCycle);
  return cfg.dmaLatency + rows * ((rowBytes + bpc - 1) / bpc);
}

Status Machine::execLoad(Dyn &d, uint64_t &latency) {
  const Instruction &in = *d.ins;
  uint32_t local = d.R[in.rl] + in.limm, g = d.R[in.rg] + in.gimm;
  Access src{Dram, false, {}}, dst{Spad, true, {}};
  if (in.op == Opcode::LdScale || in.op == Opcode::LdMeta) {
    dst.space = in.op == Opcode::LdScale ? Scale : Meta;
    TRY(addRows(d, src, g, in.rows, in.gstride, in.cols));
    TRY(addRows(d, dst, local, in.rows, in.lstride, in.cols));
    pending_ = {src, dst};
    TRY(checkRaces(d, kLoad, pending_));
    std::vector<uint8_t> &mem = dst.space == Scale ? res_.scale : res_.meta;
    for (uint64_t r = 0; r < in.rows; ++r)
      for (uint64_t e = 0; e < in.cols; ++e)
        mem[uint32_t(local + r * in.lstride) + e] = dram_[uint32_t(g + r * in.gstride) + e];
    latency = dmaCycles(cfg_, in.rows, in.cols);
    return Status::success();
  }
  const ElemFormatInfo &S = elemFormatInfo(ElemFormat(in.fmtA));
  uint64_t srcBytes = (uint64_t(in.cols) * S.bits + 7) / 8;
  TRY(addRows(d, src, g, in.rows, in.gstride, srcBytes));
  if (in.op == Opcode::LdAcc) {
    dst.space = Acc;
    TRY(addRows(d, dst, local, in.rows, in.lstride, in.cols));
    pending_ = {src, dst};
    TRY(checkRaces(d, kLoad, pending_));
    for (uint64_t r = 0; r < in.rows; ++r) {
      uint32_t row = uint32_t(g + r * in.gstride), lrow = uint32_t(local + r * in.lstride);
      for (uint64_t e = 0; e < in.cols; ++e)
        res_.acc[lrow + e] =
            canon(numerics::convertToFp32(S.element, readPacked(dram_, row, e, S.bits)));
    }
  } else {
    const ElemFormatInfo &T = elemFormatInfo(ElemFormat(in.fmtB));
    uint64_t dstBytes = (uint64_t(in.cols) * T.bits + 7) / 8;
    TRY(addRows(d, dst, local, in.rows, in.lstride, dstBytes));
    pending_ = {src, dst};
    TRY(checkRaces(d, kLoad, pending_));
    bool same = in.fmtA == in.fmtB;
    for (uint64_t r = 0; r < in.rows; ++r) {
      uint32_t row = uint32_t(g + r * in.gstride), lrow = uint32_t(local + r * in.lstride);
      for (uint64_t e = 0; e < in.cols; ++e) {
        uint32_t x = readPacked(dram_, row, e, S.bits);
        uint32_t y = same ? x
                          : numerics::convertFromFp32(numerics::convertToFp32(S.element, x),
                                                      T.element, numerics::Rounding::Nearest,
                                                      numerics::Overflow::Ieee);
        writePacked(res_.spad, lrow, e, T.bits, y);
      }
    }
  }
  latency = dmaCycles(cfg_, in.rows, srcBytes);
  return Status::success();
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

enum ValClass : uint8_t { VZero, VFinite, VSpecial };
ValClass classify(Format f, uint32_t code) {
  uint32_t b = numerics::convertToFp32(f, code);
  if ((b & 0x7FFFFFFFu) == 0)
    return VZero;
  return isSpecial(b) ? VSpecial : VFinite;
}

Status Machine::execGemm(Dyn &d, uint64_t &latency) {
  const Instruction &g = *d.ins;
  const bool sparse = g.op == Opcode::GemmSp;
  const ElemFormatInfo &fa = elemFormatInfo(ElemFormat(g.fmtA));
  const ElemFormatInfo &fb = elemFormatInfo(ElemFormat(g.fmtB));
  const NmPattern pat = sparse ? nmPatternForCode(g.pattern) : NmPattern{1, 1};
  const uint64_t M = g.m, N = g.n, K = g.k;
  const uint64_t Kc = K * pat.n / pat.m; // compressed A values per row
  const bool ta = g.flags & flag::TransA, tb = g.flags & flag::TransB;
  const uint32_t aBase = d.R[g.ra], bBase = d.R[g.rb], cBase = d.R[g.rc];
  const bool accumulate = g.flags & flag::Accumulate;

  // Footprints (and range checks).
  Access aAcc{Spad, false, {}}, bAcc{Spad, false, {}}, cAcc{Acc, true, {}};
  if (ta)
    TRY(addPackedRows(d, aAcc, aBase, Kc, g.lda, M, fa.bits));
  else
    TRY(addPackedRows(d, aAcc, aBase, M, g.lda, Kc, fa.bits));
  if (tb)
    TRY(addPackedRows(d, bAcc, bBase, K, g.ldb, N, fb.bits));
  else
    TRY(addPackedRows(d, bAcc, bBase, N, g.ldb, K, fb.bits));
  TRY(addRows(d, cAcc, cBase, M, g.ldc, N));
  d.cRegion = cAcc.ranges;
  normalize(d.cRegion);
  const uint64_t blocks = (K + numerics::kMxBlock - 1) / numerics::kMxBlock;
  const uint64_t saStride = sparse ? uint64_t(g.lda) * pat.m / (32 * pat.n) : g.lda / 32;
  const uint64_t sbStride = g.ldb / 32;
  const uint32_t saBase = d.R[g.rsa], sbBase = d.R[g.rsb], metaBase = d.R[g.rmeta];
  const unsigned idxBits = sparse ? nmIndexBits(pat.m) : 0;
  pending_.clear();
  pending_.push_back(std::move(aAcc));
  pending_.push_back(std::move(bAcc));
  if (fa.mx) {
    Access s{Scale, false, {}};
    TRY(addRows(d, s, saBase, M, saStride, blocks));
    pending_.push_back(std::move(s));
  }
  if (fb.mx) {
    Access s{Scale, false, {}};
    TRY(addRows(d, s, sbBase, N, sbStride, blocks));
    pending_.push_back(std::move(s));
  }
  if (sparse) {
    Access s{Meta, false, {}};
    TRY(addPackedRows(d, s, metaBase, M, g.lda, Kc, idxBits));
    pending_.push_back(std::move(s));
  }
  if (accumulate) {
    Access r = cAcc;
    r.write = false;
    pending_.push_back(std::move(r));
  }
  pending_.push_back(std::move(cAcc));
  TRY(checkRaces(d, kCompute, pending_));

  // Operands as codes: A[i][c] (compressed for gemmsp), B[j][k], dense positions of A.
  std::vector<uint32_t> A(M * Kc), B(N * K), pos;
  for (uint64_t i = 0; i < M; ++i)
    for (uint64_t c = 0; c < Kc; ++c)
      A[i * Kc + c] = readPacked(res_.spad, aBase, ta ? c * g.lda + i : i * g.lda + c, fa.bits);
  for (uint64_t j = 0; j < N; ++j)
    for (uint64_t k = 0; k < K; ++k)
      B[j * K + k] = readPacked(res_.spad, bBase, tb ? k * g.ldb + j : j * g.ldb + k, fb.bits);
  if (sparse) {
    pos.resize(M * Kc);
    for (uint64_t i = 0; i < M; ++i)
      for (uint64_t c = 0; c < Kc; ++c)
        pos[i * Kc + c] =
            uint32_t((c / pat.n) * pat.m + readPacked(res_.meta, metaBase, i * g.lda + c, idxBits));
  }
  auto scaleA = [&](uint64_t i, uint64_t kb) -> uint32_t {
    return fa.mx ? res_.scale[uint32_t(saBase + i * saStride) + kb] : 127;
  };
  auto scaleB = [&](uint64_t j, uint64_t kb) -> uint32_t {
    return fb.mx ? res_.scale[uint32_t(sbBase + j * sbStride) + kb] : 127;
  };

  // Zero skipping: which steps may be skipped (docs/isa.md 5.3).
  const uint64_t stepK = gemmStepK(g, cfg_);
  const uint64_t steps = (K + stepK - 1) / stepK;
  std::vector<uint8_t> skip(steps, 0);
  const auto mode = ZeroSkip(g.zskip);
  uint64_t skipped = 0;
  if (mode != ZeroSkip::Off) {
    std::vector<ValClass> ac(M * Kc), bc(N * K);
    for (size_t x = 0; x < ac.size(); ++x)
      ac[x] = classify(fa.element, A[x]);
    for (size_t x = 0; x < bc.size(); ++x)
      bc[x] = classify(fb.element, B[x]);
    std::vector<uint8_t> bRead(K);
    for (uint64_t s = 0; s < steps; ++s) {
      uint64_t k0 = s * stepK, k1 = std::min(K, k0 + stepK);
      bool aZero = true, aFinite = true, bZero = true, bFinite = true, nanScale = false;
      std::fill(bRead.begin() + k0, bRead.begin() + k1, sparse ? 0 : 1);
      for (uint64_t i = 0; i < M; ++i)
        for (uint64_t c = 0; c < Kc; ++c) {
          uint64_t k = sparse ? pos[i * Kc + c] : c;
          if (k < k0 || k >= k1)
            continue;
          aZero &= ac[i * Kc + c] == VZero;
          aFinite &= ac[i * Kc + c] != VSpecial;
          bRead[k] = 1;
        }
      for (uint64_t j = 0; j < N; ++j)
        for (uint64_t k = k0; k < k1; ++k)
          if (bRead[k]) {
            bZero &= bc[j * K + k] == VZero;
            bFinite &= bc[j * K + k] != VSpecial;
          }
      for (uint64_t kb = k0 / 32; kb <= (k1 - 1) / 32; ++kb) {
        for (uint64_t i = 0; fa.mx && i < M; ++i)
          nanScale |= scaleA(i, kb) == 0xFF;
        for (uint64_t j = 0; fb.mx && j < N; ++j)
          nanScale |= scaleB(j, kb) == 0xFF;
      }
      bool byA = (mode == ZeroSkip::A || mode == ZeroSkip::Either) && aZero && bFinite;
      bool byB = (mode == ZeroSkip::B || mode == ZeroSkip::Either) && bZero && aFinite;
      if (!nanScale && (byA || byB)) {
        skip[s] = 1;
        ++skipped;
      }
    }
  }

  // The PEs.
  const bool anyMx = fa.mx || fb.mx;
  std::vector<uint32_t> ta_, tb_;
  for (uint64_t i = 0; i < M; ++i)
    for (uint64_t j = 0; j < N; ++j) {
      uint32_t &cell = res_.acc[uint32_t(cBase + i * g.ldc) + j];
      uint32_t acc = accumulate ? cell : 0;
      const uint32_t *arow = &A[i * Kc], *brow = &B[j * K];
      for (uint64_t s = 0; s < steps; ++s) {
        if (skip[s])
          continue;
        uint64_t k0 = s * stepK, k1 = std::min(K, k0 + stepK);
        for (uint64_t g0 = k0; g0 < k1;) {
          uint64_t g1 = anyMx ? std::min(k1, (g0 / 32 + 1) * 32) : k1;
          uint32_t sa = scaleA(i, g0 / 32), sb = scaleB(j, g0 / 32);
          if (!sparse) {
            acc = numerics::dotAccumulate(acc, fa.element, {arow + g0, arow + g1}, sa,
                                          fb.element, {brow + g0, brow + g1}, sb);
          } else {
            ta_.clear();
            tb_.clear();
            uint64_t cFirst = (g0 / pat.m) * pat.n, cEnd = std::min(Kc, ((g1 + pat.m - 1) / pat.m) * pat.n);
            for (uint64_t c = cFirst; c < cEnd; ++c) {
              uint32_t k = pos[i * Kc + c];
              if (k >= g0 && k < g1) {
                ta_.push_back(arow[c]);
                tb_.push_back(brow[k]);
              }
            }
            acc = numerics::dotAccumulate(acc, fa.element, ta_, sa, fb.element, tb_, sb);
          }
          g0 = g1;
        }
      }
      cell = acc;
    }
  d.skipped = skipped;
  res_.gemmSteps += steps;
  res_.gemmSkippedSteps += skipped;
  latency = gemmTiming(g, cfg_, skipped).latency;
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Vector unit
//===----------------------------------------------------------------------===//

unsigned ceilLog2(unsigned v) {
  unsigned b = 0;
  while ((1u << b) < v)
    ++b;
  return b;
}

Status Machine::execVector(Dyn &d, uint64_t &latency) {
  const Instruction &v = *d.ins;
  const uint64_t n = v.n;
  const uint32_t dA = d.R[v.rd] + v.dimm, aA = d.R[v.ra] + v.aimm, bA = d.R[v.rb] + v.bimm;
  const uint32_t F = d.F[v.fs & 15];
  const bool bcast = v.flags & flag::Broadcast;
  const uint64_t seg = v.seg ? v.seg : 1;
  std::vector<uint32_t> &acc = res_.acc;
  pending_.clear();
  auto add = [&](uint32_t base, uint64_t len, bool write) -> Status {
    Access a{Acc, write, {}};
    TRY(addRows(d, a, base, 1, 0, len));
    pending_.push_back(std::move(a));
    return Status::success();
  };
  uint64_t passes = 1, extra = 0;
  switch (v.op) {
  case Opcode::VAdd:
  case Opcode::VSub:
  case Opcode::VMul:
  case Opcode::VMax: {
    TRY(add(aA, n, false));
    TRY(add(bA, bcast ? n / seg : n, false));
    TRY(add(dA, n, true));
    TRY(checkRaces(d, kCompute, pending_));
    for (uint64_t e = 0; e < n; ++e) {
      uint32_t a = acc[aA + e], b = acc[bA + (bcast ? e / seg : e)], r;
      switch (v.op) {
      case Opcode::VAdd: r = numerics::fp32Add(a, b); break;
      case Opcode::VSub: r = numerics::fp32Add(a, b ^ 0x80000000u); break;
      case Opcode::VMul: r = numerics::fp32Mul(a, b); break;
      default: r = numerics::fp32Max(a, b); break;
      }
      acc[dA + e] = r;
    }
    break;
  }
  case Opcode::VAddS:
  case Opcode::VMulS:
  case Opcode::VExp:
  case Opcode::VRsqrt:
  case Opcode::VGelu: {
    TRY(add(aA, n, false));
    TRY(add(dA, n, true));
    TRY(checkRaces(d, kCompute, pending_));
    for (uint64_t e = 0; e < n; ++e) {
      uint32_t a = acc[aA + e], r;
      switch (v.op) {
      case Opcode::VAddS: r = numerics::fp32Add(a, F); break;
      case Opcode::VMulS: r = numerics::fp32Mul(a, F); break;
      case Opcode::VExp: r = numerics::fp32Exp(a); break;
      case Opcode::VRsqrt: r = numerics::fp32Rsqrt(a); break;
      default: r = numerics::fp32Gelu(a); break;
      }
      acc[dA + e] = r;
    }
    break;
  }
  case Opcode::VFill:
    TRY(add(dA, n, true));
    TRY(checkRaces(d, kCompute, pending_));
    for (uint64_t e = 0; e < n; ++e)
      acc[dA + e] = canon(F);
    break;
  case Opcode::VSum:
  case Opcode::VAmax: {
    TRY(add(aA, n, false));
    TRY(add(dA, n / seg, true));
    TRY(checkRaces(d, kCompute, pending_));
    const bool sum = v.op == Opcode::VSum;
    const unsigned L0 = std::max(1u, cfg_.lanes);
    std::vector<uint32_t> part(L0);
    for (uint64_t s = 0; s < n / seg; ++s) {
      std::fill(part.begin(), part.end(), 0u);
      for (uint64_t e = 0; e < seg; ++e) {
        uint32_t x = acc[aA + s * seg + e];
        uint32_t &p = part[e % L0];
        p = sum ? numerics::fp32Add(p, x) : numerics::fp32Max(p, x & 0x7FFFFFFFu);
      }
      for (unsigned L = L0; L > 1; L = (L + 1) / 2) {
        for (unsigned i = 0; i < L / 2; ++i)
          part[i] = sum ? numerics::fp32Add(part[2 * i], part[2 * i + 1])
                        : numerics::fp32Max(part[2 * i], part[2 * i + 1]);
        if (L % 2)
          part[L / 2] = part[L - 1];
      }
      acc[dA + s] = part[0]; // segment s is read, then d[s] written (docs/isa.md 5.4)
    }
    extra = ceilLog2(L0);
    break;
  }
  case Opcode::VAdamW: {
    TRY(add(aA, n, false));
    TRY(add(bA, 2 * n, false));
    TRY(add(bA, 2 * n, true));
    TRY(add(dA, n, false));
    TRY(add(dA, n, true));
    TRY(checkRaces(d, kCompute, pending_));
    std::array<uint32_t, 9> h{};
    for (unsigned x = 0; x < 9; ++x)
      h[x] = d.F[(v.fs + x) & 15];
    using numerics::fp32Add, numerics::fp32Mul, numerics::fp32Div, numerics::fp32Sqrt;
    for (uint64_t e = 0; e < n; ++e) {
      uint32_t p = acc[dA + e], gr = acc[aA + e], m = acc[bA + e], vv = acc[bA + n + e];
      uint32_t m2 = fp32Add(fp32Mul(h[1], m), fp32Mul(h[2], gr));
      uint32_t v2 = fp32Add(fp32Mul(h[3], vv), fp32Mul(h[4], fp32Mul(gr, gr)));
      uint32_t u = fp32Div(fp32Mul(m2, h[7]), fp32Add(fp32Sqrt(fp32Mul(v2, h[8])), h[5]));
      acc[dA + e] = fp32Add(fp32Mul(p, h[6]), fp32Mul(u, h[0] ^ 0x80000000u));
      acc[bA + e] = m2;
      acc[bA + n + e] = v2;
    }
    passes = 4;
    break;
  }
  default:
    break;
  }
  const uint64_t lanes = std::max(1u, cfg_.lanes);
  latency = (n + lanes - 1) / lanes * passes + cfg_.vectorLatency + extra;
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Stores
//===----------------------------------------------------------------------===//

Status Machine::execStore(Dyn &d, uint64_t &latency) {
  const Instruction &in = *d.ins;
  switch (in.op) {
  case Opcode::Seed:
    res_.lfsr = (in.imm & 0xFFFF) ? (in.imm & 0xFFFF) : 1;
    latency = 1;
    return Status::success();
  case Opcode::ClrStat:
    res_.amax = 0;
    res_.flags = 0;
    latency = 1;
    return Status::success();
  case Opcode::StStat: {
    uint32_t g = d.R[in.rg] + in.gimm;
    Access a{Dram, true, {}};
    TRY(addRows(d, a, g, 1, 0, 8));
    pending_ = {a};
    TRY(checkRaces(d, kStore, pending_));
    for (unsigned b = 0; b < 4; ++b) {
      dram_[uint64_t(g) + b] = uint8_t(res_.amax >> (8 * b));
      dram_[uint64_t(g) + 4 + b] = uint8_t(res_.flags >> (8 * b));
    }
    latency = cfg_.dmaLatency + 1;
    return Status::success();
  }
  default:
    break;
  }
  // st
  const ElemFormatInfo &T = elemFormatInfo(ElemFormat(in.fmtA));
  const uint32_t local = d.R[in.rl] + in.limm, g = d.R[in.rg] + in.gimm, sx = d.R[in.rx];
  const uint64_t R = in.rows, C = in.cols;
  const uint64_t rowBytes = (C * T.bits + 7) / 8;
  const uint64_t blocksPerRow = (C + numerics::kMxBlock - 1) / numerics::kMxBlock;
  const uint64_t scaleStride = uint64_t(in.gstride) * 8 / (32 * T.bits);
  Access src{Acc, false, {}}, dst{Dram, true, {}}, sdst{Dram, true, {}};
  TRY(addRows(d, src, local, R, in.lstride, C));
  TRY(addRows(d, dst, g, R, in.gstride, rowBytes));
  if (T.mx) {
    TRY(addRows(d, sdst, sx, R, scaleStride, blocksPerRow));
  }
  pending_ = {src, dst};
  if (T.mx)
    pending_.push_back(sdst);
  TRY(checkRaces(d, kStore, pending_));

  const bool sr = in.flags & flag::Stochastic, prescale = in.flags & flag::Prescale;
  const uint32_t F = d.F[in.fs & 15];
  const double maxNormal = numerics::formatInfo(T.element).maxNormal;
  std::vector<uint32_t> ys(C);
  for (uint64_t r = 0; r < R; ++r) {
    uint32_t lrow = uint32_t(local + r * in.lstride), row = uint32_t(g + r * in.gstride);
    for (uint64_t e = 0; e < C; ++e) {
      uint32_t x = res_.acc[lrow + e];
      if (isSpecial(x))
        res_.flags |= statflag::Ovf;
      else
        res_.amax = std::max(res_.amax, x & 0x7FFFFFFFu);
      uint32_t y = prescale ? numerics::fp32Mul(x, F) : x;
      if (isSpecial(y))
        res_.flags |= statflag::Ovf;
      else if (!T.mx && std::fabs(double(std::bit_cast<float>(y))) > maxNormal)
        res_.flags |= statflag::Sat;
      ys[e] = y;
    }
    if (!T.mx) {
      for (uint64_t e = 0; e < C; ++e) {
        uint32_t rnd = 0;
        if (sr) {
          rnd = res_.lfsr;
          res_.lfsr = numerics::lfsrNext(res_.lfsr);
        }
        uint32_t code = numerics::convertFromFp32(
            ys[e], T.element, sr ? numerics::Rounding::Stochastic : numerics::Rounding::Nearest,
            (in.flags & flag::Saturate) ? numerics::Overflow::Saturate : numerics::Overflow::Ieee,
            rnd);
        writePacked(dram_, row, e, T.bits, code);
      }
    } else {
      auto blocks = numerics::quantizeMx(
          ys, T.element,
          (in.flags & flag::ScaleUp) ? numerics::ScaleRounding::Up : numerics::ScaleRounding::Floor,
          sr ? numerics::Rounding::Stochastic : numerics::Rounding::Nearest, res_.lfsr);
      if (sr)
        for (uint64_t e = 0; e < C; ++e)
          res_.lfsr = numerics::lfsrNext(res_.lfsr);
      uint32_t srow = uint32_t(sx + r * scaleStride);
      for (uint64_t kb = 0; kb < blocks.size(); ++kb) {
        dram_[uint64_t(srow) + kb] = uint8_t(blocks[kb].scale);
        for (uint64_t e = 0; e < blocks[kb].elements.size(); ++e)
          writePacked(dram_, row, kb * numerics::kMxBlock + e, T.bits, blocks[kb].elements[e]);
      }
    }
  }
  latency = dmaCycles(cfg_, R, rowBytes);
  if (T.mx) {
    uint64_t bpc = std::max(1u, cfg_.dmaBytesPerCycle);
    latency += R * ((blocksPerRow + bpc - 1) / bpc);
  }
  return Status::success();
}

Status Machine::execute(Dyn &d, unsigned q, uint64_t &latency) {
  const Instruction &in = *d.ins;
  switch (in.op) {
  case Opcode::LSync:
  case Opcode::CSync:
  case Opcode::SSync:
    latency = 1;
    return Status::success();
  case Opcode::Gemm:
  case Opcode::GemmSp:
    return execGemm(d, latency);
  default:
    break;
  }
  if (q == kLoad)
    return execLoad(d, latency);
  if (q == kStore)
    return execStore(d, latency);
  return execVector(d, latency);
}

//===----------------------------------------------------------------------===//
// Scheduling
//===----------------------------------------------------------------------===//

/// Whether `head` may start at `t` as far as its predecessors go. When not, `when` is the
/// earliest cycle it could (kNever when it waits for a completion, not for a cycle).
bool Machine::startAllowed(const QueueState &qs, const Dyn &head, uint64_t t,
                           uint64_t &when) const {
  when = head.dispatch + 1;
  if (qs.havePrev) {
    if (head.isGemm && qs.prevGemm) {
      when = std::max(when, qs.prevStart + qs.prevIssue);
      for (const Dyn &f : qs.inflight) // a GEMM writing an overlapping C must complete
        if (!f.isGemm || overlap(f.cRegion, head.cRegion)) {
          when = std::numeric_limits<uint64_t>::max();
          return false;
        }
    } else if (!qs.inflight.empty()) {
      when = std::numeric_limits<uint64_t>::max();
      return false; // everything else waits for its predecessor's completion
    }
  }
  return t >= when;
}

Expected<GoldenResult> Machine::run() {
  uint32_t pc = 0;
  bool halted = false;
  uint64_t haltCycle = 0, lastEnd = 0;
  std::array<uint32_t, 16> &R = res_.regs, &F = res_.fregs;
  const uint64_t kNever = std::numeric_limits<uint64_t>::max();
  uint64_t t = 0;
  auto fifoFull = [&](int f) { return fifos_[f].size() >= std::max(1u, cfg_.tokenDepth); };

  while (true) {
    if (t > opts_.maxCycles)
      return Diagnostic::error("cycle-limit", "the program did not finish within " +
                                                  std::to_string(opts_.maxCycles) + " cycles");
    bool progress = false;
    uint64_t next = kNever;
    // 1. Completions, in program order per queue.
    for (unsigned q = 0; q < 3; ++q) {
      QueueState &qs = queues_[q];
      while (!qs.inflight.empty()) {
        Dyn &f = qs.inflight.front();
        if (f.due > t) {
          next = std::min(next, f.due);
          break;
        }
        bool blocked = false;
        for (uint8_t bit : kPushes)
          if ((f.ins->deps & bit) && pushFifo(q, bit) >= 0 && fifoFull(pushFifo(q, bit)))
            blocked = true;
        if (blocked)
          break; // waits for a pop
        qs.vc[q] = f.seq + 1;
        for (uint8_t bit : kPushes)
          if ((f.ins->deps & bit) && pushFifo(q, bit) >= 0)
            fifos_[pushFifo(q, bit)].push_back(qs.vc);
        uint64_t from = std::max(f.start, qs.busyUntil);
        res_.busy[q + 1] += t > from ? t - from : 0;
        qs.busyUntil = std::max(qs.busyUntil, t);
        if (opts_.trace)
          res_.trace.push_back({f.index, Queue(q + 1), f.dispatch, f.start, t, f.skipped});
        lastEnd = std::max(lastEnd, t);
        ++qs.completed;
        qs.inflight.pop_front();
        progress = true;
      }
    }
    // 2. Starts.
    for (unsigned q = 0; q < 3; ++q) {
      QueueState &qs = queues_[q];
      if (qs.waiting.empty())
        continue;
      Dyn &h = qs.waiting.front();
      uint64_t when;
      if (!startAllowed(qs, h, t, when)) {
        next = std::min(next, when);
        continue;
      }
      bool tokens = true;
      for (uint8_t bit : kPops)
        if ((h.ins->deps & bit) && popFifo(q, bit) >= 0 && fifos_[popFifo(q, bit)].empty())
          tokens = false;
      if (!tokens)
        continue;
      for (uint8_t bit : kPops)
        if ((h.ins->deps & bit) && popFifo(q, bit) >= 0) {
          const Clock &c = fifos_[popFifo(q, bit)].front();
          for (unsigned p = 0; p < 3; ++p)
            qs.vc[p] = std::max(qs.vc[p], c[p]);
          fifos_[popFifo(q, bit)].pop_front();
        }
      h.start = t;
      h.seq = qs.started++;
      uint64_t latency = 1;
      TRY(execute(h, q, latency));
      h.due = t + std::max<uint64_t>(1, latency);
      qs.havePrev = true;
      qs.prevGemm = h.isGemm;
      qs.prevStart = t;
      qs.prevIssue = h.isGemm ? gemmTiming(*h.ins, cfg_, h.skipped).issue : 0;
      ++res_.executed[q + 1];
      qs.inflight.push_back(std::move(h));
      qs.waiting.pop_front();
      progress = true;
    }
    // 3. Front end.
    if (!halted) {
      if (pc >= prog_.size())
        return fault("pc-out-of-range", pc, "the program counter " + std::to_string(pc) +
                                                " is past the last instruction (" +
                                                std::to_string(prog_.size()) + ")");
      const Instruction &in = prog_[pc];
      Queue q = in.info().queue;
      if (q == Queue::Front) {
        uint32_t nextPc = pc + 1;
        switch (in.op) {
        case Opcode::Halt: halted = true; haltCycle = t; break;
        case Opcode::Li: R[in.rd] = in.imm; break;
        case Opcode::Addi: R[in.rd] = R[in.rs] + in.imm; break;
        case Opcode::Add: R[in.rd] = R[in.rs] + R[in.rt]; break;
        case Opcode::Sub: R[in.rd] = R[in.rs] - R[in.rt]; break;
        case Opcode::Fli: F[in.rd & 15] = in.imm; break;
        case Opcode::Loop:
          R[in.rd] -= 1;
          if (R[in.rd] != 0)
            nextPc = in.imm;
          break;
        default: break;
        }
        R[0] = 0;
        pc = nextPc;
        ++res_.instructions;
        ++res_.executed[0];
        ++res_.busy[0];
        progress = true;
      } else {
        QueueState &qs = queues_[unsigned(q) - 1];
        if (qs.waiting.size() < std::max(1u, cfg_.queueDepth)) {
          Dyn d;
          d.index = pc;
          d.ins = &in;
          d.R = R;
          d.F = F;
          d.dispatch = t;
          d.isGemm = in.op == Opcode::Gemm || in.op == Opcode::GemmSp;
          if (d.isGemm) { // C region for the overlap rule (range checked at start)
            uint32_t c = R[in.rc];
            for (uint64_t i = 0; i < in.m; ++i)
              d.cRegion.push_back({uint32_t(c + i * in.ldc), uint64_t(uint32_t(c + i * in.ldc)) + in.n});
            normalize(d.cRegion);
          }
          qs.waiting.push_back(std::move(d));
          ++pc;
          ++res_.instructions;
          ++res_.busy[0];
          progress = true;
        }
      }
    }
    bool idle = halted;
    for (const QueueState &qs : queues_)
      idle &= qs.waiting.empty() && qs.inflight.empty();
    if (idle)
      break;
    if (progress) {
      ++t;
      continue;
    }
    if (next == kNever || next <= t) {
      // Nothing can happen at any later cycle: name what each stuck queue waits for.
      std::string what;
      uint32_t at = pc;
      for (unsigned q = 0; q < 3; ++q) {
        const QueueState &qs = queues_[q];
        const Dyn *d = !qs.inflight.empty() ? &qs.inflight.front()
                       : !qs.waiting.empty() ? &qs.waiting.front()
                                             : nullptr;
        if (!d)
          continue;
        if (what.empty())
          at = d->index;
        what += std::string(what.empty() ? "" : "; ") + std::string(queueName(Queue(q + 1))) +
                " queue waits at instruction " + std::to_string(d->index) + " `" +
                disassemble(*d->ins) + "` (" +
                (qs.inflight.empty() ? "a token to pop" : "room to push a token") + ")";
      }
      if (what.empty())
        what = "the front end waits for queue space";
      return fault("token-deadlock", at, "no queue can make progress at cycle " +
                                             std::to_string(t) + ": " + what);
    }
    t = next;
  }
  res_.cycles = std::max(lastEnd, haltCycle + 1);
  return std::move(res_);
}

} // namespace

Expected<GoldenResult> runGolden(const TileConfig &cfg, std::span<const Instruction> program,
                                 std::vector<uint8_t> &dram, const GoldenOptions &opts) {
  if (opts.verify) {
    DiagnosticEngine diags;
    if (!verifyProgram(program, &cfg, diags))
      return diags.diagnostics().front();
  }
  Machine m(cfg, program, dram, opts, {});
  return m.run();
}

Expected<GoldenResult> runGolden(const TileConfig &cfg, const AsmProgram &program,
                                 std::vector<uint8_t> &dram, const GoldenOptions &opts) {
  if (opts.verify) {
    DiagnosticEngine diags;
    if (!verifyProgram(program.code, &cfg, diags, program.locs))
      return diags.diagnostics().front();
  }
  Machine m(cfg, program.code, dram, opts, program.locs);
  return m.run();
}

} // namespace tessera::accel
