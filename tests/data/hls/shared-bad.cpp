#include "tessera/hls.h"
TESSERA_SHARED unsigned get(const unsigned *p, unsigned i) { return p[i] + 1; } // expect-error[unsupported-construct]: 'get' cannot be a shared function
unsigned top(const unsigned a[8], unsigned i) { return get(a, i & 7) + get(a, (i + 1) & 7); }
