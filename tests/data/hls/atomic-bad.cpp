int top(int p[1], int x) {
  return __atomic_fetch_add(p, x, __ATOMIC_SEQ_CST); // expect-error[unsupported-construct]: atomic
}
