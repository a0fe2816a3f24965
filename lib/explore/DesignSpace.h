//===- DesignSpace.h - the parameters `tessera explore` searches over ----------===//
//
// A design space is a set of named parameters over an ArchSpec, each with a finite list of
// values (ranges are written out as lists, so a point is a vector of value indices and the
// space is a mixed-radix grid that can be enumerated, sampled and mutated). A point is
// turned into a spec by applying every parameter to a base spec (by default the built-in
// copy of examples/arch/tessera-train-7nm.yaml) and validating the result with the arch
// loader itself (write, then parse): a combination the schema rejects (an MX format whose
// products per cycle do not fit its 32-element scale block, a scratchpad smaller than an
// array tile...) or that the accelerator model cannot run is *discarded*, not an error.
//
// Each design also gets a precision policy: the most aggressive one its formats support,
// bounded by what the user accepts for training (PolicyLimits): MXFP8 with 2:4 weights if
// it has MXFP8 and 2:4, FP8 (E4M3 forward / E5M2 backward) if it has both FP8 formats,
// BF16 otherwise. docs/explore.md lists the default values and why.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "arch/ArchSpec.h"
#include "perf/AccelModel.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::explore {

/// The searchable parameters, in the order points store them.
enum class Param : uint8_t {
  Tiles,           ///< enabled tiles (spare tiles follow the base spec's ratio)
  Rows,            ///< PE rows of the tensor array
  Cols,            ///< PE columns
  DotWidth,        ///< products per PE per cycle at rate 1
  Formats,         ///< FormatSet
  Sparsity,        ///< SparsityMode
  ZeroSkip,        ///< 0 off, 1 activations and gradients
  ScaleCast,       ///< 0 none (casts on the vector unit), 1 fused on the store path
  SramKib,         ///< scratchpad per tile
  GlobalBufferMib, ///< global buffer
  HbmStacks,       ///< HBM stacks (bounded by the HBM bandwidth budget)
  ClockGhz,        ///< tensor clock
  VectorLanes,     ///< FP32 lanes per tile
  NocGbps,         ///< tile <-> global buffer bandwidth per tile
};
constexpr size_t kNumParams = 14;

/// Tensor-unit format sets, from least to most capable.
enum class FormatSet : uint8_t {
  Bf16,  ///< bf16 at rate 1
  Fp8,   ///< + fp8_e4m3, fp8_e5m2 at rate 2
  Mxfp8, ///< + mxfp8 at rate 2
  MxLow, ///< + mxfp6 at rate 2, mxfp4 at rate 4
};
/// N:M weight sparsity support.
enum class SparsityMode : uint8_t {
  Dense,         ///< no sparsity hardware
  Forward,       ///< 2:4 on weights in the forward GEMMs only (backward: none)
  SeparateMasks, ///< 2:4 forward and, with a second mask for W^T, in backward-data
  Transposable,  ///< 2:4 masks that are 2:4 both ways
};

/// A point: one value index per parameter.
using DesignPoint = std::array<uint16_t, kNumParams>;

/// One parameter's definition.
struct ParamDef {
  Param id;
  std::string key;         ///< JSON / report key, e.g. "sram_kib"
  std::string description; ///< one line
  std::vector<double> values;
  /// Display names of enumerated values (formats, sparsity, on/off); empty for numbers.
  std::vector<std::string> labels;
  size_t size() const { return values.size(); }
  /// The value as text: its label, or the number.
  std::string valueText(size_t index) const;
};

/// Training precisions, from widest to narrowest (names as perf::PrecisionPolicy's).
enum class Precision : uint8_t { Bf16, Fp8, Mxfp8, Mxfp6, Mxfp4 };
std::string_view precisionName(Precision p);
/// Parses "bf16", "fp8", "mxfp8", "mxfp6", "mxfp4". Errors: `bad-value`.
Expected<Precision> parsePrecision(const std::string &s);

/// What the user accepts in a training recipe: the narrowest tensor format allowed and
/// whether weights may be 2:4 sparse. Bounds the policy each design gets.
struct PolicyLimits {
  Precision narrowest = Precision::Mxfp8;
  bool allowSparsity = true;
  double activationDensity = 1.0; ///< non-zero fraction zero skipping may exploit, forward
  double gradientDensity = 1.0;   ///< same for gradients
};

std::string_view formatSetName(FormatSet f);
std::string_view sparsityModeName(SparsityMode m);

/// The precision policy of `spec` under `limits`: the most aggressive one the spec's
/// tensor formats support, with 2:4 weights when the spec has 2:4 on that format and
/// zero-skipping densities when it skips zeros.
perf::PrecisionPolicy choosePolicy(const arch::ArchSpec &spec, const PolicyLimits &limits);

/// The built-in base spec (a copy of examples/arch/tessera-train-7nm.yaml; a unit test
/// keeps the two equal).
const arch::ArchSpec &defaultTemplate();
const char *defaultTemplateYaml();

/// What the baseline fixes for every candidate of the standard space.
struct SpaceBounds {
  double hbmBudgetGBps = 2039; ///< HBM stacks are limited to those within it
  double stackGBps = 407.8;    ///< bandwidth of one HBM stack (the baseline's)
  double maxClockGhz = 1.41;   ///< the clock values go up to this (the baseline's boost)
  double linkBudgetGBps = 200; ///< chip-to-chip links per direction (the baseline's NVLink)
};

class DesignSpace {
public:
  /// The default space around `base` (docs/explore.md): clocks 0.6-1.0x `maxClockGhz`,
  /// HBM stacks within the HBM budget, and the base spec's links cut to the link budget.
  static DesignSpace standard(const arch::ArchSpec &base, const SpaceBounds &bounds,
                              PolicyLimits limits = {});

  DesignSpace(arch::ArchSpec base, std::vector<ParamDef> params, double stackGBps,
              PolicyLimits limits);

  const arch::ArchSpec &base() const { return base_; }
  const std::vector<ParamDef> &params() const { return params_; }
  const ParamDef &param(Param p) const { return params_[size_t(p)]; }
  const PolicyLimits &limits() const { return limits_; }
  double stackGBps() const { return stackGBps_; }

  /// Replace the values of one parameter (tests, tiny grids). Numeric parameters only
  /// take values, enumerated ones indices of their enum.
  void setValues(Param p, std::vector<double> values);

  /// Number of grid points (product of the value counts), saturating at UINT64_MAX.
  uint64_t gridSize() const;
  /// The `index`-th point in mixed-radix order (last parameter fastest).
  DesignPoint pointAt(uint64_t index) const;
  /// The point whose values are nearest the base spec's.
  DesignPoint nearestToBase() const;
  /// The point with every parameter at its first (smallest) value.
  DesignPoint smallestPoint() const;

  double value(const DesignPoint &p, Param id) const { return param(id).values[p[size_t(id)]]; }

  /// The spec for `p`, validated by the arch loader; a point the schema or the
  /// accelerator model rejects is an error whose message says why (callers discard it).
  Expected<arch::ArchSpec> materialize(const DesignPoint &p) const;
  /// Same without the loader round trip (for specs built from already valid points).
  arch::ArchSpec build(const DesignPoint &p) const;
  /// Short human label, e.g. "128t 16x16x8 mxfp8 2:4-fwd zs sc 512K 56M 5hbm 1.41GHz 64v 96G"
  /// (tiles, array, formats, sparsity, zero skipping, scale-cast, SRAM, global buffer,
  /// HBM stacks, clock, vector lanes, NoC GB/s per tile).
  std::string label(const DesignPoint &p) const;

private:
  arch::ArchSpec base_;
  std::vector<ParamDef> params_;
  double stackGBps_;
  PolicyLimits limits_;
};

/// Applies a format set / sparsity mode to a tensor unit (used by the space and the
/// ablation).
void applyFormats(arch::TensorUnit &t, FormatSet f, bool sparse);
void applySparsity(arch::TensorUnit &t, SparsityMode m);
/// The format set / sparsity mode a tensor unit has (the closest of the enum).
FormatSet formatSetOf(const arch::TensorUnit &t);
SparsityMode sparsityModeOf(const arch::TensorUnit &t);

} // namespace tessera::explore
