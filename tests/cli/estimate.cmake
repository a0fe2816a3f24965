# tessera estimate / validate
tessera_cli_test(estimate-gemm EXIT 0 MATCH "TFLOP/s"
  ARGS estimate --gpu a100 --gemm 4096,12288,12288)
tessera_cli_test(estimate-gemm-json EXIT 0 MATCH "\"tflops\": [0-9.]+"
  ARGS estimate --gpu h100 --gemm 8192,8192,8192 --dtype fp8 --json)
tessera_cli_test(estimate-gpt2-json EXIT 0 MATCH "\"iteration_seconds\".*\"tflops_per_device\".*\"memory_per_device_bytes\""
  ARGS estimate --gpu a800 --workload gpt2 --batch 8 --json)
tessera_cli_test(estimate-gpt3-3d EXIT 0 MATCH "pipeline bubble"
  ARGS estimate --gpu a800 --workload gpt3-175b --gpus 1024 --tp 8 --pp 8 --global-batch 1536
       --recompute selective --sequence-parallel)
tessera_cli_test(estimate-interleaved EXIT 0 MATCH "x2 interleaved"
  ARGS estimate --gpu a100 --workload gpt3-175b --gpus 512 --tp 8 --pp 8 --pp-interleave 2
       --global-batch 512 --recompute full)
tessera_cli_test(estimate-resnet50 EXIT 0 MATCH "samples/s"
  ARGS estimate --gpu a100 --workload resnet50 --batch 128 --dtype fp16)
tessera_cli_test(validate-gpu-model EXIT 0 MATCH "Megatron"
  ARGS validate --markdown)

tessera_cli_test(estimate-unknown-gpu-bad EXIT 1 MATCH "error\\[unknown-gpu\\].*did you mean 'a100'"
  ARGS estimate --gpu a10O --gemm 64,64,64)
tessera_cli_test(estimate-unknown-workload-bad EXIT 1 MATCH "error\\[unknown-workload\\]"
  ARGS estimate --gpu a100 --workload gtp2)
tessera_cli_test(estimate-tp-heads-bad EXIT 1 MATCH "error\\[bad-parallelism\\].*7.*96"
  ARGS estimate --gpu a100 --workload gpt3-175b --gpus 7 --tp 7)
tessera_cli_test(estimate-oom-bad EXIT 1 MATCH "error\\[out-of-memory\\]: the model does not fit"
  ARGS estimate --gpu a800 --workload gpt3-175b)
tessera_cli_test(estimate-fp8-on-a100-bad EXIT 1 MATCH "error\\[unsupported-dtype\\]"
  ARGS estimate --gpu a100 --gemm 64,64,64 --dtype fp8)
tessera_cli_test(estimate-gemm-shape-bad EXIT 1 MATCH "error\\[bad-value\\]: --gemm expects"
  ARGS estimate --gpu a100 --gemm 64,x,64)
tessera_cli_test(estimate-global-batch-bad EXIT 1 MATCH "error\\[bad-parallelism\\]: global batch 10"
  ARGS estimate --gpu a100 --workload gpt2 --gpus 8 --global-batch 10)
tessera_cli_test(estimate-pp-layers-bad EXIT 1 MATCH "error\\[bad-parallelism\\]: 12 layers"
  ARGS estimate --gpu a100 --workload gpt2 --gpus 5 --pp 5)
tessera_cli_test(estimate-onnx-malformed-bad EXIT 1 MATCH "garbage.onnx.*error\\[onnx-read\\]"
  ARGS estimate --gpu a100 --workload ${PROJECT_SOURCE_DIR}/tests/data/garbage.onnx)
tessera_cli_test(estimate-onnx-missing-bad EXIT 1 MATCH "error\\[onnx-read\\]"
  ARGS estimate --gpu a100 --workload /nonexistent/model.onnx)
tessera_cli_test(estimate-onnx-resnet18 EXIT 0 MATCH "samples/s" FIXTURE onnx-models
  ARGS estimate --gpu a100 --workload ${PROJECT_BINARY_DIR}/onnx-models/resnet18.onnx --batch 64 --dtype fp16)
tessera_cli_test(estimate-onnx-unsupported-op-bad EXIT 1 FIXTURE onnx-models
  MATCH "unsupported.onnx.*error\\[unsupported-op\\].*unsupported ONNX operator"
  ARGS estimate --gpu a100 --workload ${PROJECT_BINARY_DIR}/onnx-models/unsupported.onnx)
tessera_cli_test(estimate-onnx-tp-bad EXIT 1 FIXTURE onnx-models
  MATCH "error\\[bad-parallelism\\]: tensor parallelism needs a model-zoo transformer"
  ARGS estimate --gpu a100 --workload ${PROJECT_BINARY_DIR}/onnx-models/resnet18.onnx --tp 2 --gpus 2)
tessera_cli_test(estimate-zero3-llama EXIT 0 MATCH "ZeRO-3"
  ARGS estimate --gpu a100 --workload llama2-7b --gpus 8 --global-batch 64 --recompute selective --zero 3)
tessera_cli_test(estimate-onnx-truncated-bad EXIT 1 FIXTURE onnx-models
  MATCH "truncated.onnx: error\\[onnx-read\\]"
  ARGS estimate --gpu a100 --workload ${PROJECT_BINARY_DIR}/onnx-models/truncated.onnx)
tessera_cli_test(estimate-onnx-empty-bad EXIT 1 FIXTURE onnx-models
  MATCH "empty.onnx: error\\[onnx-read\\]"
  ARGS estimate --gpu a100 --workload ${PROJECT_BINARY_DIR}/onnx-models/empty.onnx)
