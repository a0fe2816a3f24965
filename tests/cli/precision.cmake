# The low-precision bounds (docs/compiler.md, "Low-precision bounds"): under the bf16 and
# mxfp8 policies, Tessera's error against PyTorch FP32 must be at most C times PyTorch's
# own error when every GEMM / convolution operand is rounded to the same format
# (tests/python/torch_reference.py --precision: BF16 RNE; OCP MX v1.0 fake quantization,
# blocks of 32 along K, E8M0 floor scale, E4M3 RNE saturating), plus a floor:
#
#   max_rel_err(tessera, fp32) <= C max_rel_err(pytorch_lowp, fp32) + floor
#
# with C = 2 and floor 1e-5 (the fp32 policy's bound) per tensor: forward outputs of the
# mlp, cnn, encoder and resnet18 (64x64), and the training step (loss, gradients, updated
# parameters) of the mlp, cnn and encoder. Compile / run cases that tests/cli/compile.cmake
# already has are reused (its fixtures out-<model>-<mode>-<policy>); the others are
# compiled and run here under the same names. (COMPILE_OUT, TORCH_REF_DIR, TRAIN_ARCH and
# the torch-ref-<model> fixtures come from compile.cmake, included before this file.)
set(LOWP_REF_DIR ${CMAKE_CURRENT_BINARY_DIR}/torch-lowp)
set(LOWP_C 2)
set(LOWP_FLOOR 1e-5)

foreach(model mlp cnn encoder resnet18)
  add_test(NAME fixture.torch-lowp-${model}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/torch_reference.py
            ${model} ${LOWP_REF_DIR} --precision bf16,mxfp8)
  set_tests_properties(fixture.torch-lowp-${model} PROPERTIES
    FIXTURES_SETUP torch-lowp-${model} LABELS cli TIMEOUT 120)
endforeach()

function(tessera_lowp_case model mode policy)
  set(name ${model}-${mode}-${policy})
  set(prog ${COMPILE_OUT}/${name})
  set(out ${COMPILE_OUT}/${name}.npz)
  set(extra)
  if(mode STREQUAL "train")
    set(extra --train)
  endif()
  if(NOT TEST cli.run-${name})
    tessera_cli_test(compile-${name} EXIT 0
      MATCH "compiled '.*' \\(.*policy ${policy}\\) .*instructions"
      FIXTURE torch-ref-${model}
      ARGS compile ${TORCH_REF_DIR}/${model}.onnx --arch ${TRAIN_ARCH} ${extra} --policy ${policy}
           -o ${prog})
    set_tests_properties(cli.compile-${name} PROPERTIES FIXTURES_SETUP prog-${name})
    add_test(NAME cli.run-${name}
      COMMAND ${TESSERA_EXE} run ${prog} --inputs ${TORCH_REF_DIR}/${model}.inputs.npz
              --outputs ${out})
    set_tests_properties(cli.run-${name} PROPERTIES
      FIXTURES_REQUIRED "prog-${name};torch-ref-${model}" FIXTURES_SETUP out-${name}
      LABELS cli TIMEOUT 120)
  endif()
  set(ref ${LOWP_REF_DIR}/${model}.forward.npz)
  set(lowp ${LOWP_REF_DIR}/${model}.forward-${policy}.npz)
  set(adamw)
  if(mode STREQUAL "train")
    set(ref ${LOWP_REF_DIR}/${model}.train.npz)
    set(lowp ${LOWP_REF_DIR}/${model}.train-${policy}.npz)
    set(adamw --adamw 1e-3 1e-8)
  endif()
  add_test(NAME cli.lowp-${name}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/compare.py
            ${ref} ${out} --rtol ${LOWP_FLOOR} --lowp ${lowp} ${LOWP_C} ${adamw})
  set_tests_properties(cli.lowp-${name} PROPERTIES
    FIXTURES_REQUIRED "out-${name};torch-lowp-${model}" LABELS cli TIMEOUT 60)
endfunction()

foreach(policy bf16 mxfp8)
  foreach(model mlp cnn encoder resnet18)
    tessera_lowp_case(${model} forward ${policy})
  endforeach()
  foreach(model mlp cnn encoder)
    tessera_lowp_case(${model} train ${policy})
  endforeach()
endforeach()
