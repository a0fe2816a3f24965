//===- LossScale.cpp - dynamic loss scaling of training programs -------------===//
#include "compiler/LossScale.h"

#include "compiler/Emitter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tessera::compiler {

using accel::Instruction;
using accel::Opcode;

namespace {
constexpr std::string_view kModeNames[] = {"auto", "off", "dynamic", "fixed"};
}

std::string_view lossScaleModeName(LossScaleMode m) { return kModeNames[size_t(m)]; }

bool lossScaleModeFromName(std::string_view name, LossScaleMode &out) {
  for (size_t i = 0; i < std::size(kModeNames); ++i)
    if (kModeNames[i] == name) {
      out = LossScaleMode(i);
      return true;
    }
  return false;
}

bool parseLossScale(std::string_view text, LossScaleOptions &out) {
  LossScaleMode m;
  if (text != "fixed" && lossScaleModeFromName(text, m)) {
    out.mode = m;
    return true;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v <= 0 ||
      !std::isfinite(1.0 / v) || !std::isfinite(float(v)) || float(v) == 0.0f)
    return false;
  out.mode = LossScaleMode::Fixed;
  out.init = v;
  return true;
}

LossScaleMode resolveLossScale(const LossScaleOptions &o, std::string_view policy, bool train) {
  if (!train)
    return LossScaleMode::Off;
  if (o.mode != LossScaleMode::Auto)
    return o.mode;
  return policy == "fp32" ? LossScaleMode::Off : LossScaleMode::Dynamic;
}

void emitClearStatus(Emitter &em) {
  Instruction i;
  i.op = Opcode::ClrStat;
  em.frontEnd(i);
}

void emitStoreStatus(Emitter &em, uint32_t status) {
  Instruction i;
  i.op = Opcode::StStat;
  if (status <= 0xFFFF) {
    i.gimm = status;
  } else {
    Instruction li;
    li.op = Opcode::Li;
    li.rd = 7;
    li.imm = status;
    em.frontEnd(li);
    i.rg = 7;
  }
  em.frontEnd(i);
}

void emitUnscale(Emitter &em, uint32_t grad, uint64_t count, uint32_t inverse,
                 uint32_t accWords) {
  // ACC: [0, c) the gradient chunk, word c the inverse scale (broadcast over the chunk).
  const uint64_t c = std::min<uint64_t>({count, uint64_t(accWords) - 1, 65535});
  for (uint64_t off = 0; off < count; off += c) {
    const uint32_t n = uint32_t(std::min(c, count - off)), at = grad + uint32_t(off * 4);
    em.beginBlock();
    em.ldaccRun(0, at, n);
    em.ldaccRun(uint32_t(c), inverse, 1);
    em.vbin(Opcode::VMul, 0, 0, uint32_t(c), n, n);
    em.stRun(0, at, n);
    em.endBlock();
  }
}

void updateLossScale(const LossScaleOptions &o, LossScaleMode mode, LossScaleState &s,
                     bool overflow) {
  if (overflow) {
    ++s.skippedSteps;
    s.cleanSteps = 0;
    if (mode == LossScaleMode::Dynamic)
      s.scale = std::max(s.scale * o.backoff, 0x1p-126); // stays a normal FP32
    return;
  }
  ++s.cleanSteps;
  if (mode == LossScaleMode::Dynamic && o.interval > 0 && s.cleanSteps >= o.interval) {
    s.scale = std::min(s.scale * o.growth, 0x1p127);
    s.cleanSteps = 0;
  }
}

} // namespace tessera::compiler
