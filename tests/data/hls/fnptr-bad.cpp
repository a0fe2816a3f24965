static int inc(int x) { return x + 1; }
static int dec(int x) { return x - 1; }
int top(int x, int (*f)(int)) {
  int (*g)(int) = x > 0 ? inc : dec;
  return g(x) + f(x); // expect-error[unsupported-construct]: function pointer
}
