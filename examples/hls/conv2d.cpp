// 2-D convolution: a 3 x 3 kernel over a 10 x 10 int16 image, valid padding (8 x 8 out),
// 32-bit accumulation.
#include <stdint.h>

#define H 10
#define W 10
#define K 3

void conv2d(const int16_t img[H * W], const int16_t coef[K * K], int32_t out[(H - K + 1) * (W - K + 1)]) {
  for (int y = 0; y + K <= H; y++)
#pragma clang loop pipeline_initiation_interval(1)
    for (int x = 0; x + K <= W; x++) {
      int32_t acc = 0;
#pragma clang loop unroll(full)
      for (int ky = 0; ky < K; ky++)
#pragma clang loop unroll(full)
        for (int kx = 0; kx < K; kx++)
          acc += int32_t(img[(y + ky) * W + x + kx]) * coef[ky * K + kx];
      out[y * (W - K + 1) + x] = acc;
    }
}
