# Vector unit: softmax pieces over 4 rows of 16, GELU, and one AdamW step on 64 params.
        fli     f0, 1e-3            # lr
        fli     f1, 0.9             # beta1
        fli     f2, 0.1             # 1 - beta1
        fli     f3, 0.999           # beta2
        fli     f4, 0.001           # 1 - beta2
        fli     f5, 1e-8            # eps
        fli     f6, 0.99999         # 1 - lr * weight_decay
        fli     f7, 10              # 1 / (1 - beta1^t), t = 1
        fli     f8, 1000            # 1 / (1 - beta2^t)
        fli     f9, -1
        vamax   d=64, a=0, n=64, seg=16            # per-row max |x| (4 results)
        vmuls   d=68, a=64, f=f9, n=4              # negate
        vadd    d=0, a=0, b=68, n=64, seg=16, bcast   # x - rowmax
        vexp    d=0, a=0, n=64
        vsum    d=72, a=0, n=64, seg=16
        vrsqrt  d=76, a=72, n=4
        vgelu   d=80, a=80, n=16
        vfill   d=96, f=f0, n=4
        vmax    d=100, a=100, b=96, n=4
        vsub    d=104, a=104, b=96, n=4
        vmul    d=108, a=108, b=96, n=4
        vadds   d=112, a=112, f=f5, n=4
        vadamw  p=128, g=192, mv=r1+0, n=16, hp=f0
        halt
