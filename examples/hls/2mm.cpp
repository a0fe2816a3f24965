// 2mm (PolyBench/C 4.2): D = alpha * A * B * C + beta * D through a local tmp = alpha * A * B.
#define NI 6
#define NJ 7
#define NK 5
#define NL 8

void two_mm(int alpha, int beta, const int A[NI * NK], const int B[NK * NJ],
            const int C[NJ * NL], int D[NI * NL]) {
  int tmp[NI * NJ];
  for (int i = 0; i < NI; i++)
    for (int j = 0; j < NJ; j++) {
      int acc = 0;
#pragma clang loop pipeline_initiation_interval(1)
      for (int k = 0; k < NK; k++)
        acc += alpha * A[i * NK + k] * B[k * NJ + j];
      tmp[i * NJ + j] = acc;
    }
  for (int i = 0; i < NI; i++)
    for (int j = 0; j < NL; j++) {
      int acc = beta * D[i * NL + j];
#pragma clang loop pipeline_initiation_interval(1)
      for (int k = 0; k < NJ; k++)
        acc += tmp[i * NJ + k] * C[k * NL + j];
      D[i * NL + j] = acc;
    }
}
