//===- Report.cpp - JSON and HTML reports of an FPGA flow run --------------===//
//
// JSON: keys in a fixed order, resources in the flow's fixed order, cell types sorted,
// Fmax rounded to 0.01 MHz; no times and no absolute paths, so the same run gives the
// same bytes. HTML: support/Html.h page with a grouped bar chart (support/Svg.h) of each
// bounded resource's use as a percentage of the device's capacity.
//
//===----------------------------------------------------------------------===//
#include "fpga/Fpga.h"

#include "support/FileIO.h"
#include "support/Html.h"
#include "support/Json.h"
#include "support/Svg.h"

#include <cmath>
#include <filesystem>

namespace tessera::fpga {

namespace {
double round2(double v) { return std::round(v * 100.0) / 100.0; }

std::string percent(uint64_t used, uint64_t avail) {
  if (avail == 0)
    return "-";
  return formatFixed(100.0 * static_cast<double>(used) / static_cast<double>(avail), 1) + "%";
}
} // namespace

nlohmann::ordered_json toJson(const FlowResult &r) {
  nlohmann::ordered_json j;
  j["target"] = std::string(targetName(r.target));
  j["device"] = r.device;
  if (!r.package.empty())
    j["package"] = r.package;
  j["top"] = r.top;
  nlohmann::ordered_json res = nlohmann::ordered_json::array();
  for (const ResourceUse &u : r.resources) {
    nlohmann::ordered_json e;
    e["name"] = u.name;
    e["description"] = u.description;
    e["used"] = u.used;
    if (u.available > 0) {
      e["available"] = u.available;
      e["percent"] = round2(100.0 * static_cast<double>(u.used) / static_cast<double>(u.available));
    }
    res.push_back(e);
  }
  j["resources"] = res;
  nlohmann::ordered_json fmax = nlohmann::ordered_json::array();
  for (const ClockFmax &c : r.fmax) {
    nlohmann::ordered_json e;
    e["clock"] = c.clock;
    e["achieved_mhz"] = round2(c.achievedMhz);
    e["constraint_mhz"] = round2(c.constraintMhz);
    e["met"] = c.achievedMhz >= c.constraintMhz;
    fmax.push_back(e);
  }
  j["fmax"] = fmax;
  nlohmann::ordered_json cells = nlohmann::ordered_json::object();
  for (const auto &[type, n] : r.yosysCells)
    cells[type] = n;
  j["yosys_cells"] = cells;
  nlohmann::ordered_json tools;
  tools["yosys"] = r.yosysVersion;
  if (!r.nextpnrVersion.empty())
    tools["nextpnr"] = r.nextpnrVersion;
  j["tools"] = tools;
  j["commands"] = r.commands;
  j["files"] = r.files;
  j["notes"] = r.notes;
  return j;
}

std::string renderHtml(const FlowResult &r) {
  HtmlDoc doc("tessera fpga: " + r.top + " on " + std::string(targetName(r.target)) + " " +
              r.device);
  std::vector<std::pair<std::string, std::string>> summary = {
      {"target", std::string(targetName(r.target))},
      {"device", r.device + (r.package.empty() ? "" : " (" + r.package + ")")},
      {"top module", r.top},
      {"Yosys", r.yosysVersion}};
  if (!r.nextpnrVersion.empty())
    summary.push_back({"nextpnr", r.nextpnrVersion});
  for (const ClockFmax &c : r.fmax)
    summary.push_back({"Fmax " + c.clock, formatFixed(c.achievedMhz, 2) + " MHz (target " +
                                              formatFixed(c.constraintMhz, 2) + " MHz)"});
  doc.keyValues(summary);
  for (const std::string &n : r.notes)
    doc.paragraph(n);

  doc.heading(2, "Resources");
  std::vector<std::vector<std::string>> rows;
  for (const ResourceUse &u : r.resources)
    rows.push_back({u.name, u.description, std::to_string(u.used),
                    u.available ? std::to_string(u.available) : "-", percent(u.used, u.available)});
  doc.table({"resource", "what", "used", "available", "use"}, rows);

  BarChart chart("Use against device capacity");
  chart.mode(BarChart::Mode::Grouped).series({"use (% of device)"}).valueLabel("% of device");
  bool any = false;
  for (const ResourceUse &u : r.resources)
    if (u.available > 0) {
      chart.bar(u.name, {100.0 * static_cast<double>(u.used) / static_cast<double>(u.available)});
      any = true;
    }
  if (any)
    doc.figure(chart.render(), "each bounded resource's use as a percentage of " + r.device);

  if (!r.fmax.empty()) {
    doc.heading(2, "Timing (nextpnr, after routing)");
    std::vector<std::vector<std::string>> f;
    for (const ClockFmax &c : r.fmax)
      f.push_back({c.clock, formatFixed(c.achievedMhz, 2), formatFixed(c.constraintMhz, 2),
                   c.achievedMhz >= c.constraintMhz ? "met" : "failed"});
    doc.table({"clock", "achieved (MHz)", "target (MHz)", "timing"}, f);
  }

  doc.heading(2, "Yosys cells");
  std::vector<std::vector<std::string>> cells;
  for (const auto &[type, n] : r.yosysCells)
    cells.push_back({type, std::to_string(n)});
  doc.table({"cell type", "count"}, cells);

  doc.heading(2, "Commands run");
  std::string cmds;
  for (const std::string &c : r.commands)
    cmds += c + "\n";
  doc.preformatted(cmds);
  doc.heading(2, "Files kept");
  doc.list(r.files);
  return doc.render();
}

Status writeReports(const FlowResult &r, const std::string &outDir) {
  namespace fs = std::filesystem;
  TRY(writeTextFile((fs::path(outDir) / "fpga.json").string(), writeJson(toJson(r))));
  TRY(writeTextFile((fs::path(outDir) / "fpga.html").string(), renderHtml(r)));
  return Status::success();
}

} // namespace tessera::fpga
