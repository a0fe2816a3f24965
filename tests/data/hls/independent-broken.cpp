// A prefix sum whose working array is wrongly declared TESSERA_INDEPENDENT: iteration i
// reads the element iteration i - 1 wrote. The schedule believes the promise (II 1);
// co-simulation must catch the wrong result.
#include "tessera/hls.h"

#define N 32

void prefix(int a[N]) {
  int v[N] TESSERA_PARTITION_COMPLETE TESSERA_INDEPENDENT;
  for (int i = 0; i < N; i++)
    v[i] = a[i];
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 1; i < N; i++)
    v[i] += v[i - 1];
  for (int i = 0; i < N; i++)
    a[i] = v[i];
}
