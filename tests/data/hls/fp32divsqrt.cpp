// Division and square root of tessera/hls.h: a 64-bit divider and a fully unrolled digit
// recurrence, no loop left.
#include "tessera/hls.h"

hls::fp32 norm(hls::fp32 a, hls::fp32 b) { return hls::sqrt(a / b); }
