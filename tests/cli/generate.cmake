# tessera generate / cosim: the accelerator tile (docs/tile-rtl.md, docs/cosim.md)
set(SMALL_ARCH ${PROJECT_SOURCE_DIR}/examples/arch/small-test.yaml)
set(GEN_OUT ${CMAKE_CURRENT_BINARY_DIR}/generate-out)
set(ACCEL_DATA ${PROJECT_SOURCE_DIR}/tests/data/accel)

tessera_cli_test(generate EXIT 0
  MATCH "generate: small-test: 4x4 PEs, dot 4, 4 lanes -> .*tessera_tile.\\{v,hw,h\\}, report.\\{html,json\\}.*hw IR: 6 modules"
  ARGS generate --arch ${SMALL_ARCH} -o ${GEN_OUT}/small --no-synth)
tessera_cli_test(generate-bad-spec-bad EXIT 1 MATCH "unknown-key-bad.yaml:[0-9]+:[0-9]+: error\\[unknown-key\\]"
  ARGS generate --arch ${PROJECT_SOURCE_DIR}/tests/data/arch/unknown-key-bad.yaml -o ${GEN_OUT}/bad)
tessera_cli_test(generate-missing-arch-bad EXIT 1 MATCH "error\\[io-error\\]"
  ARGS generate --arch /nonexistent/arch.yaml -o ${GEN_OUT}/bad)

# Co-simulation on Tessera's simulator: the example programs and random programs.
tessera_cli_test(cosim-gemm-tiled EXIT 0 TIMEOUT 900
  MATCH "cosim: .*gemm-tiled.s: match, RTL [0-9]+ cycles, golden model [0-9]+ cycles"
  ARGS cosim --arch ${SMALL_ARCH} --program ${ACCEL_DATA}/gemm-tiled.s)
tessera_cli_test(cosim-random EXIT 0 TIMEOUT 900
  MATCH "cosim: 10 random programs \\(seeds 500..509\\): all match"
  ARGS cosim --arch ${SMALL_ARCH} --random 10 --seed 500)
# GEMM cycles of the RTL against the performance model (docs/validation.md): dense, 2:4
# sparse and zero-skipped tiles, every format, within 5 %.
tessera_cli_test(cosim-gemm-timing EXIT 0 TIMEOUT 900
  MATCH "worst \\|error\\| vs the performance model: [0-9.]+% without zero skipping, [0-9.]+% with zero skipping"
  ARGS cosim --arch ${SMALL_ARCH} --gemm-timing --max-error 5)
tessera_cli_test(cosim-modes-bad EXIT 1
  MATCH "error\\[bad-argument\\]: give exactly one of --program FILE, --random N, --gemm-timing"
  ARGS cosim --arch ${SMALL_ARCH} --random 3 --gemm-timing)
tessera_cli_test(cosim-format-bad EXIT 1
  MATCH "error\\[unknown-format\\]: 'fp16' is not a tensor format of this tile"
  ARGS cosim --arch ${SMALL_ARCH} --random 3 --format fp16)
tessera_cli_test(cosim-asm-bad EXIT 1
  MATCH "out-of-range-bad.s:2:37: error\\[operand-out-of-range\\]"
  ARGS cosim --arch ${SMALL_ARCH} --program ${ACCEL_DATA}/out-of-range-bad.s)

# make test-all: 1,000 random programs per tensor format of the small-test tile (A in that
# format; B, sparsity, transposes, vector ops and stores random), in batches of 250.
foreach(fmt bf16 e4m3 e5m2 mxe4m3 mxe5m2)
  foreach(batch RANGE 3)
    math(EXPR seed "1000 + ${batch} * 250")
    math(EXPR last "${seed} + 249")
    tessera_cli_test(cosim-random-${fmt}-${batch} EXIT 0 TIMEOUT 1800
      MATCH "cosim: 250 random programs \\(seeds ${seed}..${last}, A format ${fmt}\\): all match"
      ARGS cosim --arch ${SMALL_ARCH} --random 250 --seed ${seed} --format ${fmt}
           -o ${GEN_OUT}/mismatch-${fmt})
    set_tests_properties(cli.cosim-random-${fmt}-${batch} PROPERTIES LABELS "cli;slow")
  endforeach()
endforeach()

# The emitted Verilog in Verilator with Tessera's Verilog testbench (the model is built once
# in the work directory, about two minutes): directed programs in make test, random ones in
# make test-all.
tessera_cli_test(cosim-verilator EXIT 0 TIMEOUT 900
  MATCH "cosim: .*quantize.s: match, RTL [0-9]+ cycles, golden model [0-9]+ cycles"
  ARGS cosim --arch ${SMALL_ARCH} --program ${ACCEL_DATA}/quantize.s --sim verilator
       --work-dir ${GEN_OUT}/verilator)
set_tests_properties(cli.cosim-verilator PROPERTIES RESOURCE_LOCK verilator-tile)
tessera_cli_test(cosim-verilator-random EXIT 0 TIMEOUT 1800
  MATCH "cosim: 50 random programs \\(seeds 7000..7049\\): all match"
  ARGS cosim --arch ${SMALL_ARCH} --random 50 --seed 7000 --sim verilator
       --work-dir ${GEN_OUT}/verilator-random -o ${GEN_OUT}/mismatch-verilator)
set_tests_properties(cli.cosim-verilator-random PROPERTIES LABELS "cli;slow"
                     RESOURCE_LOCK verilator-tile)
# Yosys coarse-grained synthesis of the whole default tile for the report (about 7 minutes
# of CPU on this machine).
tessera_cli_test(generate-synth EXIT 0 TIMEOUT 3900
  MATCH "generate: small-test: .*Yosys coarse cells: [1-9][0-9]*, \\\$macc [1-9]"
  ARGS generate --arch ${SMALL_ARCH} -o ${GEN_OUT}/small-synth --timeout 3600)
set_tests_properties(cli.generate-synth PROPERTIES LABELS "cli;slow")
# A valid arch spec whose parameters the generator cannot build: a located refusal naming
# the parameter, not a crash or a silently different tile.
tessera_cli_test(generate-mx-step-bad EXIT 1
  MATCH "generate-mx-step-bad.yaml: error\\[unsupported-parameter\\]: tensor unit: MX formats need .*at most 32 dense K per step.*up to 64"
  ARGS generate --arch ${PROJECT_SOURCE_DIR}/tests/data/accel/generate-mx-step-bad.yaml -o ${GEN_OUT}/bad)
tessera_cli_test(fpga-arch-mx-step-bad EXIT 1
  MATCH "generate-mx-step-bad.yaml: error\\[unsupported-parameter\\]"
  ARGS fpga --arch ${PROJECT_SOURCE_DIR}/tests/data/accel/generate-mx-step-bad.yaml --target xilinx -o ${GEN_OUT}/bad-fpga)
tessera_cli_test(cosim-arch-bad EXIT 1
  MATCH "generate-mx-step-bad.yaml: error\\[unsupported-parameter\\]"
  ARGS cosim --arch ${PROJECT_SOURCE_DIR}/tests/data/accel/generate-mx-step-bad.yaml --random 1)
# Large configurations generate (a100-like: 16x8 PEs, 64 lanes, ~250 k hw ops; the
# tessera-train-7nm tile, 16x16 PEs of 16 products, ~1.2 M ops, in make test-all).
tessera_cli_test(generate-large EXIT 0
  MATCH "generate: a100-like: 16x8 PEs, dot 8, 64 lanes .*hw IR: 6 modules, [0-9]+ ops"
  ARGS generate --arch ${PROJECT_SOURCE_DIR}/examples/arch/a100-like.yaml -o ${GEN_OUT}/a100-like --no-synth)
tessera_cli_test(generate-train-7nm EXIT 0 TIMEOUT 900
  MATCH "generate: tessera-train-7nm: 16x16 PEs, dot 16, 64 lanes .*hw IR: 6 modules"
  ARGS generate --arch ${PROJECT_SOURCE_DIR}/examples/arch/tessera-train-7nm.yaml -o ${GEN_OUT}/train-7nm --no-synth)
set_tests_properties(cli.generate-train-7nm PROPERTIES LABELS "cli;slow")
tessera_cli_test(generate-lanes-bad EXIT 1
  MATCH "h100-like.yaml: error\\[unsupported-parameter\\]: vector unit: lanes = 128 \\(the generator builds 1..64 lanes\\)"
  ARGS generate --arch ${PROJECT_SOURCE_DIR}/examples/arch/h100-like.yaml -o ${GEN_OUT}/bad)
