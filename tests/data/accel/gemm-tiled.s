# C[4 x 4] = A[4 x 256] x B[4 x 256]^T in e4m3 on the small-test tile (4x4 PEs, W = 4),
# K tiled by 64 with double-buffered SPAD operands: the load queue fills buffer 0/1 while
# the compute queue multiplies the other; tokens (VTA style) order the two queues.
.equ KT, 64                 # K per tile
.equ NT, 256 / KT           # tiles along K
.equ BUF, 2 * 4 * KT        # bytes of one A+B buffer (e4m3: 1 byte per element)

        li      r1, 0x10000         # DRAM: A (row-major, 256 bytes per row)
        li      r2, 0x20000         # DRAM: B^T (row-major, 256 bytes per row)
        li      r3, 0               # SPAD buffer base
        li      r4, NT              # loop counter
        li      r9, 0               # ACC base of C
        li      r10, 0x30000        # DRAM: C as bf16
        li      r8, BUF             # the other buffer is at BUF - r3
# Prime the "buffer free" tokens: compute -> load, twice (double buffering).
        csync   push_prev
        csync   push_prev
tile:
        ld      spad=r3, dram=r1, rows=4, cols=KT, gstride=256, lstride=KT, src=e4m3, dst=e4m3, pop_next
        ld      spad=r3+4*KT, dram=r2, rows=4, cols=KT, gstride=256, lstride=KT, src=e4m3, dst=e4m3, push_next
        addi    r5, r3, 4*KT        # B operand address
        gemm    c=r9, a=r3, b=r5, m=4, n=4, k=KT, lda=KT, ldb=KT, ldc=4, fa=e4m3, fb=e4m3, acc, zs=a, pop_prev, push_prev
        addi    r1, r1, KT
        addi    r2, r2, KT
        sub     r3, r8, r3          # switch buffers
        loop    r4, tile
        csync   push_next
        st      acc=r9, dram=r10, rows=4, cols=4, gstride=8, lstride=4, fmt=bf16, pop_prev
        halt
