//===- HtmlSvgTest.cpp - report pages and charts: escaping, XML, determinism ===//
#include "support/Html.h"
#include "support/Svg.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

using namespace tessera;

namespace {

/// A tiny well-formedness check: tags balance and nest, attribute values are quoted and
/// contain no '<', and every '&' starts an entity. Elements in `voidTags` (HTML's <meta>)
/// need no end tag. Returns "" when well-formed, else what is wrong.
std::string checkWellFormed(const std::string &s, const std::set<std::string> &voidTags = {}) {
  std::vector<std::string> stack;
  static const std::regex entity("^&(amp|lt|gt|quot|apos|#[0-9]+);");
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '&') {
      if (!std::regex_search(s.substr(i, 8), entity))
        return "bare '&' at " + std::to_string(i);
      ++i;
      continue;
    }
    if (c != '<') {
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      size_t e = s.find("-->", i);
      if (e == std::string::npos)
        return "unterminated comment";
      i = e + 3;
      continue;
    }
    if (s.compare(i, 2, "<!") == 0 || s.compare(i, 2, "<?") == 0) {
      i = s.find('>', i) + 1;
      continue;
    }
    bool closing = s[i + 1] == '/';
    size_t p = i + (closing ? 2 : 1);
    size_t nameEnd = s.find_first_of(" \t\n/>", p);
    std::string name = s.substr(p, nameEnd - p);
    if (name.empty() || !std::isalpha((unsigned char)name[0]))
      return "bad tag name at " + std::to_string(i);
    p = nameEnd;
    bool selfClosing = false;
    for (;;) { // attributes
      while (p < s.size() && std::isspace((unsigned char)s[p]))
        ++p;
      if (p >= s.size())
        return "unterminated tag " + name;
      if (s[p] == '>') {
        ++p;
        break;
      }
      if (s.compare(p, 2, "/>") == 0) {
        selfClosing = true;
        p += 2;
        break;
      }
      if (closing)
        return "attributes on end tag " + name;
      size_t eq = s.find('=', p);
      if (eq == std::string::npos || s[eq + 1] != '"')
        return "unquoted attribute in " + name;
      size_t close = s.find('"', eq + 2);
      if (close == std::string::npos)
        return "unterminated attribute in " + name;
      std::string value = s.substr(eq + 2, close - eq - 2);
      if (value.find('<') != std::string::npos)
        return "'<' in attribute of " + name;
      p = close + 1;
    }
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return "mismatched </" + name + ">";
      stack.pop_back();
    } else if (!selfClosing && !voidTags.count(name)) {
      stack.push_back(name);
    }
    i = p;
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

size_t count(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    ++n;
  return n;
}

TEST(Html, EscapesText) {
  EXPECT_EQ(escapeHtml("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(escapeXml("ctl\x01"), "ctl ");
}

TEST(Html, LooksNumeric) {
  for (const char *yes : {"1", "-3.5", "+2e9", "1,024", "12 ms", "1.45x", "37%", ".5", "3 GB/s"})
    EXPECT_TRUE(looksNumeric(yes)) << yes;
  for (const char *no : {"", "abc", "v1.2", "GPT-2", "2024-01-01", "3x3", "-", "e5"})
    EXPECT_FALSE(looksNumeric(no)) << no;
}

TEST(Html, DocumentIsSelfContainedAndEscaped) {
  HtmlDoc doc("Report <draft> & notes");
  doc.heading(2, "Summary & <results>")
      .paragraph("a < b && c > d")
      .keyValues({{"speed-up", "1.52x"}, {"design", "<tile>"}})
      .table({"layer", "time (ms)", "note"},
             {{"qkv", "1.25", "fused"}, {"mlp", "12", "-"}, {"<attn>", "n/a", "x & y"}},
             {.caption = "per layer"})
      .list({"one", "<two>"})
      .preformatted("error[x]: <bad>\n  ^")
      .figure(LinePlot("p").line("s", {{0, 1}, {1, 2}}).render(), "a \"plot\"");
  std::string html = doc.render();
  EXPECT_EQ(checkWellFormed(html, {"meta"}), "");
  EXPECT_NE(html.find("<title>Report &lt;draft&gt; &amp; notes</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>Report &lt;draft&gt; &amp; notes</h1>"), std::string::npos);
  EXPECT_NE(html.find("<h2>Summary &amp; &lt;results&gt;</h2>"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;attn&gt;</td>"), std::string::npos);
  // The time column is numeric ("n/a" ignored), the text columns are not.
  EXPECT_NE(html.find("<th class=\"num\">time (ms)</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">1.25</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>layer</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>fused</td>"), std::string::npos);
  EXPECT_NE(html.find("<figcaption>a &quot;plot&quot;</figcaption>"), std::string::npos);
  // Nothing fetched or run: no scripts, links, imports or URLs besides the SVG namespace.
  for (const char *bad : {"<script", "src=", "href=", "@import", "url(", "<link"})
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  EXPECT_EQ(count(html, "http"), count(html, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(html, doc.render());
}

TEST(Html, ExplicitAlignmentWins) {
  HtmlDoc doc("t");
  doc.table({"a", "b"}, {{"1", "2"}}, {.align = {Align::Left, Align::Auto}});
  std::string html = doc.render();
  EXPECT_NE(html.find("<tr><td>1</td><td class=\"num\">2</td></tr>"), std::string::npos);
}

TEST(Svg, TickFormatting) {
  EXPECT_EQ(formatTick(0), "0");
  EXPECT_EQ(formatTick(-0.0), "0");
  EXPECT_EQ(formatTick(0.25), "0.25");
  EXPECT_EQ(formatTick(0.1 + 0.2), "0.3");
  EXPECT_EQ(formatTick(1500), "1500");
  EXPECT_EQ(formatTick(1e12), "1e12");
  EXPECT_EQ(formatTick(2.5e-4), "2.5e-4");
  EXPECT_EQ(formatTick(-3e6), "-3e6");
  EXPECT_EQ(formatFixed(2.50), "2.5");
  EXPECT_EQ(formatFixed(-0.001), "0");
  EXPECT_EQ(formatFixed(12.0, 3), "12");
}

LinePlot roofline() {
  LinePlot p("Roofline <A800 budget>");
  p.size(720, 420)
      .xAxis({"arithmetic intensity (FLOP/B)", true})
      .yAxis({"TFLOP/s", true})
      .line("roof", {{0.1, 0.2}, {156, 312}, {1e4, 312}})
      .line("A100 roof", {{0.1, 0.16}, {153, 312}, {1e4, 312}}, /*dashed=*/true)
      .scatter("layers", {{12, 20}, {300, 250}, {0, 5}, {-1, 3}}, {"qkv", "mlp & gelu"});
  return p;
}

TEST(Svg, LinePlotIsWellFormedAndDeterministic) {
  std::string a = roofline().render();
  std::string b = roofline().render();
  EXPECT_EQ(a, b);
  EXPECT_EQ(checkWellFormed(a), "");
  EXPECT_EQ(a.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(count(a, "<svg"), 2u); // root + clipping viewport
  EXPECT_EQ(count(a, "<polyline"), 2u);
  EXPECT_NE(a.find("stroke-dasharray"), std::string::npos);
  // Points at x <= 0 cannot be drawn on a log axis: 2 markers + 1 legend marker.
  EXPECT_EQ(count(a, "<circle"), 3u);
  EXPECT_NE(a.find(">mlp &amp; gelu</text>"), std::string::npos);
  EXPECT_NE(a.find("Roofline &lt;A800 budget&gt;"), std::string::npos);
  // Log x axis from 0.1 to 1e4: a tick per decade.
  for (const char *tick : {">0.1<", ">1<", ">10<", ">100<", ">1000<", ">10000<"})
    EXPECT_NE(a.find(tick), std::string::npos) << tick;
  // Legend names.
  for (const char *name : {">roof<", ">A100 roof<", ">layers<"})
    EXPECT_NE(a.find(name), std::string::npos) << name;
  EXPECT_EQ(a.find("nan"), std::string::npos);
  EXPECT_EQ(a.find("inf"), std::string::npos);
}

TEST(Svg, LinearAxesUseNiceTicks) {
  LinePlot p;
  p.xAxis({"x"}).yAxis({"y"}).line("", {{0, 0.13}, {9.5, 0.87}});
  std::string s = p.render();
  EXPECT_EQ(checkWellFormed(s), "");
  for (const char *tick : {">0<", ">2<", ">4<", ">6<", ">8<", ">10<", ">0.2<", ">0.8<", ">1<"})
    EXPECT_NE(s.find(tick), std::string::npos) << tick;
  EXPECT_EQ(s.find("<circle"), std::string::npos); // unnamed line: no legend, no markers
}

TEST(Svg, EmptyPlotStillRenders) {
  std::string s = LinePlot("empty").render();
  EXPECT_EQ(checkWellFormed(s), "");
}

BarChart breakdown(BarChart::Mode mode) {
  BarChart c("Step time <ms>");
  c.mode(mode)
      .series({"compute", "memory", "comm & sync"})
      .valueLabel("time (ms)")
      .bar("forward", {12.5, 3.25, 1})
      .bar("backward", {25, 6.5, 2})
      .bar("optimizer", {0.5, 4});
  return c;
}

TEST(Svg, StackedBarChart) {
  std::string a = breakdown(BarChart::Mode::Stacked).render();
  EXPECT_EQ(a, breakdown(BarChart::Mode::Stacked).render());
  EXPECT_EQ(checkWellFormed(a), "");
  EXPECT_EQ(count(a, "<rect"), 1u + 3 + 9);        // background, legend swatches, segments
  EXPECT_NE(a.find(">16.75<"), std::string::npos); // forward total
  EXPECT_NE(a.find(">33.5<"), std::string::npos);
  EXPECT_NE(a.find(">comm &amp; sync<"), std::string::npos);
  EXPECT_NE(a.find("<title>backward / memory: 6.5</title>"), std::string::npos);
}

TEST(Svg, GroupedBarChartWithNegatives) {
  BarChart c = breakdown(BarChart::Mode::Grouped);
  c.bar("delta", {-3, 2, 0});
  std::string a = c.render();
  EXPECT_EQ(a, c.render());
  EXPECT_EQ(checkWellFormed(a), "");
  EXPECT_NE(a.find(">-3<"), std::string::npos);
  EXPECT_EQ(a.find("width=\"-"), std::string::npos); // no negative widths
}

} // namespace
