# tessera sim
set(SIM_DATA ${PROJECT_SOURCE_DIR}/tests/data/sim)
set(SIM_CACHE ${PROJECT_BINARY_DIR}/sim-cli-cache)

# Random inputs: the same checksum on both engines and from the same counter in Verilog
# (through Yosys), since the random stream and the checksum are defined per port.
set(COUNTER_SUM "checksum: 0x6c2f0b81d201b6e9")
tessera_cli_test(sim-counter-compiled EXIT 0 MATCH "ran 300 cycles.*${COUNTER_SUM}"
  ARGS sim ${SIM_DATA}/counter.hw --cycles 300 --cache-dir ${SIM_CACHE})
tessera_cli_test(sim-counter-interp EXIT 0 MATCH "engine: interp.*ran 300 cycles.*${COUNTER_SUM}"
  ARGS sim ${SIM_DATA}/counter.hw --cycles 300 --engine interp)
tessera_cli_test(sim-counter-verilog EXIT 0 MATCH "ran 300 cycles.*${COUNTER_SUM}"
  ARGS sim ${SIM_DATA}/counter.v --top counter --cycles 300 --cache-dir ${SIM_CACHE})
tessera_cli_test(sim-counter-batch EXIT 0
  MATCH "lanes: 3.*cycles x 3 lanes.*lane-cycles/s.*checksum lane 0: 0x6c2f0b81d201b6e9.*checksum lane 2: 0x"
  ARGS sim ${SIM_DATA}/counter.hw --cycles 300 --batch 3 --cache-dir ${SIM_CACHE})
tessera_cli_test(sim-counter-seed EXIT 0 MATCH "checksum: 0x[0-9a-f]+"
  ARGS sim ${SIM_DATA}/counter.hw --cycles 300 --seed 2 --engine interp)
tessera_cli_test(sim-counter-stimulus EXIT 0 MATCH "ran 6 cycles from .*counter.stim.*6 expected values matched"
  ARGS sim ${SIM_DATA}/counter.hw --stimulus ${SIM_DATA}/counter.stim --cache-dir ${SIM_CACHE})
tessera_cli_test(sim-counter-vcd EXIT 0 MATCH "waveforms: .*counter.vcd"
  ARGS sim ${SIM_DATA}/counter.hw --cycles 20 --vcd ${PROJECT_BINARY_DIR}/counter.vcd
       --vcd-from 2 --vcd-to 10 --engine interp)

tessera_cli_test(sim-counter-mismatch-bad EXIT 1
  MATCH "counter-mismatch.stim:9:1: error\\[sim-mismatch\\]: cycle 5: output 'q' expected 4, got 3"
  ARGS sim ${SIM_DATA}/counter.hw --stimulus ${SIM_DATA}/counter-mismatch.stim --engine interp)
tessera_cli_test(sim-stimulus-syntax-bad EXIT 1
  MATCH "counter-syntax-bad.stim:1:12: error\\[unknown-input\\]: unknown input 'enable'; did you mean 'en'\\?"
  ARGS sim ${SIM_DATA}/counter.hw --stimulus ${SIM_DATA}/counter-syntax-bad.stim --engine interp)
tessera_cli_test(sim-two-clocks-bad EXIT 1
  MATCH "error\\[multiple-clocks\\]: the design has more than one clock \\('c1' and 'c2'\\)"
  ARGS sim ${SIM_DATA}/two-clocks-bad.hw --engine interp)
tessera_cli_test(sim-verilog-no-top-bad EXIT 1 MATCH "error\\[bad-argument\\]: simulating Verilog needs --top"
  ARGS sim ${SIM_DATA}/counter.v)
tessera_cli_test(sim-bad-engine-bad EXIT 1 MATCH "error\\[bad-argument\\]: --engine is 'compiled' or 'interp'"
  ARGS sim ${SIM_DATA}/counter.hw --engine fast)
tessera_cli_test(sim-missing-file-bad EXIT 1 MATCH "error\\[io-error\\]"
  ARGS sim ${SIM_DATA}/nonexistent.hw)
tessera_cli_test(sim-unknown-top-bad EXIT 1 MATCH "error\\[unknown-top\\]: no module named 'countr'; did you mean 'counter'\\?"
  ARGS sim ${SIM_DATA}/counter.hw --top countr --engine interp)
