        li      r1, 4
body:   nop
        loop    r1, bdy
        halt
