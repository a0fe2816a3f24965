// FP32 dot product with tessera/hls.h's bit-exact hardware FP32 (integer ops only).
#include "tessera/hls.h"

hls::fp32 dot(const hls::fp32 a[16], const hls::fp32 b[16]) {
  hls::fp32 acc;
  for (int i = 0; i < 16; i++)
    acc += a[i] * b[i];
  return acc;
}
