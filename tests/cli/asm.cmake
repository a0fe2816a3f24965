# tessera asm / disasm: the tile assembler (docs/isa.md)
set(ASM_DIR ${PROJECT_SOURCE_DIR}/tests/data/accel)
set(SMALL_ARCH ${PROJECT_SOURCE_DIR}/examples/arch/small-test.yaml)

tessera_cli_test(asm EXIT 0 MATCH "gemm-tiled.s: 20 instructions, 320 bytes -> .*gemm-tiled.bin"
  ARGS asm ${ASM_DIR}/gemm-tiled.s --arch ${SMALL_ARCH} -o ${CMAKE_CURRENT_BINARY_DIR}/gemm-tiled.bin)
tessera_cli_test(asm-no-arch EXIT 0 MATCH "quantize.s: 13 instructions, 208 bytes"
  ARGS asm ${ASM_DIR}/quantize.s -o ${CMAKE_CURRENT_BINARY_DIR}/quantize.bin)
tessera_cli_test(disasm EXIT 0
  MATCH "L9:.*  ld spad=r3, dram=r1, rows=4, cols=64, gstride=256, lstride=64, src=e4m3, dst=e4m3, pop_next.*  gemm c=r9, a=r3, b=r5, m=4, n=4, k=64, lda=64, ldb=64, ldc=4, fa=e4m3, fb=e4m3, zs=a, acc, pop_prev, push_prev.*  loop r4, L9.*  halt"
  ARGS disasm ${CMAKE_CURRENT_BINARY_DIR}/gemm-tiled.bin)
set_tests_properties(cli.disasm PROPERTIES DEPENDS cli.asm)

tessera_cli_test(asm-unknown-mnemonic-bad EXIT 1
  MATCH "unknown-mnemonic-bad.s:2:9: error\\[unknown-mnemonic\\]: unknown mnemonic 'gemn'.*gemn    c=r1.*\\^.*did you mean 'gemm'.*1 error"
  ARGS asm ${ASM_DIR}/unknown-mnemonic-bad.s -o ${CMAKE_CURRENT_BINARY_DIR}/bad.bin)
tessera_cli_test(asm-out-of-range-bad EXIT 1
  MATCH "out-of-range-bad.s:2:37: error\\[operand-out-of-range\\]: m = 8 exceeds the array's 4 rows"
  ARGS asm ${ASM_DIR}/out-of-range-bad.s --arch ${SMALL_ARCH} -o ${CMAKE_CURRENT_BINARY_DIR}/bad.bin)
tessera_cli_test(asm-unsupported-format-bad EXIT 1
  MATCH "unsupported-format-bad.s:1:77: error\\[unsupported-format\\]: the tensor unit of this tile does not multiply fp16"
  ARGS asm ${ASM_DIR}/unsupported-format-bad.s --arch ${SMALL_ARCH} -o ${CMAKE_CURRENT_BINARY_DIR}/bad.bin)
tessera_cli_test(asm-bad-dependence-bad EXIT 1
  MATCH "bad-dependence-bad.s:1:95: error\\[bad-dependence\\]: 'ld' is in the load queue, which has no previous queue"
  ARGS asm ${ASM_DIR}/bad-dependence-bad.s -o ${CMAKE_CURRENT_BINARY_DIR}/bad.bin)
tessera_cli_test(asm-undefined-symbol-bad EXIT 1
  MATCH "undefined-symbol-bad.s:2:21: error\\[undefined-symbol\\]: undefined symbol 'TILES'.*did you mean 'TILE'"
  ARGS asm ${ASM_DIR}/undefined-symbol-bad.s -o ${CMAKE_CURRENT_BINARY_DIR}/bad.bin)
tessera_cli_test(asm-arch-bad EXIT 1 MATCH "error\\[unknown-key\\]"
  ARGS asm ${ASM_DIR}/quantize.s --arch ${PROJECT_SOURCE_DIR}/tests/data/arch/unknown-key-bad.yaml)
tessera_cli_test(asm-missing-file-bad EXIT 1 MATCH "error\\[io-error\\]"
  ARGS asm /nonexistent/prog.s)
tessera_cli_test(disasm-truncated-bad EXIT 1
  MATCH "error\\[bad-binary\\]: size 1[0-9]+ bytes is not a multiple of the 16-byte instruction word"
  ARGS disasm ${ASM_DIR}/gemm-tiled.s)
