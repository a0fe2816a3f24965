# tessera estimate --arch: the accelerator model (AccelModel) behind the same estimate
set(ARCH_DIR ${PROJECT_SOURCE_DIR}/examples/arch)
set(BAD_ARCH_DIR ${PROJECT_SOURCE_DIR}/tests/data/arch)

tessera_cli_test(estimate-arch-gpt2 EXIT 0
  MATCH "Training iteration of gpt2 on 8 x tessera-train-7nm.*TFLOP/s per device"
  ARGS estimate --arch ${ARCH_DIR}/tessera-train-7nm.yaml --workload gpt2 --gpus 8 --batch 8)
tessera_cli_test(estimate-arch-gpt2-json EXIT 0
  MATCH "\"iteration_seconds\".*\"tflops_per_device\".*\"memory_per_device_bytes\""
  ARGS estimate --arch ${ARCH_DIR}/tessera-train-7nm.yaml --policy mxfp8 --workload gpt2
       --batch 8 --json)
tessera_cli_test(estimate-arch-gpt3-3d EXIT 0 MATCH "x tessera-train-7nm.*pipeline bubble"
  ARGS estimate --arch ${ARCH_DIR}/tessera-train-7nm.yaml --policy mxfp8-sparse
       --workload gpt3-175b --gpus 1024 --tp 8 --pp 8 --global-batch 1536
       --recompute selective --sequence-parallel)
tessera_cli_test(estimate-arch-a100-like-gpt3 EXIT 0 MATCH "x a100-like.*\\(ZeRO-1\\)"
  ARGS estimate --arch ${ARCH_DIR}/a100-like.yaml --workload gpt3-175b --gpus 512 --tp 8
       --pp 8 --global-batch 512 --recompute selective --sequence-parallel --zero 1)
tessera_cli_test(estimate-arch-resnet50 EXIT 0 MATCH "samples/s"
  ARGS estimate --arch ${ARCH_DIR}/h100-like.yaml --policy fp8 --workload resnet50 --batch 128)
tessera_cli_test(estimate-arch-gemm EXIT 0 MATCH "mapping +[0-9]+x[0-9]+x[0-9]+ [a-z]+-stationary"
  ARGS estimate --arch ${ARCH_DIR}/tessera-train-7nm.yaml --gemm 4096,12288,12288)
tessera_cli_test(estimate-arch-gemm-json EXIT 0
  MATCH "\"utilization\": [0-9.e-]+.*\"dataflow\": \"[a-z]+-stationary\""
  ARGS estimate --arch ${ARCH_DIR}/tessera-train-7nm.yaml --policy mxfp8-sparse
       --gemm 2048,4096,4096 --json)

tessera_cli_test(estimate-arch-bad-yaml-bad EXIT 1
  MATCH "unknown-key-bad.yaml:[0-9]+:[0-9]+: error\\[unknown-key\\].*did you mean 'spare_tiles'"
  ARGS estimate --arch ${BAD_ARCH_DIR}/unknown-key-bad.yaml --workload gpt2)
tessera_cli_test(estimate-arch-bad-value-bad EXIT 1
  MATCH "small-sram-bad.yaml:[0-9]+:[0-9]+: error\\[bad-spec\\]"
  ARGS estimate --arch ${BAD_ARCH_DIR}/small-sram-bad.yaml --workload gpt2)
tessera_cli_test(estimate-arch-missing-file-bad EXIT 1 MATCH "error\\[io-error\\]"
  ARGS estimate --arch /nonexistent/spec.yaml --workload gpt2)
tessera_cli_test(estimate-arch-policy-format-bad EXIT 1
  MATCH "error\\[unsupported-format\\]: forward GEMMs need mxfp8 but the tensor unit of 'a100-like' supports fp16, bf16, tf32, int8"
  ARGS estimate --arch ${ARCH_DIR}/a100-like.yaml --policy mxfp8 --workload gpt2)
tessera_cli_test(estimate-arch-policy-name-bad EXIT 1
  MATCH "error\\[bad-value\\]: unknown precision policy 'mxfp9'.*did you mean 'mxfp8'"
  ARGS estimate --arch ${ARCH_DIR}/tessera-train-7nm.yaml --policy mxfp9 --workload gpt2)
tessera_cli_test(estimate-arch-and-gpu-bad EXIT 1 MATCH "error\\[bad-option\\]: --gpu and --arch"
  ARGS estimate --gpu a100 --arch ${ARCH_DIR}/a100-like.yaml --workload gpt2)
tessera_cli_test(estimate-no-device-bad EXIT 1 MATCH "error\\[missing-flag\\]: estimate needs --gpu"
  ARGS estimate --workload gpt2)
tessera_cli_test(estimate-arch-oom-bad EXIT 1 MATCH "error\\[out-of-memory\\]"
  ARGS estimate --arch ${ARCH_DIR}/tessera-train-7nm.yaml --workload gpt3-175b)
