.equ TILE, 64
        li      r1, TILES * 2
        halt
