# tessera hls: the kernel suite of examples/hls (docs/hls.md, docs/hls-results.md), each
# compiled, co-simulated against its native C build and the CDFG, with the II its
# pipelined loop reaches; and the *-bad cases with their C lines.
set(HLS_EX ${PROJECT_SOURCE_DIR}/examples/hls)
set(HLS_DATA ${PROJECT_SOURCE_DIR}/tests/data/hls)
set(HLS_OUT ${CMAKE_CURRENT_BINARY_DIR}/hls-out)

# hls_kernel_test(FILE TOP LOOP-MATCH): LOOP-MATCH is what the report must say about the
# kernel's pipelined loop (its C location and II, or the limit it names). Each kernel is
# co-simulated on 8 random vectors against its native C build and the CDFG, and one
# vector's port trace is replayed on the emitted Verilog in Icarus Verilog.
function(hls_kernel_test file top loop)
  tessera_cli_test(hls-${file} EXIT 0 TIMEOUT 300
    MATCH "${loop}.*cosim: 8 vectors, 0 mismatches against the native C and the CDFG.*sim-check: Icarus Verilog .*every cycle equal to Tessera's simulator"
    ARGS hls ${HLS_EX}/${file}.cpp --top ${top} -o ${HLS_OUT}/${file} --cosim --sim-check icarus)
endfunction()

hls_kernel_test(gemm gemm "gemm.cpp:10:7\\): pipelined, II 1 ")
hls_kernel_test(2mm two_mm "2mm.cpp:14:7\\): pipelined, II 1 .*2mm.cpp:22:7\\): pipelined, II 1 ")
hls_kernel_test(atax atax "atax.cpp:12:5\\): pipelined, II 1 .*atax.cpp:18:5\\): pipelined, II 2 .*II limited by memory port: array 'y'")
hls_kernel_test(bicg bicg "bicg.cpp:11:5\\): pipelined, II 2 .*II limited by memory port: array 's'")
hls_kernel_test(gesummv gesummv "gesummv.cpp:9:5\\): pipelined, II 1 ")
hls_kernel_test(conv2d conv2d "conv2d.cpp:12:5\\): pipelined, II 9 .*II limited by memory port: array 'img'")
hls_kernel_test(fir fir "fir.cpp:17:3\\): pipelined, II 1 ")
hls_kernel_test(histogram histogram "histogram.cpp:12:3\\): pipelined, II 2 .*II limited by loop-carried dependence through array 'hist'")
hls_kernel_test(bitonic_sort bitonic_sort "bitonic_sort.cpp:21:7\\): pipelined, II 1 ")
hls_kernel_test(crc32 crc32 "crc32.cpp:9:3\\): not pipelined")
hls_kernel_test(softmax_fixed softmax_fixed "softmax_fixed.cpp:35:3\\): pipelined, II 1 ")
hls_kernel_test(layernorm layernorm "layernorm.cpp:34:3\\): pipelined, II 1 ")
hls_kernel_test(fp8_mx_dot fp8_mx_dot "fp8_mx_dot.cpp:20:5\\): pipelined, II [0-9]+ .*II limited by loop-carried dependence through phi 'acc'")
hls_kernel_test(sparse24_dot sparse24_dot "sparse24_dot.cpp:11:3\\): pipelined, II 1 ")
hls_kernel_test(adamw adamw "adamw.cpp:41:3\\): not pipelined")
hls_kernel_test(iir_biquad iir_biquad "iir_biquad.cpp:11:3\\): pipelined, II [0-9]+ .*II limited by loop-carried dependence through phi 'y1'")

# The emitted Verilog of two kernels in Verilator as well.
foreach(k gemm:gemm fir:fir)
  string(REPLACE ":" ";" kt ${k})
  list(GET kt 0 file)
  list(GET kt 1 top)
  tessera_cli_test(hls-verilator-${file} EXIT 0 TIMEOUT 300
    MATCH "sim-check: Verilator.*every cycle equal to Tessera's simulator"
    ARGS hls ${HLS_EX}/${file}.cpp --top ${top} -o ${HLS_OUT}/verilator-${file} --sim-check verilator)
endforeach()

# A broken TESSERA_INDEPENDENT promise: the schedule trusts it, co-simulation catches it.
tessera_cli_test(hls-independent-broken EXIT 1
  MATCH "pipelined, II 1 .*cosim: MISMATCH: "
  ARGS hls ${HLS_DATA}/independent-broken.cpp --top prefix -o ${HLS_OUT}/independent-broken --cosim)

# Errors at the C line.
tessera_cli_test(hls-recursion-bad EXIT 1
  MATCH "recursion-bad.cpp:5:[0-9]+: error\\[unsupported-construct\\]: recursion"
  ARGS hls ${HLS_DATA}/recursion-bad.cpp --top top -o ${HLS_OUT}/bad)
tessera_cli_test(hls-fnptr-bad EXIT 1
  MATCH "fnptr-bad.cpp:5:[0-9]+: error\\[unsupported-construct\\]: indirect call through a function pointer"
  ARGS hls ${HLS_DATA}/fnptr-bad.cpp --top top -o ${HLS_OUT}/bad)
tessera_cli_test(hls-malloc-bad EXIT 1
  MATCH "malloc-bad.c:3:[0-9]+: error\\[unsupported-construct\\]: dynamic allocation"
  ARGS hls ${HLS_DATA}/malloc-bad.c --top top -o ${HLS_OUT}/bad)
tessera_cli_test(hls-float-bad EXIT 1
  MATCH "float-bad.cpp:2:[0-9]+: error\\[unsupported-construct\\]: floating-point type 'float'"
  ARGS hls ${HLS_DATA}/float-bad.cpp --top top -o ${HLS_OUT}/bad)
tessera_cli_test(hls-syntax-bad EXIT 1
  MATCH "syntax-bad.c:[0-9]+:[0-9]+: error\\[c-error\\]"
  ARGS hls ${HLS_DATA}/syntax-bad.c --top top -o ${HLS_OUT}/bad)
tessera_cli_test(hls-top-bad EXIT 1
  MATCH "error\\[unknown-top\\].*did you mean 'gemm'"
  ARGS hls ${HLS_EX}/gemm.cpp --top gem -o ${HLS_OUT}/bad)
# An II the recurrence cannot meet, with --strict-ii: the error names the loop's line.
tessera_cli_test(hls-ii-bad EXIT 1
  MATCH "iir_biquad.cpp:11:[0-9]+: error\\[impossible-ii\\]"
  ARGS hls ${HLS_EX}/iir_biquad.cpp --top iir_biquad --strict-ii -o ${HLS_OUT}/bad)
# A clock no RAM read fits in.
tessera_cli_test(hls-clock-bad EXIT 1
  MATCH "gemm.cpp:[0-9]+:[0-9]+: error\\[impossible-clock\\]"
  ARGS hls ${HLS_EX}/gemm.cpp --top gemm --clock-ns 0.3 -o ${HLS_OUT}/bad)
tessera_cli_test(hls-target-bad EXIT 1 MATCH "error\\[unknown-target\\]"
  ARGS hls ${HLS_EX}/gemm.cpp --top gemm --target vhdl -o ${HLS_OUT}/bad)

# Ready/valid streams (hls::stream): co-simulated with random valid / ready gaps against the
# native C and the CDFG, and replayed in Icarus Verilog through the port trace.
hls_kernel_test(stream_scale stream_scale "stream_scale.cpp:14:3\\): pipelined, II 1 ")
hls_kernel_test(stream_fir stream_fir "stream_fir.cpp:17:3\\): pipelined, II 1 ")
tessera_cli_test(hls-stream-both-bad EXIT 1
  MATCH "stream-both-bad.cpp:2:[0-9]+: error\\[unsupported-construct\\]: stream 's' is both read and written"
  ARGS hls ${HLS_DATA}/stream-both-bad.cpp --top top -o ${HLS_OUT}/bad)

# Shared functional units (TESSERA_SHARED, hls::fp32's + - *): one module per shared
# function, units frozen by stream stalls, in Icarus and Verilator; an impure shared
# function is an error at its line.
tessera_cli_test(hls-shared_fp EXIT 0 TIMEOUT 300
  MATCH "shared_fp.cpp:16:3\\): pipelined, II 1 .*cosim: 8 vectors, 0 mismatches against the native C and the CDFG.*sim-check: Icarus Verilog .*every cycle equal to Tessera's simulator"
  ARGS hls ${HLS_DATA}/shared_fp.cpp --top shared_fp -o ${HLS_OUT}/shared_fp --cosim --sim-check icarus)
tessera_cli_test(hls-verilator-shared_fp EXIT 0 TIMEOUT 300
  MATCH "sim-check: Verilator.*every cycle equal to Tessera's simulator"
  ARGS hls ${HLS_DATA}/shared_fp.cpp --top shared_fp -o ${HLS_OUT}/verilator-shared_fp --sim-check verilator)
tessera_cli_test(hls-shared-bad EXIT 1
  MATCH "shared-bad.cpp:2: error\\[unsupported-construct\\]: 'get' cannot be a shared function"
  ARGS hls ${HLS_DATA}/shared-bad.cpp --top top -o ${HLS_OUT}/bad)
