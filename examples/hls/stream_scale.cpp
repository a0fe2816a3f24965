// Stream scaler with a running sum: reads 64 samples from a ready/valid input stream and
// writes x * k + (sum of the samples so far) to an output stream, one sample per cycle
// (II 1). A stall on either stream (no input, output not ready) freezes the pipeline.
#include <stdint.h>

#include "tessera/hls.h"

#define LEN 64

void stream_scale(hls::stream<int32_t> &in TESSERA_DEPTH(LEN), hls::stream<int32_t> &out,
                  int32_t k) {
  int32_t sum = 0;
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < LEN; i++) {
    int32_t x = in.read();
    sum += x;
    out.write(x * k + sum);
  }
}
