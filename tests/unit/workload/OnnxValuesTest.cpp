//===- OnnxValuesTest.cpp - initializer values of imported ONNX models -----===//
//
// importOnnxModel must give the graph importOnnx gives plus the FP32 values of every
// Parameter and Constant tensor, in the tensor's graph shape. Checked against
//  - tests/python/onnx_value_models.py: one hand-built model per special case of the
//    importer (Gemm alpha / beta, Transpose folded into transB, Identity copies, conv
//    bias as [O, 1, 1], folded constants, BatchNorm statistics, FLOAT16 / DOUBLE / int64
//    initializers, external data, an initializer without data) with the values numpy
//    computes for them;
//  - the PyTorch models of tests/python/torch_reference.py (mlp, cnn, encoder,
//    resnet18) and tests/python/export_models.py (tiny_gpt, tiny_cnn, encoder_layer,
//    resnet18 at 224): every parameter, by its state_dict name, equals what
//    onnx.numpy_helper reads from the file; the references' inputs / outputs fit the
//    graph, and two runs of torch_reference.py give the same bytes.
// The Python outputs are generated on first use into the build tree (serialized with a
// lock file, regenerated when a script is newer).
//
//===----------------------------------------------------------------------===//

#include "workload/Onnx.h"

#include "support/FileIO.h"
#include "support/Npy.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

namespace tessera::workload {
namespace {

namespace fs = std::filesystem;

/// Runs the commands `cmds` unless `stamp` is newer than every script in `deps`, holding
/// `dir`.lock so that concurrent test processes generate once.
void generate(const std::string &dir, const std::string &stamp,
              const std::vector<std::string> &deps, const std::vector<std::string> &cmds) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  int lock = ::open((dir + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock >= 0)
    ::flock(lock, LOCK_EX);
  bool fresh = fs::exists(stamp, ec);
  for (const std::string &d : deps)
    fresh = fresh && fs::last_write_time(stamp, ec) >= fs::last_write_time(d, ec);
  if (!fresh) {
    fs::remove(stamp, ec);
    for (const std::string &cmd : cmds) {
      int rc = std::system((cmd + " >> '" + dir + "/generate.log' 2>&1").c_str());
      EXPECT_EQ(rc, 0) << cmd << ": see " << dir << "/generate.log";
      if (rc != 0) {
        fs::remove(stamp, ec); // retried by the next test process
        break;
      }
    }
  }
  if (lock >= 0)
    ::close(lock);
}

std::string script(const std::string &name) {
  return std::string(TESSERA_SOURCE_DIR) + "/tests/python/" + name;
}
std::string py(const std::string &name) {
  return std::string("'") + TESSERA_PYTHON + "' '" + script(name) + "'";
}

/// export_models.py's models (shared with OnnxTest.cpp: same directory, lock and stamp).
const std::string &exportDir() {
  static const std::string dir = [] {
    std::string d = std::string(TESSERA_BINARY_DIR) + "/onnx-models";
    generate(d, d + "/models.json", {script("export_models.py")},
             {py("export_models.py") + " '" + d + "'"});
    return d;
  }();
  return dir;
}

const std::vector<std::string> kTorchModels = {"mlp", "cnn", "encoder", "resnet18"};
const std::vector<std::string> kExportModels = {"tiny_gpt", "tiny_cnn", "encoder_layer",
                                                "resnet18"};

/// torch_reference.py's models and onnx_value_models.py's cases and expected values.
const std::string &valueDir() {
  static const std::string dir = [] {
    std::string d = std::string(TESSERA_BINARY_DIR) + "/onnx-values";
    std::string ex = exportDir();
    std::vector<std::string> cmds;
    std::string args;
    for (const std::string &m : kTorchModels) {
      cmds.push_back(py("torch_reference.py") + " " + m + " '" + d + "/torch'");
      args += " '" + d + "/torch/" + m + ".onnx'";
    }
    // Twice, for the determinism test.
    cmds.push_back(py("torch_reference.py") + " mlp '" + d + "/torch-again'");
    cmds.push_back(py("torch_reference.py") + " cnn '" + d + "/torch-again'");
    std::string exportArgs;
    for (const std::string &m : kExportModels)
      exportArgs += " '" + ex + "/" + m + ".onnx'";
    cmds.push_back(py("onnx_value_models.py") + " '" + d + "/torch'" + args);
    cmds.push_back(py("onnx_value_models.py") + " '" + d + "/export'" + exportArgs);
    cmds.push_back(py("onnx_value_models.py") + " '" + d + "'");
    generate(d, d + "/values.npz",
             {script("torch_reference.py"), script("onnx_value_models.py"),
              script("export_models.py"), __FILE__},
             cmds);
    return d;
  }();
  return dir;
}

std::map<std::string, NpyArray> loadNpz(const std::string &path) {
  auto arrays = readNpz(path);
  EXPECT_TRUE(arrays.ok()) << (arrays.ok() ? "" : arrays.error().render());
  std::map<std::string, NpyArray> out;
  if (arrays.ok())
    for (auto &[k, a] : *arrays)
      out.emplace(k, std::move(a));
  return out;
}

std::optional<TensorId> findTensor(const Graph &g, const std::string &name) {
  for (uint32_t i = 0; i < g.numTensors(); ++i)
    if (g.tensor(TensorId{i}).name == name)
      return TensorId{i};
  return std::nullopt;
}

#define IMPORT_MODEL(model, path)                                                                  \
  auto model##Imported = importOnnxModel(path);                                                    \
  ASSERT_TRUE(model##Imported.ok()) << model##Imported.error().render();                           \
  const OnnxModel &model = *model##Imported

/// The graphs are the same, tensor for tensor and op for op.
void expectSameGraph(const Graph &a, const Graph &b) {
  ASSERT_EQ(a.numTensors(), b.numTensors());
  ASSERT_EQ(a.numOps(), b.numOps());
  for (uint32_t i = 0; i < a.numTensors(); ++i) {
    const Tensor &x = a.tensor(TensorId{i}), &y = b.tensor(TensorId{i});
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.shape, y.shape) << x.name;
    EXPECT_EQ(x.dtype, y.dtype) << x.name;
    EXPECT_EQ(x.role, y.role) << x.name;
  }
  for (uint32_t i = 0; i < a.numOps(); ++i) {
    const Op &x = a.op(OpId{i}), &y = b.op(OpId{i});
    EXPECT_EQ(x.kind, y.kind) << x.name;
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.inputs, y.inputs) << x.name;
    EXPECT_EQ(x.outputs, y.outputs) << x.name;
    EXPECT_EQ(x.attrs.transA, y.attrs.transA) << x.name;
    EXPECT_EQ(x.attrs.transB, y.attrs.transB) << x.name;
  }
  EXPECT_EQ(a.inputs(), b.inputs());
  EXPECT_EQ(a.outputs(), b.outputs());
}

/// Every Parameter / Constant has values of its element count; nothing else has any.
void expectCompleteValues(const OnnxModel &m) {
  size_t constants = 0;
  for (uint32_t i = 0; i < m.graph.numTensors(); ++i) {
    const Tensor &t = m.graph.tensor(TensorId{i});
    const std::vector<float> *v = m.init.find(TensorId{i});
    if (t.role == TensorRole::Parameter || t.role == TensorRole::Constant) {
      ++constants;
      ASSERT_NE(v, nullptr) << t.name << " has no values";
      EXPECT_EQ(int64_t(v->size()), t.elements()) << t.name;
    } else {
      EXPECT_EQ(v, nullptr) << t.name << " (" << roleName(t.role) << ") has values";
    }
  }
  EXPECT_EQ(m.init.values.size(), constants);
}

void expectValues(const std::vector<float> &got, const NpyArray &want, const std::string &what) {
  auto w = npyToFloats(want, what);
  ASSERT_TRUE(w.ok()) << w.error().render();
  ASSERT_EQ(got.size(), w->size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &(*w)[i], 4) != 0 && ++bad <= 3)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", expected " << (*w)[i];
  EXPECT_EQ(bad, 0u) << what;
}

//===----------------------------------------------------------------------===//
// One case per importer special case
//===----------------------------------------------------------------------===//

class SpecialCase : public ::testing::TestWithParam<const char *> {};

TEST_P(SpecialCase, ValuesMatchNumpy) {
  std::string name = GetParam();
  std::string path = valueDir() + "/" + name + ".onnx";
  IMPORT_MODEL(m, path);
  expectCompleteValues(m);
  auto plain = importOnnx(path);
  ASSERT_TRUE(plain.ok()) << plain.error().render();
  expectSameGraph(*plain, m.graph);

  static const std::map<std::string, NpyArray> expected = loadNpz(valueDir() + "/values.npz");
  size_t checked = 0;
  for (const auto &[key, want] : expected) {
    if (key.rfind(name + "/", 0) != 0)
      continue;
    std::string tensor = key.substr(name.size() + 1);
    auto id = findTensor(m.graph, tensor);
    ASSERT_TRUE(id) << "no tensor '" << tensor << "' in " << name;
    const Tensor &t = m.graph.tensor(*id);
    EXPECT_TRUE(t.role == TensorRole::Parameter || t.role == TensorRole::Constant) << tensor;
    EXPECT_EQ(t.shape, want.shape) << tensor; // the graph's shape, e.g. a bias as [O, 1, 1]
    const std::vector<float> *v = m.init.find(*id);
    ASSERT_NE(v, nullptr) << tensor;
    expectValues(*v, want, key);
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

INSTANTIATE_TEST_SUITE_P(OnnxValues, SpecialCase,
                         ::testing::Values("gemm_alpha_beta", "transpose_matmul", "identity_dedup",
                                           "conv_bias", "folded", "batchnorm", "types",
                                           "external"));

const Op *findOp(const Graph &g, OpKind k) {
  for (const Op &op : g.ops())
    if (op.kind == k)
      return &op;
  return nullptr;
}

TEST(OnnxValues, StructureOfTheSpecialCases) {
  {
    IMPORT_MODEL(m, valueDir() + "/gemm_alpha_beta.onnx");
    const Op *mm = findOp(m.graph, OpKind::MatMul);
    ASSERT_TRUE(mm);
    EXPECT_TRUE(mm->attrs.transB);
    EXPECT_EQ(m.graph.tensor(mm->inputs[1]).shape, (Shape{4, 3}));
    EXPECT_EQ(m.graph.tensor(mm->inputs[1]).role, TensorRole::Parameter);
  }
  {
    IMPORT_MODEL(m, valueDir() + "/transpose_matmul.onnx");
    const Op *mm = findOp(m.graph, OpKind::MatMul);
    ASSERT_TRUE(mm);
    EXPECT_TRUE(mm->attrs.transB);
    EXPECT_EQ(m.graph.tensor(mm->inputs[1]).name, "W");
    EXPECT_EQ(m.graph.tensor(mm->inputs[1]).shape, (Shape{5, 4}));
    const Op *tr = findOp(m.graph, OpKind::Transpose); // the Add's reader
    ASSERT_TRUE(tr);
    EXPECT_EQ(tr->inputs[0], mm->inputs[1]);
    EXPECT_EQ(m.init.find(tr->outputs[0]), nullptr);
  }
  {
    IMPORT_MODEL(m, valueDir() + "/identity_dedup.onnx");
    EXPECT_EQ(m.graph.parameters().size(), 2u);
  }
  {
    IMPORT_MODEL(m, valueDir() + "/types.onnx");
    auto w16 = findTensor(m.graph, "W16"), idx = findTensor(m.graph, "idx");
    ASSERT_TRUE(w16 && idx);
    EXPECT_EQ(m.graph.tensor(*w16).dtype, DType::F16);
    EXPECT_EQ(m.graph.tensor(*idx).role, TensorRole::Constant);
    EXPECT_EQ(m.graph.tensor(*idx).dtype, DType::I64);
  }
  {
    // importOnnx keeps no values and folds no constant over 2^16 elements; the graph is
    // the same either way.
    IMPORT_MODEL(m, valueDir() + "/folded.onnx");
    auto big = findTensor(m.graph, "big");
    ASSERT_TRUE(big);
    EXPECT_EQ(m.graph.tensor(*big).role, TensorRole::Constant);
    EXPECT_EQ(m.init.find(*big)->size(), 90000u);
  }
}

TEST(OnnxValues, InitializerWithoutDataIsAnError) {
  std::string path = valueDir() + "/stripped.onnx";
  auto plain = importOnnx(path);
  ASSERT_TRUE(plain.ok()) << plain.error().render(); // shapes alone are enough for it
  auto m = importOnnxModel(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().id, "onnx-value");
  EXPECT_NE(m.error().headline().find("stripped.onnx"), std::string::npos) << m.error().render();
  EXPECT_NE(m.error().message.find("'W'"), std::string::npos) << m.error().render();
}

TEST(OnnxValues, ConstantOverTheFoldLimitIsAnError) {
  std::string path = valueDir() + "/too_big.onnx";
  auto plain = importOnnx(path);
  ASSERT_TRUE(plain.ok()) << plain.error().render();
  auto m = importOnnxModel(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().id, "onnx-value");
  EXPECT_NE(m.error().message.find("'big' [5000,5000] were not computed"), std::string::npos)
      << m.error().render();
}

TEST(OnnxValues, MissingExternalDataIsAnError) {
  auto bytes = readTextFile(valueDir() + "/external.onnx");
  ASSERT_TRUE(bytes.ok());
  // Found next to the file the bytes claim to come from...
  auto here = importOnnxModelBytes(*bytes, valueDir() + "/external.onnx");
  ASSERT_TRUE(here.ok()) << here.error().render();
  // ... and not elsewhere.
  auto elsewhere = importOnnxModelBytes(*bytes, "/nonexistent-dir/external.onnx");
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().id, "onnx-value");
  EXPECT_NE(elsewhere.error().message.find("external.bin"), std::string::npos)
      << elsewhere.error().render();
}

TEST(OnnxValues, CorruptModelsGiveErrorsOrCompleteValues) {
  std::mt19937 rng(11);
  for (const char *name : {"gemm_alpha_beta", "folded", "types", "conv_bias"}) {
    auto orig = readTextFile(valueDir() + "/" + name + ".onnx");
    ASSERT_TRUE(orig.ok());
    for (int i = 0; i < 150; ++i) {
      std::string s = *orig;
      for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k)
        s[rng() % s.size()] = char(rng() & 0xff);
      auto m = importOnnxModelBytes(s, "mutant.onnx");
      if (m.ok())
        expectCompleteValues(*m);
      else
        EXPECT_NE(m.error().headline().find("mutant.onnx"), std::string::npos)
            << m.error().headline();
    }
  }
}

//===----------------------------------------------------------------------===//
// PyTorch-exported models
//===----------------------------------------------------------------------===//

/// Every Parameter, by name, equals onnx.numpy_helper's value of the initializer (or of
/// the initializer an Identity copies).
void checkAgainstNumpyHelper(const std::string &onnxPath, const std::string &initNpz) {
  IMPORT_MODEL(m, onnxPath);
  expectCompleteValues(m);
  auto plain = importOnnx(onnxPath);
  ASSERT_TRUE(plain.ok()) << plain.error().render();
  expectSameGraph(*plain, m.graph);
  std::map<std::string, NpyArray> ref = loadNpz(initNpz);
  ASSERT_FALSE(ref.empty());
  size_t params = 0;
  for (TensorId p : m.graph.parameters()) {
    const Tensor &t = m.graph.tensor(p);
    auto it = ref.find(t.name);
    ASSERT_NE(it, ref.end()) << "parameter '" << t.name << "' is not an initializer";
    EXPECT_EQ(numElements(it->second.shape), t.elements()) << t.name;
    expectValues(*m.init.find(p), it->second, t.name);
    ++params;
  }
  EXPECT_GT(params, 0u);
}

class TorchReferenceModel : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchReferenceModel, ParametersAreTheStateDict) {
  std::string dir = valueDir() + "/torch/";
  std::string name = GetParam();
  checkAgainstNumpyHelper(dir + name + ".onnx", dir + name + ".init.npz");

  IMPORT_MODEL(m, dir + name + ".onnx");
  std::ifstream jf(dir + name + ".json");
  nlohmann::json info = nlohmann::json::parse(jf, nullptr, false);
  ASSERT_FALSE(info.is_discarded());
  // The graph's parameters are the module's, by state_dict name and shape.
  std::set<std::string> want, got;
  for (const auto &p : info["parameters"])
    want.insert(p["name"].get<std::string>() + " " + shapeStr(p["shape"].get<Shape>()));
  for (TensorId p : m.graph.parameters())
    got.insert(m.graph.tensor(p).name + " " + shapeStr(m.graph.tensor(p).shape));
  if (name == "cnn") {
    // conv biases are held as [O, 1, 1]
    for (auto [bias, channels] :
         {std::pair<const char *, int64_t>{"conv1.bias", 8}, {"conv2.bias", 16}}) {
      ASSERT_EQ(want.erase(bias + (" " + shapeStr({channels}))), 1u) << bias;
      want.insert(bias + (" " + shapeStr({channels, 1, 1})));
    }
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(m.graph.parameterCount(), info["parameter_count"].get<int64_t>());

  // The reference inputs and outputs fit the graph's.
  auto inputs = loadNpz(dir + name + ".inputs.npz");
  auto forward = loadNpz(dir + name + ".forward.npz");
  ASSERT_EQ(m.graph.inputs().size(), 1u);
  const Tensor &x = m.graph.tensor(m.graph.inputs()[0]);
  EXPECT_EQ(x.name, "x");
  ASSERT_TRUE(inputs.count("x"));
  EXPECT_EQ(inputs.at("x").shape, x.shape);
  ASSERT_EQ(m.graph.outputs().size(), 1u);
  const Tensor &y = m.graph.tensor(m.graph.outputs()[0]);
  EXPECT_EQ(y.name, "y");
  ASSERT_TRUE(forward.count("y"));
  EXPECT_EQ(forward.at("y").shape, y.shape);
  if (name != "resnet18") {
    ASSERT_TRUE(inputs.count("target"));
    EXPECT_EQ(inputs.at("target").shape, y.shape);
    auto train = loadNpz(dir + name + ".train.npz");
    EXPECT_TRUE(train.count("loss"));
    for (TensorId p : m.graph.parameters()) {
      std::string n = m.graph.tensor(p).name;
      EXPECT_TRUE(train.count("grad/" + n) && train.count("param/" + n)) << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(OnnxValues, TorchReferenceModel, ::testing::ValuesIn(kTorchModels));

TEST(OnnxValues, TorchReferenceIsByteForByteDeterministic) {
  for (const char *model : {"mlp", "cnn"})
    for (const char *suffix : {".onnx", ".inputs.npz", ".forward.npz", ".train.npz", ".json"}) {
      std::string file = std::string(model) + suffix;
      auto a = readTextFile(valueDir() + "/torch/" + file);
      auto b = readTextFile(valueDir() + "/torch-again/" + file);
      ASSERT_TRUE(a.ok() && b.ok()) << file;
      EXPECT_TRUE(*a == *b) << file << " differs between two runs";
    }
}

class ExportedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportedModel, ParametersMatchNumpyHelper) {
  checkAgainstNumpyHelper(exportDir() + "/" + GetParam() + ".onnx",
                          valueDir() + "/export/" + GetParam() + ".init.npz");
}

INSTANTIATE_TEST_SUITE_P(OnnxValues, ExportedModel, ::testing::ValuesIn(kExportModels));

} // namespace
} // namespace tessera::workload
