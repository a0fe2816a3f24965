//===- ArchSpecWriter.cpp - deterministic YAML writer for arch specs --------===//
//
// Writes every field of an ArchSpec in schema order (the order docs/arch-spec.md uses),
// defaults included, so a written spec is self-describing and diffs cleanly. Numbers use
// the shortest representation that reads back to the same double, which is what makes
// parseArchSpec(writeArchSpecYaml(s)) == s hold exactly. Optional parts (overrides,
// sparsity, scale_cast, extra_units) are written only when set, which reads back as the
// same unset value.
//
//===----------------------------------------------------------------------===//
#include "arch/ArchSpec.h"

#include <fmt/format.h>

namespace tessera::arch {

namespace {

/// YAML double-quoted string with escapes for quotes, backslashes and control bytes.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\')
      out += std::string("\\") + c;
    else if (u < 0x20 || u == 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out + "\"";
}

/// Shortest round-trip representation ("1.41", "2039", "1e-05").
std::string num(double v) { return fmt::format("{}", v); }
const char *boolStr(bool b) { return b ? "true" : "false"; }

template <typename T, typename F> std::string flowList(const std::vector<T> &v, F name) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::string(name(v[i]));
  return s + "]";
}

} // namespace

std::string writeArchSpecYaml(const ArchSpec &s) {
  std::string o;
  auto line = [&](int indent, const std::string &text) {
    o.append(size_t(indent) * 2, ' ');
    o += text;
    o += '\n';
  };
  const TileSpec &tile = s.tile;
  const TensorUnit &t = tile.tensor;

  o += "# Tessera arch spec (schema: docs/arch-spec.md)\n";
  line(0, "name: " + quote(s.name));
  line(0, "technology:");
  line(1, "node: " + std::string(techNodeName(s.technology.node)));
  line(1, "clock_ghz: " + num(s.technology.clockGhz));
  if (s.overrides.any()) {
    line(0, "technology_overrides:");
#define TECH_PARAM(Field, Key, ...)                                                                \
  if (s.overrides.Field)                                                                           \
    line(1, std::string(Key) + ": " + num(*s.overrides.Field));
#include "arch/TechnologyParams.def"
  }
  line(0, "tiles: " + std::to_string(s.tiles));
  line(0, "spare_tiles: " + std::to_string(s.spareTiles));

  line(0, "tile:");
  line(1, "control: " + std::string(controlStyleName(tile.control)));
  line(1, "tensor_unit:");
  line(2, "rows: " + std::to_string(t.rows));
  line(2, "cols: " + std::to_string(t.cols));
  line(2, "dot_width: " + std::to_string(t.dotWidth));
  line(2, "formats:");
  for (const TensorFormat &f : t.formats)
    line(3, "- {format: " + std::string(formatName(f.format)) + ", rate: " + num(f.rate) +
                ", sparse: " + boolStr(f.sparse) + "}");
  line(2, "accumulate: " + std::string(formatName(t.accumulate)));
  if (!t.sparsityPatterns.empty() || t.sparseBackward != SparseBackward::None) {
    line(2, "sparsity:");
    line(3, "patterns: " + flowList(t.sparsityPatterns,
                                    [](const SparsityPattern &p) { return quote(p.str()); }));
    line(3, "backward: " + std::string(sparseBackwardName(t.sparseBackward)));
  }
  line(2, "zero_skipping:");
  line(3, std::string("activations: ") + boolStr(t.zeroSkipActivations));
  line(3, std::string("gradients: ") + boolStr(t.zeroSkipGradients));
  line(1, "vector_unit:");
  line(2, "lanes: " + std::to_string(tile.vector.lanes));
  line(2, "formats: " + flowList(tile.vector.formats, formatName));
  if (tile.scaleCast) {
    line(1, "scale_cast:");
    line(2, std::string("on_store_path: ") + boolStr(tile.scaleCast->onStorePath));
    line(2, "rounding: " + flowList(tile.scaleCast->rounding, roundingName));
  }
  line(1, "sram_kib: " + std::to_string(tile.sramKib));
  line(1, "accumulator_kib: " + std::to_string(tile.accumulatorKib));
  if (!tile.extraUnits.empty()) {
    line(1, "extra_units:");
    for (const ExtraUnit &u : tile.extraUnits) {
      std::string e = "- {name: " + quote(u.name) +
                      ", kind: " + std::string(extraUnitKindName(u.kind)) +
                      ", count: " + std::to_string(u.count);
      if (u.areaUm2)
        e += ", area_um2: " + num(*u.areaUm2);
      line(2, e + "}");
    }
  }

  line(0, "global_buffer_mib: " + num(s.globalBufferMib));
  line(0, "noc:");
  line(1, "bandwidth_gbps: " + num(s.noc.bandwidthGBps));
  line(0, "hbm:");
  line(1, "stacks: " + std::to_string(s.hbm.stacks));
  line(1, "bandwidth_gbps_per_stack: " + num(s.hbm.bandwidthGBpsPerStack));
  line(1, "capacity_gib_per_stack: " + num(s.hbm.capacityGiBPerStack));
  line(0, "links:");
  line(1, "count: " + std::to_string(s.links.count));
  line(1, "bandwidth_gbps_per_link: " + num(s.links.bandwidthGBpsPerLink));
  line(0, "nodes:");
  line(1, "devices_per_node: " + std::to_string(s.nodes.devicesPerNode));
  line(1, "network_gbps_per_device: " + num(s.nodes.networkGBpsPerDevice));
  return o;
}

} // namespace tessera::arch
