#!/usr/bin/python3
"""Models and expected values for tests/unit/workload/OnnxValuesTest.cpp.

Usage: onnx_value_models.py OUT_DIR [MODEL.onnx ...]

Without MODEL arguments, writes into OUT_DIR one small hand-built ONNX model per special
case of the importer (each a `<case>.onnx`, opset 13) and `values.npz`: the values
importOnnxModel must give, keyed `<case>/<graph tensor name>`, computed here with numpy
the way ONNX defines them:

  gemm_alpha_beta   Gemm(x, W, b, alpha=0.5, beta=2, transB=1): W keeps its [out, in]
                    layout, b, and the scalar constants gemm/alpha, gemm/beta
  transpose_matmul  MatMul(x, Transpose(W)) (folded into transB: W stays [5, 4]) and a
                    second reader of the transpose (materialized as an op); a float
                    Constant node
  identity_dedup    an initializer and an Identity copy of it (PyTorch's deduplication):
                    two parameters with the same values
  conv_bias         Conv with bias: the bias held as [O, 1, 1]
  folded            constants folded at import: sqrt(16) divisor, an exponent, a causal
                    mask built from Range / Less / Where, and a 300x300 constant (beyond the
                    importer's default fold size)
  batchnorm         BatchNormalization: scale / bias parameters, running mean / var
                    constants
  types             FLOAT16 and DOUBLE initializers, int64 Gather indices
  external          gemm_alpha_beta with its initializers in external.bin (external data)
  stripped          an initializer with dims but no data (importOnnxModel must refuse it)
  too_big           a 5000x5000 folded constant, over importOnnxModel's fold limit (refused)

With MODEL arguments, writes only, for each MODEL.onnx, OUT_DIR/<stem>.init.npz: onnx.numpy_helper's
values of every initializer by name, plus every Identity node output that copies an
initializer (under the output's name). Files are written to a temporary name and renamed.
"""

import io
import os
import sys
import tempfile
import zipfile

import numpy as np
import onnx
import onnx.external_data_helper
import onnx.helper as oh
import onnx.numpy_helper as nh

F = onnx.TensorProto.FLOAT
I64 = onnx.TensorProto.INT64


def atomic_write(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def npz_bytes(arrays):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.array(value, order="C"), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0)),
                       member.getvalue())
    return buf.getvalue()


def model(name, nodes, inputs, outputs, inits=()):
    graph = oh.make_graph(nodes, name, inputs, outputs, list(inits))
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13)],
                         producer_name="tessera-tests")


def vi(name, shape, t=F):
    return oh.make_tensor_value_info(name, t, shape)


def const(name, array):
    return oh.make_node("Constant", [], [name], name=name + "_const",
                        value=nh.from_array(np.asarray(array), name))


def build(out):
    rng = np.random.default_rng(7)
    expected = {}
    models = {}

    def f32(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    # Gemm with alpha / beta and transB.
    w, b = f32(4, 3), f32(4)
    models["gemm_alpha_beta"] = model(
        "gemm_alpha_beta",
        [oh.make_node("Gemm", ["x", "W", "b"], ["y"], name="gemm", alpha=0.5, beta=2.0,
                      transB=1)],
        [vi("x", [2, 3])], [vi("y", None)], [nh.from_array(w, "W"), nh.from_array(b, "b")])
    expected.update({"gemm_alpha_beta/W": w, "gemm_alpha_beta/b": b,
                     "gemm_alpha_beta/gemm/alpha": np.float32(0.5),
                     "gemm_alpha_beta/gemm/beta": np.float32(2.0)})

    # Transpose of a 2-D weight: folded into MatMul, materialized for another reader.
    w = f32(5, 4)
    c = f32(4, 5)
    models["transpose_matmul"] = model(
        "transpose_matmul",
        [oh.make_node("Transpose", ["W"], ["Wt"], name="t", perm=[1, 0]),
         oh.make_node("MatMul", ["x", "Wt"], ["y"], name="mm"),
         const("c", c),
         oh.make_node("Add", ["Wt", "c"], ["y2"], name="add")],
        [vi("x", [2, 3, 4])], [vi("y", None), vi("y2", None)], [nh.from_array(w, "W")])
    expected.update({"transpose_matmul/W": w, "transpose_matmul/c": c})

    # PyTorch's deduplicated initializers: an Identity re-creates the second name.
    w = np.array([1, 2, 3, 4], dtype=np.float32)
    models["identity_dedup"] = model(
        "identity_dedup",
        [oh.make_node("Identity", ["ln.weight"], ["ln2.weight"], name="Identity_0"),
         oh.make_node("Mul", ["x", "ln.weight"], ["h"], name="mul1"),
         oh.make_node("Mul", ["h", "ln2.weight"], ["y"], name="mul2")],
        [vi("x", [2, 4])], [vi("y", None)], [nh.from_array(w, "ln.weight")])
    expected.update({"identity_dedup/ln.weight": w, "identity_dedup/ln2.weight": w})

    # Conv bias, held as [O, 1, 1].
    w, b = f32(3, 2, 3, 3), f32(3)
    models["conv_bias"] = model(
        "conv_bias",
        [oh.make_node("Conv", ["x", "W", "B"], ["y"], name="conv", pads=[1, 1, 1, 1])],
        [vi("x", [1, 2, 5, 5])], [vi("y", None)],
        [nh.from_array(w, "W"), nh.from_array(b, "B")])
    expected.update({"conv_bias/W": w, "conv_bias/B": b.reshape(3, 1, 1)})

    # Constants folded at import.
    seq = 8
    nodes = [
        const("sixteen", np.float32(16.0)),
        oh.make_node("Sqrt", ["sixteen"], ["four"], name="sqrt"),
        oh.make_node("Div", ["x", "four"], ["scaled"], name="div"),
        const("two", np.float32(2.0)),
        oh.make_node("Pow", ["scaled", "two"], ["sq"], name="pow"),
        const("start", np.int64(0)), const("limit", np.int64(seq)), const("delta", np.int64(1)),
        oh.make_node("Range", ["start", "limit", "delta"], ["r"], name="range"),
        const("ax0", np.array([0], dtype=np.int64)), const("ax1", np.array([1], dtype=np.int64)),
        oh.make_node("Unsqueeze", ["r", "ax0"], ["cols"], name="uq0"),
        oh.make_node("Unsqueeze", ["r", "ax1"], ["rows"], name="uq1"),
        oh.make_node("Less", ["rows", "cols"], ["future"], name="less"),
        const("neg", np.float32(-1e4)), const("zero", np.float32(0.0)),
        oh.make_node("Where", ["future", "neg", "zero"], ["mask"], name="where"),
        oh.make_node("Add", ["sq", "mask"], ["y"], name="add_mask"),
        const("third_num", np.float32(1.0)), const("third_den", np.float32(3.0)),
        oh.make_node("Div", ["third_num", "third_den"], ["third"], name="div_third"),
        oh.make_node("Mul", ["y", "third"], ["y3"], name="mul_third"),
        const("big_shape", np.array([300, 300], dtype=np.int64)),
        oh.make_node("ConstantOfShape", ["big_shape"], ["halves"], name="cos",
                     value=nh.from_array(np.array([0.5], dtype=np.float32), "v")),
        const("three", np.float32(3.0)),
        oh.make_node("Mul", ["halves", "three"], ["big"], name="mul_big"),
        oh.make_node("Add", ["x2", "big"], ["y2"], name="add_big"),
    ]
    models["folded"] = model("folded", nodes, [vi("x", [2, seq, seq]), vi("x2", [300, 300])],
                             [vi("y3", None), vi("y2", None)])
    r = np.arange(seq)
    mask = np.where(r[:, None] < r[None, :], np.float32(-1e4), np.float32(0)).astype(np.float32)
    expected.update({"folded/four": np.float32(4.0), "folded/two": np.float32(2.0),
                     "folded/mask": mask, "folded/third": np.float32(1) / np.float32(3),
                     "folded/big": np.full((300, 300), 1.5, dtype=np.float32)})

    # BatchNorm: parameters and running statistics.
    s, b, m, v = f32(3), f32(3), f32(3), np.abs(f32(3)) + 0.5
    models["batchnorm"] = model(
        "batchnorm",
        [oh.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn")],
        [vi("x", [2, 3, 4, 4])], [vi("y", None)],
        [nh.from_array(s, "s"), nh.from_array(b, "b"), nh.from_array(m, "m"),
         nh.from_array(v, "v")])
    expected.update({"batchnorm/s": s, "batchnorm/b": b, "batchnorm/m": m, "batchnorm/v": v})

    # Element types other than FLOAT; integer indices.
    w16 = np.array([1.5, -0.25, 65504, 6e-8], dtype=np.float16)
    w64 = np.array([1 / 3, -2.5, 1e-40, 123456789.123], dtype=np.float64)
    idx = np.array([4, 1], dtype=np.int64)
    models["types"] = model(
        "types",
        [oh.make_node("Cast", ["W16"], ["c16"], name="cast16", to=F),
         oh.make_node("Mul", ["x", "c16"], ["y"], name="mul16"),
         oh.make_node("Cast", ["W64"], ["c64"], name="cast64", to=F),
         oh.make_node("Mul", ["x", "c64"], ["y2"], name="mul64"),
         oh.make_node("Gather", ["x3", "idx"], ["y3"], name="gather", axis=0)],
        [vi("x", [4]), vi("x3", [5, 3])], [vi("y", None), vi("y2", None), vi("y3", None)],
        [nh.from_array(w16, "W16"), nh.from_array(w64, "W64"), nh.from_array(idx, "idx")])
    expected.update({"types/W16": w16.astype(np.float32), "types/W64": w64.astype(np.float32),
                     "types/idx": idx.astype(np.float32)})

    for name, m in models.items():
        atomic_write(os.path.join(out, name + ".onnx"), m.SerializeToString())

    # External data: gemm_alpha_beta's initializers in external.bin.
    ext = onnx.ModelProto()
    ext.CopyFrom(models["gemm_alpha_beta"])
    ext.graph.name = "external"
    onnx.external_data_helper.convert_model_to_external_data(
        ext, all_tensors_to_one_file=True, location="external.bin", size_threshold=0)
    blobs = {}
    for t in ext.graph.initializer:
        blobs[t.name] = nh.to_array(models["gemm_alpha_beta"].graph.initializer[
            [i.name for i in models["gemm_alpha_beta"].graph.initializer].index(t.name)])
    data = b""
    for t in ext.graph.initializer:
        raw = blobs[t.name].tobytes()
        offset = len(data)
        data += raw
        del t.external_data[:]
        onnx.external_data_helper.set_external_data(t, "external.bin", offset, len(raw))
        t.data_location = onnx.TensorProto.EXTERNAL
        t.ClearField("raw_data")
    atomic_write(os.path.join(out, "external.bin"), data)
    atomic_write(os.path.join(out, "external.onnx"), ext.SerializeToString())
    for k in ("W", "b", "gemm/alpha", "gemm/beta"):
        expected["external/" + k] = expected["gemm_alpha_beta/" + k]

    # An initializer with dims and no data.
    stripped = onnx.TensorProto()
    stripped.name = "W"
    stripped.data_type = F
    stripped.dims.extend([4])
    m = model("stripped", [oh.make_node("Mul", ["x", "W"], ["y"], name="mul")],
              [vi("x", [4])], [vi("y", None)], [stripped])
    atomic_write(os.path.join(out, "stripped.onnx"), m.SerializeToString())

    # A folded constant over importOnnxModel's fold limit (2^24 elements).
    m = model("too_big",
              [const("shape", np.array([5000, 5000], dtype=np.int64)),
               oh.make_node("ConstantOfShape", ["shape"], ["big"], name="cos",
                            value=nh.from_array(np.array([0.5], dtype=np.float32), "v")),
               oh.make_node("Add", ["x", "big"], ["y"], name="add")],
              [vi("x", [5000, 5000])], [vi("y", None)])
    atomic_write(os.path.join(out, "too_big.onnx"), m.SerializeToString())

    atomic_write(os.path.join(out, "values.npz"), npz_bytes(expected))


def initializer_values(path, out):
    m = onnx.load(path)
    values = {t.name: nh.to_array(t).astype(np.float32) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in values:
            values[n.output[0]] = values[n.input[0]]
    stem = os.path.splitext(os.path.basename(path))[0]
    atomic_write(os.path.join(out, stem + ".init.npz"), npz_bytes(values))


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: onnx_value_models.py OUT_DIR [MODEL.onnx ...]\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if len(sys.argv) == 2:
        build(out)
    for path in sys.argv[2:]:
        initializer_values(path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
