// FP8 E4M3 dot product with MX block scales (OCP MX v1.0: blocks of 32 elements, one E8M0
// scale per block and operand): 64 elements, so two blocks. Products and the block sums
// are in hls::fp32 (the accelerator's FP32: one rounding per add, FTZ); each block sum is
// scaled by 2^(sa - 127) * 2^(sb - 127) and accumulated. A scale of 0xFF (NaN) gives NaN.
// Returns the FP32 bits. The FP32 add is a long chain of integer logic, so the block-sum
// recurrence bounds the II (the report names it).
#include <stdint.h>

#include "tessera/hls.h"

#define K 64
#define BLOCK 32

uint32_t fp8_mx_dot(const uint8_t a[K], const uint8_t b[K], const uint8_t sa[K / BLOCK],
                    const uint8_t sb[K / BLOCK]) {
  hls::fp32 total = hls::fp32::fromBits(0);
  for (int blk = 0; blk < K / BLOCK; blk++) {
    hls::fp32 acc = hls::fp32::fromBits(0);
#pragma clang loop pipeline_initiation_interval(1)
    for (int i = 0; i < BLOCK; i++) {
      hls::fp32 x = hls::fp8e4m3::fromBits(a[blk * BLOCK + i]).toFp32();
      hls::fp32 y = hls::fp8e4m3::fromBits(b[blk * BLOCK + i]).toFp32();
      acc += x * y; // exact: e4m3 x e4m3 fits FP32
    }
    uint32_t s = uint32_t(sa[blk]) + sb[blk]; // 2^(sa + sb - 254)
    if (sa[blk] == 0xFF || sb[blk] == 0xFF)
      return 0x7FC00000u;
    // Apply the two scales as two FP32 powers of two (each exact when in range).
    hls::fp32 s1 = hls::fp32::fromBits((s / 2) << 23);           // 2^(floor(s/2) - 127)
    hls::fp32 s2 = hls::fp32::fromBits((s - s / 2) << 23);       // 2^(ceil(s/2) - 127)
    total += acc * s1 * s2;
  }
  return total.bits;
}
