// Histogram of 128 bytes into 16 bins (the high nibble). The read-modify-write of hist[]
// is a memory recurrence of unknown distance: the report names it as the II limit.
#include <stdint.h>

#define LEN 128
#define BINS 16

void histogram(const uint8_t data[LEN], uint32_t hist[BINS]) {
  for (int b = 0; b < BINS; b++)
    hist[b] = 0;
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < LEN; i++)
    hist[data[i] >> 4] += 1;
}
