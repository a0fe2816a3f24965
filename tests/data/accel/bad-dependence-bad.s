        ld      spad=0, dram=r1, rows=1, cols=32, gstride=32, lstride=32, src=bf16, dst=bf16, pop_prev
        halt
