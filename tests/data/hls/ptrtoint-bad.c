long top(int a[4], int i) {
  long addr = (long)&a[i]; // expect-error[unsupported-construct]: pointer
  return addr & 15;
}
