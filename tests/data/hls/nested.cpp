// Matrix-vector product: pointer walking (pointer phis / GEPs resolved to indices), a
// pipelined inner loop (II 2) whose `if` is if-converted, an outer loop with pipelining
// disabled, a reference-to-array parameter and attributes on an interface array.
#include "tessera/hls.h"

#define R 8
#define C 16

void mv(int (&y)[R], const int A[R][C], const int *x TESSERA_DEPTH(C) TESSERA_PARTITION(cyclic, 4),
        int relu) {
#pragma clang loop pipeline(disable)
  for (int r = 0; r < R; r++) {
    const int *row = A[r];
    const int *p = x;
    int acc = 0;
#pragma clang loop pipeline_initiation_interval(2)
    for (int c = 0; c < C; c++) {
      int v = *row++ * *p++;
      if (relu && v < 0)
        v = 0;
      acc += v;
    }
    y[r] = acc;
  }
}
