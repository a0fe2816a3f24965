// A pointer that may point into either of two arrays has no single memory.
int top(const int a[8], const int b[8], int c, int i) {
  const int *p = c ? a : b; // expect-error[unsupported-construct]: different arrays
  return p[i & 7];
}
