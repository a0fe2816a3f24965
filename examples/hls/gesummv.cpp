// gesummv (PolyBench/C 4.2): y = alpha * A x + beta * B x, N x N.
#define N 10

void gesummv(int alpha, int beta, const int A[N * N], const int B[N * N], const int x[N],
             int y[N]) {
  for (int i = 0; i < N; i++) {
    int t = 0, u = 0;
#pragma clang loop pipeline_initiation_interval(1)
    for (int j = 0; j < N; j++) {
      t += A[i * N + j] * x[j];
      u += B[i * N + j] * x[j];
    }
    y[i] = alpha * t + beta * u;
  }
}
