#!/usr/bin/python3
"""One torch.optim.AdamW step on FP32 tensors, for tests/unit/accel/AdamWTorchTest.cpp.

argv: in.f32 out.f32 n lr beta1 beta2 eps weight_decay step
in.f32 holds p, g, m, v (n float32 each); out.f32 receives p', m', v'. The optimizer state
is preset to (exp_avg = m, exp_avg_sq = v, step = step - 1) so that the call performs step
`step`. Exit code 3: torch is not available.
"""
import sys

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print("no torch:", e)
    sys.exit(3)

inp, outp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lr, b1, b2, eps, wd = (float(x) for x in sys.argv[4:9])
step = int(sys.argv[9])
a = np.fromfile(inp, dtype=np.float32)
p, g, m, v = (torch.from_numpy(a[i * n:(i + 1) * n].copy()) for i in range(4))
param = torch.nn.Parameter(p)
param.grad = g
opt = torch.optim.AdamW([param], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd,
                        foreach=False)
opt.state[param] = {"step": torch.tensor(float(step - 1)), "exp_avg": m, "exp_avg_sq": v}
opt.step()
st = opt.state[param]
np.concatenate([param.detach().numpy(), st["exp_avg"].numpy(),
                st["exp_avg_sq"].numpy()]).astype(np.float32).tofile(outp)
print("torch", torch.__version__, "AdamW step", step, "on", n, "parameters")
