//===- ArchSpec.h - typed arch spec of a training accelerator ---------------===//
//
// One arch spec file drives estimate, explore, generate, compile and run (DESIGN.md), so
// its schema lives here, once: a plain value type (ArchSpec) mirroring the YAML key for
// key, a strict loader and a deterministic writer. docs/arch-spec.md is the reference.
//
// The loader reads through support's YamlMap, so every problem is a located diagnostic:
// unknown keys (`unknown-key`, with "did you mean"), values of the wrong type or out of
// range (`bad-value`), absent required keys (`missing-key`) and settings that contradict
// each other (`bad-spec`, at the offending key: sparsity without a sparse format, a
// non-FP32 accumulator, a format listed twice, a scratchpad smaller than one tile of the
// array...). A spec that loads is valid; nothing downstream re-checks it.
//
// writeArchSpecYaml writes every field explicitly in schema order; loading its output
// gives a spec equal (operator==) to the one written.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Expected.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::arch {

//===----------------------------------------------------------------------===//
// Vocabulary
//===----------------------------------------------------------------------===//

/// Process node of the design.
enum class TechNode : uint8_t { N7, N5 };
std::string_view techNodeName(TechNode n); ///< "7nm", "5nm"

/// A number format a tensor or vector unit computes in (arch/Formats.def).
enum class Format : uint8_t {
#define FORMAT(Enum, ...) Enum,
#include "arch/Formats.def"
};

/// Static properties of a Format (see Formats.def for the meaning of each field).
struct FormatInfo {
  std::string_view name;
  int elementBits;
  double storageBits;  ///< per element, including amortized MX scales
  int significandBits; ///< incl. implicit bit; two's-complement width for integers
  int exponentBits;
  bool isMx;
  bool isInteger;
};
const FormatInfo &formatInfo(Format f);
std::string_view formatName(Format f);
/// Lookup by spec name ("fp8_e4m3"); false if unknown.
bool formatFromName(std::string_view name, Format &out);
/// All formats in Formats.def order.
const std::vector<Format> &allFormats();
/// Formats a tensor unit may list (all but fp32).
bool isTensorFormat(Format f);
/// Formats a vector unit may list (fp32, bf16, fp16, fp8_e4m3, fp8_e5m2, int8).
bool isVectorFormat(Format f);

/// N:M structured sparsity: at most `n` non-zeros in every group of `m` along K.
struct SparsityPattern {
  int n = 2;
  int m = 4;
  std::string str() const; ///< "2:4"
  bool operator==(const SparsityPattern &) const = default;
};

/// How the backward pass gets sparse operands (W^T of a row-wise N:M matrix is not N:M).
enum class SparseBackward : uint8_t { None, SeparateMasks, Transposable };
std::string_view sparseBackwardName(SparseBackward b);

enum class Rounding : uint8_t { Rne, Stochastic };
std::string_view roundingName(Rounding r);

/// How a tile is sequenced: a statically scheduled accelerator tile, or a GPU SM
/// (warp schedulers, operand collectors); decides the tile control area and whether
/// accumulators live in the PEs or in the register file.
enum class ControlStyle : uint8_t { Dataflow, Simt };
std::string_view controlStyleName(ControlStyle c);

/// Non-tensor functional units a tile may carry besides its vector unit (GPU-like specs:
/// FP64 units, INT32 ALUs, SFUs), so the area model can account for them.
enum class ExtraUnitKind : uint8_t { Fp32Fma, Fp64Fma, Int32Alu, Sfu, Custom };
std::string_view extraUnitKindName(ExtraUnitKind k);

//===----------------------------------------------------------------------===//
// The spec
//===----------------------------------------------------------------------===//

struct TechnologySpec {
  TechNode node = TechNode::N7;
  double clockGhz = 0; ///< required
  bool operator==(const TechnologySpec &) const = default;
};

/// Spec-level overrides of the area / energy model's constants; unset = the model's
/// default for the node. One field per row of arch/TechnologyParams.def.
struct TechnologyOverrides {
#define TECH_PARAM(Field, ...) std::optional<double> Field;
#include "arch/TechnologyParams.def"
  bool any() const;
  bool operator==(const TechnologyOverrides &) const = default;
};

/// One format a tensor unit computes in.
struct TensorFormat {
  Format format = Format::BF16;
  /// Dot products per PE per cycle relative to dot_width: 1 = dot_width MACs per PE per
  /// cycle, 2 = twice that (narrow formats on split multipliers), 0.5 = half (TF32).
  double rate = 1;
  /// Whether this format can use the unit's N:M sparsity patterns.
  bool sparse = false;
  bool operator==(const TensorFormat &) const = default;
};

/// A rows x cols array of PEs, each computing a dot product of dot_width pairs per cycle
/// (at rate 1) and accumulating in FP32.
struct TensorUnit {
  int64_t rows = 0;                              ///< required
  int64_t cols = 0;                              ///< required
  int64_t dotWidth = 0;                          ///< required
  std::vector<TensorFormat> formats;             ///< required, non-empty, no duplicates
  Format accumulate = Format::FP32;              ///< must be FP32 (training)
  std::vector<SparsityPattern> sparsityPatterns; ///< empty = dense only
  SparseBackward sparseBackward = SparseBackward::None;
  bool zeroSkipActivations = false;
  bool zeroSkipGradients = false;

  int64_t pes() const { return rows * cols; }
  /// The entry for `f`, or nullptr.
  const TensorFormat *find(Format f) const;
  bool operator==(const TensorUnit &) const = default;
};

/// SIMD lanes for elementwise work, norms, softmax and the optimizer.
struct VectorUnit {
  int64_t lanes = 0;           ///< required: 32-bit lanes, one FMA per lane per cycle
  std::vector<Format> formats; ///< required, must include fp32
  bool operator==(const VectorUnit &) const = default;
};

/// Hardware scaling and casting of results to narrow formats (amax, scale, round, pack),
/// one lane per array column.
struct ScaleCast {
  bool onStorePath = true;        ///< fused into the accumulator -> SRAM store path
  std::vector<Rounding> rounding; ///< required, non-empty
  bool operator==(const ScaleCast &) const = default;
};

struct ExtraUnit {
  std::string name;                           ///< required, unique in the tile
  ExtraUnitKind kind = ExtraUnitKind::Custom; ///< required
  int64_t count = 0;                          ///< required: units per tile
  /// Area of one unit at the spec's node; required for `custom`, overrides the model's
  /// figure otherwise.
  std::optional<double> areaUm2;
  bool operator==(const ExtraUnit &) const = default;
};

struct TileSpec {
  ControlStyle control = ControlStyle::Dataflow;
  TensorUnit tensor;
  VectorUnit vector;
  std::optional<ScaleCast> scaleCast; ///< absent = no scale-cast hardware
  int64_t sramKib = 0;                ///< required: scratchpad (and register file) per tile
  int64_t accumulatorKib = 0;         ///< required: FP32 accumulator storage per tile
  std::vector<ExtraUnit> extraUnits;
  bool operator==(const TileSpec &) const = default;
};

struct NocSpec {
  double bandwidthGBps = 0; ///< required: per tile, to/from the global buffer
  bool operator==(const NocSpec &) const = default;
};

struct HbmSpec {
  int64_t stacks = 0;               ///< required, > 0
  double bandwidthGBpsPerStack = 0; ///< required
  double capacityGiBPerStack = 0;   ///< required
  bool operator==(const HbmSpec &) const = default;
};

/// Chip-to-chip links (NVLink-like), used inside a node.
struct LinkSpec {
  int64_t count = 0;               ///< required (0 = single-chip design)
  double bandwidthGBpsPerLink = 0; ///< required: per link, per direction
  bool operator==(const LinkSpec &) const = default;
};

struct NodeSpec {
  int64_t devicesPerNode = 8;
  double networkGBpsPerDevice = 25; ///< inter-node, per device per direction (200 Gb/s)
  bool operator==(const NodeSpec &) const = default;
};

/// A training accelerator (or a GPU described in the same terms). Units: GHz, KiB, MiB,
/// GiB, GB/s = 1e9 bytes per second.
struct ArchSpec {
  std::string name; ///< required, non-empty
  TechnologySpec technology;
  TechnologyOverrides overrides;
  int64_t tiles = 0;      ///< required: tiles that compute
  int64_t spareTiles = 0; ///< fabricated for yield but disabled: area, no performance
  TileSpec tile;
  double globalBufferMib = 0; ///< required
  NocSpec noc;
  HbmSpec hbm;
  LinkSpec links;
  NodeSpec nodes;

  bool operator==(const ArchSpec &) const = default;

  /// Tiles on the die: tiles + spareTiles.
  int64_t fabricatedTiles() const { return tiles + spareTiles; }
  /// Dense MACs per second of all enabled tiles in format `f` (0 if unsupported).
  double peakMacsPerSecond(Format f) const;
  /// Dense FLOP/s (2 per MAC) in format `f`.
  double peakFlops(Format f) const { return 2 * peakMacsPerSecond(f); }
  double hbmBandwidthGBps() const { return double(hbm.stacks) * hbm.bandwidthGBpsPerStack; }
  double hbmCapacityGiB() const { return double(hbm.stacks) * hbm.capacityGiBPerStack; }
};

//===----------------------------------------------------------------------===//
// Loading and writing
//===----------------------------------------------------------------------===//

/// Parse and validate a spec from YAML text; `fileName` is used in diagnostics. Returns
/// the first error; when `allDiags` is given, every error found is also reported there.
Expected<ArchSpec> parseArchSpec(std::string_view text, const std::string &fileName,
                                 DiagnosticEngine *allDiags = nullptr);
/// Read and parse a spec file (`io-error` when it cannot be read).
Expected<ArchSpec> loadArchSpec(const std::string &path, DiagnosticEngine *allDiags = nullptr);

/// Write a spec as YAML, every field explicit, in schema order; deterministic.
/// parseArchSpec(writeArchSpecYaml(s)) == s for every valid spec.
std::string writeArchSpecYaml(const ArchSpec &spec);

} // namespace tessera::arch
