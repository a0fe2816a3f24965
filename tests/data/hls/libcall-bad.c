// A function declared but not defined in the kernel: a library call.
extern int lookup(int key);
int top(int x) {
  int y = x * 3;
  return lookup(y) + 1; // expect-error[unsupported-construct]: call to 'lookup'
}
