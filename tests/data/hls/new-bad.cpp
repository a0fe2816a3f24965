int top(int n) {
  int *p = new int[8]; // expect-error[unsupported-construct]: dynamic allocation
  p[n & 7] = n;
  int r = p[0];
  delete[] p;
  return r;
}
