// FIR filter: 8 taps over 64 int16 samples, 32-bit accumulation. The shift register of the
// last 8 inputs and a copy of the taps are completely partitioned (registers), so that the
// sample loop reads one input per cycle: II 1.
#include <stdint.h>

#include "tessera/hls.h"

#define TAPS 8
#define LEN 64

void fir(const int16_t x[LEN], const int16_t h[TAPS], int32_t y[LEN]) {
  int16_t shift[TAPS] TESSERA_PARTITION_COMPLETE = {0};
  int16_t taps[TAPS] TESSERA_PARTITION_COMPLETE;
  for (int t = 0; t < TAPS; t++)
    taps[t] = h[t];
#pragma clang loop pipeline_initiation_interval(1)
  for (int n = 0; n < LEN; n++) {
#pragma clang loop unroll(full)
    for (int t = TAPS - 1; t > 0; t--)
      shift[t] = shift[t - 1];
    shift[0] = x[n];
    int32_t acc = 0;
#pragma clang loop unroll(full)
    for (int t = 0; t < TAPS; t++)
      acc += int32_t(shift[t]) * taps[t];
    y[n] = acc;
  }
}
