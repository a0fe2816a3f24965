# tessera verilog: hw IR -> Verilog, and Verilog -> hw IR through Yosys
set(VLOG_DIR ${PROJECT_SOURCE_DIR}/tests/data/verilog)

tessera_cli_test(verilog-emit EXIT 0
  MATCH "module acc \\(.*output reg \\[15:0\\] sum.*module accumulate \\(.*for \\(gi = 0; gi < 2; gi = gi \\+ 1\\) begin : lanes.*\\.x\\(ab\\[gi\\*8 \\+: 8\\]\\).*coefs\\[3\\] = 8'd4;"
  ARGS verilog ${VLOG_DIR}/accumulate.hw)
tessera_cli_test(verilog-emit-file EXIT 0 MATCH "^$"
  ARGS verilog ${VLOG_DIR}/accumulate.hw -o ${CMAKE_CURRENT_BINARY_DIR}/accumulate.v)
tessera_cli_test(verilog-import EXIT 0
  MATCH "hw.module @counter\\(.*in %clk: i1.*out count: i8.*%count = reg %clk, %[0-9a-z_]+ reset %rst( enable %[0-9a-z_]+)? init 3 : i8 loc\\(\"[^\"]*counter.v\":12:3\\)"
  ARGS verilog --import ${VLOG_DIR}/counter.v --top counter)
tessera_cli_test(verilog-import-hierarchy EXIT 0
  MATCH "hw.module @mac__W_8.*hw.module @array.*instance \"stage\\[0\\].u\" @mac__W_8"
  ARGS verilog --import ${VLOG_DIR}/array.v --top array --no-locs)
tessera_cli_test(verilog-import-flatten EXIT 0
  MATCH "hw.top @array[^@]*hw.module @array\\([^@]*%stage_3_.u.acc = reg %clk, %[0-9]+ reset %rst : i16 name \"stage\\[3\\].u.acc\""
  ARGS verilog --import ${VLOG_DIR}/array.v --top array --flatten --no-locs)
tessera_cli_test(verilog-import-file EXIT 0 MATCH "^$"
  ARGS verilog --import ${VLOG_DIR}/memory.v --top memory -o ${CMAKE_CURRENT_BINARY_DIR}/memory.hw)

tessera_cli_test(verilog-import-negedge-bad EXIT 1
  MATCH "negedge-bad.v:7:3: error\\[unsupported-cell\\]: unsupported cell type '\\$dff' \\(cell '\\$procdff\\$[0-9]+'\\): negative-edge flip-flops are not supported"
  ARGS verilog --import ${VLOG_DIR}/negedge-bad.v --top negedge_bad)
tessera_cli_test(verilog-import-latch-bad EXIT 1
  MATCH "latch-bad.v:6:3: error\\[unsupported-cell\\]: unsupported cell type '\\$dlatch'.*latches are not supported"
  ARGS verilog --import ${VLOG_DIR}/latch-bad.v --top latch_bad)
tessera_cli_test(verilog-import-no-top-bad EXIT 1 MATCH "error\\[missing-top\\]"
  ARGS verilog --import ${VLOG_DIR}/counter.v)
tessera_cli_test(verilog-import-unknown-top-bad EXIT 1
  MATCH "error\\[yosys-error\\]: Module `counte' not found"
  ARGS verilog --import ${VLOG_DIR}/counter.v --top counte)
tessera_cli_test(verilog-import-missing-file-bad EXIT 1 MATCH "error\\[io-error\\]: cannot open 'nope.v'"
  ARGS verilog --import nope.v --top nope)
tessera_cli_test(verilog-emit-invalid-bad EXIT 1
  MATCH "width-bad.hw:2:3: error\\[width-mismatch\\]"
  ARGS verilog ${VLOG_DIR}/width-bad.hw)
tessera_cli_test(verilog-emit-missing-bad EXIT 1 MATCH "error\\[io-error\\]"
  ARGS verilog nope.hw)
tessera_cli_test(verilog-emit-two-files-bad EXIT 1 MATCH "error\\[bad-argument\\]"
  ARGS verilog ${VLOG_DIR}/accumulate.hw ${VLOG_DIR}/width-bad.hw)
