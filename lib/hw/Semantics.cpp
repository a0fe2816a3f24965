//===- Semantics.cpp - the meaning of every combinational hw op -----------===//
//
// One switch over Ops.def: each combinational op mapped onto BitVec operations. The
// interpreter, constant folding and the compiled simulator's op tests all go through here.
//
//===----------------------------------------------------------------------===//
#include "hw/Semantics.h"

#include <cassert>

namespace tessera::hw {

bool isCombinational(OpKind k) {
  switch (k) {
  case OpKind::Input:
  case OpKind::Reg:
  case OpKind::MemRead:
  case OpKind::MemWrite:
  case OpKind::InstOut:
  case OpKind::Output:
    return false;
  default:
    return true;
  }
}

namespace {
/// A shift amount as a 64-bit number, saturating (any amount >= 2^64 is >= every width).
uint64_t shiftAmount(const BitVec &v) {
  if (auto a = v.toU64())
    return *a;
  return UINT64_MAX;
}
BitVec bit(bool b) { return BitVec(1, b ? 1 : 0); }
} // namespace

BitVec evaluate(const Op &op, std::span<const BitVec> x) {
  switch (op.kind) {
  case OpKind::Const:
    return op.value;
  case OpKind::Add:
    return x[0].add(x[1]);
  case OpKind::Sub:
    return x[0].sub(x[1]);
  case OpKind::Mul:
    return x[0].mul(x[1]);
  case OpKind::DivU:
    return x[0].udiv(x[1]);
  case OpKind::DivS:
    return x[0].sdiv(x[1]);
  case OpKind::RemU:
    return x[0].urem(x[1]);
  case OpKind::RemS:
    return x[0].srem(x[1]);
  case OpKind::And:
    return x[0].bitAnd(x[1]);
  case OpKind::Or:
    return x[0].bitOr(x[1]);
  case OpKind::Xor:
    return x[0].bitXor(x[1]);
  case OpKind::Not:
    return x[0].bitNot();
  case OpKind::Shl:
    return x[0].shl(shiftAmount(x[1]));
  case OpKind::ShrU:
    return x[0].lshr(shiftAmount(x[1]));
  case OpKind::ShrS:
    return x[0].ashr(shiftAmount(x[1]));
  case OpKind::Eq:
    return bit(x[0].eq(x[1]));
  case OpKind::Ne:
    return bit(!x[0].eq(x[1]));
  case OpKind::LtU:
    return bit(x[0].ult(x[1]));
  case OpKind::LtS:
    return bit(x[0].slt(x[1]));
  case OpKind::LeU:
    return bit(!x[1].ult(x[0]));
  case OpKind::LeS:
    return bit(!x[1].slt(x[0]));
  case OpKind::GtU:
    return bit(x[1].ult(x[0]));
  case OpKind::GtS:
    return bit(x[1].slt(x[0]));
  case OpKind::GeU:
    return bit(!x[0].ult(x[1]));
  case OpKind::GeS:
    return bit(!x[0].slt(x[1]));
  case OpKind::Mux:
    return x[0].bit(0) ? x[1] : x[2];
  case OpKind::Concat: {
    if (x.empty())
      return BitVec(op.width);
    BitVec r = x[0];
    for (size_t i = 1; i < x.size(); ++i)
      r = r.concat(x[i]);
    return r;
  }
  case OpKind::Extract:
    return x[0].extract(op.attr0, op.width);
  case OpKind::ZExt:
    return x[0].zext(op.width);
  case OpKind::SExt:
    return x[0].sext(op.width);
  case OpKind::RedAnd:
    return bit(x[0].isAllOnes());
  case OpKind::RedOr:
    return bit(!x[0].isZero());
  case OpKind::RedXor: {
    unsigned parity = 0;
    for (uint64_t w : x[0].words())
      parity ^= unsigned(__builtin_popcountll(w)) & 1;
    return bit(parity);
  }
  case OpKind::Input:
  case OpKind::Reg:
  case OpKind::MemRead:
  case OpKind::MemWrite:
  case OpKind::InstOut:
  case OpKind::Output:
    break;
  }
  assert(false && "evaluate: not a combinational op");
  return BitVec(op.width);
}

} // namespace tessera::hw
