// AdamW update of 32 parameters (Loshchilov & Hutter; torch.optim.AdamW's order of
// operations): FP32 master weights p and moments m, v; BF16 gradients g. Hyper-parameters
// come as FP32 bit patterns: lr, beta1, beta2, eps, weight decay wd, and the bias
// corrections c1 = 1 / (1 - beta1^t), c2 = 1 / (1 - beta2^t).
//   p = p - lr * wd * p
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   p = p - lr * (m * c1) * rsqrt(v * c2 + eps^2)
// rsqrt(x) is computed with the classic bit estimate and three Newton steps in FP32
// (relative error below 1e-6 before rounding), so that the kernel needs no divider; the
// native C reference computes the same operations in the same order, bit for bit.
#include <stdint.h>

#include "tessera/hls.h"

#define N 32

static hls::fp32 rsqrt(hls::fp32 x) {
  const hls::fp32 half = hls::fp32::fromBits(0x3F000000u), threeHalves = hls::fp32::fromBits(0x3FC00000u);
  hls::fp32 y = hls::fp32::fromBits(0x5F3759DFu - (x.bits >> 1));
  hls::fp32 hx = half * x;
#pragma clang loop unroll(full)
  for (int k = 0; k < 3; k++)
    y = y * (threeHalves - hx * y * y);
  return y;
}

void adamw(uint32_t p[N], uint32_t m[N], uint32_t v[N], const uint16_t g[N], uint32_t lr,
           uint32_t beta1, uint32_t beta2, uint32_t eps, uint32_t wd, uint32_t c1,
           uint32_t c2) {
  const hls::fp32 one = hls::fp32::fromBits(0x3F800000u);
  const hls::fp32 fLr = hls::fp32::fromBits(lr), fB1 = hls::fp32::fromBits(beta1),
                  fB2 = hls::fp32::fromBits(beta2), fEps = hls::fp32::fromBits(eps),
                  fWd = hls::fp32::fromBits(wd), fC1 = hls::fp32::fromBits(c1),
                  fC2 = hls::fp32::fromBits(c2);
  const hls::fp32 decay = fLr * fWd, eps2 = fEps * fEps, omb1 = one - fB1, omb2 = one - fB2;
  // Not pipelined: one element's update is a chain of ~15 FP32 operations (hundreds of
  // cycles at 5 ns); a pipeline that deep would hold every live value in every stage
  // (~900 kbit of registers at II 2). Sequentially, the FSM's states share the registers
  // and one FP32 adder and multiplier (hls::fp32's shared units, docs/hls.md).
  for (int i = 0; i < N; i++) {
    hls::fp32 pi = hls::fp32::fromBits(p[i]), mi = hls::fp32::fromBits(m[i]),
              vi = hls::fp32::fromBits(v[i]);
    hls::fp32 gi = hls::bf16::fromBits(g[i]).toFp32();
    pi = pi - decay * pi;
    mi = fB1 * mi + omb1 * gi;
    vi = fB2 * vi + omb2 * (gi * gi);
    pi = pi - fLr * (mi * fC1) * rsqrt(vi * fC2 + eps2);
    p[i] = pi.bits;
    m[i] = mi.bits;
    v[i] = vi.bits;
  }
}
