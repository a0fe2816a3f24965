"""Tessera from Python: models compiled to the accelerator tile and run on its simulators.

    import numpy as np, torch, tessera
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    x = np.random.default_rng(0).standard_normal((8, 64), dtype=np.float32)
    model = tessera.compile(net, example_inputs=x)        # fp32 policy, the default arch
    y = model.run(x)                                      # numpy in, numpy out
    loss = model.train_step(x, np.zeros((8, 10), np.float32), optimizer=tessera.AdamW(lr=1e-3))
    model.run(x, backend="cycle"); model.report("out/report")  # per-op cycles, HTML + JSON

`compile` takes an .onnx path, ONNX bytes, an onnx.ModelProto or a torch.nn.Module (exported
in memory through torch.onnx.export, eval mode, opset 17, no constant folding, parameter
names = state_dict names, as tests/python/torch_reference.py exports). `arch` is an arch
spec YAML file (default: the source tree's examples/arch/tessera-train-7nm.yaml; a bare
name such as "small-test" means examples/arch/<name>.yaml). The returned `Model` runs the
forward program (`run`), one training step at a time (`train_step`: forward, backward,
AdamW; MSE(mean) loss against the targets; the training program is compiled on first use
with the same policy, and the forward program sees the updated weights), and reports
parameters, gradients, per-op cycles (`report`, backend "cycle") and the program listing.

Every problem is a `tessera.Error` whose text is the compiler's diagnostic
`file:line:col: error[id]: message`; its parts are `e.id`, `e.message`, `e.file`.
The native half is tessera._tessera (python/src/Module.cpp); python/README.md documents
the API and its measured errors, docs/compiler.md the compiler and each policy's numerics.
"""

from ._tessera import Error
from .api import AdamW, Model, compile, default_arch

__all__ = ["AdamW", "Error", "Model", "compile", "default_arch"]
__version__ = "0.1.0"
