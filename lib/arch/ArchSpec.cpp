//===- ArchSpec.cpp - arch spec vocabulary, loader and validation -----------===//
//
// The loader is one pass of YamlMap readers, nested like the schema. Checks that involve
// several keys run inside the reader of the map that holds them, while the key locations
// are at hand, and only when the keys they read parsed cleanly (one mistake, one error).
// Enumerations and lists of enumerations (formats, rounding modes, sparsity patterns)
// are read through small helpers here so each element gets its own location, a
// did-you-mean and a duplicate check.
//
//===----------------------------------------------------------------------===//
#include "arch/ArchSpec.h"

#include "support/FileIO.h"
#include "support/Yaml.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tessera::arch {

//===----------------------------------------------------------------------===//
// Vocabulary
//===----------------------------------------------------------------------===//

namespace {
const FormatInfo kFormatInfo[] = {
#define FORMAT(Enum, Name, Bits, Storage, Sig, Exp, Mx, Int)                                       \
  {Name, Bits, Storage, Sig, Exp, Mx, Int},
#include "arch/Formats.def"
};
} // namespace

const FormatInfo &formatInfo(Format f) { return kFormatInfo[size_t(f)]; }
std::string_view formatName(Format f) { return formatInfo(f).name; }

const std::vector<Format> &allFormats() {
  static const std::vector<Format> all = {
#define FORMAT(Enum, ...) Format::Enum,
#include "arch/Formats.def"
  };
  return all;
}

bool formatFromName(std::string_view name, Format &out) {
  for (Format f : allFormats()) {
    if (formatName(f) == name) {
      out = f;
      return true;
    }
  }
  return false;
}

bool isTensorFormat(Format f) { return f != Format::FP32; }

bool isVectorFormat(Format f) {
  switch (f) {
  case Format::FP32:
  case Format::BF16:
  case Format::FP16:
  case Format::FP8E4M3:
  case Format::FP8E5M2:
  case Format::INT8:
    return true;
  default:
    return false;
  }
}

std::string_view techNodeName(TechNode n) { return n == TechNode::N7 ? "7nm" : "5nm"; }

std::string SparsityPattern::str() const { return std::to_string(n) + ":" + std::to_string(m); }

std::string_view sparseBackwardName(SparseBackward b) {
  switch (b) {
  case SparseBackward::None:
    return "none";
  case SparseBackward::SeparateMasks:
    return "separate_masks";
  case SparseBackward::Transposable:
    return "transposable";
  }
  return "none";
}

std::string_view roundingName(Rounding r) { return r == Rounding::Rne ? "rne" : "stochastic"; }

std::string_view controlStyleName(ControlStyle c) {
  return c == ControlStyle::Dataflow ? "dataflow" : "simt";
}

std::string_view extraUnitKindName(ExtraUnitKind k) {
  switch (k) {
  case ExtraUnitKind::Fp32Fma:
    return "fp32_fma";
  case ExtraUnitKind::Fp64Fma:
    return "fp64_fma";
  case ExtraUnitKind::Int32Alu:
    return "int32_alu";
  case ExtraUnitKind::Sfu:
    return "sfu";
  case ExtraUnitKind::Custom:
    return "custom";
  }
  return "custom";
}

bool TechnologyOverrides::any() const {
#define TECH_PARAM(Field, ...)                                                                     \
  if (Field)                                                                                       \
    return true;
#include "arch/TechnologyParams.def"
  return false;
}

const TensorFormat *TensorUnit::find(Format f) const {
  for (const TensorFormat &tf : formats)
    if (tf.format == f)
      return &tf;
  return nullptr;
}

double ArchSpec::peakMacsPerSecond(Format f) const {
  const TensorFormat *tf = tile.tensor.find(f);
  if (!tf)
    return 0;
  return double(tiles) * double(tile.tensor.pes()) * double(tile.tensor.dotWidth) * tf->rate *
         technology.clockGhz * 1e9;
}

//===----------------------------------------------------------------------===//
// Reading helpers
//===----------------------------------------------------------------------===//

namespace {

template <typename E> struct Choice {
  std::string_view name;
  E value;
};

template <typename E> std::string choiceList(const std::vector<Choice<E>> &choices) {
  std::string list;
  for (const auto &c : choices)
    list += (list.empty() ? "'" : ", '") + std::string(c.name) + "'";
  return list;
}

/// Convert node `n` (at dotted `path`) to one of `choices`; `bad-value` with a
/// did-you-mean otherwise.
template <typename E>
bool convertChoice(YamlMap &m, const YamlNode &n, const std::string &path,
                   const std::vector<Choice<E>> &choices, E &out) {
  std::string s;
  if (!n.isScalar()) {
    m.error("bad-value",
            "key '" + path + "' expects one of " + choiceList(choices) + ", got " + n.describe(),
            n.loc().line ? n.loc() : m.loc());
    return false;
  }
  s = n.scalar();
  std::vector<std::string> names;
  for (const auto &c : choices) {
    if (c.name == s) {
      out = c.value;
      return true;
    }
    names.emplace_back(c.name);
  }
  Diagnostic d = m.document().error(
      "bad-value", "key '" + path + "' must be one of " + choiceList(choices) + ", got '" + s + "'",
      n.loc());
  std::string guess = closestMatch(s, names);
  if (!guess.empty())
    d.withNote(Diagnostic::note("did you mean '" + guess + "'?"));
  m.diagnostics().report(std::move(d));
  return false;
}

void reportMissing(YamlMap &m, std::string_view key) {
  m.error("missing-key", "missing required key '" + m.pathOf(key) + "'", m.loc());
}

/// One enumerated scalar. Returns whether it was present and valid.
template <typename E>
bool readChoice(YamlMap &m, std::string_view key, bool required,
                const std::vector<Choice<E>> &choices, E &out) {
  const YamlNode *n = m.take(key);
  if (!n) {
    if (required)
      reportMissing(m, key);
    return false;
  }
  return convertChoice(m, *n, m.pathOf(key), choices, out);
}

/// The sequence node for `key`: nullptr when absent (reported if required) or not a
/// sequence (reported); a null value reads as an empty sequence.
const YamlNode *takeSequence(YamlMap &m, std::string_view key, bool required,
                             std::string_view expected, bool &ok) {
  static const YamlNode kEmpty;
  ok = false;
  const YamlNode *n = m.take(key);
  if (!n) {
    if (required)
      reportMissing(m, key);
    return nullptr;
  }
  if (n->isNull()) {
    ok = true;
    return &kEmpty;
  }
  if (!n->isSequence()) {
    m.error("bad-value",
            "key '" + m.pathOf(key) + "' expects " + std::string(expected) + ", got " +
                n->describe(),
            n->loc().line ? n->loc() : m.keyLoc(key));
    return nullptr;
  }
  ok = true;
  return n;
}

void reportDuplicate(YamlMap &m, const std::string &what, const std::string &listPath,
                     const SourceLoc &here, const SourceLoc &first) {
  Diagnostic d =
      m.document().error("bad-spec", what + " is listed twice in '" + listPath + "'", here);
  d.withNote(m.document().note("first listed here", first));
  m.diagnostics().report(std::move(d));
}

/// A sequence of enumerated scalars without duplicates. Returns whether it read cleanly.
template <typename E>
bool readChoiceList(YamlMap &m, std::string_view key, bool required,
                    const std::vector<Choice<E>> &choices, std::vector<E> &out) {
  bool ok;
  const YamlNode *seq = takeSequence(m, key, required, "a sequence of " + choiceList(choices), ok);
  if (!seq)
    return false;
  std::vector<E> result;
  std::vector<SourceLoc> locs;
  for (size_t i = 0; i < seq->items().size(); ++i) {
    const YamlNode &item = seq->items()[i];
    E v{};
    if (!convertChoice(m, item, m.pathOf(key) + "[" + std::to_string(i) + "]", choices, v)) {
      ok = false;
      continue;
    }
    auto it = std::find(result.begin(), result.end(), v);
    if (it != result.end()) {
      reportDuplicate(m, "'" + item.scalar() + "'", m.pathOf(key), item.loc(),
                      locs[size_t(it - result.begin())]);
      ok = false;
      continue;
    }
    result.push_back(v);
    locs.push_back(item.loc());
  }
  if (ok)
    out = std::move(result);
  return ok;
}

/// Parse "N:M" with 1 <= N < M <= 32.
bool parsePattern(std::string_view s, SparsityPattern &out) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos)
    return false;
  auto num = [](std::string_view t, int &v) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc() && p == t.data() + t.size() && !t.empty();
  };
  int n, m;
  if (!num(s.substr(0, colon), n) || !num(s.substr(colon + 1), m))
    return false;
  if (n < 1 || n >= m || m > 32)
    return false;
  out = {n, m};
  return true;
}

std::vector<Choice<Format>> formatChoices(bool (*allowed)(Format)) {
  std::vector<Choice<Format>> c;
  for (Format f : allFormats())
    if (allowed(f))
      c.push_back({formatName(f), f});
  return c;
}

const std::vector<Choice<TechNode>> kNodes = {{"7nm", TechNode::N7}, {"5nm", TechNode::N5}};
const std::vector<Choice<SparseBackward>> kBackward = {
    {"none", SparseBackward::None},
    {"separate_masks", SparseBackward::SeparateMasks},
    {"transposable", SparseBackward::Transposable}};
const std::vector<Choice<Rounding>> kRounding = {{"rne", Rounding::Rne},
                                                 {"stochastic", Rounding::Stochastic}};
const std::vector<Choice<ControlStyle>> kControl = {{"dataflow", ControlStyle::Dataflow},
                                                    {"simt", ControlStyle::Simt}};
const std::vector<Choice<ExtraUnitKind>> kExtraKinds = {{"fp32_fma", ExtraUnitKind::Fp32Fma},
                                                        {"fp64_fma", ExtraUnitKind::Fp64Fma},
                                                        {"int32_alu", ExtraUnitKind::Int32Alu},
                                                        {"sfu", ExtraUnitKind::Sfu},
                                                        {"custom", ExtraUnitKind::Custom}};

bool anyFormat(Format) { return true; }

/// Upper bounds that keep every number finite and physically meaningful.
constexpr double kMaxGBps = 1e6;
constexpr int64_t kMaxCount = 1'000'000;

//===----------------------------------------------------------------------===//
// The reader
//===----------------------------------------------------------------------===//

void readTechnology(YamlMap &top, ArchSpec &s) {
  top.requiredMap("technology", [&](YamlMap &m) {
    readChoice(m, "node", true, kNodes, s.technology.node);
    m.required("clock_ghz", s.technology.clockGhz).range(0.01, 10.0);
  });
  top.optionalMap("technology_overrides", [&](YamlMap &m) {
#define TECH_PARAM(Field, Key, Unit, Positive, Doc)                                                \
  {                                                                                                \
    double v = 0;                                                                                  \
    auto f = m.optional(Key, v);                                                                   \
    if (Positive)                                                                                  \
      f.positive();                                                                                \
    else                                                                                           \
      f.nonNegative();                                                                             \
    f.max(1e12);                                                                                   \
    if (f.present())                                                                               \
      s.overrides.Field = v;                                                                       \
  }
#include "arch/TechnologyParams.def"
  });
}

void readTensorUnit(YamlMap &m, TensorUnit &t) {
  bool rowsOk = m.required("rows", t.rows).positive().max(4096).present();
  bool colsOk = m.required("cols", t.cols).positive().max(4096).present();
  bool dotOk = m.required("dot_width", t.dotWidth).positive().max(1024).present();
  bool shapeOk = rowsOk && colsOk && dotOk && t.rows > 0 && t.cols > 0 && t.dotWidth > 0;

  // Formats: no duplicates; rate x dot_width whole; MX blocks of 32 tiled by a dot.
  std::vector<SourceLoc> formatLocs, sparseLocs;
  std::vector<bool> hasSparseKey;
  bool formatsOk = true;
  bool formatsPresent = m.requiredMapSeq("formats", [&](YamlMap &e, size_t) {
    TensorFormat tf;
    bool ok = readChoice(e, "format", true, formatChoices(isTensorFormat), tf.format);
    ok &= e.required("rate", tf.rate).positive().max(64.0).present() && tf.rate > 0;
    e.optional("sparse", tf.sparse);
    if (!ok) {
      formatsOk = false;
      return;
    }
    SourceLoc here = e.keyLoc("format");
    if (const TensorFormat *prev = t.find(tf.format)) {
      reportDuplicate(e, "format '" + std::string(formatName(tf.format)) + "'", m.pathOf("formats"),
                      here, formatLocs[size_t(prev - t.formats.data())]);
      formatsOk = false;
      return;
    }
    if (shapeOk) {
      double products = tf.rate * double(t.dotWidth);
      if (products != std::floor(products)) {
        e.error("bad-spec",
                fmt::format("format '{}' at rate {} with dot_width {} is {} products per PE "
                            "per cycle; it must be a whole number",
                            formatName(tf.format), tf.rate, t.dotWidth, products),
                e.keyLoc("rate"));
        formatsOk = false;
      } else if (formatInfo(tf.format).isMx) {
        int64_t p = int64_t(products);
        if (32 % p != 0 && p % 32 != 0) {
          e.error("bad-spec",
                  fmt::format("format '{}' computes {} products per PE per cycle, which does "
                              "not tile its 32-element scale blocks (use a divisor or multiple "
                              "of 32)",
                              formatName(tf.format), p),
                  here);
          formatsOk = false;
        }
      }
    }
    t.formats.push_back(tf);
    formatLocs.push_back(here);
    sparseLocs.push_back(e.keyLoc("sparse"));
    hasSparseKey.push_back(e.has("sparse"));
  });
  if (formatsPresent && formatsOk && t.formats.empty())
    m.error("bad-spec", "'" + m.pathOf("formats") + "' must list at least one format",
            m.keyLoc("formats"));

  Format acc = Format::FP32;
  if (readChoice(m, "accumulate", false, formatChoices(anyFormat), acc) && acc != Format::FP32)
    m.error("bad-spec",
            "accumulation in '" + std::string(formatName(acc)) +
                "' is not supported: training accumulates in fp32",
            m.keyLoc("accumulate"));
  t.accumulate = acc;

  bool sparsityOk = true;
  m.optionalMap("sparsity", [&](YamlMap &sp) {
    bool ok;
    const YamlNode *seq = takeSequence(sp, "patterns", true, "a sequence of \"N:M\" strings", ok);
    std::vector<SourceLoc> locs;
    if (seq) {
      for (size_t i = 0; i < seq->items().size(); ++i) {
        const YamlNode &item = seq->items()[i];
        SparsityPattern p;
        if (!item.isScalar() || !parsePattern(item.scalar(), p)) {
          sp.error("bad-value",
                   "key '" + sp.pathOf("patterns") + "[" + std::to_string(i) +
                       "]' expects \"N:M\" with 1 <= N < M <= 32, got " + item.describe(),
                   item.loc());
          sparsityOk = false;
          continue;
        }
        auto it = std::find(t.sparsityPatterns.begin(), t.sparsityPatterns.end(), p);
        if (it != t.sparsityPatterns.end()) {
          reportDuplicate(sp, "pattern '" + p.str() + "'", sp.pathOf("patterns"), item.loc(),
                          locs[size_t(it - t.sparsityPatterns.begin())]);
          sparsityOk = false;
          continue;
        }
        t.sparsityPatterns.push_back(p);
        locs.push_back(item.loc());
      }
    } else {
      sparsityOk = false;
    }
    if (readChoice(sp, "backward", false, kBackward, t.sparseBackward) && sparsityOk &&
        t.sparseBackward != SparseBackward::None && t.sparsityPatterns.empty())
      sp.error("bad-spec",
               "sparse backward mode '" + std::string(sparseBackwardName(t.sparseBackward)) +
                   "' needs at least one pattern",
               sp.keyLoc("backward"));
  });

  if (formatsOk && sparsityOk) {
    bool anySparse = std::any_of(t.formats.begin(), t.formats.end(),
                                 [](const TensorFormat &f) { return f.sparse; });
    if (!t.sparsityPatterns.empty() && !anySparse)
      m.error("bad-spec", "sparsity patterns are given but no tensor format sets 'sparse: true'",
              m.keyLoc("sparsity"));
    for (size_t i = 0; i < t.formats.size(); ++i)
      if (t.formats[i].sparse && t.sparsityPatterns.empty())
        m.error("bad-spec",
                "format '" + std::string(formatName(t.formats[i].format)) +
                    "' is marked sparse but '" + m.pathOf("sparsity") + "' lists no patterns",
                hasSparseKey[i] ? sparseLocs[i] : formatLocs[i]);
  }

  m.optionalMap("zero_skipping", [&](YamlMap &z) {
    z.optional("activations", t.zeroSkipActivations);
    z.optional("gradients", t.zeroSkipGradients);
  });
}

void readTile(YamlMap &top, TileSpec &tile) {
  top.requiredMap("tile", [&](YamlMap &m) {
    readChoice(m, "control", false, kControl, tile.control);
    bool tensorOk = false;
    m.requiredMap("tensor_unit", [&](YamlMap &tu) {
      size_t before = tu.diagnostics().errorCount();
      readTensorUnit(tu, tile.tensor);
      tensorOk = tu.diagnostics().errorCount() == before;
    });
    m.requiredMap("vector_unit", [&](YamlMap &v) {
      v.required("lanes", tile.vector.lanes).positive().max(kMaxCount);
      if (readChoiceList(v, "formats", true, formatChoices(isVectorFormat), tile.vector.formats) &&
          std::find(tile.vector.formats.begin(), tile.vector.formats.end(), Format::FP32) ==
              tile.vector.formats.end())
        v.error("bad-spec",
                "'" + v.pathOf("formats") +
                    "' must include 'fp32' (optimizer updates, norms and softmax run in fp32)",
                v.keyLoc("formats"));
    });
    m.optionalMap("scale_cast", [&](YamlMap &sc) {
      ScaleCast c;
      sc.optional("on_store_path", c.onStorePath);
      if (readChoiceList(sc, "rounding", true, kRounding, c.rounding) && c.rounding.empty())
        sc.error("bad-spec", "'" + sc.pathOf("rounding") + "' must list at least one mode",
                 sc.keyLoc("rounding"));
      tile.scaleCast = c;
    });
    bool sramOk = m.required("sram_kib", tile.sramKib).positive().max(kMaxCount).present();
    bool accOk =
        m.required("accumulator_kib", tile.accumulatorKib).positive().max(kMaxCount).present();

    // The scratchpad must at least hold one array-sized block of A, B and C in the widest
    // input format, and the accumulators one FP32 value per PE.
    const TensorUnit &t = tile.tensor;
    if (tensorOk && !t.formats.empty()) {
      double widestBytes = 0;
      for (const TensorFormat &f : t.formats)
        widestBytes = std::max(widestBytes, formatInfo(f.format).storageBits / 8);
      double need = 3.0 * double(t.pes()) * widestBytes;
      if (sramOk && double(tile.sramKib) * 1024 < need)
        m.error("bad-spec",
                fmt::format("sram_kib {} ({} B) is smaller than one {}x{} tile of the array "
                            "(A, B and C blocks in the widest format: {} B)",
                            tile.sramKib, tile.sramKib * 1024, t.rows, t.cols, need),
                m.keyLoc("sram_kib"));
      double accNeed = double(t.pes()) * 4.0;
      if (accOk && double(tile.accumulatorKib) * 1024 < accNeed)
        m.error("bad-spec",
                fmt::format("accumulator_kib {} ({} B) cannot hold the {}x{} array's fp32 "
                            "accumulators ({} B)",
                            tile.accumulatorKib, tile.accumulatorKib * 1024, t.rows, t.cols,
                            accNeed),
                m.keyLoc("accumulator_kib"));
    }

    std::vector<SourceLoc> nameLocs;
    m.optionalMapSeq("extra_units", [&](YamlMap &e, size_t) {
      ExtraUnit u;
      bool ok = e.required("name", u.name)
                    .check([](const std::string &s) { return !s.empty(); }, "must not be empty")
                    .present() &&
                !u.name.empty();
      ok &= readChoice(e, "kind", true, kExtraKinds, u.kind);
      ok &= e.required("count", u.count).positive().max(kMaxCount).present();
      double area = 0;
      if (e.optional("area_um2", area).positive().max(1e9).present())
        u.areaUm2 = area;
      if (!ok)
        return;
      if (u.kind == ExtraUnitKind::Custom && !u.areaUm2) {
        e.error("bad-spec", "custom unit '" + u.name + "' needs 'area_um2'", e.keyLoc("kind"));
        return;
      }
      for (size_t i = 0; i < tile.extraUnits.size(); ++i) {
        if (tile.extraUnits[i].name == u.name) {
          reportDuplicate(e, "unit '" + u.name + "'", m.pathOf("extra_units"), e.keyLoc("name"),
                          nameLocs[i]);
          return;
        }
      }
      tile.extraUnits.push_back(u);
      nameLocs.push_back(e.keyLoc("name"));
    });
  });
}

void readSpec(YamlMap &top, ArchSpec &s) {
  top.required("name", s.name)
      .check([](const std::string &n) { return !n.empty(); }, "must not be empty");
  readTechnology(top, s);
  top.required("tiles", s.tiles).positive().max(kMaxCount);
  top.optional("spare_tiles", s.spareTiles).nonNegative().max(kMaxCount);
  readTile(top, s.tile);
  top.required("global_buffer_mib", s.globalBufferMib).nonNegative().max(1e6);
  top.requiredMap("noc", [&](YamlMap &m) {
    m.required("bandwidth_gbps", s.noc.bandwidthGBps).positive().max(kMaxGBps);
  });
  top.requiredMap("hbm", [&](YamlMap &m) {
    m.required("stacks", s.hbm.stacks).positive().max(64);
    m.required("bandwidth_gbps_per_stack", s.hbm.bandwidthGBpsPerStack).positive().max(kMaxGBps);
    m.required("capacity_gib_per_stack", s.hbm.capacityGiBPerStack).positive().max(1e4);
  });
  top.requiredMap("links", [&](YamlMap &m) {
    m.required("count", s.links.count).nonNegative().max(1024);
    m.required("bandwidth_gbps_per_link", s.links.bandwidthGBpsPerLink).positive().max(kMaxGBps);
  });
  top.optionalMap("nodes", [&](YamlMap &m) {
    m.optional("devices_per_node", s.nodes.devicesPerNode).positive().max(1024);
    m.optional("network_gbps_per_device", s.nodes.networkGBpsPerDevice).nonNegative().max(kMaxGBps);
  });
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

Expected<ArchSpec> parseArchSpec(std::string_view text, const std::string &fileName,
                                 DiagnosticEngine *allDiags) {
  Expected<YamlDocument> doc = parseYaml(text, fileName);
  if (!doc) {
    if (allDiags)
      allDiags->report(doc.error());
    return doc.error();
  }
  DiagnosticEngine local;
  DiagnosticEngine &diags = allDiags ? *allDiags : local;
  ArchSpec spec;
  YamlMap top = YamlMap::root(*doc, diags);
  readSpec(top, spec);
  TRY(top.finish());
  return spec;
}

Expected<ArchSpec> loadArchSpec(const std::string &path, DiagnosticEngine *allDiags) {
  Expected<std::string> text = readTextFile(path);
  if (!text) {
    if (allDiags)
      allDiags->report(text.error());
    return text.error();
  }
  return parseArchSpec(*text, path, allDiags);
}

} // namespace tessera::arch
