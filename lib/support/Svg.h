//===- Svg.h - deterministic inline SVG charts for reports -----------------===//
//
// Charts for HTML reports, written as self-contained SVG text (no scripts, no external
// fonts or styles, tooltips through <title> elements): a line/scatter plot with linear or
// log axes and several series (roofline and Pareto plots), and a horizontal bar chart,
// grouped or stacked (time and area breakdowns). Axis ticks use Heckbert's "nice
// numbers" (Graphics Gems, 1990) on linear axes and powers of ten on log axes.
//
// Output is deterministic: coordinates are printed with fixed decimals through fmt
// (locale-independent), colors come from a fixed palette in series order, and nothing
// depends on time or addresses. All text is XML-escaped. Element ids are not used, so
// any number of charts can be inlined into one page.
//
//   LinePlot p("Roofline");
//   p.xAxis({"arithmetic intensity (FLOP/B)", /*log=*/true})
//    .yAxis({"TFLOP/s", /*log=*/true})
//    .line("roof", {{0.1, 0.2}, {100, 200}, {1e4, 200}})
//    .scatter("layers", {{12, 80}, {300, 190}}, {"qkv", "mlp"});
//   std::string svg = p.render();
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera {

/// Escape &, <, >, " and ' for XML/HTML text and attribute values.
std::string escapeXml(std::string_view s);

/// `v` with `decimals` fixed decimals, trailing zeros trimmed, "-0" printed as "0".
/// Locale-independent.
std::string formatFixed(double v, int decimals = 2);

/// Compact tick / value label: "0", "0.25", "1500", "1e12", "2.5e-4".
std::string formatTick(double v);

/// The fixed series palette (colorblind-friendly Tableau 10), cycled by series index.
const std::string &paletteColor(size_t index);

struct PlotAxis {
  std::string label{};
  bool log = false;            ///< base-10 log scale; non-positive values are not drawn
  std::optional<double> min{}; ///< fixed lower bound (else from the data, rounded out)
  std::optional<double> max{}; ///< fixed upper bound (else from the data, rounded out)
};

enum class SeriesStyle : unsigned char { Line, Markers, LineAndMarkers };

struct PlotSeries {
  std::string name{};                              ///< legend text; "" keeps it out of the legend
  std::vector<std::pair<double, double>> points{}; ///< (x, y), drawn in this order
  SeriesStyle style = SeriesStyle::LineAndMarkers;
  std::string color{}; ///< CSS color; "" picks paletteColor(index)
  bool dashed = false;
  std::vector<std::string> pointLabels{}; ///< optional text beside each point
};

/// Line / scatter plot with axes, ticks, grid, axis labels and a legend.
class LinePlot {
public:
  explicit LinePlot(std::string title = "") : title_(std::move(title)) {}

  LinePlot &size(int width, int height);
  LinePlot &xAxis(PlotAxis axis);
  LinePlot &yAxis(PlotAxis axis);
  LinePlot &addSeries(PlotSeries series);
  /// A polyline through `points`.
  LinePlot &line(std::string name, std::vector<std::pair<double, double>> points,
                 bool dashed = false);
  /// Unconnected markers, optionally labelled.
  LinePlot &scatter(std::string name, std::vector<std::pair<double, double>> points,
                    std::vector<std::string> labels = {});

  std::string render() const;

private:
  std::string title_;
  int width_ = 640;
  int height_ = 400;
  PlotAxis x_, y_;
  std::vector<PlotSeries> series_;
};

/// Horizontal bar chart: one row per category, one value per series. Grouped mode draws
/// a bar per series in each row; stacked mode puts the series end to end (negative
/// values stack leftwards from zero) and prints the row total.
class BarChart {
public:
  enum class Mode : unsigned char { Grouped, Stacked };

  explicit BarChart(std::string title = "") : title_(std::move(title)) {}

  BarChart &width(int width);
  BarChart &mode(Mode mode);
  /// Names of the series (segments); a legend is drawn when there are two or more.
  BarChart &series(std::vector<std::string> names);
  /// One row; `values` has one entry per series (missing entries count as 0).
  BarChart &bar(std::string label, std::vector<double> values);
  /// Label of the value axis, e.g. "time (ms)".
  BarChart &valueLabel(std::string label);

  std::string render() const;

private:
  std::string title_;
  int width_ = 640;
  Mode mode_ = Mode::Stacked;
  std::vector<std::string> series_;
  std::vector<std::pair<std::string, std::vector<double>>> rows_;
  std::string valueLabel_;
};

} // namespace tessera
