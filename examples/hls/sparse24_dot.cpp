// 2:4 structured-sparse dot product (the accelerator's weight format): 64 dense int8
// activations, 32 stored int8 weights with a 2-bit index each selecting the position of the
// weight inside its group of 4 (two per group), 32-bit accumulation.
#include <stdint.h>

#define K 64

int32_t sparse24_dot(const int8_t act[K], const int8_t w[K / 2], const uint8_t meta[K / 8]) {
  int32_t acc = 0;
#pragma clang loop pipeline_initiation_interval(1)
  for (int c = 0; c < K / 2; c++) {
    // Four 2-bit indices per metadata byte, least significant first.
    uint32_t idx = (meta[c >> 2] >> ((c & 3) * 2)) & 3u;
    int group = c >> 1;
    acc += int32_t(w[c]) * act[group * 4 + int(idx)];
  }
  return acc;
}
