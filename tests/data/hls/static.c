// A `static` top, C99 `[static N]` array parameters, a scalar static variable and a
// function the top does not call (dropped before the pipeline).
static int calls = 5;

int unused(int x) { return x * 2; }

static int clampsum(const short a[static 8], int lo, int hi) {
  int s = calls;
  for (int i = 0; i < 8; i++)
    s += a[i];
  return s < lo ? lo : s > hi ? hi : s;
}
