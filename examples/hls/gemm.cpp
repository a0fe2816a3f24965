// GEMM (PolyBench/C 4.2 "gemm", integer): C = alpha * A * B + beta * C, 8 x 8 x 8.
// The k loop is pipelined: one multiply-accumulate per cycle.
#define N 8

void gemm(int alpha, int beta, int C[N * N], const int A[N * N], const int B[N * N]) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      int acc = 0;
#pragma clang loop pipeline_initiation_interval(1)
      for (int k = 0; k < N; k++)
        acc += A[i * N + k] * B[k * N + j];
      C[i * N + j] = alpha * acc + beta * C[i * N + j];
    }
}
