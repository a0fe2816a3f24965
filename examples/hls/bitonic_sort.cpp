// Bitonic sort of 16 signed ints in place (Batcher's network, ascending). Each of the 10
// stages (k, j) compares the 8 pairs (i, i + j) with i's bit j clear; the pair loop has no
// branch (min / max are selects), so it pipelines. Stages depend on each other through a[]
// and run one after the other. The array is copied into registers (a complete partition)
// so that the four accesses per pair need no RAM ports, and declared independent: the
// pairs of one stage are disjoint, which the index arithmetic does not let the
// dependence analysis prove (co-simulation checks the promise).
#include "tessera/hls.h"

#define N 16
#define LOG_N 4

void bitonic_sort(int a[N]) {
  int v[N] TESSERA_PARTITION_COMPLETE TESSERA_INDEPENDENT;
  for (int i = 0; i < N; i++)
    v[i] = a[i];
  for (int lk = 1; lk <= LOG_N; lk++)
    for (int lj = lk - 1; lj >= 0; lj--) {
      const int j = 1 << lj;
#pragma clang loop pipeline_initiation_interval(1)
      for (int p = 0; p < N / 2; p++) {
        // The p-th index with bit lj clear: insert a 0 bit at position lj.
        int i = ((p >> lj) << (lj + 1)) | (p & (j - 1));
        int l = i + j;
        int x = v[i], y = v[l];
        bool up = ((i >> lk) & 1) == 0; // direction of the bitonic block of size 2^lk
        bool swap = (x > y) == up;
        v[i] = swap ? y : x;
        v[l] = swap ? x : y;
      }
    }
  for (int i = 0; i < N; i++)
    a[i] = v[i];
}
