// Charts for the example programs' reports, written as SVG text by hand: no
// plotting dependency, and a file any browser opens.
//
//     svg::Chart c{.kind = svg::Chart::Kind::lines, .title = "Accuracy", .x_label = "k",
//                  .y_label = "accuracy", .categories = {"0", "1", "2"},
//                  .series = {{"exact match", {0.1, 0.5, 0.9}}}, .y_max = 1};
//     std::ofstream("accuracy.svg") << svg::document({c});
//
// A chart has categories along x (one slot each, left to right) and series of one
// value per category, drawn as grouped bars or as lines with a dot per value. A
// NaN value is left out (a gap in a line). Several charts go side by side.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace svg {

// Every member has an initializer, so designated initializers may leave any out.
struct Series {
  std::string name{};
  std::vector<double> values{};  // one per category; NaN: none
};

struct Chart {
  enum class Kind { bars, lines } kind = Kind::bars;
  std::string title{}, x_label{}, y_label{};
  std::vector<std::string> categories{};
  std::vector<Series> series{};
  double y_max = 0;  // top of the y axis; 0: the largest value, rounded up to a tick
};

namespace detail {

inline constexpr std::array<const char*, 6> kColors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                       "#8c564b"};

inline std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

inline std::string number(double x, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

inline std::string text(double x, double y, const std::string& s, const char* anchor = "middle", int size = 12,
                        const std::string& extra = "") {
  return "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" +
         std::to_string(size) + "\"" + extra + ">" + escape(s) + "</text>\n";
}

// Shown when the pointer rests on a bar or dot.
inline std::string tooltip(const Series& s, double value) {
  return "<title>" + escape(s.name) + ": " + number(value, 4) + "</title>";
}

inline std::string line(double x1, double y1, double x2, double y2, const std::string& style) {
  return "<line x1=\"" + number(x1) + "\" y1=\"" + number(y1) + "\" x2=\"" + number(x2) + "\" y2=\"" + number(y2) +
         "\" " + style + "/>\n";
}

// A tick spacing of 1, 2 or 5 times a power of ten giving about five ticks up to `top`.
inline double tick_step(double top) {
  const double rough = top / 5, power = std::pow(10.0, std::floor(std::log10(rough)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * power >= rough) return m * power;
  return 10 * power;
}

// Where a chart's plot area is in the document and how values map onto it.
struct Frame {
  double left, right, top, bottom;  // the plot area, in pixels
  double y_max;                     // the value at `top`
  double slot;                      // the width of one category

  double x(std::size_t category) const { return left + slot * (double(category) + 0.5); }
  double y(double value) const { return bottom - (bottom - top) * std::min(value, y_max) / y_max; }
};

// Title, grid, y ticks, axes, category names and axis labels.
inline std::string axes(const Chart& c, const Frame& f, double x0, double y0, double step) {
  const int decimals = std::max(0, int(std::ceil(-std::log10(step) - 1e-9)));
  std::string out = text((f.left + f.right) / 2, y0 + 22, c.title, "middle", 15, " font-weight=\"bold\"");
  for (int i = 0; i * step <= f.y_max * (1 + 1e-9); ++i) {
    out += line(f.left, f.y(i * step), f.right, f.y(i * step), "stroke=\"#ddd\"");
    out += text(f.left - 6, f.y(i * step) + 4, number(i * step, decimals), "end", 11);
  }
  out += line(f.left, f.top, f.left, f.bottom, "stroke=\"black\"");
  out += line(f.left, f.bottom, f.right, f.bottom, "stroke=\"black\"");
  for (std::size_t i = 0; i < c.categories.size(); ++i)
    out += text(f.x(i), f.bottom + 16, c.categories[i], "middle", 11);
  out += text((f.left + f.right) / 2, f.bottom + 36, c.x_label);
  const double mid = (f.top + f.bottom) / 2;
  return out + text(x0 + 16, mid, c.y_label, "middle", 12,
                    " transform=\"rotate(-90 " + number(x0 + 16) + " " + number(mid) + ")\"");
}

// Series s as the s-th bar of each category's group.
inline std::string bars(const Chart& c, const Frame& f, std::size_t s) {
  const double width = 0.8 * f.slot / double(c.series.size());
  std::string out;
  for (std::size_t i = 0; i < c.series[s].values.size(); ++i) {
    const double v = c.series[s].values[i];
    if (!std::isfinite(v)) continue;
    const double x = f.x(i) - 0.4 * f.slot + width * double(s);
    out += "<rect x=\"" + number(x) + "\" y=\"" + number(f.y(v)) + "\" width=\"" + number(width) + "\" height=\"" +
           number(f.bottom - f.y(v)) + "\" fill=\"" + kColors[s % kColors.size()] + "\">" + tooltip(c.series[s], v) +
           "</rect>\n";
  }
  return out;
}

// Series s as a line through a dot per value, broken where a value is missing.
inline std::string polyline(const Chart& c, const Frame& f, std::size_t s) {
  const std::string color = kColors[s % kColors.size()];
  std::string out, points;  // points: the current unbroken run
  const auto flush = [&] {
    if (!points.empty())
      out += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
    points.clear();
  };
  for (std::size_t i = 0; i < c.series[s].values.size(); ++i) {
    const double v = c.series[s].values[i];
    if (!std::isfinite(v)) {
      flush();
      continue;
    }
    points += number(f.x(i)) + "," + number(f.y(v)) + " ";
    out += "<circle cx=\"" + number(f.x(i)) + "\" cy=\"" + number(f.y(v)) + "\" r=\"3.5\" fill=\"" + color + "\">" +
           tooltip(c.series[s], v) + "</circle>\n";
  }
  flush();
  return out;
}

// A colour box and the name of each series, in rows under the x label.
inline std::string legend(const Chart& c, const Frame& f) {
  std::string out;
  double x = f.left, y = f.bottom + 56;
  for (std::size_t s = 0; s < c.series.size(); ++s) {
    const double width = 28 + 7.0 * double(c.series[s].name.size());  // about 7 pixels a character
    if (x + width > f.right && x > f.left) x = f.left, y += 16;
    out += "<rect x=\"" + number(x) + "\" y=\"" + number(y - 9) + "\" width=\"12\" height=\"10\" fill=\"" +
           kColors[s % kColors.size()] + "\"/>\n";
    out += text(x + 16, y, c.series[s].name, "start", 11);
    x += width;
  }
  return out;
}

// One chart in the box of `width` x `height` whose top left corner is (x0, y0).
inline std::string chart(const Chart& c, double x0, double y0, double width, double height) {
  double y_max = c.y_max;
  if (y_max <= 0) {
    for (const auto& s : c.series)
      for (double v : s.values)
        if (std::isfinite(v)) y_max = std::max(y_max, v);
    y_max = y_max > 0 ? y_max : 1;
  }
  const double step = tick_step(y_max);
  if (c.y_max <= 0) y_max = std::ceil(y_max / step - 1e-9) * step;  // up to the next tick
  Frame f{x0 + 64, x0 + width - 16, y0 + 40, y0 + height - 76, y_max, 0};
  f.slot = (f.right - f.left) / double(std::max<std::size_t>(1, c.categories.size()));

  std::string out = axes(c, f, x0, y0, step);
  for (std::size_t s = 0; s < c.series.size(); ++s)
    out += c.kind == Chart::Kind::bars ? bars(c, f, s) : polyline(c, f, s);
  return out + legend(c, f);
}

}  // namespace detail

// A whole SVG document: the charts side by side, each `width` x `height` pixels.
inline std::string document(const std::vector<Chart>& charts, double width = 560, double height = 400) {
  const double total = width * double(charts.size());
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + detail::number(total, 0) +
                    "\" height=\"" + detail::number(height, 0) + "\" viewBox=\"0 0 " + detail::number(total, 0) + " " +
                    detail::number(height, 0) + "\" font-family=\"sans-serif\">\n" +
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (std::size_t i = 0; i < charts.size(); ++i) out += detail::chart(charts[i], width * double(i), 0, width, height);
  return out + "</svg>\n";
}

}  // namespace svg
