# tessera workload list / show
tessera_cli_test(workload-list EXIT 0 MATCH "gpt3-175b.*llama2-7b.*resnet50"
  ARGS workload list)
tessera_cli_test(workload-show-gpt2 EXIT 0 MATCH "parameters +124\\.44 M.*training step"
  ARGS workload show gpt2)
tessera_cli_test(workload-show-gpt2-training EXIT 0
  MATCH "ops of layers 1-11.*recompute +0 +layernorm.*backward-weight +0 +matmul.*optimizer"
  ARGS workload show gpt2 --training --recompute full)
tessera_cli_test(workload-show-json EXIT 0
  MATCH "\"activation_bytes\": [0-9.e+]+.*\"flops_forward\": [0-9.e+]+.*\"flops_training\": [0-9.e+]+.*\"parameters\": 124439808"
  ARGS workload show gpt2 --json)
tessera_cli_test(workload-show-generic-gpt EXIT 0 MATCH "layer1\\.mlp\\.fc2"
  ARGS workload show gpt --hidden 64 --heads 4 --layers 2 --seq 16 --vocab 128 --all-ops)
tessera_cli_test(workload-show-tp EXIT 0 MATCH "tp-copy.*all-reduce.*collectives"
  ARGS workload show gpt3-175b --tp 8 --layers 2 --training)
tessera_cli_test(workload-show-resnet50 EXIT 0 MATCH "parameters +25\\.56 M.*forward +8\\.2[0-9] GFLOP"
  ARGS workload show resnet50)

tessera_cli_test(workload-unknown-bad EXIT 1 MATCH "error\\[unknown-workload\\]: unknown workload 'gtp2'; did you mean 'gpt2'"
  ARGS workload show gtp2)
tessera_cli_test(workload-tp-sp-bad EXIT 1 MATCH "error\\[bad-parallelism\\]: sequence parallelism needs"
  ARGS workload show gpt2 --sequence-parallel)
tessera_cli_test(workload-tp-heads-bad EXIT 1
  MATCH "error\\[bad-parallelism\\]: tensor-parallel degree 7 does not divide 96 attention heads"
  ARGS workload show gpt3-175b --tp 7)
tessera_cli_test(workload-generic-shape-bad EXIT 1 MATCH "error\\[bad-shape\\]: 'gpt' is a generic shape"
  ARGS workload show gpt --layers 2)
tessera_cli_test(workload-onnx-missing-bad EXIT 1 MATCH "error\\[onnx-read\\]"
  ARGS workload show does-not-exist.onnx)
