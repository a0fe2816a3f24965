// Layer normalisation of 16 values in fixed point: x and the result Q8.8 (int16), gamma and
// beta Q8.8; mean and variance exact in integers, 1/sigma through an integer square root
// (bit by bit) and one division.
#include <stdint.h>

#define N 16

static uint32_t isqrt(uint32_t v) {
  uint32_t r = 0, bit = 1u << 30;
  for (int k = 0; k < 16; k++) {
    if (v >= r + bit) {
      v -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
    bit >>= 2;
  }
  return r;
}

void layernorm(const int16_t x[N], const int16_t gamma[N], const int16_t beta[N], int16_t y[N]) {
  int32_t sum = 0;
  for (int i = 0; i < N; i++)
    sum += x[i];
  int32_t mean = sum / N; // Q8.8
  uint32_t var = 0;
  for (int i = 0; i < N; i++) {
    int32_t d = x[i] - mean;
    var += uint32_t(d) * uint32_t(d) / N; // Q16.16
  }
  uint32_t sigma = isqrt(var + 1); // Q8.8, never 0
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < N; i++) {
    int32_t d = x[i] - mean;
    int32_t norm = (d * 256) / int32_t(sigma);             // Q8.8
    int64_t v = ((int64_t(norm) * gamma[i]) >> 8) + beta[i];
    y[i] = int16_t(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
  }
}
