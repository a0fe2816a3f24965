// Quantize-on-store: an FP32 ACC tile to MXFP8 (E4M3 elements, E8M0 scales) with
// stochastic rounding and the "round scale up" rule, then an E5M2 gradient store with
// loss-scale prescaling, and the running amax / overflow status written to DRAM.
        li      r1, 0x1000          ; DRAM: MX elements
        li      r2, 0x2000          ; DRAM: MX scales
        li      r3, 0x3000          ; DRAM: e5m2 gradients
        li      r4, 0x3F00          ; DRAM: status
        fli     f2, 0.0078125       ; 1 / loss scale (2^-7)
        seed    state=0xACE1
        clrstat
        ldacc   acc=0, dram=0x4000, rows=4, cols=64, gstride=256, lstride=64, src=fp32, push_next
        csync   pop_prev, push_next
        st      acc=0, dram=r1, rows=4, cols=64, gstride=64, lstride=64, fmt=mxe4m3, scales=r2, sr, scale_up, pop_prev
        st      acc=0, dram=r3, rows=4, cols=64, gstride=64, lstride=64, fmt=e5m2, prescale=f2, sat
        ststat  dram=r4
        halt
