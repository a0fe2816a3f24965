#include "tessera/hls.h"
void top(hls::stream<int> &s TESSERA_DEPTH(4)) { // expect-error[unsupported-construct]: both read and written
  int v = s.read();
  s.write(v + 1);
}
