        ld      spad=0, dram=r1, rows=1, cols=32, gstride=32, lstride=32, src=e4m4, dst=e4m3
        halt
