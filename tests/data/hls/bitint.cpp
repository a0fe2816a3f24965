// _BitInt through hls::uint / hls::sint: argument and result widths come from the C types.
#include "tessera/hls.h"

hls::uint<12> mac12(hls::uint<12> a, hls::uint<12> b, hls::sint<7> c) {
  hls::uint<12> r = a * b;
  return r + (hls::uint<12>)c;
}
