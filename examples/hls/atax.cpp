// atax (PolyBench/C 4.2): y = A^T (A x), A is M x N.
#define M 8
#define N 10

void atax(const int A[M * N], const int x[N], int y[N]) {
  int tmp[M];
  for (int j = 0; j < N; j++)
    y[j] = 0;
  for (int i = 0; i < M; i++) {
    int acc = 0;
#pragma clang loop pipeline_initiation_interval(1)
    for (int j = 0; j < N; j++)
      acc += A[i * N + j] * x[j];
    tmp[i] = acc;
  }
  for (int i = 0; i < M; i++)
#pragma clang loop pipeline_initiation_interval(1)
    for (int j = 0; j < N; j++)
      y[j] += A[i * N + j] * tmp[i];
}
