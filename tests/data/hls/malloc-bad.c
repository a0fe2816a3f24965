#include <stdlib.h>
int top(int n) {
  int *p = (int *)malloc(16 * sizeof(int)); // expect-error[unsupported-construct]: dynamic allocation ('malloc')
  p[0] = n;
  int r = p[0];
  free(p);
  return r;
}
