//===- Onnx.cpp - ONNX model import ----------------------------------------===//
//
// Reads an ONNX ModelProto with protobuf, runs ONNX shape inference, and translates the
// node list into the workload graph IR in one pass over a topological order (the file's
// own order unless it is not topological).
//
// Three kinds of values meet in an exported model and the importer keeps them apart:
//  - activations, computed per step: the nodes that produce them become graph ops;
//  - weights, float initializers read by compute ops: materialized lazily, at their first
//    use, as Parameter tensors (Constant where the slot is not trainable: BatchNorm
//    running statistics, exponents, divisors, scalars);
//  - shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains, masks
//    built from constants): nodes whose inputs are all known at import time are
//    evaluated here (constant folding) and never reach the graph, since they are not
//    device work. Constants too large to evaluate keep only their shape.
//
// Each supported ONNX op type is one row of the rule table (findRule): an optional fold
// function (evaluates the node when every input is a known constant) and an optional
// convert function (emits graph ops). Output shapes come from the importer's own shape
// functions, written from the ONNX operator specification; the shapes ONNX inference
// wrote to value_info are the fallback for a Reshape whose target is only known at run
// time.
//
// PyTorch's exporter deduplicates equal-valued initializers (freshly initialized norm
// weights are all ones, biases all zeros) and re-creates the dropped names with Identity
// nodes. An Identity of an initializer therefore starts a new tensor, so that parameter
// counts match the PyTorch module's. A Transpose of a 2-D weight feeding MatMul / Gemm
// becomes the product's transB flag rather than a transpose op on a parameter.
//
// importOnnxModel runs the same import and then reads the values of every Parameter and
// Constant tensor the graph ended up with, from the value each tensor was materialized
// from (an initializer's payload, inline or in an external data file, a Constant node,
// a folded constant, or a scalar the importer added), so that the values follow every
// reshaping the importer did to the tensor.
//
//===----------------------------------------------------------------------===//

#include "workload/Onnx.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <queue>
#include <unordered_map>
#include <unordered_set>

namespace tessera::workload {
namespace {

using onnx::AttributeProto;
using onnx::NodeProto;
using onnx::TensorProto;

/// Largest constant whose values the importer decodes or computes; bigger constants
/// (attention masks, lookup tables) keep only their shape.
constexpr int64_t kMaxFoldElements = int64_t(1) << 16;
/// The same limit when the values are kept (importOnnxModel): folded constants the graph
/// reads need values. The total over all folds is bounded too, so that a crafted file
/// cannot make the importer hold gigabytes of folded doubles.
constexpr int64_t kMaxValueFoldElements = int64_t(1) << 24;
constexpr int64_t kMaxValueFoldTotal = int64_t(1) << 25;
/// Largest dimension and element count accepted; beyond them a file is corrupt.
constexpr int64_t kMaxDim = int64_t(1) << 40;
constexpr int64_t kMaxElements = int64_t(1) << 52;
constexpr uint32_t kNoValue = UINT32_MAX;

//===----------------------------------------------------------------------===//
// Element types and constant data
//===----------------------------------------------------------------------===//

bool isFloatType(int32_t t) {
  return t == TensorProto::FLOAT || t == TensorProto::DOUBLE || t == TensorProto::FLOAT16 ||
         t == TensorProto::BFLOAT16;
}

bool isIntType(int32_t t) { return !isFloatType(t); }

/// The graph dtype an ONNX element type is held in; nullopt for strings and complex.
/// There is no f64 in the graph: doubles are held as f32.
std::optional<DType> toDType(int32_t t) {
  switch (t) {
  case TensorProto::FLOAT:
  case TensorProto::DOUBLE:
    return DType::F32;
  case TensorProto::FLOAT16:
    return DType::F16;
  case TensorProto::BFLOAT16:
    return DType::BF16;
  case TensorProto::INT64:
  case TensorProto::UINT64:
  case TensorProto::UINT32:
    return DType::I64;
  case TensorProto::INT32:
  case TensorProto::INT16:
  case TensorProto::UINT16:
    return DType::I32;
  case TensorProto::INT8:
  case TensorProto::UINT8:
    return DType::I8;
  case TensorProto::BOOL:
    return DType::Bool;
  default:
    return std::nullopt;
  }
}

/// Bytes per element in raw_data.
int64_t rawElementSize(int32_t t) {
  switch (t) {
  case TensorProto::DOUBLE:
  case TensorProto::INT64:
  case TensorProto::UINT64:
    return 8;
  case TensorProto::FLOAT:
  case TensorProto::INT32:
  case TensorProto::UINT32:
    return 4;
  case TensorProto::FLOAT16:
  case TensorProto::BFLOAT16:
  case TensorProto::INT16:
  case TensorProto::UINT16:
    return 2;
  default:
    return 1;
  }
}

std::string typeName(int32_t t) {
  if (TensorProto::DataType_IsValid(t))
    return TensorProto::DataType_Name(TensorProto::DataType(t));
  return "type " + std::to_string(t);
}

int64_t saturate(double d) {
  if (std::isnan(d))
    return 0;
  if (d >= 9.2e18)
    return INT64_MAX;
  if (d <= -9.2e18)
    return INT64_MIN;
  return int64_t(d);
}

double halfToDouble(uint16_t h) {
  int exp = (h >> 10) & 0x1f;
  int man = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(double(man), -24);
  else if (exp == 31)
    v = man ? NAN : INFINITY;
  else
    v = std::ldexp(double(man | 0x400), exp - 25);
  return (h & 0x8000) ? -v : v;
}

double bf16ToDouble(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// `d` rounded to nearest-even in a binary format with `mant` fraction bits, normal
/// exponents from `minExp` and largest finite value `maxFinite` (overflow gives infinity).
double roundToFormat(double d, int mant, int minExp, double maxFinite) {
  if (!std::isfinite(d) || d == 0)
    return d;
  int e = std::max(std::ilogb(d), minExp);
  double q = std::ldexp(1.0, e - mant);
  double r = std::nearbyint(d / q) * q;
  if (std::fabs(r) > maxFinite)
    return std::copysign(INFINITY, d);
  return r;
}

/// A value computed in double precision, rounded to the floating-point element type it
/// is held in (as ONNX Runtime computes it in that type).
double roundToType(double d, int32_t type) {
  switch (type) {
  case TensorProto::FLOAT:
    return double(float(d));
  case TensorProto::FLOAT16:
    return roundToFormat(d, 10, -14, 65504.0);
  case TensorProto::BFLOAT16:
    return roundToFormat(d, 7, -126, 3.3895313892515355e38);
  default:
    return d;
  }
}

/// Element count of `s`, or -1 when a dim is negative or too large or the count is.
int64_t checkedElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0 || d > kMaxDim)
      return -1;
    if (d != 0 && n > kMaxElements / d)
      return -1;
    n *= d;
  }
  return n;
}

/// Values of a constant known at import time, row-major. Integer and boolean tensors
/// use `ints`, floating-point tensors `floats`.
struct ConstData {
  bool isFloat = false;
  std::vector<int64_t> ints;
  std::vector<double> floats;

  size_t size() const { return isFloat ? floats.size() : ints.size(); }
  double real(size_t i) const { return isFloat ? floats[i] : double(ints[i]); }
  int64_t integer(size_t i) const { return isFloat ? saturate(floats[i]) : ints[i]; }
  void push(const ConstData &src, size_t i) {
    if (isFloat)
      floats.push_back(src.real(i));
    else
      ints.push_back(src.integer(i));
  }
};

/// True when the tensor carries its values in the file (not external, not stripped).
bool hasPayload(const TensorProto &t) {
  if (t.data_location() == TensorProto::EXTERNAL)
    return false;
  return !t.raw_data().empty() || t.float_data_size() || t.int32_data_size() ||
         t.int64_data_size() || t.double_data_size() || t.uint64_data_size();
}

/// Number of values in the typed field the ONNX spec uses for `t`'s element type.
int64_t typedFieldSize(const TensorProto &t) {
  switch (t.data_type()) {
  case TensorProto::FLOAT:
    return t.float_data_size();
  case TensorProto::DOUBLE:
    return t.double_data_size();
  case TensorProto::INT64:
    return t.int64_data_size();
  case TensorProto::UINT64:
  case TensorProto::UINT32:
    return t.uint64_data_size();
  default:
    return t.int32_data_size();
  }
}

template <typename T> T load(const char *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

/// Element i of a tensor's raw_data (little-endian, as ONNX stores it), as a double for
/// floating-point types and an int64 otherwise.
double rawReal(int32_t type, const char *p) {
  switch (type) {
  case TensorProto::FLOAT:
    return load<float>(p);
  case TensorProto::DOUBLE:
    return load<double>(p);
  case TensorProto::FLOAT16:
    return halfToDouble(load<uint16_t>(p));
  default:
    return bf16ToDouble(load<uint16_t>(p));
  }
}

int64_t rawInteger(int32_t type, const char *p) {
  switch (type) {
  case TensorProto::INT64:
  case TensorProto::UINT64:
    return load<int64_t>(p);
  case TensorProto::INT32:
    return load<int32_t>(p);
  case TensorProto::UINT32:
    return load<uint32_t>(p);
  case TensorProto::INT16:
    return load<int16_t>(p);
  case TensorProto::UINT16:
    return load<uint16_t>(p);
  case TensorProto::INT8:
    return load<int8_t>(p);
  default: // UINT8, BOOL
    return load<uint8_t>(p);
  }
}

/// Element i of a tensor's typed data field (the one the ONNX spec assigns to its type).
double typedReal(const TensorProto &t, int i) {
  switch (t.data_type()) {
  case TensorProto::FLOAT:
    return t.float_data(i);
  case TensorProto::DOUBLE:
    return t.double_data(i);
  case TensorProto::FLOAT16:
    return halfToDouble(uint16_t(t.int32_data(i)));
  default:
    return bf16ToDouble(uint16_t(t.int32_data(i)));
  }
}

int64_t typedInteger(const TensorProto &t, int i) {
  switch (t.data_type()) {
  case TensorProto::INT64:
    return t.int64_data(i);
  case TensorProto::UINT64:
  case TensorProto::UINT32:
    return int64_t(t.uint64_data(i));
  default:
    return t.int32_data(i);
  }
}

/// Decodes a tensor whose payload was checked against its element count.
ConstData decodeTensor(const TensorProto &t, int64_t n) {
  ConstData d;
  int32_t type = t.data_type();
  d.isFloat = isFloatType(type);
  const std::string &raw = t.raw_data();
  for (int64_t i = 0; i < n; ++i) {
    if (raw.empty() && d.isFloat)
      d.floats.push_back(typedReal(t, int(i)));
    else if (raw.empty())
      d.ints.push_back(typedInteger(t, int(i)));
    else if (d.isFloat)
      d.floats.push_back(rawReal(type, raw.data() + i * rawElementSize(type)));
    else
      d.ints.push_back(rawInteger(type, raw.data() + i * rawElementSize(type)));
  }
  return d;
}

/// Calls f(index) for every multi-index of `s`, in row-major order.
template <typename F> void forEachIndex(const Shape &s, F &&f) {
  int64_t n = numElements(s);
  std::vector<int64_t> idx(s.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    f(idx);
    for (size_t k = s.size(); k-- > 0;) {
      if (++idx[k] < s[k])
        break;
      idx[k] = 0;
    }
  }
}

/// Flat offset into a tensor of shape `in` of the element that numpy broadcasting maps to
/// index `idx` of the (higher or equal rank) output.
int64_t broadcastOffset(const Shape &in, const std::vector<int64_t> &idx) {
  int64_t off = 0;
  size_t shift = idx.size() - in.size();
  for (size_t k = 0; k < in.size(); ++k)
    off = off * in[k] + (in[k] == 1 ? 0 : idx[k + shift]);
  return off;
}

/// The first '<ident>.<number>' segment of an ONNX node name and everything before it
/// ("/layer1/layer1.0" in "/layer1/layer1.0/conv1/Conv", "/layers.3" in
/// "/layers.3/self_attn/MatMul"): the repeated block a node belongs to, or "".
std::string blockKey(std::string_view s) {
  auto isIdent = [](char c) { return std::isalnum(uint8_t(c)) || c == '_'; };
  auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] != '.' || !isIdent(s[i - 1]) || !isDigit(s[i + 1]))
      continue;
    size_t j = i + 1;
    while (j < s.size() && isDigit(s[j]))
      ++j;
    if (j == s.size() || s[j] == '/' || s[j] == '.')
      return std::string(s.substr(0, j));
  }
  return "";
}

//===----------------------------------------------------------------------===//
// The importer
//===----------------------------------------------------------------------===//

/// What the importer knows about one ONNX value.
struct Value {
  std::string name;
  Shape shape;
  int32_t elemType = TensorProto::FLOAT;
  TensorId tensor;                    ///< the graph tensor holding it, once materialized
  bool constant = false;              ///< known at import time: no op computes it
  bool fromInitializer = false;       ///< an initializer, or an Identity copy of one
  const TensorProto *proto = nullptr; ///< payload of an initializer / Constant node
  const TensorProto *ext = nullptr;   ///< an initializer whose data is in an external file
  std::optional<ConstData> data;      ///< decoded or folded values (small constants)
  /// Pending Transpose(perm [1, 0]) of this 2-D weight: index of the weight's value.
  uint32_t transposeOf = kNoValue;
  std::string viewOp; ///< name and layer of that Transpose, used if it must be emitted
  int32_t viewLayer = -1;

  int64_t elements() const { return numElements(shape); }
  /// A float initializer with more than one element: trainable wherever a compute op
  /// reads it in a weight slot.
  bool weightLike() const { return fromInitializer && isFloatType(elemType) && elements() > 1; }
  bool pendingView() const { return transposeOf != kNoValue; }
};

/// How an op reads an initializer: as a trainable weight, or as a fixed constant.
enum class Slot : uint8_t { Weight, NonTrainable };

class Importer;
using FoldFn = Expected<Value> (Importer::*)();
using ConvertFn = Status (Importer::*)();

/// One supported ONNX op type.
struct OpRule {
  std::string_view type;
  FoldFn fold;       ///< evaluates the node at import time; null: never folded
  ConvertFn convert; ///< emits graph ops; null: only valid on known constants
  bool alwaysFold;   ///< folded whatever its inputs (Shape, Size, Constant)
};

class Importer {
public:
  Importer(std::string path, const OnnxOptions &opts) : path_(std::move(path)), opts_(opts) {}
  /// Imports from bytes already in memory; `path` only names them in diagnostics.
  Importer(std::string path, std::string bytes, const OnnxOptions &opts)
      : path_(std::move(path)), opts_(opts), bytes_(std::move(bytes)) {}
  Expected<Graph> run();
  /// Keep values: fold larger constants and remember where every constant tensor's
  /// values come from. Call before run().
  void keepValues() {
    keepValues_ = true;
    maxFold_ = kMaxValueFoldElements;
    foldBudget_ = kMaxValueFoldTotal;
  }
  /// The values of every Parameter / Constant tensor of `g` (the graph run() returned).
  Expected<Initializers> values(const Graph &g);

private:
  /// The raw bytes of an initializer stored in an external data file.
  Expected<std::string> externalData(const TensorProto &t, int64_t n);
  static const OpRule *findRule(std::string_view type);

  // Whole-model steps, in order.
  Status readModel();
  Status parseModel(const std::string &bytes);
  Status checkSupported();
  Status defineGraphInputs();
  Status defineInitializers();
  Status checkAttributes();
  Status inferShapes();
  Expected<std::vector<int>> topologicalOrder();
  Status importNode(int index);
  Status defineGraphOutputs();

  // Diagnostics.
  SourceLoc loc() const { return SourceLoc{path_, 0, 0}; }
  Diagnostic fileError(std::string id, std::string msg) const {
    return Diagnostic::error(std::move(id), std::move(msg), loc());
  }
  Diagnostic nodeError(std::string id, const std::string &msg) const {
    if (!node_)
      return fileError(std::move(id), msg);
    return fileError(std::move(id), node_->op_type() + " node '" + nodeName_ + "': " + msg);
  }
  std::string nodeLabel(int index) const {
    const NodeProto &n = model_.graph().node(index);
    return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
  }

  // Values.
  Expected<Value> constantFromProto(const TensorProto &t, const std::string &what);
  Status bind(const std::string &name, Value v);
  Status bindOutput(int i, Value v);
  void bindAlias(int out, int in);
  Value *in(int i) {
    if (i < 0 || size_t(i) >= in_.size() || in_[i] == kNoValue)
      return nullptr;
    return &values_[in_[i]];
  }
  Expected<Value *> need(int i);
  Status requireInputs(int n);
  const ConstData *dataOf(Value &v);
  std::optional<std::vector<int64_t>> knownInts(int i);
  Expected<std::vector<int64_t>> requireInts(int i, std::string_view what);
  bool outputUsed(int i) const;
  Status rejectUsedOutputs(int from, std::string_view what);

  // Graph construction.
  Expected<TensorId> materialize(uint32_t vi, Slot slot, const Shape *as = nullptr);
  Expected<TensorId> use(int i, Slot slot = Slot::Weight, const Shape *as = nullptr);
  Expected<TensorId> output(int i, Shape s, int32_t elemType);
  TensorId temp(const std::string &suffix, Shape s, int32_t elemType);
  TensorId scalarConstant(const std::string &suffix, int32_t elemType, double value);
  OpId emit(OpKind k, std::vector<TensorId> ins, std::vector<TensorId> outs, OpAttrs attrs = {},
            const std::string &suffix = "");

  // Attributes.
  const AttributeProto *attr(std::string_view name) const;
  Expected<int64_t> attrInt(std::string_view name, int64_t dflt);
  Expected<double> attrFloat(std::string_view name, double dflt);
  Expected<std::optional<std::vector<int64_t>>> attrInts(std::string_view name);
  Expected<std::string> attrString(std::string_view name, std::string dflt);
  Expected<int64_t> normAxis(int64_t axis, int64_t rank, bool inclusive = false);

  // Shape functions shared by folding and conversion.
  Expected<Shape> broadcast(const std::vector<Shape> &shapes);
  Expected<Shape> reshapeLikeShape();
  Expected<Shape> concatShape(int64_t &axis);
  Expected<Shape> gatherShape(int64_t &axis);
  Expected<Shape> transposeShape(std::vector<int64_t> &perm);
  struct SliceSpec {
    std::vector<int64_t> starts, steps;
    Shape out;
  };
  Expected<SliceSpec> sliceSpec();
  Expected<Shape> windowShape(bool isConv, OpAttrs &a);

  // Fold functions: evaluate the node's single output.
  Value folded(Shape s, int32_t elemType) const;
  /// True when a constant of shape `s` is small enough to compute (and the total fold
  /// budget allows it, which it then uses up).
  bool foldable(const Shape &s);
  Expected<Value> foldConstant();
  Expected<Value> foldShape();
  Expected<Value> foldSize();
  Expected<Value> foldCast();
  Expected<Value> foldReshapeLike();
  Expected<Value> foldConcat();
  Expected<Value> foldGather();
  Expected<Value> foldSlice();
  Expected<Value> foldTranspose();
  Expected<Value> foldUnary();
  Expected<Value> foldBinary();
  Expected<Value> foldWhere();
  Expected<Value> foldExpand();
  Expected<Value> foldConstantOfShape();
  Expected<Value> foldRange();

  // Convert functions: emit graph ops for the node.
  Status convertUnary();
  Status convertBinary();
  Status convertMatMul();
  Status convertGemm();
  Status convertConv();
  Status convertPool();
  Status convertGlobalPool();
  Status convertBatchNorm();
  Status convertLayerNorm();
  Status convertSoftmax();
  Status convertReduce();
  Status convertReshapeLike();
  Status convertTranspose();
  Status convertConcat();
  Status convertSplit();
  Status convertSlice();
  Status convertGather();
  Status convertCast();
  Status convertDropout();
  Status convertIdentity();
  Status convertExpand();
  /// Output 0 is input 0 when `s` is already its shape, else a `kind` op (a view)
  /// producing `s`.
  Status emitShapeChange(OpKind kind, const Shape &s);
  Status convertPad();

  std::string path_;
  OnnxOptions opts_;
  std::optional<std::string> bytes_; ///< in-memory model (importOnnxBytes)
  onnx::ModelProto model_;
  int64_t opset_ = 17;
  Graph graph_;
  std::vector<Value> values_;
  std::unordered_map<std::string, uint32_t> byName_;
  /// Fully static shapes from ONNX shape inference, by value name.
  std::unordered_map<std::string, Shape> inferred_;
  /// Names read by some node or listed as graph outputs.
  std::unordered_set<std::string> used_;
  /// Block key -> layer index, in order of first appearance.
  std::map<std::string, int32_t> blocks_;
  /// importOnnxModel: fold limit, and for each constant tensor the value it holds.
  bool keepValues_ = false;
  int64_t maxFold_ = kMaxFoldElements;
  int64_t foldBudget_ = INT64_MAX;
  std::map<uint32_t, uint32_t> tensorValue_;
  std::map<uint32_t, double> scalarValues_;

  // The node being imported.
  const NodeProto *node_ = nullptr;
  std::string nodeName_;
  int32_t layer_ = -1;
  std::vector<uint32_t> in_;
};

//===----------------------------------------------------------------------===//
// Rule table
//===----------------------------------------------------------------------===//

const OpRule *Importer::findRule(std::string_view type) {
  using I = Importer;
  // Sorted by ONNX op type.
  static const OpRule kRules[] = {
      {"Abs", &I::foldUnary, nullptr, false},
      {"Add", &I::foldBinary, &I::convertBinary, false},
      {"And", &I::foldBinary, nullptr, false},
      {"AveragePool", nullptr, &I::convertPool, false},
      {"BatchNormalization", nullptr, &I::convertBatchNorm, false},
      {"Cast", &I::foldCast, &I::convertCast, false},
      {"Ceil", &I::foldUnary, nullptr, false},
      {"Concat", &I::foldConcat, &I::convertConcat, false},
      {"Constant", &I::foldConstant, nullptr, true},
      {"ConstantOfShape", &I::foldConstantOfShape, nullptr, false},
      {"Conv", nullptr, &I::convertConv, false},
      {"Div", &I::foldBinary, &I::convertBinary, false},
      {"Dropout", nullptr, &I::convertDropout, false},
      {"Equal", &I::foldBinary, nullptr, false},
      {"Erf", &I::foldUnary, &I::convertUnary, false},
      {"Exp", &I::foldUnary, &I::convertUnary, false},
      {"Expand", &I::foldExpand, &I::convertExpand, false},
      {"Flatten", &I::foldReshapeLike, &I::convertReshapeLike, false},
      {"Floor", &I::foldUnary, nullptr, false},
      {"Gather", &I::foldGather, &I::convertGather, false},
      {"Gelu", nullptr, &I::convertUnary, false},
      {"Gemm", nullptr, &I::convertGemm, false},
      {"GlobalAveragePool", nullptr, &I::convertGlobalPool, false},
      {"Greater", &I::foldBinary, nullptr, false},
      {"Identity", nullptr, &I::convertIdentity, false},
      {"LayerNormalization", nullptr, &I::convertLayerNorm, false},
      {"Less", &I::foldBinary, nullptr, false},
      {"MatMul", nullptr, &I::convertMatMul, false},
      {"Max", &I::foldBinary, nullptr, false},
      {"MaxPool", nullptr, &I::convertPool, false},
      {"Min", &I::foldBinary, nullptr, false},
      {"Mul", &I::foldBinary, &I::convertBinary, false},
      {"Neg", &I::foldUnary, &I::convertUnary, false},
      {"Not", &I::foldUnary, nullptr, false},
      {"Or", &I::foldBinary, nullptr, false},
      {"Pad", nullptr, &I::convertPad, false},
      {"Pow", &I::foldBinary, &I::convertBinary, false},
      {"Range", &I::foldRange, nullptr, false},
      {"Reciprocal", &I::foldUnary, nullptr, false},
      {"ReduceMax", nullptr, &I::convertReduce, false},
      {"ReduceMean", nullptr, &I::convertReduce, false},
      {"ReduceSum", nullptr, &I::convertReduce, false},
      {"Relu", &I::foldUnary, &I::convertUnary, false},
      {"Reshape", &I::foldReshapeLike, &I::convertReshapeLike, false},
      {"Shape", &I::foldShape, nullptr, true},
      {"Sigmoid", &I::foldUnary, &I::convertUnary, false},
      {"Size", &I::foldSize, nullptr, true},
      {"Slice", &I::foldSlice, &I::convertSlice, false},
      {"Softmax", nullptr, &I::convertSoftmax, false},
      {"Split", nullptr, &I::convertSplit, false},
      {"Sqrt", &I::foldUnary, &I::convertUnary, false},
      {"Squeeze", &I::foldReshapeLike, &I::convertReshapeLike, false},
      {"Sub", &I::foldBinary, &I::convertBinary, false},
      {"Tanh", &I::foldUnary, &I::convertUnary, false},
      {"Transpose", &I::foldTranspose, &I::convertTranspose, false},
      {"Unsqueeze", &I::foldReshapeLike, &I::convertReshapeLike, false},
      {"Where", &I::foldWhere, nullptr, false},
  };
  auto it = std::lower_bound(std::begin(kRules), std::end(kRules), type,
                             [](const OpRule &r, std::string_view t) { return r.type < t; });
  return it != std::end(kRules) && it->type == type ? it : nullptr;
}

/// ONNX op types that map one-to-one onto a graph op kind.
std::optional<OpKind> directKind(std::string_view type) {
  static const std::pair<std::string_view, OpKind> kKinds[] = {
      {"Add", OpKind::Add},
      {"Div", OpKind::Div},
      {"Erf", OpKind::Erf},
      {"Exp", OpKind::Exp},
      {"Gelu", OpKind::Gelu},
      {"Mul", OpKind::Mul},
      {"Neg", OpKind::Neg},
      {"Pow", OpKind::Pow},
      {"ReduceMax", OpKind::ReduceMax},
      {"ReduceMean", OpKind::ReduceMean},
      {"ReduceSum", OpKind::ReduceSum},
      {"Relu", OpKind::Relu},
      {"Sigmoid", OpKind::Sigmoid},
      {"Sqrt", OpKind::Sqrt},
      {"Sub", OpKind::Sub},
      {"Tanh", OpKind::Tanh},
  };
  for (const auto &[name, kind] : kKinds)
    if (name == type)
      return kind;
  return std::nullopt;
}

/// Axis as stored in OpAttrs: -1 for the last dimension, else non-negative.
int64_t storedAxis(int64_t axis, size_t rank) { return axis == int64_t(rank) - 1 ? -1 : axis; }

//===----------------------------------------------------------------------===//
// Whole-model steps
//===----------------------------------------------------------------------===//

Expected<Graph> Importer::run() {
  TRY(readModel());
  TRY(checkSupported());
  TRY(defineGraphInputs());
  TRY(defineInitializers());
  TRY(checkAttributes());
  TRY(inferShapes());
  TRY_ASSIGN(std::vector<int> order, topologicalOrder());
  for (int index : order)
    TRY(importNode(index));
  node_ = nullptr;
  TRY(defineGraphOutputs());
  TRY(graph_.verify());
  return std::move(graph_);
}

Status Importer::readModel() {
  if (bytes_)
    return parseModel(*bytes_);
  std::error_code ec;
  auto status = std::filesystem::status(path_, ec);
  if (ec || !std::filesystem::exists(status))
    return fileError("onnx-read", "cannot read ONNX model: no such file");
  if (std::filesystem::is_directory(status))
    return fileError("onnx-read", "cannot read ONNX model: it is a directory");
  std::ifstream f(path_, std::ios::binary);
  if (!f)
    return fileError("onnx-read", "cannot read ONNX model: cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad())
    return fileError("onnx-read", "cannot read ONNX model: read error");
  return parseModel(bytes);
}

Status Importer::parseModel(const std::string &bytes) {
  if (bytes.empty())
    return fileError("onnx-read", "cannot read ONNX model: the file is empty");
  if (bytes.size() > size_t(INT_MAX))
    return fileError(
        "onnx-read",
        "cannot read ONNX model: files over 2 GiB (external data aside) are not supported");
  if (!model_.ParseFromArray(bytes.data(), int(bytes.size())))
    return fileError("onnx-read", "not an ONNX model: the protobuf data is malformed or truncated");
  if (!model_.has_graph())
    return fileError("onnx-read", "not an ONNX model: it has no graph");
  for (const auto &imp : model_.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset_ = imp.version();
  std::string name = model_.graph().name();
  graph_.setName(name.empty() ? std::filesystem::path(path_).stem().string() : name);
  return Status::success();
}

Status Importer::checkSupported() {
  std::vector<std::string> missing;
  std::unordered_set<std::string> seen;
  const auto &g = model_.graph();
  for (int i = 0; i < g.node_size(); ++i) {
    const NodeProto &n = g.node(i);
    bool defaultDomain = n.domain().empty() || n.domain() == "ai.onnx";
    if (defaultDomain && findRule(n.op_type()))
      continue;
    std::string type = defaultDomain ? n.op_type() : n.domain() + "." + n.op_type();
    if (seen.insert(type).second)
      missing.push_back(type + " (node '" + nodeLabel(i) + "')");
  }
  if (missing.empty())
    return Status::success();
  std::string msg = "unsupported ONNX operators: ";
  for (size_t i = 0; i < missing.size(); ++i)
    msg += (i ? ", " : "") + missing[i];
  return fileError("unsupported-op", msg);
}

Status Importer::defineGraphInputs() {
  if (opts_.batch && *opts_.batch <= 0)
    return fileError("onnx-shape",
                     "the batch size must be positive, not " + std::to_string(*opts_.batch));
  auto &g = *model_.mutable_graph();
  std::unordered_set<std::string> initNames;
  for (const TensorProto &t : g.initializer())
    initNames.insert(t.name());
  int64_t dynamic = opts_.batch.value_or(1);
  bool resized = false;
  for (auto &vi : *g.mutable_input()) {
    if (initNames.count(vi.name()))
      continue; // an initializer listed as an input (IR < 4) or an overridable default
    if (vi.name().empty())
      return fileError("onnx-invalid", "a graph input has no name");
    if (!vi.type().has_tensor_type())
      return fileError("unsupported-type", "graph input '" + vi.name() + "' is not a tensor");
    auto *tt = vi.mutable_type()->mutable_tensor_type();
    if (!toDType(tt->elem_type()))
      return fileError("unsupported-type", "graph input '" + vi.name() + "' has element type " +
                                               typeName(tt->elem_type()));
    if (!tt->has_shape())
      return fileError("onnx-shape", "graph input '" + vi.name() + "' has no shape");
    Shape s;
    for (auto &dim : *tt->mutable_shape()->mutable_dim()) {
      int64_t d = dim.has_dim_value() && dim.dim_value() > 0 ? dim.dim_value() : dynamic;
      if (d > kMaxDim)
        return fileError("onnx-shape",
                         "graph input '" + vi.name() + "' has a dimension of " + std::to_string(d));
      s.push_back(d);
    }
    if (opts_.batch && !s.empty() && s[0] == 1 && *opts_.batch != 1) {
      s[0] = *opts_.batch;
      resized = true;
    }
    // Shape inference then sees the resolved dims.
    for (int k = 0; k < tt->shape().dim_size(); ++k)
      tt->mutable_shape()->mutable_dim(k)->set_dim_value(s[size_t(k)]);
    if (checkedElements(s) <= 0)
      return fileError("onnx-shape", "graph input '" + vi.name() + "' has shape " + shapeStr(s));
    Value v;
    v.shape = s;
    v.elemType = tt->elem_type();
    Tensor t;
    t.name = vi.name();
    t.shape = s;
    t.dtype = *toDType(v.elemType);
    t.role = TensorRole::Input;
    v.tensor = graph_.addTensor(std::move(t));
    graph_.inputs().push_back(v.tensor);
    TRY(bind(vi.name(), std::move(v)));
  }
  if (resized) {
    // The file's intermediate and output shapes were for the old batch; ONNX inference
    // rejects a conflict with them, so it starts from the inputs alone.
    g.clear_value_info();
    for (auto &vi : *g.mutable_output())
      if (vi.type().has_tensor_type())
        vi.mutable_type()->mutable_tensor_type()->clear_shape();
  }
  return Status::success();
}

/// ONNX's own shape inference trusts some attribute values (it divides by conv strides,
/// splits by the output count, indexes dims by perm): these are checked first, so that a
/// malformed file is reported instead of crashing the process.
Status Importer::checkAttributes() {
  const auto &g = model_.graph();
  for (int i = 0; i < g.node_size(); ++i) {
    node_ = &g.node(i);
    nodeName_ = nodeLabel(i);
    const std::string &type = node_->op_type();
    if (node_->output_size() < 1)
      return nodeError("onnx-invalid", "the node has no outputs");
    if (type == "Conv" || type == "MaxPool" || type == "AveragePool") {
      for (std::string_view name : {"strides", "dilations", "kernel_shape", "pads"}) {
        TRY_ASSIGN(auto values, attrInts(name));
        int64_t lo = name == "pads" ? 0 : 1;
        if (values && std::any_of(values->begin(), values->end(),
                                  [&](int64_t v) { return v < lo || v > kMaxDim; }))
          return nodeError("onnx-invalid",
                           std::string(name) + " " + shapeStr(*values) +
                               (lo ? " must be positive" : " must not be negative"));
      }
      TRY_ASSIGN(int64_t group, attrInt("group", 1));
      if (group < 1 || group > kMaxDim)
        return nodeError("onnx-invalid", "group " + std::to_string(group) + " must be positive");
    } else if (type == "Constant") {
      if (const AttributeProto *value = attr("value"); value && value->has_t())
        TRY(constantFromProto(value->t(), "its value"));
    } else if (type == "Transpose") {
      TRY_ASSIGN(auto perm, attrInts("perm"));
      if (perm) {
        std::vector<int64_t> sorted = *perm;
        std::sort(sorted.begin(), sorted.end());
        for (size_t k = 0; k < sorted.size(); ++k)
          if (sorted[k] != int64_t(k))
            return nodeError("onnx-invalid", "perm " + shapeStr(*perm) + " is not a permutation");
      }
    }
  }
  node_ = nullptr;
  return Status::success();
}

Status Importer::inferShapes() {
  try {
    onnx::shape_inference::InferShapes(model_);
  } catch (const std::exception &e) {
    std::string what = e.what();
    return fileError("onnx-shape",
                     "ONNX shape inference failed: " + what.substr(0, what.find('\n')));
  }
  auto record = [&](const onnx::ValueInfoProto &vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
      return;
    Shape s;
    for (const auto &dim : vi.type().tensor_type().shape().dim()) {
      if (!dim.has_dim_value() || dim.dim_value() <= 0 || dim.dim_value() > kMaxDim)
        return;
      s.push_back(dim.dim_value());
    }
    inferred_[vi.name()] = std::move(s);
  };
  for (const auto &vi : model_.graph().value_info())
    record(vi);
  for (const auto &vi : model_.graph().output())
    record(vi);
  return Status::success();
}

Status Importer::defineInitializers() {
  for (const TensorProto &t : model_.graph().initializer()) {
    if (t.name().empty())
      return fileError("onnx-invalid", "an initializer has no name");
    TRY_ASSIGN(Value v, constantFromProto(t, "initializer '" + t.name() + "'"));
    v.fromInitializer = true;
    TRY(bind(t.name(), std::move(v)));
  }
  return Status::success();
}

Expected<std::vector<int>> Importer::topologicalOrder() {
  const auto &g = model_.graph();
  int n = g.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const std::string &out : g.node(i).output()) {
      if (out.empty())
        continue;
      if (byName_.count(out) || !producer.emplace(out, i).second)
        return fileError("onnx-invalid", "value '" + out + "' is defined twice (again by node '" +
                                             nodeLabel(i) + "')");
    }
  std::vector<int> pending(size_t(n), 0);
  std::vector<std::vector<int>> users(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    for (const std::string &name : g.node(i).input()) {
      if (name.empty())
        continue;
      used_.insert(name);
      if (byName_.count(name))
        continue;
      auto it = producer.find(name);
      if (it == producer.end())
        return fileError("onnx-invalid", "node '" + nodeLabel(i) + "' reads '" + name +
                                             "', which no node, input or initializer defines");
      users[size_t(it->second)].push_back(i);
      ++pending[size_t(i)];
    }
  for (const auto &vi : g.output())
    used_.insert(vi.name());
  // Kahn's algorithm, lowest node index first: the file's order when it is valid.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (!pending[size_t(i)])
      ready.push(i);
  std::vector<int> order;
  order.reserve(size_t(n));
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[size_t(i)])
      if (--pending[size_t(u)] == 0)
        ready.push(u);
  }
  if (int(order.size()) != n) {
    for (int i = 0; i < n; ++i)
      if (pending[size_t(i)])
        return fileError("onnx-invalid",
                         "the graph has a cycle through node '" + nodeLabel(i) + "'");
  }
  return order;
}

Status Importer::importNode(int index) {
  const NodeProto &n = model_.graph().node(index);
  node_ = &n;
  nodeName_ = nodeLabel(index);
  std::string key = blockKey(!n.name().empty() ? n.name() : (n.output_size() ? n.output(0) : ""));
  layer_ = key.empty() ? -1 : blocks_.try_emplace(key, int32_t(blocks_.size())).first->second;
  in_.clear();
  for (const std::string &name : n.input()) {
    if (name.empty()) {
      in_.push_back(kNoValue);
      continue;
    }
    auto it = byName_.find(name);
    if (it == byName_.end())
      return nodeError("onnx-invalid",
                       "input '" + name + "' is an output its producer does not define");
    in_.push_back(it->second);
  }

  const OpRule *rule = findRule(n.op_type());
  bool allConstant = true;
  for (uint32_t vi : in_)
    if (vi != kNoValue && (!values_[vi].constant || values_[vi].weightLike()))
      allConstant = false;
  if (rule->fold && (rule->alwaysFold || allConstant)) {
    if (n.output_size() < 1)
      return nodeError("onnx-invalid", "the node has no output");
    TRY_ASSIGN(Value v, (this->*rule->fold)());
    if (v.data && v.data->isFloat && !v.proto)
      for (double &d : v.data->floats)
        d = roundToType(d, v.elemType);
    return bindOutput(0, std::move(v));
  }
  if (!rule->convert)
    return nodeError(
        "unsupported-op",
        "supported only on values known at import time, but an input is computed at run time");
  return (this->*rule->convert)();
}

Status Importer::defineGraphOutputs() {
  for (const auto &vi : model_.graph().output()) {
    auto it = byName_.find(vi.name());
    if (it == byName_.end())
      return fileError("onnx-invalid", "graph output '" + vi.name() + "' is not defined");
    TRY_ASSIGN(TensorId t, materialize(it->second, Slot::NonTrainable));
    graph_.outputs().push_back(t);
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

Expected<Value> Importer::constantFromProto(const TensorProto &t, const std::string &what) {
  int32_t type = t.data_type();
  if (!toDType(type))
    return nodeError("unsupported-type", what + " has element type " + typeName(type));
  Value v;
  v.constant = true;
  v.elemType = type;
  for (int64_t d : t.dims())
    v.shape.push_back(d);
  int64_t n = checkedElements(v.shape);
  if (n < 0)
    return nodeError("onnx-invalid", what + " has invalid dims " + shapeStr(v.shape));
  if (hasPayload(t)) {
    int64_t have = t.raw_data().empty() ? typedFieldSize(t)
                                        : int64_t(t.raw_data().size()) / rawElementSize(type);
    bool exact = t.raw_data().empty() || int64_t(t.raw_data().size()) % rawElementSize(type) == 0;
    if (have != n || !exact)
      return nodeError("onnx-invalid", what + " holds " + std::to_string(have) +
                                           " values but its dims " + shapeStr(v.shape) + " need " +
                                           std::to_string(n));
    v.proto = &t;
  } else if (t.data_location() == TensorProto::EXTERNAL) {
    v.ext = &t;
  }
  return v;
}

Status Importer::bind(const std::string &name, Value v) {
  if (checkedElements(v.shape) < 0)
    return nodeError("onnx-shape", "value '" + name + "' would have shape " + shapeStr(v.shape));
  v.name = name;
  values_.push_back(std::move(v));
  byName_[name] = uint32_t(values_.size() - 1);
  return Status::success();
}

Status Importer::bindOutput(int i, Value v) {
  if (i >= node_->output_size() || node_->output(i).empty())
    return Status::success();
  return bind(node_->output(i), std::move(v));
}

void Importer::bindAlias(int out, int in) {
  if (out < node_->output_size() && !node_->output(out).empty())
    byName_[node_->output(out)] = in_[size_t(in)];
}

Expected<Value *> Importer::need(int i) {
  if (Value *v = in(i))
    return v;
  return nodeError("onnx-invalid", "input " + std::to_string(i) + " is missing");
}

Status Importer::requireInputs(int n) {
  for (int i = 0; i < n; ++i)
    if (!in(i))
      return nodeError("onnx-invalid", "input " + std::to_string(i) + " is missing");
  return Status::success();
}

const ConstData *Importer::dataOf(Value &v) {
  if (!v.data && v.proto && v.elements() <= maxFold_ && v.elements() <= foldBudget_) {
    foldBudget_ -= v.elements();
    v.data = decodeTensor(*v.proto, v.elements());
  }
  return v.data ? &*v.data : nullptr;
}

std::optional<std::vector<int64_t>> Importer::knownInts(int i) {
  Value *v = in(i);
  if (!v || !v->constant || !isIntType(v->elemType) || v->shape.size() > 1)
    return std::nullopt;
  const ConstData *d = dataOf(*v);
  if (!d)
    return std::nullopt;
  return d->ints;
}

Expected<std::vector<int64_t>> Importer::requireInts(int i, std::string_view what) {
  if (!in(i))
    return nodeError("onnx-invalid", "the " + std::string(what) + " input is missing");
  if (auto r = knownInts(i))
    return *r;
  return nodeError("onnx-shape", "the " + std::string(what) +
                                     " input must be a 1-D integer tensor known at import time");
}

bool Importer::outputUsed(int i) const {
  return i < node_->output_size() && !node_->output(i).empty() && used_.count(node_->output(i));
}

Status Importer::rejectUsedOutputs(int from, std::string_view what) {
  for (int i = from; i < node_->output_size(); ++i)
    if (outputUsed(i))
      return nodeError("unsupported-op", "its " + std::string(what) + " output '" +
                                             node_->output(i) + "' is not supported");
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Graph construction
//===----------------------------------------------------------------------===//

Expected<TensorId> Importer::materialize(uint32_t vi, Slot slot, const Shape *as) {
  if (values_[vi].pendingView() && !values_[vi].tensor.valid()) {
    TRY_ASSIGN(TensorId src, materialize(values_[vi].transposeOf, Slot::Weight));
    Value &v = values_[vi];
    Tensor t;
    t.name = v.name;
    t.shape = v.shape;
    t.dtype = *toDType(v.elemType);
    v.tensor = graph_.addTensor(std::move(t));
    Op op;
    op.kind = OpKind::Transpose;
    op.name = v.viewOp;
    op.inputs = {src};
    op.outputs = {v.tensor};
    op.attrs.perm = {1, 0};
    op.layer = v.viewLayer;
    op.loc = loc();
    graph_.addOp(std::move(op));
  }
  Value &v = values_[vi];
  bool trainable = slot == Slot::Weight && v.weightLike();
  if (!v.tensor.valid()) {
    if (!v.constant)
      return nodeError("onnx-invalid", "value '" + v.name + "' has no producer");
    if (v.elements() == 0)
      return nodeError("onnx-shape", "constant '" + v.name + "' has no elements");
    Tensor t;
    t.name = v.name;
    t.shape = as && numElements(*as) == v.elements() ? *as : v.shape;
    t.dtype = *toDType(v.elemType);
    t.role = trainable ? TensorRole::Parameter : TensorRole::Constant;
    v.tensor = graph_.addTensor(std::move(t));
    if (keepValues_)
      tensorValue_[v.tensor.v] = vi;
  } else if (trainable && graph_.tensor(v.tensor).role == TensorRole::Constant) {
    graph_.tensor(v.tensor).role = TensorRole::Parameter;
  }
  // A constant first materialized in another shape (a conv bias as [O, 1, 1]) is
  // reshaped for this reader.
  TensorId id = values_[vi].tensor;
  Shape want = as ? *as : values_[vi].shape;
  if (graph_.tensor(id).shape != want) {
    TensorId r = temp("/" + values_[vi].name, want, values_[vi].elemType);
    emit(OpKind::Reshape, {id}, {r}, {}, "/reshape");
    return r;
  }
  return id;
}

Expected<TensorId> Importer::use(int i, Slot slot, const Shape *as) {
  if (!in(i))
    return nodeError("onnx-invalid", "input " + std::to_string(i) + " is missing");
  return materialize(in_[size_t(i)], slot, as);
}

Expected<TensorId> Importer::output(int i, Shape s, int32_t elemType) {
  if (checkedElements(s) <= 0)
    return nodeError("onnx-shape",
                     "output " + std::to_string(i) + " would have shape " + shapeStr(s));
  std::string name = i < node_->output_size() && !node_->output(i).empty()
                         ? node_->output(i)
                         : nodeName_ + ":" + std::to_string(i);
  Tensor t;
  t.name = name;
  t.shape = s;
  t.dtype = *toDType(elemType);
  TensorId id = graph_.addTensor(std::move(t));
  Value v;
  v.shape = std::move(s);
  v.elemType = elemType;
  v.tensor = id;
  TRY(bindOutput(i, std::move(v)));
  return id;
}

TensorId Importer::temp(const std::string &suffix, Shape s, int32_t elemType) {
  Tensor t;
  t.name = nodeName_ + suffix;
  t.shape = std::move(s);
  t.dtype = *toDType(elemType);
  return graph_.addTensor(std::move(t));
}

TensorId Importer::scalarConstant(const std::string &suffix, int32_t elemType, double value) {
  Tensor t;
  t.name = nodeName_ + suffix;
  t.dtype = *toDType(elemType);
  t.role = TensorRole::Constant;
  TensorId id = graph_.addTensor(std::move(t));
  if (keepValues_)
    scalarValues_[id.v] = roundToType(value, elemType);
  return id;
}

OpId Importer::emit(OpKind k, std::vector<TensorId> ins, std::vector<TensorId> outs, OpAttrs attrs,
                    const std::string &suffix) {
  Op op;
  op.kind = k;
  op.name = nodeName_ + suffix;
  op.inputs = std::move(ins);
  op.outputs = std::move(outs);
  op.attrs = std::move(attrs);
  op.layer = layer_;
  op.loc = loc();
  return graph_.addOp(std::move(op));
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const AttributeProto *Importer::attr(std::string_view name) const {
  for (const AttributeProto &a : node_->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

Expected<int64_t> Importer::attrInt(std::string_view name, int64_t dflt) {
  const AttributeProto *a = attr(name);
  if (!a)
    return dflt;
  if (a->type() != AttributeProto::INT && !(a->type() == AttributeProto::UNDEFINED && a->has_i()))
    return nodeError("onnx-invalid", "attribute '" + std::string(name) + "' is not an integer");
  return a->i();
}

Expected<double> Importer::attrFloat(std::string_view name, double dflt) {
  const AttributeProto *a = attr(name);
  if (!a)
    return dflt;
  if (a->type() != AttributeProto::FLOAT && !(a->type() == AttributeProto::UNDEFINED && a->has_f()))
    return nodeError("onnx-invalid", "attribute '" + std::string(name) + "' is not a float");
  if (!std::isfinite(a->f()))
    return nodeError("onnx-invalid", "attribute '" + std::string(name) + "' is not finite");
  return double(a->f());
}

Expected<std::optional<std::vector<int64_t>>> Importer::attrInts(std::string_view name) {
  const AttributeProto *a = attr(name);
  if (!a)
    return std::optional<std::vector<int64_t>>();
  if (a->type() != AttributeProto::INTS && a->type() != AttributeProto::UNDEFINED)
    return nodeError("onnx-invalid",
                     "attribute '" + std::string(name) + "' is not a list of integers");
  return std::optional<std::vector<int64_t>>(
      std::vector<int64_t>(a->ints().begin(), a->ints().end()));
}

Expected<std::string> Importer::attrString(std::string_view name, std::string dflt) {
  const AttributeProto *a = attr(name);
  if (!a)
    return dflt;
  if (a->type() != AttributeProto::STRING &&
      !(a->type() == AttributeProto::UNDEFINED && a->has_s()))
    return nodeError("onnx-invalid", "attribute '" + std::string(name) + "' is not a string");
  return a->s();
}

Expected<int64_t> Importer::normAxis(int64_t axis, int64_t rank, bool inclusive) {
  int64_t hi = inclusive ? rank : rank - 1;
  if (axis < -rank || axis > hi)
    return nodeError("onnx-invalid", "axis " + std::to_string(axis) + " is out of range for rank " +
                                         std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// Shape functions
//===----------------------------------------------------------------------===//

Expected<Shape> Importer::broadcast(const std::vector<Shape> &shapes) {
  size_t rank = 0;
  for (const Shape &s : shapes)
    rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape &s : shapes)
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t &o = out[rank - s.size() + k];
      if (o == 1)
        o = s[k];
      else if (s[k] != 1 && s[k] != o) {
        std::string list;
        for (const Shape &t : shapes)
          list += (list.empty() ? "" : " and ") + shapeStr(t);
        return nodeError("onnx-shape", "shapes " + list + " do not broadcast");
      }
    }
  return out;
}

Expected<Shape> Importer::reshapeLikeShape() {
  TRY_ASSIGN(Value * x, need(0));
  const Shape xs = x->shape;
  const int64_t rank = int64_t(xs.size());
  const std::string &type = node_->op_type();
  if (type == "Flatten") {
    TRY_ASSIGN(int64_t axis, attrInt("axis", 1));
    TRY_ASSIGN(axis, normAxis(axis, rank, true));
    Shape head(xs.begin(), xs.begin() + axis), tail(xs.begin() + axis, xs.end());
    return Shape{numElements(head), numElements(tail)};
  }
  if (type == "Reshape") {
    auto target = knownInts(1);
    if (!target) {
      auto it = node_->output_size() ? inferred_.find(node_->output(0)) : inferred_.end();
      if (it != inferred_.end() && numElements(it->second) == numElements(xs))
        return it->second;
      return nodeError(
          "onnx-shape",
          "the target shape is computed at run time and ONNX shape inference did not resolve it");
    }
    TRY_ASSIGN(int64_t allowZero, attrInt("allowzero", 0));
    Shape out;
    int64_t inferAt = -1;
    for (size_t k = 0; k < target->size(); ++k) {
      int64_t d = (*target)[k];
      if (d == 0 && !allowZero) {
        if (k >= xs.size())
          return nodeError("onnx-shape", "target dim " + std::to_string(k) +
                                             " copies an input dim that does not exist");
        d = xs[k];
      } else if (d == -1) {
        if (inferAt >= 0)
          return nodeError("onnx-shape", "the target shape has two -1 dims");
        inferAt = int64_t(k);
        d = 1;
      } else if (d < 0 || d > kMaxDim) {
        return nodeError("onnx-shape", "target dim " + std::to_string(d) + " is invalid");
      }
      out.push_back(d);
    }
    int64_t known = checkedElements(out), total = numElements(xs);
    if (known < 0)
      return nodeError("onnx-shape", "target shape " + shapeStr(*target) + " is too large");
    if (inferAt >= 0) {
      if (known == 0 || total % known)
        return nodeError("onnx-shape",
                         "cannot reshape " + shapeStr(xs) + " to " + shapeStr(*target));
      out[size_t(inferAt)] = total / known;
    } else if (known != total) {
      return nodeError("onnx-shape", "cannot reshape " + shapeStr(xs) + " to " + shapeStr(out));
    }
    return out;
  }
  // Squeeze / Unsqueeze: axes from input 1 (opset 13+) or the attribute.
  std::vector<int64_t> axes;
  bool haveAxes = false;
  if (in(1)) {
    TRY_ASSIGN(axes, requireInts(1, "axes"));
    haveAxes = true;
  } else {
    TRY_ASSIGN(auto a, attrInts("axes"));
    if (a) {
      axes = *a;
      haveAxes = true;
    }
  }
  if (type == "Squeeze") {
    std::vector<bool> drop(xs.size(), false);
    if (!haveAxes) {
      for (size_t k = 0; k < xs.size(); ++k)
        drop[k] = xs[k] == 1;
    }
    for (int64_t a : axes) {
      TRY_ASSIGN(int64_t k, normAxis(a, rank));
      if (xs[size_t(k)] != 1)
        return nodeError("onnx-shape", "cannot squeeze dim " + std::to_string(k) + " of " +
                                           shapeStr(xs) + ": it is not 1");
      drop[size_t(k)] = true;
    }
    Shape out;
    for (size_t k = 0; k < xs.size(); ++k)
      if (!drop[k])
        out.push_back(xs[k]);
    return out;
  }
  // Unsqueeze
  if (!haveAxes)
    return nodeError("onnx-invalid", "the axes are missing");
  int64_t outRank = rank + int64_t(axes.size());
  std::vector<bool> isNew(size_t(outRank), false);
  for (int64_t a : axes) {
    TRY_ASSIGN(int64_t k, normAxis(a, outRank));
    if (isNew[size_t(k)])
      return nodeError("onnx-invalid", "axis " + std::to_string(a) + " is repeated");
    isNew[size_t(k)] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t k = 0; k < outRank; ++k)
    out.push_back(isNew[size_t(k)] ? 1 : xs[next++]);
  return out;
}

Expected<Shape> Importer::concatShape(int64_t &axis) {
  if (in_.empty())
    return nodeError("onnx-invalid", "the node has no inputs");
  if (!attr("axis"))
    return nodeError("onnx-invalid", "attribute 'axis' is missing");
  TRY_ASSIGN(Value * first, need(0));
  Shape out = first->shape;
  TRY_ASSIGN(int64_t a, attrInt("axis", 0));
  TRY_ASSIGN(axis, normAxis(a, int64_t(out.size())));
  for (size_t i = 1; i < in_.size(); ++i) {
    TRY_ASSIGN(Value * v, need(int(i)));
    const Shape &s = v->shape;
    bool ok = s.size() == out.size();
    for (size_t k = 0; ok && k < s.size(); ++k)
      ok = int64_t(k) == axis || s[k] == out[k];
    if (!ok)
      return nodeError("onnx-shape", "cannot concatenate " + shapeStr(first->shape) + " and " +
                                         shapeStr(s) + " on axis " + std::to_string(axis));
    out[size_t(axis)] += s[size_t(axis)];
    if (out[size_t(axis)] > kMaxDim)
      return nodeError("onnx-shape", "the result is too large");
  }
  return out;
}

Expected<Shape> Importer::gatherShape(int64_t &axis) {
  TRY_ASSIGN(Value * data, need(0));
  TRY_ASSIGN(Value * idx, need(1));
  if (!isIntType(idx->elemType))
    return nodeError("onnx-invalid",
                     "the indices are " + typeName(idx->elemType) + ", not integers");
  const Shape &d = data->shape;
  if (d.empty())
    return nodeError("onnx-shape", "cannot gather from a scalar");
  TRY_ASSIGN(int64_t a, attrInt("axis", 0));
  TRY_ASSIGN(axis, normAxis(a, int64_t(d.size())));
  Shape out(d.begin(), d.begin() + axis);
  out.insert(out.end(), idx->shape.begin(), idx->shape.end());
  out.insert(out.end(), d.begin() + axis + 1, d.end());
  return out;
}

Expected<Shape> Importer::transposeShape(std::vector<int64_t> &perm) {
  TRY_ASSIGN(Value * x, need(0));
  const Shape &in = x->shape;
  TRY_ASSIGN(auto p, attrInts("perm"));
  if (p) {
    perm = *p;
  } else {
    perm.clear();
    for (size_t k = in.size(); k-- > 0;)
      perm.push_back(int64_t(k));
  }
  std::vector<bool> seen(in.size(), false);
  bool ok = perm.size() == in.size();
  for (size_t k = 0; ok && k < perm.size(); ++k) {
    ok = perm[k] >= 0 && perm[k] < int64_t(in.size()) && !seen[size_t(perm[k])];
    if (ok)
      seen[size_t(perm[k])] = true;
  }
  if (!ok)
    return nodeError("onnx-invalid", "perm " + shapeStr(perm) +
                                         " is not a permutation of the dims of " + shapeStr(in));
  Shape out;
  for (int64_t k : perm)
    out.push_back(in[size_t(k)]);
  return out;
}

Expected<Importer::SliceSpec> Importer::sliceSpec() {
  TRY_ASSIGN(Value * x, need(0));
  const Shape xs = x->shape;
  const int64_t rank = int64_t(xs.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset_ < 10) {
    TRY_ASSIGN(auto s, attrInts("starts"));
    TRY_ASSIGN(auto e, attrInts("ends"));
    TRY_ASSIGN(auto a, attrInts("axes"));
    if (!s || !e)
      return nodeError("onnx-invalid", "attributes 'starts' and 'ends' are required");
    starts = *s;
    ends = *e;
    if (a)
      axes = *a;
  } else {
    TRY_ASSIGN(starts, requireInts(1, "starts"));
    TRY_ASSIGN(ends, requireInts(2, "ends"));
    if (in(3)) {
      TRY_ASSIGN(axes, requireInts(3, "axes"));
    }
    if (in(4)) {
      TRY_ASSIGN(steps, requireInts(4, "steps"));
    }
  }
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k)
      axes.push_back(int64_t(k));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size() || int64_t(starts.size()) > rank)
    return nodeError("onnx-invalid", "starts, ends, axes and steps have different lengths");
  SliceSpec spec;
  spec.starts.assign(xs.size(), 0);
  spec.steps.assign(xs.size(), 1);
  spec.out = xs;
  std::vector<bool> seen(xs.size(), false);
  for (size_t j = 0; j < starts.size(); ++j) {
    TRY_ASSIGN(int64_t a, normAxis(axes[j], rank));
    if (seen[size_t(a)])
      return nodeError("onnx-invalid", "axis " + std::to_string(a) + " is sliced twice");
    seen[size_t(a)] = true;
    int64_t dim = xs[size_t(a)];
    int64_t step = std::clamp(steps[j], -(kMaxDim + 1), kMaxDim + 1);
    if (step == 0)
      return nodeError("onnx-invalid", "a slice step is 0");
    int64_t s = starts[j], e = ends[j], len = 0;
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else if (dim > 0) {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e - step - 1) / -step : 0;
    }
    spec.starts[size_t(a)] = len ? s : 0;
    spec.steps[size_t(a)] = step;
    spec.out[size_t(a)] = len;
  }
  return spec;
}

/// Output extent of a sliding window along one dim, by the ONNX Conv / pooling rules;
/// fills the begin / end padding. Returns 0 when the window does not fit.
int64_t windowExtent(int64_t in, int64_t k, int64_t stride, int64_t dilation,
                     const std::string &autoPad, bool ceilMode, int64_t &padBegin,
                     int64_t &padEnd) {
  if (k - 1 > kMaxDim / dilation)
    return 0;
  int64_t span = (k - 1) * dilation + 1;
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    int64_t out = (in + stride - 1) / stride;
    int64_t total = std::max<int64_t>(0, (out - 1) * stride + span - in);
    padBegin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
    padEnd = total - padBegin;
    return out;
  }
  if (autoPad == "VALID")
    padBegin = padEnd = 0;
  int64_t room = in + padBegin + padEnd - span;
  if (room < 0)
    return 0;
  int64_t out = (ceilMode ? (room + stride - 1) / stride : room / stride) + 1;
  // As PyTorch: the last window must start inside the input or its begin padding.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

Expected<Shape> Importer::windowShape(bool isConv, OpAttrs &a) {
  TRY_ASSIGN(Value * x, need(0));
  const Shape xs = x->shape;
  if (xs.size() != 4)
    return nodeError("unsupported-op",
                     "only 2-D windows on NCHW tensors are supported, the input is " +
                         shapeStr(xs));
  int64_t kh = 0, kw = 0;
  TRY_ASSIGN(auto kernel, attrInts("kernel_shape"));
  if (isConv) {
    TRY_ASSIGN(Value * w, need(1));
    if (w->shape.size() != 4)
      return nodeError("onnx-shape", "the weight " + shapeStr(w->shape) + " is not 4-D");
    kh = w->shape[2];
    kw = w->shape[3];
    if (kernel && *kernel != std::vector<int64_t>{kh, kw})
      return nodeError("onnx-shape", "kernel_shape " + shapeStr(*kernel) +
                                         " does not match the weight " + shapeStr(w->shape));
  } else {
    if (!kernel || kernel->size() != 2)
      return nodeError("onnx-invalid", "kernel_shape must have 2 values");
    kh = (*kernel)[0];
    kw = (*kernel)[1];
  }
  TRY_ASSIGN(auto strides, attrInts("strides"));
  TRY_ASSIGN(auto dilations, attrInts("dilations"));
  TRY_ASSIGN(auto pads, attrInts("pads"));
  TRY_ASSIGN(std::string autoPad, attrString("auto_pad", "NOTSET"));
  TRY_ASSIGN(int64_t ceilMode, attrInt("ceil_mode", 0));
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return nodeError("onnx-invalid", "auto_pad '" + autoPad + "' is not valid");
  std::vector<int64_t> s = strides.value_or(std::vector<int64_t>{1, 1});
  std::vector<int64_t> d = dilations.value_or(std::vector<int64_t>{1, 1});
  std::vector<int64_t> p = pads.value_or(std::vector<int64_t>{0, 0, 0, 0});
  if (s.size() != 2 || d.size() != 2 || p.size() != 4)
    return nodeError("onnx-invalid", "strides, dilations and pads must have 2, 2 and 4 values");
  auto inRange = [](int64_t v, int64_t lo) { return v >= lo && v <= kMaxDim; };
  if (!inRange(kh, 1) || !inRange(kw, 1) || !inRange(s[0], 1) || !inRange(s[1], 1) ||
      !inRange(d[0], 1) || !inRange(d[1], 1) ||
      !std::all_of(p.begin(), p.end(), [&](int64_t v) { return inRange(v, 0); }))
    return nodeError("onnx-invalid", "kernel, strides, dilations or pads out of range");
  a.kernelH = kh;
  a.kernelW = kw;
  a.strideH = s[0];
  a.strideW = s[1];
  a.dilationH = d[0];
  a.dilationW = d[1];
  a.padT = p[0];
  a.padL = p[1];
  a.padB = p[2];
  a.padR = p[3];
  int64_t oh = windowExtent(xs[2], kh, s[0], d[0], autoPad, ceilMode, a.padT, a.padB);
  int64_t ow = windowExtent(xs[3], kw, s[1], d[1], autoPad, ceilMode, a.padL, a.padR);
  if (oh <= 0 || ow <= 0)
    return nodeError("onnx-shape", "the window does not fit the input " + shapeStr(xs));
  return Shape{xs[0], xs[1], oh, ow};
}

//===----------------------------------------------------------------------===//
// Fold functions
//===----------------------------------------------------------------------===//

Value Importer::folded(Shape s, int32_t elemType) const {
  Value v;
  v.shape = std::move(s);
  v.elemType = elemType;
  v.constant = true;
  return v;
}

bool Importer::foldable(const Shape &s) {
  int64_t n = checkedElements(s);
  if (n < 0 || n > maxFold_ || n > foldBudget_)
    return false;
  foldBudget_ -= n;
  return true;
}

Expected<Value> Importer::foldConstant() {
  for (const AttributeProto &a : node_->attribute()) {
    const std::string &name = a.name();
    if (name == "value") {
      if (!a.has_t())
        return nodeError("onnx-invalid", "attribute 'value' holds no tensor");
      return constantFromProto(a.t(), "its value");
    }
    Value v;
    if (name == "value_float" || name == "value_floats") {
      v = folded(name == "value_float" ? Shape{} : Shape{int64_t(a.floats_size())},
                 TensorProto::FLOAT);
      v.data = ConstData{true, {}, {}};
      if (name == "value_float")
        v.data->floats.push_back(a.f());
      for (float f : a.floats())
        v.data->floats.push_back(f);
      return v;
    }
    if (name == "value_int" || name == "value_ints") {
      v = folded(name == "value_int" ? Shape{} : Shape{int64_t(a.ints_size())}, TensorProto::INT64);
      v.data = ConstData{false, {}, {}};
      if (name == "value_int")
        v.data->ints.push_back(a.i());
      for (int64_t i : a.ints())
        v.data->ints.push_back(i);
      return v;
    }
    if (name == "sparse_value" || name == "value_string" || name == "value_strings")
      return nodeError("unsupported-op", "'" + name + "' constants are not supported");
  }
  return nodeError("onnx-invalid", "the node has no value attribute");
}

Expected<Value> Importer::foldShape() {
  TRY_ASSIGN(Value * x, need(0));
  int64_t rank = int64_t(x->shape.size());
  TRY_ASSIGN(int64_t start, attrInt("start", 0));
  TRY_ASSIGN(int64_t end, attrInt("end", rank));
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  Value v = folded({end - start}, TensorProto::INT64);
  v.data =
      ConstData{false, std::vector<int64_t>(x->shape.begin() + start, x->shape.begin() + end), {}};
  return v;
}

Expected<Value> Importer::foldSize() {
  TRY_ASSIGN(Value * x, need(0));
  Value v = folded({}, TensorProto::INT64);
  v.data = ConstData{false, {x->elements()}, {}};
  return v;
}

Expected<Value> Importer::foldCast() {
  TRY_ASSIGN(Value * x, need(0));
  if (!attr("to"))
    return nodeError("onnx-invalid", "attribute 'to' is missing");
  TRY_ASSIGN(int64_t to, attrInt("to", 0));
  if (to < INT32_MIN || to > INT32_MAX || !toDType(int32_t(to)))
    return nodeError("unsupported-type", "cannot cast to " + typeName(int32_t(to)));
  Value v = folded(x->shape, int32_t(to));
  if (const ConstData *d = dataOf(*x)) {
    v.data = ConstData{isFloatType(int32_t(to)), {}, {}};
    for (size_t i = 0; i < d->size(); ++i) {
      if (to == TensorProto::BOOL)
        v.data->ints.push_back(d->real(i) != 0);
      else
        v.data->push(*d, i);
    }
  }
  return v;
}

Expected<Value> Importer::foldReshapeLike() {
  TRY_ASSIGN(Shape s, reshapeLikeShape());
  Value &x = values_[in_[0]];
  Value v = folded(std::move(s), x.elemType);
  if (const ConstData *d = dataOf(x))
    v.data = *d;
  return v;
}

Expected<Value> Importer::foldConcat() {
  int64_t axis = 0;
  TRY_ASSIGN(Shape s, concatShape(axis));
  Value v = folded(s, values_[in_[0]].elemType);
  if (!foldable(s))
    return v;
  std::vector<const ConstData *> parts;
  for (uint32_t vi : in_) {
    parts.push_back(dataOf(values_[vi]));
    if (!parts.back())
      return v;
  }
  ConstData out{isFloatType(v.elemType), {}, {}};
  int64_t outer = numElements(Shape(s.begin(), s.begin() + axis));
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < in_.size(); ++i) {
      const Shape &is = values_[in_[i]].shape;
      int64_t block = numElements(Shape(is.begin() + axis, is.end()));
      for (int64_t e = 0; e < block; ++e)
        out.push(*parts[i], size_t(o * block + e));
    }
  v.data = std::move(out);
  return v;
}

Expected<Value> Importer::foldGather() {
  int64_t axis = 0;
  TRY_ASSIGN(Shape s, gatherShape(axis));
  Value &data = values_[in_[0]];
  Value &idx = values_[in_[1]];
  Value v = folded(s, data.elemType);
  const ConstData *dd = dataOf(data), *id = dataOf(idx);
  if (!foldable(s) || !dd || !id)
    return v;
  int64_t dim = data.shape[size_t(axis)];
  int64_t outer = numElements(Shape(data.shape.begin(), data.shape.begin() + axis));
  int64_t inner = numElements(Shape(data.shape.begin() + axis + 1, data.shape.end()));
  ConstData out{dd->isFloat, {}, {}};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : id->ints) {
      int64_t k = j < 0 ? j + dim : j;
      if (k < 0 || k >= dim)
        return nodeError("onnx-invalid", "index " + std::to_string(j) +
                                             " is out of range for a dim of " +
                                             std::to_string(dim));
      for (int64_t e = 0; e < inner; ++e)
        out.push(*dd, size_t((o * dim + k) * inner + e));
    }
  v.data = std::move(out);
  return v;
}

Expected<Value> Importer::foldSlice() {
  TRY_ASSIGN(SliceSpec spec, sliceSpec());
  Value &x = values_[in_[0]];
  Value v = folded(spec.out, x.elemType);
  const ConstData *d = dataOf(x);
  if (!foldable(spec.out) || !d)
    return v;
  ConstData out{d->isFloat, {}, {}};
  const Shape &xs = x.shape;
  forEachIndex(spec.out, [&](const std::vector<int64_t> &idx) {
    int64_t off = 0;
    for (size_t k = 0; k < xs.size(); ++k)
      off = off * xs[k] + spec.starts[k] + idx[k] * spec.steps[k];
    out.push(*d, size_t(off));
  });
  v.data = std::move(out);
  return v;
}

Expected<Value> Importer::foldTranspose() {
  std::vector<int64_t> perm;
  TRY_ASSIGN(Shape s, transposeShape(perm));
  Value &x = values_[in_[0]];
  Value v = folded(s, x.elemType);
  const ConstData *d = dataOf(x);
  if (!foldable(s) || !d)
    return v;
  ConstData out{d->isFloat, {}, {}};
  std::vector<int64_t> src(s.size());
  forEachIndex(s, [&](const std::vector<int64_t> &idx) {
    for (size_t k = 0; k < perm.size(); ++k)
      src[size_t(perm[k])] = idx[k];
    int64_t off = 0;
    for (size_t k = 0; k < src.size(); ++k)
      off = off * x.shape[k] + src[k];
    out.push(*d, size_t(off));
  });
  v.data = std::move(out);
  return v;
}

/// Elementwise maps folded on constants, computed in double precision.
std::optional<double (*)(double)> unaryFn(std::string_view type) {
  using Fn = double (*)(double);
  static const std::pair<std::string_view, Fn> kFns[] = {
      {"Abs", [](double a) { return std::fabs(a); }},
      {"Ceil", [](double a) { return std::ceil(a); }},
      {"Erf", [](double a) { return std::erf(a); }},
      {"Exp", [](double a) { return std::exp(a); }},
      {"Floor", [](double a) { return std::floor(a); }},
      {"Neg", [](double a) { return -a; }},
      {"Not", [](double a) { return a == 0 ? 1.0 : 0.0; }},
      {"Reciprocal", [](double a) { return 1 / a; }},
      {"Relu", [](double a) { return std::max(a, 0.0); }},
      {"Sigmoid", [](double a) { return 1 / (1 + std::exp(-a)); }},
      {"Sqrt", [](double a) { return std::sqrt(a); }},
      {"Tanh", [](double a) { return std::tanh(a); }},
  };
  for (const auto &[name, fn] : kFns)
    if (name == type)
      return fn;
  return std::nullopt;
}

Expected<Value> Importer::foldUnary() {
  TRY_ASSIGN(Value * x, need(0));
  Value v = folded(x->shape, x->elemType);
  const ConstData *d = dataOf(*x);
  auto fn = unaryFn(node_->op_type());
  if (!d || !fn)
    return v;
  ConstData out{d->isFloat, {}, {}};
  for (size_t i = 0; i < d->size(); ++i) {
    if (out.isFloat)
      out.floats.push_back((*fn)(d->real(i)));
    else if (node_->op_type() == "Neg") // exact, wrapping like the hardware
      out.ints.push_back(int64_t(0ULL - uint64_t(d->ints[i])));
    else
      out.ints.push_back(saturate((*fn)(d->real(i))));
  }
  v.data = std::move(out);
  return v;
}

/// Binary maps folded on constants: in double precision, and for integer operands in
/// wrapping 64-bit arithmetic (as the hardware would, instead of overflowing). Integer
/// division by zero has no value: the fold reports it.
struct BinaryFn {
  std::string_view type;
  double (*real)(double, double);
  int64_t (*integer)(int64_t, int64_t);
  bool compare; ///< result is a boolean
};

std::optional<BinaryFn> binaryFn(std::string_view type) {
  static const BinaryFn kFns[] = {
      {"Add", [](double a, double b) { return a + b; },
       [](int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }, false},
      {"And", [](double a, double b) { return double(a != 0 && b != 0); },
       [](int64_t a, int64_t b) { return int64_t(a && b); }, false},
      {"Div", [](double a, double b) { return a / b; },
       [](int64_t a, int64_t b) { return b == -1 ? int64_t(0ULL - uint64_t(a)) : a / b; }, false},
      {"Equal", [](double a, double b) { return double(a == b); },
       [](int64_t a, int64_t b) { return int64_t(a == b); }, true},
      {"Greater", [](double a, double b) { return double(a > b); },
       [](int64_t a, int64_t b) { return int64_t(a > b); }, true},
      {"Less", [](double a, double b) { return double(a < b); },
       [](int64_t a, int64_t b) { return int64_t(a < b); }, true},
      {"Max", [](double a, double b) { return std::max(a, b); },
       [](int64_t a, int64_t b) { return std::max(a, b); }, false},
      {"Min", [](double a, double b) { return std::min(a, b); },
       [](int64_t a, int64_t b) { return std::min(a, b); }, false},
      {"Mul", [](double a, double b) { return a * b; },
       [](int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }, false},
      {"Or", [](double a, double b) { return double(a != 0 || b != 0); },
       [](int64_t a, int64_t b) { return int64_t(a || b); }, false},
      {"Pow", [](double a, double b) { return std::pow(a, b); },
       [](int64_t a, int64_t b) { return saturate(std::pow(double(a), double(b))); }, false},
      {"Sub", [](double a, double b) { return a - b; },
       [](int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }, false},
  };
  for (const BinaryFn &fn : kFns)
    if (fn.type == type)
      return fn;
  return std::nullopt;
}

Expected<Value> Importer::foldBinary() {
  TRY_ASSIGN(Value * a, need(0));
  TRY_ASSIGN(Value * b, need(1));
  std::optional<BinaryFn> fn = binaryFn(node_->op_type());
  TRY_ASSIGN(Shape s, broadcast({a->shape, b->shape}));
  Value v = folded(s, fn && fn->compare ? int32_t(TensorProto::BOOL) : a->elemType);
  const ConstData *da = dataOf(*a), *db = dataOf(*b);
  if (!fn || !foldable(s) || !da || !db)
    return v;
  bool floatMath = da->isFloat || db->isFloat;
  if (!floatMath && node_->op_type() == "Div" &&
      std::find(db->ints.begin(), db->ints.end(), 0) != db->ints.end())
    return nodeError("onnx-invalid", "integer division by zero");
  ConstData out{isFloatType(v.elemType), {}, {}};
  forEachIndex(s, [&](const std::vector<int64_t> &idx) {
    size_t ia = size_t(broadcastOffset(a->shape, idx));
    size_t ib = size_t(broadcastOffset(b->shape, idx));
    if (!floatMath) {
      int64_t r = fn->integer(da->ints[ia], db->ints[ib]);
      if (out.isFloat)
        out.floats.push_back(double(r));
      else
        out.ints.push_back(r);
      return;
    }
    double r = fn->real(da->real(ia), db->real(ib));
    if (out.isFloat)
      out.floats.push_back(r);
    else
      out.ints.push_back(saturate(r));
  });
  v.data = std::move(out);
  return v;
}

Expected<Value> Importer::foldWhere() {
  TRY_ASSIGN(Value * c, need(0));
  TRY_ASSIGN(Value * x, need(1));
  TRY_ASSIGN(Value * y, need(2));
  TRY_ASSIGN(Shape s, broadcast({c->shape, x->shape, y->shape}));
  Value v = folded(s, x->elemType);
  const ConstData *dc = dataOf(*c), *dx = dataOf(*x), *dy = dataOf(*y);
  if (!foldable(s) || !dc || !dx || !dy)
    return v;
  ConstData out{isFloatType(x->elemType), {}, {}};
  forEachIndex(s, [&](const std::vector<int64_t> &idx) {
    if (dc->real(size_t(broadcastOffset(c->shape, idx))) != 0)
      out.push(*dx, size_t(broadcastOffset(x->shape, idx)));
    else
      out.push(*dy, size_t(broadcastOffset(y->shape, idx)));
  });
  v.data = std::move(out);
  return v;
}

Expected<Value> Importer::foldExpand() {
  TRY_ASSIGN(Value * x, need(0));
  TRY_ASSIGN(std::vector<int64_t> target, requireInts(1, "shape"));
  TRY_ASSIGN(Shape s, broadcast({x->shape, Shape(target)}));
  Value v = folded(s, x->elemType);
  const ConstData *d = dataOf(*x);
  if (!foldable(s) || !d)
    return v;
  ConstData out{d->isFloat, {}, {}};
  forEachIndex(s, [&](const std::vector<int64_t> &idx) {
    out.push(*d, size_t(broadcastOffset(x->shape, idx)));
  });
  v.data = std::move(out);
  return v;
}

Expected<Value> Importer::foldConstantOfShape() {
  TRY_ASSIGN(std::vector<int64_t> dims, requireInts(0, "shape"));
  Shape s(dims.begin(), dims.end());
  if (checkedElements(s) < 0)
    return nodeError("onnx-shape", "shape " + shapeStr(s) + " is invalid");
  ConstData fill{true, {}, {0.0}};
  int32_t type = TensorProto::FLOAT;
  if (const AttributeProto *a = attr("value")) {
    if (!a->has_t())
      return nodeError("onnx-invalid", "attribute 'value' holds no tensor");
    TRY_ASSIGN(Value fv, constantFromProto(a->t(), "its value"));
    const ConstData *d = dataOf(fv);
    if (fv.elements() != 1 || !d)
      return nodeError("onnx-invalid", "attribute 'value' must hold exactly one value");
    fill = *d;
    type = fv.elemType;
  }
  Value v = folded(s, type);
  if (foldable(s)) {
    ConstData out{fill.isFloat, {}, {}};
    for (int64_t i = 0; i < numElements(s); ++i)
      out.push(fill, 0);
    v.data = std::move(out);
  }
  return v;
}

Expected<Value> Importer::foldRange() {
  double r[3];
  for (int i = 0; i < 3; ++i) {
    TRY_ASSIGN(Value * x, need(i));
    const ConstData *d = dataOf(*x);
    if (!d || d->size() != 1)
      return nodeError("onnx-shape", "start, limit and delta must be scalars known at import time");
    r[i] = d->real(0);
  }
  if (r[2] == 0 || !std::isfinite(r[0]) || !std::isfinite(r[1]) || !std::isfinite(r[2]))
    return nodeError("onnx-invalid", "the range is invalid");
  double count = std::max(std::ceil((r[1] - r[0]) / r[2]), 0.0);
  if (count > double(kMaxDim))
    return nodeError("onnx-shape", "the range is too long");
  int32_t type = values_[in_[0]].elemType;
  Value v = folded({int64_t(count)}, type);
  if (foldable({int64_t(count)})) {
    ConstData out{isFloatType(type), {}, {}};
    for (int64_t i = 0; i < int64_t(count); ++i) {
      if (out.isFloat)
        out.floats.push_back(r[0] + double(i) * r[2]);
      else
        out.ints.push_back(saturate(r[0] + double(i) * r[2]));
    }
    v.data = std::move(out);
  }
  return v;
}

//===----------------------------------------------------------------------===//
// Convert functions
//===----------------------------------------------------------------------===//

Status Importer::convertUnary() {
  TRY_ASSIGN(Value * x, need(0));
  Shape s = x->shape;
  int32_t type = x->elemType;
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, type));
  emit(*directKind(node_->op_type()), {a}, {out});
  return Status::success();
}

Status Importer::convertBinary() {
  const std::string &type = node_->op_type();
  TRY_ASSIGN(Value * a, need(0));
  TRY_ASSIGN(Value * b, need(1));
  TRY_ASSIGN(Shape s, broadcast({a->shape, b->shape}));
  int32_t elemType = a->elemType;
  // Canonical operand order for commutative ops: the computed value first, then the
  // bias / scale (PyTorch exports Linear's bias add as Add(bias, x)).
  int first = 0, second = 1;
  if ((type == "Add" || type == "Mul") && a->constant && !b->constant) {
    std::swap(first, second);
    elemType = b->elemType;
  }
  // A divisor or an exponent is never a trainable weight.
  Slot secondSlot = type == "Div" || type == "Pow" ? Slot::NonTrainable : Slot::Weight;
  TRY_ASSIGN(TensorId x, use(first));
  TRY_ASSIGN(TensorId y, use(second, secondSlot));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(*directKind(type), {x, y}, {out});
  return Status::success();
}

Status Importer::convertMatMul() {
  TRY(requireInputs(2));
  uint32_t ia = in_[0], ib = in_[1];
  bool transA = false, transB = false;
  // A transposed 2-D weight becomes the product's transpose flag.
  if (values_[ia].pendingView() && !values_[ia].tensor.valid()) {
    ia = values_[ia].transposeOf;
    transA = true;
  }
  if (values_[ib].pendingView() && !values_[ib].tensor.valid()) {
    ib = values_[ib].transposeOf;
    transB = true;
  }
  Shape sa = values_[ia].shape, sb = values_[ib].shape;
  int32_t elemType = values_[ia].elemType;
  if (sa.empty() || sb.empty())
    return nodeError("onnx-shape", "MatMul operands cannot be scalars");
  // numpy semantics for 1-D operands: a row vector on the left, a column on the right.
  bool rowVector = sa.size() == 1, colVector = sb.size() == 1;
  Shape ma = rowVector ? Shape{1, sa[0]} : sa;
  Shape mb = colVector ? Shape{sb[0], 1} : sb;
  size_t ra = ma.size(), rb = mb.size();
  int64_t m = transA ? ma[ra - 1] : ma[ra - 2], k = transA ? ma[ra - 2] : ma[ra - 1];
  int64_t kb = transB ? mb[rb - 1] : mb[rb - 2], n = transB ? mb[rb - 2] : mb[rb - 1];
  if (k != kb)
    return nodeError("onnx-shape", "inner dims differ: " + shapeStr(sa) + (transA ? "^T" : "") +
                                       " x " + shapeStr(sb) + (transB ? "^T" : ""));
  TRY_ASSIGN(Shape batch,
             broadcast({Shape(ma.begin(), ma.end() - 2), Shape(mb.begin(), mb.end() - 2)}));
  Shape full = batch, result = batch;
  full.push_back(m);
  full.push_back(n);
  if (!rowVector)
    result.push_back(m);
  if (!colVector)
    result.push_back(n);
  TRY_ASSIGN(TensorId a, materialize(ia, Slot::Weight, rowVector ? &ma : nullptr));
  TRY_ASSIGN(TensorId b, materialize(ib, Slot::Weight, colVector ? &mb : nullptr));
  TRY_ASSIGN(TensorId out, output(0, result, elemType));
  OpAttrs attrs;
  attrs.transA = transA;
  attrs.transB = transB;
  if (full == result) {
    emit(OpKind::MatMul, {a, b}, {out}, attrs);
  } else {
    TensorId t = temp("/matmul", full, elemType);
    emit(OpKind::MatMul, {a, b}, {t}, attrs);
    emit(OpKind::Reshape, {t}, {out}, {}, "/reshape");
  }
  return Status::success();
}

Status Importer::convertGemm() {
  TRY(requireInputs(2));
  TRY_ASSIGN(int64_t ta, attrInt("transA", 0));
  TRY_ASSIGN(int64_t tb, attrInt("transB", 0));
  TRY_ASSIGN(double alpha, attrFloat("alpha", 1.0));
  TRY_ASSIGN(double beta, attrFloat("beta", 1.0));
  bool transA = ta != 0, transB = tb != 0;
  uint32_t ia = in_[0], ib = in_[1];
  if (values_[ia].pendingView() && !values_[ia].tensor.valid()) {
    ia = values_[ia].transposeOf;
    transA = !transA;
  }
  if (values_[ib].pendingView() && !values_[ib].tensor.valid()) {
    ib = values_[ib].transposeOf;
    transB = !transB;
  }
  Shape sa = values_[ia].shape, sb = values_[ib].shape;
  int32_t elemType = values_[ia].elemType;
  if (sa.size() != 2 || sb.size() != 2)
    return nodeError("onnx-shape",
                     "Gemm operands must be 2-D, not " + shapeStr(sa) + " and " + shapeStr(sb));
  int64_t m = transA ? sa[1] : sa[0], k = transA ? sa[0] : sa[1];
  int64_t kb = transB ? sb[1] : sb[0], n = transB ? sb[0] : sb[1];
  if (k != kb)
    return nodeError("onnx-shape", "inner dims differ: " + shapeStr(sa) + (transA ? "^T" : "") +
                                       " x " + shapeStr(sb) + (transB ? "^T" : ""));
  Shape s{m, n};
  bool bias = in(2) && beta != 0;
  if (bias) {
    TRY_ASSIGN(Shape bs, broadcast({s, in(2)->shape}));
    if (bs != s)
      return nodeError("onnx-shape",
                       "bias " + shapeStr(in(2)->shape) + " does not broadcast to " + shapeStr(s));
  }
  bool scaled = alpha != 1.0;
  TRY_ASSIGN(TensorId a, materialize(ia, Slot::Weight));
  TRY_ASSIGN(TensorId b, materialize(ib, Slot::Weight));
  TensorId c;
  if (bias) {
    TRY_ASSIGN(c, use(2, Slot::Weight));
  }
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  OpAttrs attrs;
  attrs.transA = transA;
  attrs.transB = transB;
  TensorId cur = scaled || bias ? temp("/matmul", s, elemType) : out;
  emit(OpKind::MatMul, {a, b}, {cur}, attrs);
  if (scaled) {
    TensorId scaledOut = bias ? temp("/scaled", s, elemType) : out;
    emit(OpKind::Mul, {cur, scalarConstant("/alpha", elemType, alpha)}, {scaledOut}, {}, "/alpha");
    cur = scaledOut;
  }
  if (bias) {
    if (beta != 1.0) {
      TensorId cb = temp("/beta_bias", graph_.tensor(c).shape, elemType);
      emit(OpKind::Mul, {c, scalarConstant("/beta", elemType, beta)}, {cb}, {}, "/beta");
      c = cb;
    }
    emit(OpKind::Add, {cur, c}, {out}, {}, "/bias");
  }
  return Status::success();
}

Status Importer::convertConv() {
  OpAttrs attrs;
  TRY_ASSIGN(Shape s, windowShape(true, attrs));
  Shape xs = in(0)->shape, ws = in(1)->shape;
  int32_t elemType = in(0)->elemType;
  TRY_ASSIGN(int64_t groups, attrInt("group", 1));
  if (groups < 1 || xs[1] % groups || ws[0] % groups || ws[1] != xs[1] / groups)
    return nodeError("onnx-shape", "weight " + shapeStr(ws) + " with " + std::to_string(groups) +
                                       " groups does not fit input " + shapeStr(xs));
  attrs.groups = groups;
  s[1] = ws[0];
  Shape biasShape{ws[0], 1, 1};
  bool bias = in(2) != nullptr;
  if (bias && in(2)->elements() != ws[0])
    return nodeError("onnx-shape", "bias " + shapeStr(in(2)->shape) + " does not have " +
                                       std::to_string(ws[0]) + " elements");
  TRY_ASSIGN(TensorId x, use(0));
  TRY_ASSIGN(TensorId w, use(1, Slot::Weight));
  TensorId b;
  if (bias) {
    // Held as [O, 1, 1] so that a plain broadcasting Add applies it per channel.
    TRY_ASSIGN(b, use(2, Slot::Weight, &biasShape));
  }
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  TensorId conv = bias ? temp("/conv", s, elemType) : out;
  emit(OpKind::Conv2d, {x, w}, {conv}, attrs);
  if (bias)
    emit(OpKind::Add, {conv, b}, {out}, {}, "/bias");
  return Status::success();
}

Status Importer::convertPool() {
  bool isMax = node_->op_type() == "MaxPool";
  OpAttrs attrs;
  TRY_ASSIGN(Shape s, windowShape(false, attrs));
  if (!isMax)
    attrs.dilationH = attrs.dilationW = 1;
  TRY(rejectUsedOutputs(1, "Indices"));
  int32_t elemType = in(0)->elemType;
  TRY_ASSIGN(TensorId x, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(isMax ? OpKind::MaxPool2d : OpKind::AvgPool2d, {x}, {out}, attrs);
  return Status::success();
}

Status Importer::convertGlobalPool() {
  TRY_ASSIGN(Value * x, need(0));
  if (x->shape.size() < 3)
    return nodeError("onnx-shape", "the input " + shapeStr(x->shape) + " has no spatial dims");
  Shape s = x->shape;
  std::fill(s.begin() + 2, s.end(), 1);
  int32_t elemType = x->elemType;
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(OpKind::GlobalAvgPool, {a}, {out});
  return Status::success();
}

Status Importer::convertBatchNorm() {
  TRY_ASSIGN(Value * x, need(0));
  if (x->shape.size() < 2)
    return nodeError("onnx-shape", "the input " + shapeStr(x->shape) + " has no channel dim");
  Shape s = x->shape;
  int32_t elemType = x->elemType;
  for (int i = 1; i <= 4; ++i) {
    TRY_ASSIGN(Value * p, need(i));
    if (p->elements() != s[1])
      return nodeError("onnx-shape", "input " + std::to_string(i) + " " + shapeStr(p->shape) +
                                         " does not have one value per channel of " + shapeStr(s));
  }
  TRY(rejectUsedOutputs(1, "running statistics"));
  OpAttrs attrs;
  TRY_ASSIGN(attrs.eps, attrFloat("epsilon", 1e-5));
  attrs.axis = 1;
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId scale, use(1, Slot::Weight));
  TRY_ASSIGN(TensorId bias, use(2, Slot::Weight));
  TRY_ASSIGN(TensorId mean, use(3, Slot::NonTrainable));
  TRY_ASSIGN(TensorId var, use(4, Slot::NonTrainable));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(OpKind::BatchNorm, {a, scale, bias, mean, var}, {out}, attrs);
  return Status::success();
}

Status Importer::convertLayerNorm() {
  TRY_ASSIGN(Value * x, need(0));
  Shape s = x->shape;
  int32_t elemType = x->elemType;
  TRY_ASSIGN(int64_t axis, attrInt("axis", -1));
  TRY_ASSIGN(axis, normAxis(axis, int64_t(s.size())));
  int64_t n = numElements(Shape(s.begin() + axis, s.end()));
  TRY_ASSIGN(Value * scale, need(1));
  if (scale->elements() != n || (in(2) && in(2)->elements() != n))
    return nodeError("onnx-shape",
                     "scale / bias do not match the normalized dims of " + shapeStr(s));
  TRY(rejectUsedOutputs(1, "mean / inverse standard deviation"));
  OpAttrs attrs;
  TRY_ASSIGN(attrs.eps, attrFloat("epsilon", 1e-5));
  attrs.axis = storedAxis(axis, s.size());
  std::vector<TensorId> ins;
  for (int i = 0; i < 3; ++i) {
    if (!in(i))
      continue;
    TRY_ASSIGN(TensorId t, use(i, Slot::Weight));
    ins.push_back(t);
  }
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(OpKind::LayerNorm, ins, {out}, attrs);
  return Status::success();
}

Status Importer::convertSoftmax() {
  TRY_ASSIGN(Value * x, need(0));
  Shape s = x->shape;
  int32_t elemType = x->elemType;
  TRY_ASSIGN(int64_t axis, attrInt("axis", opset_ >= 13 ? -1 : 1));
  TRY_ASSIGN(axis, normAxis(axis, int64_t(s.size())));
  OpAttrs attrs;
  attrs.axis = storedAxis(axis, s.size());
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(OpKind::Softmax, {a}, {out}, attrs);
  return Status::success();
}

Status Importer::convertReduce() {
  TRY_ASSIGN(Value * x, need(0));
  Shape xs = x->shape;
  int32_t elemType = x->elemType;
  std::vector<int64_t> axes;
  if (in(1)) {
    TRY_ASSIGN(axes, requireInts(1, "axes"));
  } else {
    TRY_ASSIGN(auto a, attrInts("axes"));
    if (a)
      axes = *a;
  }
  TRY_ASSIGN(int64_t keepDims, attrInt("keepdims", 1));
  TRY_ASSIGN(int64_t noopEmpty, attrInt("noop_with_empty_axes", 0));
  if (axes.empty() && noopEmpty) {
    bindAlias(0, 0);
    return Status::success();
  }
  if (axes.empty())
    for (size_t k = 0; k < xs.size(); ++k)
      axes.push_back(int64_t(k));
  std::vector<bool> reduced(xs.size(), false);
  for (int64_t &a : axes) {
    TRY_ASSIGN(a, normAxis(a, int64_t(xs.size())));
    if (reduced[size_t(a)])
      return nodeError("onnx-invalid", "axis " + std::to_string(a) + " is repeated");
    reduced[size_t(a)] = true;
  }
  Shape out;
  for (size_t k = 0; k < xs.size(); ++k)
    if (!reduced[k] || keepDims)
      out.push_back(reduced[k] ? 1 : xs[k]);
  TRY_ASSIGN(TensorId a, use(0));
  // A mean over H and W of an NCHW tensor is a global average pool.
  bool spatial = xs.size() == 4 && axes.size() == 2 && !reduced[0] && !reduced[1];
  if (node_->op_type() == "ReduceMean" && spatial) {
    Shape pooled = xs;
    std::fill(pooled.begin() + 2, pooled.end(), 1);
    TRY_ASSIGN(TensorId o, output(0, out, elemType));
    if (keepDims) {
      emit(OpKind::GlobalAvgPool, {a}, {o});
    } else {
      TensorId t = temp("/pool", pooled, elemType);
      emit(OpKind::GlobalAvgPool, {a}, {t});
      emit(OpKind::Reshape, {t}, {o}, {}, "/reshape");
    }
    return Status::success();
  }
  if (axes.size() != 1)
    return nodeError("unsupported-op",
                     "reductions over several axes (" + shapeStr(axes) + ") are not supported");
  OpAttrs attrs;
  attrs.axis = storedAxis(axes[0], xs.size());
  TRY_ASSIGN(TensorId o, output(0, out, elemType));
  emit(*directKind(node_->op_type()), {a}, {o}, attrs);
  return Status::success();
}

Status Importer::convertReshapeLike() {
  TRY_ASSIGN(Shape s, reshapeLikeShape());
  return emitShapeChange(OpKind::Reshape, s);
}

Status Importer::emitShapeChange(OpKind kind, const Shape &s) {
  if (s == in(0)->shape) {
    bindAlias(0, 0);
    return Status::success();
  }
  int32_t elemType = in(0)->elemType;
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(kind, {a}, {out});
  return Status::success();
}

Status Importer::convertTranspose() {
  std::vector<int64_t> perm;
  TRY_ASSIGN(Shape s, transposeShape(perm));
  Value &x = values_[in_[0]];
  if (x.weightLike() && x.shape.size() == 2 && perm == std::vector<int64_t>{1, 0}) {
    // Kept as a view: MatMul / Gemm fold it into transB, any other reader materializes it.
    Value v;
    v.shape = s;
    v.elemType = x.elemType;
    v.transposeOf = in_[0];
    v.viewOp = nodeName_;
    v.viewLayer = layer_;
    return bindOutput(0, std::move(v));
  }
  int32_t elemType = x.elemType;
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  OpAttrs attrs;
  attrs.perm = perm;
  emit(OpKind::Transpose, {a}, {out}, attrs);
  return Status::success();
}

Status Importer::convertConcat() {
  int64_t axis = 0;
  TRY_ASSIGN(Shape s, concatShape(axis));
  int32_t elemType = in(0)->elemType;
  std::vector<TensorId> ins;
  for (size_t i = 0; i < in_.size(); ++i) {
    if (in(int(i))->elements() == 0)
      continue; // ONNX allows empty pieces; they contribute nothing
    TRY_ASSIGN(TensorId t, use(int(i), Slot::Weight));
    ins.push_back(t);
  }
  OpAttrs attrs;
  attrs.axis = storedAxis(axis, s.size());
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(OpKind::Concat, ins, {out}, attrs);
  return Status::success();
}

Status Importer::convertSplit() {
  TRY_ASSIGN(Value * x, need(0));
  Shape xs = x->shape;
  int32_t elemType = x->elemType;
  TRY_ASSIGN(int64_t a, attrInt("axis", 0));
  TRY_ASSIGN(int64_t axis, normAxis(a, int64_t(xs.size())));
  int64_t dim = xs[size_t(axis)];
  int64_t parts = node_->output_size();
  std::vector<int64_t> sizes;
  if (in(1)) {
    TRY_ASSIGN(sizes, requireInts(1, "split"));
  } else {
    TRY_ASSIGN(auto attrSizes, attrInts("split"));
    if (attrSizes) {
      sizes = *attrSizes;
    } else {
      if (parts < 1)
        return nodeError("onnx-invalid", "the node has no outputs");
      int64_t chunk = (dim + parts - 1) / parts;
      for (int64_t i = 0; i < parts; ++i)
        sizes.push_back(std::min(chunk, dim - std::min(dim, i * chunk)));
    }
  }
  int64_t total = 0;
  for (int64_t sz : sizes) {
    if (sz < 0 || sz > kMaxDim || total > kMaxDim)
      return nodeError("onnx-invalid", "split size " + std::to_string(sz) + " is invalid");
    total += sz;
  }
  if (int64_t(sizes.size()) != parts || total != dim)
    return nodeError("onnx-shape", "split sizes " + shapeStr(sizes) + " do not divide dim " +
                                       std::to_string(axis) + " of " + shapeStr(xs) + " into " +
                                       std::to_string(parts) + " outputs");
  TRY_ASSIGN(TensorId src, use(0));
  std::vector<TensorId> outs;
  for (int64_t i = 0; i < parts; ++i) {
    Shape s = xs;
    s[size_t(axis)] = sizes[size_t(i)];
    TRY_ASSIGN(TensorId t, output(int(i), s, elemType));
    outs.push_back(t);
  }
  OpAttrs attrs;
  attrs.axis = storedAxis(axis, xs.size());
  emit(OpKind::Split, {src}, outs, attrs);
  return Status::success();
}

Status Importer::convertSlice() {
  TRY_ASSIGN(SliceSpec spec, sliceSpec());
  Value &x = values_[in_[0]];
  int32_t elemType = x.elemType;
  bool whole = spec.out == x.shape &&
               std::all_of(spec.steps.begin(), spec.steps.end(), [](int64_t s) { return s == 1; });
  if (whole) {
    bindAlias(0, 0);
    return Status::success();
  }
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, spec.out, elemType));
  OpAttrs attrs;
  attrs.starts = spec.starts;
  if (!std::all_of(spec.steps.begin(), spec.steps.end(), [](int64_t s) { return s == 1; }))
    attrs.steps = spec.steps;
  emit(OpKind::Slice, {a}, {out}, attrs);
  return Status::success();
}

Status Importer::convertGather() {
  int64_t axis = 0;
  TRY_ASSIGN(Shape s, gatherShape(axis));
  Value &data = values_[in_[0]];
  int32_t elemType = data.elemType;
  // A lookup into a 2-D float initializer is an embedding table.
  bool embedding = data.fromInitializer && isFloatType(data.elemType) && data.shape.size() == 2 &&
                   axis == 0 && !data.pendingView();
  TRY_ASSIGN(TensorId table, use(0, Slot::Weight));
  TRY_ASSIGN(TensorId idx, use(1, Slot::NonTrainable));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  OpAttrs attrs;
  attrs.axis = storedAxis(axis, graph_.tensor(table).shape.size());
  emit(embedding ? OpKind::Embedding : OpKind::Gather, {table, idx}, {out},
       embedding ? OpAttrs{} : attrs);
  return Status::success();
}

Status Importer::convertCast() {
  TRY_ASSIGN(Value * x, need(0));
  if (!attr("to"))
    return nodeError("onnx-invalid", "attribute 'to' is missing");
  TRY_ASSIGN(int64_t to, attrInt("to", 0));
  if (to < INT32_MIN || to > INT32_MAX || !toDType(int32_t(to)))
    return nodeError("unsupported-type", "cannot cast to " + typeName(int32_t(to)));
  Shape s = x->shape;
  if (toDType(int32_t(to)) == toDType(x->elemType)) {
    bindAlias(0, 0);
    return Status::success();
  }
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, int32_t(to)));
  emit(OpKind::Cast, {a}, {out});
  return Status::success();
}

Status Importer::convertDropout() {
  TRY_ASSIGN(Value * x, need(0));
  Shape s = x->shape;
  int32_t elemType = x->elemType;
  double ratio = 0.5;
  if (opset_ < 12) {
    TRY_ASSIGN(ratio, attrFloat("ratio", 0.5));
  } else if (Value *r = in(1)) {
    const ConstData *d = r->constant ? dataOf(*r) : nullptr;
    if (!d || d->size() != 1)
      return nodeError("onnx-shape", "the ratio must be a scalar known at import time");
    ratio = d->real(0);
  }
  if (!(ratio >= 0 && ratio < 1))
    return nodeError("onnx-invalid", "ratio " + std::to_string(ratio) + " is not in [0, 1)");
  TRY(rejectUsedOutputs(1, "mask"));
  if (ratio == 0) {
    bindAlias(0, 0);
    return Status::success();
  }
  OpAttrs attrs;
  attrs.p = ratio;
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(OpKind::Dropout, {a}, {out}, attrs);
  return Status::success();
}

Status Importer::convertIdentity() {
  TRY_ASSIGN(Value * x, need(0));
  if (x->fromInitializer) {
    // PyTorch's exporter writes one initializer for several equal-valued parameters and
    // names the others with Identity nodes: each name is a parameter of its own.
    Value copy = *x;
    copy.tensor = TensorId{};
    return bindOutput(0, std::move(copy));
  }
  bindAlias(0, 0);
  return Status::success();
}

Status Importer::convertExpand() {
  TRY_ASSIGN(Value * x, need(0));
  TRY_ASSIGN(std::vector<int64_t> target, requireInts(1, "shape"));
  TRY_ASSIGN(Shape s, broadcast({x->shape, Shape(target)}));
  return emitShapeChange(OpKind::Expand, s);
}

Status Importer::convertPad() {
  TRY_ASSIGN(Value * x, need(0));
  Shape xs = x->shape;
  int32_t elemType = x->elemType;
  int64_t rank = int64_t(xs.size());
  TRY_ASSIGN(std::string mode, attrString("mode", "constant"));
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return nodeError("unsupported-op", "pad mode '" + mode + "' is not supported");
  std::vector<int64_t> pads;
  if (opset_ < 11) {
    TRY_ASSIGN(auto p, attrInts("pads"));
    if (!p)
      return nodeError("onnx-invalid", "attribute 'pads' is missing");
    pads = *p;
  } else {
    TRY_ASSIGN(pads, requireInts(1, "pads"));
  }
  // Opset 18: pads only for the listed axes.
  std::vector<int64_t> axes;
  if (in(3)) {
    TRY_ASSIGN(axes, requireInts(3, "axes"));
  } else {
    for (int64_t k = 0; k < rank; ++k)
      axes.push_back(k);
  }
  if (pads.size() != 2 * axes.size())
    return nodeError("onnx-invalid",
                     "pads " + shapeStr(pads) + " do not have two values per padded axis");
  std::vector<int64_t> begin(xs.size(), 0), end(xs.size(), 0);
  for (size_t j = 0; j < axes.size(); ++j) {
    TRY_ASSIGN(int64_t a, normAxis(axes[j], rank));
    begin[size_t(a)] = pads[j];
    end[size_t(a)] = pads[j + axes.size()];
  }
  Shape s = xs;
  for (size_t k = 0; k < xs.size(); ++k) {
    if (begin[k] < 0 || end[k] < 0 || begin[k] > kMaxDim || end[k] > kMaxDim)
      return nodeError("unsupported-op",
                       "negative (cropping) or huge pads " + shapeStr(pads) + " are not supported");
    if ((begin[k] || end[k]) && int64_t(k) < rank - 2)
      return nodeError("unsupported-op",
                       "padding is supported on the last two dims only, not on dim " +
                           std::to_string(k) + " of " + shapeStr(xs));
    s[k] += begin[k] + end[k];
  }
  if (s == xs) {
    bindAlias(0, 0);
    return Status::success();
  }
  OpAttrs attrs;
  if (rank >= 2) {
    attrs.padT = begin[size_t(rank - 2)];
    attrs.padB = end[size_t(rank - 2)];
  }
  attrs.padL = begin[size_t(rank - 1)];
  attrs.padR = end[size_t(rank - 1)];
  TRY_ASSIGN(TensorId a, use(0));
  TRY_ASSIGN(TensorId out, output(0, s, elemType));
  emit(OpKind::Pad, {a}, {out}, attrs);
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Initializer values (importOnnxModel)
//===----------------------------------------------------------------------===//

/// Element i of a payload (raw bytes when `raw` is non-null, else the typed field) as
/// float.
float payloadFloat(const TensorProto &t, const char *raw, int64_t i) {
  int32_t type = t.data_type();
  if (raw) {
    const char *p = raw + i * rawElementSize(type);
    if (type == TensorProto::FLOAT)
      return load<float>(p);
    return isFloatType(type) ? float(rawReal(type, p)) : float(rawInteger(type, p));
  }
  if (type == TensorProto::FLOAT)
    return t.float_data(int(i));
  return isFloatType(type) ? float(typedReal(t, int(i))) : float(typedInteger(t, int(i)));
}

/// The values of `t` (n elements) from `raw` bytes, or from its own payload when `raw` is
/// null.
std::vector<float> payloadFloats(const TensorProto &t, int64_t n, const std::string *raw) {
  std::vector<float> out(static_cast<size_t>(n));
  const char *bytes = raw ? raw->data() : (t.raw_data().empty() ? nullptr : t.raw_data().data());
  if (bytes && t.data_type() == TensorProto::FLOAT) {
    std::memcpy(out.data(), bytes, size_t(n) * 4); // ONNX raw data is little-endian
    return out;
  }
  for (int64_t i = 0; i < n; ++i)
    out[size_t(i)] = payloadFloat(t, bytes, i);
  return out;
}

Expected<Initializers> Importer::values(const Graph &g) {
  node_ = nullptr;
  Initializers init;
  for (uint32_t id = 0; id < g.numTensors(); ++id) {
    const Tensor &t = g.tensor(TensorId{id});
    if (t.role != TensorRole::Parameter && t.role != TensorRole::Constant)
      continue;
    if (auto it = scalarValues_.find(id); it != scalarValues_.end()) {
      init.values[id] = {float(it->second)};
      continue;
    }
    auto it = tensorValue_.find(id);
    if (it == tensorValue_.end())
      return fileError("onnx-value", "constant tensor '" + t.name + "' has no known values");
    const Value &v = values_[it->second];
    int64_t n = t.elements();
    if (v.elements() != n)
      return fileError("onnx-value", "tensor '" + t.name + "' has " + std::to_string(n) +
                                         " elements but its value '" + v.name + "' has " +
                                         std::to_string(v.elements()));
    if (v.proto) {
      init.values[id] = payloadFloats(*v.proto, n, nullptr);
    } else if (v.ext) {
      TRY_ASSIGN(std::string raw, externalData(*v.ext, n));
      init.values[id] = payloadFloats(*v.ext, n, &raw);
    } else if (v.data && int64_t(v.data->size()) == n) {
      std::vector<float> out(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        out[size_t(i)] = float(v.data->real(size_t(i)));
      init.values[id] = std::move(out);
    } else {
      return fileError(
          "onnx-value",
          "the values of constant '" + t.name + "' " + shapeStr(t.shape) +
              (v.fromInitializer
                   ? " are not in the file (an initializer stored without data)"
                   : " were not computed at import (over " + std::to_string(kMaxValueFoldElements) +
                         " elements, or past the " + std::to_string(kMaxValueFoldTotal) +
                         " elements the importer folds in all)"));
    }
  }
  return init;
}

Expected<std::string> Importer::externalData(const TensorProto &t, int64_t n) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      const std::string &s = kv.value();
      if (s.empty() || s.size() > 18 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fileError("onnx-value", "initializer '" + t.name() + "' has external data " +
                                           kv.key() + " '" + s + "', not a byte count");
      (kv.key() == "offset" ? offset : length) = std::stoll(s);
    }
  }
  std::filesystem::path rel(location);
  bool escapes = rel.is_absolute() ||
                 std::any_of(rel.begin(), rel.end(), [](const auto &c) { return c == ".."; });
  if (location.empty() || escapes)
    return fileError("onnx-value", "initializer '" + t.name() + "' has external data location '" +
                                       location +
                                       "': it must be a relative path inside the model's folder");
  int64_t need = n * rawElementSize(t.data_type());
  if (length >= 0 && length != need)
    return fileError("onnx-value", "initializer '" + t.name() + "' has " + std::to_string(length) +
                                       " bytes of external data, its dims need " +
                                       std::to_string(need));
  std::filesystem::path file = std::filesystem::path(path_).parent_path() / rel;
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(file, ec);
  std::ifstream f(file, std::ios::binary);
  // The size is checked before allocating: dims in a corrupt file can claim terabytes.
  if (ec || uintmax_t(offset) > size || uintmax_t(need) > size - uintmax_t(offset) || !f)
    return fileError("onnx-value", "cannot read " + std::to_string(need) + " bytes at offset " +
                                       std::to_string(offset) + " of external data file '" +
                                       file.string() + "' for initializer '" + t.name() + "'");
  std::string raw(static_cast<size_t>(need), '\0');
  if (!f.seekg(offset) || !f.read(raw.data(), std::streamsize(need)))
    return fileError("onnx-value", "cannot read " + std::to_string(need) + " bytes at offset " +
                                       std::to_string(offset) + " of external data file '" +
                                       file.string() + "' for initializer '" + t.name() + "'");
  return raw;
}

} // namespace

Expected<OnnxModel> importOnnxModel(const std::string &path, const OnnxOptions &opts) {
  Importer importer(path, opts);
  importer.keepValues();
  TRY_ASSIGN(Graph g, importer.run());
  TRY_ASSIGN(Initializers init, importer.values(g));
  return OnnxModel{std::move(g), std::move(init)};
}

Expected<OnnxModel> importOnnxModelBytes(const std::string &bytes, const std::string &name,
                                         const OnnxOptions &opts) {
  Importer importer(name, bytes, opts);
  importer.keepValues();
  TRY_ASSIGN(Graph g, importer.run());
  TRY_ASSIGN(Initializers init, importer.values(g));
  return OnnxModel{std::move(g), std::move(init)};
}

Expected<Graph> importOnnx(const std::string &path, const OnnxOptions &opts) {
  Importer importer(path, opts);
  return importer.run();
}

Expected<Graph> importOnnxBytes(const std::string &bytes, const std::string &name,
                                const OnnxOptions &opts) {
  Importer importer(name, bytes, opts);
  return importer.run();
}

} // namespace tessera::workload
