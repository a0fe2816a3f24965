#include "workload/Graph.h"

#include <algorithm>
#include <array>

namespace tessera::workload {

namespace {
struct OpInfo {
  std::string_view name;
  OpCategory category;
};
constexpr std::array kOpInfo = {
#define OP(Enum, Name, Category) OpInfo{Name, OpCategory::Category},
#include "workload/Ops.def"
};
} // namespace

std::string_view opName(OpKind k) { return kOpInfo[size_t(k)].name; }
OpCategory opCategory(OpKind k) { return kOpInfo[size_t(k)].category; }

bool opKindFromName(std::string_view name, OpKind &out) {
  for (size_t i = 0; i < kOpInfo.size(); ++i)
    if (kOpInfo[i].name == name) {
      out = OpKind(i);
      return true;
    }
  return false;
}

std::string_view dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::TF32: return "tf32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::FP8E4M3: return "fp8e4m3";
  case DType::FP8E5M2: return "fp8e5m2";
  case DType::I64: return "i64";
  case DType::I32: return "i32";
  case DType::I8: return "i8";
  case DType::Bool: return "bool";
  }
  return "?";
}

double dtypeBytes(DType t) {
  switch (t) {
  case DType::F32: case DType::TF32: case DType::I32: return 4;
  case DType::F16: case DType::BF16: return 2;
  case DType::FP8E4M3: case DType::FP8E5M2: case DType::I8: case DType::Bool: return 1;
  case DType::I64: return 8;
  }
  return 4;
}

std::string_view roleName(TensorRole r) {
  switch (r) {
  case TensorRole::Input: return "input";
  case TensorRole::Parameter: return "parameter";
  case TensorRole::Constant: return "constant";
  case TensorRole::Activation: return "activation";
  case TensorRole::Gradient: return "gradient";
  case TensorRole::OptimizerState: return "optimizer-state";
  }
  return "?";
}

std::string_view phaseName(Phase p) {
  switch (p) {
  case Phase::Forward: return "forward";
  case Phase::Recompute: return "recompute";
  case Phase::BackwardData: return "backward-data";
  case Phase::BackwardWeight: return "backward-weight";
  case Phase::Optimizer: return "optimizer";
  }
  return "?";
}

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

std::string shapeStr(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i)
      r += ",";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

TensorId Graph::addTensor(Tensor t) {
  tensors_.push_back(std::move(t));
  return TensorId{uint32_t(tensors_.size() - 1)};
}

OpId Graph::addOp(Op op) {
  OpId id{uint32_t(ops_.size())};
  for (TensorId out : op.outputs)
    tensors_[out.v].producer = id;
  ops_.push_back(std::move(op));
  return id;
}

std::vector<std::vector<OpId>> Graph::consumers() const {
  std::vector<std::vector<OpId>> c(tensors_.size());
  for (uint32_t i = 0; i < ops_.size(); ++i)
    for (TensorId in : ops_[i].inputs)
      if (c[in.v].empty() || c[in.v].back().v != i)
        c[in.v].push_back(OpId{i});
  return c;
}

std::vector<TensorId> Graph::parameters() const {
  std::vector<TensorId> p;
  for (uint32_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].role == TensorRole::Parameter)
      p.push_back(TensorId{i});
  return p;
}

int64_t Graph::parameterCount() const {
  int64_t n = 0;
  for (const Tensor &t : tensors_)
    if (t.role == TensorRole::Parameter)
      n += t.elements();
  return n;
}

int32_t Graph::numLayers() const {
  int32_t n = 0;
  for (const Op &o : ops_)
    n = std::max(n, o.layer + 1);
  return n;
}

Status Graph::verify() const {
  std::vector<bool> defined(tensors_.size(), false);
  for (uint32_t i = 0; i < tensors_.size(); ++i) {
    const Tensor &t = tensors_[i];
    bool needsProducer = t.role == TensorRole::Activation || t.role == TensorRole::Gradient;
    if (!needsProducer)
      defined[i] = true;
    else if (!t.producer.valid())
      return Diagnostic::error("graph-invalid", "tensor '" + t.name + "' has no producer");
    for (int64_t d : t.shape)
      if (d <= 0)
        return Diagnostic::error("graph-invalid", "tensor '" + t.name + "' has shape " +
                                                      shapeStr(t.shape));
  }
  for (uint32_t i = 0; i < ops_.size(); ++i) {
    const Op &o = ops_[i];
    for (TensorId in : o.inputs) {
      if (in.v >= tensors_.size())
        return Diagnostic::error("graph-invalid", "op '" + o.name + "' reads a missing tensor",
                                 o.loc);
      if (!defined[in.v])
        return Diagnostic::error("graph-invalid",
                                 "op '" + o.name + "' reads '" + tensors_[in.v].name +
                                     "' before it is produced",
                                 o.loc);
    }
    for (TensorId out : o.outputs) {
      if (out.v >= tensors_.size())
        return Diagnostic::error("graph-invalid", "op '" + o.name + "' writes a missing tensor",
                                 o.loc);
      if (tensors_[out.v].producer.v != i)
        return Diagnostic::error("graph-invalid",
                                 "tensor '" + tensors_[out.v].name + "' has two producers",
                                 o.loc);
      defined[out.v] = true;
    }
  }
  return Status::success();
}

} // namespace tessera::workload
