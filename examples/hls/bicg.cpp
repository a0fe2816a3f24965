// bicg (PolyBench/C 4.2, the BiCG sub-kernel): s = A^T r, q = A p, A is N x M.
#define N 8
#define M 9

void bicg(const int A[N * M], const int r[N], const int p[M], int s[M], int q[N]) {
  for (int j = 0; j < M; j++)
    s[j] = 0;
  for (int i = 0; i < N; i++) {
    int acc = 0;
#pragma clang loop pipeline_initiation_interval(1)
    for (int j = 0; j < M; j++) {
      s[j] += r[i] * A[i * M + j];
      acc += A[i * M + j] * p[j];
    }
    q[i] = acc;
  }
}
