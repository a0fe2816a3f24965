"""tessera.compile, Model and AdamW: the user-facing API over tessera._tessera.

A Model holds the imported ONNX graph (with its initializer values), the forward program and,
once train_step has been called, the training program, each loaded in its own runtime (the
device DRAM persists across runs). After a training step the forward runtime's parameters are
refreshed from the training runtime before its next run, so both programs see one set of
weights.
"""

import io
import math
import os
import sys
import threading
import warnings

import numpy as np

from . import _tessera
from ._tessera import Error

try:
    from . import _paths
except ImportError:  # the package copied out of the build tree without its _paths.py
    _paths = None

ONNX_OPSET = 17
DEFAULT_ARCH = "tessera-train-7nm"
BACKENDS = ("golden", "cycle", "rtl")


def _error(ident, message, file=""):
    """A tessera.Error made on the Python side, rendered as the C++ diagnostics are."""
    text = f"{file}: error[{ident}]: {message}" if file else f"error[{ident}]: {message}"
    e = Error(text)
    e.id, e.message, e.file, e.line, e.col, e.text = ident, message, file, 0, 0, text
    return e


def _arch_dir():
    if _paths is not None:
        return os.path.join(_paths.SOURCE_DIR, "examples", "arch")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "arch")


def default_arch():
    """The arch spec compile() uses when none is given: the source tree's
    examples/arch/tessera-train-7nm.yaml (16x16x8 tile, 512 KiB SPAD, 64 KiB ACC), the
    file `tessera compile --arch` is given in docs/compiler.md and the CLI tests."""
    return os.path.join(_arch_dir(), DEFAULT_ARCH + ".yaml")


def _resolve_arch(arch):
    if arch is None:
        return default_arch()
    if not isinstance(arch, (str, os.PathLike)):
        raise _error("bad-value", f"arch must be a path to an arch spec YAML file or the name "
                     f"of one in examples/arch, not {type(arch).__name__}")
    path = os.fspath(arch)
    if not os.path.exists(path) and os.sep not in path and not path.endswith((".yaml", ".yml")):
        named = os.path.join(_arch_dir(), path + ".yaml")
        if os.path.exists(named):
            return named
    return path  # a missing file is reported by the arch loader, naming it


class AdamW:
    """torch.optim.AdamW's hyper-parameters (decoupled weight decay, amsgrad off)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        for name, v in (("lr", self.lr), ("eps", self.eps), ("weight_decay", self.weight_decay)):
            if not math.isfinite(v) or v < 0:
                raise _error("bad-value", f"AdamW {name} must be finite and >= 0, got {v}")
        for b in self.betas:
            if not 0.0 <= b < 1.0:
                raise _error("bad-value", f"AdamW betas must be in [0, 1), got {self.betas}")

    def _key(self):
        return (self.lr, self.betas[0], self.betas[1], self.eps, self.weight_decay)

    def __eq__(self, other):
        return isinstance(other, AdamW) and self._key() == other._key()

    def __repr__(self):
        return (f"tessera.AdamW(lr={self.lr!r}, betas={self.betas!r}, eps={self.eps!r}, "
                f"weight_decay={self.weight_decay!r})")

    @staticmethod
    def of(optimizer):
        """A tessera.AdamW from a tessera.AdamW or a torch.optim.AdamW (param_groups[0])."""
        if optimizer is None:
            return AdamW()
        if isinstance(optimizer, AdamW):
            return optimizer
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(optimizer, torch.optim.Optimizer):
            if type(optimizer).__name__ != "AdamW":
                raise _error("unsupported-optimizer",
                             f"{type(optimizer).__module__}.{type(optimizer).__name__} is not "
                             f"supported: the training program's optimizer is AdamW "
                             f"(tessera.AdamW or torch.optim.AdamW)")
            groups = optimizer.param_groups
            g = groups[0]
            for flag in ("amsgrad", "maximize"):
                if g.get(flag, False):
                    raise _error("unsupported-optimizer",
                                 f"torch.optim.AdamW with {flag}=True is not supported")
            keys = ("lr", "betas", "eps", "weight_decay")
            for other in groups[1:]:
                if any(_as_float_tree(other[k]) != _as_float_tree(g[k]) for k in keys):
                    raise _error("unsupported-optimizer",
                                 "the param_groups of the torch.optim.AdamW differ: the "
                                 "training program uses one set of hyper-parameters")
            return AdamW(lr=float(g["lr"]), betas=tuple(float(b) for b in g["betas"]),
                         eps=float(g["eps"]), weight_decay=float(g["weight_decay"]))
        raise _error("unsupported-optimizer",
                     f"optimizer must be a tessera.AdamW or a torch.optim.AdamW, not "
                     f"{type(optimizer).__name__}")


def _as_float_tree(v):
    if isinstance(v, (tuple, list)):
        return tuple(float(x) for x in v)
    return float(v)


def _torch_module(model):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return torch
    return None


def _to_numpy(a):
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch.Tensor
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _export_module(torch, module, example_inputs):
    """torch.onnx.export of `module` in eval mode into memory, with the settings of
    tests/python/torch_reference.py; returns (ONNX bytes, diagnostic name)."""
    name = f"<torch.nn.Module {type(module).__name__}>"
    if example_inputs is None:
        raise _error("missing-example-inputs",
                     "compiling a torch.nn.Module needs example_inputs (an array or a tuple of "
                     "arrays / tensors with the shapes the program is compiled for)", name)
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    args = tuple(torch.from_numpy(np.ascontiguousarray(_to_numpy(a), dtype=np.float32))
                 for a in example_inputs)
    input_names = ["x"] if len(args) == 1 else [f"x{i}" for i in range(len(args))]
    was_training = module.training
    module.eval()
    try:
        # Autograd stays on (as in torch_reference.py): in eval mode without grad,
        # nn.TransformerEncoderLayer takes PyTorch's fused fast path, which has no ONNX export.
        with torch.enable_grad():
            out = module(*args)
        n_out = len(out) if isinstance(out, (tuple, list)) else 1
        output_names = ["y"] if n_out == 1 else [f"y{i}" for i in range(n_out)]
        buf = io.BytesIO()
        # The trace is specialised to the example shapes, as the program is: the tracer's
        # "might not generalize" warnings say nothing the user has not chosen.
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(module, args, buf, opset_version=ONNX_OPSET,
                              input_names=input_names, output_names=output_names,
                              export_params=True, do_constant_folding=False,
                              training=torch.onnx.TrainingMode.PRESERVE)
    except Error:
        raise
    except Exception as e:  # the exporter's own failure, as a located diagnostic
        raise _error("onnx-export", f"torch.onnx.export failed: {type(e).__name__}: "
                     f"{str(e).splitlines()[0] if str(e) else ''}", name) from None
    finally:
        module.train(was_training)
    return buf.getvalue(), name


def _import(model, example_inputs, batch):
    if isinstance(model, (str, os.PathLike)):
        return _tessera.import_onnx(os.fspath(model), batch)
    if isinstance(model, (bytes, bytearray, memoryview)):
        return _tessera.import_onnx_bytes(bytes(model), "<onnx bytes>", batch)
    if type(model).__name__ == "ModelProto" and hasattr(model, "SerializeToString"):
        label = f"<onnx.ModelProto {model.graph.name}>" if model.graph.name else "<onnx.ModelProto>"
        return _tessera.import_onnx_bytes(model.SerializeToString(), label, batch)
    torch = _torch_module(model)
    if torch is not None:
        data, name = _export_module(torch, model, example_inputs)
        return _tessera.import_onnx_bytes(data, name, batch)
    raise _error("bad-value", f"cannot compile a {type(model).__module__}."
                 f"{type(model).__name__}: give an .onnx path, ONNX bytes, an onnx.ModelProto "
                 f"or a torch.nn.Module")


def _shape_str(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _bind(specs, values, what, model_name):
    """Maps user inputs (one array, a list in order, or a dict by name) onto the (name,
    shape) specs; returns [(name, float32 C-contiguous array)] with shapes checked."""
    names = [n for n, _ in specs]
    if isinstance(values, dict):
        unknown = [k for k in values if k not in names]
        if unknown:
            raise _error("unknown-input", f"model '{model_name}' has no {what} "
                         f"'{unknown[0]}' (its {what}s: {', '.join(names)})")
        missing = [n for n in names if n not in values]
        if missing:
            raise _error("missing-input", f"no value for {what} '{missing[0]}' of model "
                         f"'{model_name}'")
        items = [values[n] for n in names]
    elif isinstance(values, (list, tuple)):
        if len(values) != len(names):
            raise _error("bad-inputs", f"model '{model_name}' has {len(names)} {what}s "
                         f"({', '.join(names)}), got {len(values)} values")
        items = list(values)
    else:
        if len(names) != 1:
            raise _error("bad-inputs", f"model '{model_name}' has {len(names)} {what}s "
                         f"({', '.join(names)}): pass a list or a dict")
        items = [values]
    bound = []
    for (name, shape), v in zip(specs, items):
        try:
            a = np.ascontiguousarray(_to_numpy(v), dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise _error("bad-inputs", f"{what} '{name}' of model '{model_name}' is not a "
                         f"float array: {e}") from None
        if tuple(a.shape) != tuple(shape):
            raise _error("bad-input-shape", f"{what} '{name}' of model '{model_name}' has "
                         f"shape {_shape_str(shape)}, got an array of shape "
                         f"{_shape_str(a.shape)}")
        bound.append((name, a))
    return bound


def compile(model, arch=None, policy="fp32", example_inputs=None, optimizer=None, *,
            batch=None):
    """Compiles `model` for the tile of an arch spec; returns a Model.

    model           an .onnx path, ONNX bytes, an onnx.ModelProto or a torch.nn.Module
                    (exported with `example_inputs`, eval mode)
    arch            arch spec YAML path or examples/arch name (default: default_arch())
    policy          "fp32" | "bf16" | "mxfp8" | "mxfp8-sparse" (docs/compiler.md)
    example_inputs  torch.nn.Module only: an array / tensor or a tuple of them
    optimizer       the default optimizer of train_step (tessera.AdamW or torch.optim.AdamW)
    batch           ONNX files with a dynamic batch dimension: its value
    """
    arch_path = _resolve_arch(arch)
    if not isinstance(policy, str):
        raise _error("bad-value", f"policy must be a string (fp32, bf16, mxfp8, mxfp8-sparse), "
                     f"not {type(policy).__name__}")
    imported = _import(model, example_inputs, batch)
    return Model(imported, arch_path, policy, AdamW.of(optimizer))


class Model:
    """A model compiled for a tile: run(), train_step(), parameters(), gradients(),
    report(), listing(). Made by tessera.compile()."""

    def __init__(self, imported, arch_path, policy, optimizer):
        self._onnx = imported
        self._arch = arch_path
        self._policy = policy
        self._optimizer = optimizer
        self._forward = _tessera.compile(imported, arch_path, policy, False,
                                         *self._hyper(optimizer))
        self._forward_rt = _tessera.Runtime(self._forward)
        self._train = None
        self._train_rt = None
        self._train_opt = None
        self._forward_stale = False
        self._last_rt = None
        self._losses = []
        # One Model call at a time: a run is write inputs, run, read outputs on shared
        # device memory (the native runtime releases the GIL while it runs).
        self._lock = threading.RLock()

    @staticmethod
    def _hyper(opt):
        return (opt.lr, opt.betas[0], opt.betas[1], opt.eps, opt.weight_decay)

    # -- description -----------------------------------------------------------------
    @property
    def name(self):
        return self._forward.model

    @property
    def policy(self):
        return self._forward.policy

    @property
    def arch(self):
        return self._arch

    @property
    def inputs(self):
        """[(name, shape)] of the graph inputs, in graph order."""
        return [(t["name"], tuple(t["shape"])) for t in self._onnx.inputs]

    @property
    def outputs(self):
        """[(name, shape)] of the graph outputs, in graph order."""
        return [(t["name"], tuple(t["shape"])) for t in self._onnx.outputs]

    @property
    def steps(self):
        """Training steps done so far."""
        return self._train_rt.steps_done if self._train_rt is not None else 0

    def __repr__(self):
        return (f"<tessera.Model '{self.name}' policy={self.policy} arch={self._arch!r} "
                f"steps={self.steps}>")

    # -- running -----------------------------------------------------------------------
    @staticmethod
    def _check_backend(backend):
        if backend not in BACKENDS:
            raise _error("bad-value", f"unknown backend '{backend}' (golden, cycle, rtl)")

    def _sync_forward(self):
        if self._forward_stale and self._train_rt is not None:
            for name in self._forward_rt.tensors_of("parameter"):
                self._forward_rt.write(name, self._train_rt.read(name))
        self._forward_stale = False

    def run(self, inputs, backend="golden"):
        """One forward pass. inputs: one array (single-input model), a list in graph-input
        order, or a dict name -> array (converted to float32; shapes must match). Returns
        the output as a numpy array for a single-output model, else a dict name -> array.
        backend: "golden" (bit-exact functional model) or "cycle" (also per-op cycles)."""
        with self._lock:
            self._check_backend(backend)
            bound = _bind(self.inputs, inputs, "input", self.name)
            self._sync_forward()
            for name, a in bound:
                self._forward_rt.write(name, a)
            self._forward_rt.run(backend)
            self._last_rt = self._forward_rt
            outs = {name: self._forward_rt.read(name) for name, _ in self.outputs}
            if len(outs) == 1:
                return next(iter(outs.values()))
            return outs

    def _training_program(self, opt):
        if self._train is not None and opt == self._train_opt:
            return
        if self._train_rt is not None and self._train_rt.steps_done > 0:
            raise _error("optimizer-changed",
                         f"model '{self.name}' has trained {self._train_rt.steps_done} steps "
                         f"with {self._train_opt!r}; changing the hyper-parameters of a running "
                         f"AdamW ({opt!r}) is not supported: compile the model again")
        self._train = _tessera.compile(self._onnx, self._arch, self._policy, True,
                                       *self._hyper(opt))
        self._train_rt = _tessera.Runtime(self._train)
        self._train_opt = opt

    def _target_specs(self):
        fwd = {n for n, _ in self.inputs}
        return [(n, tuple(self._train_rt.shape(n))) for n in self._train_rt.tensors_of("input")
                if n not in fwd]

    def train_step(self, inputs, targets, optimizer=None, backend="golden"):
        """One training step: forward, MSE(mean) loss against `targets` (the output's shape),
        backward and an AdamW update of every parameter. optimizer: a tessera.AdamW or a
        torch.optim.AdamW (hyper-parameters from param_groups[0]); default: the one of the
        previous step, else the one given to compile(), else AdamW(). The hyper-parameters
        are compiled into the training program: changing them after the first step is an
        error (`optimizer-changed`). Returns the loss (the value before the update) as a float."""
        with self._lock:
            self._check_backend(backend)
            if optimizer is not None:
                opt = AdamW.of(optimizer)
            else:  # the optimizer in use, else compile()'s
                opt = self._train_opt or self._optimizer
            self._training_program(opt)
            bound = _bind(self.inputs, inputs, "input", self.name)
            bound += _bind(self._target_specs(), targets, "target", self.name)
            for name, a in bound:
                self._train_rt.write(name, a)
            self._train_rt.run(backend)
            self._last_rt = self._train_rt
            self._forward_stale = True
            losses = self._train_rt.tensors_of("loss")
            loss = float(self._train_rt.read(losses[0]).reshape(-1)[0])
            self._losses.append(loss)
            return loss

    # -- state -------------------------------------------------------------------------
    def _state_rt(self):
        return self._train_rt if self._train_rt is not None else self._forward_rt

    def parameters(self):
        """dict name -> array of the current parameters (state_dict names), in graph order."""
        with self._lock:
            rt = self._state_rt()
            return {n: rt.read(n) for n in rt.tensors_of("parameter")}

    def gradients(self):
        """dict parameter name -> its gradient from the last training step."""
        with self._lock:
            if self._train_rt is None or self._train_rt.steps_done == 0:
                raise _error("no-training-step", f"model '{self.name}' has no gradients before "
                             f"its first train_step")
            rt = self._train_rt
            return {n: rt.gradient(n) for n in rt.tensors_of("parameter")}

    def report(self, path=None):
        """The last run (run or train_step): a dict with model, policy, train, backend,
        step, cycles, instructions, losses (every train_step's loss) and ops (per-op rows:
        op, name, kind, phase, cycles, instructions; filled by backend="cycle"). With `path`
        also writes path/report.json and path/report.html as `tessera run --report` does."""
        with self._lock:
            if self._last_rt is None:
                raise _error("no-run", f"model '{self.name}' has not run yet: no report")
            r = self._last_rt.last_result()
            losses = list(self._losses) if r["train"] else []
            r["losses"] = losses
            if path is not None:
                self._last_rt.write_report(os.fspath(path), losses)
            return r

    def listing(self, train=False):
        """The program listing (per op a header, then its instructions with disassembly):
        the forward program, or with train=True the training program."""
        with self._lock:
            if train:
                self._training_program(self._train_opt or self._optimizer)
                return self._train.listing()
            return self._forward.listing()

    def save(self, path, train=False):
        """Writes the forward (or training) program directory that `tessera run` loads."""
        with self._lock:
            if train:
                self._training_program(self._train_opt or self._optimizer)
                self._train.save(os.fspath(path))
            else:
                self._forward.save(os.fspath(path))
