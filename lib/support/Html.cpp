//===- Html.cpp - self-contained HTML report pages -------------------------===//
#include "support/Html.h"

#include "support/Svg.h"

#include <algorithm>
#include <cctype>

namespace tessera {

namespace {

const char *const kStyle = R"css(
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #4e79a7; padding-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 1.6em; }
h3, h4, h5, h6 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
caption { text-align: left; font-weight: bold; padding-bottom: .3em; }
th, td { border: 1px solid #d0d0d0; padding: .25em .6em; vertical-align: top; }
th { background: #f0f3f7; text-align: left; }
tbody tr:nth-child(even) { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { background: none; font-weight: 600; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: .6em; overflow-x: auto; }
figure { margin: 1em 0; }
figcaption { font-size: .9em; color: #555; margin-top: .3em; }
)css";

bool isIgnorableCell(std::string_view c) { return c.empty() || c == "-" || c == "n/a"; }

} // namespace

std::string escapeHtml(std::string_view s) { return escapeXml(s); }

bool looksNumeric(std::string_view c) {
  size_t i = 0;
  auto digit = [&](size_t k) { return k < c.size() && std::isdigit((unsigned char)c[k]); };
  while (i < c.size() && c[i] == ' ')
    ++i;
  if (i < c.size() && (c[i] == '-' || c[i] == '+'))
    ++i;
  if (!digit(i) && !(i < c.size() && c[i] == '.' && digit(i + 1)))
    return false;
  while (digit(i) || (i < c.size() && (c[i] == ',' || c[i] == '_') && digit(i + 1)))
    ++i;
  if (i < c.size() && c[i] == '.') {
    ++i;
    while (digit(i))
      ++i;
  }
  if (i < c.size() && (c[i] == 'e' || c[i] == 'E')) {
    size_t k = i + 1;
    if (k < c.size() && (c[k] == '-' || c[k] == '+'))
      ++k;
    if (digit(k)) {
      i = k;
      while (digit(i))
        ++i;
    }
  }
  // Optional unit: up to 8 more characters without digits ("ms", " GB/s", "x", "%").
  std::string_view rest = c.substr(i);
  return rest.size() <= 8 && std::none_of(rest.begin(), rest.end(),
                                          [](char ch) { return std::isdigit((unsigned char)ch); });
}

HtmlDoc::HtmlDoc(std::string title) : title_(std::move(title)) {}

HtmlDoc &HtmlDoc::heading(int level, std::string_view text) {
  level = std::clamp(level, 2, 6);
  std::string tag = "h" + std::to_string(level);
  body_ += "<" + tag + ">" + escapeHtml(text) + "</" + tag + ">\n";
  return *this;
}

HtmlDoc &HtmlDoc::paragraph(std::string_view text) {
  body_ += "<p>" + escapeHtml(text) + "</p>\n";
  return *this;
}

HtmlDoc &HtmlDoc::preformatted(std::string_view text) {
  body_ += "<pre>" + escapeHtml(text) + "</pre>\n";
  return *this;
}

HtmlDoc &HtmlDoc::list(const std::vector<std::string> &items) {
  body_ += "<ul>\n";
  for (const std::string &item : items)
    body_ += "<li>" + escapeHtml(item) + "</li>\n";
  body_ += "</ul>\n";
  return *this;
}

HtmlDoc &HtmlDoc::table(const std::vector<std::string> &headers,
                        const std::vector<std::vector<std::string>> &rows,
                        const TableOptions &opts) {
  size_t cols = headers.size();
  for (const auto &r : rows)
    cols = std::max(cols, r.size());

  std::vector<bool> right(cols, false);
  for (size_t c = 0; c < cols; ++c) {
    Align a = c < opts.align.size() ? opts.align[c] : Align::Auto;
    if (a != Align::Auto) {
      right[c] = a == Align::Right;
      continue;
    }
    bool any = false, all = true;
    for (const auto &r : rows) {
      std::string_view cell = c < r.size() ? std::string_view(r[c]) : std::string_view();
      if (isIgnorableCell(cell))
        continue;
      any = true;
      all = all && looksNumeric(cell);
    }
    right[c] = any && all;
  }
  auto cellOpen = [&](const char *tag, size_t c) {
    return std::string("<") + tag + (right[c] ? " class=\"num\">" : ">");
  };

  body_ += "<table>\n";
  if (!opts.caption.empty())
    body_ += "<caption>" + escapeHtml(opts.caption) + "</caption>\n";
  if (!headers.empty()) {
    body_ += "<thead><tr>";
    for (size_t c = 0; c < cols; ++c)
      body_ += cellOpen("th", c) + (c < headers.size() ? escapeHtml(headers[c]) : "") + "</th>";
    body_ += "</tr></thead>\n";
  }
  body_ += "<tbody>\n";
  for (const auto &r : rows) {
    body_ += "<tr>";
    for (size_t c = 0; c < cols; ++c)
      body_ += cellOpen("td", c) + (c < r.size() ? escapeHtml(r[c]) : "") + "</td>";
    body_ += "</tr>\n";
  }
  body_ += "</tbody>\n</table>\n";
  return *this;
}

HtmlDoc &HtmlDoc::keyValues(const std::vector<std::pair<std::string, std::string>> &items) {
  body_ += "<table class=\"kv\">\n<tbody>\n";
  for (const auto &[k, v] : items)
    body_ += "<tr><th>" + escapeHtml(k) + "</th><td" +
             (looksNumeric(v) ? std::string(" class=\"num\"") : std::string()) + ">" +
             escapeHtml(v) + "</td></tr>\n";
  body_ += "</tbody>\n</table>\n";
  return *this;
}

HtmlDoc &HtmlDoc::figure(std::string_view svg, std::string_view caption) {
  body_ += "<figure>\n";
  body_ += svg;
  if (!caption.empty())
    body_ += "<figcaption>" + escapeHtml(caption) + "</figcaption>\n";
  body_ += "</figure>\n";
  return *this;
}

HtmlDoc &HtmlDoc::raw(std::string_view html) {
  body_ += html;
  if (!html.empty() && html.back() != '\n')
    body_ += '\n';
  return *this;
}

std::string HtmlDoc::render() const {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + escapeHtml(title_) + "</title>\n";
  out += "<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n";
  out += "<h1>" + escapeHtml(title_) + "</h1>\n";
  out += body_;
  out += "</body>\n</html>\n";
  return out;
}

} // namespace tessera
