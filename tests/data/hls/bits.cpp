// Bit tricks that reach the CDFG as LLVM intrinsics (ctpop, ctlz, cttz, bswap, funnel
// shifts, bitreverse, abs, saturating and overflow-checked arithmetic) and a switch
// (lowered to branches). Plain C++: the unit test also compiles this file natively as the
// reference.
#include <stdint.h>

static uint32_t rotl(uint32_t x, uint32_t r) { return (x << (r & 31)) | (x >> ((32 - r) & 31)); }

// CRC-style bit reflection (instcombine turns this loop body into llvm.bitreverse when
// unrolled).
static uint32_t reflect(uint32_t x) {
  uint32_t r = 0;
#pragma clang loop unroll(full)
  for (int i = 0; i < 32; i++)
    r |= ((x >> i) & 1u) << (31 - i);
  return r;
}

uint32_t bits(uint32_t x, uint32_t y, int32_t s, int32_t t, uint32_t sel) {
  uint32_t r = 0;
  r += __builtin_popcount(x);
  r += x ? __builtin_clz(x) : 32;
  r += y ? __builtin_ctz(y) : 32;
  r ^= __builtin_bswap32(x + y);
  r += rotl(x, y);
  int32_t m = s < t ? s : t;
  int32_t M = s > t ? s : t;
  uint32_t um = x < y ? x : y;
  r += uint32_t(m) * 3u + uint32_t(M) + um;
  r += uint32_t(s < 0 ? -s : s);
  r ^= reflect(x ^ (y << 3));
  // Saturating arithmetic (llvm.uadd.sat / llvm.usub.sat).
  uint32_t sum = x + y;
  r += sum < x ? 0xffffffffu : sum;
  r ^= x > y ? x - y : 0;
  uint8_t bx = uint8_t(x), by = uint8_t(y >> 8);
  r += uint8_t(bx + by) < bx ? 255 : uint8_t(bx + by);
  // Overflow checks (llvm.*.with.overflow).
  int32_t o1, o2;
  uint32_t p;
  r += __builtin_add_overflow(s, t, &o1) ? 7u : uint32_t(o1);
  r ^= __builtin_sub_overflow(s, t, &o2) ? 9u : uint32_t(o2);
  r += __builtin_mul_overflow(x, y, &p) ? 13u : p;
  switch (sel & 7) {
  case 0: r += 11; break;
  case 1: r ^= 0x5a5a; break;
  case 3: r = r * 7; break;
  case 6: r -= x; break;
  default: r += sel; break;
  }
  return r;
}
