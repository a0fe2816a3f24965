        addi    r16, r1, 4
        halt
