//===- JsonTest.cpp - JSON loading with locations, deterministic writing ---===//
#include "support/Json.h"
#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <cstdio>

using namespace tessera;

namespace {

TEST(Json, ParsesGoodText) {
  Expected<nlohmann::json> j = parseJson(R"({"b": [1, 2.5, "x"], "a": {"c": null}})");
  ASSERT_TRUE(j.ok()) << j.error().render();
  EXPECT_EQ((*j)["b"][1].get<double>(), 2.5);
  EXPECT_TRUE((*j)["a"]["c"].is_null());
}

TEST(Json, SyntaxErrorLineColBad) {
  std::string text = "{\n  \"a\": 1,\n  \"b\": ,\n  \"c\": 3\n}\n";
  Expected<nlohmann::json> j = parseJson(text, "report.json");
  ASSERT_FALSE(j.ok());
  const Diagnostic &d = j.error();
  EXPECT_EQ(d.id, "json-syntax");
  EXPECT_EQ(d.loc.str(), "report.json:3:8");
  EXPECT_EQ(d.sourceLine, "  \"b\": ,");
  EXPECT_EQ(d.message.rfind("syntax error while parsing value", 0), 0u) << d.message;
  EXPECT_EQ(d.render().substr(d.render().find('\n') + 1), "    \"b\": ,\n         ^\n");
}

TEST(Json, UnexpectedEndBad) {
  Expected<nlohmann::json> j = parseJson("{\"a\": [1, 2\n", "t.json");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().loc.str(), "t.json:1:12");
  EXPECT_EQ(j.error().sourceLine, "{\"a\": [1, 2");
}

TEST(Json, TrailingCommaAndCommentsBad) {
  EXPECT_FALSE(parseJson("[1, 2,]").ok());
  Expected<nlohmann::json> j = parseJson("{\n// no comments in JSON\n}", "c.json");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().loc.line, 2u);
}

TEST(Json, OrderedParseKeepsOrder) {
  Expected<nlohmann::ordered_json> j = parseOrderedJson(R"({"z": 1, "a": 2})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(writeJson(*j, {-1, 0, false}), R"({"z":1,"a":2})");
}

TEST(Json, WriterIsDeterministic) {
  nlohmann::json sorted;
  sorted["zeta"] = 0.1;
  sorted["alpha"] = 3;
  sorted["mid"] = {1.0, 1e21, -0.0, 1.0 / 3.0};
  EXPECT_EQ(writeJson(sorted), "{\n  \"alpha\": 3,\n  \"mid\": [\n    1.0,\n    1e+21,\n    -0.0,\n"
                               "    0.3333333333333333\n  ],\n  \"zeta\": 0.1\n}\n");

  nlohmann::ordered_json ordered;
  ordered["zeta"] = std::nan("");
  ordered["alpha"] = "caf\xc3\xa9 \xff";
  EXPECT_EQ(writeJson(ordered, {.indent = -1}),
            "{\"zeta\":null,\"alpha\":\"caf\xc3\xa9 \xef\xbf\xbd\"}\n");
}

TEST(Json, WriterIgnoresLocale) {
  const char *old = std::setlocale(LC_NUMERIC, nullptr);
  std::string saved = old ? old : "C";
  // de_DE uses ',' as the decimal separator; skip the switch if it is not installed.
  std::setlocale(LC_NUMERIC, "de_DE.UTF-8");
  nlohmann::json j = 2.5;
  EXPECT_EQ(writeJson(j, {.indent = -1, .trailingNewline = false}), "2.5");
  std::setlocale(LC_NUMERIC, saved.c_str());
}

TEST(Json, SignificantDigitRounding) {
  nlohmann::json j = {{"x", 0.1 + 0.2}, {"y", 123456.789}, {"n", 7}};
  EXPECT_EQ(writeJson(j, {.indent = -1, .significantDigits = 6, .trailingNewline = false}),
            R"({"n":7,"x":0.3,"y":123457.0})");
  EXPECT_EQ(roundSignificant(0.000123456, 2), 0.00012);
  EXPECT_TRUE(std::isinf(roundSignificant(INFINITY, 3)));
}

TEST(Json, FileRoundTrip) {
  std::string path = std::string(TESSERA_BINARY_DIR) + "/json-test-roundtrip.json";
  nlohmann::json j = {{"k", {1, 2, 3}}};
  ASSERT_TRUE(writeTextFile(path, writeJson(j)).ok());
  Expected<nlohmann::json> back = loadJsonFile(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, j);
  std::remove(path.c_str());
  Expected<nlohmann::json> missing = loadJsonFile(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().id, "io-error");
}

} // namespace
