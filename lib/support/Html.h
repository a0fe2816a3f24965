//===- Html.h - self-contained HTML report pages ---------------------------===//
//
// Reports from explore, generate, hls and sim are single HTML files that open anywhere:
// inline CSS, inline SVG charts (support/Svg.h), no scripts and nothing fetched from the
// network. HtmlDoc appends blocks in order and renders the page; all text passed to it is
// escaped, except raw() / figure() markup, which the caller vouches for. Output is
// deterministic (no timestamps; same calls, same bytes).
//
//   HtmlDoc doc("explore: gpt2-small on 826 mm2");
//   doc.heading(2, "Best design").keyValues({{"speed-up vs A800", "1.52x"}});
//   doc.table({"design", "area (mm2)", "step (ms)"}, rows);
//   doc.figure(plot.render(), "Pareto front");
//   TRY(writeTextFile("report.html", doc.render()));
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera {

/// Escape text for HTML element content and attribute values.
std::string escapeHtml(std::string_view s);

/// Is a table cell a number, possibly with a unit or suffix ("1.5", "-3e9", "12 ms",
/// "1.45x", "37%", "1,024")? Numeric columns are right-aligned.
bool looksNumeric(std::string_view cell);

enum class Align : unsigned char { Auto, Left, Right };

struct TableOptions {
  /// Per-column alignment; missing or Auto entries right-align a column when every
  /// non-empty cell of it looksNumeric() (cells "-" and "n/a" are ignored).
  std::vector<Align> align{};
  std::string caption{};
};

class HtmlDoc {
public:
  /// A page titled `title`; the title is also rendered as the top-level <h1>.
  explicit HtmlDoc(std::string title);

  /// <h2>..<h6> (levels are clamped to 2..6: the page title is the only <h1>).
  HtmlDoc &heading(int level, std::string_view text);
  HtmlDoc &paragraph(std::string_view text);
  /// Monospaced block that keeps line breaks (diagnostics, command lines).
  HtmlDoc &preformatted(std::string_view text);
  /// Bulleted list.
  HtmlDoc &list(const std::vector<std::string> &items);
  /// Table from a header row and data rows of text; short rows are padded.
  HtmlDoc &table(const std::vector<std::string> &headers,
                 const std::vector<std::vector<std::string>> &rows, const TableOptions &opts = {});
  /// Two-column summary, keys on the left.
  HtmlDoc &keyValues(const std::vector<std::pair<std::string, std::string>> &items);
  /// Trusted markup (e.g. LinePlot::render()) in a <figure> with an optional caption.
  HtmlDoc &figure(std::string_view svg, std::string_view caption = {});
  /// Trusted markup inserted as is.
  HtmlDoc &raw(std::string_view html);

  /// The whole page.
  std::string render() const;

private:
  std::string title_;
  std::string body_;
};

} // namespace tessera
