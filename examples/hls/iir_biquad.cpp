// A direct-form-I biquad IIR filter in Q2.14 fixed point over 64 samples: y[n] depends on
// y[n-1] and y[n-2] through two multiplies and adds, a recurrence that bounds the II.
#include <stdint.h>

#define LEN 64

void iir_biquad(const int16_t x[LEN], const int16_t coef[5], int16_t y[LEN]) {
  int64_t b0 = coef[0], b1 = coef[1], b2 = coef[2], a1 = coef[3], a2 = coef[4];
  int64_t x1 = 0, x2 = 0, y1 = 0, y2 = 0;
#pragma clang loop pipeline_initiation_interval(1)
  for (int n = 0; n < LEN; n++) {
    int64_t xn = x[n];
    int64_t acc = b0 * xn + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    int64_t yn = acc >> 14;
    if (yn > 32767)
      yn = 32767;
    if (yn < -32768)
      yn = -32768;
    y[n] = int16_t(yn);
    x2 = x1;
    x1 = xn;
    y2 = y1;
    y1 = yn;
  }
}
