#!/usr/bin/python3
"""PyTorch references for the compiler / runtime end-to-end tests.

Usage: torch_reference.py MODEL OUT_DIR [--size N] [--dataset STEPS] [--precision P,...]
                          [--prune-2:4]

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

--dataset STEPS (mlp / cnn / encoder) also writes a generated training task and PyTorch's
own FP32 run of it, for `tessera train` (tests/cli/train.cmake):
  MODEL.dataset.npz   "x" [B, *input shape] and "target" [B, *output shape], B = 512
                      batches (4096 samples for the mlp): x ~ N(0, 1) from a fixed seed,
                      target = teacher(x) / std(teacher(x)) where the teacher is the same
                      architecture re-initialized by its modules' reset_parameters()
                      (MultiheadAttention: _reset_parameters()) under another fixed seed
                      (a realizable regression task, targets of unit variance)
  MODEL.curve.npz     "loss" [STEPS]: the student (MODEL.onnx's initial weights) trained for
                      STEPS steps, step s on batch s mod B: MSE(mean) loss of that step's
                      forward pass (before its update), AdamW as above; float32. With
                      --prune-2:4 also "loss/mxfp8-sparse": the same run of the 2:4
                      pruned student (masks as below, re-applied after every step)
  MODEL.json          gains "dataset": batches, samples, steps, seeds, first / final loss

--precision bf16,mxfp8 also writes PyTorch's own reduced-precision run of the same
forward pass and training step (same weights and data), the yardstick of the BF16 / FP8
policies' bounds (docs/compiler.md, "Low-precision bounds"):
  MODEL.forward-P.npz "y"
  MODEL.train-P.npz   mlp / cnn / encoder: "loss", "grad/<param>", "param/<param>"
Every GEMM / convolution operand of the forward and the backward pass (aten mm, addmm,
bmm, baddbmm, convolution, convolution_backward, caught by a TorchDispatchMode) is
rounded before the product, which is then computed in FP32; everything else is FP32:
  bf16   each operand rounded to bfloat16 (RNE)
  mxfp8  OCP MX v1.0 fake quantization along the product's K dim: blocks of 32
         (zero-padded), E8M0 scale 2^(floor(log2 amax) - 8), elements E4M3 (RNE,
         subnormals, saturating at 448). A convolution is its im2col GEMM
         (out[n] = W [O][C*KH*KW] x col[n]; grad-input W^T x dy[n], K = O; grad-weight
         dy[n] x col[n]^T per image, K = OH*OW), as the compiler lowers it.

--prune-2:4 also writes the references of policy mxfp8-sparse (write_pruned): every
nn.Linear weight with in_features % 4 == 0 (and nn.MultiheadAttention's in_proj_weight)
pruned 2:4 by magnitude (the 2 largest |w| of
each group of 4 inputs, ties: the lower index), the training step's updated weights
masked again after AdamW:
  MODEL.pruned.npz        FP32: "y", "mask/<param>", and "loss", "grad/<param>", "param/<param>"
  MODEL.pruned-mxfp8.npz  the same with MXFP8 GEMM operands (as --precision mxfp8)

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
import contextlib
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
    ap.add_argument("--precision", default="", metavar="P,...",
                    help="also write MODEL.forward-P.npz / MODEL.train-P.npz for P in bf16, mxfp8")
    ap.add_argument("--prune-2:4", dest="prune24", action="store_true",
                    help="also write MODEL.pruned.npz / MODEL.pruned-mxfp8.npz (2:4 pruned "
                         "Linear weights, as policy mxfp8-sparse prunes them)")
    ap.add_argument("--dataset", type=int, metavar="STEPS",
                    help="also write MODEL.dataset.npz and MODEL.curve.npz (STEPS steps)")
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
    for policy in [p for p in args.precision.split(",") if p]:
        if policy not in LOWP:
            ap.error("--precision: unknown policy '%s' (bf16, mxfp8)" % policy)
        info.setdefault("precision", {})[policy] = reduced_precision(
            name, args.size, x, target, policy, base)
    if args.prune24:
        info["pruned_2_4"] = write_pruned(name, args.size, x, target, base)
    if args.dataset:
        if not train:
            ap.error("--dataset needs a model with a training step (mlp, cnn, encoder)")
        info["dataset"] = write_dataset(name, args.size, args.dataset, base, args.prune24)
    atomic_write(base + ".json", (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return 0


def round_bf16(t):
    return t.to(torch.bfloat16).to(t.dtype)


def round_e4m3(t):
    """float64 tensor -> nearest E4M3 value (RNE; subnormals below 2^-6 with quantum
    2^-9; saturating at +-448, the format's largest finite value)."""
    a = t.abs()
    _, e = torch.frexp(a)                      # a = m 2^e, m in [0.5, 1): floor(log2 a) = e - 1
    q = torch.ldexp(torch.ones_like(a), torch.clamp(e - 1, min=-6) - 3)
    r = torch.clamp(torch.round(a / q) * q, max=448.0)  # torch.round: half to even
    return torch.where(t < 0, -r, r)


def mx_quantize(t, dim):
    """OCP MX v1.0 MXFP8 (E4M3) fake quantization of `t` in blocks of 32 along `dim`."""
    x = t.double().movedim(dim, -1)
    k = x.shape[-1]
    pad = (-k) % 32
    if pad:
        x = torch.nn.functional.pad(x, (0, pad))
    b = x.reshape(*x.shape[:-1], -1, 32)
    amax = b.abs().amax(dim=-1, keepdim=True)
    _, e = torch.frexp(amax)
    scale = torch.ldexp(torch.ones_like(amax), torch.clamp(e - 1 - 8, min=-127))
    q = (round_e4m3(b / scale) * scale).reshape(x.shape)[..., :k]
    return q.movedim(-1, dim).to(t.dtype).contiguous()


class LowPrecisionGemms(torch.utils._python_dispatch.TorchDispatchMode):
    """Rounds the operands of every GEMM / convolution (forward and backward) to the
    policy's format; the products themselves run in FP32 (module docstring)."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def q(self, t, k_dim):
        return round_bf16(t) if self.policy == "bf16" else mx_quantize(t, k_dim)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        aten = torch.ops.aten
        if func is aten.mm.default:
            a, b = args
            return func(self.q(a, -1), self.q(b, -2))
        if func is aten.addmm.default:
            c, a, b = args[:3]
            return func(c, self.q(a, -1), self.q(b, -2), *args[3:], **kwargs)
        if func is aten.bmm.default:
            a, b = args
            return func(self.q(a, -1), self.q(b, -2))
        if func is aten.baddbmm.default:
            c, a, b = args[:3]
            return func(c, self.q(a, -1), self.q(b, -2), *args[3:], **kwargs)
        if func is aten.convolution.default:
            if self.policy == "bf16":
                x, w = args[:2]
                return func(round_bf16(x), round_bf16(w), *args[2:], **kwargs)
            return self.conv_mx(*args)
        if func is aten.convolution_backward.default:
            if self.policy == "bf16":
                dy, x, w = args[:3]
                return func(round_bf16(dy), round_bf16(x), round_bf16(w), *args[3:], **kwargs)
            return self.conv_backward_mx(*args)
        return func(*args, **kwargs)

    @staticmethod
    def check_conv(transposed, groups):
        if transposed or groups != 1:
            raise NotImplementedError("mxfp8 emulation: plain convolutions only (groups 1)")

    def conv_mx(self, x, w, bias, stride, padding, dilation, transposed, output_padding,
                groups):
        self.check_conv(transposed, groups)
        n, _, h, wd = x.shape
        o, _, kh, kw = w.shape
        col = torch.nn.functional.unfold(x, (kh, kw), dilation, padding, stride)  # [N, CKK, P]
        wq = mx_quantize(w.reshape(o, -1), 1)
        y = torch.matmul(wq, mx_quantize(col, 1))                                # [N, O, P]
        oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        y = y.reshape(n, o, oh, ow)
        if bias is not None:
            y = y + bias.reshape(1, o, 1, 1)
        return y

    def conv_backward_mx(self, dy, x, w, bias_sizes, stride, padding, dilation, transposed,
                         output_padding, groups, mask):
        self.check_conv(transposed, groups)
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        dy2 = dy.reshape(n, o, -1)                                               # [N, O, P]
        col = torch.nn.functional.unfold(x, (kh, kw), dilation, padding, stride)  # [N, CKK, P]
        dx = dw = db = None
        if mask[0]:
            wt = mx_quantize(w.reshape(o, -1).t(), 1)                            # [CKK, O]
            dcol = torch.matmul(wt, mx_quantize(dy2, 1))                         # K = O
            dx = torch.nn.functional.fold(dcol, (h, wd), (kh, kw), dilation, padding, stride)
        if mask[1]:
            dw = torch.zeros(o, c * kh * kw, dtype=x.dtype)
            for i in range(n):                                                   # K = P per image
                dw = dw + mx_quantize(dy2[i], 1) @ mx_quantize(col[i].t(), 0)
            dw = dw.reshape(w.shape)
        if mask[2]:
            db = dy.sum(dim=(0, 2, 3))
        return dx, dw, db


LOWP = ("bf16", "mxfp8")


def reduced_precision(name, size, x, target, policy, base):
    """--precision: the forward pass and (with a target) the training step with every
    GEMM / convolution operand rounded to `policy` (LowPrecisionGemms), from the same
    weights and data. Writes MODEL.forward-P.npz / MODEL.train-P.npz; returns the files'
    names for MODEL.json."""
    model, _ = build(name, size)
    params = list(model.named_parameters())
    with LowPrecisionGemms(policy):
        y = model(x)
        result = None
        if target is not None:
            loss = torch.nn.functional.mse_loss(y, target, reduction="mean")
            loss.backward()
    atomic_write(base + ".forward-%s.npz" % policy, npz_bytes({"y": to_numpy(y)}))
    files = {"forward": os.path.basename(base) + ".forward-%s.npz" % policy}
    if target is not None:
        result = {"loss": np.array(loss.item(), dtype=np.float32)}
        for n, p in params:
            result["grad/" + n] = to_numpy(p.grad)
        torch.optim.AdamW(model.parameters(), **ADAMW).step()
        for n, p in params:
            result["param/" + n] = to_numpy(p)
        atomic_write(base + ".train-%s.npz" % policy, npz_bytes(result))
        files["train"] = os.path.basename(base) + ".train-%s.npz" % policy
    return files


def prune_2_4(w):
    """Policy mxfp8-sparse's one-shot magnitude pruning of a Linear weight [out, in]: in
    each group of 4 consecutive inputs keep the 2 largest |w| (ties: the lower index).
    Returns the 0/1 mask."""
    g = w.detach().reshape(w.shape[0], -1, 4).abs()
    # Stable descending sort: among equal magnitudes the lower index comes first.
    order = torch.sort(g, dim=-1, descending=True, stable=True).indices[..., :2]
    mask = torch.zeros_like(g).scatter_(-1, order, 1.0)
    return mask.reshape(w.shape)


def write_pruned(name, size, x, target, base):
    """--prune-2:4: the reference of policy mxfp8-sparse. Every nn.Linear weight whose
    in_features is a multiple of 4 (and MultiheadAttention's packed in_proj_weight
    [3E, E], a Linear too) is pruned 2:4 (prune_2_4) before the forward pass (the
    compiler prunes the weights of forward MatMuls with K % 4 == 0; convolutions stay
    dense); the training step is the usual one (dense gradients of the masked weights,
    AdamW) followed by the mask re-applied to the updated weights (NVIDIA ASP). Written in
    FP32 (MODEL.pruned.npz) and with MXFP8 GEMM operands (MODEL.pruned-mxfp8.npz,
    LowPrecisionGemms): "y", "mask/<param>", and with a target "loss", "grad/<param>",
    "param/<param>"."""
    files = {}
    for policy in ("fp32", "mxfp8"):
        model, _ = build(name, size)
        masks = {}
        with torch.no_grad():
            for mname, mod in model.named_modules():
                if isinstance(mod, torch.nn.Linear) and mod.in_features % 4 == 0:
                    masks[mname + ".weight"] = prune_2_4(mod.weight)
                    mod.weight.mul_(masks[mname + ".weight"])
                if (isinstance(mod, torch.nn.MultiheadAttention)
                        and mod.in_proj_weight is not None and mod.embed_dim % 4 == 0):
                    masks[mname + ".in_proj_weight"] = prune_2_4(mod.in_proj_weight)
                    mod.in_proj_weight.mul_(masks[mname + ".in_proj_weight"])
        params = list(model.named_parameters())
        ctx = LowPrecisionGemms(policy) if policy != "fp32" else contextlib.nullcontext()
        with ctx:
            y = model(x)
            if target is not None:
                loss = torch.nn.functional.mse_loss(y, target, reduction="mean")
                loss.backward()
        result = {"y": to_numpy(y)}
        for n, m in masks.items():
            result["mask/" + n] = to_numpy(m)
        if target is not None:
            result["loss"] = np.array(loss.item(), dtype=np.float32)
            for n, p in params:
                result["grad/" + n] = to_numpy(p.grad)
            torch.optim.AdamW(model.parameters(), **ADAMW).step()
            with torch.no_grad():
                for n, p in params:
                    if n in masks:
                        p.mul_(masks[n])
                    result["param/" + n] = to_numpy(p)
        suffix = ".pruned.npz" if policy == "fp32" else ".pruned-%s.npz" % policy
        atomic_write(base + suffix, npz_bytes(result))
        files[policy] = os.path.basename(base) + suffix
    files["pruned"] = sorted(masks)
    return files


DATASET_BATCHES = 512


def write_dataset(name, size, steps, base, prune=False):
    """--dataset: the teacher-student regression task and PyTorch's FP32 loss curve
    (module docstring). With --prune-2:4 the curve file also holds "loss/mxfp8-sparse":
    the same run of the 2:4 pruned model in FP32 (write_pruned's masks, applied at step 0
    and again after every AdamW step). Returns the "dataset" entry of MODEL.json."""
    model, in_shape = build(name, size)
    teacher, _ = build(name, size)
    torch.manual_seed(SEED + 10)
    for m in teacher.modules():
        if m is not teacher and hasattr(m, "reset_parameters"):
            m.reset_parameters()
        elif m is not teacher and hasattr(m, "_reset_parameters"):  # nn.MultiheadAttention
            m._reset_parameters()
    g = torch.Generator().manual_seed(SEED + 11)
    nb = DATASET_BATCHES
    x = torch.randn(nb, *in_shape, generator=g)
    with torch.no_grad():
        t = teacher(x.reshape(nb * in_shape[0], *in_shape[1:]))
    t = (t / t.std()).reshape(nb, in_shape[0], *t.shape[1:])
    def curve(model, masks):
        opt = torch.optim.AdamW(model.parameters(), **ADAMW)
        losses = []
        for s in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(x[s % nb]), t[s % nb], reduction="mean")
            loss.backward()
            opt.step()
            with torch.no_grad():
                for p, m in masks:
                    p.mul_(m)
            losses.append(loss.item())
        return losses

    losses = curve(model, [])
    curves = {"loss": np.array(losses, dtype=np.float32)}
    if prune:
        pruned, _ = build(name, size)
        masks = []
        with torch.no_grad():
            for mod in pruned.modules():
                if isinstance(mod, torch.nn.Linear) and mod.in_features % 4 == 0:
                    masks.append((mod.weight, prune_2_4(mod.weight)))
                    mod.weight.mul_(masks[-1][1])
        curves["loss/mxfp8-sparse"] = np.array(curve(pruned, masks), dtype=np.float32)
    atomic_write(base + ".dataset.npz", npz_bytes({"x": to_numpy(x), "target": to_numpy(t)}))
    atomic_write(base + ".curve.npz", npz_bytes(curves))
    return {"batches": nb, "samples": nb * in_shape[0], "steps": steps,
            "teacher_seed": SEED + 10, "data_seed": SEED + 11, "first_loss": losses[0],
            "final_loss_mean10": float(np.mean(losses[-10:]))}


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
