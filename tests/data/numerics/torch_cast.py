#!/usr/bin/env python3
"""Casts FP32 bit patterns with PyTorch for tests/unit/numerics/TorchTest.cpp.

usage: torch_cast.py IN.u32 OUTDIR
IN.u32 holds little-endian FP32 bit patterns. Writes OUTDIR/bf16.u16 and OUTDIR/fp16.u16
(torch's round-to-nearest-even casts) and, when this torch has the float8 dtypes,
OUTDIR/e4m3.u8 and OUTDIR/e5m2.u8. Prints the torch version. Exit code 3: no torch.
"""
import sys

try:
    import numpy as np
    import torch
except ImportError as e:  # the C++ test skips on exit code 3
    print(f"torch unavailable: {e}")
    sys.exit(3)

src, out = sys.argv[1], sys.argv[2]
bits = np.fromfile(src, dtype="<u4")
x = torch.from_numpy(bits.view(np.float32).copy())
x.to(torch.bfloat16).view(torch.int16).numpy().astype("<u2").tofile(f"{out}/bf16.u16")
x.to(torch.float16).view(torch.int16).numpy().astype("<u2").tofile(f"{out}/fp16.u16")
have8 = hasattr(torch, "float8_e4m3fn") and hasattr(torch, "float8_e5m2")
if have8:
    x.to(torch.float8_e4m3fn).view(torch.uint8).numpy().tofile(f"{out}/e4m3.u8")
    x.to(torch.float8_e5m2).view(torch.uint8).numpy().tofile(f"{out}/e5m2.u8")
print(f"torch {torch.__version__} float8={'yes' if have8 else 'no'} n={len(bits)}")
