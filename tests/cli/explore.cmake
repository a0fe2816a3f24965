# tessera explore: a quick search writes the reports, and its best-arch.yaml loads back into
# `tessera estimate --arch` (ordered by the explore-out fixture).
tessera_cli_test(explore-gpt2 EXIT 0
  MATCH "best design: [0-9.]+x faster than A800 per training step at equal area.*wrote explore-gpt2/report.html"
  ARGS explore --workload gpt2 --batch 4 --gpus 8 --max-points 40 --seed 2 --quiet
       --out explore-gpt2)
set_tests_properties(cli.explore-gpt2 PROPERTIES FIXTURES_SETUP explore-out)
tessera_cli_test(explore-best-arch-loads EXIT 0 FIXTURE explore-out
  MATCH "Training iteration of gpt2 on 8 x tessera-explore-best"
  ARGS estimate --arch explore-gpt2/best-arch.yaml --workload gpt2 --batch 4 --gpus 8)
tessera_cli_test(explore-default-gpt3 EXIT 0
  MATCH "gpt3-175b on 1024 devices \\(TP 8, PP 8, DP 16\\).*at equal area \\(826 mm[^,]*, 54.2 B transistors budget\\); low precision"
  ARGS explore --max-points 150 --quiet --out explore-default)
tessera_cli_test(explore-perf-per-watt EXIT 0 MATCH "objective perf-per-watt"
  ARGS explore --workload gpt2 --batch 4 --gpus 8 --max-points 30 --objective perf-per-watt
       --baseline h100 --quiet --out explore-ppw)

tessera_cli_test(explore-area-budget-bad EXIT 1
  MATCH "error\\[infeasible-budget\\]: no design fits the area budget of 10 mm[^:]*: the smallest candidate needs [0-9.]+ mm"
  ARGS explore --area-budget 10 --out explore-bad)
tessera_cli_test(explore-power-budget-bad EXIT 1
  MATCH "error\\[infeasible-budget\\]: no design fits .* 5 W .*all [0-9]+ candidates evaluated are infeasible"
  ARGS explore --workload gpt2 --power-budget 5 --max-points 20 --quiet --out explore-bad)
tessera_cli_test(explore-baseline-bad EXIT 1 MATCH "error\\[unknown-gpu\\].*did you mean 'a800'"
  ARGS explore --baseline a8000 --out explore-bad)
tessera_cli_test(explore-workload-bad EXIT 1 MATCH "garbage.onnx.*error\\[onnx-read\\]"
  ARGS explore --workload ${PROJECT_SOURCE_DIR}/tests/data/garbage.onnx --out explore-bad)
tessera_cli_test(explore-two-budgets-bad EXIT 1
  MATCH "error\\[bad-option\\]: --area-budget and --transistor-budget are exclusive"
  ARGS explore --area-budget 800 --transistor-budget 50e9 --out explore-bad)
tessera_cli_test(explore-objective-bad EXIT 1
  MATCH "error\\[bad-value\\]: unknown --objective 'tme' \\(expected time or perf-per-watt\\).*did you mean 'time'"
  ARGS explore --objective tme --out explore-bad)
tessera_cli_test(explore-node-bad EXIT 1 MATCH "error\\[bad-value\\]: unknown --node '3nm'"
  ARGS explore --node 3nm --out explore-bad)
tessera_cli_test(explore-template-bad EXIT 1
  MATCH "unknown-key-bad.yaml:[0-9]+:[0-9]+: error\\[unknown-key\\]"
  ARGS explore --template ${PROJECT_SOURCE_DIR}/tests/data/arch/unknown-key-bad.yaml --out explore-bad)
