//===- YamlTest.cpp - YAML loading with locations and strict typed config --===//
#include "support/Yaml.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace tessera;

namespace {

enum class Node { N7, N5 };

struct Level {
  std::string name;
  int64_t kib = 0;
};

struct Spec {
  std::string name;
  int64_t rows = 0;
  uint32_t cols = 0;
  double clockGhz = 1.0;
  Node node = Node::N7;
  bool sparse = false;
  int64_t sramKib = 0;
  double hbmGBs = 0;
  std::vector<int64_t> shape;
  std::vector<std::string> formats;
  std::vector<Level> levels;
  std::vector<std::pair<std::string, int64_t>> units;
};

/// The reader a library would write for Spec.
Status readSpec(const YamlDocument &doc, DiagnosticEngine &diags, Spec &s) {
  YamlMap top = YamlMap::root(doc, diags);
  top.required("name", s.name);
  top.required("rows", s.rows).positive();
  top.required("cols", s.cols).range(1, 1024);
  top.optional("clock_ghz", s.clockGhz).positive().max(5.0);
  top.optionalEnum("node", s.node, {{"7nm", Node::N7}, {"5nm", Node::N5}});
  top.optional("sparse", s.sparse);
  top.optionalMap("memory", [&](YamlMap &m) {
    m.required("sram_kib", s.sramKib).powerOfTwo();
    m.optional("hbm_gbs", s.hbmGBs).nonNegative();
  });
  top.optionalSeq("shape", s.shape);
  top.optionalSeq("formats", s.formats);
  top.optionalMapSeq("levels", [&](YamlMap &m, size_t) {
    Level l;
    m.required("name", l.name);
    m.required("kib", l.kib).positive();
    s.levels.push_back(l);
  });
  top.optionalNamedMaps("units", [&](const std::string &name, const SourceLoc &, YamlMap &m) {
    int64_t count = 0;
    m.required("count", count);
    s.units.emplace_back(name, count);
  });
  return top.finish();
}

/// Parse `text` as "spec.yaml" and read it; diagnostics end up in `diags`.
Status load(std::string_view text, DiagnosticEngine &diags, Spec &s) {
  Expected<YamlDocument> doc = parseYaml(text, "spec.yaml");
  if (!doc)
    return doc.error();
  return readSpec(*doc, diags, s);
}

const char *const kGood = R"(# a good spec
name: tile-a
rows: 32
cols: 0x40
clock_ghz: 1.5
node: 5nm
sparse: true
memory:
  sram_kib: 512
  hbm_gbs: 2.0e3
shape: [1, -2, 3]
formats: [fp8, "bf16", mxfp4]
levels:
  - name: l1
    kib: 64
  - {name: l2, kib: 4096}
units:
  mac: {count: 1024}
  sfu:
    count: 16
)";

TEST(Yaml, GoodConfigReads) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load(kGood, diags, s);
  ASSERT_TRUE(st.ok()) << st.error().render();
  EXPECT_TRUE(diags.diagnostics().empty());
  EXPECT_EQ(s.name, "tile-a");
  EXPECT_EQ(s.rows, 32);
  EXPECT_EQ(s.cols, 64u);
  EXPECT_DOUBLE_EQ(s.clockGhz, 1.5);
  EXPECT_EQ(s.node, Node::N5);
  EXPECT_TRUE(s.sparse);
  EXPECT_EQ(s.sramKib, 512);
  EXPECT_DOUBLE_EQ(s.hbmGBs, 2000.0);
  EXPECT_EQ(s.shape, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(s.formats, (std::vector<std::string>{"fp8", "bf16", "mxfp4"}));
  ASSERT_EQ(s.levels.size(), 2u);
  EXPECT_EQ(s.levels[1].name, "l2");
  EXPECT_EQ(s.levels[1].kib, 4096);
  ASSERT_EQ(s.units.size(), 2u);
  EXPECT_EQ(s.units[0], (std::pair<std::string, int64_t>("mac", 1024)));
  EXPECT_EQ(s.units[1], (std::pair<std::string, int64_t>("sfu", 16)));
}

TEST(Yaml, NodesKeepLocations) {
  Expected<YamlDocument> doc = parseYaml(kGood, "spec.yaml");
  ASSERT_TRUE(doc.ok());
  const YamlNode &root = doc->root();
  ASSERT_TRUE(root.isMap());
  EXPECT_EQ(root.entries()[1].key, "rows");
  EXPECT_EQ(root.entries()[1].keyLoc.str(), "spec.yaml:3:1");
  EXPECT_EQ(root.entries()[1].value.loc().str(), "spec.yaml:3:7");
  const YamlNode *mem = root.find("memory");
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem->find("hbm_gbs")->loc().str(), "spec.yaml:10:12");
  const YamlNode *formats = root.find("formats");
  ASSERT_TRUE(formats && formats->isSequence());
  EXPECT_FALSE(formats->items()[0].quoted());
  EXPECT_TRUE(formats->items()[1].quoted());
  EXPECT_EQ(formats->items()[2].loc().str(), "spec.yaml:12:24");
  EXPECT_EQ(doc->sourceLine(3), "rows: 32");
}

TEST(Yaml, UnknownKeyBadWithDidYouMean) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: 4\ncols: 4\nmemory:\n  sram_kb: 64\n  sram_kib: 64\n"
                   "clock_gz: 2\n",
                   diags, s);
  ASSERT_FALSE(st.ok());
  ASSERT_EQ(diags.errorCount(), 2u);
  // The nested map finishes first, so its unknown key is reported first.
  const Diagnostic &d0 = diags.diagnostics()[0];
  EXPECT_EQ(d0.id, "unknown-key");
  EXPECT_EQ(d0.loc.str(), "spec.yaml:5:3");
  EXPECT_EQ(d0.message, "unknown key 'sram_kb' in 'memory'");
  ASSERT_EQ(d0.notes.size(), 1u);
  EXPECT_EQ(d0.notes[0].message, "did you mean 'sram_kib'?");
  const Diagnostic &d1 = diags.diagnostics()[1];
  EXPECT_EQ(d1.loc.str(), "spec.yaml:7:1");
  EXPECT_EQ(d1.render(), "spec.yaml:7:1: error[unknown-key]: unknown key 'clock_gz'\n"
                         "  clock_gz: 2\n"
                         "  ^\n"
                         "note: did you mean 'clock_ghz'?\n");
  // finish() returns the first error.
  EXPECT_EQ(st.error().headline(), d0.headline());
}

TEST(Yaml, UnknownKeyBadWithoutCloseMatchListsValidKeys) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: 4\ncols: 4\nmemory: {sram_kib: 64, frequency: 3}\n", diags, s);
  ASSERT_FALSE(st.ok());
  ASSERT_EQ(diags.errorCount(), 1u);
  const Diagnostic &d = diags.diagnostics()[0];
  EXPECT_EQ(d.loc.str(), "spec.yaml:4:24");
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_EQ(d.notes[0].message, "valid keys here: sram_kib, hbm_gbs");
}

TEST(Yaml, BadTypeBad) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: many\ncols: \"16\"\nsparse: yes\nclock_ghz: [1]\n", diags, s);
  ASSERT_FALSE(st.ok());
  const auto &ds = diags.diagnostics();
  ASSERT_EQ(ds.size(), 4u);
  EXPECT_EQ(ds[0].id, "bad-value");
  EXPECT_EQ(ds[0].loc.str(), "spec.yaml:2:7");
  EXPECT_EQ(ds[0].message, "key 'rows' expects an integer, got 'many'");
  EXPECT_EQ(ds[0].sourceLine, "rows: many");
  EXPECT_EQ(ds[1].loc.str(), "spec.yaml:3:7");
  EXPECT_EQ(ds[1].message, "key 'cols' expects an integer in [0, 4294967295], got string \"16\"");
  EXPECT_EQ(ds[2].message, "key 'clock_ghz' expects a number, got a sequence");
  EXPECT_EQ(ds[3].loc.str(), "spec.yaml:4:9");
  EXPECT_EQ(ds[3].message, "key 'sparse' expects a boolean (true/false), got 'yes'");
}

TEST(Yaml, IntegerOutOfTypeRangeBad) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: 99999999999999999999\ncols: -1\n", diags, s);
  ASSERT_FALSE(st.ok());
  ASSERT_EQ(diags.errorCount(), 2u);
  EXPECT_EQ(diags.diagnostics()[0].message,
            "key 'rows' expects an integer, got '99999999999999999999'");
  EXPECT_EQ(diags.diagnostics()[1].message,
            "key 'cols' expects an integer in [0, 4294967295], got '-1'");
}

TEST(Yaml, MissingKeyBad) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("# header\nname: t\ncols: 8\nmemory:\n  hbm_gbs: 1\n", diags, s);
  ASSERT_FALSE(st.ok());
  const auto &ds = diags.diagnostics();
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].id, "missing-key");
  EXPECT_EQ(ds[0].message, "missing required key 'rows'");
  EXPECT_EQ(ds[0].loc.str(), "spec.yaml:2:1"); // the map starts at its first key
  EXPECT_EQ(ds[1].message, "missing required key 'memory.sram_kib'");
  EXPECT_EQ(ds[1].loc.str(), "spec.yaml:5:3");
}

TEST(Yaml, MissingKeyInNullMapPointsAtKey) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: 1\ncols: 8\nmemory:\n", diags, s);
  ASSERT_FALSE(st.ok());
  ASSERT_EQ(diags.errorCount(), 1u);
  EXPECT_EQ(diags.diagnostics()[0].message, "missing required key 'memory.sram_kib'");
  EXPECT_EQ(diags.diagnostics()[0].loc.str(), "spec.yaml:4:1");
}

TEST(Yaml, RangeErrorsBad) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: 0\ncols: 2000\nclock_ghz: 7.5\nmemory: {sram_kib: 100, "
                   "hbm_gbs: -1}\n",
                   diags, s);
  ASSERT_FALSE(st.ok());
  const auto &ds = diags.diagnostics();
  ASSERT_EQ(ds.size(), 5u);
  EXPECT_EQ(ds[0].message, "key 'rows' must be positive, got 0");
  EXPECT_EQ(ds[0].loc.str(), "spec.yaml:2:7");
  EXPECT_EQ(ds[1].message, "key 'cols' must be in [1, 1024], got 2000");
  EXPECT_EQ(ds[2].message, "key 'clock_ghz' must be at most 5, got 7.5");
  EXPECT_EQ(ds[2].loc.str(), "spec.yaml:4:12");
  EXPECT_EQ(ds[3].message, "key 'memory.sram_kib' must be a power of two, got 100");
  EXPECT_EQ(ds[3].loc.str(), "spec.yaml:5:20");
  EXPECT_EQ(ds[4].message, "key 'memory.hbm_gbs' must not be negative, got -1");
  for (const Diagnostic &d : ds)
    EXPECT_EQ(d.id, "bad-value");
}

TEST(Yaml, EnumBadWithDidYouMean) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: 1\ncols: 1\nnode: 5n\n", diags, s);
  ASSERT_FALSE(st.ok());
  ASSERT_EQ(diags.errorCount(), 1u);
  const Diagnostic &d = diags.diagnostics()[0];
  EXPECT_EQ(d.message, "key 'node' must be one of '7nm', '5nm', got '5n'");
  EXPECT_EQ(d.loc.str(), "spec.yaml:4:7");
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_EQ(d.notes[0].message, "did you mean '5nm'?");
}

TEST(Yaml, SequenceElementAndMapSeqErrorsBad) {
  DiagnosticEngine diags;
  Spec s;
  Status st = load("name: t\nrows: 1\ncols: 1\nshape: [1, x, 3]\nlevels:\n  - name: l1\n"
                   "    kb: 4\n  - 7\n",
                   diags, s);
  ASSERT_FALSE(st.ok());
  const auto &ds = diags.diagnostics();
  ASSERT_EQ(ds.size(), 4u);
  EXPECT_EQ(ds[0].message, "key 'shape[1]' expects an integer, got 'x'");
  EXPECT_EQ(ds[0].loc.str(), "spec.yaml:4:12");
  EXPECT_EQ(ds[1].message, "missing required key 'levels[0].kib'");
  EXPECT_EQ(ds[2].id, "unknown-key");
  EXPECT_EQ(ds[2].message, "unknown key 'kb' in 'levels[0]'");
  EXPECT_EQ(ds[2].notes[0].message, "did you mean 'kib'?");
  EXPECT_EQ(ds[3].message, "key 'levels[1]' expects a map, got '7'");
  EXPECT_EQ(ds[3].loc.str(), "spec.yaml:8:5");
}

TEST(Yaml, TopLevelMustBeMapBad) {
  Expected<YamlDocument> doc = parseYaml("- 1\n- 2\n", "list.yaml");
  ASSERT_TRUE(doc.ok());
  DiagnosticEngine diags;
  YamlMap top = YamlMap::root(*doc, diags);
  Status st = top.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "expected a map at the top level, got a sequence");
  EXPECT_EQ(st.error().loc.str(), "list.yaml:1:1");
}

TEST(Yaml, EmptyDocumentIsEmptyMap) {
  Expected<YamlDocument> doc = parseYaml("# nothing\n", "e.yaml");
  ASSERT_TRUE(doc.ok());
  DiagnosticEngine diags;
  YamlMap top = YamlMap::root(*doc, diags);
  int64_t v = 5;
  EXPECT_FALSE(top.optional("v", v).present());
  EXPECT_EQ(v, 5);
  EXPECT_TRUE(top.finish().ok());
}

TEST(Yaml, SyntaxErrorLocationBad) {
  Expected<YamlDocument> doc = parseYaml("name: t\nshape: [1, 2\nrows: 3\n", "bad.yaml");
  ASSERT_FALSE(doc.ok());
  const Diagnostic &d = doc.error();
  EXPECT_EQ(d.id, "yaml-syntax");
  EXPECT_EQ(d.message, "end of sequence flow not found");
  EXPECT_EQ(d.loc.str(), "bad.yaml:3:5");
  EXPECT_EQ(d.sourceLine, "rows: 3");

  Expected<YamlDocument> doc2 = parseYaml("a: b: c\n", "bad2.yaml");
  ASSERT_FALSE(doc2.ok());
  EXPECT_EQ(doc2.error().render(), "bad2.yaml:1:5: error[yaml-syntax]: illegal map value\n"
                                   "  a: b: c\n"
                                   "      ^\n");
}

TEST(Yaml, DuplicateKeyBad) {
  Expected<YamlDocument> doc = parseYaml("a: 1\nb: 2\na: 3\n", "dup.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().id, "duplicate-key");
  EXPECT_EQ(doc.error().loc.str(), "dup.yaml:3:1");
  ASSERT_EQ(doc.error().notes.size(), 1u);
  EXPECT_EQ(doc.error().notes[0].loc.str(), "dup.yaml:1:1");
}

TEST(Yaml, RecursiveAliasBad) {
  Expected<YamlDocument> doc = parseYaml("a: &x [*x]\n", "cyc.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().id, "yaml-too-deep");
}

TEST(Yaml, MissingFileBad) {
  Expected<YamlDocument> doc = loadYamlFile("/nonexistent/dir/spec.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().id, "io-error");
  EXPECT_NE(doc.error().message.find("/nonexistent/dir/spec.yaml"), std::string::npos);
}

TEST(Yaml, ScalarConversions) {
  Expected<YamlDocument> doc =
      parseYaml("a: -0x10\nb: .inf\nc: -.5e1\nd: 0o17\ne: TRUE\nf: null\ng: ''\nh: inf\n");
  ASSERT_TRUE(doc.ok());
  const YamlNode &r = doc->root();
  int64_t i = 0;
  EXPECT_TRUE(yaml_detail::convertTo(*r.find("a"), i));
  EXPECT_EQ(i, -16);
  double d = 0;
  EXPECT_TRUE(yaml_detail::convertTo(*r.find("b"), d));
  EXPECT_TRUE(std::isinf(d));
  EXPECT_TRUE(yaml_detail::convertTo(*r.find("c"), d));
  EXPECT_DOUBLE_EQ(d, -5.0);
  EXPECT_TRUE(yaml_detail::convertTo(*r.find("d"), i));
  EXPECT_EQ(i, 15);
  bool b = false;
  EXPECT_TRUE(yaml_detail::convertTo(*r.find("e"), b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(r.find("f")->isNull());
  std::string s = "x";
  EXPECT_FALSE(yaml_detail::convertTo(*r.find("f"), s));
  EXPECT_TRUE(yaml_detail::convertTo(*r.find("g"), s));
  EXPECT_EQ(s, "");
  EXPECT_FALSE(yaml_detail::convertTo(*r.find("h"), d)); // YAML 1.2: 'inf' is a string
  int8_t small = 0;
  EXPECT_FALSE(yaml_detail::convertTo(*r.find("d"), b));
  EXPECT_TRUE(yaml_detail::convertTo(*r.find("a"), small));
  EXPECT_EQ(small, -16);
}

TEST(Yaml, FinishIsIdempotentAndTakeConsumes) {
  Expected<YamlDocument> doc = parseYaml("x: 1\ny: {z: 2}\n", "t.yaml");
  ASSERT_TRUE(doc.ok());
  DiagnosticEngine diags;
  YamlMap top = YamlMap::root(*doc, diags);
  EXPECT_TRUE(top.has("y"));
  const YamlNode *y = top.take("y");
  ASSERT_NE(y, nullptr);
  EXPECT_TRUE(y->isMap());
  Status st = top.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "unknown key 'x'");
  EXPECT_FALSE(top.finish().ok());
  EXPECT_EQ(diags.errorCount(), 1u);
}

} // namespace
