# Policy mxfp8-sparse (docs/compiler.md, "mxfp8-sparse"): the Linear weights of the MLP,
# the CNN (its fc; the convolutions stay dense) and the encoder layer pruned 2:4 at compile
# time, forward GEMMs on gemmsp, the mask re-applied after AdamW. The
# reference is PyTorch with the same mask (torch_reference.py --prune-2:4):
#   MODEL.pruned-mxfp8.npz  the same pruned model with MXFP8 GEMM operands (the same
#                           quantization as the device, so the comparison is tight)
#   MODEL.pruned.npz        the pruned model in FP32 (the policy's total error)
# Bounds (docs/compiler.md): against pruned-mxfp8 1e-4 for the forward output and the
# training step (loss, gradients, AdamW-updated and re-masked weights; measured <= 4.4e-7:
# the same quantization and the same FP32 products, only the accumulation order differs;
# the inputs are fixed, so no E4M3 rounding of an activation flips); against FP32 the mxfp8
# policy's forward working tolerance 0.25 (measured 8.9e-2).
set(SPARSE_REF_DIR ${CMAKE_CURRENT_BINARY_DIR}/torch-ref-sparse)
set(SPARSE_OUT ${CMAKE_CURRENT_BINARY_DIR}/sparse-out)
set(SPARSE_TRAIN_ARCH ${PROJECT_SOURCE_DIR}/examples/arch/tessera-train-7nm.yaml)
set(SPARSE_SMALL_ARCH ${PROJECT_SOURCE_DIR}/examples/arch/small-test.yaml)

foreach(model mlp cnn encoder)
  add_test(NAME fixture.torch-ref-${model}-pruned
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/torch_reference.py
            ${model} ${SPARSE_REF_DIR} --prune-2:4)
  set_tests_properties(fixture.torch-ref-${model}-pruned PROPERTIES
    FIXTURES_SETUP torch-ref-${model}-pruned LABELS cli TIMEOUT 120)
endforeach()

# What each model prunes (the compile output lists it; convolutions stay dense).
set(sparse_match_mlp "2:4 pruned: fc1.weight \\(/fc1/Gemm\\): 4096 of 8192 weights kept.*2:4 pruned: fc3.weight")
set(sparse_match_cnn "dense: conv1.weight \\(/conv1/Conv\\): convolution.*2:4 pruned: fc.weight \\(/fc/Gemm\\): 80 of 160")
set(sparse_match_encoder "2:4 pruned: self_attn.in_proj_weight.*1536 of 3072.*2:4 pruned: linear2.weight")

foreach(model mlp cnn encoder)
  foreach(mode forward train)
    set(name ${model}-${mode}-mxfp8-sparse)
    set(flag)
    set(keys y)
    set(extra)
    if(mode STREQUAL "train")
      set(flag --train)
      set(keys loss grad/ param/)
      set(extra --adamw 1e-3 1e-8)
    endif()
    tessera_cli_test(sparse-compile-${name} EXIT 0
      MATCH "policy mxfp8-sparse.*${sparse_match_${model}}"
      FIXTURE torch-ref-${model}-pruned
      ARGS compile ${SPARSE_REF_DIR}/${model}.onnx --arch ${SPARSE_TRAIN_ARCH} ${flag}
           --policy mxfp8-sparse -o ${SPARSE_OUT}/${name})
    set_tests_properties(cli.sparse-compile-${name} PROPERTIES FIXTURES_SETUP sparse-prog-${name})
    add_test(NAME cli.sparse-run-${name}
      COMMAND ${TESSERA_EXE} run ${SPARSE_OUT}/${name} --inputs ${SPARSE_REF_DIR}/${model}.inputs.npz
              --outputs ${SPARSE_OUT}/${name}.npz)
    set_tests_properties(cli.sparse-run-${name} PROPERTIES
      FIXTURES_REQUIRED "sparse-prog-${name};torch-ref-${model}-pruned"
      FIXTURES_SETUP sparse-out-${name} LABELS cli TIMEOUT 120)
    add_test(NAME cli.sparse-compare-${name}
      COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/compare.py
              ${SPARSE_REF_DIR}/${model}.pruned-mxfp8.npz ${SPARSE_OUT}/${name}.npz --rtol 1e-4
              --keys ${keys} ${extra})
    set_tests_properties(cli.sparse-compare-${name} PROPERTIES
      FIXTURES_REQUIRED "sparse-out-${name};torch-ref-${model}-pruned" LABELS cli TIMEOUT 60)
  endforeach()
endforeach()
add_test(NAME cli.sparse-compare-mlp-forward-mxfp8-sparse-fp32
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/compare.py
          ${SPARSE_REF_DIR}/mlp.pruned.npz ${SPARSE_OUT}/mlp-forward-mxfp8-sparse.npz
          --rtol 0.25 --keys y)
set_tests_properties(cli.sparse-compare-mlp-forward-mxfp8-sparse-fp32 PROPERTIES
  FIXTURES_REQUIRED "sparse-out-mlp-forward-mxfp8-sparse;torch-ref-mlp-pruned" LABELS cli
  TIMEOUT 60)

# A tile without sparse operands: the error names the op and the arch file.
file(READ ${SPARSE_SMALL_ARCH} sparse_arch_text)
string(REPLACE "sparse: true" "sparse: false" dense_text "${sparse_arch_text}")
string(REGEX REPLACE "[ ]*sparsity:[^\n]*\n[ ]*patterns:[^\n]*\n[ ]*backward:[^\n]*\n" ""
       dense_text "${dense_text}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/dense-only.yaml "${dense_text}")
tessera_cli_test(sparse-unsupported-sparsity-bad EXIT 1
  MATCH "error\\[unsupported-sparsity\\]: op '/fc1/Gemm' \\(matmul\\): policy mxfp8-sparse prunes its weight 'fc1.weight' to 2:4, but the tile of '.*dense-only.yaml' has no sparse mxfp8 operand"
  FIXTURE torch-ref-mlp-pruned
  ARGS compile ${SPARSE_REF_DIR}/mlp.onnx --arch ${CMAKE_CURRENT_BINARY_DIR}/dense-only.yaml
       --policy mxfp8-sparse -o ${SPARSE_OUT}/bad)
