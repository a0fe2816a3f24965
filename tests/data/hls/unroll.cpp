// Partial unrolling by pragma; the loop without a pragma is not unrolled.
#define N 32
void scale(int out[N], const int in[N], int k) {
#pragma clang loop unroll_count(4)
  for (int i = 0; i < N; i++)
    out[i] = in[i] * k;
  for (int i = 0; i < 8; i++)
    out[i] += 1;
}
