# m = 8 does not fit the 4 x 4 array of small-test.yaml.
        gemm    c=r1, a=r2, b=r3, m=8, n=4, k=16, lda=16, ldb=16, ldc=4, fa=bf16, fb=bf16
        halt
