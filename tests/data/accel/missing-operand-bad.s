        vadd    d=0, a=16, n=16
        halt
