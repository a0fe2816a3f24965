//===- Svg.cpp - deterministic inline SVG charts for reports ---------------===//
#include "support/Svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace tessera {

std::string escapeXml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      // Control characters other than tab/newline are not allowed in XML 1.0.
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
        out += ' ';
      else
        out += c;
    }
  }
  return out;
}

std::string formatFixed(double v, int decimals) {
  if (!std::isfinite(v))
    return "0";
  std::string s = fmt::format("{:.{}f}", v, std::max(0, decimals));
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0')
      s.pop_back();
    if (s.back() == '.')
      s.pop_back();
  }
  if (s == "-0")
    s = "0";
  return s;
}

/// `v` with at most `digits` significant digits, in e-notation outside [1e-3, 1e5).
static std::string formatSignificant(double v, int digits) {
  if (!std::isfinite(v))
    return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  if (v == 0)
    return "0";
  double a = std::fabs(v);
  if (a >= 1e5 || a < 1e-3) {
    int exp = int(std::floor(std::log10(a)));
    double mant = v / std::pow(10.0, exp);
    // Rounding may carry the mantissa to 10 (9.9996 -> 10.00): renormalize.
    double scale = std::pow(10.0, digits - 1);
    mant = std::round(mant * scale) / scale;
    if (std::fabs(mant) >= 10) {
      mant /= 10;
      ++exp;
    }
    return formatFixed(mant, digits - 1) + "e" + std::to_string(exp);
  }
  int exp = int(std::floor(std::log10(a)));
  return formatFixed(v, std::max(0, digits - 1 - exp));
}

std::string formatTick(double v) { return formatSignificant(v, 6); }

const std::string &paletteColor(size_t index) {
  static const std::array<std::string, 10> kPalette = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                                       "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                                       "#9c755f", "#bab0ac"};
  return kPalette[index % kPalette.size()];
}

namespace {

constexpr double kCharWidth = 7.0; ///< rough width of a 12px sans-serif character

double textWidth(const std::string &s) { return kCharWidth * double(s.size()); }

std::string num(double v) { return formatFixed(v, 2); }

/// Heckbert's nice number: 1, 2, 5 or 10 times a power of ten near x.
double niceNumber(double x, bool round) {
  if (!(x > 0) || !std::isfinite(x))
    return 1;
  double exp = std::floor(std::log10(x));
  double f = x / std::pow(10.0, exp);
  double nf;
  if (round)
    nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else
    nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * std::pow(10.0, exp);
}

/// A data range mapped onto a pixel interval, with its tick values.
struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  double p0 = 0, p1 = 1; ///< pixels for lo and hi
  std::vector<double> ticks;

  double map(double v) const {
    double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                   : (v - lo) / (hi - lo);
    return p0 + t * (p1 - p0);
  }
  bool drawable(double v) const { return std::isfinite(v) && (!log || v > 0); }
};

Scale linearScale(double dmin, double dmax, std::optional<double> fixedLo,
                  std::optional<double> fixedHi) {
  constexpr int kTicks = 6;
  Scale s;
  if (!(dmin <= dmax)) {
    dmin = 0;
    dmax = 1;
  }
  if (fixedLo)
    dmin = *fixedLo;
  if (fixedHi)
    dmax = *fixedHi;
  if (dmin == dmax) {
    double d = dmin == 0 ? 1 : std::fabs(dmin) * 0.5;
    if (!fixedLo)
      dmin -= d;
    if (!fixedHi)
      dmax += d;
    if (dmin == dmax)
      dmax = dmin + 1;
  }
  if (dmin > dmax)
    std::swap(dmin, dmax);
  double step = niceNumber(niceNumber(dmax - dmin, false) / (kTicks - 1), true);
  s.lo = fixedLo ? dmin : std::floor(dmin / step) * step;
  s.hi = fixedHi ? dmax : std::ceil(dmax / step) * step;
  if (s.hi <= s.lo)
    s.hi = s.lo + step;
  double first = std::ceil(s.lo / step - 1e-9);
  for (int k = 0;; ++k) {
    double v = (first + k) * step;
    if (v > s.hi + step * 1e-9 || k > 1000)
      break;
    if (std::fabs(v) < step * 1e-9)
      v = 0;
    s.ticks.push_back(v);
  }
  return s;
}

Scale logScale(double dmin, double dmax, std::optional<double> fixedLo,
               std::optional<double> fixedHi) {
  Scale s;
  s.log = true;
  if (!(dmin > 0 && dmin <= dmax)) {
    dmin = 1;
    dmax = 10;
  }
  s.lo = fixedLo && *fixedLo > 0 ? *fixedLo : std::pow(10.0, std::floor(std::log10(dmin)));
  s.hi = fixedHi && *fixedHi > 0 ? *fixedHi : std::pow(10.0, std::ceil(std::log10(dmax)));
  if (s.hi <= s.lo)
    s.hi = s.lo * 10;
  int e0 = int(std::floor(std::log10(s.lo) + 1e-9));
  int e1 = int(std::ceil(std::log10(s.hi) - 1e-9));
  int decades = e1 - e0;
  int stride = std::max(1, (decades + 7) / 8);
  auto inRange = [&](double v) { return v >= s.lo * (1 - 1e-9) && v <= s.hi * (1 + 1e-9); };
  for (int e = e0; e <= e1; ++e) {
    double p = std::pow(10.0, e);
    if (decades <= 2) {
      for (double m : {1.0, 2.0, 5.0})
        if (inRange(m * p))
          s.ticks.push_back(m * p);
    } else if ((e - e0) % stride == 0 && inRange(p)) {
      s.ticks.push_back(p);
    }
  }
  return s;
}

Scale makeScale(const PlotAxis &axis, const std::vector<double> &data) {
  double dmin = INFINITY, dmax = -INFINITY;
  for (double v : data) {
    if (!std::isfinite(v) || (axis.log && v <= 0))
      continue;
    dmin = std::min(dmin, v);
    dmax = std::max(dmax, v);
  }
  return axis.log ? logScale(dmin, dmax, axis.min, axis.max)
                  : linearScale(dmin, dmax, axis.min, axis.max);
}

void openSvg(std::string &out, int w, int h, const std::string &title) {
  out += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                     "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\" "
                     "role=\"img\">\n",
                     w, h);
  if (!title.empty())
    out += "<title>" + escapeXml(title) + "</title>\n";
  out += fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", w, h);
  if (!title.empty())
    out += fmt::format("<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" "
                       "font-weight=\"bold\">{}</text>\n",
                       num(w / 2.0), escapeXml(title));
}

std::string seriesColor(const std::string &color, size_t index) {
  return escapeXml(color.empty() ? paletteColor(index) : color);
}

} // namespace

//===----------------------------------------------------------------------===//
// LinePlot
//===----------------------------------------------------------------------===//

LinePlot &LinePlot::size(int width, int height) {
  width_ = std::max(200, width);
  height_ = std::max(150, height);
  return *this;
}
LinePlot &LinePlot::xAxis(PlotAxis axis) {
  x_ = std::move(axis);
  return *this;
}
LinePlot &LinePlot::yAxis(PlotAxis axis) {
  y_ = std::move(axis);
  return *this;
}
LinePlot &LinePlot::addSeries(PlotSeries series) {
  series_.push_back(std::move(series));
  return *this;
}
LinePlot &LinePlot::line(std::string name, std::vector<std::pair<double, double>> points,
                         bool dashed) {
  PlotSeries s;
  s.name = std::move(name);
  s.points = std::move(points);
  s.style = SeriesStyle::Line;
  s.dashed = dashed;
  return addSeries(std::move(s));
}
LinePlot &LinePlot::scatter(std::string name, std::vector<std::pair<double, double>> points,
                            std::vector<std::string> labels) {
  PlotSeries s;
  s.name = std::move(name);
  s.points = std::move(points);
  s.style = SeriesStyle::Markers;
  s.pointLabels = std::move(labels);
  return addSeries(std::move(s));
}

std::string LinePlot::render() const {
  std::vector<double> xs, ys;
  double legendText = 0;
  for (const PlotSeries &s : series_) {
    for (auto [x, y] : s.points) {
      xs.push_back(x);
      ys.push_back(y);
    }
    legendText = std::max(legendText, textWidth(s.name));
  }
  double legendW = legendText > 0 ? std::min(220.0, 34 + legendText) : 0;

  double left = 72, right = 20 + legendW, top = title_.empty() ? 14 : 34, bottom = 50;
  double px0 = left, px1 = std::max(left + 50, width_ - right);
  double py0 = top, py1 = std::max(top + 50, height_ - bottom);
  Scale sx = makeScale(x_, xs), sy = makeScale(y_, ys);
  sx.p0 = px0;
  sx.p1 = px1;
  sy.p0 = py1; // y grows upwards
  sy.p1 = py0;

  std::string out;
  openSvg(out, width_, height_, title_);

  // Grid, ticks and tick labels.
  out += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : sx.ticks)
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", num(sx.map(t)),
                       num(py0), num(py1));
  for (double t : sy.ticks)
    out += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\"/>\n", num(sy.map(t)),
                       num(px0), num(px1));
  out += "</g>\n<g stroke=\"#333333\" stroke-width=\"1\">\n";
  for (double t : sx.ticks)
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", num(sx.map(t)),
                       num(py1), num(py1 + 5));
  for (double t : sy.ticks)
    out += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\"/>\n", num(sy.map(t)),
                       num(px0 - 5), num(px0));
  out += "</g>\n<g fill=\"#333333\">\n";
  for (double t : sx.ticks)
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(sx.map(t)),
                       num(py1 + 18), escapeXml(formatTick(t)));
  for (double t : sy.ticks)
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", num(px0 - 8),
                       num(sy.map(t) + 4), escapeXml(formatTick(t)));
  out += "</g>\n";
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                     "stroke=\"#333333\"/>\n",
                     num(px0), num(py0), num(px1 - px0), num(py1 - py0));
  if (!x_.label.empty())
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       num((px0 + px1) / 2), num(height_ - 12.0), escapeXml(x_.label));
  if (!y_.label.empty())
    out += fmt::format("<text transform=\"translate(16,{}) rotate(-90)\" "
                       "text-anchor=\"middle\">{}</text>\n",
                       num((py0 + py1) / 2), escapeXml(y_.label));

  // Series, clipped to the plot area by a nested viewport (no ids needed).
  out += fmt::format("<svg x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" overflow=\"hidden\">\n",
                     num(px0), num(py0), num(px1 - px0), num(py1 - py0));
  for (size_t si = 0; si < series_.size(); ++si) {
    const PlotSeries &s = series_[si];
    std::string color = seriesColor(s.color, si);
    std::vector<std::pair<double, double>> pix;
    std::vector<size_t> idx;
    for (size_t i = 0; i < s.points.size(); ++i) {
      auto [x, y] = s.points[i];
      if (!sx.drawable(x) || !sy.drawable(y))
        continue;
      pix.emplace_back(sx.map(x) - px0, sy.map(y) - py0);
      idx.push_back(i);
    }
    if (s.style != SeriesStyle::Markers && pix.size() >= 2) {
      out += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"";
      if (s.dashed)
        out += " stroke-dasharray=\"6 4\"";
      out += " points=\"";
      for (size_t i = 0; i < pix.size(); ++i)
        out += (i ? " " : "") + num(pix[i].first) + "," + num(pix[i].second);
      out += "\"/>\n";
    }
    if (s.style != SeriesStyle::Line && !pix.empty()) {
      out += "<g fill=\"" + color + "\">\n";
      for (size_t k = 0; k < pix.size(); ++k) {
        auto [x, y] = s.points[idx[k]];
        std::string label = idx[k] < s.pointLabels.size() ? s.pointLabels[idx[k]] : "";
        std::string tip =
            (label.empty() ? s.name : label) + " (" + formatTick(x) + ", " + formatTick(y) + ")";
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\"><title>{}</title></circle>\n",
                           num(pix[k].first), num(pix[k].second), escapeXml(tip));
        if (!label.empty())
          out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#333333\">{}"
                             "</text>\n",
                             num(pix[k].first + 5), num(pix[k].second - 5), escapeXml(label));
      }
      out += "</g>\n";
    }
  }
  out += "</svg>\n";

  // Legend, right of the plot area.
  if (legendW > 0) {
    double lx = px1 + 14, ly = py0 + 10;
    for (size_t si = 0; si < series_.size(); ++si) {
      const PlotSeries &s = series_[si];
      if (s.name.empty())
        continue;
      std::string color = seriesColor(s.color, si);
      if (s.style != SeriesStyle::Markers)
        out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" "
                           "stroke-width=\"2\"{4}/>\n",
                           num(lx), num(lx + 20), num(ly), color,
                           s.dashed ? " stroke-dasharray=\"6 4\"" : "");
      if (s.style != SeriesStyle::Line)
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>\n", num(lx + 10),
                           num(ly), color);
      out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(lx + 26), num(ly + 4),
                         escapeXml(s.name));
      ly += 18;
    }
  }
  out += "</svg>\n";
  return out;
}

//===----------------------------------------------------------------------===//
// BarChart
//===----------------------------------------------------------------------===//

BarChart &BarChart::width(int width) {
  width_ = std::max(240, width);
  return *this;
}
BarChart &BarChart::mode(Mode mode) {
  mode_ = mode;
  return *this;
}
BarChart &BarChart::series(std::vector<std::string> names) {
  series_ = std::move(names);
  return *this;
}
BarChart &BarChart::bar(std::string label, std::vector<double> values) {
  rows_.emplace_back(std::move(label), std::move(values));
  return *this;
}
BarChart &BarChart::valueLabel(std::string label) {
  valueLabel_ = std::move(label);
  return *this;
}

std::string BarChart::render() const {
  size_t nSeries = series_.size();
  for (const auto &r : rows_)
    nSeries = std::max(nSeries, r.second.size());
  nSeries = std::max<size_t>(nSeries, 1);
  auto value = [&](size_t row, size_t s) {
    const auto &v = rows_[row].second;
    return s < v.size() && std::isfinite(v[s]) ? v[s] : 0.0;
  };
  bool stacked = mode_ == Mode::Stacked;

  // Value range: stacked rows extend by their positive and negative sums.
  double lo = 0, hi = 0;
  for (size_t r = 0; r < rows_.size(); ++r) {
    double pos = 0, neg = 0;
    for (size_t s = 0; s < nSeries; ++s) {
      double v = value(r, s);
      if (stacked) {
        (v >= 0 ? pos : neg) += v;
      } else {
        pos = std::max(pos, v);
        neg = std::min(neg, v);
      }
    }
    hi = std::max(hi, pos);
    lo = std::min(lo, neg);
  }

  bool legend = series_.size() >= 2;
  double labelW = 0;
  for (const auto &r : rows_)
    labelW = std::max(labelW, textWidth(r.first));
  labelW = std::min(200.0, labelW);
  double rowH = stacked ? 28 : std::max(22.0, double(nSeries) * 14 + 10);
  double barH = stacked ? 18 : 12;
  double left = labelW + 18, right = 64;
  double top = (title_.empty() ? 14 : 34) + (legend ? 22 : 0);
  double plotH = std::max(rowH, double(rows_.size()) * rowH);
  double bottom = valueLabel_.empty() ? 30 : 46;
  int height = int(std::ceil(top + plotH + bottom));

  Scale sv = linearScale(lo, hi, std::nullopt, std::nullopt);
  sv.p0 = left;
  sv.p1 = std::max(left + 50, width_ - right);
  double py0 = top, py1 = top + plotH;

  std::string out;
  openSvg(out, width_, height, title_);

  if (legend) {
    double lx = left, ly = (title_.empty() ? 14 : 34) + 4;
    for (size_t s = 0; s < series_.size(); ++s) {
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n",
                         num(lx), num(ly), seriesColor("", s));
      out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(lx + 16), num(ly + 10),
                         escapeXml(series_[s]));
      lx += 28 + textWidth(series_[s]);
    }
  }

  out += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : sv.ticks)
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", num(sv.map(t)),
                       num(py0), num(py1));
  out += "</g>\n<g fill=\"#333333\">\n";
  for (double t : sv.ticks)
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(sv.map(t)),
                       num(py1 + 16), escapeXml(formatTick(t)));
  out += "</g>\n";

  for (size_t r = 0; r < rows_.size(); ++r) {
    double rowTop = py0 + double(r) * rowH;
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", num(left - 8),
                       num(rowTop + rowH / 2 + 4), escapeXml(rows_[r].first));
    auto segment = [&](double a, double b, double y, double h, size_t s) {
      std::string tip = rows_[r].first + (s < series_.size() ? " / " + series_[s] : "") + ": " +
                        formatSignificant(value(r, s), 4);
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
                         "<title>{}</title></rect>\n",
                         num(sv.map(a)), num(y), num(sv.map(b) - sv.map(a)), num(h),
                         seriesColor("", s), escapeXml(tip));
    };
    if (stacked) {
      double pos = 0, neg = 0, total = 0;
      double y = rowTop + (rowH - barH) / 2;
      for (size_t s = 0; s < nSeries; ++s) {
        double v = value(r, s);
        total += v;
        if (v >= 0) {
          segment(pos, pos + v, y, barH, s);
          pos += v;
        } else {
          segment(neg + v, neg, y, barH, s);
          neg += v;
        }
      }
      out +=
          fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", num(sv.map(pos) + 4),
                      num(y + barH / 2 + 4), escapeXml(formatSignificant(total, 4)));
    } else {
      for (size_t s = 0; s < nSeries; ++s) {
        double v = value(r, s);
        double y = rowTop + 5 + double(s) * 14;
        segment(std::min(0.0, v), std::max(0.0, v), y, barH, s);
        // Labels sit beyond the end of the bar: right of it, or left for negatives.
        out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\"{}>{}</text>\n",
                           num(v < 0 ? sv.map(v) - 4 : sv.map(v) + 4), num(y + barH - 2),
                           v < 0 ? " text-anchor=\"end\"" : "", escapeXml(formatSignificant(v, 4)));
      }
    }
  }

  // Zero line and axis.
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333333\"/>\n",
                     num(sv.map(0)), num(py0), num(py1));
  out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#333333\"/>\n",
                     num(sv.p0), num(sv.p1), num(py1));
  if (!valueLabel_.empty())
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       num((sv.p0 + sv.p1) / 2), num(py1 + 36), escapeXml(valueLabel_));
  out += "</svg>\n";
  return out;
}

} // namespace tessera
