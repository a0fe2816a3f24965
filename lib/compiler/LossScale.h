//===- LossScale.h - dynamic loss scaling of training programs ---------------===//
//
// docs/isa.md section 5.5 "Loss scaling", docs/compiler.md "Loss scaling". A training
// program with loss scaling on:
//   - multiplies the loss gradient by the loss scale S: S is the value of the loss's
//     `.grad-seed` constant (d loss / d loss, 1 without scaling), a DRAM word the
//     runtime writes before each step; LossGrad applies it before the 2/N factor, so the
//     whole backward pass runs on gradients scaled by S;
//   - unscales every parameter gradient before its AdamW update: the gradient is loaded
//     into ACC, multiplied (vmul, broadcast) by the DRAM word `loss-scale.inverse` = 1/S
//     and stored back, so the Gradient tensors a step leaves in DRAM are unscaled;
//   - starts with `clrstat` and ends with `ststat` into `loss-scale.status` (AMAX, FLAGS).
// The runtime reads FLAGS after the step: on OVF (an Inf / NaN reached a store) it
// restores the persistent region (parameters, optimizer state) to its contents before
// the step, does not advance the AdamW step count and multiplies S by `backoff`; after
// `interval` clean steps in a row it multiplies S by `growth` (torch.cuda.amp.GradScaler
// defaults: 2^16, 2, 0.5, 2000).
//
// With S a power of two, every scaled value is the unscaled one times S exactly unless
// it overflows or leaves the normal range (multiplication by 2^k commutes with every
// rounding the backward pass does: FP32 / BF16 RNE, MX block scales, stochastic
// rounding), so gradients and updated weights are bit-identical to the unscaled program
// barring overflow (skipped) or underflow (kept by scaling: the point of it).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::compiler {

class Emitter;

enum class LossScaleMode : uint8_t {
  Auto,    ///< Dynamic for bf16 / mxfp8 / mxfp8-sparse training programs, else Off
  Off,     ///< no scaling (S = 1, no unscale, no status)
  Dynamic, ///< S starts at `init`, backs off on overflow, grows after `interval` clean steps
  Fixed,   ///< S = `init` always; overflowing steps are still skipped
};
std::string_view lossScaleModeName(LossScaleMode m); ///< "auto", "off", "dynamic", "fixed"
bool lossScaleModeFromName(std::string_view name, LossScaleMode &out);

struct LossScaleOptions {
  LossScaleMode mode = LossScaleMode::Auto;
  double init = 65536.0; ///< initial (Dynamic) or constant (Fixed) scale
  double growth = 2.0, backoff = 0.5;
  uint32_t interval = 2000; ///< clean steps before growth
};

/// Parses the `--loss-scale` value: "dynamic", "off", "auto" or a positive finite number N
/// (Fixed, S = N). Returns false on anything else.
bool parseLossScale(std::string_view text, LossScaleOptions &out);

/// The mode a program gets: Auto resolved by policy name ("fp32" -> Off, else Dynamic);
/// Off for forward programs.
LossScaleMode resolveLossScale(const LossScaleOptions &o, std::string_view policy, bool train);

/// Names of the loss-scale DRAM words in a program's map.
inline constexpr std::string_view kLossScaleInverse = "loss-scale.inverse";
inline constexpr std::string_view kLossScaleStatus = "loss-scale.status";

/// FLAGS bit 0 (docs/isa.md section 1).
inline constexpr uint32_t kFlagOverflow = 1;

/// clrstat (at the start of a training program).
void emitClearStatus(Emitter &em);
/// ststat into DRAM byte `status` (at the end; uses r7 when the address needs a register).
void emitStoreStatus(Emitter &em, uint32_t status);
/// grad[0, count) *= DRAM word `inverse`, in place, in chunks of at most `accWords - 1`.
void emitUnscale(Emitter &em, uint32_t grad, uint64_t count, uint32_t inverse, uint32_t accWords);

/// The host side of dynamic scaling.
struct LossScaleState {
  double scale = 1.0;
  uint64_t cleanSteps = 0;   ///< clean steps since the last change of S
  uint64_t skippedSteps = 0; ///< steps skipped on overflow, in all
};
/// Updates `s` after a step that did (or did not) overflow.
void updateLossScale(const LossScaleOptions &o, LossScaleMode mode, LossScaleState &s,
                     bool overflow);

} // namespace tessera::compiler
