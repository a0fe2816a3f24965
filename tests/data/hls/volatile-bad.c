int top(int x) {
  volatile int v = x; // expect-error[unsupported-construct]: volatile
  return v + 1;
}
