#include "tessera/hls.h"
int top(const int a[16], int k) {
  int buf[16] TESSERA_PARTITION(cyclc, 4); // expect-error[bad-attribute]: unknown partitioning 'cyclc'
  for (int i = 0; i < 16; i++)
    buf[(i + k) & 15] = a[i];
  return buf[k & 15];
}
