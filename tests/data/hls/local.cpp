// Local arrays: a constant table (global), a 2-D scratch array, memset / memcpy of
// constant size, a static array with a partition attribute, and an interface array whose
// depth comes from an attribute.
#include "tessera/hls.h"
#include <stdint.h>
#include <string.h>

static const uint16_t kTable[8] = {3, 1, 4, 1, 5, 9, 2, 6};

int32_t local(int32_t *out TESSERA_DEPTH(16), const int32_t in[4][4], uint32_t k) {
  int32_t scratch[4][4] TESSERA_PARTITION(cyclic, 2);
  int32_t copy[16];
  memset(scratch, 0, sizeof scratch);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      scratch[(i + k) & 3][j] += in[i][j] * kTable[(i + j + k) & 7];
  memcpy(copy, scratch, sizeof copy);
  int32_t acc = 0;
  for (int i = 0; i < 16; i++) {
    out[i] = copy[15 - i] - acc;
    acc += copy[i];
  }
  return acc;
}
