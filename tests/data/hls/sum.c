// Sum of an interface array with a pipelined loop.
int sum(const int a[64], int n) {
  int s = 0;
#pragma clang loop pipeline_initiation_interval(1)
  for (int i = 0; i < 64; i++)
    s += a[i];
  return s + n;
}
