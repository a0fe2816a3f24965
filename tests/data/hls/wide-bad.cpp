long long top(long long a, long long b) {
  __int128 p = (__int128)a * b; // expect-error[unsupported-width]: wider than 64 bits
  return (long long)(p >> 64);
}
