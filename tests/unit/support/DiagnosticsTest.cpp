//===- DiagnosticsTest.cpp - Diagnostic rendering, closestMatch, Expected ---===//
#include "support/Diagnostics.h"
#include "support/Expected.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace tessera;

namespace {

SourceLoc at(std::string file, uint32_t line, uint32_t col) { return {std::move(file), line, col}; }

TEST(Diagnostics, HeadlineFormat) {
  Diagnostic d = Diagnostic::error("unknown-key", "unknown key 'rowz'", at("a.yaml", 3, 5));
  EXPECT_EQ(d.headline(), "a.yaml:3:5: error[unknown-key]: unknown key 'rowz'");
  EXPECT_EQ(Diagnostic::warning("w-id", "careful", at("f", 2, 0)).headline(),
            "f:2: warning[w-id]: careful");
  EXPECT_EQ(Diagnostic::note("plain").headline(), "note: plain");
}

TEST(Diagnostics, RenderWithSourceLineCaretAndNotes) {
  Diagnostic d = Diagnostic::error("unknown-key", "unknown key 'rowz'", at("a.yaml", 3, 3));
  d.withSourceLine("  rowz: 4").withNote(Diagnostic::note("did you mean 'rows'?"));
  EXPECT_EQ(d.render(), "a.yaml:3:3: error[unknown-key]: unknown key 'rowz'\n"
                        "    rowz: 4\n"
                        "    ^\n"
                        "note: did you mean 'rows'?\n");
  std::ostringstream os;
  os << d;
  EXPECT_EQ(os.str(), d.render());
}

TEST(Diagnostics, CaretKeepsTabs) {
  Diagnostic d = Diagnostic::error("x", "m", at("f", 1, 3));
  d.withSourceLine("\ta=1");
  EXPECT_EQ(d.render(), "f:1:3: error[x]: m\n  \ta=1\n  \t ^\n");
}

TEST(Diagnostics, EngineCountsErrorsInOrder) {
  DiagnosticEngine eng;
  EXPECT_FALSE(eng.hasErrors());
  eng.report(Diagnostic::warning("w", "first"));
  eng.report(Diagnostic::error("e", "second"));
  eng.report(Diagnostic::error("e", "third"));
  EXPECT_TRUE(eng.hasErrors());
  EXPECT_EQ(eng.errorCount(), 2u);
  std::ostringstream os;
  eng.print(os);
  EXPECT_EQ(os.str(), "warning[w]: first\nerror[e]: second\nerror[e]: third\n");
}

TEST(Diagnostics, ClosestMatch) {
  std::vector<std::string> keys = {"rows", "cols", "clock_ghz", "sram_kib"};
  EXPECT_EQ(closestMatch("rowz", keys), "rows");
  EXPECT_EQ(closestMatch("clock_gz", keys), "clock_ghz");
  EXPECT_EQ(closestMatch("sram_kb", keys), "sram_kib");
  EXPECT_EQ(closestMatch("frequency", keys), "");
  EXPECT_EQ(closestMatch("x", {}), "");
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
}

TEST(Diagnostics, LocateOffset) {
  std::string_view text = "ab\ncde\n\nf";
  SourceLoc l = locateOffset(text, 4, "t");
  EXPECT_EQ(l.str(), "t:2:2");
  EXPECT_EQ(locateOffset(text, 0, "t").str(), "t:1:1");
  EXPECT_EQ(locateOffset(text, 8, "t").str(), "t:4:1");
  EXPECT_EQ(locateOffset(text, 999, "t").str(), "t:4:2");
  EXPECT_EQ(locateOffset("x\n\n", 3, "t").str(), "t:1:2"); // end: after last visible char
  EXPECT_EQ(sourceLineAt(text, 2), "cde");
  EXPECT_EQ(sourceLineAt("a\r\nb", 1), "a");
  EXPECT_EQ(sourceLineAt(text, 9), "");
}

Expected<int> parsePositive(int v) {
  if (v <= 0)
    return Diagnostic::error("bad-value", "not positive: " + std::to_string(v));
  return v;
}

Expected<int> doubled(int v) {
  TRY_ASSIGN(int x, parsePositive(v));
  return 2 * x;
}

Status checkBoth(int a, int b) {
  TRY(parsePositive(a));
  TRY(parsePositive(b));
  return Status::success();
}

TEST(Expected, ValueAndError) {
  Expected<int> ok = parsePositive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  Expected<int> bad = parsePositive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().id, "bad-value");
  Diagnostic d = std::move(bad).takeError();
  EXPECT_EQ(d.message, "not positive: -1");
}

TEST(Expected, TryMacrosPropagate) {
  EXPECT_EQ(*doubled(4), 8);
  Expected<int> e = doubled(0);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "not positive: 0");
  EXPECT_TRUE(checkBoth(1, 2).ok());
  Status s = checkBoth(1, -7);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "not positive: -7");
}

} // namespace
