# tessera compile / run: models compiled to the tile, run on the golden model and checked
# against PyTorch (docs/compiler.md). tests/python/torch_reference.py writes the model,
# its inputs and PyTorch's forward outputs / one-training-step results into the build tree
# (fixture torch-ref-<model>); each case compiles, runs and compares with compare.py
# (an optional last argument tags the case name):
#
#   cli.compile-<model>-<mode>-<policy>   tessera compile ... -o PROG     (fixture prog-*)
#   cli.run-<model>-<mode>-<policy>       tessera run PROG --outputs OUT  (fixture out-*)
#   cli.compare-<model>-<mode>-<policy>   compare.py REF OUT --rtol X
#
# Tolerances: fp32 policy 1e-5 relative to the tensor's largest magnitude (the issue's
# bound); bf16 2e-2 (docs/compiler.md derives it: three GEMM layers of BF16 operands,
# u = 2^-8 per operand). tests/python/export_models.py's tiny_cnn (average pooling,
# sigmoid) is the unsupported-op case; the CNN's training step on the small tile the
# does-not-fit case. Updated parameters are judged with compare.py --adamw (AdamW's
# step-1 update g / (|g| + eps) amplifies the rounding of near-zero gradients).
set(TORCH_REF_DIR ${CMAKE_CURRENT_BINARY_DIR}/torch-ref)
set(COMPILE_OUT ${CMAKE_CURRENT_BINARY_DIR}/compile-out)
set(TRAIN_ARCH ${PROJECT_SOURCE_DIR}/examples/arch/tessera-train-7nm.yaml)
set(SMALL_ARCH ${PROJECT_SOURCE_DIR}/examples/arch/small-test.yaml)

foreach(model mlp cnn encoder resnet18)
  add_test(NAME fixture.torch-ref-${model}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/torch_reference.py
            ${model} ${TORCH_REF_DIR})
  set_tests_properties(fixture.torch-ref-${model} PROPERTIES
    FIXTURES_SETUP torch-ref-${model} LABELS cli TIMEOUT 120)
endforeach()

# compile -> run -> compare for one model / mode (forward | train) / policy / arch.
function(tessera_compile_case model mode policy arch rtol)
  set(name ${model}-${mode}-${policy}${ARGN})
  set(prog ${COMPILE_OUT}/${name})
  set(out ${COMPILE_OUT}/${name}.npz)
  set(train_flag)
  set(ref ${TORCH_REF_DIR}/${model}.forward.npz)
  set(extra)
  if(mode STREQUAL "train")
    set(train_flag --train)
    set(ref ${TORCH_REF_DIR}/${model}.train.npz)
    set(extra --adamw 1e-3 1e-8)
  endif()
  tessera_cli_test(compile-${name} EXIT 0
    MATCH "compiled '.*' \\(.*policy ${policy}\\) .*instructions"
    FIXTURE torch-ref-${model}
    ARGS compile ${TORCH_REF_DIR}/${model}.onnx --arch ${arch} ${train_flag} --policy ${policy}
         -o ${prog})
  set_tests_properties(cli.compile-${name} PROPERTIES FIXTURES_SETUP prog-${name})
  add_test(NAME cli.run-${name}
    COMMAND ${TESSERA_EXE} run ${prog} --inputs ${TORCH_REF_DIR}/${model}.inputs.npz
            --backend cycle --outputs ${out} --report ${prog}-report)
  set_tests_properties(cli.run-${name} PROPERTIES
    FIXTURES_REQUIRED "prog-${name};torch-ref-${model}" FIXTURES_SETUP out-${name}
    LABELS cli TIMEOUT 120)
  add_test(NAME cli.compare-${name}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/compare.py
            ${ref} ${out} --rtol ${rtol} ${extra})
  set_tests_properties(cli.compare-${name} PROPERTIES
    FIXTURES_REQUIRED "out-${name};torch-ref-${model}" LABELS cli TIMEOUT 60)
endfunction()

tessera_compile_case(mlp forward fp32 ${TRAIN_ARCH} 1e-5)
tessera_compile_case(mlp train fp32 ${TRAIN_ARCH} 1e-5)
tessera_compile_case(mlp forward bf16 ${TRAIN_ARCH} 2e-2)
tessera_compile_case(mlp train bf16 ${TRAIN_ARCH} 2e-2)
# The RTL-sized tile: 4x4 PEs, 16 KiB SPAD, 256 ACC words (many K / N / row tiles).
tessera_compile_case(mlp train fp32 ${SMALL_ARCH} 1e-5 -small)
# MXFP8 (E4M3 elements, 3 mantissa bits: u = 2^-4 per operand): a working tolerance of
# 0.25 for the forward pass (measured 7.8e-2); the GEMM itself is checked exactly against
# the host's quantization in tests/unit/compiler.
tessera_compile_case(mlp forward mxfp8 ${TRAIN_ARCH} 2.5e-1)
tessera_compile_case(cnn forward mxfp8 ${TRAIN_ARCH} 2.5e-1)
tessera_compile_case(encoder forward mxfp8 ${TRAIN_ARCH} 2.5e-1)
tessera_compile_case(cnn forward fp32 ${TRAIN_ARCH} 1e-5)
tessera_compile_case(cnn forward bf16 ${TRAIN_ARCH} 2e-2)
tessera_compile_case(cnn forward fp32 ${SMALL_ARCH} 1e-5 -small)
# One CNN training step (conv / batch-norm / max-pool / global-pool backward, AdamW).
tessera_compile_case(cnn train fp32 ${TRAIN_ARCH} 1e-5)
# nn.TransformerEncoderLayer(32, 4 heads, 64): forward and one training step.
tessera_compile_case(encoder forward fp32 ${TRAIN_ARCH} 1e-5)
tessera_compile_case(encoder forward bf16 ${TRAIN_ARCH} 2e-2)
tessera_compile_case(encoder train fp32 ${TRAIN_ARCH} 1e-5)
# ResNet-18 at 64x64 (tests/python/torch_reference.py's default size): bf16 about 3 s on
# the golden model; fp32 (six products per GEMM) about 15 s. Both are in `make test`: the
# issue's FP32 bound (1e-5) covers ResNet-18's forward pass too.
tessera_compile_case(resnet18 forward bf16 ${TRAIN_ARCH} 2e-2)
tessera_compile_case(resnet18 forward fp32 ${TRAIN_ARCH} 1e-5)

# The cycle backend prints the per-op cycle table.
tessera_cli_test(run-cycle-table EXIT 0
  MATCH "ran '.*' on cycle: [0-9]+ cycles.*op +name +kind +cycles.*/fc1/Gemm +matmul +[0-9]+"
  FIXTURE prog-mlp-forward-fp32
  ARGS run ${COMPILE_OUT}/mlp-forward-fp32 --inputs ${TORCH_REF_DIR}/mlp.inputs.npz --backend cycle)
set_tests_properties(cli.run-cycle-table PROPERTIES FIXTURES_REQUIRED "prog-mlp-forward-fp32;torch-ref-mlp")

# Errors name the op (and the arch spec for a missing format).
file(READ ${SMALL_ARCH} small_arch_text)
string(REPLACE "- {format: bf16, rate: 1, sparse: true}" "" no_bf16_text "${small_arch_text}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/no-bf16.yaml "${no_bf16_text}")
tessera_cli_test(compile-unsupported-op-bad EXIT 1
  MATCH "tiny_cnn.onnx: error\\[unsupported-op\\]: op '/avg/AveragePool' \\(avgpool2d\\): no lowering.*also without a lowering: sigmoid"
  FIXTURE onnx-models
  ARGS compile ${PROJECT_BINARY_DIR}/onnx-models/tiny_cnn.onnx --arch ${TRAIN_ARCH} -o ${COMPILE_OUT}/bad)
tessera_cli_test(compile-does-not-fit-bad EXIT 1
  MATCH "cnn.onnx: error\\[does-not-fit\\]: op '/pool/MaxPool.dgrad' \\(pool-grad\\): five output planes and an input plane does not fit the tile \\(SPAD 16384 bytes, ACC 256 words\\)"
  FIXTURE torch-ref-cnn
  ARGS compile ${TORCH_REF_DIR}/cnn.onnx --train --arch ${SMALL_ARCH} -o ${COMPILE_OUT}/bad)
tessera_cli_test(compile-unsupported-format-bad EXIT 1
  MATCH "mlp.onnx: error\\[unsupported-format\\]: op '/fc1/Gemm' \\(matmul\\): policy bf16 needs bf16 tensor-unit operands, which the tile of '.*no-bf16.yaml' lacks"
  FIXTURE torch-ref-mlp
  ARGS compile ${TORCH_REF_DIR}/mlp.onnx --arch ${CMAKE_CURRENT_BINARY_DIR}/no-bf16.yaml
       --policy bf16 -o ${COMPILE_OUT}/bad)
tessera_cli_test(compile-missing-model-bad EXIT 1 MATCH "error\\[onnx-read\\]"
  ARGS compile does-not-exist.onnx --arch ${TRAIN_ARCH} -o ${COMPILE_OUT}/bad)
tessera_cli_test(run-rtl-bad EXIT 1
  MATCH "error\\[unsupported-backend\\]: the rtl backend simulates small tiles"
  FIXTURE prog-mlp-forward-fp32
  ARGS run ${COMPILE_OUT}/mlp-forward-fp32 --inputs ${TORCH_REF_DIR}/mlp.inputs.npz --backend rtl)
tessera_cli_test(run-missing-input-bad EXIT 1
  MATCH "cnn.inputs.npz: error\\[bad-inputs\\]: array 'x' has 3072 elements, the input needs 512"
  FIXTURE prog-mlp-forward-fp32
  ARGS run ${COMPILE_OUT}/mlp-forward-fp32 --inputs ${TORCH_REF_DIR}/cnn.inputs.npz)
set_tests_properties(cli.run-missing-input-bad PROPERTIES
  FIXTURES_REQUIRED "prog-mlp-forward-fp32;torch-ref-cnn")
tessera_cli_test(run-no-program-bad EXIT 1 MATCH "error\\[io-error\\].*program.json"
  ARGS run ${COMPILE_OUT}/does-not-exist --inputs x.npz)

# A .bin input (raw little-endian float32) for a program with one input gives the same
# outputs as the .npz.
add_test(NAME fixture.mlp-x-bin
  COMMAND ${Python3_EXECUTABLE} -c
          "import numpy as np; np.load('${TORCH_REF_DIR}/mlp.inputs.npz')['x'].astype('<f4').tofile('${COMPILE_OUT}/mlp.x.bin')")
set_tests_properties(fixture.mlp-x-bin PROPERTIES FIXTURES_SETUP mlp-x-bin
  FIXTURES_REQUIRED "torch-ref-mlp;prog-mlp-forward-fp32" LABELS cli)
tessera_cli_test(run-bin-input EXIT 0 MATCH "wrote .*mlp-bin.npz"
  ARGS run ${COMPILE_OUT}/mlp-forward-fp32 --inputs ${COMPILE_OUT}/mlp.x.bin
       --outputs ${COMPILE_OUT}/mlp-bin.npz)
set_tests_properties(cli.run-bin-input PROPERTIES
  FIXTURES_REQUIRED "mlp-x-bin;prog-mlp-forward-fp32" FIXTURES_SETUP mlp-bin-out)
add_test(NAME cli.compare-bin-input
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/compare.py
          ${TORCH_REF_DIR}/mlp.forward.npz ${COMPILE_OUT}/mlp-bin.npz --rtol 1e-5)
set_tests_properties(cli.compare-bin-input PROPERTIES
  FIXTURES_REQUIRED "mlp-bin-out;torch-ref-mlp" LABELS cli)
# Several training steps continue from the updated weights (the AdamW step registers are
# patched per step); the report has the loss curve.
tessera_cli_test(run-train-steps EXIT 0
  MATCH "step 1: loss .*step 10: loss .*wrote .*report.json"
  ARGS run ${COMPILE_OUT}/mlp-train-bf16 --inputs ${TORCH_REF_DIR}/mlp.inputs.npz --steps 10
       --report ${COMPILE_OUT}/mlp-steps-report)
set_tests_properties(cli.run-train-steps PROPERTIES
  FIXTURES_REQUIRED "prog-mlp-train-bf16;torch-ref-mlp")
tessera_cli_test(run-bin-multi-input-bad EXIT 1
  MATCH "mlp.x.bin: error\\[bad-inputs\\]: a .bin input file serves a program with one input"
  ARGS run ${COMPILE_OUT}/mlp-train-fp32 --inputs ${COMPILE_OUT}/mlp.x.bin)
set_tests_properties(cli.run-bin-multi-input-bad PROPERTIES
  FIXTURES_REQUIRED "mlp-x-bin;prog-mlp-train-fp32")

# The same program on the generated tile RTL (Tessera's compiled simulator, small-test
# tile) gives the same bytes as the golden model. Building the tile model the first time
# takes as long as the cosim tests' (tests/cli/generate.cmake); it is cached after that.
tessera_cli_test(compile-mlp-small-bf16 EXIT 0 MATCH "compiled .*policy bf16"
  FIXTURE torch-ref-mlp
  ARGS compile ${TORCH_REF_DIR}/mlp.onnx --arch ${SMALL_ARCH} --policy bf16
       -o ${COMPILE_OUT}/mlp-small-bf16)
set_tests_properties(cli.compile-mlp-small-bf16 PROPERTIES FIXTURES_SETUP prog-mlp-small-bf16)
foreach(backend golden rtl)
  tessera_cli_test(run-mlp-small-${backend} EXIT 0 TIMEOUT 900
    MATCH "ran '.*' on ${backend}: [0-9]+ cycles"
    ARGS run ${COMPILE_OUT}/mlp-small-bf16 --inputs ${TORCH_REF_DIR}/mlp.inputs.npz
         --backend ${backend} --outputs ${COMPILE_OUT}/mlp-small-${backend}.npz)
  set_tests_properties(cli.run-mlp-small-${backend} PROPERTIES
    FIXTURES_REQUIRED "prog-mlp-small-bf16;torch-ref-mlp" FIXTURES_SETUP out-mlp-small-${backend})
endforeach()
add_test(NAME cli.compare-mlp-rtl-golden
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/compare.py
          ${COMPILE_OUT}/mlp-small-golden.npz ${COMPILE_OUT}/mlp-small-rtl.npz --rtol 0)
set_tests_properties(cli.compare-mlp-rtl-golden PROPERTIES
  FIXTURES_REQUIRED "out-mlp-small-golden;out-mlp-small-rtl" LABELS cli)
