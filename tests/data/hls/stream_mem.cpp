// Streams together with RAMs in one pipelined loop: the loads' read data must survive
// stalls (a frozen stage keeps what its RAM read returned), the stores must not repeat.
#include <stdint.h>

#include "tessera/hls.h"

static const uint8_t kTable[16] = {7, 1, 4, 9, 2, 8, 5, 3, 6, 0, 11, 15, 13, 10, 12, 14};

void stream_mem(hls::stream<uint16_t> &in TESSERA_DEPTH(32), const uint16_t w[32],
                uint32_t acc[32], hls::stream<uint32_t> &out) {
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < 32; i++) {
    uint16_t x = in.read();
    uint32_t v = uint32_t(x) * w[i] + kTable[x & 15];
    acc[i] += v;
    out.write(v ^ acc[i]);
  }
}
