        li      r1, 16
        gemn    c=r1, a=r2, b=r3, m=4, n=4, k=16, lda=16, ldb=16, ldc=4, fa=bf16, fb=bf16
        halt
