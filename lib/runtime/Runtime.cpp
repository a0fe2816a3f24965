//===- Runtime.cpp - program execution on the golden / cycle models ----------===//
#include "runtime/Runtime.h"

#include "accel/Golden.h"
#include "arch/ArchSpec.h"

#include <cstring>

namespace tessera::runtime {

using compiler::DramRole;
using compiler::DramTensor;

namespace {
constexpr std::string_view kBackendNames[] = {"golden", "cycle", "rtl"};
}

std::string_view backendName(Backend b) { return kBackendNames[size_t(b)]; }
bool backendFromName(std::string_view name, Backend &out) {
  for (size_t i = 0; i < std::size(kBackendNames); ++i)
    if (kBackendNames[i] == name) {
      out = Backend(i);
      return true;
    }
  return false;
}

Expected<Runtime> Runtime::create(compiler::Program program) {
  Runtime rt;
  TRY_ASSIGN(arch::ArchSpec spec,
             arch::parseArchSpec(program.archYaml, program.archPath.empty()
                                                       ? std::string("<program arch>")
                                                       : program.archPath));
  rt.cfg_ = accel::TileConfig::fromArchSpec(spec);
  if (program.image.size() > program.dramBytes)
    return Diagnostic::error("bad-program", "the DRAM image is larger than the program's DRAM");
  DiagnosticEngine diags;
  if (!accel::verifyProgram(program.code, &rt.cfg_, diags, {}, program.model))
    return diags.diagnostics().front();
  rt.dram_.assign(program.dramBytes, 0);
  std::memcpy(rt.dram_.data(), program.image.data(), program.image.size());
  rt.prog_ = std::move(program);
  if (rt.lossScaling()) {
    const compiler::Program &p = rt.prog_;
    const DramTensor *seed = p.find(p.lossScaleSeed);
    const DramTensor *inv = p.find(std::string(compiler::kLossScaleInverse));
    const DramTensor *status = p.find(std::string(compiler::kLossScaleStatus));
    if (!p.train || !seed || !inv || !status || seed->bytes != 4 || inv->bytes != 4 ||
        status->bytes != 8 || status->address + 8 > p.image.size())
      return Diagnostic::error("bad-program", "program '" + p.model +
                                                  "' scales the loss but lacks its seed '" +
                                                  p.lossScaleSeed + "', " +
                                                  std::string(compiler::kLossScaleInverse) +
                                                  " or " + std::string(compiler::kLossScaleStatus));
    rt.ls_.scale = p.lossScale.init;
  }
  return rt;
}

static Expected<const DramTensor *> lookup(const compiler::Program &p, const std::string &name) {
  const DramTensor *t = p.find(name);
  if (!t) {
    std::vector<std::string> names;
    for (const DramTensor &d : p.tensors)
      names.push_back(d.name);
    Diagnostic d = Diagnostic::error("unknown-tensor",
                                     "program '" + p.model + "' has no tensor '" + name + "'");
    std::string near = closestMatch(name, names);
    if (!near.empty())
      d.withNote(Diagnostic::note("did you mean '" + near + "'?"));
    return d;
  }
  return t;
}

Status Runtime::write(const std::string &name, std::span<const float> values) {
  TRY_ASSIGN(const DramTensor *t, lookup(prog_, name));
  if (int64_t(values.size()) != t->elements())
    return Diagnostic::error("bad-shape", "tensor '" + name + "' has " +
                                              std::to_string(t->elements()) + " elements, got " +
                                              std::to_string(values.size()));
  std::memcpy(dram_.data() + t->address, values.data(), values.size() * 4);
  return Status::success();
}

Expected<std::vector<float>> Runtime::read(const std::string &name) const {
  TRY_ASSIGN(const DramTensor *t, lookup(prog_, name));
  if (t->role == DramRole::Temporary)
    return Diagnostic::error("unknown-tensor", "'" + name + "' is a compiler temporary");
  std::vector<float> v(size_t(t->elements()));
  std::memcpy(v.data(), dram_.data() + t->address, v.size() * 4);
  return v;
}

Expected<std::vector<float>> Runtime::gradient(const std::string &param) const {
  const DramTensor *g = prog_.findFor(DramRole::Gradient, param);
  if (!g)
    return Diagnostic::error("unknown-tensor",
                             "program '" + prog_.model + "' has no gradient of '" + param + "'");
  return read(g->name);
}

std::vector<std::string> Runtime::tensorsOf(DramRole role) const {
  std::vector<std::string> out;
  for (const DramTensor &t : prog_.tensors)
    if (t.role == role && t.aliasOf.empty())
      out.push_back(t.name);
  return out;
}

Expected<RunResult> Runtime::run(Backend backend) {
  if (backend == Backend::Rtl && (cfg_.rows * cfg_.cols > 64 || cfg_.spadBytes > 65536))
    return Diagnostic::error(
        "unsupported-backend",
        "the rtl backend simulates small tiles (at most 64 PEs and 64 KiB of SPAD, e.g. "
        "examples/arch/small-test.yaml); this program's tile has " +
            std::to_string(cfg_.rows) + "x" + std::to_string(cfg_.cols) + " PEs and " +
            std::to_string(cfg_.spadBytes / 1024) + " KiB of SPAD: use --backend golden or cycle");
  RunResult r;
  r.backend = backend;
  if (prog_.train) {
    r.step = steps_ + 1;
    compiler::patchAdamWStep(prog_, r.step);
  }
  if (lossScaling()) { // S into the loss gradient's seed, 1/S for the unscale
    const float s = float(ls_.scale), inv = float(1.0 / ls_.scale);
    r.lossScale = ls_.scale;
    std::memcpy(dram_.data() + prog_.find(prog_.lossScaleSeed)->address, &s, 4);
    std::memcpy(dram_.data() + prog_.find(std::string(compiler::kLossScaleInverse))->address,
                &inv, 4);
  }
  std::vector<uint8_t> dram = dram_; // a fault leaves the device state as it was
  std::vector<OpTime> per(prog_.ops.size());
  auto attribute = [&](uint32_t index, uint64_t start, uint64_t end) {
    uint32_t op = index < prog_.opOf.size() ? prog_.opOf[index] : compiler::Program::kNoOp;
    if (op >= per.size())
      return;
    per[op].cycles += end - start;
    per[op].instructions += 1;
  };
  if (backend == Backend::Rtl) {
    if (!tile_) {
      TRY_ASSIGN(tile_, TileSim::create(cfg_, accel::rtl::GenParams::forConfig(cfg_)));
    }
    TRY_ASSIGN(TileRun t, tile_->run(prog_.code, dram, UINT64_MAX / 2));
    if (t.fault)
      return Diagnostic::error("rtl-fault", "the tile RTL stopped with fault " +
                                                std::to_string(t.faultCode) + " at pc " +
                                                std::to_string(t.faultPc) + ", address " +
                                                std::to_string(t.faultAddr));
    r.cycles = t.cycles;
    for (const RtlTraceEntry &e : t.trace)
      attribute(e.index, e.start, e.end);
    r.instructions = t.trace.size();
  } else {
    accel::GoldenOptions go;
    go.trace = backend == Backend::Cycle;
    go.maxCycles = UINT64_MAX / 2;
    go.verify = false; // verified once by create(); step patches only change fli immediates
    TRY_ASSIGN(accel::GoldenResult g, accel::runGolden(cfg_, prog_.code, dram, go));
    r.cycles = g.cycles;
    r.instructions = g.instructions;
    for (const accel::TraceEntry &e : g.trace)
      attribute(e.index, e.start, e.end);
  }
  if (lossScaling()) {
    // FLAGS.OVF: an Inf / NaN reached a store. Skip the step: the persistent region
    // (parameters, optimizer state, constants) goes back to its contents before the
    // step; the loss, gradients and the status word stay readable.
    const uint32_t status = prog_.find(std::string(compiler::kLossScaleStatus))->address;
    uint32_t flags = 0;
    std::memcpy(&flags, dram.data() + status + 4, 4);
    r.skipped = (flags & compiler::kFlagOverflow) != 0;
    if (r.skipped) {
      uint8_t word[8];
      std::memcpy(word, dram.data() + status, 8);
      std::memcpy(dram.data(), dram_.data(), prog_.image.size());
      std::memcpy(dram.data() + status, word, 8);
    }
    compiler::updateLossScale(prog_.lossScale, prog_.lossScale.mode, ls_, r.skipped);
  }
  dram_ = std::move(dram);
  if (prog_.train && !r.skipped)
    steps_ = r.step;
  if (backend != Backend::Golden) {
    for (uint32_t i = 0; i < per.size(); ++i) {
      if (!per[i].instructions)
        continue;
      per[i].op = i;
      per[i].name = prog_.ops[i].name;
      per[i].kind = prog_.ops[i].kind;
      r.ops.push_back(per[i]);
    }
  }
  return r;
}

} // namespace tessera::runtime
