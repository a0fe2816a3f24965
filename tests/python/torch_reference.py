#!/usr/bin/python3
"""PyTorch references for the compiler / runtime end-to-end tests.

Usage: torch_reference.py MODEL OUT_DIR [--size N]

MODEL is one of
  mlp       Linear(64,128)-ReLU-Linear(128,64)-ReLU-Linear(64,10), input x [8, 64]
  cnn       Conv2d(3,8,3,pad 1)-BatchNorm2d-ReLU-MaxPool2d(2)-Conv2d(8,16,3,stride 2,pad 1)-
            ReLU-AdaptiveAvgPool2d(1)-Flatten-Linear(16,10), input x [4, 3, 16, 16]
  encoder   nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
            dropout=0.0, batch_first=True), input x [2, 8, 32]
  resnet18  torchvision.models.resnet18(weights=None), input x [1, 3, N, N] (N = --size,
            default 64); forward only

and writes, into OUT_DIR:
  MODEL.onnx          the model in eval mode, opset 17, export_params, no constant folding
                      (parameter initializers keep their state_dict names, e.g. fc1.weight;
                      exporter-deduplicated ones come back as Identity outputs of that name),
                      TrainingMode.PRESERVE (BatchNorm is not folded into the conv);
                      graph input "x", graph output "y"
  MODEL.inputs.npz    "x", and for mlp / cnn / encoder "target" (the output's shape)
  MODEL.forward.npz   "y": PyTorch's FP32 output for "x"
  MODEL.train.npz     mlp / cnn / encoder: one training step from the exported weights:
                      loss = MSELoss(reduction="mean")(y, target), backward, then
                      torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.01).step() (step 1): "loss" (a scalar), "grad/<param>"
                      and "param/<param>" (the updated value) for every parameter
  MODEL.json          model, seed, shapes, parameter names and shapes, loss and optimizer
                      hyper-parameters, the BatchNorm convention, torch / onnx versions,
                      and "fp32_vs_fp64": per output key, the reference's own rounding
                      error (max|fp32 - fp64| / max|fp64|, the step redone in float64)

Numerics: FP32 on the CPU, one thread, torch.use_deterministic_algorithms(True). The
model stays in eval mode for the training step too: BatchNorm normalizes with its running
statistics (as the exported ONNX graph does) and they are not updated; dropout is 0. In
eval mode with autograd enabled PyTorch uses the plain (non-fused) TransformerEncoderLayer
path, so forward and training references come from the same arithmetic.

Determinism: parameters, BatchNorm statistics, inputs and targets come from
torch.Generator objects with fixed seeds; .npz files are written with stored members and a
fixed timestamp, so two runs give byte-identical files. Every file is written to a
temporary name and renamed into place. No downloads.
"""

import argparse
import io
import json
import os
import sys
import tempfile
import zipfile

import numpy as np
import onnx
import torch
import torchvision

SEED = 20240607
MODELS = ("mlp", "cnn", "encoder", "resnet18")
ADAMW = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01}
OPSET = 17


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 128)
        self.fc2 = torch.nn.Linear(128, 64)
        self.fc3 = torch.nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.MaxPool2d(2)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.gap = torch.nn.AdaptiveAvgPool2d(1)
        self.flatten = torch.nn.Flatten()
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = torch.relu(self.conv2(x))
        return self.fc(self.flatten(self.gap(x)))


def build(name, size):
    """The model (eval mode) and its input shape. Parameters come from torch's default
    initializers under a fixed seed; BatchNorm gets non-trivial affine parameters and
    running statistics so that every BatchNorm input matters."""
    torch.manual_seed(SEED)
    if name == "mlp":
        return Mlp().eval(), [8, 64]
    if name == "cnn":
        model = Cnn()
        g = torch.Generator().manual_seed(SEED + 1)
        with torch.no_grad():
            bn = model.bn1
            bn.weight.copy_(1 + 0.2 * torch.randn(8, generator=g))
            bn.bias.copy_(0.1 * torch.randn(8, generator=g))
            bn.running_mean.copy_(0.1 * torch.randn(8, generator=g))
            bn.running_var.copy_(0.5 + torch.rand(8, generator=g))
        return model.eval(), [4, 3, 16, 16]
    if name == "encoder":
        model = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
                                                 dropout=0.0, batch_first=True)
        return model.eval(), [2, 8, 32]
    if name == "resnet18":
        return torchvision.models.resnet18(weights=None).eval(), [1, 3, size, size]
    raise ValueError(name)


def atomic_write(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def npz_bytes(arrays):
    """An .npz (np.load reads it) with stored members and a fixed timestamp, in the
    given key order: the same arrays give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.array(value, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, member.getvalue())
    return buf.getvalue()


def to_numpy(t):
    return t.detach().cpu().numpy().astype(np.float32)


def check_adamw_step1(name, p0, g, p1):
    """The update is the documented AdamW step 1 (decoupled weight decay, bias-corrected
    moments m = (1 - b1) g, v = (1 - b2) g^2), recomputed in float64:
    p1 = p0 (1 - lr wd) - lr (m / (1 - b1)) / (sqrt(v / (1 - b2)) + eps)."""
    lr, (b1, b2), eps, wd = ADAMW["lr"], ADAMW["betas"], ADAMW["eps"], ADAMW["weight_decay"]
    m_hat = ((1 - b1) * g) / (1 - b1)
    v_hat = ((1 - b2) * g * g) / (1 - b2)
    want = p0 * (1 - lr * wd) - lr * m_hat / (v_hat.sqrt() + eps)
    err = (want - p1).abs().max().item()
    if err > 1e-6 * max(p0.abs().max().item(), 1.0):
        raise AssertionError("AdamW step of %s differs from the formula by %g" % (name, err))


def export_onnx(model, x, path):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-", suffix=".onnx")
    os.close(fd)
    # Autograd stays on: in eval mode without grad the encoder layer takes PyTorch's fused
    # fast path, which has no ONNX export.
    with torch.enable_grad():
        torch.onnx.export(model, (x,), tmp, opset_version=OPSET, input_names=["x"],
                          output_names=["y"], export_params=True, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    onnx.checker.check_model(onnx.load(tmp))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("out_dir")
    ap.add_argument("--size", type=int, default=64, help="resnet18 input height / width")
    args = ap.parse_args()
    if args.size < 32:
        ap.error("--size must be at least 32 (ResNet-18 downsamples 32x)")
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    name = args.model
    model, in_shape = build(name, args.size)
    g = torch.Generator().manual_seed(SEED + 2)
    x = torch.randn(*in_shape, generator=g)
    export_onnx(model, x, os.path.join(args.out_dir, name + ".onnx"))

    train = name != "resnet18"
    params = list(model.named_parameters())
    y = model(x)  # autograd on: the training step reuses this forward pass
    inputs = {"x": to_numpy(x)}
    target = None
    if train:
        target = torch.randn(*y.shape, generator=g)
        inputs["target"] = to_numpy(target)
    base = os.path.join(args.out_dir, name)
    atomic_write(base + ".inputs.npz", npz_bytes(inputs))
    atomic_write(base + ".forward.npz", npz_bytes({"y": to_numpy(y)}))

    info = {
        "model": name,
        "seed": SEED,
        "opset": OPSET,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "inputs": {"x": list(x.shape)},
        "outputs": {"y": list(y.shape)},
        "batch": int(x.shape[0]),
        "parameters": [{"name": n, "shape": list(p.shape)} for n, p in params],
        "parameter_count": sum(p.numel() for _, p in params),
        "batchnorm": "eval mode: normalized with the running statistics, which the "
                     "training step does not update",
        "dtype": "float32",
    }
    if train:
        model.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(y, target, reduction="mean")
        loss.backward()
        missing = [n for n, p in params if p.grad is None]
        if missing:
            sys.stderr.write("parameters without a gradient: %s\n" % ", ".join(missing))
            return 1
        result = {"loss": np.array(loss.item(), dtype=np.float32)}
        for n, p in params:
            result["grad/" + n] = to_numpy(p.grad)
        before = {n: p.detach().clone().double() for n, p in params}
        opt = torch.optim.AdamW(model.parameters(), **ADAMW)
        opt.step()
        for n, p in params:
            result["param/" + n] = to_numpy(p)
            check_adamw_step1(n, before[n], p.grad.double(), p.detach().double())
        atomic_write(base + ".train.npz", npz_bytes(result))
        info["inputs"]["target"] = list(target.shape)
        info["loss"] = {"kind": "mse", "reduction": "mean", "target": "target",
                        "value": float(loss.item())}
        info["optimizer"] = {"kind": "adamw", "lr": ADAMW["lr"], "beta1": ADAMW["betas"][0],
                             "beta2": ADAMW["betas"][1], "eps": ADAMW["eps"],
                             "weight_decay": ADAMW["weight_decay"], "step": 1}
    fp32 = {"y": y.detach().double().numpy()}
    if train:
        fp32.update({k: v.astype(np.float64) for k, v in result.items()})
    info["fp32_vs_fp64"] = fp64_noise(name, args.size, x, target, fp32)
    atomic_write(base + ".json", (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return 0


def fp64_noise(name, size, x, target, fp32):
    """The reference's own rounding error: the same forward pass and training step in
    float64 from the same weights and data, and per key max|fp32 - fp64| / max|fp64|
    (compare.py's measure). A key whose own error is near a test's tolerance cannot be
    checked at that tolerance."""
    model, _ = build(name, size)
    model = model.double()
    y = model(x.double())
    ref = {"y": y.detach().numpy()}
    if target is not None:
        loss = torch.nn.functional.mse_loss(y, target.double(), reduction="mean")
        loss.backward()
        ref["loss"] = np.array(loss.item())
        params = list(model.named_parameters())
        for n, p in params:
            ref["grad/" + n] = p.grad.numpy().copy()
        torch.optim.AdamW(model.parameters(), **ADAMW).step()
        for n, p in params:
            ref["param/" + n] = p.detach().numpy().copy()
    noise = {}
    for k, r in ref.items():
        scale = max(float(np.max(np.abs(r))), float(np.finfo(np.float32).tiny))
        noise[k] = float("%.3g" % (float(np.max(np.abs(fp32[k] - r))) / scale))
    return noise


if __name__ == "__main__":
    sys.exit(main())
