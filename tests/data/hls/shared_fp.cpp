// Shared functional units end to end: hls::fp32 arithmetic (the shared fp32AddUnit /
// fp32MulUnit) in a pipelined loop between ready/valid streams, so calls are in flight
// when the kernel stalls, and a user's TESSERA_SHARED function called from several FSM
// states that share one unit.
#include <stdint.h>

#include "tessera/hls.h"

TESSERA_SHARED uint32_t mix(uint32_t a, uint32_t b) { return (a * 0x9E3779B1u) ^ (b + (a >> 7)); }

uint32_t shared_fp(hls::stream<uint32_t> &in TESSERA_DEPTH(16), hls::stream<uint32_t> &out,
                   uint32_t scale, uint32_t bias) {
  const hls::fp32 s = hls::fp32::fromBits(scale), b = hls::fp32::fromBits(bias);
  uint32_t h = 0;
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < 16; i++) {
    hls::fp32 x = hls::fp32::fromBits(in.read());
    hls::fp32 y = x * s + b;
    out.write(y.bits);
    h ^= y.bits;
  }
  h = mix(h, scale);
  h = mix(h, bias);
  return mix(h, h >> 3);
}
