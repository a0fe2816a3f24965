//===- Program.cpp - program files: program.json, program.bin, weights.bin ---===//
#include "compiler/Program.h"

#include "accel/Assembler.h"
#include "support/FileIO.h"
#include "support/Json.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace tessera::compiler {

namespace {
constexpr std::string_view kPolicyNames[] = {"fp32", "bf16", "mxfp8", "mxfp8-sparse"};
constexpr std::string_view kRoleNames[] = {"input",     "output",     "loss",
                                           "parameter", "state",      "gradient",
                                           "constant",  "activation", "temporary"};
constexpr int kFormatVersion = 1;
} // namespace

std::string_view policyName(Policy p) { return kPolicyNames[size_t(p)]; }
bool policyFromName(std::string_view name, Policy &out) {
  for (size_t i = 0; i < std::size(kPolicyNames); ++i)
    if (kPolicyNames[i] == name) {
      out = Policy(i);
      return true;
    }
  return false;
}

std::string_view dramRoleName(DramRole r) { return kRoleNames[size_t(r)]; }
bool dramRoleFromName(std::string_view name, DramRole &out) {
  for (size_t i = 0; i < std::size(kRoleNames); ++i)
    if (kRoleNames[i] == name) {
      out = DramRole(i);
      return true;
    }
  return false;
}

int64_t DramTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

const DramTensor *Program::find(const std::string &name) const {
  for (const DramTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

const DramTensor *Program::findFor(DramRole role, const std::string &param) const {
  for (const DramTensor &t : tensors)
    if (t.role == role && t.param == param)
      return &t;
  return nullptr;
}

void patchAdamWStep(Program &p, uint64_t step) {
  double t = double(step == 0 ? 1 : step);
  float c1 = float(1.0 / (1.0 - std::pow(p.adamw.beta1, t)));
  float c2 = float(1.0 / (1.0 - std::pow(p.adamw.beta2, t)));
  for (uint32_t i : p.stepPatchBeta1)
    p.code[i].imm = std::bit_cast<uint32_t>(c1);
  for (uint32_t i : p.stepPatchBeta2)
    p.code[i].imm = std::bit_cast<uint32_t>(c2);
}

//===----------------------------------------------------------------------===//
// Listing
//===----------------------------------------------------------------------===//

std::string programListing(const Program &p) {
  std::ostringstream os;
  os << "# program '" << p.model << "': policy " << policyName(p.policy)
     << (p.train ? ", training step" : ", forward") << ", " << p.code.size() << " instructions, "
     << p.dramBytes << " DRAM bytes\n";
  os << "# DRAM map\n";
  for (const DramTensor &t : p.tensors) {
    std::string shape = "[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      shape += (i ? "," : "") + std::to_string(t.shape[i]);
    shape += "]";
    char buf[64];
    std::snprintf(buf, sizeof buf, "0x%08x %10u", t.address, t.bytes);
    os << "#   " << buf << "  " << dramRoleName(t.role) << " " << t.name << " " << shape
       << (t.aliasOf.empty() ? "" : " (view of " + t.aliasOf + ")") << "\n";
  }
  if (!p.sparsity.empty()) {
    os << "# sparsity (N:M pruned weights on gemmsp; the others stay dense)\n";
    for (const SparseRecord &s : p.sparsity)
      os << "#   " << s.weight << " in op '" << s.op << "': "
         << (s.pruned ? s.pattern + " pruned, " + std::to_string(s.kept) + " of " +
                            std::to_string(s.total) + " kept"
                      : "dense (" + s.reason + ")")
         << "\n";
  }
  uint32_t cur = Program::kNoOp - 1;
  for (size_t i = 0; i < p.code.size(); ++i) {
    uint32_t op = i < p.opOf.size() ? p.opOf[i] : Program::kNoOp;
    if (op != cur) {
      cur = op;
      if (op == Program::kNoOp || op >= p.ops.size()) {
        os << "\n# program\n";
      } else {
        const OpRecord &r = p.ops[op];
        os << "\n# op " << op << " '" << r.name << "' (" << r.kind << ", " << r.phase << ")"
           << (r.loc.empty() ? "" : " at " + r.loc)
           << (r.fused.empty() ? "" : " [fused " + r.fused + "]") << "\n";
      }
    }
    char idx[32];
    std::snprintf(idx, sizeof idx, "%6zu: ", i);
    os << idx << accel::disassemble(p.code[i]) << "\n";
  }
  return os.str();
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

Status writeProgram(const Program &p, const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Diagnostic::error("io-error", "cannot create directory '" + dir + "': " + ec.message());
  nlohmann::ordered_json j;
  j["format"] = "tessera-program";
  j["version"] = kFormatVersion;
  j["model"] = p.model;
  j["policy"] = std::string(policyName(p.policy));
  j["train"] = p.train;
  j["adamw"] = {{"lr", p.adamw.lr},
                {"beta1", p.adamw.beta1},
                {"beta2", p.adamw.beta2},
                {"eps", p.adamw.eps},
                {"weight_decay", p.adamw.weightDecay}};
  j["arch_path"] = p.archPath;
  j["arch"] = p.archYaml;
  j["instructions"] = p.code.size();
  j["dram_bytes"] = p.dramBytes;
  j["image_bytes"] = p.image.size();
  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  for (const DramTensor &t : p.tensors) {
    nlohmann::ordered_json e;
    e["name"] = t.name;
    e["shape"] = t.shape;
    e["role"] = std::string(dramRoleName(t.role));
    e["address"] = t.address;
    e["bytes"] = t.bytes;
    if (!t.param.empty())
      e["param"] = t.param;
    if (!t.aliasOf.empty())
      e["alias_of"] = t.aliasOf;
    tensors.push_back(std::move(e));
  }
  j["tensors"] = std::move(tensors);
  nlohmann::ordered_json ops = nlohmann::ordered_json::array();
  for (const OpRecord &r : p.ops) {
    nlohmann::ordered_json o = {{"name", r.name}, {"kind", r.kind}, {"phase", r.phase}, {"loc", r.loc}};
    if (!r.fused.empty()) // the fused group this op ends (docs/compiler.md, "Fusion")
      o["fused"] = r.fused;
    ops.push_back(std::move(o));
  }
  j["ops"] = std::move(ops);
  // Run-length form of the per-instruction op index: [op, count] pairs (-1: no op).
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (size_t i = 0; i < p.opOf.size();) {
    size_t k = i;
    while (k < p.opOf.size() && p.opOf[k] == p.opOf[i])
      ++k;
    int64_t op = p.opOf[i] == Program::kNoOp ? -1 : int64_t(p.opOf[i]);
    runs.push_back({op, k - i});
    i = k;
  }
  j["op_of"] = std::move(runs);
  j["step_patch_beta1"] = p.stepPatchBeta1;
  j["step_patch_beta2"] = p.stepPatchBeta2;
  if (p.lossScale.mode != LossScaleMode::Off)
    j["loss_scale"] = {{"mode", lossScaleModeName(p.lossScale.mode)},
                       {"init", p.lossScale.init},
                       {"growth", p.lossScale.growth},
                       {"backoff", p.lossScale.backoff},
                       {"interval", p.lossScale.interval},
                       {"seed", p.lossScaleSeed}};
  if (!p.sparsity.empty()) {
    nlohmann::ordered_json sp = nlohmann::ordered_json::array();
    for (const SparseRecord &s : p.sparsity) {
      nlohmann::ordered_json e;
      e["op"] = s.op;
      e["weight"] = s.weight;
      e["pruned"] = s.pruned;
      if (s.pruned) {
        e["pattern"] = s.pattern;
        e["kept"] = s.kept;
        e["total"] = s.total;
      } else {
        e["reason"] = s.reason;
      }
      sp.push_back(std::move(e));
    }
    j["sparsity"] = std::move(sp);
  }

  TRY(writeTextFile(dir + "/program.json", writeJson(j)));
  TRY(writeTextFile(dir + "/program.bin", accel::encodeProgram(p.code)));
  TRY(writeTextFile(
      dir + "/weights.bin",
      std::string_view(reinterpret_cast<const char *>(p.image.data()), p.image.size())));
  TRY(writeTextFile(dir + "/listing.txt", programListing(p)));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

struct Reader {
  std::string file;
  Diagnostic bad(const std::string &what) const {
    return Diagnostic::error("bad-program", what, SourceLoc{file, 0, 0});
  }
  template <typename T>
  Expected<T> get(const nlohmann::json &j, const char *key, const std::string &where) const {
    if (!j.is_object() || !j.contains(key))
      return bad("missing key '" + std::string(key) + "'" + where);
    try {
      return j.at(key).get<T>();
    } catch (const std::exception &) {
      return bad("key '" + std::string(key) + "'" + where + " has the wrong type");
    }
  }
};

} // namespace

Expected<Program> readProgram(const std::string &dir) {
  Reader r{dir + "/program.json"};
  TRY_ASSIGN(nlohmann::json j, loadJsonFile(r.file));
  TRY_ASSIGN(std::string format, r.get<std::string>(j, "format", ""));
  if (format != "tessera-program")
    return r.bad("not a tessera program (format '" + format + "')");
  TRY_ASSIGN(int version, r.get<int>(j, "version", ""));
  if (version != kFormatVersion)
    return r.bad("unsupported program version " + std::to_string(version));
  Program p;
  TRY_ASSIGN(p.model, r.get<std::string>(j, "model", ""));
  TRY_ASSIGN(std::string policy, r.get<std::string>(j, "policy", ""));
  if (!policyFromName(policy, p.policy))
    return r.bad("unknown policy '" + policy + "'");
  TRY_ASSIGN(p.train, r.get<bool>(j, "train", ""));
  if (!j.contains("adamw"))
    return r.bad("missing key 'adamw'");
  const nlohmann::json &a = j["adamw"];
  TRY_ASSIGN(p.adamw.lr, r.get<double>(a, "lr", " in 'adamw'"));
  TRY_ASSIGN(p.adamw.beta1, r.get<double>(a, "beta1", " in 'adamw'"));
  TRY_ASSIGN(p.adamw.beta2, r.get<double>(a, "beta2", " in 'adamw'"));
  TRY_ASSIGN(p.adamw.eps, r.get<double>(a, "eps", " in 'adamw'"));
  TRY_ASSIGN(p.adamw.weightDecay, r.get<double>(a, "weight_decay", " in 'adamw'"));
  TRY_ASSIGN(p.archPath, r.get<std::string>(j, "arch_path", ""));
  TRY_ASSIGN(p.archYaml, r.get<std::string>(j, "arch", ""));
  TRY_ASSIGN(uint64_t instructions, r.get<uint64_t>(j, "instructions", ""));
  TRY_ASSIGN(uint64_t dramBytes, r.get<uint64_t>(j, "dram_bytes", ""));
  TRY_ASSIGN(uint64_t imageBytes, r.get<uint64_t>(j, "image_bytes", ""));
  if (dramBytes > UINT32_MAX || imageBytes > dramBytes)
    return r.bad("image_bytes " + std::to_string(imageBytes) + " exceeds dram_bytes " +
                 std::to_string(dramBytes));
  p.dramBytes = uint32_t(dramBytes);

  if (!j.contains("tensors") || !j["tensors"].is_array())
    return r.bad("missing array 'tensors'");
  for (size_t i = 0; i < j["tensors"].size(); ++i) {
    const nlohmann::json &e = j["tensors"][i];
    std::string where = " in tensors[" + std::to_string(i) + "]";
    DramTensor t;
    TRY_ASSIGN(t.name, r.get<std::string>(e, "name", where));
    TRY_ASSIGN(t.shape, r.get<std::vector<int64_t>>(e, "shape", where));
    TRY_ASSIGN(std::string role, r.get<std::string>(e, "role", where));
    if (!dramRoleFromName(role, t.role))
      return r.bad("unknown role '" + role + "'" + where);
    TRY_ASSIGN(uint64_t addr, r.get<uint64_t>(e, "address", where));
    TRY_ASSIGN(uint64_t bytes, r.get<uint64_t>(e, "bytes", where));
    if (addr + bytes > dramBytes)
      return r.bad("tensor '" + t.name + "' [" + std::to_string(addr) + ", +" +
                   std::to_string(bytes) + ") lies outside the " + std::to_string(dramBytes) +
                   " DRAM bytes");
    t.address = uint32_t(addr);
    t.bytes = uint32_t(bytes);
    if (e.contains("param")) {
      TRY_ASSIGN(t.param, r.get<std::string>(e, "param", where));
    }
    if (e.contains("alias_of")) {
      TRY_ASSIGN(t.aliasOf, r.get<std::string>(e, "alias_of", where));
    }
    p.tensors.push_back(std::move(t));
  }
  if (!j.contains("ops") || !j["ops"].is_array())
    return r.bad("missing array 'ops'");
  for (size_t i = 0; i < j["ops"].size(); ++i) {
    const nlohmann::json &e = j["ops"][i];
    std::string where = " in ops[" + std::to_string(i) + "]";
    OpRecord o;
    TRY_ASSIGN(o.name, r.get<std::string>(e, "name", where));
    TRY_ASSIGN(o.kind, r.get<std::string>(e, "kind", where));
    TRY_ASSIGN(o.phase, r.get<std::string>(e, "phase", where));
    TRY_ASSIGN(o.loc, r.get<std::string>(e, "loc", where));
    if (e.contains("fused")) {
      TRY_ASSIGN(o.fused, r.get<std::string>(e, "fused", where));
    }
    p.ops.push_back(std::move(o));
  }
  using Runs = std::vector<std::pair<int64_t, uint64_t>>;
  TRY_ASSIGN(Runs runs, r.get<Runs>(j, "op_of", ""));
  for (auto [op, count] : runs) {
    if (op < -1 || op >= int64_t(p.ops.size()))
      return r.bad("op_of names op " + std::to_string(op) + " of " + std::to_string(p.ops.size()));
    if (p.opOf.size() + count > instructions)
      return r.bad("op_of covers more than the " + std::to_string(instructions) + " instructions");
    p.opOf.insert(p.opOf.end(), count, op < 0 ? Program::kNoOp : uint32_t(op));
  }
  if (p.opOf.size() != instructions)
    return r.bad("op_of covers " + std::to_string(p.opOf.size()) + " of " +
                 std::to_string(instructions) + " instructions");
  TRY_ASSIGN(p.stepPatchBeta1, r.get<std::vector<uint32_t>>(j, "step_patch_beta1", ""));
  TRY_ASSIGN(p.stepPatchBeta2, r.get<std::vector<uint32_t>>(j, "step_patch_beta2", ""));
  if (j.contains("loss_scale")) {
    const nlohmann::json &ls = j["loss_scale"];
    const std::string where = " in 'loss_scale'";
    TRY_ASSIGN(std::string mode, r.get<std::string>(ls, "mode", where));
    if (!lossScaleModeFromName(mode, p.lossScale.mode) || p.lossScale.mode == LossScaleMode::Auto)
      return r.bad("unknown loss-scale mode '" + mode + "'");
    TRY_ASSIGN(p.lossScale.init, r.get<double>(ls, "init", where));
    TRY_ASSIGN(p.lossScale.growth, r.get<double>(ls, "growth", where));
    TRY_ASSIGN(p.lossScale.backoff, r.get<double>(ls, "backoff", where));
    TRY_ASSIGN(p.lossScale.interval, r.get<uint32_t>(ls, "interval", where));
    TRY_ASSIGN(p.lossScaleSeed, r.get<std::string>(ls, "seed", where));
    if (!(p.lossScale.init > 0) || !(p.lossScale.growth > 0) || !(p.lossScale.backoff > 0))
      return r.bad("loss_scale init / growth / backoff must be positive");
  }
  if (j.contains("sparsity")) {
    if (!j["sparsity"].is_array())
      return r.bad("key 'sparsity' is not an array");
    for (size_t i = 0; i < j["sparsity"].size(); ++i) {
      const nlohmann::json &e = j["sparsity"][i];
      std::string where = " in sparsity[" + std::to_string(i) + "]";
      SparseRecord s;
      TRY_ASSIGN(s.op, r.get<std::string>(e, "op", where));
      TRY_ASSIGN(s.weight, r.get<std::string>(e, "weight", where));
      TRY_ASSIGN(s.pruned, r.get<bool>(e, "pruned", where));
      if (s.pruned) {
        TRY_ASSIGN(s.pattern, r.get<std::string>(e, "pattern", where));
        TRY_ASSIGN(s.kept, r.get<uint64_t>(e, "kept", where));
        TRY_ASSIGN(s.total, r.get<uint64_t>(e, "total", where));
      } else {
        TRY_ASSIGN(s.reason, r.get<std::string>(e, "reason", where));
      }
      p.sparsity.push_back(std::move(s));
    }
  }

  TRY_ASSIGN(std::string bin, readTextFile(dir + "/program.bin"));
  TRY_ASSIGN(p.code, accel::decodeProgram(bin, dir + "/program.bin"));
  if (p.code.size() != instructions)
    return Diagnostic::error("bad-program",
                             "program.bin holds " + std::to_string(p.code.size()) +
                                 " instructions, program.json says " + std::to_string(instructions),
                             SourceLoc{dir + "/program.bin", 0, 0});
  for (const auto *patches : {&p.stepPatchBeta1, &p.stepPatchBeta2})
    for (uint32_t i : *patches)
      if (i >= p.code.size() || p.code[i].op != accel::Opcode::Fli)
        return r.bad("step patch " + std::to_string(i) + " is not an fli instruction");
  TRY_ASSIGN(std::string weights, readTextFile(dir + "/weights.bin"));
  if (weights.size() != imageBytes)
    return Diagnostic::error("bad-program",
                             "weights.bin holds " + std::to_string(weights.size()) +
                                 " bytes, program.json says " + std::to_string(imageBytes),
                             SourceLoc{dir + "/weights.bin", 0, 0});
  p.image.assign(weights.begin(), weights.end());
  return p;
}

} // namespace tessera::compiler
