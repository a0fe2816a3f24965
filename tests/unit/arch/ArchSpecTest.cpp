//===- ArchSpecTest.cpp - arch spec loading, validation and round trip ------===//
//
// Every examples/arch/*.yaml loads and round-trips through writeArchSpecYaml; every
// tests/data/arch/*-bad.yaml fails with exactly the diagnostics its header lists:
//
//   # expect: LINE:COL: error[id]: message      (one per error, in report order)
//   # note: message                              (notes of the preceding error)
//
//===----------------------------------------------------------------------===//
#include "arch/ArchSpec.h"

#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

using namespace tessera;
using namespace tessera::arch;
namespace fs = std::filesystem;

namespace {

const std::string kSource = TESSERA_SOURCE_DIR;

/// Files in `dir` (relative to the source tree) ending in `suffix`, sorted, as paths
/// relative to the source tree.
std::vector<std::string> filesIn(const std::string &dir, const std::string &suffix) {
  std::vector<std::string> out;
  for (const auto &e : fs::directory_iterator(kSource + "/" + dir)) {
    std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(dir + "/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Load a file of the source tree, naming it by its relative path in diagnostics.
Expected<ArchSpec> loadRelative(const std::string &rel, DiagnosticEngine *diags = nullptr) {
  Expected<std::string> text = readTextFile(kSource + "/" + rel);
  if (!text)
    return text.error();
  return parseArchSpec(*text, rel, diags);
}

std::string render(const DiagnosticEngine &diags) {
  std::ostringstream os;
  diags.print(os);
  return os.str();
}

} // namespace

//===----------------------------------------------------------------------===//
// Good specs
//===----------------------------------------------------------------------===//

TEST(ArchSpec, LoadsEveryExample) {
  std::vector<std::string> files = filesIn("examples/arch", ".yaml");
  ASSERT_GE(files.size(), 3u);
  for (const std::string &f : files) {
    DiagnosticEngine diags;
    Expected<ArchSpec> spec = loadRelative(f, &diags);
    EXPECT_TRUE(spec.ok()) << f << ":\n" << render(diags);
    EXPECT_FALSE(diags.hasErrors()) << render(diags);
  }
}

TEST(ArchSpec, WriterRoundTripsEveryExample) {
  for (const std::string &f : filesIn("examples/arch", ".yaml")) {
    Expected<ArchSpec> spec = loadRelative(f);
    ASSERT_TRUE(spec.ok()) << spec.error().render();
    std::string written = writeArchSpecYaml(*spec);
    Expected<ArchSpec> back = parseArchSpec(written, f + " (written)");
    ASSERT_TRUE(back.ok()) << back.error().render() << written;
    EXPECT_TRUE(*back == *spec) << f << " does not round-trip:\n" << written;
    EXPECT_EQ(writeArchSpecYaml(*back), written) << "writer is not a fixed point for " << f;
  }
}

TEST(ArchSpec, LoadSetsEveryFieldOfTheA100Like) {
  Expected<ArchSpec> a = loadArchSpec(kSource + "/examples/arch/a100-like.yaml");
  ASSERT_TRUE(a.ok()) << a.error().render();
  EXPECT_EQ(a->name, "a100-like");
  EXPECT_EQ(a->technology.node, TechNode::N7);
  EXPECT_EQ(a->tiles, 108);
  EXPECT_EQ(a->fabricatedTiles(), 128);
  EXPECT_EQ(a->tile.control, ControlStyle::Simt);
  EXPECT_EQ(a->tile.tensor.pes() * a->tile.tensor.dotWidth, 1024);
  // The published peaks follow from the spec: 312 TFLOPS FP16, 156 TF32, 624 INT8.
  EXPECT_NEAR(a->peakFlops(Format::FP16) / 1e12, 312, 1);
  EXPECT_NEAR(a->peakFlops(Format::TF32) / 1e12, 156, 1);
  EXPECT_NEAR(a->peakFlops(Format::INT8) / 1e12, 624, 2);
  EXPECT_EQ(a->peakFlops(Format::FP8E4M3), 0);
  EXPECT_NEAR(a->hbmBandwidthGBps(), 2039, 1);
  EXPECT_EQ(a->hbmCapacityGiB(), 80);
  ASSERT_EQ(a->tile.tensor.sparsityPatterns.size(), 1u);
  EXPECT_EQ(a->tile.tensor.sparsityPatterns[0].str(), "2:4");
  EXPECT_FALSE(a->tile.scaleCast.has_value());
  ASSERT_EQ(a->tile.extraUnits.size(), 4u);
  EXPECT_EQ(a->tile.extraUnits[1].kind, ExtraUnitKind::Fp64Fma);
  EXPECT_EQ(a->tile.extraUnits[1].count, 64);
  EXPECT_EQ(a->links.count, 12);
  EXPECT_EQ(a->nodes.devicesPerNode, 8);
}

TEST(ArchSpec, DefaultsApplyOnlyToOptionalKeys) {
  const char *text = R"(name: minimal
technology: {node: 5nm, clock_ghz: 2}
tiles: 2
tile:
  tensor_unit: {rows: 4, cols: 4, dot_width: 4, formats: [{format: bf16, rate: 1}]}
  vector_unit: {lanes: 4, formats: [fp32]}
  sram_kib: 8
  accumulator_kib: 1
global_buffer_mib: 1
noc: {bandwidth_gbps: 10}
hbm: {stacks: 1, bandwidth_gbps_per_stack: 100, capacity_gib_per_stack: 8}
links: {count: 0, bandwidth_gbps_per_link: 25}
)";
  Expected<ArchSpec> s = parseArchSpec(text, "minimal.yaml");
  ASSERT_TRUE(s.ok()) << s.error().render();
  EXPECT_EQ(s->spareTiles, 0);
  EXPECT_EQ(s->tile.control, ControlStyle::Dataflow);
  EXPECT_EQ(s->tile.tensor.accumulate, Format::FP32);
  EXPECT_TRUE(s->tile.tensor.sparsityPatterns.empty());
  EXPECT_FALSE(s->tile.tensor.formats[0].sparse);
  EXPECT_FALSE(s->tile.tensor.zeroSkipActivations);
  EXPECT_FALSE(s->overrides.any());
  EXPECT_EQ(s->nodes.devicesPerNode, 8);
  EXPECT_EQ(s->nodes.networkGBpsPerDevice, 25);
}

TEST(ArchSpec, RoundTripsOverridesOddNamesAndFractions) {
  Expected<ArchSpec> s = loadArchSpec(kSource + "/examples/arch/small-test.yaml");
  ASSERT_TRUE(s.ok()) << s.error().render();
  ArchSpec spec = *s;
  spec.name = "odd \"name\" with \\ and: colon # hash";
  spec.overrides.fp16FpuUm2 = 250.125;
  spec.overrides.staticWPerMm2 = 0;
  spec.overrides.nocMm2PerTbps = 1.0 / 3.0;
  spec.technology.clockGhz = 0.1 + 0.2; // not exactly representable in decimal
  spec.globalBufferMib = 1e-3;
  spec.tile.extraUnits.push_back({"dsp: \"x\"", ExtraUnitKind::Custom, 3, 12.5});
  spec.tile.extraUnits.push_back({"fp64", ExtraUnitKind::Fp64Fma, 1, std::nullopt});
  std::string written = writeArchSpecYaml(spec);
  Expected<ArchSpec> back = parseArchSpec(written, "written.yaml");
  ASSERT_TRUE(back.ok()) << back.error().render() << written;
  EXPECT_TRUE(*back == spec) << written;
  EXPECT_EQ(back->name, spec.name);
  EXPECT_EQ(back->technology.clockGhz, 0.1 + 0.2);
  EXPECT_EQ(*back->overrides.nocMm2PerTbps, 1.0 / 3.0);
}

TEST(ArchSpec, WriterIsDeterministicAndOrdered) {
  Expected<ArchSpec> s = loadArchSpec(kSource + "/examples/arch/tessera-train-7nm.yaml");
  ASSERT_TRUE(s.ok()) << s.error().render();
  std::string a = writeArchSpecYaml(*s), b = writeArchSpecYaml(*s);
  EXPECT_EQ(a, b);
  // Schema order: name before technology before tiles before tile before hbm.
  size_t name = a.find("\nname:"), tech = a.find("\ntechnology:"), tiles = a.find("\ntiles:"),
         tile = a.find("\ntile:"), hbm = a.find("\nhbm:");
  EXPECT_LT(name, tech);
  EXPECT_LT(tech, tiles);
  EXPECT_LT(tiles, tile);
  EXPECT_LT(tile, hbm);
  EXPECT_NE(a.find("patterns: [\"2:4\"]"), std::string::npos) << a;
}

TEST(ArchSpec, FormatTable) {
  Format f;
  ASSERT_TRUE(formatFromName("fp8_e4m3", f));
  EXPECT_EQ(f, Format::FP8E4M3);
  EXPECT_EQ(formatInfo(Format::FP8E4M3).significandBits, 4);
  EXPECT_EQ(formatInfo(Format::MXFP8).storageBits, 8.25);
  EXPECT_EQ(formatInfo(Format::MXFP4).storageBits, 4.25);
  EXPECT_TRUE(formatInfo(Format::MXINT8).isInteger);
  EXPECT_FALSE(formatFromName("fp7", f));
  EXPECT_FALSE(isTensorFormat(Format::FP32));
  EXPECT_TRUE(isVectorFormat(Format::FP32));
  for (Format g : allFormats()) {
    Format back;
    ASSERT_TRUE(formatFromName(formatName(g), back));
    EXPECT_EQ(back, g);
  }
}

//===----------------------------------------------------------------------===//
// Bad specs
//===----------------------------------------------------------------------===//

namespace {
struct Expectation {
  std::string headline; ///< "LINE:COL: error[id]: message", without the file name
  std::vector<std::string> notes;
};

std::vector<Expectation> expectationsOf(const std::string &text) {
  std::vector<Expectation> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# expect: ", 0) == 0)
      out.push_back({line.substr(10), {}});
    else if (line.rfind("# note: ", 0) == 0 && !out.empty())
      out.back().notes.push_back(line.substr(8));
  }
  return out;
}
} // namespace

/// Check one *-bad.yaml against its header; ASSERTs end only this file's check.
void checkBadFile(const std::string &f) {
  SCOPED_TRACE(f);
  Expected<std::string> text = readTextFile(kSource + "/" + f);
  ASSERT_TRUE(text.ok());
  std::vector<Expectation> expected = expectationsOf(*text);
  ASSERT_FALSE(expected.empty()) << "no '# expect:' line";

  DiagnosticEngine diags;
  Expected<ArchSpec> spec = parseArchSpec(*text, f, &diags);
  ASSERT_FALSE(spec.ok());
  std::vector<const Diagnostic *> errors;
  for (const Diagnostic &d : diags.diagnostics())
    if (d.severity == Severity::Error)
      errors.push_back(&d);
  ASSERT_EQ(errors.size(), expected.size()) << render(diags);
  // The Expected carries the first error.
  EXPECT_EQ(spec.error().headline(), errors[0]->headline());
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i]->headline(), f + ":" + expected[i].headline) << render(diags);
    std::vector<std::string> notes;
    for (const Diagnostic &n : errors[i]->notes)
      notes.push_back(n.message);
    EXPECT_EQ(notes, expected[i].notes) << render(diags);
    // The rendering quotes the offending line with a caret.
    EXPECT_NE(errors[i]->render().find("^"), std::string::npos) << errors[i]->render();
  }
}

TEST(ArchSpec, EveryBadFileFailsWithItsExpectedDiagnostics) {
  std::vector<std::string> files = filesIn("tests/data/arch", "-bad.yaml");
  ASSERT_GE(files.size(), 20u);
  for (const std::string &f : files)
    checkBadFile(f);
}

TEST(ArchSpec, ReportsEveryErrorOfAFileAtOnce) {
  const char *text = R"(name: two-mistakes
technology: {node: 7nm, clock_ghz: 0}
tiles: -1
tile:
  tensor_unit: {rows: 4, cols: 4, dot_width: 4, formats: [{format: bf16, rate: 1}]}
  vector_unit: {lanes: 4, formats: [fp32]}
  sram_kib: 8
  accumulator_kib: 1
global_buffer_mib: 1
noc: {bandwidth_gbps: 10}
hbm: {stacks: 1, bandwidth_gbps_per_stack: 100, capacity_gib_per_stack: 8}
links: {count: 0, bandwidth_gbps_per_link: 25}
)";
  DiagnosticEngine diags;
  Expected<ArchSpec> s = parseArchSpec(text, "two.yaml", &diags);
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(diags.errorCount(), 2u) << render(diags);
  EXPECT_EQ(diags.diagnostics()[0].headline(),
            "two.yaml:2:36: error[bad-value]: key 'technology.clock_ghz' must be in [0.01, "
            "10], got 0");
  EXPECT_EQ(diags.diagnostics()[1].headline(),
            "two.yaml:3:8: error[bad-value]: key 'tiles' must be positive, got -1");
}

TEST(ArchSpec, MissingFileIsAnIoError) {
  Expected<ArchSpec> s = loadArchSpec(kSource + "/examples/arch/no-such-spec.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().id, "io-error");
}

TEST(ArchSpec, NonFiniteNumbersAreRejected) {
  Expected<ArchSpec> s = loadArchSpec(kSource + "/examples/arch/small-test.yaml");
  ASSERT_TRUE(s.ok());
  std::string text = writeArchSpecYaml(*s);
  for (const char *bad : {".inf", ".nan", "-1"}) {
    std::string t = text;
    size_t p = t.find("bandwidth_gbps: ");
    ASSERT_NE(p, std::string::npos);
    size_t end = t.find('\n', p);
    t.replace(p, end - p, std::string("bandwidth_gbps: ") + bad);
    Expected<ArchSpec> r = parseArchSpec(t, "x.yaml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().id, "bad-value") << r.error().render();
  }
}

// A light, deterministic fuzz pass: mutated examples (bytes flipped, lines dropped or
// duplicated, numbers replaced) must load or fail with a located, id-tagged error, never
// crash or hang; whatever loads must round-trip.
TEST(ArchSpec, MutatedSpecsFailCleanly) {
  std::mt19937 rng(12345);
  const char *numbers[] = {"0", "-1", "1e309", "0.5", "99999999999999999999", "3", ".nan"};
  for (const std::string &f : filesIn("examples/arch", ".yaml")) {
    Expected<std::string> text = readTextFile(kSource + "/" + f);
    ASSERT_TRUE(text.ok());
    std::vector<std::string> lines;
    std::istringstream in(*text);
    for (std::string l; std::getline(in, l);)
      lines.push_back(l);
    for (int iter = 0; iter < 300; ++iter) {
      std::vector<std::string> m = lines;
      size_t i = rng() % m.size();
      switch (rng() % 4) {
      case 0: // flip a byte
        if (!m[i].empty())
          m[i][rng() % m[i].size()] = char(32 + rng() % 95);
        break;
      case 1: // drop a line
        m.erase(m.begin() + long(i));
        break;
      case 2: // duplicate a line
        m.insert(m.begin() + long(i), m[i]);
        break;
      case 3: { // replace the value after a colon with a number
        size_t c = m[i].find(": ");
        if (c != std::string::npos)
          m[i] = m[i].substr(0, c + 2) + numbers[rng() % std::size(numbers)];
        break;
      }
      }
      std::string mutated;
      for (const std::string &l : m)
        mutated += l + "\n";
      Expected<ArchSpec> s = parseArchSpec(mutated, "mutated.yaml");
      if (s.ok()) {
        Expected<ArchSpec> back = parseArchSpec(writeArchSpecYaml(*s), "written.yaml");
        ASSERT_TRUE(back.ok()) << back.error().render() << mutated;
        EXPECT_TRUE(*back == *s) << mutated;
      } else {
        EXPECT_FALSE(s.error().id.empty()) << s.error().render();
        EXPECT_TRUE(s.error().loc.known()) << s.error().render();
      }
    }
  }
}
