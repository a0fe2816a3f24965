#!/usr/bin/python3
"""Export the ONNX models the workload import tests read.

Usage: export_models.py OUT_DIR

Writes, deterministically (fixed seeds, no downloads):
  resnet18.onnx          torchvision ResNet-18 (weights=None), input 1x3x224x224, opset 13
  encoder_layer.onnx     nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True) on
                         [2, 16, 256], eval mode, opset 17 (LayerNormalization)
  tiny_gpt.onnx          a one-block GPT at opset 13 (decomposed LayerNorm, erf GELU,
                         Split, tied embeddings, constant causal mask), dynamic batch
  tiny_cnn.onnx          conv with bias, grouped / dilated conv, ceil-mode pooling,
                         concat, spatial mean, opset 13
  unsupported.onnx       a tiny hand-built graph with NonMaxSuppression and TopK
  bad_*.onnx             small hand-built graphs with one defect each (negative tests)
  models.json            reference numbers from PyTorch (parameter counts, shapes)

Files are written to a temporary name and renamed, so a concurrent reader never sees a
half-written model.
"""

import json
import math
import os
import sys
import tempfile

import onnx
import onnx.helper as oh
import torch
import torchvision


def atomic_write_bytes(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def export(model, args, path, opset, input_names, output_names, dynamic_axes=None):
    # TrainingMode.PRESERVE on a model in eval mode exports inference semantics but skips
    # the eval-only peephole pass that folds BatchNorm into the preceding Conv: the
    # workload is a training graph, so BatchNorm and its parameters must stay visible.
    # Shape subgraphs are left unfolded on purpose; the importer folds them itself.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".onnx")
    os.close(fd)
    torch.onnx.export(model, args, tmp, opset_version=opset, input_names=input_names,
                      output_names=output_names, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, dynamic_axes=dynamic_axes)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def export_resnet18(out):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    export(model, (x,), os.path.join(out, "resnet18.onnx"), 13, ["input"], ["logits"])
    return {"file": "resnet18.onnx", "parameters": num_params(model),
            "input": list(x.shape), "output": [1, 1000]}


def export_encoder_layer(out):
    torch.manual_seed(0)
    model = torch.nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024,
                                             batch_first=True).eval()
    x = torch.randn(2, 16, 256)
    # Export with autograd on: in eval mode without grad PyTorch takes the fused
    # "fast path" kernel, which has no ONNX symbolic.
    with torch.enable_grad():
        export(model, (x,), os.path.join(out, "encoder_layer.onnx"), 17, ["src"], ["out"])
    return {"file": "encoder_layer.onnx", "parameters": num_params(model),
            "input": list(x.shape), "output": list(x.shape)}


class TinyGpt(torch.nn.Module):
    def __init__(self, vocab=64, d=32, heads=4, seq=8):
        super().__init__()
        self.d, self.heads = d, heads
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(seq, d)
        self.ln1 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.fc1 = torch.nn.Linear(d, 4 * d)
        self.fc2 = torch.nn.Linear(4 * d, d)
        self.lnf = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab, bias=False)
        self.head.weight = self.wte.weight
        self.register_buffer("causal", torch.tril(torch.ones(seq, seq, dtype=torch.bool)))

    def forward(self, tokens):
        b, s = tokens.shape
        hd = self.d // self.heads
        x = self.wte(tokens) + self.wpe(torch.arange(s))
        q, k, v = self.qkv(self.ln1(x)).split(self.d, dim=-1)
        q = q.reshape(b, s, self.heads, hd).transpose(1, 2)
        k = k.reshape(b, s, self.heads, hd).transpose(1, 2)
        v = v.reshape(b, s, self.heads, hd).transpose(1, 2)
        mask = (~self.causal[:s, :s]).float() * -1e4
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd) + mask, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, s, self.d)
        x = x + self.proj(y)
        x = x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))
        return self.head(self.lnf(x))


class TinyCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=True)
        self.bn = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2, bias=True)
        self.avg = torch.nn.AvgPool2d(2)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv1(x))))
        x = self.avg(self.conv2(x))
        x = torch.cat([x, x * torch.sigmoid(x)], dim=1)
        return torch.tanh(self.fc(x.mean((2, 3))))


def export_tiny_gpt(out):
    torch.manual_seed(0)
    model = TinyGpt().eval()
    tokens = torch.randint(0, 64, (2, 8))
    with torch.no_grad():
        y = model(tokens)
    export(model, (tokens,), os.path.join(out, "tiny_gpt.onnx"), 13, ["tokens"], ["logits"],
           dynamic_axes={"tokens": {0: "batch"}, "logits": {0: "batch"}})
    return {"file": "tiny_gpt.onnx", "parameters": num_params(model),
            "input": list(tokens.shape), "output": list(y.shape)}


def export_tiny_cnn(out):
    torch.manual_seed(0)
    model = TinyCnn().eval()
    # 36x36: the ceil-mode max pool then yields 9x9 where floor mode would give 8x8.
    x = torch.randn(2, 3, 36, 36)
    pooled = []
    model.pool.register_forward_hook(lambda m, i, o: pooled.append(list(o.shape)))
    with torch.no_grad():
        y = model(x)
    export(model, (x,), os.path.join(out, "tiny_cnn.onnx"), 13, ["image"], ["out"])
    return {"file": "tiny_cnn.onnx", "parameters": num_params(model),
            "input": list(x.shape), "output": list(y.shape), "pool": pooled[0]}


def export_unsupported(out):
    f = onnx.TensorProto.FLOAT
    i64 = onnx.TensorProto.INT64
    nodes = [
        oh.make_node("Relu", ["scores"], ["r"], name="relu_0"),
        oh.make_node("NonMaxSuppression", ["boxes", "r"], ["sel"], name="nms_0"),
        oh.make_node("TopK", ["r", "k"], ["vals", "idx"], axis=-1, name="topk_1"),
        oh.make_node("TopK", ["vals", "k"], ["vals2", "idx2"], axis=-1, name="topk_2"),
    ]
    graph = oh.make_graph(
        nodes, "unsupported",
        [oh.make_tensor_value_info("boxes", f, [1, 8, 4]),
         oh.make_tensor_value_info("scores", f, [1, 1, 8])],
        [oh.make_tensor_value_info("sel", i64, None),
         oh.make_tensor_value_info("vals2", f, None)],
        [oh.make_tensor("k", i64, [1], [4])])
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13)],
                          producer_name="tessera-tests")
    atomic_write_bytes(os.path.join(out, "unsupported.onnx"), model.SerializeToString())
    return {"file": "unsupported.onnx"}


def export_bad_models(out):
    """One defect per model; the importer must report it, naming the node."""
    f = onnx.TensorProto.FLOAT
    i64 = onnx.TensorProto.INT64

    def save(name, nodes, inputs, outputs, inits=()):
        graph = oh.make_graph(nodes, name, inputs, outputs, list(inits))
        model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13)],
                              producer_name="tessera-tests")
        atomic_write_bytes(os.path.join(out, name + ".onnx"), model.SerializeToString())

    x = oh.make_tensor_value_info("x", f, [2, 3])
    y = oh.make_tensor_value_info("y", f, None)
    save("bad_undefined", [oh.make_node("Relu", ["nope"], ["y"], name="relu_0")], [x], [y])
    save("bad_reshape", [oh.make_node("Reshape", ["x", "shape"], ["y"], name="reshape_0")],
         [x], [y], [oh.make_tensor("shape", i64, [2], [4, 2])])
    img = oh.make_tensor_value_info("img", f, [1, 3, 8, 8])
    save("bad_conv", [oh.make_node("Conv", ["img", "w"], ["y"], name="conv_0",
                                   strides=[0, 1])],
         [img], [y], [oh.make_tensor("w", f, [4, 3, 3, 3], [0.0] * 108)])
    cond = oh.make_tensor_value_info("cond", onnx.TensorProto.BOOL, [2, 3])
    save("bad_where", [oh.make_node("Where", ["cond", "x", "x"], ["y"], name="where_0")],
         [cond, x], [y])


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: export_models.py OUT_DIR\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    info = {
        "resnet18": export_resnet18(out),
        "encoder_layer": export_encoder_layer(out),
        "tiny_gpt": export_tiny_gpt(out),
        "tiny_cnn": export_tiny_cnn(out),
        "unsupported": export_unsupported(out),
    }
    export_bad_models(out)
    atomic_write_bytes(os.path.join(out, "models.json"),
                       (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
