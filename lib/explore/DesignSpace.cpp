//===- DesignSpace.cpp - the parameters `tessera explore` searches over --------===//
#include "explore/DesignSpace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tessera::explore {

using arch::ArchSpec;
using arch::Format;

namespace {

// A copy of examples/arch/tessera-train-7nm.yaml (DesignSpaceTest keeps them equal), so
// the tool does not depend on where the examples are installed.
constexpr const char *kTemplateYaml = R"(name: tessera-train-7nm
technology:
  node: 7nm
  clock_ghz: 1.4
tiles: 128
spare_tiles: 8
tile:
  control: dataflow
  tensor_unit:
    rows: 16
    cols: 16
    dot_width: 8
    formats:
      - {format: bf16, rate: 1, sparse: true}
      - {format: fp8_e4m3, rate: 2, sparse: true}
      - {format: fp8_e5m2, rate: 2, sparse: true}
      - {format: mxfp8, rate: 2, sparse: true}
    accumulate: fp32
    sparsity:
      patterns: ["2:4"]
      backward: transposable
    zero_skipping: {activations: true, gradients: true}
  vector_unit:
    lanes: 64
    formats: [fp32, bf16]
  scale_cast:
    on_store_path: true
    rounding: [rne, stochastic]
  sram_kib: 512
  accumulator_kib: 64
global_buffer_mib: 56
noc:
  bandwidth_gbps: 96
hbm:
  stacks: 5
  bandwidth_gbps_per_stack: 407.8
  capacity_gib_per_stack: 16
links:
  count: 12
  bandwidth_gbps_per_link: 25
nodes:
  devices_per_node: 8
  network_gbps_per_device: 25
)";

ParamDef numeric(Param id, std::string key, std::string description, std::vector<double> v) {
  return ParamDef{id, std::move(key), std::move(description), std::move(v), {}};
}

ParamDef enumerated(Param id, std::string key, std::string description,
                    std::vector<std::string> labels) {
  std::vector<double> v;
  for (size_t i = 0; i < labels.size(); ++i)
    v.push_back(double(i));
  return ParamDef{id, std::move(key), std::move(description), std::move(v), std::move(labels)};
}

const std::vector<std::string> &formatSetLabels() {
  static const std::vector<std::string> k = {"bf16", "bf16+fp8", "bf16+fp8+mxfp8",
                                             "bf16+fp8+mxfp8+mxfp6+mxfp4"};
  return k;
}
const std::vector<std::string> &sparsityLabels() {
  static const std::vector<std::string> k = {"dense", "2:4 forward", "2:4 separate masks",
                                             "2:4 transposable"};
  return k;
}

const std::vector<std::string> &onOffLabels() {
  static const std::vector<std::string> k = {"off", "on"};
  return k;
}

/// All labels of an enumerated parameter, indexed by its enum value; nullptr if numeric.
const std::vector<std::string> *enumLabels(Param p) {
  switch (p) {
  case Param::Formats:
    return &formatSetLabels();
  case Param::Sparsity:
    return &sparsityLabels();
  case Param::ZeroSkip:
  case Param::ScaleCast:
    return &onOffLabels();
  default:
    return nullptr;
  }
}

/// The base spec's value of a numeric parameter (for nearestToBase).
double baseValue(const ArchSpec &s, Param p) {
  switch (p) {
  case Param::Tiles:
    return double(s.tiles);
  case Param::Rows:
    return double(s.tile.tensor.rows);
  case Param::Cols:
    return double(s.tile.tensor.cols);
  case Param::DotWidth:
    return double(s.tile.tensor.dotWidth);
  case Param::Formats:
    return double(formatSetOf(s.tile.tensor));
  case Param::Sparsity:
    return double(sparsityModeOf(s.tile.tensor));
  case Param::ZeroSkip:
    return s.tile.tensor.zeroSkipActivations || s.tile.tensor.zeroSkipGradients ? 1 : 0;
  case Param::ScaleCast:
    return s.tile.scaleCast && s.tile.scaleCast->onStorePath ? 1 : 0;
  case Param::SramKib:
    return double(s.tile.sramKib);
  case Param::GlobalBufferMib:
    return s.globalBufferMib;
  case Param::HbmStacks:
    return double(s.hbm.stacks);
  case Param::ClockGhz:
    return s.technology.clockGhz;
  case Param::VectorLanes:
    return double(s.tile.vector.lanes);
  case Param::NocGbps:
    return s.noc.bandwidthGBps;
  }
  return 0;
}

} // namespace

std::string ParamDef::valueText(size_t index) const {
  if (index < labels.size())
    return labels[index];
  double v = values[index];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", int64_t(v));
  return fmt::format("{}", v);
}

std::string_view precisionName(Precision p) {
  switch (p) {
  case Precision::Bf16:
    return "bf16";
  case Precision::Fp8:
    return "fp8";
  case Precision::Mxfp8:
    return "mxfp8";
  case Precision::Mxfp6:
    return "mxfp6";
  case Precision::Mxfp4:
    return "mxfp4";
  }
  return "?";
}

Expected<Precision> parsePrecision(const std::string &s) {
  std::vector<std::string> names;
  for (Precision p :
       {Precision::Bf16, Precision::Fp8, Precision::Mxfp8, Precision::Mxfp6, Precision::Mxfp4}) {
    if (s == precisionName(p))
      return p;
    names.emplace_back(precisionName(p));
  }
  Diagnostic d = Diagnostic::error(
      "bad-value", "unknown precision '" + s + "' (expected bf16, fp8, mxfp8, mxfp6 or mxfp4)");
  std::string close = closestMatch(s, names);
  if (!close.empty())
    d.withNote(Diagnostic::note("did you mean '" + close + "'?"));
  return d;
}

std::string_view formatSetName(FormatSet f) { return formatSetLabels()[size_t(f)]; }
std::string_view sparsityModeName(SparsityMode m) { return sparsityLabels()[size_t(m)]; }

void applyFormats(arch::TensorUnit &t, FormatSet f, bool sparse) {
  t.formats.clear();
  t.formats.push_back({Format::BF16, 1, sparse});
  if (f >= FormatSet::Fp8) {
    t.formats.push_back({Format::FP8E4M3, 2, sparse});
    t.formats.push_back({Format::FP8E5M2, 2, sparse});
  }
  if (f >= FormatSet::Mxfp8)
    t.formats.push_back({Format::MXFP8, 2, sparse});
  if (f >= FormatSet::MxLow) {
    t.formats.push_back({Format::MXFP6, 2, sparse});
    t.formats.push_back({Format::MXFP4, 4, sparse});
  }
}

void applySparsity(arch::TensorUnit &t, SparsityMode m) {
  bool sparse = m != SparsityMode::Dense;
  for (arch::TensorFormat &f : t.formats)
    f.sparse = sparse;
  t.sparsityPatterns.clear();
  t.sparseBackward = arch::SparseBackward::None;
  if (!sparse)
    return;
  t.sparsityPatterns.push_back({2, 4});
  if (m == SparsityMode::SeparateMasks)
    t.sparseBackward = arch::SparseBackward::SeparateMasks;
  else if (m == SparsityMode::Transposable)
    t.sparseBackward = arch::SparseBackward::Transposable;
}

FormatSet formatSetOf(const arch::TensorUnit &t) {
  if (t.find(Format::MXFP6) || t.find(Format::MXFP4))
    return FormatSet::MxLow;
  if (t.find(Format::MXFP8))
    return FormatSet::Mxfp8;
  if (t.find(Format::FP8E4M3) && t.find(Format::FP8E5M2))
    return FormatSet::Fp8;
  return FormatSet::Bf16;
}

SparsityMode sparsityModeOf(const arch::TensorUnit &t) {
  if (t.sparsityPatterns.empty())
    return SparsityMode::Dense;
  switch (t.sparseBackward) {
  case arch::SparseBackward::None:
    return SparsityMode::Forward;
  case arch::SparseBackward::SeparateMasks:
    return SparsityMode::SeparateMasks;
  case arch::SparseBackward::Transposable:
    return SparsityMode::Transposable;
  }
  return SparsityMode::Forward;
}

perf::PrecisionPolicy choosePolicy(const ArchSpec &spec, const PolicyLimits &limits) {
  const arch::TensorUnit &t = spec.tile.tensor;
  auto has = [&](Format f) { return t.find(f) != nullptr; };
  Precision p = Precision::Bf16;
  if (has(Format::FP8E4M3) && has(Format::FP8E5M2))
    p = Precision::Fp8;
  if (has(Format::MXFP8))
    p = Precision::Mxfp8;
  if (has(Format::MXFP6))
    p = std::max(p, Precision::Mxfp6);
  if (has(Format::MXFP4))
    p = std::max(p, Precision::Mxfp4);
  // Bounded by the recipe; a design lacking an intermediate format falls back further.
  while (p > limits.narrowest || (p == Precision::Mxfp6 && !has(Format::MXFP6)) ||
         (p == Precision::Mxfp8 && !has(Format::MXFP8)) ||
         (p == Precision::Fp8 && !(has(Format::FP8E4M3) && has(Format::FP8E5M2))))
    p = Precision(uint8_t(p) - 1);

  auto base = perf::PrecisionPolicy::byName(std::string(precisionName(p)));
  perf::PrecisionPolicy policy = base ? *base : perf::PrecisionPolicy{};
  const arch::TensorFormat *fwd = t.find(policy.forwardGemm);
  bool sparse = limits.allowSparsity && !t.sparsityPatterns.empty() && fwd && fwd->sparse;
  if (sparse) {
    auto named = perf::PrecisionPolicy::byName(policy.name + "-sparse");
    if (named)
      policy = *named;
    else
      policy.name += "-sparse";
    policy.sparseWeights = true;
  } else {
    policy.sparseWeights = false;
  }
  policy.activationDensity = t.zeroSkipActivations ? limits.activationDensity : 1.0;
  policy.gradientDensity = t.zeroSkipGradients ? limits.gradientDensity : 1.0;
  return policy;
}

const char *defaultTemplateYaml() { return kTemplateYaml; }

const ArchSpec &defaultTemplate() {
  static const ArchSpec spec = [] {
    auto s = arch::parseArchSpec(kTemplateYaml, "<built-in tessera-train-7nm>");
    return s ? *s : ArchSpec{};
  }();
  return spec;
}

DesignSpace DesignSpace::standard(const ArchSpec &base0, const SpaceBounds &bounds,
                                  PolicyLimits limits) {
  const double stackGBps = bounds.stackGBps;
  ArchSpec base = base0;
  // Like for like: no more chip-to-chip bandwidth than the baseline has.
  if (base.links.bandwidthGBpsPerLink > 0 &&
      double(base.links.count) * base.links.bandwidthGBpsPerLink > bounds.linkBudgetGBps)
    base.links.count =
        int64_t(std::floor(bounds.linkBudgetGBps / base.links.bandwidthGBpsPerLink + 1e-9));
  std::vector<ParamDef> p;
  p.push_back(numeric(Param::Tiles, "tiles", "enabled tiles (plus 1/16 spares for yield)",
                      {64, 96, 128, 160, 192, 224, 256, 320}));
  p.push_back(numeric(Param::Rows, "rows", "PE rows of the tensor array", {8, 16, 32}));
  p.push_back(numeric(Param::Cols, "cols", "PE columns of the tensor array", {8, 16, 32}));
  p.push_back(
      numeric(Param::DotWidth, "dot_width", "products per PE per cycle at rate 1", {4, 8, 16}));
  p.push_back(enumerated(Param::Formats, "formats", "tensor formats (FP8 / MX at 2x, MXFP4 at 4x)",
                         formatSetLabels()));
  p.push_back(
      enumerated(Param::Sparsity, "sparsity", "N:M weight sparsity hardware", sparsityLabels()));
  p.push_back(enumerated(Param::ZeroSkip, "zero_skipping", "skip zero activations and gradients",
                         onOffLabels()));
  p.push_back(enumerated(Param::ScaleCast, "scale_cast",
                         "scale-and-cast hardware fused on the store path", onOffLabels()));
  p.push_back(numeric(Param::SramKib, "sram_kib", "scratchpad per tile (KiB)",
                      {256, 384, 512, 768, 1024, 1536, 2048}));
  p.push_back(numeric(Param::GlobalBufferMib, "global_buffer_mib", "global buffer (MiB)",
                      {16, 24, 32, 48, 64, 96, 128}));
  std::vector<double> stacks;
  for (int s = 1; s <= 8; ++s)
    if (double(s) * stackGBps <= bounds.hbmBudgetGBps * (1 + 1e-9))
      stacks.push_back(s);
  // Fewer than 3 stacks cannot hold a large model's shard; keep them only when the budget
  // allows nothing else.
  if (stacks.size() > 3)
    stacks.erase(stacks.begin(), stacks.end() - 3);
  if (stacks.empty())
    stacks.push_back(1); // over budget: every point is infeasible, reported as such
  p.push_back(numeric(Param::HbmStacks, "hbm_stacks",
                      fmt::format("HBM stacks of {:g} GB/s", stackGBps), stacks));
  // Up to the baseline's boost clock on the same node: the area and energy model are
  // calibrated there and charge nothing for closing timing beyond it.
  std::vector<double> clocks;
  for (double f : {0.6, 0.7, 0.8, 0.9, 1.0})
    clocks.push_back(std::round(bounds.maxClockGhz * f * 100) / 100);
  p.push_back(numeric(Param::ClockGhz, "clock_ghz", "tensor clock (GHz)", clocks));
  p.push_back(numeric(Param::VectorLanes, "vector_lanes", "FP32 vector lanes per tile",
                      {32, 64, 128, 256}));
  p.push_back(numeric(Param::NocGbps, "noc_gbps",
                      "tile <-> global buffer bandwidth per tile (GB/s)",
                      {48, 64, 96, 128, 192, 256}));
  return DesignSpace(base, std::move(p), stackGBps, limits);
}

DesignSpace::DesignSpace(ArchSpec base, std::vector<ParamDef> params, double stackGBps,
                         PolicyLimits limits)
    : base_(std::move(base)), params_(std::move(params)), stackGBps_(stackGBps), limits_(limits) {}

void DesignSpace::setValues(Param p, std::vector<double> values) {
  ParamDef &d = params_[size_t(p)];
  if (const std::vector<std::string> *all = enumLabels(p)) {
    d.labels.clear();
    for (double v : values)
      d.labels.push_back(all->at(size_t(v)));
  }
  d.values = std::move(values);
}

uint64_t DesignSpace::gridSize() const {
  uint64_t n = 1;
  for (const ParamDef &d : params_) {
    if (d.size() == 0)
      return 0;
    if (n > std::numeric_limits<uint64_t>::max() / d.size())
      return std::numeric_limits<uint64_t>::max();
    n *= d.size();
  }
  return n;
}

DesignPoint DesignSpace::pointAt(uint64_t index) const {
  DesignPoint p{};
  for (size_t i = kNumParams; i-- > 0;) {
    uint64_t n = params_[i].size();
    p[i] = uint16_t(index % n);
    index /= n;
  }
  return p;
}

DesignPoint DesignSpace::nearestToBase() const {
  DesignPoint p{};
  for (size_t i = 0; i < kNumParams; ++i) {
    const ParamDef &d = params_[i];
    double want = baseValue(base_, d.id);
    size_t best = 0;
    double bestDist = std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < d.size(); ++j) {
      double dist = std::fabs(d.values[j] - want);
      if (dist < bestDist) {
        bestDist = dist;
        best = j;
      }
    }
    p[i] = uint16_t(best);
  }
  return p;
}

DesignPoint DesignSpace::smallestPoint() const {
  DesignPoint p{};
  for (size_t i = 0; i < kNumParams; ++i) {
    const ParamDef &d = params_[i];
    p[i] = uint16_t(std::min_element(d.values.begin(), d.values.end()) - d.values.begin());
  }
  return p;
}

ArchSpec DesignSpace::build(const DesignPoint &p) const {
  ArchSpec s = base_;
  auto v = [&](Param id) { return value(p, id); };
  s.name = "explore-candidate";
  s.tiles = int64_t(v(Param::Tiles));
  // Spares for yield in the base spec's proportion (tessera-train-7nm: 8 per 128).
  if (base_.tiles > 0)
    s.spareTiles = (s.tiles * base_.spareTiles + base_.tiles - 1) / base_.tiles;
  arch::TensorUnit &t = s.tile.tensor;
  int64_t basePes = std::max<int64_t>(1, base_.tile.tensor.pes());
  t.rows = int64_t(v(Param::Rows));
  t.cols = int64_t(v(Param::Cols));
  t.dotWidth = int64_t(v(Param::DotWidth));
  auto mode = SparsityMode(int(v(Param::Sparsity)));
  applyFormats(t, FormatSet(int(v(Param::Formats))), mode != SparsityMode::Dense);
  applySparsity(t, mode);
  bool zs = v(Param::ZeroSkip) != 0;
  t.zeroSkipActivations = zs;
  t.zeroSkipGradients = zs;
  if (v(Param::ScaleCast) != 0) {
    arch::ScaleCast sc = base_.tile.scaleCast.value_or(arch::ScaleCast{});
    sc.onStorePath = true;
    if (sc.rounding.empty())
      sc.rounding = {arch::Rounding::Rne, arch::Rounding::Stochastic};
    s.tile.scaleCast = sc;
  } else {
    s.tile.scaleCast.reset();
  }
  s.tile.sramKib = int64_t(v(Param::SramKib));
  // Accumulator storage per PE as in the base spec (tessera-train-7nm: 64 KiB per 256 PEs).
  s.tile.accumulatorKib =
      std::max<int64_t>(1, (base_.tile.accumulatorKib * t.pes() + basePes - 1) / basePes);
  s.globalBufferMib = v(Param::GlobalBufferMib);
  s.hbm.stacks = int64_t(v(Param::HbmStacks));
  s.hbm.bandwidthGBpsPerStack = stackGBps_;
  s.technology.clockGhz = v(Param::ClockGhz);
  s.tile.vector.lanes = int64_t(v(Param::VectorLanes));
  s.noc.bandwidthGBps = v(Param::NocGbps);
  return s;
}

Expected<ArchSpec> DesignSpace::materialize(const DesignPoint &p) const {
  for (size_t i = 0; i < kNumParams; ++i)
    if (p[i] >= params_[i].size())
      return Diagnostic::error(
          "bad-point", fmt::format("parameter {} index {} out of range", params_[i].key, p[i]));
  ArchSpec s = build(p);
  // The loader is the one definition of a valid spec.
  ArchSpec checked;
  TRY_ASSIGN(checked, arch::parseArchSpec(arch::writeArchSpecYaml(s), "<candidate>"));
  TRY(perf::checkPolicy(checked, choosePolicy(checked, limits_)));
  return checked;
}

std::string DesignSpace::label(const DesignPoint &p) const {
  auto v = [&](Param id) { return value(p, id); };
  static const char *kFmt[] = {"bf16", "fp8", "mxfp8", "mxfp6/4"};
  static const char *kSparse[] = {"dense", "2:4-fwd", "2:4-sep", "2:4-tr"};
  return fmt::format("{}t {}x{}x{} {} {}{}{} {}K {}M {}hbm {:g}GHz {}v {}G",
                     int64_t(v(Param::Tiles)), int64_t(v(Param::Rows)), int64_t(v(Param::Cols)),
                     int64_t(v(Param::DotWidth)), kFmt[int(v(Param::Formats))],
                     kSparse[int(v(Param::Sparsity))], v(Param::ZeroSkip) != 0 ? " zs" : "",
                     v(Param::ScaleCast) != 0 ? " sc" : "", int64_t(v(Param::SramKib)),
                     fmt::format("{:g}", v(Param::GlobalBufferMib)), int64_t(v(Param::HbmStacks)),
                     v(Param::ClockGhz), int64_t(v(Param::VectorLanes)),
                     fmt::format("{:g}", v(Param::NocGbps)));
}

} // namespace tessera::explore
