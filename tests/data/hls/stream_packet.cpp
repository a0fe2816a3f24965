// A packetiser with a data-dependent length: the first element is a count (0..15), that
// many payload elements follow; writes count, the payload plus one each, and their sum.
// Sequential control (no pipeline pragma): every stream op waits in its FSM state.
#include "tessera/hls.h"

unsigned packet(hls::stream<unsigned> &in TESSERA_DEPTH(16), hls::stream<unsigned> &out) {
  unsigned n = in.read() & 15;
  out.write(n);
  unsigned sum = 0;
  for (unsigned i = 0; i < n; ++i) {
    unsigned v = in.read();
    sum += v;
    out.write(v + 1);
  }
  out.write(sum);
  return n;
}
