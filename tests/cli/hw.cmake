# tessera hw print|verify|opt: the hw IR text tools
set(HW_DIR ${PROJECT_SOURCE_DIR}/tests/data/hw)

tessera_cli_test(hw-print EXIT 0
  MATCH "hw.module @counter\\(in %clk: i1, in %rst: i1, in %en: i1, out count: i16, out wrap: i1\\) loc\\(\"counter.v\":1:1\\) \\{.*%count = reg %clk, %next reset %rst enable %en : i16"
  ARGS hw print ${HW_DIR}/counter.hw)
tessera_cli_test(hw-print-no-locs EXIT 0
  MATCH "init \\[0, 1, 2, 3, 4, 5, 6, 7\\][^a-z(]+memory @shadow.*%rd = memread @regs\\[%ra\\] clock %clk enable %re : i32[^a-z(]+%rd_async"
  ARGS hw print --no-locs ${HW_DIR}/memories.hw)
tessera_cli_test(hw-verify EXIT 0 MATCH "hierarchy.hw: ok \\(3 modules, 16 ops\\)"
  ARGS hw verify ${HW_DIR}/hierarchy.hw)
tessera_cli_test(hw-opt EXIT 0
  MATCH "%k7 = const 7 : i8.*%m1 = mul %a, %k7 : i8.*output %m1 -> o.*output %m1 -> p.*hw opt: 13 -> 6 ops"
  ARGS hw opt ${HW_DIR}/opt-input.hw)
tessera_cli_test(hw-opt-file EXIT 0 MATCH "hw opt: 64 -> 64 ops"
  ARGS hw opt ${HW_DIR}/alu.hw -o ${CMAKE_CURRENT_BINARY_DIR}/alu-opt.hw)
tessera_cli_test(hw-opt-passes EXIT 0 MATCH "%neg = const 255 : i8"
  ARGS hw opt --passes const-fold ${HW_DIR}/pe-array.hw)

tessera_cli_test(hw-verify-cycle-bad EXIT 1
  MATCH "comb-cycle-bad.hw:3:3: error\\[comb-cycle\\]: combinational cycle %x -> %y -> %z -> %x in module 'm'.*%x = add %a, %z : i8.*\\^.*comb-cycle-bad.hw:4:3: note: %y \\(xor\\)"
  ARGS hw verify ${HW_DIR}/comb-cycle-bad.hw)
tessera_cli_test(hw-verify-width-bad EXIT 1
  MATCH "width-mismatch-bad.hw:3:3: error\\[width-mismatch\\]: 'add' %x in module 'm': operands have widths 8 and 16.*1 error"
  ARGS hw verify ${HW_DIR}/width-mismatch-bad.hw)
tessera_cli_test(hw-print-parse-bad EXIT 1
  MATCH "unknown-op-bad.hw:3:8: error\\[unknown-op\\]: unknown op 'addd'.*did you mean 'add'"
  ARGS hw print ${HW_DIR}/unknown-op-bad.hw)
tessera_cli_test(hw-print-invalid-bad EXIT 1 MATCH "error\\[undriven-output\\]"
  ARGS hw print ${HW_DIR}/undriven-output-bad.hw)
tessera_cli_test(hw-opt-pass-name-bad EXIT 1
  MATCH "error\\[bad-value\\]: unknown pass 'csee'.*did you mean 'cse'"
  ARGS hw opt --passes csee ${HW_DIR}/counter.hw)
tessera_cli_test(hw-missing-file-bad EXIT 1 MATCH "error\\[io-error\\]"
  ARGS hw verify /nonexistent/design.hw)
