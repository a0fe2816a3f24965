// A pointer parameter without a declared size or TESSERA_DEPTH.
int top(const int *a, // expect-error[unknown-depth]: depth of interface array 'a'
        int n) {
  return a[n];
}
