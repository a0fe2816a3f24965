// A call cycle through two functions.
static int odd(int n);
static int even(int n) { return n == 0 ? 1 : odd(n - 1); }
static int odd(int n) {
  return n == 0 ? 0 : even(n - 1); // expect-error[unsupported-construct]: recursion: 'even' -> 'odd' -> 'even'
}
int top(int n) { return even(n); }
