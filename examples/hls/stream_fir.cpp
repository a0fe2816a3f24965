// Streaming FIR filter: 8 taps over 64 int16 samples from a ready/valid stream, 32-bit
// results to an output stream. The shift register of the last 8 samples is completely
// partitioned (registers) and the taps are a constant table, so one sample goes in and
// one result comes out per cycle: II 1.
#include <stdint.h>

#include "tessera/hls.h"

#define TAPS 8
#define LEN 64

static const int16_t kTaps[TAPS] = {3, -5, 12, 31, 31, 12, -5, 3};

void stream_fir(hls::stream<int16_t> &x TESSERA_DEPTH(LEN), hls::stream<int32_t> &y) {
  int16_t shift[TAPS] TESSERA_PARTITION_COMPLETE = {0};
#pragma clang loop pipeline_initiation_interval(1)
  for (int n = 0; n < LEN; n++) {
#pragma clang loop unroll(full)
    for (int t = TAPS - 1; t > 0; t--)
      shift[t] = shift[t - 1];
    shift[0] = x.read();
    int32_t acc = 0;
#pragma clang loop unroll(full)
    for (int t = 0; t < TAPS; t++)
      acc += int32_t(shift[t]) * kTaps[t];
    y.write(acc);
  }
}
