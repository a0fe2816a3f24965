# tessera fpga: Yosys synthesis (xilinx, ice40) and nextpnr-ice40 place-and-route
set(FPGA_DIR ${PROJECT_SOURCE_DIR}/tests/data/fpga)
set(FPGA_OUT ${CMAKE_CURRENT_BINARY_DIR}/fpga-out)

tessera_cli_test(fpga-xilinx-verilog EXIT 0
  MATCH "fpga: mac on xilinx xc7a35t.*DSP48E1: [1-9][0-9]* / 90.*note: no Fmax.*report: .*fpga.html"
  ARGS fpga ${FPGA_DIR}/mac.v --top mac --target xilinx -o ${FPGA_OUT}/xilinx-mac)
tessera_cli_test(fpga-xilinx-hw EXIT 0
  MATCH "fpga: mac_hw on xilinx xc7a35t.*DSP48E1: 1 / 90.*IO: 50 / 250"
  ARGS fpga ${FPGA_DIR}/mac.hw --target xilinx --device xc7a35t -o ${FPGA_OUT}/xilinx-mac-hw)
tessera_cli_test(fpga-ice40 EXIT 0
  MATCH "fpga: counter on ice40 hx1k \\(tq144\\).*ICESTORM_LC: [1-9][0-9]* / 1280.*Fmax clk: [1-9][0-9.]* MHz \\(target 25 MHz\\)"
  ARGS fpga ${FPGA_DIR}/counter.v --top counter --target ice40 --clock-mhz 25 -o ${FPGA_OUT}/ice40-counter)

tessera_cli_test(fpga-unknown-target-bad EXIT 1
  MATCH "error\\[unknown-target\\]: unknown FPGA target 'ice4' \\(expected xilinx or ice40\\).*did you mean 'ice40'"
  ARGS fpga ${FPGA_DIR}/counter.v --top counter --target ice4 -o ${FPGA_OUT}/fpga-unknown-target-bad)
tessera_cli_test(fpga-unknown-device-bad EXIT 1
  MATCH "error\\[unknown-device\\]: unknown ice40 device 'up5' .*did you mean 'up5k'"
  ARGS fpga ${FPGA_DIR}/counter.v --top counter --target ice40 --device up5 -o ${FPGA_OUT}/fpga-unknown-device-bad)
tessera_cli_test(fpga-missing-top-bad EXIT 1
  MATCH "error\\[missing-top\\]: the top module is not given \\(--top NAME\\)"
  ARGS fpga ${FPGA_DIR}/counter.v --target xilinx -o ${FPGA_OUT}/fpga-missing-top-bad)
tessera_cli_test(fpga-unknown-top-bad EXIT 1
  MATCH "error\\[yosys-error\\]: Module `nope' not found"
  ARGS fpga ${FPGA_DIR}/counter.v --top nope --target xilinx -o ${FPGA_OUT}/fpga-unknown-top-bad)
tessera_cli_test(fpga-syntax-bad EXIT 1
  MATCH "syntax-bad.v:8: error\\[yosys-error\\]: syntax error, unexpected TOK_ENDMODULE.*endmodule"
  ARGS fpga ${FPGA_DIR}/syntax-bad.v --top syntax_bad --target xilinx -o ${FPGA_OUT}/fpga-syntax-bad)
tessera_cli_test(fpga-too-large-bad EXIT 1
  MATCH "error\\[design-too-large\\]: design too large for ice40 hx1k: needs [0-9]+ ICESTORM_LC .*the device has 1280"
  ARGS fpga ${FPGA_DIR}/wide-bad.v --top wide_bad --target ice40 --device hx1k -o ${FPGA_OUT}/fpga-too-large-bad)
tessera_cli_test(fpga-invalid-hw-bad EXIT 1
  MATCH "width-bad.hw:3:3: error\\[width-mismatch\\]"
  ARGS fpga ${FPGA_DIR}/width-bad.hw --target xilinx -o ${FPGA_OUT}/fpga-invalid-hw-bad)
tessera_cli_test(fpga-missing-file-bad EXIT 1 MATCH "error\\[io-error\\]: cannot open 'nope.v'"
  ARGS fpga nope.v --top nope --target xilinx -o ${FPGA_OUT}/fpga-missing-file-bad)
