//===- OnnxTest.cpp - ONNX import against PyTorch-exported models ----------===//
//
// The models come from tests/python/export_models.py (PyTorch / torchvision, fixed seeds,
// no downloads); the expected parameter counts and shapes are what PyTorch reports for
// the same modules, written next to the models in models.json. The models are exported
// on first use if missing or older than the script, so the test needs no fixture.
//
//===----------------------------------------------------------------------===//

#include "workload/Onnx.h"
#include "workload/Cost.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace tessera::workload {
namespace {

namespace fs = std::filesystem;

/// The directory holding the exported models, exporting them first when missing or older
/// than the script. ctest runs each test in its own process, so the export is serialized
/// with a lock file: one process exports, the others wait and reuse the files.
const std::string &modelDir() {
  static const std::string dir = [] {
    std::string d = std::string(TESSERA_BINARY_DIR) + "/onnx-models";
    fs::path script = fs::path(TESSERA_SOURCE_DIR) / "tests/python/export_models.py";
    fs::path stamp = fs::path(d) / "models.json";
    std::error_code ec;
    fs::create_directories(d, ec);
    int lock = ::open((d + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    if (lock >= 0)
      ::flock(lock, LOCK_EX);
    bool fresh = fs::exists(stamp, ec) && fs::last_write_time(stamp) >= fs::last_write_time(script);
    if (!fresh) {
      std::string cmd = std::string("'") + TESSERA_PYTHON + "' '" + script.string() + "' '" + d +
                        "' > '" + d + "/export.log' 2>&1";
      int rc = std::system(cmd.c_str());
      EXPECT_EQ(rc, 0) << "model export failed, see " << d << "/export.log";
    }
    if (lock >= 0)
      ::close(lock); // releases the lock
    return d;
  }();
  return dir;
}

std::string modelPath(const std::string &file) { return modelDir() + "/" + file; }

const nlohmann::json &reference() {
  static const nlohmann::json j = [] {
    std::ifstream f(modelPath("models.json"));
    return f ? nlohmann::json::parse(f, nullptr, false) : nlohmann::json();
  }();
  return j;
}

Shape refShape(const std::string &model, const std::string &key) {
  return reference().at(model).at(key).get<Shape>();
}

/// Imports a model and checks the result verifies; the test stops if either fails.
#define IMPORT_OK(graph, file, ...)                                                                \
  auto graph##Imported = importOnnx(modelPath(file), ##__VA_ARGS__);                               \
  ASSERT_TRUE(graph##Imported.ok()) << graph##Imported.error().render();                           \
  ASSERT_TRUE(graph##Imported->verify().ok()) << graph##Imported->verify().error().render();       \
  const Graph &graph = *graph##Imported

size_t countOps(const Graph &g, OpKind k) {
  return size_t(
      std::count_if(g.ops().begin(), g.ops().end(), [&](const Op &op) { return op.kind == k; }));
}

/// Multiply-accumulates of the forward pass's matrix work (convolutions and products),
/// from the shapes alone.
double forwardMacs(const Graph &g) {
  double macs = 0;
  for (const Op &op : g.ops()) {
    const Tensor &out = g.tensor(op.outputs[0]);
    if (op.kind == OpKind::Conv2d) {
      const Shape &w = g.tensor(op.inputs[1]).shape;
      macs += double(out.elements()) * double(w[1] * w[2] * w[3]);
    } else if (op.kind == OpKind::MatMul) {
      const Shape &a = g.tensor(op.inputs[0]).shape;
      int64_t k = op.attrs.transA ? a[a.size() - 2] : a.back();
      macs += double(out.elements()) * double(k);
    }
  }
  return macs;
}

const Tensor &onlyOutput(const Graph &g) {
  EXPECT_EQ(g.outputs().size(), 1u);
  return g.tensor(g.outputs().at(0));
}

//===----------------------------------------------------------------------===//
// Whole models
//===----------------------------------------------------------------------===//

TEST(OnnxImport, ResNet18) {
  IMPORT_OK(g, "resnet18.onnx");
  EXPECT_EQ(g.parameterCount(), reference()["resnet18"]["parameters"].get<int64_t>());
  EXPECT_EQ(g.parameterCount(), 11689512);
  EXPECT_EQ(countOps(g, OpKind::Conv2d), 20u);
  EXPECT_EQ(countOps(g, OpKind::MatMul), 1u);
  EXPECT_EQ(countOps(g, OpKind::BatchNorm), 20u);
  EXPECT_EQ(countOps(g, OpKind::MaxPool2d), 1u);
  EXPECT_EQ(countOps(g, OpKind::GlobalAvgPool), 1u);
  // 1.82 GMAC (torchvision's published 1.81 GFLOPS counts multiply-adds).
  EXPECT_NEAR(forwardMacs(g) / 1.82e9, 1.0, 0.02);

  ASSERT_EQ(g.inputs().size(), 1u);
  EXPECT_EQ(g.tensor(g.inputs()[0]).shape, (Shape{1, 3, 224, 224}));
  EXPECT_EQ(onlyOutput(g).shape, refShape("resnet18", "output"));

  // BatchNorm running statistics are constants, scale and shift parameters.
  for (const Op &op : g.ops()) {
    if (op.kind != OpKind::BatchNorm)
      continue;
    ASSERT_EQ(op.inputs.size(), 5u);
    EXPECT_EQ(g.tensor(op.inputs[1]).role, TensorRole::Parameter) << op.name;
    EXPECT_EQ(g.tensor(op.inputs[2]).role, TensorRole::Parameter) << op.name;
    EXPECT_EQ(g.tensor(op.inputs[3]).role, TensorRole::Constant) << op.name;
    EXPECT_EQ(g.tensor(op.inputs[4]).role, TensorRole::Constant) << op.name;
  }
  // Eight basic blocks, from the "layerN.M" node names.
  EXPECT_EQ(g.numLayers(), 8);
  EXPECT_EQ(g.op(OpId{0}).layer, -1); // the stem conv
  for (const Op &op : g.ops()) {
    EXPECT_EQ(op.loc.file, modelPath("resnet18.onnx"));
    EXPECT_FALSE(op.name.empty());
  }
}

TEST(OnnxImport, ResNet18Batch) {
  OnnxOptions opts;
  opts.batch = 4;
  IMPORT_OK(g, "resnet18.onnx", opts);
  EXPECT_EQ(g.tensor(g.inputs()[0]).shape, (Shape{4, 3, 224, 224}));
  EXPECT_EQ(onlyOutput(g).shape, (Shape{4, 1000}));
  EXPECT_NEAR(forwardMacs(g) / (4 * 1.82e9), 1.0, 0.02);
  EXPECT_EQ(g.parameterCount(), 11689512);
}

TEST(OnnxImport, TransformerEncoderLayer) {
  IMPORT_OK(g, "encoder_layer.onnx");
  EXPECT_EQ(g.parameterCount(), reference()["encoder_layer"]["parameters"].get<int64_t>());
  EXPECT_EQ(onlyOutput(g).shape, refShape("encoder_layer", "output"));

  // in_proj, out_proj (Gemm), linear1 and linear2 read a weight, with the exporter's
  // weight transpose folded into transB; QK^T and PV are batched over 2 x 8 heads.
  int64_t weightProducts = 0, batchedProducts = 0;
  for (const Op &op : g.ops()) {
    if (op.kind != OpKind::MatMul)
      continue;
    const Tensor &b = g.tensor(op.inputs[1]);
    if (b.role == TensorRole::Parameter) {
      ++weightProducts;
      EXPECT_TRUE(op.attrs.transB) << op.name;
      EXPECT_EQ(b.shape.size(), 2u);
    } else {
      ++batchedProducts;
      EXPECT_EQ(g.tensor(op.outputs[0]).shape, (Shape{16, 16, 16 * (1 + (b.shape[2] == 32))}))
          << op.name;
    }
  }
  EXPECT_EQ(weightProducts, 4);
  EXPECT_EQ(batchedProducts, 2);
  double tokens = 2 * 16, d = 256, ffn = 1024;
  double expected = tokens * d * (3 * d + d + 2 * ffn) + 2.0 * (2 * 8) * 16 * 16 * (d / 8);
  EXPECT_DOUBLE_EQ(forwardMacs(g), expected);

  EXPECT_EQ(countOps(g, OpKind::LayerNorm), 2u);
  EXPECT_EQ(countOps(g, OpKind::Softmax), 1u);
  EXPECT_EQ(countOps(g, OpKind::Slice), 3u); // q, k, v out of the packed projection
  // The Shape -> Gather -> Unsqueeze -> Concat chains were evaluated at import: only
  // device work is left, and no parameter is transposed by an op.
  for (const Op &op : g.ops()) {
    EXPECT_NE(op.kind, OpKind::Gather) << op.name;
    EXPECT_NE(op.kind, OpKind::Concat) << op.name;
    EXPECT_NE(op.kind, OpKind::Mul) << op.name;
    if (op.kind == OpKind::Transpose) {
      EXPECT_NE(g.tensor(op.inputs[0]).role, TensorRole::Parameter) << op.name;
    }
  }
}

TEST(OnnxImport, TinyGptDynamicBatch) {
  OnnxOptions opts;
  opts.batch = 3;
  IMPORT_OK(g, "tiny_gpt.onnx", opts);
  // The LM head shares the token embedding: counted once, as PyTorch does.
  EXPECT_EQ(g.parameterCount(), reference()["tiny_gpt"]["parameters"].get<int64_t>());
  EXPECT_EQ(g.tensor(g.inputs()[0]).shape, (Shape{3, 8}));
  Shape out = refShape("tiny_gpt", "output");
  out[0] = 3;
  EXPECT_EQ(onlyOutput(g).shape, out);

  EXPECT_EQ(countOps(g, OpKind::Embedding), 2u); // tokens and positions
  EXPECT_EQ(countOps(g, OpKind::Split), 1u);
  EXPECT_EQ(countOps(g, OpKind::Erf), 1u);
  EXPECT_EQ(countOps(g, OpKind::ReduceMean), 6u); // three decomposed LayerNorms
  EXPECT_EQ(countOps(g, OpKind::Sqrt), 3u);
  EXPECT_EQ(countOps(g, OpKind::Pow), 3u);
  EXPECT_EQ(countOps(g, OpKind::MatMul), 7u);
  const Op *head = nullptr, *wte = nullptr;
  for (const Op &op : g.ops()) {
    if (op.kind == OpKind::MatMul)
      head = &op;
    if (op.kind == OpKind::Embedding && !wte)
      wte = &op;
    // The causal mask and the position ids were computed at import time.
    EXPECT_NE(op.kind, OpKind::Cast) << op.name;
  }
  ASSERT_TRUE(head && wte);
  EXPECT_TRUE(head->attrs.transB);
  EXPECT_EQ(head->inputs[1], wte->inputs[0]);
  EXPECT_EQ(g.tensor(wte->inputs[1]).role, TensorRole::Input);
}

TEST(OnnxImport, TinyCnn) {
  IMPORT_OK(g, "tiny_cnn.onnx");
  EXPECT_EQ(g.parameterCount(), reference()["tiny_cnn"]["parameters"].get<int64_t>());
  EXPECT_EQ(onlyOutput(g).shape, refShape("tiny_cnn", "output"));
  EXPECT_EQ(countOps(g, OpKind::Conv2d), 2u);
  EXPECT_EQ(countOps(g, OpKind::Pad), 0u); // the exporter's zero Pad is a no-op
  const Op *pool = nullptr, *grouped = nullptr;
  for (const Op &op : g.ops()) {
    if (op.kind == OpKind::MaxPool2d)
      pool = &op;
    if (op.kind == OpKind::Conv2d && op.attrs.groups == 2)
      grouped = &op;
  }
  ASSERT_TRUE(pool && grouped);
  EXPECT_EQ(g.tensor(pool->outputs[0]).shape, refShape("tiny_cnn", "pool")); // ceil mode
  EXPECT_EQ(grouped->attrs.dilationH, 2);
  EXPECT_EQ(grouped->attrs.padT, 2);
  // Conv biases are added per channel as [O, 1, 1] parameters.
  size_t channelBiases = 0;
  for (const Op &op : g.ops())
    if (op.kind == OpKind::Add && g.tensor(op.inputs[1]).shape == Shape{8, 1, 1})
      ++channelBiases;
  EXPECT_EQ(channelBiases, 2u);
  // mean over H, W is a global average pool.
  EXPECT_EQ(countOps(g, OpKind::GlobalAvgPool), 1u);
}

/// The cost model reads imported graphs the way the importer means them (conv weights,
/// transposed weights, broadcast batch dims): its GEMM work equals the count above.
TEST(OnnxImport, CostModelAgrees) {
  for (const char *file : {"resnet18.onnx", "encoder_layer.onnx", "tiny_cnn.onnx"}) {
    IMPORT_OK(g, file);
    double gemmFlops = 0;
    for (const Op &op : g.ops())
      gemmFlops += opCost(g, op).gemmFlops;
    EXPECT_DOUBLE_EQ(gemmFlops, 2 * forwardMacs(g)) << file;
  }
}

TEST(OnnxImport, Deterministic) {
  IMPORT_OK(a, "encoder_layer.onnx");
  IMPORT_OK(b, "encoder_layer.onnx");
  ASSERT_EQ(a.numOps(), b.numOps());
  ASSERT_EQ(a.numTensors(), b.numTensors());
  for (size_t i = 0; i < a.numOps(); ++i) {
    EXPECT_EQ(a.ops()[i].name, b.ops()[i].name);
    EXPECT_EQ(a.ops()[i].kind, b.ops()[i].kind);
  }
  for (size_t i = 0; i < a.numTensors(); ++i)
    EXPECT_EQ(a.tensors()[i].shape, b.tensors()[i].shape);
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// A file under the build tree with the given bytes.
std::string writeFile(const std::string &name, const std::string &bytes) {
  std::string path = modelDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string readBytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void expectError(const std::string &path, const std::string &id,
                 const std::vector<std::string> &needles) {
  auto g = importOnnx(path);
  ASSERT_FALSE(g.ok()) << path << " imported";
  const Diagnostic &d = g.error();
  EXPECT_EQ(d.id, id) << d.render();
  EXPECT_EQ(d.loc.file, path);
  EXPECT_NE(d.headline().find(path), std::string::npos) << d.headline();
  for (const std::string &n : needles)
    EXPECT_NE(d.message.find(n), std::string::npos) << "'" << n << "' not in: " << d.message;
}

TEST(OnnxImport, MissingFileBad) {
  expectError(modelDir() + "/no-such-model.onnx", "onnx-read", {"no such file"});
}

TEST(OnnxImport, EmptyFileBad) { expectError(writeFile("empty.onnx", ""), "onnx-read", {"empty"}); }

TEST(OnnxImport, GarbageFileBad) {
  std::mt19937 rng(7);
  std::string bytes(4096, '\0');
  for (char &c : bytes)
    c = char(rng());
  expectError(writeFile("garbage.onnx", bytes), "onnx-read", {"not an ONNX model"});
}

TEST(OnnxImport, TruncatedFileBad) {
  std::string bytes = readBytes(modelPath("resnet18.onnx"));
  ASSERT_GT(bytes.size(), 1000u);
  expectError(writeFile("truncated.onnx", bytes.substr(0, bytes.size() / 2)), "onnx-read",
              {"truncated"});
}

TEST(OnnxImport, UnsupportedOpBad) {
  // Every unsupported type once, with its first node; supported ones are not listed.
  expectError(modelPath("unsupported.onnx"), "unsupported-op",
              {"unsupported ONNX operators: NonMaxSuppression (node 'nms_0'), TopK (node "
               "'topk_1')"});
  auto g = importOnnx(modelPath("unsupported.onnx"));
  EXPECT_EQ(g.error().message.find("topk_2"), std::string::npos);
  EXPECT_EQ(g.error().message.find("Relu"), std::string::npos);
}

TEST(OnnxImport, UndefinedValueBad) {
  expectError(modelPath("bad_undefined.onnx"), "onnx-invalid", {"'relu_0'", "'nope'"});
}

TEST(OnnxImport, ReshapeBad) {
  expectError(modelPath("bad_reshape.onnx"), "onnx-shape",
              {"Reshape node 'reshape_0'", "[2,3]", "[4,2]"});
}

TEST(OnnxImport, ConvStrideBad) {
  expectError(modelPath("bad_conv.onnx"), "onnx-invalid", {"Conv node 'conv_0'", "strides"});
}

TEST(OnnxImport, RuntimeWhereBad) {
  expectError(modelPath("bad_where.onnx"), "unsupported-op",
              {"Where node 'where_0'", "known at import time"});
}

/// Corrupted and truncated copies of real models: every one is imported or rejected with
/// a diagnostic, none crashes or hangs.
class OnnxCorrupted : public testing::TestWithParam<const char *> {};

TEST_P(OnnxCorrupted, NeverCrashesBad) {
  std::string good = readBytes(modelPath(GetParam()));
  ASSERT_GT(good.size(), 1000u);
  std::mt19937 rng(1234);
  std::map<std::string, int> outcomes;
  for (int i = 0; i < 300; ++i) {
    std::string bytes = good;
    if (i % 3 == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      for (int flips = 1 + int(rng() % 8); flips > 0; --flips)
        bytes[rng() % bytes.size()] = char(rng());
    }
    std::string path = writeFile(std::string("corrupt-") + GetParam(), bytes);
    auto g = importOnnx(path);
    if (g.ok()) {
      EXPECT_TRUE(g->verify().ok());
      ++outcomes["ok"];
    } else {
      EXPECT_EQ(g.error().loc.file, path);
      ++outcomes[g.error().id];
    }
  }
  EXPECT_GT(outcomes["onnx-read"], 0);
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxCorrupted, testing::Values("tiny_gpt.onnx", "tiny_cnn.onnx"),
                         [](const auto &info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

} // namespace
} // namespace tessera::workload
